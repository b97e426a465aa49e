//! Whole PoC sessions: the real `poc-runner` binary starts the real `mock-server` and the
//! reference application (`rsud-app`, started through the target's `[app]`), plays the standard
//! pack over real sockets and writes a signed result, which both `poc-runner verify` and plain
//! `ssh-keygen -Y verify` must accept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support;

/// One finished session of the runner against rsud-app.
pub(crate) struct Session {
    pub out: Output,
    pub dir: tempfile::TempDir,
    pub result: Option<serde_json::Value>,
}

impl Session {
    pub(crate) fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub(crate) fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }
    pub(crate) fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    pub(crate) fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }
    /// `(test id, check kind, outcome)` of every judged check.
    pub(crate) fn checks(&self) -> Vec<(String, String, String)> {
        let Some(r) = &self.result else {
            return vec![];
        };
        r["checks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["test_id"].as_str().unwrap_or("").to_string(),
                            c["check"].as_str().unwrap_or("").to_string(),
                            c["outcome"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/standard-web-service.toml")
}

/// Plays the standard pack against rsud-app with the given defect switches (comma-separated).
pub(crate) fn session(defects: &str) -> Session {
    session_of(defects, &scenario())
}

/// Plays the pack at `pack` against rsud-app with the given defect switches.
pub(crate) fn session_of(defects: &str, pack: &Path) -> Session {
    session_with_target_at(defects, pack, None, None)
}

/// The standard pack against rsud-app configured for `agreement` (its id, credentials and
/// grant), with the given defect switches.
pub(crate) fn session_under(agreement: &str, defects: &str) -> Session {
    session_with_target_at(defects, &scenario(), None, Some(agreement))
}

/// The demo target rewritten for another agreement: its id, the application's agreement and
/// the agreement's dummy credentials.
pub(crate) fn target_for(agreement: &str) -> String {
    let a = dukcapil_domain::Agreement::embedded()
        .into_iter()
        .find(|a| a.id == agreement)
        .unwrap_or_else(|| panic!("no embedded agreement {agreement}"));
    let mut text = poc_runner::DEMO_TARGET.to_string();
    for (from, to) in [
        (
            "agreement = \"rsud-karanganyar\"".to_string(),
            format!("agreement = \"{agreement}\""),
        ),
        (
            "RSUD_APP_AGREEMENT = \"rsud-karanganyar\"".to_string(),
            format!("RSUD_APP_AGREEMENT = \"{agreement}\""),
        ),
        (
            "user_id = \"rsud_3313\"".to_string(),
            format!("user_id = \"{}\"", a.credentials.user_id),
        ),
        (
            "password = \"dummy-rsud-3313\"".to_string(),
            format!("password = \"{}\"", a.credentials.password),
        ),
        (
            "balikan_token = \"balikan-rsud-3313-dummy\"".to_string(),
            format!("balikan_token = \"{}\"", a.credentials.balikan_token),
        ),
    ] {
        assert!(text.contains(&from), "{from}");
        text = text.replacen(&from, &to, 1);
    }
    text
}

/// Like [`session_of`]; with `relative_dir`, the target file is written in that sub-folder of
/// the session's directory and named to the runner by a relative path from there (its cwd);
/// with `agreement`, the target is rewritten for that agreement ([`target_for`]).
fn session_with_target_at(
    defects: &str,
    pack: &Path,
    relative_dir: Option<&str>,
    agreement: Option<&str>,
) -> Session {
    let text = agreement
        .map_or_else(|| poc_runner::DEMO_TARGET.to_string(), target_for)
        .replace(
            "RSUD_APP_DEFECTS = \"\"",
            &format!("RSUD_APP_DEFECTS = \"{defects}\""),
        );
    assert!(text.contains(&format!("RSUD_APP_DEFECTS = \"{defects}\"")));
    session_with_target_text(&text, pack, relative_dir)
}

/// Plays `pack` with the target file `text` (written in `relative_dir` of the session's
/// directory when given, and named by a relative path from there).
pub(crate) fn session_with_target_text(
    text: &str,
    pack: &Path,
    relative_dir: Option<&str>,
) -> Session {
    session_with_args(text, pack, relative_dir, &[])
}

/// Sessions the whole test binary plays at once. The limit dates from sessions that were mostly
/// pauses (about 8% of a core in a debug build); with pauses at 0.01 of the pack's a session is
/// denser, and 20 at once still passes the regression matrix on CI's two cores. Past some load
/// the response times the checks judge would stretch: lower this before widening a window.
const SESSIONS_AT_ONCE: usize = 20;

static SESSIONS_RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static SESSION_ENDED: std::sync::Condvar = std::sync::Condvar::new();

/// A place among the [`SESSIONS_AT_ONCE`] sessions; given back when dropped.
struct SessionPermit;

impl SessionPermit {
    fn acquire() -> SessionPermit {
        let mut running = SESSIONS_RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= SESSIONS_AT_ONCE {
            running = SESSION_ENDED
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        SessionPermit
    }
}

impl Drop for SessionPermit {
    fn drop(&mut self) {
        *SESSIONS_RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        SESSION_ENDED.notify_one();
    }
}

/// [`session_with_target_text`] with `extra` arguments for `poc-runner run`.
pub(crate) fn session_with_args(
    text: &str,
    pack: &Path,
    relative_dir: Option<&str>,
    extra: &[&str],
) -> Session {
    let _permit = SessionPermit::acquire();
    // The runner finds both next to itself.
    support::bin("mock-server");
    support::bin("rsud-app");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = match relative_dir {
        Some(sub) => {
            std::fs::create_dir_all(dir.path().join(sub)).expect("target folder");
            Path::new(sub).join("target.toml")
        }
        None => dir.path().join("target.toml"),
    };
    std::fs::write(dir.path().join(&target), text).expect("write target");
    let key = dir.path().join("key");
    let k = support::command("poc-runner")
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(k.status.success(), "{k:?}");
    let out = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(pack)
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--key")
        .arg(&key)
        .args(["--assessor", "Tim PoC (test)"])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .expect("run poc-runner");
    let result = std::fs::read(dir.path().join("out/poc-result.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Session { out, dir, result }
}

/// The README's PoC quick start, as written, in a fresh clone (`readme.rs`): keygen, a session
/// of the embedded standard pack against rsud-app started by the runner through
/// `scenarios/targets/rsud-app.toml`, verify. The clone's `git status` stays clean.
#[test]
fn compliant_reference_app_passes_and_the_result_verifies_with_both_verifiers() {
    let clone = crate::readme::fresh_clone();
    let blocks =
        crate::readme::marked_blocks(&crate::readme::root().join("README.md"), "poc-session");
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    let text =
        crate::readme::run_block(&clone.path, &blocks[0], std::time::Duration::from_secs(240));
    crate::readme::assert_clean(&clone.path);
    let r: serde_json::Value = serde_json::from_slice(
        &std::fs::read(clone.path.join("poc-result/poc-result.json"))
            .expect("poc-result.json written"),
    )
    .expect("JSON");
    let s = Session {
        out: std::process::Command::new("true").output().expect("true"),
        dir: tempfile::tempdir().expect("temp dir"),
        result: Some(r.clone()),
    };
    assert_eq!(r["verdict"], "LULUS", "{text}");
    assert!(text.contains("verified"), "{text}");
    let checks = s.checks();
    assert!(checks.len() >= 14, "{checks:?}");
    let bad: Vec<_> = checks
        .iter()
        .filter(|c| c.2 == "fail" || c.2 == "needs_review")
        .collect();
    assert!(bad.is_empty(), "{bad:?}\n{text}");
    let passed = checks.iter().filter(|c| c.2 == "pass").count();
    assert!(passed >= 12, "{checks:?}");
    // What the application wrote is kept beside the result, NIKs masked, passwords hidden.
    let out_dir = clone.path.join("poc-result");
    let stdout = std::fs::read_to_string(out_dir.join("app/stdout.log")).expect("app stdout");
    assert!(stdout.contains("listening on "), "{stdout}");
    let stderr = std::fs::read_to_string(out_dir.join("app/stderr.log")).expect("app stderr");
    let sixteen_digits = regex_lite_nik(&(stdout.clone() + &stderr));
    assert!(
        sixteen_digits.is_none(),
        "an unmasked NIK {sixteen_digits:?} in the app's output"
    );
    // The journal of the session is in the result, chained.
    assert!(
        r["journal"]["rows"]
            .as_array()
            .is_some_and(|a| a.len() >= 20),
        "{}",
        r["journal"]
    );

    // `poc-runner verify` ran in the README's block; plain OpenSSH agrees.
    let pubkey = clone.path.join("keys/assessor.pub");
    let allowed = s.dir.path().join("allowed_signers");
    let pk = std::fs::read_to_string(pubkey).expect("public key");
    std::fs::write(
        &allowed,
        format!("assessor namespaces=\"dukcapil-poc\" {}", pk.trim()),
    )
    .expect("allowed_signers");
    let out_dir = clone.path.join("poc-result");
    let json = std::fs::File::open(out_dir.join("poc-result.json")).expect("json");
    let ssh = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", "assessor", "-n", "dukcapil-poc", "-s"])
        .arg(out_dir.join("poc-result.json.sig"))
        .stdin(json)
        .output()
        .expect("ssh-keygen");
    assert!(ssh.status.success(), "{ssh:?}");
}

#[test]
fn unreachable_application_exits_3_naming_the_url_and_writes_nothing() {
    support::bin("mock-server");
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nobody listens on: bind, note, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let text = poc_runner::DEMO_TARGET;
    let start = text.find("\n[app]").expect("[app] section");
    let end = text.find("\n[driver.http]").expect("driver section");
    let text = format!("{}{}", &text[..start], &text[end..]).replace("http://127.0.0.1:8080", &url);
    let (out, all) = run_target_text(dir.path(), &text);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains(&url), "{all}");
    assert!(!dir.path().join("out").exists(), "{all}");
}

#[test]
fn an_address_answered_before_the_application_starts_is_refused_not_judged() {
    support::bin("mock-server");
    support::bin("rsud-app");
    let dir = tempfile::tempdir().expect("temp dir");
    // A stale instance: something already answers HTTP where the target says the app will be.
    let stale = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", stale.local_addr().expect("addr"));
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut c in stale.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        }
    });
    // The demo target without its ready line: the runner would poll the base URL.
    let text = poc_runner::DEMO_TARGET
        .replace("ready_prefix = \"listening on \"\n", "")
        .replace("http://127.0.0.1:8080", &url);
    assert!(!text.contains("ready_prefix"), "the demo target changed");
    let (out, all) = run_target_text(dir.path(), &text);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("already answers before the application is started"),
        "{all}"
    );
    assert!(!dir.path().join("out").exists(), "{all}");
}

/// `poc-runner run` of the standard pack on `text` written as `dir/target.toml`, results to
/// `dir/out`: the output and its stdout and stderr together.
fn run_target_text(dir: &Path, text: &str) -> (std::process::Output, String) {
    let target = dir.join("target.toml");
    std::fs::write(&target, text).expect("write target");
    let out = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(scenario())
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, all)
}

/// Direct children of `pid`, from `/proc/*/stat` (field 4 is the parent pid).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after the last `)`.
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let ppid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Running (not gone, not a zombie awaiting its reaper).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s
            .rsplit_once(')')
            .map_or("", |(_, r)| r)
            .split_whitespace()
            .next();
        !matches!(state, Some("Z" | "X"))
    })
}

#[test]
fn an_interrupted_session_writes_nothing_and_leaves_no_mock_or_app_running() {
    use std::io::{BufRead, BufReader};
    support::bin("mock-server");
    support::bin("rsud-app");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("target.toml");
    std::fs::write(&target, poc_runner::DEMO_TARGET).expect("write target");
    let mut child = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(scenario())
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start poc-runner");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = String::new();
    // Mid-session: the third test has started.
    for line in lines.by_ref() {
        let line = line.expect("progress line");
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("[3/") {
            break;
        }
    }
    assert!(seen.contains("[3/"), "no progress before the end:\n{seen}");
    let owned = children_of(child.id());
    assert_eq!(
        owned.len(),
        2,
        "the mock and the application run as children: {owned:?}"
    );
    let int = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(int.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("runner ends");
    let all = format!("{seen}{}", rest.join("\n"));
    assert_eq!(status.code(), Some(130), "{all}");
    assert!(all.contains("interrupted; nothing was written"), "{all}");
    assert!(!dir.path().join("out").exists(), "{all}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("poc-result") || n.starts_with(".tmp") || n.starts_with("out"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for pid in owned {
        assert!(!alive(pid), "child {pid} still running after the interrupt");
    }
}

/// The outcome of the session's check of kind `check` and its evidence in English (each item
/// holds both languages: result format /2).
fn check_of(s: &Session, check: &str) -> (String, Vec<String>) {
    let r = s
        .result
        .as_ref()
        .unwrap_or_else(|| panic!("no result\n{}", s.text()));
    let c = r["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == check))
        .unwrap_or_else(|| panic!("no {check} check\n{}", s.text()));
    let evidence = c["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["en"].as_str().map(str::to_string))
        .collect();
    (c["outcome"].as_str().unwrap_or("").to_string(), evidence)
}

/// A pack of the standard pack's header and the one test `test_id` (with its group), written
/// next to a copy of the requirements catalogue.
pub(crate) fn one_test_pack(dir: &Path, test_id: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenario()).expect("standard pack");
    let header = &text[..text.find("\n[[groups]]").expect("a group")];
    let at = text
        .find(&format!("id = \"{test_id}\""))
        .expect("test in the pack");
    let group = text[..at].rfind("\n[[groups]]").expect("its group");
    let test = text[..at].rfind("\n[[groups.tests]]").expect("its table");
    let head_of_group = &text[group
        ..text[group..]
            .find("\n[[groups.tests]]")
            .map_or(at, |i| group + i)];
    let end = [
        text[at..].find("\n[[groups.tests]]"),
        text[at..].find("\n[[groups]]"),
        text[at..].find("\n[overrides"),
        text[at..].find("\n# ---"),
    ]
    .into_iter()
    .flatten()
    .min()
    .map_or(text.len(), |i| at + i);
    let pack = format!("{header}{head_of_group}{}\n", &text[test..end]);
    std::fs::copy(
        scenario().with_file_name("requirements.toml"),
        dir.join("requirements.toml"),
    )
    .expect("requirements");
    let path = dir.join("pack.toml");
    std::fs::write(&path, pack).expect("write pack");
    path
}

/// T-OUTCOME-01 forces 03 by rotating the institution's password at the mock: the application's
/// next lookup really gets `Login Gagal`, journaled as 03, and the check judges what the
/// application made of it (rsud-app: an error, no resident; with `error-as-found`: data).
#[test]
fn t_outcome_judges_a_forced_03_from_real_traffic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = one_test_pack(dir.path(), "T-OUTCOME-01");
    let outcome_check = |s: &Session| check_of(s, "outcome_handling");
    let lookups_answered_03 = |s: &Session| -> usize {
        s.result.as_ref().map_or(0, |r| {
            r["journal"]["rows"].as_array().map_or(0, |rows| {
                rows.iter()
                    .filter(|row| {
                        row["endpoint"]
                            .as_str()
                            .is_some_and(|e| e.ends_with("/CALL_NIK"))
                            && row["outcome"] == "03"
                    })
                    .count()
            })
        })
    };

    let good = session_of("", &pack);
    assert_eq!(good.code(), 0, "{}", good.text());
    assert_eq!(lookups_answered_03(&good), 1, "{}", good.text());
    let (outcome, evidence) = outcome_check(&good);
    assert_eq!(outcome, "pass", "{evidence:?}\n{}", good.text());
    assert!(!good.text().contains("cannot be forced"), "{}", good.text());

    let bad = session_of("error-as-found", &pack);
    assert_eq!(lookups_answered_03(&bad), 1, "{}", bad.text());
    let (outcome, evidence) = outcome_check(&bad);
    assert_eq!(outcome, "fail", "{evidence:?}");
    assert!(
        evidence.iter().any(|e| e.starts_with("03: ")),
        "{evidence:?}"
    );

    // An outcome the test lists but nothing provokes (06, outside service hours) was not
    // exercised: the check cannot pass on the others, and the verdict is not LULUS.
    let text = std::fs::read_to_string(&pack).expect("pack");
    let listed = "outcomes = [\"11\", \"12\", \"13\", \"14\", \"15\", \"03\", \"16\", \"17\"]";
    assert!(text.contains(listed), "{text}");
    std::fs::write(
        &pack,
        text.replacen(listed, &listed.replacen("\"17\"]", "\"17\", \"06\"]", 1), 1),
    )
    .expect("pack");
    let unseen = session_of("", &pack);
    let (outcome, evidence) = outcome_check(&unseen);
    assert_eq!(outcome, "not_exercised", "{evidence:?}\n{}", unseen.text());
    assert!(
        evidence[0].contains("outcome(s) 06 never reached the application"),
        "{evidence:?}"
    );
    assert_ne!(unseen.code(), 0, "{}", unseen.text());
}

/// An application whose own time-out is longer than the one its target file declares sits the
/// timeout fault's delay out: its time-out handling was never seen, so the transport check is
/// not exercised (the verdict not LULUS), whatever the other faults showed.
#[test]
fn a_timeout_the_application_sat_through_is_not_exercised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = one_test_pack(dir.path(), "T-TRANSPORT-01");
    let declared = "gateway_timeout_ms = 1500";
    let text = poc_runner::DEMO_TARGET.to_string();
    assert!(text.contains(declared) && text.contains("RSUD_APP_TIMEOUT_MS = \"1500\""));
    // Declared 1500 ms (delay 2250 ms), configured 4000 ms: the application waits.
    let text = text.replacen(
        "RSUD_APP_TIMEOUT_MS = \"1500\"",
        "RSUD_APP_TIMEOUT_MS = \"4000\"",
        1,
    );
    let s = session_with_target_text(&text, &pack, None);
    let (outcome, evidence) = check_of(&s, "outcome_handling");
    assert_eq!(outcome, "not_exercised", "{evidence:?}\n{}", s.text());
    assert!(
        evidence[0].starts_with("fault(s) timeout not exercised"),
        "{evidence:?}"
    );
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("waited the whole delay out")),
        "{evidence:?}"
    );
    assert_ne!(s.code(), 0, "{}", s.text());
}

/// A target named by a relative path: the application the runner starts (cwd: the target's
/// folder) must get absolute paths, or it writes its database under a doubled path
/// (`tgt/tgt/simrs.sqlite`) and the retention scan, finding no file, would pass an application
/// that stores answers.
#[test]
fn a_relative_target_path_still_finds_stored_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = one_test_pack(dir.path(), "T-RETENTION-01");
    let bad = session_with_target_at("store-answer", &pack, Some("tgt"), None);
    let retention = bad
        .checks()
        .into_iter()
        .find(|c| c.0 == "T-RETENTION-01" && c.1 == "non_retention")
        .unwrap_or_else(|| panic!("no retention check\n{}", bad.text()));
    assert_eq!(retention.2, "fail", "{}", bad.text());
    assert_eq!(bad.code(), 1, "{}", bad.text());
    assert!(
        bad.dir.path().join("tgt/simrs.sqlite").exists(),
        "the database belongs beside the target file"
    );
    assert!(!bad.dir.path().join("tgt/tgt").exists(), "doubled path");
}

/// `examples/ci/poc-ci.sh`, as an agency's CI runs it, from a fresh clone (with a one-test pack
/// so that it stays short): it starts the mock, waits for `/healthz`, runs the application's
/// tests (the default smoke lookup) and the PoC pack with `--mock-url`, and leaves the JUnit file.
/// With `--mock-url` the runner asks the mock what it serves: the result names the seed and the
/// SHA-256 of the population file that the mock itself logged at start-up (never a label's hash
/// or seed 0). The clone's `git status` stays clean.
#[test]
fn the_ci_example_runs_and_the_result_names_the_dataset_the_external_mock_serves() {
    let clone = crate::readme::fresh_clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = one_test_pack(dir.path(), "T-FIELD-01");
    let work = dir.path().join("work");
    for prog in ["mock-server", "poc-runner", "rsud-app"] {
        support::bin(prog);
    }
    let bin = support::bin("poc-runner")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let out = Command::new("bash")
        .arg(clone.path.join("examples/ci/poc-ci.sh"))
        .env("BIN", &bin)
        .env("WORK", &work)
        .env("SEED", "7")
        .env("SCENARIO", &pack)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the CI example");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("/healthz: {\"status\":\"ok\"}"), "{text}");
    assert!(text.contains(": found"), "{text}");
    let junit = std::fs::read_to_string(work.join("junit.xml")).expect("JUnit copied");
    assert!(
        junit.contains("<testsuites") && junit.contains("T-FIELD-01"),
        "{junit}"
    );
    let result: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.join("poc-result/poc-result.json")).expect("result"),
    )
    .expect("JSON");
    let dataset = &result["mock_dataset"];
    assert_eq!(dataset["seed"], 7, "{dataset}");
    let sha = dataset["sha256"].as_str().expect("sha256");
    assert_eq!(sha.len(), 64, "{dataset}");
    let logged = std::fs::read_to_string(work.join("mock.log")).expect("mock log");
    assert!(
        logged
            .lines()
            .any(|l| l.contains("population ready") && l.contains(&format!("sha256={sha}"))),
        "the mock logged another dataset:\n{logged}\nresult: {dataset}"
    );
    crate::readme::assert_clean(&clone.path);
}

/// Before anything is judged, every operator logs in and makes one lookup that must reach this
/// mock: a session that would judge nothing stops with exit 3, says why, and signs nothing.
#[test]
fn a_session_that_would_judge_nothing_stops_before_signing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = one_test_pack(dir.path(), "T-USER-ID-01");
    let stops = |text: String, why: &str| {
        let s = session_with_target_text(&text, &pack, None);
        assert_eq!(s.code(), 3, "{}", s.text());
        assert!(s.text().contains(why), "expected {why:?} in\n{}", s.text());
        assert!(s.result.is_none(), "nothing may be signed\n{}", s.text());
        assert!(!s.out_dir().exists(), "no result directory");
    };
    // The target's operator password is not the application's: login answers 401.
    let wrong_password = poc_runner::DEMO_TARGET.replacen(
        "password = \"sandi-pendaftaran-01\"",
        "password = \"salah\"",
        1,
    );
    assert_ne!(wrong_password, poc_runner::DEMO_TARGET);
    stops(
        wrong_password,
        "operator `petugas.pendaftaran01` could not log in",
    );
    // The application talks to another gateway: no lookup reaches the runner's mock.
    let elsewhere = poc_runner::DEMO_TARGET.replacen(
        "RSUD_APP_GATEWAY_URL = \"{{ mock_url }}\"",
        "RSUD_APP_GATEWAY_URL = \"http://127.0.0.1:9\"",
        1,
    );
    assert_ne!(elsewhere, poc_runner::DEMO_TARGET);
    stops(elsewhere, "never reached the mock");
}

/// The first run of exactly 16 digits in `s` (an unmasked NIK).
fn regex_lite_nik(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 16 {
                return Some(s[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The README's `poc-runner demo --out ./poc-out` (poc-runner/README.md), as written, in a
/// fresh directory: a signed `LULUS` that `verify` accepts with the demo's own key.
#[test]
fn the_documented_demo_runs_and_its_result_verifies() {
    for prog in ["mock-server", "rsud-app"] {
        support::bin(prog);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::command("poc-runner")
        .args(["demo", "--out", "./poc-out"])
        .current_dir(dir.path())
        .output()
        .expect("demo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let result: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("poc-out/poc-result.json")).expect("result"),
    )
    .expect("json");
    assert_eq!(result["verdict"], "LULUS", "{text}");
    let v = support::command("poc-runner")
        .args(["verify", "poc-out", "--public-key", "poc-out.key.pub"])
        .current_dir(dir.path())
        .output()
        .expect("verify");
    assert!(v.status.success(), "{v:?}");
}
