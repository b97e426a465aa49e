//! Data balikan intake (rule 6 of the digest, contract §6): what an institution returns for the
//! residents it accessed, as JSON (`store`) or as a CSV/.xlsx sheet (`upload`).
//!
//! Answers are in the balikan service's form, `{"message": ...}`, never the gateway envelope:
//! - 401: missing or wrong `Authorization: Bearer <balikan_token>`;
//! - 403 `{"message":"Instansi Tidak Aktif"}` (outcome 16's text in the configured catalogue):
//!   the institution is switched off (`active=false` through the admin API), as its gateway
//!   calls get 16. An agreement term that has ended does not block balikan: data looked up while
//!   the agreement ran is still owed;
//! - 400: unreadable body (too large, not UTF-8, not JSON, not a sheet, no `file` part), or every
//!   entry a repeat: `{"message":"Data sudah pernah dikirim"}`;
//! - 422: a row that cannot be stored (no valid NIK, a key given twice, no value), or, under the
//!   `strict` key policy, data that breaks the agreement's balikan fields; `errors` names each row
//!   and key, and nothing is stored. Under `free` (the default, as the real service) keys outside
//!   the agreement, values out of format and missing required fields are stored and recorded in
//!   the ledger entry (`unknown_keys`, `invalid`, `missing`);
//! - 200 `{"message":"Success"}`. When some entries are repeats and others are new, the new ones
//!   are stored and the answer is still 200, with the repeats listed under `duplicates` (a
//!   client that resends a corrected batch is not punished for the rows it had right).
//!
//! A repeat is the same institution, NIK and values (trimmed, keys canonical) as an entry of the
//! ledger or an earlier row of the same submission. Every request gets a journal row (endpoint
//! `balikan_store` / `balikan_upload`; `outcome` is one of `stored`, `duplicate`, `invalid`,
//! `bad_request`, `unauthorized`, `inactive`, `method`; `stored_nonconforming` and
//! `duplicate_nonconforming` when a row lacks a required field or has a value out of format, so
//! that a PoC never counts such a submission as valid balikan).

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use dukcapil_domain::mask_nik;
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::{json, Value};

use dukcapil_mock_api::JournalRow;

use super::AppState;
use crate::core::balikan::validate::{Checker, ErrorList, ValidRow};
use crate::core::balikan::{json, sheet};
use crate::core::clock::wib_day;
use crate::core::institutions::Institution;
use crate::db::{self, Known, Method, NewEntry};

/// Largest JSON body kept and parsed by default (`[limits] store_max_bytes`).
#[cfg(test)]
pub(crate) const STORE_CAP: usize = 2 * 1024 * 1024;
/// A larger body is still read and thrown away up to this size, so the client gets the answer
/// instead of a reset connection.
const DRAIN_CAP: usize = 32 * 1024 * 1024;
/// Errors listed in a 422 answer; the rest are counted in `errors_omitted`.
const MAX_ERRORS_LISTED: usize = 1000;
/// Row/key pairs named in a 422 `message` itself.
const MAX_ERRORS_IN_MESSAGE: usize = 20;
/// Characters of a submitted key or NIK quoted in a message.
const MAX_QUOTED_CHARS: usize = 64;

/// The text of the duplicate answer, as the real service sends it.
pub(crate) const DUPLICATE_MESSAGE: &str = "Data sudah pernah dikirim";

/// The intake routes (merged at the root).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/data_balikan/public/api/store", any(store))
        .route("/data_balikan/public/api/upload", any(upload))
        // Bodies are capped by `read_body`, which answers in the service's form.
        .layer(DefaultBodyLimit::disable())
}

/// A problem answer: status and `{"message"}` plus optional details.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: StatusCode,
    body: Value,
    /// Journal outcome label.
    outcome: &'static str,
    detail: Option<String>,
    /// New ledger entries, committed with the journal row of the answer.
    ledger: Vec<NewEntry>,
}

impl Answer {
    fn message(status: StatusCode, outcome: &'static str, message: impl Into<String>) -> Answer {
        let message = message.into();
        Answer {
            status,
            detail: Some(message.clone()),
            body: json!({ "message": message }),
            outcome,
            ledger: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Answer {
        Answer::message(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

/// What the journal records about a request besides the answer.
#[derive(Debug)]
struct Meta {
    started: Instant,
    now: DateTime<Utc>,
    method: Method,
    source: Option<SocketAddr>,
    customer_id: Option<String>,
    nik: Option<String>,
    elements: Vec<String>,
    /// The intake lock, from the ledger check until the commit.
    serial: Option<tokio::sync::OwnedMutexGuard<()>>,
}

async fn finish(state: &AppState, meta: Meta, mut a: Answer) -> Response {
    tracing::debug!(
        endpoint = meta.method.endpoint(),
        customer = meta.customer_id.as_deref().unwrap_or("-"),
        nik = %mask_nik(meta.nik.as_deref().unwrap_or("")),
        outcome = a.outcome,
        status = a.status.as_u16(),
        "balikan request"
    );
    let row = JournalRow {
        id: 0,
        time: meta.now.to_rfc3339_opts(SecondsFormat::Micros, true),
        wib_day: wib_day(meta.now).to_string(),
        endpoint: meta.method.endpoint().to_string(),
        customer_id: meta.customer_id,
        operator: None,
        nik: meta.nik,
        outcome: a.outcome.to_string(),
        http_status: a.status.as_u16(),
        elements: meta.elements,
        source: meta.source.map(|s| s.ip().to_canonical().to_string()),
        latency_us: i64::try_from(meta.started.elapsed().as_micros()).unwrap_or(i64::MAX),
        fault: None,
        detail: a.detail,
    };
    // A submission's ledger entries and its journal row commit together: a crash leaves both
    // or neither (so a retry is never refused as a repeat of an unjournaled request).
    let ledger = std::mem::take(&mut a.ledger);
    if let Err(e) = state.writer().journal_with(row, None, ledger).await {
        tracing::error!(error = %e, "journal write failed; answering 500");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"message": "Internal Server Error"})),
        )
            .into_response();
    }
    (a.status, Json(a.body)).into_response()
}

fn too_large((cap, limit): (usize, &'static str)) -> Answer {
    let mut a = Answer::bad_request(format!(
        "Ukuran data melebihi batas {} MB ({limit} = {cap})",
        cap / (1024 * 1024)
    ));
    a.body["limit"] = json!(limit);
    a.body["max"] = json!(cap);
    a
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads the body up to `cap`, draining (and discarding) beyond it up to `DRAIN_CAP`.
async fn read_body(
    headers: &HeaderMap,
    mut body: Body,
    (cap, limit): (usize, &'static str),
) -> Result<Bytes, Answer> {
    let too_large = || too_large((cap, limit));
    if declared_length(headers).is_some_and(|n| n > DRAIN_CAP as u64) {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Answer::bad_request(format!("Body tidak dapat dibaca: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= cap {
                buf.extend_from_slice(&data);
            } else if total > DRAIN_CAP {
                return Err(too_large());
            }
        }
    }
    if total > cap {
        return Err(too_large());
    }
    Ok(Bytes::from(buf))
}

/// The institution whose balikan token the request carries.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Institution, Answer> {
    let unauthorized = |why: &str| {
        let mut a = Answer::message(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthenticated.");
        a.detail = Some(why.to_string());
        a.body["detail"] = Value::String(why.to_string());
        a
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "header Authorization: Bearer <token> tidak ada",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(unauthorized(
            "header Authorization harus berbentuk Bearer <token>",
        ));
    };
    state
        .institutions()
        .into_iter()
        .find(|i| i.agreement.credentials.balikan_token == token)
        .ok_or_else(|| unauthorized("token tidak dikenal"))
}

fn start(state: &AppState, req: &Request, method: Method) -> Meta {
    Meta {
        started: Instant::now(),
        now: state.clock.now(),
        method,
        source: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        customer_id: None,
        nik: None,
        elements: vec![],
        serial: None,
    }
}

fn method_not_allowed(m: &HttpMethod) -> Answer {
    Answer::message(
        StatusCode::METHOD_NOT_ALLOWED,
        "method",
        format!("Method {m} tidak diizinkan; gunakan POST"),
    )
}

/// What both intake endpoints check first, in this order: the body (capped), the method, the
/// bearer token, the institution switched on. The institution is recorded for the journal row.
async fn admit(
    state: &AppState,
    req: Request,
    cap: (usize, &'static str),
    meta: &mut Meta,
) -> Result<(axum::http::request::Parts, Bytes, Institution), Answer> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.headers, body, cap).await?;
    let inst = caller(state, &parts)?;
    enter(state, &inst, meta)?;
    Ok((parts, bytes, inst))
}

/// The method and the bearer token (the checks after the body's size).
fn caller(state: &AppState, parts: &axum::http::request::Parts) -> Result<Institution, Answer> {
    if parts.method != HttpMethod::POST {
        return Err(method_not_allowed(&parts.method));
    }
    authenticate(state, &parts.headers)
}

/// Records the institution for the journal row; refuses it if switched off.
fn enter(state: &AppState, inst: &Institution, meta: &mut Meta) -> Result<(), Answer> {
    meta.customer_id = Some(inst.agreement.customer_id.clone());
    // Dated by the institution's own clock, as its lookups are.
    meta.now += chrono::Duration::microseconds(inst.clock_offset_us);
    if !inst.active {
        let text = dukcapil_domain::Outcome::InstitutionInactive.text(state.settings.catalogue);
        let mut a = Answer::message(StatusCode::FORBIDDEN, "inactive", text);
        a.detail = Some(format!("{text} (16): institution switched off"));
        return Err(a);
    }
    Ok(())
}

async fn store(State(state): State<AppState>, req: Request) -> Response {
    let mut meta = start(&state, &req, Method::Store);
    let answer = store_answer(&state, req, &mut meta).await;
    finish(&state, meta, answer).await
}

/// A fast refusal when `upload_max_waiting` submissions are already being read or parsed.
fn busy(state: &AppState) -> Answer {
    let max = state.settings.limits.upload_max_waiting;
    let mut a = Answer::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        format!(
            "Terlalu banyak data balikan diproses bersamaan (batas upload_max_waiting = {max}); kirim ulang sebentar lagi"
        ),
    );
    a.body["limit"] = json!("upload_max_waiting");
    a.body["max"] = json!(max);
    a
}

/// Runs `f` (parsing and validating a submission) on the blocking pool, at most
/// `upload_concurrency` at once, so that lookups never wait on an upload.
async fn off_workers<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Answer> {
    let _turn = state.intake.parse_turn().await;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| storage_failure(&format!("parse task: {e}")))
}

async fn store_answer(state: &AppState, req: Request, meta: &mut Meta) -> Answer {
    let Some(_admitted) = state.intake.admit() else {
        return busy(state);
    };
    let cap = (state.settings.limits.store_max_bytes, "store_max_bytes");
    let (_, bytes, inst) = match admit(state, req, cap, meta).await {
        Ok(admitted) => admitted,
        Err(a) => return a,
    };
    let agreement = inst.agreement.clone();
    let keys = inst.balikan_keys;
    let checked = off_workers(state, move || {
        let customer_id = agreement.customer_id.clone();
        let value = json_body(&bytes)?;
        // The parsed tree replaces the text.
        drop(bytes);
        let mut checker = Checker::new(&agreement, keys);
        if let Err(message) = json::rows(&value, &customer_id, &mut checker) {
            return Err(Answer::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                message,
            ));
        }
        Ok(Checked::from(checker))
    })
    .await;
    match checked {
        Ok(Ok(checked)) => intake(state, &inst, checked, Method::Store, meta).await,
        Ok(Err(a)) | Err(a) => a,
    }
}

/// A JSON body as a tree, or the answer that refuses it.
fn json_body(bytes: &[u8]) -> Result<Value, Answer> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Answer::bad_request(format!(
            "Body harus JSON berenkode UTF-8 (byte tidak valid pada posisi {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(Answer::bad_request(
            "Body kosong: kirim array JSON data balikan",
        ));
    }
    serde_json::from_str(text)
        .map_err(|e| Answer::bad_request(format!("Body bukan JSON yang valid: {e}")))
}

async fn upload(State(state): State<AppState>, req: Request) -> Response {
    let mut meta = start(&state, &req, Method::Upload);
    let answer = upload_answer(&state, req, &mut meta).await;
    finish(&state, meta, answer).await
}

async fn upload_answer(state: &AppState, req: Request, meta: &mut Meta) -> Answer {
    let Some(_admitted) = state.intake.admit() else {
        return busy(state);
    };
    let cap = (state.settings.limits.upload_max_bytes, "upload_max_bytes");
    let (parts, body) = req.into_parts();
    let declared = declared_length(&parts.headers);
    if declared.is_some_and(|n| n > DRAIN_CAP as u64) {
        return too_large(cap);
    }
    // The checks of `admit` in its order, but the body is read only once, as the multipart
    // stream: the file part is the one copy kept (not the raw body as well).
    let reading = Arc::new(tokio::sync::Mutex::new(Reading::new(body, cap)));
    let who = caller(state, &parts);
    let file = match &who {
        Ok(inst) if inst.active => {
            let stream = futures_util::stream::unfold(reading.clone(), |r| async move {
                let chunk = r.lock().await.next().await?;
                Some((Ok::<_, std::io::Error>(chunk), r))
            });
            let req = Request::from_parts(parts, Body::from_stream(stream));
            let reserve = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0).min(cap.0));
            Some(file_part(req, reserve).await)
        }
        _ => None,
    };
    // The body's size and readability come first, whatever the form held.
    if let Some(refusal) = reading.lock().await.finish().await {
        return refusal;
    }
    let inst = match who {
        Ok(inst) => inst,
        Err(a) => return a,
    };
    if let Err(a) = enter(state, &inst, meta) {
        return a;
    }
    let (file_name, file) = match file {
        Some(Ok(f)) => f,
        Some(Err(a)) => return a,
        // `enter` refuses every institution whose file was not read.
        None => return storage_failure("upload: no file read for an active institution"),
    };
    let agreement = inst.agreement.clone();
    let keys = inst.balikan_keys;
    let limits = state.settings.limits.clone();
    let checked = off_workers(state, move || {
        let mut checker = Checker::new(&agreement, keys);
        sheet::detect(file_name.as_deref(), &file)
            .and_then(|k| sheet::read(k, &file, &limits, &mut checker))
            .map_err(sheet_refusal)?;
        drop(file);
        Ok(Checked::from(checker))
    })
    .await;
    match checked {
        Ok(Ok(checked)) => intake(state, &inst, checked, Method::Upload, meta).await,
        Ok(Err(a)) | Err(a) => a,
    }
}

/// A file that cannot be read (400), or one past a limit (413, the limit named in the body).
fn sheet_refusal(e: sheet::SheetError) -> Answer {
    match &e {
        sheet::SheetError::Limit { limit, max, .. } => {
            let mut a = Answer::message(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string());
            a.body["limit"] = json!(limit);
            a.body["max"] = json!(max);
            a
        }
        _ => Answer::bad_request(e.to_string()),
    }
}

/// An upload's body as it is read: counted against the cap, drained and discarded past it (so
/// the client gets the answer instead of a reset connection), and what refuses it.
struct Reading {
    body: Body,
    total: usize,
    cap: (usize, &'static str),
    done: bool,
    refusal: Option<Answer>,
}

impl Reading {
    fn new(body: Body, cap: (usize, &'static str)) -> Reading {
        Reading {
            body,
            total: 0,
            cap,
            done: false,
            refusal: None,
        }
    }

    /// The next chunk within the cap; `None` at the end, or once the body is refused.
    async fn next(&mut self) -> Option<Bytes> {
        while !self.done {
            match self.body.frame().await {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    self.refusal =
                        Some(Answer::bad_request(format!("Body tidak dapat dibaca: {e}")));
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    self.total = self.total.saturating_add(data.len());
                    if self.total <= self.cap.0 {
                        return Some(data);
                    }
                    if self.total > DRAIN_CAP {
                        self.done = true;
                        self.refusal = Some(too_large(self.cap));
                    }
                }
            }
        }
        if self.total > self.cap.0 && self.refusal.is_none() {
            self.refusal = Some(too_large(self.cap));
        }
        None
    }

    /// Reads the rest of the body (discarding it); what refuses the body, if anything.
    async fn finish(&mut self) -> Option<Answer> {
        while self.next().await.is_some() {}
        self.refusal.take()
    }
}

/// The `file` part of a multipart form: its file name and content (`reserve`: the body's
/// declared length, so that the content is not copied as it grows).
async fn file_part(req: Request, reserve: usize) -> Result<(Option<String>, Vec<u8>), Answer> {
    let mut form = Multipart::from_request(req, &()).await.map_err(|e| {
        Answer::bad_request(format!(
            "Body harus multipart/form-data dengan bagian `file` ({})",
            e.body_text()
        ))
    })?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        Answer::bad_request(format!(
            "Form multipart tidak dapat dibaca: {}",
            e.body_text()
        ))
    };
    let mut found = None;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        if found.is_some() {
            return Err(Answer::bad_request(
                "Form berisi lebih dari satu bagian `file`; kirim satu file per unggahan",
            ));
        }
        let name = field.file_name().map(str::to_string);
        let mut content = Vec::with_capacity(reserve);
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            content.extend_from_slice(&chunk);
        }
        found = Some((name, content));
    }
    let (name, content) = found.ok_or_else(|| {
        Answer::bad_request("Form multipart tidak berisi bagian `file` (CSV atau .xlsx)")
    })?;
    if content.is_empty() {
        return Err(Answer::bad_request("File kosong"));
    }
    Ok((name, content))
}

/// At most `max` characters of a submitted text quoted in a message, with an ellipsis.
fn quoted(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// As many items as fit in `budget` bytes of JSON (at least one when there is any), and how
/// many were left out.
fn capped<T: Serialize>(items: &[T], max_items: usize, budget: usize) -> (Vec<Value>, usize) {
    let mut listed = Vec::new();
    let mut used = 0usize;
    for item in items.iter().take(max_items) {
        let v = serde_json::to_value(item).unwrap_or(Value::Null);
        let size = serde_json::to_string(&v).map_or(0, |t| t.len()) + 1;
        if !listed.is_empty() && used + size > budget {
            break;
        }
        if listed.is_empty() && size > budget {
            // Even one item is over the budget: it is counted, not listed.
            break;
        }
        used += size;
        listed.push(v);
    }
    let omitted = items.len() - listed.len();
    (listed, omitted)
}

fn invalid(errors: ErrorList, budget: usize) -> Answer {
    // Block problems first, then by row; the order within a row is the order found (the list
    // keeps them so, and holds at least as many as are listed).
    let named: Vec<String> = errors
        .kept()
        .iter()
        .take(MAX_ERRORS_IN_MESSAGE)
        .map(|e| {
            let key = quoted(&e.key, MAX_QUOTED_CHARS);
            match (e.row, e.block) {
                (Some(r), _) if e.key.is_empty() => format!("baris {r}"),
                (Some(r), _) => format!("baris {r} {key}"),
                (None, Some(b)) => format!("blok {b} {key}"),
                (None, None) => key,
            }
        })
        .collect();
    let more = errors.total().saturating_sub(MAX_ERRORS_IN_MESSAGE);
    let mut message = format!("Data tidak valid: {}", named.join("; "));
    if more > 0 {
        message.push_str(&format!("; dan {more} kesalahan lain"));
    }
    let (listed, _) = capped(errors.kept(), MAX_ERRORS_LISTED, budget);
    let omitted = errors.total() - listed.len();
    let mut body = json!({ "message": message, "errors": listed });
    if omitted > 0 {
        body["errors_omitted"] = json!(omitted);
    }
    Answer {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body,
        outcome: "invalid",
        detail: Some(message),
        ledger: Vec::new(),
    }
}

/// A row that repeats the ledger or an earlier row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Repeat {
    row: usize,
    nik: String,
}

/// A submission read and checked against the agreement (off the async workers).
#[derive(Debug)]
struct Checked {
    /// The one NIK of the submission, if it names only one (for the journal row).
    nik: Option<String>,
    valid: Result<Vec<ValidRow>, ErrorList>,
}

impl From<Checker<'_>> for Checked {
    fn from(checker: Checker<'_>) -> Checked {
        let (nik, valid) = checker.finish();
        Checked { nik, valid }
    }
}

/// Stores what is new of a checked submission. Shared by both methods.
async fn intake(
    state: &AppState,
    inst: &Institution,
    checked: Checked,
    method: Method,
    meta: &mut Meta,
) -> Answer {
    let agreement = &inst.agreement;
    let budget = state.settings.limits.answer_max_bytes;
    meta.nik = checked.nik;
    let valid = match checked.valid {
        Ok(v) => v,
        Err(errors) => return invalid(errors, budget),
    };
    meta.elements = valid
        .iter()
        .flat_map(|r| r.values.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let customer_id = agreement.customer_id.clone();
    // Released by `finish` once the entries and the journal row are committed.
    meta.serial = Some(state.intake.serialise().await);
    let niks: Vec<String> = valid
        .iter()
        .map(|r| r.nik.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let dir = state.data_dir();
    let cid = customer_id.clone();
    let known = match tokio::task::spawn_blocking(move || db::ledger_known(&dir, &cid, &niks)).await
    {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => return storage_failure(&e.to_string()),
        Err(e) => return storage_failure(&e.to_string()),
    };
    let time = meta.now.to_rfc3339_opts(SecondsFormat::Micros, true);
    let (entries, repeats) = classify(&valid, &known, &customer_id, &time, method);
    let nonconforming = nonconformance(&valid);
    if entries.is_empty() {
        let outcome = if nonconforming.is_empty() {
            "duplicate"
        } else {
            "duplicate_nonconforming"
        };
        let mut a = Answer::message(StatusCode::BAD_REQUEST, outcome, DUPLICATE_MESSAGE);
        a.detail = Some(format!(
            "{} baris, semuanya sudah pernah dikirim{nonconforming}",
            valid.len()
        ));
        return a;
    }
    let stored = entries.len();
    let flagged = entries.iter().filter(|e| e.never_looked_up).count();
    let detail = format!(
        "{stored} baris disimpan ({flagged} NIK belum pernah diakses), {} ulangan{nonconforming}",
        repeats.len()
    );
    let mut body = json!({ "message": "Success" });
    if !repeats.is_empty() {
        body["stored"] = json!(stored);
        let (listed, omitted) = capped(&repeats, usize::MAX, budget);
        body["duplicates"] = json!(listed);
        if omitted > 0 {
            body["duplicates_omitted"] = json!(omitted);
        }
    }
    Answer {
        status: StatusCode::OK,
        body,
        outcome: if nonconforming.is_empty() {
            "stored"
        } else {
            "stored_nonconforming"
        },
        detail: Some(detail),
        // Written with the journal row by `finish`, in one transaction.
        ledger: entries,
    }
}

/// For the journal's detail: what the rows stored under the `free` key policy lacked or got
/// wrong (`; tidak sesuai perjanjian: baris 2 tanpa NO_RM, ...`); empty when every row is within
/// the agreement. Unknown keys alone do not count: the agreement does not forbid sending more.
fn nonconformance(valid: &[ValidRow]) -> String {
    let mut parts = Vec::new();
    for r in valid.iter().filter(|r| r.conformance.breaks_agreement()) {
        let c = &r.conformance;
        if !c.missing.is_empty() {
            parts.push(format!("baris {} tanpa {}", r.row, c.missing.join(", ")));
        }
        if !c.invalid.is_empty() {
            let keys: Vec<&str> = c.invalid.keys().map(String::as_str).collect();
            parts.push(format!("baris {} format salah {}", r.row, keys.join(", ")));
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    let total = parts.len();
    let mut listed: Vec<String> = parts.into_iter().take(5).collect();
    if total > 5 {
        listed.push(format!("dan {} lagi", total - 5));
    }
    format!("; tidak sesuai perjanjian: {}", listed.join("; "))
}

/// Splits valid rows into new ledger entries and repeats (of the ledger or of earlier rows).
fn classify(
    valid: &[ValidRow],
    known: &Known,
    customer_id: &str,
    time: &str,
    method: Method,
) -> (Vec<NewEntry>, Vec<Repeat>) {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut entries = Vec::new();
    let mut repeats = Vec::new();
    for r in valid {
        let nik = r.nik.to_string();
        let values = db::values_json(&r.values);
        let key = (nik.clone(), values.clone());
        if known.sent.contains(&key) || !seen.insert(key) {
            repeats.push(Repeat { row: r.row, nik });
            continue;
        }
        entries.push(NewEntry {
            time: time.to_string(),
            customer_id: customer_id.to_string(),
            never_looked_up: !known.looked_up.contains(&nik),
            nik,
            method,
            row: r.row,
            values_json: values,
            conformance_json: (!r.conformance.is_clean())
                .then(|| serde_json::to_string(&r.conformance).unwrap_or_default()),
        });
    }
    (entries, repeats)
}

fn storage_failure(e: &str) -> Answer {
    tracing::error!(error = %e, "balikan ledger unavailable");
    Answer::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error",
        "Internal Server Error",
    )
}
