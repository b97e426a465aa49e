//! *Outcome handling*: business outcomes (not found, deceased, refused, ...) are told to the
//! operator, never shown as data.

use std::collections::BTreeSet;

use dukcapil_domain::{Catalogue, Outcome};

use crate::scenario::ResidentState;

use super::{Check, CheckOutcome, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::{CapturedOutput, Observation};

/// What the application did with one business outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OutcomeObservation {
    pub outcome: Outcome,
    /// The target's recogniser said the answer presents a resident.
    pub presented_resident: bool,
    pub screen: CapturedOutput,
}

/// *Outcome handling*, business part: never present a non-found outcome as data; tell the
/// operator. A screen that neither presents data nor carries the gateway's text needs a person.
pub(super) fn outcome_handling(observations: &[OutcomeObservation]) -> Evaluation {
    let mut problems = Vec::new();
    let mut review = Vec::new();
    for o in observations {
        let code = o.outcome.code();
        if o.outcome != Outcome::Found && o.presented_resident {
            problems.push(ev!(lang =>
                "{code}: {} menampilkan jawaban ini sebagai data ditemukan",
                "{code}: {} presents the answer as found data",
                o.screen.label.text(lang)
            ));
            continue;
        }
        let shown = o.screen.text.to_lowercase();
        let told = [Catalogue::Gateway, Catalogue::Juknis]
            .iter()
            .any(|c| shown.contains(&o.outcome.text(*c).to_lowercase()));
        if o.outcome != Outcome::Found && !told {
            review.push(ev!(lang =>
                "{code}: {} tidak memuat teks dari gateway; pastikan operator diberi tahu",
                "{code}: {} does not carry the gateway's text; confirm the operator is told",
                o.screen.label.text(lang)
            ));
        }
    }
    if observations.is_empty() {
        return Evaluation::not_exercised(ev!(
            "tidak ada kode respons yang diuji",
            "no outcome was exercised"
        ));
    }
    if problems.is_empty() && !review.is_empty() {
        return Evaluation::new(CheckOutcome::NeedsReview, review);
    }
    problems.extend(review);
    Evaluation::judge(
        problems,
        ev!(
            "{} kode respons ditangani tanpa menampilkan data",
            "{} outcomes handled without presenting data",
            observations.len()
        ),
    )
}

/// The scenario's `outcome_handling` check without transport faults (those are
/// [`super::transport::Transport`]).
#[derive(Debug)]
pub(crate) struct OutcomeHandling {
    /// The outcome codes the test is written to provoke: each must have been seen.
    pub(crate) outcomes: Vec<String>,
}

/// The listed outcome codes that no lookup of the test got. A malformed NIK the application
/// refused itself never reaches the gateway: its `15` is not owed then.
pub(super) fn missing_outcomes(
    listed: &[String],
    seen: &BTreeSet<&str>,
    refused_malformed_itself: bool,
) -> Vec<String> {
    listed
        .iter()
        .filter(|c| !seen.contains(c.as_str()))
        .filter(|c| !(refused_malformed_itself && c.as_str() == Outcome::BadNikFormat.code()))
        .cloned()
        .collect()
}

impl Check for OutcomeHandling {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let mut seen = Vec::new();
        let mut refused_malformed_itself = false;
        for l in &obs.lookups {
            let a = &obs.actions[l.action];
            let row = rows
                .iter()
                .find(|r| r.is_lookup() && r.nik_raw == l.nik && a.covers(r, obs.slack_ms));
            if row.is_none()
                && obs
                    .residents
                    .values()
                    .any(|c| c.nik == l.nik && c.state == ResidentState::Malformed)
            {
                refused_malformed_itself = true;
            }
            let Some(outcome) = row.and_then(|r| r.outcome.parse::<Outcome>().ok()) else {
                continue;
            };
            seen.push(OutcomeObservation {
                outcome,
                presented_resident: l.presented,
                // The whole answer: the message is outside what `extract` keeps.
                screen: CapturedOutput {
                    label: obs.outputs[l.output].label.clone(),
                    text: l.answer.body.clone(),
                    elements: None,
                },
            });
        }
        let codes: BTreeSet<&str> = seen.iter().map(|o| o.outcome.code()).collect();
        let missing = missing_outcomes(&self.outcomes, &codes, refused_malformed_itself);
        let mut e = outcome_handling(&seen);
        if missing.is_empty() {
            return e;
        }
        let list = missing.join(", ");
        let note = ev!(
            "kode respons {list} tidak pernah sampai ke aplikasi dalam pengujian ini (tidak teruji)",
            "outcome(s) {list} never reached the application in this test (not exercised)"
        );
        if e.outcome == CheckOutcome::Pass {
            // What was handled stays in the evidence; the verdict cannot rest on outcomes unseen.
            e.evidence.insert(0, note);
            e.outcome = CheckOutcome::NotExercised;
        } else {
            e.evidence.push(note);
        }
        e
    }
}
