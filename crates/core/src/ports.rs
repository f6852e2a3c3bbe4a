//! The traits the outer crates implement: extraction, the catalog, the two indexes, the
//! embedder, the generator, the chats and the dictionaries. The engine only talks to these.

use crate::chunk::Chunk;
use crate::chunker::TokenCounter;
use crate::document::{DocumentRecord, ExtractedDocument, Failure};
use crate::error::PortError;
use crate::generation::{ChatMessage, GenerationParams, GenerationStream};
use crate::ids::{Bm25Score, ChunkId, ContentHash, DocumentId, VectorDistance};
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub type PortResult<T> = Result<T, PortError>;

/// A file found under the paths a person asked to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub mtime_ms: i64,
}

/// What scanning a path gave: a file to ingest, or a path that cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Scanned {
    File(FileInfo),
    /// A file that was found but cannot be read.
    Unreadable {
        path: PathBuf,
        failure: Failure,
    },
    /// A folder whose listing could not be read (or was cut short), or a link whose target
    /// is gone (an unplugged drive): nothing is known of what is under it, so whatever the
    /// catalog holds under it is kept.
    UnreadableFolder {
        path: PathBuf,
        failure: Failure,
    },
}

/// Reads files into text with structure.
#[async_trait]
pub trait Extractor: Send + Sync {
    /// Lists the files under `roots` (folders recursively, supported kinds only; files named
    /// directly are always listed so that an unsupported one gets a reason).
    async fn scan(&self, roots: &[PathBuf]) -> Vec<Scanned>;
    /// Hashes a file's bytes.
    async fn fingerprint(&self, path: &Path) -> Result<ContentHash, Failure>;
    /// Extracts a file; every failure is a [`Failure`] a person can read. Slow work (OCR)
    /// reports the page it is on through `progress`; a full channel drops a report.
    async fn extract(
        &self,
        path: &Path,
        progress: ExtractProgressSender,
    ) -> Result<ExtractedDocument, Failure>;
}

/// How far the slow part of an extraction has got: OCR reports each page it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractProgress {
    /// The page being recognised (1-based) and the number of pages to recognise.
    pub page: u32,
    pub pages: u32,
}

pub type ExtractProgressSender = futures::channel::mpsc::Sender<ExtractProgress>;

/// Whether a text is a question or a passage: some embedders (bge) prefix queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    Query,
    Passage,
}

/// Turns texts into unit vectors.
#[async_trait]
pub trait Embedder: TokenCounter {
    /// Names the model and its pooling, so that vectors of different models never mix.
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// Most tokens one input may have, special tokens excluded.
    fn max_tokens(&self) -> usize;
    async fn embed(&self, texts: Vec<String>, kind: EmbedKind) -> PortResult<Vec<Vec<f32>>>;
}

/// A document about to be (re)ingested.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub path: String,
    pub content_hash: ContentHash,
    pub size_bytes: u64,
    pub mtime_ms: i64,
}

/// The source of truth: documents, their states, chunks and chunk embeddings.
#[async_trait]
pub trait Catalog: Send + Sync {
    async fn document_by_path(&self, path: &str) -> PortResult<Option<DocumentRecord>>;
    async fn document(&self, id: DocumentId) -> PortResult<Option<DocumentRecord>>;
    async fn documents(&self) -> PortResult<Vec<DocumentRecord>>;
    /// Inserts the document, or resets an existing one of the same path, in state `queued`.
    async fn begin_document(&self, doc: &NewDocument) -> PortResult<DocumentId>;
    /// Records a new modification time for a document whose bytes did not change.
    async fn touch_document(&self, id: DocumentId, mtime_ms: i64) -> PortResult<()>;
    /// Moves the document to `extracted` and replaces its text, chunks and their embeddings
    /// in one transaction.
    async fn store_extracted(
        &self,
        id: DocumentId,
        doc: &ExtractedDocument,
        chunks: &[Chunk],
        embeddings: &[Vec<f32>],
        model_id: &str,
    ) -> PortResult<()>;
    /// Moves documents from `extracted` to `indexed` once both indexes hold their chunks.
    async fn mark_indexed(&self, ids: &[DocumentId]) -> PortResult<()>;
    /// Moves the document to `failed` and drops its chunks.
    async fn mark_failed(&self, id: DocumentId, failure: &Failure) -> PortResult<()>;
    /// A re-read of an indexed document failed: it goes back to `indexed` with the content
    /// hash, size and modification time of the version its chunks hold (so the next ingest
    /// sees the file differ and tries again), the failure recorded beside it.
    async fn keep_indexed(
        &self,
        id: DocumentId,
        previous: &DocumentRecord,
        failure: &Failure,
    ) -> PortResult<()>;
    async fn remove_document(&self, id: DocumentId) -> PortResult<()>;
    /// Embeddings of `model_id` already stored for these chunk ids.
    async fn embeddings(
        &self,
        ids: &[ChunkId],
        model_id: &str,
    ) -> PortResult<HashMap<ChunkId, Vec<f32>>>;
    async fn chunks(&self, ids: &[ChunkId]) -> PortResult<Vec<Chunk>>;
    /// The extracted text of a document, as stored when it was ingested.
    async fn extracted(&self, id: DocumentId) -> PortResult<Option<ExtractedDocument>>;
    /// A page of all chunks of non-failed documents in id order, after `after`, with their
    /// embeddings of `model_id` where stored.
    async fn chunk_page(
        &self,
        after: Option<&ChunkId>,
        limit: usize,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>>;
    /// Stores embeddings computed after the fact (a re-index with another model).
    async fn store_embeddings(
        &self,
        items: &[(ChunkId, Vec<f32>)],
        model_id: &str,
    ) -> PortResult<()>;
    /// A document's chunks in order, with their embeddings of `model_id` where stored.
    async fn document_chunks(
        &self,
        id: DocumentId,
        model_id: &str,
    ) -> PortResult<Vec<(Chunk, Option<Vec<f32>>)>>;
    /// Every chunk id with its document (for consistency checks).
    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>>;
    /// Gives a settled document a new path (a file moved or renamed; its bytes are the same).
    async fn rename_document(&self, id: DocumentId, path: &str, mtime_ms: i64) -> PortResult<()>;
    /// Problems the store finds in its own files; empty when it is sound.
    async fn check_integrity(&self) -> PortResult<Vec<String>>;
    /// Folds what is committed but still in a side log back into the store's own file (after
    /// an ingest), so that the folder on disk is whole and its size is the library's.
    async fn checkpoint(&self) -> PortResult<()>;
    /// A setting of the library (the model its vectors come from, say); `None` when unset.
    async fn setting(&self, key: &str) -> PortResult<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str) -> PortResult<()>;
    /// Folders kept in sync with the catalog, as absolute paths.
    async fn watched_folders(&self) -> PortResult<Vec<String>>;
    async fn add_watched_folder(&self, path: &str) -> PortResult<()>;
    /// Returns whether the folder was watched.
    async fn remove_watched_folder(&self, path: &str) -> PortResult<bool>;
}

/// The full-text index (derived from the catalog).
#[async_trait]
pub trait TextIndex: Send + Sync {
    /// Replaces a document's chunks; visible after [`TextIndex::commit`]. `names` are what
    /// the document is called ([`crate::retrieval::names::document_names`]), matched with each chunk.
    async fn replace_document(
        &self,
        id: DocumentId,
        names: &str,
        chunks: &[Chunk],
    ) -> PortResult<()>;
    /// Adds chunks of one document called `names` without removing anything first
    /// (re-index into an empty index).
    async fn add_chunks(&self, names: &str, chunks: &[Chunk]) -> PortResult<()>;
    async fn delete_document(&self, id: DocumentId) -> PortResult<()>;
    async fn commit(&self) -> PortResult<()>;
    async fn clear(&self) -> PortResult<()>;
    async fn search(
        &self,
        query: &str,
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>>;
    /// Like [`TextIndex::search`], for a question given as words that each come with
    /// alternatives (the word and its translations, [`Lexicon`]): a chunk scores by the
    /// alternative of each word it matches best, so a word with many translations weighs
    /// no more than one with a single one. The words are in `languages.0` and their
    /// translations in `languages.1` (ISO 639-3), by which function words are told apart.
    async fn search_alternatives(
        &self,
        words: &[Vec<String>],
        languages: (&str, &str),
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, Bm25Score)>>;
    async fn count(&self) -> PortResult<u64>;
    /// Every indexed chunk id with its document, duplicates included.
    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>>;
    /// Problems found in the index files (checksums); empty when they are sound.
    async fn check_integrity(&self) -> PortResult<Vec<String>>;
}

/// Rows for the vector store: a document's chunk ids and their embeddings.
pub type VectorRows = Vec<(DocumentId, Vec<(ChunkId, Vec<f32>)>)>;

/// The vector store (derived from the catalog).
#[async_trait]
pub trait VectorIndex: Send + Sync {
    /// Replaces the rows of these documents in one write.
    async fn replace_documents(&self, rows: VectorRows) -> PortResult<()>;
    /// Adds rows without removing anything first (re-index into an empty store).
    async fn add(&self, rows: VectorRows) -> PortResult<()>;
    async fn delete_document(&self, id: DocumentId) -> PortResult<()>;
    async fn clear(&self) -> PortResult<()>;
    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, VectorDistance)>>;
    /// Compacts small files and drops old versions.
    async fn optimize(&self) -> PortResult<()>;
    async fn count(&self) -> PortResult<u64>;
    /// Every stored chunk id with its document, duplicates included (reading every row is
    /// also the check that the table's files are readable).
    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>>;
}

/// A chat model: counts its own tokens, applies its own chat template, streams answers.
#[async_trait]
pub trait Generator: Send + Sync {
    /// Names the model file, for the record kept with each answer.
    fn model_id(&self) -> &str;
    /// Tokens of prompt and answer together the model is run with.
    fn context_window(&self) -> usize;
    /// What a person should know of where the model runs (on the CPU for want of a GPU, or
    /// only partly on the GPU); `None` when there is nothing to say.
    fn notice(&self) -> Option<String> {
        None
    }
    /// Tokens of a plain text in the model's vocabulary.
    async fn count_tokens(&self, text: &str) -> PortResult<usize>;
    /// Tokens of `messages` once the model's chat template is applied, with the prompt that
    /// opens the assistant's turn.
    async fn prompt_tokens(&self, messages: &[ChatMessage]) -> PortResult<usize>;
    /// Starts an answer to `messages`. The stream ends with [`GenerationEvent::Finished`](crate::generation::GenerationEvent::Finished).
    async fn generate(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> PortResult<GenerationStream>;
}

/// Chats and their messages, with the citations of each answer.
#[async_trait]
pub trait Conversations: Send + Sync {
    async fn create_chat(&self, title: &str) -> PortResult<crate::ids::ChatId>;
    /// Every chat, most recently active first.
    async fn chats(&self) -> PortResult<Vec<crate::conversation::ChatSummary>>;
    async fn chat(
        &self,
        id: crate::ids::ChatId,
    ) -> PortResult<Option<crate::conversation::ChatSummary>>;
    /// The messages of a chat in order.
    async fn messages(
        &self,
        chat: crate::ids::ChatId,
    ) -> PortResult<Vec<crate::conversation::StoredMessage>>;
    /// Appends a message (and its citations) and bumps the chat's activity time.
    async fn append_message(
        &self,
        chat: crate::ids::ChatId,
        message: &crate::conversation::NewMessage,
    ) -> PortResult<crate::ids::MessageId>;
    async fn delete_chat(&self, chat: crate::ids::ChatId) -> PortResult<()>;
}

/// Bilingual dictionaries, by which a question's words are searched in the language a
/// library is written in (languages as ISO 639-3 codes: "eng", "deu").
#[async_trait]
pub trait Lexicon: Send + Sync {
    /// Whether a dictionary from `from` into `to` is at hand.
    fn translates(&self, from: &str, to: &str) -> bool;
    /// The translations of each of `words` (in order) from `from` into `to`, at most
    /// `per_word` each, in the dictionary's order; a word it does not know gets none.
    async fn translate(
        &self,
        from: &str,
        to: &str,
        words: &[String],
        per_word: usize,
    ) -> PortResult<Vec<Vec<String>>>;
}
