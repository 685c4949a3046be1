//! The shared Keycloak (docs/behaviour.md §5, Dependencies): each run that declares `keycloak` gets
//! its own realm `<recipe>-<6 hex>` (the run's app hex) with one OIDC client for the app,
//! created at the start of the install rung and deleted at the end of the run, whatever
//! happened. Realms left by runs that died (SIGKILL, reboot) are reaped by the janitor:
//! a realm of this rig whose hex matches no live run.
//!
//! Only Keycloak's Admin REST API is used: a token from the `master` realm (password grant
//! through `admin-cli`), then `/admin/realms…` with it. Every request is bounded.
//! Realms cc-ci creates carry the attribute [`OWNER_ATTRIBUTE`] naming the rig (host and
//! state dir), so the janitor of one rig never touches realms of another rig sharing the
//! same Keycloak.

use ccci_core::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

/// Every request to Keycloak is bounded by this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The dependency name a suite declares to get a realm.
pub const DEPENDENCY: &str = "keycloak";

/// Where the rig's shared Keycloak is and how cc-ci signs in to its admin API.
#[derive(Clone, Debug)]
pub struct KeycloakConfig {
    /// The web root, e.g. `https://sso.example.org` (no trailing `/`).
    pub url: String,
    /// An admin of the `master` realm (password grant through `admin-cli`).
    pub admin_user: String,
    /// The file the admin's password was read from (named in messages).
    pub admin_password_file: std::path::PathBuf,
    /// The admin's password, read once when the settings were validated
    /// (`rig_settings::validate`); never printed.
    pub admin_password: ccci_core::secret::Secret,
}

/// The realm attribute naming the rig whose run created the realm.
pub const OWNER_ATTRIBUTE: &str = "ccci.owner";

#[derive(Debug, thiserror::Error)]
pub enum KeycloakError {
    #[error("keycloak: {0}")]
    Config(String),
    #[error("keycloak: {what}: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("keycloak: {what}: answered {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
}

/// A signed-in admin client of one Keycloak.
pub struct Keycloak {
    url: String,
    admin_user: String,
    admin_password: Secret,
    http: reqwest::Client,
}

/// What a run's app gets: its realm and client, the issuer users are sent to.
#[derive(Clone, Debug)]
pub struct Provisioned {
    pub url: String,
    pub realm: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub issuer: String,
}

/// A run's place in the shared Keycloak, known before anything is created: the realm is
/// named (and registered with the run) first, so teardown and the janitor can always find it.
#[derive(Clone, Debug)]
pub struct RunRealm {
    pub config: KeycloakConfig,
    pub realm: String,
    /// This rig's owner mark ([`owner_of`]).
    pub owner: String,
}

/// The realm of a run: `<recipe>-<6 hex>`.
pub fn realm_name(recipe: &str, hex6: &str) -> String {
    format!("{recipe}-{hex6}")
}

/// The 6-hex run mark at the end of a realm name, if it has one (`fixture-web-1a2b3c`).
pub fn realm_hex(realm: &str) -> Option<&str> {
    let (head, hex) = realm.rsplit_once('-')?;
    let is_hex = hex.len() == 6
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    (is_hex && !head.is_empty()).then_some(hex)
}

/// The 6-hex run mark of an app domain `<4 chars>-<6 hex>.<ci domain>`.
pub fn domain_hex(domain: &str) -> Option<&str> {
    realm_hex(domain.split('.').next()?)
}

/// This rig's owner mark: host name and state dir.
pub fn owner_of(state_dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    let dir = state_dir
        .canonicalize()
        .unwrap_or_else(|_| state_dir.to_path_buf());
    format!("{host}:{}", dir.display())
}

impl Keycloak {
    /// A client for the configured Keycloak (its password was read with the settings).
    pub fn new(config: &KeycloakConfig) -> Result<Keycloak, KeycloakError> {
        if config.admin_password.expose().trim().is_empty() {
            return Err(KeycloakError::Config(format!(
                "the admin password file {} is empty",
                config.admin_password_file.display()
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| KeycloakError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Keycloak {
            url: config.url.trim_end_matches('/').to_string(),
            admin_user: config.admin_user.clone(),
            admin_password: config.admin_password.clone(),
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// An admin access token (`master` realm, password grant through `admin-cli`).
    async fn token(&self) -> Result<Secret, KeycloakError> {
        let what = "signing in to the master realm";
        let reply = self
            .http
            .post(format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.url
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", self.admin_user.as_str()),
                ("password", self.admin_password.expose()),
            ])
            .send()
            .await
            .map_err(|source| http_error(what, source))?;
        let body: Value = expect_json(what, reply).await?;
        body["access_token"]
            .as_str()
            .map(Secret::new)
            .ok_or_else(|| KeycloakError::Config(format!("{what}: no access_token in the reply")))
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        what: &str,
    ) -> Result<reqwest::Response, KeycloakError> {
        let token = self.token().await?;
        let mut req = self
            .http
            .request(method, format!("{}/admin/realms{path}", self.url))
            .bearer_auth(token.expose());
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.map_err(|source| http_error(what, source))
    }

    /// Creates a realm marked as this rig's.
    pub async fn create_realm(&self, realm: &str, owner: &str) -> Result<(), KeycloakError> {
        let what = format!("creating realm {realm}");
        let reply = self
            .admin(
                reqwest::Method::POST,
                "",
                Some(json!({
                    "realm": realm,
                    "enabled": true,
                    "attributes": { OWNER_ATTRIBUTE: owner },
                })),
                &what,
            )
            .await?;
        expect_ok(&what, reply).await
    }

    /// Realm names with their owner attribute.
    pub async fn list_realms(&self) -> Result<Vec<(String, Option<String>)>, KeycloakError> {
        let what = "listing realms";
        let reply = self.admin(reqwest::Method::GET, "", None, what).await?;
        let body: Value = expect_json(what, reply).await?;
        Ok(body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let name = r["realm"].as_str()?.to_string();
                let owner = r["attributes"][OWNER_ATTRIBUTE]
                    .as_str()
                    .map(str::to_string);
                Some((name, owner))
            })
            .collect())
    }

    /// Deletes a realm; one that is already gone is fine.
    pub async fn delete_realm(&self, realm: &str) -> Result<(), KeycloakError> {
        let what = format!("deleting realm {realm}");
        let reply = self
            .admin(
                reqwest::Method::DELETE,
                &format!("/{}", encode(realm)),
                None,
                &what,
            )
            .await?;
        if reply.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect_ok(&what, reply).await
    }

    /// Creates a confidential OIDC client and returns its secret.
    pub async fn create_client(
        &self,
        realm: &str,
        client_id: &str,
        redirect_uris: &[String],
        web_origins: &[String],
    ) -> Result<Secret, KeycloakError> {
        let what = format!("creating client {client_id} in realm {realm}");
        let reply = self
            .admin(
                reqwest::Method::POST,
                &format!("/{}/clients", encode(realm)),
                Some(json!({
                    "clientId": client_id,
                    "protocol": "openid-connect",
                    "enabled": true,
                    "publicClient": false,
                    "clientAuthenticatorType": "client-secret",
                    "standardFlowEnabled": true,
                    "serviceAccountsEnabled": true,
                    "redirectUris": redirect_uris,
                    "webOrigins": web_origins,
                })),
                &what,
            )
            .await?;
        expect_ok(&what, reply).await?;
        // The internal id, then the secret Keycloak generated.
        let what = format!("finding client {client_id} in realm {realm}");
        let reply = self
            .admin(
                reqwest::Method::GET,
                &format!("/{}/clients?clientId={}", encode(realm), encode(client_id)),
                None,
                &what,
            )
            .await?;
        let clients: Value = expect_json(&what, reply).await?;
        let id = clients
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["clientId"] == client_id)
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| KeycloakError::Config(format!("{what}: not found after creating it")))?;
        let what = format!("reading the secret of client {client_id} in realm {realm}");
        let reply = self
            .admin(
                reqwest::Method::GET,
                &format!("/{}/clients/{}/client-secret", encode(realm), encode(&id)),
                None,
                &what,
            )
            .await?;
        let credential: Value = expect_json(&what, reply).await?;
        credential["value"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .ok_or_else(|| KeycloakError::Config(format!("{what}: no value in the reply")))
    }

    /// The realm's issuer, from its discovery document.
    pub async fn issuer(&self, realm: &str) -> Result<String, KeycloakError> {
        let what = format!("reading the discovery document of realm {realm}");
        let reply = self
            .http
            .get(format!(
                "{}/realms/{}/.well-known/openid-configuration",
                self.url,
                encode(realm)
            ))
            .send()
            .await
            .map_err(|source| http_error(&what, source))?;
        let doc: Value = expect_json(&what, reply).await?;
        doc["issuer"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| KeycloakError::Config(format!("{what}: no issuer")))
    }

    /// A run's realm and client for its app at `domain` (redirect URIs under the domain).
    pub async fn provision(
        &self,
        realm: &str,
        owner: &str,
        client_id: &str,
        domain: &str,
    ) -> Result<Provisioned, KeycloakError> {
        self.create_realm(realm, owner).await?;
        let redirects = [format!("https://{domain}/*"), format!("http://{domain}/*")];
        let origins = [format!("https://{domain}"), format!("http://{domain}")];
        let client_secret = self
            .create_client(realm, client_id, &redirects, &origins)
            .await?;
        let issuer = self.issuer(realm).await?;
        Ok(Provisioned {
            url: self.url.clone(),
            realm: realm.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            issuer,
        })
    }
}

/// What the janitor decides about one realm: `Some(reason)` to reap it.
/// Only realms of this rig (owner attribute) with a run mark are considered; a realm whose
/// mark belongs to a live run is never touched.
pub fn orphaned(
    realm: &str,
    owner: Option<&str>,
    this_rig: &str,
    live_hexes: &[String],
) -> Option<String> {
    if owner != Some(this_rig) {
        return None;
    }
    let hex = realm_hex(realm)?;
    (!live_hexes.iter().any(|h| h == hex)).then(|| format!("hex {hex} matches no live run"))
}

/// The run marks of live runs (a kept app's included) in this rig's registry: their app domain's hex and their
/// realm's.
pub fn live_hexes(state_dir: &std::path::Path) -> Vec<String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    crate::registry::list(state_dir)
        .iter()
        .filter(|run| crate::registry::is_live(run, now))
        .flat_map(|run| {
            [
                domain_hex(&run.domain).map(str::to_string),
                run.realm.as_deref().and_then(realm_hex).map(str::to_string),
            ]
        })
        .flatten()
        .collect()
}

/// The janitor's sweep of the shared Keycloak: reaps this rig's realms whose run mark
/// matches no live run. Returns report lines (a Keycloak that cannot be reached is a line,
/// not an error: the engine sweep still counts).
pub async fn reap(
    config: Option<&KeycloakConfig>,
    state_dir: &std::path::Path,
    dry_run: bool,
) -> Vec<String> {
    let Some(config) = config else {
        return Vec::new();
    };
    match reap_orphans(config, state_dir, dry_run).await {
        Ok(lines) => lines,
        Err(e) => vec![format!("keycloak: cannot reap realms: {e}")],
    }
}

async fn reap_orphans(
    config: &KeycloakConfig,
    state_dir: &std::path::Path,
    dry_run: bool,
) -> Result<Vec<String>, KeycloakError> {
    let kc = Keycloak::new(config)?;
    let this_rig = owner_of(state_dir);
    // Realms first, then the registry: a run registers before it creates its realm, so a
    // realm listed here whose run started meanwhile is already in the registry read next.
    let realms = kc.list_realms().await?;
    let live = live_hexes(state_dir);
    let mut lines = Vec::new();
    for (realm, owner) in realms {
        let Some(why) = orphaned(&realm, owner.as_deref(), &this_rig, &live) else {
            if owner.as_deref() == Some(this_rig.as_str()) {
                lines.push(format!("keycloak realm {realm}: live, left alone"));
            }
            continue;
        };
        if dry_run {
            lines.push(format!("keycloak realm {realm}: would reap ({why})"));
            continue;
        }
        match kc.delete_realm(&realm).await {
            Ok(()) => lines.push(format!("keycloak realm {realm}: reaped ({why})")),
            Err(e) => lines.push(format!("keycloak realm {realm}: reaping failed: {e}")),
        }
    }
    Ok(lines)
}

fn http_error(what: &str, source: reqwest::Error) -> KeycloakError {
    KeycloakError::Http {
        what: what.to_string(),
        source: source.without_url(),
    }
}

async fn expect_ok(what: &str, reply: reqwest::Response) -> Result<(), KeycloakError> {
    let status = reply.status();
    if status.is_success() {
        return Ok(());
    }
    let body = reply.text().await.unwrap_or_default();
    Err(KeycloakError::Status {
        what: what.to_string(),
        status: status.as_u16(),
        body: body.chars().take(300).collect(),
    })
}

async fn expect_json(what: &str, reply: reqwest::Response) -> Result<Value, KeycloakError> {
    let status = reply.status();
    if !status.is_success() {
        let body = reply.text().await.unwrap_or_default();
        return Err(KeycloakError::Status {
            what: what.to_string(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        });
    }
    reply
        .json()
        .await
        .map_err(|source| http_error(what, source))
}

/// Percent-encodes one path segment or query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_marks() {
        assert_eq!(realm_hex("fixture-web-1a2b3c"), Some("1a2b3c"));
        assert_eq!(realm_hex("needsso-abcdef"), Some("abcdef"));
        assert_eq!(realm_hex("master"), None);
        assert_eq!(realm_hex("-abcdef"), None);
        assert_eq!(realm_hex("app-ABCDEF"), None);
        assert_eq!(realm_hex("app-abcde"), None);
        assert_eq!(domain_hex("fixt-00ff11.ci.local"), Some("00ff11"));
        assert_eq!(domain_hex("warm-fixture-web.ci.local"), None);
        assert_eq!(realm_name("fixture-web", "00ff11"), "fixture-web-00ff11");
    }

    #[test]
    fn orphan_rule_table() {
        let live = vec!["aaaaaa".to_string()];
        let me = "host:/state";
        let cases = [
            ("app-aaaaaa", Some(me), false),
            ("app-bbbbbb", Some(me), true),
            ("app-bbbbbb", Some("other:/state"), false),
            ("app-bbbbbb", None, false),
            ("master", Some(me), false),
        ];
        for (realm, owner, reaped) in cases {
            assert_eq!(
                orphaned(realm, owner, me, &live).is_some(),
                reaped,
                "{realm} {owner:?}"
            );
        }
    }

    #[test]
    fn encodes_segments() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("fixture-web-1a2b3c"), "fixture-web-1a2b3c");
    }
}
