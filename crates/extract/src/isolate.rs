//! Running extraction in a worker process with a time and memory limit, so that a parser's
//! panic, abort, stack overflow, endless loop or runaway allocation costs one file, never
//! the process or the batch.

use crate::scan::{io_failure, kind_for_path, scan_paths, supported};
use crate::worker::{parse_progress, parse_reply, Reply, MEMORY_ENV};
use async_trait::async_trait;
use cairn_core::ports::{ExtractProgress, ExtractProgressSender, Extractor, Scanned};
use cairn_core::{ContentHash, ErrorCode, ExtractedDocument, Failure};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// How to start a worker: `program args… <file>` must run [`crate::worker::serve`].
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// Limits per file. OCR reports each page it starts, and the time limit counts from the
/// last report: a long scan may take as long as its pages need, a stuck one is stopped.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_bytes: u64,
    pub max_file_bytes: u64,
    /// Most bytes read of a worker's reply (the extracted text as JSON, and its progress
    /// lines): a worker that writes more is stopped, so a hostile file or a runaway parser
    /// cannot fill the indexing process's memory.
    pub max_reply_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(90),
            memory_bytes: 3 << 30,
            max_file_bytes: 1 << 30,
            max_reply_bytes: 1 << 30,
        }
    }
}

/// The extractor Cairn runs on: every file in its own worker process.
#[derive(Debug, Clone)]
pub struct IsolatedExtractor {
    worker: WorkerCommand,
    limits: Limits,
    /// Tesseract's languages (`deu+eng`), shared by the clones so that a change in Settings
    /// reaches the next file; `None` leaves the worker its default (the system language plus
    /// English, or `CAIRN_OCR_LANGUAGES`).
    ocr_languages: Arc<RwLock<Option<String>>>,
    ocr_off: bool,
}

impl IsolatedExtractor {
    pub fn new(worker: WorkerCommand, limits: Limits) -> Self {
        IsolatedExtractor {
            worker,
            limits,
            ocr_languages: Arc::default(),
            ocr_off: false,
        }
    }

    /// Reads scans in these Tesseract languages (`["deu", "eng"]`).
    #[must_use]
    pub fn with_ocr_languages(self, languages: &[String]) -> Self {
        self.set_ocr_languages(languages);
        self
    }

    /// Reads the next scans in these languages (none: the default), in this extractor and
    /// every clone of it.
    pub fn set_ocr_languages(&self, languages: &[String]) {
        if let Ok(mut current) = self.ocr_languages.write() {
            *current = (!languages.is_empty()).then(|| languages.join("+"));
        }
    }

    /// Reads no page by OCR: scanned pages stay empty and images fail.
    #[must_use]
    pub fn without_ocr(mut self) -> Self {
        self.ocr_off = true;
        self
    }

    /// Extracts one file in a worker, blocking until it answers or is stopped.
    pub fn extract_blocking(&self, path: &Path) -> Result<ExtractedDocument, Failure> {
        self.extract_reporting(path, None)
    }

    /// Extracts one file in a worker, passing OCR's page reports to `progress`.
    pub fn extract_reporting(
        &self,
        path: &Path,
        progress: Option<ExtractProgressSender>,
    ) -> Result<ExtractedDocument, Failure> {
        if kind_for_path(path).is_none() {
            let ext = path
                .extension()
                .map(|e| format!(" .{}", e.to_string_lossy()))
                .unwrap_or_default();
            return Err(Failure::new(
                ErrorCode::UnsupportedFile,
                format!("unsupported file type{ext}: Cairn reads {}", supported()),
            ));
        }
        let before = regular_file(path)?;
        let size = before.len();
        if size > self.limits.max_file_bytes {
            return Err(Failure::new(
                ErrorCode::TooLarge,
                format!(
                    "the file is larger than the {} MiB limit",
                    self.limits.max_file_bytes >> 20
                ),
            ));
        }
        let doc = self.run_worker(path, progress)?;
        // A file still being written (a download, a save in progress) is read again later.
        let after = std::fs::metadata(path).map_err(|e| io_failure(path, &e))?;
        if after.len() != before.len() || after.modified().ok() != before.modified().ok() {
            return Err(Failure::new(
                ErrorCode::FileChanged,
                "the file changed while it was being read; it is read again once it settles",
            ));
        }
        Ok(doc)
    }

    fn run_worker(
        &self,
        path: &Path,
        progress: Option<ExtractProgressSender>,
    ) -> Result<ExtractedDocument, Failure> {
        let mut command = Command::new(&self.worker.program);
        command
            .args(&self.worker.args)
            .arg(path)
            .env(MEMORY_ENV, self.limits.memory_bytes.to_string())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(languages) = self.ocr_languages.read().ok().and_then(|l| l.clone()) {
            command.env(crate::ocr::LANGUAGES_ENV, languages);
        }
        if self.ocr_off {
            command.env(crate::ocr::MAX_PAGES_ENV, "0");
        }
        let mut child = command.spawn().map_err(|e| {
            Failure::new(
                ErrorCode::Internal,
                format!("cannot start the extraction worker: {e}"),
            )
        })?;
        let last_report = Arc::new(Mutex::new(Instant::now()));
        let overflow = Arc::new(AtomicBool::new(false));
        let stdout = child.stdout.take().map(|s| {
            read_replies(
                s,
                progress,
                Arc::clone(&last_report),
                self.limits.max_reply_bytes,
                Arc::clone(&overflow),
            )
        });
        let stderr = child
            .stderr
            .take()
            .map(|s| crate::tool::drain(s, 64 * 1024));
        let status = loop {
            if overflow.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(too_large(self.limits.max_reply_bytes));
            }
            let quiet = last_report.lock().map_or(Duration::ZERO, |at| at.elapsed());
            if quiet >= self.limits.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::new(
                    ErrorCode::Timeout,
                    format!(
                        "extraction took longer than {} s and was stopped",
                        self.limits.timeout.as_secs_f64()
                    ),
                ));
            }
            // Waits at most until the limit, so a short limit holds to the millisecond, and
            // wakes at least every 200 ms to see whether a report moved the limit on.
            let slice = (self.limits.timeout - quiet).min(Duration::from_millis(200));
            match child.wait_timeout(slice) {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    let _ = child.kill();
                    return Err(Failure::new(
                        ErrorCode::Internal,
                        format!("lost the extraction worker: {e}"),
                    ));
                }
            }
        };
        let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
        let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        // A worker that the cap cut off may have died of the closed pipe before the loop saw
        // the cap: it is too large all the same, not crashed.
        if overflow.load(Ordering::Relaxed) {
            return Err(too_large(self.limits.max_reply_bytes));
        }
        match parse_reply(&out) {
            Some(Reply::Extracted(doc)) => Ok(doc),
            Some(Reply::Failed(failure)) => Err(failure),
            None => Err(crash_failure(&status, &err)),
        }
    }
}

/// The metadata of a regular file; a pipe, socket or device is refused before it is opened
/// (opening a pipe would wait for a writer forever).
fn regular_file(path: &Path) -> Result<std::fs::Metadata, Failure> {
    let meta = std::fs::metadata(path).map_err(|e| io_failure(path, &e))?;
    if !meta.is_file() {
        return Err(Failure::new(
            ErrorCode::Unreadable,
            "not a regular file (a pipe, socket or device): Cairn reads files only",
        ));
    }
    Ok(meta)
}

/// Reads the worker's stdout to its end on a thread, passing each progress line on as it
/// comes and noting its time. Past `cap` bytes it stops reading, raises `overflow` and
/// returns what it kept.
fn read_replies<R: Read + Send + 'static>(
    mut pipe: R,
    mut progress: Option<ExtractProgressSender>,
    last_report: Arc<Mutex<Instant>>,
    cap: u64,
    overflow: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut scanned = 0;
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            if kept.len() as u64 + n as u64 > cap {
                overflow.store(true, Ordering::Relaxed);
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            while let Some(end) = kept[scanned..].iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&kept[scanned..scanned + end]).into_owned();
                scanned += end + 1;
                if let Some((page, pages)) = parse_progress(&line) {
                    if let Ok(mut at) = last_report.lock() {
                        *at = Instant::now();
                    }
                    if let Some(tx) = progress.as_mut() {
                        // A full channel drops a report: the next one says more.
                        let _ = tx.try_send(ExtractProgress { page, pages });
                    }
                }
            }
        }
        kept
    })
}

fn too_large(cap: u64) -> Failure {
    Failure::new(
        ErrorCode::TooLarge,
        format!(
            "the extracted text is larger than {} MB, the most Cairn reads of one file",
            cap >> 20
        ),
    )
}

fn crash_failure(status: &std::process::ExitStatus, stderr: &[u8]) -> Failure {
    let stderr = String::from_utf8_lossy(stderr);
    if stderr.contains("memory allocation") || stderr.contains("out of memory") {
        return Failure::new(
            ErrorCode::MemoryLimit,
            "extraction ran out of its memory limit and was stopped",
        );
    }
    if stderr.contains("has overflowed its stack") {
        return Failure::new(
            ErrorCode::ExtractorCrashed,
            "the file is nested too deeply to read (the parser overflowed its stack)",
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Failure::new(
                ErrorCode::ExtractorCrashed,
                format!("the extractor crashed on this file (signal {signal})"),
            );
        }
    }
    Failure::new(
        ErrorCode::ExtractorCrashed,
        format!("the extractor crashed on this file ({status})"),
    )
}

#[async_trait]
impl Extractor for IsolatedExtractor {
    async fn scan(&self, roots: &[PathBuf]) -> Vec<Scanned> {
        let owned = roots.to_vec();
        match tokio::task::spawn_blocking(move || scan_paths(&owned)).await {
            Ok(scanned) => scanned,
            // A scan that failed saw nothing: every root is reported unreadable, so that no
            // document under it is taken for deleted.
            Err(e) => roots
                .iter()
                .map(|root| Scanned::UnreadableFolder {
                    path: root.clone(),
                    failure: Failure::new(
                        ErrorCode::Internal,
                        format!("scanning {} stopped: {e}", root.display()),
                    ),
                })
                .collect(),
        }
    }

    async fn fingerprint(&self, path: &Path) -> Result<ContentHash, Failure> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            regular_file(&path)?;
            let mut hasher = blake3::Hasher::new();
            let file = std::fs::File::open(&path).map_err(|e| io_failure(&path, &e))?;
            hasher
                .update_reader(file)
                .map_err(|e| io_failure(&path, &e))?;
            Ok(ContentHash(hasher.finalize().to_hex().to_string()))
        })
        .await
        .unwrap_or_else(|e| {
            Err(Failure::new(
                ErrorCode::Internal,
                format!("hashing stopped: {e}"),
            ))
        })
    }

    async fn extract(
        &self,
        path: &Path,
        progress: ExtractProgressSender,
    ) -> Result<ExtractedDocument, Failure> {
        let this = self.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || this.extract_reporting(&path, Some(progress)))
            .await
            .unwrap_or_else(|e| {
                Err(Failure::new(
                    ErrorCode::Internal,
                    format!("extraction stopped: {e}"),
                ))
            })
    }
}
