//! The 16-digit identity numbers: NIK (Nomor Induk Kependudukan) and No. KK (family card).
//!
//! NIK = `PP KK CC DDMMYY NNNN`: the district (kecamatan) where it was first registered, the
//! birth date with 40 added to the day for women, and a serial from 0001 (UU 23/2006 jo. 24/2013,
//! Pasal 13). No. KK = issuing district, recording date `DDMMYY`, family serial.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::reference::Reference;

/// Sex, as `JENIS_KLMIN` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// Male; `LAKI-LAKI` on the wire.
    #[serde(rename = "LAKI-LAKI")]
    Male,
    /// Female; `PEREMPUAN` on the wire.
    #[serde(rename = "PEREMPUAN")]
    Female,
}

impl Sex {
    /// The value as `JENIS_KLMIN` prints it.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Sex::Male => "LAKI-LAKI",
            Sex::Female => "PEREMPUAN",
        }
    }
}

/// 2^53: the largest integer an IEEE double holds exactly. NIKs of provinces 91-96 exceed it.
pub const DOUBLE_EXACT_LIMIT: u64 = 1 << 53;

/// Which rule a 16-digit number broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 16 characters long.
    #[error("must be 16 digits, found {found} characters")]
    Length {
        /// Number of characters given.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("must contain digits only, found {found:?} at position {position}")]
    NonDigit {
        /// 1-based position of the character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Digits 1-6 are not a known kecamatan code.
    #[error("digits 1-6 ({code}) are not a kecamatan code in the Kepmendagri region list")]
    UnknownDistrict {
        /// The six-digit code given.
        code: u32,
    },
    /// Digits 7-12 do not form a valid date.
    #[error("digits 7-12 ({digits}) are not a valid {what}")]
    InvalidDate {
        /// Digits 7-12 as given.
        digits: String,
        /// Which date was expected (birth date or recording date).
        what: &'static str,
    },
    /// Digits 13-16 are all zero.
    #[error("digits 13-16 (serial) must not be 0000")]
    ZeroSerial,
}

/// Checks everything but the date, returning the value and the digit string.
fn parse_common(s: &str) -> Result<(u64, [u8; 16]), IdNumberError> {
    let count = s.chars().count();
    if count != 16 {
        return Err(IdNumberError::Length { found: count });
    }
    let mut d = [0u8; 16];
    for (i, c) in s.chars().enumerate() {
        if !c.is_ascii_digit() {
            return Err(IdNumberError::NonDigit {
                position: i + 1,
                found: c,
            });
        }
        d[i] = c as u8 - b'0';
    }
    let district = d[..6].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    if Reference::get().district(district).is_none() {
        return Err(IdNumberError::UnknownDistrict { code: district });
    }
    if d[12..].iter().all(|&x| x == 0) {
        return Err(IdNumberError::ZeroSerial);
    }
    Ok((d.iter().fold(0u64, |a, &x| a * 10 + u64::from(x)), d))
}

fn two(d: &[u8]) -> u32 {
    u32::from(d[0]) * 10 + u32::from(d[1])
}

/// Day, month and two-digit year form a date in the 1900s or 2000s.
fn valid_dmy(day: u32, month: u32, yy: u32) -> bool {
    NaiveDate::from_ymd_opt(1900 + yy as i32, month, day).is_some()
        || NaiveDate::from_ymd_opt(2000 + yy as i32, month, day).is_some()
}

/// The century a two-digit year belongs to, seen from `today`: the latest year not after it.
pub fn resolve_century(yy: u32, today: NaiveDate) -> i32 {
    let candidate = 2000 + yy as i32;
    if candidate <= today.year() {
        candidate
    } else {
        1900 + yy as i32
    }
}

/// A validated NIK.
///
/// ```
/// use dukcapil_domain::{Nik, Sex};
/// let nik: Nik = "3313014107890003".parse().unwrap();
/// assert_eq!(nik.sex(), Sex::Female);        // day 41 = the 1st, plus 40
/// assert_eq!(nik.district_code(), 331301);  // Jatipuro, Karanganyar
/// assert_eq!(nik.to_string(), "3313014107890003");
/// assert!("3313010007890003".parse::<Nik>().is_err()); // day 00
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nik(u64);

impl Nik {
    /// Builds a NIK from its parts (no validation of the district; the generator passes real ones).
    pub fn from_parts(district: u32, birth: NaiveDate, sex: Sex, serial: u16) -> Nik {
        let day = birth.day() + if sex == Sex::Female { 40 } else { 0 };
        let dmy =
            u64::from(day) * 10_000 + u64::from(birth.month()) * 100 + (birth.year() % 100) as u64;
        Nik(u64::from(district) * 10_000_000_000 + dmy * 10_000 + u64::from(serial))
    }

    /// The value as an integer (exact: always below 10^16).
    pub fn value(self) -> u64 {
        self.0
    }

    /// Whether a client that parses JSON numbers into doubles will corrupt this NIK.
    pub fn exceeds_double_precision(self) -> bool {
        self.0 > DOUBLE_EXACT_LIMIT
    }

    /// Digits 1-2: the province code, e.g. 33.
    pub fn province_code(self) -> u32 {
        (self.0 / 100_000_000_000_000) as u32
    }

    /// Digits 1-4: the regency/city code, e.g. 3313.
    pub fn regency_code(self) -> u32 {
        (self.0 / 1_000_000_000_000) as u32
    }

    /// Digits 1-6: the district (kecamatan) code of first registration, e.g. 331301.
    pub fn district_code(self) -> u32 {
        (self.0 / 10_000_000_000) as u32
    }

    fn dmy(self) -> (u32, u32, u32) {
        let dmy = (self.0 / 10_000 % 1_000_000) as u32;
        (dmy / 10_000, dmy / 100 % 100, dmy % 100)
    }

    /// The holder's sex: female when the encoded day exceeds 40.
    pub fn sex(self) -> Sex {
        if self.dmy().0 > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Digits 13-16: the serial within district and birth date.
    pub fn serial(self) -> u16 {
        (self.0 % 10_000) as u16
    }

    /// The birth date, resolving the two-digit year as the latest not after `today`.
    pub fn birth_date(self, today: NaiveDate) -> Option<NaiveDate> {
        let (day, month, yy) = self.dmy();
        let day = if day > 40 { day - 40 } else { day };
        let year = resolve_century(yy, today);
        NaiveDate::from_ymd_opt(year, month, day)
            .or_else(|| NaiveDate::from_ymd_opt(year - 100, month, day))
    }

    /// Region names, birth date and sex encoded in the number.
    pub fn decode(self, today: NaiveDate) -> NikInfo {
        let r = Reference::get();
        NikInfo {
            province: r.province(self.province_code()).map(|p| p.name.clone()),
            regency: r.regency(self.regency_code()).map(|p| p.name.clone()),
            district: r
                .district(self.district_code())
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            birth_date: self.birth_date(today),
            sex: self.sex(),
            serial: self.serial(),
        }
    }
}

/// What a NIK says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NikInfo {
    /// Province name, if the code is in the reference data.
    pub province: Option<String>,
    /// Regency/city name, if the code is in the reference data.
    pub regency: Option<String>,
    /// District (kecamatan) name; empty if unknown.
    pub district: String,
    /// Birth date, if the digits form one.
    pub birth_date: Option<NaiveDate>,
    /// Sex encoded in the birth day.
    pub sex: Sex,
    /// Serial (digits 13-16).
    pub serial: u16,
}

impl FromStr for Nik {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (value, d) = parse_common(s)?;
        let (day, month, yy) = (two(&d[6..8]), two(&d[8..10]), two(&d[10..12]));
        let plain_day = match day {
            1..=31 => day,
            41..=71 => day - 40,
            _ => 0,
        };
        if plain_day == 0 || !valid_dmy(plain_day, month, yy) {
            return Err(IdNumberError::InvalidDate {
                digits: s[6..12].to_string(),
                what: "birth date DDMMYY (women: day + 40)",
            });
        }
        Ok(Nik(value))
    }
}

impl TryFrom<String> for Nik {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<u64> for Nik {
    type Error = IdNumberError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        v.to_string().parse()
    }
}

impl From<Nik> for String {
    fn from(n: Nik) -> String {
        n.to_string()
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}", self.0)
    }
}

/// A validated family-card number (No. KK).
///
/// ```
/// use dukcapil_domain::NoKk;
/// let kk: NoKk = "3313010101120007".parse().unwrap();
/// assert_eq!(kk.district_code(), 331301);
/// assert!("3313013201120007".parse::<NoKk>().is_err()); // day 32
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoKk(u64);

impl NoKk {
    /// Builds a No. KK from its parts: issuing district, recording date and family serial.
    pub fn from_parts(district: u32, recorded: NaiveDate, serial: u16) -> NoKk {
        let dmy = u64::from(recorded.day()) * 10_000
            + u64::from(recorded.month()) * 100
            + (recorded.year() % 100) as u64;
        NoKk(u64::from(district) * 10_000_000_000 + dmy * 10_000 + u64::from(serial))
    }

    /// The value as an integer (always below 10^16).
    pub fn value(self) -> u64 {
        self.0
    }

    /// Digits 1-6: the issuing district (kecamatan) code.
    pub fn district_code(self) -> u32 {
        (self.0 / 10_000_000_000) as u32
    }
}

impl FromStr for NoKk {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (value, d) = parse_common(s)?;
        if !valid_dmy(two(&d[6..8]), two(&d[8..10]), two(&d[10..12])) {
            return Err(IdNumberError::InvalidDate {
                digits: s[6..12].to_string(),
                what: "recording date DDMMYY",
            });
        }
        Ok(NoKk(value))
    }
}

impl TryFrom<String> for NoKk {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<NoKk> for String {
    fn from(n: NoKk) -> String {
        n.to_string()
    }
}

impl fmt::Display for NoKk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}", self.0)
    }
}

/// Masks a NIK (or anything NIK-like) for logs: first 4 and last 2 characters kept.
///
/// ```
/// assert_eq!(dukcapil_domain::mask_nik("3313014107890003"), "3313**********03");
/// assert_eq!(dukcapil_domain::mask_nik("12"), "**");
/// ```
pub fn mask_nik(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < 4 || i >= n - 2 { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn each_rule_is_named() {
        assert_eq!(
            "331301410789000".parse::<Nik>(),
            Err(IdNumberError::Length { found: 15 })
        );
        assert!(matches!(
            "33130141078900a3".parse::<Nik>(),
            Err(IdNumberError::NonDigit {
                position: 15,
                found: 'a'
            })
        ));
        assert_eq!(
            "9999014107890003".parse::<Nik>(),
            Err(IdNumberError::UnknownDistrict { code: 999901 })
        );
        assert!(matches!(
            "3313013207890003".parse::<Nik>(),
            Err(IdNumberError::InvalidDate { .. })
        ));
        assert!(matches!(
            "3313017207890003".parse::<Nik>(),
            Err(IdNumberError::InvalidDate { .. })
        ));
        assert!(matches!(
            "3313014113890003".parse::<Nik>(),
            Err(IdNumberError::InvalidDate { .. })
        ));
        assert_eq!(
            "3313014107890000".parse::<Nik>(),
            Err(IdNumberError::ZeroSerial)
        );
    }

    #[test]
    fn leap_days_follow_some_century() {
        assert!("3313012902000001".parse::<Nik>().is_ok()); // 2000-02-29
        assert!("3313012902960001".parse::<Nik>().is_ok()); // 1996-02-29
        assert!("3313012902970001".parse::<Nik>().is_err());
    }

    #[test]
    fn decodes_region_date_and_sex() {
        let nik: Nik = "3313014107890003".parse().unwrap();
        let info = nik.decode(date(2025, 7, 1));
        assert_eq!(info.birth_date, Some(date(1989, 7, 1)));
        assert_eq!(info.sex, Sex::Female);
        assert_eq!(info.district, "JATIPURO");
        assert_eq!(info.regency.as_deref(), Some("KARANGANYAR"));
        assert_eq!(info.serial, 3);
        let built = Nik::from_parts(331301, date(1989, 7, 1), Sex::Female, 3);
        assert_eq!(built, nik);
    }

    #[test]
    fn papua_niks_exceed_double_precision() {
        let papua = Nik::from_parts(910101, date(1990, 1, 1), Sex::Male, 1);
        assert!(papua.exceeds_double_precision());
        assert_ne!(papua.value() as f64 as u64, papua.value());
    }

    #[test]
    fn serde_uses_strings_and_validates() {
        let nik: Nik = serde_json::from_str("\"3313014107890003\"").unwrap();
        assert_eq!(serde_json::to_string(&nik).unwrap(), "\"3313014107890003\"");
        assert!(serde_json::from_str::<Nik>("\"3313014107890000\"").is_err());
    }
}
