//! *Transport faults* (the `outcome_handling` check with `transport_faults`): each faulted
//! lookup gets a clean answer from the application (no hang, no 5xx of its own), retries stay
//! bounded, and a lookup afterwards still works.

use super::{Check, CheckOutcome, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::Observation;
use crate::scenario::Fault;

/// Whether a fault injected for a lookup met the application's requests.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reached {
    Yes,
    /// None of the lookup's requests was faulted (it answered from elsewhere, or sent nothing).
    No,
    /// A delay for the time-out test, which the application sat through: it never gave up, so
    /// its time-out handling was not seen.
    WaitedOut,
}

/// Judged from the lookup's own journal rows. The mock journals a delayed request whose client
/// gave up with no outcome (`-`): that is the application's time-out at work.
pub(crate) fn reached(fault: Fault, own: &[&JournalRow]) -> Reached {
    let faulted: Vec<&&JournalRow> = own.iter().filter(|r| r.fault.is_some()).collect();
    if faulted.is_empty() {
        return Reached::No;
    }
    if fault == Fault::Timeout && !faulted.iter().any(|r| r.outcome == "-") {
        return Reached::WaitedOut;
    }
    Reached::Yes
}

/// The scenario's `outcome_handling` check when it names transport faults.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) max_retries: u32,
    /// The faults the test is written to exercise: each must have met a request.
    pub(crate) faults: Vec<Fault>,
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
        let mut notes = Vec::new();
        let mut exercised = 0;
        let mut met: Vec<Fault> = Vec::new();
        for l in &obs.lookups {
            let a = &obs.actions[l.action];
            let own: Vec<&JournalRow> = rows
                .iter()
                .filter(|r| r.is_lookup() && r.nik_raw == l.nik && a.covers(r, obs.slack_ms))
                .collect();
            let sent = own.len();
            let Some(f) = l.fault else {
                continue;
            };
            let name = format!("{f:?}").to_lowercase();
            match reached(f, &own) {
                Reached::Yes => {
                    exercised += 1;
                    met.push(f);
                }
                Reached::No => notes.push(ev!(
                    "{name}: tidak ada permintaan aplikasi yang terkena gangguan ini (tidak teruji)",
                    "{name}: no request of the application met this fault (not exercised)"
                )),
                Reached::WaitedOut => notes.push(ev!(
                    "{name}: aplikasi menunggu sampai penundaan selesai; batas waktunya sendiri tidak teruji (nyatakan `gateway_timeout_ms` di berkas target)",
                    "{name}: the application waited the whole delay out; its own time-out was not exercised (declare `gateway_timeout_ms` in the target file)"
                )),
            }
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
        if !problems.is_empty() {
            problems.extend(notes);
            return Evaluation {
                outcome: CheckOutcome::Fail,
                evidence: problems,
            };
        }
        if exercised == 0 {
            let mut e = Evaluation::not_exercised(ev!(
                "tidak ada gangguan jaringan yang diuji",
                "no transport fault was exercised"
            ));
            e.evidence.extend(notes);
            return e;
        }
        let unmet: Vec<String> = self
            .faults
            .iter()
            .filter(|f| !met.contains(f))
            .map(|f| format!("{f:?}").to_lowercase())
            .collect();
        if !unmet.is_empty() {
            // The verdict cannot rest on the faults that were met alone.
            let list = unmet.join(", ");
            let mut evidence = vec![ev!(
                "gangguan {list} tidak teruji; {exercised} gangguan lain ditangani dengan baik",
                "fault(s) {list} not exercised; {exercised} other fault(s) handled cleanly"
            )];
            evidence.extend(notes);
            return Evaluation::new(CheckOutcome::NotExercised, evidence);
        }
        let mut evidence = vec![ev!(
            "{exercised} gangguan jaringan ditangani dengan baik, percobaan ulang terbatas; aplikasi tetap melayani",
            "{exercised} transport fault(s) handled cleanly with bounded retries; the application kept serving"
        )];
        evidence.extend(notes);
        Evaluation {
            outcome: CheckOutcome::Pass,
            evidence,
        }
    }
}
