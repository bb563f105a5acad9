//! The text form of an [`Analysis`]: a per-order table, a per-zone watermark table, what the slab
//! caches say of the next cache creation, the verdict in one sentence and the slow path after
//! it. The JSON form is the `Analysis` itself (serde).

use crate::analyze::{Analysis, ZoneAnalysis};
use crate::kernel::Profile;
use crate::mm::vmstat::format_index;
use std::fmt::Write;

fn label(z: &ZoneAnalysis) -> String {
    format!("Node {} {}", z.node, z.zone)
}

/// Renders the analysis as a short readable report.
pub fn text(a: &Analysis, profile: &Profile) -> String {
    let mut out = String::new();
    let r = &a.request;
    let _ = writeln!(
        out,
        "kernel {} ({}); request: order {}, {} (mode {}, from {})",
        a.kernel, a.kernel_source, r.order, r.gfp, r.mode, r.source
    );
    if !a.zones.is_empty() {
        zone_tables(&mut out, a, profile);
    }
    if let Some(c) = &a.cache_creation {
        let excerpt = if c.excerpt {
            ", an excerpt: no kmalloc-<n> cache, so the caches it leaves out are unknown"
        } else {
            ""
        };
        let _ = writeln!(out, "\nslab caches ({} listed{excerpt}):", c.caches);
        let _ = writeln!(out, "  conntrack: {}", c.conntrack.summary);
        let _ = writeln!(out, "  memcg copies: {}", c.memcg_copies.summary);
        let _ = writeln!(out, "  next cache creation: {}", c.next_creation.summary);
    }
    verdict(&mut out, a);
    out
}

/// The free blocks per order, then each zone's counts, marks and checks.
fn zone_tables(out: &mut String, a: &Analysis, profile: &Profile) {
    let r = &a.request;
    let orders = a
        .zones
        .iter()
        .map(|z| z.free_blocks.len())
        .max()
        .unwrap_or(0);
    let width = a
        .zones
        .iter()
        .map(|z| label(z).len())
        .max()
        .unwrap_or(0)
        .max(14);

    let _ = write!(out, "\n{:<width$}", "free blocks");
    for o in 0..orders {
        let _ = write!(out, " {o:>6}");
    }
    out.push('\n');
    for z in &a.zones {
        let _ = write!(out, "{:<width$}", label(z));
        for n in &z.free_blocks {
            let _ = write!(out, " {n:>6}");
        }
        if z.free_blocks.is_empty() {
            out.push_str(" (no per-order lines in the input)");
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "\n{:<width$} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}  order-{} at low / at min",
        "zone", "free", "min", "low", "high", "reserve", "largest", "fragindex", r.order
    );
    for z in &a.zones {
        let wm = |f: fn(&crate::analyze::WatermarkInfo) -> u64| {
            z.watermarks
                .as_ref()
                .map_or("-".to_string(), |w| f(w).to_string())
        };
        let check = |c: &Option<crate::analyze::Check>| match c {
            Some(c) if c.ok => "ok",
            Some(_) => "fails",
            None if z.in_zonelist => "?",
            None => "not used",
        };
        let fi = z
            .extfrag_index
            .get(r.order as usize)
            .map_or("-".to_string(), |&v| format_index(profile, v));
        let _ = writeln!(
            out,
            "{:<width$} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}  {} / {}",
            label(z),
            z.free_pages.map_or("-".to_string(), |f| f.to_string()),
            wm(|w| w.min),
            wm(|w| w.low),
            wm(|w| w.high),
            z.reserve.map_or("-".to_string(), |v| v.to_string()),
            z.largest_free_order
                .map_or("-".to_string(), |v| v.to_string()),
            fi,
            check(&z.fast_path),
            check(&z.min_path),
        );
    }
    let source = a
        .zones
        .iter()
        .find_map(|z| z.watermarks.as_ref().map(|w| w.source))
        .unwrap_or("none");
    let _ = writeln!(
        out,
        "(pages; watermarks from {source}; reserve = lowmem_reserve for the preferred zone; fragindex at order {})",
        r.order
    );

    for z in a.zones.iter().filter(|z| z.in_zonelist) {
        for (name, c) in [("low", &z.fast_path), ("min", &z.min_path)] {
            if let Some(c) = c.as_ref().filter(|c| !c.ok) {
                let _ = writeln!(out, "  {} at {name}: {}", label(z), c.reason);
            }
        }
    }
}

/// The verdict, the slow path and the notes.
fn verdict(out: &mut String, a: &Analysis) {
    let v = &a.verdict;
    let _ = writeln!(
        out,
        "\nverdict: {}{}",
        v.word(),
        if v.path == "fails" || v.path == "cannot tell" {
            String::new()
        } else {
            format!(" ({})", v.path)
        }
    );
    let _ = writeln!(out, "  {}", v.reason);
    if !v.slow_path.is_empty() {
        let _ = writeln!(out, "slow path ({}):", a.kernel);
        for step in &v.slow_path {
            let _ = writeln!(out, "  - {step}");
        }
    }
    if !a.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for n in &a.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
}
