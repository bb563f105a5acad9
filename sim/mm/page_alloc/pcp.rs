//! Per-cpu page lists (`struct per_cpu_pages`, mm/page_alloc.c; KERNEL_MM.md 6.10).
//!
//! Small allocations and frees go through a per-cpu cache of lists, one per MIGRATE_PCPTYPES
//! type (and, from 5.13, per order 0–3 and the THP order). An empty list is refilled with
//! `batch` blocks from the buddy lists (`rmqueue_bulk()`); a cache reaching `high` pages gives
//! some back (`free_pcppages_bulk()`). Pages on these lists are neither free (NR_FREE_PAGES,
//! buddyinfo and the watermarks do not see them) nor in use. The profile's [`PcpLists`] says
//! which orders the lists hold, how `high` is sized and how a bulk free picks its pages; the
//! caller chooses the configuration, "off" sends every block straight to the buddy lists.
//! From 6.7 each CPU's `high` moves at run time between `high_min` (the low watermark's share)
//! and `high_max` (an eighth of the zone's share): refills raise it, frees while the zone is
//! below its high watermark, under reclaim or after high-order frees lower it, and
//! [`Zone::decay_pcp_high`] takes an eighth off every second.

use std::collections::VecDeque;

use super::buddy::{AllocFailure, AllocOpts, BuddyConfig};
use crate::capture::Pageset;
use crate::kernel::profile::PcpLists;
use crate::mm::mmzone::{FreeArea, MigrateType, OwnerKind, PageInfo, Zone, ZoneType};

/// How the per-cpu lists are set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PcpConfig {
    /// No per-cpu lists: every block goes to and from the buddy lists.
    Off,
    /// `cpus` lists with the profile's `zone_batchsize()` batch and its `high`: `6 × batch`
    /// (`setup_pageset()`, 3.10 – 5.12), or from the low watermark (`zone_highsize()`, 5.14+;
    /// 6.7+ tuned between that and `high_max`).
    Kernel { cpus: u32 },
    /// `cpus` lists with a chosen batch and high (6.7+: a fixed high, as a
    /// `percpu_pagelist_high_fraction` gives, which turns the tuning off).
    Fixed { cpus: u32, batch: u32, high: u32 },
}

/// PAGE_ALLOC_COSTLY_ORDER: the highest order below the THP order the 5.13+ lists hold.
const COSTLY_ORDER: u32 = 3;

/// CONFIG_PCP_BATCH_SCALE_MAX (6.7+, default 5): how far `batch` may be scaled up by shifts.
const PCP_BATCH_SCALE_MAX: u32 = 5;

/// MIN_PERCPU_PAGELIST_HIGH_FRACTION (6.7+): `high_max` is this fraction of the zone's pages.
const HIGH_MAX_FRACTION: u64 = 8;

/// Models zone_batchsize() (3.10 – 6.x): `min(managed/1024, max)` pages / 4, at least 1, then
/// `rounddown_pow_of_two(b + b/2) − 1`, where `max` is 512 KiB of pages up to 4.18 (31 on any
/// zone above 512 MiB) and 1 MiB from 4.19 (63 above 1 GiB): `Profile::pcp_batch_max`.
pub fn zone_batchsize(managed: u64, max: u32) -> u32 {
    let b = (managed / 1024).min(u64::from(max)) / 4;
    let b = b.max(1);
    let x = b + b / 2;
    (1u32 << (63 - x.leading_zeros())) - 1
}

/// Models zone_highsize() (5.14+, `percpu_pagelist_high_fraction` 0): the zone's low watermark
/// split across the node's CPUs, at least `4 × batch`. 6.7+ `zone_set_pageset_high_and_batch()`
/// takes this as `high_min`, and the same split of `total` = managed / 8
/// (MIN_PERCPU_PAGELIST_HIGH_FRACTION) as `high_max`.
pub fn zone_highsize(total: u64, batch: u32, cpus: u32) -> u32 {
    let share = u32::try_from(total / u64::from(cpus.max(1))).unwrap_or(u32::MAX);
    share.max(batch << 2)
}

/// Models calculate_normal_threshold() (mm/vmstat.c, 3.10 – 6.x): how far a CPU's vmstat
/// counters may drift before they are folded into the zone's,
/// `2 × fls(cpus) × (1 + fls(managed / 128 MiB))`, at most 125.
pub fn stat_threshold(managed: u64, cpus: u32) -> u64 {
    let fls = |x: u64| u64::from(64 - x.leading_zeros());
    (2 * fls(u64::from(cpus)) * (1 + fls(managed >> (27 - 12)))).min(125)
}

/// Whether `mt` has a per-cpu list (types below MIGRATE_PCPTYPES).
pub fn is_pcp_type(mt: MigrateType) -> bool {
    matches!(
        mt,
        MigrateType::Unmovable | MigrateType::Movable | MigrateType::Reclaimable
    )
}

/// One CPU's lists, head first, indexed as `order_to_pindex()` does. The kernel links the
/// pages through `page->lru`; a ring of page offsets keeps the same order without touching the
/// pages' list links.
#[derive(Clone, Debug, Default)]
struct CpuLists {
    lists: Vec<VecDeque<u32>>,
    /// `pcp->count`: pages (not blocks) on the lists.
    count: u32,
    /// `pcp->free_factor` (5.14 – 6.6): frees in a row since the last allocation, as a shift.
    free_factor: u32,
    /// `pcp->high` (6.7+): this CPU's tuned high mark, brought within [`high_min`,
    /// `high_max`] whenever it is read (0 until the first use, as the kernel prints it).
    high: u32,
    /// `pcp->free_count` (6.7+): pages freed lately, halved by every allocation.
    free_count: u32,
    /// `pcp->alloc_factor` (6.7+): the order-0 refill's batch shift, halved by every free.
    alloc_factor: u32,
    /// PCPF_PREV_FREE_HIGH_ORDER (6.7+): the last free was of order 1–3.
    prev_free_high_order: bool,
}

/// The per-cpu lists of one zone.
#[derive(Clone, Debug)]
pub struct Pcp {
    cpus: Vec<CpuLists>,
    /// The CPU the simulated task runs on (`smp_processor_id()`), below `cpus.len()`: the
    /// lists `this_cpu_ptr(zone->per_cpu_pageset)` gives allocations and frees.
    current: usize,
    batch: u32,
    /// `pcp->high`, the same on every CPU (6.7+: `high_min`, each CPU tuning its own above it).
    high: u32,
    /// `pcp->high_max` (6.7+).
    high_max: u32,
    /// ZONE_BELOW_HIGH (6.7+): an allocation found the zone below its high watermark.
    below_high: bool,
    rules: PcpLists,
    /// `high` follows the low watermark (`zone_pcp_update()` from `setup_per_zone_wmarks()`).
    tracks_low: bool,
    /// ZONE_RECLAIM_ACTIVE (5.14+): kswapd is reclaiming the zone.
    reclaim_active: bool,
    thp_order: u32,
    /// MIGRATE_PCPTYPES in the kernel's enum order (the lists' order within an order).
    types: [MigrateType; 3],
}

impl Pcp {
    pub(crate) fn new(cfg: PcpConfig, managed: u64, buddy: &BuddyConfig) -> Pcp {
        let rules = buddy.pcp_lists;
        let (cpus, batch, high, high_max) = match cfg {
            PcpConfig::Off => (0, 0, 0, 0),
            PcpConfig::Kernel { cpus } => {
                let b = zone_batchsize(managed, buddy.pcp_batch_max).max(1);
                let high = match rules {
                    // setup_pageset(): high = 6 × batch (DMA: high 0, batch 1).
                    PcpLists::OrderZero => 6 * b,
                    // Until the watermarks are set: zone_highsize() of a zero low watermark.
                    _ => zone_highsize(0, b, cpus),
                };
                (
                    cpus,
                    b,
                    high,
                    zone_highsize(managed / HIGH_MAX_FRACTION, b, cpus),
                )
            }
            PcpConfig::Fixed { cpus, batch, high } => (cpus, batch.max(1), high, high),
        };
        let mut types = [
            MigrateType::Unmovable,
            MigrateType::Movable,
            MigrateType::Reclaimable,
        ];
        let mut it = buddy
            .migrate_types
            .iter()
            .copied()
            .filter(|&t| is_pcp_type(t));
        for t in types.iter_mut() {
            if let Some(k) = it.next() {
                *t = k;
            }
        }
        let nr_lists = match rules {
            PcpLists::OrderZero => 3,
            // 3 types × (orders 0–3 + the THP order).
            PcpLists::V5_13 => 15,
            // 3 types × orders 0–3, one THP list.
            PcpLists::V6_1 => 13,
            // 3 types × orders 0–3, a THP list for MOVABLE and one for the others.
            PcpLists::AutoTuned => 14,
        };
        // An order-0 list holds at most high + batch - 1 pages (a refill is only into an empty
        // list); the others stay small.
        let cap = (high + batch) as usize;
        let lists = (0..nr_lists)
            .map(|i| VecDeque::with_capacity(if i < 3 { cap } else { 0 }))
            .collect();
        Pcp {
            cpus: vec![
                CpuLists {
                    lists,
                    ..CpuLists::default()
                };
                cpus as usize
            ],
            high_max,
            below_high: false,
            current: 0,
            batch,
            high,
            rules,
            tracks_low: matches!(cfg, PcpConfig::Kernel { .. }) && rules != PcpLists::OrderZero,
            reclaim_active: false,
            thp_order: buddy.pageblock_order,
            types,
        }
    }

    pub fn enabled(&self) -> bool {
        !self.cpus.is_empty()
    }

    pub fn batch(&self) -> u32 {
        self.batch
    }

    pub fn high(&self) -> u32 {
        self.high
    }

    /// Pages on all per-cpu lists.
    pub fn count(&self) -> u64 {
        self.cpus.iter().map(|c| u64::from(c.count)).sum()
    }

    /// Whether a block of `order` goes through the lists (`pcp_allowed_order()`, 5.13+: orders
    /// up to PAGE_ALLOC_COSTLY_ORDER and the THP order; order 0 before).
    #[inline]
    pub(crate) fn allows(&self, order: u32) -> bool {
        self.enabled()
            && match self.rules {
                PcpLists::OrderZero => order == 0,
                PcpLists::V5_13 | PcpLists::V6_1 | PcpLists::AutoTuned => {
                    order <= COSTLY_ORDER || order == self.thp_order
                }
            }
    }

    /// Whether a request of type `mt` may use the lists: 5.13 – 6.1 `rmqueue()` keeps MOVABLE
    /// requests without ALLOC_CMA off them (CONFIG_CMA, on in distribution kernels).
    #[inline]
    pub(crate) fn serves(&self, mt: MigrateType, opts: AllocOpts) -> bool {
        is_pcp_type(mt)
            && (matches!(self.rules, PcpLists::OrderZero | PcpLists::AutoTuned)
                || opts.cma
                || mt != MigrateType::Movable)
    }

    /// Whether a zone whose list could not be refilled still tries the buddy lists (6.1+
    /// `rmqueue()` falls through to `rmqueue_buddy()`).
    pub(crate) fn falls_back_to_buddy(&self) -> bool {
        matches!(self.rules, PcpLists::V6_1 | PcpLists::AutoTuned)
    }

    /// Whether these are 6.7+ lists, whose `high` is tuned at run time (unless `high_min`
    /// equals `high_max`).
    pub fn tunes_high(&self) -> bool {
        self.rules == PcpLists::AutoTuned && self.enabled()
    }

    /// ZONE_BELOW_HIGH.
    pub fn below_high(&self) -> bool {
        self.below_high
    }

    /// Models zone_pcp_update() after the watermarks changed: 5.14+ lists take
    /// `zone_highsize()` of the new low watermark (6.7+: as `high_min`).
    pub(crate) fn update_high(&mut self, low: u64) {
        if self.tracks_low {
            self.high = zone_highsize(low, self.batch, self.cpus.len() as u32);
        }
    }

    /// The lists as zoneinfo prints them (`zoneinfo_show_print()`): one pageset per CPU with its
    /// count, high and batch, and the CPU's vmstat threshold for a zone of `managed` pages.
    /// 6.7+ print each CPU's own `high`, and 6.13+ the zone's `high_min` and `high_max`.
    pub fn pagesets(&self, managed: u64) -> Vec<Pageset> {
        let threshold = stat_threshold(managed, self.cpus.len() as u32);
        let tuned = self.rules == PcpLists::AutoTuned;
        self.cpus
            .iter()
            .zip(0..)
            .map(|(c, cpu)| Pageset {
                cpu,
                list: None,
                count: u64::from(c.count),
                high: u64::from(if tuned { c.high } else { self.high }),
                batch: u64::from(self.batch),
                high_min_max: tuned.then_some((u64::from(self.high), u64::from(self.high_max))),
                stat_threshold: Some(threshold),
            })
            .collect()
    }

    fn slot(&self, mt: MigrateType) -> usize {
        self.types.iter().position(|&t| t == mt).unwrap_or(1)
    }

    /// Models order_to_pindex(): the list of (`order`, type slot).
    fn pindex(&self, order: u32, slot: usize) -> usize {
        match self.rules {
            PcpLists::OrderZero => slot,
            _ if order <= COSTLY_ORDER => 3 * order as usize + slot,
            PcpLists::V5_13 => 12 + slot,
            PcpLists::V6_1 => 12,
            PcpLists::AutoTuned => 12 + usize::from(self.types[slot] == MigrateType::Movable),
        }
    }

    /// Models pindex_to_order().
    fn pindex_to_order(&self, pindex: usize) -> u32 {
        match pindex {
            0..=11 => pindex as u32 / 3,
            _ => self.thp_order,
        }
    }

    /// Models nr_pcp_high() of 5.14 – 6.6: `high`, cut to `4 × batch` while kswapd reclaims
    /// the zone, 0 when a high-order free in a row empties the lists (6.1 `free_high`).
    fn nr_pcp_high(&self, free_high: bool) -> u32 {
        if self.high == 0 || free_high {
            0
        } else if self.reclaim_active {
            (self.batch << 2).min(self.high)
        } else {
            self.high
        }
    }

    /// `pcp->high` of `cpu` brought within [`high_min`, `high_max`] (the clamp 6.7+
    /// `nr_pcp_alloc()` and `nr_pcp_high()` start with).
    fn clamp_high(&mut self, cpu: usize) -> u32 {
        let c = &mut self.cpus[cpu];
        c.high = kernel_clamp(c.high, self.high, self.high_max);
        c.high
    }

    /// Models nr_pcp_alloc() (6.7+): the blocks a refill of `order` takes. `batch` (order 0:
    /// scaled up by `alloc_factor`, which grows while the scaled batch fits below `high`);
    /// each refill raises `high` by that batch unless the zone is below its high watermark;
    /// above order 0 `max(batch >> order, 2)` blocks.
    fn nr_pcp_alloc(&mut self, cpu: usize, order: u32) -> u32 {
        let high = self.clamp_high(cpu);
        let batch = self.batch;
        if high < batch {
            return 1;
        }
        let c = &mut self.cpus[cpu];
        let mut b = if order == 0 {
            batch << c.alloc_factor
        } else {
            batch
        };
        let mut high = high;
        if self.high != self.high_max && !self.below_high {
            high = (high + b).min(self.high_max);
            c.high = high;
        }
        if order == 0 {
            let max_nr = (i64::from(high) - i64::from(c.count) - i64::from(batch))
                .max(i64::from(batch)) as u32;
            if b <= max_nr && c.alloc_factor < PCP_BATCH_SCALE_MAX {
                c.alloc_factor += 1;
            }
            b = b.min(max_nr);
        }
        if b > 1 {
            b = (b >> order).max(2);
        }
        b
    }

    /// Models nr_pcp_high() (6.7+): the count at which a free gives pages back, tuning `high`
    /// on the way: `free_high` lowers it by `batch << PCP_BATCH_SCALE_MAX` and gives everything
    /// back; under ZONE_RECLAIM_ACTIVE or ZONE_BELOW_HIGH it drops by the pages freed lately
    /// (at most `4 × batch` kept under reclaim; any count above `high_min` given back below
    /// high); otherwise a full cache raises it to hold the pages freed lately plus a batch.
    fn nr_pcp_high_tuned(&mut self, cpu: usize, free_high: bool) -> u32 {
        let high = self.clamp_high(cpu);
        let (min, max, batch) = (self.high, self.high_max, self.batch);
        let c = &mut self.cpus[cpu];
        if high == 0 {
            return 0;
        }
        if free_high {
            c.high = high.saturating_sub(batch << PCP_BATCH_SCALE_MAX).max(min);
            return 0;
        }
        let recent = c.free_count.max(batch);
        if self.reclaim_active {
            c.high = high.saturating_sub(recent).max(min);
            return (batch << 2).min(c.high);
        }
        if min == max {
            return high;
        }
        if self.below_high {
            c.high = high.saturating_sub(recent).max(min);
            return c.count.max(min);
        }
        if c.count >= high && c.high < c.free_count + batch {
            c.high = kernel_clamp(c.free_count + batch, min, max);
        }
        high
    }

    /// The heads on every list of every cpu (for the invariant checker).
    pub(crate) fn pages(&self) -> impl Iterator<Item = u32> + '_ {
        self.cpus
            .iter()
            .flat_map(|c| c.lists.iter().flat_map(|l| l.iter().copied()))
    }

    pub(crate) fn state_bytes(&self) -> usize {
        self.cpus
            .iter()
            .map(|c| {
                std::mem::size_of::<CpuLists>()
                    + c.lists
                        .iter()
                        .map(|l| std::mem::size_of::<VecDeque<u32>>() + l.capacity() * 4)
                        .sum::<usize>()
            })
            .sum()
    }
}

/// Models nr_pcp_free() (5.14 – 6.6): `batch` doubled for each free in a row (`free_factor`, which
/// grows while the result is below `high − batch`), kept within `[batch, high − batch]`; one
/// page when `high < batch`; the whole cache for 6.1's `free_high`.
fn nr_pcp_free(c: &mut CpuLists, high: u32, batch: u32, free_high: bool) -> u32 {
    if free_high {
        return c.count;
    }
    if high < batch {
        return 1;
    }
    let (min, max) = (u64::from(batch), u64::from(high - batch));
    let n = u64::from(batch) << c.free_factor.min(32);
    if n < max {
        c.free_factor += 1;
    }
    n.max(min).min(max) as u32
}

/// The kernel's `clamp(x, lo, hi)`: `min(max(x, lo), hi)`, so `hi` wins when `lo > hi` (a zone
/// whose low watermark exceeds an eighth of it gets `high_max` below `high_min`).
fn kernel_clamp(x: u32, lo: u32, hi: u32) -> u32 {
    x.max(lo).min(hi)
}

/// Models nr_pcp_free() (6.7+): `free_high` gives back up to `batch << PCP_BATCH_SCALE_MAX`
/// pages; otherwise the pages freed lately, kept within `[batch, high − batch]`; one page when
/// `high < batch`.
fn nr_pcp_free_tuned(c: &CpuLists, high: u32, batch: u32, free_high: bool) -> u32 {
    if free_high {
        return c.count.min(batch << PCP_BATCH_SCALE_MAX);
    }
    if high < batch {
        return 1;
    }
    c.free_count.max(batch).min(high - batch)
}

impl Zone {
    /// The zone's per-cpu lists.
    pub fn pcp(&self) -> &Pcp {
        &self.pcp
    }

    /// Models zone_pcp_update() at the end of `setup_per_zone_wmarks()` (5.14+): `high` from
    /// the new low watermark (`low_wmark_pages()`, whose boost the setup has just reset).
    pub fn zone_pcp_update(&mut self) {
        self.pcp.update_high(self.watermarks.low);
    }

    /// Takes a capture's per-cpu list sizes (zoneinfo `pagesets`: the first CPU's, the hot list
    /// of 2.6.16), which record what the kernel chose, over the formulas. Tuned (6.7+) lists
    /// take `high_min` and `high_max` where the capture prints them (6.13+); the `high` a
    /// 6.7 – 6.12 capture prints is one CPU's tuned value, so only its batch is taken.
    pub fn set_pcp_sizes(&mut self, sets: &[Pageset]) {
        let Some(p) = sets.iter().find(|p| p.list != Some(1)) else {
            return;
        };
        if !self.pcp.enabled() {
            return;
        }
        let pages = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        self.pcp.batch = pages(p.batch).max(1);
        match (self.pcp.rules, p.high_min_max) {
            (PcpLists::AutoTuned, Some((min, max))) => {
                self.pcp.high = pages(min);
                self.pcp.high_max = pages(max);
            }
            (PcpLists::AutoTuned, None) => {}
            _ => self.pcp.high = pages(p.high),
        }
    }

    /// Sets ZONE_RECLAIM_ACTIVE (`set_reclaim_active()` / `clear_reclaim_active()` around
    /// kswapd's `balance_pgdat()`, 5.14+): while set, 5.13+ lists keep at most `4 × batch`.
    pub fn set_reclaim_active(&mut self, on: bool) {
        self.pcp.reclaim_active = on;
    }

    /// Puts the simulated task on `cpu` (CPUs beyond the lists' count share them): later
    /// allocations and frees use that CPU's lists, as the kernel's do the running CPU's.
    pub fn set_cpu(&mut self, cpu: usize) {
        let n = self.pcp.cpus.len().max(1);
        self.pcp.current = cpu % n;
    }

    /// The CPU the simulated task runs on.
    pub fn cpu(&self) -> usize {
        self.pcp.current
    }

    /// Whether this zone's per-cpu lists hold blocks of `order` (when they are on).
    pub fn pcp_holds(&self, order: u32) -> bool {
        self.pcp.allows(order)
    }

    /// [`Zone::alloc`] of an order-0 block that is already on this CPU's list: the same pop,
    /// counters and page state (rmqueue_pcplist(); 3.10: buffered_rmqueue()), returning the
    /// block's offset. `None`, changing nothing, when the list is empty (a refill by
    /// rmqueue_bulk() would touch the buddy lists and their counters) or does not serve the
    /// request.
    #[inline]
    pub(crate) fn pcp_take(
        &mut self,
        mt: MigrateType,
        opts: AllocOpts,
        owner: OwnerKind,
    ) -> Option<u32> {
        let ready = self.pcp.allows(0)
            && self.pcp.serves(mt, opts)
            && !self.pcp.cpus[self.pcp.current].lists[self.pcp.pindex(0, self.pcp.slot(mt))]
                .is_empty();
        if !ready {
            return None;
        }
        let off = self.pcp_alloc(0, mt, opts).ok()?;
        self.mark_allocated(off, 0, mt, owner);
        Some(off)
    }

    /// Models the per-cpu branch of buffered_rmqueue() / rmqueue_pcplist(): take the hot block
    /// at the head of this cpu's list for (`order`, `mt`), refilling an empty list first with
    /// `batch` blocks from `__rmqueue()` (`rmqueue_bulk()`, which keeps them in allocation
    /// order; 5.13+: `max(batch >> order, 2)` blocks, and an allocation halves `free_factor`;
    /// 6.7+: [`Pcp::nr_pcp_alloc`] blocks, and an allocation halves `free_count`).
    pub(crate) fn pcp_alloc(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        let cpu = self.pcp.current;
        let idx = self.pcp.pindex(order, self.pcp.slot(mt));
        let rules = self.pcp.rules;
        match rules {
            PcpLists::OrderZero => {}
            PcpLists::V5_13 | PcpLists::V6_1 => self.pcp.cpus[cpu].free_factor >>= 1,
            PcpLists::AutoTuned => self.pcp.cpus[cpu].free_count >>= 1,
        }
        if self.pcp.cpus[cpu].lists[idx].is_empty() {
            let batch = self.pcp.batch;
            let blocks = match rules {
                PcpLists::OrderZero => batch,
                PcpLists::V5_13 | PcpLists::V6_1 if batch > 1 => (batch >> order).max(2),
                PcpLists::V5_13 | PcpLists::V6_1 => batch,
                PcpLists::AutoTuned => self.pcp.nr_pcp_alloc(cpu, order),
            };
            for _ in 0..blocks {
                let Ok(off) = self.rmqueue(order, mt, opts) else {
                    break;
                };
                let keep = if self.pageblock_mt(off) == MigrateType::Cma {
                    MigrateType::Cma
                } else {
                    mt
                };
                self.pages[off as usize].info = PageInfo::pcp(keep, order);
                let c = &mut self.pcp.cpus[cpu];
                c.lists[idx].push_back(off);
                c.count += 1 << order;
            }
        }
        let c = &mut self.pcp.cpus[cpu];
        let off = c.lists[idx]
            .pop_front()
            .ok_or(AllocFailure::NoBlockOfOrder {
                order,
                migratetype: mt,
            })?;
        c.count -= 1 << order;
        Ok(off)
    }

    /// Models free_hot_cold_page() / free_unref_page_commit() for a hot block: an ISOLATE
    /// block goes straight to the buddy lists; RESERVE, HIGHATOMIC and CMA blocks use the
    /// MOVABLE list but remember their own type; a cache reaching its high mark gives pages
    /// back (3.10: `batch`; 5.14+: [`nr_pcp_free`] of [`Pcp::nr_pcp_high`]).
    pub(crate) fn pcp_free(&mut self, off: u32, order: u32, mt: MigrateType) {
        if mt == MigrateType::Isolate {
            self.free_one_page(off, order, mt);
            return;
        }
        let cpu = self.pcp.current;
        let slot = self.pcp.slot(if is_pcp_type(mt) {
            mt
        } else {
            MigrateType::Movable
        });
        let idx = self.pcp.pindex(order, slot);
        self.pages[off as usize].info = PageInfo::pcp(mt, order);
        let (rules, batch) = (self.pcp.rules, self.pcp.batch);
        if rules == PcpLists::AutoTuned {
            self.pcp_free_tuned(cpu, off, order, idx);
            return;
        }
        let free_high = rules == PcpLists::V6_1
            && self.pcp.cpus[cpu].free_factor != 0
            && (1..=COSTLY_ORDER).contains(&order);
        let high = match rules {
            PcpLists::OrderZero => self.pcp.high,
            _ => self.pcp.nr_pcp_high(free_high),
        };
        let c = &mut self.pcp.cpus[cpu];
        c.lists[idx].push_front(off);
        c.count += 1 << order;
        if c.count >= high {
            let (count, first) = match rules {
                PcpLists::V5_13 => (nr_pcp_free(c, high, batch, free_high), 1),
                PcpLists::V6_1 => (nr_pcp_free(c, high, batch, free_high), idx),
                _ => (batch, 1),
            };
            self.free_pcppages_bulk(cpu, count, first);
        }
    }

    /// Models free_frozen_page_commit() (6.7+; free_unref_page_commit() before 6.14) for the
    /// block at `off` going on list `idx`: a free halves `alloc_factor` and counts in
    /// `free_count` (up to `batch << PCP_BATCH_SCALE_MAX`); an order 1–3 free right after
    /// another, with enough freed lately, is `free_high`. At [`Pcp::nr_pcp_high_tuned`] pages
    /// [`nr_pcp_free_tuned`] go back starting at `idx`, after which a zone back above its high
    /// watermark clears ZONE_BELOW_HIGH. PCPF_FREE_HIGH_BATCH is taken as set: a CPU's share of
    /// the last-level cache holds more than `3 × batch` pages, as on common servers.
    fn pcp_free_tuned(&mut self, cpu: usize, off: u32, order: u32, idx: usize) {
        let (batch, high_min) = (self.pcp.batch, self.pcp.high);
        let c = &mut self.pcp.cpus[cpu];
        c.alloc_factor >>= 1;
        c.lists[idx].push_front(off);
        c.count += 1 << order;
        let high_order = (1..=COSTLY_ORDER).contains(&order);
        let free_high = high_order
            && c.prev_free_high_order
            && c.free_count >= batch + high_min / 2
            && c.count >= batch;
        c.prev_free_high_order = high_order;
        if c.free_count < batch << PCP_BATCH_SCALE_MAX {
            c.free_count += 1 << order;
        }
        let high = self.pcp.nr_pcp_high_tuned(cpu, free_high);
        let c = &self.pcp.cpus[cpu];
        if c.count < high {
            return;
        }
        let count = nr_pcp_free_tuned(c, high, batch, free_high);
        self.free_pcppages_bulk(cpu, count, idx);
        if self.pcp.below_high && self.above_high_wmark() {
            self.pcp.below_high = false;
        }
    }

    /// `zone_watermark_ok(zone, 0, high_wmark_pages(zone), ZONE_MOVABLE, 0)` as 6.7+ frees ask
    /// it: at order 0 and without alloc flags, the free pages less the highatomic reserve and
    /// the free CMA pages (`__zone_watermark_unusable_free()`) above the boosted high mark
    /// plus `lowmem_reserve[ZONE_MOVABLE]` (the last entry when the profile has no MOVABLE).
    fn above_high_wmark(&self) -> bool {
        let movable = self.cfg.zones.iter().position(|&z| z == ZoneType::Movable);
        let reserve = movable
            .and_then(|i| self.lowmem_reserve.get(i))
            .or(self.lowmem_reserve.last())
            .copied()
            .unwrap_or(0);
        let unusable = self.nr_reserved_highatomic + FreeArea::free_cma(self);
        self.nr_free_pages.saturating_sub(unusable)
            > self.watermarks.high + self.watermarks.boost + reserve
    }

    /// Sets ZONE_BELOW_HIGH (6.7+ `get_page_from_freelist()`, when a zone fails the high
    /// watermark test).
    pub(crate) fn set_below_high(&mut self) {
        self.pcp.below_high = true;
    }

    /// Models decay_pcp_high() (6.7+), which refresh_cpu_vm_stats() runs on every CPU each
    /// second (`sysctl_stat_interval`): a `high` above `high_min` loses an eighth, but stays
    /// at least `count − (batch << PCP_BATCH_SCALE_MAX)` and `high_min`; pages above the
    /// result go back, from list 0 on. No-op for lists that are not tuned.
    pub fn decay_pcp_high(&mut self) {
        if !self.pcp.tunes_high() {
            return;
        }
        let (min, batch) = (self.pcp.high, self.pcp.batch);
        for cpu in 0..self.pcp.cpus.len() {
            let c = &mut self.pcp.cpus[cpu];
            if c.high > min {
                let floor = c.count.saturating_sub(batch << PCP_BATCH_SCALE_MAX);
                c.high = floor.max(c.high - (c.high >> 3)).max(min);
            }
            let to_drain = c.count.saturating_sub(c.high);
            if to_drain > 0 {
                self.free_pcppages_bulk(cpu, to_drain, 0);
            }
        }
    }

    /// Models free_pcppages_bulk(): up to `count` pages (a block counts its pages, so the
    /// last may overshoot) from the list tails, each freed with the type it remembered (6.10+:
    /// its pageblock's type now). 3.10 – 5.x go round-robin from list `first`, taking more
    /// from fuller lists (`batch_free`); 6.1+ start at the list just freed to (`first`) and
    /// empty each list in turn, skipping the empty ones.
    fn free_pcppages_bulk(&mut self, cpu: usize, count: u32, first: usize) {
        let n = self.pcp.cpus[cpu].lists.len();
        let mut to_free = i64::from(count.min(self.pcp.cpus[cpu].count));
        let round_robin = matches!(self.pcp.rules, PcpLists::OrderZero | PcpLists::V5_13);
        let block_type = self.pcp.rules == PcpLists::AutoTuned;
        let (mut lo, mut hi) = (0, n - 1);
        let mut pindex = first;
        let mut batch_free = 0i64;
        let mut first_pass = true;
        while to_free > 0 {
            // The list to take from: `first`, then on in turn past empty lists.
            loop {
                if !first_pass {
                    pindex = if pindex >= hi { lo } else { pindex + 1 };
                }
                first_pass = false;
                if round_robin {
                    batch_free += 1;
                }
                if !self.pcp.cpus[cpu].lists[pindex].is_empty() {
                    break;
                }
                if !round_robin {
                    if pindex == hi {
                        hi -= 1;
                    }
                    if pindex == lo {
                        lo += 1;
                    }
                }
            }
            if round_robin && batch_free == n as i64 {
                batch_free = to_free;
            }
            let order = self.pcp.pindex_to_order(pindex);
            while let Some(off) = self.pcp.cpus[cpu].lists[pindex].pop_back() {
                self.pcp.cpus[cpu].count -= 1 << order;
                let mt = if block_type {
                    self.pageblock_mt(off)
                } else {
                    self.pages[off as usize].info.mt()
                };
                self.free_one_page(off, order, mt);
                to_free -= 1 << order;
                batch_free -= 1;
                if to_free <= 0
                    || (round_robin && batch_free == 0)
                    || self.pcp.cpus[cpu].lists[pindex].is_empty()
                {
                    break;
                }
            }
        }
    }

    /// Models drain_all_pages() for this zone: every CPU's per-cpu pages go back to the buddy
    /// lists.
    pub fn drain_pcp(&mut self) {
        for cpu in 0..self.pcp.cpus.len() {
            self.drain_cpu(cpu);
        }
    }

    /// Models drain_local_pages() for this zone: the running CPU's pages only.
    pub fn drain_local_pcp(&mut self) {
        if self.pcp.enabled() {
            self.drain_cpu(self.pcp.current);
        }
    }

    /// Models drain_pages_zone(): `free_pcppages_bulk()` of the CPU's whole count (6.1 from
    /// list 0).
    fn drain_cpu(&mut self, cpu: usize) {
        let first = match self.pcp.rules {
            PcpLists::V6_1 | PcpLists::AutoTuned => 0,
            _ => 1,
        };
        let n = self.pcp.cpus[cpu].count;
        self.free_pcppages_bulk(cpu, n, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;
    use crate::mm::check::check_zone;
    use crate::mm::mmzone::{OwnerKind, PageState, Pfn, ZoneSpec, ZoneType};

    /// A 64 MiB Normal zone of `kernel` with one CPU's lists of batch 31 and the given high.
    fn zone(kernel: &str, high: u32) -> Zone {
        let pages = 16384;
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, pages, pages, pages).unwrap();
        let cfg = BuddyConfig::from_profile(profile(kernel).unwrap(), pages);
        let pcp = PcpConfig::Fixed {
            cpus: 1,
            batch: 31,
            high,
        };
        Zone::new(0, &spec, cfg, pcp).unwrap()
    }

    fn movable() -> AllocOpts {
        AllocOpts {
            cma: true,
            ..AllocOpts::default()
        }
    }

    fn alloc(z: &mut Zone, order: u32, mt: MigrateType) -> Pfn {
        z.alloc(order, mt, movable(), OwnerKind::Kernel).unwrap()
    }

    /// 5.13+: an order-2 request refills its list with `max(31 >> 2, 2)` = 7 blocks and takes
    /// the first; an order-9 (THP) request with 2; the per-cpu pages are not free. 3.10 sends
    /// both to the buddy lists.
    #[test]
    fn high_orders_refill_scaled_batches() {
        let mut z = zone("5.15", 4000);
        let free = z.nr_free_pages;
        alloc(&mut z, 2, MigrateType::Unmovable);
        assert_eq!(z.pcp.count(), 6 * 4);
        alloc(&mut z, 9, MigrateType::Movable);
        assert_eq!(z.pcp.count(), 6 * 4 + 512);
        assert_eq!(z.nr_free_pages, free - 7 * 4 - 2 * 512);
        check_zone(&z).unwrap();
        let mut old = zone("3.10", 186);
        alloc(&mut old, 2, MigrateType::Unmovable);
        alloc(&mut old, 9, MigrateType::Movable);
        assert_eq!(old.pcp.count(), 0);
    }

    /// 5.13+: a freed THP goes to the per-cpu list (not to buddyinfo) until the cache reaches
    /// `high`; then `nr_pcp_free()` asks for `batch` pages, and the round-robin from list 1
    /// reaches the MOVABLE THP list first: its tail, the THP freed first, goes back whole.
    #[test]
    fn a_freed_thp_stays_per_cpu_until_high() {
        let mut z = zone("5.15", 1040);
        let thp = alloc(&mut z, 9, MigrateType::Movable);
        let other = alloc(&mut z, 9, MigrateType::Movable);
        assert_eq!(z.pcp.count(), 0);
        z.free(thp, 9).unwrap();
        z.free(other, 9).unwrap();
        assert_eq!(z.pcp.count(), 1024);
        let pcp_thp = PageState::Pcp {
            order: 9,
            migratetype: MigrateType::Movable,
        };
        assert_eq!(z.page_state(thp), pcp_thp);
        check_zone(&z).unwrap();
        // An order-0 UNMOVABLE refill (31 pages) and its page's free tip the cache over 1040.
        let page = alloc(&mut z, 0, MigrateType::Unmovable);
        assert_eq!(z.pcp.count(), 1024 + 30);
        z.free(page, 0).unwrap();
        assert_eq!(z.pcp.count(), 1024 + 31 - 512);
        assert_eq!(z.page_state(other), pcp_thp);
        assert!(matches!(
            z.block_head(thp),
            Some((_, PageState::Free { order: 9.., .. }))
        ));
        check_zone(&z).unwrap();
    }

    /// nr_pcp_free() (5.14+): frees in a row give back batch, 2 × batch, 4 × batch … up to
    /// high − batch; an allocation halves the factor. ZONE_RECLAIM_ACTIVE cuts high to 4 × batch.
    #[test]
    fn frees_in_a_row_give_back_more_and_reclaim_keeps_the_lists_short() {
        let mut c = CpuLists::default();
        let got: Vec<u32> = (0..6)
            .map(|_| nr_pcp_free(&mut c, 1000, 31, false))
            .collect();
        assert_eq!(got, [31, 62, 124, 248, 496, 969]);
        assert_eq!(nr_pcp_free(&mut c, 20, 31, false), 1);
        let mut z = zone("5.15", 1000);
        assert_eq!(z.pcp.nr_pcp_high(false), 1000);
        z.set_reclaim_active(true);
        assert_eq!(z.pcp.nr_pcp_high(false), 124);
        // 3.10's lists ignore the flag: they keep 6 × batch.
        let mut old = zone("3.10", 186);
        old.set_reclaim_active(true);
        let pages: Vec<Pfn> = (0..185)
            .map(|_| alloc(&mut old, 0, MigrateType::Movable))
            .collect();
        for p in pages {
            old.free(p, 0).unwrap();
        }
        assert!(old.pcp.count() > 124, "{}", old.pcp.count());
    }

    /// 5.15 keeps a THP list per type (15 lists); 6.1 one THP list for all (13), and an order-1
    /// free right after another free empties the whole cache (`free_high`).
    #[test]
    fn six_one_shares_the_thp_list_and_frees_high_orders_at_once() {
        assert_eq!(zone("5.15", 1000).pcp.cpus[0].lists.len(), 15);
        let mut z = zone("6.1", 4000);
        assert_eq!(z.pcp.cpus[0].lists.len(), 13);
        let a = alloc(&mut z, 9, MigrateType::Movable);
        let b = alloc(&mut z, 9, MigrateType::Unmovable);
        assert_eq!(z.pcp.pindex(9, z.pcp.slot(MigrateType::Unmovable)), 12);
        let small: Vec<Pfn> = (0..4)
            .map(|_| alloc(&mut z, 1, MigrateType::Movable))
            .collect();
        z.free(a, 9).unwrap();
        z.free(b, 9).unwrap();
        assert!(z.pcp.count() >= 1024);
        // free_factor is 0 after the allocations: nothing goes back yet.
        z.free(small[0], 1).unwrap();
        let c = z.pcp.count();
        z.pcp.cpus[0].free_factor = 1;
        z.free(small[1], 1).unwrap();
        assert_eq!(z.pcp.count(), 0, "free_high empties the cache (had {c})");
        check_zone(&z).unwrap();
    }

    /// Each CPU has its own lists: a page freed on CPU 1 waits on CPU 1's list, where CPU 1's
    /// next allocation finds it while CPU 0 keeps its refill; a local drain empties only the
    /// running CPU's lists, and CPU numbers beyond the lists wrap around.
    #[test]
    fn each_cpu_allocates_from_and_frees_to_its_own_lists() {
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 16384, 16384, 16384).unwrap();
        let cfg = BuddyConfig::from_profile(profile("3.10").unwrap(), 16384);
        let pcp = PcpConfig::Fixed {
            cpus: 2,
            batch: 31,
            high: 186,
        };
        let mut z = Zone::new(0, &spec, cfg, pcp).unwrap();
        let counts = |z: &Zone| [z.pcp.cpus[0].count, z.pcp.cpus[1].count];
        let page = alloc(&mut z, 0, MigrateType::Movable);
        assert_eq!(counts(&z), [30, 0]);
        z.set_cpu(1);
        z.free(page, 0).unwrap();
        assert_eq!(counts(&z), [30, 1]);
        assert_eq!(alloc(&mut z, 0, MigrateType::Movable), page);
        assert_eq!(counts(&z), [30, 0]);
        z.free(page, 0).unwrap();
        z.set_cpu(5);
        assert_eq!(z.cpu(), 1);
        z.drain_local_pcp();
        assert_eq!(counts(&z), [30, 0]);
        z.drain_pcp();
        assert_eq!(counts(&z), [0, 0]);
        check_zone(&z).unwrap();
    }

    /// A 64 MiB Normal zone of 6.18 with one CPU's auto-tuned lists: batch 3 (zone_batchsize()
    /// of 16 384 pages), high_max 2048 (an eighth of the zone), high_min the `low` watermark.
    fn tuned_zone(low: u64) -> Zone {
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 16384, 16384, 16384).unwrap();
        let cfg = BuddyConfig::from_profile(profile("6.18").unwrap(), 16384);
        let mut z = Zone::new(0, &spec, cfg, PcpConfig::Kernel { cpus: 1 }).unwrap();
        z.watermarks.min = low / 2;
        z.watermarks.low = low;
        z.watermarks.high = low + low / 2;
        z.zone_pcp_update();
        let sets = z.pcp.pagesets(z.managed);
        assert_eq!(
            (sets[0].batch, sets[0].high_min_max),
            (3, Some((low, 2048)))
        );
        z
    }

    /// 6.7+ nr_pcp_alloc(): each refill raises the CPU's high by the batch it takes, and the
    /// order-0 batch doubles (alloc_factor) while it fits; 14 lists, THPs by movability.
    #[test]
    fn six_eighteen_refills_raise_high_and_scale_the_batch() {
        let mut z = tuned_zone(400);
        assert_eq!(z.pcp.cpus[0].lists.len(), 14);
        let (unmovable, movable) = (
            z.pcp.slot(MigrateType::Unmovable),
            z.pcp.slot(MigrateType::Movable),
        );
        assert_eq!(
            (z.pcp.pindex(9, unmovable), z.pcp.pindex(9, movable)),
            (12, 13)
        );
        let c = |z: &Zone| {
            (
                z.pcp.cpus[0].high,
                z.pcp.cpus[0].count,
                z.pcp.cpus[0].alloc_factor,
            )
        };
        assert_eq!(c(&z).0, 0, "high is 0 until first used");
        alloc(&mut z, 0, MigrateType::Movable);
        assert_eq!(c(&z), (403, 2, 1));
        alloc(&mut z, 0, MigrateType::Movable);
        alloc(&mut z, 0, MigrateType::Movable);
        alloc(&mut z, 0, MigrateType::Movable);
        assert_eq!(c(&z), (409, 5, 2));
        // A free halves alloc_factor and counts in free_count; below high nothing goes back.
        let p = alloc(&mut z, 0, MigrateType::Movable);
        z.free(p, 0).unwrap();
        assert_eq!((c(&z).1, c(&z).2, z.pcp.cpus[0].free_count), (5, 1, 1));
        check_zone(&z).unwrap();
    }

    /// [`tuned_zone`] after 600 order-0 allocations and frees of the first 450: its CPU's
    /// high raised well above high_min and the cache above it.
    fn tuned_zone_holding(low: u64) -> (Zone, Vec<Pfn>) {
        let mut z = tuned_zone(low);
        let pages: Vec<Pfn> = (0..600)
            .map(|_| alloc(&mut z, 0, MigrateType::Movable))
            .collect();
        for &p in &pages[..450] {
            z.free(p, 0).unwrap();
        }
        (z, pages)
    }

    /// 6.7+ decay_pcp_high(): every second a high above high_min loses an eighth, down to
    /// high_min; ZONE_BELOW_HIGH makes a free give back what is above high_min and lower high,
    /// and the flag clears once the zone is above its high watermark again.
    #[test]
    fn six_eighteen_decays_high_and_gives_back_below_the_high_watermark() {
        let (mut z, _) = tuned_zone_holding(400);
        let (high, count) = (z.pcp.cpus[0].high, z.pcp.cpus[0].count);
        assert!(high > 1000 && count > 400, "high {high}, count {count}");
        z.decay_pcp_high();
        assert_eq!(z.pcp.cpus[0].high, high - (high >> 3));
        for _ in 0..40 {
            z.decay_pcp_high();
        }
        assert_eq!(z.pcp.cpus[0].high, 400);
        assert!(z.pcp.cpus[0].count <= 400);
        check_zone(&z).unwrap();
        // Below the high watermark (as an allocation found it): the next free gives back
        // down to high_min and lowers high; the zone, far above its high mark (600 pages),
        // clears the flag.
        let (mut z, pages) = tuned_zone_holding(400);
        let before = z.pcp.cpus[0].count;
        assert!(before >= 400, "{before}");
        z.set_below_high();
        z.free(pages[450], 0).unwrap();
        assert!(
            z.pcp.cpus[0].count < before,
            "{before} -> {}",
            z.pcp.cpus[0].count
        );
        assert!(!z.pcp.below_high());
        check_zone(&z).unwrap();
    }

    /// 6.7+ free_high: an order 1–3 free after another, once at least batch + high_min / 2
    /// pages were freed lately (here 3 + 50, reached by the 28th order-1 free), gives back
    /// up to `batch << 5` pages and lowers high by as much. With high_min 400 the threshold (203)
    /// is above what free_count can reach (`batch << 5` = 96) and it never happens.
    #[test]
    fn six_eighteen_high_order_frees_in_a_row_give_back_a_scaled_batch() {
        for (low, first) in [(100, Some(28)), (400, None)] {
            let mut z = tuned_zone(low);
            let small: Vec<Pfn> = (0..60)
                .map(|_| alloc(&mut z, 1, MigrateType::Movable))
                .collect();
            let mut gave_back = None;
            for (i, &p) in small.iter().enumerate() {
                let (count, high) = (z.pcp.cpus[0].count, z.pcp.cpus[0].high);
                z.free(p, 1).unwrap();
                let c = &z.pcp.cpus[0];
                if c.count < count {
                    assert_eq!(c.count, (count + 2).saturating_sub(96), "free {}", i + 1);
                    assert_eq!(c.high, high.saturating_sub(96).max(low as u32));
                    gave_back = Some(i + 1);
                    break;
                }
            }
            assert_eq!(gave_back, first, "high_min {low}");
            check_zone(&z).unwrap();
        }
    }

    /// Draining gives every per-cpu block back whole, and the zone's free pages add up again.
    #[test]
    fn draining_returns_high_order_blocks_whole() {
        for kernel in ["5.15", "6.1"] {
            let mut z = zone(kernel, 100_000);
            let free = z.nr_free_pages;
            let blocks: Vec<(Pfn, u32)> = [0, 1, 2, 3, 9, 3, 0]
                .iter()
                .map(|&o| (alloc(&mut z, o, MigrateType::Movable), o))
                .collect();
            for (p, o) in blocks {
                z.free(p, o).unwrap();
            }
            assert!(z.pcp.count() > 0);
            z.drain_pcp();
            assert_eq!((z.pcp.count(), z.nr_free_pages), (0, free), "{kernel}");
            check_zone(&z).unwrap();
        }
    }
}
