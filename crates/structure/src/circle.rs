//! The import graph of a crate's modules and its first circle: a module that reaches,
//! through the paths its code names, a module whose paths lead back to it.

use std::collections::BTreeMap;

/// Modules and, for each edge `from → to`, where `from` first names `to` (`file:line`).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    pub fn node(&mut self, name: &str) {
        self.edges.entry(name.to_string()).or_default();
    }

    /// `from` names `to` at `at`; the first place is kept.
    pub fn edge(&mut self, from: &str, to: &str, at: &str) {
        self.node(to);
        self.edges
            .entry(from.to_string())
            .or_default()
            .entry(to.to_string())
            .or_insert_with(|| at.to_string());
    }

    /// A circle as the path of its modules, the first one repeated at its end
    /// (`[a, b, a]`); `None` when the graph has none. Depth-first in name order, so the
    /// same tree always reports the same circle.
    pub fn first_circle(&self) -> Option<Vec<String>> {
        let mut done: Vec<&str> = Vec::new();
        for start in self.edges.keys() {
            let mut path = Vec::new();
            if let Some(circle) = self.walk(start, &mut path, &mut done) {
                return Some(circle);
            }
        }
        None
    }

    fn walk<'a>(
        &'a self,
        node: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut circle: Vec<String> = path[at..].iter().map(|n| n.to_string()).collect();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(&node) {
            return None;
        }
        path.push(node);
        for next in self.edges.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(circle) = self.walk(next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.push(node);
        None
    }

    /// `a → b (a.rs:3) → a (b.rs:7)`: each step with where it is named.
    pub fn describe(&self, circle: &[String]) -> String {
        let mut text = circle.first().cloned().unwrap_or_default();
        for pair in circle.windows(2) {
            let at = &self.edges[&pair[0]][&pair[1]];
            text.push_str(&format!(" → {} ({at})", pair[1]));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::default();
        for (i, (from, to)) in edges.iter().enumerate() {
            g.edge(from, to, &format!("{from}.rs:{i}"));
        }
        g
    }

    #[test]
    fn a_planted_circle_is_found_as_a_path() {
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "d"), ("d", "b"), ("a", "d")]);
        assert_eq!(g.first_circle().unwrap(), ["b", "c", "d", "b"]);
        assert_eq!(
            g.describe(&g.first_circle().unwrap()),
            "b → c (b.rs:1) → d (c.rs:2) → b (d.rs:3)"
        );
    }

    #[test]
    fn a_two_module_circle_and_a_self_free_dag() {
        assert_eq!(
            graph(&[("lint", "results"), ("results", "lint")])
                .first_circle()
                .unwrap(),
            ["lint", "results", "lint"]
        );
        // A diamond is no circle.
        let dag = graph(&[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("e", "a")]);
        assert_eq!(dag.first_circle(), None);
        assert_eq!(Graph::default().first_circle(), None);
    }
}
