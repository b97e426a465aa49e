//! Outcome codes of the gateway (01-17) and their two text catalogues.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which wording the texts follow: what clients string-compare today ("gateway"), or what the
/// 2025 Juknis prints ("juknis").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Catalogue {
    /// The texts real clients string-compare today (the default).
    #[default]
    Gateway,
    /// The texts the 2025 Juknis prints.
    Juknis,
}

impl FromStr for Catalogue {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gateway" => Ok(Catalogue::Gateway),
            "juknis" => Ok(Catalogue::Juknis),
            _ => Err(crate::UnknownName {
                kind: "text catalogue (gateway|juknis)",
                name: s.into(),
            }),
        }
    }
}

/// A business outcome of a lookup or verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 01: found, data returned.
    Found,
    /// 03: login failed.
    LoginFailed,
    /// 04: IP address not registered or wrong.
    IpMismatch,
    /// 05: today's quota is used up.
    QuotaExhausted,
    /// 06: outside the allowed access hours.
    OutsideServiceHours,
    /// 07: incomplete or invalid parameters.
    InvalidParameters,
    /// 09: empty user, password or IP.
    EmptyCredentials,
    /// 11: found, deceased.
    Deceased,
    /// 12: found, duplicate record ("data ganda").
    Duplicate,
    /// 13: NIK not in the population database.
    NotFound,
    /// 14: found, record inactive.
    Inactive,
    /// 15: NIK not in Dukcapil format.
    BadNikFormat,
    /// 16: institution inactive (agreement expired or revoked).
    InstitutionInactive,
    /// 17: user ID inactive.
    UserIdInactive,
}

impl Outcome {
    /// Every outcome, in code order.
    pub const ALL: &'static [Outcome] = &[
        Outcome::Found,
        Outcome::LoginFailed,
        Outcome::IpMismatch,
        Outcome::QuotaExhausted,
        Outcome::OutsideServiceHours,
        Outcome::InvalidParameters,
        Outcome::EmptyCredentials,
        Outcome::Deceased,
        Outcome::Duplicate,
        Outcome::NotFound,
        Outcome::Inactive,
        Outcome::BadNikFormat,
        Outcome::InstitutionInactive,
        Outcome::UserIdInactive,
    ];

    /// Two-digit code, as `RESPONSE_CODE` carries it.
    ///
    /// ```
    /// use dukcapil_domain::Outcome;
    /// assert_eq!(Outcome::QuotaExhausted.code(), "05");
    /// assert_eq!("13".parse::<Outcome>().unwrap(), Outcome::NotFound);
    /// ```
    pub const fn code(self) -> &'static str {
        match self {
            Outcome::Found => "01",
            Outcome::LoginFailed => "03",
            Outcome::IpMismatch => "04",
            Outcome::QuotaExhausted => "05",
            Outcome::OutsideServiceHours => "06",
            Outcome::InvalidParameters => "07",
            Outcome::EmptyCredentials => "09",
            Outcome::Deceased => "11",
            Outcome::Duplicate => "12",
            Outcome::NotFound => "13",
            Outcome::Inactive => "14",
            Outcome::BadNikFormat => "15",
            Outcome::InstitutionInactive => "16",
            Outcome::UserIdInactive => "17",
        }
    }

    /// The `RESPON` text in a catalogue. `Found` has none (data is returned instead).
    ///
    /// ```
    /// use dukcapil_domain::{Catalogue, Outcome};
    /// assert_eq!(Outcome::LoginFailed.text(Catalogue::Gateway), "Login Gagal");
    /// assert_eq!(Outcome::LoginFailed.text(Catalogue::Juknis), "Gagal Login");
    /// ```
    pub const fn text(self, catalogue: Catalogue) -> &'static str {
        use Catalogue::*;
        match (self, catalogue) {
            (Outcome::Found, _) => "",
            (Outcome::LoginFailed, Gateway) => "Login Gagal",
            (Outcome::LoginFailed, Juknis) => "Gagal Login",
            (Outcome::IpMismatch, _) => "IP Address Tidak Sesuai",
            (Outcome::QuotaExhausted, Gateway) => "Kuota Akses Hari ini telah Habis",
            (Outcome::QuotaExhausted, Juknis) => "Kuota akses hari ini telah habis",
            (Outcome::OutsideServiceHours, _) => "Akses di luar jam layanan",
            (Outcome::InvalidParameters, _) => "Parameter Tidak Lengkap / Tidak Valid",
            (Outcome::EmptyCredentials, _) => "User, password dan IP tidak boleh kosong",
            (Outcome::Deceased, _) => "Data Ditemukan, Meninggal Dunia",
            (Outcome::Duplicate, _) => "Data Ditemukan, Data Ganda",
            (Outcome::NotFound, Gateway) => "Data Tidak Ditemukan",
            (Outcome::NotFound, Juknis) => {
                "Data tidak ditemukan, NIK tidak terdapat di database kependudukan"
            }
            (Outcome::Inactive, _) => {
                "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
            }
            (Outcome::BadNikFormat, Gateway) => {
                "Data Tidak Ditemukan, NIK tidak sesuai format Dukcapil"
            }
            (Outcome::BadNikFormat, Juknis) => {
                "Data tidak ditemukan, NIK tidak sesuai format Dukcapil"
            }
            (Outcome::InstitutionInactive, Gateway) => "Instansi Tidak Aktif",
            (Outcome::InstitutionInactive, Juknis) => "Instansi tidak aktif",
            (Outcome::UserIdInactive, Gateway) => "User ID Tidak Aktif",
            (Outcome::UserIdInactive, Juknis) => "User ID non aktif, silahkan menghubungi Admin",
        }
    }

    /// Whether the outcome is about the resident (found or not) rather than the caller.
    pub const fn is_about_resident(self) -> bool {
        matches!(
            self,
            Outcome::Found
                | Outcome::Deceased
                | Outcome::Duplicate
                | Outcome::NotFound
                | Outcome::Inactive
                | Outcome::BadNikFormat
        )
    }

    /// Recognises a `RESPON` text of either catalogue (clients compare texts, so does the runner).
    pub fn from_text(text: &str) -> Option<Outcome> {
        let t = text.trim();
        Outcome::ALL.iter().copied().find(|o| {
            *o != Outcome::Found
                && (o.text(Catalogue::Gateway) == t || o.text(Catalogue::Juknis) == t)
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Outcome {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .iter()
            .copied()
            .find(|o| o.code() == s)
            .ok_or_else(|| crate::UnknownName {
                kind: "outcome code",
                name: s.into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_texts_recognised() {
        let mut codes: Vec<_> = Outcome::ALL.iter().map(|o| o.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), Outcome::ALL.len());
        for &o in &Outcome::ALL[1..] {
            for c in [Catalogue::Gateway, Catalogue::Juknis] {
                assert_eq!(Outcome::from_text(o.text(c)), Some(o), "{o:?} {c:?}");
            }
        }
    }
}
