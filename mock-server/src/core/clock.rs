//! The mock's controllable clock: real time plus an offset that the admin API sets or advances.
//! Quota days, agreement terms and access hours all read this clock, so a test can cross a WIB
//! midnight without waiting.
//!
//! In a shared sandbox each institution may have an offset of its own on top of this one
//! (`Institution::clock_offset_us`, set by `POST /__admin/clock?customer_id=`): the gateway's
//! decisions for that institution read [`Clock::now_plus`] with it, so one agency's test of
//! access hours moves nobody else's clock. Real time stays one.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// Western Indonesian Time (UTC+7): the day of quotas and agreement terms.
pub(crate) fn wib() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// The WIB calendar day of an instant.
pub(crate) fn wib_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&wib()).date_naive()
}

#[derive(Debug, Default)]
pub struct Clock {
    /// Offset from real time in microseconds; atomic so reading the clock never locks.
    offset_us: AtomicI64,
}

impl Clock {
    pub fn with_offset_us(offset_us: i64) -> Clock {
        Clock {
            offset_us: AtomicI64::new(offset_us),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// The clock of an institution whose own offset is `extra_us` (µs) on top of this clock.
    pub fn now_plus(&self, extra_us: i64) -> DateTime<Utc> {
        Utc::now()
            + Duration::microseconds(
                self.offset_us
                    .load(Ordering::Relaxed)
                    .saturating_add(extra_us),
            )
    }

    pub fn offset_us(&self) -> i64 {
        self.offset_us.load(Ordering::Relaxed)
    }

    /// Makes `now()` read `instant` at this moment (time keeps running from there).
    pub fn set(&self, instant: DateTime<Utc>) -> i64 {
        let offset = (instant - Utc::now()).num_microseconds().unwrap_or(0);
        self.offset_us.store(offset, Ordering::Relaxed);
        offset
    }

    /// Moves the clock by `by` (negative goes back).
    pub fn advance(&self, by: Duration) -> i64 {
        let delta = by.num_microseconds().unwrap_or(0);
        self.offset_us.fetch_add(delta, Ordering::Relaxed) + delta
    }

    pub fn reset(&self) {
        self.offset_us.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wib_day_turns_at_17_utc() {
        let before: DateTime<Utc> = "2026-03-01T16:59:59Z".parse().unwrap();
        let after: DateTime<Utc> = "2026-03-01T17:00:00Z".parse().unwrap();
        assert_eq!(
            wib_day(before),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(wib_day(after), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    }

    #[test]
    fn set_and_advance() {
        let c = Clock::default();
        let target: DateTime<Utc> = "2031-01-01T00:00:00Z".parse().unwrap();
        c.set(target);
        assert!((c.now() - target).num_seconds().abs() < 5);
        c.advance(Duration::hours(2));
        assert!((c.now() - target - Duration::hours(2)).num_seconds().abs() < 5);
    }
}
