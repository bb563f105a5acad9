//! The kernel's page allocation failure report for a failed request (mm/page_alloc.c,
//! lib/show_mem.c): the header of
//! `warn_alloc_failed()` (3.10) / `warn_alloc()` (4.x+), then `show_mem()` → `Mem-Info:` →
//! `show_free_areas()`: a `Node <n> <Zone> free:…kB min:…kB low:…kB high:…kB present:…kB
//! managed:…kB` line and `lowmem_reserve[]:` per zone, and the per-order buddy lines
//! (KERNEL_MM.md 5.5), in a form `capture::dmesg::parse` reads back.

use crate::capture::dmesg::write_free_areas;
use crate::kernel::gfp::GfpLayout;
use crate::kernel::profile::Profile;
use crate::mm::mmzone::{FreeArea, Node};
use crate::mm::page_alloc::alloc_flags::Wmark;
use std::fmt::Write;

/// Pages to kB.
fn kb(pages: u64) -> u64 {
    pages * 4
}

/// The failure report `comm` would leave in dmesg for a failed order-`order` request with GFP
/// mask `mode`. Models `warn_alloc_failed()` (3.10: `mode:0x…` only) and `warn_alloc()` (4.x+:
/// `mode:0x…(<flag names>), nodemask=(null)`) and `dump_stack()`'s line naming the kernel
/// release, then `show_free_areas()` over `nodes` as they are now.
pub fn failure_report(
    profile: &Profile,
    nodes: &[Node],
    order: u32,
    mode: u64,
    comm: &str,
) -> String {
    let mut out = format!("{comm}: page allocation failure: order:{order}, mode:{mode:#x}");
    match profile.gfp {
        GfpLayout::V3_10 | GfpLayout::Rhel7 => out.push('\n'),
        _ => {
            let _ = writeln!(out, "({}), nodemask=(null)", profile.gfp.decode(mode));
        }
    }
    // dump_stack()'s first line names the running kernel.
    let _ = writeln!(
        out,
        "CPU: 0 PID: 1 Comm: {comm} Not tainted {} #1",
        profile.release
    );
    out.push_str("Mem-Info:\n");
    let zones: Vec<_> = nodes.iter().flat_map(|n| n.zones.iter()).collect();
    for z in &zones {
        let w = &z.watermarks;
        let _ = writeln!(
            out,
            "Node {} {} free:{}kB min:{}kB low:{}kB high:{}kB present:{}kB managed:{}kB",
            z.node,
            z.zone_type.name(),
            kb(z.free_pages()),
            kb(w.mark(Wmark::Min)),
            kb(w.mark(Wmark::Low)),
            kb(w.mark(Wmark::High)),
            kb(z.present),
            kb(z.managed),
        );
        // lowmem_reserve[] has one entry per zone of `Profile::zones`, in that order.
        let reserve: Vec<String> = (0..profile.zones.len())
            .map(|i| z.lowmem_reserve.get(i).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(out, "lowmem_reserve[]: {}", reserve.join(" "));
    }
    let snaps: Vec<_> = zones.iter().map(|z| z.snapshot()).collect();
    out.push_str(&write_free_areas(profile.migrate_types, &snaps));
    out
}
