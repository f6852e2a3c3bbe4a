//! PDF extraction against poppler's `pdftotext`, file by file, in the same run: pages per
//! second (Cairn's isolated worker process, as ingest runs it, against a `pdftotext`
//! process), and coverage: the share of `pdftotext`'s words (counted with repeats) that
//! Cairn's text also has.

use crate::app;
use cairn_core::ports::Extractor;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Folders (searched recursively) or files of PDFs.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// `pdftotext` runs longer than this are stopped and counted as failures.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

#[derive(Serialize)]
struct FileRow {
    file: String,
    cairn_pages: u32,
    cairn_s: f64,
    cairn_words: usize,
    /// Why Cairn did not index it (it is then `failed` with this reason).
    cairn_failure: Option<String>,
    pdftotext_pages: usize,
    pdftotext_s: f64,
    pdftotext_words: usize,
    pdftotext_failure: Option<String>,
    /// Share of pdftotext's words found in Cairn's text (when pdftotext found any).
    coverage: Option<f64>,
}

#[derive(Serialize)]
pub struct Report {
    files: Vec<FileRow>,
    cairn_pages: u64,
    cairn_seconds: f64,
    cairn_pages_per_s: f64,
    cairn_failed: usize,
    pdftotext_pages: u64,
    pdftotext_seconds: f64,
    pdftotext_pages_per_s: f64,
    pdftotext_failed: usize,
    /// Over files where both produced words: pdftotext's words found in Cairn's, all files
    /// pooled.
    pooled_coverage: Option<f64>,
    mean_coverage: Option<f64>,
}

pub async fn run(args: Args) -> anyhow::Result<Report> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect_pdfs(path, &mut files);
    }
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no PDF under the paths given");
    let extractor = app::extractor()?;
    let timeout = Duration::from_secs(args.timeout_s.max(1));
    let mut rows = Vec::new();
    for file in &files {
        let started = Instant::now();
        let (progress, _reports) = futures::channel::mpsc::channel(1);
        let cairn = extractor.extract(file, progress).await;
        let cairn_s = started.elapsed().as_secs_f64();
        let (cairn_text, cairn_pages, cairn_failure) = match cairn {
            Ok(doc) => {
                let pages = doc.page_count();
                (doc.text, pages, None)
            }
            Err(f) => (String::new(), 0, Some(f.message)),
        };
        let started = Instant::now();
        let peer = pdftotext(file, timeout).await;
        let pdftotext_s = started.elapsed().as_secs_f64();
        let (peer_text, pdftotext_failure) = match peer {
            Ok(text) => (text, None),
            Err(e) => (String::new(), Some(e)),
        };
        let ours = word_counts(&cairn_text);
        let theirs = word_counts(&peer_text);
        let their_total: usize = theirs.values().sum();
        let shared: usize = theirs
            .iter()
            .map(|(w, n)| (*n).min(ours.get(w).copied().unwrap_or(0)))
            .sum();
        let row = FileRow {
            file: file.display().to_string(),
            cairn_pages,
            cairn_s,
            cairn_words: ours.values().sum(),
            cairn_failure,
            // pdftotext ends every page with a form feed.
            pdftotext_pages: peer_text.matches('\u{c}').count(),
            pdftotext_s,
            pdftotext_words: their_total,
            pdftotext_failure,
            coverage: (their_total > 0).then(|| shared as f64 / their_total as f64),
        };
        eprintln!(
            "extraction: {:<60} cairn {:>4} p {:>7.2} s | pdftotext {:>4} p {:>7.2} s | coverage {}",
            file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            row.cairn_pages,
            row.cairn_s,
            row.pdftotext_pages,
            row.pdftotext_s,
            row.coverage.map_or("-".into(), |c| format!("{:.1}%", c * 100.0)),
        );
        rows.push((row, shared, their_total));
    }
    let cairn_pages: u64 = rows.iter().map(|(r, ..)| u64::from(r.cairn_pages)).sum();
    let cairn_seconds: f64 = rows.iter().map(|(r, ..)| r.cairn_s).sum();
    let pdftotext_pages: u64 = rows.iter().map(|(r, ..)| r.pdftotext_pages as u64).sum();
    let pdftotext_seconds: f64 = rows.iter().map(|(r, ..)| r.pdftotext_s).sum();
    let both: Vec<_> = rows
        .iter()
        .filter(|(r, _, total)| *total > 0 && r.cairn_failure.is_none())
        .collect();
    let pooled_shared: usize = both.iter().map(|(_, s, _)| s).sum();
    let pooled_total: usize = both.iter().map(|(_, _, t)| t).sum();
    let coverages: Vec<f64> = both.iter().filter_map(|(r, ..)| r.coverage).collect();
    Ok(Report {
        cairn_failed: rows
            .iter()
            .filter(|(r, ..)| r.cairn_failure.is_some())
            .count(),
        pdftotext_failed: rows
            .iter()
            .filter(|(r, ..)| r.pdftotext_failure.is_some())
            .count(),
        files: rows.into_iter().map(|(r, ..)| r).collect(),
        cairn_pages,
        cairn_seconds,
        cairn_pages_per_s: cairn_pages as f64 / cairn_seconds.max(1e-9),
        pdftotext_pages,
        pdftotext_seconds,
        pdftotext_pages_per_s: pdftotext_pages as f64 / pdftotext_seconds.max(1e-9),
        pooled_coverage: (pooled_total > 0).then(|| pooled_shared as f64 / pooled_total as f64),
        mean_coverage: (!coverages.is_empty())
            .then(|| coverages.iter().sum::<f64>() / coverages.len() as f64),
    })
}

fn collect_pdfs(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect_pdfs(&entry.path(), out);
            }
        }
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    {
        out.push(path.to_path_buf());
    }
}

/// `pdftotext FILE -` (UTF-8, reading order), stopped after `timeout`.
async fn pdftotext(file: &Path, timeout: Duration) -> Result<String, String> {
    let child = tokio::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-q"])
        .arg(file)
        .arg("-")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run pdftotext (poppler-utils): {e}"))?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => Err(format!("pdftotext ran over {} s", timeout.as_secs())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) if !out.status.success() => {
            Err(format!("pdftotext exited with {}", out.status))
        }
        Ok(Ok(out)) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
    }
}

/// Lower-case words (letters and digits) with their counts. Cairn joins hyphenated line
/// breaks and pdftotext may not, so words are compared, not raw text.
pub(super) fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::word_counts;

    #[test]
    fn words_are_counted_case_blind_without_punctuation() {
        let counts = word_counts("The cat, the HAT; 3 cats.");
        assert_eq!(counts.get("the"), Some(&2));
        assert_eq!(counts.get("3"), Some(&1));
        assert_eq!(counts.values().sum::<usize>(), 6);
    }
}
