//! `cairn bench`: measurements of Cairn's own stages, each printed as one JSON object on
//! stdout for `scripts/bench` (which runs the peers on the same inputs, in the same run, and
//! writes `bench/RESULTS.md`). Run from a release build: debug numbers mean nothing.

mod embedding;
mod extraction;
mod generation;
mod ingest;
mod ocr;
mod search;
mod system;

use crate::app::Paths;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// The machine: CPU, cores, memory, and measured memory bandwidth.
    System(system::Args),
    /// Prompt reading (512 and 2,048 tokens), time to first token on a real RAG prompt, and
    /// decoding, for one generation engine.
    Generation(generation::Args),
    /// Chunks per second of the embedder on given texts (and the vectors, to compare).
    Embedding(embedding::Args),
    /// Pages per second and text coverage of Cairn's PDF extraction against `pdftotext`.
    Extraction(extraction::Args),
    /// OCR of scans made from pages with a known text layer: word recall and pages per
    /// second; with `--folder`, how many textless PDFs OCR gives text.
    Ocr(ocr::Args),
    /// A whole ingest of a folder: pages and chunks per second, time per stage, peak memory,
    /// index size.
    Ingest(ingest::Args),
    /// Hybrid search latency and memory at growing sizes, with and without a vector index.
    Search(search::Args),
}

pub async fn run(paths: &Paths, command: BenchCommand) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; its timings are not Cairn's speed");
    }
    let report = match command {
        BenchCommand::System(args) => serde_json::to_value(system::run(args).await?)?,
        BenchCommand::Generation(args) => {
            serde_json::to_value(generation::run(paths, args).await?)?
        }
        BenchCommand::Embedding(args) => serde_json::to_value(embedding::run(paths, args).await?)?,
        BenchCommand::Extraction(args) => serde_json::to_value(extraction::run(args).await?)?,
        BenchCommand::Ocr(args) => serde_json::to_value(ocr::run(args).await?)?,
        BenchCommand::Ingest(args) => serde_json::to_value(ingest::run(paths, args).await?)?,
        BenchCommand::Search(args) => serde_json::to_value(search::run(paths, args).await?)?,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// The `p` quantile (0–1) by nearest rank.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
