//! The `cairn` command end to end: real extraction workers, SQLite, Tantivy, LanceDB and the
//! real all-MiniLM-L6-v2 embedder, on real documents.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{shared_data, Cairn};

fn count(report: &Value, key: &str) -> usize {
    report[key].as_array().map_or(0, Vec::len)
}

#[test]
fn ingest_search_change_remove_and_reindex_a_folder() {
    let docs = tempfile::tempdir().unwrap();
    std::fs::copy(
        shared_data().join("docs/pdf/dmca.pdf"),
        docs.path().join("dmca.pdf"),
    )
    .unwrap();
    std::fs::write(
        docs.path().join("garden.md"),
        "# Garden notes\n\n## Tomatoes\n\nTomatoes need six hours of sun and deep watering twice a week.\n\n## Roses\n\nPrune roses in late winter, just before new growth starts.\n",
    )
    .unwrap();
    std::fs::write(
        docs.path().join("recipe.txt"),
        "Bake the sourdough loaf at 250 degrees for forty minutes.",
    )
    .unwrap();
    std::fs::write(
        docs.path().join("page.html"),
        "<html><head><title>Trains</title></head><body><h1>Night trains</h1><p>The sleeper train to Vienna leaves at nine in the evening.</p></body></html>",
    )
    .unwrap();
    let folder = docs.path().to_str().unwrap();
    let cairn = Cairn::new();

    let report = cairn.json(&["ingest", folder, "--json"]);
    assert_eq!(count(&report, "indexed"), 4, "{report}");
    assert_eq!(count(&report, "failed"), 0, "{report}");

    // The passage with the answer is among the first hits, with its page.
    let hits = cairn.json(&[
        "search",
        "Section 411(a) registration with the Copyright Office before a lawsuit",
        "-k",
        "3",
        "--json",
    ]);
    let answer = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["chunk"]["text"].as_str().unwrap().contains("411(a)"))
        .unwrap_or_else(|| panic!("no hit quotes 411(a): {hits}"));
    assert!(
        answer["document_path"]
            .as_str()
            .unwrap()
            .ends_with("dmca.pdf"),
        "{answer}"
    );
    assert_eq!(answer["chunk"]["page_start"], 3, "{answer}");
    assert!(
        hits[0]["bm25"]["rank"].is_number() && hits[0]["vector"]["rank"].is_number(),
        "hybrid ranks: {}",
        hits[0]
    );

    let hits = cairn.json(&["search", "when should I prune roses?", "-k", "1", "--json"]);
    assert_eq!(
        hits[0]["chunk"]["heading_path"],
        serde_json::json!(["Garden notes", "Roses"]),
        "{}",
        hits[0]
    );
    let hits = cairn.json(&["search", "overnight rail to Austria", "-k", "1", "--json"]);
    assert!(
        hits[0]["document_path"]
            .as_str()
            .unwrap()
            .ends_with("page.html"),
        "{}",
        hits[0]
    );

    // Human output shows the page.
    let (_, text, _) = cairn.run(&[
        "search",
        "technological protection measures circumvention",
        "-k",
        "1",
    ]);
    assert!(text.contains("dmca.pdf — p"), "{text}");

    // Nothing changed: nothing is done.
    let again = cairn.json(&["ingest", folder, "--json"]);
    assert_eq!(
        (count(&again, "indexed"), count(&again, "unchanged")),
        (0, 4),
        "{again}"
    );

    // One file changed: only it is re-indexed, and the old text is gone.
    std::fs::write(
        docs.path().join("recipe.txt"),
        "Braise the lentils with cumin for half an hour.",
    )
    .unwrap();
    let changed = cairn.json(&["ingest", folder, "--json"]);
    assert_eq!(
        (count(&changed, "indexed"), count(&changed, "unchanged")),
        (1, 3),
        "{changed}"
    );
    let hits = cairn.json(&["search", "sourdough", "--mode", "bm25", "--json"]);
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .all(|h| !h["chunk"]["text"].as_str().unwrap().contains("sourdough")));

    // Removing a document removes it from every store.
    let garden = docs.path().join("garden.md");
    let (ok, _, err) = cairn.run(&["rm", garden.to_str().unwrap()]);
    assert!(ok, "{err}");
    let hits = cairn.json(&["search", "prune roses", "-k", "10", "--json"]);
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .all(|h| !h["document_path"].as_str().unwrap().ends_with("garden.md")));
    let listed = cairn.json(&["docs", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // Re-index rebuilds both indexes from the catalog, with the same results.
    let (ok, out, err) = cairn.run(&["reindex"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("re-indexed 3 documents") && out.contains("(0 embedded again)"),
        "{out}"
    );
    let (_, summary, _) = cairn.run(&["docs"]);
    let last = summary.lines().last().unwrap_or_default().to_string();
    let numbers: Vec<&str> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(numbers.len(), 4, "{last}");
    assert!(
        numbers[1] == numbers[2] && numbers[2] == numbers[3],
        "stores agree: {last}"
    );
    // The same question finds the same passage after the rebuild.
    let hits = cairn.json(&[
        "search",
        "Section 411(a) registration with the Copyright Office before a lawsuit",
        "-k",
        "3",
        "--json",
    ]);
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| h["chunk"]["text"].as_str().unwrap().contains("411(a)")),
        "{hits}"
    );
}

/// A filing: its cover, sections that name the company, and statements whose rows do not say
/// whose they are.
fn filing(company: &str, ticker: &str, capex: &str) -> String {
    format!(
        "{company}\n(Exact name of registrant as specified in its charter)\n\n\
         Common Stock, par value $0.01 per share {ticker} New York Stock Exchange\n\n\
         ## Business\n\n{company} makes and sells industrial goods in forty countries.\n\n\
         ## Risk Factors\n\nThe results of {company} depend on the prices of steel and energy.\n\n\
         ## Employees\n\nAt year end {company} had about twelve thousand employees.\n\n\
         ## Consolidated Statements of Operations\n\n\
         Years ended December 31 2018 2017\n\nTotal net revenue 31,400 30,100\n\n\
         ## Consolidated Statements of Cash Flows\n\n\
         Years ended December 31 2018 2017\n\n\
         Purchases of property, plant and equipment {capex}\n\n\
         Net cash used in investing activities (2,410) (2,170)\n"
    )
}

#[test]
fn a_question_that_names_a_company_finds_its_filing_and_a_moved_file_is_found_by_its_new_name() {
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(
        docs.path().join("acme-10k-2018.md"),
        filing("ACME CORPORATION", "ACM", "(1,577) (1,373)"),
    )
    .unwrap();
    std::fs::write(
        docs.path().join("globex-10k-2018.md"),
        filing("GLOBEX INC.", "GBX", "(9,210) (8,870)"),
    )
    .unwrap();
    let folder = docs.path().to_str().unwrap();
    let cairn = Cairn::new();
    let report = cairn.json(&["ingest", folder, "--json"]);
    assert_eq!(count(&report, "indexed"), 2, "{report}");
    // The file of the top hit, and of the row the question asks for that BM25 ranks first
    // (the names are matched by the full-text index; the vectors do not know them).
    let top = |query: &str| {
        let hits = cairn.json(&["search", query, "-k", "10", "--json"]);
        let file = |hit: &Value| {
            let path = Path::new(hit["document_path"].as_str().unwrap());
            path.file_name().unwrap().to_str().unwrap().to_string()
        };
        let row = hits.as_array().unwrap().iter().find(|h| {
            let text = h["chunk"]["text"].as_str().unwrap();
            text.contains("Purchases of property") && h["bm25"]["rank"] == 1
        });
        (file(&hits[0]), row.map(file))
    };
    for (query, file) in [
        (
            "How much did Globex spend on property, plant and equipment in 2018?",
            "globex-10k-2018.md",
        ),
        (
            "ACME purchases of property, plant and equipment",
            "acme-10k-2018.md",
        ),
        (
            "GBX purchases of property and equipment FY2018",
            "globex-10k-2018.md",
        ),
    ] {
        let (first, row) = top(query);
        // The row BM25 ranks first is the named company's. The fused first is too, except
        // where the two filings' alike rows tie: in this two-document library, too small to
        // tune, equal-weight rank fusion scores BM25's first and the vectors' first the same,
        // and the default embedder cannot tell the two rows apart by a ticker.
        assert_eq!(row.as_deref(), Some(file), "{query}");
        if !query.starts_with("GBX") {
            assert_eq!(first, file, "{query}");
        }
    }

    // A renamed file is moved, not read again, and its new name finds it.
    std::fs::rename(
        docs.path().join("globex-10k-2018.md"),
        docs.path().join("umbrella-holdings.md"),
    )
    .unwrap();
    let (ok, out, err) = cairn.run(&["watch", folder, "--once", "--json"]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l["outcome"]["outcome"] == "renamed"
            && l["path"]
                .as_str()
                .unwrap()
                .ends_with("umbrella-holdings.md")),
        "{out}"
    );
    assert_eq!(lines.last().unwrap()["embedded"], 0, "{out}");
    // The full-text index matches the new name: the moved filing's row is BM25's first. (The
    // fused first may be the other filing's alike row: in this two-document library, too
    // small to tune, equal-weight rank fusion counts the default embedder's 1% preference for
    // it as much as BM25's 46% one.)
    let query = "umbrella holdings purchases of property, plant and equipment";
    let (_, row) = top(query);
    assert_eq!(row.as_deref(), Some("umbrella-holdings.md"), "{query}");
    let hits = cairn.json(&["search", query, "-k", "2", "--json"]);
    assert!(
        hits.as_array().unwrap().iter().any(|h| h["document_path"]
            .as_str()
            .unwrap()
            .ends_with("umbrella-holdings.md")),
        "{hits}"
    );
}

#[test]
fn every_robustness_pdf_ends_indexed_or_failed_and_a_second_run_changes_nothing() {
    let cairn = Cairn::new();
    let folder = shared_data().join("pdfs-robustness");
    let folder = folder.to_str().unwrap();
    let report = cairn.json(&["ingest", folder, "--json"]);
    let (indexed, failed) = (count(&report, "indexed"), count(&report, "failed"));
    assert_eq!(indexed + failed, 85, "{report}");
    for entry in report["failed"].as_array().unwrap() {
        let failure = &entry[1];
        assert!(failure["message"].as_str().unwrap().len() > 10, "{entry}");
        assert!(failure["code"].is_string(), "{entry}");
    }
    let listed = cairn.json(&["docs", "--json"]);
    let states: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 85);
    assert!(
        states.iter().all(|s| *s == "indexed" || *s == "failed"),
        "{states:?}"
    );

    // Nothing changes, and a failure is said again rather than passed over as unchanged.
    let again = cairn.json(&["ingest", folder, "--json"]);
    assert_eq!(count(&again, "unchanged"), indexed, "{again}");
    assert_eq!(count(&again, "failed"), failed, "{again}");
    assert_eq!(count(&again, "indexed"), 0, "{again}");
}

#[test]
fn eval_retrieval_scores_the_retrievers_and_both_fusions_on_a_beir_sample() {
    let scifact = shared_data().join("scifact");
    let qrels = std::fs::read_to_string(scifact.join("qrels/train.tsv")).unwrap();
    let mut judged: Vec<(String, String)> = qrels
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3).then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect();
    judged.truncate(30);
    let wanted: std::collections::HashSet<&str> = judged.iter().map(|(_, d)| d.as_str()).collect();
    let queries: std::collections::HashSet<&str> = judged.iter().map(|(q, _)| q.as_str()).collect();

    let sample = tempfile::tempdir().unwrap();
    let corpus = std::fs::read_to_string(scifact.join("corpus.jsonl")).unwrap();
    let mut kept = Vec::new();
    for (i, line) in corpus.lines().enumerate() {
        let doc: Value = serde_json::from_str(line).unwrap();
        if i < 300 || wanted.contains(doc["_id"].as_str().unwrap()) {
            kept.push(line);
        }
    }
    std::fs::write(sample.path().join("corpus.jsonl"), kept.join("\n")).unwrap();
    let all_queries = std::fs::read_to_string(scifact.join("queries.jsonl")).unwrap();
    let some: Vec<&str> = all_queries
        .lines()
        .filter(|l| {
            let q: Value = serde_json::from_str(l).unwrap();
            queries.contains(q["_id"].as_str().unwrap())
        })
        .collect();
    std::fs::write(sample.path().join("queries.jsonl"), some.join("\n")).unwrap();
    std::fs::write(
        sample.path().join("qrels.tsv"),
        std::iter::once("query-id\tcorpus-id\tscore".to_string())
            .chain(judged.iter().map(|(q, d)| format!("{q}\t{d}\t1")))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();

    let cairn = Cairn::new();
    let p = |name: &str| sample.path().join(name).to_str().unwrap().to_string();
    let metrics = cairn.json(&[
        "eval",
        "retrieval",
        "--corpus",
        &p("corpus.jsonl"),
        "--queries",
        &p("queries.jsonl"),
        "--qrels",
        &p("qrels.tsv"),
        "--json",
    ]);
    for retriever in ["bm25", "vector", "hybrid", "adaptive"] {
        let m = &metrics[retriever];
        assert_eq!(
            m["queries"].as_u64(),
            Some(queries.len() as u64),
            "{metrics}"
        );
        let ndcg = m["ndcg@10"].as_f64().unwrap();
        assert!(ndcg > 0.3 && ndcg <= 1.0, "{retriever}: {metrics}");
        assert!(m["recall@100"].as_f64().unwrap() >= ndcg * 0.5, "{metrics}");
        assert!(m["mrr@10"].as_f64().unwrap() > 0.0, "{metrics}");
    }
}

/// The German retrieval set (bench/german), its passages built by scripts/setup.
fn german_set() -> (PathBuf, PathBuf) {
    let corpus = support::cache().join("eval/german/corpus.jsonl");
    assert!(
        corpus.is_file(),
        "the German passages are missing at {}: run scripts/setup",
        corpus.display()
    );
    (
        corpus,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/german"),
    )
}

#[test]
fn a_library_in_a_language_the_embedder_does_not_know_searches_at_least_as_well_as_bm25() {
    // German passages and German questions, embedded by the English embedder Cairn also ships
    // (all-MiniLM-L6-v2, not the default: this test needs an embedder that does not know the
    // library's language): vectors are weak here, and balanced fusion lets them push BM25's
    // right answers down.
    let (corpus, set) = german_set();
    let cairn = Cairn::with_embedder(support::other_embedder());
    // The library eval builds, kept for `cairn doctor` to read.
    let library = Cairn::with_embedder(support::other_embedder());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let metrics = cairn.json(&[
        "eval",
        "retrieval",
        "--corpus",
        &s(&corpus),
        "--queries",
        &s(&set.join("queries-de.jsonl")),
        "--qrels",
        &s(&set.join("qrels.tsv")),
        "--index-dir",
        &s(library.data.path()),
        "--json",
    ]);
    let ndcg = |name: &str| metrics[name]["ndcg@10"].as_f64().unwrap();
    eprintln!("German passages, German questions, English embedder: {metrics}");
    assert_eq!(
        metrics["adaptive"]["queries"].as_u64(),
        Some(60),
        "{metrics}"
    );
    assert!(
        ndcg("vector") + 0.1 < ndcg("bm25"),
        "this library must be one where BM25 is far better: {metrics}"
    );
    assert!(ndcg("adaptive") >= ndcg("bm25"), "{metrics}");
    assert!(ndcg("adaptive") > ndcg("hybrid"), "{metrics}");

    // The choice and the self-check behind it are kept in the library's catalog.
    let doctor = library.json(&["doctor", "--json"]);
    let tuning = &doctor["search_tuning"];
    // One probe per sampled chunk, less the few chunks too short to make one.
    let probes = tuning["probes"].as_u64().unwrap();
    assert!((150..=200).contains(&probes), "{doctor}");
    assert!(
        tuning["embedder"]
            .as_str()
            .unwrap()
            .starts_with("all-MiniLM-L6-v2"),
        "{doctor}"
    );
    // Balanced rank fusion is what lost to BM25 above: the library moved off it, to a
    // setting its own probes scored higher.
    let fusion = &tuning["fusion"];
    assert!(
        fusion["method"] != "rrf"
            || fusion["bm25_weight"].as_f64() > fusion["vector_weight"].as_f64(),
        "the default was kept: {tuning}"
    );
    let scores = &tuning["scores"];
    assert!(
        scores["chosen"].as_f64() > scores["balanced"].as_f64(),
        "{tuning}"
    );
    assert!(
        scores["chosen"].as_f64().unwrap()
            >= scores["bm25"]
                .as_f64()
                .unwrap()
                .max(scores["vector"].as_f64().unwrap()),
        "{tuning}"
    );
}

#[test]
fn english_questions_over_german_passages_are_searched_by_meaning_and_through_a_dictionary() {
    // The multilingual embedder finds German passages for English questions; BM25 finds
    // little but names and commands. Without a dictionary the library, once it knows it is
    // German, leans on vectors; with FreeDict's English-German one, each English word is
    // searched with its German translations and BM25 pulls its weight again.
    let (corpus, set) = german_set();
    let scratch = tempfile::tempdir().unwrap();
    let library = tempfile::tempdir().unwrap();
    let no_dictionaries = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let e5 = support::multilingual_embedder();
    let cairn = |data: &Path, dictionaries: &Path, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .env("CAIRN_DICTIONARIES", dictionaries)
            .arg("--data-dir")
            .arg(data)
            .arg("--embedder")
            .arg(&e5)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "cairn {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let eval = |dictionaries: &Path| -> serde_json::Value {
        serde_json::from_str(&cairn(
            scratch.path(),
            dictionaries,
            &[
                "eval",
                "retrieval",
                "--corpus",
                &s(&corpus),
                "--queries",
                &s(&set.join("queries-en.jsonl")),
                "--qrels",
                &s(&set.join("qrels.tsv")),
                "--index-dir",
                &s(library.path()),
                "--json",
            ],
        ))
        .unwrap()
    };
    let plain = eval(no_dictionaries.path());
    let ndcg = |m: &serde_json::Value, name: &str| m[name]["ndcg@10"].as_f64().unwrap();
    eprintln!("German passages, English questions, no dictionary: {plain}");
    assert!(
        ndcg(&plain, "bm25") + 0.1 < ndcg(&plain, "vector"),
        "English words must find little in German passages: {plain}"
    );
    // `hybrid` is balanced fusion before the library knew its language.
    assert!(ndcg(&plain, "hybrid") < ndcg(&plain, "vector"), "{plain}");
    assert!(
        ndcg(&plain, "adaptive") >= ndcg(&plain, "vector"),
        "{plain}"
    );
    assert!(
        ndcg(&plain, "adaptive") > ndcg(&plain, "hybrid") + 0.03,
        "{plain}"
    );

    // The same library, which now knows it is German, with the dictionary.
    let translated = eval(&support::dictionaries());
    eprintln!("German passages, English questions, English-German dictionary: {translated}");
    assert!(
        ndcg(&translated, "bm25") > ndcg(&plain, "bm25") + 0.1,
        "translated words must find German passages: {translated} against {plain}"
    );
    assert_eq!(ndcg(&translated, "vector"), ndcg(&plain, "vector"));
    assert!(
        ndcg(&translated, "hybrid") > ndcg(&plain, "adaptive"),
        "fusion with translated words must beat leaning on vectors: {translated} against {plain}"
    );

    // The library's languages are kept with its tuning and shown by doctor.
    let doctor: serde_json::Value = serde_json::from_str(&cairn(
        library.path(),
        no_dictionaries.path(),
        &["doctor", "--json"],
    ))
    .unwrap();
    let languages = &doctor["search_tuning"]["languages"];
    assert_eq!(languages[0]["language"], "deu", "{doctor}");
    assert!(languages[0]["share"].as_f64().unwrap() > 0.9, "{doctor}");
    let text = cairn(library.path(), no_dictionaries.path(), &["doctor"]);
    assert!(text.contains("passages in German"), "{text}");
    assert!(text.contains("no dictionaries"), "{text}");
    // Doctor names the dictionaries a question can go through.
    let doctor: serde_json::Value = serde_json::from_str(&cairn(
        library.path(),
        &support::dictionaries(),
        &["doctor", "--json"],
    ))
    .unwrap();
    assert_eq!(doctor["dictionaries"][0]["from"], "eng", "{doctor}");
    assert_eq!(doctor["dictionaries"][0]["to"], "deu", "{doctor}");
    let text = cairn(library.path(), &support::dictionaries(), &["doctor"]);
    assert!(
        text.contains("questions in English are searched by keyword in German too"),
        "{text}"
    );
}
