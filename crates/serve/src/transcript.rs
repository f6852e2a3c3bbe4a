//! The chat of one API request: the earlier turns the client sent, held in memory for the
//! engine to follow up on. A client's conversation is its own: nothing of it is added to the
//! person's chats in the app.

use async_trait::async_trait;
use cairn_core::conversation::{ChatSummary, NewMessage, StoredMessage};
use cairn_core::generation::ChatRole;
use cairn_core::ports::{Conversations, PortResult};
use cairn_core::{ChatId, MessageId};
use std::sync::Mutex;

/// The one chat of a request.
pub const CHAT: ChatId = ChatId(1);

pub struct Transcript {
    messages: Mutex<Vec<StoredMessage>>,
}

impl Transcript {
    /// A transcript of `(role, content)` turns, oldest first.
    pub fn new(turns: Vec<(ChatRole, String)>) -> Self {
        let messages = turns
            .into_iter()
            .enumerate()
            .map(|(i, (role, content))| StoredMessage {
                id: MessageId(i as i64 + 1),
                chat_id: CHAT,
                role,
                content,
                outcome: None,
                citations: Vec::new(),
                model: None,
                details: None,
                created_ms: 0,
            })
            .collect();
        Transcript {
            messages: Mutex::new(messages),
        }
    }

    fn read(&self) -> Vec<StoredMessage> {
        self.messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

#[async_trait]
impl Conversations for Transcript {
    async fn create_chat(&self, _title: &str) -> PortResult<ChatId> {
        Ok(CHAT)
    }

    async fn chats(&self) -> PortResult<Vec<ChatSummary>> {
        Ok(self.chat(CHAT).await?.into_iter().collect())
    }

    async fn chat(&self, id: ChatId) -> PortResult<Option<ChatSummary>> {
        let messages = self.read();
        Ok((id == CHAT).then(|| ChatSummary {
            id: CHAT,
            title: String::new(),
            created_ms: 0,
            updated_ms: 0,
            message_count: u32::try_from(messages.len()).unwrap_or(u32::MAX),
        }))
    }

    async fn messages(&self, chat: ChatId) -> PortResult<Vec<StoredMessage>> {
        Ok(if chat == CHAT {
            self.read()
        } else {
            Vec::new()
        })
    }

    async fn append_message(&self, chat: ChatId, message: &NewMessage) -> PortResult<MessageId> {
        let mut messages = self
            .messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = MessageId(messages.len() as i64 + 1);
        messages.push(message.stored(id, chat, 0));
        Ok(id)
    }

    async fn delete_chat(&self, _chat: ChatId) -> PortResult<()> {
        Ok(())
    }
}
