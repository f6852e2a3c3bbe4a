//! Extraction of real documents through the isolated worker.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::ports::Extractor;
use cairn_core::{DocumentKind, ErrorCode};
use cairn_extract::{IsolatedExtractor, Limits, WorkerCommand};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn shared_data() -> PathBuf {
    std::env::var_os("SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

fn extractor(limits: Limits) -> IsolatedExtractor {
    IsolatedExtractor::new(
        WorkerCommand {
            program: PathBuf::from(env!("CARGO_BIN_EXE_cairn-extract-worker")),
            args: Vec::new(),
        },
        limits,
    )
}

#[test]
fn a_long_pdf_keeps_its_pages() {
    let path = shared_data().join("docs/pdf/R-intro.pdf");
    let doc = extractor(Limits::default())
        .extract_blocking(&path)
        .unwrap_or_else(|f| panic!("R-intro.pdf failed: {f}"));
    assert_eq!(doc.kind, DocumentKind::Pdf);
    assert_eq!(doc.page_count(), 113);
    let page = &doc.pages[19];
    assert_eq!(page.number, 20);
    let text = &doc.text[page.start..page.end];
    assert!(
        text.contains("Intrinsic attributes"),
        "page 20 reads: {}",
        &text[..text.len().min(300)]
    );
    let elsewhere = doc
        .pages
        .iter()
        .filter(|p| doc.text[p.start..p.end].contains("Intrinsic attributes: mode"))
        .count();
    assert!(elsewhere >= 1);
}

#[test]
fn a_pdf_encrypted_with_an_empty_password_is_opened() {
    let path = shared_data().join("pdfs-robustness/pdfjs-test__issue17215.pdf");
    let doc = extractor(Limits::default())
        .extract_blocking(&path)
        .unwrap_or_else(|f| panic!("issue17215 failed: {f}"));
    assert!(doc.text.contains("Dummy PDF"), "{}", doc.text);
}

#[test]
fn a_pdf_that_needs_a_password_says_so() {
    let path = shared_data().join("pdfs-robustness/pdfminer-samples__aes-256-r6.pdf");
    let failure = extractor(Limits::default())
        .extract_blocking(&path)
        .err()
        .unwrap_or_else(|| panic!("a password-protected PDF was read"));
    assert_eq!(failure.code, ErrorCode::Encrypted, "{failure}");
    assert!(failure.message.contains("password"));
}

#[test]
fn every_robustness_pdf_ends_indexed_or_failed_with_a_reason() {
    let dir = shared_data().join("pdfs-robustness");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 85, "the robustness set has 85 PDFs");
    let limits = Limits {
        timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let ex = extractor(limits);
    let (mut ok, mut failed) = (0, 0);
    for file in &files {
        match ex.extract_blocking(file) {
            Ok(doc) => {
                ok += 1;
                assert!(doc.page_count() > 0, "{} has no pages", file.display());
                for page in &doc.pages {
                    assert!(
                        doc.text.is_char_boundary(page.start)
                            && doc.text.is_char_boundary(page.end)
                    );
                }
            }
            Err(failure) => {
                failed += 1;
                assert!(
                    failure.message.len() > 10,
                    "{}: unclear reason {failure}",
                    file.display()
                );
            }
        }
    }
    eprintln!("robustness: {ok} extracted, {failed} failed with a reason");
    assert!(ok >= 60, "only {ok} of 85 extracted");
}

#[test]
fn a_hanging_worker_is_stopped_at_the_time_limit() {
    let hang = IsolatedExtractor::new(
        WorkerCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 30".into(), "worker".into()],
        },
        Limits {
            timeout: Duration::from_millis(500),
            ..Limits::default()
        },
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("slow.pdf");
    std::fs::write(&file, b"%PDF-1.4").unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let failure = hang
        .extract_blocking(&file)
        .err()
        .unwrap_or_else(|| panic!("a hanging worker answered"));
    assert_eq!(failure.code, ErrorCode::Timeout, "{failure}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_crashing_worker_costs_one_file() {
    let crash = IsolatedExtractor::new(
        WorkerCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "kill -SEGV $$".into()],
        },
        Limits::default(),
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("crash.pdf");
    std::fs::write(&file, b"%PDF-1.4").unwrap_or_else(|e| panic!("{e}"));
    let failure = crash
        .extract_blocking(&file)
        .err()
        .unwrap_or_else(|| panic!("a crashed worker answered"));
    assert_eq!(failure.code, ErrorCode::ExtractorCrashed, "{failure}");
}

#[test]
fn unsupported_and_missing_files_get_reasons() {
    let ex = extractor(Limits::default());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exe = dir.path().join("tool.exe");
    std::fs::write(&exe, b"MZ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ex.extract_blocking(&exe).err().map(|f| f.code),
        Some(ErrorCode::UnsupportedFile)
    );
    let missing = dir.path().join("gone.pdf");
    assert_eq!(
        ex.extract_blocking(&missing).err().map(|f| f.code),
        Some(ErrorCode::Unreadable)
    );
}

#[tokio::test]
async fn markdown_files_keep_heading_paths_through_the_worker() {
    let path = shared_data().join("squad-dev/docs/Nikola_Tesla.md");
    let doc = extractor(Limits::default())
        .extract(&path)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(doc.kind, DocumentKind::Markdown);
    assert!(!doc.sections.is_empty());
    assert!(doc.sections.iter().all(|s| !s.heading_path.is_empty()));
}
