//! Kernel profiles: every supported kernel as one `Profile` value.
//!
//! A profile picks, for each rule the simulator models, the variant that kernel implements
//! (KERNEL_MM.md gives the rule, the kernel function and the versions). Code that applies a rule
//! matches on the profile's enum for it; nothing else in the crate compares version numbers.
//! Where the source bracket is known but the exact release is not, the field's comment says so.

use super::gfp::GfpLayout;
use crate::mm::mmzone::MigrateType;

/// How `__setup_per_zone_wmarks()` spaces low and high above min.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkGaps {
    /// Up to 4.5: `low = min + tmp/4`, `high = min + tmp/2`.
    Quarter,
    /// 4.6+: `gap = max(tmp/4, managed * watermark_scale_factor / 10000)`, `low = min + gap`,
    /// `high = min + 2*gap`.
    ScaleFactor,
}

/// How `setup_per_zone_lowmem_reserve()` indexes `lowmem_reserve_ratio` and treats edge cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LowmemReserveRule {
    /// 3.10 – 4.9: the ratio array is indexed by the lower zone; a ratio < 1 is forced to 1.
    RatioForcedToOne,
    /// 4.19: a ratio < 1 gives no reserve.
    ZeroRatioNoReserve,
    /// 5.15+: no reserve if the ratio is 0 or the lower zone has no managed pages.
    ZeroRatioOrEmptyNoReserve,
}

/// The variant of `__zone_watermark_ok()` (KERNEL_MM.md 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WatermarkCheck {
    /// Up to 4.3: subtract the free pages of each order below the request and halve the mark at
    /// each order; migrate types are not looked at.
    PerOrderLoop,
    /// 4.4 – 6.2: after the order-0 test, succeed if any order ≥ the request has a block on the
    /// Unmovable, Movable or Reclaimable list (HighAtomic counts for ALLOC_HARDER).
    /// `harder_any_list`: 4.4 – 4.6 let an ALLOC_HARDER request pass on any non-empty list.
    FreeLists { harder_any_list: bool },
    /// 6.3+: the ALLOC_HARDER split into NON_BLOCK / MIN_RESERVE / HIGHATOMIC.
    FreeListsReserves,
}

/// The per-zone reserve of high-order blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ReserveKind {
    /// Up to 4.3: `MIGRATE_RESERVE` pageblocks set up from the min watermark
    /// (`setup_zone_migrate_reserve()`), used as the last fallback.
    MigrateReserve,
    /// 4.4+: `MIGRATE_HIGHATOMIC` blocks reserved on demand by high-order atomic allocations.
    HighAtomic,
}

/// Fallback stealing rules (`__rmqueue_fallback()` and friends, KERNEL_MM.md 6.6 – 6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FallbackRules {
    /// 3.10 – 4.3: largest block first; whole-block steal for order ≥ pageblock_order/2 or a
    /// reclaimable request; retype if ≥ half the block's pages moved; RESERVE last.
    V3_10,
    /// 4.4 – 4.12: `can_steal_fallback()` also for unmovable requests; retype on free pages only.
    V4_4,
    /// 4.13 – 6.11: free + "alike" pages ≥ half a block retypes it; a movable request that cannot
    /// steal takes the smallest fallback block instead of breaking a large one.
    V4_13,
    /// 6.12+ (exact release unconfirmed): `__rmqueue_claim` then `__rmqueue_steal`.
    V6_18,
}

/// The variant of `compaction_suitable()` (KERNEL_MM.md 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CompactionSuitability {
    /// 3.10: order-0 gate at `low + 2<<order` without lowmem_reserve; fragindex for every order.
    V3_10,
    /// 4.4 – 4.8: watermark at the order first (PARTIAL), then the 3.10 gates.
    V4_6,
    /// 4.9 – 6.x: gate at `(costly ? low : min) + 2<<order`; fragindex only for order > 3.
    V4_9,
    /// 6.18: `compaction_suit_allocation_order()`; same thresholds as 4.9.
    V6_18,
}

/// Proactive compaction thresholds (`fragmentation_score_wmark()`, KERNEL_MM.md 4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ProactiveRule {
    /// 5.9 – 6.x: `low = max(100 − proactiveness, 5)`, `high = min(low + 10, 100)`.
    V5_9,
    /// 6.18: `low = 100 − proactiveness`, `high = min(low + min(10, low/2), 100)`.
    V6_18,
}

/// Shape of the allocator slow path (`__alloc_pages_slowpath()`, KERNEL_MM.md 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlowPath {
    /// 3.10 – 4.6: async compaction → reclaim → (`should_alloc_retry`) → sync compaction.
    V3_10,
    /// 4.7: `should_reclaim_retry` / `should_compact_retry` for non-costly orders.
    V4_7,
    /// 4.8+: costly orders compact first; `compact_priority`.
    V4_8,
}

/// What creating a network namespace does to slab caches (`nf_conntrack_init_net()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ConntrackCache {
    /// `kmem_cache_create("nf_conntrack_%p")` per netns (3.10 – 4.4).
    PerNetnsPointer,
    /// `kmem_cache_create("nf_conntrack_%llu")` per netns (4.5/4.6, RHEL 7.9 backport).
    PerNetnsCounter,
    /// One global `nf_conntrack` cache (4.7+): netns creation makes no cache.
    Global,
}

/// A kernel version as data.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Profile {
    /// The name users pass to `--kernel` (`3.10`, `3.10-rhel7`, `6.1`, …).
    pub name: &'static str,
    /// What this profile stands for and which source tree its rules were read from.
    pub summary: &'static str,
    /// Number of buddy orders (`MAX_ORDER` exclusive, `NR_PAGE_ORDERS`): 11 on x86-64.
    pub orders: u32,
    /// `pageblock_order` (9 on x86-64 with hugetlb).
    pub pageblock_order: u32,
    /// Migrate types in the kernel's own enum order: the order of pagetypeinfo columns and of
    /// the letters in failure reports.
    pub migrate_types: &'static [MigrateType],
    /// Upper clamp of the default `min_free_kbytes` (`init_per_zone_wmark_min()`).
    pub min_free_kbytes_max: u64,
    /// A value written to `vm.min_free_kbytes` survives recomputation (`user_min_free_kbytes`).
    pub user_min_free_kbytes_kept: bool,
    /// `set_recommended_min_free_kbytes()` counts ZONE_MOVABLE (3.10 – 4.x) or not (4.19+).
    pub thp_counts_movable_zone: bool,
    pub watermark_gaps: WatermarkGaps,
    /// `vm.watermark_scale_factor` default (only used with [`WatermarkGaps::ScaleFactor`]).
    pub watermark_scale_factor: u32,
    /// `WMARK_PROMO` exists (`promo = high + gap`); between 5.15 and 6.18, release unconfirmed.
    pub promo_watermark: bool,
    /// `vm.watermark_boost_factor` default; 0 where boosting does not exist (before 5.0).
    pub watermark_boost_factor: u32,
    pub lowmem_reserve: LowmemReserveRule,
    /// Default `vm.lowmem_reserve_ratio` for DMA, DMA32, Normal, HighMem, Movable, Device.
    pub lowmem_reserve_ratio: [u32; 6],
    pub watermark_check: WatermarkCheck,
    pub reserve: ReserveKind,
    /// `ALLOC_NOFRAGMENT` in the fast path (5.0+).
    pub alloc_nofragment: bool,
    pub fallback: FallbackRules,
    pub compaction_suitability: CompactionSuitability,
    /// `vm.extfrag_threshold` default.
    pub extfrag_threshold: u32,
    /// kcompactd exists (4.6+).
    pub kcompactd: bool,
    /// Proactive compaction and its default `vm.compaction_proactiveness` (5.9+).
    pub proactive: Option<(ProactiveRule, u32)>,
    pub slow_path: SlowPath,
    /// Non-movable order > 0 requests also compact before reclaim (between 4.9 and 4.19).
    pub compact_first_non_movable: bool,
    pub gfp: GfpLayout,
    pub conntrack: ConntrackCache,
}

const TYPES_3_10: &[MigrateType] = &[
    MigrateType::Unmovable,
    MigrateType::Reclaimable,
    MigrateType::Movable,
    MigrateType::Reserve,
    MigrateType::Cma,
    MigrateType::Isolate,
];

const TYPES_4_4: &[MigrateType] = &[
    MigrateType::Unmovable,
    MigrateType::Movable,
    MigrateType::Reclaimable,
    MigrateType::HighAtomic,
    MigrateType::Cma,
    MigrateType::Isolate,
];

/// DMA 256, DMA32 256, Normal 32 in every version; HighMem and Movable 32 up to 4.9 (indexed
/// by the lower zone, so they are never used on x86-64), 0 from 4.19 (indexed by zone).
const RATIO_OLD: [u32; 6] = [256, 256, 32, 32, 32, 32];
const RATIO_NEW: [u32; 6] = [256, 256, 32, 0, 0, 0];

const V3_10: Profile = Profile {
    name: "3.10",
    summary: "vanilla 3.10 (3.10.99); also RHEL/CentOS 7 before 7.9 such as 3.10.0-514, whose \
              failure reports print __GFP_KMEMCG (mode:0x10c0d0) and nf_conntrack_%p caches",
    orders: 11,
    pageblock_order: 9,
    migrate_types: TYPES_3_10,
    min_free_kbytes_max: 65536,
    user_min_free_kbytes_kept: false,
    thp_counts_movable_zone: true,
    watermark_gaps: WatermarkGaps::Quarter,
    watermark_scale_factor: 10,
    promo_watermark: false,
    watermark_boost_factor: 0,
    lowmem_reserve: LowmemReserveRule::RatioForcedToOne,
    lowmem_reserve_ratio: RATIO_OLD,
    watermark_check: WatermarkCheck::PerOrderLoop,
    reserve: ReserveKind::MigrateReserve,
    alloc_nofragment: false,
    fallback: FallbackRules::V3_10,
    compaction_suitability: CompactionSuitability::V3_10,
    extfrag_threshold: 500,
    kcompactd: false,
    proactive: None,
    slow_path: SlowPath::V3_10,
    compact_first_non_movable: false,
    gfp: GfpLayout::V3_10,
    conntrack: ConntrackCache::PerNetnsPointer,
};

/// Every profile, oldest first.
pub static PROFILES: &[Profile] = &[
    V3_10,
    Profile {
        name: "3.10-rhel7",
        summary:
            "RHEL/CentOS 7.9 (3.10.0-1160.el7): 3.10 with user_min_free_kbytes, the 262144 kB \
                  clamp, __GFP_ACCOUNT in place of __GFP_KMEMCG and nf_conntrack_%llu caches",
        min_free_kbytes_max: 262144,
        user_min_free_kbytes_kept: true,
        gfp: GfpLayout::Rhel7,
        conntrack: ConntrackCache::PerNetnsCounter,
        ..V3_10
    },
    Profile {
        name: "4.4",
        summary: "4.4 (4.4.0): MIGRATE_HIGHATOMIC replaces MIGRATE_RESERVE, the free-list \
                  watermark check, __GFP_DIRECT_RECLAIM/__GFP_KSWAPD_RECLAIM",
        migrate_types: TYPES_4_4,
        user_min_free_kbytes_kept: true,
        watermark_check: WatermarkCheck::FreeLists {
            harder_any_list: true,
        },
        reserve: ReserveKind::HighAtomic,
        fallback: FallbackRules::V4_4,
        compaction_suitability: CompactionSuitability::V4_6,
        gfp: GfpLayout::V4_4,
        ..V3_10
    },
    Profile {
        name: "4.9",
        summary: "4.9 (4.9.154): watermark_scale_factor, kcompactd, should_reclaim_retry, costly \
                  orders compact first, one global nf_conntrack cache",
        migrate_types: TYPES_4_4,
        user_min_free_kbytes_kept: true,
        watermark_gaps: WatermarkGaps::ScaleFactor,
        watermark_check: WatermarkCheck::FreeLists {
            harder_any_list: false,
        },
        reserve: ReserveKind::HighAtomic,
        fallback: FallbackRules::V4_4,
        compaction_suitability: CompactionSuitability::V4_9,
        kcompactd: true,
        slow_path: SlowPath::V4_8,
        gfp: GfpLayout::V4_6,
        conntrack: ConntrackCache::Global,
        ..V3_10
    },
    Profile {
        name: "4.19",
        summary:
            "4.19 (4.19.304): zone-indexed lowmem_reserve_ratio, counted \"alike\" pages when \
                  stealing, non-movable requests compact first, GFP_KERNEL = 0x6000c0",
        migrate_types: TYPES_4_4,
        user_min_free_kbytes_kept: true,
        thp_counts_movable_zone: false,
        watermark_gaps: WatermarkGaps::ScaleFactor,
        lowmem_reserve: LowmemReserveRule::ZeroRatioNoReserve,
        lowmem_reserve_ratio: RATIO_NEW,
        watermark_check: WatermarkCheck::FreeLists {
            harder_any_list: false,
        },
        reserve: ReserveKind::HighAtomic,
        fallback: FallbackRules::V4_13,
        compaction_suitability: CompactionSuitability::V4_9,
        kcompactd: true,
        slow_path: SlowPath::V4_8,
        compact_first_non_movable: true,
        gfp: GfpLayout::V4_19,
        conntrack: ConntrackCache::Global,
        ..V3_10
    },
    Profile {
        name: "5.15",
        summary: "5.15 (5.15.135): watermark boost, ALLOC_NOFRAGMENT, proactive compaction, the \
                  262144 kB clamp, GFP_KERNEL = 0xcc0",
        migrate_types: TYPES_4_4,
        min_free_kbytes_max: 262144,
        user_min_free_kbytes_kept: true,
        thp_counts_movable_zone: false,
        watermark_gaps: WatermarkGaps::ScaleFactor,
        watermark_boost_factor: 15000,
        lowmem_reserve: LowmemReserveRule::ZeroRatioOrEmptyNoReserve,
        lowmem_reserve_ratio: RATIO_NEW,
        watermark_check: WatermarkCheck::FreeLists {
            harder_any_list: false,
        },
        reserve: ReserveKind::HighAtomic,
        alloc_nofragment: true,
        fallback: FallbackRules::V4_13,
        compaction_suitability: CompactionSuitability::V4_9,
        kcompactd: true,
        proactive: Some((ProactiveRule::V5_9, 20)),
        slow_path: SlowPath::V4_8,
        compact_first_non_movable: true,
        gfp: GfpLayout::V5_15,
        conntrack: ConntrackCache::Global,
        ..V3_10
    },
    Profile {
        name: "6.1",
        summary: "6.1: as 5.15 for the allocator (before the ALLOC_HARDER split and the \
                  claim/steal split); WMARK_PROMO (release unconfirmed)",
        migrate_types: TYPES_4_4,
        min_free_kbytes_max: 262144,
        user_min_free_kbytes_kept: true,
        thp_counts_movable_zone: false,
        watermark_gaps: WatermarkGaps::ScaleFactor,
        promo_watermark: true,
        watermark_boost_factor: 15000,
        lowmem_reserve: LowmemReserveRule::ZeroRatioOrEmptyNoReserve,
        lowmem_reserve_ratio: RATIO_NEW,
        watermark_check: WatermarkCheck::FreeLists {
            harder_any_list: false,
        },
        reserve: ReserveKind::HighAtomic,
        alloc_nofragment: true,
        fallback: FallbackRules::V4_13,
        compaction_suitability: CompactionSuitability::V4_9,
        kcompactd: true,
        proactive: Some((ProactiveRule::V5_9, 20)),
        slow_path: SlowPath::V4_8,
        compact_first_non_movable: true,
        gfp: GfpLayout::V5_15,
        conntrack: ConntrackCache::Global,
        ..V3_10
    },
    Profile {
        name: "6.18",
        summary: "6.18 (6.18.2): ALLOC_HARDER split, __rmqueue_claim/__rmqueue_steal, \
                  compaction_suit_allocation_order, MAX_PAGE_ORDER",
        migrate_types: TYPES_4_4,
        min_free_kbytes_max: 262144,
        user_min_free_kbytes_kept: true,
        thp_counts_movable_zone: false,
        watermark_gaps: WatermarkGaps::ScaleFactor,
        promo_watermark: true,
        watermark_boost_factor: 15000,
        lowmem_reserve: LowmemReserveRule::ZeroRatioOrEmptyNoReserve,
        lowmem_reserve_ratio: RATIO_NEW,
        watermark_check: WatermarkCheck::FreeListsReserves,
        reserve: ReserveKind::HighAtomic,
        alloc_nofragment: true,
        fallback: FallbackRules::V6_18,
        compaction_suitability: CompactionSuitability::V6_18,
        kcompactd: true,
        proactive: Some((ProactiveRule::V6_18, 20)),
        slow_path: SlowPath::V4_8,
        compact_first_non_movable: true,
        gfp: GfpLayout::V6_18,
        conntrack: ConntrackCache::Global,
        ..V3_10
    },
];

/// The profile called `name`, or an error listing the names that exist.
pub fn profile(name: &str) -> Result<&'static Profile, String> {
    PROFILES.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        format!("unknown kernel `{name}` (known: {})", names.join(", "))
    })
}

/// The profile that models a kernel release string such as `3.10.0-514.el7.x86_64` or
/// `5.10.0-10-amd64`: the newest profile not newer than the release. RHEL 7 kernels from
/// 3.10.0-1160 map to `3.10-rhel7`; `None` for releases older than 3.10 or unreadable ones.
pub fn for_release(release: &str) -> Option<&'static Profile> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    if (major, minor) == (3, 10) && release.contains(".el7") {
        let build: u32 = release
            .split_once('-')
            .and_then(|(_, rest)| rest.split('.').next())
            .and_then(|b| b.parse().ok())
            .unwrap_or(0);
        return Some(&PROFILES[if build >= 1160 { 1 } else { 0 }]);
    }
    PROFILES
        .iter()
        .filter(|p| p.name != "3.10-rhel7")
        .filter(|p| version_of(p) <= (major, minor))
        .next_back()
}

fn version_of(p: &Profile) -> (u32, u32) {
    let mut it = p
        .name
        .split(['.', '-'])
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_profile_exists() {
        for name in [
            "3.10",
            "3.10-rhel7",
            "4.4",
            "4.9",
            "4.19",
            "5.15",
            "6.1",
            "6.18",
        ] {
            assert_eq!(profile(name).unwrap().name, name);
        }
        assert!(profile("2.6").unwrap_err().contains("3.10-rhel7"));
    }

    #[test]
    fn releases_map_to_the_newest_older_profile() {
        let name = |r: &str| for_release(r).map(|p| p.name);
        assert_eq!(name("3.10.0-514.el7.x86_64"), Some("3.10"));
        assert_eq!(name("3.10.0-1160.49.1.el7.x86_64"), Some("3.10-rhel7"));
        assert_eq!(name("4.18.0-80.11.2.el8_0.x86_64"), Some("4.9"));
        assert_eq!(name("5.10.0-10-amd64"), Some("4.19"));
        assert_eq!(name("5.14.0-325.el9.x86_64"), Some("4.19"));
        assert_eq!(name("6.1.0-27-amd64"), Some("6.1"));
        assert_eq!(name("6.18.2"), Some("6.18"));
        assert_eq!(name("2.6.16"), None);
        assert_eq!(name("garbage"), None);
    }
}
