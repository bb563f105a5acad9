//! The shipped scenarios' headline results (each scenario's header comment states it). These run
//! whole scenarios (tens of simulated days), so each takes a while in release mode.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_buddysim");

struct Run {
    summary: serde_json::Value,
    events: Vec<serde_json::Value>,
    buddyinfo: String,
}

fn run(scenario: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["run", scenario, "--format", "json", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        summary: serde_json::from_slice(&o.stdout).unwrap(),
        events,
        buddyinfo: std::fs::read_to_string(dir.path().join("buddyinfo")).unwrap(),
    }
}

/// Free blocks per order of one zone in /proc/buddyinfo text.
fn zone_blocks(buddyinfo: &str, zone: &str) -> Vec<u64> {
    let line = buddyinfo
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some(zone))
        .unwrap();
    line.split_whitespace()
        .skip(4)
        .map(|n| n.parse().unwrap())
        .collect()
}

fn cache_creates(r: &Run) -> impl Iterator<Item = &serde_json::Value> {
    r.events.iter().filter(|e| e["event"] == "cache_create")
}

#[test]
fn seed_rhel7_node_starts_failing_order_6_and_ends_fragmented() {
    let r = run("scenarios/seed-rhel7-node.yaml");
    let f = &r.summary["first_failure"];
    assert_eq!(f["order"], 6, "{f}");
    let t = f["time_s"].as_f64().unwrap();
    assert!(
        t > 3.0 * 86_400.0 && t < 10.0 * 86_400.0,
        "first failure at {t}s"
    );
    // The array reached order 6 (12 287 kmem ids) before the failure.
    assert!(r.summary["memcg_kmem_ids"].as_u64().unwrap() >= 12_287);
    // Normal ends with almost nothing between order 3 and 8, as on the seed's node.
    let normal = zone_blocks(&r.buddyinfo, "Normal");
    assert_eq!(normal[3..=8].iter().sum::<u64>(), 0, "{normal:?}");
    // Before the failure every creation succeeded, and the orders climbed with the ids.
    let orders: Vec<u64> = cache_creates(&r)
        .filter_map(|e| e["order"].as_u64())
        .collect();
    assert!(orders.windows(2).all(|w| w[0] <= w[1]), "orders went down");
    assert_eq!(orders.last(), Some(&6));
}

#[test]
fn seed_nokmem_never_fails() {
    let r = run("scenarios/seed-nokmem.yaml");
    assert!(r.summary["first_failure"].is_null());
    assert_eq!(r.summary["pod_start_failures"], 0);
    assert!(cache_creates(&r).all(|e| e["size"] == 0 && e["ok"] == true));
}

#[test]
fn kernel_5_15_makes_no_per_netns_cache() {
    let r = run("scenarios/kernel-5.15-node.yaml");
    assert!(r.summary["first_failure"].is_null());
    assert_eq!(cache_creates(&r).count(), 0);
    assert!(r.summary["pods_started"].as_u64().unwrap() > 10_000);
}

#[test]
fn seed_failing_node_fails_and_the_remedies_help_only_briefly() {
    if !Path::new("../shared/captures/B").is_dir() {
        eprintln!("skipped: ../shared/captures is missing");
        return;
    }
    let r = run("scenarios/seed-failing-node.yaml");
    let f = &r.summary["first_failure"];
    assert_eq!(f["order"], 6);
    assert!(f["time_s"].as_f64().unwrap() < 3600.0, "{f}");
    let started = r.summary["pods_started"].as_u64().unwrap();
    let failed = r.summary["pod_start_failures"].as_u64().unwrap();
    assert!(failed > started, "{failed} failed, {started} started");
    // drop_caches at 30m: the order-6 probe right after it succeeds, and within the next hour
    // creations fail again.
    let probe_at = |t: f64| {
        r.events
            .iter()
            .find(|e| e["event"] == "probe" && e["time_s"].as_f64() == Some(t))
            .map(|e| e["ok"] == true)
    };
    assert_eq!(probe_at(1800.0), Some(true));
    assert!(cache_creates(&r).any(|e| {
        let t = e["time_s"].as_f64().unwrap();
        e["ok"] == false && t > 1800.0 && t < 5400.0
    }));
}
