//! The data-balikan ledger: `GET /__admin/balikan`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A ledger entry: one institution, NIK and distinct set of values it returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Ledger id (ascending in arrival order).
    pub id: i64,
    /// UTC, RFC 3339 with microseconds (the mock's clock).
    pub time: String,
    /// The institution that sent it.
    pub customer_id: String,
    /// 16 digits.
    pub nik: String,
    /// `store` (JSON) or `upload` (sheet).
    pub method: String,
    /// Row number in the submission (JSON: 1-based order; upload: spreadsheet line).
    pub row: i64,
    /// The values returned, by key.
    pub values: BTreeMap<String, String>,
    /// The institution never looked this NIK up (per the journal).
    pub never_looked_up: bool,
    /// Keys outside the agreement's balikan fields (accepted under the `free` key policy).
    #[serde(default)]
    pub unknown_keys: Vec<String>,
    /// Required balikan fields of the agreement the entry lacks.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Fields whose value breaks the agreement's format, with the problem.
    #[serde(default)]
    pub invalid: BTreeMap<String, String>,
}

/// The query of `GET /__admin/balikan`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerQuery {
    /// Entries of this institution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Entries of this NIK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    /// Most entries (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The answer of `GET /__admin/balikan`: entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPage {
    /// The entries.
    pub entries: Vec<LedgerEntry>,
}
