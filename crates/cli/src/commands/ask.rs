//! `cairn ask`, `cairn chat` and `cairn chats`: grounded answers streamed to the terminal.

use crate::app::{self, Paths};
use anyhow::Context;
use cairn_core::answer::{AnswerSettings, AskEvent, AskRequest, Source};
use cairn_core::conversation::Citation;
use cairn_core::engine::AnswerPorts;
use cairn_core::{Cancel, ChatId, DocumentId, Engine};
use cairn_host::answering::{GeneratorChoice, Generators};
use cairn_models::{Backend, GeneratorOptions, RemoteOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Clone)]
pub struct AnswerArgs {
    /// Passages to retrieve for each question.
    #[arg(short = 'k', long, default_value_t = 8)]
    passages: usize,
    /// Most tokens of an answer.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Tokens of prompt and answer the model runs with (default: the model's, at most 8192; on
    /// a server, Llama 3.1's 131072).
    #[arg(long)]
    context: Option<usize>,
    /// Only use these documents (ids from `cairn docs`).
    #[arg(long = "doc")]
    documents: Vec<i64>,
    /// Have the model rewrite a follow-up into a question that stands alone before searching
    /// (one short extra generation: worth it with a fast or served model). Without it, the
    /// previous question and the follow-up are searched together.
    #[arg(long, env = "CAIRN_REWRITE_FOLLOW_UPS")]
    rewrite_follow_ups: bool,
    /// Run the model on the CPU even when a GPU build is available.
    #[arg(long)]
    cpu: bool,
    /// The engine that runs the model: auto (llama.cpp on the CPU, mistral.rs on a GPU),
    /// llama.cpp or mistral.rs.
    #[arg(long, env = "CAIRN_BACKEND", default_value = "auto")]
    backend: Backend,
    /// CPU threads for llama.cpp (default: the physical cores).
    #[arg(long, env = "CAIRN_THREADS")]
    threads: Option<usize>,
    /// Print one JSON event per line instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// A served model instead of the local one. Only the question, the chat and the passages
/// Cairn picked travel to it; the documents and their indexes stay here.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// Answer with the model on this OpenAI-compatible server (vLLM, NVIDIA NIM, Databricks,
    /// llama.cpp's server, Ollama): its API's base URL, e.g. http://gpu-box:8000/v1. Its API
    /// key comes from CAIRN_API_KEY or the system keychain (`cairn key set URL`), never
    /// from the command line.
    #[arg(long, env = "CAIRN_GENERATOR_URL", requires = "generator_model")]
    generator_url: Option<String>,
    /// The served model's name, e.g. meta-llama/Llama-3.1-70B-Instruct.
    #[arg(long, env = "CAIRN_GENERATOR_MODEL")]
    generator_model: Option<String>,
    /// The served model's tokenizer.json, to count tokens exactly (otherwise a high estimate
    /// keeps the prompt inside the context window).
    #[arg(long, env = "CAIRN_GENERATOR_TOKENIZER")]
    generator_tokenizer: Option<PathBuf>,
    /// Seconds of silence from the server mid-answer before the answer ends there with an
    /// error (what was said is kept).
    #[arg(long, env = "CAIRN_GENERATOR_IDLE_TIMEOUT", default_value_t = 60)]
    generator_idle_timeout: u64,
}

impl ServerArgs {
    /// The served model's settings, if one is named. `context` is the window the server runs
    /// the model with (default: Llama 3.1's 128k).
    async fn options(&self, context: Option<usize>) -> anyhow::Result<Option<RemoteOptions>> {
        let Some(url) = &self.generator_url else {
            return Ok(None);
        };
        let model = self
            .generator_model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .context("--generator-url needs --generator-model (CAIRN_GENERATOR_MODEL): the name the server gives the model")?;
        let mut options = RemoteOptions::new(url.clone(), model);
        options.tokenizer.clone_from(&self.generator_tokenizer);
        options.idle_timeout = std::time::Duration::from_secs(self.generator_idle_timeout.max(1));
        if let Some(context) = context {
            options.context_window = context;
        }
        Ok(Some(options))
    }
}

#[derive(clap::Args)]
pub struct AskArgs {
    /// The question.
    question: String,
    /// Continue this chat (ids from `cairn chats`).
    #[arg(long)]
    chat: Option<i64>,
    #[command(flatten)]
    answer: AnswerArgs,
}

#[derive(clap::Args)]
pub struct ChatArgs {
    /// Continue this chat instead of starting a new one.
    #[arg(long)]
    chat: Option<i64>,
    #[command(flatten)]
    answer: AnswerArgs,
}

#[derive(clap::Args)]
pub struct ChatsArgs {
    /// Show the messages of this chat.
    id: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) struct Session {
    pub(crate) engine: Engine,
    pub(crate) models: AnswerPorts,
    args: AnswerArgs,
}

/// Opens the library and loads the model (local, or the server's) the arguments name.
pub(crate) async fn open(paths: &Paths, args: AnswerArgs) -> anyhow::Result<Session> {
    let embedder = app::load_embedder(&paths.embedder).await?;
    let opened = app::open_stores(&paths.data_dir, embedder).await?;
    let choice = match args.server.options(args.context).await? {
        Some(options) => {
            if !args.json {
                eprintln!(
                    "answering with {} at {}",
                    options.model,
                    options.shown_url()
                );
            }
            GeneratorChoice::Served(options)
        }
        None => {
            if !args.json {
                eprintln!("loading {} …", paths.generator.display());
            }
            GeneratorChoice::Local {
                path: paths.generator.clone(),
                options: GeneratorOptions {
                    context_tokens: args.context,
                    force_cpu: args.cpu,
                    backend: args.backend,
                    threads: args.threads,
                },
            }
        }
    };
    let generator = Generators::default().get(choice).await?;
    Ok(Session {
        engine: opened.engine,
        models: AnswerPorts {
            generator,
            conversations: opened.conversations,
        },
        args,
    })
}

impl Session {
    /// Passages and answer length as the arguments set them.
    pub(crate) fn settings(&self) -> AnswerSettings {
        let mut settings = AnswerSettings {
            passages: self.args.passages,
            rewrite_follow_ups: self.args.rewrite_follow_ups,
            ..AnswerSettings::default()
        };
        settings.generation.max_tokens = self.args.max_tokens;
        settings
    }

    fn request(&self, question: String, chat: Option<ChatId>) -> AskRequest {
        let settings = self.settings();
        AskRequest {
            question,
            chat,
            documents: (!self.args.documents.is_empty()).then(|| {
                self.args
                    .documents
                    .iter()
                    .copied()
                    .map(DocumentId)
                    .collect()
            }),
            settings,
        }
    }

    /// Asks one question, printing as it goes; Ctrl-C stops the answer, not the program.
    async fn ask(&self, question: String, chat: Option<ChatId>) -> anyhow::Result<ChatId> {
        let request = self.request(question, chat);
        let (handle, cancel) = Cancel::pair();
        let stopper = crate::interrupt::on_ctrl_c(move || handle.cancel())?;
        let json = self.args.json;
        let mut printer = Printer::default();
        let mut sink = |event: AskEvent| {
            if let AskEvent::Started { chat_id, .. } = &event {
                printer.chat = Some(*chat_id);
            }
            if json {
                if let Ok(line) = serde_json::to_string(&event) {
                    println!("{line}");
                }
            } else {
                printer.event(&event);
            }
        };
        let result = self
            .engine
            .ask(&self.models, request, cancel, &mut sink)
            .await;
        stopper.abort();
        // A model that failed mid-answer fails the command, after the answer so far was shown
        // and kept in the chat.
        if let AskEvent::Done {
            interruption: Some(why),
            ..
        } = result?
        {
            let chat = printer.chat.or(chat).map_or(String::new(), |c| {
                format!(" (the answer so far is kept in chat {c})")
            });
            anyhow::bail!("{why}{chat}");
        }
        printer
            .chat
            .or(chat)
            .context("the answer did not say which chat it belongs to")
    }
}

/// Prints the events of an answer for a person at a terminal.
#[derive(Default)]
struct Printer {
    chat: Option<ChatId>,
    sources: Vec<Source>,
}

impl Printer {
    fn event(&mut self, event: &AskEvent) {
        let mut out = std::io::stdout().lock();
        match event {
            AskEvent::Started { .. } => {}
            AskEvent::Retrieved {
                sources, budget, ..
            } => {
                self.sources = sources.clone();
                if !budget.dropped.is_empty() {
                    eprintln!(
                        "({} passage(s) left out: the context window holds {} tokens)",
                        budget.dropped.len(),
                        budget.context_window
                    );
                }
            }
            AskEvent::Token { text } => {
                let _ = write!(out, "{text}");
                let _ = out.flush();
            }
            AskEvent::Refused {
                message, searched, ..
            } => {
                let _ = writeln!(out, "{message}");
                if !searched.is_empty() {
                    let shown: Vec<&str> = searched.iter().take(10).map(String::as_str).collect();
                    let more = searched.len().saturating_sub(shown.len());
                    let _ = writeln!(
                        out,
                        "Searched: {}{}",
                        shown.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            AskEvent::Done {
                citations,
                uncited,
                timings,
                stop,
                ..
            } => {
                let _ = writeln!(out);
                match stop {
                    cairn_core::generation::StopReason::Cancelled => {
                        let _ = writeln!(out, "(stopped)");
                    }
                    cairn_core::generation::StopReason::Interrupted => {
                        let _ = writeln!(out, "(cut off: the model stopped answering)");
                    }
                    _ => {}
                }
                if !citations.is_empty() {
                    let _ = writeln!(out, "\nSources:");
                    for c in citations {
                        let _ = writeln!(out, "{}", citation_line(c));
                    }
                }
                if !uncited.is_empty() {
                    let _ = writeln!(out, "\nAlso retrieved, not cited:");
                    for n in uncited {
                        if let Some(s) = self.sources.iter().find(|s| s.n == *n) {
                            let _ = writeln!(
                                out,
                                "[{n}] {} {}",
                                cairn_core::answer::source_name(&s.hit.document_path),
                                s.hit.chunk.location()
                            );
                        }
                    }
                }
                eprintln!(
                    "\n(retrieval {} ms · first token {} · {} prompt tokens · {} answer tokens{})",
                    timings.retrieval_ms,
                    timings
                        .time_to_first_token_ms
                        .map_or("-".into(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
                    timings.prompt_tokens,
                    timings.generated_tokens,
                    timings
                        .decode_tokens_per_s
                        .map_or(String::new(), |t| format!(" · {t:.1} tok/s")),
                );
            }
        }
    }
}

fn citation_line(c: &Citation) -> String {
    let quote: String = c.quote.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown: String = quote.chars().take(300).collect();
    let ellipsis = if quote.chars().count() > 300 {
        "…"
    } else {
        ""
    };
    let location = c.location();
    format!(
        "[{}] {}{} — \"{shown}{ellipsis}\"{}",
        c.n,
        cairn_core::answer::source_name(&c.document_path),
        if location.is_empty() {
            String::new()
        } else {
            format!(" {location}")
        },
        if c.inferred {
            " (matched by Cairn: the model did not cite it)"
        } else {
            ""
        },
    )
}

pub async fn ask(paths: &Paths, args: AskArgs) -> anyhow::Result<ExitCode> {
    let session = open(paths, args.answer).await?;
    let chat = session.ask(args.question, args.chat.map(ChatId)).await?;
    if !session.args.json {
        eprintln!("(chat {chat}: continue with `cairn ask --chat {chat} …` or `cairn chat --chat {chat}`)");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn chat(paths: &Paths, args: ChatArgs) -> anyhow::Result<ExitCode> {
    let session = open(paths, args.answer).await?;
    let mut chat = args.chat.map(ChatId);
    let stdin = std::io::stdin();
    if !session.args.json {
        eprintln!(
            "Ask a question (an empty line or Ctrl-D ends the chat; Ctrl-C stops an answer)."
        );
    }
    loop {
        if !session.args.json {
            eprint!("\n> ");
        }
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        chat = Some(session.ask(line.trim().to_string(), chat).await?);
    }
    if let (Some(chat), false) = (chat, session.args.json) {
        eprintln!("(chat {chat} saved)");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn chats(paths: &Paths, args: ChatsArgs) -> anyhow::Result<ExitCode> {
    let embedder = app::load_embedder(&paths.embedder).await?;
    let opened = app::open_stores(&paths.data_dir, embedder).await?;
    let conversations = opened.conversations;
    let Some(id) = args.id.map(ChatId) else {
        let list = conversations.chats().await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&list)?);
        } else if list.is_empty() {
            println!("no chats yet: ask something with `cairn ask`");
        } else {
            for c in list {
                println!("{:>5}  {:>3} messages  {}", c.id, c.message_count, c.title);
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    conversations
        .chat(id)
        .await?
        .with_context(|| format!("no chat with id {id}"))?;
    let messages = conversations.messages(id).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&messages)?);
        return Ok(ExitCode::SUCCESS);
    }
    for m in messages {
        println!("{:?}: {}", m.role, m.content);
        for c in &m.citations {
            println!("  {}", citation_line(c));
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
