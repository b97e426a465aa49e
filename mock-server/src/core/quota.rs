//! Daily quota counting on the WIB day: check-and-count is atomic, so a burst against quota Q
//! yields exactly Q counted calls.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

/// The result of counting one call against the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaCheck {
    /// Counted; what remains today (`None`: unlimited), and the epoch of the count (how many
    /// times the admin API set this day's count so far): the writer skips a count whose epoch
    /// a later set has overtaken, as memory did.
    Counted { remaining: Option<u32>, epoch: u64 },
    /// Used up: answer 05, do not count.
    Exhausted,
}

/// Calls counted per (customer id, WIB day).
#[derive(Debug, Default)]
pub(crate) struct Quota {
    counts: Mutex<HashMap<(String, NaiveDate), u32>>,
    /// Sets per (customer id, WIB day) since start (see [`QuotaCheck::Counted`]).
    epochs: Mutex<HashMap<(String, NaiveDate), u64>>,
}

impl Quota {
    /// Starts from what the state database held.
    pub(crate) fn with_counts(counts: HashMap<(String, NaiveDate), u32>) -> Quota {
        Quota {
            counts: Mutex::new(counts),
            epochs: Mutex::default(),
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
        let key = (customer_id.to_string(), day);
        let epoch = self
            .epochs
            .lock()
            .ok()
            .and_then(|e| e.get(&key).copied())
            .unwrap_or(0);
        let used = q.entry(key).or_insert(0);
        match limit {
            Some(l) if *used >= l => QuotaCheck::Exhausted,
            Some(l) => {
                *used += 1;
                QuotaCheck::Counted {
                    remaining: Some(l - *used),
                    epoch,
                }
            }
            None => {
                *used += 1;
                QuotaCheck::Counted {
                    remaining: None,
                    epoch,
                }
            }
        }
    }

    /// Sets the count of `customer_id` on `day` in a new epoch, running `persist(epoch)`
    /// (queueing the same value for the state database) under the lock.
    pub(crate) fn set_then<T>(
        &self,
        customer_id: &str,
        day: NaiveDate,
        used: u32,
        persist: impl FnOnce(u64) -> T,
    ) -> Option<T> {
        let mut q = self.counts.lock().ok()?;
        let key = (customer_id.to_string(), day);
        let epoch = {
            let mut e = self.epochs.lock().ok()?;
            let epoch = e.entry(key.clone()).or_insert(0);
            *epoch += 1;
            *epoch
        };
        q.insert(key, used);
        Some(persist(epoch))
    }

    /// Calls counted for `customer_id` on `day`.
    pub(crate) fn used(&self, customer_id: &str, day: NaiveDate) -> u32 {
        self.counts
            .lock()
            .ok()
            .and_then(|q| q.get(&(customer_id.to_string(), day)).copied())
            .unwrap_or(0)
    }

    /// Forgets the counts of one institution (its scoped reset).
    pub(crate) fn clear_institution(&self, customer_id: &str) {
        if let Ok(mut q) = self.counts.lock() {
            q.retain(|(cid, _), _| cid != customer_id);
        }
    }

    /// Forgets every count (reset).
    pub(crate) fn clear(&self) {
        if let Ok(mut q) = self.counts.lock() {
            q.clear();
        }
    }
}
