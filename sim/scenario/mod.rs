//! Scenario files: YAML that describes a node (machine, kernel, tunables), where it starts, what
//! happens to it, for how long, what to record, and optionally a sweep over settings.
//!
//! Reading goes in three steps, each with errors of the form `FILE:LINE:COL: message`:
//! 1. YAML syntax, and the document as a tree with the location of every value ([`tree`]);
//! 2. the typed [`Scenario`] through serde (`deny_unknown_fields` everywhere, so an unknown key
//!    is an error that lists the allowed keys; units are checked by [`units`]; serde's errors
//!    are worded from the [`schema`] by [`error`]);
//! 3. semantic checks on the typed values (a zone larger than the machine, an order above the
//!    kernel's maximum, a tunable the kernel does not have). A check reports a path into the
//!    scenario and the tree turns it into the line and column of the value.
//!
//! Nothing here simulates: the engine reads the typed values.

pub mod actions;
pub mod error;
pub mod initial;
pub mod machine;
pub mod outputs;
pub mod overrides;
pub mod reconstruct;
pub mod replay;
pub mod schema;
pub mod sweep;
pub mod tree;
pub mod tunables;
pub mod units;
pub mod workload;

pub use actions::{Action, ActionKind};
pub use error::{ErrorKind, ScenarioError};
pub use initial::{CaptureInit, Fill, Initial, MemSplit, SlabAmount};
pub use machine::{Machine, ZoneSpec};
pub use outputs::{AllocProbe, OutputFile, Outputs, Probes};
pub use overrides::apply_override;
pub use replay::{parse_events, PodEvent, PodEventKind};
pub use schema::json_schema;
pub use sweep::{Grid, Run, Shard, Sweep};
pub use tunables::{ThpMode, Tunables};
pub use units::{Duration, Pages, Rate, Size};
pub use workload::{
    Arrivals, Background, Daemons, DailyEntry, DailyPoint, Kmalloc, Leaks, Lifetime, LogRotation,
    PageCacheJob, PodProfile, Pods, Wave, Workload,
};

use crate::kernel::{profile, Profile};
use error::{from_saphyr, Invalid};
use serde::{Deserialize, Serialize};
use std::path::{Path as FsPath, PathBuf};
use tree::{Node, Path};

/// A scenario as written in its file, with defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of every random stream of the run (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Kernel profile name (`3.10`, `3.10-rhel7`, `4.4`, `4.9`, `4.19`, `5.15`, `6.1`, `6.18`).
    pub kernel: String,
    pub machine: Machine,
    /// Sysctl settings; those left out keep the kernel's defaults.
    #[serde(default, skip_serializing_if = "is_default")]
    pub tunables: Tunables,
    #[serde(default)]
    pub transparent_hugepage: ThpMode,
    /// Memory cgroup kmem accounting (default true); false is `cgroup.memory=nokmem`.
    #[serde(default = "yes")]
    pub kmem_accounting: bool,
    #[serde(default)]
    pub initial: Initial,
    #[serde(default)]
    pub workload: Workload,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub probes: Probes,
    /// Simulated time to run (`7d`).
    pub duration: Duration,
    #[serde(default)]
    pub outputs: Outputs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// The file the scenario was loaded from; relative paths in it are relative to its folder.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// The longest run: 100 years of simulated time.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

impl Scenario {
    /// Reads a scenario from YAML text; `file` names it in errors. Relative paths stay
    /// unresolved and files they name are not checked (see [`Scenario::load`]).
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_located(text, file).map(|(scenario, _)| scenario)
    }

    /// [`Scenario::parse`], also returning the document tree for locating later checks.
    fn parse_located(text: &str, file: &str) -> Result<(Scenario, Node), ScenarioError> {
        if text.trim().is_empty() {
            return Err(ScenarioError::At {
                file: file.to_string(),
                line: 1,
                column: 1,
                kind: ErrorKind::Type,
                message: "the file is empty: a scenario needs at least name, kernel, machine and \
                          duration"
                    .into(),
            });
        }
        let tree = Node::parse(text).map_err(|e| from_saphyr(file, &e, ErrorKind::Syntax, None))?;
        let scenario = Scenario::from_tree(text, file, &tree)?;
        scenario
            .validate_paths()
            .map_err(|e| e.locate(file, &tree))?;
        Ok((scenario, tree))
    }

    /// The typed scenario of `text`, already read as `tree`, before the semantic checks.
    pub(crate) fn from_tree(
        text: &str,
        file: &str,
        tree: &Node,
    ) -> Result<Scenario, ScenarioError> {
        schema::check_choices(tree).map_err(|e| e.locate_as(ErrorKind::Type, file, tree))?;
        serde_saphyr::from_str_with_options(text, tree::yaml_options())
            .map_err(|e| from_saphyr(file, &e, ErrorKind::Type, Some(tree)))
    }

    /// Reads and checks a scenario file, and checks that the files it names exist (capture
    /// files) and read correctly (a replay event log).
    pub fn load(path: &FsPath) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = read_text(path)?;
        let (mut scenario, tree) = Scenario::parse_located(&text, &file)?;
        scenario.source = Some(path.to_path_buf());
        if let Initial::Capture(capture) = &scenario.initial {
            let list = Path::root().key("initial").key("capture");
            let list = if tree.get(&list.key("files")).is_some() {
                list.key("files")
            } else {
                list
            };
            for (i, f) in capture.files.iter().enumerate() {
                let resolved = scenario.resolve(f);
                if !resolved.is_file() {
                    return Err(Invalid::new(
                        &list.index(i),
                        format!(
                            "capture file {} does not exist (paths are relative to the scenario \
                             file's folder)",
                            resolved.display()
                        ),
                    )
                    .locate(&file, &tree));
                }
            }
        }
        if let Some(Pods {
            arrivals: Arrivals::Replay(csv),
            ..
        }) = &scenario.workload.pods
        {
            if !scenario.resolve(csv).is_file() {
                let at = Path::root()
                    .key("workload")
                    .key("pods")
                    .key("arrivals")
                    .key("replay");
                return Err(Invalid::new(
                    &at,
                    format!(
                        "event log {} does not exist (paths are relative to the scenario file's \
                         folder)",
                        scenario.resolve(csv).display()
                    ),
                )
                .locate(&file, &tree));
            }
            scenario.replay_events()?;
        }
        Ok(scenario)
    }

    /// Runs the semantic checks (parsing runs them too).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.validate_paths().map_err(ScenarioError::from)
    }

    pub(crate) fn validate_paths(&self) -> Result<(), Invalid> {
        let root = Path::root();
        let profile = profile(&self.kernel).map_err(|m| Invalid::new(&root.key("kernel"), m))?;
        if self.name.trim().is_empty() {
            return Err(Invalid::new(&root.key("name"), "the name is empty"));
        }
        self.machine.validate(&root.key("machine"))?;
        let memory = self.machine.memory;
        self.tunables
            .validate(&root.key("tunables"), profile, memory.kib())?;
        self.initial.validate(&root.key("initial"), memory)?;
        self.workload.validate(&root.key("workload"), memory)?;
        if self.duration.0 == 0 || self.duration > MAX_DURATION {
            return Err(Invalid::new(
                &root.key("duration"),
                format!(
                    "{}: allowed from 1ns to 100 years ({MAX_DURATION})",
                    self.duration
                ),
            ));
        }
        for (i, action) in self.actions.iter().enumerate() {
            let at = root.key("actions").index(i);
            action.validate(&at)?;
            if let Some(t) = &action.sysctl {
                t.validate(&at.key("sysctl"), profile, memory.kib())?;
            }
            if let Some(a) = &action.alloc {
                a.validate(&at.key("alloc"), profile)?;
            }
            if action.at > self.duration {
                return Err(Invalid::new(
                    &at.key("at"),
                    format!(
                        "{} is after the end of the run ({})",
                        action.at, self.duration
                    ),
                ));
            }
        }
        for (i, probe) in self.probes.alloc.iter().enumerate() {
            probe.validate(&root.key("probes").key("alloc").index(i), profile)?;
        }
        self.outputs.validate(&root.key("outputs"))?;
        if let Some(sweep) = &self.sweep {
            sweep.validate(&root.key("sweep"), self)?;
        }
        Ok(())
    }

    /// The kernel profile the scenario names.
    pub fn profile(&self) -> Result<&'static Profile, ScenarioError> {
        profile(&self.kernel).map_err(|message| ScenarioError::Invalid {
            path: "kernel".into(),
            message,
        })
    }

    /// A path from the scenario, relative to the scenario file's folder (as is when the
    /// scenario was not loaded from a file, or the path is absolute).
    pub fn resolve(&self, path: &FsPath) -> PathBuf {
        match self.source.as_ref().and_then(|s| s.parent()) {
            Some(dir) => dir.join(path),
            None => path.to_path_buf(),
        }
    }

    /// The capture files of `initial: {capture: …}`, resolved; empty for other starts.
    pub fn capture_files(&self) -> Vec<PathBuf> {
        match &self.initial {
            Initial::Capture(c) => c.files.iter().map(|f| self.resolve(f)).collect(),
            _ => Vec::new(),
        }
    }

    /// The capture files of `initial: {capture: …}`, read and merged; an error names the file
    /// (and line, for a parse error).
    pub fn read_capture(&self) -> Result<crate::capture::Capture, ScenarioError> {
        let mut merged: Option<crate::capture::Capture> = None;
        for path in self.capture_files() {
            let file = path.display().to_string();
            let text = read_text(&path)?;
            let c = crate::capture::parse(&file, &text).map_err(|e| ScenarioError::Read {
                file: file.clone(),
                message: e.to_string(),
            })?;
            match &mut merged {
                Some(m) => m.merge(c).map_err(|e| ScenarioError::Read {
                    file: e.file.clone(),
                    message: e.to_string(),
                })?,
                None => merged = Some(c),
            }
        }
        merged.ok_or_else(|| ScenarioError::Invalid {
            path: "initial.capture".into(),
            message: "no capture files".into(),
        })
    }

    /// The pod event log of `arrivals: {replay: …}`, read and checked; `None` for other arrivals.
    pub fn replay_events(&self) -> Result<Option<Vec<PodEvent>>, ScenarioError> {
        let Some(Pods {
            arrivals: Arrivals::Replay(csv),
            ..
        }) = &self.workload.pods
        else {
            return Ok(None);
        };
        let path = self.resolve(csv);
        let file = path.display().to_string();
        let text = read_text(&path)?;
        parse_events(&text, &file).map(Some)
    }

    /// The scenario as YAML that [`Scenario::parse`] reads back to an equal value.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).expect("scenario types always serialize")
    }
}

/// A file a scenario reads (itself, its captures, its event log), as text; a file that is not
/// UTF-8 text says where its first bad byte is instead of the I/O layer's words.
fn read_text(path: &FsPath) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| ScenarioError::Read {
        file,
        message: format!(
            "not a text file: byte {} is not UTF-8 (scenarios, captures and event logs are text)",
            e.utf8_error().valid_up_to() + 1
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_built_in_code_are_checked_by_path() {
        let mut s = Scenario::parse(
            "name: t\nkernel: \"6.18\"\nmachine: {memory: 8GiB, cpus: 2}\nduration: 1h\n",
            "t.yaml",
        )
        .unwrap();
        s.machine.cpus = 0;
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "machine.cpus: 0 CPUs: allowed 1 to 8192 (CONFIG_NR_CPUS)"
        );
        s.machine.cpus = 2;
        s.tunables.compaction_proactiveness = Some(40);
        s.validate().unwrap();
        assert_eq!(s.resolve(FsPath::new("x.csv")), PathBuf::from("x.csv"));
        s.source = Some(PathBuf::from("dir/s.yaml"));
        assert_eq!(s.resolve(FsPath::new("x.csv")), PathBuf::from("dir/x.csv"));
    }
}
