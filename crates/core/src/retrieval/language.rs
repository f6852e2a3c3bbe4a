//! The languages a library is written in, and the language of a question, so that a question
//! asked in a language the library is not written in leans on vectors rather than on words.
//!
//! BM25 matches words: an English question over German passages can only match names,
//! numbers and loan words, and fused in at the library's usual weight it pulls the
//! multilingual vectors' cross-language match down (bench/RESULTS.md §2c: English questions
//! over German passages, vectors alone 0.694, balanced RRF 0.623). The library's mix is
//! measured on a sample of its passages when its search is tuned; a question's language counts
//! as far as the detector is sure of it, so short or mixed questions keep most of the tuned
//! weights.

use crate::retrieval::fusion::FusionConfig;
use serde::{Deserialize, Serialize};

/// Fewer passages whose language is recognised than this, and a mix says nothing.
const MIN_PASSAGES: usize = 20;
/// A passage counts for a language the detector gives at least this confidence.
const PASSAGE_CONFIDENCE: f64 = 0.5;
/// A language of at least this share of the passages is one of the library's languages.
const LIBRARY_LANGUAGE: f32 = 0.05;

/// One language of a library (ISO 639-3 code, as `whatlang` names it) and its share of the
/// sampled passages whose language was recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LanguageShare {
    pub language: String,
    /// Its name in English ("German"), for people.
    #[serde(default)]
    pub name: String,
    pub share: f32,
}

/// The languages of a library's passages, most common first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(transparent)]
pub struct LanguageMix(pub Vec<LanguageShare>);

impl LanguageMix {
    /// The mix of `passages`; empty when too few of them have a recognisable language.
    pub fn of_passages<'a>(passages: impl IntoIterator<Item = &'a str>) -> Self {
        let mut counts: Vec<(whatlang::Lang, usize)> = Vec::new();
        let mut recognised = 0usize;
        for passage in passages {
            let Some(info) = whatlang::detect(passage) else {
                continue;
            };
            if info.confidence() < PASSAGE_CONFIDENCE {
                continue;
            }
            recognised += 1;
            let lang = info.lang();
            match counts.iter_mut().find(|(l, _)| *l == lang) {
                Some((_, n)) => *n += 1,
                None => counts.push((lang, 1)),
            }
        }
        if recognised < MIN_PASSAGES {
            return LanguageMix::default();
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(b.0.code())));
        LanguageMix(
            counts
                .into_iter()
                .map(|(lang, n)| LanguageShare {
                    language: lang.code().to_string(),
                    name: lang.eng_name().to_string(),
                    share: n as f32 / recognised as f32,
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The share of the library's passages written in `language` (0 when none are).
    pub fn share(&self, language: &str) -> f32 {
        self.0
            .iter()
            .find(|s| s.language == language)
            .map_or(0.0, |s| s.share)
    }

    /// How much of the library a question's words can reach in `language`, against its main
    /// language: 1 for the main language (and for any as common), less for a language fewer
    /// passages are written in, 0 for one none are. `None` when the mix is unknown.
    pub fn reach(&self, language: &str) -> Option<f32> {
        let main = self.0.first()?.share;
        (main > 0.0).then(|| (self.share(language) / main).min(1.0))
    }

    /// "German 97%, English 3%": the languages of at least 1% of the passages, for people.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .filter(|s| s.share >= 0.01)
            .map(|s| {
                let name = if s.name.is_empty() {
                    &s.language
                } else {
                    &s.name
                };
                format!("{name} {:.0}%", s.share * 100.0)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The English name of a language's ISO 639-3 code ("deu": "German"); the code itself for
/// a language the detector does not know.
pub fn language_name(code: &str) -> String {
    whatlang::Lang::from_code(code).map_or_else(|| code.to_string(), |l| l.eng_name().to_string())
}

/// The language a question is in (ISO 639-3), and how sure the detector is of it (0–1).
///
/// The detector's guess is checked against the languages the library is written in: a
/// question it would take for French is English when, between English and French, it is
/// more English (a few words shared by both do not make another language). How sure is the
/// detector's own confidence, measured against every language, so a short question or one
/// of names and commands counts as little.
pub fn question_language(question: &str, mix: &LanguageMix) -> Option<(&'static str, f32)> {
    let guess = whatlang::detect(question)?;
    #[allow(clippy::cast_possible_truncation)]
    let sure = guess.confidence().clamp(0.0, 1.0) as f32;
    let mut candidates: Vec<whatlang::Lang> = mix
        .0
        .iter()
        .filter(|s| s.share >= LIBRARY_LANGUAGE)
        .filter_map(|s| whatlang::Lang::from_code(s.language.clone()))
        .collect();
    if candidates.is_empty() || candidates.contains(&guess.lang()) {
        return Some((guess.lang().code(), sure));
    }
    candidates.push(guess.lang());
    let between = whatlang::Detector::with_allowlist(candidates).detect_lang(question)?;
    Some((between.code(), sure))
}

/// The fusion for one question: the library's tuned fusion, with BM25's weight scaled by how
/// much of the library the question's words can be expected to reach. The detector's
/// confidence weighs its guess: a sure guess of a language the library is not written in
/// takes BM25 (almost) out, an unsure one (short questions, names, code) little, and the
/// library's own language nothing.
pub fn fusion_for_question(tuned: FusionConfig, mix: &LanguageMix, question: &str) -> FusionConfig {
    let Some((language, sure)) = question_language(question, mix) else {
        return tuned;
    };
    let Some(reach) = mix.reach(language) else {
        return tuned;
    };
    let expected = sure * reach + (1.0 - sure);
    if expected >= 1.0 {
        return tuned;
    }
    FusionConfig {
        bm25_weight: tuned.bm25_weight * expected,
        ..tuned
    }
}

/// Libraries of German and English passages for the tests here and in
/// [`crate::retrieval::translation`].
#[cfg(test)]
pub(crate) mod samples {
    use super::LanguageMix;

    const GERMAN: &str = "Die Paketverwaltung installiert Programme aus den Archiven und hält \
        das System auf dem neuesten Stand, ohne dass man Dateien von Hand kopieren muss.";
    const ENGLISH: &str = "The package manager installs programs from the archives and keeps \
        the system up to date without anyone copying files by hand.";

    /// The mix of `german` German passages and `english` English ones.
    pub(crate) fn mix(german: usize, english: usize) -> LanguageMix {
        let passages: Vec<&str> = std::iter::repeat_n(GERMAN, german)
            .chain(std::iter::repeat_n(ENGLISH, english))
            .collect();
        LanguageMix::of_passages(passages)
    }
}

#[cfg(test)]
mod tests {
    use super::samples::mix;
    use super::*;

    #[test]
    fn a_library_mix_counts_its_passages_languages_most_common_first() {
        let m = mix(30, 10);
        assert_eq!(m.0.len(), 2);
        assert_eq!(m.0[0].language, "deu");
        assert!((m.share("deu") - 0.75).abs() < 1e-6);
        assert!((m.share("eng") - 0.25).abs() < 1e-6);
        assert_eq!(m.share("fra"), 0.0);
        assert_eq!(m.describe(), "German 75%, English 25%");
        // Too few recognisable passages say nothing.
        assert!(mix(5, 5).is_empty());
        assert!(LanguageMix::of_passages(["12 34 56"; 40]).is_empty());
    }

    #[test]
    fn reach_is_one_for_the_main_language_and_falls_with_the_share() {
        let m = mix(30, 10);
        assert_eq!(m.reach("deu"), Some(1.0));
        assert!((m.reach("eng").unwrap() - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(m.reach("fra"), Some(0.0));
        assert_eq!(LanguageMix::default().reach("deu"), None);
        // A bilingual library reaches both languages fully.
        assert_eq!(mix(20, 20).reach("eng"), Some(1.0));
    }

    #[test]
    fn questions_in_another_language_than_the_library_lean_on_vectors() {
        let tuned = FusionConfig::convex(0.6, 0.4);
        let german_library = mix(40, 0);
        let english =
            "Which program installs packages from the archives and keeps the system current?";
        let german =
            "Welches Programm installiert Pakete aus den Archiven und hält das System aktuell?";
        assert_eq!(
            question_language(english, &german_library).map(|l| l.0),
            Some("eng")
        );
        assert_eq!(
            question_language(german, &german_library).map(|l| l.0),
            Some("deu")
        );
        let across = fusion_for_question(tuned, &german_library, english);
        assert!(across.bm25_weight < 0.1 * tuned.bm25_weight, "{across:?}");
        assert_eq!(across.vector_weight, 0.4);
        assert_eq!(across.method, tuned.method);
        // Its own language, no language at all, or an unknown mix: the tuned fusion.
        assert_eq!(fusion_for_question(tuned, &german_library, german), tuned);
        assert_eq!(
            fusion_for_question(tuned, &german_library, "4711 0815"),
            tuned
        );
        assert_eq!(
            fusion_for_question(tuned, &LanguageMix::default(), english),
            tuned
        );
        // A library with some English passages keeps some of BM25 for English questions.
        let partly = fusion_for_question(tuned, &mix(30, 10), english);
        assert!(partly.bm25_weight > across.bm25_weight && partly.bm25_weight < tuned.bm25_weight);
        // Three English words the detector takes for French: less sure against German than a
        // whole English sentence.
        let short = "kernel module options";
        assert_eq!(
            question_language(short, &LanguageMix::default()).map(|l| l.0),
            Some("fra")
        );
        let unsure = fusion_for_question(tuned, &german_library, short);
        assert!(
            unsure.bm25_weight > 2.0 * across.bm25_weight,
            "{unsure:?} {across:?}"
        );
        // English questions the detector takes for another language keep most of BM25 in an
        // English library: English between the two, or too unsure to count for much.
        let english_library = mix(0, 40);
        for question in [
            "How do I make sure a particular kernel module is no longer loaded automatically?",
            "How do I change the character encoding Samba uses for old DOS machines?",
            short,
        ] {
            assert_ne!(
                question_language(question, &LanguageMix::default()).map(|l| l.0),
                Some("eng")
            );
            let kept = fusion_for_question(tuned, &english_library, question);
            assert!(
                kept.bm25_weight >= 0.75 * tuned.bm25_weight,
                "{question}: {kept:?}"
            );
        }
    }
}
