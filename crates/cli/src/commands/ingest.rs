use crate::app::{self, Paths};
use cairn_core::ingest::{IngestEvent, IngestReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Files and folders to index.
    #[arg(required_unless_present = "retry_failed")]
    paths: Vec<PathBuf>,
    /// Read again every document whose last read failed (the failed ones, and indexed ones
    /// whose re-read failed), whatever their files look like; then index PATHS, if any.
    #[arg(long)]
    retry_failed: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} files, {elapsed} (eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let observer = |event: &IngestEvent| match event {
        IngestEvent::Scanned { total } => bar.set_length(*total as u64),
        IngestEvent::File { path, .. } => {
            bar.inc(1);
            let name = std::path::Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            bar.set_message(name);
        }
        IngestEvent::FolderUnreadable {
            path,
            failure,
            kept,
        } => bar.println(format!(
            "notice: could not read {path}: {} [{}]; its {kept} document(s) are kept",
            failure.message, failure.code
        )),
        IngestEvent::Stage { .. } | IngestEvent::Committed { .. } => {}
    };
    let mut report = if args.retry_failed {
        engine.retry_failed(&observer).await?
    } else {
        IngestReport::default()
    };
    if !args.paths.is_empty() {
        report.merge(engine.ingest(&args.paths, &observer).await?);
    }
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(report: &IngestReport) {
    let chunks: u32 = report.indexed.iter().map(|(_, c)| c).sum();
    println!(
        "indexed {} ({} chunks), unchanged {}, failed {}, kept {}",
        report.indexed.len(),
        chunks,
        report.unchanged.len(),
        report.failed.len(),
        report.kept.len()
    );
    for (path, failure) in &report.failed {
        println!(
            "  failed  {path}\n          {} [{}]",
            failure.message, failure.code
        );
    }
    for (path, failure) in &report.kept {
        println!(
            "  kept    {path}\n          reading it again failed, the indexed version stays: {} [{}]",
            failure.message, failure.code
        );
    }
    for (path, failure) in &report.unreadable_folders {
        println!(
            "  unread  {path}\n          {} [{}]; nothing under it was removed",
            failure.message, failure.code
        );
    }
}
