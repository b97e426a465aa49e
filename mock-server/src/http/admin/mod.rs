//! The admin surface under `/__admin`: clock, quota, institutions, residents, journal, usage,
//! detector, OpenAPI document, reset. Bearer admin token; loopback callers only unless
//! `admin_remote` is set. Other areas add their routes beside these (see [`routes`]) and list
//! them in [`dukcapil_mock_api::ROUTES`] and `openapi.json`.
//!
//! Every route takes the [`Scope`] of its token (the guard puts it in the request): the sandbox
//! operator's token reaches every institution; an institution's token reads and changes its
//! own institution only (403 for another's, whose data it never sees). Routes that concern
//! institutions take `?customer_id=` to scope an operator's call the same way.

pub(crate) mod faults;
pub(crate) mod institutions;
pub(crate) mod ledger;
mod portal;
pub(crate) mod reports;
mod residents;
#[cfg(test)]
mod scope_tests;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Extension, Path, Request, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::{Duration, SecondsFormat};
use dukcapil_mock_api::{ClockChange, ClockStatus, DatasetInfo, QuotaChange};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::{AdminError, AdminJson, AdminQuery};
use super::AppState;
use crate::core::clock::wib_day;
pub(crate) use crate::core::tokens::Scope;
use crate::core::tokens::Tokens;

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
        .route(
            "/institutions",
            get(institutions::list).post(institutions::create),
        )
        .route(
            "/institutions/{customer_id}",
            patch(institutions::patch).delete(institutions::remove),
        )
        .route("/institutions/{customer_id}/token", post(issue_token))
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

/// What the admin guard needs: the tokens, and whether non-loopback callers are let in.
#[derive(Debug, Clone)]
pub(crate) struct AdminAccess {
    tokens: Arc<Tokens>,
    remote: bool,
}

impl axum::extract::FromRef<AppState> for AdminAccess {
    fn from_ref(state: &AppState) -> AdminAccess {
        AdminAccess {
            tokens: state.tokens.clone(),
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

    /// Whether `candidate` is the sandbox operator's admin token (compared in time independent
    /// of where they differ: the dashboard's login form takes it from anyone who reaches the
    /// page). The dashboard is the operator's: an institution's token does not log in.
    pub(crate) fn token_is(&self, candidate: &str) -> bool {
        self.tokens.scope(candidate) == Some(Scope::Operator)
    }
}

/// Token and loopback check for every admin route; puts the token's [`Scope`] into the request.
pub(crate) async fn guard(
    State(access): State<AdminAccess>,
    mut req: Request,
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
    let Some(scope) = token.and_then(|t| access.tokens.scope(t)) else {
        return Err(AdminError::Unauthorized);
    };
    req.extensions_mut().insert(scope);
    Ok(next.run(req).await)
}

type Params = std::collections::HashMap<String, String>;

/// The `customer_id` of a query (the only key `allowed` besides the route's own), checked
/// against the token's scope: the institution the call concerns, `None` for the sandbox.
pub(crate) fn scoped(
    scope: &Scope,
    q: &Params,
    allowed: &[&str],
) -> Result<Option<String>, AdminError> {
    if let Some(k) = q
        .keys()
        .find(|k| k.as_str() != "customer_id" && !allowed.contains(&k.as_str()))
    {
        let mut keys = vec!["customer_id"];
        keys.extend_from_slice(allowed);
        return Err(AdminError::BadRequest(format!(
            "unknown parameter `{k}` ({})",
            keys.join(", ")
        )));
    }
    let asked = q
        .get("customer_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    Ok(scope.institution(asked)?)
}

/// A query with its `customer_id` checked against the token's scope: an institution's token
/// gets its own inserted when absent, and a 403 for another's; the operator's passes as is.
pub(crate) fn scope_params(scope: &Scope, mut q: Params) -> Result<Params, AdminError> {
    let asked = q
        .get("customer_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    if let Some(cid) = scope.institution(asked)? {
        q.insert("customer_id".into(), cid);
    }
    Ok(q)
}

/// A known institution's customer id, or the error naming the unknown one.
fn known(state: &AppState, cid: Option<String>) -> Result<Option<String>, AdminError> {
    match cid {
        Some(c) if state.institution(&c).is_none() => Err(AdminError::UnknownInstitution(c)),
        other => Ok(other),
    }
}

fn clock_status(state: &AppState, customer_id: Option<&str>) -> ClockStatus {
    let extra = customer_id
        .and_then(|c| state.institution(c))
        .map(|i| i.clock_offset_us);
    let now = state.clock.now_plus(extra.unwrap_or(0));
    ClockStatus {
        now: now.to_rfc3339_opts(SecondsFormat::Micros, true),
        wib_day: wib_day(now).to_string(),
        offset_seconds: (state.clock.offset_us() + extra.unwrap_or(0)) as f64 / 1e6,
        customer_id: customer_id.map(str::to_string),
        institution_offset_seconds: extra.map(|e| e as f64 / 1e6),
    }
}

/// `GET /__admin/clock[?customer_id=]`: the sandbox's clock, or an institution's.
async fn get_clock(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
) -> Result<Json<Value>, AdminError> {
    let cid = known(&state, scoped(&scope, &q, &[])?)?;
    Ok(sorted(&clock_status(&state, cid.as_deref())))
}

/// `POST /__admin/clock[?customer_id=]`: sets or advances the sandbox's clock (operator token
/// only), or one institution's own clock (its offset on top of the sandbox's).
async fn set_clock(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
    AdminJson(change): AdminJson<ClockChange>,
) -> Result<Json<Value>, AdminError> {
    let cid = known(&state, scoped(&scope, &q, &[])?)?;
    let Some(cid) = cid else {
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
        return Ok(sorted(&clock_status(&state, None)));
    };
    let current = state.institution(&cid).map_or(0, |i| i.clock_offset_us);
    let offset = match (change.set, change.advance_seconds) {
        (Some(t), None) => (t - state.clock.now()).num_microseconds().unwrap_or(0),
        (None, Some(s)) => current.saturating_add(s.saturating_mul(1_000_000)),
        _ => {
            return Err(AdminError::BadRequest(
                "give exactly one of `set` and `advance_seconds`".into(),
            ))
        }
    };
    state
        .set_institution_clock(&cid, offset)
        .await?
        .ok_or_else(|| AdminError::UnknownInstitution(cid.clone()))?;
    Ok(sorted(&clock_status(&state, Some(&cid))))
}

/// `GET /__admin/dataset`: the population served (its seed, size and file hash).
async fn dataset(State(dataset): State<Arc<DatasetInfo>>) -> Json<Value> {
    sorted(&*dataset)
}

async fn get_quota(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, AdminError> {
    scope.allows(&cid)?;
    let q = state
        .quota_status(&cid)
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(sorted(&q))
}

/// `{"used": n}` sets today's count; `{"limit": n}` or `{"limit": null}` (unlimited) sets the
/// daily quota. Absent keys are left as they are.
async fn put_quota(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(cid): Path<String>,
    AdminJson(body): AdminJson<Map<String, Value>>,
) -> Result<Json<Value>, AdminError> {
    scope.allows(&cid)?;
    let change = QuotaChange::from_map(&body).map_err(AdminError::BadRequest)?;
    let q = state
        .set_quota(&cid, change.used, change.limit)
        .await?
        .ok_or(AdminError::UnknownInstitution(cid))?;
    Ok(sorted(&q))
}

/// `POST /__admin/reset[?customer_id=]`: the whole sandbox (operator token only), or one
/// institution (see `Core::reset_institution`); an unknown customer id is a 404, never a
/// reset of something else.
async fn reset(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
) -> Result<Json<Value>, AdminError> {
    match scoped(&scope, &q, &[])? {
        None => {
            state.reset().await?;
            tracing::info!("sandbox reset");
            Ok(Json(json!({ "reset": true })))
        }
        Some(cid) => {
            if !state.reset_institution(&cid).await? {
                return Err(AdminError::UnknownInstitution(cid));
            }
            tracing::info!(customer_id = %cid, "institution reset");
            Ok(Json(json!({ "reset": true, "customer_id": cid })))
        }
    }
}

/// `POST /__admin/institutions/{customer_id}/token`: a new admin token of the institution,
/// shown once (the operator hands it out; an institution may renew its own).
async fn issue_token(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(cid): Path<String>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    scope.allows(&cid)?;
    let token = state
        .issue_token(&cid)
        .await?
        .ok_or_else(|| AdminError::UnknownInstitution(cid.clone()))?;
    tracing::info!(customer_id = %cid, "institution admin token issued");
    Ok((
        StatusCode::CREATED,
        sorted(&dukcapil_mock_api::InstitutionToken {
            customer_id: cid,
            token,
        }),
    ))
}

/// The OpenAPI 3.1 document of the gateway, data-balikan and admin APIs (hand-written; a test
/// checks it parses and lists every route of [`dukcapil_mock_api::ROUTES`]).
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
