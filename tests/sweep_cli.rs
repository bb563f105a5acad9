//! `buddysim sweep` and `buddysim merge` from the command line, on the real simulator: a tiny
//! node (1 GiB, 6 simulated hours, a 2 × 2 grid, 2 seeds) gives the same files at any --jobs,
//! a resume recomputes only the missing runs, merged shards equal the unsharded sweep, and
//! mistakes give clear errors. (Aggregation and recommendation have unit tests with fake
//! summaries in sim/report/sweep.rs, the folder logic with a fake runner in sweep_dir.rs.)

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Loaded past its memory (52 pods/h of 20 MiB on 1 GiB): the OOM killer takes pods.
const TINY: &str = "name: tiny
seed: 3
kernel: \"3.10\"
machine: {memory: 1GiB, cpus: 2}
workload:
  pods:
    arrivals: {poisson: 52/h}
    lifetime: {exponential: 1h}
    profile: {threads: 10, anon: 20MiB, page_cache: 8MiB}
  leaks:
    zombie_memcg: 0.5
duration: 6h
sweep:
  grid:
    vm.min_free_kbytes: [2048, 32768]
  seeds: 2
";

const FILES: [&str; 4] = ["sweep.json", "results.jsonl", "sweep.csv", "survival.csv"];

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = run(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn err(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(!o.status.success(), "{args:?} must fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("tiny.yaml"), TINY).unwrap();
    tmp
}

/// The grid as run: a second axis from the command line, 2 × 2 × 2 seeds = 8 runs.
const GRID: [&str; 2] = ["--set", "vm.extfrag_threshold=100,500"];

fn sweep(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "tiny.yaml", "--out", out];
    args.extend(GRID);
    args.extend(extra);
    ok(dir, &args)
}

/// Sharing is exact: a grid over four kernels (3.10, RHEL 7.3, 4.4, 6.1) and four thresholds
/// where families fork gives, byte for byte, the files of the same sweep with every run
/// simulated from scratch (`--no-share`).
#[test]
fn a_shared_sweep_equals_one_without_sharing() {
    let tmp = setup();
    let d = tmp.path();
    let grid = [
        "--set",
        "kernel=3.10,3.10-rhel7.3,4.4,6.1",
        "--set",
        "vm.extfrag_threshold=0,600,700,1000",
        "--set",
        "vm.min_free_kbytes=2048",
        "--seeds",
        "1",
    ];
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["sweep", "tiny.yaml", "--out", out];
        args.extend(grid);
        args.extend(extra);
        ok(d, &args)
    };
    let shared = run("shared", &[]);
    let alone = run("alone", &["--no-share"]);
    for f in FILES {
        assert_eq!(read(&d.join("shared"), f), read(&d.join("alone"), f), "{f}");
    }
    assert_eq!(shared.stdout, alone.stdout);
    let said = String::from_utf8_lossy(&shared.stderr);
    assert!(
        said.contains("the other 16 ran as 4 families with "),
        "{said}"
    );
    assert!(said.contains(" forked on day "), "{said}");
    let alone_said = String::from_utf8_lossy(&alone.stderr);
    assert!(
        alone_said.contains(
            "the other 16 ran as 16 families with 0 forks: 4.0 of 4.0 run-days simulated, 0 % shared"
        ),
        "{alone_said}"
    );
}

#[test]
fn same_outputs_at_any_job_count() {
    let tmp = setup();
    let d = tmp.path();
    let one = sweep(d, "j1", &["--jobs", "1"]);
    let two = sweep(d, "j2", &["--jobs", "2"]);
    for f in FILES {
        assert_eq!(read(&d.join("j1"), f), read(&d.join("j2"), f), "{f}");
    }
    assert_eq!(one.stdout, two.stdout);
    let results = read(&d.join("j1"), "results.jsonl");
    assert_eq!(results.lines().count(), 8);
    // Every comparison of a fragmentation index with vm.extfrag_threshold (816 in the run
    // below) decides alike at any threshold up to 681, so each threshold-500 run is its
    // threshold-100 sibling's run: each family of two is simulated once, without a fork; and
    // it is the run `buddysim run` makes at those settings.
    let said = String::from_utf8_lossy(&one.stderr);
    assert!(
        said.contains(": 0 already there, 8 done now; 0 are the same run as one at another vm.extfrag_threshold, the other 8 ran as 4 families with 0 forks: 1.0 of 2.0 run-days simulated, 50 % shared"),
        "{said}"
    );
    let line: serde_json::Value = serde_json::from_str(results.lines().nth(3).unwrap()).unwrap();
    assert_eq!(
        line["id"],
        "vm.min_free_kbytes=2048,vm.extfrag_threshold=500,seed#1"
    );
    let seed = line["seed"].to_string();
    let alone = ok(
        d,
        &[
            "run",
            "tiny.yaml",
            "--seed",
            &seed,
            "--format",
            "json",
            "--out",
            "alone",
            "--set",
            "vm.min_free_kbytes=2048",
            "--set",
            "vm.extfrag_threshold=500",
        ],
    );
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    assert_eq!(line["summary"], alone);
    assert_eq!(
        line["summary"]["extfrag_threshold_same_run"],
        serde_json::json!({"min": 0, "max": 681, "decisions": 816})
    );
    assert!(results.starts_with(
        "{\"index\":0,\"id\":\"vm.min_free_kbytes=2048,vm.extfrag_threshold=100,seed#0\","
    ));
    let csv = read(&d.join("j1"), "sweep.csv");
    assert!(csv.starts_with(
        "vm.min_free_kbytes,vm.extfrag_threshold,runs,failed,p_fail,median_s,lo90_s,hi90_s,\
         reserved_kib,compact_stall_per_h,pgsteal_per_h,oom_kills_per_day,oom_runs,p_oom\n\
         2048,100,2,"
    ));
    assert_eq!(csv.lines().count(), 5);
    // The more min_free_kbytes, the more memory reserved.
    let reserved: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(8).unwrap().parse().unwrap())
        .collect();
    assert!(reserved[0] < reserved[2], "{csv}");
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(
        text.contains("sweep `tiny`: 8 runs, 4 grid points"),
        "{text}"
    );
    // No creation fails in 6 hours, but every run OOM-kills pods: nothing qualifies.
    assert!(
        text.contains(
            "no setting qualifies: every setting that keeps P(failure within 6.0h) under the \
             target 0.05 OOM-kills pods in too many runs; the fewest is 2/2 = 1.000 at \
             vm.min_free_kbytes=2048"
        ),
        "{text}"
    );
    let json = sweep(d, "j1", &["--resume", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["runs"], 8);
    assert_eq!(v["points"].as_array().unwrap().len(), 4);
    assert_eq!(v["points"][0]["survival"]["steps"][0]["survival"], 1.0);
    assert_eq!(v["points"][0]["p_oom"], 1.0);
    assert_eq!(v["recommendation"]["kind"], "oom_kills");
}

#[test]
fn resume_recomputes_only_the_missing_runs() {
    let tmp = setup();
    let d = tmp.path();
    sweep(d, "full", &[]);
    let full = read(&d.join("full"), "results.jsonl");
    // A second copy keeps the first 4 lines, one of them marked (a result no run produces),
    // and half of the fifth, as a kill in mid-write leaves it.
    fs::create_dir(d.join("cut")).unwrap();
    fs::copy(d.join("full/sweep.json"), d.join("cut/sweep.json")).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    let marked = lines[1].replace("\"pods_started\":", "\"pods_started\":9999");
    let mut cut = format!("{}\n{marked}\n{}\n{}\n", lines[0], lines[2], lines[3]);
    cut.push_str(&lines[4][..40]);
    fs::write(d.join("cut/results.jsonl"), cut).unwrap();
    let o = sweep(d, "cut", &["--resume"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "8 runs in cut: 4 already there, 4 done now; 0 are the same run as one at another \
             vm.extfrag_threshold, the other 4 ran as 2 families with 0 forks: 0.5 of 1.0 \
             run-days simulated, 50 % shared"
        ),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let resumed = read(&d.join("cut"), "results.jsonl");
    assert_eq!(resumed, full.replace(lines[1], &marked));
    assert_eq!(
        read(&d.join("cut"), "sweep.csv"),
        read(&d.join("full"), "sweep.csv")
    );
    // Resuming a finished sweep runs nothing.
    let o = sweep(d, "cut", &["--resume"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains(": 8 already there, 0 done now;"));
}

#[test]
fn merged_shards_equal_the_whole_sweep() {
    let tmp = setup();
    let d = tmp.path();
    let whole = sweep(d, "whole", &[]);
    sweep(d, "s1", &["--shard", "1/2"]);
    let s2 = sweep(d, "s2", &["--shard", "2/2", "--jobs", "1"]);
    assert!(String::from_utf8_lossy(&s2.stdout).starts_with("shard 2/2: 4 runs in"));
    assert_eq!(read(&d.join("s1"), "results.jsonl").lines().count(), 4);
    assert!(!d.join("s1/sweep.csv").exists());
    let merged = ok(d, &["merge", "s2", "s1", "--out", "merged"]);
    for f in FILES {
        assert_eq!(read(&d.join("merged"), f), read(&d.join("whole"), f), "{f}");
    }
    assert_eq!(merged.stdout, whole.stdout);

    let missing = err(d, &["merge", "s1", "--out", "m1"]);
    assert!(
        missing.contains(
            "4 of 8 runs are missing: vm.min_free_kbytes=2048,vm.extfrag_threshold=100,seed#1;"
        ),
        "{missing}"
    );
    let partial = ok(d, &["merge", "s1", "--out", "m1", "--partial"]);
    assert!(String::from_utf8_lossy(&partial.stderr).contains("4 of 8 runs are missing"));
    let twice = err(d, &["merge", "s1", "s1", "--out", "m2"]);
    assert!(twice.contains("is in both s1 and s1"), "{twice}");
    sweep(d, "other", &["--shard", "2/2", "--seeds", "1"]);
    let other = err(d, &["merge", "s1", "other", "--out", "m3"]);
    assert!(
        other.contains("other holds sweep `tiny`")
            && other.contains("only shards of one sweep merge"),
        "{other}"
    );
}

#[test]
fn mistakes_give_clear_errors() {
    let tmp = setup();
    let d = tmp.path();
    let e = err(
        d,
        &[
            "sweep",
            "tiny.yaml",
            "--set",
            "vm.extfrag_threshold=100,lots",
        ],
    );
    assert!(e.contains("--set vm.extfrag_threshold=lots:"), "{e}");
    let e = err(d, &["sweep", "tiny.yaml", "--set", "vm.extfrag_threshold"]);
    assert!(
        e.contains("--set vm.extfrag_threshold: expected KEY=VALUE"),
        "{e}"
    );
    let e = err(
        d,
        &["sweep", "tiny.yaml", "--set", "vm.extfrag_threshold=1,,2"],
    );
    assert!(e.contains("--set vm.extfrag_threshold=: no value"), "{e}");
    // A flow value is one override, commas and all (here a wrong one, so it is reported whole).
    let e = err(
        d,
        &[
            "sweep",
            "tiny.yaml",
            "--set",
            "workload.pods.arrivals={poisson: 1/h, x: 2}",
        ],
    );
    assert!(
        e.contains("--set workload.pods.arrivals={poisson: 1/h, x: 2}:"),
        "{e}"
    );
    let e = err(d, &["sweep", "tiny.yaml", "--shard", "3/2"]);
    assert!(e.contains("--shard 3/2: K is out of range"), "{e}");
    let e = err(d, &["sweep", "tiny.yaml", "--shard", "half"]);
    assert!(e.contains("--shard half: no `/`"), "{e}");
    let e = err(d, &["sweep", "tiny.yaml", "--target", "5"]);
    assert!(
        e.contains("--target 5: a probability strictly between 0 and 1"),
        "{e}"
    );

    sweep(d, "a", &["--shard", "1/2"]);
    let e = err(d, &["sweep", "tiny.yaml", "--out", "a", "--shard", "1/2"]);
    assert!(e.contains("a already holds a sweep: pass --resume"), "{e}");
    let e = err(
        d,
        &[
            "sweep",
            "tiny.yaml",
            "--out",
            "a",
            "--resume",
            "--shard",
            "1/2",
        ],
    );
    assert!(
        e.contains("a: cannot resume: the folder holds sweep `tiny`"),
        "{e}"
    );
    assert!(e.contains("8 runs, shard 1/2), not sweep `tiny`"), "{e}");
    let e = err(d, &["merge", "tiny.yaml", "--out", "m"]);
    assert!(e.contains("tiny.yaml/sweep.json: "), "{e}");
}

/// The book's Slurm recipe, for real: on a Slurm cluster (`tests/slurm/up.sh` brings up a
/// single-node one from Debian's packages; `.ci/run` runs it), `book/src/slurm/sweep.sbatch` as
/// a 2-task array and `merge.sbatch` after it give, byte for byte, the one-machine sweep.
/// Skipped, saying so, where no Slurm answers.
#[test]
fn the_book_slurm_array_equals_the_one_machine_sweep() {
    let up = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    let states = up.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if !states.as_deref().is_ok_and(|s| {
        s.lines()
            .any(|l| ["idle", "mixed"].contains(&l.trim_end_matches('*')))
    }) {
        eprintln!("skipped: no Slurm node answers `sinfo` here (tests/slurm/up.sh brings one up)");
        return;
    }
    let tmp = setup();
    let d = tmp.path();
    fs::create_dir(d.join("logs")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_buddysim")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/slurm");
    let sbatch = |args: &[&str]| -> String {
        let o = Command::new("sbatch")
            .args(["--parsable", "--chdir", d.to_str().unwrap()])
            .arg(format!("--export=ALL,SHARDS=2,PATH={path}"))
            .args(args)
            .output()
            .expect("sbatch runs");
        assert!(
            o.status.success(),
            "sbatch {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let sweep_script = recipe.join("sweep.sbatch");
    let mut args = vec![
        "--array=1-2",
        "--cpus-per-task=1",
        "--mem=500M",
        sweep_script.to_str().unwrap(),
        "tiny.yaml",
    ];
    args.extend(GRID);
    let array = sbatch(&args);
    let merge_script = recipe.join("merge.sbatch");
    sbatch(&[
        "--wait",
        "--kill-on-invalid-dep=yes",
        &format!("--dependency=afterok:{array}"),
        merge_script.to_str().unwrap(),
    ]);
    sweep(d, "whole", &[]);
    for f in FILES {
        assert_eq!(
            read(&d.join("results/merged"), f),
            read(&d.join("whole"), f),
            "{f}"
        );
    }
}

/// Grids that would count one run twice are refused: a repeated value, and axes over the seed,
/// the name or the duration; an empty `--set` value is refused too; `--jobs` beyond the runs
/// is fine; one run and one grid point read in the singular.
#[test]
fn grids_that_would_miscount_runs_are_refused() {
    let tmp = setup();
    let d = tmp.path();
    for (set, said) in [
        (
            "vm.min_free_kbytes=2048,4096,2048",
            "sweep.grid.vm.min_free_kbytes[2]: 2048 gives the same runs as 2048, given before",
        ),
        (
            "seed=1,2",
            "`seed` cannot be a grid axis: each run's seed comes from the replicate",
        ),
        ("name=a,b", "`name` cannot be a grid axis"),
        (
            "duration=1h,2h",
            "`duration` cannot be a grid axis: a sweep judges every run over one horizon",
        ),
        ("vm.min_free_kbytes=", "--set vm.min_free_kbytes=: no value"),
    ] {
        let e = err(d, &["sweep", "tiny.yaml", "--set", set, "--out", "x"]);
        assert!(e.contains(said), "{set}: {e}");
        assert!(!d.join("x").exists(), "{set}: nothing written");
    }
    let o = ok(
        d,
        &[
            "sweep",
            "tiny.yaml",
            "--set",
            "vm.min_free_kbytes=2048",
            "--seeds",
            "1",
            "--jobs",
            "100000",
            "--out",
            "one",
        ],
    );
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.starts_with("sweep `tiny`: 1 run, 1 grid point, failure = a conntrack-cache creation failing within 6.0h"),
        "{table}"
    );
}

/// `merge` refuses a folder that already holds a sweep, as `sweep` does, and `run` checks its
/// output folder before simulating.
#[test]
fn outputs_are_checked_before_the_work() {
    let tmp = setup();
    let d = tmp.path();
    sweep(d, "s1", &["--shard", "1/2"]);
    sweep(d, "s2", &["--shard", "2/2"]);
    ok(d, &["merge", "s1", "s2", "--out", "m"]);
    let e = err(d, &["merge", "s1", "s2", "--out", "m"]);
    assert!(
        e.contains("--out m: the folder already holds a sweep; merge into a new folder"),
        "{e}"
    );
    fs::write(d.join("afile"), "").unwrap();
    let e = err(d, &["run", "tiny.yaml", "--out", "afile/run"]);
    assert!(e.contains("--out afile/run: cannot write there"), "{e}");
}

/// Ctrl-C on a sweep says where its finished runs are and how to go on, and `--resume` then
/// runs only the rest.
#[test]
fn an_interrupted_sweep_says_how_to_resume() {
    let tmp = setup();
    let d = tmp.path();
    fs::write(
        d.join("long.yaml"),
        TINY.replace("duration: 6h", "duration: 20d"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args([
            "sweep",
            "long.yaml",
            "--seeds",
            "4",
            "--jobs",
            "1",
            "--out",
            "s",
        ])
        .current_dir(d)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let results = d.join("s/results.jsonl");
    let begun = std::time::Instant::now();
    while fs::read_to_string(&results).map_or(0, |t| t.lines().count()) == 0 {
        assert!(begun.elapsed().as_secs() < 120, "no run finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("buddysim: interrupted; the runs finished so far are in s/results.jsonl; the same command with --resume runs only the rest"),
        "{said}"
    );
    let done = read(&d.join("s"), "results.jsonl").lines().count();
    assert!(done < 8, "{done} of 8 runs before the interrupt");
}
