//! `buddysim run`: one scenario, one seed; the prediction on stdout and the observations in an
//! output folder.

use crate::cli::Format;
use anyhow::{Context, Result};
use buddysim::report::run::{summary_text, write_outputs};
use buddysim::scenario::{apply_override, Scenario};
use buddysim::workload::run::{run, RunOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

/// The scenario `run` uses when given none: the seed node (scenarios/seed-rhel7-node.yaml).
const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/seed-rhel7-node.yaml");

#[derive(clap::Args)]
pub struct Args {
    /// Scenario file (YAML); without one, the built-in scenarios/seed-rhel7-node.yaml.
    scenario: Option<PathBuf>,
    /// Seed of every random stream (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
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
}

/// A progress bar on a terminal, nothing when stderr is piped.
pub fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{percent}}% ({{elapsed}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
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
    let bar = progress_bar(1000, &format!("simulating {}", scenario.name));
    let mut tick = |f: f64| {
        if let Some(b) = &bar {
            b.set_position((f * 1000.0) as u64);
        }
    };
    let opts = RunOptions { check: args.check };
    let out =
        run(&scenario, &opts, &mut tick).with_context(|| format!("scenario {}", scenario.name))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut files = write_outputs(&dir, &out, &scenario.outputs.files)
        .with_context(|| format!("writing {}", dir.display()))?;
    if scenario.outputs.plots {
        files.extend(
            buddysim::report::plot::plot_dir(&dir)
                .with_context(|| format!("plotting {}", dir.display()))?,
        );
    }
    match args.format {
        Format::Text => {
            out!("{}", summary_text(&out.summary))?;
            outln!("wrote {} files to {}", files.len(), dir.display())?;
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&out.summary)?)?,
    }
    Ok(())
}
