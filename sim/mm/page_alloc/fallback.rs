//! Fallback: what the buddy allocator does when the requested migrate type's lists are empty
//! (mm/page_alloc.c, KERNEL_MM.md 6.5 – 6.9).
//!
//! Every kernel then takes a block from another type's list ("fallback"), and may "steal" the
//! whole pageblock around it: its free pages move to the requester's lists and, when enough of
//! the block is free (or alike), the pageblock changes type. Each kernel decides differently
//! which block to take (the largest first, or the smallest for movable requests), when to steal
//! and when to retype; the profile's `FallbackRules` picks the variant. The reserves live here
//! too: 3.10's MIGRATE_RESERVE blocks, used only when everything else failed, and 4.4+'s
//! HIGHATOMIC blocks, reserved on demand by high-order atomic allocations. From 5.0 a fallback
//! that breaks into another type's pageblock boosts the watermarks (`boost_watermark()`).

use super::buddy::{AllocFailure, AllocOpts};
use crate::kernel::profile::{FallbackRules, HighatomicLimit, ReserveKind};
use crate::mm::mmzone::{MigrateType, PageInfo, Zone, KIND_HOLE, KIND_RESERVED};

/// The fallback table (`fallbacks[]`, mm/page_alloc.c): which types' lists a request of `mt`
/// may take from, in order. 3.10 puts CMA first for MOVABLE (with CONFIG_CMA); 4.4+ reaches
/// CMA through ALLOC_CMA instead. The RESERVE terminator of 3.10 is handled by `__rmqueue()`.
pub fn fallbacks(rules: FallbackRules, mt: MigrateType) -> &'static [MigrateType] {
    use MigrateType::*;
    match (mt, rules) {
        (Unmovable, _) => &[Reclaimable, Movable],
        (Reclaimable, _) => &[Unmovable, Movable],
        (Movable, FallbackRules::V3_10) => &[Cma, Reclaimable, Unmovable],
        (Movable, _) => &[Reclaimable, Unmovable],
        _ => &[],
    }
}

/// Models mult_frac() (include/linux/kernel.h): `x * n / d` without overflow.
fn mult_frac(x: u64, n: u64, d: u64) -> u64 {
    (x / d) * n + (x % d) * n / d
}

impl Zone {
    /// Models __rmqueue() (mm/page_alloc.c) for the profile's fallback rules: the requested
    /// type's lists, then CMA and fallback, then (3.10) MIGRATE_RESERVE. The block is off the
    /// free lists and not yet marked allocated.
    #[inline]
    pub(crate) fn rmqueue(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        match self.rmqueue_smallest(order, mt) {
            Some(off) => Ok(off),
            None => self.rmqueue_fallback(order, mt, opts),
        }
    }

    /// Whether `rmqueue()` would hand out a block of `order` for `mt` from the buddy lists,
    /// without taking it: a free block of that order or above on the requested type's list or
    /// on a list its fallback may take from (every fallback rule takes any non-empty fallback
    /// list once ALLOC_NOFRAGMENT is dropped; CMA for movable requests that may use it; the
    /// MIGRATE_RESERVE lists where the type exists; the HIGHATOMIC lists for the requests that
    /// may use them). The per-cpu lists are not looked at.
    pub(crate) fn buddy_has_block(&self, order: u32, mt: MigrateType, opts: AllocOpts) -> bool {
        if order >= self.cfg.orders {
            return false;
        }
        let has = |t: MigrateType| u32::from(self.nonempty[t.index()]) >> order != 0;
        let cma = mt == MigrateType::Movable && opts.cma;
        let highatomic = self.cfg.reserve == ReserveKind::HighAtomic
            && order > 0
            && (opts.harder || opts.highatomic_last);
        has(mt)
            || fallbacks(self.cfg.fallback, mt).iter().any(|&t| has(t))
            || (cma && has(MigrateType::Cma))
            || (self.cfg.reserve.has_reserve_type() && has(MigrateType::Reserve))
            || (highatomic && has(MigrateType::HighAtomic))
    }

    /// The part of `__rmqueue()` after the requested type's lists came up empty.
    #[inline(never)]
    fn rmqueue_fallback(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        let fail = Err(AllocFailure::NoBlockOfOrder {
            order,
            migratetype: mt,
        });
        match self.cfg.fallback {
            FallbackRules::V3_10 => {
                if let Some(off) = self.rmqueue_fallback_3_10(order, mt) {
                    return Ok(off);
                }
                if self.cfg.reserve.has_reserve_type() && mt != MigrateType::Reserve {
                    if let Some(off) = self.rmqueue_smallest(order, MigrateType::Reserve) {
                        return Ok(off);
                    }
                }
                fail
            }
            FallbackRules::V4_4 => {
                if let Some(off) = self.rmqueue_cma_fallback(order, mt, opts) {
                    return Ok(off);
                }
                self.rmqueue_fallback_4_4(order, mt).map_or(fail, Ok)
            }
            FallbackRules::V4_13 => {
                if let Some(off) = self.rmqueue_cma_fallback(order, mt, opts) {
                    return Ok(off);
                }
                if self.rmqueue_fallback_4_13(order, mt, opts) {
                    if let Some(off) = self.rmqueue_smallest(order, mt) {
                        return Ok(off);
                    }
                }
                fail
            }
            FallbackRules::V6_18 => {
                if let Some(off) = self.rmqueue_cma_fallback(order, mt, opts) {
                    return Ok(off);
                }
                if let Some(off) = self.rmqueue_claim(order, mt, opts) {
                    return Ok(off);
                }
                if !opts.nofragment {
                    if let Some(off) = self.rmqueue_steal(order, mt) {
                        return Ok(off);
                    }
                }
                fail
            }
        }
    }

    /// Models __rmqueue_cma_fallback(): a movable request with ALLOC_CMA takes CMA blocks.
    fn rmqueue_cma_fallback(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Option<u32> {
        (mt == MigrateType::Movable && opts.cma)
            .then(|| self.rmqueue_smallest(order, MigrateType::Cma))
            .flatten()
    }

    /// Counts one `mm_page_alloc_extfrag` event: a fallback from `fallback_mt`'s list at
    /// `fallback_order` for a `start` request; "fragmenting" below pageblock order,
    /// "change_ownership" when the pageblock now has the requester's type.
    fn count_extfrag(&mut self, off: u32, fallback_order: u32, start: MigrateType) {
        self.events.extfrag_fallback += 1;
        if fallback_order < self.cfg.pageblock_order {
            self.events.extfrag_fragmenting += 1;
        }
        if self.pageblock_mt(off) == start {
            self.events.extfrag_change_ownership += 1;
        }
    }

    /// Models __rmqueue_fallback() of 3.10 – 4.3: from the **largest** order down, the first
    /// block on a fallback list. Unless it is CMA, the whole pageblock's free pages move to the
    /// requester (`move_freepages_block()`) when the block is of order ≥ pageblock_order/2, the
    /// request is RECLAIMABLE or grouping is disabled, and the pageblock takes the requester's
    /// type if that moved ≥ half a pageblock. So an UNMOVABLE request below order 4 does not
    /// steal. Blocks ≥ pageblock order retype every pageblock they cover; the remainder goes
    /// to the requester's lists (CMA remainders stay CMA).
    fn rmqueue_fallback_3_10(&mut self, order: u32, start: MigrateType) -> Option<u32> {
        let pb = self.cfg.pageblock_order;
        for o in (order..self.cfg.orders).rev() {
            for &fmt in fallbacks(FallbackRules::V3_10, start) {
                if !self.has_list(o, fmt) {
                    continue;
                }
                let off = self.first_free(o, fmt);
                let cma = fmt == MigrateType::Cma;
                if !cma
                    && (o >= pb / 2
                        || start == MigrateType::Reclaimable
                        || self.cfg.mobility_disabled)
                {
                    let moved = self.move_freepages_block(off, start).map_or(0, |m| m.0);
                    if moved >= u64::from(self.cfg.pageblock_nr_pages() / 2)
                        || self.cfg.mobility_disabled
                    {
                        self.set_pageblock_mt(off, start);
                    }
                }
                self.del_free(off);
                if o >= pb && !cma {
                    self.change_pageblock_range(off, o, start);
                }
                self.expand(off, order, o, if cma { fmt } else { start });
                self.count_extfrag(off, o, start);
                return Some(off);
            }
        }
        None
    }

    /// Models can_steal_fallback() (4.4 – 6.11): a fallback block of order `o` may take its
    /// pageblock if `o` ≥ pageblock_order/2, the request is UNMOVABLE or RECLAIMABLE, or
    /// grouping is disabled. Also should_try_claim_block() of 6.x, the same test.
    fn can_steal(&self, o: u32, start: MigrateType) -> bool {
        o >= self.cfg.pageblock_order / 2
            || matches!(start, MigrateType::Unmovable | MigrateType::Reclaimable)
            || self.cfg.mobility_disabled
    }

    fn has_list(&self, o: u32, mt: MigrateType) -> bool {
        self.nonempty[mt.index()] & (1 << o) != 0
    }

    /// Models find_suitable_fallback(): the first fallback type with a block at order `o`.
    fn find_suitable_fallback(&self, o: u32, start: MigrateType) -> Option<MigrateType> {
        if self.nr_free[o as usize] == 0 {
            return None;
        }
        fallbacks(self.cfg.fallback, start)
            .iter()
            .copied()
            .find(|&t| self.has_list(o, t))
    }

    /// Models __rmqueue_fallback() of 4.4 – 4.12: the largest fallback block; if it may steal
    /// (`can_steal_fallback()`), `steal_suitable_fallback()` retypes ≥ pageblock blocks or
    /// moves the pageblock's free pages and retypes it when they are ≥ half of it; then the
    /// block is split onto the requester's lists.
    fn rmqueue_fallback_4_4(&mut self, order: u32, start: MigrateType) -> Option<u32> {
        let pb = self.cfg.pageblock_order;
        for o in (order..self.cfg.orders).rev() {
            let Some(fmt) = self.find_suitable_fallback(o, start) else {
                continue;
            };
            let off = self.first_free(o, fmt);
            if self.can_steal(o, start) && self.pageblock_mt(off) != MigrateType::HighAtomic {
                if o >= pb {
                    self.change_pageblock_range(off, o, start);
                } else {
                    let moved = self.move_freepages_block(off, start).map_or(0, |m| m.0);
                    if moved >= u64::from(self.cfg.pageblock_nr_pages() / 2)
                        || self.cfg.mobility_disabled
                    {
                        self.set_pageblock_mt(off, start);
                    }
                }
            }
            self.del_free(off);
            self.expand(off, order, o, start);
            self.count_extfrag(off, o, start);
            return Some(off);
        }
        None
    }

    /// Models __rmqueue_fallback() of 4.13 – 6.11: the largest fallback block (from
    /// pageblock order with ALLOC_NOFRAGMENT); a movable request that cannot steal takes the
    /// **smallest** fallback block instead. `steal_suitable_fallback()` then moves the block
    /// (or its whole pageblock) to the requester's lists, and `__rmqueue()` retries
    /// `__rmqueue_smallest()`. Returns whether anything moved.
    fn rmqueue_fallback_4_13(&mut self, order: u32, start: MigrateType, opts: AllocOpts) -> bool {
        // 5.x lowers min_order to pageblock_order even for larger requests; a request above
        // pageblock order is kept at its own order (as 6.x's `order < pageblock_order` test does).
        let min_order = if opts.nofragment {
            order.max(self.cfg.pageblock_order)
        } else {
            order
        };
        let top = self.cfg.orders;
        let Some((mut o, mut fmt)) = (min_order..top)
            .rev()
            .find_map(|o| self.find_suitable_fallback(o, start).map(|f| (o, f)))
        else {
            return false;
        };
        let mut can_steal = self.can_steal(o, start);
        if !can_steal && start == MigrateType::Movable && o > order {
            if let Some((o2, f2)) =
                (order..top).find_map(|o| self.find_suitable_fallback(o, start).map(|f| (o, f)))
            {
                (o, fmt) = (o2, f2);
                can_steal = self.can_steal(o, start);
            }
        }
        let off = self.first_free(o, fmt);
        self.steal_suitable_fallback(off, o, start, can_steal, opts);
        self.count_extfrag(off, o, start);
        true
    }

    /// Models steal_suitable_fallback() (4.13 – 6.11): a block in a HIGHATOMIC pageblock moves
    /// alone; a block ≥ pageblock order retypes its range and moves alone; otherwise (5.0+) the
    /// watermark is boosted and, when allowed to steal, the pageblock's free pages move to the
    /// requester and the pageblock is retyped if free + "alike" pages ≥ half of it. Alike pages
    /// are the movable ones for a MOVABLE request; for UNMOVABLE/RECLAIMABLE requests taking a
    /// MOVABLE block, all pages neither free nor movable; otherwise none.
    fn steal_suitable_fallback(
        &mut self,
        off: u32,
        o: u32,
        start: MigrateType,
        whole_block: bool,
        opts: AllocOpts,
    ) {
        let old = self.pageblock_mt(off);
        if old != MigrateType::HighAtomic {
            if o >= self.cfg.pageblock_order {
                self.change_pageblock_range(off, o, start);
            } else {
                self.boost_watermark(opts);
                if whole_block {
                    if let Some((free, movable)) = self.move_freepages_block(off, start) {
                        if free > 0 {
                            let alike = self.alike_pages(start, old, free, movable);
                            if free + alike >= u64::from(self.cfg.pageblock_nr_pages() / 2)
                                || self.cfg.mobility_disabled
                            {
                                self.set_pageblock_mt(off, start);
                            }
                            return;
                        }
                    }
                }
            }
        }
        self.move_free(off, start);
    }

    fn alike_pages(&self, start: MigrateType, block: MigrateType, free: u64, movable: u64) -> u64 {
        if start == MigrateType::Movable {
            movable
        } else if block == MigrateType::Movable {
            u64::from(self.cfg.pageblock_nr_pages()).saturating_sub(free + movable)
        } else {
            0
        }
    }

    /// Models __rmqueue_claim() (6.x): from the top order down (to pageblock order with
    /// ALLOC_NOFRAGMENT), stopping at the first order where `should_try_claim_block()` fails,
    /// try to claim the pageblock of the first fallback block (`try_to_claim_block()`).
    fn rmqueue_claim(&mut self, order: u32, start: MigrateType, opts: AllocOpts) -> Option<u32> {
        let pb = self.cfg.pageblock_order;
        let min_order = if order < pb && opts.nofragment {
            pb
        } else {
            order
        };
        for o in (min_order..self.cfg.orders).rev() {
            if !self.can_steal(o, start) {
                break;
            }
            let Some(fmt) = self.find_suitable_fallback(o, start) else {
                continue;
            };
            let off = self.first_free(o, fmt);
            if let Some(page) = self.try_to_claim_block(off, o, order, start, fmt, opts) {
                self.count_extfrag(page, o, start);
                return Some(page);
            }
        }
        None
    }

    /// Models try_to_claim_block() (6.x): a block ≥ pageblock order is taken whole and its
    /// range retyped; otherwise the watermark is boosted and, if free + alike pages ≥ half the
    /// pageblock, its free pages move to the requester, it is retyped and
    /// `__rmqueue_smallest()` runs again. Otherwise nothing is claimed.
    fn try_to_claim_block(
        &mut self,
        off: u32,
        o: u32,
        order: u32,
        start: MigrateType,
        block_type: MigrateType,
        opts: AllocOpts,
    ) -> Option<u32> {
        if o >= self.cfg.pageblock_order {
            self.del_free(off);
            self.change_pageblock_range(off, o, start);
            self.expand(off, order, o, start);
            return Some(off);
        }
        self.boost_watermark(opts);
        let (free, movable) = self.count_freepages_block(off)?;
        let alike = self.alike_pages(start, block_type, free, movable);
        if free + alike >= u64::from(self.cfg.pageblock_nr_pages() / 2)
            || self.cfg.mobility_disabled
        {
            self.move_freepages_block(off, start);
            self.set_pageblock_mt(off, start);
            return self.rmqueue_smallest(order, start);
        }
        None
    }

    /// Models __rmqueue_steal() (6.x): the **smallest** fallback block from `order` up, split
    /// onto the fallback type's own lists; the pageblock keeps its type.
    fn rmqueue_steal(&mut self, order: u32, start: MigrateType) -> Option<u32> {
        for o in order..self.cfg.orders {
            let Some(fmt) = self.find_suitable_fallback(o, start) else {
                continue;
            };
            let off = self.first_free(o, fmt);
            self.del_free(off);
            self.expand(off, order, o, fmt);
            self.count_extfrag(off, o, start);
            return Some(off);
        }
        None
    }

    /// Models boost_watermark() (5.0+): when `watermark_boost_factor` is set, the zone has at
    /// least 4 pageblocks and `max_boost = mult_frac(high, factor, 10000)` is non-zero, raise
    /// `watermark_boost` by a pageblock, capped at `max(max_boost, pageblock_nr_pages)`. With
    /// ALLOC_KSWAPD the zone is flagged ZONE_BOOSTED_WATERMARK.
    pub(crate) fn boost_watermark(&mut self, opts: AllocOpts) -> bool {
        let factor = u64::from(self.cfg.watermark_boost_factor);
        let nr = u64::from(self.cfg.pageblock_nr_pages());
        if factor == 0 || nr * 4 > self.managed {
            return false;
        }
        let max_boost = mult_frac(self.watermarks.high, factor, 10000);
        if max_boost == 0 {
            return false;
        }
        let max_boost = max_boost.max(nr);
        self.watermarks.boost = (self.watermarks.boost + nr).min(max_boost);
        if opts.kswapd {
            self.boosted_flag = true;
        }
        true
    }

    /// Models setup_zone_migrate_reserve() (3.10 – 4.3, called by `setup_per_zone_wmarks()`):
    /// `min(2, roundup(min_wmark, pageblock)/pageblock)` MOVABLE pageblocks, lowest first from
    /// the first pageblock boundary in the zone and skipping blocks with reserved pages or
    /// holes, become MIGRATE_RESERVE with their free pages; RESERVE blocks beyond the count go
    /// back to MOVABLE. Does nothing for profiles without MIGRATE_RESERVE, nor for those that
    /// have the type but set up no block ([`ReserveKind::MigrateReserveUnset`]).
    pub fn setup_zone_migrate_reserve(&mut self, min_wmark: u64) {
        if self.cfg.reserve != ReserveKind::MigrateReserve {
            return;
        }
        let nr = u64::from(self.cfg.pageblock_nr_pages());
        let mut reserve = (min_wmark.div_ceil(nr)).min(2);
        let mut pfn = self.start_pfn.div_ceil(nr) * nr;
        while pfn < self.end_pfn() {
            let off = (pfn - self.base_pfn) as u32;
            if self.pages[off as usize].info != PageInfo::HOLE {
                let mt = self.pageblock_mt(off);
                let block_end = ((pfn + nr).min(self.end_pfn()) - self.base_pfn) as u32;
                let mut retype = None;
                if reserve > 0 {
                    let has_reserved = (off..block_end).any(|i| {
                        matches!(
                            self.pages[i as usize].info.kind(),
                            KIND_RESERVED | KIND_HOLE
                        )
                    });
                    if !has_reserved && mt == MigrateType::Reserve {
                        reserve -= 1;
                    } else if !has_reserved && mt == MigrateType::Movable {
                        retype = Some(MigrateType::Reserve);
                        reserve -= 1;
                    }
                } else if mt == MigrateType::Reserve {
                    retype = Some(MigrateType::Movable);
                }
                if let Some(t) = retype {
                    self.set_pageblock_mt(off, t);
                    self.move_freepages_block(off, t);
                }
            }
            pfn += nr;
        }
    }

    /// Models reserve_highatomic_pageblock() (4.4+): after an ALLOC_HARDER order > 0
    /// allocation, its pageblock becomes HIGHATOMIC with its free pages, unless the zone
    /// already reserves its limit or the block is HIGHATOMIC, CMA or ISOLATE. The limit is
    /// `managed/100 + pageblock_nr_pages` (4.4 – 6.11) or `ALIGN(managed/100, pageblock)`
    /// (6.x, which also takes a whole ≥ pageblock allocation's range).
    pub(crate) fn reserve_highatomic_pageblock(&mut self, off: u32, order: u32) {
        let nr = u64::from(self.cfg.pageblock_nr_pages());
        let v6 = self.cfg.highatomic_limit == HighatomicLimit::AlignedPercent;
        let max = if v6 {
            (self.managed / 100).div_ceil(nr) * nr
        } else {
            self.managed / 100 + nr
        };
        if self.nr_reserved_highatomic >= max {
            return;
        }
        let mt = self.pageblock_mt(off);
        if matches!(
            mt,
            MigrateType::HighAtomic | MigrateType::Isolate | MigrateType::Cma
        ) {
            return;
        }
        if v6 && order >= self.cfg.pageblock_order {
            self.change_pageblock_range(off, order, MigrateType::HighAtomic);
            self.nr_reserved_highatomic += 1 << order;
            return;
        }
        if v6 && self.count_freepages_block(off).is_none() {
            return;
        }
        self.nr_reserved_highatomic += nr;
        self.set_pageblock_mt(off, MigrateType::HighAtomic);
        self.move_freepages_block(off, MigrateType::HighAtomic);
    }

    /// Models one zone of unreserve_highatomic_pageblock() (4.4+): unless `force`, a zone
    /// keeps its last reserved pageblock. Otherwise the first free HIGHATOMIC block of the
    /// lowest order has its pageblock returned to `mt` with its free pages. Returns whether
    /// free pages moved.
    pub fn unreserve_highatomic_pageblock(&mut self, mt: MigrateType, force: bool) -> bool {
        let nr = u64::from(self.cfg.pageblock_nr_pages());
        if !force && self.nr_reserved_highatomic <= nr {
            return false;
        }
        for o in 0..self.cfg.orders {
            if !self.has_list(o, MigrateType::HighAtomic) {
                continue;
            }
            let off = self.first_free(o, MigrateType::HighAtomic);
            if self.pageblock_mt(off) == MigrateType::HighAtomic {
                self.nr_reserved_highatomic -= nr.min(self.nr_reserved_highatomic);
            }
            self.set_pageblock_mt(off, mt);
            if self.move_freepages_block(off, mt).is_some_and(|m| m.0 > 0) {
                return true;
            }
        }
        false
    }
}
