//! `buddysim replay`: a series of captures of one node against a scenario's workload.

use crate::cli::run::{load, progress_bar};
use crate::cli::Format;
use anyhow::{Context, Result};
use buddysim::capture::series;
use buddysim::report::replay::{replay, text, write};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The series: a folder of capture files named `<time>-…`, a list file of `<time> <file>`
    /// lines, or a node_exporter export (Prometheus text with timestamps, or query_range JSON).
    series: PathBuf,
    /// Scenario file (YAML) giving machine, kernel, tunables and workload; its `initial` is
    /// replaced by the first capture and its duration by the series' span.
    #[arg(long)]
    scenario: PathBuf,
    /// Seed of every random stream (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a setting (`vm.extfrag_threshold=250`, …).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Output folder (default: out/replay-<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Show progress on stderr even when it is not a terminal: a line every 10 s.
    #[arg(long)]
    progress: bool,
}

pub fn run(args: Args) -> Result<()> {
    let scenario = load(Some(&args.scenario), &args.set, args.seed)?;
    let series = series::load(&args.series)?;
    for w in series.warnings() {
        eprintln!("buddysim: note: {w}");
    }
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(format!("replay-{}", scenario.name)));
    buddysim::report::output::writable_dir(&dir)
        .with_context(|| format!("--out {}: cannot write there", dir.display()))?;
    let bar = progress_bar(1000, &format!("replaying {}", scenario.name), args.progress);
    let mut tick = |f: f64| bar.set_position((f * 1000.0) as u64);
    let report = replay(&scenario, &series, &mut tick)
        .with_context(|| format!("replaying {} under {}", series.source, scenario.name))?;
    bar.finish_and_clear();
    let files = write(&dir, &report).with_context(|| format!("writing {}", dir.display()))?;
    match args.format {
        Format::Text => {
            out!("{}", text(&report))?;
            outln!("wrote {} files to {}", files.len(), dir.display())?;
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(())
}
