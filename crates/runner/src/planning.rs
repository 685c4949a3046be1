//! The facts a run's plan is decided from — the request, the rig, the checkouts, the judging
//! suite and the warm canonical — gathered for the core's pure [`ccci_core::plan`].

use crate::recipe::InputError;
use crate::request::{Rig, RunRequest};
use crate::source::Checkouts;
use ccci_core::plan::{self, Asked, Role, RunPlan};
use ccci_core::suite::Suite;

/// What the request asks, as planning sees it.
pub fn asked(request: &RunRequest) -> Asked {
    Asked {
        quick: request.quick,
        git_ref: request.git_ref.is_some(),
        stages: request.stages.clone(),
    }
}

/// The dependencies this rig provides to suites that declare them.
pub fn rig_dependencies(rig: &Rig) -> Vec<&'static str> {
    let mut deps = Vec::new();
    if rig.keycloak.is_some() {
        deps.push(ccci_adapters::keycloak::DEPENDENCY);
    }
    deps
}

/// Plans the run of `checkouts` judged by `suite`; `canonical` is the version of the warm
/// canonical a quick run found (read under its lock).
pub fn plan_run(
    request: &RunRequest,
    role: Role,
    suite: &Suite,
    checkouts: &Checkouts,
    canonical: Option<&str>,
) -> Result<RunPlan, InputError> {
    let asked = asked(request);
    let rig_dependencies = rig_dependencies(&request.rig);
    plan::plan(&plan::PlanInput {
        role,
        recipe: &checkouts.head.recipe.name,
        asked: &asked,
        suite,
        releases: &checkouts.releases,
        head_commit: checkouts.head.commit.as_deref(),
        ancestors: &checkouts.ancestors,
        canonical,
        rig_dependencies: &rig_dependencies,
    })
    .map_err(InputError::from)
}
