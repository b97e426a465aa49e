//! Reading an uploaded sheet: CSV (UTF-8, optional BOM, `,` or `;`) or `.xlsx` (first sheet).
//! Columns are the balikan fields with `NIK` first; line 1 is the header; row numbers are the
//! spreadsheet's line numbers.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::validate::{RawRow, RawValue, RowError};

/// Why a file cannot be read at all (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SheetError {
    #[error("File kosong")]
    Empty,
    #[error("File CSV harus berenkode UTF-8 (byte tidak valid pada posisi {0})")]
    NotUtf8(usize),
    #[error("File CSV tidak dapat dibaca pada baris {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error("File .xlsx tidak dapat dibaca: {0}")]
    Xlsx(String),
    #[error("Format .xls (Excel 97-2003) tidak didukung; simpan sebagai .xlsx atau CSV")]
    Xls,
    #[error("File tidak berisi baris header (NIK, ...)")]
    NoHeader,
}

/// The file types the upload takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Csv,
    Xlsx,
}

/// Decides the type from the content first (a zip is `PK\x03\x04`), then from the file name.
pub(crate) fn detect(file_name: Option<&str>, bytes: &[u8]) -> Result<Kind, SheetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Kind::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(SheetError::Xls);
    }
    let name = file_name.unwrap_or("").to_ascii_lowercase();
    if name.ends_with(".xlsx") {
        // Named .xlsx but not a zip: let the reader say what is wrong.
        return Ok(Kind::Xlsx);
    }
    Ok(Kind::Csv)
}

/// A sheet as header plus rows of cells, each with its spreadsheet line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<RawValue>)>,
}

pub(crate) fn read(kind: Kind, bytes: &[u8]) -> Result<Table, SheetError> {
    match kind {
        Kind::Csv => read_csv(bytes),
        Kind::Xlsx => read_xlsx(bytes),
    }
}

/// `;` when the header line has more of them than commas (outside quotes), else `,`.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let (mut commas, mut semis, mut quoted) = (0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semis += 1,
            _ => {}
        }
    }
    if semis > commas {
        b';'
    } else {
        b','
    }
}

fn cell(text: &str) -> RawValue {
    if text.trim().is_empty() {
        RawValue::Absent
    } else {
        RawValue::Text(text.to_string())
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| SheetError::NotUtf8(e.valid_up_to()))?;
    if text.trim().is_empty() {
        return Err(SheetError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(text))
        .has_headers(false)
        // Ragged rows are reported per row, not refused as a whole.
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header = None;
    let mut rows = Vec::new();
    let mut lines = LineCounter::new(text);
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Csv {
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = lines.line_of(record.position().map_or(0, |p| p.byte()));
        let cells: Vec<&str> = record.iter().collect();
        if header.is_none() {
            header = Some(cells.iter().map(|c| c.trim().to_string()).collect());
            continue;
        }
        rows.push((line, cells.into_iter().map(cell).collect()));
    }
    Ok(Table {
        header: header.ok_or(SheetError::NoHeader)?,
        rows,
    })
}

/// Line numbers of records. The reader reports a record's position where the previous one
/// ended (before its line terminator and any blank lines), so skip those first; counting is
/// incremental because records come in order.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, byte: u64) -> usize {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.line += self.bytes[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.offset = start;
        }
        self.line
    }
}

/// A cell's value as text. Whole numbers lose nothing up to 2^53; beyond, Excel has rounded
/// them already, so the cell must hold text.
fn xlsx_cell(d: &Data) -> RawValue {
    match d {
        Data::Empty => RawValue::Absent,
        Data::String(s) => cell(s),
        Data::Int(i) => RawValue::Text(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
            // Exact: a whole f64 within 2^53 converts without loss.
            RawValue::Text(format!("{}", *f as i64))
        }
        Data::Float(f) if f.fract() == 0.0 => RawValue::Bad(format!(
            "angka {f} terlalu besar untuk sel angka Excel (presisi hilang); isi sel sebagai teks"
        )),
        Data::Float(f) => RawValue::Text(f.to_string()),
        Data::Bool(b) => RawValue::Bad(format!("nilai boolean {b} tidak diterima")),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            RawValue::Text(format!("{y:04}-{m:02}-{d:02}"))
        }
        Data::DateTimeIso(s) => RawValue::Text(s.chars().take(10).collect()),
        Data::DurationIso(s) => RawValue::Bad(format!("durasi {s} tidak diterima")),
        Data::Error(e) => RawValue::Bad(format!("sel berisi galat Excel {e}")),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, SheetError> {
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let range = match book.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| SheetError::Xlsx(e.to_string()))?,
        None => return Err(SheetError::Xlsx("workbook tidak berisi sheet".into())),
    };
    // The range starts at the first used cell; line numbers count from the sheet's top.
    let first_line = range
        .start()
        .map_or(1, |(r, _)| usize::try_from(r).unwrap_or(0) + 1);
    let first_col = range.start().map_or(0, |(_, c)| c);
    let mut header = None;
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let line = first_line + i;
        // Columns left of the used range are empty: keep positions as on the sheet.
        let mut cells: Vec<RawValue> = (0..first_col).map(|_| RawValue::Absent).collect();
        cells.extend(r.iter().map(xlsx_cell));
        if header.is_none() {
            if cells.iter().all(|c| *c == RawValue::Absent) {
                continue;
            }
            header = Some(
                cells
                    .iter()
                    .map(|c| match c {
                        RawValue::Text(t) => t.trim().to_string(),
                        _ => String::new(),
                    })
                    .collect::<Vec<_>>(),
            );
            continue;
        }
        rows.push((line, cells));
    }
    let mut header: Vec<String> = header.ok_or(SheetError::NoHeader)?;
    // Trailing empty header cells are the used range's padding, not columns.
    while header.last().is_some_and(String::is_empty) {
        header.pop();
    }
    Ok(Table { header, rows })
}

/// Turns a table into rows to validate. Header problems come back as errors of line 1.
pub(crate) fn rows(table: &Table) -> (Vec<RawRow>, Vec<RowError>) {
    let mut errors = Vec::new();
    let header = &table.header;
    let nik_first = header
        .first()
        .is_some_and(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case("NIK"));
    if !nik_first {
        errors.push(RowError::at(
            1,
            None,
            header.first().map_or("", String::as_str),
            "kolom pertama harus NIK",
        ));
        return (vec![], errors);
    }
    for (i, h) in header.iter().enumerate().skip(1) {
        if h.is_empty() {
            errors.push(RowError::at(
                1,
                None,
                "",
                format!("kolom {} tanpa nama", i + 1),
            ));
        }
    }
    let mut rows = Vec::new();
    for (line, cells) in &table.rows {
        if cells.iter().all(|c| *c == RawValue::Absent) {
            // Blank lines (often at the end of a sheet) are not rows.
            continue;
        }
        let nik = cells.first().cloned().unwrap_or(RawValue::Absent);
        let nik_text = match &nik {
            RawValue::Text(t) => Some(t.trim().to_string()),
            _ => None,
        };
        if cells.len() > header.len()
            && cells[header.len()..].iter().any(|c| *c != RawValue::Absent)
        {
            errors.push(RowError::at(
                *line,
                nik_text.as_deref(),
                "",
                format!(
                    "baris berisi {} kolom, header hanya {}",
                    cells.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let row_cells = header
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, h)| !h.is_empty())
            .map(|(i, h)| (h.clone(), cells.get(i).cloned().unwrap_or(RawValue::Absent)))
            .collect();
        rows.push(RawRow {
            row: *line,
            nik,
            cells: row_cells,
        });
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError::at(
            1,
            None,
            "",
            "file tidak berisi baris data di bawah header",
        ));
    }
    (rows, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_semicolons_and_blank_lines() {
        let t = read_csv(b"\xEF\xBB\xBFNIK;NO_RM;GOL_DARAH\r\n3313014107890003;RM-1;O\r\n\r\n3313010101700001;\"RM;2\";\r\n")
            .unwrap();
        assert_eq!(t.header, ["NIK", "NO_RM", "GOL_DARAH"]);
        let (rows, errors) = rows(&t);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[1].row, 4);
        assert_eq!(rows[1].cells[0].1, RawValue::Text("RM;2".into()));
        assert_eq!(rows[1].cells[1].1, RawValue::Absent);
    }

    #[test]
    fn quoted_newlines_keep_spreadsheet_line_numbers() {
        let t = read_csv(b"NIK,NO_RM\n1,\"a\nb\"\n2,c\n").unwrap();
        let (rows, _) = rows(&t);
        let lines: Vec<_> = rows.iter().map(|r| r.row).collect();
        assert_eq!(lines, [2, 4]);
    }

    #[test]
    fn detects_by_magic_then_name() {
        assert_eq!(
            detect(Some("a.csv"), b"PK\x03\x04rest").unwrap(),
            Kind::Xlsx
        );
        assert_eq!(detect(Some("a.XLSX"), b"NIK").unwrap(), Kind::Xlsx);
        assert_eq!(detect(None, b"NIK,NO_RM").unwrap(), Kind::Csv);
        assert_eq!(
            detect(Some("a.xls"), &[0xD0, 0xCF, 0x11, 0xE0]).unwrap_err(),
            SheetError::Xls
        );
    }

    #[test]
    fn invalid_utf8_is_named() {
        assert_eq!(
            read_csv(b"NIK\n\xff\xfe").unwrap_err(),
            SheetError::NotUtf8(4)
        );
    }
}
