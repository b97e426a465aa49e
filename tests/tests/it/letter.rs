//! The PoC result letter (`poc-result.html`) opened in a real headless Chromium: what an official
//! needs is rendered, nothing overflows an A4 page, printing gives A4 pages, and the page loads
//! nothing from anywhere and logs no error. The letters are built by the library from the fixed
//! synthetic session (as `poc_documents` does) and from a stress session with long names, long
//! unbroken tokens and a failing check with many long evidence lines, in both languages.
//!
//! `POC_LETTER_OUT=DIR` keeps the letters, their PDFs and whole-page PNG screenshots (print
//! media, A4 width) in DIR to look at.

use std::path::{Path, PathBuf};

use poc_runner::Requirements;
use poc_runner::{self as result, Documents, SessionRecord};
use poc_runner::{example, Lang};
use poc_runner::{CheckOutcome, CheckResult};
use serde::Deserialize;

use crate::support::browser::{self, Chromium, Page, A4_IN, A4_PX, LETTER_IN};

/// A4 in PostScript points: 210 mm x 297 mm.
const A4_PT: (f64, f64) = (595.28, 841.89);

const APP_60: &str = "Sistem Informasi Manajemen Rumah Sakit Terpadu Sehat Bersama";
const INSTITUTION_60: &str = "RUMAH SAKIT UMUM DAERAH DOKTER MOEWARDI KAB KARANGANYAR JAWA";
const ASSESSOR_60: &str = "Tim Penguji PoC Dinas Kependudukan dan Pencatatan Sipil Jawa";

struct Letter {
    name: &'static str,
    lang: Lang,
    docs: Documents,
    /// Sane number of A4 pages when printed.
    pages: std::ops::RangeInclusive<usize>,
}

fn requirements() -> Requirements {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/requirements.toml");
    Requirements::load(&path).expect("requirements catalogue")
}

fn check(
    test_id: &str,
    requirement: &str,
    outcome: CheckOutcome,
    evidence: Vec<String>,
) -> CheckResult {
    CheckResult {
        test_id: test_id.into(),
        check: "stress".into(),
        requirement: requirement.into(),
        title_id: format!("Pemeriksaan {test_id} atas ketentuan {requirement}"),
        title_en: format!("Check {test_id} of requirement {requirement}"),
        outcome,
        // Bilingual like real evidence; the Indonesian line differs so each letter shows its own.
        evidence: evidence
            .into_iter()
            .map(|e| poc_runner::Evidence::new(format!("Bukti: {e}"), e))
            .collect(),
    }
}

/// The synthetic failing session with everything long that a real one can carry: 60-character
/// names, unbroken build ids, hashes, fingerprints and paths, a failing check with 40 long
/// evidence lines, and enough checks to fill several pages.
fn stress_session() -> SessionRecord {
    let mut s = example::session(false);
    s.application.name = APP_60.into();
    s.application.build =
        "2026.11.20+sha256.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into();
    s.agreement.institution = INSTITUTION_60.into();
    s.assessor = ASSESSOR_60.into();
    s.scenario.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
    let evidence: Vec<String> = (0..40)
        .map(|i| match i % 4 {
            0 => format!(
                "lookup {i}: response body kept on disk at /var/lib/simrs-contoh/cache/dukcapil/get_json/rsud_3313/CALL_NIK/2026-01-05/08{i:02}/3313014107890003.response.json.gz although the agreement forbids storing it"
            ),
            1 => format!(
                "export {i}: sha256:{}{} of the spreadsheet that carried AGAMA and NAMA_LGKP_IBU",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            2 => format!(
                "session {i}: token=eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwZXR1Z2FzLmlnZDAyIiwiaWF0IjoxNzY3NTc0ODAwfQ.SHA256fSv0Z0RZSLccbc6ZoOWwtfbj1VFJGSBKQbo4icE sent in a query string <petugas.igd02> & logged"
            ),
            _ => format!(
                "screen {i}: the lookup page showed elements outside the agreement (AGAMA, NAMA_LGKP_AYAH, NAMA_LGKP_IBU, PDDK_AKH, JENIS_PKRJN) to operator petugas.pendaftaran01 for a resident found by NIK, then again after a refresh of the page"
            ),
        })
        .collect();
    s.checks.insert(
        0,
        check(
            "T-FIELD-LIMIT-EXPORT-XLSX-01",
            "R-FIELD-LIMIT",
            CheckOutcome::Fail,
            evidence,
        ),
    );
    for i in 0..24 {
        s.checks.push(check(
            &format!("T-EXTRA-{i:02}"),
            "R-USER-ID",
            if i % 7 == 3 {
                CheckOutcome::NeedsReview
            } else {
                CheckOutcome::Pass
            },
            vec![format!(
                "{i} lookups by {} operators, each request carried its own User_ID",
                i + 1
            )],
        ));
    }
    s
}

fn letters() -> Vec<Letter> {
    let req = requirements();
    let key = example::fixed_key();
    let build = |session: &SessionRecord, lang| {
        result::build_documents(session, &key, lang, env!("CARGO_PKG_VERSION"), Some(&req))
            .expect("documents")
    };
    let stress = stress_session();
    // The same sessions issued by an office: surat dinas of Karanganyar and Purbalingga.
    let surat = |mut s: SessionRecord, office: &str, agreement: &str, lang| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/offices")
            .join(office);
        let profile = result::OfficeProfile::load(&path).expect("office profile");
        let a = dukcapil_domain::Agreement::embedded()
            .into_iter()
            .find(|a| a.id == agreement)
            .expect("agreement");
        s.agreement = result::AgreementInfo::of(&a);
        s.office = Some(
            profile
                .for_session(agreement, s.started_at, &path)
                .expect("office has the PKS"),
        );
        build(&s, lang)
    };
    vec![
        Letter {
            name: "id-surat-karanganyar",
            lang: Lang::Id,
            docs: surat(
                example::session(false),
                "karanganyar.toml",
                "rsud-karanganyar",
                Lang::Id,
            ),
            pages: 2..=4,
        },
        Letter {
            name: "en-surat-purbalingga",
            lang: Lang::En,
            docs: surat(
                example::session(true),
                "purbalingga.toml",
                "dinkes-purbalingga",
                Lang::En,
            ),
            pages: 2..=4,
        },
        Letter {
            name: "id-surat-stress",
            lang: Lang::Id,
            docs: surat(
                stress.clone(),
                "karanganyar.toml",
                "rsud-karanganyar",
                Lang::Id,
            ),
            pages: 4..=13,
        },
        Letter {
            name: "id-tidak-lulus",
            lang: Lang::Id,
            docs: build(&example::session(false), Lang::Id),
            pages: 1..=3,
        },
        Letter {
            name: "en-lulus",
            lang: Lang::En,
            docs: build(&example::session(true), Lang::En),
            pages: 1..=3,
        },
        Letter {
            name: "id-stress",
            lang: Lang::Id,
            docs: build(&stress, Lang::Id),
            pages: 3..=12,
        },
        Letter {
            name: "en-stress",
            lang: Lang::En,
            docs: build(&stress, Lang::En),
            pages: 3..=12,
        },
    ]
}

#[derive(Debug, Deserialize)]
struct Layout {
    scroll_width: f64,
    client_width: f64,
    body_left: f64,
    body_right: f64,
    /// Elements whose box leaves the body's column, described.
    outside: Vec<String>,
    /// Widest table cell, in CSS pixels.
    widest_cell: f64,
}

/// Where the laid-out page's boxes are, relative to the body's column.
fn layout(page: &Page) -> Layout {
    page.eval(
        r#"(() => {
            const de = document.documentElement;
            const body = document.body.getBoundingClientRect();
            const all = [document.body, ...document.body.querySelectorAll('*')];
            const say = (e, why) => `${e.tagName.toLowerCase()}.${e.className} ${why}: ${e.textContent.trim().slice(0, 50)}`;
            // Boxes that leave the column, and boxes whose content spills out of them (a long
            // token in a fixed-width cell overflows the cell without widening it).
            const outside = all.filter(e => {
                const r = e.getBoundingClientRect();
                return r.width > 0 && (r.right > body.right + 0.5 || r.left < body.left - 0.5);
            }).map(e => {
                const r = e.getBoundingClientRect();
                return say(e, `box ${Math.round(r.left)}..${Math.round(r.right)}`);
            }).concat(all.filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
                .map(e => say(e, `content ${e.scrollWidth} px in ${e.clientWidth} px`)));
            const widest = Math.max(0, ...[...document.querySelectorAll('td, th')].map(c => c.getBoundingClientRect().width));
            return { scroll_width: de.scrollWidth, client_width: de.clientWidth, body_left: body.left,
                     body_right: body.right, outside, widest_cell: widest };
        })()"#,
    )
}

#[derive(Debug, Deserialize)]
struct Row {
    text: String,
    height: f64,
    break_inside: String,
}

fn rows(page: &Page) -> Vec<Row> {
    page.eval(
        "[...document.querySelectorAll('table.checks tbody tr.check')].map(r => ({ text: r.innerText, \
         height: r.getBoundingClientRect().height, break_inside: getComputedStyle(r).breakInside }))",
    )
}

/// Keeps `bytes` as `name` in the artifacts directory; returns its path.
fn keep(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write artifact");
    path
}

fn artifacts_dir(tmp: &tempfile::TempDir) -> PathBuf {
    match std::env::var_os("POC_LETTER_OUT") {
        Some(d) => {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).expect("POC_LETTER_OUT");
            d
        }
        None => tmp.path().to_path_buf(),
    }
}

fn assert_a4_pages(what: &str, pdf: &[u8], pages: &std::ops::RangeInclusive<usize>) -> usize {
    let sizes = browser::pdf_page_sizes(pdf);
    assert!(
        pages.contains(&sizes.len()),
        "{what}: {} pages, expected {pages:?}",
        sizes.len()
    );
    for (i, (w, h)) in sizes.iter().enumerate() {
        // Chromium rounds the page to its device units: within 1.5 pt (0.5 mm) of A4.
        assert!(
            (w - A4_PT.0).abs() < 1.5 && (h - A4_PT.1).abs() < 1.5,
            "{what}: page {} is {w:.2} x {h:.2} pt, not A4 portrait ({:.2} x {:.2})",
            i + 1,
            A4_PT.0,
            A4_PT.1
        );
    }
    sizes.len()
}

fn check_letter(chromium: &Chromium, letter: &Letter, dir: &Path) {
    let name = letter.name;
    let r = &letter.docs.result;
    let html = keep(dir, &format!("{name}.html"), letter.docs.html.as_bytes());
    let url = browser::file_url(&html);
    let page = chromium.open(&url);
    page.emulate_print(A4_PX);

    // What an official needs, in the rendered text (innerText: only what is displayed).
    let text = page.text();
    let verdict = match letter.lang {
        Lang::Id => format!("Kesimpulan: {}", r.verdict.as_str()),
        Lang::En => format!("Verdict: {}", r.verdict.as_str()),
    };
    let mut needed = vec![
        verdict.clone(),
        r.agreement.institution.clone(),
        r.agreement.customer_id.clone(),
        r.application.name.clone(),
        r.application.build.clone(),
        r.session.assessor.clone(),
        r.session.id.clone(),
        r.signer.fingerprint.clone(),
    ];
    for c in &r.checks {
        needed.push(c.test_id.clone());
        needed.push(match letter.lang {
            Lang::Id => c.title_id.clone(),
            Lang::En => c.title_en.clone(),
        });
        needed.extend(c.evidence.iter().map(|e| e.text(letter.lang).to_string()));
    }
    for n in &needed {
        assert!(text.contains(n.as_str()), "{name}: `{n}` is not rendered");
    }
    assert!(
        text.matches(verdict.as_str()).count() >= 2,
        "{name}: the verdict is shown at the top and again above the signature"
    );

    // Every check is a visible row with its id and outcome, never split across pages.
    let rows = rows(&page);
    assert_eq!(rows.len(), r.checks.len(), "{name}: one row per check");
    // Each test's title once, however many checks it has.
    let titles: Vec<String> = page
        .eval("[...document.querySelectorAll('table.checks tr.test-title')].map(r => r.innerText)");
    let mut ids: Vec<&str> = r.checks.iter().map(|c| c.test_id.as_str()).collect();
    ids.dedup();
    assert_eq!(titles.len(), ids.len(), "{name}: one title row per test");
    if let Some(o) = &r.office {
        surat_parts(name, letter.lang, &text, o, r);
    }
    for (row, c) in rows.iter().zip(&r.checks) {
        let label = c.outcome.label(letter.lang);
        assert!(
            row.text.contains(&c.check) && row.text.contains(label),
            "{name}: row for {} shows `{}`",
            c.test_id,
            row.text
        );
        assert!(
            row.height > 10.0,
            "{name}: row {} is not visible",
            c.test_id
        );
        assert_eq!(row.break_inside, "avoid", "{name}: row {}", c.test_id);
    }

    // At A4 width in print media nothing leaves the printable column.
    let l = layout(&page);
    assert!(
        l.scroll_width <= l.client_width,
        "{name}: the page scrolls sideways ({} > {})",
        l.scroll_width,
        l.client_width
    );
    assert!(
        l.outside.is_empty(),
        "{name}: boxes outside the column {:.0}..{:.0}: {:#?}",
        l.body_left,
        l.body_right,
        l.outside
    );
    assert!(
        l.widest_cell <= l.body_right - l.body_left + 0.5,
        "{name}: a table cell is {} px wide, wider than the column",
        l.widest_cell
    );

    // The fingerprint is one unbroken line, compared character by character.
    let (fp, lines): (String, usize) = page.eval(
        "(() => { const f = document.querySelector('.fingerprint'); \
         return [f.textContent, f.getClientRects().length]; })()",
    );
    assert_eq!(fp, r.signer.fingerprint, "{name}");
    assert_eq!(lines, 1, "{name}: the fingerprint wraps over {lines} lines");

    // Self-contained: no request but the letter itself, and nothing logged as an error.
    assert_eq!(
        page.requests_other_than(&url),
        Vec::<String>::new(),
        "{name}: the letter loads external resources"
    );
    let resources: usize = page.eval("performance.getEntriesByType('resource').length");
    assert_eq!(resources, 0, "{name}: resources loaded");
    assert_eq!(
        page.errors(),
        Vec::<String>::new(),
        "{name}: console errors"
    );

    // Printed on A4 paper: A4 pages, a sane count. Printed on the default Letter paper, the
    // letter's own `@page { size: A4 }` still gives A4, as in the browser's print dialog.
    let pdf = page.pdf(A4_IN, false);
    let n = assert_a4_pages(&format!("{name} on A4 paper"), &pdf, &letter.pages);
    let pdf_path = keep(dir, &format!("{name}.pdf"), &pdf);
    let css = page.pdf(LETTER_IN, true);
    assert_a4_pages(
        &format!("{name} with its CSS page size"),
        &css,
        &letter.pages,
    );

    // Each printed page names its place ("Halaman 2 dari 3"), and the verdict and the
    // fingerprint are on paper, not only on screen.
    let texts = browser::pdf_page_texts(&pdf);
    let (page_word, of) = match letter.lang {
        Lang::Id => ("Halaman", "dari"),
        Lang::En => ("Page", "of"),
    };
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for (i, t) in texts.iter().enumerate() {
        let footer = format!("{page_word} {} {of} {n}", i + 1);
        assert!(
            flat(t).contains(&footer),
            "{name}: printed page {} lacks `{footer}`: {}",
            i + 1,
            flat(t)
        );
    }
    let all = flat(&texts.join(" "));
    if let Some(o) = &r.office {
        // The surat is page 1 and the lampiran starts on a page of its own.
        let first = flat(&texts[0]);
        assert!(first.contains(&o.letter_number), "{name}: page 1: {first}");
        assert!(
            first.contains(&o.signatory.nip),
            "{name}: page 1 lacks the NIP: {first}"
        );
        assert!(
            !first.contains(&r.checks[0].test_id),
            "{name}: the check table is not the lampiran: {first}"
        );
    }
    for n in [&verdict, &r.signer.fingerprint, &r.application.name] {
        assert!(
            all.contains(n.as_str()),
            "{name}: `{n}` not in the PDF text"
        );
    }
    // A picture to look at, when asked for (a whole-page screenshot costs a second).
    if std::env::var_os("POC_LETTER_OUT").is_some() {
        let shot = keep(dir, &format!("{name}.png"), &page.screenshot(A4_PX.0));
        eprintln!("{name}: screenshot {}", shot.display());
    }
    eprintln!("{name}: {n} A4 pages, PDF {}", pdf_path.display());
}

/// The parts of a surat dinas, in the rendered text of the letter.
fn surat_parts(name: &str, lang: Lang, text: &str, o: &result::OfficeInfo, r: &result::PocResult) {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |s: &str| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.to_lowercase().contains(&s.to_lowercase()),
            "{name}: `{s}` is not rendered"
        );
    };
    let place_date = format!(
        "{}, {}",
        o.office.place,
        poc_runner::wib_date(r.session.finished_at, lang)
    );
    let pks_date = result::letter_date(o.pks.pks_date, lang);
    has(&o.letter_number);
    has(&place_date);
    has(&o.pks.pks_number);
    has(&pks_date);
    has(&o.signatory.name);
    has(&o.signatory.nip);
    has(&o.office.address);
    has(&r.signer.fingerprint);
    match lang {
        Lang::Id => {
            has(&o.office.government);
            has(&o.office.name);
            has(&format!(
                "Perihal : Hasil Proof of Concept (PoC) Aplikasi {}",
                r.application.name
            ));
            has(&format!("Yth. {}", o.pks.addressee));
            has(&o.signatory.position);
            for p in [
                "Nomor :",
                "Sifat : Biasa",
                "Lampiran : 1 (satu) berkas",
                "Perjanjian Kerja Sama Nomor",
                "NIP.",
                "ditandatangani secara elektronik",
            ] {
                has(p);
            }
        }
        Lang::En => {
            has(&o.office.government_en);
            has(&o.office.name_en);
            has(&format!(
                "Subject : Proof of Concept (PoC) result of the application {}",
                r.application.name
            ));
            has(&o.pks.addressee_en);
            has(&o.signatory.position_en);
            for p in [
                "Number :",
                "Attachment : 1 (one) document",
                "cooperation agreement (PKS) number",
                "signed electronically",
            ] {
                has(p);
            }
        }
    }
    // Only the agreement's own documents are cited.
    let other = if r.agreement.id == "dinkes-purbalingga" {
        "Juknis RSUD"
    } else {
        "Purbalingga"
    };
    assert!(!flat.contains(other), "{name}: cites `{other}`");
}

/// A page with the faults the letter must not have: the same checks must see them (else the
/// checks above could pass on anything).
fn faults_are_caught(chromium: &Chromium, dir: &Path) {
    let html = dir.join("faulty.html");
    std::fs::write(
        &html,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body {{ max-width: 174mm; margin: 0 auto; }}</style></head>\
             <body><p>{}</p><img src=\"http://127.0.0.1:9/logo.png\" alt=\"\">\
             <script>console.error('boom')</script></body></html>",
            "f".repeat(300)
        ),
    )
    .unwrap();
    let url = browser::file_url(&html);
    let page = chromium.open(&url);
    page.emulate_print(A4_PX);
    let l = layout(&page);
    assert!(
        !l.outside.is_empty() && l.scroll_width > l.client_width,
        "an unbreakable 300-character token must be seen overflowing: {l:?}"
    );
    assert!(
        page.requests_other_than(&url)
            .iter()
            .any(|u| u.contains("127.0.0.1:9/logo.png")),
        "the image request must be seen"
    );
    assert!(
        page.errors().iter().any(|e| e.contains("boom")),
        "console.error must be seen: {:?}",
        page.errors()
    );
}

#[test]
fn result_letter_reads_and_prints_on_a4_in_chromium() {
    let Some(chromium) = browser::chromium("result_letter_reads_and_prints_on_a4_in_chromium")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = artifacts_dir(&tmp);
    for (label, s) in [
        ("application", APP_60),
        ("institution", INSTITUTION_60),
        ("assessor", ASSESSOR_60),
    ] {
        assert_eq!(s.chars().count(), 60, "{label} stress name");
    }
    for letter in letters() {
        check_letter(&chromium, &letter, &dir);
    }
    faults_are_caught(&chromium, &dir);
}
