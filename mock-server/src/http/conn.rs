//! The accept loop of every listener, plain HTTP or TLS: a TLS handshake bounded like a request
//! head, HTTP/1.1 (and HTTP/2: prior knowledge on plain HTTP, ALPN `h2` on TLS) with a header read
//! timeout (which is also the longest wait for the next request on a keep-alive connection), a
//! body read deadline, an idle timeout and a maximum of open connections past which a new one
//! gets a 503 and is closed at once. Slow or silent clients are closed; they cannot hold the
//! mock's descriptors, with or without TLS.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::{Service, ServiceExt};

use crate::config::Limits;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The answer to a connection past `max_connections`, written without reading the request.
fn refusal(max: usize) -> Vec<u8> {
    let body = format!(
        "{{\"message\":\"Terlalu banyak koneksi terbuka (batas max_connections = {max}); coba lagi\",\"limit\":\"max_connections\",\"max\":{max}}}"
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A request body that fails once `body_read_timeout_ms` has passed since the request's head.
/// The timer is made only when the body is not there at once: most bodies (and every empty one)
/// never need it, and a timer per request showed in the profile.
struct Deadline {
    inner: Incoming,
    at: tokio::time::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let at = self.at;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(
                "request body not received in time (body_read_timeout_ms)".into(),
            )));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// Requests in flight on a connection, when the last one ended (the idle clock), and whether
/// one ever started.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
    any: AtomicBool,
}

struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: &Arc<Activity>) -> InFlight {
        a.in_flight.fetch_add(1, Ordering::SeqCst);
        a.any.store(true, Ordering::SeqCst);
        InFlight(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut last) = self.0.last.lock() {
            *last = Instant::now();
        }
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v.max(1))
}

/// Serves `app` on `listener` (through `tls` when given) until `shutdown` resolves, then lets the
/// open connections finish their requests and waits for them.
/// `app` is the mock's [`axum::Router`] or the readiness gate in front of it.
pub(crate) async fn serve<A>(
    listener: TcpListener,
    app: A,
    limits: &Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) where
    A: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    A::Future: Send,
{
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (close_tx, close_rx) = watch::channel(false);
    let refused = refusal(max);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "max_connections reached: refused");
            let _ = stream.try_write(&refused);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let close = close_rx.clone();
        let limits = limits.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection(stream, remote, app, &limits, close).await,
                // A handshake is bounded like a request head: a silent TLS client is closed as a
                // silent plain one is, and holds its permit no longer.
                Some(acceptor) => {
                    let handshake = ms(limits.header_read_timeout_ms);
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, remote, app, &limits, close).await,
                        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake not finished in time: closed")
                        }
                    }
                }
            }
            drop(permit);
        });
    }
    let _ = close_tx.send(true);
    let _ = permits.acquire_many(max as u32).await;
}

async fn connection<S, A>(
    stream: S,
    remote: SocketAddr,
    app: A,
    limits: &Limits,
    mut close: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    A::Future: Send,
{
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
        any: AtomicBool::new(false),
    });
    let body_timeout = ms(limits.body_read_timeout_ms);
    let a = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let guard = InFlight::new(&a);
        req.extensions_mut().insert(ConnectInfo(remote));
        let req = req.map(|inner| {
            Body::new(Deadline {
                inner,
                at: tokio::time::Instant::now() + body_timeout,
                sleep: None,
            })
        });
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(guard);
            match res {
                Ok(r) => Ok::<_, Infallible>(r),
                Err(e) => match e {},
            }
        }
    });
    // HTTP/1.1 or HTTP/2, told apart by the connection's first bytes (clients with HTTP/2 prior
    // knowledge, and TLS clients that negotiated `h2`). A connection whose first request has not
    // begun within `header_read_timeout_ms` is closed by the idle clock below, before a version
    // is even known: hyper's own header timer only starts with the first bytes, and a silent
    // connection must not hold one of `max_connections` for the whole idle timeout.
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ms(limits.header_read_timeout_ms))
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let idle = ms(limits.idle_timeout_ms);
    let first_head = ms(limits.header_read_timeout_ms).min(idle);
    let mut tick = tokio::time::interval((first_head / 4).max(Duration::from_millis(10)));
    let mut closing = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%remote, error = %e, "connection ended");
                }
                break;
            }
            changed = close.changed(), if !closing => {
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                let limit = if activity.any.load(Ordering::SeqCst) { idle } else { first_head };
                let quiet = activity.in_flight.load(Ordering::SeqCst) == 0
                    && activity.last.lock().is_ok_and(|l| l.elapsed() >= limit);
                if quiet {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
