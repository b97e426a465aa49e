//! Operator scripts of the Web Portal pack, as data (TOML): the people who work at the portal,
//! the account each logs in with, and what they do, step by step: log in, search a NIK (a
//! service event: a patient at the counter), log out, and the agency's data balikan for a NIK.
//!
//! A script stands in for the agency's operators: the browser driver plays it in headless
//! Chromium through the portal's real forms; the manual driver shows each step to the engineer.
//! The target file names one (`operator_script`), else the pack (`[pack] operator_script`).
//!
//! ```toml
//! [script]
//! id = "puskesmas-pagi"
//! title = "Dua petugas loket, masing-masing dengan akunnya"
//! residents = ["pasien-1", "pasien-2"]   # canaries the runner creates; searched by nik_ref
//!
//! [[people]]
//! id = "bidan-sri"
//! account = "petugas.portal01"           # a username of the target's [[operators]]
//!
//! [[steps]]
//! person = "bidan-sri"
//! action = "login"
//!
//! [[steps]]
//! person = "bidan-sri"
//! action = "search"
//! nik_ref = "pasien-1"
//! service = "pendaftaran pasien"
//!
//! [[steps]]
//! action = "balikan"
//! nik_ref = "pasien-1"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::file_error::{FileError, FileErrors, Source};
use crate::scenario::ScenarioPack;
use crate::target::Target;

/// An operator script as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptFile {
    /// What the script is.
    pub script: ScriptHeader,
    /// The people at the portal.
    pub people: Vec<Person>,
    /// What they do, in order.
    pub steps: Vec<ScriptStep>,
}

/// `[script]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptHeader {
    /// A short name for the evidence.
    pub id: String,
    /// One line on what it shows.
    #[serde(default)]
    pub title: String,
    /// Canary residents the runner creates for every test that plays the script, by name.
    #[serde(default)]
    pub residents: Vec<Spanned<String>>,
}

/// A person at the portal and the account they log in with.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Who (`bidan-sri`); each person has a browser of their own.
    pub id: Spanned<String>,
    /// The portal username they log in with: one of the target's `[[operators]]`.
    pub account: Spanned<String>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptAction {
    /// Log in through the portal's form.
    Login,
    /// Search one NIK (`nik_ref` or `nik`) and read what the portal shows.
    Search,
    /// Log out.
    Logout,
    /// The agency sends its data balikan for a NIK (by the balikan web service).
    Balikan,
}

/// One step of a script.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    /// Who acts (a `people` id); not needed for `balikan`.
    #[serde(default)]
    pub person: Option<Spanned<String>>,
    /// What they do.
    pub action: Spanned<ScriptAction>,
    /// A resident of `[script] residents`.
    #[serde(default)]
    pub nik_ref: Option<Spanned<String>>,
    /// A NIK as typed (a NIK no service asked for, for scripts that show a misuse).
    #[serde(default)]
    pub nik: Option<Spanned<String>>,
    /// The service the search is for (`pendaftaran pasien`), shown in the evidence.
    #[serde(default)]
    pub service: Option<String>,
    /// Balikan values by key; the agreement's required keys are filled in when left out.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// How long the person waits after the step, in ms (scaled like the pack's pauses: no).
    #[serde(default)]
    pub wait_ms: u64,
}

/// A validated script: every person's account is one of the target's operators.
#[derive(Debug, Clone)]
pub struct OperatorScript {
    /// Where it was read from.
    pub path: PathBuf,
    /// The script as written.
    pub file: ScriptFile,
}

impl OperatorScript {
    /// Parses and validates a script against the target's operators.
    pub fn from_source(src: &Source, target: &Target) -> Result<OperatorScript, FileErrors> {
        let file: ScriptFile = src.parse()?;
        let mut errors: Vec<FileError> = Vec::new();
        let accounts: BTreeSet<&str> = target
            .file
            .operators
            .iter()
            .map(|o| o.username.get_ref().as_str())
            .collect();
        let mut people = BTreeSet::new();
        for p in &file.people {
            if !people.insert(p.id.get_ref().as_str()) {
                errors.push(src.error_at(
                    p.id.span(),
                    "people.id",
                    format!("duplicate person `{}`", p.id.get_ref()),
                ));
            }
            if !accounts.contains(p.account.get_ref().as_str()) {
                errors.push(src.error_at(
                    p.account.span(),
                    "people.account",
                    format!(
                        "expected a username of the target's [[operators]] ({}), found `{}`",
                        accounts.iter().copied().collect::<Vec<_>>().join(", "),
                        p.account.get_ref()
                    ),
                ));
            }
        }
        if file.people.is_empty() {
            errors.push(src.error(Some("people"), "expected at least one [[people]]"));
        }
        let residents: BTreeSet<&str> = file
            .script
            .residents
            .iter()
            .map(|r| r.get_ref().as_str())
            .collect();
        for s in &file.steps {
            let action = *s.action.get_ref();
            match &s.person {
                Some(p) if !people.contains(p.get_ref().as_str()) => errors.push(src.error_at(
                    p.span(),
                    "steps.person",
                    format!("expected a person of [[people]], found `{}`", p.get_ref()),
                )),
                None if action != ScriptAction::Balikan => errors.push(src.error_at(
                    s.action.span(),
                    "steps.person",
                    "expected the person who acts (`person = \"...\"`)",
                )),
                _ => {}
            }
            let wants_nik = matches!(action, ScriptAction::Search | ScriptAction::Balikan);
            match (&s.nik_ref, &s.nik) {
                (Some(_), Some(n)) => errors.push(src.error_at(
                    n.span(),
                    "steps.nik",
                    "expected `nik_ref` or `nik`, not both",
                )),
                (None, None) if wants_nik => errors.push(src.error_at(
                    s.action.span(),
                    "steps.nik_ref",
                    "expected the NIK: `nik_ref = \"...\"` (a resident of [script]) or `nik = \"...\"`",
                )),
                (Some(r), None) if !residents.contains(r.get_ref().as_str()) => {
                    errors.push(src.error_at(
                        r.span(),
                        "steps.nik_ref",
                        format!(
                            "expected a resident of [script] residents, found `{}`",
                            r.get_ref()
                        ),
                    ))
                }
                (Some(r), None) | (None, Some(r)) if !wants_nik => errors.push(src.error_at(
                    r.span(),
                    "steps",
                    "a NIK is for `search` and `balikan` steps only",
                )),
                _ => {}
            }
        }
        if !file
            .steps
            .iter()
            .any(|s| *s.action.get_ref() == ScriptAction::Search)
        {
            errors.push(src.error(Some("steps"), "expected at least one `search` step"));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(FileErrors(errors));
        }
        Ok(OperatorScript {
            path: src.path.clone(),
            file,
        })
    }

    /// The script the session plays: the target's `operator_script`, else the pack's; `None`
    /// when neither names one.
    pub fn resolve(
        pack: &ScenarioPack,
        target: &Target,
    ) -> Result<Option<OperatorScript>, FileErrors> {
        let src = if let Some(p) = &target.file.operator_script {
            let base = target.path.parent().unwrap_or(Path::new("."));
            Source::read(&base.join(p))?
        } else if let Some(rel) = &pack.file.pack.operator_script {
            let on_disk = pack.path.parent().unwrap_or(Path::new(".")).join(rel);
            if on_disk.exists() {
                Source::read(&on_disk)?
            } else {
                crate::embedded::embedded_source(rel).ok_or_else(|| {
                    FileErrors::from(FileError {
                        path: on_disk.clone(),
                        line: None,
                        column: None,
                        key: Some("pack.operator_script".into()),
                        message: "the pack's operator script does not exist".into(),
                    })
                })?
            }
        } else {
            return Ok(None);
        };
        OperatorScript::from_source(&src, target).map(Some)
    }

    /// The account `person` logs in with.
    pub fn account_of(&self, person: &str) -> Option<&str> {
        self.file
            .people
            .iter()
            .find(|p| p.id.get_ref() == person)
            .map(|p| p.account.get_ref().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        let text = include_str!("../../scenarios/targets/portal-example.toml");
        Target::from_source(&Source::new("scenarios/targets/portal-example.toml", text)).unwrap()
    }

    #[test]
    fn shipped_script_is_valid() {
        let t = target();
        let name = "scenarios/portal/operator-script.toml";
        let text = include_str!("../../scenarios/portal/operator-script.toml");
        let s = OperatorScript::from_source(&Source::new(name, text), &t)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.file.people.len() >= 2, "{name}");
        let accounts: BTreeSet<&str> = s
            .file
            .people
            .iter()
            .map(|p| p.account.get_ref().as_str())
            .collect();
        assert_eq!(accounts.len(), s.file.people.len(), "one account each");
    }

    #[test]
    fn mistakes_are_positioned() {
        let text = "[script]\nid = \"x\"\nresidents = [\"a\"]\n\n[[people]]\nid = \"p\"\naccount = \"nobody\"\n\n[[steps]]\nperson = \"q\"\naction = \"search\"\nnik_ref = \"b\"\n";
        let e = OperatorScript::from_source(&Source::new("s.toml", text), &target())
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.toml:7:11: key `people.account`"), "{e}");
        assert!(e.contains("key `steps.person`: expected a person"), "{e}");
        assert!(
            e.contains("key `steps.nik_ref`: expected a resident"),
            "{e}"
        );
    }
}
