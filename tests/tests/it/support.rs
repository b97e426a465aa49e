//! Helpers shared by the test modules.

#![allow(dead_code)]

pub mod mock_server;

pub use mock_server::MockServer;

use std::path::PathBuf;
use std::process::Command;

/// Path of a workspace binary (`mock-server`, `poc-runner`, ...), built by `cargo test
/// --workspace` next to this test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        // Running a single test binary without the workspace build: build what is missing.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--bin", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    path
}

/// A command for a workspace binary.
pub fn command(name: &str) -> Command {
    Command::new(bin(name))
}
