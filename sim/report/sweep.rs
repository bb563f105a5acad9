//! A sweep's table: the runs of each grid point aggregated, and the recommendation.
//!
//! Per grid point: how many runs, how many failed within the horizon (the scenario's duration)
//! and their share `p_fail`; the Kaplan–Meier median and 5 %–95 % range of the time to first
//! failure (runs without a failure censored at the time they ran to, [`super::survival`]); what
//! the setting costs: the memory the tunables keep free (`reserved_kib`, the mean over runs of
//! the zones' high watermarks), compaction stalls and pages reclaimed (`pgsteal_kswapd +
//! pgsteal_direct`) per simulated hour, pooled over the runs (total count / total hours).
//!
//! The recommendation is the least costly point whose `p_fail` stays under the target and whose
//! `p_oom` (the share of runs in which the OOM killer killed a pod) does too: a killed pod is a
//! failed pod, and a setting that spares the conntrack cache by leaving the pods too little memory
//! has not helped. Among those: the least `reserved_kib`, ties broken by the fewest compaction
//! stalls per hour, then by grid order. Everything here is computed from results in run-index order, so the table is the same
//! byte for byte whatever order the runs finished in.
//!
//! Renderings: a text table, JSON, `sweep.csv` and `survival.csv` (docs: book/src/reference/outputs.md).

use super::survival::{first_failure, KaplanMeier, Observation};
use crate::scenario::Run;
use crate::workload::run::Summary;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One finished run: a line of `results.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub index: usize,
    pub id: String,
    pub settings: Vec<String>,
    pub replicate: u32,
    pub seed: u64,
    pub summary: Summary,
}

impl RunResult {
    pub fn new(run: &Run, summary: Summary) -> RunResult {
        RunResult {
            index: run.index,
            id: run.id.clone(),
            settings: run.settings.clone(),
            replicate: run.replicate,
            seed: run.seed,
            summary,
        }
    }

    /// The time to first failure as a survival observation: the failure when there was one
    /// within `horizon_s`, otherwise censored at the time the run reached (at most the horizon).
    pub fn observation(&self, horizon_s: f64) -> Observation {
        first_failure(&self.summary, horizon_s)
    }
}

/// The aggregate of one grid point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// `KEY=VALUE` of each axis, in grid order.
    pub settings: Vec<String>,
    pub runs: usize,
    /// Runs with a failure within the horizon.
    pub failed: usize,
    /// `failed / runs`.
    pub p_fail: f64,
    /// Kaplan–Meier median time to first failure; `None` when fewer than half the runs failed.
    pub median_s: Option<f64>,
    /// Kaplan–Meier 5 % and 95 % quantiles of the time to first failure.
    pub lo90_s: Option<f64>,
    pub hi90_s: Option<f64>,
    /// Mean over the runs of the memory the tunables keep free (sum of high watermarks), KiB.
    pub reserved_kib: f64,
    pub compact_stall_per_h: f64,
    /// Pages reclaimed (`pgsteal_kswapd + pgsteal_direct`) per hour.
    pub pgsteal_per_h: f64,
    /// Pods the OOM killer killed, per simulated day.
    pub oom_kills_per_day: f64,
    /// Runs in which the OOM killer killed at least one pod.
    pub oom_runs: usize,
    /// `oom_runs / runs`.
    pub p_oom: f64,
    pub survival: KaplanMeier,
}

impl Point {
    fn of(settings: Vec<String>, results: &[&RunResult], horizon_s: f64) -> Point {
        let obs: Vec<Observation> = results.iter().map(|r| r.observation(horizon_s)).collect();
        let survival = KaplanMeier::estimate(&obs);
        let runs = results.len();
        let hours: f64 = results.iter().map(|r| r.summary.simulated_s).sum::<f64>() / 3600.0;
        let per_h = |count: u64| {
            if hours > 0.0 {
                count as f64 / hours
            } else {
                0.0
            }
        };
        let stalls = results.iter().map(|r| r.summary.compact_stall).sum();
        let steal = results
            .iter()
            .map(|r| r.summary.pgsteal_kswapd + r.summary.pgsteal_direct)
            .sum();
        let oom_kills: u64 = results.iter().map(|r| r.summary.oom_kills).sum();
        let oom_runs = results.iter().filter(|r| r.summary.oom_kills > 0).count();
        let (lo90_s, hi90_s) = survival.interval90();
        Point {
            settings,
            runs,
            failed: survival.failed,
            p_fail: survival.failed as f64 / runs as f64,
            median_s: survival.median(),
            lo90_s,
            hi90_s,
            reserved_kib: results
                .iter()
                .map(|r| r.summary.reserved_kib as f64)
                .sum::<f64>()
                / runs as f64,
            compact_stall_per_h: per_h(stalls),
            pgsteal_per_h: per_h(steal),
            oom_kills_per_day: per_h(oom_kills * 24),
            oom_runs,
            p_oom: oom_runs as f64 / runs as f64,
            survival,
        }
    }

    /// The settings as `survival.csv` names the point: `vm.a=1;vm.b=2`.
    pub fn label(&self) -> String {
        self.settings.join(";")
    }
}

/// What the sweep recommends.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recommendation {
    /// The least costly point under the target, by its position in `points`.
    Point { point: usize },
    /// No point keeps `p_fail` under the target; `lowest` is the point with the least `p_fail`.
    NoneQualifies { lowest: Option<usize> },
    /// Some points keep `p_fail` under the target, but each of them OOM-kills pods in too many
    /// runs; `fewest` is the one among them with the least `p_oom` (then OOM kills a day).
    OomKills { fewest: usize },
}

/// A sweep's table and recommendation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepReport {
    pub scenario: String,
    /// The swept settings (grid keys), in grid order.
    pub axes: Vec<String>,
    /// The horizon a failure must fall within: the scenario's duration, in seconds.
    pub horizon_s: f64,
    /// The bound `p_fail` and `p_oom` must stay under.
    pub target: f64,
    /// Runs aggregated.
    pub runs: usize,
    /// Grid points with at least one result, in grid order.
    pub points: Vec<Point>,
    pub recommendation: Recommendation,
}

impl SweepReport {
    /// Aggregates `results` per grid point. Runs of a point are contiguous in index order
    /// ([`crate::scenario::Sweep::runs`]), so the points come out in grid order.
    pub fn new(
        scenario: &str,
        axes: Vec<String>,
        horizon_s: f64,
        target: f64,
        results: &[RunResult],
    ) -> SweepReport {
        let mut sorted: Vec<&RunResult> = results.iter().collect();
        sorted.sort_by_key(|r| r.index);
        let mut groups: Vec<Vec<&RunResult>> = Vec::new();
        for r in sorted {
            match groups.last_mut() {
                Some(g) if g[0].settings == r.settings => g.push(r),
                _ => groups.push(vec![r]),
            }
        }
        let points: Vec<Point> = groups
            .iter()
            .map(|g| Point::of(g[0].settings.clone(), g, horizon_s))
            .collect();
        let recommendation = recommend(&points, target);
        SweepReport {
            scenario: scenario.to_string(),
            axes,
            horizon_s,
            target,
            runs: results.len(),
            points,
            recommendation,
        }
    }

    /// The value of each axis at `point`, in axis order (from its `KEY=VALUE` settings).
    fn values<'a>(&self, point: &'a Point) -> Vec<&'a str> {
        point
            .settings
            .iter()
            .map(|s| s.split_once('=').map_or(s.as_str(), |(_, v)| v))
            .collect()
    }

    /// `sweep.csv`: one row per grid point.
    pub fn sweep_csv(&self) -> String {
        let mut rows = vec![self
            .axes
            .iter()
            .map(String::as_str)
            .chain([
                "runs",
                "failed",
                "p_fail",
                "median_s",
                "lo90_s",
                "hi90_s",
                "reserved_kib",
                "compact_stall_per_h",
                "pgsteal_per_h",
                "oom_kills_per_day",
                "oom_runs",
                "p_oom",
            ])
            .map(String::from)
            .collect::<Vec<_>>()];
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for p in &self.points {
            let mut row: Vec<String> = self.values(p).into_iter().map(String::from).collect();
            row.extend([
                p.runs.to_string(),
                p.failed.to_string(),
                p.p_fail.to_string(),
                opt(p.median_s),
                opt(p.lo90_s),
                opt(p.hi90_s),
                p.reserved_kib.to_string(),
                p.compact_stall_per_h.to_string(),
                p.pgsteal_per_h.to_string(),
                p.oom_kills_per_day.to_string(),
                p.oom_runs.to_string(),
                p.p_oom.to_string(),
            ]);
            rows.push(row);
        }
        csv_text(&rows)
    }

    /// `survival.csv`: every step of every point's curve.
    pub fn survival_csv(&self) -> String {
        let mut rows = vec![["point", "time_s", "survival", "lower", "upper"]
            .map(String::from)
            .to_vec()];
        for p in &self.points {
            let label = p.label();
            for s in &p.survival.steps {
                rows.push(vec![
                    label.clone(),
                    s.time_s.to_string(),
                    s.survival.to_string(),
                    s.lower.to_string(),
                    s.upper.to_string(),
                ]);
            }
        }
        csv_text(&rows)
    }

    /// The report as pretty JSON (with each point's survival curve).
    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("reports always serialize");
        text.push('\n');
        text
    }

    /// The human table and the recommendation.
    pub fn text(&self) -> String {
        let mut header: Vec<String> = self.axes.clone();
        header.extend(
            [
                "runs",
                "failed",
                "p_fail",
                "median",
                "90% range",
                "reserved",
                "stalls/h",
                "pgsteal/h",
                "oom/day",
                "p_oom",
            ]
            .map(String::from),
        );
        let mut rows = vec![header];
        for p in &self.points {
            let mut row: Vec<String> = self.values(p).into_iter().map(String::from).collect();
            let t = |v: Option<f64>| v.map_or("-".to_string(), short_duration);
            row.extend([
                p.runs.to_string(),
                p.failed.to_string(),
                format!("{:.3}", p.p_fail),
                t(p.median_s),
                format!("{}..{}", t(p.lo90_s), t(p.hi90_s)),
                format!("{:.1}MiB", p.reserved_kib / 1024.0),
                format!("{:.2}", p.compact_stall_per_h),
                format!("{:.0}", p.pgsteal_per_h),
                format!("{:.2}", p.oom_kills_per_day),
                format!("{:.3}", p.p_oom),
            ]);
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut out = format!(
            "sweep `{}`: {}, {}, failure = a conntrack-cache creation failing within {}\n\n",
            self.scenario,
            count(self.runs, "run", "runs"),
            count(self.points.len(), "grid point", "grid points"),
            short_duration(self.horizon_s)
        );
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i < self.axes.len() {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out.push('\n');
        out.push_str(&self.recommendation_text());
        out
    }

    /// The recommendation as a sentence.
    pub fn recommendation_text(&self) -> String {
        let horizon = short_duration(self.horizon_s);
        let mut out = match self.recommendation {
            Recommendation::Point { point } => {
                let p = &self.points[point];
                format!(
                    "recommended: {} (P(failure within {horizon}) = {}/{} = {:.3} < target {}; \
                     OOM kills in {}/{} runs; reserves {:.1} MiB, {:.2} compaction stalls/h, \
                     {:.2} OOM kills/day)\n",
                    p.settings.join(", "),
                    p.failed,
                    p.runs,
                    p.p_fail,
                    self.target,
                    p.oom_runs,
                    p.runs,
                    p.reserved_kib / 1024.0,
                    p.compact_stall_per_h,
                    p.oom_kills_per_day
                )
            }
            Recommendation::OomKills { fewest } => {
                let p = &self.points[fewest];
                format!(
                    "no setting qualifies: every setting that keeps P(failure within {horizon}) \
                     under the target {} OOM-kills pods in too many runs; the fewest is {}/{} = \
                     {:.3} at {} ({:.2} OOM kills/day): the node runs out of memory at these \
                     settings\n",
                    self.target,
                    p.oom_runs,
                    p.runs,
                    p.p_oom,
                    p.settings.join(", "),
                    p.oom_kills_per_day
                )
            }
            Recommendation::NoneQualifies { lowest: Some(i) } => {
                let p = &self.points[i];
                format!(
                    "no setting qualifies: none keeps P(failure within {horizon}) under the \
                     target {}; the lowest is {}/{} = {:.3} at {}\n",
                    self.target,
                    p.failed,
                    p.runs,
                    p.p_fail,
                    p.settings.join(", ")
                )
            }
            Recommendation::NoneQualifies { lowest: None } => {
                "no setting qualifies: there are no results\n".to_string()
            }
        };
        let fewest = self.points.iter().map(|p| p.runs).min().unwrap_or(0);
        if fewest > 0 && 1.0 / fewest as f64 >= self.target {
            let _ = writeln!(
                out,
                "note: with {fewest} run{} per setting one run with a failure (or an OOM kill) is \
                 already a share of {:.3} ≥ {}: only settings where no run had one qualify; add \
                 seeds for a finer estimate",
                if fewest == 1 { "" } else { "s" },
                1.0 / fewest as f64,
                self.target
            );
        }
        out
    }
}

/// The least costly point with `p_fail < target` and `p_oom < target`: least `reserved_kib`,
/// then fewest compaction stalls per hour, then the first in grid order.
fn recommend(points: &[Point], target: f64) -> Recommendation {
    let spared = || points.iter().enumerate().filter(|(_, p)| p.p_fail < target);
    let best = spared()
        .filter(|(_, p)| p.p_oom < target)
        .min_by(|(_, a), (_, b)| {
            a.reserved_kib
                .total_cmp(&b.reserved_kib)
                .then(a.compact_stall_per_h.total_cmp(&b.compact_stall_per_h))
        });
    let fewest_oom = spared().min_by(|(_, a), (_, b)| {
        a.p_oom
            .total_cmp(&b.p_oom)
            .then(a.oom_kills_per_day.total_cmp(&b.oom_kills_per_day))
    });
    match (best, fewest_oom) {
        (Some((point, _)), _) => Recommendation::Point { point },
        (None, Some((fewest, _))) => Recommendation::OomKills { fewest },
        (None, None) => Recommendation::NoneQualifies {
            lowest: points
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| a.p_fail.total_cmp(&b.p_fail))
                .map(|(i, _)| i),
        },
    }
}

/// CSV text with `\n` line ends, quoting only a field that needs it.
fn csv_text(rows: &[Vec<String>]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in rows {
        w.write_record(row).expect("writing to memory cannot fail");
    }
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the fields are UTF-8")
}

/// A time for people: `42s`, `17.5m`, `6.2h`, `12.4d`.
pub fn short_duration(s: f64) -> String {
    if s >= 2.0 * 86_400.0 {
        format!("{:.1}d", s / 86_400.0)
    } else if s >= 3_600.0 {
        format!("{:.1}h", s / 3_600.0)
    } else if s >= 60.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{s:.0}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::run::FirstFailure;

    const DAY: f64 = 86_400.0;

    /// A fake run of point `settings`: fails at `fail_s` (or runs the 10 days), reserving
    /// `reserved` KiB, with `stalls` compaction stalls, `ooms` OOM kills and 100 + 50 pages
    /// reclaimed.
    fn result(
        index: usize,
        settings: &[&str],
        fail_s: Option<f64>,
        reserved: u64,
        (stalls, ooms): (u64, u64),
    ) -> RunResult {
        RunResult {
            index,
            id: format!("{},seed#{index}", settings.join(",")),
            settings: settings.iter().map(|s| s.to_string()).collect(),
            replicate: 0,
            seed: index as u64,
            summary: Summary {
                scenario: "t".into(),
                seed: index as u64,
                kernel: "3.10".into(),
                simulated_s: 10.0 * DAY,
                pods_started: 10,
                pod_start_failures: fail_s.map_or(0, |_| 1),
                first_failure: fail_s.map(|time_s| FirstFailure {
                    time_s,
                    pod: 3,
                    order: 6,
                    reason: "no_block_of_order".into(),
                }),
                oom_kills: ooms,
                min_free_order6_blocks: 0,
                reserved_kib: reserved,
                compact_stall: stalls,
                compact_success: 0,
                compact_fail: 0,
                allocstall: 0,
                pgscan_kswapd: 0,
                pgscan_direct: 0,
                pgsteal_kswapd: 100,
                pgsteal_direct: 50,
                memcg_kmem_ids: 0,
                memcg_zombies: 0,
                final_buddyinfo: String::new(),
                extfrag_threshold_same_run: None,
                notes: Vec::new(),
            },
        }
    }

    /// A fake grid point of four runs: `(setting, failure time per run, reserved, stalls per
    /// run, OOM kills per run)`.
    type Spec<'a> = (&'a str, [Option<f64>; 4], u64, u64, [u64; 4]);

    /// The runs of `spec`'s points, given out of order.
    fn points(spec: &[Spec]) -> Vec<RunResult> {
        let mut v = Vec::new();
        for (p, &(setting, fails, reserved, stalls, ooms)) in spec.iter().enumerate() {
            for (k, (f, o)) in fails.into_iter().zip(ooms).enumerate() {
                v.push(result(p * 4 + k, &[setting], f, reserved, (stalls, o)));
            }
        }
        v.reverse();
        v
    }

    /// `m=1` fails twice (cheap), `m=2` never (dear, stalls), `m=3` never (as dear, fewer
    /// stalls); no OOM kills.
    fn fake() -> Vec<RunResult> {
        points(&[
            (
                "m=1",
                [Some(2.0 * DAY), None, Some(4.0 * DAY), None],
                1000,
                0,
                [0; 4],
            ),
            ("m=2", [None; 4], 4000, 24, [0; 4]),
            ("m=3", [None; 4], 4000, 12, [0; 4]),
        ])
    }

    fn report(target: f64) -> SweepReport {
        SweepReport::new("t", vec!["m".into()], 10.0 * DAY, target, &fake())
    }

    #[test]
    fn aggregates_per_point_in_grid_order() {
        let r = report(0.05);
        assert_eq!(r.runs, 12);
        let m1 = &r.points[0];
        assert_eq!(m1.settings, ["m=1"]);
        assert_eq!((m1.runs, m1.failed, m1.p_fail), (4, 2, 0.5));
        // KM with failures at 2 d and 4 d of four runs: S = 3/4, then 2/4: median 4 d,
        // 5 % at 2 d, never as low as 5 %.
        assert_eq!(m1.median_s, Some(4.0 * DAY));
        assert_eq!((m1.lo90_s, m1.hi90_s), (Some(2.0 * DAY), None));
        assert_eq!(m1.reserved_kib, 1000.0);
        // 150 pages reclaimed per run over 4 × 240 h.
        assert_eq!(m1.pgsteal_per_h, 600.0 / 960.0);
        let m2 = &r.points[1];
        assert_eq!((m2.failed, m2.p_fail, m2.median_s), (0, 0.0, None));
        assert_eq!(m2.compact_stall_per_h, 96.0 / 960.0);
    }

    #[test]
    fn recommends_the_cheapest_under_target_ties_by_stalls() {
        // m=1 is cheapest but fails half the time; m=2 and m=3 reserve the same, m=3 stalls less.
        assert_eq!(
            report(0.05).recommendation,
            Recommendation::Point { point: 2 }
        );
        // A lax target lets the cheap one through.
        assert_eq!(
            report(0.6).recommendation,
            Recommendation::Point { point: 0 }
        );
        // p_fail must stay strictly under the target.
        assert_eq!(
            report(0.5).recommendation,
            Recommendation::Point { point: 2 }
        );
        let text = report(0.05).text();
        assert!(
            text.contains("recommended: m=3 (P(failure within 10.0d) = 0/4"),
            "{text}"
        );
        assert!(text.contains("note: with 4 runs per setting"), "{text}");
    }

    #[test]
    fn says_when_no_setting_qualifies() {
        let only_failing: Vec<RunResult> = fake()
            .into_iter()
            .filter(|r| r.settings[0] == "m=1")
            .collect();
        let r = SweepReport::new("t", vec!["m".into()], 10.0 * DAY, 0.05, &only_failing);
        assert_eq!(
            r.recommendation,
            Recommendation::NoneQualifies { lowest: Some(0) }
        );
        assert!(r
            .text()
            .contains("no setting qualifies: none keeps P(failure within 10.0d) under the target 0.05; the lowest is 2/4 = 0.500 at m=1"));
        let empty = SweepReport::new("t", vec!["m".into()], DAY, 0.05, &[]);
        assert_eq!(
            empty.recommendation,
            Recommendation::NoneQualifies { lowest: None }
        );
    }

    #[test]
    fn a_setting_whose_runs_oom_kill_pods_does_not_qualify() {
        // m=1 is the cheapest and never fails, but the OOM killer takes pods in two of its runs.
        let spec = [
            ("m=1", [None; 4], 1000, 0, [0, 3, 0, 1]),
            ("m=2", [None; 4], 4000, 0, [0; 4]),
        ];
        let sweep =
            |target| SweepReport::new("t", vec!["m".into()], 10.0 * DAY, target, &points(&spec));
        // p_oom, like p_fail, must stay strictly under the target.
        let picks = [0.05, 0.5, 0.6].map(|t| sweep(t).recommendation);
        let point = |point| Recommendation::Point { point };
        assert_eq!(picks, [point(1), point(1), point(0)]);
        let r = sweep(0.05);
        assert_eq!((r.points[0].oom_runs, r.points[0].p_oom), (2, 0.5));
        assert_eq!(r.points[0].oom_kills_per_day, 4.0 * 24.0 / 960.0);
        assert!(
            r.text().contains(
                "recommended: m=2 (P(failure within 10.0d) = 0/4 = 0.000 < target 0.05; OOM kills \
                 in 0/4 runs; reserves 3.9 MiB"
            ),
            "{}",
            r.text()
        );

        // Every point that spares the cache OOM-kills: the sweep names the one that kills least.
        let spec = [
            ("m=1", [Some(DAY); 4], 1000, 0, [0; 4]),
            ("m=2", [None; 4], 4000, 0, [1, 1, 0, 0]),
            ("m=3", [None; 4], 8000, 0, [1, 1, 1, 1]),
        ];
        let r = SweepReport::new("t", vec!["m".into()], 10.0 * DAY, 0.05, &points(&spec));
        assert_eq!(r.recommendation, Recommendation::OomKills { fewest: 1 });
        assert!(
            r.text().contains(
                "no setting qualifies: every setting that keeps P(failure within 10.0d) under the \
                 target 0.05 OOM-kills pods in too many runs; the fewest is 2/4 = 0.500 at m=2 \
                 (0.05 OOM kills/day)"
            ),
            "{}",
            r.text()
        );
    }

    #[test]
    fn failures_after_the_horizon_are_censored() {
        let late = result(0, &["m=1"], Some(20.0 * DAY), 1, (0, 0));
        let r = SweepReport::new("t", vec!["m".into()], 10.0 * DAY, 0.05, &[late]);
        assert_eq!((r.points[0].failed, r.points[0].p_fail), (0, 0.0));
        // The curve stays at 1 up to the horizon, where the run was censored.
        let steps = &r.points[0].survival.steps;
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[1].time_s, steps[1].survival), (10.0 * DAY, 1.0));
    }

    #[test]
    fn csv_files_follow_the_formats() {
        let r = report(0.05);
        let sweep = r.sweep_csv();
        let lines: Vec<&str> = sweep.lines().collect();
        assert_eq!(
            lines[0],
            "m,runs,failed,p_fail,median_s,lo90_s,hi90_s,reserved_kib,compact_stall_per_h,pgsteal_per_h,oom_kills_per_day,oom_runs,p_oom"
        );
        assert_eq!(lines[1], "1,4,2,0.5,345600,172800,,1000,0,0.625,0,0,0");
        assert_eq!(lines[3], "3,4,0,0,,,,4000,0.05,0.625,0,0,0");
        assert!(!sweep.contains('\r'));
        let survival = r.survival_csv();
        let lines: Vec<&str> = survival.lines().collect();
        assert_eq!(lines[0], "point,time_s,survival,lower,upper");
        assert_eq!(lines[1], "m=1,0,1,1,1");
        assert!(lines[2].starts_with("m=1,172800,0.75,"));
        assert!(lines[3].starts_with("m=1,345600,0.5,"));
        // Each curve runs to the horizon, where its surviving runs were censored.
        assert!(lines[4].starts_with("m=1,864000,0.5,"));
        assert_eq!(lines[5], "m=2,0,1,1,1");
        assert_eq!(lines[6], "m=2,864000,1,1,1");
        assert_eq!(lines.len(), 1 + 4 + 2 + 2);
    }

    #[test]
    fn same_table_whatever_the_result_order() {
        let mut forward = fake();
        forward.reverse();
        let a = SweepReport::new("t", vec!["m".into()], 10.0 * DAY, 0.05, &forward);
        assert_eq!(a, report(0.05));
        assert_eq!(a.json(), report(0.05).json());
    }
}
