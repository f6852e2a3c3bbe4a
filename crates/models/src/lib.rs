//! Cairn's local models: the sentence embedder (a BERT-family encoder run with candle from a
//! sentence-transformers folder: all-MiniLM-L6-v2, bge-small-en-v1.5, …) and the generator (a
//! GGUF chat model, Llama 3.1 8B Instruct or SmolLM2 in tests, run by llama.cpp on the CPU or
//! mistral.rs on a GPU).

mod backend;
mod embedder;
mod error;
mod generator;
mod llama_cpp;

pub use backend::{load_generator, typical_answer_s, Backend, GeneratorOptions, Speed, Speeds};
pub use embedder::{BertEmbedder, EmbedderOptions, Pooling};
pub use error::ModelError;
pub use generator::MistralGenerator;
pub use llama_cpp::{default_threads, LlamaCppGenerator};
