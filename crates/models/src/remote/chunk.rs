//! The pieces of an OpenAI chat-completions answer, read leniently: vLLM, NIM, llama.cpp's
//! server and Ollama differ in what they leave out (`finish_reason` empty or absent, no
//! `usage`, an error object in place of a chunk), and a server may answer a streamed request
//! with one whole completion.

use cairn_core::generation::StopReason;
use serde::Deserialize;

/// What one event (or one whole completion) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text of the answer.
    Text(String),
    /// The model stopped, for this reason.
    Finish(StopReason),
    /// The server's own count of tokens.
    Usage {
        prompt: Option<usize>,
        completion: Option<usize>,
    },
    /// The end of the stream (`[DONE]`).
    Done,
    /// The server reported an error inside the stream.
    Error(String),
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    /// Streamed chunks carry `delta`, whole completions `message`.
    #[serde(default, alias = "message")]
    delta: Option<Delta>,
    /// Older completion-style servers.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<usize>,
    #[serde(default)]
    completion_tokens: Option<usize>,
}

/// Reads one event's data (`event` is its SSE name) or a whole JSON completion.
pub fn parse(event: &str, data: &str) -> Vec<Piece> {
    let data = data.trim();
    if data == "[DONE]" {
        return vec![Piece::Done];
    }
    let completion: Completion = match serde_json::from_str(data) {
        Ok(c) => c,
        Err(_) if event == "error" => return vec![Piece::Error(shorten(data))],
        // Something that is not a chunk (a keep-alive of another shape): nothing to say.
        Err(_) => return Vec::new(),
    };
    let mut pieces = Vec::new();
    if let Some(error) = completion.error {
        pieces.push(Piece::Error(error_message(&error)));
        return pieces;
    }
    if event == "error" {
        return vec![Piece::Error(shorten(data))];
    }
    // One answer is asked for: the first choice is it.
    if let Some(choice) = completion.choices.into_iter().next() {
        let text = choice
            .delta
            .and_then(|d| d.content)
            .or(choice.text)
            .unwrap_or_default();
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if let Some(stop) = choice.finish_reason.as_deref().and_then(stop_reason) {
            pieces.push(Piece::Finish(stop));
        }
    }
    if let Some(usage) = completion.usage {
        pieces.push(Piece::Usage {
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
        });
    }
    pieces
}

/// `None` for an empty reason (some servers send `""` on every chunk).
fn stop_reason(reason: &str) -> Option<StopReason> {
    match reason.trim() {
        "" | "null" => None,
        "length" | "max_tokens" | "model_length" => Some(StopReason::Length),
        _ => Some(StopReason::EndOfAnswer),
    }
}

/// The message of an error object (`{"message": …}`), or the error as a string.
pub fn error_message(error: &serde_json::Value) -> String {
    let message = error
        .get("message")
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .or_else(|| error.as_str().map(str::to_string))
        .unwrap_or_else(|| error.to_string());
    shorten(&message)
}

/// At most 300 characters of a server's message.
pub fn shorten(message: &str) -> String {
    let message = message.trim();
    match message.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_each_server_shape_give_text_stop_and_usage() {
        // vLLM / OpenAI: role first, content deltas, a stop, usage in a last chunk.
        assert_eq!(
            parse(
                "",
                r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#
            ),
            vec![]
        );
        assert_eq!(
            parse(
                "",
                r#"{"choices":[{"delta":{"content":"Paris"},"finish_reason":null}]}"#
            ),
            vec![Piece::Text("Paris".into())]
        );
        assert_eq!(
            parse("", r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#),
            vec![Piece::Finish(StopReason::EndOfAnswer)]
        );
        assert_eq!(
            parse(
                "",
                r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#
            ),
            vec![Piece::Usage {
                prompt: Some(12),
                completion: Some(3)
            }]
        );
        // llama.cpp: an empty finish_reason on every chunk, no usage.
        assert_eq!(
            parse(
                "",
                r#"{"choices":[{"delta":{"content":" is"},"finish_reason":""}]}"#
            ),
            vec![Piece::Text(" is".into())]
        );
        assert_eq!(
            parse(
                "",
                r#"{"choices":[{"delta":{"content":"…"},"finish_reason":"length"}]}"#
            ),
            vec![Piece::Text("…".into()), Piece::Finish(StopReason::Length)]
        );
        // A whole completion where a stream was asked for.
        assert_eq!(
            parse(
                "",
                r#"{"choices":[{"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}],"usage":{"completion_tokens":2}}"#
            ),
            vec![
                Piece::Text("Done.".into()),
                Piece::Finish(StopReason::EndOfAnswer),
                Piece::Usage {
                    prompt: None,
                    completion: Some(2)
                }
            ]
        );
        assert_eq!(parse("", " [DONE] "), vec![Piece::Done]);
        assert_eq!(parse("", "not json"), vec![]);
    }

    #[test]
    fn errors_inside_the_stream_are_said() {
        assert_eq!(
            parse(
                "",
                r#"{"error":{"message":"context length exceeded","code":400}}"#
            ),
            vec![Piece::Error("context length exceeded".into())]
        );
        assert_eq!(
            parse("error", "upstream died"),
            vec![Piece::Error("upstream died".into())]
        );
        assert_eq!(
            parse("", r#"{"error":"overloaded"}"#),
            vec![Piece::Error("overloaded".into())]
        );
        let long = "x".repeat(500);
        assert_eq!(shorten(&long).chars().count(), 301);
    }
}
