//! Readiness on the real swarm, one loop for every wait of a run: converged and healthy
//! (failing fast on a crash loop, patient with a dependency still starting), "stays up"
//! while a rung works, and the minimum uptime before green. The rules are the core's
//! ([`ccci_core::readiness`]); this module observes and asks them.

use crate::app::App;
use crate::ctx::RunCtx;
use crate::progress::Progress;
use ccci_adapters::clock::now_ms;
use ccci_adapters::engine::{Engine, StackEvents};
use ccci_adapters::probe::ProbeError;
use ccci_core::pace::Pace;
use ccci_core::readiness::{self, CrashLoopPolicy, History, Judgement};
use ccci_core::results::Failure;
use ccci_core::secret::Redactor;
use ccci_core::suite::{ReadyProbe, Suite};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What one readiness wait looks at: a deployed stack, the route to it, the suite's health
/// settings and the history of earlier observations. A run's rungs and the live-warm
/// reconciler both wait through it ([`until_ready`]).
pub struct Watch<'a> {
    pub engine: &'a Engine,
    pub app: &'a App,
    pub suite: &'a Suite,
    /// `depends_on` of the deployed services (compose; swarm ignores it).
    pub depends_on: &'a BTreeMap<String, Vec<String>>,
    /// A std mutex, never held across an await (the stays-up watcher shares it).
    pub history: &'a Mutex<History>,
    pub policy: CrashLoopPolicy,
    pub progress: &'a Progress,
    pub redactor: &'a Redactor,
}

impl Watch<'_> {
    pub fn history(&self) -> MutexGuard<'_, History> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stack as the engine shows it, with each service's compose `depends_on`.
    pub async fn observe(&self) -> Result<Vec<readiness::ServiceState>, Failure> {
        let mut services = self
            .engine
            .observe_stack(&self.app.stack)
            .await
            .map_err(|e| Failure {
                message: format!("observing the stack: {e:#}"),
                ..Default::default()
            })?;
        for svc in &mut services {
            svc.depends_on = self.depends_on.get(&svc.name).cloned().unwrap_or_default();
        }
        Ok(services)
    }

    /// A broken service's failure, with its task error and log tail (redacted).
    pub async fn failure_of(&self, broken: readiness::Broken) -> Failure {
        let log_tail = self.log_tail(&broken.service, 30).await;
        self.failure_with(broken, log_tail)
    }

    fn failure_with(&self, broken: readiness::Broken, log_tail: Vec<String>) -> Failure {
        Failure {
            rung: None,
            message: self.redactor.redact(&broken.reason),
            service: Some(broken.service),
            task_error: broken.task_error.map(|e| self.redactor.redact(&e)),
            log_tail,
        }
    }

    /// The failure of a stack judged broken in `services`. A crash loop beside other
    /// failing services is blamed on the evidence, whichever reached the failure count
    /// first: the core chooses the cause again with every failing service's own log lines
    /// (whose logs name whom). The log tail is the cause's, then each other failing
    /// service's last lines.
    pub async fn failure_in(
        &self,
        broken: readiness::Broken,
        services: &[readiness::ServiceState],
    ) -> Failure {
        let now = now_ms();
        let failing: Vec<&str> = services
            .iter()
            .filter(|s| !readiness::recent_failures(s, now, self.policy).is_empty())
            .map(|s| s.name.as_str())
            .filter(|name| *name != broken.service)
            .collect();
        let crash_loop = {
            let history = self.history();
            history.fell_after_up(services).is_none()
                && history
                    .rolled_back(services, self.policy.slack_ms)
                    .is_none()
        };
        if failing.is_empty() || !crash_loop {
            return self.failure_of(broken).await;
        }
        let mut logs = BTreeMap::new();
        for name in failing.iter().copied().chain([broken.service.as_str()]) {
            logs.insert(name.to_string(), self.log_tail(name, 30).await);
        }
        let cause = self
            .history()
            .the_cause(services, now, self.policy, &logs)
            .unwrap_or(broken);
        let mut log_tail = logs.remove(&cause.service).unwrap_or_default();
        for (_, lines) in logs {
            log_tail.extend(lines.iter().skip(lines.len().saturating_sub(10)).cloned());
        }
        self.failure_with(cause, log_tail)
    }

    pub async fn log_tail(&self, service: &str, lines: usize) -> Vec<String> {
        let text = ccci_adapters::stack::service_logs(&self.app.service_name(service), Some(lines))
            .await
            .unwrap_or_default();
        ccci_core::service_log::tail_in_time_order(&text, lines)
            .into_iter()
            .map(|l| self.redactor.redact(l))
            .collect()
    }
}

impl RunCtx {
    /// The run's view for a readiness wait.
    pub fn watch(&self) -> Watch<'_> {
        Watch {
            engine: &self.engine,
            app: &self.app,
            suite: &self.suite,
            depends_on: &self.depends_on,
            history: &self.history,
            policy: self.policy(),
            progress: &self.progress,
            redactor: &self.redactor,
        }
    }

    /// Waits until the stack is converged and healthy, failing fast on a crash loop.
    pub async fn wait_ready(&mut self) -> Result<(), Failure> {
        let t = Instant::now();
        let result = until_ready(&self.watch()).await;
        self.add_timing("converge", t);
        result
    }

    pub async fn observe(&self) -> Result<Vec<readiness::ServiceState>, Failure> {
        self.watch().observe().await
    }

    pub async fn failure_of(&self, broken: readiness::Broken) -> Failure {
        self.watch().failure_of(broken).await
    }

    pub async fn log_tail(&self, service: &str, lines: usize) -> Vec<String> {
        self.watch().log_tail(service, lines).await
    }

    /// "Stays up": one more observation at the end of a rung; a task that had been up and
    /// then failed fails the rung (the watcher polls between these), and so does any other
    /// broken judgement (a crash loop that began while the rung worked).
    pub async fn check_stays_up(&self) -> Result<(), Failure> {
        let services = self.observe().await?;
        let judged = self.history_mut().judge(&services, now_ms(), self.policy());
        match judged {
            Judgement::Broken(broken) => Err(self.watch().failure_in(broken, &services).await),
            _ => Ok(()),
        }
    }

    /// Before GREEN: every long-running service's newest task must have stayed up for the
    /// suite's `min_uptime` since its last (re)start, observed, while nothing fails.
    pub async fn stay_up_for_min_uptime(&mut self) -> Result<(), Failure> {
        let t = Instant::now();
        let min_ms = self.suite.min_uptime_secs as i64 * 1000;
        let bound =
            Duration::from_secs(self.suite.min_uptime_secs + self.suite.deploy_timeout_secs);
        let mut announced = false;
        let events = self.engine.stack_events(&self.app.stack);
        let mut pace = Pace::default();
        let result = loop {
            let services = self.observe().await?;
            let now = now_ms();
            let judged = self.history_mut().judge(&services, now, self.policy());
            let left = readiness::uptime_shortfall(&services, now, min_ms);
            // Look again when the uptime still missing is met, if that is sooner than the pace.
            let until_met = left.as_ref().map_or(Duration::MAX, |(_, ms)| {
                Duration::from_millis((*ms).max(0) as u64 + 50)
            });
            match (judged, left) {
                (Judgement::Broken(broken), _) => {
                    break Err(self.watch().failure_in(broken, &services).await)
                }
                (Judgement::Converged, None) => break Ok(()),
                (_, left) if t.elapsed() >= bound => {
                    break Err(Failure {
                        message: format!(
                            "the app did not stay up for min_uptime ({} s): {}",
                            self.suite.min_uptime_secs,
                            left.map(|(s, _)| format!("service {s} keeps restarting"))
                                .unwrap_or_else(|| "the stack did not converge".into())
                        ),
                        ..Default::default()
                    })
                }
                (_, Some((service, left_ms))) if !announced => {
                    announced = true;
                    self.progress.line(&format!(
                        "   staying up: {service} needs {:.0} s more of min_uptime ({} s)",
                        left_ms as f64 / 1000.0,
                        self.suite.min_uptime_secs
                    ));
                }
                _ => {}
            }
            pace = look_again(&events, pace, until_met).await;
        };
        self.add_timing("min_uptime", t);
        result
    }
}

/// Waits until the stack is converged and healthy within the suite's `DEPLOY_TIMEOUT`,
/// failing fast on a crash loop and patient with a dependency still starting.
pub async fn until_ready(ctx: &Watch<'_>) -> Result<(), Failure> {
    let timeout = Duration::from_secs(ctx.suite.deploy_timeout_secs);
    let start = Instant::now();
    let mut cert_error_since: Option<Instant> = None;
    let mut serving_5xx_since: Option<Instant> = None;
    let policy = ctx.policy;
    let mut last_seen;
    let mut last_health = String::from("not checked (stack not converged)");
    let events = ctx.engine.stack_events(&ctx.app.stack);
    let mut pace = Pace::default();
    loop {
        let services = ctx.observe().await?;
        let judged = ctx.history().judge(&services, now_ms(), policy);
        match judged {
            Judgement::Broken(broken) => return Err(ctx.failure_in(broken, &services).await),
            Judgement::Waiting(lines) => {
                last_seen = lines.join("; ");
                serving_5xx_since = None;
            }
            Judgement::Converged => {
                last_seen = services
                    .iter()
                    .map(|s| s.describe())
                    .collect::<Vec<_>>()
                    .join("; ");
                let answer = healthy(ctx, &mut cert_error_since).await?;
                serving_error(ctx, answer.as_ref(), &mut serving_5xx_since).await?;
                match answer.map(|a| a.why) {
                    None => {
                        ctx.progress.line(&format!(
                            "ready after {:.1} s: {last_seen}",
                            start.elapsed().as_secs_f64()
                        ));
                        return Ok(());
                    }
                    Some(why) => last_health = why,
                }
            }
        }
        ctx.progress.status(&format!(
            "[{:>3}s] {last_seen} | health: {last_health}",
            start.elapsed().as_secs()
        ));
        if start.elapsed() >= timeout {
            return Err(not_ready(ctx, &services, &last_seen, &last_health, timeout).await);
        }
        pace = look_again(&events, pace, timeout.saturating_sub(start.elapsed())).await;
    }
}

/// Sleeps until the stack's next engine event or the pace's next look (at most `at_most`),
/// and returns the pace after it: an event wakes the wait at once, the fallback poll bounds it.
async fn look_again(events: &StackEvents, pace: Pace, at_most: Duration) -> Pace {
    let delay = Duration::from_millis(pace.next_delay_ms()).min(at_most);
    pace.slept(events.wait(delay).await)
}

/// Why a converged stack does not serve yet, and the 5xx answer it gave, if it gave one.
struct NotServing {
    why: String,
    /// (path or URL, status, body) of a 5xx answer.
    server_error: Option<(String, u16, String)>,
}

impl NotServing {
    fn because(why: String) -> NotServing {
        NotServing {
            why,
            server_error: None,
        }
    }
}

/// A converged stack, healthy as swarm sees it, whose route answers 5xx: patience has its
/// own bound, the suite's `serving_timeout`, not `DEPLOY_TIMEOUT`. RED past it, naming the
/// route, the status and a short redacted excerpt of the body.
async fn serving_error(
    ctx: &Watch<'_>,
    answer: Option<&NotServing>,
    since: &mut Option<Instant>,
) -> Result<(), Failure> {
    let Some((route, status, body)) = answer.and_then(|a| a.server_error.as_ref()) else {
        *since = None;
        return Ok(());
    };
    let bound = Duration::from_secs(ctx.suite.serving_timeout_secs);
    let first = *since.get_or_insert_with(Instant::now);
    if first.elapsed() < bound {
        return Ok(());
    }
    let service = ctx.app.http_service.clone();
    let excerpt = readiness::body_excerpt(&ctx.redactor.redact(body), 160);
    Err(Failure {
        rung: None,
        message: ctx.redactor.redact(&format!(
            "the stack runs and swarm reports it healthy, but GET {route} answered {status} \
             for {} s (serving_timeout {} s): \"{excerpt}\"; fix the app's answer at {route}, \
             or its healthcheck, which passes while it fails",
            first.elapsed().as_secs(),
            bound.as_secs()
        )),
        log_tail: ctx.log_tail(&service, 30).await,
        service: Some(service),
        task_error: None,
    })
}

/// Whether a converged stack serves: `HEALTH_PATH` through the route users take, then the
/// `READY_PROBE`s. `Ok(None)`: ready; `Ok(Some(why))`: not yet; `Err`: a certificate that
/// stays wrong once the stack is up is the proxy's fallback, not a proxy still catching up.
async fn healthy(
    ctx: &Watch<'_>,
    cert_error_since: &mut Option<Instant>,
) -> Result<Option<NotServing>, Failure> {
    /// How long a proxy may serve a wrong certificate for a converged app (it may still be
    /// picking up the app's labels).
    const CERT_PATIENCE: Duration = Duration::from_secs(15);
    let path = &ctx.suite.health_path;
    match ctx.app.route.get(path, Duration::from_secs(5)).await {
        Ok(reply) if (200..300).contains(&reply.status) => match ready_probes(ctx).await {
            Ok(()) => Ok(None),
            Err(ReadyProbeError::WrongStatus {
                url,
                got,
                expected,
                body,
            }) => Ok(Some(NotServing {
                why: format!(
                    "health ok; ready probe: GET {url} answered {got}, expected {expected}"
                ),
                server_error: (got >= 500).then_some((url, got, body)),
            })),
            Err(e) => Ok(Some(NotServing::because(format!(
                "health ok; ready probe: {e}"
            )))),
        },
        Ok(reply) => Ok(Some(NotServing {
            why: format!("GET {path} answered {}", reply.status),
            server_error: (reply.status >= 500).then(|| (path.clone(), reply.status, reply.body)),
        })),
        Err(e) => {
            let since = *cert_error_since.get_or_insert_with(Instant::now);
            let message = e.to_string();
            if !matches!(e, ProbeError::WrongCertificate { .. }) {
                *cert_error_since = None;
            } else if since.elapsed() >= CERT_PATIENCE {
                return Err(Failure {
                    message: ctx.redactor.redact(&message),
                    service: Some(ctx.app.http_service.clone()),
                    ..Default::default()
                });
            }
            Ok(Some(NotServing::because(message)))
        }
    }
}

/// DEPLOY_TIMEOUT passed: the failure names the service still not converged (else the
/// HTTP service), what it last showed, the health answer and its log tail.
async fn not_ready(
    ctx: &Watch<'_>,
    services: &[readiness::ServiceState],
    last_seen: &str,
    last_health: &str,
    timeout: Duration,
) -> Failure {
    let service = services
        .iter()
        .find(|s| !s.converged())
        .map(|s| s.name.clone())
        .unwrap_or_else(|| ctx.app.http_service.clone());
    let log_tail = ctx.log_tail(&service, 30).await;
    Failure {
        rung: None,
        message: ctx.redactor.redact(&format!(
            "not ready within DEPLOY_TIMEOUT ({} s): service {service} last showed: {last_seen}; health: {last_health}",
            timeout.as_secs()
        )),
        service: Some(service),
        task_error: None,
        log_tail,
    }
}

/// Why a `READY_PROBE` did not pass.
#[derive(Debug, thiserror::Error)]
enum ReadyProbeError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("GET {url} answered {got}, expected {expected}")]
    WrongStatus {
        url: String,
        got: u16,
        expected: u16,
        body: String,
    },
}

/// The suite's `READY_PROBE`s: HTTP (path or URL → status) and TCP (N connects).
async fn ready_probes(ctx: &Watch<'_>) -> Result<(), ReadyProbeError> {
    for probe in &ctx.suite.ready_probes {
        match probe {
            ReadyProbe::Http { url, status } => {
                let reply = ctx.app.route.get(url, Duration::from_secs(5)).await?;
                if reply.status != *status {
                    return Err(ReadyProbeError::WrongStatus {
                        url: url.clone(),
                        got: reply.status,
                        expected: *status,
                        body: reply.body,
                    });
                }
            }
            ReadyProbe::Tcp { addr, connects } => {
                ccci_adapters::probe::tcp_probe(addr, *connects, Duration::from_secs(3)).await?;
            }
        }
    }
    Ok(())
}
