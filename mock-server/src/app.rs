//! The whole HTTP surface. Each area adds its routes in its own module and is merged here.

use axum::Router;

use crate::state::AppState;

/// Every route the router serves, as `(method, OpenAPI path)`. Maintained next to the router:
/// whoever adds a route adds it here and to `admin/openapi.json`; tests check that each entry
/// is served and documented.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/dukcapil/get_json/{customer_id}/{method}"),
    ("POST", "/dukcapil/get_json/{region}/{customer_id}/{method}"),
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
];

/// The mock's router: gateway endpoints, `/__admin`, and a journaled 404 for everything else.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(crate::gateway::routes())
        .merge(crate::balikan::routes())
        .nest("/__admin", crate::admin::routes(state.clone()))
        .fallback(crate::gateway::not_found)
        .with_state(state)
}
