//! A simulated day of pod churn on the seed's 16 GiB node (scenarios/seed-rhel7-node.yaml with
//! `duration: 1d`, summary only, as a sweep runs it). One iteration is a whole day, so run it
//! briefly: `cargo bench --bench run -- --warm-up-time 1 --measurement-time 20`.
//!
//! First it prints the day against its floor, in one process: the page operations the day
//! performs (pages allocated and freed, `pgalloc_*` + `pgfree` of its last vmstat sample; a
//! reclaimed page is a freed one), the bare engine's order-0 alloc+free pairs per CPU-second,
//! the floor (the day's operations as pairs at that rate) and the day's CPU time over it; the
//! engine both cache-hot (4 Ki live pages) and cache-cold (3 Mi live pages, as on the node).

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/order0.rs"]
mod order0;

use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::scenario::{apply_override, Scenario};
use buddysim::workload::run::{run, simulate, RunOptions, VMSTAT_COLUMNS};
use criterion::{criterion_group, Criterion};
use std::hint::black_box;
use std::path::Path;

/// Live pages of the cache-cold engine: most of the Normal zone (3.34 Mi managed pages), as on
/// a node whose memory is in use, so a random free touches a random page of 16 GiB.
const RING_FULL: usize = 3 << 20;

fn seed_day() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed-rhel7-node.yaml");
    let mut s = Scenario::load(&path).expect("the seed scenario loads");
    apply_override(&mut s, "duration=1d").expect("override");
    s
}

/// Prints the day's page operations, the engine's pairs per CPU-second, the floor and the
/// day's CPU time over the floor.
fn floor_report(s: &Scenario) {
    let out = run(s, &RunOptions::default(), &mut |_| {}).expect("runs");
    let last = out.vmstat.last().expect("a run samples its end");
    let ops: u64 = VMSTAT_COLUMNS
        .iter()
        .zip(last.values)
        .filter(|(name, _)| name.starts_with("pgalloc_") || **name == "pgfree")
        .map(|(_, v)| v)
        .sum();
    let Some(t0) = cpu::cpu_seconds() else {
        println!("day/floor: cannot tell: no /proc/thread-self/stat for CPU time");
        return;
    };
    black_box(simulate(s, &RunOptions::default(), &mut |_| {}).expect("runs"));
    let t1 = cpu::cpu_seconds().expect("read before");
    let day = t1 - t0;
    println!(
        "day: {:.1} M page operations ({:.1} M pairs) in {day:.2} CPU-s",
        ops as f64 / 1e6,
        ops as f64 / 2e6
    );
    for (what, live) in [
        ("hot (4 Ki live pages)", order0::RING),
        ("cold (3 Mi live pages)", RING_FULL),
    ] {
        let (mut node, mut ring, idx) = order0::order0_setup(PcpConfig::Off, live);
        let z = order0::normal(&mut node);
        let rounds = 300;
        let t2 = cpu::cpu_seconds().expect("read before");
        for _ in 0..rounds {
            black_box(order0::order0_run(z, &mut ring, &idx));
        }
        let t3 = cpu::cpu_seconds().expect("read before");
        let pairs_per_s = (rounds * order0::PAIRS) as f64 / (t3 - t2);
        let floor = ops as f64 / 2.0 / pairs_per_s;
        println!(
            "floor, engine {what}: {:.1} M pairs/CPU-s, {floor:.2} CPU-s; day/floor {:.2}",
            pairs_per_s / 1e6,
            day / floor
        );
    }
}

fn bench(c: &mut Criterion) {
    let s = seed_day();
    floor_report(&s);
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.bench_function("seed-rhel7-node, 1 simulated day", |b| {
        b.iter(|| simulate(&s, &RunOptions::default(), &mut |_| {}).expect("runs"))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
