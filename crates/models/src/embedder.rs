//! Sentence embeddings with candle's BERT, following the folder's sentence-transformers
//! configuration: pooling (mean or CLS), normalisation, maximum sequence length and a query
//! prompt where the model defines one.

use crate::ModelError;
use async_trait::async_trait;
use cairn_core::chunker::TokenCounter;
use cairn_core::ports::{EmbedKind, Embedder, PortResult};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
}

/// Overrides for what the model folder says.
#[derive(Debug, Clone, Default)]
pub struct EmbedderOptions {
    /// Prefix for queries (bge models want "Represent this sentence for searching relevant
    /// passages: "); taken from `config_sentence_transformers.json` when not given.
    pub query_prefix: Option<String>,
    /// Texts per forward pass.
    pub batch_size: Option<usize>,
}

/// A BERT sentence embedder loaded from a local folder. Cheap to clone.
#[derive(Clone)]
pub struct BertEmbedder(Arc<Inner>);

struct Inner {
    model: BertModel,
    /// Pads and truncates (truncation only guards against callers that skip the chunker).
    batch_tokenizer: Tokenizer,
    /// Neither pads nor truncates: counts what a text really costs.
    counting_tokenizer: Tokenizer,
    device: Device,
    pooling: Pooling,
    normalize: bool,
    max_tokens: usize,
    dimension: usize,
    model_id: String,
    query_prefix: Option<String>,
    batch_size: usize,
}

#[derive(Deserialize, Default)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
}

#[derive(Deserialize, Default)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default)]
struct SentenceTransformersConfig {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
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

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads an optional JSON file; a missing file gives the default.
fn optional_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, ModelError> {
    if !path.is_file() {
        return Ok(T::default());
    }
    serde_json::from_slice(&read(path)?).map_err(|source| ModelError::Config {
        path: path.display().to_string(),
        source,
    })
}

impl BertEmbedder {
    /// Loads the model in `dir` (config.json, model.safetensors, tokenizer.json and the
    /// sentence-transformers files) on the CPU.
    pub fn load(dir: &Path, options: EmbedderOptions) -> Result<Self, ModelError> {
        let config_path = require(dir, "config.json")?;
        let config: Config =
            serde_json::from_slice(&read(&config_path)?).map_err(|source| ModelError::Config {
                path: config_path.display().to_string(),
                source,
            })?;
        let weights = read(&require(dir, "model.safetensors")?)?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)?;

        let pooling_config: PoolingConfig = optional_json(&dir.join("1_Pooling/config.json"))?;
        let pooling = if pooling_config.pooling_mode_cls_token {
            Pooling::Cls
        } else {
            Pooling::Mean
        };
        let modules_path = dir.join("modules.json");
        let normalize = if modules_path.is_file() {
            let modules: Vec<Module> =
                serde_json::from_slice(&read(&modules_path)?).map_err(|source| {
                    ModelError::Config {
                        path: modules_path.display().to_string(),
                        source,
                    }
                })?;
            modules.iter().any(|m| m.kind.ends_with("Normalize"))
        } else {
            true
        };
        let st: SentenceBertConfig = optional_json(&dir.join("sentence_bert_config.json"))?;
        let max_seq = st
            .max_seq_length
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        let prompts: SentenceTransformersConfig =
            optional_json(&dir.join("config_sentence_transformers.json"))?;

        let mut counting_tokenizer = Tokenizer::from_file(require(dir, "tokenizer.json")?)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        counting_tokenizer.with_padding(None);
        counting_tokenizer
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let mut batch_tokenizer = counting_tokenizer.clone();
        batch_tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        batch_tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq,
                ..TruncationParams::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;

        let name = dir.file_name().map_or_else(
            || "embedder".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let model_id = format!(
            "{name}/{}/{}{}",
            match pooling {
                Pooling::Mean => "mean",
                Pooling::Cls => "cls",
            },
            if normalize { "norm" } else { "raw" },
            max_seq
        );
        Ok(BertEmbedder(Arc::new(Inner {
            model,
            batch_tokenizer,
            counting_tokenizer,
            device,
            pooling,
            normalize,
            // Two places go to [CLS] and [SEP].
            max_tokens: max_seq.saturating_sub(2),
            dimension: config.hidden_size,
            model_id,
            query_prefix: options
                .query_prefix
                .or_else(|| prompts.prompts.get("query").cloned()),
            batch_size: options.batch_size.unwrap_or(16).max(1),
        })))
    }

    pub fn pooling(&self) -> Pooling {
        self.0.pooling
    }

    /// Embeds texts on the calling thread (CPU-bound; call from a blocking context).
    pub fn embed_blocking(
        &self,
        texts: &[String],
        kind: EmbedKind,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let inner = &self.0;
        let prefixed: Vec<String> = match (&inner.query_prefix, kind) {
            (Some(prefix), EmbedKind::Query) => {
                texts.iter().map(|t| format!("{prefix}{t}")).collect()
            }
            _ => texts.to_vec(),
        };
        // Similar lengths in one batch waste less on padding.
        let mut order: Vec<usize> = (0..prefixed.len()).collect();
        order.sort_by_key(|&i| prefixed[i].len());
        let mut out = vec![Vec::new(); prefixed.len()];
        for batch in order.chunks(inner.batch_size) {
            let texts: Vec<&str> = batch.iter().map(|&i| prefixed[i].as_str()).collect();
            for (&i, vector) in batch.iter().zip(inner.forward(&texts)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }
}

impl Inner {
    fn forward(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let encodings = self
            .batch_tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, cols), &self.device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, cols), &self.device)?;
        let mask = Tensor::from_vec(
            flat(&|e| e.get_attention_mask()),
            (rows, cols),
            &self.device,
        )?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let pooled = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
                summed.broadcast_div(&counts)?
            }
        };
        let pooled = if self.normalize {
            let norms = pooled
                .sqr()?
                .sum_keepdim(1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            pooled.broadcast_div(&norms)?
        } else {
            pooled
        };
        Ok(pooled.to_vec2::<f32>()?)
    }
}

impl TokenCounter for BertEmbedder {
    fn count(&self, text: &str) -> usize {
        self.0
            .counting_tokenizer
            .encode(text, false)
            .map_or_else(|_| text.split_whitespace().count() * 2, |e| e.len())
    }
}

#[async_trait]
impl Embedder for BertEmbedder {
    fn model_id(&self) -> &str {
        &self.0.model_id
    }

    fn dimension(&self) -> usize {
        self.0.dimension
    }

    fn max_tokens(&self) -> usize {
        self.0.max_tokens
    }

    async fn embed(&self, texts: Vec<String>, kind: EmbedKind) -> PortResult<Vec<Vec<f32>>> {
        let this = self.clone();
        let vectors = tokio::task::spawn_blocking(move || this.embed_blocking(&texts, kind))
            .await
            .map_err(ModelError::from)??;
        Ok(vectors)
    }
}
