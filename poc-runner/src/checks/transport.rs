//! *Transport faults* (the `outcome_handling` check with `transport_faults`): each faulted
//! lookup gets a clean answer from the application (no hang, no 5xx of its own), retries stay
//! bounded, and a lookup afterwards still works.

use super::{Check, CheckOutcome, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::Observation;

/// The scenario's `outcome_handling` check when it names transport faults.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) max_retries: u32,
}

impl Check for Transport {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn unexercised(&self, obs: &Observation<'_>, _rows: &[JournalRow]) -> Option<Evidence> {
        (!obs.faults_supported).then(|| {
            ev!(
                "mock tidak mendukung injeksi gangguan: gangguan jaringan tidak diuji",
                "the mock has no fault injection: transport faults were not exercised"
            )
        })
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let max_retries = self.max_retries;
        let mut problems = Vec::new();
        let mut exercised = 0;
        for l in &obs.lookups {
            let a = &obs.actions[l.action];
            let sent = rows
                .iter()
                .filter(|r| r.is_lookup() && r.nik_raw == l.nik && a.covers(r, obs.slack_ms))
                .count();
            let Some(f) = l.fault else {
                continue;
            };
            exercised += 1;
            let name = format!("{f:?}").to_lowercase();
            match l.answer.status {
                None => problems.push(ev!(lang =>
                    "{name}: aplikasi tidak memberi jawaban ({})",
                    "{name}: the application gave no answer ({})",
                    l.answer.explain().text(lang)
                )),
                Some(s) if s >= 500 => problems.push(ev!(
                    "{name}: aplikasi gagal dengan HTTP {s}, bukan menampilkan pesan yang jelas",
                    "{name}: the application failed with HTTP {s} instead of a clear message"
                )),
                _ => {}
            }
            if sent > 1 + max_retries as usize {
                problems.push(ev!(
                    "{name}: {sent} permintaan untuk satu pencarian (paling banyak {} diizinkan)",
                    "{name}: {sent} requests for one lookup (at most {} allowed)",
                    1 + max_retries
                ));
            }
        }
        if let Some(last) = obs.lookups.last() {
            if last.fault.is_none() && !last.presented {
                problems.push(ev!(lang =>
                    "setelah gangguan, aplikasi tidak lagi melayani pencarian ({})",
                    "after the faults the application no longer serves lookups ({})",
                    last.answer.explain().text(lang)
                ));
            }
        }
        if exercised == 0 {
            return Evaluation::not_exercised(ev!(
                "tidak ada gangguan jaringan yang diuji",
                "no transport fault was exercised"
            ));
        }
        if problems.is_empty() {
            Evaluation {
                outcome: CheckOutcome::Pass,
                evidence: vec![ev!(
                    "{exercised} gangguan jaringan ditangani dengan baik, percobaan ulang terbatas; aplikasi tetap melayani",
                    "{exercised} transport fault(s) handled cleanly with bounded retries; the application kept serving"
                )],
            }
        } else {
            Evaluation {
                outcome: CheckOutcome::Fail,
                evidence: problems,
            }
        }
    }
}
