//! GFP flags (include/linux/gfp.h; 6.x include/linux/gfp_types.h): bit layouts per version,
//! decoding a `mode:0x…` into names and encoding names into a mask.
//!
//! The bit values moved several times (KERNEL_MM.md 8.3): `__GFP_WAIT` (3.10) was split into
//! `__GFP_DIRECT_RECLAIM` and `__GFP_KSWAPD_RECLAIM` in 4.4, the whole table was renumbered
//! twice after that. A [`GfpLayout`] holds one kernel's table; [`GfpFlags`] is the
//! version-independent meaning the model asks about. Names are printed like the kernel's `%pGg`
//! (`format_flags()` in lib/vsprintf.c over `__def_gfpflag_names` in
//! include/trace/events/mmflags.h): walk the names table in order, print every entry whose bits
//! are all still set and clear them, then print what is left as hex.

use crate::kernel::profile::Profile;
use crate::mm::mmzone::{MigrateType, ZoneType};
use std::fmt;

/// Which bit layout a kernel uses. The table of bits per layout is KERNEL_MM.md 8.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum GfpLayout {
    /// 3.10 vanilla: `__GFP_WAIT` = 0x10, `__GFP_KMEMCG` = 0x100000.
    V3_10,
    /// RHEL 7 (3.10.0-1160): as 3.10 but 0x100000 is `__GFP_ACCOUNT`.
    Rhel7,
    /// 4.4: `__GFP_WAIT` split into DIRECT_RECLAIM (0x400000) and KSWAPD_RECLAIM (0x2000000).
    V4_4,
    /// 4.6 – 4.9: as 4.4 with 0x100000 = `__GFP_ACCOUNT`.
    V4_6,
    /// 4.19: GFP_KERNEL = 0x6000c0.
    V4_19,
    /// 5.15: GFP_KERNEL = 0xcc0.
    V5_15,
    /// 6.18: as 5.15, 0x200 unused.
    V6_18,
}

/// One `__GFP_*` bit, independent of its value in a given layout. The declaration order is the
/// order `%pGg` prints single bits in 4.5 – 6.x before 6.18 (`__def_gfpflag_names`), with the
/// 3.10-only bits placed where 3.10's `show_gfp_flags` had them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bit {
    Dma,
    HighMem,
    Dma32,
    High,
    Atomic,
    Wait,
    Io,
    Fs,
    Cold,
    NoWarn,
    Repeat,
    RetryMayfail,
    NoFail,
    NoRetry,
    Comp,
    Zero,
    NoMemalloc,
    Memalloc,
    Hardwall,
    ThisNode,
    Reclaimable,
    Movable,
    Kmemcg,
    Account,
    NoAccount,
    NoTrack,
    NoKswapd,
    Write,
    DirectReclaim,
    KswapdReclaim,
    OtherNode,
    ZeroTags,
    SkipKasanPoison,
    NoLockdep,
}

const NBITS: usize = Bit::NoLockdep as usize + 1;

impl Bit {
    fn name(self) -> &'static str {
        match self {
            Bit::Dma => "__GFP_DMA",
            Bit::HighMem => "__GFP_HIGHMEM",
            Bit::Dma32 => "__GFP_DMA32",
            Bit::High => "__GFP_HIGH",
            Bit::Atomic => "__GFP_ATOMIC",
            Bit::Wait => "__GFP_WAIT",
            Bit::Io => "__GFP_IO",
            Bit::Fs => "__GFP_FS",
            Bit::Cold => "__GFP_COLD",
            Bit::NoWarn => "__GFP_NOWARN",
            Bit::Repeat => "__GFP_REPEAT",
            Bit::RetryMayfail => "__GFP_RETRY_MAYFAIL",
            Bit::NoFail => "__GFP_NOFAIL",
            Bit::NoRetry => "__GFP_NORETRY",
            Bit::Comp => "__GFP_COMP",
            Bit::Zero => "__GFP_ZERO",
            Bit::NoMemalloc => "__GFP_NOMEMALLOC",
            Bit::Memalloc => "__GFP_MEMALLOC",
            Bit::Hardwall => "__GFP_HARDWALL",
            Bit::ThisNode => "__GFP_THISNODE",
            Bit::Reclaimable => "__GFP_RECLAIMABLE",
            Bit::Movable => "__GFP_MOVABLE",
            Bit::Kmemcg => "__GFP_KMEMCG",
            Bit::Account => "__GFP_ACCOUNT",
            Bit::NoAccount => "__GFP_NOACCOUNT",
            Bit::NoTrack => "__GFP_NOTRACK",
            Bit::NoKswapd => "__GFP_NO_KSWAPD",
            Bit::Write => "__GFP_WRITE",
            Bit::DirectReclaim => "__GFP_DIRECT_RECLAIM",
            Bit::KswapdReclaim => "__GFP_KSWAPD_RECLAIM",
            Bit::OtherNode => "__GFP_OTHER_NODE",
            Bit::ZeroTags => "__GFP_ZEROTAGS",
            Bit::SkipKasanPoison => "__GFP_SKIP_KASAN_POISON",
            Bit::NoLockdep => "__GFP_NOLOCKDEP",
        }
    }
}

use Bit::*;

// Bit tables, in bit-value order (KERNEL_MM.md 8.3).
const T3_10: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Wait, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Cold, 0x100),
    (NoWarn, 0x200),
    (Repeat, 0x400),
    (NoFail, 0x800),
    (NoRetry, 0x1000),
    (Memalloc, 0x2000),
    (Comp, 0x4000),
    (Zero, 0x8000),
    (NoMemalloc, 0x10000),
    (Hardwall, 0x20000),
    (ThisNode, 0x40000),
    (Reclaimable, 0x80000),
    (Kmemcg, 0x100000),
    (NoTrack, 0x200000),
    (NoKswapd, 0x400000),
    (OtherNode, 0x800000),
    (Write, 0x1000000),
];
const TRHEL7: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Wait, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Cold, 0x100),
    (NoWarn, 0x200),
    (Repeat, 0x400),
    (NoFail, 0x800),
    (NoRetry, 0x1000),
    (Memalloc, 0x2000),
    (Comp, 0x4000),
    (Zero, 0x8000),
    (NoMemalloc, 0x10000),
    (Hardwall, 0x20000),
    (ThisNode, 0x40000),
    (Reclaimable, 0x80000),
    (Account, 0x100000),
    (NoTrack, 0x200000),
    (NoKswapd, 0x400000),
    (OtherNode, 0x800000),
    (Write, 0x1000000),
];
const T4_4: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Reclaimable, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Cold, 0x100),
    (NoWarn, 0x200),
    (Repeat, 0x400),
    (NoFail, 0x800),
    (NoRetry, 0x1000),
    (Memalloc, 0x2000),
    (Comp, 0x4000),
    (Zero, 0x8000),
    (NoMemalloc, 0x10000),
    (Hardwall, 0x20000),
    (ThisNode, 0x40000),
    (Atomic, 0x80000),
    (NoAccount, 0x100000),
    (NoTrack, 0x200000),
    (DirectReclaim, 0x400000),
    (OtherNode, 0x800000),
    (Write, 0x1000000),
    (KswapdReclaim, 0x2000000),
];
const T4_6: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Reclaimable, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Cold, 0x100),
    (NoWarn, 0x200),
    (Repeat, 0x400),
    (NoFail, 0x800),
    (NoRetry, 0x1000),
    (Memalloc, 0x2000),
    (Comp, 0x4000),
    (Zero, 0x8000),
    (NoMemalloc, 0x10000),
    (Hardwall, 0x20000),
    (ThisNode, 0x40000),
    (Atomic, 0x80000),
    (Account, 0x100000),
    (NoTrack, 0x200000),
    (DirectReclaim, 0x400000),
    (OtherNode, 0x800000),
    (Write, 0x1000000),
    (KswapdReclaim, 0x2000000),
];
const T4_19: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Reclaimable, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Write, 0x100),
    (NoWarn, 0x200),
    (RetryMayfail, 0x400),
    (NoFail, 0x800),
    (NoRetry, 0x1000),
    (Memalloc, 0x2000),
    (Comp, 0x4000),
    (Zero, 0x8000),
    (NoMemalloc, 0x10000),
    (Hardwall, 0x20000),
    (ThisNode, 0x40000),
    (Atomic, 0x80000),
    (Account, 0x100000),
    (DirectReclaim, 0x200000),
    (KswapdReclaim, 0x400000),
    (NoLockdep, 0x800000),
];
const T5_15: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Reclaimable, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Zero, 0x100),
    (Atomic, 0x200),
    (DirectReclaim, 0x400),
    (KswapdReclaim, 0x800),
    (Write, 0x1000),
    (NoWarn, 0x2000),
    (RetryMayfail, 0x4000),
    (NoFail, 0x8000),
    (NoRetry, 0x10000),
    (Memalloc, 0x20000),
    (Comp, 0x40000),
    (NoMemalloc, 0x80000),
    (Hardwall, 0x100000),
    (ThisNode, 0x200000),
    (Account, 0x400000),
    (ZeroTags, 0x800000),
    (SkipKasanPoison, 0x1000000),
    (NoLockdep, 0x2000000),
];
/// 6.18 (`enum ___GFP_*_BIT` in gfp_types.h). Bits above ZEROTAGS depend on the config
/// (KASAN_HW_TAGS, LOCKDEP, SLAB_OBJ_EXT) and are left out: they print as hex.
const T6_18: &[(Bit, u64)] = &[
    (Dma, 0x1),
    (HighMem, 0x2),
    (Dma32, 0x4),
    (Movable, 0x8),
    (Reclaimable, 0x10),
    (High, 0x20),
    (Io, 0x40),
    (Fs, 0x80),
    (Zero, 0x100),
    (DirectReclaim, 0x400),
    (KswapdReclaim, 0x800),
    (Write, 0x1000),
    (NoWarn, 0x2000),
    (RetryMayfail, 0x4000),
    (NoFail, 0x8000),
    (NoRetry, 0x10000),
    (Memalloc, 0x20000),
    (Comp, 0x40000),
    (NoMemalloc, 0x80000),
    (Hardwall, 0x100000),
    (ThisNode, 0x200000),
    (Account, 0x400000),
    (ZeroTags, 0x800000),
];

/// A named combination of bits; defined for a layout only if the layout has every bit.
type Composite = (&'static str, &'static [Bit]);

const RECLAIM: &[Bit] = &[DirectReclaim, KswapdReclaim];

/// 3.10 / RHEL 7 composites in `show_gfp_flags` order (GFP_NOWAIT is 0 there).
const COMPOSITES_3_10: &[Composite] = &[
    (
        "GFP_TRANSHUGE",
        &[
            HighMem, Movable, Wait, Io, Fs, Hardwall, Comp, NoMemalloc, NoRetry, NoWarn, NoKswapd,
        ],
    ),
    (
        "GFP_HIGHUSER_MOVABLE",
        &[HighMem, Movable, Wait, Io, Fs, Hardwall],
    ),
    ("GFP_HIGHUSER", &[HighMem, Wait, Io, Fs, Hardwall]),
    ("GFP_USER", &[Wait, Io, Fs, Hardwall]),
    ("GFP_TEMPORARY", &[Wait, Io, Fs, Reclaimable]),
    ("GFP_KERNEL_ACCOUNT", &[Wait, Io, Fs, Account]),
    ("GFP_KERNEL", &[Wait, Io, Fs]),
    ("GFP_NOFS", &[Wait, Io]),
    ("GFP_ATOMIC", &[High]),
    ("GFP_NOIO", &[Wait]),
    ("GFP_NOWAIT", &[]),
    ("GFP_DMA", &[Dma]),
    ("__GFP_HIGHMEM", &[HighMem]),
    ("GFP_DMA32", &[Dma32]),
];

/// 4.4 / 4.6 (`GFP_TRANSHUGE` = `(... ) & ~__GFP_RECLAIM`).
const COMPOSITES_4_4: &[Composite] = &[
    (
        "GFP_TRANSHUGE",
        &[
            HighMem, Movable, Io, Fs, Hardwall, Comp, NoMemalloc, NoRetry, NoWarn,
        ],
    ),
    (
        "GFP_HIGHUSER_MOVABLE",
        &[
            HighMem,
            Movable,
            DirectReclaim,
            KswapdReclaim,
            Io,
            Fs,
            Hardwall,
        ],
    ),
    (
        "GFP_HIGHUSER",
        &[HighMem, DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_USER",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_TEMPORARY",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Reclaimable],
    ),
    (
        "GFP_KERNEL_ACCOUNT",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Account],
    ),
    ("GFP_KERNEL", &[DirectReclaim, KswapdReclaim, Io, Fs]),
    ("GFP_NOFS", &[DirectReclaim, KswapdReclaim, Io]),
    ("GFP_ATOMIC", &[High, Atomic, KswapdReclaim]),
    ("GFP_NOIO", RECLAIM),
    ("GFP_NOWAIT", &[KswapdReclaim]),
    ("GFP_DMA", &[Dma]),
    ("__GFP_HIGHMEM", &[HighMem]),
    ("GFP_DMA32", &[Dma32]),
];

/// 4.19 / 5.15 (`GFP_TRANSHUGE_LIGHT`, `GFP_TRANSHUGE` = LIGHT | DIRECT_RECLAIM).
const COMPOSITES_4_19: &[Composite] = &[
    (
        "GFP_TRANSHUGE",
        &[
            HighMem,
            Movable,
            Io,
            Fs,
            Hardwall,
            Comp,
            NoMemalloc,
            NoWarn,
            DirectReclaim,
        ],
    ),
    (
        "GFP_TRANSHUGE_LIGHT",
        &[HighMem, Movable, Io, Fs, Hardwall, Comp, NoMemalloc, NoWarn],
    ),
    (
        "GFP_HIGHUSER_MOVABLE",
        &[
            HighMem,
            Movable,
            DirectReclaim,
            KswapdReclaim,
            Io,
            Fs,
            Hardwall,
        ],
    ),
    (
        "GFP_HIGHUSER",
        &[HighMem, DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_USER",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_KERNEL_ACCOUNT",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Account],
    ),
    ("GFP_KERNEL", &[DirectReclaim, KswapdReclaim, Io, Fs]),
    ("GFP_NOFS", &[DirectReclaim, KswapdReclaim, Io]),
    ("GFP_ATOMIC", &[High, Atomic, KswapdReclaim]),
    ("GFP_NOIO", RECLAIM),
    ("GFP_NOWAIT", &[KswapdReclaim]),
    ("GFP_DMA", &[Dma]),
    ("__GFP_HIGHMEM", &[HighMem]),
    ("GFP_DMA32", &[Dma32]),
];

/// 6.18: GFP_ATOMIC lost `__GFP_ATOMIC`, GFP_NOWAIT gained `__GFP_NOWARN`; `__GFP_RECLAIM`
/// comes right after the composites and the single bits follow in bit order.
const COMPOSITES_6_18: &[Composite] = &[
    (
        "GFP_TRANSHUGE",
        &[
            HighMem,
            Movable,
            Io,
            Fs,
            Hardwall,
            Comp,
            NoMemalloc,
            NoWarn,
            DirectReclaim,
        ],
    ),
    (
        "GFP_TRANSHUGE_LIGHT",
        &[HighMem, Movable, Io, Fs, Hardwall, Comp, NoMemalloc, NoWarn],
    ),
    (
        "GFP_HIGHUSER_MOVABLE",
        &[
            HighMem,
            Movable,
            DirectReclaim,
            KswapdReclaim,
            Io,
            Fs,
            Hardwall,
        ],
    ),
    (
        "GFP_HIGHUSER",
        &[HighMem, DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_USER",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Hardwall],
    ),
    (
        "GFP_KERNEL_ACCOUNT",
        &[DirectReclaim, KswapdReclaim, Io, Fs, Account],
    ),
    ("GFP_KERNEL", &[DirectReclaim, KswapdReclaim, Io, Fs]),
    ("GFP_NOFS", &[DirectReclaim, KswapdReclaim, Io]),
    ("GFP_ATOMIC", &[High, KswapdReclaim]),
    ("GFP_NOIO", RECLAIM),
    ("GFP_NOWAIT", &[KswapdReclaim, NoWarn]),
    ("GFP_DMA", &[Dma]),
    ("GFP_DMA32", &[Dma32]),
    ("__GFP_RECLAIM", RECLAIM),
];

/// Single bits after the composites, up to 6.x before 6.18 (`__GFP_RECLAIM` sits between
/// `__GFP_WRITE` and `__GFP_DIRECT_RECLAIM`). Zone bits are covered by the composites.
const SINGLES_OLD: &[Composite] = &[
    ("__GFP_HIGH", &[High]),
    ("__GFP_ATOMIC", &[Atomic]),
    ("__GFP_WAIT", &[Wait]),
    ("__GFP_IO", &[Io]),
    ("__GFP_FS", &[Fs]),
    ("__GFP_COLD", &[Cold]),
    ("__GFP_NOWARN", &[NoWarn]),
    ("__GFP_REPEAT", &[Repeat]),
    ("__GFP_RETRY_MAYFAIL", &[RetryMayfail]),
    ("__GFP_NOFAIL", &[NoFail]),
    ("__GFP_NORETRY", &[NoRetry]),
    ("__GFP_COMP", &[Comp]),
    ("__GFP_ZERO", &[Zero]),
    ("__GFP_NOMEMALLOC", &[NoMemalloc]),
    ("__GFP_MEMALLOC", &[Memalloc]),
    ("__GFP_HARDWALL", &[Hardwall]),
    ("__GFP_THISNODE", &[ThisNode]),
    ("__GFP_RECLAIMABLE", &[Reclaimable]),
    ("__GFP_MOVABLE", &[Movable]),
    ("__GFP_KMEMCG", &[Kmemcg]),
    ("__GFP_ACCOUNT", &[Account]),
    ("__GFP_NOACCOUNT", &[NoAccount]),
    ("__GFP_NOTRACK", &[NoTrack]),
    ("__GFP_NO_KSWAPD", &[NoKswapd]),
    ("__GFP_WRITE", &[Write]),
    ("__GFP_RECLAIM", RECLAIM),
    ("__GFP_DIRECT_RECLAIM", &[DirectReclaim]),
    ("__GFP_KSWAPD_RECLAIM", &[KswapdReclaim]),
    ("__GFP_OTHER_NODE", &[OtherNode]),
    ("__GFP_ZEROTAGS", &[ZeroTags]),
    ("__GFP_SKIP_KASAN_POISON", &[SkipKasanPoison]),
    ("__GFP_NOLOCKDEP", &[NoLockdep]),
];

/// What a GFP mask asks for, independent of the layout it was written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GfpFlags {
    pub dma: bool,
    pub dma32: bool,
    pub highmem: bool,
    pub movable: bool,
    pub reclaimable: bool,
    /// `__GFP_HIGH`: may use part of the min reserve (ALLOC_HIGH / ALLOC_MIN_RESERVE).
    pub high: bool,
    pub io: bool,
    pub fs: bool,
    /// May enter direct reclaim: `__GFP_DIRECT_RECLAIM`, or 3.10's `__GFP_WAIT`.
    pub direct_reclaim: bool,
    /// May wake kswapd: `__GFP_KSWAPD_RECLAIM`, or 3.10's "not `__GFP_NO_KSWAPD`".
    pub kswapd_reclaim: bool,
    /// The `__GFP_ATOMIC` bit (4.4 – 6.2); false where the layout has none (3.10, 6.18).
    pub atomic: bool,
    pub comp: bool,
    pub zero: bool,
    pub nowarn: bool,
    pub noretry: bool,
    /// `__GFP_RETRY_MAYFAIL`, or `__GFP_REPEAT` before 4.13.
    pub retry_mayfail: bool,
    pub nofail: bool,
    pub memalloc: bool,
    pub nomemalloc: bool,
    /// Charged to the memcg: `__GFP_KMEMCG` (3.10) or `__GFP_ACCOUNT`.
    pub account: bool,
    pub thisnode: bool,
    pub hardwall: bool,
}

impl GfpFlags {
    /// No flag at all (`GFP_NOWAIT` before 4.4).
    pub const NONE: GfpFlags = GfpFlags {
        dma: false,
        dma32: false,
        highmem: false,
        movable: false,
        reclaimable: false,
        high: false,
        io: false,
        fs: false,
        direct_reclaim: false,
        kswapd_reclaim: false,
        atomic: false,
        comp: false,
        zero: false,
        nowarn: false,
        noretry: false,
        retry_mayfail: false,
        nofail: false,
        memalloc: false,
        nomemalloc: false,
        account: false,
        thisnode: false,
        hardwall: false,
    };
    /// `GFP_KERNEL` = `__GFP_RECLAIM | __GFP_IO | __GFP_FS` (3.10: `__GFP_WAIT | __GFP_IO |
    /// __GFP_FS`, which also wakes kswapd).
    pub const GFP_KERNEL: GfpFlags = GfpFlags {
        direct_reclaim: true,
        kswapd_reclaim: true,
        io: true,
        fs: true,
        ..GfpFlags::NONE
    };
    /// `GFP_ATOMIC` = `__GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM` (3.10: `__GFP_HIGH`;
    /// 6.18 has no `__GFP_ATOMIC`).
    pub const GFP_ATOMIC: GfpFlags = GfpFlags {
        high: true,
        atomic: true,
        kswapd_reclaim: true,
        ..GfpFlags::NONE
    };
}

impl GfpLayout {
    /// The mask of `f` in this layout, the inverse of [`GfpLayout::flags`]: the `mode:0x…` a
    /// failure report of this kernel prints for the request. A flag the layout has no bit for
    /// encodes as nothing (`__GFP_ACCOUNT` in 4.4, `__GFP_ATOMIC` in 3.10 and 6.18); in 3.10
    /// `kswapd_reclaim` is the absence of `__GFP_NO_KSWAPD`, `retry_mayfail` is `__GFP_REPEAT`
    /// before 4.13 and `account` is `__GFP_KMEMCG` where there is no `__GFP_ACCOUNT`.
    pub fn mask(self, f: &GfpFlags) -> u64 {
        let v = self.values();
        let bit = |b: Bit, on: bool| if on { v[b as usize] } else { 0 };
        let either = |a: Bit, b: Bit, on: bool| {
            if v[a as usize] != 0 {
                bit(a, on)
            } else {
                bit(b, on)
            }
        };
        let reclaim = if v[Wait as usize] != 0 {
            bit(Wait, f.direct_reclaim) | bit(NoKswapd, !f.kswapd_reclaim)
        } else {
            bit(DirectReclaim, f.direct_reclaim) | bit(KswapdReclaim, f.kswapd_reclaim)
        };
        reclaim
            | bit(Dma, f.dma)
            | bit(Dma32, f.dma32)
            | bit(HighMem, f.highmem)
            | bit(Movable, f.movable)
            | bit(Reclaimable, f.reclaimable)
            | bit(High, f.high)
            | bit(Io, f.io)
            | bit(Fs, f.fs)
            | bit(Atomic, f.atomic)
            | bit(Comp, f.comp)
            | bit(Zero, f.zero)
            | bit(NoWarn, f.nowarn)
            | bit(NoRetry, f.noretry)
            | either(RetryMayfail, Repeat, f.retry_mayfail)
            | bit(NoFail, f.nofail)
            | bit(Memalloc, f.memalloc)
            | bit(NoMemalloc, f.nomemalloc)
            | either(Account, Kmemcg, f.account)
            | bit(ThisNode, f.thisnode)
            | bit(Hardwall, f.hardwall)
    }
}

impl GfpLayout {
    pub const ALL: [GfpLayout; 7] = [
        GfpLayout::V3_10,
        GfpLayout::Rhel7,
        GfpLayout::V4_4,
        GfpLayout::V4_6,
        GfpLayout::V4_19,
        GfpLayout::V5_15,
        GfpLayout::V6_18,
    ];

    /// The kernel this layout is named after, for messages.
    pub fn name(self) -> &'static str {
        match self {
            GfpLayout::V3_10 => "3.10",
            GfpLayout::Rhel7 => "3.10-rhel7",
            GfpLayout::V4_4 => "4.4",
            GfpLayout::V4_6 => "4.6",
            GfpLayout::V4_19 => "4.19",
            GfpLayout::V5_15 => "5.15",
            GfpLayout::V6_18 => "6.18",
        }
    }

    fn table(self) -> &'static [(Bit, u64)] {
        match self {
            GfpLayout::V3_10 => T3_10,
            GfpLayout::Rhel7 => TRHEL7,
            GfpLayout::V4_4 => T4_4,
            GfpLayout::V4_6 => T4_6,
            GfpLayout::V4_19 => T4_19,
            GfpLayout::V5_15 => T5_15,
            GfpLayout::V6_18 => T6_18,
        }
    }

    fn composites(self) -> &'static [Composite] {
        match self {
            GfpLayout::V3_10 | GfpLayout::Rhel7 => COMPOSITES_3_10,
            GfpLayout::V4_4 | GfpLayout::V4_6 => COMPOSITES_4_4,
            GfpLayout::V4_19 | GfpLayout::V5_15 => COMPOSITES_4_19,
            GfpLayout::V6_18 => COMPOSITES_6_18,
        }
    }

    /// The value of each bit in this layout (0 where the layout lacks it).
    /// The value of every bit in this layout, 0 where it has none (computed at compile time:
    /// the allocator decodes a mask on every request).
    fn values(self) -> &'static [u64; NBITS] {
        const fn values_of(table: &[(Bit, u64)]) -> [u64; NBITS] {
            let mut v = [0; NBITS];
            let mut i = 0;
            while i < table.len() {
                v[table[i].0 as usize] = table[i].1;
                i += 1;
            }
            v
        }
        static V3_10: [u64; NBITS] = values_of(T3_10);
        static VRHEL7: [u64; NBITS] = values_of(TRHEL7);
        static V4_4: [u64; NBITS] = values_of(T4_4);
        static V4_6: [u64; NBITS] = values_of(T4_6);
        static V4_19: [u64; NBITS] = values_of(T4_19);
        static V5_15: [u64; NBITS] = values_of(T5_15);
        static V6_18: [u64; NBITS] = values_of(T6_18);
        match self {
            GfpLayout::V3_10 => &V3_10,
            GfpLayout::Rhel7 => &VRHEL7,
            GfpLayout::V4_4 => &V4_4,
            GfpLayout::V4_6 => &V4_6,
            GfpLayout::V4_19 => &V4_19,
            GfpLayout::V5_15 => &V5_15,
            GfpLayout::V6_18 => &V6_18,
        }
    }

    /// The mask of a list of bits, or `None` if the layout lacks one of them.
    fn mask_of(values: &[u64; NBITS], bits: &[Bit]) -> Option<u64> {
        bits.iter().try_fold(0, |m, &b| {
            (values[b as usize] != 0).then_some(m | values[b as usize])
        })
    }

    /// The `%pGg` names table of this layout, in print order: (name, mask).
    fn print_table(self) -> Vec<(&'static str, u64)> {
        let values = self.values();
        let mut out: Vec<(&'static str, u64)> = self
            .composites()
            .iter()
            .filter_map(|&(name, bits)| Some((name, Self::mask_of(values, bits)?)))
            .collect();
        match self {
            GfpLayout::V6_18 => out.extend(
                self.table()
                    .iter()
                    .filter(|(b, _)| !matches!(b, Dma | Dma32))
                    .map(|&(b, v)| (b.name(), v)),
            ),
            _ => out.extend(
                SINGLES_OLD
                    .iter()
                    .filter_map(|&(name, bits)| Some((name, Self::mask_of(values, bits)?))),
            ),
        }
        out
    }

    /// Names `%pGg` would print for `mask`, joined by `|` (models `format_flags()` over
    /// `__def_gfpflag_names`): every table entry whose bits are all still set, in table order,
    /// then the unknown remainder as `0x…`. 0 prints as `0x0` (the kernel prints nothing).
    pub fn decode(self, mask: u64) -> String {
        let mut rest = mask;
        let mut parts: Vec<String> = Vec::new();
        for (name, m) in self.print_table() {
            if rest == 0 {
                break;
            }
            if m != 0 && rest & m == m {
                parts.push(name.to_string());
                rest &= !m;
            }
        }
        if rest != 0 || parts.is_empty() {
            parts.push(format!("{rest:#x}"));
        }
        parts.join("|")
    }

    /// Every name `parse` accepts for this layout, composites first.
    fn names(self) -> Vec<(&'static str, u64)> {
        let values = self.values();
        let mut out: Vec<(&'static str, u64)> = self
            .composites()
            .iter()
            .filter_map(|&(name, bits)| Some((name, Self::mask_of(values, bits)?)))
            .collect();
        out.extend(self.table().iter().map(|&(b, v)| (b.name(), v)));
        if values[DirectReclaim as usize] != 0 {
            out.push((
                "__GFP_RECLAIM",
                values[DirectReclaim as usize] | values[KswapdReclaim as usize],
            ));
        }
        out
    }

    /// Parses `0x…`, a decimal number, or `|`-joined names (`GFP_KERNEL|__GFP_COMP`; the `__`
    /// prefix of a single bit is optional unless a composite has the same name, as
    /// `GFP_ATOMIC`; case does not matter) into this layout's mask.
    pub fn parse(self, s: &str) -> Result<u64, String> {
        let names = self.names();
        let mut mask = 0u64;
        for token in s.split('|').map(str::trim) {
            let value = if let Some(hex) = token
                .strip_prefix("0x")
                .or_else(|| token.strip_prefix("0X"))
            {
                u64::from_str_radix(hex, 16)
                    .map_err(|_| format!("`{token}` is not a hexadecimal GFP mask"))?
            } else if !token.is_empty() && token.bytes().all(|c| c.is_ascii_digit()) {
                token
                    .parse::<u64>()
                    .map_err(|_| format!("`{token}` is too large for a GFP mask"))?
            } else {
                // Exact name first, so `GFP_ATOMIC` is the composite and not `__GFP_ATOMIC`.
                let find = |want: &str| names.iter().find(|(n, _)| n.eq_ignore_ascii_case(want));
                find(token)
                    .or_else(|| find(&format!("__{token}")))
                    .map(|&(_, v)| v)
                    .ok_or_else(|| {
                        let allowed: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                        format!(
                            "unknown GFP flag `{token}` (expected 0x…, a decimal mask, or names \
                             joined by `|`: {})",
                            allowed.join(", ")
                        )
                    })?
            };
            mask |= value;
        }
        Ok(mask)
    }

    /// What `mask` asks for, in version-independent terms.
    pub fn flags(self, mask: u64) -> GfpFlags {
        let v = self.values();
        let has = |b: Bit| v[b as usize] != 0 && mask & v[b as usize] != 0;
        let (direct_reclaim, kswapd_reclaim) = if v[Wait as usize] != 0 {
            (has(Wait), !has(NoKswapd))
        } else {
            (has(DirectReclaim), has(KswapdReclaim))
        };
        GfpFlags {
            dma: has(Dma),
            dma32: has(Dma32),
            highmem: has(HighMem),
            movable: has(Movable),
            reclaimable: has(Reclaimable),
            high: has(High),
            io: has(Io),
            fs: has(Fs),
            direct_reclaim,
            kswapd_reclaim,
            atomic: has(Atomic),
            comp: has(Comp),
            zero: has(Zero),
            nowarn: has(NoWarn),
            noretry: has(NoRetry),
            retry_mayfail: has(Repeat) || has(RetryMayfail),
            nofail: has(NoFail),
            memalloc: has(Memalloc),
            nomemalloc: has(NoMemalloc),
            account: has(Kmemcg) || has(Account),
            thisnode: has(ThisNode),
            hardwall: has(Hardwall),
        }
    }
}

impl fmt::Display for GfpLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest zone a request may use. Models `gfp_zone()` (include/linux/gfp.h, the
/// `GFP_ZONE_TABLE`) on x86-64 without CONFIG_HIGHMEM: `__GFP_HIGHMEM` alone means Normal,
/// `__GFP_HIGHMEM|__GFP_MOVABLE` means Movable, `__GFP_MOVABLE` alone means Normal. The invalid
/// combinations the kernel rejects with `VM_BUG_ON` resolve to the lowest zone asked for.
pub fn gfp_zone(flags: &GfpFlags) -> ZoneType {
    if flags.dma {
        ZoneType::Dma
    } else if flags.dma32 {
        ZoneType::Dma32
    } else if flags.highmem && flags.movable {
        ZoneType::Movable
    } else {
        ZoneType::Normal
    }
}

/// The migrate type of a request. Models `allocflags_to_migratetype()` (3.10) /
/// `gfpflags_to_migratetype()` (4.4+) / `gfp_migratetype()` (5.x+): the two mobility bits read
/// as a number in the profile's migrate-type enum (both bits, which the kernel warns about, give
/// entry 3: Reserve on 3.10, HighAtomic on 4.4+).
pub fn gfp_migratetype(profile: &Profile, flags: &GfpFlags) -> MigrateType {
    match (flags.movable, flags.reclaimable) {
        (false, false) => MigrateType::Unmovable,
        (true, false) => MigrateType::Movable,
        (false, true) => MigrateType::Reclaimable,
        (true, true) => profile.migrate_types[3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE_BITS: [(Bit, u64); 4] = [(Dma, 0x1), (HighMem, 0x2), (Dma32, 0x4), (Movable, 0x8)];

    #[test]
    fn mask_inverts_flags_in_every_layout() {
        for layout in GfpLayout::ALL {
            for names in [
                "GFP_KERNEL",
                "GFP_ATOMIC",
                "GFP_NOWAIT",
                "GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_NOWARN|__GFP_NORETRY|__GFP_NOMEMALLOC",
                "GFP_KERNEL|__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_HARDWALL",
                "GFP_KERNEL|__GFP_RECLAIMABLE|__GFP_NOFAIL",
                "__GFP_DMA|__GFP_HIGH",
            ] {
                let m = layout.parse(names).unwrap();
                assert_eq!(layout.mask(&layout.flags(m)), m, "{layout} {names}");
            }
        }
        assert_eq!(GfpLayout::V3_10.mask(&GfpFlags::GFP_KERNEL), 0xd0);
        assert_eq!(GfpLayout::V4_19.mask(&GfpFlags::GFP_KERNEL), 0x6000c0);
        assert_eq!(GfpLayout::V6_18.mask(&GfpFlags::GFP_KERNEL), 0xcc0);
        assert_eq!(GfpLayout::V3_10.mask(&GfpFlags::GFP_ATOMIC), 0x20);
    }

    #[test]
    fn zone_bits_are_the_same_in_every_layout() {
        for layout in GfpLayout::ALL {
            assert_eq!(&layout.table()[..4], &ZONE_BITS[..], "{layout}");
        }
    }

    #[test]
    fn bit_values_are_distinct_single_bits() {
        for layout in GfpLayout::ALL {
            let mut seen = 0u64;
            for &(b, v) in layout.table() {
                assert_eq!(v.count_ones(), 1, "{layout} {}", b.name());
                assert_eq!(seen & v, 0, "{layout} {}", b.name());
                seen |= v;
            }
        }
    }

    #[test]
    fn decodes_the_seed_failure_and_modern_gfp_kernel() {
        assert_eq!(
            GfpLayout::V3_10.decode(0x10c0d0),
            "GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG"
        );
        assert_eq!(
            GfpLayout::Rhel7.decode(0xc0d0),
            "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"
        );
        assert_eq!(GfpLayout::V5_15.decode(0xcc0), "GFP_KERNEL");
        assert_eq!(GfpLayout::V6_18.decode(0xcc0), "GFP_KERNEL");
        assert_eq!(GfpLayout::V4_19.decode(0x6000c0), "GFP_KERNEL");
        assert_eq!(GfpLayout::V4_6.decode(0x24000c0), "GFP_KERNEL");
        assert_eq!(
            GfpLayout::V6_18.decode(0x40dc0),
            "GFP_KERNEL|__GFP_ZERO|__GFP_COMP"
        );
        assert_eq!(
            GfpLayout::V5_15.decode(0x40dc0),
            "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"
        );
        assert_eq!(GfpLayout::V6_18.decode(0x200), "0x200");
        // As public warn_alloc() lines print them.
        assert_eq!(GfpLayout::V4_6.decode(0x24040c0), "GFP_KERNEL|__GFP_COMP");
        assert_eq!(GfpLayout::V4_6.decode(0x2080020), "GFP_ATOMIC");
        assert_eq!(
            GfpLayout::V4_19.decode(0x60c0c0),
            "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"
        );
        assert_eq!(GfpLayout::V4_19.decode(0x480020), "GFP_ATOMIC");
        assert_eq!(GfpLayout::V4_19.decode(0x6200ca), "GFP_HIGHUSER_MOVABLE");
        assert_eq!(GfpLayout::V5_15.decode(0x100cca), "GFP_HIGHUSER_MOVABLE");
        assert_eq!(
            GfpLayout::V4_19.decode(0x1000000 | 0x6000c0),
            "GFP_KERNEL|0x1000000"
        );
        assert_eq!(GfpLayout::V5_15.decode(0xa20), "GFP_ATOMIC");
        assert_eq!(GfpLayout::V6_18.decode(0x820), "GFP_ATOMIC");
        assert_eq!(GfpLayout::V6_18.decode(0x2800), "GFP_NOWAIT");
        assert_eq!(GfpLayout::V3_10.decode(0), "0x0");
    }

    #[test]
    fn parses_names_and_numbers() {
        let s = "GFP_KERNEL|__GFP_COMP|__GFP_ZERO";
        assert_eq!(GfpLayout::V4_19.parse(s), Ok(0x60c0c0));
        assert_eq!(GfpLayout::V4_6.parse(s), Ok(0x240c0c0));
        assert_eq!(GfpLayout::V5_15.parse(s), Ok(0x40dc0));
        assert_eq!(GfpLayout::V6_18.parse(s), Ok(0x40dc0));
        assert_eq!(
            GfpLayout::V3_10.parse("GFP_KERNEL|GFP_COMP|gfp_zero|__GFP_KMEMCG"),
            Ok(0x10c0d0)
        );
        assert_eq!(GfpLayout::V3_10.parse("0x10c0d0"), Ok(0x10c0d0));
        assert_eq!(GfpLayout::V3_10.parse("208"), Ok(0xd0));
        assert_eq!(GfpLayout::V3_10.parse("GFP_NOWAIT"), Ok(0));
        let err = GfpLayout::V3_10
            .parse("GFP_KERNEL|__GFP_ACCOUNT")
            .unwrap_err();
        assert!(
            err.contains("__GFP_ACCOUNT") && err.contains("__GFP_KMEMCG"),
            "{err}"
        );
        assert!(
            err.starts_with("unknown GFP flag `__GFP_ACCOUNT` (expected"),
            "{err}"
        );
        assert!(GfpLayout::V6_18.parse("__GFP_ATOMIC").is_err());
        assert!(GfpLayout::V5_15.parse("0xzz").is_err());
        assert!(GfpLayout::V5_15.parse("").is_err());
    }

    #[test]
    fn gfp_kernel_means_the_same_in_every_layout() {
        for layout in GfpLayout::ALL {
            let f = layout.flags(layout.parse("GFP_KERNEL").unwrap());
            let want = GfpFlags {
                io: true,
                fs: true,
                direct_reclaim: true,
                kswapd_reclaim: true,
                ..GfpFlags::default()
            };
            assert_eq!(f, want, "{layout}");
            assert_eq!(gfp_zone(&f), ZoneType::Normal);
        }
        // 3.10's GFP_ATOMIC is only __GFP_HIGH: no direct reclaim, kswapd still woken.
        let a = GfpLayout::V3_10.flags(0x20);
        assert!(a.high && !a.direct_reclaim && a.kswapd_reclaim && !a.atomic);
        let t = GfpLayout::V3_10.flags(GfpLayout::V3_10.parse("GFP_TRANSHUGE").unwrap());
        assert!(!t.kswapd_reclaim && t.direct_reclaim && t.movable && t.highmem);
        assert_eq!(gfp_zone(&t), ZoneType::Movable);
        let five = GfpLayout::V5_15.flags(0xa20);
        assert!(five.atomic && five.high && five.kswapd_reclaim && !five.direct_reclaim);
        assert!(GfpLayout::V3_10.flags(0x10c0d0).account);
        assert!(GfpLayout::V3_10.flags(0x400).retry_mayfail);
    }

    #[test]
    fn zones_and_migratetypes() {
        let p310 = crate::kernel::profile("3.10").unwrap();
        let p618 = crate::kernel::profile("6.18").unwrap();
        let l = GfpLayout::V6_18;
        let f = |s: &str| l.flags(l.parse(s).unwrap());
        assert_eq!(gfp_zone(&f("GFP_DMA")), ZoneType::Dma);
        assert_eq!(gfp_zone(&f("GFP_KERNEL|GFP_DMA32")), ZoneType::Dma32);
        assert_eq!(gfp_zone(&f("GFP_HIGHUSER")), ZoneType::Normal);
        assert_eq!(gfp_zone(&f("GFP_HIGHUSER_MOVABLE")), ZoneType::Movable);
        assert_eq!(
            gfp_migratetype(p618, &f("GFP_KERNEL")),
            MigrateType::Unmovable
        );
        assert_eq!(
            gfp_migratetype(p618, &f("GFP_HIGHUSER_MOVABLE")),
            MigrateType::Movable
        );
        assert_eq!(
            gfp_migratetype(p618, &f("GFP_KERNEL|__GFP_RECLAIMABLE")),
            MigrateType::Reclaimable
        );
        let both = f("__GFP_MOVABLE|__GFP_RECLAIMABLE");
        assert_eq!(gfp_migratetype(p618, &both), MigrateType::HighAtomic);
        assert_eq!(gfp_migratetype(p310, &both), MigrateType::Reserve);
    }

    proptest::proptest! {
        #[test]
        fn parse_inverts_decode(mask in proptest::prelude::any::<u64>(), which in 0usize..7) {
            let layout = GfpLayout::ALL[which];
            proptest::prop_assert_eq!(layout.parse(&layout.decode(mask)), Ok(mask));
        }

        #[test]
        fn parse_inverts_decode_on_known_bits(bits in proptest::prelude::any::<u32>(), which in 0usize..7) {
            let layout = GfpLayout::ALL[which];
            let known = layout.table().iter().fold(0, |m, &(_, v)| m | v);
            let mask = u64::from(bits) & known;
            let text = layout.decode(mask);
            proptest::prop_assert!(mask == 0 || !text.contains("0x"), "{}", text);
            proptest::prop_assert_eq!(layout.parse(&text), Ok(mask));
        }
    }
}
