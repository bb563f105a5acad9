//! The simulated machine a scenario runs on: its nodes and zones, reclaim and compaction state,
//! the slab caches, memcg kmem accounting and the network namespaces, with the operations a
//! workload performs on them.
//!
//! Every page a workload takes goes through the kernel's allocator with the whole slow path
//! ([`alloc_pages_slowpath`]): kswapd is woken, direct compaction and direct reclaim run, and
//! reclaim asks the shrinkers of the reclaimable caches. Slab objects come from SLUB caches
//! ([`KmemCache`]) whose new slabs take the same path. The state is plain data; the engine's
//! clock lives in [`crate::workload::run`].
//!
//! Anonymous pages a pod maps are tracked through a reverse map: each mapped block has a
//! *handle* whose PFN follows the block when compaction migrates it (the LRU's move log), so
//! the pod frees exactly its own pages when it exits, wherever they moved. Without swap
//! (Kubernetes asks for it off, and it is the default) reclaim never takes anon pages away;
//! with `machine.swap` it swaps them out and the block's handle records that it is gone.

use crate::kernel::gfp::GfpFlags;
use crate::kernel::profile::{KernelStack, Profile};
use crate::mm::compaction::{compaction_suitable, CompactResult, ExtfragThreshold, Suitability};
use crate::mm::memcg_slab::{
    ChildRef, DeadCaches, Family, FamilyShrinker, MemcgSlabRule, SYSFS_ENTRIES_PER_CACHE,
};
use crate::mm::memcontrol::{update_cache_params, MemcgId, MemcgKmem, MemcgState};
use crate::mm::mmzone::{Node, OwnerKind, PageState, Pfn, ZoneType, NO_MAPPING};
use crate::mm::netns::{CacheCreateProbe, Conntrack, NetnsId};
use crate::mm::page_alloc::alloc::{
    fast_path_serves, free_pages, prepare_alloc_pages, AllocContext, AllocPath, Allocation,
    RepeatedRequest,
};
use crate::mm::page_alloc::alloc_flags::AllocFlags;
use crate::mm::page_alloc::setup::{self, Thp};
use crate::mm::page_alloc::slowpath::{
    alloc_pages_slowpath, NoPage, ReclaimInput, SlowPathFailure, SlowPathRequest, Step,
};
use crate::mm::slub::{
    self, kmalloc_route, AllocFailure, CacheFlags, Kmalloc, KmallocRef, KmallocRoute, KmemCache,
    ObjectRef, PageAllocator, PageOwner, SlabError, SlabPageRequest, SlubTunables, KMALLOC_SIZES,
};
use crate::mm::vmscan::{wakeup_kswapd, LruType, MoveLog, NodeMm, Shrinker, SlabShrinker};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A slab cache a workload names: one of the kernel's named caches, or `kmalloc-<size>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CacheId {
    Named(u16),
    Kmalloc(u32),
}

/// A live slab object a pod holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    Named(u16, ObjectRef),
    Kmalloc(KmallocRef),
    /// An object of a memcg's copy of a root cache ([`crate::mm::memcg_slab`]).
    Child(CacheId, ChildRef, ObjectRef),
}

/// The step of the allocator that served a test allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbePath {
    /// `get_page_from_freelist()` at the low watermark.
    FastPath,
    /// The slow path's first retry at the min watermark.
    MinWatermark,
    /// The slow path, after direct compaction ran (and no direct reclaim).
    AfterCompaction,
    /// The slow path, after direct reclaim ran.
    AfterReclaim,
}

/// A failed allocation: its order and the allocator's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed {
    pub order: u32,
    pub reason: AllocFailure,
}

/// The snake_case name of a failure reason, as events and summaries print it.
pub fn reason_name(r: AllocFailure) -> &'static str {
    match r {
        AllocFailure::BelowMinWatermark => "below_min_watermark",
        AllocFailure::NoBlockOfOrder => "no_block_of_order",
        AllocFailure::CompactionSkippedFragindex => "compaction_skipped_fragindex",
        AllocFailure::CompactionFailed => "compaction_failed",
        AllocFailure::CompactionDeferred => "compaction_deferred",
        AllocFailure::ReclaimNoProgress => "reclaim_no_progress",
        AllocFailure::OutOfMemory => "out_of_memory",
    }
}

/// GFP masks of the profile's layout for the workload's kinds of allocation.
#[derive(Clone, Copy, Debug)]
pub struct Masks {
    /// `GFP_KERNEL`: slab, page tables, kernel stacks.
    pub kernel: u64,
    /// `GFP_HIGHUSER_MOVABLE`: anon faults and page cache (`mapping_gfp_mask()`).
    pub movable: u64,
    /// A THP fault: `GFP_TRANSHUGE_LIGHT` where it exists (defrag `madvise`, the default from
    /// 4.6, does not compact directly for a region without MADV_HUGEPAGE), else
    /// `GFP_TRANSHUGE`. Models `alloc_hugepage_direct_gfpmask()` (mm/huge_memory.c).
    pub thp: u64,
}

impl Masks {
    fn new(profile: &Profile) -> Result<Masks, String> {
        let g = profile.gfp;
        Ok(Masks {
            kernel: g.parse("GFP_KERNEL")?,
            movable: g.parse("GFP_HIGHUSER_MOVABLE")?,
            thp: g
                .parse("GFP_TRANSHUGE_LIGHT")
                .or_else(|_| g.parse("GFP_TRANSHUGE"))?,
        })
    }
}

/// Settings the system applies (the scenario's tunables resolved against the profile).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub watermarks: setup::Tunables,
    pub extfrag_threshold: u32,
    pub watermark_boost_factor: u32,
    pub compaction_proactiveness: u32,
}

/// The simulated machine.
#[derive(Clone)]
pub struct System {
    pub profile: &'static Profile,
    pub nodes: Vec<Node>,
    pub mms: Vec<NodeMm>,
    pub kmalloc: Kmalloc,
    /// The named root caches, in the order the workload first used them.
    pub caches: Vec<KmemCache>,
    /// Whether each named cache is created with SLAB_ACCOUNT (4.5+).
    account: Vec<bool>,
    /// The per-memcg copies of each root cache (named or kmalloc), by root.
    pub families: BTreeMap<CacheId, Family>,
    pub memcg: MemcgKmem,
    pub conntrack: Conntrack,
    pub masks: Masks,
    /// `masks.kernel` decoded, for slab allocations.
    kernel_gfp: GfpFlags,
    pub settings: Settings,
    slub: SlubTunables,
    /// Object choice of the shrinkers.
    pick: ChaCha8Rng,
    /// Mapped anon blocks: handle → (PFN, order), the handle in the head page's `mapping`
    /// (PFN → handle); free handles.
    anon: Vec<(Pfn, u8)>,
    free_handles: Vec<u32>,
    /// Pages by owner kind the workload holds (anon, file, page tables, kernel stacks).
    pub held: [u64; OwnerKind::ALL.len()],
    /// The CPU the simulated task runs on ([`set_cpu`](Self::set_cpu)).
    cpu: usize,
}

/// The PFN of a handle whose page was reclaimed.
const GONE: Pfn = Pfn::MAX;

/// A slab-layer page allocator over the system: the full slow path, with the shrinkers of the
/// reclaimable caches and families not borrowed by the caller.
struct SlabPages<'a> {
    profile: &'static Profile,
    nodes: &'a mut [Node],
    mms: &'a mut [NodeMm],
    shrinkable: [&'a mut [KmemCache]; 2],
    families: Option<&'a mut BTreeMap<CacheId, Family>>,
    pick: &'a mut ChaCha8Rng,
}

impl<'a> SlabPages<'a> {
    /// The slab layer's page allocator with no shrinker available (a free, or an allocation
    /// made while the caches are borrowed).
    fn without_shrinkers(
        profile: &'static Profile,
        nodes: &'a mut [Node],
        mms: &'a mut [NodeMm],
        pick: &'a mut ChaCha8Rng,
    ) -> SlabPages<'a> {
        SlabPages {
            profile,
            nodes,
            mms,
            shrinkable: [&mut [], &mut []],
            families: None,
            pick,
        }
    }
}

impl PageAllocator for SlabPages<'_> {
    fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, AllocFailure> {
        let mask = self.profile.gfp.mask(&req.gfp);
        let owner = match req.owner {
            PageOwner::Slab => OwnerKind::Slab,
            PageOwner::KmallocLarge => OwnerKind::KmallocLarge,
        };
        let ac = prepare_alloc_pages(self.nodes, self.profile, order, mask, 0);
        let [a, b] = &mut self.shrinkable;
        let mut no_families = BTreeMap::new();
        let families = self.families.as_deref_mut().unwrap_or(&mut no_families);
        let a = allocate(
            self.profile,
            self.nodes,
            self.mms,
            &mut [&mut **a, &mut **b],
            families,
            self.pick,
            &ac,
            owner,
            &mut RepeatedRequest::default(),
        )
        .map_err(|f| f.reason)?;
        u32::try_from(a.pfn).map_err(|_| {
            let _ = free_pages(self.nodes, a.pfn, order);
            AllocFailure::NoBlockOfOrder
        })
    }

    fn free_pages(&mut self, pfn: u32, order: u32) {
        let _ = free_pages(self.nodes, u64::from(pfn), order);
    }
}

/// One allocation of the prepared request `ac` as `__alloc_pages_nodemask()` makes it: the
/// fast path (through `repeat`, which skips walks a repeat of the same request would make
/// alike), and on failure the slow path with the reclaimable caches of `groups` and
/// `families` as shrinkers. A fast-path success that boosted a watermark wakes kswapd
/// (`rmqueue()`'s ZONE_BOOSTED_WATERMARK check, 5.0+).
#[allow(clippy::too_many_arguments)]
fn allocate(
    profile: &'static Profile,
    nodes: &mut [Node],
    mms: &mut [NodeMm],
    groups: &mut [&mut [KmemCache]],
    families: &mut BTreeMap<CacheId, Family>,
    pick: &mut ChaCha8Rng,
    ac: &AllocContext,
    owner: OwnerKind,
    repeat: &mut RepeatedRequest,
) -> Result<Allocation, Failed> {
    let (order, mask) = (ac.order(), ac.gfp_mask());
    if let Ok(a) = repeat.alloc(nodes, profile, ac, owner) {
        if a.wake_kswapd {
            wake_kswapd_for(profile, nodes, mms, &a, ac);
        }
        return Ok(a);
    }
    let req = SlowPathRequest {
        order,
        gfp_mask: mask,
        owner,
        local_node: 0,
    };
    let r = with_shrinkers(groups, families, pick, |shrinkers, pick| {
        let mut input = ReclaimInput { shrinkers, pick };
        alloc_pages_slowpath(profile, nodes, mms, req, &mut input)
    });
    r.map_err(|f| Failed {
        order,
        reason: failure_reason(profile, nodes, mms, &f),
    })
}

/// Calls `f` with the shrinkers of the reclaimable caches in `groups` (`SLAB_RECLAIM_ACCOUNT`
/// caches register one) and of the reclaimable `families`, and a uniform object choice drawn
/// from `rng`.
pub fn with_shrinkers<R>(
    groups: &mut [&mut [KmemCache]],
    families: &mut BTreeMap<CacheId, Family>,
    rng: &mut ChaCha8Rng,
    f: impl FnOnce(&mut [&mut dyn Shrinker], &mut dyn FnMut(u64) -> u64) -> R,
) -> R {
    let mut shrinkers: Vec<SlabShrinker> = groups
        .iter_mut()
        .flat_map(|g| g.iter_mut())
        .filter(|c| c.flags().reclaim_account)
        .map(|cache| SlabShrinker { cache })
        .collect();
    let mut children: Vec<FamilyShrinker> = families
        .values_mut()
        .filter(|f| f.reclaimable())
        .map(|family| FamilyShrinker { family })
        .collect();
    let mut dyns: Vec<&mut dyn Shrinker> = shrinkers
        .iter_mut()
        .map(|s| s as &mut dyn Shrinker)
        .chain(children.iter_mut().map(|s| s as &mut dyn Shrinker))
        .collect();
    let mut choose = |n: u64| rng.random_range(0..n.max(1));
    f(&mut dyns, &mut choose)
}

/// The kswapd wakeup an allocation served without the slow path's later steps makes: one
/// the MIN retry served woke kswapd for the request's order and preferred zone first
/// (`wake_all_kswapd(s)()`); one the fast path served from a zone its fallback boosted wakes
/// it for order 0 and that zone (`rmqueue()`'s ZONE_BOOSTED_WATERMARK check, 5.0+).
fn wake_kswapd_for(
    profile: &Profile,
    nodes: &mut [Node],
    mms: &mut [NodeMm],
    a: &Allocation,
    ac: &AllocContext,
) {
    let (node, zone, order) = match (a.path, ac.preferred()) {
        (AllocPath::MinWatermark, Some((n, z))) => (nodes[n].id, z, ac.order()),
        _ => (a.node, a.zone, 0),
    };
    let Some(n) = nodes.iter().position(|n| n.id == node) else {
        return;
    };
    if let Some(zi) = nodes[n].zones.iter().position(|z| z.zone_type == zone) {
        wakeup_kswapd(profile, &mut nodes[n], &mut mms[n], zi, order, true);
    }
}

/// The (node, zone) indices of the zone that spans `pfn`.
#[inline]
fn locate(nodes: &[Node], pfn: Pfn) -> Option<(usize, usize)> {
    nodes
        .iter()
        .enumerate()
        .find_map(|(n, node)| node.zone_of_pfn(pfn).map(|z| (n, z)))
}

/// The reverse-map slot of the anon block at `pfn` (its head page's `mapping`): its handle,
/// or `NO_MAPPING`.
fn rmap_slot(nodes: &mut [Node], pfn: Pfn) -> Option<&mut u32> {
    let (n, z) = locate(nodes, pfn)?;
    nodes[n].zones[z].mapping_mut(pfn)
}

/// The reason a slow-path failure reports, from the steps it took: the OOM killer's turn
/// (`__alloc_pages_may_oom()` would kill; the workload's engine does it); a compaction that ran in
/// some zone and failed or was deferred there; compaction that did not run at all because
/// earlier failures deferred it (3.10's check of the preferred zone); compaction skipped
/// because the fragmentation index blamed a lack of memory (`compaction_suitable()` →
/// COMPACT_NOT_SUITABLE_ZONE); reclaim that freed nothing; otherwise the first walk's refusals
/// (below the min watermark, or no block of the order).
fn failure_reason(
    profile: &Profile,
    nodes: &[Node],
    mms: &[NodeMm],
    f: &SlowPathFailure,
) -> AllocFailure {
    if f.nopage == NoPage::OomKill {
        return AllocFailure::OutOfMemory;
    }
    let compactions: Vec<CompactResult> = f
        .steps
        .iter()
        .flat_map(|s| match s {
            Step::Compaction { zones, .. } => zones.iter().map(|z| z.result).collect(),
            _ => Vec::new(),
        })
        .collect();
    let ran = |r: &CompactResult| {
        matches!(
            r,
            CompactResult::Complete
                | CompactResult::PartialSkipped
                | CompactResult::Contended
                | CompactResult::Deferred
        )
    };
    if compactions.iter().any(ran) {
        return AllocFailure::CompactionFailed;
    }
    let deferred = f.steps.iter().any(|s| {
        matches!(
            s,
            Step::Compaction {
                result: CompactResult::Deferred,
                ..
            }
        )
    });
    if deferred {
        return AllocFailure::CompactionDeferred;
    }
    let order = f.first.order;
    let fragindex_skip = nodes.iter().zip(mms).any(|(node, mm)| {
        node.zones.iter().any(|z| {
            z.managed > 0
                && z.zone_type <= ZoneType::Normal
                && matches!(
                    compaction_suitable(
                        profile,
                        z,
                        Some(order),
                        &z.watermarks,
                        0,
                        AllocFlags::default(),
                        &mm.extfrag_threshold
                    ),
                    Suitability::NotSuitable { .. }
                )
        })
    });
    if !compactions.is_empty() && fragindex_skip {
        return AllocFailure::CompactionSkippedFragindex;
    }
    let reclaimed: Option<u64> = f
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Reclaim { reclaimed, .. } => Some(*reclaimed),
            _ => None,
        })
        .reduce(|a, b| a + b);
    if reclaimed == Some(0) {
        return AllocFailure::ReclaimNoProgress;
    }
    f.first.slab_reason()
}

impl System {
    /// A system on `nodes` (freshly booted or reconstructed), with kmem accounting on or off.
    /// Watermarks are set from `settings` when `set_watermarks` (a fresh boot or a scenario
    /// that sets them), else kept as the nodes carry them (a capture's).
    pub fn new(
        profile: &'static Profile,
        nodes: Vec<Node>,
        cpus: u32,
        kmem_accounting: bool,
        settings: Settings,
        set_watermarks: bool,
        pick: ChaCha8Rng,
    ) -> Result<System, String> {
        let slub = SlubTunables::with_cpus(cpus);
        let rules = profile.slab_rules();
        let kmalloc = Kmalloc::new(rules, &slub).map_err(|e| e.to_string())?;
        let mms = nodes
            .iter()
            .map(|n| NodeMm {
                extfrag_threshold: ExtfragThreshold::new(settings.extfrag_threshold),
                ..NodeMm::new(profile, n, 0)
            })
            .collect();
        let masks = Masks::new(profile)?;
        let mut sys = System {
            profile,
            kernel_gfp: profile.gfp.flags(masks.kernel),
            nodes,
            mms,
            kmalloc,
            caches: Vec::new(),
            account: Vec::new(),
            families: BTreeMap::new(),
            memcg: MemcgKmem::new(profile.memcg_rules(), kmem_accounting),
            conntrack: Conntrack::new(profile.conntrack, rules, slub, profile.gfp),
            masks,
            settings: settings.clone(),
            slub,
            pick,
            anon: Vec::new(),
            free_handles: Vec::new(),
            held: [0; OwnerKind::ALL.len()],
            cpu: 0,
        };
        for mm in &mut sys.mms {
            for lru in &mut mm.lru {
                lru.record_moves(MoveLog::Anon);
            }
        }
        sys.apply(&settings, set_watermarks);
        Ok(sys)
    }

    /// Applies settings: watermarks and lowmem_reserve (`setup_per_zone_wmarks()` and
    /// `setup_per_zone_lowmem_reserve()`, as a sysctl write triggers them) when `watermarks`,
    /// and the other tunables.
    pub fn apply(&mut self, s: &Settings, watermarks: bool) {
        if watermarks {
            setup::setup_watermarks(&mut self.nodes, self.profile, &s.watermarks);
        }
        for mm in &mut self.mms {
            mm.extfrag_threshold.write(s.extfrag_threshold);
        }
        for z in self.nodes.iter_mut().flat_map(|n| &mut n.zones) {
            z.cfg.watermark_boost_factor = s.watermark_boost_factor;
        }
        self.settings = s.clone();
    }

    /// Puts the allocated anon and file pages of reconstructed nodes on their LRUs (they belong
    /// to no pod: running processes and page cache of the captured node).
    pub fn adopt_lru_pages(&mut self) {
        for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
            for (zone, lru) in node.zones.iter_mut().zip(&mut mm.lru) {
                let mut pfn = zone.start_pfn;
                while pfn < zone.end_pfn() {
                    let step = match zone.page_state(pfn) {
                        PageState::Allocated { order, owner, .. } => {
                            if matches!(owner, OwnerKind::Anon | OwnerKind::File) {
                                let _ = lru.add(zone, pfn);
                                self.held[owner as usize] += 1 << order;
                            }
                            1u64 << order
                        }
                        PageState::Free { order, .. } => 1u64 << order,
                        _ => 1,
                    };
                    pfn += step;
                }
            }
        }
    }

    /// `n` memcgs that held kmem ids before the run started and linger as zombies.
    pub fn preexisting_zombies(&mut self, n: u32) {
        for _ in 0..n {
            let (m, _) = self.start_memcg();
            self.stop_memcg(m, true);
        }
    }

    /// A capture whose dmesg holds a page-allocation failure of `order`: that request ran
    /// direct compaction to the end and failed, so its preferred zone (the highest populated
    /// zone of the first node a GFP_KERNEL request may use) deferred compaction at that order
    /// (3.10: `__alloc_pages_direct_compact()` → `defer_compaction(preferred_zone, order)`;
    /// 4.x+: `try_to_compact_pages()` defers a zone whose sync compaction failed). The report
    /// shows one failure, so the deferral is one step.
    pub fn captured_failure(&mut self, order: u32) {
        let (Some(node), Some(mm)) = (self.nodes.first(), self.mms.first_mut()) else {
            return;
        };
        let preferred = node
            .zones
            .iter()
            .rposition(|z| z.managed > 0 && z.zone_type <= ZoneType::Normal);
        if let Some(zi) = preferred {
            mm.compact[zi].defer_compaction(order);
        }
    }

    /// The THP mode the watermarks were set for.
    /// Puts the simulated task on `cpu`: every zone's allocations and frees use that CPU's
    /// per-cpu lists from now on.
    pub fn set_cpu(&mut self, cpu: usize) {
        self.cpu = cpu;
        for z in self.nodes.iter_mut().flat_map(|n| n.zones.iter_mut()) {
            z.set_cpu(cpu);
        }
    }

    /// The CPU the simulated task runs on.
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    pub fn thp(&self) -> Thp {
        self.settings.watermarks.thp
    }

    /// `totalram_pages`: the managed pages of every zone.
    pub fn managed_pages(&self) -> u64 {
        self.nodes
            .iter()
            .flat_map(|n| &n.zones)
            .map(|z| z.managed)
            .sum()
    }

    /// Bytes of one object of cache `id` (`s->size`).
    pub fn object_size(&self, id: CacheId) -> u32 {
        match id {
            CacheId::Named(i) => self.caches[usize::from(i)].size(),
            CacheId::Kmalloc(size) => size,
        }
    }

    /// The cache a workload names: `kmalloc-<n>` for one of the kmalloc sizes, or a named cache
    /// of the profile's table, created (`kmem_cache_create()`) on first use.
    pub fn cache_id(&mut self, name: &str) -> Result<CacheId, String> {
        if let Some(size) = name.strip_prefix("kmalloc-") {
            return size
                .parse::<u32>()
                .ok()
                .filter(|s| KMALLOC_SIZES.contains(s))
                .map(CacheId::Kmalloc)
                .ok_or_else(|| {
                    format!(
                        "`{name}` is not a kmalloc cache (sizes: {})",
                        KMALLOC_SIZES.map(|s| s.to_string()).join(", ")
                    )
                });
        }
        if let Some(i) = self.caches.iter().position(|c| c.name() == name) {
            return Ok(CacheId::Named(i as u16));
        }
        let spec = self.profile.slab_sizes.find(name).ok_or_else(|| {
            format!(
                "kernel {} has no slab cache `{name}` the model knows (known: {}, and kmalloc-<size>)",
                self.profile.name,
                self.profile.slab_sizes.names().join(", ")
            )
        })?;
        let flags = CacheFlags {
            reclaim_account: spec.reclaimable,
            destroy_by_rcu: false,
            ctor: spec.ctor,
        };
        let cache = KmemCache::new(
            spec.name,
            spec.size,
            flags,
            self.profile.slab_rules(),
            &self.slub,
        )
        .map_err(|e| e.to_string())?;
        self.caches.push(cache);
        self.account.push(spec.account);
        Ok(CacheId::Named(self.caches.len() as u16 - 1))
    }

    /// Whether objects of `id` are freed by shrinkers (SLAB_RECLAIM_ACCOUNT).
    pub fn reclaimable(&self, id: CacheId) -> bool {
        match id {
            CacheId::Named(i) => self.caches[i as usize].flags().reclaim_account,
            CacheId::Kmalloc(_) => false,
        }
    }

    /// Allocates one object (`kmem_cache_alloc()` / `kmalloc()` with GFP_KERNEL) for a task of
    /// `memcg` (None: a kernel thread, or outside any container): from the memcg's copy of the
    /// cache when its allocations are accounted ([`crate::mm::memcg_slab`]), else from the root.
    pub fn alloc_object(&mut self, id: CacheId, memcg: Option<MemcgId>) -> Result<Object, Failed> {
        if memcg.is_none() {
            return self.alloc_root(id);
        }
        let mut out = Vec::with_capacity(1);
        self.alloc_objects(id, memcg, 1, &mut out)?;
        Ok(out[0])
    }

    /// Allocates `n` objects as `n` calls of [`alloc_object`](Self::alloc_object) would,
    /// appending them to `out`, with one lookup of the memcg's copy for the batch. Stops at the
    /// first failure.
    pub fn alloc_objects(
        &mut self,
        id: CacheId,
        memcg: Option<MemcgId>,
        n: u64,
        out: &mut Vec<Object>,
    ) -> Result<(), Failed> {
        for k in 0..n {
            if let Some((root, child)) = memcg.and_then(|m| self.memcg_cache(id, m)) {
                return self.alloc_child(root, child, n - k, out);
            }
            out.push(self.alloc_root(id)?);
        }
        Ok(())
    }

    /// Allocates one object from the root cache `id`.
    fn alloc_root(&mut self, id: CacheId) -> Result<Object, Failed> {
        let gfp = self.kernel_gfp;
        let System {
            profile,
            nodes,
            mms,
            kmalloc,
            caches,
            families,
            pick,
            ..
        } = self;
        let r = match id {
            CacheId::Named(i) => {
                let (before, rest) = caches.split_at_mut(i as usize);
                let (cache, after) = rest.split_first_mut().expect("cache ids are indices");
                let mut pa = SlabPages {
                    profile,
                    nodes,
                    mms,
                    shrinkable: [before, after],
                    families: Some(families),
                    pick,
                };
                cache
                    .alloc_object(gfp, &mut pa)
                    .map(|o| Object::Named(i, o))
            }
            CacheId::Kmalloc(size) => {
                let mut pa = SlabPages {
                    profile,
                    nodes,
                    mms,
                    shrinkable: [caches.as_mut_slice(), &mut []],
                    families: Some(families),
                    pick,
                };
                kmalloc
                    .kmalloc(u64::from(size), gfp, &mut pa)
                    .map(Object::Kmalloc)
            }
        };
        r.map_err(slab_failure)
    }

    /// The root (named, or the kmalloc cache serving the size) and `memcg`'s copy of it, for an
    /// allocation of `id` by a task of `memcg`. Models `memcg_kmem_get_cache()`: nothing when
    /// the kernel does not account this cache ([`MemcgSlabRule`]) or the memcg has no kmem
    /// accounting active; the first allocation that finds no copy is served by the root cache
    /// while the copy is made (`memcg_create_cache_enqueue()` → `memcg_create_kmem_cache()`,
    /// with its sysfs directory); a copy that cannot be made leaves the root cache serving.
    fn memcg_cache(&mut self, id: CacheId, m: MemcgId) -> Option<(CacheId, ChildRef)> {
        let (root, accounted, sysfs) = match (self.profile.memcg_slab, id) {
            (MemcgSlabRule::Shared, _) => return None,
            (MemcgSlabRule::AllCaches { sysfs, .. }, CacheId::Named(_)) => (id, true, sysfs),
            (MemcgSlabRule::AccountedCaches { sysfs, .. }, CacheId::Named(i)) => {
                (id, self.account[i as usize], sysfs)
            }
            (MemcgSlabRule::AllCaches { sysfs, .. }, CacheId::Kmalloc(size)) => {
                match kmalloc_route(u64::from(size)) {
                    KmallocRoute::Cache { object_size } => {
                        (CacheId::Kmalloc(object_size), true, sysfs)
                    }
                    KmallocRoute::Large { .. } => return None,
                }
            }
            (MemcgSlabRule::AccountedCaches { .. }, CacheId::Kmalloc(_)) => return None,
        };
        if !accounted || self.memcg.state(m) != Some(MemcgState::Online) {
            return None;
        }
        self.memcg.kmem_id(m)?;
        if let Some(child) = self.families.get(&root).and_then(|f| f.child_of(m)) {
            return Some((root, child));
        }
        let sysfs = self.cache_id(sysfs).ok()?;
        let alias = match (self.profile.memcg_slab, root) {
            (MemcgSlabRule::AllCaches { child_alias, .. }, CacheId::Named(i)) => {
                child_alias && self.caches[i as usize].flags().mergeable()
            }
            (MemcgSlabRule::AllCaches { child_alias, .. }, CacheId::Kmalloc(_)) => child_alias,
            _ => false,
        };
        let n = SYSFS_ENTRIES_PER_CACHE + u32::from(alias);
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            match self.alloc_object(sysfs, None) {
                Ok(Object::Named(_, o)) => entries.push(o),
                _ => {
                    self.free_sysfs(sysfs, entries);
                    return None;
                }
            }
        }
        let (cache, reclaimable) = match root {
            CacheId::Named(i) => {
                let c = &self.caches[i as usize];
                (c.memcg_child(c.name()), c.flags().reclaim_account)
            }
            CacheId::Kmalloc(size) => {
                let i = KMALLOC_SIZES.iter().position(|&s| s == size)?;
                let c = &self.kmalloc.caches()[i];
                (c.memcg_child(c.name()), false)
            }
        };
        self.memcg.charge_kmem(m, 1).ok()?;
        self.families
            .entry(root)
            .or_insert_with(|| Family::new(reclaimable))
            .insert(cache, m, entries);
        None
    }

    /// Allocates `n` objects from a memcg's copy of `root` into `out`, stopping at the first
    /// failure; the other families' shrinkers stay available.
    fn alloc_child(
        &mut self,
        root: CacheId,
        child: ChildRef,
        n: u64,
        out: &mut Vec<Object>,
    ) -> Result<(), Failed> {
        let gfp = self.kernel_gfp;
        // Borrowed out of the map (an empty family in its place) so the others can shrink.
        let mut family = std::mem::take(self.families.get_mut(&root).expect("the child's family"));
        let System {
            profile,
            nodes,
            mms,
            caches,
            families,
            pick,
            ..
        } = self;
        let mut pa = SlabPages {
            profile,
            nodes,
            mms,
            shrinkable: [caches.as_mut_slice(), &mut []],
            families: Some(families),
            pick,
        };
        let r = family
            .alloc_objects(child, n, gfp, &mut pa, |o| {
                out.push(Object::Child(root, child, o))
            })
            .map_err(slab_failure);
        if let Some(slot) = self.families.get_mut(&root) {
            *slot = family;
        }
        r
    }

    /// Frees the sysfs entries of a child cache (objects of the root cache `sysfs`).
    fn free_sysfs(&mut self, sysfs: CacheId, entries: Vec<ObjectRef>) {
        if let CacheId::Named(i) = sysfs {
            self.free_objects(entries.into_iter().map(|o| Object::Named(i, o)));
        }
    }

    /// Destroys the dead child caches that lost their last slab (`kmem_cache_destroy()` from
    /// `kmem_cache_destroy_work_func()`, work that `memcg_release_pages()` queues): their sysfs
    /// entries are freed and their memcg loses the reference, so a zombie whose last cache went
    /// is freed. The run calls it after each event, as the workqueue would run soon after.
    pub fn destroy_emptied_caches(&mut self) {
        let mut destroyed = Vec::new();
        for family in self.families.values_mut() {
            destroyed.append(&mut family.take_destroyed());
        }
        if destroyed.is_empty() {
            return;
        }
        let Some(sysfs) = (match self.profile.memcg_slab {
            MemcgSlabRule::AllCaches { sysfs, .. }
            | MemcgSlabRule::AccountedCaches { sysfs, .. } => {
                self.caches.iter().position(|c| c.name() == sysfs)
            }
            MemcgSlabRule::Shared => None,
        }) else {
            return;
        };
        for child in destroyed {
            self.free_sysfs(CacheId::Named(sysfs as u16), child.sysfs);
            let _ = self.memcg.uncharge_kmem(child.memcg, 1);
        }
    }

    /// Frees objects in order, each run of equal ones (objects of one slab) at once. An object a
    /// shrinker already freed (its slab gone) is ignored.
    pub fn free_objects(&mut self, objs: impl IntoIterator<Item = Object>) {
        let System {
            profile,
            nodes,
            mms,
            kmalloc,
            caches,
            families,
            pick,
            ..
        } = self;
        let mut pa = SlabPages::without_shrinkers(profile, nodes, mms, pick);
        let mut objs = objs.into_iter().peekable();
        while let Some(obj) = objs.next() {
            let mut n = 1;
            while objs.next_if_eq(&obj).is_some() {
                n += 1;
            }
            match obj {
                Object::Named(i, o) => {
                    for _ in 0..n {
                        let _ = caches[i as usize].free_object(o, &mut pa);
                    }
                }
                Object::Kmalloc(r) => {
                    for _ in 0..n {
                        let _ = kmalloc.kfree(r, &mut pa);
                    }
                }
                Object::Child(root, child, o) => {
                    if let Some(f) = families.get_mut(&root) {
                        let _ = f.free_objects(child, o, n, &mut pa);
                    }
                }
            }
        }
    }

    /// A request of `2^order` pages with `mask` from node 0, decoded once for a run of
    /// [`alloc_block`](Self::alloc_block) calls.
    fn prepare(&self, order: u32, mask: u64) -> AllocContext {
        prepare_alloc_pages(&self.nodes, self.profile, order, mask, 0)
    }

    /// Allocates a block for the workload with every cache's shrinker available; `repeat`
    /// carries what the last allocation of the same `ac` found.
    fn alloc_block(
        &mut self,
        ac: &AllocContext,
        owner: OwnerKind,
        repeat: &mut RepeatedRequest,
    ) -> Result<Pfn, Failed> {
        self.allocation(ac, owner, repeat).map(|a| a.pfn)
    }

    /// [`alloc_block`](Self::alloc_block), with the whole allocation.
    fn allocation(
        &mut self,
        ac: &AllocContext,
        owner: OwnerKind,
        repeat: &mut RepeatedRequest,
    ) -> Result<Allocation, Failed> {
        let System {
            profile,
            nodes,
            mms,
            caches,
            families,
            pick,
            ..
        } = self;
        let a = allocate(
            profile,
            nodes,
            mms,
            &mut [caches.as_mut_slice()],
            families,
            pick,
            ac,
            owner,
            repeat,
        )?;
        self.held[owner as usize] += 1 << ac.order();
        Ok(a)
    }

    /// Free blocks of order ≥ 6 where an order-6 GFP_KERNEL request from node 0 could take them
    /// ([`AllocContext::may_use`]).
    pub fn order6_blocks(&self) -> u64 {
        let ac = self.prepare(6, self.masks.kernel);
        self.nodes
            .iter()
            .flat_map(|n| &n.zones)
            .filter(|z| ac.may_use(z))
            .map(|z| {
                (6..z.cfg.orders)
                    .map(|o| z.nr_free[o as usize])
                    .sum::<u64>()
            })
            .sum()
    }

    /// Whether a test allocation of `order` with `mask` would surely be served by the fast path
    /// ([`fast_path_serves`]): what [`probe`](Self::probe) would answer, without making it.
    pub fn fast_path_serves(&self, order: u32, mask: u64) -> bool {
        fast_path_serves(&self.nodes, self.profile, &self.prepare(order, mask))
    }

    /// A test allocation: one block of `order` with `mask` through the whole allocator, freed
    /// again at once. Returns the step that served it. The allocation changes this system as
    /// any other does (its reclaim and compaction stay done): a run that only observes makes it
    /// on a clone.
    pub fn probe(&mut self, order: u32, mask: u64) -> Result<ProbePath, Failed> {
        let stalls = |s: &System| {
            s.nodes.iter().fold((0, 0), |(r, c), n| {
                let e = n.events();
                (r + e.allocstall, c + e.compact_stall)
            })
        };
        let before = stalls(self);
        let ac = self.prepare(order, mask);
        let a = self.allocation(&ac, OwnerKind::Kernel, &mut RepeatedRequest::default())?;
        self.free_kernel(OwnerKind::Kernel, &[(a.pfn, order as u8)]);
        let after = stalls(self);
        Ok(if after.0 > before.0 {
            ProbePath::AfterReclaim
        } else if after.1 > before.1 || a.path == AllocPath::Captured {
            ProbePath::AfterCompaction
        } else if a.path == AllocPath::MinWatermark {
            ProbePath::MinWatermark
        } else {
            ProbePath::FastPath
        })
    }

    /// (node index, zone index) of a PFN.
    #[inline]
    fn locate(&self, pfn: Pfn) -> Option<(usize, usize)> {
        locate(&self.nodes, pfn)
    }

    /// Puts an anon or file block on its zone's LRU (`lru_cache_add()`).
    fn lru_add(&mut self, pfn: Pfn) {
        if let Some((n, z)) = self.locate(pfn) {
            let _ = self.mms[n].lru[z].add(&mut self.nodes[n].zones[z], pfn);
        }
    }

    /// Kernel pages (page tables, kernel stacks): blocks of `order` until `out` holds `count`.
    /// Stops at the first failure; called again, it goes on from there.
    pub fn alloc_kernel(
        &mut self,
        owner: OwnerKind,
        order: u32,
        count: u64,
        out: &mut Vec<(Pfn, u8)>,
    ) -> Result<(), Failed> {
        let ac = self.prepare(order, self.masks.kernel);
        let mut repeat = RepeatedRequest::default();
        for _ in out.len() as u64..count {
            let pfn = self.alloc_block(&ac, owner, &mut repeat)?;
            out.push((pfn, order as u8));
        }
        Ok(())
    }

    /// Kernel stacks for `threads` new tasks, as the profile allocates them, into `out` (which
    /// holds only these tasks' stacks).
    pub fn alloc_stacks(&mut self, threads: u32, out: &mut Vec<(Pfn, u8)>) -> Result<(), Failed> {
        let (order, per_task) = match self.profile.kernel_stack {
            KernelStack::Contiguous { order } => (order, 1),
            KernelStack::Vmap => (0, 4),
        };
        self.alloc_kernel(
            OwnerKind::KernelStack,
            order,
            u64::from(threads) * per_task,
            out,
        )
    }

    /// Frees kernel blocks.
    pub fn free_kernel(&mut self, owner: OwnerKind, blocks: &[(Pfn, u8)]) {
        for &(pfn, order) in blocks {
            if free_pages(&mut self.nodes, pfn, u32::from(order)).is_ok() {
                self.held[owner as usize] -= 1 << order;
            }
        }
    }

    /// Page-cache pages read or written (`pages` order-0 pages, movable, on the file LRU; they
    /// stay cached until reclaim drops them). Stops at the first failure with `pages` holding
    /// what is left.
    pub fn add_page_cache(&mut self, pages: &mut u64) -> Result<(), Failed> {
        let ac = self.prepare(0, self.masks.movable);
        let mut repeat = RepeatedRequest::default();
        while *pages > 0 {
            let pfn = self.alloc_block(&ac, OwnerKind::File, &mut repeat)?;
            self.lru_add(pfn);
            *pages -= 1;
        }
        Ok(())
    }

    /// Anonymous memory faulted in: `pages` pages, as 2 MiB THP blocks where THP is `always`
    /// and the block is available (a failed THP fault falls back to small pages, as
    /// `do_huge_pmd_anonymous_page()` does), else order-0 pages. Appends the handles; stops at
    /// the first failure with `left` holding the pages still to fault.
    pub fn fault_anon(&mut self, left: &mut u64, handles: &mut Vec<u32>) -> Result<(), Failed> {
        let pb = self.profile.pageblock_order;
        let huge = 1u64 << pb;
        while *left > 0 {
            let (order, mask) = if self.thp() == Thp::Always && *left >= huge {
                let ac = self.prepare(pb, self.masks.thp);
                match self.alloc_block(&ac, OwnerKind::Anon, &mut RepeatedRequest::default()) {
                    Ok(pfn) => {
                        self.follow_migrations();
                        self.map_anon(self.locate(pfn), pfn, pb, handles);
                        *left -= huge;
                        continue;
                    }
                    Err(_) => (0, self.masks.movable),
                }
            } else {
                (0, self.masks.movable)
            };
            let n = if self.thp() == Thp::Always {
                (*left).min(huge)
            } else {
                *left
            };
            let ac = self.prepare(order, mask);
            let mut repeat = RepeatedRequest::default();
            self.follow_migrations();
            for _ in 0..n {
                // The list the last walk took serves without a walk while its verdicts hold.
                let (at, pfn) = match repeat.take(&mut self.nodes, &ac, OwnerKind::Anon) {
                    Some((at, pfn)) => {
                        self.held[OwnerKind::Anon as usize] += 1;
                        (Some(at), pfn)
                    }
                    None => {
                        let pfn = self.alloc_block(&ac, OwnerKind::Anon, &mut repeat)?;
                        // Only a slow path logs moves, and it leaves `repeat` not holding.
                        if !repeat.holds() {
                            self.follow_migrations();
                        }
                        (self.locate(pfn), pfn)
                    }
                };
                self.map_anon(at, pfn, order, handles);
                *left -= 1;
            }
        }
        Ok(())
    }

    /// Maps the anon block at `pfn`, in zone `at` (node, zone) as [`locate`](Self::locate)
    /// finds it: on its LRU, with a handle its reverse-map slot names. Moves logged before its
    /// allocation refer to the PFN's previous page, so the caller follows them first.
    fn map_anon(
        &mut self,
        at: Option<(usize, usize)>,
        pfn: Pfn,
        order: u32,
        handles: &mut Vec<u32>,
    ) {
        let Some((n, z)) = at else {
            return;
        };
        let zone = &mut self.nodes[n].zones[z];
        let _ = self.mms[n].lru[z].add(zone, pfn);
        let h = match self.free_handles.pop() {
            Some(h) => {
                self.anon[h as usize] = (pfn, order as u8);
                h
            }
            None => {
                self.anon.push((pfn, order as u8));
                self.anon.len() as u32 - 1
            }
        };
        if let Some(slot) = self.nodes[n].zones[z].mapping_mut(pfn) {
            *slot = h;
        }
        handles.push(h);
    }

    /// Follows the migrations compaction made since the last call (`remove_migration_ptes()`):
    /// each mapped anon block's handle takes its new PFN.
    pub fn follow_migrations(&mut self) {
        let System {
            nodes, mms, anon, ..
        } = self;
        for lru in mms.iter_mut().flat_map(|mm| &mut mm.lru) {
            if !lru.has_moves() {
                continue;
            }
            for m in lru.drain_moves() {
                let h = rmap_slot(nodes, m.from).map(|s| std::mem::replace(s, NO_MAPPING));
                let Some(h) = h.filter(|&h| h != NO_MAPPING) else {
                    continue;
                };
                match m.to {
                    Some(to) => {
                        anon[h as usize].0 = to;
                        if let Some(slot) = rmap_slot(nodes, to) {
                            *slot = h;
                        }
                    }
                    // Reclaimed (swapped out): the pod no longer maps a page there.
                    None => anon[h as usize].0 = GONE,
                }
            }
        }
    }

    /// The pages a pod's anon blocks hold in memory or in swap (`MM_ANONPAGES` +
    /// `MM_SWAPENTS`).
    pub fn anon_pages(&self, handles: &[u32]) -> u64 {
        handles
            .iter()
            .map(|&h| 1u64 << self.anon[h as usize].1)
            .sum()
    }

    /// Gives the nodes `pages` of swap, split evenly (the kernel's swap is global; the model
    /// keeps a share per node for its reclaim).
    pub fn set_swap(&mut self, pages: u64) {
        let n = self.mms.len() as u64;
        for mm in &mut self.mms {
            mm.swap.total_pages = pages / n;
        }
    }

    /// Unmaps and frees a pod's anon blocks (`exit_mmap()` → `free_pages_and_swap_cache()`).
    pub fn free_anon(&mut self, handles: &[u32]) {
        self.follow_migrations();
        for &h in handles {
            let (pfn, order) = self.anon[h as usize];
            self.free_handles.push(h);
            if pfn == GONE {
                // Swapped out: `free_swap_and_cache()` releases its slots.
                let pages = 1u64 << order;
                if let Some(mm) = self.mms.iter_mut().find(|m| m.swap.used_pages >= pages) {
                    mm.swap.used_pages -= pages;
                }
                continue;
            }
            let Some((n, z)) = self.locate(pfn) else {
                continue;
            };
            if let Some(slot) = self.nodes[n].zones[z].mapping_mut(pfn) {
                *slot = NO_MAPPING;
            }
            let zone = &mut self.nodes[n].zones[z];
            if self.mms[n].lru[z]
                .free_own_page(zone, pfn, u32::from(order))
                .is_ok()
            {
                self.held[OwnerKind::Anon as usize] -= 1 << order;
            }
        }
    }

    /// Starts a memcg and, with kmem accounting, activates it (runc writing
    /// `memory.kmem.limit_in_bytes`; 4.6+ at `css_online`). A growth of the memcg arrays
    /// reallocates every root cache's array (`memcg_update_all_caches()`); the model's root
    /// caches are its named caches and the conntrack caches, and the growth's allocations see
    /// no shrinkers. Returns the memcg and whether the arrays grew (Some(ok)).
    pub fn start_memcg(&mut self) -> (MemcgId, Option<(u32, bool)>) {
        let System {
            profile,
            nodes,
            mms,
            kmalloc,
            caches,
            memcg,
            conntrack,
            pick,
            ..
        } = self;
        let m = memcg.create();
        let mut grew = None;
        let r = memcg.activate_kmem(m, |growth| {
            let mut pa = SlabPages::without_shrinkers(profile, nodes, mms, pick);
            let mut result = Ok(());
            for cache in caches.iter_mut() {
                result = update_cache_params(cache, growth, kmalloc, &mut pa);
                if result.is_err() {
                    break;
                }
            }
            if result.is_ok() {
                result = conntrack.update_all_params(growth, kmalloc, &mut pa);
            }
            grew = Some((growth.new_entries, result.is_ok()));
            result
        });
        let _ = r;
        (m, grew)
    }

    /// Removes a memcg (rmdir): its child caches are shrunk and marked dead
    /// ([`Family::kill`]) and it lingers as a zombie while any of them has slabs; `zombie`
    /// keeps one more kmem page charged so that it lingers anyway (the scenario's leak rate: a
    /// page-cache charge that outlives the pod).
    pub fn stop_memcg(&mut self, m: MemcgId, zombie: bool) {
        if zombie {
            let _ = self.memcg.charge_kmem(m, 1);
        }
        let System {
            profile,
            nodes,
            mms,
            families,
            pick,
            ..
        } = self;
        let mut pa = SlabPages::without_shrinkers(profile, nodes, mms, pick);
        let dead = match profile.memcg_slab {
            MemcgSlabRule::AllCaches { dead, .. } | MemcgSlabRule::AccountedCaches { dead, .. } => {
                dead
            }
            MemcgSlabRule::Shared => DeadCaches::DiscardEmpty,
        };
        for family in families.values_mut() {
            family.kill(m, dead, &mut pa);
        }
        let _ = self.memcg.remove(m);
    }

    /// Creates a network namespace (`setup_net()`), with its conntrack cache on kernels that
    /// make one.
    pub fn setup_net(&mut self) -> Result<CacheCreateProbe, String> {
        let System {
            profile,
            nodes,
            mms,
            kmalloc,
            caches,
            memcg,
            conntrack,
            families,
            pick,
            ..
        } = self;
        let mut pa = SlabPages {
            profile,
            nodes,
            mms,
            shrinkable: [caches.as_mut_slice(), &mut []],
            families: Some(families),
            pick,
        };
        conntrack
            .setup_net(memcg, kmalloc, &mut pa)
            .map_err(|e| e.to_string())
    }

    /// Destroys a network namespace and its conntrack cache.
    pub fn cleanup_net(&mut self, netns: NetnsId) {
        let System {
            profile,
            nodes,
            mms,
            kmalloc,
            conntrack,
            pick,
            ..
        } = self;
        let mut pa = SlabPages::without_shrinkers(profile, nodes, mms, pick);
        let _ = conntrack.cleanup_net(netns, kmalloc, &mut pa);
    }

    /// The slab layer's bookkeeping against the page allocator's, for `--check`: every family
    /// is consistent ([`Family::check`]) and the zones hold, in slab pages, what the caches
    /// count plus `baseline` (the slab pages of a captured node, which no cache holds).
    pub fn check_slab(&self, baseline: i64) -> Result<(), String> {
        for (id, f) in &self.families {
            f.check().map_err(|e| format!("copies of {id:?}: {e}"))?;
        }
        let (r, u) = self.slab_pages();
        let held = self.zone_slab_pages() - (r + u) as i64;
        if held != baseline {
            return Err(format!(
                "the zones hold {} slab pages more than the caches count ({baseline} at the start)",
                held
            ));
        }
        Ok(())
    }

    /// The LRU lists against their zones ([`Lru::check`]), and the anon reverse map: every
    /// page whose `mapping` names a handle is that handle's block, and every mapped handle's
    /// block names it.
    pub fn check_lru(&self) -> Result<(), String> {
        let mut free = vec![false; self.anon.len()];
        for &h in &self.free_handles {
            free[h as usize] = true;
        }
        let mut named = 0;
        for (node, mm) in self.nodes.iter().zip(&self.mms) {
            for (zone, lru) in node.zones.iter().zip(&mm.lru) {
                lru.check(zone)
                    .map_err(|e| format!("node {} {}: {e}", node.id, zone.zone_type))?;
                for (off, slot) in zone.pages.iter().enumerate() {
                    let h = slot.mapping;
                    if h == NO_MAPPING {
                        continue;
                    }
                    let pfn = zone.pfn_of(off as u32);
                    if free.get(h as usize) != Some(&false) || self.anon[h as usize].0 != pfn {
                        return Err(format!("{pfn:#x} names anon handle {h}, which is not its"));
                    }
                    named += 1;
                }
            }
        }
        let mapped = (self.anon.iter().zip(&free))
            .filter(|((pfn, _), &f)| !f && *pfn != GONE)
            .count();
        if named != mapped {
            return Err(format!(
                "{mapped} anon blocks are mapped, {named} pages name one"
            ));
        }
        Ok(())
    }

    /// Pages the zones hold as slab.
    pub fn zone_slab_pages(&self) -> i64 {
        self.nodes
            .iter()
            .flat_map(|n| &n.zones)
            .map(|z| z.owner_counts().pages[OwnerKind::Slab as usize] as i64)
            .sum()
    }

    /// Slab pages: (reclaimable, unreclaimable), the conntrack caches and kmalloc caches
    /// counted as unreclaimable.
    pub fn slab_pages(&self) -> (u64, u64) {
        let mut r = 0;
        let mut u: u64 = self.kmalloc.caches().iter().map(KmemCache::pages).sum();
        for c in &self.caches {
            if c.flags().reclaim_account {
                r += c.pages();
            } else {
                u += c.pages();
            }
        }
        u += self.conntrack.caches().map(|(_, c)| c.pages()).sum::<u64>();
        for f in self.families.values() {
            if f.reclaimable() {
                r += f.pages();
            } else {
                u += f.pages();
            }
        }
        (r, u)
    }

    /// Pages on the LRU lists of every zone, by type.
    pub fn lru_pages(&self, t: LruType) -> u64 {
        self.mms.iter().flat_map(|m| &m.lru).map(|l| l.len(t)).sum()
    }

    /// /proc/slabinfo of every cache the system has: kmalloc, named and conntrack caches, each
    /// root with its memcg copies added in, as `memcg_accumulate_slabinfo()` prints them.
    pub fn slabinfo(&self) -> Vec<crate::capture::SlabCache> {
        let roots = self
            .caches
            .iter()
            .enumerate()
            .map(|(i, c)| (CacheId::Named(i as u16), c))
            .chain(
                self.kmalloc
                    .caches()
                    .iter()
                    .zip(KMALLOC_SIZES)
                    .map(|(c, size)| (CacheId::Kmalloc(size), c)),
            );
        let mut v: Vec<_> = roots
            .map(|(id, root)| {
                let mut line = root.slabinfo();
                for child in self
                    .families
                    .get(&id)
                    .into_iter()
                    .flat_map(Family::children)
                {
                    let c = child.cache.slabinfo();
                    line.active_objs += c.active_objs;
                    line.num_objs += c.num_objs;
                    line.active_slabs += c.active_slabs;
                    line.num_slabs += c.num_slabs;
                }
                line
            })
            .collect();
        v.extend(self.conntrack.caches().map(|(_, c)| c.slabinfo()));
        v
    }

    /// Per pageblock of every zone: (node, zone, start PFN, type, free, slab, movable, other)
    /// pages, for the physical map.
    pub fn pageblocks(&self) -> Vec<PageblockRow> {
        let pb = 1u64 << self.profile.pageblock_order;
        let mut rows = Vec::new();
        for node in &self.nodes {
            for z in &node.zones {
                let first = z.start_pfn & !(pb - 1);
                let mut start = first;
                while start < z.end_pfn() {
                    let mut row = PageblockRow {
                        node: node.id,
                        zone: z.zone_type,
                        start_pfn: start,
                        migratetype: z
                            .pageblock_migratetype(start.max(z.start_pfn))
                            .map(|m| m.name())
                            .unwrap_or("Movable"),
                        counts: [0; 4],
                    };
                    let mut pfn = start.max(z.start_pfn);
                    let end = (start + pb).min(z.end_pfn());
                    while pfn < end {
                        // A pageblock inside a larger block starts on a tail page: count the
                        // overlap with the enclosing block.
                        let (head, state) = z.block_head(pfn).unwrap_or((pfn, PageState::Hole));
                        let (class, block_pages) = match state {
                            PageState::Free { order, .. } => (0, 1u64 << order),
                            PageState::Pcp { order, .. } => (0, 1u64 << order),
                            PageState::Allocated { order, owner, .. } => {
                                let class = match owner {
                                    OwnerKind::Slab => 1,
                                    OwnerKind::Anon | OwnerKind::File => 2,
                                    _ => 3,
                                };
                                (class, 1u64 << order)
                            }
                            PageState::Reserved => (3, 1),
                            PageState::Hole | PageState::Tail => (4, 1),
                        };
                        let pages = (head + block_pages).saturating_sub(pfn).clamp(1, end - pfn);
                        if class < 4 {
                            row.counts[class] += pages;
                        }
                        pfn += pages;
                    }
                    rows.push(row);
                    start += pb;
                }
            }
        }
        rows
    }
}

/// One pageblock of the physical map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageblockRow {
    pub node: u32,
    pub zone: ZoneType,
    pub start_pfn: Pfn,
    pub migratetype: &'static str,
    /// Free, slab, movable (anon and page cache), other pages.
    pub counts: [u64; 4],
}

fn slab_failure(e: SlabError) -> Failed {
    match e {
        SlabError::Alloc { failure, .. } => Failed {
            order: 0,
            reason: failure,
        },
        _ => Failed {
            order: 0,
            reason: slub::AllocFailure::OutOfMemory,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;
    use crate::mm::mmzone::x86_64_layout;
    use crate::mm::page_alloc::pcp::PcpConfig;
    use rand::SeedableRng;

    /// A freshly booted node of `bytes` and `kernel`, kmem accounting on.
    fn system(kernel: &str, bytes: u64) -> System {
        let p = profile(kernel).unwrap();
        let nodes = Node::build_all(&x86_64_layout(bytes, 1).unwrap(), p, PcpConfig::Off);
        let settings = Settings {
            watermarks: setup::Tunables::defaults(p, Thp::Never),
            extfrag_threshold: 500,
            watermark_boost_factor: 0,
            compaction_proactiveness: 0,
        };
        let pick = ChaCha8Rng::seed_from_u64(1);
        System::new(p, nodes.unwrap(), 4, true, settings, true, pick).unwrap()
    }

    /// Objects in use in the root cache `name` (0 before it exists).
    fn objects(sys: &System, name: &str) -> u64 {
        let cache = sys.caches.iter().find(|c| c.name() == name);
        cache.map_or(0, KmemCache::objects_in_use)
    }

    /// A memcg's first object from a cache makes the cache's copy, with its sysfs directory:
    /// 32 entries, and on 3.10 a 33rd, the alias symlink, for a copy of a mergeable cache
    /// (`sysfs_slab_add()`; 3.10's `slab_unmergeable()` exempts no child cache, and a cache
    /// with a constructor is unmergeable). 4.4 gives every copy 32 `kernfs_node_cache` entries.
    /// The copy's next objects make no entries.
    #[test]
    fn a_copy_gets_its_sysfs_entries() {
        for (kernel, sysfs, mergeable) in [
            ("3.10", "sysfs_dir_cache", 33),
            ("3.10-rhel7", "sysfs_dir_cache", 33),
            ("4.4", "kernfs_node_cache", 32),
        ] {
            let mut sys = system(kernel, 1 << 30);
            let (m, _) = sys.start_memcg();
            let mut entries = objects(&sys, sysfs);
            for (cache, made) in [
                ("dentry", mergeable),
                ("inode_cache", 32),
                ("kmalloc-64", mergeable),
            ] {
                let id = sys.cache_id(cache).unwrap();
                for _ in 0..2 {
                    sys.alloc_object(id, Some(m)).unwrap();
                }
                let now = objects(&sys, sysfs);
                assert_eq!(now - entries, made, "{kernel} {cache}");
                entries = now;
            }
        }
    }

    /// `check_lru` holds the anon reverse map to the handle table: a page naming a handle
    /// that maps another page, and a mapped block whose page names none, are both reported;
    /// freeing the pages leaves nothing to report.
    #[test]
    fn the_reverse_map_check_finds_pages_that_name_the_wrong_handle() {
        let mut sys = system("3.10", 1 << 30);
        let (mut left, mut handles) = (64, Vec::new());
        sys.fault_anon(&mut left, &mut handles).unwrap();
        assert_eq!((left, handles.len()), (0, 64));
        sys.check_lru().unwrap();
        fn mapping(sys: &mut System, h: u32) -> &mut u32 {
            let pfn = sys.anon[h as usize].0;
            let (n, z) = sys.locate(pfn).unwrap();
            let zone = &mut sys.nodes[n].zones[z];
            let off = zone.off_of(pfn).unwrap() as usize;
            &mut zone.pages[off].mapping
        }
        let (a, b) = (handles[0], handles[1]);
        *mapping(&mut sys, a) = b;
        let e = sys.check_lru().unwrap_err();
        assert!(
            e.contains(&format!("names anon handle {b}, which is not its")),
            "{e}"
        );
        *mapping(&mut sys, a) = NO_MAPPING;
        let e = sys.check_lru().unwrap_err();
        assert!(
            e.contains("64 anon blocks are mapped, 63 pages name one"),
            "{e}"
        );
        *mapping(&mut sys, a) = a;
        sys.check_lru().unwrap();
        sys.free_anon(&handles);
        sys.check_lru().unwrap();
    }

    /// On a 16 GiB node an order-6 GFP_KERNEL request prefers Normal, and DMA's reserve for it
    /// (a 256th of DMA32 + Normal) exceeds DMA's pages: DMA's free blocks are not counted.
    #[test]
    fn order6_blocks_leave_out_a_zone_the_reserve_shuts_out() {
        let sys = system("3.10", 16 << 30);
        let blocks = |z: ZoneType| {
            let zone = sys.nodes[0].zone(z).unwrap();
            (6..zone.cfg.orders)
                .map(|o| zone.nr_free[o as usize])
                .sum::<u64>()
        };
        assert!(blocks(ZoneType::Dma) > 0);
        assert_eq!(
            sys.order6_blocks(),
            blocks(ZoneType::Dma32) + blocks(ZoneType::Normal)
        );
    }
}
