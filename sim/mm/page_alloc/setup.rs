//! Boot-time watermark setup over a machine's nodes (mm/page_alloc.c, mm/huge_memory.c /
//! mm/khugepaged.c).
//!
//! At boot the kernel picks `min_free_kbytes` from the lowmem size (`init_per_zone_wmark_min()`),
//! shares it out as every zone's min/low/high (`__setup_per_zone_wmarks()`, over the managed
//! pages of *all* nodes' lowmem zones) and fills each zone's `lowmem_reserve[]` from the managed
//! pages of the zones above it in the same node (`setup_per_zone_lowmem_reserve()`). 3.10 also
//! marks MIGRATE_RESERVE pageblocks from the min mark. When khugepaged starts (THP `always` or
//! `madvise`), `set_recommended_min_free_kbytes()` raises `min_free_kbytes` to room for two
//! free pageblocks per zone plus fallback headroom and sets the watermarks again. The formulas
//! are in [`super::watermark`]; this module applies them to the engine's zones.

use crate::kernel::profile::Profile;
use crate::mm::mmzone::{Node, ZoneType, PAGE_SHIFT};
use crate::mm::page_alloc::watermark::{
    default_min_free_kbytes, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks,
    thp_recommended_min_free_kbytes,
};

/// `/sys/kernel/mm/transparent_hugepage/enabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Thp {
    Never,
    Madvise,
    Always,
}

/// The `vm.*` settings the watermark setup reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tunables {
    /// `vm.min_free_kbytes`; `None` is the kernel's choice: the square-root default, raised to
    /// THP's recommendation when THP is `always` or `madvise`.
    pub min_free_kbytes: Option<u64>,
    /// `vm.watermark_scale_factor` (read from 4.6).
    pub watermark_scale_factor: u32,
    /// `vm.lowmem_reserve_ratio` by zone type (DMA, DMA32, Normal, HighMem, Movable, Device).
    pub lowmem_reserve_ratio: [u32; 6],
    pub thp: Thp,
}

impl Tunables {
    /// The profile's defaults with the given THP mode.
    pub fn defaults(profile: &Profile, thp: Thp) -> Tunables {
        Tunables {
            min_free_kbytes: None,
            watermark_scale_factor: profile.watermark_scale_factor,
            lowmem_reserve_ratio: profile.lowmem_reserve_ratio,
            thp,
        }
    }
}

/// What the setup chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WatermarkSetup {
    /// The `min_free_kbytes` the watermarks were set from.
    pub min_free_kbytes: u64,
    /// The square-root default (`init_per_zone_wmark_min()`).
    pub default_min_free_kbytes: u64,
    /// THP's recommendation, when khugepaged runs.
    pub thp_recommended_kbytes: Option<u64>,
}

/// `nr_free_buffer_pages()`: `managed − high` over every node's zones up to Normal
/// (`gfp_zone(GFP_USER)`), the zonelist of GFP_KERNEL.
fn nr_free_buffer_pages(nodes: &[Node]) -> u64 {
    nodes
        .iter()
        .flat_map(|n| &n.zones)
        .filter(|z| z.zone_type <= ZoneType::Normal)
        .map(|z| z.managed.saturating_sub(z.watermarks.high))
        .sum()
}

/// Models setup_per_zone_wmarks() over every zone of every node (lowmem_pages is the
/// machine's), followed, for profiles with MIGRATE_RESERVE, by `setup_zone_migrate_reserve()`.
fn set_wmarks(nodes: &mut [Node], profile: &Profile, min_free_kbytes: u64, t: &Tunables) {
    let zones: Vec<(ZoneType, u64)> = nodes
        .iter()
        .flat_map(|n| &n.zones)
        .map(|z| (z.zone_type, z.managed))
        .collect();
    let marks = setup_per_zone_wmarks(profile, min_free_kbytes, t.watermark_scale_factor, &zones);
    for (z, w) in nodes.iter_mut().flat_map(|n| &mut n.zones).zip(marks) {
        z.watermarks = w;
        z.reset_alloc_batch();
        z.setup_zone_migrate_reserve(w.min);
        z.zone_pcp_update();
    }
}

/// Sets every zone's watermarks and lowmem_reserve as the kernel does at boot. Models
/// `init_per_zone_wmark_min()` (6.x: `calculate_min_free_kbytes()` +
/// `setup_per_zone_wmarks()` + `setup_per_zone_lowmem_reserve()`), then, with THP enabled
/// and no user value, `set_recommended_min_free_kbytes()`. A user `min_free_kbytes` is used as
/// given (`min_free_kbytes_sysctl_handler()`). Zones not in `Profile::zones` get no reserve.
pub fn setup_watermarks(nodes: &mut [Node], profile: &Profile, t: &Tunables) -> WatermarkSetup {
    for z in nodes.iter_mut().flat_map(|n| &mut n.zones) {
        z.watermarks = Default::default();
    }
    let lowmem_kbytes = nr_free_buffer_pages(nodes) << (PAGE_SHIFT - 10);
    let default = default_min_free_kbytes(profile, lowmem_kbytes);
    let mut min_free_kbytes = t.min_free_kbytes.unwrap_or(default);
    set_wmarks(nodes, profile, min_free_kbytes, t);
    for node in nodes.iter_mut() {
        let managed: Vec<u64> = profile
            .zones
            .iter()
            .map(|&zt| node.zone(zt).map_or(0, |z| z.managed))
            .collect();
        let ratio: Vec<u32> = profile
            .zones
            .iter()
            .map(|zt| t.lowmem_reserve_ratio[zt.index()])
            .collect();
        let rows = setup_per_zone_lowmem_reserve(profile, &ratio, &managed);
        for z in node.zones.iter_mut() {
            z.lowmem_reserve = profile
                .zone_index(z.zone_type)
                .map_or_else(Vec::new, |i| rows[i].clone());
        }
    }
    let mut thp_recommended_kbytes = None;
    if t.min_free_kbytes.is_none() && t.thp != Thp::Never {
        let populated: Vec<ZoneType> = nodes
            .iter()
            .flat_map(|n| &n.zones)
            .filter(|z| z.present > 0)
            .map(|z| z.zone_type)
            .collect();
        let recommended = thp_recommended_min_free_kbytes(
            profile,
            &populated,
            1 << profile.pageblock_order,
            nr_free_buffer_pages(nodes),
        );
        thp_recommended_kbytes = Some(recommended);
        if recommended > min_free_kbytes {
            min_free_kbytes = recommended;
            set_wmarks(nodes, profile, min_free_kbytes, t);
        }
    }
    WatermarkSetup {
        min_free_kbytes,
        default_min_free_kbytes: default,
        thp_recommended_kbytes,
    }
}
