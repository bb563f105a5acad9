//! Network namespaces and their conntrack slab caches (net/netfilter/nf_conntrack_core.c).
//!
//! Up to 4.6, `nf_conntrack_init_net()` creates one slab cache per network namespace for its
//! connection-tracking entries: `nf_conntrack_<%p>` (the `struct net` pointer; 3.10 – 4.4) or
//! `nf_conntrack_<%llu>` (a global counter; 4.5/4.6 and RHEL 7.9). The cache has
//! `SLAB_DESTROY_BY_RCU`, so it is never merged with another: every pod's netns costs a
//! `kmem_cache_create()`. From 4.7 one global `nf_conntrack` cache serves every netns.
//!
//! A per-netns cache is a root cache, so with memcg kmem accounting its creation kzallocs the
//! memcg array ([`crate::mm::memcontrol`]); once that array is large the kzalloc is a costly
//! `kmalloc_large()`, and its failure fails the cache, the netns and the pod: "kmem_cache_create(
//! nf_conntrack_ffff8803eef66180) failed with error -12", "Unable to create nf_conn slab cache".
//! [`Conntrack::setup_net`] returns that creation as a [`CacheCreateProbe`] record.
//!
//! The `struct kmem_cache` itself and the name string are small kmallocs the model leaves out.

use crate::kernel::gfp::GfpLayout;
use crate::kernel::profile::ConntrackCache;
use crate::mm::memcontrol::{update_cache_params, ArrayGrowth, KzallocRequest, MemcgKmem};
use crate::mm::slub::{
    kmalloc_large_request, kmalloc_route, AllocFailure, CacheFlags, Kmalloc, KmallocRoute,
    KmemCache, PageAllocator, SlabError, SlabRules, SlubTunables,
};
use std::collections::BTreeMap;

/// `s->size` of the conntrack cache on x86-64 (`sizeof(struct nf_conn)` aligned), as the 3.10
/// and 4.18 captures print it.
pub const NF_CONN_SIZE: u32 = 320;

/// A network namespace, by index of creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NetnsId(pub u32);

/// The memcg-array kzalloc a cache creation made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ParamsAlloc {
    pub size: u64,
    pub route: KmallocRoute,
    /// `mode:0x…` as a failure report of that kernel prints it (for a large kmalloc, with the
    /// flags `kmalloc_order()` adds).
    pub gfp_mode: u64,
}

impl ParamsAlloc {
    /// The memcg-array kzalloc `req` as the kernel makes it: a `kmalloc-<n>` object, or above
    /// 8 KiB `kmalloc_large()` with the flags `kmalloc_order()` adds (`rules.kmalloc_large`).
    pub fn new(req: &KzallocRequest, rules: SlabRules, gfp: &GfpLayout) -> ParamsAlloc {
        let route = kmalloc_route(req.size);
        let mode_gfp = match route {
            KmallocRoute::Large { .. } => {
                kmalloc_large_request(req.size, req.gfp, rules.kmalloc_large)
                    .1
                    .gfp
            }
            KmallocRoute::Cache { .. } => req.gfp,
        };
        ParamsAlloc {
            size: req.size,
            route,
            gfp_mode: gfp.mask(&mode_gfp),
        }
    }
}

/// What creating the netns's conntrack cache came to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CacheOutcome {
    /// The kernel has one global cache: the netns creates none.
    NoCache,
    Created,
    /// `kmem_cache_create()` failed with -ENOMEM: the netns was not created.
    Failed(AllocFailure),
}

/// The probe users care about: one netns creation's cache and its memcg-array allocation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CacheCreateProbe {
    /// The netns, if it was created.
    pub netns: Option<NetnsId>,
    pub cache_name: Option<String>,
    /// The memcg-array kzalloc, if the creation made one.
    pub params: Option<ParamsAlloc>,
    pub outcome: CacheOutcome,
}

/// The conntrack side of every netns of a node.
#[derive(Clone, Debug)]
pub struct Conntrack {
    variant: ConntrackCache,
    rules: SlabRules,
    tunables: SlubTunables,
    gfp: GfpLayout,
    /// `unique_id` of the `%llu` naming (`atomic64_inc_return`, so the first is 1).
    counter: u64,
    next_netns: u32,
    caches: BTreeMap<NetnsId, Option<KmemCache>>,
}

impl Conntrack {
    pub fn new(
        variant: ConntrackCache,
        rules: SlabRules,
        tunables: SlubTunables,
        gfp: GfpLayout,
    ) -> Self {
        Conntrack {
            variant,
            rules,
            tunables,
            gfp,
            counter: 0,
            next_netns: 0,
            caches: BTreeMap::new(),
        }
    }

    /// Live network namespaces.
    pub fn netns_count(&self) -> usize {
        self.caches.len()
    }

    /// The netns's own conntrack cache (`None` for a global-cache kernel or an unknown netns).
    pub fn cache_mut(&mut self, netns: NetnsId) -> Option<&mut KmemCache> {
        self.caches.get_mut(&netns).and_then(Option::as_mut)
    }

    /// Per-netns caches, by netns.
    pub fn caches(&self) -> impl Iterator<Item = (NetnsId, &KmemCache)> {
        self.caches
            .iter()
            .filter_map(|(&id, c)| c.as_ref().map(|c| (id, c)))
    }

    /// The cache name `nf_conntrack_init_net()` formats. The `%p` value is synthetic (a
    /// deterministic `ffff88…` address per netns), the `%llu` one the kernel's counter.
    fn cache_name(&mut self, netns: NetnsId) -> Option<String> {
        match self.variant {
            ConntrackCache::PerNetnsPointer => Some(format!(
                "nf_conntrack_{:016x}",
                0xffff_8800_0000_0000u64 | (u64::from(netns.0) << 12)
            )),
            ConntrackCache::PerNetnsCounter => {
                self.counter += 1;
                Some(format!("nf_conntrack_{}", self.counter))
            }
            ConntrackCache::Global => None,
        }
    }

    /// Creates a network namespace. Models `setup_net()` → `nf_conntrack_init_net()`: on
    /// per-netns kernels `kmem_cache_create(name, sizeof(struct nf_conn), 0,
    /// SLAB_DESTROY_BY_RCU)`, which (3.10 `kmem_cache_create_memcg()` → `memcg_register_cache()`,
    /// 4.x `do_kmem_cache_create()` → `init_memcg_params()`) first kzallocs the root cache's
    /// memcg array when `memcg` says so. A failed kzalloc fails the cache and the netns.
    pub fn setup_net(
        &mut self,
        memcg: &MemcgKmem,
        kmalloc: &mut Kmalloc,
        pa: &mut impl PageAllocator,
    ) -> Result<CacheCreateProbe, SlabError> {
        let netns = NetnsId(self.next_netns);
        let Some(name) = self.cache_name(netns) else {
            self.next_netns += 1;
            self.caches.insert(netns, None);
            return Ok(CacheCreateProbe {
                netns: Some(netns),
                cache_name: None,
                params: None,
                outcome: CacheOutcome::NoCache,
            });
        };
        let flags = CacheFlags {
            destroy_by_rcu: true,
            ..CacheFlags::default()
        };
        let mut cache = KmemCache::new(&name, NF_CONN_SIZE, flags, self.rules, &self.tunables)?;
        let mut probe = CacheCreateProbe {
            netns: None,
            cache_name: Some(name),
            params: None,
            outcome: CacheOutcome::Created,
        };
        if let Some(req) = memcg.root_cache_params() {
            probe.params = Some(ParamsAlloc::new(&req, self.rules, &self.gfp));
            match kmalloc.kmalloc(req.size, req.gfp, pa) {
                Ok(r) => cache.memcg_params = Some(r),
                Err(SlabError::Alloc { failure, .. }) => {
                    probe.outcome = CacheOutcome::Failed(failure);
                    return Ok(probe);
                }
                Err(e) => return Err(e),
            }
        }
        self.next_netns += 1;
        self.caches.insert(netns, Some(cache));
        probe.netns = Some(netns);
        Ok(probe)
    }

    /// Destroys a network namespace. Models `nf_conntrack_cleanup_net_list()`: its conntrack
    /// entries are killed, then `kmem_cache_destroy()` frees the cache's slabs and memcg array.
    /// Returns the pages freed (slabs only).
    pub fn cleanup_net(
        &mut self,
        netns: NetnsId,
        kmalloc: &mut Kmalloc,
        pa: &mut impl PageAllocator,
    ) -> Result<u64, SlabError> {
        match self.caches.remove(&netns) {
            Some(Some(cache)) => cache.destroy(kmalloc, pa),
            _ => Ok(0),
        }
    }

    /// This module's share of `memcg_update_all_caches()`: every per-netns cache reallocates its
    /// memcg array to the grown size. Stops at the first failure, leaving the caches done so far
    /// updated, as the kernel does.
    pub fn update_all_params(
        &mut self,
        growth: &ArrayGrowth,
        kmalloc: &mut Kmalloc,
        pa: &mut impl PageAllocator,
    ) -> Result<(), SlabError> {
        for cache in self.caches.values_mut().flatten() {
            update_cache_params(cache, growth, kmalloc, pa)?;
        }
        Ok(())
    }
}
