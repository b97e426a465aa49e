//! Starts the real `rsud-app` binary as a process for the integration tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::blocking::Client;
use serde_json::{json, Value};

pub(crate) const PASSWORD: &str = "dummy-rsud-3313";

/// A running `rsud-app` with its own temp dir (database, log file).
pub(crate) struct RsudApp {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl RsudApp {
    pub(crate) fn start(gateway: &str, defects: &str) -> RsudApp {
        Self::start_with(gateway, defects, None)
    }

    /// With `config`, the file is read first and the env below overrides it.
    pub(crate) fn start_with(gateway: &str, defects: &str, config: Option<&Path>) -> RsudApp {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsud-app"));
        cmd.env_clear();
        if let Some(c) = config {
            cmd.arg("--config")
                .arg(c)
                .env("RSUD_APP_LISTEN", "127.0.0.1:0");
        } else {
            cmd.env("RSUD_APP_OPERATORS", "petugas.a:sandi-a,petugas.b:sandi-b")
                .env("RSUD_APP_PASSWORD", PASSWORD);
        }
        let mut child = cmd
            .env("RSUD_APP_GATEWAY_URL", gateway)
            .env("RSUD_APP_DATABASE", dir.path().join("simrs.sqlite"))
            .env("RSUD_APP_LOG_FILE", dir.path().join("simrs.log"))
            .env("RSUD_APP_TIMEOUT_MS", "2000")
            .env("RSUD_APP_DEFECTS", defects)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep draining so later lines never hit a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        RsudApp { child, url, dir }
    }

    pub(crate) fn client(&self) -> Client {
        Client::builder().cookie_store(true).build().unwrap()
    }

    /// A client logged in through the JSON API (session cookie).
    pub(crate) fn login(&self, user: &str, password: &str) -> Client {
        let c = self.client();
        let r = c
            .post(format!("{}/api/login", self.url))
            .json(&json!({"username": user, "password": password}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        c
    }

    pub(crate) fn post(&self, c: &Client, path: &str, body: Value) -> (u16, Value) {
        let r = c
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap())
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("simrs.log")).unwrap_or_default()
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("simrs.sqlite")
    }
}

impl Drop for RsudApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway address where nothing listens.
pub(crate) fn dead_gateway() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}
