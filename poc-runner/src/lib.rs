//! `poc-runner`: plays PoC scenarios against an agency application, judges the agreement's rules
//! on what reached the mock gateway, and writes a signed result that any official can verify.
//!
//! This crate holds the parts that need no running mock: scenario packs and target files
//! ([`scenario`], [`target`]), the check evaluators ([`checks`], [`storage`]; rule 8 uses
//! `dukcapil_domain::detector`, the mock's own detector), and
//! the signed result documents ([`result`]), and the session driver ([`session`]) that plays a
//! pack against a running application and the mock.

pub mod checks;
pub mod cli;
pub mod embedded;
mod error;
pub mod evidence;
pub mod example;
pub mod file_error;
pub mod journal;
mod mock;
pub mod process;
pub mod result;
pub mod scenario;
pub mod session;
mod shown;
pub mod storage;
pub mod target;

pub use cli::{run, ExitCode};
pub use evidence::Evidence;

use serde::{Deserialize, Serialize};

/// Language of the result letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bahasa Indonesia (default).
    #[default]
    Id,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

#[cfg(test)]
mod robustness;
