//! A simulated day of pod churn on the seed's 16 GiB node (scenarios/seed-rhel7-node.yaml with
//! `duration: 1d`, summary only, as a sweep runs it). One iteration is a whole day, so run it
//! briefly: `cargo bench --bench run -- --warm-up-time 1 --measurement-time 20`.

use buddysim::scenario::{apply_override, Scenario};
use buddysim::workload::run::{simulate, RunOptions};
use criterion::{criterion_group, Criterion};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed-rhel7-node.yaml");
    let mut s = Scenario::load(&path).expect("the seed scenario loads");
    apply_override(&mut s, "duration=1d").expect("override");
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.bench_function("seed-rhel7-node, 1 simulated day", |b| {
        b.iter(|| simulate(&s, &RunOptions::default(), &mut |_| {}).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
