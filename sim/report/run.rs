//! A run's report: the human summary, and the files of its output folder (formats in the
//! book's "Output files" reference): `summary.json`, `buddyinfo.csv`, `vmstat.csv`,
//! `events.jsonl`, `pageblocks-start.csv`, `pageblocks-end.csv` and the final /proc text.

use crate::capture::version::banner;
use crate::report::output::write_atomic;
use crate::scenario::OutputFile;
use crate::workload::run::{RunOutput, Summary, VMSTAT_COLUMNS};
use crate::workload::system::PageblockRow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The human summary: the prediction first, then the work the kernel did.
pub fn summary_text(s: &Summary) -> String {
    let mut t = String::new();
    let simulated = if s.simulated_s >= 86_400.0 {
        format!("{:.1} days", s.simulated_s / 86_400.0)
    } else {
        crate::report::sweep::short_duration(s.simulated_s)
    };
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
    let attempts = s.pods_started + s.pod_start_failures;
    let _ = writeln!(
        t,
        "pod starts: {attempts} attempted, {} failed ({:.1} %)",
        s.pod_start_failures,
        if attempts > 0 {
            100.0 * s.pod_start_failures as f64 / attempts as f64
        } else {
            0.0
        }
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
        "memcg: {} kmem ids in use, {} zombies; reserved by watermarks (high): {} KiB",
        s.memcg_kmem_ids, s.memcg_zombies, s.reserved_kib
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
