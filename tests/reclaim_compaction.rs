//! Reclaim and compaction against the kernel behaviour they model: compaction moves only
//! movable pages, merges free memory, honours and sets skip bits, defers after failures;
//! kswapd reclaims to the high watermark; drop_caches and shrinkers free what the kernel frees.

use buddysim::kernel::profile::{profile, Profile};
use buddysim::mm::check::check;
use buddysim::mm::compaction::{
    compact_memory, compact_zone, CompactControl, CompactPriority, CompactResult, CompactState,
    ExtfragThreshold,
};
use buddysim::mm::mmzone::{FreeArea, MigrateType, Node, OwnerKind, Pfn, Zone, ZoneSpec, ZoneType};
use buddysim::mm::page_alloc::alloc_flags::AllocFlags;
use buddysim::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::watermark::setup_per_zone_wmarks;
use buddysim::mm::slub::{
    AllocFailure, CacheFlags, CpuPartialRule, KmallocLargeFlags, KmemCache, MinPartialRule,
    PageAllocator, SlabFirstTry, SlabOrderRule, SlabPageRequest, SlabRules, SlubTunables,
};
use buddysim::mm::vm_event::vmstat_events_text;
use buddysim::mm::vmscan::{
    drop_caches, kswapd_run, shrink_slab, try_to_free_pages, wakeup_kswapd, MoveLog, NodeMm,
    Shrinker, SlabShrinker,
};
use proptest::prelude::*;

/// 128 MiB Normal zone at 4 GiB (64 pageblocks), no per-cpu lists.
fn node(p: &Profile, pages: u64) -> Node {
    let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, pages, pages, pages).unwrap();
    let zone = Zone::new(
        0,
        &spec,
        BuddyConfig::from_profile(p, pages),
        PcpConfig::Off,
    )
    .unwrap();
    Node {
        id: 0,
        zones: vec![zone],
        reclaimed_slab: 0,
    }
}

/// [`node`] with its reclaim and compaction state.
fn node_mm(p: &Profile, pages: u64) -> (Node, NodeMm) {
    let n = node(p, pages);
    let mm = NodeMm::new(p, &n, 0);
    (n, mm)
}

/// Free memory in order-6 units held in blocks of order ≥ 6.
fn order6_blocks(z: &Zone) -> u64 {
    (6..11).map(|o| z.nr_free(o) << (o - 6)).sum()
}

/// Fills the zone with order-0 pages of `owner`, then frees all but every 64th: scattered
/// pinned pages leave free runs of 63 pages, no order-6 block anywhere. LRU pages go on the LRU.
fn scatter(node: &mut Node, mm: &mut NodeMm, owner: OwnerKind) -> Vec<Pfn> {
    let mt = if owner.is_movable() {
        MigrateType::Movable
    } else {
        MigrateType::Unmovable
    };
    let z = &mut node.zones[0];
    let mut all = Vec::new();
    while let Ok(p) = z.alloc(0, mt, AllocOpts::default(), owner) {
        all.push(p);
    }
    let mut kept = Vec::new();
    for p in all {
        if p % 64 == 0 {
            if owner.is_movable() {
                mm.lru[0].add(z, p).unwrap();
            }
            kept.push(p);
        } else {
            z.free(p, 0).unwrap();
        }
    }
    kept
}

#[test]
fn compaction_cannot_move_slab_pages() {
    for name in ["3.10", "4.19", "6.18"] {
        let p = profile(name).unwrap();
        for (owner, moves) in [(OwnerKind::Slab, false), (OwnerKind::File, true)] {
            let (mut n, mut mm) = node_mm(p, 32768);
            scatter(&mut n, &mut mm, owner);
            let before = order6_blocks(&n.zones[0]);
            assert_eq!(before, 0, "{name}: the pattern leaves no order-6 block");
            compact_memory(p, &mut n, &mut mm);
            check(&n).unwrap();
            let after = order6_blocks(&n.zones[0]);
            if moves {
                // 512 used pages pack into 8 blocks of order 6: the other 504 order-6 units
                // of the zone can be free.
                assert!(
                    after >= 480,
                    "{name} {owner:?}: {after} order-6 units after"
                );
            } else {
                assert_eq!(after, 0, "{name} {owner:?}: slab pages moved");
            }
        }
    }
}

/// A compaction run ends with `drain_local_pages()`: the running CPU's per-cpu pages go back
/// to the buddy lists, another CPU's stay where they are.
#[test]
fn compaction_drains_only_the_running_cpus_lists() {
    let p = profile("3.10").unwrap();
    let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 32768, 32768, 32768).unwrap();
    let pcp = PcpConfig::Fixed {
        cpus: 2,
        batch: 31,
        high: 186,
    };
    let zone = Zone::new(0, &spec, BuddyConfig::from_profile(p, 32768), pcp).unwrap();
    let mut n = Node {
        id: 0,
        zones: vec![zone],
        reclaimed_slab: 0,
    };
    let mut mm = NodeMm::new(p, &n, 0);
    scatter(&mut n, &mut mm, OwnerKind::File);
    let z = &mut n.zones[0];
    let counts = |z: &Zone| -> Vec<u64> {
        z.pcp()
            .pagesets(z.managed)
            .iter()
            .map(|s| s.count)
            .collect()
    };
    // CPU 0 freed the scattered pages (its list holds some); CPU 1 takes and frees a few.
    z.set_cpu(1);
    let taken: Vec<Pfn> = (0..5)
        .map(|_| {
            z.alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::File,
            )
            .unwrap()
        })
        .collect();
    for q in taken {
        z.free(q, 0).unwrap();
    }
    let before = counts(z);
    assert!(before[0] > 0 && before[1] > 0, "{before:?}");
    z.set_cpu(0);
    let t = ExtfragThreshold::new(0);
    let cc = CompactControl::direct(
        p.compaction,
        6,
        MigrateType::Unmovable,
        CompactPriority::SyncLight,
        AllocFlags::WMARK_MIN,
        0,
        &t,
    );
    compact_zone(p, z, &mut mm.lru[0], &mut mm.compact[0], cc);
    assert_eq!(counts(&n.zones[0]), [0, before[1]]);
    check(&n).unwrap();
}

/// The LRU journal: recording all pages it logs every LRU page that leaves its PFN (freed or
/// migrated); recording anon pages only (what a run follows) it leaves page-cache pages out;
/// an owner's free of its own page is not logged.
#[test]
fn the_lru_journal_records_the_pages_it_is_asked_to() {
    let p = profile("3.10").unwrap();
    for (log, expect_file) in [(MoveLog::All, true), (MoveLog::Anon, false)] {
        let (mut n, mut mm) = node_mm(p, 32768);
        let lru = &mut mm.lru[0];
        lru.record_moves(log);
        let z = &mut n.zones[0];
        let mut take = |owner| {
            let q = z
                .alloc(0, MigrateType::Movable, AllocOpts::default(), owner)
                .unwrap();
            lru.add(z, q).unwrap();
            q
        };
        let (file, anon, own) = (
            take(OwnerKind::File),
            take(OwnerKind::Anon),
            take(OwnerKind::Anon),
        );
        lru.free_page(z, file, 0).unwrap();
        lru.free_page(z, anon, 0).unwrap();
        let froms: Vec<Pfn> = lru.drain_moves().map(|m| m.from).collect();
        let want = if expect_file {
            vec![file, anon]
        } else {
            vec![anon]
        };
        assert_eq!(froms, want, "{log:?}");
        assert!(!lru.has_moves());
        // An owner freeing its own page already knows it is gone: nothing is logged.
        lru.free_own_page(z, own, 0).unwrap();
        assert!(!lru.has_moves());
        assert!(!lru.contains(z, own));
    }
}

#[test]
fn compact_memory_merges_free_pages_into_high_orders() {
    for name in ["3.10", "4.4", "4.9", "5.15", "6.18"] {
        let p = profile(name).unwrap();
        let (mut n, mut mm) = node_mm(p, 32768);
        scatter(&mut n, &mut mm, OwnerKind::Anon);
        let max_before = n.zones[0].nr_free(10);
        let res = compact_memory(p, &mut n, &mut mm);
        check(&n).unwrap();
        assert_eq!(res[0].result, CompactResult::Complete, "{name}");
        // Every scattered page below where the scanners met moved (those in the top blocks
        // the free scanner took stay): 512 pages, 8 per block.
        let migrated = res[0].stats.migrated;
        assert!(
            (480..=512).contains(&migrated) && migrated.is_multiple_of(8),
            "{name}: {migrated}"
        );
        assert_eq!(max_before, 0);
        // 512 pages fit in half an order-10 block: at least 31 of the 32 order-10 blocks are free.
        assert!(
            n.zones[0].nr_free(10) >= 31,
            "{name}: {}",
            n.zones[0].nr_free(10)
        );
        let e = n.events();
        // Each migrated page was isolated once by each scanner; the free scanner isolates
        // whole blocks' free pages and gives the surplus back.
        assert!(e.compact_isolated >= 2 * migrated, "{name}");
        assert_eq!(e.pgmigrate_success, migrated, "{name}");
        assert!(e.compact_migrate_scanned > 0 && e.compact_free_scanned > 0);
    }
}

#[test]
fn deferral_skips_the_next_2_pow_k_minus_1_attempts() {
    let p = profile("4.19").unwrap();
    let n = node(p, 4096);
    for k in 1..=7u32 {
        let mut s = CompactState::new(&n.zones[0]);
        for _ in 0..k {
            s.defer_compaction(6);
        }
        let skipped = (0..200).take_while(|_| s.compaction_deferred(6)).count();
        assert_eq!(skipped as u32, (1 << k.min(6)) - 1, "after {k} failures");
        // Lower orders than the failed one are never deferred.
        let mut s2 = CompactState::new(&n.zones[0]);
        s2.order_failed = 6;
        s2.defer_compaction(6);
        assert!(!s2.compaction_deferred(5));
    }
    let mut s = CompactState::new(&n.zones[0]);
    s.defer_compaction(6);
    s.compaction_defer_reset(6, true);
    assert!(!s.compaction_deferred(6));
    assert_eq!(s.order_failed, 7);
}

#[test]
fn skip_bits_are_set_and_ignored_by_compact_memory() {
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = node_mm(p, 32768);
    let slab = scatter(&mut n, &mut mm, OwnerKind::Slab);
    // A direct sync compaction sets the skip bit on the slab-only blocks it scanned.
    let t = ExtfragThreshold::new(0);
    let cc = CompactControl::direct(
        p.compaction,
        9,
        MigrateType::Unmovable,
        CompactPriority::SyncLight,
        AllocFlags::WMARK_MIN,
        0,
        &t,
    );
    let (r, _) = compact_zone(p, &mut n.zones[0], &mut mm.lru[0], &mut mm.compact[0], cc);
    assert_ne!(r, CompactResult::Skipped);
    let skipped = slab
        .iter()
        .filter(|&&pfn| pfn % 512 == 0 && n.zones[0].pageblock_skip(pfn))
        .count();
    assert!(skipped > 0, "no skip bit set");
    check(&n).unwrap();
    // With movable pages scattered and the first block's skip bit set, a run that honours the
    // hint leaves that block's pages alone; compact_memory moves them.
    let (mut n, mut mm) = node_mm(p, 32768);
    let pages = scatter(&mut n, &mut mm, OwnerKind::File);
    let first = n.zones[0].start_pfn;
    n.zones[0].set_pageblock_skip(first, true);
    let in_first: Vec<Pfn> = pages.iter().copied().filter(|&q| q < first + 512).collect();
    assert_eq!(in_first.len(), 8);
    let t = ExtfragThreshold::new(0);
    let cc = CompactControl::direct(
        p.compaction,
        9,
        MigrateType::Movable,
        CompactPriority::SyncLight,
        AllocFlags::WMARK_MIN,
        0,
        &t,
    );
    let (r, st) = compact_zone(p, &mut n.zones[0], &mut mm.lru[0], &mut mm.compact[0], cc);
    assert_eq!(r, CompactResult::Success);
    assert!(st.migrated > 0);
    assert!(
        in_first.iter().all(|&q| mm.lru[0].contains(&n.zones[0], q)),
        "skipped block compacted"
    );
    compact_memory(p, &mut n, &mut mm);
    assert!(
        in_first
            .iter()
            .all(|&q| !mm.lru[0].contains(&n.zones[0], q)),
        "compact_memory left them"
    );
    check(&n).unwrap();
}

fn set_wmarks(p: &Profile, n: &mut Node, min_free_kbytes: u64) {
    let z = &mut n.zones[0];
    let w = setup_per_zone_wmarks(
        p,
        min_free_kbytes,
        p.watermark_scale_factor,
        &[(z.zone_type, z.managed)],
    );
    z.watermarks = w[0];
}

/// Fills the zone with page cache on the LRU until `free` pages are left.
fn fill_page_cache(n: &mut Node, mm: &mut NodeMm, free: u64) {
    let z = &mut n.zones[0];
    while z.free_pages() > free {
        let p = z
            .alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::File,
            )
            .unwrap();
        mm.lru[0].add(z, p).unwrap();
    }
}

fn kswapd_to_sleep(p: &Profile, mfk: u64) -> (u64, u64) {
    let mut n = node(p, 65536);
    let mut mm = NodeMm::new(p, &n, 0);
    set_wmarks(p, &mut n, mfk);
    let w = n.zones[0].watermarks;
    fill_page_cache(&mut n, &mut mm, w.min + 1);
    assert!(wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true));
    let rep = kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
    assert!(rep.balanced);
    check(&n).unwrap();
    (n.zones[0].free_pages(), w.high)
}

#[test]
fn kswapd_reclaims_to_the_high_watermark() {
    for name in ["3.10", "4.19", "6.18"] {
        let p = profile(name).unwrap();
        let (free, high) = kswapd_to_sleep(p, 8192);
        assert!(free > high, "{name}: {free} ≤ high {high}");
        // It stops near high: the last pass reclaims at most high more.
        assert!(
            free <= 2 * high + 64,
            "{name}: {free} far above high {high}"
        );
    }
}

#[test]
fn raising_min_free_kbytes_raises_kswapds_target() {
    let p = profile("4.19").unwrap();
    let (free_lo, high_lo) = kswapd_to_sleep(p, 4096);
    let (free_hi, high_hi) = kswapd_to_sleep(p, 16384);
    assert!(high_hi > high_lo);
    assert!(
        free_hi > free_lo && free_hi > high_hi,
        "{free_hi} vs {free_lo}"
    );
}

/// The zone as the slab layer's page allocator.
struct ZonePa<'a>(&'a mut Zone);

impl PageAllocator for ZonePa<'_> {
    fn alloc_pages(&mut self, order: u32, req: SlabPageRequest) -> Result<u32, AllocFailure> {
        self.0
            .alloc(
                order,
                req.migrate_type(),
                AllocOpts::default(),
                OwnerKind::Slab,
            )
            .map(|p| p as u32)
            .map_err(|_| AllocFailure::NoBlockOfOrder)
    }
    fn free_pages(&mut self, pfn: u32, order: u32) {
        self.0.free(u64::from(pfn), order).unwrap();
    }
}

fn dentry_cache() -> KmemCache {
    let rules = SlabRules {
        order: SlabOrderRule::MinObjectsLoop,
        min_partial: MinPartialRule::Greater,
        first_try: SlabFirstTry::NoRetry,
        cpu_partial: CpuPartialRule::Small,
        kmalloc_large: KmallocLargeFlags::CompKmemcg,
    };
    let flags = CacheFlags {
        reclaim_account: true,
        ..CacheFlags::default()
    };
    KmemCache::new("dentry", 192, flags, rules, &SlubTunables::with_cpus(4)).unwrap()
}

/// A deterministic uniform-ish picker (LCG), enough for a spread of random frees.
fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |n| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % n.max(1)
    }
}

/// Fills `cache` with `objects` objects from zone 0.
fn fill_cache(n: &mut Node, cache: &mut KmemCache, objects: u64) {
    let mut pa = ZonePa(&mut n.zones[0]);
    for _ in 0..objects {
        cache
            .alloc_object(buddysim::kernel::gfp::GfpFlags::NONE, &mut pa)
            .unwrap();
    }
}

#[test]
fn shrinker_frees_few_whole_slab_pages_when_objects_are_freed_at_random() {
    let p = profile("3.10").unwrap();
    let mut n = node(p, 32768);
    let mut cache = dentry_cache();
    fill_cache(&mut n, &mut cache, 20000);
    let pages = cache.pages();
    let free_before = n.zones[0].free_pages();
    let mut sh = SlabShrinker { cache: &mut cache };
    let freed = sh.scan_objects(10000, &mut lcg(7), &mut n);
    assert_eq!(freed, 10000);
    let after = cache.pages();
    // Half the objects are gone, but a page is freed only when all 21 of its objects were:
    // 0.5^21 per page.
    assert!(pages - after < pages / 20, "{pages} → {after}");
    assert_eq!(cache.objects_in_use(), 10000);
    // The pages that were freed went back to the buddy allocator.
    assert_eq!(n.zones[0].free_pages() - free_before, pages - after);
    check(&n).unwrap();
}

#[test]
fn drop_caches_frees_page_cache_and_shrinks_slab() {
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = node_mm(p, 32768);
    let mut cache = dentry_cache();
    fill_cache(&mut n, &mut cache, 5000);
    fill_page_cache(&mut n, &mut mm, 8192);
    let cached = mm.lru[0].total();
    let slab_pages = cache.pages();
    let free_before = n.zones[0].free_pages();
    let mut sh = SlabShrinker { cache: &mut cache };
    let out = drop_caches(&mut n, &mut mm, 3, &mut [&mut sh], &mut lcg(1));
    assert_eq!(out.pagecache_pages, cached);
    assert_eq!(mm.lru[0].total(), 0);
    // drop_slab loops until a round frees at most 10 objects: here all of them.
    assert_eq!(out.slab_objects, 5000);
    assert_eq!(cache.objects_in_use(), 0);
    let slab_freed = slab_pages - cache.pages();
    assert!(slab_freed > 0);
    assert_eq!(n.zones[0].free_pages() - free_before, cached + slab_freed);
    let e = n.events();
    assert_eq!((e.drop_pagecache, e.drop_slab), (1, 1));
    check(&n).unwrap();
}

/// A shrinker with a fixed number of freeable objects that counts what it is asked to scan.
struct Counting {
    freeable: u64,
    scanned: u64,
}

impl Shrinker for Counting {
    fn count_objects(&self) -> u64 {
        self.freeable
    }
    fn scan_objects(
        &mut self,
        nr: u64,
        _pick: &mut dyn FnMut(u64) -> u64,
        _node: &mut Node,
    ) -> u64 {
        self.scanned += nr;
        0
    }
}

#[test]
fn reclaim_cost_is_proportional_to_pages_scanned() {
    // Shrinker work: 4·scanned/seeks · freeable/(lru+1) objects, linear in pages scanned.
    let p = profile("4.19").unwrap();
    let mut n = node(p, 4096);
    let mut work = Vec::new();
    for scanned in [100u64, 200, 400] {
        let mut c = Counting {
            freeable: 100_000,
            scanned: 0,
        };
        shrink_slab(&mut [&mut c], &mut n, 0, scanned, 9_999, &mut |k| k / 2);
        work.push(c.scanned);
    }
    assert_eq!(work, vec![2000, 4000, 8000]);
    assert_eq!(n.events().slabs_scanned, 14000);
    // LRU work: every page kswapd looks at is counted once in pgscan, and it reclaimed only
    // pages it scanned.
    let mut n = node(p, 65536);
    let mut mm = NodeMm::new(p, &n, 0);
    set_wmarks(p, &mut n, 8192);
    fill_page_cache(&mut n, &mut mm, 10);
    let lru_before = mm.lru[0].total();
    wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true);
    let rep = kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
    let e = n.events();
    assert_eq!(e.pgscan_kswapd[1], rep.stats.scanned);
    assert_eq!(e.pgsteal_kswapd[1], lru_before - mm.lru[0].total());
    assert!(e.pgsteal_kswapd[1] <= e.pgscan_kswapd[1]);
    // Direct reclaim: one allocstall, SWAP_CLUSTER_MAX pages.
    let st = try_to_free_pages(p, &mut n, &mut mm, 0, 0, false, &mut [], &mut |k| k / 2).stats;
    assert!(st.reclaimed >= 32);
    assert_eq!(n.events().allocstall, 1);
    assert_eq!(n.events().pgscan_direct[1], st.scanned);
}

#[test]
fn vmstat_names_follow_the_profile() {
    let p = profile("3.10").unwrap();
    let n = node(p, 4096);
    let t = vmstat_events_text(&n, p.vmstat_names);
    assert!(t.contains("pgsteal_kswapd_normal 0\n") && !t.contains("compact_daemon_wake"));
    let p = profile("4.19").unwrap();
    let t = vmstat_events_text(&n, p.vmstat_names);
    assert!(t.contains("\npgsteal_kswapd 0\n") && t.contains("compact_daemon_migrate_scanned 0"));
    assert!(!t.contains("pgsteal_file"));
    let t = vmstat_events_text(&n, profile("5.15").unwrap().vmstat_names);
    assert!(t.contains("pgsteal_file 0") && !t.contains("pgsteal_proactive"));
    let t = vmstat_events_text(&n, profile("6.18").unwrap().vmstat_names);
    assert!(t.contains("pgsteal_proactive 0"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Invariants hold after compaction and reclaim over random fill patterns of movable,
    /// slab and page-table pages of mixed orders.
    #[test]
    fn invariants_hold_after_compaction_and_reclaim(
        name in prop::sample::select(vec!["3.10", "4.4", "4.19", "6.18"]),
        ops in prop::collection::vec((0u8..4, 0u32..4, any::<bool>()), 50..400),
        swap in any::<bool>(),
    ) {
        let p = profile(name).unwrap();
        let mut n = node(p, 8192);
        let mut mm = NodeMm::new(p, &n, if swap { 1024 } else { 0 });
        set_wmarks(p, &mut n, 1024);
        let mut live: Vec<(Pfn, u32, OwnerKind)> = Vec::new();
        for (kind, order, free) in ops {
            let owner = [OwnerKind::File, OwnerKind::Anon, OwnerKind::Slab, OwnerKind::PageTable][kind as usize];
            let mt = if owner.is_movable() { MigrateType::Movable } else { MigrateType::Unmovable };
            let z = &mut n.zones[0];
            if let Ok(pfn) = z.alloc(order, mt, AllocOpts::default(), owner) {
                if owner.is_movable() {
                    mm.lru[0].add(z, pfn).unwrap();
                }
                live.push((pfn, order, owner));
            }
            if free && !live.is_empty() {
                let (pfn, order, _) = live.swap_remove(live.len() / 2);
                if mm.lru[0].contains(z, pfn) || z.page_state(pfn) != buddysim::mm::mmzone::PageState::Hole {
                    let _ = mm.lru[0].free_page(z, pfn, order);
                }
            }
        }
        check(&n).unwrap();
        let t = ExtfragThreshold::new(0);
        let cc = CompactControl::direct(p.compaction, 6, MigrateType::Unmovable, CompactPriority::Async, AllocFlags::WMARK_MIN, 0, &t);
        compact_zone(p, &mut n.zones[0], &mut mm.lru[0], &mut mm.compact[0], cc);
        prop_assert!(check(&n).is_ok(), "{:?}", check(&n));
        compact_memory(p, &mut n, &mut mm);
        prop_assert!(check(&n).is_ok(), "{:?}", check(&n));
        wakeup_kswapd(p, &mut n, &mut mm, 0, 3, true);
        kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
        prop_assert!(check(&n).is_ok(), "{:?}", check(&n));
        try_to_free_pages(p, &mut n, &mut mm, 0, 0, false, &mut [], &mut |k| k / 2);
        prop_assert!(check(&n).is_ok(), "{:?}", check(&n));
    }
}

fn gfp_kernel() -> buddysim::kernel::gfp::GfpFlags {
    buddysim::kernel::gfp::GfpFlags {
        io: true,
        fs: true,
        direct_reclaim: true,
        kswapd_reclaim: true,
        ..Default::default()
    }
}

#[test]
fn costly_direct_compaction_counts_stall_and_fail_and_defers_after_sync_on_3_10() {
    use buddysim::mm::compaction::{direct_compaction_done, try_to_compact_pages};
    let p = profile("3.10").unwrap();
    let (mut n, mut mm) = node_mm(p, 32768);
    scatter(&mut n, &mut mm, OwnerKind::Slab);
    let gfp = gfp_kernel();
    let flags = AllocFlags::WMARK_MIN;
    for (round, prio) in [CompactPriority::Async, CompactPriority::SyncLight]
        .into_iter()
        .enumerate()
    {
        let out = try_to_compact_pages(p, &mut n, &mut mm, &[0], 6, &gfp, flags, prio);
        assert!(out.stalled, "round {round}");
        assert_eq!(out.result, CompactResult::Complete, "nothing could move");
        assert!(!out.page_available);
        direct_compaction_done(p, &mut n, &mut mm, &out, None);
    }
    let e = n.events();
    assert_eq!(
        (e.compact_stall, e.compact_fail, e.compact_success),
        (2, 2, 0)
    );
    // Only the sync failure deferred the preferred zone: the next attempt is skipped.
    assert_eq!(mm.compact[0].defer_shift, 1);
    let out = try_to_compact_pages(
        p,
        &mut n,
        &mut mm,
        &[0],
        6,
        &gfp,
        flags,
        CompactPriority::Async,
    );
    assert_eq!(out.result, CompactResult::Deferred);
    assert!(!out.stalled);
    // A request that cannot do IO and FS does not compact at all.
    let nofs = buddysim::kernel::gfp::GfpFlags { fs: false, ..gfp };
    let out = try_to_compact_pages(
        p,
        &mut n,
        &mut mm,
        &[0],
        6,
        &nofs,
        flags,
        CompactPriority::Async,
    );
    assert_eq!((out.result, out.stalled), (CompactResult::Skipped, false));
}

#[test]
fn movable_direct_compaction_succeeds_and_counts_success_on_4_19() {
    use buddysim::mm::compaction::{direct_compaction_done, try_to_compact_pages};
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = node_mm(p, 32768);
    scatter(&mut n, &mut mm, OwnerKind::File);
    let gfp = buddysim::kernel::gfp::GfpFlags {
        movable: true,
        ..gfp_kernel()
    };
    let out = try_to_compact_pages(
        p,
        &mut n,
        &mut mm,
        &[0],
        9,
        &gfp,
        AllocFlags::WMARK_MIN,
        CompactPriority::Async,
    );
    assert_eq!(out.result, CompactResult::Success);
    assert!(out.stalled && out.page_available);
    direct_compaction_done(p, &mut n, &mut mm, &out, Some(0));
    let e = n.events();
    assert_eq!(
        (e.compact_stall, e.compact_success, e.compact_fail),
        (1, 1, 0)
    );
    assert!(n.zones[0].nr_free(9) + n.zones[0].nr_free(10) > 0);
    check(&n).unwrap();
}

#[test]
fn kcompactd_wakes_for_high_orders_on_4_6_and_later_only() {
    use buddysim::mm::compaction::{kcompactd_do_work, wakeup_kcompactd};
    for (name, exists) in [("3.10", false), ("4.9", true), ("4.19", true)] {
        let p = profile(name).unwrap();
        let (mut n, mut mm) = node_mm(p, 32768);
        scatter(&mut n, &mut mm, OwnerKind::File);
        assert!(!wakeup_kcompactd(p, &n, &mut mm, 0, 0), "{name}: order 0");
        assert_eq!(wakeup_kcompactd(p, &n, &mut mm, 9, 0), exists, "{name}");
        if !exists {
            continue;
        }
        let res = kcompactd_do_work(p, &mut n, &mut mm);
        assert_eq!(res[0].result, CompactResult::Success, "{name}");
        let e = n.events();
        assert_eq!(e.compact_daemon_wake, 1);
        assert!(e.compact_daemon_migrate_scanned > 0 && e.compact_daemon_free_scanned > 0);
        assert!(!mm.kcompactd.awake);
        check(&n).unwrap();
    }
}

#[test]
fn proactive_compaction_runs_above_the_high_score_and_stops_at_low() {
    use buddysim::kernel::profile::ProactiveRule;
    use buddysim::mm::compaction::{
        fragmentation_score_node, fragmentation_score_wmarks, fragmentation_score_zone,
        proactive_compaction,
    };
    assert_eq!(
        fragmentation_score_wmarks(ProactiveRule::V5_9, 20),
        (80, 90)
    );
    assert_eq!(
        fragmentation_score_wmarks(ProactiveRule::V5_9, 100),
        (5, 15)
    );
    assert_eq!(
        fragmentation_score_wmarks(ProactiveRule::V6_18, 20),
        (80, 90)
    );
    assert_eq!(
        fragmentation_score_wmarks(ProactiveRule::V6_18, 90),
        (10, 15)
    );
    let p = profile("5.15").unwrap();
    let (mut n, mut mm) = node_mm(p, 32768);
    scatter(&mut n, &mut mm, OwnerKind::File);
    assert!(fragmentation_score_node(p, &n) > 90);
    assert!(
        proactive_compaction(p, &mut n, &mut mm, 20, true).is_none(),
        "kswapd running"
    );
    assert!(
        proactive_compaction(p, &mut n, &mut mm, 0, false).is_none(),
        "proactiveness 0"
    );
    let res = proactive_compaction(p, &mut n, &mut mm, 20, false).expect("runs");
    assert_eq!(res[0].result, CompactResult::Success);
    let score = fragmentation_score_zone(p, &n.zones[0]);
    assert!(score <= 80, "{score}");
    // It stops at the low mark rather than compacting everything: some 63-page runs remain.
    assert!(score > 0);
    assert!(proactive_compaction(p, &mut n, &mut mm, 20, false).is_none());
    assert!(proactive_compaction(profile("4.19").unwrap(), &mut n, &mut mm, 20, false).is_none());
    check(&n).unwrap();
}

#[test]
fn reclaimable_page_cache_makes_a_skipped_zone_worth_retrying() {
    use buddysim::mm::compaction::compaction_zonelist_suitable;
    let p = profile("4.19").unwrap();
    for (owner, suitable) in [(OwnerKind::File, true), (OwnerKind::Slab, false)] {
        let (mut n, mut mm) = node_mm(p, 32768);
        set_wmarks(p, &mut n, 8192);
        // Everything allocated, then every 64th page freed: 512 free pages, far below the
        // order-9 gate low + 2<<9.
        let z = &mut n.zones[0];
        let mut all = Vec::new();
        while let Ok(q) = z.alloc(0, MigrateType::Movable, AllocOpts::default(), owner) {
            all.push(q);
        }
        for q in all {
            if q % 64 == 0 {
                z.free(q, 0).unwrap();
            } else if owner == OwnerKind::File {
                mm.lru[0].add(z, q).unwrap();
            }
        }
        assert!(z.free_pages() < z.watermarks.low + 1024);
        let ok = compaction_zonelist_suitable(p, &n, &mm, &[0], 9, AllocFlags::WMARK_MIN);
        assert_eq!(ok, suitable, "{owner:?}");
    }
}

#[test]
fn anon_pages_are_reclaimed_only_with_swap() {
    let p = profile("5.15").unwrap();
    for swap in [0u64, 1 << 20] {
        let mut n = node(p, 65536);
        let mut mm = NodeMm::new(p, &n, swap);
        set_wmarks(p, &mut n, 8192);
        let z = &mut n.zones[0];
        while z.free_pages() > z.watermarks.min {
            let q = z
                .alloc(
                    0,
                    MigrateType::Movable,
                    AllocOpts::default(),
                    OwnerKind::Anon,
                )
                .unwrap();
            mm.lru[0].add(z, q).unwrap();
        }
        assert!(wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true));
        let rep = kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
        let e = n.events();
        if swap == 0 {
            assert!(!rep.balanced && rep.stats.reclaimed == 0);
            assert_eq!((e.pswpout, e.pgsteal_kswapd[0]), (0, 0));
            assert_eq!(mm.kswapd.failures, 1);
        } else {
            assert!(rep.balanced);
            assert_eq!(e.pswpout, e.pgsteal_kswapd[0]);
            assert_eq!(mm.swap.used_pages, e.pswpout);
            let t = vmstat_events_text(&n, p.vmstat_names);
            assert!(t.contains(&format!("pgsteal_anon {}\n", e.pswpout)));
        }
        check(&n).unwrap();
    }
}

#[test]
fn a_wakeup_during_kswapds_nap_counts_low_wmark_hit_quickly() {
    use buddysim::mm::vmscan::kswapd_nap_over;
    let p = profile("4.19").unwrap();
    let mut n = node(p, 65536);
    let mut mm = NodeMm::new(p, &n, 0);
    set_wmarks(p, &mut n, 8192);
    fill_page_cache(&mut n, &mut mm, 10);
    assert!(wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true));
    kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
    assert!(mm.kswapd.napping);
    // Balanced: a wakeup now does nothing.
    assert!(!wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true));
    // Pressure returns during the nap.
    fill_page_cache(&mut n, &mut mm, 10);
    assert!(wakeup_kswapd(p, &mut n, &mut mm, 0, 0, true));
    assert_eq!(n.events().kswapd_low_wmark_hit_quickly, 1);
    kswapd_run(p, &mut n, &mut mm, &mut [], &mut |k| k / 2);
    kswapd_nap_over(p, &mut n, &mut mm);
    assert_eq!(n.events().kswapd_high_wmark_hit_quickly, 1);
    assert!(!mm.kswapd.napping);
}

/// 5.1+ `compaction_capture()`: an order-9 GFP_KERNEL request that only compaction can serve
/// (anon pages every 64 pages, no swap: reclaim frees nothing) gets the block its own sync-light
/// compaction freed, straight from `__free_one_page()`: the pageblock stays MOVABLE and no
/// `pgalloc` is counted. Without capture (4.19, 3.10) the allocation retry takes the freed block
/// through `__rmqueue_fallback()`, which retypes it UNMOVABLE.
#[test]
fn direct_compaction_captures_the_freed_block_from_5_1() {
    use buddysim::mm::mmzone::PageState;
    use buddysim::mm::page_alloc::alloc::AllocPath;
    use buddysim::mm::page_alloc::slowpath::{alloc_pages_slowpath, ReclaimInput, SlowPathRequest};
    for (name, captures) in [
        ("6.1", true),
        ("5.15", true),
        ("4.19", false),
        ("3.10", false),
    ] {
        let p = profile(name).unwrap();
        let mut n = node(p, 32768);
        set_wmarks(p, &mut n, 4096);
        let mut mm = NodeMm::new(p, &n, 0);
        scatter(&mut n, &mut mm, OwnerKind::Anon);
        let pgalloc = n.zones[0].events.pgalloc;
        let req = SlowPathRequest {
            order: 9,
            gfp_mask: p.gfp.mask(&gfp_kernel()),
            owner: OwnerKind::Slab,
            local_node: 0,
        };
        let mut input = ReclaimInput {
            shrinkers: &mut [],
            pick: &mut |k| k / 2,
        };
        let a = alloc_pages_slowpath(
            p,
            std::slice::from_mut(&mut n),
            std::slice::from_mut(&mut mm),
            req,
            &mut input,
        )
        .unwrap_or_else(|f| panic!("{name}: {:?}", f.nopage));
        check(&n).unwrap();
        let z = &n.zones[0];
        assert!(
            matches!(
                z.page_state(a.pfn),
                PageState::Allocated {
                    order: 9,
                    owner: OwnerKind::Slab,
                    ..
                }
            ),
            "{name}"
        );
        let block = z.pageblock_migratetype(a.pfn);
        if captures {
            assert_eq!(a.path, AllocPath::Captured, "{name}");
            assert_eq!(block, Some(MigrateType::Movable), "{name}: retyped");
            assert_eq!(z.events.pgalloc, pgalloc, "{name}: counted pgalloc");
            assert_eq!(a.pfn % 512, 0, "{name}");
            let e = n.events();
            assert_eq!(e.compact_success, 1, "{name}");
        } else {
            assert_ne!(a.path, AllocPath::Captured, "{name}");
            assert_eq!(block, Some(MigrateType::Unmovable), "{name}: not stolen");
        }
    }
}

/// An anon THP reclaimed to swap. 3.10 splits it first (`add_to_swap()` →
/// `split_huge_page_to_list()`): its 512 pages are freed one by one through the per-cpu lists,
/// which keep some of them, so the 2 MiB block does not come back whole. 4.19 swaps it out and
/// frees it whole.
#[test]
fn a_swapped_thp_is_split_first_on_3_10_and_freed_whole_on_4_19() {
    for (name, whole) in [("3.10", false), ("4.19", true)] {
        let p = profile(name).unwrap();
        let pages = 8192;
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, pages, pages, pages).unwrap();
        let pcp = PcpConfig::Fixed {
            cpus: 1,
            batch: 31,
            high: 186,
        };
        let zone = Zone::new(0, &spec, BuddyConfig::from_profile(p, pages), pcp).unwrap();
        let mut n = Node {
            id: 0,
            zones: vec![zone],
            reclaimed_slab: 0,
        };
        let mut mm = NodeMm::new(p, &n, 4096);
        let z = &mut n.zones[0];
        assert_eq!(z.nr_free(10), 8);
        let thp = z
            .alloc(
                9,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::Anon,
            )
            .unwrap();
        mm.lru[0].add(z, thp).unwrap();
        try_to_free_pages(p, &mut n, &mut mm, 0, 0, false, &mut [], &mut |k| k / 2);
        let z = &n.zones[0];
        assert_eq!(z.events.pswpout, 512, "{name}");
        assert_eq!(mm.swap.used_pages, 512, "{name}");
        if whole {
            assert_eq!((z.nr_free(10), z.pcp().count()), (8, 0), "{name}");
        } else {
            assert!(z.pcp().count() > 0, "{name}");
            assert_eq!(z.nr_free(10), 7, "{name}");
        }
        check(&n).unwrap();
    }
}
