//! `cairn watch`: keep folders in step with the index. New and edited files are indexed
//! (an edit re-embeds only the chunks whose text changed), moved files are renamed without
//! re-embedding, deleted files are removed; changes are gathered for a moment (debounced)
//! and applied together.

use crate::app::{self, Paths};
use anyhow::bail;
use cairn_core::ingest::{IngestEvent, IngestReport, Outcome};
use cairn_host::watching::WatchEvent;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Folders to add to the watched ones (kept across runs).
    folders: Vec<PathBuf>,
    /// Stop watching a folder (its documents stay indexed).
    #[arg(long, value_name = "FOLDER")]
    forget: Vec<PathBuf>,
    /// List the watched folders and exit.
    #[arg(long)]
    list: bool,
    /// Bring the watched folders up to date once, then exit.
    #[arg(long)]
    once: bool,
    /// Quiet time, in milliseconds, that ends a burst of changes.
    #[arg(long, default_value_t = 1000)]
    debounce_ms: u64,
    /// Print one JSON object per line (file outcomes, `synced`, `watching`).
    #[arg(long)]
    json: bool,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    for folder in &args.folders {
        if !folder.is_dir() {
            bail!("{} is not a folder", folder.display());
        }
        engine.watch_folder(folder).await?;
    }
    for folder in &args.forget {
        if !engine.unwatch_folder(folder).await? {
            eprintln!("{} was not watched", folder.display());
        }
    }
    let folders = engine.watched_folders().await?;
    if args.list || (!args.forget.is_empty() && args.folders.is_empty()) {
        for folder in &folders {
            println!("{}", folder.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if folders.is_empty() {
        bail!("no folder is watched: `cairn watch <folder>` adds one");
    }
    let mut watching = app::watching::Watching::start(&folders, &paths.data_dir)?;
    let printer = Printer { json: args.json };
    let quiet = Duration::from_millis(args.debounce_ms.max(50));
    let ctrl_c = crate::interrupt::ctrl_c()?;
    tokio::pin!(ctrl_c);
    let mut first_sync = true;
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            event = watching.next(quiet) => match event {
                None => break,
                Some(WatchEvent::Problem { folder, message }) => {
                    printer.watch_problem(folder.as_ref(), &message);
                }
                // Every folder first, then only the folders that changed (all of them after
                // an overflow).
                Some(WatchEvent::Sync(changed)) => {
                    sync(&engine, &changed, &printer).await?;
                    if std::mem::take(&mut first_sync) {
                        if args.once {
                            break;
                        }
                        printer.watching(&folders);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn sync(
    engine: &cairn_core::Engine,
    folders: &[PathBuf],
    printer: &Printer,
) -> anyhow::Result<()> {
    let observer = |event: &IngestEvent| printer.event(event);
    let report = engine.sync(folders, &observer).await?;
    printer.synced(&report);
    crate::app::tune_search(engine, !printer.json).await;
    Ok(())
}

struct Printer {
    json: bool,
}

impl Printer {
    fn event(&self, event: &IngestEvent) {
        if let IngestEvent::FolderUnreadable {
            path,
            failure,
            kept,
        } = event
        {
            if self.json {
                if let Ok(line) = serde_json::to_string(event) {
                    println!("{line}");
                }
            } else {
                eprintln!(
                    "notice   {} [{}]; the {kept} document(s) under {path} are kept",
                    failure.message, failure.code
                );
            }
            return;
        }
        let IngestEvent::File { path, outcome, .. } = event else {
            return;
        };
        if *outcome == Outcome::Unchanged {
            return;
        }
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                println!("{line}");
            }
            return;
        }
        match outcome {
            Outcome::Indexed {
                chunks, embedded, ..
            } => println!("indexed  {path} ({chunks} chunks, {embedded} embedded)"),
            Outcome::Renamed { from } => println!("renamed  {from} -> {path}"),
            Outcome::Removed => println!("removed  {path}"),
            Outcome::Failed(f) => println!("failed   {path}: {} [{}]", f.message, f.code),
            Outcome::KeptPrevious(f) => println!(
                "kept     {path}: reading it again failed, the indexed version stays: {} [{}]",
                f.message, f.code
            ),
            Outcome::Unchanged => {}
        }
    }

    fn synced(&self, r: &IngestReport) {
        if self.json {
            let line = serde_json::json!({
                "event": "synced",
                "indexed": r.indexed.len(),
                "embedded": r.embedded,
                "unchanged": r.unchanged.len(),
                "renamed": r.renamed.len(),
                "removed": r.removed.len(),
                "failed": r.failed.len(),
                "kept": r.kept.len(),
                "unreadable_folders": r.unreadable_folders.iter().map(|(p, f)| {
                    serde_json::json!({ "path": p, "code": f.code, "message": f.message })
                }).collect::<Vec<_>>(),
            });
            println!("{line}");
        } else if r.indexed.len()
            + r.renamed.len()
            + r.removed.len()
            + r.failed.len()
            + r.kept.len()
            + r.unreadable_folders.len()
            > 0
        {
            println!(
                "synced: {} indexed ({} chunks embedded), {} renamed, {} removed, {} failed, {} failed re-read(s) with the indexed version kept, {} unchanged, {} folder(s) unreadable (their documents kept)",
                r.indexed.len(),
                r.embedded,
                r.renamed.len(),
                r.removed.len(),
                r.failed.len(),
                r.kept.len(),
                r.unchanged.len(),
                r.unreadable_folders.len()
            );
        }
    }

    /// A folder that cannot be watched, or a failure of the watcher (after which every
    /// folder is scanned again, since changes may have been missed).
    fn watch_problem(&self, folder: Option<&PathBuf>, message: &str) {
        if self.json {
            let line = serde_json::json!({
                "event": "watch_error",
                "folder": folder.map(|f| f.display().to_string()),
                "message": message,
            });
            println!("{line}");
        } else if let Some(folder) = folder {
            eprintln!("warning: cannot watch {}: {message}", folder.display());
        } else {
            eprintln!(
                "warning: the folder watcher failed ({message}); every folder is scanned again"
            );
        }
    }

    fn watching(&self, folders: &[PathBuf]) {
        if self.json {
            let folders: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
            println!(
                "{}",
                serde_json::json!({ "event": "watching", "folders": folders })
            );
        } else {
            println!(
                "watching {} folder(s); changes are indexed as they happen (Ctrl-C to stop)",
                folders.len()
            );
        }
    }
}
