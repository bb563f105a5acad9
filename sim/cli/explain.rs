//! `buddysim explain`: one allocation on a capture, step by step (the narration is the
//! library's `report::explain`).

use super::analyze::{load, Args};
use anyhow::{anyhow, Result};

pub fn run(args: Args) -> Result<()> {
    let analysis = load(args)?;
    let profile = buddysim::kernel::profile(&analysis.kernel).map_err(|e| anyhow!(e))?;
    out!("{}", buddysim::report::explain::text(&analysis, profile))?;
    Ok(())
}
