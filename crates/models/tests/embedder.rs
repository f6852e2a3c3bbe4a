//! The real all-MiniLM-L6-v2 through candle: shapes, normalisation, token counts, meaning.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::chunker::TokenCounter;
use cairn_core::ports::{EmbedKind, Embedder};
use cairn_models::{BertEmbedder, EmbedderOptions, Pooling};
use std::path::{Path, PathBuf};

fn model_dir() -> PathBuf {
    std::env::var_os("CAIRN_EMBEDDER").map_or_else(
        || {
            Path::new(&std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/cairn/models/all-MiniLM-L6-v2")
        },
        PathBuf::from,
    )
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn minilm_embeds_unit_vectors_that_capture_meaning() {
    let e = BertEmbedder::load(&model_dir(), EmbedderOptions::default()).unwrap();
    assert_eq!(e.dimension(), 384);
    assert_eq!(
        e.max_tokens(),
        254,
        "max_seq_length 256 minus [CLS] and [SEP]"
    );
    assert_eq!(e.pooling(), Pooling::Mean);
    // The tokenizer file truncates at 128; counting must not.
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
    // Batching and padding do not change a text's vector.
    let alone = e
        .embed(vec![texts[2].clone()], EmbedKind::Passage)
        .await
        .unwrap();
    assert!(cosine(&alone[0], &v[2]) > 0.9999);

    let batch: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "{i}: {}",
                "a sentence about science and its methods ".repeat(6)
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let out = e.embed(batch, EmbedKind::Passage).await.unwrap();
    eprintln!(
        "64 chunks of ~60 tokens in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(out.len(), 64);
}
