//! Check outcomes, the verdict, and the check kinds that judge a recorded session.
//!
//! One file per check kind: the pure evaluator over recorded journals and outputs, and the
//! [`Check`] that says what the kind needs from a test ([`Observation`]) and feeds its evaluator.
//! [`check_of`] maps a scenario's [`CheckSpec`] to its kind.
//!
//! A failed check is a value ([`CheckOutcome::Fail`] with evidence), never an `Err`.
//!
//! Verdict precedence: `LULUS` only when at least one check passed, no check failed, none needs
//! review and none went unexercised; any `Fail`, `NeedsReview` or `NotExercised` makes it
//! `TIDAK LULUS`. `Skipped` (the pack says the test does not apply to the agreement) neither
//! blocks nor counts as a pass. A check that saw nothing to judge is `NotExercised`, never a pass.

mod balikan;
pub(crate) mod field_limits;
mod non_retention;
mod one_action;
mod outcome_handling;
mod portal_accounts;
mod portal_balikan;
mod portal_copy;
mod portal_pattern;
mod quota;
mod secret_hygiene;
mod sequential;
pub(crate) mod session_wide;
mod transport;
mod user_id;

use dukcapil_domain::mask_nik;
use serde::{Deserialize, Serialize};

use crate::evidence::{ev, Evidence};
use crate::journal::{Action, ActionKind, JournalRow};
use crate::observed::Observation;
use crate::scenario::CheckSpec;

pub use self::sequential::{lookup_events, no_sequential_lookups};
pub use crate::observed::CapturedOutput;

/// How one check of one test came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The rule held on what was exercised.
    Pass,
    /// The rule was broken; the evidence says where.
    Fail,
    /// The pack says the test does not apply to the agreement.
    Skipped,
    /// The runner cannot decide; an engineer must look (the evidence says at what).
    NeedsReview,
    /// What the check needs never happened (no lookup reached the mock, a declared storage
    /// place does not exist, no fault could be injected): nothing was judged.
    NotExercised,
}

impl CheckOutcome {
    /// The outcome's name in the letter (`Lulus`, `Gagal`, ...).
    pub fn label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::*;
        match (self, lang) {
            (CheckOutcome::Pass, Id) => "Lulus",
            (CheckOutcome::Fail, Id) => "Gagal",
            (CheckOutcome::Skipped, Id) => "Dilewati",
            (CheckOutcome::NeedsReview, Id) => "Perlu ditinjau",
            (CheckOutcome::NotExercised, Id) => "Tidak teruji",
            (CheckOutcome::Pass, En) => "Pass",
            (CheckOutcome::Fail, En) => "Fail",
            (CheckOutcome::Skipped, En) => "Skipped",
            (CheckOutcome::NeedsReview, En) => "Needs review",
            (CheckOutcome::NotExercised, En) => "Not exercised",
        }
    }
}

/// What an evaluator concludes: an outcome and the evidence for it (masked NIKs, counts, places),
/// in both languages of the letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// What was concluded.
    pub outcome: CheckOutcome,
    /// Why, line by line.
    pub evidence: Vec<Evidence>,
}

impl Evaluation {
    /// An evaluation with this outcome and evidence.
    pub fn new(outcome: CheckOutcome, evidence: Vec<Evidence>) -> Self {
        Evaluation { outcome, evidence }
    }
    fn pass(evidence: Evidence) -> Self {
        Evaluation::new(CheckOutcome::Pass, vec![evidence])
    }
    /// The test does not apply; `reason` says why.
    pub fn skipped(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::Skipped, vec![reason])
    }
    /// Nothing the check needs happened; `reason` says what was missing.
    pub fn not_exercised(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::NotExercised, vec![reason])
    }
    fn review(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::NeedsReview, vec![reason])
    }
    /// Fail when `problems` is non-empty, else pass with `ok`.
    fn judge(problems: Vec<Evidence>, ok: Evidence) -> Self {
        if problems.is_empty() {
            Evaluation::pass(ok)
        } else {
            Evaluation::new(CheckOutcome::Fail, problems)
        }
    }
}

/// One judged check of one test, as the result document lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The test the check belongs to (`T-FIELD-01`).
    pub test_id: String,
    /// The check kind (`user_id_propagation`, ...).
    pub check: String,
    /// The requirement the test verifies (a key of `requirements.toml`).
    pub requirement: String,
    /// The test's title in Bahasa Indonesia.
    pub title_id: String,
    /// The test's title in English.
    pub title_en: String,
    /// How the check came out.
    pub outcome: CheckOutcome,
    /// Each line in Bahasa Indonesia and English (`{"id": .., "en": ..}` in the JSON).
    pub evidence: Vec<Evidence>,
}

/// The result of a whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Passed: every check passed or does not apply.
    #[serde(rename = "LULUS")]
    Lulus,
    /// Not passed: a check failed, needs review or went unexercised.
    #[serde(rename = "TIDAK LULUS")]
    TidakLulus,
}

impl Verdict {
    /// See the module documentation for the precedence.
    pub fn of(results: &[CheckResult]) -> Verdict {
        let blocked = results.iter().any(|r| {
            matches!(
                r.outcome,
                CheckOutcome::Fail | CheckOutcome::NeedsReview | CheckOutcome::NotExercised
            )
        });
        let passed = results.iter().any(|r| r.outcome == CheckOutcome::Pass);
        if passed && !blocked {
            Verdict::Lulus
        } else {
            Verdict::TidakLulus
        }
    }

    /// The verdict as the letter writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Lulus => "LULUS",
            Verdict::TidakLulus => "TIDAK LULUS",
        }
    }
}

fn masked(nik: &str) -> String {
    mask_nik(nik)
}

/// The action a lookup row answers: same NIK, inside the window.
fn action_of<'a>(row: &JournalRow, actions: &'a [Action], slack_ms: i64) -> Option<&'a Action> {
    actions.iter().find(|a| {
        matches!(&a.kind, ActionKind::Lookup { nik } if *nik == row.nik_raw)
            && a.covers(row, slack_ms)
    })
}

/// One check kind: what it needs from a test, and its judgement of what the test produced.
pub(crate) trait Check: std::fmt::Debug {
    /// The kind judges the test's lookups, so a test with lookup steps must get one to the mock.
    fn judges_lookups(&self) -> bool {
        false
    }

    /// What else the kind needs and did not get; `None` when it can be judged.
    fn unexercised(&self, _obs: &Observation<'_>, _rows: &[JournalRow]) -> Option<Evidence> {
        None
    }

    /// The judgement over the test's journal `rows`; `earlier` holds everything the application
    /// answered in the tests before this one.
    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation;
}

/// The check kind a scenario's check names, with its settings.
pub(crate) fn check_of(spec: &CheckSpec) -> Box<dyn Check> {
    match spec {
        CheckSpec::FieldLimits { edge_values, .. } => Box::new(field_limits::FieldLimits {
            edge_values: *edge_values,
        }),
        CheckSpec::UserIdPropagation {
            min_distinct_operators,
        } => Box::new(user_id::UserIdPropagation {
            min_distinct_operators: *min_distinct_operators,
        }),
        CheckSpec::OneActionOneRequest { max_retries } => {
            Box::new(one_action::OneActionOneRequest {
                max_retries: *max_retries,
            })
        }
        CheckSpec::NonRetention {
            scan_storage,
            fresh_after_change,
            no_data_when_unreachable,
        } => Box::new(non_retention::NonRetention {
            scan_storage: *scan_storage,
            fresh_after_change: *fresh_after_change,
            no_data_when_unreachable: *no_data_when_unreachable,
        }),
        CheckSpec::Balikan {
            within_seconds,
            none_without_lookup,
        } => Box::new(balikan::Balikan {
            within_seconds: *within_seconds,
            none_without_lookup: *none_without_lookup,
        }),
        CheckSpec::OutcomeHandling {
            transport_faults,
            max_retries,
            ..
        } if !transport_faults.is_empty() => Box::new(transport::Transport {
            max_retries: *max_retries,
            faults: transport_faults.clone(),
        }),
        CheckSpec::OutcomeHandling { outcomes, .. } => {
            Box::new(outcome_handling::OutcomeHandling {
                outcomes: outcomes.iter().map(|o| o.get_ref().clone()).collect(),
            })
        }
        CheckSpec::Quota {} => Box::new(quota::Quota),
        CheckSpec::NoSequentialLookups { detector } => Box::new(sequential::NoSequentialLookups {
            detector: detector.unwrap_or_default(),
        }),
        CheckSpec::SecretHygiene {} => Box::new(secret_hygiene::SecretHygiene),
        CheckSpec::PortalOwnAccounts {} => Box::new(portal_accounts::PortalOwnAccounts),
        CheckSpec::PortalSearchPattern { detector } => {
            Box::new(portal_pattern::PortalSearchPattern {
                detector: detector.unwrap_or_default(),
            })
        }
        CheckSpec::PortalBalikan { within_seconds } => Box::new(portal_balikan::PortalBalikan {
            within_seconds: *within_seconds,
        }),
        CheckSpec::PortalNoCopy {} => Box::new(portal_copy::PortalNoCopy),
    }
}

/// Judges `spec` over what a test produced: "not exercised" (saying why) when its needs were
/// not met, else the kind's judgement. The session's notes (what it could not set up) go with
/// every judgement but a failure's, which stands on its own evidence.
pub(crate) fn evaluate(
    spec: &CheckSpec,
    obs: &Observation<'_>,
    rows: &[JournalRow],
    earlier: &[(Evidence, Vec<u8>)],
) -> Evaluation {
    let check = check_of(spec);
    let missing = if check.judges_lookups() {
        lookups_missing(obs, rows)
    } else {
        None
    };
    if let Some(why) = missing.or_else(|| check.unexercised(obs, rows)) {
        let mut e = Evaluation::not_exercised(why);
        e.evidence.extend(obs.notes.iter().cloned());
        return e;
    }
    let mut e = check.judge(obs, rows, earlier);
    if e.outcome == CheckOutcome::Pass {
        e.evidence.extend(obs.notes.iter().cloned());
    }
    e
}

/// A portal check's "not exercised": no search of the Web Portal reached the mock in this test
/// (web-service calls do not count: the portal pack judges what operators did at the portal).
fn portal_searches_missing(obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
    if rows.iter().any(JournalRow::is_portal_search) {
        return None;
    }
    let other = rows.iter().filter(|r| r.is_lookup()).count();
    Some(match &obs.portal.script {
        None => ev!(
            "uji ini tidak memainkan skrip operator Web Portal (langkah play_script), dan tidak ada pencarian portal yang sampai di mock",
            "this test played no Web Portal operator script (play_script step), and no portal search reached the mock"
        ),
        Some(script) => ev!(
            "tidak ada pencarian Web Portal yang sampai di mock selama skrip `{script}` dimainkan ({other} permintaan lain)",
            "no Web Portal search reached the mock while script `{script}` was played ({other} other lookups)"
        ),
    })
}

/// A test that asked the application for lookups, none of which reached the mock.
fn lookups_missing(obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
    // A test without lookup steps asks nothing of the mock's lookups.
    let last = obs.lookups.last()?;
    if rows.iter().any(JournalRow::is_lookup) {
        return None;
    }
    let asked = obs.lookups.len();
    let last = last.answer.explain();
    Some(ev!(lang =>
        "tidak ada pencarian yang sampai di mock selama uji ini ({asked} pencarian diminta dari aplikasi; jawaban terakhir aplikasi: {})",
        "no lookup reached the mock during this test ({asked} asked of the application; its last answer: {})",
        last.text(lang)
    ))
}

#[cfg(test)]
mod tests;
