//! CSV and TSV: the delimiter is found from the first lines, the encoding as for text; rows
//! are written like a spreadsheet's.

use crate::builder::TextBuilder;
use crate::table::TableWriter;
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let text = crate::text::decode(bytes)?;
    let delimiter = sniff(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut builder = TextBuilder::new();
    let mut cells = 0u64;
    let mut table = TableWriter::new(&mut builder, None, &mut cells);
    for record in reader.records() {
        let record = record.map_err(|e| ExtractError::Corrupt {
            format: "CSV",
            reason: e.to_string(),
        })?;
        table.row(record.iter().map(str::to_string).collect())?;
    }
    Ok(builder.finish(DocumentKind::Csv, None))
}

/// The delimiter that splits the first lines into the same number (above one) of fields
/// most often; a comma when none does.
fn sniff(text: &str) -> u8 {
    let sample: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    let mut best = (0usize, b',');
    for &d in &CANDIDATES {
        let counts: Vec<usize> = sample.iter().map(|l| fields_in(l, d)).collect();
        let Some(&mode) = mode_of(&counts) else {
            continue;
        };
        if mode < 2 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == mode).count();
        if agreeing > best.0 {
            best = (agreeing, d);
        }
    }
    best.1
}

/// Fields in one line split at `d`, quotes respected.
fn fields_in(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut fields = 1;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            fields += 1;
        }
    }
    fields
}

fn mode_of(counts: &[usize]) -> Option<&usize> {
    counts
        .iter()
        .max_by_key(|c| (counts.iter().filter(|x| x == c).count(), **c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_found() {
        assert_eq!(sniff("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff("Name;Betrag\nMüller;1,50\nSchmidt;2,75\n"), b';');
        assert_eq!(sniff("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff("one column\nonly\n"), b',');
    }

    #[test]
    fn rows_keep_their_headers_and_quotes() {
        let csv = "Name;Stadt;Betrag\n\"Müller; Hans\";Köln;1,50\nSchmidt;Bonn;2,75\n";
        let doc = extract(csv.as_bytes()).unwrap();
        assert_eq!(doc.kind, DocumentKind::Csv);
        assert_eq!(
            doc.text,
            "Name | Stadt | Betrag\n\nName = Müller; Hans | Stadt = Köln | Betrag = 1,50\n\nName = Schmidt | Stadt = Bonn | Betrag = 2,75"
        );
    }
}
