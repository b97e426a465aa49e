//! A real `mock-server serve` process on 127.0.0.1 (port 0) with its own data directory, and
//! fluent helpers for the gateway and the admin API.
//!
//! Unlike [`super::MockServer`] (a fresh small population per server), a `FixtureServer` uses
//! the 10,000-resident population of `mock-server fixtures`, generated once per test process and
//! copied into each server's data directory, so that the fixtures document's NIKs apply.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Admin token every test server is started with.
pub(crate) const ADMIN_TOKEN: &str = "test-admin-token";
/// Population size of the shared dataset (seed 1).
pub(crate) const POPULATION: &str = "10000";

struct Shared {
    dir: tempfile::TempDir,
    fixtures: Value,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = super::command("mock-server")
            .args(["fixtures", "--format", "json", "--population", POPULATION])
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .expect("run mock-server fixtures");
        assert!(
            out.status.success(),
            "mock-server fixtures failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fixtures = serde_json::from_slice(&out.stdout).expect("fixtures JSON");
        Shared { dir, fixtures }
    })
}

/// The fixtures document of the shared dataset.
pub(crate) fn fixtures() -> &'static Value {
    &shared().fixtures
}

/// Directory holding the shared generated population (for `fixtures` runs).
pub(crate) fn shared_data_dir() -> &'static Path {
    shared().dir.path()
}

/// Copies the shared population into `dir` so that a server starts without generating.
pub(crate) fn seed_data_dir(dir: &Path) {
    for entry in std::fs::read_dir(shared().dir.path()).expect("read shared dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("population-") {
            std::fs::copy(entry.path(), dir.join(&name)).expect("copy population");
        }
    }
}

/// A running server. Killed when dropped.
#[derive(Debug)]
pub(crate) struct FixtureServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub data_dir: PathBuf,
    extra: Vec<String>,
    _tmp: Option<std::sync::Arc<tempfile::TempDir>>,
    client: reqwest::blocking::Client,
}

/// An HTTP answer: status, raw body, and the body as JSON (`Value::Null` if it is not JSON).
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The gateway's `RESPON` text of the first content item, if any.
    pub(crate) fn respon(&self) -> Option<&str> {
        self.json["content"][0]["RESPON"].as_str()
    }
}

impl FixtureServer {
    /// A server on a fresh data directory with the shared population.
    pub(crate) fn start() -> FixtureServer {
        Self::start_with(&[])
    }

    /// Same, with extra `serve` flags.
    pub(crate) fn start_with(extra: &[&str]) -> FixtureServer {
        let tmp = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        seed_data_dir(tmp.path());
        let dir = tmp.path().to_path_buf();
        Self::spawn(
            dir,
            extra.iter().map(|s| s.to_string()).collect(),
            Some(tmp),
        )
    }

    fn spawn(
        data_dir: PathBuf,
        extra: Vec<String>,
        tmp: Option<std::sync::Arc<tempfile::TempDir>>,
    ) -> FixtureServer {
        let mut child = super::command("mock-server")
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--population",
                POPULATION,
            ])
            .args(["--admin-token", ADMIN_TOKEN])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(&extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mock-server serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix(dukcapil_mock_api::LISTENING_PREFIX) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("mock-server did not print its address within 60 s");
            }
        };
        FixtureServer {
            child,
            base,
            data_dir,
            extra,
            _tmp: tmp,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }

    /// Kills the process (no graceful shutdown: answered requests must already be durable) and
    /// starts a new one on the same data directory and flags.
    pub(crate) fn restart(mut self) -> FixtureServer {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let tmp = self._tmp.take();
        let (dir, extra) = (self.data_dir.clone(), self.extra.clone());
        drop(self);
        Self::spawn(dir, extra, tmp)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    fn answer(res: reqwest::blocking::Response) -> Answer {
        let status = res.status().as_u16();
        let text = res.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, text, json }
    }

    /// An admin call with the right token; `body` `None` sends no body.
    pub(crate) fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.admin_with_token(method, path, body, Some(ADMIN_TOKEN))
    }

    pub(crate) fn admin_with_token(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, self.url(&format!("/__admin{path}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::answer(req.send().expect("admin request"))
    }

    /// `POST /dukcapil/get_json/{customer_id}/{method}` with a JSON body.
    pub(crate) fn gateway(&self, customer_id: &str, method: &str, body: &Value) -> Answer {
        let res = self
            .client
            .post(self.url(&format!("/dukcapil/get_json/{customer_id}/{method}")))
            .json(body)
            .send()
            .expect("gateway request");
        Self::answer(res)
    }

    /// `CALL_NIK` as the institution `customer_id` of the fixtures, by `operator`.
    pub(crate) fn call_nik(&self, customer_id: &str, nik: &str, operator: &str) -> Answer {
        self.gateway(
            customer_id,
            "CALL_NIK",
            &lookup_body(customer_id, nik, operator),
        )
    }

    /// `CALL_VERIFY_BY_ELEMEN` with the given elements.
    pub(crate) fn verify(&self, customer_id: &str, nik: &str, elements: Value) -> Answer {
        let mut body = lookup_body(customer_id, nik, "petugas01");
        if let (Some(b), Some(e)) = (body.as_object_mut(), elements.as_object()) {
            b.extend(e.clone());
            b.insert("TRESHOLD".into(), json!("90"));
        }
        self.gateway(customer_id, "CALL_VERIFY_BY_ELEMEN", &body)
    }

    /// Waits until the process has exited or `timeout` passed; `true` if it exited.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The institution's fixture entry (credentials, elements, ...).
pub(crate) fn institution(customer_id: &str) -> &'static Value {
    fixtures()["institutions"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["customer_id"] == customer_id))
        .unwrap_or_else(|| panic!("no institution {customer_id} in the fixtures"))
}

/// A lookup body with the institution's fixture credentials.
pub(crate) fn lookup_body(customer_id: &str, nik: &str, operator: &str) -> Value {
    let i = institution(customer_id);
    let op_key = i["operator_field"].as_str().unwrap_or("User_ID");
    let mut body = json!({
        "NIK": nik,
        "user_id": i["user_id"],
        "password": i["password"],
        "ip_user": i["ip_user"],
    });
    body[op_key] = json!(operator);
    body
}

/// The fixture NIKs of a list (`found`, `deceased`, ...).
pub(crate) fn fixture_niks(list: &str) -> Vec<String> {
    fixtures()["residents"][list]
        .as_array()
        .unwrap_or_else(|| panic!("no list {list} in the fixtures"))
        .iter()
        .map(|v| v.as_str().expect("NIK as string").to_string())
        .collect()
}
