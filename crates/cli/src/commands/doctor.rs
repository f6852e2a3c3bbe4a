//! `cairn doctor`: do the catalog, the full-text index and the vector store agree?

use crate::app::{self, Paths};
use cairn_core::engine::{HealthReport, IndexCheck};
use cairn_core::ingest::IngestEvent;
use cairn_core::retrieval::language::language_name;
use cairn_core::retrieval::tuning::FusionTuning;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Repair what is found: finish interrupted documents, re-add drifted ones from the
    /// catalog, drop stray rows, rebuild a damaged index.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Output<'a> {
    unclean_shutdown: bool,
    recreated: &'a [String],
    health: &'a HealthReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    repair: Option<&'a cairn_core::engine::RepairReport>,
    /// How hybrid search fuses BM25 and vectors for this library, and the self-check behind
    /// it (`null` before the first tuning).
    search_tuning: Option<&'a FusionTuning>,
    /// Bilingual dictionaries through which questions in another language than the
    /// library's are searched by keyword.
    dictionaries: &'a [cairn_host::DictionaryFile],
}

/// Exit code 0 when the stores agree (after the repair, with `--repair`), 1 otherwise.
pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let embedder = app::load_embedder(&paths.embedder).await?;
    let opened = app::open_unchecked(&paths.data_dir, embedder).await?;
    let engine = &opened.engine;
    // A repair starts with the same check: it is run once either way.
    let (health, repair) = if args.repair {
        let report = engine.repair(&|_: &IngestEvent| {}).await?;
        opened.mark_recovered(&report);
        (report.before.clone(), Some(report))
    } else {
        (engine.check().await?, None)
    };
    let after = repair.as_ref().map_or(&health, |r| &r.after);
    let tuning = engine.fusion_tuning().await?;
    let dictionaries = cairn_host::dictionaries();
    if args.json {
        let output = Output {
            unclean_shutdown: opened.unclean_shutdown,
            recreated: &opened.recreated,
            health: &health,
            repair: repair.as_ref(),
            search_tuning: tuning.as_ref(),
            dictionaries: &dictionaries,
        };
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        if opened.unclean_shutdown {
            println!("the last Cairn process on this folder did not close it cleanly");
        }
        for note in &opened.recreated {
            println!("{note}");
        }
        print_health(&health);
        match &tuning {
            Some(t) => println!("search tuned for this library: {}", t.summary()),
            None => println!("search not tuned yet (balanced fusion): the next ingest tunes it"),
        }
        match tuning.as_ref().and_then(|t| t.gate.as_ref()) {
            Some(gate) => println!("{}", gate.summary()),
            None => println!(
                "relevance gate not calibrated yet: the next ingest, or the first question, does it"
            ),
        }
        print_dictionaries(&dictionaries);
        if let Some(repair) = &repair {
            println!("repair: {}", app::repair_summary(repair));
        } else if !health.healthy() {
            println!("run `cairn doctor --repair` to fix this");
        }
    }
    let ok = if args.repair {
        after.healthy()
    } else {
        health.consistent()
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_dictionaries(dictionaries: &[cairn_host::DictionaryFile]) {
    if dictionaries.is_empty() {
        println!(
            "no dictionaries: a question in another language than the library's is searched by meaning, and by keyword only as written"
        );
    }
    for d in dictionaries {
        println!(
            "dictionary {} → {}: questions in {} are searched by keyword in {} too ({})",
            d.from,
            d.to,
            language_name(&d.from),
            language_name(&d.to),
            d.index.display()
        );
    }
}

fn print_health(h: &HealthReport) {
    println!(
        "catalog: {} documents ({} indexed, {} failed, {} unfinished), {} indexed chunks{}",
        h.documents,
        h.indexed_documents,
        h.failed_documents,
        h.pending.len(),
        h.indexed_chunks,
        problems(&h.catalog_problems)
    );
    print_index("full-text", &h.text);
    print_index("vectors", &h.vectors);
    for p in &h.pending {
        println!("  unfinished ({}): {}", p.state.as_str(), p.path);
    }
    if h.consistent() {
        println!("the three stores agree");
    } else {
        println!(
            "drift: {} documents differ from the catalog, {} stray documents in the indexes",
            h.drifted.len(),
            h.strays.len()
        );
    }
}

fn print_index(name: &str, c: &IndexCheck) {
    println!(
        "{name}: {} rows, {} missing, {} orphaned, {} duplicated{}",
        c.rows,
        c.missing,
        c.orphans,
        c.duplicates,
        problems(&c.problems)
    );
}

fn problems(list: &[String]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!("; DAMAGED: {}", list.join("; "))
    }
}
