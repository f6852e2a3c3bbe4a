//! The relevance gate's threshold for one library and one embedder.
//!
//! A fixed cosine cannot serve every embedder: between unrelated texts all-MiniLM-L6-v2 gives
//! about 0.1 and multilingual-e5-small about 0.8. So the gate is calibrated on the library
//! itself. Questions about everyday things no library is expected to answer (in twelve
//! languages, `background_questions.txt`) are searched in it; the similarities their best
//! passages reach are the library's *background*. A question is let through when its best
//! passage stands out from that background. This holds for an embedder a person adds as well as
//! for those Cairn ships, and it follows the library: a library of cookery books has a higher
//! background than one of tax returns.
//!
//! The background depends on the question's language too: an English question over English
//! passages reaches more than a Japanese one (multilingual embedders keep some of the language
//! in the vector; an English embedder knows no other). So each language with enough background
//! questions has a threshold of its own, from its own questions; a question whose language the
//! detector is unsure of gets the threshold of all of them.

use serde::{Deserialize, Serialize};

/// Everyday questions the library is searched with to learn its background.
const BACKGROUND: &str = include_str!("background_questions.txt");

/// One background question and its language (ISO 639-3, as whatlang names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundQuestion {
    pub language: &'static str,
    pub text: &'static str,
}

/// The background questions, each under the `[code]` line before it (comments and blank lines
/// skipped).
pub fn background_questions() -> Vec<BackgroundQuestion> {
    let mut language = "";
    let mut out = Vec::new();
    for line in BACKGROUND.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(code) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            language = code;
            continue;
        }
        out.push(BackgroundQuestion {
            language,
            text: line,
        });
    }
    out
}

/// How far above the background's mean the threshold sits, in its standard deviations: for a
/// normal background, 1.645 refuses 95% of it. (`cairn eval refusal`, both shipped embedders:
/// on SQuAD dev this let 95% or more of the answerable questions through and refused 90% or
/// more of the others, where the median plus an interquartile range refused 77% with MiniLM.)
const SPREAD: f32 = 1.645;
/// A language needs this many background questions before it has a threshold of its own.
const MIN_LANGUAGE_QUESTIONS: usize = 4;

/// The threshold for questions in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LanguageGate {
    pub language: String,
    pub questions: u32,
    pub min_similarity: f32,
}

/// The library's gate calibration, kept with its tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct GateCalibration {
    /// The least cosine similarity a question's best passage needs, when its language is not
    /// known.
    pub min_similarity: f32,
    /// Background questions searched.
    pub questions: u32,
    /// Their best similarities in the library: quartiles, 90th percentile and highest.
    pub background_p25: f32,
    pub background_median: f32,
    pub background_p75: f32,
    pub background_p90: f32,
    pub background_max: f32,
    /// The threshold for a question in each language the background covers well enough.
    #[serde(default)]
    pub languages: Vec<LanguageGate>,
}

impl GateCalibration {
    /// The threshold for a library where `background` questions reached these best
    /// similarities; `None` without any.
    pub fn from_background(background: &[(&str, f32)]) -> Option<Self> {
        let found: Vec<(&str, f32)> = background
            .iter()
            .copied()
            .filter(|(_, s)| s.is_finite())
            .collect();
        let mut sorted: Vec<f32> = found.iter().map(|(_, s)| *s).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f32::total_cmp);
        let (p25, median, p75) = (
            quantile(&sorted, 0.25),
            quantile(&sorted, 0.5),
            quantile(&sorted, 0.75),
        );
        let min_similarity = threshold(&sorted);
        let mut codes: Vec<&str> = found.iter().map(|(l, _)| *l).collect();
        codes.sort_unstable();
        codes.dedup();
        let languages = codes
            .into_iter()
            .filter(|code| !code.is_empty())
            .filter_map(|code| {
                let own: Vec<f32> = found
                    .iter()
                    .filter(|(l, _)| *l == code)
                    .map(|(_, s)| *s)
                    .collect();
                (own.len() >= MIN_LANGUAGE_QUESTIONS).then(|| LanguageGate {
                    language: code.to_string(),
                    questions: u32::try_from(own.len()).unwrap_or(u32::MAX),
                    min_similarity: threshold(&own),
                })
            })
            .collect();
        Some(GateCalibration {
            min_similarity,
            questions: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
            background_p25: p25,
            background_median: median,
            background_p75: p75,
            background_p90: quantile(&sorted, 0.9),
            background_max: sorted[sorted.len() - 1],
            languages,
        })
    }

    /// The threshold for a question in `language` (ISO 639-3), or the library's own when the
    /// language is not known or the background has too few questions in it.
    pub fn min_similarity_for(&self, language: Option<&str>) -> f32 {
        language
            .and_then(|code| self.languages.iter().find(|l| l.language == code))
            .map_or(self.min_similarity, |l| l.min_similarity)
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let by_language: Vec<String> = self
            .languages
            .iter()
            .map(|l| format!("{} {:.3}", l.language, l.min_similarity))
            .collect();
        format!(
            "relevance gate at cosine {:.3} ({}): {} everyday questions reach {:.3} (median), \
             {:.3}-{:.3} (quartiles), {:.3} (90th percentile), {:.3} (highest) in this library",
            self.min_similarity,
            if by_language.is_empty() {
                "any language".to_string()
            } else {
                format!("by question language: {}", by_language.join(", "))
            },
            self.questions,
            self.background_median,
            self.background_p25,
            self.background_p75,
            self.background_p90,
            self.background_max
        )
    }
}

/// The value at `q` of sorted values, interpolated between neighbours.
fn quantile(sorted: &[f32], q: f64) -> f32 {
    let at = (sorted.len() - 1) as f64 * q;
    let low = at.floor() as usize;
    let high = at.ceil() as usize;
    let frac = (at - low as f64) as f32;
    sorted[low] + (sorted[high] - sorted[low]) * frac
}

/// The background's mean plus [`SPREAD`] standard deviations.
fn threshold(values: &[f32]) -> f32 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let variance = values
        .iter()
        .map(|v| (f64::from(*v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean + f64::from(SPREAD) * variance.sqrt()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(level: f32, language: &'static str, n: usize) -> Vec<(&'static str, f32)> {
        (0..n)
            .map(|i| (language, level + i as f32 * 0.004))
            .collect()
    }

    #[test]
    fn background_questions_are_many_and_in_several_languages() {
        let questions = background_questions();
        assert!(questions.len() >= 50, "{}", questions.len());
        let mut languages: Vec<&str> = questions.iter().map(|q| q.language).collect();
        languages.dedup();
        assert!(languages.len() >= 10, "{languages:?}");
        assert!(questions.iter().all(|q| q.language.len() == 3));
        assert!(questions
            .iter()
            .any(|q| q.language == "deu" && q.text.starts_with("Wie ")));
        assert!(questions.iter().all(|q| !q.text.starts_with(['#', '['])));
    }

    #[test]
    fn the_threshold_sits_above_most_of_the_background() {
        let background = spread(0.10, "eng", 50);
        let cal = GateCalibration::from_background(&background).unwrap();
        let refused = background
            .iter()
            .filter(|(_, s)| *s < cal.min_similarity)
            .count();
        assert!(
            refused >= 45,
            "{refused} of 50 refused at {}",
            cal.min_similarity
        );
        assert!(cal.min_similarity < 0.40, "{}", cal.min_similarity);
    }

    #[test]
    fn the_threshold_moves_with_the_embedders_scale() {
        // The same spread at another level: an embedder whose unrelated texts sit near 0.8.
        let low = spread(0.10, "eng", 50);
        let high: Vec<(&str, f32)> = low.iter().map(|(l, s)| (*l, s + 0.7)).collect();
        let a = GateCalibration::from_background(&low).unwrap();
        let b = GateCalibration::from_background(&high).unwrap();
        assert!((b.min_similarity - a.min_similarity - 0.7).abs() < 1e-4);
    }

    #[test]
    fn a_language_whose_questions_reach_more_asks_more() {
        // Questions in the library's language sit higher than the others.
        let mut background = spread(0.30, "eng", 12);
        background.extend(spread(0.10, "fra", 12));
        background.extend(spread(0.10, "jpn", 12));
        background.extend(spread(0.10, "swe", 2));
        let cal = GateCalibration::from_background(&background).unwrap();
        let english = cal.min_similarity_for(Some("eng"));
        let french = cal.min_similarity_for(Some("fra"));
        assert!(
            english > cal.min_similarity && cal.min_similarity > french,
            "{cal:?}"
        );
        assert!((english - french - 0.2).abs() < 1e-4, "{cal:?}");
        // Each language's threshold is above its own background.
        assert!(english > 0.30 + 11.0 * 0.004 * 0.5, "{cal:?}");
        // Too few questions, or no language: the library's own threshold.
        assert_eq!(cal.min_similarity_for(Some("swe")), cal.min_similarity);
        assert_eq!(cal.min_similarity_for(None), cal.min_similarity);
    }

    #[test]
    fn no_background_gives_no_calibration() {
        assert_eq!(GateCalibration::from_background(&[]), None);
        assert_eq!(GateCalibration::from_background(&[("eng", f32::NAN)]), None);
    }
}
