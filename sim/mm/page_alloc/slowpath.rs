//! The rest of the allocator slow path (`__alloc_pages_slowpath()`, mm/page_alloc.c) after the
//! fast path at LOW and the first retry at MIN ([`alloc_pages`]) have failed.
//!
//! The shape is per `Profile::slow_path` (KERNEL_MM.md 5):
//! * 3.10 – 4.6: wake kswapd → async direct compaction (not when the preferred zone is
//!   deferred) → direct reclaim + retry (+ drain) → no progress: `__alloc_pages_may_oom()`,
//!   which never kills for a costly order, then nopage; progress: `should_alloc_retry()` loops
//!   (NORETRY no, costly without REPEAT no, order ≤ 3 yes) or the final sync-light compaction.
//! * 4.7: async compaction → reclaim; NORETRY or costly without REPEAT → one more compaction
//!   at SYNC_LIGHT and fail; otherwise `should_reclaim_retry()` / `should_compact_retry()`.
//! * 4.8+: costly (4.19+: also non-movable order > 0) compaction first at ASYNC; a costly
//!   NORETRY request whose result passes `Profile::noretry_costly_gate` fails before reclaim;
//!   then reclaim → compaction at `compact_priority` → NORETRY fails → costly without
//!   RETRY_MAYFAIL fails → the retry loops, MAX_RECLAIM_RETRIES = 16.
//!
//! kswapd is only woken (its state recorded in [`NodeMm`]); the caller's engine runs it on its
//! own clock, as the kernel's kswapd thread does. Loops the kernel may repeat without bound
//! (3.10's `should_alloc_retry()` for order ≤ 3, a non-costly OOM kill) stop here after
//! [`MAX_RECLAIM_RETRIES`] rounds with [`NoPage::ModelBound`] / [`NoPage::OomKill`]: the model
//! does not kill tasks. A failure keeps every step it took ([`SlowPathFailure::steps`]).

use crate::kernel::gfp::{gfp_migratetype, gfp_zone, GfpFlags};
use crate::kernel::profile::{NoretryCostlyGate, Profile, SlowPath};
use crate::mm::compaction::{
    compaction_zonelist_suitable, direct_compaction_done, direct_compaction_ran,
    try_to_compact_pages, CompactPriority, CompactResult, WithAvailable, ZoneCompaction,
};
use crate::mm::mmzone::{
    FreeArea, MigrateType, Node, OwnerKind, Pfn, ZoneType, PAGE_ALLOC_COSTLY_ORDER,
};
use crate::mm::page_alloc::alloc::{
    alloc_pages, alloc_pages_prepared, prepare_alloc_pages, AllocPath, Allocation,
    AllocationFailure,
};
use crate::mm::page_alloc::alloc_flags::{gfp_to_alloc_flags, AllocFlags, Wmark};
use crate::mm::page_alloc::watermark::zone_watermark_ok;
use crate::mm::vmscan::{try_to_free_pages, wakeup_kswapd, LruType, NodeMm, Shrinker};

/// `MAX_RECLAIM_RETRIES` (4.7+), also the model's bound on loops the kernel does not bound.
pub const MAX_RECLAIM_RETRIES: u32 = 16;

/// One allocation request for the slow path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowPathRequest {
    pub order: u32,
    /// In the profile's GFP layout.
    pub gfp_mask: u64,
    pub owner: OwnerKind,
    /// Index into the nodes of the node whose CPU allocates.
    pub local_node: usize,
}

/// What reclaim may use: the shrinkers and the random choice of objects (see
/// [`try_to_free_pages`]).
pub struct ReclaimInput<'a, 'b> {
    pub shrinkers: &'a mut [&'b mut dyn Shrinker],
    pub pick: &'a mut dyn FnMut(u64) -> u64,
}

/// One step of the slow path, with the numbers it produced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Step {
    /// `wake_all_kswapds()`: the nodes whose kswapd this woke.
    WakeKswapd { woken: Vec<u32> },
    /// `__alloc_pages_direct_compact()` on one node, and whether the retry found a page.
    Compaction {
        node: u32,
        prio: CompactPriority,
        result: CompactResult,
        zones: Vec<ZoneCompaction>,
        allocated: bool,
    },
    /// `__alloc_pages_direct_reclaim()` on one node (`try_to_free_pages()`), then the retry
    /// and, if that failed, `drain_all_pages()` and one more.
    Reclaim {
        node: u32,
        scanned: u64,
        reclaimed: u64,
        allocated: bool,
    },
    /// A retry rule and its answer; `count` is its counter after the decision
    /// (`pages_reclaimed`, `no_progress_loops` or `compaction_retries`).
    RetryRule {
        rule: RetryRule,
        retry: bool,
        count: u64,
    },
    /// `__alloc_pages_may_oom()` returned without calling the OOM killer.
    OomSkipped { reason: OomSkip },
}

/// The kernel's retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RetryRule {
    /// 3.10: `should_alloc_retry()` (count: pages reclaimed so far).
    ShouldAllocRetry,
    /// 4.7+: `should_reclaim_retry()` (count: `no_progress_loops`).
    ShouldReclaimRetry,
    /// 4.7+: `should_compact_retry()` (count: `compaction_retries`).
    ShouldCompactRetry,
}

/// Why `__alloc_pages_may_oom()` did not kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum OomSkip {
    /// `order > PAGE_ALLOC_COSTLY_ORDER`: "The OOM killer will not help higher order allocs".
    CostlyOrder,
    /// `__GFP_RETRY_MAYFAIL` (4.13+).
    RetryMayfail,
    /// The request cannot use ZONE_NORMAL (`high_zoneidx < ZONE_NORMAL`).
    LowZone,
    /// `__GFP_THISNODE`.
    ThisNode,
}

/// Where the slow path gave up (`goto nopage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum NoPage {
    /// No direct reclaim allowed (3.10: no `__GFP_WAIT`): the MIN retry was the last step.
    CannotReclaim,
    /// 4.8+: costly `__GFP_NORETRY` and the first compaction was deferred/skipped.
    NoretryCompactionGate,
    /// `__GFP_NORETRY` after reclaim and compaction.
    Noretry,
    /// Costly without `__GFP_REPEAT` / `__GFP_RETRY_MAYFAIL`.
    CostlyNoRetry,
    /// 3.10: reclaim made no progress and the OOM path gave up for this request.
    NoProgress,
    /// The retry rules said stop.
    RetriesExhausted,
    /// The kernel would call the OOM killer (non-costly order); the model does not kill.
    OomKill,
    /// A loop the kernel would keep repeating hit the model's bound of MAX_RECLAIM_RETRIES.
    ModelBound,
}

/// A failed allocation: the first steps' refusals, the path taken, the last per-zone refusals.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlowPathFailure {
    /// The fast path and MIN retry ([`alloc_pages`]'s failure), the first time.
    pub first: AllocationFailure,
    pub steps: Vec<Step>,
    pub nopage: NoPage,
    /// The last retry's failure (per-zone refusals at the end).
    pub last: AllocationFailure,
}

impl SlowPathFailure {
    /// How many steps of `f`'s kind were taken.
    pub fn count(&self, f: impl Fn(&Step) -> bool) -> usize {
        self.steps.iter().filter(|s| f(s)).count()
    }
}

/// The zones of `node` usable for `highest` (indices into `node.zones`), highest first.
fn node_zonelist(profile: &Profile, node: &Node, highest: ZoneType) -> Vec<usize> {
    let top = profile.zone_index(highest).unwrap_or(usize::MAX);
    let mut zl: Vec<usize> = (0..node.zones.len())
        .filter(|&i| {
            node.zones[i].managed > 0
                && profile
                    .zone_index(node.zones[i].zone_type)
                    .is_some_and(|z| z <= top)
        })
        .collect();
    zl.reverse();
    zl
}

/// Node indices in zonelist order: the local node, then the others.
fn node_order(nodes: usize, local: usize) -> Vec<usize> {
    let local = if local < nodes { local } else { 0 };
    std::iter::once(local)
        .chain((0..nodes).filter(move |&n| n != local))
        .collect()
}

struct Ctx<'p> {
    profile: &'p Profile,
    req: SlowPathRequest,
    gfp: GfpFlags,
    highest: ZoneType,
    alloc_flags: AllocFlags,
    costly: bool,
    steps: Vec<Step>,
}

/// Either a page or the latest failure.
type Try = Result<Allocation, Box<AllocationFailure>>;

impl Ctx<'_> {
    /// The slow path's retry of the freelists (without ALLOC_FAIR).
    fn retry(&self, nodes: &mut [Node]) -> Try {
        let ac = prepare_alloc_pages(
            nodes,
            self.profile,
            self.req.order,
            self.req.gfp_mask,
            self.req.local_node,
        )
        .unfair();
        alloc_pages_prepared(nodes, self.profile, &ac, self.req.owner)
    }

    /// `wake_all_kswapds()`. Models `wakeup_kswapd()` per node (highest usable zone).
    fn wake_kswapds(&mut self, nodes: &mut [Node], mms: &mut [NodeMm]) {
        if !self.gfp.kswapd_reclaim {
            return;
        }
        let mut woken = Vec::new();
        for n in node_order(nodes.len(), self.req.local_node) {
            let (node, Some(mm)) = (&mut nodes[n], mms.get_mut(n)) else {
                continue;
            };
            let zl = node_zonelist(self.profile, node, self.highest);
            if let Some(&top) = zl.first() {
                if wakeup_kswapd(
                    self.profile,
                    node,
                    mm,
                    top,
                    self.req.order,
                    self.gfp.direct_reclaim,
                ) {
                    woken.push(node.id);
                }
            }
        }
        self.steps.push(Step::WakeKswapd { woken });
    }

    /// `__alloc_pages_direct_compact()`: `try_to_compact_pages()` node by node, the retry,
    /// and the stall accounting. Returns the page (if any) and the max result.
    fn compact(
        &mut self,
        nodes: &mut [Node],
        mms: &mut [NodeMm],
        prio: CompactPriority,
    ) -> (Option<Try>, CompactResult) {
        let rules = self.profile.compaction;
        let mut best = CompactResult::Skipped;
        let mut outcomes = Vec::new();
        for n in node_order(nodes.len(), self.req.local_node) {
            let (node, Some(mm)) = (&mut nodes[n], mms.get_mut(n)) else {
                continue;
            };
            let zl = node_zonelist(self.profile, node, self.highest);
            let out = try_to_compact_pages(
                self.profile,
                node,
                mm,
                &zl,
                self.req.order,
                &self.gfp,
                self.alloc_flags,
                prio,
            );
            if out.result.rank(rules) > best.rank(rules) {
                best = out.result;
            }
            let available = out.page_available;
            outcomes.push((n, out));
            if available {
                break;
            }
        }
        // 3.10 retries only when something ran (`!= COMPACT_SKIPPED`); 4.x+ per
        // `Profile::compact_stall` (direct_compaction_ran()).
        let ran = if rules.v3() {
            best.rank(rules) > 0
        } else {
            direct_compaction_ran(self.profile, best)
        };
        // 5.1+: a captured block is prepared for the requester (`prep_new_page()`) instead
        // of retrying the free lists.
        let captured = outcomes
            .iter()
            .find_map(|(n, out)| out.captured.map(|(z, pfn)| (*n, z, pfn)));
        let got = match captured {
            Some((n, z, pfn)) => Some(Ok(self.take_captured(&mut nodes[n], z, pfn))),
            None => ran.then(|| self.retry(nodes)),
        };
        for (n, out) in outcomes {
            let from = got
                .as_ref()
                .and_then(|g| g.as_ref().ok())
                .filter(|a| a.node == nodes[n].id)
                .and_then(|a| nodes[n].zones.iter().position(|z| z.zone_type == a.zone));
            if ran {
                direct_compaction_done(self.profile, &mut nodes[n], &mut mms[n], &out, from);
            }
            self.steps.push(Step::Compaction {
                node: nodes[n].id,
                prio,
                result: out.result,
                zones: out.zones,
                allocated: from.is_some(),
            });
        }
        (got, best)
    }

    /// The block direct compaction captured, handed to the requester (`prep_new_page()` in
    /// `__alloc_pages_direct_compact()`, 5.1+). It never passed `rmqueue()`: no `pgalloc`, no
    /// fallback, its pageblock keeps its type.
    fn take_captured(&self, node: &mut Node, zone: usize, pfn: Pfn) -> Allocation {
        let z = &mut node.zones[zone];
        // Cannot fail: the capture left an allocated block at `pfn`.
        let _ = z.set_owner(pfn, self.req.owner);
        Allocation {
            pfn,
            node: node.id,
            zone: z.zone_type,
            path: AllocPath::Captured,
            wake_kswapd: self.gfp.kswapd_reclaim,
            nofragment_retried: false,
            fair_reset: false,
        }
    }

    /// `__alloc_pages_direct_reclaim()`: `try_to_free_pages()` per node, the retry, and on
    /// failure `drain_all_pages()` and one more retry. Returns the page and the progress.
    fn reclaim(
        &mut self,
        nodes: &mut [Node],
        mms: &mut [NodeMm],
        input: &mut ReclaimInput<'_, '_>,
    ) -> (Try, u64) {
        let mut progress = 0;
        let mut per_node = Vec::new();
        for n in node_order(nodes.len(), self.req.local_node) {
            let (node, Some(mm)) = (&mut nodes[n], mms.get_mut(n)) else {
                continue;
            };
            let Some(&top) = node_zonelist(self.profile, node, self.highest).first() else {
                continue;
            };
            let r = try_to_free_pages(
                self.profile,
                node,
                mm,
                top,
                self.req.order,
                self.gfp.retry_mayfail,
                input.shrinkers,
                input.pick,
            );
            progress += r.progress;
            let st = r.stats;
            per_node.push((node.id, st));
        }
        let mut got = self.retry(nodes);
        if got.is_err() {
            for z in nodes.iter_mut().flat_map(|n| n.zones.iter_mut()) {
                z.drain_pcp();
            }
            got = self.retry(nodes);
        }
        for (id, st) in per_node {
            self.steps.push(Step::Reclaim {
                node: id,
                scanned: st.scanned,
                reclaimed: st.reclaimed,
                allocated: got.as_ref().is_ok_and(|a| a.node == id),
            });
        }
        (got, progress)
    }

    /// `__alloc_pages_may_oom()`: why it would not kill, or `None` when it would.
    fn oom_skip(&self) -> Option<OomSkip> {
        let normal = self.profile.zone_index(ZoneType::Normal);
        if self.req.order > PAGE_ALLOC_COSTLY_ORDER {
            Some(OomSkip::CostlyOrder)
        } else if self.gfp.retry_mayfail && self.profile.slow_path != SlowPath::V3_10 {
            Some(OomSkip::RetryMayfail)
        } else if self.profile.zone_index(self.highest) < normal {
            Some(OomSkip::LowZone)
        } else if self.gfp.thisnode {
            Some(OomSkip::ThisNode)
        } else {
            None
        }
    }

    /// `should_reclaim_retry()` (4.7+): counts `no_progress_loops` (always for costly orders)
    /// and retries while some zone would pass `__zone_watermark_ok(order, min)` with its free
    /// plus a shrinking share of its reclaimable pages.
    fn should_reclaim_retry(
        &self,
        nodes: &[Node],
        mms: &[NodeMm],
        progress: u64,
        loops: &mut u32,
    ) -> bool {
        if progress > 0 && !self.costly {
            *loops = 0;
        } else {
            *loops += 1;
        }
        if *loops > MAX_RECLAIM_RETRIES {
            return false;
        }
        nodes.iter().zip(mms).any(|(node, mm)| {
            let zl = node_zonelist(self.profile, node, self.highest);
            let Some(classzone) = zl.first().map(|&i| node.zones[i].zone_type) else {
                return false;
            };
            zl.iter().any(|&i| {
                let zone = &node.zones[i];
                let lru = &mm.lru[i];
                let reclaimable = lru.len(LruType::File)
                    + if mm.swap.free_pages() > 0 {
                        lru.len(LruType::Anon)
                    } else {
                        0
                    };
                let avail = reclaimable
                    - (u64::from(*loops) * reclaimable).div_ceil(u64::from(MAX_RECLAIM_RETRIES));
                let view = WithAvailable {
                    zone,
                    available: avail + zone.free_pages(),
                };
                zone_watermark_ok(
                    self.profile,
                    &view,
                    self.req.order,
                    zone.watermarks.mark(Wmark::Min),
                    zone.reserve_for(classzone),
                    self.alloc_flags,
                )
            })
        })
    }

    /// `should_compact_retry()`: 4.7 raises ASYNC to SYNC_LIGHT once after a failed run; 4.8+
    /// raise the priority after a failed run (down to SYNC_LIGHT for costly orders, SYNC_FULL
    /// otherwise), ask `compaction_zonelist_suitable()` after a withdrawn one, and otherwise
    /// retry while `compaction_retries` ≤ 16 (4 for costly orders).
    fn should_compact_retry(
        &self,
        nodes: &[Node],
        mms: &[NodeMm],
        result: CompactResult,
        prio: &mut CompactPriority,
        retries: &mut u32,
    ) -> bool {
        if self.req.order == 0 {
            return false;
        }
        if result == CompactResult::Success {
            *retries += 1;
        }
        let min = match (self.profile.slow_path, self.costly) {
            (SlowPath::V4_8, false) => CompactPriority::SyncFull,
            _ => CompactPriority::SyncLight,
        };
        let raise = |prio: &mut CompactPriority, retries: &mut u32| {
            if *prio > min {
                *prio = if *prio == CompactPriority::Async {
                    CompactPriority::SyncLight
                } else {
                    CompactPriority::SyncFull
                };
                *retries = 0;
                true
            } else {
                false
            }
        };
        match result {
            CompactResult::Complete => raise(prio, retries),
            CompactResult::Skipped
            | CompactResult::Deferred
            | CompactResult::Contended
            | CompactResult::PartialSkipped => nodes.iter().zip(mms).any(|(node, mm)| {
                let zl = node_zonelist(self.profile, node, self.highest);
                compaction_zonelist_suitable(
                    self.profile,
                    node,
                    mm,
                    &zl,
                    self.req.order,
                    self.alloc_flags,
                )
            }),
            CompactResult::Success | CompactResult::Continue => {
                let max = if self.costly {
                    MAX_RECLAIM_RETRIES / 4
                } else {
                    MAX_RECLAIM_RETRIES
                };
                *retries <= max || raise(prio, retries)
            }
        }
    }
}

/// The page of a retry, or `None` with its refusals kept in `last`.
fn keep(last: &mut AllocationFailure, t: Try) -> Option<Allocation> {
    match t {
        Ok(a) => Some(a),
        Err(f) => {
            *last = *f;
            None
        }
    }
}

/// Allocates as the kernel's `__alloc_pages_nodemask()` would, with the whole slow path: the
/// fast path and MIN retry ([`alloc_pages`]), then `__alloc_pages_slowpath()` per
/// `Profile::slow_path` (see the module header). `mms` are the nodes' reclaim and compaction
/// states, one per node. Counters move as the kernel's: `compact_stall` / `compact_success` /
/// `compact_fail` (via [`try_to_compact_pages`] and [`direct_compaction_done`]), `allocstall`,
/// `pgscan_direct` and `pgsteal_direct` (via [`try_to_free_pages`]).
pub fn alloc_pages_slowpath(
    profile: &Profile,
    nodes: &mut [Node],
    mms: &mut [NodeMm],
    req: SlowPathRequest,
    input: &mut ReclaimInput<'_, '_>,
) -> Result<Allocation, Box<SlowPathFailure>> {
    let first = match alloc_pages(
        nodes,
        profile,
        req.order,
        req.gfp_mask,
        req.owner,
        req.local_node,
    ) {
        Ok(a) => return Ok(a),
        Err(f) => *f,
    };
    let gfp = profile.gfp.flags(req.gfp_mask);
    let mt = gfp_migratetype(profile, &gfp);
    let mut cx = Ctx {
        profile,
        req,
        gfp,
        highest: gfp_zone(&gfp),
        alloc_flags: gfp_to_alloc_flags(profile, &gfp, req.order)
            .without(AllocFlags::NO_WATERMARKS),
        costly: req.order > PAGE_ALLOC_COSTLY_ORDER,
        steps: Vec::new(),
    };
    let mut last = first.clone();
    let fail = |cx: Ctx, last: AllocationFailure, nopage| {
        Err(Box::new(SlowPathFailure {
            first,
            steps: cx.steps,
            nopage,
            last,
        }))
    };
    // A retry's outcome: return the page, or keep its refusals as the latest.
    macro_rules! done {
        ($t:expr) => {
            if let Some(a) = keep(&mut last, $t) {
                return Ok(a);
            }
        };
    }
    // The same after a compaction, which retries only when it ran.
    macro_rules! done_compact {
        ($t:expr) => {
            if let Some(t) = $t {
                done!(t);
            }
        };
    }
    cx.wake_kswapds(nodes, mms);
    if !gfp.direct_reclaim {
        return fail(cx, last, NoPage::CannotReclaim);
    }
    match profile.slow_path {
        SlowPath::V3_10 => {
            let mut prio = CompactPriority::Async;
            let mut pages_reclaimed = 0u64;
            for _ in 0..MAX_RECLAIM_RETRIES {
                let (got, _) = cx.compact(nodes, mms, prio);
                done_compact!(got);
                prio = CompactPriority::SyncLight;
                let (got, progress) = cx.reclaim(nodes, mms, input);
                done!(got);
                if progress == 0 && gfp.fs && !gfp.noretry {
                    // __alloc_pages_may_oom(), then nopage unless it would kill.
                    return match cx.oom_skip() {
                        Some(reason) if !gfp.nofail => {
                            cx.steps.push(Step::OomSkipped { reason });
                            fail(cx, last, NoPage::NoProgress)
                        }
                        _ => fail(cx, last, NoPage::OomKill),
                    };
                }
                pages_reclaimed += progress;
                // should_alloc_retry()
                let retry = !gfp.noretry
                    && (gfp.nofail
                        || !cx.costly
                        || (gfp.retry_mayfail && pages_reclaimed < 1 << req.order));
                cx.steps.push(Step::RetryRule {
                    rule: RetryRule::ShouldAllocRetry,
                    retry,
                    count: pages_reclaimed,
                });
                if !retry {
                    let (got, _) = cx.compact(nodes, mms, CompactPriority::SyncLight);
                    done_compact!(got);
                    return fail(cx, last, NoPage::RetriesExhausted);
                }
            }
            fail(cx, last, NoPage::ModelBound)
        }
        SlowPath::V4_7 | SlowPath::V4_8 => {
            let v48 = profile.slow_path == SlowPath::V4_8;
            let mut prio = CompactPriority::Async;
            if v48 {
                prio = CompactPriority::SyncLight;
                let non_movable = profile.compact_first_non_movable
                    && req.order > 0
                    && mt != MigrateType::Movable;
                if cx.costly || non_movable {
                    let (got, result) = cx.compact(nodes, mms, CompactPriority::Async);
                    done_compact!(got);
                    if cx.costly && gfp.noretry {
                        let gate = match profile.noretry_costly_gate {
                            NoretryCostlyGate::Deferred => result == CompactResult::Deferred,
                            NoretryCostlyGate::SkippedOrDeferred => {
                                matches!(result, CompactResult::Deferred | CompactResult::Skipped)
                            }
                        };
                        if gate {
                            return fail(cx, last, NoPage::NoretryCompactionGate);
                        }
                        prio = CompactPriority::Async;
                    }
                }
            }
            let (mut loops, mut retries) = (0u32, 0u32);
            for round in 0..MAX_RECLAIM_RETRIES {
                if round > 0 {
                    cx.wake_kswapds(nodes, mms);
                    done!(cx.retry(nodes));
                }
                let mut result = CompactResult::Skipped;
                if !v48 {
                    let (got, r) = cx.compact(nodes, mms, prio);
                    done_compact!(got);
                    result = r;
                }
                let (got, progress) = cx.reclaim(nodes, mms, input);
                done!(got);
                if v48 {
                    let (got, r) = cx.compact(nodes, mms, prio);
                    done_compact!(got);
                    result = r;
                }
                if gfp.noretry || (cx.costly && !gfp.retry_mayfail) {
                    let why = if gfp.noretry {
                        NoPage::Noretry
                    } else {
                        NoPage::CostlyNoRetry
                    };
                    if !v48 {
                        // 4.7 `noretry:` one more compaction at SYNC_LIGHT.
                        let (got, _) = cx.compact(nodes, mms, CompactPriority::SyncLight);
                        done_compact!(got);
                    }
                    return fail(cx, last, why);
                }
                let retry = cx.should_reclaim_retry(nodes, mms, progress, &mut loops);
                cx.steps.push(Step::RetryRule {
                    rule: RetryRule::ShouldReclaimRetry,
                    retry,
                    count: u64::from(loops),
                });
                if retry {
                    continue;
                }
                if progress > 0 {
                    let retry =
                        cx.should_compact_retry(nodes, mms, result, &mut prio, &mut retries);
                    cx.steps.push(Step::RetryRule {
                        rule: RetryRule::ShouldCompactRetry,
                        retry,
                        count: u64::from(retries),
                    });
                    if retry {
                        continue;
                    }
                }
                return match cx.oom_skip() {
                    Some(reason) => {
                        cx.steps.push(Step::OomSkipped { reason });
                        fail(cx, last, NoPage::RetriesExhausted)
                    }
                    None => fail(cx, last, NoPage::OomKill),
                };
            }
            fail(cx, last, NoPage::ModelBound)
        }
    }
}
