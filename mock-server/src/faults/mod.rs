//! Fault injection (issue 3, item 9): rules matched by endpoint, institution, operator, NIK,
//! n-th call or seeded probability, applying a delay, a 500/502/503/504, a dropped connection,
//! a truncated body or a trickled body, a limited number of times or not.
//!
//! - [`rule`]: the serde rule model (`[[faults]]` in the serve config, admin API bodies).
//! - [`engine`]: [`FaultEngine::decide`], thread-safe counters.
//! - [`layer`]: the axum middleware; the applied fault is put in the request and response
//!   extensions as [`AppliedFault`] for the journal.
//! - [`admin`]: `GET/POST/DELETE /__admin/faults[/{id}]`.

pub mod admin;
pub mod engine;
pub mod layer;
pub mod meta;
pub mod rule;
pub mod wiring;

pub use engine::{
    AppliedAction, AppliedFault, FaultEngine, FaultView, Keep, RequestMeta, RuleListError,
};
pub use layer::{
    fault_middleware, with_faults, FaultJournal, FaultLayerState, ShortCircuit, DEFAULT_BODY_LIMIT,
};
pub use meta::{classify, Directory};
pub use rule::{Endpoint, EndpointFilter, FaultAction, FaultRule, Nth, RuleError};

#[cfg(test)]
mod tests;
