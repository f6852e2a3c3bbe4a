//! The prompt: instructions, numbered sources and the question, as chat messages. The texts
//! live in `crates/core/prompts/` and are snapshot-tested.

use crate::generation::{ChatMessage, ChatRole};

const SYSTEM: &str = include_str!("../../prompts/answer_system.txt");
const USER: &str = include_str!("../../prompts/answer_user.txt");
const SOURCE: &str = include_str!("../../prompts/source.txt");

/// What the model is told to say when the sources do not answer.
pub const REFUSAL: &str = "Your documents do not say.";

/// A source as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSource<'a> {
    pub n: usize,
    /// File name or title.
    pub name: &'a str,
    /// `p. 3` or a heading path; may be empty.
    pub location: String,
    pub text: &'a str,
}

/// Everything a prompt is made of.
#[derive(Debug, Clone, Default)]
pub struct PromptParts<'a> {
    pub question: &'a str,
    pub sources: Vec<PromptSource<'a>>,
    /// Earlier questions and answers of the chat, oldest first.
    pub history: Vec<(&'a str, &'a str)>,
}

/// The chat messages for the model: system rules, the earlier turns, then the sources and
/// the question.
pub fn render_messages(parts: &PromptParts<'_>) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::new(
        ChatRole::System,
        fill(SYSTEM, &[("refusal", REFUSAL)]).trim_end(),
    )];
    for (question, answer) in &parts.history {
        messages.push(ChatMessage::new(ChatRole::User, question.trim()));
        // Old answers cite old source numbers: without the markers they cannot mislead.
        messages.push(ChatMessage::new(
            ChatRole::Assistant,
            super::citations::strip_markers(answer).trim(),
        ));
    }
    let sources: String = parts.sources.iter().map(render_source_block).collect();
    let user = fill(
        USER,
        &[("sources", &sources), ("question", parts.question.trim())],
    );
    messages.push(ChatMessage::new(ChatRole::User, user.trim_end()));
    messages
}

/// One source as it appears in the prompt.
pub(crate) fn render_source_block(source: &PromptSource<'_>) -> String {
    let location = if source.location.is_empty() {
        String::new()
    } else {
        format!(", {}", source.location)
    };
    fill(
        SOURCE,
        &[
            ("n", &source.n.to_string()),
            ("name", source.name),
            ("location", &location),
            ("text", source.text.trim()),
        ],
    )
}

/// Fills a prompt template's `{name}` slots in one pass over the template: what is put in is
/// never scanned again, so a passage or file name that itself contains `{question}` stays as
/// written. A `{…}` that names no slot is kept as it is.
pub(super) fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + slots.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let slot = after.find('}').and_then(|close| {
            let name = &after[..close];
            slots
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, close))
        });
        match slot {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(messages: &[ChatMessage]) -> String {
        messages
            .iter()
            .map(|m| format!("--- {:?} ---\n{}\n", m.role, m.content))
            .collect()
    }

    #[test]
    fn prompt_with_sources() {
        let parts = PromptParts {
            question: "When was the bridge finished? ",
            sources: vec![
                PromptSource {
                    n: 1,
                    name: "history.pdf",
                    location: "p. 12".into(),
                    text: "The bridge was finished in 1932.\n",
                },
                PromptSource {
                    n: 2,
                    name: "notes.md",
                    location: "Bridges › Sydney".into(),
                    text: "Locals call it the Coathanger.",
                },
                PromptSource {
                    n: 3,
                    name: "plain.txt",
                    location: String::new(),
                    text: "No location here.",
                },
            ],
            history: vec![],
        };
        insta::assert_snapshot!(transcript(&render_messages(&parts)));
    }

    #[test]
    fn placeholders_inside_passages_names_and_questions_stay_literal() {
        let parts = PromptParts {
            question: "What does {sources} mean?",
            sources: vec![PromptSource {
                n: 1,
                name: "{text}.md",
                location: String::new(),
                text: "Write {question} where the question goes; {refusal} and {n} too.",
            }],
            history: vec![],
        };
        let messages = render_messages(&parts);
        let user = &messages[messages.len() - 1].content;
        assert!(user.contains("[1] {text}.md\n"), "{user}");
        assert!(
            user.contains("Write {question} where the question goes; {refusal} and {n} too."),
            "{user}"
        );
        assert!(
            user.ends_with("Question: What does {sources} mean?"),
            "{user}"
        );
        assert_eq!(user.matches("Write {question}").count(), 1);
    }

    #[test]
    fn prompt_with_history_drops_old_markers() {
        let parts = PromptParts {
            question: "And in 2019?",
            sources: vec![PromptSource {
                n: 1,
                name: "report.pdf",
                location: "p. 4".into(),
                text: "In 2019 revenue was 12 million.",
            }],
            history: vec![("What was the revenue in 2018?", "It was 10 million [1][2].")],
        };
        let messages = render_messages(&parts);
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2].content, "It was 10 million.");
        insta::assert_snapshot!(transcript(&messages));
    }
}
