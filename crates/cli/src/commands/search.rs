use crate::app::{self, Paths};
use cairn_core::{DocumentId, SearchHit, SearchMode, SearchRequest};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The question or keywords.
    query: String,
    /// How many passages to show.
    #[arg(short = 'k', long, default_value_t = 5)]
    limit: usize,
    /// Which retrievers to use.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Only search these documents (ids from `cairn docs`).
    #[arg(long = "doc")]
    documents: Vec<i64>,
    /// Print the hits as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Hybrid,
    Bm25,
    Vector,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let engine = app::open(paths).await?;
    let request = SearchRequest {
        query: args.query,
        limit: args.limit,
        mode: match args.mode {
            Mode::Hybrid => SearchMode::Hybrid,
            Mode::Bm25 => SearchMode::Bm25,
            Mode::Vector => SearchMode::Vector,
        },
        documents: (!args.documents.is_empty())
            .then(|| args.documents.into_iter().map(DocumentId).collect()),
    };
    let hits = engine.search(&request).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else if hits.is_empty() {
        println!("no passage matches");
    } else {
        for (i, hit) in hits.iter().enumerate() {
            print_hit(i + 1, hit);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_hit(n: usize, hit: &SearchHit) {
    let location = hit.chunk.location();
    let heading = if hit.chunk.page_start.is_some() && !hit.chunk.heading_path.is_empty() {
        format!(" · {}", hit.chunk.heading_path.join(" › "))
    } else {
        String::new()
    };
    let ranks = format!(
        "bm25 {} · vector {}",
        hit.bm25.map_or("-".to_string(), |r| format!(
            "#{} ({:.2})",
            r.rank, r.score.0
        )),
        hit.vector.map_or("-".to_string(), |r| format!(
            "#{} ({:.3})",
            r.rank, r.score.0
        )),
    );
    println!(
        "[{n}] {}{}{}",
        hit.document_path,
        if location.is_empty() {
            String::new()
        } else {
            format!(" — {location}")
        },
        heading
    );
    println!("    {ranks}");
    let text: String = hit
        .chunk
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let shown: String = text.chars().take(400).collect();
    let ellipsis = if text.chars().count() > 400 {
        "…"
    } else {
        ""
    };
    println!("    {shown}{ellipsis}\n");
}
