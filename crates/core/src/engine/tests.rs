//! The engine's behaviour on the in-memory house (`crate::testing`): ingest and re-reads,
//! sync, the embedder switch, tuning, the relevance gate and its refusals, follow-ups and
//! cancellation, each in milliseconds. What needs the real stack (the binary, the lock, the
//! worker process, real models and servers) is tested in `crates/cli/tests`.

use crate::answer::{AskEvent, AskRequest, RefusalReason};
use crate::cancel::Cancel;
use crate::conversation::AnswerOutcome;
use crate::engine::VectorSide;
use crate::error::CoreError;
use crate::ingest::{IngestEvent, IngestReport};
use crate::ports::TextIndex;
use crate::retrieval::search::{SearchMode, SearchRequest};
use crate::testing::{House, MemoryVectors, WordEmbedder};
use crate::{DocumentId, DocumentState, Engine};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const FERRIES: &str = "# Ferries\n\nThe ferry from Bergen to Stavanger leaves the harbour \
    terminal every morning at seven. Tickets for the ferry are sold at the terminal kiosk \
    and on board. The crossing through the fjords takes about five hours.";
const BREAD: &str = "# Sourdough\n\nA sourdough bread needs a lively starter, flour, water \
    and salt. Knead the dough, then let it rise overnight in a cool kitchen before baking it \
    in a very hot oven with steam.";
const ORCHIDS: &str = "# Orchids\n\nOrchids grow best in bright, indirect light. Water the \
    orchid pots weekly, let the roots dry between waterings and repot the plants every two \
    years in fresh bark.";

/// The value of a step that must succeed; the test fails naming the step otherwise.
fn succeeds<T>(result: Result<T, CoreError>, step: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{step} failed: {e}"),
    }
}

fn library() -> House {
    let house = House::default();
    house.files.write("/library/ferries.md", FERRIES);
    house.files.write("/library/drive/sourdough.md", BREAD);
    house.files.write("/library/orchids.md", ORCHIDS);
    house
}

fn root() -> Vec<PathBuf> {
    vec![PathBuf::from("/library")]
}

async fn ingest(engine: &Engine) -> IngestReport {
    succeeds(
        engine.ingest(&root(), &|_: &IngestEvent| {}).await,
        "the ingest",
    )
}

async fn search(engine: &Engine, query: &str, mode: SearchMode) -> Vec<String> {
    let request = SearchRequest {
        query: query.to_string(),
        limit: 3,
        mode,
        documents: None,
    };
    let hits = succeeds(engine.search(&request).await, "the search");
    hits.into_iter().map(|h| h.document_path).collect()
}

async fn ask(house: &House, engine: &Engine, request: AskRequest) -> (AskEvent, Vec<AskEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let mut sink = move |e: AskEvent| seen.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    let last = succeeds(
        engine
            .ask(&house.answer_ports(), request, Cancel::never(), &mut sink)
            .await,
        "the answer",
    );
    let all = events.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (last, all)
}

async fn state_of(engine: &Engine, path: &str) -> Option<DocumentState> {
    let documents = engine.documents().await.unwrap_or_default();
    documents.iter().find(|d| d.path == path).map(|d| d.state)
}

#[tokio::test]
async fn an_ingested_folder_is_searchable_by_keywords_and_by_vectors() {
    let house = library();
    let engine = house.engine();
    let report = ingest(&engine).await;
    assert_eq!(report.indexed.len(), 3, "{report:?}");
    for mode in [SearchMode::Bm25, SearchMode::Vector, SearchMode::Hybrid] {
        let found = search(&engine, "ferry tickets Bergen terminal", mode).await;
        assert_eq!(
            found.first().map(String::as_str),
            Some("/library/ferries.md"),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_file_is_neither_read_nor_embedded_again() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let again = ingest(&engine).await;
    assert_eq!(again.unchanged.len(), 3, "{again:?}");
    assert!(again.indexed.is_empty());
    assert_eq!(again.embedded, 0);
}

#[tokio::test]
async fn a_failed_reread_keeps_the_indexed_version_searchable_and_says_why() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    house.files.corrupt("/library/orchids.md");
    let report = ingest(&engine).await;
    assert_eq!(report.kept.len(), 1, "{report:?}");
    let documents = engine.documents().await.unwrap_or_default();
    let orchids = documents.iter().find(|d| d.path == "/library/orchids.md");
    assert!(
        orchids.is_some_and(|d| d.state == DocumentState::Indexed && d.failure.is_some()),
        "{orchids:?}"
    );
    let found = search(&engine, "orchid roots bark", SearchMode::Bm25).await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("/library/orchids.md")
    );
}

#[tokio::test]
async fn sync_removes_a_document_whose_file_is_gone() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    house.files.remove("/library/orchids.md");
    let report = succeeds(engine.sync(&root(), &|_: &IngestEvent| {}).await, "sync");
    assert_eq!(report.removed, vec!["/library/orchids.md".to_string()]);
    assert_eq!(state_of(&engine, "/library/orchids.md").await, None);
    let found = search(&engine, "orchid roots bark", SearchMode::Bm25).await;
    assert!(
        !found.contains(&"/library/orchids.md".to_string()),
        "{found:?}"
    );
}

#[tokio::test]
async fn sync_keeps_the_documents_under_a_folder_it_cannot_read() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    house.files.set_unreadable("/library/drive", true);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let observer = move |e: &IngestEvent| {
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e.clone())
    };
    let report = succeeds(engine.sync(&root(), &observer).await, "sync");
    assert!(report.removed.is_empty(), "{report:?}");
    assert_eq!(report.unreadable_folders.len(), 1, "{report:?}");
    assert_eq!(
        state_of(&engine, "/library/drive/sourdough.md").await,
        Some(DocumentState::Indexed)
    );
    let kept = events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|e| matches!(e, IngestEvent::FolderUnreadable { kept: 1, .. }));
    assert!(
        kept,
        "the unreadable folder is reported with the document it keeps"
    );
}

#[tokio::test]
async fn switching_embedders_re_embeds_every_passage_and_searches_with_the_new_one() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let before = engine.side().embedder.model_id().to_string();
    let next = VectorSide {
        embedder: Arc::new(WordEmbedder::new("word-hash-64", 64)),
        vectors: Arc::new(MemoryVectors::default()),
    };
    let report = succeeds(engine.switch_embedder(next, &|_| {}).await, "the switch");
    assert_eq!(report.model, "word-hash-64");
    assert_ne!(report.model, before);
    assert_eq!(report.embedded, report.chunks);
    assert!(report.chunks >= 3, "{report:?}");
    let found = search(&engine, "sourdough starter flour", SearchMode::Vector).await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("/library/drive/sourdough.md")
    );
}

#[tokio::test]
async fn a_question_the_documents_do_not_answer_is_refused_without_asking_the_model() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    if let Err(e) = engine.tune_fusion().await {
        panic!("tuning failed: {e}");
    }
    let request = AskRequest::new("What is the boiling point of liquid nitrogen in kelvin?");
    let (last, _) = ask(&house, &engine, request).await;
    match last {
        AskEvent::Refused {
            reason,
            best_similarity,
            min_similarity,
            ..
        } => {
            assert_eq!(reason, RefusalReason::NotRelevant);
            assert!(
                best_similarity < min_similarity,
                "{best_similarity:?} {min_similarity:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(house.generator.calls(), 0, "the model was not asked");

    let request =
        AskRequest::new("When does the ferry from Bergen to Stavanger leave the terminal?");
    let (last, _) = ask(&house, &engine, request).await;
    assert!(
        matches!(
            last,
            AskEvent::Done {
                outcome: AnswerOutcome::Answered,
                ..
            }
        ),
        "{last:?}"
    );
    assert_eq!(house.generator.calls(), 1);
    let prompt = house.generator.asked().concat();
    assert!(
        prompt
            .iter()
            .any(|m| m.content.contains("leaves the harbour terminal")),
        "the answering passage is in the prompt"
    );
}

#[tokio::test]
async fn documents_a_question_is_limited_to_that_are_unknown_are_refused_as_such() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let mut request = AskRequest::new("When does the ferry leave?");
    request.documents = Some(vec![DocumentId(999)]);
    let (last, _) = ask(&house, &engine, request).await;
    assert!(
        matches!(
            last,
            AskEvent::Refused {
                reason: RefusalReason::UnknownDocuments,
                ..
            }
        ),
        "{last:?}"
    );
    assert_eq!(house.generator.calls(), 0);
}

#[tokio::test]
async fn an_empty_library_refuses_with_nothing_indexed() {
    let house = House::default();
    let engine = house.engine();
    let (last, _) = ask(
        &house,
        &engine,
        AskRequest::new("When does the ferry leave?"),
    )
    .await;
    assert!(
        matches!(
            last,
            AskEvent::Refused {
                reason: RefusalReason::NothingIndexed,
                ..
            }
        ),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_follow_up_in_the_same_chat_shows_the_model_the_earlier_turn() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    house.generator.answer_with("It leaves at seven [1].");
    let first = "When does the ferry from Bergen to Stavanger leave?";
    let (last, events) = ask(&house, &engine, AskRequest::new(first)).await;
    assert!(matches!(last, AskEvent::Done { .. }), "{last:?}");
    let chat = events.iter().find_map(|e| match e {
        AskEvent::Started { chat_id, .. } => Some(*chat_id),
        _ => None,
    });
    let mut follow_up = AskRequest::new("How long does the ferry crossing take?");
    follow_up.chat = chat;
    ask(&house, &engine, follow_up).await;
    let asked = house.generator.asked();
    assert_eq!(asked.len(), 2);
    assert!(
        asked[1].iter().any(|m| m.content.contains(first)),
        "the earlier question is in the follow-up's prompt"
    );
    assert!(asked[1]
        .iter()
        .any(|m| m.content.contains("It leaves at seven")));
}

#[tokio::test]
async fn a_cancelled_answer_is_kept_as_cancelled() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let (handle, cancel) = Cancel::pair();
    handle.cancel();
    let mut sink = |_: AskEvent| {};
    let last = engine
        .ask(
            &house.answer_ports(),
            AskRequest::new("When does the ferry from Bergen leave?"),
            cancel,
            &mut sink,
        )
        .await;
    match last {
        Ok(AskEvent::Done { outcome, .. }) => assert_eq!(outcome, AnswerOutcome::Cancelled),
        Ok(other) => panic!("expected a cancelled answer, got {other:?}"),
        Err(e) => panic!("the answer failed: {e}"),
    }
}

#[tokio::test]
async fn a_full_text_index_that_lost_its_chunks_is_found_drifted_and_rebuilt_by_repair() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let healthy = succeeds(engine.check().await, "check");
    assert!(healthy.consistent(), "{healthy:?}");

    // The index is derived: losing it loses nothing the catalog cannot give back.
    if let Err(e) = house.text.clear().await {
        panic!("clear failed: {e}");
    }
    assert!(search(&engine, "orchid roots bark", SearchMode::Bm25)
        .await
        .is_empty());
    let broken = succeeds(engine.check().await, "check");
    assert!(!broken.consistent(), "{broken:?}");

    let repaired = succeeds(engine.repair(&|_: &IngestEvent| {}).await, "repair");
    assert!(repaired.after.consistent(), "{repaired:?}");
    let found = search(&engine, "orchid roots bark", SearchMode::Bm25).await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("/library/orchids.md")
    );
}

#[tokio::test]
async fn a_library_tuned_once_keeps_its_fusion_and_gate_for_the_next_engine() {
    let house = library();
    let engine = house.engine();
    ingest(&engine).await;
    let tuned = succeeds(engine.tune_fusion().await, "tuning");
    let gate = match engine.gate().await {
        Ok(Some(g)) => g,
        other => panic!("no gate after tuning: {other:?}"),
    };
    assert!(gate.min_similarity > gate.background_median, "{gate:?}");

    // Another process opening the same library starts from what was tuned.
    let reopened = house.engine();
    let restored = match reopened.restore_fusion().await {
        Ok(Some(t)) => t,
        other => panic!("nothing restored: {other:?}"),
    };
    assert_eq!(restored, tuned);
    match reopened.gate().await {
        Ok(Some(g)) => assert_eq!(g, gate),
        other => panic!("no gate after restoring: {other:?}"),
    }
}
