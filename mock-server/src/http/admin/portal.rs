//! `GET`/`POST /__admin/portal/operators` and `DELETE /__admin/portal/operators/{customer_id}/{username}`:
//! the Web Portal's operator accounts. A password reaches the state file only as its Argon2id
//! hash and is never shown back; removing an account ends its sessions. `reset` goes back to
//! the settings file's `[[portal_operators]]`. An institution's admin token lists, adds and
//! removes its own institution's accounts only.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::SecondsFormat;
use dukcapil_domain::AccessMethod;
use dukcapil_mock_api::{PortalOperatorCreate, PortalOperatorList, PortalOperatorView};
use serde_json::{json, Value};

use super::{sorted, Scope};
use crate::core::portal::Operator;
use crate::http::error::{AdminError, AdminJson};
use crate::http::AppState;

fn view(state: &AppState, op: &Operator) -> PortalOperatorView {
    let now = state.now_for(Some(&op.customer_id));
    PortalOperatorView {
        customer_id: op.customer_id.clone(),
        username: op.username.clone(),
        origin: op.origin.name().to_string(),
        web_portal: state
            .institution(&op.customer_id)
            .is_some_and(|i| i.grants(AccessMethod::WebPortal)),
        locked_until: state
            .portal
            .locked_until(&op.customer_id, &op.username, now)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Json<Value> {
    let operators = state
        .portal
        .operators()
        .iter()
        .filter(|o| scope.allows(&o.customer_id).is_ok())
        .map(|o| view(&state, o))
        .collect();
    sorted(&PortalOperatorList { operators })
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminJson(body): AdminJson<Value>,
) -> Result<Response, AdminError> {
    let new: PortalOperatorCreate = serde_json::from_value(body).map_err(|e| {
        AdminError::BadRequest(format!(
            "{e} (expected {{\"customer_id\": \"...\", \"username\": \"...\", \"password\": \"...\"}})"
        ))
    })?;
    new.validate().map_err(AdminError::BadRequest)?;
    scope.allows(&new.customer_id)?;
    if state.institution(&new.customer_id).is_none() {
        return Err(AdminError::UnknownInstitution(new.customer_id));
    }
    if !state
        .add_operator(&new.customer_id, &new.username, &new.password)
        .await?
    {
        return Err(AdminError::Conflict(format!(
            "operator `{}` of `{}` exists already (DELETE it first to change its password)",
            new.username, new.customer_id
        )));
    }
    tracing::info!(customer_id = %new.customer_id, username = %new.username, "portal operator added");
    let op = state
        .portal
        .operator(&new.customer_id, &new.username)
        .ok_or(AdminError::NotFound)?;
    Ok((StatusCode::CREATED, sorted(&view(&state, &op))).into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path((cid, username)): Path<(String, String)>,
) -> Result<Json<Value>, AdminError> {
    scope.allows(&cid)?;
    if !state.remove_operator(&cid, &username).await? {
        return Err(AdminError::UnknownOperator(cid, username));
    }
    tracing::info!(customer_id = %cid, username = %username, "portal operator removed");
    Ok(Json(
        json!({ "deleted": true, "customer_id": cid, "username": username }),
    ))
}
