use super::*;
use crate::chunk::Chunk;
use crate::ids::{ChunkId, FusedScore};
use crate::retrieval::search::SearchHit;

const DOC: &str =
    "Intro page.\nThe Harbour Bridge opened in 1932. It was designed by John Bradfield. \
Locals call it the Coathanger.\nAnother page about ferries. Ferries cross the harbour every day.";

/// A source cut from [`DOC`] at `start..end`, on document 7 with pages at each newline.
fn source(n: usize, start: usize, end: usize) -> Source {
    Source {
        n,
        tokens: 10,
        hit: SearchHit {
            chunk: Chunk {
                id: ChunkId(format!("c{n}")),
                document_id: DocumentId(7),
                ordinal: n as u32,
                text: DOC[start..end].to_string(),
                start,
                end,
                page_start: Some(1),
                page_end: Some(3),
                page_unit: Default::default(),
                heading_path: vec![],
                token_count: 10,
            },
            document_path: "/docs/sydney.pdf".into(),
            document_title: None,
            score: FusedScore(1.0),
            bm25: None,
            vector: None,
        },
    }
}

fn texts() -> HashMap<DocumentId, SourceText> {
    let mut pages = Vec::new();
    let mut start = 0;
    for (i, line) in DOC.split_inclusive('\n').enumerate() {
        pages.push(PageSpan {
            number: i as u32 + 1,
            start,
            end: start + line.len(),
        });
        start += line.len();
    }
    HashMap::from([(
        DocumentId(7),
        SourceText {
            text: DOC.to_string(),
            pages,
            furniture: Vec::new(),
        },
    )])
}

fn two_sources() -> Vec<Source> {
    let ferries = DOC.find("Another").unwrap_or(0);
    vec![source(1, 0, ferries), source(2, ferries, DOC.len())]
}

#[test]
fn markers_parse_in_their_common_shapes() {
    let found = markers("a [1] b [2, 3] c [Source 4] d [5-6] e [x] f [] g [1]");
    let numbers: Vec<Vec<usize>> = found.into_iter().map(|m| m.numbers).collect();
    assert_eq!(
        numbers,
        vec![vec![1], vec![2, 3], vec![4], vec![5, 6], vec![1]]
    );
}

#[test]
fn the_quote_is_the_sentence_that_supports_the_claim_and_is_verified() {
    let cited = cite(
        "The bridge was designed by John Bradfield [1]. Ferries cross daily [2].",
        "Who designed the bridge?",
        &two_sources(),
        &texts(),
    );
    assert_eq!(cited.citations.len(), 2);
    let first = &cited.citations[0];
    // The sentence naming the bridge comes along: "It" alone would not say what was designed.
    assert_eq!(
        first.quote,
        "The Harbour Bridge opened in 1932. It was designed by John Bradfield."
    );
    assert!(first.verified);
    assert_eq!(&DOC[first.quote_start..first.quote_end], first.quote);
    assert_eq!(first.page, Some(2));
    let second = &cited.citations[1];
    assert_eq!(second.quote, "Ferries cross the harbour every day.");
    assert_eq!(second.page, Some(3));
    assert!(cited.uncited.is_empty());
}

#[test]
fn markers_naming_no_source_are_removed_and_nothing_is_invented() {
    let cited = cite(
        "It opened in 1932 [1][7]. Made up [9]. Both [1, 8].",
        "When did it open?",
        &two_sources(),
        &texts(),
    );
    // "Both" shares no word with source 1: that marker cites nothing either.
    assert_eq!(cited.answer, "It opened in 1932 [1]. Made up. Both.");
    assert_eq!(
        cited.citations.iter().map(|c| c.n).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        cited.citations[0].quote,
        "The Harbour Bridge opened in 1932."
    );
    assert_eq!(cited.uncited, vec![2]);
}

#[test]
fn an_answer_without_markers_cites_nothing() {
    let cited = cite(REFUSAL_TEXT, "What is the GDP?", &two_sources(), &texts());
    assert!(cited.citations.is_empty());
    assert_eq!(cited.uncited, vec![1, 2]);
    assert_eq!(cited.answer, REFUSAL_TEXT);
}

const REFUSAL_TEXT: &str = super::super::REFUSAL;

#[test]
fn a_quote_that_is_not_in_the_stored_text_is_not_verified() {
    let mut stored = texts();
    if let Some(t) = stored.get_mut(&DocumentId(7)) {
        t.text = t.text.replace("1932", "1933");
    }
    let cited = cite("Opened in 1932 [1].", "When?", &two_sources(), &stored);
    assert!(!cited.citations[0].verified);
}

#[test]
fn a_tampered_offset_is_not_verified() {
    let mut sources = two_sources();
    // The chunk claims to start one byte later than it does in the stored text.
    sources[0].hit.chunk.start += 1;
    let cited = cite("Opened in 1932 [1].", "When?", &sources, &texts());
    assert_eq!(cited.citations.len(), 1);
    assert!(!cited.citations[0].verified);
    let honest = cite("Opened in 1932 [1].", "When?", &two_sources(), &texts());
    assert!(honest.citations[0].verified);
}

#[test]
fn a_claim_sharing_no_content_word_with_any_passage_gets_no_citation() {
    let cited = cite(
        "Bananas are yellow [1]. Ferries cross the harbour [2].",
        "Tell me about fruit",
        &two_sources(),
        &texts(),
    );
    assert_eq!(
        cited.citations.iter().map(|c| c.n).collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(
        cited.answer,
        "Bananas are yellow. Ferries cross the harbour [2]."
    );
    assert!(cited.citations.iter().all(|c| c.quote != "Intro page."));
    assert_eq!(cited.uncited, vec![1]);
}

#[test]
fn strip_markers_leaves_clean_prose() {
    assert_eq!(
        strip_markers("It was 10 million [1][2]."),
        "It was 10 million."
    );
    assert_eq!(strip_markers("[3] Leading."), " Leading.");
}

#[test]
fn sentences_split_on_ends_and_blank_lines() {
    let text = "One. Two? Three!\n\nFour 3.5 five";
    let got: Vec<&str> = sentences(text).iter().map(|&(s, e)| &text[s..e]).collect();
    assert_eq!(got, vec!["One.", "Two?", "Three!", "Four 3.5 five"]);
}

#[test]
fn uncited_sentences_that_a_source_clearly_supports_are_attributed() {
    let cited = cite(
        "The Harbour Bridge opened in 1932. Bananas are yellow and sweet.",
        "When did the bridge open?",
        &two_sources(),
        &texts(),
    );
    assert_eq!(
        cited.answer,
        "The Harbour Bridge opened in 1932 [1]. Bananas are yellow and sweet."
    );
    assert_eq!(cited.citations.len(), 1);
    let c = &cited.citations[0];
    assert!(c.inferred && c.verified);
    assert_eq!(c.quote, "The Harbour Bridge opened in 1932.");
    assert_eq!(cited.uncited, vec![2]);
}

#[test]
fn a_source_the_model_cited_is_not_marked_inferred() {
    let cited = cite(
        "Ferries cross the harbour every day [2]. The Harbour Bridge opened in 1932.",
        "Tell me about Sydney",
        &two_sources(),
        &texts(),
    );
    let flags: Vec<(usize, bool)> = cited.citations.iter().map(|c| (c.n, c.inferred)).collect();
    assert_eq!(flags, vec![(1, true), (2, false)]);
}

/// A running header shares words with almost any claim about the document ("the act"); it
/// must never be the quote, even when it scores best.
#[test]
fn a_running_header_is_never_quoted_as_evidence() {
    let header = "The Digital Millennium Copyright Act of 1998";
    let doc = format!("{header}\nIt limits the liability of service providers.\n{header}\nPage 2");
    let chunk = Chunk {
        id: ChunkId("c1".into()),
        document_id: DocumentId(9),
        ordinal: 0,
        text: doc.clone(),
        start: 0,
        end: doc.len(),
        page_start: Some(1),
        page_end: Some(2),
        page_unit: Default::default(),
        heading_path: vec![],
        token_count: 20,
    };
    let mut only = source(1, 0, 1);
    only.hit.chunk = chunk;
    let second = doc.rfind(header).unwrap();
    let furniture = vec![
        TextRange {
            start: 0,
            end: header.len(),
        },
        TextRange {
            start: second,
            end: second + header.len(),
        },
        TextRange {
            start: doc.len() - 6,
            end: doc.len(),
        },
    ];
    let stored = |furniture: Vec<TextRange>| {
        HashMap::from([(
            DocumentId(9),
            SourceText {
                text: doc.clone(),
                pages: vec![],
                furniture,
            },
        )])
    };
    let answer = "The Digital Millennium Copyright Act of 1998 limits liability [1].";
    // Without the marks, the header is the best-scoring line: this is what was quoted.
    let unmarked = cite(
        answer,
        "What does the act do?",
        std::slice::from_ref(&only),
        &stored(vec![]),
    );
    assert!(unmarked.citations[0].quote.contains(header), "{unmarked:?}");
    let cited = cite(answer, "What does the act do?", &[only], &stored(furniture));
    assert_eq!(cited.citations.len(), 1, "{cited:?}");
    assert_eq!(
        cited.citations[0].quote,
        "It limits the liability of service providers."
    );
    assert!(cited.citations[0].verified);
}
