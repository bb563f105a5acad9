//! The allocation path over simulated nodes: zonelists, watermarks with lowmem_reserve, the
//! fast path and the MIN-watermark retry, ALLOC_NOFRAGMENT, watermark boost, and the boot-time
//! watermark setup, against the kernel's arithmetic (KERNEL_MM.md 1, 2, 5.1, 5.3) and the seed.

use buddysim::kernel::gfp::GfpFlags;
use buddysim::kernel::profile::{profile, Profile, PROFILES};
use buddysim::mm::check::check;
use buddysim::mm::memcontrol::MemcgKmem;
use buddysim::mm::mmzone::{
    x86_64_layout, FreeArea, Node, NodeSpec, OwnerKind, PageState, Pfn, ZoneSpec, ZoneType,
};
use buddysim::mm::netns::{CacheOutcome, Conntrack};
use buddysim::mm::page_alloc::alloc::{
    alloc_pages, alloc_pages_prepared, fast_path_serves, free_pages, prepare_alloc_pages,
    AllocPath, NodeAllocator, Refusal, RepeatedRequest,
};
use buddysim::mm::page_alloc::alloc_flags::Wmark;
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::setup::{setup_watermarks, Thp, Tunables};
use buddysim::mm::page_alloc::watermark::WatermarkVerdict;
use buddysim::mm::procfs;
use buddysim::mm::slub::{AllocFailure as SlabAllocFailure, Kmalloc, SlubTunables};
use proptest::prelude::*;
use std::collections::BTreeMap;

const GIB: u64 = 1 << 30;
/// First PFN of a small test zone (4 GiB, where Normal starts on x86-64).
const START: Pfn = 1 << 20;

fn gfp(p: &Profile, s: &str) -> u64 {
    p.gfp.parse(s).unwrap()
}

/// One node with a single Normal zone of `pages` pages, no per-cpu lists, no watermarks yet.
fn small_node(p: &Profile, pages: u64) -> Vec<Node> {
    let spec = NodeSpec {
        node: 0,
        zones: vec![ZoneSpec::from_sizes(ZoneType::Normal, START, pages, pages, pages).unwrap()],
    };
    Node::build_all(&[spec], p, PcpConfig::Off).unwrap()
}

fn tunables(p: &Profile, min_free_kbytes: u64) -> Tunables {
    Tunables {
        min_free_kbytes: Some(min_free_kbytes),
        ..Tunables::defaults(p, Thp::Never)
    }
}

/// Allocates every page of the node at order 0 (watermarks still 0), returning the PFNs.
fn alloc_all(nodes: &mut [Node], p: &Profile) -> Vec<Pfn> {
    let mask = gfp(p, "GFP_HIGHUSER_MOVABLE");
    let mut pfns = Vec::new();
    while let Ok(a) = alloc_pages(nodes, p, 0, mask, OwnerKind::Anon, 0) {
        pfns.push(a.pfn);
    }
    pfns
}

/// 4096 pages: every other page of the first half free (1024 order-0 blocks that cannot
/// merge) and one free order-2 block at START + 2048; min 512, low 640 (min_free_kbytes 2048).
fn order0_heavy_node(p: &Profile) -> Vec<Node> {
    let mut nodes = small_node(p, 4096);
    let pfns = alloc_all(&mut nodes, p);
    assert_eq!(pfns.len(), 4096);
    for pfn in (START..START + 2048)
        .step_by(2)
        .chain(START + 2048..START + 2052)
    {
        free_pages(&mut nodes, pfn, 0).unwrap();
    }
    setup_watermarks(&mut nodes, p, &tunables(p, 2048));
    let z = &nodes[0].zones[0];
    assert_eq!((z.watermarks.min, z.watermarks.low), (512, 640));
    assert_eq!(z.free_pages(), 1028);
    assert_eq!((z.nr_free(0), z.nr_free(2)), (1024, 1));
    check(&nodes[0]).unwrap();
    nodes
}

/// KERNEL_MM.md 2.1: 3.10 removes the 1024 order-0 pages from the 1025 counted (1028 − 3) and
/// compares the single page left with min/2 = 320 at the LOW mark (then 256 at MIN): refused.
/// 4.4 only needs 1025 > 640 and a block of order ≥ 2 on a usable list: granted.
#[test]
fn per_order_loop_of_3_10_refuses_what_4_4_grants() {
    let p = profile("3.10").unwrap();
    let mut nodes = order0_heavy_node(p);
    let failure =
        alloc_pages(&mut nodes, p, 2, gfp(p, "GFP_KERNEL"), OwnerKind::Kernel, 0).unwrap_err();
    assert_eq!(
        failure.fast.get(0, ZoneType::Normal),
        Some(Refusal::Watermark(WatermarkVerdict::BelowMinAtOrder {
            order: 0,
            free: 1,
            min: 320
        }))
    );
    assert_eq!(
        failure.min.get(0, ZoneType::Normal),
        Some(Refusal::Watermark(WatermarkVerdict::BelowMinAtOrder {
            order: 0,
            free: 1,
            min: 256
        }))
    );
    assert!(failure.wake_kswapd);
    assert!(failure
        .to_string()
        .contains("below watermark above order 0"));

    for name in ["4.4", "4.19", "6.18"] {
        let p = profile(name).unwrap();
        let mut nodes = order0_heavy_node(p);
        let a = alloc_pages(&mut nodes, p, 2, gfp(p, "GFP_KERNEL"), OwnerKind::Kernel, 0)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (a.pfn, a.path),
            (START + 2048, AllocPath::FastPath),
            "{name}"
        );
    }
}

/// Allocates `mask` requests from order 10 down to 0, each order until it fails; returns the
/// zones that served them and the last failure.
fn exhaust(
    nodes: &mut [Node],
    p: &Profile,
    mask: &str,
) -> (
    Vec<ZoneType>,
    buddysim::mm::page_alloc::alloc::AllocationFailure,
) {
    let mask = gfp(p, mask);
    let mut zones = Vec::new();
    let mut last = None;
    for order in (0..=10).rev() {
        loop {
            match alloc_pages(nodes, p, order, mask, OwnerKind::Kernel, 0) {
                Ok(a) => zones.push(a.zone),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
    }
    (zones, *last.unwrap())
}

/// The seed's 16 GiB 3.10 node: DMA's lowmem_reserve for a Normal-classzone request is
/// (DMA32 + Normal managed)/256, far above DMA's ~4000 free pages, so GFP_KERNEL never gets DMA
/// even after Normal and DMA32 are down to their min; a GFP_DMA request (classzone DMA,
/// reserve 0) still does.
#[test]
fn lowmem_reserve_keeps_gfp_kernel_out_of_dma() {
    let p = profile("3.10").unwrap();
    let mut nodes =
        Node::build_all(&x86_64_layout(16 * GIB, 1).unwrap(), p, PcpConfig::Off).unwrap();
    setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
    let dma_free = nodes[0].zone(ZoneType::Dma).unwrap().free_pages();
    let (zones, failure) = exhaust(&mut nodes, p, "GFP_KERNEL");
    assert!(zones.contains(&ZoneType::Normal) && zones.contains(&ZoneType::Dma32));
    assert!(!zones.contains(&ZoneType::Dma));
    assert_eq!(nodes[0].zone(ZoneType::Dma).unwrap().free_pages(), dma_free);
    let reserve = nodes[0].zone(ZoneType::Dma).unwrap().lowmem_reserve[2];
    let managed = |zt| nodes[0].zone(zt).unwrap().managed;
    assert_eq!(
        reserve,
        (managed(ZoneType::Dma32) + managed(ZoneType::Normal)) / 256
    );
    match failure.min.get(0, ZoneType::Dma) {
        Some(Refusal::Watermark(WatermarkVerdict::BelowMin { reserve: r, .. })) => {
            assert_eq!(r, reserve)
        }
        other => panic!("DMA refusal {other:?}"),
    }
    assert_eq!(failure.reserve_zone, ZoneType::Normal);
    let a = alloc_pages(&mut nodes, p, 0, gfp(p, "GFP_DMA"), OwnerKind::Kernel, 0).unwrap();
    assert_eq!((a.zone, a.path), (ZoneType::Dma, AllocPath::FastPath));
    check(&nodes[0]).unwrap();
}

/// Order-0 GFP_KERNEL requests: served by the fast path while free > low, by the MIN retry
/// while min < free ≤ low, refused once free ≤ min (4.19: low = min + max(min/4, 4096·10/10000)).
#[test]
fn between_low_and_min_only_the_min_step_succeeds() {
    for name in ["3.10", "4.19", "5.15"] {
        let p = profile(name).unwrap();
        let mut nodes = small_node(p, 4096);
        setup_watermarks(&mut nodes, p, &tunables(p, 2048));
        let w = nodes[0].zones[0].watermarks;
        assert_eq!((w.min, w.low), (512, 640), "{name}");
        let mask = gfp(p, "GFP_KERNEL");
        loop {
            let free = nodes[0].zones[0].free_pages();
            match alloc_pages(&mut nodes, p, 0, mask, OwnerKind::Kernel, 0) {
                Ok(a) if free > 640 => assert_eq!(a.path, AllocPath::FastPath, "{name} {free}"),
                Ok(a) => {
                    assert!(free > 512, "{name}: served at {free}");
                    assert_eq!(a.path, AllocPath::MinWatermark, "{name} {free}");
                    assert!(a.wake_kswapd);
                }
                Err(e) => {
                    assert_eq!(free, 512, "{name}");
                    assert!(matches!(
                        e.min.get(0, ZoneType::Normal),
                        Some(Refusal::Watermark(WatermarkVerdict::BelowMin {
                            free: 512,
                            min: 512,
                            reserve: 0
                        }))
                    ));
                    break;
                }
            }
        }
    }
}

/// Every page of a 4096-page zone (8 MOVABLE pageblocks) allocated as movable and every other
/// page freed: only order-0 MOVABLE blocks are free, so an UNMOVABLE request must fall back
/// into a foreign pageblock below pageblock order.
fn movable_only_node(p: &Profile) -> Vec<Node> {
    let mut nodes = small_node(p, 4096);
    let pfns = alloc_all(&mut nodes, p);
    for pfn in pfns.into_iter().filter(|pfn| pfn % 2 == 0) {
        free_pages(&mut nodes, pfn, 0).unwrap();
    }
    setup_watermarks(&mut nodes, p, &tunables(p, 512));
    nodes
}

/// 5.15: the fast path with ALLOC_NOFRAGMENT refuses the sub-pageblock fallback, the second
/// walk without it steals; 4.19 has no such step and steals on the first walk.
#[test]
fn nofragment_refuses_then_retries_on_5_15_only() {
    for (name, retried) in [("5.15", true), ("6.18", true), ("4.19", false)] {
        let p = profile(name).unwrap();
        let mut nodes = movable_only_node(p);
        let a = alloc_pages(&mut nodes, p, 0, gfp(p, "GFP_KERNEL"), OwnerKind::Kernel, 0).unwrap();
        assert_eq!(a.path, AllocPath::FastPath, "{name}");
        assert_eq!(a.nofragment_retried, retried, "{name}");
        check(&nodes[0]).unwrap();
    }
}

/// 5.15: the steal boosts the watermarks by a pageblock (max_boost = high·15000/10000 ≥ 512)
/// and, the request having ALLOC_KSWAPD, asks for kswapd; 4.19 has no boost.
#[test]
fn fallback_boosts_watermarks_and_wakes_kswapd_on_5_15() {
    let p = profile("5.15").unwrap();
    let mut nodes = movable_only_node(p);
    let before = nodes[0].zones[0].watermarks;
    assert_eq!(before.boost, 0);
    let a = alloc_pages(&mut nodes, p, 0, gfp(p, "GFP_KERNEL"), OwnerKind::Kernel, 0).unwrap();
    assert!(a.wake_kswapd);
    let w = nodes[0].zones[0].watermarks;
    assert_eq!(w.boost, 512);
    assert_eq!(w.mark(Wmark::Low), before.low + 512);
    assert_eq!(w.mark(Wmark::Min), before.min + 512);
    assert!(nodes[0].zones[0].events.extfrag_fallback > 0);

    let p = profile("4.19").unwrap();
    let mut nodes = movable_only_node(p);
    let a = alloc_pages(&mut nodes, p, 0, gfp(p, "GFP_KERNEL"), OwnerKind::Kernel, 0).unwrap();
    assert!(!a.wake_kswapd);
    assert_eq!(nodes[0].zones[0].watermarks.boost, 0);
}

/// The seed's 16 GiB node on 3.10 with THP: min_free_kbytes = 512·3·11 pages = 67584 kB, as the
/// seed's per-zone mins add up to (64 + 11976 + 55536 = 67576 kB, rounded down per zone).
/// Managed sizes come from `x86_64_layout`: DMA 3977 like the seed; DMA32 782303 against the
/// seed's 721118 and Normal 3342338 against 3341755, because the layout reserves only the
/// memmap, not the seed's other boot reservations (crashkernel and the like, ~61K pages in
/// DMA32). So DMA's marks equal the seed's (64/80/96 kB) and DMA32/Normal's split differs by
/// those pages: 3201 and 13678 against the seed's 2994 and 13884.
#[test]
fn default_16gib_watermarks_on_3_10_with_thp_match_the_seed() {
    let p = profile("3.10").unwrap();
    let mut nodes =
        Node::build_all(&x86_64_layout(16 * GIB, 1).unwrap(), p, PcpConfig::Off).unwrap();
    let s = setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
    assert_eq!(s.min_free_kbytes, 67584);
    assert_eq!(s.thp_recommended_kbytes, Some(67584));
    assert!(s.default_min_free_kbytes < 67584);
    let z = |zt| nodes[0].zone(zt).unwrap();
    let managed: Vec<u64> = nodes[0].zones.iter().map(|z| z.managed).collect();
    assert_eq!(managed, [3977, 782303, 3342338]);
    let dma = z(ZoneType::Dma).watermarks;
    assert_eq!((dma.min * 4, dma.low * 4, dma.high * 4), (64, 80, 96));
    assert_eq!(z(ZoneType::Dma32).watermarks.min, 3201);
    assert_eq!(z(ZoneType::Normal).watermarks.min, 13678);
    let total_min: u64 = nodes[0].zones.iter().map(|z| z.watermarks.min).sum();
    assert!(total_min <= 16896 && total_min > 16896 - 3);
    // protection: DMA (0, DMA32/256, (DMA32+Normal)/256, same) as the seed's 4-entry line.
    assert_eq!(
        z(ZoneType::Dma).lowmem_reserve,
        [
            0,
            782303 / 256,
            (782303 + 3342338) / 256,
            (782303 + 3342338) / 256
        ]
    );
    assert_eq!(z(ZoneType::Normal).lowmem_reserve, [0, 0, 0, 0]);
    // 3.10 marks roundup(min, 512)/512 pageblocks, at most 2, as MIGRATE_RESERVE.
    let reserve = |zt| z(zt).pageblock_counts()[buddysim::mm::mmzone::MigrateType::Reserve.index()];
    assert_eq!(
        (
            reserve(ZoneType::Dma),
            reserve(ZoneType::Dma32),
            reserve(ZoneType::Normal)
        ),
        (1, 2, 2)
    );
    for n in &nodes {
        check(n).unwrap();
    }
}

#[derive(Clone, Debug)]
enum Op {
    Alloc { order: u32, gfp: usize, node: usize },
    Free(usize),
}

const GFPS: [&str; 5] = [
    "GFP_KERNEL",
    "GFP_HIGHUSER_MOVABLE",
    "GFP_ATOMIC",
    "GFP_NOWAIT",
    "GFP_KERNEL|__GFP_RECLAIMABLE",
];

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0u32..=10, 0..GFPS.len(), 0usize..2)
                .prop_map(|(order, gfp, node)| Op::Alloc { order, gfp, node }),
            2 => any::<prop::sample::Index>().prop_map(|i| Op::Free(i.index(usize::MAX))),
        ],
        1..120,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 6 } else { 24 }))]

    /// Random allocations and frees through the allocator on a 2-node machine keep every
    /// invariant and never hand out a page twice.
    #[test]
    fn two_nodes_keep_invariants_and_never_double_allocate(ops in ops(), which in 0..PROFILES.len()) {
        let p = &PROFILES[which];
        let mut nodes = Node::build_all(&x86_64_layout(256 << 20, 2).unwrap(), p,
            PcpConfig::Kernel { cpus: 1 }).unwrap();
        setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
        let mut live: BTreeMap<Pfn, u32> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Alloc { order, gfp: g, node } => {
                    let mask = gfp(p, GFPS[g]);
                    if let Ok(a) = alloc_pages(&mut nodes, p, order, mask, OwnerKind::Kernel, node) {
                        let end = a.pfn + (1 << order);
                        if let Some((&q, &o)) = live.range(..end).next_back() {
                            prop_assert!(q + (1 << o) <= a.pfn, "{:#x}+{} overlaps {:#x}+{}", a.pfn, order, q, o);
                        }
                        live.insert(a.pfn, order);
                    }
                }
                Op::Free(i) if !live.is_empty() => {
                    let (&pfn, &order) = live.iter().nth(i % live.len()).unwrap();
                    live.remove(&pfn);
                    free_pages(&mut nodes, pfn, order).unwrap();
                }
                Op::Free(_) => {}
            }
            for n in &nodes {
                if let Err(v) = check(n) {
                    return Err(TestCaseError::fail(format!("{}: {v}", p.name)));
                }
            }
        }
    }
}

/// Two small nodes with per-cpu lists on 2 CPUs and boot watermarks. Node 0 has DMA32 under
/// Normal, so 5.0+ walks start with ALLOC_NOFRAGMENT and stop at node 1 until they retry
/// without it.
fn two_nodes(p: &Profile) -> Vec<Node> {
    let zone = |t, start, pages| ZoneSpec::from_sizes(t, start, pages, pages, pages).unwrap();
    let specs = [
        NodeSpec {
            node: 0,
            zones: vec![
                zone(ZoneType::Dma32, 1 << 12, 4096),
                zone(ZoneType::Normal, START, 8192),
            ],
        },
        NodeSpec {
            node: 1,
            zones: vec![zone(ZoneType::Normal, START + 8192, 8192)],
        },
    ];
    let mut nodes = Node::build_all(&specs, p, PcpConfig::Kernel { cpus: 2 }).unwrap();
    setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
    nodes
}

/// A batch of one repeated order-0 request: `count` allocations with `GFPS[gfp]` from node
/// `node` on `cpu`, after freeing the live pages picked by `frees`.
#[derive(Clone, Debug)]
struct Batch {
    count: usize,
    gfp: usize,
    node: usize,
    cpu: usize,
    frees: Vec<prop::sample::Index>,
}

fn batches() -> impl Strategy<Value = Vec<Batch>> {
    let batch = (
        1usize..25_000,
        0..GFPS.len(),
        0usize..2,
        0usize..2,
        prop::collection::vec(any::<prop::sample::Index>(), 0..3000),
    )
        .prop_map(|(count, gfp, node, cpu, frees)| Batch {
            count,
            gfp,
            node,
            cpu,
            frees,
        });
    prop::collection::vec(batch, 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 4 } else { 16 }))]

    /// A request repeated through `RepeatedRequest` (walks skipped while a per-cpu list serves
    /// without a refill) hands out the same pages, with the same results and counters, as a
    /// full walk for every allocation, on every profile; without the skip's conditions (the
    /// refill check) the lists' state would drift from the walks'.
    #[test]
    fn a_repeated_request_decides_as_fresh_walks(batches in batches(), which in 0..PROFILES.len()) {
        let p = &PROFILES[which];
        let fresh = || two_nodes(p);
        let (mut walked, mut repeated) = (fresh(), fresh());
        let mut live: Vec<Pfn> = Vec::new();
        for b in batches {
            for i in &b.frees {
                if live.is_empty() {
                    break;
                }
                let pfn = live.swap_remove(i.index(live.len()));
                free_pages(&mut walked, pfn, 0).unwrap();
                free_pages(&mut repeated, pfn, 0).unwrap();
            }
            for nodes in [&mut walked, &mut repeated] {
                for z in nodes.iter_mut().flat_map(|n| &mut n.zones) {
                    z.set_cpu(b.cpu);
                }
            }
            let mask = gfp(p, GFPS[b.gfp]);
            let ac = prepare_alloc_pages(&walked, p, 0, mask, b.node);
            let mut repeat = RepeatedRequest::default();
            for _ in 0..b.count {
                let w = alloc_pages_prepared(&mut walked, p, &ac, OwnerKind::Kernel);
                let r = repeat.alloc(&mut repeated, p, &ac, OwnerKind::Kernel);
                prop_assert_eq!(&w, &r);
                match w {
                    Ok(a) => live.push(a.pfn),
                    Err(_) => break,
                }
            }
            prop_assert_eq!(procfs::zoneinfo(&walked, p), procfs::zoneinfo(&repeated, p));
            prop_assert_eq!(procfs::pagetypeinfo(&walked, p), procfs::pagetypeinfo(&repeated, p));
            for (w, r) in walked.iter().zip(&repeated) {
                prop_assert_eq!(w.events(), r.events());
                check(r).map_err(|v| TestCaseError::fail(format!("{}: {v}", p.name)))?;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 4 } else { 24 }))]

    /// `fast_path_serves()`, which answers a probe without allocating, says yes only when an
    /// allocation's fast path serves the request, and for orders the per-cpu lists do not
    /// serve, exactly then: after random allocations of every order and type and random frees,
    /// on every profile, for every order and GFP mask.
    #[test]
    fn the_fast_path_predicate_agrees_with_an_allocation(
        allocs in prop::collection::vec((0u32..11, 0..GFPS.len(), 0usize..2), 1..400),
        frees in prop::collection::vec(any::<prop::sample::Index>(), 0..300),
        which in 0..PROFILES.len(),
    ) {
        let p = &PROFILES[which];
        let mut nodes = two_nodes(p);
        let mut live = Vec::new();
        for (order, g, node) in allocs {
            let mask = gfp(p, GFPS[g]);
            if let Ok(a) = alloc_pages(&mut nodes, p, order.min(p.orders - 1), mask, OwnerKind::Kernel, node) {
                live.push((a.pfn, order.min(p.orders - 1)));
            }
        }
        for i in frees {
            if live.is_empty() {
                break;
            }
            let (pfn, order) = live.swap_remove(i.index(live.len()));
            free_pages(&mut nodes, pfn, order).unwrap();
        }
        for order in 0..p.orders {
            for g in GFPS {
                let ac = prepare_alloc_pages(&nodes, p, order, gfp(p, g), 0);
                let said = fast_path_serves(&nodes, p, &ac);
                let mut copy = nodes.clone();
                let served = alloc_pages_prepared(&mut copy, p, &ac, OwnerKind::Kernel)
                    .is_ok_and(|a| a.path == AllocPath::FastPath);
                let pcp = nodes.iter().flat_map(|n| &n.zones).any(|z| z.pcp_holds(order));
                prop_assert!(!said || served, "{} order {order} {g}: said yes, fast path failed", p.name);
                prop_assert!(pcp || said == served, "{} order {order} {g}: said {said}, served {served}", p.name);
            }
        }
    }
}

/// Pages of the node held by `owner`, from the per-page state.
fn pages_owned(node: &Node, owner: OwnerKind) -> u64 {
    node.zones
        .iter()
        .flat_map(|z| (z.start_pfn..z.end_pfn()).map(move |pfn| z.page_state(pfn)))
        .map(|s| match s {
            PageState::Allocated {
                order, owner: o, ..
            } if o == owner => 1u64 << order,
            _ => 0,
        })
        .sum()
}

/// The incident on a simulated 3.10 node: with 12287 kmem-accounted memcgs the conntrack
/// cache's memcg array is an order-6 `kmalloc_large()` (mode 0x10c0d0). On a node whose free
/// memory is all order-0 (every other page free) the per-order watermark loop refuses it in
/// DMA32 and DMA, at LOW and at MIN, and the netns is not created; a fresh node serves it,
/// and the new cache's slabs land on the node as slab pages.
#[test]
fn conntrack_cache_creation_runs_on_a_simulated_node() {
    let p = profile("3.10").unwrap();
    let t = SlubTunables::with_cpus(8);
    let mut memcg = MemcgKmem::new(p.memcg_rules(), true);
    for _ in 0..12_287 {
        let m = memcg.create();
        memcg.activate_kmem(m, |_| Ok(())).unwrap();
        memcg.charge_kmem(m, 1).unwrap();
    }
    let mut conntrack = Conntrack::new(p.conntrack, p.slab_rules(), t, p.gfp);
    let mut kmalloc = Kmalloc::new(p.slab_rules(), &t).unwrap();
    let specs = x86_64_layout(256 << 20, 1).unwrap();

    let mut frag = Node::build_all(&specs, p, PcpConfig::Off).unwrap();
    for pfn in alloc_all(&mut frag, p)
        .into_iter()
        .filter(|pfn| pfn % 2 == 0)
    {
        free_pages(&mut frag, pfn, 0).unwrap();
    }
    setup_watermarks(&mut frag, p, &Tunables::defaults(p, Thp::Never));
    let mut pa = NodeAllocator::new(&mut frag, p, 0);
    let probe = conntrack.setup_net(&memcg, &mut kmalloc, &mut pa).unwrap();
    assert_eq!(probe.params.unwrap().gfp_mode, 0x10c0d0);
    assert_eq!(
        probe.outcome,
        CacheOutcome::Failed(SlabAllocFailure::NoBlockOfOrder)
    );
    assert_eq!(probe.netns, None);
    let f = pa.last_failure.unwrap();
    assert_eq!((f.order, f.reserve_zone), (6, ZoneType::Dma32));
    for refusals in [&f.fast, &f.min] {
        for zone in [ZoneType::Dma32, ZoneType::Dma] {
            assert!(
                matches!(
                    refusals.get(0, zone),
                    Some(Refusal::Watermark(WatermarkVerdict::BelowMinAtOrder {
                        order: 0,
                        ..
                    }))
                ),
                "{zone}: {f}"
            );
        }
    }
    assert_eq!(pa.last_free_error, None);
    check(&frag[0]).unwrap();

    let mut fresh = Node::build_all(&specs, p, PcpConfig::Kernel { cpus: 1 }).unwrap();
    setup_watermarks(&mut fresh, p, &Tunables::defaults(p, Thp::Never));
    let mut pa = NodeAllocator::new(&mut fresh, p, 0);
    let probe = conntrack.setup_net(&memcg, &mut kmalloc, &mut pa).unwrap();
    assert_eq!(probe.outcome, CacheOutcome::Created);
    let cache = conntrack.cache_mut(probe.netns.unwrap()).unwrap();
    for _ in 0..500 {
        cache.alloc_object(GfpFlags::GFP_KERNEL, &mut pa).unwrap();
    }
    let slab_pages = cache.pages();
    assert!(slab_pages > 0);
    assert_eq!(pa.last_failure, None);
    assert_eq!(pages_owned(&fresh[0], OwnerKind::Slab), slab_pages);
    assert_eq!(pages_owned(&fresh[0], OwnerKind::KmallocLarge), 64);
    check(&fresh[0]).unwrap();
}

/// A 2-node machine after allocations of every migrate type (with fallbacks) and some frees,
/// printed as buddyinfo, pagetypeinfo and zoneinfo and parsed back: the counts equal the
/// model's, for kernels of every zoneinfo layout and both migrate-type orders.
#[test]
fn procfs_text_round_trips_through_the_parsers() {
    for name in ["3.10", "4.4", "4.19", "5.15", "6.18"] {
        let p = profile(name).unwrap();
        let mut nodes = Node::build_all(
            &x86_64_layout(512 << 20, 2).unwrap(),
            p,
            PcpConfig::Kernel { cpus: 2 },
        )
        .unwrap();
        setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
        let mut live = Vec::new();
        for i in 0..3000u32 {
            let mask = gfp(p, GFPS[i as usize % GFPS.len()]);
            if let Ok(a) = alloc_pages(
                &mut nodes,
                p,
                i % 4,
                mask,
                OwnerKind::Kernel,
                (i % 2) as usize,
            ) {
                live.push((a.pfn, i % 4));
            }
        }
        for (pfn, order) in live.iter().step_by(3) {
            free_pages(&mut nodes, *pfn, *order).unwrap();
        }
        let want: Vec<_> = nodes.iter().flat_map(Node::snapshot).collect();
        let buddy = buddysim::capture::parse("buddyinfo", &procfs::buddyinfo(&nodes)).unwrap();
        let types =
            buddysim::capture::parse("pagetypeinfo", &procfs::pagetypeinfo(&nodes, p)).unwrap();
        let info = buddysim::capture::parse("zoneinfo", &procfs::zoneinfo(&nodes, p)).unwrap();
        for c in [&buddy, &types, &info] {
            assert_eq!(c.zones.len(), want.len(), "{name}");
        }
        let mut fallbacks = 0;
        for (i, w) in want.iter().enumerate() {
            let (b, t, z) = (&buddy.zones[i], &types.zones[i], &info.zones[i]);
            assert_eq!((b.node, b.zone), (w.node, w.zone), "{name}");
            assert_eq!(b.free_blocks, w.free_blocks, "{name} {}", w.zone);
            assert_eq!(t.free_by_type, w.free_by_type, "{name} {}", w.zone);
            assert_eq!(t.pageblocks, w.pageblocks, "{name} {}", w.zone);
            assert_eq!(z.free_pages, w.free_pages, "{name} {}", w.zone);
            assert_eq!(
                z.watermarks.map(|m| (m.min, m.low, m.high)),
                w.watermarks.map(|m| (m.min, m.low, m.high)),
                "{name} {}",
                w.zone
            );
            assert_eq!(
                (z.spanned, z.present, z.managed, z.start_pfn),
                (w.spanned, w.present, w.managed, w.start_pfn),
                "{name} {}",
                w.zone
            );
            assert_eq!(z.protection, w.protection, "{name} {}", w.zone);
            assert_eq!(z.protection.as_ref().map(Vec::len), Some(p.zones.len()));
            fallbacks += nodes[w.node as usize]
                .zone(w.zone)
                .unwrap()
                .events
                .extfrag_fallback;
        }
        assert!(fallbacks > 0, "{name}: the workload made no fallback");
    }
}

/// The checker's watermark rules: set-up marks pass on every profile; out-of-order marks, a
/// reserve at the zone's own slot or a decreasing row are violations.
#[test]
fn checker_catches_broken_watermark_arithmetic() {
    for p in PROFILES {
        let mut nodes =
            Node::build_all(&x86_64_layout(4 * GIB, 1).unwrap(), p, PcpConfig::Off).unwrap();
        setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
        check(&nodes[0]).unwrap();
    }
    let p = profile("4.19").unwrap();
    let fresh = || {
        let mut nodes =
            Node::build_all(&x86_64_layout(4 * GIB, 1).unwrap(), p, PcpConfig::Off).unwrap();
        setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Never));
        nodes
    };
    let mut nodes = fresh();
    nodes[0].zones[1].watermarks.low = nodes[0].zones[1].watermarks.min - 1;
    assert!(check(&nodes[0]).unwrap_err().what.contains("out of order"));
    let mut nodes = fresh();
    nodes[0].zones[1].lowmem_reserve[1] = 5;
    assert!(check(&nodes[0])
        .unwrap_err()
        .what
        .contains("lowmem_reserve"));
    let mut nodes = fresh();
    assert!(nodes[0].zones[0].lowmem_reserve[2] > 0);
    nodes[0].zones[0].lowmem_reserve[4] = 0;
    assert!(check(&nodes[0])
        .unwrap_err()
        .what
        .contains("non-decreasing"));
    let mut nodes = fresh();
    nodes[0].zones[0].lowmem_reserve.pop();
    assert!(check(&nodes[0])
        .unwrap_err()
        .what
        .contains("configured zones"));
}

/// `lowmem_reserve[]` is indexed by the kernel's configured zone list, not by zone type: on
/// x86-64 3.10 the array is (DMA, DMA32, Normal, Movable), so Movable is slot 3, and HighMem
/// (not configured) has no slot.
#[test]
fn lowmem_reserve_is_read_by_the_configured_zone_index() {
    use buddysim::mm::mmzone::{x86_64_layout, Node, ZoneType};
    use buddysim::mm::page_alloc::{pcp::PcpConfig, setup};
    let p = buddysim::kernel::profile("3.10").unwrap();
    let mut nodes =
        Node::build_all(&x86_64_layout(16 << 30, 1).unwrap(), p, PcpConfig::Off).unwrap();
    setup::setup_watermarks(
        &mut nodes,
        p,
        &setup::Tunables::defaults(p, setup::Thp::Always),
    );
    let dma = nodes[0].zone(ZoneType::Dma).unwrap();
    assert_eq!(dma.lowmem_reserve.len(), 4);
    assert!(dma.lowmem_reserve[3] > 0);
    assert_eq!(dma.reserve_for(ZoneType::Movable), dma.lowmem_reserve[3]);
    assert_eq!(dma.reserve_for(ZoneType::Normal), dma.lowmem_reserve[2]);
    assert_eq!(dma.reserve_for(ZoneType::HighMem), 0);
}
