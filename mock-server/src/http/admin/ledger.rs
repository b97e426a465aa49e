//! `GET /__admin/balikan`: the data-balikan ledger, newest first.

use std::collections::HashMap;

use axum::extract::{Extension, State};
use axum::Json;
use dukcapil_mock_api::LedgerPage;
use serde_json::Value;

use super::{scope_params, sorted, Scope};
use crate::db::{self, LedgerFilter};
use crate::http::error::{AdminError, AdminQuery};
use crate::http::AppState;

/// `GET /__admin/balikan?customer_id=&nik=&limit=`: ledger entries, newest first, with the
/// `never_looked_up` flag.
pub(crate) async fn entries(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<HashMap<String, String>>,
) -> Result<Json<Value>, AdminError> {
    // An institution token reads its own entries only.
    let q = scope_params(&scope, q)?;
    Ok(sorted(&ledger_page(&state, &q).await?))
}

/// The ledger entries a query of `GET /__admin/balikan` asks for (also the dashboard's).
pub(crate) async fn ledger_page(
    state: &AppState,
    q: &HashMap<String, String>,
) -> Result<LedgerPage, AdminError> {
    for k in q.keys() {
        if !["customer_id", "nik", "limit"].contains(&k.as_str()) {
            return Err(AdminError::BadRequest(format!(
                "unknown parameter `{k}` (customer_id, nik, limit)"
            )));
        }
    }
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<u32>()
            .map_err(|_| AdminError::BadRequest(format!("limit `{l}` is not a number")))?,
    };
    let nonempty = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = LedgerFilter {
        customer_id: nonempty("customer_id"),
        nik: nonempty("nik"),
        limit,
    };
    let dir = state.data_dir();
    let entries = db::blocking(&dir.clone(), move || db::ledger_query(&dir, &filter)).await?;
    Ok(LedgerPage { entries })
}
