//! The server's modules form layers, leaves first, as `lib.rs` lists them:
//! a module may use the ones before it, never one after. So there is no
//! import circle, and a module can be read knowing only those it names.
//! This reads every source file (tests inside them aside) for `crate::…`
//! paths and `use super::…` out of a top-level module, and checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, leaves first (`lib.rs`'s tour says why).
const LAYERS: &[&str] = &[
    "memory",
    "de",
    "duration",
    "clock",
    "event",
    "condition",
    "probe",
    "history",
    "config",
    "store",
    "auth",
    "live",
    "ops",
    "engine",
    "alert",
    "api",
    "runtime",
    "cli",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without its `#[cfg(test)]` items: the test module at the
/// end of a file, and any other item so marked.
fn without_tests(source: &str) -> String {
    let mut kept = String::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            // Skip the item: up to its closing brace at the same indent,
            // or its end on one line.
            let indent = line.len() - line.trim_start().len();
            for item in lines.by_ref() {
                let closes = item.len() - item.trim_start().len() == indent
                    && (item.trim_start().starts_with('}') || item.trim_end().ends_with(';'));
                if closes {
                    break;
                }
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The top-level modules `source` names through `crate::`, or through as
/// many `super::` as climb out of its file's module (`depth`: 1 for
/// `src/a.rs` and `src/a/mod.rs`, 2 for `src/a/b.rs`).
fn named(source: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let climb_out = "super::".repeat(depth);
    for prefix in ["crate::", climb_out.as_str()] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            // `super::super::x` in a deeper file is found by its own count.
            let preceded = code.len() - rest.len() + at;
            rest = &rest[at + prefix.len()..];
            if prefix.starts_with("super") && code[..preceded].ends_with("super::") {
                continue;
            }
            if rest.starts_with("super::") {
                continue;
            }
            for module in heads(rest) {
                found.insert(module);
            }
        }
    }
    found
}

/// The first segment of a path, or of each path in a `{…}` group (nested
/// groups inside are one part each).
fn heads(path: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = path.strip_prefix('{') else {
        return vec![ident(path)];
    };
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .map(ident)
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn every_module_uses_only_the_layers_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        assert!(
            rank(&top).is_some(),
            "src/{top} is not in LAYERS: place it among the layers (and in lib.rs's tour)"
        );
        let source = std::fs::read_to_string(file).unwrap();
        // `src/a.rs` and `src/a/mod.rs` are one level down, `src/a/b.rs` two.
        let mut depth = relative.components().count();
        if relative.ends_with("mod.rs") {
            depth -= 1;
        }
        for module in named(&without_tests(&source), depth) {
            if module != top {
                uses.entry(top.clone()).or_default().insert(module);
            }
        }
    }
    let mut wrong = Vec::new();
    for (module, used) in &uses {
        for other in used {
            match (rank(module), rank(other)) {
                (Some(a), Some(b)) if b > a => {
                    wrong.push(format!("{module} uses {other}, a layer above it"))
                }
                (_, None) => wrong.push(format!("{module} uses {other}, which is not a module")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The check must see something: the engine does use the probes.
    assert!(uses["engine"].contains("probe"), "{uses:?}");
}

#[test]
fn the_reader_finds_imports_in_every_form() {
    let source = "use crate::{a::x, b};\nuse crate::c::D;\nfn f() { crate::e::g() }\n// crate::comment\n#[cfg(test)]\nmod tests {\n    use crate::t;\n}\n";
    let found = named(&without_tests(source), 1);
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "e"]);
    // Nested groups, and `super::` that leaves the file's top module.
    let nested =
        "use crate::{a::{x, y}, b::{self, z}, c};\nuse super::super::d::E;\nuse super::sibling;\n";
    let found = named(nested, 2);
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    // In `src/a.rs`, one `super::` is the crate already.
    assert_eq!(
        named("use super::f::G;", 1).into_iter().collect::<Vec<_>>(),
        ["f"]
    );
}
