//! Replaying a real-kernel trace on simulated nodes (issue 7): the simulator's side of the
//! validation harness in tests/kernel/.
//!
//! The replay starts where the real kernel's run started: the snapshot the harness took at the
//! trace's first `mark` (buddyinfo, pagetypeinfo and zoneinfo merged into one [`Capture`]) is
//! rebuilt page by page with [`reconstruct`] (fixed seed, the "6.1" profile, no per-cpu lists:
//! every mark drains them in the real run, so the snapshots hold every free page). Anonymous
//! and page-cache pages of the snapshot go on their zone's LRU. Then every trace operation does
//! what the harness does in the guest (tests/kernel/README.md), through the model's kernel
//! functions:
//!
//! * `alloc` / `try`: `alloc_pages()` with the full slow path ([`alloc_pages_slowpath`]) and
//!   the line's GFP flags, owned by the module (never migratable, never reclaimable); `alloc`
//!   stops at the first failure, `try` attempts every one.
//! * `anon` / `file`: order-0 `GFP_HIGHUSER_MOVABLE` pages on the anon / file LRU (the guest
//!   has no swap, so reclaim frees only page cache); the group names *logical* pages, which
//!   follow migration and may be reclaimed (the LRU's [`LruMove`] journal). Each page a `file`
//!   writes on the guest's ext2 disk (4 KiB blocks) also gets its `buffer_head` from a
//!   `SLAB_RECLAIM_ACCOUNT` cache (`create_empty_buffers()` → `alloc_buffer_head()`,
//!   `GFP_NOFS | __GFP_NOFAIL`), freed when the page leaves the page cache
//!   (`try_to_free_buffers()` from reclaim, `drop_caches` or `POSIX_FADV_DONTNEED`): the
//!   reclaimable slab the real kernel's `nr_slab_reclaimable` shows growing with page cache.
//! * `free`: the entries [`FreeSelection::picks`] chooses, in group order.
//! * `compact`: [`compact_memory`] on every node; `drop_caches N`: [`drop_caches`];
//!   `sysctl`: the kernel's handlers (watermarks recomputed, `extfrag_threshold` on [`NodeMm`],
//!   proactiveness kept for kcompactd's periodic check).
//! * `hold S`: kcompactd's proactive check every 500 ms of the hold.
//!
//! The daemons: a wakeup of kswapd (or of kcompactd, by kswapd on its way to sleep) is served
//! right after the allocation that caused it, as the woken thread runs at the allocating
//! task's next scheduling point on the harness's single CPU.
//!
//! At each mark the replay prints the four /proc files of the nodes and records a counts line
//! per operation in the harness's counts format ([`counts_text`]). No I/O happens here.

use std::collections::BTreeMap;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::capture::{Capture, ZoneCapture};
use crate::engine::rng::Streams;
use crate::kernel::gfp::{gfp_zone, GfpFlags};
use crate::kernel::profile::{profile, Profile};
use crate::mm::compaction::{
    compact_memory, kcompactd_do_work, proactive_compaction, ZoneCompaction,
};
use crate::mm::mmzone::{Node, OwnerKind, PageState, Pfn};
use crate::mm::page_alloc::alloc::{free_pages, AllocPath};
use crate::mm::page_alloc::pcp::PcpConfig;
use crate::mm::page_alloc::setup::{setup_watermarks, Thp, Tunables};
use crate::mm::page_alloc::slowpath::{alloc_pages_slowpath, ReclaimInput, SlowPathRequest};
use crate::mm::slub::{
    AllocFailure, CacheFlags, KmemCache, ObjectRef, PageAllocator, SlabPageRequest, SlubTunables,
};
use crate::mm::vm_event::{vmstat_events_text, VmEvents};
use crate::mm::vmscan::{
    drop_caches, kswapd_nap_over, kswapd_run, wakeup_kswapd, LruMove, LruType, MoveLog, NodeMm,
    Shrinker,
};
use crate::mm::{check, procfs};
use crate::scenario::reconstruct::{reconstruct, Options, ReconstructError};
use crate::workload::counts::{CountLine, Counts};
use crate::workload::trace::{FreeSelection, GfpFlag, GroupKind, Op, Trace, VmSysctl};

/// The kernel the harness boots (Debian 12's `linux-image-amd64`, 6.1).
pub const HARNESS_KERNEL: &str = "6.1";
/// The reconstruction seed of every replay (any fixed value: the boot snapshot's counts are
/// matched exactly whatever the seed; the seed only picks places).
pub const REPLAY_SEED: u64 = 7;
/// kcompactd's proactive check period, `HPAGE_FRAG_CHECK_INTERVAL_MSEC` (mm/compaction.c).
const PROACTIVE_CHECK_MS: u64 = 500;
/// The guest has one CPU (`qemu -smp 1`).
const GUEST_CPUS: u32 = 1;

/// A replay that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}: the boot snapshot cannot be rebuilt: {source}")]
    Reconstruct {
        file: String,
        source: ReconstructError,
    },
    #[error("{file}:{line}: {message}")]
    Op {
        file: String,
        line: usize,
        message: String,
    },
}

/// The simulated /proc files at one mark.
#[derive(Clone, Debug)]
pub struct MarkSnapshot {
    /// `NN-NAME`, as the harness names the mark's directory.
    pub dir: String,
    pub buddyinfo: String,
    pub pagetypeinfo: String,
    pub zoneinfo: String,
    /// `nr_free_pages` and the event counters (`vmstat_text[]` order).
    pub vmstat: String,
    /// The zones as the files print them.
    pub zones: Vec<ZoneCapture>,
    /// The node-summed event counters since the replay began.
    pub events: VmEvents,
}

/// A finished replay: the marks' snapshots and the counts the harness would have written.
#[derive(Clone, Debug)]
pub struct Replay {
    pub marks: Vec<MarkSnapshot>,
    pub counts: Counts,
    /// What the reconstruction had to assume.
    pub notes: Vec<String>,
}

/// One entry of a group: a kernel block, or a logical anon / page-cache page (an index into
/// [`Pages::at`]).
#[derive(Clone, Copy, Debug)]
enum Entry {
    Block { pfn: Pfn, order: u32 },
    Page(usize),
}

/// Where the logical anon and page-cache pages live: `at[page]` is its PFN (`None` once it was
/// reclaimed or released) and `page_of` the reverse map; `buffers[page]` is a page-cache
/// page's `buffer_head`, and `released` the buffer heads of pages that left the page cache and
/// are still to be freed.
#[derive(Default)]
struct Pages {
    at: Vec<Option<Pfn>>,
    page_of: BTreeMap<Pfn, usize>,
    buffers: Vec<Option<ObjectRef>>,
    released: Vec<ObjectRef>,
}

impl Pages {
    fn add(&mut self, pfn: Pfn) -> usize {
        self.at.push(Some(pfn));
        self.buffers.push(None);
        self.page_of.insert(pfn, self.at.len() - 1);
        self.at.len() - 1
    }

    /// Follows one LRU move; a page gone (reclaimed or dropped) releases its buffer head.
    fn apply(&mut self, m: LruMove) {
        if let Some(page) = self.page_of.remove(&m.from) {
            self.at[page] = m.to;
            match m.to {
                Some(to) => {
                    self.page_of.insert(to, page);
                }
                None => self.release(page),
            }
        }
    }

    /// The page left the page cache: its buffer head is to be freed.
    fn release(&mut self, page: usize) {
        if let Some(bh) = self.buffers[page].take() {
            self.released.push(bh);
        }
    }
}

/// The simulated guest: nodes, their reclaim/compaction state, the groups and the tunables.
struct Guest<'t> {
    file: &'t str,
    profile: &'static Profile,
    nodes: Vec<Node>,
    mms: Vec<NodeMm>,
    rng: ChaCha8Rng,
    groups: BTreeMap<String, (GroupKind, Vec<Entry>)>,
    pages: Pages,
    tunables: Tunables,
    proactiveness: u32,
    /// The `buffer_head` cache; taken out while it allocates or frees slab pages through the
    /// guest (see [`SlabPages`]).
    buffer_heads: Option<KmemCache>,
}

/// The guest as the slab layer's page allocator: slab pages come from the full slow path and
/// wake the daemons as any allocation does ([`Guest::alloc`]).
struct SlabPages<'g, 't>(&'g mut Guest<'t>);

impl PageAllocator for SlabPages<'_, '_> {
    fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, AllocFailure> {
        let mask = self.0.profile.gfp.mask(&req.gfp);
        let pfn = self
            .0
            .alloc(order, mask, OwnerKind::Slab)
            .ok_or(AllocFailure::NoBlockOfOrder)?;
        u32::try_from(pfn).map_err(|_| {
            let _ = free_pages(&mut self.0.nodes, pfn, order);
            AllocFailure::NoBlockOfOrder
        })
    }

    fn free_pages(&mut self, pfn: u32, order: u32) {
        let _ = free_pages(&mut self.0.nodes, u64::from(pfn), order);
    }
}

/// Replays `trace` (read from `file`, named in errors) from the real kernel's snapshot at its
/// first mark, `boot` (buddyinfo + pagetypeinfo + zoneinfo merged). `boot_file` names the
/// snapshot in errors.
pub fn replay(
    file: &str,
    trace: &Trace,
    boot_file: &str,
    boot: &Capture,
) -> Result<Replay, ReplayError> {
    let kernel = profile(HARNESS_KERNEL).map_err(|message| ReplayError::Op {
        file: file.to_string(),
        line: 1,
        message,
    })?;
    let opts = Options {
        pcp: PcpConfig::Off,
        ..Options::new(kernel)
    };
    let rebuilt =
        reconstruct(boot, REPLAY_SEED, &opts).map_err(|source| ReplayError::Reconstruct {
            file: boot_file.to_string(),
            source,
        })?;
    let managed_pages: u64 = boot.zones.iter().filter_map(|z| z.managed).sum();
    let streams = Streams::new(REPLAY_SEED);
    let op_err = |message: String| ReplayError::Op {
        file: file.to_string(),
        line: 1,
        message,
    };
    let bh = kernel
        .slab_sizes
        .find("buffer_head")
        .ok_or_else(|| op_err(format!("profile {} has no buffer_head cache", kernel.name)))?;
    let flags = CacheFlags {
        reclaim_account: bh.reclaimable,
        destroy_by_rcu: false,
        ctor: bh.ctor,
    };
    let tunables = SlubTunables::with_cpus(GUEST_CPUS);
    let buffer_heads = KmemCache::new(bh.name, bh.size, flags, kernel.slab_rules(), &tunables)
        .map_err(|e| op_err(e.to_string()))?;
    let mut guest = Guest {
        file,
        profile: kernel,
        mms: Vec::new(),
        nodes: rebuilt.nodes,
        rng: streams.stream("trace replay reclaim"),
        groups: BTreeMap::new(),
        pages: Pages::default(),
        tunables: Tunables::defaults(kernel, Thp::Never),
        proactiveness: kernel.proactive.map_or(0, |(_, p)| p),
        buffer_heads: Some(buffer_heads),
    };
    guest.start_lru();
    let mut marks = Vec::new();
    let mut lines = Vec::new();
    let dirs = trace.mark_dirs();
    for tl in &trace.ops {
        let line = guest.step(tl.line, &tl.op, managed_pages, &dirs, &mut marks)?;
        lines.push(line);
    }
    Ok(Replay {
        marks,
        counts: Counts {
            managed_pages,
            lines,
        },
        notes: rebuilt.notes,
    })
}

/// A counts line with only the columns every operation has.
fn count_line(line: usize, op: &str, group: &str) -> CountLine {
    CountLine {
        line,
        op: op.to_string(),
        group: group.to_string(),
        order: None,
        requested: None,
        done: None,
        first_fail: None,
        held: None,
        ms: None,
    }
}

impl Guest<'_> {
    fn err(&self, line: usize, message: String) -> ReplayError {
        ReplayError::Op {
            file: self.file.to_string(),
            line,
            message,
        }
    }

    /// Puts the snapshot's anon and page-cache pages on their LRUs (oldest first in PFN order:
    /// the snapshot does not say their age) and starts following LRU moves.
    fn start_lru(&mut self) {
        self.mms = self
            .nodes
            .iter()
            .map(|n| NodeMm::new(self.profile, n, 0))
            .collect();
        for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
            for (zone, lru) in node.zones.iter_mut().zip(&mut mm.lru) {
                lru.record_moves(MoveLog::All);
                for pfn in zone.start_pfn..zone.end_pfn() {
                    if let PageState::Allocated { owner, .. } = zone.page_state(pfn) {
                        if LruType::of(owner).is_some() {
                            // Cannot fail: an allocated anon/file head not yet on a list.
                            let _ = lru.add(zone, pfn);
                        }
                    }
                }
            }
        }
    }

    /// Applies the LRU moves the model made since the last call to the logical pages, and
    /// frees the buffer heads of the pages that left the page cache.
    fn follow_moves(&mut self) {
        for mm in &mut self.mms {
            for lru in &mut mm.lru {
                for m in lru.drain_moves() {
                    self.pages.apply(m);
                }
            }
        }
        self.free_buffer_heads();
    }

    /// Frees the released buffer heads (`free_buffer_head()`), unless the cache is busy
    /// allocating a slab page: then the next call frees them.
    fn free_buffer_heads(&mut self) {
        let Some(mut cache) = self.buffer_heads.take() else {
            return;
        };
        while let Some(bh) = self.pages.released.pop() {
            // Cannot fail: each buffer head is released once, from a live page.
            let _ = cache.free_object(bh, &mut SlabPages(self));
        }
        self.buffer_heads = Some(cache);
    }

    /// A new page-cache page's buffer head (`alloc_page_buffers(page, size, true)`:
    /// `GFP_NOFS | __GFP_ACCOUNT | __GFP_NOFAIL`). Returns false if no slab page could be had.
    fn attach_buffer_head(&mut self, page: usize) -> bool {
        let Some(mut cache) = self.buffer_heads.take() else {
            return false;
        };
        let gfp = GfpFlags {
            io: true,
            direct_reclaim: true,
            kswapd_reclaim: true,
            nofail: true,
            ..GfpFlags::NONE
        };
        let got = cache.alloc_object(gfp, &mut SlabPages(self));
        self.buffer_heads = Some(cache);
        match got {
            Ok(bh) => {
                self.pages.buffers[page] = Some(bh);
                self.free_buffer_heads();
                true
            }
            Err(_) => false,
        }
    }

    /// Runs the daemons a wakeup left awake: kswapd (`kswapd()` → `balance_pgdat()`), then
    /// kcompactd (`kcompactd()` → `kcompactd_do_work()`), which kswapd wakes on its way to sleep.
    fn run_daemons(&mut self) {
        let mut none: [&mut dyn Shrinker; 0] = [];
        for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
            if mm.kswapd.awake {
                let rng = &mut self.rng;
                let mut pick = |n: u64| rng.random_range(0..n.max(1));
                kswapd_run(self.profile, node, mm, &mut none, &mut pick);
            }
            if mm.kcompactd.awake {
                kcompactd_do_work(self.profile, node, mm);
            }
        }
        self.follow_moves();
    }

    /// One `alloc_pages()` with the whole slow path, then the kswapd wakeup the kernel does for
    /// a page served below the low mark (`wake_all_kswapds()` before the MIN retry of
    /// `__alloc_pages_slowpath()`) or from a boosted zone (`rmqueue()`'s
    /// `ZONE_BOOSTED_WATERMARK` → `wakeup_kswapd(zone, 0, 0, zone_idx)`), and the daemons.
    fn alloc(&mut self, order: u32, gfp_mask: u64, owner: OwnerKind) -> Option<Pfn> {
        let mut none: [&mut dyn Shrinker; 0] = [];
        let rng = &mut self.rng;
        let mut pick = |n: u64| rng.random_range(0..n.max(1));
        let mut input = ReclaimInput {
            shrinkers: &mut none,
            pick: &mut pick,
        };
        let req = SlowPathRequest {
            order,
            gfp_mask,
            owner,
            local_node: 0,
        };
        let got = alloc_pages_slowpath(
            self.profile,
            &mut self.nodes,
            &mut self.mms,
            req,
            &mut input,
        );
        self.follow_moves();
        let pfn = match got {
            Ok(a) => {
                let gfp = self.profile.gfp.flags(gfp_mask);
                let n = self.nodes.iter().position(|n| n.id == a.node).unwrap_or(0);
                let node = &mut self.nodes[n];
                let slow = matches!(a.path, AllocPath::MinWatermark | AllocPath::Captured);
                let wake = if slow && gfp.kswapd_reclaim {
                    let highest = gfp_zone(&gfp);
                    node.zones
                        .iter()
                        .rposition(|z| z.managed > 0 && z.zone_type <= highest)
                        .map(|top| (top, order))
                } else if a.wake_kswapd {
                    node.zones
                        .iter()
                        .position(|z| z.zone_type == a.zone)
                        .map(|z| (z, 0))
                } else {
                    None
                };
                if let Some((zone_idx, order)) = wake {
                    wakeup_kswapd(
                        self.profile,
                        node,
                        &mut self.mms[n],
                        zone_idx,
                        order,
                        gfp.direct_reclaim,
                    );
                }
                Some(a.pfn)
            }
            Err(_) => None,
        };
        self.run_daemons();
        pfn
    }

    fn gfp_mask(&self, line: usize, flags: &[GfpFlag]) -> Result<u64, ReplayError> {
        let names: Vec<&str> = flags.iter().map(|f| f.name()).collect();
        self.profile
            .gfp
            .parse(&names.join("|"))
            .map_err(|m| self.err(line, m))
    }

    fn group(&mut self, name: &str, kind: GroupKind) -> &mut Vec<Entry> {
        &mut self
            .groups
            .entry(name.to_string())
            .or_insert_with(|| (kind, Vec::new()))
            .1
    }

    /// `alloc` / `try`: up to `count` blocks, stopping at the first failure when `stop`.
    /// Returns (done, first failure).
    fn kernel_blocks(
        &mut self,
        group: &str,
        order: u32,
        count: u64,
        gfp_mask: u64,
        stop: bool,
    ) -> (u64, Option<u64>) {
        let (mut done, mut first_fail) = (0, None);
        for i in 0..count {
            match self.alloc(order, gfp_mask, OwnerKind::Kernel) {
                Some(pfn) => {
                    done += 1;
                    self.group(group, GroupKind::Kernel)
                        .push(Entry::Block { pfn, order });
                }
                None => {
                    first_fail.get_or_insert(i);
                    if stop {
                        break;
                    }
                }
            }
        }
        self.group(group, GroupKind::Kernel);
        (done, first_fail)
    }

    /// `anon` / `file`: order-0 movable LRU pages, as page faults and page-cache writes
    /// allocate them (`alloc_pages_vma()` / `filemap_alloc_folio()` with
    /// `GFP_HIGHUSER_MOVABLE`, then `lru_cache_add()`). Stops at the first failure (the guest
    /// would OOM). Returns (done, first failure); `line` names the trace line in errors.
    fn lru_pages(
        &mut self,
        line: usize,
        group: &str,
        kind: GroupKind,
        pages: u64,
    ) -> Result<(u64, Option<u64>), ReplayError> {
        let owner = if kind == GroupKind::Anon {
            OwnerKind::Anon
        } else {
            OwnerKind::File
        };
        let gfp = self.gfp_mask(line, &[GfpFlag::GfpHighuserMovable])?;
        let mut done = 0;
        for i in 0..pages {
            let Some(pfn) = self.alloc(0, gfp, owner) else {
                self.group(group, kind);
                return Ok((done, Some(i)));
            };
            for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                if let Some(z) = node.zone_of_pfn(pfn) {
                    // Cannot fail: a fresh anon/file head.
                    let _ = mm.lru[z].add(&mut node.zones[z], pfn);
                }
            }
            let page = self.pages.add(pfn);
            self.group(group, kind).push(Entry::Page(page));
            if kind == GroupKind::File && !self.attach_buffer_head(page) {
                return Ok((done, Some(i)));
            }
            done += 1;
        }
        self.group(group, kind);
        Ok((done, None))
    }

    /// `free`: releases the chosen entries; kernel blocks with `__free_pages()`, logical pages
    /// still resident with `put_page()` (`MADV_DONTNEED` / `POSIX_FADV_DONTNEED`). Returns
    /// (entries before, freed, left).
    fn free(&mut self, group: &str, selection: FreeSelection) -> (u64, u64, u64) {
        let entries = self
            .groups
            .get_mut(group)
            .map(|g| std::mem::take(&mut g.1))
            .unwrap_or_default();
        let before = entries.len() as u64;
        let mut kept = Vec::new();
        for (entry, pick) in entries.into_iter().zip(selection.picks()) {
            if !pick {
                kept.push(entry);
                continue;
            }
            match entry {
                Entry::Block { pfn, order } => {
                    // Cannot fail: the block was allocated by this replay and is still held.
                    let _ = free_pages(&mut self.nodes, pfn, order);
                }
                Entry::Page(page) => {
                    let Some(pfn) = self.pages.at[page].take() else {
                        continue;
                    };
                    self.pages.page_of.remove(&pfn);
                    self.pages.release(page);
                    for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                        if let Some(z) = node.zone_of_pfn(pfn) {
                            let _ = mm.lru[z].free_page(&mut node.zones[z], pfn, 0);
                        }
                    }
                }
            }
        }
        self.follow_moves();
        let left = kept.len() as u64;
        if let Some(g) = self.groups.get_mut(group) {
            g.1 = kept;
        }
        (before, before - left, left)
    }

    /// The kernel's sysctl handlers for the four `vm.*` settings a trace may write.
    fn sysctl(&mut self, name: VmSysctl, value: u64) {
        match name {
            // min_free_kbytes_sysctl_handler() / watermark_scale_factor_sysctl_handler() →
            // setup_per_zone_wmarks().
            VmSysctl::MinFreeKbytes | VmSysctl::WatermarkScaleFactor => {
                if name == VmSysctl::MinFreeKbytes {
                    self.tunables.min_free_kbytes = Some(value);
                } else {
                    self.tunables.watermark_scale_factor = u32::try_from(value).unwrap_or(u32::MAX);
                }
                setup_watermarks(&mut self.nodes, self.profile, &self.tunables);
            }
            // sysctl_extfrag_threshold, read by fragmentation_index() users.
            VmSysctl::ExtfragThreshold => {
                for mm in &mut self.mms {
                    mm.extfrag_threshold
                        .write(u32::try_from(value).unwrap_or(u32::MAX));
                }
            }
            // sysctl_compaction_proactiveness (compaction_proactiveness_sysctl_handler()).
            VmSysctl::CompactionProactiveness => {
                self.proactiveness = u32::try_from(value).unwrap_or(u32::MAX);
            }
        }
    }

    /// `hold S`: kcompactd's timeout branch every `HPAGE_FRAG_CHECK_INTERVAL_MSEC`
    /// (`proactive_compaction()`), and kswapd's nap ending.
    fn hold(&mut self, seconds: u32) {
        for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
            kswapd_nap_over(self.profile, node, mm);
        }
        let checks = u64::from(seconds) * 1000 / PROACTIVE_CHECK_MS;
        for _ in 0..checks {
            for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                let kswapd_running = mm.kswapd.awake;
                let _: Option<Vec<ZoneCompaction>> = proactive_compaction(
                    self.profile,
                    node,
                    mm,
                    self.proactiveness,
                    kswapd_running,
                );
            }
            self.follow_moves();
        }
    }

    /// The four /proc files of the nodes (per-cpu lists drained first, as the harness's
    /// `mark` calls `drain_all_pages()`).
    fn snapshot(&mut self, dir: &str) -> MarkSnapshot {
        let mut events = VmEvents::default();
        let mut vmstat = String::new();
        let free: u64 = self
            .nodes
            .iter_mut()
            .flat_map(|n| n.zones.iter_mut())
            .map(|z| {
                z.drain_pcp();
                z.snapshot().free_pages.unwrap_or(0)
            })
            .sum();
        vmstat.push_str(&format!("nr_free_pages {free}\n"));
        for node in &self.nodes {
            events.add(&node.events());
        }
        if let Some(first) = self.nodes.first() {
            // One node: its counters are the machine's (the harness VM has one node).
            vmstat.push_str(&vmstat_events_text(first, self.profile.vmstat_names));
        }
        MarkSnapshot {
            dir: dir.to_string(),
            buddyinfo: procfs::buddyinfo(&self.nodes),
            pagetypeinfo: procfs::pagetypeinfo(&self.nodes, self.profile),
            zoneinfo: procfs::zoneinfo(&self.nodes, self.profile),
            vmstat,
            zones: self.nodes.iter().flat_map(Node::snapshot).collect(),
            events,
        }
    }

    /// Executes one trace line and returns its counts line.
    fn step(
        &mut self,
        line: usize,
        op: &Op,
        managed: u64,
        dirs: &[String],
        marks: &mut Vec<MarkSnapshot>,
    ) -> Result<CountLine, ReplayError> {
        let held = |g: &Guest, group: &str| g.groups.get(group).map_or(0, |g| g.1.len() as u64);
        Ok(match op {
            Op::Mark { .. } => {
                let dir = dirs
                    .get(marks.len())
                    .cloned()
                    .ok_or_else(|| self.err(line, "a mark without a directory".into()))?;
                for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                    kswapd_nap_over(self.profile, node, mm);
                }
                for node in &self.nodes {
                    check::check(node).map_err(|e| {
                        self.err(line, format!("model invariant broken at {dir}: {e}"))
                    })?;
                }
                marks.push(self.snapshot(&dir));
                CountLine {
                    done: Some(1),
                    ..count_line(line, "mark", &dir)
                }
            }
            Op::Alloc {
                group,
                kind,
                order,
                count,
            } => {
                let requested = count.resolve(managed, *order);
                let mask = self.gfp_mask(line, kind.gfp())?;
                let (done, first_fail) = self.kernel_blocks(group, *order, requested, mask, true);
                CountLine {
                    order: Some(*order),
                    requested: Some(requested),
                    done: Some(done),
                    first_fail,
                    held: Some(held(self, group)),
                    ..count_line(line, "alloc", group)
                }
            }
            Op::Try {
                group,
                order,
                count,
                gfp,
            } => {
                let requested = count.resolve(managed, *order);
                let mask = self.gfp_mask(line, gfp)?;
                let (done, first_fail) = self.kernel_blocks(group, *order, requested, mask, false);
                CountLine {
                    order: Some(*order),
                    requested: Some(requested),
                    done: Some(done),
                    first_fail,
                    held: Some(held(self, group)),
                    ..count_line(line, "try", group)
                }
            }
            Op::Anon { group, pages } | Op::File { group, pages } => {
                let (kind, name) = match op {
                    Op::Anon { .. } => (GroupKind::Anon, "anon"),
                    _ => (GroupKind::File, "file"),
                };
                let requested = pages.resolve(managed, 0);
                let (done, first_fail) = self.lru_pages(line, group, kind, requested)?;
                CountLine {
                    order: Some(0),
                    requested: Some(requested),
                    done: Some(done),
                    first_fail,
                    held: Some(held(self, group)),
                    ..count_line(line, name, group)
                }
            }
            Op::Free { group, selection } => {
                let (before, freed, left) = self.free(group, *selection);
                CountLine {
                    requested: Some(before),
                    done: Some(freed),
                    held: Some(left),
                    ..count_line(line, "free", group)
                }
            }
            Op::Hold { seconds } => {
                self.hold(*seconds);
                count_line(line, "hold", &seconds.to_string())
            }
            Op::Compact => {
                // sysctl_compaction_handler() → compact_nodes() → compact_node().
                for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                    compact_memory(self.profile, node, mm);
                }
                self.follow_moves();
                count_line(line, "compact", "-")
            }
            Op::DropCaches { what } => {
                // drop_caches_sysctl_handler(); the `sync` before it leaves nothing dirty.
                let mut none: [&mut dyn Shrinker; 0] = [];
                for (node, mm) in self.nodes.iter_mut().zip(&mut self.mms) {
                    let rng = &mut self.rng;
                    let mut pick = |n: u64| rng.random_range(0..n.max(1));
                    drop_caches(node, mm, u32::from(*what), &mut none, &mut pick);
                }
                self.follow_moves();
                count_line(line, "drop_caches", &what.to_string())
            }
            Op::Sysctl { name, value } => {
                self.sysctl(*name, *value);
                count_line(line, "sysctl", &format!("vm.{}={value}", name.name()))
            }
        })
    }
}

/// The counts file the harness writes, for a replay: same header and columns, `-` for the
/// guest time (the model has no wall clock).
pub fn counts_text(trace_path: &str, counts: &Counts) -> String {
    let mut out = format!(
        "# trace {trace_path}, managed pages {}\n# line op group order requested done first_fail held ms\n",
        counts.managed_pages
    );
    let col = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    for l in &counts.lines {
        let first_fail = match (l.op.as_str(), l.first_fail) {
            ("alloc" | "try" | "anon" | "file" | "free", None) => "-1".to_string(),
            (_, f) => col(f),
        };
        out.push_str(&format!(
            "{} {} {} {} {} {} {} {} {}\n",
            l.line,
            l.op,
            l.group,
            col(l.order.map(u64::from)),
            col(l.requested),
            col(l.done),
            first_fail,
            col(l.held),
            col(l.ms),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::counts::parse_counts;

    /// Free pages of every zone at each mark of a replay of `trace` from the recorded
    /// `smoke-512M` boot snapshot (committed under tests/kernel/results).
    fn free_at_marks(trace: &str) -> Vec<u64> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kernel/results/smoke-512M/00-boot"
        );
        let mut boot: Option<Capture> = None;
        for f in ["buddyinfo", "pagetypeinfo", "zoneinfo"] {
            let path = format!("{dir}/{f}");
            let text = std::fs::read_to_string(&path).expect("committed boot snapshot");
            let c = crate::capture::parse(&path, &text).expect("parses");
            match boot.as_mut() {
                Some(b) => b.merge(c).expect("one machine"),
                None => boot = Some(c),
            }
        }
        let boot = boot.expect("three files");
        let trace = crate::workload::trace::parse("t.trace", trace).expect("trace parses");
        let r = replay("t.trace", &trace, dir, &boot).expect("replays");
        r.marks
            .iter()
            .map(|m| m.zones.iter().filter_map(|z| z.free_pages).sum())
            .collect()
    }

    /// Writing N page-cache pages on ext2 also takes their buffer heads: ⌈N / 39⌉ order-0
    /// reclaimable slab pages (104-byte `buffer_head`, 39 per slab on 6.1). Dropping the pages
    /// (`POSIX_FADV_DONTNEED`) frees the buffer heads, so writing N pages again needs no new
    /// slab: the new buffer heads take the freed objects.
    #[test]
    fn file_pages_take_and_release_buffer_heads() {
        let free = free_at_marks(
            "mark boot\nfile f 3900\nmark written\nfree f all\nmark dropped\n\
             file g 3900\nmark rewritten\n",
        );
        let [boot, written, dropped, rewritten] = free[..] else {
            panic!("four marks, got {free:?}");
        };
        assert_eq!(boot - written, 3900 + 100, "file pages + buffer-head slabs");
        assert!(dropped >= written + 3900, "{dropped} after the drop");
        assert_eq!(
            dropped - rewritten,
            3900,
            "the freed buffer heads were not reused"
        );
    }

    /// The replay's counts file reads back with the harness's parser, `-1` and `-` where the
    /// harness writes them.
    #[test]
    fn counts_text_reads_back() {
        let text = "# trace /traces/smoke.trace, managed pages 117101\n\
                    # line op group order requested done first_fail held ms\n\
                    3 mark 00-boot - - 1 - - -\n\
                    7 try big 10 4 3 2 3 -\n\
                    12 free r - 100 52 -1 48 -\n\
                    17 hold 1 - - - - - -\n";
        let counts = parse_counts("counts", text).expect("parses");
        assert_eq!(counts_text("/traces/smoke.trace", &counts), text);
    }
}
