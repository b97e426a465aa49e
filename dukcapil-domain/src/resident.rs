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
    /// Alive and registered: the record is returned as data.
    #[default]
    Active,
    /// Recorded as deceased ("meninggal dunia").
    Deceased,
    /// "Data ganda": the NIK is held by more than one record.
    Duplicate,
    /// Deactivated in the register ("non aktif").
    Inactive,
}

impl ResidentStatus {
    /// Every status, in declaration order.
    pub const ALL: &'static [ResidentStatus] = &[
        ResidentStatus::Active,
        ResidentStatus::Deceased,
        ResidentStatus::Duplicate,
        ResidentStatus::Inactive,
    ];

    /// The lower-case name used in settings, fixtures and the `residents` listing.
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
    /// `NIK`: the resident's national identity number.
    pub nik: Nik,
    /// `NO_KK`: the family card (Kartu Keluarga) number.
    pub no_kk: NoKk,
    /// `NAMA_LGKP`: full name.
    pub nama_lgkp: String,
    /// `JENIS_KLMIN`: sex.
    pub jenis_klmin: Sex,
    /// `TMPT_LHR`: place of birth.
    pub tmpt_lhr: String,
    /// `TGL_LHR`: date of birth.
    pub tgl_lhr: NaiveDate,
    /// `STATUS_KAWIN`: marital status.
    pub status_kawin: String,
    /// `JENIS_PKRJN`: occupation.
    pub jenis_pkrjn: String,
    /// `GOL_DARAH`: blood type.
    pub gol_darah: String,
    /// `AGAMA`: religion.
    pub agama: String,
    /// `PDDK_AKH`: highest education completed.
    pub pddk_akh: String,
    /// `STAT_HBKEL`: relationship to the head of the family.
    pub stat_hbkel: String,
    /// `NAMA_LGKP_IBU`: mother's full name.
    pub nama_lgkp_ibu: String,
    /// `NAMA_LGKP_AYAH`: father's full name, if recorded.
    pub nama_lgkp_ayah: Option<String>,
    /// `ALAMAT`: street address.
    pub alamat: String,
    /// `DUSUN`: hamlet, if any.
    pub dusun: Option<String>,
    /// `NO_RT`: neighbourhood unit (RT) number.
    pub no_rt: u32,
    /// `NO_RW`: community unit (RW) number.
    pub no_rw: u32,
    /// `KODE_POS`: postal code, if recorded.
    pub kode_pos: Option<u32>,
    /// `NO_PROP`: province code.
    pub no_prop: u32,
    /// `PROP_NAME`: province name.
    pub prop_name: String,
    /// `NO_KAB`: regency/city code within the province.
    pub no_kab: u32,
    /// `KAB_NAME`: regency/city name.
    pub kab_name: String,
    /// `NO_KEC`: district (kecamatan) code within the regency.
    pub no_kec: u32,
    /// `KEC_NAME`: district (kecamatan) name.
    pub kec_name: String,
    /// `NO_KEL`: village (kelurahan/desa) code within the district.
    pub no_kel: u32,
    /// `KEL_NAME`: village (kelurahan/desa) name.
    pub kel_name: String,
    /// `EKTP_STATUS`: electronic ID card (KTP-el) status, if the resident has one.
    pub ektp_status: Option<String>,
    /// `NO_AKTA_LHR`: birth certificate number, if recorded.
    pub no_akta_lhr: Option<String>,
    /// Record status; decides whether a lookup returns data or a confirmation.
    pub status: ResidentStatus,
}

/// One field's value, typed as the gateway types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A 16-digit identity number (`NIK`, `NO_KK`): a number or a string by flavour.
    IdNumber(u64),
    /// A small integer (RT, RW, region codes, postal code).
    Int(u32),
    /// A text value, upper case as stored.
    Text(&'a str),
    /// A date, written in the flavour's date format.
    Date(NaiveDate),
    /// No value: JSON `null`.
    Null,
}

/// How a date is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DateFormat {
    /// `YYYY-MM-DD`, the gateway's default.
    #[default]
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    /// `DD-MM-YYYY`.
    #[serde(rename = "DD-MM-YYYY")]
    DayMonthYearDash,
    /// `DD.MM.YYYY`.
    #[serde(rename = "DD.MM.YYYY")]
    DayMonthYearDot,
}

impl DateFormat {
    /// The `chrono` format string for this format.
    pub const fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::DayMonthYearDash => "%d-%m-%Y",
            DateFormat::DayMonthYearDot => "%d.%m.%Y",
        }
    }

    /// The format's name as written in settings, e.g. `DD-MM-YYYY`.
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
    /// A JSON number (the default); NIKs of provinces 91-96 exceed 2^53.
    #[default]
    Number,
    /// A zero-padded 16-character JSON string.
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
    /// How `NIK` and `NO_KK` are typed.
    pub id_numbers: IdNumberType,
    /// How `TGL_LHR` is written.
    pub date_format: DateFormat,
}

impl Resident {
    /// The value of one field, typed as the gateway types it.
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

/// A field value with its wire flavour, ready to serialise ([`FieldValue::wire`]).
#[derive(Debug, Clone)]
pub struct WireValue<'a> {
    value: FieldValue<'a>,
    flavour: WireFlavour,
}

impl Serialize for WireValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            FieldValue::IdNumber(n) => match self.flavour.id_numbers {
                IdNumberType::Number => s.serialize_u64(n),
                IdNumberType::String => s.collect_str(&format_args!("{n:016}")),
            },
            FieldValue::Int(n) => s.serialize_u32(n),
            FieldValue::Text(t) => s.serialize_str(t),
            FieldValue::Date(d) => s.collect_str(&WireDate(d, self.flavour.date_format)),
            FieldValue::Null => s.serialize_unit(),
        }
    }
}

/// A date in a wire format, written digit by digit (chrono's pattern formatter reads the
/// pattern anew for every date); years outside 0-9999 go through chrono, which signs them.
struct WireDate(NaiveDate, DateFormat);

impl fmt::Display for WireDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::Datelike;
        let WireDate(d, format) = *self;
        let (y, m, day) = (d.year(), d.month(), d.day());
        if !(0..=9999).contains(&y) {
            return write!(f, "{}", d.format(format.pattern()));
        }
        match format {
            DateFormat::Iso => write!(f, "{y:04}-{m:02}-{day:02}"),
            DateFormat::DayMonthYearDash => write!(f, "{day:02}-{m:02}-{y:04}"),
            DateFormat::DayMonthYearDot => write!(f, "{day:02}.{m:02}.{y:04}"),
        }
    }
}

fn opt_text(o: &Option<String>) -> FieldValue<'_> {
    o.as_deref().map_or(FieldValue::Null, FieldValue::Text)
}

impl<'a> FieldValue<'a> {
    /// The value as JSON in the given flavour.
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

    /// The value as the gateway writes it, serialised in place: the answer to every lookup is
    /// written through this, without a `serde_json::Value` (and a string) per field. Writes
    /// exactly what [`FieldValue::to_json`] does.
    pub fn wire(self, flavour: WireFlavour) -> WireValue<'a> {
        WireValue {
            value: self,
            flavour,
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
