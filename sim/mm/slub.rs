//! The SLUB slab allocator (mm/slub.c, mm/slab_common.c, include/linux/slub_def.h).
//!
//! A slab cache hands out objects of one size. It gets memory from the page allocator in *slabs*:
//! blocks of `2^order` pages cut into `objects` objects. SLUB chooses the order per cache
//! ([`calculate_order`]): big enough to hold a minimum number of objects (derived from the CPU
//! count) without wasting more than a fraction of the slab, at most `slub_max_order` (3). If the
//! preferred order `oo` cannot be allocated cheaply (the first try is `__GFP_NORETRY |
//! __GFP_NOWARN`), the cache falls back to the smallest order that holds one object, `min`.
//!
//! A slab's pages go back to the page allocator only when *every* object in it is free, and even
//! then only if the node already keeps `min_partial` partially used slabs. Objects are freed in
//! whatever order their users free them, so after random frees most slabs keep a few live objects
//! and pin their pages: that is how slab fragments memory, and why freeing 90 % of a cache's
//! objects may free almost none of its pages ([`KmemCache::free_object`]).
//!
//! The model keeps, per slab, only its pages, its object count and how many are in use; objects
//! have no identity beyond the slab they live in ([`ObjectRef`]). Placement follows SLUB's policy
//! deterministically: the CPU slab first, then the per-CPU partial list, then the head of the node
//! partial list, then a new slab. Which object a free hits is the caller's choice, by handle or by
//! rank ([`KmemCache::nth_object`], [`KmemCache::free_nth_object`]), so a seeded RNG drives it.
//!
//! Simplifications, stated: one CPU and one NUMA node (a single `kmem_cache_cpu` and
//! `kmem_cache_node`); no debug caches (no full list, no red zones beyond what `objsize` already
//! includes); `SLAB_DESTROY_BY_RCU` slabs are freed at once, not after a grace period; `pobjects`
//! is counted as the kernel counts it, at the time a slab is put on the per-CPU partial list.
//!
//! Large kmallocs (above [`KMALLOC_MAX_CACHE_SIZE`]) bypass the caches: [`Kmalloc::kmalloc`] sends
//! them to the page allocator at `get_order(size)` (`kmalloc_large()`), which is how a big
//! `kzalloc` becomes a costly-order page allocation.

use crate::capture::SlabCache;
use crate::kernel::gfp::GfpFlags;
use crate::mm::mmzone::{MigrateType, PAGE_SHIFT};

/// `PAGE_SIZE` in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// `MAX_OBJS_PER_PAGE` (mm/slub.c): the object counter in `struct page` is 15 bits.
pub const MAX_OBJS_PER_PAGE: u32 = 32767;
/// `KMALLOC_MAX_CACHE_SIZE` for SLUB: `1 << (PAGE_SHIFT + 1)`; larger kmallocs go to
/// `kmalloc_large()`.
pub const KMALLOC_MAX_CACHE_SIZE: u64 = 2 * PAGE_SIZE;
/// Buddy orders on x86-64 (`MAX_ORDER` exclusive up to 6.3, `NR_PAGE_ORDERS` in 6.8+).
pub const NR_PAGE_ORDERS: u32 = 11;
/// Object sizes of the `kmalloc-*` caches (`kmalloc_info[]`, mm/slab_common.c), SLUB on x86-64.
pub const KMALLOC_SIZES: [u32; 13] = [
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];

// ---------------------------------------------------------------------------------------------
// Version variants (one enum per rule; the kernel profile picks them).

/// Which `calculate_order()` a kernel has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlabOrderRule {
    /// 3.10 – 6.6: for fractions 16, 8, 4 find the smallest order holding `min_objects`, then
    /// decrement `min_objects`; `min_objects` from `nr_cpu_ids`.
    MinObjectsLoop,
    /// 6.7+ (6.18 source): `min_order` from `min_objects`, then fractions 16, 8, 4, 2; CPUs from
    /// `num_present_cpus()` (falling back to `nr_cpu_ids` when ≤ 1).
    WasteFractions,
}

/// How `__slab_free()` / `unfreeze_partials()` / `deactivate_slab()` compare the node's partial
/// count with `min_partial` before freeing an empty slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MinPartialRule {
    /// 3.10: free it if `n->nr_partial > s->min_partial`.
    Greater,
    /// 4.19+: free it if `n->nr_partial >= s->min_partial`.
    AtLeast,
}

/// What `allocate_slab()` removes from the first, preferred-order attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlabFirstTry {
    /// 3.10: `(flags | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL`.
    NoRetry,
    /// 4.19+: additionally, if the request may reclaim and `oo` > `min`, `| __GFP_NOMEMALLOC` and
    /// `& ~__GFP_RECLAIM`: the first try never reclaims or compacts.
    NoReclaim,
}

/// Per-CPU partial sizes (`set_cpu_partial()`), in objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CpuPartialRule {
    /// 3.10 – 5.x: 30 below 256 B, 13 below 1024 B, 6 below PAGE_SIZE, else 2.
    Small,
    /// 6.x (6.18 source): 120, 52, 24, 6.
    Large,
}

/// Flags `kmalloc_order()` adds to a large kmalloc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KmallocLargeFlags {
    /// 3.10: `__GFP_COMP | __GFP_KMEMCG`.
    CompKmemcg,
    /// RHEL 7 (3.10.0-1160) and 4.x+: `__GFP_COMP`.
    Comp,
}

/// The slab rules of one kernel: the variants above, together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlabRules {
    pub order: SlabOrderRule,
    pub min_partial: MinPartialRule,
    pub first_try: SlabFirstTry,
    pub cpu_partial: CpuPartialRule,
    pub kmalloc_large: KmallocLargeFlags,
}

/// Boot parameters and machine facts `calculate_order()` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlubTunables {
    /// `slub_min_order=` (default 0).
    pub min_order: u32,
    /// `slub_max_order=` (default `PAGE_ALLOC_COSTLY_ORDER` = 3).
    pub max_order: u32,
    /// `slub_min_objects=` (default 0: derived from the CPU count).
    pub min_objects: u32,
    /// `nr_cpu_ids` (possible CPUs).
    pub nr_cpu_ids: u32,
    /// `num_present_cpus()` (read by [`SlabOrderRule::WasteFractions`] only).
    pub present_cpus: u32,
}

impl SlubTunables {
    /// Kernel defaults on a machine with `cpus` possible and present CPUs.
    pub fn with_cpus(cpus: u32) -> Self {
        SlubTunables {
            min_order: 0,
            max_order: crate::mm::mmzone::PAGE_ALLOC_COSTLY_ORDER,
            min_objects: 0,
            nr_cpu_ids: cpus,
            present_cpus: cpus,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry.

/// `struct kmem_cache_order_objects`: a slab order and the objects it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrderObjects {
    pub order: u32,
    pub objects: u32,
}

impl OrderObjects {
    /// Models `oo_make()`: `order_objects(order, size)`.
    pub fn make(order: u32, size: u32) -> Self {
        OrderObjects {
            order,
            objects: order_objects(order, size),
        }
    }
}

/// `fls()`: position of the highest set bit, 1-based; 0 for 0.
fn fls(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Models `get_order()` (include/asm-generic/getorder.h): the smallest order whose block holds
/// `size` bytes; 0 for sizes up to a page.
pub fn get_order(size: u64) -> u32 {
    if size <= PAGE_SIZE {
        0
    } else {
        fls((size - 1) >> PAGE_SHIFT)
    }
}

/// Models `order_objects()` (mm/slub.c): objects of `size` bytes in a slab of `order`.
pub fn order_objects(order: u32, size: u32) -> u32 {
    ((PAGE_SIZE << order) / u64::from(size.max(1))) as u32
}

/// `min_objects` as `calculate_order()` derives it: `slub_min_objects`, or `4 * (fls(cpus) + 1)`
/// with `nr_cpu_ids` (3.10 – 6.6) or `num_present_cpus()` falling back to `nr_cpu_ids` when ≤ 1
/// (6.7+); then capped by what fits a `slub_max_order` slab (at least 1 in 6.7+).
fn min_objects(size: u32, rule: SlabOrderRule, t: &SlubTunables) -> u32 {
    let wanted = if t.min_objects != 0 {
        t.min_objects
    } else {
        let cpus = match rule {
            SlabOrderRule::MinObjectsLoop => t.nr_cpu_ids,
            SlabOrderRule::WasteFractions if t.present_cpus <= 1 => t.nr_cpu_ids,
            SlabOrderRule::WasteFractions => t.present_cpus,
        };
        4 * (fls(u64::from(cpus)) + 1)
    };
    let fit = order_objects(t.max_order, size);
    match rule {
        SlabOrderRule::MinObjectsLoop => wanted.min(fit),
        SlabOrderRule::WasteFractions => wanted.min(fit.max(1)),
    }
}

/// Models 3.10 `slab_order()` (mm/slub.c): the smallest order from
/// `max(slub_min_order, fls(min_objects*size - 1) - PAGE_SHIFT)` up to `max_order` that holds
/// `min_objects` and wastes at most `slab_size / fract_leftover`; `max_order + 1` if none does.
fn slab_order(size: u32, min_objects: u32, max_order: u32, fract: u32, min_order: u32) -> u32 {
    let size64 = u64::from(size);
    if order_objects(min_order, size) > MAX_OBJS_PER_PAGE {
        return get_order(size64 * u64::from(MAX_OBJS_PER_PAGE)).saturating_sub(1);
    }
    let start = fls(u64::from(min_objects) * size64 - 1).saturating_sub(PAGE_SHIFT);
    let mut order = min_order.max(start);
    while order <= max_order {
        let slab_size = PAGE_SIZE << order;
        if slab_size >= u64::from(min_objects) * size64
            && slab_size % size64 <= slab_size / u64::from(fract)
        {
            break;
        }
        order += 1;
    }
    order
}

/// Models 6.7+ `calc_slab_order()` (mm/slub.c): the first order from `min_order` to `max_order`
/// wasting at most `slab_size / fract_leftover`; `max_order + 1` if none does.
fn calc_slab_order(size: u32, min_order: u32, max_order: u32, fract: u32) -> u32 {
    let size64 = u64::from(size);
    (min_order..=max_order)
        .find(|&o| (PAGE_SIZE << o) % size64 <= (PAGE_SIZE << o) / u64::from(fract))
        .unwrap_or(max_order + 1)
}

/// Models `calculate_order()` (mm/slub.c) in the kernel's variant: the preferred slab order for
/// objects of `size` bytes (`s->size`, metadata and alignment included), or `None` where the
/// kernel returns `-ENOSYS` (an object larger than the biggest buddy block).
pub fn calculate_order(size: u32, rule: SlabOrderRule, t: &SlubTunables) -> Option<u32> {
    if size == 0 {
        return None;
    }
    let mut min_objects = min_objects(size, rule, t);
    match rule {
        SlabOrderRule::MinObjectsLoop => {
            while min_objects > 1 {
                for fract in [16, 8, 4] {
                    let order = slab_order(size, min_objects, t.max_order, fract, t.min_order);
                    if order <= t.max_order {
                        return Some(order);
                    }
                }
                min_objects -= 1;
            }
            let order = slab_order(size, 1, t.max_order, 1, t.min_order);
            if order <= t.max_order {
                return Some(order);
            }
            let order = slab_order(size, 1, NR_PAGE_ORDERS, 1, t.min_order);
            (order < NR_PAGE_ORDERS).then_some(order)
        }
        SlabOrderRule::WasteFractions => {
            let min_order = t
                .min_order
                .max(get_order(u64::from(min_objects) * u64::from(size)));
            if order_objects(min_order, size) > MAX_OBJS_PER_PAGE {
                let o = get_order(u64::from(size) * u64::from(MAX_OBJS_PER_PAGE));
                return Some(o.saturating_sub(1));
            }
            for fract in [16, 8, 4, 2] {
                let order = calc_slab_order(size, min_order, t.max_order, fract);
                if order <= t.max_order {
                    return Some(order);
                }
            }
            let order = get_order(u64::from(size));
            (order < NR_PAGE_ORDERS).then_some(order)
        }
    }
}

/// A cache's slab geometry: `s->oo` (preferred) and `s->min` (fallback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlabGeometry {
    pub oo: OrderObjects,
    pub min: OrderObjects,
}

impl SlabGeometry {
    /// Models the end of `calculate_sizes()`: `s->oo = oo_make(calculate_order(size), size)`,
    /// `s->min = oo_make(get_order(size), size)`.
    pub fn calculate(size: u32, rule: SlabOrderRule, t: &SlubTunables) -> Option<SlabGeometry> {
        let order = calculate_order(size, rule, t)?;
        Some(SlabGeometry {
            oo: OrderObjects::make(order, size),
            min: OrderObjects::make(get_order(u64::from(size)), size),
        })
    }
}

/// Models `set_min_partial()` (3.10; the same clamp inline in 6.x `kmem_cache_open()`):
/// `clamp(ilog2(size) / 2, MIN_PARTIAL = 5, MAX_PARTIAL = 10)`.
pub fn min_partial(size: u32) -> u32 {
    let ilog2 = size.max(1).ilog2();
    (ilog2 / 2).clamp(5, 10)
}

/// Models `set_cpu_partial()` (mm/slub.c): objects kept on the per-CPU partial list before it is
/// drained to the node (0 for debug caches, which the model does not have).
pub fn cpu_partial(size: u32, rule: CpuPartialRule) -> u32 {
    let size = u64::from(size);
    let (page, k1, b256, small) = match rule {
        CpuPartialRule::Small => (2, 6, 13, 30),
        CpuPartialRule::Large => (6, 24, 52, 120),
    };
    if size >= PAGE_SIZE {
        page
    } else if size >= 1024 {
        k1
    } else if size >= 256 {
        b256
    } else {
        small
    }
}

// ---------------------------------------------------------------------------------------------
// The page allocator as the slab layer sees it.

/// What a page block is used for, so the engine can type its per-page state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PageOwner {
    /// A slab of a cache.
    Slab,
    /// A `kmalloc_large()` block.
    KmallocLarge,
}

/// A page request from the slab layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlabPageRequest {
    pub gfp: GfpFlags,
    pub owner: PageOwner,
}

impl SlabPageRequest {
    /// The migrate type of the pages (`SLAB_RECLAIM_ACCOUNT` caches ask `__GFP_RECLAIMABLE`).
    pub fn migrate_type(&self) -> MigrateType {
        match (self.gfp.movable, self.gfp.reclaimable) {
            (true, _) => MigrateType::Movable,
            (false, true) => MigrateType::Reclaimable,
            (false, false) => MigrateType::Unmovable,
        }
    }

    /// Whether this is `allocate_slab()`'s cheap first try at the preferred order.
    pub fn is_first_try(&self) -> bool {
        self.gfp.noretry && self.gfp.nowarn
    }
}

/// Why the page allocator said no (the reasons DESIGN.md lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub enum AllocFailure {
    #[error("below the min watermark")]
    BelowMinWatermark,
    #[error("no free block of the order")]
    NoBlockOfOrder,
    #[error("compaction skipped (fragmentation index)")]
    CompactionSkippedFragindex,
    #[error("compaction failed")]
    CompactionFailed,
    /// Direct compaction did not run: earlier failures deferred it (`compaction_deferred()`).
    #[error("compaction deferred")]
    CompactionDeferred,
    #[error("reclaim made no progress")]
    ReclaimNoProgress,
    #[error("out of memory")]
    OutOfMemory,
}

/// The page allocator the slab layer allocates from. The engine implements it; tests use small
/// allocators of their own.
pub trait PageAllocator {
    /// Allocate a `2^order`-page block; its first PFN.
    fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, AllocFailure>;
    /// Free a block obtained from [`PageAllocator::alloc_pages`].
    fn free_pages(&mut self, pfn: u32, order: u32);
}

// ---------------------------------------------------------------------------------------------
// Caches.

/// The `kmem_cache_create()` flags the model distinguishes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheFlags {
    /// `SLAB_RECLAIM_ACCOUNT`: slab pages are `__GFP_RECLAIMABLE` (MIGRATE_RECLAIMABLE).
    pub reclaim_account: bool,
    /// `SLAB_DESTROY_BY_RCU` / `SLAB_TYPESAFE_BY_RCU`: never merged with another cache.
    pub destroy_by_rcu: bool,
    /// Created with a constructor: never merged either.
    pub ctor: bool,
}

impl CacheFlags {
    /// Models slab_unmergeable() (3.10 mm/slub.c) for a root cache: caches with a
    /// `SLUB_NEVER_MERGE` flag (`SLAB_DESTROY_BY_RCU` among them) or a constructor never merge.
    pub fn mergeable(self) -> bool {
        !self.destroy_by_rcu && !self.ctor
    }
}

/// Errors of the slab layer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlabError {
    #[error("cache `{0}`: no slab order fits objects of {1} bytes")]
    NoOrder(String, u32),
    #[error("cache `{cache}`: {what}")]
    Inconsistent { cache: String, what: String },
    #[error("cache `{0}`: the object handle does not name a live object")]
    StaleObject(String),
    #[error("cache `{cache}`: page allocation failed: {failure}")]
    Alloc {
        cache: String,
        failure: AllocFailure,
    },
}

/// A live object: the slab it lives in (objects have no other identity in the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ObjectRef {
    slot: u32,
    generation: u32,
}

/// Where a slab is (the state SLUB encodes in `page->frozen`, list membership and `c->page`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Loc {
    /// `c->page`: the CPU slab.
    Cpu,
    /// On `c->partial` (frozen).
    CpuPartial,
    /// On `n->partial`.
    NodePartial,
    /// Full and on no list (SLUB without debug does not track full slabs).
    Full,
    /// Slot not in use.
    Free,
}

const NIL: u32 = u32::MAX;

/// One slab: a compact record per slab, no per-object state. Its in-use count and list state
/// are in the cache's [`SlotIndex`], so a free that leaves the slab on its list does not touch
/// the record.
#[derive(Clone, Copy, Debug)]
struct Slab {
    pfn: u32,
    order: u8,
    objects: u16,
    generation: u32,
    /// Node partial list links.
    prev: u32,
    next: u32,
}

/// Fenwick tree of counts, to find the k-th counted item in O(log n).
#[derive(Clone, Debug, Default)]
struct Fenwick(Vec<i64>);

impl Fenwick {
    fn add(&mut self, i: usize, delta: i64) {
        let mut i = i + 1;
        while i <= self.0.len() {
            self.0[i - 1] += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// The index holding the k-th (0-based) counted item, and k's rank within that index.
    fn find(&self, mut k: i64) -> (usize, i64) {
        let mut pos = 0;
        let mut step = self.0.len().next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= self.0.len() && self.0[next - 1] <= k {
                k -= self.0[next - 1];
                pos = next;
            }
            step >>= 1;
        }
        (pos, k)
    }

    /// Builds the tree over `values` in O(n).
    fn build(mut values: Vec<i64>) -> Fenwick {
        for i in 1..=values.len() {
            let parent = i + (i & i.wrapping_neg());
            if parent <= values.len() {
                let carry = values[i - 1];
                values[parent - 1] += carry;
            }
        }
        Fenwick(values)
    }
}

/// Slots per group of a [`CountIndex`]: a group's counts fit in one cache line (`u32`) or half
/// of one (`u16`), and the scan of a group is two vector sums.
const INDEX_GROUP: usize = 16;

/// Slots up to which a [`CountIndex`] keeps no group tree and scans its counts from the start.
const SMALL_INDEX: usize = 256;

/// Counts per slot, to find the k-th counted item: a Fenwick tree over groups of
/// [`INDEX_GROUP`] slots (small enough to stay in cache even for millions of slots), then a scan
/// of the group's compact counts, eight at a time (one vector sum each). Up to
/// [`SMALL_INDEX`] slots there is no tree: the scan starts at slot 0, which costs less than the
/// cache miss of loading the tree (most per-memcg copies are that small). A cache's objects in
/// use per slab (`u16`) are what a shrinker picks from, one object per call, so this lookup is
/// the simulator's hottest loop; the per-memcg copies of a root use it too (`u32` objects per
/// copy, [`crate::mm::memcg_slab`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct CountIndex<T> {
    counts: Vec<T>,
    groups: Fenwick,
}

impl<T: Copy + Default + Into<i64>> CountIndex<T> {
    /// Adds a slot counting zero at the end, growing the group tree to the next power of two
    /// when needed (amortised O(1) per slot).
    pub(crate) fn push(&mut self) {
        self.counts.push(T::default());
        if self.counts.len() <= SMALL_INDEX {
            return;
        }
        let groups = self.counts.len().div_ceil(INDEX_GROUP);
        if groups > self.groups.0.len() {
            let mut values = vec![0; groups.next_power_of_two()];
            for (i, &c) in self.counts.iter().enumerate() {
                values[i / INDEX_GROUP] += c.into();
            }
            self.groups = Fenwick::build(values);
        }
    }

    pub(crate) fn set(&mut self, slot: usize, count: T) {
        let delta = count.into() - self.counts[slot].into();
        self.counts[slot] = count;
        if !self.groups.0.is_empty() {
            self.groups.add(slot / INDEX_GROUP, delta);
        }
    }

    pub(crate) fn get(&self, slot: usize) -> T {
        self.counts[slot]
    }

    /// The slot holding the k-th (0-based) counted item and k's rank within it; `k` must be
    /// below the total.
    pub(crate) fn find(&self, k: u64) -> (usize, u64) {
        let (group, mut rank) = if self.groups.0.is_empty() {
            (0, k as i64)
        } else {
            self.groups.find(k as i64)
        };
        let mut start = group * INDEX_GROUP;
        for chunk in self.counts[start..].chunks(8) {
            let sum: i64 = chunk.iter().map(|&c| c.into()).sum();
            if rank < sum {
                for (i, &c) in chunk.iter().enumerate() {
                    if rank < c.into() {
                        return (start + i, rank as u64);
                    }
                    rank -= c.into();
                }
            }
            rank -= sum;
            start += chunk.len();
        }
        (self.counts.len() - 1, 0)
    }
}

/// The per-slot state of a cache's slabs, in compact arrays: the objects in use (`page->inuse`)
/// and where the slab is ([`Loc`]). With the list state here too, a free that leaves its slab
/// where it is touches a few bytes per slot instead of the slab's record.
#[derive(Clone, Debug, Default)]
struct SlotIndex {
    counts: CountIndex<u16>,
    locs: Vec<Loc>,
}

impl SlotIndex {
    /// Adds an empty slot at `loc` at the end.
    fn push(&mut self, loc: Loc) {
        self.counts.push();
        self.locs.push(loc);
    }

    fn set(&mut self, slot: usize, inuse: u16) {
        self.counts.set(slot, inuse);
    }

    /// The slot holding the k-th (0-based) object in use; `k` must be below the total.
    fn find(&self, k: u64) -> usize {
        self.counts.find(k).0
    }
}

/// How [`KmemCache::from_slabinfo`] spreads the free objects of a captured cache over its slabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FreeSpread {
    /// Evenly: every slab keeps live objects (the fragmented case; most pages pinned).
    Even,
    /// Packed: free objects fill as few slabs as possible.
    Packed,
}

/// A slab cache (`struct kmem_cache` with its single `kmem_cache_cpu` and `kmem_cache_node`).
#[derive(Clone, Debug)]
#[repr(C)]
pub struct KmemCache {
    // What a shrinker's free of a random object reads, first: with `#[repr(C)]` these fill
    // the first two cache lines instead of being spread over the struct (a per-memcg copy is
    // usually cold when a shrinker picks it).
    index: SlotIndex,
    inuse_objects: u64,
    pages: u64,
    nr_partial: u32,
    min_partial: u32,
    geometry: SlabGeometry,
    rules: SlabRules,
    /// A per-memcg cache whose memcg is gone ([`shrink_dead`](Self::shrink_dead)).
    dead: bool,
    name: String,
    size: u32,
    flags: CacheFlags,
    cpu_partial: u32,
    slabs: Vec<Slab>,
    free_slots: Vec<u32>,
    cpu_slab: u32,
    /// `c->partial`, head last, each with the `pobjects` recorded when it was pushed.
    cpu_partial_list: Vec<(u32, u32)>,
    node_head: u32,
    node_tail: u32,
    nr_slabs: u64,
    total_objects: u64,
    /// `s->memcg_params` of a root cache, when memcg kmem accounting gave it one
    /// (mm/memcontrol.c); freed by [`KmemCache::destroy`].
    pub memcg_params: Option<KmallocRef>,
}

impl KmemCache {
    /// Models `kmem_cache_create()` → `kmem_cache_open()`: geometry, `min_partial` and
    /// `cpu_partial` from the object size (`s->size`, as /proc/slabinfo prints it). No slabs yet.
    pub fn new(
        name: &str,
        size: u32,
        flags: CacheFlags,
        rules: SlabRules,
        tunables: &SlubTunables,
    ) -> Result<KmemCache, SlabError> {
        let geometry = SlabGeometry::calculate(size, rules.order, tunables)
            .ok_or_else(|| SlabError::NoOrder(name.to_string(), size))?;
        Ok(Self::with_geometry(name, size, flags, rules, geometry))
    }

    fn with_geometry(
        name: &str,
        size: u32,
        flags: CacheFlags,
        rules: SlabRules,
        geometry: SlabGeometry,
    ) -> KmemCache {
        KmemCache {
            name: name.to_string(),
            size,
            flags,
            geometry,
            min_partial: min_partial(size),
            cpu_partial: cpu_partial(size, rules.cpu_partial),
            rules,
            slabs: Vec::new(),
            free_slots: Vec::new(),
            index: SlotIndex::default(),
            cpu_slab: NIL,
            cpu_partial_list: Vec::new(),
            node_head: NIL,
            node_tail: NIL,
            nr_partial: 0,
            nr_slabs: 0,
            total_objects: 0,
            inuse_objects: 0,
            pages: 0,
            memcg_params: None,
            dead: false,
        }
    }

    /// A memcg's copy of this root cache: same object size, flags and slab geometry, no slabs.
    /// Models the cache `memcg_create_kmem_cache()` → `kmem_cache_create_memcg()` makes.
    pub fn memcg_child(&self, name: &str) -> KmemCache {
        Self::with_geometry(name, self.size, self.flags, self.rules, self.geometry)
    }

    /// Builds a cache as a /proc/slabinfo line describes it: `num_slabs` slabs of
    /// `pagesperslab` pages holding `objperslab` objects, `active_objs` of them in use, spread as
    /// `spread` says, with every partial slab on the node partial list (so
    /// `slabinfo()` reproduces the line). Slab pages come from `pa`.
    pub fn from_slabinfo(
        line: &SlabCache,
        flags: CacheFlags,
        rules: SlabRules,
        spread: FreeSpread,
        pa: &mut impl PageAllocator,
    ) -> Result<KmemCache, SlabError> {
        let bad = |what: String| SlabError::Inconsistent {
            cache: line.name.clone(),
            what,
        };
        let size = u32::try_from(line.objsize)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| bad(format!("objsize {} out of range", line.objsize)))?;
        if !line.pagesperslab.is_power_of_two() || line.pagesperslab > 1 << (NR_PAGE_ORDERS - 1) {
            return Err(bad(format!(
                "pagesperslab {} is not a buddy block size",
                line.pagesperslab
            )));
        }
        let order = line.pagesperslab.trailing_zeros();
        let fits = u64::from(order_objects(order, size));
        if line.objperslab == 0 || line.objperslab > fits {
            return Err(bad(format!(
                "objperslab {} but {} objects of {} B fit in {} pages",
                line.objperslab, fits, size, line.pagesperslab
            )));
        }
        let per = line.objperslab;
        if per > u64::from(MAX_OBJS_PER_PAGE) {
            return Err(bad(format!("objperslab {per} above MAX_OBJS_PER_PAGE")));
        }
        if line.num_objs != line.num_slabs * per || line.active_objs > line.num_objs {
            return Err(bad(format!(
                "{} active of {} objects in {} slabs of {}",
                line.active_objs, line.num_objs, line.num_slabs, per
            )));
        }
        let geometry = SlabGeometry {
            oo: OrderObjects {
                order,
                objects: per as u32,
            },
            min: OrderObjects::make(get_order(u64::from(size)), size),
        };
        let mut cache = Self::with_geometry(&line.name, size, flags, rules, geometry);
        let mut free = line.num_objs - line.active_objs;
        for i in 0..line.num_slabs {
            let remaining_slabs = line.num_slabs - i;
            let slab_free = match spread {
                FreeSpread::Even => free.div_ceil(remaining_slabs),
                FreeSpread::Packed => free.min(per),
            };
            free -= slab_free;
            let inuse = (per - slab_free) as u16;
            let pfn = pa
                .alloc_pages(order, cache.page_request(GfpFlags::GFP_KERNEL))
                .map_err(|failure| SlabError::Alloc {
                    cache: line.name.clone(),
                    failure,
                })?;
            let slot = cache.insert_slab(pfn, order, per as u16);
            cache.set_inuse(slot, inuse);
            if inuse == per as u16 {
                cache.index.locs[slot as usize] = Loc::Full;
            } else {
                cache.node_push(slot, false);
            }
        }
        Ok(cache)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    /// `s->size`.
    pub fn size(&self) -> u32 {
        self.size
    }
    pub fn flags(&self) -> CacheFlags {
        self.flags
    }
    pub fn geometry(&self) -> SlabGeometry {
        self.geometry
    }
    /// `s->min_partial`.
    pub fn min_partial(&self) -> u32 {
        self.min_partial
    }
    /// `s->cpu_partial`.
    pub fn cpu_partial(&self) -> u32 {
        self.cpu_partial
    }
    /// Slabs the cache holds (`nr_slabs`).
    pub fn nr_slabs(&self) -> u64 {
        self.nr_slabs
    }
    /// Pages the cache holds.
    pub fn pages(&self) -> u64 {
        self.pages
    }
    /// Objects in use (allocated and not freed).
    pub fn objects_in_use(&self) -> u64 {
        self.inuse_objects
    }
    /// Slabs on the node partial list (`n->nr_partial`).
    pub fn nr_partial(&self) -> u32 {
        self.nr_partial
    }
    /// Slabs that hold no live object (kept as CPU slab or under `min_partial`).
    pub fn empty_slabs(&self) -> u64 {
        self.live_slabs().filter(|&(_, inuse)| inuse == 0).count() as u64
    }
    /// Slabs with at least one live object: their pages are pinned.
    pub fn pinned_slabs(&self) -> u64 {
        self.live_slabs().filter(|&(_, inuse)| inuse > 0).count() as u64
    }
    /// Pages of slabs with at least one live object.
    pub fn pinned_pages(&self) -> u64 {
        self.live_slabs()
            .filter(|&(_, inuse)| inuse > 0)
            .map(|(s, _)| 1u64 << s.order)
            .sum()
    }

    /// The slabs in use, each with its objects in use.
    fn live_slabs(&self) -> impl Iterator<Item = (&Slab, u16)> {
        self.slabs
            .iter()
            .zip(&self.index.locs)
            .zip(&self.index.counts.counts)
            .filter(|((_, &loc), _)| loc != Loc::Free)
            .map(|((s, _), &inuse)| (s, inuse))
    }

    /// Objects in use in the slab at `slot` (`page->inuse`).
    fn inuse(&self, slot: u32) -> u16 {
        self.index.counts.get(slot as usize)
    }

    /// Where the slab at `slot` is.
    fn loc(&self, slot: u32) -> Loc {
        self.index.locs[slot as usize]
    }

    fn set_loc(&mut self, slot: u32, loc: Loc) {
        self.index.locs[slot as usize] = loc;
    }

    /// The /proc/slabinfo line SLUB prints for this cache. Models `get_slabinfo()` +
    /// `count_partial(n, count_free)` (mm/slub.c): active objects are all objects minus the free
    /// ones on the node partial list (free objects of CPU and CPU-partial slabs count as active);
    /// objperslab and pagesperslab come from `s->oo`; active_slabs = num_slabs.
    pub fn slabinfo(&self) -> SlabCache {
        let mut node_free = 0u64;
        let mut i = self.node_head;
        while i != NIL {
            let s = &self.slabs[i as usize];
            node_free += u64::from(s.objects - self.inuse(i));
            i = s.next;
        }
        SlabCache {
            name: self.name.clone(),
            active_objs: self.total_objects - node_free,
            num_objs: self.total_objects,
            objsize: u64::from(self.size),
            objperslab: u64::from(self.geometry.oo.objects),
            pagesperslab: 1 << self.geometry.oo.order,
            active_slabs: self.nr_slabs,
            num_slabs: self.nr_slabs,
        }
    }

    /// `s->allocflags` on top of the caller's flags: `__GFP_COMP` for order > 0 (applied per
    /// attempt) and `__GFP_RECLAIMABLE` for `SLAB_RECLAIM_ACCOUNT` (`calculate_sizes()`).
    fn page_request(&self, gfp: GfpFlags) -> SlabPageRequest {
        SlabPageRequest {
            gfp: GfpFlags {
                reclaimable: gfp.reclaimable || self.flags.reclaim_account,
                ..gfp
            },
            owner: PageOwner::Slab,
        }
    }

    /// Models `allocate_slab()` (mm/slub.c): the preferred order `oo` with `__GFP_NOWARN |
    /// __GFP_NORETRY` and without `__GFP_NOFAIL` (4.19+: also without `__GFP_RECLAIM`, with
    /// `__GFP_NOMEMALLOC`, when it may reclaim and `oo` > `min`); on failure `min` with the
    /// caller's flags. Returns the new slab's slot.
    fn allocate_slab(
        &mut self,
        gfp: GfpFlags,
        pa: &mut impl PageAllocator,
    ) -> Result<u32, SlabError> {
        let SlabGeometry { oo, min } = self.geometry;
        let comp = |o: OrderObjects, g: GfpFlags| GfpFlags {
            comp: g.comp || o.order > 0,
            ..g
        };
        let mut first = GfpFlags {
            nowarn: true,
            noretry: true,
            nofail: false,
            ..gfp
        };
        if self.rules.first_try == SlabFirstTry::NoReclaim
            && first.direct_reclaim
            && oo.order > min.order
        {
            first = GfpFlags {
                nomemalloc: true,
                direct_reclaim: false,
                kswapd_reclaim: false,
                ..first
            };
        }
        let (pfn, o) = match pa.alloc_pages(oo.order, self.page_request(comp(oo, first))) {
            Ok(pfn) => (pfn, oo),
            Err(_) => {
                let pfn = pa
                    .alloc_pages(min.order, self.page_request(comp(min, gfp)))
                    .map_err(|failure| SlabError::Alloc {
                        cache: self.name.clone(),
                        failure,
                    })?;
                (pfn, min)
            }
        };
        Ok(self.insert_slab(pfn, o.order, o.objects as u16))
    }

    fn insert_slab(&mut self, pfn: u32, order: u32, objects: u16) -> u32 {
        let slab = Slab {
            pfn,
            order: order as u8,
            objects,
            generation: 0,
            prev: NIL,
            next: NIL,
        };
        // A reused slot's in-use count is already 0 (`discard_slab()`).
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                let generation = self.slabs[slot as usize].generation.wrapping_add(1);
                self.slabs[slot as usize] = Slab { generation, ..slab };
                self.set_loc(slot, Loc::Full);
                slot
            }
            None => {
                self.slabs.push(slab);
                self.index.push(Loc::Full);
                (self.slabs.len() - 1) as u32
            }
        };
        self.nr_slabs += 1;
        self.total_objects += u64::from(objects);
        self.pages += 1 << order;
        slot
    }

    fn set_inuse(&mut self, slot: u32, inuse: u16) {
        self.inuse_objects = self.inuse_objects + u64::from(inuse) - u64::from(self.inuse(slot));
        self.index.set(slot as usize, inuse);
    }

    /// Models `discard_slab()` → `__free_slab()`: the slab's pages go back to the page allocator.
    fn discard_slab(&mut self, slot: u32, pa: &mut impl PageAllocator) {
        self.set_inuse(slot, 0);
        self.set_loc(slot, Loc::Free);
        let s = &self.slabs[slot as usize];
        pa.free_pages(s.pfn, u32::from(s.order));
        self.nr_slabs -= 1;
        self.total_objects -= u64::from(s.objects);
        self.pages -= 1 << s.order;
        self.free_slots.push(slot);
    }

    /// Models `add_partial()`: head or tail of the node partial list.
    fn node_push(&mut self, slot: u32, tail: bool) {
        let (head, tail_slot) = (self.node_head, self.node_tail);
        self.set_loc(slot, Loc::NodePartial);
        let s = &mut self.slabs[slot as usize];
        if head == NIL {
            s.prev = NIL;
            s.next = NIL;
            self.node_head = slot;
            self.node_tail = slot;
        } else if tail {
            s.prev = tail_slot;
            s.next = NIL;
            self.slabs[tail_slot as usize].next = slot;
            self.node_tail = slot;
        } else {
            s.prev = NIL;
            s.next = head;
            self.slabs[head as usize].prev = slot;
            self.node_head = slot;
        }
        self.nr_partial += 1;
    }

    /// Models `remove_partial()`.
    fn node_remove(&mut self, slot: u32) {
        let Slab { prev, next, .. } = self.slabs[slot as usize];
        if prev == NIL {
            self.node_head = next;
        } else {
            self.slabs[prev as usize].next = next;
        }
        if next == NIL {
            self.node_tail = prev;
        } else {
            self.slabs[next as usize].prev = prev;
        }
        self.nr_partial -= 1;
    }

    /// Whether an empty slab may be freed given the node's partial count (the comparison
    /// differs by version, [`MinPartialRule`]).
    fn over_min_partial(&self) -> bool {
        match self.rules.min_partial {
            MinPartialRule::Greater => self.nr_partial > self.min_partial,
            MinPartialRule::AtLeast => self.nr_partial >= self.min_partial,
        }
    }

    /// Models `put_cpu_partial()`: push a frozen slab with `free` free objects
    /// (`page->objects - page->inuse`) on `c->partial`; with `drain`, first move the list to
    /// the node if it already holds more than `cpu_partial` free objects.
    fn put_cpu_partial(&mut self, slot: u32, free: u32, drain: bool, pa: &mut impl PageAllocator) {
        let mut pobjects = self.cpu_partial_list.last().map_or(0, |&(_, p)| p);
        if drain && pobjects > self.cpu_partial {
            self.unfreeze_partials(pa);
            pobjects = 0;
        }
        self.set_loc(slot, Loc::CpuPartial);
        pobjects += free;
        self.cpu_partial_list.push((slot, pobjects));
    }

    /// Models `unfreeze_partials()`: every CPU-partial slab goes to the node partial list tail,
    /// except empty ones while the node is over `min_partial`, which are discarded.
    fn unfreeze_partials(&mut self, pa: &mut impl PageAllocator) {
        let list = std::mem::take(&mut self.cpu_partial_list);
        for &(slot, _) in list.iter().rev() {
            if self.inuse(slot) == 0 && self.over_min_partial() {
                self.discard_slab(slot, pa);
            } else {
                self.node_push(slot, true);
            }
        }
    }

    /// Models `deactivate_slab()` for the CPU slab: an empty one is freed when the node is over
    /// `min_partial`, a partial one goes to the node list head, a full one to no list.
    fn deactivate_cpu_slab(&mut self, pa: &mut impl PageAllocator) {
        let slot = std::mem::replace(&mut self.cpu_slab, NIL);
        if slot == NIL {
            return;
        }
        let inuse = self.inuse(slot);
        if inuse == 0 && self.over_min_partial() {
            self.discard_slab(slot, pa);
        } else if inuse < self.slabs[slot as usize].objects {
            self.node_push(slot, false);
        } else {
            self.set_loc(slot, Loc::Full);
        }
    }

    /// Models `get_partial_node()`: the node list head becomes the CPU slab; following slabs go
    /// to the CPU partial list until more than `cpu_partial / 2` free objects were taken.
    fn get_partial_node(&mut self, pa: &mut impl PageAllocator) -> bool {
        let mut available = 0u32;
        while self.node_head != NIL {
            let slot = self.node_head;
            self.node_remove(slot);
            let free = u32::from(self.slabs[slot as usize].objects - self.inuse(slot));
            available += free;
            if self.cpu_slab == NIL {
                self.set_loc(slot, Loc::Cpu);
                self.cpu_slab = slot;
            } else {
                self.put_cpu_partial(slot, free, false, pa);
            }
            if available > self.cpu_partial / 2 {
                break;
            }
        }
        self.cpu_slab != NIL
    }

    /// Allocates one object. Models `slab_alloc()` → `__slab_alloc()`: the CPU slab if it has a
    /// free object; else the CPU slab is deactivated and replaced by the head of the CPU partial
    /// list, else by slabs from the node partial list (`get_partial_node()`), else by a new slab
    /// (`new_slab()` → [`allocate_slab`](Self::allocate_slab)). `gfp` is the caller's mode.
    pub fn alloc_object(
        &mut self,
        gfp: GfpFlags,
        pa: &mut impl PageAllocator,
    ) -> Result<ObjectRef, SlabError> {
        let mut obj = None;
        self.alloc_objects(1, gfp, pa, |o| obj = Some(o))?;
        Ok(obj.expect("one object on success"))
    }

    /// Allocates `n` objects as `n` calls of [`alloc_object`](Self::alloc_object) would, a
    /// slab at a time: each CPU slab gives all its free objects before the next is found.
    /// Hands each object to `push`; stops at the first failure (the objects before it pushed).
    pub fn alloc_objects(
        &mut self,
        mut n: u64,
        gfp: GfpFlags,
        pa: &mut impl PageAllocator,
        mut push: impl FnMut(ObjectRef),
    ) -> Result<(), SlabError> {
        let free = |c: &Self| {
            if c.cpu_slab == NIL {
                0
            } else {
                c.slabs[c.cpu_slab as usize].objects - c.inuse(c.cpu_slab)
            }
        };
        while n > 0 {
            if free(self) == 0 {
                self.deactivate_cpu_slab(pa);
                if let Some((slot, _)) = self.cpu_partial_list.pop() {
                    self.set_loc(slot, Loc::Cpu);
                    self.cpu_slab = slot;
                } else if !self.get_partial_node(pa) {
                    let slot = self.allocate_slab(gfp, pa)?;
                    self.set_loc(slot, Loc::Cpu);
                    self.cpu_slab = slot;
                }
            }
            let slot = self.cpu_slab;
            let take = u64::from(free(self)).min(n) as u16;
            debug_assert!(take > 0, "a CPU slab with no free object");
            self.set_inuse(slot, self.inuse(slot) + take);
            let obj = ObjectRef {
                slot,
                generation: self.slabs[slot as usize].generation,
            };
            for _ in 0..take {
                push(obj);
            }
            n -= u64::from(take);
        }
        Ok(())
    }

    /// The `k`-th live object (0-based, in slab-slot order), or `None` if `k` is out of range.
    /// A caller that draws `k` uniformly below [`objects_in_use`](Self::objects_in_use) frees
    /// objects uniformly at random.
    pub fn nth_object(&self, k: u64) -> Option<ObjectRef> {
        if k >= self.inuse_objects {
            return None;
        }
        let slot = self.index.find(k) as u32;
        Some(ObjectRef {
            slot,
            generation: self.slabs[slot as usize].generation,
        })
    }

    /// Frees one object. Models `slab_free()` → `__slab_free()`: a free into the CPU slab or a
    /// CPU-partial slab only counts; a free into a full slab freezes it onto the CPU partial list
    /// (`put_cpu_partial(s, page, 1)`); a free that empties a node-partial slab discards it if the
    /// node is over `min_partial` ([`MinPartialRule`]), else it stays, empty, on the list.
    pub fn free_object(
        &mut self,
        obj: ObjectRef,
        pa: &mut impl PageAllocator,
    ) -> Result<(), SlabError> {
        let stale = || SlabError::StaleObject(self.name.clone());
        let s = self.slabs.get(obj.slot as usize).ok_or_else(stale)?;
        if s.generation != obj.generation
            || self.loc(obj.slot) == Loc::Free
            || self.inuse(obj.slot) == 0
        {
            return Err(stale());
        }
        self.free_in_slab(obj.slot, pa);
        Ok(())
    }

    /// Frees the `k`-th live object (0-based, in slab-slot order), as [`free_object`] of
    /// [`nth_object`]`(k)` does, without reading the slab's record unless the slab changes
    /// list: the shrinker's path. Returns false if `k` is out of range.
    ///
    /// [`free_object`]: Self::free_object
    /// [`nth_object`]: Self::nth_object
    pub fn free_nth_object(&mut self, k: u64, pa: &mut impl PageAllocator) -> bool {
        if k >= self.inuse_objects {
            return false;
        }
        let slot = self.index.find(k) as u32;
        self.free_in_slab(slot, pa);
        true
    }

    /// The `__slab_free()` part of [`free_object`](Self::free_object), for a live object of
    /// the slab at `slot`.
    fn free_in_slab(&mut self, slot: u32, pa: &mut impl PageAllocator) {
        let inuse = self.inuse(slot);
        self.set_inuse(slot, inuse - 1);
        // A free that neither empties the slab nor finds it full (no slab of the cache holds
        // fewer objects than the smaller geometry) moves it nowhere: its place is not read.
        let fewest = self.geometry.oo.objects.min(self.geometry.min.objects);
        if inuse > 1 && u32::from(inuse) < fewest {
            return;
        }
        match self.loc(slot) {
            // A dead cache keeps no CPU partials and no empty slabs.
            loc @ (Loc::Full | Loc::NodePartial) if self.dead && inuse == 1 => {
                if loc == Loc::NodePartial {
                    self.node_remove(slot);
                }
                self.discard_slab(slot, pa);
            }
            Loc::Full if self.dead => self.node_push(slot, true),
            // A full slab has `inuse == objects`: this free leaves it one free object.
            Loc::Full => self.put_cpu_partial(slot, 1, true, pa),
            Loc::NodePartial if inuse == 1 && self.over_min_partial() => {
                self.node_remove(slot);
                self.discard_slab(slot, pa);
            }
            _ => {}
        }
    }

    /// Models `kmem_cache_shrink()` → `__kmem_cache_shrink()`: flush the CPU slab and CPU
    /// partials to the node (`flush_all()`), then free every empty slab on the node partial list
    /// regardless of `min_partial`. Returns the pages freed.
    pub fn shrink(&mut self, pa: &mut impl PageAllocator) -> u64 {
        let before = self.pages;
        self.deactivate_cpu_slab(pa);
        self.unfreeze_partials(pa);
        let mut i = self.node_head;
        while i != NIL {
            let next = self.slabs[i as usize].next;
            if self.inuse(i) == 0 {
                self.node_remove(i);
                self.discard_slab(i, pa);
            }
            i = next;
        }
        before - self.pages
    }

    /// Shrinks the cache of a memcg that went away and marks it dead, so that from now on a
    /// free that empties a slab discards it and a free into a full slab moves it to the node
    /// list. Models 4.0+'s `__kmem_cache_shrink(s, deactivate = true)` (`min_partial` and
    /// `cpu_partial` set to 0) from `memcg_deactivate_kmem_caches()`. Returns the pages freed.
    pub fn shrink_dead(&mut self, pa: &mut impl PageAllocator) -> u64 {
        self.dead = true;
        self.shrink(pa)
    }

    /// Models `kmem_cache_destroy()`: every slab goes back to the page allocator and
    /// `s->memcg_params` is freed (`memcg_release_cache()`/`destroy_memcg_params()`). Callers
    /// free the objects first, as `nf_conntrack_cleanup_net()` does; objects still live are
    /// dropped with their slabs. Returns the pages freed.
    pub fn destroy(
        mut self,
        kmalloc: &mut Kmalloc,
        pa: &mut impl PageAllocator,
    ) -> Result<u64, SlabError> {
        let pages = self.pages;
        for slot in 0..self.slabs.len() as u32 {
            if self.loc(slot) != Loc::Free {
                self.discard_slab(slot, pa);
            }
        }
        if let Some(params) = self.memcg_params.take() {
            kmalloc.kfree(params, pa)?;
        }
        Ok(pages)
    }
}

// ---------------------------------------------------------------------------------------------
// kmalloc.

/// Where a kmalloc of some size is served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KmallocRoute {
    /// A `kmalloc-<object_size>` cache.
    Cache { object_size: u32 },
    /// `kmalloc_large()`: the page allocator at this order.
    Large { order: u32 },
}

/// Models `kmalloc_slab()` / `kmalloc_index()` (mm/slab_common.c, include/linux/slab.h) and the
/// `size > KMALLOC_MAX_CACHE_SIZE` test of `__kmalloc()`: which cache or order serves `size`.
pub fn kmalloc_route(size: u64) -> KmallocRoute {
    if size > KMALLOC_MAX_CACHE_SIZE {
        return KmallocRoute::Large {
            order: get_order(size),
        };
    }
    let object_size = KMALLOC_SIZES
        .into_iter()
        .find(|&s| u64::from(s) >= size)
        .unwrap_or(KMALLOC_SIZES[KMALLOC_SIZES.len() - 1]);
    KmallocRoute::Cache { object_size }
}

/// Models `kmalloc_order()` / `kmalloc_large()` (include/linux/slab.h, mm/slab_common.c): the
/// order and flags of a large kmalloc's page request.
pub fn kmalloc_large_request(
    size: u64,
    gfp: GfpFlags,
    flags: KmallocLargeFlags,
) -> (u32, SlabPageRequest) {
    let req = SlabPageRequest {
        gfp: GfpFlags {
            comp: true,
            account: gfp.account || flags == KmallocLargeFlags::CompKmemcg,
            ..gfp
        },
        owner: PageOwner::KmallocLarge,
    };
    (get_order(size), req)
}

/// Memory returned by [`Kmalloc::kmalloc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KmallocRef {
    /// An object of the `kmalloc-*` cache at this index of [`KMALLOC_SIZES`].
    Object { cache: u8, object: ObjectRef },
    /// A `kmalloc_large()` block.
    Large { pfn: u32, order: u32 },
}

/// The `kmalloc-*` caches and the large-kmalloc path.
#[derive(Clone, Debug)]
pub struct Kmalloc {
    caches: Vec<KmemCache>,
    large_flags: KmallocLargeFlags,
}

impl Kmalloc {
    /// Models `create_kmalloc_caches()`: one cache per [`KMALLOC_SIZES`] entry.
    pub fn new(rules: SlabRules, tunables: &SlubTunables) -> Result<Kmalloc, SlabError> {
        let caches = KMALLOC_SIZES
            .into_iter()
            .map(|s| {
                KmemCache::new(
                    &format!("kmalloc-{s}"),
                    s,
                    CacheFlags::default(),
                    rules,
                    tunables,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Kmalloc {
            caches,
            large_flags: rules.kmalloc_large,
        })
    }

    /// The `kmalloc-*` caches, smallest first.
    pub fn caches(&self) -> &[KmemCache] {
        &self.caches
    }

    /// Models `__kmalloc()`: sizes up to [`KMALLOC_MAX_CACHE_SIZE`] from the matching cache,
    /// larger ones through `kmalloc_large()`. `__GFP_ZERO` changes nothing the model sees.
    pub fn kmalloc(
        &mut self,
        size: u64,
        gfp: GfpFlags,
        pa: &mut impl PageAllocator,
    ) -> Result<KmallocRef, SlabError> {
        match kmalloc_route(size) {
            KmallocRoute::Large { .. } => {
                let (order, req) = kmalloc_large_request(size, gfp, self.large_flags);
                let pfn = pa
                    .alloc_pages(order, req)
                    .map_err(|failure| SlabError::Alloc {
                        cache: format!("kmalloc_large({size})"),
                        failure,
                    })?;
                Ok(KmallocRef::Large { pfn, order })
            }
            KmallocRoute::Cache { object_size } => {
                let cache = KMALLOC_SIZES
                    .iter()
                    .position(|&s| s == object_size)
                    .unwrap_or(KMALLOC_SIZES.len() - 1);
                let object = self.caches[cache].alloc_object(gfp, pa)?;
                Ok(KmallocRef::Object {
                    cache: cache as u8,
                    object,
                })
            }
        }
    }

    /// Models `kfree()`: an object back to its cache, a large block back to the page allocator
    /// (`__free_pages()` of the compound page).
    pub fn kfree(&mut self, r: KmallocRef, pa: &mut impl PageAllocator) -> Result<(), SlabError> {
        match r {
            KmallocRef::Large { pfn, order } => {
                pa.free_pages(pfn, order);
                Ok(())
            }
            KmallocRef::Object { cache, object } => match self.caches.get_mut(cache as usize) {
                Some(c) => c.free_object(object, pa),
                None => Err(SlabError::StaleObject(format!("kmalloc cache #{cache}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::gfp::GfpLayout;

    /// Counts pages; fails orders above `max_order`.
    #[derive(Default)]
    struct Counter {
        next: u32,
        live: std::collections::BTreeMap<u32, u32>,
        max_order: Option<u32>,
        requests: Vec<(u32, SlabPageRequest)>,
    }

    impl PageAllocator for Counter {
        fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, AllocFailure> {
            self.requests.push((order, req));
            if self.max_order.is_some_and(|m| order > m) {
                return Err(AllocFailure::NoBlockOfOrder);
            }
            let pfn = self.next;
            self.next += 1 << order;
            self.live.insert(pfn, order);
            Ok(pfn)
        }
        fn free_pages(&mut self, pfn: u32, order: u32) {
            assert_eq!(
                self.live.remove(&pfn),
                Some(order),
                "free of a block not allocated"
            );
        }
    }

    fn rules() -> SlabRules {
        SlabRules {
            order: SlabOrderRule::MinObjectsLoop,
            min_partial: MinPartialRule::Greater,
            first_try: SlabFirstTry::NoRetry,
            cpu_partial: CpuPartialRule::Small,
            kmalloc_large: KmallocLargeFlags::CompKmemcg,
        }
    }

    #[test]
    fn get_order_matches_the_kernel() {
        assert_eq!(get_order(1), 0);
        assert_eq!(get_order(4096), 0);
        assert_eq!(get_order(4097), 1);
        assert_eq!(get_order(8192), 1);
        assert_eq!(get_order(8193), 2);
        assert_eq!(get_order(262144), 6);
        assert_eq!(get_order(262145), 7);
    }

    #[test]
    fn conntrack_geometry_depends_on_cpus() {
        // 320-byte nf_conn: order 0 with 12 objects while min_objects <= 12 (<= 3 CPUs),
        // order 1 with 25 objects for 4..=31 CPUs (min_objects 16..=24), order 2 with 51 from 32.
        let g = |cpus| {
            SlabGeometry::calculate(
                320,
                SlabOrderRule::MinObjectsLoop,
                &SlubTunables::with_cpus(cpus),
            )
        };
        assert_eq!(
            g(2).unwrap().oo,
            OrderObjects {
                order: 0,
                objects: 12
            }
        );
        assert_eq!(
            g(4).unwrap().oo,
            OrderObjects {
                order: 1,
                objects: 25
            }
        );
        assert_eq!(
            g(31).unwrap().oo,
            OrderObjects {
                order: 1,
                objects: 25
            }
        );
        assert_eq!(
            g(32).unwrap().oo,
            OrderObjects {
                order: 2,
                objects: 51
            }
        );
        assert_eq!(
            g(4).unwrap().min,
            OrderObjects {
                order: 0,
                objects: 12
            }
        );
    }

    #[test]
    fn waste_fractions_rule_counts_present_cpus() {
        // 320 B with 64 possible but 2 present CPUs: 6.7+ uses min_objects 12 (order 0, 12
        // objects); 3.10 – 6.6 use nr_cpu_ids: min_objects 32 (order 2, 51 objects).
        let t = SlubTunables {
            present_cpus: 2,
            ..SlubTunables::with_cpus(64)
        };
        assert_eq!(
            calculate_order(320, SlabOrderRule::WasteFractions, &t),
            Some(0)
        );
        assert_eq!(
            calculate_order(320, SlabOrderRule::MinObjectsLoop, &t),
            Some(2)
        );
        // One present CPU is not trusted: back to nr_cpu_ids.
        let t1 = SlubTunables {
            present_cpus: 1,
            ..t
        };
        assert_eq!(
            calculate_order(320, SlabOrderRule::WasteFractions, &t1),
            Some(2)
        );
        // Objects bigger than a max-order slab: get_order(size).
        let big = SlubTunables::with_cpus(8);
        assert_eq!(
            calculate_order(40000, SlabOrderRule::WasteFractions, &big),
            Some(4)
        );
        assert_eq!(
            calculate_order(40000, SlabOrderRule::MinObjectsLoop, &big),
            Some(4)
        );
        assert_eq!(
            calculate_order(5 << 20, SlabOrderRule::MinObjectsLoop, &big),
            None
        );
    }

    #[test]
    fn min_partial_and_cpu_partial() {
        assert_eq!(min_partial(320), 5);
        assert_eq!(min_partial(1 << 20), 10);
        assert_eq!(min_partial(1 << 14), 7);
        assert_eq!(cpu_partial(320, CpuPartialRule::Small), 13);
        assert_eq!(cpu_partial(64, CpuPartialRule::Small), 30);
        assert_eq!(cpu_partial(8192, CpuPartialRule::Small), 2);
        assert_eq!(cpu_partial(320, CpuPartialRule::Large), 52);
    }

    #[test]
    fn gfp_modes_of_the_incident() {
        let req = GfpFlags {
            zero: true,
            comp: true,
            ..GfpFlags::GFP_KERNEL
        };
        let account = GfpFlags {
            account: true,
            ..req
        };
        assert_eq!(GfpLayout::V3_10.mask(&account), 0x10c0d0);
        assert_eq!(GfpLayout::Rhel7.mask(&req), 0xc0d0);
        assert_eq!(GfpLayout::V4_6.mask(&req), 0x240c0c0);
        assert_eq!(GfpLayout::V4_19.mask(&req), 0x60c0c0);
        assert_eq!(GfpLayout::V5_15.mask(&req), 0x40dc0);
        assert_eq!(GfpLayout::V4_4.mask(&GfpFlags::GFP_KERNEL), 0x24000c0);
        assert_eq!(GfpLayout::V6_18.mask(&GfpFlags::GFP_KERNEL), 0xcc0);
    }

    #[test]
    fn first_try_is_noretry_then_min_with_original_flags() {
        let mut pa = Counter {
            max_order: Some(0),
            ..Counter::default()
        };
        let mut c = KmemCache::new(
            "t",
            320,
            CacheFlags::default(),
            rules(),
            &SlubTunables::with_cpus(8),
        )
        .unwrap();
        c.alloc_object(GfpFlags::GFP_KERNEL, &mut pa).unwrap();
        assert_eq!(pa.requests.len(), 2);
        let (o1, r1) = pa.requests[0];
        let (o2, r2) = pa.requests[1];
        assert_eq!((o1, r1.is_first_try()), (1, true));
        assert!(r1.gfp.comp);
        assert_eq!((o2, r2.is_first_try()), (0, false));
        assert_eq!(r2.gfp, GfpFlags::GFP_KERNEL);
        // The fallback slab holds min.objects; slabinfo still prints oo.
        let info = c.slabinfo();
        assert_eq!(
            (info.num_objs, info.objperslab, info.pagesperslab),
            (12, 25, 2)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Allocating `k` objects at once hands out the objects, and leaves the slabs and the
        /// page allocator, exactly as `k` single allocations do, whatever frees come between.
        #[test]
        fn bulk_allocation_is_single_allocations_in_a_row(
            ops in proptest::collection::vec((proptest::prelude::any::<bool>(), 1u64..60, proptest::prelude::any::<u16>()), 1..200),
            size in proptest::sample::select(vec![64u32, 192, 1024, 4096]),
        ) {
            let new = || {
                KmemCache::new("c", size, CacheFlags::default(), rules(), &SlubTunables::with_cpus(4))
                    .unwrap()
            };
            let (mut bulk, mut single) = (new(), new());
            let (mut pa_bulk, mut pa_single) = (Counter::default(), Counter::default());
            let (mut live_bulk, mut live_single) = (Vec::new(), Vec::new());
            for (alloc, k, pick) in ops {
                if alloc || live_bulk.is_empty() {
                    bulk.alloc_objects(k, GfpFlags::GFP_KERNEL, &mut pa_bulk, |o| live_bulk.push(o))
                        .unwrap();
                    for _ in 0..k {
                        live_single.push(single.alloc_object(GfpFlags::GFP_KERNEL, &mut pa_single).unwrap());
                    }
                } else {
                    let i = usize::from(pick) % live_bulk.len();
                    bulk.free_object(live_bulk.swap_remove(i), &mut pa_bulk).unwrap();
                    single.free_object(live_single.swap_remove(i), &mut pa_single).unwrap();
                }
                proptest::prop_assert_eq!(&live_bulk, &live_single);
                proptest::prop_assert_eq!(bulk.slabinfo(), single.slabinfo());
                proptest::prop_assert_eq!(&pa_bulk.live, &pa_single.live);
            }
        }
    }

    #[test]
    fn reclaimable_caches_ask_for_reclaimable_pages() {
        let mut pa = Counter::default();
        let flags = CacheFlags {
            reclaim_account: true,
            ..CacheFlags::default()
        };
        let mut c =
            KmemCache::new("dentry", 192, flags, rules(), &SlubTunables::with_cpus(8)).unwrap();
        c.alloc_object(GfpFlags::GFP_KERNEL, &mut pa).unwrap();
        assert_eq!(pa.requests[0].1.migrate_type(), MigrateType::Reclaimable);
        let mut d = KmemCache::new(
            "x",
            192,
            CacheFlags::default(),
            rules(),
            &SlubTunables::with_cpus(8),
        )
        .unwrap();
        d.alloc_object(GfpFlags::GFP_KERNEL, &mut pa).unwrap();
        assert_eq!(pa.requests[1].1.migrate_type(), MigrateType::Unmovable);
    }

    #[test]
    fn min_partial_comparison_differs_by_version() {
        // 4096-byte objects: min_partial 6, cpu_partial 2, 8 objects per order-3 slab. Fill 8
        // slabs, free every object oldest first, flush the CPU slab and CPU partials: empty slabs
        // reach the node while it holds fewer than min_partial + 1 (3.10, `>`) or min_partial
        // (4.19, `>=`) slabs; the rest go back to the page allocator.
        for (rule, kept) in [(MinPartialRule::Greater, 7), (MinPartialRule::AtLeast, 6)] {
            let mut pa = Counter::default();
            let r = SlabRules {
                min_partial: rule,
                ..rules()
            };
            let mut c = KmemCache::new(
                "t",
                4096,
                CacheFlags::default(),
                r,
                &SlubTunables::with_cpus(8),
            )
            .unwrap();
            assert_eq!((c.min_partial(), c.cpu_partial()), (6, 2));
            let per = c.geometry().oo.objects as usize;
            let objs: Vec<_> = (0..per * 8)
                .map(|_| c.alloc_object(GfpFlags::GFP_KERNEL, &mut pa).unwrap())
                .collect();
            assert_eq!(c.nr_slabs(), 8);
            for o in objs {
                c.free_object(o, &mut pa).unwrap();
            }
            c.deactivate_cpu_slab(&mut pa);
            c.unfreeze_partials(&mut pa);
            assert_eq!(c.objects_in_use(), 0);
            assert_eq!(c.nr_slabs(), kept, "{rule:?}");
            assert_eq!(c.shrink(&mut pa), kept * (1 << c.geometry().oo.order));
            assert_eq!(c.nr_slabs(), 0);
            assert!(pa.live.is_empty());
        }
    }

    #[test]
    fn fenwick_finds_the_kth_object() {
        let f = Fenwick::build(vec![3, 0, 2, 5]);
        let got: Vec<usize> = (0..10).map(|k| f.find(k).0).collect();
        assert_eq!(got, vec![0, 0, 0, 2, 2, 3, 3, 3, 3, 3]);
        assert_eq!(f.find(4), (2, 1));
    }

    #[test]
    fn slot_index_finds_the_kth_object_with_and_without_the_group_tree() {
        // Below SMALL_INDEX the counts are scanned; above it the tree is built from the counts
        // set so far and kept up to date.
        for len in [3 * INDEX_GROUP + 5, SMALL_INDEX + 3 * INDEX_GROUP + 5] {
            let mut index = SlotIndex::default();
            let counts: Vec<u16> = (0..len as u16).map(|i| i % 3).collect();
            for (slot, &c) in counts.iter().enumerate() {
                index.push(Loc::Full);
                index.set(slot, c);
            }
            assert_eq!(index.counts.groups.0.is_empty(), len <= SMALL_INDEX);
            let expected: Vec<usize> = counts
                .iter()
                .enumerate()
                .flat_map(|(slot, &c)| std::iter::repeat_n(slot, usize::from(c)))
                .collect();
            let got: Vec<usize> = (0..expected.len() as u64).map(|k| index.find(k)).collect();
            assert_eq!(got, expected, "{len} slots");
            index.set(1, 0);
            assert_eq!(index.find(0), 2);
            // Ranks within the slot, as the per-memcg copies use them.
            assert_eq!(index.counts.find(1), (2, 1));
            let last = len - 1;
            index.set(last, 7);
            let total = expected.len() as u64 - 1 - u64::from(counts[last]) + 7;
            assert_eq!(index.counts.find(total - 1), (last, 6));
        }
    }

    #[test]
    fn kmalloc_routes() {
        assert_eq!(kmalloc_route(8), KmallocRoute::Cache { object_size: 8 });
        assert_eq!(kmalloc_route(65), KmallocRoute::Cache { object_size: 96 });
        assert_eq!(
            kmalloc_route(8192),
            KmallocRoute::Cache { object_size: 8192 }
        );
        assert_eq!(kmalloc_route(8193), KmallocRoute::Large { order: 2 });
        assert_eq!(kmalloc_route(196672), KmallocRoute::Large { order: 6 });
    }
}
