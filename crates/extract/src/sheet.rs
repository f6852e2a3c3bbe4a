//! Spreadsheets (XLSX, XLSM, ODS) with calamine: each worksheet is a section, each row a
//! paragraph with its header names. XLSX cells are streamed, so a sheet that declares a
//! huge range over a few cells costs only those cells (calamine's dense ranges would
//! allocate rows × columns); ODS, which calamine reads only as a range, stays within the
//! worker's memory limit.

use crate::builder::TextBuilder;
use crate::table::{TableWriter, MAX_CELLS};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use calamine::{Data, DataRef, Ods, Reader, SheetType, Xlsx};
use std::collections::BTreeMap;
use std::io::Cursor;

/// Columns a row may span: Excel's own maximum.
const MAX_COLUMNS: u32 = 16_384;

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    if bytes.starts_with(b"PK") && is_ods(bytes) {
        return extract_ods(bytes);
    }
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(corrupt("XLSX"))?;
    let sheets: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut builder = TextBuilder::new();
    let mut cells = 0u64;
    for name in sheets {
        let mut reader = workbook
            .worksheet_cells_reader(&name)
            .map_err(corrupt("XLSX"))?;
        let mut table = TableWriter::new(&mut builder, Some(&name), &mut cells);
        let mut current: Option<u32> = None;
        let mut row: BTreeMap<u32, String> = BTreeMap::new();
        let mut seen = 0u64;
        while let Some(cell) = reader.next_cell().map_err(corrupt("XLSX"))? {
            seen += 1;
            if seen > MAX_CELLS {
                return Err(ExtractError::Limit(format!(
                    "the sheet {name} has more than {MAX_CELLS} cells"
                )));
            }
            let (r, c) = cell.get_position();
            if current != Some(r) {
                if current.is_some() {
                    table.row(dense(std::mem::take(&mut row)))?;
                }
                current = Some(r);
            }
            if c < MAX_COLUMNS {
                let text = text_of_ref(cell.get_value());
                if !text.is_empty() {
                    row.insert(c, text);
                }
            }
        }
        if !row.is_empty() {
            table.row(dense(row))?;
        }
    }
    Ok(builder.finish(DocumentKind::Spreadsheet, None))
}

fn extract_ods(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let mut workbook: Ods<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(corrupt("ODS"))?;
    let mut builder = TextBuilder::new();
    let mut cells = 0u64;
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).map_err(corrupt("ODS"))?;
        let mut table = TableWriter::new(&mut builder, Some(&name), &mut cells);
        for row in range.rows() {
            table.row(row.iter().map(text_of).collect())?;
        }
    }
    Ok(builder.finish(DocumentKind::Spreadsheet, None))
}

/// Whether a zip is an OpenDocument spreadsheet, by its `mimetype` entry.
fn is_ods(bytes: &[u8]) -> bool {
    crate::archive::Archive::open(bytes, "ODS")
        .ok()
        .and_then(|mut a| a.read_optional("mimetype").ok().flatten())
        .is_some_and(|m| m.starts_with(b"application/vnd.oasis.opendocument.spreadsheet"))
}

/// A row's cells by column, with the gaps empty (columns past the last filled one dropped).
fn dense(row: BTreeMap<u32, String>) -> Vec<String> {
    let width = row.keys().next_back().map_or(0, |c| *c as usize + 1);
    let mut out = vec![String::new(); width];
    for (c, text) in row {
        out[c as usize] = text;
    }
    out
}

fn text_of_ref(value: &DataRef<'_>) -> String {
    match value {
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => date(d),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn text_of(value: &Data) -> String {
    match value {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => date(d),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

/// 1200.0 → "1200", 0.125 → "0.125": whole numbers as people type them.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// An Excel date as `2024-03-01`, with the time when it has one.
fn date(d: &calamine::ExcelDateTime) -> String {
    match d.as_datetime() {
        Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.format("%Y-%m-%d").to_string(),
        Some(dt) => dt.format("%Y-%m-%d %H:%M").to_string(),
        None => number(d.as_f64()),
    }
}

fn corrupt<E: std::fmt::Display>(format: &'static str) -> impl Fn(E) -> ExtractError {
    move |e| ExtractError::Corrupt {
        format,
        reason: e.to_string(),
    }
}
