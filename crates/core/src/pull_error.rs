//! A failed `docker pull`, explained: its cause, whose it is to fix (the recipe's image
//! name, or the rig's registry and credentials), and the fix.
//!
//! The docker CLI prints the engine's own words (`Error response from daemon: …`); an
//! operator reads "manifest unknown" or "no basic auth credentials" and has to know what
//! it means. [`explain`] maps them onto a [`PullCause`]. The recognised texts were
//! recorded from a real `docker-registry` (distribution 2.8) through Engine 20.10 and are
//! kept in `crates/core/fixtures/pull_errors/` (the table test reads them):
//! - `manifest for <image> not found: manifest unknown: manifest unknown` (a tag, or a
//!   whole repository, the registry does not have);
//! - `Head "http://<registry>/v2/…": no basic auth credentials` (the registry wants a
//!   login the engine does not have);
//! - `unauthorized: authentication required` (the engine sent credentials; refused);
//! - `Get "http://<registry>/v2/": dial tcp …: connect: connection refused`;
//! - `dial tcp: lookup <host> on <dns>: no such host`;
//! - `http: server gave HTTP response to HTTPS client` (a plain-HTTP registry off loopback);
//! - `invalid reference format: …` (the CLI's own check of the name).

/// Why a pull failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullCause {
    /// The registry answered and has no such tag (or repository).
    NotFound,
    /// Docker Hub's answer for a repository that does not exist *or* is private ("pull access
    /// denied … repository does not exist or may require 'docker login'"): most often a
    /// misspelt name, so the recipe's; the fix names both.
    DeniedOrMissing,
    /// The registry wants credentials and the engine has none for it.
    CredentialsMissing,
    /// The engine sent credentials and the registry refused them.
    CredentialsRejected,
    /// Nothing answered at the registry's address (refused, unreachable, timed out).
    Unreachable,
    /// The registry's host name does not resolve.
    UnknownHost,
    /// The registry speaks plain HTTP and the engine insists on HTTPS for it.
    PlainHttp,
    /// The image name itself is not a valid reference.
    InvalidName,
    /// The pull did not finish within cc-ci's bound.
    TimedOut,
    /// Anything else: docker's own words stand.
    Other,
}

/// Who can fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    /// The recipe names an image that does not exist, or is not a valid name.
    Recipe,
    /// The rig's operator: the registry, the network, the engine's credentials.
    Rig,
}

/// A failed pull, explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullFailure {
    pub cause: PullCause,
    /// `host[:port]` of the registry the image names (`docker.io` for a bare name).
    pub registry: String,
    /// What happened, in a sentence naming the image and the registry.
    pub what: String,
    pub fix: String,
    /// Docker's own line (without `Error response from daemon: `), or cc-ci's for a time-out.
    pub evidence: String,
}

impl PullFailure {
    pub fn whose(&self) -> Whose {
        match self.cause {
            PullCause::NotFound | PullCause::DeniedOrMissing | PullCause::InvalidName => {
                Whose::Recipe
            }
            _ => Whose::Rig,
        }
    }

    /// `<what>; fix: <fix> (docker: <evidence>)`, one line.
    pub fn message(&self) -> String {
        format!(
            "{}; fix: {} (docker: {})",
            self.what, self.fix, self.evidence
        )
    }
}

/// The registry an image reference names, as docker reads it: the first path component
/// when it has a `.` or a `:` or is `localhost`, else Docker Hub (`docker.io`).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// Explains `docker pull <image>`'s stderr.
pub fn explain(image: &str, stderr: &str) -> PullFailure {
    let evidence = evidence_line(stderr);
    let cause = cause_of(&evidence);
    failure(image, cause, evidence)
}

/// The pull of `image` did not finish within `bound_secs`; `last` is the last progress
/// line docker printed, if any.
pub fn timed_out(image: &str, bound_secs: u64, last: Option<&str>) -> PullFailure {
    let evidence = match last {
        Some(line) => format!("no end after {bound_secs}s; last progress: {line}"),
        None => format!("no answer after {bound_secs}s"),
    };
    failure(image, PullCause::TimedOut, evidence)
}

fn evidence_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("docker pull failed without a message");
    line.strip_prefix("Error response from daemon: ")
        .unwrap_or(line)
        .to_string()
}

fn cause_of(evidence: &str) -> PullCause {
    let has = |needle: &str| evidence.contains(needle);
    if has("manifest unknown") || (has("manifest for ") && has(" not found")) {
        PullCause::NotFound
    } else if has("repository does not exist") || has("pull access denied") {
        PullCause::DeniedOrMissing
    } else if has("no basic auth credentials") {
        PullCause::CredentialsMissing
    } else if has("unauthorized") || has("authentication required") {
        PullCause::CredentialsRejected
    } else if has("no such host") {
        PullCause::UnknownHost
    } else if has("server gave HTTP response to HTTPS client") {
        PullCause::PlainHttp
    } else if has("connection refused")
        || has("no route to host")
        || has("network is unreachable")
        || has("i/o timeout")
    {
        PullCause::Unreachable
    } else if has("invalid reference format") {
        PullCause::InvalidName
    } else {
        PullCause::Other
    }
}

fn failure(image: &str, cause: PullCause, evidence: String) -> PullFailure {
    let registry = registry_of(image);
    let (what, fix) = words(image, &registry, cause);
    PullFailure {
        cause,
        registry,
        what,
        fix,
        evidence,
    }
}

fn words(image: &str, registry: &str, cause: PullCause) -> (String, String) {
    let check = format!("check from the CI host with `curl -sI http://{registry}/v2/`");
    match cause {
        PullCause::NotFound => (
            format!("the registry {registry} has no image `{image}` (no such tag or repository)"),
            format!("push `{image}` to {registry}, or name a tag that exists there in the compose file"),
        ),
        PullCause::DeniedOrMissing => (
            format!("the registry {registry} has no repository for `{image}` it will show (it does not exist, or it is private)"),
            format!("correct the image name in the compose file; if the repository is private, `docker login {registry}` on the CI host, as the user cc-ci runs as"),
        ),
        PullCause::CredentialsMissing => (
            format!("the registry {registry} wants credentials to pull `{image}`, and the engine has none for it"),
            format!("on the CI host, as the user cc-ci runs as, `docker login {registry}` (or make the image public)"),
        ),
        PullCause::CredentialsRejected => (
            format!("the registry {registry} refused the credentials the engine sent for `{image}`"),
            format!("on the CI host, `docker login {registry}` again with credentials that may pull it"),
        ),
        PullCause::Unreachable => (
            format!("the registry {registry} did not answer"),
            format!("start the registry, or correct its host:port in the image name `{image}`; {check}"),
        ),
        PullCause::UnknownHost => (
            format!("the registry host of `{image}` ({registry}) does not resolve"),
            "correct the registry's name in the image name, or the CI host's DNS".to_string(),
        ),
        PullCause::PlainHttp => (
            format!("the registry {registry} speaks plain HTTP and the engine uses HTTPS for it"),
            format!("serve {registry} over TLS, or add it to `insecure-registries` in the engine's daemon.json (loopback registries may use plain HTTP by default)"),
        ),
        PullCause::InvalidName => (
            format!("`{image}` is not a valid image name"),
            "write it as `[registry/]name[:tag]`, lowercase, in the compose file".to_string(),
        ),
        PullCause::TimedOut => (
            format!("pulling `{image}` from {registry} did not finish in time"),
            format!("a slow or stalled registry: {check}; for a large image raise the pull time-out (`--pull-timeout-secs`, `[rig] pull_timeout_secs`)"),
        ),
        PullCause::Other => (
            format!("`docker pull {image}` failed"),
            format!("run `docker pull {image}` on the CI host to see why"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from a real registry: (fixture, the image pulled, its cause, whose).
    const RECORDED: &[(&str, &str, PullCause, Whose)] = &[
        (
            include_str!("../fixtures/pull_errors/tag_missing.stderr"),
            "127.0.0.1:45124/pp/redis:8",
            PullCause::NotFound,
            Whose::Recipe,
        ),
        (
            include_str!("../fixtures/pull_errors/repository_missing.stderr"),
            "127.0.0.1:45124/pp/nothing:1",
            PullCause::NotFound,
            Whose::Recipe,
        ),
        (
            include_str!("../fixtures/pull_errors/credentials_missing.stderr"),
            "127.0.0.1:45123/pp/redis:7",
            PullCause::CredentialsMissing,
            Whose::Rig,
        ),
        (
            include_str!("../fixtures/pull_errors/credentials_wrong.stderr"),
            "127.0.0.1:45123/pp/redis:7",
            PullCause::CredentialsRejected,
            Whose::Rig,
        ),
        (
            include_str!("../fixtures/pull_errors/registry_closed.stderr"),
            "127.0.0.1:45999/pp/redis:7",
            PullCause::Unreachable,
            Whose::Rig,
        ),
        (
            include_str!("../fixtures/pull_errors/host_unknown.stderr"),
            "nosuch.invalid/pp/redis:7",
            PullCause::UnknownHost,
            Whose::Rig,
        ),
        (
            include_str!("../fixtures/pull_errors/plain_http.stderr"),
            "192.0.2.2:45125/pp/redis:7",
            PullCause::PlainHttp,
            Whose::Rig,
        ),
        // Docker Hub's words for a repository that does not exist or is private (moby's
        // daemon text; this host cannot reach Docker Hub to record it).
        (
            include_str!("../fixtures/pull_errors/hub_denied_or_missing.stderr"),
            "coopcloud/no-such-app:1.0",
            PullCause::DeniedOrMissing,
            Whose::Recipe,
        ),
        (
            include_str!("../fixtures/pull_errors/invalid_reference.stderr"),
            "127.0.0.1:45124/PP/redis:7",
            PullCause::InvalidName,
            Whose::Recipe,
        ),
    ];

    #[test]
    fn recorded_errors_are_explained_with_their_fix() {
        for (stderr, image, cause, whose) in RECORDED {
            let got = explain(image, stderr);
            assert_eq!(got.cause, *cause, "{stderr}");
            assert_eq!(got.whose(), *whose, "{stderr}");
            assert!(!got.evidence.starts_with("Error response"), "{got:?}");
            assert!(stderr.contains(&got.evidence), "{got:?}");
            assert!(
                got.what.contains(&got.registry) || got.what.contains(image),
                "{got:?}"
            );
            assert!(got.message().contains("fix: "), "{got:?}");
        }
    }

    #[test]
    fn the_fix_names_what_to_do() {
        let rows: &[(&str, &str, &str)] = &[
            (
                "tag_missing",
                include_str!("../fixtures/pull_errors/tag_missing.stderr"),
                "push `127.0.0.1:45124/pp/redis:8` to 127.0.0.1:45124",
            ),
            (
                "credentials_missing",
                include_str!("../fixtures/pull_errors/credentials_missing.stderr"),
                "`docker login 127.0.0.1:45123`",
            ),
            (
                "registry_closed",
                include_str!("../fixtures/pull_errors/registry_closed.stderr"),
                "`curl -sI http://127.0.0.1:45999/v2/`",
            ),
            (
                "plain_http",
                include_str!("../fixtures/pull_errors/plain_http.stderr"),
                "insecure-registries",
            ),
        ];
        let image_of = |stderr: &str| {
            RECORDED
                .iter()
                .find(|(s, ..)| *s == stderr)
                .map(|(_, image, ..)| *image)
                .unwrap()
        };
        for (name, stderr, fix) in rows {
            let got = explain(image_of(stderr), stderr);
            assert!(got.fix.contains(fix), "{name}: {}", got.fix);
        }
    }

    #[test]
    fn an_unknown_error_keeps_dockers_words_and_a_time_out_its_last_progress() {
        let got = explain(
            "x:1",
            "warning\nError response from daemon: something new\n\n",
        );
        assert_eq!(got.cause, PullCause::Other);
        assert_eq!(got.evidence, "something new");
        assert_eq!(
            explain("x:1", "").evidence,
            "docker pull failed without a message"
        );
        let slow = timed_out("127.0.0.1:5000/a/b:1", 30, Some("abc: Downloading"));
        assert_eq!(slow.cause, PullCause::TimedOut);
        assert_eq!(slow.whose(), Whose::Rig);
        assert!(slow.evidence.contains("30s") && slow.evidence.contains("abc: Downloading"));
        assert!(slow.fix.contains("pull_timeout_secs"), "{}", slow.fix);
    }

    #[test]
    fn the_registry_is_read_as_docker_reads_it() {
        let rows = [
            ("nginx:1.25", "docker.io"),
            ("library/nginx", "docker.io"),
            ("127.0.0.1:5000/a/b:1", "127.0.0.1:5000"),
            ("localhost/a", "localhost"),
            ("git.coopcloud.tech/coop-cloud/x:1", "git.coopcloud.tech"),
            ("ghcr.io/a/b@sha256:00", "ghcr.io"),
        ];
        for (image, registry) in rows {
            assert_eq!(registry_of(image), registry, "{image}");
        }
    }
}
