//! Public reference data embedded at build time: Kepmendagri region codes, the Dukcapil (SIAK)
//! master tables and the Indonesian name lists. Sources are in `fixtures/reference/SOURCES.md`.
//!
//! Everything is parsed once, lazily, into [`Reference::get`].

use std::collections::HashMap;
use std::sync::OnceLock;

macro_rules! reference_csv {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/reference/",
            $file
        ))
    };
}

/// Kabupaten (regency) or Kota (city), from digits 3-4 of the code (Permendagri 58/2021).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegencyKind {
    /// Kabupaten: a regency.
    Kabupaten,
    /// Kota: a city (digits 3-4 are 71 or above).
    Kota,
}

/// A province (provinsi) of the Kepmendagri region list.
#[derive(Debug, Clone)]
pub struct Province {
    /// Two digits, e.g. 33.
    pub code: u32,
    /// Upper case, as the gateway's `PROP_NAME`.
    pub name: String,
}

/// A regency or city (kabupaten/kota) of the Kepmendagri region list.
#[derive(Debug, Clone)]
pub struct Regency {
    /// Four digits, e.g. 3313.
    pub code: u32,
    /// Regency or city.
    pub kind: RegencyKind,
    /// As the gateway's `KAB_NAME`: `KARANGANYAR` for a kabupaten, `KOTA SURAKARTA` for a kota.
    pub name: String,
    /// Bare name without `KOTA`, used as a birthplace (`TMPT_LHR`).
    pub place_name: String,
}

/// A district (kecamatan) of the Kepmendagri region list.
#[derive(Debug, Clone)]
pub struct District {
    /// Six digits, e.g. 331301.
    pub code: u32,
    /// Upper case, as the gateway's `KEC_NAME`.
    pub name: String,
}

/// Village type in the Kepmendagri region list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VillageKind {
    /// Kelurahan: an urban village, run by the administration.
    Kelurahan,
    /// Desa: a rural village with its own government.
    Desa,
    /// Desa adat: a customary village (Bali).
    DesaAdat,
}

/// A village (kelurahan/desa) of the Kepmendagri region list.
#[derive(Debug, Clone)]
pub struct Village {
    /// Ten digits, e.g. 3313012005.
    pub code: u64,
    /// Kelurahan, desa or desa adat.
    pub kind: VillageKind,
    /// Upper case, as the gateway's `KEL_NAME`.
    pub name: String,
}

/// One row of a Dukcapil master table (code and description).
#[derive(Debug, Clone)]
pub struct MasterEntry {
    /// The table's numeric code.
    pub code: u32,
    /// The description, as the gateway prints it.
    pub name: String,
}

/// Sex a name is given to in the name lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSex {
    /// Given to men (`L` in the list).
    Male,
    /// Given to women (`P` in the list).
    Female,
    /// Given to either sex.
    Either,
}

/// One name of the embedded name lists.
#[derive(Debug, Clone)]
pub struct NameEntry {
    /// Upper case.
    pub name: String,
    /// Sex the name is given to.
    pub sex: NameSex,
    /// Style tags (`jawa`, `islam`, `kristen`, `bali-urutan`, `batak`, `tionghoa`, ...).
    pub styles: Vec<String>,
    /// For last names: `nama_kedua`, `marga`, `suku`, `gelar`.
    pub kind: String,
}

impl NameEntry {
    /// Whether the name carries style tag `style`.
    pub fn has_style(&self, style: &str) -> bool {
        self.styles.iter().any(|s| s == style)
    }
}

/// All embedded reference data.
#[derive(Debug)]
pub struct Reference {
    /// Every province, in code order.
    pub provinces: Vec<Province>,
    /// Every regency and city, in code order.
    pub regencies: Vec<Regency>,
    /// Every district, in code order.
    pub districts: Vec<District>,
    /// Every village, in code order.
    pub villages: Vec<Village>,
    province_index: HashMap<u32, usize>,
    regency_index: HashMap<u32, usize>,
    district_index: HashMap<u32, usize>,
    /// Villages of each district, as ranges into `villages` (the source is sorted by code).
    district_villages: HashMap<u32, std::ops::Range<usize>>,
    /// Occupation master table (`JENIS_PKRJN`).
    pub pekerjaan: Vec<MasterEntry>,
    /// Marital-status master table (`STATUS_KAWIN`), basic entries only.
    pub status_kawin: Vec<MasterEntry>,
    /// Blood-type master table (`GOL_DARAH`).
    pub golongan_darah: Vec<MasterEntry>,
    /// Religion master table (`AGAMA`).
    pub agama: Vec<MasterEntry>,
    /// Education master table (`PDDK_AKH`).
    pub pendidikan: Vec<MasterEntry>,
    /// Family-relationship master table (`STAT_HBKEL`).
    pub hubungan_keluarga: Vec<MasterEntry>,
    /// First (given) names.
    pub first_names: Vec<NameEntry>,
    /// Last names: second names, marga, ethnic names, titles.
    pub last_names: Vec<NameEntry>,
}

fn records(text: &'static str) -> impl Iterator<Item = csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes())
        .into_records()
        // The embedded files are checked by this crate's tests; a bad row is a build defect.
        .map(|r| r.expect("embedded reference CSV is well-formed"))
}

fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

fn master(text: &'static str, only_basic: bool) -> Vec<MasterEntry> {
    records(text)
        .filter(|r| !only_basic || r.get(2).is_none_or(|t| t == "dasar"))
        .map(|r| MasterEntry {
            code: r[0].parse().expect("numeric master code"),
            name: r[1].to_string(),
        })
        .collect()
}

fn names(text: &'static str, with_kind: bool) -> Vec<NameEntry> {
    records(text)
        .map(|r| NameEntry {
            name: r[0].to_uppercase(),
            sex: match &r[1] {
                "L" => NameSex::Male,
                "P" => NameSex::Female,
                _ => NameSex::Either,
            },
            styles: r[2].split(';').map(str::to_string).collect(),
            kind: if with_kind {
                r[3].to_string()
            } else {
                String::new()
            },
        })
        .collect()
}

impl Reference {
    /// The process-wide reference data, parsed on first use.
    pub fn get() -> &'static Reference {
        static REFERENCE: OnceLock<Reference> = OnceLock::new();
        REFERENCE.get_or_init(Reference::load)
    }

    fn load() -> Reference {
        let provinces: Vec<Province> = records(reference_csv!("wilayah_provinsi.csv"))
            .map(|r| Province {
                code: r[0].parse().expect("province code"),
                name: r[1].to_uppercase(),
            })
            .collect();
        let regencies: Vec<Regency> = records(reference_csv!("wilayah_kabupaten.csv"))
            .map(|r| {
                let kind = if &r[3] == "KOTA" {
                    RegencyKind::Kota
                } else {
                    RegencyKind::Kabupaten
                };
                let bare = r[4]
                    .trim_start_matches("Kabupaten ")
                    .trim_start_matches("Kota ")
                    .to_uppercase();
                let name = match kind {
                    RegencyKind::Kabupaten => bare.clone(),
                    RegencyKind::Kota => format!("KOTA {bare}"),
                };
                Regency {
                    code: r[1].parse().expect("regency code"),
                    kind,
                    name,
                    place_name: bare,
                }
            })
            .collect();
        let districts: Vec<District> = records(reference_csv!("wilayah_kecamatan.csv"))
            .map(|r| District {
                code: digits(&r[0]).parse().expect("district code"),
                name: r[3].to_uppercase(),
            })
            .collect();
        let villages: Vec<Village> = records(reference_csv!("wilayah_desa.csv"))
            .map(|r| Village {
                code: r[1].parse().expect("village code"),
                kind: match &r[3] {
                    "KELURAHAN" => VillageKind::Kelurahan,
                    "DESA ADAT" => VillageKind::DesaAdat,
                    _ => VillageKind::Desa,
                },
                name: r[4].to_uppercase(),
            })
            .collect();
        let mut district_villages: HashMap<u32, std::ops::Range<usize>> = HashMap::new();
        for (i, v) in villages.iter().enumerate() {
            let d = (v.code / 10_000) as u32;
            district_villages
                .entry(d)
                .and_modify(|r| r.end = i + 1)
                .or_insert(i..i + 1);
        }
        Reference {
            province_index: provinces
                .iter()
                .enumerate()
                .map(|(i, p)| (p.code, i))
                .collect(),
            regency_index: regencies
                .iter()
                .enumerate()
                .map(|(i, p)| (p.code, i))
                .collect(),
            district_index: districts
                .iter()
                .enumerate()
                .map(|(i, p)| (p.code, i))
                .collect(),
            district_villages,
            provinces,
            regencies,
            districts,
            villages,
            pekerjaan: master(reference_csv!("pekerjaan.csv"), false),
            status_kawin: master(reference_csv!("status_kawin.csv"), true),
            golongan_darah: master(reference_csv!("golongan_darah.csv"), false),
            agama: master(reference_csv!("agama.csv"), false),
            pendidikan: master(reference_csv!("pendidikan.csv"), false),
            hubungan_keluarga: master(reference_csv!("hubungan_keluarga.csv"), false),
            first_names: names(reference_csv!("nama_depan.csv"), false),
            last_names: names(reference_csv!("nama_belakang.csv"), true),
        }
    }

    /// The province with a two-digit code.
    pub fn province(&self, code: u32) -> Option<&Province> {
        self.province_index.get(&code).map(|&i| &self.provinces[i])
    }

    /// The regency or city with a four-digit code.
    pub fn regency(&self, code: u32) -> Option<&Regency> {
        self.regency_index.get(&code).map(|&i| &self.regencies[i])
    }

    /// The district with a six-digit code.
    pub fn district(&self, code: u32) -> Option<&District> {
        self.district_index.get(&code).map(|&i| &self.districts[i])
    }

    /// The villages (desa/kelurahan) of a six-digit district code.
    pub fn villages_of(&self, district: u32) -> &[Village] {
        self.district_villages
            .get(&district)
            .map_or(&[], |r| &self.villages[r.clone()])
    }

    /// Districts of a four-digit regency code.
    pub fn districts_of(&self, regency: u32) -> impl Iterator<Item = &District> {
        self.districts
            .iter()
            .filter(move |d| d.code / 100 == regency)
    }

    /// Whether `name` is in the blood-type master table (`GOL_DARAH`).
    pub fn is_blood_type(&self, name: &str) -> bool {
        self.golongan_darah.iter().any(|e| e.name == name)
    }

    /// The description for `code` in a master table.
    pub fn master_name(table: &[MasterEntry], code: u32) -> Option<&str> {
        table
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_sources() {
        let r = Reference::get();
        assert_eq!(r.provinces.len(), 38);
        assert_eq!(r.regencies.len(), 514);
        assert_eq!(r.districts.len(), 7_285);
        assert_eq!(r.villages.len(), 83_762);
        assert_eq!(r.pekerjaan.len(), 89);
        assert_eq!(r.status_kawin.len(), 4);
        assert_eq!(r.golongan_darah.len(), 13);
        assert!(r.first_names.len() > 1_000);
    }

    #[test]
    fn karanganyar_is_where_the_digest_says() {
        let r = Reference::get();
        assert_eq!(r.regency(3313).unwrap().name, "KARANGANYAR");
        assert_eq!(r.province(33).unwrap().name, "JAWA TENGAH");
        assert_eq!(r.districts_of(3313).count(), 17);
        let villages: usize = r
            .districts_of(3313)
            .map(|d| r.villages_of(d.code).len())
            .sum();
        assert_eq!(villages, 177);
        assert_eq!(r.district(331301).unwrap().name, "JATIPURO");
        assert_eq!(r.regency(3372).unwrap().name, "KOTA SURAKARTA");
    }
}
