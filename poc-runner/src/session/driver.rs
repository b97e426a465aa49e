//! One face for the two ways of driving the application: scripted HTTP requests
//! ([`super::http`]) or an engineer at its screen ([`super::manual`]).

use std::collections::BTreeMap;

use super::{http, manual, SessionError};

/// How the application is driven: scripted HTTP requests or an engineer at its screen.
pub(super) enum AppDriver<'d> {
    Http(http::Driver<'d>),
    Manual(Box<manual::Driver<'d>>),
}

impl AppDriver<'_> {
    pub(super) fn base(&self) -> String {
        match self {
            AppDriver::Http(d) => d.base.clone(),
            AppDriver::Manual(d) => d.base(),
        }
    }

    pub(super) fn forget_sessions(&mut self) {
        match self {
            AppDriver::Http(d) => d.forget_sessions(),
            AppDriver::Manual(d) => d.forget_sessions(),
        }
    }

    pub(super) fn has_session(&self, username: &str) -> bool {
        match self {
            AppDriver::Http(d) => d.has_session(username),
            AppDriver::Manual(d) => d.has_session(username),
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
            AppDriver::Http(_) => Vec::new(),
            AppDriver::Manual(d) => d.take_log(),
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
