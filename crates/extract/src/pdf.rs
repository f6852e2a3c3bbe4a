//! PDF → pages of text with pdf-extract (over lopdf).
//!
//! Pages are extracted one by one so that one unreadable page costs that page, not the
//! document. Panics of the parser are caught here; loops and runaway memory are the worker
//! process's limits to stop.

use crate::builder::TextBuilder;
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use lopdf::Document;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let mut doc = guarded(|| Document::load_mem(bytes))
        .map_err(ExtractError::CorruptPdf)?
        .map_err(|e| load_error(&e))?;
    if doc.is_encrypted() {
        match guarded(|| doc.decrypt("")) {
            Ok(Ok(())) => {}
            Ok(Err(lopdf::Error::Decryption(
                lopdf::encryption::DecryptionError::IncorrectPassword,
            ))) => return Err(ExtractError::Encrypted),
            Ok(Err(e)) => return Err(ExtractError::Decryption(e.to_string())),
            Err(panic) => return Err(ExtractError::Decryption(panic)),
        }
    }
    let page_numbers: Vec<u32> =
        guarded(|| doc.get_pages().into_keys().collect()).map_err(ExtractError::CorruptPdf)?;
    if page_numbers.is_empty() {
        return Err(ExtractError::CorruptPdf("it has no pages".into()));
    }
    let mut builder = TextBuilder::new();
    let mut first_error = None;
    let mut read = 0;
    for (index, number) in page_numbers.iter().enumerate() {
        let text = guarded(|| {
            let mut out = String::new();
            {
                let mut sink = pdf_extract::PlainTextOutput::new(&mut out);
                pdf_extract::output_doc_page(&doc, &mut sink, *number)
            }
            .map(|()| out)
        });
        let text = match text {
            Ok(Ok(t)) => {
                read += 1;
                t
            }
            Ok(Err(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
                String::new()
            }
            Err(panic) => {
                first_error.get_or_insert(panic);
                String::new()
            }
        };
        // Viewers number pages from 1 in document order, whatever the page tree says.
        let printed = u32::try_from(index + 1).unwrap_or(u32::MAX);
        builder.page(printed, &clean(&text));
    }
    if read == 0 {
        return Err(ExtractError::NoReadablePage(
            first_error.unwrap_or_default(),
        ));
    }
    if let Some(e) = first_error {
        tracing::debug!(error = %e, read, total = page_numbers.len(), "some pdf pages unreadable");
    }
    Ok(builder.finish(DocumentKind::Pdf, info_title(&doc)))
}

fn load_error(e: &lopdf::Error) -> ExtractError {
    match e {
        lopdf::Error::Decryption(lopdf::encryption::DecryptionError::IncorrectPassword) => {
            ExtractError::Encrypted
        }
        lopdf::Error::Decryption(d) => ExtractError::Decryption(d.to_string()),
        other => ExtractError::CorruptPdf(other.to_string()),
    }
}

/// Runs parser code, turning a panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        format!("the PDF parser crashed: {message}")
    })
}

/// The document title from the Info dictionary, when it is plain text.
fn info_title(doc: &Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = doc.dereference(info).ok()?.1.as_dict().ok()?;
    let title = info.get(b"Title").ok()?;
    let title = lopdf::decode_text_string(title).ok()?;
    let title = title.trim();
    (!title.is_empty() && title.len() < 300).then(|| title.to_string())
}

/// Tidies pdf-extract's layout text: ligatures, trailing spaces, runs of blank lines, and
/// words hyphenated across a line break.
fn clean(text: &str) -> String {
    let text = text
        .replace('\u{fb01}', "fi")
        .replace('\u{fb02}', "fl")
        .replace('\u{fb00}', "ff")
        .replace('\u{fb03}', "ffi")
        .replace('\u{fb04}', "ffl")
        .replace('\u{0}', "");
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run == 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank_run = 0;
        if ends_with_split_word(&out) && line.trim_start().starts_with(char::is_lowercase) {
            out.pop();
            out.pop();
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.trim().to_string()
}

fn ends_with_split_word(out: &str) -> bool {
    let mut tail = out.chars().rev();
    tail.next() == Some('\n')
        && tail.next() == Some('-')
        && tail.next().is_some_and(char::is_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_joins_hyphenated_words_and_collapses_blank_lines() {
        let raw = "The exam-\nple text\n\n\n\nnext  \n\u{fb01}ne";
        assert_eq!(clean(raw), "The example text\n\nnext\nfine");
    }

    #[test]
    fn garbage_is_a_corrupt_pdf_not_a_panic() {
        let err = extract(b"%PDF-1.4 this is not really a pdf").err();
        assert!(matches!(err, Some(ExtractError::CorruptPdf(_))), "{err:?}");
    }
}
