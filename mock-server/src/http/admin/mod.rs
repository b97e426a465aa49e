//! The admin surface under `/__admin`: clock, quota, institutions, residents, journal, usage,
//! detector, OpenAPI document, reset. Bearer admin token; loopback callers only unless
//! `admin_remote` is set. Other areas add their routes beside these (see [`routes`]) and list
//! them in [`dukcapil_mock_api::ROUTES`] and `openapi.json`.

pub(crate) mod faults;
pub(crate) mod institutions;
pub(crate) mod ledger;
mod portal;
pub(crate) mod reports;
mod residents;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::{Duration, SecondsFormat};
use dukcapil_mock_api::{ClockChange, ClockStatus, DatasetInfo, QuotaChange};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::{AdminError, AdminJson};
use super::AppState;
use crate::core::clock::{wib_day, Clock};

/// A typed answer as JSON with its keys in sorted order, as the admin API has always written
/// them (serde_json's map is ordered by key).
pub(crate) fn sorted<T: Serialize>(value: &T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or(Value::Null))
}

/// The admin routes (to be nested at `/__admin`), behind the token and loopback guard.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/clock", get(get_clock).post(set_clock))
        .route("/quota/{customer_id}", get(get_quota).put(put_quota))
        .route("/journal", get(reports::journal))
        .route("/usage", get(reports::usage))
        .route("/detector", get(reports::detector))
        .route("/dataset", get(dataset))
        .route("/institutions", get(institutions::list))
        .route("/institutions/{customer_id}", patch(institutions::patch))
        .route("/residents", post(residents::create))
        .route(
            "/residents/{nik}",
            get(residents::get_one).patch(residents::patch),
        )
        .route("/openapi.json", get(openapi))
        .route("/reset", post(reset))
        .route("/balikan", get(ledger::entries))
        .route("/portal/operators", get(portal::list).post(portal::create))
        .route(
            "/portal/operators/{customer_id}/{username}",
            delete(portal::delete),
        )
        .merge(faults::routes())
        .fallback(|| async { AdminError::NotFound })
        // `layer`, not `route_layer`: the fallback and 405s are guarded too, so without a valid
        // token nobody learns which admin paths exist (401); with one, unknown paths are 404.
        .layer(middleware::from_fn_with_state(state, guard))
}

/// What the admin guard needs: the token, and whether non-loopback callers are let in.
#[derive(Debug, Clone)]
pub(crate) struct AdminAccess {
    token: Arc<str>,
    remote: bool,
}

impl axum::extract::FromRef<AppState> for AdminAccess {
    fn from_ref(state: &AppState) -> AdminAccess {
        AdminAccess {
            token: state.admin_token.clone(),
            remote: state.settings.admin_remote,
        }
    }
}

impl AdminAccess {
    /// The loopback rule: callers other than loopback are refused unless `admin_remote` is set.
    /// Also the dashboard's rule (`/__admin/ui`).
    pub(crate) fn check_peer(&self, extensions: &axum::http::Extensions) -> Result<(), AdminError> {
        if self.remote {
            return Ok(());
        }
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        match peer {
            Some(ip) if ip.is_loopback() => Ok(()),
            // Handler tests without a socket have no peer address: they are in-process.
            None => Ok(()),
            Some(ip) => Err(AdminError::NotLoopback(ip.to_string())),
        }
    }

    /// Whether `candidate` is the admin token (compared in time independent of where they
    /// differ: the dashboard's login form takes it from anyone who reaches the page).
    pub(crate) fn token_is(&self, candidate: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Token and loopback check for every admin route.
pub(crate) async fn guard(
    State(access): State<AdminAccess>,
    req: Request,
    next: Next,
) -> Result<Response, AdminError> {
    access.check_peer(req.extensions())?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        // The scheme is case-insensitive (RFC 9110 §11.1), as in data balikan.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if token != Some(&*access.token) {
        return Err(AdminError::Unauthorized);
    }
    Ok(next.run(req).await)
}

fn clock_status(clock: &Clock) -> ClockStatus {
    let now = clock.now();
    ClockStatus {
        now: now.to_rfc3339_opts(SecondsFormat::Micros, true),
        wib_day: wib_day(now).to_string(),
        offset_seconds: clock.offset_us() as f64 / 1e6,
    }
}

async fn get_clock(State(clock): State<Arc<Clock>>) -> Json<Value> {
    sorted(&clock_status(&clock))
}

async fn set_clock(
    State(state): State<AppState>,
    AdminJson(change): AdminJson<ClockChange>,
) -> Result<Json<Value>, AdminError> {
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
    Ok(sorted(&clock_status(&state.clock)))
}

/// `GET /__admin/dataset`: the population served (its seed, size and file hash).
async fn dataset(State(dataset): State<Arc<DatasetInfo>>) -> Json<Value> {
    sorted(&*dataset)
}

async fn get_quota(
    State(state): State<AppState>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let q = state
        .quota_status(&cid)
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(sorted(&q))
}

/// `{"used": n}` sets today's count; `{"limit": n}` or `{"limit": null}` (unlimited) sets the
/// daily quota. Absent keys are left as they are.
async fn put_quota(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    AdminJson(body): AdminJson<Map<String, Value>>,
) -> Result<Json<Value>, AdminError> {
    let change = QuotaChange::from_map(&body).map_err(AdminError::BadRequest)?;
    let q = state
        .set_quota(&cid, change.used, change.limit)
        .await?
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(sorted(&q))
}

async fn reset(State(state): State<AppState>) -> Result<Json<Value>, AdminError> {
    state.reset().await?;
    Ok(Json(json!({ "reset": true })))
}

/// The OpenAPI 3.1 document of the gateway, data-balikan and admin APIs (hand-written; a test
/// checks it parses and lists every route of [`dukcapil_mock_api::ROUTES`]).
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
