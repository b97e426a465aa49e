//! One face for the ways of driving the application: scripted HTTP requests
//! ([`super::http`]), an engineer at its screen ([`super::manual`]), or, for Web Portal
//! agencies, headless Chromium at the portal playing the operator script ([`super::browser`]).

use std::collections::BTreeMap;

use super::browser::PortalAnswer;
use super::{browser, http, manual, SessionError};
use crate::portal_script::ScriptAction;

/// How the application is driven: scripted HTTP requests, an engineer at its screen, or a
/// browser at the Web Portal.
pub(super) enum AppDriver<'d> {
    Http(http::Driver<'d>),
    Manual(Box<manual::Driver<'d>>),
    Browser(Box<browser::Driver>),
}

/// One step of an operator script, as a driver plays it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortalStep<'s> {
    /// The portal's base URL.
    pub portal: &'s str,
    pub person: &'s str,
    pub account: &'s str,
    pub password: &'s str,
    pub action: ScriptAction,
    pub nik: &'s str,
    pub service: &'s str,
    /// Balikan: the keys the agency sends.
    pub keys: &'s [String],
}

/// The browser driver plays operator scripts only.
fn browser_only(what: &str) -> SessionError {
    SessionError::Usage(format!(
        "the browser driver plays Web Portal operator scripts (`play_script` steps); a pack step `{what}` needs an HTTP or manual driver"
    ))
}

impl AppDriver<'_> {
    pub(super) fn base(&self) -> String {
        match self {
            AppDriver::Http(d) => d.base.clone(),
            AppDriver::Manual(d) => d.base(),
            AppDriver::Browser(d) => d.portal.clone(),
        }
    }

    pub(super) fn forget_sessions(&mut self) {
        match self {
            AppDriver::Http(d) => d.forget_sessions(),
            AppDriver::Manual(d) => d.forget_sessions(),
            // The mock's reset ended every portal session; the browsers learn it at the next page.
            AppDriver::Browser(_) => {}
        }
    }

    pub(super) fn has_session(&self, username: &str) -> bool {
        match self {
            AppDriver::Http(d) => d.has_session(username),
            AppDriver::Manual(d) => d.has_session(username),
            AppDriver::Browser(_) => false,
        }
    }

    pub(super) fn login(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<http::Answer, SessionError> {
        match self {
            AppDriver::Http(d) => Ok(d.login(username, password)),
            AppDriver::Manual(d) => d.login(username, password),
            AppDriver::Browser(_) => Err(browser_only("login")),
        }
    }

    pub(super) fn lookup(
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
                    elements: d.output_elements(&answer.body),
                    answer,
                })
            }
            AppDriver::Manual(d) => d.lookup(username, password, ctx),
            AppDriver::Browser(_) => Err(browser_only("lookup")),
        }
    }

    pub(super) fn event(
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
            AppDriver::Browser(_) => Err(browser_only("service_event")),
        }
    }

    /// The keys of `values` the operator enters at event `name`: those the target's request
    /// sends (scripted), every one shown in the instruction (an engineer at the screen).
    pub(super) fn entered_keys(
        &self,
        name: &str,
        values: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let sent = match self {
            AppDriver::Http(d) => d.event_value_keys(name),
            AppDriver::Manual(_) => values.keys().cloned().collect(),
            AppDriver::Browser(_) => Default::default(),
        };
        values
            .iter()
            .filter(|(k, v)| sent.contains(*k) && !v.trim().is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The engineer's recorded answers since the last call (none for a scripted driver).
    pub(super) fn take_observations(&mut self) -> Vec<crate::evidence::Evidence> {
        match self {
            AppDriver::Http(_) | AppDriver::Browser(_) => Vec::new(),
            AppDriver::Manual(d) => d.take_log(),
        }
    }

    /// Whether the runner itself sends the agency's data balikan of a script (the browser
    /// driver stands in for the agency's system; at a screen the engineer's system sends it).
    pub(super) fn runner_sends_balikan(&self) -> bool {
        matches!(self, AppDriver::Browser(_))
    }

    /// Plays one step of an operator script.
    pub(super) fn portal_step(
        &mut self,
        step: &PortalStep<'_>,
    ) -> Result<PortalAnswer, SessionError> {
        match self {
            AppDriver::Browser(d) => match step.action {
                ScriptAction::Login => d.login(step.person, step.account, step.password),
                ScriptAction::Search => d.search(step.person, step.nik),
                ScriptAction::Logout => d.logout(step.person),
                ScriptAction::Balikan => Ok(PortalAnswer::default()),
            },
            AppDriver::Manual(d) => d.portal_step(step),
            AppDriver::Http(_) => Err(SessionError::Usage(
                "the HTTP driver drives an application; a Web Portal operator script (`play_script`) needs the browser driver ([driver.browser]) or the manual driver".into(),
            )),
        }
    }

    /// The assessor's observation whether results were copied into the agency's systems
    /// (`None`: no assessor at this driver).
    pub(super) fn observe_copy(&mut self) -> Result<Option<(bool, String)>, SessionError> {
        match self {
            AppDriver::Manual(d) => d.observe_copy().map(Some),
            AppDriver::Http(_) | AppDriver::Browser(_) => Ok(None),
        }
    }
}

impl AppDriver<'_> {
    /// The manual driver's share of the session's events: the engineer is told what comes.
    pub(super) fn report(&mut self, event: &super::SessionEvent<'_>) {
        let AppDriver::Manual(d) = self else {
            return;
        };
        match *event {
            super::SessionEvent::Started { tests } => d.introduce(tests),
            super::SessionEvent::TestStarted {
                id,
                title_id,
                skipped: false,
                ..
            } => d.start_test(id, title_id),
            _ => {}
        }
    }
}
