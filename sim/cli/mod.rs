//! clap commands that glue the library together. No model logic lives here: each command reads
//! its inputs, calls the library and prints or writes what it returns.

/// `print!` to stdout that returns the write's error instead of panicking: a reader that went
/// away (`buddysim run … | head`) ends the command quietly ([`main`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `println!` as [`out!`] does it.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod analyze;
mod compare;
mod explain;
mod gfp;
mod input;
mod plot;
mod progress;
mod replay;
mod run;
mod scenario;
mod sweep;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "buddysim",
    version,
    about = "A deterministic simulator of the Linux page allocator",
    long_about = "A deterministic simulator of the Linux page allocator: reads real /proc captures \
                  and dmesg failure reports and gives the kernel's own verdict on them."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read captures (/proc/buddyinfo, zoneinfo, pagetypeinfo, slabinfo, a dmesg failure report,
    /// node_exporter metrics) and give the kernel's verdict for an order-N allocation.
    Analyze(analyze::Args),
    /// Narrate one allocation on the captures step by step through the kernel's decisions
    /// (same inputs and options as `analyze`).
    Explain(analyze::Args),
    /// Replay the recorded real-kernel runs (tests/kernel/results) and compare with the kernel.
    Compare(compare::Args),
    /// Decode a GFP mask (0x…) or encode flag names for a kernel version.
    Gfp(gfp::Args),
    /// Run a scenario: when does the order-6 conntrack-cache allocation start failing?
    Run(run::Args),
    /// Replay a time series of captures of one node under a scenario's workload and report
    /// how far the simulated free blocks per order are from each later capture.
    Replay(replay::Args),
    /// Check scenario files (with `--set` overrides) and report the first error with its line.
    Validate(scenario::ValidateArgs),
    /// Print the JSON Schema of scenario files, for editors.
    Schema,
    /// Run a scenario's grid of settings × seeds in parallel (resumable, shardable) and
    /// recommend the least costly setting under a failure-probability target.
    Sweep(sweep::SweepArgs),
    /// Combine the folders of a sharded sweep into its results and table.
    Merge(sweep::MergeArgs),
    /// Draw the plots (PNG and SVG) of a run's, sweep's or comparison's output folder.
    Plot(plot::Args),
}

/// Output format of a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Gfp(args) => gfp::run(args),
        Command::Run(args) => run::run_cmd(args),
        Command::Replay(args) => replay::run(args),
        Command::Validate(args) => scenario::validate(args),
        Command::Schema => scenario::schema(),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge(args),
        Command::Plot(args) => plot::run(args),
    };
    let closed = |e: &anyhow::Error| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read stdout has what it wanted: stop as a killed-by-SIGPIPE tool would, quietly.
        Err(err) if closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("buddysim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
