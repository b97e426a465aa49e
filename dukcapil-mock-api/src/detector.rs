//! Rule 8 (sequential, patterned, rapid-fire lookups) over the journal: `GET /__admin/detector`.

use dukcapil_domain::detector::{DetectorSettings, Finding};
use serde::{Deserialize, Serialize};

/// The query of `GET /__admin/detector`; unset thresholds take [`DetectorSettings::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorQuery {
    /// Lookups of this institution only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Lookups from this instant on (RFC 3339, or a date meaning its WIB midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// See [`DetectorSettings::min_run`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_run: Option<usize>,
    /// See [`DetectorSettings::min_stride_run`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stride_run: Option<usize>,
    /// See [`DetectorSettings::max_stride`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stride: Option<u64>,
    /// See [`DetectorSettings::burst_count`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_count: Option<usize>,
    /// See [`DetectorSettings::burst_window_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_window_ms: Option<i64>,
}

/// The detector's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorReport {
    /// The institution asked about (`None`: all).
    pub customer_id: Option<String>,
    /// The start asked for, as the journal writes instants.
    pub since: Option<String>,
    /// Lookups read.
    pub lookups: usize,
    /// The thresholds applied.
    pub settings: DetectorSettings,
    /// What was found.
    pub findings: Vec<Finding>,
}
