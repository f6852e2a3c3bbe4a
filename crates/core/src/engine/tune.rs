//! Tuning the fusion to the library (the self-check is in [`crate::retrieval::tuning`]); the choice and
//! its scores are kept in the catalog, and searches use it from then on.

use super::Engine;
use crate::chunk::Chunk;
use crate::document::DocumentState;
use crate::error::CoreError;
use crate::error::PortError;
use crate::ids::{ChunkId, DocumentId};
use crate::retrieval::fusion::FusionConfig;
use crate::retrieval::language::{self, LanguageMix};
use crate::retrieval::tuning::{self, FusionTuning, ProbeRun, TuningScores};
use std::collections::{HashMap, HashSet};
use tracing::Instrument;

/// The catalog setting that holds the library's [`FusionTuning`] as JSON.
pub const FUSION_SETTING: &str = "search.fusion";

/// Candidates each retriever returns per probe, as a search asks for.
const PROBE_DEPTH: usize = 50;

impl Engine {
    /// The fusion hybrid searches use now.
    pub fn fusion(&self) -> FusionConfig {
        *self
            .fusion
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes hybrid searches fuse this way until the next tuning or restore (evaluations
    /// compare settings on one index with it).
    pub fn set_fusion(&self, config: FusionConfig) {
        *self
            .fusion
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
    }

    /// The fusion one question is searched with: the library's, with BM25 leaning back when
    /// the question is in a language few of the library's passages are written in.
    pub fn fusion_for_question(&self, question: &str) -> FusionConfig {
        let languages = self
            .languages
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        language::fusion_for_question(self.fusion(), &languages, question)
    }

    fn set_languages(&self, mix: LanguageMix) {
        *self
            .languages
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = mix;
    }

    /// The tuning kept in the catalog, if the library has one (an unreadable one counts as
    /// none: it is only redone).
    pub async fn fusion_tuning(&self) -> Result<Option<FusionTuning>, CoreError> {
        let stored = self.library_setting(FUSION_SETTING).await?;
        Ok(stored.and_then(|json| match serde_json::from_str(&json) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "the stored fusion tuning is unreadable; it is redone");
                None
            }
        }))
    }

    /// Puts the stored tuning in force, if it was made with the embedder searches use now
    /// (another embedder's weights say nothing about this one's vectors).
    pub async fn restore_fusion(&self) -> Result<Option<FusionTuning>, CoreError> {
        let model = self.side().embedder.model_id().to_string();
        let stored = self.fusion_tuning().await?;
        // The languages are the passages', whichever embedder the tuning was made with.
        self.set_languages(
            stored
                .as_ref()
                .and_then(|t| t.languages.clone())
                .unwrap_or_default(),
        );
        let tuning = stored.filter(|t| t.embedder == model);
        self.set_fusion(
            tuning
                .as_ref()
                .map_or_else(FusionConfig::default, |t| t.fusion),
        );
        self.set_gate(&model, tuning.as_ref().and_then(|t| t.gate.clone()));
        Ok(tuning)
    }

    /// Tunes the fusion when the library has no tuning yet, another embedder, or a fifth more
    /// or fewer chunks than when it was tuned; returns the new tuning, or `None` when the one
    /// in force still holds (or the library is empty).
    pub async fn tune_fusion_if_due(&self) -> Result<Option<FusionTuning>, CoreError> {
        let model = self.side().embedder.model_id().to_string();
        let chunks = self.indexed_chunks().await?.len() as u64;
        match self.fusion_tuning().await? {
            Some(t) if !t.is_stale(&model, chunks) => {
                self.set_fusion(t.fusion);
                self.set_gate(&model, t.gate.clone());
                self.set_languages(t.languages.unwrap_or_default());
                Ok(None)
            }
            _ if chunks == 0 => Ok(None),
            _ => self.tune_fusion().await.map(Some),
        }
    }

    /// Runs the self-check now, keeps its choice in the catalog and puts it in force.
    pub async fn tune_fusion(&self) -> Result<FusionTuning, CoreError> {
        let side = self.side();
        let model = side.embedder.model_id().to_string();
        let ids = self.indexed_chunks().await?;
        // Probes come from chunks with a neighbour: documents of more than one chunk.
        let mut per_document: HashMap<&DocumentId, usize> = HashMap::new();
        for (_, doc) in &ids {
            *per_document.entry(doc).or_default() += 1;
        }
        let candidates: Vec<ChunkId> = ids
            .iter()
            .filter(|(_, doc)| per_document[doc] > 1)
            .map(|(id, _)| id.clone())
            .collect();
        let sample = tuning::sample(&candidates, tuning::PROBES);
        let document_of: HashMap<&ChunkId, &DocumentId> = ids.iter().map(|(c, d)| (c, d)).collect();
        let mut wanted: Vec<&DocumentId> = sample
            .iter()
            .filter_map(|c| document_of.get(c).copied())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut documents = Vec::with_capacity(wanted.len());
        for doc in wanted {
            let mut chunks: Vec<Chunk> = self
                .ports
                .catalog
                .document_chunks(*doc, &model)
                .await
                .map_err(CoreError::Catalog)?
                .into_iter()
                .map(|(chunk, _)| chunk)
                .collect();
            chunks.sort_by_key(|c| c.ordinal);
            documents.push(chunks);
        }
        let probes = tuning::probes(&sample, &documents);
        let languages = self.language_mix(&ids).await?;
        let gate = self.calibrate_gate().await?;
        let (fusion, scores, note) = if probes.len() < tuning::MIN_PROBES {
            let note = format!(
                "{} probe queries could be drawn from the library's documents of more than one \
                 passage; {} are needed to tune",
                probes.len(),
                tuning::MIN_PROBES
            );
            (FusionConfig::default(), TuningScores::default(), Some(note))
        } else {
            let span = tracing::info_span!("query.tune", probes = probes.len(), chunks = ids.len());
            let runs = self.probe_runs(&probes).instrument(span).await?;
            let (fusion, scores) = tuning::choose(&runs);
            (fusion, scores, None)
        };
        let tuned = FusionTuning {
            fusion,
            scores,
            probes: u32::try_from(probes.len()).unwrap_or(u32::MAX),
            embedder: model,
            chunks: ids.len() as u64,
            tuned_at_ms: now_ms(),
            note,
            languages: Some(languages.clone()),
            gate: gate.clone(),
        };
        let json = serde_json::to_string(&tuned).map_err(|e| {
            CoreError::Catalog(PortError::internal("cannot record the fusion tuning", e))
        })?;
        self.set_library_setting(FUSION_SETTING, &json).await?;
        self.set_fusion(tuned.fusion);
        self.set_gate(&tuned.embedder, gate);
        self.set_languages(languages);
        tracing::info!(
            method = ?tuned.fusion.method,
            bm25_share = tuned.fusion.bm25_share(),
            bm25 = scores.bm25,
            vector = scores.vector,
            balanced = scores.balanced,
            chosen = scores.chosen,
            "search tuned for this library"
        );
        Ok(tuned)
    }

    /// Both retrievers' candidates for every probe, with the embedder of one side throughout.
    async fn probe_runs(&self, probes: &[tuning::Probe]) -> Result<Vec<ProbeRun>, CoreError> {
        let side = self.side();
        let mut runs = Vec::with_capacity(probes.len());
        let queries: Vec<String> = probes.iter().map(|p| p.query.clone()).collect();
        let vectors = side.embed_queries(queries, self.config.embed_batch).await?;
        for (probe, v) in probes.iter().zip(vectors) {
            // One more than the depth: the probe's own chunk is taken out.
            let mut bm25 = self
                .ports
                .text
                .search(&probe.query, PROBE_DEPTH + 1, None)
                .await
                .map_err(CoreError::TextIndex)?;
            let mut vector = side
                .vectors
                .search(&v, PROBE_DEPTH + 1, None)
                .await
                .map_err(CoreError::VectorIndex)?;
            bm25.retain(|(id, _)| *id != probe.source);
            vector.retain(|(id, _)| *id != probe.source);
            bm25.truncate(PROBE_DEPTH);
            vector.truncate(PROBE_DEPTH);
            runs.push(ProbeRun {
                targets: probe.targets.clone(),
                bm25,
                vector,
            });
        }
        Ok(runs)
    }

    /// The languages of a sample of the library's passages (the same spread as the probes').
    async fn language_mix(&self, ids: &[(ChunkId, DocumentId)]) -> Result<LanguageMix, CoreError> {
        let all: Vec<ChunkId> = ids.iter().map(|(id, _)| id.clone()).collect();
        let sample = tuning::sample(&all, tuning::PROBES);
        let chunks = self
            .ports
            .catalog
            .chunks(&sample)
            .await
            .map_err(CoreError::Catalog)?;
        Ok(LanguageMix::of_passages(
            chunks.iter().map(|c| c.text.as_str()),
        ))
    }

    /// Chunks of the documents that are indexed (what both retrievers can find).
    async fn indexed_chunks(&self) -> Result<Vec<(ChunkId, DocumentId)>, CoreError> {
        let indexed: HashSet<_> = self
            .documents()
            .await?
            .into_iter()
            .filter(|d| d.state == DocumentState::Indexed)
            .map(|d| d.id)
            .collect();
        Ok(self
            .ports
            .catalog
            .chunk_ids()
            .await
            .map_err(CoreError::Catalog)?
            .into_iter()
            .filter(|(_, doc)| indexed.contains(doc))
            .collect())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
