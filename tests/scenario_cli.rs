//! `buddysim validate` and `buddysim schema` from the command line: every shipped scenario
//! validates, and bad files and overrides give errors with file, line and column.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_shipped_scenario_validates() {
    // seed-failing-node starts from a capture.
    if common::captures_dir().is_none() {
        return;
    }
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap()
    {
        let path = entry.unwrap().path();
        let o = run(&["validate", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(": ok: scenario"));
    }
    let o = run(&["validate", "scenarios/sweep-extfrag-minfree.yaml"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("400 runs"));
}

fn bad(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, yaml).unwrap();
    let o = run(&["validate", path.to_str().unwrap()]);
    assert!(!o.status.success(), "{yaml} must be rejected");
    stderr(&o).replace(path.to_str().unwrap(), "bad.yaml")
}

const GOOD: &str = "name: t\nkernel: '3.10'\nmachine:\n  memory: 16GiB\n  cpus: 4\nduration: 1d\n";

#[test]
fn errors_name_file_line_and_column() {
    assert!(bad(&GOOD.replace("16GiB", "1EiB")).contains("bad.yaml:4:11:"));
    let unknown = bad(&format!("{GOOD}colour: red\n"));
    assert!(unknown.contains("bad.yaml:7:1:"), "{unknown}");
    assert!(unknown.contains("unknown key `colour`"), "{unknown}");
    assert!(unknown.contains("allowed keys"), "{unknown}");
    let kernel = bad(&GOOD.replace("'3.10'", "'2.6'"));
    assert!(
        kernel.contains("bad.yaml:2:9:") && kernel.contains("3.10-rhel7"),
        "{kernel}"
    );
    let units = bad(&GOOD.replace("1d", "1 fortnight"));
    assert!(units.contains("bad.yaml:6:11:"), "{units}");
}

#[test]
fn overrides_are_checked() {
    let o = run(&[
        "validate",
        "scenarios/seed-nokmem.yaml",
        "--set",
        "vm.extfrag_threshold=2000",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("allowed 0 to 1000"), "{}", stderr(&o));
    let o = run(&[
        "validate",
        "scenarios/seed-nokmem.yaml",
        "--set",
        "nonsense",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--set nonsense"), "{}", stderr(&o));
}

#[test]
fn schema_is_json_naming_the_top_level_keys() {
    let o = run(&["schema"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in ["machine", "kernel", "workload", "tunables", "sweep"] {
        assert!(v["properties"][key].is_object(), "{key}");
    }
}

#[test]
fn a_file_that_is_not_text_says_where_its_first_bad_byte_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.yaml");
    std::fs::write(&path, b"name: t\n\xff\xfe\n").unwrap();
    let o = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("not a text file: byte 9 is not UTF-8"), "{e}");
    assert!(!e.contains("stream did not contain"), "{e}");
}
