//! `cairn bench` on small inputs: each part runs on the real models and stores and reports
//! what it measured (speed itself is measured in release by scripts/bench, not here).

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::{shared_data, Cairn};

#[test]
fn generation_times_both_engines_on_the_same_cases_and_the_cap_holds() {
    let cairn = Cairn::new();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.json");
    let message = |role: &str, content: &str| json!({"role": role, "content": content});
    std::fs::write(
        &cases,
        json!([
            {"name": "prompt-512", "max_tokens": 1, "messages": [
                message("system", "Run 0."),
                message("user", &format!("Summarise this text.\n\n{}", "The Normans were a people. ".repeat(40)))]},
            {"name": "decode", "max_tokens": 12, "messages": [
                message("user", "Write a long story about a lighthouse keeper.")]},
        ])
        .to_string(),
    )
    .unwrap();
    let speeds = dir.path().join("speeds.json");
    for backend in ["llama.cpp", "mistral.rs"] {
        let out = cairn
            .command()
            .env("CAIRN_SPEEDS", &speeds)
            .args([
                "bench",
                "generation",
                "--backend",
                backend,
                "--threads",
                "2",
                "--record",
            ])
            .arg("--prompts")
            .arg(&cases)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["backend"], backend);
        assert_eq!(report["model"], "SmolLM2-135M-Instruct.Q4_1.gguf");
        assert_eq!(report["cap_holds"], true, "{report}");
        assert_eq!(report["cap_generated_tokens"], 32);
        let runs = report["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        let prompt = &runs[0];
        assert!(prompt["prompt_tokens"].as_u64().unwrap() > 200, "{prompt}");
        assert!(prompt["prompt_tok_s"].as_f64().unwrap() > 0.0);
        assert_eq!(prompt["generated_tokens"], 1);
        let decode = &runs[1];
        assert_eq!(decode["generated_tokens"], 12, "{decode}");
        assert_eq!(decode["stop"], "length");
        assert!(decode["decode_tok_s"].as_f64().unwrap() > 0.0);
    }
    // Both engines measured with this model: the file names each, and the faster is what
    // `auto` loads for it.
    let recorded: Value = serde_json::from_slice(&std::fs::read(&speeds).unwrap()).unwrap();
    let model = "SmolLM2-135M-Instruct.Q4_1.gguf";
    let llama = &recorded["measured"][format!("llama.cpp@cpu@{model}")];
    assert!(llama["decode_tok_s"].as_f64().unwrap() > 0.0, "{recorded}");
    let mistral = &recorded["measured"][format!("mistral.rs@cpu@{model}")];
    assert!(
        mistral["prompt_tok_s"].as_f64().unwrap() > 0.0,
        "{recorded}"
    );
}

#[test]
fn embedding_reports_speed_and_writes_one_vector_per_text() {
    let cairn = Cairn::new();
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts.jsonl");
    let lines: Vec<String> = (0..40)
        .map(|i| json!({"text": format!("Passage {i} about bridges and rivers.")}).to_string())
        .collect();
    std::fs::write(&texts, lines.join("\n")).unwrap();
    let vectors = dir.path().join("vectors.f32");
    let report = cairn.json(&[
        "bench",
        "embedding",
        "--texts",
        texts.to_str().unwrap(),
        "--write-vectors",
        vectors.to_str().unwrap(),
    ]);
    assert_eq!(report["texts"], 40);
    assert_eq!(report["dimension"], 384);
    assert!(report["chunks_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["cpu_busy"].as_f64().unwrap() > 0.0, "{report}");
    let bytes = std::fs::read(&vectors).unwrap();
    assert_eq!(bytes.len(), 40 * 384 * 4);
    let first: Vec<f32> = bytes[..384 * 4]
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let norm: f32 = first.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "{norm}");
}

#[test]
fn ingest_and_search_at_scale_report_their_measures() {
    let cairn = Cairn::new();
    let ingest = cairn.json(&[
        "bench",
        "ingest",
        shared_data()
            .join("squad-dev/docs/Normans.md")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(ingest["indexed"], 1, "{ingest}");
    assert!(ingest["chunks"].as_u64().unwrap() > 5);
    assert!(ingest["mib_per_1000_chunks"].as_f64().unwrap() > 0.0);
    assert!(ingest["peak_rss_mib"].as_f64().unwrap() > 10.0);

    // A 300-passage base grown to 1,000 chunks: copies are written and searched.
    let dir = tempfile::tempdir().unwrap();
    let corpus = std::fs::read_to_string(shared_data().join("scifact/corpus.jsonl")).unwrap();
    let base: Vec<&str> = corpus.lines().take(300).collect();
    std::fs::write(dir.path().join("corpus.jsonl"), base.join("\n")).unwrap();
    let search = cairn.json(&[
        "bench",
        "search",
        "--corpus",
        dir.path().join("corpus.jsonl").to_str().unwrap(),
        "--queries",
        shared_data()
            .join("scifact/queries.jsonl")
            .to_str()
            .unwrap(),
        "--max-queries",
        "12",
        "--sizes",
        "1000",
    ]);
    assert!(search["base_chunks"].as_u64().unwrap() >= 300);
    let row = &search["sizes"][0];
    assert_eq!(row["chunks"], 1000, "{search}");
    for latency in ["hybrid", "vector", "vector_exhaustive"] {
        let p50 = row[latency]["p50_ms"].as_f64().unwrap();
        let p95 = row[latency]["p95_ms"].as_f64().unwrap();
        assert!(p50 > 0.0 && p95 >= p50, "{latency}: {row}");
    }
    let recall = row["recall_at_k"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&recall), "{row}");
}

#[test]
fn extraction_compares_each_pdf_with_pdftotext() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        shared_data().join("docs/pdf/dmca.pdf"),
        dir.path().join("dmca.pdf"),
    )
    .unwrap();
    // Not a PDF inside: Cairn fails it with a reason, and the run goes on.
    std::fs::write(dir.path().join("broken.pdf"), b"%PDF-1.4 not really").unwrap();
    let report = Cairn::new().json(&["bench", "extraction", dir.path().to_str().unwrap()]);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{report}");
    let broken = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("broken.pdf"))
        .unwrap();
    assert!(
        broken["cairn_failure"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{broken}"
    );
    let dmca = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("dmca.pdf"))
        .unwrap();
    assert_eq!(dmca["cairn_pages"], dmca["pdftotext_pages"], "{dmca}");
    assert!(dmca["coverage"].as_f64().unwrap() > 0.9, "{dmca}");
    assert_eq!(report["cairn_failed"], 1);
    assert!(report["cairn_pages_per_s"].as_f64().unwrap() > 0.0);
}
