//! `POST /v1/chat/completions`: a grounded answer from the library in the OpenAI shape,
//! streamed as server-sent events or whole, with its citations in a `cairn` object.

use crate::error::ApiError;
use crate::transcript::{Transcript, CHAT};
use crate::{Library, MODEL_NAME};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cairn_core::answer::{AskEvent, AskRequest};
use cairn_core::conversation::{AnswerOutcome, Citation};
use cairn_core::engine::AnswerPorts;
use cairn_core::generation::{ChatRole, StopReason};
use cairn_core::{Cancel, CancelHandle, DocumentId};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The longest answer a request may ask for.
const MAX_TOKENS: usize = 8192;

#[derive(Deserialize)]
struct CompletionRequest {
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: bool,
    max_tokens: Option<usize>,
    max_completion_tokens: Option<usize>,
    temperature: Option<f64>,
    /// Cairn's own options: which documents to answer from, how many passages.
    #[serde(default)]
    cairn: CairnOptions,
}

#[derive(Deserialize, Default)]
struct CairnOptions {
    #[serde(default)]
    documents: Vec<i64>,
    passages: Option<usize>,
}

#[derive(Deserialize)]
struct InMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl Content {
    fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// A request understood: the question, the turns before it, and how to answer.
struct Asked {
    turns: Vec<(ChatRole, String)>,
    request: AskRequest,
    stream: bool,
}

impl Asked {
    fn parse(body: &[u8], library: &Library) -> Result<Self, ApiError> {
        let completion: CompletionRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(format!("the body is not a chat completion request: {e}"))
        })?;
        // The system prompt is Cairn's own (answer from the passages, cite them); a client's
        // system message is not a question and is left out.
        let mut turns: Vec<(ChatRole, String)> = completion
            .messages
            .iter()
            .filter_map(|m| {
                let role = match m.role.as_str() {
                    "user" => ChatRole::User,
                    "assistant" => ChatRole::Assistant,
                    _ => return None,
                };
                Some((
                    role,
                    m.content.as_ref().map(Content::text).unwrap_or_default(),
                ))
            })
            .collect();
        let question = match turns.pop() {
            Some((ChatRole::User, text)) if !text.trim().is_empty() => text,
            _ => {
                return Err(ApiError::invalid(
                    "the last message must be the user's question (role `user`, with text)",
                ))
            }
        };
        let mut settings = library.settings.clone();
        if let Some(max) = completion.max_completion_tokens.or(completion.max_tokens) {
            if max == 0 || max > MAX_TOKENS {
                return Err(ApiError::invalid(format!(
                    "max_tokens must be between 1 and {MAX_TOKENS}"
                )));
            }
            settings.generation.max_tokens = max;
        }
        if let Some(temperature) = completion.temperature {
            if !(0.0..=2.0).contains(&temperature) {
                return Err(ApiError::invalid("temperature must be between 0 and 2"));
            }
            settings.generation.temperature = temperature;
        }
        if let Some(passages) = completion.cairn.passages {
            settings.passages = passages.clamp(1, 50);
        }
        let documents = &completion.cairn.documents;
        Ok(Asked {
            request: AskRequest {
                question,
                chat: (!turns.is_empty()).then_some(CHAT),
                documents: (!documents.is_empty())
                    .then(|| documents.iter().copied().map(DocumentId).collect()),
                settings,
            },
            turns,
            stream: completion.stream,
        })
    }
}

pub async fn completions(State(library): State<Arc<Library>>, body: Bytes) -> Response {
    let asked = match Asked::parse(&body, &library) {
        Ok(asked) => asked,
        Err(e) => return e.into_response(),
    };
    let ports = AnswerPorts {
        generator: Arc::clone(&library.generator),
        conversations: Arc::new(Transcript::new(asked.turns)),
    };
    let reply = Reply::new(library.generator.model_id());
    if asked.stream {
        return streamed(library, ports, asked.request, reply).into_response();
    }
    // A client that hangs up drops this future, and with it the generation.
    let mut ignore = |_: AskEvent| {};
    match library
        .engine
        .ask(&ports, asked.request, Cancel::never(), &mut ignore)
        .await
    {
        Ok(last) => Json(reply.whole(&last)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// What every chunk of one answer shares.
struct Reply {
    id: String,
    created: u64,
    generator: String,
}

impl Reply {
    fn new(generator: &str) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Reply {
            id: format!("chatcmpl-cairn-{:x}", now.as_nanos()),
            created: now.as_secs(),
            generator: generator.to_string(),
        }
    }

    /// The whole answer as one `chat.completion`.
    fn whole(&self, last: &AskEvent) -> Value {
        let end = End::of(last);
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": MODEL_NAME,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": end.text},
                "finish_reason": end.finish_reason,
            }],
            "usage": end.usage,
            "cairn": self.cairn(&end),
        })
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
    }

    /// The last chunk: no choices, the usage and Cairn's citations.
    fn closing(&self, end: &End) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": MODEL_NAME,
            "choices": [],
            "usage": end.usage,
            "cairn": self.cairn(end),
        })
    }

    fn cairn(&self, end: &End) -> Value {
        json!({
            "citations": end.citations.iter().map(citation).collect::<Vec<_>>(),
            "refused": end.refused,
            "searched": end.searched,
            "cancelled": end.cancelled,
            "generator": self.generator,
        })
    }
}

/// How an answer ended, from its last event.
struct End {
    text: String,
    finish_reason: &'static str,
    refused: bool,
    cancelled: bool,
    citations: Vec<Citation>,
    /// The documents searched in vain, for a refusal.
    searched: Vec<String>,
    usage: Value,
}

impl End {
    fn of(last: &AskEvent) -> Self {
        match last {
            AskEvent::Done {
                answer,
                outcome,
                stop,
                citations,
                timings,
                ..
            } => End {
                text: answer.clone(),
                finish_reason: if *stop == StopReason::Length {
                    "length"
                } else {
                    "stop"
                },
                refused: *outcome == AnswerOutcome::Refused,
                cancelled: *outcome == AnswerOutcome::Cancelled,
                citations: citations.clone(),
                searched: Vec::new(),
                usage: json!({
                    "prompt_tokens": timings.prompt_tokens,
                    "completion_tokens": timings.generated_tokens,
                    "total_tokens": timings.prompt_tokens + timings.generated_tokens,
                }),
            },
            AskEvent::Refused {
                message, searched, ..
            } => End {
                text: message.clone(),
                finish_reason: "stop",
                refused: true,
                cancelled: false,
                citations: Vec::new(),
                searched: searched.clone(),
                usage: json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
            },
            // The engine ends with one of the two above; anything else is an empty answer.
            _ => End {
                text: String::new(),
                finish_reason: "stop",
                refused: false,
                cancelled: false,
                citations: Vec::new(),
                searched: Vec::new(),
                usage: json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
            },
        }
    }
}

fn citation(c: &Citation) -> Value {
    json!({
        "n": c.n,
        "document": c.document_path,
        "title": c.document_title,
        "document_id": c.document_id,
        "page": c.page,
        "location": c.location(),
        "quote": c.quote,
        "verified": c.verified,
        "chunk_id": c.chunk_id,
        "quote_start": c.quote_start,
        "quote_end": c.quote_end,
    })
}

/// What the answering task hands the stream.
enum Out {
    Event(AskEvent),
    Failed(ApiError),
}

/// Cancels the answer when the stream is dropped: the client hung up.
struct HangUp(Option<CancelHandle>);

impl Drop for HangUp {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.cancel();
        }
    }
}

fn streamed(
    library: Arc<Library>,
    ports: AnswerPorts,
    request: AskRequest,
    reply: Reply,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::unbounded_channel::<Out>();
    let (handle, cancel) = Cancel::pair();
    tokio::spawn(async move {
        let events = tx.clone();
        let mut sink = move |event: AskEvent| {
            let _ = events.send(Out::Event(event));
        };
        if let Err(e) = library.engine.ask(&ports, request, cancel, &mut sink).await {
            let _ = tx.send(Out::Failed(e.into()));
        }
    });
    struct Flow {
        rx: mpsc::UnboundedReceiver<Out>,
        reply: Reply,
        pending: VecDeque<Value>,
        done: bool,
        _hang_up: HangUp,
    }
    let flow = Flow {
        rx,
        reply,
        pending: VecDeque::new(),
        done: false,
        _hang_up: HangUp(Some(handle)),
    };
    let stream = futures::stream::unfold(flow, |mut flow| async move {
        loop {
            if let Some(value) = flow.pending.pop_front() {
                return Some((Event::default().data(value.to_string()), flow));
            }
            if flow.done {
                return None;
            }
            match flow.rx.recv().await {
                Some(Out::Event(event)) => flow.pending.extend(chunks(&flow.reply, &event)),
                Some(Out::Failed(e)) => flow.pending.push_back(e.body()),
                None => {
                    flow.done = true;
                    return Some((Event::default().data("[DONE]"), flow));
                }
            }
        }
    });
    Sse::new(stream.map(Ok))
}

/// The chunks one event of the answer becomes.
fn chunks(reply: &Reply, event: &AskEvent) -> Vec<Value> {
    match event {
        AskEvent::Started { .. } => {
            vec![reply.chunk(json!({"role": "assistant", "content": ""}), None)]
        }
        AskEvent::Retrieved { .. } => Vec::new(),
        AskEvent::Token { text } => vec![reply.chunk(json!({"content": text}), None)],
        AskEvent::Refused { message, .. } => {
            let end = End::of(event);
            vec![
                reply.chunk(json!({"content": message}), None),
                reply.chunk(json!({}), Some(end.finish_reason)),
                reply.closing(&end),
            ]
        }
        AskEvent::Done { .. } => {
            let end = End::of(event);
            vec![
                reply.chunk(json!({}), Some(end.finish_reason)),
                reply.closing(&end),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parts_are_joined_and_non_text_parts_left_out() {
        let parsed: InMessage = serde_json::from_value(json!({
            "role": "user",
            "content": [
                {"type": "text", "text": "What does"},
                {"type": "image_url", "image_url": {"url": "x"}},
                {"type": "text", "text": "the DMCA say?"}
            ]
        }))
        .unwrap();
        assert_eq!(parsed.content.unwrap().text(), "What does\nthe DMCA say?");
    }

    #[test]
    fn a_refusal_is_a_normal_answer_marked_refused() {
        let reply = Reply::new("smollm2");
        let event = AskEvent::Refused {
            message: "The documents do not say.".into(),
            reason: cairn_core::answer::RefusalReason::NotRelevant,
            searched: vec!["a.pdf".into()],
            best_similarity: None,
            min_similarity: None,
            message_id: cairn_core::MessageId(2),
        };
        let body = reply.whole(&event);
        assert_eq!(
            body["choices"][0]["message"]["content"],
            "The documents do not say."
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert_eq!(body["cairn"]["refused"], true);
        assert_eq!(body["cairn"]["searched"], json!(["a.pdf"]));
        let streamed = chunks(&reply, &event);
        assert_eq!(streamed.len(), 3);
        assert_eq!(streamed[2]["choices"], json!([]));
        assert_eq!(streamed[2]["cairn"]["refused"], true);
    }
}
