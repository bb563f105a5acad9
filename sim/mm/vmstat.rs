//! Fragmentation indices (mm/vmstat.c).
//!
//! When an order-N request fails, is that because memory is short or because the free memory
//! is in pieces too small? `fill_contig_page_info()` sums a zone's free blocks, and two indices
//! answer the question on a 0..1000 scale: the *fragmentation index* (`extfrag_index` in
//! debugfs; near 0 = lack of memory, near 1000 = fragmentation, −1000 = the request would
//! succeed), which `compaction_suitable()` compares with `vm.extfrag_threshold`, and the
//! *unusable free index* (the share of free memory in blocks smaller than the order). Proactive
//! compaction (5.9+) uses the latter in percent (`extfrag_for_order()`).

use crate::kernel::profile::{IndexFormat, Profile};
use crate::mm::mmzone::FreeArea;

/// `struct contig_page_info`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContigPageInfo {
    /// Σ nr_free[o].
    pub free_blocks_total: u64,
    /// Σ nr_free[o] << o.
    pub free_pages: u64,
    /// Σ_{o ≥ order} nr_free[o] << (o − order): blocks of the requested size the free memory holds.
    pub free_blocks_suitable: u64,
}

/// Sums the zone's free blocks for a request of `suitable_order`, over the profile's orders.
/// Models `fill_contig_page_info()` (the same in 3.10 – 6.18).
pub fn fill_contig_page_info(
    profile: &Profile,
    zone: &impl FreeArea,
    suitable_order: u32,
) -> ContigPageInfo {
    let mut info = ContigPageInfo::default();
    for order in 0..profile.orders {
        let blocks = zone.nr_free(order);
        info.free_blocks_total += blocks;
        info.free_pages += blocks << order;
        if order >= suitable_order {
            info.free_blocks_suitable += blocks << (order - suitable_order);
        }
    }
    info
}

/// `extfrag_index` and `unusable_index` of a zone for orders 0..`orders` (what debugfs prints for
/// a zone): the same values as [`fragmentation_index`] and [`unusable_free_index`] per order,
/// from one pass over the free lists. `fill_contig_page_info()`'s totals do not depend on the
/// order, and its Σ_{o ≥ k} nr_free[o] << (o − k) is nr_free[k] + 2 × (the same sum for k + 1),
/// with the kernel's wrapping u64 arithmetic; orders at or above the profile's have no suitable
/// block, as in the per-order function.
pub fn zone_indices(profile: &Profile, zone: &impl FreeArea, orders: u32) -> (Vec<i32>, Vec<i32>) {
    let totals = fill_contig_page_info(profile, zone, profile.orders);
    let mut frag = vec![0; orders as usize];
    let mut unusable = vec![0; orders as usize];
    let mut suitable: u64 = 0;
    for order in (0..orders.max(profile.orders)).rev() {
        if order < profile.orders {
            suitable = zone.nr_free(order).wrapping_add(suitable.wrapping_shl(1));
        }
        if let (Some(f), Some(u)) = (
            frag.get_mut(order as usize),
            unusable.get_mut(order as usize),
        ) {
            let info = ContigPageInfo {
                free_blocks_suitable: suitable,
                ..totals
            };
            *f = fragmentation_index_at(profile, order, &info);
            *u = unusable_free_index_of(order, &info);
        }
    }
    (frag, unusable)
}

/// The fragmentation index in thousandths: 0 with no free blocks, −1000 if a suitable block
/// exists, else `1000 − (1000 + free_pages·1000/2^order) / free_blocks_total` with the kernel's
/// integer divisions (`div_u64`); 0 for an order beyond the word size. Models
/// `__fragmentation_index()`.
pub fn fragmentation_index_of(order: u32, info: &ContigPageInfo) -> i32 {
    if info.free_blocks_total == 0 {
        return 0;
    }
    if info.free_blocks_suitable > 0 {
        return -1000;
    }
    let Some(requested) = 1u64.checked_shl(order) else {
        return 0;
    };
    let step = (1000 + info.free_pages * 1000 / requested) / info.free_blocks_total;
    1000 - step as i32
}

/// The zone's fragmentation index for `order` (0 for an order the kernel does not have).
/// Models `fragmentation_index()`.
pub fn fragmentation_index(profile: &Profile, zone: &impl FreeArea, order: u32) -> i32 {
    fragmentation_index_at(profile, order, &fill_contig_page_info(profile, zone, order))
}

/// [`fragmentation_index`] from the zone's summed free lists for `order`.
fn fragmentation_index_at(profile: &Profile, order: u32, info: &ContigPageInfo) -> i32 {
    if order >= profile.orders {
        return 0;
    }
    fragmentation_index_of(order, info)
}

/// The share of free memory in blocks smaller than `order`, in thousandths (1000 when nothing
/// is free). Models `unusable_free_index()`.
pub fn unusable_free_index(profile: &Profile, zone: &impl FreeArea, order: u32) -> i32 {
    unusable_free_index_of(order, &fill_contig_page_info(profile, zone, order))
}

/// [`unusable_free_index`] from the zone's summed free lists for `order`.
pub fn unusable_free_index_of(order: u32, info: &ContigPageInfo) -> i32 {
    if info.free_pages == 0 {
        return 1000;
    }
    let suitable_pages = info.free_blocks_suitable.checked_shl(order).unwrap_or(0);
    ((info.free_pages - suitable_pages) * 1000 / info.free_pages) as i32
}

/// The same share in percent, 0 when nothing is free (5.9+, proactive compaction's
/// `fragmentation_score_zone`). Models `extfrag_for_order()`.
pub fn extfrag_for_order(profile: &Profile, zone: &impl FreeArea, order: u32) -> u32 {
    let info = fill_contig_page_info(profile, zone, order);
    if info.free_pages == 0 {
        return 0;
    }
    let suitable_pages = info.free_blocks_suitable.checked_shl(order).unwrap_or(0);
    ((info.free_pages - suitable_pages) * 100 / info.free_pages) as u32
}

/// An `extfrag_index` value as debugfs prints it: `"%d.%03d"` of (value/1000, value%1000) with
/// C's truncating division, so −1000 is `-1.000`; 6.18 uses `"%2d.%03d"` (` 0.934`). Models
/// `extfrag_show_print()`.
pub fn format_index(profile: &Profile, value: i32) -> String {
    match profile.extfrag_format {
        IndexFormat::Plain => format!("{}.{:03}", value / 1000, value % 1000),
        IndexFormat::Width2 => format!("{:2}.{:03}", value / 1000, value % 1000),
    }
}

/// An `unusable_index` value as debugfs prints it (`"%d.%03d"` in every version). Models
/// `unusable_show_print()`.
pub fn format_unusable_index(value: i32) -> String {
    format!("{}.{:03}", value / 1000, value % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile;
    use crate::mm::mmzone::MigrateType;

    pub(crate) struct Counts(pub Vec<u64>);

    impl FreeArea for Counts {
        fn free_pages(&self) -> u64 {
            self.0.iter().enumerate().map(|(o, n)| n << o).sum()
        }
        fn nr_free(&self, order: u32) -> u64 {
            self.0.get(order as usize).copied().unwrap_or(0)
        }
        fn has_free(&self, order: u32, _mt: MigrateType) -> bool {
            self.nr_free(order) > 0
        }
    }

    #[test]
    fn worked_example_of_kernel_mm_3() {
        let p = profile("3.10").unwrap();
        let zone = Counts(vec![34178, 2000, 100, 10, 0, 0, 0, 0, 0, 0, 0]);
        let extfrag: Vec<String> = (0..11)
            .map(|o| format_index(p, fragmentation_index(p, &zone, o)))
            .collect();
        assert_eq!(
            extfrag.join(" "),
            "-1.000 -1.000 -1.000 -1.000 0.934 0.967 0.984 0.992 0.996 0.998 0.999"
        );
        let unusable: Vec<String> = (0..6)
            .map(|o| format_unusable_index(unusable_free_index(p, &zone, o)))
            .collect();
        assert_eq!(unusable.join(" "), "0.000 0.884 0.987 0.997 1.000 1.000");
        assert_eq!(extfrag_for_order(p, &zone, 9), 100);
        assert_eq!(extfrag_for_order(p, &zone, 1), 88);
    }

    #[test]
    fn formats_per_version() {
        let p618 = profile("6.18").unwrap();
        let p515 = profile("5.15").unwrap();
        assert_eq!(format_index(p618, 934), " 0.934");
        assert_eq!(format_index(p618, -1000), "-1.000");
        assert_eq!(format_index(p515, 934), "0.934");
        assert_eq!(format_index(p515, 0), "0.000");
        assert_eq!(format_index(p515, 1000), "1.000");
        assert_eq!(format_unusable_index(1000), "1.000");
    }

    proptest::proptest! {
        /// The one-pass entry point gives what the per-order functions give, for captures with
        /// fewer or more orders than the kernel.
        #[test]
        fn zone_indices_match_the_per_order_functions(
            counts in proptest::collection::vec(
                proptest::prop_oneof![0u64..4, 0u64..1 << 20],
                0..16,
            ),
            name in proptest::sample::select(vec!["3.10", "4.19", "6.18"]),
        ) {
            let p = profile(name).unwrap();
            let zone = Counts(counts.clone());
            let orders = counts.len() as u32 + 1;
            let (frag, unusable) = zone_indices(p, &zone, orders);
            for o in 0..orders {
                proptest::prop_assert_eq!(frag[o as usize], fragmentation_index(p, &zone, o));
                proptest::prop_assert_eq!(unusable[o as usize], unusable_free_index(p, &zone, o));
            }
        }
    }

    #[test]
    fn empty_zone_and_out_of_range_order() {
        let p = profile("3.10").unwrap();
        let empty = Counts(vec![0; 11]);
        assert_eq!(fragmentation_index(p, &empty, 4), 0);
        assert_eq!(unusable_free_index(p, &empty, 4), 1000);
        assert_eq!(extfrag_for_order(p, &empty, 4), 0);
        assert_eq!(fragmentation_index(p, &Counts(vec![5; 11]), 11), 0);
        assert_eq!(
            fragmentation_index_of(70, &fill_contig_page_info(p, &Counts(vec![5]), 70)),
            0
        );
        assert_eq!(unusable_free_index(p, &Counts(vec![5; 11]), 70), 1000);
        assert_eq!(extfrag_for_order(p, &Counts(vec![5; 11]), 70), 100);
    }
}
