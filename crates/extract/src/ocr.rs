//! Text recognition (OCR) of scans and photos with Tesseract, run as a command so that its
//! crashes and memory stay inside the extraction worker. Languages come from
//! `CAIRN_OCR_LANGUAGES` (`deu+eng`), by default the system language plus English.

use crate::tool::{self, ToolError};
use crate::ExtractError;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The formats Tesseract (through Leptonica) reads, by magic bytes.
pub(crate) fn format_of(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("PNG")
    } else if starts(b"\xff\xd8\xff") {
        Some("JPEG")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("TIFF")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("WebP")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("GIF")
    } else if starts(b"BM") {
        Some("BMP")
    } else if bytes.len() > 2 && bytes[0] == b'P' && matches!(bytes[1], b'1'..=b'6') {
        Some("PNM")
    } else {
        None
    }
}

/// Environment variable with the OCR languages as Tesseract names them, `+`-separated.
pub const LANGUAGES_ENV: &str = "CAIRN_OCR_LANGUAGES";
/// Environment variable with the most pages OCR reads in one document; 0 turns OCR off.
pub const MAX_PAGES_ENV: &str = "CAIRN_OCR_MAX_PAGES";
const DEFAULT_MAX_PAGES: u32 = 2000;
/// One page at 300 dpi takes 2–4 s on one core; a page that takes a minute is stopped.
const PAGE_LIMIT: Duration = Duration::from_secs(60);
/// Tesseract's own limit on either side of an image.
pub(crate) const MAX_SIDE: u32 = 32_767;
/// Most pixels of an image handed to Tesseract: a 600-dpi A3 scan has 70 million.
pub(crate) const MAX_PIXELS: u64 = 100_000_000;

const INSTALL_HINT: &str = "install Tesseract (Debian and Ubuntu: apt install tesseract-ocr; \
     macOS: brew install tesseract; Windows: the UB Mannheim installer)";

/// What a document reader needs to recognise pages: the settings, and where to report.
pub struct OcrRequest<'a> {
    pub languages: Vec<String>,
    pub max_pages: u32,
    /// Called with (page being recognised, pages to recognise), from several threads.
    pub progress: &'a (dyn Fn(u32, u32) + Sync),
}

impl<'a> OcrRequest<'a> {
    /// The settings from the environment, reporting to `progress`.
    pub fn from_env(progress: &'a (dyn Fn(u32, u32) + Sync)) -> Self {
        let languages = std::env::var(LANGUAGES_ENV)
            .ok()
            .map(|v| parse_languages(&v))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(default_languages);
        let max_pages = std::env::var(MAX_PAGES_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_PAGES);
        OcrRequest {
            languages,
            max_pages,
            progress,
        }
    }

    /// Refuses a document with more pages to recognise than the limit.
    pub(crate) fn check_pages(&self, pages: usize) -> Result<(), ExtractError> {
        if pages > self.max_pages as usize {
            return Err(ExtractError::Limit(format!(
                "{pages} pages have no text layer and need OCR, more than the {} pages \
                 read by OCR per document ({MAX_PAGES_ENV})",
                self.max_pages
            )));
        }
        Ok(())
    }

    /// Finds Tesseract and the languages of the request that are installed.
    pub(crate) fn engine(&self) -> Result<Tesseract, ExtractError> {
        let mut list = Command::new("tesseract");
        list.arg("--list-langs");
        let ran = tool::run(list, None, Duration::from_secs(30)).map_err(|e| match e {
            ToolError::Missing { .. } => ExtractError::OcrUnavailable(format!(
                "this file needs text recognition (OCR) and Tesseract is not installed: {INSTALL_HINT}"
            )),
            other => ExtractError::OcrUnavailable(format!("Tesseract cannot run: {other}")),
        })?;
        // `--list-langs` prints a header line, then one name per line.
        let listing = format!("{}\n{}", String::from_utf8_lossy(&ran.stdout), ran.stderr);
        let installed: Vec<&str> = listing
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains(' '))
            .collect();
        let usable: Vec<&str> = self
            .languages
            .iter()
            .map(String::as_str)
            .filter(|l| installed.contains(l))
            .collect();
        if usable.is_empty() {
            return Err(ExtractError::OcrUnavailable(format!(
                "none of the OCR languages {} is installed for Tesseract (installed: {}); \
                 install them (Debian: apt install tesseract-ocr-{}) or choose others in {LANGUAGES_ENV}",
                self.languages.join("+"),
                installed.join(", "),
                self.languages.first().map_or("eng", String::as_str),
            )));
        }
        if usable.len() < self.languages.len() {
            tracing::warn!(
                wanted = %self.languages.join("+"),
                using = %usable.join("+"),
                "some OCR languages are not installed"
            );
        }
        Ok(Tesseract {
            languages: usable.join("+"),
            // Orientation detection needs its own model; without it, upright pages only.
            osd: installed.contains(&"osd"),
        })
    }
}

/// A located Tesseract with the languages to read.
pub(crate) struct Tesseract {
    languages: String,
    osd: bool,
}

impl Tesseract {
    /// Recognises the text of an image (PNG, JPEG, TIFF, PNM…); a TIFF's frames come back
    /// as one text each. `dpi` is the image's resolution when known.
    pub fn recognise(&self, image: Vec<u8>, dpi: Option<u32>) -> Result<Vec<String>, ExtractError> {
        // Tesseract reads anything that is not an image as a list of image paths to open.
        if format_of(&image).is_none() {
            return Err(ExtractError::Ocr(
                "the page image is in no format Tesseract reads".into(),
            ));
        }
        let mut cmd = Command::new("tesseract");
        cmd.args(["stdin", "stdout", "-l", &self.languages, "--psm"])
            // psm 1: page segmentation with orientation detection, so that a page scanned
            // sideways or upside down is turned before it is read.
            .arg(if self.osd { "1" } else { "3" })
            .args(["-c", "debug_file=/dev/null"])
            // Tesseract's OpenMP threads slow it down many times when several run at once;
            // Cairn runs one recogniser per core instead.
            .env("OMP_THREAD_LIMIT", "1");
        if let Some(dpi) = dpi {
            cmd.args(["--dpi", &dpi.to_string()]);
        }
        let ran = tool::run(cmd, Some(image), PAGE_LIMIT).map_err(|e| match e {
            ToolError::Missing { .. } => {
                ExtractError::OcrUnavailable(format!("Tesseract is not installed: {INSTALL_HINT}"))
            }
            other => ExtractError::Ocr(format!("text recognition failed: {other}")),
        })?;
        if !ran.status.success() {
            let reason = ran
                .stderr
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("Warning"))
                .unwrap_or("no reason given")
                .to_string();
            return Err(ExtractError::Ocr(format!(
                "text recognition failed ({}): {reason}",
                ran.status
            )));
        }
        let text = String::from_utf8_lossy(&ran.stdout);
        let mut frames: Vec<String> = text.split('\u{c}').map(tidy_page).collect();
        // The text ends with a form feed after the last frame.
        if frames.len() > 1 && frames.last().is_some_and(String::is_empty) {
            frames.pop();
        }
        Ok(frames)
    }
}

/// Runs `recognise` over `items` on every core (at most 4 recognisers), reporting each item
/// as it starts; results come back in the order of `items`.
pub(crate) fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    progress: &(dyn Fn(u32, u32) + Sync),
    recognise: impl Fn(&T) -> Result<R, ExtractError> + Sync,
) -> Vec<Result<R, ExtractError>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
        .min(items.len().max(1));
    let total = u32::try_from(items.len()).unwrap_or(u32::MAX);
    let next = AtomicU32::new(0);
    let mut results: Vec<(usize, Result<R, ExtractError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i as usize) else {
                            break;
                        };
                        progress(i + 1, total);
                        out.push((i as usize, recognise(item)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Tesseract's text of one page: lines trimmed, runs of blank lines cut to one, words
/// hyphenated across a line joined.
fn tidy_page(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push_str("\n\n");
        } else if !out.is_empty() {
            if out.ends_with('-')
                && out[..out.len() - 1].ends_with(char::is_lowercase)
                && line.starts_with(char::is_lowercase)
            {
                out.pop();
            } else {
                out.push('\n');
            }
        }
        blank = false;
        out.push_str(line);
    }
    out
}

/// `deu+eng`, `deu, eng` or `deu eng` → `["deu", "eng"]`; anything but letters, digits and
/// `_` is dropped, so a setting can never smuggle an argument to Tesseract.
pub fn parse_languages(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in value.split(|c: char| c == '+' || c == ',' || c.is_whitespace()) {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The system language plus English, from `LC_ALL`, `LC_MESSAGES` or `LANG`.
pub fn default_languages() -> Vec<String> {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty());
    languages_for_locale(locale.as_deref().unwrap_or(""))
}

/// `de_DE.UTF-8` → `["deu", "eng"]`; an unknown or C locale gives English alone.
pub fn languages_for_locale(locale: &str) -> Vec<String> {
    let lower = locale.to_ascii_lowercase();
    let (lang, region) = lower
        .split(['.', '@'])
        .next()
        .map(|l| l.split_once(['_', '-']).unwrap_or((l, "")))
        .unwrap_or_default();
    let code = match (lang, region) {
        ("zh", "tw" | "hk" | "mo") => "chi_tra",
        ("zh", _) => "chi_sim",
        _ => ISO_639_1
            .iter()
            .find(|(two, _)| *two == lang)
            .map_or("eng", |(_, three)| three),
    };
    let mut out = vec![code.to_string()];
    if code != "eng" {
        out.push("eng".to_string());
    }
    out
}

/// ISO 639-1 codes and the names of Tesseract's language packs.
const ISO_639_1: &[(&str, &str)] = &[
    ("ar", "ara"),
    ("bg", "bul"),
    ("ca", "cat"),
    ("cs", "ces"),
    ("da", "dan"),
    ("de", "deu"),
    ("el", "ell"),
    ("en", "eng"),
    ("es", "spa"),
    ("et", "est"),
    ("fi", "fin"),
    ("fr", "fra"),
    ("he", "heb"),
    ("hi", "hin"),
    ("hr", "hrv"),
    ("hu", "hun"),
    ("id", "ind"),
    ("it", "ita"),
    ("ja", "jpn"),
    ("ko", "kor"),
    ("lt", "lit"),
    ("lv", "lav"),
    ("nb", "nor"),
    ("nl", "nld"),
    ("nn", "nor"),
    ("no", "nor"),
    ("pl", "pol"),
    ("pt", "por"),
    ("ro", "ron"),
    ("ru", "rus"),
    ("sk", "slk"),
    ("sl", "slv"),
    ("sr", "srp"),
    ("sv", "swe"),
    ("th", "tha"),
    ("tr", "tur"),
    ("uk", "ukr"),
    ("vi", "vie"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_language_comes_first_then_english() {
        assert_eq!(languages_for_locale("de_DE.UTF-8"), ["deu", "eng"]);
        assert_eq!(languages_for_locale("fr_CA"), ["fra", "eng"]);
        assert_eq!(languages_for_locale("zh_TW.UTF-8"), ["chi_tra", "eng"]);
        assert_eq!(languages_for_locale("en_GB.UTF-8"), ["eng"]);
        assert_eq!(languages_for_locale("C.UTF-8"), ["eng"]);
        assert_eq!(languages_for_locale(""), ["eng"]);
    }

    #[test]
    fn a_language_setting_cannot_carry_an_argument() {
        assert_eq!(parse_languages("deu+eng"), ["deu", "eng"]);
        assert_eq!(parse_languages(" deu, fra  eng+deu"), ["deu", "fra", "eng"]);
        assert_eq!(parse_languages("--psm=0;rm"), ["psm0rm"]);
    }

    #[test]
    fn tesseract_lines_are_tidied_and_hyphenated_words_joined() {
        let raw = "  The exam-\nple shows\n\n\n\nthe next para  \n";
        assert_eq!(tidy_page(raw), "The example shows\n\nthe next para");
    }

    #[test]
    fn parallel_results_keep_their_order() {
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |page: u32, pages: u32| seen.lock().unwrap().push((page, pages));
        let out = in_parallel(&[1, 2, 3, 4, 5], &progress, |n| Ok(n * 10));
        let out: Vec<i32> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, [10, 20, 30, 40, 50]);
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]);
    }
}
