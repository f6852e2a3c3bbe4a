//! `cairn eval refusal`: how well the relevance gate tells questions the documents answer from
//! questions they do not. Half of the documents are indexed; questions about them should be
//! answered, questions about the other half refused.

use crate::app::{self, Paths};
use anyhow::Context;
use cairn_core::answer::{is_relevant, RelevanceConfig};
use cairn_core::ingest::IngestEvent;
use cairn_core::retrieval::calibration::GateCalibration;
use cairn_core::{SearchMode, SearchRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RefusalArgs {
    /// Questions as JSON lines with `question`, `doc` (a file name in --docs) and `answers`.
    #[arg(long)]
    questions: PathBuf,
    /// Folder of the documents the questions are about.
    #[arg(long)]
    docs: PathBuf,
    /// Questions scored from each half (spread evenly over the file).
    #[arg(long, default_value_t = 300)]
    per_group: usize,
    /// Passages retrieved per question, as `cairn ask` does.
    #[arg(short = 'k', long, default_value_t = 8)]
    passages: usize,
    /// The gate's similarity threshold to score (default: the library's calibration, as
    /// `cairn ask` uses it).
    #[arg(long)]
    min_similarity: Option<f32>,
    /// Keep the index here to reuse it (default: a temporary folder).
    #[arg(long)]
    index_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize)]
struct Question {
    question: String,
    doc: String,
    #[serde(default)]
    answers: Vec<String>,
}

#[derive(Serialize)]
struct Report {
    indexed_documents: Vec<String>,
    held_out_documents: Vec<String>,
    embedder: String,
    min_similarity: f32,
    /// The threshold for a question whose language is not known; `calibration` has the one of
    /// each language (what the gate uses unless --min-similarity overrides it).
    calibration: Option<GateCalibration>,
    answerable: usize,
    unanswerable: usize,
    /// Answerable questions let through to the model.
    answered_rate: f64,
    /// Questions about held-out documents refused.
    refused_rate: f64,
    /// Answerable questions whose passages contain a gold answer.
    answer_in_passages_rate: f64,
    /// Best cosine similarity, quantiles 10/50/90, per group.
    answerable_similarity: [f32; 3],
    unanswerable_similarity: [f32; 3],
}

fn quantiles(mut v: Vec<f32>) -> [f32; 3] {
    if v.is_empty() {
        return [0.0; 3];
    }
    v.sort_by(f32::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.1), at(0.5), at(0.9)]
}

fn every_nth<T>(items: Vec<T>, want: usize) -> Vec<T> {
    let step = (items.len() / want.max(1)).max(1);
    items.into_iter().step_by(step).take(want).collect()
}

pub async fn run(paths: &Paths, args: RefusalArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.questions)
        .with_context(|| format!("cannot read {}", args.questions.display()))?;
    let questions: Vec<Question> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("malformed question line")?;
    let names: BTreeSet<String> = questions.iter().map(|q| q.doc.clone()).collect();
    // Every other document is indexed; the questions about the rest must be refused.
    let (indexed, held_out): (Vec<String>, Vec<String>) = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| (i % 2 == 0, name))
        .fold((Vec::new(), Vec::new()), |(mut a, mut b), (even, name)| {
            if even {
                a.push(name);
            } else {
                b.push(name);
            }
            (a, b)
        });
    anyhow::ensure!(
        !indexed.is_empty() && !held_out.is_empty(),
        "the questions must be about at least two documents"
    );

    let (index_dir, _temp) = app::folder_or_temp(args.index_dir.as_deref())?;
    let embedder = app::load_embedder(&paths.embedder).await?;
    let engine = app::open_engine(&index_dir, embedder).await?;
    let files: Vec<PathBuf> = indexed.iter().map(|n| args.docs.join(n)).collect();
    eprintln!(
        "indexing {} of {} documents…",
        files.len(),
        indexed.len() + held_out.len()
    );
    let report = engine.ingest(&files, &|_: &IngestEvent| {}).await?;
    anyhow::ensure!(
        report.failed.is_empty(),
        "{} documents failed to index",
        report.failed.len()
    );

    // The library is tuned as after any ingest: the gate's calibration comes with it.
    engine.tune_fusion().await?;
    let calibration = engine.gate().await?;
    let config = RelevanceConfig {
        min_similarity: args.min_similarity,
        ..RelevanceConfig::default()
    };
    let min_similarity = calibration
        .as_ref()
        .map_or(f32::INFINITY, |g| g.min_similarity);
    let (answerable, unanswerable): (Vec<Question>, Vec<Question>) = questions
        .into_iter()
        .partition(|q| indexed.contains(&q.doc));
    let answerable = every_nth(answerable, args.per_group);
    let unanswerable = every_nth(unanswerable, args.per_group);
    eprintln!(
        "scoring {} answerable and {} unanswerable questions…",
        answerable.len(),
        unanswerable.len()
    );

    let mut similarities = [Vec::new(), Vec::new()];
    let mut let_through = [0usize, 0usize];
    let mut answer_found = 0usize;
    for (group, questions) in [&answerable, &unanswerable].into_iter().enumerate() {
        for q in questions {
            let hits = engine
                .search(&SearchRequest {
                    query: q.question.clone(),
                    limit: args.passages,
                    mode: SearchMode::Hybrid,
                    documents: None,
                })
                .await?;
            // As `cairn ask` asks it: the threshold of the question's language.
            let threshold = engine.gate_threshold(&q.question).await?;
            let verdict = is_relevant(&q.question, &hits, &config, threshold);
            similarities[group].push(verdict.best_similarity.unwrap_or(0.0));
            if verdict.relevant {
                let_through[group] += 1;
            }
            if group == 0
                && hits
                    .iter()
                    .any(|h| q.answers.iter().any(|a| h.chunk.text.contains(a.as_str())))
            {
                answer_found += 1;
            }
        }
    }
    let rate = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let [answerable_sims, unanswerable_sims] = similarities;
    let report = Report {
        indexed_documents: indexed,
        held_out_documents: held_out,
        embedder: engine.side().embedder.model_id().to_string(),
        min_similarity: config.min_similarity.unwrap_or(min_similarity),
        calibration,
        answerable: answerable.len(),
        unanswerable: unanswerable.len(),
        answered_rate: rate(let_through[0], answerable.len()),
        refused_rate: rate(unanswerable.len() - let_through[1], unanswerable.len()),
        answer_in_passages_rate: rate(answer_found, answerable.len()),
        answerable_similarity: quantiles(answerable_sims),
        unanswerable_similarity: quantiles(unanswerable_sims),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("indexed:   {}", report.indexed_documents.join(", "));
        println!("held out:  {}", report.held_out_documents.join(", "));
        println!("embedder:  {}", report.embedder);
        if let Some(c) = &report.calibration {
            println!("library:   {}", c.summary());
        }
        println!(
            "answerable questions let through:  {:.1}% of {}   (a gold answer in the passages: {:.1}%)",
            100.0 * report.answered_rate,
            report.answerable,
            100.0 * report.answer_in_passages_rate
        );
        println!(
            "unanswerable questions refused:    {:.1}% of {}",
            100.0 * report.refused_rate,
            report.unanswerable
        );
        println!(
            "best similarity p10/p50/p90: answerable {:.2}/{:.2}/{:.2}, unanswerable {:.2}/{:.2}/{:.2} (gate at {:.2})",
            report.answerable_similarity[0],
            report.answerable_similarity[1],
            report.answerable_similarity[2],
            report.unanswerable_similarity[0],
            report.unanswerable_similarity[1],
            report.unanswerable_similarity[2],
            report.min_similarity
        );
    }
    Ok(ExitCode::SUCCESS)
}
