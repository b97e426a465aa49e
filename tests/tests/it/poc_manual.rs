//! Manual PoC sessions: `poc-runner run` with the shipped manual target
//! (`scenarios/targets/manual-example.toml`) on a real pseudo-terminal. The test plays the
//! engineer at the application's screen: it reads each instruction, does the step on the
//! reference application's real pages over HTTP (login form, `/cari`, `/pasien`), reads what the
//! page shows, and answers the runner's questions truthfully from that page. The runner waits
//! for the lookups at its real mock and judges the answers with the usual checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rexpect::process::WaitStatus;
use rexpect::ReadUntil;
use scraper::{Html, Selector};

use crate::support;

fn scenarios_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// A small pack of tests a manual session can play in seconds (the standard pack's ids).
fn pack(dir: &Path) -> std::path::PathBuf {
    let requirements = scenarios_dir().join("requirements.toml");
    let text = format!(
        r#"
[pack]
id = "manual-it"
version = "1.0.0"
title_id = "Paket uji sesi manual"
title_en = "Manual session test pack"
requirements = "{}"
agreements = ["rsud-karanganyar"]

[[groups]]
id = "G-MANUAL"
title_id = "Sesi manual"
title_en = "Manual session"

[[groups.tests]]
id = "T-FIELD-02"
title_id = "Aplikasi menyaring sendiri elemen di luar PKS"
title_en = "The application keeps its own whitelist"
description = "The mock returns every element; the screen must show only granted ones."
requirement = "R-FIELD-LIMIT"
inputs = {{ residents = [{{ ref = "canary" }}], operators = ["op1"] }}
steps = [
  {{ login = {{ operator = "op1" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "canary" }} }},
]
checks = [{{ field_limits = {{ extra_elements_from_mock = true }} }}]

[[groups.tests]]
id = "T-FIELD-03"
title_id = "Nilai tepi sampai utuh"
title_en = "Edge values come through exactly"
description = "Edge values are shown exactly."
requirement = "R-FIELD-LIMIT"
inputs = {{ residents = [{{ ref = "long", edge = ["long_name", "apostrophe"] }}], operators = ["op1"] }}
steps = [
  {{ login = {{ operator = "op1" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "long" }} }},
]
checks = [{{ field_limits = {{ edge_values = true }} }}]

[[groups.tests]]
id = "T-USER-ID-01"
title_id = "User_ID operator yang bertindak ikut terkirim"
title_en = "The acting operator's User_ID is sent"
description = "Two operators, two User_IDs."
requirement = "R-USER-ID"
inputs = {{ residents = [{{ ref = "a" }}, {{ ref = "b" }}], operators = ["op1", "op2"] }}
steps = [
  {{ login = {{ operator = "op1" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "a" }} }},
  {{ login = {{ operator = "op2" }} }},
  {{ lookup = {{ operator = "op2", nik_ref = "b" }} }},
]
checks = [{{ user_id_propagation = {{ min_distinct_operators = 2 }} }}, {{ one_action_one_request = {{}} }}]

[[groups.tests]]
id = "T-OUTCOME-01"
title_id = "Respons bisnis disampaikan, tidak ditampilkan sebagai data"
title_en = "Business outcomes are told, not shown as data"
description = "Not found and deceased are told to the operator."
requirement = "R-OUTCOMES"
inputs = {{ residents = [{{ ref = "absent", status = "absent" }}, {{ ref = "deceased", status = "deceased" }}], operators = ["op1"] }}
steps = [
  {{ login = {{ operator = "op1" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "absent" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "deceased" }} }},
]
checks = [{{ outcome_handling = {{ outcomes = ["13", "11"] }} }}]

[[groups.tests]]
id = "T-BALIKAN-01"
title_id = "Data balikan terkirim setelah layanan"
title_en = "Data balikan follows the service event"
description = "Registration is followed by balikan."
requirement = "R-BALIKAN"
inputs = {{ residents = [{{ ref = "canary" }}], operators = ["op1"] }}
steps = [
  {{ login = {{ operator = "op1" }} }},
  {{ lookup = {{ operator = "op1", nik_ref = "canary" }} }},
  {{ service_event = {{ operator = "op1", event = "register_patient", nik_ref = "canary", values = {{ GOL_DARAH = "O" }} }} }},
  {{ wait_balikan = {{ seconds = 120 }} }},
]
checks = [{{ balikan = {{ within_seconds = 120, none_without_lookup = true }} }}]
"#,
        requirements.display().to_string().replace('\\', "/")
    );
    let path = dir.join("manual-pack.toml");
    std::fs::write(&path, text).expect("write pack");
    path
}

/// The shipped manual target, in a temp dir (its data paths are relative to the file).
fn target(dir: &Path, defects: &str) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(scenarios_dir().join("targets/manual-example.toml"))
        .expect("shipped manual target");
    let text = shipped.replace(
        "RSUD_APP_AGREEMENT = \"rsud-karanganyar\"",
        &format!("RSUD_APP_AGREEMENT = \"rsud-karanganyar\"\nRSUD_APP_DEFECTS = \"{defects}\""),
    );
    assert!(
        text.contains("RSUD_APP_DEFECTS"),
        "manual target changed shape"
    );
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let path = dir.join("manual-target.toml");
    std::fs::write(&path, text).expect("write target");
    path
}

/// The engineer at the screen: a browser-like HTTP client on the reference app's pages.
struct Engineer {
    app: String,
    client: reqwest::blocking::Client,
    cookies: BTreeMap<String, String>,
    screen: Html,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

impl Engineer {
    fn new() -> Engineer {
        Engineer {
            app: String::new(),
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            screen: Html::parse_document(""),
        }
    }

    fn login(&mut self, user: &str, password: &str) -> bool {
        let r = self
            .client
            .post(format!("{}/login", self.app))
            .form(&[("username", user), ("password", password)])
            .send()
            .expect("login page answers");
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .find(|c| !c.is_empty());
        match cookie {
            Some(c) => {
                self.cookies.insert(user.to_string(), c);
                true
            }
            None => false,
        }
    }

    fn submit(&mut self, user: &str, path: &str, form: &[(&str, &str)]) {
        let cookie = self.cookies.get(user).cloned().unwrap_or_default();
        let body = self
            .client
            .post(format!("{}{path}", self.app))
            .header("cookie", cookie)
            .form(form)
            .send()
            .expect("page answers")
            .text()
            .expect("page text");
        self.screen = Html::parse_document(&body);
    }

    fn shows_resident(&self) -> bool {
        self.screen
            .select(&sel("table#data-penduduk"))
            .next()
            .is_some()
    }

    /// The values in the result table's cells, exactly as rendered.
    fn cells(&self) -> Vec<String> {
        self.screen
            .select(&sel("table#data-penduduk td"))
            .map(|td| td.text().collect::<String>())
            .collect()
    }

    /// The whole message box, as an engineer copies it (one line).
    fn message(&self) -> String {
        self.screen
            .select(&sel("#hasil .pesan"))
            .next()
            .map(|e| e.text().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What the runner asks, in the order the test recognises it.
const INTRO: &str = "Aplikasi: ";
const LOGIN_Q: &str = "Berhasil masuk sebagai `";
const WAITING: &str = "Menunggu permintaan sampai di mock";
const PRESENTED_Q: &str = "Apakah aplikasi menampilkan data penduduk untuk NIK ini? [y/t]";
const FORBIDDEN_Q: &str = "Apakah SALAH SATU nilai di atas tampil di layar aplikasi? [y/t]";
const EXACT_Q: &str = "tampil persis `";
const MESSAGE_Q: &str = "Pesan apa yang ditampilkan aplikasi kepada operator?";
const CLEAN_Q: &str = "Apakah aplikasi tetap menjawab dengan wajar";
const NOTE_Q: &str = "Catatan bukti (opsional; Enter untuk melewati):";
const DONE_Q: &str = "Sudah dilakukan di aplikasi? [y/t]";
const LOGOUT: &str = "Keluar (logout) dari aplikasi";

/// `(NIK: 3313...; operator: petugas.igd02...)` in the text before a prompt.
fn nik_and_operator(before: &str) -> (String, String) {
    let at = before.rfind("(NIK: ").expect("instruction names the NIK");
    let rest = &before[at + "(NIK: ".len()..];
    let nik = rest.split(';').next().unwrap_or("").trim().to_string();
    let op_at = rest
        .find("operator: ")
        .expect("instruction names the operator");
    let op: String = rest[op_at + "operator: ".len()..]
        .chars()
        .take_while(|c| !matches!(c, ';' | ')' | '\r' | '\n'))
        .collect();
    (nik, op.trim().to_string())
}

struct Played {
    code: i32,
    transcript: String,
    result: serde_json::Value,
}

/// Plays a manual session as an honest engineer; `defects` are rsud-app defect switches.
fn play_manual(defects: &str) -> Played {
    support::bin("mock-server");
    support::bin("rsud-app");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    let k = support::command("poc-runner")
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(k.status.success(), "{k:?}");
    let mut cmd = support::command("poc-runner");
    cmd.arg("run")
        .arg("--scenario")
        .arg(pack(dir.path()))
        .arg("--target")
        .arg(target(dir.path(), defects))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--key")
        .arg(&key)
        .args(["--assessor", "Penguji manual (test)"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(90_000)).expect("spawn on a pty");
    let passwords: BTreeMap<&str, &str> = [
        ("petugas.pendaftaran01", "sandi-pendaftaran-01"),
        ("petugas.igd02", "sandi-igd-02"),
    ]
    .into();
    let mut eng = Engineer::new();
    let mut transcript = String::new();
    let mut current_user = String::new();
    loop {
        let needles = [
            INTRO,
            LOGIN_Q,
            WAITING,
            PRESENTED_Q,
            FORBIDDEN_Q,
            EXACT_Q,
            MESSAGE_Q,
            CLEAN_Q,
            NOTE_Q,
            DONE_Q,
            LOGOUT,
        ];
        let mut any: Vec<ReadUntil> = needles
            .iter()
            .map(|n| ReadUntil::String(n.to_string()))
            .collect();
        any.push(ReadUntil::EOF);
        let (before, matched) = match p.exp_any(any) {
            Ok(m) => m,
            Err(e) => panic!("runner stalled: {e}\n--- transcript ---\n{transcript}"),
        };
        transcript.push_str(&before);
        transcript.push_str(&matched);
        match matched.as_str() {
            INTRO => {
                let line = p.read_line().expect("app url");
                transcript.push_str(&line);
                eng.app = line.trim().to_string();
            }
            LOGIN_Q => {
                let user = p.exp_string("`?").expect("login prompt");
                transcript.push_str(&user);
                let ok = eng.login(&user, passwords[user.as_str()]);
                p.send_line(if ok { "y" } else { "t" }).expect("answer");
            }
            WAITING => {
                let (nik, op) = nik_and_operator(&before);
                current_user = op.clone();
                eng.submit(&op, "/cari", &[("nik", &nik)]);
            }
            PRESENTED_Q => {
                p.send_line(if eng.shows_resident() { "y" } else { "t" })
                    .expect("answer");
            }
            FORBIDDEN_Q => {
                let cells = eng.cells();
                let shown: Vec<String> = before
                    .lines()
                    .filter_map(|l| {
                        let l = l.trim_end_matches('\r');
                        let (num, rest) = l.trim_start().split_once(". ")?;
                        let value = rest.split_once(": ")?.1;
                        num.parse::<usize>().ok()?;
                        cells.iter().any(|c| c == value).then(|| num.to_string())
                    })
                    .collect();
                if shown.is_empty() {
                    p.send_line("t").expect("answer");
                } else {
                    p.send_line("y").expect("answer");
                    p.exp_string("Nomor yang tampil").expect("numbers prompt");
                    p.send_line(&shown.join(",")).expect("answer");
                }
            }
            EXACT_Q => {
                let value = p.exp_string("` (tidak terpotong").expect("exact prompt");
                transcript.push_str(&value);
                let exact = eng.cells().contains(&value);
                p.send_line(if exact { "y" } else { "t" }).expect("answer");
            }
            MESSAGE_Q => {
                p.send_line(&eng.message()).expect("answer");
            }
            CLEAN_Q => {
                p.send_line("y").expect("answer");
            }
            NOTE_Q => {
                p.send_line(&format!("diamati oleh uji otomatis ({current_user})"))
                    .expect("answer");
            }
            DONE_Q => {
                let (nik, op) = nik_and_operator(&before);
                assert!(
                    before.contains("Pendaftaran Pasien"),
                    "only registration is in this pack: {before}"
                );
                eng.submit(&op, "/pasien", &[("nik", &nik), ("gol_darah", "O")]);
                p.send_line("y").expect("answer");
            }
            LOGOUT => eng.cookies.clear(),
            _ => break, // EOF
        }
    }
    let code = match p.process().wait().expect("runner exit") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("runner ended by {other:?}\n{transcript}"),
    };
    let result = std::fs::read(dir.path().join("out/poc-result.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    Played {
        code,
        transcript,
        result,
    }
}

fn outcomes(result: &serde_json::Value) -> Vec<(String, String)> {
    result["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        format!(
                            "{}/{}",
                            c["test_id"].as_str().unwrap_or(""),
                            c["check"].as_str().unwrap_or("")
                        ),
                        c["outcome"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_engineer_at_a_terminal_passes_a_compliant_application() {
    let s = play_manual("");
    assert_eq!(s.code, 0, "LULUS expected\n{}", s.transcript);
    assert_eq!(s.result["verdict"], "LULUS", "{}", s.transcript);
    let got = outcomes(&s.result);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got.iter().all(|(_, o)| o == "pass"),
        "{got:?}\n{}",
        s.transcript
    );
    let evidence = s.result["checks"].to_string();
    // The engineer's answers are evidence of the signed record, with masked NIKs.
    assert!(
        evidence.contains("request(s) reached the mock (User_ID petugas.igd02"),
        "{evidence}"
    );
    assert!(evidence.contains("diamati oleh uji otomatis"), "{evidence}");
    assert!(
        // Code spans are kept as quotes, not markdown backticks.
        evidence.contains("service \u{201c}register_patient\u{201d}"),
        "{evidence}"
    );
    // The instructions were the target's, in Indonesian, with the app's real address.
    assert!(
        s.transcript.contains("Di menu Cari NIK (http://127.0.0.1:"),
        "{}",
        s.transcript
    );
}

#[test]
fn an_engineer_reporting_ungranted_elements_fails_the_field_limits() {
    let s = play_manual("unfiltered-fields");
    assert_eq!(s.code, 1, "TIDAK LULUS expected\n{}", s.transcript);
    let got = outcomes(&s.result);
    let failed: Vec<&str> = got
        .iter()
        .filter(|(_, o)| o == "fail")
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        failed,
        ["T-FIELD-02/field_limits"],
        "{got:?}\n{}",
        s.transcript
    );
    assert!(
        s.result["checks"]
            .to_string()
            .contains("outside the agreement shown"),
        "{}",
        s.result
    );
}

#[test]
fn a_manual_session_without_a_terminal_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(pack(dir.path()))
        .arg("--target")
        .arg(target(dir.path(), ""))
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs an engineer at an interactive terminal"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
    // Nothing was started: no application data appeared.
    assert!(std::fs::read_dir(dir.path().join("data")).map_or(0, |d| d.count()) == 0);
}
