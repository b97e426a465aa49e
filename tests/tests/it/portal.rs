//! The mock Web Portal (issue 16) over real HTTP on loopback and in headless Chromium: login and
//! logout, lock-out, CSRF refusals, the portal's confirmation texts and granted elements, the
//! portal quota (200 before the PoC, unlimited after), access methods, operator accounts in the
//! admin API, and the journal rows (`PORTAL`, the operator as user id) the PoC checks read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dukcapil_domain::{Agreement, Nik, ResidentStatus};
use serde_json::{json, Value};

use crate::support::{browser, MockServer, RSUD};

/// Dinkes Purbalingga: Web Portal (+ card reader), 200 searches a day before the PoC.
const PURBALINGGA: &str = "dinkes_3303";

/// A settings file with operator accounts: two of Purbalingga (one given as a PHC hash is
/// added through the admin API instead), one of the web-service-only RSUD.
const SETTINGS: &str = r#"
[[portal_operators]]
institution = "dinkes_3303"
username = "petugas.a"
password = "sandi-a"

[[portal_operators]]
institution = "dinkes_3303"
username = "petugas.b"
password = "sandi-b"

[[portal_operators]]
institution = "rsud_3313"
username = "petugas.rs"
password = "sandi-rs"
"#;

fn settings_file(dir: &tempfile::TempDir, extra: &str) -> PathBuf {
    let path = dir.path().join("portal.toml");
    std::fs::write(&path, format!("{extra}\n{SETTINGS}")).unwrap();
    path
}

/// A mock started with [`SETTINGS`] (and `extra` flags).
fn start(extra: &[&str]) -> (MockServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = settings_file(&dir, "");
    let mut args = vec!["--config", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    (MockServer::start(&args), dir)
}

fn agreement(customer_id: &str) -> Agreement {
    Agreement::embedded()
        .into_iter()
        .find(|a| a.customer_id == customer_id)
        .expect("agreement")
}

/// A well-formed NIK that is not in the population.
fn absent_nik(server: &MockServer) -> String {
    let reader = server.population();
    (1..9999u32)
        .map(|serial| format!("330301410789{serial:04}"))
        .find(|n| reader.get(n.parse::<Nik>().unwrap()).unwrap().is_none())
        .expect("a free serial")
}

/// An answer of the portal: status, `Set-Cookie` headers, `Location`, body.
#[derive(Debug)]
struct Page {
    status: u16,
    set_cookies: Vec<String>,
    location: Option<String>,
    html: String,
}

impl Page {
    fn doc(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.html)
    }

    fn select(&self, css: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(css).unwrap();
        self.doc()
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_string())
            .collect()
    }

    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let sel = scraper::Selector::parse(css).unwrap();
        self.doc()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(name).map(str::to_string))
    }

    /// The confirmation text shown (`#konfirmasi`).
    fn confirmation(&self) -> String {
        self.select("#konfirmasi")
            .into_iter()
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "no confirmation on the page ({}): {}",
                    self.status, self.html
                )
            })
    }

    /// The record shown: wire key → value.
    fn record(&self) -> BTreeMap<String, String> {
        let sel = scraper::Selector::parse("#data-penduduk tr").unwrap();
        let td = scraper::Selector::parse("td").unwrap();
        self.doc()
            .select(&sel)
            .map(|tr| {
                let key = tr.value().attr("data-field").unwrap().to_string();
                let value = tr.select(&td).next().unwrap().text().collect::<String>();
                (key, value)
            })
            .collect()
    }

    fn csrf(&self) -> String {
        self.attr("input[name=csrf]", "value")
            .unwrap_or_else(|| panic!("no CSRF field: {}", self.html))
    }
}

/// An operator's browserless session: a cookie jar by hand, no redirects followed.
struct Operator<'a> {
    mock: &'a MockServer,
    client: reqwest::blocking::Client,
    cookies: BTreeMap<String, String>,
}

impl<'a> Operator<'a> {
    fn new(mock: &'a MockServer) -> Operator<'a> {
        Operator {
            mock,
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn send(&mut self, req: reqwest::blocking::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let res = req.send().expect("portal answers");
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let status = res.status().as_u16();
        Page {
            status,
            set_cookies,
            location,
            html: res.text().unwrap_or_default(),
        }
    }

    fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(self.mock.url(path));
        self.send(req)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.client.post(self.mock.url(path)).form(form);
        self.send(req)
    }

    /// The login form, then the login.
    fn login(&mut self, customer_id: &str, username: &str, password: &str) -> Page {
        let form = self.get("/portal/masuk");
        assert_eq!(form.status, 200, "{}", form.html);
        let csrf = form.csrf();
        self.post(
            "/portal/masuk",
            &[
                ("csrf", &csrf),
                ("institution", customer_id),
                ("username", username),
                ("password", password),
            ],
        )
    }

    /// A search from the search form.
    fn search(&mut self, nik: &str) -> Page {
        let form = self.get("/portal/cari");
        assert_eq!(form.status, 200, "not logged in: {form:?}");
        let csrf = form.csrf();
        self.post("/portal/cari", &[("csrf", &csrf), ("nik", nik)])
    }
}

fn portal_rows(s: &MockServer) -> Vec<Value> {
    s.journal_all("endpoint=PORTAL")
}

fn institution(s: &MockServer, customer_id: &str) -> Value {
    let (status, v) = s.admin("GET", "/__admin/institutions", None);
    assert_eq!(status, 200, "{v}");
    v["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer_id"] == customer_id)
        .cloned()
        .unwrap()
}

#[test]
fn an_operator_logs_in_searches_and_logs_out() {
    let (s, _dir) = start(&[]);
    let found = s.niks(ResidentStatus::Active, 1).remove(0);
    let deceased = s.niks(ResidentStatus::Deceased, 1).remove(0);
    let absent = absent_nik(&s);
    let mut op = Operator::new(&s);

    // Not logged in: the search leads to the login form, which sets the double-submit cookie.
    let p = op.get("/portal/cari");
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/portal/masuk"))
    );
    let p = op.login(PURBALINGGA, "petugas.a", "sandi-a");
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/portal/cari")),
        "{}",
        p.html
    );
    let session = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("portal_session="))
        .expect("a session cookie");
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/portal",
        "Max-Age=28800",
    ] {
        assert!(session.contains(attr), "{session}");
    }
    let p = op.get("/portal/cari");
    assert_eq!(p.status, 200);
    assert_eq!(p.select("#operator"), ["petugas.a (dinkes_3303)"]);
    assert!(p.html.contains("0 dari 200"), "{}", p.html);

    // Found: exactly the agreement's granted elements, with the portal's labels.
    let p = op.search(&found);
    assert_eq!(p.attr("#hasil", "data-outcome").as_deref(), Some("01"));
    let record = p.record();
    let granted: Vec<&str> = agreement(PURBALINGGA).granted.wire_names();
    assert_eq!(record.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut g = granted.clone();
        g.sort_unstable();
        g
    });
    assert_eq!(record["NIK"], found);
    assert!(
        !record.contains_key("NO_KK"),
        "Purbalingga is not granted NO_KK"
    );
    assert!(p.html.contains("<th>Nama Lengkap</th>"), "{}", p.html);
    assert_eq!(p.html.matches("<tr data-field=").count(), granted.len());
    assert!(p.html.contains("no-store") || p.status == 200);

    // The confirmations, verbatim.
    for (nik, code, text) in [
        (deceased.as_str(), "11", "Data Ditemukan, Meninggal Dunia"),
        (
            absent.as_str(),
            "13",
            "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
        ),
        (
            "33030141078",
            "15",
            "Data tidak ditemukan, NIK tidak sesuai format Dukcapil",
        ),
        ("", "07", "Parameter Tidak Lengkap / Tidak Valid"),
    ] {
        let p = op.search(nik);
        assert_eq!(p.status, 200);
        assert_eq!(
            p.attr("#hasil", "data-outcome").as_deref(),
            Some(code),
            "{nik}"
        );
        assert_eq!(p.confirmation(), text, "{nik}");
        assert!(p.record().is_empty());
    }

    // English: the same confirmation verbatim, with a gloss and English labels.
    let p = op.get("/portal/cari?lang=en");
    assert!(p.html.contains("Search by NIK"), "{}", p.html);
    let p = op.search(&deceased);
    assert_eq!(p.confirmation(), "Data Ditemukan, Meninggal Dunia");
    assert!(p.html.contains("(found, deceased)"), "{}", p.html);
    let p = op.search(&found);
    assert!(p.html.contains("<th>Full name</th>"), "{}", p.html);
    op.get("/portal/cari?lang=id");

    // Every search journaled as PORTAL with the operator; the empty one is not counted.
    let rows = portal_rows(&s);
    assert_eq!(rows.len(), 7, "{rows:#?}");
    assert!(rows.iter().all(|r| r["operator"] == "petugas.a"
        && r["customer_id"] == PURBALINGGA
        && r["source"] == "127.0.0.1"));
    let outcomes: Vec<&str> = rows
        .iter()
        .rev()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["01", "11", "13", "15", "07", "11", "01"]);
    let first = rows.last().unwrap();
    assert_eq!(first["nik"], found.as_str());
    let elements: Vec<&str> = first["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(elements, granted);
    let inst = institution(&s, PURBALINGGA);
    assert_eq!(inst["portal_quota_used_today"], 6, "{inst}");
    assert_eq!(inst["portal_quota_per_day"], 200);
    // The web-service quota is apart.
    assert_eq!(inst["quota_used_today"], 0, "{inst}");
    assert_eq!(
        inst["access_methods"],
        json!(["web_portal", "card_reader"]),
        "{inst}"
    );
    // The login is journaled too, apart from the searches.
    let logins = s.journal_all("endpoint=PORTAL_LOGIN");
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0]["outcome"], "01");

    // The semester report, the detector and the balikan ledger see the portal's searches.
    let (status, usage) = s.admin("GET", "/__admin/usage?customer_id=dinkes_3303", None);
    assert_eq!(status, 200, "{usage}");
    let line = &usage["rows"][0];
    assert_eq!(
        (line["operator"].as_str(), line["portal_searches"].as_u64()),
        (Some("petugas.a"), Some(7)),
        "{usage}"
    );
    let (status, detector) = s.admin("GET", "/__admin/detector?customer_id=dinkes_3303", None);
    assert_eq!(status, 200);
    assert_eq!(detector["lookups"], 6, "{detector}");
    let balikan = json!([{"id_lembaga": PURBALINGGA, "nama_lembaga": "DINAS KESEHATAN KABUPATEN PURBALINGGA",
        "data": [{"NIK": found, "param": [{"NO_RM": "RM-PORTAL-1"}]}]}]);
    let res = s
        .client()
        .post(s.url("/data_balikan/public/api/store"))
        .bearer_auth("balikan-dinkes-3303-dummy")
        .json(&balikan)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, ledger) = s.admin("GET", "/__admin/balikan?customer_id=dinkes_3303", None);
    let entry = &ledger["entries"][0];
    assert_eq!(entry["nik"], found.as_str(), "{ledger}");
    assert_eq!(entry["never_looked_up"], false, "{ledger}");

    // Logout ends the session: the old cookie no longer opens the search.
    let old = op.cookies.clone();
    let csrf = op.get("/portal/cari").csrf();
    let p = op.post("/portal/keluar", &[("csrf", &csrf)]);
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/portal/masuk"))
    );
    op.cookies = old;
    let p = op.get("/portal/cari");
    assert_eq!(p.status, 303, "{}", p.html);
}

#[test]
fn repeated_wrong_passwords_lock_the_account_for_its_minutes() {
    let (s, _dir) = start(&[]);
    let mut op = Operator::new(&s);
    for _ in 0..4 {
        let p = op.login(PURBALINGGA, "petugas.a", "salah");
        assert_eq!(p.status, 401, "{}", p.html);
        assert_eq!(p.confirmation(), "Gagal Login");
    }
    // An unknown username and another institution's name also just fail.
    let p = op.login(PURBALINGGA, "tidak.ada", "sandi-a");
    assert_eq!(
        (p.status, p.confirmation()),
        (401, "Gagal Login".to_string())
    );
    let p = op.login("no_such_customer", "petugas.a", "sandi-a");
    assert_eq!(p.status, 401);
    // The fifth failure within 15 minutes locks the account, the right password included.
    let p = op.login(PURBALINGGA, "petugas.a", "salah");
    assert_eq!(p.status, 429, "{}", p.html);
    assert!(p.html.contains("Akun dikunci sementara"), "{}", p.html);
    let p = op.login(PURBALINGGA, "petugas.a", "sandi-a");
    assert_eq!(p.status, 429, "{}", p.html);
    // Another operator of the institution is not locked.
    assert_eq!(op.login(PURBALINGGA, "petugas.b", "sandi-b").status, 303);
    let (_, ops) = s.admin("GET", "/__admin/portal/operators", None);
    let a = ops["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["username"] == "petugas.a")
        .cloned()
        .unwrap();
    assert!(a["locked_until"].is_string(), "{ops}");
    // 15 minutes on the mock's clock later, it opens again.
    let (status, _) = s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"advance_seconds": 15 * 60 + 1})),
    );
    assert_eq!(status, 200);
    let mut op = Operator::new(&s);
    let p = op.login(PURBALINGGA, "petugas.a", "sandi-a");
    assert_eq!(p.status, 303, "{}", p.html);
}

#[test]
fn forms_without_their_csrf_token_are_refused() {
    let (s, _dir) = start(&[]);
    let found = s.niks(ResidentStatus::Active, 1).remove(0);
    let mut op = Operator::new(&s);
    let form = [
        ("institution", PURBALINGGA),
        ("username", "petugas.a"),
        ("password", "sandi-a"),
    ];
    // No double-submit cookie, or a token that is not the cookie's.
    let p = op.post("/portal/masuk", &[form[0], form[1], form[2], ("csrf", "x")]);
    assert_eq!(p.status, 403, "{}", p.html);
    let csrf = op.get("/portal/masuk").csrf();
    let p = op.post(
        "/portal/masuk",
        &[form[0], form[1], form[2], ("csrf", &format!("{csrf}0"))],
    );
    assert_eq!(p.status, 403);
    let p = op.post("/portal/masuk", &form);
    assert_eq!(p.status, 403);
    // The real token logs in.
    assert_eq!(op.login(PURBALINGGA, "petugas.a", "sandi-a").status, 303);
    // A search with another token (a page of another site posting the form) is refused and
    // neither journaled nor counted.
    let other = Operator::new(&s).get("/portal/masuk").csrf();
    for token in ["", other.as_str()] {
        let p = op.post("/portal/cari", &[("csrf", token), ("nik", &found)]);
        assert_eq!(p.status, 403, "{}", p.html);
        assert!(p.record().is_empty());
    }
    assert!(portal_rows(&s).is_empty());
    assert_eq!(institution(&s, PURBALINGGA)["portal_quota_used_today"], 0);
    // Logout needs the token too; the session survives a forged one.
    assert_eq!(op.post("/portal/keluar", &[("csrf", "x")]).status, 403);
    assert_eq!(
        op.search(&found).attr("#hasil", "data-outcome").as_deref(),
        Some("01")
    );
}

#[test]
fn access_methods_decide_portal_logins_and_web_service_data() {
    // By default every agreement is still served by web service (the PoC matrix plays them so).
    let (s, _dir) = start(&[]);
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let client = crate::support::load_client();
    let purbalingga = agreement(PURBALINGGA);
    let body = json!({"nik": nik, "user_id": purbalingga.credentials.user_id,
        "password": purbalingga.credentials.password, "ip_user": "127.0.0.1", "User_ID": "petugas.a"});
    let (status, v) = s.post("/dukcapil/get_json/dinkes_3303/CALL_NIK", &body);
    assert_eq!(status, 200);
    assert!(v["content"][0]["NAMA_LGKP"].is_string(), "{v}");
    // A web-service-only institution has no portal login, whatever its operator's password.
    let mut op = Operator::new(&s);
    let p = op.login(RSUD.customer_id, "petugas.rs", "sandi-rs");
    assert_eq!(p.status, 403, "{}", p.html);
    assert_eq!(p.confirmation(), "Gagal Login");
    assert!(
        p.html.contains("tidak memberikan akses Web Portal"),
        "{}",
        p.html
    );
    assert_eq!(op.get("/portal/cari").status, 303);
    drop(s);

    // Enforced: the portal-only institution's web-service credentials do not log in (03), the
    // web-service institution is served as before.
    let (s, _dir) = start(&["--enforce-access-methods"]);
    let (status, v) = s.post("/dukcapil/get_json/dinkes_3303/CALL_NIK", &body);
    assert_eq!(status, 200);
    assert_eq!(v["content"][0]["RESPON"], "Login Gagal", "{v}");
    assert!(!v.to_string().contains("NAMA_LGKP"));
    let row = &s.journal("limit=1")[0];
    assert_eq!(row["outcome"], "03");
    assert!(
        row["detail"].as_str().unwrap().contains("web_service"),
        "{row}"
    );
    assert_eq!(institution(&s, PURBALINGGA)["quota_used_today"], 0);
    assert!(s.lookup(&client, &RSUD, &nik, "petugas").is_data());
    // The portal stays open to the portal institution.
    let mut op = Operator::new(&s);
    assert_eq!(op.login(PURBALINGGA, "petugas.a", "sandi-a").status, 303);
    assert_eq!(
        op.search(&nik).attr("#hasil", "data-outcome").as_deref(),
        Some("01")
    );
}

#[test]
fn institution_and_user_id_states_show_the_parameter_check_texts() {
    let (s, _dir) = start(&[]);
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let mut op = Operator::new(&s);
    assert_eq!(op.login(PURBALINGGA, "petugas.a", "sandi-a").status, 303);
    let patch = |body: Value| {
        let (status, v) = s.admin("PATCH", "/__admin/institutions/dinkes_3303", Some(body));
        assert_eq!(status, 200, "{v}");
    };
    patch(json!({"active": false}));
    assert_eq!(op.search(&nik).confirmation(), "Instansi tidak aktif");
    let mut other = Operator::new(&s);
    let p = other.login(PURBALINGGA, "petugas.b", "sandi-b");
    assert_eq!(
        (p.status, p.confirmation()),
        (403, "Instansi tidak aktif".to_string())
    );
    patch(json!({"active": true, "user_active": false}));
    let text = "User ID non aktif, silahkan menghubungi Admin";
    assert_eq!(op.search(&nik).confirmation(), text);
    assert_eq!(
        other
            .login(PURBALINGGA, "petugas.b", "sandi-b")
            .confirmation(),
        text
    );
    patch(json!({"user_active": true}));
    assert_eq!(
        op.search(&nik).attr("#hasil", "data-outcome").as_deref(),
        Some("01")
    );
    let codes: Vec<String> = portal_rows(&s)
        .iter()
        .rev()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["16", "17", "01"]);
    // Only the search that reached the population was counted.
    assert_eq!(institution(&s, PURBALINGGA)["portal_quota_used_today"], 1);
}

#[test]
fn operator_accounts_in_the_admin_api_are_hashed_validated_and_persisted() {
    // A data directory of the test's own: it must outlive the first server.
    let dir = tempfile::tempdir().unwrap();
    let path = settings_file(&dir, "");
    let data_dir = dir.path().join("data");
    let s = MockServer::start_in(&data_dir, &["--config", path.to_str().unwrap()]);
    let (status, v) = s.admin("GET", "/__admin/portal/operators", None);
    assert_eq!(status, 200, "{v}");
    let names: Vec<(&str, &str, &str, bool)> = v["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["customer_id"].as_str().unwrap(),
                o["username"].as_str().unwrap(),
                o["origin"].as_str().unwrap(),
                o["web_portal"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("dinkes_3303", "petugas.a", "settings", true),
            ("dinkes_3303", "petugas.b", "settings", true),
            ("rsud_3313", "petugas.rs", "settings", false)
        ]
    );
    assert!(
        !v.to_string().contains("argon2") && !v.to_string().contains("sandi"),
        "{v}"
    );

    let add = |body: Value| s.admin("POST", "/__admin/portal/operators", Some(body));
    let (status, v) = add(
        json!({"customer_id": "dinkes_3303", "username": "petugas.c", "password": "sandi-baru-c"}),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["origin"], "admin");
    for (body, code, says) in [
        (
            json!({"customer_id": "dinkes_3303", "username": "petugas.c", "password": "x"}),
            409,
            "exists",
        ),
        (
            json!({"customer_id": "dinkes_3303", "username": "dua kata", "password": "x"}),
            400,
            "username",
        ),
        (
            json!({"customer_id": "dinkes_3303", "username": "p", "password": "  "}),
            400,
            "password",
        ),
        (
            json!({"customer_id": "dinkes_3303", "username": "p"}),
            400,
            "password",
        ),
        (
            json!({"customer_id": "dinkes_3303", "username": "p", "password": "x", "role": "admin"}),
            400,
            "role",
        ),
        (
            json!({"customer_id": "no_such", "username": "p", "password": "x"}),
            404,
            "no_such",
        ),
    ] {
        let (status, v) = add(body.clone());
        assert_eq!(status, code, "{body}: {v}");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "{v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    let mut op = Operator::new(&s);
    assert_eq!(
        op.login(PURBALINGGA, "petugas.c", "sandi-baru-c").status,
        303
    );
    // Removing an account ends its session; a settings account stays removed after a restart.
    let (status, v) = s.admin(
        "DELETE",
        "/__admin/portal/operators/dinkes_3303/petugas.c",
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(op.get("/portal/cari").status, 303);
    let (status, v) = s.admin(
        "DELETE",
        "/__admin/portal/operators/dinkes_3303/petugas.c",
        None,
    );
    assert_eq!(status, 404, "{v}");
    let (status, _) = s.admin(
        "DELETE",
        "/__admin/portal/operators/dinkes_3303/petugas.b",
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = add(
        json!({"customer_id": "dinkes_3303", "username": "petugas.d", "password": "sandi-rahasia-d"}),
    );
    assert_eq!(status, 201);

    // After a restart: the added account logs in, the removed one does not; the state file
    // holds hashes, never the password.
    let status = s.stop();
    assert!(status.success());
    let state = std::fs::read(data_dir.join("state.sqlite")).unwrap();
    let state = String::from_utf8_lossy(&state);
    assert!(!state.contains("sandi-rahasia-d"));
    assert!(state.contains("$argon2id$"));
    let s = MockServer::start_in(&data_dir, &["--config", path.to_str().unwrap()]);
    let mut op = Operator::new(&s);
    assert_eq!(
        op.login(PURBALINGGA, "petugas.d", "sandi-rahasia-d").status,
        303
    );
    let mut op = Operator::new(&s);
    assert_eq!(op.login(PURBALINGGA, "petugas.b", "sandi-b").status, 401);
    // Reset goes back to the settings file's accounts.
    assert_eq!(s.admin("POST", "/__admin/reset", None).0, 200);
    let mut op = Operator::new(&s);
    assert_eq!(op.login(PURBALINGGA, "petugas.b", "sandi-b").status, 303);
    let mut op = Operator::new(&s);
    assert_eq!(
        op.login(PURBALINGGA, "petugas.d", "sandi-rahasia-d").status,
        401
    );
}

#[test]
fn the_portal_example_settings_serve_the_three_portal_agencies() {
    let path = crate::readme::root().join("fixtures/settings/portal.example.toml");
    let s = MockServer::start(&["--config", path.to_str().unwrap()]);
    for (cid, user, pw) in [
        ("dinkes_3303", "petugas.portal01", "sandi-portal-01"),
        ("dinkes_3303", "petugas.portal02", "sandi-portal-02"),
        ("dinkes_3313", "petugas.puskesmas01", "sandi-puskesmas-01"),
        ("kec_jumantono_3313", "petugas.paten01", "sandi-paten-01"),
    ] {
        let mut op = Operator::new(&s);
        let p = op.login(cid, user, pw);
        assert_eq!(p.status, 303, "{cid} {user}: {}", p.html);
    }
    // Access methods are enforced there: no web-service data for a portal agency.
    let nik = s.niks(ResidentStatus::Active, 1).remove(0);
    let a = agreement(PURBALINGGA);
    let (_, v) = s.post(
        "/dukcapil/get_json/dinkes_3303/CALL_NIK",
        &json!({"nik": nik, "user_id": a.credentials.user_id, "password": a.credentials.password,
                "ip_user": "127.0.0.1", "User_ID": "petugas.portal01"}),
    );
    assert_eq!(v["content"][0]["RESPON"], "Login Gagal", "{v}");
}

#[test]
fn bad_portal_settings_are_refused_at_start_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        (
            "[[portal_operators]]\ninstitution = \"no_such\"\nusername = \"a\"\npassword = \"b\"\n",
            "no_such",
        ),
        (
            "seed = 1\n[[portal_operators]]\ninstitution = \"dinkes_3303\"\nusername = \"a b\"\npassword = \"b\"\n",
            "portal.toml:2",
        ),
        (
            "[[portal_operators]]\ninstitution = \"dinkes_3303\"\nusername = \"a\"\n",
            "exactly one of",
        ),
        (
            "[[portal_operators]]\ninstitution = \"dinkes_3303\"\nusername = \"a\"\npassword_hash = \"plain\"\n",
            "PHC",
        ),
        ("[portal]\nlockout_failures = 0\n", "lockout_failures"),
    ] {
        let path = dir.path().join("portal.toml");
        std::fs::write(&path, text).unwrap();
        let out = crate::support::command("mock-server")
            .args(["serve", "--listen", "127.0.0.1:0", "--population", "100", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn an_operator_in_chromium_sees_the_texts_and_the_quota_runs_out_at_200() {
    let Some(chromium) =
        browser::chromium("an_operator_in_chromium_sees_the_texts_and_the_quota_runs_out_at_200")
    else {
        return;
    };
    let (s, _dir) = start(&[]);
    let found = s.niks(ResidentStatus::Active, 1).remove(0);
    let deceased = s.niks(ResidentStatus::Deceased, 1).remove(0);
    // `PORTAL_SCREENSHOTS=DIR`: the pages as PNGs, for a reviewer's eyes.
    let shots = std::env::var_os("PORTAL_SCREENSHOTS").map(PathBuf::from);
    let shot = |page: &browser::Page<'_>, name: &str| {
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), page.screenshot(900)).unwrap();
        }
    };

    let page = chromium.open(&s.url("/portal/cari"));
    shot(&page, "portal-masuk");
    let text = page.text();
    assert!(
        text.contains("Masuk operator") && text.contains("Kata sandi"),
        "{text}"
    );
    page.type_into("input[name=institution]", PURBALINGGA);
    page.type_into("input[name=username]", "petugas.a");
    page.type_into("input[name=password]", "sandi-a");
    page.click_and_wait("form#masuk button[type=submit]");
    let text = page.text();
    assert!(
        text.contains("Pencarian berdasarkan NIK") && text.contains("petugas.a"),
        "{text}"
    );

    let search = |nik: &str| -> (String, String) {
        page.type_into("input[name=nik]", nik);
        page.click_and_wait("form#cari button[type=submit]");
        page.eval(
            "[document.querySelector('#hasil').dataset.outcome, \
              (document.querySelector('#konfirmasi') || document.querySelector('#data-penduduk')).innerText]",
        )
    };
    let (code, shown) = search(&found);
    assert_eq!(code, "01");
    assert!(
        shown.contains(&found) && shown.contains("Nama Lengkap"),
        "{shown}"
    );
    shot(&page, "portal-ditemukan");
    let (code, shown) = search(&deceased);
    assert_eq!(
        (code.as_str(), shown.as_str()),
        ("11", "Data Ditemukan, Meninggal Dunia")
    );
    shot(&page, "portal-meninggal");
    let (code, shown) = search("3303ABC");
    assert_eq!(
        (code.as_str(), shown.as_str()),
        (
            "15",
            "Data tidak ditemukan, NIK tidak sesuai format Dukcapil"
        )
    );
    let own: Vec<String> = page
        .requests_other_than("")
        .into_iter()
        .filter(|u| !u.starts_with(&s.base))
        .collect();
    assert_eq!(own, Vec::<String>::new(), "requests outside the portal");
    assert_eq!(page.errors(), Vec::<String>::new(), "console errors");

    // The rest of today's 200 by HTTP, in another operator's session of the same institution.
    let mut other = Operator::new(&s);
    assert_eq!(other.login(PURBALINGGA, "petugas.b", "sandi-b").status, 303);
    let csrf = other.get("/portal/cari").csrf();
    for i in 3..200 {
        let p = other.post("/portal/cari", &[("csrf", &csrf), ("nik", &found)]);
        assert_eq!(
            p.attr("#hasil", "data-outcome").as_deref(),
            Some("01"),
            "search {i}"
        );
    }
    assert_eq!(institution(&s, PURBALINGGA)["portal_quota_used_today"], 200);
    // The 201st stops, in the browser and over HTTP, and is not counted.
    let (code, shown) = search(&found);
    assert_eq!(
        (code.as_str(), shown.as_str()),
        ("05", "Kuota akses hari ini telah habis")
    );
    assert!(page.text().contains("200 dari 200"), "{}", page.text());
    shot(&page, "portal-kuota-habis");
    let p = other.post("/portal/cari", &[("csrf", &csrf), ("nik", &found)]);
    assert_eq!(p.confirmation(), "Kuota akses hari ini telah habis");
    assert_eq!(institution(&s, PURBALINGGA)["portal_quota_used_today"], 200);
    let rows = portal_rows(&s);
    assert_eq!(rows.iter().filter(|r| r["outcome"] == "05").count(), 2);

    // After the PoC: unlimited.
    let (status, v) = s.admin(
        "PATCH",
        "/__admin/institutions/dinkes_3303",
        Some(json!({"poc_passed": true})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["poc_passed"].as_bool(), &v["portal_quota_per_day"]),
        (Some(true), &Value::Null)
    );
    let (code, _) = search(&found);
    assert_eq!(code, "01");
    assert!(page.text().contains("tidak terbatas"), "{}", page.text());

    // Logout from the page.
    page.click_and_wait("#keluar");
    assert!(page.text().contains("Masuk operator"), "{}", page.text());
}
