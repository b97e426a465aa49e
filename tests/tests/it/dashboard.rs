//! The live dashboard (`/__admin/ui`) over real sockets: the admin token at the login form opens
//! a session cookie and a wrong one does not, callers other than loopback are refused unless
//! `--admin-remote`, state-changing forms need the session's CSRF token; and in headless
//! Chromium: a lookup made a moment before shows up in the journal with its NIK masked, and a
//! fault rule added on the page hits the next lookup through the gateway.

use std::time::{Duration, Instant};

use dukcapil_domain::{mask_nik, ResidentStatus};
use dukcapil_mock_api::DASHBOARD;
use serde_json::Value;

use crate::support::{browser, load_client, MockServer, ADMIN_TOKEN, RSUD};

/// A client that shows redirects instead of following them, and keeps no cookies of its own.
fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Logs in over HTTP; the session cookie's `name=value`.
fn login(s: &MockServer, c: &reqwest::blocking::Client) -> String {
    let res = c
        .post(s.url(&format!("{DASHBOARD}/login")))
        .form(&[("token", ADMIN_TOKEN), ("lang", "id")])
        .send()
        .expect("login answers");
    assert_eq!(res.status().as_u16(), 303);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page's forms.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_string()
}

#[test]
fn the_admin_token_opens_a_session_and_a_wrong_one_does_not() {
    let s = MockServer::start(&[]);
    let c = client();
    // Without a session the dashboard leads to its login form.
    let res = c.get(s.url(DASHBOARD)).send().unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with(&format!("{DASHBOARD}/login")), "{to}");
    let form = c.get(s.url(to)).send().unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().unwrap().contains("Token admin"));

    for wrong in [
        "",
        "not-the-token",
        &ADMIN_TOKEN.to_uppercase(),
        &ADMIN_TOKEN[1..],
    ] {
        let res = c
            .post(s.url(&format!("{DASHBOARD}/login")))
            .form(&[("token", wrong)])
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 401, "{wrong:?}");
        assert!(res.headers().get("set-cookie").is_none(), "{wrong:?}");
        assert!(res.text().unwrap().contains("Token admin salah"));
    }

    let res = c
        .post(s.url(&format!("{DASHBOARD}/login")))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], DASHBOARD);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", &format!("Path={DASHBOARD}")] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(
        !set.contains(ADMIN_TOKEN),
        "the token itself is no cookie: {set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let page = c
        .get(s.url(DASHBOARD))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().unwrap();
    assert!(html.contains("Jurnal permintaan"), "{html}");
    assert!(!html.contains(ADMIN_TOKEN));
    // The bearer token is not a session.
    let res = c
        .get(s.url(&format!("{DASHBOARD}/journal.json")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[test]
fn state_changing_forms_are_refused_without_the_csrf_token() {
    let s = MockServer::start(&[]);
    let c = client();
    let cookie = login(&s, &c);
    let faults_page = c
        .get(s.url(&format!("{DASHBOARD}/faults")))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = csrf_of(&faults_page);
    let rule = [
        ("endpoint", "call_nik"),
        ("action", "status"),
        ("code", "502"),
    ];
    for bad in [None, Some(""), Some("0000")] {
        let mut form: Vec<(&str, &str)> = rule.to_vec();
        if let Some(b) = bad {
            form.push(("csrf", b));
        }
        let res = c
            .post(s.url(&format!("{DASHBOARD}/faults")))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "{bad:?}");
    }
    // A cross-site form carries no cookie (SameSite=Strict): refused as having no session.
    let mut form: Vec<(&str, &str)> = rule.to_vec();
    form.push(("csrf", &csrf));
    let res = c
        .post(s.url(&format!("{DASHBOARD}/faults")))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (_, listed) = s.admin("GET", "/__admin/faults", None);
    assert_eq!(listed["faults"], Value::Array(vec![]), "{listed}");

    let res = c
        .post(s.url(&format!("{DASHBOARD}/faults")))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, listed) = s.admin("GET", "/__admin/faults", None);
    assert_eq!(listed["faults"][0]["action"]["code"], 502, "{listed}");
}

/// An address of this machine other than loopback (the source of the default route), if any.
fn own_non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // A UDP connect sends nothing: it only picks the route and with it the local address.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn callers_other_than_loopback_are_refused_unless_admin_remote() {
    let Some(ip) = own_non_loopback_address() else {
        eprintln!(
            "\n!!!!!!!! SKIPPED: no address other than loopback on this machine; the dashboard's \
             loopback rule is covered by mock-server's handler tests only. !!!!!!!!\n"
        );
        return;
    };
    let c = client();
    let port = |s: &MockServer| s.base.rsplit(':').next().unwrap().to_string();
    let closed = MockServer::start_listening("0.0.0.0:0", &[]);
    let remote = format!("http://{ip}:{}", port(&closed));
    for (method, path) in [("GET", "/login"), ("POST", "/login"), ("GET", "")] {
        let req = c.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{remote}{DASHBOARD}{path}"),
        );
        let res = req.form(&[("token", ADMIN_TOKEN)]).send().unwrap();
        assert_eq!(res.status().as_u16(), 403, "{method} {path}");
        assert!(res.headers().get("set-cookie").is_none());
        assert!(res.text().unwrap().contains("--admin-remote"));
    }
    // The admin API's own rule, which only this test reaches from another address.
    let res = c
        .get(format!("{remote}/__admin/clock"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // The same server still lets loopback in.
    let res = c
        .get(closed.url(&format!("{DASHBOARD}/login")))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let open = MockServer::start_listening("0.0.0.0:0", &["--admin-remote"]);
    let remote = format!("http://{ip}:{}", port(&open));
    let res = c
        .post(format!("{remote}{DASHBOARD}/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(res.headers().get("set-cookie").is_some());
}

/// Logs in through the page's form in the browser; the page then shows the journal.
fn browser_login<'a>(chromium: &'a browser::Chromium, s: &MockServer) -> browser::Page<'a> {
    let page = chromium.open(&s.url(DASHBOARD));
    assert!(page.text().contains("Token admin"), "{}", page.text());
    page.type_into("input[name=token]", ADMIN_TOKEN);
    page.click_and_wait("button[type=submit]");
    assert!(page.text().contains("Jurnal permintaan"), "{}", page.text());
    page
}

/// Waits (bounded) until `expr` is true in the page.
fn wait_for(page: &browser::Page<'_>, expr: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !page.eval::<bool>(expr) {
        assert!(Instant::now() < deadline, "{what}: {}", page.text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dashboard_shows_a_lookup_made_a_moment_before_with_its_nik_masked() {
    let Some(chromium) =
        browser::chromium("the_dashboard_shows_a_lookup_made_a_moment_before_with_its_nik_masked")
    else {
        return;
    };
    let s = MockServer::start(&[]);
    let niks = s.niks(ResidentStatus::Active, 2);
    let http = load_client();
    // One lookup before the page is opened (rendered with the page), one while it is open
    // (arrives through the live feed).
    assert!(s.lookup(&http, &RSUD, &niks[0], "petugas.dasbor").is_data());
    let page = browser_login(&chromium, &s);
    let shown = "[...document.querySelectorAll('#journal-rows td.nik')].map(td => td.innerText)";
    assert_eq!(page.eval::<Vec<String>>(shown), vec![mask_nik(&niks[0])]);
    assert!(s.lookup(&http, &RSUD, &niks[1], "petugas.dasbor").is_data());
    let masked = mask_nik(&niks[1]);
    wait_for(
        &page,
        &format!("{shown}.includes({masked:?})"),
        "the new lookup in the journal",
    );
    let (first, endpoint, operator, outcome): (String, String, String, String) = page.eval(
        "(() => { const c = document.querySelector('#journal-rows tr').cells; \
         return [c[4].innerText, c[1].innerText, c[3].innerText, c[5].innerText]; })()",
    );
    assert_eq!(
        (
            first.as_str(),
            endpoint.as_str(),
            operator.as_str(),
            outcome.as_str()
        ),
        (masked.as_str(), "CALL_NIK", "petugas.dasbor", "01"),
        "the newest row on top"
    );
    let html: String = page.eval("document.documentElement.outerHTML");
    for nik in &niks {
        assert!(
            !html.contains(nik.as_str()),
            "the full NIK {nik} is on the page"
        );
    }
    assert_eq!(
        page.requests_other_than("")
            .into_iter()
            .filter(|u| !u.starts_with(&s.base))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "requests outside the mock"
    );
    assert_eq!(page.errors(), Vec::<String>::new(), "console errors");

    // English on the switch, and it stays for the session.
    page.click_and_wait("#lang-switch");
    assert!(page.text().contains("Request journal"), "{}", page.text());
    let page = chromium.open(&s.url(&format!("{DASHBOARD}/usage")));
    assert!(
        page.text().contains("Semester usage report"),
        "{}",
        page.text()
    );
    let bars: u32 = page.eval("document.querySelectorAll('#usage-chart g.bar').length");
    assert_eq!(bars, 1, "one bar: RSUD's operator");
    screenshots(&chromium, &s);
}

/// With `DASHBOARD_SCREENSHOTS=DIR`, a PNG of every page in DIR (for notes and reviews).
fn screenshots(chromium: &browser::Chromium, s: &MockServer) {
    let Some(dir) = std::env::var_os("DASHBOARD_SCREENSHOTS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    for name in ["", "institutions", "balikan", "detector", "faults", "usage"] {
        let path = if name.is_empty() {
            DASHBOARD.to_string()
        } else {
            format!("{DASHBOARD}/{name}")
        };
        let png = chromium.open(&s.url(&path)).screenshot(1280);
        let file = if name.is_empty() { "journal" } else { name };
        std::fs::write(dir.join(format!("dashboard-{file}.png")), png).expect("write screenshot");
    }
}

#[test]
fn a_fault_rule_added_on_the_page_hits_the_next_lookup() {
    let Some(chromium) = browser::chromium("a_fault_rule_added_on_the_page_hits_the_next_lookup")
    else {
        return;
    };
    let s = MockServer::start(&[]);
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let page = browser_login(&chromium, &s);
    page.click_and_wait("a[href='/__admin/ui/faults']");
    // A 503 for the next CALL_NIK of RSUD, once.
    page.eval::<bool>(
        "(() => { const f = document.getElementById('add-fault'); \
         f.endpoint.value = 'call_nik'; f.institution.value = 'rsud_3313'; \
         f.action.value = 'status'; f.code.value = '503'; return true; })()",
    );
    page.type_into("#add-fault input[name=times]", "1");
    page.click_and_wait("#add-fault-submit");
    let rules: Vec<(String, String)> = page.eval(
        "[...document.querySelectorAll('#fault-rules tbody tr')].map(tr => \
         [tr.cells[2].innerText, tr.cells[7].innerText])",
    );
    assert_eq!(
        rules,
        vec![(
            "rsud_3313".to_string(),
            r#"{"type":"status","code":503}"#.to_string()
        )],
        "{}",
        page.text()
    );

    let http = load_client();
    let res = http
        .post(s.url(&RSUD.lookup_path()))
        .json(&RSUD.body(&nik, "petugas.gangguan"))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 503, "the rule hit the next lookup");
    // `times = 1`: the one after is answered again.
    assert!(s.lookup(&http, &RSUD, &nik, "petugas.gangguan").is_data());
    let rows = s.journal("limit=2");
    assert_eq!(rows[1]["http_status"], 503, "{rows:?}");

    // The page counts it, and removes the rule.
    page.click_and_wait("a[href='/__admin/ui/faults']");
    let applied: String =
        page.eval("document.querySelector('#fault-rules tbody tr').cells[9].innerText");
    assert_eq!(applied, "1");
    page.click_and_wait("#fault-rules tbody tr button[type=submit]");
    let (_, listed) = s.admin("GET", "/__admin/faults", None);
    assert_eq!(listed["faults"], Value::Array(vec![]), "{listed}");
    assert_eq!(page.errors(), Vec::<String>::new(), "console errors");
}
