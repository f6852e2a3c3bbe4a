-- Chats: every question and answer, how each answer was made, and what it cites.

CREATE TABLE chats (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content       TEXT    NOT NULL,
    outcome       TEXT    CHECK (outcome IN ('answered', 'refused', 'cancelled')),
    model         TEXT,
    details       TEXT, -- JSON: retrieval query, settings, context budget, timings
    created_at_ms INTEGER NOT NULL
);

CREATE INDEX messages_chat ON messages (chat_id, id);

-- A citation keeps its quote and location even after its document is removed or changed,
-- so document_id and chunk_id are not foreign keys.
CREATE TABLE citations (
    message_id     INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    n              INTEGER NOT NULL,
    chunk_id       TEXT    NOT NULL,
    document_id    INTEGER NOT NULL,
    document_path  TEXT    NOT NULL,
    document_title TEXT,
    page           INTEGER,
    heading_path   TEXT    NOT NULL, -- JSON array
    quote          TEXT    NOT NULL,
    quote_start    INTEGER NOT NULL,
    quote_end      INTEGER NOT NULL,
    verified       INTEGER NOT NULL,
    inferred       INTEGER NOT NULL, -- Cairn attributed it; the model did not cite it
    PRIMARY KEY (message_id, n)
);
