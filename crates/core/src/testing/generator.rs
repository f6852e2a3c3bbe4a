//! A chat model that says what the test tells it to, and remembers what it was asked.

use super::lock;
use crate::generation::{
    ChatMessage, GenerationEvent, GenerationParams, GenerationStream, StopReason,
};
use crate::ports::{Generator, PortResult};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct ScriptedGenerator {
    answer: Mutex<String>,
    asked: Mutex<Vec<Vec<ChatMessage>>>,
    calls: AtomicUsize,
}

impl Default for ScriptedGenerator {
    fn default() -> Self {
        ScriptedGenerator {
            answer: Mutex::new("The sources say so [1].".to_string()),
            asked: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
        }
    }
}

impl ScriptedGenerator {
    /// What every later answer says (streamed a word at a time).
    pub fn answer_with(&self, text: &str) {
        *lock(&self.answer) = text.to_string();
    }

    /// How many answers were started.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The messages of each answer started, in order.
    pub fn asked(&self) -> Vec<Vec<ChatMessage>> {
        lock(&self.asked).clone()
    }
}

fn tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

#[async_trait]
impl Generator for ScriptedGenerator {
    fn model_id(&self) -> &str {
        "scripted"
    }

    fn context_window(&self) -> usize {
        4096
    }

    async fn count_tokens(&self, text: &str) -> PortResult<usize> {
        Ok(tokens(text))
    }

    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
        Ok(messages
            .iter()
            .map(|m| tokens(&m.content) + 4)
            .sum::<usize>()
            + 2)
    }

    async fn generate(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> PortResult<GenerationStream> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let prompt_tokens = self.prompt_tokens(&messages).await?;
        lock(&self.asked).push(messages);
        let answer = lock(&self.answer).clone();
        let pieces: Vec<String> = answer
            .split_inclusive(' ')
            .take(params.max_tokens)
            .map(str::to_string)
            .collect();
        let stop = if pieces.len() < tokens(&answer) {
            StopReason::Length
        } else {
            StopReason::EndOfAnswer
        };
        let generated_tokens = pieces.len();
        let events = pieces
            .into_iter()
            .map(|p| Ok(GenerationEvent::Token(p)))
            .chain(std::iter::once(Ok(GenerationEvent::Finished {
                stop,
                prompt_tokens,
                generated_tokens,
            })));
        Ok(futures::stream::iter(events).boxed())
    }
}
