//! A recipe on disk: its `.env.sample`, compose files and `abra.sh` exports, validated
//! before anything is created on the engine.

pub use crate::input_error::InputError;
use ccci_adapters::beneath::{BeneathError, Kind, Links, Root, CHECKOUT};
use ccci_core::envfile::EnvFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Recipe {
    pub name: String,
    pub dir: PathBuf,
    pub env_sample: EnvFile,
    /// `export KEY=VALUE` lines of `abra.sh` (version pins of configs, …).
    pub abra_exports: BTreeMap<String, String>,
}

impl Recipe {
    /// Reads a recipe directory. `name` overrides the name taken from the directory.
    pub fn load(dir: &Path, name: Option<&str>) -> Result<Recipe, InputError> {
        let shown = dir.display().to_string();
        if !dir.is_dir() {
            return Err(InputError::NotARecipe {
                path: shown,
                reason: "no such directory".into(),
            });
        }
        let checkout =
            Root::open(dir, Links::Inside, CHECKOUT).map_err(|e| InputError::NotARecipe {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let sample_path = dir.join(".env.sample");
        let file = sample_path.display().to_string();
        let text = match checkout.read_to_string(Path::new(".env.sample")) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => {
                return Err(InputError::NotARecipe {
                    path: shown,
                    reason: "no .env.sample; every Co-op Cloud recipe ships one".into(),
                })
            }
            Err(e) => return Err(refused(&file, e)),
        };
        let env_sample = EnvFile::parse(&text).map_err(|e| InputError::File {
            file: file.clone(),
            message: e.to_string(),
        })?;
        if env_sample.get("DOMAIN").is_none() {
            return Err(InputError::File {
                file,
                message: "no DOMAIN line; add `DOMAIN=<recipe>.example.com` (cc-ci replaces the value with the app's domain)".into(),
            });
        }
        let abra_path = dir.join("abra.sh").display().to_string();
        let abra_exports = match checkout.read_optional(Path::new("abra.sh")) {
            Ok(text) => abra_sh_exports(text.as_deref().unwrap_or_default()),
            Err(e) => return Err(refused(&abra_path, e)),
        };
        let name = match name {
            Some(n) => n.to_string(),
            None => dir
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "recipe".into()),
        };
        Ok(Recipe {
            name,
            dir: dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
            env_sample,
            abra_exports,
        })
    }

    /// The compose files `COMPOSE_FILE` selects (colon-separated; default `compose.yml`),
    /// as paths inside the recipe, each checked to exist.
    pub fn compose_files(&self, env: &EnvFile) -> Result<Vec<PathBuf>, InputError> {
        let list = env
            .get("COMPOSE_FILE")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or("compose.yml");
        let mut files = Vec::new();
        for name in list.split(':').map(str::trim).filter(|n| !n.is_empty()) {
            let path = self.dir.join(name);
            let kind = Root::open(&self.dir, Links::Inside, CHECKOUT)
                .and_then(|root| root.kind_if_any(Path::new(name)))
                .map_err(|e| refused(&path.display().to_string(), e))?;
            if kind != Some(Kind::File) {
                return Err(InputError::File {
                    file: self.dir.join(".env.sample").display().to_string(),
                    message: format!(
                        "COMPOSE_FILE names `{name}`, which is not in the recipe; fix the COMPOSE_FILE line or add the file"
                    ),
                });
            }
            files.push(path);
        }
        Ok(files)
    }

    /// The text of one of the recipe's files (`path` inside [`Recipe::dir`], or relative to
    /// it), read without following a link out of the checkout. A file that is not there is
    /// `Ok(None)`; one that escapes through a link is bad input naming it.
    pub fn read_text(&self, path: &Path) -> Result<Option<String>, InputError> {
        let rel = path.strip_prefix(&self.dir).unwrap_or(path);
        Root::open(&self.dir, Links::Inside, CHECKOUT)
            .and_then(|root| root.read_optional(rel))
            .map_err(|e| refused(&self.dir.join(rel).display().to_string(), e))
    }
}

/// The text of a compose file of a stack: the recipe's own (read inside its checkout) or a
/// suite overlay (checked to lie inside its suite directory when the suite named it).
pub fn read_stack_file(recipe: &Recipe, file: &Path) -> Result<String, InputError> {
    if !file.starts_with(&recipe.dir) {
        return std::fs::read_to_string(file).map_err(|e| InputError::File {
            file: file.display().to_string(),
            message: format!("cannot read: {e}"),
        });
    }
    recipe.read_text(file)?.ok_or_else(|| InputError::File {
        file: file.display().to_string(),
        message: "no such file in the recipe".into(),
    })
}

/// A recipe file cc-ci will not read (a link out of the checkout, a FIFO, not UTF-8):
/// bad input naming the file and why, never its content.
pub fn refused(file: &str, why: BeneathError) -> InputError {
    InputError::Unreadable {
        file: file.to_string(),
        why,
    }
}

/// `export KEY=VALUE` lines of an `abra.sh` (the rest of the script is ignored).
pub fn abra_sh_exports(text: &str) -> BTreeMap<String, String> {
    let exports: String = text
        .lines()
        .filter(|l| l.trim_start().starts_with("export ") && l.contains('='))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    EnvFile::parse(&exports)
        .map(|e| e.to_map())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abra_sh_exports_only() {
        let text = "#!/bin/bash\nexport APP_ENTRYPOINT_VERSION=v3\nexport NGINX_CONF_VERSION=v1\n\nfoo() {\n  echo hi\n}\n";
        let e = abra_sh_exports(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e["APP_ENTRYPOINT_VERSION"], "v3");
    }
}
