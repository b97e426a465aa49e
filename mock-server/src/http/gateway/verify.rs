//! Verification verdicts ("kesesuaian"): a 0-100 similarity score for free-text elements, an
//! exact comparison for the rest.

use dukcapil_domain::{DateFormat, Field, FieldSet, FieldValue, Resident};
use serde_json::Value;

/// `TRESHOLD` when the request has none.
pub(crate) const DEFAULT_THRESHOLD: u8 = 90;

/// Upper case, punctuation removed, runs of spaces collapsed: real data carries trailing spaces,
/// apostrophes, dots and commas that an operator does not type.
pub(crate) fn normalise(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Similarity 0-100 of two free texts after normalisation (normalised Levenshtein).
pub(crate) fn score(submitted: &str, recorded: &str) -> u8 {
    let (a, b) = (normalise(submitted), normalise(recorded));
    (strsim::normalized_levenshtein(&a, &b) * 100.0)
        .round()
        .clamp(0.0, 100.0) as u8
}

/// The submitted value as text (strings as is, numbers as digits); other JSON types have none.
fn submitted_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn exact_match(submitted: &str, recorded: &FieldValue<'_>) -> bool {
    let s = submitted.trim();
    match recorded {
        FieldValue::IdNumber(n) => s.parse::<u64>().is_ok_and(|v| v == *n),
        FieldValue::Int(n) => s.parse::<u32>().is_ok_and(|v| v == *n),
        FieldValue::Date(d) => DateFormat::parse_any(s).is_some_and(|v| v == *d),
        FieldValue::Text(t) => normalise(s) == normalise(t),
        FieldValue::Null => false,
    }
}

/// Whether the element gets a similarity score. Region names (`PROP_NAME`, `KAB_NAME`,
/// `KEC_NAME`, `KEL_NAME`) are free text in a record but judged plainly, like exact elements:
/// a fintech client's test fixture and a government client's canned answer both show them
/// `Sesuai` next to scored names.
fn scored(field: Field) -> bool {
    field.is_free_text()
        && !matches!(
            field,
            Field::PropName | Field::KabName | Field::KecName | Field::KelName
        )
}

/// One verdict: `Sesuai (NN)` / `Tidak Sesuai (NN)` for scored free text, `Sesuai` /
/// `Tidak Sesuai` otherwise (region names compared after normalisation).
pub(crate) fn verdict(
    field: Field,
    submitted: &Value,
    resident: &Resident,
    threshold: u8,
) -> String {
    let recorded = resident.value(field);
    let Some(s) = submitted_text(submitted) else {
        return if scored(field) {
            "Tidak Sesuai (0)".into()
        } else {
            "Tidak Sesuai".into()
        };
    };
    if scored(field) {
        let n = recorded.as_text().map_or(0, |r| score(&s, &r));
        let word = if n >= threshold {
            "Sesuai"
        } else {
            "Tidak Sesuai"
        };
        format!("{word} ({n})")
    } else if exact_match(&s, &recorded) {
        "Sesuai".into()
    } else {
        "Tidak Sesuai".into()
    }
}

/// Verdicts for the submitted elements the agreement grants, in wire order. Elements outside the
/// grant are left out of the answer: the gateway tells nothing about data the agreement does not
/// cover, not even whether it matches.
pub(crate) fn verify(
    resident: &Resident,
    granted: FieldSet,
    submitted: &[(Field, Value)],
    threshold: u8,
) -> Vec<(Field, String)> {
    let mut out: Vec<(Field, String)> = submitted
        .iter()
        .filter(|(f, v)| granted.contains(*f) && !v.is_null())
        .map(|(f, v)| (*f, verdict(*f, v, resident, threshold)))
        .collect();
    out.sort_by_key(|(f, _)| *f);
    out.dedup_by_key(|(f, _)| *f);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalisation_ignores_case_spaces_and_punctuation() {
        assert_eq!(normalise("  sri   lestari. "), "SRI LESTARI");
        assert_eq!(normalise("MA'RUF, H."), "MARUF H");
        assert_eq!(score("Sri Lestari", "SRI LESTARI "), 100);
        assert!(score("SRI LESTARI", "BUDI SANTOSO") < 50);
    }

    proptest! {
        #[test]
        fn score_is_bounded_and_reflexive(a in ".{0,40}", b in ".{0,40}") {
            let s = score(&a, &b);
            prop_assert!(s <= 100);
            prop_assert_eq!(score(&a, &a), 100);
            prop_assert_eq!(s, score(&b, &a));
        }
    }
}
