//! The application over real sockets with a real SQLite file: the binary is started as a
//! process. Tests that need the Dukcapil mock gateway are `#[ignore]`d until
//! `mock-server serve` exists; run them with `RSUD_APP_TEST_MOCK_URL=http://127.0.0.1:PORT
//! RSUD_APP_TEST_NIK=<a NIK the mock knows> cargo test -p rsud-app -- --ignored`.

mod common;

use common::{dead_gateway, RsudApp, PASSWORD};
use reqwest::blocking::Client;
use serde_json::{json, Value};

#[test]
fn login_and_api_errors_are_clear_json() {
    let app = RsudApp::start(&dead_gateway(), "");
    let c = app.client();
    let h: Value = c
        .get(format!("{}/healthz", app.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(h["status"], "ok");

    let (s, v) = app.post(&c, "/api/lookup", json!({"nik": "3313014107890003"}));
    assert_eq!((s, v["status"].as_str()), (401, Some("unauthorized")));

    let (s, v) = app.post(
        &c,
        "/api/login",
        json!({"username": "petugas.a", "password": "salah"}),
    );
    assert_eq!((s, v["status"].as_str()), (401, Some("login_failed")));

    let r = c
        .post(format!("{}/api/login", app.url))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["status"], "invalid_input");

    // Bearer token works as well as the cookie.
    let (s, v) = app.post(
        &c,
        "/api/login",
        json!({"username": "petugas.b", "password": "sandi-b"}),
    );
    assert_eq!(s, 200);
    let token = v["token"].as_str().unwrap().to_string();
    let r = Client::new()
        .post(format!("{}/api/lookup", app.url))
        .bearer_auth(&token)
        .json(&json!({"nik": ""}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(v["status"], "invalid_input");
    assert!(v["message"].as_str().unwrap().contains("NIK"));
}

#[test]
fn unreachable_gateway_gives_a_clear_message_and_the_app_keeps_serving() {
    let app = RsudApp::start(&dead_gateway(), "");
    let c = app.login("petugas.a", "sandi-a");
    for _ in 0..2 {
        let (s, v) = app.post(&c, "/api/lookup", json!({"nik": "3313014107890003"}));
        assert_eq!(s, 200);
        assert_eq!(v["status"], "gateway_error");
        assert!(v.get("resident").is_none());
        let m = v["message"].as_str().unwrap();
        assert!(
            m.contains("tidak dapat dihubungi") && m.contains("3 percobaan"),
            "{m}"
        );
    }
    // The HTML page says the same, and shows no resident table.
    let page = c
        .post(format!("{}/cari", app.url))
        .form(&[("nik", "3313014107890003")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("data-status=\"gateway_error\""), "{page}");
    assert!(!page.contains("data-penduduk"));

    let log = app.log();
    // 1 first attempt + 2 retries, per lookup (3 lookups).
    assert_eq!(log.matches("CALL_NIK failed").count(), 9, "{log}");
    assert!(log.contains("3313**********03"));
    assert!(!log.contains("3313014107890003"), "NIK unmasked in log");
    assert!(!log.contains(PASSWORD), "password in log");
    let h = c.get(format!("{}/healthz", app.url)).send().unwrap();
    assert_eq!(h.status(), 200);
}

#[test]
fn registration_and_death_are_stored_without_balikan_for_never_found_niks() {
    let app = RsudApp::start(&dead_gateway(), "");
    let c = app.login("petugas.a", "sandi-a");
    let (s, v) = app.post(
        &c,
        "/api/patients",
        json!({"nik": "3313014107890003", "gol_darah": "O"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "registered");
    assert_eq!(v["no_rm"], "RM-000001");
    assert_eq!(v["balikan"], "not_owed");

    // A second visit keeps the medical-record number.
    let (_, v) = app.post(&c, "/api/patients", json!({"nik": "3313014107890003"}));
    assert_eq!(v["no_rm"], "RM-000001");
    let (s, v) = app.post(
        &c,
        "/api/patients",
        json!({"nik": "3313014107890003", "gol_darah": "Z"}),
    );
    assert_eq!((s, v["status"].as_str()), (400, Some("invalid_input")));

    let (s, v) = app.post(
        &c,
        "/api/deaths",
        json!({"nik": "3313014107890003", "certificate": ""}),
    );
    assert_eq!((s, v["status"].as_str()), (400, Some("invalid_input")));
    let (s, v) = app.post(
        &c,
        "/api/deaths",
        json!({"nik": "3313014107890003", "certificate": "474.3/SKK/2026/001"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["no_rm"].as_str()),
        (Some("recorded"), Some("RM-000001"))
    );

    let db = rusqlite_count(&app.db(), "SELECT count(*) FROM deaths");
    assert_eq!(db, 1);
    assert_eq!(rusqlite_count(&app.db(), "SELECT count(*) FROM visits"), 2);
}

#[test]
fn log_password_defect_writes_the_password() {
    let app = RsudApp::start(&dead_gateway(), "log-password");
    let c = app.login("petugas.a", "sandi-a");
    let (_, v) = app.post(&c, "/api/lookup", json!({"nik": "3313014107890003"}));
    assert_eq!(v["status"], "gateway_error");
    assert!(app.log().contains(PASSWORD));
}

#[test]
fn html_login_flow_and_pages_are_indonesian() {
    let app = RsudApp::start(&dead_gateway(), "");
    let c = app.client();
    let r = c.get(format!("{}/cari", app.url)).send().unwrap();
    // Redirected to the login page.
    let page = r.text().unwrap();
    assert!(page.contains("Kata sandi"), "{page}");
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[("username", "petugas.a"), ("password", "salah")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("salah"));
    let page = c
        .post(format!("{}/login", app.url))
        .form(&[("username", "petugas.a"), ("password", "sandi-a")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("Cari ke Dukcapil") && page.contains("petugas.a"),
        "{page}"
    );
    for path in ["/pasien", "/kematian"] {
        let p = c
            .get(format!("{}{path}", app.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(p.contains("NIK"), "{path}");
    }
    // Escaping: operator input is never markup.
    let p = c
        .post(format!("{}/cari", app.url))
        .form(&[("nik", "<script>")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !p.contains("<script>") && p.contains("&lt;script&gt;"),
        "{p}"
    );
}

fn rusqlite_count(db: &std::path::Path, sql: &str) -> i64 {
    // The sqlite3 CLI may be absent; read through the app's own dependency instead.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

// ---------- against the mock gateway ----------

fn mock() -> (String, String) {
    let url = std::env::var("RSUD_APP_TEST_MOCK_URL").expect("RSUD_APP_TEST_MOCK_URL");
    let nik = std::env::var("RSUD_APP_TEST_NIK").expect("RSUD_APP_TEST_NIK");
    (url, nik)
}

#[test]
#[ignore = "needs a running mock-server (RSUD_APP_TEST_MOCK_URL, RSUD_APP_TEST_NIK)"]
fn against_mock_lookup_shows_only_granted_fields_and_sends_balikan() {
    let (url, nik) = mock();
    let app = RsudApp::start(&url, "");
    let c = app.login("petugas.a", "sandi-a");
    let (s, v) = app.post(&c, "/api/lookup", json!({"nik": nik}));
    assert_eq!(s, 200);
    assert_eq!(v["status"], "found", "{v}");
    let granted = dukcapil_domain::Agreement::embedded()
        .into_iter()
        .find(|a| a.id == "rsud-karanganyar")
        .unwrap()
        .granted;
    for key in v["resident"].as_object().unwrap().keys() {
        let f = dukcapil_domain::Field::from_wire(key).unwrap();
        assert!(granted.contains(f), "{key}");
    }
    assert_eq!(v["resident"]["NIK"], nik.as_str());
    let (s, v) = app.post(&c, "/api/patients", json!({"nik": nik, "gol_darah": "O"}));
    assert_eq!(s, 200);
    assert_eq!(v["balikan"], "sent", "{v}");
    let (_, v) = app.post(&c, "/api/lookup", json!({"nik": "3313019999999999"}));
    assert_ne!(v["status"], "found");
}

/// What the app sent is visible without a gateway through the `log-password` defect, which
/// logs each request body: used here to see `User_ID` and the number of calls per lookup.
#[test]
fn request_shape_per_defect_seen_through_the_request_log() {
    let nik = "3313014107890003";
    let cases: &[(&str, &str)] = &[
        ("", r#""User_ID":"petugas.a""#),
        ("constant-user-id", r#""User_ID":"simrs""#),
        ("institutional-user-id", r#""User_ID":"rsud_3313""#),
    ];
    for (defect, expect) in cases {
        let app = RsudApp::start(&dead_gateway(), &format!("log-password,{defect}"));
        let c = app.login("petugas.a", "sandi-a");
        app.post(&c, "/api/lookup", json!({"nik": nik}));
        let log = app.log();
        let requests: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CALL_NIK request"))
            .collect();
        assert_eq!(requests.len(), 1, "{defect}: one lookup\n{log}");
        assert_eq!(
            log.matches("CALL_NIK failed").count(),
            3,
            "first attempt + 2 retries"
        );
        assert!(
            requests.iter().all(|l| l.contains(expect)),
            "{defect}: {log}"
        );
    }

    let app = RsudApp::start(&dead_gateway(), "log-password,no-user-id");
    let c = app.login("petugas.a", "sandi-a");
    app.post(&c, "/api/lookup", json!({"nik": nik}));
    let log = app.log();
    assert!(
        log.contains("CALL_NIK request") && !log.contains("User_ID"),
        "{log}"
    );

    let app = RsudApp::start(&dead_gateway(), "double-call");
    let c = app.login("petugas.a", "sandi-a");
    app.post(&c, "/api/lookup", json!({"nik": nik}));
    assert_eq!(app.log().matches("CALL_NIK failed").count(), 6);
}

#[test]
fn sequential_job_defect_looks_up_the_following_niks() {
    let app = RsudApp::start(&dead_gateway(), "sequential-job");
    let c = app.login("petugas.a", "sandi-a");
    app.post(&c, "/api/lookup", json!({"nik": "3313014107890003"}));
    // The job runs after the answer; wait for its fifth NIK (each gives up after 3 attempts).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app.log().contains("3313**********08") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let log = app.log();
    for masked in ["04", "05", "06", "07", "08"] {
        assert!(
            log.contains(&format!("3313**********{masked}")),
            "{masked}\n{log}"
        );
    }
}

#[test]
fn unbounded_retry_defect_exceeds_the_bound() {
    let app = RsudApp::start(&dead_gateway(), "unbounded-retry");
    let c = app.login("petugas.a", "sandi-a");
    // The app is still retrying when the client gives up after 4 s (the compliant app
    // answers after 3 attempts, well within 1 s against a closed port).
    let url = app.url.clone();
    let handle = std::thread::spawn(move || {
        c.post(format!("{url}/api/lookup"))
            .timeout(std::time::Duration::from_secs(4))
            .json(&json!({"nik": "3313014107890003"}))
            .send()
            .is_err()
    });
    assert!(
        handle.join().unwrap(),
        "the lookup should still be retrying after 4 s"
    );
    let failures = app.log().matches("CALL_NIK failed").count();
    assert!(failures > 3, "{failures} attempts");
}
