//! `buddysim plot DIR`: the plots of a run's, sweep's or comparison's output folder (the
//! library's `report::plot`).

use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The output folder of `run`, `sweep` or `compare`.
    dir: PathBuf,
    /// Where to write the plots (default: DIR/plots).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let out = args.out.unwrap_or_else(|| args.dir.join("plots"));
    let written = buddysim::report::plot::plot_dir_to(&args.dir, &out)?;
    if written.is_empty() {
        anyhow::bail!(
            "{}: no input to plot (buddyinfo.csv, vmstat.csv, events.jsonl, pageblocks-*.csv, \
             survival.csv, sweep.csv, comparison-*.csv)",
            args.dir.display()
        );
    }
    for file in written {
        outln!("{}", file.display())?;
    }
    Ok(())
}
