//! A family of runs that differ only in `vm.extfrag_threshold`, simulated once and forked where
//! a decision sets them apart (`simulate_family`), gives every threshold the summary its own run
//! gives, on every profile family (3.10, RHEL 7, 4.x, 5.x and 6.x).

use buddysim::scenario::Scenario;
use buddysim::workload::run::{simulate, simulate_family, RunOptions};

/// A 1 GiB node loaded past its memory for 6 hours: compaction compares fragmentation indexes
/// with the threshold hundreds of times.
fn tiny(kernel: &str, seed: u64) -> Scenario {
    Scenario::parse(
        &format!(
            "name: tiny\nseed: {seed}\nkernel: \"{kernel}\"\nmachine: {{memory: 1GiB, cpus: 2}}\n\
             workload:\n  pods:\n    arrivals: {{poisson: 52/h}}\n    lifetime: \
             {{exponential: 1h}}\n    profile: {{threads: 10, anon: 20MiB, page_cache: 8MiB}}\n  \
             leaks:\n    zombie_memcg: 0.5\nduration: 6h\n"
        ),
        "tiny.yaml",
    )
    .unwrap()
}

#[test]
fn a_forked_family_gives_each_threshold_its_own_run() {
    let thresholds = [500, 0, 300, 650, 700, 900, 1000];
    let mut forks = 0;
    for kernel in ["3.10", "3.10-rhel7.3", "4.4", "5.15", "6.18"] {
        for seed in [3, 4] {
            let s = tiny(kernel, seed);
            let family =
                simulate_family(&s, &thresholds, &RunOptions::default(), &mut |_| {}).unwrap();
            assert_eq!(family.summaries.len(), thresholds.len());
            for (t, shared) in thresholds.iter().zip(&family.summaries) {
                let mut alone = s.clone();
                alone.tunables.extfrag_threshold = Some(*t);
                let own = simulate(&alone, &RunOptions::default(), &mut |_| {}).unwrap();
                assert_eq!(shared, &own, "{kernel} seed {seed} threshold {t}");
            }
            forks += family.forks.len();
            // Every fork starts at a checkpoint at or before the event that split it.
            assert!(family.forks.iter().all(|f| f.from_s <= f.split_s));
            assert!(family.simulated_s < thresholds.len() as f64 * 6.0 * 3600.0);
        }
    }
    assert!(forks >= 5, "{forks} forks: the grid should split somewhere");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Over random small grids (a kernel, a seed, 2 to 5 thresholds in any order, repeats
    /// allowed, and a vm.min_free_kbytes), the family gives each threshold its own run.
    #[test]
    fn any_small_grid_forks_exactly(
        kernel in proptest::sample::select(vec!["3.10", "3.10-rhel7.3", "3.10-rhel7", "4.4", "5.15", "6.18"]),
        seed in 1u64..1000,
        thresholds in proptest::collection::vec(0u32..=1000, 2..=5),
        min_free_kbytes in proptest::sample::select(vec![None, Some(4096u64), Some(32768)]),
    ) {
        let mut s = tiny(kernel, seed);
        s.tunables.min_free_kbytes = min_free_kbytes;
        let family = simulate_family(&s, &thresholds, &RunOptions::default(), &mut |_| {}).unwrap();
        proptest::prop_assert_eq!(family.summaries.len(), thresholds.len());
        for (t, shared) in thresholds.iter().zip(&family.summaries) {
            let mut alone = s.clone();
            alone.tunables.extfrag_threshold = Some(*t);
            let own = simulate(&alone, &RunOptions::default(), &mut |_| {}).unwrap();
            proptest::prop_assert_eq!(shared, &own, "{} seed {} threshold {}", kernel, seed, t);
        }
    }
}
