//! vmstat counters (include/linux/vm_event_item.h, mm/vmstat.c) under the kernel's names.
//!
//! Events count things that happened (`pgalloc_normal`, `pgfree`, …) and only grow; the
//! zone's state items (`nr_free_pages`) are read from the zone itself. The extfrag counters
//! count the `mm_page_alloc_extfrag` tracepoint, which the kernel has no vmstat item for.

use crate::mm::mmzone::ZoneType;

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
