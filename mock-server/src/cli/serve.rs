//! `mock-server serve`: builds the state, binds, prints the URL (and the TLS fingerprint), serves
//! until SIGTERM or ctrl-c, then drains the journal writer.

use std::net::SocketAddr;

use anyhow::Context;
use dukcapil_mock_api::LISTENING_PREFIX;

use crate::config::Settings;
use crate::http::server::{prepare, Prepared};

/// Runs the server on a new multi-threaded runtime.
pub(crate) fn run(settings: Settings) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    rt.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let Prepared {
        state,
        writer: writer_thread,
        token,
    } = prepare(settings.clone()).await?;
    let app = crate::http::app(state.clone());
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr().context("local address")?;
    let scheme = if settings.tls { "https" } else { "http" };
    if settings.admin_token.is_none() {
        println!("admin token: {token}");
    }
    if settings.tls {
        let make = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = super::tls::ensure_cert(&settings.data_dir)?;
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
        println!("{LISTENING_PREFIX}{scheme}://{addr}");
        axum_server::from_tcp_rustls(listener, config)?
            .handle(handle)
            .serve(make)
            .await?;
    } else {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        println!("{LISTENING_PREFIX}{scheme}://{addr}");
        crate::http::conn::serve(listener, app, &settings.limits, shutdown_signal()).await;
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
