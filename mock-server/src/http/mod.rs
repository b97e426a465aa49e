//! Everything that knows axum: the gateway endpoints, the mock Web Portal's pages, data-balikan
//! intake, the admin API, the fault middleware, the admin error type with its own extractors,
//! and the in-process server. Each area adds its routes in its own module and is merged here;
//! the route list is [`dukcapil_mock_api::ROUTES`].

pub(crate) mod admin;
pub(crate) mod balikan;
pub(crate) mod conn;
pub(crate) mod dashboard;
pub(crate) mod error;
pub(crate) mod faults;
#[cfg(test)]
mod fuzz;
pub(crate) mod gateway;
pub(crate) mod portal;
pub(crate) mod ready;
pub(crate) mod server;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;

use crate::core::clock::Clock;
use crate::core::faults::FaultEngine;
use crate::core::Core;

/// The router's state: the core state, from which handlers take the sub-states they need
/// (`State<Arc<Clock>>`, `State<FaultEngine>`, ...) through [`FromRef`]. Behind one `Arc`:
/// every request clones the router's state, and a clone of [`Core`] itself touched each of its
/// dozen reference counts (2-3% of the CPU of a lookup, shared cache lines between workers).
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Core>);

impl From<Core> for AppState {
    fn from(core: Core) -> AppState {
        AppState(Arc::new(core))
    }
}

impl std::ops::Deref for AppState {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.0
    }
}

impl FromRef<AppState> for FaultEngine {
    fn from_ref(state: &AppState) -> FaultEngine {
        state.faults.clone()
    }
}

impl FromRef<AppState> for Arc<Clock> {
    fn from_ref(state: &AppState) -> Arc<Clock> {
        state.clock.clone()
    }
}

impl FromRef<AppState> for Arc<dukcapil_mock_api::DatasetInfo> {
    fn from_ref(state: &AppState) -> Arc<dukcapil_mock_api::DatasetInfo> {
        state.dataset.clone()
    }
}

/// Which of the mock's services a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Services {
    /// The gateway, data balikan and `/__admin` on one listener (the default).
    All,
    /// The gateway and `/__admin`: data balikan has a listener of its own (`--balikan-listen`),
    /// as it has a host of its own on the real network, so its paths get the gateway's 404 here.
    GatewayOnly,
    /// Data balikan alone (and `/healthz`).
    BalikanOnly,
}

/// The mock's router: gateway endpoints, data balikan, `/__admin`, and a journaled 404 for
/// everything else.
pub(crate) fn app(state: AppState) -> Router {
    app_for(state, Services::All)
}

/// The router of a listener that serves `services`; what it does not serve gets the journaled
/// 404 of an unknown path.
pub(crate) fn app_for(state: AppState, services: Services) -> Router {
    let faults = faults::wiring::layer_state(&state);
    let mut router = Router::new();
    if services != Services::BalikanOnly {
        router = router
            .merge(gateway::routes())
            // Absolute paths under `/__admin/ui`, beside the nested admin API: its own login and
            // session instead of the bearer token, the admin API's loopback rule.
            .merge(dashboard::routes(state.clone()))
            // The Web Portal shares the gateway's host, as on the real network ("Web Portal
            // dan Web Service Kesesuaian" at one address).
            .merge(portal::routes())
            .nest("/__admin", admin::routes(state.clone()))
            // The nested router does not see `/__admin/` itself; it is an admin path all the same
            // (401 without the token, 404 with it), not a journaled gateway 404.
            .route(
                "/__admin/",
                axum::routing::any(|| async { error::AdminError::NotFound }).layer(
                    axum::middleware::from_fn_with_state(state.clone(), admin::guard),
                ),
            );
    }
    if services != Services::GatewayOnly {
        router = router.merge(balikan::routes());
    }
    let router = router
        .route(
            dukcapil_mock_api::HEALTHZ,
            axum::routing::get(ready::healthz),
        )
        .fallback(gateway::not_found)
        .with_state(state);
    // Outermost, so it also covers routes merged above later (data balikan); it recognises the
    // gateway endpoints by path and leaves everything else alone.
    faults::with_faults(router, faults)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::{json, Value};

    use dukcapil_mock_api::ROUTES;

    use super::gateway::tests::{harness, FOUND};

    /// Each listed route is served by the router (neither a fallback 404 nor 405). A handler's
    /// own 404 (no fault rule 1) still proves the route exists, so the fallbacks' answers are
    /// told apart by their bodies.
    #[tokio::test]
    async fn every_listed_route_is_served() {
        let h = harness();
        let (_, unknown_admin) = h.admin("GET", "/__admin/no-such-route", Value::Null).await;
        let (_, unknown_gateway) = h.admin("POST", "/no-such-route", Value::Null).await;
        for (method, path) in ROUTES {
            let uri = path
                .replace("{customer_id}", "rsud_3313")
                .replace("{method}", "CALL_NIK")
                .replace("{region}", "33-13")
                .replace("{nik}", FOUND)
                .replace("{id}", "1")
                .replace("{username}", "nobody");
            let body = if method == &"PATCH" || method == &"PUT" {
                json!({})
            } else {
                Value::Null
            };
            let (status, v) = h.admin(method, &uri, body).await;
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}: {v}"
            );
            assert!(
                status != StatusCode::NOT_FOUND || (v != unknown_admin && v != unknown_gateway),
                "{method} {uri}: {status} {v}"
            );
        }
    }

    /// The OpenAPI document parses, is 3.1, and documents every listed route.
    #[test]
    fn openapi_documents_every_listed_route() {
        let doc: Value = serde_json::from_str(super::admin::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        for (method, path) in ROUTES {
            assert!(
                doc["paths"][path][method.to_ascii_lowercase()].is_object(),
                "{method} {path} missing from admin/openapi.json"
            );
        }
    }

    /// Every admin operation says which token sees what (`x-token-scope`) and accepts both
    /// kinds of admin token.
    #[test]
    fn openapi_says_which_token_sees_what_on_every_admin_route() {
        let doc: Value = serde_json::from_str(super::admin::OPENAPI).expect("valid JSON");
        for (method, path) in ROUTES.iter().filter(|(_, p)| p.starts_with("/__admin")) {
            let op = &doc["paths"][path][method.to_ascii_lowercase()];
            assert!(
                op["x-token-scope"].as_str().is_some_and(|t| !t.is_empty()),
                "{method} {path}: no x-token-scope in admin/openapi.json"
            );
            // The dashboard's pages take a session cookie instead (its login: the operator's
            // token only).
            if !path.starts_with(dukcapil_mock_api::DASHBOARD) {
                assert_eq!(
                    op["security"],
                    json!([{"adminToken": []}, {"institutionToken": []}]),
                    "{method} {path}"
                );
            }
        }
    }
}
