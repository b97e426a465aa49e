//! The journal: one row per request the mock received, read page by page through
//! `GET /__admin/journal`.

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// One journal row: what was asked, by whom, and what was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRow {
    /// Assigned by the database; 0 before insertion.
    pub id: i64,
    /// UTC, RFC 3339 with microseconds.
    pub time: String,
    /// The WIB day (quota day) of `time`.
    pub wib_day: String,
    /// `CALL_NIK`, `CALL_VERIFY_BY_ELEMEN`, `balikan_store`, `balikan_upload`, or the request
    /// path when it matched no endpoint.
    pub endpoint: String,
    /// The customer id as sent in the path.
    pub customer_id: Option<String>,
    /// The operator field (User_ID) as sent; `None` when absent.
    pub operator: Option<String>,
    /// The NIK as sent (raw, possibly invalid).
    pub nik: Option<String>,
    /// The outcome code (`01`..`17`, `ERR`), a data-balikan label (`stored`, `duplicate`, ...),
    /// or `-` when an injected fault answered instead of the gateway.
    pub outcome: String,
    /// HTTP status of the answer (0: the connection was dropped).
    pub http_status: u16,
    /// Wire keys returned (or verified).
    pub elements: Vec<String>,
    /// Source IP address of the connection.
    pub source: Option<String>,
    /// Time from the request's arrival to its answer.
    pub latency_us: i64,
    /// Fault injected into the answer, if any.
    pub fault: Option<String>,
    /// Why a request was rejected (bad JSON, unknown method, ...), for the reader of the journal.
    pub detail: Option<String>,
}

/// The query of `GET /__admin/journal`; `None` fields are left out (match everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalQuery {
    /// Rows of this institution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Rows of this operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Rows with this NIK as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    /// Rows with this outcome (`01`..`17`, or `ERR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Rows of this endpoint (`CALL_NIK`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Rows at or after this instant (RFC 3339, or a date meaning its WIB midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Rows strictly before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Most rows in the page (default 100, at most [`JournalQuery::MAX_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Paging forward: rows with a larger id, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<i64>,
    /// Paging backward: rows with a smaller id, newest first (the default order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_id: Option<i64>,
}

impl JournalQuery {
    /// Most rows one page holds.
    pub const MAX_LIMIT: u32 = 10_000;
}

/// Which way a journal page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `after_id` was given: oldest first; the cursor is `next_after_id`.
    Forward,
    /// Newest first; the cursor is `next_before_id`.
    Backward,
}

/// One page of `GET /__admin/journal`: `{"rows": [...], "next_after_id": n|null}` when paging
/// forward, `{"rows": [...], "next_before_id": n|null}` otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPage {
    /// The rows, in the page's order.
    pub rows: Vec<JournalRow>,
    /// Which cursor the page carries.
    pub paging: Paging,
    /// The id to pass as `after_id`/`before_id` for the next page; `None`: this was the last.
    pub next: Option<i64>,
}

impl Serialize for JournalPage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        let cursor = match self.paging {
            Paging::Forward => "next_after_id",
            Paging::Backward => "next_before_id",
        };
        m.serialize_entry(cursor, &self.next)?;
        m.serialize_entry("rows", &self.rows)?;
        m.end()
    }
}

/// `Some` also for an explicit `null`, so a present cursor key is told from an absent one.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl<'de> Deserialize<'de> for JournalPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            rows: Vec<JournalRow>,
            #[serde(default, deserialize_with = "present")]
            next_after_id: Option<Option<i64>>,
            #[serde(default, deserialize_with = "present")]
            next_before_id: Option<Option<i64>>,
        }
        let w = Wire::deserialize(d)?;
        let (paging, next) = match (w.next_after_id, w.next_before_id) {
            (Some(n), _) => (Paging::Forward, n),
            (None, Some(n)) => (Paging::Backward, n),
            (None, None) => (Paging::Backward, None),
        };
        Ok(JournalPage {
            rows: w.rows,
            paging,
            next,
        })
    }
}
