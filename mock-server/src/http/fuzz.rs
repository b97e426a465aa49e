//! Property tests ("fuzzing") of everything the gateway reads from outside: request bodies
//! (arbitrary bytes, mutated valid bodies, structured-but-wrong JSON), query strings, paths,
//! HTTP methods and content types. Driven through the real router with
//! `tower::ServiceExt::oneshot` and a real state database, so a case costs well under a
//! millisecond. Properties: never a 5xx or a panic; always the gateway envelope whose object
//! agrees with a valid outcome code; exactly one journal row per request, with that outcome.
//!
//! Case counts: proptest's default (256 per property), or `PROPTEST_CASES`; a longer campaign:
//! `PROPTEST_CASES=100000 cargo test -p mock-server --release fuzz`.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, Uri};
use dukcapil_domain::{Catalogue, Outcome, Service};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::db::{query_journal, JournalFilter};
use crate::http::gateway::tests::{harness, Harness, DECEASED, FOUND, INACTIVE, NOT_FOUND};

/// A harness with a runtime, and the id of the newest journal row seen so far.
struct Rig {
    h: Harness,
    rt: tokio::runtime::Runtime,
    last_id: std::cell::Cell<i64>,
}

fn rig() -> Rig {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(async { harness() });
    Rig {
        h,
        rt,
        last_id: std::cell::Cell::new(0),
    }
}

impl Rig {
    /// Sends one request and checks every property of the answer and its journal row.
    fn check(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let Ok(parsed) = uri.parse::<Uri>() else {
            // Not a URI a client could send; nothing to test.
            return Ok(());
        };
        let mut req = Request::builder().method(method).uri(parsed);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let mut req = req.body(Body::from(body)).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                50000,
            ))));
        let (status, bytes) = self.rt.block_on(async {
            let res = crate::http::app(self.h.state.clone())
                .oneshot(req)
                .await
                .unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes)
        });
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(
            !status.is_server_error(),
            "{method} {uri}: HTTP {status}: {text}"
        );
        prop_assert!(
            [
                StatusCode::OK,
                StatusCode::NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED
            ]
            .contains(&status),
            "{method} {uri}: HTTP {status}"
        );
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{method} {uri}: not JSON ({e}): {text}")))?;
        prop_assert_eq!(v["numberOfElements"].as_u64(), Some(1), "{}", text);
        prop_assert_eq!(v["content"].as_array().map(Vec::len), Some(1), "{}", text);
        let item = v["content"][0]
            .as_object()
            .ok_or_else(|| TestCaseError::fail(format!("content[0] not an object: {text}")))?;

        // Exactly one new journal row, and it matches the answer.
        let rows = query_journal(
            self.h.state.settings.data_dir.as_path(),
            &JournalFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let row = rows
            .first()
            .ok_or_else(|| TestCaseError::fail("no journal row"))?;
        prop_assert_eq!(row.id, self.last_id.get() + 1, "one row per request");
        self.last_id.set(row.id);
        prop_assert_eq!(row.http_status, status.as_u16());
        let outcome: Outcome = row
            .outcome
            .parse()
            .map_err(|_| TestCaseError::fail(format!("journaled outcome {}", row.outcome)))?;
        if let Some(code) = item.get("RESPONSE_CODE") {
            prop_assert_eq!(code.as_str(), Some(outcome.code()), "{}", text);
        }
        match item.get("RESPON") {
            Some(r) => {
                prop_assert_ne!(outcome, Outcome::Found);
                // The verification service has its own wording (an unknown method's answer is
                // the lookup's).
                let service = if row.endpoint == "CALL_VERIFY_BY_ELEMEN" {
                    Service::Verification
                } else {
                    Service::Lookup
                };
                prop_assert_eq!(
                    r.as_str(),
                    Some(outcome.text_for(service, Catalogue::Gateway)),
                    "{}",
                    text
                );
            }
            None => {
                // Data or verdicts: only for outcome 01 of a POSTed, known method.
                prop_assert_eq!(outcome, Outcome::Found, "{}", text);
                prop_assert_eq!(status, StatusCode::OK);
                if row.endpoint == "CALL_NIK" {
                    prop_assert!(item.contains_key("NIK"), "{}", text);
                } else {
                    prop_assert_eq!(row.endpoint.as_str(), "CALL_VERIFY_BY_ELEMEN");
                    for (k, verdict) in item {
                        let s = verdict.as_str().unwrap_or("");
                        prop_assert!(
                            s.starts_with("Sesuai") || s.starts_with("Tidak Sesuai"),
                            "{k}: {s}"
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

const KEYS: &[&str] = &[
    "nik",
    "NIK",
    "user_id",
    "USER_ID",
    "password",
    "PASSWORD",
    "ip_user",
    "IP_USER",
    "ip_users",
    "ip_address",
    "User_ID",
    "TRESHOLD",
    "threshold",
    "NAMA_LGKP",
    "TGL_LHR",
    "JENIS_KLMIN",
    "NO_KK",
    "TMPT_LHR",
    "NAMA_LGKP_IBU",
    "STATUS_KAWIN",
];

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        3 => prop::sample::select(vec![
            "rsud_3313", "33-13", "33-03", "CALL_NIK", "call_nik", "CALL_VERIFY_BY_ELEMEN",
            "Call_Verify_By_Elemen", "dinkes_3313", "dev", "",
        ])
        .prop_map(String::from),
        1 => "[A-Za-z0-9_.%~-]{0,12}",
    ];
    prop_oneof![
        12 => prop::sample::select(vec![
            "/dukcapil/get_json/rsud_3313/CALL_NIK",
            "/dukcapil/get_json/33-13/rsud_3313/call_nik",
            "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN",
            "/dukcapil/get_json/33-13/rsud_3313/CALL_VERIFY_BY_ELEMEN",
        ])
        .prop_map(String::from),
        2 => prop::collection::vec(segment, 1..5)
            .prop_map(|s| format!("/dukcapil/get_json/{}", s.join("/"))),
        1 => "/[A-Za-z0-9_./-]{0,30}",

    ]
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => Just("POST"),
        1 => prop::sample::select(vec!["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "application/json",
        "application/json,Accept: application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]))
}

/// Any JSON value, a few levels deep, with strings and numbers that matter here mixed in.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            FOUND,
            DECEASED,
            INACTIVE,
            NOT_FOUND,
            "9103010101900001",
            "rsud_3313",
            "dummy-rsud-3313",
            "127.0.0.1",
            "90",
            "101",
            "-1",
            "' OR 1=1 --",
            "{\"$gt\":\"\"}",
            "01-07-1989",
            "1989-07-01",
            "",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z_$]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(KEYS.to_vec()).prop_map(String::from),
        2 => prop::sample::select(KEYS[11..].to_vec()).prop_map(String::from),
        1 => "\\PC{0,12}",
    ]
}

fn creds(nik: &str) -> Map<String, Value> {
    json!({"nik": nik, "user_id": "rsud_3313", "password": "dummy-rsud-3313",
           "ip_user": "127.0.0.1", "User_ID": "petugas01"})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Objects near valid requests: the right credentials (or none) with keys added, replaced or
/// removed; and now and then a JSON value that is not an object at all.
fn structured_body() -> impl Strategy<Value = Vec<u8>> {
    let object = (
        prop::bool::weighted(0.85),
        prop::sample::select(vec![FOUND, DECEASED, INACTIVE, NOT_FOUND]),
        prop::collection::vec((key(), json_value()), 0..4),
        prop::collection::vec(prop::sample::select(KEYS.to_vec()), 0..2),
    )
        .prop_map(|(base, nik, changes, removed)| {
            let mut m = if base { creds(nik) } else { Map::new() };
            for (k, v) in changes {
                m.insert(k, v);
            }
            for k in removed {
                m.remove(k);
            }
            Value::Object(m).to_string().into_bytes()
        });
    prop_oneof![
        6 => object,
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
}

/// A valid body with bytes flipped, inserted or cut off.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    let valid = Value::Object(creds(FOUND)).to_string().into_bytes();
    let len = valid.len();
    prop::collection::vec((0..len, any::<u8>(), 0..3u8), 1..6).prop_map(move |edits| {
        let mut b = valid.clone();
        for (at, byte, kind) in edits {
            let at = at.min(b.len());
            match kind {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ => b.truncate(at),
            }
        }
        b
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => structured_body(),
        2 => mutated_body(),
        2 => prop::collection::vec(any::<u8>(), 0..400),
        1 => Just(Vec::new()),
    ]
}

/// Percent-encodes every byte outside the unreserved set, so any text becomes a valid query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query() -> impl Strategy<Value = String> {
    let pairs = prop::collection::vec(
        (
            key(),
            prop_oneof![
                2 => "\\PC{0,16}",
                1 => prop::sample::select(vec![FOUND, "rsud_3313", "dummy-rsud-3313", "127.0.0.1"])
                    .prop_map(String::from),
            ],
        ),
        0..6,
    )
    .prop_map(|p| {
        p.iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    });
    prop_oneof![
        3 => pairs,
        // Raw, possibly broken, escapes and separators.
        1 => "[ -~]{0,40}".prop_map(|s| s.replace([' ', '#'], "")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_gateway_bodies_never_fail_or_go_unjournaled(
        path in path(),
        method in method(),
        ct in content_type(),
        body in body(),
    ) {
        thread_local!(static RIG: Rig = rig());
        RIG.with(|r| r.check(method, &path, ct, body))?;
    }

    #[test]
    fn fuzz_gateway_query_strings(
        path in path(),
        q in query(),
        body in prop_oneof![3 => Just(Vec::new()), 1 => body()],
    ) {
        thread_local!(static RIG: Rig = rig());
        RIG.with(|r| r.check("POST", &format!("{path}?{q}"), Some("application/json"), body))?;
    }

    #[test]
    fn fuzz_verification_elements_with_valid_credentials(
        nik in prop::sample::select(vec![FOUND, DECEASED, INACTIVE, NOT_FOUND]),
        elements in prop::collection::vec(
            (
                prop::sample::select(KEYS[12..].to_vec()),
                prop_oneof![
                    3 => "\\PC{0,40}".prop_map(Value::String),
                    1 => json_value(),
                ],
            ),
            0..8,
        ),
        threshold in prop::option::of(prop_oneof![
            any::<u8>().prop_map(|t| json!(t)),
            any::<u8>().prop_map(|t| json!(t.to_string())),
            json_value(),
        ]),
        lower_case_keys in any::<bool>(),
    ) {
        let mut m = creds(nik);
        if lower_case_keys {
            m = m.into_iter().map(|(k, v)| if k == "User_ID" { (k, v) } else { (k.to_uppercase(), v) }).collect();
        }
        for (k, v) in elements {
            m.insert(k.to_string(), v);
        }
        if let Some(t) = threshold {
            m.insert("TRESHOLD".into(), t);
        }
        thread_local!(static RIG: Rig = rig());
        let body = Value::Object(m).to_string().into_bytes();
        RIG.with(|r| r.check(
            "POST",
            "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN",
            Some("application/json"),
            body,
        ))?;
    }
}

#[test]
fn fuzz_fixed_hostile_inputs() {
    let r = rig();
    let lookup = "/dukcapil/get_json/rsud_3313/CALL_NIK";
    let verify = "/dukcapil/get_json/rsud_3313/CALL_VERIFY_BY_ELEMEN";
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (lookup, b"{\"nik\":\"\xff\xfe\"}".to_vec()),
        (lookup, vec![b'['; 100_000]),
        (
            lookup,
            format!("{}{}", "{\"a\":".repeat(5_000), "1").into_bytes(),
        ),
        (lookup, vec![b' '; 70_000]),
        (
            lookup,
            [b"{\"nik\":\"".as_slice(), &vec![b'9'; 80_000], b"\"}"].concat(),
        ),
        (lookup, br#"{"nik": 1e400, "user_id":"rsud_3313"}"#.to_vec()),
        (lookup, br#"{"nik": 33130141078900031234567890}"#.to_vec()),
        (lookup, br#"{"nik": -3313014107890003}"#.to_vec()),
        (lookup, br#"{"nik": 3313014107890003.0}"#.to_vec()),
        (lookup, b"\xef\xbb\xbf{}".to_vec()),
        (lookup, b"{}{}".to_vec()),
        (lookup, b"null".to_vec()),
        (lookup, b"\0".to_vec()),
        (verify, br#"{"TRESHOLD": 1e308}"#.to_vec()),
        (verify, br#"{"TRESHOLD": -0}"#.to_vec()),
    ];
    let mut full = creds(FOUND);
    full.insert("TRESHOLD".into(), json!("abc"));
    cases.push((verify, Value::Object(full.clone()).to_string().into_bytes()));
    full.insert("TRESHOLD".into(), json!(1e10));
    full.insert("TGL_LHR".into(), json!("31-02-1989"));
    cases.push((verify, Value::Object(full).to_string().into_bytes()));
    for (path, body) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        r.check("POST", path, Some("application/json"), body)
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Data balikan: store (JSON) and upload (multipart CSV / .xlsx).
// ---------------------------------------------------------------------------------------------

const STORE: &str = "/data_balikan/public/api/store";
const UPLOAD: &str = "/data_balikan/public/api/upload";
const BOUNDARY: &str = "XfuzzBoundaryX";
const BALIKAN_OUTCOMES: &[&str] = &[
    "stored",
    "duplicate",
    // Held under the `free` key policy, outside the agreement's fields.
    "stored_nonconforming",
    "duplicate_nonconforming",
    "invalid",
    "bad_request",
    "unauthorized",
    "inactive",
    "method",
    // An upload past a `[limits]` bound (413), or more uploads waiting than allowed (503).
    "too_large",
    "busy",
];

impl Rig {
    /// Sends one balikan request; checks the `{"message"}` answer and its journal row.
    fn check_balikan(
        &self,
        uri: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let mut req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", content_type);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut req = req.body(Body::from(body)).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                50000,
            ))));
        let (status, bytes) = self.rt.block_on(async {
            let res = crate::http::app(self.h.state.clone())
                .oneshot(req)
                .await
                .unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes)
        });
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(!status.is_server_error(), "{uri}: HTTP {status}: {text}");
        prop_assert!(
            [200u16, 400, 401, 413, 415, 422].contains(&status.as_u16()),
            "{uri}: HTTP {status}: {text}"
        );
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{uri}: not JSON ({e}): {text}")))?;
        prop_assert!(v["message"].is_string(), "{}", text);
        prop_assert_eq!(
            v["message"] == "Success",
            status == StatusCode::OK,
            "{}",
            text
        );

        let rows = query_journal(
            self.h.state.settings.data_dir.as_path(),
            &JournalFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let row = rows
            .first()
            .ok_or_else(|| TestCaseError::fail("no journal row"))?;
        prop_assert_eq!(row.id, self.last_id.get() + 1, "one row per request");
        self.last_id.set(row.id);
        prop_assert_eq!(row.http_status, status.as_u16());
        let endpoint = if uri == STORE {
            "balikan_store"
        } else {
            "balikan_upload"
        };
        prop_assert_eq!(row.endpoint.as_str(), endpoint);
        prop_assert!(
            BALIKAN_OUTCOMES.contains(&row.outcome.as_str()),
            "outcome {}",
            row.outcome
        );
        Ok(())
    }
}

fn token() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("balikan-rsud-3313-dummy")),
        1 => Just(Some("balikan-dinkes-3313-dummy")),
        1 => Just(Some("salah")),
        1 => Just(None),
    ]
}

/// A cell value: near-valid (record numbers, blood types, NIKs) or anything.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "RM-[0-9]{1,8}",
        1 => prop::sample::select(vec!["A", "B", "AB", "O", "A+", "o", "TIDAK TAHU", "Z", ""])
            .prop_map(String::from),
        1 => prop::sample::select(vec![FOUND, DECEASED, INACTIVE, NOT_FOUND, "123", "3313014107890003 "])
            .prop_map(String::from),
        2 => "\\PC{0,20}",
        1 => "[,;\"\r\n =+@-]{0,6}",
    ]
}

fn balikan_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["NO_RM", "GOL_DARAH", "NO_SURAT_KEMATIAN", "NIK"])
            .prop_map(String::from),
        1 => "\\PC{0,10}",
    ]
}

/// Submissions in the contract's shape with values, keys and structure changed at random.
fn store_body() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        prop_oneof![
            3 => prop::sample::select(vec![FOUND, DECEASED, INACTIVE, NOT_FOUND]).prop_map(|n| json!(n)),
            1 => json_value(),
        ],
        prop::collection::vec((balikan_key(), prop_oneof![3 => cell().prop_map(Value::String), 1 => json_value()]), 0..5),
    )
        .prop_map(|(nik, params)| {
            let param: Map<String, Value> = params.into_iter().collect();
            json!({"NIK": nik, "param": [param]})
        });
    let submission = (
        prop_oneof![
            4 => Just(json!("rsud_3313")),
            1 => Just(json!("dinkes_3313")),
            1 => json_value(),
        ],
        prop::collection::vec(entry, 0..5),
    )
        .prop_map(|(id, data)| {
            json!([{"id_lembaga": id, "nama_lembaga": "RSUD KABUPATEN KARANGANYAR", "data": data}])
                .to_string()
                .into_bytes()
        });
    prop_oneof![
        5 => submission,
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::sample::select(vec![",", ";", "\t"]),
        prop::collection::vec(balikan_key(), 0..5),
        prop::collection::vec(prop::collection::vec(cell(), 0..5), 0..6),
    )
        .prop_map(|(bom, sep, header, rows)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(&header.join(sep));
            for r in rows {
                s.push('\n');
                s.push_str(&r.join(sep));
            }
            s.into_bytes()
        })
}

/// A real .xlsx of near-valid rows, built once.
fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let _ = sheet.write_string(r as u32, c as u16, cell.as_str());
        }
    }
    book.save_to_buffer().unwrap_or_default()
}

fn workbook() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::collection::vec(cell(), 1..4), 0..4).prop_map(|rows| {
        let mut all = vec![vec!["NIK".to_string(), "NO_RM".into(), "GOL_DARAH".into()]];
        all.extend(rows);
        xlsx(&all)
    })
}

fn xlsx_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Valid workbooks of arbitrary cells.
        2 => workbook(),
        // Valid workbooks with bytes flipped or cut off (a broken zip).
        2 => (workbook(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), any::<bool>())
            .prop_map(|(mut b, flips, cut)| {
                if !b.is_empty() {
                    for (i, byte) in flips {
                        let at = i.index(b.len());
                        b[at] = byte;
                    }
                    if cut {
                        b.truncate(b.len() / 2);
                    }
                }
                b
            }),
        // Zip magic followed by noise.
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(|t| [b"PK\x03\x04".as_slice(), &t].concat()),
    ]
}

fn multipart(file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(content);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn upload_body() -> impl Strategy<Value = (String, Vec<u8>)> {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let ct2 = ct.clone();
    let ct3 = ct.clone();
    prop_oneof![
        3 => (prop::sample::select(vec!["data.csv", "data.CSV", "data.txt", "data"]), csv_text())
            .prop_map(move |(name, csv)| (ct.clone(), multipart(name, &csv))),
        3 => (prop::sample::select(vec!["data.xlsx", "data.csv", "data"]), xlsx_bytes())
            .prop_map(move |(name, x)| (ct2.clone(), multipart(name, &x))),
        // Broken multipart framing, or none.
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(move |raw| (ct3.clone(), raw)),
        1 => csv_text().prop_map(|csv| ("text/csv".to_string(), csv)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_balikan_store(token in token(), body in store_body()) {
        thread_local!(static RIG: Rig = rig());
        RIG.with(|r| r.check_balikan(STORE, token, "application/json", body))?;
    }

    #[test]
    fn fuzz_balikan_upload(token in token(), (ct, body) in upload_body()) {
        thread_local!(static RIG: Rig = rig());
        RIG.with(|r| r.check_balikan(UPLOAD, token, &ct, body))?;
    }
}
