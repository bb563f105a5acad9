//! Zones and migrate types (include/linux/mmzone.h).
//!
//! A node's physical memory is split into zones by address range (DMA below 16 MiB, DMA32 below
//! 4 GiB, Normal above on x86-64). Inside a zone, memory is grouped into pageblocks, each tagged
//! with a migrate type that says which kind of allocation should use it. The numbering of the
//! migrate types changed in 4.4; the canonical enum here is version-independent and a kernel
//! profile lists the types in its own kernel's order.

use std::fmt;
use std::str::FromStr;

/// A zone type (`enum zone_type`). Order is the kernel's: lower zones first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum ZoneType {
    Dma,
    Dma32,
    Normal,
    HighMem,
    Movable,
    Device,
}

impl ZoneType {
    pub const ALL: [ZoneType; 6] = [
        ZoneType::Dma,
        ZoneType::Dma32,
        ZoneType::Normal,
        ZoneType::HighMem,
        ZoneType::Movable,
        ZoneType::Device,
    ];

    /// The name the kernel prints (`zone_names[]` in mm/page_alloc.c).
    pub fn name(self) -> &'static str {
        match self {
            ZoneType::Dma => "DMA",
            ZoneType::Dma32 => "DMA32",
            ZoneType::Normal => "Normal",
            ZoneType::HighMem => "HighMem",
            ZoneType::Movable => "Movable",
            ZoneType::Device => "Device",
        }
    }

    /// Position in the x86-64 zone list used for `lowmem_reserve` and zonelists.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ZoneType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ZoneType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ZoneType::ALL
            .into_iter()
            .find(|z| z.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown zone `{s}` (expected DMA, DMA32, Normal, HighMem, Movable or Device)"
                )
            })
    }
}

/// A migrate type, version-independent. Which types exist and their numbering (which decides the
/// order of pagetypeinfo columns and of the `(UEM)` letters in failure reports) come from the
/// kernel profile: 3.10 numbers Unmovable, Reclaimable, Movable, Reserve; 4.4+ numbers
/// Unmovable, Movable, Reclaimable, HighAtomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum MigrateType {
    Unmovable,
    Movable,
    Reclaimable,
    HighAtomic,
    Reserve,
    Cma,
    Isolate,
}

impl MigrateType {
    pub const COUNT: usize = 7;
    pub const ALL: [MigrateType; 7] = [
        MigrateType::Unmovable,
        MigrateType::Movable,
        MigrateType::Reclaimable,
        MigrateType::HighAtomic,
        MigrateType::Reserve,
        MigrateType::Cma,
        MigrateType::Isolate,
    ];

    /// The name /proc/pagetypeinfo prints (`migratetype_names[]` in mm/vmstat.c).
    pub fn name(self) -> &'static str {
        match self {
            MigrateType::Unmovable => "Unmovable",
            MigrateType::Movable => "Movable",
            MigrateType::Reclaimable => "Reclaimable",
            MigrateType::HighAtomic => "HighAtomic",
            MigrateType::Reserve => "Reserve",
            MigrateType::Cma => "CMA",
            MigrateType::Isolate => "Isolate",
        }
    }

    /// The letter `show_migration_types()` prints in failure reports.
    pub fn letter(self) -> char {
        match self {
            MigrateType::Unmovable => 'U',
            MigrateType::Movable => 'M',
            MigrateType::Reclaimable => 'E',
            MigrateType::HighAtomic => 'H',
            MigrateType::Reserve => 'R',
            MigrateType::Cma => 'C',
            MigrateType::Isolate => 'I',
        }
    }

    /// Dense index for per-type arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_letter(c: char) -> Option<MigrateType> {
        MigrateType::ALL.into_iter().find(|t| t.letter() == c)
    }
}

impl fmt::Display for MigrateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MigrateType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MigrateType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown migrate type `{s}` (expected Unmovable, Movable, Reclaimable, HighAtomic, Reserve, CMA or Isolate)"
                )
            })
    }
}

/// Pages are 4 KiB on every profile modelled here (`PAGE_SHIFT` = 12).
pub const PAGE_SHIFT: u32 = 12;
/// `PAGE_ALLOC_COSTLY_ORDER` (include/linux/mmzone.h): orders above this are "costly".
pub const PAGE_ALLOC_COSTLY_ORDER: u32 = 3;

/// A zone's watermarks in pages (`zone->_watermark[]`, include/linux/mmzone.h).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Watermarks {
    pub min: u64,
    pub low: u64,
    pub high: u64,
    /// `WMARK_PROMO` (6.x); 0 where the kernel has none.
    pub promo: u64,
    /// `watermark_boost` (5.0+): added to every mark by `wmark_pages()`.
    pub boost: u64,
}

/// What the watermark, fragmentation-index and compaction-suitability rules read of a zone's
/// free memory. Implemented by the engine's zones and by captured zones, so one rule serves both.
pub trait FreeArea {
    /// `NR_FREE_PAGES`: the zone's own free-page counter (not the sum of the per-order lines).
    fn free_pages(&self) -> u64;
    /// `free_area[order].nr_free`: free blocks of that order.
    fn nr_free(&self, order: u32) -> u64;
    /// Whether `free_area[order].free_list[mt]` is non-empty.
    fn has_free(&self, order: u32, mt: MigrateType) -> bool;
    /// `NR_FREE_CMA_PAGES`.
    fn free_cma(&self) -> u64 {
        0
    }
    /// `nr_reserved_highatomic` (4.4+).
    fn nr_reserved_highatomic(&self) -> u64 {
        0
    }
}
