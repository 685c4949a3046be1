//! A run while it happens, read from its run directory (the runner's live files,
//! [`ccci_core::live`], already redacted as written): the run page's live panel, and
//! `GET /runs/{id}/log/stream`, the log and the timeline as server-sent events.
//!
//! The stream is bounded: it starts at an offset (`Last-Event-ID`, or `?from=`, or the
//! log's tail), sends at most [`CHUNK_BYTES`] per event, keeps an idle connection alive,
//! ends with an `end` event once the run is done and its log is sent, and closes after
//! [`MAX_STREAM`] in any case (the browser then reconnects from its last event id). Reading
//! from disk and the store, not from this process, lets a page on any host follow a run.

use super::{templates, views};
use crate::app::App;
use crate::job::{now_millis, JobId, JobState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use ccci_core::live::{parse_events, timeline, LIVE_LOG, LIVE_RUNGS};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of the log's end a page shows, and a stream starts with: never the whole of a
/// large log (the link to the file has all of it).
pub const TAIL_BYTES: u64 = 256 * 1024;
/// The most one `log` event carries.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// How often a stream looks for new lines and for the run's end.
const POLL: Duration = Duration::from_millis(500);
/// How often a running rung's time on the timeline is refreshed.
const TIMELINE_REFRESH: Duration = Duration::from_secs(5);
/// An idle stream's keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The longest one connection lasts.
pub const MAX_STREAM: Duration = Duration::from_secs(30 * 60);

/// Complete lines of the log read from `start` up to `end` (an offset for `Last-Event-ID`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogChunk {
    pub text: String,
    pub end: u64,
    /// Bytes between the offset asked for and `start`, left out to start at the tail.
    pub skipped: u64,
}

fn read_at(file: &mut std::fs::File, pos: u64, max: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(max.min(1 << 20));
    file.take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The log's complete lines from `from` (none: from the start), at most `max` bytes of them,
/// starting no earlier than the line that begins the last [`TAIL_BYTES`]. A line longer than
/// `max` is cut; a half-written last line waits for the next read.
pub fn read_log(path: &FsPath, from: Option<u64>, max: usize) -> LogChunk {
    let from = from.unwrap_or(0);
    let nothing = LogChunk {
        end: from,
        ..LogChunk::default()
    };
    let Ok(mut file) = std::fs::File::open(path) else {
        return nothing;
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = from.min(len);
    let tail = len.saturating_sub(TAIL_BYTES);
    let read = if tail > from {
        // Start at the first line that begins at or after `tail`.
        read_at(&mut file, tail - 1, max + 1).map(|buf| {
            let cut = buf.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
            (tail - 1 + cut as u64, buf[cut..].to_vec())
        })
    } else {
        read_at(&mut file, from, max).map(|buf| (from, buf))
    };
    let Ok((start, bytes)) = read else {
        return nothing;
    };
    let keep = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => i + 1,
        None if bytes.len() >= max => bytes.len(),
        None => 0,
    };
    LogChunk {
        text: String::from_utf8_lossy(&bytes[..keep]).into_owned(),
        end: start + keep as u64,
        skipped: start - from,
    }
}

/// The rung timeline from the run directory's events, as rows.
fn timeline_rows(dir: &FsPath) -> Vec<views::TimelineRow> {
    let text = std::fs::read_to_string(dir.join(LIVE_RUNGS)).unwrap_or_default();
    let now = u64::try_from(now_millis()).unwrap_or(0);
    views::timeline_rows(&timeline(&parse_events(&text), now))
}

/// The run page's live panel: `None` when the run has no live log and is over (a run from
/// before live logs, or one that never started).
pub fn panel(app: &App, id: JobId, state: JobState) -> Option<views::LivePanel> {
    let dir = app.run_dir(id);
    let going = matches!(state, JobState::Queued | JobState::Running);
    let path = dir.join(LIVE_LOG);
    if !going && !path.exists() {
        return None;
    }
    let chunk = read_log(&path, None, TAIL_BYTES as usize);
    Some(views::LivePanel {
        log: chunk.text,
        skipped: chunk.skipped,
        log_href: format!("/runs/{id}/files/{LIVE_LOG}"),
        stream_href: going.then(|| format!("/runs/{id}/log/stream?from={}", chunk.end)),
        timeline: timeline_rows(&dir),
    })
}

/// Where a stream starts: the browser's `Last-Event-ID` on a reconnect, else `?from=`.
fn resume_offset(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| query.get("from").and_then(|v| v.parse().ok()))
}

pub async fn log_stream(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such run\n").into_response();
    let Ok(id) = id.parse::<JobId>() else {
        return not_found();
    };
    match app.store.job(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::warn!("log stream: store: {e}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable\n",
            )
                .into_response();
        }
    }
    let follow = Follow {
        dir: app.run_dir(id),
        app,
        id,
        offset: resume_offset(&headers, &query),
        rungs_len: None,
        timeline_sent: Instant::now(),
        opened: Instant::now(),
        queue: VecDeque::new(),
        ended: false,
    };
    let events = futures_util::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok::<Event, Infallible>(event), follow))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// One stream's place in the run: the log offset sent up to, the timeline last sent.
struct Follow {
    app: Arc<App>,
    id: JobId,
    dir: PathBuf,
    /// `None` until the first read: the tail of the log.
    offset: Option<u64>,
    rungs_len: Option<u64>,
    timeline_sent: Instant,
    opened: Instant,
    queue: VecDeque<Event>,
    ended: bool,
}

impl Follow {
    /// The next event, waiting for one; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.ended || self.opened.elapsed() > MAX_STREAM {
                return None;
            }
            // The run's state first: once it is done, a read that finds nothing new has
            // seen the whole log.
            let done = self.run_done().await;
            self.read_new();
            if self.queue.is_empty() {
                if done {
                    self.ended = true;
                    self.queue
                        .push_back(Event::default().event("end").data("done"));
                } else {
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Whether the run is over (or gone). A store hiccup reads as "not yet": the stream is
    /// bounded by [`MAX_STREAM`] all the same.
    async fn run_done(&self) -> bool {
        match self.app.store.job(self.id).await {
            Ok(Some(job)) => !matches!(job.state, JobState::Queued | JobState::Running),
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Queues the log lines written since the last read and, if the rung events changed
    /// (or a running rung's time is due a refresh), the timeline.
    fn read_new(&mut self) {
        let chunk = read_log(&self.dir.join(LIVE_LOG), self.offset, CHUNK_BYTES);
        self.offset = Some(chunk.end);
        if !chunk.text.is_empty() || chunk.skipped > 0 {
            let mut text = String::new();
            if chunk.skipped > 0 {
                text.push_str(&format!(
                    "… {} earlier bytes not shown (the whole log: {LIVE_LOG} in the artefacts)\n",
                    chunk.skipped
                ));
            }
            text.push_str(&chunk.text);
            let data = text.strip_suffix('\n').unwrap_or(&text);
            self.queue.push_back(
                Event::default()
                    .event("log")
                    .id(chunk.end.to_string())
                    .data(data),
            );
        }
        let rungs_len = std::fs::metadata(self.dir.join(LIVE_RUNGS))
            .map(|m| m.len())
            .ok();
        let due = self.timeline_sent.elapsed() >= TIMELINE_REFRESH;
        if rungs_len.is_some() && (rungs_len != self.rungs_len || due) {
            self.rungs_len = rungs_len;
            self.timeline_sent = Instant::now();
            let rows = timeline_rows(&self.dir);
            let html = templates::live_timeline(&rows).into_string();
            self.queue
                .push_back(Event::default().event("timeline").data(html));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `lines` numbered lines of `width` bytes each (newline included).
    fn log_file(dir: &FsPath, lines: usize, width: usize) -> PathBuf {
        let path = dir.join(LIVE_LOG);
        let text: String = (0..lines)
            .map(|i| format!("{i:0>w$}\n", w = width - 1))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_whole_lines_from_an_offset_and_tails_a_large_log() {
        let dir = tempfile::tempdir().unwrap();
        // No file yet: nothing, and the offset stays.
        let none = read_log(&dir.path().join(LIVE_LOG), Some(7), 100);
        assert_eq!((none.text.as_str(), none.end), ("", 7));

        let path = log_file(dir.path(), 10, 4); // "000\n001\n…"
        let all = read_log(&path, None, 1000);
        assert_eq!(
            (all.text.lines().count(), all.end, all.skipped),
            (10, 40, 0)
        );
        // `max` cuts at the last whole line; the next read goes on from there.
        let first = read_log(&path, Some(0), 10);
        assert_eq!((first.text.as_str(), first.end), ("000\n001\n", 8));
        let next = read_log(&path, Some(first.end), 10);
        assert_eq!(next.text, "002\n003\n");
        // A half-written last line waits.
        std::fs::write(&path, "abc\nde").unwrap();
        assert_eq!(read_log(&path, Some(0), 100).text, "abc\n");

        // 1 MB of log: a read from the start begins at the tail, on a line boundary.
        let big = log_file(dir.path(), 100_000, 10);
        let tail = read_log(&big, None, TAIL_BYTES as usize);
        assert!(tail.skipped >= 1_000_000 - TAIL_BYTES, "{}", tail.skipped);
        assert_eq!(tail.end, 1_000_000);
        assert!(tail.text.len() as u64 <= TAIL_BYTES);
        assert!(tail.text.lines().all(|l| l.len() == 9), "whole lines only");
        assert!(tail.text.ends_with("000099999\n"));
    }
}
