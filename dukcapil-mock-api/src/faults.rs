//! Fault rules: which requests to hit and what to do to them. One serde shape serves the
//! `[[faults]]` tables of the serve TOML config and `POST /__admin/faults`; [`FaultView`] is a
//! rule as `GET /__admin/faults` lists it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A gateway endpoint a request can be classified as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `…/CALL_NIK` (both path forms).
    CallNik,
    /// `…/CALL_VERIFY_BY_ELEMEN`.
    Verify,
    /// `/data_balikan/public/api/store`.
    BalikanStore,
    /// `/data_balikan/public/api/upload`.
    BalikanUpload,
}

impl Endpoint {
    /// The name as rules write it (`call_nik`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::CallNik => "call_nik",
            Endpoint::Verify => "verify",
            Endpoint::BalikanStore => "balikan_store",
            Endpoint::BalikanUpload => "balikan_upload",
        }
    }
}

/// Which endpoints a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointFilter {
    /// Every endpoint.
    #[default]
    Any,
    /// [`Endpoint::CallNik`] only.
    CallNik,
    /// [`Endpoint::Verify`] only.
    Verify,
    /// [`Endpoint::BalikanStore`] only.
    BalikanStore,
    /// [`Endpoint::BalikanUpload`] only.
    BalikanUpload,
}

impl EndpointFilter {
    /// Whether a request to `endpoint` passes the filter.
    pub fn matches(self, endpoint: Endpoint) -> bool {
        match self {
            EndpointFilter::Any => true,
            EndpointFilter::CallNik => endpoint == Endpoint::CallNik,
            EndpointFilter::Verify => endpoint == Endpoint::Verify,
            EndpointFilter::BalikanStore => endpoint == Endpoint::BalikanStore,
            EndpointFilter::BalikanUpload => endpoint == Endpoint::BalikanUpload,
        }
    }
}

/// Which of the rule's matching calls (counted from 1) are hit: `{ every = 3 }` hits the 3rd,
/// 6th, 9th…; `{ at = 5 }` hits only the 5th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Nth {
    /// Every k-th matching call.
    Every(u64),
    /// Only the k-th matching call.
    At(u64),
}

impl Nth {
    /// Whether matching call number `n` (1-based) is hit.
    pub fn hits(self, n: u64) -> bool {
        match self {
            Nth::Every(k) => n.checked_rem(k) == Some(0),
            Nth::At(k) => n == k,
        }
    }
}

/// What an applied rule does to the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Waits before the gateway handles the request: `ms` fixed, or uniformly in
    /// `min_ms..=max_ms`.
    Delay {
        /// Fixed delay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ms: Option<u64>,
        /// Shortest delay of a range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ms: Option<u64>,
        /// Longest delay of a range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// Answers 500, 502, 503 or 504 with what the real stack sends (Spring JSON for 500, nginx
    /// HTML for the rest); the gateway never sees the request.
    Status {
        /// 500, 502, 503 or 504.
        code: u16,
    },
    /// Drops the connection without any answer; the gateway never sees the request.
    Close,
    /// The real answer cut part-way: `keep_bytes`, or `keep_percent` of it (default 50).
    Truncate {
        /// Bytes of the answer kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_bytes: Option<usize>,
        /// Percent (0-99) of the answer kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_percent: Option<u8>,
    },
    /// The real answer sent in `chunk_bytes` pieces with `pause_ms` between them.
    Trickle {
        /// Bytes per piece (default 64).
        #[serde(default = "default_chunk_bytes")]
        chunk_bytes: usize,
        /// Pause between pieces (default 200 ms).
        #[serde(default = "default_pause_ms")]
        pause_ms: u64,
    },
}

fn default_chunk_bytes() -> usize {
    64
}

fn default_pause_ms() -> u64 {
    200
}

/// The HTTP statuses a `status` fault may answer with: what a proxy or a crashed upstream gives.
pub const FAULT_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// Longest delay or pause a rule may ask for; longer would only hang test sessions.
pub const MAX_WAIT_MS: u64 = 600_000;

/// One fault rule. Every filter that is set must match; unset filters match everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Which endpoints the rule applies to.
    #[serde(default)]
    pub endpoint: EndpointFilter,
    /// Customer id (`CUSTOMER_ID` of the path; for data balikan, the bearer token's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    /// The local operator (`User_ID`, or the agreement's operator key) exactly as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The NIK exactly as sent (a data-balikan batch matches when it carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    /// Which matching calls are hit; unset: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<Nth>,
    /// Chance (0-1) that a call otherwise hit is hit, drawn from a seeded generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed for this rule's draws (probability, delay range); default: the engine's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Applications before the rule retires; unset: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// What to do to a request hit.
    pub action: FaultAction,
}

// Settings compare with `Eq`; the only float, `probability`, is validated to lie in 0..=1, so it
// is never NaN and equality is total.
impl Eq for FaultRule {}

/// A rule that does not make sense, naming the offending field (dotted path).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    /// The field, as a dotted path (`action.code`), or `(body)`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl RuleError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        RuleError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl FaultRule {
    /// A rule with no filters and the given action.
    pub fn new(action: FaultAction) -> Self {
        FaultRule {
            endpoint: EndpointFilter::Any,
            institution: None,
            operator: None,
            nik: None,
            nth: None,
            probability: None,
            seed: None,
            times: None,
            action,
        }
    }

    /// Checks what serde cannot: ranges, combinations, allowed codes.
    pub fn validate(&self) -> Result<(), RuleError> {
        for (field, value) in [
            ("institution", &self.institution),
            ("operator", &self.operator),
            ("nik", &self.nik),
        ] {
            if value.as_deref().is_some_and(str::is_empty) {
                return Err(RuleError::new(
                    field,
                    "must not be empty (leave it out to match any)",
                ));
            }
        }
        match self.nth {
            Some(Nth::Every(0)) => return Err(RuleError::new("nth.every", "must be at least 1")),
            Some(Nth::At(0)) => {
                return Err(RuleError::new(
                    "nth.at",
                    "must be at least 1 (calls count from 1)",
                ))
            }
            _ => {}
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(RuleError::new("probability", "must be between 0 and 1"));
            }
        }
        if self.times == Some(0) {
            return Err(RuleError::new(
                "times",
                "must be at least 1 (leave it out for unlimited)",
            ));
        }
        self.validate_action()
    }

    fn validate_action(&self) -> Result<(), RuleError> {
        let wait = |field: &str, ms: u64| {
            if ms > MAX_WAIT_MS {
                Err(RuleError::new(
                    field,
                    format!("must be at most {MAX_WAIT_MS} ms"),
                ))
            } else {
                Ok(())
            }
        };
        match &self.action {
            FaultAction::Delay { ms, min_ms, max_ms } => match (ms, min_ms, max_ms) {
                (Some(ms), None, None) => wait("action.ms", *ms),
                (None, Some(lo), Some(hi)) => {
                    wait("action.min_ms", *lo)?;
                    wait("action.max_ms", *hi)?;
                    if lo > hi {
                        Err(RuleError::new(
                            "action.max_ms",
                            "must not be below action.min_ms",
                        ))
                    } else {
                        Ok(())
                    }
                }
                (Some(_), _, _) => Err(RuleError::new(
                    "action.ms",
                    "give either ms or min_ms and max_ms, not both",
                )),
                (None, None, _) => Err(RuleError::new(
                    "action.ms",
                    "a delay needs ms, or min_ms and max_ms",
                )),
                (None, Some(_), None) => Err(RuleError::new(
                    "action.max_ms",
                    "required with action.min_ms",
                )),
            },
            FaultAction::Status { code } => {
                if FAULT_STATUSES.contains(code) {
                    Ok(())
                } else {
                    Err(RuleError::new(
                        "action.code",
                        "must be one of 500, 502, 503, 504",
                    ))
                }
            }
            FaultAction::Close => Ok(()),
            FaultAction::Truncate {
                keep_bytes,
                keep_percent,
            } => match (keep_bytes, keep_percent) {
                (Some(_), Some(_)) => Err(RuleError::new(
                    "action.keep_bytes",
                    "give either keep_bytes or keep_percent, not both",
                )),
                (_, Some(p)) if *p > 99 => Err(RuleError::new(
                    "action.keep_percent",
                    "must be between 0 and 99",
                )),
                _ => Ok(()),
            },
            FaultAction::Trickle {
                chunk_bytes,
                pause_ms,
            } => {
                if *chunk_bytes == 0 {
                    return Err(RuleError::new("action.chunk_bytes", "must be at least 1"));
                }
                wait("action.pause_ms", *pause_ms)
            }
        }
    }

    /// Whether matching needs fields read from the request body.
    pub fn needs_body(&self) -> bool {
        self.operator.is_some() || self.nik.is_some()
    }
}

/// A rule of a list (e.g. the config's `[[faults]]`) that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("faults[{index}].{error}")]
pub struct RuleListError {
    /// Position of the rule in the list (0-based).
    pub index: usize,
    /// What is wrong with it.
    pub error: RuleError,
}

/// A rule as the admin API lists it: the rule plus its id and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultView {
    /// The id the mock gave the rule (for `GET`/`DELETE /__admin/faults/{id}`).
    pub id: u64,
    /// The rule as added.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests that passed the rule's filters.
    pub matched: u64,
    /// Requests the rule was applied to.
    pub applied: u64,
    /// The `times` limit is used up; the rule no longer matches.
    pub retired: bool,
}

/// `GET /__admin/faults`: every rule, in the order added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultList {
    /// The rules with their counters.
    pub faults: Vec<FaultView>,
}

/// The 422 answer to an invalid `POST /__admin/faults` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRejection {
    /// Always `invalid fault rule`.
    pub error: String,
    /// The offending field (dotted path, `(body)` for the body as a whole).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// `DELETE /__admin/faults`: how many rules were removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsCleared {
    /// Number of rules removed.
    pub removed: usize,
}

/// Parses one rule from JSON, naming the offending field on failure (serde or validation).
pub fn rule_from_json(body: &[u8]) -> Result<FaultRule, RuleError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let rule: FaultRule =
        serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(e.path(), e.inner()))?;
    de.end()
        .map_err(|e| RuleError::new("(body)", e.to_string()))?;
    rule.validate()?;
    Ok(rule)
}

/// Names the field a serde error is about: the path, extended by the key serde names in
/// "missing field" / "unknown field" messages (those report the parent's path).
fn path_error(path: &serde_path_to_error::Path, inner: &serde_json::Error) -> RuleError {
    let message = inner.to_string();
    let parent = path.to_string();
    let parent = if parent == "." || parent == "?" {
        String::new()
    } else {
        parent
    };
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let field = match (named, parent.is_empty()) {
        (Some(key), true) => key.to_string(),
        // An unknown key is already the path's last segment.
        (Some(key), false) if parent == key || parent.ends_with(&format!(".{key}")) => parent,
        (Some(key), false) => format!("{parent}.{key}"),
        (None, false) => parent,
        // Syntax errors and a wrong top-level type concern the body as a whole.
        (None, true) => "(body)".to_string(),
    };
    RuleError { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(json: &str) -> String {
        rule_from_json(json.as_bytes()).unwrap_err().field
    }

    #[test]
    fn parses_every_action_shape() {
        let rule = rule_from_json(
            br#"{"endpoint":"call_nik","institution":"rsud_3313","operator":"op1","nik":"3313014107890003",
                 "nth":{"every":3},"probability":0.5,"seed":7,"times":2,"action":{"type":"status","code":502}}"#,
        )
        .unwrap();
        assert_eq!(rule.endpoint, EndpointFilter::CallNik);
        assert_eq!(rule.nth, Some(Nth::Every(3)));
        assert_eq!(rule.action, FaultAction::Status { code: 502 });
        for action in [
            r#"{"type":"delay","ms":10}"#,
            r#"{"type":"delay","min_ms":10,"max_ms":20}"#,
            r#"{"type":"close"}"#,
            r#"{"type":"truncate"}"#,
            r#"{"type":"truncate","keep_bytes":5}"#,
            r#"{"type":"trickle","chunk_bytes":8,"pause_ms":50}"#,
        ] {
            let json = format!(r#"{{"action":{action}}}"#);
            let rule = rule_from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{action}: {e}"));
            // What the admin listing shows parses back to the same rule.
            let again: FaultRule =
                serde_json::from_value(serde_json::to_value(&rule).unwrap()).unwrap();
            assert_eq!(again, rule);
        }
    }

    #[test]
    fn toml_shape_of_the_serve_config() {
        #[derive(Deserialize)]
        struct Config {
            faults: Vec<FaultRule>,
        }
        let cfg: Config = toml::from_str(
            r#"
            [[faults]]
            endpoint = "verify"
            nth = { at = 5 }
            action = { type = "delay", min_ms = 100, max_ms = 900 }

            [[faults]]
            institution = "dinkes_3313"
            times = 1
            action = { type = "close" }
            "#,
        )
        .unwrap();
        assert_eq!(cfg.faults.len(), 2);
        assert_eq!(cfg.faults[0].nth, Some(Nth::At(5)));
        assert_eq!(cfg.faults[1].action, FaultAction::Close);
        cfg.faults.iter().try_for_each(FaultRule::validate).unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"probability":1.5,"action":{"type":"close"}}"#),
            "probability"
        );
        assert_eq!(
            field_of(r#"{"action":{"type":"status","code":404}}"#),
            "action.code"
        );
        // Inside the tagged action serde buffers the content, so the path stops at `action`;
        // the message names the problem.
        let e = rule_from_json(br#"{"action":{"type":"status","code":"x"}}"#).unwrap_err();
        assert!(
            e.field == "action" && e.message.contains("invalid type"),
            "{e}"
        );
        assert_eq!(field_of(r#"{"action":{"type":"teleport"}}"#), "action.type");
        assert_eq!(field_of(r#"{"endpoint":"call_nik"}"#), "action");
        assert_eq!(
            field_of(r#"{"endpont":"call_nik","action":{"type":"close"}}"#),
            "endpont"
        );
        assert_eq!(
            field_of(r#"{"endpoint":"nope","action":{"type":"close"}}"#),
            "endpoint"
        );
        assert_eq!(
            field_of(r#"{"nth":{"every":0},"action":{"type":"close"}}"#),
            "nth.every"
        );
        assert_eq!(
            field_of(r#"{"nth":{"at":0},"action":{"type":"close"}}"#),
            "nth.at"
        );
        assert_eq!(
            field_of(r#"{"times":0,"action":{"type":"close"}}"#),
            "times"
        );
        assert_eq!(field_of(r#"{"nik":"","action":{"type":"close"}}"#), "nik");
        assert_eq!(field_of(r#"{"action":{"type":"delay"}}"#), "action.ms");
        assert_eq!(
            field_of(r#"{"action":{"type":"delay","min_ms":9,"max_ms":3}}"#),
            "action.max_ms"
        );
        assert_eq!(
            field_of(r#"{"action":{"type":"delay","ms":700000}}"#),
            "action.ms"
        );
        assert_eq!(
            field_of(r#"{"action":{"type":"trickle","chunk_bytes":0}}"#),
            "action.chunk_bytes"
        );
        assert_eq!(
            field_of(r#"{"action":{"type":"truncate","keep_percent":100}}"#),
            "action.keep_percent"
        );
        assert_eq!(field_of(r#"{"action":{"type":"close"}"#), "(body)");
        assert!(rule_from_json(b"[1,2]").is_err());
    }

    #[test]
    fn nth_counts_from_one() {
        assert!(
            !Nth::Every(3).hits(1)
                && !Nth::Every(3).hits(2)
                && Nth::Every(3).hits(3)
                && Nth::Every(3).hits(6)
        );
        assert!(Nth::At(5).hits(5) && !Nth::At(5).hits(10));
    }
}
