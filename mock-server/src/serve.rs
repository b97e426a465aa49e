//! `mock-server serve`: builds the state, binds, prints the URL (and the TLS fingerprint), serves
//! until SIGTERM or ctrl-c, then drains the journal writer.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use dukcapil_domain::Agreement;
use rand::RngCore;

use crate::residents::ResidentSource;
use crate::settings::Settings;
use crate::state::AppState;

/// Loads the agreements the settings name (or the embedded ones).
pub fn agreements(settings: &Settings) -> anyhow::Result<Vec<Agreement>> {
    match &settings.agreements {
        Some(dir) => Ok(Agreement::load_dir(dir)?),
        None => Ok(Agreement::embedded()),
    }
}

fn admin_token(settings: &Settings) -> String {
    settings.admin_token.clone().unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
}

/// Runs the server on a new multi-threaded runtime.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    rt.block_on(serve(settings))
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let agreements = agreements(&settings)?;
    // Loading the embedded reference data takes a moment; do it before the first call.
    let _ = dukcapil_domain::Reference::get();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("create data directory {}", settings.data_dir.display()))?;
    let residents: Arc<dyn ResidentSource> = crate::residents::open_population(&settings)?;
    let (writer_thread, loaded) = crate::store::open(&settings.data_dir, settings.journal_cap)?;
    let token = admin_token(&settings);
    let state = AppState::new(
        settings.clone(),
        agreements,
        loaded,
        writer_thread.writer(),
        residents,
        token.clone(),
    );
    let app = crate::app::app(state.clone());
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr().context("local address")?;
    let scheme = if settings.tls { "https" } else { "http" };
    if settings.admin_token.is_none() {
        println!("admin token: {token}");
    }
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    if settings.tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = crate::tls::ensure_cert(&settings.data_dir)?;
        println!(
            "tls certificate: {} (sha256 fingerprint {})",
            cert.cert_path.display(),
            cert.fingerprint
        );
        let config = axum_server::tls_rustls::RustlsConfig::from_pem(cert.cert_pem, cert.key_pem)
            .await
            .context("load the TLS certificate")?;
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
        println!("listening on {scheme}://{addr}");
        axum_server::from_tcp_rustls(listener, config)?
            .handle(handle)
            .serve(make)
            .await?;
    } else {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        println!("listening on {scheme}://{addr}");
        axum::serve(listener, make)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
    }
    tracing::info!("shutting down: draining the journal writer");
    drop(state);
    writer_thread.shutdown().await;
    println!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
