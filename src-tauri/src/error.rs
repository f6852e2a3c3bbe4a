//! The one error type the front end sees: a stable code to branch on and a sentence to show.

use cairn_core::error::Coded;
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

/// Each error type a command can meet gives its own code (`Coded`); nothing is downcast.
macro_rules! from_coded {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for AppError {
            fn from(e: $error) -> Self {
                AppError::new(Coded::code(&e), error_chain(&e))
            }
        }
    )*};
}

from_coded!(
    CoreError,
    cairn_core::error::PortError,
    cairn_host::HostError,
    cairn_store::StoreError,
    cairn_models::ModelError,
    cairn_models::install::InstallError,
    cairn_models::remote::keychain::KeychainError,
    cairn_hub::HubError,
);

/// The error and its causes, as one sentence ("cannot open …: the folder is in use").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
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
    fn a_busy_data_folder_keeps_its_code_through_host() {
        let busy = cairn_store::StoreError::Busy {
            path: "/data".into(),
            holder: "process 7".into(),
        };
        let e = AppError::from(cairn_host::HostError::Open {
            folder: "/data".into(),
            source: busy,
        });
        assert_eq!(e.code, ErrorCode::Busy);
        assert!(
            e.message.starts_with("cannot open the data folder /data: "),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_full_disk_during_a_download_has_its_own_code() {
        let full = cairn_hub::HubError::DiskFull {
            folder: "/models".into(),
            needed_mib: 4700,
            free_mib: 12,
        };
        let e = AppError::from(cairn_models::install::InstallError::Hub(full));
        assert_eq!(e.code, ErrorCode::DiskFull);
    }
}
