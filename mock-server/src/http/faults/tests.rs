//! The fault layer and admin routes over real sockets: an axum server on 127.0.0.1:0 whose
//! gateway routes are a fixed-answer handler (the layer's subject is what happens around the
//! handler), observed by reqwest and by a raw TCP client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use dukcapil_domain::Agreement;
use serde_json::{json, Value};

use super::layer::{self, *};
use super::meta::*;
use crate::core::faults::*;
use crate::http::admin;

/// A record-sized answer like the gateway's page envelope.
fn answer() -> Value {
    json!({"content":[{"NIK":3313014107890003u64,"NAMA_LGKP":"SRI LESTARI","ALAMAT":"DUSUN KRAJAN",
        "KAB_NAME":"KARANGANYAR","KEC_NAME":"JATIPURO","KEL_NAME":"JATIPURO","NO_RT":2,"NO_RW":5}],
        "lastPage":true,"numberOfElements":1,"sort":null,"totalElements":1,"firstPage":true,"number":0,"size":1})
}

struct Server {
    addr: SocketAddr,
    client: reqwest::Client,
    /// What an outer layer (the journal's place) saw as the applied fault, one entry per request.
    journal: Arc<Mutex<Vec<Option<String>>>>,
    /// Requests that reached the handler.
    handled: Arc<Mutex<u32>>,
    /// What the layer asked to journal for requests the handler never saw.
    short: Arc<Mutex<Vec<layer::ShortCircuit>>>,
}

#[derive(Debug)]
struct TestJournal(Arc<Mutex<Vec<layer::ShortCircuit>>>);

impl layer::FaultJournal for TestJournal {
    fn record(
        &self,
        entry: layer::ShortCircuit,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(entry);
        Box::pin(async {})
    }
}

async fn start() -> Server {
    let engine = FaultEngine::new(11);
    let directory = Directory::from_agreements(&Agreement::embedded());
    let handled = Arc::new(Mutex::new(0u32));
    let h = handled.clone();
    let handler = move || {
        let h = h.clone();
        async move {
            *h.lock().unwrap() += 1;
            Json(answer())
        }
    };
    let gateway = Router::new()
        .route(
            "/dukcapil/get_json/{customer}/{method}",
            post(handler.clone()),
        )
        .route(
            "/dukcapil/get_json/{region}/{customer}/{method}",
            post(handler.clone()),
        )
        .route("/data_balikan/public/api/store", post(handler));
    let short = Arc::new(Mutex::new(Vec::new()));
    let mut layer_state = FaultLayerState::new(engine.clone(), directory);
    layer_state.journal = Some(Arc::new(TestJournal(short.clone())));
    let gateway = with_faults(gateway, layer_state);
    let journal = Arc::new(Mutex::new(Vec::new()));
    let j = journal.clone();
    let app = gateway
        .nest(
            "/__admin",
            admin::faults::routes::<FaultEngine>()
                .with_state(engine)
                // No admin guard here: every call is the sandbox operator's.
                .layer(axum::Extension(admin::Scope::Operator)),
        )
        .layer(from_fn(move |req: Request, next: Next| {
            let j = j.clone();
            async move {
                let resp: Response = next.run(req).await;
                j.lock().unwrap().push(
                    resp.extensions()
                        .get::<AppliedFault>()
                        .map(|f| f.to_string()),
                );
                resp
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        client: reqwest::Client::new(),
        journal,
        handled,
        short,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn add(&self, rule: Value) -> u64 {
        let resp = self
            .client
            .post(self.url("/__admin/faults"))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{rule}");
        resp.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
    }

    async fn lookup(
        &self,
        customer: &str,
        nik: &str,
        operator: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut body =
            json!({"nik": nik, "user_id": customer, "password": "x", "ip_user": "127.0.0.1"});
        if let Some(op) = operator {
            body["User_ID"] = json!(op);
        }
        self.client
            .post(self.url(&format!("/dukcapil/get_json/{customer}/CALL_NIK")))
            .json(&body)
            .send()
            .await
    }

    async fn lookup_status(&self, customer: &str, nik: &str, operator: Option<&str>) -> u16 {
        self.lookup(customer, nik, operator)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn last_journal(&self) -> Option<String> {
        self.journal.lock().unwrap().last().cloned().flatten()
    }
}

const NIK: &str = "3313014107890003";

#[tokio::test]
async fn no_rules_passes_through() {
    let s = start().await;
    let resp = s.lookup("rsud_3313", NIK, None).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), answer());
    assert_eq!(s.last_journal(), None);
}

#[tokio::test]
async fn delay_is_at_least_the_delay() {
    let s = start().await;
    s.add(json!({"endpoint":"call_nik","action":{"type":"delay","ms":300}}))
        .await;
    let t = Instant::now();
    let resp = s.lookup("rsud_3313", NIK, None).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        answer(),
        "a delayed answer is the real one"
    );
    assert_eq!(s.last_journal().as_deref(), Some("rule 1: delay 300ms"));
    assert!(
        s.short.lock().unwrap().is_empty(),
        "a client that waited is journaled by the handler, not by the layer"
    );
}

/// A client that times out during a delay closes its connection and hyper drops the request's
/// future: the attempt is still journaled, with its operator and NIK, and the handler never runs.
#[tokio::test]
async fn a_client_that_gives_up_during_a_delay_is_still_journaled() {
    let s = start().await;
    s.add(json!({"endpoint":"call_nik","action":{"type":"delay","ms":5000}}))
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let body =
        json!({"nik": NIK, "user_id": "rsud_3313", "password": "x", "User_ID": "perawat.sri"});
    let err = impatient
        .post(s.url("/dukcapil/get_json/rsud_3313/CALL_NIK"))
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The row is written by a task spawned when the connection's future is dropped.
    let t = Instant::now();
    while s.short.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(4) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let short = s.short.lock().unwrap().clone();
    assert_eq!(short.len(), 1, "{short:?}");
    let e = &short[0];
    assert_eq!(e.http_status, None);
    assert_eq!(e.client_left_during, Some(Duration::from_millis(5000)));
    assert_eq!(e.endpoint_name, "CALL_NIK");
    assert_eq!(e.meta.niks, vec![NIK.to_string()]);
    assert_eq!(e.meta.operator.as_deref(), Some("perawat.sri"));
    assert!(
        e.started.elapsed() < Duration::from_secs(4),
        "journaled when the client left, not when the delay ended"
    );
    assert_eq!(*s.handled.lock().unwrap(), 0, "the gateway never saw it");
}

#[tokio::test]
async fn each_status_with_a_realistic_body_and_no_handler_call() {
    let s = start().await;
    for (code, needle, content_type) in [
        (
            500,
            "\"error\":\"Internal Server Error\"",
            "application/json",
        ),
        (502, "<title>502 Bad Gateway</title>", "text/html"),
        (
            503,
            "<title>503 Service Temporarily Unavailable</title>",
            "text/html",
        ),
        (504, "<title>504 Gateway Time-out</title>", "text/html"),
    ] {
        s.client
            .delete(s.url("/__admin/faults"))
            .send()
            .await
            .unwrap();
        s.add(json!({"action":{"type":"status","code":code}})).await;
        let resp = s.lookup("rsud_3313", NIK, None).await.unwrap();
        assert_eq!(resp.status().as_u16(), code);
        assert_eq!(resp.headers()["content-type"], content_type);
        let body = resp.text().await.unwrap();
        assert!(body.contains(needle), "{code}: {body}");
        assert!(s
            .last_journal()
            .unwrap()
            .ends_with(&format!("status {code}")));
    }
    assert_eq!(
        *s.handled.lock().unwrap(),
        0,
        "the gateway never saw the failed requests"
    );
    // Each still reaches the journal hook, with what the client sent.
    let short = s.short.lock().unwrap();
    assert_eq!(short.len(), 4);
    let last = &short[3];
    assert_eq!(last.http_status, Some(504));
    assert_eq!(last.endpoint_name, "CALL_NIK");
    assert_eq!(last.meta.institution.as_deref(), Some("rsud_3313"));
    assert_eq!(last.meta.operator, None);
    assert_eq!(last.meta.niks, [NIK]);
    assert!(last.source.is_some_and(|a| a.ip().is_loopback()));
}

#[tokio::test]
async fn close_drops_the_connection_without_any_response() {
    let s = start().await;
    s.add(json!({"action":{"type":"close"}})).await;
    let err = s.lookup("rsud_3313", NIK, None).await.unwrap_err();
    assert!(!err.is_status() && err.status().is_none(), "{err:?}");

    // On the wire: the request is read, then the socket ends with not one byte of HTTP.
    let addr = s.addr;
    let raw = tokio::task::spawn_blocking(move || {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = format!(r#"{{"nik":"{NIK}"}}"#);
        let req = format!(
            "POST /dukcapil/get_json/rsud_3313/CALL_NIK HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(req.as_bytes()).unwrap();
        let mut got = Vec::new();
        let outcome = sock.read_to_end(&mut got);
        (outcome.map_err(|e| e.kind()), got)
    })
    .await
    .unwrap();
    match raw {
        (Ok(0), _) => {}
        (Err(kind), got) => {
            assert!(got.is_empty());
            assert!(
                matches!(
                    kind,
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ),
                "{kind:?}"
            );
        }
        (Ok(_), got) => panic!(
            "expected no answer, got {:?}",
            String::from_utf8_lossy(&got)
        ),
    }
    assert_eq!(s.last_journal().as_deref(), Some("rule 1: close"));
    let short = s.short.lock().unwrap();
    assert!(short.len() == 2 && short.iter().all(|e| e.http_status.is_none()));
}

#[tokio::test]
async fn truncated_json_fails_to_parse() {
    let s = start().await;
    s.add(json!({"action":{"type":"truncate","keep_percent":60}}))
        .await;
    let resp = s.lookup("rsud_3313", NIK, None).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    let full = serde_json::to_vec(&answer()).unwrap();
    assert!(
        body.len() < full.len() && full.starts_with(&body),
        "a prefix of the real answer"
    );
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert_eq!(s.last_journal().as_deref(), Some("rule 1: truncate to 60%"));
}

#[tokio::test]
async fn trickle_delivers_the_whole_answer_slowly() {
    let s = start().await;
    s.add(json!({"action":{"type":"trickle","chunk_bytes":64,"pause_ms":60}}))
        .await;
    let full = serde_json::to_vec(&answer()).unwrap();
    let pauses = (full.len().div_ceil(64) - 1) as u32;
    let t = Instant::now();
    let resp = s.lookup("rsud_3313", NIK, None).await.unwrap();
    let body = resp.bytes().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(60) * pauses,
        "{:?} for {pauses} pauses",
        t.elapsed()
    );
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), answer());
}

#[tokio::test]
async fn times_and_nth_and_listing() {
    let s = start().await;
    let id = s
        .add(json!({"nth":{"every":2},"times":2,"action":{"type":"status","code":503}}))
        .await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        codes.push(s.lookup_status("rsud_3313", NIK, None).await);
    }
    assert_eq!(codes, [200, 503, 200, 503, 200, 200, 200]);
    let listed: Value = s
        .client
        .get(s.url("/__admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = &listed["faults"][0];
    assert_eq!(rule["id"], id);
    assert_eq!(
        (rule["applied"].as_u64(), rule["retired"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(rule["action"], json!({"type":"status","code":503}));

    s.add(json!({"nth":{"at":3},"action":{"type":"status","code":500}}))
        .await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(s.lookup_status("rsud_3313", NIK, None).await);
    }
    assert_eq!(got, [200, 200, 500, 200]);
}

#[tokio::test]
async fn matches_nik_operator_and_institution() {
    let s = start().await;
    s.add(json!({"nik":"3313014107890011","action":{"type":"status","code":502}}))
        .await;
    s.add(json!({"operator":"petugas.02","action":{"type":"status","code":503}}))
        .await;
    s.add(json!({"institution":"dinkes_3313","endpoint":"call_nik","action":{"type":"status","code":504}})).await;
    assert_eq!(
        s.lookup_status("rsud_3313", NIK, Some("petugas.01")).await,
        200
    );
    assert_eq!(
        s.lookup_status("rsud_3313", "3313014107890011", None).await,
        502
    );
    assert_eq!(
        s.lookup_status("rsud_3313", NIK, Some("petugas.02")).await,
        503
    );
    assert_eq!(s.lookup_status("DINKES_3313", NIK, None).await, 504);
    // The regional path form and the query form are read too.
    let url = s.url(
        "/dukcapil/get_json/33-13/rsud_3313/call_nik?USER_ID=a&PASSWORD=b&NIK=3313014107890011",
    );
    assert_eq!(s.client.post(url).send().await.unwrap().status(), 502);
    // Data balikan: the token names the institution; any NIK of the batch matches.
    s.client
        .delete(s.url("/__admin/faults"))
        .send()
        .await
        .unwrap();
    s.add(json!({"endpoint":"balikan_store","institution":"rsud_3313","nik":"3313014107890011","action":{"type":"status","code":500}})).await;
    let token = Agreement::embedded()
        .into_iter()
        .find(|a| a.customer_id == "rsud_3313")
        .unwrap()
        .credentials
        .balikan_token;
    let store = |nik: &str| {
        s.client
            .post(s.url("/data_balikan/public/api/store"))
            .bearer_auth(&token)
            .json(&json!([{"id_lembaga":"rsud_3313","data":[{"NIK":NIK,"param":[]},{"NIK":nik,"param":[]}]}]))
            .send()
    };
    assert_eq!(store("3313014107890011").await.unwrap().status(), 500);
    assert_eq!(store("3313014107890012").await.unwrap().status(), 200);
}

#[tokio::test]
async fn large_bodies_pass_through_unread() {
    let s = start().await;
    s.add(json!({"nik":NIK,"action":{"type":"close"}})).await;
    // Over the inspection limit: the layer cannot read it, so it does not match, and the
    // handler still receives the request (its body intact is the gateway's business).
    let big = json!({"nik": NIK, "pad": "x".repeat(DEFAULT_BODY_LIMIT)});
    let resp = s
        .client
        .post(s.url("/dukcapil/get_json/rsud_3313/CALL_NIK"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn admin_validation_and_removal() {
    let s = start().await;
    let bad = s
        .client
        .post(s.url("/__admin/faults"))
        .json(&json!({"probability":2,"action":{"type":"close"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "probability");
    let bad = s
        .client
        .post(s.url("/__admin/faults"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    let a = s.add(json!({"action":{"type":"status","code":500}})).await;
    let b = s.add(json!({"action":{"type":"status","code":502}})).await;
    assert_eq!(
        s.client
            .delete(s.url(&format!("/__admin/faults/{a}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        s.client
            .delete(s.url(&format!("/__admin/faults/{a}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        s.client
            .delete(s.url("/__admin/faults/abc"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(s.lookup_status("rsud_3313", NIK, None).await, 502);
    let got: Value = s
        .client
        .get(s.url(&format!("/__admin/faults/{b}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["applied"], 1);
    let cleared: Value = s
        .client
        .delete(s.url("/__admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["removed"], 1);
    assert_eq!(s.lookup_status("rsud_3313", NIK, None).await, 200);
    // Admin paths are never faulted.
    s.add(json!({"action":{"type":"close"}})).await;
    assert_eq!(
        s.client
            .get(s.url("/__admin/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
