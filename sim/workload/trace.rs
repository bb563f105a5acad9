//! Workload traces: the line-based operation files that both the real-kernel harness
//! (tests/kernel/helper/bsh.c, run inside a Debian kernel under qemu) and the simulator replay.
//!
//! A trace is a list of operations, one a line, `#` starting a comment:
//!
//! ```text
//! mark boot                                   # snapshot buddyinfo, pagetypeinfo, zoneinfo, vmstat
//! alloc fill unmovable 0 80%                  # kernel pages: GFP_KERNEL, order 0, 80% of managed
//! free fill every-other                       # release entries 1, 3, 5, ...
//! try big 9 30% GFP_KERNEL|__GFP_NORETRY|__GFP_NOWARN
//! compact
//! mark compacted
//! ```
//!
//! The grammar, the meaning of every operation and what the harness does for it are in
//! tests/kernel/README.md. This parser is the reference: the harness runs only traces it
//! accepts (a test parses every file under tests/kernel/traces/), and its errors name the
//! file, the line and what was expected. [`FreeSelection::picks`] reproduces bit for bit which
//! entries the harness frees (tests/kernel/common/select.h), and [`Amount::resolve`] how it
//! turns a percentage into a count, so the simulator replays exactly what the kernel saw.

use std::collections::BTreeMap;
use std::fmt;

use crate::mm::mmzone::MigrateType;

/// The largest order a trace may request: `MAX_ORDER - 1` of the harness kernel (6.1, x86-64).
pub const TRACE_MAX_ORDER: u32 = 10;
/// Longest group name (the module keeps names in 32-byte buffers).
const MAX_GROUP_LEN: usize = 31;
/// Longest mark name (it becomes a directory name `NN-NAME`).
const MAX_MARK_LEN: usize = 40;
/// Longest `hold`, in seconds.
const MAX_HOLD_SECONDS: u32 = 3600;

/// A parse error: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TraceError {
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// A parsed trace: its operations in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub ops: Vec<TraceLine>,
}

/// One operation and the line it came from (the harness's counts file is keyed by line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// 1-based line number in the trace file.
    pub line: usize,
    pub op: Op,
}

/// One trace operation. What each does in the kernel: tests/kernel/README.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Drain the per-cpu lists and snapshot /proc/{buddyinfo,pagetypeinfo,zoneinfo,vmstat}.
    Mark { name: String },
    /// Kernel allocations of `count` blocks of `order`, stopping at the first failure.
    Alloc {
        group: String,
        kind: AllocKind,
        order: u32,
        count: Amount,
    },
    /// `count` attempts at `order` with the given GFP flags (all attempted, failures counted).
    Try {
        group: String,
        order: u32,
        count: Amount,
        gfp: Vec<GfpFlag>,
    },
    /// Anonymous user memory, touched page by page (movable, on the LRU, THP off).
    Anon { group: String, pages: Amount },
    /// Page cache: a new file of `pages` pages on the guest's ext2 disk, written and fsynced.
    File { group: String, pages: Amount },
    /// Release the entries of a group chosen by `selection`.
    Free {
        group: String,
        selection: FreeSelection,
    },
    /// Sleep (kswapd, kcompactd and proactive compaction may run meanwhile).
    Hold { seconds: u32 },
    /// `echo 1 > /proc/sys/vm/compact_memory`.
    Compact,
    /// `sync; echo N > /proc/sys/vm/drop_caches` (1 page cache, 2 slab, 3 both).
    DropCaches { what: u8 },
    /// `echo VALUE > /proc/sys/vm/NAME`.
    Sysctl { name: VmSysctl, value: u64 },
}

/// What an `alloc` line allocates, and with which GFP flags the module asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocKind {
    Unmovable,
    Reclaimable,
    Movable,
}

impl AllocKind {
    const ALL: [AllocKind; 3] = [
        AllocKind::Unmovable,
        AllocKind::Reclaimable,
        AllocKind::Movable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AllocKind::Unmovable => "unmovable",
            AllocKind::Reclaimable => "reclaimable",
            AllocKind::Movable => "movable",
        }
    }

    /// The GFP flags the harness module uses for this kind.
    pub fn gfp(self) -> &'static [GfpFlag] {
        match self {
            AllocKind::Unmovable => &[GfpFlag::GfpKernel],
            AllocKind::Reclaimable => &[GfpFlag::GfpKernel, GfpFlag::Reclaimable],
            AllocKind::Movable => &[GfpFlag::GfpHighuserMovable],
        }
    }

    /// The migrate type `gfp_migratetype()` gives those flags.
    pub fn migrate_type(self) -> MigrateType {
        match self {
            AllocKind::Unmovable => MigrateType::Unmovable,
            AllocKind::Reclaimable => MigrateType::Reclaimable,
            AllocKind::Movable => MigrateType::Movable,
        }
    }
}

/// A number of blocks (or pages), given directly or as a share of memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amount {
    /// A plain count, at least 1.
    Count(u64),
    /// A share of the managed pages of all zones, in basis points (1..=10000; `12.5%` is 1250).
    Percent(u32),
}

impl Amount {
    /// The count the harness uses: a percentage is taken of `managed_pages` (the sum of the
    /// `managed` lines of /proc/zoneinfo when the trace starts) and turned into blocks of
    /// `order`, rounding down: `managed * bp / 10000 >> order`.
    pub fn resolve(self, managed_pages: u64, order: u32) -> u64 {
        match self {
            Amount::Count(n) => n,
            Amount::Percent(bp) => {
                let pages = u128::from(managed_pages) * u128::from(bp) / 10_000;
                u64::try_from(pages >> order).unwrap_or(u64::MAX)
            }
        }
    }
}

/// Which entries of a group a `free` releases (tests/kernel/common/select.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeSelection {
    /// Every entry.
    All,
    /// Entries 1, 3, 5, ... in group order; 0, 2, 4, ... stay held.
    EveryOther,
    /// Entry i is freed iff the i-th SplitMix64 output from `seed`, modulo 1 000 000, is below
    /// `ppm`.
    Random { ppm: u32, seed: u64 },
}

impl FreeSelection {
    /// For the entries of a group in order (survivors of earlier frees renumbered from 0),
    /// whether each is freed. The iterator is endless; take as many as the group holds.
    pub fn picks(self) -> Picks {
        let state = match self {
            FreeSelection::Random { seed, .. } => seed,
            _ => 0,
        };
        Picks {
            selection: self,
            state,
            index: 0,
        }
    }
}

/// Iterator of [`FreeSelection::picks`].
#[derive(Clone, Debug)]
pub struct Picks {
    selection: FreeSelection,
    state: u64,
    index: u64,
}

impl Iterator for Picks {
    type Item = bool;

    fn next(&mut self) -> Option<bool> {
        let i = self.index;
        self.index = self.index.wrapping_add(1);
        Some(match self.selection {
            FreeSelection::All => true,
            FreeSelection::EveryOther => i & 1 == 1,
            FreeSelection::Random { ppm, .. } => {
                splitmix64(&mut self.state) % 1_000_000 < u64::from(ppm)
            }
        })
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), as in select.h.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `vm.*` sysctls a trace may set, with the ranges the 6.1 kernel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmSysctl {
    MinFreeKbytes,
    ExtfragThreshold,
    WatermarkScaleFactor,
    CompactionProactiveness,
}

impl VmSysctl {
    const ALL: [VmSysctl; 4] = [
        VmSysctl::MinFreeKbytes,
        VmSysctl::ExtfragThreshold,
        VmSysctl::WatermarkScaleFactor,
        VmSysctl::CompactionProactiveness,
    ];

    /// The name after `vm.`.
    pub fn name(self) -> &'static str {
        match self {
            VmSysctl::MinFreeKbytes => "min_free_kbytes",
            VmSysctl::ExtfragThreshold => "extfrag_threshold",
            VmSysctl::WatermarkScaleFactor => "watermark_scale_factor",
            VmSysctl::CompactionProactiveness => "compaction_proactiveness",
        }
    }

    /// Accepted values (kernel/sysctl.c and mm/ tables of 6.1).
    pub fn range(self) -> std::ops::RangeInclusive<u64> {
        match self {
            VmSysctl::MinFreeKbytes => 0..=i32::MAX as u64,
            VmSysctl::ExtfragThreshold => 0..=1000,
            VmSysctl::WatermarkScaleFactor => 1..=3000,
            VmSysctl::CompactionProactiveness => 0..=100,
        }
    }
}

/// A GFP flag name a `try` line may use; the harness module maps each to the kernel's own value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GfpFlag {
    GfpKernel,
    GfpAtomic,
    GfpNowait,
    GfpNoio,
    GfpNofs,
    GfpUser,
    GfpHighuser,
    GfpHighuserMovable,
    GfpTranshugeLight,
    GfpTranshuge,
    Noretry,
    Nowarn,
    RetryMayfail,
    Reclaimable,
    Movable,
    High,
    Nomemalloc,
    DirectReclaim,
    KswapdReclaim,
    Io,
    Fs,
    Zero,
    Comp,
    Thisnode,
    Account,
}

impl GfpFlag {
    /// Every flag with its name as include/linux/gfp.h spells it (the module's table).
    const NAMES: [(GfpFlag, &'static str); 25] = [
        (GfpFlag::GfpKernel, "GFP_KERNEL"),
        (GfpFlag::GfpAtomic, "GFP_ATOMIC"),
        (GfpFlag::GfpNowait, "GFP_NOWAIT"),
        (GfpFlag::GfpNoio, "GFP_NOIO"),
        (GfpFlag::GfpNofs, "GFP_NOFS"),
        (GfpFlag::GfpUser, "GFP_USER"),
        (GfpFlag::GfpHighuser, "GFP_HIGHUSER"),
        (GfpFlag::GfpHighuserMovable, "GFP_HIGHUSER_MOVABLE"),
        (GfpFlag::GfpTranshugeLight, "GFP_TRANSHUGE_LIGHT"),
        (GfpFlag::GfpTranshuge, "GFP_TRANSHUGE"),
        (GfpFlag::Noretry, "__GFP_NORETRY"),
        (GfpFlag::Nowarn, "__GFP_NOWARN"),
        (GfpFlag::RetryMayfail, "__GFP_RETRY_MAYFAIL"),
        (GfpFlag::Reclaimable, "__GFP_RECLAIMABLE"),
        (GfpFlag::Movable, "__GFP_MOVABLE"),
        (GfpFlag::High, "__GFP_HIGH"),
        (GfpFlag::Nomemalloc, "__GFP_NOMEMALLOC"),
        (GfpFlag::DirectReclaim, "__GFP_DIRECT_RECLAIM"),
        (GfpFlag::KswapdReclaim, "__GFP_KSWAPD_RECLAIM"),
        (GfpFlag::Io, "__GFP_IO"),
        (GfpFlag::Fs, "__GFP_FS"),
        (GfpFlag::Zero, "__GFP_ZERO"),
        (GfpFlag::Comp, "__GFP_COMP"),
        (GfpFlag::Thisnode, "__GFP_THISNODE"),
        (GfpFlag::Account, "__GFP_ACCOUNT"),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("?", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<GfpFlag> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
    }
}

/// Which kind of memory a group holds; a group never mixes kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// Pages from the harness module (`alloc`, `try`).
    Kernel,
    /// Anonymous user pages (`anon`).
    Anon,
    /// Page-cache pages (`file`).
    File,
}

impl GroupKind {
    fn describe(self) -> &'static str {
        match self {
            GroupKind::Kernel => "kernel pages (alloc/try)",
            GroupKind::Anon => "anonymous memory (anon)",
            GroupKind::File => "page cache (file)",
        }
    }
}

impl Op {
    /// The group an operation adds to, with the kind it holds.
    pub fn adds_to(&self) -> Option<(&str, GroupKind)> {
        match self {
            Op::Alloc { group, .. } | Op::Try { group, .. } => Some((group, GroupKind::Kernel)),
            Op::Anon { group, .. } => Some((group, GroupKind::Anon)),
            Op::File { group, .. } => Some((group, GroupKind::File)),
            _ => None,
        }
    }
}

impl Trace {
    /// The output directory name of each mark, in order: `NN-NAME` with NN from 00.
    pub fn mark_dirs(&self) -> Vec<String> {
        self.ops
            .iter()
            .filter_map(|l| match &l.op {
                Op::Mark { name } => Some(name),
                _ => None,
            })
            .enumerate()
            .map(|(i, name)| format!("{i:02}-{name}"))
            .collect()
    }
}

/// Parses a trace. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Trace, TraceError> {
    let err = |line: usize, message: String| TraceError {
        file: file.to_string(),
        line,
        message,
    };
    let mut ops: Vec<TraceLine> = Vec::new();
    let mut groups: BTreeMap<String, (GroupKind, usize)> = BTreeMap::new();
    let mut marks: BTreeMap<String, usize> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split_once('#').map_or(raw, |(before, _)| before);
        let words: Vec<&str> = content
            .split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        let op = parse_op(&words).map_err(|m| err(line, m))?;
        if ops.is_empty() && !matches!(op, Op::Mark { .. }) {
            return Err(err(
                line,
                "expected `mark NAME` as the first operation (the snapshot right after boot \
                 is where the simulator starts)"
                    .to_string(),
            ));
        }
        match &op {
            Op::Mark { name } => {
                if let Some(first) = marks.insert(name.clone(), line) {
                    return Err(err(
                        line,
                        format!("mark `{name}` already used on line {first}; expected a new name"),
                    ));
                }
            }
            Op::Free { group, .. } if !groups.contains_key(group) => {
                return Err(err(
                    line,
                    format!("free of unknown group `{group}`: expected a group filled by an earlier line"),
                ));
            }
            _ => {}
        }
        if let Some((group, kind)) = op.adds_to() {
            match groups.get(group) {
                Some(&(had, first)) if had != kind => {
                    return Err(err(
                        line,
                        format!(
                            "group `{group}` holds {} since line {first}; expected a new group name for {}",
                            had.describe(),
                            kind.describe()
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    groups.insert(group.to_string(), (kind, line));
                }
            }
        }
        ops.push(TraceLine { line, op });
    }
    if ops.is_empty() {
        return Err(err(
            1,
            "expected at least one operation (the trace is empty)".to_string(),
        ));
    }
    Ok(Trace { ops })
}

fn expect_words(words: &[&str], n: usize, usage: &str) -> Result<(), String> {
    if words.len() == n {
        Ok(())
    } else {
        Err(format!(
            "expected `{usage}` ({n} words), found {} words",
            words.len()
        ))
    }
}

fn parse_op(words: &[&str]) -> Result<Op, String> {
    let op = words[0];
    match op {
        "mark" => {
            expect_words(words, 2, "mark NAME")?;
            Ok(Op::Mark {
                name: parse_mark_name(words[1])?,
            })
        }
        "alloc" => {
            expect_words(
                words,
                5,
                "alloc GROUP unmovable|reclaimable|movable ORDER COUNT",
            )?;
            let kind = AllocKind::ALL
                .into_iter()
                .find(|k| k.name() == words[2])
                .ok_or_else(|| {
                    format!(
                        "expected unmovable, reclaimable or movable, found `{}`",
                        words[2]
                    )
                })?;
            Ok(Op::Alloc {
                group: parse_group(words[1])?,
                kind,
                order: parse_order(words[3])?,
                count: parse_amount(words[4], "COUNT")?,
            })
        }
        "try" => {
            expect_words(words, 5, "try GROUP ORDER COUNT GFP")?;
            Ok(Op::Try {
                group: parse_group(words[1])?,
                order: parse_order(words[2])?,
                count: parse_amount(words[3], "COUNT")?,
                gfp: parse_gfp(words[4])?,
            })
        }
        "anon" => {
            expect_words(words, 3, "anon GROUP PAGES")?;
            Ok(Op::Anon {
                group: parse_group(words[1])?,
                pages: parse_amount(words[2], "PAGES")?,
            })
        }
        "file" => {
            expect_words(words, 3, "file GROUP PAGES")?;
            Ok(Op::File {
                group: parse_group(words[1])?,
                pages: parse_amount(words[2], "PAGES")?,
            })
        }
        "free" => {
            const USAGE: &str = "free GROUP all|every-other|random SHARE SEED";
            let selection = match words.get(2).copied() {
                Some("all") => {
                    expect_words(words, 3, "free GROUP all")?;
                    FreeSelection::All
                }
                Some("every-other") => {
                    expect_words(words, 3, "free GROUP every-other")?;
                    FreeSelection::EveryOther
                }
                Some("random") => {
                    expect_words(words, 5, "free GROUP random SHARE SEED")?;
                    FreeSelection::Random {
                        ppm: parse_share(words[3])?,
                        seed: parse_u64(words[4], "SEED")?,
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "expected all, every-other or random, found `{other}` (`{USAGE}`)"
                    ))
                }
                None => return Err(format!("expected `{USAGE}`")),
            };
            Ok(Op::Free {
                group: parse_group(words[1])?,
                selection,
            })
        }
        "hold" => {
            expect_words(words, 2, "hold SECONDS")?;
            let seconds = parse_u64(words[1], "SECONDS")?;
            if seconds > u64::from(MAX_HOLD_SECONDS) {
                return Err(format!(
                    "expected SECONDS at most {MAX_HOLD_SECONDS}, found {seconds}"
                ));
            }
            Ok(Op::Hold {
                seconds: u32::try_from(seconds).map_err(|e| e.to_string())?,
            })
        }
        "compact" => {
            expect_words(words, 1, "compact")?;
            Ok(Op::Compact)
        }
        "drop_caches" => {
            expect_words(words, 2, "drop_caches 1|2|3")?;
            match words[1] {
                "1" => Ok(Op::DropCaches { what: 1 }),
                "2" => Ok(Op::DropCaches { what: 2 }),
                "3" => Ok(Op::DropCaches { what: 3 }),
                other => Err(format!("expected 1, 2 or 3, found `{other}`")),
            }
        }
        "sysctl" => {
            expect_words(words, 3, "sysctl vm.NAME VALUE")?;
            let name = words[1]
                .strip_prefix("vm.")
                .and_then(|n| VmSysctl::ALL.into_iter().find(|s| s.name() == n))
                .ok_or_else(|| {
                    format!(
                        "expected vm.min_free_kbytes, vm.extfrag_threshold, \
                         vm.watermark_scale_factor or vm.compaction_proactiveness, found `{}`",
                        words[1]
                    )
                })?;
            let value = parse_u64(words[2], "VALUE")?;
            let range = name.range();
            if !range.contains(&value) {
                return Err(format!(
                    "expected vm.{} in {}..={}, found {value}",
                    name.name(),
                    range.start(),
                    range.end()
                ));
            }
            Ok(Op::Sysctl { name, value })
        }
        other => Err(format!(
            "expected an operation (mark, alloc, try, anon, file, free, hold, compact, \
             drop_caches, sysctl), found `{other}`"
        )),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn parse_mark_name(word: &str) -> Result<String, String> {
    let ok = word.len() <= MAX_MARK_LEN
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(word.to_string())
    } else {
        Err(format!(
            "expected a mark NAME of at most {MAX_MARK_LEN} characters a-z, 0-9, `_` or `-`, found `{word}`"
        ))
    }
}

fn parse_group(word: &str) -> Result<String, String> {
    if word.len() <= MAX_GROUP_LEN && word.chars().all(is_name_char) {
        Ok(word.to_string())
    } else {
        Err(format!(
            "expected a GROUP name of at most {MAX_GROUP_LEN} characters A-Z, a-z, 0-9, `_` or `-`, found `{word}`"
        ))
    }
}

fn parse_u64(word: &str, what: &str) -> Result<u64, String> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected {what} (a non-negative integer), found `{word}`"
        ));
    }
    word.parse::<u64>()
        .map_err(|_| format!("expected {what} below 2^64, found `{word}`"))
}

fn parse_order(word: &str) -> Result<u32, String> {
    match parse_u64(word, "ORDER") {
        Ok(order) if order <= u64::from(TRACE_MAX_ORDER) => Ok(order as u32),
        _ => Err(format!(
            "expected ORDER in 0..={TRACE_MAX_ORDER}, found `{word}`"
        )),
    }
}

/// A decimal `INT[.FRAC]` with at most `decimals` fraction digits, scaled by 10^decimals.
fn parse_fixed(text: &str, decimals: u32) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 7 || !digits(int) || !digits(frac) {
        return None;
    }
    if frac.len() > decimals as usize || (text.contains('.') && frac.is_empty()) {
        return None;
    }
    let scale = 10u64.pow(decimals - frac.len() as u32);
    let whole = int.parse::<u64>().ok()? * 10u64.pow(decimals);
    let part = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * scale
    };
    Some(whole + part)
}

fn parse_amount(word: &str, what: &str) -> Result<Amount, String> {
    if let Some(number) = word.strip_suffix('%') {
        return match parse_fixed(number, 2) {
            Some(bp @ 1..=10_000) => Ok(Amount::Percent(bp as u32)),
            _ => Err(format!(
                "expected {what} as a share of memory above 0% and at most 100% with up to 2 decimals, found `{word}`"
            )),
        };
    }
    match parse_u64(word, what) {
        Ok(0) => Err(format!("expected {what} of at least 1, found `{word}`")),
        Ok(n) => Ok(Amount::Count(n)),
        Err(_) => Err(format!(
            "expected {what} as an integer or a percentage of memory (e.g. 80%), found `{word}`"
        )),
    }
}

fn parse_share(word: &str) -> Result<u32, String> {
    match parse_fixed(word, 6) {
        Some(ppm @ 0..=1_000_000) => Ok(ppm as u32),
        _ => Err(format!(
            "expected SHARE between 0 and 1 with up to 6 decimals, found `{word}`"
        )),
    }
}

fn parse_gfp(word: &str) -> Result<Vec<GfpFlag>, String> {
    word.split('|')
        .map(|name| {
            GfpFlag::from_name(name).ok_or_else(|| {
                format!(
                    "expected GFP flag names joined by `|` (e.g. GFP_KERNEL|__GFP_NORETRY), found `{name}` in `{word}`"
                )
            })
        })
        .collect()
}

/// Writes a fixed-point number with `decimals` implied decimals, without trailing zeros.
fn write_fixed(f: &mut fmt::Formatter<'_>, value: u64, decimals: u32) -> fmt::Result {
    let scale = 10u64.pow(decimals);
    let (int, frac) = (value / scale, value % scale);
    if frac == 0 {
        return write!(f, "{int}");
    }
    let digits = format!("{frac:0width$}", width = decimals as usize);
    write!(f, "{int}.{}", digits.trim_end_matches('0'))
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Amount::Count(n) => write!(f, "{n}"),
            Amount::Percent(bp) => {
                write_fixed(f, u64::from(bp), 2)?;
                f.write_str("%")
            }
        }
    }
}

/// The canonical text of an operation; `parse` reads it back to the same `Op`.
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Mark { name } => write!(f, "mark {name}"),
            Op::Alloc {
                group,
                kind,
                order,
                count,
            } => write!(f, "alloc {group} {} {order} {count}", kind.name()),
            Op::Try {
                group,
                order,
                count,
                gfp,
            } => {
                write!(f, "try {group} {order} {count} ")?;
                for (i, flag) in gfp.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    f.write_str(flag.name())?;
                }
                Ok(())
            }
            Op::Anon { group, pages } => write!(f, "anon {group} {pages}"),
            Op::File { group, pages } => write!(f, "file {group} {pages}"),
            Op::Free { group, selection } => match selection {
                FreeSelection::All => write!(f, "free {group} all"),
                FreeSelection::EveryOther => write!(f, "free {group} every-other"),
                FreeSelection::Random { ppm, seed } => {
                    write!(f, "free {group} random ")?;
                    write_fixed(f, u64::from(*ppm), 6)?;
                    write!(f, " {seed}")
                }
            },
            Op::Hold { seconds } => write!(f, "hold {seconds}"),
            Op::Compact => f.write_str("compact"),
            Op::DropCaches { what } => write!(f, "drop_caches {what}"),
            Op::Sysctl { name, value } => write!(f, "sysctl vm.{} {value}", name.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMOKE: &str = "\
# every operation once
mark boot
alloc u unmovable 0 1000   # a comment after an operation
try big 10 4 GFP_KERNEL|__GFP_NORETRY|__GFP_NOWARN
anon a 12.5%
file f 2000
mark filled
free u every-other
free a random 0.5 7
free f all
hold 2
compact
drop_caches 3
sysctl vm.extfrag_threshold 500
\tmark   end\r
";

    fn ops(text: &str) -> Vec<Op> {
        match parse("t.trace", text) {
            Ok(trace) => trace.ops.into_iter().map(|l| l.op).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> TraceError {
        match parse("t.trace", text) {
            Ok(trace) => panic!("accepted: {trace:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_every_operation_with_its_line() {
        let trace = parse("smoke.trace", SMOKE).expect("smoke trace parses");
        let lines: Vec<usize> = trace.ops.iter().map(|l| l.line).collect();
        assert_eq!(lines, (2..=15).collect::<Vec<_>>());
        assert_eq!(
            trace.ops[1].op,
            Op::Alloc {
                group: "u".into(),
                kind: AllocKind::Unmovable,
                order: 0,
                count: Amount::Count(1000)
            }
        );
        assert_eq!(
            trace.ops[2].op,
            Op::Try {
                group: "big".into(),
                order: 10,
                count: Amount::Count(4),
                gfp: vec![GfpFlag::GfpKernel, GfpFlag::Noretry, GfpFlag::Nowarn]
            }
        );
        assert_eq!(
            trace.ops[3].op,
            Op::Anon {
                group: "a".into(),
                pages: Amount::Percent(1250)
            }
        );
        assert_eq!(
            trace.ops[7].op,
            Op::Free {
                group: "a".into(),
                selection: FreeSelection::Random {
                    ppm: 500_000,
                    seed: 7
                }
            }
        );
        assert_eq!(
            trace.ops[12].op,
            Op::Sysctl {
                name: VmSysctl::ExtfragThreshold,
                value: 500
            }
        );
        assert_eq!(trace.mark_dirs(), ["00-boot", "01-filled", "02-end"]);
    }

    #[test]
    fn display_reads_back_to_the_same_operations() {
        let first = ops(SMOKE);
        let text: String = first.iter().map(|op| format!("{op}\n")).collect();
        assert_eq!(ops(&text), first);
        assert!(text.contains("anon a 12.5%\n"), "{text}");
        assert!(text.contains("free a random 0.5 7\n"), "{text}");
    }

    #[test]
    fn alloc_kinds_map_to_the_module_flags_and_migrate_types() {
        assert_eq!(
            AllocKind::Reclaimable.gfp(),
            [GfpFlag::GfpKernel, GfpFlag::Reclaimable]
        );
        assert_eq!(AllocKind::Movable.gfp(), [GfpFlag::GfpHighuserMovable]);
        assert_eq!(
            AllocKind::Reclaimable.migrate_type(),
            MigrateType::Reclaimable
        );
        assert_eq!(AllocKind::Movable.migrate_type(), MigrateType::Movable);
    }

    #[test]
    fn percentages_resolve_like_the_harness() {
        // 512 MiB guest: DMA 3840 + DMA32 113261 managed pages (results/smoke-512M).
        let managed = 3840 + 113_261;
        assert_eq!(Amount::Percent(10_000).resolve(managed, 10), 114);
        assert_eq!(Amount::Percent(8000).resolve(managed, 0), 93_680);
        assert_eq!(Amount::Percent(3000).resolve(managed, 9), 68);
        assert_eq!(Amount::Count(16).resolve(managed, 10), 16);
    }

    #[test]
    fn selections_match_select_h() {
        // Reference output of tests/kernel/common/select.h compiled with gcc.
        let c_seed7 = "1001000110110110000111011000001001101100101001011111001010010010";
        let c_seed0 = "0000110001000000101000000100010000000100000000000001000000001100";
        let bits = |sel: FreeSelection| -> String {
            sel.picks()
                .take(64)
                .map(|p| if p { '1' } else { '0' })
                .collect()
        };
        assert_eq!(
            bits(FreeSelection::Random {
                ppm: 500_000,
                seed: 7
            }),
            c_seed7
        );
        assert_eq!(
            bits(FreeSelection::Random {
                ppm: 250_000,
                seed: 0
            }),
            c_seed0
        );
        let freed = FreeSelection::Random {
            ppm: 800_000,
            seed: 11,
        }
        .picks()
        .take(100_000)
        .filter(|&p| p)
        .count();
        assert_eq!(freed, 80_007);
        assert_eq!(bits(FreeSelection::EveryOther), "01".repeat(32));
        assert_eq!(bits(FreeSelection::All), "1".repeat(64));
    }

    #[test]
    fn rejects_name_the_line_and_what_was_expected() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "at least one operation"),
            ("# only a comment\n", 1, "at least one operation"),
            (
                "compact\n",
                1,
                "expected `mark NAME` as the first operation",
            ),
            ("mark a\nfrob x\n", 2, "expected an operation"),
            ("mark a\nmark a\n", 2, "already used on line 1"),
            ("mark Boot\n", 1, "mark NAME"),
            ("mark a b\n", 1, "(2 words), found 3"),
            (
                "mark a\nalloc g sticky 0 1\n",
                2,
                "unmovable, reclaimable or movable",
            ),
            ("mark a\nalloc g unmovable 11 1\n", 2, "ORDER in 0..=10"),
            ("mark a\nalloc g unmovable 0 0\n", 2, "at least 1"),
            (
                "mark a\nalloc g unmovable 0 +5\n",
                2,
                "integer or a percentage",
            ),
            ("mark a\nalloc g unmovable 0 101%\n", 2, "at most 100%"),
            ("mark a\nalloc g unmovable 0 0%\n", 2, "above 0%"),
            (
                "mark a\nalloc g unmovable 0 1.234%\n",
                2,
                "up to 2 decimals",
            ),
            (
                "mark a\nalloc g unmovable 0 99999999999999999999\n",
                2,
                "integer or a percentage",
            ),
            ("mark a\nalloc g/h unmovable 0 1\n", 2, "GROUP name"),
            (
                "mark a\ntry g 9 1 GFP_KERNEL|\n",
                2,
                "found `` in `GFP_KERNEL|`",
            ),
            ("mark a\ntry g 9 1 GFP_KERNAL\n", 2, "GFP flag names"),
            ("mark a\ntry g 9 1\n", 2, "try GROUP ORDER COUNT GFP"),
            ("mark a\nfree g all\n", 2, "unknown group `g`"),
            (
                "mark a\nanon g 5\nfree g random 1.5 1\n",
                3,
                "SHARE between 0 and 1",
            ),
            ("mark a\nanon g 5\nfree g random 0.1234567 1\n", 3, "SHARE"),
            (
                "mark a\nanon g 5\nfree g random 0.5\n",
                3,
                "random SHARE SEED",
            ),
            (
                "mark a\nanon g 5\nfree g half\n",
                3,
                "all, every-other or random",
            ),
            ("mark a\nanon g 5\nfree g all now\n", 3, "free GROUP all"),
            (
                "mark a\nanon g 5\nfile g 5\n",
                3,
                "holds anonymous memory (anon) since line 2",
            ),
            ("mark a\nalloc g movable 0 5\nanon g 5\n", 3, "kernel pages"),
            ("mark a\nhold 3601\n", 2, "at most 3600"),
            ("mark a\ndrop_caches 4\n", 2, "1, 2 or 3"),
            ("mark a\nsysctl vm.swappiness 10\n", 2, "vm.min_free_kbytes"),
            (
                "mark a\nsysctl min_free_kbytes 10\n",
                2,
                "vm.min_free_kbytes",
            ),
            (
                "mark a\nsysctl vm.extfrag_threshold 1001\n",
                2,
                "in 0..=1000",
            ),
            (
                "mark a\nsysctl vm.watermark_scale_factor 0\n",
                2,
                "in 1..=3000",
            ),
            (
                "mark a\nsysctl vm.compaction_proactiveness 101\n",
                2,
                "in 0..=100",
            ),
            ("mark a\ncompact now\n", 2, "`compact`"),
        ];
        for &(text, line, expected) in cases {
            let e = error(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(expected), "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("t.trace:{line}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn the_harness_traces_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel/traces");
        let entries = std::fs::read_dir(&dir).expect("tests/kernel/traces exists");
        let mut parsed = 0;
        for entry in entries {
            let path = entry.expect("readable directory").path();
            if path.extension().and_then(|e| e.to_str()) != Some("trace") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable trace");
            let name = path.display().to_string();
            let trace = parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(trace.ops[0].op, Op::Mark { .. }), "{name}");
            parsed += 1;
        }
        assert!(parsed >= 10, "only {parsed} traces in {}", dir.display());
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "mark",
                "alloc",
                "try",
                "anon",
                "file",
                "free",
                "hold",
                "compact",
                "drop_caches",
                "sysctl",
                "all",
                "every-other",
                "random",
                "unmovable",
                "movable",
                "reclaimable",
                "GFP_KERNEL|__GFP_NORETRY",
                "vm.min_free_kbytes",
                "vm.extfrag_threshold",
                "g",
                "h",
                "0",
                "1",
                "10",
                "11",
                "3601",
                "50%",
                "100.00%",
                "0.5",
                "1.0000001",
                "#",
                "|",
                "%",
                ".",
                "18446744073709551616",
            ])
            .prop_map(str::to_string),
            "[ -~]{0,12}",
            "\\PC{0,4}",
        ]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        let group = prop::sample::select(vec!["g0", "g1", "big_2", "x-y"]);
        let amount = prop_oneof![
            (1u64..=u64::MAX).prop_map(Amount::Count),
            (1u32..=10_000).prop_map(Amount::Percent)
        ];
        let flag = prop::sample::select(GfpFlag::NAMES.iter().map(|(f, _)| *f).collect::<Vec<_>>());
        let selection = prop_oneof![
            Just(FreeSelection::All),
            Just(FreeSelection::EveryOther),
            (0u32..=1_000_000, any::<u64>())
                .prop_map(|(ppm, seed)| FreeSelection::Random { ppm, seed }),
        ];
        let sysctl = prop::sample::select(VmSysctl::ALL.to_vec())
            .prop_flat_map(|name| (Just(name), name.range()))
            .prop_map(|(name, value)| Op::Sysctl { name, value });
        prop_oneof![
            (
                group.clone(),
                prop::sample::select(AllocKind::ALL.to_vec()),
                0u32..=10,
                amount.clone()
            )
                .prop_map(|(g, kind, order, count)| Op::Alloc {
                    group: format!("k{g}"),
                    kind,
                    order,
                    count
                }),
            (
                group.clone(),
                0u32..=10,
                amount.clone(),
                prop::collection::vec(flag, 1..4)
            )
                .prop_map(|(g, order, count, gfp)| Op::Try {
                    group: format!("k{g}"),
                    order,
                    count,
                    gfp
                }),
            (group.clone(), amount.clone()).prop_map(|(g, pages)| Op::Anon {
                group: format!("a{g}"),
                pages
            }),
            (group.clone(), amount).prop_map(|(g, pages)| Op::File {
                group: format!("f{g}"),
                pages
            }),
            (
                prop::sample::select(vec!["kg0", "ag1", "fbig_2", "kx-y"]),
                selection
            )
                .prop_map(|(g, selection)| Op::Free {
                    group: g.to_string(),
                    selection
                }),
            (0u32..=3600).prop_map(|seconds| Op::Hold { seconds }),
            Just(Op::Compact),
            (1u8..=3).prop_map(|what| Op::DropCaches { what }),
            sysctl,
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = parse("fuzz.trace", &text);
        }

        #[test]
        fn never_panics_on_trace_like_lines(lines in prop::collection::vec(prop::collection::vec(word(), 0..7), 0..12)) {
            let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
            if let Err(e) = parse("fuzz.trace", &text) {
                prop_assert!(e.line >= 1 && e.line <= lines.len().max(1), "{e}");
            }
        }

        #[test]
        fn canonical_text_round_trips(body in prop::collection::vec(op_strategy(), 0..20)) {
            // Keep only frees of groups that an earlier line filled, as the parser requires.
            let mut filled: Vec<String> = Vec::new();
            let mut expected = vec![Op::Mark { name: "boot".into() }];
            for op in body {
                if let Op::Free { group, .. } = &op {
                    if !filled.contains(group) {
                        continue;
                    }
                }
                if let Some((group, _)) = op.adds_to() {
                    filled.push(group.to_string());
                }
                expected.push(op);
            }
            let text: String = expected.iter().map(|op| format!("{op}\n")).collect();
            let parsed = parse("rt.trace", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let got: Vec<Op> = parsed.ops.into_iter().map(|l| l.op).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
