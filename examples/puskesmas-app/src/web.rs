//! Server-rendered pages (maud) with cookie sessions and CSRF-checked form posts.
//!
//! CSRF: every form carries a token bound to the session (login: to a pre-session cookie). A
//! post is accepted when its `csrf` field matches, or when the browser's Fetch Metadata says it
//! came from this site (`Sec-Fetch-Site: same-origin`, which no cross-site page can forge); a
//! post marked `cross-site` or `same-site` is refused even with a token.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use rand::Rng;

use crate::desk::{clean_nik, label, message, Desk, EventInput, EventKind, EventOutcome};
use crate::gateway::{mask, Balikan, Lookup};

pub(crate) const SESSION_COOKIE: &str = "pkm_sesi";
const LOGIN_COOKIE: &str = "pkm_masuk";
/// A desk shift; a session idle longer than this is logged out.
const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);

#[derive(Debug, Clone)]
struct Session {
    username: String,
    csrf: String,
    seen: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Web {
    desk: Arc<Desk>,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

type FormMap = BTreeMap<String, String>;

pub(crate) fn router(desk: Arc<Desk>) -> Router {
    let web = Web {
        desk,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/", get(home))
        .route("/masuk", get(login_page).post(login))
        .route("/keluar", post(logout))
        .route("/pendaftaran", get(registration_page))
        .route("/pendaftaran/cari", post(lookup))
        .route("/layanan", post(service_event))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                page(
                    "Tidak ditemukan",
                    None,
                    html! { p { "Halaman tidak ditemukan." } },
                ),
            )
        })
        .with_state(web)
}

fn token() -> String {
    let bytes: [u8; 24] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn csrf_ok(headers: &HeaderMap, expected: Option<&str>, form: &FormMap) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match site.as_deref() {
        Some("cross-site") | Some("same-site") => false,
        Some("same-origin") => true,
        _ => {
            matches!((expected, form.get("csrf")), (Some(e), Some(g)) if !e.is_empty() && same(e, g))
        }
    }
}

fn field<'a>(form: &'a FormMap, k: &str) -> &'a str {
    form.get(k).map(String::as_str).unwrap_or("")
}

impl Web {
    fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get_mut(&id)?;
        if s.seen.elapsed() > SESSION_IDLE {
            sessions.remove(&id);
            return None;
        }
        s.seen = Instant::now();
        Some((id, s.clone()))
    }
}

fn page(title: &str, who: Option<(&str, &str)>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="id" {
            head {
                meta charset="utf-8";
                title { (title) " · Loket Pendaftaran Puskesmas" }
                style { "body{font-family:sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}th,td{border:1px solid #999;padding:.3rem .6rem;text-align:left}.pesan{padding:.6rem;border-left:4px solid #c60;background:#fff4e5}.ok{border-color:#080;background:#eefbe9}form.inline{display:inline}" }
            }
            body {
                header {
                    strong { "Loket Pendaftaran Puskesmas" }
                    @if let Some((user, csrf)) = who {
                        " · petugas " span #petugas { (user) } " · "
                        a href="/pendaftaran" { "Pendaftaran" } " · "
                        form.inline method="post" action="/keluar" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Keluar" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    Html(markup.into_string())
}

async fn home(State(web): State<Web>, headers: HeaderMap) -> Redirect {
    if web.session(&headers).is_some() {
        Redirect::to("/pendaftaran")
    } else {
        Redirect::to("/masuk")
    }
}

fn login_form(csrf: &str, error: Option<&str>) -> Html<String> {
    page(
        "Masuk",
        None,
        html! {
            @if let Some(e) = error { p.pesan #pesan { (e) } }
            form #form-masuk method="post" action="/masuk" {
                input type="hidden" name="csrf" value=(csrf);
                p { label { "Nama pengguna " input name="username" autocomplete="username" required; } }
                p { label { "Kata sandi " input name="password" type="password" autocomplete="current-password" required; } }
                button type="submit" { "Masuk" }
            }
        },
    )
}

fn login_cookie(value: &str) -> String {
    format!("{LOGIN_COOKIE}={value}; Path=/masuk; HttpOnly; SameSite=Strict")
}

async fn login_page(headers: HeaderMap) -> Response {
    let t = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(token);
    (
        [(header::SET_COOKIE, login_cookie(&t))],
        login_form(&t, None),
    )
        .into_response()
}

async fn login(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<FormMap>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let pre = cookie(&headers, LOGIN_COOKIE);
    let fresh = token();
    let retry = |status: StatusCode, msg: &str| {
        (
            status,
            [(header::SET_COOKIE, login_cookie(&fresh))],
            login_form(&fresh, Some(msg)),
        )
            .into_response()
    };
    if !csrf_ok(&headers, pre.as_deref(), &form) {
        return retry(
            StatusCode::FORBIDDEN,
            "Formulir kedaluwarsa atau tidak berasal dari aplikasi ini. Silakan masuk lagi.",
        );
    }
    let user = field(&form, "username").trim().to_string();
    let ok = !user.is_empty()
        && web
            .desk
            .store
            .check_password(&user, field(&form, "password"))
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "password check");
                false
            });
    if !ok {
        return retry(
            StatusCode::UNAUTHORIZED,
            "Nama pengguna atau kata sandi salah.",
        );
    }
    let id = token();
    web.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Session {
                username: user.clone(),
                csrf: token(),
                seen: Instant::now(),
            },
        );
    tracing::info!(operator = %user, "login");
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (header::LOCATION, "/pendaftaran".to_string()),
        ],
    )
        .into_response()
}

async fn logout(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<FormMap>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Some((id, s)) = web.session(&headers) {
        if csrf_ok(&headers, Some(&s.csrf), &form) {
            web.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; Max-Age=0"),
            ),
            (header::LOCATION, "/masuk".to_string()),
        ],
    )
        .into_response()
}

fn nik_form(csrf: &str, value: &str) -> Markup {
    html! {
        form #form-nik method="post" action="/pendaftaran/cari" {
            input type="hidden" name="csrf" value=(csrf);
            label { "NIK pasien (16 digit, dari KTP atau KK) "
                input name="nik" value=(value) inputmode="numeric" maxlength="20" required autofocus; }
            " " button type="submit" { "Cari" }
        }
    }
}

fn held_notice(web: &Web) -> Markup {
    html! {
        @if web.desk.quota_held().is_some() {
            p.pesan #kuota data-status="quota_exhausted" { (message(&Lookup::QuotaHeld(crate::gateway::wib_today()))) }
        }
    }
}

async fn registration_page(State(web): State<Web>, headers: HeaderMap) -> Response {
    let Some((_, s)) = web.session(&headers) else {
        return Redirect::to("/masuk").into_response();
    };
    let visits = web.desk.store.visits().unwrap_or_default();
    page(
        "Pendaftaran pasien",
        Some((&s.username, &s.csrf)),
        html! {
            (held_notice(&web))
            (nik_form(&s.csrf, ""))
            h2 { "Kunjungan terakhir" }
            @if visits.is_empty() { p { "Belum ada kunjungan." } } @else {
                table #kunjungan {
                    tr { th { "No" } th { "NIK" } th { "Layanan" } th { "No. RM" } th { "Petugas" } th { "Data balikan" } }
                    @for v in &visits {
                        tr { td { (v.id) } td { (mask(&v.nik)) } td { (v.kind) } td { (v.no_rm) } td { (v.operator) } td { (v.balikan) } }
                    }
                }
            }
        },
    )
    .into_response()
}

fn forbidden(who: Option<(&str, &str)>) -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            "Formulir ditolak",
            who,
            html! { p.pesan #pesan { "Formulir kedaluwarsa atau tidak berasal dari aplikasi ini. Buka lagi halaman Pendaftaran." } },
        ),
    )
        .into_response()
}

async fn lookup(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<FormMap>, FormRejection>,
) -> Response {
    let Some((_, s)) = web.session(&headers) else {
        return Redirect::to("/masuk").into_response();
    };
    let who = Some((s.username.as_str(), s.csrf.as_str()));
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&headers, Some(&s.csrf), &form) {
        return forbidden(who);
    }
    let raw = field(&form, "nik");
    let nik = match clean_nik(raw) {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                page(
                    "Pendaftaran pasien",
                    who,
                    html! { p.pesan #pesan data-status="invalid_input" { (e) } (nik_form(&s.csrf, raw)) },
                ),
            )
                .into_response()
        }
    };
    let result = web.desk.lookup(&nik, &s.username).await;
    let body = match &result {
        Lookup::Found(record) => {
            let shown = web.desk.shown_elements(record);
            html! {
                section #hasil data-status="found" {
                    p.pesan.ok { "Data ditemukan. Periksa kecocokan dengan KTP/KK pasien; data ini tidak disimpan." }
                    table #data-penduduk {
                        @for (f, v) in &shown {
                            tr { th scope="row" { (label(*f)) } td data-element=(f.wire_name()) { (v) } }
                        }
                    }
                }
                (service_forms(&s.csrf, &nik, &web.desk.config.agreement))
                p { a href="/pendaftaran" { "Cari NIK lain" } }
            }
        }
        other => {
            let status = match other {
                Lookup::QuotaHeld(_) => "quota_exhausted".to_string(),
                Lookup::Refused(o, _) => serde_json::to_value(o)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                Lookup::Unrecognised(_) => "unrecognised".into(),
                _ => "gateway_error".into(),
            };
            html! {
                section #hasil data-status=(status) data-code=(other.code()) {
                    p.pesan #pesan { (message(other)) }
                    @if let Lookup::Refused(_, text) = other {
                        p.respon { "Jawaban Dukcapil: " q { (text) } }
                    }
                }
                (nik_form(&s.csrf, &nik))
            }
        }
    };
    page("Hasil pencarian NIK", who, body).into_response()
}

fn service_forms(csrf: &str, nik: &str, agreement: &dukcapil_domain::Agreement) -> Markup {
    // The agreement's balikan keys the visit form does not ask for by itself.
    let others: Vec<&dukcapil_domain::BalikanField> = agreement
        .balikan
        .iter()
        .filter(|b| !crate::desk::FORM_KEYS.contains(&b.key.as_str()))
        .collect();
    html! {
        h2 { "Catat layanan" }
        form #form-kunjungan method="post" action="/layanan" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="nik" value=(nik);
            input type="hidden" name="jenis" value="kunjungan";
            p { label { "Nomor rekam medis (kosongkan untuk nomor baru) " input name="no_rm" maxlength="30"; } }
            p { label { "Nomor kepesertaan JKN (13 digit, bila ada) " input name="no_jkn" inputmode="numeric" maxlength="13"; } }
            @for b in &others {
                p { label { (b.label) " " input name=(format!("balikan.{}", b.key)) maxlength=[b.max_len.or(b.length)]; } }
            }
            button type="submit" { "Daftarkan kunjungan" }
        }
        form #form-kematian method="post" action="/layanan" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="nik" value=(nik);
            input type="hidden" name="jenis" value="kematian";
            p { label { "Nomor surat keterangan kematian " input name="no_surat" maxlength="50" required; } }
            button type="submit" { "Catat kematian" }
        }
        form #form-kelahiran method="post" action="/layanan" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="nik" value=(nik);
            input type="hidden" name="jenis" value="kelahiran";
            p { label { "Nomor surat keterangan kelahiran " input name="no_surat" maxlength="50" required; } }
            button type="submit" { "Catat kelahiran" }
        }
    }
}

async fn service_event(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<FormMap>, FormRejection>,
) -> Response {
    let Some((_, s)) = web.session(&headers) else {
        return Redirect::to("/masuk").into_response();
    };
    let who = Some((s.username.as_str(), s.csrf.as_str()));
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&headers, Some(&s.csrf), &form) {
        return forbidden(who);
    }
    let invalid = |msg: String| {
        (
            StatusCode::BAD_REQUEST,
            page(
                "Catat layanan",
                who,
                html! { p.pesan #pesan data-status="invalid_input" { (msg) } p { a href="/pendaftaran" { "Kembali ke Pendaftaran" } } },
            ),
        )
            .into_response()
    };
    let nik = match clean_nik(field(&form, "nik")) {
        Ok(n) => n,
        Err(e) => return invalid(e.into()),
    };
    let Some(kind) = EventKind::parse(field(&form, "jenis").trim()) else {
        return invalid("Jenis layanan tidak dikenal.".into());
    };
    let input = EventInput {
        no_rm: field(&form, "no_rm").to_string(),
        no_jkn: field(&form, "no_jkn").to_string(),
        certificate: field(&form, "no_surat").to_string(),
        balikan: form
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("balikan.")?.to_string(), v.clone())))
            .collect(),
    };
    match web.desk.record_event(&nik, kind, &input, &s.username).await {
        Ok(EventOutcome::Invalid(m)) => invalid(m),
        Ok(EventOutcome::Recorded { no_rm, balikan }) => {
            let (state, text) = match &balikan {
                None => (
                    "not_owed",
                    "NIK ini belum pernah ditemukan lewat pencarian; data balikan tidak dikirim."
                        .to_string(),
                ),
                Some(Balikan::Sent) => ("sent", "Data balikan terkirim ke Dukcapil.".to_string()),
                Some(Balikan::AlreadySent) => (
                    "already_sent",
                    "Data balikan ini sudah pernah dikirim ke Dukcapil.".to_string(),
                ),
                Some(Balikan::Failed(m)) => (
                    "failed",
                    format!("Data balikan gagal dikirim ({m}). Hubungi admin aplikasi."),
                ),
            };
            page(
                "Layanan tercatat",
                who,
                html! {
                    section #layanan data-balikan=(state) {
                        p.pesan.ok { "Layanan " (kind.name()) " tercatat dengan nomor rekam medis " strong #no-rm { (no_rm) } "." }
                        p.pesan { (text) }
                    }
                    p { a href="/pendaftaran" { "Pasien berikutnya" } }
                },
            )
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "service event");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                page("Catat layanan", who, html! { p.pesan #pesan { "Layanan tidak dapat dicatat karena gangguan basis data. Hubungi admin aplikasi." } }),
            )
                .into_response()
        }
    }
}
