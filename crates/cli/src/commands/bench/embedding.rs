//! Embedding speed: chunks per second of Cairn's embedder on the texts of a JSONL file, in
//! batches as ingest sends them, and how busy the CPU was. The vectors are written out so the
//! peer (`bench/peers/embedding_peer.py`, sentence-transformers on the same weights and texts)
//! can check that both agree.

use super::system;
use crate::app::{self, Paths};
use crate::commands::eval::read_jsonl;
use cairn_core::ports::{EmbedKind, Embedder};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// JSONL, one `{"text": …}` per line.
    #[arg(long)]
    texts: PathBuf,
    /// Texts per call, as ingest batches them.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Write the vectors here (little-endian f32, one row per text).
    #[arg(long)]
    write_vectors: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Line {
    text: String,
}

#[derive(Serialize)]
pub struct Report {
    model: String,
    texts: usize,
    dimension: usize,
    seconds: f64,
    chunks_per_s: f64,
    /// CPU seconds ÷ wall seconds while embedding: 2.0 means two cores busy throughout.
    cpu_busy: Option<f64>,
    logical_cpus: usize,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<Report> {
    let texts: Vec<String> = read_jsonl::<Line>(&args.texts)?
        .into_iter()
        .map(|l| l.text)
        .collect();
    anyhow::ensure!(!texts.is_empty(), "{} has no texts", args.texts.display());
    let embedder = app::load_embedder(&paths.embedder).await?;
    // Warm up (first-call allocations), not timed.
    embedder
        .embed(texts[..texts.len().min(8)].to_vec(), EmbedKind::Passage)
        .await?;

    let cpu_before = system::cpu_seconds();
    let start = Instant::now();
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(args.batch.max(1)) {
        vectors.extend(embedder.embed(batch.to_vec(), EmbedKind::Passage).await?);
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_busy = match (cpu_before, system::cpu_seconds()) {
        (Some(before), Some(after)) => Some((after - before) / seconds),
        _ => None,
    };
    if let Some(out) = &args.write_vectors {
        let mut writer = std::io::BufWriter::new(std::fs::File::create(out)?);
        for v in &vectors {
            for x in v {
                writer.write_all(&x.to_le_bytes())?;
            }
        }
        writer.flush()?;
    }
    eprintln!(
        "embedding: {} texts in {seconds:.2} s = {:.1} chunks/s, CPU busy {}",
        texts.len(),
        texts.len() as f64 / seconds,
        cpu_busy.map_or("?".into(), |b| format!("{b:.2}"))
    );
    Ok(Report {
        model: embedder.model_id().to_string(),
        texts: texts.len(),
        dimension: embedder.dimension(),
        seconds,
        chunks_per_s: texts.len() as f64 / seconds,
        cpu_busy,
        logical_cpus: std::thread::available_parallelism().map_or(1, usize::from),
    })
}
