//! `target.toml` (the PoC target file agencies copy) agrees with `rsud-app.toml` and drives
//! the real application: it is parsed by the runner's own loader, its templates are rendered
//! with tera as the runner does, and the requests go to a running `rsud-app`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{dead_gateway, RsudApp};
use poc_runner::StorageLocation;
use poc_runner::{Capture, Driver, Method, Recogniser, RequestTemplate, Target};
use rsud_app::config::Config;
use serde_json::{json, Value};

fn here(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn render(template: &str, ctx: &Value) -> String {
    let ctx = tera::Context::from_value(ctx.clone()).unwrap();
    tera::Tera::one_off(template, &ctx, false).unwrap()
}

/// Sends one templated request the way the HTTP driver does; returns status, headers, JSON.
fn send(
    client: &reqwest::blocking::Client,
    base: &str,
    r: &RequestTemplate,
    ctx: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    assert_eq!(r.method, Method::Post);
    let mut req = client.post(format!("{base}{}", render(r.path.get_ref(), ctx)));
    if let Some(j) = &r.json {
        let body = render(j.get_ref(), ctx);
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
        req = req.json(&parsed);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().unwrap())
}

#[test]
fn target_file_matches_the_config_and_drives_the_app() {
    let target = Target::load(&here("target.toml")).unwrap_or_else(|e| panic!("{e}"));
    let config = Config::load(Some(&here("rsud-app.toml"))).unwrap();

    // Same agreement, credentials, operators and storage places as the app's own config.
    assert_eq!(target.agreement.id, config.agreement);
    let creds = config.credentials.resolve(&target.agreement.credentials);
    let mc = &target.file.mock_credentials;
    assert_eq!(
        (
            &mc.user_id,
            &mc.password,
            &mc.ip_user,
            mc.balikan_token.as_ref()
        ),
        (
            &creds.user_id,
            &creds.password,
            &creds.ip_user,
            Some(&creds.balikan_token)
        )
    );
    let ops: Vec<(String, String)> = target
        .file
        .operators
        .iter()
        .map(|o| (o.username.get_ref().clone(), o.password.clone()))
        .collect();
    let seeds: Vec<(String, String)> = config
        .operators
        .iter()
        .map(|o| (o.username.clone(), o.password.clone()))
        .collect();
    assert_eq!(ops, seeds);
    assert!(target
        .file
        .storage
        .contains(&StorageLocation::Sqlite(config.database.clone())));
    assert!(target
        .file
        .storage
        .contains(&StorageLocation::Log(config.log_file.clone())));
    let Driver::Http(http) = &target.file.driver else {
        panic!("expected the HTTP driver")
    };
    assert_eq!(
        http.base_url.get_ref(),
        &format!("http://{}", config.listen)
    );

    // Drive the real app (gateway unreachable: nothing may be presented as a resident).
    let app = RsudApp::start_with(&dead_gateway(), "", Some(&here("rsud-app.toml")));
    let client = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let op = &target.file.operators[0];
    let ctx = json!({
        "operator": {"username": op.username.get_ref(), "password": op.password},
        "nik": "3313014107890003",
        "values": {},
    });
    let (status, headers, _) = send(&client, &app.url, &http.login, &ctx);
    assert_eq!(status, 200);
    let Some(Capture::Cookie(name)) = &http.login.capture else {
        panic!("expected a cookie capture")
    };
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");

    let (status, _, answer) = send(&client, &app.url, &http.lookup, &ctx);
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "gateway_error");
    let Recogniser::Contains(needle) = &http.presents_resident else {
        panic!("expected a `contains` recogniser")
    };
    let text = serde_json::to_string(&answer).unwrap();
    assert!(!text.contains(needle.as_str()), "{text}");
    // The same recogniser does fire on a found answer's serialised form.
    let found = rsud_app::service::LookupView::Found(Default::default()).to_json();
    assert!(serde_json::to_string(&found)
        .unwrap()
        .contains(needle.as_str()));

    for values in [
        BTreeMap::new(),
        BTreeMap::from([
            ("GOL_DARAH", "AB"),
            ("NO_SURAT_KEMATIAN", "474.3/SKK/2026/9"),
        ]),
    ] {
        let ctx = json!({"operator": ctx["operator"], "nik": "3313014107890003", "values": values});
        for event in ["register_patient", "record_death"] {
            let r = &http.events[event];
            let (status, _, v) = send(&client, &app.url, r, &ctx);
            assert_eq!(status, 200, "{event}: {v}");
            assert_eq!(v["no_rm"], "RM-000001", "{event}");
        }
    }
}
