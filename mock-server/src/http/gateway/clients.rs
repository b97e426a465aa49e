//! One test per public client shape (contract §§1-6): each sends what that client sends, with
//! its key casing, types, content type and method name, and asserts exactly what its parsing
//! code reads (keys, JSON types, texts compared with `==`, status codes). If the mock drifts from
//! what these clients expect, one of these fails.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::tests::{harness, harness_with, Harness, FOUND, NOT_FOUND};
use dukcapil_domain::Catalogue;

const RSUD_PASSWORD: &str = "dummy-rsud-3313";
const RSUD_BALIKAN_TOKEN: &str = "balikan-rsud-3313-dummy";

/// A POST from the registered address as a client sends it.
async fn send(
    h: &Harness,
    path: &str,
    content_type: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    h.send(path, content_type, bearer, body, "127.0.0.1").await
}

async fn send_json(
    h: &Harness,
    path: &str,
    content_type: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let (s, bytes) = send(
        h,
        path,
        content_type,
        None,
        serde_json::to_vec(body).unwrap(),
    )
    .await;
    (s, serde_json::from_slice(&bytes).expect("a JSON answer"))
}

fn first(v: &Value) -> &serde_json::Map<String, Value> {
    v["content"][0]
        .as_object()
        .expect("content[0] is an object")
}

/// Hospital SIMRS bridging class (Java): lower-case credential keys, the operator under
/// `User_ID`, a malformed content type; reads `content[0]` with `getLong("NIK")`,
/// `getLong("NO_KK")`, `getInt("NO_RT")`, `getString("NAMA_LGKP")`, and compares `RESPON` with
/// `equals("Data Tidak Ditemukan")`. Another hospital client sends the query-parameter form on
/// an empty POST.
#[tokio::test]
async fn hospital_simrs_java_bridging() {
    let h = harness();
    let path = "/dukcapil/get_json/rsud_3313/CALL_NIK";
    let ct = "application/json,Accept: application/json";
    let body = |nik: &str| {
        json!({"nik": nik, "user_id": "rsud_3313", "password": RSUD_PASSWORD,
               "ip_user": "127.0.0.1", "User_ID": "petugas.pendaftaran01"})
    };
    let (s, v) = send_json(&h, path, ct, &body(FOUND)).await;
    assert_eq!(s, StatusCode::OK);
    let rec = first(&v);
    assert_eq!(rec["NIK"].as_u64(), Some(3313014107890003));
    assert_eq!(rec["NO_KK"].as_u64(), Some(3313010101120007));
    assert!(rec["NO_RT"].is_u64() && rec["NO_RW"].is_u64());
    assert!(rec["NAMA_LGKP"].is_string());
    assert_eq!(rec["TGL_LHR"], "1989-07-01");
    assert_eq!(v["totalElements"], 1);
    let (_, v) = send_json(&h, path, ct, &body(NOT_FOUND)).await;
    assert_eq!(first(&v)["RESPON"], "Data Tidak Ditemukan");

    let query = format!(
        "/dukcapil/get_json/rsud_3313/CALL_NIK?USER_ID=rsud_3313&PASSWORD={RSUD_PASSWORD}&NIK={FOUND}"
    );
    let (s, bytes) = send(
        &h,
        &query,
        "application/x-www-form-urlencoded",
        None,
        vec![],
    )
    .await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first(&v)["NIK"].as_u64(), Some(3313014107890003));
}

/// Statistics office batch (PHP): verification with upper-case keys, `TRESHOLD` as the string
/// "90", dates `DD-MM-YYYY`, method `koneksitas_verifby_elemen`; reads the verdict strings, the
/// numeric `quotaLimiter`, and compares `RESPONSE_DESC` of 13 and 05 with `==` (its production
/// log holds the verification service's own wording).
#[tokio::test]
async fn statistics_office_php_batch() {
    let h = harness();
    let path = "/dukcapil/get_json/rsud_3313/koneksitas_verifby_elemen";
    let body = |nik: &str| {
        json!({"USER_ID": "rsud_3313", "PASSWORD": RSUD_PASSWORD, "IP_USER": "127.0.0.1",
               "TRESHOLD": "90", "NIK": nik, "NAMA_LGKP": "SRI LESTARI", "TGL_LHR": "01-07-1989",
               "User_ID": "batch"})
    };
    let (s, v) = send_json(&h, path, "application/json", &body(FOUND)).await;
    assert_eq!(s, StatusCode::OK);
    let c = first(&v);
    assert_eq!(c["NAMA_LGKP"], "Sesuai (100)");
    assert_eq!(c["TGL_LHR"], "Sesuai");
    assert!(v["quotaLimiter"].is_u64(), "{v}");
    let (_, v) = send_json(&h, path, "application/json", &body(NOT_FOUND)).await;
    let c = first(&v);
    assert_eq!(c["RESPONSE_CODE"], "13");
    assert_eq!(
        c["RESPONSE_DESC"],
        "Data Tidak Ditemukan, NIK tidak terdapat di database Kependudukan"
    );
    let (s, _) = h
        .admin("PUT", "/__admin/quota/rsud_3313", json!({"limit": 0}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = send_json(&h, path, "application/json", &body(FOUND)).await;
    let c = first(&v);
    assert_eq!(c["RESPONSE_CODE"], "05");
    assert_eq!(c["RESPONSE_DESC"], "Kuota Akses Hari Ini Telah Habis");
    assert_eq!(v["quotaLimiter"], 0);
}

/// Fintech client (Python, with its own tests): lower-case credentials, upper-case elements,
/// `TRESHOLD` as a number; its fixture compares region names with `== "Sesuai"` next to scored
/// names. Its data-balikan tests expect 200 `Success` for keys outside any agreement, then 400
/// `Data sudah pernah dikirim` for the same data again.
#[tokio::test]
async fn fintech_python_client() {
    let h = harness();
    let path = "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN";
    let body = json!({"user_id": "rsud_3313", "password": RSUD_PASSWORD, "ip_user": "127.0.0.1",
        "TRESHOLD": 90, "NIK": FOUND, "NAMA_LGKP": "Sri Lestari", "TMPT_LHR": "KARANGANYAR",
        "PROP_NAME": "JAWA TENGAH", "KAB_NAME": "KARANGANYAR", "KEC_NAME": "JATIPURO",
        "KEL_NAME": "JATIPURO", "User_ID": "api-client"});
    let (_, v) = send_json(&h, path, "application/json", &body).await;
    let c = first(&v);
    for k in ["PROP_NAME", "KAB_NAME", "KEC_NAME", "KEL_NAME"] {
        assert_eq!(c[k], "Sesuai", "{k}: {v}");
    }
    assert_eq!(c["NAMA_LGKP"], "Sesuai (100)");
    assert_eq!(c["TMPT_LHR"], "Sesuai (100)");

    let balikan = json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD KABUPATEN KARANGANYAR",
        "data": [{"NIK": FOUND, "param": [{"loan_id": "L-1", "status": "approved"}]}]}]);
    let bytes = serde_json::to_vec(&balikan).unwrap();
    let store = "/data_balikan/public/api/store";
    let (s, out) = send(
        &h,
        store,
        "application/json",
        Some(RSUD_BALIKAN_TOKEN),
        bytes.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap(),
        json!({"message": "Success"})
    );
    let (s, out) = send(
        &h,
        store,
        "application/json",
        Some(RSUD_BALIKAN_TOKEN),
        bytes,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap()["message"],
        "Data sudah pernah dikirim"
    );
}

/// Laravel service: the NIK as a JSON number, the address under `ip_address` as a hard-coded
/// LAN address that is not the caller's (the real gateway judges the network source), method
/// `GET_NIK`; reads `content[0]['NAMA_LGKP']`.
#[tokio::test]
async fn laravel_service() {
    let h = harness();
    let body = json!({"NIK": 3313014107890003u64, "ip_address": "192.168.1.10",
        "password": RSUD_PASSWORD, "user_id": "rsud_3313", "User_ID": "admin.loket"});
    let (s, v) = send_json(
        &h,
        "/dukcapil/get_json/rsud_3313/GET_NIK",
        "application/json",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(first(&v)["NAMA_LGKP"].is_string(), "{v}");
}

/// Go service: `ip_users` with a placeholder (`x`), decodes `NIK` into an `int64`, so a NIK past
/// 2^53 must arrive digit for digit (a client decoding into a double would corrupt it).
#[tokio::test]
async fn go_service() {
    let h = harness();
    let papua = super::tests::papua().nik.to_string();
    let body = json!({"NIK": papua, "user_id": "rsud_3313", "ip_users": "x",
        "password": RSUD_PASSWORD, "User_ID": "svc"});
    let (s, bytes) = send(
        &h,
        "/dukcapil/get_json/rsud_3313/CALL_NIK",
        "application/json",
        None,
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(&format!("\"NIK\":{papua}")), "{text}");
}

/// Browser page: a "simple" cross-origin POST (`text/plain`, so no preflight) with the JSON as
/// text and `IP_USER` as an internal id (`PP:<id>`); reads `content[0].NAMA_LGKP` or `RESPON`.
#[tokio::test]
async fn browser_page() {
    let h = harness();
    let body = json!({"NIK": FOUND, "USER_ID": "rsud_3313", "PASSWORD": RSUD_PASSWORD,
        "IP_USER": "PP:1234", "User_ID": "loket1"});
    let (s, v) = send_json(
        &h,
        "/dukcapil/get_json/rsud_3313/CALL_NIK",
        "text/plain;charset=UTF-8",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(first(&v)["NAMA_LGKP"].is_string(), "{v}");
}

/// Regional hospital client: the older regional path form and the regional gateway's lower-case
/// wording, compared verbatim.
#[tokio::test]
async fn regional_hospital_client() {
    let h = harness_with(|s| s.catalogue = Catalogue::Regional);
    let path = "/dukcapil/get_json/33-13/rsud_3313/call_nik";
    let body = |nik: &str, password: &str| {
        json!({"nik": nik, "user_id": "rsud_3313", "password": password, "ip_user": "127.0.0.1",
               "User_ID": "igd"})
    };
    let (_, v) = send_json(&h, path, "application/json", &body(FOUND, RSUD_PASSWORD)).await;
    assert!(first(&v)["NIK"].is_u64(), "{v}");
    let (_, v) = send_json(
        &h,
        path,
        "application/json",
        &body(NOT_FOUND, RSUD_PASSWORD),
    )
    .await;
    assert_eq!(first(&v)["RESPON"], "Data tidak ditemukan");
    let (_, v) = send_json(&h, path, "application/json", &body(FOUND, "salah")).await;
    assert_eq!(first(&v)["RESPON"], "Login gagal");
    h.admin("PUT", "/__admin/quota/rsud_3313", json!({"limit": 0}))
        .await;
    let (_, v) = send_json(&h, path, "application/json", &body(FOUND, RSUD_PASSWORD)).await;
    assert_eq!(first(&v)["RESPON"], "Kuota akses hari ini telah habis");
}
