//! The vector store on LanceDB: one row per chunk (id, document, unit vector).
//!
//! Rows are written one batch per ingest commit, never one version per chunk, and
//! [`VectorIndex::optimize`] compacts the files and prunes old versions afterwards, so the
//! table's size follows its content.
//!
//! Small libraries are searched exhaustively (exact, and fast enough). From
//! [`INDEX_MIN_ROWS`] rows, `optimize` builds an IVF-PQ index on the vectors and folds later
//! rows into it; searches then probe the nearest partitions and re-rank the candidates with
//! the full vectors (`bench/RESULTS.md` gives latency and recall both ways).

use crate::StoreError;
use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use cairn_core::ports::{PortResult, VectorIndex, VectorRows};
use cairn_core::{ChunkId, DocumentId, VectorDistance};
use futures::TryStreamExt;
use lancedb::index::vector::IvfPqIndexBuilder;
use lancedb::index::Index;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::{CompactionOptions, Duration, OptimizeAction, OptimizeOptions};
use lancedb::{DistanceType, Table};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The table of the vectors of one embedding model: vectors of different models never mix,
/// and a library that changes models fills the new model's table while searches use the
/// old one.
pub fn table_for(model: &str) -> String {
    let readable: String = model
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(48)
        .collect();
    let hash = blake3::hash(model.as_bytes()).to_hex();
    format!("vectors_{readable}_{}", &hash.as_str()[..8])
}

/// Rows from which `optimize` gives the table an approximate (IVF-PQ) vector index. Measured
/// (bench/RESULTS.md, 2 cores): exact hybrid search takes p95 49 ms at 10k chunks and 244 ms
/// at 100k; with the index 30 ms at 100k, for a recall@10 of 0.90 against exact.
pub const INDEX_MIN_ROWS: u64 = 20_000;
/// The index is trained again (√n partitions for the rows then) once the table holds this
/// many times the rows it was trained on: rows folded in after training go to partitions
/// sized for a smaller table, and recall drops as they pile up.
pub const RETRAIN_GROWTH: u64 = 4;
/// The index's name records the rows it was trained on.
const INDEX_PREFIX: &str = "vector_ivfpq_";
/// Partitions an indexed search probes, and how many times `limit` candidates it re-ranks
/// with the full vectors.
const NPROBES: usize = 20;
const REFINE_FACTOR: u32 = 4;

/// The LanceDB table of chunk vectors.
#[derive(Clone)]
pub struct LanceVectors {
    table: Table,
    schema: SchemaRef,
    dimension: usize,
    indexed: Arc<AtomicBool>,
}

/// How [`LanceVectors::open`] found the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOpening {
    /// There, with the expected shape.
    Found,
    /// Missing: made empty.
    Created,
    /// There with another shape (vectors of `had` dimensions, where readable): dropped and
    /// made empty.
    Replaced { had: Option<usize> },
}

/// The length of the `vector` column's lists in `schema`.
fn vector_dimension(schema: &Schema) -> Option<usize> {
    match schema.field_with_name("vector").ok()?.data_type() {
        DataType::FixedSizeList(_, n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

fn schema(dimension: usize) -> SchemaRef {
    let dim = i32::try_from(dimension).unwrap_or(i32::MAX);
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("document_id", DataType::Int64, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dim),
            false,
        ),
    ]))
}

impl LanceVectors {
    /// Opens (creating it when missing) the table of `model`'s vectors of `dimension` in
    /// `dir`; a table of that name with another shape is dropped, to be rebuilt from the
    /// catalog. Returns the table and how it was found.
    pub async fn open(
        dir: &Path,
        model: &str,
        dimension: usize,
    ) -> Result<(Self, TableOpening), StoreError> {
        let uri = dir.to_string_lossy().into_owned();
        let db = lancedb::connect(&uri).execute().await?;
        let schema = schema(dimension);
        let name = table_for(model);
        let names = db.table_names().execute().await?;
        let mut opening = TableOpening::Created;
        if names.contains(&name) {
            let table = db.open_table(&name).execute().await?;
            let found = table.schema().await?;
            if found == schema {
                let vectors = LanceVectors {
                    table,
                    schema,
                    dimension,
                    indexed: Arc::default(),
                };
                vectors
                    .indexed
                    .store(vectors.has_index().await?, Ordering::Relaxed);
                return Ok((vectors, TableOpening::Found));
            }
            let had = vector_dimension(&found);
            tracing::warn!(
                ?had,
                dimension,
                "vector table has another shape; recreating it"
            );
            db.drop_table(&name, &[]).await?;
            opening = TableOpening::Replaced { had };
        }
        let table = db
            .create_empty_table(&name, schema.clone())
            .execute()
            .await?;
        let vectors = LanceVectors {
            table,
            schema,
            dimension,
            indexed: Arc::default(),
        };
        Ok((vectors, opening))
    }

    /// Drops the tables in `dir` of every model but `model`'s (an embedder the library no
    /// longer uses, or a switch that stopped part-way): returns their names.
    pub async fn drop_others(dir: &Path, model: &str) -> Result<Vec<String>, StoreError> {
        let uri = dir.to_string_lossy().into_owned();
        let db = lancedb::connect(&uri).execute().await?;
        let keep = table_for(model);
        let mut dropped = Vec::new();
        for name in db.table_names().execute().await? {
            if name != keep {
                db.drop_table(&name, &[]).await?;
                dropped.push(name);
            }
        }
        Ok(dropped)
    }

    /// Whether the vectors have an approximate index.
    pub async fn has_index(&self) -> Result<bool, StoreError> {
        Ok(self.trained_rows().await?.is_some())
    }

    /// The rows the vector index was trained on, if there is one (an index of an older
    /// version, unnamed, counts as trained on the threshold).
    pub async fn trained_rows(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .table
            .list_indices()
            .await?
            .iter()
            .find(|i| i.columns.iter().any(|c| c == "vector"))
            .map(|i| {
                i.name
                    .strip_prefix(INDEX_PREFIX)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(INDEX_MIN_ROWS)
            }))
    }

    /// Builds (or rebuilds) the IVF-PQ index on the vectors, whatever the row count.
    pub async fn build_index(&self) -> Result<(), StoreError> {
        let rows = self.table.count_rows(None).await? as u64;
        // IVF needs a few hundred rows per partition to train on; PQ codes of 8 bytes per
        // 16 dimensions.
        let partitions = ((rows as f64).sqrt() as u32).clamp(1, 4096);
        let sub_vectors = u32::try_from(self.dimension / 16).unwrap_or(1).max(1);
        let previous: Vec<String> = self
            .table
            .list_indices()
            .await?
            .into_iter()
            .filter(|i| i.columns.iter().any(|c| c == "vector"))
            .map(|i| i.name)
            .collect();
        // Searches in the meantime scan exhaustively: slower, never wrong.
        for name in &previous {
            self.table.drop_index(name).await?;
        }
        self.table
            .create_index(
                &["vector"],
                Index::IvfPq(
                    IvfPqIndexBuilder::default()
                        .distance_type(DistanceType::Cosine)
                        .num_partitions(partitions)
                        .num_sub_vectors(sub_vectors),
                ),
            )
            .name(format!("{INDEX_PREFIX}{rows}"))
            .replace(true)
            .execute()
            .await?;
        self.indexed.store(true, Ordering::Relaxed);
        tracing::info!(rows, partitions, "vector index trained");
        Ok(())
    }

    /// The nearest vectors by an exhaustive scan, whatever index the table has: the measure
    /// of the index's recall.
    pub async fn search_exact(
        &self,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(ChunkId, VectorDistance)>, StoreError> {
        self.search_with(vector, limit, None, false).await
    }

    fn batch(&self, rows: VectorRows) -> Result<Option<RecordBatch>, StoreError> {
        let mut ids = Vec::new();
        let mut docs = Vec::new();
        let mut values = Vec::new();
        for (doc, items) in rows {
            for (id, vector) in items {
                if vector.len() != self.dimension {
                    return Err(StoreError::Dimension {
                        got: vector.len(),
                        want: self.dimension,
                    });
                }
                ids.push(id.0);
                docs.push(doc.0);
                values.push(Some(vector.into_iter().map(Some).collect::<Vec<_>>()));
            }
        }
        if ids.is_empty() {
            return Ok(None);
        }
        let dim = i32::try_from(self.dimension).unwrap_or(i32::MAX);
        let vectors = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(values, dim);
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(Int64Array::from(docs)),
                Arc::new(vectors),
            ],
        )?;
        Ok(Some(batch))
    }

    async fn delete_where_documents(&self, ids: &[DocumentId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = ids.iter().map(|d| d.0.to_string()).collect();
        self.table
            .delete(format!("document_id IN ({})", list.join(", ")).as_str())
            .await?;
        Ok(())
    }

    async fn add_rows(&self, rows: VectorRows) -> Result<(), StoreError> {
        if let Some(batch) = self.batch(rows)? {
            self.table.add(batch).execute().await?;
        }
        Ok(())
    }

    async fn search_rows(
        &self,
        vector: &[f32],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Result<Vec<(ChunkId, VectorDistance)>, StoreError> {
        let indexed = self.indexed.load(Ordering::Relaxed);
        self.search_with(vector, limit, documents, indexed).await
    }

    async fn search_with(
        &self,
        vector: &[f32],
        limit: usize,
        documents: Option<&[DocumentId]>,
        use_index: bool,
    ) -> Result<Vec<(ChunkId, VectorDistance)>, StoreError> {
        let mut query = self
            .table
            .query()
            .nearest_to(vector)?
            .distance_type(DistanceType::Cosine)
            .select(Select::columns(&["chunk_id", "_distance"]))
            .limit(limit.max(1));
        if use_index {
            query = query.nprobes(NPROBES)?.refine_factor(REFINE_FACTOR);
        } else {
            query = query.bypass_vector_index();
        }
        if let Some(ids) = documents {
            let list: Vec<String> = ids.iter().map(|d| d.0.to_string()).collect();
            if list.is_empty() {
                return Ok(Vec::new());
            }
            query = query.only_if(format!("document_id IN ({})", list.join(", ")));
        }
        let batches: Vec<RecordBatch> = query.execute().await?.try_collect().await?;
        let mut out = Vec::new();
        for batch in batches {
            let ids = batch
                .column_by_name("chunk_id")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>());
            let distances = batch
                .column_by_name("_distance")
                .and_then(|c| c.as_any().downcast_ref::<Float32Array>());
            let (Some(ids), Some(distances)) = (ids, distances) else {
                return Err(StoreError::Malformed(
                    "vector search returned no ids or distances".into(),
                ));
            };
            for i in 0..batch.num_rows() {
                if ids.is_valid(i) {
                    out.push((
                        ChunkId(ids.value(i).to_string()),
                        VectorDistance(distances.value(i)),
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn optimize_table(&self) -> Result<(), StoreError> {
        self.table
            .optimize(OptimizeAction::Compact {
                options: CompactionOptions::default(),
                remap_options: None,
            })
            .await?;
        let rows = self.table.count_rows(None).await? as u64;
        match self.trained_rows().await? {
            // Trained on a table a fraction of this size: train again for this one.
            Some(trained) if rows >= trained.saturating_mul(RETRAIN_GROWTH) => {
                self.build_index().await?
            }
            // Rows added since the index was built are searched exhaustively until folded in.
            Some(_) => {
                self.table
                    .optimize(OptimizeAction::Index(OptimizeOptions::default()))
                    .await?;
            }
            None if rows >= INDEX_MIN_ROWS => self.build_index().await?,
            None => {}
        }
        // Cairn is the only writer of its data folder, so unverified files are safe to drop.
        self.table
            .optimize(OptimizeAction::Prune {
                older_than: Some(Duration::zero()),
                delete_unverified: Some(true),
                error_if_tagged_old_versions: None,
            })
            .await?;
        Ok(())
    }

    async fn all_ids(&self) -> Result<Vec<(ChunkId, DocumentId)>, StoreError> {
        let batches: Vec<RecordBatch> = self
            .table
            .query()
            .select(Select::columns(&["chunk_id", "document_id"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        let mut out = Vec::new();
        for batch in batches {
            let ids = batch
                .column_by_name("chunk_id")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>());
            let docs = batch
                .column_by_name("document_id")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>());
            let (Some(ids), Some(docs)) = (ids, docs) else {
                return Err(StoreError::Malformed(
                    "the vector table has no chunk or document ids".into(),
                ));
            };
            for i in 0..batch.num_rows() {
                out.push((ChunkId(ids.value(i).to_string()), DocumentId(docs.value(i))));
            }
        }
        Ok(out)
    }

    /// Versions the table keeps on disk (for tests of compaction).
    pub async fn version_count(&self) -> Result<usize, StoreError> {
        Ok(self.table.list_versions().await?.len())
    }
}

#[async_trait]
impl VectorIndex for LanceVectors {
    async fn replace_documents(&self, rows: VectorRows) -> PortResult<()> {
        let ids: Vec<DocumentId> = rows.iter().map(|(d, _)| *d).collect();
        self.delete_where_documents(&ids).await?;
        Ok(self.add_rows(rows).await?)
    }

    async fn add(&self, rows: VectorRows) -> PortResult<()> {
        Ok(self.add_rows(rows).await?)
    }

    async fn delete_document(&self, id: DocumentId) -> PortResult<()> {
        Ok(self.delete_where_documents(&[id]).await?)
    }

    async fn clear(&self) -> PortResult<()> {
        self.table.delete("true").await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> PortResult<Vec<(ChunkId, VectorDistance)>> {
        Ok(self.search_rows(vector, limit, documents).await?)
    }

    async fn optimize(&self) -> PortResult<()> {
        Ok(self.optimize_table().await?)
    }

    async fn count(&self) -> PortResult<u64> {
        let n = self
            .table
            .count_rows(None)
            .await
            .map_err(StoreError::from)?;
        Ok(n as u64)
    }

    async fn chunk_ids(&self) -> PortResult<Vec<(ChunkId, DocumentId)>> {
        Ok(self.all_ids().await?)
    }
}
