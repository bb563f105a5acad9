//! A run's report: the human summary, and the files of its output folder (formats in the
//! book's "Output files" reference): `summary.json`, `buddyinfo.csv`, `vmstat.csv`,
//! `events.jsonl`, `pageblocks-start.csv`, `pageblocks-end.csv` and the final /proc text.

use crate::capture::version::banner;
use crate::report::advice::{remedies_text, Creations, Remedy};
use crate::report::output::write_atomic;
use crate::report::survival::{first_failure, KaplanMeier, Observation};
use crate::scenario::{OutputFile, Size};
use crate::workload::run::{RunOutput, Summary, VMSTAT_COLUMNS};
use crate::workload::system::PageblockRow;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The human summary: the prediction first, then the work the kernel did.
pub fn summary_text(s: &Summary) -> String {
    let mut t = String::new();
    let simulated = simulated(s.simulated_s);
    let _ = writeln!(
        t,
        "scenario {} (kernel {}, seed {}): {simulated} simulated",
        s.scenario, s.kernel, s.seed
    );
    match &s.first_failure {
        Some(f) => {
            let _ = writeln!(
                t,
                "first conntrack-cache creation failure: {} (day {:.2}), pod #{}, order {}, {}",
                duration(f.time_s),
                f.time_s / 86_400.0,
                f.pod,
                f.order,
                f.reason
            );
        }
        None => {
            let _ = writeln!(t, "no conntrack-cache creation failed within the horizon");
        }
    }
    let _ = writeln!(
        t,
        "pod starts: {} attempted, {} failed ({:.1} %)",
        s.pods_started + s.pod_start_failures,
        s.pod_start_failures,
        failed_pct(s)
    );
    let _ = writeln!(t, "OOM killer: {} pods killed", s.oom_kills);
    let _ = writeln!(
        t,
        "least free blocks of order >= 6 an order-6 GFP_KERNEL request may use, at a sample: {}",
        s.min_free_order6_blocks
    );
    let _ = writeln!(
        t,
        "compaction: {} stalls ({} success, {} fail); reclaim: {} pages by kswapd, {} direct ({} stalls)",
        s.compact_stall, s.compact_success, s.compact_fail, s.pgsteal_kswapd, s.pgsteal_direct, s.allocstall
    );
    let _ = writeln!(
        t,
        "memcg: {} kmem ids in use, {} zombies; reserved by watermarks (high): {}",
        s.memcg_kmem_ids,
        s.memcg_zombies,
        Size(s.reserved_kib * 1024).approx()
    );
    if let Some(r) = s.extfrag_threshold_same_run {
        let _ = match r.decisions {
            0 => writeln!(
                t,
                "vm.extfrag_threshold: never compared (no fragmentation index of 0 or more); \
                 any value from {} to {} gives this same run",
                r.min, r.max
            ),
            n => writeln!(
                t,
                "vm.extfrag_threshold: compared in {n} compaction decisions; any value from {} \
                 to {} gives this same run",
                r.min, r.max
            ),
        };
    }
    let _ = write!(t, "final /proc/buddyinfo:\n{}", s.final_buddyinfo);
    for n in &s.notes {
        let _ = writeln!(t, "note: {n}");
    }
    t
}

/// A run over several seeds: each seed's summary, and what they say together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedsReport {
    pub scenario: String,
    pub kernel: String,
    pub seeds: Vec<u64>,
    /// Seeds whose conntrack-cache creation failed within the horizon.
    pub failed: usize,
    /// Time to first failure (seconds): the Kaplan–Meier median over the seeds (those without
    /// a failure censored at their end), `None` when fewer than half failed; and the least and
    /// greatest over the seeds that failed.
    pub first_failure_median_s: Option<f64>,
    pub first_failure_min_s: Option<f64>,
    pub first_failure_max_s: Option<f64>,
    /// Failed pod starts in percent of attempts: median (the mean of the middle two for an
    /// even count), least and greatest over the seeds.
    pub failed_starts_pct: [f64; 3],
    pub remedies: Vec<Remedy>,
    pub runs: Vec<Summary>,
    pub creations: Vec<Creations>,
}

impl SeedsReport {
    pub fn new(runs: Vec<Summary>, creations: Vec<Creations>, remedies: Vec<Remedy>) -> Self {
        let obs: Vec<Observation> = runs
            .iter()
            .map(|s| first_failure(s, s.simulated_s))
            .collect();
        let times: Vec<f64> = obs.iter().filter(|o| o.failed).map(|o| o.time_s).collect();
        let mut pct: Vec<f64> = runs.iter().map(failed_pct).collect();
        pct.sort_by(f64::total_cmp);
        let n = pct.len();
        SeedsReport {
            scenario: runs[0].scenario.clone(),
            kernel: runs[0].kernel.clone(),
            seeds: runs.iter().map(|s| s.seed).collect(),
            failed: times.len(),
            first_failure_median_s: KaplanMeier::estimate(&obs).median(),
            first_failure_min_s: times.iter().copied().reduce(f64::min),
            first_failure_max_s: times.iter().copied().reduce(f64::max),
            failed_starts_pct: [(pct[(n - 1) / 2] + pct[n / 2]) / 2.0, pct[0], pct[n - 1]],
            remedies,
            runs,
            creations,
        }
    }

    /// The headline over the seeds, each seed's line and the remedies.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let (first, last) = (self.seeds[0], self.seeds[self.seeds.len() - 1]);
        let _ = writeln!(
            t,
            "scenario {} (kernel {}, seeds {first} to {last}): {} simulated each",
            self.scenario,
            self.kernel,
            simulated(self.runs[0].simulated_s)
        );
        let n = self.seeds.len();
        let day = |s: f64| format!("day {:.2}", s / 86_400.0);
        let _ =
            match (self.first_failure_min_s, self.first_failure_max_s) {
                (Some(lo), Some(hi)) => writeln!(
                t,
                "first conntrack-cache creation failure: {} of {n} seeds fail; {}, range {} to {}",
                self.failed,
                self.first_failure_median_s
                    .map_or("median beyond the horizon".into(), |m| format!("median {}", day(m))),
                day(lo),
                if self.failed < n {
                    "no failure within the horizon".into()
                } else {
                    day(hi)
                }
            ),
                _ => writeln!(
                    t,
                    "no conntrack-cache creation failed within the horizon in any of {n} seeds"
                ),
            };
        let [med, lo, hi] = self.failed_starts_pct;
        let _ = writeln!(
            t,
            "pod starts failed: {med:.1} % median, range {lo:.1} to {hi:.1} %"
        );
        for s in &self.runs {
            let failure = s.first_failure.as_ref().map_or("no failure".into(), |f| {
                format!(
                    "first failure {} (order {}, {})",
                    day(f.time_s),
                    f.order,
                    f.reason
                )
            });
            let _ = writeln!(
                t,
                "  seed {}: {failure}; {} of {} starts failed ({:.1} %); {} pods OOM-killed",
                s.seed,
                s.pod_start_failures,
                s.pods_started + s.pod_start_failures,
                failed_pct(s),
                s.oom_kills
            );
        }
        t.push_str(&remedies_text(&self.remedies));
        t
    }

    /// `seeds.csv`: one line per seed.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "seed,first_failure_s,first_failure_order,pods_started,pod_start_failures,oom_kills,\
             least_failed_order",
        );
        for k in 2..=10 {
            let _ = write!(s, ",first_order_{k}_s");
        }
        s.push('\n');
        for (r, c) in self.runs.iter().zip(&self.creations) {
            let f = r.first_failure.as_ref();
            let _ = write!(
                s,
                "{},{},{},{},{},{},{}",
                r.seed,
                opt(f.map(|f| f.time_s)),
                opt(f.map(|f| f.order)),
                r.pods_started,
                r.pod_start_failures,
                r.oom_kills,
                opt(c.least_failed_order.flatten()),
            );
            for k in 2..=10 {
                let _ = write!(s, ",{}", opt(c.first_at_order.get(&k)));
            }
            s.push('\n');
        }
        s
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn failed_pct(s: &Summary) -> f64 {
    let attempts = s.pods_started + s.pod_start_failures;
    if attempts > 0 {
        100.0 * s.pod_start_failures as f64 / attempts as f64
    } else {
        0.0
    }
}

/// `10.0 days`, or a short duration under a day.
fn simulated(secs: f64) -> String {
    if secs >= 86_400.0 {
        format!("{:.1} days", secs / 86_400.0)
    } else {
        crate::report::sweep::short_duration(secs)
    }
}

/// `90061` → `1d 1h 1m 1s`.
fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m")] {
        if v > 0 || !out.is_empty() {
            let _ = write!(out, "{v}{u} ");
        }
    }
    let _ = write!(out, "{sec}s");
    out
}

fn buddyinfo_csv(o: &RunOutput) -> String {
    let mut s = String::from("time_s,node,zone,nr_free_pages");
    for k in 0..11 {
        let _ = write!(s, ",order_{k}");
    }
    s.push_str(",min,low,high\n");
    for r in &o.zones {
        let _ = write!(
            s,
            "{},{},{},{}",
            r.time_s,
            r.node,
            r.zone.name(),
            r.nr_free_pages
        );
        for f in r.free {
            let _ = write!(s, ",{f}");
        }
        let _ = writeln!(s, ",{},{},{}", r.min, r.low, r.high);
    }
    s
}

fn vmstat_csv(o: &RunOutput) -> String {
    let mut s = format!("time_s,{}\n", VMSTAT_COLUMNS.join(","));
    for r in &o.vmstat {
        let _ = write!(s, "{}", r.time_s);
        for v in r.values {
            let _ = write!(s, ",{v}");
        }
        s.push('\n');
    }
    s
}

fn events_jsonl(o: &RunOutput) -> String {
    let mut s = String::new();
    for e in &o.events {
        s.push_str(&serde_json::to_string(e).expect("events serialize"));
        s.push('\n');
    }
    s
}

fn pageblocks_csv(rows: &[PageblockRow]) -> String {
    let mut s = String::from(
        "node,zone,start_pfn,migratetype,free_pages,slab_pages,movable_pages,other_pages\n",
    );
    for r in rows {
        let [f, sl, m, ot] = r.counts;
        let _ = writeln!(
            s,
            "{},{},{},{},{f},{sl},{m},{ot}",
            r.node,
            r.zone.name(),
            r.start_pfn,
            r.migratetype
        );
    }
    s
}

/// Writes the files `files` selects into `dir` (created if missing); returns their paths.
pub fn write_outputs(
    dir: &Path,
    o: &RunOutput,
    files: &[OutputFile],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out: Vec<(&str, String)> = Vec::new();
    for f in files {
        match f {
            OutputFile::Summary => out.push((
                "summary.json",
                serde_json::to_string_pretty(&o.summary).expect("summary serializes") + "\n",
            )),
            OutputFile::Timeseries => {
                out.push(("buddyinfo.csv", buddyinfo_csv(o)));
                out.push(("vmstat.csv", vmstat_csv(o)));
                out.push(("pageblocks-start.csv", pageblocks_csv(&o.pageblocks_start)));
                out.push(("pageblocks-end.csv", pageblocks_csv(&o.pageblocks_end)));
            }
            OutputFile::Events => {
                out.push(("events.jsonl", events_jsonl(o)));
                if let Some(report) = &o.first_failure_report {
                    out.push(("first-failure.txt", report.clone()));
                }
            }
            OutputFile::Buddyinfo => out.push(("buddyinfo", o.final_text.buddyinfo.clone())),
            OutputFile::Pagetypeinfo => {
                out.push(("pagetypeinfo", o.final_text.pagetypeinfo.clone()))
            }
            OutputFile::Zoneinfo => out.push(("zoneinfo", o.final_text.zoneinfo.clone())),
            OutputFile::Slabinfo => out.push(("slabinfo", o.final_text.slabinfo.clone())),
        }
    }
    // The /proc files carry their kernel: reading the folder back gives the run's profile.
    let procfs = [
        OutputFile::Buddyinfo,
        OutputFile::Pagetypeinfo,
        OutputFile::Zoneinfo,
        OutputFile::Slabinfo,
    ];
    if let (true, Ok(p)) = (
        files.iter().any(|f| procfs.contains(f)),
        crate::kernel::profile(&o.summary.kernel),
    ) {
        out.push(("version", banner(p.release, p.name)));
    }
    let mut paths = Vec::new();
    for (name, text) in out {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        paths.push(p);
    }
    Ok(paths)
}
