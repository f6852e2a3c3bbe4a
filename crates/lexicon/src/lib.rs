//! Bilingual dictionaries for keyword search across languages.
//!
//! BM25 matches words, so an English question over German passages finds only names and
//! loan words. Given a dictionary from the question's language into the library's, the
//! engine searches each question word together with its translations
//! ([`cairn_core::ports::Lexicon`]). The dictionaries are FreeDict's, in the dictd format
//! (`freedict-eng-deu.index` beside `freedict-eng-deu.dict.dz`): Debian and Ubuntu install
//! them under `/usr/share/dictd` (`apt install dict-freedict-eng-deu`), and Cairn also looks
//! in its models folder. Nothing is downloaded here; a missing dictionary only means the
//! question is searched as it is written.

mod dictd;
mod error;
mod freedict;

pub use dictd::Dictionary;
pub use error::LexiconError;
pub use freedict::{DictionaryFile, FreeDict};
