//! The relevance gate's calibration for the library and the embedder searches use now
//! ([`crate::retrieval::calibration::GateCalibration`]): made when the library is tuned (and kept with its
//! tuning), or on the first question of a library that has none, and the threshold one
//! question is held to.

use super::Engine;
use crate::error::CoreError;
use crate::retrieval::calibration::{background_questions, GateCalibration};

/// The detector must be this sure of a question's language before the gate uses that
/// language's threshold (short questions, names and commands get the library's language's).
const SURE_OF_LANGUAGE: f32 = 0.5;

impl Engine {
    /// The relevance gate's calibration for the embedder searches use now: the library's
    /// tuning's, or made now (and kept until the next tuning) when the library has none.
    pub async fn gate(&self) -> Result<Option<GateCalibration>, CoreError> {
        let model = self.side().embedder.model_id().to_string();
        let kept = self
            .gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some((embedder, gate)) = kept {
            if embedder == model {
                return Ok(Some(gate));
            }
        }
        let gate = self.calibrate_gate().await?;
        self.set_gate(&model, gate.clone());
        Ok(gate)
    }

    /// The least similarity the gate asks of `question`'s best passage: the library's threshold
    /// for the question's language (the library's main language when the detector is unsure;
    /// `f32::INFINITY` for an empty library, where nothing can pass).
    pub async fn gate_threshold(&self, question: &str) -> Result<f32, CoreError> {
        let Some(gate) = self.gate().await? else {
            return Ok(f32::INFINITY);
        };
        let languages = self
            .languages
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        // A question the detector is unsure of (short, or names and numbers) is most likely
        // in the library's own main language.
        let language = crate::retrieval::language::question_language(question, &languages)
            .filter(|(_, sure)| *sure >= SURE_OF_LANGUAGE)
            .map(|(code, _)| code.to_string())
            .or_else(|| languages.0.first().map(|l| l.language.clone()));
        Ok(gate.min_similarity_for(language.as_deref()))
    }

    pub(super) fn set_gate(&self, embedder: &str, gate: Option<GateCalibration>) {
        *self
            .gate
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            gate.map(|g| (embedder.to_string(), g));
    }

    /// Searches the background questions in the library: the best similarities they reach
    /// calibrate the relevance gate (`None` for an empty library).
    pub(super) async fn calibrate_gate(&self) -> Result<Option<GateCalibration>, CoreError> {
        let side = self.side();
        let questions = background_questions();
        let mut best = Vec::with_capacity(questions.len());
        let texts: Vec<String> = questions.iter().map(|q| q.text.to_string()).collect();
        let vectors = side.embed_queries(texts, self.config.embed_batch).await?;
        for (question, v) in questions.iter().zip(vectors) {
            let nearest = side
                .vectors
                .search(&v, 1, None)
                .await
                .map_err(CoreError::VectorIndex)?;
            if let Some((_, d)) = nearest.first() {
                tracing::debug!(
                    question = question.text,
                    similarity = 1.0 - d.0,
                    "gate.background"
                );
                best.push((question.language, 1.0 - d.0));
            }
        }
        let gate = GateCalibration::from_background(&best);
        if let Some(g) = &gate {
            tracing::info!(
                min_similarity = g.min_similarity,
                median = g.background_median,
                p90 = g.background_p90,
                "relevance gate calibrated for this library"
            );
        }
        Ok(gate)
    }
}
