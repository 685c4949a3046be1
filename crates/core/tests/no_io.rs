//! The architecture invariant "the core does no I/O" (ARCHITECTURE.md, Invariants), checked on
//! the source: no module of `ccci-core` names the standard library's files, processes,
//! network, environment, threads or clocks, and the crate depends only on crates that do
//! none either. A new dependency must be added to `PURE_DEPENDENCIES` with the reason it is
//! pure; I/O belongs in the runner (an adapter), never here.

use std::path::{Path, PathBuf};

/// What a module doing I/O would have to name.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "std::env",
    "std::thread",
    "std::io::stdin",
    "std::io::stdout",
    "SystemTime::now",
    "Instant::now",
    "tokio",
    "rand::",
];

/// The crates `ccci-core` may depend on: data formats and parsers, all pure.
const PURE_DEPENDENCIES: &[&str] = &[
    "serde",         // (de)serialising the models
    "serde_json",    // results.json, live events
    "serde_yaml_ng", // compose files, `docker stack config`'s output
    "thiserror",     // error types
    "toml",          // suite.toml
    "semver",        // release versions
    "roxmltree",     // JUnit XML a suite's tests write (read from a string)
    "humantime",     // `--keep` and suite durations (parsing only)
];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_module_of_the_core_names_files_processes_network_environment_or_clocks() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 10, "no sources found under {}", src.display());
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for word in FORBIDDEN.iter().filter(|w| code.contains(*w)) {
                offences.push(format!("{}:{}: {word}", file.display(), number + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "ccci-core must do no I/O (ARCHITECTURE.md, Invariants); move this to the runner, \
         or pass the value in:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_core_depends_only_on_pure_crates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let deps = table["dependencies"].as_table().unwrap();
    let impure: Vec<&String> = deps
        .keys()
        .filter(|name| !PURE_DEPENDENCIES.contains(&name.as_str()))
        .collect();
    assert!(
        impure.is_empty(),
        "{}: [dependencies] {impure:?} not known to be pure; ccci-core does no I/O \
         (ARCHITECTURE.md, Invariants): add it to PURE_DEPENDENCIES in {} saying why, or use it \
         in the runner",
        manifest.display(),
        file!()
    );
}
