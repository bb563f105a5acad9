//! Invariant checker for the engine's memory state (the kernel's `VM_BUG_ON`s, all at once).
//!
//! Walks every page of every zone and every list and checks that: each page is in exactly one
//! place (a free block, an allocated block, a per-cpu list, reserved or a hole); block heads
//! are aligned to their order and their tails are tails; no free block has a free buddy of the
//! same order it should have merged with; the lists are well linked and hold exactly the free
//! heads of their (order, type); and every counter (nr_free per order and per type,
//! NR_FREE_PAGES, the pageblock counts and free pages per pageblock, managed pages) equals what
//! the walk finds. It costs a pass over the zone: for tests and `--check` runs, not for the hot
//! path.

use crate::kernel::profile::MergeRule;
use crate::mm::mmzone::{
    MigrateType, Node, Pfn, Zone, ZoneType, KIND_ALLOC, KIND_FREE, KIND_HOLE, KIND_PCP,
    KIND_RESERVED, KIND_TAIL, MAX_NR_ORDERS, NIL, PB_COUNTED,
};
use crate::mm::page_alloc::buddy::mergeable;
use std::fmt;

/// A broken invariant: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub node: u32,
    pub zone: ZoneType,
    pub pfn: Option<Pfn>,
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} zone {}", self.node, self.zone)?;
        if let Some(p) = self.pfn {
            write!(f, " pfn {p:#x}")?;
        }
        write!(f, ": {}", self.what)
    }
}

impl std::error::Error for Violation {}

/// Checks every zone of the node.
pub fn check(node: &Node) -> Result<(), Violation> {
    node.zones.iter().try_for_each(check_zone)
}

/// Checks one zone.
pub fn check_zone(z: &Zone) -> Result<(), Violation> {
    let bad = |off: Option<u32>, what: String| Violation {
        node: z.node,
        zone: z.zone_type,
        pfn: off.map(|o| z.pfn_of(o)),
        what,
    };
    let nt = MigrateType::COUNT;
    let orders = z.cfg.orders;
    let mut typed = [0u64; MAX_NR_ORDERS * MigrateType::COUNT];
    let pb = z.cfg.pageblock_order;
    let mut block_free = vec![0u32; z.block_free.len()];
    let (mut free_pages, mut used, mut pcp, mut reserved) = (0u64, 0u64, 0u64, 0u64);
    let len = z.pages.len() as u32;
    let (lo, hi) = (
        (z.start_pfn - z.base_pfn) as u32,
        (z.end_pfn() - z.base_pfn) as u32,
    );
    let mut off = 0u32;
    while off < len {
        let pi = z.pages[off as usize].info;
        let in_span = off >= lo && off < hi;
        match pi.kind() {
            KIND_HOLE => {
                off += 1;
                continue;
            }
            KIND_RESERVED | KIND_PCP if !in_span => {
                return Err(bad(
                    Some(off),
                    "reserved or per-cpu page outside the span".into(),
                ))
            }
            KIND_RESERVED => {
                reserved += 1;
                off += 1;
                continue;
            }
            KIND_TAIL => {
                return Err(bad(Some(off), "tail page not inside any block".into()));
            }
            KIND_FREE | KIND_ALLOC | KIND_PCP => {}
            k => return Err(bad(Some(off), format!("unknown page kind {k}"))),
        }
        let order = pi.order();
        let size = 1u32 << order;
        if order >= orders {
            return Err(bad(Some(off), format!("block of order {order} ≥ {orders}")));
        }
        if off & (size - 1) != 0 {
            return Err(bad(
                Some(off),
                format!("block head not aligned to its order {order}"),
            ));
        }
        if off < lo || off + size > hi {
            return Err(bad(
                Some(off),
                format!("order-{order} block crosses the zone span"),
            ));
        }
        if let Some(t) =
            (off + 1..off + size).find(|&t| z.pages[t as usize].info.kind() != KIND_TAIL)
        {
            return Err(bad(
                Some(t),
                format!(
                    "page inside the order-{order} block at {:#x} is not a tail",
                    z.pfn_of(off)
                ),
            ));
        }
        if pi.kind() == KIND_FREE {
            typed[order as usize * nt + pi.mt().index()] += 1;
            free_pages += u64::from(size);
            for b in off..off + size {
                block_free[(b >> pb) as usize] += 1;
            }
            let buddy = off ^ size;
            if order + 1 < orders && z.pages[buddy as usize].info.is_free_of_order(order) {
                let (a, b) = (z.pageblock_mt(off), z.pageblock_mt(buddy));
                let refused = z.cfg.merge == MergeRule::MergeableTypesOnly
                    && order >= z.cfg.pageblock_order
                    && a != b
                    && !(mergeable(a) && mergeable(b));
                if !refused {
                    return Err(bad(
                        Some(off),
                        format!(
                            "free order-{order} block has a free buddy at {:#x}",
                            z.pfn_of(buddy)
                        ),
                    ));
                }
            }
        } else if pi.kind() == KIND_PCP {
            pcp += u64::from(size);
        } else {
            used += u64::from(size);
        }
        off += size;
    }
    for o in 0..orders {
        let mut sum = 0;
        for mt in MigrateType::ALL {
            let i = o as usize * nt + mt.index();
            if typed[i] != z.nr_free_typed[i] {
                return Err(bad(
                    None,
                    format!(
                        "nr_free[{o}][{mt}] is {} but {} such heads exist",
                        z.nr_free_typed[i], typed[i]
                    ),
                ));
            }
            check_list(z, o, mt, typed[i]).map_err(|w| bad(None, w))?;
            sum += typed[i];
        }
        if sum != z.nr_free[o as usize] {
            return Err(bad(
                None,
                format!(
                    "nr_free[{o}] is {} but the lists hold {sum}",
                    z.nr_free[o as usize]
                ),
            ));
        }
    }
    if free_pages != z.nr_free_pages {
        return Err(bad(
            None,
            format!(
                "NR_FREE_PAGES is {} but free blocks hold {free_pages}",
                z.nr_free_pages
            ),
        ));
    }
    if pcp != z.pcp.count() {
        return Err(bad(
            None,
            format!(
                "per-cpu lists count {} but {pcp} pages are per-cpu",
                z.pcp.count()
            ),
        ));
    }
    check_pcp_lists(z).map_err(|w| bad(None, w))?;
    if free_pages + used + pcp != z.managed || reserved != z.present - z.managed {
        return Err(bad(
            None,
            format!(
                "free {free_pages} + allocated {used} + per-cpu {pcp} pages ≠ managed {}, or reserved {reserved} ≠ present − managed",
                z.managed
            ),
        ));
    }
    if let Some(b) = (0..block_free.len()).find(|&b| block_free[b] != z.block_free[b]) {
        return Err(bad(
            Some((b as u32) << pb),
            format!(
                "the pageblock counts {} free pages but its free blocks hold {}",
                z.block_free[b], block_free[b]
            ),
        ));
    }
    let mut blocks = [0u64; MigrateType::COUNT];
    for b in z.blocks.iter().filter(|b| *b & PB_COUNTED != 0) {
        blocks[usize::from(b & 7)] += 1;
    }
    if blocks != z.block_count {
        return Err(bad(
            None,
            format!(
                "pageblock counts {:?} but the pageblocks say {blocks:?}",
                z.block_count
            ),
        ));
    }
    check_watermarks(z).map_err(|w| bad(None, w))
}

/// Watermark arithmetic: `min ≤ low ≤ high` (`≤ promo` when the kernel has it), and the
/// zone's `lowmem_reserve[]` (once set up) has one slot per configured zone, 0 at and below
/// the zone's own index and non-decreasing to the right (`setup_per_zone_lowmem_reserve()`).
fn check_watermarks(z: &Zone) -> Result<(), String> {
    let w = z.watermarks;
    if !(w.min <= w.low && w.low <= w.high && (w.promo == 0 || w.high <= w.promo)) {
        return Err(format!(
            "watermarks out of order: min {} low {} high {} promo {}",
            w.min, w.low, w.high, w.promo
        ));
    }
    let r = &z.lowmem_reserve;
    if r.is_empty() {
        return Ok(());
    }
    let own = z.cfg.zones.iter().position(|&t| t == z.zone_type);
    let Some(own) = own.filter(|_| r.len() == z.cfg.zones.len()) else {
        return Err(format!(
            "lowmem_reserve {r:?} does not match the configured zones {:?}",
            z.cfg.zones
        ));
    };
    if r[..=own].iter().any(|&v| v != 0) || r.windows(2).any(|p| p[0] > p[1]) {
        return Err(format!(
            "lowmem_reserve {r:?} is not 0 up to slot {own} and non-decreasing after it"
        ));
    }
    Ok(())
}

/// Walks `free_list[o][mt]`: links agree both ways, every entry is a free head of that list,
/// the tail pointer and the non-empty bit are right, and it holds `expect` entries.
fn check_list(z: &Zone, o: u32, mt: MigrateType, expect: u64) -> Result<(), String> {
    let l = z.lists[o as usize * MigrateType::COUNT + mt.index()];
    let (mut n, mut prev, mut cur) = (0u64, NIL, l.head);
    while cur != NIL {
        if n > expect {
            return Err(format!(
                "free_list[{o}][{mt}] has more than {expect} entries (a cycle?)"
            ));
        }
        let pi = z.pages[cur as usize].info;
        if pi.kind() != KIND_FREE || pi.order() != o || pi.mt() != mt {
            return Err(format!(
                "free_list[{o}][{mt}] holds {:#x}, which is {:?}",
                z.pfn_of(cur),
                pi.state()
            ));
        }
        if z.pages[cur as usize].link.prev != prev {
            return Err(format!(
                "free_list[{o}][{mt}]: bad prev link at {:#x}",
                z.pfn_of(cur)
            ));
        }
        n += 1;
        prev = cur;
        cur = z.pages[cur as usize].link.next;
    }
    if l.tail != prev {
        return Err(format!(
            "free_list[{o}][{mt}]: tail pointer is not the last entry"
        ));
    }
    if n != expect {
        return Err(format!(
            "free_list[{o}][{mt}] holds {n} entries, {expect} heads say they are on it"
        ));
    }
    if ((z.nonempty[mt.index()] >> o) & 1 == 1) != (n > 0) {
        return Err(format!(
            "free_list[{o}][{mt}]: non-empty bit disagrees with the list"
        ));
    }
    Ok(())
}

/// Every per-cpu list entry is a per-cpu page, once.
fn check_pcp_lists(z: &Zone) -> Result<(), String> {
    let mut entries: Vec<u32> = z.pcp.pages().collect();
    if let Some(&off) = entries
        .iter()
        .find(|&&off| z.pages.get(off as usize).map(|p| p.info.kind()) != Some(KIND_PCP))
    {
        return Err(format!(
            "per-cpu list entry {:#x} is not a per-cpu page",
            z.pfn_of(off)
        ));
    }
    let n = entries.len();
    entries.sort_unstable();
    entries.dedup();
    if entries.len() != n {
        return Err(format!(
            "per-cpu lists hold {} pages more than once",
            n - entries.len()
        ));
    }
    Ok(())
}
