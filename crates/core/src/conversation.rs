//! Chats as they are kept: the questions, the answers and the citations of each answer.

use crate::answer::{AnswerOutcome, Citation};
use crate::ids::{ChatId, MessageId};
use crate::ports::ChatRole;
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
