//! `/__admin/faults`: list, add, remove and clear fault rules at run time. The routes are
//! relative (`/faults`, `/faults/{id}`) so the admin router can nest them under `/__admin`
//! behind its bearer-token check.

use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::json;

use dukcapil_mock_api::rule_from_json;

use crate::core::faults::FaultEngine;

/// The fault routes, for any state the engine can be taken from.
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    FaultEngine: FromRef<S>,
{
    Router::new()
        .route("/faults", get(list).post(add).delete(clear))
        .route("/faults/{id}", delete(remove).get(show))
}

async fn list(State(engine): State<FaultEngine>) -> Response {
    Json(json!({ "faults": engine.list() })).into_response()
}

async fn add(State(engine): State<FaultEngine>, body: Bytes) -> Response {
    let added = rule_from_json(&body).and_then(|rule| engine.add(rule));
    match added {
        Ok(id) => match engine.get(id) {
            Some(view) => (StatusCode::CREATED, Json(view)).into_response(),
            // Removed by a concurrent DELETE between add and read-back: still report the id.
            None => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        },
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "invalid fault rule", "field": e.field, "message": e.message })),
        )
            .into_response(),
    }
}

async fn show(State(engine): State<FaultEngine>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>().ok().and_then(|id| engine.get(id)) {
        Some(view) => Json(view).into_response(),
        None => not_found(&id),
    }
}

async fn remove(State(engine): State<FaultEngine>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(n) if engine.remove(n) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(&id),
    }
}

async fn clear(State(engine): State<FaultEngine>) -> Response {
    Json(json!({ "removed": engine.clear() })).into_response()
}

fn not_found(id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no fault rule with id {id}") })),
    )
        .into_response()
}
