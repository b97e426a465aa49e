//! The gateway endpoints `CALL_NIK` and `CALL_VERIFY_BY_ELEMEN`, in both path forms.
//!
//! Outcome precedence (first that applies wins):
//! unreadable body or a known key of the wrong type → 07; empty user, password or IP → 09;
//! unknown customer id, a region that is not the institution's, wrong user or password (after an
//! admin rotation, the agreement's old password is wrong), or with `enforce_access_methods` an
//! agreement without `web_service` (a portal-only institution) → 03;
//! the registered address not matched as the institution's IP policy demands → 04 (default
//! `source`: the connection's source address is judged and the body's `IP_USER` may be any
//! text, as the real gateway answers clients that send `x` or a hard-coded LAN address; `body`,
//! `both` and `off` are settings); institution
//! switched off or the clock's WIB day outside its agreement term → 16; user id deactivated → 17;
//! outside the institution's access hours (WIB) → 06; strict operator mode and no operator
//! field → 07; empty or missing NIK, or a bad `TRESHOLD` → 07; quota used up → 05 (not counted);
//! NIK not in Dukcapil format → 15; then the lookup: 13 not found, 11 deceased, 12 duplicate,
//! 14 inactive, 01 found. Every call from the quota step on is counted, whatever its outcome.
//!
//! Method names are data: each institution has the names it may call (case-insensitive) and
//! the service each maps to (`core::institutions::DEFAULT_METHODS` unless its settings say
//! otherwise). Another name gets the envelope with 07 and `unknown_method_status` (404). The
//! journal records the service's canonical endpoint, and the name called when it differs.
//!
//! "Now" is the institution's clock: the sandbox's clock plus the institution's own offset
//! (`POST /__admin/clock?customer_id=`), so one agency's clock test moves no other agency's.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod verify;

#[cfg(test)]
pub(crate) mod tests;

/// One test per public client shape (what it sends, what it parses).
#[cfg(test)]
mod clients;

#[cfg(test)]
mod region_tests {
    #[test]
    fn region_segments_must_name_a_known_regency() {
        assert!(super::known_regency("33-13"));
        assert!(super::known_regency("33-03"));
        for bad in ["99-99", "3313", "33-1", "x-13", "33-13-1", ""] {
            assert!(!super::known_regency(bad), "{bad}");
        }
    }
}

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use dukcapil_domain::{mask_nik, AccessMethod, Field, FieldSet, Nik, Outcome, Service};
use serde_json::Value;

use dukcapil_mock_api::JournalRow;

use super::AppState;
use crate::core::clock::{wib, wib_day};
use crate::core::faults::AppliedFault;
use crate::core::quota::QuotaCheck;
use crate::db::{QuotaCount, Upcoming};
use request::{Params, ParseProblem};
use response::{Page, Record};

/// Which service a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Lookup,
    Verify,
}

impl CallKind {
    pub(crate) const fn endpoint(self) -> &'static str {
        match self {
            CallKind::Lookup => "CALL_NIK",
            CallKind::Verify => "CALL_VERIFY_BY_ELEMEN",
        }
    }

    pub(crate) const fn service(self) -> Service {
        match self {
            CallKind::Lookup => Service::Lookup,
            CallKind::Verify => Service::Verification,
        }
    }

    pub(crate) const fn from_service(service: Service) -> CallKind {
        match service {
            Service::Lookup => CallKind::Lookup,
            Service::Verification => CallKind::Verify,
        }
    }
}

/// The gateway routes; the caller adds state.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dukcapil/get_json/{customer_id}/{method}", any(gateway))
        .route(
            "/dukcapil/get_json/{region}/{customer_id}/{method}",
            any(gateway),
        )
}

/// A call as read from the request.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub kind: CallKind,
    pub region: Option<&'a str>,
    pub customer_id: &'a str,
    pub params: &'a Result<Params, ParseProblem>,
    pub source: Option<IpAddr>,
}

/// What to answer and what to record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    /// `None`: an internal failure (population unreadable), answered 500.
    pub outcome: Option<Outcome>,
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The wire names of the elements answered, in order.
    pub elements: Vec<&'static str>,
    pub quota: Option<QuotaCount>,
    pub detail: Option<String>,
}

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn same_ip(sent: &str, registered: &str) -> bool {
    match (
        sent.trim().parse::<IpAddr>(),
        registered.trim().parse::<IpAddr>(),
    ) {
        (Ok(a), Ok(b)) => canonical(a) == canonical(b),
        _ => sent.trim() == registered.trim(),
    }
}

fn blank(o: &Option<String>) -> bool {
    o.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// A business failure in the right shape for the endpoint.
pub(crate) fn failure(
    state: &AppState,
    kind: CallKind,
    outcome: Outcome,
    remaining: Option<u32>,
    detail: Option<String>,
) -> Decision {
    let text = outcome.text_for(kind.service(), state.settings.catalogue);
    let body = match kind {
        CallKind::Lookup => Page::one(response::respon(text), None).to_bytes(),
        CallKind::Verify => Page::one(
            response::verify_error(outcome.code(), text, state.settings.verify_error_respon),
            Some(remaining),
        )
        .to_bytes(),
    };
    Decision {
        outcome: Some(outcome),
        status: StatusCode::OK,
        body,
        elements: vec![],
        quota: None,
        detail,
    }
}

/// Decides the answer to one call at `now`. Counts the quota; writes nothing.
pub(crate) fn decide(state: &AppState, call: &Call<'_>, now: DateTime<Utc>) -> Decision {
    let kind = call.kind;
    let fail = |o: Outcome, remaining: Option<u32>, detail: Option<String>| {
        failure(state, kind, o, remaining, detail)
    };
    let p = match call.params {
        Ok(p) => p,
        Err(problem) => return fail(Outcome::InvalidParameters, None, Some(problem.to_string())),
    };
    if blank(&p.user_id) || blank(&p.password) || (blank(&p.ip) && !p.query_form) {
        return fail(Outcome::EmptyCredentials, None, None);
    }
    let Some(inst) = state.institution(call.customer_id) else {
        return fail(
            Outcome::LoginFailed,
            None,
            Some("unknown customer id".into()),
        );
    };
    let creds = &inst.agreement.credentials;
    let day = wib_day(now);
    let remaining_now = || {
        inst.quota_per_day
            .map(|l| l.saturating_sub(state.quota.used(call.customer_id, day)))
    };
    match (call.region, inst.agreement.region.as_deref()) {
        (Some(region), Some(own)) if region != own => {
            return fail(
                Outcome::LoginFailed,
                remaining_now(),
                Some(format!("region {region} is not {own}")),
            );
        }
        // A profile without a region of its own still takes only a real regency's path
        // segment (`PP-RR`), as the regional gateways exist only for those.
        (Some(region), None) if !known_regency(region) => {
            return fail(
                Outcome::LoginFailed,
                remaining_now(),
                Some(format!("region {region} is not a known regency (PP-RR)")),
            );
        }
        _ => {}
    }
    // The password accepted now (the admin API may have rotated the agreement's).
    // The user id first: a wrong one costs no password hash.
    let (password_ok, by_hash) = if p.user_id.as_deref() == Some(creds.user_id.as_str()) {
        inst.password_matches(p.password.as_deref().unwrap_or(""))
    } else {
        (false, false)
    };
    if !password_ok {
        return fail(Outcome::LoginFailed, remaining_now(), None);
    }
    if by_hash {
        state.remember_password(call.customer_id, p.password.as_deref().unwrap_or(""));
    }
    // A portal-only agreement has no web-service account on the real gateway: its credentials
    // do not log in there (`enforce_access_methods`; off by default, see the README).
    if state.settings.enforce_access_methods && !inst.grants(AccessMethod::WebService) {
        return fail(
            Outcome::LoginFailed,
            remaining_now(),
            Some("the agreement grants no web_service access (enforce_access_methods)".into()),
        );
    }
    let policy = inst.ip_policy;
    let body_ip_ok = !policy.judges_body()
        || match p.ip.as_deref().filter(|ip| !ip.trim().is_empty()) {
            Some(ip) => same_ip(ip, &inst.ip_user),
            // The query form carries no IP key: only the source can be judged.
            None => p.query_form,
        };
    let source_ok = !policy.judges_source()
        || call
            .source
            .is_some_and(|s| same_ip(&s.to_string(), &inst.ip_user));
    if !body_ip_ok || !source_ok {
        let detail = if body_ip_ok {
            "source address not registered"
        } else {
            "IP in the body not registered"
        };
        return fail(Outcome::IpMismatch, remaining_now(), Some(detail.into()));
    }
    if !inst.active || !inst.term.covers(day) {
        let detail = if inst.active {
            "outside the agreement term"
        } else {
            "institution switched off"
        };
        return fail(
            Outcome::InstitutionInactive,
            remaining_now(),
            Some(detail.into()),
        );
    }
    if !inst.user_active {
        return fail(Outcome::UserIdInactive, remaining_now(), None);
    }
    if let Some(hours) = inst.access_hours {
        if !hours.contains(now.with_timezone(&wib()).time()) {
            return fail(Outcome::OutsideServiceHours, remaining_now(), None);
        }
    }
    if state.settings.strict_operator && blank(&p.operator(&inst.agreement.operator_field)) {
        let detail = format!(
            "operator field {} missing (strict)",
            inst.agreement.operator_field
        );
        return fail(Outcome::InvalidParameters, remaining_now(), Some(detail));
    }
    let Some(raw_nik) = p.nik.as_deref().filter(|n| !n.trim().is_empty()) else {
        return fail(
            Outcome::InvalidParameters,
            remaining_now(),
            Some("NIK missing or empty".into()),
        );
    };
    let threshold = if kind == CallKind::Verify {
        match p.threshold_value(verify::DEFAULT_THRESHOLD) {
            Ok(t) => t,
            Err(e) => {
                return fail(
                    Outcome::InvalidParameters,
                    remaining_now(),
                    Some(e.to_string()),
                )
            }
        }
    } else {
        verify::DEFAULT_THRESHOLD
    };
    let remaining = match state.count_call(call.customer_id, day, inst.quota_per_day) {
        QuotaCheck::Exhausted => return fail(Outcome::QuotaExhausted, Some(0), None),
        QuotaCheck::Counted { remaining, epoch } => (remaining, epoch),
    };
    let (remaining, epoch) = remaining;
    let counted = |mut d: Decision| {
        d.quota = Some(QuotaCount {
            customer_id: call.customer_id.to_string(),
            day,
            epoch,
        });
        d
    };
    let Ok(nik) = raw_nik.trim().parse::<Nik>() else {
        return counted(fail(Outcome::BadNikFormat, remaining, None));
    };
    let resident = match state.resident(nik) {
        Ok(Some(r)) => r,
        Ok(None) => return counted(fail(Outcome::NotFound, remaining, None)),
        Err(e) => {
            tracing::error!(error = %e, "population lookup failed");
            let mut d = fail(Outcome::NotFound, remaining, Some(e.to_string()));
            d.outcome = None;
            d.status = StatusCode::INTERNAL_SERVER_ERROR;
            return counted(d);
        }
    };
    let outcome = resident.status.outcome();
    if outcome != Outcome::Found {
        return counted(fail(outcome, remaining, None));
    }
    // Verification always judges granted elements only; lookups may be widened for a PoC test.
    let granted = inst.agreement.granted;
    let returned = if inst.extra_elements {
        FieldSet::all()
    } else {
        granted
    };
    let (body, elements) = match kind {
        CallKind::Lookup => {
            let flavour = dukcapil_domain::WireFlavour {
                id_numbers: state.settings.id_numbers,
                date_format: state.settings.date_format,
            };
            let record = Record {
                resident: &resident,
                granted: returned,
                flavour,
            };
            let elements = returned.wire_names();
            (Page::one(record, None).to_bytes(), elements)
        }
        CallKind::Verify => {
            let submitted: Vec<(Field, Value)> = p
                .map
                .iter()
                .filter_map(|(k, v)| Field::from_wire(k).map(|f| (f, v.clone())))
                .collect();
            let verdicts = verify::verify(&resident, granted, &submitted, threshold);
            let elements = verdicts.iter().map(|(f, _)| f.wire_name()).collect();
            let obj = response::Ordered(
                verdicts
                    .into_iter()
                    .map(|(f, v)| (f.wire_name(), Value::String(v)))
                    .collect(),
            );
            (Page::one(obj, Some(remaining)).to_bytes(), elements)
        }
    };
    counted(Decision {
        outcome: Some(Outcome::Found),
        status: StatusCode::OK,
        body,
        elements,
        quota: None,
        detail: None,
    })
}

/// What the journal needs to know about a request besides the decision.
#[derive(Debug)]
struct Meta {
    started: Instant,
    now: DateTime<Utc>,
    endpoint: String,
    customer_id: Option<String>,
    operator: Option<String>,
    nik: Option<String>,
    source: Option<SocketAddr>,
    /// The fault the fault layer applied to this request (delay, truncate, trickle).
    fault: Option<String>,
    /// Set once the request is read: the writer's open batch waits for this row.
    upcoming: Option<Upcoming>,
}

/// Journals the request, waits for the commit, then answers.
async fn finish(state: &AppState, meta: Meta, d: Decision) -> Response {
    let outcome_code = d.outcome.map_or("ERR", |o| o.code());
    tracing::debug!(
        endpoint = %meta.endpoint,
        customer = meta.customer_id.as_deref().unwrap_or("-"),
        nik = %mask_nik(meta.nik.as_deref().unwrap_or("")),
        outcome = outcome_code,
        "gateway call"
    );
    let row = JournalRow {
        id: 0,
        time: meta.now.to_rfc3339_opts(SecondsFormat::Micros, true),
        wib_day: wib_day(meta.now).to_string(),
        endpoint: meta.endpoint,
        customer_id: meta.customer_id,
        operator: meta.operator,
        nik: meta.nik,
        outcome: outcome_code.to_string(),
        http_status: d.status.as_u16(),
        // Joined, below: the writer stores them as one text.
        elements: Vec::new(),
        source: meta.source.map(|s| s.ip().to_canonical().to_string()),
        latency_us: i64::try_from(meta.started.elapsed().as_micros()).unwrap_or(i64::MAX),
        fault: meta.fault,
        detail: d.detail,
    };
    let written = (state.writer())
        .journal_joined(row, d.elements.join(","), d.quota, meta.upcoming)
        .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "journal write failed; answering 500");
        let body = Page::one(response::respon("Internal Server Error"), None).to_bytes();
        return json(StatusCode::INTERNAL_SERVER_ERROR, body);
    }
    json(d.status, d.body)
}

pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Whether a region path segment (`33-13`) names a regency of the reference data.
fn known_regency(region: &str) -> bool {
    let Some((p, r)) = region.split_once('-') else {
        return false;
    };
    let two = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    two(p)
        && two(r)
        && format!("{p}{r}")
            .parse::<u32>()
            .is_ok_and(|code| dukcapil_domain::Reference::get().regency(code).is_some())
}

/// The path's segments after `/dukcapil/get_json/`: `[customer, method]` or `[region, customer, method]`.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches("/dukcapil/get_json/")
        .split('/')
        .collect()
}

async fn gateway(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let source = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let segs = segments(parts.uri.path());
    let (region, customer_id, method) = match segs.as_slice() {
        [c, m] => (None, *c, *m),
        [r, c, m] => (Some(*r), *c, *m),
        _ => (None, "", ""),
    };
    let inst = state.institution(customer_id);
    // The institution's own clock (the sandbox's plus its offset) decides its quota day, term
    // and access hours, and dates its journal rows.
    let now = state
        .clock
        .now_plus(inst.as_ref().map_or(0, |i| i.clock_offset_us));
    let mut meta = Meta {
        started,
        now,
        endpoint: method.to_string(),
        customer_id: Some(customer_id.to_string()),
        operator: None,
        nik: None,
        source,
        fault: parts
            .extensions
            .get::<AppliedFault>()
            .map(ToString::to_string),
        upcoming: None,
    };
    let operator_key = inst
        .as_ref()
        .map_or("User_ID", |i| i.agreement.operator_field.as_str())
        .to_string();
    let params = match request::read_body(body).await {
        Ok(bytes) => request::parse(&parts.uri, &bytes),
        Err(e) => Err(e),
    };
    // From here to the journal the call does not wait on its client.
    meta.upcoming = Some(state.writer().upcoming());
    if let Ok(p) = &params {
        meta.operator = p.operator(&operator_key);
        meta.nik = p.nik.clone();
    }
    let service = match &inst {
        Some(i) => i.methods.service(method),
        None => crate::core::institutions::Methods::defaults().service(method),
    };
    let Some(kind) = service.map(CallKind::from_service) else {
        let mut d = failure(
            &state,
            CallKind::Lookup,
            Outcome::InvalidParameters,
            None,
            Some(format!("unknown method {method}")),
        );
        d.status = StatusCode::from_u16(state.settings.unknown_method_status)
            .unwrap_or(StatusCode::NOT_FOUND);
        return finish(&state, meta, d).await;
    };
    meta.endpoint = kind.endpoint().to_string();
    if parts.method != Method::POST {
        let mut d = failure(
            &state,
            kind,
            Outcome::InvalidParameters,
            None,
            Some(format!("HTTP method {}", parts.method)),
        );
        d.status = StatusCode::METHOD_NOT_ALLOWED;
        return finish(&state, meta, d).await;
    }
    let call = Call {
        kind,
        region,
        customer_id,
        params: &params,
        source: source.map(|s| s.ip()),
    };
    let mut decision = decide(&state, &call, now);
    if !method.eq_ignore_ascii_case(kind.endpoint()) && decision.detail.is_none() {
        decision.detail = Some(format!("called as {method}"));
    }
    finish(&state, meta, decision).await
}

/// Any path that is no endpoint: 404 in the gateway's envelope, journaled.
pub(crate) async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let now = state.clock.now();
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let path: String = req.uri().path().chars().take(200).collect();
    let mut d = failure(
        &state,
        CallKind::Lookup,
        Outcome::InvalidParameters,
        None,
        Some("no such endpoint".into()),
    );
    d.status = StatusCode::NOT_FOUND;
    let meta = Meta {
        started,
        now,
        endpoint: path,
        customer_id: None,
        operator: None,
        nik: None,
        source,
        fault: None,
        upcoming: None,
    };
    finish(&state, meta, d).await
}
