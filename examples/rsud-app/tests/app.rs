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

/// A `mock-server serve` started from `RSUD_APP_TEST_MOCK_BIN` on a free port with a small
/// population in a temp dir.
struct Mock {
    child: std::process::Child,
    url: String,
    dir: tempfile::TempDir,
}

const ADMIN: &str = "test-admin-token";

impl Mock {
    fn start() -> Mock {
        use std::io::BufRead;
        let bin = std::env::var("RSUD_APP_TEST_MOCK_BIN").expect("RSUD_APP_TEST_MOCK_BIN");
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--population", "300"])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--admin-token", ADMIN])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        for line in (&mut out).lines() {
            let line = line.unwrap();
            if let Some(u) = line.strip_prefix("listening on ") {
                url = u.trim().to_string();
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Mock { child, url, dir }
    }

    /// A NIK of an active resident: read from the population file the mock generated in
    /// its data dir (`mock-server residents` is not implemented yet).
    fn active_nik(&self) -> String {
        let file = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("population-")
            })
            .expect("population file in the mock's data dir");
        let conn = rusqlite::Connection::open(file).unwrap();
        let nik: i64 = conn
            .query_row(
                "SELECT nik FROM resident WHERE status = 0 LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        format!("{nik:016}")
    }

    fn admin(&self) -> Client {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
        Client::builder().default_headers(h).build().unwrap()
    }

    fn journal(&self) -> Vec<Value> {
        let v: Value = self
            .admin()
            .get(format!("{}/__admin/journal?limit=1000", self.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["rows"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the mock binary: RSUD_APP_TEST_MOCK_BIN=target/debug/mock-server"]
fn against_mock_lookup_user_id_balikan_and_quota() {
    let mock = Mock::start();
    let nik = mock.active_nik();
    let app = RsudApp::start(&mock.url, "");
    let a = app.login("petugas.a", "sandi-a");
    let b = app.login("petugas.b", "sandi-b");

    let (s, v) = app.post(&a, "/api/lookup", json!({"nik": nik}));
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
    let (_, v) = app.post(&b, "/api/lookup", json!({"nik": "3313019999999999"}));
    assert_ne!(v["status"], "found", "{v}");
    assert!(v["respon"].is_string(), "{v}");

    // Each lookup reached the mock once, carrying its own operator.
    let rows = mock.journal();
    let ops: Vec<String> = rows
        .iter()
        .filter(|r| {
            r["endpoint"]
                .as_str()
                .unwrap_or_default()
                .ends_with("CALL_NIK")
        })
        .map(|r| r["operator"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ops.len(), 2, "{rows:?}");
    assert!(
        ops.contains(&"petugas.a".to_string()) && ops.contains(&"petugas.b".to_string()),
        "{ops:?}"
    );

    let (s, v) = app.post(&a, "/api/patients", json!({"nik": nik, "gol_darah": "O"}));
    assert_eq!((s, v["balikan"].as_str()), (200, Some("sent")), "{v}");
    let (s, v) = app.post(
        &a,
        "/api/deaths",
        json!({"nik": nik, "certificate": "474.3/SKK/2026/001"}),
    );
    assert_eq!((s, v["balikan"].as_str()), (200, Some("sent")), "{v}");

    // Quota used up: one call gets 05, the next is held back by the app.
    let q = mock
        .admin()
        .put(format!("{}/__admin/quota/rsud_3313", mock.url))
        .json(&json!({"used": 1000}))
        .send()
        .unwrap();
    assert!(q.status().is_success());
    let before = mock.journal().len();
    let (_, v) = app.post(&a, "/api/lookup", json!({"nik": nik}));
    assert_eq!(v["status"], "quota_exhausted", "{v}");
    let (_, v) = app.post(&b, "/api/lookup", json!({"nik": nik}));
    assert_eq!(v["status"], "quota_exhausted", "{v}");
    assert!(v["message"].as_str().unwrap().contains("besok"));
    assert_eq!(mock.journal().len(), before + 1, "no call after 05");
}
