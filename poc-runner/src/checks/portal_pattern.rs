//! *Searches follow service events* at the Web Portal (digest rule 8): the shared rule-8
//! detector over the portal's searches only (endpoint `PORTAL`, the operator's username as user
//! id), so web-service calls in the same journal neither hide nor make a pattern.

use dukcapil_domain::detector::DetectorSettings;

use super::{no_sequential_lookups, portal_searches_missing, Check, Evaluation};
use crate::evidence::Evidence;
use crate::journal::JournalRow;
use crate::observed::Observation;

/// The scenario's `portal_search_pattern` check.
#[derive(Debug)]
pub(crate) struct PortalSearchPattern {
    pub(crate) detector: DetectorSettings,
}

impl Check for PortalSearchPattern {
    fn unexercised(&self, obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
        portal_searches_missing(obs, rows)
    }

    fn judge(
        &self,
        _obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let portal: Vec<JournalRow> = rows
            .iter()
            .filter(|r| r.is_portal_search())
            .cloned()
            .collect();
        no_sequential_lookups(&portal, &self.detector)
    }
}
