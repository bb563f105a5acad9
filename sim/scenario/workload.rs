//! What happens to the node: pods arriving and leaving, long-lived daemons, what each pod
//! allocates, what leaks, and background load.
//!
//! ```yaml
//! workload:
//!   pods:
//!     arrivals: {poisson: 120/h}        # or daily: […], waves: […], replay: events.csv
//!     lifetime: {exponential: 2h}       # or lognormal: {median: 30m, sigma: 1.2}, fixed: 1h
//!     profile: {threads: 20, anon: 200MiB, slab: {dentry: 2000}}
//!   daemons: {count: 12}
//!   leaks: {zombie_memcg: 0.05}
//!   background: {log_rotation: {every: 1d, size: 1GiB}}
//! ```

use super::error::Invalid;
use super::initial::check_cache_name;
use super::tree::Path;
use super::units::{yaml_number, Duration, Rate, Size};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Pods that come and go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Pods>,
    /// Long-lived pods started at boot (DaemonSets, system pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemons: Option<Daemons>,
    #[serde(default, skip_serializing_if = "Leaks::is_none")]
    pub leaks: Leaks,
    #[serde(default, skip_serializing_if = "Background::is_none")]
    pub background: Background,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pods {
    pub arrivals: Arrivals,
    pub lifetime: Lifetime,
    #[serde(default)]
    pub profile: PodProfile,
}

/// When pods start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// A Poisson process with this rate.
    Poisson(Rate),
    /// A rate that changes over the day: 24 hourly rates, or `{at, rate}` points (a rate holds
    /// until the next point and wraps around midnight).
    Daily(Vec<DailyEntry>),
    /// Deploy waves: `count` pods starting uniformly over `spread` from `at`.
    Waves(Vec<Wave>),
    /// A real pod event log (CSV: time, event, pod), relative to the scenario file.
    Replay(PathBuf),
}

/// One entry of a daily profile: an hourly rate, or a rate from a time of day on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum DailyEntry {
    Hourly(Rate),
    From(DailyPoint),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyPoint {
    /// Time of day (`8h`, `17h30m`).
    pub at: Duration,
    pub rate: Rate,
}

impl Serialize for DailyEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DailyEntry::Hourly(r) => r.serialize(s),
            DailyEntry::From(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for DailyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DailyEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate such as `120/h`, or {at: 8h, rate: 200/h}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DailyEntry, E> {
                v.parse().map(DailyEntry::Hourly).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DailyEntry, A::Error> {
                DailyPoint::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DailyEntry::From)
            }
        }
        d.deserialize_any(V)
    }
}

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

impl Arrivals {
    /// A daily profile as (time of day, rate) points in increasing time; empty for the other
    /// kinds of arrivals.
    pub fn daily_points(&self) -> Vec<(Duration, Rate)> {
        let Arrivals::Daily(entries) = self else {
            return Vec::new();
        };
        entries
            .iter()
            .enumerate()
            .map(|(hour, entry)| match *entry {
                DailyEntry::Hourly(rate) => (Duration(hour as u64 * HOUR.0), rate),
                DailyEntry::From(p) => (p.at, p.rate),
            })
            .collect()
    }

    fn validate(&self, path: &Path) -> Result<(), Invalid> {
        match self {
            Arrivals::Poisson(_) | Arrivals::Replay(_) => Ok(()),
            Arrivals::Daily(entries) => {
                let at = path.key("daily");
                let hourly = entries
                    .iter()
                    .filter(|e| matches!(e, DailyEntry::Hourly(_)))
                    .count();
                if hourly > 0 {
                    if hourly != entries.len() {
                        return Err(Invalid::new(
                            &at,
                            "mixes hourly rates and {at, rate} points: use one form",
                        ));
                    }
                    if hourly != 24 {
                        return Err(Invalid::new(
                            &at,
                            format!("{hourly} hourly rates: give 24, one per hour from midnight"),
                        ));
                    }
                    return Ok(());
                }
                if entries.is_empty() {
                    return Err(Invalid::new(
                        &at,
                        "no rates: give 24 hourly rates or {at, rate} points",
                    ));
                }
                let points = self.daily_points();
                for (i, (t, _)) in points.iter().enumerate() {
                    if *t >= DAY {
                        return Err(Invalid::new(
                            &at.index(i).key("at"),
                            format!("{t} is not a time of day: allowed 0s to 23h59m59s"),
                        ));
                    }
                    if i > 0 && *t <= points[i - 1].0 {
                        return Err(Invalid::new(
                            &at.index(i).key("at"),
                            format!(
                                "{t} does not come after {}: points go in time order",
                                points[i - 1].0
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Arrivals::Waves(waves) => {
                if waves.is_empty() {
                    return Err(Invalid::new(
                        &path.key("waves"),
                        "no waves: give at least one {at, count}",
                    ));
                }
                for (i, w) in waves.iter().enumerate() {
                    if w.count == 0 {
                        return Err(Invalid::new(
                            &path.key("waves").index(i).key("count"),
                            "a wave of 0 pods: allowed 1 or more",
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    pub at: Duration,
    pub count: u32,
    /// The pods start uniformly over this long (default 0: all at once).
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub spread: Duration,
}

fn is_zero_duration(d: &Duration) -> bool {
    d.0 == 0
}

/// How long a pod lives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Lifetime {
    /// Exponential with this mean.
    Exponential(Duration),
    /// Log-normal with this median and shape σ.
    Lognormal {
        median: Duration,
        sigma: f64,
    },
    Fixed(Duration),
}

impl Lifetime {
    fn validate(&self, path: &Path) -> Result<(), Invalid> {
        let (key, d) = match self {
            Lifetime::Exponential(d) => ("exponential", *d),
            Lifetime::Fixed(d) => ("fixed", *d),
            Lifetime::Lognormal { median, sigma } => {
                if !(sigma.is_finite() && *sigma > 0.0 && *sigma <= 10.0) {
                    return Err(Invalid::new(
                        &path.key("lognormal").key("sigma"),
                        format!("sigma {}: allowed above 0 up to 10", yaml_number(*sigma)),
                    ));
                }
                ("lognormal", *median)
            }
        };
        if d.0 == 0 {
            let at = match self {
                Lifetime::Lognormal { .. } => path.key(key).key("median"),
                _ => path.key(key),
            };
            return Err(Invalid::new(
                &at,
                "a pod lifetime of 0s: give a positive duration",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Daemons {
    pub count: u32,
    /// Defaults to the pods' profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<PodProfile>,
}

/// What one pod allocates over its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PodProfile {
    /// A network namespace (and so, on kernels with per-netns caches, an `nf_conntrack_*` cache).
    pub netns: bool,
    /// Memory cgroups (kmem-accounted when `kmem_accounting` is on): kubelet's pod cgroup,
    /// the sandbox container's, and one per container.
    pub memcg: bool,
    /// Containers besides the sandbox (default 1): with `memcg`, the pod creates
    /// `containers + 2` memory cgroups.
    pub containers: u32,
    /// Threads, each with a kernel stack.
    pub threads: u32,
    pub page_tables: Size,
    pub anon: Size,
    /// Page cache the pod reads; it stays cached after the pod ends.
    pub page_cache: Size,
    /// Slab objects by cache name (`dentry`, `inode_cache`, `kmalloc-256`, …).
    pub slab: BTreeMap<String, u64>,
    /// Other kmalloc objects by size (above 8KiB they come from the buddy allocator).
    pub kmalloc: Vec<Kmalloc>,
}

impl Default for PodProfile {
    fn default() -> Self {
        PodProfile {
            netns: true,
            memcg: true,
            containers: 1,
            threads: 1,
            page_tables: Size::default(),
            anon: Size::default(),
            page_cache: Size::default(),
            slab: BTreeMap::new(),
            kmalloc: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kmalloc {
    pub size: Size,
    pub count: u32,
}

/// `KMALLOC_MAX_SIZE` with SLUB on x86-64: one order-10 block.
const KMALLOC_MAX: u64 = 4 << 20;
/// `PID_MAX_LIMIT` on 64-bit: no more threads than PIDs.
const MAX_THREADS: u32 = 4 << 20;

impl PodProfile {
    fn validate(&self, path: &Path, memory: Size) -> Result<(), Invalid> {
        if self.threads > MAX_THREADS {
            return Err(Invalid::new(
                &path.key("threads"),
                format!(
                    "{} threads: allowed 0 to {MAX_THREADS} (PID_MAX_LIMIT)",
                    self.threads
                ),
            ));
        }
        for name in self.slab.keys() {
            check_cache_name(&path.key("slab").key(name), name)?;
        }
        for (i, k) in self.kmalloc.iter().enumerate() {
            if k.size.0 == 0 || k.size.0 > KMALLOC_MAX {
                return Err(Invalid::new(
                    &path.key("kmalloc").index(i).key("size"),
                    format!(
                        "kmalloc of {}: allowed 1B to 4MiB (KMALLOC_MAX_SIZE)",
                        k.size
                    ),
                ));
            }
        }
        let total = self.anon.0 as u128 + self.page_tables.0 as u128 + self.page_cache.0 as u128;
        if total > memory.0 as u128 {
            return Err(Invalid::new(
                path,
                format!("one pod uses {total} bytes, more than the machine's memory {memory}"),
            ));
        }
        Ok(())
    }
}

/// Leaks, as explicit rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leaks {
    /// Share of removed memcgs (0 to 1) that stay as zombies, keeping their kmem ids.
    #[serde(default, skip_serializing_if = "is_zero_share")]
    pub zombie_memcg: f64,
    /// Slab objects per pod, by cache name, that are never freed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slab_never_freed: BTreeMap<String, u64>,
}

fn is_zero_share(x: &f64) -> bool {
    *x == 0.0
}

impl Leaks {
    fn is_none(&self) -> bool {
        *self == Leaks::default()
    }
}

/// Load that is not pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// A page-cache-heavy job (backup, image pull) that reads `size` of files each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_cache_job: Option<PageCacheJob>,
    /// Log rotation: every `every`, `size` of logs are written and the old ones deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_rotation: Option<LogRotation>,
}

impl Background {
    fn is_none(&self) -> bool {
        *self == Background::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageCacheJob {
    pub rate: Rate,
    pub size: Size,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogRotation {
    pub every: Duration,
    pub size: Size,
}

impl Workload {
    pub(crate) fn validate(&self, path: &Path, memory: Size) -> Result<(), Invalid> {
        if let Some(pods) = &self.pods {
            let at = path.key("pods");
            pods.arrivals.validate(&at.key("arrivals"))?;
            pods.lifetime.validate(&at.key("lifetime"))?;
            pods.profile.validate(&at.key("profile"), memory)?;
        }
        if let Some(daemons) = &self.daemons {
            if let Some(profile) = &daemons.profile {
                profile.validate(&path.key("daemons").key("profile"), memory)?;
            }
        }
        let leaks = path.key("leaks");
        let share = self.leaks.zombie_memcg;
        if !(0.0..=1.0).contains(&share) {
            return Err(Invalid::new(
                &leaks.key("zombie_memcg"),
                format!("{} is not a share: allowed 0 to 1", yaml_number(share)),
            ));
        }
        for name in self.leaks.slab_never_freed.keys() {
            check_cache_name(&leaks.key("slab_never_freed").key(name), name)?;
        }
        let bg = path.key("background");
        if let Some(job) = &self.background.page_cache_job {
            if job.size > memory {
                return Err(Invalid::new(
                    &bg.key("page_cache_job").key("size"),
                    format!("{} is more than the machine's memory {memory}", job.size),
                ));
            }
        }
        if let Some(rot) = &self.background.log_rotation {
            if rot.every.0 == 0 {
                return Err(Invalid::new(
                    &bg.key("log_rotation").key("every"),
                    "log rotation every 0s: give a positive duration",
                ));
            }
            if rot.size > memory {
                return Err(Invalid::new(
                    &bg.key("log_rotation").key("size"),
                    format!("{} is more than the machine's memory {memory}", rot.size),
                ));
            }
        }
        Ok(())
    }
}
