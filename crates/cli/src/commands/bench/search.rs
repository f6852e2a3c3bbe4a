//! Hybrid search at scale, as the product runs it. A base of real passages (a BEIR corpus,
//! chunked and embedded by Cairn) is grown, in one library, to each size by copies whose
//! words are partly swapped for words of other passages and whose vectors are moved by noise
//! (cosine ≈ 0.86 to the original), written to real stores (SQLite, Tantivy, LanceDB) in
//! ingests of `STEP` chunks, each ending with the product's own optimisation (which trains the
//! IVF-PQ index from `INDEX_MIN_ROWS`, folds new rows in, and trains it again as the table
//! grows). At each size real queries are searched through the engine, as `cairn search` does:
//! latency percentiles, memory, and the recall@10 of what the product returns against an
//! exhaustive vector search of the same table.

use super::{percentile, system};
use crate::app::{self, Paths};
use crate::commands::eval::{corpus_documents, read_jsonl, QueryRecord};
use cairn_core::engine::{EngineConfig, Ports};
use cairn_core::ports::{Catalog, Embedder, NewDocument, TextIndex, VectorIndex};
use cairn_core::{
    Chunk, ChunkId, ContentHash, DocumentKind, Engine, ExtractedDocument, SearchMode, SearchRequest,
};
use cairn_models::OnnxEmbedder;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// BEIR corpus.jsonl of the base passages.
    #[arg(long)]
    corpus: PathBuf,
    /// BEIR queries.jsonl.
    #[arg(long)]
    queries: PathBuf,
    /// Take the base passages and their vectors from this data folder (an earlier
    /// `cairn eval retrieval --index-dir` of the same corpus; it is copied, not changed)
    /// instead of chunking and embedding the corpus again.
    #[arg(long)]
    base_index: Option<PathBuf>,
    /// Queries timed at each size.
    #[arg(long, default_value_t = 100)]
    max_queries: usize,
    /// Sizes in chunks, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<usize>,
    /// Results per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
}

#[derive(Serialize)]
struct Latency {
    p50_ms: f64,
    p95_ms: f64,
    mean_ms: f64,
}

impl Latency {
    fn of(times_ms: &[f64]) -> Self {
        Latency {
            p50_ms: percentile(times_ms, 0.5).unwrap_or(0.0),
            p95_ms: percentile(times_ms, 0.95).unwrap_or(0.0),
            mean_ms: times_ms.iter().sum::<f64>() / times_ms.len().max(1) as f64,
        }
    }
}

/// Chunks per simulated ingest: each ends with the product's optimisation.
const STEP: usize = 50_000;

#[derive(Serialize)]
struct SizeRow {
    chunks: u64,
    /// Wall time to grow the library from the previous size (writes and optimisation).
    build_s: f64,
    /// Of that, the product's optimisation at the end of each ingest.
    optimise_s: f64,
    disk_mib: f64,
    /// The rows the vector index was last trained on (`None`: no index, exact search).
    index_trained_rows: Option<u64>,
    /// Hybrid search (query embedding, BM25, vectors, fusion, catalog) as the product runs it.
    hybrid: Latency,
    /// Vector-only search as the product runs it (through the index once there is one).
    vector: Latency,
    /// An exhaustive vector scan of the same table (the LanceDB query alone).
    vector_exhaustive: Latency,
    rss_mib: f64,
    /// Share of the exhaustive scan's top-k that the product's vector search returns.
    recall_at_k: f64,
}

#[derive(Serialize)]
pub struct Report {
    base_chunks: usize,
    queries: usize,
    k: usize,
    sizes: Vec<SizeRow>,
}

/// A base passage: its text, heading path and vector.
struct Base {
    text: String,
    heading: Vec<String>,
    vector: Vec<f32>,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<Report> {
    let embedder = Arc::new(app::load_embedder(&paths.embedder).await?);
    let queries: Vec<String> = read_jsonl::<QueryRecord>(&args.queries)?
        .into_iter()
        .take(args.max_queries.max(1))
        .map(|q| q.text)
        .collect();
    let base = base_passages(&embedder, &args).await?;
    eprintln!(
        "search: {} base passages, {} queries",
        base.len(),
        queries.len()
    );
    let query_vectors = embedder
        .embed(queries.clone(), cairn_core::ports::EmbedKind::Query)
        .await?;
    let dir = tempfile::tempdir()?;
    let stores =
        cairn_store::Stores::open(dir.path(), embedder.model_id(), embedder.dimension()).await?;
    let engine = Engine::new(
        Ports {
            extractor: Arc::new(app::extractor()?),
            catalog: stores.catalog.clone(),
            text: stores.text.clone(),
            vectors: stores.vectors.clone(),
            embedder: embedder.clone(),
        },
        EngineConfig::for_embedder(embedder.as_ref()),
    );
    let mut sizes = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut grower = Grower::default();
    let mut wanted = args.sizes.clone();
    wanted.sort_unstable();
    for size in wanted {
        let started = Instant::now();
        let mut optimise_s = 0.0;
        while grower.written < size {
            let to = (grower.written + STEP).min(size);
            grower
                .grow_to(&stores, &base, to, embedder.model_id(), &mut rng)
                .await?;
            let optimising = Instant::now();
            stores.vectors.optimize().await?;
            optimise_s += optimising.elapsed().as_secs_f64();
        }
        let build_s = started.elapsed().as_secs_f64();
        let chunks = stores.vectors.count().await?;
        let disk_mib = system::disk_bytes(dir.path()) as f64 / f64::from(1u32 << 20);
        let index_trained_rows = stores.vectors.trained_rows().await?;
        eprintln!(
            "search: {chunks} chunks after {build_s:.1} s ({optimise_s:.1} s optimising, index trained on {index_trained_rows:?}, {disk_mib:.0} MiB)"
        );
        let (hybrid, _) = time_queries(&engine, &queries, SearchMode::Hybrid, args.k).await?;
        let (vector, returned) =
            time_queries(&engine, &queries, SearchMode::Vector, args.k).await?;
        let rss_mib = system::rss_bytes() as f64 / f64::from(1u32 << 20);
        let (vector_exhaustive, exact) =
            time_exhaustive(&stores.vectors, &query_vectors, args.k).await?;
        let found: usize = exact
            .iter()
            .zip(&returned)
            .map(|(e, a)| e.intersection(a).count())
            .sum();
        let wanted_hits: usize = exact.iter().map(HashSet::len).sum();
        let row = SizeRow {
            chunks,
            build_s,
            optimise_s,
            disk_mib,
            index_trained_rows,
            hybrid,
            vector,
            vector_exhaustive,
            rss_mib,
            recall_at_k: found as f64 / wanted_hits.max(1) as f64,
        };
        eprintln!(
            "search: {chunks:>8} chunks  hybrid p50 {:.1} p95 {:.1} ms | vector p95 {:.1} ms, exhaustive p95 {:.1} ms, recall@{} {:.3}",
            row.hybrid.p50_ms,
            row.hybrid.p95_ms,
            row.vector.p95_ms,
            row.vector_exhaustive.p95_ms,
            args.k,
            row.recall_at_k
        );
        sizes.push(row);
    }
    drop(engine);
    if let Some(lock) = stores.catalog.lock() {
        lock.close();
    }
    Ok(Report {
        base_chunks: base.len(),
        queries: queries.len(),
        k: args.k,
        sizes,
    })
}

/// Chunks and embeds the corpus with Cairn's own pipeline (or copies `--base-index`) and
/// reads the passages back.
async fn base_passages(embedder: &OnnxEmbedder, args: &Args) -> anyhow::Result<Vec<Base>> {
    let dir = tempfile::tempdir()?;
    let model_id = embedder.model_id().to_string();
    let dimension = embedder.dimension();
    if let Some(index) = &args.base_index {
        let catalog = cairn_store::Layout::new(index).catalog();
        anyhow::ensure!(catalog.is_file(), "no catalog in {}", index.display());
        std::fs::copy(&catalog, cairn_store::Layout::new(dir.path()).catalog())?;
    } else {
        let opened = app::open_stores(dir.path(), embedder.clone()).await?;
        let started = Instant::now();
        let documents = corpus_documents(&args.corpus)?;
        opened
            .engine
            .ingest_documents(documents, &|_: &cairn_core::ingest::IngestEvent| {})
            .await?;
        eprintln!(
            "search: base corpus chunked and embedded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if let Some(lock) = &opened.lock {
            lock.close();
        }
    }
    let stores = cairn_store::Stores::open(dir.path(), &model_id, dimension).await?;
    let mut base = Vec::new();
    let mut after: Option<ChunkId> = None;
    loop {
        let page = stores
            .catalog
            .chunk_page(after.as_ref(), 5000, &model_id)
            .await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.id.clone());
        for (chunk, vector) in page {
            if let Some(vector) = vector {
                base.push(Base {
                    text: chunk.text,
                    heading: chunk.heading_path,
                    vector,
                });
            }
        }
    }
    anyhow::ensure!(!base.is_empty(), "the corpus gave no passages");
    Ok(base)
}

/// Passages per synthetic document (few, large documents keep the catalog's per-document
/// transactions from dominating the build).
const PER_DOCUMENT: usize = 64;
/// Chunks per write to the two indexes.
const WRITE_BATCH: usize = 20_000;

/// Writes `size` chunks: the base passages, then altered copies of them.
/// How far the library has grown: chunks written, and where in the base the next copy
/// starts.
#[derive(Default)]
struct Grower {
    written: usize,
    copy: usize,
    group: usize,
}

impl Grower {
    /// Writes documents of copies of the base until the library holds `size` chunks.
    async fn grow_to(
        &mut self,
        stores: &cairn_store::Stores,
        base: &[Base],
        size: usize,
        model_id: &str,
        rng: &mut Rng,
    ) -> anyhow::Result<()> {
        let words: Vec<&str> = base
            .iter()
            .flat_map(|b| b.text.split_whitespace())
            .collect();
        let mut pending = Pending::default();
        let groups: Vec<&[Base]> = base.chunks(PER_DOCUMENT).collect();
        while self.written < size {
            let (written, copy) = (self.written, self.copy);
            let group = groups[self.group];
            {
                let group = &group[..group.len().min(size - written)];
                let mut text = String::new();
                let mut parts = Vec::new();
                for passage in group {
                    let body = if copy == 0 {
                        passage.text.clone()
                    } else {
                        swap_words(&passage.text, &words, rng)
                    };
                    let vector = if copy == 0 {
                        passage.vector.clone()
                    } else {
                        jitter(&passage.vector, rng)
                    };
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    let start = text.len();
                    text.push_str(&body);
                    parts.push((start, text.len(), passage, vector));
                }
                let path = format!("bench://copy-{copy}/{written}");
                let id = stores
                    .catalog
                    .begin_document(&NewDocument {
                        path: path.clone(),
                        content_hash: ContentHash::of_bytes(text.as_bytes()),
                        size_bytes: text.len() as u64,
                        mtime_ms: 0,
                    })
                    .await?;
                let mut chunks = Vec::new();
                let mut vectors = Vec::new();
                for (ordinal, (start, end, passage, vector)) in parts.into_iter().enumerate() {
                    let body = &text[start..end];
                    chunks.push(Chunk {
                        id: ChunkId::derive(id, &passage.heading, body, ordinal as u32),
                        document_id: id,
                        ordinal: ordinal as u32,
                        text: body.to_string(),
                        start,
                        end,
                        page_start: None,
                        page_end: None,
                        page_unit: Default::default(),
                        heading_path: passage.heading.clone(),
                        token_count: 0,
                    });
                    vectors.push(vector);
                }
                let doc = ExtractedDocument::plain(DocumentKind::Text, None, text);
                stores
                    .catalog
                    .store_extracted(id, &doc, &chunks, &vectors, model_id)
                    .await?;
                self.written += chunks.len();
                pending.rows.insert(
                    id,
                    chunks.iter().map(|c| c.id.clone()).zip(vectors).collect(),
                );
                pending.chunks.extend(chunks);
                pending.docs.push(id);
                if pending.chunks.len() >= WRITE_BATCH {
                    pending.flush(stores).await?;
                }
            }
            self.group += 1;
            if self.group == groups.len() {
                self.group = 0;
                self.copy += 1;
            }
        }
        pending.flush(stores).await?;
        Ok(())
    }
}

/// Chunks written to the catalog, not yet to the two indexes.
#[derive(Default)]
struct Pending {
    chunks: Vec<Chunk>,
    rows: BTreeMap<cairn_core::DocumentId, Vec<(ChunkId, Vec<f32>)>>,
    docs: Vec<cairn_core::DocumentId>,
}

impl Pending {
    async fn flush(&mut self, stores: &cairn_store::Stores) -> anyhow::Result<()> {
        if self.chunks.is_empty() {
            return Ok(());
        }
        stores.text.add_chunks("", &self.chunks).await?;
        stores.text.commit().await?;
        stores
            .vectors
            .add(std::mem::take(&mut self.rows).into_iter().collect())
            .await?;
        stores.catalog.mark_indexed(&self.docs).await?;
        self.chunks.clear();
        self.docs.clear();
        Ok(())
    }
}

/// Times each query once after a warm-up pass; returns the latencies and each query's
/// result ids.
async fn time_queries(
    engine: &Engine,
    queries: &[String],
    mode: SearchMode,
    k: usize,
) -> anyhow::Result<(Latency, Vec<HashSet<ChunkId>>)> {
    let request = |q: &str| SearchRequest {
        mode,
        ..SearchRequest::hybrid(q, k)
    };
    for q in queries.iter().take(10) {
        engine.search(&request(q)).await?;
    }
    let mut times = Vec::new();
    let mut results = Vec::new();
    for q in queries {
        let started = Instant::now();
        let hits = engine.search(&request(q)).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        results.push(hits.into_iter().map(|h| h.chunk.id).collect());
    }
    Ok((Latency::of(&times), results))
}

/// Times the LanceDB query alone, scanning every vector; returns each query's top-k.
async fn time_exhaustive(
    vectors: &cairn_store::LanceVectors,
    query_vectors: &[Vec<f32>],
    k: usize,
) -> anyhow::Result<(Latency, Vec<HashSet<ChunkId>>)> {
    let mut times = Vec::new();
    let mut results = Vec::new();
    for v in query_vectors {
        let started = Instant::now();
        let hits = vectors.search_exact(v, k).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        results.push(hits.into_iter().map(|(id, _)| id).collect());
    }
    Ok((Latency::of(&times), results))
}

/// The text with about a fifth of its words replaced by words of other passages.
fn swap_words(text: &str, words: &[&str], rng: &mut Rng) -> String {
    text.split_whitespace()
        .map(|w| {
            if rng.below(5) == 0 && !words.is_empty() {
                words[rng.below(words.len())]
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The unit vector moved by Gaussian noise of 0.6 of its length, renormalised (cosine to
/// the original ≈ 0.86).
fn jitter(vector: &[f32], rng: &mut Rng) -> Vec<f32> {
    let sigma = 0.6 / (vector.len() as f64).sqrt();
    let moved: Vec<f64> = vector
        .iter()
        .map(|&x| f64::from(x) + sigma * rng.normal())
        .collect();
    let norm = moved.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    moved.iter().map(|x| (x / norm) as f32).collect()
}

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::{jitter, Rng};

    #[test]
    fn jittered_vectors_stay_unit_and_near_the_original() {
        let mut rng = Rng(42);
        let dim = 384;
        let original: Vec<f32> = (0..dim).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
        let mut cosines = Vec::new();
        for _ in 0..50 {
            let moved = jitter(&original, &mut rng);
            let norm: f32 = moved.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
            cosines.push(f64::from(moved[0]));
        }
        let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
        assert!((0.8..0.92).contains(&mean), "{mean}");
    }
}
