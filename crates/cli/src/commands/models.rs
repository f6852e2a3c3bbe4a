//! `cairn models`: the catalogue and what is installed (with whether it fits this machine),
//! downloading (resumable, verified), importing one's own GGUF, removing, and choosing the
//! model `cairn` uses by default.

use crate::app::{self, Paths};
use cairn_hub::{Cancel, Hub, Progress};
use cairn_models::catalogue::{self, Fit, Kind, Machine};
use cairn_models::install::Models;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// The catalogue and the installed models, with whether each fits this machine.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download a catalogue model (NAME) or any GGUF of the Hub (ORG/REPO FILE). Resumes what
    /// an earlier pull left; verifies the SHA-256 before installing. `HF_ENDPOINT` names a
    /// mirror, `HF_TOKEN` a token for gated models.
    Pull {
        name: String,
        file: Option<String>,
        /// The revision (commit or branch) of ORG/REPO.
        #[arg(long, default_value = "main")]
        revision: String,
        #[arg(long)]
        json: bool,
    },
    /// Import a GGUF chat model of your own (checked first).
    Add { file: PathBuf },
    /// Remove an installed model.
    Rm { name: String },
    /// Use this model by default (a chat model for answers, an embedder for new libraries).
    Use { name: String },
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let json = matches!(args.action, Action::Pull { json: true, .. });
    let models = Models::new(app::models_folder()?).on_retry(move |r| {
        // Said, not hidden in a log: the pull goes on by itself.
        if json {
            println!(
                "{}",
                serde_json::json!({"event": "retrying", "reason": r.reason,
                    "resume_at": r.resume_at, "attempt": r.attempt, "wait_s": r.wait_s})
            );
        } else {
            eprintln!(
                "interrupted at {:.1} MB ({}); resuming from there in {:.0} s (attempt {})",
                r.resume_at as f64 / 1e6,
                r.reason,
                r.wait_s,
                r.attempt
            );
        }
    });
    match args.action {
        Action::List { json } => list(&models, paths, json),
        Action::Pull {
            name,
            file,
            revision,
            json,
        } => pull(&models, &name, file.as_deref(), &revision, json).await,
        Action::Add { file } => {
            let installed = models.import(&file)?;
            println!("imported {}", installed.display());
            Ok(ExitCode::SUCCESS)
        }
        Action::Rm { name } => {
            let removed = models.remove(&name)?;
            println!("removed {}", removed.display());
            Ok(ExitCode::SUCCESS)
        }
        Action::Use { name } => {
            let chosen = app::models_selection::choose(&models, &name)?;
            println!(
                "{} is now the default {}",
                chosen.path.display(),
                match chosen.kind {
                    Kind::Chat => "chat model",
                    Kind::Embedder =>
                        "embedder for new libraries (`cairn embedder use` switches a library)",
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(models: &Models, paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let machine = Machine::detect(app::gpu_free_memory());
    let rows = models.overview(&machine);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    println!(
        "this machine: {:.1} GiB of memory{}; chat model in use: {}",
        gib(machine.ram),
        if machine.gpu_free > 0 {
            format!(", {:.1} GiB free on the GPU", gib(machine.gpu_free))
        } else {
            String::new()
        },
        paths.generator.display()
    );
    for r in &rows {
        let fit = match r.fit {
            Some(Fit::Gpu) => "fits on the GPU",
            Some(Fit::Ram) => "fits in memory",
            Some(Fit::Tight) => "WARNING: barely fits; slow, may fail",
            Some(Fit::No) => "WARNING: does not fit this machine",
            None => "",
        };
        println!(
            "{} {:<32} {:>6.1} GiB  {:<14} {}{}",
            if r.installed { "*" } else { " " },
            r.name,
            gib(r.size),
            if r.installed { "installed" } else { "" },
            fit,
            if r.recommended {
                "  (recommended here)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn pull(
    models: &Models,
    name: &str,
    file: Option<&str>,
    revision: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let hub = Hub::from_env()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let cancel = Cancel::default();
    let stopper = cancel.clone();
    // Ctrl-C stops at the next read; the part is kept and the next pull resumes it.
    let interrupt = crate::interrupt::on_ctrl_c(move || stopper.cancel())?;
    let show = |label: &str, p: Progress| {
        if json {
            println!(
                "{}",
                serde_json::json!({"event": "progress", "file": label, "done": p.done,
                    "total": p.total, "bytes_per_s": p.bytes_per_s, "eta_s": p.eta_s})
            );
        } else {
            bar.set_message(label.to_string());
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
    };
    let installed = match (catalogue::find(name), file) {
        (Some(entry), None) => models.pull(&hub, entry, &show, &cancel).await,
        (_, Some(file)) => {
            let single = |p: Progress| show(file, p);
            models
                .pull_gguf(&hub, name, revision, file, &single, &cancel)
                .await
        }
        (None, None) => anyhow::bail!(
            "{name} is not in the catalogue (`cairn models list`); for any GGUF of the Hub give \
             ORG/REPO and the file: `cairn models pull ORG/REPO FILE.gguf`"
        ),
    };
    bar.finish_and_clear();
    interrupt.abort();
    let installed = installed?;
    if json {
        println!(
            "{}",
            serde_json::json!({"event": "installed", "path": installed.display().to_string()})
        );
    } else {
        println!("installed {} (SHA-256 verified)", installed.display());
    }
    Ok(ExitCode::SUCCESS)
}
