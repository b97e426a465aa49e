//! *Quota* (digest rule 7): no lookups after the day's refusal, and the operator is told why.

use std::collections::BTreeMap;

use chrono::Datelike;
use dukcapil_domain::Outcome;

use super::{masked, Check, Evaluation};
use crate::evidence::{ev, wib, Evidence};
use crate::journal::JournalRow;
use crate::observed::Observation;

/// *Quota*: after a `05` answer, no more lookups by that institution on that local day; and when
/// the application's screen after the refusal was captured, it says why (mentions the quota).
pub(super) fn quota(rows: &[JournalRow], screen_after_refusal: Option<&str>) -> Evaluation {
    let tz = wib();
    let mut exhausted: BTreeMap<(String, i32, u32), chrono::DateTime<chrono::Utc>> =
        BTreeMap::new();
    let mut problems = Vec::new();
    let mut refusals = 0;
    for row in rows.iter().filter(|r| r.is_lookup()) {
        let local = row.time.with_timezone(&tz);
        let key = (row.customer_id.clone(), local.year(), local.ordinal());
        if let Some(since) = exhausted.get(&key) {
            problems.push(ev!(
                "{} permintaan data {} setelah kuota habis pada {} (hari yang sama, WIB)",
                "{} lookup of {} after the quota was used up at {} (same day, WIB)",
                row.time.to_rfc3339(),
                masked(&row.nik_raw),
                since.to_rfc3339()
            ));
        } else if row.outcome == Outcome::QuotaExhausted.code() {
            refusals += 1;
            exhausted.insert(key, row.time);
        }
    }
    if refusals == 0 {
        return Evaluation::review(ev!(
            "mock tidak pernah menjawab 05 selama pengujian: kuota tidak teruji",
            "the mock never answered 05 during the test: the quota was not exercised"
        ));
    }
    if let Some(screen) = screen_after_refusal {
        if !screen.to_lowercase().contains("kuota") && !screen.to_lowercase().contains("quota") {
            problems.push(ev!(
                "setelah jawaban 05, aplikasi tidak memberi tahu operator bahwa kuota telah habis",
                "after the 05 answer the application did not tell the operator the quota is used up"
            ));
        }
    }
    Evaluation::judge(
        problems,
        ev!(
            "{refusals} penolakan karena kuota habis; tidak ada permintaan lagi pada hari yang sama",
            "{refusals} quota refusal(s); no call afterwards on the same day"
        ),
    )
}

/// The scenario's `quota` check.
#[derive(Debug)]
pub(crate) struct Quota;

impl Check for Quota {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let refused_at = rows
            .iter()
            .find(|r| r.is_lookup() && r.outcome == Outcome::QuotaExhausted.code())
            .map(|r| r.time);
        let screen = refused_at.and_then(|t| {
            obs.lookups
                .iter()
                .find(|l| {
                    obs.actions[l.action].finished + chrono::Duration::milliseconds(obs.slack_ms)
                        >= t
                })
                .map(|l| l.answer.body.as_str())
        });
        quota(rows, screen)
    }
}
