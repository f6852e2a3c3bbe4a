use crate::app::{self, Paths};
use cairn_core::ingest::Outcome;
use cairn_core::ingest::{IngestEvent, IngestReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

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
    let progress = Progress::new();
    let observer = |event: &IngestEvent| progress.event(event);
    let mut report = if args.retry_failed {
        engine.retry_failed(&observer).await?
    } else {
        IngestReport::default()
    };
    if !args.paths.is_empty() {
        report.merge(engine.ingest(&args.paths, &observer).await?);
    }
    progress.bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    app::tune_search(&engine, !args.json).await;
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

/// The progress bar: bytes of the files done, with files, pages and chunks counted and the
/// time left estimated from the start of the run (steadier than a recent rate).
struct Progress {
    bar: ProgressBar,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    files: usize,
    total: usize,
    pages: u64,
    chunks: u64,
    /// The file OCR is reading, and where it is: "recognising page 3 of 40 of scan.pdf".
    recognising: Option<(String, u32, u32)>,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            counts: Mutex::new(Counts::default()),
        }
    }

    fn event(&self, event: &IngestEvent) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            IngestEvent::Scanned { total, bytes } => {
                counts.total += total;
                self.bar.inc_length(*bytes);
            }
            IngestEvent::File {
                path,
                bytes,
                outcome,
            } => {
                if counts.recognising.as_ref().is_some_and(|(p, ..)| p == path) {
                    counts.recognising = None;
                }
                counts.files += 1;
                if let Outcome::Indexed { chunks, pages, .. } = outcome {
                    counts.pages += u64::from(*pages);
                    counts.chunks += u64::from(*chunks);
                }
                self.bar.inc(*bytes);
            }
            IngestEvent::FolderUnreadable {
                path,
                failure,
                kept,
            } => self.bar.println(format!(
                "notice: {} [{}]; the {kept} document(s) under {path} are kept",
                failure.message, failure.code
            )),
            IngestEvent::Recognising { path, page, pages } => {
                counts.recognising = Some((path.clone(), *page, *pages));
            }
            IngestEvent::Stage { .. } | IngestEvent::Committed { .. } => {}
        }
        let left = time_left(self.bar.elapsed(), self.bar.position(), self.bar.length());
        let ocr = counts
            .recognising
            .as_ref()
            .map(|(path, page, pages)| {
                let name = Path::new(path)
                    .file_name()
                    .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
                format!(" · recognising page {page} of {pages} of {name}")
            })
            .unwrap_or_default();
        self.bar.set_message(format!(
            "{}/{} files, {} pages, {} chunks, {}{}{ocr}",
            counts.files,
            counts.total,
            counts.pages,
            counts.chunks,
            humantime(self.bar.elapsed()),
            left.map(|l| format!(", about {} left", humantime(l)))
                .unwrap_or_default()
        ));
    }
}

/// What is left at the average speed since the start.
fn time_left(elapsed: Duration, done: u64, total: Option<u64>) -> Option<Duration> {
    let total = total?;
    if done == 0 || done >= total {
        return None;
    }
    Some(elapsed.mul_f64((total - done) as f64 / done as f64))
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_average_speed_since_the_start() {
        let t = time_left(Duration::from_secs(30), 25, Some(100));
        assert_eq!(t, Some(Duration::from_secs(90)));
        assert_eq!(time_left(Duration::from_secs(5), 0, Some(100)), None);
        assert_eq!(time_left(Duration::from_secs(5), 100, Some(100)), None);
    }
}
