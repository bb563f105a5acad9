//! What `validate` accepts, `run` survives: scenarios beyond what a run can hold or finish are
//! refused by both, before anything is simulated, with what the run would cost and the limit;
//! and `validate` does the run's own setup (slab caches, capture files).

use std::process::{Command, Output};

fn buddysim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

const BASE: &str = "name: t
kernel: '3.10-rhel7.3'
machine: {memory: 16GiB, cpus: 4}
kmem_accounting: true
workload:
  pods:
    arrivals: {poisson: 60/h}
    lifetime: {exponential: 1h}
    profile: {anon: 70MiB, slab: {dentry: 1500}}
probes:
  alloc:
    - {order: 6, gfp: GFP_KERNEL, every: 1h}
duration: 10d
outputs: {sample_interval: 10m, plots: false}
";

/// `validate` and `run` both refuse `yaml` before simulating; their errors, which must agree.
fn refused(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, yaml).unwrap();
    let file = path.to_str().unwrap();
    let v = buddysim(&["validate", file]);
    let out = dir.path().join("out");
    let r = buddysim(&["run", file, "--out", out.to_str().unwrap()]);
    let (ve, re) = (
        String::from_utf8_lossy(&v.stderr).into_owned(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    );
    for (what, o, e) in [("validate", &v, &ve), ("run", &r, &re)] {
        assert_eq!(o.status.code(), Some(2), "{what} must refuse {yaml}: {e}");
        assert!(
            !e.contains("panicked") && !e.contains("memory allocation"),
            "{what} aborted: {e}"
        );
    }
    let message = |e: &str| e.rsplit(": ").next().unwrap_or_default().trim().to_string();
    assert_eq!(message(&ve), message(&re), "validate and run disagree");
    ve
}

#[test]
fn the_base_scenario_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, BASE).unwrap();
    let v = buddysim(&["validate", path.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn a_one_nanosecond_sampling_interval_is_refused_with_its_sample_count() {
    let e = refused(&BASE.replace("sample_interval: 10m", "sample_interval: 1ns"));
    assert!(e.contains("outputs.sample_interval"), "{e}");
    assert!(e.contains("864000000000001 samples"), "{e}");
    assert!(e.contains("the limit is 1000000 a run"), "{e}");
}

#[test]
fn a_pod_rate_of_100000_a_second_is_refused_with_its_pod_count() {
    let e = refused(&BASE.replace("poisson: 60/h", "poisson: 100000/s"));
    assert!(e.contains("workload.pods.arrivals"), "{e}");
    assert!(e.contains("86400000000 pod starts"), "{e}");
}

#[test]
fn a_hundred_year_horizon_is_refused_with_its_pod_count() {
    let e = refused(&BASE.replace("duration: 10d", "duration: 36500d"));
    assert!(e.contains("52560000 pod starts"), "{e}");
    let quiet = BASE.replace("duration: 10d", "duration: 36500d");
    let quiet = quiet.replace("poisson: 60/h", "poisson: 1/d");
    let e = refused(&quiet);
    assert!(e.contains("5256001 samples"), "{e}");
}

#[test]
fn a_probe_every_nanosecond_is_refused() {
    let e = refused(&BASE.replace("every: 1h", "every: 1ns"));
    assert!(e.contains("864000000000000 probe allocations"), "{e}");
}

#[test]
fn a_pod_holding_10_to_the_12_slab_objects_is_refused_with_its_size() {
    let e = refused(&BASE.replace("dentry: 1500", "dentry: 1000000000000"));
    assert!(e.contains("workload.pods.profile"), "{e}");
    assert!(e.contains("one pod holds at least 174.6 TiB"), "{e}");
    assert!(e.contains("no pod could start"), "{e}");
}

#[test]
fn a_16_tib_node_is_refused_for_the_memory_its_page_state_needs() {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let available_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    if available_kib == 0 || available_kib > 64 << 20 {
        eprintln!(
            "note: this machine holds 64 GiB of page state (or has no /proc/meminfo): skipping"
        );
        return;
    }
    let e = refused(&BASE.replace("memory: 16GiB", "memory: 16TiB"));
    assert!(
        e.contains("machine: this run keeps at least 64.0 GiB"),
        "{e}"
    );
    assert!(e.contains("available"), "{e}");
}

#[test]
fn zones_holding_far_less_than_the_memory_are_refused() {
    let zones = "machine:
  memory: 16TiB
  cpus: 4
  zones:
    - {zone: DMA, start_pfn: 1, spanned: 4095, present: 3998, managed: 3977}
    - {zone: DMA32, start_pfn: 4096, spanned: 1044480, present: 782288, managed: 765000}
";
    let e = refused(&BASE.replace("machine: {memory: 16GiB, cpus: 4}\n", zones));
    assert!(
        e.contains("far less than the machine's memory 16TiB"),
        "{e}"
    );
}

#[test]
fn validate_does_the_runs_setup() {
    let e = refused(&BASE.replace("dentry: 1500", "no_such_cache: 1500"));
    assert!(
        e.contains("workload.pods.profile.slab.no_such_cache") && e.contains("no slab cache"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("buddyinfo"), "Node 0, zone Normal 1 2 x\n").unwrap();
    let capture = BASE.replace("probes:", "initial: {capture: [buddyinfo]}\nprobes:");
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, capture).unwrap();
    let v = buddysim(&["validate", path.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&v.stderr);
    assert_eq!(v.status.code(), Some(2), "{e}");
    assert!(
        e.contains("buddyinfo:1"),
        "a capture that does not parse: {e}"
    );
}
