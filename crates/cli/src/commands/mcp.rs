//! `cairn mcp`: the library as an MCP server on stdin and stdout, for assistants that do
//! their own answering (Claude Desktop, LM Studio, Jan start it as a child process).

use crate::app::{self, Paths};
use std::process::ExitCode;

pub async fn run(paths: &Paths) -> anyhow::Result<ExitCode> {
    // stdout carries the protocol: everything said here goes to stderr, which MCP clients
    // keep in their server logs.
    let engine = app::open(paths).await?;
    eprintln!(
        "cairn mcp: serving the library in {} over stdio (tools: search_documents, \
         get_passage, list_documents)",
        paths.data_dir.display()
    );
    cairn_serve::mcp::serve_stdio(engine).await?;
    Ok(ExitCode::SUCCESS)
}
