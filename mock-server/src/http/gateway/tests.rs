//! Handler tests through the real router (`tower::ServiceExt::oneshot`), a real state database
//! in a temporary directory and hand-made residents.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use dukcapil_domain::{Agreement, Nik, NoKk, Resident, ResidentStatus, Sex};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::config::Settings;
use crate::core::residents::MemorySource;
use crate::http::AppState;

pub(crate) const FOUND: &str = "3313014107890003";
pub(crate) const DECEASED: &str = "3313010101700001";
pub(crate) const DUPLICATE: &str = "3313010202800002";
pub(crate) const INACTIVE: &str = "3313010303900003";
pub(crate) const NOT_FOUND: &str = "3313010404900009";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn resident(nik: &str, status: ResidentStatus) -> Resident {
    let nik: Nik = nik.parse().unwrap();
    Resident {
        nik,
        no_kk: "3313010101120007".parse::<NoKk>().unwrap(),
        nama_lgkp: "SRI LESTARI ".into(),
        jenis_klmin: nik.sex(),
        tmpt_lhr: "KARANGANYAR".into(),
        tgl_lhr: nik.birth_date(date(2026, 1, 1)).unwrap(),
        status_kawin: "KAWIN".into(),
        jenis_pkrjn: "MENGURUS RUMAH TANGGA".into(),
        gol_darah: "TIDAK TAHU".into(),
        agama: "ISLAM".into(),
        pddk_akh: "SLTA/SEDERAJAT".into(),
        stat_hbkel: "ISTRI".into(),
        nama_lgkp_ibu: "SUMARNI".into(),
        nama_lgkp_ayah: None,
        alamat: "DUSUN KRAJAN".into(),
        dusun: None,
        no_rt: 2,
        no_rw: 5,
        kode_pos: None,
        no_prop: 33,
        prop_name: "JAWA TENGAH".into(),
        no_kab: 13,
        kab_name: "KARANGANYAR".into(),
        no_kec: 1,
        kec_name: "JATIPURO".into(),
        no_kel: 2005,
        kel_name: "JATIPURO".into(),
        ektp_status: None,
        no_akta_lhr: None,
        status,
    }
}

/// A Papua resident whose NIK exceeds 2^53.
pub(crate) fn papua() -> Resident {
    let nik = Nik::from_parts(910301, date(1990, 1, 1), Sex::Male, 1);
    let mut r = resident(FOUND, ResidentStatus::Active);
    r.nik = nik;
    r.jenis_klmin = Sex::Male;
    r.tgl_lhr = date(1990, 1, 1);
    r
}

pub(crate) struct Harness {
    pub state: AppState,
    pub _dir: tempfile::TempDir,
}

pub(crate) fn harness_with(f: impl FnOnce(&mut Settings)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    f(&mut settings);
    let (writer, loaded) = crate::db::open(dir.path(), 1000).unwrap();
    let residents = MemorySource::new([
        resident(FOUND, ResidentStatus::Active),
        resident(DECEASED, ResidentStatus::Deceased),
        resident(DUPLICATE, ResidentStatus::Duplicate),
        resident(INACTIVE, ResidentStatus::Inactive),
        papua(),
    ]);
    let state = AppState::from(crate::core::Core::new(
        settings,
        Agreement::embedded(),
        loaded,
        writer.writer(),
        Arc::new(residents),
        // In-memory residents: no population file, so nothing to hash.
        dukcapil_mock_api::DatasetInfo {
            seed: 0,
            size: 5,
            sha256: String::new(),
        },
        "tok".into(),
    ));
    // The writer thread lives as long as the test process; the state keeps its sender.
    std::mem::forget(writer);
    Harness { state, _dir: dir }
}

pub(crate) fn harness() -> Harness {
    harness_with(|_| {})
}

pub(crate) fn creds(nik: &str) -> Value {
    json!({"nik": nik, "user_id": "rsud_3313", "password": "dummy-rsud-3313", "ip_user": "127.0.0.1", "User_ID": "petugas01"})
}

impl Harness {
    /// One POST through the router as a client at `from` sends it: content type, optional
    /// bearer token, body; the answer's status and bytes.
    pub(crate) async fn send(
        &self,
        uri: &str,
        content_type: &str,
        bearer: Option<&str>,
        body: Vec<u8>,
        from: &str,
    ) -> (StatusCode, Vec<u8>) {
        self.request("POST", uri, Some(content_type), bearer, body, from)
            .await
    }

    async fn request(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        bearer: Option<&str>,
        body: Vec<u8>,
        from: &str,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut req = req.body(Body::from(body)).unwrap();
        let peer: SocketAddr = format!("{from}:50000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        let res = crate::http::app(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    pub(crate) async fn raw(
        &self,
        method: &str,
        uri: &str,
        body: Vec<u8>,
        from: &str,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.request(method, uri, None, None, body, from).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    pub(crate) async fn call(&self, path: &str, body: &Value) -> Value {
        let (status, v) = self
            .raw("POST", path, serde_json::to_vec(body).unwrap(), "127.0.0.1")
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    /// A POST from the registered address, whatever the status.
    pub(crate) async fn call_status(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.raw("POST", path, serde_json::to_vec(body).unwrap(), "127.0.0.1")
            .await
    }

    pub(crate) async fn lookup(&self, body: &Value) -> Value {
        self.call("/dukcapil/get_json/rsud_3313/CALL_NIK", body)
            .await
    }

    pub(crate) async fn admin(&self, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        self.admin_as("tok", method, uri, body).await
    }

    /// An admin call with the bearer token `token` (an institution's, or the operator's `tok`).
    pub(crate) async fn admin_as(
        &self,
        token: &str,
        method: &str,
        uri: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let res = crate::http::app(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub(crate) async fn journal(&self) -> Vec<Value> {
        let (s, v) = self
            .admin("GET", "/__admin/journal?limit=1000", Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK);
        v["rows"].as_array().unwrap().clone()
    }
}

fn respon(v: &Value) -> &str {
    v["content"][0]["RESPON"]
        .as_str()
        .unwrap_or_else(|| panic!("no RESPON in {v}"))
}

#[tokio::test]
async fn found_record_is_projected_with_exact_types() {
    let h = harness();
    let v = h.lookup(&creds(FOUND)).await;
    assert_eq!(v["numberOfElements"], 1);
    assert_eq!(v["sort"], Value::Null);
    assert!(v.get("quotaLimiter").is_none());
    let rec = &v["content"][0];
    assert_eq!(rec["NIK"].as_u64(), Some(3313014107890003));
    assert_eq!(rec["NO_KK"].as_u64(), Some(3313010101120007));
    assert_eq!(rec["NO_RT"], 2);
    assert_eq!(rec["TGL_LHR"], "1989-07-01");
    assert_eq!(rec["NAMA_LGKP"], "SRI LESTARI ");
    assert!(rec.get("AGAMA").is_none(), "RSUD is not granted AGAMA");
}

#[tokio::test]
async fn every_resident_outcome() {
    let h = harness();
    assert_eq!(
        respon(&h.lookup(&creds(DECEASED)).await),
        "Data Ditemukan, Meninggal Dunia"
    );
    assert_eq!(
        respon(&h.lookup(&creds(DUPLICATE)).await),
        "Data Ditemukan, Data Ganda"
    );
    assert_eq!(
        respon(&h.lookup(&creds(INACTIVE)).await),
        "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
    );
    assert_eq!(
        respon(&h.lookup(&creds(NOT_FOUND)).await),
        "Data Tidak Ditemukan"
    );
    assert_eq!(
        respon(&h.lookup(&creds("3313013207890003")).await),
        "Data Tidak Ditemukan, NIK tidak sesuai format Dukcapil"
    );
    let codes: Vec<String> = h
        .journal()
        .await
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["15", "13", "14", "12", "11"]);
}

#[tokio::test]
async fn caller_outcomes_in_precedence_order() {
    let h = harness();
    let mut b = creds(FOUND);
    b["password"] = json!("");
    assert_eq!(
        respon(&h.lookup(&b).await),
        "User, password dan IP tidak boleh kosong"
    );
    b["password"] = json!("wrong");
    assert_eq!(respon(&h.lookup(&b).await), "Login Gagal");
    let b = creds(FOUND);
    assert_eq!(
        respon(&h.call("/dukcapil/get_json/nobody/CALL_NIK", &b).await),
        "Login Gagal"
    );
    // The default IP policy (`source`) takes any text in the body's IP_USER, as the real
    // gateway does; the connection's source is what must be registered.
    for sent in ["10.0.0.9", "x", "PP:1234"] {
        let mut b = creds(FOUND);
        b["ip_user"] = json!(sent);
        let v = h.lookup(&b).await;
        assert!(v["content"][0].get("NIK").is_some(), "{sent}: {v}");
    }
    // The right IP in the body from the wrong source address.
    let (_, v) = h
        .raw(
            "POST",
            "/dukcapil/get_json/rsud_3313/CALL_NIK",
            serde_json::to_vec(&creds(FOUND)).unwrap(),
            "10.1.1.1",
        )
        .await;
    assert_eq!(respon(&v), "IP Address Tidak Sesuai");
    let mut b = creds("");
    assert_eq!(
        respon(&h.lookup(&b).await),
        "Parameter Tidak Lengkap / Tidak Valid"
    );
    b.as_object_mut().unwrap().remove("nik");
    assert_eq!(
        respon(&h.lookup(&b).await),
        "Parameter Tidak Lengkap / Tidak Valid"
    );
    h.state
        .institutions
        .update("rsud_3313", |i| i.user_active = false);
    assert_eq!(
        respon(&h.lookup(&creds(FOUND)).await),
        "User ID Tidak Aktif"
    );
    h.state
        .institutions
        .update("rsud_3313", |i| i.active = false);
    assert_eq!(
        respon(&h.lookup(&creds(FOUND)).await),
        "Instansi Tidak Aktif"
    );
}

#[tokio::test]
async fn term_and_access_hours_follow_the_clock() {
    let h = harness_with(|s| {
        s.institutions.insert(
            "rsud_3313".into(),
            crate::config::InstitutionOverride {
                access_hours: Some("07:00-16:00".into()),
                ..Default::default()
            },
        );
    });
    // 02:00 UTC = 09:00 WIB: open.
    h.admin(
        "POST",
        "/__admin/clock",
        json!({"set": "2026-03-02T02:00:00Z"}),
    )
    .await;
    assert_eq!(
        h.lookup(&creds(FOUND)).await["content"][0]["NIK"].as_u64(),
        Some(3313014107890003)
    );
    // 10:00 UTC = 17:00 WIB: closed.
    h.admin(
        "POST",
        "/__admin/clock",
        json!({"advance_seconds": 8 * 3600}),
    )
    .await;
    assert_eq!(
        respon(&h.lookup(&creds(FOUND)).await),
        "Akses di luar jam layanan"
    );
    // After the term ends (2030-12-31 WIB): institution inactive.
    h.admin(
        "POST",
        "/__admin/clock",
        json!({"set": "2031-01-01T02:00:00Z"}),
    )
    .await;
    assert_eq!(
        respon(&h.lookup(&creds(FOUND)).await),
        "Instansi Tidak Aktif"
    );
}

#[tokio::test]
async fn key_variants_query_form_and_number_nik() {
    let h = harness();
    let variants = [
        json!({"NIK": FOUND, "user_id": "rsud_3313", "password": "dummy-rsud-3313", "IP_USER": "127.0.0.1"}),
        json!({"NIK": FOUND, "user_id": "rsud_3313", "ip_users": "127.0.0.1", "password": "dummy-rsud-3313"}),
        json!({"NIK": FOUND, "ip_address": "127.0.0.1", "password": "dummy-rsud-3313", "user_id": "rsud_3313"}),
        json!({"NIK": 3313014107890003u64, "USER_ID": "rsud_3313", "PASSWORD": "dummy-rsud-3313", "IP_USER": "127.0.0.1"}),
    ];
    for b in &variants {
        assert_eq!(
            h.lookup(b).await["content"][0]["NIK"].as_u64(),
            Some(3313014107890003),
            "{b}"
        );
    }
    let uri = format!("/dukcapil/get_json/33-13/rsud_3313/call_nik?USER_ID=rsud_3313&PASSWORD=dummy-rsud-3313&IP_USER=127.0.0.1&NIK={FOUND}");
    let (s, v) = h.raw("POST", &uri, vec![], "127.0.0.1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["content"][0]["NIK"].as_u64(), Some(3313014107890003));
    // The regional form with another region's code is not this institution.
    let v = h
        .call("/dukcapil/get_json/33-03/rsud_3313/call_nik", &creds(FOUND))
        .await;
    assert_eq!(respon(&v), "Login Gagal");
}

#[tokio::test]
async fn beyond_2_53_keeps_every_digit_and_flavours_apply() {
    let h = harness();
    let nik = papua().nik.to_string();
    let (_, v) = h
        .raw(
            "POST",
            "/dukcapil/get_json/rsud_3313/CALL_NIK",
            serde_json::to_vec(&creds(&nik)).unwrap(),
            "127.0.0.1",
        )
        .await;
    assert_eq!(v["content"][0]["NIK"].as_u64(), Some(papua().nik.value()));
    let h = harness_with(|s| {
        s.id_numbers = dukcapil_domain::IdNumberType::String;
        s.date_format = dukcapil_domain::DateFormat::DayMonthYearDot;
        s.catalogue = dukcapil_domain::Catalogue::Juknis;
    });
    let v = h.lookup(&creds(FOUND)).await;
    assert_eq!(v["content"][0]["NIK"], FOUND);
    assert_eq!(v["content"][0]["TGL_LHR"], "01.07.1989");
    let mut b = creds(FOUND);
    b["password"] = json!("x");
    assert_eq!(respon(&h.lookup(&b).await), "Gagal Login");
}

#[tokio::test]
async fn malformed_bodies_get_07_and_a_row() {
    let h = harness();
    let path = "/dukcapil/get_json/rsud_3313/CALL_NIK";
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"[1,2]".to_vec(),
        b"{\"nik\": \"\xff\xfe\"}".to_vec(),
        br#"{"nik": {"$gt": ""}, "user_id": "rsud_3313"}"#.to_vec(),
        br#"{"user_id": 1, "password": "x", "ip_user": "127.0.0.1", "nik": "1"}"#.to_vec(),
        vec![b' '; 200 * 1024],
    ];
    for b in &bodies {
        let (s, v) = h.raw("POST", path, b.clone(), "127.0.0.1").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(respon(&v), "Parameter Tidak Lengkap / Tidak Valid");
    }
    let (s, v) = h
        .raw(
            "POST",
            "/dukcapil/get_json/rsud_3313/CALL_SOMETHING",
            vec![],
            "127.0.0.1",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(respon(&v), "Parameter Tidak Lengkap / Tidak Valid");
    let (s, _) = h.raw("GET", path, vec![], "127.0.0.1").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = h.raw("POST", "/nothing/here", vec![], "127.0.0.1").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let rows = h.journal().await;
    assert_eq!(rows.len(), bodies.len() + 3);
    assert!(rows.iter().all(|r| r["outcome"] == "07"));
    assert_eq!(rows[0]["endpoint"], "/nothing/here");
}

#[tokio::test]
async fn operator_is_recorded_and_strict_mode_requires_it() {
    let h = harness();
    h.lookup(&creds(FOUND)).await;
    let mut b = creds(FOUND);
    b.as_object_mut().unwrap().remove("User_ID");
    h.lookup(&b).await;
    let rows = h.journal().await;
    assert_eq!(rows[1]["operator"], "petugas01");
    assert_eq!(rows[0]["operator"], Value::Null);
    assert_eq!(rows[1]["elements"].as_array().unwrap().len(), 21);
    let h = harness_with(|s| s.strict_operator = true);
    assert_eq!(
        respon(&h.lookup(&b).await),
        "Parameter Tidak Lengkap / Tidak Valid"
    );
    assert_eq!(
        h.lookup(&creds(FOUND)).await["content"][0]["NIK"].as_u64(),
        Some(3313014107890003)
    );
}

#[tokio::test]
async fn verification_scores_and_quota_limiter() {
    let h = harness();
    let body = json!({
        "NIK": FOUND, "USER_ID": "rsud_3313", "PASSWORD": "dummy-rsud-3313", "IP_USER": "127.0.0.1",
        "TRESHOLD": "90", "NAMA_LGKP": "sri  lestari", "TMPT_LHR": "KARANG ANYER", "TGL_LHR": "01-07-1989",
        "JENIS_KLMIN": "PEREMPUAN", "STATUS_KAWIN": "BELUM KAWIN", "NO_RT": 2, "AGAMA": "ISLAM"
    });
    let v = h
        .call("/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN", &body)
        .await;
    let c = &v["content"][0];
    assert_eq!(c["NIK"], "Sesuai");
    assert_eq!(c["NAMA_LGKP"], "Sesuai (100)");
    assert!(
        c["TMPT_LHR"]
            .as_str()
            .unwrap()
            .starts_with("Tidak Sesuai ("),
        "{c}"
    );
    assert_eq!(c["TGL_LHR"], "Sesuai");
    assert_eq!(c["JENIS_KLMIN"], "Sesuai");
    assert_eq!(c["STATUS_KAWIN"], "Tidak Sesuai");
    assert_eq!(c["NO_RT"], "Sesuai");
    assert!(c.get("AGAMA").is_none(), "not granted to RSUD: left out");
    assert_eq!(v["quotaLimiter"], 999);
    let mut low = body.clone();
    low["TRESHOLD"] = json!(50);
    let v = h
        .call("/dukcapil/get_json/rsud_3313/call_verify_by_elemen", &low)
        .await;
    assert!(v["content"][0]["TMPT_LHR"]
        .as_str()
        .unwrap()
        .starts_with("Sesuai ("));
    assert_eq!(v["quotaLimiter"], 998);
    let mut dead = body.clone();
    dead["NIK"] = json!(DECEASED);
    let v = h
        .call("/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN", &dead)
        .await;
    assert_eq!(v["content"][0]["RESPONSE_CODE"], "11");
    assert_eq!(
        v["content"][0]["RESPONSE_DESC"],
        "Data Ditemukan, Meninggal Dunia"
    );
    assert_eq!(v["content"][0]["RESPON"], "Data Ditemukan, Meninggal Dunia");
    let mut bad = body.clone();
    bad["TRESHOLD"] = json!("ninety");
    let v = h
        .call("/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN", &bad)
        .await;
    assert_eq!(v["content"][0]["RESPONSE_CODE"], "07");
}

#[tokio::test]
async fn quota_counts_every_lookup_and_rolls_over_at_wib_midnight() {
    let h = harness();
    h.admin(
        "POST",
        "/__admin/clock",
        json!({"set": "2026-03-01T16:58:00Z"}),
    )
    .await;
    let (s, q) = h
        .admin("PUT", "/__admin/quota/rsud_3313", json!({"limit": 2}))
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    h.lookup(&creds(NOT_FOUND)).await; // counted although not found
    h.lookup(&creds("123")).await; // counted although malformed
    assert_eq!(
        respon(&h.lookup(&creds(FOUND)).await),
        "Kuota Akses Hari ini telah Habis"
    );
    let (_, q) = h
        .admin("GET", "/__admin/quota/rsud_3313", Value::Null)
        .await;
    assert_eq!(
        (
            q["used"].as_u64(),
            q["remaining"].as_u64(),
            q["day"].as_str()
        ),
        (Some(2), Some(0), Some("2026-03-01"))
    );
    // 17:00 UTC is 00:00 WIB: a new day.
    h.admin("POST", "/__admin/clock", json!({"advance_seconds": 120}))
        .await;
    assert_eq!(
        h.lookup(&creds(FOUND)).await["content"][0]["NIK"].as_u64(),
        Some(3313014107890003)
    );
    let (_, q) = h
        .admin("GET", "/__admin/quota/rsud_3313", Value::Null)
        .await;
    assert_eq!(
        (q["used"].as_u64(), q["day"].as_str()),
        (Some(1), Some("2026-03-02"))
    );
}

#[tokio::test]
async fn quota_is_exact_under_concurrency() {
    let h = harness();
    h.admin("PUT", "/__admin/quota/rsud_3313", json!({"limit": 20}))
        .await;
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let state = h.state.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = Request::builder()
                .method("POST")
                .uri("/dukcapil/get_json/rsud_3313/CALL_NIK")
                .body(Body::from(serde_json::to_vec(&creds(FOUND)).unwrap()))
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo("127.0.0.1:1".parse::<SocketAddr>().unwrap()));
            let res = crate::http::app(state).oneshot(req).await.unwrap();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&bytes).unwrap()["content"][0]
                .get("NIK")
                .is_some()
        }));
    }
    let mut data = 0;
    for t in tasks {
        data += usize::from(t.await.unwrap());
    }
    assert_eq!(data, 20);
    assert_eq!(h.journal().await.len(), 60);
}

#[tokio::test]
async fn admin_requires_token_and_reset_empties() {
    let h = harness();
    h.lookup(&creds(FOUND)).await;
    let req = Request::builder()
        .uri("/__admin/journal")
        .body(Body::empty())
        .unwrap();
    let res = crate::http::app(h.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let mut req = Request::builder()
        .uri("/__admin/journal")
        .header("authorization", "Bearer tok")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo("192.168.1.5:1".parse::<SocketAddr>().unwrap()));
    let res = crate::http::app(h.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (s, v) = h
        .admin("PUT", "/__admin/quota/rsud_3313", json!({"used": "x"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = h.admin("GET", "/__admin/quota/nobody", Value::Null).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.admin("POST", "/__admin/reset", Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.journal().await.is_empty());
}

/// Each IP policy judges exactly what it names: (body's IP_USER, connection source) → 04 or not.
#[tokio::test]
async fn ip_policies_judge_what_they_say() {
    use dukcapil_mock_api::IpPolicy;
    const OK: &str = "127.0.0.1";
    const WRONG: &str = "10.9.9.9";
    for (policy, table) in [
        (IpPolicy::Source, [false, true, false, true]),
        (IpPolicy::Body, [false, false, true, true]),
        (IpPolicy::Both, [false, true, true, true]),
        (IpPolicy::Off, [false, false, false, false]),
    ] {
        let h = harness_with(|s| s.ip_policy = policy);
        let cases = [(OK, OK), (OK, WRONG), (WRONG, OK), (WRONG, WRONG)];
        for ((body_ip, source), refused) in cases.into_iter().zip(table) {
            let mut b = creds(FOUND);
            b["ip_user"] = json!(body_ip);
            let (_, v) = h
                .raw(
                    "POST",
                    "/dukcapil/get_json/rsud_3313/CALL_NIK",
                    serde_json::to_vec(&b).unwrap(),
                    source,
                )
                .await;
            let got = v["content"][0]["RESPON"] == "IP Address Tidak Sesuai";
            assert_eq!(
                got, refused,
                "{policy:?} body {body_ip} source {source}: {v}"
            );
        }
        // Present in every policy: an empty IP_USER is still 09.
        let mut b = creds(FOUND);
        b["ip_user"] = json!("");
        assert_eq!(
            respon(&h.lookup(&b).await),
            "User, password dan IP tidak boleh kosong",
            "{policy:?}"
        );
    }
    // Per institution, over the global default.
    let h = harness_with(|s| {
        s.institutions.insert(
            "rsud_3313".into(),
            crate::config::InstitutionOverride {
                ip_policy: Some(IpPolicy::Both),
                ..Default::default()
            },
        );
    });
    let mut b = creds(FOUND);
    b["ip_user"] = json!(WRONG);
    assert_eq!(respon(&h.lookup(&b).await), "IP Address Tidak Sesuai");
}

/// Method names are data: the defaults answer as their service, an institution's own list
/// replaces them, and an unknown name gets the envelope with `unknown_method_status`.
#[tokio::test]
async fn method_names_map_to_services_per_institution() {
    use dukcapil_domain::Service;
    let h = harness_with(|s| {
        s.unknown_method_status = 400;
        s.institutions.insert(
            "dinkes_3313".into(),
            crate::config::InstitutionOverride {
                methods: Some([("BYNIK".to_string(), Service::Lookup)].into()),
                ..Default::default()
            },
        );
    });
    for name in [
        "CALL_NIK",
        "call_nik",
        "GET_NIK",
        "BYNIK",
        "call_nik_kecamatan",
    ] {
        let (s, v) = h
            .call_status(
                &format!("/dukcapil/get_json/rsud_3313/{name}"),
                &creds(FOUND),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{name}");
        assert!(v["content"][0].get("NIK").is_some(), "{name}: {v}");
    }
    let mut verify = creds(FOUND);
    verify["NAMA_LGKP"] = json!("SRI LESTARI");
    for name in [
        "nik_verifby_elemen",
        "KONEKSITAS_VERIFBY_ELEMEN",
        "CALL_VERIFY_BY_ELEMEN",
    ] {
        let (_, v) = h
            .call_status(&format!("/dukcapil/get_json/rsud_3313/{name}"), &verify)
            .await;
        assert_eq!(v["content"][0]["NAMA_LGKP"], "Sesuai (100)", "{name}: {v}");
        assert!(v.get("quotaLimiter").is_some(), "{name}");
    }
    // Not served: another service, and names outside an institution's own list.
    for path in [
        "/dukcapil/get_json/rsud_3313/CALL_NIK_GET_KK",
        "/dukcapil/get_json/rsud_3313/adm_desa",
        "/dukcapil/get_json/dinkes_3313/CALL_NIK",
    ] {
        let (s, v) = h.call_status(path, &creds(FOUND)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            respon(&v),
            "Parameter Tidak Lengkap / Tidak Valid",
            "{path}"
        );
    }
    let rows = h.journal().await;
    let aliased = rows
        .iter()
        .find(|r| r["detail"] == "called as GET_NIK")
        .expect("the alias is journaled");
    assert_eq!(aliased["endpoint"], "CALL_NIK");
    assert!(rows
        .iter()
        .any(|r| r["endpoint"] == "adm_desa" && r["http_status"] == 400));
}

/// The verification service's own wording, the regional catalogue, plain region verdicts and
/// verification errors without `RESPON` when so set.
#[tokio::test]
async fn verification_wording_and_region_verdicts() {
    use dukcapil_domain::Catalogue;
    let verify = "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN";
    let h = harness();
    let (_, v) = h.call_status(verify, &creds(NOT_FOUND)).await;
    assert_eq!(
        v["content"][0]["RESPONSE_DESC"],
        "Data Tidak Ditemukan, NIK tidak terdapat di database Kependudukan"
    );
    assert_eq!(
        respon(&h.lookup(&creds(NOT_FOUND)).await),
        "Data Tidak Ditemukan"
    );
    let mut b = creds(FOUND);
    for (k, val) in [
        ("PROP_NAME", "jawa tengah"),
        ("KAB_NAME", "KARANGANYAR"),
        ("KEC_NAME", "NOWHERE"),
        ("NAMA_LGKP", "SRI LESTARI"),
    ] {
        b[k] = json!(val);
    }
    let (_, v) = h.call_status(verify, &b).await;
    let c = &v["content"][0];
    assert_eq!(c["NAMA_LGKP"], "Sesuai (100)", "{v}");
    assert_eq!(c["PROP_NAME"], "Sesuai", "{v}");
    assert_eq!(c["KAB_NAME"], "Sesuai", "{v}");
    assert_eq!(c["KEC_NAME"], "Tidak Sesuai", "{v}");

    let h = harness_with(|s| {
        s.catalogue = Catalogue::Regional;
        s.verify_error_respon = false;
    });
    assert_eq!(
        respon(&h.lookup(&creds(NOT_FOUND)).await),
        "Data tidak ditemukan"
    );
    let mut wrong = creds(FOUND);
    wrong["password"] = json!("salah");
    assert_eq!(respon(&h.lookup(&wrong).await), "Login gagal");
    let (_, v) = h.call_status(verify, &wrong).await;
    let item = v["content"][0].as_object().unwrap();
    assert_eq!(item["RESPONSE_CODE"], "03");
    assert_eq!(item["RESPONSE_DESC"], "Login gagal");
    assert!(!item.contains_key("RESPON"), "{v}");
}
