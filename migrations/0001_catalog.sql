-- The catalog: the source of truth for documents, their text, chunks and embeddings.
-- The full-text index and the vector store are derived from these tables.

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    path            TEXT    NOT NULL UNIQUE,
    kind            TEXT,
    title           TEXT,
    content_hash    TEXT    NOT NULL,
    size_bytes      INTEGER NOT NULL,
    mtime_ms        INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'extracted', 'indexed', 'failed')),
    failure_code    TEXT,
    failure_message TEXT,
    page_count      INTEGER NOT NULL DEFAULT 0,
    updated_at_ms   INTEGER NOT NULL
);

CREATE INDEX documents_state ON documents (state);

-- The extracted text with its page and section spans (JSON), for citations and re-chunking.
CREATE TABLE document_texts (
    document_id INTEGER PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    pages       TEXT NOT NULL,
    sections    TEXT NOT NULL
);

CREATE TABLE chunks (
    id           TEXT    PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    page_start   INTEGER,
    page_end     INTEGER,
    heading_path TEXT    NOT NULL, -- JSON array of headings, outermost first
    token_count  INTEGER NOT NULL
);

CREATE INDEX chunks_document ON chunks (document_id, ordinal);

-- Little-endian f32 vectors, one per chunk and embedding model.
CREATE TABLE embeddings (
    chunk_id TEXT NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    vector   BLOB NOT NULL,
    PRIMARY KEY (chunk_id, model)
);
