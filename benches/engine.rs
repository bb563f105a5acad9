//! Engine throughput on a 16 GiB node (the Normal zone, about 3.3 Mi pages): order-0
//! alloc/free pairs on the zone and through the allocation path (`alloc_pages`/`free_pages`
//! with watermarks), and a mixed trace of orders 0..=10 and all three request types, the
//! latter also through `buddy_system_allocator::FrameAllocator` as a reference. Prints the
//! engine's bytes of state per page. Run briefly:
//! `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3`; with
//! `BUDDYSIM_BENCH_CPU=1` it first prints the same workloads' throughput per CPU-second, which
//! a shared, loaded machine does not distort.

use buddy_system_allocator::FrameAllocator;
#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/order0.rs"]
mod order0;
use buddysim::engine::rng::Streams;
use buddysim::kernel::profile::profile;
use buddysim::kernel::profile::Profile;
use buddysim::mm::mmzone::{x86_64_layout, MigrateType, Node, OwnerKind, Pfn, Zone};
use buddysim::mm::page_alloc::alloc::{alloc_pages, free_pages};
use buddysim::mm::page_alloc::buddy::AllocOpts;
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::setup::{setup_watermarks, Thp, Tunables};
use cpu::cpu_seconds;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use order0::{node_16g, normal, order0_run, order0_setup, PAIRS, RING};
use rand::RngExt;
use std::hint::black_box;

const PCP: [(&str, PcpConfig); 2] = [
    ("pcp off", PcpConfig::Off),
    ("pcp on", PcpConfig::Kernel { cpus: 1 }),
];

fn order0_pairs(c: &mut Criterion) {
    for (name, pcp) in PCP {
        let (mut node, mut ring, idx) = order0_setup(pcp, RING);
        println!(
            "engine state: {:.2} bytes per page ({name})",
            node.state_bytes_per_page()
        );
        let z = normal(&mut node);
        let mut g = c.benchmark_group("order0_alloc_free_pairs");
        g.throughput(Throughput::Elements(PAIRS as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(order0_run(z, &mut ring, &idx)))
        });
        g.finish();
    }
}

/// A 16 GiB node (profile 4.19) with boot watermarks (THP always), 4096 live order-0
/// GFP_HIGHUSER_MOVABLE pages from `alloc_pages`, and random ring indices.
fn alloc_path_setup(pcp: PcpConfig) -> (Vec<Node>, &'static Profile, u64, Vec<Pfn>, Vec<usize>) {
    let p = profile("4.19").expect("profile");
    let specs = x86_64_layout(16 << 30, 1).expect("layout");
    let mut nodes = Node::build_all(&specs, p, pcp).expect("node");
    setup_watermarks(&mut nodes, p, &Tunables::defaults(p, Thp::Always));
    let mask = p.gfp.parse("GFP_HIGHUSER_MOVABLE").expect("gfp");
    let ring = (0..RING)
        .map(|_| {
            alloc_pages(&mut nodes, p, 0, mask, OwnerKind::Anon, 0)
                .expect("memory")
                .pfn
        })
        .collect();
    let mut rng = Streams::new(1).stream("bench alloc path");
    let idx = (0..PAIRS).map(|_| rng.random_range(0..RING)).collect();
    (nodes, p, mask, ring, idx)
}

/// Random order-0 pairs through the allocation path: `alloc_pages` (zonelist, watermark check
/// with lowmem_reserve, rmqueue) and `free_pages` of a random live page.
fn alloc_path_run(
    nodes: &mut [Node],
    p: &Profile,
    mask: u64,
    ring: &mut [Pfn],
    idx: &[usize],
) -> Pfn {
    for &i in idx {
        let a = alloc_pages(nodes, p, 0, mask, OwnerKind::Anon, 0).expect("memory");
        let old = std::mem::replace(&mut ring[i], a.pfn);
        free_pages(nodes, old, 0).expect("live page");
    }
    ring[0]
}

fn alloc_path_pairs(c: &mut Criterion) {
    for (name, pcp) in PCP {
        let (mut nodes, p, mask, mut ring, idx) = alloc_path_setup(pcp);
        let mut g = c.benchmark_group("alloc_pages_order0_pairs");
        g.throughput(Throughput::Elements(PAIRS as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(alloc_path_run(&mut nodes, p, mask, &mut ring, &idx)))
        });
        g.finish();
    }
}

#[derive(Clone, Copy)]
enum Op {
    Alloc {
        slot: u32,
        order: u32,
        mt: MigrateType,
    },
    Free {
        slot: u32,
    },
}

/// Trace sizes: slots (about half of them live at a time, so 8 Ki or 64 Ki live blocks of
/// 26 pages on average: 5 % or 40 % of the zone).
const SLOTS: [usize; 2] = [1 << 14, 1 << 17];
const TRACE: usize = 1 << 20;

/// A trace over `slots` slots: each step picks a slot and frees it if (in the trace's own
/// bookkeeping) it is held, otherwise allocates into it. Orders are mostly small, up to 10;
/// types are MOVABLE 60 %, UNMOVABLE 30 %, RECLAIMABLE 10 %. Ends with every slot freed.
fn trace(slots: usize) -> Vec<Op> {
    let mut rng = Streams::new(7).stream("bench trace");
    let mut held = vec![false; slots];
    let mut ops = Vec::with_capacity(TRACE + slots);
    for _ in 0..TRACE {
        let slot = rng.random_range(0..slots as u32);
        if held[slot as usize] {
            ops.push(Op::Free { slot });
        } else {
            let r: u32 = rng.random_range(0..1000);
            let order = match r {
                0..600 => 0,
                600..750 => 1,
                750..830 => 2,
                830..900 => 3,
                900..930 => 4,
                _ => 5 + (r - 930) / 12,
            };
            let t: u32 = rng.random_range(0..10);
            let mt = match t {
                0..6 => MigrateType::Movable,
                6..9 => MigrateType::Unmovable,
                _ => MigrateType::Reclaimable,
            };
            ops.push(Op::Alloc {
                slot,
                order: order.min(10),
                mt,
            });
        }
        held[slot as usize] = !held[slot as usize];
    }
    ops.extend(
        (0..slots as u32)
            .filter(|&s| held[s as usize])
            .map(|slot| Op::Free { slot }),
    );
    ops
}

fn run_engine(z: &mut Zone, ops: &[Op], table: &mut [(Pfn, u32)]) -> u64 {
    let mut failed = 0;
    for op in ops {
        match *op {
            Op::Alloc { slot, order, mt } => {
                match z.alloc(order, mt, AllocOpts::default(), OwnerKind::Kernel) {
                    Ok(p) => table[slot as usize] = (p, order),
                    Err(_) => failed += 1,
                }
            }
            Op::Free { slot } => {
                let (p, o) = std::mem::replace(&mut table[slot as usize], (Pfn::MAX, 0));
                if p != Pfn::MAX {
                    z.free(p, o).expect("live block");
                }
            }
        }
    }
    failed
}

fn run_reference(a: &mut FrameAllocator<11>, ops: &[Op], table: &mut [(usize, usize)]) -> u64 {
    let mut failed = 0;
    for op in ops {
        match *op {
            Op::Alloc { slot, order, .. } => match a.alloc(1 << order) {
                Some(p) => table[slot as usize] = (p, 1 << order),
                None => failed += 1,
            },
            Op::Free { slot } => {
                let (p, n) = std::mem::replace(&mut table[slot as usize], (usize::MAX, 0));
                if p != usize::MAX {
                    a.dealloc(p, n);
                }
            }
        }
    }
    failed
}

fn mixed_trace(c: &mut Criterion) {
    for slots in SLOTS {
        let ops = trace(slots);
        let mut node = node_16g(PcpConfig::Off);
        let z = normal(&mut node);
        let (start, managed) = (z.start_pfn as usize, z.managed as usize);
        let mut g = c.benchmark_group(format!("mixed_trace_orders_0_10/{}Ki_slots", slots >> 10));
        g.throughput(Throughput::Elements(ops.len() as u64));
        let mut table = vec![(Pfn::MAX, 0); slots];
        g.bench_function("buddysim engine", |b| {
            b.iter(|| black_box(run_engine(z, &ops, &mut table)))
        });
        let mut rtable = vec![(usize::MAX, 0); slots];
        g.bench_function("buddy_system_allocator FrameAllocator", |b| {
            b.iter_batched_ref(
                || {
                    let mut a = FrameAllocator::<11>::new();
                    a.add_frame(start, start + managed);
                    a
                },
                |a| black_box(run_reference(a, &ops, &mut rtable)),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

/// Throughput per CPU-second, which a loaded machine does not distort as it does wall time.
fn per_cpu_second(what: &str, elements: u64, run: impl FnOnce()) {
    let (Some(t0), w0) = (cpu_seconds(), std::time::Instant::now()) else {
        return;
    };
    run();
    if let Some(t1) = cpu_seconds() {
        let wall = w0.elapsed().as_secs_f64();
        println!(
            "{what}: {:.1} M/CPU-s ({:.2} CPU-s, {:.1} M/s wall)",
            elements as f64 / (t1 - t0) / 1e6,
            t1 - t0,
            elements as f64 / wall / 1e6
        );
    }
}

/// With `BUDDYSIM_BENCH_CPU=1`: the same workloads timed by CPU time over a few seconds each.
fn cpu_report() {
    for (name, pcp) in PCP {
        let (mut node, mut ring, idx) = order0_setup(pcp, RING);
        let z = normal(&mut node);
        let rounds = 600;
        per_cpu_second(
            &format!("order-0 pairs, {name}"),
            (rounds * PAIRS) as u64,
            || {
                for _ in 0..rounds {
                    black_box(order0_run(z, &mut ring, &idx));
                }
            },
        );
    }
    for (name, pcp) in PCP {
        let (mut nodes, p, mask, mut ring, idx) = alloc_path_setup(pcp);
        let rounds = 300;
        per_cpu_second(
            &format!("alloc_pages order-0 pairs, {name}"),
            (rounds * PAIRS) as u64,
            || {
                for _ in 0..rounds {
                    black_box(alloc_path_run(&mut nodes, p, mask, &mut ring, &idx));
                }
            },
        );
    }
    for slots in SLOTS {
        let ops = trace(slots);
        let mut node = node_16g(PcpConfig::Off);
        let z = normal(&mut node);
        let (start, managed) = (z.start_pfn as usize, z.managed as usize);
        let mut table = vec![(Pfn::MAX, 0); slots];
        per_cpu_second(
            &format!("mixed trace {}Ki slots, engine", slots >> 10),
            5 * ops.len() as u64,
            || {
                for _ in 0..5 {
                    black_box(run_engine(z, &ops, &mut table));
                }
            },
        );
        let mut rtable = vec![(usize::MAX, 0); slots];
        let name = format!(
            "mixed trace {}Ki slots, buddy_system_allocator",
            slots >> 10
        );
        per_cpu_second(&name, 5 * ops.len() as u64, || {
            for _ in 0..5 {
                let mut a = FrameAllocator::<11>::new();
                a.add_frame(start, start + managed);
                black_box(run_reference(&mut a, &ops, &mut rtable));
            }
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = order0_pairs, alloc_path_pairs, mixed_trace
}

fn main() {
    if std::env::var_os("BUDDYSIM_BENCH_CPU").is_some() {
        cpu_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
