//! Tables in PDF pages. A financial statement comes out of plain text extraction as runs of
//! numbers with no labels ("1,234 1,100"); here the page's glyphs keep their positions, lines
//! are cut into cells at wide gaps, and a run of lines ending in numbers is read as a table:
//! its number columns are found from where the numbers stand, the lines just above that sit
//! over those columns are the column headers (years, quarters, dates), and the nearest short
//! line above them is the table's title. Each row is then written as one paragraph that says
//! what its numbers are, the way spreadsheet rows are (`crate::table`):
//! `Total current assets | 2018 = 1,234 | 2017 = 1,100`. A page without such a table keeps
//! pdf-extract's own text.

use pdf_extract::{MediaBox, OutputDev, OutputError, PlainTextOutput, Transform};
use std::ops::Range;

/// One glyph where the page shows it: left edge, baseline from the top of the page, right
/// edge, font size in points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glyph {
    pub x: f64,
    pub y: f64,
    pub end: f64,
    pub size: f64,
    pub text: String,
}

/// Forwards a page to pdf-extract's plain-text output and keeps each glyph's position too, so
/// the page is parsed once.
pub(crate) struct Recorder<'a> {
    plain: PlainTextOutput<&'a mut String>,
    height: f64,
    pub glyphs: Vec<Glyph>,
}

/// Most glyphs kept for the table reading of one page; a page with more keeps its plain text.
const MAX_GLYPHS: usize = 200_000;

impl<'a> Recorder<'a> {
    pub fn new(out: &'a mut String) -> Self {
        Recorder {
            plain: PlainTextOutput::new(out),
            height: 0.0,
            glyphs: Vec::new(),
        }
    }
}

impl OutputDev for Recorder<'_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        self.plain.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.plain.end_page()
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        if self.glyphs.len() < MAX_GLYPHS {
            // The same geometry as pdf-extract's plain text: the text matrix's origin, the
            // page flipped so that y grows downwards, the font size scaled by the matrix.
            let vx = font_size * (trm.m11 + trm.m21);
            let vy = font_size * (trm.m12 + trm.m22);
            let size = (vx * vy).abs().sqrt();
            let (x, y) = (trm.m31, self.height - trm.m32);
            if x.is_finite() && y.is_finite() && size.is_finite() && size > 0.0 {
                self.glyphs.push(Glyph {
                    x,
                    y,
                    end: x + width * size,
                    size,
                    text: char.to_string(),
                });
            }
        }
        self.plain
            .output_character(trm, width, spacing, font_size, char)
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.plain.begin_word()
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        self.plain.end_word()
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        self.plain.end_line()
    }
}

/// A page written out with its tables as labelled rows, and where each table (with its
/// title, if it has one) lies in that text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TablePage {
    pub text: String,
    pub tables: Vec<(Option<String>, Range<usize>)>,
}

/// A gap this many font sizes wide between glyphs of a line separates cells, not words.
const CELL_GAP: f64 = 1.2;
/// Lines above a table searched for its column headers, and then for its title.
const HEADER_LINES: usize = 4;
const TITLE_LINES: usize = 4;
/// How many lines back a piece of a line drawn out of order is looked for.
const MERGE_WINDOW: usize = 6;
/// Lines without numbers a table may hold in a row (a sub-heading such as "Current assets:").
const LABEL_RUN: usize = 2;

#[derive(Debug, Clone)]
struct Cell {
    x0: f64,
    x1: f64,
    text: String,
    /// Where each word of the cell starts and ends.
    words: Vec<(f64, f64)>,
}

impl Cell {
    fn new(g: &Glyph, text: String) -> Self {
        Cell {
            x0: g.x,
            x1: g.end,
            text,
            words: vec![(g.x, g.end)],
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    y: f64,
    size: f64,
    cells: Vec<Cell>,
}

impl Line {
    fn text(&self) -> String {
        self.cells
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How many cells at the end of the line are numbers.
    fn numbers(&self) -> usize {
        self.cells
            .iter()
            .rev()
            .take_while(|c| is_number(&c.text))
            .count()
    }

    /// The cells before the numbers, as one label.
    fn label(&self) -> String {
        let n = self.cells.len() - self.numbers();
        self.cells[..n]
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn words(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.text.split_whitespace().count())
            .sum()
    }
}

/// Reads the page's tables; `None` when it has none, and the page keeps its plain text.
pub(crate) fn read(glyphs: &[Glyph]) -> Option<TablePage> {
    let lines = lines(glyphs);
    let tables = find_tables(&lines);
    if tables.is_empty() {
        return None;
    }
    Some(write(&lines, &tables))
}

/// Glyphs in content order into lines of cells. A glyph starts a new line when its baseline
/// moves by half its size or it jumps back to the left.
fn lines(glyphs: &[Glyph]) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut last_end = f64::NEG_INFINITY;
    let mut space = false;
    for g in glyphs {
        if g.text.trim().is_empty() {
            space = true;
            continue;
        }
        let text = ligatures(&g.text);
        let same_line = out.last().is_some_and(|l| {
            (g.y - l.y).abs() <= 0.5 * g.size.max(l.size) && g.x >= last_end - g.size
        });
        if !same_line {
            out.push(Line {
                y: g.y,
                size: g.size,
                cells: vec![Cell::new(g, text)],
            });
        } else if let Some(line) = out.last_mut() {
            let gap = g.x - last_end;
            line.size = line.size.max(g.size);
            let cell = line.cells.last_mut().filter(|_| gap <= CELL_GAP * g.size);
            match cell {
                Some(cell) => {
                    if space || gap > 0.1 * g.size {
                        cell.text.push(' ');
                        cell.words.push((g.x, g.end));
                    } else if let Some(word) = cell.words.last_mut() {
                        word.1 = word.1.max(g.end);
                    }
                    cell.text.push_str(&text);
                    cell.x1 = cell.x1.max(g.end);
                }
                None => line.cells.push(Cell::new(g, text)),
            }
        }
        last_end = g.end;
        space = false;
    }
    let mut out = same_baselines(out);
    for line in &mut out {
        for cell in &mut line.cells {
            cell.text = cell.text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        line.cells.retain(|c| !c.text.is_empty());
    }
    out.retain(|l| !l.cells.is_empty());
    out
}

/// Lines drawn a piece at a time (a header written column by column) rejoined: a line on the
/// baseline of one of the few lines before it, beside its cells, joins that line.
fn same_baselines(lines: Vec<Line>) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    for line in lines {
        let beside = |m: &Line| {
            (m.y - line.y).abs() <= 0.3 * m.size.max(line.size)
                && !m
                    .cells
                    .iter()
                    .any(|a| line.cells.iter().any(|b| overlaps(a, (b.x0, b.x1), 0.0)))
        };
        match out.iter_mut().rev().take(MERGE_WINDOW).find(|m| beside(m)) {
            Some(m) => {
                m.size = m.size.max(line.size);
                m.cells.extend(line.cells);
                m.cells.sort_by(|a, b| a.x0.total_cmp(&b.x0));
            }
            None => out.push(line),
        }
    }
    out
}

fn ligatures(s: &str) -> String {
    s.replace('\u{fb01}', "fi")
        .replace('\u{fb02}', "fl")
        .replace('\u{fb00}', "ff")
        .replace('\u{fb03}', "ffi")
        .replace('\u{fb04}', "ffl")
        .replace('\u{0}', "")
}

/// A figure as statements print them: `1,234`, `(56)`, `$ 7.5`, `12%`, `-3`, or a dash for
/// nothing.
fn is_number(cell: &str) -> bool {
    let t = cell.trim();
    if matches!(t, "—" | "–" | "-" | "−" | "— %" | "—%") {
        return true;
    }
    let t = t.trim_start_matches(['$', '€', '£', '¥', '(', '+', '-', '−', ' ']);
    let t = t.trim_end_matches([')', '%', ' ']);
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '\'' | ' ' | '\u{a0}'))
}

/// A line that is part of a table's body: numbers at its end, after a label or on their own.
fn is_row(line: &Line) -> bool {
    let n = line.numbers();
    n >= 2 || (n == 1 && line.cells.len() >= 2)
}

#[derive(Debug)]
struct Table {
    /// Lines of the body (rows and sub-headings), by index.
    body: Range<usize>,
    headers: Range<usize>,
    title: Option<usize>,
    /// Column extents of the numbers, left to right.
    columns: Vec<(f64, f64)>,
}

fn find_tables(lines: &[Line]) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut i = 0;
    let mut taken = 0;
    while i < lines.len() {
        // A line of years alone heads a table; it does not start one.
        let years = lines[i].label().is_empty() && all_years(&lines[i]);
        if lines[i].numbers() < 2 || years {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut rows = 1;
        let mut j = i + 1;
        let mut labels = 0;
        while j < lines.len() {
            if is_row(&lines[j]) {
                rows += 1;
                labels = 0;
                end = j + 1;
            } else if lines[j].words() <= 8 && labels < LABEL_RUN {
                labels += 1;
            } else {
                break;
            }
            j += 1;
        }
        if rows >= 2 {
            let columns = columns(&lines[start..end]);
            // A sub-heading right above the first row ("Current assets:") belongs to the body.
            let mut start = start;
            while start > taken
                && i - start < LABEL_RUN
                && lines[start - 1].numbers() == 0
                && lines[start - 1].text().ends_with(':')
            {
                start -= 1;
            }
            let headers = headers(lines, taken, start..end, &columns);
            let title = title(lines, taken, headers.start);
            tables.push(Table {
                body: start..end,
                headers,
                title,
                columns,
            });
            taken = end;
        }
        i = end.max(i + 1);
    }
    tables
}

/// The columns of the numbers: the extents of number cells that overlap, merged.
fn columns(rows: &[Line]) -> Vec<(f64, f64)> {
    let mut spans: Vec<(f64, f64)> = rows
        .iter()
        .flat_map(|l| {
            let n = l.numbers();
            l.cells[l.cells.len() - n..].iter().map(|c| (c.x0, c.x1))
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (x0, x1) in spans {
        match merged.last_mut() {
            Some(last) if x0 <= last.1 => last.1 = last.1.max(x1),
            _ => merged.push((x0, x1)),
        }
    }
    merged
}

fn overlaps(cell: &Cell, column: (f64, f64), slack: f64) -> bool {
    cell.x0 <= column.1 + slack && cell.x1 >= column.0 - slack
}

/// The lines just above the body whose cells sit over its columns (`taken` is where the
/// previous table ended).
fn headers(
    lines: &[Line],
    taken: usize,
    body: Range<usize>,
    columns: &[(f64, f64)],
) -> Range<usize> {
    let start = body.start;
    // Where the rows' labels end: a header starts right of them.
    let labels_end = lines[body]
        .iter()
        .filter(|l| is_row(l))
        .flat_map(|l| l.cells[..l.cells.len() - l.numbers()].iter().map(|c| c.x1))
        .fold(f64::NEG_INFINITY, f64::max);
    let left = columns.first().map_or(f64::INFINITY, |c| c.0);
    let right = columns.last().map_or(f64::NEG_INFINITY, |c| c.1);
    let widest = columns.iter().map(|c| c.1 - c.0).fold(0.0, f64::max);
    let mut first = start;
    while first > taken && start - first < HEADER_LINES {
        let line = &lines[first - 1];
        let slack = line.size;
        let over = line
            .cells
            .iter()
            .filter(|c| columns.iter().any(|&col| overlaps(c, col, slack)))
            .count();
        // A header stands over the columns, or left of them all (a "(in millions)" stub); a
        // line that starts left of the columns and runs over them is a title or prose.
        let fits = line.cells.iter().all(|c| {
            c.x1 < left
                || (c.x0 > labels_end
                    && c.x0 >= left - widest - 2.0 * slack
                    && c.x1 <= right + 2.0 * slack
                    && columns.iter().any(|&col| overlaps(c, col, slack)))
        });
        let short = line
            .cells
            .iter()
            .all(|c| c.text.split_whitespace().count() <= 6);
        if over == 0 || !fits || !short || (is_row(line) && !all_years(line)) {
            break;
        }
        first -= 1;
    }
    first..start
}

fn all_years(line: &Line) -> bool {
    line.cells.iter().filter(|c| is_number(&c.text)).all(|c| {
        c.text
            .split(|ch: char| !ch.is_ascii_digit())
            .any(|w| w.len() == 4 && (w.starts_with("19") || w.starts_with("20")))
    })
}

/// The nearest short line above the headers that reads as a title.
fn title(lines: &[Line], taken: usize, above: usize) -> Option<usize> {
    let mut i = above;
    while i > taken && above - i < TITLE_LINES {
        i -= 1;
        let line = &lines[i];
        let text = line.text();
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let unit_note = text.starts_with('(') && text.ends_with(')');
        if unit_note || letters < 3 {
            continue;
        }
        let sentence = text.ends_with(['.', ',', ';', ':']);
        if line.words() <= 12 && !sentence && !is_row(line) {
            return Some(i);
        }
        return None;
    }
    None
}

/// Writes the page: lines as text, a blank line where the gap between lines is wider than a
/// line, and each table's rows as labelled paragraphs.
fn write(lines: &[Line], tables: &[Table]) -> TablePage {
    let mut text = String::new();
    let mut spans = Vec::new();
    let mut i = 0;
    let mut previous: Option<&Line> = None;
    let mut next_table = tables.iter().peekable();
    while i < lines.len() {
        if let Some(table) = next_table.next_if(|t| t.headers.start == i) {
            let start = paragraph_start(&mut text);
            let headers = column_headers(&lines[table.headers.clone()], &table.columns);
            let mut context: Option<String> = None;
            for line in &lines[table.body.clone()] {
                if !is_row(line) {
                    context = Some(line.text().trim_end_matches(':').to_string());
                    continue;
                }
                let row = row_text(line, &table.columns, &headers, context.as_deref());
                paragraph_start(&mut text);
                text.push_str(&row);
            }
            let title = table.title.map(|t| lines[t].text());
            spans.push((title, start..text.len()));
            previous = lines.get(table.body.end - 1);
            i = table.body.end;
            continue;
        }
        let line = &lines[i];
        if let Some(p) = previous {
            if !text.is_empty() {
                let gap = line.y - p.y;
                text.push('\n');
                if gap.abs() > 1.5 * line.size.max(p.size) {
                    text.push('\n');
                }
            }
        }
        text.push_str(&line.text());
        previous = Some(line);
        i += 1;
    }
    TablePage {
        text,
        tables: spans,
    }
}

/// Starts a paragraph and returns where it begins.
fn paragraph_start(text: &mut String) -> usize {
    if !text.is_empty() {
        while text.ends_with('\n') {
            text.pop();
        }
        text.push_str("\n\n");
    }
    text.len()
}

/// Each column's header: the header cells over it, top to bottom. A cell over several
/// columns heads them all ("Year Ended December 31,"), unless it is one word per column set
/// close together ("2018 2017"), when each word heads its own.
fn column_headers(header_lines: &[Line], columns: &[(f64, f64)]) -> Vec<String> {
    let mut headers = vec![Vec::new(); columns.len()];
    for line in header_lines {
        let slack = line.size;
        for cell in &line.cells {
            let over: Vec<usize> = (0..columns.len())
                .filter(|&i| overlaps(cell, columns[i], slack))
                .collect();
            let words: Vec<&str> = cell.text.split_whitespace().collect();
            let one_each = over.len() > 1
                && words.len() == cell.words.len()
                && words.len() == over.len()
                && cell.words.iter().zip(&over).all(|(&(x0, x1), &i)| {
                    let word = Cell {
                        x0,
                        x1,
                        text: String::new(),
                        words: Vec::new(),
                    };
                    overlaps(&word, columns[i], slack)
                });
            if one_each {
                for (word, &i) in words.iter().zip(&over) {
                    headers[i].push((*word).to_string());
                }
            } else if line.cells.len() == 1 && !over.is_empty() {
                // The only cell of its line, over the columns: it heads all of them.
                for header in &mut headers {
                    header.push(cell.text.clone());
                }
            } else {
                for &i in &over {
                    headers[i].push(cell.text.clone());
                }
            }
        }
    }
    headers.into_iter().map(|h| h.join(" ")).collect()
}

/// `label | header = value | …`, each number under the column it stands in.
fn row_text(
    line: &Line,
    columns: &[(f64, f64)],
    headers: &[String],
    context: Option<&str>,
) -> String {
    let label = line.label();
    let mut parts = Vec::new();
    match (context, label.is_empty()) {
        (Some(c), false) => parts.push(format!("{c}: {label}")),
        (None, false) => parts.push(label),
        (Some(c), true) => parts.push(c.to_string()),
        (None, true) => {}
    }
    let n = line.numbers();
    for cell in &line.cells[line.cells.len() - n..] {
        let column = columns
            .iter()
            .position(|&col| overlaps(cell, col, 0.0))
            .or_else(|| nearest(cell, columns));
        let header = column
            .and_then(|c| headers.get(c))
            .filter(|h| !h.is_empty());
        parts.push(match header {
            Some(h) => format!("{h} = {}", cell.text),
            None => cell.text.clone(),
        });
    }
    parts.join(" | ")
}

fn nearest(cell: &Cell, columns: &[(f64, f64)]) -> Option<usize> {
    let centre = (cell.x0 + cell.x1) / 2.0;
    (0..columns.len()).min_by(|&a, &b| {
        let d = |i: usize| (centre - (columns[i].0 + columns[i].1) / 2.0).abs();
        d(a).total_cmp(&d(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs for `text` set from `x` on baseline `y` at 10 pt, each character 5 pt wide.
    fn set(x: f64, y: f64, text: &str) -> Vec<Glyph> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let x = x + 5.0 * i as f64;
                Glyph {
                    x,
                    y,
                    end: x + 5.0,
                    size: 10.0,
                    text: c.to_string(),
                }
            })
            .collect()
    }

    /// A right-aligned figure ending at `right`.
    fn figure(right: f64, y: f64, text: &str) -> Vec<Glyph> {
        set(right - 5.0 * text.chars().count() as f64, y, text)
    }

    fn statement() -> Vec<Glyph> {
        let mut g = Vec::new();
        g.extend(set(
            50.0,
            40.0,
            "Our cash grew in the year, as the table below shows.",
        ));
        g.extend(set(50.0, 70.0, "CONSOLIDATED BALANCE SHEETS"));
        g.extend(set(50.0, 85.0, "(in millions)"));
        g.extend(figure(400.0, 100.0, "December 29,"));
        g.extend(figure(500.0, 100.0, "December 30,"));
        g.extend(figure(400.0, 112.0, "2018"));
        g.extend(figure(500.0, 112.0, "2017"));
        g.extend(set(50.0, 130.0, "Current assets:"));
        for (i, (label, a, b)) in [
            ("Cash and cash equivalents", "$ 3,019", "$ 3,433"),
            ("Accounts receivable, net", "6,722", "5,607"),
            ("Total current assets", "28,787", "29,500"),
        ]
        .iter()
        .enumerate()
        {
            let y = 142.0 + 12.0 * i as f64;
            g.extend(set(60.0, y, label));
            g.extend(figure(400.0, y, a));
            g.extend(figure(500.0, y, b));
        }
        g.extend(set(
            50.0,
            200.0,
            "See the notes to the financial statements.",
        ));
        g
    }

    #[test]
    fn each_row_keeps_its_label_and_the_years_of_its_columns() {
        let page = read(&statement()).expect("a table");
        let text = &page.text;
        assert!(
            text.contains(
                "Current assets: Total current assets | December 29, 2018 = 28,787 | \
                 December 30, 2017 = 29,500"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "Current assets: Cash and cash equivalents | December 29, 2018 = $ 3,019"
            ),
            "{text}"
        );
        // Prose before and after stays as it was; each row is a paragraph of its own.
        assert!(
            text.starts_with("Our cash grew in the year, as the table below shows."),
            "{text}"
        );
        assert!(
            text.ends_with("See the notes to the financial statements."),
            "{text}"
        );
        assert!(
            text.contains("\n\nCurrent assets: Accounts receivable, net |"),
            "{text}"
        );
        let (title, span) = &page.tables[0];
        assert_eq!(title.as_deref(), Some("CONSOLIDATED BALANCE SHEETS"));
        assert!(
            text[span.clone()].starts_with("Current assets: Cash"),
            "{text}"
        );
        assert!(text[span.clone()].ends_with("29,500"), "{text}");
    }

    #[test]
    fn a_page_of_prose_has_no_table() {
        let mut g = set(50.0, 40.0, "In 2018 the firm sold 1,200 cars and 300 vans.");
        g.extend(set(50.0, 52.0, "It plans to sell more in 2019."));
        assert_eq!(read(&g), None);
    }

    #[test]
    fn a_grid_of_bare_numbers_is_a_table_of_rows() {
        let mut g = Vec::new();
        for (r, row) in [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]]
            .iter()
            .enumerate()
        {
            for (c, n) in row.iter().enumerate() {
                g.extend(figure(100.0 + 60.0 * c as f64, 50.0 + 14.0 * r as f64, n));
            }
        }
        let page = read(&g).expect("a table");
        assert_eq!(page.text, "1 | 2 | 3\n\n4 | 5 | 6\n\n7 | 8 | 9");
    }

    #[test]
    fn figures_are_numbers_and_words_are_not() {
        for n in [
            "1,234", "(56)", "$ 7.5", "12%", "-3", "—", "2018", "1.234,5",
        ] {
            assert!(is_number(n), "{n}");
        }
        for w in ["Total", "Q3", "FY2018", "", "n/a", "3 months"] {
            assert!(!is_number(w), "{w}");
        }
    }
}
