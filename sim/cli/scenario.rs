//! `buddysim validate` and `buddysim schema`: check scenario files, and the JSON Schema editors use.

use anyhow::{Context, Result};
use buddysim::scenario::{apply_override, json_schema, Scenario};
use buddysim::workload::cost;
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
        check_runs(&scenario).with_context(|| path.display().to_string())?;
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

/// Checks that each run of `scenario` (each grid point of a sweep) can run: its cost within the
/// limits, and the setup `run` does (capture files, slab caches, the fill), done once for each
/// grid point that differs in more than its seed and sysctls (their ranges are checked with the
/// scenario). Returns the most bytes a run keeps.
pub fn check_runs(scenario: &Scenario) -> Result<u64> {
    let Some(sweep) = &scenario.sweep else {
        buddysim::workload::run::check(scenario)?;
        return Ok(cost::Cost::of(scenario)?.bytes);
    };
    let mut most = 0;
    let mut set_up = std::collections::HashSet::new();
    for run in sweep.runs(scenario) {
        let s = run.scenario(scenario)?;
        let at = || format!("sweep run {}", run.id);
        most = most.max(cost::check(&s).with_context(at)?.bytes);
        let mut shape = s.clone();
        shape.seed = scenario.seed;
        shape.tunables = scenario.tunables.clone();
        if set_up.insert(shape.to_yaml()) {
            buddysim::workload::run::check(&s).with_context(at)?;
        }
    }
    Ok(most)
}

/// Prints the JSON Schema of scenario files.
pub fn schema() -> Result<()> {
    outln!("{}", json_schema())?;
    Ok(())
}
