//! Cairn's local models: the sentence embedder (a BERT-family encoder exported to ONNX,
//! multilingual-e5-small or all-MiniLM-L6-v2, run by ONNX Runtime) and the generator (a GGUF
//! chat model, Llama 3.1 8B Instruct or SmolLM2 in tests, run by llama.cpp on the CPU or
//! mistral.rs on a GPU), or a served model on any OpenAI-compatible server (`remote`).

mod backend;
pub mod catalogue;
pub mod devices;
mod embedder;
mod error;
mod generator;
pub mod gguf;
pub mod install;
mod llama_cpp;
mod load;
pub mod remote;

pub use backend::{typical_answer_s, Backend, GeneratorOptions, Speed, Speeds};
pub use devices::gpu_free_memory;
pub use embedder::{EmbedderInfo, EmbedderOptions, OnnxEmbedder, Precision, EMBEDDER_FILE};
pub use error::ModelError;
pub use generator::MistralGenerator;
pub use llama_cpp::{default_threads, LlamaCppGenerator};
pub use load::load_generator;
pub use remote::{ApiKey, RemoteError, RemoteGenerator, RemoteOptions};
