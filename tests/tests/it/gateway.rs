//! The gateway over real sockets: `mock-server serve` as a process, a generated population, the
//! state database in a temporary directory.

use std::collections::HashSet;

use dukcapil_domain::{Agreement, Nik, ResidentStatus};
use serde_json::{json, Value};

use crate::support::MockServer;

const RSUD: &str = "/dukcapil/get_json/rsud_3313/CALL_NIK";
const RSUD_VERIFY: &str = "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN";

fn agreement(id: &str) -> Agreement {
    Agreement::embedded()
        .into_iter()
        .find(|a| a.id == id)
        .expect("agreement")
}

/// A lookup body with the agreement's credentials and an operator.
fn body(agreement_id: &str, nik: &str) -> Value {
    let a = agreement(agreement_id);
    json!({"nik": nik, "user_id": a.credentials.user_id, "password": a.credentials.password,
           "ip_user": a.credentials.ip_user, "User_ID": "petugas.pendaftaran01"})
}

fn nik_of(server: &MockServer, status: ResidentStatus) -> String {
    server
        .population()
        .sample_by_status(status, 1)
        .expect("sample")[0]
        .nik
        .to_string()
}

/// A well-formed NIK that is not in the population.
fn absent_nik(server: &MockServer) -> String {
    let reader = server.population();
    (1..9999u32)
        .map(|serial| format!("331301410789{serial:04}"))
        .find(|n| reader.get(n.parse::<Nik>().unwrap()).unwrap().is_none())
        .expect("a free serial")
}

fn respon(v: &Value) -> &str {
    v["content"][0]["RESPON"]
        .as_str()
        .unwrap_or_else(|| panic!("no RESPON in {v}"))
}

#[test]
fn every_path_form_method_case_key_variant_and_content_type() {
    let s = MockServer::start(&[]);
    let nik = nik_of(&s, ResidentStatus::Active);
    let expect = nik.parse::<u64>().unwrap();
    let a = agreement("rsud-karanganyar");
    let (u, p, ip) = (
        &a.credentials.user_id,
        &a.credentials.password,
        &a.credentials.ip_user,
    );
    let bodies = [
        body("rsud-karanganyar", &nik),
        json!({"NIK": nik, "user_id": u, "password": p, "IP_USER": ip}),
        json!({"NIK": nik, "user_id": u, "ip_users": ip, "password": p}),
        json!({"NIK": nik, "ip_address": ip, "password": p, "user_id": u}),
        json!({"NIK": expect, "USER_ID": u, "PASSWORD": p, "IP_USER": ip, "unknown_extra": {"x": 1}}),
    ];
    let paths = [
        RSUD,
        "/dukcapil/get_json/rsud_3313/call_nik",
        "/dukcapil/get_json/33-13/rsud_3313/call_nik",
    ];
    for path in paths {
        for b in &bodies {
            let (status, v) = s.post(path, b);
            assert_eq!(status, 200, "{path} {b}");
            assert_eq!(
                v["content"][0]["NIK"].as_u64(),
                Some(expect),
                "{path} {b}: {v}"
            );
        }
    }
    let (status, v) = s.post_raw(
        RSUD,
        "application/json,Accept: application/json",
        serde_json::to_vec(&bodies[0]).unwrap(),
    );
    assert_eq!(
        (status, v["content"][0]["NIK"].as_u64()),
        (200, Some(expect))
    );
    let query = format!("{RSUD}?USER_ID={u}&PASSWORD={p}&IP_USER={ip}&NIK={nik}");
    let (status, v) = s.post_raw(&query, "application/json", vec![]);
    assert_eq!(
        (status, v["content"][0]["NIK"].as_u64()),
        (200, Some(expect)),
        "{v}"
    );
    // The hospital client's exact form: no IP key at all; the source address is checked alone.
    let query = format!("{RSUD}?USER_ID={u}&PASSWORD={p}&NIK={nik}");
    let (status, v) = s.post_raw(&query, "application/json", vec![]);
    assert_eq!(
        (status, v["content"][0]["NIK"].as_u64()),
        (200, Some(expect)),
        "{v}"
    );
    // Every request above is in the journal, with the operator where it was sent.
    let rows = s.journal("limit=100");
    assert_eq!(rows.len(), paths.len() * bodies.len() + 3);
    assert!(rows
        .iter()
        .all(|r| r["outcome"] == "01" && r["source"] == "127.0.0.1"));
    let with_operator = rows
        .iter()
        .filter(|r| r["operator"] == "petugas.pendaftaran01")
        .count();
    assert_eq!(with_operator, paths.len() + 1);
}

#[test]
fn records_carry_only_the_agreements_fields() {
    let s = MockServer::start(&[]);
    let nik = nik_of(&s, ResidentStatus::Active);
    for (id, path) in [
        ("rsud-karanganyar", RSUD),
        (
            "dinkes-purbalingga",
            "/dukcapil/get_json/dinkes_3303/CALL_NIK",
        ),
        ("dev", "/dukcapil/get_json/dev/CALL_NIK"),
    ] {
        let (_, v) = s.post(path, &body(id, &nik));
        let keys: HashSet<&str> = v["content"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let granted: HashSet<&str> = agreement(id).granted.wire_names().into_iter().collect();
        assert_eq!(keys, granted, "{id}");
        let rec = &v["content"][0];
        assert!(rec["NO_RT"].is_u64() || rec["NO_RT"].is_null(), "{rec}");
    }
    let (_, v) = s.post(RSUD, &body("rsud-karanganyar", &nik));
    assert!(v["content"][0]["TGL_LHR"].as_str().unwrap().chars().nth(4) == Some('-'));
    let rows = s.journal("limit=1&customer_id=rsud_3313");
    assert_eq!(
        rows[0]["elements"].as_array().unwrap().len(),
        agreement("rsud-karanganyar").granted.len()
    );
}

#[test]
fn niks_beyond_2_53_keep_every_digit_and_flavours_apply() {
    let s = MockServer::start(&[]);
    let papua = s.population().beyond_double(1).unwrap()[0].clone();
    let res = s
        .client()
        .post(s.url(RSUD))
        .json(&body("rsud-karanganyar", &papua.nik.to_string()))
        .send()
        .unwrap();
    let text = res.text().unwrap();
    assert!(
        text.contains(&format!("\"NIK\":{}", papua.nik.value())),
        "{text}"
    );
    drop(s);

    let s = MockServer::start(&[
        "--id-numbers",
        "string",
        "--date-format",
        "DD.MM.YYYY",
        "--catalogue",
        "juknis",
    ]);
    let r = s
        .population()
        .sample_by_status(ResidentStatus::Active, 1)
        .unwrap()[0]
        .clone();
    let (_, v) = s.post(RSUD, &body("rsud-karanganyar", &r.nik.to_string()));
    assert_eq!(v["content"][0]["NIK"], r.nik.to_string());
    assert_eq!(v["content"][0]["NO_KK"], r.no_kk.to_string());
    assert_eq!(
        v["content"][0]["TGL_LHR"],
        r.tgl_lhr.format("%d.%m.%Y").to_string()
    );
    let (_, v) = s.post(RSUD, &body("rsud-karanganyar", &absent_nik(&s)));
    assert_eq!(
        respon(&v),
        "Data tidak ditemukan, NIK tidak terdapat di database kependudukan"
    );
}

#[test]
fn every_outcome_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        "[institutions.dinkes_3313]\nuser_active = false\n\n[institutions.kec_jumantono_3313]\naccess_hours = \"07:00-16:00\"\n",
    )
    .unwrap();
    let s = MockServer::start(&["--config", config.to_str().unwrap()]);
    // 05:00 UTC = 12:00 WIB, inside the agreement terms.
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2026-03-02T05:00:00Z"})),
    );
    let found = nik_of(&s, ResidentStatus::Active);
    let rsud = |b: Value| s.post(RSUD, &b).1;
    let mut b = body("rsud-karanganyar", &found);
    assert!(rsud(b.clone())["content"][0]["NIK"].is_u64());
    b["password"] = json!("salah");
    assert_eq!(respon(&rsud(b)), "Login Gagal");
    // The default IP policy judges the connection's source, not the body's text (clients in
    // production send `x` or a hard-coded LAN address there and get answers).
    let mut b = body("rsud-karanganyar", &found);
    b["ip_user"] = json!("10.10.10.10");
    assert!(rsud(b)["content"][0]["NIK"].is_u64());
    // Registered elsewhere: this loopback source is not the institution's address.
    s.admin(
        "PATCH",
        "/__admin/institutions/rsud_3313",
        Some(json!({"ip_user": "10.10.10.10"})),
    );
    assert_eq!(
        respon(&rsud(body("rsud-karanganyar", &found))),
        "IP Address Tidak Sesuai"
    );
    s.admin(
        "PATCH",
        "/__admin/institutions/rsud_3313",
        Some(json!({"ip_user": "127.0.0.1"})),
    );
    let mut b = body("rsud-karanganyar", &found);
    b["user_id"] = json!("  ");
    assert_eq!(respon(&rsud(b)), "User, password dan IP tidak boleh kosong");
    let mut b = body("rsud-karanganyar", &found);
    b.as_object_mut().unwrap().remove("nik");
    assert_eq!(respon(&rsud(b)), "Parameter Tidak Lengkap / Tidak Valid");
    assert_eq!(
        respon(&rsud(body(
            "rsud-karanganyar",
            &nik_of(&s, ResidentStatus::Deceased)
        ))),
        "Data Ditemukan, Meninggal Dunia"
    );
    assert_eq!(
        respon(&rsud(body(
            "rsud-karanganyar",
            &nik_of(&s, ResidentStatus::Duplicate)
        ))),
        "Data Ditemukan, Data Ganda"
    );
    assert_eq!(
        respon(&rsud(body(
            "rsud-karanganyar",
            &nik_of(&s, ResidentStatus::Inactive)
        ))),
        "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
    );
    assert_eq!(
        respon(&rsud(body("rsud-karanganyar", &absent_nik(&s)))),
        "Data Tidak Ditemukan"
    );
    assert_eq!(
        respon(&rsud(body("rsud-karanganyar", "' OR 1=1 --"))),
        "Data Tidak Ditemukan, NIK tidak sesuai format Dukcapil"
    );
    let (_, v) = s.post(
        "/dukcapil/get_json/dinkes_3313/CALL_NIK",
        &body("dinkes-karanganyar", &found),
    );
    assert_eq!(respon(&v), "User ID Tidak Aktif");
    let (_, v) = s.post(
        "/dukcapil/get_json/kec_jumantono_3313/CALL_NIK",
        &body("kecamatan-jumantono", &found),
    );
    assert!(
        v["content"][0]["NIK"].is_u64(),
        "12:00 WIB is inside 07:00-16:00: {v}"
    );
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2026-03-02T12:00:00Z"})),
    ); // 19:00 WIB
    let (_, v) = s.post(
        "/dukcapil/get_json/kec_jumantono_3313/CALL_NIK",
        &body("kecamatan-jumantono", &found),
    );
    assert_eq!(respon(&v), "Akses di luar jam layanan");
    let (status, _) = s.admin("PUT", "/__admin/quota/rsud_3313", Some(json!({"limit": 0})));
    assert_eq!(status, 200);
    assert_eq!(
        respon(&rsud(body("rsud-karanganyar", &found))),
        "Kuota Akses Hari ini telah Habis"
    );
    // Verification errors carry the code.
    let (_, ans) = s.post(
        "/dukcapil/get_json/dinkes_3313/CALL_VERIFY_BY_ELEMEN",
        &body("dinkes-karanganyar", &found),
    );
    assert_eq!(ans["content"][0]["RESPONSE_CODE"], "17");
    assert_eq!(ans["content"][0]["RESPONSE_DESC"], "User ID Tidak Aktif");
    // The RSUD term ends 2030-12-31: on 2031-01-01 WIB the institution is inactive.
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2030-12-31T17:00:00Z"})),
    );
    assert_eq!(
        respon(&rsud(body("rsud-karanganyar", &found))),
        "Instansi Tidak Aktif"
    );
    let codes: HashSet<String> = s
        .journal("limit=1000")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    for code in [
        "01", "03", "04", "05", "06", "07", "09", "11", "12", "13", "14", "15", "16", "17",
    ] {
        assert!(
            codes.contains(code),
            "outcome {code} not journaled: {codes:?}"
        );
    }
}

#[test]
fn verification_over_http() {
    let s = MockServer::start(&[]);
    let r = s
        .population()
        .sample_by_status(ResidentStatus::Active, 1)
        .unwrap()[0]
        .clone();
    let a = agreement("rsud-karanganyar");
    let mut b = json!({
        "NIK": r.nik.to_string(), "USER_ID": a.credentials.user_id, "PASSWORD": a.credentials.password,
        "IP_USER": a.credentials.ip_user, "TRESHOLD": 90,
        "NAMA_LGKP": r.nama_lgkp.to_lowercase(), "TGL_LHR": r.tgl_lhr.format("%d-%m-%Y").to_string(),
        "TMPT_LHR": "TEMPAT YANG SAMA SEKALI LAIN", "JENIS_KLMIN": r.jenis_klmin.wire_name(),
    });
    let (status, v) = s.post(RSUD_VERIFY, &b);
    assert_eq!(status, 200);
    let c = &v["content"][0];
    assert_eq!(c["NAMA_LGKP"], "Sesuai (100)", "{v}");
    assert_eq!(c["TGL_LHR"], "Sesuai");
    assert_eq!(c["JENIS_KLMIN"], "Sesuai");
    assert!(
        c["TMPT_LHR"]
            .as_str()
            .unwrap()
            .starts_with("Tidak Sesuai ("),
        "{c}"
    );
    assert_eq!(v["quotaLimiter"], 999);
    b["TRESHOLD"] = json!("0");
    let (_, v) = s.post(RSUD_VERIFY, &b);
    assert!(
        v["content"][0]["TMPT_LHR"]
            .as_str()
            .unwrap()
            .starts_with("Sesuai ("),
        "{v}"
    );
    assert_eq!(v["quotaLimiter"], 998);
    let rows = s.journal("limit=1");
    assert_eq!(rows[0]["endpoint"], "CALL_VERIFY_BY_ELEMEN");
    assert_eq!(
        rows[0]["elements"],
        json!(["NIK", "NAMA_LGKP", "JENIS_KLMIN", "TMPT_LHR", "TGL_LHR"])
    );
}

#[test]
fn malformed_requests_get_the_envelope_and_a_journal_row() {
    let s = MockServer::start(&[]);
    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"nik\": ".to_vec()),
        ("application/json", b"\"just a string\"".to_vec()),
        ("application/json", b"{\"nik\": \"\xc3\x28\"}".to_vec()),
        ("text/plain", b"nik=1&user_id=2".to_vec()),
        (
            "application/json",
            br#"{"nik": {"$ne": null}, "user_id": "rsud_3313"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"nik": "1", "user_id": ["rsud_3313"], "password": "x", "ip_user": "127.0.0.1"}"#
                .to_vec(),
        ),
        ("application/json", br#"{"nik": true}"#.to_vec()),
    ];
    let mut huge = b"{\"nik\": \"".to_vec();
    huge.extend(std::iter::repeat_n(b'9', 1024 * 1024));
    huge.extend(b"\"}");
    bad.push(("application/json", huge));
    for (ct, b) in &bad {
        let (status, v) = s.post_raw(RSUD, ct, b.clone());
        assert_eq!(status, 200, "{v}");
        assert_eq!(respon(&v), "Parameter Tidak Lengkap / Tidak Valid");
    }
    let (status, v) = s.post_raw(
        "/dukcapil/get_json/rsud_3313/CALL_EVERYTHING",
        "application/json",
        vec![],
    );
    assert_eq!(
        (status, respon(&v)),
        (404, "Parameter Tidak Lengkap / Tidak Valid")
    );
    let (status, v) = s.post_raw(
        "/dukcapil/get_json/nobody/CALL_NIK",
        "application/json",
        b"{}".to_vec(),
    );
    assert_eq!(
        (status, respon(&v)),
        (200, "User, password dan IP tidak boleh kosong")
    );
    let rows = s.journal("limit=100");
    assert_eq!(rows.len(), bad.len() + 2);
    assert!(
        rows.iter()
            .all(|r| r["outcome"] == "07" || r["outcome"] == "09"),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r["detail"]
        .as_str()
        .is_some_and(|d| d.contains("larger than"))));
    // The server is still healthy.
    let nik = nik_of(&s, ResidentStatus::Active);
    assert!(s.post(RSUD, &body("rsud-karanganyar", &nik)).1["content"][0]["NIK"].is_u64());
}

#[test]
fn stdout_logs_mask_niks() {
    let dir = tempfile::tempdir().unwrap();
    let s = MockServer::start_with_env(dir.path(), &[], &[("RUST_LOG", "mock_server=debug")]);
    let nik = nik_of(&s, ResidentStatus::Active);
    s.post(RSUD, &body("rsud-karanganyar", &nik));
    s.post(RSUD, &body("rsud-karanganyar", "3313014107890003"));
    // The log line is written after the answer and read from the pipe by another thread: wait
    // for it (bounded) rather than read the output at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut out = s.output.lock().unwrap().join("\n");
    while !out.contains("3313**********03") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        out = s.output.lock().unwrap().join("\n");
    }
    assert!(
        out.contains("3313**********03"),
        "debug log of the call missing: {out}"
    );
    assert!(
        !out.contains(&nik) && !out.contains("3313014107890003"),
        "NIK in clear on stdout: {out}"
    );
}

#[test]
fn tls_serves_https_and_prints_the_fingerprint() {
    let s = MockServer::start(&["--tls"]);
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let out = s.output.lock().unwrap().join("\n");
    assert!(out.contains("sha256 fingerprint"), "{out}");
    assert!(s.data_dir.join("tls/cert.pem").exists());
    let nik = nik_of(&s, ResidentStatus::Active);
    let (status, v) = s.post(RSUD, &body("rsud-karanganyar", &nik));
    assert_eq!(status, 200);
    assert_eq!(v["content"][0]["NIK"].as_u64(), Some(nik.parse().unwrap()));
    // A plain-HTTP client gets no answer from the TLS port.
    let plain = s.base.replace("https://", "http://");
    assert!(reqwest::blocking::get(format!("{plain}/")).is_err());
}

#[test]
fn restart_keeps_quota_journal_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    let s = MockServer::start_in(dir.path(), &[]);
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2027-05-05T05:00:00Z"})),
    );
    let nik = nik_of(&s, ResidentStatus::Active);
    for _ in 0..3 {
        s.post(RSUD, &body("rsud-karanganyar", &nik));
    }
    s.admin(
        "PUT",
        "/__admin/quota/dinkes_3303",
        Some(json!({"limit": 7})),
    );
    assert!(s.stop().success());
    let s = MockServer::start_in(dir.path(), &[]);
    let (_, q) = s.admin("GET", "/__admin/quota/rsud_3313", None);
    assert_eq!(
        (q["used"].as_u64(), q["day"].as_str()),
        (Some(3), Some("2027-05-05")),
        "{q}"
    );
    let (_, q) = s.admin("GET", "/__admin/quota/dinkes_3303", None);
    assert_eq!(q["limit"].as_u64(), Some(7));
    assert_eq!(s.journal("limit=100").len(), 3);
    let (status, _) = s.admin("POST", "/__admin/reset", None);
    assert_eq!(status, 200);
    assert!(s.journal("limit=100").is_empty());
}

#[test]
fn journal_is_capped_and_filterable() {
    let s = MockServer::start(&["--journal-cap", "5"]);
    let nik = nik_of(&s, ResidentStatus::Active);
    for i in 0..8 {
        let mut b = body("rsud-karanganyar", &nik);
        b["User_ID"] = json!(format!("op{i}"));
        s.post(RSUD, &b);
    }
    let rows = s.journal("limit=100");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["operator"], "op7");
    assert_eq!(rows[4]["operator"], "op3");
    assert_eq!(s.journal("operator=op5").len(), 1);
    assert_eq!(
        s.journal(&format!("nik={nik}&customer_id=rsud_3313")).len(),
        5
    );
    assert!(s.journal("customer_id=dev").is_empty());
    let (status, _) = s.admin("GET", "/__admin/journal?limit=abc", None);
    assert_eq!(status, 400);
    let res = s
        .client()
        .get(s.url("/__admin/journal"))
        .bearer_auth("wrong")
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[test]
fn quota_is_exact_under_concurrency() {
    let s = MockServer::start(&[]);
    let (status, _) = s.admin(
        "PUT",
        "/__admin/quota/rsud_3313",
        Some(json!({"limit": 50})),
    );
    assert_eq!(status, 200);
    let nik = nik_of(&s, ResidentStatus::Active);
    let b = body("rsud-karanganyar", &nik);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (data, exhausted) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..64)
            .map(|_| {
                scope.spawn(|| {
                    let client = s.client();
                    let (mut data, mut exhausted) = (0, 0);
                    while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 150 {
                        let v: Value = client
                            .post(s.url(RSUD))
                            .json(&b)
                            .send()
                            .unwrap()
                            .json()
                            .unwrap();
                        if v["content"][0]["NIK"].is_u64() {
                            data += 1;
                        } else if v["content"][0]["RESPON"] == "Kuota Akses Hari ini telah Habis" {
                            exhausted += 1;
                        }
                    }
                    (data, exhausted)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert_eq!((data, exhausted), (50, 100));
    let rows = s.journal("limit=1000");
    assert_eq!(rows.len(), 150);
    assert_eq!(rows.iter().filter(|r| r["outcome"] == "01").count(), 50);
    let (_, q) = s.admin("GET", "/__admin/quota/rsud_3313", None);
    assert_eq!(
        (q["used"].as_u64(), q["remaining"].as_u64()),
        (Some(50), Some(0))
    );
}

#[test]
fn quota_resets_at_wib_midnight_not_utc_midnight() {
    let s = MockServer::start(&[]);
    s.admin("PUT", "/__admin/quota/rsud_3313", Some(json!({"limit": 1})));
    let nik = nik_of(&s, ResidentStatus::Active);
    let b = body("rsud-karanganyar", &nik);
    let lookup = || s.post(RSUD, &b).1;
    // 16:59 UTC on 1 March = 23:59 WIB.
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2026-03-01T16:59:00Z"})),
    );
    assert!(lookup()["content"][0]["NIK"].is_u64());
    assert_eq!(respon(&lookup()), "Kuota Akses Hari ini telah Habis");
    // Two minutes later it is 00:01 WIB on 2 March: a fresh quota.
    let (_, c) = s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"advance_seconds": 120})),
    );
    assert_eq!(c["wib_day"], "2026-03-02");
    assert!(lookup()["content"][0]["NIK"].is_u64());
    // UTC midnight (07:00 WIB) is the same WIB day: still used up.
    s.admin(
        "POST",
        "/__admin/clock",
        Some(json!({"set": "2026-03-02T00:00:30Z"})),
    );
    assert_eq!(respon(&lookup()), "Kuota Akses Hari ini telah Habis");
}

/// Exit code 2 for bad input files, with `file:line: problem` (the README's convention).
#[test]
fn bad_settings_file_and_bad_agreements_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(&config, "seed = 1\npopulation = \"many\"\n").unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        crate::support::command("mock-server")
            .args(["serve", "--listen", "127.0.0.1:0", "--population", "100"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--config".as_ref(), config.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("mock.toml:2:"), "{err}");
    assert!(err.contains("invalid type"), "{err}");

    let agreements = dir.path().join("agreements");
    std::fs::create_dir_all(&agreements).unwrap();
    std::fs::write(
        agreements.join("broken.toml"),
        "id = \"x\"\ninstitution = \"y\"\ncustomer_id = [\n",
    )
    .unwrap();
    let out = run(&["--agreements".as_ref(), agreements.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("broken.toml:"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("broken.toml:3") || l.contains("broken.toml:4")),
        "{err}"
    );
}
