//! Fault injection over real sockets: `mock-server serve` as a process, rules added through
//! `/__admin/faults` or the settings file, observed by a real HTTP client and a raw TCP socket,
//! and the journal row of each faulted request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dukcapil_domain::{Agreement, ResidentStatus};
use serde_json::{json, Value};

use crate::support::{command, MockServer};

const LOOKUP: &str = "/dukcapil/get_json/rsud_3313/CALL_NIK";

fn agreement(customer_id: &str) -> Agreement {
    Agreement::embedded()
        .into_iter()
        .find(|a| a.customer_id == customer_id)
        .expect("agreement")
}

fn body(customer_id: &str, nik: &str, operator: &str) -> Value {
    let c = agreement(customer_id).credentials;
    json!({"nik": nik, "user_id": c.user_id, "password": c.password, "ip_user": c.ip_user,
           "User_ID": operator})
}

fn active_nik(s: &MockServer) -> String {
    s.population()
        .sample_by_status(ResidentStatus::Active, 2)
        .expect("sample")[0]
        .nik
        .to_string()
}

fn add(s: &MockServer, rule: Value) -> u64 {
    let (status, v) = s.admin("POST", "/__admin/faults", Some(rule.clone()));
    assert_eq!(status, 201, "{rule} → {v}");
    v["id"].as_u64().expect("id")
}

fn clear(s: &MockServer) {
    let (status, _) = s.admin("DELETE", "/__admin/faults", None);
    assert_eq!(status, 200);
}

/// POSTs a lookup; status and raw body.
fn lookup(s: &MockServer, customer_id: &str, nik: &str, operator: &str) -> (u16, Vec<u8>) {
    let res = s
        .client()
        .post(s.url(&format!("/dukcapil/get_json/{customer_id}/CALL_NIK")))
        .json(&body(customer_id, nik, operator))
        .send()
        .expect("request");
    let status = res.status().as_u16();
    (status, res.bytes().expect("body").to_vec())
}

fn status_of(s: &MockServer, customer_id: &str, nik: &str, operator: &str) -> u16 {
    lookup(s, customer_id, nik, operator).0
}

/// The newest journal row.
fn last_row(s: &MockServer) -> Value {
    s.journal("limit=1")
        .into_iter()
        .next()
        .expect("a journal row")
}

#[test]
fn each_action_observed_by_a_client_and_journaled() {
    let s = MockServer::start(&[]);
    let nik = active_nik(&s);

    // Baseline: a found record.
    let (status, plain) = lookup(&s, "rsud_3313", &nik, "petugas.01");
    assert_eq!(status, 200);
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(plain["content"][0]["NIK"].to_string(), nik);
    assert_eq!(last_row(&s)["fault"], Value::Null);

    // Delay: at least the delay, then the real answer, journaled by the gateway with the fault.
    let id = add(
        &s,
        json!({"endpoint":"call_nik","action":{"type":"delay","ms":400}}),
    );
    let t = Instant::now();
    let (status, got) = lookup(&s, "rsud_3313", &nik, "petugas.01");
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_slice::<Value>(&got).unwrap(), plain);
    let row = last_row(&s);
    assert_eq!(row["fault"], format!("rule {id}: delay 400ms"));
    assert_eq!(row["outcome"], "01");
    clear(&s);

    // Each status: the stack's own error page, the gateway never reached (no quota counted).
    for (code, needle) in [
        (500, "\"error\":\"Internal Server Error\""),
        (502, "<title>502 Bad Gateway</title>"),
        (503, "<title>503 Service Temporarily Unavailable</title>"),
        (504, "<title>504 Gateway Time-out</title>"),
    ] {
        clear(&s);
        let id = add(&s, json!({"action":{"type":"status","code":code}}));
        let (status, got) = lookup(&s, "rsud_3313", &nik, "petugas.02");
        assert_eq!(status, code);
        let text = String::from_utf8_lossy(&got);
        assert!(text.contains(needle), "{code}: {text}");
        let row = last_row(&s);
        assert_eq!(row["fault"], format!("rule {id}: status {code}"), "{row}");
        assert_eq!(row["http_status"], code);
        assert_eq!(row["operator"], "petugas.02");
        assert_eq!(row["nik"], nik.as_str());
        assert_eq!(row["customer_id"], "rsud_3313");
    }
    clear(&s);

    // Truncate: HTTP 200 with a prefix of the real answer that is not JSON.
    let id = add(&s, json!({"action":{"type":"truncate","keep_percent":50}}));
    let (status, got) = lookup(&s, "rsud_3313", &nik, "petugas.01");
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&got).is_err());
    let full = serde_json::to_vec(&plain).unwrap();
    assert!(!got.is_empty() && got.len() < full.len());
    assert_eq!(last_row(&s)["fault"], format!("rule {id}: truncate to 50%"));
    clear(&s);

    // Trickle: the whole answer, slowly.
    let id = add(
        &s,
        json!({"action":{"type":"trickle","chunk_bytes":100,"pause_ms":50}}),
    );
    let t = Instant::now();
    let (status, got) = lookup(&s, "rsud_3313", &nik, "petugas.01");
    let pauses = got.len().div_ceil(100) as u32 - 1;
    assert!(pauses >= 2, "a record spans several chunks");
    assert!(t.elapsed() >= Duration::from_millis(50) * pauses);
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_slice::<Value>(&got).unwrap(), plain);
    assert_eq!(
        last_row(&s)["fault"],
        format!("rule {id}: trickle 100 bytes every 50ms")
    );
}

/// An application whose time-out is shorter than the delay gives up and retries: both attempts
/// are in the journal (the first with no answer, stamped when it was sent), or a harness
/// counting retries would see one attempt too few.
#[test]
fn a_timed_out_attempt_and_its_retry_are_both_journaled() {
    let s = MockServer::start(&[]);
    let nik = active_nik(&s);
    let id = add(
        &s,
        json!({"times":1,"endpoint":"call_nik","action":{"type":"delay","ms":10000}}),
    );
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let sent = chrono::Utc::now();
    let err = impatient
        .post(s.url(LOOKUP))
        .json(&body("rsud_3313", &nik, "petugas.07"))
        .send()
        .expect_err("gave up");
    assert!(err.is_timeout(), "{err:?}");
    let (status, _) = lookup(&s, "rsud_3313", &nik, "petugas.07");
    assert_eq!(status, 200, "the retry is answered (the rule was spent)");

    // The first row is written by a task when the connection closes: wait for it briefly.
    let t = Instant::now();
    let rows = loop {
        let rows = s.journal("limit=5");
        if rows.len() >= 2 || t.elapsed() > Duration::from_secs(5) {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(rows.len(), 2, "{rows:#?}");
    // The attempt that timed out is journaled when its connection closes, which may come after
    // the retry's row (stamped at arrival all the same): told apart by their answers, not order.
    let (gave_up, retry) = match rows.iter().position(|r| r["http_status"] == 0) {
        Some(i) => (&rows[i], &rows[1 - i]),
        None => panic!("no row of the attempt that timed out: {rows:#?}"),
    };
    assert_eq!(retry["outcome"], "01");
    assert_eq!(gave_up["fault"], format!("rule {id}: delay 10000ms"));
    assert_eq!(gave_up["http_status"], 0);
    assert_eq!(gave_up["outcome"], "-");
    assert_eq!(gave_up["nik"], nik.as_str());
    assert_eq!(gave_up["operator"], "petugas.07");
    let detail = gave_up["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("client closed the connection"), "{detail}");
    let stamped = chrono::DateTime::parse_from_rfc3339(gave_up["time"].as_str().unwrap()).unwrap();
    let off = (stamped.with_timezone(&chrono::Utc) - sent).num_milliseconds();
    assert!(
        (-1000..250).contains(&off),
        "stamped at arrival, not when the client left: {off} ms after sending"
    );
    // Only the answered attempt reached the gateway and its quota.
    let (_, q) = s.admin("GET", "/__admin/quota/rsud_3313", None);
    assert_eq!(q["used"].as_u64(), Some(1), "{q}");
}

#[test]
fn close_drops_the_connection_without_an_answer() {
    let s = MockServer::start(&[]);
    let nik = active_nik(&s);
    let id = add(&s, json!({"times":2,"action":{"type":"close"}}));

    // A real client: an error, not a response.
    let err = s
        .client()
        .post(s.url(LOOKUP))
        .json(&body("rsud_3313", &nik, "petugas.01"))
        .send()
        .expect_err("no response");
    assert!(err.status().is_none(), "{err:?}");

    // The raw socket: the request is written, then the stream ends with no HTTP byte.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut sock = TcpStream::connect(&addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let payload = body("rsud_3313", &nik, "petugas.01").to_string();
    write!(
        sock,
        "POST {LOOKUP} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut got = Vec::new();
    match sock.read_to_end(&mut got) {
        Ok(0) => {}
        Ok(_) => panic!("an answer: {:?}", String::from_utf8_lossy(&got)),
        Err(e) => {
            assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ),
                "{e:?}"
            );
        }
    }
    let row = last_row(&s);
    assert_eq!(row["fault"], format!("rule {id}: close"));
    assert_eq!(row["nik"], nik.as_str());

    // `times` = 2: spent, retired, the third call is answered.
    let (status, _) = lookup(&s, "rsud_3313", &nik, "petugas.01");
    assert_eq!(status, 200);
    let (_, listed) = s.admin("GET", "/__admin/faults", None);
    let rule = &listed["faults"][0];
    assert_eq!(rule["applied"], 2);
    assert_eq!(rule["retired"], true);
}

#[test]
fn nth_call_and_matching_by_nik_operator_institution() {
    let s = MockServer::start(&[]);
    let niks: Vec<String> = s
        .population()
        .sample_by_status(ResidentStatus::Active, 2)
        .expect("sample")
        .into_iter()
        .map(|r| r.nik.to_string())
        .collect();
    let (a, b) = (&niks[0], &niks[1]);

    // "Every 3rd" call, limited to 2 applications.
    add(
        &s,
        json!({"endpoint":"call_nik","nth":{"every":3},"times":2,"action":{"type":"status","code":503}}),
    );
    let codes: Vec<u16> = (0..8)
        .map(|_| status_of(&s, "rsud_3313", a, "op"))
        .collect();
    assert_eq!(codes, [200, 200, 503, 200, 200, 503, 200, 200]);
    clear(&s);

    // "The 2nd" call only.
    add(
        &s,
        json!({"nth":{"at":2},"action":{"type":"status","code":500}}),
    );
    let codes: Vec<u16> = (0..4)
        .map(|_| status_of(&s, "rsud_3313", a, "op"))
        .collect();
    assert_eq!(codes, [200, 500, 200, 200]);
    clear(&s);

    add(&s, json!({"nik": b, "action":{"type":"status","code":502}}));
    add(
        &s,
        json!({"operator":"petugas.malam","action":{"type":"status","code":503}}),
    );
    add(
        &s,
        json!({"institution":"dinkes_3313","action":{"type":"status","code":504}}),
    );
    assert_eq!(status_of(&s, "rsud_3313", a, "petugas.pagi"), 200);
    assert_eq!(status_of(&s, "rsud_3313", b, "petugas.pagi"), 502);
    assert_eq!(status_of(&s, "rsud_3313", a, "petugas.malam"), 503);
    assert_eq!(status_of(&s, "dinkes_3313", a, "petugas.pagi"), 504);
    // Verification is matched too (endpoint any).
    let c = agreement("rsud_3313").credentials;
    let res = s
        .client()
        .post(s.url("/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN"))
        .json(
            &json!({"NIK": b, "USER_ID": c.user_id, "PASSWORD": c.password, "IP_USER": c.ip_user}),
        )
        .send()
        .unwrap();
    assert_eq!(res.status(), 502);
}

#[test]
fn seeded_probability_replays_across_servers() {
    let run = || {
        let s = MockServer::start(&[]);
        let nik = active_nik(&s);
        add(
            &s,
            json!({"probability":0.5,"seed":42,"action":{"type":"status","code":503}}),
        );
        (0..16)
            .map(|_| status_of(&s, "rsud_3313", &nik, "op"))
            .collect::<Vec<u16>>()
    };
    let first = run();
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    assert_eq!(first, run());
}

#[test]
fn rules_from_the_settings_file_and_admin_validation() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        "[[faults]]\nendpoint = \"call_nik\"\nnth = { at = 1 }\naction = { type = \"status\", code = 502 }\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let s = MockServer::start_in(&data, &["--config", config.to_str().unwrap()]);
    let nik = active_nik(&s);
    assert_eq!(status_of(&s, "rsud_3313", &nik, "op"), 502);
    assert_eq!(status_of(&s, "rsud_3313", &nik, "op"), 200);

    // The admin surface: token required, 422 naming the field, 404 for unknown ids.
    let res = s.client().get(s.url("/__admin/faults")).send().unwrap();
    assert_eq!(res.status(), 401);
    let (status, v) = s.admin(
        "POST",
        "/__admin/faults",
        Some(json!({"probability": 1.5, "action": {"type": "close"}})),
    );
    assert_eq!((status, v["field"].as_str()), (422, Some("probability")));
    let (status, v) = s.admin(
        "POST",
        "/__admin/faults",
        Some(json!({"action": {"type": "status", "code": 404}})),
    );
    assert_eq!((status, v["field"].as_str()), (422, Some("action.code")));
    let (status, _) = s.admin("DELETE", "/__admin/faults/999", None);
    assert_eq!(status, 404);
    let (status, _) = s.admin("DELETE", "/__admin/faults/1", None);
    assert_eq!(status, 204);
    drop(s);

    // A bad rule in the file stops the start with the field named.
    std::fs::write(
        &config,
        "[[faults]]\naction = { type = \"delay\", min_ms = 50 }\n",
    )
    .unwrap();
    let out = command("mock-server")
        .args(["serve", "--listen", "127.0.0.1:0", "--population", "100"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("faults[0].action.max_ms"), "{err}");
}
