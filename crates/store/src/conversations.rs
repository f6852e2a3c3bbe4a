//! Chats, messages and citations in the catalog database.

use crate::catalog::{now_ms, port, to_i64, SqliteCatalog};
use crate::StoreError;
use async_trait::async_trait;
use cairn_core::conversation::{AnswerOutcome, Citation};
use cairn_core::conversation::{ChatSummary, NewMessage, StoredMessage};
use cairn_core::generation::ChatRole;
use cairn_core::ports::{Conversations, PortResult};
use cairn_core::{ChatId, ChunkId, DocumentId, MessageId, PageUnit};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::HashMap;

fn role_name(role: ChatRole) -> &'static str {
    match role {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
    }
}

fn parse_role(name: &str) -> Result<ChatRole, StoreError> {
    match name {
        "system" => Ok(ChatRole::System),
        "user" => Ok(ChatRole::User),
        "assistant" => Ok(ChatRole::Assistant),
        other => Err(StoreError::Malformed(format!(
            "unknown message role {other}"
        ))),
    }
}

fn outcome_name(outcome: AnswerOutcome) -> &'static str {
    match outcome {
        AnswerOutcome::Answered => "answered",
        AnswerOutcome::Refused => "refused",
        AnswerOutcome::Cancelled => "cancelled",
    }
}

fn parse_outcome(name: Option<String>) -> Result<Option<AnswerOutcome>, StoreError> {
    Ok(match name.as_deref() {
        None => None,
        Some("answered") => Some(AnswerOutcome::Answered),
        Some("refused") => Some(AnswerOutcome::Refused),
        Some("cancelled") => Some(AnswerOutcome::Cancelled),
        Some(other) => return Err(StoreError::Malformed(format!("unknown outcome {other}"))),
    })
}

fn malformed(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Malformed(format!("{what}: {e}"))
}

fn summary_from_row(row: &SqliteRow) -> Result<ChatSummary, StoreError> {
    Ok(ChatSummary {
        id: ChatId(row.try_get("id")?),
        title: row.try_get("title")?,
        created_ms: row.try_get("created_at_ms")?,
        updated_ms: row.try_get("updated_at_ms")?,
        message_count: u32::try_from(row.try_get::<i64, _>("message_count")?).unwrap_or(0),
    })
}

fn citation_from_row(row: &SqliteRow) -> Result<Citation, StoreError> {
    let headings: String = row.try_get("heading_path")?;
    let to_usize = |v: i64| usize::try_from(v).unwrap_or(0);
    Ok(Citation {
        n: to_usize(row.try_get("n")?),
        chunk_id: ChunkId(row.try_get("chunk_id")?),
        document_id: DocumentId(row.try_get("document_id")?),
        document_path: row.try_get("document_path")?,
        document_title: row.try_get("document_title")?,
        page: row
            .try_get::<Option<i64>, _>("page")?
            .and_then(|p| u32::try_from(p).ok()),
        page_unit: PageUnit::parse(&row.try_get::<String, _>("page_unit")?),
        heading_path: serde_json::from_str(&headings).map_err(malformed("citation headings"))?,
        quote: row.try_get("quote")?,
        quote_start: to_usize(row.try_get("quote_start")?),
        quote_end: to_usize(row.try_get("quote_end")?),
        verified: row.try_get::<i64, _>("verified")? != 0,
        inferred: row.try_get::<i64, _>("inferred")? != 0,
    })
}

const CHAT_COLUMNS: &str = "c.id, c.title, c.created_at_ms, c.updated_at_ms, \
     (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS message_count";

impl SqliteCatalog {
    async fn append_tx(&self, chat: ChatId, message: &NewMessage) -> Result<MessageId, StoreError> {
        let now = now_ms();
        let details = message
            .details
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(malformed("message details"))?;
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (chat_id, role, content, outcome, model, details, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(chat.0)
        .bind(role_name(message.role))
        .bind(&message.content)
        .bind(message.outcome.map(outcome_name))
        .bind(&message.model)
        .bind(details)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for c in &message.citations {
            let headings =
                serde_json::to_string(&c.heading_path).map_err(malformed("citation headings"))?;
            sqlx::query(
                "INSERT INTO citations (message_id, n, chunk_id, document_id, document_path, \
                 document_title, page, page_unit, heading_path, quote, quote_start, quote_end, \
                 verified, inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(to_i64(c.n))
            .bind(c.chunk_id.as_str())
            .bind(c.document_id.0)
            .bind(&c.document_path)
            .bind(&c.document_title)
            .bind(c.page.map(i64::from))
            .bind(c.page_unit.as_str())
            .bind(headings)
            .bind(&c.quote)
            .bind(to_i64(c.quote_start))
            .bind(to_i64(c.quote_end))
            .bind(i64::from(c.verified))
            .bind(i64::from(c.inferred))
            .execute(&mut *tx)
            .await?;
        }
        let touched = sqlx::query("UPDATE chats SET updated_at_ms = ? WHERE id = ?")
            .bind(now)
            .bind(chat.0)
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::Malformed(format!("no chat with id {chat}")));
        }
        tx.commit().await?;
        Ok(MessageId(id))
    }

    async fn messages_of(&self, chat: ChatId) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, chat_id, role, content, outcome, model, details, created_at_ms \
             FROM messages WHERE chat_id = ? ORDER BY id",
        )
        .bind(chat.0)
        .fetch_all(self.pool())
        .await?;
        let citation_rows = sqlx::query(
            "SELECT ci.* FROM citations ci JOIN messages m ON m.id = ci.message_id \
             WHERE m.chat_id = ? ORDER BY ci.message_id, ci.n",
        )
        .bind(chat.0)
        .fetch_all(self.pool())
        .await?;
        let mut citations: HashMap<i64, Vec<Citation>> = HashMap::new();
        for row in &citation_rows {
            citations
                .entry(row.try_get("message_id")?)
                .or_default()
                .push(citation_from_row(row)?);
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let details: Option<String> = row.try_get("details")?;
                Ok(StoredMessage {
                    id: MessageId(id),
                    chat_id: ChatId(row.try_get("chat_id")?),
                    role: parse_role(&row.try_get::<String, _>("role")?)?,
                    content: row.try_get("content")?,
                    outcome: parse_outcome(row.try_get("outcome")?)?,
                    citations: citations.remove(&id).unwrap_or_default(),
                    model: row.try_get("model")?,
                    details: details
                        .map(|d| serde_json::from_str(&d))
                        .transpose()
                        .map_err(malformed("message details"))?,
                    created_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Conversations for SqliteCatalog {
    async fn create_chat(&self, title: &str) -> PortResult<ChatId> {
        let now = now_ms();
        let id = sqlx::query_scalar(
            "INSERT INTO chats (title, created_at_ms, updated_at_ms) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(title)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::from);
        port(id.map(ChatId))
    }

    async fn chats(&self) -> PortResult<Vec<ChatSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats c ORDER BY c.updated_at_ms DESC, c.id DESC"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from);
        port(rows.and_then(|rows| rows.iter().map(summary_from_row).collect()))
    }

    async fn chat(&self, id: ChatId) -> PortResult<Option<ChatSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from);
        port(row.and_then(|row| row.as_ref().map(summary_from_row).transpose()))
    }

    async fn messages(&self, chat: ChatId) -> PortResult<Vec<StoredMessage>> {
        port(self.messages_of(chat).await)
    }

    async fn append_message(&self, chat: ChatId, message: &NewMessage) -> PortResult<MessageId> {
        port(self.append_tx(chat, message).await)
    }

    async fn delete_chat(&self, chat: ChatId) -> PortResult<()> {
        let done = sqlx::query("DELETE FROM chats WHERE id = ?")
            .bind(chat.0)
            .execute(self.pool())
            .await
            .map_err(StoreError::from);
        port(done.map(|_| ()))
    }
}
