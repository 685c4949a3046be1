//! Retention: which run directories to remove, given their age and size and the operator's
//! limits (`[retention] days`, `max_gb`). Oldest first; never a run that has not finished
//! (queued, running), never the newest finished run of a recipe — a recipe's page always
//! keeps its last run's artefacts — and never the two runs "where it broke" compares: a
//! recipe's newest green run and the first red run after it.

/// One run directory as the sweep saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    pub id: i64,
    pub recipe: String,
    /// When the run finished (Unix ms); `None` while it is queued or running.
    pub finished_at: Option<i64>,
    /// The directory's size on disk.
    pub bytes: u64,
    /// The run finished GREEN.
    pub green: bool,
}

/// The operator's limits; `None` = that limit is off.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    pub days: Option<u32>,
    pub max_bytes: Option<u64>,
}

impl Limits {
    pub fn is_off(&self) -> bool {
        self.days.is_none() && self.max_bytes.is_none()
    }
}

/// Why a directory goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Finished more than `days` days ago.
    Age { days: u32 },
    /// The run directories together were over `max_bytes`.
    Size { max_bytes: u64 },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Age { days: 1 } => write!(f, "older than 1 day"),
            Reason::Age { days } => write!(f, "older than {days} days"),
            Reason::Size { max_bytes } => write!(f, "runs over {}", human_bytes(*max_bytes)),
        }
    }
}

/// `512 B`, `3.2 KB`, `1.5 MB`, `20.0 GB` (powers of 1000, as `max_gb` is).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A directory to remove, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    pub id: i64,
    pub recipe: String,
    pub bytes: u64,
    pub reason: Reason,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The directories to remove at `now` (Unix ms), oldest first: first those older than
/// `days`, then, while the total is over `max_bytes`, the oldest of the rest. What
/// [`always_kept`] says stays whatever the limits say (its bytes still count towards the
/// total).
pub fn plan(dirs: &[RunDir], limits: &Limits, now: i64) -> Vec<Removal> {
    let mut candidates: Vec<(&RunDir, i64)> = dirs
        .iter()
        .filter(|d| !always_kept(d, dirs))
        .filter_map(|d| d.finished_at.map(|at| (d, at)))
        .collect();
    candidates.sort_by_key(|(d, at)| (*at, d.id));
    let mut total: u64 = dirs.iter().map(|d| d.bytes).sum();
    let mut removals = Vec::new();
    for (dir, finished_at) in candidates {
        let too_old = limits
            .days
            .filter(|days| now - finished_at > i64::from(*days) * DAY_MS)
            .map(|days| Reason::Age { days });
        let too_big = limits
            .max_bytes
            .filter(|max| total > *max)
            .map(|max_bytes| Reason::Size { max_bytes });
        let Some(reason) = too_old.or(too_big) else {
            continue;
        };
        total = total.saturating_sub(dir.bytes);
        removals.push(Removal {
            id: dir.id,
            recipe: dir.recipe.clone(),
            bytes: dir.bytes,
            reason,
        });
    }
    removals
}

/// A finished run's place in time: its finish, then its id.
fn order(dir: &RunDir) -> Option<(i64, i64)> {
    dir.finished_at.map(|at| (at, dir.id))
}

/// Whether `dir` stays whatever the limits: unfinished, its recipe's newest finished run,
/// its newest green run, or the first red run after that green one.
fn always_kept(dir: &RunDir, dirs: &[RunDir]) -> bool {
    let Some(key) = order(dir) else {
        return true;
    };
    let same_recipe = || dirs.iter().filter(|d| d.recipe == dir.recipe);
    let newest = same_recipe().filter_map(order).max();
    let newest_green = same_recipe().filter(|d| d.green).filter_map(order).max();
    let first_red_after = newest_green.and_then(|green| {
        same_recipe()
            .filter(|d| !d.green)
            .filter_map(order)
            .filter(|red| *red > green)
            .min()
    });
    [newest, newest_green, first_red_after].contains(&Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 100 * DAY_MS;

    /// `(id, recipe, finished days ago (None = running), bytes)`: red runs.
    fn dirs(rows: &[(i64, &str, Option<i64>, u64)]) -> Vec<RunDir> {
        rows.iter()
            .map(|(id, recipe, ago, bytes)| RunDir {
                id: *id,
                recipe: recipe.to_string(),
                finished_at: ago.map(|days| NOW - days * DAY_MS),
                bytes: *bytes,
                green: false,
            })
            .collect()
    }

    /// [`dirs`], with the runs `green_ids` green.
    fn with_green(mut dirs: Vec<RunDir>, green_ids: &[i64]) -> Vec<RunDir> {
        for dir in &mut dirs {
            dir.green = green_ids.contains(&dir.id);
        }
        dirs
    }

    /// Each row: the directories, the limits, and the ids removed (in order).
    #[test]
    fn oldest_go_first_and_each_recipes_last_run_stays() {
        let days = |d| Limits {
            days: Some(d),
            max_bytes: None,
        };
        let bytes = |b| Limits {
            days: None,
            max_bytes: Some(b),
        };
        let both = Limits {
            days: Some(30),
            max_bytes: Some(250),
        };
        type Row<'a> = (&'a str, Vec<RunDir>, Limits, Vec<i64>);
        let rows: Vec<Row> = vec![
            (
                "limits off: nothing goes",
                dirs(&[(1, "a", Some(90), 100), (2, "a", Some(1), 100)]),
                Limits::default(),
                vec![],
            ),
            (
                "older than the days go, oldest first",
                dirs(&[
                    (3, "a", Some(40), 1),
                    (1, "a", Some(60), 1),
                    (2, "a", Some(20), 1),
                    (4, "a", Some(0), 1),
                ]),
                days(30),
                vec![1, 3],
            ),
            (
                "a recipe's only run stays however old",
                dirs(&[
                    (1, "a", Some(90), 1),
                    (2, "b", Some(90), 1),
                    (3, "b", Some(1), 1),
                ]),
                days(30),
                vec![2],
            ),
            (
                "the newest finished run stays while a newer one runs",
                dirs(&[
                    (1, "a", Some(90), 1),
                    (2, "a", Some(80), 1),
                    (3, "a", None, 1),
                ]),
                days(30),
                vec![1],
            ),
            (
                "a running run never goes",
                dirs(&[(1, "a", None, 1000), (2, "a", Some(1), 1)]),
                bytes(10),
                vec![],
            ),
            (
                "over the size: oldest go until under it",
                dirs(&[
                    (1, "a", Some(5), 100),
                    (2, "b", Some(4), 100),
                    (3, "a", Some(3), 100),
                    (4, "b", Some(2), 100),
                ]),
                bytes(250),
                vec![1, 2],
            ),
            (
                "at the size exactly: nothing goes",
                dirs(&[(1, "a", Some(5), 100), (2, "a", Some(4), 100)]),
                bytes(200),
                vec![],
            ),
            (
                "size cannot be met: every removable run goes, last runs stay",
                dirs(&[
                    (1, "a", Some(5), 100),
                    (2, "a", Some(4), 100),
                    (3, "b", Some(3), 100),
                ]),
                bytes(1),
                vec![1],
            ),
            (
                "both: age first, then size",
                dirs(&[
                    (1, "a", Some(40), 100),
                    (2, "a", Some(10), 100),
                    (3, "a", Some(5), 100),
                    (4, "a", Some(1), 100),
                ]),
                both,
                vec![1, 2],
            ),
            (
                "a red recipe's newest green and the first red after it stay, older greens go",
                with_green(
                    dirs(&[
                        (1, "a", Some(90), 1),
                        (2, "a", Some(80), 1),
                        (3, "a", Some(70), 1),
                        (4, "a", Some(60), 1),
                    ]),
                    &[1, 2],
                ),
                days(30),
                vec![1],
            ),
            (
                "the first red after the newest green stays, later reds go",
                with_green(
                    dirs(&[
                        (1, "a", Some(90), 1),
                        (2, "a", Some(80), 1),
                        (3, "a", Some(70), 1),
                        (4, "a", Some(60), 1),
                        (5, "a", Some(50), 1),
                    ]),
                    &[2],
                ),
                days(30),
                vec![1, 4],
            ),
            (
                "a green recipe's newest run is its newest green: one run stays",
                with_green(
                    dirs(&[(1, "a", Some(90), 1), (2, "a", Some(80), 1)]),
                    &[1, 2],
                ),
                days(30),
                vec![1],
            ),
            (
                "same finish time: lower id is older",
                dirs(&[
                    (2, "a", Some(40), 1),
                    (1, "a", Some(40), 1),
                    (3, "a", Some(1), 1),
                ]),
                days(30),
                vec![1, 2],
            ),
        ];
        for (what, dirs, limits, want) in rows {
            let got: Vec<i64> = plan(&dirs, &limits, NOW).iter().map(|r| r.id).collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn reasons_name_the_limit() {
        let rows = dirs(&[
            (1, "a", Some(40), 600),
            (2, "a", Some(2), 600),
            (3, "a", Some(1), 1),
        ]);
        let limits = Limits {
            days: Some(30),
            max_bytes: Some(500),
        };
        let reasons: Vec<String> = plan(&rows, &limits, NOW)
            .iter()
            .map(|r| r.reason.to_string())
            .collect();
        assert_eq!(reasons, ["older than 30 days", "runs over 500 B"]);
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(20_000_000_000), "20.0 GB");
        assert_eq!(Reason::Age { days: 1 }.to_string(), "older than 1 day");
    }
}
