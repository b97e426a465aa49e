//! Whole PoC sessions: the real `poc-runner` binary starts the real `mock-server` and the
//! reference application (`rsud-app`, started through the target's `[app]`), plays the standard
//! pack over real sockets and writes a signed result, which both `poc-runner verify` and plain
//! `ssh-keygen -Y verify` must accept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support;

/// One finished session of the runner against rsud-app.
pub struct Session {
    pub out: Output,
    pub dir: tempfile::TempDir,
    pub result: Option<serde_json::Value>,
}

impl Session {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }
    pub fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }
    /// `(test id, check kind, outcome)` of every judged check.
    pub fn checks(&self) -> Vec<(String, String, String)> {
        let Some(r) = &self.result else {
            return vec![];
        };
        r["checks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["test_id"].as_str().unwrap_or("").to_string(),
                            c["check"].as_str().unwrap_or("").to_string(),
                            c["outcome"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/standard-web-service.toml")
}

/// Plays the standard pack against rsud-app with the given defect switches (comma-separated).
pub fn session(defects: &str) -> Session {
    // The runner finds both next to itself.
    support::bin("mock-server");
    support::bin("rsud-app");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("target.toml");
    let text = poc_runner::cli::DEMO_TARGET.replace(
        "RSUD_APP_DEFECTS = \"\"",
        &format!("RSUD_APP_DEFECTS = \"{defects}\""),
    );
    assert!(text.contains(&format!("RSUD_APP_DEFECTS = \"{defects}\"")));
    std::fs::write(&target, text).expect("write target");
    let key = dir.path().join("key");
    let k = support::command("poc-runner")
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(k.status.success(), "{k:?}");
    let out = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(scenario())
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--key")
        .arg(&key)
        .args(["--assessor", "Tim PoC (test)"])
        .output()
        .expect("run poc-runner");
    let result = std::fs::read(dir.path().join("out/poc-result.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Session { out, dir, result }
}

#[test]
fn compliant_reference_app_passes_and_the_result_verifies_with_both_verifiers() {
    let s = session("");
    assert_eq!(s.code(), 0, "{}", s.text());
    let r = s.result.as_ref().expect("poc-result.json written");
    assert_eq!(r["verdict"], "LULUS", "{}", s.text());
    let checks = s.checks();
    assert!(checks.len() >= 14, "{checks:?}");
    let bad: Vec<_> = checks
        .iter()
        .filter(|c| c.2 == "fail" || c.2 == "needs_review")
        .collect();
    assert!(bad.is_empty(), "{bad:?}\n{}", s.text());
    let passed = checks.iter().filter(|c| c.2 == "pass").count();
    assert!(passed >= 12, "{checks:?}");
    // The journal of the session is in the result, chained.
    assert!(
        r["journal"]["rows"]
            .as_array()
            .is_some_and(|a| a.len() >= 20),
        "{}",
        r["journal"]
    );

    let v = support::command("poc-runner")
        .arg("verify")
        .arg(s.out_dir())
        .output()
        .expect("verify");
    assert!(v.status.success(), "{v:?}");

    let mut pubkey = s.key().into_os_string();
    pubkey.push(".pub");
    let allowed = s.dir.path().join("allowed_signers");
    let pk = std::fs::read_to_string(PathBuf::from(pubkey)).expect("public key");
    std::fs::write(
        &allowed,
        format!("assessor namespaces=\"dukcapil-poc\" {}", pk.trim()),
    )
    .expect("allowed_signers");
    let json = std::fs::File::open(s.out_dir().join("poc-result.json")).expect("json");
    let ssh = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", "assessor", "-n", "dukcapil-poc", "-s"])
        .arg(s.out_dir().join("poc-result.json.sig"))
        .stdin(json)
        .output()
        .expect("ssh-keygen");
    assert!(ssh.status.success(), "{ssh:?}");
}

#[test]
fn unreachable_application_exits_3_naming_the_url_and_writes_nothing() {
    support::bin("mock-server");
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nobody listens on: bind, note, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let text = poc_runner::cli::DEMO_TARGET;
    let start = text.find("\n[app]").expect("[app] section");
    let end = text.find("\n[driver.http]").expect("driver section");
    let text = format!("{}{}", &text[..start], &text[end..]).replace("http://127.0.0.1:8080", &url);
    let target = dir.path().join("target.toml");
    std::fs::write(&target, text).expect("write target");
    let out = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(scenario())
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains(&url), "{all}");
    assert!(!dir.path().join("out").exists(), "{all}");
}
