//! A faithful simulator of the Dukcapil population-data gateway: a seeded dummy population,
//! the gateway's exact response shapes and texts, per-agreement field limits, daily quotas on the
//! WIB day, verification scoring, data-balikan intake, injected faults, a journal of every request
//! and an admin API; a mock of the Web Portal (Dukcapil's browser application) for the agencies
//! whose agreement grants it.
//!
//! The crate is in layers, each importing only those below it:
//! `cli` (clap, terminal) → `http` (axum: gateway, data balikan, admin, fault middleware) →
//! `core` (rules: institutions, quota, clock, residents, fault engine) → `db` (rusqlite: the state
//! database, its writer thread, the population file), with `config` (the settings) beside them.
//! The types of the admin API are in the [`dukcapil_mock_api`] crate.
//!
//! # Running the mock inside `cargo test`
//!
//! A Rust agency application can start the mock in-process, on `127.0.0.1` and a free port, and
//! point its gateway client at [`Server::uri`]:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let mock = mock_server::Server::builder()
//!     .data_dir(dir.path())
//!     .population(2_000)
//!     .seed(1)
//!     .start()
//!     .await?;
//! let lookup = format!("{}/dukcapil/get_json/rsud_3313/CALL_NIK", mock.uri());
//! // ... call the application under test, then read what reached the mock through the admin
//! // API: `dukcapil_mock_api::Client::new(mock.uri(), mock.admin_token())` (a blocking client:
//! // call it from `tokio::task::spawn_blocking` inside an async test).
//! # let _ = lookup;
//! mock.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! The server stops when the [`Server`] is dropped (or at [`Server::stop`], which also waits for
//! the journal writer). End-to-end tests of the shipped binary start `mock-server serve` instead.

mod cli;
mod config;
mod core;
mod db;
mod http;

pub use cli::{exit_codes, main};
pub use db::{
    dataset_file_name, ensure_population, PopulationDbError, PopulationFile, PopulationReader,
    PopulationSpec,
};
pub use dukcapil_mock_api::{LISTENING_PREFIX, ROUTES};
pub use http::server::{Server, ServerBuilder, StartError};
