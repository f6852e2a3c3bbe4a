//! A quoted passage in its surroundings, for a reader checking a citation.

use super::Engine;
use crate::chunk::Chunk;
use crate::error::CoreError;
use crate::ids::{ChunkId, DocumentId};
use serde::{Deserialize, Serialize};

/// A quote with the text around it, cut at whitespace, and the page it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Passage {
    pub document_id: DocumentId,
    pub document_path: String,
    pub document_title: Option<String>,
    /// The page the quote starts on, for paged documents.
    pub page: Option<u32>,
    pub before: String,
    pub quote: String,
    pub after: String,
}

impl Engine {
    /// A passage that search returned (by its chunk id), with up to `context` bytes of its
    /// document either side: for a reader, or a tool, that wants more than the passage.
    pub async fn chunk_passage(
        &self,
        id: &ChunkId,
        context: usize,
    ) -> Result<(Chunk, Passage), CoreError> {
        let chunk = self
            .ports
            .catalog
            .chunks(std::slice::from_ref(id))
            .await
            .map_err(CoreError::Catalog)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                CoreError::InvalidRequest(format!(
                    "no passage has the id {}: its document may have changed or been removed \
                     since it was found; search again",
                    id.0
                ))
            })?;
        let passage = self
            .passage(chunk.document_id, chunk.start, chunk.end, context)
            .await?;
        Ok((chunk, passage))
    }

    /// The bytes `start..end` of a document's extracted text with up to `context` bytes
    /// either side. Offsets are those of a [`crate::conversation::Citation`].
    pub async fn passage(
        &self,
        id: DocumentId,
        start: usize,
        end: usize,
        context: usize,
    ) -> Result<Passage, CoreError> {
        let record = self.document(id).await?;
        let doc = self
            .ports
            .catalog
            .extracted(id)
            .await
            .map_err(CoreError::Catalog)?
            .ok_or(CoreError::DocumentNotFound(id))?;
        let text = doc.text.as_str();
        let (start, end) = quote_bounds(text, start, end).ok_or_else(|| {
            CoreError::InvalidRequest(format!(
                "the passage {start}..{end} is not inside document {id} (its text has {} bytes); \
                 it may have changed since the answer was given",
                text.len()
            ))
        })?;
        let from = context_start(text, start, context);
        let to = context_end(text, end, context);
        let page = doc
            .pages
            .iter()
            .find(|p| p.start <= start && start < p.end.max(p.start + 1))
            .map(|p| p.number);
        Ok(Passage {
            document_id: id,
            document_path: record.path,
            document_title: record.title,
            page,
            before: text[from..start].to_string(),
            quote: text[start..end].to_string(),
            after: text[end..to].to_string(),
        })
    }
}

/// `start..end` when it is a non-empty range on character boundaries of `text`.
fn quote_bounds(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    (start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end))
        .then_some((start, end))
}

/// Where the context before `start` begins: about `context` bytes back, at a whitespace.
fn context_start(text: &str, start: usize, context: usize) -> usize {
    let mut from = start.saturating_sub(context);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    if from == 0 {
        return 0;
    }
    match text[from..start].find(char::is_whitespace) {
        Some(i) => from + i + 1,
        None => from,
    }
}

/// Where the context after `end` stops: about `context` bytes on, at a whitespace.
fn context_end(text: &str, end: usize, context: usize) -> usize {
    let mut to = (end + context).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    if to == text.len() {
        return to;
    }
    match text[end..to].rfind(char::is_whitespace) {
        Some(i) => end + i,
        None => to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_cut_at_whitespace_and_char_boundaries() {
        let text = "Alpha beta gamma. Die Brücke ist alt. Delta epsilon zeta.";
        let start = text.find("Die").unwrap_or(0);
        let end = text.find("alt.").map(|i| i + 4).unwrap_or(0);
        let from = context_start(text, start, 9);
        let to = context_end(text, end, 9);
        assert_eq!(&text[from..start], "gamma. ");
        assert_eq!(&text[end..to], " Delta");
        assert_eq!(context_start(text, start, 1000), 0);
        assert_eq!(context_end(text, end, 1000), text.len());
        // Inside a multi-byte character, the cut moves to a boundary.
        let u = text.find('ü').unwrap_or(0);
        assert!(text.is_char_boundary(context_start(text, u + 3, 2)));
    }

    #[test]
    fn ranges_outside_the_text_are_refused() {
        assert_eq!(quote_bounds("abc", 0, 3), Some((0, 3)));
        assert_eq!(quote_bounds("abc", 2, 2), None);
        assert_eq!(quote_bounds("abc", 1, 9), None);
        assert_eq!(quote_bounds("ü", 1, 2), None);
    }
}
