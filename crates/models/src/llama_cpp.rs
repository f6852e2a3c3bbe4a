//! The CPU generator: a GGUF chat model run by llama.cpp (through `llama-cpp-2`, built from
//! source). On a CPU it is several times faster than mistral.rs on the same file (see
//! `bench/RESULTS.md`), so it is what Cairn runs where there is no GPU.
//!
//! One worker thread owns the llama.cpp context (its KV cache) and runs one answer at a time;
//! the prompt's tokens that match the previous request's (the system prompt, an unchanged chat)
//! are kept in the cache and not computed again.

use crate::backend::ModelFile;
use crate::ModelError;
use async_trait::async_trait;
use cairn_core::error::PortError;
use cairn_core::generation::{
    ChatMessage, ChatRole, GenerationEvent, GenerationParams, GenerationStream, StopReason,
};
use cairn_core::ports::{Generator, PortResult};
use cairn_core::ErrorCode;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

/// Tokens computed per `llama_decode` call while reading the prompt.
const PROMPT_BATCH: usize = 512;

/// llama.cpp's process-wide state: initialised once, never torn down.
fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log lines go to `tracing` (target `llama-cpp-2`), not stderr.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How many threads to compute with: the physical cores (hyper-threads slow matrix code
/// down), which llama.cpp's own tools also default to.
pub fn default_threads() -> usize {
    let logical = std::thread::available_parallelism().map_or(4, usize::from);
    // Machines with SMT report two logical CPUs per core; a guess without reading
    // /proc/cpuinfo is half when there are many, all when there are few.
    if logical >= 8 {
        logical / 2
    } else {
        logical
    }
}

/// One request for the worker thread.
struct Job {
    tokens: Vec<LlamaToken>,
    params: GenerationParams,
    events: tokio::sync::mpsc::Sender<PortResult<GenerationEvent>>,
}

/// A GGUF chat model on llama.cpp.
pub struct LlamaCppGenerator {
    model: Arc<LlamaModel>,
    template: LlamaChatTemplate,
    /// `None` once the generator is being dropped.
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    /// Joined on drop: a process must not exit while llama.cpp computes on this thread (its
    /// teardown at exit then crashes under the running decode).
    worker: Option<std::thread::JoinHandle<()>>,
    /// Set on drop: the job at hand stops after its current token.
    stopping: Arc<AtomicBool>,
    model_id: String,
    context_window: usize,
    /// Said to the person when the model does not run wholly on a GPU.
    notice: Option<String>,
}

fn generation_error(e: impl std::fmt::Display) -> PortError {
    PortError::from(ModelError::Generation(e.to_string()))
}

impl LlamaCppGenerator {
    /// Loads a GGUF file (memory-mapped) on a blocking thread and starts the worker thread.
    /// `threads` of `None` takes [`default_threads`].
    pub async fn load(
        path: &Path,
        context_tokens: Option<usize>,
        threads: Option<usize>,
    ) -> Result<Self, ModelError> {
        let model_file = ModelFile::check(path)?;
        let load_error = |message: String| model_file.error(message);
        let model_id = model_file.name.clone();
        let backend = backend().map_err(&load_error)?;
        // As many layers on the GPU as fit (none without one), said when not all do.
        let placement = crate::gguf::read_info(path).ok().map(|info| {
            let context = context_tokens.unwrap_or(crate::GeneratorOptions::DEFAULT_CONTEXT) as u64;
            let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
            let free = Some(crate::devices::gpu_free_memory()).filter(|f| *f > 0);
            crate::devices::placement(&info, bytes, context, free, crate::Backend::GPU_BUILD)
        });
        let gpu_layers = placement.as_ref().map_or(0, |p| p.gpu_layers);
        let notice = placement.and_then(|p| p.notice);
        let file = path.to_path_buf();
        let model = tokio::task::spawn_blocking(move || {
            let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
            LlamaModel::load_from_file(backend, file, &params)
        })
        .await?
        .map_err(|e| load_error(format!("{e} (is it a GGUF file llama.cpp supports?)")))?;
        let template = match model.chat_template(None) {
            Ok(template) => template,
            // A GGUF without a template: ChatML, which most instruction-tuned models know.
            Err(_) => LlamaChatTemplate::new("chatml").map_err(|e| load_error(e.to_string()))?,
        };
        let trained = usize::try_from(model.n_ctx_train()).unwrap_or(usize::MAX);
        let context_window = context_tokens
            .unwrap_or(crate::GeneratorOptions::DEFAULT_CONTEXT)
            .min(trained)
            .max(16);
        let threads = threads.unwrap_or_else(default_threads).max(1);
        let model = Arc::new(model);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let worker_model = Arc::clone(&model);
        let stopping = Arc::new(AtomicBool::new(false));
        let worker_stopping = Arc::clone(&stopping);
        let worker = std::thread::Builder::new()
            .name("llama.cpp".into())
            .spawn(move || {
                worker(
                    backend,
                    &worker_model,
                    (context_window, threads),
                    &inbox,
                    &worker_stopping,
                );
            })
            .map_err(|e| load_error(format!("cannot start the model thread: {e}")))?;
        tracing::info!(model = %model_id, context_window, threads, gpu_layers, "language model loaded (llama.cpp)");
        Ok(LlamaCppGenerator {
            model,
            template,
            jobs: std::sync::Mutex::new(Some(jobs)),
            worker: Some(worker),
            stopping,
            model_id,
            context_window,
            notice,
        })
    }

    /// The prompt exactly as the model's chat template renders `messages`, the assistant's
    /// turn opened.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        self.render_with(messages, &contents)
    }

    /// The template rendered with `contents` in place of the messages' own.
    fn render_with(
        &self,
        messages: &[ChatMessage],
        contents: &[&str],
    ) -> Result<String, ModelError> {
        let chat = messages
            .iter()
            .zip(contents)
            .map(|(m, content)| {
                let role = match m.role {
                    ChatRole::System => "system",
                    ChatRole::User => "user",
                    ChatRole::Assistant => "assistant",
                };
                LlamaChatMessage::new(role.into(), (*content).to_string())
                    .map_err(|e| ModelError::Generation(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| ModelError::Generation(format!("chat template: {e}")))
    }

    /// The prompt's tokens. Only the template's own markers (`<|start_header_id|>`,
    /// `<|eot_id|>`, `<|im_start|>`) become control tokens: the messages' text, which holds
    /// document passages and the person's question, is read as plain text, so a document
    /// that contains `<|eot_id|>` cannot end a turn or open one for the model.
    pub fn prompt_token_ids(
        &self,
        messages: &[ChatMessage],
    ) -> Result<Vec<LlamaToken>, ModelError> {
        // The template is rendered around a marker for each message's text, then the pieces
        // between markers are tokenised with special tokens parsed, the texts without.
        let markers: Vec<String> = (0..messages.len())
            .map(|i| format!("{MARK_OPEN}cairn-message-{i}{MARK_CLOSE}"))
            .collect();
        let marked: Vec<&str> = markers.iter().map(String::as_str).collect();
        let template = self.render_with(messages, &marked)?;
        let vocab = self.model.vocab();
        let mut tokens = Vec::new();
        let mut rest = template.as_str();
        for (marker, message) in markers.iter().zip(messages) {
            let Some((before, after)) = rest.split_once(marker.as_str()) else {
                // A template that rewrites the text it is given: its markers cannot be
                // placed, so the texts are stripped of what would parse as control tokens.
                let prompt = self.render_prompt(&neutralised(messages))?;
                return Ok(vocab.tokenize(prompt.as_bytes(), true, true));
            };
            tokens.extend(vocab.tokenize(before.as_bytes(), tokens.is_empty(), true));
            // Templates trim what they are given (Llama 3.1's does): so does this.
            tokens.extend(vocab.tokenize(message.content.trim().as_bytes(), false, false));
            rest = after;
        }
        tokens.extend(vocab.tokenize(rest.as_bytes(), tokens.is_empty(), true));
        Ok(tokens)
    }

    /// The ids `text` tokenises to with special tokens parsed (`<|im_end|>` is one id).
    pub fn special_token_ids(&self, text: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(text.as_bytes(), false, true)
    }
}

/// Around the stand-in for a message's text while the template is rendered: private-use
/// characters, which no template touches.
const MARK_OPEN: char = '\u{F8F0}';
const MARK_CLOSE: char = '\u{F8F1}';

/// The messages with `<|` and `|>` broken apart, for a template whose output the marker split
/// cannot follow.
fn neutralised(messages: &[ChatMessage]) -> Vec<ChatMessage> {
    messages
        .iter()
        .map(|m| ChatMessage {
            role: m.role,
            content: m.content.replace("<|", "< |").replace("|>", "| >"),
        })
        .collect()
}

#[async_trait]
impl Generator for LlamaCppGenerator {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn context_window(&self) -> usize {
        self.context_window
    }

    fn notice(&self) -> Option<String> {
        self.notice.clone()
    }

    async fn count_tokens(&self, text: &str) -> PortResult<usize> {
        Ok(self
            .model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .len())
    }

    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
        Ok(self.prompt_token_ids(messages)?.len())
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
        let tokens = self.prompt_token_ids(&messages)?;
        if tokens.len() >= self.context_window {
            return Err(PortError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "the prompt has {} tokens; the model is run with {}",
                    tokens.len(),
                    self.context_window
                ),
            ));
        }
        let (events, mut rx) = tokio::sync::mpsc::channel(64);
        let job = Job {
            tokens,
            params,
            events,
        };
        self.jobs
            .lock()
            .map_err(|_| generation_error("the model thread is gone"))?
            .as_ref()
            .ok_or_else(|| generation_error("the model thread stopped"))?
            .send(job)
            .map_err(|_| generation_error("the model thread stopped"))?;
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        })))
    }
}

impl Drop for LlamaCppGenerator {
    /// Closes the inbox and waits for the worker to finish: it stops a job whose listener is
    /// gone after the token (or prompt batch) at hand.
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The worker thread: owns the context and answers one job at a time until the generator is
/// dropped.
fn worker(
    backend: &LlamaBackend,
    model: &LlamaModel,
    (context_window, threads): (usize, usize),
    inbox: &mpsc::Receiver<Job>,
    stopping: &AtomicBool,
) {
    let threads = i32::try_from(threads).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(
            u32::try_from(context_window).unwrap_or(u32::MAX),
        ))
        .with_n_batch(PROMPT_BATCH as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    // Made on the first job, so that loading returns as soon as the weights are mapped.
    let mut session: Option<Session<'_>> = None;
    while let Ok(job) = inbox.recv() {
        if session.is_none() {
            match model.new_context(backend, params.clone()) {
                Ok(context) => {
                    session = Some(Session {
                        context,
                        cached: Vec::new(),
                    });
                }
                Err(e) => {
                    let _ = job.events.blocking_send(Err(generation_error(format!(
                        "cannot make a context of {context_window} tokens: {e}"
                    ))));
                    continue;
                }
            }
        }
        if let Some(session) = session.as_mut() {
            let result = session.answer(model, &job, stopping);
            if let Err(e) = result {
                // The cache may hold half a batch: start the next answer from nothing.
                session.context.clear_kv_cache();
                session.cached.clear();
                let _ = job.events.blocking_send(Err(e));
            }
        }
    }
}

/// The context and the tokens its KV cache holds, in order.
struct Session<'m> {
    context: LlamaContext<'m>,
    cached: Vec<LlamaToken>,
}

impl Session<'_> {
    fn answer(&mut self, model: &LlamaModel, job: &Job, stopping: &AtomicBool) -> PortResult<()> {
        let stopped = || job.events.is_closed() || stopping.load(Ordering::Relaxed);
        let prompt = &job.tokens;
        let context_window = self.context.n_ctx() as usize;
        // Keep the cached prefix shared with this prompt; at least the last prompt token is
        // computed again, for the logits of the first answer token.
        let mut keep = self
            .cached
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len().saturating_sub(1));
        let removed = self
            .context
            .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
            .map_err(generation_error)?;
        if !removed {
            // A cache that cannot drop a tail (recurrent models) starts over.
            self.context.clear_kv_cache();
            keep = 0;
        }
        self.cached.truncate(keep);

        let mut batch = LlamaBatch::new(PROMPT_BATCH, 1);
        for (i, chunk) in prompt[keep..].chunks(PROMPT_BATCH).enumerate() {
            if stopped() {
                return Ok(());
            }
            batch.clear();
            let start = keep + i * PROMPT_BATCH;
            let last_chunk = start + chunk.len() == prompt.len();
            for (j, &token) in chunk.iter().enumerate() {
                let is_last = last_chunk && j + 1 == chunk.len();
                batch
                    .add(token, (start + j) as i32, &[0], is_last)
                    .map_err(generation_error)?;
            }
            self.context.decode(&mut batch).map_err(generation_error)?;
            self.cached.extend_from_slice(chunk);
        }

        let mut sampler = if job.params.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            LlamaSampler::chain_simple([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::temp(job.params.temperature as f32),
                LlamaSampler::dist(0x5EED),
            ])
        };
        let vocab = model.vocab();
        let mut text = Utf8Pieces::default();
        let mut generated = 0usize;
        let mut logits_at = batch.n_tokens() - 1;
        let stop = loop {
            if stopped() {
                break StopReason::Cancelled;
            }
            if generated >= job.params.max_tokens {
                break StopReason::Length;
            }
            if self.cached.len() >= context_window {
                break StopReason::Length;
            }
            let token = sampler.sample(&self.context, logits_at);
            if vocab.is_eog(token) {
                break StopReason::EndOfAnswer;
            }
            generated += 1;
            let piece = vocab.token_to_piece(token, false, None);
            if let Some(piece) = text.push(&piece) {
                if job
                    .events
                    .blocking_send(Ok(GenerationEvent::Token(piece)))
                    .is_err()
                {
                    break StopReason::Cancelled;
                }
            }
            batch.clear();
            batch
                .add(token, self.cached.len() as i32, &[0], true)
                .map_err(generation_error)?;
            self.context.decode(&mut batch).map_err(generation_error)?;
            self.cached.push(token);
            logits_at = 0;
        };
        if let Some(rest) = text.finish() {
            let _ = job.events.blocking_send(Ok(GenerationEvent::Token(rest)));
        }
        let _ = job.events.blocking_send(Ok(GenerationEvent::Finished {
            stop,
            prompt_tokens: prompt.len(),
            generated_tokens: generated,
        }));
        Ok(())
    }
}

/// Token pieces are bytes, and a character may span two tokens: hold back an incomplete
/// UTF-8 sequence until the next piece completes it.
#[derive(Default)]
struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    fn push(&mut self, piece: &[u8]) -> Option<String> {
        self.pending.extend_from_slice(piece);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An invalid byte (not just an unfinished one) is replaced, not held forever.
            Err(e) if e.error_len().is_some() => self.pending.len(),
            Err(e) => e.valid_up_to(),
        };
        if valid == 0 {
            return None;
        }
        let rest = self.pending.split_off(valid);
        let done = std::mem::replace(&mut self.pending, rest);
        Some(String::from_utf8_lossy(&done).into_owned())
    }

    fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty())
            .then(|| String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Pieces;

    #[test]
    fn characters_split_across_pieces_are_held_until_complete() {
        let mut text = Utf8Pieces::default();
        let bytes = "né 🙂".as_bytes();
        // "n", first byte of "é", then the rest of "é", " ", three bytes of the emoji, its end.
        assert_eq!(text.push(&bytes[..2]).as_deref(), Some("n"));
        assert_eq!(text.push(&bytes[2..4]).as_deref(), Some("é "));
        assert_eq!(text.push(&bytes[4..7]), None);
        assert_eq!(text.push(&bytes[7..]).as_deref(), Some("🙂"));
        assert_eq!(text.finish(), None);
    }

    #[test]
    fn invalid_bytes_are_replaced_not_held() {
        let mut text = Utf8Pieces::default();
        assert_eq!(text.push(b"a\xFFb").as_deref(), Some("a\u{FFFD}b"));
        assert_eq!(text.push(b"\xE2\x82").as_deref(), None);
        assert_eq!(text.finish().as_deref(), Some("\u{FFFD}"));
    }
}
