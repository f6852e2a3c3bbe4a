//! Bytes → text with structure: pages for PDFs, slides and scans, heading paths for
//! Markdown, HTML, DOCX, ODT and EPUB, sections per sheet for spreadsheets.
//!
//! Parsers of hostile formats panic, loop and allocate without bound, so [`IsolatedExtractor`]
//! runs every extraction in a worker process with a time and memory limit; the in-process
//! [`extract_bytes`] is what that worker calls. Text recognition (OCR) of scans runs there
//! too, through Tesseract and poppler's commands.

mod archive;
mod builder;
mod csv;
mod docx;
mod epub;
mod error;
mod furniture;
mod html;
mod image;
mod isolate;
mod markdown;
mod marks;
mod mounts;
pub mod ocr;
mod odt;
mod pdf;
mod pdf_tables;
mod poppler_text;
mod pptx;
mod raster;
mod scan;
pub mod scanned;
mod sheet;
mod table;
mod text;
mod tool;
pub mod worker;
mod xml;

pub use error::ExtractError;
pub use isolate::{IsolatedExtractor, Limits, WorkerCommand};
pub use ocr::OcrRequest;
pub use scan::{
    extensions, is_ignored, kind_for_path, scan_paths, scan_paths_with, supported, Format,
    MountTable, FORMATS,
};

use cairn_core::{DocumentKind, ExtractedDocument};

/// Extracts a document of a known kind from its bytes, in this process, without OCR: scanned
/// pages stay empty and an image fails.
pub fn extract_bytes(kind: DocumentKind, bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    extract_with(kind, bytes, None)
}

/// Extracts a document of a known kind from its bytes, in this process, reading scanned
/// pages and images with OCR when `ocr` is given.
pub fn extract_with(
    kind: DocumentKind,
    bytes: &[u8],
    ocr: Option<&OcrRequest<'_>>,
) -> Result<ExtractedDocument, ExtractError> {
    match kind {
        DocumentKind::Pdf => pdf::extract(bytes, ocr),
        DocumentKind::Markdown => markdown::extract(&text::decode(bytes)?),
        DocumentKind::Text => text::extract(bytes),
        DocumentKind::Html => html::extract(&text::decode(bytes)?),
        DocumentKind::Docx => docx::extract(bytes),
        DocumentKind::Image => image::extract(bytes, ocr),
        DocumentKind::Pptx => pptx::extract(bytes),
        DocumentKind::Spreadsheet => sheet::extract(bytes),
        DocumentKind::Csv => csv::extract(bytes),
        DocumentKind::Epub => epub::extract(bytes),
        DocumentKind::Odt => odt::extract(bytes),
    }
}
