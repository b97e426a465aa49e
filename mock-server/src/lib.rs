//! A faithful simulator of the Dukcapil population-data gateway: a seeded dummy population,
//! the gateway's exact response shapes and texts, per-agreement field limits, daily quotas on the
//! WIB day, verification scoring, data-balikan intake, injected faults, a journal of every request
//! and an admin API.

pub mod cli;
pub mod faults;
pub mod population_db;
