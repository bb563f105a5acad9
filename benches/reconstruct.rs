//! Snapshot reconstruction of a 16 GiB node: the seed's failing-node report (CentOS 7, 3.10,
//! about 4.2 Mi pages, 60 000 free blocks, used pages split from Mem-Info) rebuilt into a page
//! layout. Needs ../shared/captures (skipped with a note without it). Run briefly:
//! `cargo bench --bench reconstruct -- --warm-up-time 1 --measurement-time 5`.

use buddysim::capture;
use buddysim::kernel::profile::profile;
use buddysim::scenario::reconstruct::{reconstruct, Options};
use criterion::{criterion_group, Criterion};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/captures/B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt");
    let Ok(text) = std::fs::read_to_string(&file) else {
        eprintln!("note: {} is missing; benchmark skipped", file.display());
        return;
    };
    let cap = capture::parse("seed", &text).expect("the seed report parses");
    let opts = Options::new(profile("3.10").expect("profile"));
    let mut g = c.benchmark_group("reconstruct");
    g.sample_size(10);
    g.bench_function("seed failing node, 16 GiB", |b| {
        b.iter(|| reconstruct(black_box(&cap), 1, &opts).expect("reconstructs"))
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
