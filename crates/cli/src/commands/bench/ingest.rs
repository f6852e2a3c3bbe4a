//! A whole ingest of a folder into a fresh data folder, as `cairn ingest` runs it: pages and
//! chunks per second, the time each file spent extracting and embedding, peak memory, and
//! the size of what is stored per 1,000 chunks.

use super::system;
use crate::app::{self, Paths};
use cairn_core::ingest::{IngestEvent, Outcome, Stage};
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
    /// Summed over files: from starting to read a file to starting to embed it (reading
    /// runs ahead while the previous file embeds, so stages overlap).
    extract_s: f64,
    /// Summed over files: from starting to embed to being stored.
    embed_store_s: f64,
    /// From the last file stored to the end: the final index commit and compaction.
    final_commit_s: f64,
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
    extract_s: f64,
    embed_store_s: f64,
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
            IngestEvent::File { path, outcome } => {
                if let Some((extracting, embedding)) = c.started.remove(path) {
                    if let (Some(a), Some(b)) = (extracting, embedding) {
                        c.extract_s += (b - a).as_secs_f64();
                    }
                    if let Some(b) = embedding {
                        c.embed_store_s += (now - b).as_secs_f64();
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
    let start = Instant::now();
    let report = opened.engine.ingest(&args.paths, &observer).await?;
    let end = Instant::now();
    drop(opened);
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
        extract_s: c.extract_s,
        embed_store_s: c.embed_store_s,
        final_commit_s: c.last_file.map_or(0.0, |l| (end - l).as_secs_f64()),
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
