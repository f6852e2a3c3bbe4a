//! Cairn's local models: the sentence embedder (a BERT-family encoder run with candle from a
//! sentence-transformers folder: all-MiniLM-L6-v2, bge-small-en-v1.5, …) and the generator (a
//! GGUF chat model run by mistral.rs: Llama 3.1 8B Instruct, SmolLM2 in tests).

mod embedder;
mod error;
mod generator;

pub use embedder::{BertEmbedder, EmbedderOptions, Pooling};
pub use error::ModelError;
pub use generator::{GeneratorOptions, MistralGenerator};
