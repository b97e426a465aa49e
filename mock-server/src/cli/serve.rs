//! `mock-server serve`: binds (answering 503 while it prepares), builds the state, prints the URL
//! (and the TLS fingerprint), serves until SIGTERM or ctrl-c, then drains the journal writer.

use std::net::SocketAddr;

use anyhow::Context;
use dukcapil_mock_api::{HEALTHZ, LISTENING_PREFIX};

use crate::config::Settings;
use crate::http::ready::Gate;
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
    // A bad agreement file is a usage error: refused before the port is taken.
    crate::http::server::agreements(&settings)?;
    super::data_dir::ensure(&settings.data_dir)?;
    let tls = if settings.tls {
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
        Some(config)
    } else {
        None
    };
    // The port is bound before the (possibly long) generation of the population: probes and
    // early clients get 503 (`GET /healthz`: `{"status":"starting"}`) until it is ready.
    let listener = super::listen::bind(settings.listen)?;
    let addr = listener.local_addr().context("local address")?;
    let scheme = if settings.tls { "https" } else { "http" };
    let gate = Gate::default();
    let make = gate
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let stopped = async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    let mut server: tokio::task::JoinHandle<anyhow::Result<()>> = match tls {
        Some(config) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                stopped.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            let server = axum_server::from_tcp_rustls(listener, config)?.handle(handle);
            tokio::spawn(async move { Ok(server.serve(make).await?) })
        }
        None => {
            // Plain HTTP through the accept loop that bounds connections and their timeouts
            // (`[limits]`); TLS keeps axum-server.
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let limits = settings.limits.clone();
            let router = gate.router();
            tokio::spawn(async move {
                crate::http::conn::serve(listener, router, &limits, stopped).await;
                Ok(())
            })
        }
    };
    tracing::info!(
        "bound {scheme}://{addr}; preparing the dataset (GET {HEALTHZ} answers 503 until ready)"
    );
    let prepared = match prepare(settings.clone()).await {
        Ok(p) => p,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = server.await;
            return Err(e.into());
        }
    };
    let Prepared {
        state,
        writer: writer_thread,
        token,
    } = prepared;
    gate.open(crate::http::app(state.clone()));
    if settings.admin_token.is_none() {
        println!("admin token: {token}");
    }
    println!("{LISTENING_PREFIX}{scheme}://{addr}");
    let served = tokio::select! {
        () = shutdown_signal() => {
            let _ = stop_tx.send(true);
            (&mut server).await
        }
        served = &mut server => served,
    };
    served.context("server task")??;
    tracing::info!("shutting down: draining the journal writer");
    drop(gate);
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
