//! The whole HTTP surface. Each area adds its routes in its own module and is merged here.

use axum::Router;

use crate::state::AppState;

/// Every route the router serves, as `(method, OpenAPI path)`: the single list. Maintained next
/// to the router: whoever adds a route adds it here and to `admin/openapi.json`; tests check that
/// each entry is served and documented, and the auth tests walk it.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/dukcapil/get_json/{customer_id}/{method}"),
    ("POST", "/dukcapil/get_json/{region}/{customer_id}/{method}"),
    ("POST", "/data_balikan/public/api/store"),
    ("POST", "/data_balikan/public/api/upload"),
    ("GET", "/__admin/clock"),
    ("POST", "/__admin/clock"),
    ("GET", "/__admin/quota/{customer_id}"),
    ("PUT", "/__admin/quota/{customer_id}"),
    ("GET", "/__admin/journal"),
    ("GET", "/__admin/usage"),
    ("GET", "/__admin/detector"),
    ("GET", "/__admin/institutions"),
    ("PATCH", "/__admin/institutions/{customer_id}"),
    ("POST", "/__admin/residents"),
    ("GET", "/__admin/residents/{nik}"),
    ("PATCH", "/__admin/residents/{nik}"),
    ("GET", "/__admin/openapi.json"),
    ("POST", "/__admin/reset"),
    ("GET", "/__admin/balikan"),
    ("GET", "/__admin/faults"),
    ("POST", "/__admin/faults"),
    ("DELETE", "/__admin/faults"),
    ("GET", "/__admin/faults/{id}"),
    ("DELETE", "/__admin/faults/{id}"),
];

/// The mock's router: gateway endpoints, `/__admin`, and a journaled 404 for everything else.
pub fn app(state: AppState) -> Router {
    let faults = crate::faults::wiring::layer_state(&state);
    let router = Router::new()
        .merge(crate::gateway::routes())
        .merge(crate::balikan::routes())
        .nest("/__admin", crate::admin::routes(state.clone()))
        // The nested router does not see `/__admin/` itself; it is an admin path all the same
        // (401 without the token, 404 with it), not a journaled gateway 404.
        .route(
            "/__admin/",
            axum::routing::any(|| async { crate::admin::AdminError::NotFound }).layer(
                axum::middleware::from_fn_with_state(state.clone(), crate::admin::guard),
            ),
        )
        .fallback(crate::gateway::not_found)
        .with_state(state);
    // Outermost, so it also covers routes merged above later (data balikan); it recognises the
    // gateway endpoints by path and leaves everything else alone.
    crate::faults::with_faults(router, faults)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::{json, Value};

    use super::ROUTES;
    use crate::gateway::tests::{harness, FOUND};

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
                .replace("{id}", "1");
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
        let doc: Value = serde_json::from_str(crate::admin::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        for (method, path) in ROUTES {
            assert!(
                doc["paths"][path][method.to_ascii_lowercase()].is_object(),
                "{method} {path} missing from admin/openapi.json"
            );
        }
    }
}
