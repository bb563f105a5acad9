//! A scenario run: the simulated node under its workload on the engine's clock, and what was
//! observed (summary, time series, events, final /proc text).
//!
//! [`simulate`] is the whole run; it does no I/O (the report layer writes the files).

use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

/// The first conntrack-cache creation that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstFailure {
    /// Simulated seconds since the start of the run.
    pub time_s: f64,
    /// The pod number (0-based, in start order) whose netns creation failed.
    pub pod: u64,
    /// Order of the failed allocation (the memcg array's `kmalloc_large()`).
    pub order: u32,
    /// Why the allocator said no (`no_block_of_order`, `compaction_failed`, …).
    pub reason: String,
}

/// What one run came to: the data `summary.json` holds and a sweep aggregates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub kernel: String,
    pub simulated_s: f64,
    pub pods_started: u64,
    pub pod_start_failures: u64,
    pub first_failure: Option<FirstFailure>,
    /// The least number of free blocks of order ≥ 6 seen at a sample, over the zones a
    /// GFP_KERNEL request may use.
    pub min_free_order6_blocks: u64,
    /// Memory the tunables keep free: the sum of the zones' high watermarks, in KiB.
    pub reserved_kib: u64,
    pub compact_stall: u64,
    pub compact_success: u64,
    pub compact_fail: u64,
    pub allocstall: u64,
    pub pgscan_kswapd: u64,
    pub pgscan_direct: u64,
    pub pgsteal_kswapd: u64,
    pub pgsteal_direct: u64,
    /// Kmem ids in use and zombie memcgs at the end.
    pub memcg_kmem_ids: u32,
    pub memcg_zombies: u64,
    /// The node's /proc/buddyinfo at the end.
    pub final_buddyinfo: String,
}

/// How to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Check the model's invariants after every event (slow; `run --check`).
    pub check: bool,
}

/// A run that could not be carried out.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error("invariant broken at {time_s:.3}s: {what}")]
    Invariant { time_s: f64, what: String },
}

/// Runs `scenario`; `progress` is told the simulated fraction done (0 to 1) now and then.
pub fn simulate(
    scenario: &Scenario,
    opts: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<Summary, RunError> {
    let _ = (scenario, opts, progress);
    Err(RunError::Setup("the simulator lands in the next commit".into()))
}
