//! A scenario run: the simulated node under its workload on the engine's clock, and what was
//! observed (summary, time series, events, final /proc text).
//!
//! The run is a discrete-event loop. Pod arrivals and exits, background page-cache load,
//! probes, operator actions and samples are events on the virtual clock; kswapd and kcompactd
//! run as events too, 1 ms after an allocation wakes them (the kernel threads run as soon as
//! the scheduler lets them), kswapd naps HZ/10 after a run (`kswapd_try_to_sleep()`), and
//! proactive compaction checks every 500 ms (`HPAGE_FRAG_CHECK_INTERVAL_MSEC`, 5.9+).
//!
//! A pod start follows runc on a Kubernetes node: a memory cgroup is created and its kmem
//! accounting activated (which may grow every root cache's memcg array), then the pod's network
//! namespace is created (`setup_net()`, with its nf_conntrack cache on kernels that make one:
//! **the allocation this project predicts**); if that fails the pod fails to start and its
//! memcg is removed. A started pod then allocates its kernel stacks, page tables, anon memory,
//! page cache and slab objects. At exit it frees its anon memory, kernel pages and unreclaimable
//! slab objects; objects of reclaimable caches (dentries, inodes) and its page cache stay
//! cached until reclaim frees them, as the kernel keeps them; its memcgs are removed, then its
//! network namespace is cleaned up with its kmalloc objects. A memcg lingers as a zombie while
//! its slab caches hold slabs ([`crate::mm::memcg_slab`]), or with the scenario's leak
//! probability.
//!
//! [`simulate`] does no I/O beyond reading the files the scenario names (through the scenario
//! layer); the report layer writes the outputs.

use crate::capture::slabinfo;
use crate::engine::rng::Streams;
use crate::engine::{EventQueue, Time};
use crate::kernel::profile::{PcpLists, Profile};
use crate::mm::check;
use crate::mm::compaction::SameRun;
use crate::mm::compaction::{compact_memory, kcompactd_do_work, proactive_compaction};
use crate::mm::memcontrol::MemcgId;
use crate::mm::mmzone::{Node, NodeSpec, OwnerKind, Pfn, ZoneSpec as MmZoneSpec, ZoneType};
use crate::mm::netns::{CacheOutcome, NetnsId};
use crate::mm::page_alloc::pcp::PcpConfig;
use crate::mm::page_alloc::setup::{self, Thp};
use crate::mm::show_mem::failure_report;
use crate::mm::slub::{AllocFailure, KmallocRoute};
use crate::mm::vmscan::{drop_caches, kswapd_nap_over, kswapd_run, LruType};
use crate::mm::{mmzone::x86_64_layout, procfs};
use crate::scenario::reconstruct::{reconstruct, Options};
use crate::scenario::{
    Arrivals, Initial, PodEventKind, PodProfile, Scenario, Size, SlabAmount, ThpMode, Tunables,
};
use crate::workload::pods::{lifetime, ArrivalProcess};
use crate::workload::system::{
    reason_name, with_shrinkers, CacheId, Failed, Object, PageblockRow, ProbePath, Settings, System,
};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first conntrack-cache creation that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstFailure {
    /// Simulated seconds since the start of the run.
    pub time_s: f64,
    /// The pod number (0-based, in start order) whose netns creation failed.
    pub pod: u64,
    /// Order of the failed allocation (the memcg array's `kmalloc_large()`).
    pub order: u32,
    /// Why the allocator said no (`no_block_of_order`, `compaction_failed`, …).
    pub reason: String,
}

/// What one run came to: the data `summary.json` holds and a sweep aggregates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub kernel: String,
    pub simulated_s: f64,
    pub pods_started: u64,
    pub pod_start_failures: u64,
    pub first_failure: Option<FirstFailure>,
    /// Pods the OOM killer killed.
    #[serde(default)]
    pub oom_kills: u64,
    /// The least number of free blocks of order ≥ 6 seen at a sample, over the zones an
    /// order-6 GFP_KERNEL request may use (not a DMA zone its lowmem_reserve shuts out).
    pub min_free_order6_blocks: u64,
    /// Memory the tunables keep free: the sum of the zones' high watermarks, in KiB.
    pub reserved_kib: u64,
    pub compact_stall: u64,
    pub compact_success: u64,
    pub compact_fail: u64,
    pub allocstall: u64,
    pub pgscan_kswapd: u64,
    pub pgscan_direct: u64,
    pub pgsteal_kswapd: u64,
    pub pgsteal_direct: u64,
    /// Kmem ids in use and zombie memcgs at the end.
    pub memcg_kmem_ids: u32,
    pub memcg_zombies: u64,
    /// The node's /proc/buddyinfo at the end.
    pub final_buddyinfo: String,
    /// The `vm.extfrag_threshold` values that give this same run, and how many decisions read
    /// the sysctl ([`crate::mm::compaction::ExtfragThreshold`]). `None` in results written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extfrag_threshold_same_run: Option<SameRun>,
    /// What the run had to assume where its input was silent (a capture without watermarks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Check the model's invariants after every event (slow; `run --check`).
    pub check: bool,
}

/// A run that could not be carried out.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error("invariant broken at {time_s:.3}s: {what}")]
    Invariant { time_s: f64, what: String },
}

/// One sample of one zone (a `buddyinfo.csv` row).
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSample {
    pub time_s: f64,
    pub node: u32,
    pub zone: ZoneType,
    pub nr_free_pages: u64,
    /// Free blocks per order, 11 entries.
    pub free: [u64; 11],
    pub min: u64,
    pub low: u64,
    pub high: u64,
}

/// The node-wide counters of one sample (a `vmstat.csv` row), in [`VMSTAT_COLUMNS`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct VmSample {
    pub time_s: f64,
    pub values: [u64; VMSTAT_COLUMNS.len()],
}

/// The columns of `vmstat.csv` after `time_s`: kernel counter names, then the model's own.
pub const VMSTAT_COLUMNS: [&str; 31] = [
    "nr_free_pages",
    "nr_anon_pages",
    "nr_file_pages",
    "nr_slab_reclaimable",
    "nr_slab_unreclaimable",
    "nr_kernel_stack",
    "nr_page_table_pages",
    "pgalloc_dma",
    "pgalloc_dma32",
    "pgalloc_normal",
    "pgalloc_movable",
    "pgfree",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "allocstall",
    "compact_stall",
    "compact_fail",
    "compact_success",
    "compact_migrate_scanned",
    "compact_free_scanned",
    "pswpout",
    "oom_kill",
    "kswapd_runs",
    "kcompactd_runs",
    "pods_running",
    "memcg_kmem_ids",
    "memcg_zombies",
    "memcg_array_entries",
    "netns",
];

/// What happened, for `events.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    PodStart {
        pod: u64,
        ok: bool,
    },
    PodExit {
        pod: u64,
    },
    /// The conntrack cache's memcg-array kmalloc (`order` null for a small kmalloc).
    CacheCreate {
        pod: u64,
        cache: String,
        size: u64,
        order: Option<u32>,
        ok: bool,
        reason: Option<String>,
    },
    /// A test allocation: a probe, made on a copy of the node, or (`real`) an `alloc` action.
    /// `path` is the step that served it ([`ProbePath`]), null when it failed.
    Probe {
        order: u32,
        gfp: String,
        ok: bool,
        reason: Option<String>,
        path: Option<ProbePath>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        real: bool,
    },
    Action {
        action: String,
    },
    MemcgGrow {
        entries: u32,
        ok: bool,
    },
    /// The OOM killer killed a pod (`oom_kill_process()`); `pages` is what `oom_badness()`
    /// counted: its anon pages in memory or swap and its page tables.
    OomKill {
        pod: u64,
        pages: u64,
    },
    /// A pod's other allocation failed (it runs with less).
    AllocFail {
        pod: u64,
        what: String,
        order: u32,
        reason: String,
    },
}

/// An event with its time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub time_s: f64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The final /proc text.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalText {
    pub buddyinfo: String,
    pub pagetypeinfo: String,
    pub zoneinfo: String,
    pub slabinfo: String,
}

/// Everything a run observed.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub summary: Summary,
    pub zones: Vec<ZoneSample>,
    pub vmstat: Vec<VmSample>,
    pub events: Vec<Event>,
    pub pageblocks_start: Vec<PageblockRow>,
    pub pageblocks_end: Vec<PageblockRow>,
    pub final_text: FinalText,
    /// The kernel's failure report (dmesg) of the first conntrack-cache creation that failed,
    /// with the free lists at that moment.
    pub first_failure_report: Option<String>,
    /// Every zone at each time [`run_from`] was asked to snapshot (empty for other runs).
    pub snapshots: Vec<ZoneSample>,
}

/// Runs `scenario`; `progress` is told the simulated fraction done (0 to 1) now and then.
/// Only the summary is kept (what a sweep needs).
pub fn simulate(
    scenario: &Scenario,
    opts: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<Summary, RunError> {
    Run::new(scenario, opts, false, None)?
        .execute(progress)
        .map(|o| o.summary)
}

/// Where a family run split: the `vm.extfrag_threshold` values a fork was made for, the time of
/// the checkpoint it went on from, and the time of the event whose decision set them apart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fork {
    pub thresholds: Vec<u32>,
    pub from_s: f64,
    pub split_s: f64,
}

/// A family of runs that differ only in `vm.extfrag_threshold`, simulated together
/// ([`simulate_family`]).
#[derive(Clone, Debug)]
pub struct FamilyRun {
    /// One summary per threshold asked for, in the order asked.
    pub summaries: Vec<Summary>,
    /// The forks made, in the order they were made.
    pub forks: Vec<Fork>,
    /// Simulated seconds in all: the first run's whole duration and each fork's from its
    /// checkpoint.
    pub simulated_s: f64,
}

/// How far apart a family run keeps the checkpoints a fork starts from: a fork replays at most
/// this much simulated time.
const CHECKPOINT_EVERY: Time = Time(6 * 3600 * Time::NANOS_PER_SEC);

/// Runs `scenario` at every value of `thresholds` (`vm.extfrag_threshold`), simulating what the
/// runs share once. Runs at different thresholds are one run until a comparison of a
/// fragmentation index with the sysctl decides differently for them: the run records, at every
/// comparison, which thresholds it still stands for ([`SameRun`]); when a decision leaves some
/// of its values out, those go on in a fork: the run as it was at its last checkpoint (taken
/// between events every [`CHECKPOINT_EVERY`]), now at one of those values, which replays the
/// events since then and decides the split event its own way. Each summary is the one a run of
/// its own at that threshold gives, byte for byte.
pub fn simulate_family(
    scenario: &Scenario,
    thresholds: &[u32],
    opts: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<FamilyRun, RunError> {
    let mut values: Vec<u32> = thresholds.to_vec();
    values.sort_unstable();
    values.dedup();
    let mut first = scenario.clone();
    first.tunables.extfrag_threshold = thresholds.first().copied();
    let mut root = Run::new(&first, opts, false, None)?;
    root.start();
    let mut todo = vec![(root, values)];
    let (mut found, mut forks, mut simulated_s) = (BTreeMap::new(), Vec::new(), 0.0);
    while let Some((mut run, mut values)) = todo.pop() {
        let mut checkpoint = run.clone();
        let started = run.q.now();
        let mut next = started.after(CHECKPOINT_EVERY);
        let mut made = Vec::new();
        let single = values.len() == 1;
        run.run_events(progress, &mut |r| {
            if single {
                return Ok(());
            }
            if let Some(same) = r.same_run() {
                let (stay, out): (Vec<u32>, Vec<u32>) =
                    values.iter().partition(|&&v| same.contains(v));
                if !out.is_empty() {
                    values = stay;
                    forks.push(Fork {
                        thresholds: out.clone(),
                        from_s: checkpoint.q.now().as_secs_f64(),
                        split_s: r.q.now().as_secs_f64(),
                    });
                    made.push((checkpoint.fork(out[0]), out));
                }
            }
            if r.q.now() >= next {
                checkpoint = r.clone();
                next = r.q.now().after(CHECKPOINT_EVERY);
            }
            Ok(())
        })?;
        simulated_s += (run.end.0 - started.0.min(run.end.0)) as f64 / Time::NANOS_PER_SEC as f64;
        let summary = run.finish().summary;
        for v in values {
            found.insert(v, summary.clone());
        }
        todo.extend(made.into_iter().rev());
    }
    Ok(FamilyRun {
        summaries: thresholds.iter().map(|t| found[t].clone()).collect(),
        forks,
        simulated_s,
    })
}

/// Runs `scenario` keeping every observation (`buddysim run`).
/// Checks that `scenario` can run: its cost within the limits ([`super::cost`]), then every
/// step of the run's setup (capture files read and fitted to the zones, slab caches known, the
/// fill done), without simulating.
pub fn check(scenario: &Scenario) -> Result<(), RunError> {
    Run::new(scenario, &RunOptions::default(), false, None).map(drop)
}

pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<RunOutput, RunError> {
    Run::new(scenario, opts, true, None)?.execute(progress)
}

/// Runs `scenario` from `start`, a capture already read, in place of the files of its
/// `initial: capture` (whose `split` and `kmem_ids` still apply; any other `initial` is
/// replaced), and also records every zone at each time of `snapshots` (`buddysim replay`).
/// Zones the capture gives no sizes for take the machine's (explicit zones, or the x86-64
/// layout of its memory). A snapshot at time t is the state after every event due at or before
/// t, as a run of duration t ends in.
pub fn run_from(
    scenario: &Scenario,
    start: &crate::capture::Capture,
    snapshots: &[Time],
    opts: &RunOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<RunOutput, RunError> {
    let mut s = scenario.clone();
    let (split, kmem_ids) = match &scenario.initial {
        Initial::Capture(c) => (c.split.clone(), c.kmem_ids),
        _ => Default::default(),
    };
    s.initial = Initial::Capture(crate::scenario::CaptureInit {
        files: Vec::new(),
        split,
        kmem_ids,
    });
    let mut run = Run::new(&s, opts, true, Some(start))?;
    run.snapshot_at = snapshots.to_vec();
    run.snapshot_at.sort_unstable_by(|a, b| b.cmp(a));
    run.execute(progress)
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival,
    Replay(usize),
    Exit(usize),
    Sample,
    Probe(usize),
    Action(usize),
    PageCacheJob,
    LogRotation,
    Kswapd(usize),
    KswapdNap(usize),
    Kcompactd(usize),
    Proactive,
    /// vmstat_update(): each CPU's per-second refresh, which decays 6.7+ per-cpu `high`.
    VmstatUpdate,
}

/// A running pod's memory.
#[derive(Clone, Default)]
struct Pod {
    number: u64,
    daemon: bool,
    memcgs: Vec<MemcgId>,
    netns: Option<NetnsId>,
    anon: Vec<u32>,
    stacks: Vec<(Pfn, u8)>,
    page_tables: Vec<(Pfn, u8)>,
    objects: Vec<Object>,
}

/// A pod profile with its caches resolved.
#[derive(Clone)]
struct Recipe {
    profile: PodProfile,
    /// (cache, objects per pod, of which never freed)
    slab: Vec<(CacheId, u64, u64)>,
    kmalloc: Vec<(u32, u32)>,
}

#[derive(Clone)]
struct Run<'s> {
    s: &'s Scenario,
    /// The scenario's tunables, with this run's own `vm.extfrag_threshold` when it is a fork.
    tunables: Tunables,
    profile: &'static Profile,
    opts: RunOptions,
    full: bool,
    sys: System,
    q: EventQueue<Ev>,
    end: Time,
    arrivals: Option<ArrivalProcess>,
    replay: Vec<(Time, PodEventKind, String)>,
    replay_pods: BTreeMap<String, usize>,
    lifetimes: ChaCha8Rng,
    leaks: ChaCha8Rng,
    background: ChaCha8Rng,
    pod_recipe: Option<Recipe>,
    daemon_recipe: Option<Recipe>,
    pods: Vec<Option<Pod>>,
    running: u64,
    started: u64,
    failures: u64,
    first_failure: Option<FirstFailure>,
    first_failure_report: Option<String>,
    oom_kills: u64,
    min_order6: u64,
    kswapd_pending: Vec<bool>,
    kcompactd_pending: Vec<bool>,
    kswapd_runs: u64,
    kcompactd_runs: u64,
    probe_masks: Vec<u64>,
    /// The GFP mask of each action's `alloc` (0 for other actions).
    action_masks: Vec<u64>,
    zones: Vec<ZoneSample>,
    vmstat: Vec<VmSample>,
    events: Vec<Event>,
    pageblocks_start: Vec<PageblockRow>,
    /// Times still to snapshot (latest first) and the zones recorded at those passed.
    snapshot_at: Vec<Time>,
    snapshots: Vec<ZoneSample>,
    /// What the run had to assume where its input was silent ([`Summary::notes`]).
    notes: Vec<String>,
}

/// Memory is faulted in or written in 2 MiB batches (512 pages).
const BATCH: u64 = 512;

/// `HPAGE_FRAG_CHECK_INTERVAL_MSEC` (mm/compaction.c, 5.9+): how often kcompactd wakes for
/// proactive compaction.
pub(crate) const PROACTIVE_INTERVAL: Time = Time::from_millis(500);

/// `sysctl_stat_interval` (HZ): how often vmstat_update() refreshes each CPU's counters.
pub(crate) const VMSTAT_INTERVAL: Time = Time::from_millis(1000);

/// kubelet's `oom_score_adj` for a churn pod's processes: BestEffort (no memory request), as
/// CI and cron pods usually are (pkg/kubelet/qos `GetContainerOOMScoreAdjust()`).
const OOM_SCORE_ADJ_POD: i64 = 1000;
/// kubelet's `oom_score_adj` for a daemon's processes: Guaranteed or node-critical.
const OOM_SCORE_ADJ_DAEMON: i64 = -997;

/// The tunables as the system applies them.
fn settings(profile: &Profile, t: &Tunables, thp: ThpMode) -> Settings {
    let mut ratio = profile.lowmem_reserve_ratio;
    if let Some(v) = &t.lowmem_reserve_ratio {
        for (zt, r) in profile.zones.iter().zip(v) {
            ratio[zt.index()] = *r;
        }
    }
    Settings {
        watermarks: setup::Tunables {
            min_free_kbytes: t.min_free_kbytes,
            watermark_scale_factor: t
                .watermark_scale_factor
                .unwrap_or(profile.watermark_scale_factor),
            lowmem_reserve_ratio: ratio,
            thp: match thp {
                ThpMode::Always => Thp::Always,
                ThpMode::Madvise => Thp::Madvise,
                ThpMode::Never => Thp::Never,
            },
        },
        extfrag_threshold: t.extfrag_threshold.unwrap_or(profile.extfrag_threshold),
        watermark_boost_factor: t
            .watermark_boost_factor
            .unwrap_or(profile.watermark_boost_factor),
        compaction_proactiveness: t
            .compaction_proactiveness
            .unwrap_or(profile.proactive.map_or(0, |p| p.1)),
    }
}

/// The machine's zones: explicit ones, or the x86-64 layout of its memory.
pub(crate) fn node_specs(s: &Scenario) -> Result<Vec<NodeSpec>, RunError> {
    let m = &s.machine;
    if m.zones.is_empty() {
        return x86_64_layout(m.memory.0, m.numa_nodes).map_err(|e| RunError::Setup(e.to_string()));
    }
    let mut specs: Vec<NodeSpec> = Vec::new();
    for z in &m.zones {
        let spec =
            MmZoneSpec::from_sizes(z.zone, z.start_pfn, z.spanned.0, z.present.0, z.managed.0)
                .map_err(|e| RunError::Setup(format!("machine.zones: {e}")))?;
        match specs.iter_mut().find(|n| n.node == z.node) {
            Some(n) => n.zones.push(spec),
            None => specs.push(NodeSpec {
                node: z.node,
                zones: vec![spec],
            }),
        }
    }
    specs.sort_by_key(|n| n.node);
    for n in &mut specs {
        n.zones.sort_by_key(|z| z.start_pfn);
    }
    Ok(specs)
}

fn setup_err(e: impl std::fmt::Display) -> RunError {
    RunError::Setup(e.to_string())
}

impl<'s> Run<'s> {
    fn new(
        s: &'s Scenario,
        opts: &RunOptions,
        full: bool,
        start: Option<&crate::capture::Capture>,
    ) -> Result<Run<'s>, RunError> {
        super::cost::check(s)?;
        let profile = s.profile().map_err(setup_err)?;
        let streams = Streams::new(s.seed);
        let specs = node_specs(s)?;
        let settings = settings(profile, &s.tunables, s.transparent_hugepage);
        let mut notes = Vec::new();
        let (nodes, set_watermarks, failed_order) = match &s.initial {
            Initial::Capture(c) => {
                let read;
                let capture = match start {
                    Some(c) => c,
                    None => {
                        read = s.read_capture().map_err(setup_err)?;
                        &read
                    }
                };
                let mut opts = Options::new(profile);
                opts.pcp = PcpConfig::Kernel {
                    cpus: s.machine.cpus,
                };
                opts.machine =
                    (start.is_some() || !s.machine.zones.is_empty()).then_some(specs.as_slice());
                opts.split = c.split.clone();
                let r = reconstruct(capture, s.seed, &opts).map_err(setup_err)?;
                let t = &s.tunables;
                // A zone the capture gives no watermarks for gets the kernel's boot ones, and
                // so does every zone then, from one vm.min_free_kbytes.
                let unmarked: Vec<String> = capture
                    .zones
                    .iter()
                    .filter(|z| z.watermarks.is_none() && z.managed.is_none_or(|m| m > 0))
                    .map(|z| format!("node {} {}", z.node, z.zone))
                    .collect();
                if !unmarked.is_empty() {
                    notes.push(format!(
                        "the capture gives no watermarks for {}: every zone's watermarks and \
                         lowmem_reserve are {}'s boot ones for this memory, from {}; add the \
                         node's zoneinfo for its own",
                        unmarked.join(", "),
                        profile.name,
                        if t.min_free_kbytes.is_some() {
                            "the vm.min_free_kbytes set"
                        } else {
                            "the kernel's own vm.min_free_kbytes for it"
                        }
                    ));
                }
                let recompute = t.min_free_kbytes.is_some()
                    || t.watermark_scale_factor.is_some()
                    || t.lowmem_reserve_ratio.is_some()
                    || !unmarked.is_empty();
                (
                    r.nodes,
                    recompute,
                    capture.failure.as_ref().map(|f| f.order),
                )
            }
            _ => (
                Node::build_all(
                    &specs,
                    profile,
                    PcpConfig::Kernel {
                        cpus: s.machine.cpus,
                    },
                )
                .map_err(setup_err)?,
                true,
                None,
            ),
        };
        let sys = System::new(
            profile,
            nodes,
            s.machine.cpus,
            s.kmem_accounting,
            settings,
            set_watermarks,
            streams.stream("shrinker object choice"),
        )
        .map_err(RunError::Setup)?;
        let mut sys = sys;
        sys.set_swap(s.machine.swap.0 / 4096);
        if let Initial::Capture(c) = &s.initial {
            sys.adopt_lru_pages();
            sys.preexisting_zombies(c.kmem_ids.unwrap_or(0));
            if let Some(order) = failed_order {
                sys.captured_failure(order);
            }
        }
        let probe_masks = s
            .probes
            .alloc
            .iter()
            .map(|p| profile.gfp.parse(&p.gfp).map_err(RunError::Setup))
            .collect::<Result<_, _>>()?;
        let action_masks = s
            .actions
            .iter()
            .map(|a| {
                a.alloc
                    .as_ref()
                    .map_or(Ok(0), |a| profile.gfp.parse(&a.gfp))
            })
            .collect::<Result<_, _>>()
            .map_err(RunError::Setup)?;
        let replay = match s.replay_events().map_err(setup_err)? {
            Some(events) => events
                .into_iter()
                .map(|e| (Time(e.time.0), e.kind, e.pod))
                .collect(),
            None => Vec::new(),
        };
        let node_count = sys.nodes.len();
        let mut run = Run {
            s,
            tunables: s.tunables.clone(),
            profile,
            opts: *opts,
            full,
            sys,
            q: EventQueue::new(),
            end: Time(s.duration.0),
            arrivals: s
                .workload
                .pods
                .as_ref()
                .filter(|p| !matches!(p.arrivals, Arrivals::Replay(_)))
                .map(|p| ArrivalProcess::new(&p.arrivals, streams.stream("pod arrivals"))),
            replay,
            replay_pods: BTreeMap::new(),
            lifetimes: streams.stream("pod lifetimes"),
            leaks: streams.stream("leaks"),
            background: streams.stream("background"),
            pod_recipe: None,
            daemon_recipe: None,
            pods: Vec::new(),
            running: 0,
            started: 0,
            failures: 0,
            first_failure: None,
            first_failure_report: None,
            oom_kills: 0,
            min_order6: u64::MAX,
            kswapd_pending: vec![false; node_count],
            kcompactd_pending: vec![false; node_count],
            kswapd_runs: 0,
            kcompactd_runs: 0,
            probe_masks,
            action_masks,
            zones: Vec::new(),
            vmstat: Vec::new(),
            events: Vec::new(),
            pageblocks_start: Vec::new(),
            snapshot_at: Vec::new(),
            snapshots: Vec::new(),
            notes,
        };
        run.pod_recipe = s
            .workload
            .pods
            .as_ref()
            .map(|p| run.recipe(&p.profile, "workload.pods.profile"))
            .transpose()?;
        run.daemon_recipe = s
            .workload
            .daemons
            .as_ref()
            .map(|d| {
                let p = d
                    .profile
                    .clone()
                    .or_else(|| s.workload.pods.as_ref().map(|p| p.profile.clone()))
                    .unwrap_or_default();
                run.recipe(&p, "workload.daemons.profile")
            })
            .transpose()?;
        if let Initial::Fill(_) = &s.initial {
            run.fill()?;
        }
        Ok(run)
    }

    fn recipe(&mut self, p: &PodProfile, at: &str) -> Result<Recipe, RunError> {
        let mut slab = Vec::new();
        for (name, &n) in &p.slab {
            let id = self
                .sys
                .cache_id(name)
                .map_err(|e| RunError::Setup(format!("{at}.slab.{name}: {e}")))?;
            let leak = self.s.workload.leaks.slab_never_freed.get(name).copied();
            slab.push((id, n, leak.unwrap_or(0).min(n)));
        }
        for (name, &n) in &self.s.workload.leaks.slab_never_freed {
            if !p.slab.contains_key(name) {
                let id = self.sys.cache_id(name).map_err(|e| {
                    RunError::Setup(format!("workload.leaks.slab_never_freed.{name}: {e}"))
                })?;
                slab.push((id, n, n));
            }
        }
        let kmalloc: Vec<(u32, u32)> = p
            .kmalloc
            .iter()
            .map(|k| (k.size.0 as u32, k.count))
            .collect();
        // What one pod holds at least, object bytes without slab overhead: more than the node
        // has and no pod could ever start, and the objects alone would take the run forever.
        let objects = slab
            .iter()
            .map(|&(id, n, _)| u128::from(n) * u128::from(self.sys.object_size(id)))
            .chain(
                kmalloc
                    .iter()
                    .map(|&(size, n)| u128::from(size) * u128::from(n)),
            )
            .sum::<u128>();
        let held = objects
            + u128::from(p.threads) * u128::from(self.profile.kernel_stack.bytes())
            + u128::from(p.anon.0 + p.page_tables.0 + p.page_cache.0);
        let managed = u128::from(self.sys.managed_pages()) * 4096;
        if held > managed {
            return Err(RunError::Setup(format!(
                "{at}: one pod holds at least {} ({} of slab and kmalloc objects), more than the \
                 node's {} of managed memory: no pod could start",
                Size(u64::try_from(held).unwrap_or(u64::MAX)).approx(),
                Size(u64::try_from(objects).unwrap_or(u64::MAX)).approx(),
                Size(u64::try_from(managed).unwrap_or(u64::MAX)).approx()
            )));
        }
        Ok(Recipe {
            profile: p.clone(),
            slab,
            kmalloc,
        })
    }

    /// `initial: {fill: …}`: memory in use at the start, held for the whole run.
    fn fill(&mut self) -> Result<(), RunError> {
        let Initial::Fill(f) = &self.s.initial else {
            return Ok(());
        };
        let fail = |what: &str, e: Failed| {
            RunError::Setup(format!(
                "initial.fill.{what}: the node cannot hold it ({} at order {})",
                reason_name(e.reason),
                e.order
            ))
        };
        let mut kept = Vec::new();
        self.sys
            .alloc_kernel(OwnerKind::Kernel, 0, f.kernel.0 / 4096, &mut kept)
            .map_err(|e| fail("kernel", e))?;
        let mut handles = Vec::new();
        self.sys
            .fault_anon(&mut (f.anon.0 / 4096), &mut handles)
            .map_err(|e| fail("anon", e))?;
        self.sys
            .add_page_cache(&mut (f.page_cache.0 / 4096))
            .map_err(|e| fail("page_cache", e))?;
        for (name, amount) in &f.slab {
            let id = self
                .sys
                .cache_id(name)
                .map_err(|e| RunError::Setup(format!("initial.fill.slab.{name}: {e}")))?;
            let objects = match amount {
                SlabAmount::Objects(n) => *n,
                SlabAmount::Memory(size) => {
                    let obj = match id {
                        CacheId::Named(i) => u64::from(self.sys.caches[i as usize].size()),
                        CacheId::Kmalloc(s) => u64::from(s),
                    };
                    size.0 / obj.max(1)
                }
            };
            for _ in 0..objects {
                self.sys
                    .alloc_object(id, None)
                    .map_err(|e| fail(&format!("slab.{name}"), e))?;
            }
        }
        self.sys.follow_migrations();
        Ok(())
    }

    fn now_s(&self) -> f64 {
        self.q.now().as_secs_f64()
    }

    fn event(&mut self, kind: EventKind) {
        if self.full {
            self.events.push(Event {
                time_s: self.now_s(),
                kind,
            });
        }
    }

    fn execute(mut self, progress: &mut dyn FnMut(f64)) -> Result<RunOutput, RunError> {
        self.start();
        self.run_events(progress, &mut |_| Ok(()))?;
        Ok(self.finish())
    }

    /// The run's first steps at time 0: the initial events and the daemon pods.
    fn start(&mut self) {
        if self.full {
            self.pageblocks_start = self.sys.pageblocks();
        }
        self.schedule_initial();
        if let Some(d) = self.s.workload.daemons.as_ref() {
            for _ in 0..d.count {
                self.start_pod(true, None);
            }
        }
        self.wake_daemons();
    }

    /// Handles every event up to the end of the run, calling `after` after each, then takes the
    /// last sample.
    fn run_events(
        &mut self,
        progress: &mut dyn FnMut(f64),
        after: &mut dyn FnMut(&Run<'s>) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let total = self.end.0.max(1) as f64;
        let slab_baseline = if self.opts.check {
            let (r, u) = self.sys.slab_pages();
            self.sys.zone_slab_pages() - (r + u) as i64
        } else {
            0
        };
        while let Some((t, ev)) = self.q.pop_until(self.end) {
            self.snapshots_before(t);
            self.handle(ev);
            self.wake_daemons();
            if self.opts.check {
                for node in &self.sys.nodes {
                    check::check(node).map_err(|v| RunError::Invariant {
                        time_s: t.as_secs_f64(),
                        what: v.to_string(),
                    })?;
                }
                self.sys
                    .check_slab(slab_baseline)
                    .and_then(|()| self.sys.check_lru())
                    .map_err(|what| RunError::Invariant {
                        time_s: t.as_secs_f64(),
                        what,
                    })?;
            }
            if matches!(ev, Ev::Sample) {
                progress(t.0 as f64 / total);
            }
            after(self)?;
        }
        self.snapshots_before(Time(u64::MAX));
        if self.vmstat.last().map(|v| v.time_s) != Some(self.end.as_secs_f64()) {
            self.sample();
        }
        progress(1.0);
        Ok(())
    }

    /// The `vm.extfrag_threshold` values that give this very run so far (all nodes' decisions).
    fn same_run(&self) -> Option<SameRun> {
        self.sys
            .mms
            .iter()
            .map(|mm| mm.extfrag_threshold.same_run())
            .reduce(SameRun::and)
    }

    /// This run as the run at `vm.extfrag_threshold` = `value`, which decided every comparison
    /// so far as this one did: the start of a fork.
    fn fork(&self, value: u32) -> Run<'s> {
        let mut run = self.clone();
        run.tunables.extfrag_threshold = Some(value);
        run.sys.settings.extfrag_threshold = value;
        for mm in &mut run.sys.mms {
            mm.extfrag_threshold.fork(value);
        }
        run
    }

    fn schedule_initial(&mut self) {
        let s = self.s;
        self.q.schedule_in(Time::ZERO, Ev::Sample);
        if let Some(a) = self.arrivals.as_mut() {
            if let Some(t) = a.next(Time::ZERO) {
                let _ = self.q.schedule_at(t, Ev::Arrival);
            }
        }
        for (i, (t, _, _)) in self.replay.iter().enumerate() {
            let _ = self.q.schedule_at(*t, Ev::Replay(i));
        }
        for i in 0..s.probes.alloc.len() {
            self.q
                .schedule_in(Time(s.probes.alloc[i].every.0), Ev::Probe(i));
        }
        for (i, a) in s.actions.iter().enumerate() {
            let _ = self.q.schedule_at(Time(a.at.0), Ev::Action(i));
        }
        if let Some(job) = &s.workload.background.page_cache_job {
            if let Some(gap) = job.rate.mean_interval() {
                self.q.schedule_in(Time(gap.0), Ev::PageCacheJob);
            }
        }
        if let Some(l) = &s.workload.background.log_rotation {
            self.q.schedule_in(Time(l.every.0), Ev::LogRotation);
        }
        if self.profile.proactive.is_some() {
            self.q.schedule_in(PROACTIVE_INTERVAL, Ev::Proactive);
        }
        if self.profile.pcp == PcpLists::AutoTuned {
            self.q.schedule_in(VMSTAT_INTERVAL, Ev::VmstatUpdate);
        }
    }

    /// The CPU pod `number` runs on: pods are spread round-robin over the machine's CPUs.
    fn pod_cpu(&self, number: u64) -> usize {
        (number % u64::from(self.s.machine.cpus.max(1))) as usize
    }

    /// The CPU kswapd and kcompactd run on: the machine's last.
    fn kthread_cpu(&self) -> usize {
        self.s.machine.cpus.max(1) as usize - 1
    }

    /// Runs `f` with the simulated task on `cpu` (its per-cpu lists), then puts the task back
    /// on the CPU it was on.
    fn on_cpu<R>(&mut self, cpu: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        let was = self.sys.cpu();
        self.sys.set_cpu(cpu);
        let r = f(self);
        self.sys.set_cpu(was);
        r
    }

    /// Handles one event. Pods run on their own CPU ([`pod_cpu`](Self::pod_cpu)), kswapd and
    /// kcompactd on theirs; everything else (probes, operator actions, background jobs) on
    /// CPU 0.
    fn handle(&mut self, ev: Ev) {
        self.sys.set_cpu(0);
        match ev {
            Ev::Arrival => {
                self.start_pod(false, None);
                if let Some(t) = self.arrivals.as_mut().and_then(|a| a.next(self.q.now())) {
                    let _ = self.q.schedule_at(t, Ev::Arrival);
                }
            }
            Ev::Replay(i) => {
                let (_, kind, name) = self.replay[i].clone();
                match kind {
                    PodEventKind::Start => self.start_pod(false, Some(name)),
                    PodEventKind::Stop => {
                        if let Some(idx) = self.replay_pods.remove(&name) {
                            self.exit_pod(idx);
                        }
                    }
                }
            }
            Ev::Exit(idx) => self.exit_pod(idx),
            Ev::Sample => {
                self.sample();
                self.q
                    .schedule_in(Time(self.s.outputs.sample_interval.0), Ev::Sample);
            }
            Ev::Probe(i) => {
                self.probe(i);
                self.q
                    .schedule_in(Time(self.s.probes.alloc[i].every.0), Ev::Probe(i));
            }
            Ev::Action(i) => self.action(i),
            Ev::PageCacheJob => {
                if let Some(job) = self.s.workload.background.page_cache_job {
                    let _ = self.alloc_in_batches(&mut (job.size.0 / 4096), System::add_page_cache);
                    if let Some(mean) = job.rate.mean_interval() {
                        let u: f64 = self.background.random::<f64>();
                        let gap = (-(1.0 - u).ln() * mean.0 as f64).max(1.0) as u64;
                        self.q.schedule_in(Time(gap), Ev::PageCacheJob);
                    }
                }
            }
            Ev::LogRotation => {
                if let Some(l) = self.s.workload.background.log_rotation {
                    let _ = self.alloc_in_batches(&mut (l.size.0 / 4096), System::add_page_cache);
                    self.q.schedule_in(Time(l.every.0), Ev::LogRotation);
                }
            }
            Ev::Kswapd(n) => {
                self.kswapd_pending[n] = false;
                self.kswapd(n);
                self.kswapd_runs += 1;
                // A run that left the node unbalanced keeps kswapd awake (3.10 – 4.7): the model
                // paces its next run at HZ/10, the length of the nap it did not take.
                let next = if self.sys.mms[n].kswapd.awake {
                    self.kswapd_pending[n] = true;
                    Ev::Kswapd(n)
                } else {
                    Ev::KswapdNap(n)
                };
                self.q.schedule_in(Time::from_millis(100), next);
            }
            Ev::KswapdNap(n) => {
                let System {
                    profile,
                    nodes,
                    mms,
                    ..
                } = &mut self.sys;
                kswapd_nap_over(profile, &mut nodes[n], &mut mms[n]);
            }
            Ev::Kcompactd(n) => {
                self.kcompactd_pending[n] = false;
                self.sys.set_cpu(self.kthread_cpu());
                let System {
                    profile,
                    nodes,
                    mms,
                    ..
                } = &mut self.sys;
                kcompactd_do_work(profile, &mut nodes[n], &mut mms[n]);
                self.kcompactd_runs += 1;
            }
            Ev::Proactive => {
                let p = self.sys.settings.compaction_proactiveness;
                self.sys.set_cpu(self.kthread_cpu());
                let System {
                    profile,
                    nodes,
                    mms,
                    ..
                } = &mut self.sys;
                for (node, mm) in nodes.iter_mut().zip(mms.iter_mut()) {
                    let busy = mm.kswapd.awake;
                    proactive_compaction(profile, node, mm, p, busy);
                }
                self.q.schedule_in(PROACTIVE_INTERVAL, Ev::Proactive);
            }
            Ev::VmstatUpdate => {
                for z in self.sys.nodes.iter_mut().flat_map(|n| n.zones.iter_mut()) {
                    z.decay_pcp_high();
                }
                self.q.schedule_in(VMSTAT_INTERVAL, Ev::VmstatUpdate);
                // Per-cpu pages back to the buddy lists: no page moved, no cache emptied.
                return;
            }
        }
        self.sys.follow_migrations();
        self.sys.destroy_emptied_caches();
    }

    /// Schedules kswapd and kcompactd runs for the nodes whose daemons an allocation woke.
    fn wake_daemons(&mut self) {
        for n in 0..self.sys.nodes.len() {
            if self.sys.mms[n].kswapd.awake && !self.kswapd_pending[n] {
                self.kswapd_pending[n] = true;
                self.q.schedule_in(Time::from_millis(1), Ev::Kswapd(n));
            }
            if self.sys.mms[n].kcompactd.awake && !self.kcompactd_pending[n] {
                self.kcompactd_pending[n] = true;
                self.q.schedule_in(Time::from_millis(1), Ev::Kcompactd(n));
            }
        }
    }

    /// kswapd runs on another CPU while a task faults memory in: between a pod's 2 MiB
    /// batches, a woken kswapd runs at once instead of after the whole pod start.
    fn kswapd_concurrently(&mut self) {
        for n in 0..self.sys.nodes.len() {
            if self.sys.mms[n].kswapd.awake {
                self.kswapd(n);
                self.kswapd_runs += 1;
            }
        }
    }

    /// Allocates `left` pages with `alloc` in [`BATCH`]es with kswapd running between them, as a
    /// faulting or writing task and kswapd run side by side, each batch under
    /// [`oom_retry`](Self::oom_retry). Stops at the first failure with `left` holding what is
    /// still to do.
    fn alloc_in_batches(
        &mut self,
        left: &mut u64,
        mut alloc: impl FnMut(&mut System, &mut u64) -> Result<(), Failed>,
    ) -> Result<(), Failed> {
        while *left > 0 {
            let batch = (*left).min(BATCH);
            let mut rest = batch;
            let r = self.oom_retry(|e| alloc(&mut e.sys, &mut rest));
            *left -= batch - rest;
            r?;
            self.kswapd_concurrently();
        }
        Ok(())
    }

    /// Runs an allocation step that goes on from where it stopped when called again. Where the
    /// kernel would call the OOM killer (a non-costly request whose reclaim made no progress),
    /// a pod is killed ([`oom_kill`](Self::oom_kill)) and the step goes on, as
    /// `__alloc_pages_may_oom()` → `goto restart` does in `__alloc_pages_slowpath()`.
    fn oom_retry(
        &mut self,
        mut step: impl FnMut(&mut Self) -> Result<(), Failed>,
    ) -> Result<(), Failed> {
        loop {
            match step(self) {
                Err(e) if e.reason == AllocFailure::OutOfMemory && self.oom_kill() => {}
                r => return r,
            }
        }
    }

    /// The OOM killer (mm/oom_kill.c): `select_bad_process()` picks the running pod with the
    /// highest `oom_badness()`: its anon pages in memory or swap plus page-table pages, plus
    /// `oom_score_adj` × (total pages / 1000), the first in start order on a tie (the task
    /// list's order); `oom_kill_process()` kills it, and the pod exits. A pod counts as one
    /// task, and the pod being started is not yet a candidate. 3.10's 3 % discount for root
    /// tasks applies to every pod alike and is left out. Returns false when no pod runs (the
    /// kernel would panic).
    fn oom_kill(&mut self) -> bool {
        let total = self.sys.managed_pages();
        let mut victim: Option<(usize, u64, i64)> = None;
        for (i, pod) in self.pods.iter().enumerate() {
            let Some(pod) = pod else { continue };
            let rss = self.sys.anon_pages(&pod.anon)
                + pod.page_tables.iter().map(|&(_, o)| 1u64 << o).sum::<u64>();
            let adj = if pod.daemon {
                OOM_SCORE_ADJ_DAEMON
            } else {
                OOM_SCORE_ADJ_POD
            };
            let points = (rss as i64 + adj * (total / 1000) as i64).max(1);
            if victim.is_none_or(|(_, _, best)| points > best) {
                victim = Some((i, rss, points));
            }
        }
        let Some((idx, pages, _)) = victim else {
            return false;
        };
        let pod = self.pods[idx].as_ref().map_or(0, |p| p.number);
        self.oom_kills += 1;
        self.event(EventKind::OomKill { pod, pages });
        self.exit_pod(idx);
        true
    }

    fn kswapd(&mut self, n: usize) {
        self.on_cpu(self.kthread_cpu(), |r| {
            let System {
                profile,
                nodes,
                mms,
                caches,
                families,
                ..
            } = &mut r.sys;
            with_shrinkers(
                &mut [caches],
                families,
                &mut r.background,
                |shrinkers, pick| kswapd_run(profile, &mut nodes[n], &mut mms[n], shrinkers, pick),
            );
        });
    }

    fn start_pod(&mut self, daemon: bool, replay_name: Option<String>) {
        let number = self.started;
        self.started += 1;
        let recipe = if daemon {
            self.daemon_recipe.take()
        } else {
            self.pod_recipe.take()
        };
        let Some(recipe) = recipe else {
            return;
        };
        let ok = self.on_cpu(self.pod_cpu(number), |r| {
            r.start_with(&recipe, number, daemon, replay_name)
        });
        self.event(EventKind::PodStart { pod: number, ok });
        if daemon {
            self.daemon_recipe = Some(recipe);
        } else {
            self.pod_recipe = Some(recipe);
        }
    }

    fn start_with(
        &mut self,
        r: &Recipe,
        number: u64,
        daemon: bool,
        replay_name: Option<String>,
    ) -> bool {
        let p = &r.profile;
        let mut pod = Pod {
            number,
            daemon,
            ..Pod::default()
        };
        // kubelet's pod cgroup and the sandbox's, before the sandbox's netns.
        if p.memcg {
            self.start_memcgs(&mut pod, 2);
        }
        if p.netns {
            match self.sys.setup_net() {
                Ok(probe) => {
                    if let Some(cache) = probe.cache_name.clone() {
                        let (size, order) = match probe.params {
                            Some(pa) => (
                                pa.size,
                                match pa.route {
                                    KmallocRoute::Large { order } => Some(order),
                                    KmallocRoute::Cache { .. } => None,
                                },
                            ),
                            None => (0, None),
                        };
                        let reason = match &probe.outcome {
                            CacheOutcome::Failed(f) => Some(reason_name(*f).to_string()),
                            _ => None,
                        };
                        let ok = reason.is_none();
                        self.event(EventKind::CacheCreate {
                            pod: number,
                            cache,
                            size,
                            order,
                            ok,
                            reason: reason.clone(),
                        });
                        if let Some(reason) = reason {
                            self.failures += 1;
                            if self.first_failure.is_none() {
                                self.first_failure = Some(FirstFailure {
                                    time_s: self.now_s(),
                                    pod: number,
                                    order: order.unwrap_or(0),
                                    reason,
                                });
                                if let (true, Some(pa)) = (self.full, probe.params) {
                                    self.first_failure_report = Some(failure_report(
                                        self.profile,
                                        &self.sys.nodes,
                                        order.unwrap_or(0),
                                        pa.gfp_mode,
                                        "exe",
                                    ));
                                }
                            }
                            for m in pod.memcgs {
                                self.sys.stop_memcg(m, false);
                            }
                            return false;
                        }
                    }
                    pod.netns = probe.netns;
                }
                Err(e) => {
                    self.event(EventKind::AllocFail {
                        pod: number,
                        what: format!("netns: {e}"),
                        order: 0,
                        reason: "out_of_memory".into(),
                    });
                }
            }
        }
        if p.memcg {
            self.start_memcgs(&mut pod, p.containers);
        }
        let fail = |what: &str, e: Failed| EventKind::AllocFail {
            pod: number,
            what: what.into(),
            order: e.order,
            reason: reason_name(e.reason).into(),
        };
        if let Err(e) = self.oom_retry(|e| e.sys.alloc_stacks(p.threads, &mut pod.stacks)) {
            self.event(fail("kernel_stack", e));
        }
        let page_tables = p.page_tables.0 / 4096;
        if let Err(e) = self.oom_retry(|e| {
            e.sys
                .alloc_kernel(OwnerKind::PageTable, 0, page_tables, &mut pod.page_tables)
        }) {
            self.event(fail("page_tables", e));
        }
        let anon = &mut pod.anon;
        if let Err(e) = self.alloc_in_batches(&mut (p.anon.0 / 4096), |sys, left| {
            sys.fault_anon(left, anon)
        }) {
            self.event(fail("anon", e));
        }
        if let Err(e) = self.alloc_in_batches(&mut (p.page_cache.0 / 4096), System::add_page_cache)
        {
            self.event(fail("page_cache", e));
        }
        // The containers' processes allocate the pod's kernel objects.
        let memcg = pod.memcgs.last().copied();
        for &(id, n, leaked) in &r.slab {
            // Objects of reclaimable caches stay cached after the pod (the shrinkers free
            // them); leaked ones are never freed.
            let keep = !self.sys.reclaimable(id);
            let mut objects = Vec::with_capacity(n as usize);
            let result = self.alloc_objects(id, memcg, n, &mut objects);
            if keep {
                pod.objects
                    .extend(objects.into_iter().skip(leaked as usize));
            }
            if let Err(e) = result {
                self.event(fail("slab", e));
            }
        }
        for &(size, count) in &r.kmalloc {
            let id = CacheId::Kmalloc(size);
            let mut objects = Vec::with_capacity(count as usize);
            let result = self.alloc_objects(id, memcg, u64::from(count), &mut objects);
            pod.objects.extend(objects);
            if let Err(e) = result {
                self.event(fail("kmalloc", e));
            }
        }
        let idx = self.pods.len();
        self.pods.push(Some(pod));
        self.running += 1;
        if let Some(name) = replay_name {
            self.replay_pods.insert(name, idx);
        } else if !daemon {
            if let Some(pods) = &self.s.workload.pods {
                let life = lifetime(&pods.lifetime, &mut self.lifetimes);
                self.q.schedule_in(life, Ev::Exit(idx));
            }
        }
        true
    }

    /// `n` objects of cache `id` into `out` (which holds only these), under
    /// [`oom_retry`](Self::oom_retry).
    fn alloc_objects(
        &mut self,
        id: CacheId,
        memcg: Option<MemcgId>,
        n: u64,
        out: &mut Vec<Object>,
    ) -> Result<(), Failed> {
        self.oom_retry(|e| e.sys.alloc_objects(id, memcg, n - out.len() as u64, out))
    }

    fn start_memcgs(&mut self, pod: &mut Pod, n: u32) {
        for _ in 0..n {
            let (m, grew) = self.sys.start_memcg();
            pod.memcgs.push(m);
            if let Some((entries, ok)) = grew {
                self.event(EventKind::MemcgGrow { entries, ok });
            }
        }
    }

    fn exit_pod(&mut self, idx: usize) {
        let Some(pod) = self.pods.get_mut(idx).and_then(Option::take) else {
            return;
        };
        self.on_cpu(self.pod_cpu(pod.number), |r| r.release_pod(pod));
    }

    /// A pod's processes exit on its CPU: its memory, objects, cgroups and namespace go.
    fn release_pod(&mut self, pod: Pod) {
        self.running -= 1;
        self.sys.free_anon(&pod.anon);
        self.sys.free_kernel(OwnerKind::KernelStack, &pod.stacks);
        self.sys.free_kernel(OwnerKind::PageTable, &pod.page_tables);
        // The processes' objects go as they exit. The kmalloc objects stand for the network
        // namespace's (sysctl tables, proc entries, device and socket data): `cleanup_net()`
        // frees them from a workqueue after kubelet has removed the pod's cgroups, so into
        // per-memcg caches that 3.10 has already shrunk for the last time.
        let netns = |o: &Object| {
            matches!(
                o,
                Object::Kmalloc(_) | Object::Child(CacheId::Kmalloc(_), ..)
            )
        };
        let objects = pod.objects;
        self.sys
            .free_objects(objects.iter().copied().filter(|o| !netns(o)));
        for m in pod.memcgs {
            let zombie = self.leaks.random::<f64>() < self.s.workload.leaks.zombie_memcg;
            self.sys.stop_memcg(m, zombie);
        }
        self.sys.free_objects(objects.into_iter().filter(netns));
        if let Some(n) = pod.netns {
            self.sys.cleanup_net(n);
        }
        self.event(EventKind::PodExit { pod: pod.number });
    }

    /// Probe `i`, which only observes: answered without allocating when the fast path surely
    /// serves it, otherwise made on a clone of the system that is dropped afterwards, so the run
    /// goes on exactly as it would without the probe.
    fn probe(&mut self, i: usize) {
        let p = &self.s.probes.alloc[i];
        let (order, gfp) = (p.order, p.gfp.clone());
        let mask = self.probe_masks[i];
        let r = if self.sys.fast_path_serves(order, mask) {
            Ok(ProbePath::FastPath)
        } else {
            self.sys.clone().probe(order, mask)
        };
        self.test_allocation(order, gfp, r, false);
    }

    fn test_allocation(
        &mut self,
        order: u32,
        gfp: String,
        r: Result<ProbePath, Failed>,
        real: bool,
    ) {
        let (path, reason) = match r {
            Ok(path) => (Some(path), None),
            Err(f) => (None, Some(reason_name(f.reason).to_string())),
        };
        self.event(EventKind::Probe {
            order,
            gfp,
            ok: reason.is_none(),
            reason,
            path,
            real,
        });
    }

    fn action(&mut self, i: usize) {
        let a = &self.s.actions[i];
        let mut done = Vec::new();
        if let Some(mode) = a.drop_caches {
            let System {
                nodes,
                mms,
                caches,
                families,
                ..
            } = &mut self.sys;
            for (node, mm) in nodes.iter_mut().zip(mms.iter_mut()) {
                with_shrinkers(
                    &mut [caches],
                    families,
                    &mut self.background,
                    |shrinkers, pick| drop_caches(node, mm, u32::from(mode), shrinkers, pick),
                );
            }
            done.push(format!("drop_caches {mode}"));
        }
        if a.compact_memory {
            let System {
                profile,
                nodes,
                mms,
                ..
            } = &mut self.sys;
            for (node, mm) in nodes.iter_mut().zip(mms.iter_mut()) {
                compact_memory(profile, node, mm);
            }
            done.push("compact_memory".into());
        }
        if let Some(t) = &a.sysctl {
            let mut tunables = self.tunables.clone();
            tunables.merge(t);
            let new = settings(self.profile, &tunables, self.s.transparent_hugepage);
            let wm = new.watermarks != self.sys.settings.watermarks;
            self.sys.apply(&new, wm);
            let yaml = serde_json::to_value(t).unwrap_or_default();
            if let Some(map) = yaml.as_object() {
                for (k, v) in map {
                    done.push(format!("sysctl {k}={v}"));
                }
            }
        }
        if let Some(alloc) = &a.alloc {
            done.push(format!("alloc order {} {}", alloc.order, alloc.gfp));
            let r = self.sys.probe(alloc.order, self.action_masks[i]);
            self.test_allocation(alloc.order, alloc.gfp.clone(), r, true);
        }
        if a.reboot {
            done.push("reboot".into());
            self.reboot();
        }
        for action in done {
            self.event(EventKind::Action { action });
        }
    }

    /// A reboot: every pod is gone and the node boots fresh with the current settings; counters
    /// carry over in the summary (they are the run's totals), daemons start again.
    fn reboot(&mut self) {
        let Ok(specs) = node_specs(self.s) else {
            return;
        };
        let Ok(nodes) = Node::build_all(
            &specs,
            self.profile,
            PcpConfig::Kernel {
                cpus: self.s.machine.cpus,
            },
        ) else {
            return;
        };
        let carried: Vec<_> = self.sys.nodes.iter().map(Node::events).collect();
        let settings = self.sys.settings.clone();
        let pick = self.background.clone();
        let Ok(mut sys) = System::new(
            self.profile,
            nodes,
            self.s.machine.cpus,
            self.s.kmem_accounting,
            settings,
            true,
            pick,
        ) else {
            return;
        };
        sys.set_swap(self.s.machine.swap.0 / 4096);
        for (mm, old) in sys.mms.iter_mut().zip(&self.sys.mms) {
            mm.extfrag_threshold = old.extfrag_threshold.clone();
        }
        for (node, ev) in sys.nodes.iter_mut().zip(carried) {
            if let Some(z) = node.zones.first_mut() {
                z.events.add(&ev);
            }
        }
        self.sys = sys;
        let recipes = (self.pod_recipe.take(), self.daemon_recipe.take());
        self.pod_recipe = recipes
            .0
            .map(|r| self.recipe(&r.profile, "workload.pods.profile"))
            .and_then(Result::ok);
        self.daemon_recipe = recipes
            .1
            .map(|r| self.recipe(&r.profile, "workload.daemons.profile"))
            .and_then(Result::ok);
        for p in &mut self.pods {
            *p = None;
        }
        self.running = 0;
        self.replay_pods.clear();
        if let Some(d) = self.s.workload.daemons.as_ref() {
            for _ in 0..d.count {
                self.start_pod(true, None);
            }
        }
    }

    /// Records the snapshots due before `t` (the next event's time) that are not taken yet.
    fn snapshots_before(&mut self, t: Time) {
        while let Some(&at) = self.snapshot_at.last() {
            if at >= t || at > self.end {
                return;
            }
            self.snapshot_at.pop();
            for node in &self.sys.nodes {
                for z in &node.zones {
                    self.snapshots
                        .push(zone_sample(at.as_secs_f64(), node.id, z));
                }
            }
        }
    }

    fn sample(&mut self) {
        let t = self.now_s();
        self.min_order6 = self.min_order6.min(self.sys.order6_blocks());
        if !self.full {
            return;
        }
        for node in &self.sys.nodes {
            for z in &node.zones {
                self.zones.push(zone_sample(t, node.id, z));
            }
        }
        let ev = self.events_total();
        let (slab_r, slab_u) = self.sys.slab_pages();
        let free: u64 = self
            .sys
            .nodes
            .iter()
            .flat_map(|n| &n.zones)
            .map(crate::mm::mmzone::FreeArea::free_pages)
            .sum();
        let held = &self.sys.held;
        let values = [
            free,
            self.sys.lru_pages(LruType::Anon),
            self.sys.lru_pages(LruType::File),
            slab_r,
            slab_u,
            held[OwnerKind::KernelStack as usize],
            held[OwnerKind::PageTable as usize],
            ev.pgalloc[ZoneType::Dma.index()],
            ev.pgalloc[ZoneType::Dma32.index()],
            ev.pgalloc[ZoneType::Normal.index()],
            ev.pgalloc[ZoneType::Movable.index()],
            ev.pgfree,
            ev.pgscan_kswapd.iter().sum(),
            ev.pgscan_direct.iter().sum(),
            ev.pgsteal_kswapd.iter().sum(),
            ev.pgsteal_direct.iter().sum(),
            ev.allocstall,
            ev.compact_stall,
            ev.compact_fail,
            ev.compact_success,
            ev.compact_migrate_scanned,
            ev.compact_free_scanned,
            ev.pswpout,
            self.oom_kills,
            self.kswapd_runs,
            self.kcompactd_runs,
            self.running,
            u64::from(self.sys.memcg.kmem_ids_in_use()),
            self.sys.memcg.zombies() as u64,
            u64::from(self.sys.memcg.array_size()),
            self.sys.conntrack.netns_count() as u64,
        ];
        self.vmstat.push(VmSample { time_s: t, values });
    }

    fn events_total(&self) -> crate::mm::vm_event::VmEvents {
        let mut ev = crate::mm::vm_event::VmEvents::default();
        for n in &self.sys.nodes {
            ev.add(&n.events());
        }
        ev
    }

    fn finish(self) -> RunOutput {
        let ev = self.events_total();
        let same_run = self.same_run();
        let nodes = &self.sys.nodes;
        let final_buddyinfo = procfs::buddyinfo(nodes);
        let reserved_kib = nodes
            .iter()
            .flat_map(|n| &n.zones)
            .map(|z| (z.watermarks.high + z.watermarks.boost) * 4)
            .sum();
        let summary = Summary {
            scenario: self.s.name.clone(),
            seed: self.s.seed,
            kernel: self.profile.name.to_string(),
            simulated_s: self.end.as_secs_f64(),
            pods_started: self.started - self.failures,
            pod_start_failures: self.failures,
            first_failure: self.first_failure,
            oom_kills: self.oom_kills,
            min_free_order6_blocks: if self.min_order6 == u64::MAX {
                0
            } else {
                self.min_order6
            },
            reserved_kib,
            compact_stall: ev.compact_stall,
            compact_success: ev.compact_success,
            compact_fail: ev.compact_fail,
            allocstall: ev.allocstall,
            pgscan_kswapd: ev.pgscan_kswapd.iter().sum(),
            pgscan_direct: ev.pgscan_direct.iter().sum(),
            pgsteal_kswapd: ev.pgsteal_kswapd.iter().sum(),
            pgsteal_direct: ev.pgsteal_direct.iter().sum(),
            memcg_kmem_ids: self.sys.memcg.kmem_ids_in_use(),
            memcg_zombies: self.sys.memcg.zombies() as u64,
            final_buddyinfo: final_buddyinfo.clone(),
            extfrag_threshold_same_run: same_run,
            notes: self.notes.clone(),
        };
        let (final_text, pageblocks_end) = if self.full {
            (
                FinalText {
                    buddyinfo: final_buddyinfo,
                    pagetypeinfo: procfs::pagetypeinfo(nodes, self.profile),
                    zoneinfo: procfs::zoneinfo(nodes, self.profile),
                    slabinfo: slabinfo::write(&self.sys.slabinfo()),
                },
                self.sys.pageblocks(),
            )
        } else {
            (
                FinalText {
                    buddyinfo: final_buddyinfo,
                    pagetypeinfo: String::new(),
                    zoneinfo: String::new(),
                    slabinfo: String::new(),
                },
                Vec::new(),
            )
        };
        RunOutput {
            summary,
            zones: self.zones,
            vmstat: self.vmstat,
            events: self.events,
            pageblocks_start: self.pageblocks_start,
            pageblocks_end,
            final_text,
            first_failure_report: self.first_failure_report,
            snapshots: self.snapshots,
        }
    }
}

/// One zone's free blocks per order and watermarks now (a sample or snapshot row).
fn zone_sample(time_s: f64, node: u32, z: &crate::mm::mmzone::Zone) -> ZoneSample {
    let mut free = [0u64; 11];
    for (o, f) in free.iter_mut().enumerate() {
        *f = crate::mm::mmzone::FreeArea::nr_free(z, o as u32);
    }
    let w = z.watermarks;
    ZoneSample {
        time_s,
        node,
        zone: z.zone_type,
        nr_free_pages: crate::mm::mmzone::FreeArea::free_pages(z),
        free,
        min: w.min + w.boost,
        low: w.low + w.boost,
        high: w.high + w.boost,
    }
}
