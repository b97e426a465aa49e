//! The signed result: `poc-result.json` (canonical record), `poc-result.html` (the letter),
//! `poc-result.junit.xml` (CI) and `poc-result.json.sig` (SSHSIG, Ed25519, namespace
//! `dukcapil-poc`), written atomically; and their verification.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use crate::checks::{CheckOutcome, CheckResult, Verdict};
use crate::journal::{first_broken_link, hash_chain, JournalRow};
use crate::scenario::{sha256_hex, Requirements};
use crate::Lang;

/// The `ssh-keygen -Y` namespace of result signatures.
pub const NAMESPACE: &str = "dukcapil-poc";
/// Schema version of `poc-result.json`. `/2`: every evidence line is `{"id": .., "en": ..}`
/// (Bahasa Indonesia and English), so one signed record serves the letter in either language.
/// `/3`: `files` binds every other file of the result directory by SHA-256 (it replaces
/// `html_sha256`), and `signer.principal` names the assessor identity the key signs as.
pub(crate) const FORMAT: &str = "dukcapil-poc-result/3";
/// The previous format, still verified (its JUnit file is not bound, and the report says so).
pub(crate) const FORMAT_V2: &str = "dukcapil-poc-result/2";
/// The signed result document.
pub const JSON_FILE: &str = "poc-result.json";
/// The letter (HTML) rendered from the result.
pub const HTML_FILE: &str = "poc-result.html";
/// The JUnit report for CI servers.
pub const JUNIT_FILE: &str = "poc-result.junit.xml";
/// The SSH signature of [`JSON_FILE`].
pub const SIG_FILE: &str = "poc-result.json.sig";

/// What a finished session hands over to be written up.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// A random id naming the session.
    pub session_id: String,
    /// When the session started.
    pub started_at: DateTime<Utc>,
    /// When the session ended.
    pub finished_at: DateTime<Utc>,
    /// Who ran the PoC (the `--assessor` option).
    pub assessor: String,
    /// The identity the signing key signs as (see [`SignerInfo::principal`]).
    pub principal: Option<String>,
    /// The issuing office, its signatory and the PKS under test: the letter is then a surat.
    pub office: Option<office::OfficeInfo>,
    /// The application under test.
    pub application: ApplicationInfo,
    /// The agreement judged.
    pub agreement: AgreementInfo,
    /// The scenario pack played.
    pub scenario: ScenarioInfo,
    /// What the mock served (seed, size, population file hash).
    pub mock_dataset: DatasetInfo,
    /// Every judged check.
    pub checks: Vec<CheckResult>,
    /// Every journal row the session read.
    pub journal: Vec<JournalRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationInfo {
    pub name: String,
    pub version: String,
    pub build: String,
}

/// The agreement as the result names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementInfo {
    /// The agreement's id (`rsud-karanganyar`).
    pub id: String,
    /// The institution's name.
    pub institution: String,
    /// The gateway's customer id of the institution.
    pub customer_id: String,
    /// Granted wire keys.
    pub granted: Vec<String>,
    /// The daily quota, when the agreement sets one.
    pub quota_per_day: Option<u32>,
}

impl AgreementInfo {
    /// What the result records of `a`.
    pub fn of(a: &dukcapil_domain::Agreement) -> Self {
        AgreementInfo {
            id: a.id.clone(),
            institution: a.institution.clone(),
            customer_id: a.customer_id.clone(),
            granted: a
                .granted
                .wire_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            quota_per_day: a.quota_per_day,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub id: String,
    pub version: String,
    /// SHA-256 of the pack file's bytes.
    pub sha256: String,
    pub requirements_id: String,
    pub requirements_sha256: String,
    /// How the pack's waits were played: its pauses times this factor (`--pause-scale`), never
    /// below two action windows. Absent in results written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_scale: Option<String>,
    /// The widest window around an action (ms) within which a mock row belonged to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The mock's population seed; `None` when the mock did not say (a `--mock-url` mock).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Residents in the population, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the dataset as the mock reports it, when it does.
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub assessor: String,
    pub lang: Lang,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub needs_review: usize,
    pub skipped: usize,
    /// Checks whose needs were not met (nothing judged); they block `LULUS` like a failure.
    #[serde(default)]
    pub not_exercised: usize,
}

impl Summary {
    pub fn of(checks: &[CheckResult]) -> Summary {
        let n = |o| checks.iter().filter(|c| c.outcome == o).count();
        Summary {
            pass: n(CheckOutcome::Pass),
            fail: n(CheckOutcome::Fail),
            needs_review: n(CheckOutcome::NeedsReview),
            skipped: n(CheckOutcome::Skipped),
            not_exercised: n(CheckOutcome::NotExercised),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalChain {
    pub genesis: String,
    pub rows: Vec<JournalRow>,
    /// `links[i] = sha256(links[i-1] || canonical_json(rows[i]))` (raw bytes), `links[-1] = genesis`.
    pub links: Vec<String>,
    /// The last link (the genesis when there are no rows).
    pub head: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerInfo {
    /// The assessor identity the key signs as: the principal of an `allowed_signers` line
    /// (`ssh-keygen -Y verify -I PRINCIPAL`). Absent in format `/2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub principal: String,
    /// `SHA256:...` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// OpenSSH public key line.
    pub public_key: String,
}

/// The canonical record, as `poc-result.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PocResult {
    /// The result format (`dukcapil-poc-result/3`).
    pub format: String,
    /// When, by whom, which session.
    pub session: SessionInfo,
    /// The application under test.
    pub application: ApplicationInfo,
    /// The agreement judged.
    pub agreement: AgreementInfo,
    /// The scenario pack played.
    pub scenario: ScenarioInfo,
    /// The runner's version and build.
    pub runner: RunnerInfo,
    /// What the mock served.
    pub mock_dataset: DatasetInfo,
    /// Every judged check.
    pub checks: Vec<CheckResult>,
    /// Counts of check outcomes.
    pub summary: Summary,
    /// The session's verdict.
    pub verdict: Verdict,
    /// The journal's rows and their hash chain.
    pub journal: JournalChain,
    /// Format `/2` only: the letter's SHA-256 (`/3` lists it in `files`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html_sha256: String,
    /// Format `/3`: every file of the result directory except this JSON and its signature,
    /// by name (relative, `/`-separated) and SHA-256, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BoundFile>,
    /// Format `/3`: the issuing office (kop surat, letter number, signatory, PKS), when the
    /// session was run with `--office`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<office::OfficeInfo>,
    /// Who signed (key fingerprint, principal when trusted).
    pub signer: SignerInfo,
}

/// A file of the result directory bound by the signed JSON: `sha256sum` prints the same hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundFile {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error(
        "output directory {0} already exists and is not empty; choose another --out or remove it"
    )]
    OutExists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signing failed: {0}")]
    Sign(#[source] ssh_key::Error),
    #[error("cannot render the result letter: {0}")]
    Render(String),
}

/// The bytes of all files, before anything touches the disk.
#[derive(Debug, Clone)]
pub struct Documents {
    /// The signed document.
    pub result: PocResult,
    /// Its JSON bytes (what the signature covers).
    pub json: Vec<u8>,
    /// The letter.
    pub html: String,
    /// The JUnit report.
    pub junit: String,
    /// The SSH signature (armored).
    pub signature: String,
    /// Further files (captured logs, screenshots) by relative name; bound like the letter.
    pub extra: Vec<(String, Vec<u8>)>,
}

/// Builds and signs the documents in memory. A signing failure leaves nothing behind.
pub fn build_documents(
    session: &SessionRecord,
    key: &PrivateKey,
    lang: Lang,
    runner_version: &str,
    requirements: Option<&Requirements>,
) -> Result<Documents, ResultError> {
    build_documents_with(session, key, lang, runner_version, requirements, Vec::new())
}

/// [`build_documents`] with further files to bind and write (relative `/`-separated names).
pub(crate) fn build_documents_with(
    session: &SessionRecord,
    key: &PrivateKey,
    lang: Lang,
    runner_version: &str,
    requirements: Option<&Requirements>,
    extra: Vec<(String, Vec<u8>)>,
) -> Result<Documents, ResultError> {
    for (name, _) in &extra {
        let bad = name.is_empty()
            || name.starts_with('/')
            || name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            || [JSON_FILE, SIG_FILE, HTML_FILE, JUNIT_FILE].contains(&name.as_str());
        if bad {
            return Err(ResultError::Render(format!(
                "`{name}` cannot be a file of the result directory"
            )));
        }
    }
    let public = key.public_key();
    let links = hash_chain(&session.journal);
    let genesis = hex::encode(crate::journal::GENESIS);
    let mut result = PocResult {
        format: FORMAT.into(),
        session: SessionInfo {
            id: session.session_id.clone(),
            started_at: session.started_at,
            finished_at: session.finished_at,
            assessor: session.assessor.clone(),
            lang,
        },
        application: session.application.clone(),
        agreement: session.agreement.clone(),
        scenario: session.scenario.clone(),
        runner: RunnerInfo {
            version: runner_version.into(),
        },
        mock_dataset: session.mock_dataset.clone(),
        // Evidence as it is kept: NIKs masked, WIB dates, no markup (see `Evidence::for_record`).
        checks: session
            .checks
            .iter()
            .map(|c| CheckResult {
                evidence: c.evidence.iter().map(|e| e.for_record()).collect(),
                ..c.clone()
            })
            .collect(),
        summary: Summary::of(&session.checks),
        verdict: Verdict::of(&session.checks),
        journal: JournalChain {
            head: links.last().cloned().unwrap_or_else(|| genesis.clone()),
            genesis,
            rows: session.journal.clone(),
            links,
        },
        html_sha256: String::new(),
        files: Vec::new(),
        office: session.office.clone(),
        signer: SignerInfo {
            principal: signer_principal(session, key),
            fingerprint: public.fingerprint(HashAlg::Sha256).to_string(),
            public_key: public.to_openssh().map_err(ResultError::Sign)?,
        },
    };
    let html = render_html(&result, lang, requirements)?;
    let junit = render_junit(&result);
    let mut files = vec![
        BoundFile {
            name: HTML_FILE.into(),
            sha256: sha256_hex(html.as_bytes()),
        },
        BoundFile {
            name: JUNIT_FILE.into(),
            sha256: sha256_hex(junit.as_bytes()),
        },
    ];
    files.extend(extra.iter().map(|(name, bytes)| BoundFile {
        name: name.clone(),
        sha256: sha256_hex(bytes),
    }));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    result.files = files;
    let mut json =
        serde_json::to_vec_pretty(&result).map_err(|e| ResultError::Render(e.to_string()))?;
    json.push(b'\n');
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, &json)
        .map_err(ResultError::Sign)?;
    let signature = sig.to_pem(LineEnding::LF).map_err(ResultError::Sign)?;
    Ok(Documents {
        result,
        json,
        html,
        junit,
        signature,
        extra,
    })
}

/// The principal the assessor signs as: `--principal`, else the key's comment (`keygen
/// --comment`, e.g. the assessor's e-mail), else the assessor's name.
fn signer_principal(session: &SessionRecord, key: &PrivateKey) -> String {
    if let Some(p) = session.principal.as_ref().filter(|p| !p.trim().is_empty()) {
        return p.trim().to_string();
    }
    let comment = key.comment().trim();
    if !comment.is_empty() {
        return comment.to_string();
    }
    session.assessor.clone()
}

/// Writes the four files into `out` atomically: into a temporary sibling directory first, then
/// one rename. An interrupted run leaves either nothing or the complete, signed set.
pub fn write_documents(docs: &Documents, out: &Path) -> Result<(), ResultError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ResultError::Io { path, source }
    };
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(ResultError::OutExists(out.to_path_buf()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".poc-result.")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let mut files: Vec<(&str, &[u8])> = vec![
        (HTML_FILE, docs.html.as_bytes()),
        (JUNIT_FILE, docs.junit.as_bytes()),
        (JSON_FILE, &docs.json),
        (SIG_FILE, docs.signature.as_bytes()),
    ];
    files.extend(docs.extra.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    for (name, bytes) in files {
        let path = tmp.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut f = std::fs::File::create(&path).map_err(io(&path))?;
        f.write_all(bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    if out.exists() {
        std::fs::remove_dir(out).map_err(io(out))?;
    }
    // `tmp` removes itself on drop if the rename fails.
    std::fs::rename(tmp.path(), out).map_err(io(out))?;
    let _ = tmp.keep();
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all(); // best effort: make the rename durable
    }
    Ok(())
}

/// The letter's fixed texts: (key, Bahasa Indonesia, English).
const STRINGS: &[(&str, &str, &str)] = &[
    ("nomor", "Nomor", "Number"),
    ("sifat", "Sifat", "Nature"),
    ("sifat_value", "Biasa", "Ordinary"),
    ("lampiran", "Lampiran", "Attachment"),
    ("lampiran_value", "1 (satu) berkas", "1 (one) document"),
    ("perihal", "Perihal", "Subject"),
    ("perihal_value", "Hasil Proof of Concept (PoC) Aplikasi",
        "Proof of Concept (PoC) result of the application"),
    ("yth", "Yth.", "To:"),
    ("di", "di", "in"),
    ("tempat", "Tempat", "place"),
    ("attach_of", "Surat Hasil Proof of Concept (PoC)", "to the Proof of Concept (PoC) Result Letter"),
    ("nip", "NIP.", "NIP"),
    ("build", "kode rilis", "build"),
    ("closing_pass", "Dengan demikian aplikasi tersebut memenuhi ketentuan Perjanjian Kerja Sama dan Petunjuk Teknis pemanfaatan data kependudukan yang diuji, dan dapat diproses lebih lanjut untuk akses lingkungan produksi. Setiap perubahan aplikasi yang memanggil layanan wajib diuji PoC ulang.",
        "The application therefore meets the provisions of the cooperation agreement and technical guidelines tested, and may proceed to production access. Every change to the application that calls the service requires a new PoC."),
    ("closing_fail", "Dengan demikian aplikasi tersebut belum memenuhi ketentuan yang diuji. Instansi diminta memperbaiki temuan pada lampiran dan mengajukan PoC ulang; akses lingkungan produksi belum dapat diberikan.",
        "The application therefore does not yet meet the provisions tested. The institution is asked to correct the findings in the attachment and apply for a new PoC; production access cannot be granted yet."),
    ("closing", "Demikian disampaikan, atas perhatian dan kerja samanya diucapkan terima kasih.",
        "Thank you for your attention and cooperation."),
    ("esign", "Surat ini ditandatangani secara elektronik dengan kunci Ed25519 bersidik jari",
        "This letter is signed electronically with the Ed25519 key of fingerprint"),
    ("title", "Surat Hasil Proof of Concept",
        "Proof of Concept Result Letter"),
    ("subtitle", "Uji aplikasi pengguna akses data kependudukan terhadap Juknis dan PKS",
        "Test of a population-data client application against the Juknis and the agreement"),
    ("session", "Sesi",
        "Session"),
    ("parties", "Para pihak",
        "Parties"),
    ("tester", "Penguji",
        "Tester"),
    ("tester_name", "Dinas Kependudukan dan Pencatatan Sipil (Disdukcapil)",
        "Population and Civil Registration Office (Disdukcapil)"),
    ("assessor", "Petugas penguji",
        "Assessor"),
    ("institution", "Instansi pengguna",
        "User institution"),
    ("scope", "Ruang lingkup",
        "Scope"),
    ("application", "Aplikasi",
        "Application"),
    ("version", "versi",
        "version"),
    ("agreement", "Profil PKS",
        "Agreement profile"),
    ("elements", "Elemen data yang diberikan",
        "Granted data elements"),
    ("quota", "Kuota per hari",
        "Quota per day"),
    ("unlimited", "tidak dibatasi",
        "unlimited"),
    ("scenario", "Paket skenario",
        "Scenario pack"),
    ("pauses", "jeda paket dikali",
        "pack pauses times"),
    ("window", "jendela tiap tindakan",
        "window around each action"),
    ("dataset", "Data dummy mock",
        "Mock dummy data"),
    ("unknown", "tidak diketahui",
        "unknown"),
    ("seed", "benih",
        "seed"),
    ("residents", "penduduk",
        "residents"),
    ("time", "Waktu pengujian",
        "Test time"),
    ("runner", "Perangkat uji",
        "Test tool"),
    ("journal", "Jurnal permintaan",
        "Request journal"),
    ("rows", "baris",
        "rows"),
    ("chain_head", "Ujung rantai hash",
        "Hash chain head"),
    ("checks", "Hasil pemeriksaan",
        "Checks"),
    ("test", "Uji",
        "Test"),
    ("requirement", "Ketentuan",
        "Requirement"),
    ("check", "Pemeriksaan dan bukti",
        "Check and evidence"),
    ("outcome", "Hasil",
        "Outcome"),
    ("summary", "Ringkasan",
        "Summary"),
    ("n_pass", "lulus",
        "passed"),
    ("n_fail", "gagal",
        "failed"),
    ("n_review", "perlu ditinjau",
        "need review"),
    ("n_skipped", "dilewati",
        "skipped"),
    ("verdict", "Kesimpulan",
        "Verdict"),
    ("precedence", "LULUS hanya bila tidak ada pemeriksaan yang gagal atau perlu ditinjau dan sekurang-kurangnya satu pemeriksaan lulus; pemeriksaan yang dilewati tidak berlaku untuk PKS ini.",
        "LULUS (passed) only when no check failed or needs review and at least one check passed; skipped checks do not apply to this agreement."),
    ("signed_by", "Ditandatangani secara elektronik oleh",
        "Electronically signed by"),
    ("principal", "Identitas penanda tangan",
        "Signer identity"),
    ("key", "Sidik jari kunci penanda tangan (Ed25519)",
        "Signing key fingerprint (Ed25519)"),
    ("verify_hint", "Periksa dengan: poc-runner verify DIREKTORI --allowed-signers BERKAS, atau ssh-keygen -Y verify -n dukcapil-poc lalu sha256sum -c atas daftar files",
        "Verify with: poc-runner verify DIR --allowed-signers FILE, or ssh-keygen -Y verify -n dukcapil-poc then sha256sum -c over the files list"),
    ("page", "Halaman",
        "Page"),
    ("of", "dari",
        "of"),
];

fn strings(lang: Lang) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = STRINGS
        .iter()
        .map(|(k, id, en)| {
            let text = match lang {
                Lang::Id => id,
                Lang::En => en,
            };
            (k.to_string(), serde_json::Value::from(*text))
        })
        .collect();
    serde_json::Value::Object(map)
}

/// Renders the result letter. Times are shown in WIB, the local time of the parties.
pub(crate) fn render_html(
    r: &PocResult,
    lang: Lang,
    requirements: Option<&Requirements>,
) -> Result<String, ResultError> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template(
        "poc-result.html",
        include_str!("../../templates/poc-result.html.tera"),
    )
    .map_err(|e| ResultError::Render(format!("{e:?}")))?;
    let fmt = |t: DateTime<Utc>| crate::evidence::wib_datetime(t, lang);
    // One entry per test, in the order of the checks, each with its checks: a test with two
    // checks is listed once.
    let mut tests: Vec<serde_json::Value> = Vec::new();
    for c in &r.checks {
        let clauses = requirements
            .and_then(|q| q.by_id.get(&c.requirement))
            .map(|q| q.clauses_for(&r.agreement.id).join("; "))
            .unwrap_or_default();
        let check = serde_json::json!({
            "check": c.check,
            "requirement": c.requirement,
            "clauses": clauses,
            "evidence": c.evidence.iter().map(|e| e.text(lang)).collect::<Vec<_>>(),
            "outcome": c.outcome,
            "label": c.outcome.label(lang),
        });
        match tests.last_mut() {
            Some(t) if t["test_id"] == c.test_id.as_str() => {
                t["checks"].as_array_mut().expect("array").push(check)
            }
            _ => tests.push(serde_json::json!({
                "test_id": c.test_id,
                "title": match lang { Lang::Id => &c.title_id, Lang::En => &c.title_en },
                "checks": [check],
            })),
        }
    }
    let t = strings(lang);
    // The printed footer of every page: "<title> · <Sesi> <id>", as a CSS string literal.
    let footer = css_string(&format!(
        "{} \u{b7} {} {}",
        t["title"].as_str().unwrap_or_default(),
        t["session"].as_str().unwrap_or_default(),
        r.session.id
    ));
    let mut ctx = tera::Context::new();
    ctx.insert("r", r);
    ctx.insert("t", &t);
    ctx.insert("footer", &footer);
    ctx.insert("lang", lang.code());
    ctx.insert("tests", &tests);
    ctx.insert("o", &r.office.as_ref().map(|o| office_context(r, o, lang)));
    ctx.insert(
        "quota",
        &r.agreement
            .quota_per_day
            .map(|q| crate::evidence::thousands(q.into(), lang)),
    );
    ctx.insert(
        "dataset_size",
        &r.mock_dataset
            .size
            .map(|n| crate::evidence::thousands(n, lang)),
    );
    ctx.insert("started", &fmt(r.session.started_at));
    ctx.insert("finished", &fmt(r.session.finished_at));
    tera.render("poc-result.html", &ctx).map_err(|e| {
        let mut msg = e.to_string();
        let mut s = std::error::Error::source(&e);
        while let Some(inner) = s {
            msg.push_str(&format!(": {inner}"));
            s = inner.source();
        }
        ResultError::Render(msg)
    })
}

/// The surat parts of the letter, in `lang`.
fn office_context(r: &PocResult, o: &office::OfficeInfo, lang: Lang) -> serde_json::Value {
    let pks_date = office::date(o.pks.pks_date, lang);
    let tested = crate::evidence::wib_date(r.session.started_at, lang);
    let app = format!(
        "{} {} ({})",
        r.application.name, r.application.version, r.application.build
    );
    let opening = match lang {
        Lang::Id => format!(
            "Berdasarkan Perjanjian Kerja Sama Nomor {} tanggal {pks_date} antara {} {} dan {} tentang pemanfaatan Nomor Induk Kependudukan, data kependudukan dan KTP-el, bersama ini disampaikan hasil Proof of Concept (PoC) aplikasi {app} yang dilaksanakan pada tanggal {tested}, sebagaimana terlampir.",
            o.pks.pks_number, o.office.name, o.office.government.replace("Pemerintah ", ""), r.agreement.institution
        ),
        Lang::En => format!(
            "Under cooperation agreement (PKS) number {} of {pks_date} between the {} of {} and {} on the use of population identity numbers, population data and e-KTP, we send you the result of the Proof of Concept (PoC) of the application {app}, held on {tested}, as attached.",
            o.pks.pks_number, o.office.name_en, o.office.government_en.replace(" Government", ""), r.agreement.institution
        ),
    };
    let (government, name, position, addressee) = match lang {
        Lang::Id => (
            &o.office.government,
            &o.office.name,
            &o.signatory.position,
            &o.pks.addressee,
        ),
        Lang::En => (
            &o.office.government_en,
            &o.office.name_en,
            &o.signatory.position_en,
            &o.pks.addressee_en,
        ),
    };
    serde_json::json!({
        "government": government,
        "office": name,
        "address": o.office.address,
        "contact": o.office.contact,
        "place": o.office.place,
        "date": crate::evidence::wib_date(r.session.finished_at, lang),
        "letter_number": o.letter_number,
        "addressee": addressee,
        "opening": opening,
        "position": position,
        "signatory": o.signatory.name,
        "nip": o.signatory.nip,
    })
}

/// `s` as a quoted CSS string that is also safe inside an HTML `<style>` element: quotes,
/// backslashes, `<` and `>` and control characters become CSS hex escapes.
fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' | '<' | '>' | '&' => out.push_str(&format!("\\{:x} ", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\{:x} ", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JUnit XML (strict schema, `poc-runner/schemas/junit.xsd`): one testcase per check, see
/// [`junit::render`].
pub(crate) fn render_junit(r: &PocResult) -> String {
    junit::render(r)
}

/// One line of `verify`'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifyItem {
    pub what: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Whether the signer is trusted, apart from whether the document is internally consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The signer key is admitted by the anchor, as the principal the document names.
    Trusted { principal: String, source: String },
    /// An anchor was given and does not admit the signer.
    Rejected(String),
    /// No anchor was given or configured: nobody vouches for the key the document names.
    NoAnchor,
}

/// `verify`'s findings: every check, and the signer's trust.
#[derive(Debug, Clone)]
pub(crate) struct Verification {
    pub items: Vec<VerifyItem>,
    pub trust: Trust,
}

impl Verification {
    /// The checks that failed (the trust line included).
    pub(crate) fn failed(&self) -> Vec<&'static str> {
        self.items
            .iter()
            .filter(|i| !i.ok)
            .map(|i| i.what)
            .collect()
    }

    /// Internally consistent (signature, files, journal, verdict), trust aside.
    pub(crate) fn consistent(&self) -> bool {
        self.items.iter().all(|i| i.ok || i.what == "trust")
    }
}

/// The files of `dir` (recursively), relative `/`-separated names, except the JSON and its
/// signature. Symbolic links and other non-regular files are listed too, so they cannot hide.
fn dir_files(dir: &Path) -> Result<Vec<String>, ResultError> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), ResultError> {
        let here = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let rd = std::fs::read_dir(&here).map_err(|source| ResultError::Io {
            path: here.clone(),
            source,
        })?;
        for entry in rd {
            let entry = entry.map_err(|source| ResultError::Io {
                path: here.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_name = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                walk(root, &rel_name, out)?;
            } else {
                out.push(rel_name);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.retain(|n| n != JSON_FILE && n != SIG_FILE);
    out.sort();
    Ok(out)
}

/// Checks a result directory: the signature over the JSON bytes; that the signer is trusted by
/// `anchor` as the principal the document names; the SHA-256 of every other file (none missing,
/// none unbound); the journal's hash chain; the summary and verdict against the checks.
pub(crate) fn verify_dir(
    dir: &Path,
    anchor: Option<&trust::TrustAnchor>,
) -> Result<Verification, ResultError> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|source| ResultError::Io { path: p, source })
    };
    let json = read(JSON_FILE)?;
    let sig_bytes = read(SIG_FILE)?;
    let mut items = Vec::new();
    let mut push = |what, ok, detail: String| items.push(VerifyItem { what, ok, detail });

    // The signer key and the format are read from the raw JSON, so the signature of a document
    // this runner cannot read in full (another schema version) is still checked.
    let raw: Option<serde_json::Value> = serde_json::from_slice(&json).ok();
    let format = raw
        .as_ref()
        .and_then(|v| v.get("format"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let parsed: Result<PocResult, String> = match format.as_deref() {
        Some(FORMAT) | Some(FORMAT_V2) | None => {
            serde_json::from_slice(&json).map_err(|e| e.to_string())
        }
        Some(other) => Err(format!(
            "format `{other}` is not supported: this runner reads `{FORMAT}` and `{FORMAT_V2}`"
        )),
    };
    let embedded_key = raw
        .as_ref()
        .and_then(|v| v.pointer("/signer/public_key"))
        .and_then(serde_json::Value::as_str)
        .and_then(|k| PublicKey::from_openssh(k).ok());
    let principal = raw
        .as_ref()
        .and_then(|v| v.pointer("/signer/principal"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    // The key that made the signature travels inside it (SSHSIG); it must be the one the
    // document names, and the anchor decides whether it is trusted.
    let mut signed_by: Option<PublicKey> = None;
    match SshSig::from_pem(&sig_bytes) {
        Err(e) => push(
            "signature",
            false,
            format!("{SIG_FILE} is not an SSH signature: {e}"),
        ),
        Ok(sig) => {
            let key = PublicKey::from(sig.public_key().clone());
            let fp = key.fingerprint(HashAlg::Sha256);
            match key.verify(NAMESPACE, &json, &sig) {
                Err(e) => push(
                    "signature",
                    false,
                    format!("does not verify with key {fp}: {e}"),
                ),
                Ok(()) => {
                    let named = embedded_key
                        .as_ref()
                        .is_some_and(|e| e.key_data() == key.key_data());
                    push(
                        "signature",
                        named,
                        if named {
                            format!("valid, namespace {NAMESPACE}, key {fp}")
                        } else {
                            format!("made with key {fp}, which is not the key the document names")
                        },
                    );
                    if named {
                        signed_by = Some(key);
                    }
                }
            }
        }
    }
    let trust = match (&signed_by, anchor) {
        (None, _) => Trust::Rejected("no valid signature by the key the document names".into()),
        (Some(_), None) => Trust::NoAnchor,
        (Some(key), Some(a)) => match a.admits(key, &principal, NAMESPACE) {
            Ok(()) => Trust::Trusted {
                principal: principal.clone(),
                source: a.source.clone(),
            },
            Err(why) => Trust::Rejected(why),
        },
    };
    let shown = if principal.is_empty() {
        "(no principal named)".to_string()
    } else {
        principal.clone()
    };
    match &trust {
        Trust::Trusted { source, .. } => push(
            "trust",
            true,
            format!("signer {shown} is trusted by {source}"),
        ),
        Trust::Rejected(why) => push("trust", false, format!("signer {shown}: {why}")),
        Trust::NoAnchor => push(
            "trust",
            false,
            format!(
                "internally consistent, but the signer is not trusted: no --public-key, --allowed-signers, ${} or ~/.config/poc-runner/allowed_signers names the key of {shown}",
                trust::TRUSTED_SIGNERS_ENV
            ),
        ),
    }
    let r = match parsed {
        Ok(r) => r,
        Err(e) => {
            push(
                "document",
                false,
                format!("{JSON_FILE} is not a result document: {e}"),
            );
            return Ok(Verification { items, trust });
        }
    };
    let on_disk = dir_files(dir)?;
    let v2 = r.format == FORMAT_V2;
    let bound: Vec<BoundFile> = if v2 {
        vec![BoundFile {
            name: HTML_FILE.into(),
            sha256: r.html_sha256.clone(),
        }]
    } else {
        r.files.clone()
    };
    if !v2 && !bound.iter().any(|b| b.name == HTML_FILE) {
        push(
            "files",
            false,
            format!("{HTML_FILE} is not bound by the document"),
        );
    }
    for b in &bound {
        let path = dir.join(&b.name);
        match std::fs::read(&path) {
            Err(e) => push("files", false, format!("{} is missing: {e}", b.name)),
            Ok(bytes) => {
                let h = sha256_hex(&bytes);
                push(
                    "files",
                    h == b.sha256,
                    if h == b.sha256 {
                        format!("{} SHA-256 matches", b.name)
                    } else {
                        format!(
                            "{} differs: SHA-256 is {h}, the document records {}",
                            b.name, b.sha256
                        )
                    },
                );
            }
        }
    }
    for name in on_disk
        .iter()
        .filter(|n| !bound.iter().any(|b| &b.name == *n))
    {
        if v2 && name == JUNIT_FILE {
            push(
                "files",
                true,
                format!("{name} is not bound by format {FORMAT_V2}: do not rely on it"),
            );
        } else {
            push(
                "files",
                false,
                format!("{name} is not bound by the signed document (an added file)"),
            );
        }
    }
    let broken = first_broken_link(&r.journal.rows, &r.journal.links);
    let head_ok = r
        .journal
        .links
        .last()
        .map_or(r.journal.head == r.journal.genesis, |l| {
            *l == r.journal.head
        });
    let genesis_ok = r.journal.genesis == hex::encode(crate::journal::GENESIS);
    let chain_ok = broken.is_none() && head_ok && genesis_ok;
    push(
        "journal",
        chain_ok,
        match broken {
            Some(i) => format!("hash chain broken at journal row {i}"),
            None if !head_ok || !genesis_ok => {
                "hash chain head or genesis does not match the links".into()
            }
            None => format!("hash chain over {} rows intact", r.journal.rows.len()),
        },
    );
    let summary_ok = Summary::of(&r.checks) == r.summary;
    let verdict_ok = Verdict::of(&r.checks) == r.verdict;
    push(
        "verdict",
        summary_ok && verdict_ok,
        if summary_ok && verdict_ok {
            format!("{} follows from the checks", r.verdict.as_str())
        } else {
            "summary or verdict does not follow from the checks".into()
        },
    );
    Ok(Verification { items, trust })
}

/// Reads the result document of `dir` (after [`verify_dir`] said it is consistent).
pub(crate) fn read_result(dir: &Path) -> Result<PocResult, ResultError> {
    let p = dir.join(JSON_FILE);
    let bytes = std::fs::read(&p).map_err(|source| ResultError::Io {
        path: p.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ResultError::Render(format!("{}: {e}", p.display())))
}

/// Creates an Ed25519 key pair: `path` (OpenSSH private key, mode 0600) and `path.pub`.
pub fn keygen(path: &Path, comment: &str) -> Result<PublicKey, ResultError> {
    let mut key = PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(ResultError::Sign)?;
    key.set_comment(comment);
    let pub_path = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            return Err(ResultError::Io {
                path: p.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "refusing to overwrite an existing key",
                ),
            });
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ResultError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    key.write_openssh_file(path, LineEnding::LF)
        .map_err(ResultError::Sign)?;
    key.public_key()
        .write_openssh_file(&pub_path)
        .map_err(ResultError::Sign)?;
    Ok(key.public_key().clone())
}

/// Reads an OpenSSH private key file for signing.
pub fn read_private_key(path: &Path) -> Result<PrivateKey, ResultError> {
    let key = PrivateKey::read_openssh_file(path).map_err(ResultError::Sign)?;
    if key.is_encrypted() {
        return Err(ResultError::Sign(ssh_key::Error::Encrypted));
    }
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        return Err(ResultError::Sign(ssh_key::Error::AlgorithmUnknown));
    }
    Ok(key)
}

pub(crate) mod diff;
mod junit;
pub(crate) mod office;
#[cfg(test)]
mod tests;
pub(crate) mod trust;
