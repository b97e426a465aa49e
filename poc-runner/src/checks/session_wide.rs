//! The rules that hold over the whole session, not only inside a test: what the application sent
//! before the first test, between tests and after the last (a background job, a crawler, a
//! start-up sync) is judged too, and so is the traffic of tests that carry no check of a rule.
//!
//! Each rule judges the rows no check of its kind judged: the rows outside every test, plus
//! the rows of tests without that kind. Lookups of NIKs the runner never gave a canary were
//! asked for by nobody; the sequential-lookup detector runs over all of them together, so a
//! crawl cut in pieces by test boundaries is seen whole.

use std::collections::{BTreeMap, BTreeSet};

use dukcapil_domain::detector::DetectorSettings;

use super::{masked, no_sequential_lookups, CheckOutcome, CheckResult};
use crate::evidence::{ev, Evidence};
use crate::journal::JournalRow;
use crate::scenario::{CheckSpec, TestCase};
use crate::target::Target;

/// Everything the session read from the mock, by where it fell.
#[derive(Debug, Default)]
pub(crate) struct SessionTraffic<'a> {
    /// Rows outside every test (pre-flight, between tests, after the last).
    pub(crate) outside: Vec<JournalRow>,
    /// Each played test and its rows.
    pub(crate) tests: Vec<(&'a TestCase, Vec<JournalRow>)>,
    /// The NIK of every canary the runner created: the only NIKs it asks the application for.
    pub(crate) asked: BTreeSet<String>,
    /// Each played test's canary NIKs, by test id: the NIKs asked for while it ran.
    pub(crate) asked_in: BTreeMap<String, BTreeSet<String>>,
    /// The pre-flight's warm-up NIKs: its lookups fall outside every test.
    pub(crate) preflight: BTreeSet<String>,
}

impl SessionTraffic<'_> {
    /// Rows no check of `kind` judged.
    fn unjudged<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s JournalRow> + 's {
        let tests = self
            .tests
            .iter()
            .filter(move |(t, _)| !t.checks.iter().any(|c| c.kind() == kind))
            .flat_map(|(_, rows)| rows.iter());
        self.outside.iter().chain(tests)
    }

    /// Lookups no operator action asked for when they came, that no check of `kind` judged:
    /// outside the tests, every lookup but the pre-flight's (a late call of a test's lookup
    /// lands there: after the test's rows were read); in a test, a NIK the test did not ask
    /// for (also a late call of an earlier test's lookup).
    fn unasked<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s JournalRow> + 's {
        let outside = self
            .outside
            .iter()
            .filter(|r| r.is_lookup() && !self.preflight.contains(r.nik_raw.trim()));
        let tests = self
            .tests
            .iter()
            .filter(move |(t, _)| !t.checks.iter().any(|c| c.kind() == kind))
            .flat_map(move |(t, rows)| {
                let asked = self.asked_in.get(t.id.get_ref()).unwrap_or(&self.asked);
                rows.iter()
                    .filter(move |r| r.is_lookup() && !asked.contains(r.nik_raw.trim()))
            });
        outside.chain(tests)
    }

    /// Lookups of NIKs the runner never asked for, anywhere in the session.
    fn unsolicited(&self) -> Vec<JournalRow> {
        let tests = self.tests.iter().flat_map(|(_, rows)| rows.iter());
        self.outside
            .iter()
            .chain(tests)
            .filter(|r| r.is_lookup() && !self.asked.contains(r.nik_raw.trim()))
            .cloned()
            .collect()
    }
}

/// Problems of `spec`'s rule in the traffic no check of its kind judged; empty when none.
fn problems(spec: &CheckSpec, traffic: &SessionTraffic<'_>, target: &Target) -> Vec<Evidence> {
    match spec {
        CheckSpec::OneActionOneRequest { .. } => {
            let rows: Vec<&JournalRow> = traffic.unasked(spec.kind()).collect();
            let Some(first) = rows.first() else {
                return Vec::new();
            };
            vec![ev!(
                "{} pencarian sampai di mock tanpa diminta operator, di luar pengujian yang menilainya (pertama: NIK {} pada {})",
                "{} lookups reached the mock that no operator asked for, outside the tests that judge them (first: NIK {} at {})",
                rows.len(),
                masked(&first.nik_raw),
                first.time.to_rfc3339()
            )]
        }
        CheckSpec::NoSequentialLookups { detector } => {
            let rows = traffic.unsolicited();
            if rows.is_empty() {
                return Vec::new();
            }
            let settings: DetectorSettings = detector.unwrap_or_default();
            let e = no_sequential_lookups(&rows, &settings);
            if e.outcome != CheckOutcome::Fail {
                return Vec::new();
            }
            e.evidence
                .into_iter()
                .map(|line| {
                    ev!(lang =>
                        "sepanjang sesi, di antara pencarian yang tidak diminta runner: {}",
                        "over the whole session, among lookups the runner never asked for: {}",
                        line.text(lang)
                    )
                })
                .collect()
        }
        CheckSpec::UserIdPropagation { .. } => {
            let expected: BTreeSet<&str> = target
                .file
                .operators
                .iter()
                .map(|o| o.expected_user_id())
                .collect();
            let bad: Vec<&JournalRow> = traffic
                .unjudged(spec.kind())
                .filter(|r| r.is_lookup())
                .filter(|r| {
                    let v = r.operator.as_deref().unwrap_or("").trim();
                    !expected.contains(v)
                })
                .collect();
            let Some(first) = bad.first() else {
                return Vec::new();
            };
            let values: BTreeSet<String> = bad
                .iter()
                .map(|r| match r.operator.as_deref() {
                    None => "(tidak ada / absent)".to_string(),
                    Some(v) if v.trim().is_empty() => "(kosong / empty)".to_string(),
                    Some(v) => {
                        format!("\u{201c}{}\u{201d}", v.chars().take(40).collect::<String>())
                    }
                })
                .collect();
            let values = values.into_iter().collect::<Vec<_>>().join(", ");
            vec![ev!(
                "{} pencarian di luar pengujian yang menilainya membawa User_ID yang bukan milik operator mana pun ({values}; pertama: NIK {} pada {})",
                "{} lookups outside the tests that judge them carry a User_ID of no operator ({values}; first: NIK {} at {})",
                bad.len(),
                masked(&first.nik_raw),
                first.time.to_rfc3339()
            )]
        }
        CheckSpec::Balikan { .. } => {
            // Only inside a test, where the mock still knows the test's lookups: a balikan that
            // arrives after the next test's reset is refused for the reset, not for the
            // application.
            let mut rejected = Vec::new();
            for (t, rows) in &traffic.tests {
                if t.checks.iter().any(|c| c.kind() == spec.kind()) {
                    continue;
                }
                for r in rows.iter().filter(|r| r.is_balikan() && r.outcome != "01") {
                    let looked_up = rows
                        .iter()
                        .any(|l| l.is_lookup() && l.nik_raw.trim() == r.nik_raw.trim());
                    if looked_up {
                        rejected.push((t.id.get_ref().clone(), r));
                    }
                }
            }
            rejected
                .into_iter()
                .map(|(test, r)| {
                    ev!(
                        "{test}: data balikan untuk NIK {} ditolak mock (kode {})",
                        "{test}: the data balikan for NIK {} was refused by the mock (code {})",
                        masked(&r.nik_raw),
                        r.outcome
                    )
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Judges the session-wide rules and records each problem on the first judged check of its
/// kind (the test that verifies the rule), which then fails.
pub(crate) fn judge(results: &mut [CheckResult], traffic: &SessionTraffic<'_>, target: &Target) {
    let mut done = BTreeSet::new();
    for (t, _) in &traffic.tests {
        for spec in &t.checks {
            if done.contains(spec.kind()) {
                continue;
            }
            let Some(result) = results.iter_mut().find(|r| {
                r.test_id == *t.id.get_ref()
                    && r.check == spec.kind()
                    && r.outcome != CheckOutcome::Skipped
            }) else {
                continue;
            };
            done.insert(spec.kind());
            let found = problems(spec, traffic, target);
            if found.is_empty() {
                continue;
            }
            result.outcome = CheckOutcome::Fail;
            let earlier = std::mem::take(&mut result.evidence);
            result.evidence = found;
            result.evidence.extend(earlier);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_error::Source;
    use crate::journal::sample::row;
    use crate::scenario::ScenarioPack;

    const OP: &str = "petugas.pendaftaran01";

    fn pack() -> ScenarioPack {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/standard-web-service.toml");
        ScenarioPack::load(&path).expect("standard pack")
    }

    fn target() -> Target {
        let text = include_str!("../../../scenarios/targets/example.toml");
        Target::from_source(&Source::new("example.toml", text)).expect("example target")
    }

    fn test_case<'p>(pack: &'p ScenarioPack, id: &str) -> &'p TestCase {
        pack.tests()
            .map(|(_, t)| t)
            .find(|t| t.id.get_ref() == id)
            .unwrap_or_else(|| panic!("{id} in the standard pack"))
    }

    /// Every check of `tests` passed on its own traffic.
    fn passed(tests: &[(&TestCase, Vec<JournalRow>)]) -> Vec<CheckResult> {
        tests
            .iter()
            .flat_map(|(t, _)| {
                t.checks.iter().map(|c| CheckResult {
                    test_id: t.id.get_ref().clone(),
                    check: c.kind().to_string(),
                    requirement: t.requirement.get_ref().clone(),
                    title_id: t.title_id.clone(),
                    title_en: t.title_en.clone(),
                    outcome: CheckOutcome::Pass,
                    evidence: vec![ev!("lulus", "passed")],
                })
            })
            .collect()
    }

    fn failing(results: &[CheckResult]) -> Vec<String> {
        results
            .iter()
            .filter(|r| r.outcome == CheckOutcome::Fail)
            .map(|r| format!("{}/{}", r.test_id, r.check))
            .collect()
    }

    /// The standard pack's tests with a canary lookup each (asked NIKs 3313...0001, 0002, ...).
    fn played<'p>(pack: &'p ScenarioPack) -> SessionTraffic<'p> {
        let mut traffic = SessionTraffic::default();
        for (i, id) in [
            "T-FIELD-01",
            "T-USER-ID-01",
            "T-ONE-ACTION-01",
            "T-RETENTION-01",
            "T-BALIKAN-01",
            "T-PATTERN-01",
        ]
        .iter()
        .enumerate()
        {
            let nik = format!("33130141078900{:02}", 10 + i * 7);
            traffic.asked.insert(nik.clone());
            traffic
                .asked_in
                .insert(id.to_string(), BTreeSet::from([nik.clone()]));
            traffic.tests.push((
                test_case(pack, id),
                vec![row(100 * i as i64, Some(OP), &nik, "01")],
            ));
        }
        traffic
    }

    fn crawl(from_secs: i64, first: u64, n: u64) -> Vec<JournalRow> {
        (0..n)
            .map(|k| {
                let nik = format!("{:016}", 3313014107890500 + first + k);
                row(from_secs + k as i64, Some(OP), &nik, "01")
            })
            .collect()
    }

    #[test]
    fn a_session_of_asked_lookups_by_operators_stays_as_it_was() {
        let pack = pack();
        let mut traffic = played(&pack);
        // The pre-flight's warm-up lookup is asked for too.
        traffic.asked.insert("3313014107890999".into());
        traffic.preflight.insert("3313014107890999".into());
        traffic
            .outside
            .push(row(-30, Some(OP), "3313014107890999", "01"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(failing(&results), Vec::<String>::new());
    }

    #[test]
    fn a_crawl_before_and_between_tests_fails_the_pattern_and_one_action_rules() {
        let pack = pack();
        let mut traffic = played(&pack);
        // Three rows before the first test, three between two tests: one crawl, cut in two.
        traffic.outside.extend(crawl(-20, 0, 3));
        traffic.outside.extend(crawl(150, 3, 3));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(
            failing(&results),
            vec![
                "T-ONE-ACTION-01/one_action_one_request".to_string(),
                "T-PATTERN-01/no_sequential_lookups".to_string(),
            ]
        );
        let pattern = results
            .iter()
            .find(|r| r.check == "no_sequential_lookups")
            .expect("pattern check");
        assert!(
            pattern.evidence[0].en.contains("whole session"),
            "{:?}",
            pattern.evidence
        );
        assert!(pattern.evidence.iter().all(Evidence::is_translated));
    }

    #[test]
    fn a_crawl_inside_a_test_without_the_rule_is_judged_by_the_rule() {
        let pack = pack();
        let mut traffic = played(&pack);
        // T-FIELD-01 judges neither one action per request nor patterns.
        traffic.tests[0].1.extend(crawl(5, 0, 6));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert!(failing(&results).contains(&"T-PATTERN-01/no_sequential_lookups".to_string()));
        assert!(failing(&results).contains(&"T-ONE-ACTION-01/one_action_one_request".to_string()));
    }

    /// A second call the application makes some time after answering (a background "refresh")
    /// lands after its test's rows were read, or in a later test: it is still a request no
    /// operator asked for then, whatever the pauses between actions.
    #[test]
    fn a_late_call_of_an_asked_nik_is_judged_wherever_it_lands() {
        let pack = pack();
        // After the test whose lookup it repeats (T-FIELD-01's NIK, between two tests).
        let mut traffic = played(&pack);
        let field_nik = traffic.tests[0].1[0].nik_raw.clone();
        traffic.outside.push(row(50, Some(OP), &field_nik, "01"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(
            failing(&results),
            vec!["T-ONE-ACTION-01/one_action_one_request".to_string()]
        );
        let e = &results
            .iter()
            .find(|r| r.check == "one_action_one_request" && r.outcome == CheckOutcome::Fail)
            .expect("failed")
            .evidence;
        assert!(
            e.iter().any(|l| l.en.contains("no operator asked for")),
            "{e:?}"
        );

        // Inside a later test that does not judge the rule (T-RETENTION-01 did not ask for it).
        let mut traffic = played(&pack);
        traffic.tests[3]
            .1
            .push(row(305, Some(OP), &field_nik, "01"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(
            failing(&results),
            vec!["T-ONE-ACTION-01/one_action_one_request".to_string()]
        );

        // A NIK its own test asked for is left to the tests that judge the rule (and to their
        // windows): the session-wide rule judges only lookups nobody asked for then.
        let mut traffic = played(&pack);
        traffic.tests[0].1.push(row(5, Some(OP), &field_nik, "01"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(failing(&results), Vec::<String>::new());
    }

    #[test]
    fn a_system_user_id_outside_the_tests_fails_user_id_propagation() {
        let pack = pack();
        let mut traffic = played(&pack);
        traffic.asked.insert("3313014107890999".into());
        traffic.preflight.insert("3313014107890999".into());
        traffic
            .outside
            .push(row(250, Some("SYSTEM"), "3313014107890999", "01"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(
            failing(&results),
            vec!["T-USER-ID-01/user_id_propagation".to_string()]
        );
    }

    #[test]
    fn a_refused_balikan_in_another_test_fails_the_balikan_check_unless_the_reset_explains_it() {
        let pack = pack();
        let balikan = |secs, nik: &str, outcome: &str| JournalRow {
            endpoint: "/data_balikan/public/api/store".into(),
            elements: vec!["NO_RM".into()],
            ..row(secs, Some(OP), nik, outcome)
        };
        // T-RETENTION-01 (no balikan check) looked the NIK up, and its balikan was refused.
        let mut traffic = played(&pack);
        let nik = traffic.tests[3].1[0].nik_raw.clone();
        traffic.tests[3].1.push(balikan(305, &nik, "422"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(failing(&results), vec!["T-BALIKAN-01/balikan".to_string()]);

        // A balikan for a NIK of an earlier test, refused after this test's reset: not judged.
        let mut traffic = played(&pack);
        let earlier = traffic.tests[0].1[0].nik_raw.clone();
        traffic.tests[3].1.push(balikan(305, &earlier, "422"));
        let mut results = passed(&traffic.tests);
        judge(&mut results, &traffic, &target());
        assert_eq!(failing(&results), Vec::<String>::new());
    }
}
