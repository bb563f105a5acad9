//! Memory compaction (mm/compaction.c): whether a zone is worth compacting, and compacting it.
//!
//! Compaction moves movable pages out of the way so that free pages merge into a large block.
//! Before it runs for an order-N request, `compaction_suitable()` asks three questions of each
//! zone: would the request already succeed (then compaction is pointless); are there enough
//! free pages to hold the migrated copies (an order-0 watermark plus `2 << order`, else the
//! zone is *skipped* and reclaim must run first); and is the failure really due to
//! fragmentation rather than lack of memory (the fragmentation index must exceed
//! `vm.extfrag_threshold`). The order and details of the questions differ by version
//! (`Profile::compaction_suitability`, KERNEL_MM.md 4.1).

use crate::kernel::gfp::GfpFlags;
use crate::kernel::profile::ProactiveRule;
use crate::kernel::profile::{CompactStallRule, CompactionCapture, CompactionSuitability, Profile};
use crate::mm::migrate::{migrate_page, ISOLATED};
use crate::mm::mmzone::{FreeArea, Watermarks, PAGE_ALLOC_COSTLY_ORDER};
use crate::mm::mmzone::{MigrateType, Node, PageState, Pfn, Zone, ZoneType};
use crate::mm::page_alloc::alloc_flags::{AllocFlags, Wmark};
use crate::mm::page_alloc::watermark::{watermark_check, zone_watermark_ok, WatermarkVerdict};
use crate::mm::vmscan::{Lru, NodeMm};
use crate::mm::vmstat::extfrag_for_order;
use crate::mm::vmstat::{format_unusable_index, fragmentation_index};
use std::cell::Cell;

/// The outcome of the suitability test, with the numbers behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Suitability {
    /// Order −1 (`/proc/sys/vm/compact_memory`): COMPACT_CONTINUE without any test.
    CompactMemory,
    /// The order-0 gate failed (COMPACT_SKIPPED): not enough free pages for migration targets.
    /// `gate` is the watermark tested (`low + 2<<order` etc.); the zone had `free` where it
    /// needed more than `needed` (gate after the kernel's adjustments, plus lowmem_reserve).
    Skipped { gate: u64, free: i64, needed: i64 },
    /// The fragmentation index says the failure is from lack of memory: `0 ≤ fragindex ≤
    /// threshold` (COMPACT_NOT_SUITABLE_ZONE from 4.4, reported to callers as SKIPPED).
    NotSuitable { fragindex: i32, threshold: u32 },
    /// 3.10 – 4.8 COMPACT_PARTIAL: the watermark at this order is already met (`mark`).
    Partial { mark: u64 },
    /// 4.9+ COMPACT_SUCCESS: the watermark at this order is already met (`mark`).
    Success { mark: u64 },
    /// COMPACT_CONTINUE: compaction should run. `fragindex` is the index the kernel looked at,
    /// if it looked.
    Continue { fragindex: Option<i32> },
}

impl Suitability {
    /// Whether compaction runs on this zone (COMPACT_CONTINUE).
    pub fn proceeds(self) -> bool {
        matches!(
            self,
            Suitability::CompactMemory | Suitability::Continue { .. }
        )
    }

    /// The `enum compact_result` value the kernel's caller sees.
    pub fn compact_result(self) -> &'static str {
        match self {
            Suitability::CompactMemory | Suitability::Continue { .. } => "COMPACT_CONTINUE",
            Suitability::Skipped { .. } | Suitability::NotSuitable { .. } => "COMPACT_SKIPPED",
            Suitability::Partial { .. } => "COMPACT_PARTIAL",
            Suitability::Success { .. } => "COMPACT_SUCCESS",
        }
    }
}

impl std::fmt::Display for Suitability {
    /// The decision and its numbers, for `analyze` and `explain`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Suitability::CompactMemory => f.write_str("compact_memory: no suitability test"),
            Suitability::Skipped { gate, free, needed } => write!(
                f,
                "skipped: order-0 gate {gate} not met (free {free} <= {needed}); reclaim first"
            ),
            Suitability::NotSuitable {
                fragindex,
                threshold,
            } => write!(
                f,
                "skipped: fragmentation index {} <= {} (vm.extfrag_threshold {threshold}): \
                 failure from lack of memory, not fragmentation; reclaim instead",
                format_unusable_index(fragindex),
                format_unusable_index(threshold as i32)
            ),
            Suitability::Partial { mark } | Suitability::Success { mark } => write!(
                f,
                "not needed: compaction_suitable()'s own check of the order's watermark {mark} \
                 passes (it may count pages a lowmem_reserve keeps from the request)"
            ),
            // -1000: a free block of the order exists (`__fragmentation_index()`), but the
            // order's watermark check fails, so the threshold is not consulted.
            Suitability::Continue {
                fragindex: Some(fi),
            } if fi < 0 => write!(
                f,
                "compaction runs: fragmentation index {} (a free block of the order exists, \
                 but not above the watermark; extfrag_threshold does not apply)",
                format_unusable_index(fi)
            ),
            Suitability::Continue {
                fragindex: Some(fi),
            } => write!(
                f,
                "compaction runs: fragmentation index {} is above vm.extfrag_threshold",
                format_unusable_index(fi)
            ),
            Suitability::Continue { fragindex: None } => f.write_str("compaction runs"),
        }
    }
}

/// `compact_gap(order)` (mm/internal.h; 3.10 writes it inline): room for the migrated copies.
fn compact_gap(order: u32) -> u64 {
    2u64 << order
}

/// The order-0 gate: `Skipped` if the zone does not pass `gate` at order 0.
fn order0_gate(
    profile: &Profile,
    zone: &impl FreeArea,
    gate: u64,
    lowmem_reserve: u64,
    flags: AllocFlags,
) -> Option<Suitability> {
    match watermark_check(profile, zone, 0, gate, lowmem_reserve, flags) {
        WatermarkVerdict::Ok => None,
        WatermarkVerdict::BelowMin { free, min, reserve } => Some(Suitability::Skipped {
            gate,
            free,
            needed: min + reserve as i64,
        }),
        // An order-0 check fails only on the order-0 test.
        WatermarkVerdict::BelowMinAtOrder { free, min, .. } => Some(Suitability::Skipped {
            gate,
            free,
            needed: min,
        }),
        WatermarkVerdict::NoSuitableBlock { .. } => Some(Suitability::Skipped {
            gate,
            free: 0,
            needed: 0,
        }),
    }
}

/// `vm.extfrag_threshold`, and what the simulation's reads of it have shown.
///
/// The sysctl matters only where a fragmentation index of 0 or more is compared with it
/// (`fragindex <= sysctl_extfrag_threshold` in `compaction_suitable()`); an index of −1000 (a
/// free block of the order exists) or one of an uncompared path never reads it. Each comparison
/// narrows the thresholds that would have decided the same way, so at the end of a run
/// [`ExtfragThreshold::same_run`] says which settings give this very run: a sweep reuses the run
/// for them instead of simulating it again. Once the operator writes the sysctl
/// ([`ExtfragThreshold::write`]) later decisions no longer depend on the configured value and
/// are not recorded.
#[derive(Clone, Debug)]
pub struct ExtfragThreshold {
    value: u32,
    same: Cell<SameRun>,
    recording: bool,
}

/// The `vm.extfrag_threshold` values that decide every comparison of a run as its own value
/// did (`min..=max`), and how many comparisons there were.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SameRun {
    pub min: u32,
    pub max: u32,
    pub decisions: u64,
}

impl SameRun {
    /// The values that give the same run on every node: the intersection.
    pub fn and(self, o: SameRun) -> SameRun {
        SameRun {
            min: self.min.max(o.min),
            max: self.max.min(o.max),
            decisions: self.decisions + o.decisions,
        }
    }

    pub fn contains(&self, threshold: u32) -> bool {
        (self.min..=self.max).contains(&threshold)
    }
}

/// The sysctl's range (`extfrag_threshold` in `vm_table`: `extra1 = SYSCTL_ZERO`, `extra2 =
/// &max_extfrag_threshold`).
pub const MAX_EXTFRAG_THRESHOLD: u32 = 1000;

impl ExtfragThreshold {
    /// The sysctl at `value`, no comparison made yet.
    pub fn new(value: u32) -> ExtfragThreshold {
        ExtfragThreshold {
            value,
            same: Cell::new(SameRun {
                min: 0,
                max: MAX_EXTFRAG_THRESHOLD,
                decisions: 0,
            }),
            recording: true,
        }
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    /// A write of the sysctl at run time (an operator's `sysctl`). A different value ends the
    /// recording: what follows is decided by the written value, whatever the configured one.
    pub fn write(&mut self, value: u32) {
        if value != self.value {
            self.value = value;
            self.recording = false;
        }
    }

    /// Continues as the sysctl at `value`, one of the values that decided every comparison so
    /// far as this one did ([`same_run`](Self::same_run)): a sweep's fork of the run.
    pub fn fork(&mut self, value: u32) {
        debug_assert!(!self.recording || self.same_run().contains(value));
        self.value = value;
    }

    /// The thresholds that would have decided as this one did so far.
    pub fn same_run(&self) -> SameRun {
        self.same.get()
    }

    /// Whether `fragindex` says the failure is from lack of memory (`0 ≤ fragindex ≤
    /// threshold`), recording the comparison.
    fn not_suitable(&self, fragindex: i32) -> bool {
        let Ok(fi) = u32::try_from(fragindex) else {
            return false;
        };
        let skip = fi <= self.value;
        if self.recording {
            let mut s = self.same.get();
            if skip {
                s.min = s.min.max(fi);
            } else {
                s.max = s.max.min(fi - 1);
            }
            s.decisions += 1;
            self.same.set(s);
        }
        skip
    }
}

/// `NotSuitable` if `0 ≤ fragindex ≤ threshold`, else `Continue` with the index.
fn fragindex_gate(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    threshold: &ExtfragThreshold,
) -> Suitability {
    let fragindex = fragmentation_index(profile, zone, order);
    if threshold.not_suitable(fragindex) {
        Suitability::NotSuitable {
            fragindex,
            threshold: threshold.value,
        }
    } else {
        Suitability::Continue {
            fragindex: Some(fragindex),
        }
    }
}

/// Whether direct compaction or kcompactd should compact this zone for an order-`order` request
/// (`None` = order −1, compact_memory). `wmarks` are the zone's watermarks (boost included by
/// [`Watermarks::mark`]), `lowmem_reserve` its reserve for the request's classzone /
/// highest_zoneidx, `flags` the caller's ALLOC flags (their watermark selection is used from 4.9;
/// the slow path and kcompactd select WMARK_MIN), `extfrag_threshold` is `vm.extfrag_threshold`.
/// An order the profile does not have is `NotSuitable` with index 0.
///
/// Models, per `Profile::compaction_suitability`:
/// * 3.10: `compaction_suitable()`: gate `low + 2<<order` at order 0 with classzone 0 (no
///   lowmem_reserve) and no flags; fragindex for every order; PARTIAL if fragindex is −1000 and
///   the order-N check at the gate passes.
/// * 4.4 – 4.8: `__compaction_suitable()`: PARTIAL if the order-N check at low passes; gate
///   `low + 2<<order` with the caller's reserve and flags; fragindex for every order.
/// * 4.9 – 6.x: SUCCESS if the order-N check at the selected mark passes; gate
///   `(costly ? low : min) + 2<<order` with ALLOC_CMA; fragindex only for costly orders.
/// * 6.18: `compaction_suit_allocation_order()` + `compaction_suitable()`: gate
///   `mark + 2<<order (+ low − min if costly)`, otherwise as 4.9. The extra check 6.18 makes for
///   async costly compaction without ALLOC_CMA (only different when the zone has free CMA
///   pages) is not modelled here: this function does not know the compaction mode.
pub fn compaction_suitable(
    profile: &Profile,
    zone: &impl FreeArea,
    order: Option<u32>,
    wmarks: &Watermarks,
    lowmem_reserve: u64,
    flags: AllocFlags,
    extfrag_threshold: &ExtfragThreshold,
) -> Suitability {
    let Some(order) = order else {
        return Suitability::CompactMemory;
    };
    if order >= profile.orders {
        // fragmentation_index() is 0 for an order the kernel does not have (6.x warns).
        return Suitability::NotSuitable {
            fragindex: 0,
            threshold: extfrag_threshold.value,
        };
    }
    let costly = order > PAGE_ALLOC_COSTLY_ORDER;
    match profile.compaction_suitability {
        CompactionSuitability::V3_10 => {
            let gate = wmarks.mark(Wmark::Low).saturating_add(compact_gap(order));
            if let Some(skipped) = order0_gate(profile, zone, gate, 0, AllocFlags::default()) {
                return skipped;
            }
            let verdict = fragindex_gate(profile, zone, order, extfrag_threshold);
            if verdict
                == (Suitability::Continue {
                    fragindex: Some(-1000),
                })
                && zone_watermark_ok(profile, zone, order, gate, 0, AllocFlags::default())
            {
                return Suitability::Partial { mark: gate };
            }
            verdict
        }
        CompactionSuitability::V4_6 => {
            let low = wmarks.mark(Wmark::Low);
            if zone_watermark_ok(profile, zone, order, low, lowmem_reserve, flags) {
                return Suitability::Partial { mark: low };
            }
            let gate = low.saturating_add(compact_gap(order));
            if let Some(skipped) = order0_gate(profile, zone, gate, lowmem_reserve, flags) {
                return skipped;
            }
            fragindex_gate(profile, zone, order, extfrag_threshold)
        }
        CompactionSuitability::V4_9 | CompactionSuitability::V6_18 => {
            let mark = wmarks.mark(flags.wmark());
            if zone_watermark_ok(profile, zone, order, mark, lowmem_reserve, flags) {
                return Suitability::Success { mark };
            }
            let gate = if profile.compaction_suitability == CompactionSuitability::V4_9 {
                wmarks
                    .mark(if costly { Wmark::Low } else { Wmark::Min })
                    .saturating_add(compact_gap(order))
            } else if costly {
                mark.saturating_add(compact_gap(order))
                    .saturating_add(wmarks.low.saturating_sub(wmarks.min))
            } else {
                mark.saturating_add(compact_gap(order))
            };
            if let Some(skipped) = order0_gate(profile, zone, gate, lowmem_reserve, AllocFlags::CMA)
            {
                return skipped;
            }
            if costly {
                fragindex_gate(profile, zone, order, extfrag_threshold)
            } else {
                Suitability::Continue { fragindex: None }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The compaction run over the engine's zones (compact_zone() and its callers).
//
// Two scanners walk a zone from opposite ends, one pageblock at a time. The migration scanner
// starts at the zone start and isolates movable allocated pages (at most COMPACT_CLUSTER_MAX per
// batch); the free scanner starts at the last pageblock and isolates free pages in blocks that
// are suitable migration targets. Each batch is migrated into the free pages, so used pages
// move to the top of the zone and the freed sources merge at the bottom. The run ends when a
// block of the requested order is available (`compact_finished()`) or the scanners meet.
// Where they stopped is cached per zone so the next run resumes there; a pageblock where a
// scanner isolated nothing gets its skip bit, which later runs honour until the bits are
// reset. Failures defer further attempts exponentially (`defer_compaction()`).
//
// The per-zone state the kernel keeps in `struct zone` lives in [`CompactState`], held by the
// caller beside its zones (one per zone); the skip bits are the zones' own pageblock bits.
// Compound (order > 0) allocated pages are skipped by the migration scanner, as 3.10 – 5.x do
// (`PageCompound`/`PageTransHuge` skip); `migrate::migrate_page` can move them for other callers.
// ---------------------------------------------------------------------------------------------

/// `COMPACT_CLUSTER_MAX` (= SWAP_CLUSTER_MAX): pages isolated per migration batch.
pub const COMPACT_CLUSTER_MAX: usize = 32;
/// `COMPACT_MAX_DEFER_SHIFT`: deferral skips at most 2^6 − 1 attempts.
pub const COMPACT_MAX_DEFER_SHIFT: u32 = 6;

/// The scanner and `compact_finished()` rules of a kernel (KERNEL_MM.md 4.2, 4.3);
/// `Profile::compaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactionRules {
    /// 3.10: one cached migrate PFN; scanners meet at `free_pfn <= migrate_pfn`; async takes only
    /// MOVABLE/CMA blocks; free targets MOVABLE/CMA or a block that starts with a free buddy of
    /// ≥ pageblock order; `split_free_page()` gate `low + 1<<order`; finish needs
    /// `low + 1<<order` at the order, then a free block of the type or any block ≥ pageblock.
    V3_10,
    /// RHEL 7 (read in OpenVZ 7's mm/compaction.c): 3.10 with the upstream 3.11 – 3.16 scanner
    /// changes: [async, sync] cached migrate PFNs, free targets MOVABLE/CMA only with large
    /// buddies skipped (as 4.4), and `compact_memory` at MIGRATE_SYNC; the 3.10 meet test,
    /// gates, finish test and deferral otherwise.
    Rhel7,
    /// 4.4 – 4.9: [async, sync] cached migrate PFNs; scanners meet by pageblock;
    /// `suitable_migration_source()`; free targets MOVABLE/CMA only, large buddies skipped;
    /// `__isolate_free_page()` gate `min + 1<<order`; finish needs the low watermark at the order
    /// and then a free block of the type or a fallback that could claim a whole block.
    V4_4,
    /// 4.19 – 6.x: as 4.4 without the watermark test in `__compact_finished()`.
    V4_19,
    /// 6.18: as 4.19; the free scanner skips buddies of order ≥ cc->order (≥ pageblock order
    /// for order −1).
    V6_18,
}

impl CompactionRules {
    /// The 3.10 family (3.10, RHEL 7): the rules the two share.
    pub fn v3(self) -> bool {
        matches!(self, CompactionRules::V3_10 | CompactionRules::Rhel7)
    }
}

/// `enum migrate_mode` as compaction uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MigrateMode {
    Async,
    SyncLight,
    Sync,
}

/// `enum compact_priority` (4.8+); 3.10's first direct compaction is `Async`, the later ones
/// `SyncLight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum CompactPriority {
    /// COMPACT_PRIO_SYNC_FULL (MIN_COMPACT_PRIORITY).
    SyncFull,
    /// COMPACT_PRIO_SYNC_LIGHT (DEF_COMPACT_PRIORITY).
    SyncLight,
    /// COMPACT_PRIO_ASYNC (INIT_COMPACT_PRIORITY).
    Async,
}

/// `enum compact_result`, one variant per outcome the model produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactResult {
    /// COMPACT_SKIPPED (also NOT_SUITABLE_ZONE): not suitable, or no IO/FS allowed.
    Skipped,
    /// COMPACT_DEFERRED: `compaction_deferred()` said wait.
    Deferred,
    /// COMPACT_CONTINUE (only inside a run).
    Continue,
    /// COMPACT_COMPLETE: the scanners met after scanning the whole zone.
    Complete,
    /// COMPACT_PARTIAL_SKIPPED (4.6+): the scanners met, but the run started from cached
    /// positions.
    PartialSkipped,
    /// COMPACT_CONTENDED (4.6+), here: migration ran out of free targets (-ENOMEM) before the
    /// scanners met.
    Contended,
    /// COMPACT_SUCCESS (4.9+), COMPACT_PARTIAL up to 4.8: a block of the order is available.
    Success,
}

impl CompactResult {
    /// The kernel's name for this result under `rules`.
    pub fn name(self, rules: CompactionRules) -> &'static str {
        match self {
            CompactResult::Skipped => "COMPACT_SKIPPED",
            CompactResult::Deferred => "COMPACT_DEFERRED",
            CompactResult::Continue => "COMPACT_CONTINUE",
            CompactResult::Complete => "COMPACT_COMPLETE",
            CompactResult::PartialSkipped => "COMPACT_PARTIAL_SKIPPED",
            CompactResult::Contended => "COMPACT_CONTENDED",
            CompactResult::Success if rules.v3() => "COMPACT_PARTIAL",
            CompactResult::Success => "COMPACT_SUCCESS",
        }
    }

    /// The numeric order `try_to_compact_pages()` takes the max of: 3.10 SKIPPED=0 (DEFERRED
    /// has no value there and ranks with it), CONTINUE=1, PARTIAL=2, COMPLETE=3; 4.x+ in the
    /// enum order SKIPPED, DEFERRED, CONTINUE, COMPLETE, PARTIAL_SKIPPED, CONTENDED, SUCCESS.
    pub fn rank(self, rules: CompactionRules) -> u8 {
        match (rules.v3(), self) {
            (true, CompactResult::Skipped | CompactResult::Deferred) => 0,
            (true, CompactResult::Continue) => 1,
            (true, CompactResult::Success | CompactResult::Contended) => 2,
            (true, _) => 3,
            (_, r) => r as u8,
        }
    }
}

/// A zone's compaction state (the `compact_*` fields of `struct zone`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CompactState {
    /// `compact_cached_migrate_pfn[async, sync]` (3.10 has one; index 0 serves both).
    pub cached_migrate_pfn: [Pfn; 2],
    /// `compact_cached_free_pfn`: start of the pageblock the free scanner resumes at.
    pub cached_free_pfn: Pfn,
    pub considered: u32,
    pub defer_shift: u32,
    pub order_failed: u32,
    /// `compact_blockskip_flush`: the scanners met outside kswapd; kswapd clears skip bits when
    /// it next sleeps.
    pub blockskip_flush: bool,
}

impl CompactState {
    /// A zone's state at boot: scanners at the two ends, nothing deferred.
    pub fn new(zone: &Zone) -> CompactState {
        CompactState {
            cached_migrate_pfn: [zone.start_pfn; 2],
            cached_free_pfn: last_block_start(zone),
            considered: 0,
            defer_shift: 0,
            order_failed: 0,
            blockskip_flush: false,
        }
    }

    /// Models `defer_compaction()`: a failure doubles the number of attempts to skip (shift
    /// capped at COMPACT_MAX_DEFER_SHIFT) and records the lowest order that failed.
    pub fn defer_compaction(&mut self, order: u32) {
        self.considered = 0;
        self.defer_shift = (self.defer_shift + 1).min(COMPACT_MAX_DEFER_SHIFT);
        self.order_failed = self.order_failed.min(order);
    }

    /// Models `compaction_deferred()`: orders below the failed order are never deferred;
    /// otherwise the attempt is counted and skipped while fewer than `1 << shift` were.
    pub fn compaction_deferred(&mut self, order: u32) -> bool {
        if order < self.order_failed {
            return false;
        }
        let limit = 1u32 << self.defer_shift;
        self.considered = (self.considered + 1).min(limit);
        self.considered < limit
    }

    /// Models `compaction_defer_reset()`: after a success the deferral is cleared (when the
    /// allocation succeeded) and orders up to `order` count as working again.
    pub fn compaction_defer_reset(&mut self, order: u32, alloc_success: bool) {
        if alloc_success {
            self.considered = 0;
            self.defer_shift = 0;
        }
        self.order_failed = self.order_failed.max(order + 1);
    }

    /// Models `compaction_restarting()`: the deferral ran its full course at this order.
    pub fn compaction_restarting(&self, order: u32) -> bool {
        order >= self.order_failed
            && self.defer_shift == COMPACT_MAX_DEFER_SHIFT
            && self.considered >= 1 << self.defer_shift
    }

    /// Models `reset_cached_positions()`.
    fn reset_cached_positions(&mut self, zone: &Zone) {
        self.cached_migrate_pfn = [zone.start_pfn; 2];
        self.cached_free_pfn = last_block_start(zone);
    }
}

/// `pageblock_start_pfn(zone_end_pfn(zone) - 1)`.
fn last_block_start(zone: &Zone) -> Pfn {
    let pb = zone.config().pageblock_order;
    ((zone.end_pfn() - 1) >> pb) << pb
}

/// Models `__reset_isolation_suitable()`: clears every skip bit of the zone and resets the
/// cached scanner positions and `compact_blockskip_flush`.
pub fn reset_isolation_suitable(zone: &mut Zone, state: &mut CompactState) {
    let pb = zone.config().pageblock_order;
    let mut pfn = (zone.start_pfn >> pb) << pb;
    while pfn < zone.end_pfn() {
        zone.set_pageblock_skip(pfn.max(zone.start_pfn), false);
        pfn += 1 << pb;
    }
    state.reset_cached_positions(zone);
    state.blockskip_flush = false;
}

/// Who runs compaction (the kernel asks `current_is_kswapd()` and `cc->direct_compaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Compactor {
    /// An allocating task (direct compaction).
    Direct,
    /// kswapd (3.10's `compact_pgdat()` from `balance_pgdat()`).
    Kswapd,
    /// kcompactd (4.6+).
    Kcompactd,
    /// A write to `/proc/sys/vm/compact_memory`.
    Operator,
}

/// `struct compact_control`: what one `compact_zone()` run is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct CompactControl<'a> {
    /// `None` = order −1 (compact_memory, proactive): compact the whole zone.
    pub order: Option<u32>,
    pub mode: MigrateMode,
    /// The request's migrate type (`gfpflags_to_migratetype()`).
    pub migratetype: MigrateType,
    /// Start from the zone ends instead of the cached positions (4.x+).
    pub whole_zone: bool,
    pub ignore_skip_hint: bool,
    /// Free targets may be any pageblock (4.x+ COMPACT_PRIO_SYNC_FULL).
    pub ignore_block_suitable: bool,
    /// The caller's ALLOC flags (watermark selection for suitability and finish, 4.9+).
    pub alloc_flags: AllocFlags,
    /// The zone's lowmem_reserve for the request's classzone.
    pub lowmem_reserve: u64,
    pub compactor: Compactor,
    /// `vm.extfrag_threshold`.
    pub extfrag_threshold: &'a ExtfragThreshold,
    /// Proactive compaction (5.9+): stop when the zone's fragmentation score is at most this.
    pub proactive_low: Option<u32>,
    /// kswapd is running on the node (proactive runs give up then).
    pub kswapd_running: bool,
}

impl<'a> CompactControl<'a> {
    /// A direct-compaction control for an order-`order` request at `prio`. Models
    /// `compact_zone_order()`: 3.10 maps Async → MIGRATE_ASYNC and anything else to
    /// SYNC_LIGHT with cached positions and skip hints; 4.8+ SYNC_FULL also sets whole_zone,
    /// ignore_skip_hint and ignore_block_suitable.
    pub fn direct(
        rules: CompactionRules,
        order: u32,
        migratetype: MigrateType,
        prio: CompactPriority,
        alloc_flags: AllocFlags,
        lowmem_reserve: u64,
        extfrag_threshold: &'a ExtfragThreshold,
    ) -> CompactControl<'a> {
        let full = prio == CompactPriority::SyncFull && !rules.v3();
        CompactControl {
            order: Some(order),
            mode: if prio == CompactPriority::Async {
                MigrateMode::Async
            } else {
                MigrateMode::SyncLight
            },
            migratetype,
            whole_zone: full,
            ignore_skip_hint: full,
            ignore_block_suitable: full,
            alloc_flags,
            lowmem_reserve,
            compactor: Compactor::Direct,
            extfrag_threshold,
            proactive_low: None,
            kswapd_running: false,
        }
    }

    /// The control `compact_node()` uses for `/proc/sys/vm/compact_memory`: order −1,
    /// ignoring skip hints; 3.10 runs SYNC_LIGHT from the cached positions (`cc->sync = true`),
    /// 4.x+ MIGRATE_SYNC over the whole zone.
    pub fn compact_memory(
        rules: CompactionRules,
        extfrag_threshold: &'a ExtfragThreshold,
    ) -> CompactControl<'a> {
        CompactControl {
            order: None,
            mode: if rules == CompactionRules::V3_10 {
                MigrateMode::SyncLight
            } else {
                MigrateMode::Sync
            },
            migratetype: MigrateType::Movable,
            whole_zone: !rules.v3(),
            ignore_skip_hint: true,
            ignore_block_suitable: false,
            alloc_flags: AllocFlags::WMARK_MIN,
            lowmem_reserve: 0,
            compactor: Compactor::Operator,
            extfrag_threshold,
            proactive_low: None,
            kswapd_running: false,
        }
    }
}

/// `struct capture_control` (mm/internal.h, 5.1+): while a direct compaction runs on a zone,
/// the first block that merges up to the request's order in `__free_one_page()` is taken for
/// the requester instead of going to the free lists. Kept in the zone's capture slot, as the
/// kernel keeps it in `current->capture_control` and checks `capc->cc->zone == zone`
/// (`task_capc()`); kthreads (kswapd, kcompactd) and `compact_memory` have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureControl {
    rule: CompactionCapture,
    /// `cc->order`.
    order: u32,
    /// `cc->migratetype`: the type the captured block is allocated as.
    pub(crate) migratetype: MigrateType,
    /// `capc->page`: the captured block.
    page: Option<Pfn>,
}

impl CaptureControl {
    /// Models `compaction_capture()` (mm/page_alloc.c) with `task_capc()`'s "nothing captured
    /// yet": takes the block at `pfn` of `order` in a pageblock of type `mt` if the order is
    /// the request's and the pageblock is neither CMA nor ISOLATE nor, below pageblock order,
    /// MOVABLE (per [`CompactionCapture`]). Returns whether it took it.
    pub(crate) fn compaction_capture(
        &mut self,
        pfn: Pfn,
        order: u32,
        mt: MigrateType,
        pageblock_order: u32,
    ) -> bool {
        if self.page.is_some() || order != self.order {
            return false;
        }
        if matches!(mt, MigrateType::Cma | MigrateType::Isolate) {
            return false;
        }
        let movable_ok = match self.rule {
            CompactionCapture::None => return false,
            CompactionCapture::NotMovableBelowPageblock => false,
            CompactionCapture::MovableForMovable => self.migratetype == MigrateType::Movable,
        };
        if order < pageblock_order && mt == MigrateType::Movable && !movable_ok {
            return false;
        }
        self.page = Some(pfn);
        true
    }
}

/// What one `compact_zone()` run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactStats {
    pub migrate_scanned: u64,
    pub free_scanned: u64,
    /// Pages isolated by both scanners (`compact_isolated`).
    pub isolated: u64,
    pub migrated: u64,
}

/// One run of the two scanners.
struct Run<'a> {
    zone: &'a mut Zone,
    lru: &'a mut Lru,
    state: &'a mut CompactState,
    profile: &'a Profile,
    rules: CompactionRules,
    cc: CompactControl<'a>,
    migrate_pfn: Pfn,
    free_pfn: Pfn,
    /// Whether this run started at the zone start (4.6+ COMPLETE vs PARTIAL_SKIPPED).
    from_start: bool,
    migratepages: Vec<Pfn>,
    freepages: Vec<Pfn>,
    /// Pages isolated so far in the migration scanner's current pageblock.
    block_isolated: u64,
    stats: CompactStats,
}

impl Run<'_> {
    fn pb(&self) -> u32 {
        self.zone.config().pageblock_order
    }

    fn sync_idx(&self) -> usize {
        usize::from(self.rules != CompactionRules::V3_10 && self.cc.mode != MigrateMode::Async)
    }

    /// Models `compact_scanners_met()` (4.6+: by pageblock) and 3.10's `free_pfn <= migrate_pfn`.
    fn scanners_met(&self) -> bool {
        match self.rules {
            CompactionRules::V3_10 | CompactionRules::Rhel7 => self.free_pfn <= self.migrate_pfn,
            _ => self.free_pfn >> self.pb() <= self.migrate_pfn >> self.pb(),
        }
    }

    /// Models `compact_finished()` / `__compact_finished()` per [`CompactionRules`].
    fn finished(&mut self) -> CompactResult {
        if self.scanners_met() {
            self.state.reset_cached_positions(self.zone);
            if self.cc.compactor != Compactor::Kswapd {
                self.state.blockskip_flush = true;
            }
            return if self.rules.v3() || self.from_start {
                CompactResult::Complete
            } else {
                CompactResult::PartialSkipped
            };
        }
        let Some(order) = self.cc.order else {
            return match self.cc.proactive_low {
                Some(_) if self.cc.kswapd_running => CompactResult::PartialSkipped,
                Some(low) if fragmentation_score_zone(self.profile, self.zone) <= low => {
                    CompactResult::Success
                }
                _ => CompactResult::Continue,
            };
        };
        let w = self.zone.watermarks;
        let mark_ok = match self.rules {
            CompactionRules::V3_10 | CompactionRules::Rhel7 => zone_watermark_ok(
                self.profile,
                self.zone,
                order,
                w.mark(Wmark::Low) + (1 << order),
                0,
                AllocFlags::default(),
            ),
            CompactionRules::V4_4 => zone_watermark_ok(
                self.profile,
                self.zone,
                order,
                w.mark(Wmark::Low),
                self.cc.lowmem_reserve,
                self.cc.alloc_flags,
            ),
            CompactionRules::V4_19 | CompactionRules::V6_18 => true,
        };
        if !mark_ok {
            return CompactResult::Continue;
        }
        let z = &*self.zone;
        let mt = self.cc.migratetype;
        let pb = self.pb();
        for o in order..z.config().orders {
            if z.has_free(o, mt) || (mt == MigrateType::Movable && z.has_free(o, MigrateType::Cma))
            {
                return CompactResult::Success;
            }
            let fallback = match self.rules {
                CompactionRules::V3_10 | CompactionRules::Rhel7 => o >= pb && z.nr_free(o) > 0,
                _ => {
                    let can_claim = o >= pb / 2
                        || matches!(mt, MigrateType::Unmovable | MigrateType::Reclaimable)
                        || z.config().mobility_disabled;
                    can_claim
                        && crate::mm::page_alloc::fallback::fallbacks(z.config().fallback, mt)
                            .iter()
                            .any(|&t| z.has_free(o, t))
                }
            };
            if fallback {
                return CompactResult::Success;
            }
        }
        CompactResult::Continue
    }

    /// Whether the migration scanner may take pages from the pageblock at `pfn`. Models 3.10's
    /// `migrate_async_suitable()` test in async mode and 4.x's `suitable_migration_source()`.
    fn suitable_source(&self, pfn: Pfn) -> bool {
        let Some(bmt) = self.zone.pageblock_migratetype(pfn) else {
            return false;
        };
        let async_ok = matches!(bmt, MigrateType::Movable | MigrateType::Cma);
        match self.rules {
            CompactionRules::V3_10 | CompactionRules::Rhel7 => {
                self.cc.mode != MigrateMode::Async || async_ok
            }
            _ if self.cc.mode != MigrateMode::Async || self.cc.compactor != Compactor::Direct => {
                true
            }
            _ if self.cc.migratetype == MigrateType::Movable => async_ok,
            _ => bmt == self.cc.migratetype,
        }
    }

    /// Whether the free scanner may take free pages from the pageblock at `pfn`. Models
    /// `suitable_migration_target()` per version.
    fn suitable_target(&self, block: Pfn) -> bool {
        let Some(bmt) = self.zone.pageblock_migratetype(block) else {
            return false;
        };
        let pb = self.pb();
        let head_buddy = match self.zone.page_state(block) {
            PageState::Free { order, .. } => Some(order),
            _ => None,
        };
        let async_ok = matches!(bmt, MigrateType::Movable | MigrateType::Cma);
        match self.rules {
            CompactionRules::V3_10 => {
                if matches!(bmt, MigrateType::Isolate | MigrateType::Reserve) {
                    return false;
                }
                head_buddy.is_some_and(|o| o >= pb) || async_ok
            }
            rules => {
                let limit = match (rules, self.cc.order) {
                    (CompactionRules::V6_18, Some(o)) if o > 0 => o,
                    _ => pb,
                };
                if head_buddy.is_some_and(|o| o >= limit) {
                    return false;
                }
                self.cc.ignore_block_suitable || async_ok
            }
        }
    }

    fn skip_hint(&self, pfn: Pfn) -> bool {
        !self.cc.ignore_skip_hint && self.zone.pageblock_skip(pfn)
    }

    fn set_skip(&mut self, pfn: Pfn) {
        if !self.cc.ignore_skip_hint {
            self.zone.set_pageblock_skip(pfn, true);
        }
    }

    /// Models `isolate_migratepages()` → `isolate_migratepages_block()`: from `migrate_pfn`,
    /// block by block below the free scanner, skipping blocks with the skip bit or of an
    /// unsuitable type, isolating order-0 movable pages until COMPACT_CLUSTER_MAX. A block
    /// scanned to its end with nothing isolated gets the skip bit and advances the cached
    /// migrate PFN (`update_pageblock_skip()`, `update_cached_migrate()`).
    fn isolate_migratepages(&mut self) {
        let pb = self.pb();
        let end = self.zone.end_pfn();
        while self.migratepages.is_empty() {
            let pfn = self.migrate_pfn;
            let block_start = (pfn >> pb) << pb;
            let block_end = (block_start + (1 << pb)).min(end);
            if block_start >= self.free_pfn || pfn >= end {
                return;
            }
            if pfn == block_start.max(self.zone.start_pfn) {
                self.block_isolated = 0;
                if self.skip_hint(pfn) || !self.suitable_source(pfn) {
                    self.migrate_pfn = block_end;
                    continue;
                }
            }
            // Async direct compaction gives up an order-aligned block at its first page that
            // cannot be isolated (`skip_on_failure`, 4.6+): the pages isolated from that block
            // are put back, since the cc->order buddy cannot form there anyway.
            let skip_order = self
                .cc
                .order
                .filter(|_| {
                    self.profile.compact_skip_on_failure
                        && self.cc.mode == MigrateMode::Async
                        && self.cc.compactor == Compactor::Direct
                })
                .map(|o| o.min(63));
            let block_end_of = |p: Pfn, o: u32| ((p >> o) + 1) << o;
            let mut next_skip = skip_order.map_or(Pfn::MAX, |o| block_end_of(pfn, o));
            let mut nr_isolated = 0usize;
            let mut p = pfn;
            while p < block_end && self.migratepages.len() < COMPACT_CLUSTER_MAX {
                if let Some(o) = skip_order {
                    if p >= next_skip {
                        if nr_isolated > 0 {
                            break;
                        }
                        next_skip = block_end_of(p, o);
                    }
                }
                // `nr_scanned` counts one per loop iteration: a free buddy is stepped over
                // whole (`low_pfn += (1 << buddy_order) - 1`), so it counts once; the pages
                // of an allocated block are visited one by one.
                let (step, scanned, isolated) = match self.zone.page_state(p) {
                    PageState::Free { order, .. } => (1u64 << order, 1, None),
                    PageState::Allocated {
                        order: 0, owner, ..
                    } if owner.is_movable() => (1, 1, Some(true)),
                    PageState::Allocated { order, .. } if skip_order.is_none() => {
                        (1 << order, 1 << order, Some(false))
                    }
                    _ => (1, 1, Some(false)),
                };
                self.stats.migrate_scanned += scanned.min(block_end - p);
                match isolated {
                    Some(true) => {
                        self.migratepages.push(p);
                        nr_isolated += 1;
                    }
                    // isolate_fail: with skip_on_failure, put back and jump to the next
                    // order-aligned block.
                    Some(false) if skip_order.is_some() => {
                        let keep = self.migratepages.len() - nr_isolated;
                        self.migratepages.truncate(keep);
                        nr_isolated = 0;
                        if p < next_skip {
                            p = next_skip;
                            next_skip = next_skip.saturating_add(1 << skip_order.unwrap_or(0));
                            continue;
                        }
                    }
                    _ => {}
                }
                p += step;
            }
            let isolated = self.migratepages.len() as u64;
            self.block_isolated += isolated;
            self.stats.isolated += isolated;
            self.migrate_pfn = p.min(block_end);
            if self.migrate_pfn >= block_end {
                if self.block_isolated == 0 {
                    self.set_skip(block_start.max(self.zone.start_pfn));
                }
                if !self.cc.ignore_skip_hint {
                    let i = self.sync_idx();
                    let c = &mut self.state.cached_migrate_pfn;
                    c[0] = c[0].max(block_end);
                    c[i] = c[i].max(block_end);
                }
            }
        }
    }

    /// Models `isolate_freepages()` → `isolate_freepages_block()`: from `free_pfn` down, block
    /// by block above the migration scanner, isolating every free page of suitable blocks
    /// (`split_free_page()` / `__isolate_free_page()` with their order-0 watermark gate, then
    /// `split_page()`), until there are at least as many free pages as pages to migrate.
    fn isolate_freepages(&mut self, want: usize) {
        let pb = self.pb();
        let low = ((self.migrate_pfn >> pb) + 1) << pb;
        let w = self.zone.watermarks;
        while self.freepages.len() < want {
            let block = self.free_pfn;
            if block < low
                || block < self.zone.start_pfn && block + (1 << pb) <= self.zone.start_pfn
            {
                return;
            }
            let start = block.max(self.zone.start_pfn);
            let end = (block + (1 << pb)).min(self.zone.end_pfn());
            let mut isolated = 0u64;
            if !self.skip_hint(start) && self.suitable_target(start) {
                // A pageblock without free pages isolates nothing: the walk would only count
                // its pages as scanned.
                let mut p = if self.zone.pageblock_free_pages(start) == 0 {
                    self.stats.free_scanned += end - start;
                    end
                } else {
                    start
                };
                while p < end {
                    let step = match self.zone.page_state(p) {
                        PageState::Free { order, .. } => {
                            let (gate, flags) = match self.rules {
                                CompactionRules::V3_10 | CompactionRules::Rhel7 => {
                                    (w.mark(Wmark::Low) + (1 << order), AllocFlags::default())
                                }
                                _ => (w.mark(Wmark::Min) + (1 << order), AllocFlags::CMA),
                            };
                            if zone_watermark_ok(self.profile, self.zone, 0, gate, 0, flags)
                                && self.zone.isolate_free_page(p, ISOLATED).is_ok()
                                && self.zone.split_page(p).is_ok()
                            {
                                for q in p..p + (1 << order) {
                                    self.freepages.push(q);
                                }
                                isolated += 1 << order;
                            }
                            1u64 << order
                        }
                        PageState::Allocated { order, .. } => 1 << order,
                        _ => 1,
                    };
                    self.stats.free_scanned += step.min(end - p);
                    p += step;
                }
                if isolated == 0 {
                    self.set_skip(start);
                }
            }
            self.stats.isolated += isolated;
            match block.checked_sub(1 << pb) {
                Some(next) => self.free_pfn = next,
                None => {
                    self.free_pfn = 0;
                    return;
                }
            }
            if !self.cc.ignore_skip_hint {
                self.state.cached_free_pfn = self.state.cached_free_pfn.min(self.free_pfn);
            }
        }
    }

    /// Models `migrate_pages()` with `compaction_alloc()`: each isolated page goes to a free
    /// page from the free scanner; pages left without a target are put back
    /// (`putback_movable_pages()`). Returns false on -ENOMEM.
    fn migrate(&mut self) -> bool {
        let pages = std::mem::take(&mut self.migratepages);
        for (i, &src) in pages.iter().enumerate() {
            if self.freepages.is_empty() {
                self.isolate_freepages(pages.len() - i);
            }
            let Some(dst) = self.freepages.pop() else {
                self.zone.events.pgmigrate_fail += (pages.len() - i) as u64;
                return false;
            };
            if migrate_page(self.zone, self.lru, src, dst).is_ok() {
                self.stats.migrated += 1;
            } else {
                self.freepages.push(dst);
            }
        }
        true
    }

    /// Models `release_freepages()`: unused free pages go back to the buddy allocator.
    fn release_freepages(&mut self) {
        for p in std::mem::take(&mut self.freepages) {
            let _ = self.zone.free(p, 0);
        }
    }
}

/// The pages-per-order fragmentation score of a zone (0..100): the share of free memory in
/// blocks below `COMPACTION_HPAGE_ORDER` (the pageblock order on x86-64). Models
/// `fragmentation_score_zone()` (5.9+).
pub fn fragmentation_score_zone(profile: &Profile, zone: &Zone) -> u32 {
    extfrag_for_order(profile, zone, profile.pageblock_order)
}

/// Runs compaction on one zone. For an order-N request the zone must first pass
/// [`compaction_suitable`] (otherwise its verdict is returned as SKIPPED or SUCCESS); then the
/// scanners start at the cached positions (or the zone ends with `whole_zone`), after clearing
/// the skip bits if the deferral has run its course (`compaction_restarting()`, not from
/// kswapd), and batches are isolated and migrated until [`CompactResult`] is not CONTINUE.
/// Free pages the run did not use go back to the buddy allocator, and the per-cpu pages freed
/// by migration are drained (`drain_local_pages()`). Counts `compact_migrate_scanned`,
/// `compact_free_scanned` and `compact_isolated` in the zone. Models `compact_zone()`
/// (mm/compaction.c).
pub fn compact_zone(
    profile: &Profile,
    zone: &mut Zone,
    lru: &mut Lru,
    state: &mut CompactState,
    cc: CompactControl<'_>,
) -> (CompactResult, CompactStats) {
    let rules = profile.compaction;
    if let Some(order) = cc.order {
        let w = zone.watermarks;
        let s = compaction_suitable(
            profile,
            &*zone,
            Some(order),
            &w,
            cc.lowmem_reserve,
            cc.alloc_flags,
            cc.extfrag_threshold,
        );
        match s {
            Suitability::Partial { .. } | Suitability::Success { .. } => {
                return (CompactResult::Success, CompactStats::default())
            }
            s if !s.proceeds() => return (CompactResult::Skipped, CompactStats::default()),
            _ => {}
        }
        if state.compaction_restarting(order) && cc.compactor != Compactor::Kswapd {
            reset_isolation_suitable(zone, state);
        }
    }
    let sync = usize::from(rules != CompactionRules::V3_10 && cc.mode != MigrateMode::Async);
    let (mut migrate_pfn, mut free_pfn) = (state.cached_migrate_pfn[sync], state.cached_free_pfn);
    if cc.whole_zone || !zone.spans(migrate_pfn) {
        migrate_pfn = zone.start_pfn;
    }
    if cc.whole_zone || !zone.spans(free_pfn) {
        free_pfn = last_block_start(zone);
    }
    let from_start = migrate_pfn == zone.start_pfn;
    let mut run = Run {
        zone,
        lru,
        state,
        profile,
        rules,
        cc,
        from_start,
        migrate_pfn,
        free_pfn,
        migratepages: Vec::with_capacity(COMPACT_CLUSTER_MAX),
        freepages: Vec::new(),
        block_isolated: 0,
        stats: CompactStats::default(),
    };
    let result = loop {
        let r = run.finished();
        if r != CompactResult::Continue {
            break r;
        }
        run.isolate_migratepages();
        if run.migratepages.is_empty() {
            continue;
        }
        if !run.migrate() && !run.scanners_met() {
            break match rules {
                CompactionRules::V3_10 | CompactionRules::Rhel7 => CompactResult::Success,
                _ => CompactResult::Contended,
            };
        }
        // Stop if a page has been captured (5.1+).
        if run.zone.capture.is_some_and(|c| c.page.is_some()) {
            break CompactResult::Success;
        }
    };
    run.release_freepages();
    if result != CompactResult::Complete && result != CompactResult::PartialSkipped {
        // Only go back, not forward (`compact_zone()` out:).
        let free = run.free_pfn;
        if !run.cc.ignore_skip_hint && free > run.state.cached_free_pfn {
            run.state.cached_free_pfn = free;
        }
    }
    let stats = run.stats;
    let zone = run.zone;
    zone.drain_local_pcp();
    zone.events.compact_migrate_scanned += stats.migrate_scanned;
    zone.events.compact_free_scanned += stats.free_scanned;
    zone.events.compact_isolated += stats.isolated;
    (result, stats)
}

/// One zone of direct compaction. Models `compact_zone_order()`: from 5.1
/// (`Profile::compaction_capture`) the zone's capture slot is set for the run, a block captured
/// is returned with the result forced to COMPACT_SUCCESS ("helps in properly accounting the
/// COMPACT[STALL|FAIL]"), and the slot is cleared.
fn compact_zone_order(
    profile: &Profile,
    zone: &mut Zone,
    lru: &mut Lru,
    state: &mut CompactState,
    cc: CompactControl<'_>,
) -> (CompactResult, CompactStats, Option<Pfn>) {
    zone.capture = match (profile.compaction_capture, cc.order) {
        (CompactionCapture::None, _) | (_, None) => None,
        (rule, Some(order)) => Some(CaptureControl {
            rule,
            order,
            migratetype: cc.migratetype,
            page: None,
        }),
    };
    let (result, stats) = compact_zone(profile, zone, lru, state, cc);
    let captured = zone.capture.take().and_then(|c| c.page);
    match captured {
        Some(pfn) => (CompactResult::Success, stats, Some(pfn)),
        None => (result, stats, None),
    }
}

// ---------------------------------------------------------------------------------------------
// Callers: compact_memory, direct compaction, kcompactd, proactive compaction.

/// One zone's outcome in a node-wide run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ZoneCompaction {
    pub zone: ZoneType,
    pub result: CompactResult,
    pub stats: CompactStats,
}

/// A write of 1 to `/proc/sys/vm/compact_memory` (or the node's `compact` file): order −1 on
/// every populated zone of the node, never deferred, skip hints ignored; 3.10 from the cached
/// positions in SYNC_LIGHT, 4.x+ over the whole zone in MIGRATE_SYNC. Models `compact_node()` →
/// `__compact_pgdat()` (3.10) / `compact_zone()` (4.x+).
pub fn compact_memory(profile: &Profile, node: &mut Node, mm: &mut NodeMm) -> Vec<ZoneCompaction> {
    let cc = CompactControl::compact_memory(profile.compaction, &mm.extfrag_threshold);
    let mut out = Vec::new();
    for (i, zone) in node.zones.iter_mut().enumerate() {
        if zone.managed == 0 {
            continue;
        }
        let (result, stats) = compact_zone(profile, zone, &mut mm.lru[i], &mut mm.compact[i], cc);
        out.push(ZoneCompaction {
            zone: zone.zone_type,
            result,
            stats,
        });
    }
    out
}

/// What direct compaction did, for the slow path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CompactOutcome {
    /// Per zone tried, in zonelist order.
    pub zones: Vec<ZoneCompaction>,
    /// The max over the zones (`try_to_compact_pages()`'s return value).
    pub result: CompactResult,
    /// `compact_stall` was counted (the slow path then counts compact_success/fail).
    pub stalled: bool,
    /// Some zone of the zonelist now passes the watermark check at the order with the
    /// caller's flags, or a block was captured: the allocation that follows would find a page.
    pub page_available: bool,
    /// The block `compaction_capture()` took for the requester (5.1+): the zone (index into
    /// the node's zones) and its PFN, allocated at the request's order and type to the
    /// compaction's placeholder owner until the slow path hands it over.
    pub captured: Option<(usize, Pfn)>,
    /// The preferred zone (index into the node's zones), the order and the priority asked.
    pub preferred: usize,
    pub order: u32,
    pub prio: CompactPriority,
}

/// Direct compaction for an order-`order` request over `zonelist` (indices into `node.zones`,
/// preferred zone first). Models `try_to_compact_pages()` with the deferral and stall
/// accounting of `__alloc_pages_direct_compact()`:
/// * 3.10: the preferred zone's `compaction_deferred()` stops it first (DEFERRED); it needs
///   `__GFP_FS` and `__GFP_IO`; `compact_stall` is counted before any zone; each zone is
///   compacted and the walk stops once a zone meets `low` at the order.
/// * 4.x+: it needs `__GFP_IO`; each zone is skipped while deferred (unless SYNC_FULL);
///   SUCCESS resets the zone's deferral (`compaction_defer_reset(zone, order, false)`) and
///   stops; a non-async COMPLETE / PARTIAL_SKIPPED defers the zone; an async CONTENDED stops
///   the walk; `compact_stall` is counted only if the result is better than DEFERRED.
/// * 5.1+: each zone runs through [`compact_zone_order`]; a captured block makes the zone's
///   result SUCCESS and comes back in [`CompactOutcome::captured`].
///
/// Follow with [`direct_compaction_done`] once the allocation was retried.
#[allow(clippy::too_many_arguments)]
pub fn try_to_compact_pages(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    zonelist: &[usize],
    order: u32,
    gfp: &GfpFlags,
    alloc_flags: AllocFlags,
    prio: CompactPriority,
) -> CompactOutcome {
    let rules = profile.compaction;
    let extfrag_threshold = &mm.extfrag_threshold;
    let mt = if gfp.movable && !gfp.reclaimable {
        MigrateType::Movable
    } else if gfp.reclaimable && !gfp.movable {
        MigrateType::Reclaimable
    } else {
        MigrateType::Unmovable
    };
    let mut out = CompactOutcome {
        zones: Vec::new(),
        result: CompactResult::Skipped,
        stalled: false,
        page_available: false,
        captured: None,
        preferred: zonelist.first().copied().unwrap_or(0),
        order,
        prio,
    };
    let Some(&preferred) = zonelist.first() else {
        return out;
    };
    let classzone = node.zones[preferred].zone_type;
    let v3 = rules.v3();
    if order == 0 || !gfp.io || (v3 && !gfp.fs) {
        return out;
    }
    if v3 && mm.compact[preferred].compaction_deferred(order) {
        out.result = CompactResult::Deferred;
        return out;
    }
    if v3 {
        node.zones[preferred].events.compact_stall += 1;
        out.stalled = true;
    }
    for &i in zonelist {
        let zone = &mut node.zones[i];
        let zt = zone.zone_type;
        let push = |out: &mut CompactOutcome, result: CompactResult, stats: CompactStats| {
            if result.rank(rules) > out.result.rank(rules) {
                out.result = result;
            }
            out.zones.push(ZoneCompaction {
                zone: zt,
                result,
                stats,
            });
        };
        if !v3 && prio > CompactPriority::SyncFull && mm.compact[i].compaction_deferred(order) {
            push(&mut out, CompactResult::Deferred, CompactStats::default());
            continue;
        }
        let cc = CompactControl::direct(
            rules,
            order,
            mt,
            prio,
            alloc_flags,
            zone.reserve_for(classzone),
            extfrag_threshold,
        );
        let (result, stats, captured) =
            compact_zone_order(profile, zone, &mut mm.lru[i], &mut mm.compact[i], cc);
        push(&mut out, result, stats);
        if let Some(pfn) = captured {
            out.captured = Some((i, pfn));
        }
        if v3 {
            let low = zone.watermarks.mark(Wmark::Low);
            if zone_watermark_ok(profile, &*zone, order, low, 0, alloc_flags) {
                break;
            }
            continue;
        }
        if result == CompactResult::Success {
            mm.compact[i].compaction_defer_reset(order, false);
            break;
        }
        if prio != CompactPriority::Async
            && matches!(
                result,
                CompactResult::Complete | CompactResult::PartialSkipped
            )
        {
            mm.compact[i].defer_compaction(order);
        }
        if prio == CompactPriority::Async && result == CompactResult::Contended {
            break;
        }
    }
    if !v3 && direct_compaction_ran(profile, out.result) {
        node.zones[preferred].events.compact_stall += 1;
        out.stalled = true;
    }
    out.page_available = out.captured.is_some()
        || zonelist.iter().any(|&i| {
            let z = &node.zones[i];
            let mark = z.watermarks.mark(alloc_flags.wmark());
            zone_watermark_ok(
                profile,
                z,
                order,
                mark,
                z.reserve_for(classzone),
                alloc_flags,
            )
        });
    out
}

/// Whether `__alloc_pages_direct_compact()` (4.x+) goes on after `try_to_compact_pages()`
/// returned `result`: counts a stall and retries the allocation. Per
/// `Profile::compact_stall`: 4.x stops for results up to COMPACT_DEFERRED, 5.12+ only for
/// COMPACT_SKIPPED.
pub fn direct_compaction_ran(profile: &Profile, result: CompactResult) -> bool {
    let rules = profile.compaction;
    let floor = match profile.compact_stall {
        CompactStallRule::AboveDeferred => CompactResult::Deferred,
        CompactStallRule::AboveSkipped => CompactResult::Skipped,
    };
    result.rank(rules) > floor.rank(rules)
}

/// The end of `__alloc_pages_direct_compact()` after the allocation was retried: if compaction
/// stalled, count `compact_success` and reset the deferral of the zone the page came from
/// (`allocated_from`, an index into `node.zones`; 3.10 resets the preferred zone), or count
/// `compact_fail` and, on 3.10 after a sync run, defer the preferred zone.
pub fn direct_compaction_done(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    outcome: &CompactOutcome,
    allocated_from: Option<usize>,
) {
    let (preferred, order, prio) = (outcome.preferred, outcome.order, outcome.prio);
    if !outcome.stalled || preferred >= node.zones.len() {
        return;
    }
    let v3 = profile.compaction.v3();
    match allocated_from {
        Some(i) => {
            let z = if v3 { preferred } else { i };
            mm.compact[z].compaction_defer_reset(order, true);
            node.zones[preferred].events.compact_success += 1;
        }
        None => {
            node.zones[preferred].events.compact_fail += 1;
            if v3 && prio != CompactPriority::Async {
                mm.compact[preferred].defer_compaction(order);
            }
        }
    }
}

/// The zone as it would be with `available` free pages (free plus what reclaim could free).
pub(crate) struct WithAvailable<'a> {
    pub(crate) zone: &'a Zone,
    pub(crate) available: u64,
}

impl FreeArea for WithAvailable<'_> {
    fn free_pages(&self) -> u64 {
        self.available
    }
    fn nr_free(&self, order: u32) -> u64 {
        self.zone.nr_free(order)
    }
    fn has_free(&self, order: u32, mt: MigrateType) -> bool {
        self.zone.has_free(order, mt)
    }
    fn free_cma(&self) -> u64 {
        self.zone.free_cma()
    }
    fn nr_reserved_highatomic(&self) -> u64 {
        self.zone.nr_reserved_highatomic()
    }
}

/// Whether reclaim could make compaction worth retrying (4.7+ `should_compact_retry()` after a
/// SKIPPED result): some zone of `zonelist` would pass the suitability gates with its
/// reclaimable LRU pages / order added to its free pages (`available = reclaimable/order +
/// free`); the fragmentation index is not consulted. Models `compaction_zonelist_suitable()`.
pub fn compaction_zonelist_suitable(
    profile: &Profile,
    node: &Node,
    mm: &NodeMm,
    zonelist: &[usize],
    order: u32,
    alloc_flags: AllocFlags,
) -> bool {
    let Some(classzone) = zonelist.first().map(|&i| node.zones[i].zone_type) else {
        return false;
    };
    zonelist.iter().any(|&i| {
        let zone = &node.zones[i];
        let lru = &mm.lru[i];
        let reclaimable = lru.len(crate::mm::vmscan::LruType::File)
            + if mm.swap.free_pages() > 0 {
                lru.len(crate::mm::vmscan::LruType::Anon)
            } else {
                0
            };
        let available = reclaimable / u64::from(order.max(1)) + zone.free_pages();
        let view = WithAvailable { zone, available };
        !matches!(
            compaction_suitable(
                profile,
                &view,
                Some(order),
                &zone.watermarks,
                zone.reserve_for(classzone),
                alloc_flags,
                &mm.extfrag_threshold,
            ),
            Suitability::Skipped { .. }
        )
    })
}

/// kcompactd's per-node state (`pgdat->kcompactd_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Kcompactd {
    /// `kcompactd_max_order`.
    pub max_order: u32,
    /// `kcompactd_highest_zoneidx` (an index into the node's zones).
    pub highest_zoneidx: usize,
    /// Woken and waiting for the engine to run [`kcompactd_do_work`].
    pub awake: bool,
    /// Proactive checks to skip after a run that did not lower the score (`proactive_defer`).
    pub proactive_defer: u32,
}

/// Models `kcompactd_node_suitable()`: some populated zone up to `highest` is COMPACT_CONTINUE
/// for the order with ALLOC_WMARK_MIN.
fn kcompactd_node_suitable(
    profile: &Profile,
    node: &Node,
    order: u32,
    highest: usize,
    extfrag_threshold: &ExtfragThreshold,
) -> bool {
    node.zones.iter().take(highest + 1).any(|z| {
        z.managed > 0
            && compaction_suitable(
                profile,
                z,
                Some(order),
                &z.watermarks,
                z.reserve_for(node.zones[highest].zone_type),
                AllocFlags::WMARK_MIN,
                extfrag_threshold,
            )
            .proceeds()
    })
}

/// Records an order-`order` wakeup for kcompactd and wakes it if it sleeps and the node is
/// suitable. Ignored for order 0 and on kernels without kcompactd. Returns whether it was
/// woken. Models `wakeup_kcompactd()` (4.6+).
pub fn wakeup_kcompactd(
    profile: &Profile,
    node: &Node,
    mm: &mut NodeMm,
    order: u32,
    highest_zoneidx: usize,
) -> bool {
    if !profile.kcompactd || order == 0 || node.zones.is_empty() {
        return false;
    }
    let highest = highest_zoneidx.min(node.zones.len() - 1);
    let k = &mut mm.kcompactd;
    if k.max_order < order {
        k.max_order = order;
    }
    if !k.awake || k.highest_zoneidx > highest {
        k.highest_zoneidx = if k.awake {
            k.highest_zoneidx.min(highest)
        } else {
            highest
        };
    }
    if k.awake || !kcompactd_node_suitable(profile, node, order, highest, &mm.extfrag_threshold) {
        return false;
    }
    k.awake = true;
    true
}

/// One kcompactd run for the recorded order: every populated zone up to the recorded index
/// that is not deferred and is suitable is compacted in SYNC_LIGHT; SUCCESS resets its
/// deferral, COMPLETE / PARTIAL_SKIPPED drains its per-cpu lists and defers it. Counts
/// `compact_daemon_wake` and the daemon's scanned pages. Then kcompactd sleeps with the order
/// cleared. Models `kcompactd_do_work()` (4.6+).
pub fn kcompactd_do_work(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
) -> Vec<ZoneCompaction> {
    let extfrag_threshold = &mm.extfrag_threshold;
    let order = mm.kcompactd.max_order;
    let highest = mm
        .kcompactd
        .highest_zoneidx
        .min(node.zones.len().saturating_sub(1));
    let mut out = Vec::new();
    if let Some(z) = node.zones.get_mut(highest) {
        z.events.compact_daemon_wake += 1;
    }
    let classzone = node.zones.get(highest).map(|z| z.zone_type);
    for i in 0..=highest.min(node.zones.len().saturating_sub(1)) {
        let zone = &mut node.zones[i];
        if zone.managed == 0 || order == 0 || mm.compact[i].compaction_deferred(order) {
            continue;
        }
        let reserve = classzone.map_or(0, |c| zone.reserve_for(c));
        let w = zone.watermarks;
        let s = compaction_suitable(
            profile,
            &*zone,
            Some(order),
            &w,
            reserve,
            AllocFlags::WMARK_MIN,
            extfrag_threshold,
        );
        if !s.proceeds() {
            continue;
        }
        let cc = CompactControl {
            order: Some(order),
            mode: MigrateMode::SyncLight,
            migratetype: MigrateType::Movable,
            whole_zone: false,
            ignore_skip_hint: false,
            ignore_block_suitable: false,
            alloc_flags: AllocFlags::WMARK_MIN,
            lowmem_reserve: reserve,
            compactor: Compactor::Kcompactd,
            extfrag_threshold,
            proactive_low: None,
            kswapd_running: false,
        };
        let (result, stats) = compact_zone(profile, zone, &mut mm.lru[i], &mut mm.compact[i], cc);
        zone.events.compact_daemon_migrate_scanned += stats.migrate_scanned;
        zone.events.compact_daemon_free_scanned += stats.free_scanned;
        match result {
            CompactResult::Success => mm.compact[i].compaction_defer_reset(order, false),
            CompactResult::Complete | CompactResult::PartialSkipped => {
                zone.drain_pcp();
                mm.compact[i].defer_compaction(order);
            }
            _ => {}
        }
        out.push(ZoneCompaction {
            zone: zone.zone_type,
            result,
            stats,
        });
    }
    let k = &mut mm.kcompactd;
    if k.max_order <= order {
        k.max_order = 0;
    }
    k.awake = false;
    out
}

/// The node's fragmentation score: the zones' scores weighted by present pages over
/// `node_present_pages + 1`. Models `fragmentation_score_node()` with
/// `fragmentation_score_zone_weighted()` (5.9+; 6.18 skips unpopulated zones, which weigh 0
/// anyway).
pub fn fragmentation_score_node(profile: &Profile, node: &Node) -> u32 {
    let present: u64 = node.zones.iter().map(|z| z.present).sum();
    node.zones
        .iter()
        .map(|z| z.present * u64::from(fragmentation_score_zone(profile, z)) / (present + 1))
        .sum::<u64>() as u32
}

/// `(low, high)` score thresholds for `compaction_proactiveness`. Models
/// `fragmentation_score_wmark()` per [`ProactiveRule`].
pub fn fragmentation_score_wmarks(rule: ProactiveRule, proactiveness: u32) -> (u32, u32) {
    let p = proactiveness.min(100);
    match rule {
        ProactiveRule::V5_9 => {
            let low = (100 - p).max(5);
            (low, (low + 10).min(100))
        }
        ProactiveRule::V6_18 => {
            let low = 100 - p;
            (low, (low + (low / 2).min(10)).min(100))
        }
    }
}

/// Proactive compaction's periodic check (every `HPAGE_FRAG_CHECK_INTERVAL_MSEC` = 500 ms on the
/// engine's clock): with proactiveness ≠ 0, kswapd asleep, no pending deferral and the node
/// score above the high threshold, every populated zone is compacted with order −1,
/// SYNC_LIGHT, whole zone, skip hints ignored, each stopping at its own score ≤ low; if the
/// node score did not fall, the next `1 << COMPACT_MAX_DEFER_SHIFT` checks are skipped. Counts
/// the daemon's scanned pages. `None` when nothing ran. Models `kcompactd()`'s timeout branch
/// with `should_proactive_compact_node()` and `proactive_compact_node()` (5.9+).
pub fn proactive_compaction(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    proactiveness: u32,
    kswapd_running: bool,
) -> Option<Vec<ZoneCompaction>> {
    let (rule, _) = profile.proactive?;
    if proactiveness == 0 || kswapd_running {
        return None;
    }
    if mm.kcompactd.proactive_defer > 0 {
        mm.kcompactd.proactive_defer -= 1;
        return None;
    }
    let (low, high) = fragmentation_score_wmarks(rule, proactiveness);
    let before = fragmentation_score_node(profile, node);
    if before <= high {
        return None;
    }
    let mut out = Vec::new();
    for (i, zone) in node.zones.iter_mut().enumerate() {
        if zone.managed == 0 {
            continue;
        }
        let cc = CompactControl {
            order: None,
            mode: MigrateMode::SyncLight,
            migratetype: MigrateType::Movable,
            whole_zone: true,
            ignore_skip_hint: true,
            ignore_block_suitable: false,
            alloc_flags: AllocFlags::WMARK_MIN,
            lowmem_reserve: 0,
            compactor: Compactor::Kcompactd,
            extfrag_threshold: &mm.extfrag_threshold,
            proactive_low: Some(low),
            kswapd_running,
        };
        let (result, stats) = compact_zone(profile, zone, &mut mm.lru[i], &mut mm.compact[i], cc);
        zone.events.compact_daemon_migrate_scanned += stats.migrate_scanned;
        zone.events.compact_daemon_free_scanned += stats.free_scanned;
        out.push(ZoneCompaction {
            zone: zone.zone_type,
            result,
            stats,
        });
    }
    if fragmentation_score_node(profile, node) >= before {
        mm.kcompactd.proactive_defer = 1 << COMPACT_MAX_DEFER_SHIFT;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile;
    use crate::mm::mmzone::MigrateType;
    use proptest::prelude::*;

    struct Counts(Vec<u64>);

    impl FreeArea for Counts {
        fn free_pages(&self) -> u64 {
            self.0.iter().enumerate().map(|(o, n)| n << o).sum()
        }
        fn nr_free(&self, order: u32) -> u64 {
            self.0.get(order as usize).copied().unwrap_or(0)
        }
        fn has_free(&self, order: u32, mt: MigrateType) -> bool {
            self.nr_free(order) > 0 && mt == MigrateType::Movable
        }
    }

    const W: Watermarks = Watermarks {
        min: 100,
        low: 125,
        high: 150,
        promo: 0,
        boost: 0,
    };

    fn suit(name: &str, zone: &Counts, order: u32, threshold: u32) -> Suitability {
        suit_at(name, zone, order, &ExtfragThreshold::new(threshold))
    }

    fn suit_at(name: &str, zone: &Counts, order: u32, t: &ExtfragThreshold) -> Suitability {
        compaction_suitable(
            profile(name).unwrap(),
            zone,
            Some(order),
            &W,
            0,
            AllocFlags::WMARK_MIN,
            t,
        )
    }

    #[test]
    fn compact_memory_always_continues() {
        let p = profile("3.10").unwrap();
        let empty = Counts(vec![]);
        let t = ExtfragThreshold::new(500);
        let s = compaction_suitable(p, &empty, None, &W, 0, AllocFlags::WMARK_MIN, &t);
        assert_eq!(s, Suitability::CompactMemory);
        assert!(s.proceeds());
        let s = compaction_suitable(p, &empty, Some(64), &W, 0, AllocFlags::WMARK_MIN, &t);
        assert_eq!(
            s,
            Suitability::NotSuitable {
                fragindex: 0,
                threshold: 500
            }
        );
    }

    #[test]
    fn order0_gate_skips_a_zone_short_of_free_pages() {
        // 3.10: low 125 + 2<<6 = 253; 250 free pages (order 0) are not enough.
        let zone = Counts(vec![250]);
        assert_eq!(
            suit("3.10", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
        // 4.9: costly uses low too; order 3 uses min: 100 + 16 = 116 < 250 → fragindex not
        // consulted for order 3 → CONTINUE.
        assert_eq!(
            suit("4.9", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
        assert_eq!(
            suit("4.9", &zone, 3, 500),
            Suitability::Continue { fragindex: None }
        );
        // 6.18: min + gap + (low − min) for costly, the same threshold.
        assert_eq!(
            suit("6.18", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
    }

    #[test]
    fn fragindex_only_above_order_3_from_4_9() {
        // 1000 order-0 pages, 300 order-2 blocks: for order 3, fragindex
        // = 1000 − (1000 + 2200·1000/8)/1300 = 1000 − 212 = 788; with threshold 800 it is NOT
        // suitable on 3.10 (every order) but CONTINUE on 4.9 (order 3 is not costly).
        let zone = Counts(vec![1000, 0, 300]);
        assert_eq!(
            suit("3.10", &zone, 3, 800),
            Suitability::NotSuitable {
                fragindex: 788,
                threshold: 800
            }
        );
        assert_eq!(
            suit("4.4", &zone, 3, 800),
            Suitability::NotSuitable {
                fragindex: 788,
                threshold: 800
            }
        );
        assert_eq!(
            suit("4.9", &zone, 3, 800),
            Suitability::Continue { fragindex: None }
        );
        assert_eq!(
            suit("6.18", &zone, 3, 800),
            Suitability::Continue { fragindex: None }
        );
        // Order 4 is costly: every version consults the index (1000 − (1000+137500)/1300 = 894).
        for name in ["3.10", "4.4", "4.9", "6.18"] {
            assert_eq!(
                suit(name, &zone, 4, 900),
                Suitability::NotSuitable {
                    fragindex: 894,
                    threshold: 900
                },
                "{name}"
            );
            assert_eq!(
                suit(name, &zone, 4, 500),
                Suitability::Continue {
                    fragindex: Some(894)
                },
                "{name}"
            );
        }
    }

    #[test]
    fn already_met_is_partial_before_4_9_and_success_after() {
        let zone = Counts(vec![1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(
            suit("3.10", &zone, 4, 500),
            Suitability::Partial { mark: 125 + 32 }
        );
        assert_eq!(
            suit("4.4", &zone, 4, 500),
            Suitability::Partial { mark: 125 }
        );
        assert_eq!(
            suit("4.9", &zone, 4, 500),
            Suitability::Success { mark: 100 }
        );
        assert_eq!(
            suit("6.18", &zone, 4, 500),
            Suitability::Success { mark: 100 }
        );
        assert_eq!(
            suit("6.18", &zone, 4, 500).compact_result(),
            "COMPACT_SUCCESS"
        );
    }

    /// 3.10's async direct compaction takes pages only from MOVABLE (or CMA) pageblocks
    /// (`migrate_async_suitable()`); sync-light takes every block.
    #[test]
    fn async_compaction_skips_unmovable_pageblocks_on_3_10() {
        use crate::mm::mmzone::{OwnerKind, ZoneSpec, ZoneType};
        use crate::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
        use crate::mm::page_alloc::pcp::PcpConfig;
        let p = profile("3.10").unwrap();
        let run = |prio: CompactPriority| {
            let spec =
                ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 16384, 16384, 16384).unwrap();
            let mut z = Zone::new(
                0,
                &spec,
                BuddyConfig::from_profile(p, 16384),
                PcpConfig::Off,
            )
            .unwrap();
            let mut lru = Lru::new();
            let mut all = Vec::new();
            while let Ok(q) = z.alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::File,
            ) {
                all.push(q);
            }
            let mut kept = Vec::new();
            for q in all {
                if q % 64 == 0 {
                    lru.add(&mut z, q).unwrap();
                    kept.push(q);
                } else {
                    z.free(q, 0).unwrap();
                }
            }
            // The lower half of the zone's pageblocks become UNMOVABLE.
            let lo = (z.start_pfn - z.base_pfn) as u32;
            for b in 0..16u32 {
                z.set_pageblock_mt(lo + (b << 9), MigrateType::Unmovable);
            }
            let mut st = CompactState::new(&z);
            let t = ExtfragThreshold::new(500);
            let cc = CompactControl::direct(
                CompactionRules::V3_10,
                10,
                MigrateType::Unmovable,
                prio,
                AllocFlags::WMARK_MIN,
                0,
                &t,
            );
            compact_zone(p, &mut z, &mut lru, &mut st, cc);
            crate::mm::check::check_zone(&z).unwrap();
            let half = z.start_pfn + 16 * 512;
            let moved_low = kept
                .iter()
                .filter(|&&q| q < half && !lru.contains(&z, q))
                .count();
            let moved_high = kept
                .iter()
                .filter(|&&q| q >= half && !lru.contains(&z, q))
                .count();
            (moved_low, moved_high)
        };
        let (low, high) = run(CompactPriority::Async);
        assert_eq!(low, 0, "async moved pages out of UNMOVABLE blocks");
        assert!(high > 0);
        let (low, _) = run(CompactPriority::SyncLight);
        assert!(low > 0, "sync-light did not take UNMOVABLE blocks");
    }

    /// 6.1's async direct compaction gives up an order-9 block at its first pinned page
    /// (`skip_on_failure`): the movable pages behind a pinned first page stay, and the block
    /// costs one scanned page; sync-light (no skip_on_failure) migrates them.
    #[test]
    fn async_direct_compaction_abandons_blocks_at_the_first_pinned_page() {
        use crate::mm::mmzone::{OwnerKind, ZoneSpec, ZoneType};
        use crate::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
        use crate::mm::page_alloc::pcp::PcpConfig;
        let p = profile("6.1").unwrap();
        assert!(p.compact_skip_on_failure);
        let run = |prio: CompactPriority| {
            let spec =
                ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 16384, 16384, 16384).unwrap();
            let mut z = Zone::new(
                0,
                &spec,
                BuddyConfig::from_profile(p, 16384),
                PcpConfig::Off,
            )
            .unwrap();
            let mut lru = Lru::new();
            let mut all = Vec::new();
            while let Ok(q) = z.alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::File,
            ) {
                all.push(q);
            }
            let half = z.start_pfn + 16 * 512;
            let mut kept = Vec::new();
            for q in all {
                if q < half && (q - z.start_pfn).is_multiple_of(512) {
                    z.set_owner(q, OwnerKind::Kernel).unwrap();
                } else if q % 8 == 0 {
                    lru.add(&mut z, q).unwrap();
                    kept.push(q);
                } else {
                    z.free(q, 0).unwrap();
                }
            }
            let mut st = CompactState::new(&z);
            let t = ExtfragThreshold::new(500);
            let cc = CompactControl::direct(
                p.compaction,
                9,
                MigrateType::Movable,
                prio,
                AllocFlags::WMARK_MIN,
                0,
                &t,
            );
            let (_, stats) = compact_zone(p, &mut z, &mut lru, &mut st, cc);
            crate::mm::check::check_zone(&z).unwrap();
            let moved_low = kept
                .iter()
                .filter(|&&q| q < half && !lru.contains(&z, q))
                .count();
            (moved_low, stats.migrate_scanned)
        };
        let (moved, scanned) = run(CompactPriority::Async);
        assert_eq!(
            moved, 0,
            "async migrated pages out of blocks with a pinned first page"
        );
        assert!(scanned <= 16 + 16 * 512, "{scanned}");
        let (moved, _) = run(CompactPriority::SyncLight);
        assert!(moved > 0, "sync-light did not migrate behind pinned pages");
    }

    /// `compaction_capture()`: only the request's order, never CMA / ISOLATE pageblocks, not
    /// MOVABLE pageblocks below pageblock order (6.1) unless the request is MOVABLE (6.18), and
    /// only the first block.
    #[test]
    fn capture_takes_one_block_of_the_order_outside_movable_pageblocks() {
        use CompactionCapture::{MovableForMovable, NotMovableBelowPageblock};
        use MigrateType::*;
        let capc = |rule, order, migratetype| CaptureControl {
            rule,
            order,
            migratetype,
            page: None,
        };
        for (rule, req, order, block_mt, taken) in [
            (NotMovableBelowPageblock, Unmovable, 6, Unmovable, true),
            (NotMovableBelowPageblock, Unmovable, 6, Reclaimable, true),
            (NotMovableBelowPageblock, Unmovable, 6, Movable, false),
            (NotMovableBelowPageblock, Movable, 6, Movable, false),
            (MovableForMovable, Movable, 6, Movable, true),
            (MovableForMovable, Unmovable, 6, Movable, false),
            (NotMovableBelowPageblock, Unmovable, 9, Movable, true),
            (NotMovableBelowPageblock, Unmovable, 9, Cma, false),
            (NotMovableBelowPageblock, Unmovable, 9, Isolate, false),
            (CompactionCapture::None, Unmovable, 9, Unmovable, false),
        ] {
            let mut c = capc(rule, order, req);
            assert_eq!(
                c.compaction_capture(0x1000, order, block_mt, 9),
                taken,
                "{rule:?} {req:?} order {order} in {block_mt:?}"
            );
            assert_eq!(c.page.is_some(), taken);
        }
        let mut c = capc(NotMovableBelowPageblock, 6, Unmovable);
        assert!(
            !c.compaction_capture(0x1000, 5, Unmovable, 9),
            "wrong order"
        );
        assert!(c.compaction_capture(0x1000, 6, Unmovable, 9));
        assert!(
            !c.compaction_capture(0x2000, 6, Unmovable, 9),
            "second block"
        );
        assert_eq!(c.page, Some(0x1000));
    }

    #[test]
    fn results_rank_and_name_as_each_kernel_orders_them() {
        use CompactResult::*;
        let v3 = CompactionRules::V3_10;
        let v4 = CompactionRules::V4_19;
        // 3.10: SKIPPED 0 < CONTINUE 1 < PARTIAL 2 < COMPLETE 3.
        assert!(Success.rank(v3) < Complete.rank(v3));
        assert_eq!(Success.name(v3), "COMPACT_PARTIAL");
        // 4.x+: ... COMPLETE < PARTIAL_SKIPPED < CONTENDED < SUCCESS.
        let order = [
            Skipped,
            Deferred,
            Continue,
            Complete,
            PartialSkipped,
            Contended,
            Success,
        ];
        assert!(order.windows(2).all(|w| w[0].rank(v4) < w[1].rank(v4)));
        assert_eq!(Success.name(v4), "COMPACT_SUCCESS");
    }

    proptest! {
        /// 3.10, costly order, a zone that passes the order-0 gate and has no block of the
        /// order: threshold 1000 rejects it whenever fragindex ≥ 0; threshold 0 only when the
        /// index is exactly 0.
        #[test]
        fn threshold_extremes_on_3_10(counts in proptest::collection::vec(0u64..3000, 4), order in 4u32..=10) {
            let mut c = counts;
            c[0] += 2000 + (2 << order);
            let zone = Counts(c);
            let fi = fragmentation_index(profile("3.10").unwrap(), &zone, order);
            let strict = suit("3.10", &zone, order, 1000);
            prop_assert_eq!(matches!(strict, Suitability::NotSuitable { .. }), fi >= 0);
            let lax = suit("3.10", &zone, order, 0);
            prop_assert_eq!(matches!(lax, Suitability::NotSuitable { .. }), fi == 0);
            prop_assert!(lax.proceeds() || fi == 0);
        }

        /// The recorded range is exact: a threshold inside it decides every one of a sequence
        /// of questions (zones and costly orders, some with a block of the order) as the
        /// recorded one did, a threshold outside it decides at least one differently.
        #[test]
        fn same_run_is_the_thresholds_that_decide_alike(
            asks in proptest::collection::vec((proptest::collection::vec(0u64..3000, 11), 4u32..=10), 1..20),
            t in 0u32..=1000,
            other in 0u32..=1000,
        ) {
            let decide = |th: &ExtfragThreshold| -> Vec<bool> {
                asks.iter()
                    .map(|(c, order)| {
                        let mut c = c.clone();
                        c[0] += 2000 + (2 << order);
                        suit_at("3.10", &Counts(c), *order, th).proceeds()
                    })
                    .collect()
            };
            let mine = ExtfragThreshold::new(t);
            let decided = decide(&mine);
            let r = mine.same_run();
            prop_assert!(r.contains(t));
            prop_assert_eq!(r.contains(other), decide(&ExtfragThreshold::new(other)) == decided);
        }
    }

    #[test]
    fn a_write_of_another_value_ends_the_record() {
        // fragindex 788 at order 3 (fragindex_only_above_order_3_from_4_9).
        let zone = Counts(vec![1000, 0, 300]);
        let mut t = ExtfragThreshold::new(500);
        assert!(suit_at("3.10", &zone, 3, &t).proceeds());
        let before = SameRun {
            min: 0,
            max: 787,
            decisions: 1,
        };
        assert_eq!(t.same_run(), before);
        // Writing the value it has keeps recording.
        t.write(500);
        assert!(suit_at("3.10", &zone, 3, &t).proceeds());
        assert_eq!(
            t.same_run(),
            SameRun {
                decisions: 2,
                ..before
            }
        );
        // Another value decides from now on, whatever the configured one was.
        t.write(900);
        assert!(!suit_at("3.10", &zone, 3, &t).proceeds());
        assert_eq!(t.value(), 900);
        assert_eq!(
            t.same_run(),
            SameRun {
                decisions: 2,
                ..before
            }
        );
    }
}
