//! `mock-server fixtures`: the JSON shape, determinism, and every listed NIK giving its promised
//! outcome through CALL_NIK on a server with the same settings.

use dukcapil_domain::{Catalogue, Outcome, DOUBLE_EXACT_LIMIT};
use serde_json::Value;

use crate::support::fixture_server::FixtureServer;
use crate::support::fixture_server::{fixture_niks, fixtures, shared_data_dir, POPULATION};

const LISTS: [&str; 8] = [
    "found",
    "deceased",
    "duplicate",
    "inactive",
    "not_found",
    "bad_format",
    "beyond_2_53",
    "edge_names",
];

#[test]
fn json_has_the_promised_shape_and_is_deterministic() {
    let doc = fixtures();
    let top: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(top, ["institutions", "residents"]);
    let insts = doc["institutions"].as_array().unwrap();
    assert_eq!(insts.len(), 5, "one institution per agreement");
    let mut keys: Vec<&str> = vec![
        "customer_id",
        "name",
        "agreement",
        "user_id",
        "password",
        "ip_user",
        "operator_field",
        "balikan_token",
        "quota_per_day",
        "elements",
        "balikan_fields",
    ];
    keys.sort_unstable();
    for i in insts {
        let mut got: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
        got.sort_unstable();
        assert_eq!(got, keys);
        assert_eq!(i["ip_user"], "127.0.0.1");
        assert!(i["elements"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string));
        assert!(i["elements"].as_array().unwrap().iter().any(|e| e == "NIK"));
        assert!(i["balikan_fields"].is_array());
        assert!(i["quota_per_day"].is_null() || i["quota_per_day"].is_u64());
    }
    let mut got: Vec<&str> = doc["residents"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want = LISTS.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    for list in LISTS {
        let niks = doc["residents"][list].as_array().unwrap();
        assert!(niks.len() >= 3, "{list}: {niks:?}");
        assert!(niks.iter().all(Value::is_string), "{list}: NIKs as strings");
    }
    for n in fixture_niks("beyond_2_53") {
        assert!(n.parse::<u64>().unwrap() > DOUBLE_EXACT_LIMIT);
    }

    // The same dataset gives the same document, also as a second run on the same directory.
    let out = crate::support::command("mock-server")
        .args(["fixtures", "--format", "json", "--population", POPULATION])
        .arg("--data-dir")
        .arg(shared_data_dir())
        .output()
        .unwrap();
    assert!(out.status.success());
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(&again, doc);

    let table = crate::support::command("mock-server")
        .args(["fixtures", "--population", POPULATION])
        .arg("--data-dir")
        .arg(shared_data_dir())
        .output()
        .unwrap();
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    for i in insts {
        assert!(
            table.contains(i["customer_id"].as_str().unwrap()),
            "{table}"
        );
    }
    assert!(table.contains(&fixture_niks("deceased")[0]), "{table}");
}

#[test]
fn every_listed_nik_gives_its_outcome_through_call_nik() {
    let m = FixtureServer::start();
    let expect = [
        ("found", Outcome::Found),
        ("deceased", Outcome::Deceased),
        ("duplicate", Outcome::Duplicate),
        ("inactive", Outcome::Inactive),
        ("not_found", Outcome::NotFound),
        ("bad_format", Outcome::BadNikFormat),
        ("beyond_2_53", Outcome::Found),
        ("edge_names", Outcome::Found),
    ];
    for inst in fixtures()["institutions"].as_array().unwrap() {
        let cid = inst["customer_id"].as_str().unwrap();
        for (list, outcome) in expect {
            for nik in fixture_niks(list) {
                let a = m.call_nik(cid, &nik, "petugas01");
                assert_eq!(a.status, 200, "{cid} {list} {nik}: {}", a.text);
                if outcome == Outcome::Found {
                    // Exact digits on the wire, also beyond 2^53 (a JSON number, not a double).
                    assert!(
                        a.text.contains(&format!("\"NIK\":{nik}")),
                        "{cid} {list} {nik}: {}",
                        a.text
                    );
                } else {
                    assert_eq!(
                        a.respon(),
                        Some(outcome.text(Catalogue::Gateway)),
                        "{cid} {list} {nik}: {}",
                        a.text
                    );
                }
            }
        }
    }
    // Edge names really are hard: at least one apostrophe, dot, trailing space or long name.
    let hard = fixture_niks("edge_names").iter().any(|nik| {
        let a = m.call_nik("dev", nik, "petugas01");
        let name = a.json["content"][0]["NAMA_LGKP"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        name.contains('\'') || name.contains('.') || name.ends_with(' ') || name.len() >= 55
    });
    assert!(hard);
}
