//! *Nothing copied* from the Web Portal (digest rule 5): what the portal showed is not typed,
//! pasted or photographed into the agency's own systems. The assessor's observation (manual
//! driver, `observe_copy`) and the storage scan of the agency's files the target declares
//! (`scan_storage`); neither at hand is "not exercised", never a pass.

use super::non_retention::non_retention;
use super::{portal_searches_missing, Check, CheckOutcome, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::Observation;

/// The scenario's `portal_no_copy` check.
#[derive(Debug)]
pub(crate) struct PortalNoCopy;

impl Check for PortalNoCopy {
    fn unexercised(&self, obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
        portal_searches_missing(obs, rows)
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        _rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let assessor = obs.portal.copied.as_ref().map(|(copied, note)| {
            let note = if note.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", note.trim())
            };
            if *copied {
                ev!(
                    "penguji melihat hasil pencarian portal disalin ke sistem instansi{note}",
                    "the assessor saw portal results copied into the agency's systems{note}"
                )
            } else {
                ev!(
                    "penguji tidak melihat hasil pencarian portal disalin ke sistem instansi{note}",
                    "the assessor saw no portal result copied into the agency's systems{note}"
                )
            }
        });
        if let Some((true, _)) = &obs.portal.copied {
            return Evaluation::new(CheckOutcome::Fail, assessor.into_iter().collect());
        }
        let scanned = obs
            .scan
            .as_ref()
            .map(|s| non_retention(Some(s), None, None));
        match (scanned, assessor) {
            (Some(e), a) if e.outcome != CheckOutcome::NotExercised => {
                let mut e = e;
                if e.outcome == CheckOutcome::Pass {
                    e.evidence.extend(a);
                }
                e
            }
            (_, Some(a)) => Evaluation::new(CheckOutcome::Pass, vec![a]),
            (Some(e), None) => e,
            (None, None) => Evaluation::not_exercised(ev!(
                "tidak ada pengamatan penguji (driver manual) dan tidak ada pemindaian berkas instansi (langkah scan_storage)",
                "no assessor's observation (manual driver) and no scan of the agency's files (scan_storage step)"
            )),
        }
    }
}
