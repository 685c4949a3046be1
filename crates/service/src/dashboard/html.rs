//! Server-rendered HTML: escaping, the page frame, and small components. No templates, no
//! front-end build: every page is a string built here, every value escaped through [`esc`].

use crate::job::{Job, JobState, Millis};
use ccci_core::ladder::Verdict;
use ccci_runner::alerts::Alert;
use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a value for a URL path segment or query value.
pub fn url_part(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn time(ms: Millis) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return "—".into();
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&format).unwrap_or_else(|_| "—".into())
}

/// An alert's RFC 3339 time as the rest of the dashboard shows times; as given if unparsable.
pub fn alert_time(ts: &str) -> String {
    match time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339) {
        Ok(t) => time((t.unix_timestamp_nanos() / 1_000_000) as Millis),
        Err(_) => ts.to_string(),
    }
}

pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The pill that says where a job stands: green / red / running / queued / superseded.
pub fn status_pill(job: &Job) -> String {
    let (class, word) = match (job.state, job.verdict) {
        (JobState::Done, Some(Verdict::Green)) => ("green", "green".to_string()),
        (JobState::Done, _) => ("red", "red".to_string()),
        (JobState::Running, _) => ("running", "running".to_string()),
        (JobState::Queued, _) => ("queued", "queued".to_string()),
        (JobState::Superseded, _) => ("muted", "superseded".to_string()),
    };
    format!(r#"<span class="pill {class}">{}</span>"#, esc(&word))
}

pub fn level_chip(level: Option<u8>) -> String {
    match level {
        Some(l) => format!(r#"<span class="level l{l}">L{l}</span>"#),
        None => r#"<span class="level none">—</span>"#.into(),
    }
}

/// The page frame: head, styles, top bar, and `body`.
pub fn page(title: &str, active: &str, body: &str) -> String {
    let nav = [
        ("/", "Runs"),
        ("/queue", "Queue"),
        ("/alerts", "Alerts"),
        ("/metrics", "Metrics"),
    ]
    .iter()
    .map(|(href, label)| {
        let class = if *label == active {
            " class=\"active\""
        } else {
            ""
        };
        format!(r#"<a href="{href}"{class}>{label}</a>"#)
    })
    .collect::<String>();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · cc-ci</title>
<style>{STYLE}</style></head>
<body><header class="top"><a class="brand" href="/"><span class="logo">◆</span> cc-ci</a>
<span class="tagline">Co-op Cloud recipes, proven on a real swarm</span><nav>{nav}</nav></header>
<main>{body}</main>
<footer>cc-ci · <a href="/api/runs">JSON API</a> · <a href="/healthz">health</a></footer>
</body></html>"#,
        title = esc(title),
    )
}

const STYLE: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#6b7385;--line:#e4e7ec;--accent:#3b5bdb;
--green:#2b8a3e;--green-bg:#e6f4ea;--red:#c92a2a;--red-bg:#fdecec;--blue:#1c7ed6;--blue-bg:#e7f1fc;
--grey-bg:#eef0f3}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:18px;padding:12px 28px;background:#141a2a;color:#fff}
header.top .brand{color:#fff;font-weight:700;font-size:18px;letter-spacing:.3px}
header.top .logo{color:#74c0fc}
header.top .tagline{color:#9aa3b8;font-size:13px}
header.top nav{margin-left:auto;display:flex;gap:4px}
header.top nav a{color:#cfd6e6;padding:6px 12px;border-radius:6px}
header.top nav a.active,header.top nav a:hover{background:#26304a;color:#fff;text-decoration:none}
main{max-width:1180px;margin:24px auto;padding:0 24px}
footer{max-width:1180px;margin:24px auto 40px;padding:0 24px;color:var(--muted);font-size:12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}
.sub{color:var(--muted);margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:18px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:18px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.stat .n{font-size:22px;font-weight:700}.stat .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
table{width:100%;border-collapse:collapse}
th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.5px;color:var(--muted);font-weight:600;padding:8px 10px;border-bottom:1px solid var(--line)}
td{padding:9px 10px;border-bottom:1px solid var(--line);vertical-align:middle}
tr:last-child td{border-bottom:0}tbody tr:hover{background:#fafbfc}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,"DejaVu Sans Mono",monospace;font-size:12.5px}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600}
.pill.green,.pill.pass{background:var(--green-bg);color:var(--green)}
.pill.red,.pill.fail{background:var(--red-bg);color:var(--red)}
.pill.running{background:var(--blue-bg);color:var(--blue)}
.pill.queued,.pill.muted,.pill.skip{background:var(--grey-bg);color:var(--muted)}
.level{display:inline-block;min-width:30px;text-align:center;padding:2px 6px;border-radius:6px;font-weight:700;font-size:12px;background:var(--grey-bg)}
.level.l5{background:#b2f2bb;color:#1b6e2b}.level.l4{background:#d3f9d8;color:#2b8a3e}.level.l3{background:#e9fac8;color:#5c940d}
.level.l2{background:#fff3bf;color:#e67700}.level.l1{background:#ffe8cc;color:#d9480f}.level.l0{background:#ffe3e3;color:#c92a2a}
form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin-bottom:14px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
form.filters input,form.filters select{padding:6px 8px;border:1px solid var(--line);border-radius:6px;font:inherit;background:#fff;min-width:150px}
form.filters button{padding:7px 14px;border:0;border-radius:6px;background:var(--accent);color:#fff;font:inherit;font-weight:600;cursor:pointer}
.bar{height:8px;border-radius:4px;background:var(--grey-bg);overflow:hidden;min-width:120px}
.bar span{display:block;height:100%}
.bar .pass{background:#40c057}.bar .fail{background:#fa5252}.bar .skip{background:#ced4da}
.kv{display:grid;grid-template-columns:160px 1fr;gap:6px 14px}.kv div:nth-child(odd){color:var(--muted)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
img.card-img{max-width:100%;border-radius:8px;border:1px solid var(--line)}
.empty{color:var(--muted);padding:18px 0;text-align:center}
.note{background:#fff9db;border:1px solid #ffe066;border-radius:8px;padding:8px 12px;margin-bottom:14px}
.alerts-banner{border-color:#ffa8a8;background:#fff5f5}
.alerts-banner h2{color:var(--red)}
pre.log{background:#0f1420;color:#d8dee9;padding:12px;border-radius:8px;overflow:auto;max-height:320px;font-size:12px}
"#;

/// The runs table (list page, recipe page).
pub fn runs_table(jobs: &[Job], now: Millis) -> String {
    if jobs.is_empty() {
        return r#"<div class="empty">No runs match.</div>"#.into();
    }
    let mut s = String::from(
        r#"<table class="runs"><thead><tr><th>Run</th><th>Recipe</th><th>Status</th><th>Level</th><th>PR / commit</th><th>Flags</th><th>Queued</th><th>Duration</th><th>Host</th></tr></thead><tbody>"#,
    );
    for job in jobs {
        let pr = job
            .pr_number
            .map_or_else(String::new, |n| format!("#{n} · "));
        let duration_ms = match (job.started_at, job.finished_at) {
            (Some(start), Some(end)) => Some(end - start),
            (Some(start), None) if job.state == JobState::Running => Some(now - start),
            _ => None,
        };
        let _ = write!(
            s,
            r#"<tr><td><a class="run-link" href="/runs/{id}">#{id}</a></td><td><a href="/recipes/{recipe_url}">{recipe}</a></td><td>{pill}</td><td>{level}</td><td class="mono">{pr}{sha}</td><td class="mono">{flags}</td><td class="muted">{queued}</td><td>{duration}</td><td class="muted">{host}</td></tr>"#,
            id = job.id,
            recipe_url = url_part(&job.recipe),
            recipe = esc(&job.recipe),
            pill = status_pill(job),
            level = level_chip(job.level.filter(|_| job.state == JobState::Done)),
            pr = esc(&pr),
            sha = esc(job.short_sha()),
            flags = esc(&job.flags.describe()),
            queued = esc(&time(job.enqueued_at)),
            duration = duration_ms.map_or_else(|| "—".into(), duration),
            host = esc(job.host.as_deref().unwrap_or("—")),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// Alerts as a table (time, app, kind, message), in the order given.
pub fn alerts_table(alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return r#"<div class="empty">No alerts.</div>"#.into();
    }
    let mut s = String::from(
        r#"<table class="alerts"><thead><tr><th>Time</th><th>App</th><th>Kind</th><th>Message</th></tr></thead><tbody>"#,
    );
    for alert in alerts {
        let _ = write!(
            s,
            r#"<tr class="alert"><td class="muted mono">{ts}</td><td class="mono">{app}</td><td><span class="pill red">{kind}</span></td><td>{message}</td></tr>"#,
            ts = esc(&alert_time(&alert.ts)),
            app = esc(&alert.app),
            kind = esc(&alert.kind),
            message = esc(&alert.message),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The banner the run list opens with while alerts are pending; empty when none are.
pub fn alerts_banner(pending: &[Alert]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let count = match pending.len() {
        1 => "1 pending alert".to_string(),
        n => format!("{n} pending alerts"),
    };
    format!(
        r#"<div class="card alerts-banner" role="alert"><h2>⚠ {count}</h2>{table}<p class="muted"><a href="/alerts">All alerts</a> · relayed ones are archived</p></div>"#,
        table = alerts_table(pending),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_table() {
        let rows = [
            ("plain", "plain", "plain"),
            (
                "<script>&\"'",
                "&lt;script&gt;&amp;&quot;&#39;",
                "%3Cscript%3E%26%22%27",
            ),
            ("a b/c", "a b/c", "a%20b%2Fc"),
            ("ünï", "ünï", "%C3%BCn%C3%AF"),
        ];
        for (input, html, url) in rows {
            assert_eq!(esc(input), html, "{input}");
            assert_eq!(url_part(input), url, "{input}");
        }
    }

    #[test]
    fn alerts_render_escaped_and_the_banner_only_when_pending() {
        let alert = Alert {
            id: "1-proxy-held-000001".into(),
            ts: "2026-11-23T20:00:00Z".into(),
            app: "<b>proxy</b>".into(),
            kind: "held\"".into(),
            message: "major bump 1.0.0 → 2.0.0 <script>alert(1)</script>".into(),
        };
        assert_eq!(alerts_banner(&[]), "");
        let banner = alerts_banner(std::slice::from_ref(&alert));
        for want in [
            "1 pending alert<",
            "&lt;b&gt;proxy&lt;/b&gt;",
            "held&quot;",
            "major bump 1.0.0 → 2.0.0 &lt;script&gt;alert(1)&lt;/script&gt;",
            "2026-11-23 20:00:00 UTC",
            "href=\"/alerts\"",
        ] {
            assert!(banner.contains(want), "{want} missing from {banner}");
        }
        assert!(!banner.contains("<script>") && !banner.contains("<b>"));
        assert!(alerts_banner(&[alert.clone(), alert]).contains("2 pending alerts"));
        assert!(alerts_table(&[]).contains("No alerts."));
        assert_eq!(
            alert_time("2026-11-23T20:13:02.52217Z"),
            "2026-11-23 20:13:02 UTC"
        );
        assert_eq!(alert_time("yesterday"), "yesterday");
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        for (ms, want) in [
            (0, "0s"),
            (59_999, "59s"),
            (60_000, "1m 00s"),
            (3_725_000, "1h 02m"),
            (-5, "0s"),
        ] {
            assert_eq!(duration(ms), want);
        }
    }
}
