//! Parsing of the gateway's `CALL_NIK` answer (contract §3-4). Pure: no I/O, so every shape
//! the gateway produces is unit-tested here.

use dukcapil_domain::{DateFormat, Field, FieldSet, Outcome};
use serde_json::Value;

/// What one `CALL_NIK` answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A resident record: wire key → display value, in the gateway's order.
    Found(Record),
    /// A business outcome other than found, with the gateway's own `RESPON` text.
    Outcome { outcome: Outcome, respon: String },
    /// A `RESPON` text neither catalogue knows.
    Unrecognised { respon: String },
}

/// A found resident's elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Wire key → display value, in the gateway's order.
    pub(crate) fields: Vec<(String, String)>,
}

impl Record {
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Keeps only keys the agreement grants; unknown keys go too (the app's own whitelist,
    /// whatever the gateway sends).
    pub(crate) fn retain_granted(&mut self, granted: FieldSet) {
        self.fields
            .retain(|(k, _)| Field::from_wire(k).is_some_and(|f| granted.contains(f)));
    }
}

/// The body was not a gateway answer. Truncated JSON lands here, and is retried as a
/// transport fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnswerError {
    #[error("jawaban bukan JSON yang utuh: {0}")]
    NotJson(String),
    #[error("jawaban tidak memuat `content` berisi satu objek")]
    NoContent,
}

/// How to read identity numbers: exactly (the correct way) or through a double, which is what
/// JavaScript-style parsers do and what the `float-nik` defect reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum NumberMode {
    #[default]
    Exact,
    Double,
}

/// Parsing switches; both default to the correct behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ParseOptions {
    pub numbers: NumberMode,
    /// Treat any object in `content` as found data (the `error-as-found` defect).
    pub error_as_found: bool,
}

/// Parses a `CALL_NIK` response body.
pub(crate) fn parse_answer(body: &[u8], opts: ParseOptions) -> Result<Answer, AnswerError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| AnswerError::NotJson(e.to_string()))?;
    let first = match &v {
        Value::Object(m) => match m.get("content") {
            Some(Value::Array(items)) => items.first(),
            _ => None,
        },
        _ => None,
    };
    let Some(Value::Object(obj)) = first else {
        // Verification-style errors carry RESPON at top level (contract §5); accept them here
        // too rather than calling them malformed.
        if let Some(Value::String(t)) = v.get("RESPON") {
            return Ok(outcome_of(t));
        }
        return Err(AnswerError::NoContent);
    };
    if !opts.error_as_found {
        if let Some(respon) = obj.get("RESPON") {
            let text = match respon {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Ok(outcome_of(&text));
        }
    }
    let fields = obj
        .iter()
        .map(|(k, val)| (k.clone(), display_value(k, val, opts.numbers)))
        .collect();
    Ok(Answer::Found(Record { fields }))
}

fn outcome_of(text: &str) -> Answer {
    match Outcome::from_text(text) {
        Some(outcome) => Answer::Outcome {
            outcome,
            respon: text.to_string(),
        },
        None => Answer::Unrecognised {
            respon: text.to_string(),
        },
    }
}

/// One value as the app shows it. Identity numbers stay exact strings; dates become
/// `YYYY-MM-DD` whichever flavour the gateway used; names keep their spaces and punctuation.
fn display_value(key: &str, v: &Value, numbers: NumberMode) -> String {
    let id_number = key == "NIK" || key == "NO_KK";
    match v {
        Value::Null => String::new(),
        Value::Number(n) if id_number && numbers == NumberMode::Double => {
            // The defect: a double holds 53 bits, so NIKs of provinces 91-96 change.
            format!("{:.0}", n.as_f64().unwrap_or(f64::NAN))
        }
        Value::String(s) if id_number && numbers == NumberMode::Double => s
            .trim()
            .parse::<f64>()
            .map(|f| format!("{f:.0}"))
            .unwrap_or_else(|_| s.clone()),
        // serde_json keeps integers as u64/i64, so this prints every digit.
        Value::Number(n) => n.to_string(),
        Value::String(s) if key == "TGL_LHR" => DateFormat::parse_any(s)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| s.clone()),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dukcapil_domain::Catalogue;

    fn envelope(obj: &str) -> Vec<u8> {
        format!(
            r#"{{"content":[{obj}],"lastPage":true,"numberOfElements":1,"sort":null,"totalElements":1,"firstPage":true,"number":0,"size":1}}"#
        )
        .into_bytes()
    }

    fn found(body: &[u8], opts: ParseOptions) -> Record {
        match parse_answer(body, opts).unwrap() {
            Answer::Found(r) => r,
            other => panic!("expected found, got {other:?}"),
        }
    }

    #[test]
    fn nik_beyond_2_pow_53_stays_exact() {
        // 9171... > 2^53 = 9007199254740992; a double rounds it to an even neighbour.
        let body = envelope(
            r#"{"NO_KK":9471010101120007,"NIK":9171014107890003,"NAMA_LGKP":"O'NEIL ","TGL_LHR":"1989-07-01"}"#,
        );
        let r = found(&body, ParseOptions::default());
        assert_eq!(r.get("NIK"), Some("9171014107890003"));
        assert_eq!(r.get("NO_KK"), Some("9471010101120007"));
        assert_eq!(r.get("NAMA_LGKP"), Some("O'NEIL "));
        let bad = found(
            &body,
            ParseOptions {
                numbers: NumberMode::Double,
                ..Default::default()
            },
        );
        assert_eq!(bad.get("NIK"), Some("9171014107890004"));
    }

    #[test]
    fn nik_as_string_flavour_is_kept() {
        let body = envelope(r#"{"NIK":"9671014107890003","NO_RT":2,"NO_RW":null}"#);
        let r = found(&body, ParseOptions::default());
        assert_eq!(r.get("NIK"), Some("9671014107890003"));
        assert_eq!(r.get("NO_RT"), Some("2"));
        assert_eq!(r.get("NO_RW"), Some(""));
    }

    #[test]
    fn every_date_flavour_reads_the_same_day() {
        for raw in ["2000-02-29", "29-02-2000", "29.02.2000"] {
            let body = envelope(&format!(r#"{{"NIK":3313016902000001,"TGL_LHR":"{raw}"}}"#));
            let r = found(&body, ParseOptions::default());
            assert_eq!(r.get("TGL_LHR"), Some("2000-02-29"), "{raw}");
        }
        let body = envelope(r#"{"TGL_LHR":"31/02/2000"}"#);
        assert_eq!(
            found(&body, ParseOptions::default()).get("TGL_LHR"),
            Some("31/02/2000")
        );
    }

    #[test]
    fn every_outcome_text_of_both_catalogues_is_recognised() {
        for &o in Outcome::ALL.iter().filter(|o| **o != Outcome::Found) {
            for c in [Catalogue::Gateway, Catalogue::Juknis] {
                let text = o.text(c);
                let body = envelope(&format!(r#"{{"RESPON":"{text}"}}"#));
                assert_eq!(
                    parse_answer(&body, ParseOptions::default()).unwrap(),
                    Answer::Outcome {
                        outcome: o,
                        respon: text.to_string()
                    },
                    "{o:?} {c:?}"
                );
            }
        }
    }

    #[test]
    fn unknown_text_and_top_level_error_shapes() {
        let body = envelope(r#"{"RESPON":"Server sedang sibuk"}"#);
        assert_eq!(
            parse_answer(&body, ParseOptions::default()).unwrap(),
            Answer::Unrecognised {
                respon: "Server sedang sibuk".into()
            }
        );
        let body = br#"{"RESPONSE_CODE":"05","RESPON":"Kuota Akses Hari ini telah Habis"}"#;
        assert!(matches!(
            parse_answer(body, ParseOptions::default()).unwrap(),
            Answer::Outcome {
                outcome: Outcome::QuotaExhausted,
                ..
            }
        ));
    }

    #[test]
    fn error_as_found_defect_presents_the_error_object() {
        let body = envelope(r#"{"RESPON":"Data Tidak Ditemukan"}"#);
        let r = found(
            &body,
            ParseOptions {
                error_as_found: true,
                ..Default::default()
            },
        );
        assert_eq!(r.get("RESPON"), Some("Data Tidak Ditemukan"));
    }

    #[test]
    fn truncated_and_odd_bodies_are_errors_not_panics() {
        let full = envelope(r#"{"NIK":3313014107890003,"NAMA_LGKP":"SRI"}"#);
        for cut in [0, 1, 10, full.len() / 2, full.len() - 1] {
            assert!(parse_answer(&full[..cut], ParseOptions::default()).is_err());
        }
        for odd in [
            &b"[]"[..],
            b"{}",
            b"{\"content\":[]}",
            b"{\"content\":[1]}",
            b"null",
        ] {
            assert_eq!(
                parse_answer(odd, ParseOptions::default()),
                Err(AnswerError::NoContent)
            );
        }
    }

    #[test]
    fn whitelist_drops_ungranted_and_unknown_keys() {
        let mut r = Record {
            fields: vec![
                ("NIK".into(), "1".into()),
                ("AGAMA".into(), "ISLAM".into()),
                ("NAMA_LGKP_IBU".into(), "X".into()),
                ("SOMETHING".into(), "Y".into()),
            ],
        };
        let granted: FieldSet = [Field::Nik].into_iter().collect();
        r.retain_granted(granted);
        assert_eq!(r.fields, vec![("NIK".to_string(), "1".to_string())]);
    }
}
