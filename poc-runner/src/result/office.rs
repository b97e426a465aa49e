//! The assessor office profile (`scenarios/offices/*.toml`): what makes the result letter a
//! surat dinas of the issuing Disdukcapil: kop surat, letter number, signatory, and the PKS it
//! signed with each agency (number, date, addressee).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::file_error::{FileErrors, Source};

use crate::Lang;

/// An office's letter profile (`scenarios/offices/*.toml`): its letterhead and signatory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeProfile {
    /// The office: name, address, letter numbering.
    pub office: Office,
    /// Who signs the letter.
    pub signatory: Signatory,
    /// By agreement id (`fixtures/agreements/*.toml`).
    pub agreements: BTreeMap<String, AgreementPks>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub government: String,
    pub government_en: String,
    pub name: String,
    pub name_en: String,
    pub address: String,
    #[serde(default)]
    pub contact: String,
    pub place: String,
    pub letter_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    pub name: String,
    pub position: String,
    pub position_en: String,
    pub nip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementPks {
    pub addressee: String,
    pub addressee_en: String,
    pub pks_number: String,
    pub pks_date: NaiveDate,
}

/// What the signed record keeps of the profile for one session: enough to render the letter
/// again, the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeInfo {
    /// The office.
    pub office: Office,
    /// Who signs.
    pub signatory: Signatory,
    /// The PKS the letter cites.
    pub pks: AgreementPks,
    /// The letter number, from the profile's pattern.
    pub letter_number: String,
}

impl OfficeProfile {
    /// Reads a profile, with file, line and problem on error.
    pub fn load(path: &Path) -> Result<OfficeProfile, FileErrors> {
        let src = Source::read(path)?;
        Ok(src.parse()?)
    }

    /// The profile's entry for `agreement`, with the letter number of a session started at
    /// `started`; an error when the profile has signed no PKS for that agreement.
    pub fn for_session(
        &self,
        agreement: &str,
        started: DateTime<Utc>,
        path: &Path,
    ) -> Result<OfficeInfo, String> {
        let pks = self.agreements.get(agreement).ok_or_else(|| {
            format!(
                "{}: the office has no PKS for agreement `{agreement}` (it has: {})",
                path.display(),
                self.agreements
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        Ok(OfficeInfo {
            office: self.office.clone(),
            signatory: self.signatory.clone(),
            pks: pks.clone(),
            letter_number: letter_number(&self.office.letter_number, started),
        })
    }
}

const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// Fills `{seq}` (the session's WIB time of day, `HHMM`), `{month}` (Roman) and `{year}`.
pub(crate) fn letter_number(pattern: &str, started: DateTime<Utc>) -> String {
    let d = started.with_timezone(&crate::evidence::wib());
    pattern
        .replace("{seq}", &d.format("%H%M").to_string())
        .replace("{month}", ROMAN[d.month0() as usize])
        .replace("{year}", &d.year().to_string())
}

/// `16 Maret 2020` / `16 March 2020`.
pub fn date(d: NaiveDate, lang: Lang) -> String {
    let t = d.and_hms_opt(12, 0, 0).expect("noon exists").and_utc();
    crate::evidence::wib_date(t, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_load_and_number_letters() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/offices");
        let k = OfficeProfile::load(&dir.join("karanganyar.toml")).unwrap();
        let p = OfficeProfile::load(&dir.join("purbalingga.toml")).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-02T07:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let info = k.for_session("rsud-karanganyar", at, &dir).unwrap();
        assert_eq!(info.letter_number, "470/1405/PoC/XII/2026");
        assert_eq!(date(info.pks.pks_date, Lang::Id), "16 Maret 2020");
        assert!(p.for_session("rsud-karanganyar", at, &dir).is_err());
        assert!(p.for_session("dinkes-purbalingga", at, &dir).is_ok());
    }
}
