//! Page furniture: running headers and footers and page numbers. A line at the top or bottom
//! of a page that recurs there on most pages (digits aside, so "Page 3 of 40" recurs) is
//! not content; it is marked so that chunks leave it out and no citation quotes it.

use cairn_core::{PageSpan, TextRange};
use std::collections::{HashMap, HashSet};

/// Lines looked at from each end of a page.
const EDGE_LINES: usize = 2;
/// Fewest pages a document needs before anything is called furniture.
const MIN_PAGES: usize = 3;
/// Share of the pages a line must recur on.
const MIN_SHARE: f64 = 0.4;
/// A line longer than this is prose, not a header.
const MAX_CHARS: usize = 160;
/// Lines that recur only with other numbers ("Page 3 of 40") must be this short: a longer
/// line that differs from page to page only in its numbers is content.
const MAX_NUMBERED_WORDS: usize = 6;

/// The ranges of `text` that are running headers, footers or page numbers.
pub(crate) fn running_lines(text: &str, pages: &[PageSpan]) -> Vec<TextRange> {
    if pages.len() < MIN_PAGES {
        return Vec::new();
    }
    let edges: Vec<Vec<Edge>> = pages
        .iter()
        .map(|p| edge_lines(text, p.start.min(text.len()), p.end.min(text.len())))
        .collect();
    // Pages each line recurs on: as written, and with its numbers left out.
    let mut exact: HashMap<&str, usize> = HashMap::new();
    let mut numbered: HashMap<&str, usize> = HashMap::new();
    for page in &edges {
        let lines: HashSet<&str> = page
            .iter()
            .map(|l| &text[l.range.start..l.range.end])
            .collect();
        for line in lines {
            *exact.entry(line).or_default() += 1;
        }
        let keys: HashSet<&str> = page.iter().map(|l| l.key.as_str()).collect();
        for key in keys {
            *numbered.entry(key).or_default() += 1;
        }
    }
    let needed = ((pages.len() as f64 * MIN_SHARE).ceil() as usize).max(MIN_PAGES);
    let recurs = |line: &Edge| {
        exact
            .get(&text[line.range.start..line.range.end])
            .is_some_and(|&n| n >= needed)
            || (line.key.split(' ').count() <= MAX_NUMBERED_WORDS
                && numbered
                    .get(line.key.as_str())
                    .is_some_and(|&n| n >= needed))
    };
    let mut out: Vec<TextRange> = edges
        .iter()
        .flatten()
        .filter(|line| recurs(line))
        .map(|line| line.range)
        .collect();
    out.sort_by_key(|r| r.start);
    out.dedup();
    out
}

/// A line near the top or bottom of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    range: TextRange,
    /// The line as compared across pages (numbers left out).
    key: String,
}

/// The first and last lines of a page with text.
fn edge_lines(text: &str, start: usize, end: usize) -> Vec<Edge> {
    // Every line with text, long ones (prose) as `None`: they count as lines from the edge.
    let mut lines = Vec::new();
    let mut at = start;
    for line in text[start..end].split_inclusive('\n') {
        let lead = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.chars().count() > MAX_CHARS {
            lines.push(None);
        } else if !body.is_empty() {
            let range = TextRange {
                start: at + lead,
                end: at + lead + body.len(),
            };
            lines.push(Some(Edge {
                range,
                key: key(body),
            }));
        }
        at += line.len();
    }
    let n = lines.len();
    lines
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i < EDGE_LINES || *i + EDGE_LINES >= n)
        .filter_map(|(_, line)| line)
        .collect()
}

/// A line as compared across pages: lowercase, digits and roman page numbers as `#`, runs of
/// whitespace as one space.
fn key(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut last_digit = false;
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let roman = word.len() <= 6
            && word
                .chars()
                .all(|c| matches!(c.to_ascii_lowercase(), 'i' | 'v' | 'x' | 'l'));
        if roman && word.len() > 1 {
            out.push('#');
            continue;
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_digit {
                    out.push('#');
                }
                last_digit = true;
            } else {
                out.extend(c.to_lowercase());
                last_digit = false;
            }
        }
        last_digit = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of text joined as the PDF extractor joins them, with their spans.
    fn paged(pages: &[String]) -> (String, Vec<PageSpan>) {
        let mut text = String::new();
        let mut spans = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            let start = text.len();
            text.push_str(page);
            spans.push(PageSpan {
                number: u32::try_from(i + 1).unwrap(),
                start,
                end: text.len(),
            });
        }
        (text, spans)
    }

    fn marked(text: &str, ranges: &[TextRange]) -> Vec<String> {
        ranges
            .iter()
            .map(|r| text[r.start..r.end].to_string())
            .collect()
    }

    const BODY: [&str; 6] = [
        "The act protects works of authorship.",
        "Circumvention of technical measures is prohibited.",
        "Libraries may make copies for preservation.",
        "Service providers are shielded from liability.",
        "Vessel hull designs receive their own protection.",
        "The Register of Copyrights reports to Congress.",
    ];

    #[test]
    fn a_running_header_and_numbered_footers_are_marked_and_the_content_is_not() {
        let pages: Vec<String> = (1..=6)
            .map(|n| {
                format!(
                    "The Digital Millennium Copyright Act of 1998\n{}\nIt was enacted as part of title {n}.\nPage {n} of 6",
                    BODY[n - 1]
                )
            })
            .collect();
        let (text, spans) = paged(&pages);
        let found = marked(&text, &running_lines(&text, &spans));
        assert_eq!(
            found
                .iter()
                .filter(|l| *l == "The Digital Millennium Copyright Act of 1998")
                .count(),
            6,
            "{found:?}"
        );
        assert!(found.contains(&"Page 4 of 6".to_string()), "{found:?}");
        assert_eq!(found.len(), 12, "only the header and the footer: {found:?}");
    }

    #[test]
    fn alternating_headers_of_a_book_are_both_marked() {
        let pages: Vec<String> = (1..=8)
            .map(|n| {
                let header = if n % 2 == 0 {
                    "A History of Bridges"
                } else {
                    "Chapter Two: Stone"
                };
                format!("{header}\n{}\n{}\n{n}", BODY[n % 6], BODY[(n + 3) % 6])
            })
            .collect();
        let (text, spans) = paged(&pages);
        let found = marked(&text, &running_lines(&text, &spans));
        assert_eq!(
            found
                .iter()
                .filter(|l| *l == "A History of Bridges")
                .count(),
            4
        );
        assert_eq!(
            found.iter().filter(|l| *l == "Chapter Two: Stone").count(),
            4
        );
        assert!(
            found.contains(&"7".to_string()),
            "bare page numbers: {found:?}"
        );
        assert_eq!(found.len(), 16, "headers and numbers only: {found:?}");
    }

    #[test]
    fn short_documents_and_lines_that_do_not_recur_have_no_furniture() {
        let (text, spans) = paged(&["Title\nBody one.".into(), "Title\nBody two.".into()]);
        assert!(running_lines(&text, &spans).is_empty());
        let pages: Vec<String> = BODY
            .iter()
            .zip([
                "Alpha opens",
                "Beta opens",
                "Gamma opens",
                "Delta opens",
                "Eta",
                "Zeta",
            ])
            .map(|(body, head)| format!("{head}\n{body}"))
            .collect();
        let (text, spans) = paged(&pages);
        assert!(running_lines(&text, &spans).is_empty());
    }
}
