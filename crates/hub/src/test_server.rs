//! A server that speaks the Hub's protocol on loopback, for Cairn's tests (feature
//! `test-server`; the `hub-test-server` binary runs it for the app's end-to-end test):
//! `resolve` answers 302 with `X-Linked-Etag` and `X-Linked-Size`, the CDN URL serves a real
//! file with `Range`, and the tree API lists it. It can misbehave on purpose, once: cut the
//! connection at 40%, stall, ignore `Range`, send a damaged body; or refuse (401) or know
//! nothing (404).

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server misbehaves on the first content request (later ones are served well).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Normal,
    /// Sends 40% of the file, then drops the connection.
    Cut,
    /// Sends 1 MiB, then nothing for 30 s.
    Stall,
    /// Always answers 200 with the whole file, whatever `Range` says.
    IgnoreRange,
    /// Sends the file with one byte changed (the Etag stays the true SHA-256).
    Corrupt,
    /// Answers every request slowly (a 64 KiB piece every 20 ms), so a person can watch.
    Slow,
    Unauthorized,
    Missing,
    /// The file is stored in git, not LFS, as the Hub keeps small files: `resolve` answers
    /// 307 to a relative URL, without `X-Linked-Size` or `X-Linked-Etag`, with a short body of
    /// its own (whose length is not the file's).
    InGit,
    /// Cuts the first answer at 40%; the resumed request gets 206 with the bytes from 0 and a
    /// `Content-Range` that says so, not the range asked for.
    WrongRange,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "normal" => Mode::Normal,
            "cut" => Mode::Cut,
            "stall" => Mode::Stall,
            "ignore-range" => Mode::IgnoreRange,
            "corrupt" => Mode::Corrupt,
            "slow" => Mode::Slow,
            "unauthorized" => Mode::Unauthorized,
            "missing" => Mode::Missing,
            "in-git" => Mode::InGit,
            "wrong-range" => Mode::WrongRange,
            other => return Err(format!("unknown mode {other}")),
        })
    }
}

/// What the server serves, and what it was asked.
pub struct Served {
    pub repo: String,
    pub revision: String,
    pub file: String,
    pub bytes: Bytes,
    pub sha256: String,
    pub mode: Mutex<Mode>,
    pub content_requests: AtomicUsize,
    /// The `Range` header of each content request.
    pub ranges: Mutex<Vec<Option<String>>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn resolve(
    State(s): State<Arc<Served>>,
    UrlPath((org, name, revision, rest)): UrlPath<(String, String, String, String)>,
) -> Response {
    let mode = *locked(&s.mode);
    if mode == Mode::Unauthorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let repo = format!("{org}/{name}");
    if mode == Mode::Missing
        || repo != s.repo
        || (revision != s.revision && revision != "main")
        || rest != s.file
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut headers = HeaderMap::new();
    headers.insert("location", HeaderValue::from_static("/cdn/file"));
    if mode == Mode::InGit {
        let body = "Temporary Redirect. Redirecting to /cdn/file";
        headers.insert("content-length", HeaderValue::from(body.len()));
        return (StatusCode::TEMPORARY_REDIRECT, headers, body).into_response();
    }
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", s.sha256)) {
        headers.insert("x-linked-etag", etag);
    }
    headers.insert("x-linked-size", HeaderValue::from(s.bytes.len()));
    (StatusCode::FOUND, headers).into_response()
}

async fn tree(
    State(s): State<Arc<Served>>,
    UrlPath((org, name, _revision)): UrlPath<(String, String, String)>,
) -> Response {
    if format!("{org}/{name}") != s.repo {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = serde_json::json!([{
        "type": "file", "path": s.file, "size": s.bytes.len(),
        "lfs": {"oid": s.sha256, "size": s.bytes.len()}
    }]);
    axum::Json(body).into_response()
}

async fn content(State(s): State<Arc<Served>>, method: Method, headers: HeaderMap) -> Response {
    if method == Method::HEAD {
        let mut response = StatusCode::OK.into_response();
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from(s.bytes.len()));
        return response;
    }
    let first = s.content_requests.fetch_add(1, Ordering::SeqCst) == 0;
    let mode = *locked(&s.mode);
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    locked(&s.ranges).push(range.clone());
    let asked: usize = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse().ok())
        .unwrap_or(0);
    let start = if mode == Mode::IgnoreRange || (mode == Mode::WrongRange && !first) {
        0
    } else {
        asked.min(s.bytes.len())
    };
    let mut body = s.bytes.slice(start..).to_vec();
    if mode == Mode::Corrupt && !body.is_empty() {
        let middle = body.len() / 2;
        body[middle] ^= 0x55;
    }
    let total = s.bytes.len();
    let stream = match (mode, first) {
        (Mode::Cut | Mode::WrongRange, true) => {
            // The pieces go out, then a pause so that they leave the server's buffers, then
            // the cut. A loaded machine may still lose the last of them: the client resumes
            // from what it has, which is what the tests check.
            let cut = (total * 2 / 5).saturating_sub(start).min(body.len());
            let pieces: Vec<Bytes> = body[..cut]
                .chunks(256 << 10)
                .map(Bytes::copy_from_slice)
                .collect();
            let cut_off = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Err(std::io::Error::other("the connection was cut"))
            });
            Body::from_stream(futures::stream::iter(pieces).map(Ok).chain(cut_off))
        }
        (Mode::Stall, true) => {
            let sent = Bytes::from(body[..body.len().min(1 << 20)].to_vec());
            Body::from_stream(
                futures::stream::once(async move { Ok::<_, std::io::Error>(sent) }).chain(
                    futures::stream::once(async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok(Bytes::new())
                    }),
                ),
            )
        }
        (Mode::Slow, _) => {
            let pieces: Vec<Bytes> = body.chunks(64 << 10).map(Bytes::copy_from_slice).collect();
            Body::from_stream(futures::stream::iter(pieces).then(|piece| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, std::io::Error>(piece)
            }))
        }
        _ => Body::from(body),
    };
    let mut response = Response::new(stream);
    response
        .headers_mut()
        .insert("content-length", HeaderValue::from(total - start));
    if start > 0 || (mode == Mode::WrongRange && !first) {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{total}", total - 1)) {
            response.headers_mut().insert("content-range", v);
        }
    }
    response
}

/// Serves `bytes` as `file` of `repo` at `revision` on a free loopback port; returns the
/// endpoint (for `HF_ENDPOINT`) and the server's record.
pub async fn serve(
    repo: &str,
    revision: &str,
    file: &str,
    bytes: Vec<u8>,
    mode: Mode,
) -> std::io::Result<(String, Arc<Served>)> {
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let served = Arc::new(Served {
        repo: repo.into(),
        revision: revision.into(),
        file: file.into(),
        bytes: Bytes::from(bytes),
        sha256,
        mode: Mutex::new(mode),
        content_requests: AtomicUsize::new(0),
        ranges: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route(
            "/{org}/{name}/resolve/{revision}/{*rest}",
            get(resolve).head(resolve),
        )
        .route("/api/models/{org}/{name}/tree/{revision}", get(tree))
        .route("/cdn/file", get(content).head(content))
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{address}"), served))
}
