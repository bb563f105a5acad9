//! A run's output folder carries the kernel it modelled: its /proc files come with a
//! `version` banner, so `analyze` on the folder (or on the files with it) takes the run's own
//! profile, for every profile, where the /proc files alone would leave it to a guess.

use std::process::Command;

fn buddysim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn analyzed_kernel(args: &[&str]) -> String {
    let o = buddysim(&[&["analyze", "--format", "json"], args].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["kernel"].as_str().unwrap().to_string()
}

#[test]
fn reading_a_runs_folder_back_gives_its_profile() {
    for kernel in buddysim::kernel::PROFILES.iter().map(|p| p.name) {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("s.yaml");
        std::fs::write(
            &scenario,
            format!(
                "name: t\nkernel: '{kernel}'\nmachine: {{memory: 1GiB, cpus: 2}}\nduration: 1h\n\
                 outputs: {{plots: false}}\n"
            ),
        )
        .unwrap();
        let out = dir.path().join("out");
        let out = out.to_str().unwrap();
        let r = buddysim(&["run", scenario.to_str().unwrap(), "--out", out]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let version = std::fs::read_to_string(format!("{out}/version")).unwrap();
        assert!(version.starts_with("Linux version "), "{version}");
        assert_eq!(
            analyzed_kernel(&[out]),
            kernel,
            "the folder of a {kernel} run"
        );
        let files: Vec<String> = ["buddyinfo", "zoneinfo", "version"]
            .iter()
            .map(|f| format!("{out}/{f}"))
            .collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        assert_eq!(
            analyzed_kernel(&files),
            kernel,
            "the files of a {kernel} run"
        );
    }
}

#[test]
fn a_folder_without_proc_files_is_refused_naming_what_it_looks_for() {
    let dir = tempfile::tempdir().unwrap();
    let o = buddysim(&["analyze", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("a folder without any of the files") && e.contains("buddyinfo"),
        "{e}"
    );
}
