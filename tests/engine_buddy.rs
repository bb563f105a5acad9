//! The buddy engine against a deliberately simple reference buddy allocator, and its
//! invariants under random alloc/free sequences for every fallback variant.

use buddysim::kernel::profile::{profile, PROFILES};
use buddysim::mm::check::check_zone;
use buddysim::mm::mmzone::{FreeArea, MigrateType, OwnerKind, Pfn, Zone, ZoneSpec, ZoneType};
use buddysim::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
use buddysim::mm::page_alloc::pcp::PcpConfig;
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

/// The reference: a map of free blocks and one queue per order (front = list head), with the
/// kernel's split (upper halves to the head), merge (buddy at `pfn ^ 1 << order`) and
/// placement (tail when the next-higher buddy is free) rules, written the slow obvious way.
struct RefBuddy {
    orders: u32,
    free: BTreeMap<Pfn, u32>,
    lists: Vec<VecDeque<Pfn>>,
}

impl RefBuddy {
    fn new(orders: u32, spec: &ZoneSpec) -> RefBuddy {
        let mut r = RefBuddy {
            orders,
            free: BTreeMap::new(),
            lists: vec![VecDeque::new(); orders as usize],
        };
        let managed: Vec<bool> = (spec.start_pfn..spec.end_pfn())
            .map(|p| {
                !spec
                    .holes
                    .iter()
                    .chain(&spec.reserved)
                    .any(|h| h.contains(&p))
            })
            .collect();
        let mut p = spec.start_pfn;
        while p < spec.end_pfn() {
            if !managed[(p - spec.start_pfn) as usize] {
                p += 1;
                continue;
            }
            let mut end = p;
            while end < spec.end_pfn() && managed[(end - spec.start_pfn) as usize] {
                end += 1;
            }
            while p < end {
                let mut o = p.trailing_zeros().min(orders - 1);
                while p + (1 << o) > end {
                    o -= 1;
                }
                r.free_block(p, o);
                p += 1 << o;
            }
        }
        r
    }

    fn remove(&mut self, pfn: Pfn, order: u32) {
        self.free.remove(&pfn);
        let l = &mut self.lists[order as usize];
        let i = l.iter().position(|&x| x == pfn).expect("listed");
        l.remove(i);
    }

    fn free_block(&mut self, mut pfn: Pfn, mut order: u32) {
        while order < self.orders - 1 {
            let buddy = pfn ^ (1 << order);
            if self.free.get(&buddy) != Some(&order) {
                break;
            }
            self.remove(buddy, order);
            pfn = pfn.min(buddy);
            order += 1;
        }
        let parent = pfn & !(1 << order);
        let tail = order + 2 < self.orders
            && self.free.get(&(parent ^ (1 << (order + 1)))) == Some(&(order + 1));
        self.free.insert(pfn, order);
        if tail {
            self.lists[order as usize].push_back(pfn);
        } else {
            self.lists[order as usize].push_front(pfn);
        }
    }

    fn alloc(&mut self, order: u32) -> Option<Pfn> {
        let o = (order..self.orders).find(|&o| !self.lists[o as usize].is_empty())?;
        let pfn = self.lists[o as usize].pop_front()?;
        self.free.remove(&pfn);
        for h in (order..o).rev() {
            let half = pfn + (1 << h);
            self.free.insert(half, h);
            self.lists[h as usize].push_front(half);
        }
        Some(pfn)
    }
}

/// A zone with an aligned start, a hole, reserved pages and a partial last pageblock.
#[allow(clippy::single_range_in_vec_init)] // one PFN range per list
fn test_spec(start: Pfn) -> ZoneSpec {
    ZoneSpec {
        zone: ZoneType::Normal,
        start_pfn: start,
        spanned: 9000,
        holes: vec![start + 3000..start + 3100],
        reserved: vec![start + 5000..start + 5010, start + 8990..start + 9000],
    }
}

fn zone_for(kernel: &str, spec: &ZoneSpec, pcp: PcpConfig) -> Zone {
    let p = profile(kernel).unwrap();
    Zone::new(0, spec, BuddyConfig::from_profile(p, spec.managed()), pcp).unwrap()
}

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        order: u32,
        mt: usize,
        harder: bool,
    },
    Free(usize),
    /// Only in the multi-type runs.
    Isolate(usize),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        3 => (0u32..=10, 0usize..3, any::<bool>()).prop_map(|(order, mt, harder)| Op::Alloc { order, mt, harder }),
        2 => any::<usize>().prop_map(Op::Free),
    ];
    proptest::collection::vec(op, 1..160)
}

fn ops_with_isolation() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (0u32..=10, 0usize..3, any::<bool>()).prop_map(|(order, mt, harder)| Op::Alloc { order, mt, harder }),
        5 => any::<usize>().prop_map(Op::Free),
        1 => any::<usize>().prop_map(Op::Isolate),
    ];
    proptest::collection::vec(op, 1..160)
}

const TYPES: [MigrateType; 3] = [
    MigrateType::Unmovable,
    MigrateType::Movable,
    MigrateType::Reclaimable,
];
const VARIANTS: [&str; 4] = ["3.10", "4.4", "4.19", "6.18"];

fn assert_same_as_reference(z: &Zone, r: &RefBuddy) {
    for o in 0..r.orders {
        let engine: Vec<Pfn> = z.free_list(o, MigrateType::Movable).collect();
        let reference: Vec<Pfn> = r.lists[o as usize].iter().copied().collect();
        assert_eq!(engine, reference, "free list of order {o}");
        assert_eq!(z.nr_free(o), reference.len() as u64, "nr_free[{o}]");
    }
    let free: u64 = r.free.iter().map(|(_, &o)| 1u64 << o).sum();
    assert_eq!(z.free_pages(), free);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Single-type runs (every request MOVABLE on an all-MOVABLE zone): the engine's free lists
    /// equal the reference's, entry by entry, after every step, for every fallback variant.
    #[test]
    fn engine_matches_reference(ops in ops()) {
        let spec = test_spec(1 << 20);
        for kernel in VARIANTS {
            let mut z = zone_for(kernel, &spec, PcpConfig::Off);
            let mut r = RefBuddy::new(11, &spec);
            assert_same_as_reference(&z, &r);
            let mut live: Vec<(Pfn, u32)> = Vec::new();
            for op in &ops {
                match *op {
                    Op::Alloc { order, .. } => {
                        let got = z.alloc(order, MigrateType::Movable, AllocOpts::default(), OwnerKind::Anon).ok();
                        prop_assert_eq!(got, r.alloc(order));
                        if let Some(p) = got { live.push((p, order)); }
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (p, o) = live.swap_remove(i % live.len());
                        z.free(p, o).unwrap();
                        r.free_block(p, o);
                    }
                    Op::Free(_) | Op::Isolate(_) => {}
                }
                assert_same_as_reference(&z, &r);
                check_zone(&z).map_err(|v| TestCaseError::fail(v.to_string()))?;
            }
        }
    }

    /// Mixed migrate types, ALLOC_HARDER requests, per-cpu lists on and off, unaligned zone
    /// start: every invariant holds after every step, for every profile.
    #[test]
    fn invariants_hold_for_every_profile(ops in ops_with_isolation(), pcp_mode in 0..3u8, unaligned in any::<bool>()) {
        let spec = test_spec(if unaligned { (1 << 20) + 1 } else { 1 << 20 });
        // Off, fixed sizes, or the kernel's (6.7+: high tuned, and decayed every 16 steps).
        let pcp = match pcp_mode {
            0 => PcpConfig::Off,
            1 => PcpConfig::Fixed { cpus: 2, batch: 7, high: 20 },
            _ => PcpConfig::Kernel { cpus: 2 },
        };
        for p in PROFILES {
            let mut z = zone_for(p.name, &spec, pcp);
            z.watermarks.high = 700;
            z.setup_zone_migrate_reserve(300);
            check_zone(&z).map_err(|v| TestCaseError::fail(v.to_string()))?;
            let mut live: Vec<(Pfn, u32)> = Vec::new();
            for (step, op) in ops.iter().enumerate() {
                if step % 16 == 15 {
                    z.decay_pcp_high();
                }
                match *op {
                    Op::Alloc { order, mt, harder } => {
                        let opts = AllocOpts { harder, nofragment: harder && step % 2 == 0, kswapd: true, ..AllocOpts::default() };
                        z.set_cpu(step % 2);
                        if let Ok(pfn) = z.alloc(order, TYPES[mt], opts, OwnerKind::ALL[step % 7]) {
                            live.push((pfn, order));
                        }
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (pfn, o) = live.swap_remove(i % live.len());
                        z.set_cpu(step % 3);
                        z.free(pfn, o).unwrap();
                    }
                    Op::Free(_) => {}
                    Op::Isolate(i) => {
                        // compaction's free scanner: take a free block, split it, hold its pages
                        let mut heads: Vec<(Pfn, u32)> = Vec::new();
                        for o in 0..11u32 {
                            for t in TYPES {
                                heads.extend(z.free_list(o, t).map(|p| (p, o)));
                            }
                        }
                        if let Some(&(pfn, o)) = heads.get(i % heads.len().max(1)) {
                            prop_assert_eq!(z.isolate_free_page(pfn, OwnerKind::Anon), Ok(o));
                            z.split_page(pfn).unwrap();
                            live.extend((pfn..pfn + (1 << o)).map(|q| (q, 0)));
                        }
                    }
                }
                check_zone(&z).map_err(|v| TestCaseError::fail(format!("{} step {step}: {v}", p.name)))?;
            }
            z.drain_pcp();
            check_zone(&z).map_err(|v| TestCaseError::fail(v.to_string()))?;
            prop_assert_eq!(z.pcp().count(), 0);
        }
    }
}

#[test]
fn freeing_everything_restores_the_initial_free_lists() {
    let spec = test_spec(1 << 20);
    for kernel in VARIANTS {
        let mut z = zone_for(kernel, &spec, PcpConfig::Off);
        let before = z.snapshot();
        let mut live = Vec::new();
        for i in 0..2000u32 {
            let mt = TYPES[(i % 3) as usize];
            if let Ok(p) = z.alloc(i % 4, mt, AllocOpts::default(), OwnerKind::Slab) {
                live.push((p, i % 4));
            }
        }
        for (p, o) in live {
            z.free(p, o).unwrap();
        }
        check_zone(&z).unwrap();
        let after = z.snapshot();
        assert_eq!(after.free_blocks, before.free_blocks, "{kernel}");
        assert_eq!(after.free_pages, before.free_pages);
    }
}

#[test]
fn bad_frees_are_errors_not_panics() {
    let spec = test_spec(1 << 20);
    let mut z = zone_for("4.19", &spec, PcpConfig::Off);
    let p = z
        .alloc(
            2,
            MigrateType::Movable,
            AllocOpts::default(),
            OwnerKind::Anon,
        )
        .unwrap();
    assert!(z
        .free(p, 3)
        .unwrap_err()
        .to_string()
        .contains("allocated at order 2"));
    assert!(z
        .free(p + 1, 0)
        .unwrap_err()
        .to_string()
        .contains("not the head"));
    assert!(z
        .free(5, 0)
        .unwrap_err()
        .to_string()
        .contains("outside zone"));
    z.free(p, 2).unwrap();
    assert!(z.free(p, 2).is_err(), "double free");
    let e = z
        .alloc(
            11,
            MigrateType::Movable,
            AllocOpts::default(),
            OwnerKind::Anon,
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "order 11 is above the largest order 10");
}
