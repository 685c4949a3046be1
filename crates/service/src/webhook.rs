//! `POST /webhook/gitea`: the optional push trigger. The signature is checked (by
//! `ccci_forge::webhook`, constant time, current and previous secret) before the body is
//! parsed; a bad one gets 401 and queues nothing. A delivery id seen before is a replay and
//! is acknowledged without acting.

use crate::app::App;
use crate::job::now_millis;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ccci_forge::webhook::{self, WebhookError, WebhookEvent, WebhookHeaders, WebhookSecrets};
use std::sync::Arc;

pub async fn gitea(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let (Some(hook), Some(forge)) = (app.config.webhook.as_ref(), app.forge.as_ref()) else {
        return (StatusCode::NOT_FOUND, "webhook not enabled\n");
    };
    let mut secrets = hook.secrets.iter().cloned();
    let Some(current) = secrets.next() else {
        return (StatusCode::NOT_FOUND, "webhook not enabled\n");
    };
    let secrets = WebhookSecrets {
        current,
        previous: secrets.next(),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let parsed = webhook::verify_and_parse(
        &secrets,
        WebhookHeaders {
            signature: header(webhook::SIGNATURE_HEADER),
            event: header(webhook::EVENT_HEADER),
            delivery: header(webhook::DELIVERY_HEADER),
        },
        &body,
    );
    let (delivery, event) = match parsed {
        Ok(ok) => ok,
        Err(WebhookError::Signature(e)) => {
            tracing::warn!("webhook rejected: {e}");
            return (StatusCode::UNAUTHORIZED, "bad signature\n");
        }
        Err(WebhookError::Payload(e)) => {
            tracing::warn!("webhook payload not understood: {e}");
            return (StatusCode::BAD_REQUEST, "payload not understood\n");
        }
    };
    if let Some(delivery) = &delivery {
        match app.store.record_delivery(&delivery.0, now_millis()).await {
            Ok(true) => {}
            Ok(false) => return (StatusCode::OK, "duplicate delivery ignored\n"),
            Err(e) => {
                tracing::warn!("delivery not recorded: {e}");
                return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n");
            }
        }
    }
    let WebhookEvent::IssueComment(event) = event else {
        return (StatusCode::OK, "event ignored\n");
    };
    if !event.is_new_pr_comment() {
        return (StatusCode::OK, "not a new PR comment\n");
    }
    let Some((repo, repo_config)) = forge.repo(&event.repo.full_name()) else {
        return (StatusCode::OK, "repository not watched\n");
    };
    app.triggers.delivered(&repo.full_name(), event.comment.id);
    match crate::intake::handle_comment(
        &app,
        forge,
        repo,
        repo_config,
        event.issue_number,
        event.head_sha.as_deref(),
        &event.comment,
    )
    .await
    {
        Ok(()) => (StatusCode::ACCEPTED, "accepted\n"),
        Err(e) => {
            tracing::warn!("webhook comment not handled (the poller will retry): {e:#}");
            (StatusCode::ACCEPTED, "left to the poller\n")
        }
    }
}
