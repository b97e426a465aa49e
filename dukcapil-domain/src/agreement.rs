//! Agreement (PKS) profiles: what an institution may see, how much, and what it must send back.
//! Loaded from `fixtures/agreements/*.toml`; the shipped profiles are also embedded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::element::{Element, Field, FieldSet};
use crate::reference::Reference;

/// How an institution reaches the data, as the agreement lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMethod {
    /// REST+JSON API calls from the institution's own application.
    WebService,
    /// The browser portal Dukcapil provides; operators search by NIK.
    WebPortal,
    /// A KTP-el (electronic ID card) chip reader.
    CardReader,
}

/// The form a balikan value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalikanFormat {
    /// Printable text, at most `max_len` characters.
    Text,
    /// A value of the `GOL_DARAH` master table.
    GolonganDarah,
    /// Digits only; exactly `length` of them when set.
    Digits,
    /// A date as `YYYY-MM-DD` or `DD-MM-YYYY`.
    Date,
}

/// One identifier the institution must send back as data balikan for each NIK it accessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalikanField {
    /// The `param` key on the wire, e.g. `NO_RM`.
    pub key: String,
    /// Whether every balikan row must carry this key.
    #[serde(default)]
    pub required: bool,
    /// The form the value must have.
    pub format: BalikanFormat,
    /// Maximum length for `Text` values (100 when unset).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Exact number of digits for `Digits` values, when set.
    #[serde(default)]
    pub length: Option<usize>,
    /// What the field is, in Indonesian (for the PoC letter and error messages).
    #[serde(default)]
    pub label: String,
}

impl BalikanField {
    /// Checks one submitted value; `Err` says what is wrong, in the balikan service's words.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("tidak boleh kosong".into());
        }
        match self.format {
            BalikanFormat::Text => {
                let max = self.max_len.unwrap_or(100);
                if v.chars().count() > max {
                    return Err(format!("maksimal {max} karakter"));
                }
                if v.chars().any(char::is_control) {
                    return Err("mengandung karakter kontrol".into());
                }
            }
            BalikanFormat::GolonganDarah => {
                if !Reference::get().is_blood_type(v) {
                    return Err(
                        "bukan golongan darah yang valid (A, B, AB, O, A+, ..., TIDAK TAHU)".into(),
                    );
                }
            }
            BalikanFormat::Digits => {
                if !v.chars().all(|c| c.is_ascii_digit()) {
                    return Err("harus berupa angka".into());
                }
                if let Some(n) = self.length {
                    if v.len() != n {
                        return Err(format!("harus {n} digit"));
                    }
                }
            }
            BalikanFormat::Date => {
                if crate::DateFormat::parse_any(v).is_none() {
                    return Err("tanggal tidak valid (YYYY-MM-DD atau DD-MM-YYYY)".into());
                }
            }
        }
        Ok(())
    }
}

/// The period an agreement runs, both days inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// First day in force.
    pub start: NaiveDate,
    /// Last day in force.
    pub end: NaiveDate,
}

impl Term {
    /// Whether the agreement is in force on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }
}

/// The dummy credentials Disdukcapil issues for the institution in the test environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DummyCredentials {
    /// Institutional user ID (`user_id`).
    pub user_id: String,
    /// Institutional password (`password`).
    pub password: String,
    /// Registered source address (IP LAN), sent as `ip_user`.
    pub ip_user: String,
    /// Bearer token for the data balikan service.
    pub balikan_token: String,
}

/// The file form of an agreement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementFile {
    id: String,
    institution: String,
    customer_id: String,
    #[serde(default)]
    region: Option<String>,
    signed_year: u16,
    access_methods: Vec<AccessMethod>,
    elements: Vec<Element>,
    #[serde(default)]
    element_fields: BTreeMap<Element, Vec<Field>>,
    quota_per_day: Option<u32>,
    #[serde(default = "default_operator_field")]
    operator_field: String,
    term: Term,
    #[serde(default)]
    balikan: Vec<BalikanField>,
    credentials: DummyCredentials,
    #[serde(default)]
    notes: String,
}

fn default_operator_field() -> String {
    "User_ID".into()
}

/// A validated agreement profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    /// Profile id, the fixture's file stem, e.g. `rsud-karanganyar`.
    pub id: String,
    /// The institution's name, upper case, e.g. `RSUD KABUPATEN KARANGANYAR`.
    pub institution: String,
    /// The `CUSTOMER_ID` path segment that names the institution.
    pub customer_id: String,
    /// The regional-gateway path segment (`33-13`), for the older URL form.
    pub region: Option<String>,
    /// Year the PKS was signed.
    pub signed_year: u16,
    /// The access methods the agreement grants.
    pub access_methods: Vec<AccessMethod>,
    /// The data elements the agreement grants.
    pub elements: Vec<Element>,
    /// The wire keys granted: the elements' keys, narrowed by `element_fields`.
    pub granted: FieldSet,
    /// `None`: unlimited.
    pub quota_per_day: Option<u32>,
    /// Request-body key that carries the local operator's username (default `User_ID`).
    pub operator_field: String,
    /// The period the agreement is in force; outside it the institution is inactive (outcome 16).
    pub term: Term,
    /// The identifiers to send back as data balikan.
    pub balikan: Vec<BalikanField>,
    /// The dummy credentials for the test environment.
    pub credentials: DummyCredentials,
    /// Free-text notes on the profile (sources, quirks).
    pub notes: String,
}

impl Agreement {
    /// The balikan fields every row must carry.
    pub fn required_balikan(&self) -> impl Iterator<Item = &BalikanField> {
        self.balikan.iter().filter(|b| b.required)
    }

    /// The balikan field with wire key `key`, if the agreement lists it.
    pub fn balikan_field(&self, key: &str) -> Option<&BalikanField> {
        self.balikan.iter().find(|b| b.key == key)
    }

    /// Parses and validates one agreement file's text. `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Agreement, AgreementError> {
        let file: AgreementFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((None, None), |s| {
                let (l, c) = line_col(text, s.start);
                (Some(l), Some(c))
            });
            AgreementError {
                path: origin.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        let invalid = |message: String| AgreementError {
            path: origin.to_path_buf(),
            line: None,
            column: None,
            message,
        };
        let mut granted = FieldSet::EMPTY;
        for e in &file.elements {
            granted = granted.union(e.field_set());
        }
        for (element, fields) in &file.element_fields {
            if !file.elements.contains(element) {
                return Err(invalid(format!(
                    "element_fields.{element:?} narrows an element that is not granted"
                )));
            }
            let narrowed: FieldSet = fields.iter().copied().collect();
            if !narrowed.is_subset(element.field_set()) {
                return Err(invalid(format!(
                    "element_fields: {:?} are not keys of element {element:?}",
                    narrowed.difference(element.field_set())
                )));
            }
            granted = granted.difference(element.field_set()).union(narrowed);
        }
        if file.term.end < file.term.start {
            return Err(invalid("term.end is before term.start".into()));
        }
        if file.operator_field.trim().is_empty() {
            return Err(invalid("operator_field must not be empty".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for b in &file.balikan {
            if !seen.insert(&b.key) {
                return Err(invalid(format!("balikan key `{}` is listed twice", b.key)));
            }
        }
        Ok(Agreement {
            id: file.id,
            institution: file.institution,
            customer_id: file.customer_id,
            region: file.region,
            signed_year: file.signed_year,
            access_methods: file.access_methods,
            elements: file.elements,
            granted,
            quota_per_day: file.quota_per_day,
            operator_field: file.operator_field,
            term: file.term,
            balikan: file.balikan,
            credentials: file.credentials,
            notes: file.notes,
        })
    }

    /// Reads every `*.toml` in `dir`, sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Agreement>, AgreementError> {
        let io = |e: std::io::Error| AgreementError {
            path: dir.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read agreements directory: {e}"),
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| AgreementError {
                path: p.clone(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            })?;
            out.push(Agreement::from_toml(&text, &p)?);
        }
        check_unique(&out, dir)?;
        Ok(out)
    }

    /// The shipped profiles: the four real agreements of the digest plus `dev`.
    pub fn embedded() -> Vec<Agreement> {
        EMBEDDED
            .iter()
            .map(|(name, text)| {
                Agreement::from_toml(text, Path::new(name))
                    .expect("embedded agreement fixtures are valid")
            })
            .collect()
    }
}

fn check_unique(list: &[Agreement], dir: &Path) -> Result<(), AgreementError> {
    let mut ids = std::collections::HashSet::new();
    let mut customers = std::collections::HashSet::new();
    for a in list {
        if !ids.insert(&a.id) || !customers.insert(&a.customer_id) {
            return Err(AgreementError {
                path: dir.to_path_buf(),
                line: None,
                column: None,
                message: format!(
                    "agreement id `{}` or customer id `{}` appears twice",
                    a.id, a.customer_id
                ),
            });
        }
    }
    Ok(())
}

const EMBEDDED: &[(&str, &str)] = &[
    (
        "fixtures/agreements/dev.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/agreements/dev.toml"
        )),
    ),
    (
        "fixtures/agreements/dinkes-karanganyar.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/agreements/dinkes-karanganyar.toml"
        )),
    ),
    (
        "fixtures/agreements/dinkes-purbalingga.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/agreements/dinkes-purbalingga.toml"
        )),
    ),
    (
        "fixtures/agreements/kecamatan-jumantono.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/agreements/kecamatan-jumantono.toml"
        )),
    ),
    (
        "fixtures/agreements/rsud-karanganyar.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/agreements/rsud-karanganyar.toml"
        )),
    ),
];

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// An agreement file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), location(*line, *column))]
pub struct AgreementError {
    /// The file (or directory) concerned.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_match_the_digest() {
        let all = Agreement::embedded();
        let ids: Vec<_> = all.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "dev",
                "dinkes-karanganyar",
                "dinkes-purbalingga",
                "kecamatan-jumantono",
                "rsud-karanganyar"
            ]
        );
        let by = |id: &str| all.iter().find(|a| a.id == id).unwrap().clone();
        let rsud = by("rsud-karanganyar");
        assert_eq!(rsud.quota_per_day, Some(1000));
        assert!(rsud.granted.contains(Field::GolDarah));
        assert!(!rsud.granted.contains(Field::Agama));
        assert_eq!(rsud.operator_field, "User_ID");
        let purbalingga = by("dinkes-purbalingga");
        assert_eq!(purbalingga.elements.len(), 8);
        assert!(!purbalingga.granted.contains(Field::NoKk));
        assert!(
            purbalingga.granted.contains(Field::NoKec)
                && !purbalingga.granted.contains(Field::NoKel)
        );
        assert_eq!(purbalingga.quota_per_day, Some(200));
        assert_eq!(by("dinkes-karanganyar").quota_per_day, None);
        assert!(
            by("kecamatan-jumantono")
                .balikan_field("NO_REGISTER")
                .unwrap()
                .required
        );
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        let text = "id = \"x\"\ninstitution = \"X\"\ncustomer_id = \"x\"\nsigned_year = 2020\naccess_methods = [\"web_service\"]\nelements = [\"nik\", \"nama_panggilan\"]\n";
        let err = Agreement::from_toml(text, Path::new("x.toml")).unwrap_err();
        assert_eq!(err.line, Some(6));
        let shown = err.to_string();
        assert!(shown.starts_with("x.toml:6:"), "{shown}");
        assert!(shown.contains("nama_panggilan"), "{shown}");
    }

    #[test]
    fn balikan_formats() {
        let blood = BalikanField {
            key: "GOL_DARAH".into(),
            required: false,
            format: BalikanFormat::GolonganDarah,
            max_len: None,
            length: None,
            label: String::new(),
        };
        assert!(blood.check("AB+").is_ok());
        assert!(blood.check("Z").is_err());
        let jkn = BalikanField {
            key: "NO_JKN".into(),
            required: true,
            format: BalikanFormat::Digits,
            max_len: None,
            length: Some(13),
            label: String::new(),
        };
        assert!(jkn.check("0001234567890").is_ok());
        assert!(jkn.check("123").is_err());
        assert!(jkn.check("").is_err());
    }
}
