//! The harness's own regression suite: for each defect switch of the reference application, a
//! whole session must end `TIDAK LULUS` with exactly the checks concerning that defect failing
//! (or needing review) and every other check passing or skipped. Sessions run in parallel
//! threads: each has its own mock, application, ports and temp directory.
//!
//! README section "PoC regression: defect → check" mirrors [`TABLE`].

use std::collections::BTreeSet;

use crate::poc_session::{session, session_under, Session};

/// Defect → the `test_id/check` pairs that must fail. A defect caught by several checks lists
/// them all (e.g. a double call is visible in every test that judges one action, one request).
pub(crate) const TABLE: &[(&str, &[&str])] = &[
    ("store-answer", &["T-RETENTION-01/non_retention"]),
    // T-OUTCOME-01 no longer catches it: its repeat lookups of one resident now get 03, 16 and
    // 17 (outcome 03 is forced too), and an application caches found answers only.
    (
        "cache-answers",
        &[
            "T-RETENTION-02/non_retention",
            "T-RETENTION-03/non_retention",
        ],
    ),
    ("log-answers", &["T-RETENTION-01/non_retention"]),
    ("constant-user-id", &["T-USER-ID-01/user_id_propagation"]),
    ("no-user-id", &["T-USER-ID-01/user_id_propagation"]),
    (
        "institutional-user-id",
        &["T-USER-ID-01/user_id_propagation"],
    ),
    // Two calls a lookup, each with its retries: too many for the gateway that keeps failing.
    (
        "double-call",
        &[
            "T-ONE-ACTION-01/one_action_one_request",
            "T-OUTCOME-01/one_action_one_request",
            "T-TRANSPORT-01/one_action_one_request",
            "T-TRANSPORT-01/outcome_handling",
            "T-QUOTA-01/quota",
        ],
    ),
    (
        "sequential-job",
        &[
            "T-ONE-ACTION-01/one_action_one_request",
            "T-OUTCOME-01/one_action_one_request",
            "T-TRANSPORT-01/one_action_one_request",
            "T-PATTERN-01/no_sequential_lookups",
            "T-QUOTA-01/quota",
        ],
    ),
    // A second call half a second after the answer, outside the operator's action: judged where
    // it lands (inside a later action of the test, after the test's rows were read, or in a test
    // that did not ask for its NIK), however short the pauses; after a `05` it is a call too many.
    (
        "late-refresh",
        &[
            "T-ONE-ACTION-01/one_action_one_request",
            "T-OUTCOME-01/one_action_one_request",
            "T-TRANSPORT-01/one_action_one_request",
            "T-QUOTA-01/quota",
        ],
    ),
    // Retries a gateway that keeps failing, too: caught also where the pack skips the quota test.
    (
        "unbounded-retry",
        &[
            "T-QUOTA-01/quota",
            "T-TRANSPORT-01/outcome_handling",
            "T-TRANSPORT-01/one_action_one_request",
        ],
    ),
    ("no-balikan", &["T-BALIKAN-01/balikan"]),
    ("balikan-missing-field", &["T-BALIKAN-01/balikan"]),
    ("drops-balikan-value", &["T-BALIKAN-01/balikan"]),
    (
        "error-as-found",
        &["T-OUTCOME-01/outcome_handling", "T-QUOTA-01/quota"],
    ),
    ("float-nik", &["T-FIELD-03/field_limits"]),
    ("unfiltered-fields", &["T-FIELD-02/field_limits"]),
    ("log-password", &["T-SECRETS-01/secret_hygiene"]),
];

/// Failing (or needing review) `test_id/check` pairs of a session.
fn failing(sess: &Session) -> BTreeSet<String> {
    sess.checks()
        .into_iter()
        .filter(|c| c.2 == "fail" || c.2 == "needs_review")
        .map(|c| format!("{}/{}", c.0, c.1))
        .collect()
}

fn verdict(sess: &Session) -> String {
    sess.result
        .as_ref()
        .map(|r| r["verdict"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Plays every job's session at once, each on its own thread (the session gate of
/// [`crate::poc_session`] caps how many run together), and returns the sessions in the jobs'
/// order. Nothing waits for another job's result: the judging comes after.
fn play_all<J: Sync>(jobs: &[J], play: impl Fn(&J) -> Session + Sync) -> Vec<Session> {
    std::thread::scope(|s| {
        let play = &play;
        let running: Vec<_> = jobs.iter().map(|j| s.spawn(move || play(j))).collect();
        running
            .into_iter()
            .map(|t| t.join().expect("a session's thread panicked"))
            .collect()
    })
}

/// Judges one defect's session: `TIDAK LULUS`, exit 1, and exactly `expected` failing.
fn judge_defect(
    agreement: &str,
    defect: &str,
    expected: &BTreeSet<String>,
    sess: &Session,
) -> Option<String> {
    let got = failing(sess);
    let verdict = verdict(sess);
    (sess.code() != 1 || verdict != "TIDAK LULUS" || got != *expected).then(|| {
        format!(
            "{agreement} {defect}: exit {} verdict {verdict:?}\n  expected failing {expected:?}\n  got failing      {got:?}\n{}",
            sess.code(),
            sess.text()
        )
    })
}

fn names(checks: &[&str]) -> BTreeSet<String> {
    checks.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_defect_fails_exactly_the_checks_that_concern_it() {
    let sessions = play_all(TABLE, |(defect, _)| session(defect));
    let problems: Vec<String> = TABLE
        .iter()
        .zip(&sessions)
        .filter_map(|((defect, expected), sess)| {
            judge_defect("rsud-karanganyar", defect, &names(expected), sess)
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The agreements besides rsud-karanganyar (which the table above covers): each grants other
/// elements, other balikan keys and another quota, and the pack adapts its tests to each.
const OTHER_AGREEMENTS: &[&str] = &[
    "dinkes-karanganyar",
    "kecamatan-jumantono",
    "dinkes-purbalingga",
];

/// Under every agreement, the compliant reference application gets `LULUS` with nothing failing
/// or needing review, and every defect of the table gets `TIDAK LULUS` with the checks of its
/// family failing: the table's checks, less the tests the pack skips under that agreement. A
/// defect whose every check is skipped there is reported: nothing would catch it.
#[test]
fn under_every_agreement_the_compliant_app_passes_and_each_defect_fails_its_checks() {
    let jobs = agreement_jobs(OTHER_AGREEMENTS, TABLE, &[]);
    let sessions = play_all(&jobs, |(agreement, defect)| {
        session_under(agreement, defect)
    });
    let (mut problems, played) = compliant_and_defects(&jobs, &sessions, TABLE, "application");
    for (agreement, defect, expected, sess) in played {
        problems.extend(judge_defect(agreement, defect, &expected, sess));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Per agreement, its compliant session (defect `""`), one session per defect of `table` and
/// one per `extra` defect.
fn agreement_jobs<'a>(
    agreements: &[&'a str],
    table: &[(&'a str, &[&str])],
    extra: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    let mut jobs = Vec::new();
    for agreement in agreements {
        jobs.push((*agreement, ""));
        jobs.extend(table.iter().map(|(defect, _)| (*agreement, *defect)));
        jobs.extend(extra.iter().map(|defect| (*agreement, *defect)));
    }
    jobs
}

/// A defect's session to judge: agreement, defect, the checks it must fail, the session.
type Played<'j, 's> = (&'j str, &'j str, BTreeSet<String>, &'s Session);

/// Judges the compliant sessions among `jobs` (defect `""`): each must get `LULUS` with
/// nothing failing. Returns their problems and, for every defect session of `table`, what
/// it must fail: the table's checks less the tests the pack skipped under that agreement (as
/// its compliant session shows). A defect whose every check is skipped somewhere is a problem:
/// nothing would catch it there. Defects outside the table come back with an empty set.
fn compliant_and_defects<'j, 's>(
    jobs: &'j [(&'j str, &'j str)],
    sessions: &'s [Session],
    table: &[(&str, &[&str])],
    what: &str,
) -> (Vec<String>, Vec<Played<'j, 's>>) {
    let mut problems = Vec::new();
    let mut skipped: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
    for ((agreement, _), sess) in jobs.iter().zip(sessions).filter(|((_, d), _)| d.is_empty()) {
        let checks = sess.checks();
        skipped.insert(
            agreement,
            checks
                .iter()
                .filter(|c| c.2 == "skipped")
                .map(|c| format!("{}/{}", c.0, c.1))
                .collect(),
        );
        let bad = failing(sess);
        if sess.code() != 0 || verdict(sess) != "LULUS" || !bad.is_empty() || checks.len() < 14 {
            problems.push(format!(
                "{agreement}: the compliant {what} got exit {} verdict {:?}, failing {bad:?}\n{}",
                sess.code(),
                verdict(sess),
                sess.text()
            ));
        }
    }
    let mut played = Vec::new();
    for ((agreement, defect), sess) in jobs
        .iter()
        .zip(sessions)
        .filter(|((_, d), _)| !d.is_empty())
    {
        let skipped = &skipped[agreement];
        let table = table.iter().find(|(d, _)| d == defect);
        let expected: BTreeSet<String> = table
            .map(|(_, checks)| names(checks))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !skipped.contains(c))
            .collect();
        if table.is_some() && expected.is_empty() {
            problems.push(format!(
                "{agreement} {defect}: every check that catches it is skipped under this agreement"
            ));
            continue;
        }
        played.push((*agreement, *defect, expected, sess));
    }
    (problems, played)
}

/// The second reference application, unlike rsud-app: a puskesmas registration desk under
/// `dinkes-purbalingga` (server-rendered HTML, cookie sessions, CSRF, form posts), driven by the
/// shipped `scenarios/targets/puskesmas.toml`. Defect → the checks that must fail; README
/// section "PoC regression: defect → check" has the same table.
pub(crate) const PUSKESMAS_TABLE: &[(&str, &[&str])] = &[
    ("stores-answers", &["T-RETENTION-01/non_retention"]),
    ("constant-user-id", &["T-USER-ID-01/user_id_propagation"]),
    ("shows-extra-element", &["T-FIELD-02/field_limits"]),
    ("drops-balikan-value", &["T-BALIKAN-01/balikan"]),
    (
        "unbounded-retries",
        &[
            "T-TRANSPORT-01/outcome_handling",
            "T-TRANSPORT-01/one_action_one_request",
            "T-QUOTA-01/quota",
        ],
    ),
];

/// The desk's crawler runs on its own clock (every 2 s), so which tests' traffic it falls into
/// varies: the sequential-lookup rule must always catch it, and nothing outside its family may
/// fail.
const CRAWLER_MUST: &str = "T-PATTERN-01/no_sequential_lookups";
const CRAWLER_MAY: &[&str] = &[
    "T-PATTERN-01/no_sequential_lookups",
    "T-ONE-ACTION-01/one_action_one_request",
    "T-OUTCOME-01/one_action_one_request",
    "T-TRANSPORT-01/one_action_one_request",
    "T-QUOTA-01/quota",
];

/// The shipped puskesmas target with the desk's defect switches set, rewritten for `agreement`
/// (its id, the desk's agreement and the agreement's dummy credentials).
fn puskesmas_session(agreement: &str, defects: &str) -> Session {
    crate::support::bin("puskesmas-app");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/targets/puskesmas.toml");
    let mut text = std::fs::read_to_string(shipped).expect("puskesmas target");
    let a = dukcapil_domain::Agreement::embedded()
        .into_iter()
        .find(|a| a.id == agreement)
        .unwrap_or_else(|| panic!("no embedded agreement {agreement}"));
    for (from, to) in [
        (
            "PUSKESMAS_APP_DEFECTS = \"\"".to_string(),
            format!("PUSKESMAS_APP_DEFECTS = \"{defects}\""),
        ),
        (
            "agreement = \"dinkes-purbalingga\"".to_string(),
            format!("agreement = \"{agreement}\""),
        ),
        (
            "PUSKESMAS_APP_AGREEMENT = \"dinkes-purbalingga\"".to_string(),
            format!("PUSKESMAS_APP_AGREEMENT = \"{agreement}\""),
        ),
        (
            "user_id = \"dinkes_3303\"".to_string(),
            format!("user_id = \"{}\"", a.credentials.user_id),
        ),
        (
            "password = \"dummy-dinkes-3303\"".to_string(),
            format!("password = \"{}\"", a.credentials.password),
        ),
        (
            "balikan_token = \"balikan-dinkes-3303-dummy\"".to_string(),
            format!("balikan_token = \"{}\"", a.credentials.balikan_token),
        ),
    ] {
        assert!(text.contains(&from), "the shipped target has {from}");
        text = text.replacen(&from, &to, 1);
    }
    crate::poc_session::session_with_target_text(&text, &crate::poc_session::scenario(), None)
}

/// Every agreement of the standard pack: the desk is the agreement's own application under
/// `dinkes-purbalingga`, and the same code under the other three (their grants, balikan keys
/// and quotas differ).
const ALL_AGREEMENTS: &[&str] = &[
    "dinkes-purbalingga",
    "rsud-karanganyar",
    "dinkes-karanganyar",
    "kecamatan-jumantono",
];

/// Under every agreement the compliant desk gets `LULUS`, and each of its defects fails the
/// checks of its family (less the tests the pack skips under that agreement).
#[test]
fn the_puskesmas_desk_passes_and_each_of_its_defects_fails_its_checks() {
    let jobs = agreement_jobs(ALL_AGREEMENTS, PUSKESMAS_TABLE, &["background-crawler"]);
    let sessions = play_all(&jobs, |(agreement, defect)| {
        puskesmas_session(agreement, defect)
    });
    let (mut problems, played) = compliant_and_defects(&jobs, &sessions, PUSKESMAS_TABLE, "desk");
    for (agreement, defect, expected, sess) in played {
        if defect == "background-crawler" {
            let got = failing(sess);
            if sess.code() != 1
                || !got.contains(CRAWLER_MUST)
                || got.iter().any(|c| !CRAWLER_MAY.contains(&c.as_str()))
            {
                problems.push(format!(
                    "{agreement} background-crawler: failing {got:?}\n{}",
                    sess.text()
                ));
            }
            continue;
        }
        problems.extend(judge_defect(
            &format!("{agreement} (puskesmas)"),
            defect,
            &expected,
            sess,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
