//! Names cc-ci gives things, following abra where abra has a rule.

use crate::compose::StackModel;
use crate::envfile::EnvFile;
use thiserror::Error;

/// abra cuts sanitised app names (stack names) to this many characters.
pub const MAX_STACK_NAME_LEN: usize = 45;
/// Docker refuses secret names longer than this.
pub const MAX_SECRET_NAME_LEN: usize = 64;
/// Length of a generated secret when `.env.sample` gives no `length=` modifier.
pub const DEFAULT_SECRET_LENGTH: usize = 32;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NamingError {
    #[error("secret name {name:?} is {len} characters; Docker allows {MAX_SECRET_NAME_LEN}. Shorten the secret's key in compose.yml or the CI domain")]
    SecretNameTooLong { name: String, len: usize },
    #[error(
        ".env.sample line {line}: `{key}` has `length={value}`; use a whole number from 4 to 4096"
    )]
    BadLength {
        key: String,
        line: usize,
        value: String,
    },
}

/// `<first 4 chars of recipe>-<6 hex>.<ci domain>`; the recipe prefix keeps only
/// lowercase letters and digits so the result is a valid DNS label.
pub fn app_domain(recipe: &str, hex6: &str, ci_domain: &str) -> String {
    let prefix: String = recipe
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(4)
        .collect();
    let prefix = if prefix.is_empty() {
        "app".to_string()
    } else {
        prefix
    };
    format!("{prefix}-{hex6}.{ci_domain}")
}

/// The stable domain of a recipe's warm canonical (docs/behaviour.md §6): `warm-<recipe>.<ci
/// domain>`, the recipe name kept to lowercase letters, digits and `-` so it is a valid DNS label.
pub fn warm_domain(recipe: &str, ci_domain: &str) -> String {
    let name: String = recipe
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let name = if name.is_empty() {
        "app".to_string()
    } else {
        name
    };
    format!("warm-{name}.{ci_domain}")
}

/// The swarm stack name abra derives from an app's domain: dots become underscores, cut to
/// [`MAX_STACK_NAME_LEN`].
pub fn stack_name(domain: &str) -> String {
    domain
        .replace('.', "_")
        .chars()
        .take(MAX_STACK_NAME_LEN)
        .collect()
}

/// abra's secret naming: `<stack>_<secret>_<version>`.
pub fn secret_name(stack: &str, secret: &str, version: &str) -> Result<String, NamingError> {
    let name = format!("{stack}_{secret}_{version}");
    if name.len() > MAX_SECRET_NAME_LEN {
        return Err(NamingError::SecretNameTooLong {
            len: name.len(),
            name,
        });
    }
    Ok(name)
}

/// A secret the app needs, as `.env.sample` and the compose files declare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSpec {
    /// The compose key, e.g. `db_password`.
    pub key: String,
    /// `SECRET_DB_PASSWORD_VERSION`.
    pub env_var: String,
    pub version: String,
    pub length: usize,
    /// `generate=false`: the operator inserts it by hand; cc-ci cannot, so it still generates
    /// one for the run (an app under test needs a value) and says so.
    pub generate: bool,
    /// The engine name: `<stack>_<key>_<version>`.
    pub engine_name: String,
}

/// The secrets to create before the first deploy: every top-level compose secret, named as
/// abra names it, sized by the `length=` modifier of its `SECRET_<KEY>_VERSION` line.
pub fn secret_specs(
    stack_name: &str,
    env: &EnvFile,
    stack: &StackModel,
) -> Result<Vec<SecretSpec>, NamingError> {
    let mut specs = Vec::new();
    for (key, declared_name) in &stack.secrets {
        let env_var = format!("SECRET_{}_VERSION", key.to_ascii_uppercase());
        let entry = env.entry(&env_var);
        let version = entry
            .map(|e| e.value.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "v1".to_string());
        let length = match entry.and_then(|e| e.modifiers.get("length")) {
            None => DEFAULT_SECRET_LENGTH,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (4..=4096).contains(n))
                .ok_or_else(|| NamingError::BadLength {
                    key: env_var.clone(),
                    line: entry.map(|e| e.line).unwrap_or(0),
                    value: raw.clone(),
                })?,
        };
        let generate = entry
            .and_then(|e| e.modifiers.get("generate"))
            .is_none_or(|v| v != "false");
        let engine_name = match declared_name {
            Some(name) if !name.is_empty() => name.clone(),
            _ => secret_name(stack_name, key, &version)?,
        };
        if engine_name.len() > MAX_SECRET_NAME_LEN {
            return Err(NamingError::SecretNameTooLong {
                len: engine_name.len(),
                name: engine_name,
            });
        }
        specs.push(SecretSpec {
            key: key.clone(),
            env_var,
            version,
            length,
            generate,
            engine_name,
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::load_stack;

    #[test]
    fn warm_domain_is_stable_and_its_stack_starts_with_warm() {
        assert_eq!(
            warm_domain("fixture-web", "ci.local"),
            "warm-fixture-web.ci.local"
        );
        assert_eq!(warm_domain("My_App", "ci.local"), "warm-myapp.ci.local");
        assert_eq!(
            stack_name(&warm_domain("fixture-web", "ci.local")),
            "warm-fixture-web_ci_local"
        );
    }

    #[test]
    fn domains_and_stack_names() {
        for (recipe, want) in [
            ("custom-html", "cust-0a1b2c.ci.local"),
            ("n8n", "n8n-0a1b2c.ci.local"),
            ("My_App", "myap-0a1b2c.ci.local"),
            ("---", "app-0a1b2c.ci.local"),
        ] {
            assert_eq!(app_domain(recipe, "0a1b2c", "ci.local"), want);
        }
        assert_eq!(stack_name("cust-0a1b2c.ci.local"), "cust-0a1b2c_ci_local");
        let long = format!("{}.example.org", "a".repeat(60));
        assert_eq!(stack_name(&long).len(), MAX_STACK_NAME_LEN);
    }

    #[test]
    fn secrets_follow_abra_naming_and_modifiers() {
        let env = EnvFile::parse(
            "SECRET_DB_PASSWORD_VERSION=v2 # length=48\nSECRET_API_KEY_VERSION=v1 # generate=false\n",
        )
        .unwrap();
        let compose = "services:\n  app:\n    image: x\nsecrets:\n  db_password:\n    external: true\n    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}\n  api_key:\n    external: true\n  token:\n    external: true\n";
        let mut vars = env.to_map();
        vars.insert("STACK_NAME".into(), "demo_ci".into());
        let stack = load_stack(&[("compose.yml".into(), compose.into())], &vars).unwrap();
        let specs = secret_specs("demo_ci", &env, &stack).unwrap();
        let by_key = |k: &str| specs.iter().find(|s| s.key == k).unwrap();
        assert_eq!(by_key("db_password").engine_name, "demo_ci_db_password_v2");
        assert_eq!(by_key("db_password").length, 48);
        assert!(!by_key("api_key").generate);
        assert_eq!(by_key("api_key").engine_name, "demo_ci_api_key_v1");
        assert_eq!(by_key("token").length, DEFAULT_SECRET_LENGTH);
    }

    #[test]
    fn bad_length_and_long_names_are_errors() {
        let env = EnvFile::parse("SECRET_X_VERSION=v1 # length=lots\n").unwrap();
        let stack = load_stack(
            &[(
                "compose.yml".into(),
                "services:\n  a:\n    image: x\nsecrets:\n  x:\n    external: true\n".into(),
            )],
            &env.to_map(),
        )
        .unwrap();
        assert!(matches!(
            secret_specs("s", &env, &stack),
            Err(NamingError::BadLength { line: 1, .. })
        ));
        assert!(matches!(
            secret_name(&"s".repeat(60), "key", "v1"),
            Err(NamingError::SecretNameTooLong { .. })
        ));
    }
}
