//! A fixed synthetic session (for snapshot and integration tests, and to show the documents
//! without a mock): two operators, a handful of journal rows, one check of each outcome.

use chrono::{DateTime, Utc};
use ssh_key::private::{Ed25519Keypair, PrivateKey};

use crate::checks::{CheckOutcome, CheckResult};
use crate::evidence::Evidence;
use crate::journal::JournalRow;
use crate::result::{AgreementInfo, ApplicationInfo, DatasetInfo, ScenarioInfo, SessionRecord};

fn at(secs: i64) -> DateTime<Utc> {
    // 2026-01-05 01:00:00 UTC = 08:00 WIB.
    DateTime::from_timestamp(1_767_574_800 + secs, 0).unwrap_or_default()
}

fn row(
    secs: i64,
    operator: Option<&str>,
    nik: &str,
    outcome: &str,
    elements: &[&str],
) -> JournalRow {
    JournalRow {
        time: at(secs),
        endpoint: "/dukcapil/get_json/rsud_3313/CALL_NIK".into(),
        customer_id: "rsud_3313".into(),
        operator: operator.map(str::to_string),
        nik_raw: nik.into(),
        outcome: outcome.into(),
        elements: elements.iter().map(|e| e.to_string()).collect(),
        source: "127.0.0.1".into(),
        latency_us: 900 + secs as u64,
        fault: None,
    }
}

fn check(
    test: &str,
    kind: &str,
    req: &str,
    title_id: &str,
    title_en: &str,
    outcome: CheckOutcome,
    evidence: &[(&str, &str)],
) -> CheckResult {
    CheckResult {
        test_id: test.into(),
        check: kind.into(),
        requirement: req.into(),
        title_id: title_id.into(),
        title_en: title_en.into(),
        outcome,
        evidence: evidence
            .iter()
            .map(|(id, en)| Evidence::new(*id, *en))
            .collect(),
    }
}

/// The synthetic session; `passing` chooses a session whose verdict is `LULUS`.
pub fn session(passing: bool) -> SessionRecord {
    let agreement = dukcapil_domain::Agreement::embedded()
        .into_iter()
        .find(|a| a.id == "rsud-karanganyar");
    let granted = [
        "NO_KK",
        "NIK",
        "NAMA_LGKP",
        "JENIS_KLMIN",
        "TMPT_LHR",
        "TGL_LHR",
        "STATUS_KAWIN",
        "JENIS_PKRJN",
        "GOL_DARAH",
    ];
    let agreement = agreement
        .map(|a| AgreementInfo::of(&a))
        .unwrap_or_else(|| AgreementInfo {
            id: "rsud-karanganyar".into(),
            institution: "RSUD".into(),
            customer_id: "rsud_3313".into(),
            granted: granted.iter().map(|s| s.to_string()).collect(),
            quota_per_day: Some(1000),
        });
    let found = ["NIK", "NAMA_LGKP", "TGL_LHR", "<script>"];
    let mut checks = vec![
        check(
            "T-USER-ID-01",
            "user_id_propagation",
            "R-USER-ID",
            "User_ID operator ikut terkirim",
            "Operator User_ID is sent",
            CheckOutcome::Pass,
            &[(
                "4 permintaan data, 2 operator, masing-masing dengan User_ID sendiri",
                "4 lookups, 2 operators, each with its own User_ID",
            )],
        ),
        check(
            "T-ONE-ACTION-01",
            "one_action_one_request",
            "R-ONE-ACTION",
            "Satu aksi satu permintaan",
            "One action, one request",
            CheckOutcome::Pass,
            &[(
                "4 aksi pencarian, 4 permintaan, masing-masing satu",
                "4 lookup actions, 4 requests, one each",
            )],
        ),
        check(
            "T-BALIKAN-01",
            "balikan",
            "R-BALIKAN",
            "Data balikan terkirim",
            "Data balikan is sent",
            CheckOutcome::Skipped,
            &[(
                "tidak dijalankan oleh driver dalam sesi ini",
                "not exercised by the driver in this session",
            )],
        ),
        check(
            "T-SECRETS-01",
            "secret_hygiene",
            "R-SECRETS",
            "Kata sandi instansi tidak bocor",
            "Institutional password does not leak",
            CheckOutcome::Pass,
            &[(
                "kata sandi tidak ditemukan di satu pun dari 3 sumber",
                "password found in none of 3 sources",
            )],
        ),
    ];
    if !passing {
        checks.push(check(
            "T-FIELD-01",
            "field_limits",
            "R-FIELD-LIMIT",
            "Hanya elemen data PKS yang tampil",
            "Only granted elements are shown",
            CheckOutcome::Fail,
            &[(
                "AGAMA di luar elemen data PKS tetapi ditampilkan di: pencarian T-FIELD-01 <petugas.igd02> & export",
                "AGAMA is outside the agreement but shown in: lookup T-FIELD-01 <petugas.igd02> & export",
            )],
        ));
        checks.push(check(
            "T-OUTCOME-01",
            "outcome_handling",
            "R-OUTCOMES",
            "Penanganan respons",
            "Outcome handling",
            CheckOutcome::NeedsReview,
            &[(
                "13: layar tidak memuat teks dari gateway; pastikan operator diberi tahu",
                "13: screen does not carry the gateway's text; confirm the operator is told",
            )],
        ));
    }
    SessionRecord {
        session_id: "poc-20260105-0800-0001".into(),
        started_at: at(0),
        finished_at: at(600),
        assessor: "Tim PoC Disdukcapil Kab. Karanganyar".into(),
        principal: Some("assessor@disdukcapil.karanganyarkab.go.id".into()),
        office: None,
        application: ApplicationInfo {
            name: "SIMRS Contoh RSUD".into(),
            version: "2.4.0".into(),
            build: "2026.11.20-a1b2c3d".into(),
        },
        agreement,
        scenario: ScenarioInfo {
            id: "standard-web-service".into(),
            version: "1.0.0".into(),
            sha256: "0".repeat(64),
            requirements_id: "dukcapil-poc-requirements".into(),
            requirements_sha256: "1".repeat(64),
            pause_scale: Some("0.01".into()),
            window_ms: Some(100),
        },
        mock_dataset: DatasetInfo {
            seed: Some(20260105),
            size: Some(2000),
            sha256: Some("2".repeat(64)),
        },
        checks,
        journal: vec![
            row(
                10,
                Some("petugas.pendaftaran01"),
                "3313014107890003",
                "01",
                &found,
            ),
            row(70, Some("petugas.igd02"), "9201025502910007", "01", &found),
            row(
                130,
                Some("petugas.pendaftaran01"),
                "3313106612850001",
                "13",
                &[],
            ),
            row(200, Some("petugas.igd02"), "3313014107890003", "05", &[]),
        ],
    }
}

/// A fixed signing key (never use it for real results: its seed is public).
pub fn fixed_key() -> PrivateKey {
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&[7u8; 32]));
    key.set_comment("poc-runner example key");
    key
}
