//! `/proc/buddyinfo`, `/proc/pagetypeinfo` and `/proc/zoneinfo` of simulated nodes
//! (mm/vmstat.c).
//!
//! The kernel prints these files from `struct zone`: the free-block counts per order
//! (`frag_show_print()`), per order and migrate type with the pageblock counts
//! (`pagetypeinfo_showfree_print()`, `pagetypeinfo_showblockcount_print()`), and the sizes,
//! watermarks, protection and counters (`zoneinfo_show_print()`). Here the engine's zones are
//! turned into [`crate::capture::ZoneCapture`]s (`Zone::snapshot()`) and printed by the same
//! writers that round-trip real captures, in the profile's migrate-type order, pageblock order
//! and zoneinfo layout, so a simulated node reads like a real one.

use crate::capture::{buddyinfo, pagetypeinfo, zoneinfo, ZoneCapture};
use crate::kernel::profile::Profile;
use crate::mm::mmzone::Node;

fn snapshot(nodes: &[Node]) -> Vec<ZoneCapture> {
    nodes.iter().flat_map(Node::snapshot).collect()
}

/// `/proc/buddyinfo` of the nodes. Models `frag_show()` / `frag_show_print()`.
pub fn buddyinfo(nodes: &[Node]) -> String {
    buddyinfo::write(&snapshot(nodes))
}

/// `/proc/pagetypeinfo` of the nodes, with the profile's pageblock order and migrate types.
/// Models `pagetypeinfo_show()`.
pub fn pagetypeinfo(nodes: &[Node], profile: &Profile) -> String {
    pagetypeinfo::write(
        profile.pageblock_order,
        profile.migrate_types,
        &snapshot(nodes),
    )
}

/// `/proc/zoneinfo` of the nodes in the profile's layout, with `nr_alloc_batch` where the
/// kernel has the fair zone allocation policy (printed through `zone_page_state()`, which
/// shows a negative count as 0). Models `zoneinfo_show()`.
pub fn zoneinfo(nodes: &[Node], profile: &Profile) -> String {
    let mut zones = snapshot(nodes);
    if profile.fair_zone_alloc {
        let batches = nodes.iter().flat_map(|n| &n.zones).map(|z| z.alloc_batch());
        for (c, batch) in zones.iter_mut().zip(batches) {
            c.stats.insert("nr_alloc_batch".into(), batch.max(0) as u64);
        }
    }
    zoneinfo::write(&zones, profile.zoneinfo_layout)
}
