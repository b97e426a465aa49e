//! Institutions: the `PATCH /__admin/institutions/{customer_id}` body ([`InstitutionPatch`], with
//! the mock's validation and error texts) and an institution as the admin API shows it
//! ([`InstitutionView`]).

use chrono::{NaiveDate, NaiveTime};
use dukcapil_domain::Term;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Allowed access hours (WIB); `from > to` wraps past midnight. Written `"HH:MM-HH:MM"` in the
/// settings file, `{"start": "HH:MM", "end": "HH:MM"}` in the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessHours {
    /// Opening time.
    pub from: NaiveTime,
    /// Closing time (exclusive).
    pub to: NaiveTime,
}

impl AccessHours {
    /// Whether calls at WIB time `t` are served.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.from <= self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

impl std::str::FromStr for AccessHours {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("access hours `{s}` must be HH:MM-HH:MM"))?;
        let t = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M")
                .map_err(|e| format!("access hours `{s}`: {e}"))
        };
        Ok(AccessHours {
            from: t(a)?,
            to: t(b)?,
        })
    }
}

/// Access hours as the admin API writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursView {
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

impl From<AccessHours> for HoursView {
    fn from(h: AccessHours) -> HoursView {
        HoursView {
            start: h.from.format("%H:%M").to_string(),
            end: h.to.format("%H:%M").to_string(),
        }
    }
}

/// How the gateway judges the registered source address (IP LAN) of a call.
///
/// Clients in production send `IP_USER` values that are not the caller's address (a hard-coded
/// LAN address, `x`, `PP:<id>`) and still get answers: the real gateway judges the connection's
/// network source. The body's value must be present in every policy (outcome 09 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpPolicy {
    /// The connection's source must be the registered address; the body's value may be any text.
    #[default]
    Source,
    /// The body's value must be the registered address; the source is not judged.
    Body,
    /// Both must be the registered address.
    Both,
    /// Neither is judged.
    Off,
}

impl IpPolicy {
    /// Every policy.
    pub const ALL: &'static [IpPolicy] = &[
        IpPolicy::Source,
        IpPolicy::Body,
        IpPolicy::Both,
        IpPolicy::Off,
    ];

    /// The settings name.
    pub const fn name(self) -> &'static str {
        match self {
            IpPolicy::Source => "source",
            IpPolicy::Body => "body",
            IpPolicy::Both => "both",
            IpPolicy::Off => "off",
        }
    }

    /// Whether the connection's source address is judged.
    pub const fn judges_source(self) -> bool {
        matches!(self, IpPolicy::Source | IpPolicy::Both)
    }

    /// Whether the body's `IP_USER` value is judged.
    pub const fn judges_body(self) -> bool {
        matches!(self, IpPolicy::Body | IpPolicy::Both)
    }
}

impl std::str::FromStr for IpPolicy {
    type Err = dukcapil_domain::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IpPolicy::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| dukcapil_domain::UnknownName {
                kind: "IP policy (source|body|both|off)",
                name: s.into(),
            })
    }
}

/// How data balikan treats `param` keys outside the agreement's balikan fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BalikanKeys {
    /// Accepted as the real service accepts them (200 `Success`); the ledger records which keys
    /// were unknown and which of the agreement's fields were missing, for the PoC to judge.
    #[default]
    Free,
    /// Refused with 422 naming each bad row and key.
    Strict,
}

impl BalikanKeys {
    /// The settings name.
    pub const fn name(self) -> &'static str {
        match self {
            BalikanKeys::Free => "free",
            BalikanKeys::Strict => "strict",
        }
    }
}

impl std::str::FromStr for BalikanKeys {
    type Err = dukcapil_domain::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "free" => Ok(BalikanKeys::Free),
            "strict" => Ok(BalikanKeys::Strict),
            _ => Err(dukcapil_domain::UnknownName {
                kind: "balikan key policy (free|strict)",
                name: s.into(),
            }),
        }
    }
}

/// A validated change of an institution. `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionPatch {
    /// `false`: switched off (outcome 16).
    pub active: Option<bool>,
    /// `false`: the institutional user id is deactivated (outcome 17).
    pub user_active: Option<bool>,
    /// The registered source address (outcome 04 for any other).
    pub ip_user: Option<String>,
    /// `Some(None)`: back to the agreement's password.
    pub password: Option<Option<String>>,
    /// The agreement term (outcome 16 outside it).
    pub term: Option<Term>,
    /// `Some(None)`: always open.
    pub access_hours: Option<Option<AccessHours>>,
    /// `Some(None)`: unlimited.
    pub quota_per_day: Option<Option<u32>>,
    /// Return every element, also those outside the grant (PoC whitelist test).
    pub extra_elements: Option<bool>,
    /// How the registered address is judged.
    pub ip_policy: Option<IpPolicy>,
    /// How balikan keys outside the agreement are treated.
    pub balikan_keys: Option<BalikanKeys>,
    /// Whether the institution has passed its PoC: the Web Portal's daily quota is then
    /// unlimited (before it, `[portal] quota_before_poc`, 200 by default).
    pub poc_passed: Option<bool>,
}

/// The keys a PATCH accepts, for error messages.
const KEYS: &str = "active, user_active, ip_user, password, term, access_hours, quota_per_day, extra_elements, ip_policy, balikan_keys, poc_passed";

/// Longest password the PATCH accepts.
const MAX_PASSWORD: usize = 200;

fn hhmm(key: &str, v: &Value) -> Result<chrono::NaiveTime, String> {
    v.as_str()
        .and_then(|s| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok())
        .ok_or_else(|| format!("`{key}` must be a time \"HH:MM\""))
}

fn date(key: &str, v: &Value) -> Result<NaiveDate, String> {
    v.as_str()
        .and_then(|s| s.trim().parse::<NaiveDate>().ok())
        .ok_or_else(|| format!("`{key}` must be a date \"YYYY-MM-DD\""))
}

impl InstitutionPatch {
    /// Reads a PATCH body; the error names the offending key.
    pub fn from_map(map: &Map<String, Value>) -> Result<InstitutionPatch, String> {
        let mut p = InstitutionPatch::default();
        let boolean = |k: &str, v: &Value| {
            v.as_bool()
                .ok_or_else(|| format!("`{k}` must be true or false"))
        };
        for (k, v) in map {
            match k.as_str() {
                "active" => p.active = Some(boolean(k, v)?),
                "user_active" => p.user_active = Some(boolean(k, v)?),
                "extra_elements" => p.extra_elements = Some(boolean(k, v)?),
                "poc_passed" => p.poc_passed = Some(boolean(k, v)?),
                "ip_user" => {
                    let ip = v
                        .as_str()
                        .and_then(|s| s.trim().parse::<std::net::IpAddr>().ok())
                        .ok_or_else(|| {
                            "`ip_user` must be an IP address such as \"127.0.0.1\"".to_string()
                        })?;
                    p.ip_user = Some(ip.to_string());
                }
                "password" => {
                    p.password = Some(match v {
                        Value::Null => None,
                        // Kept exactly as given: the gateway compares passwords exactly, and a
                        // blank one would be outcome 09, not a rotation.
                        Value::String(pw) if !pw.trim().is_empty() && pw.len() <= MAX_PASSWORD => {
                            Some(pw.clone())
                        }
                        _ => {
                            return Err(format!(
                                "`password` must be a non-blank string of at most {MAX_PASSWORD} bytes, or null for the agreement's"
                            ))
                        }
                    });
                }
                "term" => {
                    let obj = v.as_object().ok_or_else(|| {
                        "`term` must be {\"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\"}"
                            .to_string()
                    })?;
                    if let Some(extra) = obj.keys().find(|k| *k != "start" && *k != "end") {
                        return Err(format!("unknown key `term.{extra}` (start, end)"));
                    }
                    let start = date("term.start", obj.get("start").unwrap_or(&Value::Null))?;
                    let end = date("term.end", obj.get("end").unwrap_or(&Value::Null))?;
                    if start > end {
                        return Err("`term.start` is after `term.end`".into());
                    }
                    p.term = Some(Term { start, end });
                }
                "access_hours" => {
                    p.access_hours = Some(match v {
                        Value::Null => None,
                        // The settings file's form, accepted here too.
                        Value::String(s) => Some(s.parse::<AccessHours>().map_err(|e| format!("`access_hours`: {e}"))?),
                        Value::Object(obj) => {
                            if let Some(extra) = obj.keys().find(|k| *k != "start" && *k != "end") {
                                return Err(format!("unknown key `access_hours.{extra}` (start, end)"));
                            }
                            Some(AccessHours {
                                from: hhmm("access_hours.start", obj.get("start").unwrap_or(&Value::Null))?,
                                to: hhmm("access_hours.end", obj.get("end").unwrap_or(&Value::Null))?,
                            })
                        }
                        _ => return Err("`access_hours` must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} or null".into()),
                    });
                }
                "quota_per_day" => {
                    p.quota_per_day = Some(match v {
                        Value::Null => None,
                        _ => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                            || "`quota_per_day` must be a whole number or null".to_string(),
                        )?),
                    });
                }
                "ip_policy" => {
                    p.ip_policy = Some(
                        v.as_str()
                            .ok_or_else(|| {
                                "`ip_policy` must be one of source, body, both, off".to_string()
                            })?
                            .parse()
                            .map_err(|e| format!("`ip_policy`: {e}"))?,
                    );
                }
                "balikan_keys" => {
                    p.balikan_keys = Some(
                        v.as_str()
                            .ok_or_else(|| "`balikan_keys` must be free or strict".to_string())?
                            .parse()
                            .map_err(|e| format!("`balikan_keys`: {e}"))?,
                    );
                }
                other => return Err(format!("unknown key `{other}` ({KEYS})")),
            }
        }
        Ok(p)
    }

    /// Reads a persisted change (the JSON text of a PATCH body).
    pub fn from_json_text(text: &str) -> Result<InstitutionPatch, String> {
        let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Self::from_map(&map)
    }
}

impl Serialize for InstitutionPatch {
    /// The PATCH body: only the keys that change, `null` for "back to the default".
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = self.active {
            m.serialize_entry("active", &v)?;
        }
        if let Some(v) = self.user_active {
            m.serialize_entry("user_active", &v)?;
        }
        if let Some(v) = &self.ip_user {
            m.serialize_entry("ip_user", v)?;
        }
        if let Some(v) = &self.password {
            m.serialize_entry("password", v)?;
        }
        if let Some(v) = &self.term {
            m.serialize_entry("term", v)?;
        }
        if let Some(v) = &self.access_hours {
            m.serialize_entry("access_hours", &v.map(HoursView::from))?;
        }
        if let Some(v) = &self.quota_per_day {
            m.serialize_entry("quota_per_day", v)?;
        }
        if let Some(v) = self.extra_elements {
            m.serialize_entry("extra_elements", &v)?;
        }
        if let Some(v) = self.ip_policy {
            m.serialize_entry("ip_policy", &v)?;
        }
        if let Some(v) = self.balikan_keys {
            m.serialize_entry("balikan_keys", &v)?;
        }
        if let Some(v) = self.poc_passed {
            m.serialize_entry("poc_passed", &v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for InstitutionPatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        InstitutionPatch::from_map(&map).map_err(serde::de::Error::custom)
    }
}

/// An institution as `GET /__admin/institutions` and the PATCH answer show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionView {
    /// The access methods the agreement grants (`web_service`, `web_portal`, `card_reader`).
    #[serde(default)]
    pub access_methods: Vec<dukcapil_domain::AccessMethod>,
    /// WIB hours during which calls are served; `None`: always.
    pub access_hours: Option<HoursView>,
    /// `false`: switched off (outcome 16).
    pub active: bool,
    /// The agreement (PKS) id.
    pub agreement: String,
    /// The customer id of the gateway path.
    pub customer_id: String,
    /// Wire keys the agreement grants.
    pub elements: Vec<String>,
    /// Test mode: lookups return every element, also those outside the grant.
    pub extra_elements: bool,
    /// The registered source address.
    pub ip_user: String,
    /// How the registered address is judged.
    #[serde(default)]
    pub ip_policy: IpPolicy,
    /// How balikan keys outside the agreement are treated.
    #[serde(default)]
    pub balikan_keys: BalikanKeys,
    /// Method names the institution may call (case-insensitive) and the service each maps to.
    #[serde(default)]
    pub methods: std::collections::BTreeMap<String, dukcapil_domain::Service>,
    /// The institution's name.
    pub name: String,
    /// The body key that carries the local operator.
    pub operator_field: String,
    /// Whether the institution has passed its PoC (Web Portal quota unlimited).
    #[serde(default)]
    pub poc_passed: bool,
    /// The Web Portal's daily quota: `None` unlimited (after the PoC).
    #[serde(default)]
    pub portal_quota_per_day: Option<u32>,
    /// Web Portal searches counted today (WIB day of the mock's clock).
    #[serde(default)]
    pub portal_quota_used_today: Option<u32>,
    /// Whether the gateway password differs from the agreement's (never the password itself).
    pub password_rotated: bool,
    /// Daily quota; `None`: unlimited.
    pub quota_per_day: Option<u32>,
    /// Calls counted today (WIB day of the mock's clock).
    pub quota_used_today: Option<u32>,
    /// Region code of the agreement, if regional.
    pub region: Option<String>,
    /// The agreement term as it stands.
    pub term: Term,
    /// `false`: the institutional user id is deactivated (outcome 17).
    pub user_active: bool,
    /// The institutional user id (`user_id` of the body).
    pub user_id: String,
}

/// `GET /__admin/institutions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionList {
    /// Every institution the mock knows, by customer id.
    pub institutions: Vec<InstitutionView>,
}

/// The answer of `POST /__admin/institutions/{customer_id}/token`: a new admin token of one
/// institution, shown this once (the mock keeps only its SHA-256 hash). It reads and changes
/// that institution only; the token issued before it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionToken {
    /// The institution the token belongs to.
    pub customer_id: String,
    /// The bearer token.
    pub token: String,
}

/// Checks method names as the settings file's `methods` and the create body's give them:
/// 1-64 letters, digits or underscores (they are a path segment), none named twice (names are
/// case-insensitive on the wire).
pub fn check_method_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let mut upper = Vec::new();
    for name in names {
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!(
                "method name `{name}` must be 1-64 letters, digits or underscores"
            ));
        }
        upper.push(name.to_ascii_uppercase());
    }
    upper.sort();
    match upper.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!(
            "method `{}` is named twice (names are case-insensitive)",
            w[0]
        )),
        None => Ok(()),
    }
}

/// Whether `cid` can be a customer id: 1-64 letters, digits, `_` or `-` (a path segment).
pub fn valid_customer_id(cid: &str) -> bool {
    !cid.is_empty()
        && cid.len() <= 64
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The keys of the create body besides the PATCH keys, for error messages.
const CREATE_KEYS: &str = "customer_id, agreement, name, user_id, password, balikan_token, methods";

/// The `POST /__admin/institutions` body: a new institution of its own under an agreement
/// profile (a puskesmas under `dinkes-karanganyar`), as a settings block
/// `[institutions.<id>] agreement = "…"` makes one; or, without `agreement`, an institution
/// the mock was started with and that was removed, back as configured.
///
/// Besides its own keys it takes every PATCH key but `password` ([`InstitutionPatch`]), as its
/// configuration: a reset brings the institution back to them, not to the profile's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionCreate {
    /// Its customer id (the gateway path segment): 1-64 letters, digits, `_` or `-`.
    pub customer_id: String,
    /// The agreement profile id it is under; `None`: a configured institution back.
    pub agreement: Option<String>,
    /// Its name (default: the profile's institution, with the customer id).
    pub name: Option<String>,
    /// Its institutional User ID (default: the customer id).
    pub user_id: Option<String>,
    /// Its gateway password (default: a random one, shown once in the answer).
    pub password: Option<String>,
    /// Its data-balikan bearer token (default: a random one, in the answer).
    pub balikan_token: Option<String>,
    /// The method names it may call and their service (default: the usual names).
    pub methods: Option<std::collections::BTreeMap<String, dukcapil_domain::Service>>,
    /// Its switches, limits and term from the start, as a PATCH would set them.
    pub settings: InstitutionPatch,
}

/// A free-text value of the create body: non-blank, at most `max` bytes, `no_space` without
/// whitespace anywhere (compared exactly on the wire).
fn text(key: &str, v: &Value, max: usize, no_space: bool) -> Result<String, String> {
    match v.as_str() {
        Some(s)
            if !s.trim().is_empty()
                && s.len() <= max
                && (!no_space || !s.chars().any(char::is_whitespace))
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.to_string())
        }
        _ => Err(format!(
            "`{key}` must be a non-blank string of at most {max} bytes{}",
            if no_space { " without spaces" } else { "" }
        )),
    }
}

impl InstitutionCreate {
    /// Reads a create body; the error names the offending key.
    pub fn from_map(map: &Map<String, Value>) -> Result<InstitutionCreate, String> {
        let mut c = InstitutionCreate::default();
        let mut rest = Map::new();
        for (k, v) in map {
            match k.as_str() {
                "customer_id" => {
                    c.customer_id = v
                        .as_str()
                        .filter(|s| valid_customer_id(s))
                        .ok_or_else(|| {
                            "`customer_id` must be 1-64 letters, digits, `_` or `-` (it is a path segment)".to_string()
                        })?
                        .to_string();
                }
                "agreement" => c.agreement = Some(text(k, v, 64, true)?),
                "name" => c.name = Some(text(k, v, 200, false)?),
                "user_id" => c.user_id = Some(text(k, v, 64, true)?),
                // As exact as the PATCH's: compared byte for byte by the gateway.
                "password" => c.password = Some(text(k, v, MAX_PASSWORD, false)?),
                "balikan_token" => {
                    let t = text(k, v, 200, true)?;
                    if t.len() < 16 {
                        return Err("`balikan_token` must be at least 16 characters".into());
                    }
                    c.balikan_token = Some(t);
                }
                "methods" => {
                    let m: std::collections::BTreeMap<String, dukcapil_domain::Service> =
                        serde_json::from_value(v.clone()).map_err(|_| {
                            "`methods` must map method names to \"lookup\" or \"verification\""
                                .to_string()
                        })?;
                    check_method_names(m.keys().map(String::as_str))
                        .map_err(|e| format!("`methods`: {e}"))?;
                    if m.is_empty() {
                        return Err("`methods` must name at least one method".into());
                    }
                    c.methods = Some(m);
                }
                _ if KEYS.split(", ").any(|p| p == k) => {
                    rest.insert(k.clone(), v.clone());
                }
                other => return Err(format!("unknown key `{other}` ({CREATE_KEYS}, {KEYS})")),
            }
        }
        if c.customer_id.is_empty() {
            return Err("`customer_id` is required".into());
        }
        c.settings = InstitutionPatch::from_map(&rest)?;
        Ok(c)
    }

    /// The body as JSON: the keys given, in the create body's form.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = match serde_json::to_value(&self.settings) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        m.insert(
            "customer_id".into(),
            Value::String(self.customer_id.clone()),
        );
        for (k, v) in [
            ("agreement", &self.agreement),
            ("name", &self.name),
            ("user_id", &self.user_id),
            ("password", &self.password),
            ("balikan_token", &self.balikan_token),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if let Some(methods) = &self.methods {
            m.insert(
                "methods".into(),
                serde_json::to_value(methods).unwrap_or(Value::Null),
            );
        }
        m
    }
}

impl Serialize for InstitutionCreate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for InstitutionCreate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        InstitutionCreate::from_map(&map).map_err(serde::de::Error::custom)
    }
}

/// The answer of `POST /__admin/institutions` (201): the institution as it is now, and the
/// credentials to hand to its developers. A password the mock chose is shown this once (the
/// state file keeps only its Argon2 hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionCreated {
    /// The institution.
    pub institution: InstitutionView,
    /// Its gateway password when the mock chose it; `None` when the body gave one (or for a
    /// configured institution back, whose password is its configuration's).
    pub password: Option<String>,
    /// Its data-balikan bearer token.
    pub balikan_token: String,
}

/// The answer of `DELETE /__admin/institutions/{customer_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionRemoved {
    /// The institution removed. Its journal rows, quota counts and balikan ledger stay: what it
    /// did stays on the record (the operator's unscoped journal shows them).
    pub customer_id: String,
}

#[cfg(test)]
mod create_tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_create_body_reads_its_own_keys_and_the_patch_keys() {
        let c = InstitutionCreate::from_map(&map(json!({
            "customer_id": "pkm_a", "agreement": "dinkes-karanganyar", "user_id": "pkm.a",
            "quota_per_day": 5, "access_hours": "07:00-14:00", "methods": {"CALL_NIK": "lookup"}
        })))
        .unwrap();
        assert_eq!(c.customer_id, "pkm_a");
        assert_eq!(c.settings.quota_per_day, Some(Some(5)));
        assert!(c.settings.access_hours.is_some());
        assert_eq!(c.password, None);
        // What it writes, it reads back the same.
        assert_eq!(InstitutionCreate::from_map(&c.to_map()).unwrap(), c);
    }

    #[test]
    fn a_create_body_names_what_is_wrong() {
        for (body, says) in [
            (json!({"agreement": "x"}), "customer_id"),
            (json!({"customer_id": ""}), "customer_id"),
            (json!({"customer_id": "a b"}), "customer_id"),
            (json!({"customer_id": "a", "user_id": "op 1"}), "user_id"),
            (json!({"customer_id": "a", "password": " "}), "password"),
            (
                json!({"customer_id": "a", "balikan_token": "short"}),
                "balikan_token",
            ),
            (json!({"customer_id": "a", "methods": {}}), "methods"),
            (
                json!({"customer_id": "a", "methods": {"A": "lookup", "a": "lookup"}}),
                "twice",
            ),
            (json!({"customer_id": "a", "term": "2026"}), "term"),
            (json!({"customer_id": "a", "kuota": 1}), "kuota"),
        ] {
            let e = InstitutionCreate::from_map(&map(body.clone())).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }
}
