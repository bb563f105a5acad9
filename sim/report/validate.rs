//! Validation against a real kernel (issue 7): a recorded harness run (tests/kernel/results/)
//! beside its replay ([`crate::workload::trace_run`]), compared per run, mark and zone.
//!
//! What is compared:
//! * **free blocks per order** (buddyinfo) at every mark, with two distances: the relative L1
//!   distance in pages, `Σ 2^k·|real_k − sim_k| / Σ 2^k·real_k`, and the largest relative error
//!   of one order among the orders where the real kernel has at least [`MIN_BLOCKS`] blocks;
//! * **blocks done** per `alloc` / `try` line (the counts file's `done`);
//! * **pageblocks per migrate type** (pagetypeinfo) at every mark;
//! * **reclaim and compaction counters** (vmstat: `compact_stall`, `compact_success`,
//!   `pgsteal_kswapd`, …) as increases since the first mark, which is where the replay starts.
//!
//! The output formats: a text table, Markdown (book/src/validation.md pastes it), JSON, and
//! the two CSV files of book/src/reference/outputs.md (`comparison-free.csv`, `comparison-counts.csv`). Reading the
//! files is the caller's: [`load_run`] asks for each file through a closure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::capture::{self, Capture, ZoneCapture};
use crate::mm::mmzone::{MigrateType, ZoneType};
use crate::mm::vm_event::VmEvents;
use crate::workload::counts::{parse_counts, Counts};
use crate::workload::trace::{parse, Op, Trace, TraceError};
use crate::workload::trace_run::{replay, Replay, ReplayError};

/// Orders with fewer real blocks than this are left out of the per-order maximum relative
/// error (a count of 3 against 4 is 33 % and says nothing).
pub const MIN_BLOCKS: u64 = 10;

/// The files of one recorded run a comparison reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunFile {
    Meta,
    Counts,
    /// `NN-MARK/NAME` (buddyinfo, pagetypeinfo, zoneinfo, vmstat).
    Mark {
        dir: String,
        name: &'static str,
    },
    /// The trace the run executed (tests/kernel/traces/NAME.trace).
    Trace {
        name: String,
    },
}

impl RunFile {
    /// The path relative to the run's directory (traces: relative to the traces directory).
    pub fn path(&self) -> String {
        match self {
            RunFile::Meta => "meta".into(),
            RunFile::Counts => "counts".into(),
            RunFile::Mark { dir, name } => format!("{dir}/{name}"),
            RunFile::Trace { name } => format!("{name}.trace"),
        }
    }
}

/// Why a run cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("{file}: {message}")]
    Missing { file: String, message: String },
    #[error(transparent)]
    Format(#[from] TraceError),
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// One mark of a recorded run: the zones (buddyinfo + pagetypeinfo + zoneinfo merged) and
/// /proc/vmstat.
#[derive(Clone, Debug)]
pub struct RealMark {
    pub dir: String,
    pub capture: Capture,
    pub vmstat: BTreeMap<String, u64>,
}

/// A recorded run.
#[derive(Clone, Debug)]
pub struct RealRun {
    /// The directory name, `<trace>-<mem>M`.
    pub name: String,
    pub trace_name: String,
    pub trace: Trace,
    pub counts: Counts,
    pub marks: Vec<RealMark>,
}

/// How [`load_run`] reads a file: its name for errors and its text, or why it could not.
pub type ReadRunFile<'a> = dyn FnMut(&RunFile) -> Result<(String, String), String> + 'a;

/// Reads run `name` through `read`.
pub fn load_run(name: &str, read: &mut ReadRunFile<'_>) -> Result<RealRun, ValidateError> {
    let mut get = |f: RunFile| {
        read(&f).map_err(|message| ValidateError::Missing {
            file: format!("{name}/{}", f.path()),
            message,
        })
    };
    let (meta_file, meta) = get(RunFile::Meta)?;
    let trace_name = meta
        .lines()
        .find_map(|l| l.strip_prefix("trace "))
        .map(|t| t.trim().to_string())
        .ok_or_else(|| ValidateError::Missing {
            file: meta_file.clone(),
            message: "expected a `trace NAME` line".into(),
        })?;
    let (trace_file, trace_text) = get(RunFile::Trace {
        name: trace_name.clone(),
    })?;
    let trace = parse(&trace_file, &trace_text)?;
    let (counts_file, counts_text) = get(RunFile::Counts)?;
    let counts = parse_counts(&counts_file, &counts_text)?;
    let mut marks = Vec::new();
    for dir in trace.mark_dirs() {
        let mut cap: Option<Capture> = None;
        for file in ["buddyinfo", "pagetypeinfo", "zoneinfo"] {
            let (fname, text) = get(RunFile::Mark {
                dir: dir.clone(),
                name: file,
            })?;
            let one = capture::parse(&fname, &text)?;
            match &mut cap {
                Some(c) => c.merge(one)?,
                None => cap = Some(one),
            }
        }
        let (vname, vtext) = get(RunFile::Mark {
            dir: dir.clone(),
            name: "vmstat",
        })?;
        let vmstat = capture::parse_as(capture::Format::VmStat, &vname, &vtext)?.node_stats;
        marks.push(RealMark {
            dir,
            capture: cap.unwrap_or_default(),
            vmstat,
        });
    }
    Ok(RealRun {
        name: name.to_string(),
        trace_name,
        trace,
        counts,
        marks,
    })
}

/// Replays a recorded run from its first mark.
pub fn simulate(run: &RealRun) -> Result<Replay, ValidateError> {
    let boot = run.marks.first().ok_or_else(|| ValidateError::Missing {
        file: format!("{}/counts", run.name),
        message: "the trace has no mark".into(),
    })?;
    Ok(replay(
        &format!("{}.trace", run.trace_name),
        &run.trace,
        &format!("{}/{}", run.name, boot.dir),
        &boot.capture,
    )?)
}

/// Free blocks of one zone at one mark.
#[derive(Clone, Debug, Serialize)]
pub struct FreeRow {
    pub mark: String,
    pub node: u32,
    pub zone: ZoneType,
    pub real: Vec<u64>,
    pub simulated: Vec<u64>,
    /// `Σ 2^k·|real_k − sim_k| / Σ 2^k·real_k`.
    pub rel_l1: f64,
    /// The largest `|real_k − sim_k| / real_k` over orders with `real_k ≥ MIN_BLOCKS`.
    pub max_rel_order_error: f64,
}

/// Blocks done by one `alloc` / `try` line.
#[derive(Clone, Debug, Serialize)]
pub struct CountRow {
    pub line: usize,
    pub op: String,
    pub group: String,
    pub order: u32,
    pub requested: u64,
    pub real: u64,
    pub simulated: u64,
}

/// Pageblocks of one migrate type in one zone at one mark.
#[derive(Clone, Debug, Serialize)]
pub struct PageblockRow {
    pub mark: String,
    pub node: u32,
    pub zone: ZoneType,
    pub migratetype: MigrateType,
    pub real: u64,
    pub simulated: u64,
}

/// A vmstat counter's increase since the first mark.
#[derive(Clone, Debug, Serialize)]
pub struct CounterRow {
    pub mark: String,
    pub counter: &'static str,
    pub real: u64,
    pub simulated: u64,
}

/// One run compared.
#[derive(Clone, Debug, Serialize)]
pub struct RunComparison {
    pub run: String,
    pub trace: String,
    /// The first mark: the replay's input, so it matches by construction.
    pub boot: String,
    pub free: Vec<FreeRow>,
    pub counts: Vec<CountRow>,
    pub pageblocks: Vec<PageblockRow>,
    pub counters: Vec<CounterRow>,
}

/// The counters compared: the name in /proc/vmstat (6.1), and the model's value. `allocstall`
/// is the sum of 6.1's per-zone `allocstall_*` lines.
type Counter = (&'static str, fn(&VmEvents) -> u64);
pub const COUNTERS: [Counter; 10] = [
    ("compact_stall", |e| e.compact_stall),
    ("compact_success", |e| e.compact_success),
    ("compact_fail", |e| e.compact_fail),
    ("compact_migrate_scanned", |e| e.compact_migrate_scanned),
    ("compact_free_scanned", |e| e.compact_free_scanned),
    ("compact_daemon_wake", |e| e.compact_daemon_wake),
    ("pgsteal_kswapd", |e| {
        e.pgsteal_kswapd[0] + e.pgsteal_kswapd[1]
    }),
    ("pgsteal_direct", |e| {
        e.pgsteal_direct[0] + e.pgsteal_direct[1]
    }),
    ("allocstall", |e| e.allocstall),
    ("pgmigrate_success", |e| e.pgmigrate_success),
];

fn real_counter(vmstat: &BTreeMap<String, u64>, name: &str) -> u64 {
    if name == "allocstall" {
        return vmstat
            .iter()
            .filter(|(k, _)| k.starts_with("allocstall_"))
            .map(|(_, v)| v)
            .sum();
    }
    vmstat.get(name).copied().unwrap_or(0)
}

/// Relative L1 distance in pages and the per-order maximum relative error (see [`FreeRow`]).
pub fn distances(real: &[u64], sim: &[u64]) -> (f64, f64) {
    let n = real.len().max(sim.len());
    let at = |v: &[u64], k: usize| v.get(k).copied().unwrap_or(0);
    let (mut diff, mut total, mut max_rel) = (0f64, 0f64, 0f64);
    for k in 0..n {
        let (r, s) = (at(real, k), at(sim, k));
        let w = (1u64 << k) as f64;
        diff += w * r.abs_diff(s) as f64;
        total += w * r as f64;
        if r >= MIN_BLOCKS {
            max_rel = max_rel.max(r.abs_diff(s) as f64 / r as f64);
        }
    }
    let l1 = if total > 0.0 {
        diff / total
    } else if diff > 0.0 {
        1.0
    } else {
        0.0
    };
    (l1, max_rel)
}

fn zone_of<'a>(zones: &'a [ZoneCapture], z: &ZoneCapture) -> Option<&'a ZoneCapture> {
    zones.iter().find(|m| m.node == z.node && m.zone == z.zone)
}

/// Compares a recorded run with its replay.
pub fn compare(run: &RealRun, sim: &Replay) -> RunComparison {
    let mut free = Vec::new();
    let mut pageblocks = Vec::new();
    let mut counters = Vec::new();
    let boot_vm = run.marks.first().map(|m| &m.vmstat);
    for (real, model) in run.marks.iter().zip(&sim.marks) {
        for z in &real.capture.zones {
            let Some(rf) = &z.free_blocks else { continue };
            if z.managed == Some(0) {
                continue;
            }
            let m = zone_of(&model.zones, z);
            let sf = m.and_then(|m| m.free_blocks.clone()).unwrap_or_default();
            let (rel_l1, max_rel_order_error) = distances(rf, &sf);
            free.push(FreeRow {
                mark: real.dir.clone(),
                node: z.node,
                zone: z.zone,
                real: rf.clone(),
                simulated: sf,
                rel_l1,
                max_rel_order_error,
            });
            if let Some(rb) = &z.pageblocks {
                let sb = m.and_then(|m| m.pageblocks.clone()).unwrap_or_default();
                let types: std::collections::BTreeSet<MigrateType> =
                    rb.keys().chain(sb.keys()).copied().collect();
                for t in types {
                    pageblocks.push(PageblockRow {
                        mark: real.dir.clone(),
                        node: z.node,
                        zone: z.zone,
                        migratetype: t,
                        real: rb.get(&t).copied().unwrap_or(0),
                        simulated: sb.get(&t).copied().unwrap_or(0),
                    });
                }
            }
        }
        for (name, f) in COUNTERS {
            let base = boot_vm.map_or(0, |b| real_counter(b, name));
            counters.push(CounterRow {
                mark: real.dir.clone(),
                counter: name,
                real: real_counter(&real.vmstat, name).saturating_sub(base),
                simulated: f(&model.events),
            });
        }
    }
    let mut counts = Vec::new();
    for tl in &run.trace.ops {
        let (Op::Alloc { order, .. } | Op::Try { order, .. }) = &tl.op else {
            continue;
        };
        let real = run.counts.lines.iter().find(|l| l.line == tl.line);
        let model = sim.counts.lines.iter().find(|l| l.line == tl.line);
        let (Some(real), Some(model)) = (real, model) else {
            continue;
        };
        counts.push(CountRow {
            line: tl.line,
            op: real.op.clone(),
            group: real.group.clone(),
            order: *order,
            requested: real.requested.unwrap_or(0),
            real: real.done.unwrap_or(0),
            simulated: model.done.unwrap_or(0),
        });
    }
    RunComparison {
        run: run.name.clone(),
        trace: run.trace_name.clone(),
        boot: run.marks.first().map(|m| m.dir.clone()).unwrap_or_default(),
        free,
        counts,
        pageblocks,
        counters,
    }
}

/// The orders k of the free-page sums a [`Check`] compares (pages in blocks of order ≥ k).
pub const FREE_FROM: [u32; 4] = [0, 3, 6, 9];

/// Tolerance of counters: the model's count within this factor of the kernel's (either way),
/// or within the counter's slack.
pub const COUNTER_FACTOR: f64 = 1.5;

/// One compared quantity, named as tests/kernel/deviations.tsv names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub run: String,
    /// A mark folder, or `line N` for an `alloc` / `try` line.
    pub at: String,
    /// `done`, `DMA32 free order>=6`, `DMA32 pageblocks Movable` or a counter's name.
    pub what: String,
    pub real: u64,
    pub simulated: u64,
    /// Relative tolerance: a fraction of the value (`rel`), or for counters a factor.
    rel: f64,
    counter: bool,
    slack: u64,
}

impl Check {
    /// Whether `value` is within tolerance of `reference`: `|Δ| ≤ max(rel × reference, slack)`;
    /// counters: `value` within [`COUNTER_FACTOR`] of `reference` either way, or `|Δ| ≤ slack`.
    pub fn near(&self, reference: u64, value: u64) -> bool {
        let d = reference.abs_diff(value);
        if d <= self.slack {
            return true;
        }
        let (r, v) = (reference as f64, value as f64);
        if self.counter {
            v <= r * COUNTER_FACTOR && r <= v * COUNTER_FACTOR
        } else {
            d as f64 <= r * self.rel
        }
    }

    /// Whether the model is within tolerance of the kernel.
    pub fn within(&self) -> bool {
        self.near(self.real, self.simulated)
    }
}

/// Free pages in blocks of order ≥ k.
pub fn pages_from(blocks: &[u64], k: u32) -> u64 {
    blocks
        .iter()
        .enumerate()
        .skip(k as usize)
        .map(|(o, n)| n << o)
        .sum()
}

/// The slack of a counter: events, or pages (one pageblock).
fn counter_slack(name: &str) -> u64 {
    match name {
        "compact_migrate_scanned"
        | "compact_free_scanned"
        | "pgsteal_kswapd"
        | "pgsteal_direct"
        | "pgmigrate_success" => 512,
        _ => 10,
    }
}

/// The comparisons of a run that are held to tolerances (tests/kernel_validation.rs): blocks
/// done per line (10 % or 5 blocks), free pages in blocks of order ≥ k per mark and zone (10 %
/// or 512 pages), pageblocks per migrate type per mark and zone (10 % or 5), and the counters'
/// increase over the run (at the last mark, [`COUNTER_FACTOR`] or their slack). Left out: the
/// boot mark, which is the replay's input, and values that are 0 on both sides.
pub fn checks(r: &RunComparison) -> Vec<Check> {
    let check = |at: String, what: String, real, simulated, rel, slack| Check {
        run: r.run.clone(),
        at,
        what,
        real,
        simulated,
        rel,
        counter: false,
        slack,
    };
    let mut out = Vec::new();
    for c in &r.counts {
        out.push(check(
            format!("line {}", c.line),
            "done".into(),
            c.real,
            c.simulated,
            0.10,
            5,
        ));
    }
    for f in r.free.iter().filter(|f| f.mark != r.boot) {
        for k in FREE_FROM {
            out.push(check(
                f.mark.clone(),
                format!("{} free order>={k}", f.zone.name()),
                pages_from(&f.real, k),
                pages_from(&f.simulated, k),
                0.10,
                512,
            ));
        }
    }
    for p in r.pageblocks.iter().filter(|p| p.mark != r.boot) {
        out.push(check(
            p.mark.clone(),
            format!("{} pageblocks {}", p.zone.name(), p.migratetype.name()),
            p.real,
            p.simulated,
            0.10,
            5,
        ));
    }
    let last = r.counters.last().map(|c| c.mark.clone());
    for c in r
        .counters
        .iter()
        .filter(|c| Some(&c.mark) == last.as_ref() && c.mark != r.boot)
    {
        out.push(Check {
            counter: true,
            ..check(
                c.mark.clone(),
                c.counter.into(),
                c.real,
                c.simulated,
                0.0,
                counter_slack(c.counter),
            )
        });
    }
    out.retain(|c| (c.real, c.simulated) != (0, 0));
    out
}

/// One line of totals: comparisons held to tolerances and how many are out of it.
pub fn totals(runs: &[RunComparison]) -> String {
    let all: Vec<Check> = runs.iter().flat_map(checks).collect();
    let out = all.iter().filter(|c| !c.within()).count();
    let n = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    format!(
        "{} in {}, {out} of them out of tolerance (the boot mark and 0-with-0 values are not counted)",
        n(all.len(), "comparison"),
        n(runs.len(), "run")
    )
}

/// `comparison-free.csv`: `run,mark,node,zone,order,real,simulated`.
pub fn free_csv(runs: &[RunComparison]) -> String {
    let mut out = String::from("run,mark,node,zone,order,real,simulated\n");
    for r in runs {
        for f in &r.free {
            for k in 0..f.real.len().max(f.simulated.len()) {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{k},{},{}",
                    r.run,
                    f.mark,
                    f.node,
                    f.zone.name(),
                    f.real.get(k).copied().unwrap_or(0),
                    f.simulated.get(k).copied().unwrap_or(0)
                );
            }
        }
    }
    out
}

/// `comparison-counts.csv`: `run,line,op,group,order,requested,real,simulated`.
pub fn counts_csv(runs: &[RunComparison]) -> String {
    let mut out = String::from("run,line,op,group,order,requested,real,simulated\n");
    for r in runs {
        for c in &r.counts {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                r.run, c.line, c.op, c.group, c.order, c.requested, c.real, c.simulated
            );
        }
    }
    out
}

/// The last mark's free-block row of each zone (the end state of the run).
fn last_mark_rows(r: &RunComparison) -> Vec<&FreeRow> {
    let last = r.free.last().map(|f| f.mark.clone());
    r.free
        .iter()
        .filter(|f| Some(&f.mark) == last.as_ref())
        .collect()
}

fn blocks(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
}

/// The worst free-block distances of a run over its marks and zones.
fn worst(r: &RunComparison) -> (f64, f64) {
    r.free.iter().fold((0f64, 0f64), |(a, b), f| {
        (a.max(f.rel_l1), b.max(f.max_rel_order_error))
    })
}

/// Human text: per run, the blocks done per line, the free blocks at every mark, pageblocks
/// and counters at the last mark; then the [`totals`].
pub fn text(runs: &[RunComparison]) -> String {
    let mut out = String::new();
    for r in runs {
        let (l1, maxrel) = worst(r);
        let _ = writeln!(
            out,
            "== {} (worst free-block distance: rel L1 {:.3}, order max rel {:.3})",
            r.run, l1, maxrel
        );
        for c in &r.counts {
            let _ = writeln!(
                out,
                "  line {:>3} {:<5} {:<6} order {:>2}: real {:>6} / {:<6} simulated {:>6}",
                c.line, c.op, c.group, c.order, c.real, c.requested, c.simulated
            );
        }
        for f in &r.free {
            let _ = writeln!(
                out,
                "  {:<18} {:<6} rel L1 {:.3} max rel {:.3}\n      real {}\n      sim  {}",
                f.mark,
                f.zone.name(),
                f.rel_l1,
                f.max_rel_order_error,
                blocks(&f.real),
                blocks(&f.simulated)
            );
        }
        let last = r.counters.last().map(|c| c.mark.clone());
        for c in r.counters.iter().filter(|c| Some(&c.mark) == last.as_ref()) {
            let _ = writeln!(
                out,
                "  {:<26} real {:>8} simulated {:>8}",
                c.counter, c.real, c.simulated
            );
        }
        let lastpb = r.pageblocks.last().map(|p| p.mark.clone());
        for p in r
            .pageblocks
            .iter()
            .filter(|p| Some(&p.mark) == lastpb.as_ref())
        {
            let _ = writeln!(
                out,
                "  pageblocks {:<6} {:<12} real {:>5} simulated {:>5}",
                p.zone.name(),
                p.migratetype.name(),
                p.real,
                p.simulated
            );
        }
    }
    let _ = writeln!(out, "{}", totals(runs));
    out
}

/// Markdown: one table of blocks done per line over all runs, one table of the end state's
/// free blocks, one of the counters at the last mark, and one of the free-block distances.
pub fn markdown(runs: &[RunComparison]) -> String {
    let mut out = String::new();
    out.push_str("### Blocks done per `alloc` / `try` line\n\n");
    out.push_str("| run | line | op | group | order | requested | real | simulated |\n");
    out.push_str("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |\n");
    for r in runs {
        for c in &r.counts {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.run, c.line, c.op, c.group, c.order, c.requested, c.real, c.simulated
            );
        }
    }
    out.push_str("\n### Free blocks per order at the last mark (orders 0 … 10)\n\n");
    out.push_str("| run | mark | zone | real | simulated | rel L1 |\n");
    out.push_str("| --- | --- | --- | --- | --- | ---: |\n");
    for r in runs {
        for f in last_mark_rows(r) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.3} |",
                r.run,
                f.mark,
                f.zone.name(),
                blocks(&f.real),
                blocks(&f.simulated),
                f.rel_l1
            );
        }
    }
    out.push_str("\n### Free-block distance over all marks and zones\n\n");
    out.push_str("| run | worst rel L1 | worst per-order rel error (orders ≥ 10 blocks) |\n");
    out.push_str("| --- | ---: | ---: |\n");
    for r in runs {
        let (l1, m) = worst(r);
        let _ = writeln!(out, "| {} | {:.3} | {:.3} |", r.run, l1, m);
    }
    out.push_str("\n### Counters at the last mark (increase since the first mark)\n\n");
    let names: Vec<&str> = COUNTERS.iter().map(|c| c.0).collect();
    let _ = writeln!(out, "| run | {} |", names.join(" | "));
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(names.len()));
    for r in runs {
        let last = r.counters.last().map(|c| c.mark.clone());
        let cells: Vec<String> = r
            .counters
            .iter()
            .filter(|c| Some(&c.mark) == last.as_ref())
            .map(|c| format!("{} / {}", c.real, c.simulated))
            .collect();
        let _ = writeln!(out, "| {} | {} |", r.run, cells.join(" | "));
    }
    out.push_str("\n(real / simulated)\n");
    out.push_str("\n### Pageblocks per migrate type at the last mark (real / simulated)\n\n");
    out.push_str("| run | zone | Unmovable | Movable | Reclaimable | HighAtomic |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for r in runs {
        let last = r.pageblocks.last().map(|p| p.mark.clone());
        let mut by_zone: BTreeMap<ZoneType, BTreeMap<MigrateType, (u64, u64)>> = BTreeMap::new();
        for p in r
            .pageblocks
            .iter()
            .filter(|p| Some(&p.mark) == last.as_ref())
        {
            by_zone
                .entry(p.zone)
                .or_default()
                .insert(p.migratetype, (p.real, p.simulated));
        }
        for (zone, types) in by_zone {
            let cell = |t: MigrateType| {
                types
                    .get(&t)
                    .map_or("0 / 0".to_string(), |(a, b)| format!("{a} / {b}"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.run,
                zone.name(),
                cell(MigrateType::Unmovable),
                cell(MigrateType::Movable),
                cell(MigrateType::Reclaimable),
                cell(MigrateType::HighAtomic)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_leave_out_the_boot_mark_and_0_with_0() {
        let r = RunComparison {
            run: "r".into(),
            trace: "t".into(),
            boot: "00-boot".into(),
            free: Vec::new(),
            counts: Vec::new(),
            pageblocks: Vec::new(),
            counters: ["00-boot", "01-end"]
                .map(|mark| CounterRow {
                    mark: mark.into(),
                    counter: "compact_stall",
                    real: 0,
                    simulated: 0,
                })
                .to_vec(),
        };
        assert!(checks(&r).is_empty(), "0 with 0 is not compared");
        let mut r = RunComparison {
            counters: vec![],
            pageblocks: ["00-boot", "01-end"]
                .map(|mark| PageblockRow {
                    mark: mark.into(),
                    node: 0,
                    zone: ZoneType::Dma32,
                    migratetype: MigrateType::Movable,
                    real: 100,
                    simulated: 80,
                })
                .to_vec(),
            ..r
        };
        let c = checks(&r);
        assert_eq!(c.len(), 1, "the boot mark is not compared: {c:?}");
        assert_eq!((c[0].at.as_str(), c[0].within()), ("01-end", false));
        assert!(totals(&[r.clone()]).starts_with("1 comparison in 1 run, 1 of them"));
        r.pageblocks[1].simulated = 91;
        assert!(checks(&r)[0].within(), "10 % of 100");
    }

    #[test]
    fn distances_weigh_pages_and_skip_small_orders() {
        // real: 10 order-0, 2 order-3 (26 pages); sim: 5 order-0, 3 order-3 (29 pages).
        let (l1, m) = distances(&[10, 0, 0, 2], &[5, 0, 0, 3]);
        assert!((l1 - (5.0 + 8.0) / 26.0).abs() < 1e-12, "{l1}");
        assert!(
            (m - 0.5).abs() < 1e-12,
            "order 3 has < MIN_BLOCKS real blocks: {m}"
        );
        assert_eq!(distances(&[], &[]), (0.0, 0.0));
        assert_eq!(distances(&[0], &[1]).0, 1.0);
    }
}
