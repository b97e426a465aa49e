//! Readiness: `GET /healthz`, and the [`Gate`] that `mock-server serve` listens with before its
//! dataset is ready, so that the port is bound (and probes get an answer) during a long
//! generation.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use dukcapil_mock_api::{ADMIN_PREFIX, HEALTHZ};
use futures_util::future::Either;
use serde_json::json;
use tower::Service;

use super::gateway::response::{respon, Page};

/// `GET /healthz` on a mock that serves: no token, no data, not journaled.
pub(crate) async fn healthz() -> Response {
    json_answer(StatusCode::OK, json!({"status": "ok"}).to_string())
}

/// The service a listener serves with: while the dataset is prepared, every request waits for
/// nothing and gets 503 in the form its path expects; once [`Gate::open`] is called, every
/// request goes to the mock's router, directly (no second router in front of it: routing twice
/// showed in the profile of the lookup path).
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate(Arc<OnceLock<Router>>);

impl Gate {
    /// From now on, requests are served by `app`.
    pub(crate) fn open(&self, app: Router) {
        let _ = self.0.set(app);
    }
}

impl Service<Request> for Gate {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteFuture<Infallible>, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.0.get() {
            // A router is always ready; its clone is one reference count.
            Some(app) => Either::Left(app.clone().call(req)),
            None => Either::Right(ready(Ok(starting(req.uri().path())))),
        }
    }
}

/// What a request gets while the dataset is prepared: 503 with `Retry-After`, in the shape of
/// the path's API (the gateway's envelope, balikan's `{"message"}`, admin's `{"error"}`).
fn starting(path: &str) -> Response {
    const TEXT: &str = "mock is starting: preparing the dummy population, retry shortly";
    let body = if path == HEALTHZ {
        json!({"status": "starting"}).to_string()
    } else if path.starts_with(ADMIN_PREFIX) {
        json!({ "error": TEXT }).to_string()
    } else if path.starts_with("/data_balikan/") {
        json!({ "message": TEXT }).to_string()
    } else {
        String::from_utf8_lossy(&Page::one(respon(TEXT), None).to_bytes()).into_owned()
    };
    let mut res = json_answer(StatusCode::SERVICE_UNAVAILABLE, body);
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    res
}

fn json_answer(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;

    use tower::ServiceExt;

    use super::*;

    async fn call(gate: &Gate, path: &str) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let res = gate.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Before it opens, every path answers 503 in its API's shape; after, the mock answers.
    #[tokio::test]
    async fn a_closed_gate_answers_503_in_each_shape_then_forwards() {
        let gate = Gate::default();
        let (s, v) = call(&gate, "/healthz").await;
        assert_eq!(
            (s, v),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "starting"})
            )
        );
        let (s, v) = call(&gate, "/dukcapil/get_json/rsud_3313/CALL_NIK").await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            v["content"][0]["RESPON"]
                .as_str()
                .unwrap()
                .contains("starting"),
            "{v}"
        );
        let (_, v) = call(&gate, "/__admin/journal").await;
        assert!(v["error"].is_string(), "{v}");
        let (_, v) = call(&gate, "/data_balikan/public/api/store").await;
        assert!(v["message"].is_string(), "{v}");
        gate.open(Router::new().fallback(healthz));
        let (s, v) = call(&gate, "/anything").await;
        assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
    }
}
