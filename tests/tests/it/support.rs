//! Helpers shared by the test modules.

#![allow(dead_code)]

/// Servers seeded with the shared fixtures population (admin and fixtures tests).
pub mod fixture_server;

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

/// Admin token every test server is started with.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// Population size of test servers: small, so a server starts in well under a second.
pub const TEST_POPULATION: u64 = 2_000;

/// A running `mock-server serve` on `127.0.0.1:0` with its own data directory. Stopped with
/// SIGTERM by [`MockServer::stop`], killed on drop.
#[derive(Debug)]
pub struct MockServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub base: String,
    pub data_dir: PathBuf,
    /// Lines the server printed on stdout so far.
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
}

impl MockServer {
    /// Starts a server in a fresh temporary data directory with `extra` flags.
    pub fn start(extra: &[&str]) -> MockServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut s = MockServer::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing data directory (restart tests).
    pub fn start_in(data_dir: &std::path::Path, extra: &[&str]) -> MockServer {
        MockServer::start_with_env(data_dir, extra, &[])
    }

    /// Starts a server with extra environment variables (e.g. `RUST_LOG`, `MOCK_*`).
    pub fn start_with_env(
        data_dir: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> MockServer {
        use std::io::BufRead;
        let population = TEST_POPULATION.to_string();
        let mut cmd = command("mock-server");
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
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
                if let Some(url) = line.strip_prefix("listening on ") {
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
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            output,
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A blocking client that accepts the self-signed certificate of `--tls`.
    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// POSTs JSON to a path; returns status and parsed body.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
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
    pub fn post_raw(
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
    pub fn admin(
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
    pub fn journal(&self, query: &str) -> Vec<serde_json::Value> {
        let (status, v) = self.admin("GET", &format!("/__admin/journal?{query}"), None);
        assert_eq!(status, 200, "{v}");
        v["rows"].as_array().expect("rows").clone()
    }

    /// Residents of the server's population, through the population reader API.
    pub fn population(&self) -> mock_server::population_db::PopulationReader {
        let spec = mock_server::population_db::PopulationSpec {
            seed: 1,
            size: TEST_POPULATION,
        };
        let path = self
            .data_dir
            .join(mock_server::population_db::dataset_file_name(spec));
        mock_server::population_db::PopulationReader::open(&path).expect("population file")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for mock-server")
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
