//! The words of include/linux/mmzone.h that the /proc readers (`capture/`) and the engine
//! (`mm/`) share: zone types and migrate types, with the names the kernel prints, and a zone's
//! watermarks. They sit below both, so the readers need nothing of the model and the model prints
//! through the readers' record types without an import cycle.

use std::fmt;
use std::str::FromStr;

/// A zone type (`enum zone_type`). Order is the kernel's: lower zones first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// A migrate type, version-independent. Which types exist and their numbering (which decides the
/// order of pagetypeinfo columns and of the `(UEM)` letters in failure reports) come from the
/// kernel profile: 3.10 numbers Unmovable, Reclaimable, Movable, Reserve; 4.4+ numbers
/// Unmovable, Movable, Reclaimable, HighAtomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Zone and migrate types print, parse and serialize as the names the kernel prints (`"DMA32"`,
/// `"HighAtomic"`); parsing ignores case and lists the names on error.
macro_rules! kernel_names {
    ($($t:ty => $what:literal),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = <$t>::ALL.iter().map(|v| v.name()).collect();
                        format!("unknown {} `{s}` (expected one of {})", $what, names.join(", "))
                    })
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    )*};
}
kernel_names!(ZoneType => "zone", MigrateType => "migrate type");

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
