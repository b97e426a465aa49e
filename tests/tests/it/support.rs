//! Helpers shared by the test modules.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Path of a workspace binary (`mock-server`, `poc-runner`, ...), built by `cargo test
/// --workspace` next to this test executable.
pub fn bin(name: &str) -> PathBuf {
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
pub fn command(name: &str) -> Command {
    Command::new(bin(name))
}

// ---------------------------------------------------------------------------------------------
// A running `mock-server serve` and fluent helpers around it.
// ---------------------------------------------------------------------------------------------

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// The admin token every test server is started with.
pub const ADMIN_TOKEN: &str = "it-admin-token";

/// Credentials of one fixture institution (the embedded agreements).
#[derive(Debug, Clone, Copy)]
pub struct Creds {
    pub customer_id: &'static str,
    pub user_id: &'static str,
    pub password: &'static str,
    pub region: &'static str,
}

/// RSUD Karanganyar: quota 1,000/day, region 33-13, registered for 127.0.0.1.
pub const RSUD: Creds = Creds {
    customer_id: "rsud_3313",
    user_id: "rsud_3313",
    password: "dummy-rsud-3313",
    region: "33-13",
};

/// Dinkes Karanganyar (another institution of the same region).
pub const DINKES: Creds = Creds {
    customer_id: "dinkes_3313",
    user_id: "dinkes_3313",
    password: "dummy-dinkes-3313",
    region: "33-13",
};

impl Creds {
    /// A well-formed lookup body from 127.0.0.1 with an operator marker.
    pub fn body(&self, nik: &str, operator: &str) -> Value {
        json!({"nik": nik, "user_id": self.user_id, "password": self.password,
               "ip_user": "127.0.0.1", "User_ID": operator})
    }

    pub fn lookup_path(&self) -> String {
        format!("/dukcapil/get_json/{}/CALL_NIK", self.customer_id)
    }
}

/// What a gateway answer says, read from its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A record came back (outcome 01 of a lookup): holds its `NIK` as text.
    Data(String),
    /// A business outcome by its `RESPON` text, mapped to its code (`"05"`, ...).
    Code(String),
    /// Anything else (not the envelope, unknown text): the raw body.
    Other(String),
}

impl Answer {
    pub fn of(body: &Value) -> Answer {
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
        match item.get("NIK") {
            Some(Value::Number(n)) => Answer::Data(n.to_string()),
            Some(Value::String(s)) => Answer::Data(s.clone()),
            _ if item.get("NAMA_LGKP").is_some() => Answer::Data(String::new()),
            _ => Answer::Other(body.to_string()),
        }
    }

    pub fn is_data(&self) -> bool {
        matches!(self, Answer::Data(_))
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    population: u64,
    args: Vec<String>,
    data_dir: Option<PathBuf>,
}

impl MockServerBuilder {
    pub fn population(mut self, n: u64) -> Self {
        self.population = n;
        self
    }

    /// Extra `serve` flags, e.g. `["--journal-cap", "500"]`.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Serve from this data directory (default: a fresh temporary one owned by the server).
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    pub fn start(self) -> MockServer {
        let (tmp, dir) = match &self.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().expect("temp dir");
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let mut server = MockServer {
            child: Arc::new(Mutex::new(None)),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir,
            builder: self,
            _tmp: tmp,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
        };
        server.spawn();
        server
    }
}

/// A `mock-server serve --listen 127.0.0.1:0` child process; killed when dropped.
#[derive(Debug)]
pub struct MockServer {
    child: Arc<Mutex<Option<Child>>>,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    builder: MockServerBuilder,
    _tmp: Option<tempfile::TempDir>,
    pub client: reqwest::blocking::Client,
}

impl MockServer {
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder {
            population: 2_000,
            args: Vec::new(),
            data_dir: None,
        }
    }

    /// A server with the defaults (2,000 residents, the embedded agreements).
    pub fn start() -> MockServer {
        Self::builder().start()
    }

    fn spawn(&mut self) {
        let mut cmd = command("mock-server");
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--admin-token", ADMIN_TOKEN])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--population", &self.builder.population.to_string()])
            .args(&self.builder.args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn mock-server serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the address, then keeps draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_string());
                    }
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("mock-server did not print its address (exit: {status:?})");
            }
        };
        let host = url
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        self.addr = host.parse().expect("printed address");
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs raw bytes; the status and the body as JSON (or as a JSON string if it is not JSON).
    pub fn post_bytes(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let res = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("gateway answers");
        read(res)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_bytes(path, body.to_string().into_bytes())
    }

    /// A `CALL_NIK` lookup of `nik` by `creds` with an operator marker.
    pub fn lookup(&self, creds: &Creds, nik: &str, operator: &str) -> Answer {
        let (status, body) = self.post_json(&creds.lookup_path(), &creds.body(nik, operator));
        assert_eq!(status, 200, "{body}");
        Answer::of(&body)
    }

    /// An admin call with the right token.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.admin_with(method, path, body, Some(ADMIN_TOKEN))
    }

    /// An admin call with any (or no) bearer token.
    pub fn admin_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
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
        read(req.send().expect("admin answers"))
    }

    /// Sets the mock's clock to an RFC 3339 instant.
    pub fn set_clock(&self, instant: &str) {
        let (status, body) = self.admin("POST", "/clock", Some(json!({ "set": instant })));
        assert_eq!(status, 200, "{body}");
    }

    /// Sets an institution's daily limit (`None`: unlimited).
    pub fn set_quota_limit(&self, customer_id: &str, limit: Option<u32>) {
        let (status, body) = self.admin(
            "PUT",
            &format!("/quota/{customer_id}"),
            Some(json!({ "limit": limit })),
        );
        assert_eq!(status, 200, "{body}");
    }

    /// `GET /__admin/quota/{customer_id}`.
    pub fn quota(&self, customer_id: &str) -> Value {
        let (status, body) = self.admin("GET", &format!("/quota/{customer_id}"), None);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Journal rows, newest first (`query` like `customer_id=rsud_3313`).
    pub fn journal(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.admin("GET", &format!("/journal?limit=1000000&{query}"), None);
        assert_eq!(status, 200, "{body}");
        body["rows"].as_array().cloned().unwrap_or_default()
    }

    /// NIKs of `n` residents of a status in the served population (read from its file).
    pub fn niks(&self, status: dukcapil_domain::ResidentStatus, n: usize) -> Vec<String> {
        use mock_server::population_db::{dataset_file_name, PopulationReader, PopulationSpec};
        let spec = PopulationSpec {
            seed: 1,
            size: self.builder.population,
        };
        let reader = PopulationReader::open(&self.data_dir.join(dataset_file_name(spec)))
            .expect("population file");
        let found: Vec<String> = reader
            .sample_by_status(status, n)
            .expect("sample")
            .into_iter()
            .map(|r| r.nik.to_string())
            .collect();
        assert_eq!(found.len(), n, "population too small for {n} {status:?}");
        found
    }

    /// Kills the process with SIGKILL (`Child::kill` on Unix) and reaps it.
    pub fn kill(&mut self) {
        self.kill_switch().kill();
    }

    /// A handle that any thread can use to SIGKILL the server at an exact moment.
    pub fn kill_switch(&self) -> KillSwitch {
        KillSwitch(self.child.clone())
    }

    /// Starts the same server again on the same data directory (a new port).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// Kills a [`MockServer`]'s process from any thread.
#[derive(Debug, Clone)]
pub struct KillSwitch(Arc<Mutex<Option<Child>>>);

impl KillSwitch {
    /// SIGKILL (`Child::kill` on Unix), then reaps the process. Idempotent.
    pub fn kill(&self) {
        let child = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read(res: reqwest::blocking::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let bytes = res.bytes().expect("body").to_vec();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}
