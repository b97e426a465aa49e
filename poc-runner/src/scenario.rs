//! Scenario packs and the requirements catalogue, as data (`scenarios/*.toml`).
//!
//! A pack is suite → groups → tests; each test names the requirement it verifies, its inputs,
//! typed steps and typed checks. Per-agreement variations live in `[overrides.<agreement-id>]`.
//! Everything is validated (shape by serde with `deny_unknown_fields`, meaning by
//! [`ScenarioPack::load`]) before anything runs; mistakes come back as positioned [`FileError`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dukcapil_domain::detector::DetectorSettings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::file_error::{FileError, FileErrors, Source};

/// Highest rule number of the domain digest's "Rules the simulator and the PoC care about".
pub(crate) const DIGEST_RULES: u32 = 13;

// ---------------------------------------------------------------------------------------------
// Requirements catalogue

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequirementsFile {
    pub catalogue: CatalogueHeader,
    pub requirements: BTreeMap<Spanned<String>, Requirement>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogueHeader {
    pub id: String,
    pub version: String,
}

/// One rule an application must follow, tied to the clauses it comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub title_id: String,
    pub title_en: String,
    /// Rule numbers of the domain digest (1-13).
    pub rules: Vec<Spanned<u32>>,
    /// Cited clauses, each with the agreements whose documents it comes from.
    pub clauses: Vec<Clause>,
}

/// A cited clause: `{ cite = "Juknis RSUD 2.p", agreements = ["rsud-karanganyar"] }`.
/// `agreements = ["*"]` marks a clause every PKS carries (e.g. "PKS Pasal 2/3"); a result
/// letter cites only the clauses of the agreement under test.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub cite: String,
    pub agreements: Vec<Spanned<String>>,
}

impl Clause {
    pub fn applies_to(&self, agreement: &str) -> bool {
        self.agreements
            .iter()
            .any(|a| a.get_ref() == "*" || a.get_ref() == agreement)
    }
}

impl Requirement {
    /// The clauses cited for `agreement`, joined for a letter.
    pub fn clauses_for(&self, agreement: &str) -> Vec<&str> {
        self.clauses
            .iter()
            .filter(|c| c.applies_to(agreement))
            .map(|c| c.cite.as_str())
            .collect()
    }
}

/// A validated catalogue.
#[derive(Debug, Clone)]
pub struct Requirements {
    /// Where the catalogue was read from.
    pub path: PathBuf,
    /// The catalogue's id.
    pub id: String,
    /// The catalogue's version.
    pub version: String,
    /// Each requirement by its key.
    pub by_id: BTreeMap<String, Requirement>,
    /// SHA-256 of the catalogue file (recorded in the result).
    pub sha256: String,
}

impl Requirements {
    /// Reads a requirements catalogue, with file, line and problem on error.
    pub fn load(path: &Path) -> Result<Requirements, FileErrors> {
        let src = Source::read(path)?;
        Requirements::from_source(&src)
    }

    /// Parses a catalogue from text already read.
    pub fn from_source(src: &Source) -> Result<Requirements, FileErrors> {
        let file: RequirementsFile = src.parse()?;
        let mut errors = Vec::new();
        for (id, req) in &file.requirements {
            if !id.get_ref().starts_with("R-") {
                errors.push(src.error_at(
                    id.span(),
                    "requirements",
                    format!(
                        "expected an id starting with `R-`, found `{}`",
                        id.get_ref()
                    ),
                ));
            }
            if req.rules.is_empty() && req.clauses.is_empty() {
                errors.push(src.error_at(
                    id.span(),
                    format!("requirements.{}", id.get_ref()),
                    "expected at least one rule number or clause",
                ));
            }
            let known: Vec<String> = dukcapil_domain::Agreement::embedded()
                .into_iter()
                .map(|a| a.id)
                .collect();
            for c in &req.clauses {
                if c.agreements.is_empty() {
                    errors.push(src.error_at(
                        id.span(),
                        format!("requirements.{}.clauses", id.get_ref()),
                        format!("expected the agreements `{}` is cited for", c.cite),
                    ));
                }
                for a in &c.agreements {
                    if a.get_ref() != "*" && !known.contains(a.get_ref()) {
                        errors.push(src.error_at(
                            a.span(),
                            format!("requirements.{}.clauses", id.get_ref()),
                            format!(
                                "expected `*` or an agreement id ({}), found `{}`",
                                known.join(", "),
                                a.get_ref()
                            ),
                        ));
                    }
                }
            }
            for r in &req.rules {
                if !(1..=DIGEST_RULES).contains(r.get_ref()) {
                    errors.push(src.error_at(
                        r.span(),
                        format!("requirements.{}.rules", id.get_ref()),
                        format!(
                            "expected a digest rule number 1-{DIGEST_RULES}, found {}",
                            r.get_ref()
                        ),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(FileErrors(errors));
        }
        Ok(Requirements {
            path: src.path.clone(),
            id: file.catalogue.id,
            version: file.catalogue.version,
            by_id: file
                .requirements
                .into_iter()
                .map(|(k, v)| (k.into_inner(), v))
                .collect(),
            sha256: sha256_hex(src.text.as_bytes()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario pack

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    pub pack: PackHeader,
    pub groups: Vec<Group>,
    #[serde(default)]
    pub overrides: BTreeMap<Spanned<String>, AgreementOverride>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackHeader {
    pub id: String,
    pub version: String,
    pub title_id: String,
    pub title_en: String,
    /// The requirements catalogue, relative to the pack file.
    pub requirements: String,
    /// The agreement profiles the pack is written for.
    pub agreements: Vec<Spanned<String>>,
    /// The operator script its `play_script` steps play when the target declares none
    /// (relative to the pack file; see [`crate::portal_script`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_script: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: Spanned<String>,
    pub title_id: String,
    pub title_en: String,
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub id: Spanned<String>,
    pub title_id: String,
    pub title_en: String,
    pub description: String,
    /// A key of the requirements catalogue.
    pub requirement: Spanned<String>,
    #[serde(default)]
    pub inputs: Inputs,
    pub steps: Vec<Step>,
    pub checks: Vec<CheckSpec>,
}

/// What a test needs before its steps run.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Canary residents created for the session, named by `ref`.
    #[serde(default)]
    pub residents: Vec<ResidentInput>,
    /// Operator slots; the runner maps them onto the target's operators in order.
    #[serde(default)]
    pub operators: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentInput {
    #[serde(rename = "ref")]
    pub reference: Spanned<String>,
    #[serde(default)]
    pub status: ResidentState,
    /// Edge values the canary carries (they must come through exactly).
    #[serde(default)]
    pub edge: Vec<EdgeValue>,
}

/// How the mock presents a canary resident; each maps to one outcome code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidentState {
    #[default]
    Active,
    Deceased,
    Duplicate,
    Inactive,
    /// Not in the database (13).
    Absent,
    /// A NIK that breaks the Dukcapil format (15).
    Malformed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeValue {
    /// A 60-character full name.
    LongName,
    Apostrophe,
    TrailingSpace,
    /// A NIK of provinces 91-96, beyond 2^53 (doubles round it).
    NikAbove2e53,
    LeapDayBirth,
}

/// A transport fault the mock can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Timeout,
    Http500,
    Http502,
    Http503,
    Http504,
    Reset,
    TruncatedBody,
    /// The mock does not answer at all (connection refused).
    Unreachable,
}

/// One step of a test. Written as a one-key inline table: `{ lookup = { operator = "a", nik_ref = "x" } }`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Login {
        operator: Spanned<String>,
    },
    Lookup {
        operator: Spanned<String>,
        nik_ref: Spanned<String>,
    },
    /// An action in the application that owes data balikan (register a patient, record a death...).
    ServiceEvent {
        operator: Spanned<String>,
        /// The target driver's event name.
        event: Spanned<String>,
        nik_ref: Spanned<String>,
        #[serde(default)]
        values: BTreeMap<String, String>,
    },
    SetQuota {
        remaining: u32,
    },
    /// Sets the mock's clock (RFC 3339).
    SetClock {
        at: Spanned<String>,
    },
    InjectFault {
        fault: Fault,
        #[serde(default = "one")]
        count: u32,
    },
    ClearFaults {},
    /// The next `count` lookups get this outcome code, whatever the NIK.
    ForceOutcome {
        outcome: Spanned<String>,
        #[serde(default = "one")]
        count: u32,
    },
    /// Changes one wire field of a canary at the mock (to catch caches).
    MutateResident {
        nik_ref: Spanned<String>,
        field: Spanned<String>,
    },
    WaitBalikan {
        seconds: u64,
    },
    ScanStorage {},
    /// Lets the engineer (manual driver) or the test application catch up.
    Pause {
        seconds: u64,
    },
    /// The operator script (of the target, else of the pack) is played: each person logs in,
    /// searches and logs out at the Web Portal, and the agency sends its data balikan.
    PlayScript {},
    /// The assessor says whether anything of the results shown was copied into the agency's
    /// own systems (typed, pasted, photographed); asked by the manual driver only.
    ObserveCopy {},
}

fn one() -> u32 {
    1
}

/// A check, one per kind of the issue; parameters tune it, the data it judges comes from the session.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckSpec {
    FieldLimits {
        /// The mock adds elements outside the grant; the application must still show none.
        #[serde(default)]
        extra_elements_from_mock: bool,
        #[serde(default)]
        edge_values: bool,
    },
    UserIdPropagation {
        #[serde(default = "two")]
        min_distinct_operators: usize,
    },
    OneActionOneRequest {
        /// Repeats of one lookup allowed after a transport fault.
        #[serde(default)]
        max_retries: u32,
    },
    NonRetention {
        #[serde(default = "yes")]
        scan_storage: bool,
        #[serde(default)]
        fresh_after_change: bool,
        #[serde(default)]
        no_data_when_unreachable: bool,
    },
    Balikan {
        within_seconds: u64,
        #[serde(default = "yes")]
        none_without_lookup: bool,
    },
    OutcomeHandling {
        #[serde(default)]
        outcomes: Vec<Spanned<String>>,
        #[serde(default)]
        transport_faults: Vec<Fault>,
        #[serde(default = "two_u32")]
        max_retries: u32,
    },
    Quota {},
    NoSequentialLookups {
        /// Thresholds of the shared rule-8 detector (`dukcapil_domain::detector`, the mock's
        /// `/__admin/detector` too); unset keys keep its defaults. Keys: see [`DetectorKeys`].
        #[serde(default, deserialize_with = "detector_settings")]
        detector: Option<DetectorSettings>,
    },
    SecretHygiene {},
    /// Web Portal: every person uses an account of their own (no login shared by two).
    PortalOwnAccounts {},
    /// Web Portal: the rule-8 detector over the portal's searches only.
    PortalSearchPattern {
        #[serde(default, deserialize_with = "detector_settings")]
        detector: Option<DetectorSettings>,
    },
    /// Web Portal: data balikan for every NIK a search found.
    PortalBalikan {
        within_seconds: u64,
    },
    /// Web Portal: nothing of the results copied into the agency's systems (the assessor's
    /// observation, the storage scan of the agency's files where the target declares them).
    PortalNoCopy {},
}

/// The `detector` table of a `no_sequential_lookups` check: the domain's keys, plus
/// `max_consecutive` from the runner's former detector (the longest allowed run of consecutive
/// NIKs, so `min_run` = `max_consecutive` + 1). Packs written for it keep working.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectorKeys {
    pub min_run: Option<usize>,
    pub max_consecutive: Option<usize>,
    pub min_stride_run: Option<usize>,
    pub max_stride: Option<u64>,
    pub burst_count: Option<usize>,
    pub burst_window_ms: Option<i64>,
}

impl DetectorKeys {
    /// The domain's settings, or why the keys make none.
    pub(crate) fn settings(self) -> Result<DetectorSettings, String> {
        let d = DetectorSettings::default();
        let min_run = match (self.min_run, self.max_consecutive) {
            (Some(_), Some(_)) => {
                return Err(
                    "give `min_run` or its older form `max_consecutive`, not both".to_string(),
                )
            }
            (Some(n), None) => n,
            (None, Some(n)) => n.saturating_add(1),
            (None, None) => d.min_run,
        };
        if min_run < 2 {
            return Err("`min_run` must be at least 2 (`max_consecutive` at least 1)".into());
        }
        let min_stride_run = self.min_stride_run.unwrap_or(d.min_stride_run);
        if min_stride_run < 3 {
            return Err("`min_stride_run` must be at least 3".into());
        }
        let burst_window_ms = self.burst_window_ms.unwrap_or(d.burst_window_ms);
        if burst_window_ms < 0 {
            return Err("`burst_window_ms` must not be negative".into());
        }
        Ok(DetectorSettings {
            min_run,
            min_stride_run,
            max_stride: self.max_stride.unwrap_or(d.max_stride),
            burst_count: self.burst_count.unwrap_or(d.burst_count),
            burst_window_ms,
        })
    }
}

fn detector_settings<'de, D>(d: D) -> Result<Option<DetectorSettings>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<DetectorKeys>::deserialize(d)?
        .map(DetectorKeys::settings)
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn two() -> usize {
    2
}
fn two_u32() -> u32 {
    2
}
fn yes() -> bool {
    true
}

impl CheckSpec {
    /// The check kind's stable name (used in results and JUnit).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckSpec::FieldLimits { .. } => "field_limits",
            CheckSpec::UserIdPropagation { .. } => "user_id_propagation",
            CheckSpec::OneActionOneRequest { .. } => "one_action_one_request",
            CheckSpec::NonRetention { .. } => "non_retention",
            CheckSpec::Balikan { .. } => "balikan",
            CheckSpec::OutcomeHandling { .. } => "outcome_handling",
            CheckSpec::Quota {} => "quota",
            CheckSpec::NoSequentialLookups { .. } => "no_sequential_lookups",
            CheckSpec::SecretHygiene {} => "secret_hygiene",
            CheckSpec::PortalOwnAccounts {} => "portal_own_accounts",
            CheckSpec::PortalSearchPattern { .. } => "portal_search_pattern",
            CheckSpec::PortalBalikan { .. } => "portal_balikan",
            CheckSpec::PortalNoCopy {} => "portal_no_copy",
        }
    }
}

/// What changes for one agreement.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementOverride {
    /// Tests that do not apply (reported as skipped, with `reason`).
    #[serde(default)]
    pub skip: Vec<Spanned<String>>,
    /// Why, in Bahasa Indonesia (the letter's language).
    #[serde(default)]
    pub reason: String,
    /// Why, in English (for `--lang en`).
    #[serde(default)]
    pub reason_en: String,
    /// The quota the quota test sets (defaults to the agreement's).
    #[serde(default)]
    pub quota_per_day: Option<u32>,
    /// The service event that owes balikan under this agreement.
    #[serde(default)]
    pub balikan_event: Option<String>,
    #[serde(default)]
    pub balikan_within_seconds: Option<u64>,
    /// Balikan keys the pack sends for service events (must be the agreement's balikan keys).
    #[serde(default)]
    pub balikan_keys: Vec<Spanned<String>>,
}

/// A validated pack with its catalogue.
#[derive(Debug, Clone)]
pub struct ScenarioPack {
    /// Where the pack was read from.
    pub path: PathBuf,
    /// The pack as written.
    pub file: PackFile,
    /// The requirements catalogue beside it.
    pub requirements: Requirements,
    /// SHA-256 of the pack file's bytes.
    pub sha256: String,
}

impl ScenarioPack {
    /// Reads and validates a pack and the catalogue it names; every mistake found is returned.
    pub fn load(path: &Path) -> Result<ScenarioPack, FileErrors> {
        let src = Source::read(path)?;
        let file: PackFile = src.parse()?;
        let req_path = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&file.pack.requirements);
        let requirements = Requirements::load(&req_path)?;
        ScenarioPack::validate(src, file, requirements)
    }

    /// Validation against a catalogue already loaded (tests and embedded packs).
    pub fn from_parts(
        src: &Source,
        requirements: Requirements,
    ) -> Result<ScenarioPack, FileErrors> {
        let file: PackFile = src.parse()?;
        ScenarioPack::validate(src.clone(), file, requirements)
    }

    fn validate(
        src: Source,
        file: PackFile,
        requirements: Requirements,
    ) -> Result<ScenarioPack, FileErrors> {
        let known_agreements: BTreeSet<String> = dukcapil_domain::Agreement::embedded()
            .into_iter()
            .map(|a| a.id)
            .collect();
        let agreement_list = known_agreements
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let mut errors: Vec<FileError> = Vec::new();

        for a in &file.pack.agreements {
            if !known_agreements.contains(a.get_ref()) {
                errors.push(src.error_at(
                    a.span(),
                    "pack.agreements",
                    format!(
                        "expected one of {agreement_list}, found unknown agreement `{}`{}",
                        a.get_ref(),
                        typo_hint(a.get_ref(), &known_agreements)
                    ),
                ));
            }
        }
        let mut group_ids = BTreeSet::new();
        let mut test_ids: BTreeSet<String> = BTreeSet::new();
        for g in &file.groups {
            if !group_ids.insert(g.id.get_ref().clone()) {
                errors.push(src.error_at(
                    g.id.span(),
                    "groups.id",
                    format!("duplicate group id `{}`", g.id.get_ref()),
                ));
            }
            for t in &g.tests {
                if !test_ids.insert(t.id.get_ref().clone()) {
                    errors.push(src.error_at(
                        t.id.span(),
                        "groups.tests.id",
                        format!("duplicate test id `{}`", t.id.get_ref()),
                    ));
                }
                if !requirements.by_id.contains_key(t.requirement.get_ref()) {
                    errors.push(src.error_at(
                        t.requirement.span(),
                        "groups.tests.requirement",
                        format!(
                            "expected a requirement id of {}, found unknown `{}`",
                            requirements.path.display(),
                            t.requirement.get_ref()
                        ),
                    ));
                }
                validate_test(&src, t, &mut errors);
            }
        }
        for (agreement, o) in &file.overrides {
            if !known_agreements.contains(agreement.get_ref()) {
                errors.push(src.error_at(
                    agreement.span(),
                    "overrides",
                    format!(
                        "expected one of {agreement_list}, found unknown agreement `{}`{}",
                        agreement.get_ref(),
                        typo_hint(agreement.get_ref(), &known_agreements)
                    ),
                ));
                continue;
            }
            for s in &o.skip {
                if !test_ids.contains(s.get_ref()) {
                    errors.push(src.error_at(
                        s.span(),
                        format!("overrides.{}.skip", agreement.get_ref()),
                        format!("expected a test id of this pack, found `{}`", s.get_ref()),
                    ));
                }
            }
            if let Some(profile) = dukcapil_domain::Agreement::embedded()
                .into_iter()
                .find(|a| &a.id == agreement.get_ref())
            {
                for k in &o.balikan_keys {
                    if profile.balikan_field(k.get_ref()).is_none() {
                        let keys: Vec<_> = profile.balikan.iter().map(|b| b.key.as_str()).collect();
                        errors.push(src.error_at(
                            k.span(),
                            format!("overrides.{}.balikan_keys", agreement.get_ref()),
                            format!(
                                "expected one of the agreement's balikan keys ({}), found `{}`",
                                keys.join(", "),
                                k.get_ref()
                            ),
                        ));
                    }
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(FileErrors(errors));
        }
        let sha256 = sha256_hex(src.text.as_bytes());
        Ok(ScenarioPack {
            path: src.path,
            file,
            requirements,
            sha256,
        })
    }

    /// The test's id (`T-FIELD-01`).
    pub fn id(&self) -> &str {
        &self.file.pack.id
    }

    /// Every test with its group, in file order.
    pub fn tests(&self) -> impl Iterator<Item = (&Group, &TestCase)> {
        self.file
            .groups
            .iter()
            .flat_map(|g| g.tests.iter().map(move |t| (g, t)))
    }

    /// The override for an agreement, if the pack has one.
    pub fn override_for(&self, agreement: &str) -> Option<&AgreementOverride> {
        self.file
            .overrides
            .iter()
            .find(|(k, _)| k.get_ref() == agreement)
            .map(|(_, v)| v)
    }

    /// Whether a test is skipped for an agreement, and why (in both languages; a pack that gives
    /// the reason in one language only is still understood in the other).
    pub fn skip_reason(&self, agreement: &str, test_id: &str) -> Option<crate::Evidence> {
        let o = self.override_for(agreement)?;
        if !o.skip.iter().any(|s| s.get_ref() == test_id) {
            return None;
        }
        let (id, en) = (o.reason.trim(), o.reason_en.trim());
        Some(match (id.is_empty(), en.is_empty()) {
            (false, false) => crate::Evidence::new(id, en),
            (false, true) => {
                crate::Evidence::new(id, format!("not applicable to this agreement: {id}"))
            }
            (true, false) => crate::Evidence::new(format!("tidak berlaku untuk PKS ini: {en}"), en),
            (true, true) => crate::Evidence::new(
                "tidak berlaku untuk PKS ini",
                "not applicable to this agreement",
            ),
        })
    }
}

/// `; did you mean `x`?` when `found` is a likely typo of a known name, else nothing.
pub(crate) fn typo_hint(found: &str, known: &BTreeSet<String>) -> String {
    crate::file_error::did_you_mean(found, known.iter().map(String::as_str))
        .map(|m| format!("; did you mean `{m}`?"))
        .unwrap_or_default()
}

fn validate_test(src: &Source, t: &TestCase, errors: &mut Vec<FileError>) {
    let residents: BTreeSet<&str> = t
        .inputs
        .residents
        .iter()
        .map(|r| r.reference.get_ref().as_str())
        .collect();
    let operators: BTreeSet<&str> = t
        .inputs
        .operators
        .iter()
        .map(|o| o.get_ref().as_str())
        .collect();
    let tid = t.id.get_ref();
    let mut seen = BTreeSet::new();
    for r in &t.inputs.residents {
        if !seen.insert(r.reference.get_ref()) {
            errors.push(src.error_at(
                r.reference.span(),
                "inputs.residents.ref",
                format!(
                    "duplicate resident ref `{}` in test {tid}",
                    r.reference.get_ref()
                ),
            ));
        }
    }
    let check_resident = |n: &Spanned<String>, errors: &mut Vec<FileError>| {
        if !residents.contains(n.get_ref().as_str()) {
            errors.push(src.error_at(n.span(), "nik_ref", format!("expected a resident ref declared in inputs.residents of test {tid}, found `{}`", n.get_ref())));
        }
    };
    let check_operator = |o: &Spanned<String>, errors: &mut Vec<FileError>| {
        if !operators.contains(o.get_ref().as_str()) {
            errors.push(src.error_at(
                o.span(),
                "operator",
                format!(
                    "expected an operator declared in inputs.operators of test {tid}, found `{}`",
                    o.get_ref()
                ),
            ));
        }
    };
    for step in &t.steps {
        match step {
            Step::Login { operator } => check_operator(operator, errors),
            Step::Lookup { operator, nik_ref } => {
                check_operator(operator, errors);
                check_resident(nik_ref, errors);
            }
            Step::ServiceEvent {
                operator,
                nik_ref,
                event,
                ..
            } => {
                check_operator(operator, errors);
                check_resident(nik_ref, errors);
                if event.get_ref().trim().is_empty() {
                    errors.push(src.error_at(
                        event.span(),
                        "event",
                        "expected an event name of the target driver",
                    ));
                }
            }
            Step::SetClock { at } => {
                if chrono::DateTime::parse_from_rfc3339(at.get_ref()).is_err() {
                    errors.push(src.error_at(
                        at.span(),
                        "at",
                        format!(
                            "expected an RFC 3339 time like 2026-01-05T08:00:00+07:00, found `{}`",
                            at.get_ref()
                        ),
                    ));
                }
            }
            Step::ForceOutcome { outcome, .. } => check_outcome(src, outcome, errors),
            Step::MutateResident { nik_ref, field } => {
                check_resident(nik_ref, errors);
                if dukcapil_domain::Field::from_wire(field.get_ref()).is_none() {
                    errors.push(src.error_at(
                        field.span(),
                        "field",
                        format!(
                            "expected a wire key such as NAMA_LGKP, found `{}`",
                            field.get_ref()
                        ),
                    ));
                }
            }
            Step::SetQuota { .. }
            | Step::InjectFault { .. }
            | Step::ClearFaults {}
            | Step::WaitBalikan { .. }
            | Step::ScanStorage {}
            | Step::Pause { .. }
            | Step::PlayScript {}
            | Step::ObserveCopy {} => {}
        }
    }
    if t.checks.is_empty() {
        errors.push(src.error_at(
            t.id.span(),
            "checks",
            format!("expected at least one check in test {tid}"),
        ));
    }
    for c in &t.checks {
        if let CheckSpec::OutcomeHandling { outcomes, .. } = c {
            for o in outcomes {
                check_outcome(src, o, errors);
            }
        }
    }
}

fn check_outcome(src: &Source, code: &Spanned<String>, errors: &mut Vec<FileError>) {
    let known = dukcapil_domain::Outcome::ALL
        .iter()
        .any(|o| o.code() == code.get_ref());
    if !known {
        let codes: Vec<_> = dukcapil_domain::Outcome::ALL
            .iter()
            .map(|o| o.code())
            .collect();
        errors.push(src.error_at(
            code.span(),
            "outcome",
            format!(
                "expected an outcome code ({}), found `{}`",
                codes.join(", "),
                code.get_ref()
            ),
        ));
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Requirements {
        let src = Source::new(
            "requirements.toml",
            "[catalogue]\nid = \"c\"\nversion = \"1\"\n\n[requirements.R-USER-ID]\ntitle_id = \"a\"\ntitle_en = \"b\"\nrules = [4]\nclauses = [{ cite = \"Juknis RSUD 2.p\", agreements = [\"rsud-karanganyar\"] }]\n",
        );
        Requirements::from_source(&src).unwrap()
    }

    const PACK: &str = r#"[pack]
id = "p"
version = "1"
title_id = "x"
title_en = "x"
requirements = "requirements.toml"
agreements = ["rsud-karanganyar"]

[[groups]]
id = "G"
title_id = "g"
title_en = "g"

[[groups.tests]]
id = "T-1"
title_id = "t"
title_en = "t"
description = "d"
requirement = "R-USER-ID"
inputs = { residents = [{ ref = "a" }], operators = ["op1", "op2"] }
steps = [
  { lookup = { operator = "op1", nik_ref = "a" } },
  { lookup = { operator = "op2", nik_ref = "a" } },
]
checks = [{ user_id_propagation = {} }]
"#;

    #[test]
    fn shipped_shape_parses() {
        let pack = ScenarioPack::from_parts(&Source::new("p.toml", PACK), catalogue()).unwrap();
        assert_eq!(pack.tests().count(), 1);
        let (_, t) = pack.tests().next().unwrap();
        assert_eq!(
            t.checks,
            vec![CheckSpec::UserIdPropagation {
                min_distinct_operators: 2
            }]
        );
    }

    fn errors_of(text: &str) -> String {
        ScenarioPack::from_parts(&Source::new("p.toml", text), catalogue())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_requirement_is_positioned() {
        let e = errors_of(&PACK.replace("requirement = \"R-USER-ID\"", "requirement = \"R-NOPE\""));
        assert!(
            e.starts_with(
                "p.toml:19:15: key `groups.tests.requirement`: expected a requirement id"
            ),
            "{e}"
        );
    }

    #[test]
    fn unknown_step_field_is_positioned() {
        let e = errors_of(&PACK.replace(
            "nik_ref = \"a\" } },\n  { lookup",
            "nik = \"a\" } },\n  { lookup",
        ));
        assert!(e.starts_with("p.toml:22:"), "{e}");
        assert!(
            e.contains(
                "key `groups.tests.nik`: expected one of operator, nik_ref, found unknown key nik"
            ),
            "{e}"
        );
    }

    #[test]
    fn undeclared_resident_and_duplicate_test_and_unknown_agreement() {
        let mut text = PACK.replace(
            "operator = \"op2\", nik_ref = \"a\"",
            "operator = \"op2\", nik_ref = \"b\"",
        );
        let second = &PACK[PACK.find("[[groups.tests]]").unwrap()..];
        text.push('\n');
        text.push_str(second);
        text.push_str("\n[overrides.rsud-surakarta]\nskip = []\n");
        let e = errors_of(&text);
        assert!(
            e.contains("p.toml:23:44: key `nik_ref`: expected a resident ref"),
            "{e}"
        );
        assert!(e.contains("duplicate test id `T-1`"), "{e}");
        assert!(e.contains("unknown agreement `rsud-surakarta`"), "{e}");
        assert_eq!(e.lines().count(), 3, "{e}"); // the copy refers to `a`, which it declares
        assert!(e.contains("p.toml:40:12: key `overrides`"), "{e}");
    }

    #[test]
    fn detector_keys_map_onto_the_domain_settings() {
        let with = |table: &str| {
            let text = PACK.replace(
                "checks = [{ user_id_propagation = {} }]",
                &format!("checks = [{{ no_sequential_lookups = {{ detector = {table} }} }}]"),
            );
            ScenarioPack::from_parts(&Source::new("p.toml", &text), catalogue())
                .map(|p| p.tests().next().map(|(_, t)| t.checks.clone()))
                .map_err(|e| e.to_string())
        };
        let legacy = with("{ max_consecutive = 2, min_stride_run = 4, burst_count = 10, burst_window_ms = 10000 }").unwrap();
        let expected = DetectorSettings {
            min_run: 3,
            min_stride_run: 4,
            burst_count: 10,
            burst_window_ms: 10_000,
            ..DetectorSettings::default()
        };
        assert_eq!(
            legacy,
            Some(vec![CheckSpec::NoSequentialLookups {
                detector: Some(expected)
            }])
        );
        let domain =
            with("{ min_run = 3, min_stride_run = 4, burst_count = 10, burst_window_ms = 10000 }")
                .unwrap();
        assert_eq!(domain, legacy);
        let e = with("{ min_run = 3, max_consecutive = 2 }").unwrap_err();
        assert!(e.contains("not both"), "{e}");
        assert!(e.starts_with("p.toml:"), "{e}");
        let e = with("{ max_run = 3 }").unwrap_err();
        assert!(e.contains("max_run"), "{e}");
        assert!(with("{ min_stride_run = 2 }")
            .unwrap_err()
            .contains("at least 3"));
    }

    #[test]
    fn wrong_type_names_key_and_expectation() {
        let e = errors_of(&PACK.replace("version = \"1\"", "version = 1"));
        assert!(e.starts_with("p.toml:3:11: key `pack.version`: "), "{e}");
        assert!(e.contains("expected a string"), "{e}");
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    #[test]
    fn standard_pack_is_valid_and_covers_every_requirement_and_agreement() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let pack = ScenarioPack::load(&dir.join("standard-web-service.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let used: BTreeSet<&str> = pack
            .tests()
            .map(|(_, t)| t.requirement.get_ref().as_str())
            .collect();
        for id in [
            "R-FIELD-LIMIT",
            "R-USER-ID",
            "R-NO-RETENTION",
            "R-BALIKAN",
            "R-QUOTA",
            "R-NO-SEQUENTIAL",
            "R-OUTCOMES",
            "R-TRANSPORT",
            "R-SECRETS",
            "R-ONE-ACTION",
        ] {
            assert!(
                pack.requirements.by_id.contains_key(id),
                "{id} missing from the catalogue"
            );
            assert!(used.contains(id), "no test verifies {id}");
        }
        let kinds: BTreeSet<&str> = pack
            .tests()
            .flat_map(|(_, t)| t.checks.iter().map(CheckSpec::kind))
            .collect();
        assert_eq!(kinds.len(), 9, "{kinds:?}");
        for a in [
            "rsud-karanganyar",
            "dinkes-karanganyar",
            "kecamatan-jumantono",
            "dinkes-purbalingga",
        ] {
            assert!(pack.override_for(a).is_some(), "{a}");
        }
        let why = pack
            .skip_reason("dinkes-karanganyar", "T-QUOTA-01")
            .expect("skipped");
        assert!(why.is_translated(), "{why:?}");
        assert!(pack.skip_reason("rsud-karanganyar", "T-QUOTA-01").is_none());
    }

    #[test]
    fn portal_pack_is_valid_and_plays_its_script_in_every_test() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let pack = ScenarioPack::load(&dir.join("standard-web-portal.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            pack.file.pack.operator_script.as_deref(),
            Some("portal/operator-script.toml")
        );
        let kinds: BTreeSet<&str> = pack
            .tests()
            .flat_map(|(_, t)| t.checks.iter().map(CheckSpec::kind))
            .collect();
        for k in [
            "portal_own_accounts",
            "portal_search_pattern",
            "portal_balikan",
            "portal_no_copy",
        ] {
            assert!(kinds.contains(k), "{k}: {kinds:?}");
        }
        for (_, t) in pack.tests() {
            assert!(
                t.steps.iter().any(|s| matches!(s, Step::PlayScript {})),
                "{}",
                t.id.get_ref()
            );
        }
        assert!(pack.requirements.by_id.contains_key("R-PORTAL-OWN-ACCOUNT"));
        for a in [
            "dinkes-karanganyar",
            "kecamatan-jumantono",
            "dinkes-purbalingga",
        ] {
            assert!(pack.override_for(a).is_some(), "{a}");
        }
    }
}
