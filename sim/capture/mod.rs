//! Parsers for the text real machines print: /proc/buddyinfo, pagetypeinfo, zoneinfo, slabinfo,
//! vmstat, meminfo, the debugfs extfrag/unusable index files, dmesg page-allocation-failure
//! reports and node_exporter metrics.
//!
//! Every parser fills the same [`Capture`]: one machine's zones keyed by (node, zone), with
//! whatever each file knows. Several files of one machine merge into one capture
//! ([`Capture::merge`]). The engine produces the same types from its state, so the writers here
//! print a simulated node in the kernel's own format and the parsers read it back.
//!
//! The format of a file is recognised from its content ([`detect`]), never from its name.
//! Parsers are lenient about spacing, line prefixes and optional columns, and strict about
//! numbers: a bad count, a missing field, an unknown zone or migrate type gives a
//! [`CaptureError`] with the file, the line and what was expected.

pub mod buddyinfo;
pub mod debugfs_index;
pub mod dmesg;
pub mod meminfo;
pub mod node_exporter;
pub mod pagetypeinfo;
pub mod series;
pub mod slabinfo;
mod text;
pub mod version;
pub mod vmstat;
pub mod zoneinfo;

pub use zoneinfo::ZoneinfoLayout;

use crate::mmzone_types::{MigrateType, Watermarks, ZoneType};
use std::collections::BTreeMap;
use std::fmt;

/// A capture file that cannot be read: `FILE:LINE: message`, where the message says what was
/// expected and what was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CaptureError {
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// The kinds of text [`parse`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Format {
    BuddyInfo,
    PageTypeInfo,
    ZoneInfo,
    SlabInfo,
    /// Kernel log text (dmesg, syslog, journal, or a document quoting one) with a
    /// page-allocation-failure report.
    Dmesg,
    /// Prometheus text exposition with `node_buddyinfo_blocks` samples.
    NodeExporter,
    ExtfragIndex,
    UnusableIndex,
    MemInfo,
    VmStat,
    /// /proc/version: the kernel's banner, for its release.
    Version,
}

impl Format {
    /// What the file is, as a user would name it.
    pub fn name(self) -> &'static str {
        match self {
            Format::BuddyInfo => "/proc/buddyinfo",
            Format::PageTypeInfo => "/proc/pagetypeinfo",
            Format::ZoneInfo => "/proc/zoneinfo",
            Format::SlabInfo => "/proc/slabinfo",
            Format::Dmesg => "page allocation failure report (kernel log)",
            Format::NodeExporter => "node_exporter metrics",
            Format::ExtfragIndex => "extfrag/extfrag_index",
            Format::UnusableIndex => "extfrag/unusable_index",
            Format::MemInfo => "/proc/meminfo",
            Format::VmStat => "/proc/vmstat",
            Format::Version => "/proc/version",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognises a file's format from its content.
///
/// A kernel log is recognised by its `page allocation failure` header wherever it occurs (so a
/// blog post or ticket quoting a report is read as one); the /proc files by their headers and
/// line shapes. The extfrag and unusable index files print the same line shape; they are told
/// apart by the values the kernel can produce at order 0 (`__fragmentation_index()` gives −1.000
/// or 0.000, `unusable_free_index()` gives 0.000 or 1.000), see [`debugfs_index::detect`].
pub fn detect(text: &str) -> Option<Format> {
    let text = without_bom(text);
    if dmesg::find_header(text).is_some() {
        return Some(Format::Dmesg);
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    // A line starting with one of these markers (after indentation) anywhere in the text makes
    // the format; the first format in this list wins.
    let [metric, help, type_] = node_exporter::LINE_MARKERS;
    let markers = [
        ("slabinfo - version:", Format::SlabInfo),
        ("Page block order:", Format::PageTypeInfo),
        ("Free pages count per migrate type", Format::PageTypeInfo),
        ("pages free", Format::ZoneInfo),
        ("per-node stats", Format::ZoneInfo),
        (metric, Format::NodeExporter),
        (help, Format::NodeExporter),
        (type_, Format::NodeExporter),
    ];
    if let Some(format) = first_marked(text, &markers) {
        return Some(format);
    }
    if first.starts_with("MemTotal:") {
        return Some(Format::MemInfo);
    }
    if first.starts_with(version::PREFIX) {
        return Some(Format::Version);
    }
    if text::starts_with_node(first) && first.contains("zone") {
        return Some(debugfs_index::detect(text).unwrap_or(Format::BuddyInfo));
    }
    if vmstat::looks_like(text) {
        return Some(Format::VmStat);
    }
    None
}

/// The first format of `markers` (in list order) whose marker starts some line of `text` after
/// its indentation. One pass over the lines (a line's first byte picks the markers to compare)
/// that stops at the first marked line when no marker of an earlier format occurs anywhere in
/// the text (a substring scan, cheaper than a walk over every line of a large file).
fn first_marked(text: &str, markers: &[(&str, Format)]) -> Option<Format> {
    let marked = |line: &str| {
        let line = text::trim_start(line);
        let first = *line.as_bytes().first()?;
        markers
            .iter()
            .position(|(m, _)| m.as_bytes().first() == Some(&first) && line.starts_with(m))
    };
    let mut lines = text.lines();
    let k = lines.by_ref().find_map(marked)?;
    let format = markers[k].1;
    let mut best = markers.iter().position(|(_, f)| *f == format)?;
    // A marker's first 16 bytes are distinctive enough and keep the substring search on its
    // vectorised path.
    if markers[..best]
        .iter()
        .all(|(m, _)| !text.contains(m.get(..16).unwrap_or(m)))
    {
        return Some(format);
    }
    for k in lines.filter_map(marked) {
        best = best.min(k);
    }
    Some(markers[best].1)
}

/// Text saved by some editors starts with a byte-order mark.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Detects the format of one file and parses it.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    match detect(text) {
        Some(format) => parse_as(format, file, text),
        None => {
            let (line, first) = text
                .lines()
                .enumerate()
                .find(|(_, l)| !l.trim().is_empty())
                .map_or((1, ""), |(i, l)| (i + 1, l.trim()));
            Err(text::Loc::new(file, line).expected(
                "/proc/buddyinfo, pagetypeinfo, zoneinfo, slabinfo, vmstat, meminfo or version, an \
                 extfrag/unusable index, node_exporter metrics or a kernel log with a page \
                 allocation failure report",
                first,
            ))
        }
    }
}

/// Parses one file as the given format (for callers that know better than [`detect`]).
pub fn parse_as(format: Format, file: &str, text: &str) -> Result<Capture, CaptureError> {
    let text = without_bom(text);
    let mut capture = match format {
        Format::BuddyInfo => buddyinfo::parse(file, text),
        Format::PageTypeInfo => pagetypeinfo::parse(file, text),
        Format::ZoneInfo => zoneinfo::parse(file, text),
        Format::SlabInfo => slabinfo::parse(file, text),
        Format::Dmesg => dmesg::parse(file, text),
        Format::NodeExporter => node_exporter::parse(file, text),
        Format::ExtfragIndex => debugfs_index::parse(file, text, debugfs_index::Index::Extfrag),
        Format::UnusableIndex => debugfs_index::parse(file, text, debugfs_index::Index::Unusable),
        Format::MemInfo => meminfo::parse(file, text),
        Format::VmStat => vmstat::parse(file, text),
        Format::Version => version::parse(file, text),
    }?;
    capture.sources = vec![file.to_string()];
    capture.zones.sort_by_key(|z| (z.node, z.zone));
    for z in &capture.zones {
        check_sizes(z, file, text)?;
    }
    Ok(capture)
}

/// Most pages a zone can hold: 2^52 bytes, the physical address space of x86-64 with 5-level
/// paging (MAX_PHYSMEM_BITS 52), in 4 KiB pages.
const MAX_PAGES: u64 = 1 << 40;

/// Refuses a zone whose counts add up to more pages than any machine has (a corrupt or
/// wrapped count such as 2^64 − 1), which would otherwise wrap in the arithmetic after it.
fn check_sizes(z: &ZoneCapture, file: &str, text: &str) -> Result<(), CaptureError> {
    let pages = |blocks: &[u64]| -> Option<u64> {
        blocks.iter().enumerate().try_fold(0u64, |sum, (k, &n)| {
            let p = n.checked_mul(1u64.checked_shl(k as u32)?)?;
            sum.checked_add(p).filter(|&t| t <= MAX_PAGES)
        })
    };
    let mut lists = z
        .free_blocks
        .iter()
        .chain(z.free_by_type.iter().flat_map(|m| m.values()));
    let counters = [z.free_pages, z.spanned, z.present, z.managed];
    let bad =
        lists.any(|b| pages(b).is_none()) || counters.iter().flatten().any(|&n| n > MAX_PAGES);
    if !bad {
        return Ok(());
    }
    let name = z.zone.to_string();
    let line = text
        .lines()
        .position(|l| l.contains(&name) && l.contains(&z.node.to_string()))
        .map_or(1, |i| i + 1);
    Err(CaptureError {
        file: file.to_string(),
        line,
        message: format!(
            "node {} zone {}: its counts add up to more than 2^40 pages (4 PiB, the most a \
             64-bit machine addresses): a corrupt or wrapped count",
            z.node, z.zone
        ),
    })
}

/// Everything read about one machine from one or more files.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Capture {
    /// Zones sorted by (node, zone type).
    pub zones: Vec<ZoneCapture>,
    /// Kernel release when a file names it (dmesg `Not tainted 3.10.0-514.el7.x86_64`).
    pub kernel_release: Option<String>,
    /// The failed request of a dmesg page-allocation-failure report.
    pub failure: Option<FailureReport>,
    /// `Page block order:` of pagetypeinfo.
    pub pageblock_order: Option<u32>,
    /// /proc/slabinfo caches, in file order.
    pub slab_caches: Vec<SlabCache>,
    /// Machine-wide counters, in pages for memory amounts: dmesg `Mem-Info:` items
    /// (`active_anon`, `slab_reclaimable`, `free`, …), zoneinfo per-node stats (summed over
    /// nodes), /proc/vmstat items and /proc/meminfo items (kB converted to pages).
    pub node_stats: BTreeMap<String, u64>,
    /// Problems that do not stop parsing (a per-order sum that disagrees with a printed total).
    pub warnings: Vec<Warning>,
    /// The files this capture was read from, in merge order.
    pub sources: Vec<String>,
}

/// One zone as a capture (or the engine) sees it. `None` means no file said.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ZoneCapture {
    pub node: u32,
    pub zone: ZoneType,
    /// The zone's own free counter: zoneinfo `pages free`, dmesg `free:…kB` / 4.
    pub free_pages: Option<u64>,
    /// Free blocks per order (buddyinfo, the dmesg per-order line, or pagetypeinfo summed).
    pub free_blocks: Option<Vec<u64>>,
    /// `free_blocks` was summed from `free_by_type` (pagetypeinfo), not read from a file that
    /// prints `nr_free` itself; a direct count (buddyinfo, dmesg) replaces it on merge.
    pub free_blocks_summed: bool,
    /// Free blocks per order and migrate type (pagetypeinfo).
    pub free_by_type: Option<BTreeMap<MigrateType, Vec<u64>>>,
    /// Migrate types with a non-empty list at each order (the `(UEM)` letters of dmesg).
    pub types_at_order: Option<Vec<Vec<MigrateType>>>,
    /// Pageblocks per migrate type (pagetypeinfo `Number of blocks type`).
    pub pageblocks: Option<BTreeMap<MigrateType, u64>>,
    /// Pageblocks per migrate type that hold pages of another type (pagetypeinfo `Number of
    /// mixed blocks`, printed with CONFIG_PAGE_OWNER).
    pub mixed_pageblocks: Option<BTreeMap<MigrateType, u64>>,
    /// min/low/high (and promo/boost where printed) in pages, as printed (boosted in 5.x+).
    pub watermarks: Option<Watermarks>,
    pub spanned: Option<u64>,
    pub present: Option<u64>,
    pub managed: Option<u64>,
    /// `lowmem_reserve[]` / zoneinfo `protection: (…)`, one entry per zone index.
    pub protection: Option<Vec<u64>>,
    pub start_pfn: Option<u64>,
    /// The per-cpu page lists, one per online CPU (zoneinfo `pagesets`).
    pub pagesets: Option<Vec<Pageset>>,
    /// extfrag_index per order in thousandths (debugfs extfrag/extfrag_index).
    pub extfrag_index: Option<Vec<i64>>,
    /// unusable_index per order in thousandths (debugfs extfrag/unusable_index).
    pub unusable_index: Option<Vec<i64>>,
    /// Per-zone counters: zoneinfo stat items (`nr_*`, `numa_*`) and header counters it does not
    /// model as fields (`cma`, `scanned`), dmesg zone-line items in pages (`slab_reclaimable`,
    /// `free_pcp`, …; `all_unreclaimable` as 0/1).
    pub stats: BTreeMap<String, u64>,
}

impl ZoneCapture {
    pub fn new(node: u32, zone: ZoneType) -> Self {
        ZoneCapture {
            node,
            zone,
            free_pages: None,
            free_blocks: None,
            free_blocks_summed: false,
            free_by_type: None,
            types_at_order: None,
            pageblocks: None,
            mixed_pageblocks: None,
            watermarks: None,
            spanned: None,
            present: None,
            managed: None,
            protection: None,
            start_pfn: None,
            pagesets: None,
            extfrag_index: None,
            unusable_index: None,
            stats: BTreeMap::new(),
        }
    }
}

/// One CPU's per-cpu page list of a zone as zoneinfo prints it (`zoneinfo_show_print()`):
/// pages on the list, its `high` and `batch` (6.13+ also the zone's `high_min` and
/// `high_max`), and the CPU's vmstat threshold (`vm stats threshold`, printed with CONFIG_SMP).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Pageset {
    pub cpu: u32,
    /// 2.6.16 – 2.6.24 keep a hot (0) and a cold (1) list per CPU (`cpu: 0 pcp: 1`).
    pub list: Option<u8>,
    pub count: u64,
    pub high: u64,
    pub batch: u64,
    /// `high_min` and `high_max` (6.13+ print them; 6.7+ tune `high` between them).
    pub high_min_max: Option<(u64, u64)>,
    pub stat_threshold: Option<u64>,
}

/// The header of a dmesg page-allocation-failure report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FailureReport {
    /// The task that failed (`exe`, `runc:[1:CHILD]`).
    pub comm: String,
    pub order: u32,
    /// `mode:0x…` as a number.
    pub mode: u64,
    /// The decoded flags the kernel printed in parentheses (4.x+), if any.
    pub mode_names: Option<String>,
    /// The architecture the report's lines name, if any.
    pub arch: Option<Arch>,
}

/// An architecture as a failure report shows it: what decides which zones the kernel can have
/// (`enum zone_type`, include/linux/mmzone.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Arch {
    X86_64,
    Arm64,
    /// 32-bit ARM.
    Arm,
}

/// One /proc/slabinfo line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlabCache {
    pub name: String,
    pub active_objs: u64,
    pub num_objs: u64,
    pub objsize: u64,
    pub objperslab: u64,
    pub pagesperslab: u64,
    pub active_slabs: u64,
    pub num_slabs: u64,
}

/// A problem found while reading that does not make the input unusable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub file: String,
    /// 1-based line number; 0 when the warning is about a whole file (a merge conflict).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Where a merge conflict is reported: the two sides' file lists and what the value belongs to.
struct Conflict<'a> {
    first: &'a str,
    second: &'a str,
    file: &'a str,
    scope: Scope,
}

/// What a conflicting value belongs to, printed before its name (formatted only for a warning).
#[derive(Clone, Copy)]
enum Scope {
    Capture,
    NodeStat,
    Zone(u32, ZoneType),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Capture => Ok(()),
            Scope::NodeStat => f.write_str("node stat "),
            Scope::Zone(node, zone) => write!(f, "node {node} zone {zone} "),
        }
    }
}

impl Conflict<'_> {
    /// Keeps `mine` unless it is unknown; warns when both are known and differ.
    fn field<T: PartialEq + fmt::Debug>(
        &self,
        name: &str,
        mine: &mut Option<T>,
        theirs: Option<T>,
        warnings: &mut Vec<Warning>,
    ) {
        match (mine.as_ref(), theirs) {
            (None, t) => *mine = t,
            (Some(m), Some(t)) if *m != t => warnings.push(self.warning(name, m, &t)),
            _ => {}
        }
    }

    fn map<K: Ord + fmt::Display, V: PartialEq + fmt::Debug>(
        &self,
        mine: &mut BTreeMap<K, V>,
        theirs: BTreeMap<K, V>,
        warnings: &mut Vec<Warning>,
    ) {
        for (k, v) in theirs {
            match mine.get(&k) {
                None => {
                    mine.insert(k, v);
                }
                Some(m) if *m != v => warnings.push(self.warning(&k.to_string(), m, &v)),
                Some(_) => {}
            }
        }
    }

    fn warning(&self, name: &str, mine: &dyn fmt::Debug, theirs: &dyn fmt::Debug) -> Warning {
        self.warning_keeping(name, mine, theirs, "keeping the first")
    }

    fn warning_keeping(
        &self,
        name: &str,
        mine: &dyn fmt::Debug,
        theirs: &dyn fmt::Debug,
        keeping: &str,
    ) -> Warning {
        Warning {
            file: self.file.to_string(),
            line: 0,
            message: format!(
                "{}{name}: {} says {mine:?}, {} says {theirs:?}; {keeping}",
                self.scope, self.first, self.second
            ),
        }
    }
}

impl Capture {
    /// The zone (node, zone), if any file described it.
    pub fn zone(&self, node: u32, zone: ZoneType) -> Option<&ZoneCapture> {
        self.zones.iter().find(|z| (z.node, z.zone) == (node, zone))
    }

    /// Combines another file of the same machine into this capture, zone by zone (node + zone).
    /// Where both know a value and they differ, the first is kept and a [`Warning`] names both
    /// files; the one exception is a `free_blocks` summed from pagetypeinfo, which gives way to
    /// a direct count (buddyinfo, dmesg) because pagetypeinfo may cap its cells (6.18 `>100000`).
    /// Files of different machines are refused, and this capture is left as it was: their
    /// kernel releases differ, or a zone's size or place (spanned, present, managed, start_pfn).
    pub fn merge(&mut self, other: Capture) -> Result<(), CaptureError> {
        self.same_machine(&other)?;
        let first = if self.sources.is_empty() {
            "the first capture".to_string()
        } else {
            self.sources.join(", ")
        };
        let second = if other.sources.is_empty() {
            "the second capture".to_string()
        } else {
            other.sources.join(", ")
        };
        let file = other.sources.first().cloned().unwrap_or_default();
        let mut c = Conflict {
            first: &first,
            second: &second,
            file: &file,
            scope: Scope::Capture,
        };
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.extend(other.warnings);
        c.field(
            "kernel release",
            &mut self.kernel_release,
            other.kernel_release,
            &mut warnings,
        );
        c.field(
            "failure report",
            &mut self.failure,
            other.failure,
            &mut warnings,
        );
        c.field(
            "pageblock order",
            &mut self.pageblock_order,
            other.pageblock_order,
            &mut warnings,
        );
        if self.slab_caches.is_empty() {
            self.slab_caches = other.slab_caches;
        } else if !other.slab_caches.is_empty() && self.slab_caches != other.slab_caches {
            warnings.push(Warning {
                file: file.clone(),
                line: 0,
                message: format!(
                    "slabinfo: {first} and {second} list different caches; keeping the first"
                ),
            });
        }
        c.scope = Scope::NodeStat;
        c.map(&mut self.node_stats, other.node_stats, &mut warnings);
        // Both sides sorted by (node, zone) (parsers give them so; a no-op then): each zone of
        // the other capture is found by binary search, new ones are added after the loop.
        let key = |z: &ZoneCapture| (z.node, z.zone);
        self.zones.sort_by_key(key);
        let mut theirs = other.zones;
        theirs.sort_by_key(key);
        let mut added: Vec<ZoneCapture> = Vec::new();
        for z in theirs {
            c.scope = Scope::Zone(z.node, z.zone);
            let mine = match self.zones.binary_search_by_key(&key(&z), key) {
                Ok(i) => Some(&mut self.zones[i]),
                Err(_) => added.last_mut().filter(|a| key(a) == key(&z)),
            };
            match mine {
                Some(m) => m.merge_from(z, &c, &mut warnings),
                None => added.push(z),
            }
        }
        if !added.is_empty() {
            self.zones.extend(added);
            self.zones.sort_by_key(key);
        }
        self.warnings = warnings;
        self.sources.extend(other.sources);
        Ok(())
    }

    /// Err when `other` describes another machine than this capture: another kernel release,
    /// or a zone of another size or place.
    fn same_machine(&self, other: &Capture) -> Result<(), CaptureError> {
        let names = |c: &Capture| match c.sources.as_slice() {
            [] => "the capture".to_string(),
            s => s.join(", "),
        };
        let refuse = |what: String| CaptureError {
            file: other.sources.first().cloned().unwrap_or_default(),
            line: 1,
            message: format!(
                "not the machine of {}: {what}; analyze each machine's files on their own",
                names(self)
            ),
        };
        if let (Some(a), Some(b)) = (&self.kernel_release, &other.kernel_release) {
            if a != b {
                return Err(refuse(format!("kernel {b}, not {a}")));
            }
        }
        for theirs in &other.zones {
            let Some(mine) = self.zone(theirs.node, theirs.zone) else {
                continue;
            };
            for (name, a, b) in [
                ("spanned", mine.spanned, theirs.spanned),
                ("present", mine.present, theirs.present),
                ("managed", mine.managed, theirs.managed),
                ("start_pfn", mine.start_pfn, theirs.start_pfn),
            ] {
                if let (Some(a), Some(b)) = (a, b) {
                    if a != b {
                        return Err(refuse(format!(
                            "node {} zone {} {name} {b}, not {a}",
                            theirs.node, theirs.zone
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl ZoneCapture {
    fn merge_from(&mut self, o: ZoneCapture, c: &Conflict, w: &mut Vec<Warning>) {
        c.field("pages free", &mut self.free_pages, o.free_pages, w);
        if self.free_blocks_summed && !o.free_blocks_summed && o.free_blocks.is_some() {
            if let (Some(m), Some(t)) = (&self.free_blocks, &o.free_blocks) {
                if m != t {
                    w.push(c.warning_keeping(
                        "free blocks per order",
                        m,
                        t,
                        "keeping the second: a direct count beats the pagetypeinfo sum",
                    ));
                }
            }
            self.free_blocks = o.free_blocks;
            self.free_blocks_summed = false;
        } else {
            let was_none = self.free_blocks.is_none();
            c.field(
                "free blocks per order",
                &mut self.free_blocks,
                o.free_blocks,
                w,
            );
            if was_none {
                self.free_blocks_summed = o.free_blocks_summed;
            }
        }
        c.field(
            "free blocks per type",
            &mut self.free_by_type,
            o.free_by_type,
            w,
        );
        c.field(
            "migrate types per order",
            &mut self.types_at_order,
            o.types_at_order,
            w,
        );
        c.field("pageblocks per type", &mut self.pageblocks, o.pageblocks, w);
        c.field(
            "mixed pageblocks per type",
            &mut self.mixed_pageblocks,
            o.mixed_pageblocks,
            w,
        );
        c.field("watermarks", &mut self.watermarks, o.watermarks, w);
        c.field("spanned", &mut self.spanned, o.spanned, w);
        c.field("present", &mut self.present, o.present, w);
        c.field("managed", &mut self.managed, o.managed, w);
        c.field("protection", &mut self.protection, o.protection, w);
        c.field("start_pfn", &mut self.start_pfn, o.start_pfn, w);
        c.field("pagesets", &mut self.pagesets, o.pagesets, w);
        c.field("extfrag_index", &mut self.extfrag_index, o.extfrag_index, w);
        c.field(
            "unusable_index",
            &mut self.unusable_index,
            o.unusable_index,
            w,
        );
        c.map(&mut self.stats, o.stats, w);
    }
}

/// Collects zones keyed by (node, zone), rejecting a zone printed twice in one file.
#[derive(Default)]
struct Zones {
    /// Sorted by (node, zone). Files print zones in that order, so a new zone is usually
    /// appended; others are found or placed by binary search.
    zones: Vec<ZoneCapture>,
    /// Number of orders of the first per-order line.
    orders: Option<usize>,
}

impl Zones {
    /// Room for `n` zones (one per line of a buddyinfo).
    fn with_capacity(n: usize) -> Self {
        Zones {
            zones: Vec::with_capacity(n),
            orders: None,
        }
    }

    /// Where (node, zone) is (`Ok`) or would go (`Err`).
    fn find(&self, node: u32, zone: ZoneType) -> Result<usize, usize> {
        let key = (node, zone);
        match self.zones.last() {
            None => Err(0),
            Some(l) if (l.node, l.zone) < key => Err(self.zones.len()),
            Some(l) if (l.node, l.zone) == key => Ok(self.zones.len() - 1),
            Some(_) => self.zones.binary_search_by_key(&key, |z| (z.node, z.zone)),
        }
    }

    /// The zone (node, zone), created if new.
    fn entry(&mut self, node: u32, zone: ZoneType) -> &mut ZoneCapture {
        let i = match self.find(node, zone) {
            Ok(i) => i,
            Err(i) => {
                self.zones.insert(i, ZoneCapture::new(node, zone));
                i
            }
        };
        &mut self.zones[i]
    }

    /// A new zone; an error if this file already had it.
    fn insert_new(
        &mut self,
        loc: &text::Loc,
        node: u32,
        zone: ZoneType,
    ) -> Result<&mut ZoneCapture, CaptureError> {
        match self.find(node, zone) {
            Ok(_) => Err(loc.err(format!(
                "node {node} zone {zone} appears twice (expected each zone once)"
            ))),
            Err(i) => {
                self.zones.insert(i, ZoneCapture::new(node, zone));
                Ok(&mut self.zones[i])
            }
        }
    }

    /// Checks that a per-order line has as many orders as the previous ones: the kernel prints
    /// one column per order for every zone.
    fn check_orders(&mut self, loc: &text::Loc, n: usize, what: &str) -> Result<(), CaptureError> {
        match self.orders {
            Some(p) if p != n => Err(loc.err(format!(
                "mismatch in number of {what} buckets: previous count {p}, new count {n}"
            ))),
            _ => {
                self.orders = Some(n);
                Ok(())
            }
        }
    }

    fn into_vec(self) -> Vec<ZoneCapture> {
        self.zones
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_gives_the_earlier_format_wherever_its_line_is() {
        let zoneinfo = "Node 0, zone DMA\n  pages free 1\n  min 1\n  low 2\n  high 3\n";
        assert_eq!(detect(zoneinfo), Some(Format::ZoneInfo));
        // A pagetypeinfo header after zoneinfo-looking lines still makes it pagetypeinfo, and a
        // slabinfo header beats both; a marker inside a line (not at its start) does not count.
        let t = format!("{zoneinfo}\tPage block order: 9\n");
        assert_eq!(detect(&t), Some(Format::PageTypeInfo));
        let t = format!("{zoneinfo}Page block order: 9\n slabinfo - version: 2.1\n");
        assert_eq!(detect(&t), Some(Format::SlabInfo));
        let t = format!("{zoneinfo}x Page block order: 9\n");
        assert_eq!(detect(&t), Some(Format::ZoneInfo));
        let t = "# TYPE node_buddyinfo_blocks gauge\nper-node stats\n";
        assert_eq!(detect(t), Some(Format::ZoneInfo));
        assert_eq!(
            detect("Node 0, zone DMA 1 2\n\u{a0}# HELP x\n"),
            Some(Format::NodeExporter)
        );
    }

    #[test]
    fn counts_beyond_any_machine_are_refused() {
        let wrapped = "Node 0, zone DMA 1 2\nNode 0, zone Normal 18446744073709551615 2\n";
        let e = parse("b", wrapped).unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:2: node 0 zone Normal: its counts add up to more than 2^40 pages (4 PiB, the most \
             a 64-bit machine addresses): a corrupt or wrapped count"
        );
        // 2^30 order-10 blocks are 2^40 pages: the most allowed.
        assert!(parse("b", "Node 0, zone Normal 0 0 0 0 0 0 0 0 0 0 1073741824\n").is_ok());
        assert!(parse("b", "Node 0, zone Normal 0 0 0 0 0 0 0 0 0 0 1073741825\n").is_err());
    }

    #[test]
    fn merge_refuses_another_kernel_and_keeps_the_capture() {
        let mut a = parse("a", "Node 0, zone DMA 1 2\n").unwrap();
        a.kernel_release = Some("3.10.0-514.el7.x86_64".into());
        let before = a.clone();
        let mut b = parse("b", "Node 0, zone DMA 1 2\n").unwrap();
        b.kernel_release = Some("5.15.0-91-generic".into());
        let e = a.merge(b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:1: not the machine of a: kernel 5.15.0-91-generic, not 3.10.0-514.el7.x86_64; \
             analyze each machine's files on their own"
        );
        assert_eq!(a, before);
    }

    #[test]
    fn merge_adds_new_zones_in_order_and_warns_on_conflicts() {
        let mut a = parse("a", "Node 0, zone DMA 1 2\nNode 1, zone Normal 3 4\n").unwrap();
        let b = parse(
            "b",
            "Node 0, zone DMA 1 5\nNode 0, zone Normal 7 8\nNode 2, zone DMA 0 0\n",
        )
        .unwrap();
        a.merge(b).unwrap();
        let keys: Vec<(u32, ZoneType)> = a.zones.iter().map(|z| (z.node, z.zone)).collect();
        assert_eq!(
            keys,
            [
                (0, ZoneType::Dma),
                (0, ZoneType::Normal),
                (1, ZoneType::Normal),
                (2, ZoneType::Dma)
            ]
        );
        assert_eq!(a.zones[0].free_blocks, Some(vec![1, 2]));
        assert_eq!(a.warnings.len(), 1);
        assert_eq!(
            a.warnings[0].to_string(),
            "b:0: node 0 zone DMA free blocks per order: a says [1, 2], b says [1, 5]; keeping the first"
        );
    }
}
