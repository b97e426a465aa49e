//! HTTP surface: server-rendered pages for operators (Bahasa Indonesia) and the small JSON API
//! the PoC runner's HTTP driver uses. Both render the results of [`crate::service`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use dukcapil_domain::{Element, Field};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use serde_json::json;

use crate::service::{App, AppError, EventView, LookupView};

const COOKIE: &str = "rsud_session";

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/login", post(api_login))
        .route("/api/lookup", post(api_lookup))
        .route("/api/patients", post(api_patient))
        .route("/api/services", post(api_service))
        .route("/api/deaths", post(api_death))
        .route("/", get(home))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout))
        .route("/cari", get(lookup_page).post(lookup_form))
        .route("/pasien", get(patient_page).post(patient_form))
        .route("/kematian", get(death_page).post(death_form))
        .with_state(app)
}

// ---------- session ----------

fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

fn operator_of(app: &App, headers: &HeaderMap) -> Option<String> {
    token_of(headers).and_then(|t| app.session_user(&t))
}

fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/")
}

// ---------- JSON API ----------

fn api_error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"status": kind, "message": message.into()})),
    )
        .into_response()
}

fn internal(e: AppError) -> Response {
    tracing::error!("internal error: {e}");
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Terjadi kesalahan pada SIMRS. Silakan coba lagi.",
    )
}

fn unauthorized() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Silakan login terlebih dahulu.",
    )
}

fn bad_json(e: JsonRejection) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "invalid_input",
        format!("Permintaan tidak valid: {}", e.body_text()),
    )
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[derive(Debug, Deserialize)]
struct LoginReq {
    username: String,
    password: String,
}

async fn api_login(
    State(app): State<Arc<App>>,
    body: Result<Json<LoginReq>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    match app.login(req.username.trim(), &req.password) {
        Ok(Some(token)) => (
            [(header::SET_COOKIE, session_cookie(&token))],
            Json(json!({"status": "ok", "token": token, "username": req.username.trim()})),
        )
            .into_response(),
        Ok(None) => api_error(
            StatusCode::UNAUTHORIZED,
            "login_failed",
            "Nama pengguna atau kata sandi salah.",
        ),
        Err(e) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct LookupReq {
    #[serde(alias = "NIK")]
    nik: serde_json::Value,
}

/// A NIK may arrive as a string or a JSON number; both are kept digit for digit.
fn nik_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The logged-in operator and the parsed JSON body of an API call, or the answer refusing it
/// (401 without a session first, then 400 for a body that does not parse).
// The error is the answer itself, returned straight from the handler: boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn admit<T>(
    app: &App,
    headers: &HeaderMap,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(String, T), Response> {
    let op = operator_of(app, headers).ok_or_else(unauthorized)?;
    let Json(req) = body.map_err(bad_json)?;
    Ok((op, req))
}

async fn api_lookup(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<LookupReq>, JsonRejection>,
) -> Response {
    let (op, req) = match admit(&app, &headers, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    match app.lookup(&op, &nik_text(&req.nik)).await {
        Ok(view) => {
            let status = match view {
                LookupView::InvalidInput(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::OK,
            };
            (status, Json(view.to_json())).into_response()
        }
        Err(e) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct PatientReq {
    #[serde(alias = "NIK")]
    nik: serde_json::Value,
    #[serde(default, alias = "GOL_DARAH")]
    gol_darah: Option<String>,
}

fn event_response(r: Result<EventView, AppError>) -> Response {
    match r {
        Ok(v) => {
            let status = if v.status == "invalid_input" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, Json(v.to_json())).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn api_patient(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<PatientReq>, JsonRejection>,
) -> Response {
    let (op, req) = match admit(&app, &headers, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    event_response(
        app.register_patient(&op, &nik_text(&req.nik), req.gol_darah.as_deref())
            .await,
    )
}

/// A service event with the values the operator entered, by their balikan keys.
#[derive(Debug, Deserialize)]
struct ServiceReq {
    #[serde(alias = "NIK")]
    nik: serde_json::Value,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

async fn api_service(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<ServiceReq>, JsonRejection>,
) -> Response {
    let (op, req) = match admit(&app, &headers, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    event_response(
        app.record_service(&op, &nik_text(&req.nik), &req.values)
            .await,
    )
}

#[derive(Debug, Deserialize)]
struct DeathReq {
    #[serde(alias = "NIK")]
    nik: serde_json::Value,
    #[serde(alias = "NO_SURAT_KEMATIAN")]
    certificate: String,
}

async fn api_death(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<DeathReq>, JsonRejection>,
) -> Response {
    let (op, req) = match admit(&app, &headers, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    event_response(
        app.record_death(&op, &nik_text(&req.nik), &req.certificate)
            .await,
    )
}

// ---------- pages ----------

fn layout(title: &str, operator: Option<&str>, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="id" {
            head {
                meta charset="utf-8";
                title { (title) " — SIMRS RSUD Kabupaten Karanganyar" }
                style { "body{font-family:sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
                    table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}
                    .pesan{padding:.6rem;border:1px solid #c90;background:#fff8e0}.galat{border-color:#c00;background:#fee}
                    nav a,nav button{margin-right:1rem}" }
            }
            body {
                header {
                    h1 { "SIMRS RSUD Kabupaten Karanganyar" }
                    @if let Some(op) = operator {
                        nav {
                            a href="/cari" { "Cari NIK" }
                            a href="/pasien" { "Pendaftaran pasien" }
                            a href="/kematian" { "Pencatatan kematian" }
                            form method="post" action="/logout" style="display:inline" {
                                span { "Petugas: " strong { (op) } " " }
                                button type="submit" { "Keluar" }
                            }
                        }
                    }
                }
                main { h2 { (title) } (body) }
            }
        }
    };
    Html(page.into_string())
}

fn need_login() -> Response {
    Redirect::to("/login").into_response()
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match operator_of(&app, &headers) {
        Some(_) => Redirect::to("/cari").into_response(),
        None => need_login(),
    }
}

fn login_markup(error: Option<&str>) -> Html<String> {
    layout(
        "Masuk",
        None,
        html! {
            @if let Some(e) = error { p.pesan.galat { (e) } }
            form method="post" action="/login" {
                p { label { "Nama pengguna " input name="username" required autofocus; } }
                p { label { "Kata sandi " input name="password" type="password" required; } }
                button type="submit" { "Masuk" }
            }
        },
    )
}

async fn login_page() -> Html<String> {
    login_markup(None)
}

async fn login_form(
    State(app): State<Arc<App>>,
    form: Result<Form<LoginReq>, FormRejection>,
) -> Response {
    let Ok(Form(req)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            login_markup(Some("Isian login tidak lengkap.")),
        )
            .into_response();
    };
    match app.login(req.username.trim(), &req.password) {
        Ok(Some(token)) => (
            [(header::SET_COOKIE, session_cookie(&token))],
            Redirect::to("/cari"),
        )
            .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            login_markup(Some("Nama pengguna atau kata sandi salah.")),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(t) = token_of(&headers) {
        app.logout(&t);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

fn lookup_form_markup(nik: &str) -> Markup {
    html! {
        form method="post" action="/cari" {
            label { "NIK " input name="nik" value=(nik) inputmode="numeric" maxlength="20" required autofocus; }
            " " button type="submit" { "Cari ke Dukcapil" }
        }
    }
}

async fn lookup_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    layout(
        "Cari data penduduk (NIK)",
        Some(&op),
        lookup_form_markup(""),
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
struct NikForm {
    nik: String,
}

fn label_of(key: &str) -> String {
    match Field::from_wire(key) {
        Some(f) => format!("{} ({key})", Element::of_field(f).label_id()),
        None => key.to_string(),
    }
}

fn lookup_result_markup(view: &LookupView) -> Markup {
    html! {
        section #hasil data-status=(view.status()) {
            @match view {
                LookupView::Found(record) => {
                    p { (view.message()) }
                    table #data-penduduk {
                        tr { th { "Elemen" } th { "Nilai" } }
                        @for (k, v) in &record.fields {
                            tr data-field=(k) { td { (label_of(k)) } td { (v) } }
                        }
                    }
                    p { a href="/pasien" { "Lanjut ke pendaftaran pasien" } }
                }
                _ => {
                    div.pesan.galat {
                        p { strong { (view.message()) } }
                        @if let Some(r) = view.respon() { p { "Jawaban Dukcapil: " q { (r) } } }
                    }
                }
            }
        }
    }
}

async fn lookup_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<NikForm>, FormRejection>,
) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    let nik = form.map(|Form(f)| f.nik).unwrap_or_default();
    match app.lookup(&op, &nik).await {
        Ok(view) => layout(
            "Cari data penduduk (NIK)",
            Some(&op),
            html! { (lookup_form_markup(&nik)) (lookup_result_markup(&view)) },
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

fn event_markup(v: &EventView) -> Markup {
    html! {
        section #hasil data-status=(v.status) data-balikan=(v.balikan.key()) {
            div.pesan {
                p { strong { (v.message) } }
                @let b = v.balikan.message();
                @if !b.is_empty() { p { (b) } }
            }
        }
    }
}

fn patient_form_markup() -> Markup {
    html! {
        form method="post" action="/pasien" {
            p { label { "NIK " input name="nik" inputmode="numeric" maxlength="20" required; } }
            p { label { "Golongan darah (opsional) " input name="gol_darah" list="golongan"; } }
            datalist #golongan {
                @for g in ["A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", "TIDAK TAHU"] {
                    option value=(g) {}
                }
            }
            button type="submit" { "Daftarkan pasien" }
        }
    }
}

async fn patient_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    layout("Pendaftaran pasien", Some(&op), patient_form_markup()).into_response()
}

#[derive(Debug, Deserialize)]
struct PatientForm {
    nik: String,
    #[serde(default)]
    gol_darah: Option<String>,
}

async fn patient_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<PatientForm>, FormRejection>,
) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    let (nik, gol) = form.map(|Form(f)| (f.nik, f.gol_darah)).unwrap_or_default();
    match app.register_patient(&op, &nik, gol.as_deref()).await {
        Ok(v) => layout(
            "Pendaftaran pasien",
            Some(&op),
            html! { (event_markup(&v)) (patient_form_markup()) },
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

fn death_form_markup() -> Markup {
    html! {
        form method="post" action="/kematian" {
            p { label { "NIK " input name="nik" inputmode="numeric" maxlength="20" required; } }
            p { label { "Nomor surat keterangan kematian " input name="certificate" maxlength="50" required; } }
            button type="submit" { "Catat kematian" }
        }
    }
}

async fn death_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    layout("Pencatatan kematian", Some(&op), death_form_markup()).into_response()
}

#[derive(Debug, Deserialize)]
struct DeathForm {
    nik: String,
    certificate: String,
}

async fn death_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<DeathForm>, FormRejection>,
) -> Response {
    let Some(op) = operator_of(&app, &headers) else {
        return need_login();
    };
    let (nik, cert) = form
        .map(|Form(f)| (f.nik, f.certificate))
        .unwrap_or_default();
    match app.record_death(&op, &nik, &cert).await {
        Ok(v) => layout(
            "Pencatatan kematian",
            Some(&op),
            html! { (event_markup(&v)) (death_form_markup()) },
        )
        .into_response(),
        Err(e) => internal(e),
    }
}
