//! Per-memcg slab caches (mm/memcontrol.c, mm/slab_common.c; 3.8 – 5.8).
//!
//! With kmem accounting, a slab allocation by a task of a kmem-active memcg is served from that
//! memcg's own copy of the cache (`memcg_kmem_get_cache()`), made with the root cache's geometry
//! when the memcg first allocates from it (`memcg_create_kmem_cache()` →
//! `kmem_cache_create_memcg()`). Child caches have slabs of their own, so every container's
//! objects sit in slabs of their own, and each child cache keeps its own CPU slab, CPU partials
//! and partial slabs: a node running many containers holds many partly used slabs per cache.
//! Each child cache also gets a sysfs directory (`sysfs_slab_add()`): its entries are
//! unreclaimable objects of the root `sysfs_dir_cache` (3.14+: `kernfs_node_cache`), made by
//! the kworker that creates the cache, so charged to no memcg.
//!
//! When the memcg is removed its caches are shrunk and marked dead ([`DeadCaches`]). A dead
//! cache lives on while it has a slab (a dentry the dcache still holds, an object never freed;
//! on 3.10 also the empty slabs SLUB keeps), pinning its slabs, its sysfs entries and its
//! memcg, which stays a zombie holding its kmem id (the cache holds a reference on its memcg,
//! `memcg_register_cache()` / `css_get()`). It is destroyed when its last slab goes
//! ([`Family::take_destroyed`]).
//!
//! Which allocations are accounted is profile data ([`MemcgSlabRule`]). The dentry and inode
//! shrinkers of these kernels work per superblock, not per cache: one shrinker per reclaimable
//! root frees objects uniformly over all its children ([`FamilyShrinker`]).

use crate::kernel::gfp::GfpFlags;
use crate::mm::memcontrol::MemcgId;
use crate::mm::mmzone::Node;
use crate::mm::slub::{CountIndex, KmemCache, ObjectRef, PageAllocator, SlabError};
use crate::mm::vmscan::{FreeToNode, Shrinker};
use std::collections::BTreeMap;

/// Which slab allocations of a kmem-active memcg go to per-memcg caches. `sysfs` names the
/// root cache of a child cache's sysfs entries; `dead` what becomes of a removed memcg's caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MemcgSlabRule {
    /// Up to 4.4: every cache (`memcg_kmem_get_cache()` takes any allocation of a user task
    /// outside interrupts).
    AllCaches {
        sysfs: &'static str,
        dead: DeadCaches,
        /// A copy of a mergeable root also gets the alias symlink `sysfs_slab_add()` makes for
        /// mergeable caches: 3.10's `slab_unmergeable()` does not yet exempt child caches
        /// (the 3.19 common merge rules do, and from memory so does RHEL 7's backport).
        child_alias: bool,
    },
    /// 4.5 – 5.8: caches created with `SLAB_ACCOUNT` only (`memcg_kmem_get_cache()` checks
    /// `__GFP_ACCOUNT`, which `slab_pre_alloc_hook()` adds for them); plain kmallocs are not
    /// accounted.
    AccountedCaches {
        sysfs: &'static str,
        dead: DeadCaches,
    },
    /// 5.9+: accounted objects share the root cache's slabs (`obj_cgroup`), no child caches.
    Shared,
}

/// What becomes of the caches of a removed memcg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum DeadCaches {
    /// 3.10 – 3.19: shrunk once (`mem_cgroup_destroy_all_caches()` →
    /// `kmem_cache_destroy_work_func()` → `kmem_cache_shrink()`), which does not requeue
    /// itself. Later frees follow the usual SLUB rules: a slab they empty stays on the CPU
    /// partial list or, up to `min_partial`, on the node list, so the cache and its memcg
    /// stay unless every slab goes (`memcg_release_pages()`). The seed node shows it: its
    /// kmalloc-512, kmalloc-256 and cfq_queue slabs are 0–1 % used.
    ShrinkOnce,
    /// 4.0+: `memcg_deactivate_kmem_caches()` → `__kmem_cache_shrink(s, deactivate)` sets
    /// `min_partial` and `cpu_partial` to 0, so every slab that empties is freed.
    DiscardEmpty,
}

/// sysfs entries one cache's directory holds (`sysfs_slab_add()`): the directory and the
/// attribute files of `slab_attrs[]` with CONFIG_SLUB_DEBUG, CONFIG_ZONE_DMA and CONFIG_NUMA
/// and without CONFIG_SLUB_STATS (19 + 10 + 1 + 1 files on 3.10; the RHEL 7 and 4.x
/// configurations), each a `sysfs_new_dirent()` object. A copy with
/// `child_alias` ([`MemcgSlabRule::AllCaches`]) and a mergeable root has one more, the symlink
/// named after the cache (`sysfs_slab_alias()`).
pub const SYSFS_ENTRIES_PER_CACHE: u32 = 32;

/// A live child cache of a [`Family`], by slot and the slot's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildRef {
    slot: u32,
    generation: u32,
}

/// One memcg's copy of a root cache (cache-line aligned, so the cache's first fields, which a
/// shrinker's free reads, start a cache line).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Child {
    pub cache: KmemCache,
    pub memcg: MemcgId,
    /// The sysfs entries made for it, objects of the sysfs root cache.
    pub sysfs: Vec<ObjectRef>,
    generation: u32,
    /// Its memcg was removed.
    dead: bool,
}

/// The child caches of one root cache.
#[derive(Clone, Debug, Default)]
pub struct Family {
    reclaimable: bool,
    children: Vec<Option<Child>>,
    generations: Vec<u32>,
    free_slots: Vec<u32>,
    /// The live (not dead) child of each memcg (`memcg_params->memcg_caches[kmem id]`).
    by_memcg: BTreeMap<MemcgId, u32>,
    /// Objects in use per slot, for the shrinker's uniform choice.
    inuse: CountIndex<u32>,
    objects: u64,
    pages: u64,
    /// Dead children whose last slab went, waiting for [`Family::take_destroyed`].
    emptied: Vec<u32>,
}

impl Family {
    /// A family of a root cache created with (`reclaimable`) or without SLAB_RECLAIM_ACCOUNT.
    pub fn new(reclaimable: bool) -> Family {
        Family {
            reclaimable,
            ..Family::default()
        }
    }

    /// The live child cache of `memcg`, if it has one.
    pub fn child_of(&self, memcg: MemcgId) -> Option<ChildRef> {
        self.by_memcg.get(&memcg).map(|&slot| ChildRef {
            slot,
            generation: self.generations[slot as usize],
        })
    }

    /// Adds `child` as `memcg`'s live cache.
    pub fn insert(&mut self, cache: KmemCache, memcg: MemcgId, sysfs: Vec<ObjectRef>) -> ChildRef {
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.children.push(None);
            self.generations.push(0);
            self.inuse.push();
            self.children.len() as u32 - 1
        });
        let generation = self.generations[slot as usize] + 1;
        self.generations[slot as usize] = generation;
        self.children[slot as usize] = Some(Child {
            cache,
            memcg,
            sysfs,
            generation,
            dead: false,
        });
        self.by_memcg.insert(memcg, slot);
        ChildRef { slot, generation }
    }

    fn child_mut(&mut self, r: ChildRef) -> Option<&mut Child> {
        self.children
            .get_mut(r.slot as usize)?
            .as_mut()
            .filter(|c| c.generation == r.generation)
    }

    /// Runs `f` on a child cache, then updates the family's counts from the cache and notes a
    /// dead child that has no slab left.
    fn with_child<R>(&mut self, slot: u32, f: impl FnOnce(&mut KmemCache) -> R) -> R {
        let child = self.children[slot as usize]
            .as_mut()
            .expect("callers pass live slots");
        let pages = child.cache.pages();
        let r = f(&mut child.cache);
        let objects = child.cache.objects_in_use();
        self.objects = self.objects - u64::from(self.inuse.get(slot as usize)) + objects;
        self.inuse.set(slot as usize, objects as u32);
        self.pages = self.pages - pages + child.cache.pages();
        if child.dead && child.cache.pages() == 0 {
            self.emptied.push(slot);
        }
        r
    }

    /// Allocates `n` objects from a live child (`slab_alloc()` on the memcg's cache, as
    /// [`KmemCache::alloc_objects`]), handing each to `push`; stops at the first failure.
    pub fn alloc_objects(
        &mut self,
        r: ChildRef,
        n: u64,
        gfp: GfpFlags,
        pa: &mut impl PageAllocator,
        push: impl FnMut(ObjectRef),
    ) -> Result<(), SlabError> {
        if self.child_mut(r).is_none() {
            return Err(SlabError::StaleObject("memcg child cache".into()));
        }
        self.with_child(r.slot, |c| c.alloc_objects(n, gfp, pa, push))
    }

    /// Frees `n` times the object `obj` of a child cache (`n` objects of one slab); every free
    /// is tried, and the first refusal (a stale object, or a child cache that is gone) returned.
    pub fn free_objects(
        &mut self,
        r: ChildRef,
        obj: ObjectRef,
        n: u64,
        pa: &mut impl PageAllocator,
    ) -> Result<(), SlabError> {
        if self.child_mut(r).is_none() {
            return Err(SlabError::StaleObject("memcg child cache".into()));
        }
        self.with_child(r.slot, |c| {
            let mut first = Ok(());
            for _ in 0..n {
                let r = c.free_object(obj, pa);
                if first.is_ok() {
                    first = r;
                }
            }
            first
        })
    }

    /// The memcg went away: its child cache, if any, is shrunk and marked dead as `rule`
    /// says.
    pub fn kill(&mut self, memcg: MemcgId, rule: DeadCaches, pa: &mut impl PageAllocator) {
        if let Some(slot) = self.by_memcg.remove(&memcg) {
            if let Some(child) = self.children[slot as usize].as_mut() {
                child.dead = true;
            }
            self.with_child(slot, |c| match rule {
                DeadCaches::ShrinkOnce => c.shrink(pa),
                DeadCaches::DiscardEmpty => c.shrink_dead(pa),
            });
        }
    }

    /// The dead children that lost their last slab, removed from the family: the caller
    /// destroys them (`kmem_cache_destroy()`: the sysfs entries go, the memcg reference is
    /// dropped).
    pub fn take_destroyed(&mut self) -> Vec<Child> {
        let mut out = Vec::new();
        for slot in std::mem::take(&mut self.emptied) {
            if let Some(child) = self.children[slot as usize].take() {
                self.free_slots.push(slot);
                out.push(child);
            }
        }
        out
    }

    /// Whether a shrinker frees this family's objects (its root is SLAB_RECLAIM_ACCOUNT).
    pub fn reclaimable(&self) -> bool {
        self.reclaimable
    }

    /// Objects in use over all children.
    pub fn objects(&self) -> u64 {
        self.objects
    }

    /// Slab pages over all children.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The live and dead child caches.
    pub fn children(&self) -> impl Iterator<Item = &Child> {
        self.children.iter().flatten()
    }

    /// The family's bookkeeping: its object and page counts are its children's, every live
    /// memcg's copy is alive, and (outside a destroy pass) no dead copy is without slabs.
    pub fn check(&self) -> Result<(), String> {
        let objects: u64 = self.children().map(|c| c.cache.objects_in_use()).sum();
        let pages: u64 = self.children().map(|c| c.cache.pages()).sum();
        if (objects, pages) != (self.objects, self.pages) {
            return Err(format!(
                "family counts {} objects in {} pages, its copies {objects} in {pages}",
                self.objects, self.pages
            ));
        }
        for (memcg, &slot) in &self.by_memcg {
            match &self.children[slot as usize] {
                Some(c) if !c.dead && c.memcg == *memcg => {}
                _ => return Err(format!("memcg {memcg:?} maps to no live copy")),
            }
        }
        match self.children().find(|c| c.dead && c.cache.pages() == 0) {
            Some(c) => Err(format!(
                "a dead copy of memcg {:?} has no slab left",
                c.memcg
            )),
            None => Ok(()),
        }
    }
}

/// The shrinker of a reclaimable root's children (`prune_dcache_sb()`, `prune_icache_sb()`:
/// per superblock, whatever cache an object lives in): it frees objects uniformly over every
/// child, live or dead.
pub struct FamilyShrinker<'a> {
    pub family: &'a mut Family,
}

impl Shrinker for FamilyShrinker<'_> {
    fn count_objects(&self) -> u64 {
        self.family.objects
    }

    fn scan_objects(&mut self, nr: u64, pick: &mut dyn FnMut(u64) -> u64, node: &mut Node) -> u64 {
        let mut pa = FreeToNode(node);
        let mut freed = 0;
        for _ in 0..nr {
            let n = self.family.objects;
            if n == 0 {
                break;
            }
            let (slot, rank) = self.family.inuse.find(pick(n) % n);
            let freed_one = self
                .family
                .with_child(slot as u32, |c| c.free_nth_object(rank, &mut pa));
            freed += u64::from(freed_one);
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;
    use crate::mm::slub::{AllocFailure, CacheFlags, SlabPageRequest, SlubTunables};

    /// Hands out PFNs and counts the pages live.
    #[derive(Default)]
    struct Pages {
        next: u32,
        live: u64,
    }

    impl PageAllocator for Pages {
        fn alloc_pages(&mut self, order: u32, _: SlabPageRequest) -> Result<u32, AllocFailure> {
            let pfn = self.next;
            self.next += 1 << order;
            self.live += 1 << order;
            Ok(pfn)
        }
        fn free_pages(&mut self, _: u32, order: u32) {
            self.live -= 1 << order;
        }
    }

    fn dentry_root() -> KmemCache {
        let p = profile("3.10").unwrap();
        let flags = CacheFlags {
            reclaim_account: true,
            ..CacheFlags::default()
        };
        KmemCache::new(
            "dentry",
            192,
            flags,
            p.slab_rules(),
            &SlubTunables::with_cpus(4),
        )
        .unwrap()
    }

    /// A family with one child for memcg 7 holding `n` objects.
    fn child_with(n: usize, pa: &mut Pages) -> (Family, ChildRef, Vec<ObjectRef>) {
        let root = dentry_root();
        let mut f = Family::new(true);
        let c = f.insert(root.memcg_child("dentry"), MemcgId(7), Vec::new());
        let mut objs = Vec::new();
        f.alloc_objects(c, n as u64, GfpFlags::GFP_KERNEL, pa, |o| objs.push(o))
            .unwrap();
        (f, c, objs)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random allocations, frees and memcg removals on one family, under either dead-copy
        /// rule: the family's counts stay its copies', every page the copies hold is one the
        /// allocator handed out, and a copy goes exactly when a dead one has no slab left.
        #[test]
        fn random_operations_keep_the_family_consistent(
            ops in proptest::collection::vec((0u8..4, 0u32..4, proptest::prelude::any::<u16>()), 1..400),
            discard in proptest::prelude::any::<bool>(),
        ) {
            let rule = if discard { DeadCaches::DiscardEmpty } else { DeadCaches::ShrinkOnce };
            let root = dentry_root();
            let mut pa = Pages::default();
            let mut f = Family::new(true);
            let mut live: Vec<(ChildRef, ObjectRef)> = Vec::new();
            let (mut made, mut gone) = (0, 0);
            for (op, memcg, pick) in ops {
                let m = MemcgId(memcg);
                match op {
                    0 | 1 => {
                        let c = f.child_of(m).unwrap_or_else(|| {
                            made += 1;
                            f.insert(root.memcg_child("dentry"), m, Vec::new())
                        });
                        let n = 1 + u64::from(pick % 40);
                        f.alloc_objects(c, n, GfpFlags::GFP_KERNEL, &mut pa, |o| live.push((c, o)))
                            .unwrap();
                    }
                    2 if !live.is_empty() => {
                        let (c, o) = live.swap_remove(usize::from(pick) % live.len());
                        f.free_objects(c, o, 1, &mut pa).unwrap();
                    }
                    _ => f.kill(m, rule, &mut pa),
                }
                gone += f.take_destroyed().len();
                f.check().unwrap();
                proptest::prop_assert_eq!(f.objects(), live.len() as u64);
                proptest::prop_assert_eq!(f.pages(), pa.live);
            }
            // Under the 4.0+ rule, freeing everything after every memcg went destroys every copy.
            if discard {
                for (c, o) in live.drain(..) {
                    f.free_objects(c, o, 1, &mut pa).unwrap();
                }
                for m in 0..4 {
                    f.kill(MemcgId(m), rule, &mut pa);
                }
                gone += f.take_destroyed().len();
                proptest::prop_assert_eq!((f.children().count(), pa.live), (0, 0));
                proptest::prop_assert_eq!(gone, made);
            }
        }
    }

    #[test]
    fn each_memcg_gets_slabs_of_its_own() {
        let mut pa = Pages::default();
        let root = dentry_root();
        let mut f = Family::new(true);
        let a = f.insert(root.memcg_child("dentry"), MemcgId(1), Vec::new());
        let b = f.insert(root.memcg_child("dentry"), MemcgId(2), Vec::new());
        f.alloc_objects(a, 1, GfpFlags::GFP_KERNEL, &mut pa, drop)
            .unwrap();
        f.alloc_objects(b, 1, GfpFlags::GFP_KERNEL, &mut pa, drop)
            .unwrap();
        // One object each, yet two slabs: a 192-byte object's slab is one page on 3.10.
        assert_eq!((f.objects(), f.pages(), pa.live), (2, 2, 2));
        assert_eq!(f.child_of(MemcgId(2)), Some(b));
        assert_eq!(f.child_of(MemcgId(3)), None);
        f.check().unwrap();
    }

    #[test]
    fn a_dead_3_10_cache_keeps_the_slabs_it_empties_later_and_so_lives_on() {
        let mut pa = Pages::default();
        let (mut f, c, objs) = child_with(21 * 20, &mut pa);
        f.kill(MemcgId(7), DeadCaches::ShrinkOnce, &mut pa);
        assert_eq!(f.child_of(MemcgId(7)), None);
        for o in objs {
            f.free_objects(c, o, 1, &mut pa).unwrap();
        }
        assert_eq!(f.objects(), 0);
        // min_partial empty slabs stay on the node list (and the CPU partials): never destroyed.
        assert!(f.pages() >= 5, "{} pages", f.pages());
        assert!(f.take_destroyed().is_empty());
        f.check().unwrap();
    }

    #[test]
    fn a_dead_4_x_cache_is_destroyed_when_its_last_object_goes() {
        let mut pa = Pages::default();
        let (mut f, c, objs) = child_with(21 * 20, &mut pa);
        f.kill(MemcgId(7), DeadCaches::DiscardEmpty, &mut pa);
        let (first, last) = (objs[0], objs.len() - 1);
        for (i, o) in objs.into_iter().enumerate() {
            f.free_objects(c, o, 1, &mut pa).unwrap();
            assert_eq!(f.pages() == 0, i == last);
        }
        assert!(
            f.check().is_err(),
            "a dead copy without slabs awaits destruction"
        );
        let gone = f.take_destroyed();
        f.check().unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].memcg, pa.live), (MemcgId(7), 0));
        assert!(f.free_objects(c, first, 1, &mut pa).is_err(), "stale child");
    }
}
