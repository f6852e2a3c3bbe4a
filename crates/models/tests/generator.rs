//! The real SmolLM2-135M-Instruct GGUF through mistral.rs: streaming, the chat template taken
//! from the GGUF, and cancellation that frees the model.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cairn_core::generation::{GenerationEvent, GenerationParams, StopReason};
use cairn_core::ports::Generator;
use cairn_models::{GeneratorOptions, MistralGenerator};
use futures::StreamExt;
use mistralrs::{RequestBuilder, TextMessageRole, TextMessages};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use support::{chat, smollm2};

async fn load(path: &Path) -> MistralGenerator {
    MistralGenerator::load(path, GeneratorOptions::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn smollm2_streams_an_answer_within_the_cap_and_counts_its_tokens() {
    let generator = load(&smollm2()).await;
    assert_eq!(generator.model_id(), "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(generator.context_window() >= 2048);
    let one = generator.count_tokens("hello").await.unwrap();
    let many = generator.count_tokens(&"hello ".repeat(50)).await.unwrap();
    assert!(one >= 1 && many >= 50, "{one} {many}");
    let prompt = generator
        .prompt_tokens(&chat("What is the capital of France?"))
        .await
        .unwrap();
    assert!(
        prompt
            > generator
                .count_tokens("What is the capital of France?")
                .await
                .unwrap()
    );

    let stream = generator
        .generate(
            chat("What is the capital of France?"),
            GenerationParams {
                max_tokens: 24,
                temperature: 0.0,
            },
        )
        .await
        .unwrap();
    let (pieces, finished) = support::collect(stream).await;
    let (stop, prompt_tokens, generated_tokens) = finished.expect("a finish event");
    assert!(pieces.len() > 1, "the answer streams in pieces: {pieces:?}");
    assert!(!pieces.concat().trim().is_empty());
    assert!(matches!(stop, StopReason::EndOfAnswer | StopReason::Length));
    assert!(generated_tokens >= 1);
    assert!(prompt_tokens > 10, "{prompt_tokens}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chat_template_comes_from_the_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let llama = dir.path().join("llama-3.1-template.gguf");
    support::gguf::with_chat_template(
        &smollm2(),
        &llama,
        include_str!("fixtures/llama-3.1-instruct.jinja"),
    );
    let messages = chat("Where is the bridge?");

    let own = load(&smollm2())
        .await
        .render_prompt(&messages)
        .await
        .unwrap();
    assert!(
        own.contains("<|im_start|>user\nWhere is the bridge?<|im_end|>"),
        "{own}"
    );

    let rendered = load(&llama).await.render_prompt(&messages).await.unwrap();
    // The GGUF's own BOS, then the Llama 3.1 system header with the date mistral.rs fills in.
    let head = "<|start_header_id|>system<|end_header_id|>\n\n\
        Cutting Knowledge Date: December 2023\nToday Date: ";
    assert!(rendered.contains(head), "{rendered:?}");
    let tail = "\n\nYou are a helpful assistant.<|eot_id|>\
        <|start_header_id|>user<|end_header_id|>\n\nWhere is the bridge?<|eot_id|>\
        <|start_header_id|>assistant<|end_header_id|>\n\n";
    assert!(rendered.ends_with(tail), "{rendered:?}");
    assert!(!rendered.contains("<|im_start|>system"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_stream_frees_the_model_for_the_next_answer() {
    let generator = load(&smollm2()).await;
    // An answer that cannot end early: both end tokens banned, 400 tokens allowed.
    let mut bias = HashMap::new();
    for end in ["<|im_end|>", "<|endoftext|>"] {
        for id in generator.token_ids(end).await.unwrap() {
            bias.insert(id, -1000.0f32);
        }
    }
    let long = RequestBuilder::from(
        TextMessages::new().add_message(TextMessageRole::User, "Tell me a very long story."),
    )
    .set_deterministic_sampler()
    .set_sampler_logits_bias(bias)
    .set_sampler_max_len(400);
    let mut stream = generator.stream_request(long);
    let per_token = support::time_per_token(&mut stream).await;
    drop(stream);

    // The model runs one answer at a time: had the first kept going, the next would wait
    // for its ~394 remaining tokens.
    let remaining = per_token * 394;
    let bound = remaining / 3 + Duration::from_secs(2);
    let next_answer = async {
        let mut next = generator
            .generate(
                chat("Say hi."),
                GenerationParams {
                    max_tokens: 4,
                    temperature: 0.0,
                },
            )
            .await
            .unwrap();
        let mut ended = false;
        while let Some(event) = next.next().await {
            if let GenerationEvent::Finished { .. } = event.unwrap() {
                ended = true;
            }
        }
        ended
    };
    let ended = tokio::time::timeout(bound, next_answer).await;
    assert_eq!(
        ended,
        Ok(true),
        "the next answer did not end within {bound:?}; the cancelled one had {remaining:?} to go"
    );
}
