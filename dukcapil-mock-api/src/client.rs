//! A blocking, typed client of the mock's admin API (feature `client`).
//!
//! ```no_run
//! use dukcapil_mock_api::{Client, ClockChange};
//! # fn main() -> Result<(), dukcapil_mock_api::ClientError> {
//! let mock = Client::new("http://127.0.0.1:8000", "admin-token")?;
//! mock.reset()?;
//! let clock = mock.set_clock(&ClockChange::advance(3600))?;
//! println!("the mock's day is {}", clock.wib_day);
//! let rows = mock.journal_after(0)?;
//! # let _ = rows;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{
    ClockChange, ClockStatus, DatasetInfo, DetectorQuery, DetectorReport, FaultList, FaultRule,
    FaultView, FaultsCleared, InstitutionList, InstitutionPatch, InstitutionToken, InstitutionView,
    JournalPage, JournalQuery, JournalRow, LedgerEntry, LedgerPage, LedgerQuery, Paging,
    QuotaChange, QuotaStatus, ResidentCreate, ResidentRecord, ResidentsCreated, ADMIN_PREFIX,
};

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL does not parse.
    #[error("`{url}` is not a URL: {source}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// No answer (refused, reset, timed out).
    #[error("the mock at {url} did not answer: {source}")]
    Unreachable {
        /// The mock's base URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// 401: the admin token is wrong.
    #[error("the mock at {url} refused the admin token")]
    Unauthorized {
        /// The mock's base URL.
        url: String,
    },
    /// Any other non-2xx answer (400 with the mock's `{"error"}`, 404, 422, ...).
    #[error("{method} {path} answered {status}: {body}")]
    Status {
        /// HTTP method of the call.
        method: String,
        /// Admin path of the call.
        path: String,
        /// The status.
        status: u16,
        /// The body as sent.
        body: String,
    },
    /// A 2xx answer that is not the documented type.
    #[error("{method} {path}: unexpected answer ({source}): {body}")]
    Decode {
        /// HTTP method of the call.
        method: String,
        /// Admin path of the call.
        path: String,
        /// The body as sent.
        body: String,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status of a [`ClientError::Status`] answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Seconds an admin call may take before it counts as unanswered.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A typed client of one mock's `/__admin` API (bearer token). Blocking; cheap to clone.
///
/// [`Client::for_institution`] scopes it to one institution of a shared sandbox: reset, clock,
/// journal, fault rules, ledger and detector then name that institution (`customer_id`), so a
/// session touches nothing of the other institutions on the same mock. With an institution's
/// own admin token the mock scopes the calls anyway; the sandbox operator's token needs it.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    token: String,
    http: Http,
    institution: Option<String>,
}

impl Client {
    /// A client of the mock at `base_url` (`http://127.0.0.1:PORT`), with a 30 s timeout.
    pub fn new(base_url: &str, token: &str) -> Result<Client, ClientError> {
        let http = Http::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(ClientError::Build)?;
        Client::with_http(base_url, token, http)
    }

    /// A client using a given HTTP client (own timeouts, TLS roots).
    pub fn with_http(base_url: &str, token: &str, http: Http) -> Result<Client, ClientError> {
        let trimmed = base_url.trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|source| ClientError::BadUrl {
            url: base_url.to_string(),
            source,
        })?;
        Ok(Client {
            base,
            token: token.to_string(),
            http,
            institution: None,
        })
    }

    /// The same client scoped to the institution `customer_id` (see [`Client`]).
    pub fn for_institution(mut self, customer_id: &str) -> Client {
        self.institution = Some(customer_id.to_string());
        self
    }

    /// The institution this client is scoped to, if any.
    pub fn institution(&self) -> Option<&str> {
        self.institution.as_deref()
    }

    /// Adds `customer_id` of the scope to a call that takes an institution scope.
    fn scoped(&self, r: RequestBuilder) -> RequestBuilder {
        match &self.institution {
            Some(cid) => r.query(&[("customer_id", cid.as_str())]),
            None => r,
        }
    }

    /// The mock's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.push(ADMIN_PREFIX.trim_start_matches('/'));
            path.extend(segments);
        }
        url
    }

    fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, ClientError> {
        let url = self.url(segments);
        let path = url.path().to_string();
        let req = build(
            self.http
                .request(method.clone(), url)
                .bearer_auth(&self.token),
        );
        let resp = req.send().map_err(|source| ClientError::Unreachable {
            url: self.base_url().to_string(),
            source,
        })?;
        let status = resp.status().as_u16();
        let body = resp.text().map_err(|source| ClientError::Unreachable {
            url: self.base_url().to_string(),
            source,
        })?;
        if status == 401 {
            return Err(ClientError::Unauthorized {
                url: self.base_url().to_string(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(ClientError::Status {
                method: method.to_string(),
                path,
                status,
                body,
            });
        }
        // 204 has no body; `()` reads from `null`.
        let text = if body.trim().is_empty() {
            "null"
        } else {
            &body
        };
        serde_json::from_str(text).map_err(|source| ClientError::Decode {
            method: method.to_string(),
            path,
            body,
            source,
        })
    }

    fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ClientError> {
        self.send(Method::GET, segments, |r| r)
    }

    fn with_body<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(method, segments, |r| r.json(body))
    }

    /// `POST /__admin/reset`: empty journal, quota and ledger, real time, institutions as
    /// configured, no overlay residents, the settings' fault rules only. Scoped (see
    /// [`Client::for_institution`]): all of that for the one institution only.
    pub fn reset(&self) -> Result<(), ClientError> {
        self.send::<serde_json::Value>(Method::POST, &["reset"], |r| self.scoped(r))
            .map(|_| ())
    }

    /// `POST /__admin/institutions/{customer_id}/token`: issues a new admin token of the
    /// institution (the previous issued one stops working); shown once, stored as a hash.
    pub fn issue_token(&self, customer_id: &str) -> Result<InstitutionToken, ClientError> {
        self.send(Method::POST, &["institutions", customer_id, "token"], |r| r)
    }

    /// `GET /__admin/dataset`: the population the mock serves.
    pub fn dataset(&self) -> Result<DatasetInfo, ClientError> {
        self.get(&["dataset"])
    }

    /// `GET /__admin/clock`.
    pub fn clock(&self) -> Result<ClockStatus, ClientError> {
        self.send(Method::GET, &["clock"], |r| self.scoped(r))
    }

    /// `POST /__admin/clock`: sets or advances the clock.
    pub fn set_clock(&self, change: &ClockChange) -> Result<ClockStatus, ClientError> {
        self.send(Method::POST, &["clock"], |r| self.scoped(r).json(change))
    }

    /// `GET /__admin/quota/{customer_id}`.
    pub fn quota(&self, customer_id: &str) -> Result<QuotaStatus, ClientError> {
        self.get(&["quota", customer_id])
    }

    /// `PUT /__admin/quota/{customer_id}`: sets today's count and/or the daily limit.
    pub fn set_quota(
        &self,
        customer_id: &str,
        change: &QuotaChange,
    ) -> Result<QuotaStatus, ClientError> {
        self.with_body(Method::PUT, &["quota", customer_id], change)
    }

    /// `GET /__admin/journal`: one page.
    pub fn journal(&self, query: &JournalQuery) -> Result<JournalPage, ClientError> {
        let mut query = query.clone();
        if query.customer_id.is_none() {
            query.customer_id = self.institution.clone();
        }
        self.send(Method::GET, &["journal"], |r| r.query(&query))
    }

    /// Every journal row with an id above `after_id`, oldest first (forward pages of the
    /// largest size until the last).
    pub fn journal_after(&self, after_id: i64) -> Result<Vec<JournalRow>, ClientError> {
        let mut rows = Vec::new();
        let mut after = after_id;
        loop {
            let page = self.journal(&JournalQuery {
                after_id: Some(after),
                limit: Some(JournalQuery::MAX_LIMIT),
                ..JournalQuery::default()
            })?;
            let last = page.rows.last().map(|r| r.id);
            let done = page.paging != Paging::Forward || page.next.is_none();
            rows.extend(page.rows);
            match last {
                Some(id) if !done => after = id,
                _ => return Ok(rows),
            }
        }
    }

    /// `GET /__admin/faults`.
    pub fn faults(&self) -> Result<Vec<FaultView>, ClientError> {
        self.send::<FaultList>(Method::GET, &["faults"], |r| self.scoped(r))
            .map(|l| l.faults)
    }

    /// `POST /__admin/faults`: adds a rule; an invalid one is a 422 [`ClientError::Status`]
    /// whose body is a [`crate::FaultRejection`].
    pub fn add_fault(&self, rule: &FaultRule) -> Result<FaultView, ClientError> {
        self.with_body(Method::POST, &["faults"], rule)
    }

    /// `DELETE /__admin/faults/{id}`.
    pub fn remove_fault(&self, id: u64) -> Result<(), ClientError> {
        self.send::<serde_json::Value>(Method::DELETE, &["faults", &id.to_string()], |r| r)
            .map(|_| ())
    }

    /// `DELETE /__admin/faults`: removes every rule (also the settings'); how many there were.
    /// Scoped: only the rules of the institution.
    pub fn clear_faults(&self) -> Result<usize, ClientError> {
        self.send::<FaultsCleared>(Method::DELETE, &["faults"], |r| self.scoped(r))
            .map(|c| c.removed)
    }

    /// `GET /__admin/institutions`.
    pub fn institutions(&self) -> Result<Vec<InstitutionView>, ClientError> {
        self.get::<InstitutionList>(&["institutions"])
            .map(|l| l.institutions)
    }

    /// `PATCH /__admin/institutions/{customer_id}`.
    pub fn patch_institution(
        &self,
        customer_id: &str,
        patch: &InstitutionPatch,
    ) -> Result<InstitutionView, ClientError> {
        self.with_body(Method::PATCH, &["institutions", customer_id], patch)
    }

    /// `POST /__admin/residents`: creates canary residents (all or none); scoped, they are the
    /// institution's (its reset drops them).
    pub fn create_residents(
        &self,
        residents: &[ResidentCreate],
    ) -> Result<Vec<ResidentRecord>, ClientError> {
        self.send::<ResidentsCreated>(Method::POST, &["residents"], |r| {
            self.scoped(r).json(residents)
        })
        .map(|c| c.residents)
    }

    /// `GET /__admin/residents/{nik}`.
    pub fn resident(&self, nik: &str) -> Result<ResidentRecord, ClientError> {
        self.get(&["residents", nik])
    }

    /// `PATCH /__admin/residents/{nik}`: changes wire values or `STATUS`.
    pub fn patch_resident(
        &self,
        nik: &str,
        change: &ResidentCreate,
    ) -> Result<ResidentRecord, ClientError> {
        self.with_body(Method::PATCH, &["residents", nik], change)
    }

    /// `GET /__admin/detector`.
    pub fn detector(&self, query: &DetectorQuery) -> Result<DetectorReport, ClientError> {
        let mut query = query.clone();
        if query.customer_id.is_none() {
            query.customer_id = self.institution.clone();
        }
        self.send(Method::GET, &["detector"], |r| r.query(&query))
    }

    /// `GET /__admin/balikan`: ledger entries, newest first.
    pub fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, ClientError> {
        let mut query = query.clone();
        if query.customer_id.is_none() {
            query.customer_id = self.institution.clone();
        }
        self.send::<LedgerPage>(Method::GET, &["balikan"], |r| r.query(&query))
            .map(|p| p.entries)
    }
}
