//! What a run will cost, known before it starts: the pages it models, the samples it keeps, the
//! events it simulates; and the limits a scenario is held to, so that nothing `validate` accepts
//! makes `run` abort on a failed allocation or run without end.
//!
//! The engine keeps one [`PAGE_STATE_BYTES`] slot per page of every zone's span, and each sample
//! keeps a row per zone and a row of counters until the run ends. Events are counted from the
//! scenario's own rates: pod starts (and their exits), probes, samples, background jobs and the
//! kernel's timers the profile runs (proactive compaction every 500 ms, `vmstat_update()` every
//! second). The limits on counts hold a run to hours of work, not years (a pod start costs about
//! 3.6 ms with everything it sets off on the seed node, BENCHMARKS.md); the limit on bytes is what
//! this machine has available (`MemAvailable` of /proc/meminfo).

use super::run::{node_specs, RunError, VmSample, ZoneSample, PROACTIVE_INTERVAL, VMSTAT_INTERVAL};
use crate::kernel::profile::PcpLists;
use crate::mm::mmzone::PAGE_STATE_BYTES;
use crate::scenario::{Arrivals, Scenario, Size};

/// Pod starts a run may simulate (expected from the arrival rate, or counted).
pub const MAX_POD_STARTS: u64 = 10_000_000;
/// Samples a run may keep (10 days every second; each is a row per zone in buddyinfo.csv).
pub const MAX_SAMPLES: u64 = 1_000_000;
/// Probe allocations a run may make (each may copy the node).
pub const MAX_PROBES: u64 = 1_000_000;
/// Events of every kind a run may simulate.
pub const MAX_EVENTS: u64 = 1_000_000_000;

/// What one run of a scenario costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Pages the engine keeps state for: every zone's span.
    pub pages: u64,
    /// Samples kept (one at each interval and one at the end).
    pub samples: u64,
    /// Pod starts: expected from the rate, or the waves' counts.
    pub pod_starts: u64,
    /// Probe allocations.
    pub probes: u64,
    /// Events of every kind.
    pub events: u64,
    /// Bytes kept in memory: the page state and the samples.
    pub bytes: u64,
}

/// The mean rate per second of a daily profile: each point's rate holds until the next, the
/// last until the first of the next day (as [`crate::workload::pods`] draws them).
fn daily_mean(points: &[(crate::scenario::Duration, crate::scenario::Rate)]) -> f64 {
    const DAY: u64 = 86_400 * 1_000_000_000;
    let weighted: f64 = points
        .iter()
        .enumerate()
        .map(|(i, (at, rate))| {
            let next = points.get(i + 1).map_or(DAY + points[0].0 .0, |p| p.0 .0);
            rate.per_second() * next.saturating_sub(at.0) as f64
        })
        .sum();
    weighted / DAY as f64
}

/// `n` events of a period `every` over `duration` nanoseconds.
fn per(duration: u64, every: u64) -> u64 {
    duration / every.max(1)
}

/// Expected events at `per_second` over `secs`, rounded up, saturating.
fn at_rate(per_second: f64, secs: f64) -> u64 {
    let n = (per_second * secs).ceil();
    if n >= u64::MAX as f64 {
        u64::MAX
    } else {
        n as u64
    }
}

impl Cost {
    /// The cost of `s` as it stands (its first run; a sweep's grid points are scenarios too).
    pub fn of(s: &Scenario) -> Result<Cost, RunError> {
        let specs = node_specs(s)?;
        let zones: u64 = specs.iter().map(|n| n.zones.len() as u64).sum();
        let pages = specs
            .iter()
            .flat_map(|n| &n.zones)
            .map(|z| z.spanned)
            .fold(0u64, u64::saturating_add);
        let d = s.duration.0;
        let secs = d as f64 / 1e9;
        let samples = per(d, s.outputs.sample_interval.0).saturating_add(1);
        let pod_starts = match s.workload.pods.as_ref().map(|p| &p.arrivals) {
            None | Some(Arrivals::Replay(_)) => 0,
            Some(Arrivals::Poisson(rate)) => at_rate(rate.per_second(), secs),
            Some(a @ Arrivals::Daily(_)) => at_rate(daily_mean(&a.daily_points()), secs),
            Some(Arrivals::Waves(waves)) => waves.iter().map(|w| u64::from(w.count)).sum(),
        };
        let probes = s
            .probes
            .alloc
            .iter()
            .map(|p| per(d, p.every.0))
            .fold(0u64, u64::saturating_add);
        let bg = &s.workload.background;
        let jobs = bg
            .page_cache_job
            .as_ref()
            .map_or(0, |j| at_rate(j.rate.per_second(), secs));
        let rotations = bg.log_rotation.as_ref().map_or(0, |l| per(d, l.every.0));
        let profile = s.profile().map_err(|e| RunError::Setup(e.to_string()))?;
        let proactive = profile
            .proactive
            .map_or(0, |_| per(d, PROACTIVE_INTERVAL.0));
        let vmstat = if profile.pcp == PcpLists::AutoTuned {
            per(d, VMSTAT_INTERVAL.0)
        } else {
            0
        };
        let events = [
            pod_starts.saturating_mul(2),
            samples,
            probes,
            jobs,
            rotations,
            proactive,
            vmstat,
        ]
        .into_iter()
        .fold(0u64, u64::saturating_add);
        let sample_bytes = zones * std::mem::size_of::<ZoneSample>() as u64
            + std::mem::size_of::<VmSample>() as u64;
        let bytes = pages
            .saturating_mul(PAGE_STATE_BYTES)
            .saturating_add(samples.saturating_mul(sample_bytes));
        Ok(Cost {
            pages,
            samples,
            pod_starts,
            probes,
            events,
            bytes,
        })
    }
}

/// Checks `s` against the limits: counts first (they do not depend on this machine), then the
/// bytes against what this machine has available. The error names the setting to change, what
/// the run would cost and the limit.
pub fn check(s: &Scenario) -> Result<Cost, RunError> {
    let c = Cost::of(s)?;
    let over = |what: String| Err(RunError::Setup(what));
    let d = s.duration;
    if c.pod_starts > MAX_POD_STARTS {
        return over(format!(
            "workload.pods.arrivals: {d} of these arrivals is about {} pod starts; the limit is \
             {MAX_POD_STARTS} a run (about 10 hours): lower the rate or run shorter",
            c.pod_starts
        ));
    }
    if c.probes > MAX_PROBES {
        return over(format!(
            "probes.alloc: {d} of probes is {} probe allocations; the limit is {MAX_PROBES} a \
             run (each may copy the node): probe less often",
            c.probes
        ));
    }
    if c.samples > MAX_SAMPLES {
        return over(format!(
            "outputs.sample_interval: sampling every {} for {d} keeps {} samples; the limit is \
             {MAX_SAMPLES} a run: sample less often or run shorter",
            s.outputs.sample_interval, c.samples
        ));
    }
    if c.events > MAX_EVENTS {
        return over(format!(
            "duration: {d} is {} events (pods, samples, probes, background jobs, the kernel's \
             timers); the limit is {MAX_EVENTS} a run: run shorter",
            c.events
        ));
    }
    if let Some(available) = available_memory() {
        if c.bytes > available {
            return over(format!(
                "machine: this run keeps at least {} in memory ({} pages of {PAGE_STATE_BYTES} \
                 bytes of state each, and {} samples); this machine has {} available: model a \
                 smaller node or sample less often",
                Size(c.bytes).approx(),
                c.pages,
                c.samples,
                Size(available).approx()
            ));
        }
    }
    Ok(c)
}

/// `MemAvailable` of /proc/meminfo, in bytes; `None` where it cannot be read (no limit then).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Duration, Rate};

    #[test]
    fn a_daily_profile_costs_its_mean_rate() {
        let rate = |r: &str| r.parse::<Rate>().unwrap();
        let h = |n: u64| Duration::from_secs(n * 3600);
        // 0/h from midnight, 100/h from noon: 50/h over the day.
        let noon = [(h(0), rate("0/h")), (h(12), rate("100/h"))];
        assert!((daily_mean(&noon) * 3600.0 - 50.0).abs() < 1e-9);
        // From 6h only: the 6h rate holds through midnight until 6h the next day.
        assert!((daily_mean(&[(h(6), rate("24/h"))]) * 3600.0 - 24.0).abs() < 1e-9);
    }

    #[test]
    fn the_seed_scenario_costs_what_it_simulates() {
        let s = Scenario::parse(
            include_str!("../../scenarios/seed-rhel7-node.yaml"),
            "seed-rhel7-node.yaml",
        )
        .unwrap();
        let c = check(&s).unwrap();
        assert_eq!(c.samples, 10 * 144 + 1);
        assert_eq!(c.pod_starts, 14_400);
        assert_eq!(c.probes, 240);
        // 16 GiB from PFN 1 to 17 GiB (the PCI hole spans): 4 456 447 pages.
        assert_eq!(c.pages, (17 << 18) - 1);
    }
}
