//! *Non-retention* (digest rule 5): nothing retrieved is kept; fresh data after a change; no
//! data shown while the gateway is unreachable.

use dukcapil_domain::Field;

use super::{Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::{CapturedOutput, Observation};
use crate::scenario::Fault;
use crate::shown::shows;
use crate::storage;

/// *Non-retention*: no canary found in storage ([`crate::storage::ScanReport`]); optionally a
/// repeated lookup after the mock changed the resident shows the new value, and with the mock
/// unreachable the application shows no resident data.
pub(super) fn non_retention(
    scan: Option<&crate::storage::ScanReport>,
    after_change: Option<(&str, &str, &CapturedOutput)>,
    while_unreachable: Option<(&[String], &CapturedOutput)>,
) -> Evaluation {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if let Some(scan) = scan {
        for hit in &scan.hits {
            // The marker's label already names the canary ("NAMA_LGKP dari canary `r1`").
            problems.push(ev!(lang =>
                "{} tersimpan di {}",
                "canary {} found in {}",
                hit.marker.text(lang),
                hit.place.text(lang)
            ));
        }
        if !scan.errors.is_empty() && scan.hits.is_empty() {
            let mut e = Evaluation::review(ev!(
                "sebagian penyimpanan tidak dapat dipindai",
                "some storage could not be scanned"
            ));
            e.evidence.extend(scan.errors.iter().cloned());
            return e;
        }
        problems.extend(scan.errors.iter().cloned());
        if problems.is_empty() && !scan.absent.is_empty() {
            // A place that is not there proves nothing: the path may be wrong, or the data kept
            // somewhere the target file does not name.
            return Evaluation::not_exercised(ev!(
                "lokasi penyimpanan yang dinyatakan berkas target tidak ada setelah sesi: {}",
                "storage places the target file declares do not exist after the session: {}",
                scan.absent.join(", ")
            ));
        }
        if scan.scanned.is_empty() && scan.hits.is_empty() {
            return Evaluation::not_exercised(ev!(
                "berkas target tidak menyatakan lokasi penyimpanan yang dapat dipindai",
                "the target file declares no storage place to scan"
            ));
        }
        notes.push(ev!(
            "{} lokasi penyimpanan dipindai",
            "{} storage places scanned",
            scan.scanned.len()
        ));
    }
    if let Some((old, new, out)) = after_change {
        if shows(&out.text, old) && !shows(&out.text, new) {
            problems.push(ev!(lang =>
                "{}: menampilkan nilai lama setelah mock mengubahnya (cache)",
                "{}: shows the old value after the mock changed it (cache)",
                out.label.text(lang)
            ));
        } else if !shows(&out.text, new) {
            problems.push(ev!(lang =>
                "{}: nilai baru tidak muncul setelah mock mengubahnya",
                "{}: the new value does not appear after the mock changed it",
                out.label.text(lang)
            ));
        }
    }
    if let Some((values, out)) = while_unreachable {
        let leaked: Vec<&String> = values
            .iter()
            .filter(|v| !v.trim().is_empty() && shows(&out.text, v))
            .collect();
        if !leaked.is_empty() {
            problems.push(ev!(lang =>
                "{}: menampilkan {} nilai data penduduk saat mock tidak dapat dihubungi",
                "{}: shows {} resident value(s) while the mock is unreachable",
                out.label.text(lang),
                leaked.len()
            ));
        }
    }
    if scan.is_none() && after_change.is_none() && while_unreachable.is_none() {
        return Evaluation::not_exercised(ev!(
            "tidak ada yang dinilai: tidak ada pemindaian penyimpanan maupun pengamatan",
            "nothing to judge: no scan and no observation"
        ));
    }
    Evaluation::judge(
        problems,
        if notes.is_empty() {
            ev!(
                "tidak ada data penduduk yang disimpan",
                "no retained resident data"
            )
        } else {
            Evidence::join(&notes, "; ")
        },
    )
}

/// The scenario's `non_retention` check.
#[derive(Debug)]
pub(crate) struct NonRetention {
    pub(crate) scan_storage: bool,
    pub(crate) fresh_after_change: bool,
    pub(crate) no_data_when_unreachable: bool,
}

impl Check for NonRetention {
    fn unexercised(&self, obs: &Observation<'_>, _rows: &[JournalRow]) -> Option<Evidence> {
        (self.no_data_when_unreachable && !obs.faults_supported).then(|| {
            ev!(
                "mock tidak mendukung injeksi gangguan: gateway yang tidak dapat dihubungi tidak dapat disimulasikan",
                "the mock has no fault injection: the unreachable gateway could not be simulated"
            )
        })
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        _rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let scan = self.scan_storage.then(|| {
            obs.scan
                .clone()
                .unwrap_or_else(|| storage::scan(&obs.target.file.storage, &obs.markers()))
        });
        let after = if self.fresh_after_change {
            obs.lookups.iter().rev().find_map(|l| {
                l.after_mutation
                    .as_ref()
                    .map(|m| (m, &obs.outputs[l.output]))
            })
        } else {
            None
        };
        let values: Vec<String> = obs
            .residents
            .values()
            .flat_map(|c| {
                c.values
                    .iter()
                    .filter(|(f, _)| *f != Field::Nik)
                    .map(|(_, v)| v.clone())
            })
            .filter(|v| v.len() >= 6)
            .collect();
        let unreachable = if self.no_data_when_unreachable {
            obs.lookups
                .iter()
                .find(|l| l.fault == Some(Fault::Unreachable))
                .map(|l| &obs.outputs[l.output])
        } else {
            None
        };
        non_retention(
            scan.as_ref(),
            after.map(|((o, n), out)| (o.as_str(), n.as_str(), out)),
            unreachable.map(|o| (values.as_slice(), o)),
        )
    }
}
