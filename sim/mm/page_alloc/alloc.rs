//! The allocation entry point over a machine's nodes (mm/page_alloc.c), up to compaction and
//! reclaim.
//!
//! `__alloc_pages_nodemask()` (6.x: `__alloc_pages()`) turns the GFP mask into a highest usable
//! zone (`gfp_zone()`), a migrate type and `ALLOC_*` flags, then walks the zonelist: the local
//! node's zones from that zone downward, then the other nodes'. `get_page_from_freelist()` skips
//! every zone that fails the watermark check (the LOW mark in the fast path, plus the zone's
//! `lowmem_reserve` for the request's classzone / highest_zoneidx) and takes the first block
//! `rmqueue()` hands out. From 5.0 the fast path first refuses to split a foreign pageblock
//! (ALLOC_NOFRAGMENT) and walks the list again without that restriction. When the fast path
//! fails, `__alloc_pages_slowpath()` wakes kswapd and retries at the MIN mark with
//! `gfp_to_alloc_flags()`; that is where GFP_ATOMIC and GFP_NOWAIT requests end. Compaction,
//! reclaim and the retry loop come after and are not modelled here: the structured
//! [`AllocationFailure`] says, zone by zone, why each step was refused, so the rest of the slow
//! path can continue from it.

use crate::kernel::gfp::{gfp_migratetype, gfp_zone, GfpFlags};
use crate::kernel::profile::{Profile, ReserveIndex};
use crate::mm::mmzone::{MigrateType, Node, OwnerKind, Pfn, Zone, ZoneType};
use crate::mm::page_alloc::alloc_flags::{
    fast_path_alloc_flags, gfp_to_alloc_flags, AllocFlags, Wmark,
};
use crate::mm::page_alloc::buddy::{self, AllocOpts, FreeError};
use crate::mm::page_alloc::watermark::{zone_watermark_fast, WatermarkVerdict};
use crate::mm::slub::{self, PageAllocator, PageOwner, SlabPageRequest};
use smallvec::SmallVec;
use std::fmt;

/// Most zonelist entries a failure records (e.g. 4 nodes × 4 zones); further refusals are
/// counted in [`ZoneRefusals::dropped`].
pub const MAX_ZONELIST: usize = 16;

/// Which step of the allocator served a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum AllocPath {
    /// `get_page_from_freelist()` at the LOW mark (`__alloc_pages_nodemask()`).
    FastPath,
    /// The slow path's first retry at the MIN mark with `gfp_to_alloc_flags()`.
    MinWatermark,
    /// The block direct compaction captured while it was being freed (`compaction_capture()`,
    /// 5.1+), handed over without a free-list walk.
    Captured,
}

/// A block the allocator handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Allocation {
    pub pfn: Pfn,
    pub node: u32,
    pub zone: ZoneType,
    pub path: AllocPath,
    /// The request woke kswapd: the serving zone's watermark was boosted by this allocation's
    /// fallback (ZONE_BOOSTED_WATERMARK, cleared on the way out of `rmqueue()`, 5.0+), or the
    /// request went through the slow path (`wake_all_kswapds()`).
    pub wake_kswapd: bool,
    /// The fast path found nothing with ALLOC_NOFRAGMENT and served the request on its second
    /// walk without it (5.0+).
    pub nofragment_retried: bool,
    /// The fair pass found nothing: the allocation batches were reset and the second walk,
    /// without ALLOC_FAIR, served the request (3.12 – 4.7, RHEL 7).
    pub fair_reset: bool,
}

/// Why one zone of the zonelist did not serve the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Refusal {
    /// The node has the zone but no managed pages (`populated_zone()` is false).
    NotPopulated,
    /// The watermark check failed, with the numbers it compared.
    Watermark(WatermarkVerdict),
    /// The watermark passed but `rmqueue()` found no block of the order on any list the
    /// request may use.
    NoBlockOfOrder { migratetype: MigrateType },
    /// The order is beyond the largest the kernel has.
    OrderTooLarge { max: u32 },
}

/// One zonelist entry's refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ZoneRefusal {
    pub node: u32,
    pub zone: ZoneType,
    pub refusal: Refusal,
}

/// The refusals of one walk over the zonelist, in zonelist order, in inline storage so the
/// allocation path never allocates (and an empty record costs nothing to make: every
/// allocation starts one).
#[derive(Clone, Debug, Default)]
pub struct ZoneRefusals {
    dropped: u8,
    entries: SmallVec<[ZoneRefusal; MAX_ZONELIST]>,
}

impl ZoneRefusals {
    fn push(&mut self, r: ZoneRefusal) {
        if self.entries.len() < MAX_ZONELIST {
            self.entries.push(r);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The refusals, in zonelist order.
    pub fn iter(&self) -> impl Iterator<Item = &ZoneRefusal> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Refusals beyond [`MAX_ZONELIST`] that were not recorded.
    pub fn dropped(&self) -> usize {
        usize::from(self.dropped)
    }

    /// The refusal of one zone, if it was on the zonelist.
    pub fn get(&self, node: u32, zone: ZoneType) -> Option<Refusal> {
        self.iter()
            .find(|r| r.node == node && r.zone == zone)
            .map(|r| r.refusal)
    }
}

impl PartialEq for ZoneRefusals {
    fn eq(&self, other: &Self) -> bool {
        self.dropped == other.dropped && self.iter().eq(other.iter())
    }
}

impl Eq for ZoneRefusals {}

impl serde::Serialize for ZoneRefusals {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A request neither the fast path nor the MIN-watermark retry could serve: where issue 4's
/// slow path (compaction, reclaim, retries) takes over.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AllocationFailure {
    pub order: u32,
    pub gfp_mask: u64,
    pub migratetype: MigrateType,
    /// `gfp_zone()`: the highest zone the request may use.
    pub highest_zone: ZoneType,
    /// The zone whose `lowmem_reserve[]` entry every check used (`Profile::reserve_index`).
    pub reserve_zone: ZoneType,
    /// The fast path's flags, without ALLOC_NOFRAGMENT if it was dropped for the second walk.
    pub fast_flags: AllocFlags,
    /// The fast path's last walk.
    pub fast: ZoneRefusals,
    /// The fast path walked the zonelist a second time without ALLOC_NOFRAGMENT (5.0+).
    pub nofragment_retried: bool,
    /// `gfp_to_alloc_flags()`.
    pub min_flags: AllocFlags,
    /// The walk at the MIN mark.
    pub min: ZoneRefusals,
    /// The slow path woke kswapd (`__GFP_KSWAPD_RECLAIM`; 3.10: not `__GFP_NO_KSWAPD`).
    pub wake_kswapd: bool,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotPopulated => f.write_str("zone not populated"),
            Refusal::Watermark(v) => write!(f, "{v}"),
            Refusal::NoBlockOfOrder { migratetype } => {
                write!(f, "no free block of the order for {migratetype}")
            }
            Refusal::OrderTooLarge { max } => write!(f, "order above the largest order {max}"),
        }
    }
}

impl fmt::Display for AllocationFailure {
    /// One line per step and zone, as `explain` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "order-{} {} allocation failed (highest zone {}, lowmem_reserve of {})",
            self.order, self.migratetype, self.highest_zone, self.reserve_zone
        )?;
        for (step, flags, refusals) in [
            ("fast path", self.fast_flags, &self.fast),
            ("min watermark", self.min_flags, &self.min),
        ] {
            write!(f, "\n  {step} ({flags}):")?;
            for r in refusals.iter() {
                write!(f, "\n    node {} {}: {}", r.node, r.zone, r.refusal)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for AllocationFailure {}

/// A free that matches no zone or no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum FreePagesError {
    #[error("PFN {pfn:#x} is in no zone of any node")]
    NoZone { pfn: Pfn },
    #[error(transparent)]
    Free(#[from] FreeError),
}

/// What one walk of the zonelist ended with.
enum Walk {
    Found(Allocation),
    /// Every zone refused.
    Exhausted,
    /// ALLOC_NOFRAGMENT reached another node's zone: walk again without it.
    RemoteWithNofragment,
}

/// A request decoded once for any number of allocations of the same order and GFP mask from
/// the same node (`struct alloc_context` with the fast path's `alloc_flags`): what
/// [`prepare_alloc_pages`] derives from the mask and the nodes' zones, which do not change
/// while the nodes exist. [`alloc_pages_prepared`] serves one allocation from it.
#[derive(Clone, Copy, Debug)]
pub struct AllocContext {
    order: u32,
    gfp_mask: u64,
    gfp: GfpFlags,
    mt: MigrateType,
    local: usize,
    /// `gfp_zone()`.
    highest: ZoneType,
    /// The preferred zone's node index and type; `None` when no zone can serve the request.
    preferred: Option<(usize, ZoneType)>,
    /// The zone whose `lowmem_reserve[]` entry every check uses.
    reserve_zone: ZoneType,
    /// Index into `lowmem_reserve[]`; out of range reads as no reserve.
    reserve_idx: usize,
    /// The fast path's first `alloc_flags` (with ALLOC_NOFRAGMENT where it applies).
    fast_flags: AllocFlags,
}

impl AllocContext {
    /// The order every allocation of this context asks for.
    pub fn order(&self) -> u32 {
        self.order
    }

    /// The GFP mask, in the profile's layout.
    pub fn gfp_mask(&self) -> u64 {
        self.gfp_mask
    }

    /// The preferred zone (`first_zones_zonelist()`): its node index and type.
    pub fn preferred(&self) -> Option<(usize, ZoneType)> {
        self.preferred
    }

    /// The same request as the slow path retries it: without ALLOC_FAIR, which
    /// `gfp_to_alloc_flags()` never sets.
    pub fn unfair(mut self) -> AllocContext {
        self.fast_flags = self.fast_flags.without(AllocFlags::FAIR);
        self
    }

    /// Whether the request could ever be served from `zone`: a zone up to `gfp_zone()` whose
    /// min watermark plus the request's `lowmem_reserve` entry stays below its managed pages
    /// (`__zone_watermark_ok()` fails while `free <= min + lowmem_reserve[classzone]`). A small
    /// DMA zone below a large Normal one never is.
    pub fn may_use(&self, zone: &Zone) -> bool {
        zone.zone_type <= self.highest
            && zone.watermarks.min + self.lowmem_reserve(zone) < zone.managed
    }

    /// The `lowmem_reserve[]` entry of `zone` every watermark check of this request adds.
    fn lowmem_reserve(&self, zone: &Zone) -> u64 {
        zone.lowmem_reserve
            .get(self.reserve_idx)
            .copied()
            .unwrap_or(0)
    }
}

/// The parts of a request every walk reads.
struct Request<'a> {
    profile: &'a Profile,
    ac: &'a AllocContext,
    owner: OwnerKind,
}

/// The `alloc_flags` bits `rmqueue()` reads, by the profile's flag rules: ALLOC_HARDER
/// (6.3+: ALLOC_HIGHATOMIC) tries the HIGHATOMIC lists first, ALLOC_OOM / ALLOC_NON_BLOCK
/// (6.3+) last.
fn alloc_opts(flags: AllocFlags) -> AllocOpts {
    AllocOpts {
        harder: flags.intersects(AllocFlags::HARDER | AllocFlags::HIGHATOMIC),
        highatomic_last: flags.intersects(AllocFlags::OOM | AllocFlags::NON_BLOCK),
        nofragment: flags.contains(AllocFlags::NOFRAGMENT),
        cma: flags.contains(AllocFlags::CMA),
        kswapd: flags.contains(AllocFlags::KSWAPD),
    }
}

/// Models get_page_from_freelist() (mm/page_alloc.c) without node reclaim (zone_reclaim_mode
/// 0): each zone of the zonelist at or below `highest`, local node first, is checked with
/// `zone_watermark_fast()` against the mark `flags` selects (boost included) plus its
/// `lowmem_reserve[reserve_idx]` (6.7+: first against the high mark, setting ZONE_BELOW_HIGH
/// when that fails), then asked for a block (`rmqueue()`). With ALLOC_NOFRAGMENT on
/// a machine of several nodes the walk stops at the first remote zone. With ALLOC_FAIR a zone
/// is passed over, unrecorded, when it is not on the preferred zone's node or its allocation
/// batch is spent (`NR_ALLOC_BATCH <= 0`).
fn get_page_from_freelist(
    nodes: &mut [Node],
    req: &Request,
    flags: AllocFlags,
    path: AllocPath,
    out: &mut ZoneRefusals,
) -> Walk {
    out.entries.clear();
    out.dropped = 0;
    let opts = alloc_opts(flags);
    let n = nodes.len();
    let ac = req.ac;
    for k in 0..n {
        // (local + k) mod n without a division: `local` is below n (prepare_alloc_pages()).
        let i = ac.local + k;
        let ni = if i < n { i } else { i - n };
        let node = &mut nodes[ni];
        if k > 0 && opts.nofragment {
            return Walk::RemoteWithNofragment;
        }
        let node_id = node.id;
        // zone_local(): only the preferred zone's node takes part in the fair pass.
        let fair = flags.contains(AllocFlags::FAIR);
        if fair && ac.preferred.is_some_and(|(p, _)| p != ni) {
            continue;
        }
        for zone in node.zones.iter_mut().rev() {
            if zone.zone_type > ac.highest || (fair && zone.alloc_batch() <= 0) {
                continue;
            }
            let zone_type = zone.zone_type;
            let refusal = |refusal| ZoneRefusal {
                node: node_id,
                zone: zone_type,
                refusal,
            };
            if zone.present == 0 || zone.managed == 0 {
                out.push(refusal(Refusal::NotPopulated));
                continue;
            }
            let reserve = ac.lowmem_reserve(zone);
            let wmarks = zone.watermarks;
            let check = |zone: &Zone, flags| {
                zone_watermark_fast(
                    req.profile,
                    zone,
                    ac.order,
                    &wmarks,
                    reserve,
                    flags,
                    &ac.gfp,
                )
            };
            // 6.7+: a zone not marked ZONE_BELOW_HIGH is first tested against its high
            // watermark; passing is enough, failing marks it.
            let above_high = zone.pcp().tunes_high()
                && !zone.pcp().below_high()
                && (check(zone, flags.with_wmark(Wmark::High)).is_ok() || {
                    zone.set_below_high();
                    false
                });
            if !above_high {
                let verdict = check(zone, flags);
                if !verdict.is_ok() {
                    out.push(refusal(Refusal::Watermark(verdict)));
                    continue;
                }
            }
            match zone.alloc(ac.order, ac.mt, opts, req.owner) {
                Ok(pfn) => {
                    return Walk::Found(Allocation {
                        pfn,
                        node: node_id,
                        zone: zone.zone_type,
                        path,
                        wake_kswapd: zone.take_boosted_flag(),
                        nofragment_retried: false,
                        fair_reset: false,
                    })
                }
                Err(buddy::AllocFailure::NoBlockOfOrder { migratetype, .. }) => {
                    out.push(refusal(Refusal::NoBlockOfOrder { migratetype }))
                }
                Err(buddy::AllocFailure::OrderTooLarge { max, .. }) => {
                    out.push(refusal(Refusal::OrderTooLarge { max }))
                }
            }
        }
    }
    Walk::Exhausted
}

/// The preferred zone (`first_zones_zonelist()`): the first populated zone at or below
/// `highest`, local node first. Returns its node index and type.
fn preferred_zone(nodes: &[Node], local: usize, highest: ZoneType) -> Option<(usize, ZoneType)> {
    let n = nodes.len();
    (0..n).map(|k| (local + k) % n).find_map(|i| {
        nodes[i]
            .zones
            .iter()
            .rev()
            .find(|z| z.zone_type <= highest && z.managed > 0)
            .map(|z| (i, z.zone_type))
    })
}

/// Decodes a request of `2^order` pages with the GFP mask `gfp_mask` (in the profile's GFP
/// layout) from node index `local_node`, as `__alloc_pages_nodemask()` (6.x:
/// `__alloc_pages()`) does before its first zonelist walk: `gfp_zone()`, the migrate type
/// (`gfp_migratetype()`, UNMOVABLE when mobility grouping is off), the preferred zone
/// (`first_zones_zonelist()`), the lowmem_reserve entry (the preferred zone's for 3.10 – 5.6
/// `classzone_idx`, `gfp_zone()`'s for 5.7+ `highest_zoneidx`, per `Profile::reserve_index`)
/// and the fast path's flags (`prepare_alloc_pages()`, `alloc_flags_nofragment()`). A caller
/// making many allocations of one kind prepares once and calls [`alloc_pages_prepared`].
pub fn prepare_alloc_pages(
    nodes: &[Node],
    profile: &Profile,
    order: u32,
    gfp_mask: u64,
    local_node: usize,
) -> AllocContext {
    let gfp = profile.gfp.flags(gfp_mask);
    let highest = gfp_zone(&gfp);
    let mobility_disabled = nodes
        .first()
        .and_then(|n| n.zones.first())
        .is_some_and(|z| z.config().mobility_disabled);
    let mt = if mobility_disabled {
        MigrateType::Unmovable
    } else {
        gfp_migratetype(profile, &gfp)
    };
    let local = if local_node < nodes.len() {
        local_node
    } else {
        0
    };
    let preferred = preferred_zone(nodes, local, highest);
    let reserve_zone = match profile.reserve_index {
        ReserveIndex::PreferredZone => preferred.map_or(highest, |p| p.1),
        ReserveIndex::HighestZoneidx => highest,
    };
    let fast_flags = match preferred {
        Some((pnode, ptype)) => {
            // alloc_flags_nofragment(): on several nodes, DMA32 of the preferred zone's node
            // must be populated; on one node the kernel assumes it is.
            let dma32_populated = nodes.len() == 1
                || nodes[pnode]
                    .zone(ZoneType::Dma32)
                    .is_some_and(|z| z.managed > 0);
            fast_path_alloc_flags(profile, &gfp, ptype, dma32_populated)
        }
        None => AllocFlags::default(),
    };
    AllocContext {
        order,
        gfp_mask,
        gfp,
        mt,
        local,
        highest,
        preferred,
        reserve_zone,
        reserve_idx: profile.zone_index(reserve_zone).unwrap_or(usize::MAX),
        fast_flags,
    }
}

/// Allocates a `2^order` block for `owner` with the GFP mask `gfp_mask` (in the profile's GFP
/// layout) on the running CPU of node index `local_node`: [`prepare_alloc_pages`], then
/// [`alloc_pages_prepared`].
pub fn alloc_pages(
    nodes: &mut [Node],
    profile: &Profile,
    order: u32,
    gfp_mask: u64,
    owner: OwnerKind,
    local_node: usize,
) -> Result<Allocation, Box<AllocationFailure>> {
    let ac = prepare_alloc_pages(nodes, profile, order, gfp_mask, local_node);
    alloc_pages_prepared(nodes, profile, &ac, owner)
}

/// Allocates one block of the prepared request `ac` for `owner`. Models the rest of
/// `__alloc_pages_nodemask()` (6.x: `__alloc_pages()`): `get_page_from_freelist()` at LOW
/// (again without ALLOC_NOFRAGMENT if that failed; 3.12 – 4.7 and RHEL 7: again without
/// ALLOC_FAIR after `reset_alloc_batches()` if the fair pass failed), then the first step of
/// `__alloc_pages_slowpath()`: `wake_all_kswapds()` and `get_page_from_freelist()` at MIN with
/// `gfp_to_alloc_flags()` (ALLOC_NO_WATERMARKS is left to the later slow path, as the kernel
/// applies it after this retry). `nodes` must be the nodes `ac` was prepared on.
pub fn alloc_pages_prepared(
    nodes: &mut [Node],
    profile: &Profile,
    ac: &AllocContext,
    owner: OwnerKind,
) -> Result<Allocation, Box<AllocationFailure>> {
    let req = Request { profile, ac, owner };
    let failure = |fast, nofragment_retried, fast_flags, min, min_flags, wake_kswapd| {
        Box::new(AllocationFailure {
            order: ac.order,
            gfp_mask: ac.gfp_mask,
            migratetype: ac.mt,
            highest_zone: ac.highest,
            reserve_zone: ac.reserve_zone,
            fast_flags,
            fast,
            nofragment_retried,
            min_flags,
            min,
            wake_kswapd,
        })
    };
    if ac.preferred.is_none() {
        let none = AllocFlags::default();
        return Err(failure(
            ZoneRefusals::default(),
            false,
            none,
            ZoneRefusals::default(),
            none,
            false,
        ));
    }
    let mut flags = ac.fast_flags;
    let mut fast = ZoneRefusals::default();
    let mut nofragment_retried = false;
    let mut fair_reset = false;
    loop {
        match get_page_from_freelist(nodes, &req, flags, AllocPath::FastPath, &mut fast) {
            Walk::Found(a) => {
                return Ok(Allocation {
                    nofragment_retried,
                    fair_reset,
                    ..a
                })
            }
            _ if flags.contains(AllocFlags::NOFRAGMENT) => {
                flags = flags.without(AllocFlags::NOFRAGMENT);
                nofragment_retried = true;
            }
            _ if flags.contains(AllocFlags::FAIR) => {
                reset_alloc_batches(nodes, ac);
                flags = flags.without(AllocFlags::FAIR);
                fair_reset = true;
            }
            _ => break,
        }
    }
    let wake_kswapd = ac.gfp.kswapd_reclaim;
    let min_flags =
        gfp_to_alloc_flags(profile, &ac.gfp, ac.order).without(AllocFlags::NO_WATERMARKS);
    let mut min = ZoneRefusals::default();
    match get_page_from_freelist(nodes, &req, min_flags, AllocPath::MinWatermark, &mut min) {
        Walk::Found(a) => Ok(Allocation {
            wake_kswapd: a.wake_kswapd || wake_kswapd,
            nofragment_retried,
            fair_reset,
            ..a
        }),
        _ => Err(failure(
            fast,
            nofragment_retried,
            flags,
            min,
            min_flags,
            wake_kswapd,
        )),
    }
}

/// Whether the fast path surely serves `ac`, decided without changing anything: some zone of
/// the zonelist (any node, the walk ALLOC_FAIR and ALLOC_NOFRAGMENT fall back to) passes its
/// low-watermark check and holds a block `rmqueue()` would take ([`Zone::buddy_has_block`]).
/// `false` also when the per-cpu lists serve the order, which this does not look at: only
/// an allocation can tell then. A test allocation that only observes is answered here when it
/// can be, and on a copy of the nodes otherwise.
pub fn fast_path_serves(nodes: &[Node], profile: &Profile, ac: &AllocContext) -> bool {
    if ac.preferred.is_none() {
        return false;
    }
    let flags = ac
        .fast_flags
        .without(AllocFlags::FAIR)
        .without(AllocFlags::NOFRAGMENT);
    let opts = alloc_opts(flags);
    nodes.iter().flat_map(|n| &n.zones).any(|zone| {
        if zone.zone_type > ac.highest || zone.present == 0 || zone.managed == 0 {
            return false;
        }
        if zone.pcp().allows(ac.order) && zone.pcp().serves(ac.mt, opts) {
            return false;
        }
        let (reserve, wmarks) = (ac.lowmem_reserve(zone), zone.watermarks);
        zone_watermark_fast(profile, zone, ac.order, &wmarks, reserve, flags, &ac.gfp).is_ok()
            && zone.buddy_has_block(ac.order, ac.mt, opts)
    })
}

/// Gives every zone of the preferred zone's node up to `gfp_zone()` a fresh allocation batch,
/// after a fair pass that found nothing. Models `reset_alloc_batches()` (3.12 – 4.7, RHEL 7).
fn reset_alloc_batches(nodes: &mut [Node], ac: &AllocContext) {
    if let Some((p, _)) = ac.preferred {
        for zone in nodes[p].zones.iter_mut() {
            if zone.zone_type <= ac.highest && zone.managed > 0 {
                zone.reset_alloc_batch();
            }
        }
    }
}

/// One prepared order-0 request made again and again with nothing else touching the
/// allocator in between, as a task faulting in its memory makes it. A walk of
/// get_page_from_freelist() reads the zones' free pages, free lists and watermarks; a page
/// rmqueue_pcplist() takes off a per-cpu list without a refill changes none of them, so the
/// next walk would refuse the same zones for the same reasons and take the same zone's list
/// again. While that holds, [`RepeatedRequest::alloc`] takes the page without walking; every
/// result and counter is the one the walk gives. Order > 0 is always walked: such a pop may
/// reserve a highatomic pageblock (reserve_highatomic_pageblock()), which later checks read.
#[derive(Debug, Default)]
pub struct RepeatedRequest {
    /// The (node, zone) indices whose per-cpu list the last walk took, while its verdicts hold.
    chosen: Option<(usize, usize)>,
}

impl RepeatedRequest {
    /// Whether the last walk's verdicts still hold. False after any request that failed the
    /// fast path, so after every slow path (and so every reclaim or compaction) since.
    pub fn holds(&self) -> bool {
        self.chosen.is_some()
    }

    /// The block [`alloc`](Self::alloc) would give for `ac` without walking, if the last walk's
    /// verdicts hold and its zone's list has one: the (node, zone) indices and the PFN.
    #[inline]
    pub fn take(
        &mut self,
        nodes: &mut [Node],
        ac: &AllocContext,
        owner: OwnerKind,
    ) -> Option<((usize, usize), Pfn)> {
        let (n, z) = self.chosen.filter(|_| ac.order == 0)?;
        let zone = &mut nodes[n].zones[z];
        // A spent batch makes the next fair pass skip the zone.
        if ac.fast_flags.contains(AllocFlags::FAIR) && zone.alloc_batch() <= 0 {
            return None;
        }
        let off = zone.pcp_take(ac.mt, alloc_opts(ac.fast_flags), owner)?;
        Some(((n, z), zone.pfn_of(off)))
    }

    /// [`alloc_pages_prepared`] once more for `ac`.
    pub fn alloc(
        &mut self,
        nodes: &mut [Node],
        profile: &Profile,
        ac: &AllocContext,
        owner: OwnerKind,
    ) -> Result<Allocation, Box<AllocationFailure>> {
        if let Some(((n, z), pfn)) = self.take(nodes, ac, owner) {
            return Ok(Allocation {
                pfn,
                node: nodes[n].id,
                zone: nodes[n].zones[z].zone_type,
                path: AllocPath::FastPath,
                wake_kswapd: false,
                nofragment_retried: false,
                fair_reset: false,
            });
        }
        self.chosen = None;
        let free = |nodes: &[Node]| -> u64 {
            nodes
                .iter()
                .flat_map(|n| &n.zones)
                .map(|z| z.nr_free_pages)
                .sum()
        };
        let before = (ac.order == 0).then(|| free(nodes));
        let r = alloc_pages_prepared(nodes, profile, ac, owner);
        if let Ok(a) = &r {
            // A walk whose pop refilled the list took pages off the buddy lists.
            if a.path == AllocPath::FastPath
                && !a.nofragment_retried
                && !a.fair_reset
                && !a.wake_kswapd
                && before == Some(free(nodes))
            {
                self.chosen = nodes.iter().position(|n| n.id == a.node).and_then(|n| {
                    let z = nodes[n].zones.iter().position(|z| z.zone_type == a.zone)?;
                    Some((n, z))
                });
            }
        }
        r
    }
}

/// Frees the `2^order` block at `pfn` on the running CPU to the zone that spans it. Models
/// `__free_pages()` (the orders the per-cpu lists hold through them when they are on).
pub fn free_pages(nodes: &mut [Node], pfn: Pfn, order: u32) -> Result<(), FreePagesError> {
    for node in nodes.iter_mut() {
        if let Some(zi) = node.zone_of_pfn(pfn) {
            return Ok(node.zones[zi].free(pfn, order)?);
        }
    }
    Err(FreePagesError::NoZone { pfn })
}

impl AllocationFailure {
    /// The coarse reason the slab layer reports: below the min watermark when every zone of the
    /// MIN walk failed its order-0 test (or was empty), otherwise no block of the order.
    pub fn slab_reason(&self) -> slub::AllocFailure {
        let below_min = self.min.iter().all(|r| {
            matches!(
                r.refusal,
                Refusal::NotPopulated | Refusal::Watermark(WatermarkVerdict::BelowMin { .. })
            )
        });
        if below_min && !self.min.is_empty() {
            slub::AllocFailure::BelowMinWatermark
        } else {
            slub::AllocFailure::NoBlockOfOrder
        }
    }
}

/// The node allocator as the slab layer's [`PageAllocator`]: slab and `kmalloc_large()` pages
/// come from [`alloc_pages`] with the request's GFP flags in the profile's layout, and go back
/// through [`free_pages`]. The structured reason of the last failure is kept for `explain`.
pub struct NodeAllocator<'a> {
    pub nodes: &'a mut [Node],
    pub profile: &'a Profile,
    /// Index of the node the requests come from.
    pub local_node: usize,
    /// The last allocation failure, zone by zone.
    pub last_failure: Option<Box<AllocationFailure>>,
    /// The last free the nodes rejected (a slab-layer bug if it is ever set).
    pub last_free_error: Option<FreePagesError>,
}

impl<'a> NodeAllocator<'a> {
    pub fn new(nodes: &'a mut [Node], profile: &'a Profile, local_node: usize) -> Self {
        NodeAllocator {
            nodes,
            profile,
            local_node,
            last_failure: None,
            last_free_error: None,
        }
    }
}

impl PageAllocator for NodeAllocator<'_> {
    /// PFNs above `u32::MAX` (nodes beyond 16 TiB) do not fit the slab layer's PFNs: such a
    /// block is given back and the request reported as having found no block.
    fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, slub::AllocFailure> {
        let mask = self.profile.gfp.mask(&req.gfp);
        let owner = match req.owner {
            PageOwner::Slab => OwnerKind::Slab,
            PageOwner::KmallocLarge => OwnerKind::KmallocLarge,
        };
        match alloc_pages(
            self.nodes,
            self.profile,
            order,
            mask,
            owner,
            self.local_node,
        ) {
            Ok(a) => u32::try_from(a.pfn).map_err(|_| {
                if let Err(e) = free_pages(self.nodes, a.pfn, order) {
                    self.last_free_error = Some(e);
                }
                slub::AllocFailure::NoBlockOfOrder
            }),
            Err(f) => {
                let reason = f.slab_reason();
                self.last_failure = Some(f);
                Err(reason)
            }
        }
    }

    fn free_pages(&mut self, pfn: u32, order: u32) {
        if let Err(e) = free_pages(self.nodes, u64::from(pfn), order) {
            self.last_free_error = Some(e);
        }
    }
}
