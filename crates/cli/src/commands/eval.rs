//! `cairn eval retrieval`: nDCG@10, Recall@100 and MRR@10 of BM25, vectors, balanced hybrid
//! (equal-weight RRF) and adaptive hybrid (the fusion the library's self-check picks) on a
//! BEIR-format dataset.

use crate::app::{self, Paths};
use anyhow::Context;
use cairn_core::eval::{Judgements, RetrievalMetrics};
use cairn_core::ingest::{IngestEvent, InlineDocument};
use cairn_core::retrieval::fusion::FusionConfig;
use cairn_core::{DocumentKind, ExtractedDocument, SearchMode, SearchRequest, SectionSpan};
use indicatif::ProgressBar;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const KEY_PREFIX: &str = "beir:";

#[derive(clap::Subcommand)]
pub enum EvalCommand {
    /// Index a BEIR dataset and score the retrievers on its judged queries.
    Retrieval(RetrievalArgs),
    /// Score the relevance gate that refuses questions the documents do not answer.
    Refusal(super::eval_refusal::RefusalArgs),
}

#[derive(clap::Args)]
pub struct RetrievalArgs {
    /// corpus.jsonl with `_id`, `title`, `text`.
    #[arg(long)]
    corpus: PathBuf,
    /// queries.jsonl with `_id`, `text`.
    #[arg(long)]
    queries: PathBuf,
    /// qrels TSV: `query-id corpus-id score`.
    #[arg(long)]
    qrels: PathBuf,
    /// Keep the index here to reuse it (default: a temporary folder).
    #[arg(long)]
    index_dir: Option<PathBuf>,
    /// Score only the first N judged queries.
    #[arg(long)]
    max_queries: Option<usize>,
    /// Print one JSON object keyed by retriever.
    #[arg(long)]
    json: bool,
    /// Also score every fusion setting the self-check tries on the judged queries (stderr)
    #[arg(long)]
    grid: bool,
}

#[derive(Deserialize)]
struct CorpusRecord {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Deserialize)]
pub(crate) struct QueryRecord {
    #[serde(rename = "_id")]
    pub id: String,
    pub text: String,
}

pub async fn run(paths: &Paths, command: EvalCommand) -> anyhow::Result<ExitCode> {
    let args = match command {
        EvalCommand::Retrieval(args) => args,
        EvalCommand::Refusal(args) => return super::eval_refusal::run(paths, args).await,
    };
    let qrels = read_qrels(&args.qrels)?;
    let mut queries: Vec<QueryRecord> = read_jsonl::<QueryRecord>(&args.queries)?
        .into_iter()
        .filter(|q| qrels.contains_key(&q.id))
        .collect();
    queries.truncate(args.max_queries.unwrap_or(usize::MAX));
    anyhow::ensure!(
        !queries.is_empty(),
        "no query of {} has judgements",
        args.queries.display()
    );

    let (index_dir, _temp) = app::folder_or_temp(args.index_dir.as_deref())?;
    let embedder = app::load_embedder(&paths.embedder).await?;
    let engine = app::open_engine(&index_dir, embedder).await?;

    let documents = corpus_documents(&args.corpus)?;
    eprintln!("indexing {} documents…", documents.len());
    let bar = ProgressBar::new(documents.len() as u64);
    let observer = |e: &IngestEvent| {
        if let IngestEvent::File { .. } = e {
            bar.inc(1);
        }
    };
    let started = std::time::Instant::now();
    let report = engine.ingest_documents(documents, &observer).await?;
    bar.finish_and_clear();
    eprintln!(
        "indexed {}, unchanged {}, failed {} in {:.1} s; scoring {} queries…",
        report.indexed.len(),
        report.unchanged.len(),
        report.failed.len(),
        started.elapsed().as_secs_f64(),
        queries.len()
    );

    // Today's balanced fusion first, then the fusion the library's self-check picks.
    engine.set_fusion(FusionConfig::default());
    let modes = [
        ("bm25", SearchMode::Bm25),
        ("vector", SearchMode::Vector),
        ("hybrid", SearchMode::Hybrid),
    ];
    let mut runs: BTreeMap<&str, Vec<(Vec<String>, &Judgements)>> = BTreeMap::new();
    score_queries(&engine, &queries, &qrels, &modes, &mut runs).await?;
    let tuned = engine.tune_fusion().await?;
    eprintln!("search tuned for this library: {}", tuned.summary());
    score_queries(
        &engine,
        &queries,
        &qrels,
        &[("adaptive", SearchMode::Hybrid)],
        &mut runs,
    )
    .await?;
    if args.grid {
        for config in cairn_core::retrieval::tuning::grid() {
            engine.set_fusion(config);
            let mut one = BTreeMap::new();
            score_queries(
                &engine,
                &queries,
                &qrels,
                &[("grid", SearchMode::Hybrid)],
                &mut one,
            )
            .await?;
            let m = RetrievalMetrics::mean(
                one["grid"]
                    .iter()
                    .map(|(ranked, j)| (ranked.as_slice(), *j)),
            );
            eprintln!(
                "setting {:?} BM25 {:.1}: nDCG@10 {:.4}",
                config.method,
                config.bm25_share(),
                m.ndcg_at_10
            );
        }
        engine.set_fusion(tuned.fusion);
    }
    let metrics: BTreeMap<&str, RetrievalMetrics> = runs
        .iter()
        .map(|(name, r)| {
            (
                *name,
                RetrievalMetrics::mean(r.iter().map(|(ranked, j)| (ranked.as_slice(), *j))),
            )
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else {
        println!(
            "{:<8} {:>9} {:>11} {:>8} {:>8}",
            "", "nDCG@10", "Recall@100", "MRR@10", "queries"
        );
        for name in ["bm25", "vector", "hybrid", "adaptive"] {
            if let Some(m) = metrics.get(name) {
                println!(
                    "{name:<8} {:>9.4} {:>11.4} {:>8.4} {:>8}",
                    m.ndcg_at_10, m.recall_at_100, m.mrr_at_10, m.queries
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs every query in each mode and keeps the ranked documents under the mode's name.
async fn score_queries<'q>(
    engine: &cairn_core::Engine,
    queries: &[QueryRecord],
    qrels: &'q HashMap<String, Judgements>,
    modes: &[(&'static str, SearchMode)],
    runs: &mut BTreeMap<&'static str, Vec<(Vec<String>, &'q Judgements)>>,
) -> anyhow::Result<()> {
    let bar = ProgressBar::new(queries.len() as u64);
    for query in queries {
        let judged = qrels.get(&query.id).context("judged query vanished")?;
        for &(name, mode) in modes {
            let request = SearchRequest {
                query: query.text.clone(),
                limit: 300,
                mode,
                documents: None,
            };
            let hits = engine.search(&request).await?;
            runs.entry(name)
                .or_default()
                .push((rank_documents(&hits), judged));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Documents in the order of their best chunk.
fn rank_documents(hits: &[cairn_core::SearchHit]) -> Vec<String> {
    let mut seen = HashSet::new();
    hits.iter()
        .filter_map(|h| h.document_path.strip_prefix(KEY_PREFIX))
        .filter(|key| seen.insert(key.to_string()))
        .map(str::to_string)
        .collect()
}

pub(crate) fn corpus_documents(path: &Path) -> anyhow::Result<Vec<InlineDocument>> {
    Ok(read_jsonl::<CorpusRecord>(path)?
        .into_iter()
        .map(|r| {
            let title = r.title.trim().to_string();
            let sections = if title.is_empty() {
                Vec::new()
            } else {
                vec![SectionSpan {
                    heading_path: vec![title.clone()],
                    start: 0,
                    end: r.text.len(),
                }]
            };
            InlineDocument {
                key: format!("{KEY_PREFIX}{}", r.id),
                document: ExtractedDocument {
                    sections,
                    ..ExtractedDocument::plain(
                        DocumentKind::Text,
                        (!title.is_empty()).then_some(title),
                        r.text,
                    )
                },
            }
        })
        .collect())
}

pub(crate) fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).with_context(|| {
                format!("{} line {}: not a valid record", path.display(), n + 1)
            })?,
        );
    }
    Ok(out)
}

fn read_qrels(path: &Path) -> anyhow::Result<HashMap<String, Judgements>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut qrels: HashMap<String, Judgements> = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [query, doc, score] = fields.as_slice() else {
            continue;
        };
        // The header line has a non-numeric score.
        let Ok(score) = score.parse::<u32>() else {
            continue;
        };
        qrels
            .entry((*query).to_string())
            .or_default()
            .insert((*doc).to_string(), score);
    }
    anyhow::ensure!(!qrels.is_empty(), "no judgements in {}", path.display());
    Ok(qrels)
}
