//! What a document is called: its file name, its title, and the company it is about with that
//! company's ticker symbols, as its cover gives them.
//!
//! A question names a company ("3M's capital expenditure in FY2018", "MMM revenue") where the
//! passage with the figure only says "Purchases of property, plant and equipment". The
//! full-text index matches a document's names along with each of its chunks, so among several
//! filings alike the question's company picks its own.

use std::path::Path;

/// How far into a document its cover is looked for: filings name the registrant and its ticker
/// symbols on the first page or two.
const COVER_BYTES: usize = 16_000;

/// Longest line taken as a company's name.
const NAME_CHARS: usize = 100;

/// Exchanges a cover names right after a ticker symbol ("MMM New York Stock Exchange").
const EXCHANGES: [&str; 8] = [
    "New York Stock Exchange",
    "NYSE",
    "Nasdaq",
    "NASDAQ",
    "Chicago Stock Exchange",
    "Chicago Board Options Exchange",
    "London Stock Exchange",
    "Frankfurter Wertpapierbörse",
];

/// Words before which a ticker symbol follows a colon ("(NYSE: MMM)", "Ticker: AAPL").
const SYMBOL_LABELS: [&str; 10] = [
    "NYSE",
    "NASDAQ",
    "Nasdaq",
    "AMEX",
    "TSX",
    "LSE",
    "Xetra",
    "Ticker",
    "ticker",
    "Börsenkürzel",
];

/// Capitalised words of a cover that are never a ticker symbol.
const NOT_SYMBOLS: [&str; 16] = [
    "INC", "LLC", "LTD", "CORP", "CO", "THE", "AND", "PLC", "AG", "SE", "NV", "SA", "USD", "EUR",
    "NONE", "N/A",
];

/// The names of the document at `path` (file stem, title, company, ticker symbols), one per
/// line; empty for a document that came from a dataset rather than a file, whose title is
/// already its first heading.
pub fn document_names(path: &str, title: Option<&str>, text: &str) -> String {
    if !is_file(path) {
        return String::new();
    }
    let file = Path::new(path);
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: String| {
        let name = name.trim().to_string();
        if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    };
    if let Some(stem) = file.file_stem().and_then(|s| s.to_str()) {
        add(stem.replace(['_', '-', '.', '+'], " "));
    }
    if let Some(title) = title {
        add(title.trim_start_matches("Microsoft Word - ").to_string());
    }
    let cover = cover(text);
    if let Some(company) = registrant(cover) {
        add(company);
    }
    for symbol in ticker_symbols(cover) {
        add(symbol);
    }
    names.join("\n")
}

/// Whether a document's `path` is a file's (absolute) path, not a dataset's key.
pub fn is_file(path: &str) -> bool {
    Path::new(path).is_absolute()
}

/// The first [`COVER_BYTES`] of `text`, cut at a character boundary.
fn cover(text: &str) -> &str {
    let mut end = text.len().min(COVER_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The company a filing's cover names above "(Exact name of registrant as specified in its
/// charter)".
fn registrant(cover: &str) -> Option<String> {
    let marker = b"(exact name of registrant";
    // A byte offset, and a character boundary: the marker starts with an ASCII '('.
    let at = cover
        .as_bytes()
        .windows(marker.len())
        .position(|w| w.eq_ignore_ascii_case(marker))?;
    let before = &cover[..at];
    let same_line = before.rsplit('\n').next().unwrap_or("").trim();
    let line = if same_line.is_empty() {
        before
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())?
    } else {
        same_line
    };
    (line.chars().count() <= NAME_CHARS && line.chars().any(char::is_alphabetic))
        .then(|| line.to_string())
}

/// Ticker symbols on a cover: the capitalised word before an exchange's name in the table of
/// registered securities, or after "NYSE:", "Ticker:" and the like.
fn ticker_symbols(cover: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut keep = |word: &str| {
        let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | ':'));
        if is_symbol(word) && !out.iter().any(|s| s == word) {
            out.push(word.to_string());
        }
    };
    for line in cover.lines() {
        for exchange in EXCHANGES {
            for (at, _) in line.match_indices(exchange) {
                if let Some(word) = line[..at].split_whitespace().next_back() {
                    keep(word);
                }
            }
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            let label = pair[0].trim_start_matches('(');
            if let Some(label) = label.strip_suffix(':') {
                if SYMBOL_LABELS.contains(&label) {
                    keep(pair[1]);
                }
            }
        }
    }
    out
}

/// Whether `word` looks like a ticker symbol: up to six capitals, digits or a class dot
/// ("MMM", "BRK.B", "MMM26"), starting with a capital.
fn is_symbol(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && word.len() <= 6
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.')
        && !word.ends_with('.')
        && !NOT_SYMBOLS.contains(&word)
        && !EXCHANGES.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COVER: &str = "UNITED STATES SECURITIES AND EXCHANGE COMMISSION\n\
        FORM 10-K\n\
        3M COMPANY\n\
        (Exact name of registrant as specified in its charter)\n\
        Delaware 41-0417775\n\
        Securities registered pursuant to Section 12(b) of the Act:\n\
        Title of each class Trading Symbol(s) Name of each exchange on which registered\n\
        Common Stock, Par Value $.01 Per Share MMM New York Stock Exchange\n\
        Common Stock, Par Value $.01 Per Share MMM Chicago Stock Exchange, Inc.\n\
        1.500% Notes due 2026 MMM26 New York Stock Exchange\n";

    #[test]
    fn a_filing_is_named_by_its_file_its_registrant_and_its_ticker_symbols() {
        let names = document_names("/reports/3M_2018_10K.pdf", None, COVER);
        assert_eq!(names, "3M 2018 10K\n3M COMPANY\nMMM\nMMM26");
    }

    #[test]
    fn a_press_release_gives_its_ticker_after_the_exchange() {
        let text = "Acme Corp. (NASDAQ: ACME) today reported results. Globex (NYSE: GBX) did not.";
        let names = document_names("/news/q3.txt", Some("Microsoft Word - Q3 release"), text);
        assert_eq!(names, "q3\nQ3 release\nACME\nGBX");
    }

    #[test]
    fn ordinary_capitals_and_documents_from_a_dataset_have_no_names() {
        let text = "THE REPORT OF THE BOARD (EXACT NAME UNKNOWN)\nSee USD figures: NONE.";
        assert_eq!(document_names("/a/notes.md", Some("notes"), text), "notes");
        assert_eq!(document_names("beir:1234", Some("A title"), COVER), "");
    }

    #[test]
    fn a_cover_is_cut_at_a_character_boundary() {
        let text = "ä".repeat(COVER_BYTES);
        assert!(cover(&text).len() <= COVER_BYTES);
        assert!(cover(&text).chars().all(|c| c == 'ä'));
    }
}
