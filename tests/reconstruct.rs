//! Snapshot reconstruction (`scenario::reconstruct`): real captures rebuilt into page layouts
//! whose own buddyinfo and pagetypeinfo text reads back to the capture's counts.

mod common;

use buddysim::capture::{self, buddyinfo, pagetypeinfo, Capture, ZoneCapture};
use buddysim::kernel::profile::{for_release, profile, Profile};
use buddysim::mm::check;
use buddysim::mm::mmzone::{x86_64_layout, MigrateType, Node, PageState};
use buddysim::scenario::reconstruct::{reconstruct, Options, Reconstruction};
use std::path::{Path, PathBuf};

fn load(paths: &[PathBuf]) -> Capture {
    let mut c: Option<Capture> = None;
    for p in paths {
        let text = std::fs::read_to_string(p).unwrap();
        let one = capture::parse(&p.display().to_string(), &text).unwrap();
        match &mut c {
            Some(c) => c.merge(one).unwrap(),
            None => c = Some(one),
        }
    }
    c.unwrap()
}

fn snapshot(nodes: &[Node]) -> Vec<ZoneCapture> {
    nodes.iter().flat_map(Node::snapshot).collect()
}

/// Writes the model's buddyinfo and pagetypeinfo and reads them back.
fn read_back(nodes: &[Node], p: &Profile) -> Capture {
    let snap = snapshot(nodes);
    let mut back = capture::parse("model/buddyinfo", &buddyinfo::write(&snap)).unwrap();
    let pti = pagetypeinfo::write(p.pageblock_order, p.migrate_types, &snap);
    back.merge(capture::parse("model/pagetypeinfo", &pti).unwrap())
        .unwrap();
    back
}

/// The model's text gives the capture's free blocks per order, per type and its pageblock
/// counts, zone by zone.
fn assert_round_trip(cap: &Capture, r: &Reconstruction, p: &Profile) {
    let back = read_back(&r.nodes, p);
    let mut compared = 0;
    for z in &cap.zones {
        let Some(free) = &z.free_blocks else { continue };
        if free.iter().all(|&n| n == 0) && z.managed == Some(0) {
            continue;
        }
        let m = back.zone(z.node, z.zone).expect("zone reconstructed");
        let mut want = free.clone();
        want.resize(p.orders as usize, 0);
        assert_eq!(m.free_blocks.as_ref(), Some(&want), "{} {}", z.node, z.zone);
        let mft = m.free_by_type.as_ref().unwrap();
        if let Some(ft) = &z.free_by_type {
            // Orders where the capture's own files agree (buddyinfo and pagetypeinfo are read
            // a moment apart) must match per type exactly.
            for (o, &n) in want.iter().enumerate() {
                let sum: u64 = ft.values().map(|c| c.get(o).copied().unwrap_or(0)).sum();
                if sum != n {
                    continue;
                }
                for (t, counts) in mft {
                    let c = ft.get(t).map_or(0, |c| c.get(o).copied().unwrap_or(0));
                    assert_eq!(counts[o], c, "{} {} {t} order {o}", z.node, z.zone);
                }
            }
        }
        if let Some(pb) = &z.pageblocks {
            let mpb = m.pageblocks.as_ref().unwrap();
            for (t, n) in mpb {
                assert_eq!(
                    n,
                    pb.get(t).unwrap_or(&0),
                    "{} {} blocks {t}",
                    z.node,
                    z.zone
                );
            }
        }
        if let Some(letters) = &z.types_at_order {
            let model: Vec<Vec<MigrateType>> = (0..want.len())
                .map(|o| {
                    p.migrate_types
                        .iter()
                        .copied()
                        .filter(|t| mft.get(t).is_some_and(|c| c[o] > 0))
                        .collect()
                })
                .collect();
            assert_eq!(&model, letters, "{} {} letters", z.node, z.zone);
        }
        compared += 1;
    }
    assert!(compared > 0);
}

/// `check::check` and, explicitly, no two free buddies of the same order.
fn assert_consistent(r: &Reconstruction) {
    for n in &r.nodes {
        check::check(n).unwrap();
        for z in &n.zones {
            let orders = z.config().orders;
            for pfn in z.start_pfn..z.end_pfn() {
                if let PageState::Free { order, .. } = z.page_state(pfn) {
                    if order + 1 < orders {
                        let buddy = pfn ^ (1 << order);
                        assert!(
                            !matches!(z.page_state(buddy), PageState::Free { order: b, .. } if b == order),
                            "free buddies at {pfn:#x} order {order}"
                        );
                    }
                }
            }
        }
    }
}

/// FNV-1a over every page's state: a fingerprint of the layout.
fn layout_hash(nodes: &[Node]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for n in nodes {
        for z in &n.zones {
            for pfn in z.start_pfn..z.end_pfn() {
                for b in format!("{:?}", z.page_state(pfn)).bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
    }
    h
}

#[test]
fn seed_failing_node_report_round_trips() {
    let Some(dir) = common::captures_dir() else {
        return;
    };
    let cap = load(&[dir.join("B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt")]);
    let p = for_release(cap.kernel_release.as_deref().unwrap()).unwrap();
    assert_eq!(p.name, "3.10-rhel7.3");
    let r = reconstruct(&cap, 7, &Options::new(p)).unwrap();
    assert_round_trip(&cap, &r, p);
    assert_consistent(&r);
    // Sizes from the report: Normal managed 13367020 kB, present 13631488 kB.
    let normal = &r.nodes[0].zones[2];
    assert_eq!((normal.present, normal.managed), (3_407_872, 3_341_755));
    assert_eq!(normal.start_pfn, 1 << 20);
    // The report's Mem-Info splits used pages: slab dominates Normal.
    let mut slab = 0;
    for pfn in normal.start_pfn..normal.end_pfn() {
        if let PageState::Allocated { owner, .. } = normal.page_state(pfn) {
            slab += u64::from(owner == buddysim::mm::mmzone::OwnerKind::Slab);
        }
    }
    // slab_reclaimable 6416164 kB + slab_unreclaimable 5682152 kB in Normal's zone line.
    assert_eq!(slab, (6_416_164 + 5_682_152) / 4);
    assert!(
        r.notes.iter().any(|n| n.contains("x86-64 layout")),
        "{:?}",
        r.notes
    );
}

#[test]
fn centos9_buddyinfo_pagetypeinfo_zoneinfo_round_trip() {
    let Some(dir) = common::captures_dir() else {
        return;
    };
    let cap = load(&[
        dir.join("A/centos9_5.14_buddyinfo.txt"),
        dir.join("C/centos9_5.14_pagetypeinfo.txt"),
        dir.join("C/centos9_5.14_zoneinfo.txt"),
    ]);
    let p = for_release("5.14.0-325.el9.x86_64").unwrap();
    let r = reconstruct(&cap, 1, &Options::new(p)).unwrap();
    assert_round_trip(&cap, &r, p);
    assert_consistent(&r);
    let dma32 = &r.nodes[0].zones[1];
    assert_eq!(
        (dma32.start_pfn, dma32.spanned, dma32.present, dma32.managed),
        (4096, 258_008, 258_008, 193_648)
    );
}

fn kernel_results() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel/results");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("00-boot"))
        .filter(|p| p.join("pagetypeinfo").is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn real_6_1_boot_snapshots_round_trip() {
    let p = profile("6.1").unwrap();
    let runs = kernel_results();
    assert!(runs.len() >= 6);
    for boot in runs.iter().step_by(3) {
        let cap = load(&[
            boot.join("buddyinfo"),
            boot.join("pagetypeinfo"),
            boot.join("zoneinfo"),
        ]);
        let r = reconstruct(&cap, 3, &Options::new(p))
            .unwrap_or_else(|e| panic!("{}: {e}", boot.display()));
        assert_round_trip(&cap, &r, p);
        assert_consistent(&r);
        // These boots' buddyinfo and pagetypeinfo differ by a block or two (read a moment
        // apart): said in a note. From pagetypeinfo alone every count is exact.
        assert!(
            r.notes.iter().any(|n| n.contains("a moment apart")),
            "{:?}",
            r.notes
        );
        let cap = load(&[boot.join("pagetypeinfo"), boot.join("zoneinfo")]);
        let r = reconstruct(&cap, 3, &Options::new(p)).unwrap();
        assert_round_trip(&cap, &r, p);
        assert_consistent(&r);
        let back = read_back(&r.nodes, p);
        for z in &cap.zones {
            if let Some(ft) = &z.free_by_type {
                let m = back
                    .zone(z.node, z.zone)
                    .unwrap()
                    .free_by_type
                    .clone()
                    .unwrap();
                for (t, counts) in &m {
                    let zero = vec![0; counts.len()];
                    assert_eq!(counts, ft.get(t).unwrap_or(&zero), "{} {t}", boot.display());
                }
            }
        }
    }
}

#[test]
fn same_seed_same_layout_other_seed_other_layout() {
    let p = profile("6.1").unwrap();
    let boot = &kernel_results()[0];
    let cap = load(&[
        boot.join("buddyinfo"),
        boot.join("pagetypeinfo"),
        boot.join("zoneinfo"),
    ]);
    let a = reconstruct(&cap, 11, &Options::new(p)).unwrap();
    let b = reconstruct(&cap, 11, &Options::new(p)).unwrap();
    let c = reconstruct(&cap, 12, &Options::new(p)).unwrap();
    assert_eq!(snapshot(&a.nodes), snapshot(&b.nodes));
    assert_eq!(layout_hash(&a.nodes), layout_hash(&b.nodes));
    assert_eq!(a.notes, b.notes);
    assert_eq!(snapshot(&a.nodes), snapshot(&c.nodes), "same counts");
    assert_ne!(layout_hash(&a.nodes), layout_hash(&c.nodes));
}

#[test]
fn plain_buddyinfo_with_a_machine_description() {
    let p = profile("3.10").unwrap();
    let text = "Node 0, zone      DMA      1      0      0      1      2      1      1      0      1      1      3 \n\
                Node 0, zone    DMA32  19160   6346     35      7      0      0      0      0      0      0      0 \n\
                Node 0, zone   Normal  34178  20118    412    115     46      6      0      0      0      0      0 \n";
    let cap = capture::parse("buddyinfo", text).unwrap();
    let machine = x86_64_layout(16 << 30, 1).unwrap();
    let mut opts = Options::new(p);
    opts.machine = Some(&machine);
    let r = reconstruct(&cap, 5, &opts).unwrap();
    assert_round_trip(&cap, &r, p);
    assert_consistent(&r);
    assert_eq!(r.nodes[0].zones[0].managed, machine[0].zones[0].managed());
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("owners follow the pageblock types")),
        "{:?}",
        r.notes
    );
}

#[test]
fn impossible_captures_give_clear_errors() {
    let p = profile("6.1").unwrap();
    let err = |text: &str| {
        let mut cap = Capture::default();
        for (i, part) in text.split("---\n").enumerate() {
            cap.merge(capture::parse(&format!("f{i}"), part).unwrap())
                .unwrap();
        }
        reconstruct(&cap, 0, &Options::new(p))
            .unwrap_err()
            .to_string()
    };
    let zoneinfo = |managed: u64| {
        format!(
            "Node 0, zone      DMA\n  pages free     3808\n        min      14\n        low      17\n        high     20\n        spanned  4095\n        present  3998\n        managed  {managed}\n  start_pfn:           1\n"
        )
    };
    let buddy = "Node 0, zone      DMA      0      0      0      0      0      1      1      1      0      1      3 \n";
    assert_eq!(
        err(&format!("{buddy}---\n{}", zoneinfo(3000))),
        "node 0 zone DMA: the free blocks hold 3808 pages, more than the zone's 3000 managed pages"
    );
    assert_eq!(
        err(buddy),
        "node 0 zone DMA: no zone sizes: the capture has no zoneinfo or failure report giving \
         present and managed pages, and no machine description was given"
    );
    let pti = "Page block order: 9\nPages per block:  512\n\n\
        Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n\
        Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      1      1      1      0      0      0 \n\
        Node    0, zone      DMA, type      Movable      0      0      0      0      0      0      0      0      0      1      3 \n\n\
        Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n\
        Node 0, zone      DMA            2            7            0            0            0 \n";
    assert_eq!(
        err(&format!("{pti}---\n{}", zoneinfo(3840))),
        "node 0 zone DMA: pagetypeinfo counts 9 pageblocks, but the zone has only 8 (PFN \
         0x1..0x1000 with its holes, 512 pages a pageblock)"
    );
    // Three order-10 blocks cannot fit in a 16 MiB DMA zone whose hole sits at the top.
    let z = "Node 0, zone      DMA\n  pages free     3808\n        min      14\n        low      17\n        high     20\n        spanned  4095\n        present  3998\n        managed  3840\n  start_pfn:           1\n";
    let top_hole = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      0      0      4 \n";
    assert_eq!(
        err(&format!("{top_hole}---\n{z}")),
        "node 0 zone DMA: the free blocks hold 4096 pages, more than the zone's 3840 managed pages"
    );
    let three = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      0      0      3 \n";
    let mut cap = capture::parse("b", three).unwrap();
    cap.merge(
        capture::parse(
            "z",
            &z.replace("start_pfn:           1", "start_pfn:           1025"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        reconstruct(&cap, 0, &Options::new(p))
            .unwrap_err()
            .to_string(),
        "node 0 zone DMA: 3 free blocks of order 10 do not fit: only 2 places keep every free \
         block apart from its buddy"
    );
}

#[test]
fn free_blocks_sit_in_pageblocks_of_their_type_and_the_engine_runs_on() {
    use buddysim::mm::mmzone::OwnerKind;
    use buddysim::mm::page_alloc::buddy::AllocOpts;
    let p = profile("6.1").unwrap();
    let boot = &kernel_results()[0];
    let cap = load(&[boot.join("pagetypeinfo"), boot.join("zoneinfo")]);
    let mut r = reconstruct(&cap, 9, &Options::new(p)).unwrap();
    for z in &r.nodes[0].zones {
        let mut own = 0;
        for pfn in z.start_pfn..z.end_pfn() {
            if let PageState::Free { migratetype, .. } = z.page_state(pfn) {
                assert_eq!(z.pageblock_migratetype(pfn), Some(migratetype), "{pfn:#x}");
                own += 1;
            }
        }
        assert!(own > 0);
    }
    // Reserved pages are present − managed; every other page of the span is accounted for.
    let dma32 = &mut r.nodes[0].zones[1];
    let reserved = (dma32.start_pfn..dma32.end_pfn())
        .filter(|&pfn| dma32.page_state(pfn) == PageState::Reserved)
        .count() as u64;
    assert_eq!(reserved, dma32.present - dma32.managed);
    let mut held = Vec::new();
    for order in [0, 3, 9, 10] {
        let pfn = dma32
            .alloc(
                order,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::Anon,
            )
            .unwrap();
        held.push((pfn, order));
    }
    check::check(&r.nodes[0]).unwrap();
    let dma32 = &mut r.nodes[0].zones[1];
    for (pfn, order) in held {
        dma32.free(pfn, order).unwrap();
    }
    check::check(&r.nodes[0]).unwrap();
}

#[test]
fn set_layout_refuses_free_buddies() {
    use buddysim::mm::mmzone::{NodeSpec, OwnerKind, ZoneSpec, ZoneType};
    use buddysim::mm::page_alloc::pcp::PcpConfig;
    let spec = NodeSpec {
        node: 0,
        zones: vec![ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, 4096, 4096, 4096).unwrap()],
    };
    let mut node = Node::build_all(&[spec], profile("6.1").unwrap(), PcpConfig::Off)
        .unwrap()
        .remove(0);
    let z = &mut node.zones[0];
    let used = |_| (MigrateType::Movable, OwnerKind::Anon);
    let mt = |_| MigrateType::Movable;
    let base = 1u64 << 20;
    let buddies = [
        (base, 3, MigrateType::Movable),
        (base + 8, 3, MigrateType::Movable),
    ];
    assert_eq!(
        z.set_layout(mt, &buddies, used).unwrap_err().to_string(),
        "zone Normal: free order-3 blocks at PFN 0x100000 and its buddy would have merged"
    );
    let apart = [
        (base, 3, MigrateType::Movable),
        (base + 16, 3, MigrateType::Unmovable),
    ];
    z.set_layout(mt, &apart, used).unwrap();
    check::check(&node).unwrap();
    assert_eq!(
        node.zones[0]
            .free_list(3, MigrateType::Unmovable)
            .collect::<Vec<_>>(),
        [base + 16]
    );
}

#[test]
fn two_nodes_from_a_machine_description() {
    let p = profile("4.19").unwrap();
    let text = "Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 \n\
                Node 0, zone    DMA32    500    300    100     50     20     10      5      2      1      0      0 \n\
                Node 0, zone   Normal   9000   4000   1000    300    100     40     10      4      2      1      0 \n\
                Node 1, zone   Normal   7000   3000    800    200     90     30     12      6      3      2    100 \n";
    let cap = capture::parse("buddyinfo", text).unwrap();
    let machine = x86_64_layout(32 << 30, 2).unwrap();
    let mut opts = Options::new(p);
    opts.machine = Some(&machine);
    let r = reconstruct(&cap, 2, &opts).unwrap();
    assert_eq!(r.nodes.iter().map(|n| n.id).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(r.nodes[1].zones[0].start_pfn, machine[1].zones[0].start_pfn);
    assert_round_trip(&cap, &r, p);
    assert_consistent(&r);
}

#[test]
fn other_real_captures_round_trip() {
    let Some(dir) = common::captures_dir() else {
        return;
    };
    for (name, kernel) in [("sosreport_rhel8_4.18", "4.9"), ("ubuntu12_3.2.0", "3.10")] {
        let cap = load(&[
            dir.join(format!("A/{name}_buddyinfo.txt")),
            dir.join(format!("C/{name}_pagetypeinfo.txt")),
            dir.join(format!("C/{name}_zoneinfo.txt")),
        ]);
        let p = profile(kernel).unwrap();
        let r = reconstruct(&cap, 4, &Options::new(p)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_round_trip(&cap, &r, p);
        assert_consistent(&r);
    }
}

/// A capture's zoneinfo `pagesets` size the rebuilt zone's per-cpu lists: the CentOS 9 (5.14)
/// host prints batch 31 / high 10 557 for DMA32, where the formulas give batch 63 for its
/// managed pages; without pagesets, 5.14+ lists take `zone_highsize()` of the captured low
/// watermark.
#[test]
fn captured_pagesets_size_the_per_cpu_lists() {
    use buddysim::mm::mmzone::ZoneType;
    use buddysim::mm::page_alloc::pcp::PcpConfig;
    let Some(dir) = common::captures_dir() else {
        return;
    };
    let files = |names: &[&str]| -> Vec<PathBuf> { names.iter().map(|n| dir.join(n)).collect() };
    let p = profile("5.15").unwrap();
    let opts = Options {
        pcp: PcpConfig::Kernel { cpus: 1 },
        ..Options::new(p)
    };
    let sizes = |cap: &Capture| {
        let r = reconstruct(cap, 1, &opts).unwrap();
        let z = r.nodes[0].zone(ZoneType::Dma32).unwrap();
        check::check_zone(z).unwrap();
        (z.pcp().batch(), z.pcp().high())
    };
    let full = load(&files(&[
        "A/centos9_5.14_buddyinfo.txt",
        "C/centos9_5.14_pagetypeinfo.txt",
        "C/centos9_5.14_zoneinfo.txt",
    ]));
    assert_eq!(sizes(&full), (31, 10557));
    let mut no_sets = full.clone();
    for z in &mut no_sets.zones {
        z.pagesets = None;
    }
    assert_eq!(sizes(&no_sets), (63, 10557));
}
