//! Writes a run's artefacts into its run directory. Every secret value the [`Redactor`]
//! knows is removed twice: from the results before anything renders them (so escaping in
//! XML, JSON or markdown cannot disguise a value from the redactor), and from every text
//! again just before it is written. The runner redacts too; this is defence in depth.

use crate::{card, comment, junit};
use ccci_core::results::RunResults;
use ccci_core::secret::Redactor;
use std::path::{Path, PathBuf};

pub const RESULTS_JSON: &str = "results.json";
pub const CARD_SVG: &str = "card.svg";
pub const CARD_PNG: &str = "card.png";
pub const COMMENT_MD: &str = "comment.md";
pub const JUNIT_XML: &str = "junit.xml";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("results do not serialise: {0}")]
    Json(#[from] serde_json::Error),
}

/// What was written.
#[derive(Debug, Default)]
pub struct Artefacts {
    pub paths: Vec<PathBuf>,
    /// The card PNG could not be rendered. Cosmetic: the other artefacts are written and
    /// the run's verdict does not change.
    pub card_png_error: Option<String>,
}

/// A copy of the results with every known secret value replaced in every string field.
pub fn redact_results(results: &RunResults, redactor: &Redactor) -> RunResults {
    if redactor.is_empty() {
        return results.clone();
    }
    let Ok(mut value) = serde_json::to_value(results) else {
        return results.clone();
    };
    redact_value(&mut value, redactor);
    // Redaction only rewrites strings, so the shape still deserialises; keep the original
    // shape otherwise rather than fail the write.
    serde_json::from_value(value).unwrap_or_else(|_| results.clone())
}

fn redact_value(value: &mut serde_json::Value, redactor: &Redactor) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = redactor.redact(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, redactor)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                redact_value(&mut v, redactor);
                map.insert(redactor.redact(&key), v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Writes `results.json`, `card.svg`, `card.png`, `comment.md` and `junit.xml` into `dir`
/// (created if missing).
pub fn write_run_dir(
    dir: &Path,
    results: &RunResults,
    redactor: &Redactor,
) -> Result<Artefacts, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let results = redact_results(results, redactor);
    let svg = redactor.redact(&card::svg(&results));
    let texts = [
        (
            RESULTS_JSON,
            redactor.redact(&serde_json::to_string_pretty(&results)?) + "\n",
        ),
        (CARD_SVG, svg.clone()),
        (
            COMMENT_MD,
            redactor.redact(&comment::markdown(&results, None)),
        ),
        (JUNIT_XML, redactor.redact(&junit::xml(&results))),
    ];
    let mut artefacts = Artefacts::default();
    for (name, text) in texts {
        artefacts.paths.push(write(dir, name, text.as_bytes())?);
    }
    match card::png(&svg) {
        Ok(png) => artefacts.paths.push(write(dir, CARD_PNG, &png)?),
        Err(e) => artefacts.card_png_error = Some(e.to_string()),
    }
    Ok(artefacts)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, WriteError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| WriteError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
