//! Data balikan over real sockets: JSON `store`, CSV and .xlsx `upload`, the ledger and its
//! never-looked-up flag through the admin API, and bad input.

use dukcapil_domain::{Agreement, ResidentStatus};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::MockServer;

const STORE: &str = "/data_balikan/public/api/store";
const UPLOAD: &str = "/data_balikan/public/api/upload";

fn rsud() -> Agreement {
    Agreement::embedded()
        .into_iter()
        .find(|a| a.id == "rsud-karanganyar")
        .expect("rsud agreement")
}

fn token() -> String {
    rsud().credentials.balikan_token
}

/// Distinct residents of the server's population with the given status.
fn niks(server: &MockServer, status: ResidentStatus, n: usize) -> Vec<String> {
    server
        .population()
        .sample_by_status(status, n)
        .expect("sample")
        .into_iter()
        .map(|r| r.nik.to_string())
        .collect()
}

fn submission(rows: Value) -> Value {
    json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD KABUPATEN KARANGANYAR", "data": rows}])
}

fn answer(res: reqwest::blocking::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().expect("body");
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("answer is not JSON: {status} {text}"));
    (status, v)
}

fn store(server: &MockServer, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = server
        .client()
        .post(server.url(STORE))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    answer(req.send().expect("store request"))
}

fn store_json(server: &MockServer, body: &Value) -> (u16, Value) {
    store(server, Some(&token()), serde_json::to_vec(body).unwrap())
}

fn upload(server: &MockServer, file_name: &str, content: Vec<u8>) -> (u16, Value) {
    let form = Form::new().text("id_lembaga", "rsud_3313").part(
        "file",
        Part::bytes(content).file_name(file_name.to_string()),
    );
    answer(
        server
            .client()
            .post(server.url(UPLOAD))
            .bearer_auth(token())
            .multipart(form)
            .send()
            .expect("upload request"),
    )
}

fn ledger(server: &MockServer, query: &str) -> Vec<Value> {
    let (status, v) = server.admin("GET", &format!("/__admin/balikan?{query}"), None);
    assert_eq!(status, 200, "{v}");
    v["entries"].as_array().expect("entries").clone()
}

/// `(row, key)` of each error of a 422 answer.
fn errors(v: &Value) -> Vec<(u64, String)> {
    v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {v}"))
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["key"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn store_flags_niks_never_looked_up_and_refuses_repeats() {
    let s = MockServer::start(&[]);
    let found = niks(&s, ResidentStatus::Active, 2);
    let (looked, not_looked) = (&found[0], &found[1]);
    let a = rsud();
    let lookup = json!({"nik": looked, "user_id": a.credentials.user_id,
        "password": a.credentials.password, "ip_user": a.credentials.ip_user, "User_ID": "petugas01"});
    let (status, v) = s.post("/dukcapil/get_json/rsud_3313/CALL_NIK", &lookup);
    assert_eq!(status, 200);
    assert_eq!(v["content"][0]["NIK"].to_string(), *looked);

    let body = submission(json!([
        {"NIK": looked, "param": [{"NO_RM": "RM-000123", "GOL_DARAH": "O"}]},
        {"NIK": not_looked, "param": [{"NO_RM": "RM-000124"}]},
    ]));
    assert_eq!(store_json(&s, &body), (200, json!({"message": "Success"})));
    assert_eq!(
        store_json(&s, &body),
        (400, json!({"message": "Data sudah pernah dikirim"}))
    );

    let entries = ledger(&s, "customer_id=rsud_3313");
    assert_eq!(entries.len(), 2, "{entries:?}");
    let entry = |nik: &str| entries.iter().find(|e| e["nik"] == nik).expect("entry");
    assert_eq!(entry(looked)["never_looked_up"], false);
    assert_eq!(entry(not_looked)["never_looked_up"], true);
    assert_eq!(
        entry(looked)["values"],
        json!({"NO_RM": "RM-000123", "GOL_DARAH": "O"})
    );
    assert_eq!(entry(looked)["method"], "store");
    assert_eq!(ledger(&s, &format!("nik={not_looked}")).len(), 1);
    let (status, _) = s.admin("GET", "/__admin/balikan?bogus=1", None);
    assert_eq!(status, 400);

    // Each request has its journal row under the balikan endpoint.
    let rows = s.journal("limit=50");
    let outcomes: Vec<_> = rows
        .iter()
        .filter(|r| r["endpoint"] == "balikan_store")
        .map(|r| r["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(outcomes, ["duplicate", "stored"]);
}

#[test]
fn tokens_and_invalid_rows() {
    // `strict`: data outside the agreement's balikan fields is refused (422, named).
    let s = MockServer::start(&["--balikan-keys", "strict"]);
    let body = serde_json::to_vec(&submission(json!([
        {"NIK": "3313014107890003", "param": [{"NO_RM": "RM-1"}]}
    ])))
    .unwrap();
    let (status, v) = store(&s, None, body.clone());
    assert_eq!(status, 401, "{v}");
    assert!(v["message"].is_string());
    let (status, _) = store(&s, Some("balikan-bukan-token"), body.clone());
    assert_eq!(status, 401);
    // A valid token of another institution cannot send for rsud_3313.
    let dev = Agreement::embedded()
        .into_iter()
        .find(|a| a.id == "dev")
        .expect("dev agreement");
    let (status, v) = store(&s, Some(&dev.credentials.balikan_token), body);
    assert_eq!(status, 422);
    assert_eq!(v["errors"][0]["key"], "id_lembaga");

    let found = niks(&s, ResidentStatus::Active, 4);
    let bad = submission(json!([
        {"NIK": found[0], "param": [{"NO_RM": "RM-1", "NO_PASIEN": "77"}]},
        {"NIK": found[1], "param": [{"GOL_DARAH": "AB"}]},
        {"NIK": found[2], "param": [{"NO_RM": "RM-3", "GOL_DARAH": "C+"}]},
        {"NIK": "3313013202990001", "param": [{"NO_RM": "RM-4"}]},
        {"NIK": found[3], "param": [{"NO_RM": "RM-5"}]},
    ]));
    let (status, v) = store_json(&s, &bad);
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        errors(&v),
        [
            (1, "NO_PASIEN".to_string()),
            (2, "NO_RM".to_string()),
            (3, "GOL_DARAH".to_string()),
            (4, "NIK".to_string()),
        ]
    );
    let message = v["message"].as_str().expect("message");
    assert!(
        message.contains("baris 3 GOL_DARAH") && message.contains("baris 4 NIK"),
        "{message}"
    );
    // All or nothing: the valid fifth row was not stored either.
    assert!(ledger(&s, "").is_empty());
}

/// The default key policy over real HTTP: what the real service takes is taken, and the ledger
/// says what was outside the agreement; the journal marks the submission for the PoC.
#[test]
fn free_keys_are_taken_and_recorded_by_default() {
    let s = MockServer::start(&[]);
    let found = niks(&s, ResidentStatus::Active, 2);
    let body = submission(json!([
        {"NIK": found[0], "param": [{"NO_RM": "RM-1", "NO_PASIEN": "77"}]},
        {"NIK": found[1], "param": [{"GOL_DARAH": "AB"}]},
    ]));
    let (status, v) = store_json(&s, &body);
    assert_eq!((status, v), (200, json!({"message": "Success"})));
    let entries = ledger(&s, "customer_id=rsud_3313");
    let of = |nik: &str| entries.iter().find(|e| e["nik"] == nik).expect("entry");
    assert_eq!(of(&found[0])["unknown_keys"], json!(["NO_PASIEN"]));
    assert_eq!(of(&found[1])["missing"], json!(["NO_RM"]));
    let (_, journal) = s.admin("GET", "/__admin/journal?limit=5", None);
    let row = &journal["rows"][0];
    assert_eq!(row["outcome"], "stored_nonconforming", "{row}");
    let (status, v) = store_json(&s, &body);
    assert_eq!(
        (status, v["message"].as_str()),
        (400, Some("Data sudah pernah dikirim"))
    );
}

fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r).unwrap(), u16::try_from(c).unwrap());
            sheet.write_string(r, c, *cell).expect("write cell");
        }
    }
    book.save_to_buffer().expect("xlsx bytes")
}

#[test]
fn uploads_of_csv_with_either_separator_and_xlsx() {
    // `strict`: data outside the agreement's balikan fields is refused (422, named).
    let s = MockServer::start(&["--balikan-keys", "strict"]);
    let n = niks(&s, ResidentStatus::Active, 6);
    let comma = format!(
        "NIK,NO_RM,GOL_DARAH\n{},RM-1,A+\n{},\"RM,2\",\n",
        n[0], n[1]
    );
    assert_eq!(
        upload(&s, "balikan.csv", comma.into_bytes()),
        (200, json!({"message": "Success"}))
    );
    let semi = format!(
        "\u{feff}NIK;NO_RM;NO_SURAT_KEMATIAN\r\n{};RM-3;SK/01/2026\r\n",
        n[2]
    );
    assert_eq!(
        upload(&s, "balikan.csv", semi.clone().into_bytes()),
        (200, json!({"message": "Success"}))
    );
    assert_eq!(
        upload(&s, "lagi.csv", semi.into_bytes()),
        (400, json!({"message": "Data sudah pernah dikirim"}))
    );
    let book = xlsx(&[
        vec!["NIK", "NO_RM", "GOL_DARAH"],
        vec![&n[3], "RM-4", "O"],
        vec![&n[4], "RM-5", "TIDAK TAHU"],
    ]);
    assert_eq!(
        upload(&s, "balikan.xlsx", book),
        (200, json!({"message": "Success"}))
    );
    let entries = ledger(&s, "customer_id=rsud_3313");
    assert_eq!(entries.len(), 5);
    assert!(entries.iter().all(|e| e["method"] == "upload"));
    let second = entries.iter().find(|e| e["nik"] == n[1]).expect("entry");
    assert_eq!(second["values"], json!({"NO_RM": "RM,2"}));
    assert_eq!(second["never_looked_up"], true);

    // Errors carry spreadsheet line numbers (header = line 1), for both formats.
    let bad = xlsx(&[
        vec!["NIK", "NO_RM", "GOL_DARAH"],
        vec![&n[5], "RM-6", "O"],
        vec![&n[5], "", "B"],
        vec!["12345", "RM-7", "Q"],
    ]);
    let (status, v) = upload(&s, "salah.xlsx", bad);
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        errors(&v),
        [
            (3, "NO_RM".to_string()),
            (4, "NIK".to_string()),
            (4, "GOL_DARAH".to_string()),
        ]
    );
    let bad_csv = format!("NIK;NO_RM;WARNA\n{};RM-8;biru\n", n[5]);
    let (status, v) = upload(&s, "salah.csv", bad_csv.into_bytes());
    assert_eq!(status, 422, "{v}");
    assert_eq!(errors(&v), [(2, "WARNA".to_string())]);
    let uploads = s
        .journal("limit=50")
        .iter()
        .filter(|r| r["endpoint"] == "balikan_upload")
        .count();
    assert_eq!(uploads, 6);
}

#[test]
fn malformed_input_gets_a_message_never_a_5xx() {
    let s = MockServer::start(&[]);
    let t = token();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad JSON", b"[{\"id_lembaga\": ".to_vec()),
        ("invalid UTF-8", vec![b'[', b'"', 0xC3, 0x28, b'"', b']']),
        ("wrong top-level type", b"\"teks\"".to_vec()),
        (
            "wrong types",
            br#"[{"id_lembaga":7,"data":[{"NIK":[1],"param":"NO_RM"}]}]"#.to_vec(),
        ),
        ("NoSQL-looking", br#"{"$where": "sleep(1000)"}"#.to_vec()),
        ("huge body", vec![b' '; 3 * 1024 * 1024]),
    ];
    for (what, body) in cases {
        let (status, v) = store(&s, Some(&t), body);
        assert!(status == 400 || status == 422, "{what}: {status} {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
    }
    // An upload that is not multipart, or has no file part.
    let (status, v) = answer(
        s.client()
            .post(s.url(UPLOAD))
            .bearer_auth(&t)
            .header("content-type", "text/csv")
            .body("NIK,NO_RM\n")
            .send()
            .expect("request"),
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = answer(
        s.client()
            .post(s.url(UPLOAD))
            .bearer_auth(&t)
            .multipart(Form::new().text("catatan", "tanpa file"))
            .send()
            .expect("request"),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("file"), "{v}");
    let (status, v) = answer(
        s.client()
            .get(s.url(STORE))
            .bearer_auth(&t)
            .send()
            .expect("request"),
    );
    assert_eq!(status, 405, "{v}");
    // Each of them is journaled.
    let rows = s.journal("limit=50");
    let balikan = rows
        .iter()
        .filter(|r| {
            r["endpoint"]
                .as_str()
                .is_some_and(|e| e.starts_with("balikan_"))
        })
        .count();
    assert_eq!(balikan, 9);
}

#[test]
fn balikan_of_a_switched_off_institution_is_refused_with_16s_text_and_journaled() {
    let s = MockServer::start(&[]);
    let nik = niks(&s, ResidentStatus::Active, 1).remove(0);
    let body = submission(json!([{"NIK": nik, "param": [{"NO_RM": "RM-OFF-1"}]}]));
    let (status, v) = s.admin(
        "PATCH",
        "/__admin/institutions/rsud_3313",
        Some(json!({"active": false})),
    );
    assert_eq!(status, 200, "{v}");

    let expected =
        dukcapil_domain::Outcome::InstitutionInactive.text(dukcapil_domain::Catalogue::Gateway);
    assert_eq!(store_json(&s, &body), (403, json!({ "message": expected })));
    let csv = format!("NIK,NO_RM\n{nik},RM-OFF-2\n").into_bytes();
    assert_eq!(
        upload(&s, "balikan.csv", csv.clone()),
        (403, json!({ "message": expected }))
    );
    // Nothing filed; each refusal has its journal row, naming the institution.
    assert!(ledger(&s, "customer_id=rsud_3313").is_empty());
    let rows = s.journal("limit=50");
    let mut refused: Vec<_> = rows
        .iter()
        .filter(|r| r["outcome"] == "inactive")
        .map(|r| {
            (
                r["endpoint"].as_str().unwrap_or(""),
                r["customer_id"].as_str().unwrap_or(""),
                r["http_status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        [
            ("balikan_store", "rsud_3313", 403),
            ("balikan_upload", "rsud_3313", 403)
        ],
        "{rows:?}"
    );

    // Switched back on, the same data is accepted.
    let (status, v) = s.admin(
        "PATCH",
        "/__admin/institutions/rsud_3313",
        Some(json!({"active": true})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(store_json(&s, &body), (200, json!({"message": "Success"})));
    assert_eq!(upload(&s, "balikan.csv", csv).0, 200);
}

/// Hostile uploads (issue 13): a workbook whose cells span A1:XFD1048576, a deflate bomb and a
/// 6 MB CSV each get a 4xx naming the limit, in the service's `{"message"}` form; the process
/// stays up and keeps answering lookups.
#[test]
fn hostile_uploads_are_refused_by_named_limits_and_the_mock_stays_up() {
    use crate::support::{load_client, Answer, RSUD};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    // A small inflation budget so that the bomb stays small for CI; the other limits default.
    std::fs::write(&config, "[limits]\nxlsx_max_uncompressed_bytes = 1000000\n").unwrap();
    let server = MockServer::start_in(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let client = load_client();
    let nik = niks(&server, ResidentStatus::Active, 1).remove(0);

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "NIK").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let sparse = book.save_to_buffer().unwrap();

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "NIK").unwrap();
    for r in 1..40u32 {
        sheet
            .write_string(r, 0, format!("{r}{}", "a".repeat(32_000)))
            .unwrap();
    }
    let bomb = book.save_to_buffer().unwrap();

    let mut csv = String::from("NIK,NO_RM\n");
    while csv.len() < 6_000_000 {
        csv.push_str(&nik);
        csv.push_str(",RM-000001\n");
    }

    for (name, file, limit) in [
        ("sparse.xlsx", sparse, "sheet_max_rows"),
        ("bomb.xlsx", bomb, "xlsx_max_uncompressed_bytes"),
        ("big.csv", csv.into_bytes(), "sheet_max_rows"),
    ] {
        let (status, v) = upload(&server, name, file);
        assert!((400..500).contains(&status), "{name}: {status} {v}");
        assert_eq!(v["limit"], limit, "{name}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(limit), "{name}: {message}");
        assert!(server.is_running(), "{name} stopped the mock");
        assert_eq!(
            server.lookup(&client, &RSUD, &nik, "op"),
            Answer::Data(nik.clone()),
            "after {name}"
        );
    }
    // Each refusal is journaled, and nothing reached the ledger.
    let rows = server.journal_all("endpoint=balikan_upload");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["outcome"] == "too_large"), "{rows:?}");
    assert!(ledger(&server, "customer_id=rsud_3313").is_empty());
}

/// SIGKILL during a burst of balikan submissions (issue 13): after the restart every ledger
/// entry has its `stored` journal row (they commit together), and every submission answered
/// `Success` before the kill is in the ledger.
#[test]
fn balikan_entries_and_their_journal_rows_survive_sigkill_together() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let server = MockServer::start(&[]);
    let all = niks(&server, ResidentStatus::Active, 400);
    let switch = server.kill_switch();
    let next = AtomicUsize::new(0);
    let answered = Mutex::new(Vec::new());
    let client = crate::support::load_client();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(nik) = all.get(i) else { return };
                let body =
                    submission(json!([{"NIK": nik, "param": [{"NO_RM": format!("RM-{i:06}")}]}]));
                let res = client
                    .post(server.url(STORE))
                    .bearer_auth(token())
                    .json(&body)
                    .send();
                match res {
                    Ok(r) if r.status() == 200 => {
                        let mut a = answered.lock().unwrap();
                        a.push(nik.clone());
                        if a.len() == 150 {
                            switch.kill();
                        }
                    }
                    _ => return,
                }
            });
        }
    });
    let answered = answered.into_inner().unwrap();
    assert!(answered.len() >= 150, "{}", answered.len());
    let server = server.crash_and_restart(&[]);
    let entries = ledger(&server, "customer_id=rsud_3313&limit=10000");
    let stored: std::collections::BTreeSet<String> = server
        .journal_all("endpoint=balikan_store")
        .iter()
        .filter(|r| r["outcome"] == "stored")
        .filter_map(|r| r["nik"].as_str().map(str::to_string))
        .collect();
    let in_ledger: std::collections::BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["nik"].as_str().map(str::to_string))
        .collect();
    let orphans: Vec<_> = in_ledger.difference(&stored).collect();
    assert!(
        orphans.is_empty(),
        "ledger entries without a journal row: {orphans:?}"
    );
    let lost: Vec<_> = answered
        .iter()
        .filter(|n| !in_ledger.contains(*n))
        .collect();
    assert!(lost.is_empty(), "answered Success but not stored: {lost:?}");
}
