//! Packing retrieved passages into the model's context window, counted in the model's own
//! tokens, with room left for the answer. What does not fit is reported, never cut silently.

use super::prompt::{render_messages, PromptParts, PromptSource};
use super::Source;
use crate::error::{ErrorCode, PortError};
use crate::generation::ChatMessage;
use crate::ids::ChunkId;
use crate::ports::{Generator, PortResult};
use crate::retrieval::search::SearchHit;
use serde::{Deserialize, Serialize};

/// How the context window was spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Budget {
    pub context_window: usize,
    /// Tokens kept free for the answer.
    pub answer_tokens: usize,
    /// Tokens of the whole prompt as sent (template, rules, history, sources, question).
    pub prompt_tokens: usize,
    /// Tokens the prompt had for sources after rules, history and question.
    pub source_tokens_available: usize,
    pub source_tokens_used: usize,
    /// Earlier turns of the chat left out to make room.
    pub history_turns_dropped: usize,
    pub dropped: Vec<Dropped>,
}

/// A retrieved passage that was not given to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Dropped {
    pub chunk_id: ChunkId,
    pub document_path: String,
    pub tokens: usize,
    pub reason: String,
}

/// The outcome of packing: the numbered sources, the messages to send, and the budget.
#[derive(Debug, Clone)]
pub struct Packed {
    pub sources: Vec<Source>,
    pub messages: Vec<ChatMessage>,
    pub budget: Budget,
}

/// A passage's display name: its file name.
pub fn source_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn prompt_source(n: usize, hit: &SearchHit) -> PromptSource<'_> {
    PromptSource {
        n,
        name: source_name(&hit.document_path),
        location: hit.chunk.location(),
        text: &hit.chunk.text,
    }
}

fn parts<'a>(
    question: &'a str,
    chosen: &'a [(SearchHit, usize)],
    history: &'a [(String, String)],
) -> PromptParts<'a> {
    PromptParts {
        question,
        sources: chosen
            .iter()
            .enumerate()
            .map(|(i, (hit, _))| prompt_source(i + 1, hit))
            .collect(),
        history: history
            .iter()
            .map(|(q, a)| (q.as_str(), a.as_str()))
            .collect(),
    }
}

/// Packs `hits` (best first) into the prompt for `question`, keeping `answer_tokens` free.
/// Older history turns go first when room is short; a passage that does not fit is skipped
/// (a smaller, lower-ranked one may still fit) and reported in [`Budget::dropped`].
pub async fn pack_sources(
    generator: &dyn Generator,
    question: &str,
    hits: Vec<SearchHit>,
    mut history: Vec<(String, String)>,
    answer_tokens: usize,
) -> PortResult<Packed> {
    let window = generator.context_window();
    if answer_tokens >= window {
        return Err(PortError::new(
            ErrorCode::InvalidRequest,
            format!("an answer of {answer_tokens} tokens does not fit the model's context of {window} tokens"),
        ));
    }
    let limit = window - answer_tokens;

    // Rules, history and question first: they must fit, history giving way.
    let mut history_turns_dropped = 0;
    let base = loop {
        let messages = render_messages(&parts(question, &[], &history));
        let tokens = generator.prompt_tokens(&messages).await?;
        if tokens <= limit {
            break tokens;
        }
        if history.is_empty() {
            return Err(PortError::new(
                ErrorCode::InvalidRequest,
                format!("the question needs {tokens} tokens of the {limit} the model has before its answer: shorten it"),
            ));
        }
        history.remove(0);
        history_turns_dropped += 1;
    };
    let available = limit - base;

    let mut chosen: Vec<(SearchHit, usize)> = Vec::new();
    let mut dropped = Vec::new();
    let mut used = 0;
    for hit in hits {
        let block = super::prompt::render_source_block(&prompt_source(chosen.len() + 1, &hit));
        let tokens = generator.count_tokens(&block).await?;
        if used + tokens <= available {
            used += tokens;
            chosen.push((hit, tokens));
        } else {
            dropped.push(Dropped {
                chunk_id: hit.chunk.id.clone(),
                document_path: hit.document_path.clone(),
                tokens,
                reason: format!(
                    "needs {tokens} tokens, {} of {available} left",
                    available - used
                ),
            });
        }
    }

    // Counting blocks one by one can be off by a token at each seam: check the whole.
    loop {
        let messages = render_messages(&parts(question, &chosen, &history));
        let prompt_tokens = generator.prompt_tokens(&messages).await?;
        if prompt_tokens <= limit || chosen.is_empty() {
            let sources = chosen
                .into_iter()
                .enumerate()
                .map(|(i, (hit, tokens))| Source {
                    n: i + 1,
                    hit,
                    tokens,
                })
                .collect();
            return Ok(Packed {
                sources,
                messages,
                budget: Budget {
                    context_window: window,
                    answer_tokens,
                    prompt_tokens,
                    source_tokens_available: available,
                    source_tokens_used: used,
                    history_turns_dropped,
                    dropped,
                },
            });
        }
        if let Some((hit, tokens)) = chosen.pop() {
            used -= tokens;
            dropped.push(Dropped {
                chunk_id: hit.chunk.id.clone(),
                document_path: hit.document_path.clone(),
                tokens,
                reason: format!("the whole prompt came to {prompt_tokens} of {limit} tokens"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Chunk;
    use crate::generation::{GenerationParams, GenerationStream};
    use crate::ids::{DocumentId, FusedScore};
    use async_trait::async_trait;

    /// A stand-in tokenizer: one token per whitespace-separated word, ten per message for the
    /// template.
    struct Words {
        window: usize,
    }

    #[async_trait]
    impl Generator for Words {
        fn model_id(&self) -> &str {
            "words"
        }
        fn context_window(&self) -> usize {
            self.window
        }
        async fn count_tokens(&self, text: &str) -> PortResult<usize> {
            Ok(text.split_whitespace().count())
        }
        async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
            Ok(messages
                .iter()
                .map(|m| 10 + m.content.split_whitespace().count())
                .sum())
        }
        async fn generate(
            &self,
            _: Vec<ChatMessage>,
            _: GenerationParams,
        ) -> PortResult<GenerationStream> {
            Err(PortError::new(ErrorCode::Internal, "not used"))
        }
    }

    fn hit(id: &str, words: usize) -> SearchHit {
        SearchHit {
            chunk: Chunk {
                id: ChunkId(id.into()),
                document_id: DocumentId(1),
                ordinal: 0,
                text: "word ".repeat(words),
                start: 0,
                end: words * 5,
                page_start: Some(2),
                page_end: Some(2),
                page_unit: Default::default(),
                heading_path: vec![],
                token_count: 0,
            },
            document_path: "/d/a.pdf".into(),
            document_title: None,
            score: FusedScore(0.0),
            bm25: None,
            vector: None,
        }
    }

    #[tokio::test]
    async fn sources_are_packed_in_rank_order_and_what_does_not_fit_is_reported() {
        let generator = Words { window: 400 };
        let hits = vec![hit("a", 100), hit("b", 200), hit("c", 50)];
        let packed = pack_sources(&generator, "why?", hits, vec![], 100)
            .await
            .unwrap();
        let ids: Vec<&str> = packed
            .sources
            .iter()
            .map(|s| s.hit.chunk.id.as_str())
            .collect();
        // b (200 words) does not fit after a; the smaller c still does.
        assert_eq!(ids, vec!["a", "c"]);
        assert_eq!(
            packed.sources.iter().map(|s| s.n).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(packed.budget.dropped.len(), 1);
        assert_eq!(packed.budget.dropped[0].chunk_id.as_str(), "b");
        assert!(packed.budget.prompt_tokens + packed.budget.answer_tokens <= 400);
        let user = &packed.messages.last().unwrap().content;
        assert!(user.contains("[1] a.pdf, p. 2") && user.contains("[2] a.pdf, p. 2"));
    }

    #[tokio::test]
    async fn history_gives_way_before_the_question_and_the_answer_must_fit() {
        let generator = Words { window: 260 };
        let long = "blah ".repeat(60);
        let history = vec![(long.clone(), long.clone()), ("q2".into(), "a2".into())];
        let packed = pack_sources(&generator, "why?", vec![hit("a", 20)], history, 50)
            .await
            .unwrap();
        assert_eq!(packed.budget.history_turns_dropped, 1);
        assert_eq!(packed.sources.len(), 1);

        let err = pack_sources(&generator, "why?", vec![], vec![], 260)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        let huge = "word ".repeat(500);
        let err = pack_sources(&generator, &huge, vec![], vec![], 50)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }
}
