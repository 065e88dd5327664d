//! The server's modules form layers, leaves first, as `lib.rs` lists them:
//! a module may use the ones before it, never one after. So there is no
//! import circle, and a module can be read knowing only those it names.
//! This reads every source file (tests inside them aside) for `crate::…`
//! paths and `use super::…` out of a top-level module, and checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, leaves first (`lib.rs`'s tour says why).
const LAYERS: &[&str] = &[
    "de",
    "duration",
    "clock",
    "event",
    "condition",
    "probe",
    "history",
    "config",
    "store",
    "live",
    "ops",
    "engine",
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

/// The top-level modules `source` names through `crate::`.
fn named(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if rest.starts_with('{') {
            // `use crate::{a::x, b};`
            let end = rest.find('}').unwrap_or(rest.len());
            for part in rest[1..end].split(',') {
                let module: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !module.is_empty() {
                    found.insert(module);
                }
            }
        } else {
            let module: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(module);
        }
    }
    found
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
        for module in named(&without_tests(&source)) {
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
    let found = named(&without_tests(source));
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "e"]);
}
