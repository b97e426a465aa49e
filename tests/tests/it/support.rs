//! Helpers shared by the test modules.

#![allow(dead_code)]

/// Servers seeded with the shared fixtures population (admin and fixtures tests).
pub(crate) mod fixture_server;

/// Headless Chromium for the browser tests (result letter, reference app pages).
pub(crate) mod browser;

use std::path::PathBuf;
use std::process::Command;

/// Path of a workspace binary (`mock-server`, `poc-runner`, ...), built by `cargo test
/// --workspace` next to this test executable.
pub(crate) fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        // Running a single test binary without the workspace build: build what is missing.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--bin", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    path
}

/// A command for a workspace binary.
pub(crate) fn command(name: &str) -> Command {
    Command::new(bin(name))
}

/// Admin token every test server is started with.
pub(crate) const ADMIN_TOKEN: &str = "test-admin-token";
/// Population size of test servers: small, so a server starts in well under a second.
pub(crate) const TEST_POPULATION: u64 = 2_000;

/// A running `mock-server serve` on `127.0.0.1:0` with its own data directory. Stopped with
/// SIGTERM by [`MockServer::stop`], killed on drop.
#[derive(Debug)]
pub(crate) struct MockServer {
    /// Shared so that [`KillSwitch`] can SIGKILL it from another thread at an exact moment.
    child: std::sync::Arc<std::sync::Mutex<std::process::Child>>,
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub base: String,
    pub data_dir: PathBuf,
    /// Lines the server printed on stdout so far.
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
}

impl MockServer {
    /// Starts a server in a fresh temporary data directory with `extra` flags.
    pub(crate) fn start(extra: &[&str]) -> MockServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut s = MockServer::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing data directory (restart tests).
    pub(crate) fn start_in(data_dir: &std::path::Path, extra: &[&str]) -> MockServer {
        MockServer::start_with_env(data_dir, extra, &[])
    }

    /// Starts a server with extra environment variables (e.g. `RUST_LOG`, `MOCK_*`).
    pub(crate) fn start_with_env(
        data_dir: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> MockServer {
        MockServer::spawn(data_dir, "127.0.0.1:0", extra, env)
    }

    /// Starts a server in a fresh temporary data directory on `listen` (e.g. `0.0.0.0:0`, to be
    /// reached from an address other than loopback).
    pub(crate) fn start_listening(listen: &str, extra: &[&str]) -> MockServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut s = MockServer::spawn(tmp.path(), listen, extra, &[]);
        s._tmp = Some(tmp);
        s
    }

    fn spawn(
        data_dir: &std::path::Path,
        listen: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> MockServer {
        use std::io::BufRead;
        let population = TEST_POPULATION.to_string();
        let mut cmd = command("mock-server");
        cmd.args([
            "serve",
            "--listen",
            listen,
            "--admin-token",
            ADMIN_TOKEN,
            "--population",
            &population,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn mock-server");
        let stdout = child.stdout.take().expect("stdout");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(url) = line.strip_prefix(dukcapil_mock_api::LISTENING_PREFIX) {
                    let _ = tx.send(url.trim().to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "mock-server printed no listening address; output: {:?}",
                    output.lock().unwrap()
                );
            }
        };
        MockServer {
            child: std::sync::Arc::new(std::sync::Mutex::new(child)),
            base,
            data_dir: data_dir.to_path_buf(),
            output,
            _tmp: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A blocking client that accepts the self-signed certificate of `--tls`.
    pub(crate) fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// POSTs JSON to a path; returns status and parsed body.
    pub(crate) fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let res = self
            .client()
            .post(self.url(path))
            .json(body)
            .send()
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().expect("JSON answer"))
    }

    /// POSTs raw bytes with a content type.
    pub(crate) fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let res = self
            .client()
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().expect("JSON answer"))
    }

    /// Calls the admin API with the test token.
    pub(crate) fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client()
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().expect("admin request");
        let status = res.status().as_u16();
        (status, res.json().unwrap_or(serde_json::Value::Null))
    }

    /// The newest `limit` journal rows (newest first).
    pub(crate) fn journal(&self, query: &str) -> Vec<serde_json::Value> {
        let (status, v) = self.admin("GET", &format!("/__admin/journal?{query}"), None);
        assert_eq!(status, 200, "{v}");
        v["rows"].as_array().expect("rows").clone()
    }

    /// Residents of the server's population, through the population reader API.
    pub(crate) fn population(&self) -> ::mock_server::PopulationReader {
        let spec = ::mock_server::PopulationSpec {
            seed: 1,
            size: TEST_POPULATION,
        };
        let path = self.data_dir.join(::mock_server::dataset_file_name(spec));
        ::mock_server::PopulationReader::open(&path).expect("population file")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(self) -> std::process::ExitStatus {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().expect("wait for mock-server")
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        KillSwitch(self.child.clone()).kill();
    }
}

// ---------------------------------------------------------------------------------------------
// Load, crash and authentication helpers (reliability, auth and fuzz tests).
// ---------------------------------------------------------------------------------------------

use serde_json::{json, Value};

/// SIGKILLs a [`MockServer`]'s process from any thread.
#[derive(Debug, Clone)]
pub(crate) struct KillSwitch(std::sync::Arc<std::sync::Mutex<std::process::Child>>);

impl KillSwitch {
    /// SIGKILL (`Child::kill` on Unix) if still running, then reaps the process. Idempotent.
    pub(crate) fn kill(&self) {
        let mut child = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Credentials of one fixture institution (the embedded agreements).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Creds {
    pub customer_id: &'static str,
    pub user_id: &'static str,
    pub password: &'static str,
    pub region: &'static str,
}

/// RSUD Karanganyar: quota 1,000/day, region 33-13, registered for 127.0.0.1.
pub(crate) const RSUD: Creds = Creds {
    customer_id: "rsud_3313",
    user_id: "rsud_3313",
    password: "dummy-rsud-3313",
    region: "33-13",
};

/// Dinkes Karanganyar (another institution of the same region).
pub(crate) const DINKES: Creds = Creds {
    customer_id: "dinkes_3313",
    user_id: "dinkes_3313",
    password: "dummy-dinkes-3313",
    region: "33-13",
};

impl Creds {
    /// A well-formed lookup body from 127.0.0.1 with an operator marker.
    pub(crate) fn body(&self, nik: &str, operator: &str) -> Value {
        json!({"nik": nik, "user_id": self.user_id, "password": self.password,
               "ip_user": "127.0.0.1", "User_ID": operator})
    }

    pub(crate) fn lookup_path(&self) -> String {
        format!("/dukcapil/get_json/{}/CALL_NIK", self.customer_id)
    }
}

/// What a gateway answer says, read from its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A record came back (outcome 01): a lookup's `NIK` as text; empty for verdicts.
    Data(String),
    /// A business outcome by its `RESPONSE_CODE` or its `RESPON` text, as its code (`"05"`).
    Code(String),
    /// Anything else (not the envelope, unknown text): the raw body.
    Other(String),
}

impl Answer {
    pub(crate) fn of(body: &Value) -> Answer {
        let Some(item) = body.pointer("/content/0") else {
            return Answer::Other(body.to_string());
        };
        if let Some(code) = item.get("RESPONSE_CODE").and_then(Value::as_str) {
            return Answer::Code(code.to_string());
        }
        if let Some(text) = item.get("RESPON").and_then(Value::as_str) {
            return match dukcapil_domain::Outcome::from_text(text) {
                Some(o) => Answer::Code(o.code().to_string()),
                None => Answer::Other(body.to_string()),
            };
        }
        let verdicts = item.as_object().is_some_and(|o| {
            o.values().all(|v| {
                v.as_str()
                    .is_some_and(|s| s.starts_with("Sesuai") || s.starts_with("Tidak Sesuai"))
            })
        });
        match item.get("NIK") {
            Some(Value::Number(n)) => Answer::Data(n.to_string()),
            Some(Value::String(s)) if !verdicts => Answer::Data(s.clone()),
            // A verification's verdicts (none when no element was submitted).
            _ if verdicts => Answer::Data(String::new()),
            _ if item.get("NAMA_LGKP").is_some() => Answer::Data(String::new()),
            _ => Answer::Other(body.to_string()),
        }
    }

    pub(crate) fn code(code: &str) -> Answer {
        Answer::Code(code.to_string())
    }

    pub(crate) fn is_data(&self) -> bool {
        matches!(self, Answer::Data(_))
    }
}

/// A client for many requests (one connection pool; `MockServer::client` builds a new one).
pub(crate) fn load_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

fn read_answer(res: reqwest::blocking::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let bytes = res.bytes().map(|b| b.to_vec()).unwrap_or_default();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

impl MockServer {
    /// A handle that SIGKILLs this server from any thread.
    pub(crate) fn kill_switch(&self) -> KillSwitch {
        KillSwitch(self.child.clone())
    }

    /// SIGKILLs the server and starts it again on the same data directory (a new port).
    pub(crate) fn crash_and_restart(mut self, extra: &[&str]) -> MockServer {
        self.kill_switch().kill();
        let mut next = MockServer::start_in(&self.data_dir, extra);
        next._tmp = self._tmp.take();
        next
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(
            self.child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait(),
            Ok(None)
        )
    }

    /// A `CALL_NIK` lookup of `nik` by `creds` with an operator marker, through `client`.
    pub(crate) fn lookup(
        &self,
        client: &reqwest::blocking::Client,
        creds: &Creds,
        nik: &str,
        operator: &str,
    ) -> Answer {
        let res = client
            .post(self.url(&creds.lookup_path()))
            .json(&creds.body(nik, operator))
            .send()
            .expect("gateway answers");
        let (status, body) = read_answer(res);
        assert_eq!(status, 200, "{body}");
        Answer::of(&body)
    }

    /// Any request with any (or no) bearer token; status and body (JSON, or the text as a string).
    pub(crate) fn request(
        &self,
        client: &reqwest::blocking::Client,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        read_answer(req.send().expect("server answers"))
    }

    /// Sets the mock's clock to an RFC 3339 instant.
    pub(crate) fn set_clock(&self, instant: &str) {
        let (status, body) = self.admin("POST", "/__admin/clock", Some(json!({ "set": instant })));
        assert_eq!(status, 200, "{body}");
    }

    /// Sets an institution's daily limit (`None`: unlimited).
    pub(crate) fn set_quota_limit(&self, customer_id: &str, limit: Option<u32>) {
        let (status, body) = self.admin(
            "PUT",
            &format!("/__admin/quota/{customer_id}"),
            Some(json!({ "limit": limit })),
        );
        assert_eq!(status, 200, "{body}");
    }

    /// `GET /__admin/quota/{customer_id}`.
    pub(crate) fn quota(&self, customer_id: &str) -> Value {
        let (status, body) = self.admin("GET", &format!("/__admin/quota/{customer_id}"), None);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Every journal row matching `query` (e.g. `customer_id=rsud_3313`), newest first.
    pub(crate) fn journal_all(&self, query: &str) -> Vec<Value> {
        // 10,000 is the admin API's largest page; tests stay below it.
        let rows = self.journal(&format!("limit=10000&{query}"));
        assert!(rows.len() < 10_000, "journal larger than one page");
        rows
    }

    /// NIKs of `n` residents of a status in the served population.
    pub(crate) fn niks(&self, status: dukcapil_domain::ResidentStatus, n: usize) -> Vec<String> {
        let found: Vec<String> = self
            .population()
            .sample_by_status(status, n)
            .expect("sample")
            .into_iter()
            .map(|r| r.nik.to_string())
            .collect();
        assert_eq!(found.len(), n, "population too small for {n} {status:?}");
        found
    }
}
