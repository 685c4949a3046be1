//! The workspace's crates read from disk: every `crates/<dir>` with a `Cargo.toml` and a
//! `src/`, its package name and its `.rs` files.

use crate::tree::SourceCrate;
use std::collections::BTreeMap;
use std::path::Path;

/// Every crate under `<root>/crates`, by directory name.
pub fn read(root: &Path) -> std::io::Result<Vec<SourceCrate>> {
    let mut crates = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("crates"))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file() && p.join("src").is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))?;
        let mut files = BTreeMap::new();
        read_sources(&dir.join("src"), "", &mut files)?;
        crates.push(SourceCrate {
            name: package_name(&manifest).unwrap_or_else(|| dir.display().to_string()),
            files,
        });
    }
    Ok(crates)
}

fn read_sources(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            read_sources(&entry.path(), &format!("{prefix}{name}/"), files)?;
        } else if kind.is_file() && name.ends_with(".rs") {
            files.insert(
                format!("{prefix}{name}"),
                std::fs::read_to_string(entry.path())?,
            );
        }
    }
    Ok(())
}

/// `name = "…"` of the `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let package = manifest.split("[package]").nth(1)?;
    let package = package.split("\n[").next()?;
    package.lines().find_map(|l| {
        let value = l.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_string())
    })
}
