//! The full-text index on Tantivy: BM25 over English- and German-stemmed text and CJK bigrams.
//!
//! Every chunk is indexed three ways: `body` (English stemming, stop words), `body_de`
//! (German stemming, for chunks detected as German) and `body_cjk` (overlapping character
//! bigrams of Han, kana and hangul runs, since those scripts do not separate words). A query
//! is analysed by each field's own analyser and matches any of them.
//!
//! Words that run letters and digits together ("FY2018", "Q3", "10-K" is two words already)
//! are indexed and searched with their parts beside them ("FY2018 FY 2018"), so a question
//! about "2018" finds "FY2018" and one about "FY2018" finds "fiscal 2018"; a query that says
//! "fiscal" also asks for "FY" and the other way round. The parts go into the index's copy of
//! the text only: chunks, citations and quotes keep the document's words.
//!
//! A fourth field, `names`, holds what the chunk's document is called (file name, title,
//! company and ticker symbols: [`cairn_core::retrieval::names`]), so a question that names a company
//! finds that company's passages even where they do not repeat its name.

use crate::StoreError;
use async_trait::async_trait;
use cairn_core::ports::{PortResult, TextIndex};
use cairn_core::{Bm25Score, Chunk, ChunkId, DocumentId};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, DisjunctionMaxQuery, Occur, Query, QueryParser, TermSetQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
    STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenStream, Tokenizer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const WRITER_HEAP: usize = 64 * 1024 * 1024;

/// How the index's copy of the text is made; an index made another way (by an older Cairn)
/// is rebuilt from the catalog, which holds every chunk.
const TEXT_VERSION: &str = "3: words of letters and digits with their parts; document names";
const VERSION_FILE: &str = "cairn-text-version";

/// Whether `dir` holds an index whose text was made another way than this version makes it.
pub(crate) fn is_outdated(dir: &Path) -> bool {
    dir.join("meta.json").exists()
        && std::fs::read_to_string(dir.join(VERSION_FILE))
            .map_or(true, |v| v.trim() != TEXT_VERSION)
}

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    document_id: Field,
    body: Field,
    body_de: Field,
    body_cjk: Field,
    names: Field,
}

/// The Tantivy index of chunks; cheap to clone, one writer shared by the clones.
#[derive(Clone)]
pub struct TantivyIndex(Arc<Inner>);

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        chunk_id: builder.add_text_field("chunk_id", STRING | STORED),
        document_id: builder.add_i64_field(
            "document_id",
            NumericOptions::default().set_indexed().set_fast(),
        ),
        body: builder.add_text_field("body", text("cairn_en")),
        body_de: builder.add_text_field("body_de", text("cairn_de")),
        body_cjk: builder.add_text_field("body_cjk", text("cairn_cjk")),
        names: builder.add_text_field("names", text("cairn_en")),
    };
    (builder.build(), fields)
}

fn register_tokenizers(index: &Index) {
    let stemmed = |language: Language| {
        let builder = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser);
        match StopWordFilter::new(language) {
            Some(stop) => builder.filter(stop).filter(Stemmer::new(language)).build(),
            None => builder.filter(Stemmer::new(language)).build(),
        }
    };
    let manager = index.tokenizers();
    manager.register("cairn_en", stemmed(Language::English));
    manager.register("cairn_de", stemmed(Language::German));
    manager.register(
        "cairn_cjk",
        TextAnalyzer::builder(CjkBigrams).filter(LowerCaser).build(),
    );
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| StoreError::Tantivy(e.into()))?;
        let index = Index::open_or_create(directory, schema)?;
        register_tokenizers(&index);
        if is_outdated(dir) || !dir.join(VERSION_FILE).exists() {
            std::fs::write(dir.join(VERSION_FILE), TEXT_VERSION).map_err(|source| {
                StoreError::Io {
                    path: dir.join(VERSION_FILE).display().to_string(),
                    source,
                }
            })?;
        }
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TantivyIndex(Arc::new(Inner {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })))
    }
}

impl Inner {
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| StoreError::Malformed("the full-text writer was poisoned".into()))?;
        f(&mut writer)
    }

    fn add_blocking(&self, names: &str, chunks: &[Chunk]) -> Result<(), StoreError> {
        let f = self.fields;
        let names = with_number_parts(names);
        self.with_writer(|writer| {
            for chunk in chunks {
                let text = with_number_parts(&chunk.embedding_text());
                let mut doc = TantivyDocument::default();
                doc.add_text(f.chunk_id, chunk.id.as_str());
                doc.add_i64(f.document_id, chunk.document_id.0);
                doc.add_text(f.body, &text);
                if !names.is_empty() {
                    doc.add_text(f.names, &names);
                }
                if is_german(&chunk.text) {
                    doc.add_text(f.body_de, &text);
                }
                if chunk.text.chars().any(is_cjk) {
                    doc.add_text(f.body_cjk, &text);
                }
                writer.add_document(doc)?;
            }
            Ok(())
        })
    }

    fn delete_blocking(&self, id: DocumentId) -> Result<(), StoreError> {
        let term = Term::from_field_i64(self.fields.document_id, id.0);
        self.with_writer(|writer| {
            writer.delete_term(term);
            Ok(())
        })
    }

    fn commit_blocking(&self) -> Result<(), StoreError> {
        self.with_writer(|writer| {
            writer.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    fn parser(&self) -> QueryParser {
        let f = self.fields;
        QueryParser::for_index(&self.index, vec![f.body, f.body_de, f.body_cjk, f.names])
    }

    /// A question's words matched in every field, each by that field's analyser.
    fn text_query(parser: &QueryParser, text: &str) -> Box<dyn Query> {
        // Lenient: a question with quotes, colons or brackets is text, not query syntax.
        parser
            .parse_query_lenient(&with_fiscal(&with_number_parts(&sanitise(text))))
            .0
    }

    fn search_blocking(
        &self,
        query: &str,
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Result<Vec<(ChunkId, Bm25Score)>, StoreError> {
        let text_query = Self::text_query(&self.parser(), query);
        self.top_chunks(text_query, limit, documents)
    }

    /// Each word's alternatives under one disjunction that scores a chunk by its best match,
    /// so the many senses of a word do not add up. A function word goes with its
    /// translations: one the question's language stops ("the"), or one with a translation
    /// the library's language stops ("how": "wie", "which": "welche", "can": "kann"), since
    /// those would match nearly every passage.
    fn search_alternatives_blocking(
        &self,
        words: &[Vec<String>],
        (from, to): (&str, &str),
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Result<Vec<(ChunkId, Bm25Score)>, StoreError> {
        let parser = self.parser();
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .filter(|group| {
                let Some((word, translations)) = group.split_first() else {
                    return false;
                };
                !self.is_stop_word(word, from)
                    && !translations
                        .iter()
                        .filter(|t| !t.contains(char::is_whitespace))
                        .any(|t| self.is_stop_word(t, to))
            })
            .map(|group| {
                let alternatives: Vec<Box<dyn Query>> = group
                    .iter()
                    .map(|alternative| Self::text_query(&parser, alternative))
                    .collect();
                let best: Box<dyn Query> = Box::new(DisjunctionMaxQuery::new(alternatives));
                (Occur::Should, best)
            })
            .collect();
        self.top_chunks(Box::new(BooleanQuery::new(clauses)), limit, documents)
    }

    /// Whether the analyser of `language` (English or German; both for another) leaves
    /// nothing of `word`.
    fn is_stop_word(&self, word: &str, language: &str) -> bool {
        let analyzers: &[&str] = match language {
            "eng" => &["cairn_en"],
            "deu" => &["cairn_de"],
            _ => &["cairn_en", "cairn_de"],
        };
        let tokenizers = self.index.tokenizers();
        analyzers.iter().any(|name| {
            tokenizers.get(name).is_some_and(|mut analyzer| {
                let mut stream = analyzer.token_stream(word);
                !stream.advance()
            })
        })
    }

    fn top_chunks(
        &self,
        text_query: Box<dyn Query>,
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Result<Vec<(ChunkId, Bm25Score)>, StoreError> {
        let f = self.fields;
        let query: Box<dyn Query> = match documents {
            Some(ids) => {
                let terms = ids
                    .iter()
                    .map(|id| Term::from_field_i64(f.document_id, id.0));
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, text_query),
                    (Occur::Must, Box::new(TermSetQuery::new(terms))),
                ]))
            }
            None => text_query,
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(f.chunk_id).and_then(|v| v.as_str()) {
                out.push((ChunkId(id.to_string()), Bm25Score(score)));
            }
        }
        Ok(out)
    }
}

impl Inner {
    fn ids_blocking(&self) -> Result<Vec<(ChunkId, DocumentId)>, StoreError> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for segment in searcher.segment_readers() {
            let store = segment
                .get_store_reader(1)
                .map_err(|e| StoreError::Tantivy(tantivy::TantivyError::from(e)))?;
            let documents = segment.fast_fields().i64("document_id")?;
            for doc_id in segment.doc_ids_alive() {
                let doc: TantivyDocument = store.get(doc_id)?;
                let chunk = doc.get_first(f.chunk_id).and_then(|v| v.as_str());
                let (Some(chunk), Some(document)) = (chunk, documents.first(doc_id)) else {
                    return Err(StoreError::Malformed(
                        "a full-text entry has no chunk or document id".into(),
                    ));
                };
                out.push((ChunkId(chunk.to_string()), DocumentId(document)));
            }
        }
        Ok(out)
    }

    fn integrity_blocking(&self) -> Result<Vec<String>, StoreError> {
        let mut damaged: Vec<String> = self
            .index
            .validate_checksum()?
            .into_iter()
            .map(|p| format!("{} fails its checksum", p.display()))
            .collect();
        damaged.sort();
        Ok(damaged)
    }
}

/// Query syntax characters are dropped so that every question is read as plain words.
fn sanitise(query: &str) -> String {
    query
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect()
}

/// The text with each word that mixes letters and digits followed by its runs of digits and
/// its runs of two or more letters: "FY2018" gives "FY2018 FY 2018", "Q3" gives "Q3 3".
fn with_number_parts(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(start) = rest.find(char::is_alphanumeric) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        out.push_str(word);
        if word.chars().any(|c| c.is_ascii_digit()) && word.chars().any(char::is_alphabetic) {
            let mut run = String::new();
            let mut digits = None;
            for c in word.chars().chain(std::iter::once(' ')) {
                let is_digit = c.is_ascii_digit();
                if Some(is_digit) != digits || !c.is_alphanumeric() {
                    let keep = run.chars().all(|r| r.is_ascii_digit()) || run.chars().count() >= 2;
                    if !run.is_empty() && keep {
                        out.push(' ');
                        out.push_str(&run);
                    }
                    run.clear();
                    digits = Some(is_digit);
                }
                if c.is_alphanumeric() {
                    run.push(c);
                }
            }
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

/// A query that says "fiscal" also asks for "FY", and one that says "FY" for "fiscal".
fn with_fiscal(query: &str) -> String {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut out = query.to_string();
    if words.iter().any(|w| w == "fiscal") {
        out.push_str(" FY");
    }
    if words.iter().any(|w| w == "fy") {
        out.push_str(" fiscal");
    }
    out
}

fn is_german(text: &str) -> bool {
    whatlang::detect(text)
        .is_some_and(|info| info.lang() == whatlang::Lang::Deu && info.confidence() > 0.5)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FA1F) // supplementary ideographs
}

/// Emits overlapping bigrams of each run of CJK characters (a lone character as itself) and
/// nothing for other scripts, which the stemmed fields cover.
#[derive(Clone, Default)]
struct CjkBigrams;

struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self
            .index
            .saturating_sub(1)
            .min(self.tokens.len().saturating_sub(1))]
    }
    fn token_mut(&mut self) -> &mut Token {
        let i = self
            .index
            .saturating_sub(1)
            .min(self.tokens.len().saturating_sub(1));
        &mut self.tokens[i]
    }
}

impl Tokenizer for CjkBigrams {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut run: Vec<(usize, char)> = Vec::new();
        let flush = |run: &mut Vec<(usize, char)>, tokens: &mut Vec<Token>| {
            let pieces: Vec<(usize, usize)> = if run.len() == 1 {
                vec![(0, 1)]
            } else {
                (0..run.len().saturating_sub(1))
                    .map(|i| (i, i + 2))
                    .collect()
            };
            for (a, b) in pieces {
                let from = run[a].0;
                let (last_at, last) = run[b - 1];
                let to = last_at + last.len_utf8();
                tokens.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position: tokens.len(),
                    text: text[from..to].to_string(),
                    position_length: 1,
                });
            }
            run.clear();
        };
        for (i, c) in text.char_indices() {
            if is_cjk(c) {
                run.push((i, c));
            } else if !run.is_empty() {
                flush(&mut run, &mut tokens);
            }
        }
        if !run.is_empty() {
            flush(&mut run, &mut tokens);
        }
        VecTokenStream { tokens, index: 0 }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> PortResult<T> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::from)??)
}

#[async_trait]
impl TextIndex for TantivyIndex {
    async fn replace_document(
        &self,
        id: DocumentId,
        names: &str,
        chunks: &[Chunk],
    ) -> PortResult<()> {
        let this = Arc::clone(&self.0);
        let (names, chunks) = (names.to_string(), chunks.to_vec());
        blocking(move || {
            this.delete_blocking(id)?;
            this.add_blocking(&names, &chunks)
        })
        .await
    }

    async fn add_chunks(&self, names: &str, chunks: &[Chunk]) -> PortResult<()> {
        let this = Arc::clone(&self.0);
        let (names, chunks) = (names.to_string(), chunks.to_vec());
        blocking(move || this.add_blocking(&names, &chunks)).await
    }

    async fn delete_document(&self, id: DocumentId) -> PortResult<()> {
        let this = Arc::clone(&self.0);
        blocking(move || this.delete_blocking(id)).await
    }

    async fn commit(&self) -> PortResult<()> {
        let this = Arc::clone(&self.0);
        blocking(move || this.commit_blocking()).await
    }

    async fn clear(&self) -> PortResult<()> {
        let this = Arc::clone(&self.0);
        blocking(move || {
            this.with_writer(|w| {
                w.delete_all_documents()?;
                Ok(())
            })?;
            this.commit_blocking()
        })
        .await
    }

    async fn search(
        &self,
        query: &str,
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>> {
        let this = Arc::clone(&self.0);
        let query = query.to_string();
        let documents = documents.map(<[DocumentId]>::to_vec);
        blocking(move || this.search_blocking(&query, limit, documents.as_deref())).await
    }

    async fn search_alternatives(
        &self,
        words: &[Vec<String>],
        (from, to): (&str, &str),
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>> {
        let this = Arc::clone(&self.0);
        let words = words.to_vec();
        let (from, to) = (from.to_string(), to.to_string());
        let documents = documents.map(<[DocumentId]>::to_vec);
        blocking(move || {
            this.search_alternatives_blocking(&words, (&from, &to), limit, documents.as_deref())
        })
        .await
    }

    async fn count(&self) -> PortResult<u64> {
        Ok(self.0.reader.searcher().num_docs())
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        let this = Arc::clone(&self.0);
        blocking(move || this.ids_blocking()).await
    }

    async fn check_integrity(&self) -> PortResult<Vec<String>> {
        let this = Arc::clone(&self.0);
        blocking(move || this.integrity_blocking()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut t = CjkBigrams;
        let mut stream = t.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn words_of_letters_and_digits_get_their_parts_beside_them() {
        assert_eq!(
            with_number_parts("FY2018 revenue"),
            "FY2018 FY 2018 revenue"
        );
        assert_eq!(
            with_number_parts("in Q3, 2018Q4."),
            "in Q3 3, 2018Q4 2018 4."
        );
        assert_eq!(with_number_parts("plain 2018 text"), "plain 2018 text");
        assert_eq!(with_number_parts("Größe3 ok"), "Größe3 Größe 3 ok");
        assert_eq!(with_fiscal("fiscal 2018"), "fiscal 2018 FY");
        assert_eq!(with_fiscal("FY 2018"), "FY 2018 fiscal");
    }

    #[test]
    fn cjk_runs_become_bigrams_and_latin_is_ignored() {
        assert_eq!(tokens("東京大学 is big"), vec!["東京", "京大", "大学"]);
        assert_eq!(tokens("a 日 b"), vec!["日"]);
        assert!(tokens("plain english").is_empty());
    }
}
