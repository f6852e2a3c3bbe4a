//! The Hub's HTTP protocol: resolving a file of a revision (its SHA-256, size and where to
//! fetch it) and listing a revision's files.

use crate::HubError;
use reqwest::header::{HeaderMap, AUTHORIZATION, LOCATION};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use std::time::Duration;

/// The public Hub, unless `HF_ENDPOINT` names a mirror.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A client of one Hub endpoint.
#[derive(Clone)]
pub struct Hub {
    endpoint: String,
    token: Option<String>,
    /// Follows no redirect: the first answer to `resolve` carries the file's checksum.
    resolver: Client,
    /// Fetches content; a read that waits longer than `stall` fails.
    pub(crate) fetcher: Client,
    pub(crate) stall: Duration,
}

/// A file of a revision, as the Hub describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Where its bytes are (the redirect's target, or the resolve URL itself).
    pub url: String,
    /// The SHA-256 of a large (LFS) file, from `X-Linked-Etag`.
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

/// A file of a revision's tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TreeEntry {
    pub path: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub lfs: Option<Lfs>,
}

/// The LFS pointer of a large file: `oid` is its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Lfs {
    pub oid: String,
    pub size: u64,
}

impl Hub {
    /// The Hub at `HF_ENDPOINT` (or the public one), with `HF_TOKEN` for gated repos.
    pub fn from_env() -> Result<Self, HubError> {
        let endpoint =
            std::env::var("HF_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_string());
        let token = std::env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        Self::new(&endpoint, token, Duration::from_secs(30))
    }

    /// A client of `endpoint`; a content read that waits longer than `stall` fails (and the
    /// download resumes from where it was).
    pub fn new(endpoint: &str, token: Option<String>, stall: Duration) -> Result<Self, HubError> {
        let build = |redirects: reqwest::redirect::Policy, read: Option<Duration>| {
            let mut b = Client::builder()
                .redirect(redirects)
                .connect_timeout(Duration::from_secs(20))
                .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")));
            if let Some(read) = read {
                b = b.read_timeout(read);
            }
            b.build().map_err(|source| HubError::Network {
                url: endpoint.to_string(),
                source,
            })
        };
        Ok(Hub {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            resolver: build(
                reqwest::redirect::Policy::none(),
                Some(Duration::from_secs(60)),
            )?,
            fetcher: build(reqwest::redirect::Policy::limited(5), Some(stall))?,
            stall,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends a request to the Hub itself (with the token).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, HubError> {
        self.authorise(request)
            .send()
            .await
            .map_err(|source| HubError::Network {
                url: url.to_string(),
                source,
            })
    }

    /// The token header, sent to the Hub itself only (never to a redirect's other host).
    fn authorise(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// What the Hub says of `file` at `revision` of `repo`.
    pub async fn resolve(
        &self,
        repo: &str,
        revision: &str,
        file: &str,
    ) -> Result<RemoteFile, HubError> {
        let url = format!("{}/{repo}/resolve/{revision}/{file}", self.endpoint);
        let response = self.send(self.resolver.head(&url), &url).await?;
        let status = response.status();
        check(status, repo, &format!("{repo}/{file}@{revision}"), &url)?;
        let headers = response.headers();
        let sha256 = header(headers, "x-linked-etag").map(|e| e.trim_matches('"').to_lowercase());
        let linked_size = header(headers, "x-linked-size").and_then(|s| s.parse().ok());
        if !status.is_redirection() {
            let size = linked_size
                .or_else(|| header(headers, "content-length").and_then(|s| s.parse().ok()));
            return Ok(RemoteFile { url, sha256, size });
        }
        let location = header(headers, LOCATION.as_str()).ok_or_else(|| HubError::Malformed {
            url: url.clone(),
            message: "a redirect without a Location".into(),
        })?;
        let target = absolute(&self.endpoint, &location);
        // A redirect's own length is that of its short body, never the file's. A file the Hub
        // keeps in git rather than LFS comes without X-Linked-Size: its size is asked of the
        // place the redirect points to.
        let size = match linked_size {
            Some(size) => Some(size),
            None => self.content_length(&target).await,
        };
        Ok(RemoteFile {
            url: target,
            sha256,
            size,
        })
    }

    /// The length a HEAD of `url` gives (following its redirects), if it answers one.
    async fn content_length(&self, url: &str) -> Option<u64> {
        let mut request = self.fetcher.head(url);
        if same_origin(url, &self.endpoint) {
            request = self.authorise(request);
        }
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        header(response.headers(), "content-length").and_then(|s| s.parse().ok())
    }

    /// The files of `repo` at `revision`, with sizes and LFS object ids.
    pub async fn tree(&self, repo: &str, revision: &str) -> Result<Vec<TreeEntry>, HubError> {
        let url = format!("{}/api/models/{repo}/tree/{revision}", self.endpoint);
        let response = self.send(self.resolver.get(&url), &url).await?;
        check(response.status(), repo, &format!("{repo}@{revision}"), &url)?;
        response
            .json::<Vec<TreeEntry>>()
            .await
            .map_err(|e| HubError::Malformed {
                url,
                message: e.to_string(),
            })
    }

    /// A request for the bytes of `file` from `offset` on.
    pub(crate) fn fetch(&self, file: &RemoteFile, offset: u64) -> reqwest::RequestBuilder {
        let mut request = self.fetcher.get(&file.url);
        if same_origin(&file.url, &self.endpoint) {
            request = self.authorise(request);
        }
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        request
    }
}

/// The Hub's refusals as errors a person can act on.
pub(crate) fn check(status: StatusCode, repo: &str, what: &str, url: &str) -> Result<(), HubError> {
    match status {
        s if s.is_success() || s.is_redirection() => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(HubError::Gated {
            repo: repo.to_string(),
        }),
        StatusCode::NOT_FOUND => Err(HubError::NotFound {
            what: what.to_string(),
            url: url.to_string(),
        }),
        s => Err(HubError::Status {
            status: s.as_u16(),
            url: url.to_string(),
        }),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Whether `url` is on the endpoint's own scheme, host and port (a CDN a redirect points to
/// never sees the token).
fn same_origin(url: &str, endpoint: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(endpoint)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A Location made absolute against the endpoint.
fn absolute(endpoint: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else {
        let origin = endpoint
            .find("://")
            .and_then(|i| endpoint[i + 3..].find('/').map(|j| &endpoint[..i + 3 + j]))
            .unwrap_or(endpoint);
        format!("{origin}/{}", location.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::{absolute, same_origin};

    #[test]
    fn the_token_goes_to_the_endpoint_only() {
        let hub = "https://huggingface.co";
        assert!(same_origin(
            "https://huggingface.co/org/repo/resolve/main/f",
            hub
        ));
        assert!(!same_origin("https://huggingface.co.example.com/f", hub));
        assert!(!same_origin("https://cdn-lfs.hf.co/f", hub));
        assert!(!same_origin("http://huggingface.co/f", hub));
    }

    #[test]
    fn redirects_are_made_absolute() {
        assert_eq!(
            absolute("http://127.0.0.1:9000", "/cdn/abc"),
            "http://127.0.0.1:9000/cdn/abc"
        );
        assert_eq!(
            absolute("https://hf-mirror.example/hub", "/cdn/abc"),
            "https://hf-mirror.example/cdn/abc"
        );
        assert_eq!(
            absolute("https://huggingface.co", "https://cdn-lfs.hf.co/x?y=1"),
            "https://cdn-lfs.hf.co/x?y=1"
        );
    }
}
