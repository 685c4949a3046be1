//! `ccci observe`: what cc-ci observes of a stack, with its judgement, as JSON.

use crate::exit::Exit;

#[derive(clap::Args)]
pub struct Args {
    /// The stack name (`docker stack ls`).
    stack: String,
}

pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let engine = ccci_adapters::engine::Engine::connect().await?;
    let services = engine.observe_stack(&args.stack).await?;
    let now_ms = ccci_adapters::clock::now_ms();
    let judgement = ccci_core::readiness::judge(
        &services,
        now_ms,
        ccci_core::readiness::CrashLoopPolicy::default(),
    );
    let snapshot = serde_json::json!({
        "stack": args.stack,
        "now_ms": now_ms,
        "judgement": format!("{judgement:?}"),
        "services": services,
    });
    println!("{}", serde_json::to_string_pretty(&snapshot)?);
    Ok(Exit::Success)
}
