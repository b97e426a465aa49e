//! `mock-server residents`: the real binary, real SQLite files in temporary data directories.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Output;

use dukcapil_domain::{Nik, NoKk, Reference, Sex, REFERENCE_DATE};
use serde_json::{Map, Value};

use crate::support;

fn residents(data_dir: &Path, args: &[&str]) -> Output {
    support::command("mock-server")
        .arg("residents")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MOCK_SEED")
        .env_remove("MOCK_POPULATION")
        .env_remove("MOCK_DATA_DIR")
        .output()
        .expect("run mock-server residents")
}

fn ok_stdout(out: &Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

fn records(json: &[u8]) -> Vec<Map<String, Value>> {
    let v: Value = serde_json::from_slice(json).expect("stdout is JSON");
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|r| r.as_object().expect("each record is an object").clone())
        .collect()
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> &'a str {
    r.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} is not a string in {r:?}"))
}

fn int(r: &Map<String, Value>, key: &str) -> u64 {
    r.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{key} is not an integer in {r:?}"))
}

fn age(r: &Map<String, Value>) -> u32 {
    let birth = chrono_date(text(r, "TGL_LHR"));
    REFERENCE_DATE
        .years_since(birth)
        .expect("born before the reference date")
}

fn chrono_date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("TGL_LHR {s:?}: {e}"))
}

const KEYS: &[&str] = &[
    "NIK",
    "NO_KK",
    "NAMA_LGKP",
    "JENIS_KLMIN",
    "TMPT_LHR",
    "TGL_LHR",
    "STATUS_KAWIN",
    "JENIS_PKRJN",
    "GOL_DARAH",
    "AGAMA",
    "PDDK_AKH",
    "STAT_HBKEL",
    "NAMA_LGKP_IBU",
    "ALAMAT",
    "NO_RT",
    "NO_RW",
    "NO_PROP",
    "PROP_NAME",
    "NO_KAB",
    "KAB_NAME",
    "NO_KEC",
    "KEC_NAME",
    "NO_KEL",
    "KEL_NAME",
    "STATUS",
];

#[test]
fn same_seed_gives_identical_bytes_and_realistic_residents() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = [
        "--seed",
        "7",
        "--population",
        "20000",
        "--limit",
        "20000",
        "--format",
        "json",
    ];
    let first = ok_stdout(&residents(a.path(), &args));
    let second = ok_stdout(&residents(b.path(), &args));
    assert!(first == second, "two runs with seed 7 differ");
    assert!(a.path().join("population-s7-n20000.sqlite").is_file());

    let rs = records(&first);
    assert_eq!(rs.len(), 20_000);
    let reference = Reference::get();
    let in_master = |table: &[dukcapil_domain::reference::MasterEntry], v: &str| {
        table.iter().any(|e| e.name == v)
    };

    let mut niks = HashSet::new();
    let mut families: BTreeMap<&str, Vec<&Map<String, Value>>> = BTreeMap::new();
    for r in &rs {
        for key in KEYS {
            assert!(r.contains_key(*key), "missing {key}");
        }
        // NIK: a string that parses and encodes birth date, sex and a real district.
        let nik: Nik = text(r, "NIK")
            .parse()
            .unwrap_or_else(|e| panic!("NIK {}: {e}", text(r, "NIK")));
        assert!(niks.insert(nik), "duplicate NIK {nik}");
        let info = nik.decode(REFERENCE_DATE);
        assert_eq!(
            info.birth_date,
            Some(chrono_date(text(r, "TGL_LHR"))),
            "{nik}"
        );
        let sex = if text(r, "JENIS_KLMIN") == "PEREMPUAN" {
            Sex::Female
        } else {
            Sex::Male
        };
        assert_eq!(info.sex, sex);
        let kk: NoKk = text(r, "NO_KK").parse().expect("NO_KK parses");
        let district = int(r, "NO_PROP") * 10_000 + int(r, "NO_KAB") * 100 + int(r, "NO_KEC");
        assert_eq!(
            u64::from(kk.district_code()),
            district,
            "KK issued where the family lives"
        );
        let village = district * 10_000 + int(r, "NO_KEL");
        let v = reference
            .villages_of(district as u32)
            .iter()
            .find(|v| v.code == village);
        assert_eq!(
            v.map(|v| v.name.as_str()),
            Some(text(r, "KEL_NAME")),
            "real village {village}"
        );

        let a = age(r);
        assert!(a <= 95);
        if a < 16 {
            assert_eq!(text(r, "STATUS_KAWIN"), "BELUM KAWIN", "married at {a}");
        }
        if a < 15 {
            assert!(matches!(
                text(r, "JENIS_PKRJN"),
                "PELAJAR/MAHASISWA" | "BELUM/TIDAK BEKERJA"
            ));
        }
        assert!(in_master(&reference.pekerjaan, text(r, "JENIS_PKRJN")));
        assert!(in_master(&reference.status_kawin, text(r, "STATUS_KAWIN")));
        assert!(in_master(&reference.pendidikan, text(r, "PDDK_AKH")));
        assert!(in_master(&reference.agama, text(r, "AGAMA")));
        assert!(in_master(
            &reference.hubungan_keluarga,
            text(r, "STAT_HBKEL")
        ));
        assert!(reference.is_blood_type(text(r, "GOL_DARAH")));
        for key in ["NAMA_LGKP", "NAMA_LGKP_IBU"] {
            let name = text(r, key);
            assert_eq!(name, name.to_uppercase());
            assert!(
                name.chars().count() <= 60 && !name.trim().is_empty(),
                "{name:?}"
            );
        }
        families.entry(text(r, "NO_KK")).or_default().push(r);
    }

    for (kk, fam) in &families {
        assert!(fam.len() <= 12, "KK {kk} has {}", fam.len());
        let heads: Vec<_> = fam
            .iter()
            .filter(|r| text(r, "STAT_HBKEL") == "KEPALA KELUARGA")
            .collect();
        assert_eq!(heads.len(), 1, "KK {kk}");
        for r in fam {
            for key in ["ALAMAT", "KEL_NAME"] {
                assert_eq!(text(r, key), text(heads[0], key), "KK {kk} {key}");
            }
            for key in ["NO_RT", "NO_RW", "NO_KEL", "NO_KEC"] {
                assert_eq!(int(r, key), int(heads[0], key), "KK {kk} {key}");
            }
        }
        if let Some(wife) = fam.iter().find(|r| text(r, "STAT_HBKEL") == "ISTRI") {
            for child in fam.iter().filter(|r| text(r, "STAT_HBKEL") == "ANAK") {
                assert_eq!(
                    text(child, "NAMA_LGKP_IBU"),
                    text(wife, "NAMA_LGKP"),
                    "KK {kk}"
                );
                let gap = age(wife) as i64 - age(child) as i64;
                assert!(
                    (17..=46).contains(&gap),
                    "KK {kk}: mother {gap} years older"
                );
            }
        }
    }
    let mean = rs.len() as f64 / families.len() as f64;
    assert!((3.0..=4.0).contains(&mean), "mean family size {mean}");

    let share = |f: &dyn Fn(&Map<String, Value>) -> bool| {
        rs.iter().filter(|r| f(r)).count() as f64 / rs.len() as f64
    };
    let home = share(&|r| matches!(int(r, "NO_PROP") * 100 + int(r, "NO_KAB"), 3313 | 3303));
    assert!(home > 0.75, "Karanganyar + Purbalingga {home}");
    assert!(
        share(&|r| !text(r, "NIK").starts_with(&format!(
            "{}{:02}",
            int(r, "NO_PROP"),
            int(r, "NO_KAB")
        ))) > 0.02
    );
    let deceased = share(&|r| text(r, "STATUS") == "deceased");
    assert!((0.01..=0.02).contains(&deceased), "deceased {deceased}");
    for status in ["duplicate", "inactive"] {
        let s = share(&|r| text(r, "STATUS") == status);
        assert!((0.002..=0.01).contains(&s), "{status} {s}");
    }
    let big = share(&|r| text(r, "NIK").parse::<u64>().unwrap() > 1 << 53);
    assert!((0.005..0.05).contains(&big), "NIK beyond 2^53 {big}");
    assert!(share(&|r| text(r, "GOL_DARAH") == "TIDAK TAHU") > 0.5);
    let names: Vec<&str> = rs.iter().map(|r| text(r, "NAMA_LGKP")).collect();
    assert!(names.iter().any(|n| n.contains('\'')), "apostrophes");
    assert!(names.iter().any(|n| n.contains('.')), "dots");
    assert!(names.iter().any(|n| n.ends_with(' ')), "trailing space");
    assert!(names.iter().any(|n| n.chars().count() >= 55), "long names");
    assert!(
        names.iter().any(|n| !n.trim().contains(' ')),
        "single-word names"
    );
}

#[test]
fn a_corrupt_dataset_is_regenerated_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--seed",
        "3",
        "--population",
        "1500",
        "--limit",
        "1500",
        "--format",
        "json",
    ];
    let good = ok_stdout(&residents(dir.path(), &args));
    let file = dir.path().join("population-s3-n1500.sqlite");
    let bytes = std::fs::read(&file).unwrap();

    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = residents(dir.path(), &args);
    assert_eq!(
        ok_stdout(&out),
        good,
        "regenerated data equals the original"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corrupt") && stderr.contains(&file.display().to_string()),
        "warning names the file: {stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap().len(), bytes.len());

    std::fs::write(&file, b"garbage, not SQLite").unwrap();
    assert_eq!(ok_stdout(&residents(dir.path(), &args)), good);

    // A valid file is reused as is: no warning, no rewrite.
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    let out = residents(dir.path(), &args);
    assert_eq!(ok_stdout(&out), good);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("corrupt"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn a_file_as_data_dir_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = residents(&file, &["--population", "100"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("not a directory"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn table_is_aligned_and_status_filters() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok_stdout(&residents(
        dir.path(),
        &["--population", "3000", "--limit", "8"],
    ));
    let table = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 9, "{table}");
    assert!(
        lines[0].starts_with("NIK ")
            && lines[0].contains("NAMA_LGKP")
            && lines[0].ends_with("STATUS")
    );
    // Every column starts at the same character offset on every line.
    let starts = |line: &str, col: &str| {
        lines[0]
            .find(col)
            .map(|i| line.chars().nth(i - 1) == Some(' '))
    };
    for col in ["NO_KK", "NAMA_LGKP", "TGL_LHR", "STATUS"] {
        let at = lines[0].find(col).unwrap();
        for line in &lines[1..] {
            assert_eq!(starts(line, col), Some(true), "{col} in {line:?}");
            assert_ne!(line.chars().nth(at), Some(' '), "{col} in {line:?}");
        }
    }
    assert!(
        dir.path().join("population-s1-n3000.sqlite").is_file(),
        "defaults: seed 1"
    );

    let json = ok_stdout(&residents(
        dir.path(),
        &[
            "--population",
            "3000",
            "--status",
            "deceased",
            "--limit",
            "1000",
            "--format",
            "json",
        ],
    ));
    let rs = records(&json);
    assert!(!rs.is_empty() && rs.len() < 200);
    assert!(rs.iter().all(|r| text(r, "STATUS") == "deceased"));
    let bad = residents(dir.path(), &["--population", "3000", "--status", "alive"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("alive"));
}
