//! Golden tests of the fallback, reserve, boost and per-cpu rules, with numbers worked out by
//! hand from the kernel functions (KERNEL_MM.md 6.5 – 6.10) and the x86-64 layout of the seed
//! report.

use buddysim::kernel::profile::profile;
use buddysim::mm::check::{check, check_zone};
use buddysim::mm::mmzone::{
    x86_64_layout, FreeArea, MigrateType, Node, OwnerKind, Pfn, Zone, ZoneSpec, ZoneType,
};
use buddysim::mm::page_alloc::buddy::{AllocFailure, AllocOpts, BuddyConfig};
use buddysim::mm::page_alloc::pcp::{zone_batchsize, PcpConfig};
use std::collections::BTreeMap;

use MigrateType::{HighAtomic, Movable, Reclaimable, Reserve, Unmovable};

const START: Pfn = 1 << 20;

fn zone(kernel: &str, pages: u64, pcp: PcpConfig) -> Zone {
    let spec = ZoneSpec::from_sizes(ZoneType::Normal, START, pages, pages, pages).unwrap();
    Zone::new(
        0,
        &spec,
        BuddyConfig::from_profile(profile(kernel).unwrap(), pages),
        pcp,
    )
    .unwrap()
}

fn blocks(z: &Zone) -> BTreeMap<MigrateType, u64> {
    z.snapshot()
        .pageblocks
        .unwrap()
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect()
}

fn opts() -> AllocOpts {
    AllocOpts::default()
}

/// Allocates every page of the zone as an order-0 MOVABLE request held by `owner`.
fn fill(z: &mut Zone, owner: OwnerKind) -> Vec<Pfn> {
    let mut v = Vec::new();
    while let Ok(p) = z.alloc(0, Movable, opts(), owner) {
        v.push(p);
    }
    v
}

#[test]
fn default_x86_node_reproduces_the_seed_dma_zone() {
    let specs = x86_64_layout(16 << 30, 1).unwrap();
    let nodes = Node::build_all(&specs, profile("3.10").unwrap(), PcpConfig::Off).unwrap();
    let node = &nodes[0];
    check(node).unwrap();
    let dma = node.zone(ZoneType::Dma).unwrap().snapshot();
    // Seed: `Node 0, zone DMA 1 0 0 1 2 1 1 0 1 1 3`, `present:15992kB managed:15908kB`,
    // `1*4kB (U) … 1*1024kB (U) 1*2048kB (M) 3*4096kB (M)`.
    assert_eq!(dma.free_blocks, Some(vec![1, 0, 0, 1, 2, 1, 1, 0, 1, 1, 3]));
    assert_eq!(
        (dma.spanned, dma.present, dma.managed),
        (Some(4095), Some(3998), Some(3977))
    );
    assert_eq!(dma.free_pages, Some(3977));
    let letters: Vec<String> = dma
        .types_at_order
        .unwrap()
        .iter()
        .map(|ts| ts.iter().map(|t| t.letter()).collect())
        .collect();
    assert_eq!(
        letters,
        ["U", "", "", "U", "U", "U", "U", "", "U", "M", "M"]
    );
    // Pageblock 0 starts below the zone (PFN 0), so memmap_init_zone() never made it MOVABLE.
    assert_eq!(
        blocks(node.zone(ZoneType::Dma).unwrap()),
        BTreeMap::from([(Unmovable, 1), (Movable, 7)])
    );
    let dma32 = node.zone(ZoneType::Dma32).unwrap();
    assert_eq!((dma32.spanned, dma32.present), (1_044_480, 782_303)); // seed: present:3129212kB
    let normal = node.zone(ZoneType::Normal).unwrap();
    // memmap: ⌈(3998 + 782303 + 3407872) × 64 / 4096⌉ = 65534 pages at the top of Normal.
    assert_eq!(
        (normal.present, normal.managed),
        (3_407_872, 3_407_872 - 65_534)
    );
    assert_eq!(normal.free_pages(), normal.managed);
    // A 16-byte slot per page (links, info, the `mapping` word) and 5 bytes per pageblock.
    assert!(
        node.state_bytes_per_page() <= 16.1,
        "{} bytes/page",
        node.state_bytes_per_page()
    );
    println!(
        "engine state: {:.2} bytes per page",
        node.state_bytes_per_page()
    );
}

#[test]
fn small_zones_disable_mobility_grouping() {
    // build_all_zonelists(): fewer than pageblock_nr_pages × MIGRATE_TYPES = 3072 pages.
    assert!(
        zone("3.10", 2048, PcpConfig::Off)
            .config()
            .mobility_disabled
    );
    assert!(
        !zone("3.10", 4096, PcpConfig::Off)
            .config()
            .mobility_disabled
    );
}

#[test]
fn v3_10_order10_fallback_steals_and_retypes_two_pageblocks() {
    let mut z = zone("3.10", 4096, PcpConfig::Off);
    assert_eq!(blocks(&z), BTreeMap::from([(Movable, 8)]));
    // The order-10 blocks were freed lowest first, each at the list head: START+3072 leads.
    let p = z.alloc(0, Unmovable, opts(), OwnerKind::Slab).unwrap();
    assert_eq!(p, START + 3072);
    // move_freepages_block() moved 1024 ≥ 256 pages and change_pageblock_range() retyped both.
    assert_eq!(blocks(&z), BTreeMap::from([(Unmovable, 2), (Movable, 6)]));
    let s = z.snapshot();
    let by_type = s.free_by_type.unwrap();
    assert_eq!(by_type[&Unmovable], vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    assert_eq!(by_type[&Movable], vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    assert_eq!(s.free_pages, Some(4095));
    assert_eq!(
        (
            z.events.extfrag_fallback,
            z.events.extfrag_fragmenting,
            z.events.extfrag_change_ownership
        ),
        (1, 0, 1)
    );
    check_zone(&z).unwrap();
}

/// 256 isolated free order-0 pages (the even PFNs of pageblock 0) on the MOVABLE list.
fn half_free_pageblock(kernel: &str) -> Zone {
    let mut z = zone(kernel, 4096, PcpConfig::Off);
    let pages = fill(&mut z, OwnerKind::Anon);
    assert_eq!(pages.len(), 4096);
    for p in (START..START + 512).step_by(2) {
        z.free(p, 0).unwrap();
    }
    assert_eq!(z.nr_free_of_type(0, Movable), 256);
    z
}

#[test]
fn v3_10_small_unmovable_fallback_does_not_steal_but_reclaimable_does() {
    let base = half_free_pageblock("3.10");

    let mut u = base.clone();
    assert_eq!(
        u.alloc(0, Unmovable, opts(), OwnerKind::Slab),
        Ok(START + 510)
    );
    assert_eq!(blocks(&u), BTreeMap::from([(Movable, 8)]));
    assert_eq!(
        (
            u.nr_free_of_type(0, Movable),
            u.nr_free_of_type(0, Unmovable)
        ),
        (255, 0)
    );
    assert_eq!(
        (
            u.events.extfrag_fragmenting,
            u.events.extfrag_change_ownership
        ),
        (1, 0)
    );

    let mut e = base.clone();
    assert_eq!(
        e.alloc(0, Reclaimable, opts(), OwnerKind::Slab),
        Ok(START + 510)
    );
    // All 256 free pages moved: ≥ half a pageblock, so the pageblock became RECLAIMABLE.
    assert_eq!(blocks(&e), BTreeMap::from([(Movable, 7), (Reclaimable, 1)]));
    assert_eq!(
        (
            e.nr_free_of_type(0, Movable),
            e.nr_free_of_type(0, Reclaimable)
        ),
        (0, 255)
    );
    assert_eq!(e.events.extfrag_change_ownership, 1);

    // 4.4 lets UNMOVABLE steal too (can_steal_fallback()).
    let mut u44 = half_free_pageblock("4.4");
    u44.alloc(0, Unmovable, opts(), OwnerKind::Slab).unwrap();
    assert_eq!(blocks(&u44), BTreeMap::from([(Unmovable, 1), (Movable, 7)]));
    for z in [&u, &e, &u44] {
        check_zone(z).unwrap();
    }
}

#[test]
fn v4_13_counts_alike_pages_and_v4_4_does_not() {
    // One free order-4 block in a MOVABLE pageblock whose other 496 pages are unmovable kernel
    // pages (not on the LRU). An UNMOVABLE request falls back to it and may steal (UNMOVABLE).
    for (kernel, stolen) in [("4.4", false), ("4.19", true)] {
        let mut z = zone(kernel, 4096, PcpConfig::Off);
        fill(&mut z, OwnerKind::Kernel);
        for p in START..START + 16 {
            z.free(p, 0).unwrap();
        }
        assert_eq!(z.alloc(0, Unmovable, opts(), OwnerKind::Slab), Ok(START));
        // 4.4 retypes on free pages only (16 < 256). 4.19 adds the alike pages:
        // 512 − 16 free − 0 movable = 496, and 16 + 496 ≥ 256.
        let expect = if stolen {
            BTreeMap::from([(Unmovable, 1), (Movable, 7)])
        } else {
            BTreeMap::from([(Movable, 8)])
        };
        assert_eq!(blocks(&z), expect, "{kernel}");
        // Either way the block's free pages moved to the UNMOVABLE lists (whole-block steal).
        assert_eq!(
            z.snapshot().free_by_type.unwrap()[&Unmovable][..4],
            [1, 1, 1, 1],
            "{kernel}"
        );
        check_zone(&z).unwrap();
    }
}

#[test]
fn v4_13_movable_request_takes_the_smallest_fallback_block() {
    // Every pageblock UNMOVABLE and full; then one free order-1 block (+0) and one order-3
    // block (+8). A MOVABLE order-0 request cannot steal below order 4: 4.4 splits the largest
    // fallback block, 4.13+ moves the smallest one to the MOVABLE list and splits that.
    for (kernel, expect) in [("4.4", START + 8), ("4.19", START)] {
        let mut z = zone(kernel, 4096, PcpConfig::Off);
        let mut n = 0;
        while z.alloc(0, Unmovable, opts(), OwnerKind::Slab).is_ok() {
            n += 1;
        }
        assert_eq!(
            (n, blocks(&z)),
            (4096, BTreeMap::from([(Unmovable, 8)])),
            "{kernel}"
        );
        for p in (START..START + 2).chain(START + 8..START + 16) {
            z.free(p, 0).unwrap();
        }
        assert_eq!(
            (
                z.nr_free_of_type(1, Unmovable),
                z.nr_free_of_type(3, Unmovable)
            ),
            (1, 1)
        );
        assert_eq!(
            z.alloc(0, Movable, opts(), OwnerKind::Anon),
            Ok(expect),
            "{kernel}"
        );
        assert_eq!(blocks(&z), BTreeMap::from([(Unmovable, 8)]), "{kernel}");
        check_zone(&z).unwrap();
    }
}

#[test]
fn v3_10_migrate_reserve_is_the_last_fallback() {
    let mut z = zone("3.10", 4096, PcpConfig::Off);
    // min 600 pages → min(2, ⌈600/512⌉) = 2 RESERVE pageblocks, the lowest ones.
    z.setup_zone_migrate_reserve(600);
    assert_eq!(blocks(&z), BTreeMap::from([(Movable, 6), (Reserve, 2)]));
    assert_eq!(z.nr_free_of_type(10, Reserve), 1);
    for _ in 0..3 {
        z.alloc(10, Unmovable, opts(), OwnerKind::KmallocLarge)
            .unwrap();
    }
    assert_eq!(
        z.alloc(10, Unmovable, opts(), OwnerKind::KmallocLarge),
        Ok(START)
    );
    assert_eq!(
        z.alloc(10, Unmovable, opts(), OwnerKind::KmallocLarge),
        Err(AllocFailure::NoBlockOfOrder {
            order: 10,
            migratetype: Unmovable
        })
    );
    check_zone(&z).unwrap();
    // A lower min gives one block back.
    let mut z = zone("3.10", 4096, PcpConfig::Off);
    z.setup_zone_migrate_reserve(600);
    z.setup_zone_migrate_reserve(100);
    assert_eq!(blocks(&z), BTreeMap::from([(Movable, 7), (Reserve, 1)]));
    check_zone(&z).unwrap();
}

#[test]
fn highatomic_reserve_and_unreserve() {
    let mut z = zone("4.19", 4096, PcpConfig::Off);
    let harder = AllocOpts {
        harder: true,
        ..opts()
    };
    let p = z.alloc(1, Unmovable, harder, OwnerKind::Kernel).unwrap();
    assert_eq!(p, START + 3072);
    // Limit 4096/100 + 512 = 552 > 0: the pageblock at +3072 becomes HIGHATOMIC with its
    // free pages (the order 1..8 halves); +3584 stays UNMOVABLE with the order-9 half.
    assert_eq!(
        blocks(&z),
        BTreeMap::from([(Unmovable, 1), (Movable, 6), (HighAtomic, 1)])
    );
    assert_eq!(z.nr_reserved_highatomic(), 512);
    let by_type = z.snapshot().free_by_type.unwrap();
    assert_eq!(by_type[&HighAtomic], vec![0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    assert_eq!(by_type[&Unmovable], vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    // The next ALLOC_HARDER order-1 request is served from the reserve.
    assert_eq!(
        z.alloc(1, Unmovable, harder, OwnerKind::Kernel),
        Ok(START + 3074)
    );
    assert_eq!(z.nr_reserved_highatomic(), 512);
    // Not forced: a zone keeps its last reserved pageblock.
    assert!(!z.unreserve_highatomic_pageblock(Unmovable, false));
    assert!(z.unreserve_highatomic_pageblock(Unmovable, true));
    assert_eq!(blocks(&z), BTreeMap::from([(Unmovable, 2), (Movable, 6)]));
    assert_eq!(z.nr_reserved_highatomic(), 0);
    assert_eq!(
        z.snapshot().free_by_type.unwrap()[&Unmovable],
        vec![0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    );
    check_zone(&z).unwrap();
}

#[test]
fn watermark_boost_on_a_5x_steal_only() {
    let setup = |k: &str| {
        let mut z = zone(k, 4096, PcpConfig::Off);
        z.watermarks.high = 1000;
        fill(&mut z, OwnerKind::Anon);
        for p in START..START + 16 {
            z.free(p, 0).unwrap();
        }
        z
    };
    let kswapd = AllocOpts {
        kswapd: true,
        ..opts()
    };
    // 5.15: the order-4 fallback is below pageblock order → boost_watermark():
    // max_boost = mult_frac(1000, 15000, 10000) = 1500, boost = min(0 + 512, 1500) = 512.
    let mut z = setup("5.15");
    z.alloc(0, Unmovable, kswapd, OwnerKind::Slab).unwrap();
    assert_eq!(z.watermarks.boost, 512);
    assert!(z.take_boosted_flag());
    assert!(!z.take_boosted_flag());
    // free 16 + alike 512 − 16 − 496 = 0 < 256: the pageblock stays MOVABLE.
    assert_eq!(blocks(&z), BTreeMap::from([(Movable, 8)]));
    assert_eq!(z.snapshot().watermarks.unwrap().high, 1512);
    for _ in 0..3 {
        let p = z.alloc(0, Movable, opts(), OwnerKind::Anon);
        assert!(p.is_ok());
    }
    // 4.19 has no boost (watermark_boost_factor 0).
    let mut z = setup("4.19");
    z.alloc(0, Unmovable, kswapd, OwnerKind::Slab).unwrap();
    assert_eq!(z.watermarks.boost, 0);
    // 6.18: try_to_claim_block() boosts, cannot claim, and __rmqueue_steal() splits the
    // order-4 block onto the MOVABLE lists (the block's own type).
    let mut z = setup("6.18");
    assert_eq!(z.alloc(0, Unmovable, kswapd, OwnerKind::Slab), Ok(START));
    assert_eq!(z.watermarks.boost, 512);
    assert_eq!(
        z.snapshot().free_by_type.unwrap()[&Movable],
        vec![1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(blocks(&z), BTreeMap::from([(Movable, 8)]));
    check_zone(&z).unwrap();
}

#[test]
fn per_cpu_pages_are_not_free() {
    assert_eq!(zone_batchsize(3_342_338, 128), 31);
    assert_eq!(zone_batchsize(3_342_338, 256), 63); // 4.19+: a 1 MiB cap
    assert_eq!(zone_batchsize(3977, 128), 0); // DMA: batch 1, high 0 in zoneinfo
    let pages = 1 << 17;
    let mut z = zone("3.10", pages, PcpConfig::Kernel { cpus: 1 });
    let fresh = z.snapshot().free_blocks;
    assert_eq!((z.pcp().batch(), z.pcp().high()), (31, 186));
    let p = z.alloc(0, Movable, opts(), OwnerKind::Anon).unwrap();
    assert_eq!((z.free_pages(), z.pcp().count()), (pages - 31, 30));
    z.free(p, 0).unwrap();
    assert_eq!((z.free_pages(), z.pcp().count()), (pages - 31, 31));
    let live: Vec<Pfn> = (0..200)
        .map(|_| z.alloc(0, Movable, opts(), OwnerKind::Anon).unwrap())
        .collect();
    // 31 cached + 6 refills of 31 = 217 taken for 200 handed out.
    assert_eq!(z.pcp().count(), 17);
    for p in live {
        z.free(p, 0).unwrap();
    }
    // Reaching high (186) twice returns a batch of 31 each time.
    assert_eq!(z.pcp().count(), 155);
    assert_eq!(z.free_pages(), pages - 155);
    check_zone(&z).unwrap();
    z.drain_pcp();
    assert_eq!((z.free_pages(), z.snapshot().free_blocks), (pages, fresh));
    check_zone(&z).unwrap();
}

#[test]
fn v6_18_refuses_to_merge_highatomic_with_normal_blocks() {
    // An ALLOC_HIGHATOMIC order-9 request claims an order-10 block (both pageblocks UNMOVABLE),
    // keeps the low half and reserves its pageblock: ALIGN(4096/100, 512) = 512 pages.
    for (kernel, merged) in [("6.18", false), ("4.19", true)] {
        let mut z = zone(kernel, 4096, PcpConfig::Off);
        let harder = AllocOpts {
            harder: true,
            ..opts()
        };
        let p = z
            .alloc(9, Unmovable, harder, OwnerKind::KmallocLarge)
            .unwrap();
        assert_eq!(z.pageblock_migratetype(p), Some(HighAtomic), "{kernel}");
        assert_eq!(
            z.pageblock_migratetype(p + 512),
            Some(Unmovable),
            "{kernel}"
        );
        z.free(p, 9).unwrap();
        // 6.18's __free_one_page(): at pageblock order, HIGHATOMIC and UNMOVABLE do not merge.
        let nr = (z.nr_free(9), z.nr_free(10));
        assert_eq!(nr, if merged { (0, 4) } else { (2, 3) }, "{kernel}");
        check_zone(&z).unwrap();
    }
}

#[test]
fn zones_from_captured_sizes_and_numa_layouts() {
    let mut c = buddysim::capture::ZoneCapture::new(0, ZoneType::Dma32);
    // The seed's DMA32: present:3129212kB managed:2884472kB, start_pfn 4096.
    (c.present, c.managed, c.start_pfn) = (Some(782_303), Some(721_118), Some(4096));
    let spec = ZoneSpec::from_capture(&c).unwrap();
    assert_eq!(
        (spec.spanned, spec.present(), spec.managed()),
        (782_303, 782_303, 721_118)
    );
    let z = Zone::new(
        0,
        &spec,
        BuddyConfig::from_profile(profile("3.10").unwrap(), 721_118),
        PcpConfig::Off,
    )
    .unwrap();
    assert_eq!(z.free_pages(), 721_118);
    check_zone(&z).unwrap();
    c.managed = Some(800_000);
    assert!(ZoneSpec::from_capture(&c)
        .unwrap_err()
        .to_string()
        .contains("managed ≤ present"));

    let nodes = x86_64_layout(64 << 30, 2).unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[1].zones.len(), 1);
    assert_eq!(nodes[1].zones[0].start_pfn, (4 << 18) + (29 << 18)); // after node 0's 29 GiB above 4 GiB
    let total: u64 = nodes
        .iter()
        .flat_map(|n| &n.zones)
        .map(ZoneSpec::present)
        .sum();
    assert_eq!(total, (64 << 18) - 97 - 1 - 33); // the legacy hole, PFN 0 and the e820 tail
    assert!(x86_64_layout(16 << 20, 1).is_err());
}

#[test]
fn isolate_split_and_free_back() {
    use buddysim::mm::mmzone::PageState;
    let mut z = zone("4.19", 4096, PcpConfig::Off);
    // Make pageblock +0 UNMOVABLE with a free order-9 block in it (an order-10 steal), then
    // take the order-9 block out the way compaction's free scanner does.
    let p = z
        .alloc(9, Unmovable, opts(), OwnerKind::KmallocLarge)
        .unwrap();
    assert_eq!(p, START + 3072);
    assert_eq!(
        z.page_state(START + 3584),
        PageState::Free {
            order: 9,
            migratetype: Unmovable
        }
    );
    assert_eq!(z.isolate_free_page(START + 3584, OwnerKind::Anon), Ok(9));
    // Half a pageblock or more: its pageblock becomes MOVABLE again.
    assert_eq!(z.pageblock_migratetype(START + 3584), Some(Movable));
    assert_eq!(z.free_pages(), 4096 - 1024);
    assert!(z.isolate_free_page(START + 3584, OwnerKind::Anon).is_err());
    z.split_page(START + 3584).unwrap();
    assert_eq!(
        z.page_state(START + 3600),
        PageState::Allocated {
            order: 0,
            migratetype: Unmovable,
            owner: OwnerKind::Anon
        }
    );
    z.set_owner(START + 3600, OwnerKind::File).unwrap();
    check_zone(&z).unwrap();
    for q in START + 3584..START + 4096 {
        z.free(q, 0).unwrap();
    }
    z.free(p, 9).unwrap();
    assert_eq!(
        z.snapshot().free_blocks,
        Some(vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4])
    );
    check_zone(&z).unwrap();
}
