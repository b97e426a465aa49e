//! The one place the runner talks to the mock: the contract crate's typed admin client
//! (`dukcapil_mock_api::Client`), and the embedded mock's process when the session started it.
//! Everything the mock answers arrives typed; mock errors become [`SessionError`]s here.

use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dukcapil_domain::Outcome;
use dukcapil_mock_api::{
    Client, ClientError, ClockChange, ClockStatus, DatasetInfo, FaultRule, InstitutionPatch,
    JournalQuery, QuotaChange, ResidentCreate, LISTENING_PREFIX,
};

use crate::error::SessionError;
use crate::journal::JournalRow;
use crate::process::{sibling, Owned};

/// The mock gateway: its URL, a typed client of its admin API, what it serves, and the process
/// and data directory when the session started it.
#[derive(Debug)]
pub(crate) struct Mock {
    /// Base URL, without a trailing slash.
    pub url: String,
    api: Client,
    /// The dataset the mock serves, as it says itself (`GET /__admin/dataset`).
    pub dataset: DatasetInfo,
    /// It listens on a loopback address, so it runs on this host's clock.
    on_this_host: bool,
    _proc: Option<Owned>,
    _dir: Option<tempfile::TempDir>,
}

impl Mock {
    /// Starts `mock-server serve` on 127.0.0.1:0 with a fresh data directory.
    pub(crate) fn embedded(population: u64) -> Result<Mock, SessionError> {
        let dir = tempfile::Builder::new()
            .prefix("poc-mock-")
            .tempdir()
            .map_err(|e| SessionError::Start(format!("cannot create a mock data dir: {e}")))?;
        let token = hex::encode(rand::random::<[u8; 16]>());
        let mut cmd = Command::new(sibling("mock-server"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--population", &population.to_string()])
            .args(["--seed", "1"])
            .args(["--admin-token", &token])
            .env_remove("MOCK_CONFIG");
        let (proc, url) = Owned::spawn_until(
            cmd,
            "the embedded mock (mock-server)",
            LISTENING_PREFIX,
            Duration::from_secs(120),
        )?;
        let mut m = Mock::external(&url, &token)?;
        m._proc = Some(proc);
        m._dir = Some(dir);
        Ok(m)
    }

    /// A mock someone else runs; asks it at once what it serves (which also proves the URL and
    /// the token).
    pub(crate) fn external(url: &str, token: &str) -> Result<Mock, SessionError> {
        let url = url.trim_end_matches('/').to_string();
        let api = Client::new(&url, token).map_err(|e| SessionError::Start(e.to_string()))?;
        let dataset = api.dataset().map_err(|e| from_client(&url, e))?;
        Ok(Mock {
            on_this_host: Mock::on_this_host(&url),
            url,
            api,
            dataset,
            _proc: None,
            _dir: None,
        })
    }

    /// The same mock, scoped to one institution of a shared sandbox: resets, clock, journal
    /// reads, fault rules and canaries then concern `customer_id` only, so sessions of other
    /// institutions can run on the same mock at the same time.
    pub(crate) fn for_institution(mut self, customer_id: &str) -> Mock {
        self.api = self.api.for_institution(customer_id);
        self
    }

    fn call<T>(&self, r: Result<T, ClientError>) -> Result<T, SessionError> {
        r.map_err(|e| from_client(&self.url, e))
    }

    /// Journal, quota, canaries and runtime fault rules back to a clean start (of its
    /// institution only, when scoped).
    pub(crate) fn reset(&self) -> Result<(), SessionError> {
        self.call(self.api.reset())
    }

    /// Drops every fault rule, the settings file's too (scoped: the institution's rules only;
    /// rules without an institution are the sandbox operator's and stay).
    pub(crate) fn clear_faults(&self) -> Result<(), SessionError> {
        self.call(self.api.clear_faults()).map(|_| ())
    }

    /// Adds a fault rule; `Ok(false)` when this mock refuses it (no fault injection there).
    pub(crate) fn add_fault(&self, rule: &FaultRule) -> Result<bool, SessionError> {
        match self.api.add_fault(rule) {
            Ok(_) => Ok(true),
            Err(e) if e.status().is_some_and(|s| s != 401) => Ok(false),
            Err(e) => Err(from_client(&self.url, e)),
        }
    }

    /// Creates canary residents (all or none).
    pub(crate) fn create_residents(
        &self,
        residents: &[ResidentCreate],
    ) -> Result<(), SessionError> {
        self.call(self.api.create_residents(residents)).map(|_| ())
    }

    /// Changes an institution; an answer other than 2xx comes back as `Err(Some(reason))` for
    /// the caller to note, a mock that does not answer as `SessionError`.
    pub(crate) fn patch_institution(
        &self,
        customer_id: &str,
        patch: &InstitutionPatch,
    ) -> Result<Result<(), String>, SessionError> {
        match self.api.patch_institution(customer_id, patch) {
            Ok(_) => Ok(Ok(())),
            Err(ClientError::Status { status, body, .. }) if status != 401 => {
                Ok(Err(format!("{status}: {body}")))
            }
            Err(e) => Err(from_client(&self.url, e)),
        }
    }

    /// Changes elements of a (canary) resident.
    pub(crate) fn patch_resident(
        &self,
        nik: &str,
        change: &ResidentCreate,
    ) -> Result<(), SessionError> {
        self.call(self.api.patch_resident(nik, change)).map(|_| ())
    }

    /// Sets an institution's quota for today.
    pub(crate) fn set_quota(
        &self,
        customer_id: &str,
        change: &QuotaChange,
    ) -> Result<(), SessionError> {
        self.call(self.api.set_quota(customer_id, change))
            .map(|_| ())
    }

    /// Sets the mock's clock (its institution's, when scoped) and reads it against this
    /// machine's from the same call.
    pub(crate) fn set_clock(&self, at: DateTime<Utc>) -> Result<ClockReading, SessionError> {
        let sent = Utc::now();
        let status = self.call(self.api.set_clock(&ClockChange::set(at)))?;
        self.reading(&status, sent, Utc::now())
    }

    /// A mock on this host runs on this host's clock: its offset from real time is exactly
    /// what it says (a measurement would only add a busy machine's scheduling delays). Another
    /// host's clock is measured.
    fn reading(
        &self,
        status: &ClockStatus,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> Result<ClockReading, SessionError> {
        if self.on_this_host {
            return Ok(ClockReading {
                offset_ms: (status.offset_seconds * 1000.0).round() as i64,
                uncertainty_ms: 0,
            });
        }
        ClockReading::of(&status.now, sent, received).ok_or_else(|| unreadable_clock(&status.now))
    }

    /// The mock listens on a loopback address (the embedded one always does).
    fn on_this_host(url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The mock's clock (its institution's, when scoped) against this machine's, from the
    /// quickest of three reads (one, on this host): the mock may run on another host whose clock
    /// is not ours, and its journal rows are stamped by its clock, the runner's actions by ours.
    pub(crate) fn clock_reading(&self) -> Result<ClockReading, SessionError> {
        let mut best: Option<ClockReading> = None;
        let reads = if self.on_this_host { 1 } else { 3 };
        for _ in 0..reads {
            let sent = Utc::now();
            let status = self.call(self.api.clock())?;
            let r = self.reading(&status, sent, Utc::now())?;
            if best.is_none_or(|b| r.uncertainty_ms < b.uncertainty_ms) {
                best = Some(r);
            }
        }
        Ok(best.expect("at least one read"))
    }

    /// The newest journal id: rows after it belong to what happens next.
    pub(crate) fn watermark(&self) -> Result<i64, SessionError> {
        let page = self.call(self.api.journal(&JournalQuery {
            limit: Some(1),
            ..JournalQuery::default()
        }))?;
        Ok(page.rows.first().map_or(0, |r| r.id))
    }

    /// Every journal row after `after_id`, oldest first, in the mock's own form.
    pub(crate) fn rows_after(
        &self,
        after_id: i64,
    ) -> Result<Vec<dukcapil_mock_api::JournalRow>, SessionError> {
        self.call(self.api.journal_after(after_id))
    }

    /// Every journal row after `after_id` as the evaluators read them, and the id of the last
    /// row the mock holds (`after_id` when there is none after it).
    pub(crate) fn journal_since(
        &self,
        after_id: i64,
    ) -> Result<(Vec<JournalRow>, i64), SessionError> {
        let rows = self.rows_after(after_id)?;
        let last = rows.iter().map(|r| r.id).max().unwrap_or(after_id);
        Ok((rows.iter().filter_map(convert_row).collect(), last))
    }

    /// Every journal row after `after_id`, as the evaluators read them.
    pub(crate) fn journal_after(&self, after_id: i64) -> Result<Vec<JournalRow>, SessionError> {
        Ok(self
            .rows_after(after_id)?
            .iter()
            .filter_map(convert_row)
            .collect())
    }
}

fn from_client(url: &str, e: ClientError) -> SessionError {
    match e {
        ClientError::Unreachable { .. } => {
            SessionError::Unreachable(format!("the mock at {url} did not answer: {e}"))
        }
        ClientError::Unauthorized { .. } => SessionError::Usage(format!(
            "the mock at {url} refused the admin token (give the right --admin-token)"
        )),
        other => SessionError::Mock(other.to_string()),
    }
}

/// The mock's journal row in the runner's form (endpoints as request paths, balikan accepted or
/// already on file as `01`).
pub fn convert_row(r: &dukcapil_mock_api::JournalRow) -> Option<JournalRow> {
    let time = DateTime::parse_from_rfc3339(&r.time)
        .ok()?
        .with_timezone(&Utc);
    let customer = r.customer_id.clone().unwrap_or_default();
    let endpoint = match r.endpoint.as_str() {
        "CALL_NIK" | "CALL_VERIFY_BY_ELEMEN" => {
            format!("/dukcapil/get_json/{customer}/{}", r.endpoint)
        }
        // A Web Portal search reads a resident by NIK like a lookup (`JournalRow::is_lookup`).
        "PORTAL" => "/portal/cari".into(),
        "PORTAL_LOGIN" => "/portal/masuk".into(),
        "balikan_store" => "/data_balikan/public/api/store".into(),
        "balikan_upload" => "/data_balikan/public/api/upload".into(),
        other => other.to_string(),
    };
    let mut outcome = r.outcome.clone();
    if endpoint.starts_with("/data_balikan/") && matches!(outcome.as_str(), "stored" | "duplicate")
    {
        // Accepted now or already on file: both mean the mock holds the balikan. The
        // `_nonconforming` kinds keep their label: held, but not valid balikan for the PoC.
        outcome = Outcome::Found.code().to_string();
    }
    Some(JournalRow {
        time,
        endpoint,
        customer_id: customer,
        operator: r.operator.clone(),
        nik_raw: r.nik.clone().unwrap_or_default(),
        outcome,
        elements: r.elements.clone(),
        source: r.source.clone().unwrap_or_default(),
        latency_us: u64::try_from(r.latency_us).unwrap_or(0),
        fault: r.fault.clone(),
    })
}

/// The mock's clock against this machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockReading {
    /// Mock time minus this machine's, in ms.
    pub(crate) offset_ms: i64,
    /// How far off `offset_ms` may be: half the read's round trip, rounded up.
    pub(crate) uncertainty_ms: i64,
}

impl ClockReading {
    /// From the mock's `now` read by a request sent at `sent` and answered at `received`: the
    /// mock read its clock somewhere in between, taken as the middle.
    pub(crate) fn of(now: &str, sent: DateTime<Utc>, received: DateTime<Utc>) -> Option<Self> {
        let mock_now = DateTime::parse_from_rfc3339(now).ok()?.with_timezone(&Utc);
        let round_trip_us = (received - sent).num_microseconds()?.max(0);
        let middle = sent + chrono::Duration::microseconds(round_trip_us / 2);
        Some(ClockReading {
            offset_ms: (mock_now - middle).num_milliseconds(),
            uncertainty_ms: (round_trip_us + 1_999) / 2_000,
        })
    }
}

fn unreadable_clock(now: &str) -> SessionError {
    SessionError::Mock(format!(
        "the mock's clock answer `{now}` is not an RFC 3339 time"
    ))
}

#[cfg(test)]
mod clock_tests {
    use super::ClockReading;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_reading_takes_the_middle_of_the_round_trip_and_its_half_as_uncertainty() {
        let sent = Utc.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).unwrap();
        let received = sent + chrono::Duration::milliseconds(40);
        // The mock's clock is 2.5 s ahead of ours.
        let r = ClockReading::of("2026-12-04T01:00:02.520000Z", sent, received).unwrap();
        assert_eq!(
            r,
            ClockReading {
                offset_ms: 2_500,
                uncertainty_ms: 20
            }
        );
        // Behind, and a round trip of under a millisecond still counts one.
        let r = ClockReading::of(
            "2026-12-04T00:59:59.000000Z",
            sent,
            sent + chrono::Duration::microseconds(300),
        )
        .unwrap();
        assert_eq!(
            r,
            ClockReading {
                offset_ms: -1_000,
                uncertainty_ms: 1
            }
        );
        assert_eq!(ClockReading::of("gestern", sent, received), None);
    }
}
