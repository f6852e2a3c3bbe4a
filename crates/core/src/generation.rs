//! What a chat model is given and what it gives back: the turns of a conversation, how to
//! sample, and the stream of an answer. The [`Generator`](crate::ports::Generator) port speaks
//! these.

use crate::error::PortError;

/// Who speaks in a chat turn handed to the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One turn of the conversation the generator continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// How to sample an answer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenerationParams {
    /// Most tokens of the answer; the generator stops there whatever the model does.
    pub max_tokens: usize,
    /// 0 samples greedily (the default: answers from documents should not be creative).
    pub temperature: f64,
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            max_tokens: 512,
            temperature: 0.0,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum StopReason {
    /// The model ended its answer.
    EndOfAnswer,
    /// The answer reached `max_tokens`.
    Length,
    /// The caller cancelled.
    Cancelled,
    /// The model failed mid-answer (a served model stalled or its connection broke): what it
    /// said until then is kept, and the answer says why it ends there.
    Interrupted,
}

/// What a running generation reports.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    /// The next piece of the answer.
    Token(String),
    /// Generation ended; no event follows.
    Finished {
        stop: StopReason,
        prompt_tokens: usize,
        generated_tokens: usize,
    },
}

/// A running generation. Dropping it stops the model.
pub type GenerationStream = futures::stream::BoxStream<'static, Result<GenerationEvent, PortError>>;
