//! `buddysim replay`: how well a scenario's workload explains a series of captures of one node.
//!
//! The run starts from the series' first capture (reconstructed as `initial: capture` does),
//! runs the scenario's workload for the time the series spans, and snapshots every zone at
//! each capture's time. Per capture and zone it reports how far the simulated free blocks per
//! order are from the captured ones: the L1 distance in blocks `Σ_k |cap_k − sim_k|`, and the
//! page-weighted distances of [`validate::distances`] (relative L1 `Σ 2^k·|Δ_k| / Σ 2^k·cap_k`
//! and the largest relative error of an order with at least [`validate::MIN_BLOCKS`] captured
//! blocks), beside the blocks of order ≥ 6 both hold (the incident's order).
//!
//! Outputs (book/src/reference/outputs.md): `replay.csv`, `replay.json`, and the plots
//! `plots/replay-<node>-<zone>.{png,svg}`.

use crate::capture::series::{compared_zones, format_time, Series};
use crate::capture::Capture;
use crate::engine::Time;
use crate::mm::mmzone::ZoneType;
use crate::report::output::write_atomic;
use crate::report::validate;
use crate::scenario::units::Duration;
use crate::scenario::Scenario;
use crate::workload::run::{node_specs, run_from, RunError, RunOptions, ZoneSample};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The order from which blocks are counted together (the conntrack array's order 6).
pub const HIGH_ORDER: usize = 6;

/// One zone at one capture: captured and simulated free blocks per order and their distance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayRow {
    /// 0 for the first capture (where the run starts), 1.. for the compared ones.
    pub capture: usize,
    /// The capture's time, RFC 3339 UTC.
    pub time: String,
    /// Seconds since the first capture.
    pub offset_s: f64,
    pub node: u32,
    pub zone: ZoneType,
    pub captured: Vec<u64>,
    pub simulated: Vec<u64>,
    /// `Σ_k |captured_k − simulated_k|`.
    pub l1_blocks: u64,
    /// `Σ 2^k·|captured_k − simulated_k| / Σ 2^k·captured_k`.
    pub rel_l1: f64,
    /// The largest `|captured_k − simulated_k| / captured_k` over orders with at least
    /// `MIN_BLOCKS` captured blocks.
    pub max_rel_order_error: f64,
    /// Free blocks of order ≥ 6.
    pub captured_order6: u64,
    pub simulated_order6: u64,
}

/// The compared capture and zone farthest from the simulation (largest `rel_l1`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Worst {
    pub capture: usize,
    pub time: String,
    pub offset_s: f64,
    pub node: u32,
    pub zone: ZoneType,
    pub rel_l1: f64,
}

/// A replay's report (`replay.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayReport {
    pub scenario: String,
    pub kernel: String,
    pub seed: u64,
    /// The folder, list file or export the series came from.
    pub series: String,
    pub captures: usize,
    /// The first capture's time and files.
    pub start: String,
    pub start_files: Vec<String>,
    /// Simulated seconds: last capture − first.
    pub duration_s: f64,
    /// Every capture (the first included) × zone, in time then (node, zone) order.
    pub rows: Vec<ReplayRow>,
    pub worst: Option<Worst>,
    /// What the run had to assume where the first capture was silent (its watermarks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A replay that cannot be carried out.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("{files}: {message}")]
    Machine { files: String, message: String },
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Checks that the scenario's machine describes the captured one: the same zones, the kernel
/// profile's number of orders, and sizes that agree (the explicit `machine.zones` where the
/// capture prints sizes; otherwise the captured present pages within 10 % of `memory`).
pub fn check_machine(scenario: &Scenario, capture: &Capture) -> Result<(), String> {
    let profile = scenario.profile().map_err(|e| e.to_string())?;
    let specs = node_specs(scenario).map_err(|e| e.to_string())?;
    let machine: Vec<(u32, ZoneType)> = specs
        .iter()
        .flat_map(|n| n.zones.iter().map(move |z| (n.node, z.zone)))
        .collect();
    let zones = compared_zones(capture);
    let captured: Vec<(u32, ZoneType)> = zones.iter().map(|z| (z.0, z.1)).collect();
    let list = |v: &[(u32, ZoneType)]| {
        v.iter()
            .map(|(n, z)| format!("node {n} {z}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if captured != machine {
        return Err(format!(
            "the capture has zones {}, the scenario's machine ({}, {} node(s){}) has {}",
            list(&captured),
            scenario.machine.memory,
            scenario.machine.numa_nodes,
            if scenario.machine.zones.is_empty() {
                ", x86-64 layout"
            } else {
                ", machine.zones"
            },
            list(&machine)
        ));
    }
    if let Some((n, z, k)) = zones.iter().find(|z| z.2 != profile.orders as usize) {
        return Err(format!(
            "node {n} zone {z} has {k} orders, kernel profile {} has {}",
            profile.name, profile.orders
        ));
    }
    let explicit = &scenario.machine.zones;
    let mut present_total = 0;
    for c in &capture.zones {
        present_total += c.present.unwrap_or(0);
        let Some(spec) = explicit
            .iter()
            .find(|s| s.node == c.node && s.zone == c.zone)
        else {
            continue;
        };
        for (what, cap, machine) in [
            ("start_pfn", c.start_pfn, spec.start_pfn),
            ("spanned", c.spanned, spec.spanned.0),
            ("present", c.present, spec.present.0),
            ("managed", c.managed, spec.managed.0),
        ] {
            if cap.is_some_and(|v| v != machine) {
                return Err(format!(
                    "node {} zone {}: the capture has {what} {}, the scenario's machine.zones \
                     has {machine}",
                    c.node,
                    c.zone,
                    cap.unwrap_or_default()
                ));
            }
        }
    }
    let pages = scenario.machine.memory_pages();
    if explicit.is_empty() && present_total > 0 && present_total.abs_diff(pages) > pages / 10 {
        return Err(format!(
            "the capture's zones have {present_total} present pages ({} MiB), the scenario's \
             machine.memory is {} ({pages} pages): more than 10 % apart",
            present_total / 256,
            scenario.machine.memory
        ));
    }
    Ok(())
}

/// Replays `series` under `scenario` (its `initial` replaced by the first capture, its
/// duration by the series' span); `progress` is told the fraction simulated.
pub fn replay(
    scenario: &Scenario,
    series: &Series,
    progress: &mut dyn FnMut(f64),
) -> Result<ReplayReport, ReplayError> {
    let first = series
        .captures
        .first()
        .ok_or_else(|| ReplayError::Machine {
            files: series.source.clone(),
            message: "no captures".into(),
        })?;
    let files = first.files.join(" + ");
    check_machine(scenario, &first.capture).map_err(|message| ReplayError::Machine {
        files: files.clone(),
        message,
    })?;
    let offsets: Vec<Time> = series
        .captures
        .iter()
        .map(|c| Time(c.time_ns.saturating_sub(first.time_ns).max(0) as u64))
        .collect();
    let end = offsets.last().copied().unwrap_or(Time::ZERO);
    let mut s = scenario.clone();
    s.duration = Duration(end.0.max(1));
    let out = run_from(
        &s,
        &first.capture,
        &offsets,
        &RunOptions::default(),
        progress,
    )?;
    let zones = compared_zones(&first.capture);
    let mut rows = Vec::new();
    for (i, (c, at)) in series.captures.iter().zip(&offsets).enumerate() {
        let t = at.as_secs_f64();
        for &(node, zone, _) in &zones {
            let Some(cap) = c
                .capture
                .zone(node, zone)
                .and_then(|z| z.free_blocks.clone())
            else {
                continue;
            };
            let sim: Vec<u64> = snapshot(&out.snapshots, t, node, zone)
                .map(|z| z.free.to_vec())
                .unwrap_or_default();
            let (rel_l1, max_rel_order_error) = validate::distances(&cap, &sim);
            let at = |v: &[u64], k: usize| v.get(k).copied().unwrap_or(0);
            let n = cap.len().max(sim.len());
            rows.push(ReplayRow {
                capture: i,
                time: format_time(c.time_ns),
                offset_s: t,
                node,
                zone,
                l1_blocks: (0..n).map(|k| at(&cap, k).abs_diff(at(&sim, k))).sum(),
                rel_l1,
                max_rel_order_error,
                captured_order6: cap.iter().skip(HIGH_ORDER).sum(),
                simulated_order6: sim.iter().skip(HIGH_ORDER).sum(),
                captured: cap,
                simulated: sim,
            });
        }
    }
    let worst = rows
        .iter()
        .filter(|r| r.capture > 0)
        .fold(None::<&ReplayRow>, |w, r| match w {
            Some(w) if w.rel_l1 >= r.rel_l1 => Some(w),
            _ => Some(r),
        })
        .map(|r| Worst {
            capture: r.capture,
            time: r.time.clone(),
            offset_s: r.offset_s,
            node: r.node,
            zone: r.zone,
            rel_l1: r.rel_l1,
        });
    Ok(ReplayReport {
        scenario: scenario.name.clone(),
        kernel: out.summary.kernel.clone(),
        seed: scenario.seed,
        series: series.source.clone(),
        captures: series.captures.len(),
        start: format_time(first.time_ns),
        start_files: first.files.clone(),
        duration_s: end.as_secs_f64(),
        rows,
        worst,
        notes: out.summary.notes.clone(),
    })
}

/// The snapshot row of one zone at `time_s`.
fn snapshot(rows: &[ZoneSample], time_s: f64, node: u32, zone: ZoneType) -> Option<&ZoneSample> {
    rows.iter()
        .find(|r| r.time_s == time_s && r.node == node && r.zone == zone)
}

/// `+1h2m3s` from seconds (whole seconds; a fraction as milliseconds).
fn offset(secs: f64) -> String {
    format!("+{}", Duration((secs * 1e9).round() as u64))
}

/// The human summary: a table per compared capture and zone, then the worst.
pub fn text(r: &ReplayReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "replay of {} under scenario {} (kernel {}, seed {}): {} captures over {}, from {} ({})",
        r.series,
        r.scenario,
        r.kernel,
        r.seed,
        r.captures,
        offset(r.duration_s).trim_start_matches('+'),
        r.start,
        r.start_files.join(" + ")
    );
    let _ = writeln!(
        t,
        "{:>7}  {:<24} {:>12}  {:<10} {:>10} {:>8} {:>13} {:>18}",
        "capture",
        "time",
        "offset",
        "zone",
        "L1 blocks",
        "rel L1",
        "max order err",
        "order>=6 cap/sim"
    );
    for row in r.rows.iter().filter(|r| r.capture > 0) {
        let _ = writeln!(
            t,
            "{:>7}  {:<24} {:>12}  {:<10} {:>10} {:>8.4} {:>13.4} {:>18}",
            row.capture,
            row.time,
            offset(row.offset_s),
            format!("{} {}", row.node, row.zone),
            row.l1_blocks,
            row.rel_l1,
            row.max_rel_order_error,
            format!("{}/{}", row.captured_order6, row.simulated_order6)
        );
    }
    if let Some(w) = &r.worst {
        let _ = writeln!(
            t,
            "worst: capture {} at {} ({}), node {} {}: relative L1 distance {:.4}",
            w.capture,
            w.time,
            offset(w.offset_s),
            w.node,
            w.zone,
            w.rel_l1
        );
    }
    for n in &r.notes {
        let _ = writeln!(t, "note: {n}");
    }
    t
}

/// `replay.csv`: one row per capture and zone, the first capture included.
pub fn csv(r: &ReplayReport) -> String {
    let orders = r
        .rows
        .iter()
        .map(|row| row.captured.len())
        .max()
        .unwrap_or(0);
    let mut s = String::from("capture,time,offset_s,node,zone,l1_blocks,rel_l1,max_rel_order_error,captured_order6,simulated_order6");
    for k in 0..orders {
        let _ = write!(s, ",captured_{k}");
    }
    for k in 0..orders {
        let _ = write!(s, ",simulated_{k}");
    }
    s.push('\n');
    for row in &r.rows {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            row.capture,
            row.time,
            row.offset_s,
            row.node,
            row.zone.name(),
            row.l1_blocks,
            row.rel_l1,
            row.max_rel_order_error,
            row.captured_order6,
            row.simulated_order6
        );
        for v in [&row.captured, &row.simulated] {
            for k in 0..orders {
                let _ = write!(s, ",{}", v.get(k).copied().unwrap_or(0));
            }
        }
        s.push('\n');
    }
    s
}

/// Writes `replay.csv`, `replay.json` and the plots into `dir`; returns the paths written.
pub fn write(dir: &Path, r: &ReplayReport) -> Result<Vec<PathBuf>, crate::report::plot::PlotError> {
    let io = |file: PathBuf| move |source| crate::report::plot::PlotError::Io { file, source };
    std::fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
    let mut paths = Vec::new();
    for (name, text) in [
        ("replay.csv", csv(r)),
        (
            "replay.json",
            serde_json::to_string_pretty(r).expect("the report serializes") + "\n",
        ),
    ] {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes()).map_err(io(p.clone()))?;
        paths.push(p);
    }
    paths.extend(crate::report::plot::replay::plot(r, &dir.join("plots"))?);
    Ok(paths)
}
