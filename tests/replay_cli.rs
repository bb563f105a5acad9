//! `buddysim replay`: a series of captures against a scenario's workload — the numbers of the
//! first compared capture against a direct run, byte-identical reruns, the node_exporter export
//! forms, and every error path's message.

mod common;

use buddysim::capture::{self, series};
use buddysim::report::validate::distances;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_buddysim");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replay");

fn fixture(rel: &str) -> PathBuf {
    Path::new(FIXTURES).join(rel)
}

/// The fixture series' captures: (Unix seconds, DMA line, DMA32 line).
fn fixture_lines() -> Vec<(i64, Vec<u64>, Vec<u64>)> {
    let dir = fixture("series");
    let mut out = Vec::new();
    for (t, name) in [
        (1_795_168_800, "2026-11-20T10:00:00Z-buddyinfo.txt"),
        (1_795_170_600, "2026-11-20T10:30:00Z-buddyinfo.txt"),
        (1_795_172_400, "2026-11-20T11:00:00Z-buddyinfo.txt"),
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let c = capture::parse(name, &text).unwrap();
        let z = |i: usize| c.zones[i].free_blocks.clone().unwrap();
        out.push((t, z(0), z(1)));
    }
    out
}

fn replay(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN).arg("replay").args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json_replay(series: &Path, scenario: &Path, out: &Path) -> Value {
    let (ok, stdout, stderr) = replay(&[
        series.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The real CentOS 9 VM (buddyinfo + pagetypeinfo + zoneinfo, taken together) starts the
/// series; two later captures of our own follow. The first compared capture's numbers equal a
/// direct `buddysim run` from the same capture for the same 30 minutes.
#[test]
fn first_compared_capture_matches_a_direct_run_from_a_real_capture() {
    let Some(shared) = common::captures_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("series");
    std::fs::create_dir(&dir).unwrap();
    let t0 = "2026-11-20T10:00:00Z";
    let mut first = Vec::new();
    for (src, kind) in [
        ("A/centos9_5.14_buddyinfo.txt", "buddyinfo"),
        ("C/centos9_5.14_pagetypeinfo.txt", "pagetypeinfo"),
        ("C/centos9_5.14_zoneinfo.txt", "zoneinfo"),
    ] {
        let to = dir.join(format!("{t0}-{kind}"));
        std::fs::copy(shared.join(src), &to).unwrap();
        first.push(to);
    }
    for later in [
        "2026-11-20T10:30:00Z-buddyinfo.txt",
        "2026-11-20T11:00:00Z-buddyinfo.txt",
    ] {
        std::fs::copy(fixture("series").join(later), dir.join(later)).unwrap();
    }
    let report = json_replay(&dir, &fixture("node.yaml"), &tmp.path().join("out"));
    assert_eq!(report["captures"], 3);
    assert_eq!(report["duration_s"], 3600.0);
    assert_eq!(report["start"], t0);

    // The direct computation: run the scenario from the first capture for 30 minutes.
    let scenario = std::fs::read_to_string(fixture("node.yaml"))
        .unwrap()
        .replace(
            "initial: fresh",
            &format!("initial: {{capture: {first:?}}}"),
        )
        .replace("duration: 1h", "duration: 30m");
    let direct = tmp.path().join("direct.yaml");
    std::fs::write(&direct, scenario).unwrap();
    let o = Command::new(BIN)
        .args([
            "run",
            direct.to_str().unwrap(),
            "--seeds",
            "1",
            "--format",
            "json",
            "--out",
        ])
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sim = capture::parse("final", summary["final_buddyinfo"].as_str().unwrap()).unwrap();
    let later = fixture_lines();
    let rows: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["capture"] == 1)
        .collect();
    assert_eq!(rows.len(), 2);
    for (row, captured) in rows.iter().zip([&later[1].1, &later[1].2]) {
        let zone = row["zone"].as_str().unwrap();
        let simulated = sim
            .zones
            .iter()
            .find(|z| z.zone.name() == zone)
            .and_then(|z| z.free_blocks.clone())
            .unwrap();
        let (rel, max_rel) = distances(captured, &simulated);
        let l1: u64 = captured
            .iter()
            .zip(&simulated)
            .map(|(a, b)| a.abs_diff(*b))
            .sum();
        assert_eq!(row["offset_s"], 1800.0);
        assert_eq!(row["simulated"], serde_json::json!(simulated), "{zone}");
        assert_eq!(row["captured"], serde_json::json!(captured), "{zone}");
        assert_eq!(row["l1_blocks"], l1, "{zone}");
        assert_eq!(row["rel_l1"].as_f64().unwrap(), rel, "{zone}");
        assert_eq!(row["max_rel_order_error"].as_f64().unwrap(), max_rel);
        assert_eq!(row["simulated_order6"], simulated[6..].iter().sum::<u64>());
        assert_eq!(row["captured_order6"], captured[6..].iter().sum::<u64>());
    }
    // At the start the simulated node is the reconstruction: the capture's counts exactly.
    let start = &report["rows"][1];
    assert_eq!(start["capture"], 0);
    assert_eq!(start["zone"], "DMA32");
    assert_eq!(
        start["simulated"],
        serde_json::json!([5372, 2099, 821, 419, 112, 156, 78, 52, 38, 21, 4])
    );
    assert_eq!(start["l1_blocks"], 0);
}

#[test]
fn reruns_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for run in ["a", "b"] {
        let out = tmp.path().join(run);
        let (ok, stdout, stderr) = replay(&[
            fixture("series").to_str().unwrap(),
            "--scenario",
            fixture("node.yaml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
        assert!(stdout.contains("worst: capture"), "{stdout}");
        let mut files = vec![stdout.replace(out.to_str().unwrap(), "OUT").into_bytes()];
        for f in [
            "replay.csv",
            "replay.json",
            "plots/replay-0-DMA32.png",
            "plots/replay-0-DMA32.svg",
        ] {
            files.push(std::fs::read(out.join(f)).unwrap());
        }
        outputs.push(files);
    }
    assert_eq!(outputs[0], outputs[1]);
    let csv = String::from_utf8(outputs[0][1].clone()).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 2, "{csv}");
    assert!(csv.starts_with("capture,time,offset_s,node,zone,l1_blocks,rel_l1,"));
}

/// The fixture series as Prometheus text (scrapes of /federate, timestamps in ms), as `promtool
/// tsdb dump` prints it, as OpenMetrics, and as a query_range answer: all read to the folder's
/// captures, and replay gives the same numbers.
#[test]
fn node_exporter_exports_parse_to_the_same_series() {
    let lines = fixture_lines();
    let (mut federate, mut dump, mut openmetrics) = (String::new(), String::new(), String::new());
    federate.push_str("# TYPE node_buddyinfo_blocks gauge\n");
    let mut results = Vec::new();
    for (zi, zone) in ["DMA", "DMA32"].iter().enumerate() {
        for k in 0..11 {
            let mut values = Vec::new();
            for (t, dma, dma32) in &lines {
                let v = if zi == 0 { dma[k] } else { dma32[k] };
                values.push(serde_json::json!([t, v.to_string()]));
                dump.push_str(&format!(
                    "{{__name__=\"node_buddyinfo_blocks\", instance=\"vm:9100\", job=\"node\", node=\"0\", size=\"{k}\", zone=\"{zone}\"}} {v} {}\n",
                    t * 1000
                ));
            }
            results.push(serde_json::json!({
                "metric": {"__name__": "node_buddyinfo_blocks", "instance": "vm:9100",
                           "job": "node", "node": "0", "size": k.to_string(), "zone": zone},
                "values": values,
            }));
        }
    }
    for (t, dma, dma32) in &lines {
        for (zone, v) in [("DMA", dma), ("DMA32", dma32)] {
            for (k, n) in v.iter().enumerate() {
                let labels =
                    format!("instance=\"vm:9100\",node=\"0\",size=\"{k}\",zone=\"{zone}\"");
                federate.push_str(&format!(
                    "node_buddyinfo_blocks{{{labels}}} {n} {}\n",
                    t * 1000
                ));
                openmetrics.push_str(&format!("node_buddyinfo_blocks{{{labels}}} {n} {t}.000\n"));
            }
        }
    }
    openmetrics.push_str("# EOF\n");
    let answer = serde_json::json!({"status": "success",
        "data": {"resultType": "matrix", "result": results}});
    let tmp = tempfile::tempdir().unwrap();
    let folder = series::load(&fixture("series")).unwrap();
    let mut csvs = Vec::new();
    for (name, text) in [
        ("federate.prom", federate),
        ("dump.txt", dump),
        ("openmetrics.txt", openmetrics),
        ("range.json", serde_json::to_string_pretty(&answer).unwrap()),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let s = series::load(&path).unwrap();
        assert_eq!(s.captures.len(), 3, "{name}");
        for (a, b) in s.captures.iter().zip(&folder.captures) {
            assert_eq!(a.time_ns, b.time_ns, "{name}");
            let blocks = |c: &capture::Capture| {
                c.zones
                    .iter()
                    .map(|z| (z.node, z.zone, z.free_blocks.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(blocks(&a.capture), blocks(&b.capture), "{name}");
        }
        let out = tmp.path().join(format!("out-{name}"));
        json_replay(&path, &fixture("node.yaml"), &out);
        csvs.push(std::fs::read_to_string(out.join("replay.csv")).unwrap());
    }
    let out = tmp.path().join("out-folder");
    json_replay(&fixture("series"), &fixture("node.yaml"), &out);
    let folder_csv = std::fs::read_to_string(out.join("replay.csv")).unwrap();
    for csv in &csvs {
        assert_eq!(csv, &folder_csv);
    }
}

/// Writes `files` (name, text) into a fresh folder under `tmp` and returns it.
fn folder(tmp: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

#[test]
fn every_error_names_the_file_and_what_was_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let b0 = std::fs::read_to_string(fixture("series/2026-11-20T10:00:00Z-buddyinfo.txt")).unwrap();
    let b1 = std::fs::read_to_string(fixture("series/2026-11-20T10:30:00Z-buddyinfo.txt")).unwrap();
    let dma32_only = b1.lines().nth(1).unwrap().to_string() + "\n";
    let short = "Node 0, zone      DMA      0      0      0      0      0      1      1      1      0      1\nNode 0, zone    DMA32   5372   2099    821    419    112    156     78     52     38     21\n";
    let prom = |ts: &str, inst: &str| {
        format!("node_buddyinfo_blocks{{instance=\"{inst}\",node=\"0\",size=\"0\",zone=\"DMA\"}} 1{ts}\n")
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            folder(t, "unsorted", &[
                ("a", &b0), ("b", &b1),
                ("series.txt", "2026-11-20T10:30:00Z b\n2026-11-20T10:00:00Z a\n"),
            ]),
            "series.txt:2: 2026-11-20T10:00:00Z is before the previous line's 2026-11-20T10:30:00Z: list the captures in time order",
        ),
        (
            folder(t, "duplicate", &[("100-a", &b0), ("100-b", &b1), ("200-c", &b1)]),
            "100-b: a second /proc/buddyinfo at 1970-01-01T00:01:40Z (also",
        ),
        (
            folder(t, "one", &[("100-a", &b0)]),
            "one: a series needs at least two captures (found one, at 1970-01-01T00:01:40Z)",
        ),
        (
            folder(t, "zones", &[("100-a", &b0), ("200-a", &dma32_only)]),
            "200-a: the capture at 1970-01-01T00:03:20Z has node 0 DMA32 (11 orders), the first (1970-01-01T00:01:40Z) has node 0 DMA (11 orders), node 0 DMA32 (11 orders)",
        ),
        (
            folder(t, "orders", &[("100-a", &b0), ("200-a", short)]),
            "has node 0 DMA (10 orders), node 0 DMA32 (10 orders), the first",
        ),
        (
            folder(t, "untimed", &[("100-a", &b0), ("buddyinfo", &b1)]),
            "untimed/buddyinfo: the file name does not begin with a time: expected an RFC 3339 time such as 2026-11-20T10:00:00Z or Unix seconds such as 1700000000",
        ),
        (
            folder(t, "badtime", &[("2026-02-30T10:00:00Z-a", &b0), ("200-a", &b1)]),
            "2026-02-30T10:00:00Z-a: file name: 2026-02 has no day 30",
        ),
        (
            folder(t, "list", &[("list.txt", "# captures\nyesterday a\n")]).join("list.txt"),
            "list.txt:2: expected an RFC 3339 time such as 2026-11-20T10:00:00Z or Unix seconds such as 1700000000, found `yesterday`",
        ),
        (
            folder(t, "missing", &[("list.txt", "100 nowhere.txt\n")]).join("list.txt"),
            "list.txt:1: capture file",
        ),
        (
            folder(t, "untimed-prom", &[("m.prom", &prom("", "a"))]).join("m.prom"),
            "m.prom:1: expected a timestamp after the value: a series needs each sample's time",
        ),
        (
            folder(t, "two-machines", &[("m.prom", &(prom(" 1000", "a") + &prom(" 1000", "b")))]).join("m.prom"),
            "m.prom:2: samples of another machine ({instance=\"b\"}, line 1 has {instance=\"a\"}): a series is one machine",
        ),
        (
            folder(t, "failed-query", &[("q.json", r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#)]).join("q.json"),
            "q.json:1: Prometheus answered status `error`: bad_data parse error",
        ),
        (
            folder(t, "single", &[("b.txt", &b0)]).join("b.txt"),
            "b.txt: this is one capture (/proc/buddyinfo), not a series",
        ),
    ];
    for (path, expected) in &cases {
        let (ok, _, stderr) = replay(&[
            path.to_str().unwrap(),
            "--scenario",
            fixture("node.yaml").to_str().unwrap(),
            "--out",
            t.join("out").to_str().unwrap(),
        ]);
        assert!(!ok, "{expected}");
        assert!(stderr.starts_with("buddysim: error: "), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in:\n{stderr}"
        );
    }

    // The scenario's machine contradicts the capture: 16 GiB has a Normal zone.
    let big = std::fs::read_to_string(fixture("node.yaml"))
        .unwrap()
        .replace("memory: 1GiB", "memory: 16GiB");
    let scen = t.join("big.yaml");
    std::fs::write(&scen, big).unwrap();
    let (ok, _, stderr) = replay(&[
        fixture("series").to_str().unwrap(),
        "--scenario",
        scen.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("2026-11-20T10:00:00Z-buddyinfo.txt: the capture has zones node 0 DMA, node 0 DMA32, the scenario's machine (16GiB, 1 node(s), x86-64 layout) has node 0 DMA, node 0 DMA32, node 0 Normal"),
        "{stderr}"
    );
    // A missing series.
    let (ok, _, stderr) = replay(&[
        "no/such/series",
        "--scenario",
        fixture("node.yaml").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("no/such/series: No such file"), "{stderr}");
}

/// A series of buddyinfo files gives no watermarks: the run takes the kernel's boot ones for the
/// node's memory (5.15 on 1 GiB: min_free_kbytes from its formula, not 0) and says so.
#[test]
fn a_capture_without_watermarks_gets_the_kernels_boot_ones_and_says_so() {
    let scenario = buddysim::scenario::Scenario::load(&fixture("node.yaml")).unwrap();
    let first = fixture("series/2026-11-20T10:00:00Z-buddyinfo.txt");
    let text = std::fs::read_to_string(&first).unwrap();
    let start = capture::parse(first.to_str().unwrap(), &text).unwrap();
    let t = buddysim::engine::Time::from_secs(60);
    let out = buddysim::workload::run::run_from(
        &scenario,
        &start,
        &[t],
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let dma32 = out
        .zones
        .iter()
        .find(|z| z.zone == buddysim::mm::mmzone::ZoneType::Dma32)
        .unwrap();
    assert!(
        dma32.min > 0 && dma32.low > dma32.min && dma32.high > dma32.low,
        "{dma32:?}"
    );
    assert_eq!(out.summary.notes.len(), 1);
    assert!(out.summary.notes[0]
        .starts_with("the capture gives no watermarks for node 0 DMA, node 0 DMA32"));
    let tmp = tempfile::tempdir().unwrap();
    let v = json_replay(
        &fixture("series"),
        &fixture("node.yaml"),
        &tmp.path().join("r"),
    );
    assert_eq!(v["notes"], serde_json::json!(out.summary.notes));
}
