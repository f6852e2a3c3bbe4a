//! Errors of the server: its own (binding, serving), and those of a request, answered in the
//! OpenAI error shape (`{"error": {"message", "type", "code"}}`) that clients already show.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cairn_core::error::CoreError;
use cairn_core::ErrorCode;
use std::net::SocketAddr;

/// What stops the server itself.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server on {address} stopped: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the MCP connection failed: {0}")]
    Mcp(String),
}

/// A request that cannot be answered, with the status and code a client branches on.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, …).
    pub kind: &'static str,
    /// A stable code (`invalid_token`, `not_found`, or Cairn's error code).
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_request".into(),
            message: message.into(),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        let (status, kind) = match code {
            ErrorCode::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request_error"),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, "invalid_request_error"),
            ErrorCode::ModelMissing => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
            ErrorCode::Timeout => (StatusCode::GATEWAY_TIMEOUT, "server_error"),
            ErrorCode::Busy => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        ApiError {
            status,
            kind,
            code: code.as_str().into(),
            message: e.to_string(),
        }
    }
}

impl ApiError {
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.code,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        kind: "invalid_request_error",
        code: "not_found".into(),
        message: format!(
            "no such endpoint {}: Cairn serves /v1/chat/completions, /v1/models, \
             /api/v1/search and /api/v1/documents",
            uri.path()
        ),
    }
}
