//! `GET /__admin/institutions` and `PATCH /__admin/institutions/{customer_id}`: switch an
//! institution or its user id off (outcomes 16, 17), rotate its gateway password (03 for the old
//! one, as when Disdukcapil rotates institution passwords), change its registered IP (04), its
//! agreement term (16 outside it), its access hours (06) and its daily quota (05). Changes are
//! persisted in `state.sqlite` and survive a restart; `reset` drops them. A rotated password is
//! restored by `{"password": null}` (or the agreement's password) or by `reset`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use chrono::NaiveDate;
use dukcapil_domain::Term;
use serde_json::{json, Map, Value};

use super::AdminError;
use crate::settings::AccessHours;
use crate::state::{AppState, Institution};

/// A validated change of an institution. `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionPatch {
    pub active: Option<bool>,
    pub user_active: Option<bool>,
    pub ip_user: Option<String>,
    /// `Some(None)`: back to the agreement's password.
    pub password: Option<Option<String>>,
    pub term: Option<Term>,
    /// `Some(None)`: always open.
    pub access_hours: Option<Option<AccessHours>>,
    /// `Some(None)`: unlimited.
    pub quota_per_day: Option<Option<u32>>,
    /// Return every element, also those outside the grant (PoC whitelist test).
    pub extra_elements: Option<bool>,
}

/// The keys a PATCH accepts, for error messages.
const KEYS: &str =
    "active, user_active, ip_user, password, term, access_hours, quota_per_day, extra_elements";

/// Longest password the PATCH accepts.
const MAX_PASSWORD: usize = 200;

fn hhmm(key: &str, v: &Value) -> Result<chrono::NaiveTime, String> {
    v.as_str()
        .and_then(|s| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok())
        .ok_or_else(|| format!("`{key}` must be a time \"HH:MM\""))
}

fn day(key: &str, v: &Value) -> Result<NaiveDate, String> {
    v.as_str()
        .and_then(|s| s.trim().parse::<NaiveDate>().ok())
        .ok_or_else(|| format!("`{key}` must be a date \"YYYY-MM-DD\""))
}

impl InstitutionPatch {
    /// Reads a PATCH body; the error names the offending key.
    pub fn from_map(map: &Map<String, Value>) -> Result<InstitutionPatch, String> {
        let mut p = InstitutionPatch::default();
        let boolean = |k: &str, v: &Value| {
            v.as_bool()
                .ok_or_else(|| format!("`{k}` must be true or false"))
        };
        for (k, v) in map {
            match k.as_str() {
                "active" => p.active = Some(boolean(k, v)?),
                "user_active" => p.user_active = Some(boolean(k, v)?),
                "extra_elements" => p.extra_elements = Some(boolean(k, v)?),
                "ip_user" => {
                    let ip = v
                        .as_str()
                        .and_then(|s| s.trim().parse::<std::net::IpAddr>().ok())
                        .ok_or_else(|| {
                            "`ip_user` must be an IP address such as \"127.0.0.1\"".to_string()
                        })?;
                    p.ip_user = Some(ip.to_string());
                }
                "password" => {
                    p.password = Some(match v {
                        Value::Null => None,
                        // Kept exactly as given: the gateway compares passwords exactly, and a
                        // blank one would be outcome 09, not a rotation.
                        Value::String(pw) if !pw.trim().is_empty() && pw.len() <= MAX_PASSWORD => {
                            Some(pw.clone())
                        }
                        _ => {
                            return Err(format!(
                                "`password` must be a non-blank string of at most {MAX_PASSWORD} bytes, or null for the agreement's"
                            ))
                        }
                    });
                }
                "term" => {
                    let obj = v.as_object().ok_or_else(|| {
                        "`term` must be {\"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\"}"
                            .to_string()
                    })?;
                    if let Some(extra) = obj.keys().find(|k| *k != "start" && *k != "end") {
                        return Err(format!("unknown key `term.{extra}` (start, end)"));
                    }
                    let start = day("term.start", obj.get("start").unwrap_or(&Value::Null))?;
                    let end = day("term.end", obj.get("end").unwrap_or(&Value::Null))?;
                    if start > end {
                        return Err("`term.start` is after `term.end`".into());
                    }
                    p.term = Some(Term { start, end });
                }
                "access_hours" => {
                    p.access_hours = Some(match v {
                        Value::Null => None,
                        // The settings file's form, accepted here too.
                        Value::String(s) => Some(s.parse::<AccessHours>().map_err(|e| format!("`access_hours`: {e}"))?),
                        Value::Object(obj) => {
                            if let Some(extra) = obj.keys().find(|k| *k != "start" && *k != "end") {
                                return Err(format!("unknown key `access_hours.{extra}` (start, end)"));
                            }
                            Some(AccessHours {
                                from: hhmm("access_hours.start", obj.get("start").unwrap_or(&Value::Null))?,
                                to: hhmm("access_hours.end", obj.get("end").unwrap_or(&Value::Null))?,
                            })
                        }
                        _ => return Err("`access_hours` must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} or null".into()),
                    });
                }
                "quota_per_day" => {
                    p.quota_per_day = Some(match v {
                        Value::Null => None,
                        _ => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                            || "`quota_per_day` must be a whole number or null".to_string(),
                        )?),
                    });
                }
                other => return Err(format!("unknown key `{other}` ({KEYS})")),
            }
        }
        Ok(p)
    }

    /// Reads a persisted change.
    pub fn from_json_text(text: &str) -> Result<InstitutionPatch, String> {
        let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Self::from_map(&map)
    }

    pub fn apply(&self, inst: &mut Institution) {
        if let Some(a) = self.active {
            inst.active = a;
        }
        if let Some(a) = self.user_active {
            inst.user_active = a;
        }
        if let Some(ip) = &self.ip_user {
            inst.ip_user = ip.clone();
        }
        if let Some(pw) = &self.password {
            inst.password = pw
                .clone()
                .unwrap_or_else(|| inst.agreement.credentials.password.clone());
        }
        if let Some(t) = &self.term {
            inst.term = t.clone();
        }
        if let Some(h) = self.access_hours {
            inst.access_hours = h;
        }
        if let Some(q) = self.quota_per_day {
            inst.quota_per_day = q;
        }
        if let Some(x) = self.extra_elements {
            inst.extra_elements = x;
        }
    }
}

/// An institution as the admin API shows it.
pub fn institution_json(state: &AppState, inst: &Institution) -> Value {
    let a = &inst.agreement;
    let quota = state.quota_status(&a.customer_id);
    json!({
        "customer_id": a.customer_id,
        "name": a.institution,
        "agreement": a.id,
        "region": a.region,
        "active": inst.active,
        "user_active": inst.user_active,
        "user_id": a.credentials.user_id,
        // Never the password itself: whether it differs from the agreement's.
        "password_rotated": inst.password != a.credentials.password,
        "ip_user": inst.ip_user,
        "term": {"start": inst.term.start.to_string(), "end": inst.term.end.to_string()},
        "access_hours": inst.access_hours.map(|h| json!({
            "start": h.from.format("%H:%M").to_string(),
            "end": h.to.format("%H:%M").to_string(),
        })),
        "quota_per_day": inst.quota_per_day,
        "quota_used_today": quota.map(|q| q.used),
        "operator_field": a.operator_field,
        "elements": a.granted.wire_names(),
        "extra_elements": inst.extra_elements,
    })
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let all: Vec<Value> = state
        .institutions()
        .iter()
        .map(|i| institution_json(&state, i))
        .collect();
    Json(json!({ "institutions": all }))
}

pub async fn patch(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let Json(body) = body?;
    if state.institution(&cid).is_none() {
        return Err(AdminError::UnknownInstitution(cid));
    }
    let patch = InstitutionPatch::from_map(&body).map_err(AdminError::BadRequest)?;
    // The daily quota has its own persisted setting (shared with PUT /quota); keep one truth.
    let mut rest = body.clone();
    if let Some(limit) = patch.quota_per_day {
        rest.remove("quota_per_day");
        state.set_quota(&cid, None, Some(limit)).await?;
    }
    let without_quota = InstitutionPatch {
        quota_per_day: None,
        ..patch
    };
    let inst = state
        .patch_institution(&cid, &rest, &without_quota)
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
    Ok(Json(institution_json(&state, &inst)))
}
