//! `cairn embedder`: which embedder the library searches with, and switching it.

use crate::app::{self, Paths};
use cairn_core::engine::SwitchProgress;
use cairn_core::ports::Embedder;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Re-embed the library with the embedder in FOLDER (or the configured one) and search
    /// with it from then on. Searches keep working with the old one until it is done; an
    /// interrupted switch resumes where it stopped.
    Use { folder: Option<PathBuf> },
}

#[derive(serde::Serialize)]
struct Shown {
    model: String,
    name: String,
    folder: String,
    languages: String,
    /// The configured embedder, when the library searches with another.
    configured: Option<String>,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let target = match &args.action {
        Some(Action::Use {
            folder: Some(folder),
        }) => folder.clone(),
        _ => paths.embedder.clone(),
    };
    let configured = app::load_embedder(&target).await?;
    let opened = app::open_stores(&paths.data_dir, configured).await?;
    let own = &opened.embedder;
    let Some(Action::Use { .. }) = args.action else {
        let shown = Shown {
            model: own.model_id().to_string(),
            name: own.describe().name.clone(),
            folder: own.folder().display().to_string(),
            languages: own.describe().languages.clone(),
            configured: opened
                .pending_embedder
                .as_ref()
                .map(|e| e.model_id().to_string()),
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&shown)?);
        } else {
            println!(
                "{} ({}), languages: {}",
                shown.name, shown.model, shown.languages
            );
            println!("from {}", shown.folder);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(next) = opened.pending_embedder.clone() else {
        if !args.json {
            println!("the library already searches with {}", own.model_id());
        }
        return Ok(ExitCode::SUCCESS);
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} re-embedding [{bar:30}] {pos}/{len} passages, {elapsed}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let progress = |p: SwitchProgress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let report = app::embedders::switch(&opened.engine, &paths.data_dir, next, &progress).await?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "the library now searches with {}: {} passages, {} embedded now",
            report.model, report.chunks, report.embedded
        );
    }
    Ok(ExitCode::SUCCESS)
}
