//! The module graph of every crate, read from its sources: no circle of imports among a crate's
//! top-level modules, and no layer of mock-server importing a layer above it
//! (`cli` → `http` → `core` → `db`).
//!
//! A module's imports are the `crate::…` (and, from a top-level module's own file, `super::…`)
//! paths in its code, comments left out. A path to an item the crate root re-exports
//! (`crate::Sex`) counts as an import of the module it comes from. Unit-test code (`tests.rs`
//! files, a trailing `#[cfg(test)] mod tests { … }`) is left out: tests may share fixtures
//! across modules without making the modules depend on each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// mock-server's layers, lowest first; `config` stands beside them.
const LAYERS: [&str; 4] = ["db", "core", "http", "cli"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Crate directories: every `Cargo.toml` with a `src/` beside it (no `target`, no `.git`).
fn crates(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() && !name.starts_with('.') && name != "target" && name != "src" {
                stack.push(p);
            } else if name == "Cargo.toml" && dir.join("src").is_dir() {
                out.push(dir.clone());
            }
        }
    }
    out.sort();
    out
}

/// `.rs` files under `src`, except `src/bin` (separate crates), with their module path.
fn sources(src: &Path) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read src").flatten() {
            let p = e.path();
            if p.is_dir() {
                if p != src.join("bin") {
                    stack.push(p);
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).expect("under src");
            let mut module: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod")) {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            if module.last().is_some_and(|m| m == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("read source");
            out.push((module, without_unit_tests(&text).to_string()));
        }
    }
    out
}

/// The text before an inline unit-test module (by convention the last item of a file).
fn without_unit_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The code without `//` comments (doc links name modules without importing them).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// First segments of the paths after each `prefix` (`crate::`, `super::`), groups included:
/// `crate::{a::X, b}` gives `a` and `b`.
fn first_segments(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        // `$crate::`, `dukcapil_domain::crate::` and the like are not this crate's paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c != ',' {
                    item.push(c);
                }
            }
            items.push(item);
            out.extend(
                items
                    .iter()
                    .map(|i| ident_at(i.trim()).to_string())
                    .filter(|i| !i.is_empty()),
            );
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// Item name → top-level module, from the root's `pub use module::…` re-exports.
fn reexports(root_code: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in root_code.split(';') {
        let Some(at) = stmt.find("pub use ") else {
            continue;
        };
        let path = stmt[at + "pub use ".len()..].trim();
        let module = ident_at(path);
        if !modules.contains(module) {
            continue;
        }
        let tail = &path[module.len()..];
        let names: Vec<&str> = match (tail.find('{'), tail.rfind('}')) {
            (Some(a), Some(b)) => tail[a + 1..b].split(',').collect(),
            _ => vec![tail.rsplit("::").next().unwrap_or("")],
        };
        for n in names {
            // `a::b::Item as Alias`: the alias is the name the crate uses.
            let n = n.trim();
            let name = n.rsplit(" as ").next().unwrap_or(n);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() && name != "*" {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// The top-level module graph of one crate's sources (module path, text).
fn graph(sources: &[(Vec<String>, String)]) -> Graph {
    let modules: BTreeSet<String> = sources
        .iter()
        .filter_map(|(m, _)| m.first().cloned())
        .collect();
    let root_code: String = sources
        .iter()
        .filter(|(m, _)| m.is_empty())
        .map(|(_, t)| code(t))
        .collect();
    let items = reexports(&root_code, &modules);
    let mut g: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (module, text) in sources {
        let Some(top) = module.first() else {
            continue;
        };
        let code = code(text);
        let mut targets = first_segments(&code, "crate::");
        // From a top-level module's own file, `super::` is the crate root.
        if module.len() == 1 {
            targets.extend(first_segments(&code, "super::"));
        }
        for t in targets {
            let to = if modules.contains(&t) {
                Some(t)
            } else {
                items.get(&t).cloned()
            };
            if let Some(to) = to.filter(|to| to != top) {
                g.entry(top.clone()).or_default().insert(to);
            }
        }
    }
    g
}

/// A circle of the graph (first node repeated at the end), if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, g, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut done, &mut Vec::new()))
}

/// Imports of a lower layer from a higher one, as `from -> to`.
fn upward(g: &Graph) -> Vec<String> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    g.iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
        .filter(|(from, to)| matches!((rank(from), rank(to)), (Some(a), Some(b)) if b > a))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect()
}

#[test]
fn no_circles_of_imports_and_no_upward_layer_imports() {
    let root = workspace();
    let crates = crates(&root);
    assert!(
        crates.iter().any(|c| c.ends_with("mock-server")),
        "{crates:?}"
    );
    let mut problems = Vec::new();
    for dir in &crates {
        let g = graph(&sources(&dir.join("src")));
        let name = dir.strip_prefix(&root).unwrap_or(dir).display().to_string();
        if let Some(cycle) = find_cycle(&g) {
            problems.push(format!("{name}: circle {}", cycle.join(" -> ")));
        }
        if name == "mock-server" {
            for m in LAYERS {
                assert!(g.contains_key(m), "mock-server has no `{m}` module: {g:?}");
            }
            for u in upward(&g) {
                problems.push(format!("mock-server: upward import {u}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn src(files: &[(&str, &str)]) -> Vec<(Vec<String>, String)> {
    files
        .iter()
        .map(|(m, t)| {
            let module = if m.is_empty() {
                vec![]
            } else {
                m.split("::").map(String::from).collect()
            };
            (module, t.to_string())
        })
        .collect()
}

/// The checker itself: today's domain circle before `Sex` moved (through a root re-export),
/// grouped imports, comments ignored, and an upward layer import.
#[test]
fn the_checker_finds_circles_and_upward_imports() {
    let before = src(&[
        (
            "",
            "pub mod nik;\npub mod resident;\npub use resident::{\n    Resident, Sex,\n};",
        ),
        ("nik", "use crate::Sex;\n"),
        ("resident", "use crate::nik::{Nik, NoKk};\n"),
    ]);
    let cycle = find_cycle(&graph(&before)).expect("nik <-> resident");
    assert!(cycle.contains(&"nik".to_string()) && cycle.contains(&"resident".to_string()));

    let after = src(&[
        ("", "pub use nik::Sex;"),
        ("nik", "// see crate::resident::Resident\n"),
        ("resident", "use crate::{nik::{Nik, Sex}, other};\n"),
        ("other", ""),
    ]);
    let g = graph(&after);
    assert_eq!(find_cycle(&g), None, "{g:?}");
    assert_eq!(
        g["resident"],
        BTreeSet::from(["nik".to_string(), "other".to_string()])
    );

    let layered = src(&[
        ("db", "use crate::core::Core;\n"),
        ("core", "use super::db::Writer;\n"),
        ("core::state", "use super::super::http::AppState;\n"),
        ("http", "use crate::core::Core;\n"),
    ]);
    let g = graph(&layered);
    assert_eq!(upward(&g), vec!["db -> core".to_string()]);
    assert!(find_cycle(&g).is_some());
}
