//! `/__admin/faults`: list, add, remove and clear fault rules at run time. The routes are
//! relative (`/faults`, `/faults/{id}`) so the admin router can nest them under `/__admin`
//! behind its bearer-token check.
//!
//! A rule is an institution's when it names it (`institution`). An institution's token lists,
//! reads and removes only its own rules and adds rules for itself only (a rule without
//! `institution` is made its own); `DELETE /__admin/faults` then clears its own rules only, as
//! does the operator's `DELETE /__admin/faults?customer_id=`. Rules without an institution hit
//! every institution: only the operator's token adds or sees them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Extension, FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::json;

use dukcapil_mock_api::rule_from_json;

use super::Scope;
use crate::core::faults::{belongs_to, FaultEngine};
use crate::http::error::{AdminError, AdminQuery};

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

/// The institution of `?customer_id=` under the token's scope.
fn scope_of(scope: &Scope, q: &HashMap<String, String>) -> Result<Option<String>, AdminError> {
    super::scoped(scope, q, &[])
}

/// Whether a rule is visible to (and removable by) the scope `cid` (`None`: every rule).
fn in_scope(cid: Option<&str>, rule: &dukcapil_mock_api::FaultRule) -> bool {
    cid.is_none_or(|c| belongs_to(rule, c))
}

async fn list(
    State(engine): State<FaultEngine>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<HashMap<String, String>>,
) -> Response {
    let cid = match scope_of(&scope, &q) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let faults: Vec<_> = engine
        .list()
        .into_iter()
        .filter(|v| in_scope(cid.as_deref(), &v.rule))
        .collect();
    Json(json!({ "faults": faults })).into_response()
}

async fn add(
    State(engine): State<FaultEngine>,
    Extension(scope): Extension<Scope>,
    body: Bytes,
) -> Response {
    let added = rule_from_json(&body).and_then(|mut rule| {
        if let Some(own) = scope.own() {
            match rule.institution.as_deref() {
                None => rule.institution = Some(own.to_string()),
                Some(i) if i.eq_ignore_ascii_case(own) => {}
                Some(other) => {
                    return Err(dukcapil_mock_api::RuleError::new(
                        "institution",
                        format!(
                            "this admin token is institution `{own}`'s: it adds rules for `{own}` only, not `{other}`"
                        ),
                    ))
                }
            }
        }
        engine.add(rule)
    });
    match added {
        Ok(id) => match engine.get(id) {
            Some(view) => (StatusCode::CREATED, Json(view)).into_response(),
            // Removed by a concurrent DELETE between add and read-back: still report the id.
            None => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        },
        Err(e) if e.message.starts_with("this admin token") => {
            AdminError::Forbidden(e.message).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "invalid fault rule", "field": e.field, "message": e.message })),
        )
            .into_response(),
    }
}

async fn show(
    State(engine): State<FaultEngine>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Response {
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| engine.get(id))
        .filter(|v| in_scope(scope.own(), &v.rule))
    {
        Some(view) => Json(view).into_response(),
        None => not_found(&id),
    }
}

async fn remove(
    State(engine): State<FaultEngine>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Response {
    let visible = id.parse::<u64>().ok().filter(|n| {
        engine
            .get(*n)
            .is_some_and(|v| in_scope(scope.own(), &v.rule))
    });
    match visible {
        Some(n) if engine.remove(n) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(&id),
    }
}

async fn clear(
    State(engine): State<FaultEngine>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<HashMap<String, String>>,
) -> Response {
    let removed = match scope_of(&scope, &q) {
        Ok(None) => engine.clear(),
        Ok(Some(cid)) => engine.clear_institution(&cid),
        Err(e) => return e.into_response(),
    };
    Json(json!({ "removed": removed })).into_response()
}

fn not_found(id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no fault rule with id {id}") })),
    )
        .into_response()
}
