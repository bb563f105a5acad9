//! Zone watermarks and the watermark check (mm/page_alloc.c).
//!
//! Every zone keeps a reserve of free pages the ordinary allocator does not touch. At boot the
//! kernel picks `vm.min_free_kbytes` (a square-root rule, raised by THP), splits it across the
//! lowmem zones by managed pages into each zone's *min* watermark, and puts *low* and *high*
//! above it (kswapd wakes below low and sleeps above high). A zone additionally protects
//! itself from allocations that could have used a higher zone (`lowmem_reserve`, printed as
//! `protection:` in /proc/zoneinfo). `__zone_watermark_ok()` decides whether a zone may serve
//! an order-N request: enough free pages above the mark and reserve, and (differently by
//! version) enough of them in large-enough blocks. [`watermark_check`] returns *why*, with the
//! numbers the kernel compared; [`zone_watermark_ok`] is the boolean.

use crate::kernel::gfp::GfpFlags;
use crate::kernel::profile::{
    LowmemReserveRule, Profile, WatermarkCheck, WatermarkFast, WatermarkGaps,
};
use crate::mm::mmzone::{FreeArea, MigrateType, Watermarks, ZoneType, PAGE_SHIFT};
use crate::mm::page_alloc::alloc_flags::{AllocFlags, Wmark};

/// `SWAP_CLUSTER_MAX`: the lower clamp of a highmem zone's min watermark.
const SWAP_CLUSTER_MAX: u64 = 32;
/// `MIGRATE_PCPTYPES`, used by the THP recommendation.
const MIGRATE_PCPTYPES: u64 = 3;

impl Watermarks {
    /// The mark every check uses: `_watermark[w] + watermark_boost`. Models `wmark_pages()`
    /// (include/linux/mmzone.h); the boost is 0 on kernels without boosting (before 5.0).
    #[inline]
    pub fn mark(self, w: Wmark) -> u64 {
        self.unboosted(w).saturating_add(self.boost)
    }

    /// `_watermark[w]` without the boost.
    pub fn unboosted(self, w: Wmark) -> u64 {
        match w {
            Wmark::Min => self.min,
            Wmark::Low => self.low,
            Wmark::High => self.high,
            Wmark::Promo => self.promo,
        }
    }
}

/// Floor of the square root, bit by bit as the kernel computes it. Models `int_sqrt()`
/// (lib/math/int_sqrt.c).
pub fn int_sqrt(mut x: u64) -> u64 {
    if x <= 1 {
        return x;
    }
    let mut m = 1u64 << ((63 - x.leading_zeros()) & !1);
    let mut y = 0u64;
    while m != 0 {
        let b = y + m;
        y >>= 1;
        if x >= b {
            x -= b;
            y += m;
        }
        m >>= 2;
    }
    y
}

/// The boot-time `min_free_kbytes`: `int_sqrt(lowmem_kbytes * 16)` clamped to
/// 128..=`Profile::min_free_kbytes_max`. `lowmem_kbytes` is `nr_free_buffer_pages() * 4`, which at
/// boot is the managed pages of the zones up to Normal. Models `init_per_zone_wmark_min()` (6.x:
/// `calculate_min_free_kbytes()`).
pub fn default_min_free_kbytes(profile: &Profile, lowmem_kbytes: u64) -> u64 {
    int_sqrt(lowmem_kbytes.saturating_mul(16)).clamp(128, profile.min_free_kbytes_max)
}

/// The `min_free_kbytes` THP asks for: `pageblock_nr_pages × nr_zones × (2 + 3²)` pages, at most
/// 5 % of `nr_free_buffer_pages`, in kB. The kernel raises `min_free_kbytes` to it if it is
/// larger. `nr_zones` counts populated zones, from 4.19 only those up to Normal
/// (`Profile::thp_counts_movable_zone`). Models `set_recommended_min_free_kbytes()`
/// (3.10: mm/huge_memory.c; 4.19+: mm/khugepaged.c).
pub fn thp_recommended_min_free_kbytes(
    profile: &Profile,
    populated: &[ZoneType],
    pageblock_nr_pages: u64,
    nr_free_buffer_pages: u64,
) -> u64 {
    let nr_zones = populated
        .iter()
        .filter(|&&z| profile.thp_counts_movable_zone || z <= ZoneType::Normal)
        .count() as u64;
    let per_zone = 2 + MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
    let recommended = pageblock_nr_pages
        .saturating_mul(nr_zones)
        .saturating_mul(per_zone);
    recommended.min(nr_free_buffer_pages / 20) << (PAGE_SHIFT - 10)
}

/// `mult_frac(x, n, d)` (include/linux/math.h): `x * n / d` without overflow, in the kernel's order
/// of integer steps.
fn mult_frac(x: u64, n: u64, d: u64) -> u64 {
    let (x, n, d) = (u128::from(x), u128::from(n), u128::from(d));
    u64::try_from((x / d) * n + ((x % d) * n) / d).unwrap_or(u64::MAX)
}

/// Whether `__setup_per_zone_wmarks()` gives a zone the fixed small highmem min.
fn highmem_like(profile: &Profile, zone: ZoneType) -> bool {
    zone == ZoneType::HighMem || (profile.wmark_movable_as_highmem && zone == ZoneType::Movable)
}

/// Each zone's min/low/high (and promo) watermarks, in the order of `zones` (zone type and
/// managed pages). `pages_min = min_free_kbytes / 4` is shared out by managed pages over the
/// lowmem zones (`tmp`); a highmem zone (6.18: also Movable) gets `clamp(managed/1024, 32, 128)`
/// as min but keeps `tmp` for its gaps. Low/high are `min + tmp/4`, `min + tmp/2` before 4.6 and
/// `min + gap`, `min + 2·gap` with `gap = max(tmp/4, managed·watermark_scale_factor/10000)` from
/// 4.6; 6.x adds `promo = high + gap`. Boost is reset to 0. Models `__setup_per_zone_wmarks()`.
pub fn setup_per_zone_wmarks(
    profile: &Profile,
    min_free_kbytes: u64,
    watermark_scale_factor: u32,
    zones: &[(ZoneType, u64)],
) -> Vec<Watermarks> {
    let pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
    let lowmem_pages: u64 = zones
        .iter()
        .filter(|(z, _)| !highmem_like(profile, *z))
        .map(|(_, managed)| managed)
        .sum();
    zones
        .iter()
        .map(|&(zone, managed)| {
            let tmp = if lowmem_pages == 0 {
                0
            } else {
                (u128::from(pages_min) * u128::from(managed) / u128::from(lowmem_pages)) as u64
            };
            let min = if highmem_like(profile, zone) {
                (managed / 1024).clamp(SWAP_CLUSTER_MAX, 128)
            } else {
                tmp
            };
            match profile.watermark_gaps {
                WatermarkGaps::Quarter => Watermarks {
                    min,
                    low: min + (tmp >> 2),
                    high: min + (tmp >> 1),
                    ..Watermarks::default()
                },
                WatermarkGaps::ScaleFactor => {
                    let gap = (tmp >> 2).max(mult_frac(
                        managed,
                        u64::from(watermark_scale_factor),
                        10000,
                    ));
                    let high = min + 2 * gap;
                    Watermarks {
                        min,
                        low: min + gap,
                        high,
                        promo: if profile.promo_watermark {
                            high + gap
                        } else {
                            0
                        },
                        boost: 0,
                    }
                }
            }
        })
        .collect()
}

/// The `lowmem_reserve` ("protection") arrays: row `i` is zone `i`'s array, one entry per zone
/// index given, as /proc/zoneinfo prints it. Entry `j > i` is the managed pages of zones
/// `i+1..=j` divided by `ratio[i]` (zone `i`'s `lowmem_reserve_ratio`; missing entries use the
/// profile's defaults); entries `j ≤ i` are 0. A ratio below 1 is forced to 1 up to 4.9, gives
/// no reserve in 4.19, and from 5.x a zone without managed pages also gets none
/// (`Profile::lowmem_reserve`). Pass MAX_NR_ZONES entries, 0 for unpopulated zones. Models
/// `setup_per_zone_lowmem_reserve()`.
pub fn setup_per_zone_lowmem_reserve(
    profile: &Profile,
    ratio: &[u32],
    managed_by_zone_index: &[u64],
) -> Vec<Vec<u64>> {
    let n = managed_by_zone_index.len();
    (0..n)
        .map(|i| {
            let r = ratio
                .get(i)
                .or_else(|| profile.lowmem_reserve_ratio.get(i))
                .copied()
                .unwrap_or(0);
            let divisor = match profile.lowmem_reserve {
                LowmemReserveRule::RatioForcedToOne => Some(u64::from(r.max(1))),
                LowmemReserveRule::ZeroRatioNoReserve => (r >= 1).then_some(u64::from(r)),
                LowmemReserveRule::ZeroRatioOrEmptyNoReserve => {
                    (r >= 1 && managed_by_zone_index[i] > 0).then_some(u64::from(r))
                }
            };
            let mut upper = 0u64;
            (0..n)
                .map(|j| {
                    if j <= i {
                        return 0;
                    }
                    upper = upper.saturating_add(managed_by_zone_index[j]);
                    divisor.map_or(0, |d| upper / d)
                })
                .collect()
        })
        .collect()
}

/// Why `__zone_watermark_ok()` said yes or no, with the numbers it compared (pages; `free` and
/// `min` are the kernel's signed values after its adjustments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkVerdict {
    Ok,
    /// The order-0 test failed: `free ≤ min + reserve`. `free` is NR_FREE_PAGES minus
    /// `2^order − 1`, minus free CMA pages without ALLOC_CMA, minus the highatomic reserve
    /// (4.4+, unless the request may use it); `min` is the mark after ALLOC_HIGH / HARDER / OOM.
    BelowMin {
        free: i64,
        min: i64,
        reserve: u64,
    },
    /// Up to 4.3: after removing the free pages of orders `0..=order` the rest does not exceed
    /// the mark halved `order + 1` times (`free ≤ min`).
    BelowMinAtOrder {
        order: u32,
        free: i64,
        min: i64,
    },
    /// 4.4+: no free block of `order` or larger on a list the request may use.
    NoSuitableBlock {
        order: u32,
    },
}

impl WatermarkVerdict {
    pub fn is_ok(self) -> bool {
        self == WatermarkVerdict::Ok
    }
}

impl std::fmt::Display for WatermarkVerdict {
    /// The comparison the kernel made, for `analyze` and `explain`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            WatermarkVerdict::Ok => f.write_str("watermark ok"),
            WatermarkVerdict::BelowMin { free, min, reserve } => write!(
                f,
                "below watermark: free {free} <= watermark {min} + lowmem_reserve {reserve}"
            ),
            WatermarkVerdict::BelowMinAtOrder { order, free, min } => write!(
                f,
                "below watermark above order {order}: {free} pages free in blocks of order > {order} <= {min}"
            ),
            WatermarkVerdict::NoSuitableBlock { order } => {
                write!(f, "no free block of order >= {order} on a usable free list")
            }
        }
    }
}

/// The pages of free memory a request may not count before the order-0 test (4.4+). Models
/// `__zone_watermark_unusable_free()` (5.x; the same steps are inline in 4.x): `2^order − 1`, the
/// highatomic reserve unless the request may use it, and free CMA pages without ALLOC_CMA.
fn unusable_free(profile: &Profile, zone: &impl FreeArea, order: u32, flags: AllocFlags) -> i64 {
    let reserves = match profile.watermark_check {
        WatermarkCheck::FreeListsReserves => {
            AllocFlags::NON_BLOCK
                | AllocFlags::MIN_RESERVE
                | AllocFlags::HIGHATOMIC
                | AllocFlags::OOM
        }
        _ => AllocFlags::HARDER | AllocFlags::OOM,
    };
    let mut unusable = (1i64 << order.min(62)) - 1;
    if !flags.intersects(reserves) {
        unusable += zone.nr_reserved_highatomic() as i64;
    }
    if !flags.contains(AllocFlags::CMA) {
        unusable += zone.free_cma() as i64;
    }
    unusable
}

/// The mark `__zone_watermark_ok()` compares with after the request's rights lower it, per
/// `Profile::watermark_check`: up to 4.3 ALLOC_HIGH halves it and ALLOC_HARDER takes a quarter;
/// 4.4 – 6.3 ALLOC_HIGH halves it, then ALLOC_OOM (4.15+) halves it again or else ALLOC_HARDER
/// takes a quarter; 6.4+ ALLOC_MIN_RESERVE halves it (ALLOC_NON_BLOCK a further quarter) and
/// ALLOC_OOM halves it.
#[inline]
pub fn effective_mark(profile: &Profile, mark: u64, flags: AllocFlags) -> i64 {
    let mut min = mark as i64;
    match profile.watermark_check {
        WatermarkCheck::PerOrderLoop => {
            if flags.contains(AllocFlags::HIGH) {
                min -= min / 2;
            }
            if flags.contains(AllocFlags::HARDER) {
                min -= min / 4;
            }
        }
        WatermarkCheck::FreeLists { .. } => {
            if flags.contains(AllocFlags::HIGH) {
                min -= min / 2;
            }
            if flags.contains(AllocFlags::OOM) {
                min -= min / 2;
            } else if flags.contains(AllocFlags::HARDER) {
                min -= min / 4;
            }
        }
        WatermarkCheck::FreeListsReserves => {
            if flags.contains(AllocFlags::MIN_RESERVE) {
                min -= min / 2;
                if flags.contains(AllocFlags::NON_BLOCK) {
                    min -= min / 4;
                }
            }
            if flags.contains(AllocFlags::OOM) {
                min -= min / 2;
            }
        }
    }
    min
}

/// The watermark check with its reason. `mark` is the mark to test (callers take it from
/// [`Watermarks::mark`], which includes the boost), `lowmem_reserve` the zone's reserve for the
/// request's classzone / highest_zoneidx. ALLOC_NO_WATERMARKS is the caller's business (the
/// kernel skips the call). An order the profile does not have (≥ `Profile::orders`) fails with
/// `NoSuitableBlock`. Models `__zone_watermark_ok()` per `Profile::watermark_check`
/// (KERNEL_MM.md 2.1 – 2.3).
#[inline]
pub fn watermark_check(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    mark: u64,
    lowmem_reserve: u64,
    flags: AllocFlags,
) -> WatermarkVerdict {
    if order >= profile.orders {
        return WatermarkVerdict::NoSuitableBlock { order };
    }
    let mut free = zone.free_pages() as i64;
    let mut min = effective_mark(profile, mark, flags);
    let reserve = lowmem_reserve as i64;
    match profile.watermark_check {
        WatermarkCheck::PerOrderLoop => {
            free -= (1i64 << order) - 1;
            let free_cma = if flags.contains(AllocFlags::CMA) {
                0
            } else {
                zone.free_cma() as i64
            };
            if free - free_cma <= min + reserve {
                return WatermarkVerdict::BelowMin {
                    free: free - free_cma,
                    min,
                    reserve: lowmem_reserve,
                };
            }
            for o in 0..order {
                free -= (zone.nr_free(o) << o) as i64;
                min >>= 1;
                if free <= min {
                    return WatermarkVerdict::BelowMinAtOrder {
                        order: o,
                        free,
                        min,
                    };
                }
            }
            WatermarkVerdict::Ok
        }
        WatermarkCheck::FreeLists { harder_any_list } => {
            free -= unusable_free(profile, zone, order, flags);
            let harder = flags.intersects(AllocFlags::HARDER | AllocFlags::OOM);
            if free <= min + reserve {
                return WatermarkVerdict::BelowMin {
                    free,
                    min,
                    reserve: lowmem_reserve,
                };
            }
            free_list_search(
                profile,
                zone,
                order,
                flags,
                harder,
                harder && harder_any_list,
            )
        }
        WatermarkCheck::FreeListsReserves => {
            free -= unusable_free(profile, zone, order, flags);
            if free <= min + reserve {
                return WatermarkVerdict::BelowMin {
                    free,
                    min,
                    reserve: lowmem_reserve,
                };
            }
            let highatomic = flags.intersects(AllocFlags::HIGHATOMIC | AllocFlags::OOM);
            free_list_search(profile, zone, order, flags, highatomic, false)
        }
    }
}

/// The high-order part of the 4.4+ check: some order ≥ `order` has a free block on the
/// Unmovable, Movable or Reclaimable list, or on CMA with ALLOC_CMA, or on HighAtomic when
/// `use_highatomic`; `any_list` (4.4 – 4.6 ALLOC_HARDER) accepts any block at all.
fn free_list_search(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    flags: AllocFlags,
    use_highatomic: bool,
    any_list: bool,
) -> WatermarkVerdict {
    if order == 0 {
        return WatermarkVerdict::Ok;
    }
    for o in order..profile.orders {
        if zone.nr_free(o) == 0 {
            continue;
        }
        let found = any_list
            || [
                MigrateType::Unmovable,
                MigrateType::Movable,
                MigrateType::Reclaimable,
            ]
            .into_iter()
            .any(|mt| zone.has_free(o, mt))
            || (flags.contains(AllocFlags::CMA) && zone.has_free(o, MigrateType::Cma))
            || (use_highatomic && zone.has_free(o, MigrateType::HighAtomic));
        if found {
            return WatermarkVerdict::Ok;
        }
    }
    WatermarkVerdict::NoSuitableBlock { order }
}

/// Whether the zone passes the watermark check. Models `zone_watermark_ok()` /
/// `__zone_watermark_ok()`; see [`watermark_check`] for the reason.
pub fn zone_watermark_ok(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    mark: u64,
    lowmem_reserve: u64,
    flags: AllocFlags,
) -> bool {
    watermark_check(profile, zone, order, mark, lowmem_reserve, flags).is_ok()
}

/// The check `get_page_from_freelist()` makes, against the mark `flags` selects (boosted).
/// Models `zone_watermark_fast()` per `Profile::watermark_fast`: 4.8 – 4.19 pass order 0 on
/// `free − free_cma > mark + reserve` without subtracting the highatomic reserve; 5.x+ retry an
/// order-0 `__GFP_ATOMIC` (6.3+: ALLOC_MIN_RESERVE) request at WMARK_MIN against the unboosted
/// min when the boosted check fails. Up to 4.7 this is plain `zone_watermark_ok()`.
#[inline]
pub fn zone_watermark_fast(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    wmarks: &Watermarks,
    lowmem_reserve: u64,
    flags: AllocFlags,
    gfp: &GfpFlags,
) -> WatermarkVerdict {
    let mark = wmarks.mark(flags.wmark());
    let check = |mark| watermark_check(profile, zone, order, mark, lowmem_reserve, flags);
    let boost_retry = match profile.watermark_fast {
        WatermarkFast::None => return check(mark),
        WatermarkFast::Order0IgnoresHighAtomic => {
            let free_cma = if flags.contains(AllocFlags::CMA) {
                0
            } else {
                zone.free_cma()
            };
            if order == 0
                && zone.free_pages() as i64 - free_cma as i64 > (mark + lowmem_reserve) as i64
            {
                return WatermarkVerdict::Ok;
            }
            return check(mark);
        }
        WatermarkFast::BoostRetryGfpAtomic => gfp.atomic,
        WatermarkFast::BoostRetryMinReserve => flags.contains(AllocFlags::MIN_RESERVE),
    };
    // The order-0 shortcut on usable free pages gives the same answer as the full check here.
    let verdict = check(mark);
    if !verdict.is_ok()
        && order == 0
        && boost_retry
        && wmarks.boost > 0
        && flags.wmark() == Wmark::Min
    {
        return check(wmarks.unboosted(Wmark::Min));
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile;

    /// A zone given by its free-block counts per order and the migrate types on each order's
    /// lists (the same for every order, for brevity).
    struct Zone {
        counts: Vec<u64>,
        types: Vec<MigrateType>,
        highatomic: u64,
        cma: u64,
    }

    impl Zone {
        fn new(counts: &[u64], types: &[MigrateType]) -> Zone {
            Zone {
                counts: counts.to_vec(),
                types: types.to_vec(),
                highatomic: 0,
                cma: 0,
            }
        }
    }

    impl FreeArea for Zone {
        fn free_pages(&self) -> u64 {
            self.counts.iter().enumerate().map(|(o, n)| n << o).sum()
        }
        fn nr_free(&self, order: u32) -> u64 {
            self.counts.get(order as usize).copied().unwrap_or(0)
        }
        fn has_free(&self, order: u32, mt: MigrateType) -> bool {
            self.nr_free(order) > 0 && self.types.contains(&mt)
        }
        fn free_cma(&self) -> u64 {
            self.cma
        }
        fn nr_reserved_highatomic(&self) -> u64 {
            self.highatomic
        }
    }

    const UME: &[MigrateType] = &[
        MigrateType::Unmovable,
        MigrateType::Movable,
        MigrateType::Reclaimable,
    ];

    #[test]
    fn int_sqrt_is_the_floor_square_root() {
        for x in [0u64, 1, 2, 3, 4, 15, 16, 17, 99, 100, 62_295_424, u64::MAX] {
            let y = int_sqrt(x);
            assert!(u128::from(y) * u128::from(y) <= u128::from(x), "{x}");
            assert!(u128::from(y + 1) * u128::from(y + 1) > u128::from(x), "{x}");
        }
    }

    #[test]
    fn default_min_free_kbytes_and_clamps() {
        let p = profile("6.18").unwrap();
        // KERNEL_MM.md 1.2: int_sqrt(973366·4·16) = 7892.
        assert_eq!(default_min_free_kbytes(p, 973_366 * 4), 7892);
        assert_eq!(default_min_free_kbytes(p, 100), 128);
        assert_eq!(default_min_free_kbytes(p, 1 << 40), 262_144);
        assert_eq!(
            default_min_free_kbytes(profile("3.10").unwrap(), 1 << 40),
            65_536
        );
        assert_eq!(
            default_min_free_kbytes(profile("3.10-rhel7").unwrap(), 1 << 40),
            262_144
        );
    }

    #[test]
    fn thp_recommendation() {
        let zones = [ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal];
        for name in ["3.10", "6.18"] {
            assert_eq!(
                thp_recommended_min_free_kbytes(profile(name).unwrap(), &zones, 512, 4_066_850),
                67_584
            );
        }
        let with_movable = [
            ZoneType::Dma,
            ZoneType::Dma32,
            ZoneType::Normal,
            ZoneType::Movable,
        ];
        assert_eq!(
            thp_recommended_min_free_kbytes(profile("3.10").unwrap(), &with_movable, 512, 1 << 30),
            90_112
        );
        assert_eq!(
            thp_recommended_min_free_kbytes(profile("4.19").unwrap(), &with_movable, 512, 1 << 30),
            67_584
        );
        // Capped at 5 % of lowmem: 100000/20 = 5000 pages = 20000 kB.
        assert_eq!(
            thp_recommended_min_free_kbytes(profile("3.10").unwrap(), &zones, 512, 100_000),
            20_000
        );
    }

    #[test]
    fn highmem_like_zones_get_the_small_fixed_min() {
        let zones = [(ZoneType::Normal, 1_000_000), (ZoneType::Movable, 500_000)];
        let w = setup_per_zone_wmarks(profile("6.18").unwrap(), 67_584, 10, &zones);
        // Movable is highmem-like in 6.18: all of pages_min goes to Normal.
        assert_eq!(w[0].min, 16_896);
        assert_eq!(w[1].min, 128);
        let w = setup_per_zone_wmarks(profile("5.15").unwrap(), 67_584, 10, &zones);
        assert_eq!(w[0].min, 16_896 * 2 / 3);
        assert_eq!(w[1].min, 16_896 / 3);
    }

    #[test]
    fn lowmem_reserve_rules_for_zero_ratio_and_empty_zones() {
        let managed = [0, 1000, 2560, 0];
        let ratio = [256, 0, 32, 0];
        let r = setup_per_zone_lowmem_reserve(profile("3.10").unwrap(), &ratio, &managed);
        assert_eq!(r[0], vec![0, 3, 13, 13]);
        assert_eq!(r[1], vec![0, 0, 2560, 2560], "ratio 0 forced to 1");
        let r = setup_per_zone_lowmem_reserve(profile("4.19").unwrap(), &ratio, &managed);
        assert_eq!(r[0], vec![0, 3, 13, 13]);
        assert_eq!(r[1], vec![0, 0, 0, 0]);
        let r = setup_per_zone_lowmem_reserve(profile("5.15").unwrap(), &ratio, &managed);
        assert_eq!(r[0], vec![0, 0, 0, 0], "empty DMA zone has no reserve");
        assert_eq!(r[2], vec![0, 0, 0, 0]);
    }

    #[test]
    fn order_2_rejected_by_the_3_10_loop_accepted_from_4_4() {
        // 2000 order-0 pages and one order-2 block; mark 1000.
        // 3.10: free = 2004 − 3 = 2001 > 1000; o=0: free = 1, min = 500 → fail.
        // 4.4+: 2001 > 1000 and an order-2 block exists → OK.
        let zone = Zone::new(&[2000, 0, 1], UME);
        let flags = AllocFlags::WMARK_MIN;
        assert_eq!(
            watermark_check(profile("3.10").unwrap(), &zone, 2, 1000, 0, flags),
            WatermarkVerdict::BelowMinAtOrder {
                order: 0,
                free: 1,
                min: 500
            }
        );
        for name in ["4.4", "4.19", "6.18"] {
            assert_eq!(
                watermark_check(profile(name).unwrap(), &zone, 2, 1000, 0, flags),
                WatermarkVerdict::Ok,
                "{name}"
            );
        }
        // Without any order ≥ 2 block the 4.4+ check says why.
        let frag = Zone::new(&[2000, 10], UME);
        assert_eq!(
            watermark_check(profile("6.18").unwrap(), &frag, 2, 1000, 0, flags),
            WatermarkVerdict::NoSuitableBlock { order: 2 }
        );
    }

    #[test]
    fn atomic_requests_dig_to_three_eighths_of_the_mark() {
        // Mark 2000: ALLOC_HIGH halves it (1000), HARDER / NON_BLOCK takes a quarter (750).
        let atomic = |name: &str| {
            let p = profile(name).unwrap();
            let gfp = p.gfp.flags(p.gfp.parse("GFP_ATOMIC").unwrap());
            crate::mm::page_alloc::alloc_flags::gfp_to_alloc_flags(p, &gfp, 0)
        };
        for name in ["3.10", "4.4", "4.19", "5.15", "6.18"] {
            let p = profile(name).unwrap();
            assert_eq!(
                watermark_check(p, &Zone::new(&[750], UME), 0, 2000, 0, atomic(name)),
                WatermarkVerdict::BelowMin {
                    free: 750,
                    min: 750,
                    reserve: 0
                },
                "{name}"
            );
            assert!(
                zone_watermark_ok(p, &Zone::new(&[751], UME), 0, 2000, 0, atomic(name)),
                "{name}"
            );
            // ALLOC_HIGH alone: half the mark.
            assert_eq!(
                watermark_check(p, &Zone::new(&[1000], UME), 0, 2000, 0, AllocFlags::HIGH),
                WatermarkVerdict::BelowMin {
                    free: 1000,
                    min: 1000,
                    reserve: 0
                },
                "{name}"
            );
        }
        // 6.18 GFP_NOWAIT (NON_BLOCK without MIN_RESERVE) gets no discount at all.
        let p = profile("6.18").unwrap();
        let nowait = p.gfp.flags(p.gfp.parse("GFP_NOWAIT").unwrap());
        let f = crate::mm::page_alloc::alloc_flags::gfp_to_alloc_flags(p, &nowait, 0);
        assert_eq!(
            watermark_check(p, &Zone::new(&[1000], UME), 0, 1500, 0, f),
            WatermarkVerdict::BelowMin {
                free: 1000,
                min: 1500,
                reserve: 0
            }
        );
        // ALLOC_OOM (4.15+) halves the mark again instead of the HARDER quarter.
        assert_eq!(
            watermark_check(
                profile("4.19").unwrap(),
                &Zone::new(&[500], UME),
                0,
                2000,
                0,
                AllocFlags::HIGH | AllocFlags::OOM
            ),
            WatermarkVerdict::BelowMin {
                free: 500,
                min: 500,
                reserve: 0
            }
        );
    }

    #[test]
    fn highatomic_and_cma_pages_are_not_free_for_ordinary_requests() {
        let mut zone = Zone::new(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 4], &[MigrateType::HighAtomic]);
        zone.highatomic = 512;
        let p = profile("4.19").unwrap();
        // 2048 free, 512 of them reserved highatomic: 2048 − 511 − 512 = 1025 ≤ 1025.
        assert_eq!(
            watermark_check(p, &zone, 9, 1025, 0, AllocFlags::WMARK_MIN),
            WatermarkVerdict::BelowMin {
                free: 1025,
                min: 1025,
                reserve: 0
            }
        );
        assert_eq!(
            watermark_check(p, &zone, 9, 100, 0, AllocFlags::WMARK_MIN),
            WatermarkVerdict::NoSuitableBlock { order: 9 }
        );
        assert!(zone_watermark_ok(p, &zone, 9, 100, 0, AllocFlags::HARDER));
        let p618 = profile("6.18").unwrap();
        assert!(!zone_watermark_ok(
            p618,
            &zone,
            9,
            100,
            0,
            AllocFlags::NON_BLOCK
        ));
        assert!(zone_watermark_ok(
            p618,
            &zone,
            9,
            100,
            0,
            AllocFlags::HIGHATOMIC
        ));
        // 4.4: ALLOC_HARDER takes any non-empty list (harder_any_list), even Isolate.
        let iso = Zone::new(&[0, 0, 0, 0, 4], &[MigrateType::Isolate]);
        assert!(zone_watermark_ok(
            profile("4.4").unwrap(),
            &iso,
            4,
            10,
            0,
            AllocFlags::HARDER
        ));
        assert!(!zone_watermark_ok(
            profile("4.19").unwrap(),
            &iso,
            4,
            10,
            0,
            AllocFlags::HARDER
        ));
        // CMA: free CMA pages only count with ALLOC_CMA (3.10: only in the first comparison).
        let mut cma = Zone::new(&[1000], UME);
        cma.cma = 600;
        for name in ["3.10", "4.19", "6.18"] {
            let p = profile(name).unwrap();
            assert!(
                !zone_watermark_ok(p, &cma, 0, 500, 0, AllocFlags::WMARK_MIN),
                "{name}"
            );
            assert!(
                zone_watermark_ok(p, &cma, 0, 500, 0, AllocFlags::CMA),
                "{name}"
            );
        }
    }

    #[test]
    fn watermark_fast_variants() {
        let mut zone = Zone::new(&[1000], UME);
        zone.highatomic = 200;
        let gfp = GfpFlags::default();
        let w = Watermarks {
            min: 900,
            low: 950,
            high: 1000,
            promo: 0,
            boost: 0,
        };
        // 4.19's order-0 shortcut ignores the highatomic reserve: 1000 > 900.
        assert!(zone_watermark_fast(
            profile("4.19").unwrap(),
            &zone,
            0,
            &w,
            0,
            AllocFlags::WMARK_MIN,
            &gfp
        )
        .is_ok());
        assert_eq!(
            zone_watermark_fast(
                profile("5.15").unwrap(),
                &zone,
                0,
                &w,
                0,
                AllocFlags::WMARK_MIN,
                &gfp
            ),
            WatermarkVerdict::BelowMin {
                free: 800,
                min: 900,
                reserve: 0
            }
        );
        // 5.15: an order-0 __GFP_ATOMIC request at min ignores the boost.
        let zone = Zone::new(&[1000], UME);
        let boosted = Watermarks {
            min: 600,
            low: 700,
            high: 800,
            promo: 0,
            boost: 512,
        };
        let p = profile("5.15").unwrap();
        let atomic = p.gfp.flags(p.gfp.parse("GFP_ATOMIC").unwrap());
        assert_eq!(boosted.mark(Wmark::Min), 1112);
        assert!(
            !zone_watermark_fast(p, &zone, 0, &boosted, 0, AllocFlags::WMARK_MIN, &gfp).is_ok()
        );
        assert!(
            zone_watermark_fast(p, &zone, 0, &boosted, 0, AllocFlags::WMARK_MIN, &atomic).is_ok()
        );
        let p = profile("6.18").unwrap();
        assert!(
            zone_watermark_fast(p, &zone, 0, &boosted, 0, AllocFlags::MIN_RESERVE, &gfp).is_ok()
        );
        assert!(
            !zone_watermark_fast(p, &zone, 0, &boosted, 0, AllocFlags::WMARK_MIN, &atomic).is_ok()
        );
    }

    proptest::proptest! {
        /// In every version a lower mark or extra reserve rights (ALLOC_HIGH, HARDER /
        /// MIN_RESERVE|NON_BLOCK) never turn a pass into a failure, and the order-0 test is
        /// exactly `free − (2^order − 1) > min`.
        #[test]
        fn lower_marks_and_more_rights_never_hurt(
            counts in proptest::collection::vec(0u64..400, 11),
            order in 0u32..11,
            mark in 0u64..20_000,
            cut in 0u64..20_000,
            which in 0usize..8,
        ) {
            let p = &crate::kernel::PROFILES[which];
            let zone = Zone::new(&counts, UME);
            let base = AllocFlags::WMARK_MIN;
            let rights = AllocFlags::HIGH | AllocFlags::HARDER | AllocFlags::NON_BLOCK;
            if zone_watermark_ok(p, &zone, order, mark, 0, base) {
                proptest::prop_assert!(zone_watermark_ok(p, &zone, order, mark.saturating_sub(cut), 0, base));
                proptest::prop_assert!(zone_watermark_ok(p, &zone, order, mark, 0, rights));
            }
            let free = zone.free_pages() as i64 - ((1i64 << order) - 1);
            let below = matches!(
                watermark_check(p, &zone, order, mark, 0, base),
                WatermarkVerdict::BelowMin { .. }
            );
            proptest::prop_assert_eq!(below, free <= mark as i64);
        }
    }
}
