//! The mock Web Portal on the gateway's listener: `GET`/`POST /portal/masuk` (login),
//! `GET`/`POST /portal/cari` (NIK search), `POST /portal/keluar` (logout).
//!
//! Login: the form carries a double-submit token (cookie `portal_csrf` and a hidden field);
//! an account locked after `lockout_failures` failures within `lockout_minutes` gets 429; wrong
//! institution, username or password get `Gagal Login` (401), as does an institution whose
//! agreement grants no `web_portal` (403); an institution switched off or outside its term gets
//! `Instansi tidak aktif`, a deactivated user id `User ID non aktif, silahkan menghubungi Admin`.
//! A session (cookie `portal_session`, HttpOnly, SameSite=Strict) lasts `session_minutes` on
//! the mock's clock; its forms carry its CSRF token.
//!
//! Search: the institution's states as at login, then an empty NIK → 07 (not counted), the
//! portal quota (`PORTAL:<customer_id>` per WIB day: `quota_before_poc` until `poc_passed`)
//! → 05 (not counted), then counted: 15 malformed, 13, 11, 12, 14, or the granted elements.
//! Every search is journaled as endpoint `PORTAL` with the operator's username, its quota count
//! in the same commit, before the page is answered. Logins are journaled as `PORTAL_LOGIN`.

pub(crate) mod page;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Form, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use dukcapil_domain::{mask_nik, AccessMethod, Field, Nik, Outcome};
use dukcapil_mock_api::{JournalRow, PORTAL_LOGIN, PORTAL_LOGOUT, PORTAL_SEARCH};

use super::AppState;
use crate::core::clock::{wib, wib_day};
use crate::core::portal::{self, quota_key, Gate, Session};
use crate::core::quota::QuotaCheck;
use crate::db::QuotaCount;
use page::{Lang, Message, Shown};

/// The session cookie.
const SESSION_COOKIE: &str = "portal_session";
/// The login form's double-submit cookie.
const LOGIN_CSRF_COOKIE: &str = "portal_csrf";
/// The language cookie.
const LANG_COOKIE: &str = "portal_lang";
/// Largest form body read.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// Longest customer id tracked for the lock-out.
const MAX_NAME: usize = 64;

/// The portal's routes; the caller adds state.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(PORTAL_LOGIN, get(login_form).post(login))
        .route(PORTAL_SEARCH, get(search_form).post(search))
        .route(PORTAL_LOGOUT, post(logout))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn query_lang(uri: &axum::http::Uri) -> Option<Lang> {
    uri.query()?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

/// What every portal request reads first: the language, the session, the caller.
struct Ctx {
    lang: Lang,
    /// Set when `?lang=` chose the language (remembered in a cookie).
    lang_chosen: bool,
    session: Option<(String, Session)>,
    source: Option<SocketAddr>,
    headers: HeaderMap,
    now: DateTime<Utc>,
    started: Instant,
}

fn ctx(state: &AppState, req: &Request) -> Ctx {
    let headers = req.headers().clone();
    let chosen = query_lang(req.uri());
    let lang = chosen
        .or_else(|| cookie(&headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or(Lang::Id);
    // The institution's own clock once its session names it (a sandbox's agencies may each
    // have moved theirs).
    let sid = cookie(&headers, SESSION_COOKIE);
    let now = state.now_for(
        sid.and_then(|id| state.portal.session_customer(id))
            .as_deref(),
    );
    let session = sid.and_then(|id| state.portal.session(id, now).map(|s| (id.to_string(), s)));
    Ctx {
        lang,
        lang_chosen: chosen.is_some(),
        session,
        source: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        headers,
        now,
        started: Instant::now(),
    }
}

/// A cookie for the portal's paths; `Secure` when the gateway serves TLS.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/portal; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.settings.tls {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An HTML answer that no cache keeps and no frame shows.
fn html(status: StatusCode, body: String, cookies: Vec<HeaderValue>) -> Response {
    let mut res = (status, Body::from(body)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    res
}

fn redirect(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = html(StatusCode::SEE_OTHER, String::new(), cookies);
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn lang_cookie(state: &AppState, c: &Ctx) -> Vec<HeaderValue> {
    if c.lang_chosen {
        vec![set_cookie(
            state,
            LANG_COOKIE,
            c.lang.code(),
            Some(365 * 24 * 3600),
        )]
    } else {
        vec![]
    }
}

/// The login page with a fresh double-submit token.
fn login_page(
    state: &AppState,
    c: &Ctx,
    status: StatusCode,
    message: Option<&Message>,
    customer_id: &str,
) -> Response {
    let csrf = portal::token();
    let mut cookies = lang_cookie(state, c);
    cookies.push(set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, None));
    html(
        status,
        page::login(c.lang, &csrf, message, customer_id),
        cookies,
    )
}

async fn form(req: Request) -> Option<HashMap<String, String>> {
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, MAX_FORM_BYTES)));
    Form::<HashMap<String, String>>::from_request(req, &())
        .await
        .ok()
        .map(|f| f.0)
}

fn csrf_refused(c: &Ctx, back: &str) -> Response {
    let text = c.lang.t(
        "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi.",
        "The form has expired or is not valid (CSRF token). Reload the page and try again.",
    );
    html(
        StatusCode::FORBIDDEN,
        page::notice(
            c.lang,
            c.lang.t("Permintaan ditolak", "Request refused"),
            &Message::Note(text.into()),
            back,
        ),
        vec![],
    )
}

/// One journal row of the portal, committed (with its quota count) before the answer.
#[allow(clippy::too_many_arguments)]
async fn journal(
    state: &AppState,
    c: &Ctx,
    endpoint: &str,
    customer_id: &str,
    username: &str,
    nik: Option<String>,
    outcome: &str,
    status: StatusCode,
    elements: Vec<String>,
    detail: Option<String>,
    quota: Option<QuotaCount>,
) -> Result<(), Response> {
    let row = JournalRow {
        id: 0,
        time: c.now.to_rfc3339_opts(SecondsFormat::Micros, true),
        wib_day: wib_day(c.now).to_string(),
        endpoint: endpoint.to_string(),
        customer_id: Some(customer_id.to_string()),
        operator: Some(username.to_string()),
        nik,
        outcome: outcome.to_string(),
        http_status: status.as_u16(),
        elements,
        source: c.source.map(|s| s.ip().to_canonical().to_string()),
        latency_us: i64::try_from(c.started.elapsed().as_micros()).unwrap_or(i64::MAX),
        fault: None,
        detail,
    };
    state.writer().journal(row, quota).await.map_err(|e| {
        tracing::error!(error = %e, "portal journal write failed; answering 500");
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            page::notice(
                c.lang,
                "Internal Server Error",
                &Message::Note("Internal Server Error".into()),
                PORTAL_SEARCH,
            ),
            vec![],
        )
    })
}

async fn login_form(State(state): State<AppState>, req: Request) -> Response {
    let c = ctx(&state, &req);
    if c.session.is_some() {
        return redirect(PORTAL_SEARCH, lang_cookie(&state, &c));
    }
    login_page(&state, &c, StatusCode::OK, None, "")
}

async fn login(State(state): State<AppState>, req: Request) -> Response {
    let mut c = ctx(&state, &req);
    let Some(f) = form(req).await else {
        return login_page(
            &state,
            &c,
            StatusCode::BAD_REQUEST,
            Some(&Message::Outcome(Outcome::InvalidParameters, None)),
            "",
        );
    };
    let field = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let (cid, username) = (field("institution"), field("username"));
    // The lock-out, the session's expiry and the journal row read the institution's clock.
    c.now = state.now_for(Some(&cid));
    let password = f.get("password").cloned().unwrap_or_default();
    // Double submit: the hidden field must repeat the cookie set with the form.
    let sent = f.get("csrf").map(String::as_str).unwrap_or("");
    if !cookie(&c.headers, LOGIN_CSRF_COOKIE).is_some_and(|k| portal::same_token(k, sent)) {
        return csrf_refused(&c, PORTAL_LOGIN);
    }
    let settings = state.portal.settings().clone();
    if let Gate::Locked(until) = state.portal.gate(&cid, &username, c.now) {
        return locked(&state, &c, &cid, &username, until, &settings).await;
    }
    // A name no account can have is not tracked for the lock-out (it would only grow the
    // map); it fails like any other wrong name.
    let plausible = cid.len() <= MAX_NAME && dukcapil_mock_api::valid_username(&username);
    let op = state.portal.operator(&cid, &username);
    let ok = tokio::task::spawn_blocking(move || portal::verify(op.as_ref(), &password))
        .await
        .unwrap_or(false);
    let inst = state.institution(&cid);
    if !ok || inst.is_none() {
        tracing::info!(customer_id = %cid, username = %username, "portal login failed");
        if plausible {
            if let Some(until) = state.portal.fail(&cid, &username, c.now) {
                return locked(&state, &c, &cid, &username, until, &settings).await;
            }
        }
        let status = StatusCode::UNAUTHORIZED;
        if let Err(r) = journal(
            &state,
            &c,
            "PORTAL_LOGIN",
            &cid,
            &username,
            None,
            "03",
            status,
            vec![],
            Some("wrong institution, username or password".into()),
            None,
        )
        .await
        {
            return r;
        }
        let m = Message::Outcome(Outcome::LoginFailed, None);
        return login_page(&state, &c, status, Some(&m), &cid);
    }
    let Some(inst) = inst else {
        return login_page(&state, &c, StatusCode::UNAUTHORIZED, None, &cid);
    };
    let day = wib_day(c.now);
    let refusal = if !inst.grants(AccessMethod::WebPortal) {
        Some((
            Outcome::LoginFailed,
            Some(c.lang.t(
                "Perjanjian kerja sama instansi ini tidak memberikan akses Web Portal.",
                "This institution's agreement grants no Web Portal access.",
            )),
            "the agreement grants no web_portal access",
        ))
    } else if !inst.active || !inst.term.covers(day) {
        Some((
            Outcome::InstitutionInactive,
            None,
            if inst.active {
                "outside the agreement term"
            } else {
                "institution switched off"
            },
        ))
    } else if !inst.user_active {
        Some((Outcome::UserIdInactive, None, "user id deactivated"))
    } else {
        None
    };
    if let Some((outcome, hint, detail)) = refusal {
        let status = StatusCode::FORBIDDEN;
        if let Err(r) = journal(
            &state,
            &c,
            "PORTAL_LOGIN",
            &cid,
            &username,
            None,
            outcome.code(),
            status,
            vec![],
            Some(detail.into()),
            None,
        )
        .await
        {
            return r;
        }
        let m = Message::Outcome(outcome, hint.map(str::to_string));
        return login_page(&state, &c, status, Some(&m), &cid);
    }
    if let Err(r) = journal(
        &state,
        &c,
        "PORTAL_LOGIN",
        &cid,
        &username,
        None,
        "01",
        StatusCode::SEE_OTHER,
        vec![],
        None,
        None,
    )
    .await
    {
        return r;
    }
    let id = state.portal.login(&cid, &username, c.now);
    tracing::info!(customer_id = %cid, username = %username, "portal login");
    let mut cookies = lang_cookie(&state, &c);
    cookies.push(set_cookie(
        &state,
        SESSION_COOKIE,
        &id,
        Some(i64::from(settings.session_minutes) * 60),
    ));
    cookies.push(set_cookie(&state, LOGIN_CSRF_COOKIE, "", Some(0)));
    redirect(PORTAL_SEARCH, cookies)
}

/// The 429 page of a locked account (journaled as a refused login).
async fn locked(
    state: &AppState,
    c: &Ctx,
    cid: &str,
    username: &str,
    until: DateTime<Utc>,
    settings: &crate::config::PortalSettings,
) -> Response {
    let status = StatusCode::TOO_MANY_REQUESTS;
    if let Err(r) = journal(
        state,
        c,
        "PORTAL_LOGIN",
        cid,
        username,
        None,
        "03",
        status,
        vec![],
        Some(format!("locked until {}", until.to_rfc3339())),
        None,
    )
    .await
    {
        return r;
    }
    let at = until.with_timezone(&wib()).format("%H:%M");
    let text = match c.lang {
        Lang::Id => format!(
            "Akun dikunci sementara: {} kali gagal masuk dalam {} menit. Coba lagi setelah pukul {at} WIB.",
            settings.lockout_failures, settings.lockout_minutes
        ),
        Lang::En => format!(
            "Account locked for now: {} failed logins within {} minutes. Try again after {at} WIB.",
            settings.lockout_failures, settings.lockout_minutes
        ),
    };
    let mut res = html(
        status,
        page::notice(
            c.lang,
            c.lang.t("Akun dikunci", "Account locked"),
            &Message::Note(text),
            PORTAL_LOGIN,
        ),
        vec![],
    );
    let secs = (until - c.now).num_seconds().max(1);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn search_page(
    state: &AppState,
    c: &Ctx,
    s: &Session,
    status: StatusCode,
    shown: &Shown<'_>,
) -> Response {
    let inst = state.institution(&s.customer_id);
    let name = inst
        .as_ref()
        .map(|i| i.agreement.institution.clone())
        .unwrap_or_default();
    let quota = state.portal_quota(&s.customer_id).unwrap_or((0, Some(0)));
    let op = page::Operator {
        username: &s.username,
        customer_id: &s.customer_id,
        institution: &name,
        csrf: &s.csrf,
        quota,
    };
    html(
        status,
        page::search(c.lang, &op, shown),
        lang_cookie(state, c),
    )
}

async fn search_form(State(state): State<AppState>, req: Request) -> Response {
    let c = ctx(&state, &req);
    let Some((_, s)) = &c.session else {
        return redirect(PORTAL_LOGIN, lang_cookie(&state, &c));
    };
    search_page(&state, &c, s, StatusCode::OK, &Shown::None)
}

async fn search(State(state): State<AppState>, req: Request) -> Response {
    let c = ctx(&state, &req);
    let Some((_, s)) = c.session.clone() else {
        return redirect(PORTAL_LOGIN, lang_cookie(&state, &c));
    };
    let f = form(req).await.unwrap_or_default();
    let sent = f.get("csrf").map(String::as_str).unwrap_or("");
    if !portal::same_token(&s.csrf, sent) {
        return csrf_refused(&c, PORTAL_SEARCH);
    }
    let raw = f.get("nik").cloned().unwrap_or_default();
    let nik_raw = raw.trim().to_string();
    let (status, outcome, fields, quota, detail) = decide(&state, &s, &nik_raw, c.now);
    let elements: Vec<String> = fields
        .iter()
        .map(|(f, _)| f.wire_name().to_string())
        .collect();
    let code = outcome.map_or("ERR", Outcome::code);
    tracing::debug!(
        customer = %s.customer_id,
        operator = %s.username,
        nik = %mask_nik(&nik_raw),
        outcome = code,
        "portal search"
    );
    if let Err(r) = journal(
        &state,
        &c,
        "PORTAL",
        &s.customer_id,
        &s.username,
        (!nik_raw.is_empty()).then(|| nik_raw.clone()),
        code,
        status,
        elements,
        detail,
        quota,
    )
    .await
    {
        return r;
    }
    let shown = match outcome {
        Some(Outcome::Found) => Shown::Record(&fields),
        Some(o) => Shown::Message(Message::Outcome(o, None)),
        None => Shown::Message(Message::Note("Internal Server Error".into())),
    };
    search_page(&state, &c, &s, status, &shown)
}

/// The granted fields of a found record, as text.
type Fields = Vec<(Field, Option<String>)>;

/// Decides one search at `now`: counts the portal quota, writes nothing.
fn decide(
    state: &AppState,
    s: &Session,
    nik_raw: &str,
    now: DateTime<Utc>,
) -> (
    StatusCode,
    Option<Outcome>,
    Fields,
    Option<QuotaCount>,
    Option<String>,
) {
    let ok = StatusCode::OK;
    let Some(inst) = state.institution(&s.customer_id) else {
        return (ok, Some(Outcome::LoginFailed), vec![], None, None);
    };
    let day = wib_day(now);
    if !inst.active || !inst.term.covers(day) {
        return (ok, Some(Outcome::InstitutionInactive), vec![], None, None);
    }
    if !inst.user_active {
        return (ok, Some(Outcome::UserIdInactive), vec![], None, None);
    }
    if let Some(hours) = inst.access_hours {
        if !hours.contains(now.with_timezone(&wib()).time()) {
            return (ok, Some(Outcome::OutsideServiceHours), vec![], None, None);
        }
    }
    if nik_raw.is_empty() {
        let detail = Some("NIK missing or empty".to_string());
        return (ok, Some(Outcome::InvalidParameters), vec![], None, detail);
    }
    let key = quota_key(&s.customer_id);
    let epoch = match state.count_call(&key, day, inst.portal_quota(&state.settings)) {
        QuotaCheck::Exhausted => return (ok, Some(Outcome::QuotaExhausted), vec![], None, None),
        QuotaCheck::Counted { epoch, .. } => epoch,
    };
    let quota = Some(QuotaCount {
        customer_id: key,
        day,
        epoch,
    });
    let Ok(nik) = nik_raw.parse::<Nik>() else {
        return (ok, Some(Outcome::BadNikFormat), vec![], quota, None);
    };
    let resident = match state.resident(nik) {
        Ok(Some(r)) => r,
        Ok(None) => return (ok, Some(Outcome::NotFound), vec![], quota, None),
        Err(e) => {
            tracing::error!(error = %e, "population lookup failed");
            let detail = Some(e.to_string());
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                vec![],
                quota,
                detail,
            );
        }
    };
    let outcome = resident.status.outcome();
    if outcome != Outcome::Found {
        return (ok, Some(outcome), vec![], quota, None);
    }
    // Exactly the agreement's grant (the portal is Dukcapil's application: no test widening).
    let fields = resident
        .project(inst.agreement.granted)
        .map(|(f, v)| (f, v.as_text()))
        .collect();
    (ok, Some(Outcome::Found), fields, quota, None)
}

async fn logout(State(state): State<AppState>, req: Request) -> Response {
    let c = ctx(&state, &req);
    let f = form(req).await.unwrap_or_default();
    if let Some((id, s)) = &c.session {
        let sent = f.get("csrf").map(String::as_str).unwrap_or("");
        if !portal::same_token(&s.csrf, sent) {
            return csrf_refused(&c, PORTAL_SEARCH);
        }
        state.portal.logout(id);
        tracing::info!(customer_id = %s.customer_id, username = %s.username, "portal logout");
    }
    redirect(
        PORTAL_LOGIN,
        vec![set_cookie(&state, SESSION_COOKIE, "", Some(0))],
    )
}
