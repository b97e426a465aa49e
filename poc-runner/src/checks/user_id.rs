//! *User_ID propagation* (digest rule 4): every lookup carries the acting operator's own value.

use std::collections::{BTreeMap, BTreeSet};

use super::{action_of, masked, Check, CheckOutcome, Evaluation};
use crate::evidence::{ev, Evidence};
use crate::journal::{Action, JournalRow};
use crate::observed::Observation;

/// An operator of the application and the `User_ID` value it must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OperatorIdentity {
    pub username: String,
    /// The value expected in `User_ID` (usually the username).
    pub user_id: String,
}

/// *User_ID propagation* (digest rule 4, Juknis RSUD 2.p): every lookup carries the acting
/// operator's value; distinct operators give distinct values; missing, empty, constant or
/// institutional values fail.
pub(super) fn user_id_propagation(
    rows: &[JournalRow],
    actions: &[Action],
    operators: &[OperatorIdentity],
    institutional: &[&str],
    min_distinct_operators: usize,
    slack_ms: i64,
) -> Evaluation {
    let lookups: Vec<&JournalRow> = rows.iter().filter(|r| r.is_lookup()).collect();
    if lookups.is_empty() {
        return Evaluation::new(
            CheckOutcome::Fail,
            vec![ev!(
                "tidak ada permintaan data yang sampai ke mock selama pengujian",
                "no lookup reached the mock during the test"
            )],
        );
    }
    let mut problems = Vec::new();
    let mut values_by_operator: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &lookups {
        let when = row.time.to_rfc3339();
        let nik = masked(&row.nik_raw);
        let Some(value) = row.operator.as_deref() else {
            problems.push(ev!(
                "{when} {nik}: User_ID tidak dikirim",
                "{when} {nik}: User_ID missing"
            ));
            continue;
        };
        if value.trim().is_empty() {
            problems.push(ev!(
                "{when} {nik}: User_ID kosong",
                "{when} {nik}: User_ID empty"
            ));
            continue;
        }
        if institutional
            .iter()
            .any(|i| i.eq_ignore_ascii_case(value.trim()))
        {
            problems.push(ev!(
                "{when} {nik}: User_ID `{value}` adalah akun instansi, bukan akun operator",
                "{when} {nik}: User_ID `{value}` is the institutional account, not an operator"
            ));
            continue;
        }
        if let Some(action) = action_of(row, actions, slack_ms) {
            let expected = operators
                .iter()
                .find(|o| o.username == action.operator)
                .map_or(action.operator.as_str(), |o| o.user_id.as_str());
            if value != expected {
                problems.push(ev!(
                    "{when} {nik}: User_ID `{value}`, padahal yang bertindak operator `{}` (seharusnya `{expected}`)",
                    "{when} {nik}: User_ID `{value}` but operator `{}` acted (expected `{expected}`)",
                    action.operator
                ));
            }
            values_by_operator
                .entry(action.operator.as_str())
                .or_default()
                .insert(value);
        }
    }
    let acting = values_by_operator.len();
    let distinct_values: BTreeSet<&str> = values_by_operator.values().flatten().copied().collect();
    if acting >= 2 && distinct_values.len() < acting {
        problems.push(ev!(
            "{acting} operator bertindak tetapi User_ID hanya berisi {} nilai berbeda: User_ID konstan",
            "{acting} operators acted but User_ID took only {} distinct value(s): constant User_ID",
            distinct_values.len()
        ));
    }
    if problems.is_empty() && acting < min_distinct_operators {
        return Evaluation::review(ev!(
            "hanya {acting} operator yang dapat dikaitkan dengan permintaan data; diperlukan {min_distinct_operators} untuk menilai keunikan User_ID",
            "only {acting} operator(s) could be tied to lookups; {min_distinct_operators} needed to judge distinct values"
        ));
    }
    Evaluation::judge(
        problems,
        ev!(
            "{} permintaan data, {acting} operator, masing-masing dengan User_ID sendiri",
            "{} lookups, {acting} operators, each with its own User_ID",
            lookups.len()
        ),
    )
}

/// The scenario's `user_id_propagation` check.
#[derive(Debug)]
pub(crate) struct UserIdPropagation {
    pub(crate) min_distinct_operators: usize,
}

impl Check for UserIdPropagation {
    fn judges_lookups(&self) -> bool {
        true
    }

    fn judge(
        &self,
        obs: &Observation<'_>,
        rows: &[JournalRow],
        _earlier: &[(Evidence, Vec<u8>)],
    ) -> Evaluation {
        let ops: Vec<OperatorIdentity> = obs
            .target
            .file
            .operators
            .iter()
            .map(|o| OperatorIdentity {
                username: o.username.get_ref().clone(),
                user_id: o.expected_user_id().to_string(),
            })
            .collect();
        let inst = [
            obs.target.file.mock_credentials.user_id.as_str(),
            obs.target.agreement.credentials.user_id.as_str(),
            obs.target.agreement.customer_id.as_str(),
        ];
        user_id_propagation(
            rows,
            &obs.actions,
            &ops,
            &inst,
            self.min_distinct_operators,
            obs.slack_ms,
        )
    }
}
