//! A whole ingest of a folder into a fresh data folder, as `cairn ingest` runs it: pages and
//! chunks per second, the time each file spent extracting and embedding, peak memory, and
//! the size of what is stored per 1,000 chunks.

use super::system;
use crate::app::{self, Paths};
use cairn_core::ingest::{IngestEvent, Outcome, Stage};
use cairn_core::ports::Embedder;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folders or files to ingest.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Serialize)]
pub struct Report {
    files: usize,
    indexed: usize,
    failed: usize,
    pages: u64,
    chunks: u64,
    seconds: f64,
    pages_per_s: f64,
    chunks_per_s: f64,
    /// Wall time during which some file was being read (from starting to read it to
    /// starting to embed it); reading runs ahead while earlier files embed.
    extract_s: f64,
    /// Wall time during which some file was between starting to embed and being stored
    /// (embedding is batched across files).
    embed_store_s: f64,
    /// From the last file stored to the end: the final index commit and compaction.
    final_commit_s: f64,
    /// CPU seconds (Cairn and its extraction workers) ÷ wall seconds during the ingest.
    cpu_busy: Option<f64>,
    /// CPU seconds of the extraction workers (and the OCR they ran) during the ingest: work
    /// the cores do besides embedding.
    extraction_cpu_s: Option<f64>,
    /// Pages whose text came from OCR.
    ocr_pages: u64,
    /// The embedder alone on the same chunks, one after another, with the stores closed: what
    /// the pipeline is compared with (the better of two passes).
    embedder_chunks_per_s: f64,
    /// Peak resident memory of the Cairn process (extraction runs in child processes, which
    /// are limited separately).
    peak_rss_mib: f64,
    catalog_mib: f64,
    fulltext_mib: f64,
    vectors_mib: f64,
    /// Bytes on disk per 1,000 chunks, all three stores.
    mib_per_1000_chunks: f64,
}

#[derive(Default)]
struct Clock {
    started: HashMap<String, (Option<Instant>, Option<Instant>)>,
    extracting: Vec<(Instant, Instant)>,
    embedding: Vec<(Instant, Instant)>,
    pages: u64,
    chunks: u64,
    last_file: Option<Instant>,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let embedder = app::load_embedder(&paths.embedder).await?;
    let opened = app::open_stores(dir.path(), embedder).await?;
    let clock = Mutex::new(Clock::default());
    let observer = |event: &IngestEvent| {
        let now = Instant::now();
        let Ok(mut c) = clock.lock() else { return };
        match event {
            IngestEvent::Stage { path, stage } => {
                let entry = c.started.entry(path.clone()).or_default();
                match stage {
                    Stage::Extracting => entry.0 = Some(now),
                    Stage::Embedding => entry.1 = Some(now),
                }
            }
            IngestEvent::File { path, outcome, .. } => {
                if let Some((extracting, embedding)) = c.started.remove(path) {
                    if let (Some(a), Some(b)) = (extracting, embedding) {
                        c.extracting.push((a, b));
                    }
                    if let Some(b) = embedding {
                        c.embedding.push((b, now));
                    }
                }
                if let Outcome::Indexed { chunks, pages, .. } = outcome {
                    c.pages += u64::from(*pages);
                    c.chunks += u64::from(*chunks);
                }
                c.last_file = Some(now);
            }
            _ => {}
        }
    };
    let cpu_before = system::cpu_seconds_with_children();
    let children_before = system::children_cpu_seconds();
    let start = Instant::now();
    let report = opened.engine.ingest(&args.paths, &observer).await?;
    let end = Instant::now();
    let delta = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    let cpu_busy = delta(cpu_before, system::cpu_seconds_with_children())
        .map(|cpu| cpu / (end - start).as_secs_f64());
    let extraction_cpu_s = delta(children_before, system::children_cpu_seconds());
    let ocr_pages = opened
        .engine
        .documents()
        .await?
        .iter()
        .map(|d| u64::from(d.ocr_pages))
        .sum();
    let (texts, _) = opened.engine.sample_passages(usize::MAX).await?;
    let embedder = opened.embedder.clone();
    drop(opened);
    let mut embedder_chunks_per_s: f64 = 0.0;
    for _ in 0..2 {
        let embedding = Instant::now();
        embedder
            .embed(texts.clone(), cairn_core::ports::EmbedKind::Passage)
            .await?;
        embedder_chunks_per_s =
            embedder_chunks_per_s.max(texts.len() as f64 / embedding.elapsed().as_secs_f64());
    }
    let c = clock
        .into_inner()
        .map_err(|_| anyhow::anyhow!("the ingest clock was poisoned"))?;
    let seconds = (end - start).as_secs_f64();
    let layout = cairn_store::Layout::new(dir.path());
    let mib = |p: PathBuf| system::disk_bytes(&p) as f64 / f64::from(1u32 << 20);
    let (catalog_mib, fulltext_mib, vectors_mib) = (
        mib(layout.catalog()),
        mib(layout.fulltext()),
        mib(layout.vectors()),
    );
    // SQLite's write-ahead log belongs to the catalog.
    let catalog_mib = catalog_mib + mib(layout.catalog().with_extension("sqlite-wal"));
    let total_mib = catalog_mib + fulltext_mib + vectors_mib;
    let out = Report {
        files: report.indexed.len() + report.failed.len() + report.unchanged.len(),
        indexed: report.indexed.len(),
        failed: report.failed.len(),
        pages: c.pages,
        chunks: c.chunks,
        seconds,
        pages_per_s: c.pages as f64 / seconds,
        chunks_per_s: c.chunks as f64 / seconds,
        extract_s: covered_s(c.extracting),
        embed_store_s: covered_s(c.embedding),
        final_commit_s: c.last_file.map_or(0.0, |l| (end - l).as_secs_f64()),
        cpu_busy,
        extraction_cpu_s,
        ocr_pages,
        embedder_chunks_per_s,
        peak_rss_mib: system::peak_rss_bytes() as f64 / f64::from(1u32 << 20),
        catalog_mib,
        fulltext_mib,
        vectors_mib,
        mib_per_1000_chunks: if c.chunks > 0 {
            total_mib * 1000.0 / c.chunks as f64
        } else {
            0.0
        },
    };
    eprintln!(
        "ingest: {} files ({} failed), {} pages, {} chunks in {seconds:.1} s: {:.1} pages/s, {:.1} chunks/s",
        out.files, out.failed, out.pages, out.chunks, out.pages_per_s, out.chunks_per_s
    );
    Ok(out)
}

/// Seconds covered by the union of the intervals.
fn covered_s(mut intervals: Vec<(Instant, Instant)>) -> f64 {
    intervals.sort();
    let mut total = 0.0;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += (e - s).as_secs_f64();
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0.0, |(s, e)| (e - s).as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::covered_s;
    use std::time::{Duration, Instant};

    #[test]
    fn overlapping_intervals_count_once() {
        let t = Instant::now();
        let at = |s: u64| t + Duration::from_secs(s);
        let covered = covered_s(vec![(at(0), at(4)), (at(2), at(6)), (at(10), at(11))]);
        assert!((covered - 7.0).abs() < 1e-9, "{covered}");
        assert_eq!(covered_s(Vec::new()), 0.0);
    }
}
