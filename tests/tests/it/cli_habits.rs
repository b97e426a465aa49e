//! Habits of the ecosystem, from the shipped binaries: shell completions and man pages are
//! generated; `--help` lists the values of enumerated options; JSON logs; no colour codes in
//! piped output.

use crate::support::command;

fn output(prog: &str, args: &[&str]) -> (bool, String, String) {
    let out = command(prog).args(args).output().expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_and_man_pages_are_generated_for_both_programs() {
    for (prog, subcommands) in [
        (
            "mock-server",
            &["serve", "fixtures", "residents", "completions", "man"][..],
        ),
        (
            "poc-runner",
            &[
                "run",
                "demo",
                "verify",
                "diff",
                "keygen",
                "completions",
                "man",
            ][..],
        ),
    ] {
        for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let (ok, script, err) = output(prog, &["completions", shell]);
            assert!(ok, "{prog} completions {shell}: {err}");
            for sub in subcommands {
                assert!(
                    script.contains(sub),
                    "{prog} {shell} completion lacks {sub}"
                );
            }
        }
        // The bash script is valid bash.
        let (_, script, _) = output(prog, &["completions", "bash"]);
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("completion.bash");
        std::fs::write(&file, script).unwrap();
        let syntax = std::process::Command::new("bash")
            .arg("-n")
            .arg(&file)
            .status()
            .unwrap();
        assert!(syntax.success(), "{prog}: bash -n failed");

        let (ok, page, err) = output(prog, &["man"]);
        assert!(ok, "{err}");
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
        let dir = tmp.path().join("man");
        let (ok, _, err) = output(prog, &["man", "--out", dir.to_str().unwrap()]);
        assert!(ok, "{err}");
        for sub in subcommands {
            let page = std::fs::read_to_string(dir.join(format!("{prog}-{sub}.1")))
                .unwrap_or_else(|e| panic!("{prog}-{sub}.1: {e}"));
            assert!(page.contains(".TH"), "{prog}-{sub}.1");
        }
        assert!(dir.join(format!("{prog}.1")).is_file());
    }
    // An enumerated option lists its values in --help.
    let (_, help, _) = output("mock-server", &["serve", "--help"]);
    for value in ["gateway", "juknis", "DD.MM.YYYY", "string"] {
        assert!(help.contains(value), "serve --help lacks {value}");
    }
    let (_, help, _) = output("mock-server", &["fixtures", "--help"]);
    assert!(
        !help.contains("--listen") && !help.contains("--tls"),
        "{help}"
    );
}

#[test]
fn logs_are_json_on_request_and_never_coloured_into_a_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let dir = dir.to_str().unwrap();
    let (ok, _, err) = output(
        "mock-server",
        &[
            "residents",
            "--population",
            "300",
            "--limit",
            "1",
            "--data-dir",
            dir,
        ],
    );
    assert!(ok, "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr: {err:?}"
    );
    // A pipe gets a line instead of the terminal's progress bar.
    assert!(err.contains("generating 300 residents"), "{err}");
    let (ok, _, err) = output(
        "mock-server",
        &[
            "residents",
            "--population",
            "301",
            "--limit",
            "1",
            "--log-format",
            "json",
            "--data-dir",
            dir,
        ],
    );
    assert!(ok, "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("generating"))
        .expect("a log line");
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(v["level"], "INFO", "{v}");
}

#[test]
fn keys_are_written_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("keys/assessor");
    let (ok, _, err) = output("poc-runner", &["keygen", "--out", key.to_str().unwrap()]);
    assert!(ok, "{err}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

/// Mistakes a new user makes get their cause once, in words, with a hint where one helps.
#[test]
fn errors_say_the_cause_once_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mock-data");
    std::fs::write(&file, "").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        &["serve", "--data-dir", f][..],
        &["residents", "--data-dir", f],
        &["fixtures", "--data-dir", f],
    ] {
        let (ok, _, err) = output("mock-server", args);
        assert!(!ok);
        assert!(
            err.contains("is a file, not a directory"),
            "{args:?}: {err}"
        );
        assert_eq!(err.matches(f).count(), 1, "{err}");
        assert!(!err.contains("os error"), "{err}");
    }
    let missing = tmp.path().join("nope.toml");
    let (_, _, err) = output(
        "mock-server",
        &["serve", "--config", missing.to_str().unwrap()],
    );
    assert_eq!(
        err.trim(),
        format!(
            "mock-server: cannot read settings file {}: no such file or directory",
            missing.display()
        )
    );
    let settings = tmp.path().join("mock.toml");
    std::fs::write(&settings, "[institutions.rsud_331]\nactive = false\n").unwrap();
    let (ok, _, err) = output(
        "mock-server",
        &[
            "fixtures",
            "--config",
            settings.to_str().unwrap(),
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(err.contains("did you mean `rsud_3313`?"), "{err}");
    let (_, _, err) = output("mock-server", &["serve", "--listen", "localhost:8000"]);
    assert!(err.contains("--listen 127.0.0.1:8000"), "{err}");
    // A typo of an agreement in a target file, of a pack's name.
    let target = tmp.path().join("t.toml");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/targets/example.toml");
    std::fs::write(
        &target,
        std::fs::read_to_string(example).unwrap().replace(
            "agreement = \"rsud-karanganyar\"",
            "agreement = \"rsud-karanganyr\"",
        ),
    )
    .unwrap();
    let (_, _, err) = output("poc-runner", &["run", "--target", target.to_str().unwrap()]);
    assert!(err.contains("did you mean `rsud-karanganyar`?"), "{err}");
    let (_, _, err) = output(
        "poc-runner",
        &[
            "run",
            "--scenario",
            "standard-web-servce",
            "--target",
            target.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("did you mean `standard-web-service`?"),
        "{err}"
    );
}

/// The example settings file in fixtures/ starts a mock with its fault rule and institution.
#[test]
fn the_example_settings_file_starts_a_mock() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = root.join("fixtures/settings/mock.example.toml");
    let agreements = root.join("fixtures/agreements");
    let s = crate::support::MockServer::start(&[
        "--config",
        config.to_str().unwrap(),
        "--agreements",
        agreements.to_str().unwrap(),
    ]);
    let (status, faults) = s.admin("GET", "/__admin/faults", None);
    assert_eq!(status, 200, "{faults}");
    let faults = faults.to_string();
    assert!(
        faults.contains("call_nik") && faults.contains("502"),
        "{faults}"
    );
    let (_, institutions) = s.admin("GET", "/__admin/institutions", None);
    let text = institutions.to_string();
    assert!(text.contains("\"quota_per_day\":500"), "{text}");
}

/// A data directory its user cannot write to says "permission denied", once. Root writes
/// anywhere, so as root (CI) the program runs as `nobody` through `su`; where that cannot run
/// the binary, the test says so and checks nothing.
#[test]
fn an_unwritable_data_dir_says_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let bin = crate::support::bin("mock-server");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let script = format!(
        "{} residents --population 100 --data-dir {}",
        bin.display(),
        ro.display()
    );
    let out = if is_root {
        let can = std::process::Command::new("su")
            .args(["nobody", "-s", "/bin/sh", "-c"])
            .arg(format!("test -x {}", bin.display()))
            .status()
            .is_ok_and(|s| s.success());
        if !can {
            eprintln!("SKIPPED: `nobody` cannot run {} here", bin.display());
            return;
        }
        std::process::Command::new("su")
            .args(["nobody", "-s", "/bin/sh", "-c", &script])
            .output()
            .unwrap()
    } else {
        std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap()
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "mock-server: data directory {} is not writable: permission denied",
            ro.display()
        )
    );
}
