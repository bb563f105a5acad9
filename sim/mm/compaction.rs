//! Memory compaction (mm/compaction.c): for now only whether a zone is worth compacting.
//!
//! Compaction moves movable pages out of the way so that free pages merge into a large block.
//! Before it runs for an order-N request, `compaction_suitable()` asks three questions of each
//! zone: would the request already succeed (then compaction is pointless); are there enough
//! free pages to hold the migrated copies (an order-0 watermark plus `2 << order`, else the
//! zone is *skipped* and reclaim must run first); and is the failure really due to
//! fragmentation rather than lack of memory (the fragmentation index must exceed
//! `vm.extfrag_threshold`). The order and details of the questions differ by version
//! (`Profile::compaction_suitability`, KERNEL_MM.md 4.1).

use crate::kernel::profile::{CompactionSuitability, Profile};
use crate::mm::mmzone::{FreeArea, Watermarks, PAGE_ALLOC_COSTLY_ORDER};
use crate::mm::page_alloc::alloc_flags::{AllocFlags, Wmark};
use crate::mm::page_alloc::watermark::{watermark_check, zone_watermark_ok, WatermarkVerdict};
use crate::mm::vmstat::{format_unusable_index, fragmentation_index};

/// The outcome of the suitability test, with the numbers behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Suitability {
    /// Order −1 (`/proc/sys/vm/compact_memory`): COMPACT_CONTINUE without any test.
    CompactMemory,
    /// The order-0 gate failed (COMPACT_SKIPPED): not enough free pages for migration targets.
    /// `gate` is the watermark tested (`low + 2<<order` etc.); the zone had `free` where it
    /// needed more than `needed` (gate after the kernel's adjustments, plus lowmem_reserve).
    Skipped { gate: u64, free: i64, needed: i64 },
    /// The fragmentation index says the failure is from lack of memory: `0 ≤ fragindex ≤
    /// threshold` (COMPACT_NOT_SUITABLE_ZONE from 4.4, reported to callers as SKIPPED).
    NotSuitable { fragindex: i32, threshold: u32 },
    /// 3.10 – 4.8 COMPACT_PARTIAL: the watermark at this order is already met (`mark`).
    Partial { mark: u64 },
    /// 4.9+ COMPACT_SUCCESS: the watermark at this order is already met (`mark`).
    Success { mark: u64 },
    /// COMPACT_CONTINUE: compaction should run. `fragindex` is the index the kernel looked at,
    /// if it looked.
    Continue { fragindex: Option<i32> },
}

impl Suitability {
    /// Whether compaction runs on this zone (COMPACT_CONTINUE).
    pub fn proceeds(self) -> bool {
        matches!(
            self,
            Suitability::CompactMemory | Suitability::Continue { .. }
        )
    }

    /// The `enum compact_result` value the kernel's caller sees.
    pub fn compact_result(self) -> &'static str {
        match self {
            Suitability::CompactMemory | Suitability::Continue { .. } => "COMPACT_CONTINUE",
            Suitability::Skipped { .. } | Suitability::NotSuitable { .. } => "COMPACT_SKIPPED",
            Suitability::Partial { .. } => "COMPACT_PARTIAL",
            Suitability::Success { .. } => "COMPACT_SUCCESS",
        }
    }
}

impl std::fmt::Display for Suitability {
    /// The decision and its numbers, for `analyze` and `explain`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Suitability::CompactMemory => f.write_str("compact_memory: no suitability test"),
            Suitability::Skipped { gate, free, needed } => write!(
                f,
                "skipped: order-0 gate {gate} not met (free {free} <= {needed}); reclaim first"
            ),
            Suitability::NotSuitable {
                fragindex,
                threshold,
            } => write!(
                f,
                "skipped: fragmentation index {} <= extfrag_threshold {threshold} \
                 (failure from lack of memory, not fragmentation): reclaim instead",
                format_unusable_index(fragindex)
            ),
            Suitability::Partial { mark } | Suitability::Success { mark } => {
                write!(f, "not needed: the order's watermark {mark} is already met")
            }
            Suitability::Continue {
                fragindex: Some(fi),
            } => {
                write!(
                    f,
                    "compaction runs: fragmentation index {} is above extfrag_threshold",
                    format_unusable_index(fi)
                )
            }
            Suitability::Continue { fragindex: None } => f.write_str("compaction runs"),
        }
    }
}

/// `compact_gap(order)` (mm/internal.h; 3.10 writes it inline): room for the migrated copies.
fn compact_gap(order: u32) -> u64 {
    2u64 << order
}

/// The order-0 gate: `Skipped` if the zone does not pass `gate` at order 0.
fn order0_gate(
    profile: &Profile,
    zone: &impl FreeArea,
    gate: u64,
    lowmem_reserve: u64,
    flags: AllocFlags,
) -> Option<Suitability> {
    match watermark_check(profile, zone, 0, gate, lowmem_reserve, flags) {
        WatermarkVerdict::Ok => None,
        WatermarkVerdict::BelowMin { free, min, reserve } => Some(Suitability::Skipped {
            gate,
            free,
            needed: min + reserve as i64,
        }),
        // An order-0 check fails only on the order-0 test.
        WatermarkVerdict::BelowMinAtOrder { free, min, .. } => Some(Suitability::Skipped {
            gate,
            free,
            needed: min,
        }),
        WatermarkVerdict::NoSuitableBlock { .. } => Some(Suitability::Skipped {
            gate,
            free: 0,
            needed: 0,
        }),
    }
}

/// `NotSuitable` if `0 ≤ fragindex ≤ threshold`, else `Continue` with the index.
fn fragindex_gate(
    profile: &Profile,
    zone: &impl FreeArea,
    order: u32,
    threshold: u32,
) -> Suitability {
    let fragindex = fragmentation_index(profile, zone, order);
    if fragindex >= 0 && fragindex as u32 <= threshold {
        Suitability::NotSuitable {
            fragindex,
            threshold,
        }
    } else {
        Suitability::Continue {
            fragindex: Some(fragindex),
        }
    }
}

/// Whether direct compaction or kcompactd should compact this zone for an order-`order` request
/// (`None` = order −1, compact_memory). `wmarks` are the zone's watermarks (boost included by
/// [`Watermarks::mark`]), `lowmem_reserve` its reserve for the request's classzone /
/// highest_zoneidx, `flags` the caller's ALLOC flags (their watermark selection is used from 4.9;
/// the slow path and kcompactd select WMARK_MIN), `extfrag_threshold` is `vm.extfrag_threshold`.
/// An order the profile does not have is `NotSuitable` with index 0.
///
/// Models, per `Profile::compaction_suitability`:
/// * 3.10: `compaction_suitable()`: gate `low + 2<<order` at order 0 with classzone 0 (no
///   lowmem_reserve) and no flags; fragindex for every order; PARTIAL if fragindex is −1000 and
///   the order-N check at the gate passes.
/// * 4.4 – 4.8: `__compaction_suitable()`: PARTIAL if the order-N check at low passes; gate
///   `low + 2<<order` with the caller's reserve and flags; fragindex for every order.
/// * 4.9 – 6.x: SUCCESS if the order-N check at the selected mark passes; gate
///   `(costly ? low : min) + 2<<order` with ALLOC_CMA; fragindex only for costly orders.
/// * 6.18: `compaction_suit_allocation_order()` + `compaction_suitable()`: gate
///   `mark + 2<<order (+ low − min if costly)`, otherwise as 4.9. The extra check 6.18 makes for
///   async costly compaction without ALLOC_CMA (only different when the zone has free CMA
///   pages) is not modelled here: this function does not know the compaction mode.
pub fn compaction_suitable(
    profile: &Profile,
    zone: &impl FreeArea,
    order: Option<u32>,
    wmarks: &Watermarks,
    lowmem_reserve: u64,
    flags: AllocFlags,
    extfrag_threshold: u32,
) -> Suitability {
    let Some(order) = order else {
        return Suitability::CompactMemory;
    };
    if order >= profile.orders {
        // fragmentation_index() is 0 for an order the kernel does not have (6.x warns).
        return Suitability::NotSuitable {
            fragindex: 0,
            threshold: extfrag_threshold,
        };
    }
    let costly = order > PAGE_ALLOC_COSTLY_ORDER;
    match profile.compaction_suitability {
        CompactionSuitability::V3_10 => {
            let gate = wmarks.mark(Wmark::Low).saturating_add(compact_gap(order));
            if let Some(skipped) = order0_gate(profile, zone, gate, 0, AllocFlags::default()) {
                return skipped;
            }
            let verdict = fragindex_gate(profile, zone, order, extfrag_threshold);
            if verdict
                == (Suitability::Continue {
                    fragindex: Some(-1000),
                })
                && zone_watermark_ok(profile, zone, order, gate, 0, AllocFlags::default())
            {
                return Suitability::Partial { mark: gate };
            }
            verdict
        }
        CompactionSuitability::V4_6 => {
            let low = wmarks.mark(Wmark::Low);
            if zone_watermark_ok(profile, zone, order, low, lowmem_reserve, flags) {
                return Suitability::Partial { mark: low };
            }
            let gate = low.saturating_add(compact_gap(order));
            if let Some(skipped) = order0_gate(profile, zone, gate, lowmem_reserve, flags) {
                return skipped;
            }
            fragindex_gate(profile, zone, order, extfrag_threshold)
        }
        CompactionSuitability::V4_9 | CompactionSuitability::V6_18 => {
            let mark = wmarks.mark(flags.wmark());
            if zone_watermark_ok(profile, zone, order, mark, lowmem_reserve, flags) {
                return Suitability::Success { mark };
            }
            let gate = if profile.compaction_suitability == CompactionSuitability::V4_9 {
                wmarks
                    .mark(if costly { Wmark::Low } else { Wmark::Min })
                    .saturating_add(compact_gap(order))
            } else if costly {
                mark.saturating_add(compact_gap(order))
                    .saturating_add(wmarks.low.saturating_sub(wmarks.min))
            } else {
                mark.saturating_add(compact_gap(order))
            };
            if let Some(skipped) = order0_gate(profile, zone, gate, lowmem_reserve, AllocFlags::CMA)
            {
                return skipped;
            }
            if costly {
                fragindex_gate(profile, zone, order, extfrag_threshold)
            } else {
                Suitability::Continue { fragindex: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile;
    use crate::mm::mmzone::MigrateType;
    use proptest::prelude::*;

    struct Counts(Vec<u64>);

    impl FreeArea for Counts {
        fn free_pages(&self) -> u64 {
            self.0.iter().enumerate().map(|(o, n)| n << o).sum()
        }
        fn nr_free(&self, order: u32) -> u64 {
            self.0.get(order as usize).copied().unwrap_or(0)
        }
        fn has_free(&self, order: u32, mt: MigrateType) -> bool {
            self.nr_free(order) > 0 && mt == MigrateType::Movable
        }
    }

    const W: Watermarks = Watermarks {
        min: 100,
        low: 125,
        high: 150,
        promo: 0,
        boost: 0,
    };

    fn suit(name: &str, zone: &Counts, order: u32, threshold: u32) -> Suitability {
        compaction_suitable(
            profile(name).unwrap(),
            zone,
            Some(order),
            &W,
            0,
            AllocFlags::WMARK_MIN,
            threshold,
        )
    }

    #[test]
    fn compact_memory_always_continues() {
        let p = profile("3.10").unwrap();
        let empty = Counts(vec![]);
        let s = compaction_suitable(p, &empty, None, &W, 0, AllocFlags::WMARK_MIN, 500);
        assert_eq!(s, Suitability::CompactMemory);
        assert!(s.proceeds());
        let s = compaction_suitable(p, &empty, Some(64), &W, 0, AllocFlags::WMARK_MIN, 500);
        assert_eq!(
            s,
            Suitability::NotSuitable {
                fragindex: 0,
                threshold: 500
            }
        );
    }

    #[test]
    fn order0_gate_skips_a_zone_short_of_free_pages() {
        // 3.10: low 125 + 2<<6 = 253; 250 free pages (order 0) are not enough.
        let zone = Counts(vec![250]);
        assert_eq!(
            suit("3.10", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
        // 4.9: costly uses low too; order 3 uses min: 100 + 16 = 116 < 250 → fragindex not
        // consulted for order 3 → CONTINUE.
        assert_eq!(
            suit("4.9", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
        assert_eq!(
            suit("4.9", &zone, 3, 500),
            Suitability::Continue { fragindex: None }
        );
        // 6.18: min + gap + (low − min) for costly, the same threshold.
        assert_eq!(
            suit("6.18", &zone, 6, 500),
            Suitability::Skipped {
                gate: 253,
                free: 250,
                needed: 253
            }
        );
    }

    #[test]
    fn fragindex_only_above_order_3_from_4_9() {
        // 1000 order-0 pages, 300 order-2 blocks: for order 3, fragindex
        // = 1000 − (1000 + 2200·1000/8)/1300 = 1000 − 212 = 788; with threshold 800 it is NOT
        // suitable on 3.10 (every order) but CONTINUE on 4.9 (order 3 is not costly).
        let zone = Counts(vec![1000, 0, 300]);
        assert_eq!(
            suit("3.10", &zone, 3, 800),
            Suitability::NotSuitable {
                fragindex: 788,
                threshold: 800
            }
        );
        assert_eq!(
            suit("4.4", &zone, 3, 800),
            Suitability::NotSuitable {
                fragindex: 788,
                threshold: 800
            }
        );
        assert_eq!(
            suit("4.9", &zone, 3, 800),
            Suitability::Continue { fragindex: None }
        );
        assert_eq!(
            suit("6.18", &zone, 3, 800),
            Suitability::Continue { fragindex: None }
        );
        // Order 4 is costly: every version consults the index (1000 − (1000+137500)/1300 = 894).
        for name in ["3.10", "4.4", "4.9", "6.18"] {
            assert_eq!(
                suit(name, &zone, 4, 900),
                Suitability::NotSuitable {
                    fragindex: 894,
                    threshold: 900
                },
                "{name}"
            );
            assert_eq!(
                suit(name, &zone, 4, 500),
                Suitability::Continue {
                    fragindex: Some(894)
                },
                "{name}"
            );
        }
    }

    #[test]
    fn already_met_is_partial_before_4_9_and_success_after() {
        let zone = Counts(vec![1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(
            suit("3.10", &zone, 4, 500),
            Suitability::Partial { mark: 125 + 32 }
        );
        assert_eq!(
            suit("4.4", &zone, 4, 500),
            Suitability::Partial { mark: 125 }
        );
        assert_eq!(
            suit("4.9", &zone, 4, 500),
            Suitability::Success { mark: 100 }
        );
        assert_eq!(
            suit("6.18", &zone, 4, 500),
            Suitability::Success { mark: 100 }
        );
        assert_eq!(
            suit("6.18", &zone, 4, 500).compact_result(),
            "COMPACT_SUCCESS"
        );
    }

    proptest! {
        /// 3.10, costly order, a zone that passes the order-0 gate and has no block of the
        /// order: threshold 1000 rejects it whenever fragindex ≥ 0; threshold 0 only when the
        /// index is exactly 0.
        #[test]
        fn threshold_extremes_on_3_10(counts in proptest::collection::vec(0u64..3000, 4), order in 4u32..=10) {
            let mut c = counts;
            c[0] += 2000 + (2 << order);
            let zone = Counts(c);
            let fi = fragmentation_index(profile("3.10").unwrap(), &zone, order);
            let strict = suit("3.10", &zone, order, 1000);
            prop_assert_eq!(matches!(strict, Suitability::NotSuitable { .. }), fi >= 0);
            let lax = suit("3.10", &zone, order, 0);
            prop_assert_eq!(matches!(lax, Suitability::NotSuitable { .. }), fi == 0);
            prop_assert!(lax.proceeds() || fi == 0);
        }
    }
}
