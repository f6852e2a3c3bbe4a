//! The catalog in SQLite: documents and their states, extracted text, chunks, embeddings.

use crate::StoreError;
use async_trait::async_trait;
use cairn_core::error::PortError;
use cairn_core::ports::{Catalog, NewDocument, PortResult};
use cairn_core::{
    Chunk, ChunkId, ContentHash, DocumentId, DocumentKind, DocumentRecord, DocumentState,
    ErrorCode, ExtractedDocument, Failure, PageUnit,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// SQLite has a limit on bound parameters per statement; batches stay well under it.
const BATCH: usize = 500;

/// The catalog on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    pool: SqlitePool,
    /// The data folder's lock, held as long as the catalog is open (see [`crate::DataLock`]).
    lock: Option<std::sync::Arc<crate::DataLock>>,
}

impl SqliteCatalog {
    /// Opens the catalog and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteCatalog { pool, lock: None })
    }

    /// Keeps the data folder locked while this catalog (or a clone) is alive.
    pub fn hold(mut self, lock: crate::DataLock) -> Self {
        self.lock = Some(std::sync::Arc::new(lock));
        self
    }

    /// The data folder's lock, when this catalog holds one.
    pub fn lock(&self) -> Option<std::sync::Arc<crate::DataLock>> {
        self.lock.clone()
    }

    /// Whether the previous process on this data folder stopped without closing it.
    pub fn unclean_shutdown(&self) -> bool {
        self.lock.as_ref().is_some_and(|l| l.unclean_shutdown())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

const DOCUMENT_COLUMNS: &str = "d.id, d.path, d.kind, d.title, d.content_hash, d.size_bytes, \
     d.mtime_ms, d.state, d.failure_code, d.failure_message, d.page_count, \
     (SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) AS chunk_count, \
     (SELECT json_array_length(t.ocr_pages) FROM document_texts t WHERE t.document_id = d.id) \
     AS ocr_pages";

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn document_from_row(row: &SqliteRow) -> Result<DocumentRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let state = DocumentState::parse(&state)
        .ok_or_else(|| StoreError::Malformed(format!("unknown document state {state}")))?;
    let failure = match (
        row.try_get::<Option<String>, _>("failure_code")?,
        row.try_get::<Option<String>, _>("failure_message")?,
    ) {
        (Some(code), Some(message)) => Some(Failure::new(
            ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal),
            message,
        )),
        _ => None,
    };
    Ok(DocumentRecord {
        id: DocumentId(row.try_get("id")?),
        path: row.try_get("path")?,
        kind: row
            .try_get::<Option<String>, _>("kind")?
            .and_then(|k| DocumentKind::parse(&k)),
        title: row.try_get("title")?,
        content_hash: ContentHash(row.try_get("content_hash")?),
        size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?).unwrap_or(0),
        mtime_ms: row.try_get("mtime_ms")?,
        state,
        failure,
        page_count: u32::try_from(row.try_get::<i64, _>("page_count")?).unwrap_or(0),
        chunk_count: u32::try_from(row.try_get::<i64, _>("chunk_count")?).unwrap_or(0),
        ocr_pages: row
            .try_get::<Option<i64>, _>("ocr_pages")?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

fn chunk_from_row(row: &SqliteRow) -> Result<Chunk, StoreError> {
    let headings: String = row.try_get("heading_path")?;
    let to_u32 = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    Ok(Chunk {
        id: ChunkId(row.try_get("id")?),
        document_id: DocumentId(row.try_get("document_id")?),
        ordinal: u32::try_from(row.try_get::<i64, _>("ordinal")?).unwrap_or(0),
        text: row.try_get("text")?,
        start: usize::try_from(row.try_get::<i64, _>("start_offset")?).unwrap_or(0),
        end: usize::try_from(row.try_get::<i64, _>("end_offset")?).unwrap_or(0),
        page_start: to_u32(row.try_get("page_start")?),
        page_end: to_u32(row.try_get("page_end")?),
        page_unit: PageUnit::parse(&row.try_get::<String, _>("page_unit")?),
        heading_path: serde_json::from_str(&headings)
            .map_err(|e| StoreError::Malformed(format!("heading path of a chunk: {e}")))?,
        token_count: u32::try_from(row.try_get::<i64, _>("token_count")?).unwrap_or(0),
    })
}

/// A chunk row with the `vector` column of a left-joined embedding.
fn chunk_with_vector(row: &SqliteRow) -> Result<(Chunk, Option<Vec<f32>>), StoreError> {
    let vector: Option<Vec<u8>> = row.try_get("vector")?;
    Ok((chunk_from_row(row)?, vector.map(|b| blob_to_vector(&b))))
}

pub(crate) fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn to_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn port<T>(r: Result<T, StoreError>) -> PortResult<T> {
    r.map_err(PortError::from)
}

impl SqliteCatalog {
    async fn document_where(
        &self,
        clause: &str,
        bind: DocumentKey<'_>,
    ) -> Result<Option<DocumentRecord>, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE {clause}");
        let query = sqlx::query(&sql);
        let query = match bind {
            DocumentKey::Id(id) => query.bind(id.0),
            DocumentKey::Path(p) => query.bind(p),
        };
        query
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(document_from_row)
            .transpose()
    }

    async fn store_extracted_tx(
        &self,
        id: DocumentId,
        doc: &ExtractedDocument,
        chunks: &[Chunk],
        embeddings: &[Vec<f32>],
        model_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE documents SET state = 'extracted', kind = ?, title = ?, page_count = ?, \
             failure_code = NULL, failure_message = NULL, updated_at_ms = ? WHERE id = ?",
        )
        .bind(doc.kind.as_str())
        .bind(doc.title.as_deref())
        .bind(i64::from(doc.page_count()))
        .bind(now_ms())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let spans = |v: Result<String, serde_json::Error>| {
            v.map_err(|e| StoreError::Malformed(format!("document spans: {e}")))
        };
        sqlx::query("INSERT OR REPLACE INTO document_texts (document_id, text, pages, sections, furniture, ocr_pages) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id.0)
            .bind(&doc.text)
            .bind(spans(serde_json::to_string(&doc.pages))?)
            .bind(spans(serde_json::to_string(&doc.sections))?)
            .bind(spans(serde_json::to_string(&doc.furniture))?)
            .bind(spans(serde_json::to_string(&doc.ocr_pages))?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        for batch in chunks.chunks(BATCH / 10) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO chunks (id, document_id, ordinal, text, start_offset, end_offset, \
                 page_start, page_end, page_unit, heading_path, token_count) ",
            );
            insert.push_values(batch, |mut row, c| {
                row.push_bind(c.id.as_str())
                    .push_bind(c.document_id.0)
                    .push_bind(i64::from(c.ordinal))
                    .push_bind(c.text.as_str())
                    .push_bind(to_i64(c.start))
                    .push_bind(to_i64(c.end))
                    .push_bind(c.page_start.map(i64::from))
                    .push_bind(c.page_end.map(i64::from))
                    .push_bind(c.page_unit.as_str())
                    .push_bind(
                        serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into()),
                    )
                    .push_bind(i64::from(c.token_count));
            });
            insert.build().execute(&mut *tx).await?;
        }
        let pairs: Vec<(&str, &[f32])> = chunks
            .iter()
            .map(|c| c.id.as_str())
            .zip(embeddings.iter().map(Vec::as_slice))
            .collect();
        insert_embeddings(&mut tx, &pairs, model_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Stores `(chunk id, vector)` pairs of one model, replacing earlier vectors of those chunks.
async fn insert_embeddings(
    conn: &mut sqlx::SqliteConnection,
    pairs: &[(&str, &[f32])],
    model_id: &str,
) -> Result<(), StoreError> {
    for batch in pairs.chunks(BATCH / 3) {
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT OR REPLACE INTO embeddings (chunk_id, model, vector) ");
        insert.push_values(batch, |mut row, (id, v)| {
            row.push_bind(*id)
                .push_bind(model_id)
                .push_bind(vector_to_blob(v));
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

enum DocumentKey<'a> {
    Id(DocumentId),
    Path(&'a str),
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn document_by_path(&self, path: &str) -> PortResult<Option<DocumentRecord>> {
        port(
            self.document_where("d.path = ?", DocumentKey::Path(path))
                .await,
        )
    }

    async fn document(&self, id: DocumentId) -> PortResult<Option<DocumentRecord>> {
        port(self.document_where("d.id = ?", DocumentKey::Id(id)).await)
    }

    async fn documents(&self) -> PortResult<Vec<DocumentRecord>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d ORDER BY d.path");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        port(rows.iter().map(document_from_row).collect())
    }

    async fn begin_document(&self, doc: &NewDocument) -> PortResult<DocumentId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (path, content_hash, size_bytes, mtime_ms, state, updated_at_ms) \
             VALUES (?, ?, ?, ?, 'queued', ?) \
             ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash, \
             size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms, state = 'queued', \
             failure_code = NULL, failure_message = NULL, updated_at_ms = excluded.updated_at_ms \
             RETURNING id",
        )
        .bind(&doc.path)
        .bind(&doc.content_hash.0)
        .bind(i64::try_from(doc.size_bytes).unwrap_or(i64::MAX))
        .bind(doc.mtime_ms)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(DocumentId(id))
    }

    async fn touch_document(&self, id: DocumentId, mtime_ms: i64) -> PortResult<()> {
        // The bytes are those of the stored version: an earlier failed re-read is moot.
        sqlx::query(
            "UPDATE documents SET mtime_ms = ?, \
             failure_code = CASE WHEN state = 'indexed' THEN NULL ELSE failure_code END, \
             failure_message = CASE WHEN state = 'indexed' THEN NULL ELSE failure_message END \
             WHERE id = ?",
        )
        .bind(mtime_ms)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn store_extracted(
        &self,
        id: DocumentId,
        doc: &ExtractedDocument,
        chunks: &[Chunk],
        embeddings: &[Vec<f32>],
        model_id: &str,
    ) -> PortResult<()> {
        port(
            self.store_extracted_tx(id, doc, chunks, embeddings, model_id)
                .await,
        )
    }

    async fn mark_indexed(&self, ids: &[DocumentId]) -> PortResult<()> {
        for batch in ids.chunks(BATCH) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("UPDATE documents SET state = 'indexed', updated_at_ms = ");
            q.push_bind(now_ms())
                .push(" WHERE state = 'extracted' AND id IN (");
            let mut list = q.separated(", ");
            for id in batch {
                list.push_bind(id.0);
            }
            q.push(")");
            q.build()
                .execute(&self.pool)
                .await
                .map_err(StoreError::from)?;
        }
        Ok(())
    }

    async fn mark_failed(&self, id: DocumentId, failure: &Failure) -> PortResult<()> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        sqlx::query(
            "UPDATE documents SET state = 'failed', failure_code = ?, failure_message = ?, \
             page_count = 0, updated_at_ms = ? WHERE id = ?",
        )
        .bind(failure.code.as_str())
        .bind(&failure.message)
        .bind(now_ms())
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        for table in ["chunks", "document_texts"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE document_id = ?"))
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn keep_indexed(
        &self,
        id: DocumentId,
        previous: &DocumentRecord,
        failure: &Failure,
    ) -> PortResult<()> {
        sqlx::query(
            "UPDATE documents SET state = 'indexed', content_hash = ?, size_bytes = ?, \
             mtime_ms = ?, failure_code = ?, failure_message = ?, updated_at_ms = ? WHERE id = ?",
        )
        .bind(&previous.content_hash.0)
        .bind(i64::try_from(previous.size_bytes).unwrap_or(i64::MAX))
        .bind(previous.mtime_ms)
        .bind(failure.code.as_str())
        .bind(&failure.message)
        .bind(now_ms())
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn remove_document(&self, id: DocumentId) -> PortResult<()> {
        sqlx::query("DELETE FROM documents WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn embeddings(
        &self,
        ids: &[ChunkId],
        model_id: &str,
    ) -> PortResult<HashMap<ChunkId, Vec<f32>>> {
        let mut out = HashMap::new();
        for batch in ids.chunks(BATCH) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT chunk_id, vector FROM embeddings WHERE model = ");
            q.push_bind(model_id).push(" AND chunk_id IN (");
            let mut list = q.separated(", ");
            for id in batch {
                list.push_bind(id.as_str());
            }
            q.push(")");
            for row in q
                .build()
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from)?
            {
                let id: String = row.try_get("chunk_id").map_err(StoreError::from)?;
                let blob: Vec<u8> = row.try_get("vector").map_err(StoreError::from)?;
                out.insert(ChunkId(id), blob_to_vector(&blob));
            }
        }
        Ok(out)
    }

    async fn chunks(&self, ids: &[ChunkId]) -> PortResult<Vec<Chunk>> {
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT * FROM chunks WHERE id IN (");
            let mut list = q.separated(", ");
            for id in batch {
                list.push_bind(id.as_str());
            }
            q.push(")");
            for row in q
                .build()
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from)?
            {
                out.push(port(chunk_from_row(&row))?);
            }
        }
        Ok(out)
    }

    async fn extracted(&self, id: DocumentId) -> PortResult<Option<ExtractedDocument>> {
        let row = sqlx::query(
            "SELECT t.text, t.pages, t.sections, t.furniture, t.ocr_pages, d.kind, d.title FROM document_texts t \
             JOIN documents d ON d.id = t.document_id WHERE t.document_id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else { return Ok(None) };
        let parse =
            |col: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(col)?) };
        let malformed =
            |e: serde_json::Error| StoreError::Malformed(format!("document text spans: {e}"));
        let kind = row
            .try_get::<Option<String>, _>("kind")
            .map_err(StoreError::from)?
            .and_then(|k| DocumentKind::parse(&k))
            .unwrap_or(DocumentKind::Text);
        Ok(Some(ExtractedDocument {
            kind,
            title: row.try_get("title").map_err(StoreError::from)?,
            text: port(parse("text"))?,
            pages: port(serde_json::from_str(&port(parse("pages"))?).map_err(malformed))?,
            sections: port(serde_json::from_str(&port(parse("sections"))?).map_err(malformed))?,
            furniture: port(serde_json::from_str(&port(parse("furniture"))?).map_err(malformed))?,
            ocr_pages: port(serde_json::from_str(&port(parse("ocr_pages"))?).map_err(malformed))?,
        }))
    }

    async fn chunk_page(
        &self,
        after: Option<&ChunkId>,
        limit: usize,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>> {
        let rows = sqlx::query(
            "SELECT c.*, e.vector FROM chunks c JOIN documents d ON d.id = c.document_id \
             LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = ? \
             WHERE d.state IN ('extracted', 'indexed') AND c.id > ? ORDER BY c.id LIMIT ?",
        )
        .bind(model_id)
        .bind(after.map_or("", ChunkId::as_str))
        .bind(to_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        port(rows.iter().map(chunk_with_vector).collect())
    }

    async fn store_embeddings(
        &self,
        items: &[(ChunkId, Vec<f32>)],
        model_id: &str,
    ) -> PortResult<()> {
        let pairs: Vec<(&str, &[f32])> = items
            .iter()
            .map(|(id, v)| (id.as_str(), v.as_slice()))
            .collect();
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        insert_embeddings(&mut tx, &pairs, model_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn document_chunks(
        &self,
        id: DocumentId,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>> {
        let rows = sqlx::query(
            "SELECT c.*, e.vector FROM chunks c \
             LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = ? \
             WHERE c.document_id = ? ORDER BY c.ordinal",
        )
        .bind(model_id)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        port(rows.iter().map(chunk_with_vector).collect())
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT id, document_id FROM chunks")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(rows
            .into_iter()
            .map(|(c, d)| (ChunkId(c), DocumentId(d)))
            .collect())
    }

    async fn rename_document(&self, id: DocumentId, path: &str, mtime_ms: i64) -> PortResult<()> {
        sqlx::query("UPDATE documents SET path = ?, mtime_ms = ?, updated_at_ms = ? WHERE id = ?")
            .bind(path)
            .bind(mtime_ms)
            .bind(now_ms())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn checkpoint(&self) -> PortResult<()> {
        // TRUNCATE also empties the log file. A reader still on an older snapshot leaves the
        // rest of the log for SQLite's next checkpoint: nothing is lost either way.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn check_integrity(&self) -> PortResult<Vec<String>> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let mut problems: Vec<String> = rows.into_iter().filter(|r| r != "ok").collect();
        let broken: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        problems.extend(
            broken
                .into_iter()
                .map(|(table, row, parent, _)| format!("{table} row {row} points at no {parent}")),
        );
        Ok(problems)
    }

    async fn setting(&self, key: &str) -> PortResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM library_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::from)?,
        )
    }

    async fn set_setting(&self, key: &str, value: &str) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO library_settings (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn watched_folders(&self) -> PortResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT path FROM watched_folders ORDER BY path")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from)?,
        )
    }

    async fn add_watched_folder(&self, path: &str) -> PortResult<()> {
        sqlx::query("INSERT OR IGNORE INTO watched_folders (path, added_at_ms) VALUES (?, ?)")
            .bind(path)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn remove_watched_folder(&self, path: &str) -> PortResult<bool> {
        let done = sqlx::query("DELETE FROM watched_folders WHERE path = ?")
            .bind(path)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(done.rows_affected() > 0)
    }
}
