//! Removing a run's stack and everything it left, bounded: what every run, seed, janitor
//! sweep and reconciler ends with.

use crate::engine::{Engine, Keep, StackObjects};
use std::time::Duration;

/// Removes the stack and everything it left (volumes, secrets, configs, networks), bounded
/// by 120 s. Returns what could not be removed (empty on a clean teardown). See
/// [`Engine::clear_stack`] for the order.
pub async fn teardown(engine: &Engine, stack_name: &str) -> StackObjects {
    engine
        .clear_stack(stack_name, Keep::Nothing, Duration::from_secs(120))
        .await
}
