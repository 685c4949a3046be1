//! **A Keycloak stand-in for tests** (feature `standin`). Keycloak cannot run on the build
//! machine (no registry, no JVM image), so tests of SSO dependencies talk to this instead:
//! an HTTP server on `127.0.0.1:0` implementing exactly the routes cc-ci calls, with the
//! paths, status codes and JSON shapes of Keycloak's published Admin REST API and OIDC
//! endpoints, over in-memory state. It is not Keycloak: behaviour cc-ci does not use is
//! absent (no users, no login pages, no signed tokens — tokens are opaque random strings).
//!
//! Routes:
//! - `POST /realms/{realm}/protocol/openid-connect/token` (form) — `grant_type=password`
//!   (`client_id=admin-cli`, the admin's `username`/`password`; `master` only) or
//!   `client_credentials` (`client_id`/`client_secret` of a client of the realm) →
//!   `{access_token, expires_in, token_type}`; bad credentials → 401 `invalid_grant` /
//!   `unauthorized_client`
//! - `GET /realms/{realm}/.well-known/openid-configuration` → the discovery document
//! - Admin (`Authorization: Bearer` of an admin token, else 401):
//!   `POST /admin/realms` `RealmRepresentation` → 201 (409 if it exists),
//!   `GET /admin/realms`, `DELETE /admin/realms/{realm}` → 204 (404),
//!   `POST /admin/realms/{realm}/clients` `ClientRepresentation` → 201 + `Location` (409),
//!   `GET /admin/realms/{realm}/clients?clientId=`,
//!   `GET /admin/realms/{realm}/clients/{id}/client-secret` → `{type: "secret", value}`
//!
//! Test controls are methods on [`KeycloakStandin`]: the realms, their owner attributes
//! and clients, every client secret handed out, and the requests seen.

use axum::extract::{Form, Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use ccci_standin_http::{Listener, Server};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// A running stand-in. Dropping it stops the server.
pub struct KeycloakStandin {
    server: Server,
    state: Shared,
}

/// Shared by the handlers and the test controls; never held across an `.await`.
type Shared = Arc<Mutex<State>>;

#[derive(Clone, Debug)]
pub struct StandinClient {
    pub id: String,
    pub client_id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct StandinRealm {
    pub id: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub clients: Vec<StandinClient>,
}

#[derive(Default)]
struct State {
    base_url: String,
    admin_user: String,
    admin_password: String,
    /// Tokens that may use the admin API.
    admin_tokens: HashSet<String>,
    realms: BTreeMap<String, StandinRealm>,
    /// Every client secret ever handed out (deleted realms included).
    secrets: Vec<String>,
    requests: Vec<String>,
}

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn random(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), n)
}

fn uuid() -> String {
    let h = random(32).to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl KeycloakStandin {
    /// Starts the stand-in on `127.0.0.1:0` with a `master` realm and one admin.
    pub async fn start(admin_user: &str, admin_password: &str) -> std::io::Result<Self> {
        let listener = Listener::loopback().await?;
        let mut realms = BTreeMap::new();
        realms.insert(
            "master".to_string(),
            StandinRealm {
                id: uuid(),
                name: "master".into(),
                attributes: BTreeMap::new(),
                clients: Vec::new(),
            },
        );
        let state: Shared = Arc::new(Mutex::new(State {
            base_url: listener.base_url(),
            admin_user: admin_user.into(),
            admin_password: admin_password.into(),
            realms,
            ..State::default()
        }));
        let server = listener.serve(router(state.clone()));
        Ok(KeycloakStandin { server, state })
    }

    /// The web root, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Realm names, `master` included.
    pub fn realm_names(&self) -> Vec<String> {
        lock(&self.state).realms.keys().cloned().collect()
    }

    pub fn realm(&self, name: &str) -> Option<StandinRealm> {
        lock(&self.state).realms.get(name).cloned()
    }

    /// Creates a realm as an admin would (test set-up).
    pub fn add_realm(&self, name: &str, attributes: &[(&str, &str)]) {
        lock(&self.state).realms.insert(
            name.into(),
            StandinRealm {
                id: uuid(),
                name: name.into(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                clients: Vec::new(),
            },
        );
    }

    /// Every client secret handed out so far.
    pub fn client_secrets(&self) -> Vec<String> {
        lock(&self.state).secrets.clone()
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/realms/{realm}/protocol/openid-connect/token", post(token))
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/admin/realms", post(create_realm).get(list_realms))
        .route("/admin/realms/{realm}", delete(delete_realm))
        .route(
            "/admin/realms/{realm}/clients",
            post(create_client).get(find_clients),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/client-secret",
            get(client_secret),
        )
        .with_state(state)
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": what }))).into_response()
}

/// The admin check every `/admin` route makes; records the request.
fn admin<'a>(
    state: &'a Shared,
    headers: &HeaderMap,
    request: String,
) -> Result<MutexGuard<'a, State>, Box<Response>> {
    let mut s = lock(state);
    s.requests.push(request);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !s.admin_tokens.contains(token) {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "HTTP 401 Unauthorized",
            "",
        )));
    }
    Ok(s)
}

async fn token(
    AxumState(state): AxumState<Shared>,
    Path(realm): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    s.requests.push(format!(
        "POST /realms/{realm}/protocol/openid-connect/token"
    ));
    let Some(r) = s.realms.get(&realm) else {
        return not_found("Realm does not exist");
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let admin = match field("grant_type") {
        "password" => {
            if realm != "master" || field("client_id") != "admin-cli" {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Invalid client or Invalid client credentials",
                );
            }
            if field("username") != s.admin_user || field("password") != s.admin_password {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "Invalid user credentials",
                );
            }
            true
        }
        "client_credentials" => {
            let ok = r
                .clients
                .iter()
                .any(|c| c.client_id == field("client_id") && c.secret == field("client_secret"));
            if !ok {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized_client",
                    "Invalid client or Invalid client credentials",
                );
            }
            false
        }
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant_type {other}"),
            )
        }
    };
    let token = random(48);
    if admin {
        s.admin_tokens.insert(token.clone());
    }
    Json(json!({
        "access_token": token,
        "expires_in": 60,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    }))
    .into_response()
}

async fn discovery(AxumState(state): AxumState<Shared>, Path(realm): Path<String>) -> Response {
    let mut s = lock(&state);
    s.requests.push(format!(
        "GET /realms/{realm}/.well-known/openid-configuration"
    ));
    if !s.realms.contains_key(&realm) {
        return not_found("Realm does not exist");
    }
    let issuer = format!("{}/realms/{realm}", s.base_url);
    let oidc = format!("{issuer}/protocol/openid-connect");
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

async fn create_realm(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Json(rep): Json<Value>,
) -> Response {
    let mut s = match admin(&state, &headers, "POST /admin/realms".into()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(name) = rep["realm"].as_str().filter(|n| !n.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Realm name cannot be empty", "");
    };
    if s.realms.contains_key(name) {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "errorMessage": format!("Conflict detected. See logs for details") })),
        )
            .into_response();
    }
    let attributes = rep["attributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let location = format!("{}/admin/realms/{name}", s.base_url);
    s.realms.insert(
        name.to_string(),
        StandinRealm {
            id: uuid(),
            name: name.to_string(),
            attributes,
            clients: Vec::new(),
        },
    );
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

async fn list_realms(AxumState(state): AxumState<Shared>, headers: HeaderMap) -> Response {
    let s = match admin(&state, &headers, "GET /admin/realms".into()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let realms: Vec<Value> = s
        .realms
        .values()
        .map(|r| {
            json!({
                "id": r.id,
                "realm": r.name,
                "enabled": true,
                "attributes": r.attributes,
            })
        })
        .collect();
    Json(realms).into_response()
}

async fn delete_realm(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path(realm): Path<String>,
) -> Response {
    let mut s = match admin(&state, &headers, format!("DELETE /admin/realms/{realm}")) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if realm == "master" {
        return error(
            StatusCode::BAD_REQUEST,
            "cannot delete the master realm",
            "",
        );
    }
    match s.realms.remove(&realm) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found("Realm not found."),
    }
}

async fn create_client(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path(realm): Path<String>,
    Json(rep): Json<Value>,
) -> Response {
    let mut s = match admin(
        &state,
        &headers,
        format!("POST /admin/realms/{realm}/clients"),
    ) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let base = s.base_url.clone();
    let secret = random(32);
    let Some(r) = s.realms.get_mut(&realm) else {
        return not_found("Realm not found.");
    };
    let Some(client_id) = rep["clientId"].as_str().filter(|c| !c.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "clientId is required", "");
    };
    if r.clients.iter().any(|c| c.client_id == client_id) {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "errorMessage": format!("Client {client_id} already exists") })),
        )
            .into_response();
    }
    let id = uuid();
    r.clients.push(StandinClient {
        id: id.clone(),
        client_id: client_id.to_string(),
        secret: secret.clone(),
        redirect_uris: rep["redirectUris"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
    });
    s.secrets.push(secret);
    let location = format!("{base}/admin/realms/{realm}/clients/{id}");
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

async fn find_clients(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path(realm): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let s = match admin(
        &state,
        &headers,
        format!("GET /admin/realms/{realm}/clients"),
    ) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(r) = s.realms.get(&realm) else {
        return not_found("Realm not found.");
    };
    let wanted = query.get("clientId");
    let clients: Vec<Value> = r
        .clients
        .iter()
        .filter(|c| wanted.is_none_or(|w| *w == c.client_id))
        .map(|c| {
            json!({
                "id": c.id,
                "clientId": c.client_id,
                "enabled": true,
                "protocol": "openid-connect",
                "publicClient": false,
                "redirectUris": c.redirect_uris,
            })
        })
        .collect();
    Json(clients).into_response()
}

async fn client_secret(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path((realm, id)): Path<(String, String)>,
) -> Response {
    let s = match admin(
        &state,
        &headers,
        format!("GET /admin/realms/{realm}/clients/{id}/client-secret"),
    ) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(r) = s.realms.get(&realm) else {
        return not_found("Realm not found.");
    };
    match r.clients.iter().find(|c| c.id == id) {
        Some(c) => Json(json!({ "type": "secret", "value": c.secret })).into_response(),
        None => not_found("Could not find client"),
    }
}
