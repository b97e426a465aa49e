//! `GET /__admin/institutions` and `PATCH /__admin/institutions/{customer_id}`: switch an
//! institution or its user id off (outcomes 16, 17), rotate its gateway password (03 for the old
//! one, as when Disdukcapil rotates institution passwords), change its registered IP (04), its
//! agreement term (16 outside it), its access hours (06) and its daily quota (05). Changes are
//! persisted in `state.sqlite` and survive a restart; `reset` drops them. A rotated password is
//! restored by `{"password": null}` (or the agreement's password) or by `reset`.
//!
//! `POST /__admin/institutions` adds an institution under an agreement profile (or brings a
//! removed configured one back) and `DELETE /__admin/institutions/{customer_id}` removes one:
//! the sandbox operator's token only, persisted, and kept by resets (they are configuration).

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use dukcapil_mock_api::{
    HoursView, InstitutionCreate, InstitutionCreated, InstitutionList, InstitutionPatch,
    InstitutionRemoved, InstitutionView,
};
use serde_json::{Map, Value};

use super::{sorted, Scope};
use crate::core::institutions::Institution;
use crate::core::state::AddRefused;
use crate::http::error::{AdminError, AdminJson};
use crate::http::AppState;

/// An institution as the admin API shows it.
pub(crate) fn view(state: &AppState, inst: &Institution) -> InstitutionView {
    let a = &inst.agreement;
    let quota = state.quota_status(&a.customer_id);
    let portal = state.portal_quota(&a.customer_id);
    InstitutionView {
        access_methods: a.access_methods.clone(),
        poc_passed: inst.poc_passed,
        portal_quota_per_day: portal.and_then(|p| p.1),
        portal_quota_used_today: portal.map(|p| p.0),
        customer_id: a.customer_id.clone(),
        name: a.institution.clone(),
        agreement: a.id.clone(),
        region: a.region.clone(),
        active: inst.active,
        user_active: inst.user_active,
        user_id: a.credentials.user_id.clone(),
        // Never the password itself: whether it differs from the agreement's.
        password_rotated: inst.password_rotated(),
        ip_user: inst.ip_user.clone(),
        ip_policy: inst.ip_policy,
        balikan_keys: inst.balikan_keys,
        methods: inst.methods.view(),
        term: inst.term.clone(),
        access_hours: inst.access_hours.map(HoursView::from),
        quota_per_day: inst.quota_per_day,
        quota_used_today: quota.map(|q| q.used),
        operator_field: a.operator_field.clone(),
        elements: a
            .granted
            .wire_names()
            .into_iter()
            .map(String::from)
            .collect(),
        extra_elements: inst.extra_elements,
    }
}

/// Every institution for the operator's token; an institution's token sees its own only.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Json<Value> {
    let institutions = state
        .institutions()
        .iter()
        .filter(|i| scope.allows(&i.agreement.customer_id).is_ok())
        .map(|i| view(&state, i))
        .collect();
    sorted(&InstitutionList { institutions })
}

/// Only the sandbox operator changes which institutions there are.
fn operator_only(scope: &Scope, what: &str) -> Result<(), AdminError> {
    match scope.own() {
        None => Ok(()),
        Some(own) => Err(AdminError::Forbidden(format!(
            "this admin token is institution `{own}`'s: only the sandbox operator's token {what}"
        ))),
    }
}

/// `POST /__admin/institutions`: 201 with the institution and its credentials.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminJson(body): AdminJson<Map<String, Value>>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    operator_only(&scope, "adds institutions")?;
    let create = InstitutionCreate::from_map(&body).map_err(AdminError::BadRequest)?;
    let cid = create.customer_id.clone();
    let added = match state.add_institution(create).await? {
        Ok(added) => added,
        Err(AddRefused::Exists(cid)) => {
            return Err(AdminError::Conflict(format!(
                "institution `{cid}` exists (change it with PATCH, or DELETE it first)"
            )))
        }
        Err(AddRefused::Invalid(why)) => return Err(AdminError::BadRequest(why)),
    };
    tracing::info!(customer_id = %cid, agreement = %added.institution.agreement.id, "institution added");
    Ok((
        StatusCode::CREATED,
        sorted(&InstitutionCreated {
            institution: view(&state, &added.institution),
            password: added.password,
            balikan_token: added.balikan_token,
        }),
    ))
}

/// `DELETE /__admin/institutions/{customer_id}`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, AdminError> {
    operator_only(&scope, "removes institutions")?;
    if !state.remove_institution(&cid).await? {
        return Err(AdminError::UnknownInstitution(cid));
    }
    tracing::info!(customer_id = %cid, "institution removed");
    Ok(sorted(&InstitutionRemoved { customer_id: cid }))
}

pub(crate) async fn patch(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(cid): Path<String>,
    AdminJson(body): AdminJson<Map<String, Value>>,
) -> Result<Json<Value>, AdminError> {
    scope.allows(&cid)?;
    Ok(sorted(&apply_patch(&state, &cid, body).await?))
}

/// Validates and applies the keys of a PATCH body to an institution (persisted, logged without
/// the password); the institution as it is now. Also the dashboard's switches.
pub(crate) async fn apply_patch(
    state: &AppState,
    cid: &str,
    body: Map<String, Value>,
) -> Result<InstitutionView, AdminError> {
    let cid = cid.to_string();
    if state.institution(&cid).is_none() {
        return Err(AdminError::UnknownInstitution(cid));
    }
    let patch = InstitutionPatch::from_map(&body).map_err(AdminError::BadRequest)?;
    // The daily quota has its own persisted setting (shared with PUT /quota); keep one truth.
    // Both settings are written in one transaction (all keys or none).
    let mut rest = body.clone();
    let quota_limit = patch.quota_per_day;
    if quota_limit.is_some() {
        rest.remove("quota_per_day");
    }
    let without_quota = InstitutionPatch {
        quota_per_day: None,
        ..patch
    };
    let inst = state
        .patch_institution(&cid, &rest, &without_quota, quota_limit)
        .await?
        .ok_or_else(|| AdminError::UnknownInstitution(cid.clone()))?;
    let mut logged = body;
    if let Some(pw) = logged.get_mut("password") {
        if !pw.is_null() {
            *pw = Value::String("***".into());
        }
    }
    let change = Value::Object(logged).to_string();
    tracing::info!(customer_id = %cid, %change, "institution changed");
    Ok(view(state, &inst))
}
