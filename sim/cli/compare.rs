//! `buddysim compare`: replay recorded real-kernel runs (tests/kernel/results/) and compare.

use anyhow::{bail, Context, Result};
use buddysim::report::validate::{
    compare, counts_csv, free_csv, load_run, markdown, simulate, text, RunComparison, RunFile,
};
use buddysim::workload::trace_run::counts_text;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(clap::Args)]
pub struct Args {
    /// A results directory (holding `<trace>-<mem>M/` runs) or run directories (default:
    /// tests/kernel/results here, else in the repository the binary was built from).
    dirs: Vec<PathBuf>,
    /// Directory of the traces (default: `traces` beside the results directory).
    #[arg(long)]
    traces: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: CompareFormat,
    /// Write the simulated snapshots in the harness's layout (`<run>/<NN-mark>/{buddyinfo,…}`,
    /// `<run>/counts`) and comparison-free.csv / comparison-counts.csv here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The run directories named by `dirs` (a directory with a `meta` file is a run; otherwise its
/// subdirectories with one are), in name order.
fn run_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut runs = Vec::new();
    for d in dirs {
        if d.join("meta").is_file() {
            runs.push(d.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("meta").is_file())
            .collect();
        if found.is_empty() {
            bail!(
                "{}: no run directories (with a `meta` file) here",
                d.display()
            );
        }
        found.sort();
        runs.extend(found);
    }
    Ok(runs)
}

/// Writes `text` to `path` atomically (creating its folder).
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    buddysim::report::output::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The recorded results `compare` reads when given none: `tests/kernel/results` of the current
/// folder, else of the repository this binary was built from.
fn default_results() -> Result<PathBuf> {
    let here = PathBuf::from("tests/kernel/results");
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel/results");
    [here, built]
        .into_iter()
        .find(|d| d.is_dir())
        .with_context(|| {
            format!(
                "no recorded kernel runs in ./tests/kernel/results or {}: give a results folder",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/kernel/results")
                    .display()
            )
        })
}

/// Loads, replays and compares one run; writes its simulated files under `out`.
fn one(dir: &Path, traces: &Path, out: Option<&Path>) -> Result<RunComparison> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let mut read = |f: &RunFile| {
        let path = match f {
            RunFile::Trace { .. } => traces.join(f.path()),
            _ => dir.join(f.path()),
        };
        std::fs::read_to_string(&path)
            .map(|t| (path.display().to_string(), t))
            .map_err(|e| e.to_string())
    };
    let run = load_run(&name, &mut read)?;
    let sim = simulate(&run)?;
    if let Some(out) = out {
        let base = out.join(&name);
        for m in &sim.marks {
            for (file, body) in [
                ("buddyinfo", &m.buddyinfo),
                ("pagetypeinfo", &m.pagetypeinfo),
                ("zoneinfo", &m.zoneinfo),
                ("vmstat", &m.vmstat),
            ] {
                write_atomic(&base.join(&m.dir).join(file), body)?;
            }
        }
        let trace_path = format!("/traces/{}.trace", run.trace_name);
        write_atomic(&base.join("counts"), &counts_text(&trace_path, &sim.counts))?;
    }
    Ok(compare(&run, &sim))
}

pub fn run(args: Args) -> Result<()> {
    let dirs = if args.dirs.is_empty() {
        vec![default_results()?]
    } else {
        args.dirs
    };
    let runs = run_dirs(&dirs)?;
    let traces = match &args.traces {
        Some(t) => t.clone(),
        None => {
            let first = runs.first().context("no runs")?;
            first
                .parent()
                .and_then(Path::parent)
                .map_or_else(|| PathBuf::from("traces"), |p| p.join("traces"))
        }
    };
    let out = args.out.as_deref();
    let results: Vec<Result<RunComparison>> = runs
        .par_iter()
        .map(|d| one(d, &traces, out).with_context(|| format!("run {}", d.display())))
        .collect();
    let comparisons = results.into_iter().collect::<Result<Vec<_>>>()?;
    if let Some(out) = out {
        write_atomic(&out.join("comparison-free.csv"), &free_csv(&comparisons))?;
        write_atomic(
            &out.join("comparison-counts.csv"),
            &counts_csv(&comparisons),
        )?;
    }
    match args.format {
        CompareFormat::Text => out!("{}", text(&comparisons))?,
        CompareFormat::Markdown => out!("{}", markdown(&comparisons))?,
        CompareFormat::Json => outln!("{}", serde_json::to_string_pretty(&comparisons)?)?,
    }
    Ok(())
}
