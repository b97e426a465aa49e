//! The admin surface under `/__admin`: clock, quota, institutions, residents, journal, usage,
//! detector, OpenAPI document, reset. Bearer admin token; loopback callers only unless
//! `admin_remote` is set. Other areas add their routes beside these (see [`routes`]) and list
//! them in [`crate::app::ROUTES`] and `admin/openapi.json`.

pub mod institutions;
pub mod reports;
pub mod residents;

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::wib_day;
use crate::state::AppState;
use crate::store::StoreError;

/// Everything the admin surface answers with an error.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error(
        "the admin API is reachable from loopback only (start with --admin-remote to allow {0})"
    )]
    NotLoopback(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unknown institution `{0}`")]
    UnknownInstitution(String),
    #[error("no resident with NIK {0}")]
    UnknownResident(String),
    #[error("{0}")]
    Conflict(String),
    #[error("population lookup failed: {0}")]
    Population(String),
    #[error("no such admin endpoint")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::NotLoopback(_) => StatusCode::FORBIDDEN,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::UnknownInstitution(_)
            | AdminError::UnknownResident(_)
            | AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Store(_) | AdminError::Population(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl From<JsonRejection> for AdminError {
    fn from(e: JsonRejection) -> Self {
        AdminError::BadRequest(e.body_text())
    }
}

impl From<QueryRejection> for AdminError {
    fn from(e: QueryRejection) -> Self {
        AdminError::BadRequest(e.body_text())
    }
}

/// The admin routes (to be nested at `/__admin`), behind the token and loopback guard.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/clock", get(get_clock).post(set_clock))
        .route("/quota/{customer_id}", get(get_quota).put(put_quota))
        .route("/journal", get(reports::journal))
        .route("/usage", get(reports::usage))
        .route("/detector", get(reports::detector))
        .route("/institutions", get(institutions::list))
        .route("/institutions/{customer_id}", patch(institutions::patch))
        .route("/residents", post(residents::create))
        .route(
            "/residents/{nik}",
            get(residents::get_one).patch(residents::patch),
        )
        .route("/openapi.json", get(openapi))
        .route("/reset", post(reset))
        .merge(crate::balikan::admin_routes())
        .merge(crate::faults::admin::routes())
        .fallback(|| async { AdminError::NotFound })
        // `layer`, not `route_layer`: the fallback and 405s are guarded too, so without a valid
        // token nobody learns which admin paths exist (401); with one, unknown paths are 404.
        .layer(middleware::from_fn_with_state(state, guard))
}

/// Token and loopback check for every admin route.
pub async fn guard(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, AdminError> {
    if !state.settings.admin_remote {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        match peer {
            Some(ip) if ip.is_loopback() => {}
            // Handler tests without a socket have no peer address: they are in-process.
            None => {}
            Some(ip) => return Err(AdminError::NotLoopback(ip.to_string())),
        }
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if token != Some(state.admin_token.as_str()) {
        return Err(AdminError::Unauthorized);
    }
    Ok(next.run(req).await)
}

fn clock_json(state: &AppState) -> Value {
    let now = state.clock.now();
    json!({
        "now": now.to_rfc3339_opts(SecondsFormat::Micros, true),
        "wib_day": wib_day(now).to_string(),
        "offset_seconds": state.clock.offset_us() as f64 / 1e6,
    })
}

async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state))
}

/// `{"set": "<RFC 3339 instant>"}` or `{"advance_seconds": n}` (negative goes back).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    set: Option<DateTime<Utc>>,
    advance_seconds: Option<i64>,
}

async fn set_clock(
    State(state): State<AppState>,
    body: Result<Json<ClockChange>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let Json(change) = body?;
    match (change.set, change.advance_seconds) {
        (Some(t), None) => {
            state.clock.set(t);
        }
        (None, Some(s)) => {
            state.clock.advance(Duration::seconds(s));
        }
        _ => {
            return Err(AdminError::BadRequest(
                "give exactly one of `set` and `advance_seconds`".into(),
            ))
        }
    }
    state.persist_clock().await?;
    Ok(Json(clock_json(&state)))
}

async fn get_quota(
    State(state): State<AppState>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let q = state
        .quota_status(&cid)
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(Json(json!(q)))
}

/// `{"used": n}` sets today's count; `{"limit": n}` or `{"limit": null}` (unlimited) sets the
/// daily quota. Absent keys are left as they are.
async fn put_quota(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    body: Result<Json<serde_json::Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let Json(body) = body?;
    let number = |k: &str, v: &Value| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| AdminError::BadRequest(format!("`{k}` must be a whole number")))
    };
    let mut used = None;
    let mut limit = None;
    for (k, v) in &body {
        match k.as_str() {
            "used" => used = Some(number(k, v)?),
            "limit" if v.is_null() => limit = Some(None),
            "limit" => limit = Some(Some(number(k, v)?)),
            other => {
                return Err(AdminError::BadRequest(format!(
                    "unknown key `{other}` (used, limit)"
                )))
            }
        }
    }
    let q = state
        .set_quota(&cid, used, limit)
        .await?
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(Json(json!(q)))
}

async fn reset(State(state): State<AppState>) -> Result<Json<Value>, AdminError> {
    state.reset().await?;
    Ok(Json(json!({ "reset": true })))
}

/// The OpenAPI 3.1 document of the gateway, data-balikan and admin APIs (hand-written; a test
/// checks it parses and lists every route of [`crate::app::ROUTES`]).
pub const OPENAPI: &str = include_str!("admin/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
