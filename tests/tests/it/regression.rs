//! The harness's own regression suite: for each defect switch of the reference application, a
//! whole session must end `TIDAK LULUS` with exactly the checks concerning that defect failing
//! (or needing review) and every other check passing or skipped. Sessions run in parallel
//! threads: each has its own mock, application, ports and temp directory.
//!
//! README section "PoC regression: defect → check" mirrors [`TABLE`].

use std::collections::BTreeSet;

use crate::poc_session::session;

/// Defect → the `test_id/check` pairs that must fail. A defect caught by several checks lists
/// them all (e.g. a double call is visible in every test that judges one action, one request).
pub const TABLE: &[(&str, &[&str])] = &[
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
    (
        "double-call",
        &[
            "T-ONE-ACTION-01/one_action_one_request",
            "T-OUTCOME-01/one_action_one_request",
            "T-TRANSPORT-01/one_action_one_request",
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
    ("unbounded-retry", &["T-QUOTA-01/quota"]),
    ("no-balikan", &["T-BALIKAN-01/balikan"]),
    ("balikan-missing-field", &["T-BALIKAN-01/balikan"]),
    (
        "error-as-found",
        &["T-OUTCOME-01/outcome_handling", "T-QUOTA-01/quota"],
    ),
    ("float-nik", &["T-FIELD-03/field_limits"]),
    ("unfiltered-fields", &["T-FIELD-02/field_limits"]),
    ("log-password", &["T-SECRETS-01/secret_hygiene"]),
];

/// Runs the table in `threads` parallel sessions and returns the mismatches.
fn run_table(rows: &[(&'static str, &'static [&'static str])], threads: usize) -> Vec<String> {
    let queue = std::sync::Mutex::new(rows.to_vec());
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some((defect, expected)) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                    return;
                };
                let sess = session(defect);
                let failing: BTreeSet<String> = sess
                    .checks()
                    .into_iter()
                    .filter(|c| c.2 == "fail" || c.2 == "needs_review")
                    .map(|c| format!("{}/{}", c.0, c.1))
                    .collect();
                let expected: BTreeSet<String> =
                    expected.iter().map(|s| s.to_string()).collect();
                let verdict = sess
                    .result
                    .as_ref()
                    .map(|r| r["verdict"].as_str().unwrap_or("").to_string())
                    .unwrap_or_default();
                if sess.code() != 1 || verdict != "TIDAK LULUS" || failing != expected {
                    problems.lock().map(|mut p| {
                        p.push(format!(
                            "{defect}: exit {} verdict {verdict:?}\n  expected failing {expected:?}\n  got failing      {failing:?}\n{}",
                            sess.code(),
                            sess.text()
                        ))
                    }).ok();
                }
            });
        }
    });
    problems.into_inner().unwrap_or_default()
}

#[test]
fn every_defect_fails_exactly_the_checks_that_concern_it() {
    let problems = run_table(TABLE, 5);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
