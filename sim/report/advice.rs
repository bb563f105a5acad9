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
use crate::workload::run::{Event, EventKind, Summary};
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
                    c.least_failed_order = Some(c.least_failed_order.map_or(*order, |l| l.min(*order)));
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

/// The remedies the seeds' runs (`summaries[k]` with `creations[k]`) and the kernel's rules
/// back for `scenario`'s node.
pub fn remedies(
    scenario: &Scenario,
    profile: &Profile,
    summaries: &[Summary],
    creations: &[Creations],
) -> Vec<Remedy> {
    let mut out = Vec::new();
    if summaries.iter().all(|s| s.first_failure.is_none()) {
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
    (day.is_finite() && day > 0.0).then(|| Remedy {
        action: format!("reboot the node more often than every {day:.1} days"),
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
