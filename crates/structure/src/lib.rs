//! The workspace's structure, checked: no module of any crate reaches, through the paths
//! it names, a module that reaches back to it (an import circle), and every crate root's
//! `# Layout` names each module it declares. The crate direction (`ccci-hostjobs` →
//! `ccci-runner` → `ccci-adapters`, everything → `ccci-core`) is the compiler's to check;
//! the circles within a crate are this crate's. And no function is far longer than a
//! screen. (`tests/workspace.rs` runs these checks on the tree in the normal test suite.)
//!
//! # Layout
//! - [`source`]: a Rust file's code without comments, string and char literals, and
//!   `#[cfg(test)]` items.
//! - [`tree`]: a crate's module tree, followed from its root through `mod name;`.
//! - [`imports`]: the crate-rooted paths a module names (`crate::`, `super::` leaving it,
//!   `crate::{a, b}` groups), resolved to the modules they reach.
//! - [`circle`]: the import graph of a crate's top-level modules, and its first circle.
//! - [`layout`]: the modules a crate root declares that its `# Layout` does not name.
//! - [`functions`]: the functions a module defines and the lines each spans.
//! - [`workspace`]: the crates of the workspace read from disk (the only I/O).
pub mod circle;
pub mod functions;
pub mod imports;
pub mod layout;
pub mod source;
pub mod tree;
pub mod workspace;

use circle::Graph;
use functions::Function;
use tree::SourceCrate;

/// The import graph of `krate`'s top-level modules: an edge `a → b` when a file of `a`
/// names a crate-rooted path into `b` (the first place it does so kept as evidence).
pub fn import_graph(krate: &SourceCrate) -> Graph {
    let mut graph = Graph::default();
    for module in tree::modules(krate) {
        let Some(from) = module.path.first() else {
            continue; // the crate root: its paths into its modules are their declarations
        };
        graph.node(from);
        for import in imports::crate_paths(&module.code, &module.path) {
            if let Some(to) = import.target.first().filter(|to| *to != from) {
                if krate.is_top_module(to) {
                    let at = format!("{}:{}", module.file, import.line);
                    graph.edge(from, to, &at);
                }
            }
        }
    }
    graph
}

/// Every crate's first import circle, one line each (`crate: a → b → a`, with where each
/// step is named); empty when there is none.
pub fn circles(crates: &[SourceCrate]) -> Vec<String> {
    crates
        .iter()
        .filter_map(|krate| {
            let graph = import_graph(krate);
            let found = graph.first_circle()?;
            Some(format!("{}: {}", krate.name, graph.describe(&found)))
        })
        .collect()
}

/// Every crate root whose `# Layout` misses a module it declares (or that has none, for a
/// library), one line each; empty when all name theirs.
pub fn unnamed_modules(crates: &[SourceCrate]) -> Vec<String> {
    crates
        .iter()
        .filter_map(|krate| {
            let (file, text) = krate.root()?;
            let missing = match layout::unnamed(text) {
                Some(missing) => missing,
                None if file == "lib.rs" => {
                    return Some(format!(
                        "{}: src/lib.rs has no `# Layout` section naming its modules",
                        krate.name
                    ))
                }
                None => return None,
            };
            (!missing.is_empty()).then(|| {
                format!(
                    "{}: src/{file}'s `# Layout` does not name {}",
                    krate.name,
                    missing.join(", ")
                )
            })
        })
        .collect()
}

/// A function longer than the limit, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongFunction {
    pub krate: String,
    /// Relative to the crate's `src/`.
    pub file: String,
    pub function: Function,
}

impl std::fmt::Display for LongFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Function { name, line, lines } = &self.function;
        let (krate, file) = (&self.krate, &self.file);
        write!(f, "{krate}: src/{file}:{line} {name} ({lines} lines)")
    }
}

/// Every function of every crate's modules (test items left out) longer than `limit`
/// lines.
pub fn long_functions(crates: &[SourceCrate], limit: usize) -> Vec<LongFunction> {
    let mut long = Vec::new();
    for krate in crates {
        for module in tree::modules(krate) {
            for function in functions::functions(&module.code) {
                if function.lines > limit {
                    long.push(LongFunction {
                        krate: krate.name.clone(),
                        file: module.file.clone(),
                        function,
                    });
                }
            }
        }
    }
    long
}
