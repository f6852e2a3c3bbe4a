//! The dictd format: `NAME.index` lists each headword with the offset and length of its
//! entry in `NAME.dict` (or `NAME.dict.dz`, gzip that dictzip made seekable), both numbers
//! in base64. In FreeDict's dictionaries an entry's first line is the headword with its
//! pronunciation and its second the translations of one sense, separated by commas, with
//! grammar and usage in angle or square brackets (`Datei <fem> [comp.]`); examples and
//! cross-references follow. A headword has one entry per sense.

use crate::LexiconError;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Translations kept per headword, at most: the senses of "run" alone give 60, and a
/// question needs only the first few.
const MAX_PER_HEADWORD: usize = 32;

/// One dictionary's single-word headwords (lower case) and their translations, in the
/// dictionary's order. Each headword's translations are one tab-separated string, which
/// keeps a dictionary of 100,000 headwords to a few megabytes.
#[derive(Debug, Default)]
pub struct Dictionary {
    entries: HashMap<Box<str>, Box<str>>,
}

impl Dictionary {
    /// Reads `index` and its `data` file (`.dict`, or `.dict.dz` by its name).
    pub fn open(index: &Path, data: &Path) -> Result<Self, LexiconError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| LexiconError::Io { path, source }
        };
        let index_text = std::fs::read_to_string(index).map_err(io(index))?;
        let raw = std::fs::read(data).map_err(io(data))?;
        let bytes = if data.extension().is_some_and(|e| e == "dz") {
            let mut out = Vec::with_capacity(raw.len() * 5);
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .map_err(io(data))?;
            out
        } else {
            raw
        };
        Self::parse(&index_text, &bytes).map_err(|reason| LexiconError::Malformed {
            path: index.display().to_string(),
            reason,
        })
    }

    /// Parses an index and the (uncompressed) entries it points into.
    pub fn parse(index: &str, data: &[u8]) -> Result<Self, String> {
        let mut lists: HashMap<Box<str>, Vec<String>> = HashMap::new();
        for (number, line) in index.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(headword), Some(offset), Some(length)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!(
                    "line {} of the index has no offset and length",
                    number + 1
                ));
            };
            // Entries about the dictionary itself ("00-database-info") and phrases are not
            // words of a question.
            if headword.is_empty()
                || headword.starts_with("00-database")
                || headword.starts_with("00database")
                || headword.contains(char::is_whitespace)
            {
                continue;
            }
            let bad = || {
                format!(
                    "line {} of the index points outside the entries",
                    number + 1
                )
            };
            let start = base64_number(offset).ok_or_else(bad)?;
            let end = start
                .checked_add(base64_number(length).ok_or_else(bad)?)
                .filter(|&end| end <= data.len())
                .ok_or_else(bad)?;
            let entry = String::from_utf8_lossy(&data[start..end]);
            let list = lists.entry(headword.to_lowercase().into()).or_default();
            for translation in sense_translations(&entry) {
                if list.len() < MAX_PER_HEADWORD && !list.contains(&translation) {
                    list.push(translation);
                }
            }
        }
        let entries = lists
            .into_iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(headword, list)| (headword, list.join("\t").into()))
            .collect();
        Ok(Dictionary { entries })
    }

    /// The translations of `word` (lower case), in the dictionary's order.
    pub fn translations<'a>(&'a self, word: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .get(word)
            .map(|joined| joined.split('\t'))
            .into_iter()
            .flatten()
    }

    /// Whether `word` is a headword.
    pub fn knows(&self, word: &str) -> bool {
        self.entries.contains_key(word)
    }

    /// Headwords with translations.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// dictd's base64 numbers: most significant digit first, `A`–`Z`, `a`–`z`, `0`–`9`, `+`, `/`.
fn base64_number(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    text.bytes().try_fold(0usize, |n, c| {
        let digit = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        n.checked_mul(64)?.checked_add(usize::from(digit))
    })
}

/// The translations on an entry's second line, without grammar, usage labels and
/// abbreviations such as "etw." (something) or "jdm." (to somebody).
fn sense_translations(entry: &str) -> Vec<String> {
    let Some(line) = entry.lines().nth(1) else {
        return Vec::new();
    };
    let mut plain = String::with_capacity(line.len());
    let mut depth = 0usize;
    for c in line.chars() {
        match c {
            '<' | '[' | '(' | '{' => depth += 1,
            '>' | ']' | ')' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
        .split([',', ';'])
        .map(|part| {
            part.split_whitespace()
                .filter(|w| !w.ends_with('.'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_numbers_read_most_significant_first() {
        assert_eq!(base64_number("A"), Some(0));
        assert_eq!(base64_number("/"), Some(63));
        assert_eq!(base64_number("BA"), Some(64));
        assert_eq!(base64_number("B/"), Some(127));
        assert_eq!(base64_number(""), None);
        assert_eq!(base64_number("A-"), None);
    }

    #[test]
    fn a_sense_line_gives_its_translations_without_labels() {
        let entry = "file /fˈaɪl/\nComputerdatei <fem>, Datei <fem> [comp.]\n      \"open a file\"  - eine Datei öffnen\n";
        assert_eq!(sense_translations(entry), ["Computerdatei", "Datei"]);
        let entry = "install /ɪnstˈɔːl/ <v>\netw. aufbauen, aufstellen <v, trans> [techn.]\n";
        assert_eq!(sense_translations(entry), ["aufbauen", "aufstellen"]);
        assert!(sense_translations("headword only").is_empty());
    }
}
