//! A sweep's output folder: running the runs in parallel, resuming, and merging shards.
//!
//! The folder holds `sweep.json`, a [`Header`] naming the sweep (scenario name, a hash of the
//! scenario as YAML, the run count, the shard), and `results.jsonl`, one [`RunResult`] per line.
//! A run's line is appended with a single write of the whole line and a flush as soon as the run
//! ends, so a killed sweep leaves at most a truncated last line (one without its `\n`), which
//! [`prepare`] discards when resuming; runs already in the file are not run again. When all runs
//! are done the results are rewritten in run-index order, and the tables computed from that
//! order, so every output is the same byte for byte whatever the thread count and the order in
//! which runs finished. Final files are written to a temporary name and renamed into place.
//!
//! Runs that differ only in `vm.extfrag_threshold` (the same scenario and seed) form a family.
//! A run whose threshold lies in the range a sibling's summary names
//! ([`crate::mm::compaction::ExtfragThreshold`]) is that sibling's run: the executor takes its
//! summary instead of simulating it again; the others of the family are simulated together and
//! forked where a decision parts them.
//!
//! The executor is generic over the runner (`Fn(&FamilyTask) -> Result<FamilyRun, E>`): the
//! command line passes the simulator, tests pass fakes.

use super::output;
use super::sweep::{RunResult, SweepReport};
use crate::engine::rng::fnv1a;
use crate::scenario::{Run, Scenario, ScenarioError, Shard, Sweep};
use crate::workload::run::{FamilyRun, Summary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const HEADER_FILE: &str = "sweep.json";
pub const RESULTS_FILE: &str = "results.jsonl";
/// The lock a running sweep holds on its folder.
const LOCK_FILE: &str = ".buddysim-sweep.lock";
pub const SWEEP_CSV: &str = "sweep.csv";
pub const SURVIVAL_CSV: &str = "survival.csv";

/// Most missing run ids an error lists.
const LIST_MAX: usize = 5;

/// What can go wrong running, resuming or merging a sweep.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// A line of a results file that is not a result of this sweep.
    #[error("{file}:{line}: {message}")]
    Results {
        file: String,
        line: usize,
        message: String,
    },
    /// Folders that hold a different sweep from the one asked for, or from each other.
    #[error("{0}")]
    Mismatch(String),
    /// Runs without results when merging.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("run {id}: {message}")]
    Run { id: String, message: String },
    #[error("--jobs: {0}")]
    Pool(String),
}

fn io_err(path: &Path, e: impl fmt::Display) -> SweepError {
    SweepError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `sweep.json`: which sweep a folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub scenario: String,
    /// FNV-1a (64 bits, hex) of [`Header::yaml`].
    pub scenario_hash: String,
    /// Runs of the whole sweep (all shards).
    pub runs: usize,
    /// The slice this folder runs (`K/N`), `None` for the whole sweep.
    pub shard: Option<String>,
    /// The scenario file's `sweep.target`.
    pub target: Option<f64>,
    /// The scenario as run, with the command line's settings applied and `sweep.target`
    /// left out (the target changes the recommendation, not the runs).
    pub yaml: String,
}

impl Header {
    pub fn new(scenario: &Scenario, shard: Option<Shard>) -> Header {
        let mut plain = scenario.clone();
        let target = plain.sweep.as_mut().and_then(|s| s.target.take());
        let yaml = plain.to_yaml();
        Header {
            scenario: scenario.name.clone(),
            scenario_hash: format!("{:016x}", fnv1a(yaml.as_bytes())),
            runs: sweep_of(scenario).runs(scenario).len(),
            shard: shard.map(|s| s.to_string()),
            target,
            yaml,
        }
    }

    /// The same sweep (shards may differ).
    fn same_sweep(&self, other: &Header) -> bool {
        self.scenario == other.scenario
            && self.scenario_hash == other.scenario_hash
            && self.runs == other.runs
    }

    fn describe(&self) -> String {
        format!(
            "sweep `{}` (scenario hash {}, {} runs{})",
            self.scenario,
            self.scenario_hash,
            self.runs,
            self.shard
                .as_ref()
                .map_or(String::new(), |s| format!(", shard {s}"))
        )
    }

    fn read(dir: &Path) -> Result<Header, SweepError> {
        let path = dir.join(HEADER_FILE);
        let text = fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            io_err(
                &path,
                format!("not a sweep header written by buddysim sweep: {e}"),
            )
        })
    }

    /// The scenario the header was written for.
    fn scenario_of(&self, dir: &Path) -> Result<Scenario, SweepError> {
        let file = dir.join(HEADER_FILE).display().to_string();
        let mut scenario = Scenario::parse(&self.yaml, &file)?;
        if let Some(s) = scenario.sweep.as_mut() {
            s.target = self.target;
        }
        Ok(scenario)
    }
}

/// The scenario's sweep; one replicate of the scenario as it is when it has none.
pub fn sweep_of(scenario: &Scenario) -> Sweep {
    scenario.sweep.clone().unwrap_or(Sweep {
        grid: Default::default(),
        seeds: 1,
        target: None,
    })
}

/// The table of a sweep's results: horizon and axes from the scenario, the target from
/// `target`, else the scenario's `sweep.target`, else 0.05.
pub fn report(scenario: &Scenario, target: Option<f64>, results: &[RunResult]) -> SweepReport {
    let sweep = sweep_of(scenario);
    SweepReport::new(
        &scenario.name,
        sweep.grid.0.iter().map(|(k, _)| k.clone()).collect(),
        scenario.duration.as_secs_f64(),
        target.or(sweep.target).unwrap_or(0.05),
        results,
    )
}

/// A sweep ready to run in a folder: what is done and what is left.
pub struct Plan {
    dir: PathBuf,
    scenario: Scenario,
    /// Every run of the sweep, in index order.
    runs: Vec<Run>,
    done: Vec<RunResult>,
    todo: Vec<Run>,
    /// The folder's lock, held while the plan lives ([`lock_folder`]).
    _lock: File,
}

/// Opens `dir` for the sweep of `scenario` (its shard only, when given). Without `resume` the
/// folder must not hold a sweep yet; with it, a folder holding the same sweep and shard is
/// continued (its finished runs are kept and not run again) and a folder without one is
/// started.
pub fn prepare(
    scenario: &Scenario,
    dir: &Path,
    shard: Option<Shard>,
    resume: bool,
) -> Result<Plan, SweepError> {
    let header = Header::new(scenario, shard);
    let runs = sweep_of(scenario).runs(scenario);
    let mine = match shard {
        Some(s) => s.select(&runs),
        None => runs.clone(),
    };
    let header_path = dir.join(HEADER_FILE);
    let results_path = dir.join(RESULTS_FILE);
    let lock = lock_folder(dir)?;
    let existing = header_path.exists() || results_path.exists();
    let done = if existing && resume {
        let found = Header::read(dir)?;
        if !(found.same_sweep(&header) && found.shard == header.shard) {
            return Err(SweepError::Mismatch(format!(
                "{}: cannot resume: the folder holds {}, not {} asked for now; use another \
                 --out, or the scenario, --set, --seeds and --shard the folder was started with",
                dir.display(),
                found.describe(),
                header.describe()
            )));
        }
        let (results, truncated) = read_results(&results_path, &runs)?;
        let in_shard: BTreeSet<usize> = mine.iter().map(|r| r.index).collect();
        let other = results.iter().find(|r| !in_shard.contains(&r.index));
        if let Some(r) = other {
            return Err(SweepError::Mismatch(format!(
                "{}: run {} is not in this folder's shard",
                results_path.display(),
                r.id
            )));
        }
        if truncated {
            write_atomic(&results_path, &results_jsonl(&results)?)?;
        }
        results
    } else if existing {
        return Err(SweepError::Mismatch(format!(
            "{} already holds a sweep: pass --resume to continue it, or choose another --out",
            dir.display()
        )));
    } else {
        let mut text = serde_json::to_string_pretty(&header).map_err(|e| io_err(dir, e))?;
        text.push('\n');
        write_atomic(&header_path, &text)?;
        write_atomic(&results_path, "")?;
        Vec::new()
    };
    let finished: BTreeSet<usize> = done.iter().map(|r| r.index).collect();
    let todo = mine
        .into_iter()
        .filter(|r| !finished.contains(&r.index))
        .collect();
    Ok(Plan {
        dir: dir.to_path_buf(),
        scenario: scenario.clone(),
        runs,
        done,
        todo,
        _lock: lock,
    })
}

/// Creates `dir` if needed and takes its lock file's exclusive lock, held as long as the
/// returned file lives: a second sweep on the same folder (a `--resume` started twice) is
/// refused instead of appending the same runs twice.
fn lock_folder(dir: &Path) -> Result<File, SweepError> {
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(SweepError::Mismatch(format!(
            "{}: another buddysim sweep is running on this folder; wait for it, or choose another --out",
            dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(io_err(&path, e)),
    }
}

impl Plan {
    /// Runs still to do, in index order.
    pub fn todo(&self) -> &[Run] {
        &self.todo
    }

    /// Runs found finished in the folder.
    pub fn done(&self) -> usize {
        self.done.len()
    }

    /// Runs what is left on `jobs` threads (0: one per core), appending each result to
    /// `results.jsonl` as it ends, then rewrites the file in index order. Returns every result
    /// of the folder (found and new) in index order. The first failing run stops the sweep;
    /// the results written so far stay for a resume. `finished` is told of every new result.
    ///
    /// With `share`, runs that differ only in `vm.extfrag_threshold` form a family, taken on
    /// one thread: a run whose threshold lies in the range a finished member's summary says
    /// gives the same run ([`crate::mm::compaction::SameRun`]) takes that summary, and the
    /// others go to `runner` together, as one [`FamilyTask`], to be simulated once and forked
    /// where they part ([`crate::workload::run::simulate_family`]). Without it every run is a
    /// task of its own. Tasks run in parallel.
    pub fn execute<E, F>(
        self,
        jobs: usize,
        share: bool,
        runner: F,
        finished: &(dyn Fn(&RunResult) + Sync),
    ) -> Result<Vec<RunResult>, SweepError>
    where
        E: fmt::Display,
        F: Fn(&FamilyTask) -> Result<FamilyRun, E> + Sync,
    {
        let path = self.dir.join(RESULTS_FILE);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let file = Mutex::new(file);
        let families = self.families(share)?;
        // No more threads than families to simulate (0 asks rayon for one per core).
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = if jobs == 0 { cores } else { jobs }.min(families.len().max(1));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| SweepError::Pool(e.to_string()))?;
        let record = |result: &RunResult| -> Result<(), SweepError> {
            let mut line = serde_json::to_string(result).map_err(|e| io_err(&path, e))?;
            line.push('\n');
            let mut f = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f.write_all(line.as_bytes())
                .and_then(|()| f.flush())
                .map_err(|e| io_err(&path, e))?;
            finished(result);
            Ok(())
        };
        let new: Vec<Vec<RunResult>> = pool.install(|| {
            families
                .into_par_iter()
                .map(|family| {
                    let known = family.done;
                    let mut new = Vec::new();
                    let mut todo = Vec::new();
                    for (run, scenario, threshold) in family.todo {
                        let same = known.iter().find(|s| {
                            s.extfrag_threshold_same_run
                                .is_some_and(|r| r.contains(threshold))
                        });
                        match same {
                            Some(s) if share => {
                                let result = RunResult::new(run, s.clone());
                                record(&result)?;
                                new.push(result);
                            }
                            _ => todo.push((run, scenario, threshold)),
                        }
                    }
                    let Some((first, _, _)) = todo.first() else {
                        return Ok(new);
                    };
                    let task = FamilyTask {
                        name: first.family(),
                        runs: &todo,
                    };
                    let id = match todo.len() {
                        1 => first.id.clone(),
                        _ => {
                            let t: Vec<String> = todo.iter().map(|r| r.2.to_string()).collect();
                            format!("{} at vm.extfrag_threshold={}", task.name, t.join(","))
                        }
                    };
                    let failed = |message: String| SweepError::Run {
                        id: id.clone(),
                        message,
                    };
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| runner(&task)))
                        .map_err(|payload| failed(panic_message(payload.as_ref())))?
                        .map_err(|e| failed(e.to_string()))?;
                    for ((run, _, _), summary) in todo.iter().zip(outcome.summaries) {
                        let result = RunResult::new(run, summary);
                        record(&result)?;
                        new.push(result);
                    }
                    Ok(new)
                })
                .collect::<Result<Vec<_>, SweepError>>()
        })?;
        let mut all = self.done;
        all.extend(new.into_iter().flatten());
        all.sort_by_key(|r| r.index);
        write_atomic(&path, &results_jsonl(&all)?)?;
        Ok(all)
    }

    /// The runs left, grouped into families (with `share`, runs that differ only in
    /// `vm.extfrag_threshold`; otherwise each run alone), each run with its threshold and each
    /// family with the summaries of its members already done.
    fn families(&self, share: bool) -> Result<Vec<Family<'_>>, SweepError> {
        let key = |s: &Scenario| if share { family_key(s) } else { s.to_yaml() };
        let mut families: BTreeMap<String, Family<'_>> = BTreeMap::new();
        for run in &self.todo {
            let scenario = run.scenario(&self.scenario)?;
            let threshold = match scenario.tunables.extfrag_threshold {
                Some(t) => t,
                None => scenario.profile()?.extfrag_threshold,
            };
            families
                .entry(key(&scenario))
                .or_default()
                .todo
                .push((run, scenario, threshold));
        }
        for result in &self.done {
            let Some(run) = self.runs.get(result.index) else {
                continue;
            };
            if let Some(f) = families.get_mut(&key(&run.scenario(&self.scenario)?)) {
                f.done.push(result.summary.clone());
            }
        }
        Ok(families.into_values().collect())
    }
}

/// Runs a runner simulates together: runs that differ only in `vm.extfrag_threshold`, in run
/// order, each with its scenario and threshold. The runner returns one summary per run.
pub struct FamilyTask<'a> {
    /// The first run's id without its threshold (`vm.min_free_kbytes=67584,seed#3`).
    pub name: String,
    pub runs: &'a [(&'a Run, Scenario, u32)],
}

impl FamilyTask<'_> {
    /// The first run's scenario: the family's, at the first threshold.
    pub fn scenario(&self) -> &Scenario {
        &self.runs[0].1
    }

    /// The runs' thresholds, in run order.
    pub fn thresholds(&self) -> Vec<u32> {
        self.runs.iter().map(|r| r.2).collect()
    }
}

/// Runs of a sweep that differ only in `vm.extfrag_threshold`.
#[derive(Default)]
struct Family<'a> {
    done: Vec<Summary>,
    todo: Vec<(&'a Run, Scenario, u32)>,
}

/// What a run's family shares: its scenario, but for `vm.extfrag_threshold`.
fn family_key(scenario: &Scenario) -> String {
    let mut s = scenario.clone();
    s.tunables.extfrag_threshold = None;
    s.to_yaml()
}

/// What a panicking runner said, for the error naming its run.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("the simulator panicked: {what}")
}

/// Reads a `results.jsonl` of the sweep whose runs are `runs`: every complete line must be a
/// result of one of them, at most once. A last line without its `\n` (a run cut off while being
/// written) is dropped; the flag says whether there was one.
fn read_results(path: &Path, runs: &[Run]) -> Result<(Vec<RunResult>, bool), SweepError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(path, e)),
    };
    let file = path.display().to_string();
    let mut results: Vec<RunResult> = Vec::new();
    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    let mut truncated = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let err = |message: String| SweepError::Results {
            file: file.clone(),
            line: i + 1,
            message,
        };
        let Some(line) = line.strip_suffix('\n') else {
            truncated = true;
            break;
        };
        let r: RunResult = serde_json::from_str(line)
            .map_err(|e| err(format!("not a run result (a line of buddysim sweep): {e}")))?;
        match runs.get(r.index) {
            Some(run) if run.id == r.id => {}
            Some(run) => {
                return Err(err(format!(
                    "run {} is `{}` in this sweep, the line says `{}`",
                    r.index, run.id, r.id
                )))
            }
            None => {
                return Err(err(format!(
                    "run {} is beyond the sweep's {} runs",
                    r.index,
                    runs.len()
                )))
            }
        }
        if !(r.summary.simulated_s.is_finite() && r.summary.simulated_s >= 0.0) {
            return Err(err(format!(
                "simulated_s {} is not a time",
                r.summary.simulated_s
            )));
        }
        if let Some(first) = seen.insert(r.index, i + 1) {
            return Err(err(format!(
                "run {} appears again (first on line {first})",
                r.id
            )));
        }
        results.push(r);
    }
    Ok((results, truncated))
}

/// Results as `results.jsonl` text, one line each.
fn results_jsonl(results: &[RunResult]) -> Result<String, SweepError> {
    let mut text = String::new();
    for r in results {
        text.push_str(&serde_json::to_string(r).map_err(|e| SweepError::Run {
            id: r.id.clone(),
            message: e.to_string(),
        })?);
        text.push('\n');
    }
    Ok(text)
}

/// [`output::write_atomic`] of text, with the error naming the file.
fn write_atomic(path: &Path, contents: &str) -> Result<(), SweepError> {
    output::write_atomic(path, contents.as_bytes()).map_err(|e| io_err(path, e))
}

/// Writes the final files of a complete sweep into `dir`: `sweep.json` (whole sweep),
/// `results.jsonl` in index order, `sweep.csv` and `survival.csv`.
pub fn write_outputs(
    dir: &Path,
    scenario: &Scenario,
    results: &[RunResult],
    report: &SweepReport,
) -> Result<(), SweepError> {
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut header =
        serde_json::to_string_pretty(&Header::new(scenario, None)).map_err(|e| io_err(dir, e))?;
    header.push('\n');
    write_atomic(&dir.join(HEADER_FILE), &header)?;
    let mut sorted = results.to_vec();
    sorted.sort_by_key(|r| r.index);
    write_atomic(&dir.join(RESULTS_FILE), &results_jsonl(&sorted)?)?;
    write_atomic(&dir.join(SWEEP_CSV), &report.sweep_csv())?;
    write_atomic(&dir.join(SURVIVAL_CSV), &report.survival_csv())
}

/// Shard folders combined.
pub struct Merged {
    /// The sweep's scenario, read back from the folders' header.
    pub scenario: Scenario,
    /// Every result found, in index order.
    pub results: Vec<RunResult>,
    /// Runs no folder holds, in index order.
    pub missing: Vec<Run>,
}

/// Reads shard folders of one sweep: they must hold the same sweep (same header but for the
/// shard) and no run twice. Runs that no folder holds are an error unless `partial`.
pub fn merge(dirs: &[PathBuf], partial: bool) -> Result<Merged, SweepError> {
    let Some(first_dir) = dirs.first() else {
        return Err(SweepError::Missing("no folders to merge".into()));
    };
    let first = Header::read(first_dir)?;
    let scenario = first.scenario_of(first_dir)?;
    let runs = sweep_of(&scenario).runs(&scenario);
    let mut by_index: BTreeMap<usize, (RunResult, &Path)> = BTreeMap::new();
    for dir in dirs {
        let header = Header::read(dir)?;
        if !header.same_sweep(&first) {
            return Err(SweepError::Mismatch(format!(
                "{} holds {}, but {} holds {}: only shards of one sweep merge",
                dir.display(),
                header.describe(),
                first_dir.display(),
                first.describe()
            )));
        }
        let (results, _) = read_results(&dir.join(RESULTS_FILE), &runs)?;
        for r in results {
            if let Some((_, other)) = by_index.get(&r.index) {
                return Err(SweepError::Mismatch(format!(
                    "run {} is in both {} and {}: merge each shard once",
                    r.id,
                    other.display(),
                    dir.display()
                )));
            }
            by_index.insert(r.index, (r, dir));
        }
    }
    let missing: Vec<Run> = runs
        .into_iter()
        .filter(|r| !by_index.contains_key(&r.index))
        .collect();
    if !missing.is_empty() && !partial {
        let list: Vec<&str> = missing
            .iter()
            .take(LIST_MAX)
            .map(|r| r.id.as_str())
            .collect();
        return Err(SweepError::Missing(format!(
            "{} of {} runs are missing: {}{}; finish their shards (buddysim sweep … --shard K/N \
             --resume), or pass --partial for a table of the runs there are",
            missing.len(),
            first.runs,
            list.join("; "),
            if missing.len() > LIST_MAX {
                "; …"
            } else {
                ""
            }
        )));
    }
    Ok(Merged {
        scenario,
        results: by_index.into_values().map(|(r, _)| r).collect(),
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::compaction::SameRun;
    use crate::workload::run::FirstFailure;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A family runner made of a per-run fake, keeping `simulate_family`'s promise: a run whose
    /// threshold lies in an earlier member's same-run range is that member's run.
    fn each<F>(f: F) -> impl Fn(&FamilyTask) -> Result<FamilyRun, String> + Sync
    where
        F: Fn(&Run, &Scenario) -> Result<Summary, String> + Sync,
    {
        move |task| {
            let mut summaries: Vec<Summary> = Vec::new();
            for (run, s, t) in task.runs {
                let same = summaries
                    .iter()
                    .find(|x| x.extfrag_threshold_same_run.is_some_and(|r| r.contains(*t)))
                    .cloned();
                summaries.push(match same {
                    Some(x) => x,
                    None => f(run, s)?,
                });
            }
            Ok(FamilyRun {
                summaries,
                forks: Vec::new(),
                simulated_s: 0.0,
            })
        }
    }

    const YAML: &str = "name: t\nkernel: '3.10'\nmachine: {memory: 1GiB, cpus: 2}\nduration: 1d\n\
                        sweep:\n  grid:\n    vm.min_free_kbytes: [4096, 8192]\n    \
                        vm.extfrag_threshold: [100, 500]\n  seeds: 3\n";

    fn scenario() -> Scenario {
        Scenario::parse(YAML, "t.yaml").unwrap()
    }

    /// A fake simulator: fails when the seed is odd and min_free_kbytes is small, at a time
    /// derived from the seed.
    fn fake(run: &Run, s: &Scenario) -> Result<Summary, String> {
        let small = run.settings.iter().any(|x| x == "vm.min_free_kbytes=4096");
        Ok(Summary {
            scenario: s.name.clone(),
            seed: s.seed,
            kernel: s.kernel.clone(),
            simulated_s: 86_400.0,
            pods_started: 5,
            pod_start_failures: 0,
            first_failure: (small && s.seed % 2 == 1).then(|| FirstFailure {
                time_s: (s.seed % 86_400) as f64,
                pod: 1,
                order: 6,
                reason: "no_block_of_order".into(),
            }),
            oom_kills: 0,
            min_free_order6_blocks: 1,
            reserved_kib: 3 * s.tunables.min_free_kbytes.unwrap_or(0),
            compact_stall: run.index as u64,
            compact_success: 0,
            compact_fail: 0,
            allocstall: 0,
            pgscan_kswapd: 0,
            pgscan_direct: 0,
            pgsteal_kswapd: 10,
            pgsteal_direct: 1,
            memcg_kmem_ids: 0,
            memcg_zombies: 0,
            final_buddyinfo: String::new(),
            extfrag_threshold_same_run: None,
            notes: Vec::new(),
        })
    }

    fn files(dir: &Path) -> (String, String) {
        (
            fs::read_to_string(dir.join(RESULTS_FILE)).unwrap(),
            fs::read_to_string(dir.join(HEADER_FILE)).unwrap(),
        )
    }

    #[test]
    fn same_results_at_any_thread_count() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let mut outs = Vec::new();
        for jobs in [1, 2, 4] {
            let dir = tmp.path().join(format!("j{jobs}"));
            let plan = prepare(&s, &dir, None, false).unwrap();
            assert_eq!(plan.todo().len(), 12);
            let results = plan.execute(jobs, true, each(fake), &|_| {}).unwrap();
            assert_eq!(results.len(), 12);
            assert!(results.iter().enumerate().all(|(i, r)| r.index == i));
            outs.push(files(&dir));
        }
        assert_eq!(outs[0], outs[1]);
        assert_eq!(outs[0], outs[2]);
        assert_eq!(outs[0].0.lines().count(), 12);
    }

    #[test]
    fn a_folder_takes_one_sweep_at_a_time() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("l");
        let first = prepare(&s, &dir, None, true).unwrap();
        let err = prepare(&s, &dir, None, true).err().unwrap().to_string();
        assert!(
            err.ends_with("another buddysim sweep is running on this folder; wait for it, or choose another --out"),
            "{err}"
        );
        drop(first);
        assert_eq!(prepare(&s, &dir, None, true).unwrap().todo().len(), 12);
    }

    #[test]
    fn resume_runs_only_what_is_missing_and_drops_a_cut_line() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        prepare(&s, &dir, None, false)
            .unwrap()
            .execute(2, true, each(fake), &|_| {})
            .unwrap();
        let (full, _) = files(&dir);
        // Keep 5 lines and half of the sixth, as a kill mid-write would.
        let lines: Vec<&str> = full.lines().collect();
        let mut cut = lines[..5].join("\n");
        cut.push('\n');
        cut.push_str(&lines[5][..lines[5].len() / 2]);
        fs::write(dir.join(RESULTS_FILE), &cut).unwrap();
        let err = prepare(&s, &dir, None, false).err().unwrap();
        assert!(err.to_string().contains("pass --resume"), "{err}");
        let plan = prepare(&s, &dir, None, true).unwrap();
        assert_eq!((plan.done(), plan.todo().len()), (5, 7));
        let calls = AtomicUsize::new(0);
        plan.execute(
            2,
            true,
            each(|r: &Run, s: &Scenario| {
                calls.fetch_add(1, Ordering::Relaxed);
                fake(r, s)
            }),
            &|_| {},
        )
        .unwrap();
        assert_eq!(calls.into_inner(), 7);
        assert_eq!(files(&dir).0, full);
    }

    /// A fake simulator whose odd replicates read `vm.extfrag_threshold` (each threshold is a
    /// run of its own) and whose even ones never do (any threshold gives the same run).
    fn fake_same_run(run: &Run, s: &Scenario) -> Result<Summary, String> {
        let t = s.tunables.extfrag_threshold.unwrap_or(500);
        let mut summary = fake(run, s)?;
        summary.compact_stall = u64::from(run.replicate % 2) * u64::from(t);
        summary.extfrag_threshold_same_run = Some(if run.replicate % 2 == 1 {
            SameRun {
                min: t,
                max: t,
                decisions: 1,
            }
        } else {
            SameRun {
                min: 0,
                max: 1000,
                decisions: 0,
            }
        });
        Ok(summary)
    }

    #[test]
    fn a_run_the_same_at_another_threshold_is_not_simulated_again() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let calls = AtomicUsize::new(0);
        let counted = |r: &Run, s: &Scenario| {
            calls.fetch_add(1, Ordering::Relaxed);
            fake_same_run(r, s)
        };
        let mut outs = Vec::new();
        for jobs in [1, 2] {
            let dir = tmp.path().join(format!("j{jobs}"));
            let finished = AtomicUsize::new(0);
            let results = prepare(&s, &dir, None, false)
                .unwrap()
                .execute(jobs, true, each(&counted), &|_| {
                    finished.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            // 2 min_free × 3 replicates, each at thresholds 100 and 500: the even replicates'
            // second threshold (4 runs) is taken from the first.
            assert_eq!(calls.swap(0, Ordering::Relaxed), 8);
            assert_eq!(finished.into_inner(), 12);
            for r in results.iter().filter(|r| r.id.contains("=500,")) {
                let t100 = &results[r.index - 3];
                assert_eq!(r.summary == t100.summary, r.replicate % 2 == 0, "{}", r.id);
            }
            outs.push(files(&dir));
        }
        assert_eq!(outs[0], outs[1]);
        // A resume takes runs from the results already there: keep the threshold-100 runs.
        let dir = tmp.path().join("j1");
        let kept: Vec<&str> = outs[0].0.lines().filter(|l| l.contains("=100,")).collect();
        fs::write(dir.join(RESULTS_FILE), kept.join("\n") + "\n").unwrap();
        prepare(&s, &dir, None, true)
            .unwrap()
            .execute(1, true, each(&counted), &|_| {})
            .unwrap();
        assert_eq!(calls.swap(0, Ordering::Relaxed), 2);
        assert_eq!(files(&dir), outs[0]);
        // Without sharing every run is simulated, with the same files.
        let dir = tmp.path().join("no-share");
        prepare(&s, &dir, None, false)
            .unwrap()
            .execute(2, false, each(&counted), &|_| {})
            .unwrap();
        assert_eq!(calls.into_inner(), 12);
        assert_eq!(files(&dir).0, outs[0].0);
    }

    #[test]
    fn resume_refuses_another_sweep_and_bad_lines() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        prepare(&s, &dir, None, false)
            .unwrap()
            .execute(1, true, each(fake), &|_| {})
            .unwrap();
        let mut other = s.clone();
        other.seed = 9;
        let err = prepare(&other, &dir, None, true).err().unwrap().to_string();
        assert!(
            err.contains("cannot resume: the folder holds sweep `t`"),
            "{err}"
        );
        let shard = Some(Shard { k: 1, n: 2 });
        let err = prepare(&s, &dir, shard, true).err().unwrap().to_string();
        assert!(err.contains("shard 1/2"), "{err}");
        // A different target is the same sweep.
        let mut target = s.clone();
        target.sweep.as_mut().unwrap().target = Some(0.2);
        assert_eq!(prepare(&target, &dir, None, true).unwrap().todo().len(), 0);
        // A complete line that is not a result names the file and line.
        let (full, _) = files(&dir);
        fs::write(dir.join(RESULTS_FILE), format!("{full}{{\"x\":1}}\n")).unwrap();
        let err = prepare(&s, &dir, None, true).err().unwrap().to_string();
        assert!(err.contains("results.jsonl:13: not a run result"), "{err}");
        let dup = full.lines().next().unwrap();
        fs::write(dir.join(RESULTS_FILE), format!("{full}{dup}\n")).unwrap();
        let err = prepare(&s, &dir, None, true).err().unwrap().to_string();
        assert!(err.contains(":13: run") && err.contains("appears again (first on line 1)"));
    }

    #[test]
    fn shards_merge_to_the_whole_sweep() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let whole = tmp.path().join("whole");
        let all = prepare(&s, &whole, None, false)
            .unwrap()
            .execute(2, true, each(fake), &|_| {})
            .unwrap();
        let rep = report(&s, None, &all);
        write_outputs(&whole, &s, &all, &rep).unwrap();
        let mut dirs = Vec::new();
        for k in 1..=3 {
            let dir = tmp.path().join(format!("s{k}"));
            let plan = prepare(&s, &dir, Some(Shard { k, n: 3 }), false).unwrap();
            assert_eq!(plan.todo().len(), 4);
            plan.execute(1, true, each(fake), &|_| {}).unwrap();
            dirs.push(dir);
        }
        let err = merge(&dirs[..2], false).err().unwrap().to_string();
        assert!(err.starts_with("4 of 12 runs are missing: "), "{err}");
        assert_eq!(merge(&dirs[..2], true).unwrap().missing.len(), 4);
        let m = merge(&dirs, false).unwrap();
        assert_eq!(m.scenario, s);
        let out = tmp.path().join("merged");
        let rep2 = report(&m.scenario, None, &m.results);
        assert_eq!(rep2, rep);
        write_outputs(&out, &m.scenario, &m.results, &rep2).unwrap();
        for f in [HEADER_FILE, RESULTS_FILE, SWEEP_CSV, SURVIVAL_CSV] {
            assert_eq!(
                fs::read_to_string(out.join(f)).unwrap(),
                fs::read_to_string(whole.join(f)).unwrap(),
                "{f}"
            );
        }
        // The same shard twice, and a shard of another sweep.
        let twice = [dirs[0].clone(), dirs[0].clone()];
        let err = merge(&twice, false).err().unwrap().to_string();
        assert!(err.contains("is in both"), "{err}");
        let mut other = s.clone();
        other.seed = 2;
        let odir = tmp.path().join("other");
        prepare(&other, &odir, None, false)
            .unwrap()
            .execute(1, true, each(fake), &|_| {})
            .unwrap();
        let err = merge(&[dirs[0].clone(), odir], false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("only shards of one sweep merge"), "{err}");
    }

    #[test]
    fn a_failing_run_stops_the_sweep_and_keeps_what_finished() {
        let s = scenario();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("f");
        let err = prepare(&s, &dir, None, false)
            .unwrap()
            .execute(
                1,
                true,
                each(|r: &Run, s: &Scenario| {
                    if r.index == 4 {
                        Err("broken".to_string())
                    } else {
                        fake(r, s)
                    }
                }),
                &|_| {},
            )
            .err()
            .unwrap();
        // The run fails with its family, which the error names with its thresholds.
        assert_eq!(
            err.to_string(),
            "run vm.min_free_kbytes=4096,seed#1 at vm.extfrag_threshold=100,500: broken"
        );
        // A panic is a failed run too, named.
        let err = prepare(&s, &dir, None, true)
            .unwrap()
            .execute(
                1,
                true,
                each(|r: &Run, s: &Scenario| {
                    assert!(r.index != 4, "index {} out of bounds", r.index);
                    fake(r, s)
                }),
                &|_| {},
            )
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "run vm.min_free_kbytes=4096,seed#1 at vm.extfrag_threshold=100,500: the \
             simulator panicked: index 4 out of bounds"
        );
        let plan = prepare(&s, &dir, None, true).unwrap();
        assert!(
            plan.todo().iter().any(|r| r.index == 1) && plan.todo().iter().any(|r| r.index == 4)
        );
        assert_eq!(plan.done() + plan.todo().len(), 12);
    }
}
