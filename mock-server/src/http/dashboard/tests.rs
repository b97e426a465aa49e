//! The dashboard through the real router: login, the loopback rule with a peer address that
//! only a handler test can fake, CSRF, masking, and the fault form's validation.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

use super::mask_numbers;
use crate::http::gateway::tests::{creds, harness, harness_with, Harness, FOUND};

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(
    h: &Harness,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    from: &str,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("mock_admin_ui={c}"));
    }
    if form.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let mut req = req
        .body(Body::from(form.unwrap_or("").to_string()))
        .unwrap();
    let peer: SocketAddr = format!("{from}:50000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = crate::http::app(h.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Logs in with the harness's admin token; the session id and the CSRF token of the journal page.
async fn login(h: &Harness) -> (String, String) {
    let a = send(
        h,
        "POST",
        "/__admin/ui/login",
        None,
        Some("token=tok&lang=id"),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let set = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let id = set
        .strip_prefix("mock_admin_ui=")
        .and_then(|r| r.split(';').next())
        .unwrap()
        .to_string();
    let page = send(h, "GET", "/__admin/ui", Some(&id), None, "127.0.0.1").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    (id, csrf)
}

#[tokio::test]
async fn the_admin_token_opens_a_session_in_a_strict_http_only_cookie() {
    let h = harness();
    let wrong = send(
        &h,
        "POST",
        "/__admin/ui/login",
        None,
        Some("token=nope"),
        "127.0.0.1",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    assert!(wrong.body.contains("Token admin salah"), "{}", wrong.body);

    let right = send(
        &h,
        "POST",
        "/__admin/ui/login",
        None,
        Some("token=tok"),
        "127.0.0.1",
    )
    .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.headers[header::LOCATION], "/__admin/ui");
    let cookie = right.headers[header::SET_COOKIE].to_str().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/__admin/ui"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("tok;") && !right.body.contains("tok"));
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let tls = harness_with(|s| s.tls = true);
    let a = send(
        &tls,
        "POST",
        "/__admin/ui/login",
        None,
        Some("token=tok"),
        "127.0.0.1",
    )
    .await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    // Without a session: pages lead to the login form, data is refused.
    let page = send(&h, "GET", "/__admin/ui", None, None, "127.0.0.1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/__admin/ui/login"));
    let feed = send(
        &h,
        "GET",
        "/__admin/ui/journal.json",
        None,
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(feed.status, StatusCode::UNAUTHORIZED);
    let forged = send(
        &h,
        "GET",
        "/__admin/ui/journal.json",
        Some("0123456789abcdef"),
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn other_than_loopback_is_refused_unless_admin_remote() {
    let h = harness();
    for (method, uri, form) in [
        ("GET", "/__admin/ui/login", None),
        ("POST", "/__admin/ui/login", Some("token=tok")),
        ("GET", "/__admin/ui", None),
    ] {
        let a = send(&h, method, uri, None, form, "192.0.2.7").await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            a.body
        );
        assert!(a.body.contains("--admin-remote"), "{}", a.body);
        assert!(a.headers.get(header::SET_COOKIE).is_none());
    }
    let remote = harness_with(|s| s.admin_remote = true);
    let a = send(&remote, "GET", "/__admin/ui/login", None, None, "192.0.2.7").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn state_changing_forms_need_the_sessions_csrf_token() {
    let h = harness();
    let (id, csrf) = login(&h).await;
    let rule = "endpoint=call_nik&action=status&code=503&times=1";
    for bad in ["", "&csrf=", "&csrf=0000"] {
        let a = send(
            &h,
            "POST",
            "/__admin/ui/faults",
            Some(&id),
            Some(&format!("{rule}{bad}")),
            "127.0.0.1",
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{bad}: {}", a.body);
        assert!(h.state.faults.list().is_empty());
    }
    // Another session's token is no token for this one.
    let (_, other_csrf) = login(&h).await;
    let a = send(
        &h,
        "POST",
        "/__admin/ui/faults",
        Some(&id),
        Some(&format!("{rule}&csrf={other_csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &h,
        "POST",
        "/__admin/ui/faults",
        Some(&id),
        Some(&format!("{rule}&csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let rules = h.state.faults.list();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule.times, Some(1));

    // The admin API's validation: a code outside 500/502/503/504 is refused, naming the field.
    let a = send(
        &h,
        "POST",
        "/__admin/ui/faults",
        Some(&id),
        Some(&format!("endpoint=any&action=status&code=418&csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("action.code"), "{}", a.body);
    assert_eq!(h.state.faults.list().len(), 1);

    // Removal and a switch, with the token.
    let a = send(
        &h,
        "POST",
        &format!("/__admin/ui/faults/{}/delete", rules[0].id),
        Some(&id),
        Some(&format!("csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(h.state.faults.list().is_empty());
    let a = send(
        &h,
        "POST",
        "/__admin/ui/institutions/rsud_3313",
        Some(&id),
        Some(&format!("key=active&value=false&csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(!h.state.institution("rsud_3313").unwrap().active);
    let a = send(
        &h,
        "POST",
        "/__admin/ui/institutions/dinkes_3303",
        Some(&id),
        Some(&format!("key=poc_passed&value=true&csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(h.state.institution("dinkes_3303").unwrap().poc_passed);

    // Logout ends the session.
    let a = send(
        &h,
        "POST",
        "/__admin/ui/logout",
        Some(&id),
        Some(&format!("csrf={csrf}")),
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = send(
        &h,
        "GET",
        "/__admin/ui/faults",
        Some(&id),
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_page_renders_and_shows_niks_masked() {
    let h = harness();
    h.lookup(&creds(FOUND)).await;
    let (id, _) = login(&h).await;
    let masked = dukcapil_domain::mask_nik(FOUND);
    for uri in [
        "/__admin/ui",
        "/__admin/ui?lang=en",
        "/__admin/ui/journal.json",
        "/__admin/ui/journal.json?after_id=0&endpoint=CALL_NIK",
        "/__admin/ui/institutions",
        "/__admin/ui/balikan",
        "/__admin/ui/detector",
        "/__admin/ui/faults",
        "/__admin/ui/usage",
        "/__admin/ui/usage.csv",
    ] {
        let a = send(&h, "GET", uri, Some(&id), None, "127.0.0.1").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        assert!(!a.body.contains(FOUND), "{uri}: the full NIK: {}", a.body);
        if uri.contains("journal") || uri == "/__admin/ui?lang=en" {
            assert!(a.body.contains(&masked), "{uri}: {}", a.body);
        }
    }
    // The language stays switched for the session.
    let a = send(&h, "GET", "/__admin/ui/usage", Some(&id), None, "127.0.0.1").await;
    assert!(a.body.contains("Semester usage report"), "{}", a.body);
    assert!(a.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    // A bad filter is the admin API's 400, on the page.
    let a = send(
        &h,
        "GET",
        "/__admin/ui?outcome=99",
        Some(&id),
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[test]
fn long_numbers_in_free_text_are_masked() {
    assert_eq!(
        mask_numbers("NIK 3313014107890003 bad"),
        format!("NIK {} bad", dukcapil_domain::mask_nik("3313014107890003"))
    );
    assert_eq!(mask_numbers("RM-000123"), "RM-000123");
    assert_eq!(mask_numbers(""), "");
}

/// Rows of any endpoint are shown as they are, so the Web Portal's searches (`PORTAL`, with the
/// operator) appear beside web-service calls; the NIK masked, a NIK inside a detail too.
#[test]
fn a_portal_row_is_shown_like_any_other() {
    let row = dukcapil_mock_api::JournalRow {
        id: 7,
        time: "2026-12-03T01:02:03.000000Z".into(),
        wib_day: "2026-12-03".into(),
        endpoint: "PORTAL".into(),
        customer_id: Some("dinkes_3303".into()),
        operator: Some("operator.portal".into()),
        nik: Some(FOUND.into()),
        outcome: "11".into(),
        http_status: 200,
        elements: vec![],
        source: Some("127.0.0.1".into()),
        latency_us: 1500,
        fault: None,
        detail: Some(format!("searched {FOUND}")),
    };
    let html = super::pages::row_html(&super::pages::row_view(&row)).into_string();
    for shown in [
        "PORTAL",
        "dinkes_3303",
        "operator.portal",
        "2026-12-03 08:02:03",
        "Data Ditemukan, Meninggal Dunia",
        &dukcapil_domain::mask_nik(FOUND),
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    assert!(!html.contains(FOUND), "{html}");
}

/// The ledger page flags a NIK sent back without a lookup and a row without the agreement's
/// required field (NO_RM); the detector page shows a sequential run; the CSV is the admin API's.
#[tokio::test]
async fn ledger_flags_detector_findings_and_the_usage_csv() {
    let h = harness();
    // Consecutive NIKs, journaled whatever their outcome: a sequential run for rule 8.
    for i in 0..4 {
        h.lookup(&creds(&format!("33130141078900{:02}", 10 + i)))
            .await;
    }
    let never = "3313014107890099";
    let body = serde_json::json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD",
        "data": [{"NIK": never, "param": [{"GOL_DARAH": "O"}]}]}]);
    let (status, _) = h
        .send(
            "/data_balikan/public/api/store",
            "application/json",
            Some("balikan-rsud-3313-dummy"),
            body.to_string().into_bytes(),
            "127.0.0.1",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (id, _) = login(&h).await;

    let a = send(
        &h,
        "GET",
        "/__admin/ui/balikan",
        Some(&id),
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body.contains("data-flag=\"never_looked_up\""),
        "{}",
        a.body
    );
    assert!(a.body.contains("data-flag=\"missing\""), "{}", a.body);
    assert!(a.body.contains(&dukcapil_domain::mask_nik(never)));
    assert!(!a.body.contains(never), "{}", a.body);

    let a = send(
        &h,
        "GET",
        "/__admin/ui/detector",
        Some(&id),
        None,
        "127.0.0.1",
    )
    .await;
    assert!(a.body.contains("id=\"findings\""), "{}", a.body);
    assert!(a.body.contains("berurutan"), "{}", a.body);
    assert!(!a.body.contains("3313014107890010"), "{}", a.body);

    let a = send(
        &h,
        "GET",
        "/__admin/ui/usage.csv",
        Some(&id),
        None,
        "127.0.0.1",
    )
    .await;
    assert_eq!(a.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(a
        .body
        .starts_with("customer_id,institution,operator,day,lookups"));
    assert!(a.body.contains("rsud_3313,"), "{}", a.body);
}
