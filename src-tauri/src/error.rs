//! The one error type the front end sees: a stable code to branch on and a sentence to show.

use cairn_core::{CoreError, ErrorCode};
use serde::Serialize;
use ts_rs::TS;

/// An error of a command, serialised as `{ code, message }`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<cairn_core::error::PortError> for AppError {
    fn from(e: cairn_core::error::PortError) -> Self {
        AppError::new(e.code, e.to_string())
    }
}

impl From<anyhow::Error> for AppError {
    /// The code of the first typed error in the chain; the whole chain as the message.
    fn from(e: anyhow::Error) -> Self {
        let code = e
            .chain()
            .find_map(|cause| {
                if let Some(c) = cause.downcast_ref::<CoreError>() {
                    Some(c.code())
                } else if let Some(s) = cause.downcast_ref::<cairn_store::StoreError>() {
                    Some(s.code())
                } else {
                    cause
                        .downcast_ref::<cairn_models::ModelError>()
                        .map(|m| match m {
                            cairn_models::ModelError::Missing { .. } => ErrorCode::ModelMissing,
                            _ => ErrorCode::Internal,
                        })
                }
            })
            .unwrap_or(ErrorCode::Internal);
        AppError::new(code, format!("{e:#}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_with_their_stable_code() {
        let e = AppError::from(CoreError::EmptyQuery);
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["code"], "invalid_request");
        assert_eq!(json["message"], "the search query is empty");
    }

    #[test]
    fn a_typed_cause_gives_the_code_through_context() {
        let busy = cairn_store::StoreError::Busy {
            path: "/data".into(),
            holder: "process 7".into(),
        };
        let e = AppError::from(anyhow::Error::new(busy).context("cannot open the data folder"));
        assert_eq!(e.code, ErrorCode::Busy);
        assert!(e.message.starts_with("cannot open the data folder: "));
    }
}
