//! Fault injection (issue 3, item 9): rules matched by endpoint, institution, operator, NIK,
//! n-th call or seeded probability, applying a delay, a 500/502/503/504, a dropped connection,
//! a truncated body or a trickled body, a limited number of times or not.
//!
//! - the rule model (`[[faults]]` in the serve config, admin API bodies) is
//!   [`dukcapil_mock_api::FaultRule`];
//! - the decision and its counters are [`crate::core::faults::FaultEngine`];
//! - [`layer`]: the axum middleware; the applied fault is put in the request and response
//!   extensions as `AppliedFault` for the journal;
//! - [`meta`]: what the layer reads of a request before the gateway does;
//! - [`wiring`]: the layer's state for a running mock (journal rows of short-circuited requests);
//! - `GET/POST/DELETE /__admin/faults[/{id}]` are in [`crate::http::admin`].

pub(crate) mod layer;
pub(crate) mod meta;
pub(crate) mod wiring;

pub(crate) use layer::with_faults;

#[cfg(test)]
mod tests;
