//! The Web Portal PoC pack (issue 16, item 2): the real `poc-runner` plays
//! `scenarios/standard-web-portal.toml` with its browser driver (headless Chromium) against the
//! real `mock-server`'s portal, started with the operator accounts of
//! `fixtures/settings/portal.example.toml`. A compliant operator script passes; one that shares
//! a login between two operators and one that searches NIKs in sequence do not.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::{self, MockServer, ADMIN_TOKEN};

/// `POC_BROWSER=skip` skips, loudly, like the other browser tests.
fn skipped(test: &str) -> bool {
    let skip = std::env::var("POC_BROWSER").is_ok_and(|v| v.trim().eq_ignore_ascii_case("skip"));
    if skip {
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!! SKIPPED browser test `{test}`: POC_BROWSER=skip. The portal pack was NOT played in a browser. !!!!!!!!\n"
        );
    }
    skip
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Two people, each with their own account (the accounts of the settings file).
const PEOPLE: &str = r#"
[[people]]
id = "petugas-loket-1"
account = "petugas.portal01"

[[people]]
id = "petugas-loket-2"
account = "petugas.portal02"
"#;

/// Two people on one account: petugas-loket-2 logs in with petugas-loket-1's login.
const SHARED: &str = r#"
[[people]]
id = "petugas-loket-1"
account = "petugas.portal01"

[[people]]
id = "petugas-loket-2"
account = "petugas.portal01"
"#;

/// Both log in, each serves patients (a search, then the agency's balikan), both log out.
const SERVE: &str = r#"
[[steps]]
person = "petugas-loket-1"
action = "login"

[[steps]]
person = "petugas-loket-2"
action = "login"

[[steps]]
person = "petugas-loket-1"
action = "search"
nik_ref = "pasien-1"
service = "pendaftaran pasien"

[[steps]]
action = "balikan"
nik_ref = "pasien-1"

[[steps]]
person = "petugas-loket-2"
action = "search"
nik_ref = "pasien-2"
service = "pendaftaran pasien"

[[steps]]
action = "balikan"
nik_ref = "pasien-2"

[[steps]]
person = "petugas-loket-1"
action = "logout"

[[steps]]
person = "petugas-loket-2"
action = "logout"
"#;

/// One person searches five consecutive NIKs nobody came for.
fn sequential_steps() -> String {
    let mut s = String::from(
        "\n[[steps]]\nperson = \"petugas-loket-1\"\naction = \"login\"\n\n[[steps]]\nperson = \"petugas-loket-1\"\naction = \"search\"\nnik_ref = \"pasien-1\"\nservice = \"pendaftaran pasien\"\n\n[[steps]]\naction = \"balikan\"\nnik_ref = \"pasien-1\"\n",
    );
    for serial in 1..=5 {
        s.push_str(&format!(
            "\n[[steps]]\nperson = \"petugas-loket-1\"\naction = \"search\"\nnik = \"33030141078900{serial:02}\"\n"
        ));
    }
    s.push_str("\n[[steps]]\nperson = \"petugas-loket-1\"\naction = \"logout\"\n");
    s
}

fn script(id: &str, people: &str, steps: &str) -> String {
    format!("[script]\nid = \"{id}\"\nresidents = [\"pasien-1\", \"pasien-2\"]\n{people}\n{steps}")
}

/// A finished session: exit code, output, the result document.
struct Played {
    code: i32,
    text: String,
    result: serde_json::Value,
}

impl Played {
    /// `(test id, check kind, outcome)` of every judged check.
    fn checks(&self) -> Vec<(String, String, String)> {
        self.result["checks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                        (s("test_id"), s("check"), s("outcome"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn outcome_of(&self, check: &str) -> String {
        self.checks()
            .into_iter()
            .find(|(_, c, _)| c == check)
            .map(|(_, _, o)| o)
            .unwrap_or_else(|| panic!("no {check} in {:?}\n{}", self.checks(), self.text))
    }
}

/// Plays the portal pack with the browser driver and `script_text` against a mock started
/// with the portal settings file.
fn play(script_text: &str) -> Played {
    let mock = MockServer::start(&[
        "--config",
        repo("fixtures/settings/portal.example.toml")
            .to_str()
            .unwrap(),
    ]);
    let (code, text, result) = run_pack(script_text, Some(&mock));
    let result = result.unwrap_or_else(|| panic!("no result written:\n{text}"));
    Played { code, text, result }
}

/// `poc-runner run` of the portal pack with `script_text`, at `mock` (else its embedded mock):
/// exit code, output, the result if one was written.
fn run_pack(
    script_text: &str,
    mock: Option<&MockServer>,
) -> (i32, String, Option<serde_json::Value>) {
    support::bin("poc-runner");
    support::bin("mock-server");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("script.toml"), script_text).expect("script");
    std::fs::create_dir_all(dir.path().join("agency-files")).expect("agency files");
    std::fs::write(
        dir.path().join("agency-files/register.csv"),
        "nomor_antrian,layanan\n001,pendaftaran pasien\n",
    )
    .expect("register");
    let target = std::fs::read_to_string(repo("scenarios/targets/portal-example.toml"))
        .expect("example target")
        .replace(
            "agreement = \"dinkes-purbalingga\"",
            "agreement = \"dinkes-purbalingga\"\noperator_script = \"script.toml\"",
        )
        .replace(
            "folder = \"portal-agency-files\"",
            "folder = \"agency-files\"",
        );
    std::fs::write(dir.path().join("target.toml"), target).expect("target");
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
        .arg(repo("scenarios/standard-web-portal.toml"))
        .arg("--target")
        .arg(dir.path().join("target.toml"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--key")
        .arg(&key)
        .args(["--assessor", "Tim PoC (test)"])
        .args(
            mock.map(|m| vec!["--mock-url", m.base.as_str(), "--admin-token", ADMIN_TOKEN])
                .unwrap_or_default(),
        )
        .current_dir(dir.path())
        .output()
        .expect("run poc-runner");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let result = std::fs::read(dir.path().join("out/poc-result.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    (out.status.code().unwrap_or(-1), text, result)
}

#[test]
fn portal_pack_passes_operators_with_their_own_accounts_who_search_for_service_and_send_balikan() {
    if skipped("portal_pack compliant") {
        return;
    }
    let p = play(&script("loket-pagi", PEOPLE, SERVE));
    assert_eq!(p.result["verdict"], "LULUS", "{:?}\n{}", p.checks(), p.text);
    assert_eq!(p.code, 0, "{}", p.text);
    for check in [
        "portal_own_accounts",
        "portal_search_pattern",
        "portal_balikan",
        "portal_no_copy",
    ] {
        assert_eq!(p.outcome_of(check), "pass", "{check}: {}", p.text);
    }
}

#[test]
fn portal_pack_fails_one_login_shared_by_two_operators() {
    if skipped("portal_pack shared login") {
        return;
    }
    let p = play(&script("satu-akun", SHARED, SERVE));
    assert_eq!(p.result["verdict"], "TIDAK LULUS", "{}", p.text);
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(p.outcome_of("portal_own_accounts"), "fail", "{}", p.text);
    let evidence = p.result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "portal_own_accounts")
        .map(|c| c["evidence"].to_string())
        .unwrap();
    assert!(evidence.contains("petugas.portal01"), "{evidence}");
    assert!(
        evidence.contains("from the browsers of 2 people"),
        "{evidence}"
    );
    assert!(p.text.contains("T-PORTAL-ACCOUNT-01"), "{}", p.text);
    // The other rules held.
    assert_eq!(p.outcome_of("portal_search_pattern"), "pass", "{}", p.text);
    assert_eq!(p.outcome_of("portal_balikan"), "pass", "{}", p.text);
}

#[test]
fn portal_pack_fails_nik_searches_in_sequence() {
    if skipped("portal_pack sequential") {
        return;
    }
    let p = play(&script("urut", PEOPLE, &sequential_steps()));
    assert_eq!(p.result["verdict"], "TIDAK LULUS", "{}", p.text);
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(p.outcome_of("portal_search_pattern"), "fail", "{}", p.text);
    let evidence = p.result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "portal_search_pattern")
        .map(|c| c["evidence"].to_string())
        .unwrap();
    assert!(evidence.contains("consecutive NIKs"), "{evidence}");
    assert!(evidence.contains("petugas.portal01"), "{evidence}");
}

/// A mock without the script's accounts (the runner's embedded one has no portal operators):
/// the pre-flight login is refused, the session stops with exit 3 naming the account, and
/// nothing is signed (every check would have been "not exercised").
#[test]
fn portal_pack_stops_before_signing_when_the_portal_refuses_an_account() {
    if skipped("portal_pack pre-flight") {
        return;
    }
    let (code, text, result) = run_pack(&script("loket-pagi", PEOPLE, SERVE), None);
    assert_eq!(code, 3, "{text}");
    assert!(result.is_none(), "{text}");
    assert!(
        text.contains("account `petugas.portal01` could not log in to the portal"),
        "{text}"
    );
    assert!(text.contains("[[portal_operators]]"), "{text}");
}
