//! The kernel's verdict on a capture: for one allocation request (order, GFP mask) and one kernel
//! profile, what each zone's free lists, watermarks and lowmem_reserve say, and what
//! `get_page_from_freelist()` and the slow path would do with them.
//!
//! The walk follows `__alloc_pages_nodemask()` (mm/page_alloc.c): the zonelist runs from the
//! preferred zone (the highest populated zone the GFP mask allows) down to DMA, each zone is
//! checked with `__zone_watermark_ok()` against its mark plus `lowmem_reserve[classzone]`, first
//! at the low watermark (fast path), then at min (the slow path after waking kswapd). When both
//! fail, the slow path's compaction decision (`compaction_suitable()` with the fragmentation index
//! against `vm.extfrag_threshold`) and reclaim are reported per zone.

use crate::cache_creation::CacheCreation;
use crate::capture::{Capture, ZoneCapture};
use crate::kernel::gfp::GfpFlags;
use crate::kernel::Profile;
use crate::mm::compaction::{compaction_suitable, ExtfragThreshold};
use crate::mm::mmzone::{FreeArea, MigrateType, Watermarks, ZoneType, PAGE_ALLOC_COSTLY_ORDER};
use crate::mm::page_alloc::alloc_flags::{fast_path_alloc_flags, gfp_to_alloc_flags, AllocFlags};
use crate::mm::page_alloc::watermark::{
    default_min_free_kbytes, effective_mark, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks,
    watermark_check,
};
use crate::mm::vmstat::{self, format_index, format_unusable_index};
use serde::Serialize;

/// What the user asked for; `None` takes the value from the capture or the profile.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub kernel: Option<&'static Profile>,
    pub order: Option<u32>,
    /// GFP flag names or a `0x…` mask, read with the profile's bit layout.
    pub gfp: Option<String>,
    pub min_free_kbytes: Option<u64>,
    pub watermark_scale_factor: Option<u32>,
    pub extfrag_threshold: Option<u32>,
    pub lowmem_reserve_ratio: Option<Vec<u32>>,
}

/// An input that cannot be analysed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnalyzeError {
    /// With the capture's warnings (a failure report cut before its zone lines says so).
    #[error("the input has no zone and no slab cache{0}: give a buddyinfo, zoneinfo, pagetypeinfo, dmesg failure report, node_exporter capture or slabinfo")]
    NoZones(String),
    #[error("--gfp {given} on kernel {kernel}: {reason}")]
    Gfp {
        given: String,
        kernel: String,
        reason: String,
    },
    #[error("order {order} is above the largest order {max} of kernel {kernel}")]
    Order {
        order: u32,
        max: u32,
        kernel: String,
    },
    #[error("--min-free-kbytes needs every zone's managed pages, and {zones} has none in the input (add its zoneinfo or the dmesg report)")]
    NoManaged { zones: String },
    /// A setting outside what the kernel accepts, or one the kernel does not have.
    #[error("{0}")]
    Setting(String),
}

/// The result: JSON field names are a stable contract.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    pub kernel: String,
    /// Where the kernel profile came from ("--kernel", "capture: 3.10.0-514.el7.x86_64", …).
    pub kernel_source: String,
    pub request: Request,
    pub extfrag_threshold: u32,
    pub zones: Vec<ZoneAnalysis>,
    /// What the input's slab caches say of the next cache creation; `None` without a slabinfo.
    pub cache_creation: Option<CacheCreation>,
    pub verdict: Verdict,
    /// Notes on assumptions and input problems (parser warnings included).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub order: u32,
    /// The mask decoded into the kernel's names.
    pub gfp: String,
    /// The mask as the kernel prints it (`0x10c0d0`).
    pub mode: String,
    /// Where the request came from ("dmesg report", "--order/--gfp", "default").
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct WatermarkInfo {
    pub min: u64,
    pub low: u64,
    pub high: u64,
    /// `watermark_boost` (5.0+), already included in min/low/high as the kernel prints them.
    pub boost: u64,
    /// "capture" or "computed".
    pub source: &'static str,
}

/// One zone's state and its answers for the request.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneAnalysis {
    pub node: u32,
    pub zone: ZoneType,
    /// `None` when the input gives neither the zone's counter nor its free lists.
    pub free_pages: Option<u64>,
    /// "counter" (the zone's own NR_FREE_PAGES), "free lists" (sum of the per-order counts) or
    /// "unknown".
    pub free_pages_source: &'static str,
    /// Free blocks per order; empty when the input has no per-order lines for the zone.
    pub free_blocks: Vec<u64>,
    pub free_by_type: Option<Vec<(MigrateType, Vec<u64>)>>,
    pub managed: Option<u64>,
    pub watermarks: Option<WatermarkInfo>,
    pub protection: Option<Vec<u64>>,
    /// `lowmem_reserve[classzone]` this zone applies to the request.
    pub reserve: Option<u64>,
    /// Per order, in thousandths: computed from the free lists, or as the input's debugfs
    /// file printed them when it has no free lists; empty when neither is known.
    pub extfrag_index: Vec<i32>,
    pub unusable_index: Vec<i32>,
    /// Largest order with a free block, if any.
    pub largest_free_order: Option<u32>,
    /// The request at the low watermark (fast path) and at min (slow path).
    pub fast_path: Option<Check>,
    pub min_path: Option<Check>,
    /// What `compaction_suitable()` says for this zone (costly requests that failed).
    pub compaction: Option<String>,
    /// Whether the zone is in the request's zonelist at all.
    pub in_zonelist: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub ok: bool,
    /// The mark compared, after the request's rights lowered it ([`effective_mark`]).
    pub mark: i64,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// `None` when the input cannot decide ("cannot tell": the reason names what is missing).
    pub succeeds: Option<bool>,
    /// Zone that would serve the request ("Normal", "node 1 DMA32").
    pub zone: Option<String>,
    /// "fast path", "past the min watermark", "fails", "unknown" (watermarks not known) or
    /// "cannot tell" (free counts not known).
    pub path: &'static str,
    pub reason: String,
    /// What the slow path would do before failing (compaction, reclaim).
    pub slow_path: Vec<String>,
}

impl Verdict {
    /// "succeeds", "fails" or "cannot tell".
    pub fn word(&self) -> &'static str {
        match self.succeeds {
            Some(true) => "succeeds",
            Some(false) => "fails",
            None => "cannot tell",
        }
    }
}

/// Per-zone view of a captured zone for the kernel's rules.
struct CapturedZone<'a> {
    zone: &'a ZoneCapture,
    /// The zone's `free_blocks` (empty when unknown).
    blocks: &'a [u64],
    free_pages: u64,
}

impl FreeArea for CapturedZone<'_> {
    fn free_pages(&self) -> u64 {
        self.free_pages
    }
    fn nr_free(&self, order: u32) -> u64 {
        self.blocks.get(order as usize).copied().unwrap_or(0)
    }
    /// Per-type knowledge comes from pagetypeinfo or the dmesg letters. Without either, the
    /// blocks are taken to be on the ordinary lists (Unmovable/Movable/Reclaimable), which is
    /// what the watermark check needs; HighAtomic and CMA are then taken as empty.
    fn has_free(&self, order: u32, mt: MigrateType) -> bool {
        let o = order as usize;
        if let Some(by_type) = &self.zone.free_by_type {
            return by_type
                .get(&mt)
                .and_then(|v| v.get(o))
                .is_some_and(|&n| n > 0);
        }
        if let Some(letters) = &self.zone.types_at_order {
            return letters.get(o).is_some_and(|t| t.contains(&mt));
        }
        mt == MigrateType::Movable && self.nr_free(order) > 0
    }
    fn free_cma(&self) -> u64 {
        self.zone.stats.get("nr_free_cma").copied().unwrap_or(0)
    }
}

fn blocks(zone: &ZoneCapture) -> &[u64] {
    zone.free_blocks.as_deref().unwrap_or(&[])
}

fn sum_of_blocks(zone: &ZoneCapture) -> u64 {
    blocks(zone).iter().enumerate().map(|(o, &n)| n << o).sum()
}

/// The zone types this capture's kernel was configured with, in zone-index order: the order of
/// `lowmem_reserve[]` entries, one per `enum zone_type` member (include/linux/mmzone.h): DMA with
/// CONFIG_ZONE_DMA, DMA32 with CONFIG_ZONE_DMA32, Normal, HighMem with CONFIG_HIGHMEM, Movable,
/// Device with CONFIG_ZONE_DEVICE (4.3+). Of the configurations with as many zones as the printed
/// arrays have entries, those that hold every zone the input names and fit the report's
/// architecture (x86-64 always has DMA32; 64-bit kernels have no HighMem; 32-bit ARM has no DMA32
/// and no Device) must all give the named zones the same index; otherwise `Err` says why the
/// entries cannot be placed. Without printed arrays, the named zones and Normal and Movable.
fn configured_zones(capture: &Capture) -> Result<Vec<ZoneType>, String> {
    use crate::capture::Arch;
    use ZoneType::{Device, Dma, Dma32, HighMem};
    let named: Vec<ZoneType> = ZoneType::ALL
        .into_iter()
        .filter(|&t| capture.zones.iter().any(|z| z.zone == t))
        .collect();
    let len = capture
        .zones
        .iter()
        .filter_map(|z| z.protection.as_ref().map(Vec::len))
        .max();
    let Some(len) = len else {
        return Ok(named_zones(capture));
    };
    let arch = capture.failure.as_ref().and_then(|f| f.arch);
    let before_device = capture
        .kernel_release
        .as_deref()
        .and_then(crate::kernel::profile::release_version)
        .is_some_and(|v| v < (4, 3));
    let fits = |types: &[ZoneType]| {
        let has = |t| types.contains(&t);
        types.len() == len
            && named.iter().all(|&t| has(t))
            && !(before_device && has(Device))
            && match arch {
                Some(Arch::X86_64) => has(Dma32) && !has(HighMem),
                Some(Arch::Arm64) => !has(HighMem),
                Some(Arch::Arm) => !has(Dma32) && !has(Device),
                None => true,
            }
    };
    let optional = [Dma, Dma32, HighMem, Device];
    let candidates: Vec<Vec<ZoneType>> = (0..1u32 << optional.len())
        .map(|mask| {
            ZoneType::ALL
                .into_iter()
                .filter(|t| match optional.iter().position(|o| o == t) {
                    Some(bit) => mask & (1 << bit) != 0,
                    None => true,
                })
                .collect::<Vec<_>>()
        })
        .filter(|types| fits(types))
        .collect();
    let names = |types: &[ZoneType]| {
        types
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let index = |types: &[ZoneType]| -> Vec<Option<usize>> {
        named
            .iter()
            .map(|t| types.iter().position(|x| x == t))
            .collect()
    };
    let Some(first) = candidates.first() else {
        return Err(format!(
            "no kernel configuration has {len} zones including {}",
            names(&named)
        ));
    };
    match candidates.iter().find(|c| index(c) != index(first)) {
        None => Ok(first.clone()),
        Some(other) => Err(format!(
            "{len} entries with zones {} could be {} or {} (the report names no architecture that decides)",
            names(&named),
            names(first),
            names(other)
        )),
    }
}

/// The zones the input names, with Normal and Movable, which every kernel configures.
fn named_zones(capture: &Capture) -> Vec<ZoneType> {
    ZoneType::ALL
        .into_iter()
        .filter(|&t| {
            matches!(t, ZoneType::Normal | ZoneType::Movable)
                || capture.zones.iter().any(|z| z.zone == t)
        })
        .collect()
}

/// Analyse `capture` for one request.
pub fn analyze(capture: &Capture, opts: &Options) -> Result<Analysis, AnalyzeError> {
    let mut notes: Vec<String> = capture
        .warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.file, w.line, w.message))
        .collect();
    if capture.zones.is_empty() && capture.slab_caches.is_empty() {
        let context = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        return Err(AnalyzeError::NoZones(context));
    }

    let (profile, kernel_source) = match (opts.kernel, &capture.kernel_release) {
        (Some(p), _) => (p, "--kernel".to_string()),
        (None, Some(release)) => match crate::kernel::profile::for_release(release) {
            Some(p) => (p, format!("capture: {release}")),
            None => {
                notes.push(format!(
                    "kernel {release} is older than every profile; using 3.10 (pass --kernel)"
                ));
                (&crate::kernel::PROFILES[0], format!("nearest to {release}"))
            }
        },
        (None, None) if shows_reserve(capture) => {
            let p = crate::kernel::profile("3.10").expect("the 3.10 profile exists");
            notes.push(
                "the input does not name its kernel, but its pagetypeinfo has a Reserve column, \
                 which only kernels before 4.4 print (MIGRATE_RESERVE): assuming 3.10, the \
                 oldest profile (pass --kernel)"
                    .into(),
            );
            (p, "guess: a Reserve column".to_string())
        }
        (None, None) if crate::cache_creation::kernel_hint(&capture.slab_caches).is_some() => {
            let p = crate::kernel::profile("3.10").expect("the 3.10 profile exists");
            let why = crate::cache_creation::kernel_hint(&capture.slab_caches).unwrap_or_default();
            notes.push(format!(
                "the input does not name its kernel, but {why}: assuming 3.10, the oldest \
                 profile (pass --kernel, such as 3.10-rhel7.3 for CentOS 7.3 - 7.6)"
            ));
            (p, "guess: slab cache names".to_string())
        }
        (None, None) => {
            let p = crate::kernel::profile("6.1").expect("the 6.1 profile exists");
            notes.push("the input does not name its kernel: assuming 6.1 (pass --kernel)".into());
            (p, "default".to_string())
        }
    };

    let cache_creation = crate::cache_creation::analyze(&capture.slab_caches, profile);
    let next = cache_creation
        .as_ref()
        .and_then(|c| c.next_creation.request());
    let request = request(capture, opts, profile, next, &mut notes)?;
    let gfp_flags = profile.gfp.flags(request.1);
    let order = request.0.order;
    if order >= profile.orders {
        return Err(AnalyzeError::Order {
            order,
            max: profile.orders - 1,
            kernel: profile.name.into(),
        });
    }
    if capture.zones.is_empty() {
        return Ok(without_zones(
            profile,
            kernel_source,
            request.0,
            opts,
            cache_creation,
            notes,
        ));
    }
    check_settings(capture, opts, profile)?;
    let extfrag_threshold = opts.extfrag_threshold.unwrap_or(profile.extfrag_threshold);

    let placed = configured_zones(capture);
    if let Err(why) = &placed {
        notes.push(format!(
            "cannot tell which zone each printed lowmem_reserve[] entry is for: {why}"
        ));
    }
    let zone_types = placed.clone().unwrap_or_else(|_| named_zones(capture));
    let computed = computed_marks(capture, opts, profile, &zone_types, &mut notes)?;
    if let Some(note) = pcp_note(capture) {
        notes.push(note);
    }

    // The zonelist: the local node's zones from the preferred zone down, then the other nodes'.
    let local = capture.zones[0].node;
    let highest = crate::kernel::gfp::gfp_zone(&gfp_flags);
    let preferred = capture
        .zones
        .iter()
        .filter(|z| z.node == local && z.zone <= highest && zone_populated(z))
        .map(|z| z.zone)
        .max()
        .unwrap_or(ZoneType::Dma);
    let classzone = zone_types.iter().position(|&t| t == preferred);

    // On a single node the kernel assumes DMA32 is populated (`alloc_flags_nofragment()`).
    let dma32_populated = capture.zones.iter().all(|z| z.node == local)
        || capture
            .zones
            .iter()
            .any(|z| z.node == local && z.zone == ZoneType::Dma32 && zone_populated(z));
    let fast_flags = fast_path_alloc_flags(profile, &gfp_flags, preferred, dma32_populated);
    let slow_flags = gfp_to_alloc_flags(profile, &gfp_flags, order);

    let mut zones = Vec::with_capacity(capture.zones.len());
    for (i, zc) in capture.zones.iter().enumerate() {
        let (free_pages, free_pages_source) = match (zc.free_pages, &zc.free_blocks) {
            (Some(n), _) => (Some(n), "counter"),
            (None, Some(_)) => (Some(sum_of_blocks(zc)), "free lists"),
            (None, None) => (None, "unknown"),
        };
        let view = CapturedZone {
            zone: zc,
            blocks: blocks(zc),
            free_pages: free_pages.unwrap_or(0),
        };
        // The watermark check and compaction need the zone's free pages, and above order 0
        // its free lists too.
        let judged = free_pages.is_some() && (order == 0 || zc.free_blocks.is_some());
        let (watermarks, protection, computed_prot) = match &computed[i] {
            Some((wm, prot)) => (
                Some((*wm, "computed")),
                prot.clone().or_else(|| zc.protection.clone()),
                prot.is_some(),
            ),
            None => (
                zc.watermarks.map(|w| (w, "capture")),
                zc.protection.clone(),
                false,
            ),
        };
        // A zone's own entry is 0 (`setup_per_zone_lowmem_reserve()` fills only higher
        // classzones'), wherever it sits; a lower zone's needs the entries placed.
        let reserve = match &protection {
            Some(p) if placed.is_ok() || computed_prot => classzone.and_then(|c| p.get(c).copied()),
            Some(_) if zc.zone == preferred => Some(0),
            _ => None,
        };
        let nr_orders = blocks(zc).len() as u32;
        let (extfrag_index, unusable_index) = if zc.free_blocks.is_some() {
            vmstat::zone_indices(profile, &view, nr_orders)
        } else {
            let captured = |v: &Option<Vec<i64>>| -> Vec<i32> {
                v.iter().flatten().map(|&x| x as i32).collect()
            };
            (captured(&zc.extfrag_index), captured(&zc.unusable_index))
        };
        let largest_free_order = (0..nr_orders).rev().find(|&o| view.nr_free(o) > 0);
        let in_zonelist = zc.zone <= highest && zone_populated(zc);

        let check = |mark: u64, flags: AllocFlags| -> Check {
            let v = watermark_check(profile, &view, order, mark, reserve.unwrap_or(0), flags);
            Check {
                ok: v.is_ok(),
                mark: effective_mark(profile, mark, flags),
                reason: v.to_string(),
            }
        };
        // Below the preferred zone, an unknown reserve leaves the check unmade.
        let judged = judged && (reserve.is_some() || zc.zone >= preferred);
        let (fast_path, min_path) = match watermarks {
            Some((wm, _)) if in_zonelist && judged => (
                Some(check(wm.low + wm.boost, fast_flags)),
                Some(check(wm.min + wm.boost, slow_flags)),
            ),
            _ => (None, None),
        };
        let compaction = match watermarks {
            Some((wm, _)) if in_zonelist && judged && order > 0 => Some(
                compaction_suitable(
                    profile,
                    &view,
                    Some(order),
                    &wm,
                    reserve.unwrap_or(0),
                    slow_flags,
                    &ExtfragThreshold::new(extfrag_threshold),
                )
                .to_string(),
            ),
            _ => None,
        };
        zones.push(ZoneAnalysis {
            node: zc.node,
            zone: zc.zone,
            free_pages,
            free_pages_source,
            free_blocks: blocks(zc).to_vec(),
            free_by_type: zc
                .free_by_type
                .as_ref()
                .map(|m| m.iter().map(|(t, v)| (*t, v.clone())).collect()),
            managed: zc.managed,
            watermarks: watermarks.map(|(w, source)| WatermarkInfo {
                min: w.min + w.boost,
                low: w.low + w.boost,
                high: w.high + w.boost,
                boost: w.boost,
                source,
            }),
            protection,
            reserve,
            extfrag_index,
            unusable_index,
            largest_free_order,
            fast_path,
            min_path,
            compaction,
            in_zonelist,
        });
    }

    let verdict = verdict(
        profile,
        &zones,
        local,
        order,
        &gfp_flags,
        &request.0.gfp,
        preferred,
        extfrag_threshold,
        placed.err().as_deref(),
    );
    Ok(Analysis {
        kernel: profile.name.into(),
        kernel_source,
        request: request.0,
        extfrag_threshold,
        zones,
        cache_creation,
        verdict,
        notes,
    })
}

/// The analysis of an input with slab caches and no zone: the request and what the caches say,
/// and no verdict.
fn without_zones(
    profile: &Profile,
    kernel_source: String,
    request: Request,
    opts: &Options,
    cache_creation: Option<CacheCreation>,
    mut notes: Vec<String>,
) -> Analysis {
    if opts.min_free_kbytes.is_some()
        || opts.watermark_scale_factor.is_some()
        || opts.lowmem_reserve_ratio.is_some()
    {
        notes.push("the watermark settings given have no zone to apply to".into());
    }
    Analysis {
        kernel: profile.name.into(),
        kernel_source,
        request,
        extfrag_threshold: opts.extfrag_threshold.unwrap_or(profile.extfrag_threshold),
        zones: Vec::new(),
        cache_creation,
        verdict: Verdict {
            succeeds: None,
            zone: None,
            path: "cannot tell",
            reason: "cannot tell: the input has no zone (add /proc/buddyinfo and zoneinfo, or \
                     the dmesg failure report, for the verdict)"
                .into(),
            slow_path: vec![],
        },
        notes,
    }
}

/// The settings asked for, checked as a scenario's are (`Tunables::validate()`): the kernel's
/// ranges, only the sysctls this kernel has, and `vm.min_free_kbytes` at most the capture's
/// memory (its managed pages, where the input gives them).
fn check_settings(
    capture: &Capture,
    opts: &Options,
    profile: &Profile,
) -> Result<(), AnalyzeError> {
    let asked = crate::scenario::tunables::Tunables {
        min_free_kbytes: opts.min_free_kbytes,
        extfrag_threshold: opts.extfrag_threshold,
        watermark_scale_factor: opts.watermark_scale_factor,
        lowmem_reserve_ratio: opts.lowmem_reserve_ratio.clone(),
        ..Default::default()
    };
    let managed: Option<u64> = capture.zones.iter().map(|z| z.managed).sum();
    let memory_kib = managed.map_or(u64::MAX, |pages| pages * 4);
    let flag = |key: &str| format!("--{}", key.trim_start_matches("vm.").replace('_', "-"));
    asked
        .validate(&crate::scenario::tree::Path::root(), profile, memory_kib)
        .map_err(|e| {
            let key = e.path.to_string();
            AnalyzeError::Setting(format!("{}: {}", flag(&key), e.message))
        })
}

/// Whether a pagetypeinfo in the input lists MIGRATE_RESERVE free lists or pageblocks, which
/// kernels before 4.4 print (4.4 replaced the type with MIGRATE_HIGHATOMIC).
fn shows_reserve(capture: &Capture) -> bool {
    capture.zones.iter().any(|z| {
        z.free_by_type
            .as_ref()
            .is_some_and(|m| m.contains_key(&MigrateType::Reserve))
            || z.pageblocks
                .as_ref()
                .is_some_and(|m| m.contains_key(&MigrateType::Reserve))
    })
}

/// A zone the input names is populated unless it says it manages no pages.
fn zone_populated(z: &ZoneCapture) -> bool {
    z.managed.is_none_or(|m| m > 0)
}

/// The request and its mask: flags override the dmesg report, which overrides the next cache
/// creation's memcg-array allocation the slab caches give (`next`: order and mask), which
/// overrides the defaults (order 6, GFP_KERNEL: the nf_conntrack cache creation of the
/// incident).
fn request(
    capture: &Capture,
    opts: &Options,
    profile: &Profile,
    next: Option<(u32, u64)>,
    notes: &mut Vec<String>,
) -> Result<(Request, u64), AnalyzeError> {
    let next = next.filter(|_| capture.failure.is_none());
    let failure = capture.failure.as_ref();
    let mode = match &opts.gfp {
        Some(text) => profile
            .gfp
            .parse(text)
            .map_err(|reason| AnalyzeError::Gfp {
                given: text.clone(),
                kernel: profile.name.into(),
                reason,
            })?,
        None => match (failure, next) {
            (Some(f), _) => report_mode(capture, f.mode, profile, notes),
            (None, Some((_, mask))) => mask,
            (None, None) => profile
                .gfp
                .parse("GFP_KERNEL")
                .expect("every layout defines GFP_KERNEL"),
        },
    };
    let order = opts
        .order
        .or(failure.map(|f| f.order))
        .or(next.map(|(order, _)| order))
        .unwrap_or(6);
    let source = match (
        opts.order.is_some() || opts.gfp.is_some(),
        failure.is_some(),
        next.is_some(),
    ) {
        (true, _, _) => "flags",
        (false, true, _) => "dmesg report",
        (false, false, true) => {
            "slabinfo (the next cache creation's memcg array, from the highest kmem id)"
        }
        (false, false, false) => "default (order 6 GFP_KERNEL: the nf_conntrack cache allocation)",
    };
    Ok((
        Request {
            order,
            gfp: profile.gfp.decode(mode),
            mode: format!("{mode:#x}"),
            source: source.into(),
        },
        mode,
    ))
}

/// The report's mask in `profile`'s layout. The report printed it in its own kernel's bit
/// layout (the capture's release): when `profile` is another kernel's (`--kernel`), the mask is
/// decoded there and carried by flag name, renamed flags by their successor; a flag the
/// profile's kernel lacks is dropped, and a note says what was done.
fn report_mode(capture: &Capture, mode: u64, profile: &Profile, notes: &mut Vec<String>) -> u64 {
    let own = capture
        .kernel_release
        .as_deref()
        .and_then(crate::kernel::profile::for_release);
    let Some(own) = own.filter(|own| own.gfp != profile.gfp) else {
        return mode;
    };
    let names = own.gfp.decode(mode);
    let (mut carried, mut dropped) = (0u64, Vec::new());
    for name in names.split('|') {
        let renamed = GFP_RENAMED
            .iter()
            .find(|(old, _)| old.eq_ignore_ascii_case(name))
            .map(|(_, new)| *new);
        match profile
            .gfp
            .parse(name)
            .or_else(|e| renamed.map_or(Err(e), |n| profile.gfp.parse(n)))
        {
            Ok(bits) => carried |= bits,
            Err(_) => dropped.push(name),
        }
    }
    let mut note = format!(
        "the report's mode {mode:#x} is in {}'s GFP layout ({names}); carried to {} by flag as {carried:#x}",
        own.name, profile.name
    );
    if !dropped.is_empty() {
        note.push_str(&format!(
            "; {} {} no {} equivalent: dropped",
            dropped.join(", "),
            if dropped.len() == 1 { "has" } else { "have" },
            profile.name
        ));
    }
    notes.push(note);
    carried
}

/// GFP flags renamed between kernels, old name → new: `__GFP_WAIT` split into direct and kswapd
/// reclaim (4.4), `__GFP_REPEAT` became `__GFP_RETRY_MAYFAIL` (4.13), kmem accounting's
/// `__GFP_KMEMCG` (3.8 – 3.14) is `__GFP_ACCOUNT` (4.5+); and back, for an older `--kernel`.
const GFP_RENAMED: [(&str, &str); 6] = [
    ("__GFP_WAIT", "__GFP_RECLAIM"),
    ("__GFP_REPEAT", "__GFP_RETRY_MAYFAIL"),
    ("__GFP_KMEMCG", "__GFP_ACCOUNT"),
    ("__GFP_RECLAIM", "__GFP_WAIT"),
    ("__GFP_RETRY_MAYFAIL", "__GFP_REPEAT"),
    ("__GFP_ACCOUNT", "__GFP_KMEMCG"),
];

/// Watermarks and protection recomputed from `min_free_kbytes` (`__setup_per_zone_wmarks()`,
/// `setup_per_zone_lowmem_reserve()`): with `--min-free-kbytes`, or when the capture has managed
/// pages but no watermarks. One entry per capture zone; `None` keeps the capture's.
#[allow(clippy::type_complexity)]
fn computed_marks(
    capture: &Capture,
    opts: &Options,
    profile: &Profile,
    zone_types: &[ZoneType],
    notes: &mut Vec<String>,
) -> Result<Vec<Option<(Watermarks, Option<Vec<u64>>)>>, AnalyzeError> {
    let all_managed = capture.zones.iter().all(|z| z.managed.is_some());
    let none_have_marks = capture.zones.iter().all(|z| z.watermarks.is_none());
    let min_free_kbytes = match opts.min_free_kbytes {
        Some(kb) => {
            if !all_managed {
                let missing: Vec<String> = capture
                    .zones
                    .iter()
                    .filter(|z| z.managed.is_none())
                    .map(|z| format!("node {} {}", z.node, z.zone))
                    .collect();
                return Err(AnalyzeError::NoManaged {
                    zones: missing.join(", "),
                });
            }
            kb
        }
        None if all_managed && none_have_marks => {
            let lowmem_kb: u64 = capture
                .zones
                .iter()
                .filter(|z| z.zone <= ZoneType::Normal)
                .filter_map(|z| z.managed)
                .sum::<u64>()
                * 4;
            let kb = default_min_free_kbytes(profile, lowmem_kb);
            notes.push(format!(
                "watermarks computed from the default min_free_kbytes {kb} kB (THP, when enabled, raises it; pass --min-free-kbytes)"
            ));
            kb
        }
        // A scale factor or reserve ratio alone recomputes from the min_free_kbytes the
        // captured min watermarks add up to (each zone's share of it, `__setup_per_zone_wmarks()`).
        None if opts.watermark_scale_factor.is_some() || opts.lowmem_reserve_ratio.is_some() => {
            let marks: Option<u64> = capture
                .zones
                .iter()
                .filter(|z| z.zone <= ZoneType::Normal)
                .map(|z| z.watermarks.map(|w| w.min.saturating_sub(w.boost)))
                .sum();
            let (Some(pages), true) = (marks, all_managed) else {
                let missing: Vec<String> = capture
                    .zones
                    .iter()
                    .filter(|z| z.managed.is_none() || z.watermarks.is_none())
                    .map(|z| format!("node {} {}", z.node, z.zone))
                    .collect();
                return Err(AnalyzeError::Setting(format!(
                    "--watermark-scale-factor and --lowmem-reserve-ratio recompute the watermarks, \
                     which needs every zone's managed pages and min watermark, and {} {} not in \
                     the input (add its zoneinfo, or pass --min-free-kbytes with managed pages)",
                    missing.join(", "),
                    if missing.len() == 1 { "is" } else { "are" }
                )));
            };
            let kb = pages * 4;
            notes.push(format!(
                "watermarks recomputed from min_free_kbytes {kb} kB, what the capture's min watermarks add up to (pass --min-free-kbytes to set it)"
            ));
            kb
        }
        None => return Ok(vec![None; capture.zones.len()]),
    };
    let wsf = opts
        .watermark_scale_factor
        .unwrap_or(profile.watermark_scale_factor);
    let zones: Vec<(ZoneType, u64)> = capture
        .zones
        .iter()
        .map(|z| (z.zone, z.managed.unwrap_or(0)))
        .collect();
    let marks = setup_per_zone_wmarks(profile, min_free_kbytes, wsf, &zones);
    // A ratio list from the user is the kernel's array (by zone index); the profile's default
    // is by zone type.
    let ratio_by_index: Vec<u32> = match &opts.lowmem_reserve_ratio {
        Some(r) => (0..zone_types.len())
            .map(|i| r.get(i).copied().unwrap_or(0))
            .collect(),
        None => zone_types
            .iter()
            .map(|t| profile.lowmem_reserve_ratio[t.index()])
            .collect(),
    };
    // Protection is per node, indexed by the configured zone list.
    let mut out = Vec::with_capacity(capture.zones.len());
    for (i, z) in capture.zones.iter().enumerate() {
        let managed_by_index: Vec<u64> = zone_types
            .iter()
            .map(|&t| {
                capture
                    .zones
                    .iter()
                    .find(|o| o.node == z.node && o.zone == t)
                    .and_then(|o| o.managed)
                    .unwrap_or(0)
            })
            .collect();
        let reserves = setup_per_zone_lowmem_reserve(profile, &ratio_by_index, &managed_by_index);
        let prot = zone_types
            .iter()
            .position(|&t| t == z.zone)
            .and_then(|idx| reserves.get(idx).cloned());
        if let Some(printed) = z.watermarks {
            let m = marks[i];
            if (m.min, m.low, m.high) != (printed.min, printed.low, printed.high) {
                notes.push(format!(
                    "node {} {} min {} (printed {}), low {} ({}), high {} ({}): the kernel computes watermarks when min_free_kbytes or memory changes, so managed pages that changed since (init memory freed after boot, hotplug, balloon) move the arithmetic",
                    z.node, z.zone, m.min, printed.min, m.low, printed.low, m.high, printed.high
                ));
            }
        }
        out.push(Some((marks[i], prot)));
    }
    Ok(out)
}

/// What the per-cpu lists of a zoneinfo's `pagesets` hold: pages neither free (`pages free`,
/// NR_FREE_PAGES) nor on the free lists (buddyinfo), which an order-0 request takes first and
/// `drain_all_pages()` gives back to the buddy lists (KERNEL_MM.md 6.10).
fn pcp_note(capture: &Capture) -> Option<String> {
    let held: Vec<(String, u64)> = capture
        .zones
        .iter()
        .filter_map(|z| {
            let sets = z.pagesets.as_ref()?;
            let pages: u64 = sets.iter().map(|p| p.count).sum();
            (pages > 0).then(|| (format!("node {} {} {pages}", z.node, z.zone), pages))
        })
        .collect();
    if held.is_empty() {
        return None;
    }
    let total: u64 = held.iter().map(|h| h.1).sum();
    let zones: Vec<&str> = held.iter().map(|h| h.0.as_str()).collect();
    Some(format!(
        "the per-cpu lists (zoneinfo pagesets) hold {total} pages ({}): counted neither as free nor \
         in the free lists above; an order-0 request takes them first, and a drain after failed \
         direct reclaim gives them back to the buddy lists, where they may merge",
        zones.join(", ")
    ))
}

fn zone_label(z: &ZoneAnalysis, local: u32) -> String {
    if z.node == local {
        z.zone.to_string()
    } else {
        format!("node {} {}", z.node, z.zone)
    }
}

/// Zones named in a verdict: the local node's by name, the other nodes' counted (a 256-node
/// machine would otherwise list hundreds of zones).
struct Names {
    local: Vec<String>,
    others: usize,
}

impl Names {
    fn collect<'a>(zones: impl Iterator<Item = &'a ZoneAnalysis>, local: u32) -> Names {
        let mut names = Names {
            local: Vec::new(),
            others: 0,
        };
        for z in zones {
            if z.node == local {
                names.local.push(z.zone.to_string());
            } else {
                names.others += 1;
            }
        }
        names
    }

    fn is_empty(&self) -> bool {
        self.local.is_empty() && self.others == 0
    }

    fn verb(&self) -> &'static str {
        if self.local.len() + self.others == 1 {
            "has"
        } else {
            "have"
        }
    }

    /// "Normal, DMA32 and DMA", "Normal and 3 zones on other nodes".
    fn join(&self) -> String {
        let others = match self.others {
            0 => None,
            1 => Some("1 zone on another node".to_string()),
            n => Some(format!("{n} zones on other nodes")),
        };
        let names: Vec<&str> = self
            .local
            .iter()
            .map(String::as_str)
            .chain(others.as_deref())
            .collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

/// The zonelist of zones in it: the local node first, then the others by node; within a node
/// from the highest zone down (`build_zonelists()` with node order). Capture zones come sorted
/// by (node, zone), so each node's run is reversed; anything else is sorted.
fn zonelist(zones: &[ZoneAnalysis], local: u32) -> Vec<&ZoneAnalysis> {
    let key = |z: &&ZoneAnalysis| (z.node != local, z.node, std::cmp::Reverse(z.zone));
    let mut list = Vec::with_capacity(zones.len());
    let runs = || zones.chunk_by(|a, b| a.node == b.node);
    for run in runs().filter(|r| r.first().is_some_and(|z| z.node == local)) {
        list.extend(run.iter().rev().filter(|z| z.in_zonelist));
    }
    for run in runs().filter(|r| r.first().is_some_and(|z| z.node != local)) {
        list.extend(run.iter().rev().filter(|z| z.in_zonelist));
    }
    if !list.is_sorted_by_key(key) {
        list.sort_by_key(key);
    }
    list
}

/// Whether the input tells the zone's free pages, and above order 0 its free lists: what the
/// watermark check needs; below the preferred zone with watermarks, its lowmem_reserve too.
fn judged(z: &ZoneAnalysis, order: u32, preferred: ZoneType) -> bool {
    z.free_pages.is_some()
        && (order == 0 || !z.free_blocks.is_empty())
        && (z.reserve.is_some() || z.watermarks.is_none() || z.zone >= preferred)
}

/// The verdict over the zonelist ([`decide`]) where the input tells every zone's free counts.
/// Where it does not, a request no known zone serves cannot be decided: "cannot tell", naming
/// what is missing, with what the known zones and the zones' debugfs indices do say. `unplaced`
/// says why the printed lowmem_reserve entries could not be placed ([`configured_zones`]);
/// `gfp_name` is the mask in the kernel's names, as the request shows it.
#[allow(clippy::too_many_arguments)]
fn verdict(
    profile: &Profile,
    zones: &[ZoneAnalysis],
    local: u32,
    order: u32,
    gfp: &GfpFlags,
    gfp_name: &str,
    preferred: ZoneType,
    threshold: u32,
    unplaced: Option<&str>,
) -> Verdict {
    let (list, unknown): (Vec<&ZoneAnalysis>, Vec<&ZoneAnalysis>) = zonelist(zones, local)
        .into_iter()
        .partition(|z| judged(z, order, preferred));
    let decided = (!list.is_empty() || unknown.is_empty()).then(|| {
        decide(
            profile, zones, &list, local, order, gfp, gfp_name, preferred,
        )
    });
    match decided {
        Some(v) if unknown.is_empty() || v.succeeds == Some(true) => return v,
        _ => {}
    }
    let (no_counts, rest): (Vec<&ZoneAnalysis>, Vec<&ZoneAnalysis>) =
        unknown.iter().partition(|z| z.free_pages.is_none());
    let (no_lists, no_reserve): (Vec<&ZoneAnalysis>, Vec<&ZoneAnalysis>) = rest
        .into_iter()
        .partition(|z| order > 0 && z.free_blocks.is_empty());
    let mut parts = Vec::new();
    for (names, what, add) in [
        (
            Names::collect(no_counts.into_iter(), local),
            "no free counts",
            "/proc/buddyinfo, zoneinfo or pagetypeinfo",
        ),
        (
            Names::collect(no_lists.into_iter(), local),
            "no per-order free lines",
            "/proc/buddyinfo or pagetypeinfo, or the dmesg report's per-order lines",
        ),
    ] {
        if !names.is_empty() {
            parts.push(format!(
                "{} {} {what} in the input (add {add})",
                names.join(),
                names.verb()
            ));
        }
    }
    let no_reserve = Names::collect(no_reserve.into_iter(), local);
    if !no_reserve.is_empty() {
        parts.push(format!(
            "the lowmem_reserve {} {} for a {preferred} request is unknown ({})",
            no_reserve.join(),
            if no_reserve.verb() == "has" {
                "keeps"
            } else {
                "keep"
            },
            unplaced.unwrap_or("the input prints no lowmem_reserve[] line for it")
        ));
    }
    if let Some(v) = &decided {
        parts.push(format!("of the zones it does tell, {}", v.reason));
    }
    for z in &unknown {
        parts.extend(index_meaning(profile, z, local, order, threshold));
    }
    Verdict {
        succeeds: None,
        zone: None,
        path: "cannot tell",
        reason: format!("cannot tell: {}", parts.join("; ")),
        slow_path: vec![],
    }
}

/// What a zone's debugfs indices at the request's order say without its free lists
/// (`__fragmentation_index()`, `unusable_free_index()`, `compaction_suitable()`).
fn index_meaning(
    profile: &Profile,
    z: &ZoneAnalysis,
    local: u32,
    order: u32,
    threshold: u32,
) -> Vec<String> {
    let label = zone_label(z, local);
    let mut said = Vec::new();
    match z.extfrag_index.get(order as usize) {
        Some(&i) if i < 0 => said.push(format!(
            "{label}'s extfrag_index at order {order} is {}: a free block of order ≥ {order} exists there, so a failure there is not from fragmentation",
            format_index(profile, i)
        )),
        Some(&i) => said.push(format!(
            "{label}'s extfrag_index at order {order} is {} (no free block of order ≥ {order}); against vm.extfrag_threshold {threshold} ({}) the kernel would {}",
            format_index(profile, i),
            format_index(profile, threshold as i32),
            if i > threshold as i32 {
                "compact: the failure is from fragmentation"
            } else {
                "reclaim instead of compacting: the failure is from lack of memory"
            }
        )),
        None => {}
    }
    if let Some(&u) = z.unusable_index.get(order as usize) {
        said.push(format!(
            "{label}'s unusable_index at order {order} is {}: {:.1} % of its free memory is in blocks too small for the request",
            format_unusable_index(u),
            f64::from(u) / 10.0
        ));
    }
    said
}

/// `get_page_from_freelist()` over `list`, the zonelist's zones whose free counts are known,
/// at low, then at min; then what the slow path does for a request that fails both
/// (KERNEL_MM.md 5). `gfp_name` is the mask in the kernel's names, as the request shows it.
#[allow(clippy::too_many_arguments)]
fn decide(
    profile: &Profile,
    zones: &[ZoneAnalysis],
    list: &[&ZoneAnalysis],
    local: u32,
    order: u32,
    gfp: &GfpFlags,
    gfp_name: &str,
    preferred: ZoneType,
) -> Verdict {
    let request = format!("order-{order}");
    let has_block = |z: &ZoneAnalysis| {
        if z.free_blocks.is_empty() {
            order == 0 && z.free_pages.is_some_and(|f| f > 0)
        } else {
            z.largest_free_order.is_some_and(|o| o >= order)
        }
    };

    if list.iter().all(|z| z.fast_path.is_none()) {
        // No watermarks: only the free lists can be judged, and a lower zone's lowmem_reserve is
        // unknown, so only zones at or above the preferred zone are trusted.
        let trusted = list.iter().find(|z| z.zone >= preferred && has_block(z));
        let lower = Names::collect(
            list.iter()
                .filter(|z| z.zone < preferred && has_block(z))
                .copied(),
            local,
        );
        return match trusted {
            Some(z) => Verdict {
                succeeds: Some(true),
                zone: Some(zone_label(z, local)),
                path: "unknown",
                reason: format!(
                    "{} has a free block of order ≥ {order}; its watermarks are unknown (add zoneinfo, or a dmesg report) so the watermark check cannot be made",
                    zone_label(z, local)
                ),
                slow_path: vec![],
            },
            None => {
                let mut reason = format!(
                    "{preferred} has no free block of order ≥ {order}, so the {request} allocation fails there whatever the watermarks"
                );
                if !lower.is_empty() {
                    reason.push_str(&format!(
                        "; {} {} such blocks, but whether its lowmem_reserve lets a {preferred} request use them is unknown without zoneinfo",
                        lower.join(),
                        lower.verb()
                    ));
                }
                Verdict {
                    succeeds: Some(false),
                    zone: None,
                    path: "unknown",
                    reason,
                    slow_path: vec![],
                }
            }
        };
    }

    for (path, pick) in [("fast path", 0), ("past the min watermark", 1)] {
        let hit = list.iter().find(|z| {
            let c = if pick == 0 { &z.fast_path } else { &z.min_path };
            c.as_ref().is_some_and(|c| c.ok) && has_block(z)
        });
        if let Some(z) = hit {
            let reason = if pick == 0 {
                format!(
                    "{} passes the low watermark at order {order}",
                    zone_label(z, local)
                )
            } else {
                format!(
                    "no zone passes the low watermark; after waking kswapd, {} passes min at order {order}",
                    zone_label(z, local)
                )
            };
            return Verdict {
                succeeds: Some(true),
                zone: Some(zone_label(z, local)),
                path,
                reason,
                slow_path: vec![],
            };
        }
    }

    // Fails both: say why for each zone of the zonelist.
    let no_block = Names::collect(list.iter().filter(|z| !has_block(z)).copied(), local);
    let mut reserve_blocked = Vec::new();
    let mut below = Vec::new();
    for z in list.iter().filter(|z| has_block(z)) {
        let label = zone_label(z, local);
        if z.reserve.is_some_and(|r| r > 0) && z.zone < preferred {
            reserve_blocked.push(format!(
                "{label} has order-{} blocks but lowmem_reserve ({} pages for a {preferred} request) blocks it",
                z.largest_free_order.unwrap_or(0),
                z.reserve.unwrap_or(0)
            ));
        } else {
            let why = z
                .min_path
                .as_ref()
                .map(|c| c.reason.clone())
                .unwrap_or_default();
            below.push(format!("{label} is below its min watermark ({why})"));
        }
    }
    let mut parts = Vec::new();
    if !no_block.is_empty() {
        parts.push(format!(
            "{} {} no free block of order ≥ {order}",
            no_block.join(),
            no_block.verb()
        ));
    }
    parts.extend(reserve_blocked);
    parts.extend(below);
    Verdict {
        succeeds: Some(false),
        zone: None,
        path: "fails",
        reason: format!("{request} {gfp_name} fails: {}", parts.join("; ")),
        slow_path: slow_path(profile, zones, order, gfp),
    }
}

/// What the slow path does after the fast path and min fail (KERNEL_MM.md 5).
fn slow_path(profile: &Profile, zones: &[ZoneAnalysis], order: u32, gfp: &GfpFlags) -> Vec<String> {
    let mut steps = vec!["kswapd is woken for the order".to_string()];
    if !gfp.direct_reclaim {
        steps.push("the request may not sleep: no compaction or reclaim, it fails".into());
        return steps;
    }
    for z in zones.iter().filter(|z| z.in_zonelist) {
        if let Some(c) = &z.compaction {
            steps.push(format!("{}: {c}", z.zone));
        }
    }
    if order > PAGE_ALLOC_COSTLY_ORDER {
        let retry = if gfp.retry_mayfail || gfp.nofail {
            "it may retry"
        } else {
            "a costly order does not retry and never calls the OOM killer"
        };
        steps.push(format!(
            "{}; {retry}",
            match profile.slow_path {
                crate::kernel::profile::SlowPath::V3_10 =>
                    "async compaction, then direct reclaim, then sync compaction",
                crate::kernel::profile::SlowPath::V4_7 =>
                    "async compaction, then direct reclaim, then one more compaction",
                crate::kernel::profile::SlowPath::V4_8 =>
                    "async compaction first, then direct reclaim, then sync-light compaction",
            }
        ));
    } else {
        steps.push(
            "direct reclaim and compaction retry until progress stops; the OOM killer may run"
                .into(),
        );
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three nodes; only DMA32 has an order-6 block, on every node.
    const THREE_NODES: &str = "\
Node 0, zone    DMA32 0 0 0 0 0 0 1 0 0 0 0
Node 0, zone   Normal 5 0 0 0 0 0 0 0 0 0 0
Node 1, zone    DMA32 0 0 0 0 0 0 1 0 0 0 0
Node 1, zone   Normal 5 0 0 0 0 0 0 0 0 0 0
Node 2, zone    DMA32 0 0 0 0 0 0 1 0 0 0 0
Node 2, zone   Normal 5 0 0 0 0 0 0 0 0 0 0
";

    #[test]
    fn many_nodes_name_local_zones_and_count_the_others() {
        let capture = crate::capture::buddyinfo::parse("buddyinfo", THREE_NODES).unwrap();
        let a = analyze(&capture, &Options::default()).unwrap();
        assert_eq!(a.verdict.succeeds, Some(false));
        assert_eq!(
            a.verdict.reason,
            "Normal has no free block of order ≥ 6, so the order-6 allocation fails there whatever the watermarks; DMA32 and 2 zones on other nodes have such blocks, but whether its lowmem_reserve lets a Normal request use them is unknown without zoneinfo"
        );
        let order: Vec<(u32, ZoneType)> = zonelist(&a.zones, 0)
            .iter()
            .map(|z| (z.node, z.zone))
            .collect();
        use ZoneType::{Dma32, Normal};
        assert_eq!(
            order,
            [
                (0, Normal),
                (0, Dma32),
                (1, Normal),
                (1, Dma32),
                (2, Normal),
                (2, Dma32)
            ]
        );
        // Another local node: its zones first, then the others by node.
        let order: Vec<u32> = zonelist(&a.zones, 1).iter().map(|z| z.node).collect();
        assert_eq!(order, [1, 1, 0, 0, 2, 2]);
    }

    /// A report's zones, with `lowmem_reserve[]` arrays of `len` entries and `lines` before them.
    fn report(lines: &str, len: usize) -> Capture {
        let reserve = |first: u64| {
            let v: Vec<String> = (0..len)
                .map(|i| if i == 0 { 0 } else { first }.to_string())
                .collect();
            v.join(" ")
        };
        let text = format!(
            "x: page allocation failure: order:2, mode:0xd0\n{lines}\
DMA free:4000kB min:400kB low:500kB high:600kB present:8000kB managed:8000kB\n\
lowmem_reserve[]: {}\n\
Normal free:400kB min:400kB low:500kB high:600kB present:8000kB managed:8000kB\n\
lowmem_reserve[]: {}\n\
DMA: 0*4kB 0*8kB 250*16kB = 4000kB\n\
Normal: 100*4kB 0*8kB 0*16kB = 400kB\n",
            reserve(100),
            reserve(0)
        );
        crate::capture::dmesg::parse("d", &text).unwrap()
    }

    #[test]
    fn reserve_entries_are_placed_by_the_configured_zones() {
        use ZoneType::{Dma, Dma32, Movable, Normal};
        // arm64 4.1 (HiSilicon): DMA, Normal, Movable.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/dmesg_hisilicon_4.1_non_numa.txt"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let c = crate::capture::dmesg::parse("h", &text).unwrap();
        assert_eq!(
            c.failure.as_ref().unwrap().arch,
            Some(crate::capture::Arch::Arm64)
        );
        assert_eq!(configured_zones(&c), Ok(vec![Dma, Normal, Movable]));
        assert_eq!(
            configured_zones(&report("", 3)),
            Ok(vec![Dma, Normal, Movable])
        );
        // Four entries: DMA32 or HighMem or Device is the fourth, and Normal's index differs.
        let e = configured_zones(&report("", 4)).unwrap_err();
        assert!(
            e.starts_with("4 entries with zones DMA, Normal could be"),
            "{e}"
        );
        // x86-64 always has DMA32 and never HighMem; before 4.3 there is no Device zone.
        let x86 = "CPU: 0 PID: 1 Comm: x Not tainted 3.10.0-514.el7.x86_64 #1\n";
        assert_eq!(
            configured_zones(&report(x86, 4)),
            Ok(vec![Dma, Dma32, Normal, Movable])
        );
        let e = configured_zones(&report("", 7)).unwrap_err();
        assert_eq!(
            e,
            "no kernel configuration has 7 zones including DMA, Normal"
        );
    }

    #[test]
    fn an_unplaced_reserve_is_cannot_tell_not_zero() {
        let c = report("", 4);
        let opts = Options {
            kernel: Some(crate::kernel::profile("3.10").unwrap()),
            ..Default::default()
        };
        let a = analyze(&c, &opts).unwrap();
        let dma = &a.zones[0];
        assert_eq!(
            (dma.zone, dma.reserve, dma.fast_path.is_some()),
            (ZoneType::Dma, None, false)
        );
        assert_eq!(a.verdict.succeeds, None);
        assert!(
            a.verdict.reason.contains(
                "the lowmem_reserve DMA keeps for a Normal request is unknown (4 entries with zones DMA, Normal could be"
            ),
            "{}",
            a.verdict.reason
        );
    }
}
