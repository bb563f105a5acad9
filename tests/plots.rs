//! The plots of `report::plot` on small but realistic output folders written here per book/src/reference/outputs.md:
//! every expected file is written, PNGs have the intended size and are not blank (several colours,
//! dark text pixels in the title band), SVGs carry the axis labels, and a rerun is byte-identical;
//! the committed validation figures (plots/validation/) match a fresh `buddysim compare`; and every
//! figure the README and the book show exists and is drawn.

mod common;

use buddysim::report::plot::{plot_dir, plot_dir_to, PlotError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A run folder: a 16 GiB node on 3.10 whose Normal zone loses its order-6+ blocks after an
/// hour, when the conntrack cache creations start failing.
fn run_folder(dir: &Path) {
    let summary = r#"{
  "scenario": "k8s-node-3.10",
  "seed": 7,
  "kernel": "3.10",
  "simulated_s": 7200.0,
  "pods_started": 60,
  "pod_start_failures": 12,
  "first_failure": {"time_s": 3720.0, "pod": 31, "order": 6, "reason": "no_block_of_order"},
  "min_free_order6_blocks": 0,
  "reserved_kib": 101376
}"#;
    std::fs::write(dir.join("summary.json"), summary).unwrap();

    let mut buddy = String::from("time_s,node,zone,nr_free_pages");
    for k in 0..11 {
        write!(buddy, ",order_{k}").unwrap();
    }
    buddy.push_str(",min,low,high\n");
    let mut vmstat = String::from(
        "time_s,nr_free_pages,nr_anon_pages,nr_file_pages,nr_slab_reclaimable,\
         nr_slab_unreclaimable,nr_kernel_stack,nr_page_table_pages,pgscan_kswapd,pgscan_direct,\
         pgsteal_kswapd,pgsteal_direct,allocstall,compact_stall,compact_fail,compact_success,\
         compact_migrate_scanned,compact_free_scanned,kswapd_runs,kcompactd_runs,pods_running,\
         memcg_kmem_ids,memcg_zombies,memcg_array_entries,netns\n",
    );
    let mut events = String::new();
    for i in 0..=120u64 {
        let t = i as f64 * 60.0;
        let frac = i as f64 / 120.0;
        // DMA32 stays healthy; Normal fragments: high orders vanish halfway.
        let dma32: Vec<u64> = (0..11)
            .map(|k| [900, 500, 300, 200, 120, 80, 40, 20, 10, 6, 150][k])
            .collect();
        let normal: Vec<u64> = (0..11)
            .map(|k| {
                let base = [
                    40000.0, 18000.0, 6000.0, 1500.0, 400.0, 90.0, 30.0, 12.0, 5.0, 2.0, 40.0,
                ][k];
                let keep = if k >= 6 {
                    (1.0 - 2.0 * frac).max(0.0)
                } else {
                    1.0 - 0.5 * frac
                };
                (base * keep).round() as u64
            })
            .collect();
        for (zone, free, marks) in [
            ("DMA32", &dma32, [2000, 2500, 3000]),
            ("Normal", &normal, [14000, 17500, 21000]),
        ] {
            let pages: u64 = free.iter().enumerate().map(|(k, n)| n << k).sum();
            write!(buddy, "{t},0,{zone},{pages}").unwrap();
            for n in free {
                write!(buddy, ",{n}").unwrap();
            }
            writeln!(buddy, ",{},{},{}", marks[0], marks[1], marks[2]).unwrap();
        }
        let c = |per_min: f64| (per_min * i as f64 * (1.0 + 3.0 * frac)) as u64;
        writeln!(
            vmstat,
            "{t},150000,2000000,1000000,50000,80000,3000,9000,{},{},{},{},{},{},{},{},0,0,{},{},{},{},{},{},{}",
            c(900.0),
            c(40.0),
            c(800.0),
            c(30.0),
            c(0.2),
            c(0.5),
            c(0.3),
            c(0.2),
            i,
            i / 2,
            i / 2,
            i,
            i / 3,
            i * 64,
            i / 2
        )
        .unwrap();
        if i % 2 == 0 {
            let ok = i < 62;
            let reason = if ok { "null" } else { "\"no_block_of_order\"" };
            writeln!(
                events,
                r#"{{"time_s":{t},"event":"pod_start","pod":{},"ok":{ok}}}"#,
                i / 2
            )
            .unwrap();
            writeln!(
                events,
                r#"{{"time_s":{t},"event":"cache_create","pod":{},"cache":"nf_conntrack_{}","size":{},"order":{},"ok":{ok},"reason":{reason}}}"#,
                i / 2,
                i / 2,
                i * 1024,
                if i < 20 { "null".to_string() } else { "6".to_string() }
            )
            .unwrap();
        }
        if i == 90 {
            writeln!(
                events,
                r#"{{"time_s":{t},"event":"action","action":"drop_caches 2"}}"#
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("buddyinfo.csv"), buddy).unwrap();
    std::fs::write(dir.join("vmstat.csv"), vmstat).unwrap();
    std::fs::write(dir.join("events.jsonl"), events).unwrap();

    for (when, mix) in [("start", 0u64), ("end", 1)] {
        let mut csv = String::from(
            "node,zone,start_pfn,migratetype,free_pages,slab_pages,movable_pages,other_pages\n",
        );
        let zones = [
            ("DMA", 0u64, 8u64),
            ("DMA32", 512, 40),
            ("Normal", 1 << 20, 300),
        ];
        for (zone, start, blocks) in zones {
            for b in 0..blocks {
                let pfn = start + b * 512;
                let kind = match (b * 7 + mix * b * 3) % 23 {
                    0 | 5 => "Unmovable",
                    9 => "Reclaimable",
                    _ => "Movable",
                };
                let free = if mix == 0 {
                    512 - (b * 37 % 300)
                } else {
                    b * 53 % 513
                };
                let slab = if kind == "Movable" {
                    0
                } else {
                    (512 - free) / 2
                };
                let movable = 512 - free - slab;
                writeln!(csv, "0,{zone},{pfn},{kind},{free},{slab},{movable},0").unwrap();
            }
        }
        std::fs::write(dir.join(format!("pageblocks-{when}.csv")), csv).unwrap();
    }
}

/// A sweep folder: three extfrag thresholds × two min_free_kbytes, the high reserve never failing.
fn sweep_folder(dir: &Path) {
    let mut results = String::new();
    let mut sweep = String::from(
        "vm.extfrag_threshold,vm.min_free_kbytes,runs,failed,p_fail,median_s,lo90_s,hi90_s,\
         reserved_kib,compact_stall_per_h,pgsteal_per_h\n",
    );
    let mut survival = String::from("point,time_s,survival,lower,upper\n");
    let mut index = 0;
    for extfrag in [100, 500, 900] {
        for min_free in [67584, 262144] {
            let point = format!("vm.extfrag_threshold={extfrag};vm.min_free_kbytes={min_free}");
            for rep in 0..2 {
                writeln!(
                    results,
                    r#"{{"index":{index},"id":"{point},seed#{rep}","settings":["vm.extfrag_threshold={extfrag}","vm.min_free_kbytes={min_free}"],"replicate":{rep},"seed":{rep},"summary":{{"scenario":"k8s-node-3.10","seed":{rep},"kernel":"3.10"}}}}"#
                )
                .unwrap();
                index += 1;
            }
            let failing = min_free == 67584;
            let median = if failing {
                format!("{}", 3000 + extfrag * 10)
            } else {
                String::new()
            };
            let (lo, hi) = if failing {
                (
                    format!("{}", 2000 + extfrag * 10),
                    format!("{}", 5000 + extfrag * 10),
                )
            } else {
                (String::new(), String::new())
            };
            writeln!(
                sweep,
                "{extfrag},{min_free},8,{},{},{median},{lo},{hi},{},12.5,40000",
                if failing { 6 } else { 1 },
                if failing { 0.75 } else { 0.125 },
                min_free * 3 / 2
            )
            .unwrap();
            writeln!(survival, "{point},0,1,1,1").unwrap();
            let steps = if failing { 6 } else { 1 };
            let mut s = 1.0f64;
            for k in 1..=steps {
                s -= 0.125;
                let t = 1000.0 + (k as f64) * (800.0 + extfrag as f64);
                writeln!(
                    survival,
                    "{point},{t},{s},{},{}",
                    (s - 0.2).max(0.0),
                    (s + 0.15).min(1.0)
                )
                .unwrap();
            }
        }
    }
    std::fs::write(dir.join("results.jsonl"), results).unwrap();
    std::fs::write(dir.join("sweep.csv"), sweep).unwrap();
    std::fs::write(dir.join("survival.csv"), survival).unwrap();
}

/// A validation comparison: one run, two marks of one zone, and the operations' counts.
fn compare_folder(dir: &Path) {
    let mut free = String::from("run,mark,node,zone,order,real,simulated\n");
    for mark in ["after-fill", "after-free"] {
        for order in 0..11u64 {
            let real = 20000 >> (order + 1);
            let simulated = real + real / 10 + order % 3;
            writeln!(free, "qemu-4.19,{mark},0,Normal,{order},{real},{simulated}").unwrap();
        }
    }
    let mut counts = String::from("run,line,op,group,order,requested,real,simulated\n");
    for line in 1..=12u64 {
        let requested = 1000 * line;
        writeln!(
            counts,
            "qemu-4.19,{line},alloc,g{},{},{requested},{},{}",
            line % 3,
            line % 4,
            requested - 30 * line,
            requested - 25 * line
        )
        .unwrap();
    }
    std::fs::write(dir.join("comparison-free.csv"), free).unwrap();
    std::fs::write(dir.join("comparison-counts.csv"), counts).unwrap();
}

/// Checks one plot: the PNG's size, that it is drawn, and the SVG's labels.
fn check(out: &Path, stem: &str, size: (u32, u32), labels: &[&str]) {
    assert_eq!(
        common::assert_drawn(&out.join(format!("{stem}.png"))),
        size,
        "{stem}.png size"
    );
    let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
    assert!(svg.starts_with("<svg"), "{stem}.svg");
    for label in labels {
        assert!(svg.contains(label), "{stem}.svg lacks {label:?}");
    }
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn bytes(files: &[PathBuf]) -> Vec<Vec<u8>> {
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn run_folder_plots() {
    let dir = tempfile::tempdir().unwrap();
    run_folder(dir.path());
    let files = plot_dir(dir.path()).unwrap();
    let out = dir.path().join("plots");
    assert_eq!(
        names(&files),
        [
            "freeblocks-0-DMA32.png",
            "freeblocks-0-DMA32.svg",
            "freeblocks-0-Normal.png",
            "freeblocks-0-Normal.svg",
            "conntrack.png",
            "conntrack.svg",
            "pageblocks-Normal-start.png",
            "pageblocks-Normal-start.svg",
            "pageblocks-Normal-end.png",
            "pageblocks-Normal-end.svg",
            "activity.png",
            "activity.svg",
        ]
    );
    assert!(files.iter().all(|f| f.parent() == Some(out.as_path())));
    let time = "simulated time (min)";
    check(
        &out,
        "freeblocks-0-Normal",
        (1100, 520),
        &[
            time,
            "order (block = 2^order pages)",
            "k8s-node-3.10 (kernel 3.10, seed 7)",
            "free blocks (log scale; grey: 0)",
        ],
    );
    check(
        &out,
        "conntrack",
        (1100, 760),
        &[
            time,
            "free memory in Normal (MiB, log scale)",
            "largest free order in Normal",
            "cache creation failed",
        ],
    );
    // 300 blocks: 5 rows of 64, 40 pixels each.
    check(
        &out,
        "pageblocks-Normal-end",
        (1100, 40 + 20 + 5 * 40 + 55 + 110),
        &[
            "row start (GiB)",
            "pageblock within the row (64 per row, 2 MiB each)",
            "Unmovable",
            "all free",
        ],
    );
    check(
        &out,
        "activity",
        (1100, 700),
        &[
            time,
            "pages reclaimed per hour",
            "stalls per hour",
            "compact_stall (direct compaction)",
        ],
    );

    // The Normal zone's order-6 row is grey (no block) at the end: the map follows the data.
    let again = plot_dir(dir.path()).unwrap();
    assert_eq!(again, files);
    assert_eq!(
        bytes(&again),
        bytes(&files),
        "a rerun gives identical files"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn sweep_folder_plots() {
    let dir = tempfile::tempdir().unwrap();
    sweep_folder(dir.path());
    let out = dir.path().join("elsewhere");
    let files = plot_dir_to(dir.path(), &out).unwrap();
    assert_eq!(
        names(&files),
        [
            "survival.png",
            "survival.svg",
            "sweep-heatmap.png",
            "sweep-heatmap.svg"
        ]
    );
    check(
        &out,
        "survival",
        (1100, 650),
        &[
            "P(no failure yet)",
            "simulated time (h)",
            "vm.extfrag_threshold=500, vm.min_free_kbytes=67584",
            "k8s-node-3.10 (kernel 3.10)",
        ],
    );
    check(
        &out,
        "sweep-heatmap",
        (1100, 650),
        &[
            "vm.extfrag_threshold",
            "vm.min_free_kbytes",
            "not reached",
            "6 of 8 runs failed",
            "90 %: 0.83–1.67 h",
            "median time to first failure (h)",
        ],
    );
    assert_eq!(
        bytes(&plot_dir_to(dir.path(), &out).unwrap()),
        bytes(&files)
    );
}

#[test]
fn compare_folder_plots() {
    let dir = tempfile::tempdir().unwrap();
    compare_folder(dir.path());
    let files = plot_dir(dir.path()).unwrap();
    assert_eq!(
        names(&files),
        ["validation-qemu-4.19.png", "validation-qemu-4.19.svg"]
    );
    let out = dir.path().join("plots");
    // Three panels (two marks and the counts) in one row.
    check(
        &out,
        "validation-qemu-4.19",
        (3 * 440, 50 + 320),
        &[
            "after-fill: node 0 Normal",
            "real (blocks)",
            "simulated (blocks)",
            "order",
        ],
    );
}

#[test]
fn bad_input_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    run_folder(dir.path());
    let file = dir.path().join("vmstat.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2]
        .replacen(",150000,", ",lots,", 1)
        .replacen("60,", "sixty,", 1);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let err = plot_dir(dir.path()).unwrap_err();
    assert!(matches!(err, PlotError::Parse { line: 3, .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("vmstat.csv:3:") && msg.contains("time_s") && msg.contains("sixty"),
        "{msg}"
    );

    std::fs::write(dir.path().join("sweep.csv"), "vm.x,runs\n1,2\n").unwrap();
    std::fs::remove_file(&file).unwrap();
    let msg = plot_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("sweep.csv:1:") && msg.contains("`failed`"),
        "{msg}"
    );

    let empty = tempfile::tempdir().unwrap();
    assert_eq!(plot_dir(empty.path()).unwrap(), Vec::<PathBuf>::new());
    assert!(
        !empty.path().join("plots").exists(),
        "nothing to plot, no folder"
    );
}

/// Header-only and one-row inputs, odd values: every plot either draws or is skipped, no panic.
#[test]
fn degenerate_inputs_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    run_folder(dir.path());
    sweep_folder(dir.path());
    compare_folder(dir.path());
    for name in [
        "buddyinfo.csv",
        "vmstat.csv",
        "pageblocks-start.csv",
        "pageblocks-end.csv",
        "survival.csv",
        "sweep.csv",
        "comparison-free.csv",
        "comparison-counts.csv",
    ] {
        let file = dir.path().join(name);
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        std::fs::write(&file, format!("{header}\n")).unwrap();
    }
    std::fs::write(dir.path().join("events.jsonl"), "").unwrap();
    let files = plot_dir(dir.path()).unwrap();
    assert!(names(&files).is_empty(), "{:?}", names(&files));

    // One sample, one pageblock, one step, one grid point with no runs, zero counts.
    std::fs::write(
        dir.path().join("buddyinfo.csv"),
        "time_s,node,zone,nr_free_pages,order_0,order_1,order_2,order_3,order_4,order_5,order_6,order_7,order_8,order_9,order_10,min,low,high\n\
         0,0,Normal,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("events.jsonl"),
        "{\"time_s\":0,\"event\":\"cache_create\",\"pod\":0,\"order\":null,\"ok\":false,\"reason\":\"x\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pageblocks-end.csv"),
        "node,zone,start_pfn,migratetype,free_pages,slab_pages,movable_pages,other_pages\n0,Normal,0,Weird,0,0,0,0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("survival.csv"),
        "point,time_s,survival,lower,upper\np,0,1,1,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sweep.csv"),
        "runs,failed,p_fail,median_s,lo90_s,hi90_s,reserved_kib,compact_stall_per_h,pgsteal_per_h\n0,0,0,,,,0,0,0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("comparison-counts.csv"),
        "run,line,op,group,order,requested,real,simulated\nr/1,1,alloc,g,0,0,0,0\n",
    )
    .unwrap();
    let files = plot_dir(dir.path()).unwrap();
    assert_eq!(
        names(&files),
        [
            "freeblocks-0-Normal.png",
            "freeblocks-0-Normal.svg",
            "conntrack.png",
            "conntrack.svg",
            "pageblocks-Normal-end.png",
            "pageblocks-Normal-end.svg",
            "survival.png",
            "survival.svg",
            "sweep-heatmap.png",
            "sweep-heatmap.svg",
            "validation-r_1.png",
            "validation-r_1.svg",
        ]
    );

    std::fs::write(
        dir.path().join("survival.csv"),
        "point,time_s,survival,lower,upper\np,NaN,1,1,1\n",
    )
    .unwrap();
    let msg = plot_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("survival.csv:2:") && msg.contains("finite number"),
        "{msg}"
    );
}

#[test]
fn cli_prints_the_files_written() {
    let dir = tempfile::tempdir().unwrap();
    sweep_folder(dir.path());
    let out = dir.path().join("figs");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .arg("plot")
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: Vec<PathBuf> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    assert_eq!(
        printed,
        [
            "survival.png",
            "survival.svg",
            "sweep-heatmap.png",
            "sweep-heatmap.svg"
        ]
        .map(|n| out.join(n))
    );

    let empty = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .arg("plot")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no input to plot"));
}

/// plots/validation/ is what `buddysim compare` and `buddysim plot` draw now from the recorded
/// real-kernel runs (tests/kernel/results/), as plots/regenerate.sh does; `compare` run outside
/// the repository finds them too.
#[test]
fn committed_validation_figures_match_a_fresh_compare() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .current_dir(dir.path())
        .args(["compare", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = dir.path().join("plots");
    let files = plot_dir_to(dir.path(), &fresh).unwrap();
    for png in files
        .iter()
        .filter(|f| f.extension() == Some("png".as_ref()))
    {
        common::assert_drawn(png);
    }
    common::assert_committed_match(Path::new("plots/validation"), &fresh);
}

/// Every image the README and the book show is a committed figure (mdBook does not check image
/// links): `![…](plots/…)` in README.md, `![…](figures/…)` (the book's link to plots/) in
/// book/src, relative to the chapter.
#[test]
fn every_figure_the_readme_and_book_show_exists() {
    let mut pages = vec![PathBuf::from("README.md")];
    let mut dirs = vec![PathBuf::from("book/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_symlink() {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension() == Some("md".as_ref()) {
                pages.push(path);
            }
        }
    }
    let mut shown = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for link in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if !link.ends_with(".png") {
                continue;
            }
            let file = page.parent().unwrap().join(link);
            assert!(
                file.is_file(),
                "{} shows {link}, which does not exist",
                page.display()
            );
            common::assert_drawn(&file);
            shown += 1;
        }
    }
    assert!(shown >= 15, "only {shown} figures shown");
}
