//! The real stores in temporary folders: SQLite with the real migrations, Tantivy, LanceDB.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::ports::{Catalog, NewDocument, TextIndex, VectorIndex};
use cairn_core::{
    Chunk, ChunkId, ContentHash, DocumentId, DocumentKind, DocumentState, ErrorCode,
    ExtractedDocument, Failure,
};
use cairn_store::{LanceVectors, SqliteCatalog, Stores, TantivyIndex};

fn chunk(doc: i64, ordinal: u32, text: &str) -> Chunk {
    Chunk {
        id: ChunkId::derive(DocumentId(doc), &[], text, 0),
        document_id: DocumentId(doc),
        ordinal,
        text: text.to_string(),
        start: 0,
        end: text.len(),
        page_start: Some(ordinal + 1),
        page_end: Some(ordinal + 1),
        page_unit: Default::default(),
        heading_path: vec!["Heading".into()],
        token_count: 3,
    }
}

fn extracted(text: &str) -> ExtractedDocument {
    ExtractedDocument::plain(DocumentKind::Pdf, Some("T".into()), text)
}

fn new_doc(path: &str) -> NewDocument {
    NewDocument {
        path: path.into(),
        content_hash: ContentHash("h1".into()),
        size_bytes: 10,
        mtime_ms: 5,
    }
}

#[tokio::test]
async fn catalog_moves_documents_through_their_states() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(&dir.path().join("c.sqlite"))
        .await
        .unwrap();
    let id = catalog.begin_document(&new_doc("/a.pdf")).await.unwrap();
    assert_eq!(
        catalog.document(id).await.unwrap().unwrap().state,
        DocumentState::Queued
    );

    let chunks = vec![chunk(id.0, 0, "alpha"), chunk(id.0, 1, "beta")];
    let vectors = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    catalog
        .store_extracted(id, &extracted("alpha beta"), &chunks, &vectors, "m")
        .await
        .unwrap();
    let doc = catalog.document(id).await.unwrap().unwrap();
    assert_eq!((doc.state, doc.chunk_count), (DocumentState::Extracted, 2));
    catalog.mark_indexed(&[id]).await.unwrap();
    assert_eq!(
        catalog.document(id).await.unwrap().unwrap().state,
        DocumentState::Indexed
    );

    // Embeddings are kept per model and round-trip exactly.
    let ids: Vec<ChunkId> = chunks.iter().map(|c| c.id.clone()).collect();
    let stored = catalog.embeddings(&ids, "m").await.unwrap();
    assert_eq!(stored.get(&ids[1]), Some(&vec![0.0, 1.0]));
    assert!(catalog.embeddings(&ids, "other").await.unwrap().is_empty());
    assert_eq!(catalog.chunks(&ids).await.unwrap().len(), 2);
    assert_eq!(
        catalog.extracted(id).await.unwrap().unwrap().text,
        "alpha beta"
    );

    // Re-ingesting the same path keeps the id; a failure drops the chunks.
    let again = catalog.begin_document(&new_doc("/a.pdf")).await.unwrap();
    assert_eq!(again, id);
    let failure = Failure::new(ErrorCode::Encrypted, "the PDF is protected by a password");
    catalog.mark_failed(id, &failure).await.unwrap();
    let doc = catalog.document_by_path("/a.pdf").await.unwrap().unwrap();
    assert_eq!(doc.state, DocumentState::Failed);
    assert_eq!(doc.failure, Some(failure));
    assert_eq!(doc.chunk_count, 0);

    catalog.remove_document(id).await.unwrap();
    assert!(catalog.documents().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_checkpoint_folds_the_log_into_the_catalog_file_while_it_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let catalog = SqliteCatalog::open(&path).await.unwrap();
    let id = catalog.begin_document(&new_doc("/a.pdf")).await.unwrap();
    let chunks: Vec<Chunk> = (0..50)
        .map(|i| chunk(id.0, i, &format!("words of passage {i}")))
        .collect();
    let vectors = vec![vec![0.5; 384]; chunks.len()];
    catalog
        .store_extracted(id, &extracted("some words"), &chunks, &vectors, "m")
        .await
        .unwrap();
    let log = path.with_extension("sqlite-wal");
    let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
    assert!(size() > 0, "the commit went to the write-ahead log");
    catalog.checkpoint().await.unwrap();
    assert_eq!(size(), 0);
    drop(catalog);
    // What was in the log is in the file: the catalog reopens with it.
    let reopened = SqliteCatalog::open(&path).await.unwrap();
    assert_eq!(
        reopened.document(id).await.unwrap().unwrap().chunk_count,
        50
    );
}

#[tokio::test]
async fn full_text_search_stems_english_and_german_and_finds_cjk() {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    let en = chunk(1, 0, "The researchers were running experiments on mice.");
    let de = chunk(
        2,
        0,
        "Die Häuser der Stadt wurden im letzten Jahrhundert gebaut und renoviert.",
    );
    let zh = chunk(3, 0, "东京大学是日本最好的大学之一。");
    index
        .replace_document(DocumentId(1), "", std::slice::from_ref(&en))
        .await
        .unwrap();
    index
        .replace_document(DocumentId(2), "", std::slice::from_ref(&de))
        .await
        .unwrap();
    index
        .replace_document(DocumentId(3), "", std::slice::from_ref(&zh))
        .await
        .unwrap();
    index.commit().await.unwrap();
    assert_eq!(index.count().await.unwrap(), 3);

    let top = |hits: Vec<(ChunkId, cairn_core::Bm25Score)>| hits.first().map(|h| h.0.clone());
    assert_eq!(
        top(index.search("experiment run", 5, None).await.unwrap()),
        Some(en.id.clone())
    );
    assert_eq!(
        top(index.search("Haus Städte", 5, None).await.unwrap()),
        Some(de.id.clone())
    );
    assert_eq!(
        top(index.search("大学", 5, None).await.unwrap()),
        Some(zh.id.clone())
    );
    // Query syntax in a question is read as words.
    assert_eq!(
        top(index
            .search("what: \"mice\" (running)?", 5, None)
            .await
            .unwrap()),
        Some(en.id.clone())
    );
    // A document filter excludes the others.
    assert!(index
        .search("experiment", 5, Some(&[DocumentId(2)]))
        .await
        .unwrap()
        .is_empty());

    index.delete_document(DocumentId(1)).await.unwrap();
    index.commit().await.unwrap();
    assert!(index
        .search("experiment", 5, None)
        .await
        .unwrap()
        .is_empty());
    index.clear().await.unwrap();
    assert_eq!(index.count().await.unwrap(), 0);
}

#[tokio::test]
async fn vectors_are_replaced_per_document_filtered_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = LanceVectors::open(dir.path(), "m", 3).await.unwrap().0;
    let row = |s: &str, v: [f32; 3]| (ChunkId(s.into()), v.to_vec());
    for round in 0..5 {
        vectors
            .replace_documents(vec![
                (
                    DocumentId(1),
                    vec![row("a", [1.0, 0.0, 0.0]), row("b", [0.0, 1.0, 0.0])],
                ),
                (
                    DocumentId(2),
                    vec![row(&format!("c{round}"), [0.0, 0.0, 1.0])],
                ),
            ])
            .await
            .unwrap();
    }
    // Replacing never duplicates.
    assert_eq!(vectors.count().await.unwrap(), 3);
    let hits = vectors.search(&[0.9, 0.1, 0.0], 10, None).await.unwrap();
    assert_eq!(hits[0].0, ChunkId("a".into()));
    assert!(hits[0].1 .0 < hits[1].1 .0, "nearest first");
    let only_two = vectors
        .search(&[1.0, 0.0, 0.0], 10, Some(&[DocumentId(2)]))
        .await
        .unwrap();
    assert_eq!(only_two.len(), 1);
    assert_eq!(only_two[0].0, ChunkId("c4".into()));

    let before = vectors.version_count().await.unwrap();
    vectors.optimize().await.unwrap();
    let after = vectors.version_count().await.unwrap();
    assert!(after < before, "old versions pruned: {before} -> {after}");
    assert_eq!(vectors.count().await.unwrap(), 3);

    vectors.delete_document(DocumentId(1)).await.unwrap();
    assert_eq!(vectors.count().await.unwrap(), 1);
    // A vector of the wrong size is refused, not stored.
    let wrong = vectors
        .add(vec![(
            DocumentId(3),
            vec![(ChunkId("x".into()), vec![1.0])],
        )])
        .await;
    assert!(wrong.is_err());
}

#[tokio::test]
async fn years_match_across_fy2018_2018_and_fiscal_2018() {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    let fy = chunk(1, 0, "Operating margin improved in FY2018 on lower costs.");
    let plain = chunk(
        2,
        0,
        "Operating margin for the fiscal year 2017 fell on higher costs.",
    );
    let other = chunk(
        3,
        0,
        "The committee met in March to discuss the office move.",
    );
    for c in [&fy, &plain, &other] {
        index
            .replace_document(c.document_id, "", std::slice::from_ref(c))
            .await
            .unwrap();
    }
    index.commit().await.unwrap();
    let top = |hits: Vec<(ChunkId, cairn_core::Bm25Score)>| hits.first().map(|h| h.0.clone());
    for query in ["operating margin 2018", "fiscal 2018 margin", "FY2018"] {
        assert_eq!(
            top(index.search(query, 5, None).await.unwrap()),
            Some(fy.id.clone()),
            "{query}"
        );
    }
    // And the other way round: "FY2017" finds the passage that says "fiscal year 2017".
    assert_eq!(
        top(index.search("FY2017 margin", 5, None).await.unwrap()),
        Some(plain.id.clone())
    );
}

#[tokio::test]
async fn a_question_that_names_a_company_finds_its_filing_where_the_passage_does_not_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    // Two filings alike: the rows with the figures never say whose they are.
    let row = "Total net revenue 2018 2017 Purchases of property, plant and equipment";
    let acme = chunk(1, 3, &format!("{row} 1,204 1,150"));
    let globex = chunk(2, 3, &format!("{row} 8,770 8,312"));
    let names = [
        (&acme, "Acme 2018 10K\nACME CORPORATION\nACM"),
        (&globex, "globex annual report 2018\nGlobex Inc.\nGBX"),
    ];
    for (c, names) in names {
        index
            .replace_document(c.document_id, names, std::slice::from_ref(c))
            .await
            .unwrap();
    }
    index.commit().await.unwrap();
    let top = |hits: Vec<(ChunkId, cairn_core::Bm25Score)>| hits.first().map(|h| h.0.clone());
    for (query, expected) in [
        ("What was Globex's total net revenue in 2018?", &globex),
        (
            "ACM purchases of property, plant and equipment FY2018",
            &acme,
        ),
        ("Acme Corporation revenue", &acme),
        ("GBX revenue", &globex),
    ] {
        assert_eq!(
            top(index.search(query, 5, None).await.unwrap()),
            Some(expected.id.clone()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_full_text_index_made_by_an_older_cairn_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    drop(Stores::open(dir.path(), "model-a", 2).await.unwrap());
    // An index from before number parts has no version file.
    let marker = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find_map(|p| {
            let m = p.join("cairn-text-version");
            m.exists().then_some(m)
        })
        .expect("the full-text index says how its text is made");
    std::fs::remove_file(&marker).unwrap();
    let stores = Stores::open(dir.path(), "model-a", 2).await.unwrap();
    assert!(
        stores.recreated.iter().any(|n| n.contains("FY2018")),
        "{:?}",
        stores.recreated
    );
    assert!(marker.exists());
    drop(stores);
    let again = Stores::open(dir.path(), "model-a", 2).await.unwrap();
    assert!(again.recreated.is_empty(), "{:?}", again.recreated);
}

#[tokio::test]
async fn stores_reopen_with_their_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let stores = Stores::open(dir.path(), "model-a", 2).await.unwrap();
        let id = stores
            .catalog
            .begin_document(&new_doc("/x.md"))
            .await
            .unwrap();
        let words = chunk(id.0, 0, "persistent words");
        stores
            .catalog
            .store_extracted(
                id,
                &extracted("persistent words"),
                std::slice::from_ref(&words),
                &[vec![0.6, 0.8]],
                "model-a",
            )
            .await
            .unwrap();
        stores
            .text
            .replace_document(id, "", &[words])
            .await
            .unwrap();
        stores.text.commit().await.unwrap();
        stores
            .vectors
            .add(vec![(id, vec![(ChunkId("k".into()), vec![0.6, 0.8])])])
            .await
            .unwrap();
    }
    let stores = Stores::open(dir.path(), "model-a", 2).await.unwrap();
    assert!(stores.recreated.is_empty(), "{:?}", stores.recreated);
    assert_eq!(stores.catalog.documents().await.unwrap().len(), 1);
    assert_eq!(
        stores
            .text
            .search("persistent", 3, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(stores.vectors.count().await.unwrap(), 1);
    // The same model at another dimension (a table that cannot be this model's), and another
    // model, each start an empty vector table, said to be rebuilt from the catalog.
    drop(stores);
    let reshaped = Stores::open(dir.path(), "model-a", 4).await.unwrap();
    assert_eq!(reshaped.vectors.count().await.unwrap(), 0);
    drop(reshaped);
    let other = Stores::open(dir.path(), "model-b", 2).await.unwrap();
    assert_eq!(other.vectors.count().await.unwrap(), 0);
    assert!(
        other
            .recreated
            .iter()
            .any(|n| n.contains("model-b") && n.contains("another embedder")),
        "{:?}",
        other.recreated
    );
}

/// A deterministic pseudo-random unit vector.
fn unit_vector(seed: u64, dimension: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..dimension)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

#[tokio::test]
async fn an_ivf_pq_index_finds_the_nearest_vectors_and_takes_in_later_rows() {
    let dir = tempfile::tempdir().unwrap();
    let dimension = 32;
    let rows = |range: std::ops::Range<u64>| -> cairn_core::ports::VectorRows {
        range
            .map(|i| {
                (
                    DocumentId(i as i64),
                    vec![(ChunkId(format!("c{i}")), unit_vector(i, dimension))],
                )
            })
            .collect()
    };
    let vectors = LanceVectors::open(dir.path(), "m", dimension)
        .await
        .unwrap()
        .0;
    vectors.add(rows(0..3000)).await.unwrap();
    assert!(!vectors.has_index().await.unwrap());
    // Below INDEX_MIN_ROWS, optimising compacts without indexing.
    vectors.optimize().await.unwrap();
    assert!(!vectors.has_index().await.unwrap());

    vectors.build_index().await.unwrap();
    assert!(vectors.has_index().await.unwrap());
    for i in [0u64, 1234, 2999] {
        let hits = vectors
            .search(&unit_vector(i, dimension), 5, None)
            .await
            .unwrap();
        assert_eq!(hits[0].0, ChunkId(format!("c{i}")), "{hits:?}");
        assert!(
            hits[0].1 .0.abs() < 1e-3,
            "re-ranked with the full vector: {hits:?}"
        );
    }

    // Rows written after the index are found at once, and again once optimise folds them in.
    vectors.add(rows(3000..3100)).await.unwrap();
    let probe = unit_vector(3050, dimension);
    assert_eq!(
        vectors.search(&probe, 1, None).await.unwrap()[0].0,
        ChunkId("c3050".into())
    );
    vectors.optimize().await.unwrap();
    assert!(vectors.has_index().await.unwrap());
    assert_eq!(vectors.count().await.unwrap(), 3100);
    drop(vectors);
    let reopened = LanceVectors::open(dir.path(), "m", dimension)
        .await
        .unwrap()
        .0;
    assert!(reopened.has_index().await.unwrap());
    assert_eq!(
        reopened.search(&probe, 1, None).await.unwrap()[0].0,
        ChunkId("c3050".into())
    );

    // Folding in keeps the partitions trained on 3,000 rows; once the table holds
    // RETRAIN_GROWTH times that, optimising trains the index again for its size.
    assert_eq!(reopened.trained_rows().await.unwrap(), Some(3000));
    reopened.add(rows(3100..8000)).await.unwrap();
    reopened.optimize().await.unwrap();
    assert_eq!(reopened.trained_rows().await.unwrap(), Some(3000));
    reopened.add(rows(8000..12_000)).await.unwrap();
    reopened.optimize().await.unwrap();
    assert_eq!(reopened.trained_rows().await.unwrap(), Some(12_000));
    let probe = unit_vector(11_111, dimension);
    assert_eq!(
        reopened.search(&probe, 1, None).await.unwrap()[0].0,
        ChunkId("c11111".into())
    );
    assert_eq!(
        reopened.search_exact(&probe, 1).await.unwrap()[0].0,
        ChunkId("c11111".into())
    );
}
