//! Poppler's `pdftotext` as a second reader of a PDF's text layer.
//!
//! Some fonts defeat pdf-extract (a Type 3 font on the page, some CID TrueType subsets): it
//! returns a page with no words although the page has a text layer. Poppler reads those
//! layers. Reading them costs milliseconds where OCR costs seconds a page, and gives the real
//! characters where OCR, in a script whose model is not installed, gives noise.

use crate::tool::{self, ToolError};
use std::ops::RangeInclusive;
use std::process::Command;
use std::time::Duration;

/// A text layer that takes longer than this is left to OCR.
const READ_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub(crate) enum PopplerTextError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("pdftotext failed ({0})")]
    Failed(std::process::ExitStatus),
    #[error("pdftotext returned {got} pages where {wanted} were asked for")]
    PageCount { got: usize, wanted: usize },
}

/// The text of `pages` (numbered from 1 in document order), one string per page.
pub(crate) fn read_pages(
    pdf: &[u8],
    pages: RangeInclusive<u32>,
) -> Result<Vec<String>, PopplerTextError> {
    let wanted = pages.clone().count();
    let mut cmd = Command::new("pdftotext");
    cmd.args(["-q", "-enc", "UTF-8"])
        .args(["-f", &pages.start().to_string()])
        .args(["-l", &pages.end().to_string()])
        // The PDF comes on stdin and the text goes to stdout: nothing is written to disk.
        .args(["-", "-"]);
    let ran = tool::run(cmd, Some(pdf.to_vec()), READ_LIMIT)?;
    if !ran.status.success() {
        return Err(PopplerTextError::Failed(ran.status));
    }
    split_pages(&String::from_utf8_lossy(&ran.stdout), wanted)
}

/// pdftotext ends every page with a form feed. A document whose page tree poppler counts
/// differently from lopdf gives another number of pages, and its text cannot be placed.
fn split_pages(text: &str, wanted: usize) -> Result<Vec<String>, PopplerTextError> {
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    if pages.len() != wanted {
        return Err(PopplerTextError::PageCount {
            got: pages.len(),
            wanted,
        });
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_form_feed_ends_a_page_and_empty_pages_keep_their_place() {
        let pages = split_pages("one\n\u{c}\u{c}three\n\u{c}", 3).unwrap();
        assert_eq!(pages, ["one\n", "", "three\n"]);
    }

    #[test]
    fn another_page_count_is_refused() {
        assert!(matches!(
            split_pages("one\n\u{c}", 2),
            Err(PopplerTextError::PageCount { got: 1, wanted: 2 })
        ));
    }
}
