//! `buddysim validate` and `buddysim schema`: check scenario files, and the JSON Schema editors use.

use anyhow::Result;
use buddysim::scenario::{apply_override, json_schema, Scenario};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Scenario files (YAML).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Override a setting (`vm.extfrag_threshold=250`, `seed=7`, `workload.pods.arrivals.poisson=60/h`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// Loads and validates each scenario, with the overrides applied, and says what it holds.
pub fn validate(args: ValidateArgs) -> Result<()> {
    for path in &args.files {
        let mut scenario = Scenario::load(path)?;
        for setting in &args.set {
            apply_override(&mut scenario, setting)?;
        }
        let runs = scenario.sweep.as_ref().map_or(1, |s| s.run_count());
        outln!(
            "{}: ok: scenario `{}`, kernel {}, seed {}, {} run{}",
            path.display(),
            scenario.name,
            scenario.kernel,
            scenario.seed,
            runs,
            if runs == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}

/// Prints the JSON Schema of scenario files.
pub fn schema() -> Result<()> {
    outln!("{}", json_schema())?;
    Ok(())
}
