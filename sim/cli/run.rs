//! `buddysim run`: one scenario over one seed or several; the prediction on stdout and the
//! observations of the first seed in an output folder.
//!
//! `--seeds N` runs the scenario's seed and the N − 1 after it (`seed_from_u64` expands each
//! into an unrelated key, so neighbouring seeds draw unrelated streams), in parallel; the first
//! seed's run is the one `--seed` would give, files and all. `--seed S` runs exactly S.

use crate::cli::{progress, Format};
use anyhow::{Context, Result};
use buddysim::kernel::profile::profile;
use buddysim::report::advice::{remedies, Creations};
use buddysim::report::output::write_atomic;
use buddysim::report::run::{summary_text, write_outputs, SeedsReport};
use buddysim::scenario::{apply_override, Scenario};
use buddysim::workload::run::{run, RunOptions, RunOutput};
use rayon::prelude::*;
use std::path::PathBuf;

/// Seeds `run` runs without `--seed` or `--seeds`: three give a median and a range, and on two
/// cores cost two runs' time.
const DEFAULT_SEEDS: u32 = 3;

/// The scenario `run` uses when given none: the seed node (scenarios/seed-rhel7-node.yaml).
const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/seed-rhel7-node.yaml");

#[derive(clap::Args)]
pub struct Args {
    /// Scenario file (YAML); without one, the built-in scenarios/seed-rhel7-node.yaml.
    scenario: Option<PathBuf>,
    /// Seed of every random stream (overrides the scenario's); runs this one seed only.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run the scenario's seed and the N − 1 after it, in parallel (default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    seeds: Option<u32>,
    /// Override a setting (`vm.extfrag_threshold=250`, `duration=7d`, …).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Output folder (default: out/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Check the model's invariants after every event (slow).
    #[arg(long)]
    check: bool,
    /// Show progress on stderr even when it is not a terminal: a line every 10 s.
    #[arg(long)]
    progress: bool,
}

/// The bar of `what` (`simulating seed-rhel7-node`) over `len` steps ([`progress::bar`]).
pub fn progress_bar(len: u64, what: &str, lines: bool) -> indicatif::ProgressBar {
    progress::bar(
        len,
        &format!("{what} [{{bar:40}}] {{percent}}% ({{elapsed}}, eta {{eta}})"),
        lines,
    )
}

/// Loads the scenario (or the built-in one) with `--set` and `--seed` applied.
pub fn load(path: Option<&PathBuf>, set: &[String], seed: Option<u64>) -> Result<Scenario> {
    let mut scenario = match path {
        Some(p) => Scenario::load(p)?,
        None => Scenario::parse(
            DEFAULT_SCENARIO,
            "scenarios/seed-rhel7-node.yaml (built in)",
        )?,
    };
    for s in set {
        apply_override(&mut scenario, s)?;
    }
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    scenario.validate()?;
    Ok(scenario)
}

pub fn run_cmd(args: Args) -> Result<()> {
    let scenario = load(args.scenario.as_ref(), &args.set, args.seed)?;
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));
    buddysim::report::output::writable_dir(&dir)
        .with_context(|| format!("--out {}: cannot write there", dir.display()))?;
    let seeds = if args.seed.is_some() {
        1
    } else {
        args.seeds.unwrap_or(DEFAULT_SEEDS)
    };
    let bar = progress_bar(
        1000 * seeds as u64,
        &format!("simulating {}", scenario.name),
        args.progress,
    );
    let done: Vec<std::sync::atomic::AtomicU64> = (0..seeds).map(|_| Default::default()).collect();
    let opts = RunOptions { check: args.check };
    let outs = (0..seeds)
        .into_par_iter()
        .map(|k| {
            let mut s = scenario.clone();
            s.seed = scenario.seed.wrapping_add(k as u64);
            let mut tick = |f: f64| {
                done[k as usize].store((f * 1000.0) as u64, std::sync::atomic::Ordering::Relaxed);
                bar.set_position(
                    done.iter()
                        .map(|d| d.load(std::sync::atomic::Ordering::Relaxed))
                        .sum(),
                );
            };
            run(&s, &opts, &mut tick)
                .with_context(|| format!("scenario {}, seed {}", s.name, s.seed))
        })
        .collect::<Result<Vec<RunOutput>>>()?;
    bar.finish_and_clear();
    let out = &outs[0];
    let mut files = write_outputs(&dir, out, &scenario.outputs.files)
        .with_context(|| format!("writing {}", dir.display()))?;
    if scenario.outputs.plots {
        files.extend(
            buddysim::report::plot::plot_dir(&dir)
                .with_context(|| format!("plotting {}", dir.display()))?,
        );
    }
    if seeds == 1 {
        match args.format {
            Format::Text => {
                out!("{}", summary_text(&out.summary))?;
                outln!("wrote {} files to {}", files.len(), dir.display())?;
            }
            Format::Json => outln!("{}", serde_json::to_string_pretty(&out.summary)?)?,
        }
        return Ok(());
    }
    let summaries: Vec<_> = outs.iter().map(|o| o.summary.clone()).collect();
    let creations: Vec<_> = outs.iter().map(|o| Creations::of(&o.events)).collect();
    let kernel = profile(&scenario.kernel).map_err(anyhow::Error::msg)?;
    let advice = remedies(&scenario, kernel, &creations);
    let report = SeedsReport::new(summaries, creations, advice);
    let csv = dir.join("seeds.csv");
    write_atomic(&csv, report.csv().as_bytes())
        .with_context(|| format!("writing {}", csv.display()))?;
    files.push(csv);
    match args.format {
        Format::Text => {
            out!("{}", report.text())?;
            outln!(
                "seed {} in detail (the output folder's files):",
                report.seeds[0]
            )?;
            out!("{}", summary_text(&out.summary))?;
            outln!(
                "wrote {} files to {} (seed {}; seeds.csv has every seed)",
                files.len(),
                dir.display(),
                report.seeds[0]
            )?;
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(())
}
