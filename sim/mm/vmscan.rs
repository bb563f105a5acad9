//! Page reclaim (mm/vmscan.c): LRU lists, shrinkers, kswapd, direct reclaim and drop_caches.
//!
//! Pages of the page cache (file) and anonymous memory sit on LRU lists. Reclaim takes pages
//! from the cold end: a clean page-cache page is simply dropped and its page freed; an anon page
//! must first be written to swap, so without swap anon pages are not reclaimed at all. kswapd, a
//! per-node thread, is woken when an allocation finds a zone below its low watermark and
//! reclaims until the high watermark is met (for a high-order wakeup, until the order is
//! satisfiable or it gives up, then falls back to order 0); an allocation that still fails
//! reclaims directly, 32 pages (SWAP_CLUSTER_MAX) at a time at falling priorities. Alongside
//! the LRU, *shrinkers* free objects of reclaimable slab caches (dentries, inodes) in proportion
//! to the pages scanned; freeing objects at random frees whole slab pages only rarely.
//!
//! The LRU model. Each zone has one list per LRU type (anon, file), linked through the page's
//! own list links, which are unused while a page is allocated, as the kernel's `page->lru`
//! shares `struct page` with the buddy list links: **no extra bytes per page**, the "on an
//! LRU" bit being the page slot's `PG_LRU` flag (16 bytes per page in all). Pages enter
//! at the tail and are reclaimed from the head. The kernel splits each type into active and
//! inactive lists and promotes a page only on a second reference; the model does not simulate
//! page references, and without them every page-cache page stays on the inactive list it entered
//! and anon pages are deactivated oldest first, so each type is reclaimed in insertion order:
//! one FIFO per type is that order, stated as the simplification it is.

use crate::mm::mmzone::{Link, ListHead, OwnerKind, PageState, Pfn, Zone, KIND_ALLOC, NIL, PG_LRU};
use crate::mm::page_alloc::buddy::FreeError;

/// An LRU type (`enum lru_list` without the active/inactive split).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum LruType {
    Anon,
    File,
}

impl LruType {
    /// The LRU a page of this owner belongs on, if any (`page_is_file_cache()` / anon).
    pub fn of(owner: OwnerKind) -> Option<LruType> {
        match owner {
            OwnerKind::Anon => Some(LruType::Anon),
            OwnerKind::File => Some(LruType::File),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Misuse of the LRU API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum LruError {
    #[error("PFN {pfn:#x} is not the head of an allocated anon or file block")]
    NotLruPage { pfn: Pfn },
    #[error("PFN {pfn:#x} is already on an LRU list")]
    AlreadyOnLru { pfn: Pfn },
    #[error("PFN {pfn:#x} is not on an LRU list")]
    NotOnLru { pfn: Pfn },
}

/// One zone's LRU lists (`struct lruvec`). Pages must come off the LRU before they are freed:
/// use [`Lru::free_page`] (the kernel's `__page_cache_release()` before `free_unref_page()`).
#[derive(Clone, Debug)]
pub struct Lru {
    lists: [ListHead; 2],
    len: [u64; 2],
    /// When recording: every LRU page of the recorded kinds that left its PFN, in order (see
    /// [`LruMove`]).
    journal: Option<Vec<LruMove>>,
    /// Which pages the journal records.
    recorded: MoveLog,
}

/// Which LRU pages a journal of [`LruMove`]s records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveLog {
    /// Anon pages only: enough for a caller that follows mapped anon memory.
    Anon,
    /// Anon and page-cache pages.
    All,
}

/// An LRU page leaving its PFN: migrated to `to`, or freed (`to` is `None`: reclaimed, dropped
/// or released). Lets a caller that names pages (the trace replay's groups) follow them, as the
/// kernel's page tables and mappings follow a migrated page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LruMove {
    pub from: Pfn,
    pub to: Option<Pfn>,
}

impl Default for Lru {
    fn default() -> Lru {
        Lru::new()
    }
}

impl Lru {
    /// Empty lists for a zone.
    pub fn new() -> Lru {
        Lru {
            lists: [ListHead::EMPTY; 2],
            len: [0; 2],
            journal: None,
            recorded: MoveLog::All,
        }
    }

    /// Starts recording the [`LruMove`]s of the pages `recorded` names (off by default: the
    /// engine does not name pages).
    pub fn record_moves(&mut self, recorded: MoveLog) {
        self.journal.get_or_insert_with(Vec::new);
        self.recorded = recorded;
    }

    /// The moves recorded since the last call, oldest first, taken out of the journal (which
    /// keeps its capacity).
    pub fn drain_moves(&mut self) -> impl Iterator<Item = LruMove> + '_ {
        self.journal.iter_mut().flat_map(|j| j.drain(..))
    }

    /// Whether moves wait in the journal.
    #[inline]
    pub fn has_moves(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| !j.is_empty())
    }

    /// Records that the page of `owner` at `from` now lives at `to` (`None`: it was freed).
    #[inline]
    pub(crate) fn note_move(&mut self, owner: OwnerKind, from: Pfn, to: Option<Pfn>) {
        if let Some(j) = &mut self.journal {
            if self.recorded == MoveLog::All || owner == OwnerKind::Anon {
                j.push(LruMove { from, to });
            }
        }
    }

    /// Pages on the list of `t` (blocks count `2^order` pages).
    pub fn len(&self, t: LruType) -> u64 {
        self.len[t.index()]
    }

    /// Pages on both lists.
    pub fn total(&self) -> u64 {
        self.len[0] + self.len[1]
    }

    /// Bytes of LRU state per page of the zone's arrays (the `PG_LRU` flags are in the page
    /// slots the zone counts).
    pub fn bytes_per_page(&self, zone: &Zone) -> f64 {
        std::mem::size_of::<Lru>() as f64 / zone.pages.len().max(1) as f64
    }

    #[inline]
    fn is_on(zone: &Zone, off: u32) -> bool {
        zone.pages[off as usize].flags & PG_LRU != 0
    }

    #[inline]
    fn set_on(zone: &mut Zone, off: u32, on: bool) {
        let f = &mut zone.pages[off as usize].flags;
        *f = if on { *f | PG_LRU } else { *f & !PG_LRU };
    }

    /// The LRU type and page count of the allocated block at `pfn`.
    #[inline]
    fn lru_page(zone: &Zone, pfn: Pfn) -> Result<(u32, LruType, u64), LruError> {
        let off = zone.off_of(pfn).ok_or(LruError::NotLruPage { pfn })?;
        let pi = zone.pages[off as usize].info;
        let t = (pi.kind() == KIND_ALLOC)
            .then(|| LruType::of(pi.owner()))
            .flatten()
            .ok_or(LruError::NotLruPage { pfn })?;
        Ok((off, t, 1 << pi.order()))
    }

    /// Puts the allocated anon or file block at `pfn` at the young end of its list (the
    /// kernel's list head; here the tail, since reclaim takes from the head). Models
    /// `lru_cache_add()` → `add_page_to_lru_list()`.
    #[inline]
    pub fn add(&mut self, zone: &mut Zone, pfn: Pfn) -> Result<(), LruError> {
        let (off, t, pages) = Self::lru_page(zone, pfn)?;
        if Self::is_on(zone, off) {
            return Err(LruError::AlreadyOnLru { pfn });
        }
        let l = &mut self.lists[t.index()];
        zone.pages[off as usize].link = Link {
            next: NIL,
            prev: l.tail,
        };
        if l.tail == NIL {
            l.head = off;
        } else {
            zone.pages[l.tail as usize].link.next = off;
        }
        l.tail = off;
        self.len[t.index()] += pages;
        Self::set_on(zone, off, true);
        Ok(())
    }

    /// Takes the block at `pfn` off its list. Models `del_page_from_lru_list()`.
    pub fn del(&mut self, zone: &mut Zone, pfn: Pfn) -> Result<(), LruError> {
        let (off, t, pages) = Self::lru_page(zone, pfn)?;
        if !Self::is_on(zone, off) {
            return Err(LruError::NotOnLru { pfn });
        }
        let Link { next, prev } = zone.pages[off as usize].link;
        let l = &mut self.lists[t.index()];
        if prev == NIL {
            l.head = next;
        } else {
            zone.pages[prev as usize].link.next = next;
        }
        if next == NIL {
            l.tail = prev;
        } else {
            zone.pages[next as usize].link.prev = prev;
        }
        self.len[t.index()] -= pages;
        Self::set_on(zone, off, false);
        Ok(())
    }

    /// The lists against the zone: every entry is an allocated head of its list's type with
    /// `PG_LRU` set and links that agree both ways, the page counts are right, and no page off
    /// the lists has `PG_LRU`.
    pub fn check(&self, zone: &Zone) -> Result<(), String> {
        let mut entries = 0u64;
        for t in [LruType::Anon, LruType::File] {
            let (mut pages, mut prev, mut cur) = (0u64, NIL, self.lists[t.index()].head);
            while cur != NIL {
                let pfn = zone.pfn_of(cur);
                match Self::lru_page(zone, pfn) {
                    Ok((_, lt, n)) if lt == t && Self::is_on(zone, cur) => pages += n,
                    _ => return Err(format!("{t:?} LRU holds {pfn:#x}, which is not on it")),
                }
                if zone.pages[cur as usize].link.prev != prev {
                    return Err(format!("{t:?} LRU: bad prev link at {pfn:#x}"));
                }
                entries += 1;
                prev = cur;
                cur = zone.pages[cur as usize].link.next;
            }
            if self.lists[t.index()].tail != prev || pages != self.len[t.index()] {
                return Err(format!(
                    "{t:?} LRU: tail or count ({} pages counted, {pages} listed) wrong",
                    self.len[t.index()]
                ));
            }
        }
        let flagged = zone.pages.iter().filter(|p| p.flags & PG_LRU != 0).count() as u64;
        if flagged != entries {
            return Err(format!(
                "{flagged} pages have PG_lru, {entries} are on the LRU lists"
            ));
        }
        Ok(())
    }

    /// Whether the block at `pfn` is on an LRU list (`PageLRU()`).
    pub fn contains(&self, zone: &Zone, pfn: Pfn) -> bool {
        zone.off_of(pfn).is_some_and(|o| Self::is_on(zone, o))
    }

    /// The coldest block of `t`, if any.
    pub fn oldest(&self, zone: &Zone, t: LruType) -> Option<Pfn> {
        let h = self.lists[t.index()].head;
        (h != NIL).then(|| zone.pfn_of(h))
    }

    /// Takes the block at `pfn` off the LRU (if it is on it) and frees it through the zone's
    /// free path. Models `put_page()` of the last reference: `__page_cache_release()` then the
    /// page allocator's free.
    pub fn free_page(&mut self, zone: &mut Zone, pfn: Pfn, order: u32) -> Result<(), FreeError> {
        self.release(zone, pfn);
        zone.free(pfn, order)
    }

    /// As [`free_page`](Self::free_page), for the page's owner freeing it (a task unmapping
    /// its anon memory): the owner already knows the page is gone, so no move is logged.
    pub fn free_own_page(
        &mut self,
        zone: &mut Zone,
        pfn: Pfn,
        order: u32,
    ) -> Result<(), FreeError> {
        self.take_off(zone, pfn);
        zone.free(pfn, order)
    }

    /// Takes the block at `pfn` off the LRU, if it is on it ([`del`](Self::del) changes nothing
    /// when it is not).
    fn take_off(&mut self, zone: &mut Zone, pfn: Pfn) {
        let _ = self.del(zone, pfn);
    }

    /// Takes the block at `pfn` off the LRU, if it is on it, and logs that it is gone.
    fn release(&mut self, zone: &mut Zone, pfn: Pfn) {
        self.take_off(zone, pfn);
        if let PageState::Allocated { owner, .. } = zone.page_state(pfn) {
            self.note_move(owner, pfn, None);
        }
    }

    /// As [`free_page`](Self::free_page), for a THP that reclaim splits before swapping it out
    /// (`split_huge_page_to_list()` from `add_to_swap()`, 3.10): the allocated block at `pfn`
    /// becomes single pages (`split_page()`), each freed on its own.
    pub fn free_split(&mut self, zone: &mut Zone, pfn: Pfn) -> Result<(), FreeError> {
        let PageState::Allocated { order, .. } = zone.page_state(pfn) else {
            return Err(FreeError::NotAllocated { pfn });
        };
        self.release(zone, pfn);
        let _ = zone.split_page(pfn);
        (pfn..pfn + (1 << order)).try_for_each(|p| zone.free(p, 0))
    }
}

// ---------------------------------------------------------------------------------------------
// Reclaim.

use crate::kernel::profile::{Profile, ThpSwap};
use crate::mm::compaction::{
    compact_zone, compaction_suitable, reset_isolation_suitable, wakeup_kcompactd, CompactControl,
    CompactPriority, CompactState, Compactor, ExtfragThreshold, Kcompactd, Suitability,
};
use crate::mm::mmzone::{MigrateType, Node, ZoneType, PAGE_ALLOC_COSTLY_ORDER};
use crate::mm::page_alloc::alloc_flags::{AllocFlags, Wmark};
use crate::mm::page_alloc::watermark::zone_watermark_ok;

/// `SWAP_CLUSTER_MAX`: pages per reclaim batch and direct reclaim's target.
pub const SWAP_CLUSTER_MAX: u64 = 32;
/// `DEF_PRIORITY`: the first reclaim pass scans `lru_size >> 12`.
pub const DEF_PRIORITY: u32 = 12;
/// `SHRINK_BATCH`: objects per `scan_objects()` call.
pub const SHRINK_BATCH: u64 = 128;
/// `DEFAULT_SEEKS`.
pub const DEFAULT_SEEKS: u64 = 2;
/// `MAX_RECLAIM_RETRIES`: kswapd failures after which a node is hopeless (4.8+).
pub const MAX_RECLAIM_RETRIES: u32 = 16;

/// How reclaim walks a node (KERNEL_MM.md 5; mm/vmscan.c); `Profile::reclaim`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ReclaimRule {
    /// 3.10 – 4.7, per zone, as 3.11 – 4.7 (RHEL 7 included) do it ([`balance_pgdat_per_zone`]
    /// for kswapd, [`try_to_free_pages`] for direct reclaim): kswapd balances each zone against
    /// its own high watermark, treats zones reclaim can no longer help as balanced
    /// (`zone_reclaimable()`), compacts between passes and stays awake while the node is
    /// unbalanced; direct reclaim keeps shrinking a zone for a costly order until compaction
    /// could run (`should_continue_reclaim()`) and reports progress while any zone is
    /// reclaimable. Vanilla 3.10's kswapd loop (`loop_again`, compaction only at the end) is
    /// not modelled: 3.10 uses this one.
    PerZone,
    /// 4.8+: per node. Balanced when any zone up to the classzone meets high at the order; the
    /// node's LRU is shrunk toward the sum of `max(high, SWAP_CLUSTER_MAX)`; kcompactd does the
    /// compaction after kswapd sleeps.
    PerNode,
}

/// A reclaimable cache shrinkers free objects from (`struct shrinker`).
pub trait Shrinker {
    /// Freeable objects. Models `count_objects()`.
    fn count_objects(&self) -> u64;
    /// Frees up to `nr` objects, each chosen by `pick(n)` (an index below `n`, uniform for a
    /// random choice), giving pages that become free back to `node`; returns the objects
    /// freed. Models `scan_objects()`.
    fn scan_objects(&mut self, nr: u64, pick: &mut dyn FnMut(u64) -> u64, node: &mut Node) -> u64;
    /// `shrinker->seeks`.
    fn seeks(&self) -> u64 {
        DEFAULT_SEEKS
    }
}

/// Asks every shrinker to free objects in proportion to the LRU pages scanned:
/// `delta = 4·scanned/seeks · freeable / (lru_pages + 1)`, scanned in batches of SHRINK_BATCH.
/// Counts `slabs_scanned` in zone `zone_idx`. Returns the objects freed. Models `shrink_slab()` →
/// `do_shrink_slab()` (the deferred remainder `nr_deferred` is not carried between calls).
pub fn shrink_slab(
    shrinkers: &mut [&mut dyn Shrinker],
    node: &mut Node,
    zone_idx: usize,
    scanned: u64,
    lru_pages: u64,
    pick: &mut dyn FnMut(u64) -> u64,
) -> u64 {
    let mut freed = 0;
    for s in shrinkers.iter_mut() {
        let freeable = s.count_objects();
        if freeable == 0 {
            continue;
        }
        let delta =
            (4 * scanned / s.seeks().max(1)) as u128 * freeable as u128 / (lru_pages as u128 + 1);
        let mut total = (delta as u64).min(2 * freeable);
        while total > 0 {
            let batch = total.min(SHRINK_BATCH);
            if let Some(z) = node.zones.get_mut(zone_idx) {
                z.events.slabs_scanned += batch;
            }
            freed += s.scan_objects(batch, pick, node);
            total -= batch;
        }
    }
    freed
}

/// Swap space (optional): anon pages are reclaimed only while it has room. The model has no
/// swap-in, so used swap is given back only when the owner exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Swap {
    pub total_pages: u64,
    pub used_pages: u64,
    /// How the kernel swaps out a THP (`Profile::thp_swap`).
    pub thp: ThpSwap,
}

impl Swap {
    /// `get_nr_swap_pages()`.
    pub fn free_pages(&self) -> u64 {
        self.total_pages - self.used_pages
    }
}

/// kswapd's per-node state (`pgdat->kswapd_*`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Kswapd {
    /// `kswapd_max_order` / `kswapd_order`: the order the next run balances for.
    pub order: u32,
    /// `classzone_idx` (an index into the node's zones); `usize::MAX` until a wakeup lowers it,
    /// which kswapd reads as its top zone (`pgdat->nr_zones − 1`).
    pub classzone_idx: usize,
    /// The order and classzone the last run ended with, which the end of its nap checks again
    /// (`balanced_order`, `balanced_classzone_idx`).
    pub balanced: (u32, usize),
    /// Woken and waiting for the engine to run [`kswapd_run`].
    pub awake: bool,
    /// In the short nap after balancing (`kswapd_try_to_sleep()`'s HZ/10 wait).
    pub napping: bool,
    /// `kswapd_failures` (4.8+): runs in a row that reclaimed nothing.
    pub failures: u32,
}

impl Default for Kswapd {
    /// Asleep, with nothing recorded.
    fn default() -> Kswapd {
        Kswapd {
            order: 0,
            classzone_idx: usize::MAX,
            balanced: (0, 0),
            awake: false,
            napping: false,
            failures: 0,
        }
    }
}

/// The reclaim and compaction state the engine keeps beside one [`Node`], one entry per zone
/// in the node's zone order.
#[derive(Clone, Debug)]
pub struct NodeMm {
    pub lru: Vec<Lru>,
    pub compact: Vec<CompactState>,
    pub kswapd: Kswapd,
    pub kcompactd: Kcompactd,
    pub swap: Swap,
    /// `vm.extfrag_threshold` (the profile's default until the operator changes it).
    pub extfrag_threshold: ExtfragThreshold,
}

impl NodeMm {
    /// Empty LRUs, boot-time compaction state, both daemons asleep, `swap_pages` of swap.
    pub fn new(profile: &Profile, node: &Node, swap_pages: u64) -> NodeMm {
        NodeMm {
            extfrag_threshold: ExtfragThreshold::new(profile.extfrag_threshold),
            lru: node.zones.iter().map(|_| Lru::new()).collect(),
            compact: node.zones.iter().map(CompactState::new).collect(),
            kswapd: Kswapd::default(),
            kcompactd: Kcompactd::default(),
            swap: Swap {
                total_pages: swap_pages,
                used_pages: 0,
                thp: profile.thp_swap,
            },
        }
    }
}

/// Who reclaims: kswapd or an allocating task (selects the pgscan/pgsteal counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Reclaimer {
    Kswapd,
    Direct,
}

/// Pages scanned and reclaimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReclaimStats {
    pub scanned: u64,
    pub reclaimed: u64,
    pub slab_objects_freed: u64,
}

impl ReclaimStats {
    fn add(&mut self, o: ReclaimStats) {
        self.scanned += o.scanned;
        self.reclaimed += o.reclaimed;
        self.slab_objects_freed += o.slab_objects_freed;
    }
}

/// One zone's share of a reclaim pass: its LRU lists (`shrink_zone()`), then the shrinkers in
/// proportion to the LRU pages scanned (`shrink_slab()`), paired as 3.10's `kswapd_shrink_zone()`
/// and `do_try_to_free_pages()` and 4.x's `shrink_node()` pair them. The slab pages the
/// shrinkers freed count as reclaimed (`reclaim_state->reclaimed_slab`).
#[allow(clippy::too_many_arguments)]
fn shrink_zone_and_slab(
    node: &mut Node,
    mm: &mut NodeMm,
    i: usize,
    priority: u32,
    nr_to_reclaim: u64,
    who: Reclaimer,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> ReclaimStats {
    let lru_pages = mm.lru[i].total();
    let mut st = shrink_zone(
        &mut node.zones[i],
        &mut mm.lru[i],
        &mut mm.swap,
        priority,
        nr_to_reclaim,
        who,
    );
    node.reclaimed_slab = 0;
    st.slab_objects_freed += shrink_slab(shrinkers, node, i, st.scanned, lru_pages, pick);
    st.reclaimed += std::mem::take(&mut node.reclaimed_slab);
    st
}

/// Reclaims up to `nr` pages from the cold end of `t`: a page-cache page is dropped, an anon
/// page is swapped out while swap has room (else rotated to the young end). Counts
/// pgscan/pgsteal for `who`. Models `shrink_inactive_list()` → `shrink_page_list()`.
fn shrink_list(
    zone: &mut Zone,
    lru: &mut Lru,
    swap: &mut Swap,
    t: LruType,
    nr: u64,
    who: Reclaimer,
) -> ReclaimStats {
    let mut st = ReclaimStats::default();
    while st.scanned < nr {
        let Some(pfn) = lru.oldest(zone, t) else {
            break;
        };
        let order = match zone.page_state(pfn) {
            PageState::Allocated { order, .. } => order,
            _ => break,
        };
        let pages = 1u64 << order;
        st.scanned += pages;
        zone.pages_scanned += pages;
        let reclaim = match t {
            LruType::File => true,
            LruType::Anon => swap.free_pages() >= pages,
        };
        if reclaim {
            if t == LruType::Anon {
                swap.used_pages += pages;
                zone.events.pswpout += pages;
            }
            if t == LruType::Anon && order > 0 && swap.thp == ThpSwap::SplitFirst {
                let _ = lru.free_split(zone, pfn);
            } else {
                let _ = lru.free_page(zone, pfn, order);
            }
            st.reclaimed += pages;
        } else {
            let _ = lru.del(zone, pfn);
            let _ = lru.add(zone, pfn);
        }
    }
    let (scan, steal) = match who {
        Reclaimer::Kswapd => (
            &mut zone.events.pgscan_kswapd,
            &mut zone.events.pgsteal_kswapd,
        ),
        Reclaimer::Direct => (
            &mut zone.events.pgscan_direct,
            &mut zone.events.pgsteal_direct,
        ),
    };
    scan[t.index()] += st.scanned;
    steal[t.index()] += st.reclaimed;
    st
}

/// `get_scan_count()` in short: file pages only while swap is off or full, or while the file
/// list alone is large enough at this priority (`lru_size >> priority > 0`); otherwise both
/// types by `vm.swappiness` = 60 (anon 60 : file 140).
fn scan_targets(lru: &Lru, swap: &Swap, priority: u32) -> [u64; 2] {
    let file = lru.len(LruType::File) >> priority;
    let anon = lru.len(LruType::Anon) >> priority;
    if swap.free_pages() == 0 || file > 0 {
        return [0, file.max(u64::from(lru.len(LruType::File) > 0))];
    }
    [(anon * 60 / 200).max(u64::from(anon > 0)), file * 140 / 200]
}

/// Shrinks one zone's LRU at `priority` toward `nr_to_reclaim`, in SWAP_CLUSTER_MAX batches,
/// stopping once the target is met. Models `shrink_zone()` → `shrink_lruvec()` (3.10) /
/// the per-zone part of `shrink_node()` (4.8+).
pub fn shrink_zone(
    zone: &mut Zone,
    lru: &mut Lru,
    swap: &mut Swap,
    priority: u32,
    nr_to_reclaim: u64,
    who: Reclaimer,
) -> ReclaimStats {
    let mut st = ReclaimStats::default();
    let mut left = scan_targets(lru, swap, priority);
    while (left[0] > 0 || left[1] > 0) && st.reclaimed < nr_to_reclaim {
        for t in [LruType::Anon, LruType::File] {
            let n = left[t.index()].min(SWAP_CLUSTER_MAX);
            if n == 0 {
                continue;
            }
            let got = shrink_list(zone, lru, swap, t, n, who);
            left[t.index()] = if got.scanned == 0 {
                0
            } else {
                left[t.index()].saturating_sub(got.scanned)
            };
            st.add(got);
        }
    }
    st
}

/// The pages reclaim could free in a zone: its page cache, and its anon pages while swap has
/// room. Models `zone_reclaimable_pages()`.
fn zone_reclaimable_pages(lru: &Lru, swap: &Swap) -> u64 {
    let anon = if swap.free_pages() > 0 {
        lru.len(LruType::Anon)
    } else {
        0
    };
    lru.len(LruType::File) + anon
}

/// Whether reclaim can still help a zone: it scanned fewer than six times the zone's
/// reclaimable pages since a page was last freed there. Models `zone_reclaimable()` (3.12 –
/// 4.7, RHEL 7; 3.10 sets its `all_unreclaimable` flag on the same test).
pub fn zone_reclaimable(zone: &Zone, lru: &Lru, swap: &Swap) -> bool {
    zone.pages_scanned < 6 * zone_reclaimable_pages(lru, swap)
}

/// Models `zone_balanced(zone, order, balance_gap, classzone_idx)`: the zone meets its high
/// watermark plus `gap` at `order` with the lowmem_reserve it keeps against `classzone`
/// (`zone_watermark_ok_safe()`); 3.10 – 4.7 also want compaction not SKIPPED for order > 0.
fn zone_balanced(
    profile: &Profile,
    zone: &Zone,
    order: u32,
    gap: u64,
    classzone: ZoneType,
    extfrag_threshold: &ExtfragThreshold,
) -> bool {
    let reserve = zone.reserve_for(classzone);
    let mark = zone.watermarks.mark(Wmark::High) + gap;
    if !zone_watermark_ok(profile, zone, order, mark, reserve, AllocFlags::default()) {
        return false;
    }
    if profile.reclaim == ReclaimRule::PerZone && order > 0 {
        return !compaction_skipped(profile, zone, order, extfrag_threshold);
    }
    true
}

/// `compaction_suitable(zone, order) == COMPACT_SKIPPED` as kswapd asks it (3.10 – 4.7: the
/// order-0 gate without lowmem_reserve, then the fragmentation index).
fn compaction_skipped(
    profile: &Profile,
    zone: &Zone,
    order: u32,
    extfrag_threshold: &ExtfragThreshold,
) -> bool {
    matches!(
        compaction_suitable(
            profile,
            zone,
            Some(order),
            &zone.watermarks,
            0,
            AllocFlags::default(),
            extfrag_threshold,
        ),
        Suitability::Skipped { .. } | Suitability::NotSuitable { .. }
    )
}

/// The node's highest populated zone (`pgdat->nr_zones − 1`).
fn top_zone(node: &Node) -> usize {
    node.zones.iter().rposition(|z| z.managed > 0).unwrap_or(0)
}

/// Whether kswapd may stop for `order` with zones `0..=classzone` eligible. Models
/// `pgdat_balanced()`. 3.10 – 4.7: each zone is tested against its own index (no
/// lowmem_reserve) and a zone reclaim can no longer help counts as balanced; order 0 wants
/// every eligible zone balanced, order > 0 balanced zones with ≥ 25 % of the eligible managed
/// pages. 4.8+: any eligible zone balanced at the order, with the classzone's reserve.
pub fn pgdat_balanced(
    profile: &Profile,
    node: &Node,
    mm: &NodeMm,
    order: u32,
    classzone: usize,
) -> bool {
    let extfrag = &mm.extfrag_threshold;
    let eligible = node
        .zones
        .iter()
        .enumerate()
        .take(classzone + 1)
        .filter(|(_, z)| z.managed > 0);
    match profile.reclaim {
        ReclaimRule::PerNode => {
            let cz = node
                .zones
                .get(classzone)
                .map_or(ZoneType::Dma, |z| z.zone_type);
            eligible
                .clone()
                .any(|(_, z)| zone_balanced(profile, z, order, 0, cz, extfrag))
        }
        ReclaimRule::PerZone => {
            let (mut managed, mut balanced) = (0, 0);
            for (i, z) in eligible {
                managed += z.managed;
                if !zone_reclaimable(z, &mm.lru[i], &mm.swap)
                    || zone_balanced(profile, z, order, 0, z.zone_type, extfrag)
                {
                    balanced += z.managed;
                } else if order == 0 {
                    return false;
                }
            }
            order == 0 || balanced >= managed / 4
        }
    }
}

/// Wakes kswapd for an order-`order` request whose preferred zone is `classzone` (an index
/// into `node.zones`), recording the order and classzone it is to balance for. Returns whether
/// kswapd was woken. Models `wake_all_kswapd()` / `wake_all_kswapds()` for one node with its
/// `wakeup_kswapd()` calls:
/// * 3.10 – 4.7: every populated zone from `classzone` down raises `kswapd_max_order` (and
///   lowers the recorded classzone with it) even while kswapd runs, and wakes a sleeping
///   kswapd unless it meets `low` at the order (without lowmem_reserve);
/// * 4.8+: once per node, returning early when the node is balanced or hopeless
///   (`kswapd_failures` ≥ MAX_RECLAIM_RETRIES; 4.19+: then, for a request without direct
///   reclaim, wake kcompactd instead).
///
/// A wakeup during kswapd's short nap counts `kswapd_low_wmark_hit_quickly`.
pub fn wakeup_kswapd(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    classzone: usize,
    order: u32,
    can_direct_reclaim: bool,
) -> bool {
    let Some(zone) = node.zones.get(classzone) else {
        return false;
    };
    if zone.managed == 0 {
        return false;
    }
    let balanced = match profile.reclaim {
        ReclaimRule::PerZone => {
            let k = &mut mm.kswapd;
            if order > k.order {
                k.order = order;
                k.classzone_idx = k.classzone_idx.min(classzone);
            }
            if k.awake {
                return false;
            }
            node.zones[..=classzone].iter().all(|z| {
                let low = z.watermarks.mark(Wmark::Low);
                z.managed == 0
                    || zone_watermark_ok(profile, z, order, low, 0, AllocFlags::default())
            })
        }
        ReclaimRule::PerNode => {
            let k = &mut mm.kswapd;
            if k.awake {
                k.order = k.order.max(order);
                k.classzone_idx = k.classzone_idx.min(classzone);
                return false;
            }
            // "Hopeless node, leave it to direct reclaim if possible": a node kswapd failed on
            // MAX_RECLAIM_RETRIES times in a row is treated as balanced.
            let balanced = mm.kswapd.failures >= MAX_RECLAIM_RETRIES
                || pgdat_balanced(profile, node, mm, order, classzone);
            if balanced && !can_direct_reclaim {
                wakeup_kcompactd(profile, node, mm, order, classzone);
            }
            if !balanced {
                mm.kswapd.order = order;
                mm.kswapd.classzone_idx = classzone;
            }
            balanced
        }
    };
    if balanced {
        return false;
    }
    let k = &mut mm.kswapd;
    if k.napping {
        k.napping = false;
        node.zones[classzone].events.kswapd_low_wmark_hit_quickly += 1;
    }
    k.awake = true;
    true
}

/// The end of kswapd's short nap without a new wakeup (the engine calls it HZ/10 after a run
/// that ended balanced). Models the second half of `kswapd_try_to_sleep()`: 3.10 – 4.7 check
/// the node again for the order and classzone the run ended with; still balanced, kswapd
/// sleeps fully and compaction's skip hints are cleared where a scanner pass completed
/// (`reset_isolation_suitable()`); unbalanced, it counts `kswapd_high_wmark_hit_quickly` and
/// is awake again at once (`kswapd()` goes back to `balance_pgdat()`). 4.8+ count the counter
/// at every nap's end and sleep.
pub fn kswapd_nap_over(profile: &Profile, node: &mut Node, mm: &mut NodeMm) {
    if !std::mem::take(&mut mm.kswapd.napping) {
        return;
    }
    let (order, classzone) = mm.kswapd.balanced;
    let sleeps = profile.reclaim == ReclaimRule::PerZone
        && pgdat_balanced(profile, node, mm, order, classzone);
    if sleeps {
        flush_skip_hints(node, mm);
    } else {
        if let Some(z) = node.zones.last_mut() {
            z.events.kswapd_high_wmark_hit_quickly += 1;
        }
        mm.kswapd.awake |= profile.reclaim == ReclaimRule::PerZone;
    }
}

/// `reset_isolation_suitable()`: clears the skip bits of zones whose scanners met since
/// (`compact_blockskip_flush`).
fn flush_skip_hints(node: &mut Node, mm: &mut NodeMm) {
    for (zone, st) in node.zones.iter_mut().zip(mm.compact.iter_mut()) {
        if st.blockskip_flush {
            reset_isolation_suitable(zone, st);
        }
    }
}

/// What one kswapd run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KswapdReport {
    pub stats: ReclaimStats,
    /// The node was balanced for the order (or order 0 after falling back) when kswapd tried
    /// to sleep (`prepare_kswapd_sleep()`).
    pub balanced: bool,
    /// The order kswapd ended balancing for (0 after a high-order fallback).
    pub final_order: u32,
    pub lowest_priority: u32,
}

/// Runs kswapd once for its recorded order and classzone (then reset to 0 and the top zone),
/// then lets it nap or, 3.10 – 4.7 when the node is still unbalanced, stay awake to run again.
/// Models `kswapd()` → `balance_pgdat()` → `kswapd_try_to_sleep()`'s first check; the rule is
/// `Profile::kswapd` ([`balance_pgdat_per_zone`], [`balance_pgdat_per_node`]).
pub fn kswapd_run(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> KswapdReport {
    let top = top_zone(node);
    let order = std::mem::take(&mut mm.kswapd.order);
    let classzone = std::mem::replace(&mut mm.kswapd.classzone_idx, usize::MAX).min(top);
    mm.kswapd.awake = false;
    let rep = match profile.reclaim {
        ReclaimRule::PerZone => {
            let (rep, end_zone) =
                balance_pgdat_per_zone(profile, node, mm, order, classzone, shrinkers, pick);
            mm.kswapd.balanced = (rep.final_order, end_zone);
            if rep.balanced {
                mm.kswapd.napping = true;
            } else {
                if let Some(z) = node.zones.last_mut() {
                    z.events.kswapd_high_wmark_hit_quickly += 1;
                }
                mm.kswapd.awake = true;
            }
            rep
        }
        ReclaimRule::PerNode => {
            let rep = balance_pgdat_per_node(profile, node, mm, order, classzone, shrinkers, pick);
            flush_skip_hints(node, mm);
            mm.kswapd.napping = true;
            rep
        }
    };
    rep
}

/// Models `balance_pgdat()` of 3.11 – 4.7 (RHEL 7's; also used for 3.10). Each pass, from
/// DEF_PRIORITY down:
/// * the highest zone that is not balanced at the order (no reserve) is `end_zone`; none
///   means the node is balanced;
/// * each zone up to `end_zone` is shrunk toward `max(high, SWAP_CLUSTER_MAX)` unless it meets
///   high plus the balance gap (`min(low, managed/100)`) with `end_zone`'s reserve, at order 0
///   when compaction would not be SKIPPED (`kswapd_shrink_zone()`); zones reclaim can no
///   longer help are passed over below DEF_PRIORITY;
/// * once the pass reclaimed `2 << order` pages, kswapd balances for order 0;
/// * a high-order pass that reclaimed more than it aimed at, with no zone meeting low at the
///   order, compacts the node (`compact_pgdat()`);
/// * the priority drops only when no zone was scanned to its target or nothing was reclaimed.
///
/// It ends when [`pgdat_balanced`] or at priority 0. Returns the report and `end_zone`.
fn balance_pgdat_per_zone(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    mut order: u32,
    classzone: usize,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> (KswapdReport, usize) {
    let mut rep = KswapdReport {
        lowest_priority: DEF_PRIORITY,
        ..KswapdReport::default()
    };
    let mut priority = DEF_PRIORITY;
    let mut end_zone = 0;
    let cz = node.zones[classzone].zone_type;
    loop {
        let scans = |i: usize, mm: &NodeMm, z: &Zone| {
            z.managed > 0 && (priority == DEF_PRIORITY || zone_reclaimable(z, &mm.lru[i], &mm.swap))
        };
        let Some(end) = (0..node.zones.len()).rev().find(|&i| {
            let z = &node.zones[i];
            scans(i, mm, z)
                && !zone_balanced(profile, z, order, 0, ZoneType::Dma, &mm.extfrag_threshold)
        }) else {
            rep.balanced = true;
            break;
        };
        end_zone = end;
        rep.lowest_priority = priority;
        let ez = node.zones[end].zone_type;
        let mut needs_compaction = order > 0
            && !node.zones[..=end].iter().any(|z| {
                let low = z.watermarks.mark(Wmark::Low);
                z.managed > 0
                    && zone_watermark_ok(
                        profile,
                        z,
                        order,
                        low,
                        z.reserve_for(cz),
                        AllocFlags::default(),
                    )
            });
        let mut pass = ReclaimStats::default();
        let mut attempted = 0;
        let mut raise_priority = true;
        for i in 0..=end {
            if !scans(i, mm, &node.zones[i]) {
                continue;
            }
            let zone = &node.zones[i];
            let target = zone.watermarks.mark(Wmark::High).max(SWAP_CLUSTER_MAX);
            let test_order =
                if order > 0 && !compaction_skipped(profile, zone, order, &mm.extfrag_threshold) {
                    0
                } else {
                    order
                };
            let gap = zone
                .watermarks
                .mark(Wmark::Low)
                .min(zone.managed.div_ceil(KSWAPD_ZONE_BALANCE_GAP_RATIO));
            if zone_balanced(profile, zone, test_order, gap, ez, &mm.extfrag_threshold) {
                raise_priority = false;
                continue;
            }
            let got = shrink_zone_and_slab(
                node,
                mm,
                i,
                priority,
                target,
                Reclaimer::Kswapd,
                shrinkers,
                pick,
            );
            attempted += target;
            if got.scanned >= target {
                raise_priority = false;
            }
            pass.add(got);
        }
        rep.stats.add(pass);
        if order > 0 && pass.reclaimed >= 2u64 << order {
            order = 0;
        }
        needs_compaction &= order > 0 && pass.reclaimed > attempted;
        if needs_compaction {
            compact_pgdat(profile, node, mm, order);
        }
        if raise_priority || pass.reclaimed == 0 {
            priority -= 1;
        }
        if priority == 0 || pgdat_balanced(profile, node, mm, order, classzone) {
            break;
        }
    }
    rep.final_order = order;
    rep.balanced = pgdat_balanced(profile, node, mm, order, end_zone);
    (rep, end_zone)
}

/// `KSWAPD_ZONE_BALANCE_GAP_RATIO`: the balance gap is at most 1 % of the zone.
const KSWAPD_ZONE_BALANCE_GAP_RATIO: u64 = 100;

/// Models `compact_pgdat()` (3.10 – 4.5): async compaction of every populated zone of the
/// node not deferred at the order, as kswapd; a zone that then meets `low` at the order has
/// its deferral reset.
fn compact_pgdat(profile: &Profile, node: &mut Node, mm: &mut NodeMm, order: u32) {
    for i in 0..node.zones.len() {
        let zone = &mut node.zones[i];
        if zone.managed == 0 {
            continue;
        }
        if !mm.compact[i].compaction_deferred(order) {
            let cc = CompactControl {
                compactor: Compactor::Kswapd,
                ..CompactControl::direct(
                    profile.compaction,
                    order,
                    MigrateType::Movable,
                    CompactPriority::Async,
                    AllocFlags::default(),
                    0,
                    &mm.extfrag_threshold,
                )
            };
            let _ = compact_zone(profile, zone, &mut mm.lru[i], &mut mm.compact[i], cc);
        }
        let low = zone.watermarks.mark(Wmark::Low);
        if zone_watermark_ok(profile, &*zone, order, low, 0, AllocFlags::default()) {
            mm.compact[i].compaction_defer_reset(order, false);
        }
    }
}

/// Models `balance_pgdat()` of 4.8+ (node-based LRU): priorities from DEF_PRIORITY down to 1;
/// each pass shrinks the eligible zones toward the node's summed `max(high,
/// SWAP_CLUSTER_MAX)` and calls the shrinkers; once `compact_gap(order)` = 2<<order pages were
/// reclaimed for a high-order wakeup, kswapd balances for order 0; it stops when
/// [`pgdat_balanced`]. On the way to sleep kcompactd is woken when the node is balanced or
/// hopeless (`prepare_kswapd_sleep()`).
fn balance_pgdat_per_node(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    woken_order: u32,
    classzone: usize,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> KswapdReport {
    let mut order = woken_order;
    let mut rep = KswapdReport {
        lowest_priority: DEF_PRIORITY,
        ..KswapdReport::default()
    };
    let mut priority = DEF_PRIORITY;
    set_reclaim_active(node, classzone, true);
    while priority >= 1 {
        if pgdat_balanced(profile, node, mm, order, classzone) {
            rep.balanced = true;
            break;
        }
        rep.lowest_priority = priority;
        let mut pass = ReclaimStats::default();
        let target_node: u64 = node.zones[..=classzone]
            .iter()
            .map(|z| z.watermarks.mark(Wmark::High).max(SWAP_CLUSTER_MAX))
            .sum();
        for i in 0..=classzone {
            if node.zones[i].managed == 0 {
                continue;
            }
            let target = target_node.saturating_sub(pass.reclaimed);
            pass.add(shrink_zone_and_slab(
                node,
                mm,
                i,
                priority,
                target,
                Reclaimer::Kswapd,
                shrinkers,
                pick,
            ));
        }
        rep.stats.add(pass);
        if order > 0 && rep.stats.reclaimed >= 2u64 << order {
            order = 0;
        }
        priority -= 1;
    }
    set_reclaim_active(node, classzone, false);
    if !rep.balanced {
        rep.balanced = pgdat_balanced(profile, node, mm, order, classzone);
    }
    rep.final_order = order;
    if rep.stats.reclaimed == 0 && !rep.balanced {
        mm.kswapd.failures += 1;
    } else {
        mm.kswapd.failures = 0;
    }
    // kswapd_try_to_sleep(): kcompactd is woken only when kswapd may nap, i.e. when
    // prepare_kswapd_sleep() holds: the node is balanced at the order reclaim ended with,
    // or hopeless (kswapd_failures ≥ MAX_RECLAIM_RETRIES).
    if woken_order > 0 && (rep.balanced || mm.kswapd.failures >= MAX_RECLAIM_RETRIES) {
        wakeup_kcompactd(profile, node, mm, woken_order, classzone);
    }
    rep
}

/// Models set_reclaim_active() / clear_reclaim_active() (5.14+, around `balance_pgdat()`):
/// ZONE_RECLAIM_ACTIVE on the node's managed zones up to `classzone`.
fn set_reclaim_active(node: &mut Node, classzone: usize, on: bool) {
    for z in node.zones.iter_mut().take(classzone + 1) {
        if z.managed > 0 {
            z.set_reclaim_active(on);
        }
    }
}

/// What a direct reclaim did, and the progress it reports to the allocator
/// (`did_some_progress`), which may be more than the pages it reclaimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DirectReclaim {
    pub stats: ReclaimStats,
    pub progress: u64,
}

/// Direct reclaim for an order-`order` request whose highest eligible zone is `zone_idx`
/// (`retry` for `__GFP_REPEAT` / `__GFP_RETRY_MAYFAIL`): counts `allocstall`, then reclaims
/// by `Profile::reclaim`. Models `try_to_free_pages()` → `do_try_to_free_pages()`.
#[allow(clippy::too_many_arguments)]
pub fn try_to_free_pages(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    zone_idx: usize,
    order: u32,
    retry: bool,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> DirectReclaim {
    let Some(z) = node.zones.get_mut(zone_idx) else {
        return DirectReclaim::default();
    };
    z.events.allocstall += 1;
    match profile.reclaim {
        ReclaimRule::PerZone => {
            direct_reclaim_per_zone(profile, node, mm, zone_idx, order, retry, shrinkers, pick)
        }
        ReclaimRule::PerNode => {
            let stats =
                direct_reclaim_per_node(profile, node, mm, zone_idx, order, shrinkers, pick);
            DirectReclaim {
                stats,
                progress: stats.reclaimed,
            }
        }
    }
}

/// 3.10 – 4.7 (`do_try_to_free_pages()` → `shrink_zones()` → `shrink_zone()`): from
/// DEF_PRIORITY down to 0, each zone from `zone_idx` down is shrunk (at DEF_PRIORITY its whole
/// `lru >> priority`, below it until SWAP_CLUSTER_MAX pages a call), again and again while
/// `should_continue_reclaim()` says a costly order needs more for compaction; then the
/// shrinkers run once for the pass. A zone reclaim can no longer help is passed over below
/// DEF_PRIORITY; for a costly order a zone where compaction is ready ends reclaim after this
/// pass (`compaction_ready()`, "aborted"). Reclaim stops once SWAP_CLUSTER_MAX pages were
/// reclaimed. The progress is the pages reclaimed, else 1 when aborted for compaction or while
/// some zone is reclaimable (`all_unreclaimable()` false), else 0.
#[allow(clippy::too_many_arguments)]
fn direct_reclaim_per_zone(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    zone_idx: usize,
    order: u32,
    retry: bool,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> DirectReclaim {
    let mut total = ReclaimStats::default();
    let mut aborted = false;
    for priority in (0..=DEF_PRIORITY).rev() {
        let mut scanned = 0;
        for i in (0..=zone_idx).rev() {
            let zone = &node.zones[i];
            if zone.managed == 0
                || (priority != DEF_PRIORITY && !zone_reclaimable(zone, &mm.lru[i], &mm.swap))
            {
                continue;
            }
            if order > PAGE_ALLOC_COSTLY_ORDER
                && compaction_ready(
                    profile,
                    zone,
                    &mut mm.compact[i],
                    order,
                    &mm.extfrag_threshold,
                )
            {
                aborted = true;
                continue;
            }
            loop {
                let target = if priority == DEF_PRIORITY {
                    u64::MAX
                } else {
                    SWAP_CLUSTER_MAX
                };
                let got = shrink_zone(
                    &mut node.zones[i],
                    &mut mm.lru[i],
                    &mut mm.swap,
                    priority,
                    target,
                    Reclaimer::Direct,
                );
                total.add(got);
                scanned += got.scanned;
                if !should_continue_reclaim(
                    profile, node, mm, i, order, priority, retry, total, got,
                ) {
                    break;
                }
            }
        }
        let lru_pages = (0..=zone_idx)
            .map(|i| zone_reclaimable_pages(&mm.lru[i], &mm.swap))
            .sum();
        node.reclaimed_slab = 0;
        total.slab_objects_freed +=
            shrink_slab(shrinkers, node, zone_idx, scanned, lru_pages, pick);
        total.reclaimed += std::mem::take(&mut node.reclaimed_slab);
        if total.reclaimed >= SWAP_CLUSTER_MAX || aborted {
            break;
        }
    }
    let any_reclaimable = (0..=zone_idx).any(|i| {
        node.zones[i].managed > 0 && zone_reclaimable(&node.zones[i], &mm.lru[i], &mm.swap)
    });
    let progress = if total.reclaimed > 0 {
        total.reclaimed
    } else {
        u64::from(aborted || any_reclaimable)
    };
    DirectReclaim {
        stats: total,
        progress,
    }
}

/// Whether direct reclaim keeps shrinking zone `i` for a high-order request after a call that
/// did `last`, with `total` reclaimed so far. Models `should_continue_reclaim()` (3.10 – 4.7):
/// only in reclaim/compaction mode (order > 3, or order > 0 below DEF_PRIORITY − 2); stop when
/// the call reclaimed nothing (`__GFP_REPEAT`: and scanned nothing); go on while fewer than
/// `2 << order` pages were reclaimed and the zone's LRU holds more; then until compaction
/// would run or the allocation succeed (not COMPACT_SKIPPED).
#[allow(clippy::too_many_arguments)]
fn should_continue_reclaim(
    profile: &Profile,
    node: &Node,
    mm: &NodeMm,
    i: usize,
    order: u32,
    priority: u32,
    retry: bool,
    total: ReclaimStats,
    last: ReclaimStats,
) -> bool {
    let reclaim_compaction =
        order > 0 && (order > PAGE_ALLOC_COSTLY_ORDER || priority < DEF_PRIORITY - 2);
    if !reclaim_compaction || last.reclaimed == 0 && (!retry || last.scanned == 0) {
        return false;
    }
    let for_compaction = 2u64 << order;
    if total.reclaimed < for_compaction
        && zone_reclaimable_pages(&mm.lru[i], &mm.swap) > for_compaction
    {
        return true;
    }
    compaction_skipped(profile, &node.zones[i], order, &mm.extfrag_threshold)
}

/// Models `compaction_ready()` of 3.10 – 4.7: the zone has `high` plus the balance gap plus
/// `2 << order` free at order 0 (without lowmem_reserve), and compaction is deferred (a
/// `compaction_deferred()` call, which counts) or would not be SKIPPED, so reclaiming more
/// would not help.
fn compaction_ready(
    profile: &Profile,
    zone: &Zone,
    compact: &mut CompactState,
    order: u32,
    extfrag: &ExtfragThreshold,
) -> bool {
    let gap = zone
        .watermarks
        .mark(Wmark::Low)
        .min(zone.managed.div_ceil(KSWAPD_ZONE_BALANCE_GAP_RATIO));
    let mark = zone.watermarks.mark(Wmark::High) + gap + (2u64 << order);
    let watermark_ok = zone_watermark_ok(profile, zone, 0, mark, 0, AllocFlags::default());
    if compact.compaction_deferred(order) {
        return watermark_ok;
    }
    watermark_ok && !compaction_skipped(profile, zone, order, extfrag)
}

/// 4.8+: from DEF_PRIORITY down to 0, each eligible zone (highest first) and the shrinkers are
/// shrunk until SWAP_CLUSTER_MAX pages were reclaimed; for a costly order a zone where
/// compaction is ready (order-0 `high + 2<<order` with the classzone's reserve, and not
/// SKIPPED) is left alone (`shrink_zones()` with `compaction_ready()`).
fn direct_reclaim_per_node(
    profile: &Profile,
    node: &mut Node,
    mm: &mut NodeMm,
    zone_idx: usize,
    order: u32,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> ReclaimStats {
    let mut total = ReclaimStats::default();
    let classzone = node.zones[zone_idx].zone_type;
    for priority in (0..=DEF_PRIORITY).rev() {
        for i in (0..=zone_idx).rev() {
            let zone = &mut node.zones[i];
            if zone.managed == 0 {
                continue;
            }
            if order > PAGE_ALLOC_COSTLY_ORDER
                && compaction_ready_per_node(profile, zone, order, classzone, &mm.extfrag_threshold)
            {
                continue;
            }
            let want = SWAP_CLUSTER_MAX.saturating_sub(total.reclaimed);
            total.add(shrink_zone_and_slab(
                node,
                mm,
                i,
                priority,
                want,
                Reclaimer::Direct,
                shrinkers,
                pick,
            ));
        }
        if total.reclaimed >= SWAP_CLUSTER_MAX {
            break;
        }
    }
    // shrink_node(): any reclaim progress makes a hopeless node hopeful again.
    if total.reclaimed > 0 {
        mm.kswapd.failures = 0;
    }
    total
}

/// Models `compaction_ready()` of 4.8+: the zone has `high + 2<<order` free at order 0 with
/// the classzone's reserve and compaction would not be skipped.
fn compaction_ready_per_node(
    profile: &Profile,
    zone: &Zone,
    order: u32,
    classzone: ZoneType,
    extfrag: &ExtfragThreshold,
) -> bool {
    let reserve = zone.reserve_for(classzone);
    let mark = zone.watermarks.mark(Wmark::High) + (2u64 << order);
    if !zone_watermark_ok(profile, zone, 0, mark, reserve, AllocFlags::default()) {
        return false;
    }
    !matches!(
        compaction_suitable(
            profile,
            zone,
            Some(order),
            &zone.watermarks,
            reserve,
            AllocFlags::default(),
            extfrag
        ),
        Suitability::Skipped { .. } | Suitability::NotSuitable { .. }
    )
}

/// What a drop_caches write freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DropCaches {
    pub pagecache_pages: u64,
    pub slab_objects: u64,
}

/// A write of `mode` (1: page cache, 2: slab, 3: both) to `/proc/sys/vm/drop_caches`. 1 drops
/// every clean page-cache page (`drop_pagecache_sb()` → `invalidate_mapping_pages()`); 2 runs
/// the shrinkers with 1000 pages "scanned" of 1000 until a round frees at most 10 objects
/// (`drop_slab()`). Counts `drop_pagecache` / `drop_slab`. Models `drop_caches_sysctl_handler()`
/// (fs/drop_caches.c). Other modes do nothing.
pub fn drop_caches(
    node: &mut Node,
    mm: &mut NodeMm,
    mode: u32,
    shrinkers: &mut [&mut dyn Shrinker],
    pick: &mut dyn FnMut(u64) -> u64,
) -> DropCaches {
    let mut out = DropCaches::default();
    if node.zones.is_empty() {
        return out;
    }
    if mode & 1 != 0 {
        for (zone, lru) in node.zones.iter_mut().zip(mm.lru.iter_mut()) {
            while let Some(pfn) = lru.oldest(zone, LruType::File) {
                let PageState::Allocated { order, .. } = zone.page_state(pfn) else {
                    break;
                };
                let _ = lru.free_page(zone, pfn, order);
                out.pagecache_pages += 1 << order;
            }
        }
        node.zones[0].events.drop_pagecache += 1;
    }
    if mode & 2 != 0 {
        loop {
            let freed = shrink_slab(shrinkers, node, 0, 1000, 1000, pick);
            out.slab_objects += freed;
            if freed <= 10 {
                break;
            }
        }
        node.zones[0].events.drop_slab += 1;
    }
    out
}

/// The page allocator as a shrinker sees it: slab pages that become empty go back to the zone
/// that spans them (counted in [`Node::reclaimed_slab`]); a shrinker never allocates (an
/// allocation is refused).
pub struct FreeToNode<'a>(pub &'a mut Node);

impl crate::mm::slub::PageAllocator for FreeToNode<'_> {
    fn alloc_pages(
        &mut self,
        _order: u32,
        _req: crate::mm::slub::SlabPageRequest,
    ) -> Result<u32, crate::mm::slub::AllocFailure> {
        Err(crate::mm::slub::AllocFailure::NoBlockOfOrder)
    }
    fn free_pages(&mut self, pfn: u32, order: u32) {
        let pfn = u64::from(pfn);
        if let Some(i) = self.0.zone_of_pfn(pfn) {
            if self.0.zones[i].free(pfn, order).is_ok() {
                self.0.reclaimed_slab += 1 << order;
            }
        }
    }
}

/// A SLUB cache as a shrinker: its live objects are the freeable ones (the dentry and inode
/// caches keep unused objects on their own LRU; the model treats every live object of the
/// cache as unused), freed at random so a slab page goes back only when all its objects did.
pub struct SlabShrinker<'a> {
    pub cache: &'a mut crate::mm::slub::KmemCache,
}

impl Shrinker for SlabShrinker<'_> {
    fn count_objects(&self) -> u64 {
        self.cache.objects_in_use()
    }

    fn scan_objects(&mut self, nr: u64, pick: &mut dyn FnMut(u64) -> u64, node: &mut Node) -> u64 {
        let mut pa = FreeToNode(node);
        let mut freed = 0;
        for _ in 0..nr {
            let n = self.cache.objects_in_use();
            if n == 0 || !self.cache.free_nth_object(pick(n) % n, &mut pa) {
                break;
            }
            freed += 1;
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;
    use crate::mm::mmzone::ZoneSpec;
    use crate::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
    use crate::mm::page_alloc::pcp::PcpConfig;

    /// `Lru::check` finds a listed page without `PG_lru`, a flagged page off the lists and a
    /// wrong count.
    #[test]
    fn the_lru_check_finds_flags_and_counts_that_disagree_with_the_lists() {
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 4096, 4096, 4096).unwrap();
        let cfg = BuddyConfig::from_profile(profile("3.10").unwrap(), 4096);
        let mut z = Zone::new(0, &spec, cfg, PcpConfig::Off).unwrap();
        let mut lru = Lru::new();
        let page = |z: &mut Zone, owner| {
            z.alloc(0, MigrateType::Movable, AllocOpts::default(), owner)
                .unwrap()
        };
        let (anon, file, other) = (
            page(&mut z, OwnerKind::Anon),
            page(&mut z, OwnerKind::File),
            page(&mut z, OwnerKind::File),
        );
        lru.add(&mut z, anon).unwrap();
        lru.add(&mut z, file).unwrap();
        lru.check(&z).unwrap();
        let off = |z: &Zone, pfn| z.off_of(pfn).unwrap() as usize;
        let (a, o) = (off(&z, anon), off(&z, other));
        z.pages[a].flags = 0;
        assert!(lru.check(&z).is_err());
        z.pages[a].flags = PG_LRU;
        z.pages[o].flags = PG_LRU;
        assert!(lru.check(&z).unwrap_err().contains("PG_lru"));
        z.pages[o].flags = 0;
        lru.len[LruType::File.index()] += 1;
        assert!(lru.check(&z).is_err());
        lru.len[LruType::File.index()] -= 1;
        lru.del(&mut z, anon).unwrap();
        lru.check(&z).unwrap();
    }
}
