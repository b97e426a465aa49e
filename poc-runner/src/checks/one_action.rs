//! *One action, one request*: each lookup the operator asks for reaches the mock once.

use super::{masked, Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::{Action, ActionKind, JournalRow};
use crate::observed::Observation;
use crate::scenario::{ResidentState, Step};

/// *One action, one request*: each lookup action reaches the mock exactly once (plus at most
/// `max_retries` repeats when a fault was injected); no lookup happens that no action asked for.
pub(super) fn one_action_one_request(
    rows: &[JournalRow],
    actions: &[Action],
    max_retries: u32,
    slack_ms: i64,
) -> Evaluation {
    let mut problems = Vec::new();
    let lookups: Vec<&JournalRow> = rows.iter().filter(|r| r.is_lookup()).collect();
    let mut claimed = vec![false; lookups.len()];
    for a in actions {
        let ActionKind::Lookup { nik } = &a.kind else {
            continue;
        };
        let mine: Vec<usize> = (0..lookups.len())
            .filter(|&i| lookups[i].nik_raw == *nik && a.covers(lookups[i], slack_ms))
            .collect();
        for &i in &mine {
            claimed[i] = true;
        }
        let allowed = 1 + if a.fault_injected {
            max_retries as usize
        } else {
            0
        };
        let when = a.started.to_rfc3339();
        if mine.is_empty() {
            problems.push(ev!(
                "{when} pencarian {} oleh `{}` tidak mengirim permintaan ke mock",
                "{when} lookup of {} by `{}` sent no request to the mock",
                masked(nik),
                a.operator
            ));
        } else if mine.len() > allowed {
            problems.push(ev!(
                "{when} pencarian {} oleh `{}` mengirim {} permintaan (batas {allowed})",
                "{when} lookup of {} by `{}` sent {} requests (allowed {allowed})",
                masked(nik),
                a.operator,
                mine.len()
            ));
        }
    }
    for (i, row) in lookups.iter().enumerate() {
        if !claimed[i] {
            problems.push(ev!(
                "{} permintaan data {} tanpa ada aksi operator yang memintanya",
                "{} lookup of {} that no operator action asked for",
                row.time.to_rfc3339(),
                masked(&row.nik_raw)
            ));
        }
    }
    let n = actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Lookup { .. }))
        .count();
    let ok = if lookups.len() > n {
        ev!(
            "{n} aksi pencarian, {} permintaan: masing-masing satu, ditambah percobaan ulang dalam batas setelah gangguan yang disuntikkan",
            "{n} lookup actions, {} requests: one each, plus retries within the limit after injected faults",
            lookups.len()
        )
    } else {
        ev!(
            "{n} aksi pencarian, {} permintaan, masing-masing satu",
            "{n} lookup actions, {} requests, one each",
            lookups.len()
        )
    };
    Evaluation::judge(problems, ok)
}

/// The scenario's `one_action_one_request` check.
#[derive(Debug)]
pub(crate) struct OneActionOneRequest {
    pub(crate) max_retries: u32,
}

impl Check for OneActionOneRequest {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        // A malformed NIK a compliant application rejects itself never reaches the mock.
        let actions: Vec<Action> = obs
            .actions
            .iter()
            .filter(|a| {
                let ActionKind::Lookup { nik } = &a.kind else {
                    return true;
                };
                let malformed = obs
                    .residents
                    .values()
                    .any(|c| c.nik == *nik && c.state == ResidentState::Malformed);
                !malformed
                    || rows
                        .iter()
                        .any(|r| r.is_lookup() && r.nik_raw == *nik && a.covers(r, obs.slack_ms))
            })
            .cloned()
            .collect();
        let mut e = one_action_one_request(rows, &actions, self.max_retries, obs.slack_ms);
        let injected = obs
            .test
            .steps
            .iter()
            .any(|s| matches!(s, Step::InjectFault { .. }));
        if !obs.faults_supported && injected && obs.lookups.iter().any(|l| l.fault.is_none()) {
            e.evidence.push(ev!(
                "mock tidak mendukung injeksi gangguan: gangguan tidak disuntikkan",
                "the mock has no fault injection: faults were not injected"
            ));
        }
        e
    }
}
