//! Property tests: damaged input files and result directories are reported, never a panic.

use std::path::Path;

use proptest::prelude::*;

use crate::file_error::Source;
use crate::scenario::{Requirements, ScenarioPack};
use crate::target::Target;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(name),
    )
    .unwrap()
}

/// `text` with the chars in `at..at+len` replaced by `with` (positions taken modulo the length).
fn damage(text: &str, at: usize, len: usize, with: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % chars.len().max(1);
    let end = (at + len).min(chars.len());
    chars[..at]
        .iter()
        .chain(with.chars().collect::<Vec<_>>().iter())
        .chain(chars[end..].iter())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn damaged_packs_and_targets_give_positioned_errors_not_panics(
        at in 0usize..100_000,
        len in 0usize..12,
        with in prop::sample::select(vec!["", "=", "\"", "[", "]", "{", "}", "x", "1", "\n", "é", "[[groups]]\n", "ref = 3"]),
    ) {
        let requirements = Requirements::from_source(&Source::new("requirements.toml", shipped("requirements.toml"))).unwrap();
        let text = damage(&shipped("standard-web-service.toml"), at, len, with);
        let lines = text.lines().count() + 1;
        if let Err(errors) = ScenarioPack::from_parts(&Source::new("p.toml", text.clone()), requirements) {
            for e in &errors.0 {
                prop_assert!(e.line.is_none_or(|l| l <= lines), "{e}");
                prop_assert!(e.to_string().starts_with("p.toml"), "{e}");
            }
        }
        let target = damage(&shipped("targets/example.toml"), at, len, with);
        if let Err(errors) = Target::from_source(&Source::new("t.toml", target)) {
            prop_assert!(!errors.0.is_empty());
        }
    }

    #[test]
    fn garbage_result_directories_fail_verification_without_panicking(json in prop::collection::vec(any::<u8>(), 0..400), sig in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(crate::result::JSON_FILE), &json).unwrap();
        std::fs::write(dir.path().join(crate::result::SIG_FILE), &sig).unwrap();
        std::fs::write(dir.path().join(crate::result::HTML_FILE), b"<html></html>").unwrap();
        let v = crate::result::verify_dir(dir.path(), None).unwrap();
        prop_assert!(!v.consistent());
    }
}
