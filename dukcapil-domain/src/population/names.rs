//! Indonesian personal names in their regional and religious styles, drawn from the embedded
//! name lists (`Reference::first_names` / `last_names`), with the quirks real registers carry.

use std::sync::OnceLock;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::reference::{NameEntry, NameSex, Reference};
use crate::Sex;

/// The longest `NAMA_LGKP` the register holds.
pub const MAX_NAME_LEN: usize = 60;

/// Naming style of a family; it also drives the religion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Javanese names, often a single word.
    Jawa,
    /// Sundanese names (West Java, Banten).
    Sunda,
    /// Arabic-derived Muslim names (MUHAMMAD, SITI, apostrophes kept).
    Islam,
    /// Christian names, with a family name in the east.
    Kristen,
    /// Balinese names with the I/NI prefix and birth-order name.
    Bali,
    /// Batak names followed by the family's marga.
    Batak,
    /// Chinese-Indonesian names with an inherited family name.
    Tionghoa,
    /// General Indonesian names with no regional style.
    Umum,
}

/// Real Arabic-derived names keep the apostrophe of the ain/hamza in the register.
const APOSTROPHE_FEMALE: &[&str] = &[
    "NUR'AINI",
    "MU'MINAH",
    "RABI'AH",
    "NI'MAH",
    "ROFI'AH",
    "KHOIRUN NISA'",
    "MAS'ULAH",
];
const APOSTROPHE_MALE: &[&str] = &[
    "MA'RUF",
    "SYAFI'I",
    "JA'FAR",
    "MAS'UD",
    "SA'DULLAH",
    "BA'ASYIR",
    "ISMA'IL",
];

/// Per-sex pools of upper-cased names, built once from the reference lists.
#[derive(Debug)]
struct Pool {
    male: Vec<&'static str>,
    female: Vec<&'static str>,
}

impl Pool {
    fn build(entries: &'static [NameEntry], keep: impl Fn(&NameEntry) -> bool) -> Pool {
        let mut male = Vec::new();
        let mut female = Vec::new();
        for e in entries.iter().filter(|e| keep(e)) {
            if e.name.is_empty() {
                continue;
            }
            if e.sex != NameSex::Female {
                male.push(e.name.as_str());
            }
            if e.sex != NameSex::Male {
                female.push(e.name.as_str());
            }
        }
        // An empty pool would make sampling impossible; fall back to a neutral name.
        if male.is_empty() {
            male.push("SLAMET");
        }
        if female.is_empty() {
            female.push("SRI");
        }
        Pool { male, female }
    }

    fn pick(&self, rng: &mut ChaCha8Rng, sex: Sex) -> &'static str {
        let v = if sex == Sex::Male {
            &self.male
        } else {
            &self.female
        };
        v[rng.gen_range(0..v.len())]
    }
}

#[derive(Debug)]
struct Pools {
    jawa: Pool,
    sunda: Pool,
    islam: Pool,
    kristen: Pool,
    bali: Pool,
    batak: Pool,
    tionghoa: Pool,
    umum: Pool,
    last_umum: Vec<&'static str>,
    last_jawa: Vec<&'static str>,
    last_sunda: Vec<&'static str>,
    last_islam: Vec<&'static str>,
    last_tionghoa: Vec<&'static str>,
    marga_batak: Vec<&'static str>,
    marga_timur: Vec<&'static str>,
}

fn lasts(r: &'static Reference, keep: impl Fn(&NameEntry) -> bool) -> Vec<&'static str> {
    let v: Vec<&'static str> = r
        .last_names
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.name.as_str())
        .collect();
    if v.is_empty() {
        vec!["SANTOSO"]
    } else {
        v
    }
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let r = Reference::get();
        let f = &r.first_names;
        let plain = |e: &NameEntry| !e.name.contains(' ');
        Pools {
            jawa: Pool::build(f, |e| e.has_style("jawa") && plain(e)),
            sunda: Pool::build(f, |e| e.has_style("sunda") && plain(e)),
            islam: Pool::build(f, |e| e.has_style("islam") && plain(e)),
            kristen: Pool::build(f, |e| e.has_style("kristen") && plain(e)),
            bali: Pool::build(f, |e| e.has_style("bali") && plain(e)),
            batak: Pool::build(f, |e| e.has_style("batak") && plain(e)),
            tionghoa: Pool::build(f, |e| e.has_style("tionghoa") && plain(e)),
            umum: Pool::build(f, |e| e.has_style("umum") && plain(e)),
            last_umum: lasts(r, |e| e.has_style("umum") && e.kind == "nama_kedua"),
            last_jawa: lasts(r, |e| e.has_style("jawa") && e.kind == "nama_kedua"),
            last_sunda: lasts(r, |e| e.has_style("sunda")),
            last_islam: lasts(r, |e| e.has_style("islam") && e.kind == "nama_kedua"),
            last_tionghoa: lasts(r, |e| e.has_style("tionghoa")),
            marga_batak: lasts(r, |e| e.has_style("batak") && e.kind == "marga"),
            marga_timur: lasts(r, |e| {
                (e.has_style("maluku") || e.has_style("manado")) && e.kind == "marga"
            }),
        }
    })
}

fn one<'a>(rng: &mut ChaCha8Rng, v: &[&'a str]) -> &'a str {
    v[rng.gen_range(0..v.len())]
}

/// A surname a family passes on (Batak marga, Chinese-Indonesian or eastern Christian family
/// name), or `None` for styles without inherited names.
pub(crate) fn family_surname(rng: &mut ChaCha8Rng, style: Style) -> Option<&'static str> {
    let p = pools();
    match style {
        Style::Batak => Some(one(rng, &p.marga_batak)),
        Style::Tionghoa => Some(one(rng, &p.last_tionghoa)),
        Style::Kristen if rng.gen_bool(0.5) => Some(one(rng, &p.marga_timur)),
        _ => None,
    }
}

/// Balinese birth-order name for the `order`-th child (0-based), cycling after the fourth.
fn bali_order(rng: &mut ChaCha8Rng, order: usize) -> &'static str {
    match order % 4 {
        0 => one(rng, &["WAYAN", "PUTU", "GEDE"]),
        1 => one(rng, &["MADE", "KADEK", "NENGAH"]),
        2 => one(rng, &["NYOMAN", "KOMANG"]),
        _ => "KETUT",
    }
}

/// What a name is built for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameRequest {
    pub style: Style,
    pub sex: Sex,
    /// Inherited family name (Batak marga etc.), if any.
    pub surname: Option<&'static str>,
    /// Birth order among siblings (Balinese names).
    pub order: usize,
    /// Birth year: name styles follow the generation.
    pub birth_year: i32,
}

/// How much of the older naming habits a birth cohort keeps: 1.0 for people born up to 1955,
/// falling linearly to 0.1 for those born from 2005. Single-word names were common among older
/// Javanese and Sundanese and are rare among the young, whose names also run to three words
/// more often; a register of one shape for every generation repeats full names far too often.
pub(crate) fn old_habits(birth_year: i32) -> f64 {
    let t = f64::from((birth_year.clamp(1955, 2005) - 1955) as u8) / 50.0;
    1.0 - 0.9 * t
}

/// A full name in the register's form: upper case, at most [`MAX_NAME_LEN`] characters.
/// Quirks (long names, trailing space) are applied by the caller through [`quirks`].
pub(crate) fn full_name(rng: &mut ChaCha8Rng, req: NameRequest) -> String {
    let p = pools();
    let sex = req.sex;
    let old = old_habits(req.birth_year);
    let young = 1.0 - old;
    let mut parts: Vec<&str> = Vec::with_capacity(5);
    match req.style {
        Style::Jawa => {
            if rng.gen_bool(0.01) {
                parts.push(if sex == Sex::Male { "R." } else { "RR." });
            }
            parts.push(p.jawa.pick(rng, sex));
            if !rng.gen_bool(0.6 * old) {
                parts.push(if rng.gen_bool(0.5) {
                    one(rng, &p.last_jawa)
                } else {
                    one(rng, &p.last_umum)
                });
                if rng.gen_bool(0.5 * young) {
                    parts.push(one(rng, &p.last_umum));
                }
            }
        }
        Style::Sunda => {
            parts.push(p.sunda.pick(rng, sex));
            if !rng.gen_bool(0.5 * old) {
                parts.push(one(rng, &p.last_sunda));
                if rng.gen_bool(0.4 * young) {
                    parts.push(one(rng, &p.last_umum));
                }
            }
        }
        Style::Islam => {
            let roll: f64 = rng.gen();
            if sex == Sex::Male {
                if roll < 0.22 {
                    parts.push("MUHAMMAD");
                } else if roll < 0.30 {
                    parts.push("MUH.");
                } else if roll < 0.34 {
                    parts.push("M.");
                } else if roll < 0.42 {
                    parts.push("AHMAD");
                } else if roll < 0.50 {
                    parts.push(one(rng, APOSTROPHE_MALE));
                }
            } else if roll < 0.20 {
                parts.push("SITI");
            } else if roll < 0.28 {
                parts.push("NUR");
            } else if roll < 0.38 {
                parts.push(one(rng, APOSTROPHE_FEMALE));
            }
            if parts.is_empty() || !parts[0].contains('\'') {
                parts.push(p.islam.pick(rng, sex));
            }
            if !rng.gen_bool(0.5 * old) {
                parts.push(one(rng, &p.last_islam));
                if rng.gen_bool(0.4 * young) {
                    parts.push(one(rng, &p.last_umum));
                }
            }
        }
        Style::Kristen => {
            parts.push(p.kristen.pick(rng, sex));
            if rng.gen_bool(0.3) {
                parts.push(p.umum.pick(rng, sex));
            }
            match req.surname {
                Some(s) => parts.push(s),
                None => parts.push(one(rng, &p.last_umum)),
            }
        }
        Style::Bali => {
            parts.push(if sex == Sex::Male { "I" } else { "NI" });
            if sex == Sex::Female && rng.gen_bool(0.4) {
                parts.push("LUH");
            }
            parts.push(bali_order(rng, req.order));
            parts.push(p.bali.pick(rng, sex));
            if rng.gen_bool(0.3) {
                parts.push(p.bali.pick(rng, sex));
            }
        }
        Style::Batak => {
            parts.push(if rng.gen_bool(0.5) {
                p.batak.pick(rng, sex)
            } else {
                p.kristen.pick(rng, sex)
            });
            if let Some(s) = req.surname {
                parts.push(s);
            }
        }
        Style::Tionghoa => {
            parts.push(p.tionghoa.pick(rng, sex));
            if let Some(s) = req.surname {
                parts.push(s);
            }
        }
        Style::Umum => {
            parts.push(p.umum.pick(rng, sex));
            if !rng.gen_bool(0.4 * old) {
                parts.push(one(rng, &p.last_umum));
            }
            if rng.gen_bool(0.15 + 0.4 * young) {
                parts.push(one(rng, &p.last_umum));
            }
        }
    }
    let mut name = String::with_capacity(40);
    for part in parts {
        push_word(&mut name, part);
    }
    truncate_words(name)
}

/// Appends an upper-cased word unless it would pass the length limit.
fn push_word(name: &mut String, word: &str) {
    let extra = word.chars().count() + usize::from(!name.is_empty());
    if name.chars().count() + extra > MAX_NAME_LEN {
        return;
    }
    if !name.is_empty() {
        name.push(' ');
    }
    for c in word.chars() {
        name.extend(c.to_uppercase());
    }
}

/// Cuts a name at a word boundary so it fits the register's limit.
fn truncate_words(name: String) -> String {
    if name.chars().count() <= MAX_NAME_LEN {
        return name;
    }
    let mut out = String::with_capacity(MAX_NAME_LEN);
    for w in name.split(' ') {
        push_word(&mut out, w);
    }
    out
}

/// Applies the register's quirks to a freshly built name: now and then a very long name (55-60
/// characters, as written on a birth certificate) or a trailing space left by data entry.
pub(crate) fn quirks(rng: &mut ChaCha8Rng, mut name: String, sex: Sex) -> String {
    if rng.gen_bool(0.006) {
        let p = pools();
        // Long names: add given and second names until the name nearly fills the field.
        let mut guard = 0;
        while name.chars().count() < 55 && guard < 40 {
            let w = if rng.gen_bool(0.5) {
                p.umum.pick(rng, sex)
            } else {
                one(rng, &p.last_umum)
            };
            push_word(&mut name, w);
            guard += 1;
        }
    }
    if rng.gen_bool(0.004) && name.chars().count() < MAX_NAME_LEN {
        name.push(' ');
    }
    name
}
