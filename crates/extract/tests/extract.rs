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

/// A file of the shared data (`relative` to it) through the worker with the default limits.
fn extract_shared(relative: &str) -> cairn_core::ExtractedDocument {
    extractor(Limits::default())
        .extract_blocking(&shared_data().join(relative))
        .unwrap_or_else(|f| panic!("{relative} failed: {f}"))
}

#[test]
fn a_long_pdf_keeps_its_pages() {
    let doc = extract_shared("docs/pdf/R-intro.pdf");
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
    let doc = extract_shared("pdfs-robustness/pdfjs-test__issue17215.pdf");
    assert!(doc.text.contains("Dummy PDF"), "{}", doc.text);
}

/// pdf-extract fails on every page of this PDF (a font in an encoding it does not know), and
/// the page holds too few marks for OCR; poppler reads its words.
#[test]
fn a_pdf_whose_every_page_defeats_pdf_extract_is_read_by_poppler() {
    let doc = extract_shared("pdfs-robustness/pdfjs-test__noembed-jis7.pdf");
    assert!(
        doc.text.contains("ABC") && doc.text.contains("123"),
        "{}",
        doc.text
    );
}

/// Pages 1, 21 and 22 of the CTeX FAQ carry a Type 3 font beside their CJK fonts, and
/// pdf-extract finds no words on them. Their text layer is read, not guessed by OCR.
#[test]
fn pages_whose_fonts_defeat_pdf_extract_keep_their_text_layer() {
    let doc = extract_shared("docs/pdf/ctex-faq.pdf");
    assert_eq!(doc.page_count(), 41);
    assert_eq!(doc.ocr_pages, Vec::<u32>::new(), "no page needs OCR");
    let page = |n: usize| &doc.text[doc.pages[n - 1].start..doc.pages[n - 1].end];
    assert!(page(1).contains("常见问题集"), "page 1 reads: {}", page(1));
    assert!(
        page(21).contains("xleftarrow"),
        "page 21 reads: {}",
        page(21)
    );
    assert!(
        page(22).contains("includegraphics"),
        "page 22 reads: {}",
        page(22)
    );
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
fn a_worker_that_floods_its_reply_is_stopped_at_the_cap() {
    // `yes` writes without end, as a runaway parser would: the reply is capped, not kept.
    let flood = IsolatedExtractor::new(
        WorkerCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "yes cairn".into(), "worker".into()],
        },
        Limits {
            timeout: Duration::from_secs(60),
            max_reply_bytes: 4 << 20,
            ..Limits::default()
        },
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("flood.pdf");
    std::fs::write(&file, b"%PDF-1.4").unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let failure = flood
        .extract_blocking(&file)
        .err()
        .unwrap_or_else(|| panic!("a flooding worker answered"));
    assert_eq!(failure.code, ErrorCode::TooLarge, "{failure}");
    assert!(failure.message.contains("larger than 4 MB"), "{failure}");
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
    let (progress, _reports) = futures::channel::mpsc::channel(1);
    let doc = extractor(Limits::default())
        .extract(&path, progress)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(doc.kind, DocumentKind::Markdown);
    assert!(!doc.sections.is_empty());
    assert!(doc.sections.iter().all(|s| !s.heading_path.is_empty()));
}

mod ocr {
    //! Scans read by Tesseract through the worker: image-only PDFs made from pages whose text
    //! layer is known, so that what OCR reads can be checked word by word.

    use super::*;
    use cairn_core::ports::ExtractProgress;
    use cairn_extract::scanned::{image_only_pdf, scan_page, GrayPage};
    use futures::StreamExt;
    use std::collections::HashSet;

    /// The words of a text, lowercased, letters and digits only.
    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 1)
            .map(str::to_lowercase)
            .collect()
    }

    /// Share of the words of `truth` that OCR found (each word counted as often as it occurs).
    fn recall(truth: &str, ocr: &str) -> f64 {
        let mut found: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for w in words(ocr) {
            *found.entry(w).or_default() += 1;
        }
        let truth = words(truth);
        let hits = truth
            .iter()
            .filter(|w| {
                found.get_mut(*w).is_some_and(|n| {
                    let had = *n > 0;
                    *n = n.saturating_sub(1);
                    had
                })
            })
            .count();
        hits as f64 / truth.len().max(1) as f64
    }

    fn page_text(doc: &cairn_core::ExtractedDocument, i: usize) -> &str {
        &doc.text[doc.pages[i].start..doc.pages[i].end]
    }

    /// Scans `pages` of a PDF at 150 dpi into an image-only PDF; returns it with the text layer
    /// of those pages.
    fn scanned_copy(
        source: &str,
        pages: &[u32],
        turn: bool,
    ) -> (tempfile::TempDir, PathBuf, Vec<String>) {
        let path = shared_data().join(source);
        let bytes = std::fs::read(&path).unwrap();
        let original = extractor(Limits::default())
            .extract_blocking(&path)
            .unwrap();
        let mut scans: Vec<GrayPage> = Vec::new();
        for &p in pages {
            let mut scan = scan_page(&bytes, p, 150).unwrap();
            if turn {
                // Upside down: the page fed into the scanner the wrong way round.
                scan.pixels.reverse();
            }
            scans.push(scan);
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("scan.pdf");
        std::fs::write(&out, image_only_pdf(&scans).unwrap()).unwrap();
        let truth = pages
            .iter()
            .map(|&p| page_text(&original, p as usize - 1).to_string())
            .collect();
        (dir, out, truth)
    }

    #[tokio::test]
    async fn a_scanned_pdf_is_read_page_by_page_with_progress() {
        let (_dir, scan, truth) = scanned_copy("docs/pdf/R-intro.pdf", &[20, 21], false);
        let (progress, reports) = futures::channel::mpsc::channel(16);
        let started = Instant::now();
        let doc = extractor(Limits::default())
            .extract(&scan, progress)
            .await
            .unwrap_or_else(|f| panic!("{f}"));
        let reports: Vec<ExtractProgress> = reports.collect().await;
        eprintln!(
            "2 pages recognised in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(doc.ocr_pages, [1, 2]);
        for (i, truth) in truth.iter().enumerate() {
            let r = recall(truth, page_text(&doc, i));
            assert!(
                r >= 0.95,
                "page {} word recall {r:.3}: {}",
                i + 1,
                page_text(&doc, i)
            );
        }
        assert!(page_text(&doc, 0).contains("Intrinsic attributes"));
        let mut seen: Vec<(u32, u32)> = reports.iter().map(|r| (r.page, r.pages)).collect();
        seen.sort_unstable();
        assert_eq!(seen, [(1, 2), (2, 2)], "one report per page");
    }

    #[test]
    fn an_upside_down_scan_comes_out_readable() {
        let (_dir, scan, truth) = scanned_copy("docs/pdf/R-intro.pdf", &[20], true);
        let doc = extractor(Limits::default())
            .extract_blocking(&scan)
            .unwrap();
        let r = recall(&truth[0], page_text(&doc, 0));
        assert!(r >= 0.9, "word recall {r:.3}: {}", page_text(&doc, 0));
    }

    #[test]
    fn a_german_scan_is_read_in_german() {
        let (_dir, scan, truth) = scanned_copy("docs/pdf/l2kurz.pdf", &[10], false);
        let doc = extractor(Limits::default())
            .with_ocr_languages(&["deu".to_string(), "eng".to_string()])
            .extract_blocking(&scan)
            .unwrap();
        let r = recall(&truth[0], page_text(&doc, 0));
        assert!(r >= 0.9, "word recall {r:.3}: {}", page_text(&doc, 0));
        let umlauts: HashSet<char> = page_text(&doc, 0)
            .chars()
            .filter(|c| "äöüß".contains(*c))
            .collect();
        assert!(
            !umlauts.is_empty(),
            "German letters are read: {}",
            page_text(&doc, 0)
        );
    }

    #[test]
    fn a_missing_ocr_language_is_a_clear_failure() {
        let (_dir, scan, _) = scanned_copy("docs/pdf/R-intro.pdf", &[20], false);
        let failure = extractor(Limits::default())
            .with_ocr_languages(&["xyz".to_string()])
            .extract_blocking(&scan)
            .unwrap_err();
        assert_eq!(failure.code, ErrorCode::OcrUnavailable, "{failure}");
        assert!(failure.message.contains("xyz"), "{failure}");
    }

    #[test]
    fn a_png_photo_of_a_page_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = shared_data().join("docs/pdf/R-intro.pdf");
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "150", "-f", "20", "-l", "20", "-singlefile"])
            .arg(&pdf)
            .arg(dir.path().join("page"))
            .status()
            .unwrap();
        assert!(status.success());
        let doc = extractor(Limits::default())
            .extract_blocking(&dir.path().join("page.png"))
            .unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(doc.kind, DocumentKind::Image);
        assert_eq!(doc.ocr_pages, [1]);
        assert!(doc.text.contains("Intrinsic attributes"), "{}", doc.text);
    }

    #[test]
    fn an_image_declaring_huge_dimensions_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&200_000u32.to_be_bytes());
        png.extend_from_slice(&200_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, png).unwrap();
        let started = Instant::now();
        let failure = extractor(Limits::default())
            .extract_blocking(&path)
            .unwrap_err();
        assert_eq!(failure.code, ErrorCode::TooLarge, "{failure}");
        assert!(failure.message.contains("200000×200000"), "{failure}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

/// A page of a 10-K as filers typeset it: a title, a units note, a header over three year
/// columns, rows of right-aligned figures under their labels, and prose around them. Written
/// with lopdf and Helvetica, text placed by position, the way statement PDFs are.
fn filing_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut content = String::new();
    let mut put = |x: f64, y: f64, text: &str| {
        content.push_str(&format!("BT /F1 9 Tf {x:.1} {y:.1} Td ({text}) Tj ET\n"));
    };
    // Right-aligned figures: Helvetica digits are 0.556 em wide, commas and spaces 0.278.
    let width = |t: &str| {
        t.chars()
            .map(|c| {
                if c.is_ascii_digit() || c == '$' {
                    0.556
                } else {
                    0.278
                }
            })
            .sum::<f64>()
            * 9.0
    };
    put(
        50.0,
        740.0,
        "Revenue grew in all segments, as the statement below shows.",
    );
    put(200.0, 700.0, "CONSOLIDATED STATEMENTS OF INCOME");
    put(50.0, 686.0, "(In Millions, Except Per Share Amounts)");
    put(420.0, 672.0, "Years Ended");
    let columns = [400.0, 470.0, 540.0];
    for (right, (date, year)) in columns.iter().zip([
        ("Dec 29,", "2018"),
        ("Dec 30,", "2017"),
        ("Dec 31,", "2016"),
    ]) {
        put(right - width(date) - 6.0, 660.0, date);
        put(right - width(year), 648.0, year);
    }
    let rows = [
        ("Net revenue", ["$ 70,848", "$ 62,761", "$ 59,387"]),
        ("Cost of sales", ["27,111", "23,663", "23,196"]),
        ("Gross margin", ["43,737", "39,098", "36,191"]),
        ("Research and development", ["13,543", "13,035", "12,740"]),
        ("Net income", ["$ 21,053", "$ 9,601", "$ 10,316"]),
    ];
    for (i, (label, figures)) in rows.iter().enumerate() {
        let y = 630.0 - 14.0 * i as f64;
        put(50.0, y, label);
        for (right, figure) in columns.iter().zip(figures) {
            put(right - width(figure), y, figure);
        }
    }
    put(50.0, 540.0, "See accompanying notes.");

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_financial_statement_keeps_each_figure_with_its_row_and_year() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-K.pdf");
    std::fs::write(&path, filing_pdf()).unwrap();
    let doc = extractor(Limits::default())
        .extract_blocking(&path)
        .unwrap();
    let text = &doc.text;
    for row in [
        "Net revenue | Years Ended Dec 29, 2018 = $ 70,848 | Years Ended Dec 30, 2017 = $ 62,761 \
         | Years Ended Dec 31, 2016 = $ 59,387",
        "Net income | Years Ended Dec 29, 2018 = $ 21,053 | Years Ended Dec 30, 2017 = $ 9,601 \
         | Years Ended Dec 31, 2016 = $ 10,316",
        "Research and development | Years Ended Dec 29, 2018 = 13,543 |",
    ] {
        assert!(text.contains(row), "{row}\n---\n{text}");
    }
    // The prose around the table reads as before.
    assert!(
        text.starts_with("Revenue grew in all segments, as the statement below shows."),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("See accompanying notes."),
        "{text}"
    );
    // The rows are a section under the statement's title, so chunks of them carry it.
    let section = doc
        .sections
        .iter()
        .find(|s| s.heading_path == ["CONSOLIDATED STATEMENTS OF INCOME"])
        .unwrap_or_else(|| panic!("{:?}", doc.sections));
    let rows = &text[section.start..section.end];
    assert!(
        rows.starts_with("Net revenue |") && rows.ends_with("$ 10,316"),
        "{rows}"
    );
}

#[test]
fn a_grid_of_figures_in_a_real_pdf_comes_out_row_by_row() {
    let path = shared_data().join("docs/pdf/issue-00369-excel.pdf");
    let doc = extractor(Limits::default())
        .extract_blocking(&path)
        .unwrap();
    assert!(
        doc.text.contains("1 | 2 | 3\n\n4 | 5 | 6\n\n7 | 8 | 9"),
        "{}",
        doc.text
    );
}
