//! Generation speed of one engine on a GGUF: prompt reading at 512 and 2,048 tokens, time to
//! first token on a real RAG prompt (retrieved and packed by Cairn from sample documents),
//! decoding, and whether the answer-length cap holds.
//!
//! The prompts are written to a file (`--write-prompts`) so that the other engine and the
//! llama.cpp peer (`bench/peers/llama_cpp_peer.py`) run exactly the same messages. Every run
//! starts with a different first line, so no engine can answer it from a prompt cache.

use crate::app::{self, Paths};
use anyhow::Context;
use async_trait::async_trait;
use cairn_core::answer::{AnswerSettings, AskEvent, AskRequest};
use cairn_core::engine::AnswerPorts;
use cairn_core::generation::{
    ChatMessage, ChatRole, GenerationEvent, GenerationParams, GenerationStream, StopReason,
};
use cairn_core::ports::{Generator, PortResult};
use cairn_core::Cancel;
use cairn_models::{Backend, GeneratorOptions, Speed};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The engine: llama.cpp or mistral.rs.
    #[arg(long, default_value = "llama.cpp")]
    backend: Backend,
    /// CPU threads (llama.cpp; mistral.rs uses its own pool of every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Read the cases from this file (written by an earlier `--write-prompts`) instead of
    /// making them.
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Write the cases made to this file.
    #[arg(long)]
    write_prompts: Option<PathBuf>,
    /// Folder of documents to ingest for the RAG prompt.
    #[arg(long)]
    rag_docs: Option<PathBuf>,
    /// The question of the RAG prompt.
    #[arg(long, default_value = "What are the main findings?")]
    question: String,
    /// A text to cut the 512- and 2,048-token prompts from.
    #[arg(long)]
    filler: Option<PathBuf>,
    /// Runs of each case.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Tokens to decode in the decode case.
    #[arg(long, default_value_t = 128)]
    decode_tokens: usize,
    /// Run on the GPU (a `cuda` or `metal` build).
    #[arg(long)]
    gpu: bool,
    /// Record the speeds for this machine, so that the `auto` engine picks the faster one
    /// once both were measured.
    #[arg(long)]
    record: bool,
}

/// One timed request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    pub messages: Vec<Message>,
    pub max_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

#[derive(Serialize)]
struct Timing {
    name: String,
    prompt_tokens: usize,
    generated_tokens: usize,
    /// From the request to the first piece of the answer.
    ttft_s: f64,
    total_s: f64,
    /// Prompt tokens ÷ time to first token.
    prompt_tok_s: f64,
    /// Tokens after the first ÷ time after the first.
    decode_tok_s: Option<f64>,
    stop: String,
}

#[derive(Serialize)]
pub struct Report {
    backend: String,
    model: String,
    model_bytes: u64,
    threads: Option<usize>,
    load_s: f64,
    runs: Vec<Timing>,
    /// A long answer asked for with a cap of 32 tokens ended at the cap, with no more.
    cap_holds: bool,
    cap_generated_tokens: usize,
    /// Retrieval and packing of the RAG prompt (when made here).
    rag_retrieval_ms: Option<u64>,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<Report> {
    let backend = args.backend.resolve(!args.gpu);
    let model_bytes = std::fs::metadata(&paths.generator)
        .with_context(|| format!("no model at {}", paths.generator.display()))?
        .len();
    let loading = Instant::now();
    let generator = app::load_generator(
        &paths.generator,
        GeneratorOptions {
            force_cpu: !args.gpu,
            backend,
            threads: args.threads,
            ..GeneratorOptions::default()
        },
    )
    .await?;
    let load_s = loading.elapsed().as_secs_f64();
    eprintln!("{backend}: loaded in {load_s:.1} s");

    let mut rag_retrieval_ms = None;
    let cases = match &args.prompts {
        Some(file) => serde_json::from_slice::<Vec<Case>>(
            &std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?,
        )?,
        None => {
            let (cases, retrieval) = make_cases(paths, &args, &generator).await?;
            rag_retrieval_ms = retrieval;
            cases
        }
    };
    if let Some(file) = &args.write_prompts {
        std::fs::write(file, serde_json::to_vec_pretty(&cases)?)?;
    }

    let mut runs = Vec::new();
    for case in &cases {
        let timing = time_case(generator.as_ref(), case).await?;
        eprintln!(
            "{backend}: {:<12} {:>5} prompt tokens  ttft {:>7.2} s  prompt {:>8.1} tok/s  decode {}",
            case.name,
            timing.prompt_tokens,
            timing.ttft_s,
            timing.prompt_tok_s,
            timing
                .decode_tok_s
                .map_or("-".into(), |d| format!("{d:.1} tok/s")),
        );
        runs.push(timing);
    }

    // The cap: a story cannot end in 32 tokens.
    let cap = Case {
        name: "cap".into(),
        messages: vec![message(
            "user",
            "Write a very long story about a lighthouse keeper.",
        )],
        max_tokens: 32,
    };
    let capped = time_case(generator.as_ref(), &cap).await?;
    let cap_holds = capped.generated_tokens <= 32 && capped.stop == "length";
    eprintln!(
        "{backend}: cap of 32 → {} tokens ({})",
        capped.generated_tokens, capped.stop
    );
    if args.record {
        let median = |name: &str, pick: fn(&Timing) -> Option<f64>| {
            let values: Vec<f64> = runs
                .iter()
                .filter(|t| t.name == name)
                .filter_map(pick)
                .collect();
            super::percentile(&values, 0.5)
        };
        let prompt = median("prompt-2048", |t| Some(t.prompt_tok_s))
            .or_else(|| median("prompt-512", |t| Some(t.prompt_tok_s)));
        let decode = median("decode", |t| t.decode_tok_s);
        let (Some(prompt_tok_s), Some(decode_tok_s)) = (prompt, decode) else {
            anyhow::bail!("--record needs a prompt and a decode case");
        };
        let file = app::speeds::SpeedFile::default_location()
            .context("no config folder to record the speeds in")?;
        let mut speeds = file.load()?;
        speeds.record(
            backend,
            args.gpu,
            Speed {
                prompt_tok_s,
                decode_tok_s,
                model: generator.model_id().to_string(),
            },
        );
        file.save(&speeds)?;
        eprintln!(
            "{backend}: recorded in {} (auto now picks {})",
            file.path().display(),
            speeds
                .faster(args.gpu, generator.model_id())
                .map_or("by rule: measure the other engine too".into(), |b| b
                    .to_string())
        );
    }
    Ok(Report {
        backend: backend.to_string(),
        model: generator.model_id().to_string(),
        model_bytes,
        threads: args.threads,
        load_s,
        runs,
        cap_holds,
        cap_generated_tokens: capped.generated_tokens,
        rag_retrieval_ms,
    })
}

fn message(role: &str, content: &str) -> Message {
    Message {
        role: role.into(),
        content: content.into(),
    }
}

fn chat_messages(messages: &[Message]) -> Vec<ChatMessage> {
    messages
        .iter()
        .map(|m| {
            let role = match m.role.as_str() {
                "system" => ChatRole::System,
                "assistant" => ChatRole::Assistant,
                _ => ChatRole::User,
            };
            ChatMessage::new(role, m.content.clone())
        })
        .collect()
}

async fn time_case(generator: &dyn Generator, case: &Case) -> anyhow::Result<Timing> {
    let start = Instant::now();
    let mut stream = generator
        .generate(
            chat_messages(&case.messages),
            GenerationParams {
                max_tokens: case.max_tokens,
                temperature: 0.0,
            },
        )
        .await?;
    let mut first = None;
    let mut finish = None;
    while let Some(event) = stream.next().await {
        match event? {
            GenerationEvent::Token(_) => {
                first.get_or_insert_with(Instant::now);
            }
            GenerationEvent::Finished {
                stop,
                prompt_tokens,
                generated_tokens,
            } => finish = Some((stop, prompt_tokens, generated_tokens)),
        }
    }
    let end = Instant::now();
    let (stop, prompt_tokens, generated_tokens) =
        finish.context("the engine ended without a finish event")?;
    let first = first.unwrap_or(end);
    let ttft_s = (first - start).as_secs_f64();
    let after_first = (end - first).as_secs_f64();
    Ok(Timing {
        name: case.name.clone(),
        prompt_tokens,
        generated_tokens,
        ttft_s,
        total_s: (end - start).as_secs_f64(),
        prompt_tok_s: prompt_tokens as f64 / ttft_s.max(1e-9),
        decode_tok_s: (generated_tokens > 1 && after_first > 0.0)
            .then(|| (generated_tokens - 1) as f64 / after_first),
        stop: match stop {
            StopReason::EndOfAnswer => "end",
            StopReason::Length => "length",
            StopReason::Cancelled => "cancelled",
            StopReason::Interrupted => "interrupted",
        }
        .into(),
    })
}

/// The cases: prompts of 512 and 2,048 tokens, the RAG prompt, and a decode run; each
/// repeated `runs` times with a different first line.
async fn make_cases(
    paths: &Paths,
    args: &Args,
    generator: &Arc<dyn Generator>,
) -> anyhow::Result<(Vec<Case>, Option<u64>)> {
    let filler = match &args.filler {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        None => anyhow::bail!("--filler is needed to make the prompts"),
    };
    let (rag, retrieval_ms) = match &args.rag_docs {
        Some(docs) => {
            let (messages, ms) = rag_messages(paths, docs, &args.question, generator).await?;
            (Some(messages), Some(ms))
        }
        None => (None, None),
    };
    let mut cases = Vec::new();
    for run in 0..args.runs.max(1) {
        let marker = format!("Run {run} of the benchmark.");
        for (i, target) in [512usize, 2048].into_iter().enumerate() {
            // Each prompt starts at its own place in the filler, so that no prompt is a prefix
            // of another an engine could reuse from its cache.
            let offset = (run * 2 + i) * 2000;
            let messages =
                sized_prompt(generator.as_ref(), &marker, &filler, offset, target).await?;
            cases.push(Case {
                name: format!("prompt-{target}"),
                messages,
                max_tokens: 1,
            });
        }
        if let Some(rag) = &rag {
            let mut messages = rag.clone();
            if let Some(first) = messages.first_mut() {
                first.content = format!("{marker}\n{}", first.content);
            }
            cases.push(Case {
                name: "rag-ttft".into(),
                messages,
                max_tokens: 1,
            });
        }
        cases.push(Case {
            name: "decode".into(),
            messages: vec![
                message("system", &marker),
                message(
                    "user",
                    "Write a long, detailed story about a lighthouse keeper and a storm.",
                ),
            ],
            max_tokens: args.decode_tokens,
        });
    }
    Ok((cases, retrieval_ms))
}

/// A request of `target` prompt tokens (template included): a summary asked of the words of
/// `filler` from `offset` on, cut by bisection.
async fn sized_prompt(
    generator: &dyn Generator,
    marker: &str,
    filler: &str,
    offset: usize,
    target: usize,
) -> anyhow::Result<Vec<Message>> {
    let all: Vec<&str> = filler.split_whitespace().collect();
    anyhow::ensure!(offset < all.len(), "the filler text has too few words");
    let words = &all[offset..];
    let build = |n: usize| {
        vec![
            message("system", marker),
            message(
                "user",
                &format!("Summarise this text.\n\n{}", words[..n].join(" ")),
            ),
        ]
    };
    let (mut low, mut high) = (0usize, words.len());
    while low < high {
        let mid = (low + high).div_ceil(2);
        let tokens = generator.prompt_tokens(&chat_messages(&build(mid))).await?;
        if tokens <= target {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    anyhow::ensure!(
        generator
            .prompt_tokens(&chat_messages(&build(words.len())))
            .await?
            >= target,
        "the filler text is shorter than {target} tokens"
    );
    Ok(build(low))
}

/// Ingests `docs` into a temporary data folder and captures the messages Cairn hands the
/// model for `question` (retrieved, gated and packed as `cairn ask` does).
async fn rag_messages(
    paths: &Paths,
    docs: &Path,
    question: &str,
    generator: &Arc<dyn Generator>,
) -> anyhow::Result<(Vec<Message>, u64)> {
    let dir = tempfile::tempdir()?;
    let embedder = app::load_embedder(&paths.embedder).await?;
    let opened = app::open_stores(dir.path(), embedder).await?;
    let report = opened
        .engine
        .ingest(
            &[docs.to_path_buf()],
            &|_: &cairn_core::ingest::IngestEvent| {},
        )
        .await?;
    anyhow::ensure!(
        !report.indexed.is_empty(),
        "no document of {} could be indexed",
        docs.display()
    );
    let capture = Arc::new(Capture {
        inner: Arc::clone(generator),
        seen: Mutex::new(None),
    });
    let ports = AnswerPorts {
        generator: Arc::clone(&capture) as Arc<dyn Generator>,
        conversations: opened.conversations,
    };
    let mut request = AskRequest::new(question);
    request.settings = AnswerSettings::default();
    let mut retrieval_ms = 0;
    let outcome = opened
        .engine
        .ask(&ports, request, Cancel::never(), &mut |event: AskEvent| {
            if let AskEvent::Done { timings, .. } = &event {
                retrieval_ms = timings.retrieval_ms;
            }
        })
        .await?;
    let messages = capture
        .seen
        .lock()
        .map_err(|_| anyhow::anyhow!("capture poisoned"))?
        .take();
    let Some(messages) = messages else {
        anyhow::bail!(
            "Cairn did not call the model for {question:?} ({outcome:?}): ask a question the \
             documents answer"
        );
    };
    let messages = messages
        .into_iter()
        .map(|m| Message {
            role: match m.role {
                ChatRole::System => "system",
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            }
            .into(),
            content: m.content,
        })
        .collect();
    Ok((messages, retrieval_ms))
}

/// A generator that records the messages it is asked to continue and answers nothing.
struct Capture {
    inner: Arc<dyn Generator>,
    seen: Mutex<Option<Vec<ChatMessage>>>,
}

#[async_trait]
impl Generator for Capture {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn context_window(&self) -> usize {
        self.inner.context_window()
    }

    async fn count_tokens(&self, text: &str) -> PortResult<usize> {
        self.inner.count_tokens(text).await
    }

    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
        self.inner.prompt_tokens(messages).await
    }

    async fn generate(
        &self,
        messages: Vec<ChatMessage>,
        _params: GenerationParams,
    ) -> PortResult<GenerationStream> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(messages);
        }
        Ok(Box::pin(futures::stream::iter([Ok(
            GenerationEvent::Finished {
                stop: StopReason::EndOfAnswer,
                prompt_tokens: 0,
                generated_tokens: 0,
            },
        )])))
    }
}
