//! Parsers for the text real machines print: /proc/buddyinfo, pagetypeinfo, zoneinfo, slabinfo,
//! dmesg page-allocation-failure reports and node_exporter metrics.
//!
//! Every parser fills the same [`Capture`]: one machine's zones keyed by (node, zone), with
//! whatever each file knows. Several files of one machine merge into one capture. The engine
//! produces the same types from its state, so the writers here print a simulated node in the
//! kernel's own format and the parsers read it back.

use crate::mm::mmzone::{MigrateType, Watermarks, ZoneType};
use std::collections::BTreeMap;

/// Everything read about one machine from one or more files.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Capture {
    /// Zones sorted by (node, zone type).
    pub zones: Vec<ZoneCapture>,
    /// Kernel release when a file names it (dmesg `Not tainted 3.10.0-514.el7.x86_64`).
    pub kernel_release: Option<String>,
    /// The failed request of a dmesg page-allocation-failure report.
    pub failure: Option<FailureReport>,
    /// `Page block order:` of pagetypeinfo.
    pub pageblock_order: Option<u32>,
    /// /proc/slabinfo caches, in file order.
    pub slab_caches: Vec<SlabCache>,
    /// Node-wide counters in pages: dmesg `Mem-Info:` items (`active_anon`, `slab_reclaimable`,
    /// `free`, …) and zoneinfo per-node stats.
    pub node_stats: BTreeMap<String, u64>,
    /// Problems that do not stop parsing (a per-order sum that disagrees with a printed total).
    pub warnings: Vec<Warning>,
}

/// One zone as a capture (or the engine) sees it. `None` means no file said.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ZoneCapture {
    pub node: u32,
    pub zone: ZoneType,
    /// The zone's own free counter: zoneinfo `pages free`, dmesg `free:…kB` / 4.
    pub free_pages: Option<u64>,
    /// Free blocks per order (buddyinfo, the dmesg per-order line, or pagetypeinfo summed).
    pub free_blocks: Option<Vec<u64>>,
    /// Free blocks per order and migrate type (pagetypeinfo).
    pub free_by_type: Option<BTreeMap<MigrateType, Vec<u64>>>,
    /// Migrate types with a non-empty list at each order (the `(UEM)` letters of dmesg).
    pub types_at_order: Option<Vec<Vec<MigrateType>>>,
    /// Pageblocks per migrate type (pagetypeinfo `Number of blocks type`).
    pub pageblocks: Option<BTreeMap<MigrateType, u64>>,
    /// min/low/high (and promo/boost where printed) in pages, as printed (boosted in 5.x+).
    pub watermarks: Option<Watermarks>,
    pub spanned: Option<u64>,
    pub present: Option<u64>,
    pub managed: Option<u64>,
    /// `lowmem_reserve[]` / zoneinfo `protection: (…)`, one entry per zone index.
    pub protection: Option<Vec<u64>>,
    pub start_pfn: Option<u64>,
    /// extfrag_index per order in thousandths (debugfs extfrag/extfrag_index).
    pub extfrag_index: Option<Vec<i64>>,
    /// Per-zone counters (zoneinfo `nr_*` items, dmesg zone line items in pages).
    pub stats: BTreeMap<String, u64>,
}

impl ZoneCapture {
    pub fn new(node: u32, zone: ZoneType) -> Self {
        ZoneCapture {
            node,
            zone,
            free_pages: None,
            free_blocks: None,
            free_by_type: None,
            types_at_order: None,
            pageblocks: None,
            watermarks: None,
            spanned: None,
            present: None,
            managed: None,
            protection: None,
            start_pfn: None,
            extfrag_index: None,
            stats: BTreeMap::new(),
        }
    }
}

/// The header of a dmesg page-allocation-failure report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FailureReport {
    /// The task that failed (`exe`, `runc:[1:CHILD]`).
    pub comm: String,
    pub order: u32,
    /// `mode:0x…` as a number.
    pub mode: u64,
    /// The decoded flags the kernel printed in parentheses (4.x+), if any.
    pub mode_names: Option<String>,
}

/// One /proc/slabinfo line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlabCache {
    pub name: String,
    pub active_objs: u64,
    pub num_objs: u64,
    pub objsize: u64,
    pub objperslab: u64,
    pub pagesperslab: u64,
    pub active_slabs: u64,
    pub num_slabs: u64,
}

/// A problem found while reading that does not make the input unusable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub message: String,
}
