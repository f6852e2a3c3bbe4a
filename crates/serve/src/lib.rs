//! The library as a server for other tools on this computer: editors, scripts and assistants
//! ask it through the OpenAI chat-completions API (and get grounded, cited answers), search
//! it, and list its documents.
//!
//! - `POST /v1/chat/completions`, streamed or not: the last user message is the question,
//!   earlier turns are the chat it follows up on. Citations come in an extra `cairn` object
//!   (`{"citations": [...], "refused": bool}`); when streaming, in a last chunk whose
//!   `choices` is empty, before `[DONE]`.
//! - `GET /v1/models`: the one model, Cairn over this library.
//! - `POST /api/v1/search`, `GET /api/v1/documents`.
//!
//! [`mcp`] serves the same library to MCP clients over stdio.
//!
//! Binds to loopback unless told otherwise, wants a bearer token on every request, accepts
//! only the Host names it serves (a web page cannot reach it through DNS rebinding), and
//! sends no CORS headers (a browser page on another origin cannot read its answers).

mod auth;
mod chat;
mod error;
mod library;
pub mod mcp;
mod models;
mod transcript;

pub use auth::Token;
pub use error::ServeError;

use axum::routing::{get, post};
use axum::Router;
use cairn_core::answer::AnswerSettings;
use cairn_core::ports::Generator;
use cairn_core::Engine;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the server answers from.
pub struct Library {
    pub engine: Engine,
    pub generator: Arc<dyn Generator>,
    /// The defaults of an answer (passages, length); a request may lower the length.
    pub settings: AnswerSettings,
}

/// The name `/v1/models` lists and answers carry.
pub const MODEL_NAME: &str = "cairn";

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    address: SocketAddr,
}

impl Server {
    /// Binds `address` (port 0 picks a free one). `token` guards every request.
    pub async fn bind(
        address: SocketAddr,
        library: Library,
        token: Token,
    ) -> Result<Self, ServeError> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { address, source })?;
        let guard = auth::Guard::new(token, address);
        let router = routes(library).layer(axum::middleware::from_fn_with_state(
            Arc::new(guard),
            auth::check,
        ));
        Ok(Server {
            listener,
            router,
            address,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves; answers in progress are finished first.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let address = self.address;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| ServeError::Serve { address, source })
    }
}

fn routes(library: Library) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/models", get(models::list))
        .route("/api/v1/search", post(library::search))
        .route("/api/v1/documents", get(library::documents))
        .fallback(error::not_found)
        .with_state(Arc::new(library))
}
