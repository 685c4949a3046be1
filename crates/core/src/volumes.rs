//! Data that must survive an upgrade (SPEC §2, upgrade): which volumes of the base release
//! the head still mounts where, and which it renamed or dropped. Pure: the runner writes a
//! marker into every base volume before the upgrade and checks it after, in the volume the
//! service now mounts.

use crate::compose::StackModel;

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

/// The fate of every named volume the base's services mount.
pub fn compare(
    base: &StackModel,
    head: &StackModel,
    dropped_on_purpose: &[String],
) -> Vec<BaseVolume> {
    let mut out = Vec::new();
    for (service, svc) in &base.services {
        for (volume, target) in &svc.volume_mounts {
            let head_svc = head.services.get(service);
            let still = head_svc.is_some_and(|h| h.volume_mounts.contains_key(volume))
                || head
                    .services
                    .values()
                    .any(|h| h.volume_mounts.contains_key(volume));
            let fate = if still {
                Fate::Kept
            } else {
                match head_svc.and_then(|h| h.volume_mounts.iter().find(|(_, t)| *t == target)) {
                    Some((to, _)) => Fate::Renamed { to: to.clone() },
                    None => Fate::Dropped,
                }
            };
            out.push(BaseVolume {
                service: service.clone(),
                volume: volume.clone(),
                target: target.clone(),
                fate,
                expected: dropped_on_purpose.contains(volume),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::load_stack;
    use std::collections::BTreeMap;

    fn model(volumes: &str) -> StackModel {
        let yaml = format!("services:\n  app:\n    image: a:1\n    volumes: [{volumes}]\n  db:\n    image: d:1\n    volumes: [\"db:/var/lib/db\"]\n");
        load_stack(&[("compose.yml".into(), yaml)], &BTreeMap::new()).unwrap()
    }

    fn fates(base: &str, head: &str, dropped: &[&str]) -> Vec<(String, Fate, Option<String>)> {
        let dropped: Vec<String> = dropped.iter().map(|d| d.to_string()).collect();
        compare(&model(base), &model(head), &dropped)
            .into_iter()
            .map(|v| {
                let loss = v.loss();
                (v.volume, v.fate, loss)
            })
            .collect()
    }

    #[test]
    fn fate_table() {
        let kept = fates("\"data:/data\"", "\"data:/data\"", &[]);
        assert_eq!(kept[0].1, Fate::Kept);
        assert!(kept.iter().all(|(_, _, loss)| loss.is_none()));

        let renamed = fates("\"data:/data\"", "\"appdata:/data\"", &[]);
        assert_eq!(
            renamed[0].1,
            Fate::Renamed {
                to: "appdata".into()
            }
        );
        let loss = renamed[0].2.clone().unwrap();
        assert!(
            loss.contains("volume `data` of service app was renamed to `appdata`"),
            "{loss}"
        );

        let dropped = fates("\"data:/data\", \"cache:/cache\"", "\"data:/data\"", &[]);
        assert_eq!(dropped[0].0, "cache");
        assert_eq!(dropped[0].1, Fate::Dropped);
        assert!(dropped[0]
            .2
            .clone()
            .unwrap()
            .contains("dropped_volumes = [\"cache\"]"));

        let on_purpose = fates(
            "\"data:/data\", \"cache:/cache\"",
            "\"data:/data\"",
            &["cache"],
        );
        assert!(on_purpose.iter().all(|(_, _, loss)| loss.is_none()));

        // A volume the head adds is fine: only the base's volumes are compared.
        let added = fates("\"data:/data\"", "\"data:/data\", \"media:/media\"", &[]);
        assert_eq!(added.len(), 2);
        assert!(added.iter().all(|(_, f, _)| *f == Fate::Kept));
    }
}
