//! Property tests: what the writers print parses back to the same data, and no input — random
//! text or a valid file mutated at random — makes a parser panic.

use buddysim::capture::{
    self, buddyinfo, dmesg, pagetypeinfo, zoneinfo, zoneinfo::ZoneinfoLayout, Format, ZoneCapture,
};
use buddysim::kernel::PROFILES;
use buddysim::mm::mmzone::{MigrateType, Watermarks, ZoneType};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const FORMATS: [Format; 10] = [
    Format::BuddyInfo,
    Format::PageTypeInfo,
    Format::ZoneInfo,
    Format::SlabInfo,
    Format::Dmesg,
    Format::NodeExporter,
    Format::ExtfragIndex,
    Format::UnusableIndex,
    Format::MemInfo,
    Format::VmStat,
];

/// Distinct (node, zone) keys, sorted as a capture sorts them.
fn keys() -> impl Strategy<Value = Vec<(u32, ZoneType)>> {
    prop::collection::btree_set(
        (0u32..4, prop::sample::select(ZoneType::ALL.to_vec())),
        1..8,
    )
    .prop_map(|s: BTreeSet<_>| s.into_iter().collect())
}

/// A free count of one order: small enough that 15 orders of them stay within the 2^40 pages
/// the readers accept (`capture::parse` refuses more as corrupt).
const COUNT: std::ops::Range<u64> = 0..1 << 25;
/// A zone size or free counter in pages, up to the 2^40 the readers accept.
const PAGES: std::ops::RangeInclusive<u64> = 0..=1 << 40;

fn buddy_zones() -> impl Strategy<Value = Vec<ZoneCapture>> {
    (keys(), 1usize..15).prop_flat_map(|(keys, orders)| {
        let n = keys.len();
        (
            Just(keys),
            prop::collection::vec(prop::collection::vec(COUNT, orders), n),
        )
            .prop_map(|(keys, counts)| {
                keys.into_iter()
                    .zip(counts)
                    .map(|((node, zone), c)| {
                        let mut z = ZoneCapture::new(node, zone);
                        z.free_blocks = Some(c);
                        z
                    })
                    .collect()
            })
    })
}

fn stat_map(extra: &'static [&'static str]) -> impl Strategy<Value = BTreeMap<String, u64>> {
    let name = prop_oneof![
        "nr_[a-z_]{1,12}".prop_map(String::from),
        prop::sample::select(extra.to_vec()).prop_map(String::from)
    ];
    prop::collection::btree_map(name, any::<u64>(), 0..6)
}

fn zoneinfo_case() -> impl Strategy<Value = (ZoneinfoLayout, Vec<ZoneCapture>)> {
    let layout = prop::sample::select(vec![
        ZoneinfoLayout::V3_10,
        ZoneinfoLayout::V4_19,
        ZoneinfoLayout::V6_18,
    ]);
    (layout, keys())
        .prop_flat_map(|(layout, keys)| {
            let extra: &'static [&'static str] = match layout {
                ZoneinfoLayout::V3_10 => &["scanned"],
                ZoneinfoLayout::V4_19 => &["numa_hit"],
                ZoneinfoLayout::V6_18 => &["cma"],
            };
            let zone = (
                PAGES,
                prop::array::uniform5(any::<u64>()),
                (PAGES, 0u64..3, PAGES, any::<u64>()),
                prop::collection::vec(any::<u64>(), 1..6),
                stat_map(extra),
            );
            let n = keys.len();
            (Just(layout), Just(keys), prop::collection::vec(zone, n))
        })
        .prop_map(|(layout, keys, fields)| {
            let zones = keys
                .into_iter()
                .zip(fields)
                .map(
                    |(
                        (node, zone),
                        (free, w, (spanned, present, managed, start), protection, stats),
                    )| {
                        let mut z = ZoneCapture::new(node, zone);
                        z.free_pages = Some(free);
                        let new = layout == ZoneinfoLayout::V6_18;
                        z.watermarks = Some(Watermarks {
                            min: w[0],
                            low: w[1],
                            high: w[2],
                            promo: if new { w[3] } else { 0 },
                            boost: if new { w[4] } else { 0 },
                        });
                        z.spanned = Some(spanned);
                        // V3_10 prints populated zones only; the others print empty ones short.
                        let present = if layout == ZoneinfoLayout::V3_10 {
                            present + 1
                        } else {
                            present
                        };
                        z.present = Some(present);
                        z.managed = Some(managed);
                        z.protection = Some(protection);
                        if present > 0 {
                            z.start_pfn = Some(start);
                            z.stats = stats;
                        }
                        z
                    },
                )
                .collect();
            (layout, zones)
        })
}

fn pagetype_case() -> impl Strategy<Value = (u32, &'static [MigrateType], Vec<ZoneCapture>)> {
    let types = prop::sample::select(PROFILES.iter().map(|p| p.migrate_types).collect::<Vec<_>>());
    (0u32..12, types, keys(), 1usize..13)
        .prop_flat_map(|(pb, types, keys, orders)| {
            let per_zone = (
                prop::collection::vec(prop::collection::vec(0u64..1_000_000, orders), types.len()),
                prop::collection::vec(0u64..1_000_000, types.len()),
            );
            let n = keys.len();
            (
                Just(pb),
                Just(types),
                Just(keys),
                prop::collection::vec(per_zone, n),
            )
        })
        .prop_map(|(pb, types, keys, data)| {
            let zones = keys
                .into_iter()
                .zip(data)
                .map(|((node, zone), (free, blocks))| {
                    let mut z = ZoneCapture::new(node, zone);
                    z.free_by_type = Some(types.iter().copied().zip(free).collect());
                    z.pageblocks = Some(types.iter().copied().zip(blocks).collect());
                    z
                })
                .collect();
            (pb, types, zones)
        })
}

/// A small report of our own in the 3.10 layout, for mutation.
const REPORT: &str =
    "Nov 12 15:15:41 host kernel: exe: page allocation failure: order:6, mode:0x10c0d0
Nov 12 15:15:41 host kernel: CPU: 1 PID: 7 Comm: exe Not tainted 3.10.0-514.el7.x86_64 #1
Nov 12 15:15:41 host kernel: Mem-Info:
Nov 12 15:15:41 host kernel: active_anon:1 inactive_anon:2#012 free:3 free_pcp:4
Nov 12 15:15:41 host kernel: Node 0 DMA free:15908kB min:64kB low:80kB high:96kB present:15992kB
                             managed:15908kB all_unreclaimable? yes
Nov 12 15:15:41 host kernel: lowmem_reserve[]: 0 2815 15868 15868
Nov 12 15:15:41 host kernel: Node 0 DMA: 1*4kB (U) 0*8kB 1*16kB (M) = 20kB
";

fn mutate(text: &str, edits: &[(usize, u8, String)]) -> String {
    let mut b: Vec<char> = text.chars().collect();
    for (pos, kind, s) in edits {
        if b.is_empty() {
            break;
        }
        let p = pos % b.len();
        match kind % 4 {
            0 => {
                let end = (p + s.len() + 1).min(b.len());
                b.drain(p..end);
            }
            1 => {
                for (k, c) in s.chars().enumerate() {
                    b.insert(p + k, c);
                }
            }
            2 => b.truncate(p),
            _ => {
                let dup: Vec<char> = b[p..].iter().take(80).copied().collect();
                b.splice(p..p, dup);
            }
        }
    }
    b.into_iter().collect()
}

fn parse_all(text: &str) {
    let _ = capture::detect(text);
    let _ = capture::parse("f", text);
    for f in FORMATS {
        let _ = capture::parse_as(f, "f", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn buddyinfo_round_trips(zones in buddy_zones()) {
        let text = buddyinfo::write(&zones);
        prop_assert_eq!(capture::detect(&text), Some(Format::BuddyInfo));
        let c = capture::parse("b", &text).unwrap();
        prop_assert_eq!(c.zones, zones);
    }

    #[test]
    fn pagetypeinfo_round_trips((pb, types, zones) in pagetype_case()) {
        let text = pagetypeinfo::write(pb, types, &zones);
        let c = capture::parse("p", &text).unwrap();
        prop_assert_eq!(c.pageblock_order, Some(pb));
        let expected: Vec<ZoneCapture> = zones
            .into_iter()
            .map(|mut z| {
                let by = z.free_by_type.as_ref().unwrap();
                let n = by.values().next().unwrap().len();
                z.free_blocks = Some((0..n).map(|o| by.values().map(|v| v[o]).sum()).collect());
                z.free_blocks_summed = true;
                z
            })
            .collect();
        prop_assert_eq!(c.zones, expected);
    }

    #[test]
    fn zoneinfo_round_trips((layout, zones) in zoneinfo_case()) {
        let text = zoneinfo::write(&zones, layout);
        prop_assert_eq!(capture::detect(&text), Some(Format::ZoneInfo));
        let c = capture::parse("z", &text).unwrap();
        prop_assert_eq!(c.zones, zones);
    }

    #[test]
    fn free_area_lines_round_trip(zones in buddy_zones()) {
        // Counts small enough that the kB total is exact in the kernel's unsigned long.
        let zones: Vec<ZoneCapture> = zones
            .into_iter()
            .map(|mut z| {
                z.free_blocks = z.free_blocks.map(|b| b.into_iter().map(|n| n >> 8).collect());
                z
            })
            .collect();
        let types = PROFILES[0].migrate_types;
        let text = format!(
            "exe: page allocation failure: order:1, mode:0xd0\n{}",
            dmesg::write_free_areas(types, &zones)
        );
        let c = capture::parse("d", &text).unwrap();
        prop_assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let got: Vec<_> = c.zones.iter().map(|z| (z.node, z.zone, z.free_blocks.clone())).collect();
        let want: Vec<_> = zones.iter().map(|z| (z.node, z.zone, z.free_blocks.clone())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}", lines in prop::collection::vec("(Node [0-9], zone [A-Za-z0-9]{0,7}|  pages free|Mem-Info:|page allocation failure: order:|slabinfo - version: 2.1|node_buddyinfo_blocks\\{)[ -~]{0,60}", 0..12)) {
        parse_all(&text);
        parse_all(&lines.join("\n"));
    }

    #[test]
    fn mutated_valid_files_never_panic(
        zones in buddy_zones(),
        (layout, zi) in zoneinfo_case(),
        (pb, types, pt) in pagetype_case(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), "[ -~\\n]{0,6}"), 1..6),
    ) {
        for text in [
            buddyinfo::write(&zones),
            zoneinfo::write(&zi, layout),
            pagetypeinfo::write(pb, types, &pt),
            REPORT.to_string(),
        ] {
            parse_all(&mutate(&text, &edits));
        }
    }
}

#[test]
fn the_report_fixture_parses() {
    let c = capture::parse("r", REPORT).unwrap();
    assert_eq!(c.zones[0].protection, Some(vec![0, 2815, 15868, 15868]));
    assert_eq!(c.zones[0].managed, Some(3977));
    assert_eq!(c.zones[0].free_blocks, Some(vec![1, 0, 1]));
}
