//! The step interpreter: plays one test's steps (logins, lookups, service events, quota and
//! clock changes, faults, forced outcomes, resident changes, waits, storage scans) through the
//! application's driver and the mock, and records what happened in an [`Observation`] for the
//! checks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dukcapil_domain::Field;
use dukcapil_mock_api::{
    EndpointFilter, FaultAction, FaultRule, InstitutionPatch, QuotaChange, ResidentCreate,
};

use super::driver::{AppDriver, PortalStep};
use super::{manual, Options, SessionError, BASE_SLACK_MS};
use crate::canary;
use crate::evidence::ev;
use crate::journal::{Action, ActionKind, JournalRow};
use crate::mock::Mock;
use crate::observed::{CapturedOutput, LookupRecord, Observation, PortalLogin};
use crate::portal_script::{OperatorScript, ScriptAction};
use crate::scenario::{AgreementOverride, CheckSpec, Fault, Step, TestCase};
use crate::storage;
use crate::target::Target;

/// One test being played: the drivers it acts through and what it has produced so far.
pub(super) struct TestRun<'a, 'd> {
    pub(super) obs: Observation<'a>,
    mock: &'a Mock,
    pub(super) driver: &'a mut AppDriver<'d>,
    opts: &'a Options,
    /// Mock clock minus real clock, in ms (actions are recorded in mock time).
    offset_ms: i64,
    pending_fault: Option<Fault>,
    forced: Option<(InstitutionPatch, u32)>,
    mutated: Option<(String, String, String)>,
    /// The operator script `play_script` steps play.
    script: Option<&'a OperatorScript>,
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
    pub(super) fn new(
        test: &'a TestCase,
        mock: &'a Mock,
        driver: &'a mut AppDriver<'d>,
        target: &'a Target,
        opts: &'a Options,
        overrides: Option<&'a AgreementOverride>,
        script: Option<&'a OperatorScript>,
    ) -> Self {
        TestRun {
            script,
            obs: Observation::new(test, target, overrides, BASE_SLACK_MS),
            mock,
            driver,
            opts,
            offset_ms: 0,
            pending_fault: None,
            forced: None,
            mutated: None,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms)
    }

    /// A service event's values plus one for every balikan key the pack's override for this
    /// agreement names and the step leaves out, valid for the agreement's field format.
    fn with_override_values(&self, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = values.clone();
        for key in self
            .obs
            .overrides
            .map(|o| &o.balikan_keys[..])
            .unwrap_or(&[])
        {
            let key = key.get_ref();
            if all.contains_key(key) {
                continue;
            }
            if let Some(field) = self.obs.target.agreement.balikan_field(key) {
                all.insert(key.clone(), balikan_value_for(field, self.tid()));
            }
        }
        all
    }

    fn tid(&self) -> &str {
        self.obs.test.id.get_ref()
    }

    /// The pack's pause, scaled; never shorter than two windows, so that the actions either
    /// side of it (the same resident looked up again, say) never claim each other's rows.
    fn pause(&self, seconds: u64) {
        let ms = (seconds as f64 * 1000.0 * self.opts.pause_scale).max(0.0) as u64;
        let floor = u64::try_from(2 * self.obs.slack_ms).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(ms.max(floor)));
    }

    /// Reads the mock's clock against ours: actions are stamped in mock time, and the window
    /// around them widens by what the reading leaves uncertain.
    fn adopt_clock(&mut self, reading: crate::mock::ClockReading) {
        self.offset_ms = reading.offset_ms;
        self.obs.slack_ms = self
            .obs
            .slack_ms
            .max(BASE_SLACK_MS + reading.uncertainty_ms);
    }

    pub(super) fn play(&mut self, factory: &mut canary::Factory) -> Result<(), SessionError> {
        self.mock.reset()?;
        self.driver.forget_sessions();
        // Reset drops the rules added through the admin API; this also drops any the mock's
        // settings file configured, so a test sees only the faults its steps inject.
        self.mock.clear_faults()?;
        let reading = self.mock.clock_reading()?;
        self.adopt_clock(reading);
        let mut create = Vec::new();
        for r in &self.obs.test.inputs.residents {
            let c = factory.make(r);
            if let Some(body) = c.create_body() {
                create.push(body);
            }
            self.obs.residents.insert(c.reference.clone(), c);
        }
        // The residents the operator script serves, when the test plays it.
        let plays = self
            .obs
            .test
            .steps
            .iter()
            .any(|s| matches!(s, Step::PlayScript {}));
        if let (true, Some(script)) = (plays, self.script) {
            for r in &script.file.script.residents {
                if self.obs.residents.contains_key(r.get_ref()) {
                    continue;
                }
                let c = factory.make(&crate::scenario::ResidentInput {
                    reference: r.clone(),
                    status: crate::scenario::ResidentState::Active,
                    edge: Vec::new(),
                });
                if let Some(body) = c.create_body() {
                    create.push(body);
                }
                self.obs.residents.insert(c.reference.clone(), c);
            }
        }
        if !create.is_empty() {
            self.mock.create_residents(&create)?;
        }
        if self.obs.test.checks.iter().any(|c| {
            matches!(
                c,
                CheckSpec::FieldLimits {
                    extra_elements_from_mock: true,
                    ..
                }
            )
        }) {
            let cid = &self.obs.target.agreement.customer_id;
            let patch = InstitutionPatch {
                extra_elements: Some(true),
                ..InstitutionPatch::default()
            };
            let answer = self.mock.patch_institution(cid, &patch)?;
            if let Err(why) = answer {
                self.obs.notes.push(ev!(
                    "mock tidak dapat diatur untuk mengembalikan elemen data tambahan ({why}); dinilai atas elemen data PKS saja",
                    "the mock could not be set to return extra elements ({why}); judged on granted elements only"
                ));
            }
        }
        let steps = self.obs.test.steps.clone();
        for step in &steps {
            self.step(step)?;
        }
        self.obs.watched_until = Some(self.now());
        Ok(())
    }

    fn operator(&self, slot: &str) -> Result<(String, String), SessionError> {
        op_slot(self.obs.target, self.obs.test, slot)
            .map(|o| (o.username.get_ref().clone(), o.password.clone()))
            .ok_or_else(|| {
                SessionError::Usage(format!(
                    "test {} needs operator slot `{slot}` but the target file has only {} operator(s)",
                    self.tid(),
                    self.obs.target.file.operators.len()
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
                    self.obs.notes.push(ev!(lang =>
                        "login `{u}` tidak menghasilkan sesi ({})",
                        "login of `{u}` gave no session ({})",
                        why.text(lang)
                    ));
                }
                self.obs.raw_outputs.push((
                    ev!("{} login oleh {u}", "{} login {u}", self.tid()),
                    a.body.into_bytes(),
                ));
                self.obs.actions.push(Action {
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
                    .obs
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
                    elements,
                } = self.driver.lookup(&u, &p, &ctx)?;
                let finished = self.now();
                let label = ev!(
                    "{} pencarian #{} oleh {u}",
                    "{} lookup #{} by {u}",
                    self.tid(),
                    self.obs.lookups.len() + 1
                );
                self.obs.outputs.push(CapturedOutput {
                    label: label.clone(),
                    text: output,
                    elements,
                });
                self.obs
                    .raw_outputs
                    .push((label, a.body.clone().into_bytes()));
                self.obs.actions.push(Action {
                    test_id: self.tid().to_string(),
                    operator: u,
                    kind: ActionKind::Lookup { nik: nik.clone() },
                    started,
                    finished,
                    fault_injected: fault.is_some(),
                });
                self.obs.lookups.push(LookupRecord {
                    nik,
                    action: self.obs.actions.len() - 1,
                    answer: a,
                    presented,
                    output: self.obs.outputs.len() - 1,
                    fault,
                    after_mutation: self
                        .mutated
                        .as_ref()
                        .filter(|m| m.0 == *nik_ref.get_ref())
                        .map(|m| (m.1.clone(), m.2.clone())),
                });
                if let Some((revert, left)) = self.forced.take() {
                    if left <= 1 {
                        let cid = &self.obs.target.agreement.customer_id;
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
                    .obs
                    .residents
                    .get(nik_ref.get_ref())
                    .map(|c| c.nik.clone())
                    .unwrap_or_default();
                // The agreement's own service event and balikan values, where the pack names them
                // (a sub-district registers a business, not a patient).
                let event: &String = self
                    .obs
                    .overrides
                    .and_then(|o| o.balikan_event.as_ref())
                    .unwrap_or(event.get_ref());
                let values = self.with_override_values(values);
                let values = &values;
                let entered: Vec<String> = self
                    .driver
                    .entered_keys(event, values)
                    .into_iter()
                    .filter(|k| self.obs.target.agreement.balikan_field(k).is_some())
                    .collect();
                let started = self.now();
                let Some(a) = self.driver.event(event, &u, &p, &nik, values)? else {
                    self.obs.notes.push(ev!(
                        "driver target tidak mengenal kejadian layanan `{}`",
                        "the target's driver has no event `{}`",
                        event
                    ));
                    return Ok(());
                };
                self.obs.raw_outputs.push((
                    ev!("{} {} oleh {u}", "{} {} by {u}", self.tid(), event),
                    a.body.into_bytes(),
                ));
                self.obs
                    .entered_balikan
                    .insert(self.obs.actions.len(), entered);
                self.obs.actions.push(Action {
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
                    .obs
                    .overrides
                    .and_then(|o| o.quota_per_day)
                    .or(self.obs.target.agreement.quota_per_day)
                    .unwrap_or(1000)
                    .max(*remaining);
                let cid = &self.obs.target.agreement.customer_id;
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
                let reading = self.mock.set_clock(at.with_timezone(&Utc))?;
                self.adopt_clock(reading);
            }
            Step::InjectFault { fault, count } => {
                let status = |code| FaultAction::Status { code };
                let action = match fault {
                    Fault::Timeout => FaultAction::Delay {
                        ms: Some(self.timeout_delay_ms()),
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
                    self.obs.faults_supported = false;
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
                                self.obs.target.agreement.credentials.password.clone(),
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
                        self.obs.notes.push(ev!(
                            "kode respons {other} tidak dapat dipaksakan pada mock ini; pencarian berikutnya dinilai apa adanya",
                            "outcome {other} cannot be forced on this mock; the next lookup is judged as it comes"
                        ));
                        return Ok(());
                    }
                };
                let cid = &self.obs.target.agreement.customer_id;
                if let Err(why) = self.mock.patch_institution(cid, &patch)? {
                    return Err(SessionError::Mock(format!("{cid}: {why}")));
                }
                self.forced = Some((revert, *count));
            }
            Step::MutateResident { nik_ref, field } => {
                let Some(c) = self.obs.residents.get(nik_ref.get_ref()) else {
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
                    .obs
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
                self.obs.scan = Some(storage::scan(
                    &self.obs.target.file.storage,
                    &self.obs.markers(),
                ));
            }
            Step::Pause { seconds } => self.pause(*seconds),
            Step::PlayScript {} => self.play_script()?,
            Step::ObserveCopy {} => {
                if let Some(seen) = self.driver.observe_copy()? {
                    self.obs.portal.copied = Some(seen);
                }
            }
        }
        Ok(())
    }

    /// Plays the operator script: each person's logins, searches and logouts at the portal
    /// through the driver, the agency's balikan; records actions (a search is a lookup and the
    /// service event that owes balikan), logins per person and what the portal showed.
    fn play_script(&mut self) -> Result<(), SessionError> {
        let Some(script) = self.script else {
            self.obs.notes.push(ev!(
                "tidak ada skrip operator: berkas target (operator_script) maupun paket tidak menyebutkannya",
                "no operator script: neither the target file (operator_script) nor the pack names one"
            ));
            return Ok(());
        };
        self.obs.portal.script = Some(script.file.script.id.clone());
        self.obs.portal.people = script
            .file
            .people
            .iter()
            .map(|p| (p.id.get_ref().clone(), p.account.get_ref().clone()))
            .collect();
        let portal = match self.driver {
            AppDriver::Browser(_) => self.driver.base(),
            _ => self.mock.url.clone(),
        };
        let mut searches = 0;
        for step in &script.file.steps {
            let action = *step.action.get_ref();
            let person = step
                .person
                .as_ref()
                .map(|p| p.get_ref().clone())
                .unwrap_or_default();
            let account = script.account_of(&person).unwrap_or_default().to_string();
            let password = self
                .obs
                .target
                .file
                .operators
                .iter()
                .find(|o| *o.username.get_ref() == account)
                .map(|o| o.password.clone())
                .unwrap_or_default();
            let nik = match (&step.nik_ref, &step.nik) {
                (Some(r), _) => self
                    .obs
                    .residents
                    .get(r.get_ref())
                    .map(|c| c.nik.clone())
                    .unwrap_or_default(),
                (None, Some(n)) => n.get_ref().trim().to_string(),
                (None, None) => String::new(),
            };
            let service = step.service.clone().unwrap_or_else(|| "layanan".into());
            let values = self.balikan_values(&step.values);
            let keys: Vec<String> = values.keys().cloned().collect();
            let started = self.now();
            let answer = if action == ScriptAction::Balikan && self.driver.runner_sends_balikan() {
                self.send_balikan(&nik, &values)?;
                None
            } else {
                Some(self.driver.portal_step(&PortalStep {
                    portal: &portal,
                    person: &person,
                    account: &account,
                    password: &password,
                    action,
                    nik: &nik,
                    service: &service,
                    keys: &keys,
                })?)
            };
            let finished = self.now();
            let answer = answer.unwrap_or_default();
            let tid = self.tid().to_string();
            match action {
                ScriptAction::Login => {
                    if !answer.ok {
                        let shown: String = answer.text.chars().take(200).collect();
                        self.obs.notes.push(ev!(
                            "{person} tidak dapat masuk ke portal dengan akun `{account}` ({})",
                            "{person} could not log in to the portal as `{account}` ({})",
                            shown.trim()
                        ));
                    }
                    self.obs.actions.push(Action {
                        test_id: tid,
                        operator: account.clone(),
                        kind: ActionKind::Login,
                        started,
                        finished,
                        fault_injected: false,
                    });
                    self.obs.portal.logins.push(PortalLogin {
                        person,
                        account,
                        started,
                        finished,
                        succeeded: answer.ok,
                        ended: None,
                    });
                }
                ScriptAction::Search => {
                    searches += 1;
                    let code = answer.outcome.as_deref().unwrap_or("-");
                    let label = ev!(
                        "{tid} pencarian portal #{searches} oleh {person} (`{account}`, kode {code})",
                        "{tid} portal search #{searches} by {person} (`{account}`, outcome {code})"
                    );
                    self.obs.outputs.push(CapturedOutput {
                        label: label.clone(),
                        text: answer.text.clone(),
                        elements: None,
                    });
                    self.obs.raw_outputs.push((label, answer.text.into_bytes()));
                    for kind in [
                        ActionKind::Lookup { nik: nik.clone() },
                        ActionKind::ServiceEvent {
                            event: service.clone(),
                            nik: nik.clone(),
                        },
                    ] {
                        self.obs.actions.push(Action {
                            test_id: tid.clone(),
                            operator: account.clone(),
                            kind,
                            started,
                            finished,
                            fault_injected: false,
                        });
                    }
                }
                ScriptAction::Logout => {
                    if let Some(l) = self
                        .obs
                        .portal
                        .logins
                        .iter_mut()
                        .rev()
                        .find(|l| l.person == person && l.ended.is_none())
                    {
                        l.ended = Some(finished);
                    }
                }
                ScriptAction::Balikan => {}
            }
            if step.wait_ms > 0 {
                std::thread::sleep(Duration::from_millis(step.wait_ms));
            }
        }
        Ok(())
    }

    /// A script's balikan values: its own, the pack's keys for this agreement, and every key
    /// the agreement requires, each valid for its field.
    fn balikan_values(&self, given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = self.with_override_values(given);
        for field in self
            .obs
            .target
            .agreement
            .balikan
            .iter()
            .filter(|b| b.required)
        {
            all.entry(field.key.clone())
                .or_insert_with(|| balikan_value_for(field, self.tid()));
        }
        all
    }

    /// The agency's data balikan for `nik` by the balikan web service (the browser driver
    /// stands in for the agency's system).
    fn send_balikan(
        &mut self,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), SessionError> {
        let agreement = &self.obs.target.agreement;
        let token = self
            .obs
            .target
            .file
            .mock_credentials
            .balikan_token
            .clone()
            .unwrap_or_else(|| agreement.credentials.balikan_token.clone());
        let body = serde_json::json!([{
            "id_lembaga": agreement.customer_id,
            "nama_lembaga": agreement.institution,
            "data": [{ "NIK": nik, "param": [values] }],
        }]);
        let url = format!("{}/data_balikan/public/api/store", self.mock.url);
        let answer = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .and_then(|c| c.post(&url).bearer_auth(token).json(&body).send())
            .map_err(|e| SessionError::Unreachable(format!("data balikan at {url}: {e}")))?;
        let status = answer.status().as_u16();
        let text = answer.text().unwrap_or_default();
        self.obs.raw_outputs.push((
            ev!(
                "{} data balikan untuk {}",
                "{} data balikan for {}",
                self.tid(),
                dukcapil_domain::mask_nik(nik)
            ),
            text.clone().into_bytes(),
        ));
        if status != 200 {
            self.obs.notes.push(ev!(
                "data balikan untuk {} dijawab HTTP {status}: {}",
                "data balikan for {} answered HTTP {status}: {}",
                dukcapil_domain::mask_nik(nik),
                text.chars().take(200).collect::<String>()
            ));
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
        let Some(c) = self.obs.residents.get(nik_ref) else {
            return ctx;
        };
        let granted = self.obs.target.agreement.granted;
        let limits = self.obs.test.checks.iter().find_map(|c| match c {
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

    /// The timeout fault's delay: past the application's declared time-out by half of it (at
    /// least 500 ms, for its timer's slack), else half the driver's time-out.
    fn timeout_delay_ms(&self) -> u64 {
        let file = &self.obs.target.file;
        match file.gateway_timeout_ms {
            Some(t) => t + (t / 2).max(500),
            None => (file.driver.timeout_ms() / 2).clamp(2_000, 8_000),
        }
    }

    /// Every journal row since the test's reset, as the evaluators read them.
    pub(super) fn read_journal(&self) -> Result<Vec<JournalRow>, SessionError> {
        self.mock.journal_after(0)
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

/// A fresh random gateway password for forcing 03 (never the agreement's, never logged).
fn rotated_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "rotated-{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
    )
}
