//! Sentence embeddings with ONNX Runtime, loaded at run time from its shared library (`ort`
//! with `load-dynamic`), on a BERT-family encoder exported to ONNX with its Hugging Face
//! tokenizer. Measured against candle and llama.cpp in `ARCHITECTURE.md`.
//!
//! An embedder folder holds `tokenizer.json`, `model.onnx` (fp32), optionally
//! `model.int8.onnx` (dynamic int8 weights), and `cairn-embedder.json`: the model's name,
//! dimension, window, pooling and the prefixes it wants on queries and passages (e5's
//! "query: " and "passage: ").

use crate::ModelError;
use async_trait::async_trait;
use cairn_core::chunker::TokenCounter;
use cairn_core::ports::{EmbedKind, Embedder, PortResult};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use serde::Deserialize;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokenizers::{Tokenizer, TruncationParams};

/// The file that describes an embedder folder.
pub const EMBEDDER_FILE: &str = "cairn-embedder.json";

/// What `cairn-embedder.json` says of the model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EmbedderInfo {
    /// The model's name (`multilingual-e5-small`).
    pub name: String,
    pub dimension: usize,
    /// Most tokens of one input, special tokens excluded.
    pub max_tokens: usize,
    /// `mean` (the only pooling the models Cairn ships use).
    pub pooling: String,
    #[serde(default)]
    pub query_prefix: String,
    #[serde(default)]
    pub passage_prefix: String,
    /// The languages it was trained for, in words, for people choosing one.
    #[serde(default)]
    pub languages: String,
    /// The weights it runs with unless told otherwise (int8 where the card says nothing):
    /// a model whose int8 weights lose quality measurably says fp32.
    #[serde(default)]
    pub precision: Option<Precision>,
}

/// The weights an embedder runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// What the model's card recommends ([`EmbedderInfo::precision`]), int8 where it says
    /// nothing.
    #[default]
    #[serde(skip)]
    Recommended,
    /// Dynamic int8 weights where the folder has them (faster; checked on SciFact, see
    /// `bench/RESULTS.md`), fp32 otherwise.
    Int8,
    Fp32,
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(Precision::Recommended),
            "int8" => Ok(Precision::Int8),
            "fp32" | "f32" => Ok(Precision::Fp32),
            other => Err(format!(
                "unknown embedder precision {other:?}: int8 or fp32"
            )),
        }
    }
}

/// How to run the embedder.
#[derive(Debug, Clone, Default)]
pub struct EmbedderOptions {
    /// ONNX Runtime's shared library (`libonnxruntime.so`), loaded once per process.
    pub runtime: PathBuf,
    pub precision: Precision,
    /// Cores to embed on (shared among the passes that run at once); `None` takes the
    /// physical cores.
    pub threads: Option<usize>,
}

/// An ONNX sentence embedder. Cheap to clone.
#[derive(Clone)]
pub struct OnnxEmbedder(Arc<Inner>);

struct Inner {
    /// `Session::run` takes `&mut`: one session for each forward pass that runs at once
    /// (`plan_passes`).
    sessions: Vec<Mutex<Session>>,
    inputs: Vec<String>,
    /// Truncates at the window (a guard for callers that skip the chunker); never pads.
    tokenizer: Tokenizer,
    /// Neither pads nor truncates: counts what a text really costs.
    counter: Tokenizer,
    info: EmbedderInfo,
    model_id: String,
    folder: PathBuf,
    precision: Precision,
}

/// All sessions' weights together stay under this: each session holds its own copy.
const SESSION_WEIGHTS_BUDGET: u64 = 512 << 20;

/// How many forward passes run side by side on `threads` cores, and the threads of each, for
/// a model file of `model_bytes`. A small encoder's operations are short, so the threads of
/// one pass spend much of their time meeting at each one. Passes side by side do not: on 2
/// cores, two one-thread passes embed MiniLM int8 16% faster than one two-thread pass
/// (ARCHITECTURE.md). Each pass needs a session, and so a copy of the weights, so a large
/// model runs fewer passes with more threads each. The passes divide the cores evenly.
fn plan_passes(threads: usize, model_bytes: u64) -> (usize, usize) {
    let threads = threads.max(1);
    let by_memory = usize::try_from(SESSION_WEIGHTS_BUDGET / model_bytes.max(1))
        .unwrap_or(usize::MAX)
        .max(1);
    let mut passes = threads.min(by_memory);
    while !threads.is_multiple_of(passes) {
        passes -= 1;
    }
    (passes, threads / passes)
}

/// The one ONNX Runtime environment of the process, made from the first library named.
fn environment(runtime: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let builder = ort::init_from(runtime).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from {}: {e} (run scripts/setup, or set CAIRN_ONNXRUNTIME)",
                runtime.display()
            )
        })?;
        builder
            .with_name("cairn")
            .with_telemetry(false)
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
    })
    .as_ref()
    .map_err(|message| ModelError::Runtime(message.clone()))
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn require(dir: &Path, name: &str) -> Result<PathBuf, ModelError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::Missing {
            path: path.display().to_string(),
        })
    }
}

impl OnnxEmbedder {
    /// What the embedder folder `dir` holds, without loading it.
    pub fn info(dir: &Path) -> Result<EmbedderInfo, ModelError> {
        let path = require(dir, EMBEDDER_FILE)?;
        serde_json::from_slice(&read(&path)?).map_err(|source| ModelError::Config {
            path: path.display().to_string(),
            source,
        })
    }

    /// Loads the embedder in `dir` on the CPU.
    pub fn load(dir: &Path, options: &EmbedderOptions) -> Result<Self, ModelError> {
        let info = Self::info(dir)?;
        if info.pooling != "mean" {
            return Err(ModelError::Runtime(format!(
                "{}: pooling {:?} is not supported (only mean)",
                dir.display(),
                info.pooling
            )));
        }
        let int8 = dir.join("model.int8.onnx");
        let wanted = match options.precision {
            Precision::Recommended => info.precision.unwrap_or(Precision::Int8),
            chosen => chosen,
        };
        let (model, precision) = match wanted {
            Precision::Int8 if int8.is_file() => (int8, "int8"),
            _ => (require(dir, "model.onnx")?, "fp32"),
        };
        let env = environment(&options.runtime)?;
        let threads = options
            .threads
            .unwrap_or_else(crate::default_threads)
            .max(1);
        let shown = model.display().to_string();
        let onnx = |e: ort::Error| ModelError::Load {
            path: shown.clone(),
            message: e.to_string(),
        };
        let model_bytes = std::fs::metadata(&model).map_or(u64::MAX, |m| m.len());
        let (passes, pass_threads) = plan_passes(threads, model_bytes);
        let session = || {
            Session::builder(env)
                .map_err(onnx)?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| onnx(e.into()))?
                .with_intra_threads(pass_threads)
                .map_err(|e| onnx(e.into()))?
                // Idle threads sleep rather than spin: between passes, and while extraction
                // or a commit has a core, a spinning thread burns the time another stage
                // needs (measured in ARCHITECTURE.md: ingest 10% faster, the embedder alone
                // no slower).
                .with_intra_op_spinning(false)
                .map_err(|e| onnx(e.into()))?
                .commit_from_file(&model)
                .map_err(onnx)
        };
        let first = session()?;
        let inputs = first
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect::<Vec<_>>();
        if !inputs.iter().any(|i| i == "input_ids") || !inputs.iter().any(|i| i == "attention_mask")
        {
            return Err(ModelError::Runtime(format!(
                "{shown} is not a text encoder: it takes {inputs:?}, not input_ids and attention_mask"
            )));
        }
        let mut sessions = vec![Mutex::new(first)];
        for _ in 1..passes {
            sessions.push(Mutex::new(session()?));
        }
        let tokenizer_path = require(dir, "tokenizer.json")?;
        let tokenizer_error = |e: tokenizers::Error| {
            ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display()))
        };
        let mut counter = Tokenizer::from_bytes(read(&tokenizer_path)?).map_err(tokenizer_error)?;
        counter.with_padding(None);
        counter.with_truncation(None).map_err(tokenizer_error)?;
        let mut tokenizer = counter.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: info.max_tokens + 2,
                ..TruncationParams::default()
            }))
            .map_err(tokenizer_error)?;
        let model_id = format!("{}/onnx-{precision}/mean/{}", info.name, info.max_tokens);
        tracing::info!(model = %model_id, passes, pass_threads, "embedder loaded");
        Ok(OnnxEmbedder(Arc::new(Inner {
            sessions,
            inputs,
            tokenizer,
            counter,
            model_id,
            info,
            folder: dir.to_path_buf(),
            precision: if precision == "int8" {
                Precision::Int8
            } else {
                Precision::Fp32
            },
        })))
    }

    /// What the model's folder says of it.
    pub fn describe(&self) -> &EmbedderInfo {
        &self.0.info
    }

    /// The folder it was loaded from.
    pub fn folder(&self) -> &Path {
        &self.0.folder
    }

    /// The weights it runs with.
    pub fn precision(&self) -> Precision {
        self.0.precision
    }

    /// Embeds on the calling thread and, for several texts, on a thread for each further
    /// session (the async [`Embedder::embed`] runs this off the runtime).
    ///
    /// One text per forward pass: measured on 2 cores, that is faster than batches (no
    /// padding is computed, attention stays short), and a text's vector never depends on the
    /// texts it came with (int8 activations are quantised per pass). The passes run side by
    /// side, each taking the next text as it finishes one.
    pub fn embed_blocking(
        &self,
        texts: &[String],
        kind: EmbedKind,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let next = AtomicUsize::new(0);
        let workers = self.0.sessions.len().min(texts.len()).max(1);
        // Session 0 works on the calling thread, the others each on a thread of their own.
        let results = std::thread::scope(|scope| {
            let next = &next;
            let others: Vec<_> = (1..workers)
                .map(|k| scope.spawn(move || self.embed_from(k, texts, kind, next)))
                .collect();
            let mut results = vec![self.embed_from(0, texts, kind, next)];
            results.extend(others.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ModelError::Runtime("an embedding thread panicked".into()))
                })
            }));
            results
        });
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for done in results {
            for (i, v) in done? {
                vectors[i] = Some(v);
            }
        }
        vectors
            .into_iter()
            .map(|v| v.ok_or_else(|| ModelError::Runtime("a text was left unembedded".into())))
            .collect()
    }

    /// Embeds, with session `k`, the texts `next` hands out until none is left; returns each
    /// with its index.
    fn embed_from(
        &self,
        k: usize,
        texts: &[String],
        kind: EmbedKind,
        next: &AtomicUsize,
    ) -> Result<Vec<(usize, Vec<f32>)>, ModelError> {
        let inner = &self.0;
        let prefix = match kind {
            EmbedKind::Query => &inner.info.query_prefix,
            EmbedKind::Passage => &inner.info.passage_prefix,
        };
        let mut session = inner.sessions[k]
            .lock()
            .map_err(|_| ModelError::Runtime("an earlier embedding panicked".into()))?;
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(text) = texts.get(i) else {
                return Ok(done);
            };
            let encoding = inner
                .tokenizer
                .encode(format!("{prefix}{text}"), true)
                .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
            done.push((i, self.forward(&mut session, encoding.get_ids())?));
        }
    }

    /// One forward pass: the mean of the tokens' vectors, scaled to unit length (the scaling
    /// makes the division by the token count moot).
    fn forward(&self, session: &mut Session, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        let inner = &self.0;
        let width = ids.len().max(1);
        let run_error = |e: ort::Error| ModelError::Runtime(format!("embedding failed: {e}"));
        let shape = [1, width as i64];
        let mut feed: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::new();
        for name in &inner.inputs {
            let values = match name.as_str() {
                "input_ids" => ids.iter().map(|&id| i64::from(id)).collect(),
                "attention_mask" => vec![1i64; width],
                "token_type_ids" => vec![0i64; width],
                other => {
                    return Err(ModelError::Runtime(format!(
                        "the embedder takes an input Cairn does not know: {other}"
                    )))
                }
            };
            let tensor = Tensor::from_array((shape, values)).map_err(run_error)?;
            feed.push((Cow::Owned(name.clone()), tensor.into()));
        }
        let outputs = session.run(feed).map_err(run_error)?;
        let (out_shape, hidden) = outputs[0].try_extract_tensor::<f32>().map_err(run_error)?;
        let dim = inner.info.dimension;
        if hidden.len() != width * dim {
            return Err(ModelError::Runtime(format!(
                "the embedder returned shape {out_shape:?}, not [1, {width}, {dim}]"
            )));
        }
        let mut sum = vec![0f32; dim];
        for token in hidden.chunks_exact(dim) {
            for (s, v) in sum.iter_mut().zip(token) {
                *s += v;
            }
        }
        let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        Ok(sum.into_iter().map(|v| v / norm).collect())
    }
}

impl TokenCounter for OnnxEmbedder {
    /// Tokens of `text` as a passage (its prefix included), without special tokens.
    fn count(&self, text: &str) -> usize {
        let prefixed = format!("{}{text}", self.0.info.passage_prefix);
        self.0
            .counter
            .encode(prefixed, false)
            .map_or_else(|_| text.split_whitespace().count(), |e| e.get_ids().len())
    }
}

#[async_trait]
impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.0.model_id
    }

    fn dimension(&self) -> usize {
        self.0.info.dimension
    }

    fn max_tokens(&self) -> usize {
        self.0.info.max_tokens
    }

    async fn embed(&self, texts: Vec<String>, kind: EmbedKind) -> PortResult<Vec<Vec<f32>>> {
        let this = self.clone();
        Ok(
            tokio::task::spawn_blocking(move || this.embed_blocking(&texts, kind))
                .await
                .map_err(ModelError::from)??,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::plan_passes;

    #[test]
    fn passes_share_the_cores_evenly_and_their_weights_fit_the_budget() {
        const MIB: u64 = 1 << 20;
        // MiniLM int8 (22 MiB): a one-thread pass per core.
        assert_eq!(plan_passes(2, 22 * MIB), (2, 1));
        assert_eq!(plan_passes(8, 22 * MIB), (8, 1));
        // multilingual-e5-small int8 (113 MiB): four copies fit, on cores they divide.
        assert_eq!(plan_passes(8, 113 * MIB), (4, 2));
        assert_eq!(plan_passes(6, 113 * MIB), (3, 2));
        // Its fp32 graph (449 MiB): one pass on every core.
        assert_eq!(plan_passes(8, 449 * MIB), (1, 8));
        assert_eq!(plan_passes(1, 22 * MIB), (1, 1));
        assert_eq!(plan_passes(0, 0), (1, 1));
    }
}
