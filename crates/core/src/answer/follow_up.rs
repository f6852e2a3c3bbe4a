//! Follow-up questions ("and in 2019?", "who did they beat?") rewritten by the model into a
//! question that stands alone, for search. Off by default: on a CPU it costs a second prefill
//! before the answer's, and a small model can make a follow-up worse. With a fast or served
//! model it finds what the question refers to better than searching the previous question
//! and the follow-up together, which is what Cairn does otherwise.

use super::prompt::fill;
use crate::cancel::Cancel;
use crate::generation::{ChatMessage, ChatRole, GenerationEvent, GenerationParams};
use crate::ports::Generator;
use futures::future::{select, Either};
use futures::StreamExt;
use std::time::Instant;

const SYSTEM: &str = include_str!("../../prompts/follow_up_system.txt");
const USER: &str = include_str!("../../prompts/follow_up_user.txt");

/// Most tokens of a rewritten question.
pub const REWRITE_TOKENS: usize = 64;

/// How a rewrite is sampled: greedily, and short.
pub const REWRITE: GenerationParams = GenerationParams {
    max_tokens: REWRITE_TOKENS,
    temperature: 0.0,
};

/// Characters of an earlier answer shown to the model: enough for what "they" or "it" refers
/// to, little enough to keep the extra prefill short.
const ANSWER_CHARS: usize = 600;

/// The model's rewrite of the follow-up `question`, or `None` when the model fails, the ask is
/// cancelled, or the reply is not a question; the caller then searches the turns together.
pub async fn rewrite_follow_up(
    generator: &dyn Generator,
    history: &[(String, String)],
    question: &str,
    cancel: &Cancel,
) -> Option<String> {
    let started = Instant::now();
    let messages = rewrite_messages(history, question);
    let mut stream = match generator.generate(messages, REWRITE).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, "ask.rewrite: the model failed; searching the turns together");
            return None;
        }
    };
    let mut reply = String::new();
    let mut pieces = 0usize;
    // One line is all that is kept: stop the model once it has written one.
    while !(reply.trim_start().contains('\n') || pieces >= REWRITE_TOKENS) {
        if cancel.is_cancelled() {
            return None;
        }
        match select(stream.next(), Box::pin(cancel.cancelled())).await {
            Either::Right(((), _)) => return None,
            Either::Left((None | Some(Ok(GenerationEvent::Finished { .. })), _)) => break,
            Either::Left((Some(Ok(GenerationEvent::Token(text))), _)) => {
                reply.push_str(&text);
                pieces += 1;
            }
            Either::Left((Some(Err(error)), _)) => {
                tracing::debug!(%error, "ask.rewrite: the model failed; searching the turns together");
                return None;
            }
        }
    }
    drop(stream);
    let rewritten = accept_rewrite(&reply, question);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        pieces,
        accepted = rewritten.is_some(),
        "ask.rewrite"
    );
    rewritten
}

/// The messages asking the model to rewrite `question` given the earlier turns (oldest first).
pub fn rewrite_messages(history: &[(String, String)], question: &str) -> Vec<ChatMessage> {
    let turns: String = history
        .iter()
        .map(|(q, a)| {
            let answer = super::citations::strip_markers(a);
            format!("User: {}\nAssistant: {}\n", q.trim(), clip(answer.trim()))
        })
        .collect();
    vec![
        ChatMessage::new(ChatRole::System, SYSTEM.trim_end()),
        ChatMessage::new(
            ChatRole::User,
            fill(USER, &[("history", &turns), ("question", question.trim())]).trim_end(),
        ),
    ]
}

/// The rewritten question in the model's reply, or `None` when the reply is not one: empty,
/// or so long that it is an answer rather than a question.
pub fn accept_rewrite(reply: &str, question: &str) -> Option<String> {
    let line = reply.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = ["Rewritten question:", "Question:", "Query:"]
        .iter()
        .find_map(|label| line.strip_prefix(label))
        .unwrap_or(line)
        .trim()
        .trim_matches(|c| matches!(c, '"' | '“' | '”' | '\'' | '`'))
        .trim();
    let most = (question.chars().count() * 4).max(200);
    (!line.is_empty() && line.chars().count() <= most).then(|| line.to_string())
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(ANSWER_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_carries_the_turns_without_citation_markers() {
        let history = vec![(
            "Which team won Super Bowl 50?".to_string(),
            "The Denver Broncos won [1].".to_string(),
        )];
        let messages = rewrite_messages(&history, " Who did they beat? ");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].role, ChatRole::System);
        let user = &messages[1].content;
        assert!(
            user.contains(
                "User: Which team won Super Bowl 50?\nAssistant: The Denver Broncos won."
            ),
            "{user}"
        );
        assert!(user.contains("Last question: Who did they beat?"), "{user}");
        assert!(!user.contains("[1]"));
    }

    #[test]
    fn a_reply_gives_its_first_line_without_labels_or_quotes() {
        let q = "Who did they beat?";
        assert_eq!(
            accept_rewrite("\n Rewritten question: \"Who did the Denver Broncos beat in Super Bowl 50?\"\nThe Panthers.", q),
            Some("Who did the Denver Broncos beat in Super Bowl 50?".to_string())
        );
        assert_eq!(accept_rewrite("  \n ", q), None);
        assert_eq!(accept_rewrite("\"\"", q), None);
        assert_eq!(accept_rewrite(&"word ".repeat(100), q), None);
    }

    #[test]
    fn a_long_earlier_answer_is_clipped() {
        let history = vec![("q".to_string(), "ä".repeat(ANSWER_CHARS * 2))];
        let user = &rewrite_messages(&history, "and then?")[1].content;
        assert!(user.contains(&format!("{}…", "ä".repeat(ANSWER_CHARS))));
        assert!(!user.contains(&"ä".repeat(ANSWER_CHARS + 1)));
    }
}
