//! Canary residents: plausible records whose every text element carries a marker unique to the
//! session, so finding a value anywhere proves where it came from. Edge values (60-character
//! names, apostrophes, trailing spaces, NIKs beyond 2^53, leap-day births) on request.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use dukcapil_domain::{Field, Nik, Sex};
use dukcapil_mock_api::ResidentCreate;
use rand::Rng;

use crate::scenario::{EdgeValue, ResidentInput, ResidentState};

/// Six uppercase letters and digits, unique enough per session (`QZ` + 4 random).
pub(crate) fn session_marker() -> String {
    const ABC: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ23456789";
    let mut r = rand::thread_rng();
    let tail: String = (0..4)
        .map(|_| ABC[r.gen_range(0..ABC.len())] as char)
        .collect();
    format!("QZ{tail}")
}

/// A canary as created at the mock.
#[derive(Debug, Clone)]
pub(crate) struct Canary {
    pub reference: String,
    pub nik: String,
    pub state: ResidentState,
    /// Every value the runner chose (text elements carry the marker).
    pub values: Vec<(Field, String)>,
    marker: String,
}

impl Canary {
    /// The admin body creating it; `None` for residents that must not exist.
    pub(crate) fn create_body(&self) -> Option<ResidentCreate> {
        let status = match self.state {
            ResidentState::Absent | ResidentState::Malformed => return None,
            ResidentState::Active => "active",
            ResidentState::Deceased => "deceased",
            ResidentState::Duplicate => "duplicate",
            ResidentState::Inactive => "inactive",
        };
        let body = self
            .values
            .iter()
            .fold(ResidentCreate::default(), |b, (f, v)| {
                b.with(f.wire_name(), v.clone())
            });
        Some(body.with("STATUS", status))
    }

    pub(crate) fn value(&self, key: &str) -> Option<String> {
        let f = Field::from_wire(key)?;
        self.values
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn marked(&self, v: &str) -> bool {
        v.contains(&self.marker)
    }
}

/// The changed value of a canary field (still marked, visibly different).
pub(crate) fn mutated(old: &str) -> String {
    format!("{} BARU", old.trim_end())
}

#[derive(Debug)]
pub(crate) struct Factory {
    marker: String,
    used: BTreeSet<String>,
    n: u32,
}

impl Factory {
    pub(crate) fn new(marker: &str) -> Factory {
        Factory {
            marker: marker.to_string(),
            used: BTreeSet::new(),
            n: 0,
        }
    }

    fn nik(&mut self, district: u32, birth: NaiveDate, sex: Sex) -> String {
        let mut r = rand::thread_rng();
        // Districts come from the reference data; a bad one falls back to Jatipuro (331301).
        for attempt in 0..200 {
            let d = if attempt < 100 { district } else { 331301 };
            let serial: u16 = r.gen_range(1000..9999);
            let n = Nik::from_parts(d, birth, sex, serial).to_string();
            if n.parse::<Nik>().is_ok() && self.used.insert(n.clone()) {
                return n;
            }
        }
        Nik::from_parts(331301, birth, sex, 9999).to_string()
    }

    /// Every NIK this factory gave a canary (the runner's own lookups use only these).
    pub(crate) fn issued(&self) -> &BTreeSet<String> {
        &self.used
    }

    pub(crate) fn make(&mut self, input: &ResidentInput) -> Canary {
        self.n += 1;
        let mut r = rand::thread_rng();
        let edge = |e: EdgeValue| input.edge.contains(&e);
        // A unique tag per canary: the session marker plus a running letter pair.
        let tag = format!(
            "{}{}{}",
            self.marker,
            (b'A' + (self.n / 26 % 26) as u8) as char,
            (b'A' + (self.n % 26) as u8) as char
        );
        let sex = if r.gen_bool(0.5) {
            Sex::Female
        } else {
            Sex::Male
        };
        let birth = if edge(EdgeValue::LeapDayBirth) {
            NaiveDate::from_ymd_opt([1988, 1992, 1996][r.gen_range(0..3)], 2, 29)
        } else {
            NaiveDate::from_ymd_opt(
                r.gen_range(1955..2004),
                r.gen_range(1..13),
                r.gen_range(1..29),
            )
        }
        .unwrap_or_default();
        // Papua (91xx) NIKs are above 2^53; Karanganyar (3313) otherwise.
        let district = if edge(EdgeValue::NikAbove2e53) {
            910301
        } else {
            331301 + r.gen_range(0..9)
        };
        let mut nik = self.nik(district, birth, sex);
        // Between 2^53 and 2^54 doubles hold only even integers: an odd NIK is always corrupted.
        while edge(EdgeValue::NikAbove2e53) && nik.ends_with(['0', '2', '4', '6', '8']) {
            nik = self.nik(district, birth, sex);
        }
        if input.status == ResidentState::Malformed {
            // Fifteen digits: the Dukcapil format wants sixteen.
            nik.truncate(15);
        }
        // Every text element carries its own marker (the canary's tag and a two-digit element
        // code), so no element's value is part of another's: `O QZAB3CAA05` (blood type) is not
        // inside `JATIPURO QZAB3CAA13` (village), and finding a value names its element.
        let name_tag = format!("{tag}01");
        let mut name = format!("SRI WAHYUNI {name_tag}");
        if edge(EdgeValue::Apostrophe) {
            name = format!("SITI NUR'AINI {name_tag}");
        }
        if edge(EdgeValue::LongName) {
            name = format!(
                "RADEN AYU {name_tag} KUSUMAWARDHANI PRAMESWARI SETYANINGRUM PUTRI LESTARI"
            )
            .chars()
            .take(60)
            .collect();
        }
        if edge(EdgeValue::TrailingSpace) {
            let kept: String = name.trim_end().chars().take(59).collect();
            name = format!("{} ", kept.trim_end());
        }
        let t = |base: &str, code: u8| format!("{base} {tag}{code:02}");
        let values = vec![
            (Field::Nik, nik.clone()),
            (Field::NamaLgkp, name),
            (Field::TmptLhr, t("KARANGANYAR", 2)),
            (
                Field::JenisKlmin,
                match sex {
                    Sex::Female => "PEREMPUAN".into(),
                    Sex::Male => "LAKI-LAKI".into(),
                },
            ),
            (Field::TglLhr, birth.format("%Y-%m-%d").to_string()),
            (Field::StatusKawin, t("KAWIN", 3)),
            (Field::JenisPkrjn, t("WIRASWASTA", 4)),
            (Field::GolDarah, t("O", 5)),
            (Field::Agama, t("ISLAM", 6)),
            (Field::PddkAkh, t("SLTA", 7)),
            (Field::StatHbkel, t("ISTRI", 8)),
            (Field::NamaLgkpIbu, t("SUMIYATI", 9)),
            (Field::NamaLgkpAyah, t("SUKIMAN", 10)),
            (Field::Alamat, t("JL. LAWU NO. 7", 11)),
            (Field::Dusun, t("DUSUN KRAJAN", 12)),
            (Field::KelName, t("JATIPURO", 13)),
            (Field::EktpStatus, t("ELEKTRONIK", 14)),
            (Field::NoAktaLhr, t("AL.3313", 15)),
        ];
        Canary {
            reference: input.reference.get_ref().clone(),
            nik,
            state: input.status,
            values,
            marker: self.marker.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(edge: Vec<EdgeValue>, status: ResidentState) -> ResidentInput {
        ResidentInput {
            reference: toml::Spanned::new(0..0, "x".to_string()),
            status,
            edge,
        }
    }

    #[test]
    fn edge_values_are_what_they_claim() {
        let mut f = Factory::new("QZTEST");
        let c = f.make(&input(
            vec![EdgeValue::LongName, EdgeValue::TrailingSpace],
            ResidentState::Active,
        ));
        let name = c.value("NAMA_LGKP").unwrap();
        assert!(name.chars().count() >= 59, "{name:?}");
        assert!(name.ends_with(' ') && c.marked(&name));
        let c = f.make(&input(
            vec![
                EdgeValue::NikAbove2e53,
                EdgeValue::LeapDayBirth,
                EdgeValue::Apostrophe,
            ],
            ResidentState::Active,
        ));
        let nik: Nik = c.nik.parse().unwrap();
        assert!(nik.exceeds_double_precision());
        assert_ne!(
            nik.value() as f64 as u64,
            nik.value(),
            "a double must corrupt it"
        );
        assert!(c.value("TGL_LHR").unwrap().ends_with("-02-29"));
        assert!(c.value("NAMA_LGKP").unwrap().contains('\''));
        let m = f.make(&input(vec![], ResidentState::Malformed));
        assert_eq!(m.nik.len(), 15);
        assert!(m.create_body().is_none());
        let a = f.make(&input(vec![], ResidentState::Active));
        let b = f.make(&input(vec![], ResidentState::Active));
        assert_ne!(a.nik, b.nik);
        assert_ne!(a.value("ALAMAT"), b.value("ALAMAT"));
    }

    /// No canary value is part of another one's, within a canary or across canaries of a session,
    /// whatever edge values are asked for: finding a value names its element and its canary.
    #[test]
    fn no_canary_value_is_inside_another() {
        let mut f = Factory::new("QZTEST");
        let mut all: Vec<(String, Field, String)> = Vec::new();
        let edges = [
            vec![],
            vec![EdgeValue::LongName, EdgeValue::TrailingSpace],
            vec![EdgeValue::Apostrophe, EdgeValue::LeapDayBirth],
        ];
        for i in 0..60 {
            let c = f.make(&input(edges[i % 3].clone(), ResidentState::Active));
            for (field, v) in &c.values {
                all.push((c.nik.clone(), *field, v.clone()));
            }
        }
        for (nik_a, fa, a) in &all {
            // Sex and birth date carry no marker: they are the record's own, not the session's.
            if matches!(fa, Field::JenisKlmin | Field::TglLhr | Field::Nik) {
                continue;
            }
            for (nik_b, fb, b) in &all {
                if (nik_a, fa) == (nik_b, fb) {
                    continue;
                }
                assert!(
                    !crate::shown::shows(b, a) && !b.contains(a.trim_end()),
                    "{fa} {a:?} of {nik_a} is inside {fb} {b:?} of {nik_b}"
                );
            }
        }
    }

    /// The false alarm this prevents: an agreement granting the village but not the blood type,
    /// an application showing the village only.
    #[test]
    fn a_granted_village_is_not_taken_for_a_blood_type() {
        use crate::checks::field_limits::field_limits;
        use crate::checks::{CapturedOutput, CheckOutcome};
        use dukcapil_domain::FieldSet;
        let c = Factory::new("QZTEST").make(&input(vec![], ResidentState::Active));
        let granted: FieldSet = [Field::Nik, Field::NamaLgkp, Field::KelName]
            .into_iter()
            .collect();
        let shown = |fields: &[Field]| CapturedOutput {
            label: crate::Evidence::verbatim("lookup"),
            text: fields
                .iter()
                .map(|f| format!("<td>{}</td>", c.value(f.wire_name()).unwrap()))
                .collect(),
            elements: None,
        };
        let ok = field_limits(
            granted,
            &c.values,
            &[],
            &[shown(&[Field::Nik, Field::NamaLgkp, Field::KelName])],
        );
        assert_eq!(ok.outcome, CheckOutcome::Pass, "{ok:?}");
        let bad = field_limits(
            granted,
            &c.values,
            &[],
            &[shown(&[Field::KelName, Field::GolDarah])],
        );
        assert_eq!(bad.outcome, CheckOutcome::Fail, "{bad:?}");
        assert!(
            bad.evidence.iter().any(|e| e.en.contains("GOL_DARAH")),
            "{bad:?}"
        );
        assert!(
            !bad.evidence.iter().any(|e| e.en.contains("KEL_NAME")),
            "{bad:?}"
        );
    }
}
