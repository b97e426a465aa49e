//! The daily quota gate: after outcome `05` no call goes out until the next day in WIB
//! (UTC+7), the gateway's calendar.

use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Western Indonesia Time, UTC+7, no daylight saving.
pub(crate) fn wib_day(now: DateTime<Utc>) -> NaiveDate {
    // 7 * 3600 is within FixedOffset's range, so this cannot fail.
    let wib = FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap());
    now.with_timezone(&wib).date_naive()
}

#[derive(Debug, Default)]
pub(crate) struct QuotaGate {
    /// The WIB day on which the gateway last said the quota was used up.
    exhausted_on: Mutex<Option<NaiveDate>>,
}

impl QuotaGate {
    /// Records a `05` answer received at `now`.
    pub(crate) fn exhausted(&self, now: DateTime<Utc>) {
        let day = wib_day(now);
        let mut g = self.exhausted_on.lock().unwrap_or_else(|e| e.into_inner());
        *g = Some(g.map_or(day, |d| d.max(day)));
    }

    /// Whether calls are held back at `now`.
    pub(crate) fn blocked(&self, now: DateTime<Utc>) -> bool {
        let g = self.exhausted_on.lock().unwrap_or_else(|e| e.into_inner());
        g.is_some_and(|d| d >= wib_day(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn wib_day_turns_at_17_utc() {
        assert_eq!(
            wib_day(at("2026-03-01T16:59:59Z")).to_string(),
            "2026-03-01"
        );
        assert_eq!(
            wib_day(at("2026-03-01T17:00:00Z")).to_string(),
            "2026-03-02"
        );
    }

    #[test]
    fn blocked_until_next_wib_midnight() {
        let q = QuotaGate::default();
        assert!(!q.blocked(at("2026-03-01T10:00:00Z")));
        // 23:30 WIB on 1 March.
        q.exhausted(at("2026-03-01T16:30:00Z"));
        assert!(q.blocked(at("2026-03-01T16:30:01Z")));
        assert!(q.blocked(at("2026-03-01T16:59:59Z")));
        // 00:00 WIB on 2 March: calls resume.
        assert!(!q.blocked(at("2026-03-01T17:00:00Z")));
        // 06:00 WIB on 2 March, which is still 1 March in UTC.
        q.exhausted(at("2026-03-01T23:00:00Z"));
        assert!(q.blocked(at("2026-03-02T16:59:00Z")));
        assert!(!q.blocked(at("2026-03-02T17:00:00Z")));
    }

    #[test]
    fn an_older_exhaustion_does_not_shorten_the_block() {
        let q = QuotaGate::default();
        q.exhausted(at("2026-03-02T01:00:00Z"));
        q.exhausted(at("2026-03-01T01:00:00Z"));
        assert!(q.blocked(at("2026-03-02T12:00:00Z")));
    }
}
