//! `GET /healthz`: the port is bound before the population is generated; every path answers 503
//! (in its API's shape) until the dataset is ready, then `/healthz` answers 200 without a token.
//! Neither is journaled.

use std::io::BufRead;
use std::time::Duration;

use serde_json::Value;

use crate::support::{command, ADMIN_TOKEN};

#[test]
fn healthz_is_503_while_generating_then_200_without_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    // Large enough that generating takes a while in a debug build, small enough to stay quick.
    let mut child = command("mock-server")
        .args(["serve", "--listen", "127.0.0.1:0", "--population", "60000"])
        .args(["--admin-token", ADMIN_TOKEN, "--data-dir"])
        .arg(tmp.path())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn mock-server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let next = |what: &str| -> String {
        loop {
            match rx.recv_timeout(Duration::from_secs(90)) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {what:?}: {e}"),
            }
        }
    };
    let bound = next("bound http://");
    let base = bound
        .split("bound ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string();
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        let res = http.get(format!("{base}{path}")).send().unwrap();
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").is_some();
        let body: Value = res.json().unwrap();
        (status, retry, body)
    };
    let (status, retry, body) = get("/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(retry, "503 without Retry-After");
    assert_eq!(body, serde_json::json!({"status": "starting"}));
    let res = http
        .post(format!("{base}/dukcapil/get_json/rsud_3313/CALL_NIK"))
        .json(&serde_json::json!({"nik": "3313014107890003"}))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body: Value = res.json().unwrap();
    assert!(body["content"][0]["RESPON"].is_string(), "{body}");

    let listening = next(dukcapil_mock_api::LISTENING_PREFIX);
    assert!(listening.ends_with(&base), "{listening} vs {base}");
    let (status, _, body) = get("/healthz");
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    // Neither the probes nor the refused call reached the journal.
    let journal: Value = http
        .get(format!("{base}/__admin/journal"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        journal["rows"].as_array().map(Vec::len),
        Some(0),
        "{journal}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
