//! Memory-cgroup kernel-memory accounting (mm/memcontrol.c, mm/slab_common.c): kmem ids and the
//! per-cache array indexed by them.
//!
//! With kmem accounting, every memcg that accounts kernel memory gets a small integer, its
//! *kmem id*, from an IDA (lowest free id first). Every root slab cache keeps an array with one
//! slot per possible id (`memcg_params->memcg_caches[]`, later `memcg_cache_array`), so that a
//! task's allocation can find its memcg's child cache. The array length,
//! `memcg_limited_groups_array_size` (later `memcg_nr_cache_ids`), only grows: when an id at or
//! beyond it is handed out, it becomes `2 × (id + 1)` (at least 4, at most 65535) and *every*
//! root cache reallocates its array (`memcg_update_all_caches()`). A root cache created later
//! (`kmem_cache_create()`) kzallocs an array of the current length.
//!
//! Ids are released late. On 3.10 the id goes back to the IDA only when the memcg is finally
//! freed (`disarm_kmem_keys()` from `__mem_cgroup_free()`), and a removed memcg that still holds
//! kmem charges (a dentry, an inode…) is never freed: such "zombie" memcgs keep their ids, so a
//! node that creates and removes many containers keeps raising the highest id in use. 4.0+ frees
//! the id when the memcg goes offline (`memcg_deactivate_kmem()` / `memcg_offline_kmem()`).
//!
//! The array's size decides the kzalloc's route: above 8 KiB it is a `kmalloc_large()` of order
//! `get_order(size)` ([`crate::mm::slub::kmalloc_route`]). With the 3.10 header of 80 bytes:
//!
//! | highest kmem id + 1 | entries | bytes | order |
//! |---|---|---|---|
//! | 767 – 1 534 | 1 534 | 12 352 | 2 |
//! | 1 535 – 3 070 | 3 070 | 24 640 | 3 |
//! | 3 071 – 6 142 | 6 142 | 49 216 | 4 |
//! | 6 143 – 12 286 | 12 286 | 98 368 | 5 |
//! | 12 287 – 24 574 | 24 574 | 196 672 | 6 |
//! | 24 575 – 49 150 | 49 150 | 393 280 | 7 |
//! | 49 151 – 65 535 | 65 535 | 524 360 | 8 |
//!
//! The engine owns the root caches; growth is handed to it as an [`ArrayGrowth`] through a
//! callback so that it performs one kzalloc per root cache and can fail the activation.

use crate::kernel::gfp::GfpFlags;
use crate::mm::slub::{Kmalloc, KmallocRef, KmemCache, PageAllocator, SlabError};
use std::collections::BTreeSet;

/// `MEMCG_CACHES_MIN_SIZE`.
pub const MEMCG_CACHES_MIN_SIZE: u32 = 4;
/// `MEMCG_CACHES_MAX_SIZE` (65535 in 3.10; `MEM_CGROUP_ID_MAX` = `USHRT_MAX` later). Ids are
/// below it (`ida_simple_get(…, 0, MEMCG_CACHES_MAX_SIZE, …)`).
pub const MEMCG_CACHES_MAX_SIZE: u32 = 65535;

/// How a root cache's memcg array is sized and when a new root cache gets one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CacheParamsRule {
    /// 3.10 `memcg_register_cache()` / `memcg_update_cache_size()`:
    /// `kzalloc(sizeof(struct memcg_cache_params) + N * sizeof(void *))`, the struct being 80
    /// bytes on x86-64 (bool + union of the child fields: memcg, list, root_cache, dead,
    /// nr_pages, a 32-byte work_struct; a 2013 linux-mm review of `memcg_register_cache()` gives
    /// the same 80); only while `memcg_kmem_enabled()`.
    V3_10,
    /// RHEL 7.9 (3.10.0-1160) `memcg_alloc_cache_params()`: `offsetof(struct memcg_cache_params,
    /// memcg_caches) + N * 8`; the 3.14-era struct puts an `rcu_head` before the array, so 24
    /// (**unconfirmed**: the RHEL source was not read); only while `memcg_kmem_enabled()`.
    Rhel7,
    /// 4.0 – 5.8 `init_memcg_params()` / `update_memcg_params()`:
    /// `kzalloc(sizeof(struct memcg_cache_array) + memcg_nr_cache_ids * 8)`, 16 bytes of
    /// `rcu_head`; whenever `memcg_nr_cache_ids` is non-zero.
    CacheArray,
    /// 5.9+: per-object `obj_cgroup` accounting, no per-cache array.
    NoArray,
}

impl CacheParamsRule {
    /// Bytes before the array; `None` where there is no array.
    pub fn header(self) -> Option<u64> {
        match self {
            CacheParamsRule::V3_10 => Some(80),
            CacheParamsRule::Rhel7 => Some(24),
            CacheParamsRule::CacheArray => Some(16),
            CacheParamsRule::NoArray => None,
        }
    }

    /// The kzalloc a root cache's array takes with `entries` slots; `None` where there is no
    /// array.
    pub fn request(self, entries: u32) -> Option<KzallocRequest> {
        let header = self.header()?;
        Some(KzallocRequest::kernel(header + 8 * u64::from(entries)))
    }
}

/// `memcg_caches_array_size()`: the array length for `num_groups` kmem ids, twice the ids, at
/// least `MEMCG_CACHES_MIN_SIZE` and at most `MEMCG_CACHES_MAX_SIZE`.
pub fn memcg_caches_array_size(num_groups: u32) -> u32 {
    (2 * num_groups).clamp(MEMCG_CACHES_MIN_SIZE, MEMCG_CACHES_MAX_SIZE)
}

/// The array length once kmem id `id` was handed out. Ids come lowest free first, so the array
/// grows exactly when the id equals its length ([`MemcgKmem::activate_kmem`]): from 0 through
/// 4, 10, 22, 46, … until it exceeds `id`. It never shrinks, so this is the least length a node
/// that ever used `id` has.
pub fn array_size_after(id: u32) -> u32 {
    let mut size = 0;
    while id >= size && size < MEMCG_CACHES_MAX_SIZE {
        size = memcg_caches_array_size(size + 1);
    }
    size
}

/// When a memcg's kmem id goes back to the IDA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KmemIdRelease {
    /// 3.10 (and, unconfirmed, RHEL 7): `disarm_kmem_keys()` from `__mem_cgroup_free()`, when
    /// the last reference (kmem charges included) is gone.
    OnFree,
    /// 4.0+: `memcg_deactivate_kmem()` (4.4) / `memcg_offline_kmem()` from `css_offline`.
    OnOffline,
}

/// The memcg kmem rules of one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemcgRules {
    pub params: CacheParamsRule,
    pub id_release: KmemIdRelease,
}

/// A kzalloc the memcg code asks for (`kzalloc(size, GFP_KERNEL)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KzallocRequest {
    pub size: u64,
    pub gfp: GfpFlags,
}

impl KzallocRequest {
    fn kernel(size: u64) -> Self {
        KzallocRequest {
            size,
            gfp: GfpFlags {
                zero: true,
                ..GfpFlags::GFP_KERNEL
            },
        }
    }
}

/// The arrays grew: every root cache must reallocate its array to `request.size`
/// (`memcg_update_all_caches()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ArrayGrowth {
    pub old_entries: u32,
    pub new_entries: u32,
    pub request: KzallocRequest,
}

/// A memcg, by index of creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct MemcgId(pub u32);

/// Where a memcg is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MemcgState {
    Online,
    /// Removed (rmdir, `css_offline`) but not freed: it still holds kmem charges.
    Zombie,
    Freed,
}

#[derive(Clone, Copy, Debug)]
struct Memcg {
    state: MemcgState,
    kmem_id: Option<u32>,
    /// Whether kmem accounting was activated (`memcg_kmem_is_active()`); the static key holds a
    /// reference until the memcg is freed.
    kmem_active: bool,
    kmem_pages: u64,
}

/// Errors of the memcg layer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemcgError {
    #[error("memcg {0:?} does not exist or was freed")]
    NoSuchMemcg(MemcgId),
    #[error("no kmem id left (all {MEMCG_CACHES_MAX_SIZE} in use)")]
    NoSpace,
    #[error("growing the memcg cache arrays failed: {0}")]
    Grow(SlabError),
    #[error("uncharging {pages} pages from memcg {memcg:?}, which holds {held}")]
    Uncharge {
        memcg: MemcgId,
        pages: u64,
        held: u64,
    },
}

/// The IDA of kmem ids: lowest free id first (`ida_simple_get(&kmem_limited_groups, 0, max)`).
#[derive(Clone, Debug, Default)]
struct Ida {
    next: u32,
    released: BTreeSet<u32>,
}

impl Ida {
    fn get(&mut self, max: u32) -> Option<u32> {
        if let Some(id) = self.released.pop_first() {
            return Some(id);
        }
        (self.next < max).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
    fn remove(&mut self, id: u32) {
        if id + 1 == self.next {
            self.next -= 1;
            while self.next > 0 && self.released.remove(&(self.next - 1)) {
                self.next -= 1;
            }
        } else {
            self.released.insert(id);
        }
    }
    fn in_use(&self) -> u32 {
        self.next - self.released.len() as u32
    }
}

/// The kmem side of the memory controller.
#[derive(Clone, Debug)]
pub struct MemcgKmem {
    rules: MemcgRules,
    accounting: bool,
    ida: Ida,
    array_size: u32,
    /// `memcg_kmem_enabled_key` reference count.
    static_key: u32,
    memcgs: Vec<Memcg>,
}

impl MemcgKmem {
    /// `accounting = false` models a kernel without kmem accounting (`cgroup.memory=nokmem`, or
    /// a runtime that never sets `memory.kmem.limit_in_bytes` on 3.10): no ids, no arrays.
    pub fn new(rules: MemcgRules, accounting: bool) -> Self {
        MemcgKmem {
            rules,
            accounting,
            ida: Ida::default(),
            array_size: 0,
            static_key: 0,
            memcgs: Vec::new(),
        }
    }

    /// `memcg_limited_groups_array_size` / `memcg_nr_cache_ids`.
    pub fn array_size(&self) -> u32 {
        self.array_size
    }
    /// Kmem ids currently allocated.
    pub fn kmem_ids_in_use(&self) -> u32 {
        self.ida.in_use()
    }
    /// `memcg_kmem_enabled()`: some memcg activated kmem accounting and is not freed yet.
    pub fn kmem_enabled(&self) -> bool {
        self.static_key > 0
    }
    pub fn state(&self, m: MemcgId) -> Option<MemcgState> {
        self.memcgs.get(m.0 as usize).map(|c| c.state)
    }
    pub fn kmem_id(&self, m: MemcgId) -> Option<u32> {
        self.memcgs.get(m.0 as usize).and_then(|c| c.kmem_id)
    }
    /// Removed memcgs not yet freed.
    pub fn zombies(&self) -> usize {
        self.memcgs
            .iter()
            .filter(|c| c.state == MemcgState::Zombie)
            .count()
    }

    /// Models `mem_cgroup_css_alloc()`: a new memcg, without kmem accounting yet.
    pub fn create(&mut self) -> MemcgId {
        self.memcgs.push(Memcg {
            state: MemcgState::Online,
            kmem_id: None,
            kmem_active: false,
            kmem_pages: 0,
        });
        MemcgId(self.memcgs.len() as u32 - 1)
    }

    fn get_mut(&mut self, m: MemcgId) -> Result<&mut Memcg, MemcgError> {
        self.memcgs
            .get_mut(m.0 as usize)
            .filter(|c| c.state != MemcgState::Freed)
            .ok_or(MemcgError::NoSuchMemcg(m))
    }

    /// Activates kmem accounting for `m` (runc setting `memory.kmem.limit_in_bytes`; in 4.6+
    /// every memcg at `css_online`). Models `memcg_activate_kmem()` → `memcg_update_cache_sizes()`
    /// (3.10) / `memcg_alloc_cache_id()` (4.x): take the lowest free id; if it does not fit the
    /// arrays, grow them to `clamp(2 × (id + 1), 4, 65535)` (`memcg_caches_array_size()`),
    /// calling `grow` so the owner of the root caches reallocates every array
    /// (`memcg_update_all_caches()`); if that fails, the id is released and the size kept.
    /// Returns the id, or `None` when accounting is off or already active.
    pub fn activate_kmem(
        &mut self,
        m: MemcgId,
        grow: impl FnOnce(&ArrayGrowth) -> Result<(), SlabError>,
    ) -> Result<Option<u32>, MemcgError> {
        let accounting = self.accounting;
        let memcg = self.get_mut(m)?;
        if !accounting || memcg.kmem_active || memcg.state != MemcgState::Online {
            return Ok(None);
        }
        let id = self
            .ida
            .get(MEMCG_CACHES_MAX_SIZE)
            .ok_or(MemcgError::NoSpace)?;
        if id >= self.array_size {
            let new_entries = memcg_caches_array_size(id + 1);
            if let Some(request) = self.rules.params.request(new_entries) {
                let growth = ArrayGrowth {
                    old_entries: self.array_size,
                    new_entries,
                    request,
                };
                if let Err(e) = grow(&growth) {
                    self.ida.remove(id);
                    return Err(MemcgError::Grow(e));
                }
            }
            self.array_size = new_entries;
        }
        self.static_key += 1;
        let memcg = self.get_mut(m)?;
        memcg.kmem_active = true;
        memcg.kmem_id = Some(id);
        Ok(Some(id))
    }

    /// The kzalloc a root `kmem_cache_create()` makes now for its memcg array, or `None` if it
    /// makes none. Models the gate and size of `memcg_register_cache()` (3.10: only while
    /// `memcg_kmem_enabled()`), `memcg_alloc_cache_params()` (RHEL 7, same gate) and
    /// `init_memcg_params()` (4.x: whenever `memcg_nr_cache_ids` is non-zero).
    pub fn root_cache_params(&self) -> Option<KzallocRequest> {
        let gate = match self.rules.params {
            CacheParamsRule::V3_10 | CacheParamsRule::Rhel7 => self.kmem_enabled(),
            CacheParamsRule::CacheArray => self.array_size > 0,
            CacheParamsRule::NoArray => false,
        };
        if gate {
            self.rules.params.request(self.array_size)
        } else {
            None
        }
    }

    /// Charges `pages` of kernel memory to `m` (`memcg_charge_kmem()`).
    pub fn charge_kmem(&mut self, m: MemcgId, pages: u64) -> Result<(), MemcgError> {
        self.get_mut(m)?.kmem_pages += pages;
        Ok(())
    }

    /// Uncharges `pages` (`memcg_uncharge_kmem()`); a zombie whose last charge goes is freed.
    pub fn uncharge_kmem(&mut self, m: MemcgId, pages: u64) -> Result<(), MemcgError> {
        let memcg = self.get_mut(m)?;
        if pages > memcg.kmem_pages {
            return Err(MemcgError::Uncharge {
                memcg: m,
                pages,
                held: memcg.kmem_pages,
            });
        }
        memcg.kmem_pages -= pages;
        if memcg.state == MemcgState::Zombie && memcg.kmem_pages == 0 {
            self.free(m);
        }
        Ok(())
    }

    /// Removes `m` (rmdir). Models `mem_cgroup_css_offline()`: on 4.0+ the kmem id is released
    /// here ([`KmemIdRelease::OnOffline`]); the memcg is freed at once if it holds no kmem
    /// charges, else it lingers as a zombie until [`uncharge_kmem`](Self::uncharge_kmem) takes
    /// the last one.
    pub fn remove(&mut self, m: MemcgId) -> Result<MemcgState, MemcgError> {
        let release = self.rules.id_release;
        let memcg = self.get_mut(m)?;
        if memcg.state != MemcgState::Online {
            return Ok(memcg.state);
        }
        let charged = memcg.kmem_pages > 0;
        let id = if release == KmemIdRelease::OnOffline {
            memcg.kmem_id.take()
        } else {
            None
        };
        memcg.state = MemcgState::Zombie;
        if let Some(id) = id {
            self.ida.remove(id);
        }
        if !charged {
            self.free(m);
        }
        Ok(self.memcgs[m.0 as usize].state)
    }

    /// Models `__mem_cgroup_free()` → `disarm_static_keys()` → `disarm_kmem_keys()`: drop the
    /// static key reference and (3.10) release the kmem id.
    fn free(&mut self, m: MemcgId) {
        let memcg = &mut self.memcgs[m.0 as usize];
        memcg.state = MemcgState::Freed;
        if std::mem::take(&mut memcg.kmem_active) {
            self.static_key -= 1;
        }
        if let Some(id) = memcg.kmem_id.take() {
            self.ida.remove(id);
        }
    }
}

/// Performs one root cache's part of an [`ArrayGrowth`]. Models `memcg_update_cache_size()`
/// (3.10) / `update_memcg_params()` (4.x): kzalloc the new array, then kfree the old one. On
/// failure the old array stays.
pub fn update_cache_params(
    cache: &mut KmemCache,
    growth: &ArrayGrowth,
    kmalloc: &mut Kmalloc,
    pa: &mut impl PageAllocator,
) -> Result<(), SlabError> {
    let new: KmallocRef = kmalloc.kmalloc(growth.request.size, growth.request.gfp, pa)?;
    if let Some(old) = cache.memcg_params.replace(new) {
        kmalloc.kfree(old, pa)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::slub::{get_order, kmalloc_route, KmallocRoute};

    const V3_10: MemcgRules = MemcgRules {
        params: CacheParamsRule::V3_10,
        id_release: KmemIdRelease::OnFree,
    };

    fn activate(m: &mut MemcgKmem, id: MemcgId) -> Option<u32> {
        m.activate_kmem(id, |_| Ok(())).unwrap()
    }

    #[test]
    fn ids_are_lowest_free_and_zombies_keep_theirs() {
        let mut k = MemcgKmem::new(V3_10, true);
        let a = k.create();
        let b = k.create();
        let c = k.create();
        assert_eq!(activate(&mut k, a), Some(0));
        assert_eq!(activate(&mut k, b), Some(1));
        k.charge_kmem(b, 3).unwrap();
        assert_eq!(k.remove(b).unwrap(), MemcgState::Zombie);
        assert_eq!(k.remove(a).unwrap(), MemcgState::Freed);
        // id 0 came back, id 1 is held by the zombie.
        assert_eq!(activate(&mut k, c), Some(0));
        let d = k.create();
        assert_eq!(activate(&mut k, d), Some(2));
        k.uncharge_kmem(b, 3).unwrap();
        assert_eq!(k.state(b), Some(MemcgState::Freed));
        let e = k.create();
        assert_eq!(activate(&mut k, e), Some(1));
    }

    #[test]
    fn offline_release_frees_ids_of_zombies() {
        let rules = MemcgRules {
            params: CacheParamsRule::CacheArray,
            id_release: KmemIdRelease::OnOffline,
        };
        let mut k = MemcgKmem::new(rules, true);
        let a = k.create();
        activate(&mut k, a);
        k.charge_kmem(a, 1).unwrap();
        assert_eq!(k.remove(a).unwrap(), MemcgState::Zombie);
        assert_eq!(k.kmem_ids_in_use(), 0);
    }

    #[test]
    fn array_grows_to_twice_the_id_and_never_shrinks() {
        let mut k = MemcgKmem::new(V3_10, true);
        let mut sizes = Vec::new();
        let mut memcgs = Vec::new();
        for _ in 0..23 {
            let m = k.create();
            k.activate_kmem(m, |g| {
                sizes.push(g.new_entries);
                Ok(())
            })
            .unwrap();
            memcgs.push(m);
        }
        assert_eq!(sizes, vec![4, 10, 22, 46]);
        for m in memcgs {
            k.remove(m).unwrap();
        }
        assert_eq!(k.array_size(), 46);
        assert!(!k.kmem_enabled());
        assert_eq!(k.root_cache_params(), None, "3.10 gates on the static key");
    }

    /// The closed form the analysis of a capture uses gives the length the IDA's growth reaches.
    #[test]
    fn array_size_after_an_id_is_the_grown_length() {
        let mut k = MemcgKmem::new(V3_10, true);
        for id in 0..3000 {
            let m = k.create();
            assert_eq!(activate(&mut k, m), Some(id));
            assert_eq!(array_size_after(id), k.array_size(), "id {id}");
        }
        assert_eq!(array_size_after(12286), 24574);
        assert_eq!(
            array_size_after(MEMCG_CACHES_MAX_SIZE - 1),
            MEMCG_CACHES_MAX_SIZE
        );
    }

    #[test]
    fn failed_growth_releases_the_id() {
        let mut k = MemcgKmem::new(V3_10, true);
        let a = k.create();
        let err = k.activate_kmem(a, |_| Err(SlabError::StaleObject("x".into())));
        assert!(err.is_err());
        assert_eq!(
            (k.kmem_ids_in_use(), k.array_size(), k.kmem_enabled()),
            (0, 0, false)
        );
    }

    #[test]
    fn nokmem_makes_no_ids_and_no_arrays() {
        let mut k = MemcgKmem::new(V3_10, false);
        let a = k.create();
        assert_eq!(activate(&mut k, a), None);
        assert_eq!(k.root_cache_params(), None);
        assert_eq!(k.array_size(), 0);
    }

    #[test]
    fn order_thresholds_of_the_3_10_array() {
        // Highest id + 1 at which each order first appears.
        let mut k = MemcgKmem::new(V3_10, true);
        let mut first = std::collections::BTreeMap::new();
        for n in 1..=MEMCG_CACHES_MAX_SIZE {
            let m = k.create();
            activate(&mut k, m);
            let req = k.root_cache_params().unwrap();
            if let KmallocRoute::Large { order } = kmalloc_route(req.size) {
                first.entry(order).or_insert((n, req.size));
            }
        }
        let got: Vec<(u32, u32, u64)> = first.into_iter().map(|(o, (n, s))| (o, n, s)).collect();
        assert_eq!(
            got,
            vec![
                (2, 767, 12352),
                (3, 1535, 24640),
                (4, 3071, 49216),
                (5, 6143, 98368),
                (6, 12287, 196672),
                (7, 24575, 393280),
                (8, 49151, 524360),
            ]
        );
        assert_eq!(get_order(524360), 8);
        let m = k.create();
        assert_eq!(k.activate_kmem(m, |_| Ok(())), Err(MemcgError::NoSpace));
    }
}
