//! Criterion benches of the core's per-query and per-document work, against the simplest way
//! to do the same job in the same run: fusion against merging the two lists by score alone,
//! chunking against fixed windows of words. The ratio says what Cairn's care costs.
//! `cargo bench -p cairn-core` (release); `scripts/bench` covers the stages with real peers.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::chunker::{chunk_document, ChunkerConfig, TokenCounter};
use cairn_core::retrieval::fusion::{
    convex_fusion, reciprocal_rank_fusion, z_score_fusion, FusionConfig,
};
use cairn_core::{Bm25Score, ChunkId, DocumentId, DocumentKind, ExtractedDocument, VectorDistance};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

/// Words as tokens (the embedder's tokenizer is in cairn-models).
struct Words;

impl TokenCounter for Words {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

fn article() -> ExtractedDocument {
    let data = std::env::var_os("SHARED_DATA").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(data.join("squad-dev/docs/Martin_Luther.md"))
        .unwrap_or_else(|_| "Luther wrote. ".repeat(20_000));
    ExtractedDocument::plain(DocumentKind::Markdown, None, text)
}

fn chunking(c: &mut Criterion) {
    let doc = article();
    let config = ChunkerConfig::for_embedder(256);
    let mut group = c.benchmark_group("chunk an article");
    group.bench_function("cairn chunker", |b| {
        b.iter(|| chunk_document(DocumentId(1), black_box(&doc), &Words, &config))
    });
    group.bench_function("fixed 200-word windows", |b| {
        b.iter(|| {
            let words: Vec<&str> = black_box(&doc).text.split_whitespace().collect();
            words.chunks(200).map(|w| w.join(" ")).collect::<Vec<_>>()
        })
    });
    group.finish();
}

fn fusion(c: &mut Criterion) {
    let bm25: Vec<(ChunkId, Bm25Score)> = (0..50)
        .map(|i| (ChunkId(format!("c{i}")), Bm25Score(50.0 - i as f32)))
        .collect();
    let vector: Vec<(ChunkId, VectorDistance)> = (0..50)
        .map(|i| {
            (
                ChunkId(format!("c{}", i * 2)),
                VectorDistance(i as f32 / 100.0),
            )
        })
        .collect();
    let config = FusionConfig::default();
    let mut group = c.benchmark_group("fuse 2 x 50 candidates");
    group.bench_function("reciprocal rank fusion", |b| {
        b.iter(|| reciprocal_rank_fusion(black_box(&bm25), black_box(&vector), &config))
    });
    let convex = FusionConfig::convex(0.7, 0.3);
    group.bench_function("convex score fusion", |b| {
        b.iter(|| convex_fusion(black_box(&bm25), black_box(&vector), &convex))
    });
    let z_score = FusionConfig::z_score(0.5, 0.5);
    group.bench_function("z-score fusion", |b| {
        b.iter(|| z_score_fusion(black_box(&bm25), black_box(&vector), &z_score))
    });
    group.bench_function("merge by score", |b| {
        b.iter(|| {
            let mut all: Vec<(&ChunkId, f32)> = black_box(&bm25)
                .iter()
                .map(|(id, s)| (id, s.0 / 50.0))
                .chain(black_box(&vector).iter().map(|(id, d)| (id, 1.0 - d.0)))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1));
            all.dedup_by(|a, b| a.0 == b.0);
            all
        })
    });
    group.finish();
}

criterion_group!(benches, chunking, fusion);
criterion_main!(benches);
