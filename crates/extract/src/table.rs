//! Tables (spreadsheet sheets, CSV files) as text: each row one paragraph that names its
//! cells by their column headers ("Region = Europe | Revenue = 1200"), so that a chunk of
//! rows far down a sheet still says what its numbers are, and chunks end between rows.

use crate::builder::TextBuilder;
use crate::ExtractError;

/// Most cells one document may hold; a sheet declaring more is refused before it fills
/// memory.
pub(crate) const MAX_CELLS: u64 = 5_000_000;
/// Longest cell kept whole; longer ones are cut (a cell is not a document).
const MAX_CELL_CHARS: usize = 4_000;

/// Writes the rows of one table into `builder`, the first row taken for headers when it
/// looks like one.
pub(crate) struct TableWriter<'a> {
    builder: &'a mut TextBuilder,
    headers: Option<Vec<String>>,
    first: bool,
    cells: &'a mut u64,
}

impl<'a> TableWriter<'a> {
    /// Starts a table, under a section heading when it has a name (a sheet).
    pub fn new(builder: &'a mut TextBuilder, name: Option<&str>, cells: &'a mut u64) -> Self {
        if let Some(name) = name {
            builder.heading(1, name);
        }
        TableWriter {
            builder,
            headers: None,
            first: true,
            cells,
        }
    }

    /// Adds a row of cell texts (empty strings for empty cells).
    pub fn row(&mut self, cells: Vec<String>) -> Result<(), ExtractError> {
        *self.cells += cells.len() as u64;
        if *self.cells > MAX_CELLS {
            return Err(ExtractError::Limit(format!(
                "the table has more than {MAX_CELLS} cells"
            )));
        }
        let cells: Vec<String> = cells.into_iter().map(|c| tidy_cell(&c)).collect();
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        if std::mem::take(&mut self.first) && looks_like_headers(&cells) {
            self.builder.paragraph(&cells.join(" | "));
            self.headers = Some(cells);
            return Ok(());
        }
        let line = match &self.headers {
            Some(headers) => cells
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| match headers.get(i).filter(|h| !h.is_empty()) {
                    Some(h) => format!("{h} = {c}"),
                    None => c.clone(),
                })
                .collect::<Vec<_>>()
                .join(" | "),
            None => {
                let last = cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
                cells[..=last].join(" | ")
            }
        };
        self.builder.paragraph(&line);
        Ok(())
    }
}

/// A header row: at least one cell, every filled cell text that is not a number, no two
/// the same.
fn looks_like_headers(cells: &[String]) -> bool {
    let filled: Vec<&String> = cells.iter().filter(|c| !c.is_empty()).collect();
    let mut unique = filled.clone();
    unique.sort();
    unique.dedup();
    !filled.is_empty()
        && unique.len() == filled.len()
        && filled
            .iter()
            .all(|c| c.parse::<f64>().is_err() && c.chars().any(char::is_alphabetic))
}

/// One line, whitespace collapsed, at most [`MAX_CELL_CHARS`].
fn tidy_cell(cell: &str) -> String {
    let mut out: String = cell.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = out.char_indices().nth(MAX_CELL_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::DocumentKind;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_string()).collect()
    }

    #[test]
    fn rows_name_their_cells_by_header() {
        let mut builder = TextBuilder::new();
        let mut cells = 0;
        let mut table = TableWriter::new(&mut builder, Some("Sales"), &mut cells);
        table.row(row(&["Region", "Year", "Revenue"])).unwrap();
        table.row(row(&["Europe", "2023", "1200"])).unwrap();
        table.row(row(&["", "", ""])).unwrap();
        table.row(row(&["Asia", "", "  950\n"])).unwrap();
        let doc = builder.finish(DocumentKind::Spreadsheet, None);
        assert_eq!(
            doc.text,
            "Sales\n\nRegion | Year | Revenue\n\nRegion = Europe | Year = 2023 | Revenue = 1200\n\nRegion = Asia | Revenue = 950"
        );
        assert_eq!(doc.sections[0].heading_path, ["Sales"]);
        assert_eq!(cells, 12);
    }

    #[test]
    fn a_first_row_of_numbers_is_data() {
        let mut builder = TextBuilder::new();
        let mut cells = 0;
        let mut table = TableWriter::new(&mut builder, None, &mut cells);
        table.row(row(&["1", "2", ""])).unwrap();
        table.row(row(&["3", "4", ""])).unwrap();
        let doc = builder.finish(DocumentKind::Csv, None);
        assert_eq!(doc.text, "1 | 2\n\n3 | 4");
    }

    #[test]
    fn too_many_cells_is_a_limit() {
        let mut builder = TextBuilder::new();
        let mut cells = MAX_CELLS - 1;
        let mut table = TableWriter::new(&mut builder, None, &mut cells);
        let err = table.row(row(&["a", "b"])).unwrap_err();
        assert!(matches!(err, ExtractError::Limit(_)), "{err}");
    }
}
