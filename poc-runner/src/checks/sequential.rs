//! *No sequential or patterned lookups* (digest rule 8).

use dukcapil_domain::detector::{self, DetectorSettings, FindingKind, LookupEvent};

use super::{Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::Observation;

/// The journal's lookups (`CALL_NIK` and verification) as the rule-8 detector reads them, the
/// same rows with the same fields as the mock's `/__admin/detector` view takes from its journal.
pub fn lookup_events(rows: &[JournalRow]) -> Vec<LookupEvent> {
    rows.iter()
        .filter(|r| r.is_lookup() && !r.customer_id.is_empty())
        .map(|r| LookupEvent {
            time: r.time,
            institution: r.customer_id.clone(),
            operator: r.operator.clone(),
            nik: r.nik_raw.trim().to_string(),
        })
        .collect()
}

/// *No sequential or patterned lookups* (digest rule 8): the domain's detector over
/// [`lookup_events`], per institution and operator.
pub fn no_sequential_lookups(rows: &[JournalRow], settings: &DetectorSettings) -> Evaluation {
    let events = lookup_events(rows);
    let findings = detector::detect(&events, settings);
    let problems = findings
        .iter()
        .map(|f| {
            let what = match (f.kind, f.stride) {
                (FindingKind::Sequential, _) => {
                    ev!("{} NIK berurutan", "{} consecutive NIKs", f.count)
                }
                (FindingKind::Patterned, Some(stride)) => ev!(
                    "{} NIK dengan selisih tetap {stride}",
                    "{} NIKs a constant {stride} apart",
                    f.count
                ),
                (FindingKind::Patterned, None) => {
                    ev!("{} NIK berpola", "{} patterned NIKs", f.count)
                }
                (FindingKind::Burst, _) => ev!(
                    "{} permintaan data dalam {} detik",
                    "{} lookups within {} s",
                    f.count,
                    (f.last - f.first).num_milliseconds().max(0) as f64 / 1000.0
                ),
            };
            let who = f.operator.as_deref().unwrap_or("-");
            ev!(
                lang => "{} oleh {}/{}: {}",
                "{} by {}/{}: {}",
                what.text(lang),
                f.institution,
                who,
                f.niks.join(", ")
            )
        })
        .collect();
    Evaluation::judge(
        problems,
        ev!(
            "{} permintaan data, tanpa deret NIK berurutan, berpola, atau beruntun cepat",
            "{} lookups, no sequential, patterned or rapid-fire series",
            events.len()
        ),
    )
}

/// The scenario's `no_sequential_lookups` check.
#[derive(Debug)]
pub(crate) struct NoSequentialLookups {
    pub(crate) detector: DetectorSettings,
}

impl Check for NoSequentialLookups {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn judge(
        &self,
        _obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        no_sequential_lookups(rows, &self.detector)
    }
}
