//! `ALLOC_*` flags (mm/internal.h): how an allocation attempt is allowed to use the zones.
//!
//! The allocator turns the caller's GFP mask into a small set of flags before it looks at a zone:
//! which watermark to check (min, low, high, promo), how far below it the request may dig
//! (ALLOC_HIGH / ALLOC_HARDER before 6.3; ALLOC_MIN_RESERVE / ALLOC_NON_BLOCK /
//! ALLOC_HIGHATOMIC from 6.3), whether CMA pageblocks count, whether the fast path may split a
//! foreign pageblock (ALLOC_NOFRAGMENT, 5.0+), and whether watermarks are ignored altogether.
//! The fast path uses [`fast_path_alloc_flags`]; the slow path recomputes them with
//! [`gfp_to_alloc_flags`]. The rule for each kernel is `Profile::alloc_flags`.

use crate::kernel::gfp::GfpFlags;
use crate::kernel::profile::{AllocFlagsRule, Profile};
use crate::mm::mmzone::ZoneType;
use std::fmt;
use std::ops::BitOr;

/// Which watermark a check uses (`enum zone_watermarks`: WMARK_MIN, LOW, HIGH, PROMO).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Wmark {
    Min,
    Low,
    High,
    /// 6.x only (`WMARK_PROMO`).
    Promo,
}

/// A set of `ALLOC_*` flags plus the watermark selection (`alloc_flags & ALLOC_WMARK_MASK`).
#[derive(Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AllocFlags(u16);

impl AllocFlags {
    /// ALLOC_WMARK_MIN (the empty set: the selection bits are 0).
    pub const WMARK_MIN: AllocFlags = AllocFlags(0);
    pub const WMARK_LOW: AllocFlags = AllocFlags(1);
    pub const WMARK_HIGH: AllocFlags = AllocFlags(2);
    /// ALLOC_WMARK_PROMO (6.x).
    pub const WMARK_PROMO: AllocFlags = AllocFlags(3);
    const WMARK_MASK: u16 = 3;
    /// ALLOC_NO_WATERMARKS: the caller skips the watermark check (`__GFP_MEMALLOC`).
    pub const NO_WATERMARKS: AllocFlags = AllocFlags(1 << 2);
    /// ALLOC_HIGH (`__GFP_HIGH`): the min mark is halved.
    pub const HIGH: AllocFlags = AllocFlags(1 << 3);
    /// ALLOC_MIN_RESERVE, the 6.3+ name of ALLOC_HIGH (same bit, `__GFP_HIGH`).
    pub const MIN_RESERVE: AllocFlags = AllocFlags::HIGH;
    /// ALLOC_HARDER (before 6.3): the mark is lowered by a further quarter; highatomic usable.
    pub const HARDER: AllocFlags = AllocFlags(1 << 4);
    /// ALLOC_NON_BLOCK (6.3+): cannot direct-reclaim; with MIN_RESERVE the mark drops a quarter.
    pub const NON_BLOCK: AllocFlags = AllocFlags(1 << 5);
    /// ALLOC_HIGHATOMIC (6.3+): may use and create the MIGRATE_HIGHATOMIC reserve.
    pub const HIGHATOMIC: AllocFlags = AllocFlags(1 << 6);
    /// ALLOC_OOM (4.15+): an OOM victim; the mark is halved once more.
    pub const OOM: AllocFlags = AllocFlags(1 << 7);
    /// ALLOC_CMA: free pages in CMA pageblocks count.
    pub const CMA: AllocFlags = AllocFlags(1 << 8);
    /// ALLOC_CPUSET: respect the cpuset's mems_allowed.
    pub const CPUSET: AllocFlags = AllocFlags(1 << 9);
    /// ALLOC_NOFRAGMENT (5.0+): the fast path does not fall back into a foreign pageblock
    /// smaller than a whole block.
    pub const NOFRAGMENT: AllocFlags = AllocFlags(1 << 10);
    /// ALLOC_KSWAPD (5.0+): the request may wake kswapd (`__GFP_KSWAPD_RECLAIM`).
    pub const KSWAPD: AllocFlags = AllocFlags(1 << 11);
    /// ALLOC_FAIR (3.12 – 4.7, RHEL 7): the fast path's first walk skips local zones whose
    /// allocation batch is spent (`Profile::fair_zone_alloc`).
    pub const FAIR: AllocFlags = AllocFlags(1 << 12);

    const NAMES: [(AllocFlags, &'static str); 11] = [
        (AllocFlags::NO_WATERMARKS, "ALLOC_NO_WATERMARKS"),
        (AllocFlags::HIGH, "ALLOC_HIGH"),
        (AllocFlags::HARDER, "ALLOC_HARDER"),
        (AllocFlags::NON_BLOCK, "ALLOC_NON_BLOCK"),
        (AllocFlags::HIGHATOMIC, "ALLOC_HIGHATOMIC"),
        (AllocFlags::OOM, "ALLOC_OOM"),
        (AllocFlags::CMA, "ALLOC_CMA"),
        (AllocFlags::CPUSET, "ALLOC_CPUSET"),
        (AllocFlags::NOFRAGMENT, "ALLOC_NOFRAGMENT"),
        (AllocFlags::KSWAPD, "ALLOC_KSWAPD"),
        (AllocFlags::FAIR, "ALLOC_FAIR"),
    ];

    /// Whether every flag of `other` is set (the watermark selection is not compared).
    pub fn contains(self, other: AllocFlags) -> bool {
        let bits = other.0 & !Self::WMARK_MASK;
        self.0 & bits == bits
    }

    /// Whether any flag of `other` is set.
    pub fn intersects(self, other: AllocFlags) -> bool {
        self.0 & other.0 & !Self::WMARK_MASK != 0
    }

    /// These flags without the flags of `other`.
    pub fn without(self, other: AllocFlags) -> AllocFlags {
        AllocFlags(self.0 & !(other.0 & !Self::WMARK_MASK))
    }

    /// The watermark these flags select.
    pub fn wmark(self) -> Wmark {
        match self.0 & Self::WMARK_MASK {
            0 => Wmark::Min,
            1 => Wmark::Low,
            2 => Wmark::High,
            _ => Wmark::Promo,
        }
    }

    /// The same flags checking against `w`.
    pub fn with_wmark(self, w: Wmark) -> AllocFlags {
        let sel = match w {
            Wmark::Min => 0,
            Wmark::Low => 1,
            Wmark::High => 2,
            Wmark::Promo => 3,
        };
        AllocFlags((self.0 & !Self::WMARK_MASK) | sel)
    }
}

impl BitOr for AllocFlags {
    type Output = AllocFlags;
    /// Union of the flags; the watermark selection of the two is OR-ed as the kernel does.
    fn bitor(self, rhs: AllocFlags) -> AllocFlags {
        AllocFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for AllocFlags {
    /// `ALLOC_WMARK_LOW|ALLOC_CPUSET|…` (ALLOC_HIGH is printed under its pre-6.3 name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wmark = match self.wmark() {
            Wmark::Min => "ALLOC_WMARK_MIN",
            Wmark::Low => "ALLOC_WMARK_LOW",
            Wmark::High => "ALLOC_WMARK_HIGH",
            Wmark::Promo => "ALLOC_WMARK_PROMO",
        };
        f.write_str(wmark)?;
        for (flag, name) in Self::NAMES.iter() {
            if self.contains(*flag) {
                write!(f, "|{name}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for AllocFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// ALLOC_CMA for a movable request. Models the CMA part of `gfp_to_alloc_flags()` /
/// `gfp_to_alloc_flags_cma()`: only MIGRATE_MOVABLE requests may use CMA pageblocks.
fn cma_flag(gfp: &GfpFlags) -> AllocFlags {
    if gfp.movable && !gfp.reclaimable {
        AllocFlags::CMA
    } else {
        AllocFlags::default()
    }
}

/// The slow path's flags. Models `gfp_to_alloc_flags()` (mm/page_alloc.c) per
/// `Profile::alloc_flags`, plus ALLOC_NO_WATERMARKS for `__GFP_MEMALLOC` without
/// `__GFP_NOMEMALLOC` (3.10 sets it here; 4.x+ in `__gfp_pfmemalloc_flags()`, applied from the
/// first retry). Task state (real-time tasks, PF_MEMALLOC, OOM victims) is not modelled.
/// `order` matters only from 6.3 (ALLOC_HIGHATOMIC for order > 0).
pub fn gfp_to_alloc_flags(profile: &Profile, gfp: &GfpFlags, order: u32) -> AllocFlags {
    let mut flags = AllocFlags::WMARK_MIN | AllocFlags::CPUSET;
    if gfp.high {
        flags = flags | AllocFlags::HIGH;
    }
    match profile.alloc_flags {
        AllocFlagsRule::V3_10 => {
            if !gfp.direct_reclaim {
                if !gfp.nomemalloc {
                    flags = flags | AllocFlags::HARDER;
                }
                flags = flags.without(AllocFlags::CPUSET);
            }
        }
        AllocFlagsRule::V4_4 | AllocFlagsRule::V5_0 => {
            if profile.alloc_flags == AllocFlagsRule::V5_0 && gfp.kswapd_reclaim {
                flags = flags | AllocFlags::KSWAPD;
            }
            if gfp.atomic {
                if !gfp.nomemalloc {
                    flags = flags | AllocFlags::HARDER;
                }
                flags = flags.without(AllocFlags::CPUSET);
            }
        }
        AllocFlagsRule::V6_3 => {
            if gfp.kswapd_reclaim {
                flags = flags | AllocFlags::KSWAPD;
            }
            if !gfp.direct_reclaim {
                if !gfp.nomemalloc {
                    flags = flags | AllocFlags::NON_BLOCK;
                    if order > 0 {
                        flags = flags | AllocFlags::HIGHATOMIC;
                    }
                }
                if flags.contains(AllocFlags::MIN_RESERVE) {
                    flags = flags.without(AllocFlags::CPUSET);
                }
            }
        }
    }
    if gfp.memalloc && !gfp.nomemalloc {
        flags = flags | AllocFlags::NO_WATERMARKS;
    }
    flags | cma_flag(gfp)
}

/// The fast path's flags: ALLOC_WMARK_LOW|ALLOC_CPUSET (cpusets as on every container host),
/// ALLOC_CMA for movable requests, ALLOC_FAIR for every request where the profile has the fair
/// zone allocation policy, and from 5.0 `alloc_flags_nofragment()`: ALLOC_KSWAPD from
/// `__GFP_KSWAPD_RECLAIM`, ALLOC_NOFRAGMENT when the preferred zone is Normal and DMA32 is
/// populated (pass `dma32_populated = true` on a single node: the kernel assumes it there).
/// Models `__alloc_pages_nodemask()` / `prepare_alloc_pages()` + `alloc_flags_nofragment()`.
pub fn fast_path_alloc_flags(
    profile: &Profile,
    gfp: &GfpFlags,
    preferred: ZoneType,
    dma32_populated: bool,
) -> AllocFlags {
    let mut flags = AllocFlags::WMARK_LOW | AllocFlags::CPUSET | cma_flag(gfp);
    if matches!(
        profile.alloc_flags,
        AllocFlagsRule::V5_0 | AllocFlagsRule::V6_3
    ) && gfp.kswapd_reclaim
    {
        flags = flags | AllocFlags::KSWAPD;
    }
    if profile.alloc_nofragment && preferred == ZoneType::Normal && dma32_populated {
        flags = flags | AllocFlags::NOFRAGMENT;
    }
    if profile.fair_zone_alloc {
        flags = flags | AllocFlags::FAIR;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile;

    fn slow(name: &str, gfp: &str, order: u32) -> AllocFlags {
        let p = profile(name).unwrap();
        gfp_to_alloc_flags(p, &p.gfp.flags(p.gfp.parse(gfp).unwrap()), order)
    }

    #[test]
    fn gfp_kernel_checks_min_in_the_slow_path() {
        assert_eq!(
            slow("3.10", "GFP_KERNEL", 6).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_CPUSET"
        );
        assert_eq!(
            slow("4.19", "GFP_KERNEL", 6).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_CPUSET"
        );
        assert_eq!(
            slow("5.15", "GFP_KERNEL", 6).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_CPUSET|ALLOC_KSWAPD"
        );
        assert_eq!(
            slow("6.18", "GFP_HIGHUSER_MOVABLE", 0).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_CMA|ALLOC_CPUSET|ALLOC_KSWAPD"
        );
    }

    #[test]
    fn gfp_atomic_per_version() {
        // 3.10: GFP_ATOMIC = __GFP_HIGH, cannot wait → HIGH|HARDER, no cpuset.
        assert_eq!(
            slow("3.10", "GFP_ATOMIC", 0).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_HIGH|ALLOC_HARDER"
        );
        // A 3.10 GFP_NOWAIT (0) is also HARDER: it cannot wait.
        assert!(slow("3.10", "GFP_NOWAIT", 0).contains(AllocFlags::HARDER));
        assert_eq!(
            slow("4.4", "GFP_ATOMIC", 0).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_HIGH|ALLOC_HARDER"
        );
        // 4.4+: GFP_NOWAIT has no __GFP_ATOMIC, so no HARDER.
        assert!(!slow("4.19", "GFP_NOWAIT", 0).contains(AllocFlags::HARDER));
        assert!(
            slow("4.19", "GFP_ATOMIC|__GFP_NOMEMALLOC", 0)
                == slow("4.19", "GFP_ATOMIC", 0).without(AllocFlags::HARDER)
        );
        assert_eq!(
            slow("6.18", "GFP_ATOMIC", 2).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_HIGH|ALLOC_NON_BLOCK|ALLOC_HIGHATOMIC|ALLOC_KSWAPD"
        );
        assert!(!slow("6.18", "GFP_ATOMIC", 0).contains(AllocFlags::HIGHATOMIC));
        // 6.18 GFP_NOWAIT: NON_BLOCK but no MIN_RESERVE, so the cpuset still applies.
        assert_eq!(
            slow("6.18", "GFP_NOWAIT", 0).to_string(),
            "ALLOC_WMARK_MIN|ALLOC_NON_BLOCK|ALLOC_CPUSET|ALLOC_KSWAPD"
        );
        assert!(slow("5.15", "GFP_KERNEL|__GFP_MEMALLOC", 0).contains(AllocFlags::NO_WATERMARKS));
    }

    #[test]
    fn fast_path_nofragment_from_5_0() {
        let run = |name: &str, zone, dma32| {
            let p = profile(name).unwrap();
            let gfp = p.gfp.flags(p.gfp.parse("GFP_KERNEL").unwrap());
            fast_path_alloc_flags(p, &gfp, zone, dma32).to_string()
        };
        assert_eq!(
            run("3.10", ZoneType::Normal, true),
            "ALLOC_WMARK_LOW|ALLOC_CPUSET"
        );
        assert_eq!(
            run("4.19", ZoneType::Normal, true),
            "ALLOC_WMARK_LOW|ALLOC_CPUSET"
        );
        assert_eq!(
            run("5.15", ZoneType::Normal, true),
            "ALLOC_WMARK_LOW|ALLOC_CPUSET|ALLOC_NOFRAGMENT|ALLOC_KSWAPD"
        );
        assert_eq!(
            run("5.15", ZoneType::Normal, false),
            "ALLOC_WMARK_LOW|ALLOC_CPUSET|ALLOC_KSWAPD"
        );
        assert_eq!(
            run("6.18", ZoneType::Dma32, true),
            "ALLOC_WMARK_LOW|ALLOC_CPUSET|ALLOC_KSWAPD"
        );
    }

    #[test]
    fn wmark_selection_round_trips() {
        for w in [Wmark::Min, Wmark::Low, Wmark::High, Wmark::Promo] {
            let f = (AllocFlags::HIGH | AllocFlags::CMA).with_wmark(w);
            assert_eq!(f.wmark(), w);
            assert!(f.contains(AllocFlags::HIGH | AllocFlags::CMA));
        }
        assert_eq!(AllocFlags::WMARK_LOW.wmark(), Wmark::Low);
    }
}
