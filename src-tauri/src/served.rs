//! Answers from a served model (Settings → Engine → Server): its API key in the system
//! keychain, never in the settings file, and the Test button that proves URL, key and model
//! together before the first question.

use crate::error::{AppError, AppResult};
use cairn_core::ErrorCode;
use cairn_models::remote::keychain::{self, KeychainError};
use cairn_models::{ApiKey, RemoteError, RemoteOptions};
use serde::Serialize;
use ts_rs::TS;

fn keychain_error(e: KeychainError) -> AppError {
    AppError::from(e)
}

fn remote_error(e: RemoteError) -> AppError {
    AppError::from(cairn_host::HostError::Served(e))
}

/// Stores the key of the server at `url` in the system keychain.
#[tauri::command]
pub async fn save_server_key(url: String, key: String) -> AppResult<()> {
    let key = ApiKey::new(key)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, "the key is empty"))?;
    keychain::store_async(url, key)
        .await
        .map_err(keychain_error)
}

/// Removes the key of the server at `url`; whether one was stored.
#[tauri::command]
pub async fn forget_server_key(url: String) -> AppResult<bool> {
    keychain::forget_async(url).await.map_err(keychain_error)
}

/// Whether a key is stored for the server at `url` (the key never leaves the keychain).
#[tauri::command]
pub async fn server_key_stored(url: String) -> AppResult<bool> {
    Ok(keychain::stored_async(url)
        .await
        .map_err(keychain_error)?
        .is_some())
}

/// What the Test button found.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ServerCheck {
    /// The endpoint asked, without credentials.
    pub endpoint: String,
    pub model: String,
    /// Seconds until the model's first word.
    pub seconds: f64,
}

/// Asks the server at `url` for a one-word answer from `model`, with `key` when one was typed
/// (not yet saved), else the stored one.
#[tauri::command]
pub async fn test_server(
    url: String,
    model: String,
    key: Option<String>,
) -> AppResult<ServerCheck> {
    if model.trim().is_empty() {
        return Err(AppError::new(
            ErrorCode::InvalidRequest,
            "name the served model, as the server lists it",
        ));
    }
    let mut options = RemoteOptions::new(url.trim(), model.trim());
    options.retries = 0;
    options.api_key = key.and_then(ApiKey::new);
    let generator = cairn_host::answering::served(options).await?;
    let took = generator.check().await.map_err(remote_error)?;
    Ok(ServerCheck {
        endpoint: generator.endpoint().to_string(),
        model: model.trim().to_string(),
        seconds: took.as_secs_f64(),
    })
}
