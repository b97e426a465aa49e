//! The mock's journal as the runner records it, the runner's own action log, and the SHA-256
//! hash chain over journal rows that the result document carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One request the mock saw (mirrors the mock's journal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalRow {
    /// When the mock received it (mock clock).
    pub time: DateTime<Utc>,
    /// Request path, e.g. `/dukcapil/get_json/rsud_3313/CALL_NIK` or `/data_balikan/public/api/store`.
    pub endpoint: String,
    /// The institution the credentials identify (empty when unknown).
    pub customer_id: String,
    /// The `User_ID` value (local operator) of the request; `None` when the key was absent.
    pub operator: Option<String>,
    /// The NIK exactly as sent.
    pub nik_raw: String,
    /// Outcome code (`01` found, `05` quota, ...). For balikan rows `01` means accepted.
    pub outcome: String,
    /// Wire keys answered (lookups) or submitted (balikan).
    pub elements: Vec<String>,
    /// Source address of the request.
    pub source: String,
    /// Time the mock took to answer, in microseconds.
    pub latency_us: u64,
    /// The transport fault injected into this request, if any.
    pub fault: Option<String>,
}

impl JournalRow {
    /// A lookup or verification call (both carry `User_ID` and count against the quota), or a
    /// Web Portal search (`/portal/cari`: the operator's username as user id, its own quota).
    pub fn is_lookup(&self) -> bool {
        let e = self.endpoint.to_ascii_lowercase();
        e.contains("/get_json/") || e == "/portal/cari"
    }

    /// A Web Portal search (`PORTAL` in the mock's journal).
    pub fn is_portal_search(&self) -> bool {
        self.endpoint.eq_ignore_ascii_case("/portal/cari")
    }

    /// A Web Portal login (`PORTAL_LOGIN`), accepted when its outcome is `01`.
    pub fn is_portal_login(&self) -> bool {
        self.endpoint.eq_ignore_ascii_case("/portal/masuk")
    }

    /// A data-balikan submission.
    pub fn is_balikan(&self) -> bool {
        self.endpoint
            .to_ascii_lowercase()
            .contains("/data_balikan/")
    }

    /// The canonical bytes of the row that the hash chain covers: compact JSON, struct field order.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serializing plain strings, numbers and options cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The chain's starting value: 32 zero bytes.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// `link[i] = sha256(link[i-1] || canonical_json(row[i]))`, `link[-1] = GENESIS`; hex encoded.
pub(crate) fn hash_chain(rows: &[JournalRow]) -> Vec<String> {
    let mut prev = GENESIS;
    rows.iter()
        .map(|row| {
            let mut h = Sha256::new();
            h.update(prev);
            h.update(row.canonical_json());
            prev = h.finalize().into();
            hex::encode(prev)
        })
        .collect()
}

/// The first row whose recorded link does not match the recomputed chain, if any (a count
/// mismatch is reported at the shorter length).
pub(crate) fn first_broken_link(rows: &[JournalRow], links: &[String]) -> Option<usize> {
    let expected = hash_chain(rows);
    let n = expected.len().min(links.len());
    (0..n)
        .find(|&i| expected[i] != links[i])
        .or((expected.len() != links.len()).then_some(n))
}

/// What the runner made the application do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Action {
    pub test_id: String,
    /// The acting operator's username in the application.
    pub operator: String,
    pub kind: ActionKind,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// A transport fault was injected while this action ran (retries are allowed then).
    #[serde(default)]
    pub fault_injected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum ActionKind {
    Login,
    Lookup { nik: String },
    ServiceEvent { event: String, nik: String },
}

impl Action {
    /// Whether a journal row falls inside this action's time window (widened by `slack_ms`
    /// for clock and buffering differences between the runner and the mock).
    pub(crate) fn covers(&self, row: &JournalRow, slack_ms: i64) -> bool {
        let slack = chrono::Duration::milliseconds(slack_ms);
        self.started - slack <= row.time && row.time <= self.finished + slack
    }
}

#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// A lookup row at `secs` seconds after 2026-01-05 01:00:00 UTC (08:00 WIB).
    pub(crate) fn row(secs: i64, operator: Option<&str>, nik: &str, outcome: &str) -> JournalRow {
        JournalRow {
            time: t(secs),
            endpoint: "/dukcapil/get_json/rsud_3313/CALL_NIK".into(),
            customer_id: "rsud_3313".into(),
            operator: operator.map(str::to_string),
            nik_raw: nik.into(),
            outcome: outcome.into(),
            elements: if outcome == "01" {
                vec!["NIK".into(), "NAMA_LGKP".into()]
            } else {
                vec![]
            },
            source: "127.0.0.1".into(),
            latency_us: 850,
            fault: None,
        }
    }

    pub(crate) fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_574_800 + secs, 0).unwrap()
    }

    pub(crate) fn lookup(secs: i64, operator: &str, nik: &str) -> Action {
        Action {
            test_id: "T".into(),
            operator: operator.into(),
            kind: ActionKind::Lookup { nik: nik.into() },
            started: t(secs),
            finished: t(secs + 2),
            fault_injected: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sample::row;
    use super::*;

    #[test]
    fn chain_links_depend_on_every_earlier_row() {
        let rows = vec![
            row(0, Some("a"), "3313014107890003", "01"),
            row(5, Some("b"), "3313014107890011", "13"),
        ];
        let links = hash_chain(&rows);
        assert_eq!(links.len(), 2);
        assert_eq!(first_broken_link(&rows, &links), None);
        let mut tampered = rows.clone();
        tampered[0].latency_us += 1;
        assert_eq!(first_broken_link(&tampered, &links), Some(0));
        assert_ne!(hash_chain(&tampered)[1], links[1]);
        assert_eq!(first_broken_link(&rows[..1], &links), Some(1));
        // Round trip through JSON keeps the canonical bytes.
        let back: Vec<JournalRow> =
            serde_json::from_str(&serde_json::to_string_pretty(&rows).unwrap()).unwrap();
        assert_eq!(hash_chain(&back), links);
    }

    #[test]
    fn portal_searches_are_lookups_and_logins_are_not() {
        let mock_row = |endpoint: &str| dukcapil_mock_api::JournalRow {
            id: 1,
            time: "2026-01-05T01:00:00Z".into(),
            wib_day: "2026-01-05".into(),
            endpoint: endpoint.into(),
            customer_id: Some("dinkes_3303".into()),
            operator: Some("petugas.a".into()),
            nik: Some("3303014107890003".into()),
            outcome: "01".into(),
            http_status: 200,
            elements: vec![],
            source: Some("127.0.0.1".into()),
            latency_us: 10,
            fault: None,
            detail: None,
        };
        let search = crate::mock::convert_row(&mock_row("PORTAL")).unwrap();
        assert_eq!(search.endpoint, "/portal/cari");
        assert!(search.is_lookup() && !search.is_balikan());
        assert_eq!(search.operator.as_deref(), Some("petugas.a"));
        let login = crate::mock::convert_row(&mock_row("PORTAL_LOGIN")).unwrap();
        assert!(!login.is_lookup());
    }
}
