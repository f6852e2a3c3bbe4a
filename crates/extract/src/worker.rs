//! The worker side of isolated extraction: read one file, extract it, print the result.
//!
//! The reply is the last line after [`REPLY_MARKER`] on stdout, as JSON, so that anything a
//! parser prints on its own cannot be mistaken for it. While OCR runs, each page it starts
//! is announced on a line of its own after [`PROGRESS_MARKER`].

use crate::{extract_with, kind_for_path, ExtractError, OcrRequest};
use cairn_core::{ExtractedDocument, Failure};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

pub const REPLY_MARKER: &str = "\u{1e}cairn-extract-reply";
pub const PROGRESS_MARKER: &str = "\u{1e}cairn-extract-progress";
/// Environment variable with the worker's address-space limit in bytes.
pub const MEMORY_ENV: &str = "CAIRN_EXTRACT_MEMORY_BYTES";

/// What the worker answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Extracted(ExtractedDocument),
    Failed(Failure),
}

/// Extracts `path` and prints the reply; returns the process exit code.
pub fn serve(path: &Path) -> i32 {
    if let Some(bytes) = std::env::var(MEMORY_ENV).ok().and_then(|v| v.parse().ok()) {
        limit_address_space(bytes);
    }
    yield_to_embedding();
    let reply = match extract_path(path) {
        Ok(doc) => Reply::Extracted(doc),
        Err(e) => Reply::Failed(e.to_failure()),
    };
    let Ok(json) = serde_json::to_string(&reply) else {
        return 3;
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{REPLY_MARKER}\n{json}").and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

fn extract_path(path: &Path) -> Result<ExtractedDocument, ExtractError> {
    let kind = kind_for_path(path).ok_or_else(|| {
        ExtractError::Unsupported(path.extension().map(|e| e.to_string_lossy().into_owned()))
    })?;
    let bytes = std::fs::read(path).map_err(|source| ExtractError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let progress = |page: u32, pages: u32| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{PROGRESS_MARKER} {page} {pages}").and_then(|()| out.flush());
    };
    let ocr = OcrRequest::from_env(&progress);
    // No pages allowed means no OCR at all.
    extract_with(kind, &bytes, (ocr.max_pages > 0).then_some(&ocr))
}

/// Reads a progress line of the worker: `(page, pages)`.
pub(crate) fn parse_progress(line: &str) -> Option<(u32, u32)> {
    let mut fields = line.strip_prefix(PROGRESS_MARKER)?.split_whitespace();
    let page = fields.next()?.parse().ok()?;
    let pages = fields.next()?.parse().ok()?;
    Some((page, pages))
}

/// Parses the worker's stdout.
pub(crate) fn parse_reply(stdout: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(stdout);
    let at = text.rfind(REPLY_MARKER)?;
    serde_json::from_str(text[at + REPLY_MARKER.len()..].trim()).ok()
}

/// Caps the worker's virtual memory so that a runaway parse fails instead of swapping the
/// machine to death.
#[cfg(unix)]
#[allow(unsafe_code)]
fn limit_address_space(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a valid, initialised struct and only affects this process.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if rc != 0 {
        tracing::warn!("could not limit the extraction worker's memory");
    }
}

#[cfg(not(unix))]
fn limit_address_space(_bytes: u64) {}

/// Lowers the worker's priority (and its OCR tools', which inherit it): extraction runs
/// files ahead of embedding, so it can take the time embedding leaves rather than take
/// cores from it, and the app stays responsive during an ingest.
#[cfg(unix)]
#[allow(unsafe_code)]
fn yield_to_embedding() {
    // SAFETY: nice only changes this process's scheduling priority.
    let _ = unsafe { libc::nice(WORKER_NICENESS) };
}

#[cfg(not(unix))]
fn yield_to_embedding() {}

/// How much lower the worker's priority is than Cairn's (Unix nice levels, 0–19).
#[cfg(unix)]
const WORKER_NICENESS: libc::c_int = 10;
