//! Re-PoC support: what changed between two verified results (Juknis RSUD 2.o, Purbalingga
//! II.D.3: every change to the application needs a new PoC). Compares the application, the
//! scenario pack and the agreement, the checks whose outcome changed, and the behaviour the
//! signed journals show at the mock: endpoints, operators (User_ID), answered elements, lookups,
//! outcome codes and the balikan keys sent.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::PocResult;
use crate::checks::CheckOutcome;
use crate::Lang;

/// A field whose value differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// A check (test id, check kind) whose outcome differs; `None`: not in that result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CheckChange {
    pub test_id: String,
    pub check: String,
    pub old: Option<CheckOutcome>,
    pub new: Option<CheckOutcome>,
}

/// One aspect of the behaviour at the mock: values only in the old or only in the new result,
/// and counts that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BehaviourChange {
    pub aspect: &'static str,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub counts: Vec<CountChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CountChange {
    pub key: String,
    pub old: usize,
    pub new: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Side {
    pub session: String,
    pub verdict: String,
    pub signer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Diff {
    pub old: Side,
    pub new: Side,
    pub application: Vec<FieldChange>,
    pub scenario: Vec<FieldChange>,
    pub agreement: Vec<FieldChange>,
    pub checks: Vec<CheckChange>,
    pub behaviour: Vec<BehaviourChange>,
}

impl Diff {
    pub(crate) fn is_empty(&self) -> bool {
        self.application.is_empty()
            && self.scenario.is_empty()
            && self.agreement.is_empty()
            && self.checks.is_empty()
            && self.behaviour.is_empty()
    }
}

fn fields(pairs: &[(&str, String, String)]) -> Vec<FieldChange> {
    pairs
        .iter()
        .filter(|(_, o, n)| o != n)
        .map(|(f, o, n)| FieldChange {
            field: f.to_string(),
            old: o.clone(),
            new: n.clone(),
        })
        .collect()
}

/// What the journal shows, per aspect: value → count.
fn behaviour(r: &PocResult) -> BTreeMap<&'static str, BTreeMap<String, usize>> {
    let mut m: BTreeMap<&'static str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut add = |aspect, key: String| *m.entry(aspect).or_default().entry(key).or_default() += 1;
    for row in &r.journal.rows {
        // The institution's segment of the path is the customer id: kept, it is the same in both.
        add("endpoints", row.endpoint.clone());
        if row.is_lookup() {
            add(
                "operators",
                row.operator
                    .clone()
                    .unwrap_or_else(|| "(tanpa User_ID / no User_ID)".into()),
            );
            add("lookups", "total".into());
            if let Some(op) = &row.operator {
                add("lookups", format!("by {op}"));
            }
            add("outcomes", row.outcome.clone());
            for e in &row.elements {
                add("elements", e.clone());
            }
        }
        if row.is_balikan() {
            for e in &row.elements {
                add("balikan_keys", e.clone());
            }
        }
    }
    m
}

/// The differences from `old` to `new` (both already verified).
pub(crate) fn diff(old: &PocResult, new: &PocResult) -> Diff {
    let side = |r: &PocResult| Side {
        session: r.session.id.clone(),
        verdict: r.verdict.as_str().to_string(),
        signer: if r.signer.principal.is_empty() {
            r.signer.fingerprint.clone()
        } else {
            format!("{} ({})", r.signer.principal, r.signer.fingerprint)
        },
    };
    let application = fields(&[
        (
            "name",
            old.application.name.clone(),
            new.application.name.clone(),
        ),
        (
            "version",
            old.application.version.clone(),
            new.application.version.clone(),
        ),
        (
            "build",
            old.application.build.clone(),
            new.application.build.clone(),
        ),
    ]);
    let scenario = fields(&[
        ("id", old.scenario.id.clone(), new.scenario.id.clone()),
        (
            "version",
            old.scenario.version.clone(),
            new.scenario.version.clone(),
        ),
        (
            "sha256",
            old.scenario.sha256.clone(),
            new.scenario.sha256.clone(),
        ),
        (
            "requirements_sha256",
            old.scenario.requirements_sha256.clone(),
            new.scenario.requirements_sha256.clone(),
        ),
        // Played with other waits: a background job may have had more or less time to show.
        (
            "pause_scale",
            old.scenario
                .pause_scale
                .clone()
                .unwrap_or_else(|| "-".into()),
            new.scenario
                .pause_scale
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
    ]);
    let quota = |q: Option<u32>| q.map_or("-".to_string(), |q| q.to_string());
    let agreement = fields(&[
        ("id", old.agreement.id.clone(), new.agreement.id.clone()),
        (
            "institution",
            old.agreement.institution.clone(),
            new.agreement.institution.clone(),
        ),
        (
            "customer_id",
            old.agreement.customer_id.clone(),
            new.agreement.customer_id.clone(),
        ),
        (
            "granted",
            old.agreement.granted.join(", "),
            new.agreement.granted.join(", "),
        ),
        (
            "quota_per_day",
            quota(old.agreement.quota_per_day),
            quota(new.agreement.quota_per_day),
        ),
    ]);
    let outcomes = |r: &PocResult| -> BTreeMap<(String, String), CheckOutcome> {
        r.checks
            .iter()
            .map(|c| ((c.test_id.clone(), c.check.clone()), c.outcome))
            .collect()
    };
    let (o, n) = (outcomes(old), outcomes(new));
    let keys: BTreeSet<&(String, String)> = o.keys().chain(n.keys()).collect();
    let checks = keys
        .into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| CheckChange {
            test_id: k.0.clone(),
            check: k.1.clone(),
            old: o.get(k).copied(),
            new: n.get(k).copied(),
        })
        .collect();
    let (bo, bn) = (behaviour(old), behaviour(new));
    let aspects: BTreeSet<&'static str> = bo.keys().chain(bn.keys()).copied().collect();
    let empty = BTreeMap::new();
    let behaviour = aspects
        .into_iter()
        .filter_map(|aspect| {
            let (a, b) = (
                bo.get(aspect).unwrap_or(&empty),
                bn.get(aspect).unwrap_or(&empty),
            );
            let added: Vec<String> = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
            let removed: Vec<String> = a.keys().filter(|k| !b.contains_key(*k)).cloned().collect();
            let counts: Vec<CountChange> = a
                .iter()
                .filter_map(|(k, &old)| {
                    let new = *b.get(k)?;
                    (old != new).then(|| CountChange {
                        key: k.clone(),
                        old,
                        new,
                    })
                })
                .collect();
            (!added.is_empty() || !removed.is_empty() || !counts.is_empty()).then_some(
                BehaviourChange {
                    aspect,
                    added,
                    removed,
                    counts,
                },
            )
        })
        .collect();
    Diff {
        old: side(old),
        new: side(new),
        application,
        scenario,
        agreement,
        checks,
        behaviour,
    }
}

fn aspect_label(aspect: &str, lang: Lang) -> &str {
    match (aspect, lang) {
        ("endpoints", Lang::Id) => "Endpoint yang dipanggil",
        ("endpoints", Lang::En) => "Endpoints called",
        ("operators", Lang::Id) => "Operator (User_ID) pada pencarian",
        ("operators", Lang::En) => "Operators (User_ID) on lookups",
        ("lookups", Lang::Id) => "Jumlah pencarian",
        ("lookups", Lang::En) => "Lookups",
        ("outcomes", Lang::Id) => "Kode respons pencarian",
        ("outcomes", Lang::En) => "Lookup response codes",
        ("elements", Lang::Id) => "Elemen data yang dijawab",
        ("elements", Lang::En) => "Data elements answered",
        ("balikan_keys", Lang::Id) => "Kunci data balikan yang dikirim",
        ("balikan_keys", Lang::En) => "Data balikan keys sent",
        (other, _) => other,
    }
}

fn outcome(o: Option<CheckOutcome>, lang: Lang) -> String {
    match (o, lang) {
        (Some(o), lang) => o.label(lang).to_string(),
        (None, Lang::Id) => "(tidak ada)".into(),
        (None, Lang::En) => "(absent)".into(),
    }
}

/// The report for people, in `lang`.
pub(crate) fn render_text(d: &Diff, lang: Lang) -> String {
    let t = |id: &'static str, en: &'static str| match lang {
        Lang::Id => id,
        Lang::En => en,
    };
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "{} {} ({}) → {} ({})",
        t("Perbandingan hasil PoC:", "PoC result comparison:"),
        d.old.session,
        d.old.verdict,
        d.new.session,
        d.new.verdict
    ));
    if d.is_empty() {
        line(t("Tidak ada perubahan.", "No changes.").into());
        return out;
    }
    for (title, changes) in [
        (t("Aplikasi", "Application"), &d.application),
        (t("Paket skenario", "Scenario pack"), &d.scenario),
        (t("Perjanjian (PKS)", "Agreement"), &d.agreement),
    ] {
        if changes.is_empty() {
            continue;
        }
        line(format!("{title}:"));
        for c in changes {
            line(format!("  {}: {} → {}", c.field, c.old, c.new));
        }
    }
    if !d.checks.is_empty() {
        line(
            t(
                "Pemeriksaan yang hasilnya berubah:",
                "Checks whose outcome changed:",
            )
            .into(),
        );
        for c in &d.checks {
            line(format!(
                "  {} {}: {} → {}",
                c.test_id,
                c.check,
                outcome(c.old, lang),
                outcome(c.new, lang)
            ));
        }
    }
    if !d.behaviour.is_empty() {
        line(
            t(
                "Perilaku yang teramati di mock:",
                "Behaviour seen at the mock:",
            )
            .into(),
        );
        for b in &d.behaviour {
            line(format!("  {}:", aspect_label(b.aspect, lang)));
            if !b.added.is_empty() {
                line(format!("    {} {}", t("baru:", "new:"), b.added.join(", ")));
            }
            if !b.removed.is_empty() {
                line(format!(
                    "    {} {}",
                    t("hilang:", "gone:"),
                    b.removed.join(", ")
                ));
            }
            for c in &b.counts {
                line(format!("    {}: {} → {}", c.key, c.old, c.new));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example;

    fn result(passing: bool, version: &str) -> PocResult {
        let mut s = example::session(passing);
        s.application.version = version.into();
        super::super::build_documents(&s, &example::fixed_key(), Lang::Id, "0", None)
            .unwrap()
            .result
    }

    #[test]
    fn names_changed_application_fields_checks_and_behaviour() {
        let old = result(true, "2.4.0");
        let mut new = result(false, "2.5.0");
        new.journal.rows[0].operator = None;
        let d = diff(&old, &new);
        assert_eq!(
            d.application,
            vec![FieldChange {
                field: "version".into(),
                old: "2.4.0".into(),
                new: "2.5.0".into()
            }]
        );
        assert!(!d.checks.is_empty());
        assert!(d.checks.iter().all(|c| c.old != c.new));
        let ops = d
            .behaviour
            .iter()
            .find(|b| b.aspect == "operators")
            .unwrap();
        assert!(
            ops.added.iter().any(|a| a.contains("no User_ID")),
            "{ops:?}"
        );
        let id = render_text(&d, Lang::Id);
        assert!(id.contains("Aplikasi:\n  version: 2.4.0 → 2.5.0"), "{id}");
        assert!(id.contains("Pemeriksaan yang hasilnya berubah:"), "{id}");
        let en = render_text(&d, Lang::En);
        assert!(en.contains("Checks whose outcome changed:"), "{en}");
        assert!(render_text(&diff(&old, &old), Lang::Id).contains("Tidak ada perubahan."));
    }
}
