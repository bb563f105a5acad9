//! GFP flags (include/linux/gfp.h; 6.x include/linux/gfp_types.h): bit layouts per version,
//! decoding a `mode:0x…` into names and encoding names into a mask.

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
