//! The gateway's answer shapes: a Spring-style page envelope around one object.

use dukcapil_domain::{FieldSet, Resident, WireFlavour};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The page envelope. `quotaLimiter` appears on verification answers only.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<C: Serialize> {
    pub content: Vec<C>,
    pub last_page: bool,
    pub number_of_elements: usize,
    pub sort: Option<()>,
    pub total_elements: usize,
    pub first_page: bool,
    pub number: u32,
    pub size: usize,
    /// `Some(None)` is written as `null` (unlimited quota).
    #[serde(rename = "quotaLimiter", skip_serializing_if = "Option::is_none")]
    pub quota_limiter: Option<Option<u32>>,
}

impl<C: Serialize> Page<C> {
    pub(crate) fn one(item: C, quota_limiter: Option<Option<u32>>) -> Page<C> {
        Page {
            content: vec![item],
            last_page: true,
            number_of_elements: 1,
            sort: None,
            total_elements: 1,
            first_page: true,
            number: 0,
            size: 1,
            quota_limiter,
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // A full record is about 1.2 KB: one allocation instead of growing from 128 bytes.
        let mut out = Vec::with_capacity(1536);
        // Serialising plain maps of strings and numbers cannot fail.
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }
}

/// A resident record restricted to the granted fields, in the gateway's key order.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub resident: &'a Resident,
    pub granted: FieldSet,
    pub flavour: WireFlavour,
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.granted.len()))?;
        for (field, value) in self.resident.project(self.granted) {
            m.serialize_entry(field.wire_name(), &value.wire(self.flavour))?;
        }
        m.end()
    }
}

/// An object with keys in the given order.
#[derive(Debug)]
pub(crate) struct Ordered(pub Vec<(&'static str, serde_json::Value)>);

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `{"RESPON": text}`: a lookup's error object.
pub(crate) fn respon(text: &str) -> Ordered {
    Ordered(vec![("RESPON", text.into())])
}

/// A verification's error object: code and the text under every key clients read (`RESPON`
/// only with `verify_error_respon`: a client that treats an answer without it specially
/// suggests the real service may leave it out).
pub(crate) fn verify_error(code: &str, text: &str, with_respon: bool) -> Ordered {
    let mut keys = vec![
        ("RESPONSE_CODE", code.into()),
        ("RESPONSE_DESC", text.into()),
        ("RESPONSE", text.into()),
    ];
    if with_respon {
        keys.push(("RESPON", text.into()));
    }
    Ordered(keys)
}
