//! Authentication, table-driven over every endpoint the router serves (`dukcapil_mock_api::ROUTES`,
//! so routes added later are covered too): wrong or missing credentials, tokens or admin tokens
//! never yield data or admin access. Asserted on the bodies, not only on status codes.

use dukcapil_domain::ResidentStatus;
use serde_json::{json, Map, Value};

use crate::support::{load_client, Answer, MockServer, ADMIN_TOKEN, RSUD};

/// The keys an error object of the gateway may hold; anything else would be data or verdicts.
const ERROR_KEYS: &[&str] = &["RESPON", "RESPONSE_CODE", "RESPONSE_DESC", "RESPONSE"];

/// Asserts that a gateway answer carries no resident data and says `code`.
fn assert_refused(case: &str, path: &str, status: u16, body: &Value, code: &str) {
    let text = body.to_string();
    assert!(
        !text.contains("NAMA_LGKP"),
        "{case} on {path}: data leaked: {text}"
    );
    let item = body
        .pointer("/content/0")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{case} on {path}: not the envelope: {text}"));
    assert!(
        item.keys().all(|k| ERROR_KEYS.contains(&k.as_str())),
        "{case} on {path}: unexpected keys: {text}"
    );
    assert_eq!(
        Answer::of(body),
        Answer::code(code),
        "{case} on {path} (HTTP {status}): {text}"
    );
}

/// A body with RSUD's credentials, the NIK and one element to verify, changed by `f`.
fn body_with(nik: &str, f: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let mut m = RSUD.body(nik, "petugas.auth").as_object().cloned().unwrap();
    m.insert("NAMA_LGKP".into(), json!("SIAPA SAJA"));
    f(&mut m);
    Value::Object(m).to_string().into_bytes()
}

type Patch = fn(&mut Map<String, Value>);

/// Credential cases of the gateway: (name, change to a correct body, expected outcome code).
const CREDENTIAL_CASES: &[(&str, Patch, &str)] = &[
    ("missing user_id", |m| drop(m.remove("user_id")), "09"),
    (
        "empty user_id",
        |m| drop(m.insert("user_id".into(), json!(""))),
        "09",
    ),
    (
        "blank user_id",
        |m| drop(m.insert("user_id".into(), json!("   "))),
        "09",
    ),
    ("missing password", |m| drop(m.remove("password")), "09"),
    (
        "empty password",
        |m| drop(m.insert("password".into(), json!(""))),
        "09",
    ),
    ("missing ip_user", |m| drop(m.remove("ip_user")), "09"),
    ("nothing but the NIK", |m| m.retain(|k, _| k == "nik"), "09"),
    (
        "wrong password",
        |m| drop(m.insert("password".into(), json!("salah"))),
        "03",
    ),
    (
        "password in other case",
        |m| drop(m.insert("password".into(), json!("DUMMY-RSUD-3313"))),
        "03",
    ),
    (
        "password with a trailing space",
        |m| drop(m.insert("password".into(), json!("dummy-rsud-3313 "))),
        "03",
    ),
    (
        "SQL-looking password",
        |m| drop(m.insert("password".into(), json!("' OR '1'='1"))),
        "03",
    ),
    (
        "another institution's user id",
        |m| drop(m.insert("user_id".into(), json!("dinkes_3313"))),
        "03",
    ),
    (
        "another institution's user and password",
        |m| {
            m.insert("user_id".into(), json!("dinkes_3313"));
            m.insert("password".into(), json!("dummy-dinkes-3313"));
        },
        "03",
    ),
    (
        "the admin token as password",
        |m| drop(m.insert("password".into(), json!(ADMIN_TOKEN))),
        "03",
    ),
    (
        "NoSQL-looking password object",
        |m| drop(m.insert("password".into(), json!({"$ne": ""}))),
        "07",
    ),
    (
        "password as true",
        |m| drop(m.insert("password".into(), json!(true))),
        "07",
    ),
    (
        "user id as array",
        |m| drop(m.insert("user_id".into(), json!(["rsud_3313"]))),
        "07",
    ),
    (
        "unregistered IP in the body",
        |m| drop(m.insert("ip_user".into(), json!("10.1.2.3"))),
        "04",
    ),
];

#[test]
fn gateway_credentials_never_yield_data() {
    // `both`: the body's IP_USER is judged too (the default `source` takes any text there, as
    // the real gateway does, and every call here comes from the registered loopback address).
    let s = MockServer::start(&["--ip-policy", "both"]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let paths = [
        "/dukcapil/get_json/rsud_3313/CALL_NIK",
        "/dukcapil/get_json/33-13/rsud_3313/call_nik",
        "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN",
        "/dukcapil/get_json/33-13/rsud_3313/call_verify_by_elemen",
    ];
    let mut expected_rows = 0;
    let mut counted = 0;
    for path in paths {
        // The control: the same request with the right credentials does yield data, so the
        // refusals below are refusals and not a broken harness.
        let (status, body) = s.request(&client, "POST", path, Some(body_with(&nik, |_| {})), None);
        assert_eq!(status, 200);
        assert!(
            body.to_string().contains("NAMA_LGKP"),
            "control on {path}: {body}"
        );
        expected_rows += 1;
        counted += 1;
        for (case, patch, code) in CREDENTIAL_CASES {
            let (status, body) =
                s.request(&client, "POST", path, Some(body_with(&nik, patch)), None);
            assert_eq!(status, 200, "{case} on {path}: {body}");
            assert_refused(case, path, status, &body, code);
            expected_rows += 1;
        }
        // Both HTTP methods: GET is refused whatever the credentials (405, 07, no data).
        for (case, query) in [
            ("GET with correct credentials in the body", ""),
            (
                "GET with correct credentials in the query",
                "?USER_ID=rsud_3313&PASSWORD=dummy-rsud-3313&IP_USER=127.0.0.1&NIK=",
            ),
        ] {
            let url = format!("{path}{query}{}", if query.is_empty() { "" } else { &nik });
            let (status, body) =
                s.request(&client, "GET", &url, Some(body_with(&nik, |_| {})), None);
            assert_eq!(status, 405, "{case} on {path}: {body}");
            assert_refused(case, path, status, &body, "07");
            expected_rows += 1;
        }
        // A bearer token is no credential: the admin token alone is an empty login.
        let (status, body) = s.request(
            &client,
            "POST",
            path,
            Some(br#"{"nik":"1"}"#.to_vec()),
            Some(ADMIN_TOKEN),
        );
        assert_refused("admin token as bearer", path, status, &body, "09");
        expected_rows += 1;
    }

    // Path-borne identity: unknown or differently-cased customer id, someone else's region.
    for (case, path, code) in [
        (
            "unknown customer id",
            "/dukcapil/get_json/rsud_9999/CALL_NIK",
            "03",
        ),
        (
            "customer id in upper case",
            "/dukcapil/get_json/RSUD_3313/CALL_NIK",
            "03",
        ),
        (
            "another region",
            "/dukcapil/get_json/33-03/rsud_3313/CALL_NIK",
            "03",
        ),
        (
            "another institution's path",
            "/dukcapil/get_json/dinkes_3313/CALL_NIK",
            "03",
        ),
    ] {
        let (status, body) = s.request(&client, "POST", path, Some(body_with(&nik, |_| {})), None);
        assert_eq!(status, 200, "{case}: {body}");
        assert_refused(case, path, status, &body, code);
        expected_rows += 1;
    }

    // Every refusal is journaled; only the controls were counted against the quota.
    let rows = s.journal_all("");
    assert_eq!(rows.len(), expected_rows);
    assert_eq!(
        rows.iter().filter(|r| r["outcome"] == "01").count(),
        counted
    );
    assert_eq!(
        s.quota(RSUD.customer_id)["used"].as_u64(),
        Some(counted as u64)
    );
}

/// Every route the router serves: the mock's single list.
fn served_routes() -> Vec<(&'static str, &'static str)> {
    dukcapil_mock_api::ROUTES.to_vec()
}

/// Fills an OpenAPI-style path template with values that exist.
fn concrete(path: &str, nik: &str) -> String {
    path.replace("{customer_id}", RSUD.customer_id)
        .replace("{region}", RSUD.region)
        .replace("{method}", "CALL_NIK")
        .replace("{nik}", nik)
        .replace("{id}", "1")
        .replace("{username}", "petugas.auth")
}

/// Bearer headers that must all be refused: (name, `Authorization` value or none).
fn bad_tokens() -> Vec<(&'static str, Option<String>)> {
    vec![
        ("no token", None),
        ("empty bearer", Some("Bearer ".into())),
        ("wrong token", Some("Bearer not-the-token".into())),
        (
            "token in upper case",
            Some(format!("Bearer {}", ADMIN_TOKEN.to_uppercase())),
        ),
        (
            "token prefix",
            Some(format!("Bearer {}", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1])),
        ),
        (
            "token with a suffix",
            Some(format!("Bearer {ADMIN_TOKEN}x")),
        ),
        ("Basic scheme", Some(format!("Basic {ADMIN_TOKEN}"))),
        ("token without scheme", Some(ADMIN_TOKEN.to_string())),
        (
            "a balikan token",
            Some("Bearer balikan-rsud-3313-dummy".into()),
        ),
        ("a gateway password", Some("Bearer dummy-rsud-3313".into())),
    ]
}

#[test]
fn admin_routes_refuse_missing_and_wrong_tokens() {
    let s = MockServer::start(&[]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    // Some state to see whether a refused call changed it.
    assert!(s.lookup(&client, &RSUD, &nik, "before").is_data());
    let clock_before = s.admin("GET", "/__admin/clock", None).1;
    let quota_before = s.quota(RSUD.customer_id);
    let institutions_before = s.admin("GET", "/__admin/institutions", None);
    let faults_before = s.admin("GET", "/__admin/faults", None);
    assert_eq!(faults_before.0, 200, "{}", faults_before.1);

    let bodies = |path: &str| -> Vec<u8> {
        let b = if path.ends_with("/clock") {
            json!({"set": "2031-01-01T00:00:00Z"})
        } else if path.contains("/quota/") {
            json!({"used": 0, "limit": 5})
        } else if path.contains("/institutions/") {
            json!({"active": false})
        } else if path.contains("/faults") {
            json!({"endpoint": "any", "action": {"status": 500}})
        } else {
            json!({"STATUS": "meninggal", "NAMA_LGKP": "CANARY"})
        };
        b.to_string().into_bytes()
    };

    // The dashboard's pages take a session cookie instead (its own table below).
    let admin_routes: Vec<(&str, &str)> = served_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/__admin") && !p.starts_with(dukcapil_mock_api::DASHBOARD))
        .collect();
    assert!(admin_routes.len() >= 7, "{admin_routes:?}");
    // Paths and methods that do not exist are refused like the others without a valid token
    // (nobody learns which admin paths exist); with the token they are 404 / 405.
    let missing = [
        ("GET", "/__admin/no-such-route", 404),
        ("DELETE", "/__admin/reset", 405),
        ("POST", "/__admin/", 404),
    ];
    for (method, path, with_token) in missing {
        for (case, auth) in bad_tokens() {
            let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = client.request(method_, s.url(path));
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().expect("admin answers");
            let status = res.status().as_u16();
            let text = res.text().unwrap_or_default();
            assert_eq!(status, 401, "{case}: {method} {path}: {text}");
        }
        let (status, body) = s.request(&client, method, path, None, Some(ADMIN_TOKEN));
        assert_eq!(status, with_token, "{method} {path}: {body}");
    }
    for (method, template) in &admin_routes {
        let path = concrete(template, &nik);
        for (case, auth) in bad_tokens() {
            let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = client
                .request(method_, s.url(&path))
                .header("content-type", "application/json")
                .body(bodies(&path));
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().expect("admin answers");
            let status = res.status().as_u16();
            let text = res.text().unwrap_or_default();
            assert_eq!(status, 401, "{case}: {method} {path}: {text}");
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{case}: {method} {path}: not JSON: {text}"));
            let keys: Vec<&String> = v
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            assert_eq!(keys, ["error"], "{case}: {method} {path}: {text}");
            assert!(
                !text.contains("NAMA_LGKP") && !text.contains(&nik),
                "{text}"
            );
        }
        // The token in the query string is not a token either.
        let (status, _) = s.request(
            &client,
            method,
            &format!("{path}?token={ADMIN_TOKEN}&access_token={ADMIN_TOKEN}"),
            Some(bodies(&path)),
            None,
        );
        assert_eq!(status, 401, "query token: {method} {path}");
    }

    // Nothing the refused calls asked for happened.
    let clock_after = s.admin("GET", "/__admin/clock", None).1;
    assert_eq!(
        clock_after["offset_seconds"],
        clock_before["offset_seconds"]
    );
    assert_eq!(s.quota(RSUD.customer_id), quota_before);
    assert_eq!(
        s.admin("GET", "/__admin/institutions", None),
        institutions_before
    );
    assert_eq!(s.admin("GET", "/__admin/faults", None), faults_before);
    let rows = s.journal_all("");
    assert!(
        rows.iter().any(|r| r["operator"] == "before"),
        "journal was reset"
    );
    let (status, _) = s.admin("GET", &format!("/__admin/residents/{nik}"), None);
    assert_eq!(status, 200);
    assert!(
        s.lookup(&client, &RSUD, &nik, "after").is_data(),
        "resident was changed"
    );

    // And the right token is accepted on the same routes (so 401 above meant the token).
    let (status, body) = s.request(&client, "GET", "/__admin/clock", None, Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{body}");
}

/// The dashboard (`/__admin/ui`): without a session cookie no route but the login form answers
/// with a page or data, whatever bearer token is sent (the admin token included: it is typed
/// into the login form, never sent with each request); forms change nothing.
#[test]
fn dashboard_routes_refuse_requests_without_a_session() {
    let s = MockServer::start(&[]);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    assert!(s.lookup(&load_client(), &RSUD, &nik, "before").is_data());
    let institutions_before = s.admin("GET", "/__admin/institutions", None);
    let dashboard: Vec<(&str, &str)> = served_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with(dukcapil_mock_api::DASHBOARD))
        .collect();
    assert!(dashboard.len() >= 10, "{dashboard:?}");
    let login = format!("{}/login", dukcapil_mock_api::DASHBOARD);
    let mut tokens = bad_tokens();
    tokens.push((
        "the admin token as bearer",
        Some(format!("Bearer {ADMIN_TOKEN}")),
    ));
    for (method, template) in &dashboard {
        let path = concrete(template, &nik);
        for (case, auth) in &tokens {
            for cookie in [
                None,
                Some("mock_admin_ui=0123456789abcdef"),
                Some("mock_admin_ui="),
            ] {
                let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut req = client.request(method_, s.url(&path)).form(&[
                    ("token", "not-the-token"),
                    ("csrf", "x"),
                    ("key", "active"),
                    ("value", "false"),
                    ("endpoint", "any"),
                    ("action", "close"),
                ]);
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                if let Some(c) = cookie {
                    req = req.header("cookie", c);
                }
                let res = req.send().expect("dashboard answers");
                let status = res.status().as_u16();
                let location = res
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap_or("").to_string());
                assert!(
                    res.headers().get("set-cookie").is_none(),
                    "{case}: {method} {path}"
                );
                let text = res.text().unwrap_or_default();
                let case = format!("{case} ({cookie:?}): {method} {path}");
                if path == login {
                    // The form itself is public; a wrong token gets it again.
                    let want = if *method == "GET" { 200 } else { 401 };
                    assert_eq!(status, want, "{case}: {text}");
                } else if *method == "GET" && !path.ends_with(".json") && !path.ends_with(".csv") {
                    assert_eq!(status, 303, "{case}: {text}");
                    assert!(location.unwrap_or_default().starts_with(&login), "{case}");
                } else {
                    assert_eq!(status, 401, "{case}: {text}");
                }
                assert!(
                    !text.contains("NAMA_LGKP")
                        && !text.contains(&nik)
                        && !text.contains("rsud_3313"),
                    "{case}: {text}"
                );
            }
        }
    }
    assert_eq!(
        s.admin("GET", "/__admin/institutions", None),
        institutions_before
    );
    let (_, faults) = s.admin("GET", "/__admin/faults", None);
    assert_eq!(faults["faults"], json!([]), "{faults}");
}

#[test]
fn every_served_route_is_covered_by_an_auth_table() {
    // A route added to the router without an entry in one of the tables above fails here, so
    // the auth tests grow with the surface.
    for (method, path) in served_routes() {
        // The readiness probe is public by design: no token, no data (`readiness.rs`).
        let covered = path.starts_with("/__admin")
            || path == dukcapil_mock_api::HEALTHZ
            || path.starts_with("/dukcapil/get_json/")
            || path.starts_with("/data_balikan/")
            || path.starts_with("/portal/");
        assert!(covered, "{method} {path} has no auth test");
    }
}

#[test]
fn balikan_routes_refuse_missing_and_wrong_tokens() {
    let balikan: Vec<_> = served_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/data_balikan/"))
        .collect();
    assert_eq!(balikan.len(), 2, "{balikan:?}");
    let s = MockServer::start(&[]);
    let client = load_client();
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let body = json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD KABUPATEN KARANGANYAR",
        "data": [{"NIK": nik, "param": [{"NO_RM": "RM-1", "GOL_DARAH": "O"}]}]}]);
    for (method, path) in balikan {
        for (case, auth) in bad_tokens()
            .into_iter()
            .filter(|(c, _)| *c != "a balikan token")
            .chain([("the admin token", Some(format!("Bearer {ADMIN_TOKEN}")))])
        {
            let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = client
                .request(method_, s.url(path))
                .header("content-type", "application/json")
                .body(body.to_string());
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().expect("balikan answers");
            let status = res.status().as_u16();
            let text = res.text().unwrap_or_default();
            assert_eq!(status, 401, "{case}: {method} {path}: {text}");
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{case}: {method} {path}: not JSON: {text}"));
            assert!(v["message"].is_string(), "{case}: {method} {path}: {text}");
            assert_ne!(v["message"], "Success", "{case}: {method} {path}");
        }
    }
    // Another institution's valid token cannot file data for this one.
    let (status, v) = s.request(
        &client,
        "POST",
        "/data_balikan/public/api/store",
        Some(body.to_string().into_bytes()),
        Some("balikan-dinkes-3313-dummy"),
    );
    assert!((400..500).contains(&status), "{status} {v}");
    assert_ne!(v["message"], "Success");
    // Nothing was filed by any of the refused requests.
    let (status, ledger) = s.admin("GET", "/__admin/balikan", None);
    assert_eq!(status, 200, "{ledger}");
    assert!(!ledger.to_string().contains("RM-1"), "{ledger}");
    // The control: the right token is accepted, so the refusals above were about the token.
    let (status, v) = s.request(
        &client,
        "POST",
        "/data_balikan/public/api/store",
        Some(body.to_string().into_bytes()),
        Some("balikan-rsud-3313-dummy"),
    );
    assert_eq!((status, &v["message"]), (200, &json!("Success")), "{v}");
}

#[test]
fn portal_routes_refuse_missing_and_forged_sessions() {
    let portal: Vec<_> = served_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/portal/"))
        .collect();
    assert_eq!(portal.len(), 5, "{portal:?}");
    let s = MockServer::start(&[]);
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookies = [
        None,
        Some("portal_session=".to_string()),
        Some(format!("portal_session={}", "0".repeat(64))),
        Some(format!("portal_session={ADMIN_TOKEN}")),
        Some("portal_session=dummy-dinkes-3303".to_string()),
    ];
    for (method, path) in portal {
        for cookie in &cookies {
            let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = client.request(method_, s.url(path)).form(&[
                ("nik", nik.as_str()),
                ("csrf", "x"),
                ("institution", "dinkes_3303"),
                ("username", "petugas"),
                ("password", "dummy-dinkes-3303"),
            ]);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let res = req.send().expect("portal answers");
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            let text = res.text().unwrap_or_default();
            assert!(
                !text.contains("data-penduduk") && !text.contains(&nik),
                "{method} {path} {cookie:?}: {text}"
            );
            let expected = match (method, path) {
                // The login form itself; its POST without the form's token is refused.
                ("GET", "/portal/masuk") => 200,
                ("POST", "/portal/masuk") => 403,
                _ => 303,
            };
            assert_eq!(status, expected, "{method} {path} {cookie:?}: {text}");
            if status == 303 {
                assert_eq!(
                    location.as_deref(),
                    Some("/portal/masuk"),
                    "{method} {path}"
                );
            }
        }
    }
    // Nothing was searched.
    assert!(s.journal_all("endpoint=PORTAL").is_empty());
}
