//! vmstat counters (include/linux/vm_event_item.h, mm/vmstat.c) under the kernel's names.
//!
//! Events count things that happened (`pgalloc_normal`, `pgfree`, `compact_stall`, …) and only
//! grow; the zone's state items (`nr_free_pages`) are read from the zone itself. The extfrag
//! counters count the `mm_page_alloc_extfrag` tracepoint, which the kernel has no vmstat item
//! for. Counters live per zone; /proc/vmstat prints their sum over the node (and, for the
//! per-zone reclaim names of 3.10 – 4.8, one line per zone type). Events the kernel does not
//! tie to a zone (`compact_stall`, `allocstall`, `drop_slab`, …) are counted in the zone the
//! request or the operator action started from; their node sum is what /proc/vmstat prints.
//!
//! Which names exist depends on the kernel ([`VmstatNames`], KERNEL_MM.md 9.4).

use crate::mm::mmzone::{Node, ZoneType};
use std::fmt::Write as _;

/// Index of the anon half of the per-type reclaim counters.
pub const ANON: usize = 0;
/// Index of the file half of the per-type reclaim counters.
pub const FILE: usize = 1;

/// Event counters of one zone (summed per node by `Node::events()`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct VmEvents {
    /// `pgalloc_<zone>` in pages, indexed by `ZoneType::index()`.
    pub pgalloc: [u64; 6],
    /// `pgfree` in pages.
    pub pgfree: u64,
    pub pgmigrate_success: u64,
    pub pgmigrate_fail: u64,
    /// `mm_page_alloc_extfrag` events: allocations served from another type's list.
    pub extfrag_fallback: u64,
    /// …of which the fallback block was smaller than a pageblock (the tracepoint's
    /// `fragmenting=1`).
    pub extfrag_fragmenting: u64,
    /// …of which the pageblock ended up with the requester's type (`change_ownership=1`).
    pub extfrag_change_ownership: u64,
    /// `compact_migrate_scanned`: pages the migration scanner looked at.
    pub compact_migrate_scanned: u64,
    /// `compact_free_scanned`: pages the free scanner looked at.
    pub compact_free_scanned: u64,
    /// `compact_isolated`: pages isolated by either scanner.
    pub compact_isolated: u64,
    /// `compact_stall`: direct compaction attempts.
    pub compact_stall: u64,
    /// `compact_fail`: direct compactions after which the allocation still failed.
    pub compact_fail: u64,
    /// `compact_success`: direct compactions after which the allocation succeeded.
    pub compact_success: u64,
    /// `compact_daemon_wake` (4.6+): kcompactd runs.
    pub compact_daemon_wake: u64,
    /// `compact_daemon_migrate_scanned` (4.19+).
    pub compact_daemon_migrate_scanned: u64,
    /// `compact_daemon_free_scanned` (4.19+).
    pub compact_daemon_free_scanned: u64,
    /// `pgscan_kswapd`, per LRU type ([`ANON`], [`FILE`]).
    pub pgscan_kswapd: [u64; 2],
    /// `pgscan_direct`, per LRU type.
    pub pgscan_direct: [u64; 2],
    /// `pgsteal_kswapd`, per LRU type.
    pub pgsteal_kswapd: [u64; 2],
    /// `pgsteal_direct`, per LRU type.
    pub pgsteal_direct: [u64; 2],
    /// `pswpout`: anon pages written to swap.
    pub pswpout: u64,
    /// `slabs_scanned`: objects the shrinkers were asked to scan.
    pub slabs_scanned: u64,
    /// `allocstall`: direct reclaim entries.
    pub allocstall: u64,
    /// `kswapd_low_wmark_hit_quickly`: kswapd woken again during its short nap.
    pub kswapd_low_wmark_hit_quickly: u64,
    /// `kswapd_high_wmark_hit_quickly`: kswapd's short nap ended without a new wakeup.
    pub kswapd_high_wmark_hit_quickly: u64,
    /// `drop_pagecache`: writes of 1 or 3 to `/proc/sys/vm/drop_caches`.
    pub drop_pagecache: u64,
    /// `drop_slab`: writes of 2 or 3.
    pub drop_slab: u64,
}

fn add2(a: &mut [u64; 2], b: [u64; 2]) {
    a[0] += b[0];
    a[1] += b[1];
}

impl VmEvents {
    pub fn add(&mut self, o: &VmEvents) {
        for (a, b) in self.pgalloc.iter_mut().zip(o.pgalloc) {
            *a += b;
        }
        self.pgfree += o.pgfree;
        self.pgmigrate_success += o.pgmigrate_success;
        self.pgmigrate_fail += o.pgmigrate_fail;
        self.extfrag_fallback += o.extfrag_fallback;
        self.extfrag_fragmenting += o.extfrag_fragmenting;
        self.extfrag_change_ownership += o.extfrag_change_ownership;
        self.compact_migrate_scanned += o.compact_migrate_scanned;
        self.compact_free_scanned += o.compact_free_scanned;
        self.compact_isolated += o.compact_isolated;
        self.compact_stall += o.compact_stall;
        self.compact_fail += o.compact_fail;
        self.compact_success += o.compact_success;
        self.compact_daemon_wake += o.compact_daemon_wake;
        self.compact_daemon_migrate_scanned += o.compact_daemon_migrate_scanned;
        self.compact_daemon_free_scanned += o.compact_daemon_free_scanned;
        add2(&mut self.pgscan_kswapd, o.pgscan_kswapd);
        add2(&mut self.pgscan_direct, o.pgscan_direct);
        add2(&mut self.pgsteal_kswapd, o.pgsteal_kswapd);
        add2(&mut self.pgsteal_direct, o.pgsteal_direct);
        self.pswpout += o.pswpout;
        self.slabs_scanned += o.slabs_scanned;
        self.allocstall += o.allocstall;
        self.kswapd_low_wmark_hit_quickly += o.kswapd_low_wmark_hit_quickly;
        self.kswapd_high_wmark_hit_quickly += o.kswapd_high_wmark_hit_quickly;
        self.drop_pagecache += o.drop_pagecache;
        self.drop_slab += o.drop_slab;
    }

    /// `(name, value)` in /proc/vmstat order: `pgalloc_dma`, `pgalloc_dma32`,
    /// `pgalloc_normal`, `pgalloc_movable`, `pgfree`, `pgmigrate_success`, `pgmigrate_fail`,
    /// then the extfrag tracepoint counts.
    pub fn items(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("pgalloc_dma", self.pgalloc[ZoneType::Dma.index()]),
            ("pgalloc_dma32", self.pgalloc[ZoneType::Dma32.index()]),
            ("pgalloc_normal", self.pgalloc[ZoneType::Normal.index()]),
            ("pgalloc_movable", self.pgalloc[ZoneType::Movable.index()]),
            ("pgfree", self.pgfree),
            ("pgmigrate_success", self.pgmigrate_success),
            ("pgmigrate_fail", self.pgmigrate_fail),
            ("extfrag_fallback", self.extfrag_fallback),
            ("extfrag_fragmenting", self.extfrag_fragmenting),
            ("extfrag_change_ownership", self.extfrag_change_ownership),
        ]
    }
}

/// Which event names a kernel's /proc/vmstat prints (KERNEL_MM.md 9.4); `Profile::vmstat_names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum VmstatNames {
    /// 3.10 – 4.5: reclaim counters per zone (`pgsteal_kswapd_normal`, …); no kcompactd, no
    /// drop_caches counters.
    V3_10,
    /// 4.6 – 4.8: per-zone reclaim names, `compact_daemon_wake`, `drop_pagecache`/`drop_slab`
    /// (the release that added the drop_caches counters is unconfirmed; 4.4 is modelled
    /// without them).
    V4_6,
    /// 4.9 – 4.18: node-wide `pgsteal_kswapd`, … (the per-zone names were dropped in 4.8 or 4.9).
    V4_9,
    /// 4.19 – 5.14: adds `compact_daemon_migrate_scanned` / `compact_daemon_free_scanned`.
    V4_19,
    /// 5.15 – 6.x: adds `pgscan_anon`/`pgscan_file`/`pgsteal_anon`/`pgsteal_file`.
    V5_15,
    /// 6.18: adds `pgscan_khugepaged`, `pgsteal_khugepaged`, `pgscan_proactive`,
    /// `pgsteal_proactive` (always 0 here: no khugepaged or proactive reclaim is modelled).
    V6_18,
}

impl VmstatNames {
    fn per_zone_reclaim(self) -> bool {
        matches!(self, VmstatNames::V3_10 | VmstatNames::V4_6)
    }
}

/// The event part of `/proc/vmstat` for a node, one `"name value"` line each, in the order
/// `vmstat_text[]` (mm/vmstat.c) lists them, with the names the kernel has. Models
/// `vmstat_show()` over the event items.
pub fn vmstat_events_text(node: &Node, names: VmstatNames) -> String {
    let e = node.events();
    let mut out = String::new();
    let mut line = |name: &str, v: u64| {
        let _ = writeln!(out, "{name} {v}");
    };
    for (name, v) in e.items().into_iter().take(5) {
        line(name, v);
    }
    let zones = [
        ZoneType::Dma,
        ZoneType::Dma32,
        ZoneType::Normal,
        ZoneType::Movable,
    ];
    let zone_sum = |zt: ZoneType, f: &dyn Fn(&VmEvents) -> u64| -> u64 {
        node.zones
            .iter()
            .filter(|z| z.zone_type == zt)
            .map(|z| f(&z.events))
            .sum()
    };
    type Field = fn(&VmEvents) -> u64;
    let reclaim: [(&str, Field); 4] = [
        ("pgsteal_kswapd", |e| {
            e.pgsteal_kswapd[0] + e.pgsteal_kswapd[1]
        }),
        ("pgsteal_direct", |e| {
            e.pgsteal_direct[0] + e.pgsteal_direct[1]
        }),
        ("pgscan_kswapd", |e| e.pgscan_kswapd[0] + e.pgscan_kswapd[1]),
        ("pgscan_direct", |e| e.pgscan_direct[0] + e.pgscan_direct[1]),
    ];
    if names.per_zone_reclaim() {
        for (base, f) in reclaim {
            for zt in zones {
                line(
                    &format!("{base}_{}", zt.name().to_ascii_lowercase()),
                    zone_sum(zt, &f),
                );
            }
        }
    } else {
        for (base, f) in reclaim {
            line(base, f(&e));
        }
        if names == VmstatNames::V6_18 {
            for n in [
                "pgsteal_khugepaged",
                "pgsteal_proactive",
                "pgscan_khugepaged",
                "pgscan_proactive",
            ] {
                line(n, 0);
            }
        }
        if matches!(names, VmstatNames::V5_15 | VmstatNames::V6_18) {
            line("pgscan_anon", e.pgscan_kswapd[ANON] + e.pgscan_direct[ANON]);
            line("pgscan_file", e.pgscan_kswapd[FILE] + e.pgscan_direct[FILE]);
            line(
                "pgsteal_anon",
                e.pgsteal_kswapd[ANON] + e.pgsteal_direct[ANON],
            );
            line(
                "pgsteal_file",
                e.pgsteal_kswapd[FILE] + e.pgsteal_direct[FILE],
            );
        }
    }
    line("slabs_scanned", e.slabs_scanned);
    line(
        "kswapd_low_wmark_hit_quickly",
        e.kswapd_low_wmark_hit_quickly,
    );
    line(
        "kswapd_high_wmark_hit_quickly",
        e.kswapd_high_wmark_hit_quickly,
    );
    line("pswpout", e.pswpout);
    if names != VmstatNames::V3_10 {
        line("drop_pagecache", e.drop_pagecache);
        line("drop_slab", e.drop_slab);
    }
    line("allocstall", e.allocstall);
    line("pgmigrate_success", e.pgmigrate_success);
    line("pgmigrate_fail", e.pgmigrate_fail);
    line("compact_migrate_scanned", e.compact_migrate_scanned);
    line("compact_free_scanned", e.compact_free_scanned);
    line("compact_isolated", e.compact_isolated);
    line("compact_stall", e.compact_stall);
    line("compact_fail", e.compact_fail);
    line("compact_success", e.compact_success);
    if names != VmstatNames::V3_10 {
        line("compact_daemon_wake", e.compact_daemon_wake);
    }
    if matches!(
        names,
        VmstatNames::V4_19 | VmstatNames::V5_15 | VmstatNames::V6_18
    ) {
        line(
            "compact_daemon_migrate_scanned",
            e.compact_daemon_migrate_scanned,
        );
        line("compact_daemon_free_scanned", e.compact_daemon_free_scanned);
    }
    out
}
