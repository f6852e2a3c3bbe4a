//! The FreeDict reader on the real English-German dictionary that scripts/setup unpacks
//! into `$CAIRN_MODELS/dictionaries`, and on damaged copies of it.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::ports::Lexicon;
use cairn_core::ErrorCode;
use cairn_lexicon::{Dictionary, FreeDict};
use std::path::PathBuf;

fn dictionaries() -> PathBuf {
    let models = std::env::var_os("CAIRN_MODELS")
        .expect("CAIRN_MODELS is not set: run the tests through scripts/test (scripts/setup fetches the dictionary)");
    let folder = PathBuf::from(models).join("dictionaries");
    assert!(
        folder.join("freedict-eng-deu.index").is_file(),
        "no English-German dictionary in {}: run scripts/setup",
        folder.display()
    );
    folder
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

#[tokio::test]
async fn english_words_get_their_german_translations() {
    let lexicon = FreeDict::discover(&[PathBuf::from("/nonexistent"), dictionaries()]);
    assert!(lexicon.translates("eng", "deu"));
    assert!(!lexicon.translates("deu", "eng"));
    let files = lexicon.files();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].from.as_str(), files[0].to.as_str()),
        ("eng", "deu")
    );
    let found = lexicon
        .translate(
            "eng",
            "deu",
            &words(&["keyboard", "Packages", "installed", "upgrades", "xyzzyq"]),
            20,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 5);
    let has = |i: usize, german: &str| found[i].iter().any(|t| t == german);
    assert!(has(0, "Tastatur"), "keyboard: {:?}", found[0]);
    // Plurals are headwords of their own.
    assert!(has(1, "Pakete"), "packages: {:?}", found[1]);
    assert!(has(2, "installiert"), "installed: {:?}", found[2]);
    // "upgrades" is no headword: it is looked up as "upgrade".
    assert!(has(3, "Aufrüstung"), "upgrades: {:?}", found[3]);
    assert!(found[4].is_empty());
    // No translation carries grammar labels or abbreviations.
    assert!(found
        .iter()
        .flatten()
        .all(|t| !t.contains(['<', '[', '{']) && !t.contains("etw.")));
    // At most as many as asked for.
    let few = lexicon
        .translate("eng", "deu", &words(&["run"]), 3)
        .await
        .unwrap();
    assert_eq!(few[0].len(), 3);
}

#[tokio::test]
async fn a_damaged_dictionary_is_an_unreadable_error_each_time_not_a_crash() {
    let damaged = tempfile::tempdir().unwrap();
    let source = dictionaries();
    std::fs::copy(
        source.join("freedict-eng-deu.index"),
        damaged.path().join("freedict-eng-deu.index"),
    )
    .unwrap();
    // Half of the compressed entries: the gzip stream ends early.
    let data = std::fs::read(source.join("freedict-eng-deu.dict.dz")).unwrap();
    std::fs::write(
        damaged.path().join("freedict-eng-deu.dict.dz"),
        &data[..data.len() / 2],
    )
    .unwrap();
    let lexicon = FreeDict::discover(&[damaged.path().to_path_buf()]);
    assert!(lexicon.translates("eng", "deu"));
    for _ in 0..2 {
        let err = lexicon
            .translate("eng", "deu", &words(&["keyboard"]), 5)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unreadable);
        assert!(
            err.context.contains("freedict-eng-deu.dict.dz"),
            "{}",
            err.context
        );
    }
}

#[test]
fn an_index_that_points_past_its_entries_is_malformed() {
    let data = b"keyboard /k/\nTastatur <fem>\n";
    let good = Dictionary::parse("keyboard\tA\tc\n", data).unwrap();
    assert_eq!(
        good.translations("keyboard").collect::<Vec<_>>(),
        ["Tastatur"]
    );
    let err = Dictionary::parse("keyboard\tA\tz\n", data).unwrap_err();
    assert!(err.contains("line 1"), "{err}");
    assert!(Dictionary::parse("keyboard\tA\n", data).is_err());
}
