-- Folders Cairn keeps in step with the catalog (`cairn watch`, the app's watched folders).
CREATE TABLE watched_folders (
    path        TEXT    PRIMARY KEY,
    added_at_ms INTEGER NOT NULL
);
