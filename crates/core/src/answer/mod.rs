//! Grounded answers: the passages a question retrieves are numbered, packed into the model's
//! context, and every `[n]` of the answer is tied back to the passage, page and sentence it
//! came from.

mod budget;
mod citations;
pub mod follow_up;
mod prompt;
mod relevance;

pub use budget::{pack_sources, source_name, Budget, Dropped, Packed};
pub use citations::{cite, Cited, SourceText};
pub use prompt::{render_messages, PromptParts, PromptSource, REFUSAL};
pub use relevance::{is_relevant, RelevanceConfig, RelevanceVerdict};

use crate::conversation::{AnswerOutcome, Citation};
use crate::generation::{GenerationParams, StopReason};
use crate::ids::{ChatId, DocumentId, MessageId};
use crate::retrieval::search::SearchHit;
use serde::{Deserialize, Serialize};

/// A question to answer from the documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskRequest {
    pub question: String,
    /// Continue this chat; a new chat is started when `None`.
    pub chat: Option<ChatId>,
    /// Only use these documents when given.
    pub documents: Option<Vec<DocumentId>>,
    pub settings: AnswerSettings,
}

impl AskRequest {
    pub fn new(question: impl Into<String>) -> Self {
        AskRequest {
            question: question.into(),
            chat: None,
            documents: None,
            settings: AnswerSettings::default(),
        }
    }
}

/// The knobs of answering, kept with every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerSettings {
    /// Passages retrieved for the question (before the context budget).
    pub passages: usize,
    pub generation: GenerationParams,
    pub relevance: RelevanceConfig,
    /// Earlier question–answer pairs of the chat shown to the model.
    pub history_turns: usize,
    /// Have the model rewrite a follow-up into a question that stands alone before searching
    /// ([`follow_up`]); otherwise the previous question and the follow-up are searched together.
    #[serde(default)]
    pub rewrite_follow_ups: bool,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        AnswerSettings {
            passages: 8,
            generation: GenerationParams::default(),
            relevance: RelevanceConfig::default(),
            history_turns: 2,
            rewrite_follow_ups: false,
        }
    }
}

/// A numbered passage handed to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Source {
    /// The number the model cites it by, from 1.
    pub n: usize,
    pub hit: SearchHit,
    /// Tokens of the passage as the generator counts them.
    pub tokens: usize,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Timings {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retrieval_ms: u64,
    /// From the start of generation (after retrieval and packing) to the first token.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub time_to_first_token_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub generation_ms: u64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Prompt tokens per second until the first token.
    pub prompt_tokens_per_s: Option<f64>,
    /// Answer tokens per second after the first token.
    pub decode_tokens_per_s: Option<f64>,
}

/// Why Cairn answered without asking the model: each cause has its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum RefusalReason {
    /// No document of the library is indexed yet.
    NothingIndexed,
    /// The question was limited to documents the library does not hold.
    UnknownDocuments,
    /// The documents it was limited to are not indexed (yet, or they failed).
    ChosenNotIndexed,
    /// No passage is close enough to the question: the documents do not tell.
    NotRelevant,
    /// The answer length asked for leaves no room for a passage in the model's context.
    NoRoomForSources,
}

/// What an answer reports while it is made, in this order: `Started`, `Retrieved`, then
/// either `Refused` or any number of `Token`s and `Done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum AskEvent {
    Started {
        chat_id: ChatId,
        /// The query the indexes were searched with (the question, expanded by the chat).
        retrieval_query: String,
    },
    Retrieved {
        sources: Vec<Source>,
        budget: Budget,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retrieval_ms: u64,
    },
    Token {
        text: String,
    },
    Refused {
        message: String,
        /// Why the model was not asked.
        reason: RefusalReason,
        /// Names of the documents that were searched.
        searched: Vec<String>,
        best_similarity: Option<f32>,
        /// The similarity the relevance gate asked for (none when no search ran).
        min_similarity: Option<f32>,
        message_id: MessageId,
    },
    Done {
        answer: String,
        outcome: AnswerOutcome,
        stop: StopReason,
        citations: Vec<Citation>,
        /// Sources given to the model that the answer does not cite.
        uncited: Vec<usize>,
        timings: Timings,
        /// Why the model stopped mid-answer, when `stop` is `Interrupted`.
        interruption: Option<String>,
        message_id: MessageId,
    },
}

/// Receives the events of an answer as they happen.
pub trait AskSink: Send {
    fn event(&mut self, event: AskEvent);
}

impl<F: FnMut(AskEvent) + Send> AskSink for F {
    fn event(&mut self, event: AskEvent) {
        self(event)
    }
}
