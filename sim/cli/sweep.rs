//! `buddysim sweep` and `buddysim merge`: run a scenario's grid of settings × seeds in parallel
//! into a folder (resumable, shardable), and combine shard folders into the sweep's table.

use super::{progress, Format};
use anyhow::{anyhow, bail, Result};
use buddysim::report::sweep::{RunResult, SweepReport};
use buddysim::report::sweep_dir::{self, sweep_of, FamilyTask};
use buddysim::scenario::{apply_override, Scenario, Shard, Size};
use buddysim::workload::cost;
use buddysim::workload::run::{simulate_family, FamilyRun, RunOptions};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Scenario file (YAML); its `sweep:` section gives the grid and seeds.
    scenario: PathBuf,
    /// `KEY=V1,V2,…` makes KEY a grid axis with these values (replacing the file's axis of that
    /// key); `KEY=VALUE` with one value is a plain override (on a grid key: fixes the axis), as
    /// is a YAML flow value (`{poisson: 60/h}`, `[256, 256, 32]`).
    #[arg(long = "set", value_name = "KEY=V1,V2,…")]
    set: Vec<String>,
    /// Seed replicates per grid point (default: the scenario's `sweep.seeds`, else 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    seeds: Option<u32>,
    /// Runs at a time (default: one per available core).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Run only the K-th of N deterministic slices of the runs (1-based), e.g. 3/8.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Output folder (default: sweep-NAME, or sweep-NAME-K-of-N for a shard).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the sweep in --out: keep the runs already in results.jsonl and run the rest.
    #[arg(long)]
    resume: bool,
    /// Simulate every run from scratch: no run taken over from a sibling at another
    /// vm.extfrag_threshold, no family simulated once and forked. The results are the same
    /// byte for byte; only the time differs.
    #[arg(long)]
    no_share: bool,
    /// Show progress on stderr even when it is not a terminal: a line every 10 s.
    #[arg(long)]
    progress: bool,
    /// Largest acceptable probability of a failure within the scenario's duration (default:
    /// the scenario's `sweep.target`, else 0.05).
    #[arg(long)]
    target: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Shard folders written by `buddysim sweep --shard K/N`.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Folder for the combined results and tables.
    #[arg(long)]
    out: PathBuf,
    /// Write the table of the runs there are even when some are missing.
    #[arg(long)]
    partial: bool,
    /// Largest acceptable failure probability (default: the scenario's `sweep.target`, else 0.05).
    #[arg(long)]
    target: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Loads the scenario and applies the command line: `--set` lists become grid axes, single
/// values overrides; `--seeds` replaces the replicate count.
fn load(args: &SweepArgs) -> Result<Scenario> {
    let mut scenario = Scenario::load(&args.scenario)?;
    for setting in &args.set {
        let Some((key, values)) = setting.split_once('=') else {
            bail!("--set {setting}: expected KEY=VALUE or KEY=V1,V2,…, such as vm.extfrag_threshold=0,250,500");
        };
        let key = key.trim();
        let is_axis = scenario
            .sweep
            .as_ref()
            .is_some_and(|s| s.grid.0.iter().any(|(k, _)| k == key));
        // A YAML flow value (`{poisson: 60/h}`, `[256, 256, 32]`) is one value, commas and all.
        let flow = values.trim_start().starts_with(['{', '[']);
        if flow || (!values.contains(',') && !is_axis) {
            apply_override(&mut scenario, setting)?;
            continue;
        }
        for value in values.split(',') {
            apply_override(&mut scenario.clone(), &format!("{key}={}", value.trim()))?;
        }
        let mut sweep = sweep_of(&scenario);
        sweep.grid.set_axis(setting)?;
        scenario.sweep = Some(sweep);
    }
    if let Some(seeds) = args.seeds {
        let mut sweep = sweep_of(&scenario);
        sweep.seeds = seeds;
        scenario.sweep = Some(sweep);
    }
    scenario.validate()?;
    Ok(scenario)
}

fn check_target(target: Option<f64>) -> Result<()> {
    match target {
        Some(t) if !(t > 0.0 && t < 1.0) => {
            bail!("--target {t}: a probability strictly between 0 and 1, such as 0.05")
        }
        _ => Ok(()),
    }
}

fn print(report: &SweepReport, format: Format) -> Result<()> {
    match format {
        Format::Text => out!("{}", report.text())?,
        Format::Json => out!("{}", report.json())?,
    }
    Ok(())
}

/// The bar of `len` runs ([`progress::bar`]).
fn progress(len: usize, lines: bool) -> ProgressBar {
    progress::bar(
        len as u64,
        "{bar:40} {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
        lines,
    )
}

/// The runs at once (`--jobs`, 0 for one per core) that this machine's available memory holds
/// when each keeps `each` bytes, saying so when that is fewer than asked.
fn memory_jobs(each: u64, jobs: usize) -> usize {
    let asked = if jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        jobs
    };
    let Some(available) = cost::available_memory() else {
        return jobs;
    };
    let fit = usize::try_from(available / each.max(1))
        .unwrap_or(usize::MAX)
        .max(1);
    if fit < asked {
        eprintln!(
            "buddysim: {fit} runs at once, not {asked}: each keeps at least {} and this machine \
             has {} available",
            Size(each).approx(),
            Size(available).approx()
        );
        return fit;
    }
    jobs
}

pub fn sweep(args: SweepArgs) -> Result<()> {
    check_target(args.target)?;
    let shard: Option<Shard> = args.shard.as_deref().map(str::parse).transpose()?;
    let scenario = load(&args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(match shard {
            Some(s) => format!("sweep-{}-{}-of-{}", scenario.name, s.k, s.n),
            None => format!("sweep-{}", scenario.name),
        })
    });
    let each = crate::cli::scenario::check_runs(&scenario)?;
    let plan = sweep_dir::prepare(&scenario, &out, shard, args.resume)?;
    let (resumed, todo) = (plan.done(), plan.todo().len());
    // Every finished run is already in results.jsonl: an interrupted sweep says how to go on.
    let again = format!(
        "buddysim: interrupted; the runs finished so far are in {}; the same command with \
         --resume runs only the rest",
        out.join(sweep_dir::RESULTS_FILE).display()
    );
    // Refused only when a handler is already set (never in this process): nothing to say then.
    let _ = ctrlc::set_handler(move || {
        eprintln!("\n{again}");
        std::process::exit(130);
    });
    let bar = progress(todo, args.progress);
    let jobs = memory_jobs(each, args.jobs.map_or(0, |j| j as usize));
    let families = Mutex::new(Vec::new());
    let results = plan.execute(
        jobs,
        !args.no_share,
        |task: &FamilyTask| {
            let f = simulate_family(
                task.scenario(),
                &task.thresholds(),
                &RunOptions::default(),
                &mut |_| {},
            )?;
            let mut done = families.lock().unwrap_or_else(|p| p.into_inner());
            done.push((task.name.clone(), task.runs.len(), f.clone()));
            Ok::<_, buddysim::workload::run::RunError>(f)
        },
        &|_| bar.inc(1),
    );
    bar.finish_and_clear();
    let mut families = families.into_inner().unwrap_or_else(|p| p.into_inner());
    families.sort_by(|a, b| a.0.cmp(&b.0));
    let results = results.map_err(|e| {
        anyhow!(
            "{e}\n(the results so far are in {}: fix the cause and continue with --resume)",
            out.join(sweep_dir::RESULTS_FILE).display()
        )
    })?;
    report_sharing(
        &families,
        todo,
        results.len(),
        resumed,
        &out,
        scenario.duration.0,
    );
    match shard {
        Some(s) => print_shard(s, &out, &results, args.format)?,
        None => {
            let report = sweep_dir::report(&scenario, args.target, &results);
            sweep_dir::write_outputs(&out, &scenario, &results, &report)?;
            if scenario.outputs.plots {
                buddysim::report::plot::plot_dir(&out)?;
            }
            print(&report, args.format)?;
        }
    }
    Ok(())
}

/// The closing lines on stderr: how many runs were simulated and how much of them shared, and
/// where each family forked.
fn report_sharing(
    families: &[(String, usize, FamilyRun)],
    todo: usize,
    total: usize,
    resumed: usize,
    out: &Path,
    duration_ns: u64,
) {
    let day = |s: f64| s / 86_400.0;
    let runs: usize = families.iter().map(|f| f.1).sum();
    let simulated: f64 = families.iter().map(|f| f.2.simulated_s).sum();
    let asked = runs as f64 * duration_ns as f64 / 1e9;
    let forks: usize = families.iter().map(|f| f.2.forks.len()).sum();
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    eprintln!(
        "buddysim: {} in {}: {resumed} already there, {todo} done now; {} the same run as one at \
         another vm.extfrag_threshold, the other {runs} ran as {} with {}: {:.1} of {:.1} \
         run-days simulated, {:.0} % shared",
        n(total, "run", "runs"),
        out.display(),
        if todo - runs == 1 {
            "1 is".to_string()
        } else {
            format!("{} are", todo - runs)
        },
        n(families.len(), "family", "families"),
        n(forks, "fork", "forks"),
        day(simulated),
        day(asked),
        if asked > 0.0 {
            100.0 * (1.0 - simulated / asked)
        } else {
            0.0
        }
    );
    for (name, _, f) in families.iter().filter(|f| !f.2.forks.is_empty()) {
        let forks: Vec<String> = f
            .forks
            .iter()
            .map(|k| {
                let t: Vec<String> = k.thresholds.iter().map(u32::to_string).collect();
                format!(
                    "{} forked on day {:.2} (from day {:.2})",
                    t.join("/"),
                    day(k.split_s),
                    day(k.from_s)
                )
            })
            .collect();
        eprintln!("  {name}: {}", forks.join("; "));
    }
}

/// A shard has no table of its own: say what it holds and how to combine it.
fn print_shard(shard: Shard, out: &Path, results: &[RunResult], format: Format) -> Result<()> {
    match format {
        Format::Text => outln!(
            "shard {shard}: {} runs in {}; combine the shards with `buddysim merge DIR… --out DIR`",
            results.len(),
            out.join(sweep_dir::RESULTS_FILE).display()
        )?,
        Format::Json => outln!(
            "{}",
            serde_json::json!({
                "shard": shard.to_string(),
                "runs": results.len(),
                "results": out.join(sweep_dir::RESULTS_FILE),
            })
        )?,
    }
    Ok(())
}

pub fn merge(args: MergeArgs) -> Result<()> {
    check_target(args.target)?;
    if args.out.join(sweep_dir::HEADER_FILE).exists()
        || args.out.join(sweep_dir::RESULTS_FILE).exists()
    {
        bail!(
            "--out {}: the folder already holds a sweep; merge into a new folder",
            args.out.display()
        );
    }
    let merged = sweep_dir::merge(&args.dirs, args.partial)?;
    if !merged.missing.is_empty() {
        eprintln!(
            "buddysim: warning: {} of {} runs are missing; the table holds the {} there are",
            merged.missing.len(),
            merged.missing.len() + merged.results.len(),
            merged.results.len()
        );
    }
    let report = sweep_dir::report(&merged.scenario, args.target, &merged.results);
    sweep_dir::write_outputs(&args.out, &merged.scenario, &merged.results, &report)?;
    if merged.scenario.outputs.plots {
        buddysim::report::plot::plot_dir(&args.out)?;
    }
    print(&report, args.format)
}
