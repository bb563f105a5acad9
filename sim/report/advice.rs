//! What the node's operator can do about the conntrack-cache failures a run's seeds predict:
//! `buddysim run`'s "what you can do" section.
//!
//! Each remedy is given only when the data backs it, and says what backs it: the runs (the day
//! the memcg array first reached the order that failed, for the reboot interval) or the kernel's
//! rule as the profile models it (kmem accounting off, a kernel without per-netns caches). None
//! is given when no seed failed.

use crate::kernel::profile::{ConntrackCache, Profile};
use crate::mm::memcontrol::CacheParamsRule;
use crate::scenario::{Initial, Scenario};
use crate::workload::run::{Event, EventKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// What one seed's conntrack-cache creations asked for (from its `cache_create` events).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Creations {
    /// The first time (seconds) a creation's memcg-array kzalloc was a `kmalloc_large()` of
    /// each order.
    pub first_at_order: BTreeMap<u32, f64>,
    /// The least order of a failed creation; `Some(None)` when a small kmalloc failed.
    pub least_failed_order: Option<Option<u32>>,
}

impl Creations {
    pub fn of(events: &[Event]) -> Creations {
        let mut c = Creations::default();
        for e in events {
            if let EventKind::CacheCreate { order, ok, .. } = &e.kind {
                if let Some(o) = order {
                    c.first_at_order.entry(*o).or_insert(e.time_s);
                }
                if !ok {
                    c.least_failed_order =
                        Some(c.least_failed_order.map_or(*order, |l| l.min(*order)));
                }
            }
        }
        c
    }
}

/// One thing to do, and what backs it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Remedy {
    pub action: String,
    pub because: String,
}

/// The remedies the seeds' runs (their `creations`) and the kernel's rules back for
/// `scenario`'s node (kernel `profile`).
pub fn remedies(scenario: &Scenario, profile: &Profile, creations: &[Creations]) -> Vec<Remedy> {
    let mut out = Vec::new();
    if creations.iter().all(|c| c.least_failed_order.is_none()) {
        return out;
    }
    if let Some(r) = reboot_interval(scenario, creations) {
        out.push(r);
    }
    // memcg_register_cache() (3.10, mm/memcontrol.c) kzallocs the array only while
    // memcg_kmem_enabled(), which no kmem limit ever turns on.
    if scenario.kmem_accounting
        && matches!(
            profile.memcg_params,
            CacheParamsRule::V3_10 | CacheParamsRule::Rhel7
        )
    {
        out.push(Remedy {
            action: "turn kmem accounting off (no kmem limit set by the container runtime, or \
                     cgroup.memory=nokmem where the kernel has it)"
                .into(),
            because: "kernel rule: kmem_cache_create() registers a memcg array only while \
                      memcg_kmem_enabled() (memcg_register_cache()), so the netns's cache needs \
                      only small allocations; scenarios/seed-nokmem.yaml runs it"
                .into(),
        });
    }
    // nf_conntrack_init_start() (4.7+, net/netfilter/nf_conntrack_core.c) makes the one cache.
    if profile.conntrack != ConntrackCache::Global {
        out.push(Remedy {
            action: "run a kernel from 4.7 on (profiles 4.9 and later)".into(),
            because: "kernel rule: one global nf_conntrack cache made at boot \
                      (nf_conntrack_init_start()); nf_conntrack_init_net() creates no cache, so \
                      a pod start kzallocs no memcg array"
                .into(),
        });
    }
    out
}

/// Rebooting before the array first reached the least order that failed, when the runs start
/// from boot and no creation of a smaller order failed: the earliest such day over the seeds.
fn reboot_interval(scenario: &Scenario, creations: &[Creations]) -> Option<Remedy> {
    if scenario.initial != Initial::Fresh {
        return None;
    }
    let order = creations
        .iter()
        .filter_map(|c| c.least_failed_order)
        .min()??;
    let day = creations
        .iter()
        .filter_map(|c| c.first_at_order.get(&order))
        .fold(f64::INFINITY, |a, &t| a.min(t))
        / 86_400.0;
    // Rounded down: a rounded-up interval would pass the day the order was reached.
    let every = (day * 10.0).floor() / 10.0;
    (day.is_finite() && every > 0.0).then(|| Remedy {
        action: format!("reboot the node more often than every {every:.1} days"),
        because: format!(
            "runs: a creation's memcg array first reached order {order} on day {day:.2} (the \
             earliest of {} seeds), and no creation below order {order} failed",
            creations.len()
        ),
    })
}

/// The section as `run` prints it: a heading and one line per remedy; empty without remedies.
pub fn remedies_text(remedies: &[Remedy]) -> String {
    let mut t = String::new();
    if !remedies.is_empty() {
        t.push_str("what you can do:\n");
    }
    for r in remedies {
        t.push_str(&format!("  - {} ({})\n", r.action, r.because));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;

    const NODE: &str = "name: t
kernel: \"3.10-rhel7.3\"
machine: {memory: 2GiB, cpus: 2}
workload:
  pods:
    arrivals: {poisson: 60/h}
    lifetime: {exponential: 1h}
duration: 3d
";

    fn create(day: f64, order: Option<u32>, ok: bool) -> Event {
        Event {
            time_s: day * 86_400.0,
            kind: EventKind::CacheCreate {
                pod: 0,
                cache: "nf_conntrack_1".into(),
                size: 0,
                order,
                ok,
                reason: None,
            },
        }
    }

    fn node(kernel: &str) -> (Scenario, &'static Profile) {
        let text = NODE.replace("3.10-rhel7.3", kernel);
        let s = Scenario::parse(&text, "t.yaml").unwrap();
        (s, profile(kernel).unwrap())
    }

    #[test]
    fn a_failing_rhel7_node_gets_the_reboot_interval_kmem_off_and_a_newer_kernel() {
        let (s, p) = node("3.10-rhel7.3");
        let seeds = [
            Creations::of(&[create(1.0, Some(5), true), create(2.0, Some(6), true)]),
            Creations::of(&[create(1.58, Some(6), true), create(1.6, Some(6), false)]),
        ];
        assert_eq!(seeds[1].least_failed_order, Some(Some(6)));
        let r = remedies(&s, p, &seeds);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(
            r[0].action,
            "reboot the node more often than every 1.5 days"
        );
        assert!(r[0]
            .because
            .contains("order 6 on day 1.58 (the earliest of 2 seeds)"));
        assert!(r[1].action.starts_with("turn kmem accounting off"));
        assert!(r[2].action.starts_with("run a kernel from 4.7 on"));
    }

    #[test]
    fn each_remedy_only_where_its_grounds_hold() {
        let (mut s, p) = node("3.10-rhel7.3");
        // No failure: nothing to remedy.
        let fine = [Creations::of(&[create(1.0, Some(6), true)])];
        assert!(remedies(&s, p, &fine).is_empty());
        // A small kmalloc failed: a smaller array does not help.
        let small = [Creations::of(&[create(1.0, None, false)])];
        assert!(remedies(&s, p, &small)
            .iter()
            .all(|r| !r.action.contains("reboot")));
        // A run that did not start at boot says nothing about the time since a reboot.
        let failed = [Creations::of(&[create(1.0, Some(6), false)])];
        s.initial = Initial::Fill(Default::default());
        let r = remedies(&s, p, &failed);
        assert!(r.iter().all(|r| !r.action.contains("reboot")), "{r:?}");
        // Kmem accounting already off: only the kernel remains.
        s.kmem_accounting = false;
        let r = remedies(&s, p, &failed);
        assert_eq!(r.len(), 1, "{r:?}");
        // 4.19 makes no per-netns cache.
        let (s, p) = node("4.19");
        assert!(remedies(&s, p, &failed)
            .iter()
            .all(|r| !r.action.contains("kernel")));
    }
}
