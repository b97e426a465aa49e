use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::element::{Field, FieldSet};
use crate::reference::MasterEntry;

fn population(seed: u64, size: u64) -> Vec<Resident> {
    generate(PopulationSpec { seed, size }).collect()
}

fn district_of(r: &Resident) -> u32 {
    r.no_prop * 10_000 + r.no_kab * 100 + r.no_kec
}

fn age(r: &Resident) -> u32 {
    age_on_reference_date(r.tgl_lhr)
}

/// Families in stream order (the generator emits each family contiguously).
fn families(rs: &[Resident]) -> Vec<&[Resident]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=rs.len() {
        if i == rs.len() || rs[i].no_kk != rs[start].no_kk {
            out.push(&rs[start..i]);
            start = i;
        }
    }
    out
}

fn in_master(table: &[MasterEntry], value: &str) -> bool {
    table.iter().any(|e| e.name == value)
}

/// Every rule that must hold for each resident and each family, whatever the seed and size.
fn check_rules(rs: &[Resident]) -> Result<(), TestCaseError> {
    let reference = Reference::get();
    let mut niks = HashSet::new();
    let mut kks = HashSet::new();
    for r in rs {
        let text = r.nik.to_string();
        let parsed: Nik = text
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed, r.nik);
        let info = r.nik.decode(REFERENCE_DATE);
        prop_assert_eq!(info.birth_date, Some(r.tgl_lhr), "{}", text);
        prop_assert_eq!(info.sex, r.jenis_klmin);
        prop_assert!(!info.district.is_empty());
        prop_assert!(niks.insert(r.nik), "duplicate NIK {}", text);
        let kk: NoKk = r
            .no_kk
            .to_string()
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", r.no_kk)))?;
        prop_assert_eq!(kk.district_code(), district_of(r));

        // Address: a real village with its real names.
        let village = u64::from(district_of(r)) * 10_000 + u64::from(r.no_kel);
        let v = reference
            .villages_of(district_of(r))
            .iter()
            .find(|v| v.code == village);
        prop_assert!(v.is_some_and(|v| v.name == r.kel_name), "village {village}");
        prop_assert_eq!(
            &reference.district(district_of(r)).unwrap().name,
            &r.kec_name
        );
        prop_assert_eq!(&reference.province(r.no_prop).unwrap().name, &r.prop_name);

        // Ages and what they allow.
        let a = age(r);
        prop_assert!(a <= MAX_AGE);
        if a < 16 {
            prop_assert_eq!(&r.status_kawin, "BELUM KAWIN", "married at {}", a);
        }
        if a < 15 {
            prop_assert!(
                matches!(
                    r.jenis_pkrjn.as_str(),
                    "PELAJAR/MAHASISWA" | "BELUM/TIDAK BEKERJA"
                ),
                "{} at {}",
                r.jenis_pkrjn,
                a
            );
        }
        prop_assert!(
            in_master(&reference.pekerjaan, &r.jenis_pkrjn),
            "{}",
            r.jenis_pkrjn
        );
        prop_assert!(in_master(&reference.status_kawin, &r.status_kawin));
        prop_assert!(
            in_master(&reference.pendidikan, &r.pddk_akh),
            "{}",
            r.pddk_akh
        );
        prop_assert!(in_master(&reference.agama, &r.agama));
        prop_assert!(in_master(&reference.hubungan_keluarga, &r.stat_hbkel));
        prop_assert!(reference.is_blood_type(&r.gol_darah));

        // Names: upper case, within the field, never empty.
        for name in [
            Some(&r.nama_lgkp),
            Some(&r.nama_lgkp_ibu),
            r.nama_lgkp_ayah.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert_eq!(name, &name.to_uppercase());
            prop_assert!(name.chars().count() <= MAX_NAME_LEN, "{:?}", name);
            prop_assert!(!name.trim().is_empty());
            prop_assert!(!name.starts_with(' ') && !name.contains("  "), "{:?}", name);
        }
    }
    for fam in families(rs) {
        prop_assert!(kks.insert(fam[0].no_kk), "KK {} split", fam[0].no_kk);
        prop_assert!(fam.len() <= MAX_FAMILY);
        prop_assert_eq!(
            fam.iter()
                .filter(|r| r.stat_hbkel == "KEPALA KELUARGA")
                .count(),
            1
        );
        prop_assert_eq!(&fam[0].stat_hbkel, "KEPALA KELUARGA");
        let head = &fam[0];
        for r in fam {
            prop_assert_eq!(
                (&r.alamat, &r.dusun, r.no_rt, r.no_rw, r.no_kel),
                (
                    &head.alamat,
                    &head.dusun,
                    head.no_rt,
                    head.no_rw,
                    head.no_kel
                )
            );
            prop_assert_eq!(district_of(r), district_of(head));
        }
        let wife = fam.iter().find(|r| r.stat_hbkel == "ISTRI");
        let mother = wife.or_else(|| (head.jenis_klmin == Sex::Female).then_some(head));
        let father = fam
            .iter()
            .find(|r| r.stat_hbkel == "SUAMI")
            .or_else(|| (head.jenis_klmin == Sex::Male).then_some(head));
        for child in fam.iter().filter(|r| r.stat_hbkel == "ANAK") {
            if let Some(m) = mother {
                prop_assert_eq!(&child.nama_lgkp_ibu, &m.nama_lgkp);
                let gap = age(m) as i64 - age(child) as i64;
                prop_assert!((17..=46).contains(&gap), "mother {} years older", gap);
            }
            if let Some(f) = father {
                prop_assert_eq!(child.nama_lgkp_ayah.as_ref(), Some(&f.nama_lgkp));
                prop_assert!(age(f) >= age(child) + 18);
            }
        }
        for spouse in fam
            .iter()
            .filter(|r| matches!(r.stat_hbkel.as_str(), "ISTRI" | "SUAMI"))
        {
            prop_assert!(age(spouse) >= 17);
            prop_assert_eq!(&spouse.status_kawin, "KAWIN");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_population_keeps_the_rules(seed in any::<u64>(), size in 1u64..2_500) {
        let rs = population(seed, size);
        prop_assert_eq!(rs.len() as u64, size);
        check_rules(&rs)?;
    }

    #[test]
    fn projection_never_leaks_a_field(seed in any::<u64>(), mask in any::<u32>()) {
        let granted: FieldSet = Field::ALL.iter().copied().filter(|&f| mask & (1 << f as u8) != 0).collect();
        for r in generate(PopulationSpec { seed, size: 40 }) {
            let fields: Vec<Field> = r.project(granted).map(|(f, _)| f).collect();
            prop_assert_eq!(fields.len(), granted.len());
            prop_assert!(fields.iter().all(|&f| granted.contains(f)));
            let json = r.to_wire_json(granted, crate::WireFlavour::default());
            prop_assert!(json.keys().all(|k| Field::from_wire(k).is_some_and(|f| granted.contains(f))));
        }
    }

    /// The in-place serialiser of the gateway's answers writes exactly what `to_json` writes,
    /// in every flavour.
    #[test]
    fn wire_values_serialise_as_their_json(seed in any::<u64>(), flavour in 0usize..6, year in -300i32..12_000) {
        let flavour = crate::WireFlavour {
            id_numbers: [crate::IdNumberType::Number, crate::IdNumberType::String][flavour % 2],
            date_format: [crate::DateFormat::Iso, crate::DateFormat::DayMonthYearDash, crate::DateFormat::DayMonthYearDot][flavour / 2],
        };
        let odd_date = chrono::NaiveDate::from_ymd_opt(year, 2, 28).unwrap();
        for r in generate(PopulationSpec { seed, size: 30 }) {
            let values = r.project(FieldSet::all()).map(|(_, v)| v).chain([crate::FieldValue::Date(odd_date)]);
            for v in values {
                let direct = serde_json::to_string(&v.clone().wire(flavour)).unwrap();
                let via_value = serde_json::to_string(&v.to_json(flavour)).unwrap();
                prop_assert_eq!(direct, via_value);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn nik_round_trips_display_fromstr_and_serde(
        district_index in 0usize..7_285,
        days in 0u64..36_000,
        female in any::<bool>(),
        serial in 1u16..=9_999,
    ) {
        let district = Reference::get().districts[district_index].code;
        let birth = REFERENCE_DATE - Days::new(days);
        let sex = if female { Sex::Female } else { Sex::Male };
        let nik = Nik::from_parts(district, birth, sex, serial);
        let text = nik.to_string();
        prop_assert_eq!(text.len(), 16);
        prop_assert_eq!(text.parse::<Nik>(), Ok(nik));
        let json = serde_json::to_string(&nik).unwrap();
        prop_assert_eq!(&json, &format!("\"{text}\""));
        prop_assert_eq!(serde_json::from_str::<Nik>(&json).unwrap(), nik);
        let info = nik.decode(REFERENCE_DATE);
        prop_assert_eq!(info.birth_date, Some(birth));
        prop_assert_eq!(info.sex, sex);
    }
}

#[test]
fn same_spec_same_people_other_seed_other_people() {
    let a = population(42, 3_000);
    assert_eq!(a, population(42, 3_000));
    assert_ne!(a, population(43, 3_000));
    // A smaller population is not required to be a prefix, but must be exactly its size.
    assert_eq!(population(42, 1).len(), 1);
    assert_eq!(population(42, 0).len(), 0);
}

/// Names follow the generation: in 20,000 residents at least 75% of full names are distinct, and
/// single-word names are at most a third as common among those born after 2000 as among those
/// born before 1970.
#[test]
fn names_follow_the_generation_and_rarely_repeat() {
    let rs = population(1, 20_000);
    let distinct: HashSet<&str> = rs.iter().map(|r| r.nama_lgkp.trim()).collect();
    let share_distinct = distinct.len() as f64 / rs.len() as f64;
    assert!(
        share_distinct >= 0.75,
        "distinct full names {share_distinct}"
    );
    let single = |pred: &dyn Fn(i32) -> bool| {
        let cohort: Vec<&Resident> = rs
            .iter()
            .filter(|r| pred(chrono::Datelike::year(&r.tgl_lhr)))
            .collect();
        assert!(cohort.len() > 1_000, "cohort of {}", cohort.len());
        cohort
            .iter()
            .filter(|r| !r.nama_lgkp.trim().contains(' '))
            .count() as f64
            / cohort.len() as f64
    };
    let (young, old) = (single(&|y| y > 2000), single(&|y| y < 1970));
    assert!(
        young < old / 3.0,
        "single-word names: born after 2000 {young}, before 1970 {old}"
    );
    assert!(old > 0.15, "older Javanese often have one name: {old}");
}

/// Proportions over one large population: regions, statuses, families, names and fields.
#[test]
fn a_large_population_looks_real() {
    let rs = population(1, 30_000);
    check_rules(&rs).unwrap();
    let n = rs.len() as f64;
    let share = |f: &dyn Fn(&Resident) -> bool| rs.iter().filter(|r| f(r)).count() as f64 / n;

    let home = share(&|r| matches!(r.no_prop * 100 + r.no_kab, 3313 | 3303));
    assert!(
        (0.75..0.95).contains(&home),
        "Karanganyar+Purbalingga {home}"
    );
    assert!(share(&|r| r.no_prop * 100 + r.no_kab == 3313) > 0.5);
    let nik_elsewhere = share(&|r| r.nik.district_code() != district_of(r));
    assert!(
        (0.02..0.15).contains(&nik_elsewhere),
        "registered elsewhere {nik_elsewhere}"
    );
    let born_elsewhere = share(&|r| r.tmpt_lhr != r.kab_name && r.tmpt_lhr != r.kec_name);
    assert!(born_elsewhere > 0.05, "born elsewhere {born_elsewhere}");

    let deceased = share(&|r| r.status == ResidentStatus::Deceased);
    let duplicate = share(&|r| r.status == ResidentStatus::Duplicate);
    let inactive = share(&|r| r.status == ResidentStatus::Inactive);
    assert!((0.01..=0.02).contains(&deceased), "deceased {deceased}");
    assert!(
        (0.003..=0.008).contains(&duplicate),
        "duplicate {duplicate}"
    );
    assert!((0.003..=0.008).contains(&inactive), "inactive {inactive}");
    let papua = share(&|r| r.nik.exceeds_double_precision());
    assert!((0.005..0.05).contains(&papua), "NIK > 2^53 {papua}");
    assert!(rs
        .iter()
        .filter(|r| r.nik.exceeds_double_precision())
        .all(|r| (91..=96).contains(&r.no_prop)));

    let fams = families(&rs);
    let mean = n / fams.len() as f64;
    assert!((3.0..=4.0).contains(&mean), "mean family size {mean}");
    assert!(fams.iter().any(|f| f.len() == 1));
    assert!(fams.iter().any(|f| f.len() >= 8));
    for rel in [
        "ISTRI",
        "SUAMI",
        "ANAK",
        "ORANGTUA",
        "MERTUA",
        "CUCU",
        "FAMILI LAIN",
    ] {
        assert!(rs.iter().any(|r| r.stat_hbkel == rel), "no {rel}");
    }

    let ages: Vec<u32> = rs.iter().map(age).collect();
    assert!(ages.contains(&0) && ages.iter().any(|&a| a >= 85));
    assert!(share(&|r| r.gol_darah == "TIDAK TAHU") > 0.5);
    assert!(share(&|r| r.agama == "ISLAM") > 0.7);
    assert!(rs.iter().any(|r| r.agama == "HINDU") && rs.iter().any(|r| r.agama == "KRISTEN"));

    // Name quirks the register really has.
    assert!(share(&|r| r.nama_lgkp.trim_end().contains('\'')) > 0.005);
    assert!(share(&|r| r.nama_lgkp.contains('.')) > 0.005);
    assert!(rs.iter().any(|r| r.nama_lgkp.ends_with(' ')));
    assert!(rs.iter().any(|r| r.nama_lgkp.chars().count() >= 55));
    assert!(
        share(&|r| !r.nama_lgkp.trim().contains(' ')) > 0.05,
        "single-word names"
    );
    assert!(rs
        .iter()
        .any(|r| r.nama_lgkp.starts_with("I MADE ") || r.nama_lgkp.starts_with("NI LUH ")));
    assert!(rs.iter().any(|r| r.nama_lgkp.starts_with("MUH. ")));

    // Batak marga passes from father to child.
    let marga: HashSet<&str> = Reference::get()
        .last_names
        .iter()
        .filter(|e| e.kind == "marga" && e.has_style("batak"))
        .map(|e| e.name.as_str())
        .collect();
    let mut batak_children = 0;
    for fam in &fams {
        let head = &fam[0];
        // A Batak name is a given name and the marga: a one-word name is no marga.
        let words: Vec<&str> = head.nama_lgkp.split_whitespace().collect();
        let [_, .., last] = words.as_slice() else {
            continue;
        };
        let last = *last;
        if head.jenis_klmin != Sex::Male
            || !marga.contains(last)
            || head.agama == "ISLAM" && head.nama_lgkp.starts_with("MUH")
        {
            continue;
        }
        for child in fam.iter().filter(|r| r.stat_hbkel == "ANAK") {
            assert!(
                child.nama_lgkp.split_whitespace().any(|w| w == last),
                "{} / {}",
                head.nama_lgkp,
                child.nama_lgkp
            );
            batak_children += 1;
        }
    }
    assert!(batak_children > 0);

    // Optional fields are mostly, not always, filled.
    for (field, f) in [
        (
            "NAMA_LGKP_AYAH",
            &(|r: &Resident| r.nama_lgkp_ayah.is_some()) as &dyn Fn(&Resident) -> bool,
        ),
        ("KODE_POS", &|r: &Resident| r.kode_pos.is_some()),
        ("EKTP_STATUS", &|r: &Resident| r.ektp_status.is_some()),
        ("NO_AKTA_LHR", &|r: &Resident| r.no_akta_lhr.is_some()),
        ("DUSUN", &|r: &Resident| r.dusun.is_some()),
    ] {
        let s = share(f);
        assert!((0.3..1.0).contains(&s), "{field} filled {s}");
    }
    assert!(rs
        .iter()
        .filter(|r| age(r) < 17)
        .all(|r| r.ektp_status.is_none()));

    // Status counts per relation are not all in one bucket: a sanity check on the mix.
    let mut by_rel: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rs {
        *by_rel.entry(r.stat_hbkel.as_str()).or_default() += 1;
    }
    assert!(by_rel["ANAK"] > by_rel["ISTRI"]);
}
