//! Chats and their messages in memory.

use super::lock;
use crate::conversation::{ChatSummary, NewMessage, StoredMessage};
use crate::ids::{ChatId, MessageId};
use crate::ports::{Conversations, PortResult};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryChats {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    chats: BTreeMap<ChatId, ChatSummary>,
    messages: Vec<StoredMessage>,
    /// Milliseconds; moves on with each change, so "most recent" is well defined.
    clock: i64,
}

#[async_trait]
impl Conversations for MemoryChats {
    async fn create_chat(&self, title: &str) -> PortResult<ChatId> {
        let mut state = lock(&self.state);
        state.clock += 1;
        let id = ChatId(i64::try_from(state.chats.len()).unwrap_or(i64::MAX) + 1);
        let now = state.clock;
        state.chats.insert(
            id,
            ChatSummary {
                id,
                title: title.to_string(),
                created_ms: now,
                updated_ms: now,
                message_count: 0,
            },
        );
        Ok(id)
    }

    async fn chats(&self) -> PortResult<Vec<ChatSummary>> {
        let mut all: Vec<ChatSummary> = lock(&self.state).chats.values().cloned().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.updated_ms));
        Ok(all)
    }

    async fn chat(&self, id: ChatId) -> PortResult<Option<ChatSummary>> {
        Ok(lock(&self.state).chats.get(&id).cloned())
    }

    async fn messages(&self, chat: ChatId) -> PortResult<Vec<StoredMessage>> {
        Ok(lock(&self.state)
            .messages
            .iter()
            .filter(|m| m.chat_id == chat)
            .cloned()
            .collect())
    }

    async fn append_message(&self, chat: ChatId, message: &NewMessage) -> PortResult<MessageId> {
        let mut state = lock(&self.state);
        state.clock += 1;
        let now = state.clock;
        let id = MessageId(i64::try_from(state.messages.len()).unwrap_or(i64::MAX) + 1);
        state.messages.push(message.stored(id, chat, now));
        if let Some(summary) = state.chats.get_mut(&chat) {
            summary.updated_ms = now;
            summary.message_count += 1;
        }
        Ok(id)
    }

    async fn delete_chat(&self, chat: ChatId) -> PortResult<()> {
        let mut state = lock(&self.state);
        state.chats.remove(&chat);
        state.messages.retain(|m| m.chat_id != chat);
        Ok(())
    }
}
