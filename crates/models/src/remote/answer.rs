//! Reading one answer off the wire: bytes → events → pieces, and the pieces as the
//! generator's events, capped at the asked number of tokens.

use super::chunk::{self, Piece};
use super::sse::Decoder;
use super::RemoteError;
use cairn_core::generation::{GenerationEvent, StopReason};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;

/// An answer being read.
pub(super) struct Answer {
    url: String,
    bytes: BoxStream<'static, Result<bytes::Bytes, reqwest::Error>>,
    decoder: Decoder,
    pending: VecDeque<Piece>,
    ended: bool,
    /// Longest wait for the next bytes of a streamed answer once it has begun (before that,
    /// the first-token time-out holds).
    idle_timeout: Duration,
    begun: bool,
}

impl Answer {
    /// Reads a streamed (`text/event-stream`) answer.
    pub(super) fn streamed(
        url: String,
        response: reqwest::Response,
        idle_timeout: Duration,
    ) -> Self {
        Answer {
            url,
            bytes: response.bytes_stream().boxed(),
            decoder: Decoder::default(),
            pending: VecDeque::new(),
            ended: false,
            idle_timeout,
            begun: false,
        }
    }

    /// An answer that came whole (a server that ignores `stream`).
    pub(super) fn whole(url: String, body: &str) -> Self {
        Answer {
            url,
            bytes: futures::stream::empty().boxed(),
            decoder: Decoder::default(),
            pending: chunk::parse("", body).into(),
            ended: true,
            idle_timeout: Duration::MAX,
            begun: false,
        }
    }

    /// Reads until the answer has begun (text, a stop, or the end): what a retry is decided
    /// on. A stream that ends with nothing said is `Empty`.
    pub(super) async fn until_begun(&mut self) -> Result<(), RemoteError> {
        loop {
            if let Some(Piece::Error(message)) =
                self.pending.iter().find(|p| matches!(p, Piece::Error(_)))
            {
                return Err(RemoteError::Server {
                    url: self.url.clone(),
                    message: message.clone(),
                });
            }
            if self
                .pending
                .iter()
                .any(|p| !matches!(p, Piece::Usage { .. }))
            {
                self.begun = true;
                return Ok(());
            }
            if self.ended {
                return Err(RemoteError::Empty {
                    url: self.url.clone(),
                });
            }
            self.read().await?;
        }
    }

    /// The next piece, reading as needed; `None` once the server has closed.
    async fn next_piece(&mut self) -> Result<Option<Piece>, RemoteError> {
        loop {
            if let Some(piece) = self.pending.pop_front() {
                return Ok(Some(piece));
            }
            if self.ended {
                return Ok(None);
            }
            self.read().await?;
        }
    }

    async fn read(&mut self) -> Result<(), RemoteError> {
        let next = if self.begun {
            tokio::time::timeout(self.idle_timeout, self.bytes.next())
                .await
                .map_err(|_| RemoteError::Stalled {
                    url: self.url.clone(),
                    seconds: self.idle_timeout.as_secs(),
                })?
        } else {
            self.bytes.next().await
        };
        match next {
            Some(Ok(bytes)) => {
                for event in self.decoder.push(&bytes) {
                    self.pending.extend(chunk::parse(&event.name, &event.data));
                }
            }
            Some(Err(e)) => {
                return Err(RemoteError::Cut {
                    url: self.url.clone(),
                    reason: super::reason(&e),
                })
            }
            None => {
                self.ended = true;
                if let Some(event) = self.decoder.finish() {
                    self.pending.extend(chunk::parse(&event.name, &event.data));
                }
            }
        }
        Ok(())
    }

    /// The answer as the generator's events: tokens, then `Finished`. `prompt_tokens` is
    /// Cairn's own count, replaced by the server's where it sends one.
    pub(super) fn events(
        self,
        prompt_tokens: usize,
        max_tokens: usize,
    ) -> BoxStream<'static, Result<GenerationEvent, RemoteError>> {
        let state = Reading {
            answer: self,
            prompt_tokens,
            completion_tokens: None,
            generated: 0,
            max_tokens: max_tokens.max(1),
            stop: None,
        };
        futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            match state.next().await {
                Ok(Some(token)) => Some((Ok(GenerationEvent::Token(token)), Some(state))),
                Ok(None) => {
                    let finished = GenerationEvent::Finished {
                        stop: state.stop.unwrap_or(StopReason::EndOfAnswer),
                        prompt_tokens: state.prompt_tokens,
                        generated_tokens: state.completion_tokens.unwrap_or(state.generated),
                    };
                    Some((Ok(finished), None))
                }
                Err(e) => Some((Err(e), None)),
            }
        })
        .boxed()
    }
}

struct Reading {
    answer: Answer,
    prompt_tokens: usize,
    completion_tokens: Option<usize>,
    /// Text pieces so far: each is at least one token.
    generated: usize,
    max_tokens: usize,
    stop: Option<StopReason>,
}

impl Reading {
    /// The next piece of text, or `None` at the end of the answer.
    async fn next(&mut self) -> Result<Option<String>, RemoteError> {
        if self.generated >= self.max_tokens {
            // The cap holds whatever the server does.
            self.stop = Some(StopReason::Length);
            return Ok(None);
        }
        loop {
            match self.answer.next_piece().await? {
                Some(Piece::Text(text)) => {
                    self.generated += 1;
                    return Ok(Some(text));
                }
                Some(Piece::Finish(stop)) => self.stop = Some(stop),
                Some(Piece::Usage { prompt, completion }) => {
                    if let Some(prompt) = prompt {
                        self.prompt_tokens = prompt;
                    }
                    self.completion_tokens = completion.or(self.completion_tokens);
                }
                Some(Piece::Error(message)) => {
                    return Err(RemoteError::Server {
                        url: self.answer.url.clone(),
                        message,
                    })
                }
                Some(Piece::Done) | None => return Ok(None),
            }
        }
    }
}
