//! `buddysim explain`: one allocation narrated step by step through the kernel's decisions, with
//! the numbers the kernel compares, from an [`Analysis`] (KERNEL_MM.md 2 and 5): the zonelist,
//! each zone's watermark check at LOW (fast path) and MIN (slow path) — `free − (2^order − 1)`
//! against `mark + lowmem_reserve`, then on kernels up to 4.3 `__zone_watermark_ok()`'s
//! per-order loop — kswapd, compaction suitability, reclaim, the retry rules of the profile for
//! this order and GFP mask, and the outcome. The verdicts are the model's (`analyze`); this
//! module only shows the arithmetic behind them.

use crate::analyze::{Analysis, Check, WatermarkInfo, ZoneAnalysis};
use crate::kernel::profile::{Profile, SlowPath, WatermarkCheck};
use crate::mm::mmzone::PAGE_ALLOC_COSTLY_ORDER;
use crate::mm::vmstat::format_index;
use std::fmt::Write;

fn label(z: &ZoneAnalysis) -> String {
    format!("Node {} {}", z.node, z.zone)
}

/// One `get_page_from_freelist()` pass over the zonelist: each zone's watermark arithmetic at
/// the `name` mark.
fn zonelist_pass(
    out: &mut String,
    profile: &Profile,
    zl: &[&ZoneAnalysis],
    order: u32,
    name: &str,
    mark: fn(&WatermarkInfo) -> u64,
    check: fn(&ZoneAnalysis) -> Option<&Check>,
) {
    for z in zl {
        let _ = writeln!(out, "   {}:", label(z));
        if let (Some(w), Some(c)) = (&z.watermarks, check(z)) {
            watermark_lines(out, profile, z, order, name, mark(w), c);
        }
    }
}

/// The watermark arithmetic of one zone, as `__zone_watermark_ok()` does it: the mark lowered
/// by the request's rights (`raw` is the zone's mark, `check.mark` what is compared), the
/// order-0 test, then (PerOrderLoop) each lower order's free pages removed and the mark halved.
fn watermark_lines(
    out: &mut String,
    profile: &Profile,
    z: &ZoneAnalysis,
    order: u32,
    name: &str,
    raw: u64,
    check: &Check,
) {
    // A check is made only where the zone's free pages are known.
    let Some(free_pages) = z.free_pages else {
        return;
    };
    let reserve = z.reserve.unwrap_or(0) as i64;
    let mark = check.mark;
    let free = free_pages as i64 - ((1i64 << order) - 1);
    let lowered = if mark == raw as i64 {
        String::new()
    } else {
        format!(" ({name} {raw} lowered by the request's ALLOC_HIGH / HARDER rights)")
    };
    let _ = writeln!(
        out,
        "     {name}: free {} − (2^{order} − 1) = {free} vs {name} {mark}{lowered} + lowmem_reserve {reserve} = {}: {}",
        free_pages,
        mark + reserve,
        if free > mark + reserve { "above" } else { "not above → fails" }
    );
    if profile.watermark_check == WatermarkCheck::PerOrderLoop && free > mark + reserve {
        let (mut f, mut m) = (free, mark);
        for (o, &n) in z.free_blocks.iter().enumerate().take(order as usize) {
            f -= (n << o) as i64;
            m >>= 1;
            let _ = writeln!(
                out,
                "       order {o}: minus {n}×{} pages → {f} vs {name}>>{} = {m}: {}",
                1u64 << o,
                o + 1,
                if f > m {
                    "above"
                } else {
                    "not above → fails"
                }
            );
            if f <= m {
                break;
            }
        }
    }
    let _ = writeln!(
        out,
        "       → {}",
        if check.ok {
            "ok".into()
        } else {
            format!("fails ({})", check.reason)
        }
    );
}

/// Narrates `a`'s request on `profile` as numbered steps.
pub fn text(a: &Analysis, profile: &Profile) -> String {
    let mut out = String::new();
    let r = &a.request;
    let order = r.order;
    let costly = order > PAGE_ALLOC_COSTLY_ORDER;
    let mut step = 0;
    let mut head = |out: &mut String, s: &str| {
        step += 1;
        let _ = writeln!(out, "{step}. {s}");
    };
    head(
        &mut out,
        &format!(
            "Request: order {order} ({} pages, {} kB), {} (mode {}) on kernel {}; {}",
            1u64 << order,
            4u64 << order,
            r.gfp,
            r.mode,
            a.kernel,
            if costly {
                format!("costly (order > PAGE_ALLOC_COSTLY_ORDER = {PAGE_ALLOC_COSTLY_ORDER})")
            } else {
                "not costly".to_string()
            }
        ),
    );
    let mut zl: Vec<&ZoneAnalysis> = a.zones.iter().filter(|z| z.in_zonelist).collect();
    // As the verdict walks it: the local node (the capture's first) first, each node from the
    // preferred zone down.
    let local = a.zones.first().map_or(0, |z| z.node);
    zl.sort_by_key(|z| (z.node != local, z.node, std::cmp::Reverse(z.zone)));
    let names: Vec<String> = zl.iter().map(|z| label(z)).collect();
    let zonelist = if names.is_empty() {
        "none (the input has no zone)".to_string()
    } else {
        names.join(" → ")
    };
    head(&mut out, &format!("Zonelist (preferred first): {zonelist}"));
    head(
        &mut out,
        "Fast path: get_page_from_freelist() at the LOW watermark",
    );
    if profile.fair_zone_alloc {
        // ALLOC_FAIR only passes over zones whose batch is spent; a zone that fails its
        // watermark fails both walks.
        out.push_str(
            "   (fair zone allocation policy: a first walk passes over zones whose allocation \
             batch, NR_ALLOC_BATCH, is spent; when it finds nothing the batches are reset and \
             the same walk is made without the policy: the watermark checks below decide both)\n",
        );
    }
    zonelist_pass(
        &mut out,
        profile,
        &zl,
        order,
        "low",
        |w| w.low,
        |z| z.fast_path.as_ref(),
    );
    head(&mut out, "Slow path: wake_all_kswapd() — kswapd is woken for this order (it reclaims in the background)");
    head(
        &mut out,
        "Retry get_page_from_freelist() at the MIN watermark (gfp_to_alloc_flags())",
    );
    zonelist_pass(
        &mut out,
        profile,
        &zl,
        order,
        "min",
        |w| w.min,
        |z| z.min_path.as_ref(),
    );
    head(
        &mut out,
        &format!(
            "Direct compaction suitability (compaction_suitable(), extfrag_threshold {})",
            a.extfrag_threshold
        ),
    );
    for z in &zl {
        let fi = z
            .extfrag_index
            .get(order as usize)
            .map_or("-".to_string(), |&v| format_index(profile, v));
        let _ = writeln!(
            out,
            "   {}: fragmentation index {fi} vs vm.extfrag_threshold {} ({}): {}",
            label(z),
            a.extfrag_threshold,
            format_index(profile, a.extfrag_threshold as i32),
            z.compaction.as_deref().unwrap_or("not asked")
        );
    }
    let rule = match (profile.slow_path, costly) {
        (SlowPath::V3_10, true) => "3.10: async compaction → direct reclaim (try_to_free_pages) → should_alloc_retry(): no for a costly order without __GFP_REPEAT → sync-light compaction → nopage; with no reclaim progress __alloc_pages_may_oom() does not kill for order > 3",
        (SlowPath::V3_10, false) => "3.10: async compaction → direct reclaim → should_alloc_retry(): yes for order ≤ 3 (unless __GFP_NORETRY), the loop repeats; without progress the OOM killer runs",
        (SlowPath::V4_7, true) => "4.7: async compaction → direct reclaim → costly without __GFP_REPEAT: one more compaction at SYNC_LIGHT → nopage; no OOM kill for order > 3",
        (SlowPath::V4_7, false) | (SlowPath::V4_8, false) => "should_reclaim_retry() / should_compact_retry() loop, at most MAX_RECLAIM_RETRIES = 16 rounds without progress, then the OOM killer",
        (SlowPath::V4_8, true) => "4.8+: async compaction first → direct reclaim → compaction at SYNC_LIGHT → costly without __GFP_RETRY_MAYFAIL → nopage; no OOM kill for order > 3",
    };
    head(&mut out, &format!("Reclaim and retry rules: {rule}"));
    for s in &a.verdict.slow_path {
        let _ = writeln!(out, "   - {s}");
    }
    head(
        &mut out,
        &format!(
            "Outcome: {}{}: {}",
            a.verdict.word(),
            if a.verdict.path == a.verdict.word() {
                String::new()
            } else {
                format!(" ({})", a.verdict.path)
            },
            // A reason may open with the verdict's own word ("cannot tell: …"): said once.
            a.verdict
                .reason
                .strip_prefix(&format!("{}: ", a.verdict.word()))
                .unwrap_or(&a.verdict.reason)
        ),
    );
    out
}
