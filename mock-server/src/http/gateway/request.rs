//! Reading a gateway call the way real clients send it: any key casing and alias of the
//! contract, NIK as string or number, the query-parameter form, any content type. Nothing here
//! rejects with an HTTP error: problems become a `ParseProblem`, answered with outcome 07.

use axum::body::Body;
use axum::extract::Query;
use axum::http::Uri;
use http_body_util::BodyExt;
use serde_json::{Map, Value};

/// Largest body kept and parsed.
pub(crate) const BODY_CAP: usize = 64 * 1024;
/// A larger body is still read (and thrown away) up to this size, so the client gets an answer
/// instead of a reset connection; beyond it the connection is closed after the answer.
const DRAIN_CAP: usize = 16 * 1024 * 1024;

pub(crate) const NIK_KEYS: &[&str] = &["nik", "NIK"];
pub(crate) const USER_KEYS: &[&str] = &["user_id", "USER_ID"];
pub(crate) const PASSWORD_KEYS: &[&str] = &["password", "PASSWORD"];
pub(crate) const IP_KEYS: &[&str] = &[
    "ip_user",
    "IP_USER",
    "ip_users",
    "IP_USERS",
    "ip_address",
    "IP_ADDRESS",
];
pub(crate) const THRESHOLD_KEYS: &[&str] = &["TRESHOLD", "treshold", "THRESHOLD", "threshold"];

/// Why a call could not be read; recorded in the journal's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseProblem {
    #[error("body larger than {BODY_CAP} bytes")]
    TooLarge,
    #[error("body could not be read: {0}")]
    Io(String),
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is JSON but not an object")]
    NotAnObject,
    #[error("query string could not be read: {0}")]
    Query(String),
    #[error("`{key}` has the wrong type ({found})")]
    WrongType { key: String, found: &'static str },
}

/// A call's parameters, with the aliases resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Params {
    /// Every key as sent (query parameters first, the body's keys over them).
    pub map: Map<String, Value>,
    pub user_id: Option<String>,
    pub password: Option<String>,
    pub ip: Option<String>,
    /// The NIK as sent: a string, or a JSON number's digits.
    pub nik: Option<String>,
    /// `TRESHOLD` as sent, if any (verification only).
    pub threshold: Option<Value>,
    /// Sent as `?USER_ID=&PASSWORD=&NIK=` on an empty POST. That hospital client sends no IP
    /// key, so the registered address is checked against the connection's source alone.
    pub query_form: bool,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The first of `keys` present (and not null).
fn first<'a>(map: &'a Map<String, Value>, keys: &[&str]) -> Option<(&'a str, &'a Value)> {
    keys.iter()
        .find_map(|k| map.get_key_value(*k))
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), v))
}

fn text(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, ParseProblem> {
    match first(map, keys) {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some((k, v)) => Err(ParseProblem::WrongType {
            key: k.to_string(),
            found: type_name(v),
        }),
    }
}

impl Params {
    pub(crate) fn from_map(map: Map<String, Value>) -> Result<Params, ParseProblem> {
        let nik = match first(&map, NIK_KEYS) {
            None => None,
            Some((_, Value::String(s))) => Some(s.clone()),
            // Some clients send the NIK as a JSON number; its digits are what was sent.
            Some((_, Value::Number(n))) => Some(n.to_string()),
            Some((k, v)) => {
                return Err(ParseProblem::WrongType {
                    key: k.to_string(),
                    found: type_name(v),
                })
            }
        };
        Ok(Params {
            user_id: text(&map, USER_KEYS)?,
            password: text(&map, PASSWORD_KEYS)?,
            ip: text(&map, IP_KEYS)?,
            nik,
            threshold: first(&map, THRESHOLD_KEYS).map(|(_, v)| v.clone()),
            map,
            query_form: false,
        })
    }

    /// The operator field as sent, under its exact key: text as is, a number as its digits,
    /// anything else as its JSON text. `None` when absent or null.
    pub(crate) fn operator(&self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// `TRESHOLD` (string "90" or number 90), 0-100; `Err` when present but not such a value.
    pub(crate) fn threshold_value(&self, default: u8) -> Result<u8, ParseProblem> {
        let bad = |v: &Value| ParseProblem::WrongType {
            key: "TRESHOLD".into(),
            found: type_name(v),
        };
        match &self.threshold {
            None => Ok(default),
            Some(v @ Value::String(s)) => s
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|t| *t <= 100)
                .ok_or_else(|| bad(v)),
            Some(v @ Value::Number(n)) => n
                .as_u64()
                .filter(|t| *t <= 100)
                .map(|t| t as u8)
                .ok_or_else(|| bad(v)),
            Some(v) => Err(bad(v)),
        }
    }
}

/// Reads the body, keeping at most `BODY_CAP` bytes; draining up to `DRAIN_CAP` so the client
/// can read the answer.
pub(crate) async fn read_body(mut body: Body) -> Result<Vec<u8>, ParseProblem> {
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ParseProblem::Io(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= BODY_CAP {
                buf.extend_from_slice(&data);
            } else if total > DRAIN_CAP {
                return Err(ParseProblem::TooLarge);
            }
        }
    }
    if total > BODY_CAP {
        return Err(ParseProblem::TooLarge);
    }
    Ok(buf)
}

/// Parameters from the query string and the body: the body's keys win; an empty body (the
/// `?USER_ID=&PASSWORD=&NIK=` form) leaves the query's.
pub(crate) fn parse(uri: &Uri, body: &[u8]) -> Result<Params, ParseProblem> {
    let mut map = Map::new();
    let body_empty = body.iter().all(u8::is_ascii_whitespace);
    if uri.query().is_some() {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|e| ParseProblem::Query(e.body_text()))?;
        for (k, v) in pairs {
            map.insert(k, Value::String(v));
        }
    }
    let query_form = body_empty && !map.is_empty();
    if !body_empty {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ParseProblem::Json(e.to_string()))?;
        match value {
            Value::Object(o) => map.extend(o),
            _ => return Err(ParseProblem::NotAnObject),
        }
    }
    let mut params = Params::from_map(map)?;
    params.query_form = query_form;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str) -> Result<Params, ParseProblem> {
        parse(&Uri::from_static("/x"), body.as_bytes())
    }

    #[test]
    fn aliases_and_types() {
        let a = p(r#"{"NIK": 3313014107890003, "USER_ID":"u", "PASSWORD":"p", "ip_users":"1.2.3.4", "extra": [1]}"#)
            .unwrap();
        assert_eq!(a.nik.as_deref(), Some("3313014107890003"));
        assert_eq!(
            (a.user_id.as_deref(), a.password.as_deref(), a.ip.as_deref()),
            (Some("u"), Some("p"), Some("1.2.3.4"))
        );
        let b = p(r#"{"nik":"1", "user_id":"u", "ip_address":"x", "User_ID": 42}"#).unwrap();
        assert_eq!(b.ip.as_deref(), Some("x"));
        assert_eq!(b.operator("User_ID").as_deref(), Some("42"));
        assert_eq!(b.operator("user_id").as_deref(), Some("u"));
        assert!(matches!(
            p(r#"{"user_id": 5}"#),
            Err(ParseProblem::WrongType { .. })
        ));
        assert!(matches!(
            p(r#"{"nik": [1]}"#),
            Err(ParseProblem::WrongType { .. })
        ));
        assert_eq!(p("[1]"), Err(ParseProblem::NotAnObject));
        assert!(matches!(p("{\"nik\":"), Err(ParseProblem::Json(_))));
        assert!(matches!(
            parse(&Uri::from_static("/x"), b"{\"nik\":\"\xff\"}"),
            Err(ParseProblem::Json(_))
        ));
    }

    #[test]
    fn query_form_and_threshold() {
        let uri: Uri = "/x?USER_ID=u&PASSWORD=p&NIK=3313014107890003"
            .parse()
            .unwrap();
        let q = parse(&uri, b"").unwrap();
        assert_eq!(q.nik.as_deref(), Some("3313014107890003"));
        assert_eq!(q.user_id.as_deref(), Some("u"));
        assert!(
            q.query_form,
            "an empty POST with query parameters is the query form"
        );
        assert!(!p(r#"{"NIK":"1"}"#).unwrap().query_form);
        let t = p(r#"{"TRESHOLD":"80"}"#).unwrap();
        assert_eq!(t.threshold_value(90), Ok(80));
        assert_eq!(p(r#"{"TRESHOLD":75}"#).unwrap().threshold_value(90), Ok(75));
        assert_eq!(p("{}").unwrap().threshold_value(90), Ok(90));
        assert!(p(r#"{"TRESHOLD":"abc"}"#)
            .unwrap()
            .threshold_value(90)
            .is_err());
        assert!(p(r#"{"TRESHOLD":101}"#)
            .unwrap()
            .threshold_value(90)
            .is_err());
    }
}
