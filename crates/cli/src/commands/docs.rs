use crate::app::{self, Paths};
use anyhow::bail;
use cairn_core::{DocumentId, DocumentState};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print the documents as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RmArgs {
    /// Document ids or paths.
    #[arg(required = true)]
    documents: Vec<String>,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    let docs = engine.documents().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(ExitCode::SUCCESS);
    }
    for d in &docs {
        let detail = match (&d.state, &d.failure) {
            (DocumentState::Failed, Some(f)) => format!("failed: {}", f.message),
            (state, _) => format!(
                "{}, {} pages, {} chunks{}",
                state.as_str(),
                d.page_count,
                d.chunk_count,
                match d.ocr_pages {
                    0 => String::new(),
                    n if n == d.page_count => ", text from OCR".to_string(),
                    n => format!(", text of {n} pages from OCR"),
                }
            ),
        };
        println!("{:>5}  {}  ({detail})", d.id.0, d.path);
    }
    let counts = engine.counts().await?;
    println!(
        "{} documents; chunks: catalog {}, full-text {}, vectors {}",
        counts.documents, counts.catalog_chunks, counts.text_chunks, counts.vector_chunks
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn rm(paths: &Paths, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    let docs = engine.documents().await?;
    for wanted in &args.documents {
        let absolute = std::path::absolute(wanted)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let found = docs.iter().find(|d| {
            wanted.parse::<i64>().is_ok_and(|id| DocumentId(id) == d.id)
                || d.path == *wanted
                || d.path == absolute
        });
        let Some(doc) = found else {
            bail!("no document {wanted} in the catalog (see `cairn docs`)");
        };
        engine.remove(doc.id).await?;
        println!("removed {}", doc.path);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn reindex(paths: &Paths) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    let report = engine.reindex().await?;
    println!(
        "re-indexed {} documents, {} chunks ({} embedded again)",
        report.documents, report.chunks, report.embedded
    );
    Ok(ExitCode::SUCCESS)
}
