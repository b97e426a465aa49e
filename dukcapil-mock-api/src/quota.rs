//! Daily quotas: `GET`/`PUT /__admin/quota/{customer_id}`.

use chrono::NaiveDate;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A quota snapshot: today's (WIB day of the mock's clock) usage against the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    /// The institution.
    pub customer_id: String,
    /// The WIB day counted.
    pub day: NaiveDate,
    /// Calls counted on `day`.
    pub used: u32,
    /// Daily limit; `None`: unlimited.
    pub limit: Option<u32>,
    /// What remains today; `None`: unlimited.
    pub remaining: Option<u32>,
}

/// The `PUT /__admin/quota/{customer_id}` body: `{"used": n}` sets today's count, `{"limit": n}`
/// or `{"limit": null}` (unlimited) the daily quota. `None` fields are left as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaChange {
    /// Today's count.
    pub used: Option<u32>,
    /// The daily limit; `Some(None)`: unlimited.
    pub limit: Option<Option<u32>>,
}

impl QuotaChange {
    /// Reads a PUT body; the error names the offending key.
    pub fn from_map(body: &Map<String, Value>) -> Result<QuotaChange, String> {
        let number = |k: &str, v: &Value| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("`{k}` must be a whole number"))
        };
        let mut change = QuotaChange::default();
        for (k, v) in body {
            match k.as_str() {
                "used" => change.used = Some(number(k, v)?),
                "limit" if v.is_null() => change.limit = Some(None),
                "limit" => change.limit = Some(Some(number(k, v)?)),
                other => return Err(format!("unknown key `{other}` (used, limit)")),
            }
        }
        Ok(change)
    }
}

impl Serialize for QuotaChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(l) = &self.limit {
            m.serialize_entry("limit", l)?;
        }
        if let Some(u) = &self.used {
            m.serialize_entry("used", u)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for QuotaChange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        QuotaChange::from_map(&map).map_err(serde::de::Error::custom)
    }
}
