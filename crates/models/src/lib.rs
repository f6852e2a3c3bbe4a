//! Cairn's local models. This crate holds the sentence embedder: a BERT-family encoder run
//! with candle from a sentence-transformers folder (all-MiniLM-L6-v2, bge-small-en-v1.5, …).

mod embedder;
mod error;

pub use embedder::{BertEmbedder, EmbedderOptions, Pooling};
pub use error::ModelError;
