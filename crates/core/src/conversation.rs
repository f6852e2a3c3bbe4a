//! Chats as they are kept: the questions, the answers and the citations of each answer.

use crate::document::PageUnit;
use crate::generation::ChatRole;
use crate::ids::{ChatId, ChunkId, DocumentId, MessageId};
use serde::{Deserialize, Serialize};

/// A chat in the list of chats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChatSummary {
    pub id: ChatId,
    pub title: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_ms: i64,
    /// Time of the newest message.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated_ms: i64,
    pub message_count: u32,
}

/// A message to append to a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    pub role: ChatRole,
    pub content: String,
    /// How an assistant message came about; `None` for the person's questions.
    pub outcome: Option<AnswerOutcome>,
    pub citations: Vec<Citation>,
    /// The model that wrote an answer.
    pub model: Option<String>,
    /// What the answer was made with: retrieval query, settings, budget, timings.
    pub details: Option<serde_json::Value>,
}

impl NewMessage {
    /// The message as a chat store keeps it, once it has its id and time.
    pub fn stored(&self, id: MessageId, chat_id: ChatId, created_ms: i64) -> StoredMessage {
        StoredMessage {
            id,
            chat_id,
            role: self.role,
            content: self.content.clone(),
            outcome: self.outcome,
            citations: self.citations.clone(),
            model: self.model.clone(),
            details: self.details.clone(),
            created_ms,
        }
    }
}

/// A message of a chat as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct StoredMessage {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub role: ChatRole,
    pub content: String,
    pub outcome: Option<AnswerOutcome>,
    pub citations: Vec<Citation>,
    pub model: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "unknown | null"))]
    pub details: Option<serde_json::Value>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_ms: i64,
}

/// A claim's source: the passage, where it is, and the sentence that supports the claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Citation {
    /// The source number used in the answer.
    pub n: usize,
    pub chunk_id: ChunkId,
    pub document_id: DocumentId,
    pub document_path: String,
    pub document_title: Option<String>,
    /// The page of the quoted sentence, for paged documents.
    pub page: Option<u32>,
    /// Whether `page` is a printed page or a slide.
    #[serde(default)]
    pub page_unit: PageUnit,
    pub heading_path: Vec<String>,
    /// Verbatim sentence(s) of the source that best support the claim.
    pub quote: String,
    /// UTF-8 byte offsets of the quote in the document's extracted text.
    pub quote_start: usize,
    pub quote_end: usize,
    /// The quote was found at those offsets of the stored extracted text.
    pub verified: bool,
    /// Cairn, not the model, tied this source to the answer: a sentence left uncited shares
    /// most of its content words with the quote.
    pub inferred: bool,
}

impl Citation {
    /// `p. 12`, `slide 3`, or the heading path where a document has no pages.
    pub fn location(&self) -> String {
        match self.page {
            Some(p) => self.page_unit.cite(p, p),
            None => self.heading_path.join(" › "),
        }
    }
}

/// How an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum AnswerOutcome {
    /// The model answered (it may still have said the sources do not tell).
    Answered,
    /// Nothing relevant was found; the model was not asked.
    Refused,
    /// Stopped by the person; the partial answer is kept.
    Cancelled,
}
