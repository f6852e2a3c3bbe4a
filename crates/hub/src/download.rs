//! One file from the Hub into a folder: resumable, verified, atomic.

use crate::protocol::{check, Hub, RemoteFile};
use crate::HubError;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to download, and where to.
#[derive(Debug, Clone)]
pub struct Request {
    pub repo: String,
    pub revision: String,
    pub file: String,
    /// The folder the file goes into (under its own name).
    pub folder: PathBuf,
    /// The SHA-256 a catalogue pins, checked against the Hub's before anything is fetched.
    pub sha256: Option<String>,
}

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    /// Over the last few seconds.
    pub bytes_per_s: f64,
    pub eta_s: Option<f64>,
}

/// Stops a download at its next read; what it fetched is kept for a resume.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// An interruption a download recovers from: it waits `wait`, then asks for the rest from
/// `resume_at`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retry {
    /// What went wrong, in words.
    pub reason: String,
    pub resume_at: u64,
    pub attempt: u32,
    pub wait_s: f64,
}

/// Hears of each interruption a download recovers from.
pub type OnRetry<'a> = Box<dyn Fn(&Retry) + Send + Sync + 'a>;

/// Tells the free bytes of the file system holding a folder.
pub type FreeSpace<'a> = Box<dyn Fn(&Path) -> std::io::Result<u64> + Send + Sync + 'a>;

/// A download in the making.
pub struct Download<'a> {
    hub: &'a Hub,
    request: Request,
    /// Attempts after an interruption, with backoff, before giving up.
    pub retries: u32,
    /// Free bytes of a folder (the file system's, by default; tests give their own).
    pub free_space: FreeSpace<'a>,
    /// Told of each interruption before the download resumes (nothing, by default).
    pub on_retry: OnRetry<'a>,
}

/// Bytes kept free beyond the file itself.
const SPARE: u64 = 64 << 20;

impl<'a> Download<'a> {
    pub fn new(hub: &'a Hub, request: Request) -> Self {
        Download {
            hub,
            request,
            retries: 8,
            free_space: Box::new(free_bytes),
            on_retry: Box::new(|_| {}),
        }
    }

    /// Where the file goes.
    pub fn destination(&self) -> PathBuf {
        self.request.folder.join(file_name(&self.request.file))
    }

    fn part(&self) -> PathBuf {
        let mut name = self.destination().into_os_string();
        name.push(".part");
        PathBuf::from(name)
    }

    /// Beside the `.part`: the SHA-256 of the file it is a part of, so that a part of another
    /// revision is never resumed.
    fn part_of(&self) -> PathBuf {
        let mut name = self.destination().into_os_string();
        name.push(".part.sha256");
        PathBuf::from(name)
    }

    /// Fetches the file (or what is missing of it), verifies it and moves it into place.
    /// Returns its path.
    pub async fn run(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<PathBuf, HubError> {
        let r = &self.request;
        let remote = self.hub.resolve(&r.repo, &r.revision, &r.file).await?;
        let expected = match (&remote.sha256, &r.sha256) {
            (Some(hub), Some(pinned)) if !hub.eq_ignore_ascii_case(pinned) => {
                return Err(HubError::Mismatch {
                    file: r.file.clone(),
                    hub: hub.clone(),
                    pinned: pinned.clone(),
                })
            }
            (Some(hub), _) => Some(hub.to_lowercase()),
            (None, pinned) => pinned.as_ref().map(|p| p.to_lowercase()),
        };
        let destination = self.destination();
        if let Some(sha) = &expected {
            if destination.is_file() && sha256_of(&destination).await? == *sha {
                let size = std::fs::metadata(&destination).map_or(0, |m| m.len());
                progress(Progress {
                    done: size,
                    total: size,
                    bytes_per_s: 0.0,
                    eta_s: Some(0.0),
                });
                return Ok(destination);
            }
        }
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| HubError::Io { path, source }
        };
        tokio::fs::create_dir_all(&r.folder)
            .await
            .map_err(io(&r.folder))?;
        let part = self.part();
        let part_of = self.part_of();
        let recorded = tokio::fs::read_to_string(&part_of).await.ok();
        if recorded.as_deref().map(str::trim) != expected.as_deref() {
            // A part of another revision (or of unknown content): start afresh.
            let _ = tokio::fs::remove_file(&part).await;
            if let Some(sha) = &expected {
                tokio::fs::write(&part_of, sha)
                    .await
                    .map_err(io(&part_of))?;
            } else {
                let _ = tokio::fs::remove_file(&part_of).await;
            }
        }
        let mut state = Transfer::open(&part, remote.size).await?;
        if let Some(total) = remote.size {
            let needed = total.saturating_sub(state.done) + SPARE;
            let free = (self.free_space)(&r.folder).map_err(io(&r.folder))?;
            if free < needed {
                return Err(HubError::DiskFull {
                    folder: r.folder.display().to_string(),
                    needed_mib: needed.div_ceil(1 << 20),
                    free_mib: free >> 20,
                });
            }
        }
        let mut attempt = 0;
        loop {
            let before = state.done;
            match self.fetch(&remote, &mut state, progress, cancel).await {
                Ok(()) => break,
                Err(e) if e.is_transient() && attempt < self.retries => {
                    // Progress since the last failure earns a fresh set of retries.
                    attempt = if state.done > before { 1 } else { attempt + 1 };
                    let wait = Duration::from_millis(500 * 2u64.pow(attempt.min(6)));
                    tracing::info!(error = %e, attempt, resume_at = state.done, "download interrupted; resuming");
                    (self.on_retry)(&Retry {
                        reason: e.to_string(),
                        resume_at: state.done,
                        attempt,
                        wait_s: wait.as_secs_f64(),
                    });
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    // What was fetched is on disk before anyone resumes from it (a write of
                    // the file may still be under way).
                    state.file.flush().await.map_err(io(&part))?;
                    return Err(e);
                }
            }
        }
        state.file.flush().await.map_err(io(&part))?;
        state.file.sync_all().await.map_err(io(&part))?;
        let got = hex(&state.hasher.clone().finalize());
        if let Some(expected) = expected {
            if got != expected {
                drop(state);
                // A damaged file is never installed, and never resumed from.
                let _ = tokio::fs::remove_file(&part).await;
                let _ = tokio::fs::remove_file(&part_of).await;
                return Err(HubError::Corrupt {
                    file: r.file.clone(),
                    got,
                    expected,
                });
            }
        }
        drop(state);
        tokio::fs::rename(&part, &destination)
            .await
            .map_err(io(&destination))?;
        let _ = tokio::fs::remove_file(&part_of).await;
        Ok(destination)
    }

    /// One request: appends what the server sends from `state.done` on.
    async fn fetch(
        &self,
        remote: &RemoteFile,
        state: &mut Transfer,
        progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<(), HubError> {
        if remote.size.is_some_and(|total| state.done >= total) {
            return Ok(());
        }
        let network = |source| HubError::Network {
            url: remote.url.clone(),
            source,
        };
        let response = self
            .hub
            .fetch(remote, state.done)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        check(status, &self.request.repo, &self.request.file, &remote.url)?;
        if state.done > 0 {
            // Bytes are appended only where they belong: the range the server says it sends
            // must start where the part file ends.
            let from = if status == reqwest::StatusCode::PARTIAL_CONTENT {
                range_start(response.headers())
            } else {
                Some(0)
            };
            match from {
                Some(from) if from == state.done => {}
                Some(0) => {
                    // The server ignored the range: start again from the first byte.
                    tracing::info!("the server does not resume; downloading from the start");
                    state.restart().await?;
                }
                other => {
                    return Err(HubError::Malformed {
                        url: remote.url.clone(),
                        message: format!(
                            "asked for the bytes from {} on, it sent a range {}",
                            state.done,
                            other.map_or_else(
                                || "without a readable Content-Range".to_string(),
                                |f| format!("from {f}")
                            )
                        ),
                    })
                }
            }
        }
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            if cancel.is_cancelled() {
                return Err(HubError::Cancelled);
            }
            let chunk = chunk.map_err(|e| {
                if e.is_timeout() {
                    HubError::Stalled {
                        seconds: self.hub.stall.as_secs(),
                    }
                } else {
                    // The answer had begun: the connection broke in the middle of it.
                    HubError::Cut { source: e }
                }
            })?;
            state.append(&chunk).await?;
            progress(state.progress());
        }
        match remote.size {
            Some(total) if state.done < total => Err(HubError::Short {
                file: self.request.file.clone(),
                got: state.done,
                expected: total,
            }),
            _ => Ok(()),
        }
    }
}

/// Where the bytes of a 206 answer start: `Content-Range: bytes START-END/TOTAL`.
fn range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The `.part` file being written, the hash of what it holds, and the speed.
struct Transfer {
    path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    done: u64,
    total: Option<u64>,
    /// (when, bytes done) a few seconds back, for the speed.
    window: std::collections::VecDeque<(Instant, u64)>,
}

impl Transfer {
    /// Opens the part file, hashing what an earlier attempt left in it.
    async fn open(path: &Path, total: Option<u64>) -> Result<Self, HubError> {
        let io = |source| HubError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut hasher = Sha256::new();
        let mut done = 0;
        if let Ok(mut existing) = tokio::fs::File::open(path).await {
            let mut buffer = vec![0; 1 << 20];
            loop {
                let n = existing.read(&mut buffer).await.map_err(io)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                done += n as u64;
            }
        }
        if total.is_some_and(|t| done > t) {
            // Longer than the file: not a part of this one.
            done = 0;
            hasher = Sha256::new();
            tokio::fs::remove_file(path).await.map_err(io)?;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(io)?;
        Ok(Transfer {
            path: path.to_path_buf(),
            file,
            hasher,
            done,
            total,
            window: std::collections::VecDeque::new(),
        })
    }

    async fn append(&mut self, bytes: &[u8]) -> Result<(), HubError> {
        self.file
            .write_all(bytes)
            .await
            .map_err(|source| HubError::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        self.hasher.update(bytes);
        self.done += bytes.len() as u64;
        Ok(())
    }

    async fn restart(&mut self) -> Result<(), HubError> {
        self.file.set_len(0).await.map_err(|source| HubError::Io {
            path: self.path.display().to_string(),
            source,
        })?;
        self.hasher = Sha256::new();
        self.done = 0;
        self.window.clear();
        Ok(())
    }

    fn progress(&mut self) -> Progress {
        let now = Instant::now();
        self.window.push_back((now, self.done));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(5))
        {
            self.window.pop_front();
        }
        let bytes_per_s = match (self.window.front(), self.window.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                (b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        let total = self.total.unwrap_or(self.done);
        Progress {
            done: self.done,
            total,
            bytes_per_s,
            eta_s: (bytes_per_s > 0.0)
                .then(|| total.saturating_sub(self.done) as f64 / bytes_per_s),
        }
    }
}

/// The last part of a repo path (`subdir/model.gguf` → `model.gguf`).
fn file_name(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, read in 1 MiB pieces.
pub async fn sha256_of(path: &Path) -> Result<String, HubError> {
    let io = |source| HubError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer).await.map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Free bytes for an unprivileged user in the file system holding `folder`.
pub fn free_bytes(folder: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(folder)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}
