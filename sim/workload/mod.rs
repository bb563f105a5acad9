//! Workloads: what happens to a simulated node over time.
//!
//! [`trace`] reads the line-based workload traces that the real-kernel harness
//! (tests/kernel/) runs inside a Debian kernel under qemu. The same trace replayed by the
//! simulator, starting from the snapshot the kernel recorded at the trace's first `mark`, is
//! how buddysim is held to the real allocator: the recorded successes ([`counts`]) and the
//! snapshots of each mark are the expected values.

pub mod cost;
pub mod counts;
pub mod pods;
pub mod run;
pub mod system;
pub mod trace;
pub mod trace_run;
