//! *Own accounts* at the Web Portal (digest rules 4 and 13): every person logs in with an
//! account of their own. One username acting for two people (two browsers, two sessions) is a
//! shared login, whatever the script calls the people.

use std::collections::{BTreeMap, BTreeSet};

use super::{portal_searches_missing, Check, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::observed::{Observation, PortalLogin};

/// *Own accounts*: no account declared for two people, no account whose accepted portal logins
/// (`PORTAL_LOGIN` 01) came from two people's browsers, none logged in by a second person while
/// the first one's session was still open, and no search under an account nobody declared.
pub(super) fn own_accounts(
    people: &[(String, String)],
    logins: &[PortalLogin],
    rows: &[JournalRow],
    slack_ms: i64,
) -> Evaluation {
    let mut problems = Vec::new();
    let mut holders: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (person, account) in people {
        holders.entry(account).or_default().insert(person);
    }
    for (account, who) in &holders {
        if who.len() > 1 {
            let who = who.iter().copied().collect::<Vec<_>>().join(", ");
            problems.push(ev!(
                "akun `{account}` dinyatakan untuk lebih dari satu orang ({who}): login bersama",
                "account `{account}` is declared for more than one person ({who}): a shared login"
            ));
        }
    }
    // Accepted logins at the mock, matched to the person whose browser sent them.
    let slack = chrono::Duration::milliseconds(slack_ms);
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let accepted: Vec<&JournalRow> = rows
        .iter()
        .filter(|r| r.is_portal_login() && r.outcome == "01")
        .collect();
    for r in &accepted {
        let account = r.operator.as_deref().unwrap_or("");
        if let Some(l) = logins.iter().find(|l| {
            l.account == account && l.started - slack <= r.time && r.time <= l.finished + slack
        }) {
            seen.entry(account).or_default().insert(&l.person);
        }
    }
    for (account, who) in &seen {
        if who.len() > 1 {
            let who = who.iter().copied().collect::<Vec<_>>().join(", ");
            problems.push(ev!(
                "akun `{account}` masuk ke portal dari peramban {} orang ({who})",
                "account `{account}` logged in to the portal from the browsers of {} people ({who})",
                who.split(", ").count()
            ));
        }
    }
    for (i, later) in logins.iter().enumerate().filter(|(_, l)| l.succeeded) {
        if let Some(open) = logins[..i].iter().find(|l| {
            l.succeeded
                && l.account == later.account
                && l.person != later.person
                && l.ended.is_none_or(|e| e > later.started)
        }) {
            problems.push(ev!(
                "{} masuk dengan akun `{}` pada {} ketika sesi {} dengan akun yang sama masih terbuka",
                "{} logged in as `{}` at {} while {}'s session of the same account was still open",
                later.person,
                later.account,
                later.started.to_rfc3339(),
                open.person
            ));
        }
    }
    let declared: BTreeSet<&str> = people.iter().map(|(_, a)| a.as_str()).collect();
    let strangers: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.is_portal_search())
        .map(|r| r.operator.as_deref().unwrap_or(""))
        .filter(|a| !declared.contains(a))
        .collect();
    for a in strangers {
        problems.push(ev!(
            "pencarian portal dengan akun `{a}` yang tidak dinyatakan untuk siapa pun",
            "portal searches under account `{a}`, which is declared for nobody"
        ));
    }
    let searches = rows.iter().filter(|r| r.is_portal_search()).count();
    Evaluation::judge(
        problems,
        ev!(
            "{} orang, masing-masing dengan akunnya sendiri ({} login diterima, {searches} pencarian)",
            "{} people, each with an account of their own ({} logins accepted, {searches} searches)",
            people.len(),
            accepted.len()
        ),
    )
}

/// The scenario's `portal_own_accounts` check.
#[derive(Debug)]
pub(crate) struct PortalOwnAccounts;

impl Check for PortalOwnAccounts {
    fn unexercised(&self, obs: &Observation<'_>, rows: &[JournalRow]) -> Option<Evidence> {
        portal_searches_missing(obs, rows)
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        own_accounts(&obs.portal.people, &obs.portal.logins, rows, obs.slack_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{evaluate, CheckOutcome};
    use crate::journal::sample::{row, t};

    fn portal(mut r: JournalRow, endpoint: &str) -> JournalRow {
        r.endpoint = endpoint.into();
        r.customer_id = "dinkes_3303".into();
        r
    }

    fn login(person: &str, account: &str, at: i64, ended: Option<i64>) -> PortalLogin {
        PortalLogin {
            person: person.into(),
            account: account.into(),
            started: t(at),
            finished: t(at + 1),
            succeeded: true,
            ended: ended.map(t),
        }
    }

    fn rows(accounts: &[(&str, i64)]) -> Vec<JournalRow> {
        let mut out = Vec::new();
        for (i, (a, at)) in accounts.iter().enumerate() {
            out.push(portal(row(*at, Some(a), "", "01"), "/portal/masuk"));
            let nik = format!("330301410789{:04}", 1000 + 37 * i);
            out.push(portal(row(at + 5, Some(a), &nik, "01"), "/portal/cari"));
        }
        out
    }

    fn people(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn own_accounts_pass_and_a_shared_login_fails_however_it_shows() {
        let own = people(&[("sri", "p01"), ("ani", "p02")]);
        let logins = [
            login("sri", "p01", 0, Some(30)),
            login("ani", "p02", 10, None),
        ];
        let e = own_accounts(&own, &logins, &rows(&[("p01", 0), ("p02", 10)]), 400);
        assert_eq!(e.outcome, CheckOutcome::Pass, "{e:?}");
        assert!(e.evidence.iter().all(Evidence::is_translated));

        // Declared for two people and logged in from both browsers while the first is open.
        let shared = people(&[("sri", "p01"), ("ani", "p01")]);
        let logins = [
            login("sri", "p01", 0, Some(30)),
            login("ani", "p01", 10, None),
        ];
        let e = own_accounts(&shared, &logins, &rows(&[("p01", 0), ("p01", 10)]), 400);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        let text: Vec<&str> = e.evidence.iter().map(|l| l.en.as_str()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("declared for more than one person (ani, sri)"));
        assert!(text[1].contains("from the browsers of 2 people"));
        assert!(text[2].contains("while sri's session"));

        // One after the other (the first logged out) is still two people on one account.
        let logins = [
            login("sri", "p01", 0, Some(5)),
            login("ani", "p01", 10, None),
        ];
        let e = own_accounts(&own, &logins, &rows(&[("p01", 0), ("p01", 10)]), 400);
        assert_eq!(e.outcome, CheckOutcome::Fail, "{e:?}");

        // A search under an account nobody declared.
        let e = own_accounts(&own, &[], &rows(&[("p09", 0)]), 400);
        assert!(e.evidence.iter().any(|l| l.en.contains("`p09`")), "{e:?}");
    }

    /// Web-service lookups in the journal are not portal traffic: every portal check says "not
    /// exercised" without a portal search, and a web-service crawl does not fail the pattern.
    #[test]
    fn portal_checks_are_not_exercised_without_portal_searches() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let pack = crate::scenario::ScenarioPack::load(&dir.join("standard-web-portal.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let target = crate::target::Target::load(&dir.join("targets/portal-example.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let ws: Vec<JournalRow> = (0..5)
            .map(|i| row(i, Some("p01"), &format!("330301410789000{i}"), "01"))
            .collect();
        for (_, test) in pack.tests() {
            let obs = Observation::new(test, &target, None, 400);
            for spec in &test.checks {
                let e = evaluate(spec, &obs, &ws, &[]);
                assert_eq!(e.outcome, CheckOutcome::NotExercised, "{spec:?}: {e:?}");
                assert!(e.evidence.iter().all(Evidence::is_translated), "{e:?}");
            }
        }
    }
}
