//! `poc-runner` result documents end to end: a key made by `poc-runner keygen`, a result written
//! by the library, then checked by `poc-runner verify` and by plain `ssh-keygen -Y verify`;
//! tampering with any byte, the HTML or a journal row must be caught. Also: scenario and target
//! files with mistakes are refused by `poc-runner run` with `PATH:LINE:COLUMN` errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use poc_runner::result;
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
    let docs = result::build_documents(
        &poc_runner::example::session(true),
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
    // Without --public-key the document's own key is used, and the report says so.
    let o = run(support::command("poc-runner").arg("verify").arg(&s.out));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("the key recorded in the document"),
        "{}",
        text(&o)
    );

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
    assert!(text(&o).contains("FAIL html"), "{}", text(&o));
    assert!(
        text(&o).contains("verification failed: html"),
        "{}",
        text(&o)
    );
}

#[test]
fn tampered_journal_row_breaks_the_chain_even_when_re_signed() {
    let s = signed_result();
    // Someone with the key rewrites a row (the operator of a lookup) and signs again.
    let mut doc: result::PocResult =
        serde_json::from_slice(&std::fs::read(s.json_path()).unwrap()).unwrap();
    doc.journal.rows[2].operator = Some("petugas.igd02".into());
    let mut json = serde_json::to_vec_pretty(&doc).unwrap();
    json.push(b'\n');
    let private = result::read_private_key(&s.key).unwrap();
    let signature = private
        .sign(result::NAMESPACE, ssh_key::HashAlg::Sha512, &json)
        .unwrap()
        .to_pem(ssh_key::LineEnding::LF)
        .unwrap();
    std::fs::write(s.json_path(), &json).unwrap();
    std::fs::write(s.out.join(result::SIG_FILE), signature).unwrap();
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
