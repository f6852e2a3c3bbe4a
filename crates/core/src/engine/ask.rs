//! Asking: retrieve, gate on relevance, pack the context, stream the answer, resolve its
//! citations and keep the exchange in the chat.

use super::Engine;
use crate::answer::follow_up;
use crate::answer::{
    cite, is_relevant, pack_sources, AskEvent, AskRequest, AskSink, Packed, RefusalReason,
    RelevanceVerdict, SourceText, Timings,
};
use crate::cancel::Cancel;
use crate::conversation::AnswerOutcome;
use crate::conversation::{NewMessage, StoredMessage};
use crate::error::CoreError;
use crate::generation::{ChatRole, GenerationEvent, StopReason};
use crate::ids::{ChatId, DocumentId, MessageId};
use crate::ports::{Conversations, Generator};
use crate::retrieval::search::{SearchMode, SearchRequest};
use crate::DocumentState;
use futures::future::{select, Either};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// What answering needs beyond the engine's own ports: loaded later, since a model takes a
/// while to load and search works without one.
#[derive(Clone)]
pub struct AnswerPorts {
    pub generator: Arc<dyn Generator>,
    pub conversations: Arc<dyn Conversations>,
}

/// Longest chat title taken from the first question.
const TITLE_CHARS: usize = 80;

/// Re-tokenise the answer this often (in streamed pieces) to hold the token cap exactly.
const CAP_CHECK_EVERY: usize = 16;

impl Engine {
    /// Answers `request` from the documents, reporting progress to `sink`, and returns the
    /// final event (`Refused` or `Done`). `cancel` stops generation; the partial answer is
    /// kept, cited and stored.
    pub async fn ask(
        &self,
        models: &AnswerPorts,
        request: AskRequest,
        cancel: Cancel,
        sink: &mut dyn AskSink,
    ) -> Result<AskEvent, CoreError> {
        let question = request.question.trim().to_string();
        if question.is_empty() {
            return Err(CoreError::EmptyQuery);
        }
        let conversations = models.conversations.as_ref();
        let settings = &request.settings;
        let (chat_id, history) = self
            .open_chat(conversations, request.chat, &question)
            .await?;
        let history: Vec<(String, String)> = history
            .into_iter()
            .rev()
            .take(settings.history_turns)
            .rev()
            .collect();
        // A follow-up ("and in 2019?") is searched as the model rewrites it when the settings
        // ask for that, otherwise together with the question before it.
        let retrieval_query = match history.last() {
            Some((previous, _)) => {
                let rewritten = if settings.rewrite_follow_ups {
                    follow_up::rewrite_follow_up(
                        models.generator.as_ref(),
                        &history,
                        &question,
                        &cancel,
                    )
                    .await
                } else {
                    None
                };
                rewritten.unwrap_or_else(|| format!("{previous}\n{question}"))
            }
            None => question.clone(),
        };
        append(
            conversations,
            chat_id,
            NewMessage {
                role: ChatRole::User,
                content: question.clone(),
                outcome: None,
                citations: vec![],
                model: None,
                details: None,
            },
        )
        .await?;
        sink.event(AskEvent::Started {
            chat_id,
            retrieval_query: retrieval_query.clone(),
        });

        let started = Instant::now();
        let hits = self
            .search(&SearchRequest {
                query: retrieval_query.clone(),
                limit: settings.passages,
                mode: SearchMode::Hybrid,
                documents: request.documents.clone(),
            })
            .await?;
        let retrieval_ms = elapsed_ms(started);
        // Nothing found needs no threshold; without a calibration the library is empty.
        let min_similarity = if hits.is_empty() {
            f32::INFINITY
        } else {
            self.gate_threshold(&retrieval_query).await?
        };
        let verdict = is_relevant(&retrieval_query, &hits, &settings.relevance, min_similarity);
        tracing::debug!(
            hits = hits.len(),
            best_similarity = ?verdict.best_similarity,
            min_similarity = verdict.min_similarity,
            coverage = verdict.best_term_coverage,
            relevant = verdict.relevant,
            "ask.retrieved"
        );
        // The model is only called when a passage is relevant and fits its context.
        let packed = if verdict.relevant {
            let packed = pack_sources(
                models.generator.as_ref(),
                &question,
                hits,
                history,
                settings.generation.max_tokens,
            )
            .await
            .map_err(CoreError::Generator)?;
            if packed.sources.is_empty() {
                Err(RefusalReason::NoRoomForSources)
            } else {
                Ok(packed)
            }
        } else {
            Err(RefusalReason::NotRelevant)
        };
        let packed = match packed {
            Ok(packed) => packed,
            Err(reason) => {
                let refusal = Refusal {
                    reason,
                    verdict,
                    context_window: models.generator.context_window(),
                };
                return self
                    .refuse(conversations, chat_id, &request, refusal, sink)
                    .await;
            }
        };
        sink.event(AskEvent::Retrieved {
            sources: packed.sources.clone(),
            budget: packed.budget.clone(),
            retrieval_ms,
        });

        let generated =
            generate(models.generator.as_ref(), &packed, &request, &cancel, sink).await?;
        let mut timings = generated.timings;
        timings.retrieval_ms = retrieval_ms;
        let texts = self.source_texts(&packed).await?;
        let cited = cite(&generated.answer, &question, &packed.sources, &texts);
        let outcome = if generated.stop == StopReason::Cancelled {
            AnswerOutcome::Cancelled
        } else {
            AnswerOutcome::Answered
        };
        let details = serde_json::json!({
            "retrieval_query": retrieval_query,
            "settings": settings,
            "budget": packed.budget,
            "sources": packed.sources.iter().map(|s| serde_json::json!({
                "n": s.n,
                "chunk_id": s.hit.chunk.id,
                "document_path": s.hit.document_path,
            })).collect::<Vec<_>>(),
            "stop": generated.stop,
            "interruption": generated.interruption,
            "timings": timings,
        });
        let message_id = append(
            conversations,
            chat_id,
            NewMessage {
                role: ChatRole::Assistant,
                content: cited.answer.clone(),
                outcome: Some(outcome),
                citations: cited.citations.clone(),
                model: Some(models.generator.model_id().to_string()),
                details: Some(details),
            },
        )
        .await?;
        let done = AskEvent::Done {
            answer: cited.answer,
            outcome,
            stop: generated.stop,
            citations: cited.citations,
            uncited: cited.uncited,
            timings,
            interruption: generated.interruption,
            message_id,
        };
        sink.event(done.clone());
        Ok(done)
    }

    /// The chat to continue (with its question–answer pairs) or a new one.
    async fn open_chat(
        &self,
        conversations: &dyn Conversations,
        chat: Option<ChatId>,
        question: &str,
    ) -> Result<(ChatId, Vec<(String, String)>), CoreError> {
        let Some(id) = chat else {
            let title: String = question.chars().take(TITLE_CHARS).collect();
            let id = conversations
                .create_chat(&title)
                .await
                .map_err(CoreError::Conversations)?;
            return Ok((id, Vec::new()));
        };
        conversations
            .chat(id)
            .await
            .map_err(CoreError::Conversations)?
            .ok_or(CoreError::ChatNotFound(id))?;
        let messages = conversations
            .messages(id)
            .await
            .map_err(CoreError::Conversations)?;
        Ok((id, question_answer_pairs(&messages)))
    }

    async fn refuse(
        &self,
        conversations: &dyn Conversations,
        chat_id: ChatId,
        request: &AskRequest,
        refusal: Refusal,
        sink: &mut dyn AskSink,
    ) -> Result<AskEvent, CoreError> {
        let documents = self.documents().await?;
        let chosen = |id: &DocumentId| {
            request
                .documents
                .as_ref()
                .is_none_or(|only| only.contains(id))
        };
        let searched: Vec<String> = documents
            .iter()
            .filter(|d| d.state == DocumentState::Indexed && chosen(&d.id))
            .map(|d| crate::answer::source_name(&d.path).to_string())
            .collect();
        // An empty search has a cause of its own, whatever the gate said.
        let reason = if !searched.is_empty() {
            refusal.reason
        } else if request.documents.is_none() {
            RefusalReason::NothingIndexed
        } else if documents.iter().any(|d| chosen(&d.id)) {
            RefusalReason::ChosenNotIndexed
        } else {
            RefusalReason::UnknownDocuments
        };
        let message = refusal_message(reason, &searched, request, refusal.context_window);
        let best_similarity = refusal.verdict.best_similarity;
        let min_similarity = Some(refusal.verdict.min_similarity).filter(|m| m.is_finite());
        let message_id = append(
            conversations,
            chat_id,
            NewMessage {
                role: ChatRole::Assistant,
                content: message.clone(),
                outcome: Some(AnswerOutcome::Refused),
                citations: vec![],
                model: None,
                details: Some(serde_json::json!({
                    "settings": request.settings,
                    "reason": reason,
                    "verdict": refusal.verdict,
                    "searched": searched,
                })),
            },
        )
        .await?;
        let event = AskEvent::Refused {
            message,
            reason,
            searched,
            best_similarity,
            min_similarity,
            message_id,
        };
        sink.event(event.clone());
        Ok(event)
    }

    /// The stored extracted text of each document a source comes from.
    async fn source_texts(
        &self,
        packed: &Packed,
    ) -> Result<HashMap<DocumentId, SourceText>, CoreError> {
        let mut texts = HashMap::new();
        for source in &packed.sources {
            let id = source.hit.chunk.document_id;
            if texts.contains_key(&id) {
                continue;
            }
            if let Some(doc) = self
                .ports
                .catalog
                .extracted(id)
                .await
                .map_err(CoreError::Catalog)?
            {
                texts.insert(
                    id,
                    SourceText {
                        text: doc.text,
                        pages: doc.pages,
                        furniture: doc.furniture,
                    },
                );
            }
        }
        Ok(texts)
    }
}

/// Why an answer stops before the model, with the gate's evidence.
struct Refusal {
    reason: RefusalReason,
    verdict: RelevanceVerdict,
    context_window: usize,
}

/// What a refusal tells the person, in words that name its cause.
fn refusal_message(
    reason: RefusalReason,
    searched: &[String],
    request: &AskRequest,
    context_window: usize,
) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match reason {
        RefusalReason::NothingIndexed => {
            "No documents are indexed yet, so there is nothing to answer from. Add documents first."
                .to_string()
        }
        RefusalReason::UnknownDocuments => {
            let n = request.documents.as_ref().map_or(0, Vec::len);
            format!(
                "The question was limited to {n} document{} that the library does not hold (removed, or a wrong id), so nothing was searched.",
                plural(n)
            )
        }
        RefusalReason::ChosenNotIndexed => {
            "None of the documents the question was limited to is indexed yet (still in progress, or failed), so nothing was searched."
                .to_string()
        }
        RefusalReason::NotRelevant => format!(
            "Your documents do not seem to answer this: none of the {} searched document{} has a passage close enough to the question.",
            searched.len(),
            plural(searched.len())
        ),
        RefusalReason::NoRoomForSources => format!(
            "An answer of up to {} tokens leaves no room for a passage in the model's context of {context_window} tokens: ask for a shorter answer.",
            request.settings.generation.max_tokens
        ),
    }
}

/// What generation gave.
struct Generated {
    answer: String,
    stop: StopReason,
    timings: Timings,
    interruption: Option<String>,
}

async fn generate(
    generator: &dyn Generator,
    packed: &Packed,
    request: &AskRequest,
    cancel: &Cancel,
    sink: &mut dyn AskSink,
) -> Result<Generated, CoreError> {
    let params = request.settings.generation;
    let started = Instant::now();
    let mut stream = generator
        .generate(packed.messages.clone(), params)
        .await
        .map_err(CoreError::Generator)?;
    let mut answer = String::new();
    let mut pieces = 0usize;
    let mut first_token: Option<Instant> = None;
    let mut reported: Option<(usize, usize)> = None;
    let mut interruption: Option<String> = None;
    let stop = loop {
        // Checked first too: a model that always has a token ready must still stop.
        if cancel.is_cancelled() {
            break StopReason::Cancelled;
        }
        let next = select(stream.next(), Box::pin(cancel.cancelled())).await;
        let event = match next {
            Either::Right(((), _)) => break StopReason::Cancelled,
            Either::Left((None, _)) => break StopReason::EndOfAnswer,
            Either::Left((Some(Ok(event)), _)) => event,
            // Once the model has said something, a failure ends the answer there and keeps
            // what was said; before that, it is the ask's error.
            Either::Left((Some(Err(e)), _)) if !answer.is_empty() => {
                tracing::warn!(error = %e, "the model failed mid-answer; the answer so far is kept");
                interruption = Some(e.to_string());
                break StopReason::Interrupted;
            }
            Either::Left((Some(Err(e)), _)) => return Err(CoreError::Generator(e)),
        };
        match event {
            GenerationEvent::Token(text) => {
                first_token.get_or_insert_with(Instant::now);
                pieces += 1;
                answer.push_str(&text);
                sink.event(AskEvent::Token { text });
                // The cap holds whatever the model or its runtime does.
                let mut over = pieces >= params.max_tokens;
                if !over && pieces.is_multiple_of(CAP_CHECK_EVERY) {
                    let counted = generator
                        .count_tokens(&answer)
                        .await
                        .map_err(CoreError::Generator)?;
                    over = counted >= params.max_tokens;
                }
                if over {
                    break StopReason::Length;
                }
            }
            GenerationEvent::Finished {
                stop,
                prompt_tokens,
                generated_tokens,
            } => {
                reported = Some((prompt_tokens, generated_tokens));
                break stop;
            }
        }
    };
    // Dropping the stream stops the model.
    drop(stream);
    let finished = Instant::now();
    let (prompt_tokens, generated_tokens) =
        reported.unwrap_or((packed.budget.prompt_tokens, pieces));
    let ttft = first_token.map(|t| t.duration_since(started));
    let decode = first_token.map(|t| finished.duration_since(t));
    let timings = Timings {
        retrieval_ms: 0,
        time_to_first_token_ms: ttft.map(|d| d.as_millis() as u64),
        generation_ms: finished.duration_since(started).as_millis() as u64,
        prompt_tokens,
        generated_tokens,
        prompt_tokens_per_s: ttft
            .filter(|d| d.as_secs_f64() > 0.0)
            .map(|d| prompt_tokens as f64 / d.as_secs_f64()),
        decode_tokens_per_s: decode
            .filter(|d| d.as_secs_f64() > 0.0 && generated_tokens > 1)
            .map(|d| (generated_tokens - 1) as f64 / d.as_secs_f64()),
    };
    Ok(Generated {
        answer,
        stop,
        timings,
        interruption,
    })
}

async fn append(
    conversations: &dyn Conversations,
    chat: ChatId,
    message: NewMessage,
) -> Result<MessageId, CoreError> {
    conversations
        .append_message(chat, &message)
        .await
        .map_err(CoreError::Conversations)
}

/// Question–answer pairs of a chat, oldest first; refused and empty answers are left out.
fn question_answer_pairs(messages: &[StoredMessage]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut question: Option<&str> = None;
    for m in messages {
        match m.role {
            ChatRole::User => question = Some(&m.content),
            ChatRole::Assistant => {
                if let Some(q) = question.take() {
                    if m.outcome != Some(AnswerOutcome::Refused) && !m.content.trim().is_empty() {
                        pairs.push((q.to_string(), m.content.clone()));
                    }
                }
            }
            ChatRole::System => {}
        }
    }
    pairs
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Budget;
    use crate::error::PortError;
    use crate::generation::{ChatMessage, GenerationParams, GenerationStream};
    use crate::ports::PortResult;
    use async_trait::async_trait;

    /// A runaway model: ignores every length limit and never ends.
    struct Runaway;

    #[async_trait]
    impl Generator for Runaway {
        fn model_id(&self) -> &str {
            "runaway"
        }
        fn context_window(&self) -> usize {
            1000
        }
        async fn count_tokens(&self, text: &str) -> PortResult<usize> {
            Ok(text.split_whitespace().count())
        }
        async fn prompt_tokens(&self, _: &[ChatMessage]) -> PortResult<usize> {
            Ok(10)
        }
        async fn generate(
            &self,
            _: Vec<ChatMessage>,
            _: GenerationParams,
        ) -> PortResult<GenerationStream> {
            Ok(Box::pin(futures::stream::repeat_with(|| {
                Ok::<_, PortError>(GenerationEvent::Token("word ".into()))
            })))
        }
    }

    fn packed() -> Packed {
        Packed {
            sources: vec![],
            messages: vec![],
            budget: Budget {
                context_window: 1000,
                answer_tokens: 5,
                prompt_tokens: 10,
                source_tokens_available: 0,
                source_tokens_used: 0,
                history_turns_dropped: 0,
                dropped: vec![],
            },
        }
    }

    #[tokio::test]
    async fn the_answer_cap_holds_whatever_the_model_does() {
        let mut request = AskRequest::new("q");
        request.settings.generation.max_tokens = 5;
        let mut tokens = 0;
        let mut sink = |e: AskEvent| {
            if let AskEvent::Token { .. } = e {
                tokens += 1;
            }
        };
        let out = generate(&Runaway, &packed(), &request, &Cancel::never(), &mut sink)
            .await
            .unwrap();
        assert_eq!(out.stop, StopReason::Length);
        assert_eq!(out.answer.split_whitespace().count(), 5);
        assert_eq!(tokens, 5);
        assert_eq!(out.timings.generated_tokens, 5);
    }

    #[tokio::test]
    async fn cancelling_stops_generation_and_keeps_the_partial_answer() {
        let mut request = AskRequest::new("q");
        request.settings.generation.max_tokens = 1_000_000;
        let (handle, cancel) = Cancel::pair();
        let mut handle = Some(handle);
        let mut seen = 0;
        let mut sink = |e: AskEvent| {
            if let AskEvent::Token { .. } = e {
                seen += 1;
                if seen == 3 {
                    if let Some(h) = handle.take() {
                        h.cancel();
                    }
                }
            }
        };
        let out = generate(&Runaway, &packed(), &request, &cancel, &mut sink)
            .await
            .unwrap();
        assert_eq!(out.stop, StopReason::Cancelled);
        assert_eq!(out.answer.split_whitespace().count(), 3);
    }
}
