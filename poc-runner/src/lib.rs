//! `poc-runner`: plays PoC scenarios against an agency application, judges the agreement's rules
//! on what reached the mock gateway, and writes a signed result that any official can verify.
//!
//! The program is [`run`] (its `main` is one call). As a library it offers what the tests and
//! agency tooling need: loading scenario packs and target files ([`ScenarioPack`], [`Target`]),
//! playing a session ([`play`], [`play_reporting`] with a [`Reporter`]), the check evaluators
//! over recorded journals ([`no_sequential_lookups`], ...), and the signed result documents
//! ([`build_documents`], [`write_documents`], [`verify`](PocResult)).
//!
//! Inside, each module knows one job: `scenario` and `target` (the files), `session` (process
//! start-up, the drivers, the step interpreter, events), `observed` (what one test produced),
//! `checks` (one file per check kind behind one trait), `result` (documents, signature, trust,
//! the letter), `mock` (the typed admin client of the mock), `cli`.

mod canary;
mod checks;
mod cli;
mod embedded;
mod error;
mod evidence;
#[cfg(any(test, feature = "test-support"))]
pub mod example;
mod file_error;
mod journal;
mod mock;
mod observed;
pub mod portal_script;
mod process;
mod result;
mod scenario;
mod session;
mod shown;
mod storage;
mod target;

pub use checks::{
    lookup_events, no_sequential_lookups, CapturedOutput, CheckOutcome, CheckResult, Evaluation,
    Verdict,
};
pub use cli::{run, ExitCode, DEMO_TARGET};
pub use error::SessionError;
pub use evidence::{wib_date, Evidence};
pub use journal::JournalRow;
pub use result::office::{date as letter_date, OfficeInfo, OfficeProfile};
pub use result::{
    build_documents, keygen, read_private_key, write_documents, AgreementInfo, Documents,
    PocResult, SessionRecord, HTML_FILE, JSON_FILE, JUNIT_FILE, NAMESPACE, SIG_FILE,
};
pub use scenario::{Requirements, ScenarioPack};
pub use session::{
    convert_row, play, play_reporting, Options, Played, Reporter, SessionEvent, Silent,
};
pub use storage::StorageLocation;
pub use target::{Capture, Driver, Method, Recogniser, RequestTemplate, Target};

use serde::{Deserialize, Serialize};

/// Language of the result letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bahasa Indonesia (default).
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language's code in file names and the JSON (`id`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

#[cfg(test)]
mod robustness;
