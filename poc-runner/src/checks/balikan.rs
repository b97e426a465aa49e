//! *Data balikan* (digest rule 6): every service event sends its balikan, with every value the
//! operator entered.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use dukcapil_domain::Outcome;

use super::{masked, Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::{Action, ActionKind, JournalRow};
use crate::observed::Observation;

/// How the runner watched for a test's balikan.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Watch {
    /// When it stopped watching (the journal was read right after); `None`: unknown.
    pub(super) until: Option<DateTime<Utc>>,
    /// The window around an action (clocks).
    pub(super) slack_ms: i64,
}

impl Watch {
    pub(super) fn of(obs: &Observation<'_>) -> Self {
        Watch {
            until: obs.watched_until,
            slack_ms: obs.slack_ms,
        }
    }
}

/// *Data balikan*: each service event on a looked-up NIK is followed within `within_secs` by an
/// accepted balikan row (outcome `01`) carrying every required key; no balikan for NIKs that
/// were never looked up.
pub(super) fn balikan(
    rows: &[JournalRow],
    actions: &[Action],
    required: &[&str],
    entered: &BTreeMap<usize, Vec<String>>,
    within_secs: i64,
    none_without_lookup: bool,
    watch: Watch,
) -> Evaluation {
    let Watch {
        until: watched_until,
        slack_ms,
    } = watch;
    let looked_up: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.is_lookup() && r.outcome == Outcome::Found.code())
        .map(|r| r.nik_raw.as_str())
        .collect();
    let mut problems = Vec::new();
    // Events for which nothing came while the runner watched, with time left on the
    // agreement's clock when it stopped: not seen, so not judged either way.
    let mut unwatched = Vec::new();
    let mut events = 0;
    for (i, a) in actions.iter().enumerate() {
        let ActionKind::ServiceEvent { event, nik } = &a.kind else {
            continue;
        };
        if !looked_up.contains(nik.as_str()) {
            continue;
        }
        events += 1;
        let deadline = a.finished + chrono::Duration::seconds(within_secs);
        let sent: Vec<&JournalRow> = rows
            .iter()
            .filter(|r| {
                // From the event's start, widened like every action's window (clocks).
                r.is_balikan()
                    && r.nik_raw == *nik
                    && r.time >= a.started - chrono::Duration::milliseconds(slack_ms)
                    && r.time <= deadline
            })
            .collect();
        let accepted: Vec<&&JournalRow> = sent
            .iter()
            .filter(|r| r.outcome == Outcome::Found.code())
            .collect();
        if sent.is_empty() {
            if let Some(until) = watched_until.filter(|u| *u < deadline) {
                let watched = (until - a.finished).num_seconds().max(0);
                unwatched.push(ev!(
                    "{event} untuk {}: belum ada data balikan selama {watched} detik yang diamati, padahal perjanjian memberi {within_secs} detik; ulangi dengan --pause-scale 1 untuk menunggu seluruhnya",
                    "{event} on {}: no balikan in the {watched} s watched, while the agreement allows {within_secs} s; run again with --pause-scale 1 to wait it out",
                    masked(nik)
                ));
                continue;
            }
        }
        if accepted.is_empty() {
            let nonconforming = sent
                .iter()
                .filter(|r| r.outcome.ends_with("_nonconforming"))
                .count();
            let why = if sent.is_empty() {
                ev!("tidak ada yang dikirim", "none sent")
            } else if nonconforming > 0 {
                // The real service (and the mock's default `free` key policy) stores such data;
                // the agreement's fields are what the PoC judges.
                ev!(
                    "{} dikirim, {nonconforming} diterima layanan tetapi tidak sesuai perjanjian (elemen wajib tidak ada atau format nilai salah), sisanya ditolak",
                    "{} sent, {nonconforming} taken by the service but not within the agreement (a required element missing or a value out of format), the rest rejected",
                    sent.len()
                )
            } else {
                ev!(
                    "{} dikirim, semuanya ditolak",
                    "{} sent, all rejected",
                    sent.len()
                )
            };
            problems.push(ev!(lang =>
                "{event} untuk {}: tidak ada data balikan yang diterima dalam {within_secs} detik ({})",
                "{event} on {}: no accepted balikan within {within_secs} s ({})",
                masked(nik),
                why.text(lang)
            ));
            continue;
        }
        let keys: BTreeSet<&str> = accepted
            .iter()
            .flat_map(|r| r.elements.iter().map(String::as_str))
            .collect();
        let missing: Vec<&&str> = required.iter().filter(|k| !keys.contains(**k)).collect();
        if !missing.is_empty() {
            problems.push(ev!(
                "{event} untuk {}: data balikan tidak memuat elemen wajib {missing:?}",
                "{event} on {}: balikan lacks required {missing:?}",
                masked(nik)
            ));
        }
        let dropped: Vec<&String> = entered
            .get(&i)
            .into_iter()
            .flatten()
            .filter(|k| !keys.contains(k.as_str()) && !required.contains(&k.as_str()))
            .collect();
        if !dropped.is_empty() {
            problems.push(ev!(
                "{event} untuk {}: nilai data balikan yang diisi petugas tidak terkirim {dropped:?}",
                "{event} on {}: balikan values the operator entered were not sent {dropped:?}",
                masked(nik)
            ));
        }
    }
    if none_without_lookup {
        for r in rows
            .iter()
            .filter(|r| r.is_balikan() && !looked_up.contains(r.nik_raw.as_str()))
        {
            problems.push(ev!(
                "{} data balikan untuk {} yang tidak pernah dicari",
                "{} balikan for {} which was never looked up",
                r.time.to_rfc3339(),
                masked(&r.nik_raw)
            ));
        }
    }
    if problems.is_empty() && !unwatched.is_empty() {
        return Evaluation::new(super::CheckOutcome::NeedsReview, unwatched);
    }
    problems.extend(unwatched);
    if events == 0 && problems.is_empty() {
        return Evaluation::review(ev!(
            "selama pengujian tidak terjadi kejadian layanan atas NIK yang telah dicari",
            "no service event on a looked-up NIK happened during the test"
        ));
    }
    Evaluation::judge(
        problems,
        ev!(
            "{events} kejadian layanan, masing-masing diikuti data balikan yang valid",
            "{events} service event(s), each followed by valid balikan"
        ),
    )
}

/// The scenario's `balikan` check.
/// The agreement's required balikan keys, and the seconds within which a balikan is due (the
/// pack's override for the agreement, else the check's own).
pub(crate) fn required_keys_and_window<'o>(
    obs: &'o Observation<'_>,
    default_seconds: u64,
) -> (Vec<&'o str>, u64) {
    let required = obs
        .target
        .agreement
        .balikan
        .iter()
        .filter(|b| b.required)
        .map(|b| b.key.as_str())
        .collect();
    let within = obs
        .overrides
        .and_then(|o| o.balikan_within_seconds)
        .unwrap_or(default_seconds);
    (required, within)
}

#[derive(Debug)]
pub(crate) struct Balikan {
    pub(crate) within_seconds: u64,
    pub(crate) none_without_lookup: bool,
}

impl Check for Balikan {
    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let (required, within) = required_keys_and_window(obs, self.within_seconds);
        balikan(
            rows,
            &obs.actions,
            &required,
            &obs.entered_balikan,
            within as i64,
            self.none_without_lookup,
            Watch::of(obs),
        )
    }
}
