//! Checking submitted rows against the institution's agreement: the same rules for the JSON
//! intake and for uploaded sheets. A failed check is a value (`RowError`), never an `Err`.
//!
//! Two key policies ([`BalikanKeys`]). `strict` refuses a row with a key outside the agreement,
//! a value that breaks its field's format or a required field missing. `free` (the default, as
//! the real service answers 200 `Success` for keys outside any agreement) stores such a row and
//! records what did not conform ([`Conformance`]) for the PoC to judge. Both refuse what cannot
//! be stored at all: a missing or invalid NIK, a key given twice, a row with no value.

use std::collections::BTreeMap;

use dukcapil_domain::{Agreement, Nik};
use dukcapil_mock_api::BalikanKeys;
use serde::Serialize;

/// A submitted value as read from JSON or a sheet cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawValue {
    Text(String),
    /// `null`, an empty cell or an empty string: not given.
    Absent,
    /// Not usable as a value (e.g. a JSON object); says why.
    Bad(String),
}

/// One submitted row, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRow {
    /// 1-based: submission order (JSON) or spreadsheet line (upload, header = line 1).
    pub row: usize,
    /// The NIK as sent (text), if any.
    pub nik: RawValue,
    /// Keys as sent, in order, with their values.
    pub cells: Vec<(String, RawValue)>,
}

/// What a row stored under the `free` key policy did not conform to in the agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Conformance {
    /// Keys outside the agreement's balikan fields, as sent (trimmed).
    pub unknown_keys: Vec<String>,
    /// Required fields of the agreement the row did not give.
    pub missing: Vec<String>,
    /// Fields whose value breaks the agreement's format, with the problem.
    pub invalid: BTreeMap<String, String>,
}

impl Conformance {
    /// Nothing to record.
    pub(crate) fn is_clean(&self) -> bool {
        self.unknown_keys.is_empty() && self.missing.is_empty() && self.invalid.is_empty()
    }

    /// A required field missing or a value out of format: what `strict` would refuse besides
    /// unknown keys (which the agreement does not forbid sending).
    pub(crate) fn breaks_agreement(&self) -> bool {
        !self.missing.is_empty() || !self.invalid.is_empty()
    }
}

/// A validated row: canonical keys, trimmed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidRow {
    pub row: usize,
    pub nik: Nik,
    pub values: BTreeMap<String, String>,
    /// Empty under `strict` (such rows are refused there).
    pub conformance: Conformance,
}

/// One problem of a submission, named by row and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RowError {
    /// 1-based row (see [`RawRow::row`]); `None` for a problem of a whole block.
    pub row: Option<usize>,
    /// 1-based index of the institution block of a JSON submission, for block problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<usize>,
    /// The NIK as sent, if any.
    pub nik: Option<String>,
    pub key: String,
    pub problem: String,
}

impl RowError {
    pub(crate) fn at(
        row: usize,
        nik: Option<&str>,
        key: &str,
        problem: impl Into<String>,
    ) -> RowError {
        RowError {
            row: Some(row),
            block: None,
            nik: nik.map(str::to_string),
            key: key.to_string(),
            problem: problem.into(),
        }
    }
}

/// The agreement's key for a submitted key: exact, else ignoring case and surrounding spaces.
pub(crate) fn canonical_key<'a>(agreement: &'a Agreement, key: &str) -> Option<&'a str> {
    let k = key.trim();
    agreement
        .balikan
        .iter()
        .find(|b| b.key == k)
        .or_else(|| {
            agreement
                .balikan
                .iter()
                .find(|b| b.key.eq_ignore_ascii_case(k))
        })
        .map(|b| b.key.as_str())
}

fn allowed(agreement: &Agreement) -> String {
    agreement
        .balikan
        .iter()
        .map(|b| b.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Problems of a submission in answer order (problems of a whole block first, then by row, in
/// the order found within a row), of which only the first `MAX_KEPT` are held: an answer lists
/// at most that many, and a file of 50,000 bad rows would otherwise hold every one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorList {
    kept: Vec<RowError>,
    total: usize,
}

impl ErrorList {
    /// Problems held (the most an answer lists).
    pub(crate) const MAX_KEPT: usize = 1000;

    fn order(e: &RowError) -> (bool, Option<usize>, Option<usize>) {
        (e.row.is_some(), e.row, e.block)
    }

    /// Adds a problem where a stable sort of all of them would put it; past `MAX_KEPT`, the
    /// last in that order is only counted.
    pub(crate) fn push(&mut self, e: RowError) {
        self.total += 1;
        let key = Self::order(&e);
        // Problems mostly come in order: the common case is an append or a drop.
        let at = self.kept.partition_point(|k| Self::order(k) <= key);
        if at < Self::MAX_KEPT {
            self.kept.insert(at, e);
            self.kept.truncate(Self::MAX_KEPT);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// All problems found, held or not.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The first problems, in answer order.
    pub(crate) fn kept(&self) -> &[RowError] {
        &self.kept
    }
}

impl FromIterator<RowError> for ErrorList {
    fn from_iter<I: IntoIterator<Item = RowError>>(iter: I) -> Self {
        let mut list = ErrorList::default();
        iter.into_iter().for_each(|e| list.push(e));
        list
    }
}

/// Where a reader of a submission puts what it read: rows to validate, and problems of the
/// submission's structure (in the order found, before the rows they precede).
pub(crate) trait Sink {
    fn row(&mut self, row: RawRow);
    fn error(&mut self, error: RowError);
}

/// The one NIK a submission names, if it names only one (for the journal row).
#[derive(Debug, Default)]
enum OneNik {
    #[default]
    None,
    One(String),
    Many,
}

/// Validates rows as they are read, keeping only what the answer needs: the valid rows while
/// there is no problem (a submission with one is refused whole), the problems (bounded).
#[derive(Debug)]
pub(crate) struct Checker<'a> {
    agreement: &'a Agreement,
    keys: BalikanKeys,
    nik: OneNik,
    valid: Vec<ValidRow>,
    errors: ErrorList,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(agreement: &'a Agreement, keys: BalikanKeys) -> Self {
        Checker {
            agreement,
            keys,
            nik: OneNik::None,
            valid: Vec::new(),
            errors: ErrorList::default(),
        }
    }

    /// The one NIK of the rows (if they name only one), and the valid rows or the problems.
    pub(crate) fn finish(self) -> (Option<String>, Result<Vec<ValidRow>, ErrorList>) {
        let nik = match self.nik {
            OneNik::One(n) => Some(n),
            _ => None,
        };
        if self.errors.is_empty() {
            (nik, Ok(self.valid))
        } else {
            (nik, Err(self.errors))
        }
    }
}

impl Sink for Checker<'_> {
    fn row(&mut self, raw: RawRow) {
        if let RawValue::Text(t) = &raw.nik {
            let t = t.trim();
            self.nik = match std::mem::take(&mut self.nik) {
                OneNik::None => OneNik::One(t.to_string()),
                OneNik::One(n) if n == t => OneNik::One(n),
                _ => OneNik::Many,
            };
        }
        match validate_row(self.agreement, &raw, self.keys) {
            Ok(v) if self.errors.is_empty() => self.valid.push(v),
            Ok(_) => {}
            Err(e) => {
                // Refused whole: the valid rows are no longer needed.
                self.valid = Vec::new();
                e.into_iter().for_each(|e| self.errors.push(e));
            }
        }
    }

    fn error(&mut self, error: RowError) {
        self.valid = Vec::new();
        self.errors.push(error);
    }
}

/// Validates every row; all problems of all rows are reported, in row order.
#[cfg(test)]
pub(crate) fn validate(
    agreement: &Agreement,
    rows: &[RawRow],
    keys: BalikanKeys,
) -> Result<Vec<ValidRow>, Vec<RowError>> {
    let mut valid = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for raw in rows {
        match validate_row(agreement, raw, keys) {
            Ok(v) => valid.push(v),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(errors)
    }
}

fn validate_row(
    agreement: &Agreement,
    raw: &RawRow,
    keys: BalikanKeys,
) -> Result<ValidRow, Vec<RowError>> {
    let strict = keys == BalikanKeys::Strict;
    let mut errors = Vec::new();
    let mut conformance = Conformance::default();
    let nik_text = match &raw.nik {
        RawValue::Text(t) => Some(t.trim()),
        _ => None,
    };
    let err = |key: &str, problem: String| RowError::at(raw.row, nik_text, key, problem);
    let nik = match &raw.nik {
        RawValue::Text(t) => match t.trim().parse::<Nik>() {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(err("NIK", format!("NIK tidak valid: {e}")));
                None
            }
        },
        RawValue::Absent => {
            errors.push(err("NIK", "NIK wajib diisi".into()));
            None
        }
        RawValue::Bad(why) => {
            errors.push(err("NIK", format!("NIK tidak valid: {why}")));
            None
        }
    };
    let mut values = BTreeMap::new();
    for (key, value) in &raw.cells {
        let canon = match canonical_key(agreement, key) {
            Some(c) => c,
            None if strict => {
                errors.push(err(
                    key,
                    format!(
                        "kunci tidak dikenal untuk perjanjian {} (yang berlaku: {})",
                        agreement.id,
                        allowed(agreement)
                    ),
                ));
                continue;
            }
            None => key.trim(),
        };
        let known = agreement.balikan_field(canon).is_some();
        if values.contains_key(canon) {
            errors.push(err(canon, "diisi lebih dari sekali".into()));
            continue;
        }
        let text = match value {
            RawValue::Absent => continue,
            RawValue::Bad(why) if strict => {
                errors.push(err(canon, why.clone()));
                continue;
            }
            RawValue::Bad(why) => {
                conformance.invalid.insert(canon.to_string(), why.clone());
                continue;
            }
            RawValue::Text(t) if t.trim().is_empty() => continue,
            RawValue::Text(t) => t.trim(),
        };
        if let Some(field) = agreement.balikan_field(canon) {
            if let Err(problem) = field.check(text) {
                if strict {
                    errors.push(err(canon, problem));
                    continue;
                }
                // Stored as sent, as the real service stores it; the PoC judges the format.
                conformance.invalid.insert(canon.to_string(), problem);
            }
        }
        if !known {
            conformance.unknown_keys.push(canon.to_string());
        }
        values.insert(canon.to_string(), text.to_string());
    }
    for field in agreement.required_balikan() {
        let given_but_bad = errors.iter().any(|e| e.key == field.key)
            || conformance.invalid.contains_key(&field.key);
        if !values.contains_key(&field.key) && !given_but_bad {
            if strict {
                errors.push(err(&field.key, "wajib diisi".into()));
            } else {
                conformance.missing.push(field.key.clone());
            }
        }
    }
    if errors.is_empty() && values.is_empty() {
        errors.push(err("param", "tidak ada data balikan untuk NIK ini".into()));
    }
    match nik {
        Some(nik) if errors.is_empty() => Ok(ValidRow {
            row: raw.row,
            nik,
            values,
            conformance,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsud() -> Agreement {
        Agreement::embedded()
            .into_iter()
            .find(|a| a.customer_id == "rsud_3313")
            .unwrap()
    }

    fn text(s: &str) -> RawValue {
        RawValue::Text(s.into())
    }

    #[test]
    fn names_each_bad_key_of_each_row() {
        let a = rsud();
        let rows = vec![
            RawRow {
                row: 1,
                nik: text("3313014107890003"),
                cells: vec![
                    ("no_rm".into(), text(" RM-1 ")),
                    ("GOL_DARAH".into(), text("O")),
                ],
            },
            RawRow {
                row: 2,
                nik: text("3313014107890003"),
                cells: vec![("GOL_DARAH".into(), text("Z")), ("WARNA".into(), text("x"))],
            },
            RawRow {
                row: 3,
                nik: text("1234"),
                cells: vec![("NO_RM".into(), text("RM-2"))],
            },
        ];
        let errors = validate(&a, &rows, BalikanKeys::Strict).unwrap_err();
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.row.unwrap(), e.key.as_str()))
            .collect();
        assert_eq!(
            got,
            [(2, "GOL_DARAH"), (2, "WARNA"), (2, "NO_RM"), (3, "NIK")]
        );
        let ok = validate(&a, &rows[..1], BalikanKeys::Strict).unwrap();
        assert_eq!(ok[0].values["NO_RM"], "RM-1");
        assert_eq!(ok[0].values.len(), 2);
        assert!(ok[0].conformance.is_clean());
    }

    #[test]
    fn free_keys_store_the_row_and_record_what_did_not_conform() {
        let a = rsud();
        let rows = vec![
            RawRow {
                row: 1,
                nik: text("3313014107890003"),
                cells: vec![
                    ("GOL_DARAH".into(), text("Z")),
                    (" WARNA ".into(), text("biru")),
                ],
            },
            RawRow {
                row: 2,
                nik: text("1234"),
                cells: vec![("NO_RM".into(), text("RM-2"))],
            },
        ];
        // The NIK still has to be one: a row the ledger cannot key is refused in both policies.
        let errors = validate(&a, &rows, BalikanKeys::Free).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].row, errors[0].key.as_str()), (Some(2), "NIK"));
        let ok = validate(&a, &rows[..1], BalikanKeys::Free).unwrap();
        let c = &ok[0].conformance;
        assert_eq!(c.unknown_keys, ["WARNA"]);
        assert_eq!(c.missing, ["NO_RM"]);
        assert_eq!(c.invalid.keys().collect::<Vec<_>>(), ["GOL_DARAH"]);
        assert!(c.breaks_agreement());
        assert_eq!(ok[0].values["GOL_DARAH"], "Z");
        assert_eq!(ok[0].values["WARNA"], "biru");
        // Only unknown keys: stored, recorded, and within the agreement.
        let extra = vec![RawRow {
            row: 1,
            nik: text("3313014107890003"),
            cells: vec![("NO_RM".into(), text("RM-1")), ("x".into(), text("y"))],
        }];
        let ok = validate(&a, &extra, BalikanKeys::Free).unwrap();
        assert_eq!(ok[0].conformance.unknown_keys, ["x"]);
        assert!(!ok[0].conformance.breaks_agreement());
    }
}
