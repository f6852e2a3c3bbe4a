//! Running external tools (poppler's `pdftoppm` and `pdftotext`, `tesseract`) with a time
//! limit, feeding stdin and draining both pipes on threads so that no pipe fills up.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// Most bytes kept of a tool's stdout: a 300-dpi A4 page in gray is 8.4 MB.
const MAX_STDOUT: usize = 256 * 1024 * 1024;

pub(crate) struct Ran {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    #[error("{program} is not installed")]
    Missing { program: String },
    #[error("{program} could not be started: {source}")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} took longer than {} s and was stopped", .limit.as_secs())]
    Timeout { program: String, limit: Duration },
}

/// Runs `command` with `input` on stdin (or none) and waits at most `limit`.
pub(crate) fn run(
    mut command: Command,
    input: Option<Vec<u8>>,
    limit: Duration,
) -> Result<Ran, ToolError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ToolError::Missing {
                program: program.clone(),
            },
            _ => ToolError::Start {
                program: program.clone(),
                source,
            },
        })?;
    let feeder = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // A tool that stops reading early (it rejected the input) closes the pipe: the
            // error is its to report.
            let _ = stdin.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = child.stdout.take().map(|p| drain(p, MAX_STDOUT));
    let stderr = child.stderr.take().map(|p| drain(p, 64 * 1024));
    let status = match child.wait_timeout(limit) {
        Ok(Some(status)) => status,
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ToolError::Timeout { program, limit });
        }
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let stdout = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Ran {
        status,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

pub(crate) fn drain<R: Read + Send + 'static>(
    mut pipe: R,
    cap: usize,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = cap.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        kept
    })
}
