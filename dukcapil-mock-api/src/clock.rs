//! The mock's clock: `GET`/`POST /__admin/clock`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `POST /__admin/clock` body: `{"set": "<RFC 3339 instant>"}` or `{"advance_seconds": n}`
/// (negative goes back). Exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Makes the clock read this instant now (time keeps running from there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<DateTime<Utc>>,
    /// Moves the clock by this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_seconds: Option<i64>,
}

impl ClockChange {
    /// Set the clock to `t`.
    pub fn set(t: DateTime<Utc>) -> ClockChange {
        ClockChange {
            set: Some(t),
            advance_seconds: None,
        }
    }

    /// Move the clock by `seconds` (negative goes back).
    pub fn advance(seconds: i64) -> ClockChange {
        ClockChange {
            set: None,
            advance_seconds: Some(seconds),
        }
    }
}

/// What the clock reads: the answer of both clock routes. With an institution scope
/// (`?customer_id=`, or an institution's admin token) it is that institution's clock: the
/// sandbox's clock plus the institution's own offset, which is what the gateway's decisions for
/// it (quota day, agreement term, access hours) read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockStatus {
    /// The mock's now, RFC 3339 UTC with microseconds.
    pub now: String,
    /// The WIB day of `now` (the quota day), `YYYY-MM-DD`.
    pub wib_day: String,
    /// The offset from real time (the sandbox's and, for an institution, its own together).
    pub offset_seconds: f64,
    /// The institution whose clock this is; absent: the sandbox's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The institution's own offset on top of the sandbox's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_offset_seconds: Option<f64>,
}
