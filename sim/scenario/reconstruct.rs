//! Snapshot reconstruction: a captured node (buddyinfo, pagetypeinfo, zoneinfo, a failure
//! report, meminfo) turned into a concrete page layout the engine can run from.
//!
//! A capture gives counts, not places. Reconstruction chooses places, deterministically from
//! the seed (one ChaCha8 stream per zone), so that the model's own buddyinfo and pagetypeinfo
//! print exactly the capture's counts:
//!
//! 1. **Zone sizes** come from zoneinfo (`start_pfn`, `spanned`, `present`, `managed`); else
//!    from a failure report's `present:`/`managed:` with the x86-64 zone starts (DMA at PFN 1
//!    spanning to 16 MiB, DMA32 at 16 MiB spanning to 4 GiB when a Normal zone follows, Normal
//!    at 4 GiB, a later node's zones right after the previous zone, aligned to a max-order
//!    block; see [`x86_64_layout`](crate::mm::mmzone::x86_64_layout)); else from the caller's machine description. Holes
//!    (spanned − present): in DMA the first 97 pages are the legacy ISA hole at PFN 159..256
//!    (as [`x86_64_layout`](crate::mm::mmzone::x86_64_layout)) and the next ones lie just
//!    below it (EBDA, BIOS data); all others lie at the top of the span (the PCI hole below
//!    4 GiB), unless pagetypeinfo counts more pageblocks than that leaves: then the top hole
//!    starts after the last counted one and the rest of it lies inside the pageblocks below.
//!    zoneinfo without `managed` (before 3.8) prints `present` without the zone's memmap: the
//!    memmap (64 bytes a spanned page) is added back as present, managed pages.
//!    Reserved pages (present − managed) are placed last, among the pages left neither free
//!    nor holes (step 4).
//! 2. **Pageblock types**: pagetypeinfo's `Number of blocks type` counts when given, over the
//!    pageblocks pagetypeinfo itself counts ([`ZoneSpec::counted_pageblock_pfns`]). Without
//!    them, pageblocks covered by a free block of order ≥ pageblock_order take that block's
//!    type and the others are shared out in proportion to the used pages of each mobility
//!    (unmovable kinds and reserved pages, reclaimable slab, movable pages plus free pages).
//! 3. **Free blocks**: exactly `free_blocks[order]` blocks per order, placed from the largest
//!    order down. At each order a block goes in a random parent (the aligned block one order
//!    up) that still has a fully free-able half and holds no block of this order yet, so no
//!    two buddies are ever free at the same order and the kernel's `__free_one_page()` would
//!    leave the layout as it is. Any choice at one order removes the same room from the
//!    orders below, so the placement fails only when the zone truly cannot hold the blocks.
//!    With pagetypeinfo each block is on its own type's list; otherwise types follow a
//!    failure report's `(UEM)` letters (each listed type gets at least one block, the rest in
//!    proportion to the mobility shares of step 2) or, with no letters, those shares.
//!    Blocks of order ≥ pageblock_order set their pageblocks' types (while the type's count
//!    lasts); smaller ones go in pageblocks of their own type while those have room, and
//!    elsewhere (with a note) when they do not.
//! 4. **Used pages**: every managed page not free is an allocated order-0 page. Owners come
//!    from the capture's counters (per zone where it prints them, otherwise machine-wide and
//!    shared over zones by their used pages), overridden by the scenario's `split`:
//!    `active/inactive/isolated_anon` and `unevictable` → Anon, `*_file` → File (movable);
//!    `slab_reclaimable` → Slab (reclaimable); `slab_unreclaimable` → Slab, `pagetables` →
//!    PageTable, `kernel_stack` → KernelStack (unmovable); the rest → Kernel (unmovable).
//!    `shmem` is part of the anon LRU and is not counted again. Without counters, owners follow
//!    the pageblock types (movable → Anon and File half and half, reclaimable → Slab, others →
//!    Kernel). Reserved pages and owners fill pages of the pageblocks of their mobility first
//!    (reserved pages from the top down, as memblock allocates), then the others.
//!
//! The model's `NR_FREE_PAGES` is the sum of its free blocks. A capture's own counter that
//! differs (pages on per-cpu lists, files read a moment apart) is reported as a note, never
//! faked.

use crate::capture::{Capture, ZoneCapture};
use crate::engine::rng::Streams;
use crate::kernel::profile::Profile;
use crate::mm::mmzone::{
    LayoutError, MigrateType, Node, NodeSpec, OwnerKind, Pfn, Zone, ZoneSpec, ZoneType,
};
use crate::mm::page_alloc::buddy::BuddyConfig;
use crate::mm::page_alloc::pcp::PcpConfig;
use crate::scenario::MemSplit;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// The reconstructed nodes, and what the reconstruction had to assume or could not match.
#[derive(Clone, Debug)]
pub struct Reconstruction {
    pub nodes: Vec<Node>,
    pub notes: Vec<String>,
}

/// A capture that cannot be reconstructed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReconstructError {
    #[error("node {node} zone {zone}: {what}")]
    Zone {
        node: u32,
        zone: ZoneType,
        what: String,
    },
    #[error("{0}")]
    Capture(String),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// What the reconstruction needs besides the capture.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// The kernel whose rules the nodes follow (orders, pageblock order, migrate types).
    pub profile: &'static Profile,
    /// Zone layout for zones the capture gives no sizes for.
    pub machine: Option<&'a [NodeSpec]>,
    /// Used pages by kind, overriding the capture's counters (machine-wide pages).
    pub split: MemSplit,
    pub pcp: PcpConfig,
}

impl<'a> Options<'a> {
    /// No machine description, no split, no per-cpu lists.
    pub fn new(profile: &'static Profile) -> Options<'a> {
        Options {
            profile,
            machine: None,
            split: MemSplit::default(),
            pcp: PcpConfig::Off,
        }
    }
}

/// Builds nodes whose free blocks, migrate types and pageblock counts are the capture's.
pub fn reconstruct(
    capture: &Capture,
    seed: u64,
    opts: &Options,
) -> Result<Reconstruction, ReconstructError> {
    let p = opts.profile;
    let mut notes = Vec::new();
    if let Some(pb) = capture.pageblock_order {
        if pb != p.pageblock_order {
            return Err(ReconstructError::Capture(format!(
                "the capture's pageblock order is {pb}, kernel profile {} has {}",
                p.name, p.pageblock_order
            )));
        }
    }
    let zones = zone_plans(capture, opts, &mut notes)?;
    if zones.is_empty() {
        return Err(ReconstructError::Capture(
            "the capture has no zone with free block counts (buddyinfo, pagetypeinfo or a \
             failure report's per-order lines)"
                .into(),
        ));
    }
    let managed: u64 = zones.iter().map(|z| z.managed).sum();
    let cfg = BuddyConfig::from_profile(p, managed);
    let owners = owner_split(capture, &opts.split, &zones, &mut notes)?;
    let streams = Streams::new(seed);
    let mut nodes: Vec<Node> = Vec::new();
    for (plan, owners) in zones.iter().zip(&owners) {
        let mut rng = streams.stream(&format!(
            "reconstruct node {} zone {}",
            plan.node, plan.zone
        ));
        let zone = build_zone(plan, owners, &cfg, opts.pcp, &mut rng, &mut notes)?;
        match nodes.last_mut() {
            Some(n) if n.id == plan.node => n.zones.push(zone),
            _ => nodes.push(Node {
                id: plan.node,
                zones: vec![zone],
                reclaimed_slab: 0,
            }),
        }
    }
    Ok(Reconstruction { nodes, notes })
}

/// One zone to build: its layout and what the capture says about it.
struct ZonePlan<'c> {
    node: u32,
    zone: ZoneType,
    start: Pfn,
    spanned: u64,
    holes: Vec<Range<Pfn>>,
    managed: u64,
    present: u64,
    /// Free blocks per order, padded to the profile's orders.
    free: Vec<u64>,
    cap: &'c ZoneCapture,
}

impl ZonePlan<'_> {
    fn err(&self, what: String) -> ReconstructError {
        ReconstructError::Zone {
            node: self.node,
            zone: self.zone,
            what,
        }
    }

    fn free_pages(&self) -> u64 {
        self.free
            .iter()
            .enumerate()
            .fold(0u64, |a, (o, n)| a.saturating_add(n.saturating_mul(1 << o)))
    }
}

/// x86-64's legacy ISA hole in ZONE_DMA (PFN 159..256), as [`x86_64_layout`](crate::mm::mmzone::x86_64_layout) places it.
const DMA_LEGACY_HOLE: Range<Pfn> = 159..256;
/// First PFN above ZONE_DMA32 on x86-64 (4 GiB).
const X86_NORMAL_START: Pfn = 1 << 20;

/// Holes of a zone with `spanned − present` missing pages: in DMA the legacy hole first, then
/// the pages just below it; the rest at the top of the span.
fn holes(zone: ZoneType, start: Pfn, spanned: u64, present: u64) -> Vec<Range<Pfn>> {
    let end = start + spanned;
    let mut missing = spanned - present;
    let mut out = Vec::new();
    if zone == ZoneType::Dma && missing > 0 && start <= DMA_LEGACY_HOLE.start && end >= 256 {
        let n = missing.min(DMA_LEGACY_HOLE.end - DMA_LEGACY_HOLE.start);
        missing -= n;
        // More missing pages sit just below it (the EBDA and BIOS area, e820-reserved).
        let below = missing.min(DMA_LEGACY_HOLE.start - start);
        out.push(DMA_LEGACY_HOLE.start - below..DMA_LEGACY_HOLE.start + n);
        missing -= below;
    }
    if missing > 0 {
        out.push(end - missing..end);
    }
    out
}

/// Zone layouts for every populated zone of the capture, in (node, zone) order.
fn zone_plans<'c>(
    capture: &'c Capture,
    opts: &Options,
    notes: &mut Vec<String>,
) -> Result<Vec<ZonePlan<'c>>, ReconstructError> {
    let p = opts.profile;
    let orders = p.orders as usize;
    let align = 1u64 << (p.orders - 1).max(p.pageblock_order);
    let mut plans: Vec<ZonePlan> = Vec::new();
    let mut used_x86 = false;
    let mut pre_3_8 = false;
    for c in &capture.zones {
        let zerr = |what: String| ReconstructError::Zone {
            node: c.node,
            zone: c.zone,
            what,
        };
        let empty = c.present == Some(0) || c.managed == Some(0) || c.spanned == Some(0);
        let Some(free) = &c.free_blocks else {
            if empty {
                continue;
            }
            return Err(zerr(
                "no free blocks per order: the capture needs buddyinfo, pagetypeinfo or a \
                 failure report's per-order line for this zone"
                    .into(),
            ));
        };
        if empty && free.iter().all(|&n| n == 0) {
            continue;
        }
        if free.len() > orders {
            return Err(zerr(format!(
                "the capture has {} orders, kernel profile {} has {orders}",
                free.len(),
                p.name
            )));
        }
        let mut free = free.clone();
        free.resize(orders, 0);
        let machine = opts
            .machine
            .and_then(|m| m.iter().find(|n| n.node == c.node))
            .and_then(|n| n.zones.iter().find(|z| z.zone == c.zone));
        let prev_end = plans
            .last()
            .map(|z: &ZonePlan| z.start + z.spanned)
            .unwrap_or(0);
        let (start, spanned, present, managed, zone_holes) =
            if let Some(printed) = c.managed.or(c.present) {
                let (present, managed) = match (c.managed, c.present, c.spanned) {
                    // Before 3.8 there is no `managed` and `present` excludes the zone's memmap
                    // (free_area_init_core()), which often lives elsewhere: take the memmap
                    // (64 bytes a spanned page) back as present, managed pages.
                    (None, Some(p), Some(s)) => {
                        pre_3_8 = true;
                        let real = p
                            .saturating_add(s.saturating_mul(64).div_ceil(1 << 12))
                            .min(s);
                        (real, real)
                    }
                    _ => (c.present.unwrap_or(printed), printed),
                };
                let start = match (c.start_pfn, c.zone) {
                    (Some(s), _) => s,
                    (None, ZoneType::Dma) => 1,
                    (None, ZoneType::Dma32) => 16 << 8,
                    (None, _) if c.node == 0 => X86_NORMAL_START.max(prev_end),
                    (None, _) => prev_end.div_ceil(align) * align,
                };
                if c.start_pfn.is_none() || c.spanned.is_none() {
                    used_x86 = true;
                }
                let normal_above = capture
                    .zones
                    .iter()
                    .any(|z| z.node == c.node && z.zone > ZoneType::Dma32);
                let spanned = c.spanned.unwrap_or(match c.zone {
                    ZoneType::Dma => present.max((16u64 << 8).saturating_sub(start)),
                    ZoneType::Dma32 if normal_above => {
                        present.max(X86_NORMAL_START.saturating_sub(start))
                    }
                    _ => present,
                });
                if managed > present || present > spanned {
                    return Err(zerr(format!(
                    "expected managed ≤ present ≤ spanned, the capture gives managed {managed}, \
                     present {present}, spanned {spanned}"
                )));
                }
                if start.checked_add(spanned).is_none_or(|e| e >= 1 << 52) {
                    return Err(zerr(format!(
                        "start PFN {start} + spanned {spanned} is beyond 2^52 pages"
                    )));
                }
                (
                    start,
                    spanned,
                    present,
                    managed,
                    holes(c.zone, start, spanned, present),
                )
            } else if let Some(spec) = machine {
                spec.validate()?;
                (
                    spec.start_pfn,
                    spec.spanned,
                    spec.present(),
                    spec.managed(),
                    spec.holes.clone(),
                )
            } else {
                return Err(zerr(
                    "no zone sizes: the capture has no zoneinfo or failure report giving present \
                 and managed pages, and no machine description was given"
                        .into(),
                ));
            };
        if let Some(prev) = plans.last() {
            if prev.node == c.node && prev.start.saturating_add(prev.spanned) > start {
                return Err(zerr(format!(
                    "the zone starts at PFN {start:#x}, inside {} (PFN {:#x}..{:#x})",
                    prev.zone,
                    prev.start,
                    prev.start + prev.spanned
                )));
            }
        }
        let plan = ZonePlan {
            node: c.node,
            zone: c.zone,
            start,
            spanned,
            holes: zone_holes,
            managed,
            present,
            free,
            cap: c,
        };
        if plan.free_pages() > managed {
            return Err(plan.err(format!(
                "the free blocks hold {} pages, more than the zone's {managed} managed pages",
                plan.free_pages()
            )));
        }
        plans.push(plan);
    }
    if used_x86 {
        notes.push(
            "zone start PFNs and spans not in the capture follow the x86-64 layout (DMA from \
             PFN 1 to 16 MiB, DMA32 from 16 MiB to 4 GiB below a Normal zone, Normal from 4 GiB)"
                .into(),
        );
    }
    if pre_3_8 {
        notes.push(
            "zoneinfo has no `managed` lines (a kernel before 3.8, whose `present` leaves out \
             the zone's memmap): present and managed pages are taken as present + 64 bytes of \
             memmap per spanned page, with no reserved pages"
                .into(),
        );
    }
    if let Some(m) = opts.machine {
        for n in m {
            for z in &n.zones {
                if capture.zone(n.node, z.zone).is_none() {
                    notes.push(format!(
                        "node {} zone {}: in the machine description but not in the capture; \
                         left out",
                        n.node, z.zone
                    ));
                }
            }
        }
    }
    Ok(plans)
}

// ---------------------------------------------------------------------------------------------
// Used pages by owner.
// ---------------------------------------------------------------------------------------------

/// One kind of used page the capture counts, with the names it goes by: per-zone keys (dmesg
/// zone lines, zoneinfo zone stats) and machine-wide keys (dmesg Mem-Info, zoneinfo per-node
/// stats, meminfo), each with the divisor that turns its value into pages.
struct Kind {
    owner: OwnerKind,
    mt: MigrateType,
    zone_keys: &'static [(&'static str, u64)],
    node_keys: &'static [(&'static str, u64)],
    split: fn(&MemSplit) -> Option<u64>,
}

const KINDS: &[Kind] = &[
    Kind {
        owner: OwnerKind::Anon,
        mt: MigrateType::Movable,
        zone_keys: &[
            ("active_anon", 1),
            ("nr_zone_active_anon", 1),
            ("nr_active_anon", 1),
        ],
        node_keys: &[
            ("active_anon", 1),
            ("nr_active_anon", 1),
            ("Active(anon)", 1),
        ],
        split: |s| s.active_anon.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::Anon,
        mt: MigrateType::Movable,
        zone_keys: &[
            ("inactive_anon", 1),
            ("nr_zone_inactive_anon", 1),
            ("nr_inactive_anon", 1),
        ],
        node_keys: &[
            ("inactive_anon", 1),
            ("nr_inactive_anon", 1),
            ("Inactive(anon)", 1),
        ],
        split: |s| s.inactive_anon.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::Anon,
        mt: MigrateType::Movable,
        zone_keys: &[("isolated(anon)", 1), ("nr_isolated_anon", 1)],
        node_keys: &[("isolated_anon", 1), ("nr_isolated_anon", 1)],
        split: |_| None,
    },
    Kind {
        owner: OwnerKind::Anon,
        mt: MigrateType::Movable,
        zone_keys: &[
            ("unevictable", 1),
            ("nr_zone_unevictable", 1),
            ("nr_unevictable", 1),
        ],
        node_keys: &[
            ("unevictable", 1),
            ("nr_unevictable", 1),
            ("Unevictable", 1),
        ],
        split: |s| s.unevictable.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::File,
        mt: MigrateType::Movable,
        zone_keys: &[
            ("active_file", 1),
            ("nr_zone_active_file", 1),
            ("nr_active_file", 1),
        ],
        node_keys: &[
            ("active_file", 1),
            ("nr_active_file", 1),
            ("Active(file)", 1),
        ],
        split: |s| s.active_file.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::File,
        mt: MigrateType::Movable,
        zone_keys: &[
            ("inactive_file", 1),
            ("nr_zone_inactive_file", 1),
            ("nr_inactive_file", 1),
        ],
        node_keys: &[
            ("inactive_file", 1),
            ("nr_inactive_file", 1),
            ("Inactive(file)", 1),
        ],
        split: |s| s.inactive_file.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::File,
        mt: MigrateType::Movable,
        zone_keys: &[("isolated(file)", 1), ("nr_isolated_file", 1)],
        node_keys: &[("isolated_file", 1), ("nr_isolated_file", 1)],
        split: |_| None,
    },
    Kind {
        owner: OwnerKind::Slab,
        mt: MigrateType::Reclaimable,
        zone_keys: &[("slab_reclaimable", 1), ("nr_slab_reclaimable", 1)],
        node_keys: &[
            ("slab_reclaimable", 1),
            ("nr_slab_reclaimable", 1),
            ("SReclaimable", 1),
        ],
        split: |s| s.slab_reclaimable.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::Slab,
        mt: MigrateType::Unmovable,
        zone_keys: &[("slab_unreclaimable", 1), ("nr_slab_unreclaimable", 1)],
        node_keys: &[
            ("slab_unreclaimable", 1),
            ("nr_slab_unreclaimable", 1),
            ("SUnreclaim", 1),
        ],
        split: |s| s.slab_unreclaimable.map(|p| p.0),
    },
    Kind {
        owner: OwnerKind::PageTable,
        mt: MigrateType::Unmovable,
        zone_keys: &[("pagetables", 1), ("nr_page_table_pages", 1)],
        node_keys: &[
            ("pagetables", 1),
            ("nr_page_table_pages", 1),
            ("PageTables", 1),
        ],
        split: |s| s.pagetables.map(|p| p.0),
    },
    // zoneinfo's nr_kernel_stack is in kB (NR_KERNEL_STACK_KB, 4.8+); the dmesg and meminfo
    // parsers already give pages.
    Kind {
        owner: OwnerKind::KernelStack,
        mt: MigrateType::Unmovable,
        zone_keys: &[("kernel_stack", 1), ("nr_kernel_stack", 4)],
        node_keys: &[("nr_kernel_stack", 4), ("KernelStack", 1)],
        split: |s| s.kernel_stack.map(|p| p.0),
    },
];

/// Owner slots of a zone's used pages: (allocation type, owner, pages); empty when nothing
/// says how used pages divide (owners then follow the pageblock types).
type Owners = Vec<(MigrateType, OwnerKind, u64)>;

fn lookup(stats: &std::collections::BTreeMap<String, u64>, keys: &[(&str, u64)]) -> Option<u64> {
    keys.iter()
        .find_map(|(k, div)| stats.get(*k).map(|v| v / div))
}

/// Used pages by owner for every zone (see the module header, step 4).
fn owner_split(
    capture: &Capture,
    split: &MemSplit,
    zones: &[ZonePlan],
    notes: &mut Vec<String>,
) -> Result<Vec<Owners>, ReconstructError> {
    let used: Vec<u64> = zones.iter().map(|z| z.managed - z.free_pages()).collect();
    let mut per_zone: Vec<Vec<u64>> = vec![vec![0; KINDS.len()]; zones.len()];
    let mut any = false;
    for (k, kind) in KINDS.iter().enumerate() {
        let node_value =
            (split.kind_value(kind)).or_else(|| lookup(&capture.node_stats, kind.node_keys));
        let zoned = (split.kind_value(kind).is_none())
            .then(|| {
                zones
                    .iter()
                    .map(|z| lookup(&z.cap.stats, kind.zone_keys))
                    .collect::<Vec<_>>()
            })
            .filter(|v| v.iter().any(Option::is_some));
        if let Some(values) = zoned {
            any = true;
            for (z, v) in values.into_iter().enumerate() {
                per_zone[z][k] = v.unwrap_or(0);
            }
        } else if let Some(total) = node_value {
            any = true;
            for (z, v) in apportion(total, &used).into_iter().enumerate() {
                per_zone[z][k] = v;
            }
        }
    }
    if split.shmem.is_some() {
        notes.push("split: shmem pages are part of the anon LRU counts; not counted again".into());
    }
    if !any {
        notes.push(
            "the capture does not say how used pages divide (no meminfo, Mem-Info or zone \
             counters): owners follow the pageblock types"
                .into(),
        );
        return Ok(vec![Vec::new(); zones.len()]);
    }
    let mut out = Vec::with_capacity(zones.len());
    for ((z, counts), &used) in zones.iter().zip(per_zone).zip(&used) {
        let named: u64 = counts.iter().sum();
        let counts = if named > used {
            notes.push(format!(
                "node {} zone {}: the counters name {named} used pages, the zone has {used} \
                 (managed − free); scaled down",
                z.node, z.zone
            ));
            apportion(used, &counts)
        } else {
            counts
        };
        let mut owners: Owners = Vec::new();
        for (kind, n) in KINDS.iter().zip(&counts) {
            match owners
                .iter_mut()
                .find(|(mt, o, _)| (*mt, *o) == (kind.mt, kind.owner))
            {
                Some(slot) => slot.2 += n,
                None => owners.push((kind.mt, kind.owner, *n)),
            }
        }
        owners.push((
            MigrateType::Unmovable,
            OwnerKind::Kernel,
            used - counts.iter().sum::<u64>(),
        ));
        out.push(owners);
    }
    Ok(out)
}

impl MemSplit {
    fn kind_value(&self, kind: &Kind) -> Option<u64> {
        (kind.split)(self)
    }
}

/// Splits `total` in proportion to `weights` by largest remainder (ties to the lower index);
/// evenly when every weight is 0.
fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let w: Vec<u128> = if sum == 0 {
        vec![1; weights.len()]
    } else {
        weights.iter().map(|&w| u128::from(w)).collect()
    };
    let sum: u128 = w.iter().sum();
    let t = u128::from(total);
    let mut out: Vec<u64> = w.iter().map(|&x| (t * x / sum) as u64).collect();
    let mut rest: Vec<(u128, usize)> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| (t * x % sum, i))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = total - out.iter().sum::<u64>();
    for &(_, i) in rest.iter().take(left as usize) {
        out[i] += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Placement.
// ---------------------------------------------------------------------------------------------

/// Page codes of the planning grid.
const HOLE: u8 = 0;
const FREE: u8 = 1;
const NONFREE: u8 = 2;
const RESERVED: u8 = 3;
/// Codes from here on are owner slots.
const OWNER0: u8 = 4;

/// Where reserved pages and each mobility's owners go first, then next, …
fn preference(mt: MigrateType) -> [MigrateType; 7] {
    use MigrateType::*;
    match mt {
        Movable => [
            Movable,
            Cma,
            Reserve,
            Reclaimable,
            Unmovable,
            HighAtomic,
            Isolate,
        ],
        Reclaimable => [
            Reclaimable,
            Unmovable,
            HighAtomic,
            Reserve,
            Isolate,
            Movable,
            Cma,
        ],
        _ => [
            Unmovable,
            HighAtomic,
            Reserve,
            Isolate,
            Reclaimable,
            Movable,
            Cma,
        ],
    }
}

/// The planning state of one zone: page codes over the zone's max-order-aligned window, and
/// which aligned blocks of each order can still become free.
struct Grid {
    base: Pfn,
    pb: u32,
    max: u32,
    code: Vec<u8>,
    /// `avail[o][i]`: the order-`o` block `i` is all present pages, none of them free yet.
    avail: Vec<Vec<bool>>,
    /// Per pageblock: its type once decided.
    pb_type: Vec<Option<MigrateType>>,
    counted: Vec<bool>,
}

impl Grid {
    fn new(spec: &ZoneSpec, cfg: &BuddyConfig) -> Grid {
        let max = cfg.orders - 1;
        let pb = cfg.pageblock_order;
        let align = 1u64 << max.max(pb);
        let base = spec.start_pfn & !(align - 1);
        let len = (spec.end_pfn().div_ceil(align) * align - base) as usize;
        let mut code = vec![HOLE; len];
        code[(spec.start_pfn - base) as usize..(spec.end_pfn() - base) as usize].fill(NONFREE);
        for h in &spec.holes {
            code[(h.start - base) as usize..(h.end - base) as usize].fill(HOLE);
        }
        let mut avail = vec![code.iter().map(|&c| c == NONFREE).collect::<Vec<bool>>()];
        for o in 1..=max as usize {
            let below = &avail[o - 1];
            let level = (0..below.len() / 2)
                .map(|i| below[2 * i] && below[2 * i + 1])
                .collect();
            avail.push(level);
        }
        let mut counted = vec![false; len >> pb];
        for pfn in spec.counted_pageblock_pfns(pb) {
            counted[((pfn - base) >> pb) as usize] = true;
        }
        Grid {
            base,
            pb,
            max,
            code,
            avail,
            pb_type: vec![None; len >> pb],
            counted,
        }
    }

    /// Places `demand` (type, count) blocks of order `o`; each type's blocks go in pageblocks
    /// of that type while they have room when `typed`. Returns the blocks (page offset, type)
    /// and the number that went elsewhere.
    fn place(
        &mut self,
        o: u32,
        demand: &[(MigrateType, u64)],
        typed: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Vec<(usize, MigrateType)>, u64), String> {
        let level = &self.avail[o as usize];
        // Slots: at the largest order every available block (no merging above it); below, every
        // parent with an available half, one block per parent.
        let (slots, shift): (Vec<usize>, u32) = if o == self.max {
            ((0..level.len()).filter(|&i| level[i]).collect(), o)
        } else {
            (
                (0..level.len() / 2)
                    .filter(|&i| level[2 * i] || level[2 * i + 1])
                    .collect(),
                o + 1,
            )
        };
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); MigrateType::COUNT];
        for s in slots {
            let g = if typed {
                self.pb_type[(s << shift) >> self.pb].map_or(0, MigrateType::index)
            } else {
                0
            };
            groups[g].push(s);
        }
        let mut chosen = Vec::new();
        let mut short = Vec::new();
        for &(t, n) in demand {
            let g = &mut groups[if typed { t.index() } else { 0 }];
            let take = n.min(g.len() as u64);
            for _ in 0..take {
                let k = rng.random_range(0..g.len());
                chosen.push((g.swap_remove(k), t));
            }
            if n > take {
                short.push((t, n - take));
            }
        }
        let mut elsewhere = 0;
        if !short.is_empty() {
            let mut pool: Vec<usize> = groups.concat();
            for (t, n) in short {
                for _ in 0..n {
                    if pool.is_empty() {
                        let total: u64 = demand.iter().map(|d| d.1).sum();
                        return Err(format!(
                            "{total} free blocks of order {o} do not fit: only {} places keep \
                             every free block apart from its buddy",
                            chosen.len()
                        ));
                    }
                    let k = rng.random_range(0..pool.len());
                    chosen.push((pool.swap_remove(k), t));
                    elsewhere += 1;
                }
            }
        }
        let mut out = Vec::with_capacity(chosen.len());
        for (slot, t) in chosen {
            let block = if o == self.max {
                slot
            } else {
                let (a, b) = (
                    self.avail[o as usize][2 * slot],
                    self.avail[o as usize][2 * slot + 1],
                );
                2 * slot + usize::from(!a || (b && rng.random_bool(0.5)))
            };
            let off = block << o;
            for l in 0..=o as usize {
                self.avail[l][off >> l..(off + (1 << o)) >> l].fill(false);
            }
            self.code[off..off + (1 << o)].fill(FREE);
            out.push((off, t));
        }
        Ok((out, elsewhere))
    }
}

/// Free blocks per type and order (`[type index][order]`) and pageblocks per type: the
/// capture's, or derived as the module header says (step 2 and 3).
fn free_types_and_blocks(
    plan: &ZonePlan,
    cfg: &BuddyConfig,
    owners: &Owners,
    counted: u64,
    notes: &mut Vec<String>,
) -> Result<(Vec<Vec<u64>>, Vec<u64>), ReconstructError> {
    let orders = cfg.orders as usize;
    let types = cfg.migrate_types;
    let check_type = |t: MigrateType| {
        if types.contains(&t) {
            Ok(())
        } else {
            Err(plan.err(format!(
                "the capture has migrate type {t}, which the kernel profile does not have (it has {})",
                types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let mut by_type = vec![vec![0u64; orders]; MigrateType::COUNT];
    let c = plan.cap;
    if let Some(ft) = &c.free_by_type {
        for (&t, counts) in ft {
            if counts.iter().any(|&n| n > 0) {
                check_type(t)?;
            }
            for (o, &n) in counts.iter().enumerate().take(orders) {
                by_type[t.index()][o] = n;
            }
        }
        // buddyinfo and pagetypeinfo are read a moment apart: the per-order count wins and the
        // per-type counts follow it, the largest list taking (or giving) the difference.
        let mut moved = 0;
        let mut at = Vec::new();
        for o in 0..orders {
            let sum = by_type.iter().fold(0u64, |a, v| a.saturating_add(v[o]));
            if sum == plan.free[o] {
                continue;
            }
            at.push(o.to_string());
            let t = largest(&by_type, o, types);
            if sum > plan.free[o] {
                // The largest list holds more than the excess: the total is a sum of ≤ 7 lists.
                let k = (sum - plan.free[o]).min(by_type[t][o]);
                by_type[t][o] -= k;
                moved += k;
                let rest = (sum - plan.free[o]) - k;
                for v in by_type.iter_mut() {
                    let k = rest.min(v[o]);
                    v[o] -= k;
                    moved += k;
                    if k == rest {
                        break;
                    }
                }
            } else {
                by_type[t][o] += plan.free[o] - sum;
                moved += plan.free[o] - sum;
            }
        }
        if moved > 0 {
            notes.push(format!(
                "node {} zone {}: the per-type counts (pagetypeinfo) differ from the per-order \
                 counts at order {} (files read a moment apart); {moved} blocks moved to or from \
                 the largest lists to match the per-order counts",
                plan.node,
                plan.zone,
                at.join(", ")
            ));
        }
    }
    // Mobility weights: unmovable kinds and reserved pages, movable kinds and (for the split of
    // free blocks by type) free pages, reclaimable slab.
    let mut weight = [0u64; MigrateType::COUNT];
    weight[MigrateType::Unmovable.index()] = plan.present - plan.managed;
    weight[MigrateType::Movable.index()] = plan.free_pages();
    for &(mt, _, n) in owners {
        weight[mt.index()] += n;
    }
    if owners.is_empty() {
        weight[MigrateType::Movable.index()] += plan.managed - plan.free_pages();
    }
    let mobility = [
        MigrateType::Unmovable,
        MigrateType::Movable,
        MigrateType::Reclaimable,
    ];
    if c.free_by_type.is_none() {
        for (o, &n) in plan.free.iter().enumerate() {
            let listed: Vec<MigrateType> = match c.types_at_order.as_ref().and_then(|t| t.get(o)) {
                Some(l) if !l.is_empty() => l.clone(),
                _ if o as u32 >= cfg.pageblock_order => vec![MigrateType::Movable],
                _ => mobility.to_vec(),
            };
            for &t in &listed {
                check_type(t)?;
            }
            let at_least = if n >= listed.len() as u64 { 1 } else { 0 };
            let w: Vec<u64> = listed.iter().map(|t| weight[t.index()]).collect();
            let shares = apportion(n - at_least * listed.len() as u64, &w);
            for (t, s) in listed.iter().zip(shares) {
                by_type[t.index()][o] = s + at_least;
            }
        }
    }
    let mut blocks = vec![0u64; MigrateType::COUNT];
    if let Some(pbs) = &c.pageblocks {
        for (&t, &n) in pbs {
            if n > 0 {
                check_type(t)?;
            }
            blocks[t.index()] = n;
        }
        let total: u64 = blocks.iter().sum();
        if total > counted {
            return Err(plan.err(format!(
                "pagetypeinfo counts {total} pageblocks, but the zone has only {counted} (PFN \
                 {:#x}..{:#x} with its holes, {} pages a pageblock)",
                plan.start,
                plan.start + plan.spanned,
                cfg.pageblock_nr_pages()
            )));
        }
        if total < counted {
            notes.push(format!(
                "node {} zone {}: pagetypeinfo counts {total} pageblocks, the zone has \
                 {counted}; the other {} are Movable",
                plan.node,
                plan.zone,
                counted - total
            ));
            blocks[MigrateType::Movable.index()] += counted - total;
        }
    } else {
        let pb = cfg.pageblock_order as usize;
        let mut large = vec![0u64; MigrateType::COUNT];
        for (t, counts) in by_type.iter().enumerate() {
            for (o, &n) in counts.iter().enumerate().skip(pb) {
                large[t] += n << (o - pb);
            }
        }
        // The other pageblocks by mobility, free pages counted with their own type.
        let rest = counted.saturating_sub(large.iter().sum());
        let w: Vec<u64> = mobility
            .iter()
            .map(|t| {
                let small: u64 = (0..pb.min(orders))
                    .map(|o| by_type[t.index()][o] << o)
                    .sum();
                weight[t.index()] + small
                    - if *t == MigrateType::Movable {
                        plan.free_pages()
                    } else {
                        0
                    }
            })
            .collect();
        for (t, n) in mobility.iter().zip(apportion(rest, &w)) {
            large[t.index()] += n;
        }
        blocks = large;
        notes.push(format!(
            "node {} zone {}: no pageblock counts in the capture; derived {}",
            plan.node,
            plan.zone,
            types
                .iter()
                .map(|t| format!("{} {}", t.name(), blocks[t.index()]))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((by_type, blocks))
}

/// The type (index) with the most free blocks of order `o`, the first in the kernel's order on
/// ties; Movable when every list is empty.
fn largest(by_type: &[Vec<u64>], o: usize, types: &[MigrateType]) -> usize {
    types
        .iter()
        .map(|t| t.index())
        .max_by_key(|&t| (by_type[t][o], std::cmp::Reverse(t)))
        .filter(|&t| by_type[t][o] > 0)
        .unwrap_or(MigrateType::Movable.index())
}

/// Lays out one zone and builds it.
fn build_zone(
    plan: &ZonePlan,
    owners: &Owners,
    cfg: &BuddyConfig,
    pcp: PcpConfig,
    rng: &mut ChaCha8Rng,
    notes: &mut Vec<String>,
) -> Result<Zone, ReconstructError> {
    let mut spec = ZoneSpec {
        zone: plan.zone,
        start_pfn: plan.start,
        spanned: plan.spanned,
        holes: plan.holes.clone(),
        reserved: Vec::new(),
    };
    spec.validate()?;
    if let Some(want) = plan
        .cap
        .pageblocks
        .as_ref()
        .map(|m| m.values().sum::<u64>())
    {
        let have = spec.counted_pageblock_pfns(cfg.pageblock_order).count() as u64;
        if want > have {
            if let Some(h) = spread_top_hole(&spec, want, cfg.pageblock_order) {
                notes.push(format!(
                    "node {} zone {}: pagetypeinfo counts {want} pageblocks, {have} with the \
                     holes at the top: the top hole now starts after the {want}th, and the rest \
                     of it lies in the pageblocks below (after each one's first PFN)",
                    plan.node, plan.zone
                ));
                spec.holes = h;
                spec.validate()?;
            }
        }
    }
    let align = 1u64 << (cfg.orders - 1).max(cfg.pageblock_order);
    let window = spec.end_pfn().div_ceil(align) * align - (spec.start_pfn & !(align - 1));
    if window >= u64::from(u32::MAX) {
        return Err(plan.err(format!(
            "{window} pages do not fit the engine's 32-bit page offsets (at most 16 TiB a zone)"
        )));
    }
    let mut g = Grid::new(&spec, cfg);
    let counted = g.counted.iter().filter(|&&c| c).count() as u64;
    let (by_type, mut quota) = free_types_and_blocks(plan, cfg, owners, counted, notes)?;
    let types = cfg.migrate_types;
    let pb = cfg.pageblock_order;
    let zone_note = |what: String| format!("node {} zone {}: {what}", plan.node, plan.zone);
    let mut free: Vec<(usize, u32, MigrateType)> = Vec::new();
    // Orders ≥ pageblock_order: whole pageblocks, typed as their block while counts last.
    let mut off_type = 0u64;
    for o in (pb..cfg.orders).rev() {
        let demand: Vec<(MigrateType, u64)> = types
            .iter()
            .map(|&t| (t, by_type[t.index()][o as usize]))
            .collect();
        let (placed, _) = g.place(o, &demand, false, rng).map_err(|w| plan.err(w))?;
        for (off, t) in placed {
            for b in (off >> pb)..((off + (1 << o)) >> pb) {
                let mt = if quota[t.index()] > 0 {
                    t
                } else {
                    off_type += 1;
                    types
                        .iter()
                        .copied()
                        .max_by_key(|x| (quota[x.index()], std::cmp::Reverse(x.index())))
                        .unwrap_or(MigrateType::Movable)
                };
                if g.counted[b] {
                    quota[mt.index()] = quota[mt.index()].saturating_sub(1);
                }
                g.pb_type[b] = Some(mt);
            }
            free.push((off, o, t));
        }
    }
    if off_type > 0 {
        notes.push(zone_note(format!(
            "{off_type} pageblocks under large free blocks take another type than the block's \
             (its pageblock count is used up)"
        )));
    }
    // The other counted pageblocks: the remaining counts, in random places.
    let mut open: Vec<usize> = (0..g.pb_type.len())
        .filter(|&b| g.counted[b] && g.pb_type[b].is_none())
        .collect();
    shuffle(&mut open, rng);
    let mut next = open.into_iter();
    for &t in types {
        for b in next.by_ref().take(quota[t.index()] as usize) {
            g.pb_type[b] = Some(t);
        }
    }
    // Orders below pageblock_order, each type in its own pageblocks while they have room.
    let mut spilled = Vec::new();
    for o in (0..pb.min(cfg.orders)).rev() {
        let demand: Vec<(MigrateType, u64)> = types
            .iter()
            .map(|&t| (t, by_type[t.index()][o as usize]))
            .collect();
        let (placed, elsewhere) = g.place(o, &demand, true, rng).map_err(|w| plan.err(w))?;
        if elsewhere > 0 {
            spilled.push(format!("{elsewhere} of order {o}"));
        }
        free.extend(placed.into_iter().map(|(off, t)| (off, o, t)));
    }
    if !spilled.is_empty() {
        notes.push(zone_note(format!(
            "free blocks placed outside pageblocks of their own type (those had no room left): {}",
            spilled.join(", ")
        )));
    }
    let block_type = |g: &Grid, off: usize| g.pb_type[off >> pb].unwrap_or(MigrateType::Movable);
    // Reserved pages and owners, by the mobility of the pageblocks.
    let mut room = [0u64; MigrateType::COUNT];
    for (off, &c) in g.code.iter().enumerate() {
        if c == NONFREE {
            room[block_type(&g, off).index()] += 1;
        }
    }
    let reserved = plan.present - plan.managed;
    let mut reserved_in = [0u64; MigrateType::COUNT];
    take_by_preference(
        reserved,
        MigrateType::Unmovable,
        &mut room,
        &mut reserved_in,
    );
    let mut left = reserved_in;
    for off in (0..g.code.len()).rev() {
        let t = block_type(&g, off).index();
        if g.code[off] == NONFREE && left[t] > 0 {
            left[t] -= 1;
            g.code[off] = RESERVED;
        }
    }
    let slots: Owners = if owners.is_empty() {
        let of = |ts: &[MigrateType]| ts.iter().map(|t| room[t.index()]).sum::<u64>();
        use MigrateType::*;
        let movable = apportion(of(&[Movable, Cma]), &[1, 1]);
        vec![
            (
                Unmovable,
                OwnerKind::Kernel,
                of(&[Unmovable, HighAtomic, Reserve, Isolate]),
            ),
            (Reclaimable, OwnerKind::Slab, of(&[Reclaimable])),
            (Movable, OwnerKind::Anon, movable[0]),
            (Movable, OwnerKind::File, movable[1]),
        ]
    } else {
        owners.clone()
    };
    if slots.len() > usize::from(u8::MAX - OWNER0) {
        return Err(plan.err("too many owner kinds".into()));
    }
    // quota[block type][slot]
    let mut cell = vec![vec![0u64; slots.len()]; MigrateType::COUNT];
    for class in [
        MigrateType::Unmovable,
        MigrateType::Reclaimable,
        MigrateType::Movable,
    ] {
        let members: Vec<usize> = (0..slots.len())
            .filter(|&i| class_of(slots[i].0) == class)
            .collect();
        let demand: u64 = members.iter().map(|&i| slots[i].2).sum();
        let mut per_type = [0u64; MigrateType::COUNT];
        take_by_preference(demand, class, &mut room, &mut per_type);
        let sizes: Vec<u64> = members.iter().map(|&i| slots[i].2).collect();
        for (t, row) in transport(&per_type, &sizes).into_iter().enumerate() {
            for (j, n) in row.into_iter().enumerate() {
                cell[t][members[j]] = n;
            }
        }
    }
    for off in 0..g.code.len() {
        if g.code[off] != NONFREE {
            continue;
        }
        let row = &mut cell[block_type(&g, off).index()];
        let total: u64 = row.iter().sum();
        if total == 0 {
            return Err(plan.err("used pages outnumber the owners (internal)".into()));
        }
        let mut k = rng.random_range(0..total);
        let mut slot = 0;
        while k >= row[slot] {
            k -= row[slot];
            slot += 1;
        }
        row[slot] -= 1;
        g.code[off] = OWNER0 + slot as u8;
    }
    // Reserved ranges into the spec, then the zone.
    let mut start = None;
    for off in 0..=g.code.len() {
        let r = g.code.get(off) == Some(&RESERVED);
        match (r, start) {
            (true, None) => start = Some(off),
            (false, Some(s)) => {
                spec.reserved.push(g.base + s as u64..g.base + off as u64);
                start = None;
            }
            _ => {}
        }
    }
    let mut zone = Zone::new(plan.node, &spec, cfg.clone(), pcp)?;
    shuffle(&mut free, rng);
    let free: Vec<(Pfn, u32, MigrateType)> = free
        .into_iter()
        .map(|(off, o, t)| (g.base + off as u64, o, t))
        .collect();
    let base = g.base;
    zone.set_layout(
        |pfn| g.pb_type[((pfn - base) >> pb) as usize].unwrap_or(MigrateType::Movable),
        &free,
        |pfn| {
            let c = g.code[(pfn - base) as usize];
            let (mt, owner, _) = slots[usize::from(c.saturating_sub(OWNER0))];
            (mt, owner)
        },
    )?;
    if let Some(w) = plan.cap.watermarks {
        zone.watermarks = crate::mm::mmzone::Watermarks {
            min: w.min - w.boost.min(w.min),
            low: w.low - w.boost.min(w.low),
            high: w.high - w.boost.min(w.high),
            promo: w.promo.saturating_sub(w.boost),
            boost: w.boost,
        };
        zone.reset_alloc_batch();
    }
    zone.zone_pcp_update();
    if let Some(sets) = &plan.cap.pagesets {
        zone.set_pcp_sizes(sets);
    }
    if let Some(p) = &plan.cap.protection {
        zone.lowmem_reserve = p.clone();
    }
    if let Some(counter) = plan.cap.free_pages {
        let model = plan.free_pages();
        if counter != model {
            notes.push(zone_note(format!(
                "the capture's free counter is {counter} pages, its free blocks hold {model}; \
                 the model's NR_FREE_PAGES is {model} (the {} pages differ by per-cpu lists or \
                 files read a moment apart)",
                counter.abs_diff(model)
            )));
        }
    }
    Ok(zone)
}

/// Holes that let pagetypeinfo count `want` pageblocks where the top hole hides some: the
/// top hole shrinks to start just after the `want`th counted PFN, and the pages it no longer
/// covers become holes at the end of the pageblocks below, each keeping its first counted PFN
/// (firmware-reserved ranges inside memory sections are valid PFNs the kernel counts). `None`
/// when there is no top hole to move or no room for it.
fn spread_top_hole(spec: &ZoneSpec, want: u64, pb: u32) -> Option<Vec<Range<Pfn>>> {
    let step = 1u64 << pb;
    let end = spec.end_pfn();
    let top = spec.holes.iter().position(|h| h.end == end)?;
    let old = spec.holes[top].clone();
    let last = spec
        .start_pfn
        .checked_add(want.checked_sub(1)?.checked_mul(step)?)?;
    if last >= end || last < old.start {
        return None;
    }
    let mut holes: Vec<Range<Pfn>> = spec.holes.clone();
    holes.remove(top);
    if last + 1 < end {
        holes.push(last + 1..end);
    }
    let mut displaced = last + 1 - old.start;
    let mut k = want - 1;
    while displaced > 0 {
        k = k.checked_sub(1)?;
        let first = spec.start_pfn + k * step;
        let take = displaced.min(step - 1);
        let r = first + step - take..first + step;
        if holes.iter().any(|h| h.start < r.end && r.start < h.end) {
            return None;
        }
        holes.push(r);
        displaced -= take;
    }
    holes.sort_by_key(|h| h.start);
    Some(holes)
}

/// The mobility class an allocation type belongs to.
fn class_of(mt: MigrateType) -> MigrateType {
    match mt {
        MigrateType::Movable | MigrateType::Cma => MigrateType::Movable,
        MigrateType::Reclaimable => MigrateType::Reclaimable,
        _ => MigrateType::Unmovable,
    }
}

/// Takes `n` pages from `room` by `class`'s preference, recording where in `into`.
fn take_by_preference(
    mut n: u64,
    class: MigrateType,
    room: &mut [u64; MigrateType::COUNT],
    into: &mut [u64; MigrateType::COUNT],
) {
    for t in preference(class) {
        let k = n.min(room[t.index()]);
        room[t.index()] -= k;
        into[t.index()] += k;
        n -= k;
    }
}

/// A matrix with the given row sums (pages per pageblock type) and column sums (pages per
/// owner), each row split in proportion to the columns, remainders north-west corner first.
fn transport(rows: &[u64], cols: &[u64]) -> Vec<Vec<u64>> {
    let total: u64 = cols.iter().sum();
    let mut m: Vec<Vec<u64>> = rows
        .iter()
        .map(|&r| {
            cols.iter()
                .map(|&c| {
                    if total == 0 {
                        0
                    } else {
                        (u128::from(r) * u128::from(c) / u128::from(total)) as u64
                    }
                })
                .collect()
        })
        .collect();
    let mut row_left: Vec<u64> = rows
        .iter()
        .zip(&m)
        .map(|(&r, row)| r - row.iter().sum::<u64>())
        .collect();
    let mut col_left: Vec<u64> = (0..cols.len())
        .map(|j| cols[j] - m.iter().map(|row| row[j]).sum::<u64>())
        .collect();
    let (mut i, mut j) = (0, 0);
    while i < rows.len() && j < cols.len() {
        let k = row_left[i].min(col_left[j]);
        m[i][j] += k;
        row_left[i] -= k;
        col_left[j] -= k;
        if row_left[i] == 0 {
            i += 1;
        } else {
            j += 1;
        }
    }
    m
}

/// Fisher–Yates from the zone's stream.
fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_proportional() {
        assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(apportion(7, &[0, 0]), vec![4, 3]);
        assert_eq!(apportion(100, &[3, 1]), vec![75, 25]);
        assert_eq!(apportion(0, &[3, 1]), vec![0, 0]);
    }

    #[test]
    fn transport_keeps_row_and_column_sums() {
        let m = transport(&[5, 0, 7], &[4, 8]);
        assert_eq!(
            m.iter().map(|r| r.iter().sum::<u64>()).collect::<Vec<_>>(),
            [5, 0, 7]
        );
        assert_eq!(
            (0..2)
                .map(|j| m.iter().map(|r| r[j]).sum::<u64>())
                .collect::<Vec<_>>(),
            [4, 8]
        );
    }

    #[test]
    fn dma_holes_take_the_legacy_isa_hole_first() {
        assert_eq!(holes(ZoneType::Dma, 1, 4095, 3998), vec![159..256]);
        assert_eq!(holes(ZoneType::Dma, 16, 4080, 3964), vec![140..256]);
        assert_eq!(
            holes(ZoneType::Dma, 1, 4095, 3800),
            vec![1..256, 4056..4096]
        );
        assert_eq!(
            holes(ZoneType::Dma32, 4096, 1044480, 782303),
            vec![786399..1048576]
        );
    }
}
