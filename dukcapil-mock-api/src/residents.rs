//! Canary residents: `POST /__admin/residents` and `GET`/`PATCH /__admin/residents/{nik}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One resident to create, or the change of one: wire keys (`NIK`, `NAMA_LGKP`, `TGL_LHR`, ...)
/// and `STATUS`. Values not given are generated plausibly and consistently with the NIK.
/// `POST /__admin/residents` takes one object or an array of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResidentCreate(pub Map<String, Value>);

impl ResidentCreate {
    /// Sets one wire key (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ResidentCreate {
        self.0.insert(key.to_string(), value.into());
        self
    }
}

/// A resident as the admin API shows it: every wire key, `STATUS`, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentRecord {
    /// Wire keys and `STATUS`.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    /// `overlay` (created or changed through the admin API) or `population`.
    pub source: String,
}

impl ResidentRecord {
    /// The NIK (16 digits), if the record has one.
    pub fn nik(&self) -> Option<String> {
        match self.fields.get("NIK")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The `201` answer of `POST /__admin/residents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentsCreated {
    /// The residents created, in the order given.
    pub residents: Vec<ResidentRecord>,
}
