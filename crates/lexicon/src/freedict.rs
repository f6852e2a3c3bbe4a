//! The FreeDict dictionaries found in a list of folders, each read on first use.

use crate::{Dictionary, LexiconError};
use async_trait::async_trait;
use cairn_core::error::PortError;
use cairn_core::ports::{Lexicon, PortResult};
use cairn_core::ErrorCode;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// A dictionary file found, read the first time a question needs it; a dictionary that
/// cannot be read is remembered as such rather than read again for every question.
struct Found {
    from: String,
    to: String,
    index: PathBuf,
    data: PathBuf,
    loaded: OnceCell<Result<Arc<Dictionary>, String>>,
}

/// A dictionary found: its languages (ISO 639-3) and its index file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DictionaryFile {
    pub from: String,
    pub to: String,
    pub index: PathBuf,
}

/// Every `freedict-XXX-YYY.index` (with its `.dict.dz` or `.dict`) in the folders given,
/// XXX and YYY being ISO 639-3 codes as FreeDict names them (`eng`, `deu`, `fra`). The first
/// folder that has a pair wins.
#[derive(Default)]
pub struct FreeDict {
    found: Vec<Found>,
}

impl FreeDict {
    /// Looks for dictionaries in `folders`; a folder that is missing or unreadable has none.
    pub fn discover(folders: &[PathBuf]) -> Self {
        let mut found: Vec<Found> = Vec::new();
        for folder in folders {
            let Ok(listing) = std::fs::read_dir(folder) else {
                continue;
            };
            let mut names: Vec<PathBuf> = listing.flatten().map(|e| e.path()).collect();
            names.sort();
            for index in names {
                let Some((from, to)) = pair_of(&index) else {
                    continue;
                };
                if found.iter().any(|f| f.from == from && f.to == to) {
                    continue;
                }
                let Some(data) = data_beside(&index) else {
                    continue;
                };
                found.push(Found {
                    from,
                    to,
                    index,
                    data,
                    loaded: OnceCell::new(),
                });
            }
        }
        FreeDict { found }
    }

    /// The dictionaries found, one per language pair.
    pub fn files(&self) -> Vec<DictionaryFile> {
        self.found
            .iter()
            .map(|f| DictionaryFile {
                from: f.from.clone(),
                to: f.to.clone(),
                index: f.index.clone(),
            })
            .collect()
    }

    async fn dictionary(&self, from: &str, to: &str) -> PortResult<Option<Arc<Dictionary>>> {
        let Some(found) = self.found.iter().find(|f| f.from == from && f.to == to) else {
            return Ok(None);
        };
        let loaded = found
            .loaded
            .get_or_init(|| async {
                let (index, data) = (found.index.clone(), found.data.clone());
                let read = tokio::task::spawn_blocking(move || Dictionary::open(&index, &data))
                    .await
                    .map_err(LexiconError::from)
                    .and_then(|r| r);
                match read {
                    Ok(dictionary) => {
                        tracing::info!(
                            dictionary = %found.index.display(),
                            headwords = dictionary.len(),
                            "dictionary read"
                        );
                        Ok(Arc::new(dictionary))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a dictionary cannot be read");
                        Err(e.to_string())
                    }
                }
            })
            .await;
        match loaded {
            Ok(dictionary) => Ok(Some(dictionary.clone())),
            Err(message) => Err(PortError::new(ErrorCode::Unreadable, message.clone())),
        }
    }
}

#[async_trait]
impl Lexicon for FreeDict {
    fn translates(&self, from: &str, to: &str) -> bool {
        self.found.iter().any(|f| f.from == from && f.to == to)
    }

    async fn translate(
        &self,
        from: &str,
        to: &str,
        words: &[String],
        per_word: usize,
    ) -> PortResult<Vec<Vec<String>>> {
        let Some(dictionary) = self.dictionary(from, to).await? else {
            return Ok(vec![Vec::new(); words.len()]);
        };
        Ok(words
            .iter()
            .map(|word| {
                let word = word.to_lowercase();
                headword_forms(from, &word)
                    .into_iter()
                    .find(|form| dictionary.knows(form))
                    .map(|form| {
                        dictionary
                            .translations(&form)
                            .take(per_word)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect())
    }
}

/// ("eng", "deu") for `.../freedict-eng-deu.index`.
fn pair_of(index: &Path) -> Option<(String, String)> {
    let name = index.file_name()?.to_str()?;
    let pair = name.strip_prefix("freedict-")?.strip_suffix(".index")?;
    let (from, to) = pair.split_once('-')?;
    let code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase());
    (code(from) && code(to)).then(|| (from.to_string(), to.to_string()))
}

fn data_beside(index: &Path) -> Option<PathBuf> {
    ["dict.dz", "dict"]
        .into_iter()
        .map(|extension| index.with_extension(extension))
        .find(|path| path.is_file())
}

/// The forms a word of `language` may stand in the dictionary under, the word itself first:
/// dictionaries list English nouns in the singular and verbs in the infinitive, so
/// "packages" is looked up as "package" and "installed" as "install".
fn headword_forms(language: &str, word: &str) -> Vec<String> {
    let mut forms = vec![word.to_string()];
    if language != "eng" || word.chars().count() < 4 {
        return forms;
    }
    let mut add = |stem: &str, ending: &str| {
        if stem.chars().count() >= 2 {
            forms.push(format!("{stem}{ending}"));
        }
    };
    if let Some(stem) = word.strip_suffix("ies") {
        add(stem, "y");
    }
    if let Some(stem) = word.strip_suffix("es") {
        add(stem, "");
    }
    if let Some(stem) = word.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        add(stem, "");
    }
    if let Some(stem) = word.strip_suffix("ing") {
        add(stem, "");
        add(stem, "e");
    }
    if let Some(stem) = word.strip_suffix("ed") {
        add(stem, "");
        add(stem, "e");
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_files_are_named_by_their_language_pair() {
        let pair = |name: &str| pair_of(Path::new(name));
        assert_eq!(
            pair("/usr/share/dictd/freedict-eng-deu.index"),
            Some(("eng".into(), "deu".into()))
        );
        assert_eq!(pair("freedict-eng-deu.dict.dz"), None);
        assert_eq!(pair("wordnet.index"), None);
        assert_eq!(pair("freedict-english-german.index"), None);
    }

    #[test]
    fn english_words_are_looked_up_under_their_dictionary_form_too() {
        assert!(headword_forms("eng", "packages").contains(&"package".to_string()));
        assert!(headword_forms("eng", "libraries").contains(&"library".to_string()));
        assert!(headword_forms("eng", "installed").contains(&"install".to_string()));
        assert!(headword_forms("eng", "configuring").contains(&"configure".to_string()));
        assert_eq!(headword_forms("eng", "class")[0], "class");
        assert!(!headword_forms("eng", "class").contains(&"clas".to_string()));
        // Other languages are looked up as written.
        assert_eq!(headword_forms("deu", "pakete"), ["pakete"]);
    }
}
