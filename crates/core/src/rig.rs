//! Rig adaptations: what cc-ci changes on a stack because of the rig it runs on, never
//! because of the recipe. The one adaptation there is keeps the recipe's meaning: on an
//! engine without IPVS, service VIPs do not route, so services get `endpoint_mode: dnsrr`
//! (for the catalogue's single-replica services the same as a VIP: their name reaches
//! their task). Each adaptation is announced in the run log and recorded in the results.

use crate::compose::StackModel;
use serde::{Deserialize, Serialize};

/// One change cc-ci made to the stack under test for the rig's sake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adaptation {
    /// What was changed: `endpoint_mode_dnsrr`.
    pub kind: String,
    /// The services it applies to.
    pub services: Vec<String>,
    /// Why, in a sentence a maintainer understands.
    pub reason: String,
    /// Services it could not apply to, and why (they keep the recipe's setting).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<String>,
}

pub const ENDPOINT_MODE_DNSRR: &str = "endpoint_mode_dnsrr";

/// The rig's shared overlay network recipes attach to (traefik's network in production).
pub const PROXY_NETWORK: &str = "proxy";

/// The adaptations a stack needs on a rig where service VIPs do (`vips_route`) or do not
/// route. Where VIPs work, none: the stack is deployed exactly as the recipe says.
pub fn adaptations(vips_route: bool, model: &StackModel) -> Vec<Adaptation> {
    if vips_route {
        return Vec::new();
    }
    let (ingress, plain): (Vec<_>, Vec<_>) = model
        .services
        .iter()
        .partition(|(_, svc)| svc.ingress_ports);
    if plain.is_empty() {
        return Vec::new();
    }
    vec![Adaptation {
        kind: ENDPOINT_MODE_DNSRR.into(),
        services: plain.into_iter().map(|(name, _)| name.clone()).collect(),
        reason: "this engine has no IPVS, so service VIPs do not route; DNS round-robin lets \
                 services reach each other by name as they would through a VIP"
            .into(),
        not_applied: ingress
            .into_iter()
            .map(|(name, _)| {
                format!(
                    "{name}: publishes a port through the ingress mesh, which dnsrr does not allow"
                )
            })
            .collect(),
    }]
}

/// Adds one deploy's adaptations to those recorded for the run (services unioned by kind).
pub fn record(recorded: &mut Vec<Adaptation>, adapted: &[Adaptation]) {
    for a in adapted {
        match recorded.iter_mut().find(|r| r.kind == a.kind) {
            Some(r) => {
                for (have, add) in [
                    (&mut r.services, &a.services),
                    (&mut r.not_applied, &a.not_applied),
                ] {
                    for item in add {
                        if !have.contains(item) {
                            have.push(item.clone());
                        }
                    }
                }
            }
            None => recorded.push(a.clone()),
        }
    }
}

/// The services that get `endpoint_mode: dnsrr`.
pub fn dnsrr_services(adaptations: &[Adaptation]) -> Vec<&str> {
    adaptations
        .iter()
        .filter(|a| a.kind == ENDPOINT_MODE_DNSRR)
        .flat_map(|a| a.services.iter().map(String::as_str))
        .collect()
}

/// Whether a failed container start on the rig's attachable overlay network failed on the
/// engine's attachment, not on anything of the container's, before the program ran. Two
/// faces, both recorded on Engine 20.10 with runs side by side:
/// - when the node's last container on an attachable overlay leaves while another starts,
///   the engine drops the network's local copy under the new one: `network <id> not found`;
/// - a busy manager does not answer the attachment in time: `attaching to network failed,
///   … context deadline exceeded`.
///
/// Such a start is worth repeating; any other failure is not.
pub fn is_overlay_attach_race(stderr: &str) -> bool {
    stderr.lines().any(|line| {
        let line = line.trim();
        let from_daemon = line.contains("Error response from daemon");
        let vanished = line.contains("network ") && line.ends_with(" not found");
        let attach_timed_out = line.contains("attaching to network failed")
            && line.contains("context deadline exceeded");
        from_daemon && (vanished || attach_timed_out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::load_stack;
    use std::collections::BTreeMap;

    fn model(yaml: &str) -> StackModel {
        load_stack(&[("compose.yml".into(), yaml.into())], &BTreeMap::new()).unwrap()
    }

    const TWO_SERVICES: &str =
        "services:\n  app:\n    image: a:1\n    depends_on: [db]\n  db:\n    image: b:1\n";

    #[test]
    fn nothing_is_adapted_where_vips_route() {
        assert_eq!(adaptations(true, &model(TWO_SERVICES)), Vec::new());
    }

    #[test]
    fn every_service_gets_dnsrr_where_vips_do_not_route() {
        let got = adaptations(false, &model(TWO_SERVICES));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, ENDPOINT_MODE_DNSRR);
        assert_eq!(dnsrr_services(&got), vec!["app", "db"]);
        assert!(got[0].not_applied.is_empty());
    }

    #[test]
    fn a_run_records_the_services_of_every_deploy() {
        let base = adaptations(
            false,
            &model("services:\n  app:\n    image: a:1\n  old:\n    image: o:1\n"),
        );
        let head = adaptations(false, &model(TWO_SERVICES));
        let mut recorded = base.clone();
        record(&mut recorded, &head);
        assert_eq!(dnsrr_services(&recorded), vec!["app", "old", "db"]);
        let mut none = Vec::new();
        record(&mut none, &adaptations(true, &model(TWO_SERVICES)));
        assert!(none.is_empty());
    }

    #[test]
    fn a_service_publishing_through_the_ingress_keeps_its_vip() {
        let yaml = "services:\n  app:\n    image: a:1\n  mail:\n    image: m:1\n    ports: [\"25:25\"]\n  web:\n    image: w:1\n    ports:\n      - target: 80\n        published: 8080\n        mode: host\n";
        let got = adaptations(false, &model(yaml));
        assert_eq!(dnsrr_services(&got), vec!["app", "web"]);
        assert_eq!(got[0].not_applied.len(), 1);
        assert!(got[0].not_applied[0].starts_with("mail:"));
    }

    #[test]
    fn an_overlay_attach_race_is_told_from_other_start_failures() {
        let cases = [
            // Recorded on Engine 20.10 (docker run --network proxy, tests side by side).
            ("docker: Error response from daemon: network wg19lmkxlou7rfatnz4z4qsk3 not found", true),
            ("Error response from daemon: network wg19lmkxlou7rfatnz4z4qsk3 not found\nError: failed to start containers: ccci-sbx-a", true),
            ("Error response from daemon: attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded\nError: failed to start containers: ccci-fwd-stat-89cdf9_ci_local", true),
            ("docker: Error response from daemon: No such image: ccci-forwarder:latest.", false),
            ("Error response from daemon: attaching to network failed, make sure your network options are correct", false),
            ("docker: Error response from daemon: Conflict. The container name \"/x\" is already in use", false),
            // A program's own output that happens to say so is not the engine's.
            ("curl: network app not found", false),
            ("", false),
        ];
        for (stderr, race) in cases {
            assert_eq!(is_overlay_attach_race(stderr), race, "{stderr}");
        }
    }
}
