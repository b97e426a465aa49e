//! The deterministic dummy population: families with one family card (KK) each, living in real
//! villages, with NIKs that encode their birth date, sex and registration district.
//!
//! Output depends only on [`PopulationSpec`] (seed and size) and the embedded reference data:
//! ages are relative to [`REFERENCE_DATE`], the RNG is ChaCha8 and no hash-map order reaches the
//! output. Residents are streamed family by family; the only state kept is the serial counters
//! for NIKs (per district and birth-date code) and KK numbers (per district and recording date).

mod names;

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use names::{family_surname, full_name, quirks, NameRequest};
pub use names::{Style, MAX_NAME_LEN};

use crate::nik::{Nik, NoKk, Sex};
use crate::reference::{Reference, VillageKind};
use crate::resident::{Resident, ResidentStatus};

/// The day ages are counted from, so that output never depends on the clock.
pub const REFERENCE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 7, 1) {
    Some(d) => d,
    None => panic!("2025-07-01 is a date"),
};

/// Bumped whenever the output for a given spec changes (stored datasets are then regenerated).
pub const GENERATOR_VERSION: u32 = 2;

/// The birth year of someone `age` years old on [`REFERENCE_DATE`] (to the year).
fn birth_year_of(age: u32) -> i32 {
    use chrono::Datelike;
    REFERENCE_DATE.year() - i32::try_from(age).unwrap_or(0)
}

/// Oldest resident: with two-digit NIK years, birth years 1929-2025 resolve without ambiguity.
pub const MAX_AGE: u32 = 95;

/// Largest family (members of one KK).
pub const MAX_FAMILY: usize = 12;

/// Which population: the same seed and size always give the same residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PopulationSpec {
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// Number of residents to generate.
    pub size: u64,
}

/// Streams exactly `spec.size` residents, family by family.
pub fn generate(spec: PopulationSpec) -> Generator {
    Generator {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        remaining: spec.size,
        family: Vec::new().into_iter(),
        nik_serials: HashMap::new(),
        kk_serials: HashMap::new(),
        regions: Regions::get(),
    }
}

/// The resident stream returned by [`generate`].
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    remaining: u64,
    family: std::vec::IntoIter<Resident>,
    /// Last NIK serial used per NIK prefix (district + DDMMYY code); only looked up, never iterated.
    nik_serials: HashMap<u64, u16>,
    /// Last KK serial used per KK prefix (district + recording date).
    kk_serials: HashMap<u64, u16>,
    regions: &'static Regions,
}

impl Iterator for Generator {
    type Item = Resident;

    fn next(&mut self) -> Option<Resident> {
        if let Some(r) = self.family.next() {
            return Some(r);
        }
        if self.remaining == 0 {
            return None;
        }
        let cap = self.remaining.min(MAX_FAMILY as u64) as usize;
        let family = self.family(cap);
        self.remaining -= family.len() as u64;
        self.family = family.into_iter();
        self.family.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .saturating_add(self.family.len());
        (n, Some(n))
    }
}

/// District codes (with at least one village) grouped by how often families live there.
#[derive(Debug)]
struct Regions {
    karanganyar: Vec<u32>,
    purbalingga: Vec<u32>,
    jateng: Vec<u32>,
    java: Vec<u32>,
    other: Vec<u32>,
    papua: Vec<u32>,
    /// Birthplace names (`TMPT_LHR`) of Central Java regencies, for people born nearby.
    jateng_places: Vec<&'static str>,
}

impl Regions {
    fn get() -> &'static Regions {
        static REGIONS: OnceLock<Regions> = OnceLock::new();
        REGIONS.get_or_init(|| {
            let r = Reference::get();
            let with_villages = |f: &dyn Fn(u32) -> bool| -> Vec<u32> {
                r.districts
                    .iter()
                    .map(|d| d.code)
                    .filter(|&c| f(c) && !r.villages_of(c).is_empty())
                    .collect()
            };
            let prov = |c: u32| c / 10_000;
            let kab = |c: u32| c / 100;
            Regions {
                karanganyar: with_villages(&|c| kab(c) == 3313),
                purbalingga: with_villages(&|c| kab(c) == 3303),
                jateng: with_villages(&|c| prov(c) == 33 && kab(c) != 3313 && kab(c) != 3303),
                java: with_villages(&|c| matches!(prov(c), 31 | 32 | 34 | 35 | 36)),
                other: with_villages(&|c| !matches!(prov(c), 31..=36 | 91..=96)),
                papua: with_villages(&|c| (91..=96).contains(&prov(c))),
                jateng_places: r
                    .regencies
                    .iter()
                    .filter(|g| g.code / 100 == 33)
                    .map(|g| g.place_name.as_str())
                    .collect(),
            }
        })
    }
}

/// Picks from `(item, weight)` pairs.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|&(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for &(item, w) in table {
        if roll < w {
            return item;
        }
        roll -= w;
    }
    table[table.len() - 1].0
}

fn one<T: Copy>(rng: &mut ChaCha8Rng, v: &[T]) -> T {
    v[rng.gen_range(0..v.len())]
}

/// A birth date giving exactly `age` full years on [`REFERENCE_DATE`].
fn birth_for_age(rng: &mut ChaCha8Rng, age: u32) -> NaiveDate {
    let latest = NaiveDate::from_ymd_opt(
        REFERENCE_DATE.year() - age as i32,
        REFERENCE_DATE.month(),
        REFERENCE_DATE.day(),
    )
    .unwrap_or(REFERENCE_DATE);
    latest - Days::new(rng.gen_range(0..=364))
}

/// Full years between `birth` and [`REFERENCE_DATE`].
pub fn age_on_reference_date(birth: NaiveDate) -> u32 {
    REFERENCE_DATE.years_since(birth).unwrap_or(0)
}

/// A member of a family being planned, before identity numbers and details are drawn.
#[derive(Debug, Clone)]
struct Member {
    rel: &'static str,
    sex: Sex,
    age: u32,
    /// Index of the mother / father in the family, when they are members.
    mother: Option<usize>,
    father: Option<usize>,
    /// Birth order among the head's children (Balinese names).
    order: usize,
    /// Whether the member is a blood relative carrying the family surname.
    inherits: bool,
}

fn member(rel: &'static str, sex: Sex, age: u32) -> Member {
    Member {
        rel,
        sex,
        age,
        mother: None,
        father: None,
        order: 0,
        inherits: false,
    }
}

fn random_sex(rng: &mut ChaCha8Rng) -> Sex {
    if rng.gen_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    }
}

/// Where a family lives; shared by every member.
#[derive(Debug, Clone)]
struct Address {
    district: u32,
    village: u64,
    alamat: String,
    dusun: Option<String>,
    rt: u32,
    rw: u32,
    kode_pos: Option<u32>,
    prop_name: &'static str,
    kab_name: &'static str,
    kec_name: &'static str,
    kel_name: &'static str,
    /// Birthplace name of the residence regency.
    place: &'static str,
}

const DUSUN_NAMES: &[&str] = &[
    "KRAJAN",
    "NGASEM",
    "SUMBEREJO",
    "KARANGREJO",
    "GEDONG",
    "TEGALREJO",
    "PLOSOREJO",
    "SIDOREJO",
    "KALIWUNGU",
    "JATIREJO",
    "SUKOREJO",
    "MULYOREJO",
    "BANARAN",
    "PUNDUNGREJO",
    "SENGON",
    "BULU",
    "JETIS",
    "PULE",
    "SAWAHAN",
    "GUNUNGSARI",
    "NGRINGIN",
    "GROGOL",
    "WONOREJO",
    "KEDUNGDOWO",
    "SELOREJO",
];
const STREET_NAMES: &[&str] = &[
    "MERAPI",
    "LAWU",
    "DIPONEGORO",
    "JEND. SUDIRMAN",
    "A. YANI",
    "SLAMET RIYADI",
    "RA. KARTINI",
    "PAHLAWAN",
    "MELATI",
    "MAWAR",
    "ANGGREK",
    "KENANGA",
    "KH. AGUS SALIM",
    "DR. SUTOMO",
    "VETERAN",
    "GATOT SUBROTO",
    "PEMUDA",
    "MAYOR SUNARYO",
    "KOLONEL SUGIONO",
    "SERAYU",
];
const ROMAN: &[&str] = &["I", "II", "III", "IV", "V", "VI"];

/// Rough postal-code prefix by province, for plausible `KODE_POS` values.
fn postal_base(regency: u32) -> Option<u32> {
    Some(match regency {
        3313 => 57_710,
        3303 => 53_310,
        _ => match regency / 100 {
            31 => 10_110,
            32 => 40_110,
            33 => 50_110,
            34 => 55_110,
            35 => 60_110,
            36 => 42_110,
            51 => 80_110,
            91..=96 => 98_110,
            _ => return None,
        },
    })
}

impl Generator {
    fn pick_district(&mut self) -> u32 {
        let g = self.regions;
        let pool: &[u32] = match self.rng.gen_range(0..1000) {
            0..=619 => &g.karanganyar,
            620..=879 => &g.purbalingga,
            880..=939 => &g.jateng,
            940..=969 => &g.java,
            970..=979 => &g.other,
            _ => &g.papua,
        };
        one(&mut self.rng, pool)
    }

    fn address(&mut self, district: u32) -> Address {
        let r = Reference::get();
        let rng = &mut self.rng;
        let villages = r.villages_of(district);
        let v = &villages[rng.gen_range(0..villages.len())];
        let regency = district / 100;
        let reg = r.regency(regency);
        let (alamat, dusun) = match v.kind {
            VillageKind::Kelurahan => {
                let street = one(rng, STREET_NAMES);
                let alamat = if rng.gen_bool(0.8) {
                    format!("JL. {street} NO. {}", rng.gen_range(1..=150))
                } else {
                    format!(
                        "PERUM {} BLOK {} NO. {}",
                        one(rng, DUSUN_NAMES),
                        one(rng, &["A", "B", "C", "D", "E"]),
                        rng.gen_range(1..=40)
                    )
                };
                (alamat, None)
            }
            _ => {
                // Banyumasan villages (Purbalingga) often number their dusun; Javanese ones name them.
                let dusun = if regency == 3303 && rng.gen_bool(0.6) {
                    format!("DUSUN {}", one(rng, ROMAN))
                } else {
                    one(rng, DUSUN_NAMES).to_string()
                };
                let alamat = match rng.gen_range(0..10) {
                    0..=4 if !dusun.starts_with("DUSUN") => format!("DUSUN {dusun}"),
                    5..=6 => format!("DK. {dusun}"),
                    _ => dusun.clone(),
                };
                (alamat, Some(dusun))
            }
        };
        let kode_pos = postal_base(regency)
            .filter(|_| rng.gen_bool(0.95))
            .map(|b| b + (district % 100) * 3 % 89 + (v.code % 10) as u32 % 3);
        Address {
            district,
            village: v.code,
            alamat,
            dusun,
            rt: weighted(
                rng,
                &[
                    (1, 14),
                    (2, 14),
                    (3, 13),
                    (4, 11),
                    (5, 10),
                    (6, 9),
                    (7, 8),
                    (8, 7),
                    (9, 5),
                    (10, 4),
                    (11, 3),
                    (12, 2),
                ],
            ),
            rw: weighted(
                rng,
                &[
                    (1, 20),
                    (2, 19),
                    (3, 16),
                    (4, 13),
                    (5, 11),
                    (6, 9),
                    (7, 7),
                    (8, 5),
                ],
            ),
            kode_pos,
            prop_name: r
                .province(district / 10_000)
                .map_or("", |p| p.name.as_str()),
            kab_name: reg.map_or("", |g| g.name.as_str()),
            kec_name: r.district(district).map_or("", |d| d.name.as_str()),
            kel_name: v.name.as_str(),
            place: reg.map_or("", |g| g.place_name.as_str()),
        }
    }

    fn style_for(&mut self, province: u32) -> Style {
        use Style::*;
        let table: &[(Style, u32)] = match province {
            91..=96 => &[
                (Kristen, 55),
                (Umum, 15),
                (Islam, 10),
                (Jawa, 15),
                (Batak, 5),
            ],
            51 => &[(Bali, 80), (Jawa, 10), (Islam, 10)],
            12 => &[(Batak, 50), (Islam, 25), (Umum, 15), (Tionghoa, 10)],
            32 | 36 => &[
                (Sunda, 55),
                (Islam, 25),
                (Umum, 15),
                (Tionghoa, 3),
                (Kristen, 2),
            ],
            _ => &[
                (Jawa, 480),
                (Islam, 240),
                (Umum, 140),
                (Kristen, 50),
                (Tionghoa, 30),
                (Sunda, 20),
                (Batak, 20),
                (Bali, 20),
            ],
        };
        weighted(&mut self.rng, table)
    }

    fn religion_for(&mut self, style: Style) -> &'static str {
        use Style::*;
        let table: &[(&'static str, u32)] = match style {
            Jawa => &[
                ("ISLAM", 920),
                ("KRISTEN", 40),
                ("KATHOLIK", 30),
                ("KEPERCAYAAN TERHADAP TUHAN YME", 5),
                ("BUDHA", 5),
            ],
            Sunda => &[("ISLAM", 99), ("KRISTEN", 1)],
            Islam => &[("ISLAM", 1)],
            Kristen => &[("KRISTEN", 65), ("KATHOLIK", 35)],
            Bali => &[("HINDU", 95), ("ISLAM", 2), ("KRISTEN", 3)],
            Batak => &[("KRISTEN", 70), ("KATHOLIK", 15), ("ISLAM", 15)],
            Tionghoa => &[
                ("BUDHA", 35),
                ("KRISTEN", 30),
                ("KATHOLIK", 25),
                ("KHONGHUCU", 10),
            ],
            Umum => &[
                ("ISLAM", 850),
                ("KRISTEN", 80),
                ("KATHOLIK", 60),
                ("HINDU", 5),
                ("BUDHA", 5),
            ],
        };
        weighted(&mut self.rng, table)
    }

    /// Plans who lives in one KK: relations, sexes, ages and parent links. At most `cap` members.
    fn plan(&mut self, cap: usize) -> Vec<Member> {
        let rng = &mut self.rng;
        let mut m: Vec<Member> = Vec::with_capacity(8);
        let kind = rng.gen_range(0..100);
        let head_sex;
        match kind {
            // Living alone.
            0..=10 => {
                head_sex = if rng.gen_bool(0.55) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                m.push(member("KEPALA KELUARGA", head_sex, rng.gen_range(18..=90)));
            }
            // Single parent (widowed or divorced).
            11..=18 => {
                head_sex = if rng.gen_bool(0.7) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                m.push(member("KEPALA KELUARGA", head_sex, rng.gen_range(28..=75)));
            }
            // Couple, usually with children; elderly couples at the end of the range.
            _ => {
                let band = if kind >= 92 {
                    (58, 92)
                } else {
                    weighted(
                        rng,
                        &[
                            ((20, 29), 15),
                            ((30, 39), 25),
                            ((40, 49), 25),
                            ((50, 59), 18),
                            ((60, 69), 11),
                            ((70, 82), 6),
                        ],
                    )
                };
                let age = rng.gen_range(band.0..=band.1);
                head_sex = if rng.gen_bool(0.97) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                m.push(member("KEPALA KELUARGA", head_sex, age));
                let spouse_age = if head_sex == Sex::Male {
                    (age as i32 + rng.gen_range(-10..=3)).clamp(18, MAX_AGE as i32) as u32
                } else {
                    (age as i32 + rng.gen_range(-3..=10)).clamp(19, MAX_AGE as i32) as u32
                };
                let (rel, sex) = if head_sex == Sex::Male {
                    ("ISTRI", Sex::Female)
                } else {
                    ("SUAMI", Sex::Male)
                };
                m.push(member(rel, sex, spouse_age));
            }
        }
        let mother = m.iter().position(|x| x.sex == Sex::Female);
        let father = m.iter().position(|x| x.sex == Sex::Male);
        // Children: mother 17-45 at birth, father at least 18; grown children rarely stay past 40.
        let mut hi = i64::from(m.iter().map(|x| x.age).min().unwrap_or(0)) - 18;
        let mut lo = 0i64;
        if let Some(mi) = mother {
            hi = hi.min(i64::from(m[mi].age) - 17);
            lo = lo.max(i64::from(m[mi].age) - 45);
        } else {
            lo = lo.max(i64::from(m[0].age) - 50);
        }
        hi = hi.min(40);
        let couple = m.len() == 2;
        let want: usize = if kind <= 10 || (kind >= 92 && rng.gen_bool(0.7)) {
            0
        } else if couple {
            weighted(
                rng,
                &[
                    (0, 10),
                    (1, 22),
                    (2, 33),
                    (3, 19),
                    (4, 9),
                    (5, 4),
                    (6, 2),
                    (7, 1),
                ],
            )
        } else {
            weighted(rng, &[(1, 45), (2, 35), (3, 15), (4, 5)])
        };
        if hi >= lo {
            let mut ages: Vec<u32> = (0..want).map(|_| rng.gen_range(lo..=hi) as u32).collect();
            ages.sort_unstable_by(|a, b| b.cmp(a));
            for (order, age) in ages.into_iter().enumerate() {
                let mut c = member("ANAK", random_sex(rng), age);
                c.mother = mother;
                c.father = father;
                c.order = order;
                c.inherits = true;
                m.push(c);
            }
        }
        let head_age = m[0].age;
        // A widowed parent of the head moving in; their name then is the head's parent's name.
        if head_age <= 60 && rng.gen_bool(0.07) {
            let age = head_age + rng.gen_range(20..=38);
            if age <= MAX_AGE {
                let sex = if rng.gen_bool(0.65) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                let mut p = member("ORANGTUA", sex, age);
                p.inherits = sex == Sex::Male;
                m.push(p);
            }
        }
        if m.len() > 1 && m[1].rel != "ANAK" && m[1].age <= 60 && rng.gen_bool(0.03) {
            let age = m[1].age + rng.gen_range(20..=38);
            if age <= MAX_AGE {
                m.push(member(
                    "MERTUA",
                    if rng.gen_bool(0.65) {
                        Sex::Female
                    } else {
                        Sex::Male
                    },
                    age,
                ));
            }
        }
        if head_age >= 45 && rng.gen_bool(0.06) {
            for _ in 0..rng.gen_range(1..=2) {
                let age = rng.gen_range(0..=(head_age - 36).min(15));
                let mut c = member("CUCU", random_sex(rng), age);
                c.inherits = true;
                m.push(c);
            }
        }
        if rng.gen_bool(0.03) {
            m.push(member(
                "FAMILI LAIN",
                random_sex(rng),
                rng.gen_range(5..=70),
            ));
        }
        m.truncate(cap.min(MAX_FAMILY));
        m
    }

    /// A NIK for someone registered in `district`, born on `birth`; the next free serial.
    fn allocate_nik(&mut self, district: u32, mut birth: NaiveDate, sex: Sex) -> (Nik, NaiveDate) {
        loop {
            let prefix = Nik::from_parts(district, birth, sex, 0).value();
            let serial = self.nik_serials.entry(prefix).or_insert(0);
            if *serial < 9_999 {
                *serial += 1;
                return (Nik::from_parts(district, birth, sex, *serial), birth);
            }
            // 9,999 namesakes by date and district: move the birthday rather than reuse a serial.
            birth = birth.pred_opt().unwrap_or(birth);
        }
    }

    fn allocate_kk(&mut self, district: u32, recorded: NaiveDate) -> NoKk {
        let mut date = recorded;
        loop {
            let prefix = NoKk::from_parts(district, date, 0).value();
            let serial = self.kk_serials.entry(prefix).or_insert(0);
            if *serial < 9_999 {
                *serial += 1;
                return NoKk::from_parts(district, date, *serial);
            }
            date = date.pred_opt().unwrap_or(date);
        }
    }

    /// A district elsewhere where someone who moved here was first registered.
    fn elsewhere(&mut self, home: u32) -> u32 {
        let g = self.regions;
        let same_regency: Vec<u32> = match home / 100 {
            3313 => g.karanganyar.clone(),
            3303 => g.purbalingga.clone(),
            _ => Vec::new(),
        };
        let roll = self.rng.gen_range(0..10);
        let pick = if roll < 4 && !same_regency.is_empty() {
            one(&mut self.rng, &same_regency)
        } else if roll < 8 {
            one(&mut self.rng, &g.jateng)
        } else {
            one(&mut self.rng, &g.java)
        };
        if pick == home {
            one(&mut self.rng, &g.jateng)
        } else {
            pick
        }
    }

    fn family(&mut self, cap: usize) -> Vec<Resident> {
        let district = self.pick_district();
        let addr = self.address(district);
        let province = district / 10_000;
        let papua = (91..=96).contains(&province);
        let style = self.style_for(province);
        let religion = self.religion_for(style);
        let surname = family_surname(&mut self.rng, style);
        let plan = self.plan(cap);

        // Names first: children need their parents' names.
        let mut names: Vec<String> = Vec::with_capacity(plan.len());
        for (i, p) in plan.iter().enumerate() {
            let own_surname = if p.inherits || (p.sex == Sex::Male && (i == 0 || p.rel == "SUAMI"))
            {
                surname
            } else {
                // Spouses and in-laws bring their own family name.
                family_surname(&mut self.rng, style)
            };
            let base = full_name(
                &mut self.rng,
                NameRequest {
                    style,
                    sex: p.sex,
                    surname: own_surname,
                    order: p.order,
                    birth_year: birth_year_of(p.age),
                },
            );
            names.push(quirks(&mut self.rng, base, p.sex));
        }
        let orangtua = plan.iter().position(|p| p.rel == "ORANGTUA");
        let mertua = plan.iter().position(|p| p.rel == "MERTUA");

        let head_birth_year = REFERENCE_DATE.year() - plan[0].age as i32;
        let earliest_kk = NaiveDate::from_ymd_opt((head_birth_year + 17).max(2000), 1, 1)
            .unwrap_or(REFERENCE_DATE);
        let span = (REFERENCE_DATE - earliest_kk).num_days().max(0) as u64;
        let recorded = earliest_kk + Days::new(self.rng.gen_range(0..=span));
        let no_kk = self.allocate_kk(district, recorded);

        let mut out = Vec::with_capacity(plan.len());
        for (i, p) in plan.iter().enumerate() {
            let birth = birth_for_age(&mut self.rng, p.age);
            // Adults who moved in were first registered elsewhere; children are registered here.
            let moved = !papua
                && p.age >= 17
                && p.rel != "ANAK"
                && p.rel != "CUCU"
                && self.rng.gen_bool(0.12);
            let nik_district = if moved {
                self.elsewhere(district)
            } else {
                district
            };
            let (nik, birth) = self.allocate_nik(nik_district, birth, p.sex);
            let tmpt_lhr = self.birthplace(&addr, nik_district, moved);

            let mother_name = match p.mother {
                Some(mi) => names[mi].clone(),
                None if i == 0 && orangtua.is_some_and(|o| plan[o].sex == Sex::Female) => {
                    names[orangtua.unwrap_or(0)].clone()
                }
                None if i == 1 && mertua.is_some_and(|o| plan[o].sex == Sex::Female) => {
                    names[mertua.unwrap_or(0)].clone()
                }
                None => self.outsider_name(style, Sex::Female, p.age),
            };
            let father_name = match p.father {
                Some(fi) => Some(names[fi].clone()),
                None if i == 0 && orangtua.is_some_and(|o| plan[o].sex == Sex::Male) => {
                    Some(names[orangtua.unwrap_or(0)].clone())
                }
                None if self.rng.gen_bool(0.75) => {
                    Some(self.outsider_name(style, Sex::Male, p.age))
                }
                None => None,
            };
            let pddk = education(&mut self.rng, p.age);
            let status_kawin = self.marital(p, plan.len() > 1 && plan[1].rel != "ANAK");
            let jenis_pkrjn = occupation(&mut self.rng, p.age, p.sex, pddk, status_kawin);
            let status = match self.rng.gen_range(0..1000) {
                0..=14 => ResidentStatus::Deceased,
                15..=19 => ResidentStatus::Duplicate,
                20..=24 => ResidentStatus::Inactive,
                _ => ResidentStatus::Active,
            };
            let gol_darah = weighted(
                &mut self.rng,
                &[
                    ("TIDAK TAHU", 700),
                    ("A", 60),
                    ("B", 75),
                    ("AB", 20),
                    ("O", 100),
                    ("A+", 10),
                    ("B+", 12),
                    ("O+", 15),
                    ("AB+", 3),
                    ("O-", 2),
                    ("A-", 1),
                    ("B-", 1),
                    ("AB-", 1),
                ],
            );
            let ektp_status = if p.age >= 17 {
                weighted(
                    &mut self.rng,
                    &[
                        (Some("CARD PRINTED"), 88),
                        (Some("PRINT READY RECORD"), 7),
                        (None, 5),
                    ],
                )
                .map(str::to_string)
            } else {
                None
            };
            let akta_chance = if birth.year() >= 1990 { 0.85 } else { 0.25 };
            let no_akta_lhr = if self.rng.gen_bool(akta_chance) {
                let issued = (birth + Days::new(self.rng.gen_range(7..=2_000))).min(REFERENCE_DATE);
                Some(format!(
                    "{}-LT-{}-{:04}",
                    nik_district / 100,
                    issued.format("%d%m%Y"),
                    self.rng.gen_range(1..=9_999)
                ))
            } else {
                None
            };
            out.push(Resident {
                nik,
                no_kk,
                nama_lgkp: names[i].clone(),
                jenis_klmin: p.sex,
                tmpt_lhr,
                tgl_lhr: birth,
                status_kawin: status_kawin.to_string(),
                jenis_pkrjn: jenis_pkrjn.to_string(),
                gol_darah: gol_darah.to_string(),
                agama: religion.to_string(),
                pddk_akh: pddk.to_string(),
                stat_hbkel: p.rel.to_string(),
                nama_lgkp_ibu: mother_name,
                nama_lgkp_ayah: father_name,
                alamat: addr.alamat.clone(),
                dusun: addr.dusun.clone(),
                no_rt: addr.rt,
                no_rw: addr.rw,
                kode_pos: addr.kode_pos,
                no_prop: province,
                prop_name: addr.prop_name.to_string(),
                no_kab: addr.district / 100 % 100,
                kab_name: addr.kab_name.to_string(),
                no_kec: addr.district % 100,
                kec_name: addr.kec_name.to_string(),
                no_kel: (addr.village % 10_000) as u32,
                kel_name: addr.kel_name.to_string(),
                ektp_status,
                no_akta_lhr,
                status,
            });
        }
        out
    }

    /// Name of a parent who is not in the KK, of a generation before `child_age`.
    fn outsider_name(&mut self, style: Style, sex: Sex, child_age: u32) -> String {
        let surname = family_surname(&mut self.rng, style);
        let order = self.rng.gen_range(0..4);
        let parent_age = child_age + self.rng.gen_range(20..=35);
        full_name(
            &mut self.rng,
            NameRequest {
                style,
                sex,
                surname,
                order,
                birth_year: birth_year_of(parent_age),
            },
        )
    }

    fn birthplace(&mut self, addr: &Address, nik_district: u32, moved: bool) -> String {
        let r = Reference::get();
        let place_of = |district: u32| {
            r.regency(district / 100)
                .map_or("", |g| g.place_name.as_str())
        };
        if moved && self.rng.gen_bool(0.7) {
            return place_of(nik_district).to_string();
        }
        match self.rng.gen_range(0..100) {
            0..=74 => addr.place.to_string(),
            75..=89 => addr.kec_name.to_string(),
            _ => one(&mut self.rng, &self.regions.jateng_places).to_string(),
        }
    }

    fn marital(&mut self, p: &Member, has_spouse: bool) -> &'static str {
        let rng = &mut self.rng;
        match p.rel {
            "KEPALA KELUARGA" if has_spouse => "KAWIN",
            "ISTRI" | "SUAMI" => "KAWIN",
            "KEPALA KELUARGA" => {
                if p.age < 30 && rng.gen_bool(0.8) {
                    "BELUM KAWIN"
                } else {
                    weighted(
                        rng,
                        &[("BELUM KAWIN", 30), ("CERAI MATI", 45), ("CERAI HIDUP", 25)],
                    )
                }
            }
            "ORANGTUA" | "MERTUA" => weighted(rng, &[("CERAI MATI", 75), ("KAWIN", 25)]),
            _ if p.age < 16 => "BELUM KAWIN",
            "CUCU" => "BELUM KAWIN",
            _ if p.age >= 22 => weighted(
                rng,
                &[("BELUM KAWIN", 85), ("KAWIN", 8), ("CERAI HIDUP", 7)],
            ),
            _ if p.age >= 19 => weighted(rng, &[("BELUM KAWIN", 95), ("KAWIN", 5)]),
            _ => "BELUM KAWIN",
        }
    }
}

/// Highest education reached, plausible for the age and the cohort.
fn education(rng: &mut ChaCha8Rng, age: u32) -> &'static str {
    const NONE: &str = "TIDAK/BELUM SEKOLAH";
    const SD_NOT: &str = "BELUM TAMAT SD/SEDERAJAT";
    const SD: &str = "TAMAT SD/SEDERAJAT";
    const SMP: &str = "SLTP/SEDERAJAT";
    const SMA: &str = "SLTA/SEDERAJAT";
    const D12: &str = "DIPLOMA I/II";
    const D3: &str = "AKADEMI/DIPLOMA III/S. MUDA";
    const S1: &str = "DIPLOMA IV/STRATA I";
    const S2: &str = "STRATA II";
    const S3: &str = "STRATA III";
    match age {
        0..=4 => NONE,
        5..=6 => weighted(rng, &[(NONE, 70), (SD_NOT, 30)]),
        7..=12 => SD_NOT,
        13..=15 => SD,
        16..=18 => SMP,
        19..=22 => weighted(rng, &[(SMA, 70), (SMP, 15), (SD, 10), (D12, 3), (D3, 2)]),
        23..=34 => weighted(
            rng,
            &[
                (SD, 12),
                (SMP, 20),
                (SMA, 45),
                (D12, 2),
                (D3, 6),
                (S1, 13),
                (S2, 2),
            ],
        ),
        35..=59 => weighted(
            rng,
            &[
                (NONE, 20),
                (SD_NOT, 30),
                (SD, 250),
                (SMP, 220),
                (SMA, 330),
                (D12, 20),
                (D3, 40),
                (S1, 75),
                (S2, 12),
                (S3, 3),
            ],
        ),
        _ => weighted(
            rng,
            &[
                (NONE, 15),
                (SD_NOT, 20),
                (SD, 40),
                (SMP, 12),
                (SMA, 9),
                (S1, 3),
                (S2, 1),
            ],
        ),
    }
}

fn is_graduate(pddk: &str) -> bool {
    matches!(
        pddk,
        "DIPLOMA IV/STRATA I" | "STRATA II" | "STRATA III" | "AKADEMI/DIPLOMA III/S. MUDA"
    )
}

/// Occupation from the master table, plausible for age, sex and education.
fn occupation(rng: &mut ChaCha8Rng, age: u32, sex: Sex, pddk: &str, kawin: &str) -> &'static str {
    const NONE: &str = "BELUM/TIDAK BEKERJA";
    const STUDENT: &str = "PELAJAR/MAHASISWA";
    match age {
        0..=4 => NONE,
        5 => weighted(rng, &[(NONE, 50), (STUDENT, 50)]),
        6..=15 => weighted(rng, &[(STUDENT, 97), (NONE, 3)]),
        16..=17 => weighted(rng, &[(STUDENT, 88), (NONE, 12)]),
        18..=22 if kawin == "BELUM KAWIN" && rng.gen_bool(0.55) => {
            weighted(rng, &[(STUDENT, 70), (NONE, 30)])
        }
        _ if age >= 58 && rng.gen_bool(0.5) => {
            if is_graduate(pddk) {
                weighted(rng, &[("PENSIUNAN", 80), (NONE, 20)])
            } else {
                weighted(
                    rng,
                    &[
                        (NONE, 40),
                        ("PETANI/PEKEBUN", 35),
                        ("PENSIUNAN", 10),
                        ("MENGURUS RUMAH TANGGA", 15),
                    ],
                )
            }
        }
        _ if is_graduate(pddk) => weighted(
            rng,
            &[
                ("KARYAWAN SWASTA", 25),
                ("PEGAWAI NEGERI SIPIL (PNS)", 18),
                ("GURU", 14),
                ("WIRASWASTA", 12),
                ("PERAWAT", 5),
                ("BIDAN", if sex == Sex::Female { 5 } else { 0 }),
                ("DOSEN", 2),
                ("DOKTER", 2),
                ("KARYAWAN BUMN", 4),
                ("KARYAWAN HONORER", 6),
                ("APOTEKER", 1),
                ("AKUNTAN", 1),
                ("PERANGKAT DESA", 2),
                (
                    "MENGURUS RUMAH TANGGA",
                    if sex == Sex::Female { 6 } else { 0 },
                ),
            ],
        ),
        _ if sex == Sex::Female => weighted(
            rng,
            &[
                ("MENGURUS RUMAH TANGGA", 38),
                ("PETANI/PEKEBUN", 12),
                ("KARYAWAN SWASTA", 12),
                ("WIRASWASTA", 9),
                ("PEDAGANG", 8),
                ("BURUH HARIAN LEPAS", 7),
                ("BURUH TANI/PERKEBUNAN", 5),
                ("PERDAGANGAN", 2),
                ("TUKANG JAHIT", 1),
                ("PENATA RIAS", 1),
                (NONE, 5),
            ],
        ),
        _ => weighted(
            rng,
            &[
                ("PETANI/PEKEBUN", 20),
                ("WIRASWASTA", 18),
                ("KARYAWAN SWASTA", 17),
                ("BURUH HARIAN LEPAS", 13),
                ("PEDAGANG", 5),
                ("BURUH TANI/PERKEBUNAN", 5),
                ("SOPIR", 4),
                ("TUKANG BATU", 3),
                ("TUKANG KAYU", 2),
                ("PETERNAK", 2),
                ("TRANSPORTASI", 1),
                ("MEKANIK", 1),
                ("TENTARA NASIONAL INDONESIA (TNI)", 1),
                ("KEPOLISIAN RI (POLRI)", 1),
                ("PERANGKAT DESA", 1),
                (NONE, 4),
            ],
        ),
    }
}

#[cfg(test)]
mod tests;
