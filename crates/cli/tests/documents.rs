//! Scans and office files end to end: a scanned PDF is read by OCR and answered with a
//! citation to the right page; slides, sheets, CSV rows, ebook chapters and ODT paragraphs
//! written by the libraries such files come from are found by search, a slide by its number.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{shared_data, Cairn};

/// The Python that has python-pptx, openpyxl, EbookLib and odfpy (scripts/setup).
fn office_python() -> PathBuf {
    let python = support::cache().join("office-venv/bin/python");
    assert!(
        python.is_file(),
        "the office file writers are missing at {}: run scripts/setup",
        python.display()
    );
    python
}

fn office_files(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/office_files.py");
    let out = std::process::Command::new(office_python())
        .arg(script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
        .collect()
}

/// The words of a page of the R manual's own text layer, as poppler reads it.
fn original_page_words(page: u32) -> std::collections::HashSet<String> {
    let out = std::process::Command::new("pdftotext")
        .args(["-q", "-f", &page.to_string(), "-l", &page.to_string()])
        .arg(shared_data().join("docs/pdf/R-intro.pdf"))
        .arg("-")
        .output()
        .unwrap();
    words(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .collect()
}

fn search(cairn: &Cairn, query: &str) -> Vec<Value> {
    let hits = cairn.json(&["search", "--json", "-k", "3", query]);
    hits.as_array().unwrap().clone()
}

fn file_name(hit: &Value) -> String {
    Path::new(hit["document_path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn slides_sheets_csv_rows_chapters_and_odt_paragraphs_are_found() {
    let files = tempfile::tempdir().unwrap();
    office_files(files.path());
    let cairn = Cairn::new();
    let report = cairn.json(&["ingest", "--json", files.path().to_str().unwrap()]);
    assert_eq!(report["indexed"].as_array().unwrap().len(), 5, "{report}");
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");

    // The budget table is on slide 3; the search result names the slide.
    let hits = search(&cairn, "lighthouse lamp retrofit cost");
    let top = &hits[0];
    assert_eq!(file_name(top), "heron.pptx", "{hits:?}");
    assert_eq!(top["chunk"]["page_start"], 3, "{top}");
    assert_eq!(top["chunk"]["page_unit"], "slide", "{top}");
    assert!(
        top["chunk"]["text"]
            .as_str()
            .unwrap()
            .contains("48,000 euros"),
        "{top}"
    );
    let (ok, text, _) = cairn.run(&["search", "-k", "1", "lighthouse lamp retrofit cost"]);
    assert!(ok && text.contains("heron.pptx — slide 3"), "{text}");
    // Speaker notes are searchable, on their slide.
    let notes = &search(&cairn, "pilot starts in Lisbon in March")[0];
    assert_eq!(file_name(notes), "heron.pptx");
    assert_eq!(notes["chunk"]["page_start"], 2, "{notes}");

    // A sheet's row keeps its header names, under the sheet's name.
    let staff = &search(&cairn, "Who is the chief cartographer?")[0];
    assert_eq!(file_name(staff), "heron.xlsx", "{staff}");
    assert_eq!(staff["chunk"]["heading_path"][0], "Staff", "{staff}");
    assert!(
        staff["chunk"]["text"]
            .as_str()
            .unwrap()
            .contains("Name = Ingrid Halvorsen | Role = Chief Cartographer | Office = Tromsø"),
        "{staff}"
    );

    let csv = &search(&cairn, "Glaserei Albrecht Lübeck Betrag")[0];
    assert_eq!(file_name(csv), "lieferanten.csv", "{csv}");
    assert!(
        csv["chunk"]["text"]
            .as_str()
            .unwrap()
            .contains("Betrag = 1.250,50"),
        "{csv}"
    );

    let chapter = &search(&cairn, "whale oil during the storm")[0];
    assert_eq!(file_name(chapter), "keeper.epub", "{chapter}");
    assert_eq!(
        chapter["chunk"]["heading_path"][0], "The Storm",
        "{chapter}"
    );
    assert_eq!(
        chapter["document_title"], "The Lighthouse Keeper",
        "{chapter}"
    );

    let odt = &search(&cairn, "Linse des Leuchtturms poliert")[0];
    assert_eq!(file_name(odt), "wartung.odt", "{odt}");
}

#[test]
fn a_scanned_pdf_is_answered_with_a_citation_to_its_page() {
    // Pages 20–22 of the R manual, scanned at 150 dpi into a PDF without a text layer.
    let source = std::fs::read(shared_data().join("docs/pdf/R-intro.pdf")).unwrap();
    let pages: Vec<_> = [20, 21, 22]
        .iter()
        .map(|&p| cairn_extract::scanned::scan_page(&source, p, 150).unwrap())
        .collect();
    let files = tempfile::tempdir().unwrap();
    let scan = files.path().join("r-manual-scan.pdf");
    std::fs::write(
        &scan,
        cairn_extract::scanned::image_only_pdf(&pages).unwrap(),
    )
    .unwrap();

    let cairn = Cairn::new();
    let report = cairn.json(&["ingest", "--json", scan.to_str().unwrap()]);
    assert_eq!(report["indexed"].as_array().unwrap().len(), 1, "{report}");
    let (ok, docs, _) = cairn.run(&["docs"]);
    assert!(
        ok && docs.contains("3 pages") && docs.contains("text from OCR"),
        "{docs}"
    );

    // "Intrinsic attributes: mode and length" is on pages 20–21 of the manual, 1–2 here.
    let (ok, stdout, stderr) = cairn.run(&[
        "ask",
        "--json",
        "-k",
        "2",
        "--max-tokens",
        "64",
        "What are the intrinsic attributes of an object?",
    ]);
    assert!(ok, "{stderr}");
    let done: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "done")
        .unwrap_or_else(|| panic!("no answer: {stdout}"));
    let citations = done["citations"].as_array().unwrap();
    assert!(!citations.is_empty(), "the answer cites the scan: {done}");
    for c in citations {
        assert_eq!(c["verified"], true, "{c}");
        assert!(c["document_path"]
            .as_str()
            .unwrap()
            .ends_with("r-manual-scan.pdf"));
    }
    // Each citation's page is the scanned page its quote is on: the original PDF's page
    // (20, 21 or 22) holds the quoted words in its own text layer.
    for c in citations {
        let page = c["page"].as_u64().unwrap();
        assert!((1..=3).contains(&page), "{c}");
        let original = original_page_words(19 + page as u32);
        let quoted = words(c["quote"].as_str().unwrap());
        let found = quoted.iter().filter(|w| original.contains(*w)).count();
        assert!(
            found * 10 >= quoted.len() * 9,
            "the quote is on page {page} of the scan, page {} of the manual: {c}",
            19 + page
        );
    }
}
