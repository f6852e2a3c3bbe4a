//! A deterministic embedder: each word of four letters or more is hashed into one of the
//! vector's dimensions, so texts that share words are close and texts that share none are
//! not. Enough to test what the engine does with similarities, not a model of meaning.

use super::words;
use crate::chunker::TokenCounter;
use crate::ports::{EmbedKind, Embedder, PortResult};
use async_trait::async_trait;

pub struct WordEmbedder {
    model_id: String,
    dimension: usize,
}

impl Default for WordEmbedder {
    fn default() -> Self {
        WordEmbedder::new("word-hash-256", 256)
    }
}

impl WordEmbedder {
    /// Another embedder (another id and size): a library switched to it must be re-embedded.
    pub fn new(model_id: &str, dimension: usize) -> Self {
        WordEmbedder {
            model_id: model_id.to_string(),
            dimension: dimension.max(2),
        }
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        for word in words(text).filter(|w| w.chars().count() >= 4) {
            // FNV-1a: stable across runs and platforms, unlike the std hasher's seed.
            let hash = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            let slot = usize::try_from(hash % self.dimension as u64).unwrap_or(0);
            v[slot] += 1.0;
        }
        // A small common component: a text of short words only still has a direction.
        v[self.dimension - 1] += 0.1;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }
}

impl TokenCounter for WordEmbedder {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

#[async_trait]
impl Embedder for WordEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_tokens(&self) -> usize {
        120
    }

    async fn embed(&self, texts: Vec<String>, _kind: EmbedKind) -> PortResult<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}
