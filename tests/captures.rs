//! Every real capture under ../shared/captures parses (the two malformed buddyinfo files are
//! rejected with their line and message), with key numbers checked against the files and the
//! kernel's arithmetic. Skips with a note when the folder is missing.

mod common;

use buddysim::capture::{self, Capture, Format, ZoneCapture};
use buddysim::mm::mmzone::{MigrateType, Watermarks, ZoneType};
use std::path::{Path, PathBuf};

fn shared(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join(sub);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is missing; skipping", p.display());
        None
    }
}

fn read(rel: &str) -> Option<(String, String)> {
    let path = common::captures_dir()?.join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some((rel.to_string(), text))
}

fn parse(rel: &str) -> Option<Capture> {
    let (name, text) = read(rel)?;
    Some(capture::parse(&name, &text).unwrap_or_else(|e| panic!("{e}")))
}

fn zone(c: &Capture, z: ZoneType) -> &ZoneCapture {
    c.zones
        .iter()
        .find(|x| x.node == 0 && x.zone == z)
        .unwrap_or_else(|| panic!("no node 0 zone {z} in {:?}", c.sources))
}

fn blocks(c: &Capture, z: ZoneType) -> Vec<u64> {
    zone(c, z).free_blocks.clone().expect("free blocks")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

#[test]
fn every_capture_parses_and_malformed_ones_are_rejected() {
    let Some(root) = common::captures_dir() else {
        return;
    };
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert!(files.len() >= 40, "only {} files", files.len());
    for path in files {
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let result = capture::parse(&rel, &text);
        if rel.contains("malformed") {
            let e = result.expect_err(&rel);
            let msg = e.to_string();
            if rel.contains("short") {
                assert_eq!(
                    msg,
                    format!("{rel}:1: expected a zone name after `zone`, found end of line")
                );
            } else {
                assert_eq!(
                    msg,
                    format!("{rel}:2: mismatch in number of buddyinfo buckets: previous count 11, new count 12")
                );
            }
            continue;
        }
        let c = result.unwrap_or_else(|e| panic!("{e}"));
        let expected = match rel.chars().next() {
            Some('A') => Format::BuddyInfo,
            Some('B') => Format::Dmesg,
            Some('C') if rel.contains("pagetypeinfo") => Format::PageTypeInfo,
            Some('C') => Format::ZoneInfo,
            Some('D') => Format::ExtfragIndex,
            _ => Format::SlabInfo,
        };
        assert_eq!(capture::detect(&text), Some(expected), "{rel}");
        assert_eq!(c.sources, vec![rel.clone()]);
        assert!(
            !c.zones.is_empty() || !c.slab_caches.is_empty(),
            "{rel} gave nothing"
        );
    }
}

#[test]
fn buddyinfo_numbers() {
    let Some(c) = parse("A/procfs_fixture_buddyinfo.txt") else {
        return;
    };
    // prometheus/procfs buddyinfo_test.go: Normal order0 = 4381, DMA32 order1 = 572.
    assert_eq!(blocks(&c, ZoneType::Normal)[0], 4381);
    assert_eq!(blocks(&c, ZoneType::Dma32)[1], 572);
    let orig = parse("A/procfs_orig2017_valid_buddyinfo.txt").unwrap();
    assert_eq!(orig.zones, c.zones, "trailing spaces change nothing");
    let man = parse("A/manpages_proc5_example_buddyinfo.txt").unwrap();
    assert_eq!(
        blocks(&man, ZoneType::Normal),
        vec![216, 55, 189, 101, 84, 38, 37, 27, 5, 3, 587]
    );
    let tablet = parse("A/android_tablet_3.4.5_buddyinfo.txt").unwrap();
    assert_eq!(blocks(&tablet, ZoneType::HighMem)[10], 6);
    let old = parse("A/embedded_2.6.16_buddyinfo.txt").unwrap();
    assert_eq!(old.zones.len(), 1);
    assert_eq!(
        blocks(&old, ZoneType::Dma),
        vec![8, 7, 5, 3, 4, 5, 2, 1, 1, 1, 4]
    );
    let frag = parse("A/k8s_centos7_fragmented_buddyinfo_lijiaocn_or_SE346208.txt").unwrap();
    assert_eq!(
        blocks(&frag, ZoneType::Normal)[..4],
        [40153, 12774, 302, 17]
    );
}

#[test]
fn seed_and_b_report() {
    let Some((name, text)) = read("B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt")
    else {
        return;
    };
    let b = capture::parse(&name, &text).unwrap();
    let seed_path = shared("seeds").map(|p| p.join("000_f0f90844c0f64700.txt"));
    let seed_text = std::fs::read_to_string(seed_path.expect("seeds beside captures")).unwrap();
    assert_eq!(capture::detect(&seed_text), Some(Format::Dmesg));
    let seed = capture::parse("seed", &seed_text).unwrap();
    for c in [&b, &seed] {
        let f = c.failure.as_ref().unwrap();
        assert_eq!(
            (f.comm.as_str(), f.order, f.mode, f.mode_names.as_deref()),
            ("exe", 6, 0x10c0d0, None)
        );
        assert_eq!(c.kernel_release.as_deref(), Some("3.10.0-514.el7.x86_64"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.node_stats["slab_reclaimable"], 1935137);
        assert_eq!(c.node_stats["free"], 113585);
        assert_eq!(c.node_stats["unevictable"], 103032);
        assert_eq!(c.node_stats["free_cma"], 0);
        assert_eq!(c.zones.len(), 3);
        let dma = zone(c, ZoneType::Dma);
        assert_eq!(dma.free_pages, Some(3977));
        assert_eq!(
            dma.watermarks,
            Some(Watermarks {
                min: 16,
                low: 20,
                high: 24,
                promo: 0,
                boost: 0
            })
        );
        assert_eq!(dma.managed, Some(3977));
        assert_eq!(dma.present, Some(3998));
        assert_eq!(dma.protection, Some(vec![0, 2815, 15868, 15868]));
        assert_eq!(dma.stats["all_unreclaimable"], 1);
        assert_eq!(dma.stats["pages_scanned"], 0);
        assert_eq!(dma.free_blocks, Some(vec![1, 0, 0, 1, 2, 1, 1, 0, 1, 1, 3]));
        let dma32 = zone(c, ZoneType::Dma32);
        assert_eq!(dma32.free_pages, Some(127248 / 4));
        assert_eq!(dma32.watermarks.unwrap().min, 11976 / 4);
        assert_eq!(dma32.protection, Some(vec![0, 0, 13053, 13053]));
        assert_eq!(dma32.stats["slab_reclaimable"], 1324384 / 4);
        assert_eq!(
            dma32.free_blocks,
            Some(vec![19160, 6346, 35, 7, 0, 0, 0, 0, 0, 0, 0])
        );
        let normal = zone(c, ZoneType::Normal);
        assert_eq!(normal.free_pages, Some(311184 / 4));
        assert_eq!(normal.managed, Some(13367020 / 4));
        assert_eq!(normal.stats["isolated(anon)"], 26);
        assert_eq!(normal.protection, Some(vec![0, 0, 0, 0]));
        assert_eq!(
            normal.free_blocks,
            Some(vec![34178, 20118, 412, 115, 46, 6, 0, 0, 0, 0, 0])
        );
        let t = normal.types_at_order.as_ref().unwrap();
        use MigrateType::*;
        assert_eq!(t[0], vec![Unmovable, Reclaimable, Movable]);
        assert_eq!(t[3], vec![Reclaimable, Movable]);
        assert_eq!(t[5], vec![Movable]);
        assert!(t[6].is_empty());
    }
    assert_eq!(b.zones, seed.zones);
    assert_eq!(b.node_stats, seed.node_stats);
}

#[test]
fn zoneinfo_watermarks_and_protection() {
    let Some(c9) = parse("C/centos9_5.14_zoneinfo.txt") else {
        return;
    };
    // 5.14 (RHEL 9): boost and cma lines, five protection entries, empty zones.
    let dma = zone(&c9, ZoneType::Dma);
    assert_eq!(
        dma.watermarks,
        Some(Watermarks {
            min: 190,
            low: 237,
            high: 284,
            promo: 0,
            boost: 0
        })
    );
    assert_eq!(dma.protection, Some(vec![0, 756, 756, 756, 756]));
    assert_eq!(
        (dma.spanned, dma.present, dma.managed),
        (Some(4095), Some(3998), Some(3840))
    );
    assert_eq!(dma.start_pfn, Some(1));
    let dma32 = zone(&c9, ZoneType::Dma32);
    assert_eq!(dma32.watermarks.unwrap().high, 12668);
    assert_eq!(dma32.free_pages, Some(59214));
    assert_eq!(dma32.stats["nr_free_pages"], 59214);
    let dev = zone(&c9, ZoneType::Device);
    assert_eq!((dev.present, dev.start_pfn), (Some(0), None));
    assert_eq!(c9.node_stats["nr_slab_reclaimable"], 11595);
    assert_eq!(c9.zones.len(), 5);

    // 4.18 (RHEL 8): protection before the stats; an unnamed stat line warned about.
    let sos = parse("C/sosreport_rhel8_4.18_zoneinfo.txt").unwrap();
    let n = zone(&sos, ZoneType::Normal);
    assert_eq!(
        n.watermarks,
        Some(Watermarks {
            min: 8684,
            low: 10855,
            high: 13026,
            promo: 0,
            boost: 0
        })
    );
    assert_eq!(
        zone(&sos, ZoneType::Dma).protection,
        Some(vec![0, 3828, 7894, 7894, 7894])
    );
    assert_eq!(sos.warnings.len(), 1);
    assert_eq!(sos.warnings[0].line, 30);

    // 3.2: old layout with stats before protection and no managed line.
    let u = parse("C/ubuntu12_3.2.0_zoneinfo.txt").unwrap();
    let dma32 = zone(&u, ZoneType::Dma32);
    assert_eq!(dma32.watermarks.unwrap().min, 6829);
    assert_eq!(dma32.protection, Some(vec![0, 0, 4756, 4756]));
    assert_eq!(dma32.managed, None);
    assert_eq!(dma32.stats["scanned"], 0);
    assert_eq!(
        zone(&u, ZoneType::Normal).stats["nr_slab_reclaimable"],
        54883
    );
    assert!(u.node_stats.is_empty());

    let zte = parse("C/zte_router_4.1.25_zoneinfo.txt").unwrap();
    let n = zone(&zte, ZoneType::Normal);
    assert_eq!((n.free_pages, n.managed), (Some(388), Some(23603)));
    assert_eq!(
        n.watermarks.unwrap(),
        Watermarks {
            min: 306,
            low: 382,
            high: 459,
            promo: 0,
            boost: 0
        }
    );
    let old = parse("C/embedded_2.6.16_zoneinfo.txt").unwrap();
    assert_eq!(zone(&old, ZoneType::Dma).start_pfn, Some(196608));
    let tablet = parse("C/android_tablet_3.4.5_zoneinfo.txt").unwrap();
    assert_eq!(
        zone(&tablet, ZoneType::HighMem).watermarks.unwrap().min,
        126
    );
}

#[test]
fn pagetypeinfo_types_and_blocks() {
    let Some(x) = parse("C/xilinx_4.4_pagetypeinfo.txt") else {
        return;
    };
    assert_eq!(x.pageblock_order, Some(10));
    let n = zone(&x, ZoneType::Normal);
    assert_eq!(n.pageblocks.as_ref().unwrap()[&MigrateType::Cma], 4);
    assert_eq!(n.free_by_type.as_ref().unwrap()[&MigrateType::Cma][10], 3);
    let t = parse("C/android_tablet_3.4.5_pagetypeinfo.txt").unwrap();
    assert_eq!(
        zone(&t, ZoneType::HighMem).free_by_type.as_ref().unwrap()[&MigrateType::Reserve][0],
        9
    );
    assert_eq!(
        zone(&t, ZoneType::Normal).pageblocks.as_ref().unwrap()[&MigrateType::Reserve],
        1
    );
}

#[test]
fn centos9_buddyinfo_equals_pagetypeinfo_sums_and_merges_cleanly() {
    let Some(mut b) = parse("A/centos9_5.14_buddyinfo.txt") else {
        return;
    };
    let p = parse("C/centos9_5.14_pagetypeinfo.txt").unwrap();
    let z = parse("C/centos9_5.14_zoneinfo.txt").unwrap();
    for zt in [ZoneType::Dma, ZoneType::Dma32] {
        assert_eq!(blocks(&b, zt), blocks(&p, zt), "{zt}");
        assert!(zone(&p, zt).free_blocks_summed);
    }
    b.merge(p).unwrap();
    b.merge(z).unwrap();
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert_eq!(b.sources.len(), 3);
    assert_eq!(b.zones.len(), 5);
    assert_eq!(b.pageblock_order, Some(9));
    let dma32 = zone(&b, ZoneType::Dma32);
    assert!(!dma32.free_blocks_summed);
    assert_eq!(dma32.free_pages, Some(59214));
    assert_eq!(
        dma32.pageblocks.as_ref().unwrap()[&MigrateType::Movable],
        309
    );
    // Pages on the lists equal the zone's NR_FREE_PAGES: the three files are one moment.
    let pages: u64 = blocks(&b, ZoneType::Dma32)
        .iter()
        .enumerate()
        .map(|(o, n)| n << o)
        .sum();
    assert_eq!(pages, 59214);
}

#[test]
fn sosreport_dma32_disagrees_and_merge_warns() {
    let Some(mut b) = parse("A/sosreport_rhel8_4.18_buddyinfo.txt") else {
        return;
    };
    let p = parse("C/sosreport_rhel8_4.18_pagetypeinfo.txt").unwrap();
    let expected = blocks(&b, ZoneType::Dma32);
    // Merge the other way round too: the direct buddyinfo count wins over the pagetypeinfo sum.
    let mut p_first = p.clone();
    p_first.merge(b.clone()).unwrap();
    b.merge(p).unwrap();
    // DMA agrees; DMA32 differs a lot and Normal a little (taken moments apart).
    for c in [&b, &p_first] {
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        let w = &c.warnings[0];
        assert!(
            w.message
                .starts_with("node 0 zone DMA32 free blocks per order"),
            "{w}"
        );
        assert!(
            w.message
                .contains("A/sosreport_rhel8_4.18_buddyinfo.txt says [170, 66,"),
            "{w}"
        );
        assert!(
            w.message
                .contains("C/sosreport_rhel8_4.18_pagetypeinfo.txt says [49, 24,"),
            "{w}"
        );
        assert!(
            c.warnings[1].message.starts_with("node 0 zone Normal "),
            "{:?}",
            c.warnings
        );
        assert_eq!(blocks(c, ZoneType::Dma32), expected);
    }
    assert!(b.warnings[0].message.ends_with("keeping the first"));
    assert!(p_first.warnings[0]
        .message
        .ends_with("a direct count beats the pagetypeinfo sum"));
}

#[test]
fn slabinfo_conntrack_caches() {
    let Some(f) = parse("E/k8s_centos7_3.10.0-514_failing_node_slabinfo_nfconntrack_lijiaocn.txt")
    else {
        return;
    };
    assert_eq!(f.slab_caches.len(), 8);
    assert!(f
        .slab_caches
        .iter()
        .all(|s| s.name.starts_with("nf_conntrack_ffff88")
            && s.objsize == 320
            && s.pagesperslab == 2));
    assert_eq!(f.slab_caches[1].num_objs, 1625);
    let sos = parse("E/sosreport_rhel8_4.18_slabinfo.txt").unwrap();
    let g = sos
        .slab_caches
        .iter()
        .find(|s| s.name == "nf_conntrack")
        .unwrap();
    assert_eq!(
        (
            g.active_objs,
            g.num_objs,
            g.objperslab,
            g.pagesperslab,
            g.num_slabs
        ),
        (878, 900, 12, 1, 75)
    );
    let zte = parse("E/zte_router_4.1.25_slabinfo.txt").unwrap();
    assert!(zte
        .slab_caches
        .iter()
        .any(|s| s.name == "nf_conntrack_1" && s.objsize == 256));
    let procfs = parse("E/procfs_fixture_slabinfo.txt").unwrap();
    assert_eq!(procfs.slab_caches.len(), 300);
    assert!(procfs
        .slab_caches
        .iter()
        .any(|s| s.name == "iwl_cmd_pool:0000:04:00.0"));
}

#[test]
fn extfrag_index_in_thousandths() {
    let Some(d) = parse("D/k8s_centos7_3.10.0-514_extfrag_index_lijiaocn.txt") else {
        return;
    };
    assert_eq!(
        zone(&d, ZoneType::Dma32).extfrag_index,
        Some(vec![
            -1000, -1000, -1000, -1000, -1000, -1000, 970, 985, 993, 997, 999
        ])
    );
    assert_eq!(
        zone(&d, ZoneType::Normal).extfrag_index.as_ref().unwrap()[7],
        990
    );
}

#[test]
fn writers_reproduce_real_files_byte_for_byte() {
    // Files copied with the kernel's trailing spaces intact.
    for rel in [
        "A/centos9_5.14_buddyinfo.txt",
        "A/sosreport_rhel8_4.18_buddyinfo.txt",
        "A/ubuntu12_3.2.0_buddyinfo.txt",
        "A/procfs_orig2017_valid_buddyinfo.txt",
        "A/android_tablet_3.4.5_buddyinfo.txt",
        "A/embedded_2.6.16_buddyinfo.txt",
    ] {
        let Some((name, text)) = read(rel) else {
            return;
        };
        let c = capture::parse(&name, &text).unwrap();
        assert_eq!(capture::buddyinfo::write(&c.zones), text, "{rel}");
    }
    // pagetypeinfo rows come out in the profile's migrate type order, which is the kernel's.
    for (rel, kernel) in [
        ("C/centos9_5.14_pagetypeinfo.txt", "4.4"),
        ("C/xilinx_4.4_pagetypeinfo.txt", "4.4"),
        ("C/zte_router_4.1.25_pagetypeinfo.txt", "3.10"),
    ] {
        let Some((name, text)) = read(rel) else {
            return;
        };
        let c = capture::parse(&name, &text).unwrap();
        let types = buddysim::kernel::profile(kernel).unwrap().migrate_types;
        let order = c.pageblock_order.unwrap();
        assert_eq!(
            capture::pagetypeinfo::write(order, types, &c.zones),
            text,
            "{rel}"
        );
    }
    // The dmesg per-order lines of the incident, with 3.10's letter order.
    let Some((name, text)) = read("B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt")
    else {
        return;
    };
    let c = capture::parse(&name, &text).unwrap();
    let types = buddysim::kernel::profile("3.10").unwrap().migrate_types;
    let lines = capture::dmesg::write_free_areas(types, &c.zones);
    for line in lines.lines() {
        assert!(text.contains(&format!("kernel: {line}\n")), "{line}");
    }
    assert_eq!(lines.lines().count(), 3);
}

#[test]
fn zoneinfo_writer_matches_the_kernels_header_lines() {
    // Everything up to the protection line is printed as 4.18 did; empty zones end there.
    let Some((name, text)) = read("C/sosreport_rhel8_4.18_zoneinfo.txt") else {
        return;
    };
    let c = capture::parse(&name, &text).unwrap();
    for z in &c.zones {
        let out = capture::zoneinfo::write(std::slice::from_ref(z), capture::ZoneinfoLayout::V4_19);
        let head = &out[..out.find(')').unwrap() + 1];
        // The first zone of the node has the per-node stats between its name and `pages free`.
        let fields = &head[head.find("\n  pages free").unwrap()..];
        assert!(text.contains(fields), "{fields}");
        if z.present == Some(0) {
            assert!(text.contains(head), "{head}");
            assert_eq!(out, format!("{head}\n"));
        }
    }
    let empty = capture::zoneinfo::write(&c.zones[3..], capture::ZoneinfoLayout::V4_19);
    assert!(text.ends_with(&empty));
    // 3.2: the stat items come between `present` and the protection line, 4 spaces in.
    let Some((name, text)) = read("C/ubuntu12_3.2.0_zoneinfo.txt") else {
        return;
    };
    let c = capture::parse(&name, &text).unwrap();
    let out = capture::zoneinfo::write(&c.zones[..1], capture::ZoneinfoLayout::V3_10);
    assert!(
        out.starts_with(&text[..text.find("    nr_free_pages").unwrap()]),
        "{out}"
    );
    assert!(out.contains("\n    nr_anon_pages 0\n"));
    // The protection line and the pagesets (8 CPUs) as the kernel printed them.
    let tail = &out[out.find("\n        protection").unwrap()..out.find("\n  start_pfn").unwrap()];
    assert!(
        tail.starts_with("\n        protection: (0, 3237, 7994, 7994)\n  pagesets\n    cpu: 0\n")
    );
    assert_eq!(tail.matches("vm stats threshold: 8").count(), 8);
    assert!(text.contains(tail), "{tail}");
    assert!(out.ends_with("\n  start_pfn:         16\n"));
}

/// Every pageset of every captured zoneinfo: the vmstat threshold is
/// `calculate_normal_threshold()` of the zone's size (managed pages, or present before 3.8) and
/// online CPUs; up to 5.12, `batch` is `zone_batchsize()` with the kernel's cap and `high` six
/// times it, on every zone but one (below).
#[test]
fn pagesets_follow_the_kernels_sizes() {
    use buddysim::mm::page_alloc::pcp::{stat_threshold, zone_batchsize, zone_highsize};
    let Some(dir) = common::captures_dir() else {
        return;
    };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let mut checked = 0;
    for path in files
        .iter()
        .filter(|p| p.to_string_lossy().contains("zoneinfo"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.to_string_lossy();
        let c = capture::parse(&name, &text).unwrap();
        for z in &c.zones {
            let (Some(sets), Some(size)) = (&z.pagesets, z.managed.or(z.present)) else {
                continue;
            };
            // 2.6.16 prints a hot and a cold list per CPU, and no vmstat threshold.
            let cpus = sets.iter().filter(|p| p.list != Some(1)).count() as u32;
            for p in sets {
                match p.stat_threshold {
                    Some(t) => assert_eq!(t, stat_threshold(size, cpus), "{name} {}", z.zone),
                    None => assert!(name.contains("2.6.16"), "{name}"),
                }
            }
            checked += usize::from(sets[0].stat_threshold.is_some());
        }
    }
    assert_eq!(checked, 20);
    if let Some(old) = parse("C/embedded_2.6.16_zoneinfo.txt") {
        let lists: Vec<_> = zone(&old, ZoneType::Dma).pagesets.clone().unwrap();
        let hot_cold: Vec<_> = lists
            .iter()
            .map(|p| (p.cpu, p.list, p.count, p.high, p.batch))
            .collect();
        assert_eq!(hot_cold, [(0, Some(0), 2, 6, 1), (0, Some(1), 0, 2, 1)]);
    }
    // `batch` / `high` of the order-0 shape: 512 KiB cap up to 4.18, 1 MiB from 4.19.
    for (rel, max, zones) in [
        ("C/ubuntu12_3.2.0_zoneinfo.txt", 128, 3),
        ("C/android_tablet_3.4.5_zoneinfo.txt", 128, 2),
        ("C/zte_router_4.1.25_zoneinfo.txt", 128, 1),
        ("C/xilinx_4.4_zoneinfo.txt", 128, 1),
        // The Normal zone of this RHEL 8 host prints batch 7 / high 42, a zone of some 40 000
        // pages, not its 1 042 033 managed: sized before memory was added, as it seems.
        ("C/sosreport_rhel8_4.18_zoneinfo.txt", 128, 2),
        ("C/debian11_5.10_zoneinfo.txt", 256, 2),
    ] {
        let Some(c) = parse(rel) else {
            return;
        };
        let sized: Vec<_> = c
            .zones
            .iter()
            .filter(|z| {
                z.pagesets.is_some() && !(rel.contains("rhel8") && z.zone == ZoneType::Normal)
            })
            .collect();
        assert_eq!(sized.len(), zones, "{rel}");
        for z in sized {
            let b = zone_batchsize(z.managed.or(z.present).unwrap(), max);
            for p in z.pagesets.as_ref().unwrap() {
                assert_eq!(
                    (p.batch, p.high),
                    (u64::from(b.max(1)), 6 * u64::from(b)),
                    "{rel} {}",
                    z.zone
                );
            }
        }
    }
    // 5.14+: `high` is the low watermark split across the node's CPUs, at least 4 × batch
    // (`zone_highsize()`). DMA32 prints batch 31 where its 193 648 managed pages give 63: like
    // the RHEL 8 zone above, sized when the zone was smaller; `high` is checked with the
    // printed batch.
    let Some(c) = parse("C/centos9_5.14_zoneinfo.txt") else {
        return;
    };
    let highs: Vec<_> = c
        .zones
        .iter()
        .filter_map(|z| Some((z.zone, z.watermarks?.low, z.pagesets.as_ref()?)))
        .map(|(zone, low, sets)| {
            let p = &sets[0];
            let want = zone_highsize(low, p.batch as u32, sets.len() as u32);
            (zone, p.high, u64::from(want))
        })
        .collect();
    assert_eq!(
        highs,
        [(ZoneType::Dma, 237, 237), (ZoneType::Dma32, 10557, 10557)]
    );
}

/// Where captures are required (CI) a missing folder fails the test that reads it.
#[test]
fn a_missing_captures_folder_fails_when_required() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-captures");
    assert_eq!(common::existing(&missing, false), None);
    let required = std::panic::catch_unwind(|| common::existing(&missing, true));
    assert!(
        required.is_err(),
        "BUDDYSIM_REQUIRE_CAPTURES=1 must fail a missing folder"
    );
    assert!(common::captures_dir().is_none_or(|d| d.is_dir()));
}
