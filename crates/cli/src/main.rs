//! `cairn`: index your documents, search them and ask them questions from the command line.

mod app;
mod commands;
mod interrupt;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Private answers from your own documents"
)]
struct Cli {
    /// Where Cairn keeps its catalog and indexes (default: the platform's data folder).
    #[arg(long, global = true, env = "CAIRN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Embedder folder (ONNX, from scripts/setup) for a new library, or to switch to
    /// (default: multilingual-e5-small in the models folder).
    #[arg(long, global = true, env = "CAIRN_EMBEDDER")]
    embedder: Option<PathBuf>,
    /// GGUF file of the chat model (default: Llama 3.1 8B Instruct Q4_K_M in the models folder).
    #[arg(long = "model", global = true, env = "CAIRN_GENERATOR")]
    generator: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Index files and folders (documents of every format Cairn reads; see --help).
    #[command(after_help = format!("Formats: {}.", cairn_extract::supported()))]
    Ingest(commands::ingest::Args),
    /// Find the passages that best match a question.
    Search(commands::search::Args),
    /// Answer a question from your documents, citing page and passage.
    Ask(commands::ask::AskArgs),
    /// Ask questions one after another in a chat (follow-ups keep the context).
    Chat(commands::ask::ChatArgs),
    /// List saved chats, or show one.
    Chats(commands::ask::ChatsArgs),
    /// Serve the library to other tools on this computer: an OpenAI-compatible API whose
    /// answers cite your documents, plus search and the document list (token required).
    Serve(commands::serve::Args),
    /// Serve the library to MCP clients (Claude Desktop, LM Studio, Jan) over stdin and
    /// stdout: tools to search it, read a passage in context and list its documents.
    Mcp,
    /// Keep a model server's API key in the system keychain (set, forget, check).
    #[command(subcommand)]
    Key(commands::key::Command),
    /// List indexed documents and their states.
    Docs(commands::docs::Args),
    /// Remove documents (by id or path) from every store.
    Rm(commands::docs::RmArgs),
    /// Rebuild the full-text index and the vector store from the catalog.
    Reindex,
    /// The model catalogue: list (with fit), pull from Hugging Face, add your own GGUF,
    /// remove, use.
    Models(commands::models::Args),
    /// Show the library's embedder, or switch it (`cairn embedder use FOLDER`).
    Embedder(commands::embedder::Args),
    /// Check that the catalog and both indexes agree (and repair them with --repair).
    Doctor(commands::doctor::Args),
    /// Keep folders in step with the index: new, edited, moved and deleted files.
    Watch(commands::watch::Args),
    /// Measure retrieval quality.
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
    /// Measure speed (release builds; scripts/bench runs the peers and writes bench/RESULTS.md).
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Runs one extraction in isolation (used by Cairn itself).
    #[command(name = "extract-worker", hide = true)]
    ExtractWorker { path: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::ExtractWorker { path } = &cli.command {
        let code = cairn_extract::worker::serve(path);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    cairn_host::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", said_once(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once: many errors already quote their cause.
fn said_once(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = app::Paths::resolve(cli.data_dir, cli.embedder, cli.generator)?;
    match cli.command {
        Command::Ingest(args) => commands::ingest::run(&paths, args).await,
        Command::Search(args) => commands::search::run(&paths, args).await,
        Command::Ask(args) => commands::ask::ask(&paths, args).await,
        Command::Chat(args) => commands::ask::chat(&paths, args).await,
        Command::Chats(args) => commands::ask::chats(&paths, args).await,
        Command::Serve(args) => commands::serve::run(&paths, args).await,
        Command::Mcp => commands::mcp::run(&paths).await,
        Command::Key(command) => commands::key::run(command).await,
        Command::Docs(args) => commands::docs::run(&paths, args).await,
        Command::Rm(args) => commands::docs::rm(&paths, args).await,
        Command::Reindex => commands::docs::reindex(&paths).await,
        Command::Doctor(args) => commands::doctor::run(&paths, args).await,
        Command::Embedder(args) => commands::embedder::run(&paths, args).await,
        Command::Models(args) => commands::models::run(&paths, args).await,
        Command::Watch(args) => commands::watch::run(&paths, args).await,
        Command::Eval(cmd) => commands::eval::run(&paths, cmd).await,
        Command::Bench(cmd) => commands::bench::run(&paths, cmd).await,
        Command::ExtractWorker { .. } => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod log_filter_tests {
    use cairn_host::default_log_filter;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::Mutex;

    /// What a subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_or(Ok(0), |mut v| {
                v.extend_from_slice(buf);
                Ok(buf.len())
            })
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_default_log_filter_silences_llama_cpps_warnings_and_keeps_cairns() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(default_log_filter())
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // The target llama-cpp-2 gives the lines it forwards from llama.cpp.
            tracing::warn!(target: "llama-cpp-2", "llama_context: n_ctx_per_seq < n_ctx_train");
            tracing::warn!(target: "cairn_core::engine", "a warning of Cairn's");
        });
        let out = String::from_utf8(captured.0.lock().map(|v| v.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert!(!out.contains("n_ctx_per_seq"), "{out}");
        assert!(out.contains("a warning of Cairn's"), "{out}");
    }
}
