//! Hostile clients over real sockets (issue 13): slow and silent connections are closed and
//! cannot starve normal lookups; past `max_connections` a connection is refused at once.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dukcapil_domain::ResidentStatus;

use crate::support::{load_client, Answer, MockServer, RSUD};

/// A server with short connection timeouts (so that the test takes seconds) and `extra` limits.
fn server_with_limits(dir: &std::path::Path, limits: &str) -> MockServer {
    let config = dir.join("mock.toml");
    std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
    MockServer::start_in(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

fn addr(server: &MockServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Whether the server has closed the connection, plain or TLS (reads what it sent first; never
/// blocks longer than the stream's read timeout).
pub(crate) fn closed(s: &mut impl Read) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// 500 sockets that trickle a request head, trickle a body, or send nothing: lookups keep
/// succeeding meanwhile, and every slow socket is closed by the server.
#[test]
fn slow_sockets_cannot_starve_lookups_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_limits(
        dir.path(),
        "header_read_timeout_ms = 1500\nbody_read_timeout_ms = 1500\nidle_timeout_ms = 1500\nmax_connections = 650",
    );
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let target = addr(&server);
    let mut slow: Vec<(TcpStream, bool)> = (0..500)
        .map(|i| {
            let mut s = TcpStream::connect(&target).expect("connect");
            s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            match i % 3 {
                0 => s
                    .write_all(b"POST /dukcapil/get_json/rsud_3313/CALL_NIK HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap(),
                1 => s
                    .write_all(b"POST /dukcapil/get_json/rsud_3313/CALL_NIK HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{")
                    .unwrap(),
                _ => {}
            }
            (s, false)
        })
        .collect();
    let client = load_client();
    let started = Instant::now();
    let mut lookups = 0;
    // Bounded: the slow sockets must all be closed well within 30 s (the timeouts are 1.5 s).
    while slow.iter().any(|(_, c)| !c) && started.elapsed() < Duration::from_secs(30) {
        for (i, (s, done)) in slow.iter_mut().enumerate() {
            if *done {
                continue;
            }
            // A byte every round from the trickling ones; the silent ones send nothing.
            let wrote = match i % 3 {
                0 => s.write_all(b"a"),
                1 => s.write_all(b" "),
                _ => Ok(()),
            };
            *done = wrote.is_err() || closed(s);
        }
        assert_eq!(
            server.lookup(&client, &RSUD, &nik, "normal"),
            Answer::Data(nik.clone()),
            "a normal lookup while slow sockets are open"
        );
        lookups += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let open = slow.iter().filter(|(_, c)| !c).count();
    assert_eq!(open, 0, "slow sockets still open after 30 s");
    assert!(lookups > 1, "{lookups}");
    assert!(server.is_running());
}

/// Past `max_connections` a new connection gets a 503 naming the limit at once; once the
/// silent ones are closed by the header timeout, lookups are served again. The idle timeout is
/// longer than the wait below: connections that never sent a byte must go with the header
/// timeout (1 s), not hold the limit for the whole idle timeout.
#[test]
fn connections_past_the_limit_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_limits(
        dir.path(),
        "header_read_timeout_ms = 1000\nidle_timeout_ms = 120000\nmax_connections = 50",
    );
    let target = addr(&server);
    let _silent: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(&target).expect("connect"))
        .collect();
    let mut extra = TcpStream::connect(&target).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("max_connections"), "{answer:?}");
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let client = load_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = client
            .post(server.url(&RSUD.lookup_path()))
            .json(&RSUD.body(&nik, "after"))
            .send()
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "lookups not served again");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// 1,000 wrong-credential lookups with a 60 KB `User_ID` each: the fields are cut with a marker
/// naming their length and the journal is kept within `journal_max_bytes`, so the state file
/// stays within its documented bound (3 x the budget, SQLite's pages included).
#[test]
fn oversized_hostile_rows_keep_the_state_file_under_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 1_000_000u64;
    let server = server_with_limits(dir.path(), &format!("journal_max_bytes = {budget}"));
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let client = load_client();
    let operator = "x".repeat(60_000);
    for _ in 0..1000 {
        let mut body = RSUD.body(&nik, &operator);
        body["password"] = "wrong".into();
        let res = client
            .post(server.url(&RSUD.lookup_path()))
            .json(&body)
            .send()
            .expect("answer");
        assert_eq!(res.status(), 200);
    }
    let newest = server.journal("limit=1");
    let op = newest[0]["operator"].as_str().unwrap_or_default();
    assert!(op.len() < 5_000, "{}", op.len());
    assert!(
        op.contains("60000 byte"),
        "{}",
        &op[op.len().saturating_sub(60)..]
    );
    let data = server.data_dir.clone();
    assert!(server.stop().success());
    let size = std::fs::metadata(data.join("state.sqlite")).unwrap().len();
    assert!(size <= 3 * budget, "state.sqlite is {size} bytes");
}

/// The admin API's auth scheme is case-insensitive (RFC 9110), as data balikan's is.
#[test]
fn admin_bearer_scheme_is_case_insensitive() {
    let server = MockServer::start(&[]);
    let client = load_client();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = client
            .get(server.url("/__admin/dataset"))
            .header(
                "authorization",
                format!("{scheme} {}", crate::support::ADMIN_TOKEN),
            )
            .send()
            .unwrap();
        assert_eq!(res.status(), 200, "{scheme}");
    }
}

/// An empty or foreign state file is an error naming it; `--fresh-state` moves it aside and
/// starts afresh. A stale `.NAME.tmp-PID` dataset file of an interrupted generation is removed.
#[test]
fn empty_or_foreign_state_files_are_refused_and_stale_temporaries_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let state = data.join("state.sqlite");
    let stale = data.join(".dataset.sqlite.tmp-4000000000");
    std::fs::write(&stale, b"half a generation").unwrap();
    let run = || {
        crate::support::command("mock-server")
            .args(["serve", "--listen", "127.0.0.1:0", "--population", "2000"])
            .arg("--data-dir")
            .arg(&data)
            .env_remove("RUST_LOG")
            .output()
            .expect("run mock-server")
    };
    std::fs::write(&state, b"").unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on an empty state file");
    assert!(
        err.contains("state.sqlite") && err.contains("empty"),
        "{err}"
    );
    assert!(err.contains("--fresh-state"), "{err}");
    assert!(!stale.exists(), "stale temporary file kept");
    assert_eq!(
        std::fs::metadata(&state).unwrap().len(),
        0,
        "the file was written into"
    );

    // Another application's SQLite database: the population file is one.
    std::fs::remove_file(&state).unwrap();
    let spec = ::mock_server::PopulationSpec {
        seed: 1,
        size: 2000,
    };
    std::fs::copy(data.join(::mock_server::dataset_file_name(spec)), &state).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a foreign state file");
    assert!(
        err.contains("state.sqlite") && err.contains("not a mock state database"),
        "{err}"
    );

    let server = MockServer::start_in(&data, &["--fresh-state"]);
    assert!(server.is_running());
    let aside = std::fs::read_dir(&data).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with("state.sqlite.bad-")
    });
    assert!(aside, "the foreign file was not kept aside");
}

/// `PUT /__admin/quota {"used": 0}` under traffic (issue 13): memory and disk agree, so a
/// SIGKILL and restart find the count the mock answered with.
#[test]
fn quota_put_under_traffic_keeps_memory_and_disk_in_step() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = MockServer::start(&[]);
    let niks = server.niks(ResidentStatus::Active, 20);
    let next = AtomicUsize::new(0);
    let client = load_client();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= 400 {
                    return;
                }
                let nik = &niks[i % niks.len()];
                assert!(server.lookup(&client, &RSUD, nik, "q").is_data());
            });
        }
        s.spawn(|| {
            for _ in 0..6 {
                let (status, body) = server.admin(
                    "PUT",
                    "/__admin/quota/rsud_3313",
                    Some(serde_json::json!({"used": 0})),
                );
                assert_eq!(status, 200, "{body}");
                std::thread::sleep(Duration::from_millis(30));
            }
        });
    });
    let memory = server.quota("rsud_3313")["used"].as_u64().unwrap();
    let server = server.crash_and_restart(&[]);
    let disk = server.quota("rsud_3313")["used"].as_u64().unwrap();
    assert_eq!(memory, disk, "memory {memory}, disk {disk}");
}

/// SIGKILL while multi-key admin PATCHes run (issue 13): after the restart the institution
/// shows one PATCH entirely (its quota and its address belong together), never half of one.
#[test]
fn admin_patch_is_all_or_nothing_across_sigkill() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = MockServer::start(&[]);
    let switch = server.kill_switch();
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (server, switch, done) = (&server, &switch, &done);
            s.spawn(move || {
                let client = load_client();
                for i in 1..200u32 {
                    let n = t * 1000 + i;
                    let res = client
                        .patch(server.url("/__admin/institutions/rsud_3313"))
                        .bearer_auth(crate::support::ADMIN_TOKEN)
                        .json(&serde_json::json!({
                            "quota_per_day": n,
                            "ip_user": format!("10.{}.{}.1", n / 256, n % 256),
                        }))
                        .send();
                    if !res.is_ok_and(|r| r.status() == 200) {
                        return;
                    }
                    if done.fetch_add(1, Ordering::SeqCst) == 60 {
                        switch.kill();
                    }
                }
            });
        }
    });
    assert!(done.load(Ordering::SeqCst) > 60);
    let server = server.crash_and_restart(&[]);
    let (status, v) = server.admin("GET", "/__admin/institutions", None);
    assert_eq!(status, 200, "{v}");
    let inst = v["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer_id"] == "rsud_3313")
        .unwrap()
        .clone();
    let n = inst["quota_per_day"].as_u64().expect("a PATCHed quota");
    assert_eq!(
        inst["ip_user"],
        format!("10.{}.{}.1", n / 256, n % 256),
        "half a PATCH: {inst}"
    );
}
