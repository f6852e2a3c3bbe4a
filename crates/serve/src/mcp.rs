//! The library as an MCP server over stdio, for assistants that do their own answering
//! (Claude Desktop, LM Studio, Jan): they search the person's documents, read a passage in
//! its surroundings and list what is indexed. Every result says which document and page it
//! comes from, so the assistant can cite it.
//!
//! Tools: `search_documents` (query, k, optional documents), `get_passage` (chunk id,
//! context) and `list_documents`. A failed call is a tool error with a sentence the
//! assistant can act on, never a broken connection.

use crate::error::ServeError;
use cairn_core::{Chunk, DocumentId, DocumentKind, Engine, SearchHit, SearchMode, SearchRequest};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Passages a search returns unless asked for another number, and the most it returns.
const DEFAULT_K: usize = 8;
const MAX_K: usize = 50;
/// Characters of context `get_passage` adds either side unless asked, and the most.
const DEFAULT_CONTEXT: usize = 800;
const MAX_CONTEXT: usize = 8_000;

/// Serves `engine` on stdin and stdout until the client closes them.
pub async fn serve_stdio(engine: Engine) -> Result<(), ServeError> {
    let tools = LibraryTools::new(engine);
    let running = tools
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Mcp(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Mcp(e.to_string()))?;
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// What to look for: a question or keywords, in any language the library holds.
    pub query: String,
    /// How many passages to return (default 8, at most 50).
    #[serde(default)]
    pub k: Option<usize>,
    /// Only search these documents (ids from `list_documents` or earlier results).
    #[serde(default)]
    pub documents: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PassageArgs {
    /// The `chunk_id` of a passage that `search_documents` returned.
    pub chunk_id: String,
    /// Characters of the document to add before and after the passage (default 800, at
    /// most 8000).
    #[serde(default)]
    pub context: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResults {
    /// The passages, best first.
    pub results: Vec<Found>,
}

/// Where a passage is.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Place {
    /// Pass it to `get_passage` for the text around this passage.
    pub chunk_id: String,
    pub document_id: i64,
    /// The document's path on this computer.
    pub document: String,
    pub title: Option<String>,
    /// First and last page of the passage, for documents with pages.
    pub page: Option<u32>,
    pub page_end: Option<u32>,
    /// The page(s) or the section headings, as a person would cite them.
    pub location: String,
}

/// A passage found, and where it is.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Found {
    #[serde(flatten)]
    pub place: Place,
    pub text: String,
    pub score: f32,
}

/// A passage with the document's text around it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PassageInContext {
    #[serde(flatten)]
    pub place: Place,
    /// The document's text just before the passage.
    pub before: String,
    /// The passage itself.
    pub text: String,
    /// The document's text just after it.
    pub after: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentList {
    pub documents: Vec<ListedDocument>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListedDocument {
    pub id: i64,
    /// The document's path on this computer.
    pub document: String,
    pub title: Option<String>,
    /// pdf, markdown, text, html, docx …
    pub kind: String,
    /// indexed, failed, pending …; only indexed documents are searched.
    pub state: String,
    pub pages: Option<u32>,
    pub chunks: u32,
    /// Why the document could not be read, when it failed.
    pub failure: Option<String>,
}

/// The MCP tools over one library.
#[derive(Clone)]
pub struct LibraryTools {
    engine: Arc<Engine>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl LibraryTools {
    pub fn new(engine: Engine) -> Self {
        LibraryTools {
            engine: Arc::new(engine),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Search the user's own documents (PDFs, notes, Office files) for passages \
                       that answer a question or match keywords. Each result names its document \
                       and page: cite them. Returns the best passages first."
    )]
    async fn search_documents(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<Json<SearchResults>, String> {
        if args.query.trim().is_empty() {
            return Err("the query is empty: say what to look for".into());
        }
        let request = SearchRequest {
            query: args.query,
            limit: args.k.unwrap_or(DEFAULT_K).clamp(1, MAX_K),
            mode: SearchMode::Hybrid,
            documents: args
                .documents
                .filter(|d| !d.is_empty())
                .map(|d| d.into_iter().map(DocumentId).collect()),
        };
        let hits = self
            .engine
            .search(&request)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Json(SearchResults {
            results: hits.iter().map(found).collect(),
        }))
    }

    #[tool(
        description = "Read a passage that search_documents returned together with the text \
                       around it in its document, to see its context."
    )]
    async fn get_passage(
        &self,
        Parameters(args): Parameters<PassageArgs>,
    ) -> Result<Json<PassageInContext>, String> {
        let context = args.context.unwrap_or(DEFAULT_CONTEXT).min(MAX_CONTEXT);
        let id = cairn_core::ChunkId(args.chunk_id);
        let (chunk, passage) = self
            .engine
            .chunk_passage(&id, context)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Json(PassageInContext {
            place: place(&chunk, passage.document_path, passage.document_title),
            before: passage.before,
            text: passage.quote,
            after: passage.after,
        }))
    }

    #[tool(
        description = "List the documents in the user's library with their ids, titles, page \
                       counts and whether they could be indexed."
    )]
    async fn list_documents(&self) -> Result<Json<DocumentList>, String> {
        let documents = self.engine.documents().await.map_err(|e| e.to_string())?;
        Ok(Json(DocumentList {
            documents: documents
                .into_iter()
                .map(|d| ListedDocument {
                    id: d.id.0,
                    document: d.path,
                    title: d.title,
                    kind: d.kind.map_or("unknown", DocumentKind::as_str).into(),
                    state: d.state.as_str().into(),
                    pages: (d.page_count > 0).then_some(d.page_count),
                    chunks: d.chunk_count,
                    failure: d.failure.map(|f| f.to_string()),
                })
                .collect(),
        }))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for LibraryTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("cairn", env!("CARGO_PKG_VERSION"))
                    .with_title("Cairn: your documents"),
            )
            .with_instructions(
                "Cairn searches the user's own documents on this computer. Use \
                 search_documents to find passages, get_passage to read one in context, and \
                 list_documents to see what is there. Cite the document and page of every \
                 passage you use; if no passage says it, tell the user the documents do not.",
            )
    }
}

fn place(chunk: &Chunk, document: String, title: Option<String>) -> Place {
    Place {
        chunk_id: chunk.id.0.clone(),
        document_id: chunk.document_id.0,
        document,
        title,
        page: chunk.page_start,
        page_end: chunk.page_end,
        location: chunk.location(),
    }
}

fn found(h: &SearchHit) -> Found {
    Found {
        place: place(&h.chunk, h.document_path.clone(), h.document_title.clone()),
        text: h.chunk.text.clone(),
        score: h.score.0,
    }
}
