//! A regency sandbox (issue 17): many institutions on one mock. Institution admin tokens reach
//! their own institution only (table-driven over every admin route of
//! `dukcapil_mock_api::ROUTES`, so a route added later must be placed in the table), a scoped
//! reset leaves the other institutions intact, and settings name their mistakes by line.

use serde_json::{json, Value};

use crate::support::{command, Answer, MockServer, ADMIN_TOKEN, DINKES, RSUD};

const RSUD_TOKEN: &str = "rsud-admin-token-1";
const DINKES_TOKEN: &str = "dinkes-admin-token-1";

/// A mock whose settings file gives RSUD and Dinkes their own admin tokens.
fn sandbox() -> (MockServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox.toml");
    std::fs::write(
        &config,
        format!(
            "[institutions.rsud_3313]\nadmin_token = \"{RSUD_TOKEN}\"\n\n[institutions.dinkes_3313]\nadmin_token = \"{DINKES_TOKEN}\"\n\n[[portal_operators]]\ninstitution = \"dinkes_3313\"\nusername = \"petugas.dinkes\"\npassword = \"sandi-portal-dinkes\"\n"
        ),
    )
    .unwrap();
    let mock = MockServer::start(&["--config", config.to_str().unwrap()]);
    (mock, dir)
}

fn call(
    mock: &MockServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string().into_bytes());
    mock.request(&mock.client(), method, path, body, Some(token))
}

/// What Dinkes holds, as the operator reads it: journal rows, quota used, its switches, its
/// fault rules, its clock and its canary.
fn dinkes_state(mock: &MockServer, canary: &str) -> Value {
    let journal = mock.journal_all("customer_id=dinkes_3313");
    let quota = mock.quota("dinkes_3313");
    let (_, institutions) = mock.admin("GET", "/__admin/institutions", None);
    let inst = institutions["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer_id"] == "dinkes_3313")
        .cloned()
        .unwrap();
    let (_, faults) = mock.admin("GET", "/__admin/faults?customer_id=dinkes_3313", None);
    let (_, clock) = mock.admin("GET", "/__admin/clock?customer_id=dinkes_3313", None);
    let (canary_status, _) = mock.admin("GET", &format!("/__admin/residents/{canary}"), None);
    let (_, ledger) = mock.admin("GET", "/__admin/balikan?customer_id=dinkes_3313", None);
    let (_, portal) = mock.admin("GET", "/__admin/portal/operators", None);
    let portal: Vec<Value> = portal["operators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["customer_id"] == "dinkes_3313")
        .map(|o| o["username"].clone())
        .collect();
    json!({
        "journal": journal.len(),
        "used": quota["used"],
        "limit": quota["limit"],
        "user_active": inst["user_active"],
        "ip_user": inst["ip_user"],
        "faults": faults["faults"].as_array().unwrap().iter().map(|f| f["id"].clone()).collect::<Vec<_>>(),
        "institution_offset": clock["institution_offset_seconds"].as_f64().map(|s| s.round()),
        "canary": canary_status,
        "ledger": ledger["entries"].as_array().map(Vec::len),
        "portal_operators": portal,
    })
}

/// What an RSUD token may do on a route, asked about Dinkes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 403: the token names another institution.
    Forbidden,
    /// 404: another institution's object is not there for this token.
    Hidden,
    /// 200: sandbox-wide and without institution data (dataset, the OpenAPI document).
    Shared,
    /// The dashboard without its session: 303 to its login page, or 401. The dashboard is the
    /// sandbox operator's: an institution's token neither opens its pages nor logs in.
    Refused,
}

/// Every admin route, asked about Dinkes with RSUD's token: the request, and what must come back.
/// A route missing here fails the test: whoever adds an admin route decides its scope here.
fn case(method: &str, route: &str, canary: &str, rule: u64) -> (String, Option<Value>, Expect) {
    let other = "customer_id=dinkes_3313";
    let p = |path: String, body: Option<Value>, e: Expect| (path, body, e);
    if route.starts_with(dukcapil_mock_api::DASHBOARD) {
        let path = route
            .replace("{customer_id}", "dinkes_3313")
            .replace("{id}", &rule.to_string());
        let expect = if (method, route) == ("GET", "/__admin/ui/login") {
            Expect::Shared
        } else {
            Expect::Refused
        };
        return p(path, None, expect);
    }
    match (method, route) {
        ("GET", "/__admin/clock") => p(format!("/__admin/clock?{other}"), None, Expect::Forbidden),
        ("POST", "/__admin/clock") => p(
            format!("/__admin/clock?{other}"),
            Some(json!({"advance_seconds": 86400})),
            Expect::Forbidden,
        ),
        ("GET", "/__admin/quota/{customer_id}") => {
            p("/__admin/quota/dinkes_3313".into(), None, Expect::Forbidden)
        }
        ("PUT", "/__admin/quota/{customer_id}") => p(
            "/__admin/quota/dinkes_3313".into(),
            Some(json!({"used": 0, "limit": 1})),
            Expect::Forbidden,
        ),
        ("GET", "/__admin/journal") => p(format!("/__admin/journal?{other}"), None, Expect::Forbidden),
        ("GET", "/__admin/usage") => p(format!("/__admin/usage?{other}"), None, Expect::Forbidden),
        ("GET", "/__admin/detector") => {
            p(format!("/__admin/detector?{other}"), None, Expect::Forbidden)
        }
        ("GET", "/__admin/dataset") => p("/__admin/dataset".into(), None, Expect::Shared),
        ("GET", "/__admin/institutions") => {
            // The list has no customer_id parameter: RSUD's token lists RSUD only (checked below).
            p("/__admin/institutions".into(), None, Expect::Shared)
        }
        // Which institutions there are is the sandbox operator's alone.
        ("POST", "/__admin/institutions") => p(
            "/__admin/institutions".into(),
            Some(json!({"customer_id": "pkm_penyusup", "agreement": "dinkes-karanganyar"})),
            Expect::Forbidden,
        ),
        ("DELETE", "/__admin/institutions/{customer_id}") => p(
            "/__admin/institutions/dinkes_3313".into(),
            None,
            Expect::Forbidden,
        ),
        ("PATCH", "/__admin/institutions/{customer_id}") => p(
            "/__admin/institutions/dinkes_3313".into(),
            Some(json!({"user_active": true, "ip_user": "10.9.9.9"})),
            Expect::Forbidden,
        ),
        ("POST", "/__admin/institutions/{customer_id}/token") => p(
            "/__admin/institutions/dinkes_3313/token".into(),
            None,
            Expect::Forbidden,
        ),
        ("POST", "/__admin/residents") => p(
            format!("/__admin/residents?{other}"),
            Some(json!({"NAMA_LGKP": "BUKAN MILIKKU"})),
            Expect::Forbidden,
        ),
        ("GET", "/__admin/residents/{nik}") => {
            p(format!("/__admin/residents/{canary}"), None, Expect::Hidden)
        }
        ("PATCH", "/__admin/residents/{nik}") => p(
            format!("/__admin/residents/{canary}"),
            Some(json!({"STATUS": "deceased"})),
            Expect::Hidden,
        ),
        ("GET", "/__admin/openapi.json") => p("/__admin/openapi.json".into(), None, Expect::Shared),
        ("POST", "/__admin/reset") => p(format!("/__admin/reset?{other}"), None, Expect::Forbidden),
        ("GET", "/__admin/balikan") => p(format!("/__admin/balikan?{other}"), None, Expect::Forbidden),
        ("GET", "/__admin/faults") => p(format!("/__admin/faults?{other}"), None, Expect::Forbidden),
        ("POST", "/__admin/faults") => p(
            "/__admin/faults".into(),
            Some(json!({"institution": "dinkes_3313", "action": {"type": "close"}})),
            Expect::Forbidden,
        ),
        ("DELETE", "/__admin/faults") => {
            p(format!("/__admin/faults?{other}"), None, Expect::Forbidden)
        }
        ("GET", "/__admin/faults/{id}") => p(format!("/__admin/faults/{rule}"), None, Expect::Hidden),
        ("DELETE", "/__admin/faults/{id}") => {
            p(format!("/__admin/faults/{rule}"), None, Expect::Hidden)
        }
        ("GET", "/__admin/portal/operators") => {
            // No customer_id parameter: RSUD's token lists RSUD's accounts only (checked below).
            p("/__admin/portal/operators".into(), None, Expect::Shared)
        }
        ("POST", "/__admin/portal/operators") => p(
            "/__admin/portal/operators".into(),
            Some(json!({"customer_id": "dinkes_3313", "username": "penyusup", "password": "sandi-penyusup-1"})),
            Expect::Forbidden,
        ),
        ("DELETE", "/__admin/portal/operators/{customer_id}/{username}") => p(
            "/__admin/portal/operators/dinkes_3313/petugas.dinkes".into(),
            None,
            Expect::Forbidden,
        ),
        other => panic!(
            "admin route {other:?} has no row in sandbox::case: decide what an institution token may do there"
        ),
    }
}

#[test]
fn an_institution_token_cannot_read_or_change_another_institution_on_any_admin_route() {
    let (mock, _dir) = sandbox();
    let client = mock.client();
    for _ in 0..3 {
        mock.lookup(
            &client,
            &DINKES,
            &mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0],
            "petugas.dinkes",
        );
    }
    mock.lookup(
        &client,
        &RSUD,
        &mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0],
        "petugas.rsud",
    );
    // Dinkes' own state: a switch, a fault rule, a canary, a balikan entry and its own clock.
    let (s, v) = call(
        &mock,
        DINKES_TOKEN,
        "PATCH",
        "/__admin/institutions/dinkes_3313",
        Some(json!({"user_active": false})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(
        &mock,
        DINKES_TOKEN,
        "POST",
        "/__admin/faults",
        Some(json!({"endpoint": "verify", "action": {"type": "status", "code": 503}})),
    );
    assert_eq!(s, 201, "{v}");
    let rule = v["id"].as_u64().unwrap();
    let (s, v) = call(
        &mock,
        DINKES_TOKEN,
        "POST",
        "/__admin/residents",
        Some(json!({"NAMA_LGKP": "KANARI DINKES"})),
    );
    assert_eq!(s, 201, "{v}");
    let canary = v["residents"][0]["NIK"]
        .to_string()
        .trim_matches('"')
        .to_string();
    let (s, v) = call(
        &mock,
        DINKES_TOKEN,
        "POST",
        "/__admin/clock",
        Some(json!({"advance_seconds": 3600})),
    );
    assert_eq!(s, 200, "{v}");
    let store = json!([{"id_lembaga": "dinkes_3313", "nama_lembaga": "DINKES",
        "data": [{"NIK": mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0], "param": [{"NO_RM": "RM-1"}]}]}]);
    let (s, v) = mock.request(
        &client,
        "POST",
        "/data_balikan/public/api/store",
        Some(store.to_string().into_bytes()),
        Some("balikan-dinkes-3313-dummy"),
    );
    assert_eq!(s, 200, "{v}");
    let before = dinkes_state(&mock, &canary);
    assert_eq!(before["journal"], 4, "{before}");

    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The dashboard's login takes the sandbox operator's token only.
    let res = no_redirects
        .post(mock.url(&format!("{}/login", dukcapil_mock_api::DASHBOARD)))
        .form(&[("token", RSUD_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        401,
        "an institution token opened the dashboard"
    );
    assert!(res.headers().get("set-cookie").is_none());
    let mut covered = 0;
    for (method, route) in dukcapil_mock_api::ROUTES {
        if !route.starts_with(dukcapil_mock_api::ADMIN_PREFIX) {
            continue;
        }
        covered += 1;
        let (path, body, expect) = case(method, route, &canary, rule);
        let (status, answer) = if route.starts_with(dukcapil_mock_api::DASHBOARD) {
            // As a browser's form would send it, with RSUD's token as bearer and as the login's
            // token; redirects are the answer here, not followed.
            let res = no_redirects
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    mock.url(&path),
                )
                .bearer_auth(RSUD_TOKEN)
                .form(&[
                    ("token", RSUD_TOKEN),
                    ("csrf", "x"),
                    ("key", "active"),
                    ("value", "false"),
                ])
                .send()
                .unwrap();
            assert!(res.headers().get("set-cookie").is_none(), "{method} {path}");
            let status = res.status().as_u16();
            (status, Value::String(res.text().unwrap_or_default()))
        } else {
            call(&mock, RSUD_TOKEN, method, &path, body.clone())
        };
        let text = answer.to_string();
        match expect {
            Expect::Forbidden => assert_eq!(status, 403, "{method} {path}: {text}"),
            Expect::Hidden => assert_eq!(status, 404, "{method} {path}: {text}"),
            Expect::Shared => assert_eq!(status, 200, "{method} {path}: {text}"),
            Expect::Refused => assert!(
                status == 303 || status == 401,
                "{method} {path}: {status} {text}"
            ),
        }
        if route.starts_with(dukcapil_mock_api::DASHBOARD) {
            assert!(
                !text.contains("dinkes_3313") && !text.contains("petugas.dinkes"),
                "{method} {path} showed Dinkes: {text}"
            );
            continue;
        }
        if route != &"/__admin/openapi.json" {
            assert!(
                !text.contains("petugas.dinkes")
                    && !text.contains("KANARI")
                    && !text.contains("RM-1"),
                "{method} {path} leaked Dinkes' data: {text}"
            );
        }
        // The same route without naming Dinkes is RSUD's own, and shows nothing of Dinkes.
        if *method == "GET" && expect != Expect::Hidden {
            let own = path
                .split('?')
                .next()
                .unwrap()
                .replace("dinkes_3313", "rsud_3313");
            let (status, answer) = call(&mock, RSUD_TOKEN, "GET", &own, None);
            let text = answer.to_string();
            assert_eq!(status, 200, "{own}: {text}");
            if own != "/__admin/openapi.json" {
                assert!(
                    !text.contains("dinkes_3313"),
                    "GET {own} with RSUD's token shows Dinkes: {text}"
                );
            }
        }
    }
    assert!(covered >= 20, "only {covered} admin routes");
    // RSUD's token does to RSUD what it may: its own reset, clock, fault clearing.
    for (method, path) in [("POST", "/__admin/reset"), ("DELETE", "/__admin/faults")] {
        let (s, v) = call(&mock, RSUD_TOKEN, method, path, None);
        assert_eq!(s, 200, "{method} {path}: {v}");
    }
    let (s, v) = call(
        &mock,
        RSUD_TOKEN,
        "POST",
        "/__admin/clock",
        Some(json!({"advance_seconds": 7200})),
    );
    assert_eq!(s, 200, "{v}");
    let after = dinkes_state(&mock, &canary);
    assert_eq!(before, after, "RSUD's token changed Dinkes");
    assert!(
        mock.journal_all("customer_id=rsud_3313").is_empty(),
        "RSUD's reset emptied its journal"
    );
    // The unscoped reset is the operator's alone, and really resets everyone.
    let (s, v) = mock.admin("POST", "/__admin/reset", None);
    assert_eq!((s, v["reset"].clone()), (200, json!(true)), "{v}");
    assert!(mock.journal_all("customer_id=dinkes_3313").is_empty());
    // An unknown customer id is an error, never ignored.
    let (s, v) = mock.admin("POST", "/__admin/reset?customer_id=dinkes_331", None);
    assert_eq!(s, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains("dinkes_331"), "{v}");
}

#[test]
fn a_scoped_reset_leaves_other_institutions_journal_quota_and_switches_intact() {
    let (mock, _dir) = sandbox();
    let client = mock.client();
    let nik = mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0].clone();
    for _ in 0..2 {
        mock.lookup(&client, &RSUD, &nik, "petugas.rsud");
        mock.lookup(&client, &DINKES, &nik, "petugas.dinkes");
    }
    for cid in ["rsud_3313", "dinkes_3313"] {
        let (s, v) = mock.admin(
            "PATCH",
            &format!("/__admin/institutions/{cid}"),
            Some(json!({"access_hours": "07:00-16:00", "quota_per_day": 50})),
        );
        assert_eq!(s, 200, "{v}");
    }
    for cid in ["rsud_3313", "dinkes_3313"] {
        let account = json!({"customer_id": cid, "username": "petugas.tambahan", "password": "sandi-tambahan-1"});
        let (s, v) = mock.admin("POST", "/__admin/portal/operators", Some(account));
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = mock.admin("POST", "/__admin/reset?customer_id=rsud_3313", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["customer_id"], "rsud_3313");
    let (_, accounts) = mock.admin("GET", "/__admin/portal/operators", None);
    let owners: Vec<&str> = accounts["operators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["username"] == "petugas.tambahan")
        .map(|o| o["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        ["dinkes_3313"],
        "only RSUD's portal account went: {accounts}"
    );
    assert!(mock.journal_all("customer_id=rsud_3313").is_empty());
    assert_eq!(mock.journal_all("customer_id=dinkes_3313").len(), 2);
    assert_eq!(mock.quota("rsud_3313")["used"], 0);
    assert_eq!(
        mock.quota("rsud_3313")["limit"],
        1000,
        "RSUD's agreement quota again"
    );
    assert_eq!(mock.quota("dinkes_3313")["used"], 2);
    assert_eq!(mock.quota("dinkes_3313")["limit"], 50);
    let (_, list) = mock.admin("GET", "/__admin/institutions", None);
    let hours = |cid: &str| {
        list["institutions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["customer_id"] == cid)
            .unwrap()["access_hours"]
            .clone()
    };
    assert_eq!(hours("rsud_3313"), Value::Null);
    assert!(hours("dinkes_3313").is_object(), "{list}");
    // With the operator's token, the institution's token and the admin token are different
    // keys to the same scoped reset.
    let (s, _) = mock.request(
        &client,
        "POST",
        "/__admin/reset?customer_id=dinkes_3313",
        None,
        Some(ADMIN_TOKEN),
    );
    assert_eq!(s, 200);
    assert!(mock.journal_all("customer_id=dinkes_3313").is_empty());
}

#[test]
fn a_settings_block_for_an_unknown_customer_id_is_an_error_naming_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox.toml");
    std::fs::write(
        &config,
        "seed = 1\n\n[institutions.rsud_3313]\nquota_per_day = 5\n\n[institutions.rsud_331]\nquota_per_day = 5\n",
    )
    .unwrap();
    let out = command("mock-server")
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sandbox.toml:6"), "{err}");
    assert!(
        err.contains("rsud_331") && err.contains("did you mean `rsud_3313`"),
        "{err}"
    );
}

#[test]
fn institution_tokens_in_settings_must_be_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox.toml");
    std::fs::write(
        &config,
        "[institutions.rsud_3313]\nadmin_token = \"same-token-1\"\n[institutions.dinkes_3313]\nadmin_token = \"same-token-1\"\n",
    )
    .unwrap();
    let out = command("mock-server")
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sandbox.toml:1: institutions.rsud_3313") && err.contains("`dinkes_3313`"),
        "{err}"
    );
}

/// Two PoC sessions for two agencies on one shared mock at the same time (`--mock-url` with the
/// sandbox operator's token): each resets, reads and changes only its own institution, so both
/// end with their right verdicts (RSUD compliant: LULUS; the sub-district office's application
/// with a constant User_ID: TIDAK LULUS on exactly that check), and each result holds only its
/// own institution's journal rows.
#[test]
fn two_poc_sessions_for_two_agencies_share_one_mock_at_once() {
    let mock = MockServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pack = crate::poc_session::one_test_pack(dir.path(), "T-USER-ID-01");
    let jobs = [
        ("rsud-karanganyar", "rsud_3313", ""),
        (
            "kecamatan-jumantono",
            "kec_jumantono_3313",
            "constant-user-id",
        ),
    ];
    let sessions: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(agreement, _, defects)| {
                let (pack, base) = (&pack, &mock.base);
                s.spawn(move || {
                    let text = crate::poc_session::target_for(agreement).replace(
                        "RSUD_APP_DEFECTS = \"\"",
                        &format!("RSUD_APP_DEFECTS = \"{defects}\""),
                    );
                    crate::poc_session::session_with_args(
                        &text,
                        pack,
                        None,
                        &["--mock-url", base, "--admin-token", ADMIN_TOKEN],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((agreement, cid, defects), sess) in jobs.iter().zip(&sessions) {
        let r = sess
            .result
            .as_ref()
            .unwrap_or_else(|| panic!("{agreement}: no result\n{}", sess.text()));
        let failing: Vec<String> = sess
            .checks()
            .into_iter()
            .filter(|c| c.2 == "fail")
            .map(|c| format!("{}/{}", c.0, c.1))
            .collect();
        if defects.is_empty() {
            assert_eq!(
                r["verdict"],
                "LULUS",
                "{agreement}: {failing:?}\n{}",
                sess.text()
            );
        } else {
            assert_eq!(r["verdict"], "TIDAK LULUS", "{agreement}\n{}", sess.text());
            assert_eq!(failing, ["T-USER-ID-01/user_id_propagation"], "{agreement}");
        }
        let rows = r["journal"]["rows"].as_array().expect("journal rows");
        assert!(!rows.is_empty(), "{agreement}: no journal rows");
        for row in rows {
            assert_eq!(row["customer_id"], *cid, "{agreement}'s result holds {row}");
        }
    }
    // Both sessions' calls are still in the mock: neither reset wiped the other.
    assert!(!mock.journal_all("customer_id=rsud_3313").is_empty());
    assert!(!mock
        .journal_all("customer_id=kec_jumantono_3313")
        .is_empty());
}

/// `fixtures/sandboxes/karanganyar.toml` as the README's "Running a regency sandbox" uses it:
/// the regency's agencies and three puskesmas under the health office's agreement, each with
/// its credentials and token handed out by `fixtures`; a puskesmas looks up with its own
/// credentials against its own quota, its token reaches itself only, and the operator resets
/// one agency.
#[test]
fn the_karanganyar_sandbox_serves_its_agencies_and_puskesmas_apart() {
    let config = crate::readme::root().join("fixtures/sandboxes/karanganyar.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = command("mock-server")
        .args([
            "fixtures",
            "--population",
            "2000",
            "--format",
            "json",
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let institutions = doc["institutions"].as_array().unwrap();
    let pkm = institutions
        .iter()
        .find(|i| i["customer_id"] == "pkm_jatipuro_3313")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(pkm["user_id"], "pkm_jatipuro_3313");
    assert_eq!(pkm["password"], "dummy-pkm-jatipuro-3313");
    assert_eq!(pkm["quota_per_day"], 200);
    assert_eq!(pkm["admin_token"], "ganti-token-pkm-jatipuro-3313");
    for cid in [
        "rsud_3313",
        "dinkes_3313",
        "kec_jumantono_3313",
        "pkm_jumantono_3313",
        "pkm_karanganyar_3313",
    ] {
        let i = institutions
            .iter()
            .find(|i| i["customer_id"] == cid)
            .unwrap_or_else(|| panic!("{cid}"));
        assert!(
            i["admin_token"]
                .as_str()
                .is_some_and(|t| t.starts_with("ganti-token-")),
            "{i}"
        );
    }

    let mock = MockServer::start(&["--config", config.to_str().unwrap()]);
    let client = mock.client();
    let nik = mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0].clone();
    let body = json!({"nik": nik, "user_id": "pkm_jatipuro_3313", "password": "dummy-pkm-jatipuro-3313",
        "ip_user": "127.0.0.1", "User_ID": "bidan.sari"});
    let (s, v) = mock.post("/dukcapil/get_json/pkm_jatipuro_3313/CALL_NIK", &body);
    assert_eq!(s, 200);
    assert!(crate::support::Answer::of(&v).is_data(), "{v}");
    mock.lookup(&client, &DINKES, &nik, "petugas.dinkes");
    let token = "ganti-token-pkm-jatipuro-3313";
    let (s, q) = call(
        &mock,
        token,
        "GET",
        "/__admin/quota/pkm_jatipuro_3313",
        None,
    );
    assert_eq!(
        (s, q["used"].clone(), q["limit"].clone()),
        (200, json!(1), json!(200)),
        "{q}"
    );
    let (s, _) = call(&mock, token, "GET", "/__admin/quota/dinkes_3313", None);
    assert_eq!(s, 403);
    let (s, v) = call(&mock, token, "GET", "/__admin/journal", None);
    assert_eq!(s, 200);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{v}");
    // The operator resets one agency; the others keep their rows.
    let (s, _) = mock.admin("POST", "/__admin/reset?customer_id=pkm_jatipuro_3313", None);
    assert_eq!(s, 200);
    assert!(mock.journal_all("customer_id=pkm_jatipuro_3313").is_empty());
    assert_eq!(mock.journal_all("customer_id=dinkes_3313").len(), 1);
}

/// Quota exactness per institution with many at once: 50 institutions under one agreement, each
/// with a daily quota of 12, hit by 64 concurrent clients with 20 lookups each (1,000 in all,
/// interleaved): every institution gets exactly 12 answers with data and 8 with outcome 05, and
/// its quota and journal agree.
#[test]
fn quota_is_exact_per_institution_under_64_way_concurrency_across_50_institutions() {
    const INSTITUTIONS: usize = 50;
    const QUOTA: usize = 12;
    const EACH: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("many.toml");
    let mut text = String::new();
    for i in 0..INSTITUTIONS {
        text.push_str(&format!(
            "[institutions.pkm_{i:02}]\nagreement = \"dinkes-karanganyar\"\nquota_per_day = {QUOTA}\n\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    let mock = MockServer::start(&["--config", config.to_str().unwrap()]);
    let niks = mock.niks(dukcapil_domain::ResidentStatus::Active, 20);
    // Every (institution, n) once, shuffled by a stride so neighbours are different institutions.
    let calls: Vec<(usize, usize)> = (0..INSTITUTIONS * EACH)
        .map(|k| (k * 37) % (INSTITUTIONS * EACH))
        .map(|k| (k % INSTITUTIONS, k / INSTITUTIONS))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let answers = std::sync::Mutex::new(vec![Vec::new(); INSTITUTIONS]);
    let client = crate::support::load_client();
    std::thread::scope(|s| {
        for _ in 0..64 {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(i, n)) = calls.get(k) else { break };
                let cid = format!("pkm_{i:02}");
                let body = json!({"nik": niks[n % niks.len()], "user_id": cid, "password": format!("dummy-{cid}"),
                    "ip_user": "127.0.0.1", "User_ID": format!("op{n}")});
                let res = client
                    .post(mock.url(&format!("/dukcapil/get_json/{cid}/CALL_NIK")))
                    .json(&body)
                    .send()
                    .expect("answer");
                let v: Value = res.json().expect("JSON");
                answers.lock().unwrap()[i].push(crate::support::Answer::of(&v));
            });
        }
    });
    let answers = answers.into_inner().unwrap();
    for (i, got) in answers.iter().enumerate() {
        let cid = format!("pkm_{i:02}");
        let data = got.iter().filter(|a| a.is_data()).count();
        let exhausted = got
            .iter()
            .filter(|a| **a == crate::support::Answer::code("05"))
            .count();
        assert_eq!((data, exhausted), (QUOTA, EACH - QUOTA), "{cid}: {got:?}");
        let q = mock.quota(&cid);
        assert_eq!(q["used"], QUOTA, "{cid}: {q}");
        let rows = mock.journal_all(&format!("customer_id={cid}"));
        assert_eq!(rows.len(), EACH, "{cid}");
        assert_eq!(
            rows.iter().filter(|r| r["outcome"] == "05").count(),
            EACH - QUOTA,
            "{cid}"
        );
    }
}

/// A lookup of `nik` by institution `cid` with `user_id`/`password`: its answer.
fn lookup_as(mock: &MockServer, cid: &str, user: &str, password: &str, nik: &str) -> Answer {
    let body = json!({"nik": nik, "user_id": user, "password": password,
        "ip_user": "127.0.0.1", "User_ID": "bidan.rina"});
    let (s, v) = mock.post(&format!("/dukcapil/get_json/{cid}/CALL_NIK"), &body);
    assert_eq!(s, 200, "{v}");
    Answer::of(&v)
}

fn listed(mock: &MockServer) -> Vec<String> {
    let (_, v) = mock.admin("GET", "/__admin/institutions", None);
    v["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["customer_id"].as_str().unwrap().to_string())
        .collect()
}

/// Institutions added and removed through the admin API (issue 17, item 3): validated, served
/// at once (gateway, quota, balikan, tokens, fault rules), kept by resets and restarts; a removed
/// institution answers 03 and its tokens stop, while its journal rows stay on the record; a
/// removed configured institution comes back as configured.
#[test]
fn institutions_are_added_and_removed_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockServer::start_in(dir.path(), &[]);
    let nik = mock.niks(dukcapil_domain::ResidentStatus::Active, 1)[0].clone();
    let pkm = "pkm_tasikmadu_3313";

    // Refused with the reason: each names what is wrong.
    for (body, status, says) in [
        (
            json!({"agreement": "dinkes-karanganyar"}),
            400,
            "customer_id",
        ),
        (
            json!({"customer_id": "pkm/x", "agreement": "dinkes-karanganyar"}),
            400,
            "customer_id",
        ),
        (
            json!({"customer_id": pkm, "agreement": "dinkes-sragen"}),
            400,
            "dinkes-karanganyar",
        ),
        (
            json!({"customer_id": pkm, "agreement": "dinkes-karanganyar", "quota": 5}),
            400,
            "quota",
        ),
        (
            json!({"customer_id": pkm, "agreement": "dinkes-karanganyar", "quota_per_day": "lima"}),
            400,
            "quota_per_day",
        ),
        (
            json!({"customer_id": pkm, "agreement": "dinkes-karanganyar", "balikan_token": "balikan-dinkes-3313-dummy"}),
            400,
            "dinkes_3313",
        ),
        (
            json!({"customer_id": pkm, "agreement": "dinkes-karanganyar", "methods": {"call nik": "lookup"}}),
            400,
            "methods",
        ),
        (
            json!({"customer_id": "dinkes_3313", "agreement": "dinkes-karanganyar"}),
            409,
            "dinkes_3313",
        ),
        (json!({"customer_id": "pkm_lain"}), 400, "agreement"),
    ] {
        let (s, v) = mock.admin("POST", "/__admin/institutions", Some(body.clone()));
        assert_eq!(s, status, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    assert!(!listed(&mock).contains(&pkm.to_string()));
    // A faulted request before the institution exists: the fault layer has read who is who.
    let (s, v) = mock.admin(
        "POST",
        "/__admin/faults",
        Some(json!({"institution": "dinkes_3313", "endpoint": "balikan_store", "action": {"type": "status", "code": 503}})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _) = mock.request(
        &mock.client(),
        "POST",
        "/data_balikan/public/api/store",
        Some(b"[]".to_vec()),
        Some("balikan-dinkes-3313-dummy"),
    );
    assert_eq!(s, 503);
    let (s, _) = mock.admin("DELETE", "/__admin/faults", None);
    assert_eq!(s, 200);

    let (s, v) = mock.admin(
        "POST",
        "/__admin/institutions",
        Some(
            json!({"customer_id": pkm, "agreement": "dinkes-karanganyar",
            "name": "UPTD PUSKESMAS TASIKMADU", "quota_per_day": 2}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let password = v["password"].as_str().unwrap().to_string();
    let balikan = v["balikan_token"].as_str().unwrap().to_string();
    assert!(password.len() >= 32 && balikan.len() >= 32, "{v}");
    assert_eq!(v["institution"]["user_id"], pkm, "{v}");
    assert_eq!(v["institution"]["agreement"], "dinkes-karanganyar", "{v}");
    assert_eq!(v["institution"]["quota_per_day"], 2, "{v}");
    assert_eq!(v["institution"]["password_rotated"], false, "{v}");

    // Served at once: data, then the quota of its own; the health office's is untouched.
    assert!(lookup_as(&mock, pkm, pkm, &password, &nik).is_data());
    assert_eq!(
        lookup_as(&mock, pkm, pkm, "salah", &nik),
        Answer::code("03")
    );
    assert!(lookup_as(&mock, pkm, pkm, &password, &nik).is_data());
    assert_eq!(
        lookup_as(&mock, pkm, pkm, &password, &nik),
        Answer::code("05")
    );
    assert_eq!(mock.quota("dinkes_3313")["used"], 0);
    // Its balikan token, and a fault rule naming it on its balikan (the fault layer knows it).
    let store = |mock: &MockServer| {
        let body = json!([{"id_lembaga": pkm, "nama_lembaga": "PKM",
            "data": [{"NIK": nik, "param": [{"NO_RM": "RM-9"}]}]}]);
        mock.request(
            &mock.client(),
            "POST",
            "/data_balikan/public/api/store",
            Some(body.to_string().into_bytes()),
            Some(&balikan),
        )
    };
    let (s, v) = store(&mock);
    assert_eq!(s, 200, "{v}");
    let (s, v) = mock.admin(
        "POST",
        "/__admin/faults",
        Some(json!({"institution": pkm, "endpoint": "balikan_store", "action": {"type": "status", "code": 503}})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = store(&mock);
    assert_eq!(s, 503, "{v}");
    let (s, _) = mock.admin(
        "DELETE",
        &format!("/__admin/faults?customer_id={pkm}"),
        None,
    );
    assert_eq!(s, 200);
    // Its own admin token reaches it alone.
    let (s, t) = mock.admin("POST", &format!("/__admin/institutions/{pkm}/token"), None);
    assert_eq!(s, 201, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    let (s, v) = call(&mock, &token, "GET", "/__admin/journal", None);
    assert_eq!(s, 200);
    assert_eq!(v["rows"].as_array().unwrap().len(), 6, "{v}");
    let (s, _) = call(&mock, &token, "GET", "/__admin/quota/dinkes_3313", None);
    assert_eq!(s, 403);

    // The unscoped reset empties its journal and quota but keeps the institution.
    let (s, _) = mock.admin("POST", "/__admin/reset", None);
    assert_eq!(s, 200);
    assert!(listed(&mock).contains(&pkm.to_string()));
    assert!(lookup_as(&mock, pkm, pkm, &password, &nik).is_data());
    assert_eq!(
        mock.quota(pkm)["limit"],
        2,
        "its own quota is its configuration"
    );

    // And a restart: the state file kept it, its password only as a hash.
    drop(mock);
    let state = std::fs::read(dir.path().join("state.sqlite")).unwrap();
    assert!(
        !state
            .windows(password.len())
            .any(|w| w == password.as_bytes()),
        "the password reached the state file"
    );
    let mock = MockServer::start_in(dir.path(), &[]);
    assert!(lookup_as(&mock, pkm, pkm, &password, &nik).is_data());
    assert_eq!(
        lookup_as(&mock, pkm, pkm, &password, &nik),
        Answer::code("05")
    );
    let (s, _) = call(&mock, &token, "GET", &format!("/__admin/quota/{pkm}"), None);
    assert_eq!(s, 200);

    // Removed: the gateway no longer knows it, its token stops; its journal rows stay.
    let (s, v) = mock.admin("DELETE", &format!("/__admin/institutions/{pkm}"), None);
    assert_eq!((s, v["customer_id"].clone()), (200, json!(pkm)), "{v}");
    assert_eq!(
        lookup_as(&mock, pkm, pkm, &password, &nik),
        Answer::code("03")
    );
    let (s, _) = call(&mock, &token, "GET", "/__admin/journal", None);
    assert_eq!(s, 401);
    let rows = mock.journal_all("");
    assert!(rows.iter().filter(|r| r["customer_id"] == pkm).count() >= 3);
    let (s, _) = mock.admin("DELETE", &format!("/__admin/institutions/{pkm}"), None);
    assert_eq!(s, 404);

    // A configured institution: removed across a restart, then back as configured.
    let (s, _) = mock.admin("DELETE", "/__admin/institutions/rsud_3313", None);
    assert_eq!(s, 200);
    let mock = mock.crash_and_restart(&[]);
    assert!(!listed(&mock).contains(&"rsud_3313".to_string()));
    let rsud = |m: &MockServer| lookup_as(m, "rsud_3313", RSUD.user_id, RSUD.password, &nik);
    assert_eq!(rsud(&mock), Answer::code("03"));
    let (s, v) = mock.admin(
        "POST",
        "/__admin/institutions",
        Some(json!({"customer_id": "rsud_3313", "quota_per_day": 5})),
    );
    assert_eq!(
        s, 400,
        "a configured institution comes back as configured: {v}"
    );
    let (s, v) = mock.admin(
        "POST",
        "/__admin/institutions",
        Some(json!({"customer_id": "rsud_3313"})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["password"], Value::Null, "{v}");
    assert!(rsud(&mock).is_data());
    assert!(listed(&mock).contains(&"rsud_3313".to_string()));
    // A password the body gave is not answered back.
    let (s, v) = mock.admin(
        "POST",
        "/__admin/institutions",
        Some(json!({"customer_id": "pkm_colomadu_3313", "agreement": "dinkes-karanganyar", "password": "sandi-colomadu"})),
    );
    assert_eq!((s, v["password"].clone()), (201, Value::Null), "{v}");
    assert!(lookup_as(
        &mock,
        "pkm_colomadu_3313",
        "pkm_colomadu_3313",
        "sandi-colomadu",
        &nik
    )
    .is_data());
}
