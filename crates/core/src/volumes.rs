//! Data that must survive an upgrade (docs/behaviour.md §3, upgrade): which volumes of the base
//! release the head still mounts where, and which it renamed or dropped. Pure: the runner writes a
//! marker into every base volume before the upgrade and checks it after, in the volume the
//! service now mounts.

/// A volume a service's spec mounts, as the engine has it: what the service's tasks
/// really get, whatever the compose key or `name:` says.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mounted {
    /// The service's short name (without `<stack>_`).
    pub service: String,
    /// The path inside the container.
    pub target: String,
    /// The engine's volume name.
    pub volume: String,
}

/// The fate of every volume the base's services mounted (`before`, read from the engine
/// before the upgrade) in what the head's services mount (`after`): kept when the same
/// engine volume is still mounted (anywhere), renamed when the service mounts another
/// engine volume at the same path, dropped otherwise. Volumes are named as the compose
/// files name them (the stack's prefix taken off), as `dropped_on_purpose` does.
pub fn compare_mounted(
    stack: &str,
    before: &[Mounted],
    after: &[Mounted],
    dropped_on_purpose: &[String],
) -> Vec<BaseVolume> {
    let short = |v: &str| {
        v.strip_prefix(&format!("{stack}_"))
            .unwrap_or(v)
            .to_string()
    };
    before
        .iter()
        .map(|b| {
            let fate = if after.iter().any(|a| a.volume == b.volume) {
                Fate::Kept
            } else {
                match after
                    .iter()
                    .find(|a| a.service == b.service && a.target == b.target)
                {
                    Some(a) => Fate::Renamed {
                        to: short(&a.volume),
                    },
                    None => Fate::Dropped,
                }
            };
            BaseVolume {
                service: b.service.clone(),
                volume: short(&b.volume),
                target: b.target.clone(),
                fate,
                expected: dropped_on_purpose.contains(&short(&b.volume)),
            }
        })
        .collect()
}

/// What became of one volume a base service mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The head's service mounts the same volume: its marker must still be there.
    Kept,
    /// The head's service mounts another volume at the same path: the app starts empty.
    Renamed { to: String },
    /// No service of the head mounts it any more.
    Dropped,
}

/// One volume of the base, and its fate in the head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseVolume {
    pub service: String,
    pub volume: String,
    /// Where the base mounted it.
    pub target: String,
    pub fate: Fate,
    /// The suite says the head drops it on purpose (`[upgrade] dropped_volumes`).
    pub expected: bool,
}

impl BaseVolume {
    /// A failure message for a lost volume, `None` when kept or dropped on purpose.
    pub fn loss(&self) -> Option<String> {
        if self.expected {
            return None;
        }
        let (svc, vol, at) = (&self.service, &self.volume, &self.target);
        let how = match &self.fate {
            Fate::Kept => return None,
            Fate::Renamed { to } => format!(
                "was renamed to `{to}` (mounted at {at}): the upgraded {svc} starts on an empty volume and what the last release stored stays behind in `{vol}`"
            ),
            Fate::Dropped => format!(
                "(mounted at {at}) is no longer mounted by any service: what the last release stored there is left behind"
            ),
        };
        Some(format!(
            "volume `{vol}` of service {svc} {how}; keep the volume's name (or migrate the data), or declare it in the suite: [upgrade] dropped_volumes = [\"{vol}\"]"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(service: &str, target: &str, volume: &str) -> Mounted {
        Mounted {
            service: service.into(),
            target: target.into(),
            volume: volume.into(),
        }
    }

    /// Judged on the engine's volume names: a head that keeps the compose key but gives it
    /// another `name:` starts on an empty volume; one that renames the key but keeps the
    /// engine name keeps the data.
    #[test]
    fn fates_of_what_the_engine_mounts() {
        let base = [
            m("app", "/data", "st_data"),
            m("db", "/var/lib/db", "st_db"),
        ];
        type Row<'a> = (&'a str, Vec<Mounted>, &'a [&'a str], Fate, bool);
        let table: &[Row] = &[
            (
                "same volume",
                vec![m("app", "/data", "st_data")],
                &[],
                Fate::Kept,
                false,
            ),
            (
                "moved to another path",
                vec![m("app", "/srv", "st_data")],
                &[],
                Fate::Kept,
                false,
            ),
            (
                "same key, another name:",
                vec![m("app", "/data", "st_data_v2")],
                &[],
                Fate::Renamed {
                    to: "data_v2".into(),
                },
                true,
            ),
            (
                "another key, same name:",
                vec![m("app", "/data", "st_data")],
                &[],
                Fate::Kept,
                false,
            ),
            ("no longer mounted", vec![], &[], Fate::Dropped, true),
            (
                "dropped on purpose",
                vec![],
                &["data"],
                Fate::Dropped,
                false,
            ),
        ];
        for (case, after, dropped, fate, lost) in table {
            let dropped: Vec<String> = dropped.iter().map(|d| d.to_string()).collect();
            let got = compare_mounted("st", &base[..1], after, &dropped);
            assert_eq!(got[0].volume, "data", "{case}");
            assert_eq!(&got[0].fate, fate, "{case}");
            assert_eq!(got[0].loss().is_some(), *lost, "{case}");
        }
        let both = compare_mounted("st", &base, &[m("app", "/data", "st_data")], &[]);
        assert_eq!(both[1].fate, Fate::Dropped);
        assert!(both[1]
            .loss()
            .unwrap()
            .contains("volume `db` of service db"));
    }
}
