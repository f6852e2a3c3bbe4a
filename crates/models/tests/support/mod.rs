//! What the model tests share: the test models and a plain chat.

#![allow(dead_code)]

pub mod gguf;

use cairn_core::generation::{
    ChatMessage, ChatRole, GenerationEvent, GenerationStream, StopReason,
};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The SmolLM2-135M-Instruct GGUF that scripts/setup fetches (or `CAIRN_GENERATOR`).
pub fn smollm2() -> PathBuf {
    std::env::var_os("CAIRN_GENERATOR").map_or_else(
        || {
            Path::new(&std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/cairn/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        },
        PathBuf::from,
    )
}

/// A system prompt and one question.
pub fn chat(question: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(ChatRole::System, "You are a helpful assistant."),
        ChatMessage::new(ChatRole::User, question),
    ]
}

/// The pieces of a streamed answer and its finish event (stop, prompt tokens, generated).
pub async fn collect(
    mut stream: GenerationStream,
) -> (Vec<String>, Option<(StopReason, usize, usize)>) {
    let mut pieces = Vec::new();
    let mut finished = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            GenerationEvent::Token(t) => pieces.push(t),
            GenerationEvent::Finished {
                stop,
                prompt_tokens,
                generated_tokens,
            } => finished = Some((stop, prompt_tokens, generated_tokens)),
        }
    }
    (pieces, finished)
}

/// Reads six tokens of `stream` and returns the time per token between the second and sixth.
pub async fn time_per_token(stream: &mut GenerationStream) -> Duration {
    let mut arrivals = Vec::new();
    while arrivals.len() < 6 {
        match stream.next().await {
            Some(Ok(GenerationEvent::Token(_))) => arrivals.push(Instant::now()),
            other => panic!("expected tokens, got {other:?}"),
        }
    }
    (arrivals[5] - arrivals[1]) / 4
}
