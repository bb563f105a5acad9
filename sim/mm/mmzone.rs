//! Zones and migrate types (include/linux/mmzone.h).
//!
//! A node's physical memory is split into zones by address range (DMA below 16 MiB, DMA32 below
//! 4 GiB, Normal above on x86-64). Inside a zone, memory is grouped into pageblocks, each tagged
//! with a migrate type that says which kind of allocation should use it. The numbering of the
//! migrate types changed in 4.4; the canonical enum here is version-independent and a kernel
//! profile lists the types in its own kernel's order.

pub use crate::mmzone_types::{MigrateType, Watermarks, ZoneType};

/// Pages are 4 KiB on every profile modelled here (`PAGE_SHIFT` = 12).
pub const PAGE_SHIFT: u32 = 12;
/// `PAGE_ALLOC_COSTLY_ORDER` (include/linux/mmzone.h): orders above this are "costly".
pub const PAGE_ALLOC_COSTLY_ORDER: u32 = 3;

/// What the watermark, fragmentation-index and compaction-suitability rules read of a zone's
/// free memory. Implemented by the engine's zones and by captured zones, so one rule serves both.
pub trait FreeArea {
    /// `NR_FREE_PAGES`: the zone's own free-page counter (not the sum of the per-order lines).
    fn free_pages(&self) -> u64;
    /// `free_area[order].nr_free`: free blocks of that order.
    fn nr_free(&self, order: u32) -> u64;
    /// Whether `free_area[order].free_list[mt]` is non-empty.
    fn has_free(&self, order: u32, mt: MigrateType) -> bool;
    /// `NR_FREE_CMA_PAGES`.
    fn free_cma(&self) -> u64 {
        0
    }
    /// `nr_reserved_highatomic` (4.4+).
    fn nr_reserved_highatomic(&self) -> u64 {
        0
    }
}

// ---------------------------------------------------------------------------------------------
// The engine's physical memory: nodes, zones, pageblocks and per-page state.
//
// A zone owns struct-of-arrays page state over its span, padded to whole max-order blocks so a
// buddy (`pfn ^ (1 << order)`) is always inside the arrays; padding and holes are `Hole` pages
// that never merge. Per page, one 16-byte slot: 8 bytes of list links (`u32` offsets) used
// while the page heads a free block or sits on a per-cpu or LRU list, 2 bytes of packed state
// (kind, order, migrate type, owner), the `mapping` word (the anon reverse map) and the page
// flags, side by side so that one page operation touches one cache line. Per pageblock: one
// byte (migrate type, compaction skip bit, counted bit) and its count of free pages.
// The mechanisms over this state live in `page_alloc::{buddy, fallback, pcp}`.
// ---------------------------------------------------------------------------------------------

use crate::capture::ZoneCapture;
use crate::mm::page_alloc::buddy::BuddyConfig;
use crate::mm::page_alloc::pcp::{Pcp, PcpConfig};
use crate::mm::vm_event::VmEvents;
use std::ops::Range;

/// A physical page frame number.
pub type Pfn = u64;

/// Largest number of buddy orders any configuration may use (per-order arrays are this long).
pub const MAX_NR_ORDERS: usize = 16;

/// "No page" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;

/// Who holds an allocated block. Compaction moves only [`OwnerKind::is_movable`] owners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum OwnerKind {
    Anon,
    File,
    Slab,
    PageTable,
    KernelStack,
    KmallocLarge,
    /// Any other kernel allocation.
    Kernel,
    /// Pages never given to the buddy allocator (`PageReserved`).
    Reserved,
}

impl OwnerKind {
    pub const ALL: [OwnerKind; 8] = [
        OwnerKind::Anon,
        OwnerKind::File,
        OwnerKind::Slab,
        OwnerKind::PageTable,
        OwnerKind::KernelStack,
        OwnerKind::KmallocLarge,
        OwnerKind::Kernel,
        OwnerKind::Reserved,
    ];

    /// `PageLRU(page) || __PageMovable(page)`: what `move_freepages()` counts as movable.
    pub fn is_movable(self) -> bool {
        matches!(self, OwnerKind::Anon | OwnerKind::File)
    }
}

/// What a page is, as seen from outside the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PageState {
    /// Not memory (outside the zone, or a hole in its span).
    Hole,
    /// Present but not managed by the buddy allocator.
    Reserved,
    /// Head of a free block on `free_area[order].free_list[migratetype]`.
    Free {
        order: u32,
        migratetype: MigrateType,
    },
    /// Head of an allocated block; `migratetype` is the type the request asked for.
    Allocated {
        order: u32,
        migratetype: MigrateType,
        owner: OwnerKind,
    },
    /// Inside a free or allocated block, not its head.
    Tail,
    /// The head of a block on a per-cpu list; `migratetype` is the type it will be freed with.
    Pcp {
        order: u32,
        migratetype: MigrateType,
    },
}

/// Migrate type by its 3-bit code (the eighth code is never written).
const MT_OF_BITS: [MigrateType; 8] = [
    MigrateType::Unmovable,
    MigrateType::Movable,
    MigrateType::Reclaimable,
    MigrateType::HighAtomic,
    MigrateType::Reserve,
    MigrateType::Cma,
    MigrateType::Isolate,
    MigrateType::Isolate,
];

/// Packed per-page state: bits 0-2 kind, 3-6 order, 7-9 migrate type, 10-13 owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageInfo(pub(crate) u16);

pub(crate) const KIND_HOLE: u16 = 0;
pub(crate) const KIND_RESERVED: u16 = 1;
pub(crate) const KIND_FREE: u16 = 2;
pub(crate) const KIND_ALLOC: u16 = 3;
pub(crate) const KIND_TAIL: u16 = 4;
pub(crate) const KIND_PCP: u16 = 5;

impl PageInfo {
    pub(crate) const HOLE: PageInfo = PageInfo(KIND_HOLE);
    pub(crate) const RESERVED: PageInfo = PageInfo(KIND_RESERVED);
    pub(crate) const TAIL: PageInfo = PageInfo(KIND_TAIL);

    #[inline]
    pub(crate) fn free(order: u32, mt: MigrateType) -> PageInfo {
        PageInfo(KIND_FREE | (order as u16) << 3 | (mt as u16) << 7)
    }
    #[inline]
    pub(crate) fn allocated(order: u32, mt: MigrateType, owner: OwnerKind) -> PageInfo {
        PageInfo(KIND_ALLOC | (order as u16) << 3 | (mt as u16) << 7 | (owner as u16) << 10)
    }
    #[inline]
    pub(crate) fn pcp(mt: MigrateType, order: u32) -> PageInfo {
        PageInfo(KIND_PCP | (order as u16) << 3 | (mt as u16) << 7)
    }
    #[inline]
    pub(crate) fn kind(self) -> u16 {
        self.0 & 7
    }
    #[inline]
    pub(crate) fn order(self) -> u32 {
        u32::from((self.0 >> 3) & 15)
    }
    #[inline]
    pub(crate) fn mt(self) -> MigrateType {
        MT_OF_BITS[usize::from((self.0 >> 7) & 7)]
    }
    #[inline]
    pub(crate) fn owner(self) -> OwnerKind {
        OwnerKind::ALL[usize::from((self.0 >> 10) & 7)]
    }
    /// `PageBuddy(page) && page_order(page) == order`.
    #[inline]
    pub(crate) fn is_free_of_order(self, order: u32) -> bool {
        self.0 & 0x7f == KIND_FREE | (order as u16) << 3
    }
    pub(crate) fn state(self) -> PageState {
        match self.kind() {
            KIND_RESERVED => PageState::Reserved,
            KIND_FREE => PageState::Free {
                order: self.order(),
                migratetype: self.mt(),
            },
            KIND_ALLOC => PageState::Allocated {
                order: self.order(),
                migratetype: self.mt(),
                owner: self.owner(),
            },
            KIND_TAIL => PageState::Tail,
            KIND_PCP => PageState::Pcp {
                order: self.order(),
                migratetype: self.mt(),
            },
            _ => PageState::Hole,
        }
    }
}

/// Intrusive list links of one page (offsets into the zone's arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) next: u32,
    pub(crate) prev: u32,
}

/// Bytes of engine state per page of a zone's span: its [`PageSlot`] (pageblock arrays add a
/// byte or so per pageblock, not counted).
pub const PAGE_STATE_BYTES: u64 = std::mem::size_of::<PageSlot>() as u64;

/// One page's state: its list links, its packed info, its `mapping` word and flags, together
/// (16 bytes, aligned) so that allocating, mapping, unlinking or freeing a page touches one cache
/// line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(align(16))]
pub(crate) struct PageSlot {
    pub(crate) link: Link,
    pub(crate) info: PageInfo,
    /// What maps the page, as `page->mapping` names an anon page's `anon_vma`: the workload's
    /// handle of the anon block whose head this is, or [`NO_MAPPING`]. The allocator never
    /// reads or changes it.
    pub(crate) mapping: u32,
    /// Page flags the allocator does not own: [`PG_LRU`].
    pub(crate) flags: u8,
}

/// `PG_lru`: the block is on an LRU list ([`crate::mm::vmscan::Lru`]).
pub(crate) const PG_LRU: u8 = 1;

/// The `mapping` of a page nothing maps.
pub const NO_MAPPING: u32 = u32::MAX;

/// Head and tail of an intrusive list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListHead {
    pub(crate) head: u32,
    pub(crate) tail: u32,
}

impl ListHead {
    pub(crate) const EMPTY: ListHead = ListHead {
        head: NIL,
        tail: NIL,
    };
}

/// Pageblock byte: bits 0-2 migrate type, bit 3 compaction skip, bit 4 counted by pagetypeinfo.
pub(crate) const PB_SKIP: u8 = 1 << 3;
pub(crate) const PB_COUNTED: u8 = 1 << 4;

/// Why a zone or node description cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("zone {zone}: {what}")]
    Zone { zone: ZoneType, what: String },
    #[error("node {node}: {what}")]
    Node { node: u32, what: String },
    #[error("machine: {0}")]
    Machine(String),
}

/// One zone's physical layout: its span, the holes in it and the present pages the buddy
/// allocator never gets (present − managed).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ZoneSpec {
    pub zone: ZoneType,
    pub start_pfn: Pfn,
    pub spanned: u64,
    /// PFN ranges inside the span that are not memory.
    pub holes: Vec<Range<Pfn>>,
    /// Present PFN ranges that are reserved (memblock allocations, firmware, the memmap).
    pub reserved: Vec<Range<Pfn>>,
}

fn overlap(a: &Range<Pfn>, b: &Range<Pfn>) -> u64 {
    a.end.min(b.end).saturating_sub(a.start.max(b.start))
}

impl ZoneSpec {
    pub fn end_pfn(&self) -> Pfn {
        self.start_pfn + self.spanned
    }

    /// Pages in the span that are memory.
    pub fn present(&self) -> u64 {
        self.spanned - self.holes.iter().map(|h| h.end - h.start).sum::<u64>()
    }

    /// Present pages the buddy allocator manages.
    pub fn managed(&self) -> u64 {
        self.present() - self.reserved.iter().map(|r| r.end - r.start).sum::<u64>()
    }

    /// A zone from its four sizes, as zoneinfo prints them. The holes (spanned − present) sit at
    /// the top of the span, like the PCI hole below 4 GiB, and the reserved pages
    /// (present − managed) just below them, where memblock's top-down allocations land.
    #[allow(clippy::single_range_in_vec_init)] // one PFN range per list, not a list of PFNs
    pub fn from_sizes(
        zone: ZoneType,
        start_pfn: Pfn,
        spanned: u64,
        present: u64,
        managed: u64,
    ) -> Result<ZoneSpec, LayoutError> {
        if present > spanned || managed > present {
            return Err(LayoutError::Zone {
                zone,
                what: format!(
                    "expected managed ≤ present ≤ spanned, got managed {managed}, present {present}, spanned {spanned}"
                ),
            });
        }
        let Some(end) = start_pfn.checked_add(spanned).filter(|&e| e < 1 << 52) else {
            return Err(LayoutError::Zone {
                zone,
                what: format!("start_pfn {start_pfn} + spanned {spanned} is beyond 2^52 pages"),
            });
        };
        let present_end = start_pfn + present;
        let holes = if present < spanned {
            vec![present_end..end]
        } else {
            vec![]
        };
        let reserved = if managed < present {
            vec![start_pfn + managed..present_end]
        } else {
            vec![]
        };
        let spec = ZoneSpec {
            zone,
            start_pfn,
            spanned,
            holes,
            reserved,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// A zone sized like a captured one. Missing sizes fall back to each other (managed →
    /// present → spanned); a missing start PFN takes the x86-64 zone start (DMA 1, DMA32 4096,
    /// Normal and above 1048576).
    pub fn from_capture(c: &ZoneCapture) -> Result<ZoneSpec, LayoutError> {
        let start = c.start_pfn.unwrap_or(match c.zone {
            ZoneType::Dma => 1,
            ZoneType::Dma32 => X86_DMA32_START,
            _ => X86_NORMAL_START,
        });
        let managed = c.managed.or(c.present).or(c.spanned);
        let Some(managed) = managed else {
            return Err(LayoutError::Zone {
                zone: c.zone,
                what: "the capture gives none of managed, present or spanned".into(),
            });
        };
        let present = c.present.unwrap_or(managed);
        let spanned = c.spanned.unwrap_or(present);
        ZoneSpec::from_sizes(c.zone, start, spanned, present, managed)
    }

    /// Holes and reserved ranges must lie in the span, be sorted and not overlap.
    pub fn validate(&self) -> Result<(), LayoutError> {
        let err = |what: String| {
            Err(LayoutError::Zone {
                zone: self.zone,
                what,
            })
        };
        if self.spanned == 0
            || self
                .start_pfn
                .checked_add(self.spanned)
                .is_none_or(|e| e >= 1 << 52)
        {
            return err(format!(
                "span {} + {} pages is empty or beyond 2^52 pages",
                self.start_pfn, self.spanned
            ));
        }
        let span = self.start_pfn..self.end_pfn();
        let mut ranges: Vec<&Range<Pfn>> = self.holes.iter().chain(&self.reserved).collect();
        ranges.sort_by_key(|r| r.start);
        for r in &ranges {
            if r.start >= r.end || r.start < span.start || r.end > span.end {
                return err(format!(
                    "range {:#x}..{:#x} is empty or outside the span {:#x}..{:#x}",
                    r.start, r.end, span.start, span.end
                ));
            }
        }
        for w in ranges.windows(2) {
            if overlap(w[0], w[1]) > 0 {
                return err(format!(
                    "ranges {:#x}..{:#x} and {:#x}..{:#x} overlap",
                    w[0].start, w[0].end, w[1].start, w[1].end
                ));
            }
        }
        Ok(())
    }
}

/// One NUMA node's zones, lowest first.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeSpec {
    pub node: u32,
    pub zones: Vec<ZoneSpec>,
}

const GIB_PAGES: u64 = 1 << (30 - PAGE_SHIFT);
const X86_DMA32_START: Pfn = 16 << (20 - PAGE_SHIFT);
const X86_NORMAL_START: Pfn = 4 * GIB_PAGES;

/// The x86-64 layout of a QEMU/KVM guest with `total_bytes` of RAM split evenly over `nodes`
/// NUMA nodes. Node 0 holds the low memory: DMA spans PFN 1..4096 with the legacy hole
/// 159..256 and 21 firmware-reserved pages (2..16 and 152..159), which gives the seed report's
/// `present:15992kB managed:15908kB` and its DMA buddy line `1 0 0 1 2 1 1 0 1 1 3`; DMA32 runs
/// to the 3 GiB PCI-hole start (all of RAM below 3.5 GiB) minus QEMU's 33-page e820 reservation,
/// which gives the seed's DMA32 `present:3129212kB`; the rest is Normal from 4 GiB. Each node
/// reserves its memmap (64 bytes per present page) at its top, as memblock allocates top-down.
#[allow(clippy::single_range_in_vec_init)] // one PFN range per list, not a list of PFNs
pub fn x86_64_layout(total_bytes: u64, nodes: u32) -> Result<Vec<NodeSpec>, LayoutError> {
    let total = total_bytes >> PAGE_SHIFT;
    if nodes == 0 {
        return Err(LayoutError::Machine("at least one node is needed".into()));
    }
    let per_node = (total / u64::from(nodes)) & !1023;
    if per_node < 2 * X86_DMA32_START {
        return Err(LayoutError::Machine(format!(
            "{total_bytes} bytes over {nodes} nodes leaves less than 32 MiB per node"
        )));
    }
    let mut out = Vec::new();
    let mut next_start = 0;
    for node in 0..nodes {
        let mut zones = Vec::new();
        if node == 0 {
            let low_top = if per_node > 7 * GIB_PAGES / 2 {
                3 * GIB_PAGES
            } else {
                per_node
            };
            let low_end = low_top - 33;
            zones.push(ZoneSpec {
                zone: ZoneType::Dma,
                start_pfn: 1,
                spanned: X86_DMA32_START - 1,
                holes: vec![159..256],
                reserved: vec![2..16, 152..159],
            });
            let high = per_node - low_top;
            let dma32_end = if high > 0 { X86_NORMAL_START } else { low_end };
            let holes = if dma32_end > low_end {
                vec![low_end..dma32_end]
            } else {
                vec![]
            };
            zones.push(ZoneSpec {
                zone: ZoneType::Dma32,
                start_pfn: X86_DMA32_START,
                spanned: dma32_end - X86_DMA32_START,
                holes,
                reserved: vec![],
            });
            if high > 0 {
                zones.push(ZoneSpec {
                    zone: ZoneType::Normal,
                    start_pfn: X86_NORMAL_START,
                    spanned: high,
                    holes: vec![],
                    reserved: vec![],
                });
            }
            next_start = X86_NORMAL_START + high;
        } else {
            zones.push(ZoneSpec {
                zone: ZoneType::Normal,
                start_pfn: next_start,
                spanned: per_node,
                holes: vec![],
                reserved: vec![],
            });
            next_start += per_node;
        }
        let present: u64 = zones.iter().map(ZoneSpec::present).sum();
        let mut memmap = (present * 64).div_ceil(1 << PAGE_SHIFT);
        for z in zones.iter_mut().rev() {
            let top = z.holes.first().map_or(z.end_pfn(), |h| h.start);
            let bottom = z
                .reserved
                .iter()
                .map(|r| r.end)
                .max()
                .unwrap_or(z.start_pfn);
            let take = memmap.min(top - bottom);
            if take > 0 {
                z.reserved.push(top - take..top);
                memmap -= take;
            }
        }
        for z in &zones {
            z.validate()?;
        }
        out.push(NodeSpec { node, zones });
    }
    Ok(out)
}

/// A zone of the engine: its layout, its free lists, per-page and per-pageblock state, per-cpu
/// lists, watermarks and counters (`struct zone`, include/linux/mmzone.h).
#[derive(Clone, Debug)]
pub struct Zone {
    pub node: u32,
    pub zone_type: ZoneType,
    pub start_pfn: Pfn,
    pub spanned: u64,
    pub present: u64,
    pub managed: u64,
    /// Set by the watermark layer; `boost` is raised by fallback (`boost_watermark()`).
    pub watermarks: Watermarks,
    /// `lowmem_reserve[]`, set by the watermark layer (empty until then).
    pub lowmem_reserve: Vec<u64>,
    /// vmstat events counted in this zone.
    pub events: VmEvents,
    pub(crate) cfg: BuddyConfig,
    /// PFN of array index 0: `start_pfn` rounded down to a max-order block.
    pub(crate) base_pfn: Pfn,
    /// Per-page state, one 16-byte slot per page from `base_pfn`.
    pub(crate) pages: Vec<PageSlot>,
    pub(crate) blocks: Vec<u8>,
    /// Pages of free buddy blocks per pageblock (what `isolate_freepages_block()` could take),
    /// so compaction's free scanner steps over a pageblock with none without visiting its
    /// pages.
    pub(crate) block_free: Vec<u32>,
    pub(crate) lists: [ListHead; MAX_NR_ORDERS * MigrateType::COUNT],
    /// Per migrate type, bit `o` set when `free_list[o][mt]` is non-empty.
    pub(crate) nonempty: [u16; MigrateType::COUNT],
    pub(crate) nr_free: [u64; MAX_NR_ORDERS],
    pub(crate) nr_free_typed: [u64; MAX_NR_ORDERS * MigrateType::COUNT],
    /// `NR_FREE_PAGES`.
    pub(crate) nr_free_pages: u64,
    /// Counted pageblocks per migrate type (pagetypeinfo "Number of blocks type").
    pub(crate) block_count: [u64; MigrateType::COUNT],
    pub(crate) nr_reserved_highatomic: u64,
    /// `ZONE_BOOSTED_WATERMARK`.
    pub(crate) boosted_flag: bool,
    /// `zone->pages_scanned` (3.10 – 4.7): pages reclaim scanned here since a page was last
    /// freed to the buddy lists (`free_one_page()` / `free_pcppages_bulk()` reset it); with the
    /// zone's reclaimable pages it says whether reclaim can still help (`zone_reclaimable()`).
    pub(crate) pages_scanned: u64,
    /// `NR_ALLOC_BATCH` (3.12 – 4.7, RHEL 7): pages the fair zone allocation policy still lets
    /// the fast path's first walk take here before this zone's turn is over; every allocation
    /// counts (`buffered_rmqueue()`), and it may go below 0.
    pub(crate) alloc_batch: i64,
    pub(crate) pcp: Pcp,
    /// The capture slot of a direct compaction running on this zone (the kernel's
    /// `current->capture_control` with `capc->cc->zone == zone`, 5.1+).
    pub(crate) capture: Option<crate::mm::compaction::CaptureControl>,
}

impl Zone {
    /// Builds the zone and frees every managed page to the buddy allocator in max-aligned chunks,
    /// lowest PFN first, as `memblock_free_all()` → `__free_pages_memory()` does at boot.
    /// Pageblocks whose first PFN lies in the zone start MOVABLE (`memmap_init_zone()`); a
    /// pageblock starting below the zone (DMA's first, since DMA starts at PFN 1) keeps type 0,
    /// UNMOVABLE, which is why real DMA zones show `(U)` low blocks.
    pub fn new(
        node: u32,
        spec: &ZoneSpec,
        cfg: BuddyConfig,
        pcp: PcpConfig,
    ) -> Result<Zone, LayoutError> {
        spec.validate()?;
        if cfg.orders == 0 || cfg.orders as usize > MAX_NR_ORDERS || cfg.pageblock_order > 20 {
            return Err(LayoutError::Zone {
                zone: spec.zone,
                what: format!(
                    "expected 1..={MAX_NR_ORDERS} orders and pageblock order ≤ 20, got {} and {}",
                    cfg.orders, cfg.pageblock_order
                ),
            });
        }
        let max_block = 1u64 << (cfg.orders - 1).max(cfg.pageblock_order);
        let base_pfn = spec.start_pfn & !(max_block - 1);
        let end_pfn = spec.end_pfn().div_ceil(max_block) * max_block;
        let len = end_pfn - base_pfn;
        if len >= u64::from(NIL) {
            return Err(LayoutError::Zone {
                zone: spec.zone,
                what: format!("{len} pages do not fit 32-bit page offsets"),
            });
        }
        let len = len as usize;
        let mut info = vec![PageInfo::HOLE; len];
        let off = |pfn: Pfn| (pfn - base_pfn) as usize;
        info[off(spec.start_pfn)..off(spec.end_pfn())].fill(PageInfo::TAIL);
        for h in &spec.holes {
            info[off(h.start)..off(h.end)].fill(PageInfo::HOLE);
        }
        for r in &spec.reserved {
            info[off(r.start)..off(r.end)].fill(PageInfo::RESERVED);
        }
        let pb = cfg.pageblock_order;
        let mut blocks = vec![MigrateType::Unmovable as u8; len >> pb];
        let mut block_count = [0; MigrateType::COUNT];
        for (i, b) in blocks.iter_mut().enumerate() {
            let first = base_pfn + ((i as u64) << pb);
            if first >= spec.start_pfn && first < spec.end_pfn() {
                *b = MigrateType::Movable as u8;
            }
        }
        for pfn in spec.counted_pageblock_pfns(pb) {
            let b = &mut blocks[off(pfn) >> pb];
            *b |= PB_COUNTED;
            block_count[usize::from(*b & 7)] += 1;
        }
        let pcp = Pcp::new(pcp, spec.managed(), &cfg);
        let mut zone = Zone {
            node,
            zone_type: spec.zone,
            start_pfn: spec.start_pfn,
            spanned: spec.spanned,
            present: spec.present(),
            managed: spec.managed(),
            watermarks: Watermarks::default(),
            lowmem_reserve: Vec::new(),
            events: VmEvents::default(),
            cfg,
            base_pfn,
            pages: info
                .into_iter()
                .map(|info| PageSlot {
                    link: Link {
                        next: NIL,
                        prev: NIL,
                    },
                    info,
                    mapping: NO_MAPPING,
                    flags: 0,
                })
                .collect(),
            block_free: vec![0; blocks.len()],
            blocks,
            lists: [ListHead::EMPTY; MAX_NR_ORDERS * MigrateType::COUNT],
            nonempty: [0; MigrateType::COUNT],
            nr_free: [0; MAX_NR_ORDERS],
            nr_free_typed: [0; MAX_NR_ORDERS * MigrateType::COUNT],
            nr_free_pages: 0,
            block_count,
            nr_reserved_highatomic: 0,
            boosted_flag: false,
            // free_area_init_core() starts the batch at the managed pages; the watermark setup
            // sets it to `high − low`.
            alloc_batch: spec.managed() as i64,
            pages_scanned: 0,
            pcp,
            capture: None,
        };
        zone.free_all_managed();
        Ok(zone)
    }

    fn free_all_managed(&mut self) {
        let max = self.cfg.orders - 1;
        let mut i = 0u32;
        let len = self.pages.len() as u32;
        while i < len {
            if self.pages[i as usize].info != PageInfo::TAIL {
                i += 1;
                continue;
            }
            let mut end = i;
            while end < len && self.pages[end as usize].info == PageInfo::TAIL {
                end += 1;
            }
            while i < end {
                let mut order = i.trailing_zeros().min(max);
                while i + (1 << order) > end {
                    order -= 1;
                }
                let mt = self.pageblock_mt(i);
                self.free_one_page(i, order, mt);
                i += 1 << order;
            }
        }
    }

    /// The buddy rules this zone follows.
    pub fn config(&self) -> &BuddyConfig {
        &self.cfg
    }

    pub fn end_pfn(&self) -> Pfn {
        self.start_pfn + self.spanned
    }

    /// Whether `pfn` is inside the zone's span (`zone_spans_pfn()`).
    pub fn spans(&self, pfn: Pfn) -> bool {
        pfn >= self.start_pfn && pfn < self.end_pfn()
    }

    #[inline]
    pub(crate) fn pfn_of(&self, off: u32) -> Pfn {
        self.base_pfn + u64::from(off)
    }

    /// Array offset of a PFN in the span.
    pub(crate) fn off_of(&self, pfn: Pfn) -> Option<u32> {
        self.spans(pfn).then(|| (pfn - self.base_pfn) as u32)
    }

    /// The `mapping` word of the page at `pfn` (see [`PageSlot::mapping`]); `None` outside the
    /// zone's span.
    #[inline]
    pub fn mapping_mut(&mut self, pfn: Pfn) -> Option<&mut u32> {
        let o = self.off_of(pfn)?;
        Some(&mut self.pages[o as usize].mapping)
    }

    /// The state of one page; `Hole` outside the zone.
    pub fn page_state(&self, pfn: Pfn) -> PageState {
        self.off_of(pfn)
            .map_or(PageState::Hole, |o| self.pages[o as usize].info.state())
    }

    /// The head of the free or allocated block that holds `pfn`, with its state: `pfn` itself
    /// unless it is a tail page, else the naturally aligned head whose order covers it (as
    /// `__find_buddy_pfn()` aligns blocks). `None` for a tail no block covers.
    pub fn block_head(&self, pfn: Pfn) -> Option<(Pfn, PageState)> {
        let state = self.page_state(pfn);
        if state != PageState::Tail {
            return Some((pfn, state));
        }
        (1..MAX_NR_ORDERS as u32).find_map(|o| {
            let head = pfn & !((1u64 << o) - 1);
            match self.page_state(head) {
                st @ (PageState::Free { order, .. }
                | PageState::Allocated { order, .. }
                | PageState::Pcp { order, .. })
                    if order >= o =>
                {
                    Some((head, st))
                }
                _ => None,
            }
        })
    }

    /// Migrate type of the pageblock holding the page at `off` (`get_pageblock_migratetype()`).
    #[inline]
    pub(crate) fn pageblock_mt(&self, off: u32) -> MigrateType {
        MT_OF_BITS[usize::from(self.blocks[(off >> self.cfg.pageblock_order) as usize] & 7)]
    }

    /// Migrate type of the pageblock holding `pfn`, if the zone spans it.
    pub fn pageblock_migratetype(&self, pfn: Pfn) -> Option<MigrateType> {
        self.off_of(pfn).map(|o| self.pageblock_mt(o))
    }

    /// `set_pageblock_migratetype()`; keeps the pagetypeinfo block counts.
    pub(crate) fn set_pageblock_mt(&mut self, off: u32, mt: MigrateType) {
        let b = &mut self.blocks[(off >> self.cfg.pageblock_order) as usize];
        if *b & PB_COUNTED != 0 {
            self.block_count[usize::from(*b & 7)] -= 1;
            self.block_count[mt.index()] += 1;
        }
        *b = (*b & !7) | mt as u8;
    }

    /// The compaction skip bit of the pageblock holding `pfn` (`get_pageblock_skip()`).
    pub fn pageblock_skip(&self, pfn: Pfn) -> bool {
        self.off_of(pfn)
            .is_some_and(|o| self.blocks[(o >> self.cfg.pageblock_order) as usize] & PB_SKIP != 0)
    }

    /// `set_pageblock_skip()` / `clear_pageblock_skip()`.
    pub fn set_pageblock_skip(&mut self, pfn: Pfn, skip: bool) {
        if let Some(o) = self.off_of(pfn) {
            let b = &mut self.blocks[(o >> self.cfg.pageblock_order) as usize];
            if skip {
                *b |= PB_SKIP;
            } else {
                *b &= !PB_SKIP;
            }
        }
    }

    /// Pageblocks per migrate type as pagetypeinfo counts them.
    pub fn pageblock_counts(&self) -> [u64; MigrateType::COUNT] {
        self.block_count
    }

    /// `free_area[order].nr_free` for one migrate type (a pagetypeinfo cell).
    pub fn nr_free_of_type(&self, order: u32, mt: MigrateType) -> u64 {
        self.nr_free_typed[order as usize * MigrateType::COUNT + mt.index()]
    }

    /// `lowmem_reserve[classzone]`: the pages this zone keeps back from a request whose
    /// preferred zone is `classzone`, indexed by the kernel's configured zone list (the
    /// profile's `zones`), 0 for a zone the list does not have. Read by
    /// `__zone_watermark_ok()` callers.
    pub fn reserve_for(&self, classzone: ZoneType) -> u64 {
        self.config()
            .zones
            .iter()
            .position(|&z| z == classzone)
            .and_then(|i| self.lowmem_reserve.get(i).copied())
            .unwrap_or(0)
    }

    /// `ZONE_BOOSTED_WATERMARK`, cleared on read: the caller wakes kswapd when it was set
    /// (`rmqueue()` in 5.x+).
    #[inline]
    pub fn take_boosted_flag(&mut self) -> bool {
        std::mem::take(&mut self.boosted_flag)
    }

    /// The zone as the capture parsers would read it from buddyinfo, pagetypeinfo and zoneinfo.
    pub fn snapshot(&self) -> ZoneCapture {
        let orders = self.cfg.orders as usize;
        let types = self.cfg.migrate_types;
        let mut c = ZoneCapture::new(self.node, self.zone_type);
        c.free_pages = Some(self.nr_free_pages);
        c.free_blocks = Some(self.nr_free[..orders].to_vec());
        c.free_by_type = Some(
            types
                .iter()
                .map(|&t| {
                    (
                        t,
                        (0..orders as u32)
                            .map(|o| self.nr_free_of_type(o, t))
                            .collect(),
                    )
                })
                .collect(),
        );
        c.types_at_order = Some(
            (0..orders as u32)
                .map(|o| {
                    types
                        .iter()
                        .copied()
                        .filter(|&t| self.has_free(o, t))
                        .collect()
                })
                .collect(),
        );
        c.pageblocks = Some(
            types
                .iter()
                .map(|&t| (t, self.block_count[t.index()]))
                .collect(),
        );
        if self.watermarks != Watermarks::default() {
            let w = self.watermarks;
            c.watermarks = Some(Watermarks {
                min: w.min + w.boost,
                low: w.low + w.boost,
                high: w.high + w.boost,
                promo: if w.promo > 0 { w.promo + w.boost } else { 0 },
                boost: w.boost,
            });
        }
        c.spanned = Some(self.spanned);
        c.present = Some(self.present);
        c.managed = Some(self.managed);
        if self.pcp.enabled() {
            c.pagesets = Some(self.pcp.pagesets(self.managed));
        }
        if !self.lowmem_reserve.is_empty() {
            c.protection = Some(self.lowmem_reserve.clone());
        }
        c.start_pfn = Some(self.start_pfn);
        c.stats.insert("nr_free_pages".into(), self.nr_free_pages);
        c.stats.insert("nr_free_cma".into(), self.free_cma());
        c
    }
}

impl FreeArea for Zone {
    fn free_pages(&self) -> u64 {
        self.nr_free_pages
    }
    fn nr_free(&self, order: u32) -> u64 {
        self.nr_free.get(order as usize).copied().unwrap_or(0)
    }
    fn has_free(&self, order: u32, mt: MigrateType) -> bool {
        (order as usize) < MAX_NR_ORDERS && self.nonempty[mt.index()] & (1 << order) != 0
    }
    fn free_cma(&self) -> u64 {
        if self.nonempty[MigrateType::Cma.index()] == 0 {
            return 0;
        }
        (0..self.cfg.orders)
            .map(|o| self.nr_free_of_type(o, MigrateType::Cma) << o)
            .sum()
    }
    fn nr_reserved_highatomic(&self) -> u64 {
        self.nr_reserved_highatomic
    }
}

/// A NUMA node (`pg_data_t`): its populated zones, lowest first.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: u32,
    pub zones: Vec<Zone>,
    /// Slab pages the shrinkers gave back since reclaim last read it: the kernel's
    /// `current->reclaim_state->reclaimed_slab`, which every reclaim pass adds to the pages it
    /// reclaimed.
    pub reclaimed_slab: u64,
}

impl Node {
    pub fn new(spec: &NodeSpec, cfg: &BuddyConfig, pcp: PcpConfig) -> Result<Node, LayoutError> {
        let mut zones: Vec<Zone> = Vec::with_capacity(spec.zones.len());
        for z in &spec.zones {
            if let Some(prev) = zones.last() {
                if prev.zone_type >= z.zone || prev.end_pfn() > z.start_pfn {
                    return Err(LayoutError::Node {
                        node: spec.node,
                        what: format!(
                            "zone {} must follow {} in type and PFN order",
                            z.zone, prev.zone_type
                        ),
                    });
                }
            }
            zones.push(Zone::new(spec.node, z, cfg.clone(), pcp)?);
        }
        Ok(Node {
            id: spec.node,
            zones,
            reclaimed_slab: 0,
        })
    }

    /// Nodes for a whole machine; mobility grouping is decided on the machine's managed pages.
    pub fn build_all(
        specs: &[NodeSpec],
        profile: &crate::kernel::profile::Profile,
        pcp: PcpConfig,
    ) -> Result<Vec<Node>, LayoutError> {
        let managed: u64 = specs
            .iter()
            .flat_map(|n| &n.zones)
            .map(ZoneSpec::managed)
            .sum();
        let cfg = BuddyConfig::from_profile(profile, managed);
        specs.iter().map(|s| Node::new(s, &cfg, pcp)).collect()
    }

    pub fn zone(&self, zt: ZoneType) -> Option<&Zone> {
        self.zones.iter().find(|z| z.zone_type == zt)
    }

    pub fn zone_mut(&mut self, zt: ZoneType) -> Option<&mut Zone> {
        self.zones.iter_mut().find(|z| z.zone_type == zt)
    }

    /// The zone spanning `pfn` (`page_zone()`).
    #[inline]
    pub fn zone_of_pfn(&self, pfn: Pfn) -> Option<usize> {
        self.zones.iter().position(|z| z.spans(pfn))
    }

    /// Every zone's snapshot, in zone order.
    pub fn snapshot(&self) -> Vec<ZoneCapture> {
        self.zones.iter().map(Zone::snapshot).collect()
    }

    /// The node's events, summed over its zones.
    pub fn events(&self) -> VmEvents {
        let mut e = VmEvents::default();
        for z in &self.zones {
            e.add(&z.events);
        }
        e
    }

    /// Bytes of engine state per spanned page, all arrays included.
    pub fn state_bytes_per_page(&self) -> f64 {
        let (bytes, pages) = self.zones.iter().fold((0usize, 0u64), |(b, p), z| {
            (b + z.state_bytes(), p + z.spanned)
        });
        bytes as f64 / pages.max(1) as f64
    }
}

/// What a zone's allocated blocks hold, walked head by head (the counts the kernel keeps as
/// zone stat items, `NR_SLAB_*`, `NR_PAGETABLE`, `NR_KERNEL_STACK`, … in `zone->vm_stat[]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerCounts {
    /// Pages per owner, indexed by `OwnerKind as usize`.
    pub pages: [u64; OwnerKind::ALL.len()],
    /// Blocks (allocations) per owner.
    pub blocks: [u64; OwnerKind::ALL.len()],
    /// Slab pages allocated as MIGRATE_RECLAIMABLE: those of `SLAB_RECLAIM_ACCOUNT` caches,
    /// whose page requests carry `__GFP_RECLAIMABLE` (`KmemCache::page_request()`), which is what
    /// the kernel counts as `NR_SLAB_RECLAIMABLE`.
    pub slab_reclaimable: u64,
}

impl Zone {
    /// Counts the zone's allocated blocks by owner.
    pub fn owner_counts(&self) -> OwnerCounts {
        let mut c = OwnerCounts::default();
        let mut pfn = self.start_pfn;
        while pfn < self.end_pfn() {
            pfn += match self.page_state(pfn) {
                PageState::Allocated {
                    order,
                    owner,
                    migratetype,
                } => {
                    c.pages[owner as usize] += 1 << order;
                    c.blocks[owner as usize] += 1;
                    if owner == OwnerKind::Slab && migratetype == MigrateType::Reclaimable {
                        c.slab_reclaimable += 1 << order;
                    }
                    1 << order
                }
                PageState::Free { order, .. } => 1 << order,
                _ => 1,
            };
        }
        c
    }
}

impl Zone {
    /// Bytes of engine state held by the zone (arrays and the struct itself).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Zone>()
            + self.pages.len() * std::mem::size_of::<PageSlot>()
            + self.blocks.len()
            + self.block_free.len() * std::mem::size_of::<u32>()
            + self.pcp.state_bytes()
    }
}

impl ZoneSpec {
    /// The PFNs pagetypeinfo's block count visits (`pagetypeinfo_showblockcount_print()`,
    /// mm/vmstat.c): from `zone_start_pfn` in pageblock steps, skipping PFNs that are not
    /// memory. Each names the pageblock it lies in, so a zone starting inside a pageblock
    /// (DMA at PFN 1) counts that pageblock.
    pub fn counted_pageblock_pfns(&self, pageblock_order: u32) -> impl Iterator<Item = Pfn> + '_ {
        (self.start_pfn..self.end_pfn())
            .step_by(1 << pageblock_order)
            .filter(|p| !self.holes.iter().any(|h| h.contains(p)))
    }
}

impl Zone {
    /// Replaces the zone's pages with a given layout instead of a fresh boot's, for starting
    /// from a reconstructed snapshot (`scenario::reconstruct`). Every pageblock overlapping the
    /// span gets `pageblock_type(first PFN of the pageblock)`; every managed page becomes an
    /// allocated order-0 page with the type and owner `used(pfn)` gives; then each `free` block
    /// `(pfn, order, type)` goes at the tail of `free_list[order][type]`, in the given order,
    /// without merging. `nr_reserved_highatomic` becomes the HighAtomic pageblocks' pages, as
    /// `reserve_highatomic_pageblock()` counts them. The per-cpu lists must be empty (a new
    /// zone's are). Fails, naming the block, when a free block is misaligned, overlaps another
    /// or leaves the managed pages, or when its buddy is free at the same order (the kernel's
    /// `__free_one_page()` would have merged them).
    pub fn set_layout(
        &mut self,
        pageblock_type: impl Fn(Pfn) -> MigrateType,
        free: &[(Pfn, u32, MigrateType)],
        mut used: impl FnMut(Pfn) -> (MigrateType, OwnerKind),
    ) -> Result<(), LayoutError> {
        let zone = self.zone_type;
        let err = |what: String| Err(LayoutError::Zone { zone, what });
        if self.pcp.count() != 0 {
            return err("the per-cpu lists must be empty to set a layout".into());
        }
        let pb = self.cfg.pageblock_order;
        let (lo, hi) = (
            (self.start_pfn - self.base_pfn) as u32,
            (self.end_pfn() - self.base_pfn) as u32,
        );
        for b in (lo >> pb)..=((hi - 1) >> pb) {
            let first = b << pb;
            self.set_pageblock_mt(first, pageblock_type(self.pfn_of(first)));
        }
        self.lists = [ListHead::EMPTY; MAX_NR_ORDERS * MigrateType::COUNT];
        self.nonempty = [0; MigrateType::COUNT];
        self.nr_free = [0; MAX_NR_ORDERS];
        self.nr_free_typed = [0; MAX_NR_ORDERS * MigrateType::COUNT];
        self.nr_free_pages = 0;
        self.block_free.fill(0);
        for off in lo..hi {
            if matches!(self.pages[off as usize].info.kind(), KIND_FREE | KIND_TAIL) {
                let (mt, owner) = used(self.pfn_of(off));
                self.pages[off as usize].info = PageInfo::allocated(0, mt, owner);
            }
        }
        for &(pfn, order, mt) in free {
            let size = 1u64 << order;
            let off = match self.off_of(pfn) {
                Some(off) if order < self.cfg.orders && u64::from(off) % size == 0 => off,
                _ => {
                    return err(format!(
                        "free order-{order} block at PFN {pfn:#x} is misaligned, above the \
                         largest order or outside the span"
                    ))
                }
            };
            let end = u64::from(off) + size;
            if end > u64::from(hi)
                || (off..end as u32).any(|o| self.pages[o as usize].info.0 & 0x7f != KIND_ALLOC)
            {
                return err(format!(
                    "free order-{order} block at PFN {pfn:#x} overlaps another free block, a \
                     hole or reserved pages"
                ));
            }
            self.pages[off as usize..end as usize]
                .iter_mut()
                .for_each(|p| p.info = PageInfo::TAIL);
            self.add_free(off, order, mt, true);
        }
        for &(pfn, order, _) in free {
            let off = (pfn - self.base_pfn) as u32;
            if order + 1 < self.cfg.orders
                && self.pages[(off ^ (1 << order)) as usize]
                    .info
                    .is_free_of_order(order)
            {
                return err(format!(
                    "free order-{order} blocks at PFN {pfn:#x} and its buddy would have merged"
                ));
            }
        }
        self.nr_reserved_highatomic = self.block_count[MigrateType::HighAtomic.index()] << pb;
        Ok(())
    }
}
