//! A puskesmas patient registration desk under the Dinkes Purbalingga agreement, the second
//! reference agency application for the Dukcapil mock: server-rendered pages, cookie sessions,
//! CSRF-checked form posts. An operator logs in, looks a patient up by NIK (`CALL_NIK` with the
//! operator's own `User_ID`), sees only the granted elements, records the service event and the
//! desk sends the data balikan. Defect switches ([`config::Defect`]) turn it into each realistic
//! violation the PoC harness must catch.

mod config;
mod desk;
mod gateway;
mod store;
mod web;

use anyhow::Context;
use clap::Parser;

/// Exit code: runtime failure (database, socket).
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code: bad configuration.
pub(crate) const EXIT_CONFIG: u8 = 2;

/// The `puskesmas-app` binary: resolves the configuration from flags, environment and file,
/// then serves until interrupted. Exits 0 when stopped cleanly, 1 on a runtime failure, 2 on
/// bad configuration.
pub fn main() -> std::process::ExitCode {
    let config = match config::Config::resolve(config::Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("puskesmas-app: {e}");
            return std::process::ExitCode::from(EXIT_CONFIG);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("puskesmas-app: {e}");
            return std::process::ExitCode::from(EXIT_FAILURE);
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("puskesmas-app: {e:#}");
            std::process::ExitCode::from(EXIT_FAILURE)
        }
    }
}

pub(crate) async fn serve(config: config::Config) -> anyhow::Result<()> {
    // Logs go to stderr (NIKs masked, no gateway answers, no secrets).
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PUSKESMAS_APP_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    let store = store::Store::open(&config.database)?;
    let listen = config.listen.clone();
    let defects = config.defects.names();
    let desk = desk::Desk::new(config, store)?;
    if desk.config.defects.has(config::Defect::BackgroundCrawler) {
        desk.spawn_crawler();
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, agreement = %desk.config.agreement.id, gateway = %desk.config.gateway_url, ?defects, "puskesmas-app started");
    {
        use std::io::Write;
        // Whoever started us may have closed stdout after reading the address: not fatal.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    axum::serve(listener, web::router(desk))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
