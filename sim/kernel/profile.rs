//! Kernel profiles: every supported kernel as one `Profile` value.
//!
//! A profile picks, for each rule the simulator models, the variant that kernel implements
//! (KERNEL_MM.md gives the rule, the kernel function and the versions). Code that applies a rule
//! matches on the profile's enum for it; nothing else in the crate compares version numbers.
//! Where the source bracket is known but the exact release is not, the field's comment says so.

use super::gfp::GfpLayout;
pub use super::slab_caches::SlabSizes;
use crate::capture::zoneinfo::ZoneinfoLayout;
use crate::mm::compaction::CompactionRules;
use crate::mm::memcg_slab::{DeadCaches, MemcgSlabRule};
use crate::mm::memcontrol::{CacheParamsRule, KmemIdRelease, MemcgRules};
use crate::mm::mmzone::{MigrateType, ZoneType};
use crate::mm::slub::{
    CpuPartialRule, KmallocLargeFlags, MinPartialRule, SlabFirstTry, SlabOrderRule, SlabRules,
};
use crate::mm::vm_event::VmstatNames;
use crate::mm::vmscan::ReclaimRule;

/// How `__setup_per_zone_wmarks()` spaces low and high above min.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkGaps {
    /// Up to 4.5: `low = min + tmp/4`, `high = min + tmp/2`.
    Quarter,
    /// 4.6+: `gap = max(tmp/4, managed * watermark_scale_factor / 10000)`, `low = min + gap`,
    /// `high = min + 2*gap`.
    ScaleFactor,
}

/// How `setup_per_zone_lowmem_reserve()` indexes `lowmem_reserve_ratio` and treats edge cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LowmemReserveRule {
    /// 3.10 – 4.9: the ratio array is indexed by the lower zone; a ratio < 1 is forced to 1.
    RatioForcedToOne,
    /// 4.19: a ratio < 1 gives no reserve.
    ZeroRatioNoReserve,
    /// 5.15+: no reserve if the ratio is 0 or the lower zone has no managed pages.
    ZeroRatioOrEmptyNoReserve,
}

/// The variant of `__zone_watermark_ok()` (KERNEL_MM.md 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkCheck {
    /// Up to 4.3: subtract the free pages of each order below the request and halve the mark at
    /// each order; migrate types are not looked at.
    PerOrderLoop,
    /// 4.4 – 6.2: after the order-0 test, succeed if any order ≥ the request has a block on the
    /// Unmovable, Movable or Reclaimable list (HighAtomic counts for ALLOC_HARDER).
    /// `harder_any_list`: 4.4 – 4.6 let an ALLOC_HARDER request pass on any non-empty list.
    FreeLists { harder_any_list: bool },
    /// 6.3+: the ALLOC_HARDER split into NON_BLOCK / MIN_RESERVE / HIGHATOMIC.
    FreeListsReserves,
}

/// The per-zone reserve of high-order blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ReserveKind {
    /// Up to 4.1: `MIGRATE_RESERVE` pageblocks set up from the min watermark
    /// (`setup_zone_migrate_reserve()`), used as the last fallback.
    MigrateReserve,
    /// 4.2 – 4.3 and RHEL 7.3+ (3.10.0-408 on): the MIGRATE_RESERVE type, its pagetypeinfo
    /// column, its `(R)` letter and the last-fallback path all exist, but no pageblock ever gets
    /// the type: `setup_zone_migrate_reserve()` returns at its first pageblock through the
    /// `early_page_nid_uninitialised()` test that upstream 7e18adb4f80b ("mm: meminit:
    /// initialise remaining struct pages in parallel with kswapd", 4.2) put at the top of its
    /// loop, which is false for every pageblock initialised at boot, with or without
    /// CONFIG_DEFERRED_STRUCT_PAGE_INIT (read in OpenVZ 7's mm/page_alloc.c on a RHEL 7.6+
    /// base; RHEL took the commit in 3.10.0-408). The seed's 3.10.0-514 report agrees: its
    /// entirely free DMA zone prints `1*2048kB (M)` where 3.10 prints `(R)`.
    MigrateReserveUnset,
    /// 4.4+: `MIGRATE_HIGHATOMIC` blocks reserved on demand by high-order atomic allocations.
    HighAtomic,
}

impl ReserveKind {
    /// Whether `__rmqueue()` ends with the MIGRATE_RESERVE lists (the type exists).
    pub fn has_reserve_type(self) -> bool {
        matches!(
            self,
            ReserveKind::MigrateReserve | ReserveKind::MigrateReserveUnset
        )
    }
}

/// Fallback stealing rules (`__rmqueue_fallback()` and friends, KERNEL_MM.md 6.6 – 6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FallbackRules {
    /// 3.10 – 4.3: largest block first; whole-block steal for order ≥ pageblock_order/2 or a
    /// reclaimable request; retype if ≥ half the block's pages moved; RESERVE last.
    V3_10,
    /// 4.4 – 4.12: `can_steal_fallback()` also for unmovable requests; retype on free pages only.
    V4_4,
    /// 4.13 – 6.11: free + "alike" pages ≥ half a block retypes it; a movable request that cannot
    /// steal takes the smallest fallback block instead of breaking a large one.
    V4_13,
    /// 6.12+ (exact release unconfirmed): `__rmqueue_claim` then `__rmqueue_steal`.
    V6_18,
}

/// The variant of `compaction_suitable()` (KERNEL_MM.md 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactionSuitability {
    /// 3.10: order-0 gate at `low + 2<<order` without lowmem_reserve; fragindex for every order.
    V3_10,
    /// 4.4 – 4.8: watermark at the order first (PARTIAL), then the 3.10 gates.
    V4_6,
    /// 4.9 – 6.x: gate at `(costly ? low : min) + 2<<order`; fragindex only for order > 3.
    V4_9,
    /// 6.18: `compaction_suit_allocation_order()`; same thresholds as 4.9.
    V6_18,
}

/// Proactive compaction thresholds (`fragmentation_score_wmark()`, KERNEL_MM.md 4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ProactiveRule {
    /// 5.9 – 6.x: `low = max(100 − proactiveness, 5)`, `high = min(low + 10, 100)`.
    V5_9,
    /// 6.18: `low = 100 − proactiveness`, `high = min(low + min(10, low/2), 100)`.
    V6_18,
}

/// Shape of the allocator slow path (`__alloc_pages_slowpath()`, KERNEL_MM.md 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlowPath {
    /// 3.10 – 4.6: async compaction → reclaim → (`should_alloc_retry`) → sync compaction.
    V3_10,
    /// 4.7: `should_reclaim_retry` / `should_compact_retry` for non-costly orders.
    V4_7,
    /// 4.8+: costly orders compact first; `compact_priority`.
    V4_8,
}

/// Which results of `try_to_compact_pages()` make `__alloc_pages_direct_compact()` (4.x+)
/// count `compact_stall`, retry the allocation and count `compact_success` / `compact_fail`
/// (3.10 counts the stall inside `try_to_compact_pages()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactStallRule {
    /// 4.x: results up to COMPACT_DEFERRED (`<= COMPACT_INACTIVE`) return first.
    AboveDeferred,
    /// 5.12+ (commit "mm: compaction: update the COMPACT[STALL|FAIL] events properly"): only
    /// COMPACT_SKIPPED returns first; a deferred zone counts a stall and a fail (confirmed on
    /// 6.1 by the kernel harness: 58 stalls, 58 fails for 29 failed order-10 requests).
    AboveSkipped,
}

/// Whether direct compaction takes the block its own migration frees (`compaction_capture()`,
/// mm/page_alloc.c, called at the top of `__free_one_page()`'s merge loop while the task's
/// `current->capture_control` is set by `compact_zone_order()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactionCapture {
    /// Up to 5.0: freed pages go to the free lists and the allocation retry takes them, through
    /// `__rmqueue_fallback()` (retyping the pageblock) when they sit in another type's block.
    None,
    /// 5.1 – 6.x (commit 5e1f0f098b46 "mm, compaction: capture a page under direct
    /// compaction"): a block that merges up to the request's order is handed to the requester,
    /// unless its pageblock is CMA or ISOLATE, or MOVABLE with order < pageblock_order.
    NotMovableBelowPageblock,
    /// As `NotMovableBelowPageblock`, but a MOVABLE request also takes blocks below pageblock
    /// order from MOVABLE pageblocks ("mm: page_alloc: allow mTHP compaction to capture the
    /// freed page directly"; between 6.1 and 6.18, release unconfirmed).
    MovableForMovable,
}

/// `__alloc_pages_slowpath()` (4.8+): the first compaction results after which a costly
/// `__GFP_NORETRY` request goes to nopage without reclaim (KERNEL_MM.md 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum NoretryCostlyGate {
    /// 4.8 – 4.19: `compact_result == COMPACT_DEFERRED`.
    Deferred,
    /// 5.x+: `COMPACT_SKIPPED` or `COMPACT_DEFERRED`.
    SkippedOrDeferred,
}

/// What creating a network namespace does to slab caches (`nf_conntrack_init_net()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ConntrackCache {
    /// `kmem_cache_create("nf_conntrack_%p")` per netns (3.10 – 4.4).
    PerNetnsPointer,
    /// `kmem_cache_create("nf_conntrack_%llu")` per netns (4.5/4.6, RHEL 7.9 backport).
    PerNetnsCounter,
    /// One global `nf_conntrack` cache (4.7+): netns creation makes no cache.
    Global,
}

/// How the slow path turns GFP bits into `ALLOC_*` flags (`gfp_to_alloc_flags()`, mm/page_alloc.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum AllocFlagsRule {
    /// 3.10 – 4.3: ALLOC_HARDER for a request that cannot wait (`!__GFP_WAIT`), unless
    /// `__GFP_NOMEMALLOC`; such requests also drop ALLOC_CPUSET.
    V3_10,
    /// 4.4 – 4.x: ALLOC_HARDER from `__GFP_ATOMIC` (unless `__GFP_NOMEMALLOC`).
    V4_4,
    /// 5.0 – 6.2: as 4.4, plus ALLOC_KSWAPD from `__GFP_KSWAPD_RECLAIM` (release unconfirmed).
    V5_0,
    /// 6.3+: ALLOC_HARDER split: `!__GFP_DIRECT_RECLAIM` gives ALLOC_NON_BLOCK (and
    /// ALLOC_HIGHATOMIC for order > 0); `__GFP_HIGH` is ALLOC_MIN_RESERVE (release unconfirmed).
    V6_3,
}

/// The wrapper `get_page_from_freelist()` calls around `__zone_watermark_ok()`
/// (`zone_watermark_fast()`, KERNEL_MM.md 1.5 and 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkFast {
    /// Up to 4.7: `zone_watermark_ok()` only (4.4.0 has no `zone_watermark_fast`).
    None,
    /// 4.8 – 4.19: order 0 passes if `free − free_cma > mark + lowmem_reserve`, which ignores
    /// the highatomic reserve the full check would subtract (release 4.8 unconfirmed).
    Order0IgnoresHighAtomic,
    /// 5.x – 6.2: order-0 shortcut on free minus all unusable pages (same answer as the full
    /// check), and an order-0 `__GFP_ATOMIC` request at WMARK_MIN that fails against the
    /// boosted mark is re-checked against the unboosted min (release unconfirmed).
    BoostRetryGfpAtomic,
    /// 6.3+: as `BoostRetryGfpAtomic`, keyed on ALLOC_MIN_RESERVE instead of `__GFP_ATOMIC`.
    BoostRetryMinReserve,
}

/// Which zone's `lowmem_reserve[]` entry the fast path's watermark check uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ReserveIndex {
    /// 3.10 – 5.6: `classzone_idx`, the index of the preferred zone (the first populated zone
    /// of the zonelist at or below `gfp_zone()`).
    PreferredZone,
    /// 5.7+ (5.15/6.18 source; release unconfirmed): `highest_zoneidx = gfp_zone(gfp)`, even
    /// when the local node does not populate that zone.
    HighestZoneidx,
}

/// Where `__free_one_page()` refuses to merge (KERNEL_MM.md 6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MergeRule {
    /// Up to 6.x before the claim/steal rework: buddies merge whatever their pageblock types.
    AnyType,
    /// 6.x (6.18 source): at or above pageblock order, buddies of different types merge only if
    /// both are mergeable (`migratetype_is_mergeable()`), and the merged block takes the type.
    MergeableTypesOnly,
}

/// The cap on the highatomic reserve (`reserve_highatomic_pageblock()`, KERNEL_MM.md 6.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum HighatomicLimit {
    /// 4.4 – 6.11: `managed/100 + pageblock_nr_pages`; the reserve grows by whole pageblocks.
    PercentPlusBlock,
    /// 6.x (6.18 source): `ALIGN(managed/100, pageblock_nr_pages)`; an allocation of at least
    /// pageblock order is reserved whole; pageblocks starting below the zone are refused.
    AlignedPercent,
}

/// How debugfs `extfrag/extfrag_index` prints an index (`extfrag_show_print()`, mm/vmstat.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum IndexFormat {
    /// `"%d.%03d "`.
    Plain,
    /// `"%2d.%03d "` (between 5.15 and 6.18, release unconfirmed).
    Width2,
}

/// A kernel version as data.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Profile {
    /// The name users pass to `--kernel` (`3.10`, `3.10-rhel7`, `6.1`, …).
    pub name: &'static str,
    /// What this profile stands for and which source tree its rules were read from.
    pub summary: &'static str,
    /// A release this profile models, as `uname -r` prints it ([`for_release`] maps it back to
    /// this profile): the simulator's own failure reports name it.
    pub release: &'static str,
    /// Number of buddy orders (`MAX_ORDER` exclusive, `NR_PAGE_ORDERS`): 11 on x86-64.
    pub orders: u32,
    /// `pageblock_order` (9 on x86-64 with hugetlb).
    pub pageblock_order: u32,
    /// Migrate types in the kernel's own enum order: the order of pagetypeinfo columns and of
    /// the letters in failure reports.
    pub migrate_types: &'static [MigrateType],
    /// Upper clamp of the default `min_free_kbytes` (`init_per_zone_wmark_min()`).
    pub min_free_kbytes_max: u64,
    /// A value written to `vm.min_free_kbytes` survives recomputation (`user_min_free_kbytes`).
    pub user_min_free_kbytes_kept: bool,
    /// `set_recommended_min_free_kbytes()` counts ZONE_MOVABLE (3.10 – 4.x) or not (4.19+).
    pub thp_counts_movable_zone: bool,
    pub watermark_gaps: WatermarkGaps,
    /// `vm.watermark_scale_factor` default (only used with [`WatermarkGaps::ScaleFactor`]).
    pub watermark_scale_factor: u32,
    /// `WMARK_PROMO` exists (`promo = high + gap`); between 5.15 and 6.18, release unconfirmed.
    pub promo_watermark: bool,
    /// `__setup_per_zone_wmarks()` treats ZONE_MOVABLE like highmem: left out of lowmem_pages,
    /// min = clamp(managed/1024, 32, 128) (6.18; not in 5.15; release unconfirmed).
    pub wmark_movable_as_highmem: bool,
    /// `vm.watermark_boost_factor` default; 0 where boosting does not exist (before 5.0).
    pub watermark_boost_factor: u32,
    pub lowmem_reserve: LowmemReserveRule,
    /// Default `vm.lowmem_reserve_ratio` for DMA, DMA32, Normal, HighMem, Movable, Device.
    pub lowmem_reserve_ratio: [u32; 6],
    pub watermark_check: WatermarkCheck,
    pub watermark_fast: WatermarkFast,
    pub alloc_flags: AllocFlagsRule,
    pub reserve: ReserveKind,
    /// The fair zone allocation policy (`ALLOC_FAIR`, upstream 3.12 – 4.7, every RHEL 7): the
    /// fast path's first walk skips local zones whose `NR_ALLOC_BATCH` (`high − low` pages, less
    /// every page allocated there) is spent; when that walk fails, the batches are reset and the
    /// zonelist walked again without the policy (`__alloc_pages_nodemask()`).
    pub fair_zone_alloc: bool,
    /// `ALLOC_NOFRAGMENT` in the fast path (5.0+).
    pub alloc_nofragment: bool,
    pub fallback: FallbackRules,
    pub compaction_suitability: CompactionSuitability,
    /// `vm.extfrag_threshold` default.
    pub extfrag_threshold: u32,
    pub extfrag_format: IndexFormat,
    /// kcompactd exists (4.6+).
    pub kcompactd: bool,
    /// Proactive compaction and its default `vm.compaction_proactiveness` (5.9+).
    pub proactive: Option<(ProactiveRule, u32)>,
    pub slow_path: SlowPath,
    /// Non-movable order > 0 requests also compact before reclaim (between 4.9 and 4.19).
    pub compact_first_non_movable: bool,
    /// Which results of the first (async) compaction make a costly `__GFP_NORETRY` request
    /// give up before reclaim in `__alloc_pages_slowpath()` (4.8+).
    pub noretry_costly_gate: NoretryCostlyGate,
    /// When direct compaction counts a stall and retries (`__alloc_pages_direct_compact()`).
    pub compact_stall: CompactStallRule,
    /// Async direct compaction abandons an order-aligned block at the first page it cannot
    /// isolate (`skip_on_failure` in `isolate_migratepages_block()`, 4.6+).
    pub compact_skip_on_failure: bool,
    /// Direct compaction captures the page it frees (5.1+).
    pub compaction_capture: CompactionCapture,
    pub gfp: GfpLayout,
    pub conntrack: ConntrackCache,
    /// The configured x86-64 zones in `enum zone_type` order: the entries of `lowmem_reserve[]`
    /// (the `protection:` line) and the indices the allocator compares. ZONE_DEVICE exists
    /// from 4.3 (`CONFIG_ZONE_DEVICE`, as distribution kernels build it).
    pub zones: &'static [ZoneType],
    /// Which `lowmem_reserve[]` entry the watermark check reads.
    pub reserve_index: ReserveIndex,
    /// The layout of `/proc/zoneinfo` (`zoneinfo_show_print()`, KERNEL_MM.md 9.3). 4.9 is given
    /// the 4.19 layout as the nearest: it already prints `per-node stats` and 6-space zone stats
    /// (4.8), but, by memory and **unconfirmed**, still prints `protection:` after the stats and
    /// only populated zones (both changed with "print non-populated zones in zoneinfo", 4.12).
    pub zoneinfo_layout: ZoneinfoLayout,
    /// `move_to_free_list()` puts moved blocks at the list tail (5.10+, `list_move_tail`)
    /// rather than the head (`list_move` up to 5.9).
    pub move_to_tail: bool,
    pub merge: MergeRule,
    pub highatomic_limit: HighatomicLimit,
    /// `calculate_order()`: 6.7+ (6.18 source) `WasteFractions`, before `MinObjectsLoop`.
    pub slab_order: SlabOrderRule,
    /// Empty-slab freeing: `nr_partial > min_partial` (3.10) or `>=` (4.x+).
    pub slab_min_partial: MinPartialRule,
    /// `allocate_slab()`'s first try: NORETRY only (up to 4.4) or also without reclaim (4.x+;
    /// the 4.9 source has it, 4.4 does not).
    pub slab_first_try: SlabFirstTry,
    /// `set_cpu_partial()` sizes: larger in 6.x.
    pub slab_cpu_partial: CpuPartialRule,
    /// Flags of `kmalloc_order()`: `__GFP_KMEMCG` was added in 3.10 only.
    pub kmalloc_large: KmallocLargeFlags,
    /// How the per-root-cache memcg array is sized (`memcg_cache_params`).
    pub memcg_params: CacheParamsRule,
    /// When a memcg's kmem id is released.
    pub kmem_id_release: KmemIdRelease,
    /// Compaction's scanner, finish and deferral rules (`compact_zone()` and friends).
    pub compaction: CompactionRules,
    /// Whether kswapd balances zones (3.10 – 4.7) or the node (4.8+ node-based LRU).
    pub reclaim: ReclaimRule,
    /// Which event names /proc/vmstat prints (`vmstat_text[]`).
    pub vmstat_names: VmstatNames,
    /// How a new task's kernel stack is allocated (`alloc_thread_stack_node()`).
    pub kernel_stack: KernelStack,
    /// The object sizes of the kernel's named slab caches.
    pub slab_sizes: SlabSizes,
    /// The shape of the per-cpu page lists.
    pub pcp: PcpLists,
    /// How reclaim swaps out a transparent huge page.
    pub thp_swap: ThpSwap,
    /// The cap on `zone_batchsize()`'s thousandth of the zone, in pages before the division by 4:
    /// 512 KiB up to 4.18, 1 MiB from 4.19 ("mm, page_alloc: double zone's batchsize").
    pub pcp_batch_max: u32,
    /// Which slab allocations of a kmem-active memcg go to per-memcg caches.
    pub memcg_slab: MemcgSlabRule,
}

/// How a task's kernel stack is allocated on x86-64 (`alloc_thread_info_node()` /
/// `alloc_thread_stack_node()`, kernel/fork.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KernelStack {
    /// One physically contiguous `THREADINFO_GFP` block of this order (THREAD_SIZE_ORDER:
    /// 1 = 8 KiB up to 3.14, 2 = 16 KiB from 3.15).
    Contiguous { order: u32 },
    /// `CONFIG_VMAP_STACK` (x86-64 default from 4.9): `__vmalloc_node_range()` of 16 KiB, four
    /// order-0 pages.
    Vmap,
}

impl KernelStack {
    /// Bytes of one task's stack (`THREAD_SIZE`).
    pub fn bytes(self) -> u64 {
        match self {
            KernelStack::Contiguous { order } => 4096 << order,
            KernelStack::Vmap => 16 << 10,
        }
    }
}

/// How `shrink_page_list()` swaps out an anon transparent huge page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ThpSwap {
    /// `add_to_swap()` splits it first (`split_huge_page_to_list()`, read in 3.10; the model's
    /// 3.10 – 4.9 profiles): its pages are swapped out and freed one by one, each an order-0 free
    /// through the per-cpu lists.
    SplitFirst,
    /// Swapped out and freed whole, one order-9 free (`CONFIG_THP_SWAP` on x86-64, read in 4.19's
    /// `shrink_page_list()`; it arrived in steps from 4.13, the exact release is unconfirmed). A
    /// failed `add_to_swap()` falls back to splitting, which the model's swap never needs.
    Whole,
}

/// What the per-cpu page lists hold and how they give pages back (`struct per_cpu_pages`,
/// KERNEL_MM.md 6.10). Read in 5.15.100/5.15.179 and 6.1.y mm/page_alloc.c.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PcpLists {
    /// Order-0 pages only, one list per MIGRATE_PCPTYPES type, `high = 6 × batch`
    /// (`setup_pageset()` / `pageset_set_batch()`, 3.10 – 5.12).
    OrderZero,
    /// Orders 0–3 and the THP order, one list per type and order (15 lists, the THP order's
    /// per type too: `order_to_pindex()`, 5.13); `high` from the low watermark
    /// (`zone_highsize()`, 5.14), cut to 4 × batch while kswapd reclaims
    /// (`nr_pcp_high()`, ZONE_RECLAIM_ACTIVE); a bulk free doubles with each free in a row
    /// (`nr_pcp_free()`, `free_factor`) and goes round-robin over the lists
    /// (`free_pcppages_bulk()`). An empty list that cannot be refilled fails the zone.
    V5_13,
    /// As [`V5_13`](Self::V5_13) with 6.1's changes: one THP list for all types
    /// (NR_PCP_THP = 1), a bulk free starts at the list just freed to and empties each list
    /// in turn, a high-order free (orders 1–3) after frees in a row gives back the whole list
    /// (`free_high`), and a failed per-cpu refill falls back to `rmqueue_buddy()`. Which
    /// release between 5.16 and 6.1 brought each is unconfirmed.
    V6_1,
    /// 6.7+ (read in 6.18-rc1 `mm/page_alloc.c` and `mm/vmstat.c`): as [`V6_1`](Self::V6_1)
    /// but with two THP lists (MOVABLE and the others, NR_PCP_THP = 2), no CMA condition on
    /// the lists, and each CPU's `high` tuned at run time between `high_min` (the low
    /// watermark's share, `zone_highsize()`) and `high_max` (an eighth of the zone's share):
    /// refills raise it by the batch they take (`nr_pcp_alloc()`, whose order-0 batch grows by
    /// `alloc_factor`), frees under reclaim or while the zone is below its high watermark
    /// (ZONE_BELOW_HIGH, set by `get_page_from_freelist()`) lower it by the pages freed lately
    /// (`free_count`), an order 1–3 free after another with enough freed lately gives back up
    /// to `batch << 5` pages (`free_high`), and `decay_pcp_high()` takes an eighth off every
    /// second. A bulk free frees each block with its pageblock's type at that time.
    AutoTuned,
}

const TYPES_3_10: &[MigrateType] = &[
    MigrateType::Unmovable,
    MigrateType::Reclaimable,
    MigrateType::Movable,
    MigrateType::Reserve,
    MigrateType::Cma,
    MigrateType::Isolate,
];

const TYPES_4_4: &[MigrateType] = &[
    MigrateType::Unmovable,
    MigrateType::Movable,
    MigrateType::Reclaimable,
    MigrateType::HighAtomic,
    MigrateType::Cma,
    MigrateType::Isolate,
];

/// DMA 256, DMA32 256, Normal 32 in every version; HighMem and Movable 32 up to 4.9 (indexed
/// by the lower zone, so they are never used on x86-64), 0 from 4.19 (indexed by zone).
/// x86-64 zones before ZONE_DEVICE (3.10: `protection: (0, 2815, 15868, 15868)`).
const ZONES_3_10: &[ZoneType] = &[
    ZoneType::Dma,
    ZoneType::Dma32,
    ZoneType::Normal,
    ZoneType::Movable,
];
/// x86-64 zones with ZONE_DEVICE (4.3+).
const ZONES_4_4: &[ZoneType] = &[
    ZoneType::Dma,
    ZoneType::Dma32,
    ZoneType::Normal,
    ZoneType::Movable,
    ZoneType::Device,
];

const RATIO_OLD: [u32; 6] = [256, 256, 32, 32, 32, 32];
const RATIO_NEW: [u32; 6] = [256, 256, 32, 0, 0, 0];

const V3_10: Profile = Profile {
    name: "3.10",
    release: "3.10.99",
    summary: "vanilla 3.10 (3.10.99)",
    orders: 11,
    pageblock_order: 9,
    migrate_types: TYPES_3_10,
    min_free_kbytes_max: 65536,
    user_min_free_kbytes_kept: false,
    thp_counts_movable_zone: true,
    watermark_gaps: WatermarkGaps::Quarter,
    watermark_scale_factor: 10,
    promo_watermark: false,
    wmark_movable_as_highmem: false,
    watermark_boost_factor: 0,
    lowmem_reserve: LowmemReserveRule::RatioForcedToOne,
    lowmem_reserve_ratio: RATIO_OLD,
    watermark_check: WatermarkCheck::PerOrderLoop,
    watermark_fast: WatermarkFast::None,
    alloc_flags: AllocFlagsRule::V3_10,
    reserve: ReserveKind::MigrateReserve,
    fair_zone_alloc: false,
    alloc_nofragment: false,
    fallback: FallbackRules::V3_10,
    compaction_suitability: CompactionSuitability::V3_10,
    extfrag_threshold: 500,
    extfrag_format: IndexFormat::Plain,
    kcompactd: false,
    proactive: None,
    slow_path: SlowPath::V3_10,
    compact_first_non_movable: false,
    noretry_costly_gate: NoretryCostlyGate::Deferred,
    compact_stall: CompactStallRule::AboveDeferred,
    compact_skip_on_failure: false,
    compaction_capture: CompactionCapture::None,
    gfp: GfpLayout::V3_10,
    conntrack: ConntrackCache::PerNetnsPointer,
    zones: ZONES_3_10,
    reserve_index: ReserveIndex::PreferredZone,
    zoneinfo_layout: ZoneinfoLayout::V3_10,
    move_to_tail: false,
    merge: MergeRule::AnyType,
    highatomic_limit: HighatomicLimit::PercentPlusBlock,
    slab_order: SlabOrderRule::MinObjectsLoop,
    slab_min_partial: MinPartialRule::Greater,
    slab_first_try: SlabFirstTry::NoRetry,
    slab_cpu_partial: CpuPartialRule::Small,
    kmalloc_large: KmallocLargeFlags::CompKmemcg,
    memcg_params: CacheParamsRule::V3_10,
    kmem_id_release: KmemIdRelease::OnFree,
    compaction: CompactionRules::V3_10,
    reclaim: ReclaimRule::PerZone,
    vmstat_names: VmstatNames::V3_10,
    kernel_stack: KernelStack::Contiguous { order: 1 },
    slab_sizes: SlabSizes::V3_10,
    pcp: PcpLists::OrderZero,
    thp_swap: ThpSwap::SplitFirst,
    pcp_batch_max: 128,
    memcg_slab: MemcgSlabRule::AllCaches {
        sysfs: "sysfs_dir_cache",
        dead: DeadCaches::ShrinkOnce,
        child_alias: true,
    },
};

/// RHEL/CentOS 7.0 – 7.2 (3.10.0-123 … -327): 3.10 with the backports every RHEL 7 kernel
/// carries. Read in OpenVZ 7's kernel (RHEL 7 plus OpenVZ patches): its earliest trees, on a
/// 7.2 base, still set up MIGRATE_RESERVE blocks.
const V3_10_RHEL7_0: Profile = Profile {
    name: "3.10-rhel7.0",
    release: "3.10.0-327.el7.x86_64",
    summary: "RHEL/CentOS 7.0 - 7.2 (3.10.0-123 to -327): 3.10 with the fair zone allocation \
              policy, 16 KiB stacks, the 3.11 kswapd, user_min_free_kbytes, MIGRATE_RESERVE \
              blocks, __GFP_KMEMCG and nf_conntrack_%p caches",
    user_min_free_kbytes_kept: true,
    fair_zone_alloc: true,
    // RHEL's own CONFIG_16KSTACKS (arch/x86/Kconfig.debug in OpenVZ 7's earliest tree) and
    // later THREAD_SIZE_ORDER 2: every task is an order-2 block.
    kernel_stack: KernelStack::Contiguous { order: 2 },
    reclaim: ReclaimRule::PerZone,
    // `__slab_free()` frees an empty slab at `nr_partial >= min_partial` (OpenVZ 7's
    // mm/slub.c; upstream's off-by-one fix of 3.14, release in RHEL unconfirmed).
    slab_min_partial: MinPartialRule::AtLeast,
    compaction: CompactionRules::Rhel7,
    ..V3_10
};

/// RHEL/CentOS 7.3 – 7.6 (3.10.0-408 … -1061), the seed's 3.10.0-514 among them: as 7.0
/// without MIGRATE_RESERVE blocks (upstream 7e18adb4f80b entered RHEL at 3.10.0-408).
const V3_10_RHEL7_3: Profile = Profile {
    name: "3.10-rhel7.3",
    release: "3.10.0-514.el7.x86_64",
    summary: "RHEL/CentOS 7.3 - 7.6 (3.10.0-408 to -1061, such as the seed's 3.10.0-514): as \
              3.10-rhel7.0 with no MIGRATE_RESERVE block ever set up",
    reserve: ReserveKind::MigrateReserveUnset,
    ..V3_10_RHEL7_0
};

/// RHEL/CentOS 7.7 – 7.9, modelled on 3.10.0-1160 (the last). A 3.10.0-1062 failure report
/// already shows `memcg_alloc_cache_params()` and mode 0xc0d0; the 262144 kB clamp and the
/// `nf_conntrack_%llu` names were read in 1160 only.
const V3_10_RHEL7: Profile = Profile {
    name: "3.10-rhel7",
    release: "3.10.0-1160.el7.x86_64",
    summary: "RHEL/CentOS 7.7 - 7.9 (3.10.0-1062 on; 3.10.0-1160 read): as 3.10-rhel7.3 with \
              the 262144 kB clamp, __GFP_ACCOUNT in place of __GFP_KMEMCG, \
              memcg_alloc_cache_params() and nf_conntrack_%llu caches",
    min_free_kbytes_max: 262144,
    gfp: GfpLayout::Rhel7,
    conntrack: ConntrackCache::PerNetnsCounter,
    kmalloc_large: KmallocLargeFlags::Comp,
    memcg_params: CacheParamsRule::Rhel7,
    ..V3_10_RHEL7_3
};

const V4_4: Profile = Profile {
    name: "4.4",
    release: "4.4.0",
    summary: "4.4 (4.4.0): MIGRATE_HIGHATOMIC replaces MIGRATE_RESERVE, the free-list \
              watermark check, __GFP_DIRECT_RECLAIM/__GFP_KSWAPD_RECLAIM",
    migrate_types: TYPES_4_4,
    user_min_free_kbytes_kept: true,
    watermark_check: WatermarkCheck::FreeLists {
        harder_any_list: true,
    },
    alloc_flags: AllocFlagsRule::V4_4,
    reserve: ReserveKind::HighAtomic,
    fallback: FallbackRules::V4_4,
    compaction_suitability: CompactionSuitability::V4_6,
    gfp: GfpLayout::V4_4,
    zones: ZONES_4_4,
    slab_min_partial: MinPartialRule::AtLeast,
    kmalloc_large: KmallocLargeFlags::Comp,
    memcg_params: CacheParamsRule::CacheArray,
    kmem_id_release: KmemIdRelease::OnOffline,
    compaction: CompactionRules::V4_4,
    kernel_stack: KernelStack::Contiguous { order: 2 },
    slab_sizes: SlabSizes::V4_18,
    // sysfs is built on kernfs from 3.14; dead copies free their empty slabs from 4.0.
    memcg_slab: MemcgSlabRule::AllCaches {
        sysfs: "kernfs_node_cache",
        dead: DeadCaches::DiscardEmpty,
        child_alias: false,
    },
    ..V3_10
};

const V4_9: Profile = Profile {
    name: "4.9",
    release: "4.9.154",
    summary: "4.9 (4.9.154): watermark_scale_factor, kcompactd, should_reclaim_retry, costly \
              orders compact first, one global nf_conntrack cache",
    watermark_gaps: WatermarkGaps::ScaleFactor,
    compact_skip_on_failure: true,
    watermark_check: WatermarkCheck::FreeLists {
        harder_any_list: false,
    },
    watermark_fast: WatermarkFast::Order0IgnoresHighAtomic,
    compaction_suitability: CompactionSuitability::V4_9,
    kcompactd: true,
    slow_path: SlowPath::V4_8,
    gfp: GfpLayout::V4_6,
    conntrack: ConntrackCache::Global,
    zoneinfo_layout: ZoneinfoLayout::V4_19,
    slab_first_try: SlabFirstTry::NoReclaim,
    reclaim: ReclaimRule::PerNode,
    vmstat_names: VmstatNames::V4_9,
    kernel_stack: KernelStack::Vmap,
    memcg_slab: MemcgSlabRule::AccountedCaches {
        sysfs: "kernfs_node_cache",
        dead: DeadCaches::DiscardEmpty,
    },
    ..V4_4
};

const V4_19: Profile = Profile {
    name: "4.19",
    release: "4.19.304",
    summary: "4.19 (4.19.304): zone-indexed lowmem_reserve_ratio, counted \"alike\" pages when \
              stealing, non-movable requests compact first, GFP_KERNEL = 0x6000c0",
    thp_counts_movable_zone: false,
    lowmem_reserve: LowmemReserveRule::ZeroRatioNoReserve,
    lowmem_reserve_ratio: RATIO_NEW,
    fallback: FallbackRules::V4_13,
    compact_first_non_movable: true,
    gfp: GfpLayout::V4_19,
    compaction: CompactionRules::V4_19,
    vmstat_names: VmstatNames::V4_19,
    thp_swap: ThpSwap::Whole,
    pcp_batch_max: 256,
    ..V4_9
};

const V5_15: Profile = Profile {
    name: "5.15",
    release: "5.15.135",
    summary: "5.15 (5.15.135): watermark boost, ALLOC_NOFRAGMENT, proactive compaction, the \
              262144 kB clamp, GFP_KERNEL = 0xcc0",
    min_free_kbytes_max: 262144,
    watermark_boost_factor: 15000,
    lowmem_reserve: LowmemReserveRule::ZeroRatioOrEmptyNoReserve,
    watermark_fast: WatermarkFast::BoostRetryGfpAtomic,
    alloc_flags: AllocFlagsRule::V5_0,
    alloc_nofragment: true,
    proactive: Some((ProactiveRule::V5_9, 20)),
    gfp: GfpLayout::V5_15,
    reserve_index: ReserveIndex::HighestZoneidx,
    move_to_tail: true,
    memcg_params: CacheParamsRule::NoArray,
    memcg_slab: MemcgSlabRule::Shared,
    vmstat_names: VmstatNames::V5_15,
    noretry_costly_gate: NoretryCostlyGate::SkippedOrDeferred,
    compact_stall: CompactStallRule::AboveSkipped,
    compaction_capture: CompactionCapture::NotMovableBelowPageblock,
    pcp: PcpLists::V5_13,
    ..V4_19
};

const V6_1: Profile = Profile {
    name: "6.1",
    release: "6.1.0",
    summary: "6.1: as 5.15 for the allocator (before the ALLOC_HARDER split and the \
              claim/steal split); WMARK_PROMO (release unconfirmed)",
    promo_watermark: true,
    zoneinfo_layout: ZoneinfoLayout::V6_18,
    slab_cpu_partial: CpuPartialRule::Large,
    pcp: PcpLists::V6_1,
    ..V5_15
};

const V6_18: Profile = Profile {
    name: "6.18",
    release: "6.18.2",
    summary: "6.18 (6.18.2): ALLOC_HARDER split, __rmqueue_claim/__rmqueue_steal, \
              compaction_suit_allocation_order, MAX_PAGE_ORDER",
    wmark_movable_as_highmem: true,
    watermark_check: WatermarkCheck::FreeListsReserves,
    watermark_fast: WatermarkFast::BoostRetryMinReserve,
    alloc_flags: AllocFlagsRule::V6_3,
    fallback: FallbackRules::V6_18,
    compaction_suitability: CompactionSuitability::V6_18,
    extfrag_format: IndexFormat::Width2,
    proactive: Some((ProactiveRule::V6_18, 20)),
    gfp: GfpLayout::V6_18,
    merge: MergeRule::MergeableTypesOnly,
    highatomic_limit: HighatomicLimit::AlignedPercent,
    slab_order: SlabOrderRule::WasteFractions,
    compaction: CompactionRules::V6_18,
    compaction_capture: CompactionCapture::MovableForMovable,
    vmstat_names: VmstatNames::V6_18,
    pcp: PcpLists::AutoTuned,
    ..V6_1
};

/// Every profile, oldest first; each newer kernel is written as what changed from the one before.
pub static PROFILES: &[Profile] = &[
    V3_10,
    V3_10_RHEL7_0,
    V3_10_RHEL7_3,
    V3_10_RHEL7,
    V4_4,
    V4_9,
    V4_19,
    V5_15,
    V6_1,
    V6_18,
];

/// The profile called `name`, or an error listing the names that exist.
pub fn profile(name: &str) -> Result<&'static Profile, String> {
    PROFILES.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        format!("unknown kernel `{name}` (known: {})", names.join(", "))
    })
}

/// The profile that models a kernel release string such as `3.10.0-514.el7.x86_64` or
/// `5.10.0-10-amd64`: the newest profile not newer than the release. RHEL 7 kernels (`.el7`)
/// map by build: before 408 to `3.10-rhel7.0`, before 1062 to `3.10-rhel7.3`, later to
/// `3.10-rhel7`; `None` for releases older than 3.10 or unreadable ones.
pub fn for_release(release: &str) -> Option<&'static Profile> {
    let (major, minor) = release_version(release)?;
    if (major, minor) == (3, 10) && release.contains(".el7") {
        let build: u32 = release
            .split_once('-')
            .and_then(|(_, rest)| rest.split('.').next())
            .and_then(|b| b.parse().ok())
            .unwrap_or(0);
        let name = match build {
            0..408 => "3.10-rhel7.0",
            408..1062 => "3.10-rhel7.3",
            _ => "3.10-rhel7",
        };
        return profile(name).ok();
    }
    PROFILES
        .iter()
        .filter(|p| !p.name.contains("rhel"))
        .rfind(|p| version_of(p) <= (major, minor))
}

/// The `(major, minor)` a release string starts with (`4.1.18-g1a2b3c4` → `(4, 1)`).
pub fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

impl Profile {
    /// The slab rules of this kernel (`mm/slub.c`, `mm/slab_common.c`).
    pub fn slab_rules(&self) -> SlabRules {
        SlabRules {
            order: self.slab_order,
            min_partial: self.slab_min_partial,
            first_try: self.slab_first_try,
            cpu_partial: self.slab_cpu_partial,
            kmalloc_large: self.kmalloc_large,
        }
    }

    /// The memcg kmem rules of this kernel (`mm/memcontrol.c`).
    pub fn memcg_rules(&self) -> MemcgRules {
        MemcgRules {
            params: self.memcg_params,
            id_release: self.kmem_id_release,
        }
    }

    /// Index of `zone` in [`Profile::zones`] (its `lowmem_reserve[]` slot).
    pub fn zone_index(&self, zone: ZoneType) -> Option<usize> {
        self.zones.iter().position(|&z| z == zone)
    }
}

fn version_of(p: &Profile) -> (u32, u32) {
    let mut it = p
        .name
        .split(['.', '-'])
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_profile_exists() {
        for name in [
            "3.10",
            "3.10-rhel7.0",
            "3.10-rhel7.3",
            "3.10-rhel7",
            "4.4",
            "4.9",
            "4.19",
            "5.15",
            "6.1",
            "6.18",
        ] {
            assert_eq!(profile(name).unwrap().name, name);
        }
        assert!(profile("2.6").unwrap_err().contains("3.10-rhel7"));
    }

    #[test]
    fn the_sysfs_cache_of_per_memcg_copies_exists_in_each_kernel() {
        for p in PROFILES {
            match p.memcg_slab {
                MemcgSlabRule::AllCaches { sysfs, .. }
                | MemcgSlabRule::AccountedCaches { sysfs, .. } => {
                    assert!(p.slab_sizes.find(sysfs).is_some(), "{}: {sysfs}", p.name)
                }
                MemcgSlabRule::Shared => {}
            }
        }
    }

    #[test]
    fn zone_lists_and_slab_rules_per_profile() {
        let p = |n: &str| profile(n).unwrap();
        // 3.10's failure report prints 4 protection entries, 6.18's zoneinfo 5.
        assert_eq!(p("3.10").zones.len(), 4);
        assert_eq!(p("6.18").zones.len(), 5);
        assert_eq!(p("4.19").zone_index(ZoneType::Normal), Some(2));
        assert_eq!(p("4.19").zone_index(ZoneType::HighMem), None);
        let first_try: Vec<SlabFirstTry> = PROFILES.iter().map(|p| p.slab_first_try).collect();
        assert_eq!(
            first_try
                .iter()
                .filter(|&&f| f == SlabFirstTry::NoRetry)
                .count(),
            5
        );
        assert_eq!(p("3.10").memcg_rules().params, CacheParamsRule::V3_10);
        assert_eq!(
            p("3.10-rhel7").slab_rules().kmalloc_large,
            KmallocLargeFlags::Comp
        );
        assert_eq!(p("4.9").memcg_params, CacheParamsRule::CacheArray);
        assert_eq!(p("5.15").memcg_params, CacheParamsRule::NoArray);
        assert_eq!(p("6.18").slab_rules().order, SlabOrderRule::WasteFractions);
        assert_eq!(p("6.1").slab_rules().order, SlabOrderRule::MinObjectsLoop);
        assert!(!p("4.19").move_to_tail);
        assert!(p("5.15").move_to_tail);
        assert_eq!(p("6.1").merge, MergeRule::AnyType);
        assert_eq!(p("6.18").merge, MergeRule::MergeableTypesOnly);
    }

    #[test]
    fn each_profiles_release_maps_back_to_it() {
        for p in PROFILES {
            assert_eq!(for_release(p.release).map(|q| q.name), Some(p.name));
        }
    }

    #[test]
    fn releases_map_to_the_newest_older_profile() {
        let name = |r: &str| for_release(r).map(|p| p.name);
        assert_eq!(name("3.10.0-327.el7.x86_64"), Some("3.10-rhel7.0"));
        assert_eq!(name("3.10.0-514.el7.x86_64"), Some("3.10-rhel7.3"));
        assert_eq!(name("3.10.0-1062.18.1.el7.x86_64"), Some("3.10-rhel7"));
        assert_eq!(name("3.10.99"), Some("3.10"));
        assert_eq!(name("3.10.0-1160.49.1.el7.x86_64"), Some("3.10-rhel7"));
        assert_eq!(name("4.18.0-80.11.2.el8_0.x86_64"), Some("4.9"));
        assert_eq!(name("5.10.0-10-amd64"), Some("4.19"));
        assert_eq!(name("5.14.0-325.el9.x86_64"), Some("4.19"));
        assert_eq!(name("6.1.0-27-amd64"), Some("6.1"));
        assert_eq!(name("6.18.2"), Some("6.18"));
        assert_eq!(name("2.6.16"), None);
        assert_eq!(name("garbage"), None);
    }
}
