-- Running headers, footers and page numbers found by extraction (JSON list of byte ranges
-- into the text): chunks leave them out and citations never quote them.
ALTER TABLE document_texts ADD COLUMN furniture TEXT NOT NULL DEFAULT '[]';
