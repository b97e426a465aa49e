//! A resident's full record, its projection onto a granted field set, and its wire rendering.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::element::{Field, FieldSet};
use crate::nik::{Nik, NoKk, Sex};

/// Record status in the population database; only `Active` records are returned as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentStatus {
    #[default]
    Active,
    Deceased,
    /// "Data ganda": the NIK is held by more than one record.
    Duplicate,
    Inactive,
}

impl ResidentStatus {
    pub const ALL: &'static [ResidentStatus] = &[
        ResidentStatus::Active,
        ResidentStatus::Deceased,
        ResidentStatus::Duplicate,
        ResidentStatus::Inactive,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ResidentStatus::Active => "active",
            ResidentStatus::Deceased => "deceased",
            ResidentStatus::Duplicate => "duplicate",
            ResidentStatus::Inactive => "inactive",
        }
    }

    /// The outcome a lookup of a record with this status gives.
    pub const fn outcome(self) -> crate::Outcome {
        match self {
            ResidentStatus::Active => crate::Outcome::Found,
            ResidentStatus::Deceased => crate::Outcome::Deceased,
            ResidentStatus::Duplicate => crate::Outcome::Duplicate,
            ResidentStatus::Inactive => crate::Outcome::Inactive,
        }
    }
}

impl fmt::Display for ResidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResidentStatus {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentStatus::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::UnknownName {
                kind: "status (active|deceased|duplicate|inactive)",
                name: s.into(),
            })
    }
}

/// A full population record, with every field the gateway knows. Text values are stored exactly
/// as the gateway would send them (upper case, quirks such as trailing spaces preserved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    pub nik: Nik,
    pub no_kk: NoKk,
    pub nama_lgkp: String,
    pub jenis_klmin: Sex,
    pub tmpt_lhr: String,
    pub tgl_lhr: NaiveDate,
    pub status_kawin: String,
    pub jenis_pkrjn: String,
    pub gol_darah: String,
    pub agama: String,
    pub pddk_akh: String,
    pub stat_hbkel: String,
    pub nama_lgkp_ibu: String,
    pub nama_lgkp_ayah: Option<String>,
    pub alamat: String,
    pub dusun: Option<String>,
    pub no_rt: u32,
    pub no_rw: u32,
    pub kode_pos: Option<u32>,
    pub no_prop: u32,
    pub prop_name: String,
    pub no_kab: u32,
    pub kab_name: String,
    pub no_kec: u32,
    pub kec_name: String,
    pub no_kel: u32,
    pub kel_name: String,
    pub ektp_status: Option<String>,
    pub no_akta_lhr: Option<String>,
    pub status: ResidentStatus,
}

/// One field's value, typed as the gateway types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A 16-digit identity number (`NIK`, `NO_KK`): a number or a string by flavour.
    IdNumber(u64),
    Int(u32),
    Text(&'a str),
    Date(NaiveDate),
    Null,
}

/// How a date is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DateFormat {
    #[default]
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    #[serde(rename = "DD-MM-YYYY")]
    DayMonthYearDash,
    #[serde(rename = "DD.MM.YYYY")]
    DayMonthYearDot,
}

impl DateFormat {
    pub const fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::DayMonthYearDash => "%d-%m-%Y",
            DateFormat::DayMonthYearDot => "%d.%m.%Y",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::DayMonthYearDash => "DD-MM-YYYY",
            DateFormat::DayMonthYearDot => "DD.MM.YYYY",
        }
    }

    /// Parses a date in any of the formats seen on the wire.
    pub fn parse_any(s: &str) -> Option<NaiveDate> {
        [
            DateFormat::Iso,
            DateFormat::DayMonthYearDash,
            DateFormat::DayMonthYearDot,
        ]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s.trim(), f.pattern()).ok())
    }
}

impl FromStr for DateFormat {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "YYYY-MM-DD" => Ok(DateFormat::Iso),
            "DD-MM-YYYY" => Ok(DateFormat::DayMonthYearDash),
            "DD.MM.YYYY" => Ok(DateFormat::DayMonthYearDot),
            _ => Err(crate::UnknownName {
                kind: "date format (YYYY-MM-DD|DD-MM-YYYY|DD.MM.YYYY)",
                name: s.into(),
            }),
        }
    }
}

/// How `NIK` and `NO_KK` are typed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdNumberType {
    #[default]
    Number,
    String,
}

impl FromStr for IdNumberType {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "number" => Ok(IdNumberType::Number),
            "string" => Ok(IdNumberType::String),
            _ => Err(crate::UnknownName {
                kind: "NIK/KK type (number|string)",
                name: s.into(),
            }),
        }
    }
}

/// The wire "flavour" of a record: the real gateway is inconsistent here, so these are settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WireFlavour {
    pub id_numbers: IdNumberType,
    pub date_format: DateFormat,
}

impl Resident {
    pub fn value(&self, field: Field) -> FieldValue<'_> {
        use FieldValue::*;
        match field {
            Field::NoKk => IdNumber(self.no_kk.value()),
            Field::Nik => IdNumber(self.nik.value()),
            Field::NamaLgkp => Text(&self.nama_lgkp),
            Field::JenisKlmin => Text(self.jenis_klmin.wire_name()),
            Field::TmptLhr => Text(&self.tmpt_lhr),
            Field::TglLhr => Date(self.tgl_lhr),
            Field::StatusKawin => Text(&self.status_kawin),
            Field::JenisPkrjn => Text(&self.jenis_pkrjn),
            Field::GolDarah => Text(&self.gol_darah),
            Field::Agama => Text(&self.agama),
            Field::PddkAkh => Text(&self.pddk_akh),
            Field::StatHbkel => Text(&self.stat_hbkel),
            Field::NamaLgkpIbu => Text(&self.nama_lgkp_ibu),
            Field::NamaLgkpAyah => opt_text(&self.nama_lgkp_ayah),
            Field::Alamat => Text(&self.alamat),
            Field::Dusun => opt_text(&self.dusun),
            Field::NoRt => Int(self.no_rt),
            Field::NoRw => Int(self.no_rw),
            Field::KodePos => self.kode_pos.map_or(Null, Int),
            Field::NoProp => Int(self.no_prop),
            Field::PropName => Text(&self.prop_name),
            Field::NoKab => Int(self.no_kab),
            Field::KabName => Text(&self.kab_name),
            Field::NoKec => Int(self.no_kec),
            Field::KecName => Text(&self.kec_name),
            Field::NoKel => Int(self.no_kel),
            Field::KelName => Text(&self.kel_name),
            Field::EktpStatus => opt_text(&self.ektp_status),
            Field::NoAktaLhr => opt_text(&self.no_akta_lhr),
        }
    }

    /// The record restricted to `granted`, in wire order. Never yields a field outside it.
    pub fn project(&self, granted: FieldSet) -> impl Iterator<Item = (Field, FieldValue<'_>)> {
        granted.iter().map(move |f| (f, self.value(f)))
    }

    /// The record as the gateway's JSON object, restricted to `granted`.
    pub fn to_wire_json(
        &self,
        granted: FieldSet,
        flavour: WireFlavour,
    ) -> serde_json::Map<String, serde_json::Value> {
        self.project(granted)
            .map(|(f, v)| (f.wire_name().to_string(), v.to_json(flavour)))
            .collect()
    }

    /// All fields with `NIK`/`NO_KK` as strings and ISO dates, plus `STATUS`: the `residents` CLI shape.
    pub fn to_listing_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let flavour = WireFlavour {
            id_numbers: IdNumberType::String,
            date_format: DateFormat::Iso,
        };
        let mut m = self.to_wire_json(FieldSet::all(), flavour);
        m.insert(
            "STATUS".into(),
            serde_json::Value::String(self.status.as_str().into()),
        );
        m
    }
}

fn opt_text(o: &Option<String>) -> FieldValue<'_> {
    o.as_deref().map_or(FieldValue::Null, FieldValue::Text)
}

impl FieldValue<'_> {
    pub fn to_json(&self, flavour: WireFlavour) -> serde_json::Value {
        use serde_json::Value;
        match *self {
            FieldValue::IdNumber(n) => match flavour.id_numbers {
                // serde_json writes u64 with every digit, also beyond 2^53.
                IdNumberType::Number => Value::from(n),
                IdNumberType::String => Value::String(format!("{n:016}")),
            },
            FieldValue::Int(n) => Value::from(n),
            FieldValue::Text(s) => Value::String(s.to_string()),
            FieldValue::Date(d) => {
                Value::String(d.format(flavour.date_format.pattern()).to_string())
            }
            FieldValue::Null => Value::Null,
        }
    }

    /// The value as text, for comparison and display (identity numbers zero-padded, ISO dates).
    pub fn as_text(&self) -> Option<String> {
        match *self {
            FieldValue::IdNumber(n) => Some(format!("{n:016}")),
            FieldValue::Int(n) => Some(n.to_string()),
            FieldValue::Text(s) => Some(s.to_string()),
            FieldValue::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            FieldValue::Null => None,
        }
    }
}
