//! A PoC session: start (or reach) the mock and the application, play every test of the pack
//! through the target's driver, read what reached the mock, judge every check, and hand the
//! record to [`crate::result`] for signing.
//!
//! Each test starts from a reset mock with its own canary residents (unique NIKs and a
//! session marker in every text element), so tests do not see each other's traffic. Tests
//! that use up the quota run last: a compliant application refuses further calls for the rest
//! of its day, which would otherwise starve the tests after them.

mod browser;
mod driver;
mod events;
pub(crate) mod http;
pub(crate) mod manual;
mod steps;

pub use events::{Reporter, SessionEvent, Silent};

use crate::canary;
use crate::process as procs;

use driver::AppDriver;
use steps::TestRun;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use dukcapil_mock_api::{DatasetInfo, ResidentCreate};

use crate::checks::{self, CheckResult, Evaluation};
use crate::evidence::Evidence;
use crate::journal::JournalRow;
use crate::mock::Mock;
use crate::scenario::{CheckSpec, ResidentState, ScenarioPack, Step, TestCase};
use crate::target::{Driver, Target};
use canary::Canary;

pub(crate) use crate::error::SessionError;

/// How to play a session.
#[derive(Debug, Clone)]
pub struct Options {
    /// A running mock to use instead of starting one.
    pub mock_url: Option<String>,
    /// The admin token of that mock.
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
            pause_scale: 0.01,
            progress: true,
            lang: crate::Lang::Id,
        }
    }
}

/// What the session produced (before signing).
#[derive(Debug)]
pub struct Played {
    /// Every judged check.
    pub checks: Vec<CheckResult>,
    /// Every journal row the session read.
    pub journal: Vec<JournalRow>,
    /// When the session started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// What the mock said it serves (seed, size, SHA-256 of the population file).
    pub mock_dataset: DatasetInfo,
    /// What the application the runner started wrote: `(stream, text)` for stdout and stderr,
    /// unredacted (the result redacts it).
    pub app_output: Vec<(String, String)>,
    /// The widest window around an action of any test (ms).
    pub window_ms: i64,
}

/// Window around an action within which a mock row still belongs to it, on top of what the
/// mock's clock reading leaves uncertain (half a round trip to the mock, measured at each test's
/// start). A synchronous application's rows fall inside its actions: this margin is for timer
/// and scheduling noise, and a row beyond it is still judged (as a request no action asked for).
const BASE_SLACK_MS: i64 = 100;

/// Plays the pack against the target, with progress on stderr when `opts.progress`. Checks that
/// fail are values in the result; `Err` means the session could not be played (unreachable
/// application or mock, bad setup).
pub fn play(pack: &ScenarioPack, target: &Target, opts: &Options) -> Result<Played, SessionError> {
    // Prompts of the manual driver would tear a progress bar: plain lines then.
    let bar_allowed = matches!(target.file.driver, Driver::Http(_) | Driver::Browser(_));
    if opts.progress {
        play_reporting(
            pack,
            target,
            opts,
            &mut events::TerminalProgress::new(bar_allowed, opts.lang),
        )
    } else {
        play_reporting(pack, target, opts, &mut events::Silent)
    }
}

/// [`play`], telling `reporter` what happens.
pub fn play_reporting(
    pack: &ScenarioPack,
    target: &Target,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<Played, SessionError> {
    let started_at = Utc::now();
    // A manual session needs a person at a terminal: refuse before starting anything.
    let terminal = match &target.file.driver {
        Driver::Manual(_) => Some(manual::Terminal::open().ok_or_else(|| {
            SessionError::Usage(format!(
                "{}: the manual driver needs an engineer at an interactive terminal, but stdin is not a terminal (CI?); use an HTTP driver for unattended runs",
                target.path.display()
            ))
        })?),
        Driver::Http(_) | Driver::Browser(_) => None,
    };
    // The operator script of `play_script` steps (Web Portal packs), read before anything starts.
    let script = crate::portal_script::OperatorScript::resolve(pack, target)
        .map_err(|e| SessionError::Usage(e.to_string()))?;
    let plays = pack
        .tests()
        .any(|(_, t)| t.steps.iter().any(|s| matches!(s, Step::PlayScript {})));
    if plays && script.is_none() {
        return Err(SessionError::Usage(format!(
            "{}: the pack plays an operator script, but neither the target (`operator_script`) nor the pack (`[pack] operator_script`) names one",
            target.path.display()
        )));
    }
    let mock = match &opts.mock_url {
        // A mock someone else runs may be a sandbox shared by several institutions: the
        // session resets, reads and changes only its own.
        Some(url) => Mock::external(url, opts.admin_token.as_deref().unwrap_or(""))?
            .for_institution(&target.agreement.customer_id),
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
    let probe = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SessionError::Start(format!("HTTP client: {e}")))?;
    let answers = |url: &str| probe.get(url).send();
    // The address the runner will talk to when the application announces none: something
    // answering there before it is started is another process, and would be judged instead.
    let fixed_base = match &target.file.driver {
        Driver::Http(spec) => Some(spec.base_url.get_ref().clone()),
        Driver::Manual(spec) => spec.url.as_ref().map(|u| u.get_ref().clone()),
        Driver::Browser(_) => None,
    };
    if let (Some(spec), Some(base)) = (&target.file.app, &fixed_base) {
        if spec.ready_prefix.is_none() && answers(base).is_ok() {
            return Err(SessionError::Start(format!(
                "{base} already answers before the application is started: another process holds that address (an earlier instance?); stop it, or give the application another port in the target file"
            )));
        }
    }
    let mut app = match &target.file.app {
        Some(spec) => Some(procs::App::start(spec, &target_dir, &mock.url)?),
        None => None,
    };
    let announced = app.as_ref().and_then(|a| a.url.clone());
    // Started without an announced URL: poll until it answers.
    let poll = app.as_ref().is_some_and(|a| a.url.is_none());
    if let Some(ready) = app.as_ref().and_then(|a| a.ready_url.clone()) {
        if poll {
            wait_reachable(
                &ready,
                || match answers(&ready) {
                    Ok(r) if r.status().as_u16() < 500 => Ok(()),
                    Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                    Err(e) => Err(e.to_string()),
                },
                true,
            )?;
        }
    }
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
                let base = d.base();
                wait_reachable(
                    &base,
                    || answers(&base).map(|_| ()).map_err(|e| e.to_string()),
                    poll,
                )?;
            }
            AppDriver::Manual(Box::new(d))
        }
        (Driver::Browser(spec), _) => AppDriver::Browser(Box::new(browser::Driver::new(
            spec,
            &mock.url,
            &target.agreement.customer_id,
        )?)),
        (Driver::Manual(_), None) => unreachable!("the terminal is opened for a manual driver"),
    };
    // The one that answers must be the one started.
    if let Some(status) = app.as_mut().and_then(procs::App::exited) {
        return Err(SessionError::Start(format!(
            "the application exited ({status}) but {} answers: another process is answering there",
            driver.base()
        )));
    }

    let agreement = &target.agreement;
    let overrides = pack.override_for(&agreement.id);
    let mut tests: Vec<(&crate::scenario::Group, &TestCase)> = pack.tests().collect();
    // Stable: quota tests go last (see the module documentation).
    tests.sort_by_key(|(_, t)| t.steps.iter().any(|s| matches!(s, Step::SetQuota { .. })));

    let marker = canary::session_marker();
    let mut factory = canary::Factory::new(&marker);
    // The whole session's traffic is read, not only each test's: `last_id` is the last journal
    // row read. The pre-flight starts from a reset mock; a manual session from what is there.
    let mut last_id = match &mut driver {
        AppDriver::Http(d) => {
            preflight(&mock, d, target, &mut factory)?;
            0
        }
        AppDriver::Browser(d) => {
            if let Some(script) = &script {
                portal_preflight(&mock, d, target, script)?;
            }
            mock.watermark()?
        }
        AppDriver::Manual(_) => mock.watermark()?,
    };
    let mut traffic = checks::session_wide::SessionTraffic {
        // Only the pre-flight has made canaries so far.
        preflight: factory.issued().clone(),
        ..Default::default()
    };
    let mut emit = |driver: &mut AppDriver<'_>, event: SessionEvent<'_>| {
        driver.report(&event);
        reporter.report(&event);
    };
    emit(&mut driver, SessionEvent::Started { tests: tests.len() });
    let mut results = Vec::new();
    let mut journal = Vec::new();
    let mut window_ms = BASE_SLACK_MS;
    let mut all_outputs: Vec<(Evidence, Vec<u8>)> = Vec::new();
    for (index, (_, t)) in tests.iter().enumerate() {
        let tid = t.id.get_ref().as_str();
        let skip = pack.skip_reason(&agreement.id, tid);
        emit(
            &mut driver,
            SessionEvent::TestStarted {
                index,
                total: tests.len(),
                id: tid,
                title_id: &t.title_id,
                title_en: &t.title_en,
                skipped: skip.is_some(),
            },
        );
        let mine: Vec<CheckResult> = if let Some(reason) = skip {
            t.checks
                .iter()
                .map(|c| result_of(t, c, Evaluation::skipped(reason.clone())))
                .collect()
        } else {
            // What came since the last test's rows (or the pre-flight's): outside every test.
            let (between, _) = mock.journal_since(last_id)?;
            journal.extend(between.iter().cloned());
            traffic.outside.extend(between);
            let mut run = TestRun::new(
                t,
                &mock,
                &mut driver,
                target,
                opts,
                overrides,
                script.as_ref(),
            );
            run.play(&mut factory)?;
            // Everything since the test's reset.
            let (rows, last) = mock.journal_since(0)?;
            last_id = last;
            let niks: BTreeSet<String> = run
                .obs
                .residents
                .values()
                .map(|c| c.nik.trim().to_string())
                .collect();
            traffic.asked.extend(niks.iter().cloned());
            traffic.asked_in.insert(tid.to_string(), niks);
            let confirmed = run.driver.take_observations();
            let evals: Vec<CheckResult> = t
                .checks
                .iter()
                .map(|c| {
                    let mut e = checks::evaluate(c, &run.obs, &rows, &all_outputs);
                    // What the engineer confirmed is part of every check of the test.
                    e.evidence.extend(confirmed.iter().cloned());
                    result_of(t, c, e)
                })
                .collect();
            window_ms = window_ms.max(run.obs.slack_ms);
            all_outputs.append(&mut run.obs.raw_outputs);
            traffic.tests.push((t, rows.clone()));
            journal.extend(rows);
            evals
        };
        emit(
            &mut driver,
            SessionEvent::TestFinished {
                id: tid,
                results: &mine,
            },
        );
        results.extend(mine);
    }
    let (after, _) = mock.journal_since(last_id)?;
    journal.extend(after.iter().cloned());
    traffic.outside.extend(after);
    traffic.asked.extend(factory.issued().iter().cloned());
    checks::session_wide::judge(&mut results, &traffic, target);
    emit(&mut driver, SessionEvent::Finished);
    // Secret hygiene judged once more over the whole session would duplicate evidence; the
    // per-test check already searched everything captured up to it plus storage.
    let app_output = app
        .as_ref()
        .map(|a| {
            a.output()
                .map(|(name, text)| (name.to_string(), text))
                .to_vec()
        })
        .unwrap_or_default();
    drop(app);
    Ok(Played {
        app_output,
        checks: results,
        journal,
        started_at,
        finished_at: Utc::now(),
        mock_dataset: mock.dataset.clone(),
        window_ms,
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
    // test's reset, not inside it: the journal must stay quiet for two windows (at most a
    // second). What comes later is judged all the same, as lookups no operator asked for.
    let quiet = Duration::from_millis(2 * BASE_SLACK_MS as u64);
    let give_up = Instant::now() + Duration::from_secs(1);
    let mut newest = mock.watermark()?;
    let mut since = Instant::now();
    while Instant::now() < give_up && since.elapsed() < quiet {
        std::thread::sleep(Duration::from_millis(25));
        let now = mock.watermark()?;
        if now != newest {
            newest = now;
            since = Instant::now();
        }
    }
    Ok(())
}

/// Before anything is judged at the Web Portal: every account of the operator script logs in
/// (in a browser of its own) and out again. An account the portal refuses would leave every
/// check "not exercised": the session stops instead, saying which account and why.
fn portal_preflight(
    mock: &Mock,
    driver: &mut browser::Driver,
    target: &Target,
    script: &crate::portal_script::OperatorScript,
) -> Result<(), SessionError> {
    mock.reset()?;
    let accounts: std::collections::BTreeSet<&str> = script
        .file
        .people
        .iter()
        .map(|p| p.account.get_ref().as_str())
        .collect();
    for account in accounts {
        let password = target
            .file
            .operators
            .iter()
            .find(|o| o.username.get_ref() == account)
            .map(|o| o.password.as_str())
            .unwrap_or_default();
        let who = format!("pre-flight {account}");
        let login = driver.login(&who, account, password)?;
        if !login.ok {
            let shown: String = login.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = shown.chars().take(160).collect();
            return Err(SessionError::Preflight(format!(
                "account `{account}` could not log in to the portal at {}{} (it showed: {shown}); is it among the mock's [[portal_operators]] of {} with the target's password (fixtures/settings/portal.example.toml, or POST /__admin/portal/operators)?",
                driver.portal,
                dukcapil_mock_api::PORTAL_LOGIN,
                target.agreement.customer_id
            )));
        }
        driver.logout(&who)?;
    }
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

pub use crate::mock::convert_row;
