//! `mock-server serve`: binds (answering 503 while it prepares) the gateway's address and, with
//! `--balikan-listen`, the data-balikan service's own, builds the state, prints the URLs (and the
//! TLS fingerprint), serves until SIGTERM or ctrl-c, then drains the journal writer.

use std::net::SocketAddr;

use anyhow::Context;
use dukcapil_mock_api::{BALIKAN_LISTENING_PREFIX, HEALTHZ, LISTENING_PREFIX};

use crate::config::Settings;
use crate::http::ready::Gate;
use crate::http::server::{prepare, Prepared};
use crate::http::{app_for, Services};

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
    let agreements = crate::http::server::agreements(&settings)?;
    crate::http::server::check_operators(&settings, &agreements)?;
    super::data_dir::ensure(&settings.data_dir)?;
    let balikan_tls = settings.balikan_listen.is_some() && settings.balikan_tls;
    let certificate = if settings.tls || balikan_tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = super::tls::load(&settings.data_dir, settings.tls_files.as_ref())?;
        println!(
            "tls certificate: {} (sha256 fingerprint {})",
            cert.path.display(),
            cert.fingerprint
        );
        Some(cert)
    } else {
        None
    };
    let acceptor = |on: bool| {
        on.then(|| certificate.as_ref().map(|c| c.acceptor.clone()))
            .flatten()
    };
    // The ports are bound before the (possibly long) generation of the population: probes and
    // early clients get 503 (`GET /healthz`: `{"status":"starting"}`) until it is ready.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let gateway = Listener::bind(settings.listen, acceptor(settings.tls), &settings, &stop_rx)?;
    let balikan = match settings.balikan_listen {
        Some(addr) => Some(Listener::bind(
            addr,
            acceptor(balikan_tls),
            &settings,
            &stop_rx,
        )?),
        None => None,
    };
    tracing::info!(
        "bound {}; preparing the dataset (GET {HEALTHZ} answers 503 until ready)",
        gateway.url
    );
    let prepared = match prepare(settings.clone()).await {
        Ok(p) => p,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = gateway.task.await;
            if let Some(b) = balikan {
                let _ = b.task.await;
            }
            return Err(e.into());
        }
    };
    let Prepared {
        state,
        writer: writer_thread,
        token,
    } = prepared;
    let Listener {
        gate,
        url,
        task: mut server,
    } = gateway;
    let mut balikan_task = match balikan {
        Some(b) => {
            gate.open(app_for(state.clone(), Services::GatewayOnly));
            b.gate.open(app_for(state.clone(), Services::BalikanOnly));
            println!("{BALIKAN_LISTENING_PREFIX}{}", b.url);
            b.task
        }
        None => {
            gate.open(app_for(state.clone(), Services::All));
            tokio::spawn(async { Ok(()) })
        }
    };
    if settings.admin_token.is_none() {
        println!("admin token: {token}");
    }
    println!("{LISTENING_PREFIX}{url}");
    // Until a signal, or until a listener's task ends on its own (which stops the other too);
    // each task is awaited once.
    let (mut gateway_end, mut balikan_end) = (None, None);
    tokio::select! {
        () = shutdown_signal() => {}
        ended = &mut server => gateway_end = Some(ended),
        ended = &mut balikan_task, if settings.balikan_listen.is_some() => balikan_end = Some(ended),
    }
    let _ = stop_tx.send(true);
    let gateway_end = match gateway_end {
        Some(ended) => ended,
        None => server.await,
    };
    let balikan_end = match balikan_end {
        Some(ended) => ended,
        None => balikan_task.await,
    };
    gateway_end.context("server task")??;
    balikan_end.context("balikan server task")??;
    tracing::info!("shutting down: draining the journal writer");
    drop(gate);
    drop(state);
    writer_thread.shutdown().await;
    println!("stopped");
    Ok(())
}

/// A bound listener answering 503 until its gate opens, served by the bounded accept loop
/// (`[limits]`), over TLS when it has an acceptor.
struct Listener {
    gate: Gate,
    url: String,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Listener {
    fn bind(
        addr: SocketAddr,
        tls: Option<tokio_rustls::TlsAcceptor>,
        settings: &Settings,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Listener> {
        let listener = super::listen::bind(addr)?;
        let bound = listener.local_addr().context("local address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let gate = Gate::default();
        let service = gate.clone();
        let limits = settings.limits.clone();
        let mut stop = stop.clone();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            crate::http::conn::serve(listener, service, &limits, tls, stopped).await;
            Ok(())
        });
        Ok(Listener {
            gate,
            url: format!("{scheme}://{bound}"),
            task,
        })
    }
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
