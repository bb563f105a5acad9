//! The buddy allocator's free lists (mm/page_alloc.c).
//!
//! Free memory is kept as power-of-two blocks, aligned to their size, on one list per order and
//! migrate type (`zone->free_area[order].free_list[mt]`). Allocation takes the first block of
//! the smallest order that has one and splits it, handing the upper halves back (`expand()`);
//! freeing merges a block with its buddy (`pfn ^ (1 << order)`) while the buddy is free at the
//! same order (`__free_one_page()`). The lists are intrusive doubly linked lists over the
//! zone's page arrays, so every operation is O(1) per order and allocation-free; a bitmask per
//! migrate type of the non-empty orders makes the smallest-order search one instruction.

use crate::kernel::profile::{FallbackRules, HighatomicLimit, MergeRule, Profile, ReserveKind};
use crate::mm::mmzone::{
    Link, MigrateType, OwnerKind, PageInfo, Pfn, Zone, KIND_ALLOC, KIND_FREE, MAX_NR_ORDERS, NIL,
};

/// The buddy rules of one kernel, taken from its profile.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BuddyConfig {
    /// Number of orders (`MAX_ORDER` / `NR_PAGE_ORDERS`).
    pub orders: u32,
    pub pageblock_order: u32,
    /// The kernel's migrate types in its enum order (pagetypeinfo columns, pcp list order).
    pub migrate_types: &'static [MigrateType],
    pub fallback: FallbackRules,
    pub reserve: ReserveKind,
    /// `vm.watermark_boost_factor`; 0 disables `boost_watermark()`.
    pub watermark_boost_factor: u32,
    /// `page_group_by_mobility_disabled`: total pages < pageblock_nr_pages × MIGRATE_TYPES
    /// (`build_all_zonelists()`).
    pub mobility_disabled: bool,
    /// `move_to_free_list()` puts moved blocks at the list tail (5.10+, `list_move_tail`)
    /// rather than the head (`list_move` up to 5.9): `Profile::move_to_tail`.
    pub move_to_tail: bool,
    /// Which buddies `__free_one_page()` refuses to merge.
    pub merge: MergeRule,
    /// The highatomic reserve's cap (`reserve_highatomic_pageblock()`).
    pub highatomic_limit: HighatomicLimit,
    /// The configured zones (`Profile::zones`): the slots of `lowmem_reserve[]`.
    pub zones: &'static [crate::mm::mmzone::ZoneType],
    /// `zone_batchsize()`'s cap (`Profile::pcp_batch_max`).
    pub pcp_batch_max: u32,
    /// What the per-cpu lists hold and how they give pages back (`Profile::pcp`).
    pub pcp_lists: crate::kernel::profile::PcpLists,
}

impl BuddyConfig {
    /// The profile's rules on a machine with `total_pages` managed pages.
    pub fn from_profile(p: &Profile, total_pages: u64) -> BuddyConfig {
        BuddyConfig {
            orders: p.orders.min(MAX_NR_ORDERS as u32),
            pageblock_order: p.pageblock_order,
            migrate_types: p.migrate_types,
            fallback: p.fallback,
            reserve: p.reserve,
            watermark_boost_factor: p.watermark_boost_factor,
            mobility_disabled: total_pages
                < (1u64 << p.pageblock_order) * p.migrate_types.len() as u64,
            move_to_tail: p.move_to_tail,
            merge: p.merge,
            highatomic_limit: p.highatomic_limit,
            zones: p.zones,
            pcp_batch_max: p.pcp_batch_max,
            pcp_lists: p.pcp,
        }
    }

    pub fn pageblock_nr_pages(&self) -> u32 {
        1 << self.pageblock_order
    }
}

/// The `alloc_flags` bits the buddy level reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AllocOpts {
    /// ALLOC_HARDER (4.4 – 6.2) / ALLOC_HIGHATOMIC (6.3+): an order > 0 request tries the
    /// HIGHATOMIC free lists first and, on success, may reserve its pageblock.
    pub harder: bool,
    /// ALLOC_OOM or ALLOC_NON_BLOCK (6.3+): try the HIGHATOMIC lists after everything else.
    pub highatomic_last: bool,
    /// ALLOC_NOFRAGMENT (5.0+): do not split another type's pageblock below pageblock order.
    pub nofragment: bool,
    /// ALLOC_CMA: movable requests may use CMA pageblocks (`__rmqueue_cma_fallback()`); up to
    /// 4.19 every movable request tries CMA, so set it for every movable request there.
    pub cma: bool,
    /// ALLOC_KSWAPD: a watermark boost also flags the zone so kswapd is woken.
    pub kswapd: bool,
}

/// Why a zone could not hand out a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum AllocFailure {
    /// No free block of this order or above on any list the rules allow.
    #[error("no free block of order {order} for {migratetype}")]
    NoBlockOfOrder {
        order: u32,
        migratetype: MigrateType,
    },
    #[error("order {order} is above the largest order {max}")]
    OrderTooLarge { order: u32, max: u32 },
}

/// A free that does not match an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum FreeError {
    #[error("PFN {pfn:#x} is outside zone {zone}")]
    OutsideZone {
        pfn: Pfn,
        zone: crate::mm::mmzone::ZoneType,
    },
    #[error("PFN {pfn:#x} is not the head of an allocated block")]
    NotAllocated { pfn: Pfn },
    #[error("PFN {pfn:#x} was allocated at order {allocated}, freed at order {freed}")]
    WrongOrder {
        pfn: Pfn,
        allocated: u32,
        freed: u32,
    },
}

/// A page operation on a page in the wrong state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum PageError {
    #[error("PFN {pfn:#x} is outside zone {zone}")]
    OutsideZone {
        pfn: Pfn,
        zone: crate::mm::mmzone::ZoneType,
    },
    #[error("PFN {pfn:#x} is not the head of a free block")]
    NotFree { pfn: Pfn },
    #[error("PFN {pfn:#x} is not the head of an allocated block")]
    NotAllocated { pfn: Pfn },
}

#[inline]
fn list_idx(order: u32, mt: MigrateType) -> usize {
    order as usize * MigrateType::COUNT + mt.index()
}

impl Zone {
    /// Puts the free block at `off` on `free_list[order][mt]` (`add_to_free_list()` /
    /// `add_to_free_list_tail()`), marking it PageBuddy with its order.
    #[inline(always)]
    pub(crate) fn add_free(&mut self, off: u32, order: u32, mt: MigrateType, tail: bool) {
        let i = list_idx(order, mt);
        let l = self.lists[i];
        if l.head == NIL {
            self.pages[off as usize].link = Link {
                next: NIL,
                prev: NIL,
            };
            self.lists[i] = crate::mm::mmzone::ListHead {
                head: off,
                tail: off,
            };
            self.nonempty[mt.index()] |= 1 << order;
        } else if tail {
            self.pages[off as usize].link = Link {
                next: NIL,
                prev: l.tail,
            };
            self.pages[l.tail as usize].link.next = off;
            self.lists[i].tail = off;
        } else {
            self.pages[off as usize].link = Link {
                next: l.head,
                prev: NIL,
            };
            self.pages[l.head as usize].link.prev = off;
            self.lists[i].head = off;
        }
        self.pages[off as usize].info = PageInfo::free(order, mt);
        self.nr_free[order as usize] += 1;
        self.nr_free_typed[i] += 1;
        self.nr_free_pages += 1 << order;
        self.count_block_free(off, order, true);
    }

    /// Adds (or takes) the pages of the free block at `off` to its pageblocks' free counts.
    #[inline(always)]
    fn count_block_free(&mut self, off: u32, order: u32, add: bool) {
        let pb = self.cfg.pageblock_order;
        let first = (off >> pb) as usize;
        if order <= pb {
            let n = &mut self.block_free[first];
            *n = if add {
                *n + (1 << order)
            } else {
                *n - (1 << order)
            };
            return;
        }
        for n in &mut self.block_free[first..first + (1 << (order - pb))] {
            *n = if add { *n + (1 << pb) } else { *n - (1 << pb) };
        }
    }

    /// Pages of free buddy blocks in the pageblock that holds `pfn` (0 outside the zone).
    pub(crate) fn pageblock_free_pages(&self, pfn: Pfn) -> u32 {
        self.off_of(pfn).map_or(0, |o| {
            self.block_free[(o >> self.cfg.pageblock_order) as usize]
        })
    }

    /// Unlinks the free block at `off` from its list (`del_page_from_free_list()`), returning
    /// its order and list type. The page keeps its info until the caller overwrites it.
    #[inline(always)]
    pub(crate) fn del_free(&mut self, off: u32) -> (u32, MigrateType) {
        let pi = self.pages[off as usize].info;
        let (order, mt) = (pi.order(), pi.mt());
        let i = list_idx(order, mt);
        let Link { next, prev } = self.pages[off as usize].link;
        if prev == NIL {
            self.lists[i].head = next;
        } else {
            self.pages[prev as usize].link.next = next;
        }
        if next == NIL {
            self.lists[i].tail = prev;
        } else {
            self.pages[next as usize].link.prev = prev;
        }
        if self.lists[i].head == NIL {
            self.nonempty[mt.index()] &= !(1 << order);
        }
        self.nr_free[order as usize] -= 1;
        self.nr_free_typed[i] -= 1;
        self.nr_free_pages -= 1 << order;
        self.count_block_free(off, order, false);
        (order, mt)
    }

    /// Moves a free block to another type's list at the same order (`move_to_free_list()`):
    /// to the head up to 5.9 (`list_move`), to the tail from 5.10.
    pub(crate) fn move_free(&mut self, off: u32, mt: MigrateType) {
        let (order, _) = self.del_free(off);
        self.add_free(off, order, mt, self.cfg.move_to_tail);
    }

    /// The blocks on `free_list[order][mt]`, head first, as PFNs.
    pub fn free_list(&self, order: u32, mt: MigrateType) -> impl Iterator<Item = Pfn> + '_ {
        let head = if (order as usize) < MAX_NR_ORDERS {
            self.first_free(order, mt)
        } else {
            NIL
        };
        std::iter::successors((head != NIL).then_some(head), |&o| {
            let n = self.pages[o as usize].link.next;
            (n != NIL).then_some(n)
        })
        .map(|o| self.pfn_of(o))
    }

    /// First block on `free_list[order][mt]`.
    #[inline]
    pub(crate) fn first_free(&self, order: u32, mt: MigrateType) -> u32 {
        self.lists[list_idx(order, mt)].head
    }

    /// Models expand() (mm/page_alloc.c): splits the block of order `high` at `off` down to
    /// `low`, putting each upper half at the **head** of `free_list[half order][mt]`; the
    /// caller keeps the lowest-addressed `2^low` pages.
    #[inline(always)]
    pub(crate) fn expand(&mut self, off: u32, low: u32, mut high: u32, mt: MigrateType) {
        while high > low {
            high -= 1;
            self.add_free(off + (1 << high), high, mt, false);
        }
    }

    /// Models __rmqueue_smallest() (mm/page_alloc.c): the **first** block of the smallest
    /// order ≥ `order` on `mt`'s lists, removed and split down to `order`.
    #[inline(always)]
    pub(crate) fn rmqueue_smallest(&mut self, order: u32, mt: MigrateType) -> Option<u32> {
        let mask = u32::from(self.nonempty[mt.index()]) >> order;
        if mask == 0 {
            return None;
        }
        let o = order + mask.trailing_zeros();
        let off = self.first_free(o, mt);
        self.del_free(off);
        self.expand(off, order, o, mt);
        Some(off)
    }

    /// Models __free_one_page() (mm/page_alloc.c): merges the block with its buddy at
    /// `pfn ^ (1 << order)` while the buddy is free at the same order in this zone
    /// (`page_is_buddy()`), then adds the result to `free_list[order][mt]`: at the **tail** if
    /// the next-higher buddy is free (`buddy_merge_likely()`, orders below MAX_ORDER−2),
    /// otherwise at the head. With `MergeRule::MergeableTypesOnly` (6.x), a merge at or above
    /// pageblock order is refused between different types when either is not mergeable
    /// (`migratetype_is_mergeable()`: only UNMOVABLE, MOVABLE, RECLAIMABLE are), and a merged
    /// buddy's pageblocks take `mt`. A page freed resets `pages_scanned`, as the kernel's
    /// callers `free_one_page()` and `free_pcppages_bulk()` do (3.10 – 4.7).
    pub(crate) fn free_one_page(&mut self, mut off: u32, mut order: u32, mt: MigrateType) {
        self.pages_scanned = 0;
        let max = self.cfg.orders - 1;
        let strict = self.cfg.merge == MergeRule::MergeableTypesOnly;
        self.pages[off as usize].info = PageInfo::TAIL;
        let mut buddy = off;
        while order < max {
            if self.capture.is_some() && self.capture_block(off, order, mt) {
                return;
            }
            buddy = off ^ (1 << order);
            if !self.pages[buddy as usize].info.is_free_of_order(order) {
                break;
            }
            if strict && order >= self.cfg.pageblock_order {
                let bmt = self.pageblock_mt(buddy);
                if bmt != mt {
                    if !(mergeable(mt) && mergeable(bmt)) {
                        break;
                    }
                    self.change_pageblock_range(buddy, order, mt);
                }
            }
            self.del_free(buddy);
            self.pages[buddy as usize].info = PageInfo::TAIL;
            off &= buddy;
            order += 1;
        }
        let tail = order + 2 < self.cfg.orders && {
            let higher = off & buddy;
            self.pages[(higher ^ (1 << (order + 1))) as usize]
                .info
                .is_free_of_order(order + 1)
        };
        self.add_free(off, order, mt, tail);
    }

    /// The capture test at the top of `__free_one_page()`'s merge loop (5.1+): when a direct
    /// compaction's capture slot takes the block at `off` of `order`
    /// (`CaptureControl::compaction_capture()`), the block becomes the requester's, allocated
    /// and off the free lists and the free count (`__mod_zone_freepage_state(-(1 << order))`
    /// undoes the merged buddies' share), and merging stops.
    fn capture_block(&mut self, off: u32, order: u32, mt: MigrateType) -> bool {
        let pb = self.cfg.pageblock_order;
        let pfn = self.pfn_of(off);
        let Some(capc) = self.capture.as_mut() else {
            return false;
        };
        if !capc.compaction_capture(pfn, order, mt, pb) {
            return false;
        }
        self.pages[off as usize].info =
            PageInfo::allocated(order, capc.migratetype, crate::mm::migrate::ISOLATED);
        true
    }

    /// Models change_pageblock_range(): retypes every pageblock a block of `order` covers.
    pub(crate) fn change_pageblock_range(&mut self, off: u32, order: u32, mt: MigrateType) {
        let pb = self.cfg.pageblock_order;
        if order < pb {
            self.set_pageblock_mt(off, mt);
            return;
        }
        for i in 0..1u32 << (order - pb) {
            self.set_pageblock_mt(off + (i << pb), mt);
        }
    }

    /// Models move_freepages_block() with move_freepages() (mm/page_alloc.c): moves every free
    /// block of the pageblock holding `off` to `mt`'s lists. Returns the free pages moved and
    /// the movable (LRU) pages seen, or `None` when the pageblock ends beyond the zone. A
    /// pageblock starting below the zone is walked from `off` (the 6.x rules refuse it, as
    /// `prep_move_freepages_block()` does).
    pub(crate) fn move_freepages_block(&mut self, off: u32, mt: MigrateType) -> Option<(u64, u64)> {
        let (start, end) = self.block_walk_range(off)?;
        let (mut free, mut movable) = (0, 0);
        let mut i = start;
        while i < end {
            let (next, f, m) = self.block_step(i);
            if f > 0 {
                self.move_free(i, mt);
            }
            (free, movable, i) = (free + f, movable + m, next);
        }
        Some((free, movable))
    }

    /// Free and movable pages of the pageblock holding `off`, without moving anything
    /// (`prep_move_freepages_block()`, 6.x).
    pub(crate) fn count_freepages_block(&self, off: u32) -> Option<(u64, u64)> {
        let (start, end) = self.block_walk_range(off)?;
        let (mut free, mut movable) = (0, 0);
        let mut i = start;
        while i < end {
            let (next, f, m) = self.block_step(i);
            (free, movable, i) = (free + f, movable + m, next);
        }
        Some((free, movable))
    }

    /// One step of a pageblock walk from page offset `i`: the next offset, the free pages of a
    /// free block at `i`, and 1 for an allocated movable block (`PageLRU` is set on its head
    /// page only, as `move_freepages()` counts it); reserved pages count for nothing.
    fn block_step(&self, i: u32) -> (u32, u64, u64) {
        let pi = self.pages[i as usize].info;
        let pages = 1u64 << pi.order();
        match pi.kind() {
            KIND_FREE => (i + pages as u32, pages, 0),
            KIND_ALLOC => (i + pages as u32, 0, u64::from(pi.owner().is_movable())),
            _ => (i + 1, 0, 0),
        }
    }

    fn block_walk_range(&self, off: u32) -> Option<(u32, u32)> {
        let nr = self.cfg.pageblock_nr_pages();
        let start = off & !(nr - 1);
        let end = start + nr;
        let zone_lo = (self.start_pfn - self.base_pfn) as u32;
        let zone_hi = zone_lo as u64 + self.spanned;
        if u64::from(end) > zone_hi {
            return None;
        }
        if start < zone_lo {
            if self.cfg.fallback == FallbackRules::V6_18 {
                return None;
            }
            return Some((off, end));
        }
        Some((start, end))
    }

    /// Models rmqueue() / buffered_rmqueue() for one zone, after the watermark check passed:
    /// the orders the per-cpu lists hold through them when they are on (6.1: falling back to
    /// the buddy lists when a list cannot be refilled), otherwise `__rmqueue()` under the
    /// zone lock (4.4+: an ALLOC_HARDER order > 0 request first tries
    /// `__rmqueue_smallest(MIGRATE_HIGHATOMIC)`). Marks the block allocated to `owner`, counts
    /// `pgalloc_<zone>` and, for ALLOC_HARDER order > 0 requests, calls
    /// `reserve_highatomic_pageblock()` as `get_page_from_freelist()` does.
    pub fn alloc(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
        owner: OwnerKind,
    ) -> Result<Pfn, AllocFailure> {
        if order >= self.cfg.orders {
            return Err(AllocFailure::OrderTooLarge {
                order,
                max: self.cfg.orders - 1,
            });
        }
        let off = if self.pcp.allows(order) && self.pcp.serves(mt, opts) {
            match self.pcp_alloc(order, mt, opts) {
                Err(_) if self.pcp.falls_back_to_buddy() => self.rmqueue_buddy(order, mt, opts)?,
                r => r?,
            }
        } else {
            self.rmqueue_buddy(order, mt, opts)?
        };
        self.mark_allocated(off, order, mt, owner);
        if order > 0 && opts.harder && self.cfg.reserve == ReserveKind::HighAtomic {
            self.reserve_highatomic_pageblock(off, order);
        }
        Ok(self.pfn_of(off))
    }

    /// The block at `off` now belongs to `owner`; counts `pgalloc_<zone>` and takes the pages
    /// off `NR_ALLOC_BATCH`, as `buffered_rmqueue()` does for either of its branches.
    #[inline]
    pub(crate) fn mark_allocated(
        &mut self,
        off: u32,
        order: u32,
        mt: MigrateType,
        owner: OwnerKind,
    ) {
        self.pages[off as usize].info = PageInfo::allocated(order, mt, owner);
        self.events.pgalloc[self.zone_type.index()] += 1 << order;
        self.alloc_batch -= 1 << order;
    }

    /// `NR_ALLOC_BATCH`: what the fair zone allocation policy still lets this zone serve.
    pub fn alloc_batch(&self) -> i64 {
        self.alloc_batch
    }

    /// Sets `NR_ALLOC_BATCH` to `high − low`. Models the per-zone step of
    /// `reset_alloc_batches()` and of `__setup_per_zone_wmarks()` (3.12 – 4.7, RHEL 7).
    pub fn reset_alloc_batch(&mut self) {
        self.alloc_batch = self.watermarks.high as i64 - self.watermarks.low as i64;
    }

    /// The buddy part of rmqueue(): the HIGHATOMIC lists for ALLOC_HARDER order > 0 requests,
    /// then `__rmqueue()`, then (6.3+, ALLOC_OOM / ALLOC_NON_BLOCK) the HIGHATOMIC lists again.
    pub(crate) fn rmqueue_buddy(
        &mut self,
        order: u32,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        let highatomic = self.cfg.reserve == ReserveKind::HighAtomic && order > 0;
        if highatomic && opts.harder {
            if let Some(off) = self.rmqueue_smallest(order, MigrateType::HighAtomic) {
                return Ok(off);
            }
        }
        match self.rmqueue(order, mt, opts) {
            Err(e) if highatomic && opts.highatomic_last => self
                .rmqueue_smallest(order, MigrateType::HighAtomic)
                .ok_or(e),
            r => r,
        }
    }

    /// Models __free_pages() / free_the_page(): the orders the per-cpu lists hold go to them
    /// when they are on (`free_hot_cold_page()` / `free_unref_page()`), others to `__free_pages_ok()`,
    /// which frees to the list of the pageblock's migrate type. Counts `pgfree`.
    pub fn free(&mut self, pfn: Pfn, order: u32) -> Result<(), FreeError> {
        let off = self.off_of(pfn).ok_or(FreeError::OutsideZone {
            pfn,
            zone: self.zone_type,
        })?;
        let pi = self.pages[off as usize].info;
        if pi.kind() != KIND_ALLOC {
            return Err(FreeError::NotAllocated { pfn });
        }
        if pi.order() != order {
            return Err(FreeError::WrongOrder {
                pfn,
                allocated: pi.order(),
                freed: order,
            });
        }
        self.events.pgfree += 1 << order;
        let mt = self.pageblock_mt(off);
        if self.pcp.allows(order) {
            self.pcp_free(off, order, mt);
        } else {
            self.free_one_page(off, order, mt);
        }
        Ok(())
    }
}

/// `migratetype_is_mergeable()` (6.x): types below MIGRATE_PCPTYPES.
pub(crate) fn mergeable(mt: MigrateType) -> bool {
    matches!(
        mt,
        MigrateType::Unmovable | MigrateType::Movable | MigrateType::Reclaimable
    )
}

/// Page-level operations the compaction and reclaim layers build on.
impl Zone {
    fn head_of(&self, pfn: Pfn, kind: u16) -> Result<u32, PageError> {
        let off = self.off_of(pfn).ok_or(PageError::OutsideZone {
            pfn,
            zone: self.zone_type,
        })?;
        match self.pages[off as usize].info.kind() {
            k if k == kind => Ok(off),
            _ if kind == KIND_FREE => Err(PageError::NotFree { pfn }),
            _ => Err(PageError::NotAllocated { pfn }),
        }
    }

    /// Models __isolate_free_page() (mm/page_alloc.c) without its watermark check, which the
    /// caller makes: the free block at `pfn` leaves the free lists and is held by `owner`, and
    /// a block of at least half a pageblock makes its pageblocks MOVABLE unless they are
    /// ISOLATE, CMA or HIGHATOMIC. Returns the block's order.
    pub fn isolate_free_page(&mut self, pfn: Pfn, owner: OwnerKind) -> Result<u32, PageError> {
        let off = self.head_of(pfn, KIND_FREE)?;
        let (order, mt) = self.del_free(off);
        let pb = self.cfg.pageblock_order;
        if order + 1 >= pb {
            let mut b = off;
            while b < off + (1 << order) {
                if mergeable(self.pageblock_mt(b)) {
                    self.set_pageblock_mt(b, MigrateType::Movable);
                }
                b += 1 << pb;
            }
        }
        self.pages[off as usize].info = PageInfo::allocated(order, mt, owner);
        Ok(order)
    }

    /// Models split_page() (mm/page_alloc.c): the allocated block at `pfn` becomes `2^order`
    /// allocated order-0 pages with the same owner and type, each freed on its own.
    pub fn split_page(&mut self, pfn: Pfn) -> Result<(), PageError> {
        let off = self.head_of(pfn, KIND_ALLOC)?;
        let pi = self.pages[off as usize].info;
        let one = PageInfo::allocated(0, pi.mt(), pi.owner());
        for i in off..off + (1 << pi.order()) {
            self.pages[i as usize].info = one;
        }
        Ok(())
    }

    /// Hands the allocated block at `pfn` to another owner (a migration target taking over
    /// the moved page's identity).
    pub fn set_owner(&mut self, pfn: Pfn, owner: OwnerKind) -> Result<(), PageError> {
        let off = self.head_of(pfn, KIND_ALLOC)?;
        let pi = self.pages[off as usize].info;
        self.pages[off as usize].info = PageInfo::allocated(pi.order(), pi.mt(), owner);
        Ok(())
    }
}

impl Zone {
    /// Splits the allocated block at `pfn` into allocated blocks of `order` with the same owner
    /// and type (split_page() generalised to a target order, as `split_page_owner()`/`__split_page()`
    /// leave the pieces); used to carve a migration target of one order out of a larger
    /// isolated free block.
    pub fn split_block(&mut self, pfn: Pfn, order: u32) -> Result<(), PageError> {
        let off = self.head_of(pfn, KIND_ALLOC)?;
        let pi = self.pages[off as usize].info;
        if order > pi.order() {
            return Err(PageError::NotAllocated { pfn });
        }
        let piece = PageInfo::allocated(order, pi.mt(), pi.owner());
        let mut i = off;
        while i < off + (1 << pi.order()) {
            self.pages[i as usize].info = piece;
            i += 1 << order;
        }
        Ok(())
    }
}
