//! The balikan ledger: one row per institution, NIK and distinct set of values, in its own table
//! of the state database (schema in [`super`]). Writes go through the state writer thread, with the journal row of their request (`Writer::journal_with`);
//! reads use fresh read-only connections, like the journal.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use dukcapil_mock_api::LedgerEntry;
use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;

use super::{state_path, StoreError};

/// How an entry arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Method {
    Store,
    Upload,
}

impl Method {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Method::Store => "store",
            Method::Upload => "upload",
        }
    }

    /// The journal's endpoint name of a request by this method.
    pub(crate) const fn endpoint(self) -> &'static str {
        match self {
            Method::Store => "balikan_store",
            Method::Upload => "balikan_upload",
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEntry {
    /// UTC, RFC 3339 with microseconds (the mock's clock).
    pub time: String,
    pub customer_id: String,
    /// 16 digits, validated.
    pub nik: String,
    pub method: Method,
    /// Row number in the submission (JSON: 1-based order; upload: spreadsheet line).
    pub row: usize,
    /// Canonical JSON of the values (keys sorted): equal values give equal text.
    pub values_json: String,
    pub never_looked_up: bool,
    /// What did not conform to the agreement (`free` key policy), as JSON
    /// `{"unknown_keys": [...], "missing": [...], "invalid": {...}}`; `None`: everything did.
    pub conformance_json: Option<String>,
}

/// Filters of a ledger query; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LedgerFilter {
    pub customer_id: Option<String>,
    pub nik: Option<String>,
    pub limit: u32,
}

/// Canonical text of a set of values.
pub(crate) fn values_json(values: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(values).unwrap_or_default()
}

/// Appends entries (in the writer's transaction). A repeat is ignored, not an error.
pub(crate) fn insert(tx: &rusqlite::Connection, entries: &[NewEntry]) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO balikan_ledger(time, customer_id, nik, method, row_no, values_json, never_looked_up, conformance)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in entries {
        st.execute(params![
            e.time,
            e.customer_id,
            e.nik,
            e.method.as_str(),
            i64::try_from(e.row).unwrap_or(i64::MAX),
            e.values_json,
            e.never_looked_up,
            e.conformance_json,
        ])?;
    }
    Ok(())
}

/// Empties the ledger (admin reset).
pub(crate) fn clear(tx: &rusqlite::Connection) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM balikan_ledger", []).map(|_| ())
}

fn read_only(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = state_path(data_dir);
    Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|source| StoreError::new(&path, source))
}

fn sql(data_dir: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::new(&state_path(data_dir), source)
}

/// What the ledger and the journal already say about the NIKs of a submission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Known {
    /// `(nik, values_json)` pairs already in the ledger for the institution.
    pub sent: HashSet<(String, String)>,
    /// NIKs the institution has looked up (per the lookup ledger, kept apart from the journal).
    pub looked_up: HashSet<String>,
}

/// Reads, for `customer_id` and the given NIKs, the ledger's entries and the journal's lookups.
/// One pass over each table, whatever the number of NIKs. Blocking: call from `spawn_blocking`.
pub(crate) fn known(
    data_dir: &Path,
    customer_id: &str,
    niks: &[String],
) -> Result<Known, StoreError> {
    let conn = read_only(data_dir)?;
    let list = serde_json::to_string(niks).unwrap_or_else(|_| "[]".into());
    let mut known = Known::default();
    let mut st = conn
        .prepare(
            "SELECT nik, values_json FROM balikan_ledger
             WHERE customer_id = ?1 AND nik IN (SELECT value FROM json_each(?2))",
        )
        .map_err(sql(data_dir))?;
    let rows = st
        .query_map(params![customer_id, list], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql(data_dir))?;
    for row in rows {
        known.sent.insert(row.map_err(sql(data_dir))?);
    }
    // The lookup ledger, which the journal's caps do not prune (see `super::open_rw`).
    let mut st = conn
        .prepare(
            "SELECT nik FROM lookups
             WHERE customer_id = ?1 AND nik IN (SELECT value FROM json_each(?2))",
        )
        .map_err(sql(data_dir))?;
    let rows = st
        .query_map(params![customer_id, list], |r| r.get::<_, String>(0))
        .map_err(sql(data_dir))?;
    for row in rows {
        known.looked_up.insert(row.map_err(sql(data_dir))?);
    }
    Ok(known)
}

/// The `conformance` column as read back (written from `core::balikan::validate::Conformance`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Conformance {
    unknown_keys: Vec<String>,
    missing: Vec<String>,
    invalid: BTreeMap<String, String>,
}

/// Ledger entries, newest first. Blocking: call from `spawn_blocking`.
pub(crate) fn query(
    data_dir: &Path,
    filter: &LedgerFilter,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let conn = read_only(data_dir)?;
    let mut st = conn
        .prepare(
            "SELECT id, time, customer_id, nik, method, row_no, values_json, never_looked_up,
                    conformance
             FROM balikan_ledger
             WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR nik = ?2)
             ORDER BY id DESC LIMIT ?3",
        )
        .map_err(sql(data_dir))?;
    let rows = st
        .query_map(params![filter.customer_id, filter.nik, filter.limit], |r| {
            let values: String = r.get(6)?;
            let conformance: Conformance = r
                .get::<_, Option<String>>(8)?
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default();
            Ok(LedgerEntry {
                id: r.get(0)?,
                time: r.get(1)?,
                customer_id: r.get(2)?,
                nik: r.get(3)?,
                method: r.get(4)?,
                row: r.get(5)?,
                // Written by `values_json`; an unreadable value shows as empty.
                values: serde_json::from_str(&values).unwrap_or_default(),
                never_looked_up: r.get(7)?,
                unknown_keys: conformance.unknown_keys,
                missing: conformance.missing,
                invalid: conformance.invalid,
            })
        })
        .map_err(sql(data_dir))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql(data_dir))
}
