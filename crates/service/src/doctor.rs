//! `ccci doctor --config FILE`: the checks that need the service's configuration — the
//! forge reachable with the token's scope, and the shared Keycloak's admin login.

use crate::app::Forge;
use crate::config::Config;
use ccci_core::doctor::Check;
use ccci_forge::trigger::Permission;

pub async fn config_checks(config: &Config) -> Vec<Check> {
    let mut checks = vec![Check::ok("config", "valid")];
    if let Some(forge) = &config.forge {
        checks.extend(forge_checks(forge).await);
    }
    if let Some(kc) = &config.rig.keycloak {
        checks.push(match ccci_adapters::keycloak::Keycloak::new(kc) {
            Ok(client) => match client.list_realms().await {
                Ok(realms) => Check::ok(
                    "keycloak",
                    format!("{}: admin login works ({} realms)", kc.url, realms.len()),
                ),
                Err(e) => Check::fail(
                    "keycloak",
                    format!("{}: {e}", kc.url),
                    "check [keycloak] url, admin_user and the password file",
                ),
            },
            Err(e) => Check::fail(
                "keycloak",
                e.to_string(),
                "check [keycloak] url, admin_user and the password file",
            ),
        });
    }
    checks
}

/// Reading pulls needs a read-only token; statuses and comments need write access.
async fn forge_checks(config: &crate::config::ForgeConfig) -> Vec<Check> {
    let forge = match Forge::new(config) {
        Ok(f) => f,
        Err(e) => {
            return vec![Check::fail(
                "forge",
                format!("{e:#}"),
                "check [forge] url and repos",
            )]
        }
    };
    let Some((repo, _)) = forge.repos.first() else {
        return vec![Check::warn(
            "forge",
            "no repositories to watch",
            "list them in [forge] repos",
        )];
    };
    let mut checks = Vec::new();
    match forge.client.list_open_pulls(repo).await {
        Ok(pulls) => checks.push(Check::ok(
            "forge",
            format!(
                "{}: {repo} readable ({} open pull requests)",
                config.url,
                pulls.len()
            ),
        )),
        Err(e) => {
            checks.push(Check::fail(
                "forge",
                format!("{}: {repo}: {e}", config.url),
                "check the URL and that the token can read the repository",
            ));
            return checks;
        }
    }
    checks.push(
        match forge.client.permission(repo, &config.bot_login).await {
            Ok(Permission::Write | Permission::Admin | Permission::Owner) => Check::ok(
                "forge token",
                format!(
                    "{} may write to {repo}: statuses and comments work",
                    config.bot_login
                ),
            ),
            Ok(_) => Check::warn(
                "forge token",
                format!(
                    "{} can only read {repo}: runs start, but statuses and comments will fail",
                    config.bot_login
                ),
                "give the bot write access to the repository (polling alone needs read)",
            ),
            Err(e) => Check::warn(
                "forge token",
                format!("cannot tell {}'s access to {repo}: {e}", config.bot_login),
                "check [forge] bot_login",
            ),
        },
    );
    checks
}
