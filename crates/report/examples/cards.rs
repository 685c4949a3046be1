//! Writes the example cards of the docs, each beside the `results.json` it renders:
//! `cargo run -p ccci-report --example cards -- docs/cards`.

use ccci_report::{card, fixtures};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "docs/cards".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let examples = [
        ("green-l5", fixtures::green_l5()),
        ("red-lint", fixtures::red_lint()),
        ("green-lint-inherited", fixtures::green_lint_inherited()),
        ("red-l1-crash-loop", fixtures::red_l1_crash_loop()),
        ("l2-intentional-skip", fixtures::l2_intentional_skip()),
        ("red-upgrade-path", fixtures::red_upgrade_path()),
    ];
    for (name, results) in examples {
        let svg = card::svg(&results);
        std::fs::write(dir.join(format!("{name}.json")), results.to_json() + "\n")?;
        std::fs::write(dir.join(format!("{name}.svg")), &svg)?;
        std::fs::write(dir.join(format!("{name}.png")), card::png(&svg)?)?;
        println!("{}", dir.join(format!("{name}.png")).display());
    }
    Ok(())
}
