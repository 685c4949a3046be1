//! A crate root's `# Layout`: the `//!` lines under that heading (to the next heading or
//! the end of the crate's doc) must name, in backticks, every module the root declares
//! (`` [`engine`] ``, `` `keycloak_standin` ``, `` `engine/` ``, `` `lint::…` ``).

use crate::source::{code_only, without_test_items};
use crate::tree::declared_modules;

/// The modules `root` (a crate root's text) declares that its `# Layout` does not name;
/// `None` when it has no `# Layout`.
pub fn unnamed(root: &str) -> Option<Vec<String>> {
    let layout = section(root)?;
    let declared = declared_modules(&without_test_items(&code_only(root)));
    Some(
        declared
            .into_iter()
            .filter(|m| !names(&layout, m))
            .collect(),
    )
}

/// The text of the `# Layout` section of the crate's `//!` doc.
fn section(root: &str) -> Option<String> {
    let doc: Vec<&str> = root
        .lines()
        .map(str::trim_start)
        .take_while(|l| l.starts_with("//!") || l.is_empty() || l.starts_with("#!["))
        .filter_map(|l| l.strip_prefix("//!"))
        .collect();
    let start = doc.iter().position(|l| l.trim() == "# Layout")?;
    let body = doc[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('#'))
        .copied()
        .collect::<Vec<_>>();
    Some(body.join("\n"))
}

fn names(layout: &str, module: &str) -> bool {
    ["`", "/`", "::"]
        .iter()
        .any(|end| layout.contains(&format!("`{module}{end}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_module_must_be_named() {
        let root = "//! A crate.\n//!\n//! # Layout\n//! - [`a`]: one.\n//! - `b/`: two, and `c::D`.\n//!\n//! # Other\n//! - [`e`]\n\npub mod a;\nmod b;\n#[cfg(feature = \"x\")]\npub mod c;\npub mod e;\n#[cfg(test)]\nmod tests;\n";
        assert_eq!(unnamed(root).unwrap(), ["e"]);
        assert_eq!(unnamed("//! No layout.\npub mod a;\n"), None);
    }
}
