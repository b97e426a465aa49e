//! The live dashboard at `/__admin/ui`: the journal as it arrives, today's quota and the
//! institution switches, the data-balikan ledger, the rule-8 detector, fault rules, and the
//! semester usage report as a chart and a CSV. Plain server-rendered pages with a little inline
//! JavaScript (the journal polls a JSON endpoint), nothing loaded from elsewhere.
//!
//! Same reach as the admin API: loopback callers only unless `admin_remote`. The sandbox
//! operator's admin token is typed once into the login form (an institution's own token does not
//! log in: the dashboard shows every institution, as the operator's token sees them); the browser then holds only a random session id in an
//! HttpOnly, SameSite=Strict cookie (the session lives in [`Sessions`], one per mock state), and every
//! state-changing form carries the session's CSRF token. NIKs are shown masked everywhere.
//! The data comes from the admin handlers' own functions (journal filter, usage report,
//! detector, ledger, institution patch, fault engine), so both surfaces say the same.

mod pages;
mod texts;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use dukcapil_mock_api::DASHBOARD;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::json;

use super::admin::AdminAccess;
use super::AppState;
use crate::core::sessions::{self, Session, Sessions};
use texts::{Lang, Texts};

/// The session cookie's name.
const COOKIE: &str = "mock_admin_ui";

/// The dashboard's state: the mock's, and its sessions.
#[derive(Debug, Clone)]
pub(crate) struct Dash {
    core: AppState,
    sessions: Arc<Sessions>,
}

/// The dashboard's routes (absolute paths under [`DASHBOARD`]), with their own state and the
/// admin API's loopback rule.
pub(crate) fn routes(core: AppState) -> Router<AppState> {
    let dash = Dash {
        sessions: core.admin_sessions.clone(),
        core,
    };
    let p = |tail: &str| format!("{DASHBOARD}{tail}");
    Router::new()
        .route(DASHBOARD, get(pages::journal))
        .route(&p("/login"), get(login_page).post(login))
        .route(&p("/logout"), post(logout))
        .route(&p("/journal.json"), get(pages::journal_json))
        .route(&p("/institutions"), get(pages::institutions))
        .route(&p("/institutions/{customer_id}"), post(pages::switch))
        .route(&p("/balikan"), get(pages::balikan))
        .route(&p("/detector"), get(pages::detector))
        .route(&p("/faults"), get(pages::faults).post(pages::add_fault))
        .route(&p("/faults/{id}/delete"), post(pages::remove_fault))
        .route(&p("/usage"), get(pages::usage))
        .route(&p("/usage.csv"), get(pages::usage_csv))
        .layer(middleware::from_fn_with_state(dash.clone(), guard))
        .with_state(dash)
}

/// The admin API's loopback rule, and headers that keep pages out of caches and frames.
async fn guard(State(dash): State<Dash>, req: Request, next: Next) -> Response {
    if let Err(e) = AdminAccess::from_ref(&dash.core).check_peer(req.extensions()) {
        return e.into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.trim().to_string())
        })
}

/// `lang=` of a query string.
fn lang_in(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// A request of a logged-in browser: its session (the language switched if `?lang=` says so).
#[derive(Debug)]
pub(crate) struct Ui {
    session: Session,
}

impl Ui {
    fn lang(&self) -> Lang {
        Lang::parse(self.session.lang).unwrap_or_default()
    }

    fn t(&self) -> &'static Texts {
        self.lang().t()
    }

    /// The CSRF check of a state-changing form: its `csrf` field must be the session's token.
    /// `Some`: the refusal to answer with.
    fn csrf_refusal(&self, form: &HashMap<String, String>) -> Option<Response> {
        match form.get("csrf") {
            Some(c) if self.session.csrf_is(c) => None,
            _ => Some(message_page(
                self,
                StatusCode::FORBIDDEN,
                self.t().csrf_refused,
            )),
        }
    }
}

impl FromRequestParts<Dash> for Ui {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Dash) -> Result<Self, Self::Rejection> {
        let session = cookie(&parts.headers, COOKIE).and_then(|id| dash.sessions.touch(&id));
        let Some(mut session) = session else {
            return Err(no_session(parts));
        };
        if let Some(lang) = lang_in(parts.uri.query()) {
            dash.sessions.set_lang(&session.id, lang.code());
            session.lang = lang.code();
        }
        Ok(Ui { session })
    }
}

/// Without a session: pages lead to the login form; data and forms are refused.
fn no_session(parts: &Parts) -> Response {
    let path = parts.uri.path();
    if parts.method == Method::GET && !path.ends_with(".json") && !path.ends_with(".csv") {
        let lang = lang_in(parts.uri.query()).unwrap_or_default();
        return Redirect::to(&format!("{DASHBOARD}/login?lang={}", lang.code())).into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": format!("no dashboard session: log in at {DASHBOARD}/login") })),
    )
        .into_response()
}

/// The dashboard's sections, in the order of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Journal,
    Institutions,
    Balikan,
    Detector,
    Faults,
    Usage,
}

impl Nav {
    const ALL: [Nav; 6] = [
        Nav::Journal,
        Nav::Institutions,
        Nav::Balikan,
        Nav::Detector,
        Nav::Faults,
        Nav::Usage,
    ];

    fn path(self) -> String {
        let tail = match self {
            Nav::Journal => "",
            Nav::Institutions => "/institutions",
            Nav::Balikan => "/balikan",
            Nav::Detector => "/detector",
            Nav::Faults => "/faults",
            Nav::Usage => "/usage",
        };
        format!("{DASHBOARD}{tail}")
    }

    fn label(self, t: &Texts) -> &'static str {
        match self {
            Nav::Journal => t.nav_journal,
            Nav::Institutions => t.nav_institutions,
            Nav::Balikan => t.nav_balikan,
            Nav::Detector => t.nav_detector,
            Nav::Faults => t.nav_faults,
            Nav::Usage => t.nav_usage,
        }
    }
}

const CSS: &str = r#"
:root { --ink:#1d2733; --muted:#5b6775; --line:#d5dbe2; --accent:#0b5cad; --warn:#a4400a; --bad:#b3121f; --ok:#1e7b34; --bg:#f5f7f9; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color:var(--ink); background:var(--bg); }
header { background:#12324f; color:#fff; padding:.6rem 1rem; display:flex; flex-wrap:wrap; gap:1rem; align-items:center; }
header .brand { font-weight:700; margin-right:1rem; }
header nav a { color:#cfe3f7; text-decoration:none; margin-right:.9rem; }
header nav a[aria-current=page] { color:#fff; font-weight:700; border-bottom:2px solid #fff; }
header .right { margin-left:auto; display:flex; gap:.8rem; align-items:center; }
header .right a, header .right button { color:#fff; background:none; border:1px solid #7fa6cc; border-radius:4px; padding:.15rem .6rem; font:inherit; cursor:pointer; text-decoration:none; }
main { padding:1rem; max-width:1400px; margin:0 auto; }
h1 { font-size:1.3rem; margin:.2rem 0 1rem; }
h2 { font-size:1.1rem; margin:1.5rem 0 .6rem; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:.3rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#e9eef3; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size:.92em; }
form.inline { display:inline; }
form.filters { display:flex; flex-wrap:wrap; gap:.6rem; align-items:end; margin-bottom:.8rem; background:#fff; padding:.6rem; border:1px solid var(--line); }
form.filters label, form.stack label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); }
form.stack { background:#fff; border:1px solid var(--line); padding:.8rem; display:grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap:.6rem; align-items:end; }
form.stack .wide { grid-column: 1 / -1; }
input, select, textarea, button { font:inherit; padding:.25rem .4rem; }
button { cursor:pointer; }
textarea { width:100%; min-height:4.5rem; font-family: ui-monospace, monospace; }
.badge { display:inline-block; border-radius:3px; padding:0 .35rem; font-size:.8rem; margin:0 .2rem .1rem 0; color:#fff; background:var(--muted); }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); } .badge.bad { background:var(--bad); }
tr.flagged td { background:#fff4ec; }
.notice { padding:.6rem .8rem; border-left:4px solid var(--accent); background:#fff; margin-bottom:1rem; }
.notice.error { border-color:var(--bad); }
.muted { color:var(--muted); }
.bar { background:#e3e8ee; height:.7rem; border-radius:3px; overflow:hidden; min-width:8rem; }
.bar > span { display:block; height:100%; background:var(--accent); }
.bar > span.full { background:var(--bad); }
.login { max-width:26rem; margin:4rem auto; background:#fff; border:1px solid var(--line); padding:1.5rem; }
.login label { display:block; margin:.8rem 0 .3rem; }
.login input { width:100%; }
.login button { margin-top:1rem; }
#switches td { white-space: nowrap; } #switches td:first-child { white-space: normal; }
#live-status { font-size:.85rem; color:var(--muted); margin-left:.6rem; }
"#;

/// A per-response nonce for the page's inline script (the Content-Security-Policy allows no
/// other script).
fn nonce() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A whole page: head, the menu (for a logged-in session), `body`, and an optional inline
/// script; served with a Content-Security-Policy that allows nothing from elsewhere.
fn page(
    lang: Lang,
    session: Option<&Session>,
    current: Option<Nav>,
    heading: &str,
    body: Markup,
    script: Option<&str>,
) -> Response {
    let t = lang.t();
    let nonce = nonce();
    let here = current
        .map(Nav::path)
        .unwrap_or(format!("{DASHBOARD}/login"));
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon: a browser would otherwise ask the gateway for /favicon.ico, and the
                // journal would show that request.
                link rel="icon" href="data:,";
                title { (heading) " · " (t.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    span.brand { (t.title) }
                    @if session.is_some() {
                        nav {
                            @for n in Nav::ALL {
                                @if Some(n) == current {
                                    a href=(n.path()) aria-current="page" { (n.label(t)) }
                                } @else {
                                    a href=(n.path()) { (n.label(t)) }
                                }
                            }
                        }
                    }
                    div.right {
                        a #lang-switch href={ (here) "?lang=" (lang.other().code()) } lang=(lang.other().code()) { (t.switch_to) }
                        @if let Some(s) = session {
                            form.inline method="post" action={ (DASHBOARD) "/logout" } {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { (t.logout) }
                            }
                        }
                    }
                }
                main {
                    h1 { (heading) }
                    (body)
                }
                @if let Some(js) = script {
                    script nonce=(nonce) { (PreEscaped(js)) }
                }
            }
        }
    };
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    );
    let mut res = Html(markup.into_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// A page with one message (a refusal, an error) and the menu.
fn message_page(ui: &Ui, status: StatusCode, message: &str) -> Response {
    let t = ui.t();
    let body = html! { p.notice.error role="alert" { (message) } };
    let mut res = page(
        ui.lang(),
        Some(&ui.session),
        None,
        t.bad_request,
        body,
        None,
    );
    *res.status_mut() = status;
    res
}

/// `GET /__admin/ui/login`: the login form (a logged-in browser goes on to the journal).
async fn login_page(State(dash): State<Dash>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = lang_in(uri.query()).unwrap_or_default();
    if cookie(&headers, COOKIE).is_some_and(|id| dash.sessions.touch(&id).is_some()) {
        return Redirect::to(DASHBOARD).into_response();
    }
    login_form(lang, None, StatusCode::OK)
}

fn login_form(lang: Lang, error: Option<&str>, status: StatusCode) -> Response {
    let t = lang.t();
    let body = html! {
        div.login {
            @if let Some(e) = error {
                p.notice.error role="alert" { (e) }
            }
            form method="post" action={ (DASHBOARD) "/login" } {
                input type="hidden" name="lang" value=(lang.code());
                label for="token" { (t.login_token) }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { (t.login_submit) }
            }
            p.muted { (t.login_hint) }
        }
    };
    let mut res = page(lang, None, None, t.login_heading, body, None);
    *res.status_mut() = status;
    res
}

/// `POST /__admin/ui/login` (`token`, `lang`): the admin token opens a session; the answer sets
/// only the session cookie. A wrong token gets the form again (401), and no cookie.
async fn login(State(dash): State<Dash>, Form(form): Form<HashMap<String, String>>) -> Response {
    let lang = form
        .get("lang")
        .and_then(|l| Lang::parse(l))
        .unwrap_or_default();
    let token = form.get("token").map(|t| t.trim()).unwrap_or("");
    if !AdminAccess::from_ref(&dash.core).token_is(token) {
        tracing::warn!("dashboard login with a wrong admin token");
        return login_form(lang, Some(lang.t().login_wrong), StatusCode::UNAUTHORIZED);
    }
    let session = dash.sessions.create(lang.code());
    // The dashboard is served on the gateway's listener: with its TLS, the cookie never goes out
    // over plain HTTP.
    let secure = if dash.core.settings.tls {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path={DASHBOARD}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        session.id,
        sessions::IDLE.as_secs()
    );
    let mut res = Redirect::to(DASHBOARD).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /__admin/ui/logout` (`csrf`): ends the session and clears the cookie.
async fn logout(
    State(dash): State<Dash>,
    ui: Ui,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = ui.csrf_refusal(&form) {
        return refused;
    }
    dash.sessions.remove(&ui.session.id);
    let mut res =
        Redirect::to(&format!("{DASHBOARD}/login?lang={}", ui.lang().code())).into_response();
    let clear = format!("{COOKIE}=; Path={DASHBOARD}; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// Masks every run of ten or more digits in free text (a NIK or KK number inside a detail,
/// an operator name or a balikan value) the way NIKs are masked.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 10 {
            out.push_str(&dukcapil_domain::mask_nik(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests;
