//! What sets the RHEL 7 profiles apart from vanilla 3.10, each rule on its own: no
//! MIGRATE_RESERVE blocks from 7.3 (the seed's 3.10.0-514), kswapd's balance check against each
//! zone's own watermark, 16 KiB kernel stacks, the fair zone allocation policy, a user's
//! `vm.min_free_kbytes` kept over THP's recommendation, and compaction's free scanner leaving
//! large free blocks alone.

use buddysim::kernel::profile::{for_release, profile, Profile};
use buddysim::mm::compaction::{compact_zone, CompactControl, CompactPriority, ExtfragThreshold};
use buddysim::mm::mmzone::{
    x86_64_layout, FreeArea, MigrateType, Node, NodeSpec, OwnerKind, PageState, ZoneSpec, ZoneType,
};
use buddysim::mm::page_alloc::alloc::{alloc_pages, free_pages};
use buddysim::mm::page_alloc::alloc_flags::AllocFlags;
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::setup::{setup_watermarks, Thp, Tunables};
use buddysim::mm::procfs;
use buddysim::mm::vmscan::{pgdat_balanced, NodeMm};

/// A fresh 16 GiB node (DMA, DMA32, Normal) with the boot watermarks of THP `madvise`, or of
/// the given `vm.min_free_kbytes`.
fn fresh(p: &'static Profile, min_free_kbytes: Option<u64>) -> Vec<Node> {
    let specs = x86_64_layout(16 << 30, 1).unwrap();
    let mut nodes = Node::build_all(&specs, p, PcpConfig::Kernel { cpus: 4 }).unwrap();
    let t = Tunables {
        min_free_kbytes,
        ..Tunables::defaults(p, Thp::Madvise)
    };
    setup_watermarks(&mut nodes, p, &t);
    nodes
}

/// Reserve pageblocks per zone, from the simulated /proc/pagetypeinfo.
fn reserve_blocks(nodes: &[Node], p: &Profile) -> Vec<(String, u64)> {
    let text = procfs::pagetypeinfo(nodes, p);
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("Number of blocks type"));
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let col = header.iter().position(|&h| h == "Reserve").unwrap() - 4;
    lines
        .filter(|l| l.starts_with("Node"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[3].to_string(), f[4 + col].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_fresh_3_10_0_514_node_has_no_reserve_block_and_vanilla_3_10_has_them() {
    let rhel = for_release("3.10.0-514.el7.x86_64").unwrap();
    assert_eq!(rhel.name, "3.10-rhel7.3");
    let none = reserve_blocks(&fresh(rhel, None), rhel);
    assert_eq!(none.len(), 3);
    assert!(none.iter().all(|(_, n)| *n == 0), "{none:?}");
    // Vanilla 3.10 and RHEL 7.0 – 7.2 set up min(2, roundup(min/pageblock)) per zone: DMA's min
    // of 16 pages makes one block, DMA32's and Normal's two.
    for name in ["3.10", "3.10-rhel7.0"] {
        let p = profile(name).unwrap();
        let with = reserve_blocks(&fresh(p, None), p);
        let want = [("DMA", 1), ("DMA32", 2), ("Normal", 2)].map(|(z, n)| (z.to_string(), n));
        assert_eq!(with, want, "{name}");
    }
}

/// kswapd's pgdat_balanced() on 3.10 and RHEL 7 tests each zone against its own watermark: the
/// 16 MiB DMA zone, which can never meet `high` plus the 15 868 pages it keeps against Normal
/// requests, is balanced when it meets its own `high`. A zone with nothing reclaim could free
/// counts as balanced too.
#[test]
fn kswapd_balances_each_zone_against_its_own_watermark() {
    for name in ["3.10", "3.10-rhel7.3"] {
        let p = profile(name).unwrap();
        let nodes = fresh(p, None);
        let node = &nodes[0];
        let mm = NodeMm::new(p, node, 0);
        let dma = &node.zones[0];
        assert_eq!(dma.zone_type, ZoneType::Dma);
        assert!(
            dma.lowmem_reserve[2] > dma.managed,
            "{name}: {:?}",
            dma.lowmem_reserve
        );
        assert!(pgdat_balanced(p, node, &mm, 0, 2), "{name}");
        assert!(pgdat_balanced(p, node, &mm, 9, 2), "{name}");
    }
    // A zone below high with no LRU page is one reclaim cannot help: balanced all the same.
    let p = profile("3.10-rhel7.3").unwrap();
    let mut nodes = fresh(p, None);
    let gfp = p.gfp.parse("GFP_KERNEL").unwrap();
    for order in [9, 0] {
        while alloc_pages(&mut nodes, p, order, gfp, OwnerKind::Slab, 0).is_ok() {}
    }
    let normal = &nodes[0].zones[2];
    assert!(normal.free_pages() < normal.watermarks.high);
    let mm = NodeMm::new(p, &nodes[0], 0);
    assert!(pgdat_balanced(p, &nodes[0], &mm, 0, 2));
}

/// RHEL 7 (x86-64 THREAD_SIZE_ORDER 2) gives every task a 16 KiB order-2 stack; vanilla 3.10
/// an 8 KiB order-1 one.
#[test]
fn rhel7_kernel_stacks_are_order_2() {
    for (name, order) in [("3.10", 1), ("3.10-rhel7.3", 2), ("3.10-rhel7", 2)] {
        let s = buddysim::scenario::Scenario::parse(
            &format!(
                "name: stacks\nkernel: \"{name}\"\nmachine: {{memory: 4GiB, cpus: 1}}\n\
                 initial: fresh\nworkload:\n  pods:\n    arrivals: {{poisson: 1/h}}\n    \
                 lifetime: {{exponential: 100d}}\n    profile: {{threads: 30, anon: 0B, \
                 page_cache: 0B, page_tables: 0B}}\nduration: 1d\n"
            ),
            "stacks.yaml",
        )
        .unwrap();
        let out = buddysim::workload::run::run(&s, &Default::default(), &mut |_| {}).unwrap();
        let last = out.vmstat.last().unwrap();
        let col = |c: &str| {
            let i = buddysim::workload::run::VMSTAT_COLUMNS
                .iter()
                .position(|&n| n == c)
                .unwrap();
            last.values[i]
        };
        let pods = col("pods_running");
        assert!(pods > 10, "{name}: {pods} pods");
        assert_eq!(col("nr_kernel_stack"), (pods * 30) << order, "{name}");
    }
}

/// The fair zone allocation policy (RHEL 7): the fast path takes each zone's batch of
/// `high − low` pages in turn, so DMA32 gets about its share (749 of 4 220 pages a round on
/// this node) of a stream of page-cache pages while Normal still has plenty; vanilla 3.10 takes
/// them all from Normal. `/proc/zoneinfo` shows each zone's `nr_alloc_batch`.
#[test]
fn the_fair_policy_spreads_allocations_over_the_zones() {
    for (name, fair) in [("3.10", false), ("3.10-rhel7.3", true)] {
        let p = profile(name).unwrap();
        let mut nodes = fresh(p, None);
        let gfp = p.gfp.parse("GFP_HIGHUSER_MOVABLE").unwrap();
        for _ in 0..100_000 {
            alloc_pages(&mut nodes, p, 0, gfp, OwnerKind::File, 0).unwrap();
        }
        let e = nodes[0].events();
        let (dma32, normal) = (e.pgalloc[1], e.pgalloc[2]);
        assert_eq!(dma32 + normal, 100_000, "{name}");
        if fair {
            let share = dma32 as f64 / 100_000.0;
            assert!((0.16..0.19).contains(&share), "{name}: {share}");
            let zi = procfs::zoneinfo(&nodes, p);
            assert_eq!(zi.matches("nr_alloc_batch").count(), 3, "{zi}");
        } else {
            assert_eq!(dma32, 0, "{name}");
            assert!(!procfs::zoneinfo(&nodes, p).contains("nr_alloc_batch"));
        }
    }
}

/// A `vm.min_free_kbytes` the user writes stays, even below THP's recommendation: the model
/// applies it after `set_recommended_min_free_kbytes()` as sysctl does after boot, and never
/// raises it again, so a sweep's value is the value simulated.
#[test]
fn a_user_min_free_kbytes_is_not_raised_to_thps_recommendation() {
    for name in ["3.10", "3.10-rhel7.3", "3.10-rhel7"] {
        let p = profile(name).unwrap();
        let user = fresh(p, Some(16_133));
        let min: u64 = user[0].zones.iter().map(|z| z.watermarks.min).sum();
        assert!(
            (16_133 / 4 - 3..=16_133 / 4).contains(&min),
            "{name}: {min}"
        );
        let thp = fresh(p, None);
        let min: u64 = thp[0].zones.iter().map(|z| z.watermarks.min).sum();
        assert!(
            (67_584 / 4 - 3..=67_584 / 4).contains(&min),
            "{name}: {min}"
        );
    }
}

/// RHEL 7's compaction free scanner (3.11+ `suitable_migration_target()`) does not take a
/// pageblock that starts with a free buddy of pageblock order as migration targets; 3.10's
/// breaks it up. A 64 MiB zone full of page cache, every other page freed below a wholly free
/// pageblock near the top, compacted for order 10.
#[test]
fn rhel7_compaction_leaves_free_pageblocks_whole() {
    for (name, keeps) in [("3.10", false), ("3.10-rhel7.3", true)] {
        let p = profile(name).unwrap();
        let spec = NodeSpec {
            node: 0,
            zones: vec![
                ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 16_384, 16_384, 16_384).unwrap(),
            ],
        };
        let mut nodes = Node::build_all(&[spec], p, PcpConfig::Off).unwrap();
        let t = Tunables {
            min_free_kbytes: Some(256),
            ..Tunables::defaults(p, Thp::Never)
        };
        setup_watermarks(&mut nodes, p, &t);
        let gfp = p.gfp.parse("GFP_HIGHUSER_MOVABLE").unwrap();
        let mut pages = Vec::new();
        while let Ok(a) = alloc_pages(&mut nodes, p, 0, gfp, OwnerKind::File, 0) {
            pages.push(a.pfn);
        }
        let top = (nodes[0].zones[0].end_pfn() - 2048) & !511;
        for &pfn in &pages {
            if (top..top + 512).contains(&pfn) || (pfn % 2 == 1 && pfn < top) {
                free_pages(&mut nodes, pfn, 0).unwrap();
            }
        }
        let zone = &mut nodes[0].zones[0];
        assert!(matches!(
            zone.page_state(top),
            PageState::Free { order: 9, .. }
        ));
        let mut mm = NodeMm::new(p, &nodes[0], 0);
        let t = ExtfragThreshold::new(500);
        let cc = CompactControl::direct(
            p.compaction,
            10,
            MigrateType::Unmovable,
            CompactPriority::SyncLight,
            AllocFlags::WMARK_MIN,
            0,
            &t,
        );
        let zone = &mut nodes[0].zones[0];
        compact_zone(p, zone, &mut mm.lru[0], &mut mm.compact[0], cc);
        let used = (top..top + 512)
            .filter(|&pfn| matches!(zone.page_state(pfn), PageState::Allocated { .. }))
            .count();
        assert_eq!(
            used == 0,
            keeps,
            "{name}: {used} pages of the free pageblock used"
        );
    }
}
