//! Daily quota counting on the WIB day: check-and-count is atomic, so a burst against quota Q
//! yields exactly Q counted calls.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

/// The result of counting one call against the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaCheck {
    /// Counted; what remains today (`None`: unlimited).
    Counted { remaining: Option<u32> },
    /// Used up: answer 05, do not count.
    Exhausted,
}

/// Calls counted per (customer id, WIB day).
#[derive(Debug, Default)]
pub(crate) struct Quota {
    counts: Mutex<HashMap<(String, NaiveDate), u32>>,
}

impl Quota {
    /// Starts from what the state database held.
    pub(crate) fn with_counts(counts: HashMap<(String, NaiveDate), u32>) -> Quota {
        Quota {
            counts: Mutex::new(counts),
        }
    }

    /// Counts one call of `customer_id` on `day` unless the quota is used up.
    pub(crate) fn count_call(
        &self,
        customer_id: &str,
        day: NaiveDate,
        limit: Option<u32>,
    ) -> QuotaCheck {
        let Ok(mut q) = self.counts.lock() else {
            return QuotaCheck::Exhausted;
        };
        let used = q.entry((customer_id.to_string(), day)).or_insert(0);
        match limit {
            Some(l) if *used >= l => QuotaCheck::Exhausted,
            Some(l) => {
                *used += 1;
                QuotaCheck::Counted {
                    remaining: Some(l - *used),
                }
            }
            None => {
                *used += 1;
                QuotaCheck::Counted { remaining: None }
            }
        }
    }

    /// Calls counted for `customer_id` on `day`.
    pub(crate) fn used(&self, customer_id: &str, day: NaiveDate) -> u32 {
        self.counts
            .lock()
            .ok()
            .and_then(|q| q.get(&(customer_id.to_string(), day)).copied())
            .unwrap_or(0)
    }

    /// Sets the count of `customer_id` on `day` (admin API; persistence is the caller's).
    pub(crate) fn set(&self, customer_id: &str, day: NaiveDate, used: u32) {
        if let Ok(mut q) = self.counts.lock() {
            q.insert((customer_id.to_string(), day), used);
        }
    }

    /// Forgets every count (reset).
    pub(crate) fn clear(&self) {
        if let Ok(mut q) = self.counts.lock() {
            q.clear();
        }
    }
}
