//! What one test of a session produced, as the checks read it: the runner's actions, the
//! application's answers and screens, the canary residents, what the storage scan found. The
//! session's step interpreter ([`crate::session`]) fills it in; each check kind
//! ([`crate::checks`]) judges it. Neither knows the other.

use std::collections::BTreeMap;

use dukcapil_domain::Field;
use serde::{Deserialize, Serialize};

use crate::canary::Canary;
use crate::evidence::{ev, Evidence};
use crate::journal::Action;
use crate::scenario::{AgreementOverride, Fault, TestCase};
use crate::storage::{Marker, ScanReport, StorageLocation};
use crate::target::Target;

/// What the application answered to one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    /// `None` when no HTTP answer came (timeout, refused, reset).
    pub status: Option<u16>,
    pub body: String,
    /// Why no answer came.
    pub error: Option<String>,
    pub elapsed_ms: u64,
    /// `Set-Cookie` headers of the answer (for the login capture; never part of the output).
    pub set_cookies: Vec<String>,
}

impl Answer {
    /// [`Answer::describe`] for evidence, in both languages.
    pub(crate) fn explain(&self) -> crate::Evidence {
        use crate::evidence::ev;
        match (self.status, &self.error) {
            (Some(s), _) => ev!(
                "HTTP {s} setelah {} ms",
                "HTTP {s} after {} ms",
                self.elapsed_ms
            ),
            (None, Some(e)) => ev!(
                "tidak ada jawaban setelah {} ms ({e})",
                "no answer after {} ms ({e})",
                self.elapsed_ms
            ),
            (None, None) => ev!("tidak ada jawaban", "no answer"),
        }
    }
}

/// Something the application produced: a page, an API answer, an export, a log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// Where it came from (`T-FIELD-01 lookup #1 by op1`, `export.csv`, ...), in both languages.
    pub label: Evidence,
    /// The text as the target's extraction keeps it.
    pub text: String,
    /// What the target's element mapping found at each element's place (wire name → text),
    /// when the target maps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<BTreeMap<String, String>>,
}

/// One lookup the driver made.
#[derive(Debug)]
pub(crate) struct LookupRecord {
    pub(crate) nik: String,
    /// Index of its action in [`Observation::actions`].
    pub(crate) action: usize,
    pub(crate) answer: Answer,
    /// The target's recogniser said the answer presents a resident.
    pub(crate) presented: bool,
    /// Index of what it showed in [`Observation::outputs`].
    pub(crate) output: usize,
    /// The fault injected for it, if any.
    pub(crate) fault: Option<Fault>,
    /// (old, new) value when the mock changed the resident before this lookup.
    pub(crate) after_mutation: Option<(String, String)>,
}

/// Everything one test produced that a check may judge.
#[derive(Debug)]
pub(crate) struct Observation<'a> {
    pub(crate) test: &'a TestCase,
    pub(crate) target: &'a Target,
    /// The pack's overrides for the agreement under test.
    pub(crate) overrides: Option<&'a AgreementOverride>,
    /// The test's canary residents by reference.
    pub(crate) residents: BTreeMap<String, Canary>,
    pub(crate) actions: Vec<Action>,
    /// What the application showed, as the target extracts it.
    pub(crate) outputs: Vec<CapturedOutput>,
    /// Whole answers (login, lookups, events), for the password search.
    pub(crate) raw_outputs: Vec<(Evidence, Vec<u8>)>,
    pub(crate) lookups: Vec<LookupRecord>,
    /// What the session could not set up as the test asked; told with every check.
    pub(crate) notes: Vec<Evidence>,
    /// The storage scan of a `scan_storage` step.
    pub(crate) scan: Option<ScanReport>,
    /// `false` once the mock refused a fault rule (no fault injection there).
    pub(crate) faults_supported: bool,
    /// Per service-event action: the balikan keys of the agreement the operator entered a value
    /// for, which must come back to the mock with the data balikan.
    pub(crate) entered_balikan: BTreeMap<usize, Vec<String>>,
    /// Window around an action within which a mock row still belongs to it.
    pub(crate) slack_ms: i64,
    /// When the runner stopped watching (mock time): the test's journal is read right after.
    pub(crate) watched_until: Option<chrono::DateTime<chrono::Utc>>,
    /// What the operator script did at the Web Portal (`play_script`, `observe_copy`).
    pub(crate) portal: PortalPlay,
}

/// What a played operator script did at the Web Portal, for the portal pack's checks.
#[derive(Debug, Default)]
pub(crate) struct PortalPlay {
    /// The script's id, once a `play_script` step played it.
    pub(crate) script: Option<String>,
    /// The script's people and the account each declared: `(person, account)`.
    pub(crate) people: Vec<(String, String)>,
    /// Every login a person made, in order.
    pub(crate) logins: Vec<PortalLogin>,
    /// The assessor's observation (`observe_copy`): `true` when something of a result was
    /// copied into the agency's systems, with what they typed.
    pub(crate) copied: Option<(bool, String)>,
}

/// One person's login at the portal, each person in a browser (session) of their own.
#[derive(Debug, Clone)]
pub(crate) struct PortalLogin {
    pub(crate) person: String,
    pub(crate) account: String,
    /// When the login form was sent (mock clock).
    pub(crate) started: chrono::DateTime<chrono::Utc>,
    /// When the portal answered it.
    pub(crate) finished: chrono::DateTime<chrono::Utc>,
    /// The portal showed the search page (a session began).
    pub(crate) succeeded: bool,
    /// When the person logged out, if they did.
    pub(crate) ended: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'a> Observation<'a> {
    pub(crate) fn new(
        test: &'a TestCase,
        target: &'a Target,
        overrides: Option<&'a AgreementOverride>,
        slack_ms: i64,
    ) -> Self {
        Observation {
            test,
            target,
            overrides,
            residents: BTreeMap::new(),
            actions: Vec::new(),
            outputs: Vec::new(),
            raw_outputs: Vec::new(),
            lookups: Vec::new(),
            notes: Vec::new(),
            scan: None,
            faults_supported: true,
            entered_balikan: BTreeMap::new(),
            slack_ms,
            watched_until: None,
            portal: PortalPlay::default(),
        }
    }

    /// Canary values that must never be stored (text values carrying the session marker).
    pub(crate) fn markers(&self) -> Vec<Marker> {
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
}

/// Every file of the storage locations, for the password search (WAL files included).
pub(crate) fn storage_bytes(locs: &[StorageLocation]) -> Vec<(Evidence, Vec<u8>)> {
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
