//! Institution scopes through the real router: an institution's token reads and changes its own
//! institution only, a scoped reset leaves the others intact, each institution has its own clock.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::config::InstitutionOverride;
use crate::http::gateway::tests::{harness_with, Harness, FOUND};

const RSUD: &str = "rsud-admin-token";
const DINKES: &str = "dinkes-admin-token";

fn sandbox() -> Harness {
    harness_with(|s| {
        for (cid, token) in [("rsud_3313", RSUD), ("dinkes_3313", DINKES)] {
            s.institutions.insert(
                cid.into(),
                InstitutionOverride {
                    admin_token: Some(token.into()),
                    ..Default::default()
                },
            );
        }
    })
}

fn body(cid: &str) -> Value {
    let (user, pw) = match cid {
        "rsud_3313" => ("rsud_3313", "dummy-rsud-3313"),
        _ => ("dinkes_3313", "dummy-dinkes-3313"),
    };
    json!({"nik": FOUND, "user_id": user, "password": pw, "ip_user": "127.0.0.1", "User_ID": "op"})
}

async fn lookups(h: &Harness, cid: &str, n: usize) {
    for _ in 0..n {
        h.call(&format!("/dukcapil/get_json/{cid}/CALL_NIK"), &body(cid))
            .await;
    }
}

fn customers(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn an_institution_token_reads_and_changes_its_own_institution_only() {
    let h = sandbox();
    lookups(&h, "rsud_3313", 2).await;
    lookups(&h, "dinkes_3313", 1).await;
    let (s, v) = h
        .admin_as(RSUD, "GET", "/__admin/journal", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(customers(&v), ["rsud_3313", "rsud_3313"]);
    let (s, v) = h
        .admin_as(
            RSUD,
            "GET",
            "/__admin/journal?customer_id=dinkes_3313",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(!v.to_string().contains("petugas"), "{v}");
    let (s, _) = h
        .admin_as(RSUD, "GET", "/__admin/quota/dinkes_3313", Value::Null)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = h
        .admin_as(
            RSUD,
            "PATCH",
            "/__admin/institutions/dinkes_3313",
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .admin_as(RSUD, "GET", "/__admin/institutions", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = v["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["rsud_3313"]);
    // A rule for another institution is refused; one without an institution becomes its own.
    let (s, _) = h
        .admin_as(
            RSUD,
            "POST",
            "/__admin/faults",
            json!({"institution": "dinkes_3313", "action": {"type": "close"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .admin_as(
            RSUD,
            "POST",
            "/__admin/faults",
            json!({"action": {"type": "status", "code": 503}, "endpoint": "verify"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["institution"], "rsud_3313", "{v}");
    // The sandbox as a whole is the operator's: a global rule is invisible to institutions.
    let (s, v) = h
        .admin(
            "POST",
            "/__admin/faults",
            json!({"action": {"type": "close"}, "endpoint": "verify"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let global = v["id"].as_u64().unwrap();
    let (_, v) = h
        .admin_as(DINKES, "GET", "/__admin/faults", Value::Null)
        .await;
    assert_eq!(v["faults"], json!([]), "{v}");
    let (s, _) = h
        .admin_as(
            DINKES,
            "DELETE",
            &format!("/__admin/faults/{global}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = h
        .admin_as(DINKES, "DELETE", "/__admin/faults", Value::Null)
        .await;
    assert_eq!(v["removed"], 0);
    let (_, v) = h.admin("GET", "/__admin/faults", Value::Null).await;
    assert_eq!(v["faults"].as_array().unwrap().len(), 2, "{v}");
}

#[tokio::test]
async fn a_scoped_reset_leaves_the_other_institutions_intact() {
    let h = sandbox();
    lookups(&h, "rsud_3313", 2).await;
    lookups(&h, "dinkes_3313", 3).await;
    for cid in ["rsud_3313", "dinkes_3313"] {
        let (s, _) = h
            .admin(
                "PATCH",
                &format!("/__admin/institutions/{cid}"),
                json!({"user_active": false}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = h
            .admin(
                "POST",
                "/__admin/faults",
                json!({"institution": cid, "endpoint": "verify", "action": {"type": "close"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = h
        .admin_as(
            RSUD,
            "POST",
            "/__admin/residents",
            json!({"NAMA_LGKP": "CANARY RSUD"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let canary = v["residents"][0]["NIK"].to_string();
    let canary = canary.trim_matches('"').to_string();
    // Another institution neither sees nor changes it.
    let (s, _) = h
        .admin_as(
            DINKES,
            "GET",
            &format!("/__admin/residents/{canary}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h
        .admin_as(
            DINKES,
            "PATCH",
            &format!("/__admin/residents/{FOUND}"),
            json!({"STATUS": "deceased"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "population residents are shared");

    let (s, v) = h
        .admin("POST", "/__admin/reset?customer_id=nobody", Value::Null)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = h
        .admin("POST", "/__admin/reset?customer_id=rsud_3313", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["customer_id"], "rsud_3313");

    let journal = h.journal().await;
    let left: Vec<&str> = journal
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["dinkes_3313"; 3], "only dinkes rows stay");
    let (_, q) = h
        .admin("GET", "/__admin/quota/rsud_3313", Value::Null)
        .await;
    assert_eq!(q["used"], 0);
    let (_, q) = h
        .admin("GET", "/__admin/quota/dinkes_3313", Value::Null)
        .await;
    assert_eq!(q["used"], 3);
    let (_, v) = h.admin("GET", "/__admin/institutions", Value::Null).await;
    let active = |cid: &str| {
        v["institutions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["customer_id"] == cid)
            .unwrap()["user_active"]
            .clone()
    };
    assert_eq!(active("rsud_3313"), json!(true));
    assert_eq!(active("dinkes_3313"), json!(false));
    let (_, v) = h.admin("GET", "/__admin/faults", Value::Null).await;
    let rules: Vec<&str> = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["institution"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["dinkes_3313"]);
    let (s, _) = h
        .admin("GET", &format!("/__admin/residents/{canary}"), Value::Null)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "rsud's canary went with its reset"
    );

    // An institution token's reset is its own, never the sandbox's.
    let (s, v) = h
        .admin_as(DINKES, "POST", "/__admin/reset", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["customer_id"], "dinkes_3313");
    let (s, _) = h
        .admin_as(
            DINKES,
            "POST",
            "/__admin/reset?customer_id=rsud_3313",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn each_institution_has_its_own_clock() {
    let h = sandbox();
    let (_, before) = h.admin("GET", "/__admin/clock", Value::Null).await;
    let (s, v) = h
        .admin_as(
            RSUD,
            "POST",
            "/__admin/clock",
            json!({"advance_seconds": 2 * 86400}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["customer_id"], "rsud_3313");
    let rsud_day = v["wib_day"].clone();
    assert_ne!(rsud_day, before["wib_day"]);
    let (_, sandbox) = h.admin("GET", "/__admin/clock", Value::Null).await;
    assert!(
        sandbox["offset_seconds"].as_f64().unwrap().abs() < 5.0,
        "{sandbox}"
    );
    let (_, dinkes) = h
        .admin_as(DINKES, "GET", "/__admin/clock", Value::Null)
        .await;
    assert!(dinkes["offset_seconds"].as_f64().unwrap().abs() < 5.0);
    // The gateway dates rsud's calls (and counts its quota) on rsud's day.
    lookups(&h, "rsud_3313", 1).await;
    lookups(&h, "dinkes_3313", 1).await;
    let journal = h.journal().await;
    let day =
        |cid: &str| journal.iter().find(|r| r["customer_id"] == cid).unwrap()["wib_day"].clone();
    assert_eq!(day("rsud_3313"), rsud_day);
    assert_eq!(day("dinkes_3313"), before["wib_day"]);
    let (_, q) = h
        .admin_as(RSUD, "GET", "/__admin/quota/rsud_3313", Value::Null)
        .await;
    assert_eq!((q["day"].clone(), q["used"].clone()), (rsud_day, json!(1)));
    // The sandbox clock is the operator's.
    let (s, _) = h
        .admin_as(
            RSUD,
            "POST",
            "/__admin/clock?customer_id=dinkes_3313",
            json!({"advance_seconds": 60}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A scoped reset puts the institution back on the sandbox's clock.
    h.admin_as(RSUD, "POST", "/__admin/reset", Value::Null)
        .await;
    let (_, v) = h
        .admin("GET", "/__admin/clock?customer_id=rsud_3313", Value::Null)
        .await;
    assert_eq!(v["institution_offset_seconds"], json!(0.0), "{v}");
}

#[tokio::test]
async fn issued_tokens_replace_each_other_and_survive_a_reset() {
    let h = sandbox();
    let (s, v) = h
        .admin(
            "POST",
            "/__admin/institutions/dinkes_3313/token",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["token"].as_str().unwrap().to_string();
    let (s, v) = h
        .admin_as(&first, "GET", "/__admin/institutions", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["institutions"].as_array().unwrap().len(), 1);
    h.admin("POST", "/__admin/reset", Value::Null).await;
    let (s, _) = h
        .admin_as(&first, "GET", "/__admin/clock", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "a reset keeps issued tokens");
    let (_, v) = h
        .admin_as(
            &first,
            "POST",
            "/__admin/institutions/dinkes_3313/token",
            Value::Null,
        )
        .await;
    let second = v["token"].as_str().unwrap().to_string();
    let (s, _) = h
        .admin_as(&first, "GET", "/__admin/clock", Value::Null)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the first token retired");
    let (s, _) = h
        .admin_as(&second, "GET", "/__admin/clock", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .admin_as(
            &second,
            "POST",
            "/__admin/institutions/rsud_3313/token",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The settings file's token stays beside an issued one.
    let (s, _) = h
        .admin_as(DINKES, "GET", "/__admin/clock", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
}
