//! Sweeps: a grid of settings × seeds, expanded into runs in a fixed order, and sharded.
//!
//! ```yaml
//! sweep:
//!   grid:
//!     vm.extfrag_threshold: [0, 250, 500, 750, 1000]
//!     vm.min_free_kbytes: [16384, 45056, 67584, 135168]
//!   seeds: 20
//!   target: 0.05
//! ```
//! A grid key is any key `--set` accepts and each value is applied exactly as `--set KEY=VALUE`
//! would be. Runs go in grid order (the first key varies slowest, as written in the file) and
//! then by seed replicate. Replicate `k` gets the same seed at every grid point (common random
//! numbers), so settings are compared on the same pod arrivals, seed by seed.

use super::error::{Invalid, ScenarioError};
use super::overrides::apply_override;
use super::tree::Path;
use super::units::yaml_number;
use super::Scenario;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Settings to combine, in the order written.
    pub grid: Grid,
    /// Seed replicates per combination.
    pub seeds: u32,
    /// The largest acceptable probability of a failure within the horizon, for the
    /// recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
}

/// Grid axes in file order: each key with the values it takes (as `--set` value text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grid(pub Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Grid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from a setting (as --set takes it) to a list of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Grid, A::Error> {
                let mut axes = Vec::new();
                // Values are kept as written (`3.10` stays `3.10`).
                while let Some((key, values)) = map.next_entry::<String, Vec<String>>()? {
                    axes.push((key, values));
                }
                Ok(Grid(axes))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for Grid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Grid {
    /// Adds the axis of a command-line `--set KEY=V1,V2,…` (values split on commas; a list
    /// value such as a lowmem_reserve_ratio is written with spaces, `256 256 32`). An axis of
    /// the same key is replaced.
    pub fn set_axis(&mut self, setting: &str) -> Result<(), ScenarioError> {
        let fail = |message: &str| ScenarioError::Argument {
            flag: "--set",
            value: setting.to_string(),
            message: message.to_string(),
        };
        let (key, values) = setting
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=V1,V2,…, such as vm.extfrag_threshold=0,250,500"))?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if key.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(fail("expected KEY=V1,V2,… with no empty key or value"));
        }
        let key = key.trim().to_string();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(axis) => axis.1 = values,
            None => self.0.push((key, values)),
        }
        Ok(())
    }
}

/// Keys a grid may not vary, and why: each would make runs that are not what the table counts.
const NOT_AXES: [(&str, &str); 3] = [
    (
        "seed",
        "each run's seed comes from the replicate (sweep.seeds, --seeds), which a seed axis would \
         override, making every replicate the same run",
    ),
    (
        "name",
        "the name does not change a run, so every value would repeat the same runs",
    ),
    (
        "duration",
        "a sweep judges every run over one horizon; run one sweep per duration",
    ),
];

/// Most runs one sweep may expand to.
pub const MAX_RUNS: u64 = 10_000_000;

/// One run of a sweep: a grid point and a seed replicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Position in [`Sweep::runs`].
    pub index: usize,
    /// Stable name: the settings and the replicate, e.g.
    /// `vm.extfrag_threshold=250,vm.min_free_kbytes=67584,seed#3`. It does not depend on the
    /// run's position, so results stay matched when the grid grows.
    pub id: String,
    /// `KEY=VALUE` settings, applied with [`apply_override`].
    pub settings: Vec<String>,
    /// Seed replicate, 0-based.
    pub replicate: u32,
    pub seed: u64,
}

impl Run {
    /// The scenario of this run: the sweep's scenario with the settings applied, this run's seed
    /// and no sweep.
    pub fn scenario(&self, base: &Scenario) -> Result<Scenario, ScenarioError> {
        let mut s = base.clone();
        s.sweep = None;
        s.seed = self.seed;
        for setting in &self.settings {
            apply_override(&mut s, setting)?;
        }
        Ok(s)
    }

    /// The run's id without its `vm.extfrag_threshold` setting: the name of its family, the runs
    /// that differ from it only in that threshold, which a sweep simulates together.
    pub fn family(&self) -> String {
        self.id
            .split(',')
            .filter(|part| !part.starts_with("vm.extfrag_threshold="))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The seed of replicate `k`: SplitMix64 of the scenario seed stepped `k` times by the golden
/// ratio increment (the generator's own seeding step), so nearby replicates get unrelated seeds.
pub fn replicate_seed(base: u64, k: u32) -> u64 {
    let mut z = base.wrapping_add((k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Sweep {
    /// Number of runs: the product of the axis lengths × seeds.
    pub fn run_count(&self) -> u64 {
        self.grid.0.iter().fold(self.seeds as u64, |n, (_, v)| {
            n.saturating_mul(v.len() as u64)
        })
    }

    /// Every grid combination × seed replicate, in the fixed order described in the module doc.
    pub fn runs(&self, scenario: &Scenario) -> Vec<Run> {
        let mut points: Vec<Vec<String>> = vec![Vec::new()];
        for (key, values) in &self.grid.0 {
            points = points
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.push(format!("{key}={v}"));
                        p
                    })
                })
                .collect();
        }
        let mut runs = Vec::new();
        for settings in points {
            for k in 0..self.seeds {
                let mut id = settings.join(",");
                if !id.is_empty() {
                    id.push(',');
                }
                id.push_str(&format!("seed#{k}"));
                runs.push(Run {
                    index: runs.len(),
                    id,
                    settings: settings.clone(),
                    replicate: k,
                    seed: replicate_seed(scenario.seed, k),
                });
            }
        }
        runs
    }

    pub(crate) fn validate(&self, path: &Path, scenario: &Scenario) -> Result<(), Invalid> {
        if self.seeds == 0 {
            return Err(Invalid::new(
                &path.key("seeds"),
                "0 seeds: allowed 1 or more",
            ));
        }
        if let Some(t) = self.target {
            if !(t > 0.0 && t < 1.0) {
                return Err(Invalid::new(
                    &path.key("target"),
                    format!(
                        "target {} is not a probability strictly between 0 and 1",
                        yaml_number(t)
                    ),
                ));
            }
        }
        if self.run_count() > MAX_RUNS {
            return Err(Invalid::new(
                &path.key("grid"),
                format!("{} runs: at most {MAX_RUNS}", self.run_count()),
            ));
        }
        let mut base = scenario.clone();
        base.sweep = None;
        for (key, values) in &self.grid.0 {
            let at = path.key("grid").key(key);
            if let Some((_, why)) = NOT_AXES.iter().find(|(k, _)| k == key) {
                return Err(Invalid::new(
                    &at,
                    format!("`{key}` cannot be a grid axis: {why}"),
                ));
            }
            if values.is_empty() {
                return Err(Invalid::new(&at, "no values: give a list of at least one"));
            }
            let mut seen: Vec<(String, &str)> = Vec::with_capacity(values.len());
            for (i, value) in values.iter().enumerate() {
                let mut s = base.clone();
                if let Err(e) = apply_override(&mut s, &format!("{key}={value}")) {
                    let message = match e {
                        ScenarioError::Argument { message, .. } => message,
                        other => other.to_string(),
                    };
                    return Err(Invalid::new(&at.index(i), message));
                }
                // Two values that give the same scenario would count one run twice.
                let yaml = s.to_yaml();
                if let Some((_, first)) = seen.iter().find(|(y, _)| *y == yaml) {
                    return Err(Invalid::new(
                        &at.index(i),
                        format!("{value} gives the same runs as {first}, given before: list each setting once"),
                    ));
                }
                seen.push((yaml, value));
            }
        }
        Ok(())
    }
}

/// `--shard K/N`: the K-th of N slices (1-based). Families (runs differing only in
/// `vm.extfrag_threshold`, [`Run::family`]) are numbered in run order, and the slice takes
/// every N-th family from family K−1, so a family stays in one shard and is still simulated
/// once. The N slices are disjoint and together hold every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl FromStr for Shard {
    type Err = ScenarioError;
    fn from_str(text: &str) -> Result<Self, ScenarioError> {
        let err = |m: &str| ScenarioError::Argument {
            flag: "--shard",
            value: text.to_string(),
            message: format!(
                "{m}: write K/N with 1 ≤ K ≤ N, e.g. 3/8 for the third of eight slices"
            ),
        };
        let (k, n) = text.split_once('/').ok_or_else(|| err("no `/`"))?;
        let k: u32 = k
            .trim()
            .parse()
            .map_err(|_| err("K is not a whole number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| err("N is not a whole number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(err("K is out of range"));
        }
        Ok(Shard { k, n })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// This shard's runs, in order.
    pub fn select(&self, runs: &[Run]) -> Vec<Run> {
        let mut families: HashMap<String, usize> = HashMap::new();
        runs.iter()
            .filter(|r| {
                let next = families.len();
                let f = *families.entry(r.family()).or_insert(next);
                f % self.n as usize == (self.k - 1) as usize
            })
            .cloned()
            .collect()
    }
}
