//! The real `puskesmas-app` binary against a real `mock-server serve` process (both from
//! `cargo build --workspace --bins`), driven like a browser: CSRF tokens read from the pages,
//! form posts, the session cookie. Each defect switch is observed where a harness sees it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reqwest::blocking::Client;
use serde_json::{json, Value};

const ADMIN: &str = "test-admin-token";

fn bin(name: &str) -> PathBuf {
    let app = PathBuf::from(env!("CARGO_BIN_EXE_puskesmas-app"));
    let path = app.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "--bin", name])
            .status()
            .expect("cargo build");
        assert!(ok.success(), "cargo build --bin {name}");
    }
    path
}

fn ready_url(child: &mut Child) -> String {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    for line in (&mut out).lines() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("listening on ") {
            url = u.trim().to_string();
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    assert!(!url.is_empty(), "no ready line");
    url
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Mock {
    _p: Proc,
    url: String,
    _dir: tempfile::TempDir,
}

impl Mock {
    fn start() -> Mock {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin("mock-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--population", "300"])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--admin-token", ADMIN])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = ready_url(&mut child);
        Mock {
            _p: Proc(child),
            url,
            _dir: dir,
        }
    }

    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let c = Client::new();
        let mut r = c
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().unwrap_or(Value::Null)
    }

    /// A canary resident with a distinctive name; returns its NIK.
    fn canary(&self, name: &str) -> String {
        let v = self.admin(
            "POST",
            "/__admin/residents",
            Some(json!({"NAMA_LGKP": name})),
        );
        v["residents"][0]["NIK"].as_str().unwrap().to_string()
    }

    fn lookups(&self) -> Vec<Value> {
        let v = self.admin("GET", "/__admin/journal?limit=1000&endpoint=CALL_NIK", None);
        v["rows"].as_array().cloned().unwrap_or_default()
    }

    fn ledger(&self) -> Vec<Value> {
        let v = self.admin("GET", "/__admin/balikan", None);
        v["entries"].as_array().cloned().unwrap_or_default()
    }
}

struct App {
    _p: Proc,
    url: String,
    dir: tempfile::TempDir,
}

impl App {
    fn start(mock: &Mock, defects: &str) -> App {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_puskesmas-app"))
            .env_clear()
            .env("PUSKESMAS_APP_GATEWAY_URL", &mock.url)
            .env("PUSKESMAS_APP_DATABASE", dir.path().join("p.sqlite"))
            .env(
                "PUSKESMAS_APP_OPERATORS",
                "bidan.ani:sandi-a,perawat.budi:sandi-b",
            )
            .env("PUSKESMAS_APP_TIMEOUT_MS", "1500")
            .env("PUSKESMAS_APP_CRAWLER_INTERVAL_MS", "200")
            .env("PUSKESMAS_APP_DEFECTS", defects)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = ready_url(&mut child);
        App {
            _p: Proc(child),
            url,
            dir,
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("p.sqlite")).unwrap()
    }

    /// Logs in through the form, with the CSRF token read from the login page.
    fn login(&self, user: &str, password: &str) -> (Client, u16) {
        let c = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = c
            .get(format!("{}/masuk", self.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let csrf = hidden(&page, "form#form-masuk");
        let r = c
            .post(format!("{}/masuk", self.url))
            .form(&[("username", user), ("password", password), ("csrf", &csrf)])
            .send()
            .unwrap();
        (c, r.status().as_u16())
    }

    fn csrf(&self, c: &Client) -> String {
        let page = c
            .get(format!("{}/pendaftaran", self.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        hidden(&page, "form#form-nik")
    }

    fn post(&self, c: &Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let csrf = self.csrf(c);
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        f.push(("csrf", &csrf));
        let r = c
            .post(format!("{}{path}", self.url))
            .form(&f)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn lookup(&self, c: &Client, nik: &str) -> (u16, String) {
        self.post(c, "/pendaftaran/cari", &[("nik", nik)])
    }
}

fn hidden(page: &str, form: &str) -> String {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse(&format!("{form} input[name=csrf]")).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_else(|| panic!("no csrf in {page}"))
        .to_string()
}

/// `data-element` → text of the result table.
fn shown(page: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("table#data-penduduk td[data-element]").unwrap();
    doc.select(&sel)
        .map(|e| {
            (
                e.value().attr("data-element").unwrap().to_string(),
                e.text().collect(),
            )
        })
        .collect()
}

fn granted() -> Vec<String> {
    let t = poc_runner::Target::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/targets/puskesmas.toml"),
    )
    .expect("target file valid");
    t.agreement
        .granted
        .wire_names()
        .into_iter()
        .map(String::from)
        .collect()
}

#[test]
fn compliant_desk_login_lookup_balikan_csrf_and_quota() {
    let mock = Mock::start();
    // The mock widened as the PoC does: the desk's own whitelist must hold.
    mock.admin(
        "PATCH",
        "/__admin/institutions/dinkes_3303",
        Some(json!({"extra_elements": true})),
    );
    let nik = mock.canary("CANARY DESA SATU");
    let app = App::start(&mock, "");

    let (_, status) = app.login("bidan.ani", "salah");
    assert_eq!(status, 401);
    let (a, status) = app.login("bidan.ani", "sandi-a");
    assert_eq!(status, 303);
    let (b, _) = app.login("perawat.budi", "sandi-b");

    // A post without token (and without Fetch Metadata) or marked cross-site is refused.
    let r = a
        .post(format!("{}/pendaftaran/cari", app.url))
        .form(&[("nik", &nik)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let csrf = app.csrf(&a);
    let r = a
        .post(format!("{}/pendaftaran/cari", app.url))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("nik", nik.as_str()), ("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(mock.lookups().is_empty(), "no call for refused forms");

    let (s, page) = app.lookup(&a, &nik);
    assert_eq!(s, 200);
    let cells = shown(&page);
    let keys: Vec<String> = cells.iter().map(|c| c.0.clone()).collect();
    let mut g = granted();
    g.sort();
    let mut k = keys.clone();
    k.sort();
    assert_eq!(k, g, "exactly the granted elements");
    assert!(cells.contains(&("NIK".into(), nik.clone())));
    assert!(cells.contains(&("NAMA_LGKP".into(), "CANARY DESA SATU".into())));
    let (_, page) = app.lookup(&b, "3303019999999999");
    assert!(
        shown(&page).is_empty() && page.contains("id=\"hasil\"") && page.contains("data-code=\"1"),
        "{page}"
    );
    let (s, _) = app.lookup(&b, "12ab");
    assert_eq!(s, 400);
    let ops: Vec<String> = mock
        .lookups()
        .iter()
        .map(|r| r["operator"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ops.len(), 2, "one request per action");
    assert!(
        ops.contains(&"bidan.ani".into()) && ops.contains(&"perawat.budi".into()),
        "{ops:?}"
    );

    let (s, page) = app.post(
        &a,
        "/layanan",
        &[
            ("nik", &nik),
            ("jenis", "kunjungan"),
            ("no_rm", ""),
            ("no_jkn", "0001234567890"),
        ],
    );
    assert_eq!(s, 200);
    assert!(page.contains("data-balikan=\"sent\""), "{page}");
    let (_, page) = app.post(
        &a,
        "/layanan",
        &[
            ("nik", &nik),
            ("jenis", "kelahiran"),
            ("no_surat", "474.1/SKL/2026/7"),
        ],
    );
    assert!(page.contains("data-balikan=\"sent\""), "{page}");
    let (s, _) = app.post(
        &a,
        "/layanan",
        &[("nik", &nik), ("jenis", "kunjungan"), ("no_jkn", "12")],
    );
    assert_eq!(s, 400, "bad NO_JKN refused");
    let ledger = mock.ledger();
    assert!(
        ledger.iter().any(|e| e["nik"] == nik.as_str()
            && e["values"]["NO_JKN"] == "0001234567890"
            && e["values"]["NO_RM"] == "PKM-000001"),
        "{ledger:?}"
    );
    assert!(
        ledger
            .iter()
            .any(|e| e["values"]["NO_SURAT_KELAHIRAN"] == "474.1/SKL/2026/7"),
        "{ledger:?}"
    );

    // No copy of the answer: the name is nowhere in the desk's database file.
    let bytes = std::fs::read(app.dir.path().join("p.sqlite")).unwrap();
    let wal = std::fs::read(app.dir.path().join("p.sqlite-wal")).unwrap_or_default();
    for b in [&bytes, &wal] {
        assert!(!String::from_utf8_lossy(b).contains("CANARY DESA SATU"));
    }

    // Quota used up: one call gets 05, then no call leaves and the operator is told.
    mock.admin(
        "PUT",
        "/__admin/quota/dinkes_3303",
        Some(json!({"used": 200})),
    );
    let before = mock.lookups().len();
    let (_, page) = app.lookup(&a, &nik);
    assert!(page.contains("data-status=\"quota_exhausted\""), "{page}");
    let (_, page) = app.lookup(&b, &nik);
    assert!(page.contains("besok"), "{page}");
    assert_eq!(mock.lookups().len(), before + 1, "no call after 05");
}

fn defect_session(defects: &str) -> (Mock, App, String) {
    let mock = Mock::start();
    mock.admin(
        "PATCH",
        "/__admin/institutions/dinkes_3303",
        Some(json!({"extra_elements": true})),
    );
    let nik = mock.canary("CANARY DEFEK");
    let app = App::start(&mock, defects);
    (mock, app, nik)
}

#[test]
fn stores_answers_keeps_resident_data() {
    let (_mock, app, nik) = defect_session("stores-answers");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    app.lookup(&a, &nik);
    let n: String = app
        .db()
        .query_row("SELECT data FROM arsip_penduduk", [], |r| r.get(0))
        .unwrap();
    assert!(n.contains("CANARY DEFEK"), "{n}");
}

#[test]
fn constant_user_id_reaches_the_mock() {
    let (mock, app, nik) = defect_session("constant-user-id");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    let (b, _) = app.login("perawat.budi", "sandi-b");
    app.lookup(&a, &nik);
    app.lookup(&b, &nik);
    let ops: Vec<Value> = mock
        .lookups()
        .iter()
        .map(|r| r["operator"].clone())
        .collect();
    assert_eq!(
        ops,
        vec![json!("sistem.puskesmas"), json!("sistem.puskesmas")]
    );
}

#[test]
fn shows_extra_element_shows_the_mothers_name() {
    let (_mock, app, nik) = defect_session("shows-extra-element");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    let (_, page) = app.lookup(&a, &nik);
    let keys: Vec<String> = shown(&page).into_iter().map(|c| c.0).collect();
    assert!(keys.contains(&"NAMA_LGKP_IBU".to_string()), "{keys:?}");
    assert!(!granted().contains(&"NAMA_LGKP_IBU".to_string()));
}

#[test]
fn drops_balikan_value_leaves_no_jkn_out() {
    let (mock, app, nik) = defect_session("drops-balikan-value");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    app.lookup(&a, &nik);
    let (_, page) = app.post(
        &a,
        "/layanan",
        &[
            ("nik", &nik),
            ("jenis", "kunjungan"),
            ("no_jkn", "0001234567890"),
        ],
    );
    assert!(page.contains("data-balikan=\"sent\""), "{page}");
    let ledger = mock.ledger();
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert!(ledger[0]["values"].get("NO_JKN").is_none(), "{ledger:?}");
    // ... while the desk's own register has it: the operator did enter it.
    let jkn: String = app
        .db()
        .query_row("SELECT no_jkn FROM kunjungan", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jkn, "0001234567890");
}

#[test]
fn background_crawler_looks_up_following_niks() {
    let (mock, app, nik) = defect_session("background-crawler");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    app.lookup(&a, &nik);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let first: u64 = nik.parse().unwrap();
    let niks: Vec<u64> = mock
        .lookups()
        .iter()
        .filter_map(|r| r["nik"].as_str()?.parse().ok())
        .collect();
    for k in 1..=5 {
        assert!(niks.contains(&(first + k)), "{niks:?}");
    }
}

#[test]
fn unbounded_retries_keep_calling_after_05() {
    let (mock, app, nik) = defect_session("unbounded-retries");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    mock.admin(
        "PUT",
        "/__admin/quota/dinkes_3303",
        Some(json!({"used": 200})),
    );
    let started = std::time::Instant::now();
    app.lookup(&a, &nik);
    assert!(
        started.elapsed().as_secs() >= 10,
        "kept retrying until its deadline"
    );
    let n = mock.lookups().len();
    assert!(n > 20, "{n} calls for one action");
}

#[test]
fn compliant_desk_retries_faults_a_bounded_number_of_times() {
    let mock = Mock::start();
    let nik = mock.canary("CANARY GANGGUAN");
    mock.admin(
        "POST",
        "/__admin/faults",
        Some(json!({"endpoint": "call_nik", "action": {"type": "status", "code": 503}})),
    );
    let app = App::start(&mock, "");
    let (a, _) = app.login("bidan.ani", "sandi-a");
    let (s, page) = app.lookup(&a, &nik);
    assert_eq!(s, 200);
    assert!(
        page.contains("data-status=\"gateway_error\"") && page.contains("tidak dapat dihubungi"),
        "{page}"
    );
    assert_eq!(mock.lookups().len(), 3, "1 attempt + 2 retries");
}
