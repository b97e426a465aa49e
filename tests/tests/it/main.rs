//! End-to-end tests of the shipped binaries: real processes, real sockets on 127.0.0.1, real
//! SQLite files in temporary directories. One binary, one `mod` per area.

/// A whole session per defect switch and agreement: the longest tests by far. The leading
/// underscore sorts them first, because libtest starts tests in name order: they start at once
/// and the short tests fill the other test threads meanwhile, instead of the other way round.
#[path = "regression.rs"]
mod _regression;
mod admin;
mod app_pages;
/// Module graphs from the sources: no circles of imports, no upward layer imports in mock-server.
mod architecture;
mod auth;
mod balikan;
mod cli_habits;
/// The live dashboard at `/__admin/ui`: login and session, loopback rule, CSRF, and in headless
/// Chromium the journal arriving live and a fault rule added from the page.
mod dashboard;
mod faults;
mod fixtures;
mod fuzz;
mod gateway;
/// Hostile clients (issue 13): slow sockets, oversized rows.
mod hostile;
mod letter;
/// Listeners as the real network has them: data balikan on its own address, own-CA TLS, HTTP/2,
/// bounded TLS handshakes.
mod network;
mod poc_documents;
mod poc_manual;
mod poc_session;
/// The mock Web Portal (issue 16): login, lock-out, CSRF, texts, quota, in Chromium too.
mod portal;
/// The Web Portal PoC pack (issue 16): poc-runner's browser driver plays operator scripts at the
/// mock portal; compliant, shared-login and sequential-search scripts.
mod portal_pack;
mod readiness;
/// The README's marked commands, as written, in a fresh clone.
mod readme;
mod reliability;
mod residents;
/// A regency sandbox: institution tokens and scopes on one shared mock (issue 17).
mod sandbox;
mod support;
