//! Fuzzing over a real socket against the real binary: a smaller number of proptest cases than the
//! in-process properties in `mock-server` (`cargo test -p mock-server fuzz`), plus hostile inputs
//! only a socket can deliver (not HTTP at all, a body cut off mid-way, a body far beyond the cap).
//! Properties: never a 5xx, always the gateway envelope with a known outcome, one journal row per
//! request, and the server keeps serving. `PROPTEST_CASES` raises the case count.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dukcapil_domain::ResidentStatus;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::support::{load_client, Answer, MockServer, RSUD};

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The newest journal row's id (0 when empty).
fn newest_id(s: &MockServer) -> i64 {
    s.journal("limit=1")
        .first()
        .and_then(|r| r["id"].as_i64())
        .unwrap_or(0)
}

/// Sends one request; checks status, envelope and the new journal row.
fn check(
    s: &MockServer,
    client: &reqwest::blocking::Client,
    path: &str,
    body: Vec<u8>,
) -> Result<(), TestCaseError> {
    let before = newest_id(s);
    let res = client
        .post(s.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .map_err(|e| TestCaseError::fail(format!("{path}: no answer: {e}")))?;
    let status = res.status().as_u16();
    let text = res.text().unwrap_or_default();
    prop_assert!(status < 500, "{path}: HTTP {status}: {text}");
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{path}: not JSON ({e}): {text}")))?;
    let answer = Answer::of(&v);
    prop_assert!(
        !matches!(answer, Answer::Other(_)),
        "{path}: not the envelope: {text}"
    );
    let rows = s.journal("limit=1");
    let row = rows
        .first()
        .ok_or_else(|| TestCaseError::fail("no journal row"))?;
    prop_assert_eq!(row["id"].as_i64(), Some(before + 1), "one row per request");
    prop_assert_eq!(row["http_status"].as_u64(), Some(u64::from(status)));
    match answer {
        Answer::Code(code) => prop_assert_eq!(row["outcome"].as_str(), Some(code.as_str())),
        Answer::Data(_) => prop_assert_eq!(row["outcome"].as_str(), Some("01")),
        Answer::Other(_) => unreachable!(),
    }
    Ok(())
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "/dukcapil/get_json/rsud_3313/CALL_NIK",
            "/dukcapil/get_json/33-13/rsud_3313/call_nik",
            "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN",
        ])
        .prop_map(String::from),
        1 => "[A-Za-z0-9_-]{0,10}".prop_map(|m| format!("/dukcapil/get_json/rsud_3313/{m}")),
    ]
}

const KEYS: &[&str] = &[
    "nik",
    "NIK",
    "user_id",
    "USER_ID",
    "password",
    "PASSWORD",
    "ip_user",
    "IP_USER",
    "User_ID",
    "TRESHOLD",
    "NAMA_LGKP",
    "TGL_LHR",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body(nik: String) -> impl Strategy<Value = Vec<u8>> {
    let structured =
        prop::collection::vec((prop::sample::select(KEYS.to_vec()), json_value()), 0..4).prop_map(
            move |changes| {
                let mut m = RSUD
                    .body(&nik, "petugas.fuzz")
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                for (k, v) in changes {
                    m.insert(k.to_string(), v);
                }
                Value::Object(m).to_string().into_bytes()
            },
        );
    prop_oneof![
        2 => structured,
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
}

#[test]
fn fuzz_bodies_over_a_socket() {
    let s = MockServer::start(&[]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    runner()
        .run(&(path(), body(nik)), |(path, body)| {
            check(&s, &client, &path, body)
        })
        .unwrap();
}

#[test]
fn fuzz_query_strings_over_a_socket() {
    let s = MockServer::start(&[]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let value = prop_oneof![
        "\\PC{0,12}",
        Just(nik),
        prop::sample::select(vec!["rsud_3313", "dummy-rsud-3313", "127.0.0.1"])
            .prop_map(String::from),
    ];
    let pairs = prop::collection::vec((prop::sample::select(KEYS.to_vec()), value), 0..6);
    runner()
        .run(&(path(), pairs), |(path, pairs)| {
            let q: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let enc: String = v
                        .bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() {
                                (b as char).to_string()
                            } else {
                                format!("%{b:02X}")
                            }
                        })
                        .collect();
                    format!("{k}={enc}")
                })
                .collect();
            check(&s, &client, &format!("{path}?{}", q.join("&")), Vec::new())
        })
        .unwrap();
}

/// Writes raw bytes to the server and reads whatever comes back until it closes or goes quiet.
fn raw(s: &MockServer, bytes: &[u8]) -> String {
    let host = s.base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(host).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = tcp.write_all(bytes);
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn hostile_transport_inputs_leave_the_server_serving() {
    let s = MockServer::start(&[]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let path = RSUD.lookup_path();

    // Not HTTP at all: no 5xx, no crash.
    for junk in [
        b"\x00\x01\x02\xff\xfe garbage\r\n\r\n".as_slice(),
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /dukcapil/get_json/rsud_3313/CALL_NIK HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on plain HTTP
    ] {
        let answer = raw(&s, junk);
        assert!(!answer.starts_with("HTTP/1.1 5"), "{answer}");
    }

    // A body cut off mid-way (Content-Length larger than what is sent): the request is still
    // journaled as unreadable.
    let before = newest_id(&s);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"nik\":\"{nik}\""
    );
    let _ = raw(&s, head.as_bytes());
    let mut journaled = false;
    for _ in 0..100 {
        if newest_id(&s) == before + 1 {
            journaled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(journaled, "a cut-off request must be journaled");
    let row = &s.journal("limit=1")[0];
    assert_eq!(row["outcome"], "07", "{row}");

    // Far beyond the body cap (64 KiB): 07 in the envelope and a row saying why.
    let mut big = RSUD.body(&nik, "petugas.big");
    big["padding"] = json!("x".repeat(1 << 20));
    let (status, v) = s.request(
        &client,
        "POST",
        &path,
        Some(big.to_string().into_bytes()),
        None,
    );
    assert_eq!((status, Answer::of(&v)), (200, Answer::code("07")), "{v}");
    let row = &s.journal("limit=1")[0];
    assert!(
        row["detail"].as_str().unwrap_or("").contains("larger"),
        "{row}"
    );

    // Invalid UTF-8 inside a JSON string.
    let (status, v) = s.request(
        &client,
        "POST",
        &path,
        Some(b"{\"nik\":\"\xc3\x28\",\"user_id\":\"rsud_3313\"}".to_vec()),
        None,
    );
    assert_eq!((status, Answer::of(&v)), (200, Answer::code("07")), "{v}");

    // Still serving.
    assert!(s.lookup(&client, &RSUD, &nik, "after-hostile").is_data());
    assert!(s.is_running());
}
