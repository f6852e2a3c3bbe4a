//! Models from the Hugging Face Hub, or any server that speaks its protocol (`HF_ENDPOINT`):
//! `GET {endpoint}/{repo}/resolve/{revision}/{file}` answers a large file with a redirect
//! whose `X-Linked-Etag` is the file's SHA-256 and `X-Linked-Size` its size, and
//! `/api/models/{repo}/tree/{revision}` lists a revision's files with their sizes and LFS
//! object ids.
//!
//! A download writes to `<file>.part`, resumes it with `Range` after a cut connection, a
//! stall, a cancel or a restart, retries with backoff, checks the free disk space first,
//! verifies the SHA-256 of the whole file before it moves it into place (atomically), and
//! reports progress in bytes, speed and time left.

mod download;
mod error;
mod protocol;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use download::{Cancel, Download, OnRetry, Progress, Request, Retry};
pub use error::HubError;
pub use protocol::{Hub, RemoteFile, TreeEntry};
