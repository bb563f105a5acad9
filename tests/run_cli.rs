//! `buddysim run`: outputs, determinism, the JSON summary contract and the error paths.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_buddysim");

/// A small node under fast churn: a few simulated hours in well under a second.
const SMALL: &str = "name: small
seed: 3
kernel: \"3.10\"
machine: {memory: 2GiB, cpus: 2}
workload:
  pods:
    arrivals: {poisson: 600/h}
    lifetime: {exponential: 10m}
    profile:
      threads: 8
      page_tables: 256KiB
      anon: 16MiB
      page_cache: 4MiB
      slab: {dentry: 300, sysfs_dir_cache: 200, kmalloc-192: 100}
  daemons: {count: 2}
  leaks: {zombie_memcg: 0.9, slab_never_freed: {sysfs_dir_cache: 50}}
  background:
    log_rotation: {every: 1h, size: 64MiB}
actions:
  - {at: 2h, drop_caches: 3}
  - {at: 2h30m, compact_memory: true}
  - {at: 3h, sysctl: {vm.min_free_kbytes: 16384}}
probes:
  alloc:
    - {order: 6, gfp: GFP_KERNEL, every: 30m}
duration: 4h
outputs: {sample_interval: 15m}
";

fn scenario(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `buddysim run SCENARIO --format json [EXTRA…] --out OUT`: the JSON summary it prints (of
/// one seed: `--seeds 1` unless EXTRA names a `--seed`).
fn run_json(s: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", s.to_str().unwrap(), "--format", "json"];
    if !extra.contains(&"--seed") {
        args.extend(["--seeds", "1"]);
    }
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    serde_json::from_str(&ok(&args)).unwrap()
}

/// The small scenario, without its actions, with pods that need more memory than the node has.
fn overloaded(duration: &str) -> String {
    SMALL[..SMALL.find("actions:").unwrap()].replace("anon: 16MiB", "anon: 200MiB")
        + &format!("duration: {duration}\n")
}

fn err(args: &[&str]) -> String {
    let o = run(args);
    assert!(!o.status.success(), "{args:?} should fail");
    String::from_utf8(o.stderr).unwrap()
}

#[test]
fn a_run_writes_every_output_and_is_byte_identical_when_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let text = ok(&["run", s.to_str().unwrap(), "--out", a.to_str().unwrap()]);
    ok(&["run", s.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    assert!(
        text.contains("scenario small (kernel 3.10, seed 3): 4.0h simulated\n"),
        "{text}"
    );
    assert!(
        text.contains("final /proc/buddyinfo:\nNode 0, zone      DMA"),
        "{text}"
    );
    for f in [
        "summary.json",
        "buddyinfo.csv",
        "vmstat.csv",
        "events.jsonl",
        "pageblocks-start.csv",
        "pageblocks-end.csv",
        "buddyinfo",
        "pagetypeinfo",
        "zoneinfo",
        "slabinfo",
    ] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is empty");
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    // 17 samples (0 to 4h every 15m) × 2 zones (DMA, DMA32) + header.
    let csv = std::fs::read_to_string(a.join("buddyinfo.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 17 * 2);
    assert!(csv.starts_with("time_s,node,zone,nr_free_pages,order_0,"));
    let events = std::fs::read_to_string(a.join("events.jsonl")).unwrap();
    for kind in [
        "\"event\":\"pod_start\"",
        "\"event\":\"pod_exit\"",
        "\"event\":\"cache_create\"",
        "\"event\":\"probe\"",
        "\"event\":\"memcg_grow\"",
        "\"action\":\"drop_caches 3\"",
        "\"action\":\"compact_memory\"",
        "\"action\":\"sysctl vm.min_free_kbytes=16384\"",
    ] {
        assert!(events.contains(kind), "no {kind} in events.jsonl");
    }
    // Every page of a whole pageblock is counted once, also where the pageblock lies inside a
    // larger block (a fresh boot's order-10 free blocks span two pageblocks).
    for f in ["pageblocks-start.csv", "pageblocks-end.csv"] {
        let csv = std::fs::read_to_string(a.join(f)).unwrap();
        let rows: Vec<&str> = csv.lines().filter(|l| l.contains(",DMA32,")).collect();
        // The zone's last pageblock is cut by its end.
        for row in &rows[..rows.len() - 1] {
            let pages: u64 = row
                .split(',')
                .skip(4)
                .map(|v| v.parse::<u64>().unwrap())
                .sum();
            assert_eq!(pages, 512, "{f}: {row}");
        }
    }
    // The final text reads back through the capture parsers.
    let bi = std::fs::read_to_string(a.join("buddyinfo")).unwrap();
    buddysim::capture::parse("buddyinfo", &bi).unwrap();
    let si = std::fs::read_to_string(a.join("slabinfo")).unwrap();
    let c = buddysim::capture::parse("slabinfo", &si).unwrap();
    assert!(c
        .slab_caches
        .iter()
        .any(|s| s.name == "dentry" && s.objsize == 192));
    // The watermark change of the sysctl action shows in the samples.
    let mins: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",DMA32,"))
        .map(|l| l.rsplit(',').nth(2).unwrap())
        .collect();
    assert_ne!(
        mins.first(),
        mins.last(),
        "min watermark unchanged: {mins:?}"
    );
}

#[test]
fn json_summary_has_the_contract_keys_and_seed_changes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let out = dir.path().join("o");
    let v = run_json(&s, &out, &[]);
    for k in [
        "scenario",
        "seed",
        "simulated_s",
        "pods_started",
        "pod_start_failures",
        "first_failure",
        "final_buddyinfo",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["scenario"], "small");
    assert_eq!(v["simulated_s"], 14400.0);
    assert!(v["pods_started"].as_u64().unwrap() > 1000);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(file, v);
    let v2 = run_json(&s, &out, &["--seed", "4"]);
    assert_eq!(v2["seed"], 4);
    assert_ne!(v2["pods_started"], v["pods_started"]);
}

/// `--check` after every event: the zones' invariants and the slab layer's bookkeeping (the
/// per-memcg copies' counts, slab pages in the zones against the caches'), on 3.10 (dead copies
/// shrunk once) and 4.4 (dead copies free every slab that empties).
#[test]
fn the_invariant_checker_runs_with_check() {
    let dir = tempfile::tempdir().unwrap();
    // No sysfs objects of the pods' own: every sysfs entry is a copy's.
    let text = SMALL[..SMALL.find("actions:").unwrap()]
        .replace("sysfs_dir_cache: 200, ", "")
        .replace(
            "slab_never_freed: {sysfs_dir_cache: 50}",
            "slab_never_freed: {dentry: 50}",
        )
        + "duration: 30m\n";
    let on_4_4 = text
        .replace("kernel: \"3.10\"", "kernel: \"4.4\"")
        .replace("sysfs_dir_cache", "kernfs_node_cache");
    for (text, sysfs) in [(text, "sysfs_dir_cache"), (on_4_4, "kernfs_node_cache")] {
        let s = scenario(dir.path(), &text);
        let out = dir.path().join("o");
        ok(&[
            "run",
            s.to_str().unwrap(),
            "--check",
            "--set",
            "kmem_accounting=true",
            "--out",
            out.to_str().unwrap(),
        ]);
        // The copies' sysfs directories, 32 entries each.
        let slabinfo = std::fs::read_to_string(out.join("slabinfo")).unwrap();
        let line = slabinfo.lines().find(|l| l.starts_with(sysfs)).unwrap();
        let active: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(active > 1000, "{line}");
    }
}

/// Pods that need more memory than the node has: where an order-0 request's reclaim makes no
/// progress, the OOM killer kills a running churn pod (never a daemon) and the request goes on,
/// so no order-0 allocation fails.
#[test]
fn the_oom_killer_kills_a_running_pod_instead_of_failing_order_0() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), &overloaded("30m"));
    let out = dir.path().join("o");
    let summary = run_json(&s, &out, &[]);
    let kills = summary["oom_kills"].as_u64().unwrap();
    assert!(kills > 10, "{kills} OOM kills");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &'static str| events.iter().filter(move |e| e["event"] == kind);
    assert_eq!(of("oom_kill").count() as u64, kills);
    let daemons: Vec<&serde_json::Value> = of("pod_start")
        .filter(|e| e["time_s"] == 0.0)
        .map(|e| &e["pod"])
        .collect();
    assert_eq!(daemons.len(), 2);
    for (i, k) in events.iter().enumerate() {
        if k["event"] != "oom_kill" {
            continue;
        }
        let pod = &k["pod"];
        assert!(!daemons.contains(&pod), "daemon {pod} killed");
        assert!(k["pages"].as_u64().unwrap() > 0);
        // The victim was running, and exits right after the kill, once.
        let started = events[..i]
            .iter()
            .any(|e| e["event"] == "pod_start" && &e["pod"] == pod && e["ok"] == true);
        assert!(started, "pod {pod} killed before it started");
        assert!(events[i + 1]["event"] == "pod_exit" && &events[i + 1]["pod"] == pod);
        assert_eq!(of("pod_exit").filter(|e| &e["pod"] == pod).count(), 1);
    }
    let order0 = of("alloc_fail").filter(|e| e["order"] == 0).count();
    assert_eq!(order0, 0, "order-0 allocations failed");
}

/// With swap (`machine.swap`), reclaim swaps the pods' anon pages out instead: the same
/// overloaded node kills no pod in two hours. 32 GiB holds the running pods' anon but not the
/// 240 GiB all pods fault, so exiting pods must give their swap back. A bad size names the key
/// and what is allowed.
#[test]
fn swap_spares_the_pods_the_oom_killer_took() {
    let dir = tempfile::tempdir().unwrap();
    let text = overloaded("2h");
    let s = scenario(dir.path(), &text);
    let out = dir.path().join("o");
    // OOM kills, and pages swapped out (vmstat.csv's last `pswpout`).
    let run = |swap: &str| {
        let summary = run_json(&s, &out, &["--set", &format!("machine.swap={swap}")]);
        let vmstat = std::fs::read_to_string(out.join("vmstat.csv")).unwrap();
        let column = |row: &str| row.split(',').map(str::to_string).collect::<Vec<_>>();
        let header = column(vmstat.lines().next().unwrap());
        let last = column(vmstat.lines().last().unwrap());
        let at = header.iter().position(|c| c == "pswpout").unwrap();
        let kills_at = header.iter().position(|c| c == "oom_kill").unwrap();
        let kills = summary["oom_kills"].as_u64().unwrap();
        assert_eq!(last[kills_at], kills.to_string());
        (kills, last[at].parse::<u64>().unwrap())
    };
    let (kills, swapped) = run("0");
    assert!(
        kills > 10 && swapped == 0,
        "{kills} kills, {swapped} swapped"
    );
    let (kills, swapped) = run("32GiB");
    assert!(
        kills == 0 && swapped > 100_000,
        "{kills} kills, {swapped} swapped"
    );
    let with_swap = text.replace("cpus: 2}", "cpus: 2, swap: 1EiB}");
    let e = err(&["run", scenario(dir.path(), &with_swap).to_str().unwrap()]);
    assert!(
        e.contains("s.yaml:4:") && e.contains("machine.swap") && e.contains("up to 64TiB"),
        "{e}"
    );
}

#[test]
fn kmem_accounting_decides_whether_the_conntrack_array_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let out = dir.path().join("o");
    ok(&[
        "run",
        s.to_str().unwrap(),
        "--set",
        "kmem_accounting=false",
        "--out",
        out.to_str().unwrap(),
    ]);
    let ev = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(ev.contains("\"event\":\"cache_create\""));
    assert!(!ev.contains("\"size\":1") && ev.contains("\"size\":0,\"order\":null"));
    assert!(!ev.contains("memcg_grow"));
    // 4.19: one global nf_conntrack cache, so a netns creates no cache at all.
    let k419 = SMALL
        .replace("\"3.10\"", "\"4.19\"")
        .replace("sysfs_dir_cache", "kernfs_node_cache");
    let s = scenario(dir.path(), &k419);
    ok(&["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let ev = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(!ev.contains("cache_create"));
}

#[test]
fn errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let sp = s.to_str().unwrap();
    let e = err(&["run", "no/such/scenario.yaml"]);
    assert!(e.contains("no/such/scenario.yaml"), "{e}");
    let e = err(&["run", sp, "--set", "vm.extfrag_threshold=2000"]);
    assert!(
        e.contains("vm.extfrag_threshold") && e.contains("1000"),
        "{e}"
    );
    let e = err(&["run", sp, "--set", "nonsense"]);
    assert!(e.contains("KEY=VALUE"), "{e}");
    let bad = scenario(
        dir.path(),
        &SMALL.replace("dentry: 300", "no_such_cache: 300"),
    );
    let e = err(&["run", bad.to_str().unwrap()]);
    assert!(
        e.contains("workload.pods.profile.slab.no_such_cache")
            && e.contains("kernel 3.10 has no slab cache `no_such_cache`"),
        "{e}"
    );
    let k5 = scenario(dir.path(), &SMALL.replace("\"3.10\"", "\"5.15\""));
    let e = err(&["run", k5.to_str().unwrap()]);
    assert!(
        e.contains("sysfs_dir_cache") && e.contains("kernfs_node_cache"),
        "{e}"
    );
    let bad = scenario(dir.path(), &SMALL.replace("memory: 2GiB", "memory: 2GiBB"));
    let e = err(&["run", bad.to_str().unwrap()]);
    assert!(e.contains("s.yaml:4:"), "{e}");
}

/// A reader that goes away before the output comes (`buddysim run … | head -1` after the first
/// line) ends the command quietly, with success, as a tool killed by SIGPIPE would: no panic.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.yaml"), SMALL).unwrap();
    for args in [
        vec!["gfp", "GFP_KERNEL"],
        vec!["schema"],
        vec!["run", "small.yaml", "--out", "o"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `pgalloc_*` and `pgfree` in vmstat.csv count every page handed out and taken back: they only
/// grow, a reclaimed page is a freed one, and on a fresh node that never compacts (compaction
/// frees a migrated page's source, counted, into a target it isolated, not counted, as the
/// kernel does) the pages handed out and not taken back are exactly the pages the counters of
/// use name.
#[test]
fn vmstat_counts_every_page_allocated_and_freed() {
    use buddysim::workload::run::{run, VMSTAT_COLUMNS};
    let text = SMALL[..SMALL.find("actions:").unwrap()]
        .replace("600/h", "120/h")
        .replace("zombie_memcg: 0.9", "zombie_memcg: 0")
        + "duration: 4h\n";
    let s = buddysim::scenario::Scenario::parse(&text, "small.yaml").unwrap();
    let out = run(&s, &Default::default(), &mut |_| {}).unwrap();
    let col = |c: &str| VMSTAT_COLUMNS.iter().position(|&n| n == c).unwrap();
    let alloc = |v: &[u64]| -> u64 {
        [
            "pgalloc_dma",
            "pgalloc_dma32",
            "pgalloc_normal",
            "pgalloc_movable",
        ]
        .iter()
        .map(|c| v[col(c)])
        .sum()
    };
    for w in out.vmstat.windows(2) {
        let (a, b) = (&w[0].values, &w[1].values);
        assert!(alloc(b) >= alloc(a) && b[col("pgfree")] >= a[col("pgfree")]);
    }
    let last = &out.vmstat.last().unwrap().values;
    assert_eq!(
        last[col("compact_migrate_scanned")],
        0,
        "the run never compacts"
    );
    let freed = last[col("pgfree")];
    assert!(freed >= last[col("pgsteal_kswapd")] + last[col("pgsteal_direct")]);
    assert!(last[col("pgsteal_kswapd")] > 0, "the run reclaims");
    let in_use: u64 = [
        "nr_anon_pages",
        "nr_file_pages",
        "nr_slab_reclaimable",
        "nr_slab_unreclaimable",
        "nr_kernel_stack",
        "nr_page_table_pages",
    ]
    .iter()
    .map(|c| last[col(c)])
    .sum();
    let net = alloc(last) - freed;
    assert_eq!(
        net, in_use,
        "pages handed out and not taken back, against pages in use"
    );
}

#[test]
fn seeds_give_a_median_and_range_whatever_the_threads_and_the_first_seed_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let sp = s.to_str().unwrap();
    let (a, b, one) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("one"),
    );
    let text = |out: &Path, threads: &str| {
        let o = Command::new(BIN)
            .args(["run", sp, "--seeds", "3", "--out", out.to_str().unwrap()])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let t1 = text(&a, "1");
    assert_eq!(
        t1,
        text(&b, "2").replace(b.to_str().unwrap(), a.to_str().unwrap())
    );
    assert!(
        t1.starts_with("scenario small (kernel 3.10, seeds 3 to 5): 4.0h simulated each\n"),
        "{t1}"
    );
    assert!(t1.contains("\npod starts failed: "), "{t1}");
    assert!(t1.contains("\n  seed 4: "), "{t1}");
    let csv = std::fs::read_to_string(a.join("seeds.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("3,"), "{csv}");
    // The folder's files are seed 3's, as `--seed 3` writes them.
    let alone = run_json(&s, &one, &["--seed", "3"]);
    for f in ["summary.json", "events.jsonl", "buddyinfo"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(one.join(f)).unwrap(),
            "{f}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "run",
        sp,
        "--seeds",
        "3",
        "--format",
        "json",
        "--out",
        b.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(json["seeds"], serde_json::json!([3, 4, 5]));
    assert_eq!(json["runs"][0], alone);
    // Sizes for people: the watermarks' reserve in MiB.
    let reserved = alone["reserved_kib"].as_u64().unwrap();
    assert!(reserved >= 1024);
    let line = format!(
        "reserved by watermarks (high): {:.1} MiB\n",
        reserved as f64 / 1024.0
    );
    assert!(t1.contains(&line), "{t1}");
    // `--seed` runs that one seed only.
    let e = err(&["run", sp, "--seed", "3", "--seeds", "2"]);
    assert!(e.contains("cannot be used with"), "{e}");
}

/// A RHEL 7.3 node's zoneinfo has `scanned` and the zone stat items the model counts, in the
/// order of a real 3.x zoneinfo (3.2's, for the lines both have), and reads back.
#[test]
fn rhel7_zoneinfo_has_scanned_and_the_zone_stat_items_in_the_kernels_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        &SMALL.replace("kernel: \"3.10\"", "kernel: \"3.10-rhel7.3\""),
    );
    let out = dir.path().join("out");
    run_json(&s, &out, &[]);
    let text = std::fs::read_to_string(out.join("zoneinfo")).unwrap();
    let c = buddysim::capture::zoneinfo::parse("zoneinfo", &text).unwrap();
    let dma32 = c.zones.iter().find(|z| z.zone.name() == "DMA32").unwrap();
    for k in [
        "scanned",
        "nr_free_pages",
        "nr_alloc_batch",
        "nr_anon_pages",
        "nr_file_pages",
        "nr_slab_reclaimable",
        "nr_slab_unreclaimable",
        "nr_page_table_pages",
        "nr_kernel_stack",
        "nr_mlock",
        "nr_free_cma",
    ] {
        assert!(dma32.stats.contains_key(k), "{k} missing:\n{text}");
    }
    assert!(dma32.stats["nr_anon_pages"] > 0 && dma32.stats["nr_slab_unreclaimable"] > 0);
    // Not tracked: left out rather than printed as 0.
    assert!(!text.contains("nr_active_anon") && !text.contains("nr_dirty"));
    let names = |t: &str| -> Vec<String> {
        let block = &t[t.find("zone    DMA32").unwrap()..];
        block
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .filter(|n| n.starts_with("nr_") || n == "scanned" || n == "spanned")
            .collect()
    };
    let ours = names(&text);
    let real = names(
        &std::fs::read_to_string("../shared/captures/C/ubuntu12_3.2.0_zoneinfo.txt").unwrap(),
    );
    let common: Vec<&String> = ours.iter().filter(|n| real.contains(n)).collect();
    let theirs: Vec<&String> = real.iter().filter(|n| ours.contains(n)).collect();
    assert!(common.len() >= 10, "{common:?}");
    assert_eq!(common, theirs);
}

/// On a pipe, progress is silent unless `--progress` asks for it: then a line on stderr (the
/// first at once, then one every 10 s), and stdout is the same either way.
#[test]
fn progress_on_a_pipe_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), SMALL);
    let run = |extra: &[&str], out: &str| {
        let o = Command::new(BIN)
            .args(["run", s.to_str().unwrap(), "--seed", "3", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    let quiet = run(&[], "q");
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let shown = run(&["--progress"], "p");
    let said = String::from_utf8_lossy(&shown.stderr);
    assert!(said.starts_with("simulating small ["), "{said}");
    assert!(
        said.lines().all(|l| l.starts_with("simulating small [")),
        "{said}"
    );
    let stdout = |o: &std::process::Output, out: &str| {
        String::from_utf8_lossy(&o.stdout).replace(dir.path().join(out).to_str().unwrap(), "OUT")
    };
    assert_eq!(stdout(&quiet, "q"), stdout(&shown, "p"));
}
