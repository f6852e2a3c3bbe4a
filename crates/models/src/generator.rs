//! The generator: a GGUF chat model (Llama 3.1 8B Instruct by default) run by mistral.rs,
//! with the chat template and tokenizer the GGUF carries. Loaded once, kept warm; streams
//! tokens; dropping a stream stops the model at its next token.

use crate::backend::ModelFile;
use crate::{GeneratorOptions, ModelError};
use async_trait::async_trait;
use cairn_core::error::PortError;
use cairn_core::generation::{
    ChatMessage, ChatRole, GenerationEvent, GenerationParams, GenerationStream, StopReason,
};
use cairn_core::ports::{Generator, PortResult};
use cairn_core::ErrorCode;
use either::Either;
use mistralrs::{
    GgufModelBuilder, Model, RequestBuilder, Response, TextMessageRole, TextMessages, TokenSource,
};
use std::path::Path;
use std::sync::Arc;

/// A GGUF chat model on mistral.rs.
pub struct MistralGenerator {
    model: Arc<Model>,
    model_id: String,
    context_window: usize,
}

fn generation_error(e: impl std::fmt::Display) -> PortError {
    PortError::from(ModelError::Generation(e.to_string()))
}

fn role(role: ChatRole) -> TextMessageRole {
    match role {
        ChatRole::System => TextMessageRole::System,
        ChatRole::User => TextMessageRole::User,
        ChatRole::Assistant => TextMessageRole::Assistant,
    }
}

fn text_messages(messages: &[ChatMessage]) -> TextMessages {
    messages.iter().fold(TextMessages::new(), |m, msg| {
        m.add_message(role(msg.role), &msg.content)
    })
}

impl MistralGenerator {
    /// Loads a GGUF file. The work runs on a blocking thread, so the async runtime (and any
    /// UI on it) stays responsive while gigabytes of weights are read.
    pub async fn load(path: &Path, options: GeneratorOptions) -> Result<Self, ModelError> {
        let model_file = ModelFile::check(path)?;
        let load_error = |message: String| model_file.error(message);
        // An absolute folder: mistral.rs takes anything it cannot find on disk for a model id
        // to download, and a bare file name has an empty parent.
        let dir = model_file.folder.display().to_string();
        let file = model_file.name.clone();
        // Local files only: no token, no hub, no network.
        let mut builder = GgufModelBuilder::new(dir, vec![file.clone()])
            .with_token_source(TokenSource::None)
            // One answer at a time: a second would halve the speed of both on a CPU.
            .with_max_num_seqs(1);
        if options.force_cpu || !cfg!(any(feature = "cuda", feature = "metal")) {
            builder = builder.with_force_cpu();
        }
        let runtime = tokio::runtime::Handle::current();
        let model = tokio::task::spawn_blocking(move || runtime.block_on(builder.build()))
            .await?
            .map_err(|e| load_error(format!("{e:#}")))?;
        let model_max = model
            .max_sequence_length()
            .map_err(|e| load_error(e.to_string()))?;
        let context_window = match (options.context_tokens, model_max) {
            (Some(wanted), Some(max)) => wanted.min(max),
            (Some(wanted), None) => wanted,
            (None, Some(max)) => max.min(GeneratorOptions::DEFAULT_CONTEXT),
            (None, None) => GeneratorOptions::DEFAULT_CONTEXT,
        };
        tracing::info!(model = %file, context_window, "language model loaded");
        Ok(MistralGenerator {
            model: Arc::new(model),
            model_id: file,
            context_window,
        })
    }

    /// The tokens of `messages` with the chat template applied and the assistant's turn
    /// opened.
    async fn template_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, ModelError> {
        self.model
            .tokenize(
                Either::Left(text_messages(messages)),
                None,
                true,
                true,
                None,
            )
            .await
            .map_err(|e| ModelError::Generation(e.to_string()))
    }

    /// The prompt exactly as the model's chat template renders `messages`, special tokens
    /// included: what reaches the model.
    pub async fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        let tokens = self.template_tokens(messages).await?;
        self.model
            .detokenize(tokens, false)
            .await
            .map_err(|e| ModelError::Generation(e.to_string()))
    }

    /// Token ids of `text` in the model's vocabulary (special-token names map to their ids).
    pub async fn token_ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.model
            .tokenize(Either::Right(text.to_string()), None, false, false, None)
            .await
            .map_err(|e| ModelError::Generation(e.to_string()))
    }

    /// Streams a request built by hand (sampling options Cairn does not expose).
    pub fn stream_request(&self, request: RequestBuilder) -> GenerationStream {
        self.stream_capped(request, None)
    }

    /// Streams `request`, ending it after `cap` = (most tokens, prompt tokens) pieces
    /// whatever mistral.rs does with its own limit (it has been seen to overrun it).
    fn stream_capped(
        &self,
        request: RequestBuilder,
        cap: Option<(usize, usize)>,
    ) -> GenerationStream {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<PortResult<GenerationEvent>>(64);
        let model = Arc::clone(&self.model);
        tokio::spawn(async move {
            let mut stream = match model.stream_chat_request(request).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(generation_error(e))).await;
                    return;
                }
            };
            let mut pieces = 0usize;
            loop {
                if let Some((most, prompt_tokens)) = cap {
                    if pieces >= most {
                        // Dropping `stream` below cancels the sequence in mistral.rs.
                        let _ = tx
                            .send(Ok(GenerationEvent::Finished {
                                stop: StopReason::Length,
                                prompt_tokens,
                                generated_tokens: pieces,
                            }))
                            .await;
                        break;
                    }
                }
                // Stop reading as soon as the caller is gone: dropping `stream` makes
                // mistral.rs cancel the sequence.
                let response = tokio::select! {
                    () = tx.closed() => break,
                    r = stream.next() => r,
                };
                let Some(response) = response else { break };
                let events = match response {
                    Response::Chunk(chunk) => {
                        let mut events = Vec::new();
                        for choice in chunk.choices {
                            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                                // One streamed piece per sampled token.
                                pieces += 1;
                                events.push(Ok(GenerationEvent::Token(text)));
                            }
                            if let Some(reason) = choice.finish_reason {
                                let (prompt_tokens, generated_tokens) = chunk
                                    .usage
                                    .as_ref()
                                    .map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
                                events.push(Ok(GenerationEvent::Finished {
                                    stop: match reason.as_str() {
                                        "length" => StopReason::Length,
                                        "canceled" => StopReason::Cancelled,
                                        _ => StopReason::EndOfAnswer,
                                    },
                                    prompt_tokens,
                                    generated_tokens,
                                }));
                            }
                        }
                        events
                    }
                    Response::ModelError(message, _)
                    | Response::CompletionModelError(message, _) => {
                        vec![Err(generation_error(message))]
                    }
                    Response::InternalError(e) | Response::ValidationError(e) => {
                        vec![Err(generation_error(e))]
                    }
                    _ => Vec::new(),
                };
                let last = events
                    .iter()
                    .any(|e| matches!(e, Ok(GenerationEvent::Finished { .. }) | Err(_)));
                for event in events {
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
                if last {
                    break;
                }
            }
        });
        Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}

#[async_trait]
impl Generator for MistralGenerator {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn context_window(&self) -> usize {
        self.context_window
    }

    async fn count_tokens(&self, text: &str) -> PortResult<usize> {
        self.model
            .tokenize(Either::Right(text.to_string()), None, false, false, None)
            .await
            .map(|t| t.len())
            .map_err(generation_error)
    }

    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
        Ok(self.template_tokens(messages).await?.len())
    }

    async fn generate(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> PortResult<GenerationStream> {
        if params.max_tokens == 0 {
            return Err(PortError::new(
                ErrorCode::InvalidRequest,
                "an answer needs at least one token",
            ));
        }
        let mut request =
            RequestBuilder::from(text_messages(&messages)).set_sampler_max_len(params.max_tokens);
        request = if params.temperature <= 0.0 {
            request.set_deterministic_sampler()
        } else {
            request.set_sampler_temperature(params.temperature)
        };
        let prompt_tokens = self.template_tokens(&messages).await?.len();
        Ok(self.stream_capped(request, Some((params.max_tokens, prompt_tokens))))
    }
}
