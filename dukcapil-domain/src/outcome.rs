//! Outcome codes of the gateway (01-17) and their texts: three catalogues (gateway, Juknis,
//! regional) and, within each, the lookup's and the verification service's wording.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which wording the texts follow: what clients string-compare today ("gateway"), what the
/// 2025 Juknis prints ("juknis"), or the lower-case wording of the regional gateways
/// ("regional").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Catalogue {
    /// The texts real clients string-compare today (the default).
    #[default]
    Gateway,
    /// The texts the 2025 Juknis prints.
    Juknis,
    /// The regional gateways' own lower-case wording (`/dukcapil/get_json/33-13/...`), as a
    /// regional hospital client compares it: `Data tidak ditemukan`, `Login gagal`, `Kuota akses
    /// hari ini telah habis`. Outcomes without evidence of their own follow the Juknis wording.
    Regional,
}

impl Catalogue {
    /// Every catalogue.
    pub const ALL: &'static [Catalogue] =
        &[Catalogue::Gateway, Catalogue::Juknis, Catalogue::Regional];

    /// The settings name (`gateway`, `juknis`, `regional`).
    pub const fn name(self) -> &'static str {
        match self {
            Catalogue::Gateway => "gateway",
            Catalogue::Juknis => "juknis",
            Catalogue::Regional => "regional",
        }
    }
}

/// Which service answers: the lookup (`CALL_NIK`, the portal) or the verification service
/// (`CALL_VERIFY_BY_ELEMEN`), whose wording differs for some outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// `CALL_NIK` and its aliases.
    Lookup,
    /// `CALL_VERIFY_BY_ELEMEN` and its aliases.
    Verification,
}

impl FromStr for Catalogue {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gateway" => Ok(Catalogue::Gateway),
            "juknis" => Ok(Catalogue::Juknis),
            "regional" => Ok(Catalogue::Regional),
            _ => Err(crate::UnknownName {
                kind: "text catalogue (gateway|juknis|regional)",
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

    /// The lookup's `RESPON` text in a catalogue. `Found` has none (data is returned instead).
    ///
    /// ```
    /// use dukcapil_domain::{Catalogue, Outcome};
    /// assert_eq!(Outcome::LoginFailed.text(Catalogue::Gateway), "Login Gagal");
    /// assert_eq!(Outcome::LoginFailed.text(Catalogue::Juknis), "Gagal Login");
    /// assert_eq!(Outcome::LoginFailed.text(Catalogue::Regional), "Login gagal");
    /// ```
    pub const fn text(self, catalogue: Catalogue) -> &'static str {
        self.text_for(Service::Lookup, catalogue)
    }

    /// The text a service gives in a catalogue. The verification service words two outcomes
    /// its own way in the gateway catalogue (a statistics office's production log and a fintech
    /// client's tests, both compared with `==`); elsewhere both services agree.
    ///
    /// ```
    /// use dukcapil_domain::{Catalogue, Outcome, Service};
    /// assert_eq!(
    ///     Outcome::NotFound.text_for(Service::Verification, Catalogue::Gateway),
    ///     "Data Tidak Ditemukan, NIK tidak terdapat di database Kependudukan"
    /// );
    /// assert_eq!(Outcome::NotFound.text_for(Service::Lookup, Catalogue::Gateway), "Data Tidak Ditemukan");
    /// ```
    pub const fn text_for(self, service: Service, catalogue: Catalogue) -> &'static str {
        use Catalogue::*;
        match (self, service, catalogue) {
            (Outcome::NotFound, Service::Verification, Gateway) => {
                "Data Tidak Ditemukan, NIK tidak terdapat di database Kependudukan"
            }
            (Outcome::QuotaExhausted, Service::Verification, Gateway) => {
                "Kuota Akses Hari Ini Telah Habis"
            }
            (Outcome::Found, _, _) => "",
            (Outcome::LoginFailed, _, Gateway) => "Login Gagal",
            (Outcome::LoginFailed, _, Juknis) => "Gagal Login",
            (Outcome::LoginFailed, _, Regional) => "Login gagal",
            (Outcome::IpMismatch, _, _) => "IP Address Tidak Sesuai",
            (Outcome::QuotaExhausted, _, Gateway) => "Kuota Akses Hari ini telah Habis",
            (Outcome::QuotaExhausted, _, Juknis | Regional) => "Kuota akses hari ini telah habis",
            (Outcome::OutsideServiceHours, _, _) => "Akses di luar jam layanan",
            (Outcome::InvalidParameters, _, _) => "Parameter Tidak Lengkap / Tidak Valid",
            (Outcome::EmptyCredentials, _, _) => "User, password dan IP tidak boleh kosong",
            (Outcome::Deceased, _, _) => "Data Ditemukan, Meninggal Dunia",
            (Outcome::Duplicate, _, _) => "Data Ditemukan, Data Ganda",
            (Outcome::NotFound, _, Gateway) => "Data Tidak Ditemukan",
            (Outcome::NotFound, _, Juknis) => {
                "Data tidak ditemukan, NIK tidak terdapat di database kependudukan"
            }
            (Outcome::NotFound, _, Regional) => "Data tidak ditemukan",
            (Outcome::Inactive, _, _) => {
                "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
            }
            (Outcome::BadNikFormat, _, Gateway) => {
                "Data Tidak Ditemukan, NIK tidak sesuai format Dukcapil"
            }
            (Outcome::BadNikFormat, _, Juknis | Regional) => {
                "Data tidak ditemukan, NIK tidak sesuai format Dukcapil"
            }
            (Outcome::InstitutionInactive, _, Gateway) => "Instansi Tidak Aktif",
            (Outcome::InstitutionInactive, _, Juknis | Regional) => "Instansi tidak aktif",
            (Outcome::UserIdInactive, _, Gateway) => "User ID Tidak Aktif",
            (Outcome::UserIdInactive, _, Juknis | Regional) => {
                "User ID non aktif, silahkan menghubungi Admin"
            }
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

    /// Recognises a `RESPON` text of any catalogue and service (clients compare texts, so does
    /// the runner).
    pub fn from_text(text: &str) -> Option<Outcome> {
        let t = text.trim();
        Outcome::ALL.iter().copied().find(|o| {
            *o != Outcome::Found
                && Catalogue::ALL.iter().any(|&c| {
                    o.text_for(Service::Lookup, c) == t || o.text_for(Service::Verification, c) == t
                })
        })
    }

    /// Every distinct text of the outcome, over catalogues and services.
    pub fn texts(self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Catalogue::ALL
            .iter()
            .flat_map(|&c| {
                [
                    self.text_for(Service::Lookup, c),
                    self.text_for(Service::Verification, c),
                ]
            })
            .filter(|t| !t.is_empty())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
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
            for &c in Catalogue::ALL {
                for s in [Service::Lookup, Service::Verification] {
                    assert_eq!(Outcome::from_text(o.text_for(s, c)), Some(o), "{o:?} {c:?}");
                }
                assert_eq!(c.name().parse::<Catalogue>().unwrap(), c);
            }
        }
    }

    #[test]
    fn no_text_names_two_outcomes() {
        let mut seen = std::collections::BTreeMap::new();
        for &o in &Outcome::ALL[1..] {
            for t in o.texts() {
                if let Some(other) = seen.insert(t, o) {
                    panic!("{t:?} is both {other:?} and {o:?}");
                }
            }
        }
    }
}
