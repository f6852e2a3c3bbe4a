//! Who may ask: a bearer token on every request, compared in constant time, and only the Host
//! names this server is reached by on loopback, so that a web page whose name resolves to
//! 127.0.0.1 (DNS rebinding) is turned away even before the token is checked.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The bearer token clients must send. Never printed by `Debug`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// `None` for a token too short to guard anything (under 16 characters).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into().trim().to_string();
        (token.chars().count() >= 16).then_some(Token(token))
    }

    /// 32 random bytes from the OS, hex-encoded.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token, for the one place it is shown: the terminal of the person who started
    /// the server.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

pub struct Guard {
    token: Token,
    /// The Host header values accepted; `None` when bound to every interface, where the
    /// names are not known and the token alone guards.
    hosts: Option<Vec<String>>,
}

impl Guard {
    pub fn new(token: Token, address: SocketAddr) -> Self {
        let port = address.port();
        let ip = address.ip();
        let hosts = if ip.is_unspecified() {
            None
        } else {
            let mut hosts = vec![match ip {
                std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            }];
            if ip.is_loopback() {
                hosts.extend([
                    format!("localhost:{port}"),
                    format!("127.0.0.1:{port}"),
                    format!("[::1]:{port}"),
                ]);
            }
            Some(hosts)
        };
        Guard { token, hosts }
    }

    fn host_allowed(&self, host: Option<&HeaderValue>) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        host.and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase)
            .is_some_and(|h| hosts.contains(&h))
    }

    fn token_matches(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(given) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        given
            .trim()
            .as_bytes()
            .ct_eq(self.token.0.as_bytes())
            .into()
    }
}

pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !guard.host_allowed(headers.get(header::HOST)) {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            kind: "permission_error",
            code: "host_not_allowed".into(),
            message: "this server answers only requests addressed to it on loopback \
                      (Host 127.0.0.1, localhost or [::1] with its port)"
                .into(),
        }
        .into_response();
    }
    if !guard.token_matches(headers.get(header::AUTHORIZATION)) {
        let mut response = ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "authentication_error",
            code: "invalid_token".into(),
            message: "a valid token is needed: send `Authorization: Bearer <token>` with the \
                      token `cairn serve` printed (or CAIRN_TOKEN)"
                .into(),
        }
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(address: &str) -> Guard {
        Guard::new(
            Token::new("0123456789abcdef-token").unwrap(),
            address.parse().unwrap(),
        )
    }

    #[test]
    fn loopback_names_with_the_port_are_the_only_hosts_accepted() {
        let g = guard("127.0.0.1:8765");
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "LOCALHOST:8765",
            "[::1]:8765",
        ] {
            assert!(g.host_allowed(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for bad in [
            "evil.example:8765",
            "127.0.0.1:80",
            "localhost",
            "127.0.0.1.nip.io:8765",
        ] {
            assert!(
                !g.host_allowed(Some(&HeaderValue::from_static(bad))),
                "{bad}"
            );
        }
        assert!(!g.host_allowed(None));
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let g = guard("127.0.0.1:8765");
        let ok = HeaderValue::from_static("Bearer 0123456789abcdef-token");
        assert!(g.token_matches(Some(&ok)));
        for bad in [
            "Bearer 0123456789abcdef-toke",
            "Bearer 0123456789abcdef-token2",
            "0123456789abcdef-token",
            "Basic 0123456789abcdef-token",
            "Bearer ",
        ] {
            assert!(
                !g.token_matches(Some(&HeaderValue::from_static(bad))),
                "{bad}"
            );
        }
        assert!(!g.token_matches(None));
    }

    #[test]
    fn short_tokens_are_refused_and_generated_ones_differ() {
        assert!(Token::new("short").is_none());
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_eq!(a.reveal().len(), 64);
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(format!("{a:?}"), "Token(…)");
    }
}
