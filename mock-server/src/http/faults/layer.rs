//! The middleware that applies the engine's decision to real requests: a delay before the
//! handler, a proxy-style error status instead of it, a dropped connection, or the handler's
//! real answer truncated or trickled.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use dukcapil_domain::mask_nik;
use futures_util::stream::{self, StreamExt};
use http_body_util::BodyExt;

use super::meta::{body_fields, Directory, DirectorySource};
use crate::core::faults::{AppliedAction, AppliedFault, FaultEngine, Keep, RequestMeta};
use dukcapil_mock_api::Endpoint;

/// Request bodies up to this size are read to match operator and NIK rules; larger ones pass
/// through untouched (the gateway's own size cap answers them).
pub(crate) const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Answers larger than this are not truncated or trickled (they are passed on whole).
const RESPONSE_LIMIT: usize = 16 << 20;

/// A request a fault answered without the gateway (status, close): the journal still needs
/// its row, and only the layer knows of it.
#[derive(Debug, Clone)]
pub(crate) struct ShortCircuit {
    pub meta: RequestMeta,
    /// The endpoint as the gateway journals it (`CALL_NIK`, `balikan_store`…).
    pub endpoint_name: String,
    /// The method segment as sent, when it is not the endpoint's own name (`call_nik`).
    pub called_as: Option<String>,
    pub fault: AppliedFault,
    /// The status answered; `None` when the connection was dropped.
    pub http_status: Option<u16>,
    pub source: Option<SocketAddr>,
    pub started: Instant,
    /// Set when the client gave up during an injected delay (the delay's length): the gateway
    /// never saw the request, and its row is stamped at its arrival, not when the client left.
    pub client_left_during: Option<Duration>,
}

/// Where short-circuited requests are journaled (the mock's journal writer).
pub(crate) trait FaultJournal: fmt::Debug + Send + Sync {
    /// Records the row; the answer waits for it, like every journaled answer.
    fn record(&self, entry: ShortCircuit) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// What the middleware needs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct FaultLayerState {
    pub engine: FaultEngine,
    /// Who is who on the gateway: follows institutions added and removed while the mock runs.
    pub directory: Arc<dyn DirectorySource>,
    pub body_limit: usize,
    pub journal: Option<Arc<dyn FaultJournal>>,
}

impl FaultLayerState {
    pub(crate) fn new(engine: FaultEngine, directory: Directory) -> Self {
        FaultLayerState {
            engine,
            directory: Arc::new(Arc::new(directory)),
            body_limit: DEFAULT_BODY_LIMIT,
            journal: None,
        }
    }
}

/// Wraps a router's routes (the gateway endpoints) with fault injection. Paths that are not
/// gateway endpoints (e.g. `/__admin`) are never faulted.
pub(crate) fn with_faults<S>(router: Router<S>, state: FaultLayerState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(FaultLayer(state))
}

/// The layer of [`with_faults`]. A tower layer of its own rather than `from_fn`: with no rule
/// (the normal case, and the benchmarked one) a request goes straight to the route, without the
/// clone of the route and the boxed future `from_fn` pays on every request.
#[derive(Debug, Clone)]
struct FaultLayer(FaultLayerState);

impl<S> tower::Layer<S> for FaultLayer {
    type Service = Faulted<S>;

    fn layer(&self, inner: S) -> Faulted<S> {
        Faulted {
            inner,
            state: self.0.clone(),
        }
    }
}

/// A route behind [`FaultLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Faulted<S> {
    inner: S,
    state: FaultLayerState,
}

impl<S> tower::Service<Request> for Faulted<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::Either<
        S::Future,
        Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use futures_util::future::Either;
        if self.state.engine.is_empty() {
            return Either::Left(self.inner.call(req));
        }
        // The inner service was made ready for this request: it goes into the future, and a
        // clone takes its place (tower's rule for a service used after `call` returns).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            Ok(fault_middleware(state, req, Next(inner)).await)
        }))
    }
}

/// The rest of the stack after the fault layer, called at most once.
struct Next<S>(S);

impl<S> Next<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    async fn run(mut self, req: Request) -> Response {
        match self.0.call(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }
}

/// What the layer does to a request while fault rules exist.
async fn fault_middleware<S>(st: FaultLayerState, req: Request, next: Next<S>) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    // No rule (the normal case) never comes here; one may have been removed since.
    if st.engine.is_empty() {
        return next.run(req).await;
    }
    let directory = st.directory.current();
    let Some((endpoint, customer)) = directory.classify(req.uri().path()) else {
        return next.run(req).await;
    };
    let started = Instant::now();
    let mut meta = RequestMeta::new(endpoint);
    meta.institution = match endpoint {
        Endpoint::CallNik | Endpoint::Verify => customer,
        Endpoint::BalikanStore | Endpoint::BalikanUpload => req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| directory.token_owner(v))
            .map(str::to_string),
    };
    let body_read = st.engine.needs_body();
    let req = if body_read {
        read_fields(&st, &directory, req, &mut meta).await
    } else {
        req
    };
    let Some(fault) = st.engine.decide(&meta) else {
        return next.run(req).await;
    };
    tracing::info!(
        fault = %fault,
        endpoint = endpoint.as_str(),
        institution = meta.institution.as_deref().unwrap_or("-"),
        nik = %meta.niks.first().map_or_else(|| "-".to_string(), |n| mask_nik(n)),
        "fault injected"
    );
    let mut req = req;
    // Inner layers and handlers (the journal) can see the fault before answering…
    req.extensions_mut().insert(fault);
    let path = req.uri().path().to_string();
    let mut resp = match fault.action {
        AppliedAction::Delay(d) => {
            // A client whose time-out is shorter than the delay (what delay rules usually test)
            // closes the connection, and hyper drops this future: the attempt must still be in
            // the journal, or retries after a time-out are undercounted by one. The body is read
            // first (the client sent it before waiting) so the row has its operator and NIK, and
            // the handler after the delay never waits on the network.
            let req = if body_read {
                req
            } else {
                read_fields(&st, &directory, req, &mut meta).await
            };
            let (endpoint_name, called_as) = endpoint_name(endpoint, &path);
            let guard = st.journal.clone().map(|journal| LeftDuringDelay {
                journal,
                entry: Some(ShortCircuit {
                    meta,
                    endpoint_name,
                    called_as,
                    fault,
                    http_status: None,
                    source: source_of(&req),
                    started,
                    client_left_during: Some(d),
                }),
            });
            tokio::time::sleep(d).await;
            // The handler journals on its own from here (its body is already in memory).
            if let Some(mut g) = guard {
                g.entry = None;
            }
            next.run(req).await
        }
        AppliedAction::Status(_) | AppliedAction::Close => {
            let http_status = match fault.action {
                AppliedAction::Status(code) => Some(code),
                _ => None,
            };
            if let Some(journal) = &st.journal {
                let source = source_of(&req);
                if !body_read {
                    // The gateway will not read it, so read it here for the journal's
                    // operator and NIK columns.
                    read_fields(&st, &directory, req, &mut meta).await;
                }
                let (endpoint_name, called_as) = endpoint_name(endpoint, &path);
                let entry = ShortCircuit {
                    meta,
                    endpoint_name,
                    called_as,
                    fault,
                    http_status,
                    source,
                    started,
                    client_left_during: None,
                };
                journal.record(entry).await;
            }
            match http_status {
                Some(code) => status_response(code, &path),
                None => close_response(),
            }
        }
        AppliedAction::Truncate(keep) => truncate(next.run(req).await, keep).await,
        AppliedAction::Trickle { chunk_bytes, pause } => {
            trickle(next.run(req).await, chunk_bytes, pause).await
        }
    };
    // …and outer ones see it on the answer.
    resp.extensions_mut().insert(fault);
    resp
}

/// The journal's endpoint column for a request the gateway did not handle, named as the gateway
/// names the ones it handles (readers select rows by it), and the method segment as sent when it
/// differs (`call_nik`, or an institution's own method name).
fn endpoint_name(endpoint: Endpoint, path: &str) -> (String, Option<String>) {
    let canonical = match endpoint {
        Endpoint::CallNik => "CALL_NIK",
        Endpoint::Verify => "CALL_VERIFY_BY_ELEMEN",
        Endpoint::BalikanStore => "balikan_store",
        Endpoint::BalikanUpload => "balikan_upload",
    };
    let called_as = match endpoint {
        Endpoint::CallNik | Endpoint::Verify => path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|seg| *seg != canonical)
            .map(|seg| seg.chars().take(100).collect()),
        Endpoint::BalikanStore | Endpoint::BalikanUpload => None,
    };
    (canonical.to_string(), called_as)
}

fn source_of(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// Journals a delayed request whose client gave up before the delay ended: dropped with its
/// entry still in place means the future was cancelled mid-delay.
struct LeftDuringDelay {
    journal: Arc<dyn FaultJournal>,
    entry: Option<ShortCircuit>,
}

impl Drop for LeftDuringDelay {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        // Drop cannot wait: the row is written by a task of its own (dropped futures of a
        // running server are dropped inside its runtime; at shutdown there is none, and the
        // request is lost with the process, like any unanswered one).
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(self.journal.record(entry));
            }
            Err(_) => tracing::warn!("a request left during a delay could not be journaled"),
        }
    }
}

/// Reads operator and NIKs from the query and (if small enough) the body into `meta`; returns
/// the request with an equivalent body.
async fn read_fields(
    st: &FaultLayerState,
    directory: &Directory,
    req: Request,
    meta: &mut RequestMeta,
) -> Request {
    let (parts, body) = req.into_parts();
    let (body, complete) = buffer(body, st.body_limit).await;
    let key = directory.operator_field(meta.institution.as_deref());
    let bytes = complete.unwrap_or_default();
    let (operator, niks) = body_fields(meta.endpoint, key, parts.uri.query(), &bytes);
    meta.operator = operator;
    meta.niks = niks;
    Request::from_parts(parts, body)
}

/// Reads the body up to `limit` bytes. Returns a body equivalent to the original and, when it
/// was read completely within the limit, its bytes.
async fn buffer(mut body: Body, limit: usize) -> (Body, Option<Bytes>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match body.frame().await {
            None => {
                let bytes = Bytes::from(buf);
                return (Body::from(bytes.clone()), Some(bytes));
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                    if buf.len() > limit {
                        // Too big to inspect: hand on what was read followed by the rest.
                        let head =
                            stream::once(async move { Ok::<Bytes, axum::Error>(Bytes::from(buf)) });
                        return (Body::from_stream(head.chain(body.into_data_stream())), None);
                    }
                }
            }
            Some(Err(e)) => {
                // The client's body failed mid-way; the handler sees the same failure.
                let items: [Result<Bytes, axum::Error>; 2] = [Ok(Bytes::from(buf)), Err(e)];
                return (Body::from_stream(stream::iter(items)), None);
            }
        }
    }
}

/// What the real stack answers when it fails: Spring Boot's JSON error for a crashed
/// application, nginx's stock pages for the proxy's own errors.
pub(crate) fn status_response(code: u16, path: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    if code == 500 {
        let body = serde_json::json!({
            "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
            "status": 500,
            "error": "Internal Server Error",
            "path": path,
        });
        return (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let title = match code {
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        _ => "502 Bad Gateway",
    };
    let html = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html"),
            (header::SERVER, "nginx"),
        ],
        html,
    )
        .into_response()
}

/// An answer whose body fails before its first byte: hyper then drops the connection
/// without writing the (still buffered) status line, so the client sees the connection
/// closed and no HTTP response at all.
pub(crate) fn close_response() -> Response {
    let failing = stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "injected fault: connection closed",
        ))
    });
    let mut resp = Response::new(Body::from_stream(failing));
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Reads a handler's answer whole; `None` if it is too large or fails.
async fn collect(resp: Response) -> Result<(axum::http::response::Parts, Bytes), Response> {
    let (parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, RESPONSE_LIMIT).await {
        Ok(bytes) => Ok((parts, bytes)),
        // The answer itself failed: the connection would break anyway.
        Err(_) => Err(close_response()),
    }
}

/// Where to cut an answer of `len` bytes (`len` without trailing whitespace): always before its
/// end, so a JSON answer never parses.
pub(crate) fn cut_point(trimmed_len: usize, keep: Keep) -> usize {
    let want = match keep {
        Keep::Bytes(n) => n,
        Keep::Percent(p) => trimmed_len * usize::from(p) / 100,
    };
    want.min(trimmed_len.saturating_sub(1))
}

async fn truncate(resp: Response, keep: Keep) -> Response {
    let (mut parts, bytes) = match collect(resp).await {
        Ok(v) => v,
        Err(broken) => return broken,
    };
    let trimmed = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let cut = bytes.slice(..cut_point(trimmed, keep));
    // The length hyper sends is the cut one: a complete HTTP message with a broken JSON body,
    // as when a proxy's buffer gave out.
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

async fn trickle(resp: Response, chunk_bytes: usize, pause: Duration) -> Response {
    let (mut parts, bytes) = match collect(resp).await {
        Ok(v) => v,
        Err(broken) => return broken,
    };
    let chunks: Vec<Bytes> = (0..bytes.len())
        .step_by(chunk_bytes.max(1))
        .map(|start| bytes.slice(start..(start + chunk_bytes).min(bytes.len())))
        .collect();
    // First chunk at once, then a pause before each further one.
    let body = stream::iter(chunks.into_iter().enumerate()).then(move |(i, chunk)| async move {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        Ok::<Bytes, Infallible>(chunk)
    });
    // Sent chunked: the length is not known to the client up front, as with a streaming upstream.
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_is_always_before_the_end() {
        assert_eq!(cut_point(100, Keep::Percent(50)), 50);
        assert_eq!(cut_point(100, Keep::Bytes(10)), 10);
        assert_eq!(cut_point(100, Keep::Bytes(1000)), 99);
        assert_eq!(cut_point(100, Keep::Percent(99)), 99);
        assert_eq!(cut_point(0, Keep::Percent(50)), 0);
    }

    proptest::proptest! {
        /// Whatever is kept, a JSON document cut by the truncate fault never parses.
        #[test]
        fn truncated_json_never_parses(
            values in proptest::collection::vec("[a-z0-9 ]{0,12}", 1..8),
            keep in 0usize..400,
        ) {
            let doc = serde_json::json!({"content": values, "lastPage": true}).to_string() + "\n";
            let trimmed = doc.trim_end().len();
            let cut = &doc.as_bytes()[..cut_point(trimmed, Keep::Bytes(keep))];
            proptest::prop_assert!(serde_json::from_slice::<serde_json::Value>(cut).is_err());
        }
    }
}
