//! Reading a request's endpoint, institution, operator and NIKs for rule matching, tolerant of
//! every key casing and request form of the wire contract. Nothing here rejects a request: what
//! cannot be read is simply unknown, and the gateway handler judges the request itself.

use std::collections::HashMap;

use std::sync::Arc;

use dukcapil_domain::{Agreement, Service};
use serde_json::Value;

use dukcapil_mock_api::Endpoint;

use crate::core::institutions::Methods;

/// Operator key of institutions the directory does not know (the Juknis default).
pub(crate) const DEFAULT_OPERATOR_FIELD: &str = "User_ID";

/// Per-institution facts the matcher needs: the operator key, the method names it may call and
/// the balikan token's owner.
#[derive(Debug, Clone, Default)]
pub(crate) struct Directory {
    /// Lower-cased customer id → operator key.
    operator_fields: HashMap<String, String>,
    /// Lower-cased customer id → method names, where they are not the defaults.
    methods: HashMap<String, Arc<Methods>>,
    /// Balikan bearer token → customer id.
    tokens: HashMap<String, String>,
}

/// Where the fault layer reads the directory from: fixed, or following the running mock's
/// institutions.
pub(crate) trait DirectorySource: std::fmt::Debug + Send + Sync {
    /// The directory as it is now.
    fn current(&self) -> Arc<Directory>;
}

impl DirectorySource for Arc<Directory> {
    fn current(&self) -> Arc<Directory> {
        self.clone()
    }
}

impl Directory {
    pub(crate) fn from_agreements(agreements: &[Agreement]) -> Self {
        let mut dir = Directory::default();
        for a in agreements {
            dir.operator_fields
                .insert(a.customer_id.to_ascii_lowercase(), a.operator_field.clone());
            dir.tokens
                .insert(a.credentials.balikan_token.clone(), a.customer_id.clone());
        }
        dir
    }

    /// The method names an institution may call, when they are not the defaults.
    pub(crate) fn with_methods(mut self, customer_id: &str, methods: Arc<Methods>) -> Self {
        self.methods
            .insert(customer_id.to_ascii_lowercase(), methods);
        self
    }

    /// The endpoint and (for gateway calls) the customer id a path addresses: a method name
    /// the institution may call (any alias of the service) counts as its service's endpoint.
    pub(crate) fn classify(&self, path: &str) -> Option<(Endpoint, Option<String>)> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["dukcapil", "get_json", customer, method]
            | ["dukcapil", "get_json", _, customer, method] => {
                let service = match self.methods.get(&customer.to_ascii_lowercase()) {
                    Some(m) => m.service(method),
                    None => Methods::defaults().service(method),
                };
                let endpoint = match service? {
                    Service::Lookup => Endpoint::CallNik,
                    Service::Verification => Endpoint::Verify,
                };
                Some((endpoint, Some((*customer).to_string())))
            }
            ["data_balikan", "public", "api", "store"] => Some((Endpoint::BalikanStore, None)),
            ["data_balikan", "public", "api", "upload"] => Some((Endpoint::BalikanUpload, None)),
            _ => None,
        }
    }

    /// The operator key of an institution (`User_ID` when unknown).
    pub(crate) fn operator_field(&self, customer_id: Option<&str>) -> &str {
        customer_id
            .and_then(|c| self.operator_fields.get(&c.to_ascii_lowercase()))
            .map_or(DEFAULT_OPERATOR_FIELD, String::as_str)
    }

    /// Who owns a balikan bearer token (the `Authorization` header's value).
    pub(crate) fn token_owner(&self, authorization: &str) -> Option<&str> {
        let token = authorization.trim();
        let token = token
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .map_or(token, |_| token[7..].trim());
        self.tokens.get(token).map(String::as_str)
    }
}

/// Operator and NIKs found in a request's query string and JSON body.
pub(crate) fn body_fields(
    endpoint: Endpoint,
    operator_key: &str,
    query: Option<&str>,
    body: &[u8],
) -> (Option<String>, Vec<String>) {
    let mut operator = None;
    let mut niks = Vec::new();
    // The query-parameter form some hospital clients use (`?USER_ID=&PASSWORD=&NIK=`).
    if let Some(q) = query {
        for (k, v) in form_pairs(q) {
            if k.eq_ignore_ascii_case("nik") && !v.is_empty() {
                niks.push(v);
            } else if k == operator_key {
                operator = Some(v);
            }
        }
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return (operator, niks);
    };
    match endpoint {
        Endpoint::CallNik | Endpoint::Verify => {
            if let Value::Object(map) = &json {
                for (k, v) in map {
                    if k.eq_ignore_ascii_case("nik") {
                        niks.extend(scalar_text(v));
                    } else if k == operator_key {
                        operator = scalar_text(v).or(operator);
                    }
                }
            }
        }
        Endpoint::BalikanStore => {
            // [{"id_lembaga":…,"data":[{"NIK":…,"param":[…]}]}]; a bare object is tolerated.
            let batches = match &json {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for batch in batches {
                let Some(Value::Array(rows)) = batch.get("data") else {
                    continue;
                };
                for row in rows {
                    if let Value::Object(map) = row {
                        niks.extend(
                            map.iter()
                                .filter(|(k, _)| k.eq_ignore_ascii_case("nik"))
                                .filter_map(|(_, v)| scalar_text(v)),
                        );
                    }
                }
            }
        }
        // Multipart CSV/xlsx: the layer does not parse files to decide on a fault.
        Endpoint::BalikanUpload => {}
    }
    (operator, niks)
}

/// A string as is, or a number's exact digits (16-digit NIKs fit a u64 exactly).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` pairs of a query string.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_both_path_forms_in_any_case() {
        let dir = Directory::default().with_methods(
            "puskesmas_x",
            Arc::new(Methods::new([("BYNIK", Service::Lookup)])),
        );
        let classify = |p: &str| dir.classify(p);
        assert_eq!(
            classify("/dukcapil/get_json/rsud_3313/get_nik"),
            Some((Endpoint::CallNik, Some("rsud_3313".into())))
        );
        assert_eq!(
            classify("/dukcapil/get_json/rsud_3313/nik_verifby_elemen"),
            Some((Endpoint::Verify, Some("rsud_3313".into())))
        );
        assert_eq!(
            classify("/dukcapil/get_json/puskesmas_x/bynik"),
            Some((Endpoint::CallNik, Some("puskesmas_x".into())))
        );
        assert_eq!(classify("/dukcapil/get_json/puskesmas_x/CALL_NIK"), None);
        assert_eq!(
            classify("/dukcapil/get_json/rsud_3313/CALL_NIK"),
            Some((Endpoint::CallNik, Some("rsud_3313".into())))
        );
        assert_eq!(
            classify("/dukcapil/get_json/33-13/rsud_3313/call_nik"),
            Some((Endpoint::CallNik, Some("rsud_3313".into())))
        );
        assert_eq!(
            classify("/dukcapil/get_json/dev/Call_Verify_By_Elemen/"),
            Some((Endpoint::Verify, Some("dev".into())))
        );
        assert_eq!(
            classify("/data_balikan/public/api/store"),
            Some((Endpoint::BalikanStore, None))
        );
        assert_eq!(
            classify("/data_balikan/public/api/upload"),
            Some((Endpoint::BalikanUpload, None))
        );
        assert_eq!(classify("/__admin/faults"), None);
        assert_eq!(classify("/dukcapil/get_json/dev/CALL_OTHER"), None);
    }

    #[test]
    fn reads_nik_and_operator_in_every_form() {
        let f = |body: &str, query: Option<&str>| {
            body_fields(Endpoint::CallNik, "User_ID", query, body.as_bytes())
        };
        assert_eq!(
            f(
                r#"{"nik":"3313014107890003","user_id":"rsud","User_ID":"op.01"}"#,
                None
            ),
            (Some("op.01".into()), vec!["3313014107890003".into()])
        );
        assert_eq!(
            f(r#"{"NIK":9101014107890003,"user_id":"x"}"#, None),
            (None, vec!["9101014107890003".into()])
        );
        assert_eq!(
            f(
                "",
                Some("USER_ID=a&PASSWORD=b&NIK=3313014107890003&User_ID=op%2001")
            ),
            (Some("op 01".into()), vec!["3313014107890003".into()])
        );
        assert_eq!(f("not json {", None), (None, vec![]));
        assert_eq!(f("[1,2]", Some("%zz=%4")), (None, vec![]));
        let custom = body_fields(
            Endpoint::Verify,
            "OPERATOR",
            None,
            br#"{"NIK":"1","OPERATOR":"x","User_ID":"y"}"#,
        );
        assert_eq!(custom, (Some("x".into()), vec!["1".into()]));
    }

    #[test]
    fn reads_every_nik_of_a_balikan_batch() {
        let body = br#"[{"id_lembaga":"rsud_3313","data":[{"NIK":"1","param":[]},{"nik":2}]},{"data":[{"NIK":"3"}]}]"#;
        assert_eq!(
            body_fields(Endpoint::BalikanStore, "User_ID", None, body).1,
            vec!["1", "2", "3"]
        );
    }

    #[test]
    fn directory_from_the_embedded_agreements() {
        let agreements = Agreement::embedded();
        let dir = Directory::from_agreements(&agreements);
        let a = &agreements[0];
        assert_eq!(
            dir.operator_field(Some(&a.customer_id.to_uppercase())),
            a.operator_field
        );
        assert_eq!(dir.operator_field(None), DEFAULT_OPERATOR_FIELD);
        let header = format!("Bearer {}", a.credentials.balikan_token);
        assert_eq!(dir.token_owner(&header), Some(a.customer_id.as_str()));
        assert_eq!(dir.token_owner("Bearer wrong"), None);
        assert_eq!(
            dir.token_owner("é"),
            None,
            "short non-ASCII header does not panic"
        );
    }
}
