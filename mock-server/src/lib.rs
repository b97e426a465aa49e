//! A faithful simulator of the Dukcapil population-data gateway: a seeded dummy population,
//! the gateway's exact response shapes and texts, per-agreement field limits, daily quotas on the
//! WIB day, verification scoring, data-balikan intake, injected faults, a journal of every request
//! and an admin API.

pub mod admin;
pub mod app;
pub mod balikan;
pub mod cli;
pub mod clock;
pub mod faults;
pub mod fixtures;
pub mod gateway;
pub mod population_db;
pub mod residents;
pub mod serve;
pub mod settings;
pub mod state;
pub mod store;
pub mod tls;

pub use app::app;
pub use state::AppState;
