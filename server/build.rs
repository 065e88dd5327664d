//! The release binary carries its site (docs/development.md, "Release
//! build"). With `HALE_EMBED_SITE` set to a built site's directory (or to
//! `1` for the workspace's `target/site`), every file of it goes into the
//! binary: `pkg/`'s wasm, JS, CSS and chunks, the files beside `pkg/`
//! (the favicon), and the `.br` and `.gz` that `cargo leptos build
//! --release --precompress` wrote beside each. `src/api/site.rs` serves
//! them. Without it (tests, `cargo leptos watch`) nothing is embedded and
//! the site is read from disk, so a rebuilt site never recompiles the
//! server.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hale_embedded_site)");
    println!("cargo::rerun-if-env-changed=HALE_EMBED_SITE");
    let Some(site) = env::var_os("HALE_EMBED_SITE").filter(|v| !v.is_empty()) else {
        return;
    };
    let site = if site == "1" {
        Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../target/site")
    } else {
        PathBuf::from(site)
    };
    let site = site
        .canonicalize()
        .unwrap_or_else(|e| panic!("HALE_EMBED_SITE: {}: {e}", site.display()));
    println!("cargo::rerun-if-changed={}", site.display());
    if !site.join("pkg/hale.js").is_file() {
        panic!(
            "HALE_EMBED_SITE: {} holds no built site (pkg/hale.js); build it first with scripts/release.sh",
            site.display()
        );
    }

    let mut files = Vec::new();
    walk(&site, &site, &mut files);
    files.sort();
    // The site's version, in its files' URLs: a change to any file of
    // pkg/ gives every file a new URL, so browsers may keep them forever.
    let mut hash = std::hash::DefaultHasher::new();
    let mut out = String::from("&[\n");
    for name in &files {
        let path = site.join(name);
        if name.starts_with("pkg/") {
            hash.write(name.as_bytes());
            hash.write(&fs::read(&path).unwrap());
        }
        let beside = |ext: &str| {
            let p = site.join(format!("{name}.{ext}"));
            if p.is_file() {
                format!("Some(include_bytes!({:?}))", p.display().to_string())
            } else {
                "None".into()
            }
        };
        out.push_str(&format!(
            "    File {{ path: {name:?}, raw: include_bytes!({:?}), gzip: {}, brotli: {} }},\n",
            path.display().to_string(),
            beside("gz"),
            beside("br"),
        ));
    }
    out.push(']');
    let generated = format!(
        "pub const VERSION: &str = \"{:016x}\";\npub static FILES: &[File] = {out};\n",
        hash.finish()
    );
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("site.rs");
    fs::write(dest, generated).unwrap();
    println!("cargo::rustc-cfg=hale_embedded_site");
}

/// Every file under `dir` but the precompressed copies, by its path
/// relative to `root` with `/` between its parts.
fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, files);
            continue;
        }
        let name = path.strip_prefix(root).unwrap();
        let name = name
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !name.ends_with(".gz") && !name.ends_with(".br") {
            files.push(name);
        }
    }
}
