//! The whole HTTP surface. Each area adds its routes in its own module and is merged here.

use axum::Router;

use crate::state::AppState;

/// The mock's router: gateway endpoints, `/__admin`, and a journaled 404 for everything else.
pub fn app(state: AppState) -> Router {
    let faults = crate::faults::wiring::layer_state(&state);
    let router = Router::new()
        .merge(crate::gateway::routes())
        .merge(crate::balikan::routes())
        .nest("/__admin", crate::admin::routes(state.clone()))
        .fallback(crate::gateway::not_found)
        .with_state(state);
    // Outermost, so it also covers routes merged above later (data balikan); it recognises the
    // gateway endpoints by path and leaves everything else alone.
    crate::faults::with_faults(router, faults)
}
