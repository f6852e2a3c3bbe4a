//! OCR as ingest runs it (the isolated worker: poppler renders, Tesseract reads): scans made
//! from pages whose text layer is known, so that word recall can be measured, the pages per
//! second of recognition, and how many of the PDFs in a folder that have no text without OCR
//! come out with text.

use super::extraction::word_counts;
use crate::app;
use cairn_extract::scanned::{image_only_pdf, scan_page};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Pages to scan, as `FILE.pdf:FIRST-LAST`; each set is scanned into one image-only PDF.
    #[arg(long = "scan")]
    scans: Vec<String>,
    /// Resolution of the scans, in dpi.
    #[arg(long, default_value_t = 150)]
    dpi: u32,
    /// A folder of PDFs: how many have no text without OCR, and how many OCR gives text.
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Tesseract's languages, `+`-separated (default: the system language plus English).
    #[arg(long)]
    languages: Option<String>,
}

#[derive(Serialize)]
struct ScanRow {
    source: String,
    pages: u32,
    seconds: f64,
    pages_per_s: f64,
    /// Share of the text layer's words (with repeats) that OCR read, all pages pooled.
    word_recall: f64,
    /// The worst page's recall.
    worst_page_recall: f64,
}

#[derive(Serialize)]
struct FolderReport {
    files: usize,
    /// Files that end with no text (or no readable page) when OCR is off.
    textless_without_ocr: usize,
    /// Of those, the files that come out with text by OCR.
    with_text_by_ocr: usize,
    ocr_pages: u64,
    seconds: f64,
    still_failing: Vec<(String, String)>,
}

#[derive(Serialize)]
pub struct Report {
    dpi: u32,
    scans: Vec<ScanRow>,
    folder: Option<FolderReport>,
}

pub async fn run(args: Args) -> anyhow::Result<Report> {
    let mut extractor = app::extractor()?;
    if let Some(languages) = &args.languages {
        extractor = extractor.with_ocr_languages(&cairn_extract::ocr::parse_languages(languages));
    }
    let mut scans = Vec::new();
    for spec in &args.scans {
        let (file, range) = spec
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("{spec}: give pages as FILE.pdf:FIRST-LAST"))?;
        let (first, last) = range
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .ok_or_else(|| anyhow::anyhow!("{spec}: give pages as FILE.pdf:FIRST-LAST"))?;
        let path = PathBuf::from(file);
        let original = extractor
            .extract_blocking(&path)
            .map_err(|f| anyhow::anyhow!("{file}: {f}"))?;
        let bytes = std::fs::read(&path)?;
        let pages = (first..=last)
            .map(|p| scan_page(&bytes, p, args.dpi))
            .collect::<Result<Vec<_>, _>>()?;
        let dir = tempfile::tempdir()?;
        let scan = dir.path().join("scan.pdf");
        std::fs::write(&scan, image_only_pdf(&pages)?)?;
        let started = Instant::now();
        let read = extractor
            .extract_blocking(&scan)
            .map_err(|f| anyhow::anyhow!("the scan of {spec}: {f}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let (mut found, mut total, mut worst) = (0usize, 0usize, 1.0f64);
        for (i, p) in (first..=last).enumerate() {
            let span = |d: &cairn_core::ExtractedDocument, k: usize| {
                d.pages
                    .get(k)
                    .map_or("", |s| &d.text[s.start..s.end])
                    .to_string()
            };
            let truth = word_counts(&span(&original, p as usize - 1));
            let ocr = word_counts(&span(&read, i));
            let page_total: usize = truth.values().sum();
            let page_found: usize = truth
                .iter()
                .map(|(w, n)| (*n).min(ocr.get(w).copied().unwrap_or(0)))
                .sum();
            if page_total > 0 {
                worst = worst.min(page_found as f64 / page_total as f64);
            }
            found += page_found;
            total += page_total;
        }
        let n = last - first + 1;
        eprintln!(
            "ocr: {spec}: {n} pages in {seconds:.1} s, word recall {:.3}",
            found as f64 / total.max(1) as f64
        );
        scans.push(ScanRow {
            source: spec.clone(),
            pages: n,
            seconds,
            pages_per_s: f64::from(n) / seconds.max(1e-9),
            word_recall: found as f64 / total.max(1) as f64,
            worst_page_recall: worst,
        });
    }
    let folder = match &args.folder {
        Some(folder) => Some(folder_report(&extractor, folder)?),
        None => None,
    };
    Ok(Report {
        dpi: args.dpi,
        scans,
        folder,
    })
}

fn folder_report(
    extractor: &cairn_extract::IsolatedExtractor,
    folder: &std::path::Path,
) -> anyhow::Result<FolderReport> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    files.sort();
    let without = extractor.clone().without_ocr();
    let has_text = |d: &cairn_core::ExtractedDocument| d.has_text();
    let mut report = FolderReport {
        files: files.len(),
        textless_without_ocr: 0,
        with_text_by_ocr: 0,
        ocr_pages: 0,
        seconds: 0.0,
        still_failing: Vec::new(),
    };
    for file in &files {
        let textless = without
            .extract_blocking(file)
            .map_or(true, |d| !has_text(&d));
        if !textless {
            continue;
        }
        report.textless_without_ocr += 1;
        let started = Instant::now();
        let result = extractor.extract_blocking(file);
        report.seconds += started.elapsed().as_secs_f64();
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match result {
            Ok(d) if has_text(&d) => {
                report.with_text_by_ocr += 1;
                report.ocr_pages += d.ocr_pages.len() as u64;
                eprintln!("ocr: {name}: text from {} pages", d.ocr_pages.len());
            }
            Ok(_) => report
                .still_failing
                .push((name, "no text, even by OCR".into())),
            Err(f) => report.still_failing.push((name, f.to_string())),
        }
    }
    Ok(report)
}
