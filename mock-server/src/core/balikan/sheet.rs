//! Reading an uploaded sheet: CSV (UTF-8, optional BOM, `,` or `;`) or `.xlsx` (first sheet).
//! Columns are the balikan fields with `NIK` first; line 1 is the header; row numbers are the
//! spreadsheet's line numbers.

use std::io::{BufRead, Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use quick_xml::events::{BytesStart, Event};

use super::validate::{RawRow, RawValue, RowError, Sink};
use crate::config::Limits;

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
    /// A limit of the settings' `[limits]` (by its key) refuses the file before it is read.
    #[error("File melebihi batas {limit} = {max}: {found}")]
    Limit {
        limit: &'static str,
        max: u64,
        found: String,
    },
}

fn over(limit: &'static str, max: impl TryInto<u64>, found: impl Into<String>) -> SheetError {
    SheetError::Limit {
        limit,
        max: max.try_into().unwrap_or(u64::MAX),
        found: found.into(),
    }
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

/// Reads a file within `limits` into `sink`, row by row: an .xlsx is looked into (entries'
/// sizes, the sheets' declared dimension and used range, the shared strings' count) before the
/// spreadsheet reader allocates anything for it; a CSV's lines and records are counted as they
/// are read. On an error, what the sink got is to be thrown away (the file is refused whole).
pub(crate) fn read<S: Sink + ?Sized>(
    kind: Kind,
    bytes: &[u8],
    limits: &Limits,
    sink: &mut S,
) -> Result<(), SheetError> {
    match kind {
        Kind::Csv => read_csv(bytes, limits, sink),
        Kind::Xlsx => {
            check_xlsx(bytes, limits)?;
            read_xlsx(bytes, sink)
        }
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

fn read_csv<S: Sink + ?Sized>(
    bytes: &[u8],
    limits: &Limits,
    sink: &mut S,
) -> Result<(), SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| SheetError::NotUtf8(e.valid_up_to()))?;
    if text.trim().is_empty() {
        return Err(SheetError::Empty);
    }
    if let Some((i, line)) = text
        .split('\n')
        .enumerate()
        .find(|(_, l)| l.len() > limits.csv_max_line_bytes)
    {
        return Err(over(
            "csv_max_line_bytes",
            limits.csv_max_line_bytes,
            format!("baris {} berisi {} byte", i + 1, line.len()),
        ));
    }
    let mut cells_total = 0usize;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(text))
        .has_headers(false)
        // Ragged rows are reported per row, not refused as a whole.
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Rows::new(sink);
    let mut data_records = 0usize;
    let mut lines = LineCounter::new(text);
    // One record reused: a row's cells go straight to the sink, nothing per line is kept.
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| SheetError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                reason: e.to_string(),
            })?;
        if !more {
            break;
        }
        let line = lines.line_of(record.position().map_or(0, |p| p.byte()));
        if record.len() > limits.sheet_max_columns {
            return Err(over(
                "sheet_max_columns",
                limits.sheet_max_columns,
                format!("baris {line} berisi {} kolom", record.len()),
            ));
        }
        if data_records >= limits.sheet_max_rows && rows.has_header() {
            return Err(over(
                "sheet_max_rows",
                limits.sheet_max_rows,
                format!("baris data ke-{} pada baris {line}", data_records + 1),
            ));
        }
        cells_total = cells_total.saturating_add(record.len());
        if cells_total > limits.sheet_max_cells {
            return Err(over(
                "sheet_max_cells",
                limits.sheet_max_cells,
                format!(
                    "lebih dari {} sel sampai baris {line}",
                    limits.sheet_max_cells
                ),
            ));
        }
        if !rows.has_header() {
            rows.header(record.iter().map(|c| c.trim().to_string()).collect());
            continue;
        }
        data_records += 1;
        rows.line(line, record.iter().map(cell).collect());
    }
    rows.finish()
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

fn read_xlsx<S: Sink + ?Sized>(bytes: &[u8], sink: &mut S) -> Result<(), SheetError> {
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
    let mut rows = Rows::new(sink);
    for (i, r) in range.rows().enumerate() {
        let line = first_line + i;
        // Columns left of the used range are empty: keep positions as on the sheet.
        let mut cells: Vec<RawValue> = (0..first_col).map(|_| RawValue::Absent).collect();
        cells.extend(r.iter().map(xlsx_cell));
        if !rows.has_header() {
            if cells.iter().all(|c| *c == RawValue::Absent) {
                continue;
            }
            let mut header: Vec<String> = cells
                .iter()
                .map(|c| match c {
                    RawValue::Text(t) => t.trim().to_string(),
                    _ => String::new(),
                })
                .collect();
            // Trailing empty header cells are the used range's padding, not columns.
            while header.last().is_some_and(String::is_empty) {
                header.pop();
            }
            rows.header(header);
            continue;
        }
        rows.line(line, cells);
    }
    rows.finish()
}

/// Counts the bytes read through it (the actual size of a zip entry, whatever it declares).
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Looks into an .xlsx before the spreadsheet reader does: entry count, the uncompressed size
/// each entry declares and the size it really inflates to (read through a counter that stops
/// past the budget), and in every worksheet its declared dimension and the range its cells
/// span; in the shared-strings table, the count it declares. The reader preallocates from the
/// latter two (a sheet with cells at A1 and XFD1048576 asks for 2^34 cells).
fn check_xlsx(bytes: &[u8], limits: &Limits) -> Result<(), SheetError> {
    let unreadable = |e: &dyn std::fmt::Display| SheetError::Xlsx(e.to_string());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if zip.len() > limits.xlsx_max_entries {
        return Err(over(
            "xlsx_max_entries",
            limits.xlsx_max_entries,
            format!("arsip berisi {} entri", zip.len()),
        ));
    }
    let budget = limits.xlsx_max_uncompressed_bytes;
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        declared = declared.saturating_add(entry.size());
    }
    if declared > budget {
        return Err(over(
            "xlsx_max_uncompressed_bytes",
            budget,
            format!("isi arsip menyatakan {declared} byte tanpa kompresi"),
        ));
    }
    let mut inflated = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let left = budget - inflated;
        let mut counted = Counted {
            inner: entry.take(left + 1),
            read: 0,
        };
        let scanned = scan_entry(&mut counted, limits);
        inflated += counted.read;
        if inflated > budget {
            return Err(over(
                "xlsx_max_uncompressed_bytes",
                budget,
                format!("isi arsip lebih dari {budget} byte tanpa kompresi (sampai {name})"),
            ));
        }
        scanned.map_err(|e| match e {
            Scan::Limit(l) => l,
            Scan::Bad(why) => SheetError::Xlsx(format!("{name}: {why}")),
        })?;
    }
    Ok(())
}

enum Scan {
    Limit(SheetError),
    Bad(String),
}

/// 0-based (row, column) of a cell reference such as `XFD1048576`.
fn cell_ref(r: &str) -> Option<(u64, u64)> {
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (col, row) = r.split_at(letters);
    let mut c = 0u64;
    for b in col.bytes() {
        c = c
            .checked_mul(26)?
            .checked_add(u64::from(b.to_ascii_uppercase() - b'A') + 1)?;
    }
    let row: u64 = if row.is_empty() { 1 } else { row.parse().ok()? };
    Some((row.checked_sub(1)?, c.saturating_sub(1)))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .map(|a| a.value.into_owned())
}

/// The bounding box of a worksheet's cells, checked against the limits as it grows.
#[derive(Default)]
struct Span {
    rows: Option<(u64, u64)>,
    cols: Option<(u64, u64)>,
    cells: u64,
}

impl Span {
    fn add(&mut self, row: u64, col: u64, limits: &Limits) -> Result<(), SheetError> {
        let grow = |s: &mut Option<(u64, u64)>, v: u64| {
            let (lo, hi) = s.get_or_insert((v, v));
            *lo = (*lo).min(v);
            *hi = (*hi).max(v);
            *hi - *lo + 1
        };
        let height = grow(&mut self.rows, row);
        let width = grow(&mut self.cols, col);
        self.cells += 1;
        let at = format!("sel {}", ref_name(row, col));
        check_box(height, width, limits, &at)?;
        if self.cells > limits.sheet_max_cells as u64 {
            return Err(over(
                "sheet_max_cells",
                limits.sheet_max_cells,
                format!("lebih dari {} sel", limits.sheet_max_cells),
            ));
        }
        Ok(())
    }
}

fn ref_name(row: u64, col: u64) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        letters.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row + 1)
}

/// A used range of `height` lines (header included) and `width` columns within the limits.
fn check_box(height: u64, width: u64, limits: &Limits, at: &str) -> Result<(), SheetError> {
    if height > limits.sheet_max_rows as u64 + 1 {
        return Err(over(
            "sheet_max_rows",
            limits.sheet_max_rows,
            format!("{at}: sheet membentang {height} baris"),
        ));
    }
    if width > limits.sheet_max_columns as u64 {
        return Err(over(
            "sheet_max_columns",
            limits.sheet_max_columns,
            format!("{at}: sheet membentang {width} kolom"),
        ));
    }
    if height.saturating_mul(width) > limits.sheet_max_cells as u64 {
        return Err(over(
            "sheet_max_cells",
            limits.sheet_max_cells,
            format!("{at}: sheet membentang {height} x {width} sel"),
        ));
    }
    Ok(())
}

/// Reads one zip entry to its end (so its actual size is counted). XML is parsed: a worksheet's
/// `dimension` and cells, a shared-strings table's declared count.
fn scan_entry(r: &mut impl Read, limits: &Limits) -> Result<(), Scan> {
    let mut buffered = std::io::BufReader::with_capacity(64 * 1024, r);
    let head = buffered.fill_buf().map_err(|e| Scan::Bad(e.to_string()))?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let is_xml = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    if !is_xml {
        std::io::copy(&mut buffered, &mut std::io::sink()).map_err(|e| Scan::Bad(e.to_string()))?;
        return Ok(());
    }
    let mut xml = quick_xml::Reader::from_reader(buffered);
    let mut buf = Vec::new();
    let mut root: Option<String> = None;
    let mut span = Span::default();
    let (mut row, mut col, mut rows_seen) = (0u64, None::<u64>, false);
    loop {
        buf.clear();
        let (e, filled) = match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => (e, true),
            Ok(Event::Empty(e)) => (e, false),
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => return Err(Scan::Bad(e.to_string())),
        };
        let local = e.local_name().as_ref().to_string();
        let Some(kind) = root.as_deref() else {
            if local == "sst" {
                for key in ["uniqueCount", "count"] {
                    let n = attr(&e, key).and_then(|v| v.trim().parse::<u64>().ok());
                    if n.is_some_and(|n| n > limits.sheet_max_cells as u64) {
                        return Err(Scan::Limit(over(
                            "sheet_max_cells",
                            limits.sheet_max_cells,
                            format!("tabel teks menyatakan {key}={}", n.unwrap_or(0)),
                        )));
                    }
                }
            }
            if local != "worksheet" {
                // Nothing else in this entry allocates by what it declares: count its bytes.
                let mut rest = xml.into_inner();
                std::io::copy(&mut rest, &mut std::io::sink())
                    .map_err(|e| Scan::Bad(e.to_string()))?;
                return Ok(());
            }
            root = Some(local);
            continue;
        };
        debug_assert_eq!(kind, "worksheet");
        match local.as_str() {
            "dimension" => {
                let Some(r) = attr(&e, "ref") else { continue };
                let mut corners = r.split(':').map(cell_ref);
                let (Some(Some(a)), b) = (corners.next(), corners.next()) else {
                    continue;
                };
                let b = b.flatten().unwrap_or(a);
                let height = a.0.abs_diff(b.0) + 1;
                let width = a.1.abs_diff(b.1) + 1;
                check_box(height, width, limits, &format!("dimensi {r}")).map_err(Scan::Limit)?;
            }
            "row" => {
                row = attr(&e, "r")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .and_then(|r| r.checked_sub(1))
                    .unwrap_or(if rows_seen { row + 1 } else { 0 });
                rows_seen = true;
                col = None;
            }
            "c" => {
                let (r, c) = attr(&e, "r")
                    .and_then(|v| cell_ref(v.trim()))
                    .unwrap_or((row, col.map_or(0, |c| c + 1)));
                row = r;
                col = Some(c);
                if filled {
                    span.add(r, c, limits).map_err(Scan::Limit)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns a sheet's lines into rows for a sink, one line at a time. Header problems come back
/// as errors of line 1.
struct Rows<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    header: Option<Vec<String>>,
    /// The header names NIK first: its data lines are rows.
    usable: bool,
    /// Rows and structure problems passed on.
    passed: usize,
}

impl<'s, S: Sink + ?Sized> Rows<'s, S> {
    fn new(sink: &'s mut S) -> Self {
        Rows {
            sink,
            header: None,
            usable: false,
            passed: 0,
        }
    }

    fn has_header(&self) -> bool {
        self.header.is_some()
    }

    fn error(&mut self, e: RowError) {
        self.passed += 1;
        self.sink.error(e);
    }

    fn header(&mut self, header: Vec<String>) {
        let nik_first = header
            .first()
            .is_some_and(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case("NIK"));
        if !nik_first {
            let first = header.first().map_or("", String::as_str);
            let e = RowError::at(1, None, first, "kolom pertama harus NIK");
            self.error(e);
        } else {
            for (i, h) in header.iter().enumerate().skip(1) {
                if h.is_empty() {
                    let e = RowError::at(1, None, "", format!("kolom {} tanpa nama", i + 1));
                    self.error(e);
                }
            }
        }
        self.usable = nik_first;
        self.header = Some(header);
    }

    fn line(&mut self, line: usize, cells: Vec<RawValue>) {
        let Some(header) = self.header.as_ref().filter(|_| self.usable) else {
            return;
        };
        if cells.iter().all(|c| *c == RawValue::Absent) {
            // Blank lines (often at the end of a sheet) are not rows.
            return;
        }
        let width = header.len();
        let mut cells = cells.into_iter();
        let nik = cells.next().unwrap_or(RawValue::Absent);
        let rest: Vec<RawValue> = cells.collect();
        if rest.len() + 1 > width && rest[width - 1..].iter().any(|c| *c != RawValue::Absent) {
            let nik_text = match &nik {
                RawValue::Text(t) => Some(t.trim()),
                _ => None,
            };
            let e = RowError::at(
                line,
                nik_text,
                "",
                format!(
                    "baris berisi {} kolom, header hanya {width}",
                    rest.len() + 1
                ),
            );
            self.error(e);
            return;
        }
        let mut rest = rest.into_iter();
        let row_cells = header
            .iter()
            .skip(1)
            .map(|h| (h, rest.next().unwrap_or(RawValue::Absent)))
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, v)| (h.clone(), v))
            .collect();
        self.passed += 1;
        self.sink.row(RawRow {
            row: line,
            nik,
            cells: row_cells,
        });
    }

    fn finish(mut self) -> Result<(), SheetError> {
        if self.header.is_none() {
            return Err(SheetError::NoHeader);
        }
        if self.usable && self.passed == 0 {
            self.error(RowError::at(
                1,
                None,
                "",
                "file tidak berisi baris data di bawah header",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sheet gave its sink.
    #[derive(Debug, Default)]
    struct Collected {
        rows: Vec<RawRow>,
        errors: Vec<RowError>,
    }

    impl Sink for Collected {
        fn row(&mut self, row: RawRow) {
            self.rows.push(row);
        }
        fn error(&mut self, error: RowError) {
            self.errors.push(error);
        }
    }

    fn read_csv(bytes: &[u8], limits: &Limits) -> Result<Collected, SheetError> {
        let mut c = Collected::default();
        super::read_csv(bytes, limits, &mut c).map(|()| c)
    }

    fn read(kind: Kind, bytes: &[u8], limits: &Limits) -> Result<Collected, SheetError> {
        let mut c = Collected::default();
        super::read(kind, bytes, limits, &mut c).map(|()| c)
    }

    #[test]
    fn csv_with_bom_semicolons_and_blank_lines() {
        let t = read_csv(b"\xEF\xBB\xBFNIK;NO_RM;GOL_DARAH\r\n3313014107890003;RM-1;O\r\n\r\n3313010101700001;\"RM;2\";\r\n", &Limits::default())
            .unwrap();
        let Collected { rows, errors } = t;
        assert!(errors.is_empty(), "{errors:?}");
        let keys: Vec<_> = rows[0].cells.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["NO_RM", "GOL_DARAH"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[1].row, 4);
        assert_eq!(rows[1].cells[0].1, RawValue::Text("RM;2".into()));
        assert_eq!(rows[1].cells[1].1, RawValue::Absent);
    }

    #[test]
    fn quoted_newlines_keep_spreadsheet_line_numbers() {
        let rows = read_csv(b"NIK,NO_RM\n1,\"a\nb\"\n2,c\n", &Limits::default())
            .unwrap()
            .rows;
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
            read_csv(b"NIK\n\xff\xfe", &Limits::default()).unwrap_err(),
            SheetError::NotUtf8(4)
        );
    }

    fn limit_of(e: SheetError) -> &'static str {
        match e {
            SheetError::Limit { limit, .. } => limit,
            other => panic!("not a limit: {other}"),
        }
    }

    /// Cells at A1 and XFD1048576: the reader would allocate 2^34 cells; refused first.
    #[test]
    fn sparse_range_workbook_is_refused_before_the_reader_allocates() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "NIK").unwrap();
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let e = read(Kind::Xlsx, &bytes, &Limits::default()).unwrap_err();
        assert_eq!(limit_of(e), "sheet_max_rows");
    }

    /// A declared dimension past the limits is refused even when the cells are few.
    #[test]
    fn declared_dimension_is_checked() {
        assert_eq!(
            check_box(
                1_048_576,
                16_384,
                &Limits::default(),
                "dimensi A1:XFD1048576"
            )
            .map_err(limit_of),
            Err("sheet_max_rows")
        );
        assert_eq!(cell_ref("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(ref_name(1_048_575, 16_383), "XFD1048576");
    }

    /// Text that inflates far past its compressed size (a deflate bomb) is refused by its
    /// actual size.
    #[test]
    fn deflate_bomb_is_refused_by_its_inflated_size() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "NIK").unwrap();
        for r in 1..40u32 {
            sheet
                .write_string(r, 0, format!("{r}{}", "a".repeat(32_000)))
                .unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        assert!(bytes.len() < 100_000, "{}", bytes.len());
        let limits = Limits {
            xlsx_max_uncompressed_bytes: 1_000_000,
            ..Limits::default()
        };
        let e = read(Kind::Xlsx, &bytes, &limits).unwrap_err();
        assert_eq!(limit_of(e), "xlsx_max_uncompressed_bytes");
        // Within the default budget it reads.
        assert_eq!(
            read(Kind::Xlsx, &bytes, &Limits::default())
                .unwrap()
                .rows
                .len(),
            39
        );
    }

    #[test]
    fn csv_rows_columns_and_line_length_are_bounded() {
        let limits = Limits {
            sheet_max_rows: 3,
            sheet_max_columns: 4,
            csv_max_line_bytes: 100,
            ..Limits::default()
        };
        let ok = b"NIK,A\n1,a\n2,b\n3,c\n";
        assert_eq!(read_csv(ok, &limits).unwrap().rows.len(), 3);
        let rows = b"NIK,A\n1,a\n2,b\n3,c\n4,d\n";
        assert_eq!(
            limit_of(read_csv(rows, &limits).unwrap_err()),
            "sheet_max_rows"
        );
        let wide = b"NIK,A,B,C,D\n";
        assert_eq!(
            limit_of(read_csv(wide, &limits).unwrap_err()),
            "sheet_max_columns"
        );
        let long = format!("NIK,A\n1,{}\n", "x".repeat(200));
        let e = read_csv(long.as_bytes(), &limits).unwrap_err();
        assert!(e.to_string().contains("csv_max_line_bytes"), "{e}");
        assert_eq!(limit_of(e), "csv_max_line_bytes");
    }
}
