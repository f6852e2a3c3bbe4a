//! A served model as the generator: any server of the OpenAI chat-completions API (vLLM,
//! NVIDIA NIM, Databricks Model Serving, llama.cpp's server, Ollama) running Llama 3.1
//! 70B/405B where a laptop cannot. Retrieval, citations and the documents stay on this
//! machine; only the prompt Cairn packs goes to the server the person configured.
//!
//! Streams with server-sent events; retries before the first token only (after it, a retry
//! would repeat words already shown); dropping the stream closes the connection, which the
//! servers take as a cancel. Tokens are counted with the model's tokenizer where one is
//! given, and otherwise by a conservative estimate, so that the context budget errs short.

mod answer;
mod chunk;
mod error;
pub mod keychain;
mod sse;

pub use error::RemoteError;

use async_trait::async_trait;
use cairn_core::generation::{ChatMessage, ChatRole, GenerationParams, GenerationStream};
use cairn_core::ports::{Generator, PortResult};
use futures::StreamExt;
use std::path::PathBuf;
use std::time::Duration;

/// An API key: never printed, logged or serialised.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty key.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into().trim().to_string();
        (!key.is_empty()).then_some(ApiKey(key))
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// Where the served model is and how to talk to it.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The API's base URL, as the servers document it (`http://host:8000/v1`); a URL that
    /// ends in `/chat/completions` is taken as it is.
    pub url: String,
    /// The served model's name (`meta-llama/Llama-3.1-70B-Instruct`).
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Tokens of prompt and answer together the server runs the model with.
    pub context_window: usize,
    /// The model's `tokenizer.json`, to count tokens exactly.
    pub tokenizer: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// From the request to the first word of the answer (a 405B model reading a long prompt
    /// can take a while).
    pub first_token_timeout: Duration,
    /// Longest silence between two pieces of a streamed answer once it has begun: a server
    /// that stalls mid-answer ends the answer with [`RemoteError::Stalled`] (what was said is
    /// kept) instead of holding the person, the app or `cairn serve` forever. Servers send a
    /// piece per token, so a minute of nothing is a stall, not a slow model.
    pub idle_timeout: Duration,
    /// Tries after the first, before any token.
    pub retries: u32,
}

impl RemoteOptions {
    /// Llama 3.1's context window.
    pub const DEFAULT_CONTEXT: usize = 131_072;

    /// The server's URL without user name or password, for messages.
    pub fn shown_url(&self) -> String {
        shown_url(&self.url)
    }

    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        RemoteOptions {
            url: url.into(),
            model: model.into(),
            api_key: None,
            context_window: Self::DEFAULT_CONTEXT,
            tokenizer: None,
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(180),
            idle_timeout: Duration::from_secs(60),
            retries: 2,
        }
    }
}

/// A chat model on an OpenAI-compatible server.
pub struct RemoteGenerator {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    /// The endpoint without credentials, for messages.
    shown: String,
    options: RemoteOptions,
    tokenizer: Option<tokenizers::Tokenizer>,
}

impl RemoteGenerator {
    /// Checks the URL and reads the tokenizer; nothing is sent until the first answer.
    pub fn new(options: RemoteOptions) -> Result<Self, RemoteError> {
        let bad_url = || RemoteError::BadUrl {
            url: shown_url(&options.url),
        };
        let base = options.url.trim().trim_end_matches('/');
        let full = if base.ends_with("/chat/completions") {
            base.to_string()
        } else {
            format!("{base}/chat/completions")
        };
        let endpoint = reqwest::Url::parse(&full).map_err(|_| bad_url())?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
            return Err(bad_url());
        }
        let tokenizer = options
            .tokenizer
            .as_ref()
            .map(|path| {
                tokenizers::Tokenizer::from_file(path).map_err(|e| RemoteError::Tokenizer {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| RemoteError::Unreachable {
                url: shown_url(&full),
                reason: reason(&e),
            })?;
        Ok(RemoteGenerator {
            client,
            shown: shown_url(endpoint.as_str()),
            endpoint,
            options,
            tokenizer,
        })
    }

    /// The endpoint answers are asked of, without credentials.
    pub fn endpoint(&self) -> &str {
        &self.shown
    }

    /// Asks the server for a one-token answer, as Settings' Test button does: it proves the
    /// URL, the key and the model name together. The time until that token came.
    pub async fn check(&self) -> Result<Duration, RemoteError> {
        let body = serde_json::json!({
            "model": self.options.model,
            "messages": [{"role": "user", "content": "Reply with the word OK."}],
            "stream": true,
            "max_tokens": 1,
            "temperature": 0.0,
        });
        let started = std::time::Instant::now();
        // Dropping the answer closes the connection: the server stops there.
        let _answer = self.start(&body).await?;
        Ok(started.elapsed())
    }

    /// Sends the request and reads until the answer begins, trying again while that fails
    /// for a reason that may pass.
    async fn start(&self, body: &serde_json::Value) -> Result<answer::Answer, RemoteError> {
        let mut attempt = 0;
        loop {
            let tried = tokio::time::timeout(self.options.first_token_timeout, self.begin(body));
            let error = match tried.await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(e)) => e,
                Err(_) => RemoteError::FirstTokenTimeout {
                    url: self.shown.clone(),
                    seconds: self.options.first_token_timeout.as_secs(),
                },
            };
            if !error.is_transient() || attempt >= self.options.retries {
                return Err(error);
            }
            attempt += 1;
            tracing::warn!(attempt, %error, "the model server failed before its answer began; trying again");
            tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
        }
    }

    async fn begin(&self, body: &serde_json::Value) -> Result<answer::Answer, RemoteError> {
        let mut request = self.client.post(self.endpoint.clone()).json(body);
        if let Some(key) = &self.options.api_key {
            request = request.bearer_auth(&key.0);
        }
        let response = request.send().await.map_err(|e| RemoteError::Unreachable {
            url: self.shown.clone(),
            reason: reason(&e),
        })?;
        let status = response.status().as_u16();
        let url = self.shown.clone();
        match status {
            200..=299 => {}
            401 | 403 => return Err(RemoteError::Refused { url, status }),
            404 => {
                return Err(RemoteError::NotFound {
                    url,
                    model: self.options.model.clone(),
                })
            }
            _ => {
                let text = response.text().await.unwrap_or_default();
                let message = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("error").map(chunk::error_message))
                    .unwrap_or_else(|| chunk::shorten(&text));
                return Err(RemoteError::Status {
                    url,
                    status,
                    message,
                });
            }
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let mut answer = if is_json {
            let text = response.text().await.map_err(|e| RemoteError::Cut {
                url: url.clone(),
                reason: reason(&e),
            })?;
            answer::Answer::whole(url, &text)
        } else {
            answer::Answer::streamed(url, response, self.options.idle_timeout)
        };
        answer.until_begun().await?;
        Ok(answer)
    }

    fn count(&self, text: &str) -> usize {
        match &self.tokenizer {
            Some(tokenizer) => tokenizer
                .encode(text, false)
                .map(|e| e.len())
                .unwrap_or_else(|_| estimate(text)),
            None => estimate(text),
        }
    }
}

/// Tokens of `text` without the model's tokenizer, erring high: Llama 3's tokenizer takes
/// about 4 bytes a token in English and German, 3 or more per CJK character; 3 bytes a
/// token over-counts the first and holds for the second.
fn estimate(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// Tokens the chat format adds to each message (role headers, end-of-turn), erring high.
const PER_MESSAGE: usize = 8;

#[async_trait]
impl Generator for RemoteGenerator {
    fn model_id(&self) -> &str {
        &self.options.model
    }

    fn context_window(&self) -> usize {
        self.options.context_window
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "answers come from {} on {}",
            self.options.model, self.shown
        ))
    }

    async fn count_tokens(&self, text: &str) -> PortResult<usize> {
        Ok(self.count(text))
    }

    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize> {
        Ok(messages
            .iter()
            .map(|m| self.count(&m.content) + PER_MESSAGE)
            .sum::<usize>()
            + PER_MESSAGE)
    }

    async fn generate(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> PortResult<GenerationStream> {
        let prompt_tokens = self.prompt_tokens(&messages).await?;
        let body = serde_json::json!({
            "model": self.options.model,
            "messages": messages.iter().map(|m| serde_json::json!({
                "role": role(m.role),
                "content": m.content,
            })).collect::<Vec<_>>(),
            "stream": true,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
        });
        let answer = self.start(&body).await?;
        Ok(answer
            .events(prompt_tokens, params.max_tokens)
            .map(|event| event.map_err(Into::into))
            .boxed())
    }
}

fn role(role: ChatRole) -> &'static str {
    match role {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
    }
}

/// A URL for messages: user name and password removed.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

/// What went wrong in a request, without the URL reqwest adds (said once by the caller).
fn reason(e: &reqwest::Error) -> String {
    let mut reason = if e.is_connect() {
        "the connection was refused or timed out".to_string()
    } else if e.is_timeout() {
        "it timed out".to_string()
    } else {
        let text = e.to_string();
        match e.url() {
            Some(url) => text.replace(&format!(" for url ({url})"), ""),
            None => text,
        }
    };
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = inner.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_credentials() {
        let g = RemoteGenerator::new(RemoteOptions::new(
            "https://user:secret@llm.example:8443/v1/",
            "llama",
        ))
        .unwrap();
        assert_eq!(g.endpoint(), "https://llm.example:8443/v1/chat/completions");
        let full = RemoteOptions::new("http://127.0.0.1:8080/v1/chat/completions", "m");
        assert_eq!(
            RemoteGenerator::new(full).unwrap().endpoint(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        for bad in ["ftp://host/v1", "not a url", ""] {
            assert!(
                matches!(
                    RemoteGenerator::new(RemoteOptions::new(bad, "m")),
                    Err(RemoteError::BadUrl { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        let mut options = RemoteOptions::new("http://127.0.0.1:1/v1", "m");
        options.api_key = ApiKey::new("sk-very-secret");
        assert!(!format!("{options:?}").contains("very-secret"));
        assert!(ApiKey::new("  ").is_none());
    }

    #[test]
    fn the_estimate_errs_high_for_english_german_and_cjk() {
        // Above the usual rules of thumb: 1.3 tokens a word in English, 2 in German
        // compounds, one a character in Japanese.
        let english = "The quick brown fox jumps over the lazy dog near the river bank.";
        assert!(estimate(english) as f64 >= 1.3 * english.split_whitespace().count() as f64);
        let german = "Die Straßenbahnhaltestelle liegt gegenüber der Universitätsbibliothek.";
        assert!(estimate(german) >= 2 * german.split_whitespace().count());
        let japanese = "東京は日本の首都です。";
        assert!(estimate(japanese) >= japanese.chars().count());
    }
}
