//! *Data balikan* for the Web Portal (digest rule 6): every NIK a portal search found is followed
//! by the agency's accepted data balikan with the agreement's required fields. The balikan
//! evaluator of the web-service pack, over the portal's searches only; each search is the
//! service event that owes the balikan.

use super::balikan::{balikan, required_keys_and_window};
use super::{portal_searches_missing, Check, Evaluation};
use crate::evidence::Evidence;
use crate::journal::JournalRow;
use crate::observed::Observation;

/// The scenario's `portal_balikan` check.
#[derive(Debug)]
pub(crate) struct PortalBalikan {
    pub(crate) within_seconds: u64,
}

impl Check for PortalBalikan {
    fn unexercised(&self, obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
        portal_searches_missing(obs, rows)
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let (required, within) = required_keys_and_window(obs, self.within_seconds);
        // Web-service lookups are not the portal's: they neither owe nor excuse a balikan here.
        let portal: Vec<JournalRow> = rows
            .iter()
            .filter(|r| r.is_portal_search() || r.is_balikan())
            .cloned()
            .collect();
        balikan(
            &portal,
            &obs.actions,
            &required,
            &Default::default(),
            within as i64,
            true,
            super::balikan::Watch::of(obs),
        )
    }
}
