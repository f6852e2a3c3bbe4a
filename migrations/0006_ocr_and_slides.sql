-- Scans read by OCR and slide decks: the pages of a document that Tesseract recognised (JSON
-- list of page numbers; "text from OCR" in the library), and whether a chunk's or a
-- citation's page numbers count printed pages or slides ("p. 3" or "slide 3").
ALTER TABLE document_texts ADD COLUMN ocr_pages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE chunks ADD COLUMN page_unit TEXT NOT NULL DEFAULT 'page';
ALTER TABLE citations ADD COLUMN page_unit TEXT NOT NULL DEFAULT 'page';
