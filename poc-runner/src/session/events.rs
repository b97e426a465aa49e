//! What a session tells while it plays, and who listens (nextest's reporter split): the
//! terminal's progress here, the manual driver's prompts ([`super::driver`]), and any
//! [`Reporter`] a caller of [`super::play_reporting`] passes in.

use std::io::IsTerminal;

use crate::checks::{CheckOutcome, CheckResult};
use crate::Lang;

/// One thing that happened in a session.
#[derive(Debug, Clone, Copy)]
pub enum SessionEvent<'a> {
    /// The application and the mock are ready; `tests` tests will be played.
    Started {
        /// How many tests the session plays (skipped ones included).
        tests: usize,
    },
    /// A test begins; `skipped` when the pack says it does not apply to the agreement.
    TestStarted {
        /// Position in the session, from 0.
        index: usize,
        /// Number of tests in the session.
        total: usize,
        /// The test's id (`T-FIELD-01`).
        id: &'a str,
        /// The test's title in Bahasa Indonesia.
        title_id: &'a str,
        /// The test's title in English.
        title_en: &'a str,
        /// The pack skips the test for this agreement.
        skipped: bool,
    },
    /// A test's checks are judged.
    TestFinished {
        /// The test's id.
        id: &'a str,
        /// Its judged checks.
        results: &'a [CheckResult],
    },
    /// Every test was played.
    Finished,
}

/// Listens to a session's events.
pub trait Reporter {
    /// Called for each event, in order.
    fn report(&mut self, event: &SessionEvent<'_>);
}

/// A reporter that tells nobody.
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&mut self, _event: &SessionEvent<'_>) {}
}

/// Progress on stderr: a bar on a terminal, numbered lines elsewhere, in the run's language.
#[derive(Debug)]
pub(crate) struct TerminalProgress {
    bar: Option<indicatif::ProgressBar>,
    lang: Lang,
}

impl TerminalProgress {
    /// `bar_allowed` is false when something else writes to the terminal (the manual driver's
    /// prompts would tear a bar).
    pub(crate) fn new(bar_allowed: bool, lang: Lang) -> Self {
        TerminalProgress { bar: None, lang }
            .with_bar(bar_allowed && std::io::stderr().is_terminal())
    }

    fn with_bar(mut self, on: bool) -> Self {
        if on {
            let b = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            {
                b.set_style(style);
            }
            self.bar = Some(b);
        }
        self
    }
}

/// The outcome a test's line shows: its worst check's.
fn worst(results: &[CheckResult]) -> CheckOutcome {
    results
        .iter()
        .map(|r| r.outcome)
        .max_by_key(|o| match o {
            CheckOutcome::Pass => 0,
            CheckOutcome::Skipped => 1,
            CheckOutcome::NeedsReview | CheckOutcome::NotExercised => 2,
            CheckOutcome::Fail => 3,
        })
        .unwrap_or(CheckOutcome::Skipped)
}

impl Reporter for TerminalProgress {
    fn report(&mut self, event: &SessionEvent<'_>) {
        match *event {
            SessionEvent::Started { tests } => {
                if let Some(b) = &self.bar {
                    b.set_length(tests as u64);
                }
            }
            SessionEvent::TestStarted {
                index,
                total,
                id,
                title_id,
                title_en,
                ..
            } => {
                let title = match self.lang {
                    Lang::Id => title_id,
                    Lang::En => title_en,
                };
                match &self.bar {
                    Some(b) => b.set_message(format!("{id} {title}")),
                    None => eprintln!("[{}/{total}] {id} {title}", index + 1),
                }
            }
            SessionEvent::TestFinished { id, results } => {
                let label = worst(results).label(self.lang);
                match &self.bar {
                    Some(b) => {
                        b.println(format!("{id}: {label}"));
                        b.inc(1);
                    }
                    None => eprintln!("      {id}: {label}"),
                }
            }
            SessionEvent::Finished => {
                if let Some(b) = &self.bar {
                    b.finish_and_clear();
                }
            }
        }
    }
}
