//! The README's commands, as written, in a fresh clone: every shell block marked
//! `<!-- readme-test: run -->` (and `poc-session`, which `poc_session.rs` plays as its compliant
//! session, so that no second full session is added) runs in a temporary copy of the checkout's
//! tracked files that is its own git repository, and leaves `git status` clean.
//!
//! One translation is made, and only this one: a release build would double CI's time, so
//! `cargo build ...` lines are skipped (CI has just built everything) and
//! `cargo run --release -p X --` and `target/release/X` run the binary `X` that `cargo test`
//! built beside this test (`target/debug/X`). Everything else runs as written, under `bash -e`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shell blocks of `file` that follow the marker `<!-- readme-test: {kind} -->`.
pub(crate) fn marked_blocks(file: &Path, kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("README");
    // On a line of its own (the README also mentions the marker in its text).
    let marker = format!("\n<!-- readme-test: {kind} -->\n");
    let mut blocks = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&marker) {
        rest = &rest[at + marker.len()..];
        let start = rest
            .find("```sh\n")
            .expect("a ```sh block after the marker")
            + 6;
        let end = rest[start..].find("```").expect("closed block") + start;
        blocks.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    blocks
}

/// A fresh clone: the checkout's files that git sees (tracked, or new and not ignored, as they
/// are in the work tree) copied into `repo/` of a temporary directory and committed there as a
/// new repository.
pub(crate) struct FreshClone {
    _tmp: tempfile::TempDir,
    /// The clone's work tree.
    pub path: PathBuf,
}

pub(crate) fn fresh_clone() -> FreshClone {
    let root = root();
    let files = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    assert!(files.status.success(), "{files:?}");
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("repo");
    let dir = path.as_path();
    for name in files.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let (from, to) = (root.join(&name), dir.join(&name));
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=readme",
            "-c",
            "user.email=readme@test",
            "commit",
            "-qm",
            "clone",
        ],
    ] {
        let s = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(s.status.success(), "git {args:?}: {s:?}");
    }
    FreshClone { _tmp: tmp, path }
}

/// The block with the one translation of this module's doc applied.
pub(crate) fn translate(block: &str) -> String {
    let bin_dir = support::bin("mock-server")
        .parent()
        .expect("binary folder")
        .to_path_buf();
    let mut script = String::new();
    // Continuation lines joined, so that a skipped `cargo build` takes its tail with it.
    for line in block.replace("\\\n", " ").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("cargo build") {
            continue;
        }
        let mut line = line.to_string();
        for prog in ["mock-server", "poc-runner", "rsud-app", "puskesmas-app"] {
            // Through a placeholder: the binary's own path ends in target/debug/PROG too.
            let token = format!("\u{1}{prog}\u{1}");
            line = line
                .replace(&format!("cargo run --release -p {prog} --"), &token)
                .replace(&format!("target/release/{prog}"), &token)
                .replace(&format!("target/debug/{prog}"), &token)
                .replace(&token, &bin_dir.join(prog).display().to_string());
        }
        assert!(
            !line.contains("cargo "),
            "untranslated cargo command: {line}"
        );
        script.push_str(&line);
        script.push('\n');
    }
    script
}

/// Runs a translated block in `dir` (a [`FreshClone`]'s path: its log goes beside it) under
/// `bash -e -o pipefail`, within `timeout`.
pub(crate) fn run_block(dir: &Path, block: &str, timeout: Duration) -> String {
    for prog in ["mock-server", "poc-runner", "rsud-app"] {
        support::bin(prog);
    }
    let script = translate(block);
    let log = dir
        .parent()
        .expect("clone's folder")
        .join("readme-block.log");
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .expect("bash");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!(
                "README block timed out after {timeout:?}:\n{script}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "README block failed:\n{script}\n{output}");
    output
}

/// `git status --porcelain` of `dir` is empty: the commands left nothing git would see.
pub(crate) fn assert_clean(dir: &Path) {
    let s = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir)
        .output()
        .expect("git status");
    let text = String::from_utf8_lossy(&s.stdout);
    assert!(
        text.trim().is_empty(),
        "the README's commands left files git sees:\n{text}"
    );
}

#[test]
fn the_readme_commands_run_in_a_fresh_clone_and_leave_it_clean() {
    let clone = fresh_clone();
    let blocks = marked_blocks(&root().join("README.md"), "run");
    assert!(blocks.len() >= 3, "{blocks:?}");
    for block in &blocks {
        run_block(&clone.path, block, Duration::from_secs(60));
    }
    // What they were documented to make.
    assert!(clone
        .path
        .join("mock-data/population-s7-n20000.sqlite")
        .is_file());
    assert!(clone.path.join("man/poc-runner-run.1").is_file());
    assert!(clone.path.join("completions/mock-server.bash").is_file());
    assert_clean(&clone.path);
}
