//! The scenario packs, the requirements catalogue and the office profiles of `scenarios/`,
//! embedded in the binary (as `mock-server` embeds its agreements), so that an installed
//! `poc-runner` works outside the checkout. A file given on the command line overrides them.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::file_error::{FileError, FileErrors, Source};
use crate::result::office::OfficeProfile;
use crate::scenario::{Requirements, ScenarioPack};

static SCENARIOS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../scenarios");

/// The pack `run` and `demo` play when none is named.
pub(crate) const DEFAULT_PACK: &str = "standard-web-service";

/// The names of the embedded packs: the top-level `*.toml` files of `scenarios/` with a
/// `[pack]` table.
pub(crate) fn pack_names() -> Vec<&'static str> {
    SCENARIOS
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .filter(|f| {
            f.contents_utf8()
                .is_some_and(|t| t.lines().any(|l| l.trim() == "[pack]"))
        })
        .filter_map(|f| f.path().file_stem()?.to_str())
        .collect()
}

/// The pack a `--scenario` argument names: an existing file; else an embedded pack by name
/// (`standard-web-service`, `standard-web-service.toml` or `scenarios/standard-web-service.toml`,
/// so that the README's commands work outside the checkout too); none: the default pack.
pub(crate) fn load_pack(arg: Option<&Path>) -> Result<ScenarioPack, FileErrors> {
    let name = match arg {
        Some(path) if path.exists() => return ScenarioPack::load(path),
        Some(path) => {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let from_scenarios = path
                .parent()
                .is_none_or(|p| p.as_os_str().is_empty() || p.ends_with("scenarios"));
            if !from_scenarios || !pack_names().contains(&name) {
                return Err(unknown_pack(path, name));
            }
            if path.extension().is_some() {
                eprintln!(
                    "poc-runner: {} does not exist here: playing the embedded pack `{name}`",
                    path.display()
                );
            }
            name.to_string()
        }
        None => DEFAULT_PACK.to_string(),
    };
    embedded_pack(&name)
}

fn unknown_pack(path: &Path, name: &str) -> FileErrors {
    let names = pack_names();
    let hint = crate::file_error::did_you_mean(name, names.iter().copied())
        .map(|m| format!("; did you mean `{m}`?"))
        .unwrap_or_default();
    FileError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        message: format!(
            "cannot read file: no such file or directory, nor an embedded pack of that name (embedded: {}){hint}",
            names.join(", ")
        ),
    }
    .into()
}

/// An embedded pack with the embedded catalogue it names; its hash is that of the same bytes
/// as the file in the checkout, so a result names the same pack either way.
pub(crate) fn embedded_pack(name: &str) -> Result<ScenarioPack, FileErrors> {
    let file = format!("{name}.toml");
    let src = embedded_source(&file).ok_or_else(|| unknown_pack(Path::new(&file), name))?;
    let file_form: crate::scenario::PackFile = src.parse()?;
    let requirements = embedded_source(&file_form.pack.requirements).ok_or_else(|| {
        FileErrors::from(src.error(
            Some("pack.requirements"),
            format!(
                "the embedded catalogue `{}` does not exist",
                file_form.pack.requirements
            ),
        ))
    })?;
    let requirements = Requirements::from_source(&requirements)?;
    ScenarioPack::from_parts(&src, requirements)
}

/// An embedded office profile (`scenarios/offices/NAME.toml`).
pub(crate) fn office(name: &str) -> Option<(OfficeProfile, PathBuf)> {
    let src = embedded_source(&format!("offices/{name}.toml"))?;
    Some((src.parse().ok()?, src.path))
}

pub(crate) fn embedded_source(rel: &str) -> Option<Source> {
    let f = SCENARIOS.get_file(rel)?;
    Some(Source::new(
        PathBuf::from("scenarios").join(rel),
        f.contents_utf8()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded pack is the checkout's, byte for byte; names, paths and typos resolve.
    #[test]
    fn embedded_packs_match_the_checkout_and_resolve_by_name() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let file = ScenarioPack::load(&dir.join("standard-web-service.toml")).unwrap();
        let mut names = pack_names();
        names.sort_unstable();
        assert_eq!(names, vec!["standard-web-portal", DEFAULT_PACK]);
        // The portal pack's operator script travels with it.
        let portal = load_pack(Some(Path::new("standard-web-portal"))).unwrap();
        let script = portal.file.pack.operator_script.as_deref().unwrap();
        assert!(embedded_source(script).is_some(), "{script}");
        for arg in [
            None,
            Some(Path::new("standard-web-service")),
            Some(Path::new("/nowhere/scenarios/standard-web-service.toml")),
        ] {
            let p = load_pack(arg).unwrap();
            assert_eq!(p.sha256, file.sha256);
            assert_eq!(p.requirements.sha256, file.requirements.sha256);
        }
        let e = load_pack(Some(Path::new("standard-web-servic")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `standard-web-service`?"), "{e}");
        assert!(load_pack(Some(Path::new("/elsewhere/x.toml"))).is_err());
        assert!(office("karanganyar").is_some());
    }
}
