//! Reliability of the real `mock-server` under load, over real sockets: quota exactness with 64
//! concurrent clients, crash safety under SIGKILL, the WIB day rollover through the clock, and the
//! journal cap under sustained load.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dukcapil_domain::ResidentStatus;
use serde_json::Value;

use crate::support::{load_client, Answer, MockServer, RSUD};

/// Sends `total` lookups of found residents from `clients` threads, each with a unique operator
/// marker `{prefix}-{i}`; returns `(marker, nik, answer)` per request.
fn burst(
    server: &MockServer,
    niks: &[String],
    clients: usize,
    total: usize,
    prefix: &str,
) -> Vec<(String, String, Answer)> {
    let client = load_client();
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(total));
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let marker = format!("{prefix}-{i}");
                let nik = &niks[i % niks.len()];
                let answer = server.lookup(&client, &RSUD, nik, &marker);
                out.lock().unwrap().push((marker, nik.clone(), answer));
            });
        }
    });
    out.into_inner().unwrap()
}

fn count_by<'a>(rows: impl IntoIterator<Item = &'a Value>, key: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(r[key].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn quota_is_exact_under_64_concurrent_clients() {
    let server = MockServer::start(&[]);
    server.set_quota_limit(RSUD.customer_id, Some(1_000));
    let niks = server.niks(ResidentStatus::Active, 50);

    let answers = burst(&server, &niks, 64, 3_000, "quota");

    let data = answers.iter().filter(|(_, _, a)| a.is_data()).count();
    let exhausted = answers
        .iter()
        .filter(|(_, _, a)| *a == Answer::Code("05".into()))
        .count();
    let other: Vec<_> = answers
        .iter()
        .filter(|(_, _, a)| !a.is_data() && *a != Answer::Code("05".into()))
        .take(3)
        .collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!((data, exhausted), (1_000, 2_000));
    // A data answer carries the NIK that was asked for.
    for (_, nik, a) in &answers {
        if let Answer::Data(got) = a {
            assert_eq!(got, nik);
        }
    }

    let rows = server.journal_all("customer_id=rsud_3313");
    assert_eq!(rows.len(), 3_000, "one journal row per request");
    let outcomes = count_by(&rows, "outcome");
    assert_eq!(outcomes.get("01"), Some(&1_000), "{outcomes:?}");
    assert_eq!(outcomes.get("05"), Some(&2_000), "{outcomes:?}");
    // Every request's marker is in the journal exactly once, with its NIK and its outcome.
    let by_marker: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["operator"].as_str().unwrap_or(""), r))
        .collect();
    assert_eq!(by_marker.len(), 3_000);
    for (marker, nik, a) in &answers {
        let row = by_marker[marker.as_str()];
        assert_eq!(row["nik"], nik.as_str());
        let code = if a.is_data() { "01" } else { "05" };
        assert_eq!(row["outcome"], code, "{marker}");
    }

    let q = server.quota(RSUD.customer_id);
    assert_eq!(
        (q["used"].as_u64(), q["remaining"].as_u64()),
        (Some(1_000), Some(0))
    );
}

/// One round of load from 16 clients; the client that receives the `kill_after`-th data answer
/// SIGKILLs the server at once, so answers given a moment before the kill are in the check.
/// Returns `(marker, nik)` of every answer with data.
fn load_until_killed(
    server: &MockServer,
    niks: &[String],
    round: usize,
    kill_after: usize,
) -> Vec<(String, String)> {
    let url = server.url(&RSUD.lookup_path());
    let switch = server.kill_switch();
    let client = load_client();
    let answered = Mutex::new(Vec::<(String, String)>::new());
    let failed = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| loop {
                assert!(
                    Instant::now() < deadline,
                    "load did not reach the kill point"
                );
                let i = next.fetch_add(1, Ordering::Relaxed);
                let marker = format!("crash{round}-{i}");
                let nik = niks[i % niks.len()].clone();
                let res = client
                    .post(&url)
                    .json(&RSUD.body(&nik, &marker))
                    .send()
                    .and_then(|r| r.json::<Value>());
                match res {
                    Ok(body) if Answer::of(&body).is_data() => {
                        let mut a = answered.lock().unwrap();
                        a.push((marker, nik));
                        if a.len() == kill_after {
                            switch.kill();
                        }
                    }
                    Ok(_) => {}
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    assert!(
        failed.load(Ordering::Relaxed) > 0,
        "the kill must hit clients mid-request"
    );
    answered.into_inner().unwrap()
}

#[test]
fn answered_lookups_survive_sigkill_mid_load() {
    let mut server = MockServer::start(&[]);
    server.set_quota_limit(RSUD.customer_id, None);
    // A fixed daytime instant: the whole test stays in one WIB day, and the offset must survive
    // the crashes too.
    server.set_clock("2026-06-01T03:00:00Z");
    let niks = server.niks(ResidentStatus::Active, 30);

    let mut answered = Vec::new();
    for round in 0..3 {
        answered.extend(load_until_killed(&server, &niks, round, 300));
        assert!(!server.is_running());
        server = server.crash_and_restart(&[]);

        let rows = server.journal_all("customer_id=rsud_3313");
        let by_marker: HashMap<&str, &Value> = rows
            .iter()
            .map(|r| (r["operator"].as_str().unwrap_or(""), r))
            .collect();
        let lost: Vec<_> = answered
            .iter()
            .filter(|(m, nik)| {
                by_marker
                    .get(m.as_str())
                    .is_none_or(|r| r["nik"] != nik.as_str() || r["outcome"] != "01")
            })
            .take(5)
            .collect();
        assert!(
            lost.is_empty(),
            "round {round}: answered before the kill but not journaled: {lost:?} ({} answered, {} rows)",
            answered.len(),
            rows.len()
        );
        // Every journaled lookup was counted in the same commit, and the clock offset survived.
        let q = server.quota(RSUD.customer_id);
        assert_eq!(q["day"], "2026-06-01", "{q}");
        let used = q["used"].as_u64().unwrap() as usize;
        assert!(used >= answered.len(), "{used} < {}", answered.len());
        assert_eq!(used, rows.len(), "quota count and journal rows agree");
    }

    // The restarted server keeps counting from there.
    let used = server.quota(RSUD.customer_id)["used"].as_u64().unwrap();
    assert!(server
        .lookup(&load_client(), &RSUD, &niks[0], "after-restart")
        .is_data());
    assert_eq!(
        server.quota(RSUD.customer_id)["used"].as_u64(),
        Some(used + 1)
    );
}

/// Sets the clock to `instant` and looks `nik` up, retrying (a few times) if the machine was so
/// slow that more than the given second elapsed; returns the answer and the journal's WIB day.
fn lookup_at(server: &MockServer, instant: &str, nik: &str, marker: &str) -> (Answer, String) {
    let second = &instant[..19];
    for attempt in 0..5 {
        server.set_clock(instant);
        let marker = format!("{marker}-{attempt}");
        let answer = server.lookup(&server.client(), &RSUD, nik, &marker);
        let rows = server.journal_all(&format!("operator={marker}"));
        assert_eq!(rows.len(), 1);
        let time = rows[0]["time"].as_str().unwrap_or("");
        if time.starts_with(second) {
            return (
                answer,
                rows[0]["wib_day"].as_str().unwrap_or("").to_string(),
            );
        }
        // The call was journaled a second later than set: time moved on; undo its count.
        let used = server.quota(RSUD.customer_id)["used"].as_u64().unwrap_or(0);
        if answer.is_data() || answer == Answer::Code("13".into()) {
            let (status, _) = server.admin(
                "PUT",
                &format!("/__admin/quota/{}", RSUD.customer_id),
                Some(serde_json::json!({ "used": used.saturating_sub(1) })),
            );
            assert_eq!(status, 200);
        }
    }
    panic!("could not look up within the second {second}");
}

#[test]
fn quota_day_turns_at_midnight_wib_not_utc() {
    let server = MockServer::start(&[]);
    server.set_quota_limit(RSUD.customer_id, Some(2));
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let client = load_client();
    let lookup = |op: &str| server.lookup(&client, &RSUD, &nik, op);
    let data = |a: &Answer| a.is_data();
    let exhausted = Answer::Code("05".into());

    // Sunday 1 March 2026, 17:00 WIB: use up the day's quota.
    server.set_clock("2026-03-01T10:00:00Z");
    assert!(data(&lookup("d1-a")));
    assert!(data(&lookup("d1-b")));
    assert_eq!(lookup("d1-c"), exhausted);

    // 23:59:59 WIB is still 1 March.
    let (a, day) = lookup_at(&server, "2026-03-01T16:59:59Z", &nik, "d1-last");
    assert_eq!((a, day.as_str()), (exhausted.clone(), "2026-03-01"));

    // 00:00:00 WIB (17:00 UTC): a new day and a fresh quota.
    let (a, day) = lookup_at(&server, "2026-03-01T17:00:00Z", &nik, "d2-first");
    assert!(data(&a), "{a:?}");
    assert_eq!(day, "2026-03-02");
    let q = server.quota(RSUD.customer_id);
    assert_eq!(q["day"], "2026-03-02");
    assert!(data(&lookup("d2-b")));
    assert_eq!(lookup("d2-c"), exhausted);

    // UTC midnight (07:00 WIB) changes nothing; nor does 23:59:59 WIB.
    for (i, t) in [
        "2026-03-01T23:59:59Z",
        "2026-03-02T00:00:00Z",
        "2026-03-02T16:59:59Z",
    ]
    .into_iter()
    .enumerate()
    {
        let (a, day) = lookup_at(&server, t, &nik, &format!("d2-late{i}"));
        assert_eq!((a, day.as_str()), (exhausted.clone(), "2026-03-02"), "{t}");
    }

    // 00:00 WIB on 3 March: fresh again.
    let (a, day) = lookup_at(&server, "2026-03-02T17:00:00Z", &nik, "d3-first");
    assert!(data(&a), "{a:?}");
    assert_eq!(day, "2026-03-03");
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn journal_cap_holds_under_sustained_load() {
    const CAP: usize = 500;
    let server = MockServer::start(&["--journal-cap", &CAP.to_string()]);
    server.set_quota_limit(RSUD.customer_id, None);
    let niks = server.niks(ResidentStatus::Active, 50);
    let db = server.data_dir.join("state.sqlite");
    let wal = server.data_dir.join("state.sqlite-wal");

    burst(&server, &niks, 16, 2_500, "cap1");
    let rows = server.journal_all("");
    assert_eq!(rows.len(), CAP);
    let (db1, wal1) = (file_size(&db), file_size(&wal));

    burst(&server, &niks, 16, 2_500, "cap2");
    let rows = server.journal_all("");
    assert_eq!(rows.len(), CAP, "the cap holds exactly after every commit");
    let (db2, wal2) = (file_size(&db), file_size(&wal));
    eprintln!("journal cap {CAP}: state.sqlite {db1} -> {db2} bytes, WAL {wal1} -> {wal2} bytes");

    // Oldest dropped first: the rows kept are the newest 500, all from the second burst.
    let ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    assert_eq!(ids.iter().max(), Some(&5_000));
    assert_eq!(ids.iter().min(), Some(&4_501));
    assert!(rows
        .iter()
        .all(|r| r["operator"].as_str().unwrap_or("").starts_with("cap2-")));

    // Deleted pages are reused: doubling the traffic must not grow the database file beyond
    // page-allocation noise, and the WAL stays bounded by the checkpointer (1,000 pages, plus one
    // interval of writes).
    assert!(
        db2 <= db1 + db1 / 4 + 64 * 1024,
        "database file grew from {db1} to {db2} bytes"
    );
    assert!(wal2 <= 8 * 1024 * 1024, "WAL grew to {wal2} bytes");
}
