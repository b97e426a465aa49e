//! A PoC session: start (or reach) the mock and the application, play every test of the pack
//! through the target's driver, read what reached the mock, judge every check, and hand the
//! record to [`crate::result`] for signing.
//!
//! Each test starts from a reset mock with its own canary residents (unique NIKs and a
//! session marker in every text element), so tests do not see each other's traffic. Tests
//! that use up the quota run last: a compliant application refuses further calls for the rest
//! of its day, which would otherwise starve the tests after them.

pub mod canary;
pub mod http;
pub mod manual;
/// The processes a session owns (the embedded mock, the application), as before.
pub use crate::process as procs;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dukcapil_domain::{mask_nik, Field, Outcome};
use dukcapil_mock_api::{
    DatasetInfo, EndpointFilter, FaultAction, FaultRule, InstitutionPatch, QuotaChange,
    ResidentCreate,
};

use crate::checks::{self, CapturedOutput, CheckOutcome, CheckResult, Evaluation, Verdict};
use crate::evidence::{ev, Evidence};
use crate::journal::{Action, ActionKind, JournalRow};
use crate::mock::Mock;
use crate::scenario::{CheckSpec, Fault, ResidentState, ScenarioPack, Step, TestCase};
use crate::storage::{self, Marker, StorageLocation};
use crate::target::{Driver, Target};
use canary::Canary;

pub use crate::error::SessionError;

/// How to play a session.
#[derive(Debug, Clone)]
pub struct Options {
    pub mock_url: Option<String>,
    pub admin_token: Option<String>,
    /// Residents of the embedded mock's population.
    pub population: u64,
    /// Factor applied to the pack's pauses and balikan waits (the pack's times are written for
    /// a person at a screen; a scripted driver needs only enough to separate actions).
    pub pause_scale: f64,
    /// Print progress lines (a bar on a terminal).
    pub progress: bool,
    /// The language of the progress lines (the run's `--lang`, like the letter).
    pub lang: crate::Lang,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mock_url: None,
            admin_token: None,
            population: 200,
            pause_scale: 0.05,
            progress: true,
            lang: crate::Lang::Id,
        }
    }
}

/// What the session produced (before signing).
#[derive(Debug)]
pub struct Played {
    pub checks: Vec<CheckResult>,
    pub journal: Vec<JournalRow>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// What the mock said it serves (seed, size, SHA-256 of the population file).
    pub mock_dataset: DatasetInfo,
}

/// Window around an action within which a mock row still belongs to it. Runner and mock share a
/// host here, so this is far tighter than the evaluators' default for remote sessions.
const SLACK_MS: i64 = 400;

struct Progress {
    bar: Option<indicatif::ProgressBar>,
    on: bool,
    lang: crate::Lang,
}

impl Progress {
    fn new(total: usize, on: bool, bar_allowed: bool, lang: crate::Lang) -> Progress {
        let bar = (on && bar_allowed && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            {
                b.set_style(style);
            }
            b
        });
        Progress { bar, on, lang }
    }
    fn start(&self, i: usize, total: usize, id: &str, title: &str) {
        match &self.bar {
            Some(b) => b.set_message(format!("{id} {title}")),
            None if self.on => eprintln!("[{}/{total}] {id} {title}", i + 1),
            None => {}
        }
    }
    fn done(&self, id: &str, results: &[CheckResult]) {
        let worst = results
            .iter()
            .map(|r| r.outcome)
            .max_by_key(|o| match o {
                CheckOutcome::Pass => 0,
                CheckOutcome::Skipped => 1,
                CheckOutcome::NeedsReview | CheckOutcome::NotExercised => 2,
                CheckOutcome::Fail => 3,
            })
            .unwrap_or(CheckOutcome::Skipped);
        match &self.bar {
            Some(b) => {
                b.println(format!("{id}: {}", worst.label(self.lang)));
                b.inc(1);
            }
            None if self.on => eprintln!("      {id}: {}", worst.label(self.lang)),
            None => {}
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Plays the pack against the target. Checks that fail are values in the result; `Err` means
/// the session could not be played (unreachable application or mock, bad setup).
pub fn play(pack: &ScenarioPack, target: &Target, opts: &Options) -> Result<Played, SessionError> {
    let started_at = Utc::now();
    // A manual session needs a person at a terminal: refuse before starting anything.
    let terminal = match &target.file.driver {
        Driver::Manual(_) => Some(manual::Terminal::open().ok_or_else(|| {
            SessionError::Usage(format!(
                "{}: the manual driver needs an engineer at an interactive terminal, but stdin is not a terminal (CI?); use an HTTP driver for unattended runs",
                target.path.display()
            ))
        })?),
        Driver::Http(_) => None,
    };
    let mock = match &opts.mock_url {
        Some(url) => Mock::external(url, opts.admin_token.as_deref().unwrap_or(""))?,
        None => Mock::embedded(opts.population)?,
    };
    // `Mock::external`/`embedded` already asked the mock what it serves: URL and token work.
    let target_dir = target
        .path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let app = match &target.file.app {
        Some(spec) => Some(procs::App::start(spec, &target_dir, &mock.url)?),
        None => None,
    };
    let announced = app.as_ref().and_then(|a| a.url.clone());
    // Started without an announced URL: poll until it answers.
    let poll = app.as_ref().is_some_and(|a| a.url.is_none());
    let mut driver = match (&target.file.driver, terminal) {
        (Driver::Http(spec), _) => {
            let base = announced.unwrap_or_else(|| spec.base_url.get_ref().clone());
            let d = http::Driver::new(spec, &base).map_err(SessionError::Start)?;
            wait_reachable(&d.base, || d.reachable(), poll)?;
            AppDriver::Http(d)
        }
        (Driver::Manual(spec), Some(console)) => {
            let d = manual::Driver::new(spec, &mock, Box::new(console), announced)?;
            if spec.url.is_some() || poll {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| SessionError::Start(format!("HTTP client: {e}")))?;
                let base = d.base();
                wait_reachable(
                    &base,
                    || {
                        client
                            .get(&base)
                            .send()
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    },
                    poll,
                )?;
            }
            AppDriver::Manual(Box::new(d))
        }
        (Driver::Manual(_), None) => unreachable!("the terminal is opened for a manual driver"),
    };

    let agreement = &target.agreement;
    let overrides = pack.override_for(&agreement.id);
    let mut tests: Vec<(&crate::scenario::Group, &TestCase)> = pack.tests().collect();
    // Stable: quota tests go last (see the module documentation).
    tests.sort_by_key(|(_, t)| t.steps.iter().any(|s| matches!(s, Step::SetQuota { .. })));

    let marker = canary::session_marker();
    let mut factory = canary::Factory::new(&marker);
    // Prompts of the manual driver would tear a progress bar: plain lines then.
    let progress = Progress::new(
        tests.len(),
        opts.progress,
        matches!(driver, AppDriver::Http(_)),
        opts.lang,
    );
    if let AppDriver::Manual(d) = &mut driver {
        d.introduce(tests.len());
    }
    if let AppDriver::Http(d) = &mut driver {
        preflight(&mock, d, target, &mut factory)?;
    }
    let mut results = Vec::new();
    let mut journal = Vec::new();
    let mut all_outputs: Vec<(Evidence, Vec<u8>)> = Vec::new();
    for (i, (_, t)) in tests.iter().enumerate() {
        let tid = t.id.get_ref().as_str();
        let title = match opts.lang {
            crate::Lang::Id => &t.title_id,
            crate::Lang::En => &t.title_en,
        };
        progress.start(i, tests.len(), tid, title);
        let mine: Vec<CheckResult> = if let Some(reason) = pack.skip_reason(&agreement.id, tid) {
            t.checks
                .iter()
                .map(|c| result_of(t, c, Evaluation::skipped(reason.clone())))
                .collect()
        } else {
            if let AppDriver::Manual(d) = &mut driver {
                d.start_test(tid, &t.title_id);
            }
            let mut run = TestRun::new(t, &mock, &mut driver, target, opts, overrides);
            run.play(&mut factory)?;
            let rows = run.read_journal()?;
            let observations = run.driver.take_observations();
            let evals: Vec<CheckResult> = t
                .checks
                .iter()
                .map(|c| {
                    let mut e = run.evaluate(c, &rows, &all_outputs);
                    // What the engineer confirmed is part of every check of the test.
                    e.evidence.extend(observations.iter().cloned());
                    result_of(t, c, e)
                })
                .collect();
            all_outputs.append(&mut run.raw_outputs);
            journal.extend(rows);
            evals
        };
        progress.done(tid, &mine);
        results.extend(mine);
    }
    progress.finish();
    // Secret hygiene judged once more over the whole session would duplicate evidence; the
    // per-test check already searched everything captured up to it plus storage.
    drop(app);
    Ok(Played {
        checks: results,
        journal,
        started_at,
        finished_at: Utc::now(),
        mock_dataset: mock.dataset.clone(),
    })
}

/// Before anything is judged: every operator logs in and looks up a warm-up canary, and each
/// lookup must reach *this* mock. Otherwise the session stops with what failed (a login status,
/// no request at the mock, an application holding back after a quota refusal), because every
/// check after it would judge nothing.
fn preflight(
    mock: &Mock,
    driver: &mut http::Driver<'_>,
    target: &Target,
    factory: &mut canary::Factory,
) -> Result<(), SessionError> {
    mock.reset()?;
    mock.clear_faults()?;
    // One warm-up canary per operator: an application that caches answers must still call once
    // for each.
    let warm: Vec<Canary> = target
        .file
        .operators
        .iter()
        .map(|_| {
            factory.make(&crate::scenario::ResidentInput {
                reference: toml::Spanned::new(0..0, "pre-flight".to_string()),
                status: ResidentState::Active,
                edge: Vec::new(),
            })
        })
        .collect();
    let bodies: Vec<ResidentCreate> = warm.iter().filter_map(Canary::create_body).collect();
    mock.create_residents(&bodies)?;
    let wants_session = driver.captures_a_session();
    for (op, warm) in target.file.operators.iter().zip(&warm) {
        let (u, p) = (op.username.get_ref().as_str(), op.password.as_str());
        let login = driver.login(u, p);
        let refused = login.status.is_none_or(|s| s >= 400);
        if refused || (wants_session && !driver.has_session(u)) {
            return Err(SessionError::Preflight(format!(
                "operator `{u}` could not log in to the application at {} ({}); check the operators' usernames and passwords in the target file",
                driver.base,
                login.explain().en
            )));
        }
        let after = mock.watermark()?;
        let answer = driver.lookup(u, p, &warm.nik);
        let reached = mock
            .rows_after(after)?
            .into_iter()
            .filter(|r| r.nik.as_deref() == Some(warm.nik.as_str()))
            .count();
        if reached == 0 {
            let said = driver.output_text(&answer.body).to_lowercase();
            let why = if said.contains("kuota") || said.contains("quota") {
                "the application holds lookups back, saying today's quota is used up (an earlier session's quota test?): restart it or wait for the next WIB day".to_string()
            } else {
                format!(
                    "is the application configured with this mock's URL ({}) and the agreement's credentials?",
                    mock.url
                )
            };
            return Err(SessionError::Preflight(format!(
                "the warm-up lookup by `{u}` never reached the mock at {} (the application answered: {}); {why}",
                mock.url,
                answer.explain().en
            )));
        }
    }
    driver.forget_sessions();
    // Work the lookups set off in the background (a defect's crawler) lands before the first
    // test's reset, not inside it.
    std::thread::sleep(Duration::from_millis(1_000));
    Ok(())
}

fn wait_reachable(
    base: &str,
    reachable: impl Fn() -> Result<(), String>,
    poll: bool,
) -> Result<(), SessionError> {
    let deadline = Instant::now() + Duration::from_secs(if poll { 30 } else { 0 });
    loop {
        match reachable() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(SessionError::Unreachable(format!(
                    "the application at {base} did not answer: {e}"
                )))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// How the application is driven: scripted HTTP requests or an engineer at its screen.
enum AppDriver<'d> {
    Http(http::Driver<'d>),
    Manual(Box<manual::Driver<'d>>),
}

impl AppDriver<'_> {
    fn base(&self) -> String {
        match self {
            AppDriver::Http(d) => d.base.clone(),
            AppDriver::Manual(d) => d.base(),
        }
    }

    fn forget_sessions(&mut self) {
        match self {
            AppDriver::Http(d) => d.forget_sessions(),
            AppDriver::Manual(d) => d.forget_sessions(),
        }
    }

    fn has_session(&self, username: &str) -> bool {
        match self {
            AppDriver::Http(d) => d.has_session(username),
            AppDriver::Manual(d) => d.has_session(username),
        }
    }

    fn login(&mut self, username: &str, password: &str) -> Result<http::Answer, SessionError> {
        match self {
            AppDriver::Http(d) => Ok(d.login(username, password)),
            AppDriver::Manual(d) => d.login(username, password),
        }
    }

    fn lookup(
        &mut self,
        username: &str,
        password: &str,
        ctx: &manual::LookupContext,
    ) -> Result<manual::Observed, SessionError> {
        match self {
            AppDriver::Http(d) => {
                let answer = d.lookup(username, password, &ctx.nik);
                Ok(manual::Observed {
                    presented: answer.status.is_some() && d.presents_resident(&answer.body),
                    output: d.output_text(&answer.body),
                    answer,
                })
            }
            AppDriver::Manual(d) => d.lookup(username, password, ctx),
        }
    }

    fn event(
        &mut self,
        name: &str,
        username: &str,
        password: &str,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<Option<http::Answer>, SessionError> {
        match self {
            AppDriver::Http(d) => Ok(d.event(name, username, password, nik, values)),
            AppDriver::Manual(d) => d.event(name, username, password, nik, values),
        }
    }

    /// The keys of `values` the operator enters at event `name`: those the target's request
    /// sends (scripted), every one shown in the instruction (an engineer at the screen).
    fn entered_keys(&self, name: &str, values: &BTreeMap<String, String>) -> Vec<String> {
        let sent = match self {
            AppDriver::Http(d) => d.event_value_keys(name),
            AppDriver::Manual(_) => values.keys().cloned().collect(),
        };
        values
            .iter()
            .filter(|(k, v)| sent.contains(*k) && !v.trim().is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The engineer's recorded answers since the last call (none for a scripted driver).
    fn take_observations(&mut self) -> Vec<crate::evidence::Evidence> {
        match self {
            AppDriver::Http(_) => Vec::new(),
            AppDriver::Manual(d) => d.take_log(),
        }
    }
}

/// A value the operator could enter for `field` (its format and length), naming the test.
fn balikan_value_for(field: &dukcapil_domain::BalikanField, test_id: &str) -> String {
    use dukcapil_domain::BalikanFormat;
    match field.format {
        BalikanFormat::Digits => {
            let n = field.length.or(field.max_len).unwrap_or(10);
            "3303000000000000000000".chars().cycle().take(n).collect()
        }
        BalikanFormat::GolonganDarah => "O".into(),
        BalikanFormat::Date => "2026-12-01".into(),
        BalikanFormat::Text => {
            let v = format!("POC {} {test_id}", field.key.replace('_', " "));
            v.chars().take(field.max_len.unwrap_or(100)).collect()
        }
    }
}

fn result_of(t: &TestCase, c: &CheckSpec, e: Evaluation) -> CheckResult {
    CheckResult {
        test_id: t.id.get_ref().clone(),
        check: c.kind().to_string(),
        requirement: t.requirement.get_ref().clone(),
        title_id: t.title_id.clone(),
        title_en: t.title_en.clone(),
        outcome: e.outcome,
        evidence: e.evidence,
    }
}

/// One lookup the driver made.
struct LookupRecord {
    nik: String,
    action: usize,
    answer: http::Answer,
    presented: bool,
    output: usize,
    fault: Option<Fault>,
    after_mutation: Option<(String, String)>,
}

struct TestRun<'a, 'd> {
    test: &'a TestCase,
    mock: &'a Mock,
    driver: &'a mut AppDriver<'d>,
    target: &'a Target,
    opts: &'a Options,
    overrides: Option<&'a crate::scenario::AgreementOverride>,
    residents: BTreeMap<String, Canary>,
    actions: Vec<Action>,
    outputs: Vec<CapturedOutput>,
    raw_outputs: Vec<(Evidence, Vec<u8>)>,
    lookups: Vec<LookupRecord>,
    /// Mock clock minus real clock, in ms (actions are recorded in mock time).
    offset_ms: i64,
    pending_fault: Option<Fault>,
    faults_supported: bool,
    forced: Option<(InstitutionPatch, u32)>,
    notes: Vec<Evidence>,
    mutated: Option<(String, String, String)>,
    scan: Option<storage::ScanReport>,
    extra_elements: Option<bool>,
    /// Per service-event action: the balikan keys of the agreement the operator entered a value
    /// for, which must come back to the mock with the data balikan.
    entered_balikan: BTreeMap<usize, Vec<String>>,
}

fn op_slot<'t>(
    target: &'t Target,
    test: &TestCase,
    slot: &str,
) -> Option<&'t crate::target::Operator> {
    let idx = test
        .inputs
        .operators
        .iter()
        .position(|o| o.get_ref() == slot)?;
    target.file.operators.get(idx)
}

impl<'a, 'd> TestRun<'a, 'd> {
    fn new(
        test: &'a TestCase,
        mock: &'a Mock,
        driver: &'a mut AppDriver<'d>,
        target: &'a Target,
        opts: &'a Options,
        overrides: Option<&'a crate::scenario::AgreementOverride>,
    ) -> Self {
        TestRun {
            test,
            mock,
            driver,
            target,
            opts,
            overrides,
            residents: BTreeMap::new(),
            actions: Vec::new(),
            outputs: Vec::new(),
            raw_outputs: Vec::new(),
            lookups: Vec::new(),
            offset_ms: 0,
            pending_fault: None,
            faults_supported: true,
            forced: None,
            notes: Vec::new(),
            mutated: None,
            scan: None,
            extra_elements: None,
            entered_balikan: BTreeMap::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms)
    }

    /// A service event's values plus one for every balikan key the pack's override for this
    /// agreement names and the step leaves out, valid for the agreement's field format.
    fn with_override_values(&self, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = values.clone();
        for key in self.overrides.map(|o| &o.balikan_keys[..]).unwrap_or(&[]) {
            let key = key.get_ref();
            if all.contains_key(key) {
                continue;
            }
            if let Some(field) = self.target.agreement.balikan_field(key) {
                all.insert(key.clone(), balikan_value_for(field, self.tid()));
            }
        }
        all
    }

    fn tid(&self) -> &str {
        self.test.id.get_ref()
    }

    fn pause(&self, seconds: u64) {
        let ms = (seconds as f64 * 1000.0 * self.opts.pause_scale).max(0.0) as u64;
        std::thread::sleep(Duration::from_millis(ms.max(2 * SLACK_MS as u64)));
    }

    fn play(&mut self, factory: &mut canary::Factory) -> Result<(), SessionError> {
        self.mock.reset()?;
        self.driver.forget_sessions();
        // Reset drops the rules added through the admin API; this also drops any the mock's
        // settings file configured, so a test sees only the faults its steps inject.
        self.mock.clear_faults()?;
        let mut create = Vec::new();
        for r in &self.test.inputs.residents {
            let c = factory.make(r);
            if let Some(body) = c.create_body() {
                create.push(body);
            }
            self.residents.insert(c.reference.clone(), c);
        }
        if !create.is_empty() {
            self.mock.create_residents(&create)?;
        }
        if self.test.checks.iter().any(|c| {
            matches!(
                c,
                CheckSpec::FieldLimits {
                    extra_elements_from_mock: true,
                    ..
                }
            )
        }) {
            let cid = &self.target.agreement.customer_id;
            let patch = InstitutionPatch {
                extra_elements: Some(true),
                ..InstitutionPatch::default()
            };
            let answer = self.mock.patch_institution(cid, &patch)?;
            self.extra_elements = Some(answer.is_ok());
            if let Err(why) = answer {
                self.notes.push(ev!(
                    "mock tidak dapat diatur untuk mengembalikan elemen data tambahan ({why}); dinilai atas elemen data PKS saja",
                    "the mock could not be set to return extra elements ({why}); judged on granted elements only"
                ));
            }
        }
        let steps = self.test.steps.clone();
        for step in &steps {
            self.step(step)?;
        }
        Ok(())
    }

    fn operator(&self, slot: &str) -> Result<(String, String), SessionError> {
        op_slot(self.target, self.test, slot)
            .map(|o| (o.username.get_ref().clone(), o.password.clone()))
            .ok_or_else(|| {
                SessionError::Usage(format!(
                    "test {} needs operator slot `{slot}` but the target file has only {} operator(s)",
                    self.tid(),
                    self.target.file.operators.len()
                ))
            })
    }

    fn step(&mut self, step: &Step) -> Result<(), SessionError> {
        match step {
            Step::Login { operator } => {
                let (u, p) = self.operator(operator.get_ref())?;
                let started = self.now();
                let a = self.driver.login(&u, &p)?;
                if a.status.is_none() {
                    return Err(SessionError::Unreachable(format!(
                        "the application at {} did not answer the login: {}",
                        self.driver.base(),
                        a.error.unwrap_or_default()
                    )));
                }
                if !self.driver.has_session(&u) {
                    let why = a.explain();
                    self.notes.push(ev!(lang =>
                        "login `{u}` tidak menghasilkan sesi ({})",
                        "login of `{u}` gave no session ({})",
                        why.text(lang)
                    ));
                }
                self.raw_outputs.push((
                    ev!("{} login oleh {u}", "{} login {u}", self.tid()),
                    a.body.into_bytes(),
                ));
                self.actions.push(Action {
                    test_id: self.tid().to_string(),
                    operator: u,
                    kind: ActionKind::Login,
                    started,
                    finished: self.now(),
                    fault_injected: false,
                });
            }
            Step::Lookup { operator, nik_ref } => {
                let (u, p) = self.operator(operator.get_ref())?;
                let nik = self
                    .residents
                    .get(nik_ref.get_ref())
                    .map(|c| c.nik.clone())
                    .unwrap_or_default();
                let fault = self.pending_fault.take();
                let ctx = self.lookup_context(nik_ref.get_ref(), &nik, fault.is_some());
                let started = self.now();
                let manual::Observed {
                    answer: a,
                    presented,
                    output,
                } = self.driver.lookup(&u, &p, &ctx)?;
                let finished = self.now();
                let label = ev!(
                    "{} pencarian #{} oleh {u}",
                    "{} lookup #{} by {u}",
                    self.tid(),
                    self.lookups.len() + 1
                );
                self.outputs.push(CapturedOutput {
                    label: label.clone(),
                    text: output,
                });
                self.raw_outputs.push((label, a.body.clone().into_bytes()));
                self.actions.push(Action {
                    test_id: self.tid().to_string(),
                    operator: u,
                    kind: ActionKind::Lookup { nik: nik.clone() },
                    started,
                    finished,
                    fault_injected: fault.is_some(),
                });
                self.lookups.push(LookupRecord {
                    nik,
                    action: self.actions.len() - 1,
                    answer: a,
                    presented,
                    output: self.outputs.len() - 1,
                    fault,
                    after_mutation: self
                        .mutated
                        .as_ref()
                        .filter(|m| m.0 == *nik_ref.get_ref())
                        .map(|m| (m.1.clone(), m.2.clone())),
                });
                if let Some((revert, left)) = self.forced.take() {
                    if left <= 1 {
                        let cid = &self.target.agreement.customer_id;
                        if let Err(why) = self.mock.patch_institution(cid, &revert)? {
                            return Err(SessionError::Mock(format!("{cid}: {why}")));
                        }
                    } else {
                        self.forced = Some((revert, left - 1));
                    }
                }
            }
            Step::ServiceEvent {
                operator,
                event,
                nik_ref,
                values,
            } => {
                let (u, p) = self.operator(operator.get_ref())?;
                let nik = self
                    .residents
                    .get(nik_ref.get_ref())
                    .map(|c| c.nik.clone())
                    .unwrap_or_default();
                // The agreement's own service event and balikan values, where the pack names them
                // (a sub-district registers a business, not a patient).
                let event: &String = self
                    .overrides
                    .and_then(|o| o.balikan_event.as_ref())
                    .unwrap_or(event.get_ref());
                let values = self.with_override_values(values);
                let values = &values;
                let entered: Vec<String> = self
                    .driver
                    .entered_keys(event, values)
                    .into_iter()
                    .filter(|k| self.target.agreement.balikan_field(k).is_some())
                    .collect();
                let started = self.now();
                let Some(a) = self.driver.event(event, &u, &p, &nik, values)? else {
                    self.notes.push(ev!(
                        "driver target tidak mengenal kejadian layanan `{}`",
                        "the target's driver has no event `{}`",
                        event
                    ));
                    return Ok(());
                };
                self.raw_outputs.push((
                    ev!("{} {} oleh {u}", "{} {} by {u}", self.tid(), event),
                    a.body.into_bytes(),
                ));
                self.entered_balikan.insert(self.actions.len(), entered);
                self.actions.push(Action {
                    test_id: self.tid().to_string(),
                    operator: u,
                    kind: ActionKind::ServiceEvent {
                        event: event.clone(),
                        nik,
                    },
                    started,
                    finished: self.now(),
                    fault_injected: false,
                });
            }
            Step::SetQuota { remaining } => {
                let limit = self
                    .overrides
                    .and_then(|o| o.quota_per_day)
                    .or(self.target.agreement.quota_per_day)
                    .unwrap_or(1000)
                    .max(*remaining);
                let cid = &self.target.agreement.customer_id;
                self.mock.set_quota(
                    cid,
                    &QuotaChange {
                        used: Some(limit - remaining),
                        limit: Some(Some(limit)),
                    },
                )?;
            }
            Step::SetClock { at } => {
                // The pack's loader checked the timestamp.
                let at = DateTime::parse_from_rfc3339(at.get_ref())
                    .map_err(|e| SessionError::Usage(format!("set_clock {}: {e}", at.get_ref())))?;
                self.offset_ms = self.mock.set_clock(at.with_timezone(&Utc))?;
            }
            Step::InjectFault { fault, count } => {
                let status = |code| FaultAction::Status { code };
                let action = match fault {
                    Fault::Timeout => FaultAction::Delay {
                        ms: Some((self.driver_timeout_ms() / 2).clamp(2_000, 8_000)),
                        min_ms: None,
                        max_ms: None,
                    },
                    Fault::Http500 => status(500),
                    Fault::Http502 => status(502),
                    Fault::Http503 => status(503),
                    Fault::Http504 => status(504),
                    Fault::Reset | Fault::Unreachable => FaultAction::Close,
                    Fault::TruncatedBody => FaultAction::Truncate {
                        keep_bytes: None,
                        keep_percent: Some(50),
                    },
                };
                let mut rule = FaultRule::new(action);
                rule.endpoint = EndpointFilter::CallNik;
                // An unreachable gateway stays unreachable until `clear_faults`, however often
                // the application retries; the other faults hit `count` calls.
                if *fault != Fault::Unreachable {
                    rule.times = Some(u64::from(*count));
                }
                if self.mock.add_fault(&rule)? {
                    self.pending_fault = Some(*fault);
                } else {
                    self.faults_supported = false;
                }
            }
            Step::ClearFaults {} => {
                self.mock.clear_faults()?;
                self.pending_fault = None;
            }
            Step::ForceOutcome { outcome, count } => {
                let (patch, revert) = match outcome.get_ref().as_str() {
                    // Disdukcapil rotates institution passwords: the application, still sending
                    // the agreement's, gets 03 until the password is set back.
                    "03" => (
                        InstitutionPatch {
                            password: Some(Some(rotated_password())),
                            ..InstitutionPatch::default()
                        },
                        InstitutionPatch {
                            password: Some(Some(
                                self.target.agreement.credentials.password.clone(),
                            )),
                            ..InstitutionPatch::default()
                        },
                    ),
                    "16" => (
                        InstitutionPatch {
                            active: Some(false),
                            ..InstitutionPatch::default()
                        },
                        InstitutionPatch {
                            active: Some(true),
                            ..InstitutionPatch::default()
                        },
                    ),
                    "17" => (
                        InstitutionPatch {
                            user_active: Some(false),
                            ..InstitutionPatch::default()
                        },
                        InstitutionPatch {
                            user_active: Some(true),
                            ..InstitutionPatch::default()
                        },
                    ),
                    other => {
                        self.notes.push(ev!(
                            "kode respons {other} tidak dapat dipaksakan pada mock ini; pencarian berikutnya dinilai apa adanya",
                            "outcome {other} cannot be forced on this mock; the next lookup is judged as it comes"
                        ));
                        return Ok(());
                    }
                };
                let cid = &self.target.agreement.customer_id;
                if let Err(why) = self.mock.patch_institution(cid, &patch)? {
                    return Err(SessionError::Mock(format!("{cid}: {why}")));
                }
                self.forced = Some((revert, *count));
            }
            Step::MutateResident { nik_ref, field } => {
                let Some(c) = self.residents.get(nik_ref.get_ref()) else {
                    return Ok(());
                };
                let old = c.value(field.get_ref()).unwrap_or_default();
                let new = canary::mutated(&old);
                self.mock.patch_resident(
                    &c.nik,
                    &ResidentCreate::default().with(field.get_ref(), new.clone()),
                )?;
                self.mutated = Some((nik_ref.get_ref().clone(), old, new));
            }
            Step::WaitBalikan { seconds } => {
                let wait = Duration::from_millis(
                    ((*seconds as f64) * 1000.0 * self.opts.pause_scale) as u64,
                )
                .max(Duration::from_secs(2));
                let deadline = Instant::now() + wait;
                let owed: Vec<String> = self
                    .actions
                    .iter()
                    .filter_map(|a| match &a.kind {
                        ActionKind::ServiceEvent { nik, .. } => Some(nik.clone()),
                        _ => None,
                    })
                    .collect();
                while Instant::now() < deadline {
                    let rows = self.read_journal()?;
                    if owed
                        .iter()
                        .all(|n| rows.iter().any(|r| r.is_balikan() && r.nik_raw == *n))
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            Step::ScanStorage {} => {
                self.scan = Some(storage::scan(&self.target.file.storage, &self.markers()));
            }
            Step::Pause { seconds } => self.pause(*seconds),
        }
        Ok(())
    }

    /// What a lookup of `nik_ref` should show, for a driver that asks a person about it.
    fn lookup_context(&self, nik_ref: &str, nik: &str, fault: bool) -> manual::LookupContext {
        let mut ctx = manual::LookupContext {
            nik: nik.to_string(),
            fault,
            ..manual::LookupContext::default()
        };
        let AppDriver::Manual(_) = self.driver else {
            return ctx;
        };
        let Some(c) = self.residents.get(nik_ref) else {
            return ctx;
        };
        let granted = self.target.agreement.granted;
        let limits = self.test.checks.iter().find_map(|c| match c {
            CheckSpec::FieldLimits { edge_values, .. } => Some(*edge_values),
            _ => None,
        });
        for (f, v) in &c.values {
            let pair = (f.wire_name().to_string(), v.clone());
            if granted.contains(*f) {
                if limits == Some(true) && matches!(f, Field::Nik | Field::NamaLgkp) {
                    ctx.exact.push(pair.clone());
                }
                ctx.granted.push(pair);
            } else if limits.is_some() && *f != Field::Nik {
                ctx.forbidden.push(pair);
            }
        }
        if let Some((r, _, new)) = &self.mutated {
            if r == nik_ref {
                if let Some((f, _)) = c.values.iter().find(|(_, v)| canary::mutated(v) == *new) {
                    ctx.exact.push((f.wire_name().to_string(), new.clone()));
                }
            }
        }
        ctx
    }

    fn driver_timeout_ms(&self) -> u64 {
        match &self.target.file.driver {
            Driver::Http(h) => h.timeout_ms,
            Driver::Manual(_) => 10_000,
        }
    }

    /// Canary values that must never be stored (text values carrying the session marker).
    fn markers(&self) -> Vec<Marker> {
        self.residents
            .values()
            .flat_map(|c| {
                c.values
                    .iter()
                    .filter(|(f, v)| *f != Field::Nik && c.marked(v))
                    .map(move |(f, v)| Marker {
                        label: ev!(
                            "{} dari canary `{}`",
                            "{} of canary `{}`",
                            f.wire_name(),
                            c.reference
                        ),
                        value: v.clone(),
                    })
            })
            .collect()
    }

    /// Every journal row since the test's reset, as the evaluators read them.
    fn read_journal(&self) -> Result<Vec<JournalRow>, SessionError> {
        self.mock.journal_after(0)
    }

    fn evaluate(
        &self,
        spec: &CheckSpec,
        rows: &[JournalRow],
        earlier_outputs: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        if let Some(why) = self.unexercised(spec, rows) {
            let mut e = Evaluation::not_exercised(why);
            e.evidence.extend(self.notes.iter().cloned());
            return e;
        }
        let mut e = self.evaluate_inner(spec, rows, earlier_outputs);
        if !self.notes.is_empty() && e.outcome == CheckOutcome::Pass {
            e.evidence.extend(self.notes.iter().cloned());
        }
        e
    }

    /// What a check needs from the test and did not get: the checks that judge lookups need a
    /// lookup at the mock, field limits one answered with data. `None` when it can be judged.
    fn unexercised(&self, spec: &CheckSpec, rows: &[JournalRow]) -> Option<Evidence> {
        let judges_lookups = matches!(
            spec,
            CheckSpec::FieldLimits { .. }
                | CheckSpec::UserIdPropagation { .. }
                | CheckSpec::OneActionOneRequest { .. }
                | CheckSpec::OutcomeHandling { .. }
                | CheckSpec::Quota {}
                | CheckSpec::NoSequentialLookups { .. }
        );
        if !judges_lookups || self.lookups.is_empty() {
            // A test without lookup steps asks nothing of the mock's lookups.
            return None;
        }
        if !rows.iter().any(JournalRow::is_lookup) {
            let asked = self.lookups.len();
            let last = self.lookups.last()?.answer.explain();
            return Some(ev!(lang =>
                "tidak ada pencarian yang sampai di mock selama uji ini ({asked} pencarian diminta dari aplikasi; jawaban terakhir aplikasi: {})",
                "no lookup reached the mock during this test ({asked} asked of the application; its last answer: {})",
                last.text(lang)
            ));
        }
        if matches!(spec, CheckSpec::FieldLimits { .. })
            && !rows
                .iter()
                .any(|r| r.is_lookup() && r.outcome == Outcome::Found.code())
        {
            return Some(ev!(
                "tidak ada pencarian yang dijawab mock dengan data penduduk: batas elemen data tidak dapat dinilai",
                "no lookup was answered with resident data: field limits could not be judged"
            ));
        }
        None
    }

    fn evaluate_inner(
        &self,
        spec: &CheckSpec,
        rows: &[JournalRow],
        earlier_outputs: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        match spec {
            CheckSpec::FieldLimits { edge_values, .. } => {
                let canary: Vec<(Field, String)> = self
                    .residents
                    .values()
                    .filter(|c| c.state == ResidentState::Active)
                    .flat_map(|c| c.values.iter().cloned())
                    .collect();
                let edge: Vec<Field> = if *edge_values {
                    vec![Field::Nik, Field::NamaLgkp]
                } else {
                    vec![]
                };
                checks::field_limits(self.target.agreement.granted, &canary, &edge, &self.outputs)
            }
            CheckSpec::UserIdPropagation {
                min_distinct_operators,
            } => {
                let ops: Vec<checks::OperatorIdentity> = self
                    .target
                    .file
                    .operators
                    .iter()
                    .map(|o| checks::OperatorIdentity {
                        username: o.username.get_ref().clone(),
                        user_id: o.expected_user_id().to_string(),
                    })
                    .collect();
                let inst = [
                    self.target.file.mock_credentials.user_id.as_str(),
                    self.target.agreement.credentials.user_id.as_str(),
                    self.target.agreement.customer_id.as_str(),
                ];
                checks::user_id_propagation(
                    rows,
                    &self.actions,
                    &ops,
                    &inst,
                    *min_distinct_operators,
                    SLACK_MS,
                )
            }
            CheckSpec::OneActionOneRequest { max_retries } => {
                // A malformed NIK a compliant application rejects itself never reaches the mock.
                let actions: Vec<Action> = self
                    .actions
                    .iter()
                    .filter(|a| {
                        let ActionKind::Lookup { nik } = &a.kind else {
                            return true;
                        };
                        let malformed = self
                            .residents
                            .values()
                            .any(|c| c.nik == *nik && c.state == ResidentState::Malformed);
                        !malformed
                            || rows.iter().any(|r| {
                                r.is_lookup() && r.nik_raw == *nik && a.covers(r, SLACK_MS)
                            })
                    })
                    .cloned()
                    .collect();
                if !self.faults_supported
                    && self.lookups.iter().any(|l| l.fault.is_none())
                    && self
                        .test
                        .steps
                        .iter()
                        .any(|s| matches!(s, Step::InjectFault { .. }))
                {
                    let mut e =
                        checks::one_action_one_request(rows, &actions, *max_retries, SLACK_MS);
                    e.evidence.push(ev!(
                        "mock tidak mendukung injeksi gangguan: gangguan tidak disuntikkan",
                        "the mock has no fault injection: faults were not injected"
                    ));
                    return e;
                }
                checks::one_action_one_request(rows, &actions, *max_retries, SLACK_MS)
            }
            CheckSpec::NonRetention {
                scan_storage,
                fresh_after_change,
                no_data_when_unreachable,
            } => {
                let scan = if *scan_storage {
                    Some(self.scan.clone().unwrap_or_else(|| {
                        storage::scan(&self.target.file.storage, &self.markers())
                    }))
                } else {
                    None
                };
                let after = if *fresh_after_change {
                    self.lookups.iter().rev().find_map(|l| {
                        l.after_mutation
                            .as_ref()
                            .map(|m| (m, &self.outputs[l.output]))
                    })
                } else {
                    None
                };
                let values: Vec<String> = self
                    .residents
                    .values()
                    .flat_map(|c| {
                        c.values
                            .iter()
                            .filter(|(f, _)| *f != Field::Nik)
                            .map(|(_, v)| v.clone())
                    })
                    .filter(|v| v.len() >= 6)
                    .collect();
                let unreachable = if *no_data_when_unreachable {
                    if !self.faults_supported {
                        return Evaluation::not_exercised(ev!(
                            "mock tidak mendukung injeksi gangguan: gateway yang tidak dapat dihubungi tidak dapat disimulasikan",
                            "the mock has no fault injection: the unreachable gateway could not be simulated"
                        ));
                    }
                    self.lookups
                        .iter()
                        .find(|l| l.fault == Some(Fault::Unreachable))
                        .map(|l| &self.outputs[l.output])
                } else {
                    None
                };
                checks::non_retention(
                    scan.as_ref(),
                    after.map(|((o, n), out)| (o.as_str(), n.as_str(), out)),
                    unreachable.map(|o| (values.as_slice(), o)),
                )
            }
            CheckSpec::Balikan {
                within_seconds,
                none_without_lookup,
            } => {
                let required: Vec<&str> = self
                    .target
                    .agreement
                    .balikan
                    .iter()
                    .filter(|b| b.required)
                    .map(|b| b.key.as_str())
                    .collect();
                let within = self
                    .overrides
                    .and_then(|o| o.balikan_within_seconds)
                    .unwrap_or(*within_seconds);
                checks::balikan(
                    rows,
                    &self.actions,
                    &required,
                    &self.entered_balikan,
                    within as i64,
                    *none_without_lookup,
                )
            }
            CheckSpec::OutcomeHandling {
                outcomes: _,
                transport_faults,
                max_retries,
            } => {
                if !transport_faults.is_empty() {
                    return self.transport(rows, *max_retries);
                }
                let mut obs = Vec::new();
                for l in &self.lookups {
                    let a = &self.actions[l.action];
                    let row = rows
                        .iter()
                        .find(|r| r.is_lookup() && r.nik_raw == l.nik && a.covers(r, SLACK_MS));
                    let Some(outcome) = row.and_then(|r| r.outcome.parse::<Outcome>().ok()) else {
                        continue;
                    };
                    obs.push(checks::OutcomeObservation {
                        outcome,
                        presented_resident: l.presented,
                        // The whole answer: the message is outside what `extract` keeps.
                        screen: CapturedOutput {
                            label: self.outputs[l.output].label.clone(),
                            text: l.answer.body.clone(),
                        },
                    });
                }
                checks::outcome_handling(&obs)
            }
            CheckSpec::Quota {} => {
                let refused_at = rows
                    .iter()
                    .find(|r| r.is_lookup() && r.outcome == Outcome::QuotaExhausted.code())
                    .map(|r| r.time);
                let screen = refused_at.and_then(|t| {
                    self.lookups
                        .iter()
                        .find(|l| {
                            self.actions[l.action].finished
                                + chrono::Duration::milliseconds(SLACK_MS)
                                >= t
                        })
                        .map(|l| l.answer.body.as_str())
                });
                checks::quota(rows, screen)
            }
            CheckSpec::NoSequentialLookups { detector } => {
                checks::no_sequential_lookups(rows, &detector.unwrap_or_default())
            }
            CheckSpec::SecretHygiene {} => {
                let mut sources: Vec<(Evidence, Vec<u8>)> = earlier_outputs.to_vec();
                sources.extend(self.raw_outputs.iter().cloned());
                sources.extend(storage_bytes(&self.target.file.storage));
                checks::secret_hygiene(self.target.institutional_password(), &sources)
            }
        }
    }

    /// Transport faults: each faulted lookup gets a clean answer from the application (no
    /// hang, no 5xx of its own), retries stay bounded, and a lookup afterwards still works.
    fn transport(&self, rows: &[JournalRow], max_retries: u32) -> Evaluation {
        if !self.faults_supported {
            return Evaluation::not_exercised(ev!(
                "mock tidak mendukung injeksi gangguan: gangguan jaringan tidak diuji",
                "the mock has no fault injection: transport faults were not exercised"
            ));
        }
        let mut problems = Vec::new();
        let mut exercised = 0;
        for l in &self.lookups {
            let a = &self.actions[l.action];
            let sent = rows
                .iter()
                .filter(|r| r.is_lookup() && r.nik_raw == l.nik && a.covers(r, SLACK_MS))
                .count();
            let Some(f) = l.fault else {
                continue;
            };
            exercised += 1;
            let name = format!("{f:?}").to_lowercase();
            match l.answer.status {
                None => problems.push(ev!(lang =>
                    "{name}: aplikasi tidak memberi jawaban ({})",
                    "{name}: the application gave no answer ({})",
                    l.answer.explain().text(lang)
                )),
                Some(s) if s >= 500 => problems.push(ev!(
                    "{name}: aplikasi gagal dengan HTTP {s}, bukan menampilkan pesan yang jelas",
                    "{name}: the application failed with HTTP {s} instead of a clear message"
                )),
                _ => {}
            }
            if sent > 1 + max_retries as usize {
                problems.push(ev!(
                    "{name}: {sent} permintaan untuk satu pencarian (paling banyak {} diizinkan)",
                    "{name}: {sent} requests for one lookup (at most {} allowed)",
                    1 + max_retries
                ));
            }
        }
        if let Some(last) = self.lookups.last() {
            if last.fault.is_none() && !last.presented {
                problems.push(ev!(lang =>
                    "setelah gangguan, aplikasi tidak lagi melayani pencarian ({})",
                    "after the faults the application no longer serves lookups ({})",
                    last.answer.explain().text(lang)
                ));
            }
        }
        if exercised == 0 {
            return Evaluation::not_exercised(ev!(
                "tidak ada gangguan jaringan yang diuji",
                "no transport fault was exercised"
            ));
        }
        if problems.is_empty() {
            Evaluation {
                outcome: CheckOutcome::Pass,
                evidence: vec![ev!(
                    "{exercised} gangguan jaringan ditangani dengan baik, percobaan ulang terbatas; aplikasi tetap melayani",
                    "{exercised} transport fault(s) handled cleanly with bounded retries; the application kept serving"
                )],
            }
        } else {
            Evaluation {
                outcome: CheckOutcome::Fail,
                evidence: problems,
            }
        }
    }
}

/// Every file of the storage locations, for the password search (WAL files included).
fn storage_bytes(locs: &[StorageLocation]) -> Vec<(Evidence, Vec<u8>)> {
    fn walk(p: &std::path::Path, out: &mut Vec<(Evidence, Vec<u8>)>) {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), out);
                }
            }
        } else if let Ok(b) = std::fs::read(p) {
            out.push((Evidence::verbatim(p.display().to_string()), b));
        }
    }
    let mut out = Vec::new();
    for l in locs {
        let (StorageLocation::File(p)
        | StorageLocation::Folder(p)
        | StorageLocation::Log(p)
        | StorageLocation::Sqlite(p)) = l;
        walk(p, &mut out);
        if matches!(l, StorageLocation::Sqlite(_)) {
            for suffix in ["-wal", "-journal"] {
                let mut s = p.clone().into_os_string();
                s.push(suffix);
                walk(std::path::Path::new(&s), &mut out);
            }
        }
    }
    out
}

pub use crate::mock::convert_row;

/// A fresh random gateway password for forcing 03 (never the agreement's, never logged).
fn rotated_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "rotated-{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
    )
}

/// Masked NIK for progress lines and errors.
pub fn masked(nik: &str) -> String {
    mask_nik(nik)
}

/// The verdict of played checks.
pub fn verdict(p: &Played) -> Verdict {
    Verdict::of(&p.checks)
}
