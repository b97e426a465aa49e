//! RSUD Kabupaten Karanganyar's patient registration (SIMRS), the reference agency application
//! for the Dukcapil mock: it looks residents up by `CALL_NIK` on behalf of the logged-in
//! operator, shows only what its agreement grants, keeps no gateway data, and sends data
//! balikan for registrations and deaths. Defect switches ([`config::Defect`]) turn it into
//! each realistic violation the PoC harness must catch.

mod answer;
pub mod config;
mod db;
mod gateway;
mod quota;
pub mod service;
mod web;

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

/// `rsud-app [--config FILE]`: serves until interrupted, printing `listening on http://ADDR`.
#[derive(Debug, Parser)]
#[command(
    name = "rsud-app",
    version,
    about = "SIMRS RSUD Kabupaten Karanganyar: reference Dukcapil-integrated application"
)]
pub(crate) struct Cli {
    /// TOML configuration file; `RSUD_APP_*` environment variables override it.
    #[arg(long, env = "RSUD_APP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address (overrides the config; default 127.0.0.1:0).
    #[arg(long)]
    pub listen: Option<String>,
}

/// Exit code: bad configuration.
pub(crate) const EXIT_CONFIG: u8 = 2;
/// Exit code: runtime failure (database, log file, socket).
pub(crate) const EXIT_FAILURE: u8 = 1;

/// The `rsud-app` binary: parses the command line, loads the configuration and serves until
/// interrupted. Exits 0 when stopped cleanly, 1 on a runtime failure, 2 on bad configuration.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut config = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rsud-app: {e}");
            return std::process::ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(l) = cli.listen {
        config.listen = l;
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rsud-app: {e}");
            return std::process::ExitCode::from(EXIT_FAILURE);
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rsud-app: {e:#}");
            std::process::ExitCode::from(EXIT_FAILURE)
        }
    }
}

pub(crate) async fn serve(config: config::Config) -> anyhow::Result<()> {
    for p in [&config.log_file, &config.database] {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.log_file)
        .with_context(|| format!("cannot open log file {}", config.log_file.display()))?;
    tracing_subscriber::fmt()
        .with_writer(Arc::new(log))
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RSUD_APP_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    let db = db::Db::open(&config.database)?;
    let listen = config.listen.clone();
    let defects: Vec<String> = config.defects.iter().map(|d| d.to_string()).collect();
    let app = service::App::new(config, db)?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, agreement = %app.agreement.id, gateway = %app.config.gateway_url, ?defects, "rsud-app started");
    {
        use std::io::Write;
        // Whoever started us may have closed stdout after reading the address: not fatal.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        if !defects.is_empty() {
            let _ = writeln!(out, "defects: {}", defects.join(","));
        }
        let _ = out.flush();
    }
    axum::serve(listener, web::router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
