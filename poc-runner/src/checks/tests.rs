//! The evaluators on recorded journals.
use std::collections::BTreeMap;

use dukcapil_domain::detector::DetectorSettings;
use dukcapil_domain::{Field, FieldSet, Outcome};

use super::balikan::Watch;
use super::outcome_handling::OutcomeObservation;
use super::user_id::OperatorIdentity;
use super::*;

/// The evaluators' default window around an action (remote sessions).
const DEFAULT_SLACK_MS: i64 = 1_500;
use crate::journal::sample::{lookup, row};

/// Every evaluator, as the tests below call it: the same function, and the evidence it gives
/// on these recorded journals must be in Bahasa Indonesia as well as English. A new
/// English-only line (empty Indonesian, or the English copied over) fails the test that
/// produced it. These names shadow the glob import of the evaluators on purpose.
fn bilingual(e: Evaluation) -> Evaluation {
    assert!(
        !e.evidence.is_empty(),
        "an evaluation without evidence: {e:?}"
    );
    for line in &e.evidence {
        assert!(
            line.is_translated(),
            "evidence not translated into Bahasa Indonesia: {line:?}"
        );
    }
    e
}
fn user_id_propagation(
    rows: &[JournalRow],
    actions: &[Action],
    operators: &[OperatorIdentity],
    institutional: &[&str],
    min_distinct_operators: usize,
    slack_ms: i64,
) -> Evaluation {
    bilingual(super::user_id::user_id_propagation(
        rows,
        actions,
        operators,
        institutional,
        min_distinct_operators,
        slack_ms,
    ))
}
fn one_action_one_request(
    rows: &[JournalRow],
    actions: &[Action],
    max_retries: u32,
    slack_ms: i64,
) -> Evaluation {
    bilingual(super::one_action::one_action_one_request(
        rows,
        actions,
        max_retries,
        slack_ms,
    ))
}
fn quota(rows: &[JournalRow], screen: Option<&str>) -> Evaluation {
    bilingual(super::quota::quota(rows, screen))
}
fn no_sequential_lookups(rows: &[JournalRow], cfg: &DetectorSettings) -> Evaluation {
    bilingual(super::sequential::no_sequential_lookups(rows, cfg))
}
fn field_limits(
    granted: FieldSet,
    canary: &[(Field, String)],
    edge_fields: &[Field],
    outputs: &[CapturedOutput],
) -> Evaluation {
    bilingual(super::field_limits::field_limits(
        granted,
        canary,
        edge_fields,
        outputs,
    ))
}
fn secret_hygiene(password: &str, sources: &[(Evidence, Vec<u8>)]) -> Evaluation {
    bilingual(super::secret_hygiene::secret_hygiene(password, sources))
}
fn non_retention(
    scan: Option<&crate::storage::ScanReport>,
    after_change: Option<(&str, &str, &CapturedOutput)>,
    while_unreachable: Option<(&[String], &CapturedOutput)>,
) -> Evaluation {
    bilingual(super::non_retention::non_retention(
        scan,
        after_change,
        while_unreachable,
    ))
}
fn balikan(
    rows: &[JournalRow],
    actions: &[Action],
    required: &[&str],
    within_secs: i64,
    none_without_lookup: bool,
) -> Evaluation {
    bilingual(super::balikan::balikan(
        rows,
        actions,
        required,
        &BTreeMap::new(),
        within_secs,
        none_without_lookup,
        Watch::default(),
    ))
}
fn outcome_handling(observations: &[OutcomeObservation]) -> Evaluation {
    bilingual(super::outcome_handling::outcome_handling(observations))
}

const A: &str = "3313014107890003";
const B: &str = "3313025502910007";
const C: &str = "3313106612850001";

fn ops() -> Vec<OperatorIdentity> {
    ["petugas.a", "petugas.b"]
        .iter()
        .map(|u| OperatorIdentity {
            username: u.to_string(),
            user_id: u.to_string(),
        })
        .collect()
}

#[test]
fn user_id_passes_when_each_operator_sends_its_own() {
    let rows = vec![
        row(0, Some("petugas.a"), A, "01"),
        row(10, Some("petugas.b"), B, "01"),
    ];
    let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.b", B)];
    let e = user_id_propagation(&rows, &actions, &ops(), &["rsud_3313"], 2, DEFAULT_SLACK_MS);
    assert_eq!(e.outcome, CheckOutcome::Pass, "{e:?}");
}

#[test]
fn user_id_fails_missing_empty_institutional_constant_and_wrong() {
    let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.b", B)];
    let judge = |rows: Vec<JournalRow>| {
        user_id_propagation(&rows, &actions, &ops(), &["rsud_3313"], 2, DEFAULT_SLACK_MS)
    };
    let e = judge(vec![
        row(0, None, A, "01"),
        row(10, Some("petugas.b"), B, "01"),
    ]);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence[0].en.contains("missing") && e.evidence[0].en.contains("3313**********03"),
        "{e:?}"
    );
    let e = judge(vec![
        row(0, Some("  "), A, "01"),
        row(10, Some("petugas.b"), B, "01"),
    ]);
    assert!(e.evidence[0].en.contains("empty"), "{e:?}");
    let e = judge(vec![
        row(0, Some("RSUD_3313"), A, "01"),
        row(10, Some("petugas.b"), B, "01"),
    ]);
    assert!(e.evidence[0].en.contains("institutional"), "{e:?}");
    let e = judge(vec![
        row(0, Some("admin"), A, "01"),
        row(10, Some("admin"), B, "01"),
    ]);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence.iter().any(|x| x.en.contains("constant")),
        "{e:?}"
    );
    let e = judge(vec![
        row(0, Some("petugas.b"), A, "01"),
        row(10, Some("petugas.a"), B, "01"),
    ]);
    assert!(
        e.evidence[0].en.contains("but operator `petugas.a` acted"),
        "{e:?}"
    );
    assert_eq!(judge(vec![]).outcome, CheckOutcome::Fail);
}

#[test]
fn user_id_with_one_operator_needs_review() {
    let rows = vec![row(0, Some("petugas.a"), A, "01")];
    let e = user_id_propagation(
        &rows,
        &[lookup(0, "petugas.a", A)],
        &ops(),
        &[],
        2,
        DEFAULT_SLACK_MS,
    );
    assert_eq!(e.outcome, CheckOutcome::NeedsReview);
}

#[test]
fn one_action_one_request_catches_duplicates_misses_and_unasked() {
    let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.a", B)];
    let ok = vec![
        row(1, Some("petugas.a"), A, "01"),
        row(11, Some("petugas.a"), B, "01"),
    ];
    assert_eq!(
        one_action_one_request(&ok, &actions, 0, DEFAULT_SLACK_MS).outcome,
        CheckOutcome::Pass
    );
    let dup = vec![
        row(1, Some("petugas.a"), A, "01"),
        row(2, Some("petugas.a"), A, "01"),
        row(11, Some("petugas.a"), B, "01"),
    ];
    let e = one_action_one_request(&dup, &actions, 0, DEFAULT_SLACK_MS);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence[0].en.contains("sent 2 requests (allowed 1)"),
        "{e:?}"
    );
    // With a fault injected, bounded retries are fine.
    let mut faulty = actions.clone();
    faulty[0].fault_injected = true;
    assert_eq!(
        one_action_one_request(&dup, &faulty, 2, DEFAULT_SLACK_MS).outcome,
        CheckOutcome::Pass
    );
    let e = one_action_one_request(
        &[
            row(1, Some("petugas.a"), A, "01"),
            row(30, Some("petugas.a"), C, "01"),
        ],
        &actions,
        0,
        DEFAULT_SLACK_MS,
    );
    assert_eq!(e.evidence.len(), 2, "{e:?}");
    assert!(
        e.evidence[0].en.contains("sent no request")
            && e.evidence[1].en.contains("no operator action asked for"),
        "{e:?}"
    );
}

#[test]
fn quota_stops_for_the_local_day_only() {
    let rows = vec![row(0, Some("a"), A, "01"), row(10, Some("a"), B, "05")];
    assert_eq!(
        quota(&rows, Some("Kuota akses hari ini telah habis")).outcome,
        CheckOutcome::Pass
    );
    let mut more = rows.clone();
    more.push(row(20, Some("a"), C, "05"));
    let e = quota(&more, None);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence[0].en.contains("after the quota was used up"),
        "{e:?}"
    );
    // 17:00 UTC is midnight WIB: a new day, calling again is allowed.
    let next_day = row(16 * 3600, Some("a"), C, "01");
    let mut later = rows.clone();
    later.push(next_day);
    assert_eq!(quota(&later, None).outcome, CheckOutcome::Pass);
    assert_eq!(
        quota(&rows, Some("Terjadi kesalahan")).outcome,
        CheckOutcome::Fail
    );
    assert_eq!(quota(&rows[..1], None).outcome, CheckOutcome::NeedsReview);
}

#[test]
fn sequential_lookups_fail_with_masked_evidence() {
    let rows: Vec<JournalRow> = ["3313014107890003", "3313014107890004", "3313014107890005"]
        .iter()
        .enumerate()
        .map(|(i, n)| row(i as i64 * 60, Some("a"), n, "01"))
        .collect();
    let e = no_sequential_lookups(&rows, &DetectorSettings::default());
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence[0]
            .en
            .starts_with("3 consecutive NIKs by rsud_3313/a: 3313**********03"),
        "{e:?}"
    );
    let spread = vec![
        row(0, Some("a"), A, "01"),
        row(60, Some("a"), B, "01"),
        row(120, Some("a"), C, "01"),
        row(130, Some("a"), "not-a-nik", "15"),
    ];
    assert_eq!(
        no_sequential_lookups(&spread, &DetectorSettings::default()).outcome,
        CheckOutcome::Pass
    );
}

fn out(label: &str, text: &str) -> CapturedOutput {
    CapturedOutput {
        label: Evidence::verbatim(label),
        text: text.into(),
        elements: None,
    }
}

#[test]
fn field_limits_outside_grant_and_edge_values() {
    let granted: FieldSet = [Field::Nik, Field::NamaLgkp].into_iter().collect();
    let canary = vec![
        (Field::Nik, "9201014107890003".to_string()),
        (Field::NamaLgkp, "SRI O'NEIL QX7 ".to_string()),
        (Field::Agama, "ISLAM-QX7A".to_string()),
    ];
    let edge = [Field::Nik, Field::NamaLgkp];
    let good = out("page", "<td>9201014107890003</td><td>SRI O'NEIL QX7 </td>");
    assert_eq!(
        field_limits(granted, &canary, &edge, &[good]).outcome,
        CheckOutcome::Pass
    );
    let leak = out("page", "9201014107890003 SRI O'NEIL QX7  ISLAM-QX7A");
    let e = field_limits(granted, &canary, &edge, &[leak]);
    assert_eq!(
        e.evidence,
        vec![Evidence::new(
            "AGAMA di luar elemen data PKS tetapi ditampilkan di: page",
            "AGAMA is outside the agreement but shown in: page"
        )]
    );
    // Rounded through a double and trimmed.
    let rounded = out("page", "9201014107890004 SRI O'NEIL QX7");
    let e = field_limits(granted, &canary, &edge, &[rounded]);
    assert_eq!(e.evidence.len(), 2, "{e:?}");
    assert_eq!(
        field_limits(granted, &canary, &edge, &[]).outcome,
        CheckOutcome::NeedsReview
    );
}

#[test]
fn secret_hygiene_names_places_not_the_password() {
    let sources = vec![
        (
            Evidence::verbatim("app.log"),
            b"login ok user=rsud pass=S3cret!x".to_vec(),
        ),
        (Evidence::verbatim("page"), b"hello".to_vec()),
    ];
    let e = secret_hygiene("S3cret!x", &sources);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert_eq!(
        e.evidence,
        vec![Evidence::new(
            "kata sandi instansi muncul di app.log",
            "the institutional password appears in app.log"
        )]
    );
    assert_eq!(
        secret_hygiene("S3cret!x", &sources[1..]).outcome,
        CheckOutcome::Pass
    );
}

#[test]
fn balikan_required_keys_deadline_and_unlooked() {
    let mut ev = lookup(20, "a", A);
    ev.kind = ActionKind::ServiceEvent {
        event: "register_patient".into(),
        nik: A.into(),
    };
    let mut bal = row(30, None, A, "01");
    bal.endpoint = "/data_balikan/public/api/store".into();
    bal.elements = vec!["NO_RM".into(), "GOL_DARAH".into()];
    let rows = vec![row(0, Some("a"), A, "01"), bal.clone()];
    assert_eq!(
        balikan(&rows, &[ev.clone()], &["NO_RM"], 60, true).outcome,
        CheckOutcome::Pass
    );
    let e = balikan(
        &rows,
        &[ev.clone()],
        &["NO_RM", "NO_SURAT_KEMATIAN"],
        60,
        true,
    );
    assert!(e.evidence[0].en.contains("NO_SURAT_KEMATIAN"), "{e:?}");
    assert_eq!(
        balikan(&rows, &[ev.clone()], &["NO_RM"], 5, true).outcome,
        CheckOutcome::Fail
    );
    // Held by the service (free key policy) but outside the agreement: never valid balikan,
    // whether first stored or a repeat of such a submission.
    for label in ["stored_nonconforming", "duplicate_nonconforming"] {
        let mut taken = bal.clone();
        taken.outcome = label.into();
        let e = balikan(
            &[rows[0].clone(), taken],
            &[ev.clone()],
            &["NO_RM"],
            60,
            true,
        );
        assert_eq!(e.outcome, CheckOutcome::Fail, "{label}");
        assert!(
            e.evidence[0].en.contains("not within the agreement"),
            "{e:?}"
        );
    }
    let mut stray = bal.clone();
    stray.nik_raw = B.into();
    let e = balikan(&[rows[0].clone(), bal, stray], &[ev], &["NO_RM"], 60, true);
    assert!(e.evidence[0].en.contains("never looked up"), "{e:?}");
}

/// Nothing sent while the runner watched, with the agreement's time not yet up, is not seen
/// either way: it needs review (blocking `LULUS`), never a failure the application may not have
/// earned (it may send its balikan in a batch a minute later, as the agreement allows).
#[test]
fn a_balikan_not_yet_due_when_the_runner_stopped_watching_needs_review() {
    use crate::journal::sample::t;
    let mut ev = lookup(20, "a", A);
    ev.kind = ActionKind::ServiceEvent {
        event: "register_patient".into(),
        nik: A.into(),
    };
    let rows = vec![row(0, Some("a"), A, "01")];
    let judge = |until| {
        bilingual(super::balikan::balikan(
            &rows,
            std::slice::from_ref(&ev),
            &["NO_RM"],
            &BTreeMap::new(),
            60,
            true,
            Watch { until, slack_ms: 0 },
        ))
    };
    let early = judge(Some(t(26)));
    assert_eq!(early.outcome, CheckOutcome::NeedsReview, "{early:?}");
    assert!(
        early.evidence[0]
            .en
            .contains("no balikan in the 4 s watched")
            && early.evidence[0].en.contains("--pause-scale 1"),
        "{early:?}"
    );
    // Watched past the agreement's deadline: a failure.
    assert_eq!(judge(Some(t(90))).outcome, CheckOutcome::Fail);
    assert_eq!(judge(None).outcome, CheckOutcome::Fail);
}

/// A value the operator entered for a balikan key of the agreement must come back with the
/// balikan, even when the key is not required (a blood type collected at registration).
#[test]
fn balikan_values_the_operator_entered_must_be_sent() {
    let mut ev = lookup(20, "a", A);
    ev.kind = ActionKind::ServiceEvent {
        event: "register_patient".into(),
        nik: A.into(),
    };
    let mut bal = row(30, None, A, "01");
    bal.endpoint = "/data_balikan/public/api/store".into();
    bal.elements = vec!["NO_RM".into()];
    let rows = vec![row(0, Some("a"), A, "01"), bal.clone()];
    let entered: BTreeMap<usize, Vec<String>> = [(0, vec!["GOL_DARAH".to_string()])].into();
    let e = super::balikan::balikan(
        &rows,
        &[ev.clone()],
        &["NO_RM"],
        &entered,
        60,
        true,
        Watch::default(),
    );
    assert_eq!(e.outcome, CheckOutcome::Fail, "{e:?}");
    assert!(e.evidence[0].en.contains("GOL_DARAH"), "{e:?}");
    bal.elements.push("GOL_DARAH".into());
    let rows = vec![row(0, Some("a"), A, "01"), bal];
    let e = super::balikan::balikan(
        &rows,
        &[ev],
        &["NO_RM"],
        &entered,
        60,
        true,
        Watch::default(),
    );
    assert_eq!(e.outcome, CheckOutcome::Pass, "{e:?}");
}

#[test]
fn outcomes_never_presented_as_data() {
    let o = |outcome, presented, text: &str| OutcomeObservation {
        outcome,
        presented_resident: presented,
        screen: out("screen", text),
    };
    let good = [o(
        Outcome::Deceased,
        false,
        "Data Ditemukan, Meninggal Dunia",
    )];
    assert_eq!(outcome_handling(&good).outcome, CheckOutcome::Pass);
    assert_eq!(
        outcome_handling(&[o(Outcome::Deceased, true, "SRI LESTARI")]).outcome,
        CheckOutcome::Fail
    );
    assert_eq!(
        outcome_handling(&[o(Outcome::NotFound, false, "Pasien baru")]).outcome,
        CheckOutcome::NeedsReview
    );
}

#[test]
fn verdict_precedence() {
    let r = |outcome| CheckResult {
        test_id: "T".into(),
        check: "quota".into(),
        requirement: "R-QUOTA".into(),
        title_id: String::new(),
        title_en: String::new(),
        outcome,
        evidence: vec![],
    };
    use CheckOutcome::*;
    assert_eq!(Verdict::of(&[r(Pass), r(Skipped)]), Verdict::Lulus);
    assert_eq!(Verdict::of(&[r(Pass), r(NeedsReview)]), Verdict::TidakLulus);
    assert_eq!(Verdict::of(&[r(Pass), r(Fail)]), Verdict::TidakLulus);
    assert_eq!(Verdict::of(&[r(Skipped)]), Verdict::TidakLulus);
    assert_eq!(Verdict::of(&[]), Verdict::TidakLulus);
    assert_eq!(
        Verdict::of(&[r(Pass), r(NotExercised)]),
        Verdict::TidakLulus
    );
}

/// A declared storage place that is not there, or none declared, proves nothing: never
/// "nothing stored". A hit elsewhere still fails.
#[test]
fn absent_storage_is_not_exercised_never_clean() {
    use crate::storage::ScanReport;
    let absent = ScanReport {
        scanned: vec!["app.log".into()],
        absent: vec!["tgt/tgt/app.sqlite".into()],
        ..ScanReport::default()
    };
    let e = non_retention(Some(&absent), None, None);
    assert_eq!(e.outcome, CheckOutcome::NotExercised, "{e:?}");
    assert!(e.evidence[0].en.contains("tgt/tgt/app.sqlite"), "{e:?}");
    let nothing = ScanReport::default();
    assert_eq!(
        non_retention(Some(&nothing), None, None).outcome,
        CheckOutcome::NotExercised
    );
    assert_eq!(
        secret_hygiene("S3cret!x", &[]).outcome,
        CheckOutcome::NotExercised
    );
}

#[test]
fn non_retention_fails_on_stored_canaries_caches_and_offline_data() {
    use crate::storage::{Hit, ScanReport};
    let clean = ScanReport {
        scanned: vec!["app.sqlite".into()],
        hits: vec![],
        errors: vec![],
        absent: vec![],
    };
    assert_eq!(
        non_retention(Some(&clean), None, None).outcome,
        CheckOutcome::Pass
    );
    let stored = ScanReport {
        hits: vec![Hit {
            marker: Evidence::verbatim("KNR7Q"),
            place: ev!(
                "app.sqlite patients.nama (baris 1)",
                "app.sqlite patients.nama (row 1)"
            ),
        }],
        ..clean.clone()
    };
    let e = non_retention(Some(&stored), None, None);
    assert_eq!(e.outcome, CheckOutcome::Fail);
    assert!(
        e.evidence
            .iter()
            .any(|l| l.en.contains("app.sqlite patients.nama")
                && l.id.contains("app.sqlite patients.nama (baris 1)")),
        "{e:?}"
    );
    let out = |text: &str| CapturedOutput {
        label: ev!("pencarian", "lookup"),
        text: text.into(),
        elements: None,
    };
    let cached = out("NAMA: SRI LESTARI KNR7Q");
    assert_eq!(
        non_retention(None, Some(("SRI LESTARI", "SRI WAHYUNI", &cached)), None).outcome,
        CheckOutcome::Fail
    );
    let fresh = out("NAMA: SRI WAHYUNI");
    assert_eq!(
        non_retention(None, Some(("SRI LESTARI", "SRI WAHYUNI", &fresh)), None).outcome,
        CheckOutcome::Pass
    );
    let offline = out("NAMA: SRI WAHYUNI");
    let values = vec!["SRI WAHYUNI".to_string()];
    assert_eq!(
        non_retention(None, None, Some((&values, &offline))).outcome,
        CheckOutcome::Fail
    );
    assert_eq!(
        non_retention(None, None, None).outcome,
        CheckOutcome::NotExercised
    );
}

#[test]
fn field_limits_judge_each_mapped_place_whatever_the_format() {
    let granted: FieldSet = [Field::Nik, Field::NamaLgkp].into_iter().collect();
    let canary = vec![
        (Field::Nik, "9201014107890003".to_string()),
        (Field::NamaLgkp, "SRI LESTARI QX7AB01".to_string()),
        (Field::TglLhr, "1990-05-17".to_string()),
    ];
    let page = |places: &[(&str, &str)], text: &str| CapturedOutput {
        label: Evidence::verbatim("page"),
        text: text.into(),
        elements: Some(
            places
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    };
    // The birth date shown as "17 Mei 1990": no token of the canary's value, but its place
    // holds something, so it is shown.
    let reformatted = page(
        &[
            ("NIK", "9201014107890003"),
            ("NAMA_LGKP", "SRI LESTARI QX7AB01"),
            ("TGL_LHR", "17 Mei 1990"),
        ],
        "9201014107890003 SRI LESTARI QX7AB01 17 Mei 1990",
    );
    let e = field_limits(granted, &canary, &[], &[reformatted]);
    assert_eq!(e.outcome, CheckOutcome::Fail, "{e:?}");
    assert_eq!(
        e.evidence,
        vec![Evidence::new(
            "TGL_LHR di luar elemen data PKS tetapi ditampilkan di tempatnya pada: page",
            "TGL_LHR is outside the agreement but shown at its place in: page"
        )]
    );
    // A place kept empty, or holding a dash, shows nothing.
    let blank = page(
        &[
            ("NIK", "9201014107890003"),
            ("NAMA_LGKP", "SRI LESTARI QX7AB01"),
            ("TGL_LHR", " - "),
        ],
        "9201014107890003 SRI LESTARI QX7AB01 -",
    );
    assert_eq!(
        field_limits(granted, &canary, &[], &[blank]).outcome,
        CheckOutcome::Pass
    );
}

/// A transport fault counts as exercised only when it met one of the lookup's requests, and a
/// delay only when the application gave up on it (the mock journals that attempt with no
/// outcome): a fault that met nothing must not pass for a tested one.
#[test]
fn a_fault_is_exercised_only_when_it_met_a_request() {
    use super::transport::{reached, Reached};
    use crate::scenario::Fault;
    let faulted = |outcome: &str, fault: &str| {
        let mut r = row(1, Some("op"), "3313010101900001", outcome);
        r.fault = Some(fault.into());
        r
    };
    let plain = row(2, Some("op"), "3313010101900001", "01");
    let gave_up = faulted("-", "rule 1: delay 2250ms");
    let waited = faulted("01", "rule 1: delay 2250ms");
    let refused = faulted("-", "rule 2: status 503");

    assert_eq!(reached(Fault::Timeout, &[&gave_up, &plain]), Reached::Yes);
    assert_eq!(reached(Fault::Timeout, &[&waited]), Reached::WaitedOut);
    assert_eq!(reached(Fault::Timeout, &[&plain]), Reached::No);
    assert_eq!(reached(Fault::Timeout, &[]), Reached::No);
    assert_eq!(reached(Fault::Http503, &[&refused, &plain]), Reached::Yes);
    assert_eq!(reached(Fault::Http503, &[&plain]), Reached::No);
    // An answered delay is still a met fault for the faults that are not time-outs.
    assert_eq!(reached(Fault::TruncatedBody, &[&waited]), Reached::Yes);
}

/// Each outcome the test lists must have reached the application; a malformed NIK's 15 is not
/// owed when the application refused the NIK itself (it never reached the gateway).
#[test]
fn listed_outcomes_that_never_came_are_missing() {
    use super::outcome_handling::missing_outcomes;
    let listed: Vec<String> = ["11", "13", "15", "16"].map(String::from).to_vec();
    let seen: std::collections::BTreeSet<&str> = ["11", "13", "16"].into();
    assert_eq!(
        missing_outcomes(&listed, &seen, false),
        vec!["15".to_string()]
    );
    assert!(missing_outcomes(&listed, &seen, true).is_empty());
    let fewer: std::collections::BTreeSet<&str> = ["11"].into();
    assert_eq!(
        missing_outcomes(&listed, &fewer, true),
        vec!["13".to_string(), "16".to_string()]
    );
}
