//! API keys of model servers in the operating system's keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service of GNOME Keyring or KWallet on Linux), one per
//! server, so that no key is ever written to Cairn's settings file or a shell history.
//!
//! The keychain calls block (they talk to a daemon), so the async helpers run them on a
//! blocking thread.

use super::ApiKey;

/// The keychain's name for Cairn's entries.
const SERVICE: &str = "cairn-model-server";

/// The keychain cannot be used: none runs (a headless Linux session often has no Secret
/// Service), it is locked, or it refused.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("the server URL {0} is not a valid http(s) URL")]
    BadUrl(String),
    #[error(
        "the system keychain cannot be used ({0}); set CAIRN_API_KEY instead, or start a \
         keychain (GNOME Keyring, KWallet)"
    )]
    Unavailable(String),
}

impl cairn_core::error::Coded for KeychainError {
    fn code(&self) -> cairn_core::ErrorCode {
        match self {
            KeychainError::BadUrl(_) => cairn_core::ErrorCode::InvalidRequest,
            KeychainError::Unavailable(_) => cairn_core::ErrorCode::Unreadable,
        }
    }
}

/// The keychain entry of a server: its origin (`https://gpu-box:8000`), so that every path
/// on one server shares a key and a key never goes to another host or port.
pub fn account(url: &str) -> Result<String, KeychainError> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|_| KeychainError::BadUrl(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(KeychainError::BadUrl(url.to_string()));
    }
    Ok(parsed.origin().ascii_serialization())
}

fn entry(url: &str) -> Result<keyring::Entry, KeychainError> {
    let account = account(url)?;
    // Why the platform's store could not be opened (no session bus, no Secret Service), as
    // its own words rather than keyring's later "no default store".
    if let Err(e) = keyring::Entry::store_status() {
        return Err(KeychainError::Unavailable(e.to_string()));
    }
    keyring::Entry::new(SERVICE, &account).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> KeychainError {
    KeychainError::Unavailable(e.to_string())
}

/// The key stored for the server at `url`, if any.
pub fn stored(url: &str) -> Result<Option<ApiKey>, KeychainError> {
    match entry(url)?.get_password() {
        Ok(key) => Ok(ApiKey::new(key)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// Stores `key` for the server at `url`, replacing any other.
pub fn store(url: &str, key: &ApiKey) -> Result<(), KeychainError> {
    entry(url)?.set_password(&key.0).map_err(unavailable)
}

/// Removes the key of the server at `url`; whether there was one.
pub fn forget(url: &str) -> Result<bool, KeychainError> {
    match entry(url)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// A keychain call on a blocking thread, off the async runtime.
async fn off_runtime<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| KeychainError::Unavailable(e.to_string()))?
}

/// [`stored`] on a blocking thread.
pub async fn stored_async(url: String) -> Result<Option<ApiKey>, KeychainError> {
    off_runtime(move || stored(&url)).await
}

/// [`store`] on a blocking thread.
pub async fn store_async(url: String, key: ApiKey) -> Result<(), KeychainError> {
    off_runtime(move || store(&url, &key)).await
}

/// [`forget`] on a blocking thread.
pub async fn forget_async(url: String) -> Result<bool, KeychainError> {
    off_runtime(move || forget(&url)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_server_origin() {
        let a = account("http://gpu-box:8000/v1");
        let b = account("http://gpu-box:8000/v1/chat/completions");
        assert_eq!(a.as_ref().ok(), Some(&"http://gpu-box:8000".to_string()));
        assert_eq!(a.ok(), b.ok());
        // Another port or scheme is another server, with its own key.
        assert_ne!(
            account("http://gpu-box:8001/v1").ok(),
            account("http://gpu-box:8000/v1").ok()
        );
        assert_ne!(
            account("https://gpu-box/v1").ok(),
            account("http://gpu-box/v1").ok()
        );
        // User names in the URL never become part of the entry.
        assert_eq!(
            account("https://me:pw@api.example.com/serving-endpoints").ok(),
            Some("https://api.example.com".to_string())
        );
        assert!(matches!(
            account("gpu-box:8000"),
            Err(KeychainError::BadUrl(_))
        ));
        assert!(matches!(
            account("file:///etc"),
            Err(KeychainError::BadUrl(_))
        ));
    }
}
