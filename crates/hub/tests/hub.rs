//! Downloads against a real HTTP server on loopback that speaks the Hub's protocol (axum):
//! `resolve` answers 302 with `X-Linked-Etag` and `X-Linked-Size`, the CDN URL serves the
//! real SmolLM2 test GGUF with `Range`. The server misbehaves on purpose: it cuts the
//! connection, stalls, ignores `Range`, sends a damaged body, refuses or knows nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_hub::test_server::{serve as serve_file, Mode, Served};
use cairn_hub::{Cancel, Download, Hub, HubError, Progress, Request};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REPO: &str = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF";
const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";
const FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn model() -> PathBuf {
    std::env::var_os("CAIRN_GENERATOR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/cairn/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        },
        PathBuf::from,
    )
}

/// The real SmolLM2 test GGUF behind a Hub-layout server.
async fn serve(mode: Mode) -> (String, Arc<Served>) {
    let bytes = std::fs::read(model()).expect("the SmolLM2 GGUF (run scripts/setup)");
    serve_file(REPO, REVISION, FILE, bytes, mode).await.unwrap()
}

fn request(folder: &std::path::Path) -> Request {
    Request {
        repo: REPO.into(),
        revision: REVISION.into(),
        file: FILE.into(),
        folder: folder.to_path_buf(),
        sha256: None,
    }
}

async fn pull(
    endpoint: &str,
    folder: &std::path::Path,
    stall: Duration,
) -> (Result<PathBuf, HubError>, Vec<Progress>) {
    let hub = Hub::new(endpoint, None, stall).unwrap();
    let mut download = Download::new(&hub, request(folder));
    download.retries = 3;
    let seen = Mutex::new(Vec::new());
    let result = download
        .run(&|p| seen.lock().unwrap().push(p), &Cancel::default())
        .await;
    (result, seen.into_inner().unwrap())
}

fn installed_sha(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_clean_pull_installs_the_verified_file_and_reports_progress() {
    let (endpoint, served) = serve(Mode::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, progress) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    let path = result.unwrap();
    assert_eq!(path, dir.path().join(FILE));
    assert_eq!(installed_sha(&path), served.sha256);
    assert!(!dir.path().join(format!("{FILE}.part")).exists());
    let last = progress.last().unwrap();
    assert_eq!(
        (last.done, last.total),
        (served.bytes.len() as u64, served.bytes.len() as u64)
    );
    assert!(progress.windows(2).all(|w| w[0].done <= w[1].done));
    // Pulled again: the installed file is verified and kept, nothing is fetched.
    let before = served.content_requests.load(Ordering::SeqCst);
    let (again, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    assert_eq!(again.unwrap(), path);
    assert_eq!(served.content_requests.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_connection_cut_at_40_percent_resumes_with_range_and_verifies() {
    let (endpoint, served) = serve(Mode::Cut).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    let path = result.unwrap();
    assert_eq!(installed_sha(&path), served.sha256);
    let ranges = served.ranges.lock().unwrap().clone();
    let cut = served.bytes.len() * 2 / 5;
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    // It resumes from what reached it: the cut, or a little less where the last piece
    // was lost with the connection; never from the start, never past the cut.
    let resumed = resumed_at(ranges[1].as_deref());
    assert!(resumed > 0 && resumed <= cut, "{ranges:?}, cut at {cut}");
    assert!(
        resumed > cut / 2,
        "most of what was sent was kept: {ranges:?}"
    );
}

/// The offset of an open-ended `Range: bytes=N-`.
fn resumed_at(range: Option<&str>) -> usize {
    range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an open range: {range:?}"))
}

#[tokio::test]
async fn a_stall_times_out_and_resumes() {
    let (endpoint, served) = serve(Mode::Stall).await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(2)).await;
    assert_eq!(installed_sha(&result.unwrap()), served.sha256);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it did not wait out the stall"
    );
    let ranges = served.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2);
    assert_eq!(ranges[1].as_deref(), Some("bytes=1048576-"));
}

#[tokio::test]
async fn a_part_left_by_a_killed_download_is_resumed_and_a_server_that_ignores_range_restarts_cleanly(
) {
    let (endpoint, served) = serve(Mode::IgnoreRange).await;
    let dir = tempfile::tempdir().unwrap();
    // What a killed download left: the first 3 MiB, and the hash of the file it is part of.
    std::fs::write(
        dir.path().join(format!("{FILE}.part")),
        &served.bytes[..3 << 20],
    )
    .unwrap();
    std::fs::write(
        dir.path().join(format!("{FILE}.part.sha256")),
        &served.sha256,
    )
    .unwrap();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    assert_eq!(installed_sha(&result.unwrap()), served.sha256);
    assert_eq!(
        served.ranges.lock().unwrap().clone(),
        vec![Some(format!("bytes={}-", 3 << 20))],
        "it asked to resume; the server sent everything and the part was started afresh"
    );
}

#[tokio::test]
async fn a_part_of_another_revision_is_never_resumed() {
    let (endpoint, served) = serve(Mode::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    // Left by a download of an earlier revision of the file: its bytes differ.
    std::fs::write(dir.path().join(format!("{FILE}.part")), vec![7u8; 3 << 20]).unwrap();
    std::fs::write(
        dir.path().join(format!("{FILE}.part.sha256")),
        "0".repeat(64),
    )
    .unwrap();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    assert_eq!(installed_sha(&result.unwrap()), served.sha256);
    assert_eq!(
        served.ranges.lock().unwrap().clone(),
        vec![None],
        "fetched from the start"
    );
    assert!(!dir.path().join(format!("{FILE}.part.sha256")).exists());
}

#[tokio::test]
async fn a_damaged_body_is_refused_and_nothing_is_installed() {
    let (endpoint, _) = serve(Mode::Corrupt).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    let error = result.unwrap_err();
    assert!(matches!(error, HubError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("damaged"), "{error}");
    assert!(!dir.path().join(FILE).exists());
    assert!(!dir.path().join(format!("{FILE}.part")).exists());
}

#[tokio::test]
async fn refusals_and_unknown_files_say_what_to_do() {
    let (endpoint, _) = serve(Mode::Unauthorized).await;
    let dir = tempfile::tempdir().unwrap();
    let error = pull(&endpoint, dir.path(), Duration::from_secs(10))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, HubError::Gated { .. }), "{error}");
    assert!(error.to_string().contains("accept its licence"), "{error}");
    let (endpoint, _) = serve(Mode::Missing).await;
    let error = pull(&endpoint, dir.path(), Duration::from_secs(10))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, HubError::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn too_little_disk_space_is_said_before_anything_is_fetched() {
    let (endpoint, served) = serve(Mode::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::new(&endpoint, None, Duration::from_secs(10)).unwrap();
    let mut download = Download::new(&hub, request(dir.path()));
    download.free_space = Box::new(|_| Ok(10 << 20));
    let error = download.run(&|_| {}, &Cancel::default()).await.unwrap_err();
    assert!(
        matches!(error, HubError::DiskFull { free_mib: 10, .. }),
        "{error}"
    );
    assert_eq!(served.content_requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_pinned_hash_the_hub_disagrees_with_is_refused_before_anything_is_fetched() {
    let (endpoint, served) = serve(Mode::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::new(&endpoint, None, Duration::from_secs(10)).unwrap();
    let mut pinned = request(dir.path());
    pinned.sha256 = Some("0".repeat(64));
    let error = Download::new(&hub, pinned)
        .run(&|_| {}, &Cancel::default())
        .await
        .unwrap_err();
    assert!(matches!(error, HubError::Mismatch { .. }), "{error}");
    assert_eq!(served.content_requests.load(Ordering::SeqCst), 0);
    // Pinned to the right hash, it installs.
    let mut pinned = request(dir.path());
    pinned.sha256 = Some(served.sha256.to_uppercase());
    let path = Download::new(&hub, pinned)
        .run(&|_| {}, &Cancel::default())
        .await
        .unwrap();
    assert_eq!(installed_sha(&path), served.sha256);
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_part_for_a_resume() {
    let (endpoint, served) = serve(Mode::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::new(&endpoint, None, Duration::from_secs(10)).unwrap();
    let download = Download::new(&hub, request(dir.path()));
    let cancel = Cancel::default();
    let stopper = cancel.clone();
    let error = download
        .run(
            &move |p: Progress| {
                if p.done > 8 << 20 {
                    stopper.cancel();
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, HubError::Cancelled), "{error}");
    let part = std::fs::metadata(dir.path().join(format!("{FILE}.part")))
        .unwrap()
        .len();
    assert!(
        part > 8 << 20 && (part as usize) < served.bytes.len(),
        "{part}"
    );
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    assert_eq!(installed_sha(&result.unwrap()), served.sha256);
    assert_eq!(
        served.ranges.lock().unwrap().last().cloned().flatten(),
        Some(format!("bytes={part}-"))
    );
}

#[tokio::test]
async fn a_file_the_hub_keeps_in_git_has_its_own_size_not_the_redirects() {
    // The Hub answers files stored outside LFS with a 307 and a short body of its own, and no
    // X-Linked-Size: progress must count to the file's length, never past 100%.
    let (endpoint, served) = serve(Mode::InGit).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, progress) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    let path = result.unwrap();
    assert_eq!(installed_sha(&path), served.sha256);
    let total = served.bytes.len() as u64;
    assert!(
        progress.iter().all(|p| p.total == total && p.done <= total),
        "progress: {:?}",
        progress.last()
    );
}

#[tokio::test]
async fn a_resumed_answer_from_the_wrong_offset_is_never_appended() {
    // The first answer is cut at 40%; the resumed one says (rightly) that it starts at 0,
    // not where it was asked to: appending it would install a scrambled file.
    let (endpoint, served) = serve(Mode::WrongRange).await;
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = pull(&endpoint, dir.path(), Duration::from_secs(10)).await;
    let path = result.unwrap();
    assert_eq!(installed_sha(&path), served.sha256);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        served.bytes.len() as u64
    );
}
