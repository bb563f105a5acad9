//! The allocator slow path per kernel profile (KERNEL_MM.md 5): the order of compaction and
//! reclaim, the retry rules, `__GFP_NORETRY`, and no OOM kill for costly orders, with the
//! vmstat counters the kernel moves.

use buddysim::kernel::gfp::GfpFlags;
use buddysim::kernel::profile::{profile, Profile, PROFILES};
use buddysim::mm::compaction::{CompactResult, ExtfragThreshold};
use buddysim::mm::mmzone::{FreeArea, MigrateType, Node, OwnerKind, Zone, ZoneSpec, ZoneType};
use buddysim::mm::page_alloc::alloc_flags::Wmark;
use buddysim::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::slowpath::{
    alloc_pages_slowpath, NoPage, OomSkip, ReclaimInput, RetryRule, SlowPathFailure,
    SlowPathRequest, Step, MAX_RECLAIM_RETRIES,
};
use buddysim::mm::page_alloc::watermark::setup_per_zone_wmarks;
use buddysim::mm::vmscan::NodeMm;

const PAGES: u64 = 32768;

/// A 128 MiB Normal zone with min_free_kbytes 4096 (min 1024, low 1280, high 1536 pages):
/// an unmovable slab page at every `period`-th pfn (no block of that size can ever form),
/// page cache on the LRU everywhere else except 3 isolated free pages per 64, so 1536 pages
/// are free, all of order 0: above low + 2<<6 (compaction is suitable, fragindex ≈ 984) and
/// below high + 2<<6 (direct reclaim does not skip the zone as compaction-ready).
fn fragmented(p: &Profile, period: u64, lru: bool) -> (Node, NodeMm) {
    let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, PAGES, PAGES, PAGES).unwrap();
    let zone = Zone::new(
        0,
        &spec,
        BuddyConfig::from_profile(p, PAGES),
        PcpConfig::Off,
    )
    .unwrap();
    let mut n = Node {
        id: 0,
        zones: vec![zone],
        reclaimed_slab: 0,
    };
    let w = setup_per_zone_wmarks(
        p,
        4096,
        p.watermark_scale_factor,
        &[(ZoneType::Normal, PAGES)],
    );
    n.zones[0].watermarks = w[0];
    let mut mm = NodeMm::new(p, &n, 0);
    let z = &mut n.zones[0];
    let mut slab = Vec::new();
    while let Ok(pfn) = z.alloc(
        0,
        MigrateType::Unmovable,
        AllocOpts::default(),
        OwnerKind::Slab,
    ) {
        slab.push(pfn);
    }
    for pfn in slab {
        if pfn % period != 0 {
            z.free(pfn, 0).unwrap();
        }
    }
    let owner = if lru {
        OwnerKind::File
    } else {
        OwnerKind::Slab
    };
    let mut rest = Vec::new();
    while let Ok(pfn) = z.alloc(0, MigrateType::Movable, AllocOpts::default(), owner) {
        rest.push(pfn);
    }
    for pfn in rest {
        if [1, 5, 9].contains(&(pfn % 64)) {
            z.free(pfn, 0).unwrap();
        } else if lru {
            mm.lru[0].add(z, pfn).unwrap();
        }
    }
    assert_eq!(z.free_pages(), 3 * PAGES / 64);
    (n, mm)
}

fn gfp_kernel() -> GfpFlags {
    GfpFlags {
        io: true,
        fs: true,
        direct_reclaim: true,
        kswapd_reclaim: true,
        ..Default::default()
    }
}

fn run(
    p: &Profile,
    n: &mut Node,
    mm: &mut NodeMm,
    order: u32,
    gfp: GfpFlags,
) -> Box<SlowPathFailure> {
    let req = SlowPathRequest {
        order,
        gfp_mask: p.gfp.mask(&gfp),
        owner: OwnerKind::Slab,
        local_node: 0,
    };
    let mut input = ReclaimInput {
        shrinkers: &mut [],
        pick: &mut |k| k / 2,
    };
    alloc_pages_slowpath(
        p,
        std::slice::from_mut(n),
        std::slice::from_mut(mm),
        req,
        &mut input,
    )
    .expect_err("no block of the order can form")
}

/// The steps as short names, for comparing paths.
fn path(f: &SlowPathFailure) -> Vec<String> {
    f.steps
        .iter()
        .map(|s| match s {
            Step::WakeKswapd { .. } => "kswapd".into(),
            Step::Compaction { prio, result, .. } => format!("compact {prio:?} {result:?}"),
            Step::Reclaim { .. } => "reclaim".into(),
            Step::RetryRule { rule, retry, .. } => format!("{rule:?} {retry}"),
            Step::OomSkipped { reason } => format!("oom skipped {reason:?}"),
        })
        .collect()
}

#[test]
fn costly_gfp_kernel_on_3_10_does_async_compaction_then_reclaim_then_sync_compaction_then_fails() {
    let p = profile("3.10").unwrap();
    let (mut n, mut mm) = fragmented(p, 64, true);
    let f = run(p, &mut n, &mut mm, 6, gfp_kernel());
    assert_eq!(
        path(&f),
        [
            "kswapd",
            "compact Async Complete",
            "reclaim",
            "ShouldAllocRetry false",
            "compact SyncLight Complete",
        ],
        "{:#?}",
        f.steps
    );
    assert_eq!(f.nopage, NoPage::RetriesExhausted);
    assert!(mm.kswapd.awake, "kswapd was woken for order 6");
    assert_eq!(mm.kswapd.order, 6);
    let e = n.events();
    // Two direct compactions, both failed; one direct reclaim of SWAP_CLUSTER_MAX pages.
    assert_eq!(
        (e.compact_stall, e.compact_fail, e.compact_success),
        (2, 2, 0)
    );
    assert_eq!(e.allocstall, 1);
    assert!(e.pgscan_direct[1] >= 32, "{:?}", e.pgscan_direct);
    assert!(e.pgsteal_direct[1] >= 32, "{:?}", e.pgsteal_direct);
    assert!(e.pgmigrate_success > 0, "file pages did move");
    // The sync run failed: the preferred zone is deferred for order 6.
    assert_eq!(mm.compact[0].defer_shift, 1);
    assert!(mm.compact[0].order_failed <= 6);
    // Compaction cannot move the slab pages: still no block of order ≥ 6.
    assert!((6..11).all(|o| n.zones[0].nr_free(o) == 0));
}

fn compaction_migrated(f: &SlowPathFailure) -> u64 {
    f.steps
        .iter()
        .map(|s| match s {
            Step::Compaction { zones, .. } => zones.iter().map(|z| z.stats.migrate_scanned).sum(),
            _ => 0,
        })
        .sum()
}

#[test]
fn extfrag_threshold_1000_never_compacts_a_costly_order_on_3_10() {
    let p = profile("3.10").unwrap();
    let (mut n, mut mm) = fragmented(p, 64, true);
    mm.extfrag_threshold = ExtfragThreshold::new(1000);
    let f = run(p, &mut n, &mut mm, 6, gfp_kernel());
    assert!(f.steps.iter().all(|s| !matches!(
        s,
        Step::Compaction { result, .. } if *result != CompactResult::Skipped
    )));
    assert_eq!(compaction_migrated(&f), 0);
    let e = n.events();
    assert_eq!(
        (e.compact_fail, e.compact_success, e.compact_migrate_scanned),
        (0, 0, 0)
    );
    assert_eq!(e.allocstall, 1, "reclaim still runs");
}

#[test]
fn extfrag_threshold_0_always_tries() {
    let p = profile("3.10").unwrap();
    let (mut n, mut mm) = fragmented(p, 64, true);
    mm.extfrag_threshold = ExtfragThreshold::new(0);
    let f = run(p, &mut n, &mut mm, 6, gfp_kernel());
    assert!(compaction_migrated(&f) > 0);
    assert_eq!(n.events().compact_fail, 2);
}

#[test]
fn noretry_costly_request_with_deferred_compaction_fails_without_reclaim_on_4_19() {
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = fragmented(p, 64, true);
    for _ in 0..3 {
        mm.compact[0].defer_compaction(6);
    }
    let gfp = GfpFlags {
        noretry: true,
        ..gfp_kernel()
    };
    let f = run(p, &mut n, &mut mm, 6, gfp);
    assert_eq!(path(&f), ["kswapd", "compact Async Deferred"]);
    assert_eq!(f.nopage, NoPage::NoretryCompactionGate);
    let e = n.events();
    assert_eq!((e.allocstall, e.compact_stall), (0, 0));
}

#[test]
fn noretry_costly_request_with_skipped_compaction_fails_without_reclaim_on_5_15_but_reclaims_on_4_19(
) {
    let gfp = GfpFlags {
        noretry: true,
        ..gfp_kernel()
    };
    for (name, reclaims) in [("4.19", true), ("5.15", false), ("6.18", false)] {
        let p = profile(name).unwrap();
        let (mut n, mut mm) = fragmented(p, 64, true);
        mm.extfrag_threshold = ExtfragThreshold::new(1000);
        let f = run(p, &mut n, &mut mm, 6, gfp);
        assert_eq!(path(&f)[1], "compact Async Skipped", "{name}");
        assert_eq!(n.events().allocstall, u64::from(reclaims), "{name}");
        let expect = if reclaims {
            NoPage::Noretry
        } else {
            NoPage::NoretryCompactionGate
        };
        assert_eq!(f.nopage, expect, "{name}");
    }
}

#[test]
fn costly_gfp_kernel_on_4_19_compacts_async_then_reclaims_then_compacts_sync_light_then_fails() {
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = fragmented(p, 64, true);
    let f = run(p, &mut n, &mut mm, 6, gfp_kernel());
    let steps = path(&f);
    assert_eq!(steps[0], "kswapd");
    assert!(steps[1].starts_with("compact Async"), "{steps:?}");
    assert_eq!(steps[2], "reclaim");
    assert!(steps[3].starts_with("compact SyncLight"), "{steps:?}");
    assert_eq!(steps.len(), 4);
    assert_eq!(f.nopage, NoPage::CostlyNoRetry);
    assert_eq!(n.events().allocstall, 1);
}

#[test]
fn non_costly_requests_retry_but_stay_bounded() {
    for name in ["3.10", "4.19", "6.18"] {
        let p = profile(name).unwrap();
        let (mut n, mut mm) = fragmented(p, 8, true);
        let f = run(p, &mut n, &mut mm, 3, gfp_kernel());
        let retried = f
            .steps
            .iter()
            .filter(|s| matches!(s, Step::RetryRule { retry: true, .. }))
            .count();
        assert!(retried >= 1, "{name}: {:?}", path(&f));
        let reclaims = f.count(|s| matches!(s, Step::Reclaim { .. }));
        assert!(
            (2..=MAX_RECLAIM_RETRIES as usize).contains(&reclaims),
            "{name}: {reclaims} reclaim rounds"
        );
        assert_eq!(n.events().allocstall, reclaims as u64, "{name}");
        assert!(matches!(
            f.nopage,
            NoPage::ModelBound | NoPage::OomKill | NoPage::RetriesExhausted
        ));
    }
}

#[test]
fn costly_orders_never_invoke_the_oom_killer() {
    let mut reached_oom = 0;
    for p in PROFILES {
        for mayfail in [false, true] {
            // Nothing reclaimable: only slab, no LRU pages.
            let (mut n, mut mm) = fragmented(p, 64, false);
            let gfp = GfpFlags {
                retry_mayfail: mayfail,
                ..gfp_kernel()
            };
            let f = run(p, &mut n, &mut mm, 6, gfp);
            assert_ne!(f.nopage, NoPage::OomKill, "{}", p.name);
            for s in &f.steps {
                if let Step::OomSkipped { reason } = s {
                    assert_eq!(*reason, OomSkip::CostlyOrder, "{}", p.name);
                    reached_oom += 1;
                }
            }
            let loops = f.count(|s| {
                matches!(
                    s,
                    Step::RetryRule {
                        rule: RetryRule::ShouldReclaimRetry,
                        ..
                    }
                )
            });
            assert!(loops <= MAX_RECLAIM_RETRIES as usize + 1, "{}", p.name);
        }
    }
    assert!(
        reached_oom >= PROFILES.len(),
        "the OOM step was reached: {reached_oom}"
    );
    // The same request at order 3 would kill.
    let p = profile("4.19").unwrap();
    let (mut n, mut mm) = fragmented(p, 8, false);
    let f = run(p, &mut n, &mut mm, 3, gfp_kernel());
    assert_eq!(f.nopage, NoPage::OomKill);
}

#[test]
fn failure_report_round_trips_through_analyze() {
    use buddysim::analyze::{analyze, Options};
    use buddysim::mm::show_mem::failure_report;
    for (name, names) in [("3.10", false), ("4.19", true)] {
        let p = profile(name).unwrap();
        let (mut n, mut mm) = fragmented(p, 64, true);
        let f = run(p, &mut n, &mut mm, 6, gfp_kernel());
        let text = failure_report(
            p,
            std::slice::from_ref(&n),
            f.last.order,
            f.last.gfp_mask,
            "exe",
        );
        let mode = p.gfp.mask(&gfp_kernel());
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(&format!(
                "exe: page allocation failure: order:6, mode:{mode:#x}"
            )),
            "{first}"
        );
        assert_eq!(first.ends_with(", nodemask=(null)"), names, "{first}");
        let cap = buddysim::capture::parse("report", &text).unwrap();
        let fr = cap.failure.as_ref().unwrap();
        assert_eq!((fr.order, fr.mode), (6, mode));
        let opts = Options {
            kernel: Some(p),
            ..Default::default()
        };
        let a = analyze(&cap, &opts).unwrap();
        assert_eq!(a.request.order, 6);
        assert_eq!(a.request.mode, format!("{mode:#x}"));
        assert_eq!(
            a.verdict.succeeds,
            Some(false),
            "{name}: {}",
            a.verdict.reason
        );
        let z = &a.zones[0];
        let zone = &n.zones[0];
        let blocks: Vec<u64> = (0..11).map(|o| zone.nr_free(o)).collect();
        assert_eq!(z.free_blocks, blocks);
        assert_eq!(z.free_pages, Some(zone.free_pages()));
        let w = z.watermarks.as_ref().unwrap();
        assert_eq!(
            (w.min, w.low, w.high),
            (
                zone.watermarks.mark(Wmark::Min),
                zone.watermarks.mark(Wmark::Low),
                zone.watermarks.mark(Wmark::High)
            )
        );
        assert_eq!(z.managed, Some(PAGES));
    }
}
