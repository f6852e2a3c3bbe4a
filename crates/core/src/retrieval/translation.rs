//! Keyword search across languages. BM25 matches words, so an English question over German
//! passages finds only names, numbers and loan words. When a dictionary from the question's
//! language into the library's is at hand ([`Lexicon`]), each question word is searched
//! together with its translations, a chunk scoring by the alternative it matches best
//! (dictionary-based query translation, Pirkola 1998), and the words then reach the library
//! as a question in its own language would: BM25 keeps its tuned weight in the fusion.
//!
//! The question's own words stay among the alternatives: names, commands and loan words
//! ("dpkg", "Kernel") match as they are written.

use crate::ports::Lexicon;
use crate::retrieval::language::{question_language, LanguageMix};

/// Translations searched per question word, at most, in the dictionary's order (FreeDict
/// lists a word's senses alphabetically, not by how common they are). On the German set of
/// bench/RESULTS.md §2c, 5, 10, 20 and all of them gave within 0.02 nDCG@10 of each other: a
/// wrong sense seldom matches a passage the right one does not.
pub const PER_WORD: usize = 10;
/// How sure the language detector must be of the question's language to translate it:
/// short questions and ones of names and commands are searched as written.
const SURE: f32 = 0.5;
/// A question language that reaches at most this share of the library (against its main
/// language) is translated into the main language.
const REACH: f32 = 0.5;

/// The language pair a question's words are translated through: its language, and the
/// library's main one. `None` when the question is (or may well be) in a language the
/// library is written in, or no dictionary covers the pair.
pub fn translation_for(
    question: &str,
    mix: &LanguageMix,
    lexicon: &dyn Lexicon,
) -> Option<(&'static str, String)> {
    let main = mix.0.first()?.language.clone();
    let (language, sure) = question_language(question, mix)?;
    if language == main || sure < SURE || mix.reach(language)? > REACH {
        return None;
    }
    lexicon
        .translates(language, &main)
        .then_some((language, main))
}

/// The question's words in lower case, in order, each once: runs of letters and digits.
pub fn question_words(question: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// Each word followed by its translations (those that differ from it): the alternatives the
/// full-text index searches per word.
pub fn alternatives(words: Vec<String>, translations: Vec<Vec<String>>) -> Vec<Vec<String>> {
    words
        .into_iter()
        .zip(
            translations
                .into_iter()
                .chain(std::iter::repeat(Vec::new())),
        )
        .map(|(word, translated)| {
            let mut group = vec![word];
            for t in translated {
                if !group.iter().any(|g| g.eq_ignore_ascii_case(&t)) {
                    group.push(t);
                }
            }
            group
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortResult;
    use crate::retrieval::language::samples::mix;
    use async_trait::async_trait;

    /// A dictionary from English into German only.
    struct EnglishGerman;

    #[async_trait]
    impl Lexicon for EnglishGerman {
        fn translates(&self, from: &str, to: &str) -> bool {
            (from, to) == ("eng", "deu")
        }
        async fn translate(
            &self,
            _: &str,
            _: &str,
            words: &[String],
            _: usize,
        ) -> PortResult<Vec<Vec<String>>> {
            Ok(vec![Vec::new(); words.len()])
        }
    }

    #[test]
    fn an_english_question_over_a_german_library_is_translated_into_german() {
        let question =
            "Which program installs packages from the archives and keeps the system current?";
        assert_eq!(
            translation_for(question, &mix(40, 0), &EnglishGerman),
            Some(("eng", "deu".to_string()))
        );
        // Not when the library is written in the question's language too, nor into a
        // language no dictionary covers, nor before the library's languages are known.
        assert_eq!(
            translation_for(question, &mix(20, 20), &EnglishGerman),
            None
        );
        assert_eq!(translation_for(question, &mix(0, 40), &EnglishGerman), None);
        assert_eq!(
            translation_for(question, &LanguageMix::default(), &EnglishGerman),
            None
        );
        let german_question = "Wie halte ich die Programme meines Systems aktuell?";
        assert_eq!(
            translation_for(german_question, &mix(0, 40), &EnglishGerman),
            None
        );
    }

    #[test]
    fn words_keep_their_order_and_come_first_among_their_alternatives() {
        let words = question_words("Which package installs packages? (Package: apt-get)");
        assert_eq!(
            words,
            ["which", "package", "installs", "packages", "apt", "get"]
        );
        let groups = alternatives(
            vec!["package".into(), "apt".into()],
            vec![vec!["Paket".into(), "Package".into(), "Bündel".into()]],
        );
        assert_eq!(groups, [vec!["package", "Paket", "Bündel"], vec!["apt"]]);
    }
}
