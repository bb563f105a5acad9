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

use crate::capture::zoneinfo::ZoneinfoLayout;
use crate::capture::{buddyinfo, pagetypeinfo, zoneinfo, ZoneCapture};
use crate::kernel::profile::Profile;
use crate::mm::mmzone::{Node, OwnerKind, Zone};
use std::collections::BTreeMap;

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

/// `/proc/zoneinfo` of the nodes in the profile's layout. Models `zoneinfo_show()`.
///
/// The 3.10 / 4.4 layout (`zoneinfo_show_print()` before 4.8) also gets `scanned`
/// (`zone->pages_scanned`) and the zone stat items the model counts per zone
/// ([`zone_items_3_10`]); `nr_alloc_batch` where the kernel has the fair zone allocation policy
/// (printed through `zone_page_state()`, which shows a negative count as 0).
pub fn zoneinfo(nodes: &[Node], profile: &Profile) -> String {
    let mut zones = snapshot(nodes);
    let engine = nodes.iter().flat_map(|n| &n.zones);
    for (c, z) in zones.iter_mut().zip(engine) {
        if profile.fair_zone_alloc {
            c.stats
                .insert("nr_alloc_batch".into(), z.alloc_batch().max(0) as u64);
        }
        if profile.zoneinfo_layout == ZoneinfoLayout::V3_10 {
            c.stats.insert("scanned".into(), z.pages_scanned);
            zone_items_3_10(z, &mut c.stats);
        }
    }
    zoneinfo::write(&zones, profile.zoneinfo_layout)
}

/// The 3.10 zone stat items (`enum zone_stat_item`) the model has, besides `nr_free_pages`,
/// `nr_free_cma` and `nr_alloc_batch`: the anon and file pages, slab pages (reclaimable or not),
/// page-table pages and kernel stacks (3.10 – 4.7 count stacks, not pages:
/// `account_kernel_stack()`) of the zone's allocated blocks; and 0 for the items that are 0 on
/// a node without mlock, unevictable mappings, bounce buffers (64-bit), NFS, FUSE or reclaim
/// running at the moment of reading (isolated pages). Left out because the model does not
/// track them, rather than printed as a made-up 0: the active/inactive LRU split, `nr_mapped`,
/// `nr_shmem`, dirty and writeback pages and their event counts (`nr_dirty`, `nr_writeback`,
/// `nr_vmscan_write`, `nr_vmscan_immediate_reclaim`, `nr_dirtied`, `nr_written`), `numa_*`,
/// `workingset_*` and `nr_anon_transparent_hugepages`.
fn zone_items_3_10(z: &Zone, stats: &mut BTreeMap<String, u64>) {
    let c = z.owner_counts();
    let slab = c.pages[OwnerKind::Slab as usize];
    let items = [
        ("nr_unevictable", 0),
        ("nr_mlock", 0),
        ("nr_anon_pages", c.pages[OwnerKind::Anon as usize]),
        ("nr_file_pages", c.pages[OwnerKind::File as usize]),
        ("nr_slab_reclaimable", c.slab_reclaimable),
        ("nr_slab_unreclaimable", slab - c.slab_reclaimable),
        (
            "nr_page_table_pages",
            c.pages[OwnerKind::PageTable as usize],
        ),
        ("nr_kernel_stack", c.blocks[OwnerKind::KernelStack as usize]),
        ("nr_unstable", 0),
        ("nr_bounce", 0),
        ("nr_writeback_temp", 0),
        ("nr_isolated_anon", 0),
        ("nr_isolated_file", 0),
    ];
    for (k, v) in items {
        stats.insert(k.into(), v);
    }
}
