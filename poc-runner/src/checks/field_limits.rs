//! *Field limits* (digest rule 1): what the application shows holds only the granted elements,
//! and granted edge values come through exactly.

use dukcapil_domain::{Field, FieldSet, Outcome};

use super::{Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::{CapturedOutput, Observation};
use crate::scenario::ResidentState;
use crate::shown::shows;

/// *Field limits*: no canary value of a field outside `granted` appears in any output; every
/// granted edge value appears exactly (not truncated, trimmed or rounded).
///
/// `canary` holds the canary resident's value for every field, each carrying a unique marker, so
/// finding a value means the element was shown.
pub(crate) fn field_limits(
    granted: FieldSet,
    canary: &[(Field, String)],
    edge_fields: &[Field],
    outputs: &[CapturedOutput],
) -> Evaluation {
    if outputs.is_empty() {
        return Evaluation::review(ev!(
            "tidak ada keluaran aplikasi yang terekam untuk penduduk canary",
            "no application output was captured for the canary resident"
        ));
    }
    let mut problems = Vec::new();
    // Where the target maps elements to places: an element outside the grant with anything
    // at its place is shown, even in another format than the canary's value.
    let mut mapped: std::collections::BTreeMap<Field, Vec<Evidence>> = Default::default();
    for o in outputs {
        for (wire, text) in o.elements.iter().flatten() {
            let Some(field) = Field::from_wire(wire) else {
                continue;
            };
            if !granted.contains(field) && text.chars().any(char::is_alphanumeric) {
                mapped.entry(field).or_default().push(o.label.clone());
            }
        }
    }
    for (field, places) in &mapped {
        let places = Evidence::join(places, ", ");
        problems.push(ev!(lang =>
            "{field} di luar elemen data PKS tetapi ditampilkan di tempatnya pada: {}",
            "{field} is outside the agreement but shown at its place in: {}",
            places.text(lang)
        ));
    }
    for (field, value) in canary {
        if value.trim().is_empty() {
            continue;
        }
        let shown: Vec<Evidence> = outputs
            .iter()
            .filter(|o| shows(&o.text, value))
            .map(|o| o.label.clone())
            .collect();
        if !granted.contains(*field) && !shown.is_empty() && !mapped.contains_key(field) {
            let places = Evidence::join(&shown, ", ");
            problems.push(ev!(lang =>
                "{field} di luar elemen data PKS tetapi ditampilkan di: {}",
                "{field} is outside the agreement but shown in: {}",
                places.text(lang)
            ));
        }
        if granted.contains(*field) && edge_fields.contains(field) && shown.is_empty() {
            problems.push(ev!(
                "nilai batas {field} {value:?} tidak muncul persis di keluaran mana pun (terpotong, dipangkas, atau dibulatkan?)",
                "{field} edge value {value:?} does not appear exactly in any output (truncated, trimmed or rounded?)"
            ));
        }
    }
    let edges = edge_fields.iter().filter(|f| granted.contains(**f)).count();
    Evaluation::judge(
        problems,
        ev!(
            "{} keluaran: tidak ada elemen data di luar PKS; {edges} nilai batas tampil persis",
            "{} outputs: no element outside the grant; {edges} edge value(s) exact",
            outputs.len()
        ),
    )
}

/// The scenario's `field_limits` check.
#[derive(Debug)]
pub(crate) struct FieldLimits {
    /// Granted edge values (a 60-character name, the NIK) must be shown exactly.
    pub(crate) edge_values: bool,
}

impl Check for FieldLimits {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn unexercised(&self, _obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
        let answered = rows
            .iter()
            .any(|r| r.is_lookup() && r.outcome == Outcome::Found.code());
        (!answered).then(|| {
            ev!(
                "tidak ada pencarian yang dijawab mock dengan data penduduk: batas elemen data tidak dapat dinilai",
                "no lookup was answered with resident data: field limits could not be judged"
            )
        })
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        _rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let canary: Vec<(Field, String)> = obs
            .residents
            .values()
            .filter(|c| c.state == ResidentState::Active)
            .flat_map(|c| c.values.iter().cloned())
            .collect();
        let edge: Vec<Field> = if self.edge_values {
            vec![Field::Nik, Field::NamaLgkp]
        } else {
            vec![]
        };
        field_limits(obs.target.agreement.granted, &canary, &edge, &obs.outputs)
    }
}
