-- Settings that belong to a library rather than to the app: the embedder its vectors come
-- from (a change re-embeds the library), and later ones.
CREATE TABLE library_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
