//! `poc-runner` result documents end to end: a key made by `poc-runner keygen`, a result written
//! by the library, then checked by `poc-runner verify` and by plain `ssh-keygen -Y verify`;
//! tampering with any byte, the HTML or a journal row must be caught. Also: scenario and target
//! files with mistakes are refused by `poc-runner run` with `PATH:LINE:COLUMN` errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use poc_runner as result;
use poc_runner::Lang;

use crate::support;

const IDENTITY: &str = "tim-poc@disdukcapil.example";

struct Signed {
    _dir: tempfile::TempDir,
    out: PathBuf,
    key: PathBuf,
    allowed_signers: PathBuf,
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A key from the CLI, a result for the fixed synthetic session signed with it, and an
/// allowed_signers file naming the key for `ssh-keygen`.
fn signed_result() -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys/assessor");
    let o = run(support::command("poc-runner")
        .args(["keygen", "--out"])
        .arg(&key)
        .args(["--comment", IDENTITY]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("fingerprint SHA256:"), "{}", text(&o));
    let private = result::read_private_key(&key).unwrap();
    // The key's comment (IDENTITY) is the principal the result names.
    let mut session = poc_runner::example::session(true);
    session.principal = None;
    let docs = result::build_documents(
        &session,
        &private,
        Lang::Id,
        env!("CARGO_PKG_VERSION"),
        None,
    )
    .unwrap();
    let out = dir.path().join("hasil-poc");
    result::write_documents(&docs, &out).unwrap();
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let allowed_signers = dir.path().join("allowed_signers");
    std::fs::write(
        &allowed_signers,
        format!("{IDENTITY} namespaces=\"dukcapil-poc\" {}", public.trim()),
    )
    .unwrap();
    Signed {
        _dir: dir,
        out,
        key,
        allowed_signers,
    }
}

impl Signed {
    fn pub_key(&self) -> PathBuf {
        PathBuf::from(format!("{}.pub", self.key.display()))
    }

    fn poc_verify(&self) -> Output {
        run(support::command("poc-runner")
            .arg("verify")
            .arg(&self.out)
            .arg("--public-key")
            .arg(self.pub_key()))
    }

    fn ssh_verify(&self) -> Output {
        let json = std::fs::File::open(self.out.join(result::JSON_FILE)).unwrap();
        run(Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&self.allowed_signers)
            .args(["-I", IDENTITY, "-n", "dukcapil-poc", "-s"])
            .arg(self.out.join(result::SIG_FILE))
            .stdin(json))
    }

    fn json_path(&self) -> PathBuf {
        self.out.join(result::JSON_FILE)
    }

    /// `poc-runner verify` with `args`, and with no trust anchor configured on the machine
    /// (an empty home, no `POC_TRUSTED_SIGNERS`) unless `env` sets one.
    fn verify_with(&self, args: &[&std::ffi::OsStr], env: Option<&Path>) -> Output {
        let home = self._dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = support::command("poc-runner");
        cmd.arg("verify")
            .arg(&self.out)
            .args(args)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("POC_TRUSTED_SIGNERS");
        if let Some(p) = env {
            cmd.env("POC_TRUSTED_SIGNERS", p);
        }
        run(&mut cmd)
    }

    /// Rewrites the JSON with `edit` and signs it again with `key`.
    fn re_sign(&self, key: &ssh_key::PrivateKey, edit: impl Fn(&mut result::PocResult)) {
        let mut doc: result::PocResult =
            serde_json::from_slice(&std::fs::read(self.json_path()).unwrap()).unwrap();
        edit(&mut doc);
        let mut json = serde_json::to_vec_pretty(&doc).unwrap();
        json.push(b'\n');
        let signature = key
            .sign(result::NAMESPACE, ssh_key::HashAlg::Sha512, &json)
            .unwrap()
            .to_pem(ssh_key::LineEnding::LF)
            .unwrap();
        std::fs::write(self.json_path(), &json).unwrap();
        std::fs::write(self.out.join(result::SIG_FILE), signature).unwrap();
    }
}

fn ssh_keygen_present() {
    let o = Command::new("ssh-keygen").arg("-?").output();
    assert!(
        o.is_ok(),
        "ssh-keygen (OpenSSH >= 8.1) is needed: apt-get install openssh-client"
    );
}

#[test]
fn untouched_result_passes_both_verifiers_and_every_flipped_byte_fails_both() {
    ssh_keygen_present();
    let s = signed_result();
    let names: Vec<_> = std::fs::read_dir(&s.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for f in [
        result::JSON_FILE,
        result::HTML_FILE,
        result::JUNIT_FILE,
        result::SIG_FILE,
    ] {
        assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
    }
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("verified"), "{}", text(&o));
    let o = s.ssh_verify();
    assert!(
        o.status.success(),
        "ssh-keygen rejects the untouched result: {}",
        text(&o)
    );
    // Without a trust anchor: consistent, but the signer is not trusted (exit 5).
    let o = s.verify_with(&[], None);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("internally consistent, but the signer is not trusted"),
        "{}",
        text(&o)
    );
    // The allowed_signers file, given or configured once, is an anchor with the principal.
    let o = s.verify_with(
        &["--allowed-signers".as_ref(), s.allowed_signers.as_os_str()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("signer {IDENTITY} is trusted")),
        "{}",
        text(&o)
    );
    let o = s.verify_with(&[], Some(&s.allowed_signers));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let original = std::fs::read(s.json_path()).unwrap();
    let n = original.len();
    let mut positions: Vec<usize> = (0..40).map(|i| i * n / 40).collect();
    positions.extend([0, n - 1]);
    positions.sort_unstable();
    positions.dedup();
    for &pos in &positions {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x01;
        std::fs::write(s.json_path(), &bytes).unwrap();
        let o = s.poc_verify();
        assert_eq!(
            o.status.code(),
            Some(1),
            "byte {pos}: poc-runner verify must fail: {}",
            text(&o)
        );
        assert!(
            text(&o).contains("FAIL signature"),
            "byte {pos}: {}",
            text(&o)
        );
        let o = s.ssh_verify();
        assert!(
            !o.status.success(),
            "byte {pos}: ssh-keygen accepted a tampered result: {}",
            text(&o)
        );
    }
    std::fs::write(s.json_path(), &original).unwrap();
    assert!(s.poc_verify().status.success());
}

#[test]
fn tampered_html_fails_verify_naming_the_html() {
    let s = signed_result();
    let html = s.out.join(result::HTML_FILE);
    let text_before = std::fs::read_to_string(&html).unwrap();
    assert!(text_before.contains("Kesimpulan: LULUS"));
    std::fs::write(
        &html,
        text_before.replace("Kesimpulan: LULUS", "Kesimpulan: LULUS "),
    )
    .unwrap();
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("FAIL files     {} differs", result::HTML_FILE)),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("verification failed: files"),
        "{}",
        text(&o)
    );
}

/// A forger flips the verdict to LULUS and signs with a key of their own (naming it in the
/// document, as a real result would): no mode of `verify` accepts it unless told to trust
/// that very key.
#[test]
fn forged_lulus_re_signed_with_another_key_fails_every_mode_unless_that_key_is_trusted() {
    ssh_keygen_present();
    let s = signed_result();
    let forger_path = s._dir.path().join("forger");
    result::keygen(&forger_path, IDENTITY).unwrap();
    let forger = result::read_private_key(&forger_path).unwrap();
    let forger_pub = forger.public_key().to_openssh().unwrap();
    s.re_sign(&forger, |d| {
        d.signer.public_key = forger_pub.clone();
        d.signer.fingerprint = forger
            .public_key()
            .fingerprint(ssh_key::HashAlg::Sha256)
            .to_string();
        d.application.name = "Aplikasi Palsu".into();
    });
    let pub_key = s.pub_key();
    // The assessor's key, the allowed_signers file, and the same file configured once.
    for (name, o) in [
        (
            "--public-key",
            s.verify_with(&["--public-key".as_ref(), pub_key.as_os_str()], None),
        ),
        (
            "--allowed-signers",
            s.verify_with(
                &["--allowed-signers".as_ref(), s.allowed_signers.as_os_str()],
                None,
            ),
        ),
        (
            "POC_TRUSTED_SIGNERS",
            s.verify_with(&[], Some(&s.allowed_signers)),
        ),
    ] {
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(text(&o).contains("FAIL trust"), "{name}: {}", text(&o));
        assert!(
            text(&o).contains("not among the keys trusted"),
            "{name}: {}",
            text(&o)
        );
    }
    // No anchor at all: never exit 0.
    let o = s.verify_with(&[], None);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        !s.ssh_verify().status.success(),
        "ssh-keygen must reject the forger too"
    );
    // Only when the forger's key is explicitly trusted does it verify.
    let forger_pub_path = PathBuf::from(format!("{}.pub", forger_path.display()));
    let o = s.verify_with(
        &["--public-key".as_ref(), forger_pub_path.as_os_str()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // An allowed_signers line for the right key but another principal is refused.
    let s2 = signed_result();
    let other = s2._dir.path().join("other_signers");
    let line = std::fs::read_to_string(&s2.allowed_signers)
        .unwrap()
        .replace(IDENTITY, "someone-else@example");
    std::fs::write(&other, line).unwrap();
    let o = s2.verify_with(&["--allowed-signers".as_ref(), other.as_os_str()], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("not as principal `{IDENTITY}`")),
        "{}",
        text(&o)
    );
}

/// Every file of the directory is bound: an edited JUnit file, a removed one and an added one
/// each fail and are named; `sha256sum -c` over the signed list agrees.
#[test]
fn changed_missing_or_added_files_fail_verify_and_are_named() {
    let s = signed_result();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.json_path()).unwrap()).unwrap();
    // The signed list in `sha256sum` form checks with coreutils alone.
    let list: String = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}  {}\n",
                f["sha256"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(list.contains(result::JUNIT_FILE), "{list}");
    let sums = s._dir.path().join("SHA256SUMS");
    std::fs::write(&sums, &list).unwrap();
    let check = |expect_ok: bool| {
        let o = run(Command::new("sha256sum")
            .arg("-c")
            .arg(&sums)
            .current_dir(&s.out));
        assert_eq!(o.status.success(), expect_ok, "{}", text(&o));
    };
    check(true);

    let junit = s.out.join(result::JUNIT_FILE);
    let before = std::fs::read_to_string(&junit).unwrap();
    std::fs::write(&junit, before.replace("failures=\"0\"", "failures=\"0\" ")).unwrap();
    check(false);
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("FAIL files     {} differs", result::JUNIT_FILE)),
        "{}",
        text(&o)
    );
    std::fs::remove_file(&junit).unwrap();
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{} is missing", result::JUNIT_FILE)),
        "{}",
        text(&o)
    );
    std::fs::write(&junit, &before).unwrap();
    assert_eq!(s.poc_verify().status.code(), Some(0));

    std::fs::create_dir_all(s.out.join("logs")).unwrap();
    std::fs::write(s.out.join("logs/app.log"), "added later").unwrap();
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("logs/app.log is not bound by the signed document"),
        "{}",
        text(&o)
    );
}

#[test]
fn tampered_journal_row_breaks_the_chain_even_when_re_signed() {
    let s = signed_result();
    // Someone with the key rewrites a row (the operator of a lookup) and signs again.
    let private = result::read_private_key(&s.key).unwrap();
    s.re_sign(&private, |doc| {
        doc.journal.rows[2].operator = Some("petugas.igd02".into());
    });
    assert!(
        s.ssh_verify().status.success(),
        "the re-signed JSON itself is validly signed"
    );
    let o = s.poc_verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("FAIL journal   hash chain broken at journal row 2"),
        "{}",
        text(&o)
    );
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Copies the shipped pack and catalogue into `dir`, with `edit` applied to the pack.
fn pack_with(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    std::fs::copy(
        scenarios_dir().join("requirements.toml"),
        dir.join("requirements.toml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(scenarios_dir().join("standard-web-service.toml")).unwrap();
    let path = dir.join("pack.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn target_with(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(scenarios_dir().join("targets/example.toml")).unwrap();
    let path = dir.join("target.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn poc_run(scenario: &Path, target: &Path, out: &Path) -> Output {
    run(support::command("poc-runner")
        .arg("run")
        .arg("--scenario")
        .arg(scenario)
        .arg("--target")
        .arg(target)
        .arg("--out")
        .arg(out))
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text[..text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {}", path.display()))]
        .matches('\n')
        .count()
        + 1
}

#[test]
fn run_refuses_files_with_mistakes_with_path_line_column_key_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let scenario = pack_with(dir.path(), |t| {
        t.replacen(
            "requirement = \"R-USER-ID\"",
            "requirement = \"R-USERID\"",
            1,
        )
        .replacen(
            "nik_ref = \"b\" } },\n]\nchecks = [{ user_id",
            "nik_ref = \"zz\" } },\n]\nchecks = [{ user_id",
            1,
        )
    });
    let target = target_with(dir.path(), |t| {
        t.replacen("timeout_ms = 10000", "timeout_ms = \"sepuluh detik\"", 1)
    });
    let o = poc_run(&scenario, &target, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let req_line = line_of(&scenario, "R-USERID");
    let nik_line = line_of(&scenario, "\"zz\"");
    let timeout_line = line_of(&target, "sepuluh");
    assert!(
        err.contains(&format!(
            "{}:{req_line}:15: key `groups.tests.requirement`: expected a requirement id",
            scenario.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:{nik_line}:", scenario.display()))
            && err.contains("key `nik_ref`: expected a resident ref"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:{timeout_line}:14: key `driver.http.timeout_ms`: ",
            target.display()
        )),
        "{err}"
    );
    assert!(
        !out.exists(),
        "nothing may be written for files with mistakes"
    );

    // A shape mistake in the pack: an unknown step kind.
    let scenario = pack_with(dir.path(), |t| {
        t.replacen("{ scan_storage = {} }", "{ scan_disk = {} }", 1)
    });
    let target = target_with(dir.path(), |t| t);
    let o = poc_run(&scenario, &target, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains(&format!(
            "{}:{}:",
            scenario.display(),
            line_of(&scenario, "scan_disk")
        )),
        "{err}"
    );
    assert!(
        err.contains("unknown variant `scan_disk`, expected one of"),
        "{err}"
    );
}

#[test]
fn run_with_valid_files_refuses_a_non_empty_out_dir_before_starting_anything() {
    // Valid files pass validation; the occupied output directory is refused before any mock or
    // application is started (the whole session is in poc_session.rs).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("earlier.txt"), "x").unwrap();
    let o = poc_run(
        &scenarios_dir().join("standard-web-service.toml"),
        &scenarios_dir().join("targets/example.toml"),
        &out,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("out"), "{}", text(&o));
    assert!(!text(&o).contains("listening"), "{}", text(&o));
    let o = run(support::command("poc-runner")
        .args(["run", "--scenario", "/nonexistent/pack.toml", "--target"])
        .arg(scenarios_dir().join("targets/example.toml")));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("/nonexistent/pack.toml: cannot read file"),
        "{}",
        text(&o)
    );
    let o = run(support::command("poc-runner")
        .args(["verify"])
        .arg(dir.path().join("missing")));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// The letter cites only the documents of the agreement under test: a session for RSUD
/// Karanganyar never cites the Purbalingga Juknis, a Purbalingga one never the RSUD Juknis.
/// A test with two checks is listed once.
#[test]
fn letter_cites_only_the_agreement_under_test_and_lists_each_test_once() {
    let catalogue = result_catalogue();
    let key = poc_runner::example::fixed_key();
    let letter = |agreement: &str, lang: Lang| {
        let mut session = poc_runner::example::session(false);
        let a = dukcapil_domain::Agreement::embedded()
            .into_iter()
            .find(|a| a.id == agreement)
            .unwrap();
        session.agreement = result::AgreementInfo::of(&a);
        // A second check of the same test.
        let mut second = session.checks[0].clone();
        second.check = "no_unasked_requests".into();
        session.checks.insert(1, second);
        let d = result::build_documents(&session, &key, lang, "0", Some(&catalogue)).unwrap();
        (session.checks[0].clone(), d.html)
    };
    for lang in [Lang::Id, Lang::En] {
        let (first, rsud) = letter("rsud-karanganyar", lang);
        assert!(rsud.contains("Juknis RSUD 2.p"), "the RSUD Juknis is cited");
        assert!(
            !rsud.contains("Purbalingga"),
            "an RSUD letter cites Purbalingga"
        );
        let title = match lang {
            Lang::Id => &first.title_id,
            Lang::En => &first.title_en,
        };
        assert_eq!(
            rsud.matches(title.as_str()).count(),
            1,
            "{title} listed more than once"
        );
        assert_eq!(rsud.matches(&format!(">{}<", first.test_id)).count(), 1);

        let (_, purbalingga) = letter("dinkes-purbalingga", lang);
        assert!(purbalingga.contains("Juknis Purbalingga II.E.1"));
        assert!(
            !purbalingga.contains("Juknis RSUD"),
            "a Purbalingga letter cites the RSUD Juknis"
        );
        assert!(
            !purbalingga.contains("PKS RSUD"),
            "a Purbalingga letter cites the RSUD PKS"
        );
    }
}

fn result_catalogue() -> poc_runner::Requirements {
    poc_runner::Requirements::load(&scenarios_dir().join("requirements.toml")).unwrap()
}

/// Re-PoC: `poc-runner diff` over two real sessions of the reference application, compliant and
/// then with a defect switched on (User_ID left out), names the checks whose outcome changed and
/// the behaviour that changed at the mock, in Indonesian, English and JSON.
#[test]
fn diff_of_a_compliant_and_a_defective_session_names_changed_checks_and_behaviour() {
    let old = std::thread::spawn(|| crate::poc_session::session(""));
    let new = crate::poc_session::session("no-user-id");
    let old = old.join().unwrap();
    assert_eq!(old.code(), 0, "{}", old.text());
    assert_eq!(new.code(), 1, "{}", new.text());
    // Both results are signed by their own session key: trust both, as the assessor would.
    let allowed = new.dir.path().join("both_signers");
    let line = |s: &crate::poc_session::Session| {
        let k = std::fs::read_to_string(format!("{}.pub", s.key().display())).unwrap();
        format!("* namespaces=\"dukcapil-poc\" {}\n", k.trim())
    };
    std::fs::write(&allowed, line(&old) + &line(&new)).unwrap();
    let diff = |extra: &[&str]| {
        run(support::command("poc-runner")
            .arg("diff")
            .arg(old.out_dir())
            .arg(new.out_dir())
            .arg("--allowed-signers")
            .arg(&allowed)
            .args(extra))
    };
    let o = diff(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id = text(&o);
    assert!(id.contains("Pemeriksaan yang hasilnya berubah:"), "{id}");
    assert!(
        id.contains("T-USER-ID-01 user_id_propagation: Lulus → Gagal"),
        "{id}"
    );
    assert!(id.contains("Operator (User_ID) pada pencarian:"), "{id}");
    assert!(id.contains("baru: (tanpa User_ID / no User_ID)"), "{id}");
    let o = diff(&["--lang", "en"]);
    let en = text(&o);
    assert!(en.contains("Checks whose outcome changed:"), "{en}");
    assert!(en.contains("Operators (User_ID) on lookups:"), "{en}");
    let o = diff(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changed: Vec<String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["test_id"].as_str().unwrap(),
                c["check"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        changed.contains(&"T-USER-ID-01/user_id_propagation".to_string()),
        "{changed:?}"
    );
    assert!(
        v["behaviour"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["aspect"] == "operators"),
        "{v}"
    );
    // A tampered result is not compared.
    let junit = new.out_dir().join(result::JUNIT_FILE);
    std::fs::write(&junit, "edited").unwrap();
    let o = diff(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nothing compared"), "{}", text(&o));
}
