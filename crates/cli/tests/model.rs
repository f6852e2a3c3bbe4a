//! Random sequences of adds, edits, renames, deletions and re-indexes in a synchronised
//! folder, checked after every step against a simple model of what should be indexed; and
//! searches running while an ingest writes. The engine runs on the real extraction worker,
//! SQLite, Tantivy, LanceDB and the real default embedder (multilingual-e5-small).

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cairn_core::engine::{EngineConfig, Ports, SwitchProgress, VectorSide, EMBEDDER_SETTING};
use cairn_core::ingest::{IngestEvent, IngestReport};
use cairn_core::ports::{Catalog, Embedder, NewDocument};
use cairn_core::{ContentHash, DocumentState, Engine, SearchMode, SearchRequest};
use cairn_extract::{IsolatedExtractor, Limits, WorkerCommand};
use cairn_models::{EmbedderOptions, OnnxEmbedder};
use cairn_store::Stores;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn embedder() -> OnnxEmbedder {
    static EMBEDDER: OnceLock<OnnxEmbedder> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let options = EmbedderOptions {
                runtime: support::onnxruntime(),
                ..EmbedderOptions::default()
            };
            OnnxEmbedder::load(&support::embedder(), &options).unwrap()
        })
        .clone()
}

async fn engine(data: &Path) -> Engine {
    engine_and_catalog(data).await.0
}

/// The engine and, for tests that play a step of a write by hand, its catalog.
async fn engine_and_catalog(data: &Path) -> (Engine, Arc<dyn Catalog>) {
    engine_with(data, Arc::new(embedder()), |c| c).await
}

/// The engine on `embedder`, with its config changed by `tune`.
async fn engine_with(
    data: &Path,
    embedder: Arc<dyn Embedder>,
    tune: impl FnOnce(EngineConfig) -> EngineConfig,
) -> (Engine, Arc<dyn Catalog>) {
    let stores = Stores::open(data, embedder.model_id(), embedder.dimension())
        .await
        .unwrap();
    let worker = WorkerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_cairn")),
        args: vec!["extract-worker".into()],
    };
    let config = tune(EngineConfig::for_embedder(embedder.as_ref()));
    let catalog: Arc<dyn Catalog> = stores.catalog.clone();
    let engine = Engine::new(
        Ports {
            extractor: Arc::new(IsolatedExtractor::new(worker, Limits::default())),
            catalog: stores.catalog,
            text: stores.text,
            vectors: stores.vectors,
            embedder,
        },
        config,
    );
    (engine, catalog)
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8),
    /// Adds a sentence to one paragraph of a file.
    Edit(usize, usize),
    Rename(usize),
    Delete(usize),
    Reindex,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Add),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(f, p)| Op::Edit(f, p)),
        2 => any::<usize>().prop_map(Op::Rename),
        2 => any::<usize>().prop_map(Op::Delete),
        1 => Just(Op::Reindex),
    ]
}

/// What the folder holds: file name → (its unique word, its paragraphs).
#[derive(Default)]
struct Model {
    files: BTreeMap<String, (String, Vec<String>)>,
    next: usize,
}

const WORDS: [&str; 8] = [
    "river", "granite", "lantern", "orchard", "compass", "meadow", "harbour", "ember",
];

impl Model {
    fn text(&self, name: &str) -> String {
        self.files[name].1.join("\n\n")
    }

    fn nth(&self, i: usize) -> Option<String> {
        let n = self.files.len();
        (n > 0).then(|| self.files.keys().nth(i % n).cloned().unwrap_or_default())
    }
}

/// An ingest of `folder` running on its own task, for tests that search meanwhile.
fn ingest_in_background(
    engine: &Arc<Engine>,
    folder: &Path,
) -> tokio::task::JoinHandle<IngestReport> {
    let (engine, folder) = (engine.clone(), folder.to_path_buf());
    tokio::spawn(async move {
        engine
            .ingest(&[folder], &|_: &IngestEvent| {})
            .await
            .unwrap()
    })
}

async fn apply(engine: &Engine, root: &Path, model: &mut Model, op: &Op) -> Option<IngestReport> {
    let path = |name: &str| root.join(name);
    let mut rename = false;
    match op {
        Op::Add(seed) => {
            model.next += 1;
            let name = format!("f{}.md", model.next);
            let unique = format!("zq{}x", model.next);
            let paragraphs = (0..1 + usize::from(*seed % 4))
                .map(|p| {
                    format!(
                        "Paragraph {p} of {unique} tells of the {} and the {}.",
                        WORDS[(usize::from(*seed) + p) % 8],
                        WORDS[p % 8]
                    )
                })
                .collect();
            model.files.insert(name.clone(), (unique, paragraphs));
            std::fs::write(path(&name), model.text(&name)).unwrap();
        }
        Op::Edit(f, p) => {
            let name = model.nth(*f)?;
            let paragraphs = &mut model.files.get_mut(&name)?.1;
            let at = p % paragraphs.len();
            paragraphs[at].push_str(" A heron waded through the shallows.");
            std::fs::write(path(&name), model.text(&name)).unwrap();
        }
        Op::Rename(f) => {
            let name = model.nth(*f)?;
            model.next += 1;
            let to = format!("f{}.md", model.next);
            let entry = model.files.remove(&name)?;
            model.files.insert(to.clone(), entry);
            std::fs::rename(path(&name), path(&to)).unwrap();
            rename = true;
        }
        Op::Delete(f) => {
            let name = model.nth(*f)?;
            model.files.remove(&name);
            std::fs::remove_file(path(&name)).unwrap();
        }
        Op::Reindex => {
            engine.reindex().await.unwrap();
            return None;
        }
    }
    let report = engine
        .sync(&[root.to_path_buf()], &|_: &IngestEvent| {})
        .await
        .unwrap();
    if rename {
        assert_eq!(report.renamed.len(), 1, "{report:?}");
        assert_eq!(report.embedded, 0, "a rename re-embedded: {report:?}");
    }
    Some(report)
}

async fn check(engine: &Engine, root: &Path, model: &Model, after: &Op) {
    let docs = engine.documents().await.unwrap();
    let indexed: Vec<String> = docs
        .iter()
        .filter(|d| d.state == DocumentState::Indexed)
        .map(|d| d.path.clone())
        .collect();
    let expected: Vec<String> = model
        .files
        .keys()
        .map(|n| root.join(n).to_string_lossy().into_owned())
        .collect();
    let mut sorted = indexed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "after {after:?}");
    assert_eq!(docs.len(), expected.len(), "after {after:?}: {docs:?}");
    let health = engine.check().await.unwrap();
    assert!(health.healthy(), "after {after:?}: {health:?}");
    for (name, (unique, _)) in &model.files {
        let hits = engine
            .search(&SearchRequest {
                query: unique.clone(),
                limit: 3,
                mode: SearchMode::Bm25,
                documents: None,
            })
            .await
            .unwrap();
        assert!(
            hits.iter()
                .any(|h| h.document_path.ends_with(name.as_str())),
            "after {after:?}: {unique} does not find {name}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_folder_changes_keep_the_three_stores_in_step_with_the_folder(
        ops in proptest::collection::vec(op(), 1..9)
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let root = tempfile::tempdir().unwrap();
            let data = tempfile::tempdir().unwrap();
            let engine = engine(data.path()).await;
            let mut model = Model::default();
            for op in &ops {
                apply(&engine, root.path(), &mut model, op).await;
                check(&engine, root.path(), &model, op).await;
            }
        });
    }
}

/// The real embedder, held at one call until the test lets it go: an ingest paused at a known
/// point, whatever the machine's speed.
struct GatedEmbedder {
    inner: OnnxEmbedder,
    /// Passage batches embedded before the gate closes.
    open_for: std::sync::atomic::AtomicUsize,
    /// Closes the gate at the batch after the one holding this text, when set.
    hold_after: Option<&'static str>,
    calls: std::sync::atomic::AtomicUsize,
    reached: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
}

impl GatedEmbedder {
    /// Held at passage batch `open_for` (from 0); `usize::MAX`: open until told otherwise.
    fn new(inner: OnnxEmbedder, open_for: usize) -> Arc<Self> {
        Self::build(inner, open_for, None)
    }

    /// Held at the passage batch after the one that holds `text`.
    fn after_text(inner: OnnxEmbedder, text: &'static str) -> Arc<Self> {
        Self::build(inner, usize::MAX, Some(text))
    }

    fn build(inner: OnnxEmbedder, open_for: usize, hold_after: Option<&'static str>) -> Arc<Self> {
        Arc::new(GatedEmbedder {
            inner,
            open_for: std::sync::atomic::AtomicUsize::new(open_for),
            hold_after,
            calls: std::sync::atomic::AtomicUsize::new(0),
            reached: tokio::sync::Notify::new(),
            release: tokio::sync::Semaphore::new(0),
        })
    }

    /// Waits (five minutes at most) until the gate holds a call.
    async fn held(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(300), self.reached.notified())
            .await
            .expect("the writer reached the gate");
    }
}

impl cairn_core::chunker::TokenCounter for GatedEmbedder {
    fn count(&self, text: &str) -> usize {
        self.inner.count(text)
    }
}

#[async_trait::async_trait]
impl Embedder for GatedEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    async fn embed(
        &self,
        texts: Vec<String>,
        kind: cairn_core::ports::EmbedKind,
    ) -> cairn_core::ports::PortResult<Vec<Vec<f32>>> {
        if kind == cairn_core::ports::EmbedKind::Passage {
            let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(marker) = self.hold_after {
                if texts.iter().any(|t| t.contains(marker)) {
                    self.open_for
                        .store(call + 1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            if call == self.open_for.load(std::sync::atomic::Ordering::SeqCst) {
                self.reached.notify_one();
                let _held = self.release.acquire().await;
            }
        }
        self.inner.embed(texts, kind).await
    }
}

#[test]
fn searches_while_an_ingest_writes_see_only_whole_documents() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let gated = GatedEmbedder::new(embedder(), usize::MAX);
        // A document is committed as soon as its passages are in: the pause below comes
        // after whole documents were written and before the last ones are.
        let (engine, _) = engine_with(data.path(), gated.clone(), |c| EngineConfig {
            commit_chunks: 1,
            embed_batch: 8,
            ..c
        })
        .await;
        let engine = Arc::new(engine);
        let source = support::shared_data().join("squad-dev/docs");
        let (first, rest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for (name, dir) in [
            ("Nikola_Tesla.md", &first),
            ("Warsaw.md", &rest),
            ("Normans.md", &rest),
        ] {
            let text = std::fs::read_to_string(source.join(name)).unwrap();
            let cut = text[..text.len().min(12_000)]
                .rfind("\n\n")
                .unwrap_or(text.len());
            std::fs::write(dir.path().join(name), &text[..cut]).unwrap();
        }
        let tesla = engine
            .ingest(&[first.path().to_path_buf()], &|_: &IngestEvent| {})
            .await
            .unwrap();
        assert_eq!(tesla.indexed.len(), 1, "{tesla:?}");
        // The next ingest is held at its second batch of passages: one batch of a document
        // is written, the rest of it is not.
        gated.open_for.store(
            gated.calls.load(std::sync::atomic::Ordering::SeqCst) + 1,
            std::sync::atomic::Ordering::SeqCst,
        );
        let writer = ingest_in_background(&engine, rest.path());
        gated.held().await;
        assert!(!writer.is_finished());
        // Searches run beside the held writer, and see whole documents only: every hit is of
        // a document the catalog holds as indexed.
        for question in [
            "Who did Tesla work for?",
            "Who were the Normans?",
            "Where is Warsaw?",
        ] {
            let hits = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                engine.search(&SearchRequest::hybrid(question, 50)),
            )
            .await
            .expect("a search is not held by the writer")
            .unwrap();
            assert!(!hits.is_empty(), "{question}");
            let docs = engine.documents().await.unwrap();
            for hit in &hits {
                let doc = docs
                    .iter()
                    .find(|d| d.id == hit.chunk.document_id)
                    .expect("a hit of a document the catalog knows");
                assert_eq!(doc.state, DocumentState::Indexed, "{question}: {doc:?}");
                assert!(hit.chunk.text.len() > 20);
                assert_eq!(hit.document_path, doc.path);
                assert!(doc.path.ends_with("Nikola_Tesla.md"), "{question}: {doc:?}");
            }
        }
        gated.release.add_permits(1);
        let report = writer.await.unwrap();
        assert_eq!(report.indexed.len(), 2);
        let hits = engine
            .search(&SearchRequest::hybrid("Who did Tesla work for?", 5))
            .await
            .unwrap();
        assert!(hits[0].document_path.ends_with("Nikola_Tesla.md"));
        assert!(engine.check().await.unwrap().healthy());
    });
}

/// What the desktop app's "Retry" and source panel rely on: `reread` reads a file again even
/// when its size and time say it is unchanged (reusing every embedding), and `passage` returns
/// a cited range with the text around it and its page.
#[test]
fn reread_retries_an_unchanged_file_and_passage_quotes_it_in_context() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let engine = engine(data.path()).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.md");
        let text = "# Fjords\n\nThe Sognefjord is the deepest fjord in Norway. It reaches 1,308 metres below sea level.\n";
        std::fs::write(&file, " ".repeat(text.len())).unwrap();
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        let root = [dir.path().to_path_buf()];
        let first = engine.ingest(&root, &|_: &IngestEvent| {}).await.unwrap();
        assert_eq!(first.failed.len(), 1, "{first:?}");
        // Same size, same time: a plain ingest cannot tell the file changed.
        std::fs::write(&file, text).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        // It is reported failed again with its stored reason, never passed over as unchanged.
        let again = engine.ingest(&root, &|_: &IngestEvent| {}).await.unwrap();
        assert!(again.unchanged.is_empty(), "{again:?}");
        assert_eq!(again.failed, first.failed, "{again:?}");
        let id = engine.documents().await.unwrap()[0].id;
        let stages = std::sync::Mutex::new(Vec::new());
        let observer = |e: &IngestEvent| {
            if let IngestEvent::Stage { stage, .. } = e {
                stages.lock().unwrap().push(*stage);
            }
        };
        let retried = engine.reread(id, &observer).await.unwrap();
        assert_eq!(retried.indexed.len(), 1, "{retried:?}");
        use cairn_core::ingest::Stage;
        assert_eq!(*stages.lock().unwrap(), vec![Stage::Extracting, Stage::Embedding]);
        let doc = engine.documents().await.unwrap().remove(0);
        assert_eq!(doc.state, DocumentState::Indexed);
        // Read again with nothing changed: every embedding is reused.
        let same = engine.reread(id, &|_: &IngestEvent| {}).await.unwrap();
        assert_eq!((same.indexed.len(), same.embedded), (1, 0), "{same:?}");

        // Offsets are those of the extracted text, as citations carry them.
        let hits = engine
            .search(&SearchRequest::hybrid("How deep is the Sognefjord?", 1))
            .await
            .unwrap();
        let chunk = &hits[0].chunk;
        let sentence = "It reaches 1,308 metres below sea level.";
        let start = chunk.start + chunk.text.find(sentence).unwrap();
        let end = start + sentence.len();
        let passage = engine.passage(id, start, end, 30).await.unwrap();
        assert_eq!(passage.quote, sentence);
        assert!(passage.before.ends_with("in Norway. "), "{passage:?}");
        assert!(passage.before.len() <= 30);
        assert_eq!(passage.page, None);
        let outside = engine.passage(id, start, end + 10_000, 30).await;
        assert_eq!(
            outside.map_err(|e| e.code()).err(),
            Some(cairn_core::ErrorCode::InvalidRequest)
        );
        assert!(engine.check().await.unwrap().healthy());
    });
}

/// A re-read killed after it queued the document leaves it `queued` under the new file's
/// fingerprint. When the repair cannot find the file (an unplugged drive), the indexed version
/// must stay searchable, not be forgotten, and the file is read again once it is back.
#[test]
fn repair_keeps_the_indexed_version_of_an_interrupted_reread_whose_file_is_missing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let (engine, catalog) = engine_and_catalog(data.path()).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fjords.md");
        std::fs::write(
            &file,
            "# Fjords\n\nThe Sognefjord is the deepest fjord in Norway, 1,308 metres deep.\n",
        )
        .unwrap();
        let root = [dir.path().to_path_buf()];
        let first = engine.ingest(&root, &|_: &IngestEvent| {}).await.unwrap();
        assert_eq!(first.indexed.len(), 1, "{first:?}");
        let doc = engine.documents().await.unwrap().remove(0);

        // The first step of a re-read, then the process dies.
        catalog
            .begin_document(&NewDocument {
                path: doc.path.clone(),
                content_hash: ContentHash("the edited file".into()),
                size_bytes: doc.size_bytes + 10,
                mtime_ms: doc.mtime_ms + 1000,
            })
            .await
            .unwrap();
        let away = tempfile::tempdir().unwrap();
        std::fs::rename(&file, away.path().join("fjords.md")).unwrap();

        let report = engine.repair(&|_: &IngestEvent| {}).await.unwrap();
        assert_eq!(report.kept, vec![doc.path.clone()], "{report:?}");
        assert!(report.abandoned.is_empty(), "{report:?}");
        let kept = engine.document(doc.id).await.unwrap();
        assert_eq!(kept.state, DocumentState::Indexed);
        assert_eq!(kept.chunk_count, doc.chunk_count);
        assert!(
            kept.failure.is_some(),
            "the missing file is recorded: {kept:?}"
        );
        let hits = engine
            .search(&SearchRequest::hybrid("deepest fjord in Norway", 1))
            .await
            .unwrap();
        assert_eq!(hits[0].chunk.document_id, doc.id);
        assert!(engine.check().await.unwrap().healthy());

        // The drive is back: the file is read again, not passed over as unchanged.
        std::fs::rename(away.path().join("fjords.md"), &file).unwrap();
        let again = engine.ingest(&root, &|_: &IngestEvent| {}).await.unwrap();
        assert_eq!(again.indexed.len(), 1, "{again:?}");
        let back = engine.document(doc.id).await.unwrap();
        assert_eq!((back.state, back.failure), (DocumentState::Indexed, None));
    });
}

/// The pipeline commits each document within seconds of embedding it: a small document read
/// first is found while a long one is still being embedded, before the ingest ends.
#[test]
fn a_document_is_searchable_before_the_ingest_it_belongs_to_has_finished() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let gated = GatedEmbedder::after_text(embedder(), "quokka");
        let (engine, _) = engine_with(data.path(), gated.clone(), |c| c).await;
        let engine = Arc::new(engine);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a-first.md"),
            "# Field notes\n\nA quokka was seen near the lighthouse at dawn.\n",
        )
        .unwrap();
        // Every SQuAD article, twice: many batches of passages.
        let mut long = String::new();
        for round in 0..2 {
            for entry in std::fs::read_dir(support::shared_data().join("squad-dev/docs")).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                long.push_str(&format!("\n\n# Round {round}\n\n{text}"));
            }
        }
        std::fs::write(dir.path().join("b-long.md"), long).unwrap();
        let ingest = ingest_in_background(&engine, dir.path());
        // The embedder is held at the batch after the one with the first document's passage:
        // that document is committed within the commit interval all the same.
        gated.held().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let hits = engine
                .search(&SearchRequest {
                    mode: SearchMode::Bm25,
                    ..SearchRequest::hybrid("quokka lighthouse", 3)
                })
                .await
                .unwrap();
            if hits.iter().any(|h| h.document_path.ends_with("a-first.md")) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the first document was not searchable within a minute while the ingest went on"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(!ingest.is_finished());
        gated.release.add_permits(1);
        let report = ingest.await.unwrap();
        assert_eq!(report.indexed.len(), 2, "{report:?}");
    });
}

/// Changing the embedder of a populated library: every chunk is embedded again with
/// all-MiniLM-L6-v2 while searches keep answering (with the default, multilingual-e5-small),
/// then searches switch to the new vectors, and every vector is the new model's.
#[test]
fn changing_the_embedder_keeps_searches_answering_and_ends_with_every_vector_from_the_new_model() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let (engine, catalog) = engine_and_catalog(data.path()).await;
        let engine = Arc::new(engine);
        let source = support::shared_data().join("squad-dev/docs");
        let dir = tempfile::tempdir().unwrap();
        for name in ["Nikola_Tesla.md", "Warsaw.md", "Normans.md"] {
            std::fs::copy(source.join(name), dir.path().join(name)).unwrap();
        }
        std::fs::copy(
            support::shared_data().join("german/meta-llama-3.1-offener-brief.txt"),
            dir.path().join("brief.txt"),
        )
        .unwrap();
        let first = engine
            .ingest(&[dir.path().to_path_buf()], &|_: &IngestEvent| {})
            .await
            .unwrap();
        assert_eq!(first.indexed.len(), 4, "{first:?}");
        let total: u64 = engine
            .documents()
            .await
            .unwrap()
            .iter()
            .map(|d| u64::from(d.chunk_count))
            .sum();
        let old_model = engine.side().embedder.model_id().to_string();

        let options = EmbedderOptions {
            runtime: support::onnxruntime(),
            ..EmbedderOptions::default()
        };
        // The new embedder is held at its second batch of passages: the switch is half done
        // while the searches below run, whatever the machine's speed.
        let other = GatedEmbedder::new(
            OnnxEmbedder::load(&support::other_embedder(), &options).unwrap(),
            1,
        );
        let new_model = other.model_id().to_string();
        let vectors = cairn_store::CatalogStores::open_vectors(data.path(), &new_model, 384)
            .await
            .unwrap();
        let next = VectorSide {
            embedder: other.clone(),
            vectors: Arc::new(vectors),
        };
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let switch = {
            let (engine, seen) = (engine.clone(), seen.clone());
            tokio::spawn(async move {
                let progress = |p: SwitchProgress| seen.lock().unwrap().push(p);
                engine.switch_embedder(next, &progress).await.unwrap()
            })
        };
        other.held().await;
        for _ in 0..3 {
            let hits = engine
                .search(&SearchRequest::hybrid("Who did Tesla work for?", 5))
                .await
                .unwrap();
            assert!(
                hits.iter()
                    .any(|h| h.document_path.ends_with("Nikola_Tesla.md")),
                "a search during the switch still answers"
            );
            assert_eq!(
                engine.side().embedder.model_id(),
                old_model,
                "searches use the old vectors until the new ones are all in"
            );
        }
        assert!(!switch.is_finished());
        other.release.add_permits(1);
        let report = switch.await.unwrap();
        assert_eq!(report.chunks as u64, total);
        assert_eq!(
            report.embedded as u64, total,
            "no vector of the new embedder was stored before"
        );
        let progress = seen.lock().unwrap().clone();
        assert!(
            progress.windows(2).all(|w| w[0].done <= w[1].done),
            "{progress:?}"
        );
        assert_eq!(
            progress.last().map(|p| (p.done, p.total)),
            Some((total, total))
        );

        // Searches use the new model and its table, which holds every chunk.
        let side = engine.side();
        assert_eq!(side.embedder.model_id(), new_model);
        assert_eq!(side.vectors.count().await.unwrap(), total);
        let stored = catalog.chunk_page(None, 100_000, &new_model).await.unwrap();
        assert_eq!(stored.len() as u64, total);
        assert!(stored
            .iter()
            .all(|(_, v)| v.as_ref().is_some_and(|v| v.len() == 384)));
        assert_eq!(
            catalog.setting(EMBEDDER_SETTING).await.unwrap().as_deref(),
            Some(new_model.as_str())
        );
        // The multilingual model finds the German letter for an English question, by vectors.
        let hits = engine
            .search(&SearchRequest {
                mode: SearchMode::Vector,
                ..SearchRequest::hybrid("Why does Meta release its AI models openly?", 3)
            })
            .await
            .unwrap();
        assert!(
            hits[0].document_path.ends_with("brief.txt"),
            "{:?}",
            hits[0].document_path
        );
        assert!(engine.check().await.unwrap().healthy());
    });
}
