//! Changing a library's embedder without a moment of broken search.
//!
//! Every chunk is embedded again with the new model, a page at a time, each page under the
//! writer lock (so ingests and removals go on between pages) while searches keep using the
//! old model and its vectors. Then, under the writer lock, the chunks ingested meanwhile are
//! embedded too, the new model's vector table is filled from the catalog (where every
//! embedding is stored per model), the catalog records the new model, and searches switch to
//! it at once. A switch that stops part-way keeps what it embedded: the next one reuses it.

use super::{Engine, VectorSide};
use crate::document::DocumentState;
use crate::error::CoreError;
use crate::ids::ChunkId;
use crate::ports::VectorRows;

/// The catalog setting that names the model the library's vectors come from.
pub const EMBEDDER_SETTING: &str = "embedder";

/// Chunks re-embedded between two releases of the writer lock.
const PAGE: usize = 256;

/// How far a switch has come, in chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SwitchProgress {
    pub done: u64,
    pub total: u64,
}

/// What a switch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SwitchReport {
    /// The model searches use now.
    pub model: String,
    /// Chunks that have a vector of the new model.
    pub chunks: usize,
    /// Chunks embedded by this switch (the others had a stored vector of the model).
    pub embedded: usize,
}

impl Engine {
    /// Re-embeds the library with `next` and switches searches to it when every chunk has its
    /// vector. Searches use the current embedder until then.
    pub async fn switch_embedder(
        &self,
        next: VectorSide,
        progress: &(dyn Fn(SwitchProgress) + Send + Sync),
    ) -> Result<SwitchReport, CoreError> {
        let model = next.embedder.model_id().to_string();
        let total = self.passage_count().await?;
        let mut report = SwitchReport {
            model: model.clone(),
            ..SwitchReport::default()
        };
        let mut done = 0;
        progress(SwitchProgress { done, total });
        let mut after: Option<ChunkId> = None;
        loop {
            let write = self.begin_write("re-embedding the library").await;
            let page = write.finish(self.embed_page(after.as_ref(), &next).await)?;
            let Some((last, chunks, embedded)) = page else {
                break;
            };
            after = Some(last);
            report.embedded += embedded;
            done += chunks as u64;
            progress(SwitchProgress {
                done: done.min(total),
                total,
            });
        }
        let write = self.begin_write("switching the embedder").await;
        write.finish(self.finish_switch(next, &mut report).await)?;
        progress(SwitchProgress {
            done: report.chunks as u64,
            total: report.chunks as u64,
        });
        tracing::info!(model = %report.model, chunks = report.chunks, embedded = report.embedded, "embedder switched");
        Ok(report)
    }

    /// Embeds the chunks after `after` that lack a vector of `next`'s model; `None` at the end.
    async fn embed_page(
        &self,
        after: Option<&ChunkId>,
        next: &VectorSide,
    ) -> Result<Option<(ChunkId, usize, usize)>, CoreError> {
        let page = self
            .ports
            .catalog
            .chunk_page(after, PAGE, next.embedder.model_id())
            .await
            .map_err(CoreError::Catalog)?;
        let Some((last, _)) = page.last() else {
            return Ok(None);
        };
        let last = last.id.clone();
        let chunks = page.len();
        let (_, embedded) = self.complete_vectors(page, next).await?;
        Ok(Some((last, chunks, embedded)))
    }

    /// Fills `next`'s vector table from the catalog (embedding what was ingested meanwhile),
    /// records the model and switches searches to it. Runs under the writer lock.
    async fn finish_switch(
        &self,
        next: VectorSide,
        report: &mut SwitchReport,
    ) -> Result<(), CoreError> {
        let model = next.embedder.model_id().to_string();
        next.vectors.clear().await.map_err(CoreError::VectorIndex)?;
        let mut pages = super::reindex::CompletePages::new(self, &next);
        while let Some(by_doc) = pages.next().await? {
            let rows: VectorRows = by_doc
                .into_iter()
                .map(|(doc, items)| {
                    report.chunks += items.len();
                    (doc, items.into_iter().map(|(c, v)| (c.id, v)).collect())
                })
                .collect();
            next.vectors
                .add(rows)
                .await
                .map_err(CoreError::VectorIndex)?;
        }
        report.embedded += pages.embedded;
        next.vectors
            .optimize()
            .await
            .map_err(CoreError::VectorIndex)?;
        self.ports
            .catalog
            .set_setting(EMBEDDER_SETTING, &model)
            .await
            .map_err(CoreError::Catalog)?;
        self.set_side(next);
        Ok(())
    }

    /// Up to `n` passages of the library as they are embedded, and how many passages it has:
    /// what an estimate of a switch's time measures.
    pub async fn sample_passages(&self, n: usize) -> Result<(Vec<String>, u64), CoreError> {
        let total = self.passage_count().await?;
        let model = self.side().embedder.model_id().to_string();
        let page = self
            .ports
            .catalog
            .chunk_page(None, n, &model)
            .await
            .map_err(CoreError::Catalog)?;
        Ok((
            page.iter().map(|(c, _)| c.embedding_text()).collect(),
            total,
        ))
    }

    /// The passages of the documents that are not failed.
    async fn passage_count(&self) -> Result<u64, CoreError> {
        Ok(self
            .documents()
            .await?
            .iter()
            .filter(|d| d.state != DocumentState::Failed)
            .map(|d| u64::from(d.chunk_count))
            .sum())
    }

    /// A setting the library keeps in its catalog.
    pub async fn library_setting(&self, key: &str) -> Result<Option<String>, CoreError> {
        self.ports
            .catalog
            .setting(key)
            .await
            .map_err(CoreError::Catalog)
    }

    /// Keeps a setting in the library's catalog.
    pub async fn set_library_setting(&self, key: &str, value: &str) -> Result<(), CoreError> {
        self.ports
            .catalog
            .set_setting(key, value)
            .await
            .map_err(CoreError::Catalog)
    }
}
