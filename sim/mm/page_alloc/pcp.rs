//! Per-cpu page lists (`struct per_cpu_pages`, mm/page_alloc.c; KERNEL_MM.md 6.10).
//!
//! Small allocations and frees go through a per-cpu cache of lists, one per MIGRATE_PCPTYPES
//! type (and, from 5.13, per order 0–3 and the THP order). An empty list is refilled with
//! `batch` blocks from the buddy lists (`rmqueue_bulk()`); a cache reaching `high` pages gives
//! some back (`free_pcppages_bulk()`). Pages on these lists are neither free (NR_FREE_PAGES,
//! buddyinfo and the watermarks do not see them) nor in use. The profile's [`PcpLists`] says
//! which orders the lists hold, how `high` is sized and how a bulk free picks its pages; the
//! caller chooses the configuration, "off" sends every block straight to the buddy lists.

use std::collections::VecDeque;

use super::buddy::{AllocFailure, AllocOpts, BuddyConfig};
use crate::capture::Pageset;
use crate::kernel::profile::{PcpLists, Profile};
use crate::mm::mmzone::{MigrateType, PageInfo, Zone};

/// How the per-cpu lists are set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PcpConfig {
    /// No per-cpu lists: every block goes to and from the buddy lists.
    Off,
    /// `cpus` lists with the profile's `zone_batchsize()` batch and its `high`: `6 × batch`
    /// (`setup_pageset()`, 3.10 – 5.12), or from the low watermark (`zone_highsize()`, 5.14+).
    Kernel { cpus: u32 },
    /// `cpus` lists with a chosen batch and high.
    Fixed { cpus: u32, batch: u32, high: u32 },
}

impl PcpConfig {
    /// The lists of a simulated node with `cpus` CPUs: the kernel's sizes where the model has
    /// the profile's shape, none for [`PcpLists::AutoTuned`]. Allocations and frees go
    /// through the lists of the CPU the run has put the task on ([`Zone::set_cpu`]).
    pub fn for_run(profile: &Profile, cpus: u32) -> PcpConfig {
        match profile.pcp {
            PcpLists::AutoTuned => PcpConfig::Off,
            _ => PcpConfig::Kernel { cpus },
        }
    }
}

/// PAGE_ALLOC_COSTLY_ORDER: the highest order below the THP order the 5.13+ lists hold.
const COSTLY_ORDER: u32 = 3;

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
/// split across the node's CPUs, at least `4 × batch`.
pub fn zone_highsize(low: u64, batch: u32, cpus: u32) -> u32 {
    let share = u32::try_from(low / u64::from(cpus.max(1))).unwrap_or(u32::MAX);
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
#[derive(Clone, Debug)]
struct CpuLists {
    lists: Vec<VecDeque<u32>>,
    /// `pcp->count`: pages (not blocks) on the lists.
    count: u32,
    /// `pcp->free_factor` (5.14+): frees in a row since the last allocation, as a shift.
    free_factor: u32,
}

/// The per-cpu lists of one zone.
#[derive(Clone, Debug)]
pub struct Pcp {
    cpus: Vec<CpuLists>,
    /// The CPU the simulated task runs on (`smp_processor_id()`), below `cpus.len()`: the
    /// lists `this_cpu_ptr(zone->per_cpu_pageset)` gives allocations and frees.
    current: usize,
    batch: u32,
    high: u32,
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
        let (cpus, batch, high) = match cfg {
            PcpConfig::Off => (0, 0, 0),
            PcpConfig::Kernel { cpus } => {
                let b = zone_batchsize(managed, buddy.pcp_batch_max);
                let high = match rules {
                    // setup_pageset(): high = 6 × batch (DMA: high 0, batch 1).
                    PcpLists::OrderZero => 6 * b,
                    // Until the watermarks are set: zone_highsize() of a zero low watermark.
                    _ => zone_highsize(0, b.max(1), cpus),
                };
                (cpus, b.max(1), high)
            }
            PcpConfig::Fixed { cpus, batch, high } => (cpus, batch.max(1), high),
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
            PcpLists::OrderZero | PcpLists::AutoTuned => 3,
            // 3 types × (orders 0–3 + the THP order).
            PcpLists::V5_13 => 15,
            // 3 types × orders 0–3, one THP list.
            PcpLists::V6_1 => 13,
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
                    count: 0,
                    free_factor: 0,
                };
                cpus as usize
            ],
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
                PcpLists::OrderZero | PcpLists::AutoTuned => order == 0,
                PcpLists::V5_13 | PcpLists::V6_1 => {
                    order <= COSTLY_ORDER || order == self.thp_order
                }
            }
    }

    /// Whether a request of type `mt` may use the lists: 5.13+ `rmqueue()` keeps MOVABLE
    /// requests without ALLOC_CMA off them (CONFIG_CMA, on in distribution kernels).
    #[inline]
    pub(crate) fn serves(&self, mt: MigrateType, opts: AllocOpts) -> bool {
        is_pcp_type(mt)
            && (self.rules == PcpLists::OrderZero || opts.cma || mt != MigrateType::Movable)
    }

    /// Whether a zone whose list could not be refilled still tries the buddy lists (6.1's
    /// `rmqueue()` falls through to `rmqueue_buddy()`).
    pub(crate) fn falls_back_to_buddy(&self) -> bool {
        self.rules == PcpLists::V6_1
    }

    /// Models zone_pcp_update() after the watermarks changed: 5.14+ lists take
    /// `zone_highsize()` of the new low watermark.
    pub(crate) fn update_high(&mut self, low: u64) {
        if self.tracks_low {
            self.high = zone_highsize(low, self.batch, self.cpus.len() as u32);
        }
    }

    /// The lists as zoneinfo prints them (`zoneinfo_show_print()`): one pageset per CPU with its
    /// count, high and batch, and the CPU's vmstat threshold for a zone of `managed` pages.
    pub fn pagesets(&self, managed: u64) -> Vec<Pageset> {
        let threshold = stat_threshold(managed, self.cpus.len() as u32);
        self.cpus
            .iter()
            .zip(0..)
            .map(|(c, cpu)| Pageset {
                cpu,
                list: None,
                count: u64::from(c.count),
                high: u64::from(self.high),
                batch: u64::from(self.batch),
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
            PcpLists::OrderZero | PcpLists::AutoTuned => slot,
            _ if order <= COSTLY_ORDER => 3 * order as usize + slot,
            PcpLists::V5_13 => 12 + slot,
            PcpLists::V6_1 => 12,
        }
    }

    /// Models pindex_to_order().
    fn pindex_to_order(&self, pindex: usize) -> u32 {
        match pindex {
            0..=11 => pindex as u32 / 3,
            _ => self.thp_order,
        }
    }

    /// Models nr_pcp_high(): `high`, cut to `4 × batch` while kswapd reclaims the zone (5.14+),
    /// 0 when a high-order free in a row empties the lists (6.1 `free_high`).
    fn nr_pcp_high(&self, free_high: bool) -> u32 {
        if self.high == 0 || free_high {
            0
        } else if self.reclaim_active {
            (self.batch << 2).min(self.high)
        } else {
            self.high
        }
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

/// Models nr_pcp_free() (5.14+): `batch` doubled for each free in a row (`free_factor`, which
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
    /// of 2.6.16), which record what the kernel chose, over the formulas.
    pub fn set_pcp_sizes(&mut self, sets: &[Pageset]) {
        if let Some(p) = sets.iter().find(|p| p.list != Some(1)) {
            if self.pcp.enabled() {
                self.pcp.batch = u32::try_from(p.batch).unwrap_or(u32::MAX).max(1);
                self.pcp.high = u32::try_from(p.high).unwrap_or(u32::MAX);
            }
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

    /// Models the per-cpu branch of buffered_rmqueue() / rmqueue_pcplist(): take the hot block
    /// at the head of this cpu's list for (`order`, `mt`), refilling an empty list first with
    /// `batch` blocks from `__rmqueue()` (`rmqueue_bulk()`, which keeps them in allocation
    /// order; 5.13+: `max(batch >> order, 2)` blocks, and an allocation halves `free_factor`).
    pub(crate) fn pcp_alloc(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        let cpu = self.pcp.current;
        let idx = self.pcp.pindex(order, self.pcp.slot(mt));
        let mut batch = self.pcp.batch;
        if self.pcp.rules != PcpLists::OrderZero {
            self.pcp.cpus[cpu].free_factor >>= 1;
            if batch > 1 {
                batch = (batch >> order).max(2);
            }
        }
        if self.pcp.cpus[cpu].lists[idx].is_empty() {
            for _ in 0..batch {
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
        let free_high = rules == PcpLists::V6_1
            && self.pcp.cpus[cpu].free_factor != 0
            && (1..=COSTLY_ORDER).contains(&order);
        let high = match rules {
            PcpLists::OrderZero | PcpLists::AutoTuned => self.pcp.high,
            _ => self.pcp.nr_pcp_high(free_high),
        };
        let c = &mut self.pcp.cpus[cpu];
        c.lists[idx].push_front(off);
        c.count += 1 << order;
        if c.count >= high {
            let (count, first) = match rules {
                PcpLists::OrderZero | PcpLists::AutoTuned => (batch, 1),
                PcpLists::V5_13 => (nr_pcp_free(c, high, batch, free_high), 1),
                PcpLists::V6_1 => (nr_pcp_free(c, high, batch, free_high), idx),
            };
            self.free_pcppages_bulk(cpu, count, first);
        }
    }

    /// Models free_pcppages_bulk(): up to `count` pages (a block counts its pages, so the
    /// last may overshoot) from the list tails, each freed with the type it remembered.
    /// 3.10 – 5.x go round-robin from list `first`, taking more from fuller lists
    /// (`batch_free`); 6.1 starts at the list just freed to (`first`) and empties each list in
    /// turn, skipping the empty ones at either end of the range.
    fn free_pcppages_bulk(&mut self, cpu: usize, count: u32, first: usize) {
        let n = self.pcp.cpus[cpu].lists.len();
        let mut to_free = i64::from(count.min(self.pcp.cpus[cpu].count));
        let round_robin = self.pcp.rules != PcpLists::V6_1;
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
                let mt = self.pages[off as usize].info.mt();
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
        let first = if self.pcp.rules == PcpLists::V6_1 {
            0
        } else {
            1
        };
        let n = self.pcp.cpus[cpu].count;
        self.free_pcppages_bulk(cpu, n, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::{profile, PROFILES};
    use crate::mm::check::check_zone;
    use crate::mm::mmzone::{OwnerKind, PageState, Pfn, ZoneSpec, ZoneType};

    /// Runs keep per-cpu lists on every profile but 6.18 (auto-tuned `high`, not modelled).
    #[test]
    fn runs_have_per_cpu_lists_where_the_model_has_the_kernels_shape() {
        let without: Vec<&str> = PROFILES
            .iter()
            .filter(|p| PcpConfig::for_run(p, 4) == PcpConfig::Off)
            .map(|p| p.name)
            .collect();
        assert_eq!(without, ["6.18"]);
    }

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
        let mut c = CpuLists {
            lists: Vec::new(),
            count: 0,
            free_factor: 0,
        };
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
