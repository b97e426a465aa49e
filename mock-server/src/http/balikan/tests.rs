//! Handler tests through the real router (`tower::ServiceExt::oneshot`) with a real state
//! database in a temporary directory.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::http::gateway::tests::{creds, harness, Harness, DECEASED, FOUND, INACTIVE};

const STORE: &str = "/data_balikan/public/api/store";
const UPLOAD: &str = "/data_balikan/public/api/upload";
const RSUD_TOKEN: &str = "balikan-rsud-3313-dummy";
const BOUNDARY: &str = "XbalikanBoundaryX";

async fn send(
    h: &Harness,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let (status, bytes) = h.send(uri, content_type, token, body, "127.0.0.1").await;
    let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "answer is not JSON: {status} {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, v)
}

/// A mock with the `strict` balikan key policy (422 for data outside the agreement).
fn strict() -> Harness {
    crate::http::gateway::tests::harness_with(|s| {
        s.balikan_keys = dukcapil_mock_api::BalikanKeys::Strict;
    })
}

async fn store(h: &Harness, body: &Value) -> (StatusCode, Value) {
    send(
        h,
        STORE,
        Some(RSUD_TOKEN),
        "application/json",
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

fn multipart(file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(content);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn upload(h: &Harness, file_name: &str, content: &[u8]) -> (StatusCode, Value) {
    send(
        h,
        UPLOAD,
        Some(RSUD_TOKEN),
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        multipart(file_name, content),
    )
    .await
}

fn submission(rows: Value) -> Value {
    json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD KABUPATEN KARANGANYAR", "data": rows}])
}

async fn ledger(h: &Harness, query: &str) -> Vec<Value> {
    let (s, v) = h
        .admin("GET", &format!("/__admin/balikan{query}"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["entries"].as_array().unwrap().clone()
}

fn error_pairs(v: &Value) -> Vec<(u64, String)> {
    v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {v}"))
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn store_success_duplicate_and_partial_repeat() {
    let h = harness();
    let body = submission(json!([
        {"NIK": FOUND, "param": [{"NO_RM": "RM-000123", "GOL_DARAH": "O"}]},
        {"NIK": DECEASED, "param": [{"NO_RM": "RM-000124", "NO_SURAT_KEMATIAN": "SK/1/2026"}]},
    ]));
    let (s, v) = store(&h, &body).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"message": "Success"})));
    let (s, v) = store(&h, &body).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "Data sudah pernah dikirim"})
        )
    );
    // One repeat, one changed value: the new one is stored, the repeat reported.
    let partial = submission(json!([
        {"NIK": FOUND, "param": [{"NO_RM": "RM-000123", "GOL_DARAH": "O"}]},
        {"NIK": DECEASED, "param": [{"NO_RM": "RM-000999"}]},
    ]));
    let (s, v) = store(&h, &partial).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["message"], "Success");
    assert_eq!(v["stored"], 1);
    assert_eq!(v["duplicates"], json!([{"row": 1, "nik": FOUND}]));
    let entries = ledger(&h, "?customer_id=rsud_3313").await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["values"], json!({"NO_RM": "RM-000999"}));
    assert_eq!(entries[0]["method"], "store");
    let only = ledger(&h, &format!("?nik={FOUND}")).await;
    assert_eq!(only.len(), 1);
    assert_eq!(
        only[0]["values"],
        json!({"GOL_DARAH": "O", "NO_RM": "RM-000123"})
    );
    assert!(ledger(&h, "?customer_id=dev").await.is_empty());
    // Every request is journaled under its own endpoint.
    let journal = h.journal().await;
    let outcomes: Vec<_> = journal
        .iter()
        .filter(|r| r["endpoint"] == "balikan_store")
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["stored", "duplicate", "stored"]);
}

#[tokio::test]
async fn ledger_needs_the_admin_token_and_reset_empties_it() {
    let h = harness();
    let body = submission(json!([{"NIK": FOUND, "param": [{"NO_RM": "RM-1"}]}]));
    assert_eq!(store(&h, &body).await.0, StatusCode::OK);
    let res = crate::http::app(h.state.clone())
        .oneshot(
            Request::get("/__admin/balikan")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ledger(&h, "?limit=1").await.len(), 1);
    let (s, _) = h.admin("POST", "/__admin/reset", Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ledger(&h, "").await.is_empty());
    // After a reset the same data is new again.
    assert_eq!(store(&h, &body).await.0, StatusCode::OK);
}

#[tokio::test]
async fn never_looked_up_flag_follows_the_journal() {
    let h = harness();
    h.lookup(&creds(FOUND)).await;
    // A lookup by another institution does not count for this one.
    let other =
        json!({"nik": INACTIVE, "user_id": "dev", "password": "dummy-dev", "ip_user": "127.0.0.1"});
    h.call("/dukcapil/get_json/dev/CALL_NIK", &other).await;
    let body = submission(json!([
        {"NIK": FOUND, "param": [{"NO_RM": "RM-1"}]},
        {"NIK": INACTIVE, "param": [{"NO_RM": "RM-2"}]},
    ]));
    let (s, v) = store(&h, &body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = ledger(&h, "").await;
    let flag = |nik: &str| {
        entries
            .iter()
            .find(|e| e["nik"] == nik)
            .map(|e| e["never_looked_up"].clone())
            .unwrap()
    };
    assert_eq!(flag(FOUND), json!(false));
    assert_eq!(flag(INACTIVE), json!(true));
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let h = harness();
    let body = serde_json::to_vec(&submission(
        json!([{"NIK": FOUND, "param": [{"NO_RM": "1"}]}]),
    ))
    .unwrap();
    for token in [None, Some("nope"), Some("")] {
        let (s, v) = send(&h, STORE, token, "application/json", body.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?}: {v}");
        assert!(v["message"].is_string());
    }
    // Another institution's valid token may not send for rsud_3313.
    let (s, v) = send(
        &h,
        STORE,
        Some("balikan-dev-dummy"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["key"], "id_lembaga");
    assert_eq!(v["errors"][0]["block"], 1);
    let (s, _) = send(&h, UPLOAD, Some("x"), "text/csv", b"NIK\n".to_vec()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(ledger(&h, "").await.is_empty());
}

#[tokio::test]
async fn invalid_rows_are_named_and_nothing_is_stored() {
    let h = strict();
    let body = submission(json!([
        {"NIK": FOUND, "param": [{"NO_RM": "RM-1", "WARNA": "merah"}]},
        {"NIK": DECEASED, "param": [{"GOL_DARAH": "O"}]},
        {"NIK": INACTIVE, "param": [{"NO_RM": "RM-3", "GOL_DARAH": "Z"}]},
        {"NIK": "3313019999990003", "param": [{"NO_RM": "RM-4"}]},
        {"NIK": 3313014107890003u64, "param": [{"NO_RM": "RM-5"}]},
    ]));
    let (s, v) = store(&h, &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        error_pairs(&v),
        [
            (1, "WARNA".to_string()),
            (2, "NO_RM".to_string()),
            (3, "GOL_DARAH".to_string()),
            (4, "NIK".to_string())
        ]
    );
    let message = v["message"].as_str().unwrap();
    for part in [
        "baris 1 WARNA",
        "baris 2 NO_RM",
        "baris 3 GOL_DARAH",
        "baris 4 NIK",
    ] {
        assert!(message.contains(part), "{message}");
    }
    assert_eq!(v["errors"][0]["nik"], FOUND);
    assert!(ledger(&h, "").await.is_empty());
}

#[tokio::test]
async fn malformed_bodies_get_a_message() {
    let h = harness();
    let cases: Vec<(Vec<u8>, StatusCode)> = vec![
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST),
        (b"".to_vec(), StatusCode::BAD_REQUEST),
        (vec![b'[', 0xff, 0xfe, b']'], StatusCode::BAD_REQUEST),
        (b"42".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        (b"[]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        (
            br#"[{"id_lembaga":"rsud_3313","data":"x"}]"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            br#"[{"id_lembaga":"rsud_3313","data":[{"NIK":true,"param":[{"NO_RM":{"a":1}}]}]}]"#
                .to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (vec![b' '; super::STORE_CAP + 1], StatusCode::BAD_REQUEST),
    ];
    for (body, want) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        let (s, v) = send(&h, STORE, Some(RSUD_TOKEN), "application/json", body).await;
        assert_eq!(s, want, "{shown}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let res = crate::http::app(h.state.clone())
        .oneshot(Request::get(STORE).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn csv_upload_with_either_separator() {
    let h = strict();
    let comma = format!("NIK,NO_RM,GOL_DARAH\n{FOUND},RM-1,O\n{DECEASED},\"RM,2\",\n");
    let (s, v) = upload(&h, "balikan.csv", comma.as_bytes()).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"message": "Success"})));
    let semi = format!("\u{feff}nik;no_rm;gol_darah\r\n{INACTIVE};RM-3;AB+\r\n");
    let (s, v) = upload(&h, "balikan.csv", semi.as_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = ledger(&h, "").await;
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["method"] == "upload"));
    let deceased = entries.iter().find(|e| e["nik"] == DECEASED).unwrap();
    assert_eq!(deceased["values"], json!({"NO_RM": "RM,2"}));
    assert_eq!(deceased["row"], 3);
    let (s, v) = upload(&h, "balikan.csv", comma.as_bytes()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["message"], "Data sudah pernah dikirim");
    // Errors carry spreadsheet line numbers (header = 1).
    let bad = format!("NIK;NO_RM;WARNA\n{FOUND};RM-9;x\n\n1234;;\n");
    let (s, v) = upload(&h, "b.csv", bad.as_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        error_pairs(&v),
        [
            (2, "WARNA".to_string()),
            (4, "NIK".to_string()),
            (4, "WARNA".to_string()),
            (4, "NO_RM".to_string())
        ]
    );
    let journal = h.journal().await;
    assert_eq!(
        journal
            .iter()
            .filter(|r| r["endpoint"] == "balikan_upload")
            .count(),
        4
    );
}

fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn xlsx_upload_including_numeric_nik_cells() {
    let h = strict();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "NIK").unwrap();
    sheet.write_string(0, 1, "NO_RM").unwrap();
    sheet.write_string(0, 2, "GOL_DARAH").unwrap();
    // A NIK typed as a number (below 2^53, so exact) and one as text.
    sheet.write_number(1, 0, 3313014107890003.0).unwrap();
    sheet.write_number(1, 1, 12345.0).unwrap();
    sheet.write_string(2, 0, DECEASED).unwrap();
    sheet.write_string(2, 1, "RM-2").unwrap();
    sheet.write_string(2, 2, "B-").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    // Detected by content even with a misleading name.
    let (s, v) = upload(&h, "data.bin", &bytes).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"message": "Success"})));
    let entries = ledger(&h, &format!("?nik={FOUND}")).await;
    assert_eq!(entries[0]["values"], json!({"NO_RM": "12345"}));
    let bad = xlsx(&[
        vec!["NIK", "NO_RM", "GOL_DARAH"],
        vec![INACTIVE, "", "O"],
        vec![FOUND, "RM-7", "X"],
    ]);
    let (s, v) = upload(&h, "bad.xlsx", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        error_pairs(&v),
        [(2, "NO_RM".to_string()), (3, "GOL_DARAH".to_string())]
    );
    let (s, v) = upload(&h, "broken.xlsx", b"PK\x03\x04garbage").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains(".xlsx"));
}

#[tokio::test]
async fn upload_without_a_usable_file_part() {
    let h = harness();
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let no_file = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (ct.as_str(), no_file.into_bytes()),
        ("application/json", b"[]".to_vec()),
        (ct.as_str(), b"--not-the-boundary".to_vec()),
        (ct.as_str(), multipart("a.csv", b"")),
        (ct.as_str(), multipart("a.csv", b"NIK,NO_RM\n")),
        (ct.as_str(), multipart("a.csv", b"NO_RM,NIK\nx,y\n")),
        (ct.as_str(), multipart("a.csv", b"NIK,NO_RM\n\xff\n")),
        (
            ct.as_str(),
            multipart("a.xls", &[0xD0, 0xCF, 0x11, 0xE0, 1, 2]),
        ),
    ];
    for (ct, body) in cases {
        let (s, v) = send(&h, UPLOAD, Some(RSUD_TOKEN), ct, body).await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{s} {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[A-Z_]{0,12}".prop_map(Value::String),
        "[0-9]{14,17}".prop_map(Value::String),
        Just(json!("rsud_3313")),
        Just(json!(FOUND)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id_lembaga".to_string()),
                    Just("data".to_string()),
                    Just("NIK".to_string()),
                    Just("param".to_string()),
                    Just("NO_RM".to_string()),
                    Just("GOL_DARAH".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever the body, the intake answers with a `{"message"}` below 500.
    #[test]
    fn arbitrary_bodies_never_5xx(value in json_value(), raw in prop::collection::vec(any::<u8>(), 0..300), csv in "[A-Z0-9_,;\"\n\r ]{0,200}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let h = shared();
        rt.block_on(async {
            let cases = vec![
                (STORE, "application/json".to_string(), serde_json::to_vec(&value).unwrap()),
                (STORE, "application/json".to_string(), raw.clone()),
                (UPLOAD, format!("multipart/form-data; boundary={BOUNDARY}"), multipart("x.csv", csv.as_bytes())),
                (UPLOAD, format!("multipart/form-data; boundary={BOUNDARY}"), multipart("x.csv", &raw)),
                (UPLOAD, format!("multipart/form-data; boundary={BOUNDARY}"), raw.clone()),
            ];
            for (uri, ct, body) in cases {
                let (s, v) = send(h, uri, Some(RSUD_TOKEN), &ct, body).await;
                prop_assert!(s.as_u16() < 500, "{} {}", s, v);
                prop_assert!(v["message"].is_string(), "{}", v);
            }
            Ok(())
        })?;
    }
}

/// One harness for all proptest cases (each harness starts a writer thread).
fn shared() -> &'static Harness {
    static H: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
    H.get_or_init(harness)
}

/// A 422 answer stays within `answer_max_bytes` however many and however long the bad rows,
/// and counts what it left out; the message quotes keys shortened.
#[test]
fn invalid_answers_are_capped_with_a_count_of_what_was_left_out() {
    use crate::core::balikan::validate::RowError;
    let errors: Vec<RowError> = (0..5000)
        .map(|r| RowError::at(r + 2, None, &"K".repeat(10_000), "kolom tidak dikenal"))
        .collect();
    let a = super::invalid(errors.into_iter().collect(), 64 * 1024);
    let listed = a.body["errors"].as_array().unwrap().len();
    let omitted = a.body["errors_omitted"].as_u64().unwrap() as usize;
    assert_eq!(listed + omitted, 5000);
    assert!(listed >= 1, "{listed}");
    let size = serde_json::to_string(&a.body).unwrap().len();
    assert!(size < 64 * 1024 + 4 * 1024, "{size}");
}

/// The default `free` key policy stores what the real service stores and records, per entry,
/// what did not conform; the journal marks a submission outside the agreement so that a PoC
/// never takes it for valid balikan. The admin API switches one institution to `strict`.
#[tokio::test]
async fn free_keys_are_stored_and_their_nonconformance_recorded() {
    let h = harness();
    let body = submission(json!([
        {"NIK": FOUND, "param": [{"NO_RM": "RM-1", "WARNA": "merah"}]},
        {"NIK": DECEASED, "param": [{"GOL_DARAH": "O"}]},
        {"NIK": INACTIVE, "param": [{"NO_RM": "RM-3", "GOL_DARAH": "Z"}]},
    ]));
    let (s, v) = store(&h, &body).await;
    assert_eq!((s, &v), (StatusCode::OK, &json!({"message": "Success"})));
    let entries = ledger(&h, "").await;
    let by_nik = |nik: &str| entries.iter().find(|e| e["nik"] == nik).unwrap().clone();
    let found = by_nik(FOUND);
    assert_eq!(found["values"], json!({"NO_RM": "RM-1", "WARNA": "merah"}));
    assert_eq!(found["unknown_keys"], json!(["WARNA"]));
    assert_eq!(found["missing"], json!([]));
    assert_eq!(by_nik(DECEASED)["missing"], json!(["NO_RM"]));
    let inactive = by_nik(INACTIVE);
    assert!(inactive["invalid"]["GOL_DARAH"].is_string(), "{inactive}");
    assert_eq!(inactive["values"]["GOL_DARAH"], "Z");
    let journal = h.journal().await;
    let row = journal
        .iter()
        .find(|r| r["endpoint"] == "balikan_store")
        .unwrap();
    assert_eq!(row["outcome"], "stored_nonconforming", "{row}");
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.contains("baris 2 tanpa NO_RM"), "{detail}");
    let (s, v) = store(&h, &body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "Data sudah pernah dikirim");
    let journal = h.journal().await;
    assert!(journal
        .iter()
        .any(|r| r["outcome"] == "duplicate_nonconforming"));
    // Unknown keys alone are within the agreement: plain `stored`.
    let extra = submission(json!([{"NIK": FOUND, "param": [{"NO_RM": "RM-2", "CATATAN": "x"}]}]));
    assert_eq!(store(&h, &extra).await.0, StatusCode::OK);
    let journal = h.journal().await;
    let outcomes: Vec<&str> = journal
        .iter()
        .filter(|r| r["endpoint"] == "balikan_store")
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert!(outcomes.contains(&"stored"), "{outcomes:?}");
    // A NIK that is none is refused in both policies.
    let bad = submission(json!([{"NIK": "1234", "param": [{"NO_RM": "RM-9"}]}]));
    assert_eq!(store(&h, &bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // One institution switched to strict through the admin API.
    let (s, v) = h
        .admin(
            "PATCH",
            "/__admin/institutions/rsud_3313",
            json!({"balikan_keys": "strict"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balikan_keys"], "strict");
    let other =
        submission(json!([{"NIK": DECEASED, "param": [{"NO_RM": "RM-4", "WARNA": "biru"}]}]));
    let (s, v) = store(&h, &other).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_pairs(&v), [(1, "WARNA".to_string())]);
}
