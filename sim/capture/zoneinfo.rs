//! /proc/zoneinfo: per-zone counters, watermarks, sizes and lowmem_reserve.
//!
//! `zoneinfo_show_print()` (mm/vmstat.c) prints one block per zone, `"Node %d, zone %8s"`
//! followed by indented lines. The layout changed over the years:
//! * 2.6.16 – 4.x (3.10 / RHEL7): `pages free`, `min`, `low`, `high`, `scanned` (2.6.16 also
//!   `active`, `inactive`, `scanned N (a: N i: N)`), `spanned`, `present`, `managed` (3.8+),
//!   then every zone stat item as `"\n    %-12s %lu"` (4 spaces), then `protection: (…)`,
//!   `pagesets` with per-cpu `count/high/batch`, `all_unreclaimable`, `start_pfn`,
//!   `inactive_ratio`. Only populated zones are printed.
//! * 4.8+ (4.19, 5.x): the first populated zone of each node first prints `  per-node stats`
//!   and the node's stat items (`"\n      %-12s %lu"`, 6 spaces); then `pages free`, `min`,
//!   `low`, `high`, `spanned`, `present`, `managed`, `protection: (…)` **before** the zone stat
//!   items; `node_unreclaimable`, `start_pfn`. Unpopulated zones are printed too and stop after
//!   the protection line.
//! * 5.x backports and 6.x: `boost` after `pages free`, `promo` after `high` (6.x), `cma` after
//!   `managed`; `min/low/high` are the boosted values (`wmark_pages()` adds the boost).
//!
//! Per-node stats go to [`Capture::node_stats`], summed over nodes (machine-wide, like
//! /proc/vmstat and dmesg's Mem-Info); zone stat items and the counters of the header block that
//! are not modelled as fields (`cma`, `scanned`, 2.6's `active`/`inactive`) go to
//! [`ZoneCapture::stats`]. Pagesets go to [`ZoneCapture::pagesets`]; the tail flags are skipped.
//! A stat line with no name (seen in a RHEL 8 kernel whose `vmstat_text[]` has an empty entry) is
//! skipped with a warning.

use super::text::{bad_number, digits_u64, parse_u64, Cursor, Loc};
use super::{Capture, CaptureError, Pageset, Warning, ZoneCapture, Zones};
use crate::mmzone_types::Watermarks;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The order and indentation of `zoneinfo_show_print()` in a family of kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ZoneinfoLayout {
    /// 3.10 / RHEL7: header, `scanned`, stats (4 spaces), protection; populated zones only.
    V3_10,
    /// 4.19 / 5.x: header, protection, stats (6 spaces); empty zones stop after protection.
    V4_19,
    /// 6.x: as 4.19 with `boost`, `promo` and `cma` lines.
    V6_18,
}

impl ZoneinfoLayout {
    /// The zone stat items of `vmstat_text[]` (mm/vmstat.c) in the kernel's order, the order
    /// `zoneinfo_show_print()` prints them in. V3_10 is RHEL 7's list (3.10 with
    /// `nr_alloc_batch` and `workingset_*`) with 4.4's `nr_pages_scanned` in its place; V4_19 is
    /// 4.18's (real captures: C/sosreport_rhel8_4.18); V6_18 is 5.14's (C/centos9_5.14), where
    /// `nr_page_table_pages` and `nr_kernel_stack` are node items.
    pub fn zone_items(self) -> &'static [&'static str] {
        match self {
            ZoneinfoLayout::V3_10 => &[
                "nr_free_pages",
                "nr_alloc_batch",
                "nr_inactive_anon",
                "nr_active_anon",
                "nr_inactive_file",
                "nr_active_file",
                "nr_unevictable",
                "nr_mlock",
                "nr_anon_pages",
                "nr_mapped",
                "nr_file_pages",
                "nr_dirty",
                "nr_writeback",
                "nr_slab_reclaimable",
                "nr_slab_unreclaimable",
                "nr_page_table_pages",
                "nr_kernel_stack",
                "nr_unstable",
                "nr_bounce",
                "nr_vmscan_write",
                "nr_vmscan_immediate_reclaim",
                "nr_writeback_temp",
                "nr_isolated_anon",
                "nr_isolated_file",
                "nr_shmem",
                "nr_dirtied",
                "nr_written",
                "nr_pages_scanned",
                "numa_hit",
                "numa_miss",
                "numa_foreign",
                "numa_interleave",
                "numa_local",
                "numa_other",
                "workingset_refault",
                "workingset_activate",
                "workingset_nodereclaim",
                "nr_anon_transparent_hugepages",
                "nr_free_cma",
            ],
            ZoneinfoLayout::V4_19 => &[
                "nr_free_pages",
                "nr_zone_inactive_anon",
                "nr_zone_active_anon",
                "nr_zone_inactive_file",
                "nr_zone_active_file",
                "nr_zone_unevictable",
                "nr_zone_write_pending",
                "nr_mlock",
                "nr_page_table_pages",
                "nr_kernel_stack",
                "nr_bounce",
                "nr_zspages",
                "nr_free_cma",
                "numa_hit",
                "numa_miss",
                "numa_foreign",
                "numa_interleave",
                "numa_local",
                "numa_other",
            ],
            ZoneinfoLayout::V6_18 => &[
                "nr_free_pages",
                "nr_zone_inactive_anon",
                "nr_zone_active_anon",
                "nr_zone_inactive_file",
                "nr_zone_active_file",
                "nr_zone_unevictable",
                "nr_zone_write_pending",
                "nr_mlock",
                "nr_bounce",
                "nr_zspages",
                "nr_free_cma",
                "numa_hit",
                "numa_miss",
                "numa_foreign",
                "numa_interleave",
                "numa_local",
                "numa_other",
            ],
        }
    }
}

/// Where in a zone's block the parser is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// After `Node N, zone Z`, before `pages free` or `per-node stats`.
    Start,
    PerNode,
    Zone,
    Pagesets,
}

/// Watermark lines of one zone, collected until the zone ends.
#[derive(Default)]
struct Marks {
    min: Option<u64>,
    low: Option<u64>,
    high: Option<u64>,
    promo: Option<u64>,
    boost: Option<u64>,
}

struct Open {
    line: usize,
    node: u32,
    zone: ZoneCapture,
    marks: Marks,
    part: Part,
}

impl Open {
    /// The pageset a `count:`/`high:`/`batch:`/`vm stats threshold:` line belongs to: the last
    /// `cpu:` one inside `pagesets` (None outside it, where such lines are not the kernel's).
    fn pageset(&mut self, loc: &Loc, line: &str) -> Result<Option<&mut Pageset>, CaptureError> {
        if self.part != Part::Pagesets {
            return Ok(None);
        }
        match self.zone.pagesets.as_mut().and_then(|v| v.last_mut()) {
            Some(p) => Ok(Some(p)),
            None => Err(loc.expected("`cpu: N` first in `pagesets`", line)),
        }
    }
}

/// Parses /proc/zoneinfo text of any layout.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut zones = Zones::default();
    let mut node_stats: BTreeMap<String, u64> = BTreeMap::new();
    let mut warnings: Vec<Warning> = Vec::new();
    let mut open: Option<Open> = None;
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = super::text::trim(raw);
        if line.is_empty() {
            continue;
        }
        if !raw.starts_with(char::is_whitespace) {
            if let Some(o) = open.take() {
                close(file, o, &mut zones)?;
            }
            let mut c = Cursor::new(line);
            let (node, zone) = c.node_zone(&loc)?;
            if !c.at_end() {
                return Err(loc.expected("nothing after the zone name", c.rest()));
            }
            zones.insert_new(&loc, node, zone)?;
            open = Some(Open {
                line: i + 1,
                node,
                zone: ZoneCapture::new(node, zone),
                marks: Marks::default(),
                part: Part::Start,
            });
            continue;
        }
        let Some(o) = open.as_mut() else {
            return Err(loc.expected("`Node N, zone NAME` before indented lines", line));
        };
        field(&loc, line, o, &mut node_stats, &mut warnings)?;
    }
    if let Some(o) = open.take() {
        close(file, o, &mut zones)?;
    }
    if zones.zones.is_empty() {
        return Err(Loc::new(file, 1).expected("`Node N, zone NAME` blocks", ""));
    }
    Ok(Capture {
        zones: zones.into_vec(),
        node_stats,
        warnings,
        ..Capture::default()
    })
}

/// One indented line of a zone block.
fn field(
    loc: &Loc,
    line: &str,
    o: &mut Open,
    node_stats: &mut BTreeMap<String, u64>,
    warnings: &mut Vec<Warning>,
) -> Result<(), CaptureError> {
    match line {
        "per-node stats" => {
            o.part = Part::PerNode;
            return Ok(());
        }
        "pagesets" => {
            o.part = Part::Pagesets;
            o.zone.pagesets = Some(Vec::new());
            return Ok(());
        }
        _ => {}
    }
    if let Some(r) = line.strip_prefix("protection:") {
        o.zone.protection = Some(protection(loc, r)?);
        return Ok(());
    }
    if let Some(r) = line.strip_prefix("vm stats threshold:") {
        if let Some(p) = o.pageset(loc, line)? {
            p.stat_threshold = Some(Cursor::new(r).u64(loc, "the vmstat threshold")?);
        }
        return Ok(());
    }
    let mut c = Cursor::new(line);
    let key = c.word();
    if key.ends_with(':') {
        match key {
            "start_pfn:" => o.zone.start_pfn = Some(c.u64(loc, "the start pfn")?),
            "cpu:" if o.part == Part::Pagesets => {
                let cpu = c.u64(loc, "a CPU number")?;
                let cpu = u32::try_from(cpu).map_err(|_| loc.expected("a CPU number", line))?;
                // 2.6.16 – 2.6.24: `cpu: 0 pcp: 0` (hot) and `cpu: 0 pcp: 1` (cold).
                let list = if c.at_end() {
                    None
                } else {
                    c.expect(loc, "pcp:")?;
                    let n = c.u64(loc, "a list number")?;
                    Some(u8::try_from(n).map_err(|_| loc.expected("a list number", line))?)
                };
                if let Some(v) = &mut o.zone.pagesets {
                    v.push(Pageset {
                        cpu,
                        list,
                        count: 0,
                        high: 0,
                        batch: 0,
                        high_min_max: None,
                        stat_threshold: None,
                    });
                }
            }
            "count:" | "high:" | "batch:" | "high_min:" | "high_max:" => {
                if let Some(p) = o.pageset(loc, line)? {
                    let v = c.u64(loc, key.trim_end_matches(':'))?;
                    let (min, max) = p.high_min_max.unwrap_or((0, 0));
                    match key {
                        "count:" => p.count = v,
                        "high:" => p.high = v,
                        "batch:" => p.batch = v,
                        "high_min:" => p.high_min_max = Some((v, max)),
                        _ => p.high_min_max = Some((min, v)),
                    }
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if key == "pages" {
        c.expect(loc, "free")?;
        o.zone.free_pages = Some(single(loc, &mut c, "pages free")?);
        o.part = Part::Zone;
        return Ok(());
    }
    if key.bytes().all(|b| b.is_ascii_digit()) {
        warnings.push(loc.warning(format!("stat line with no name (value {key}); skipped")));
        return Ok(());
    }
    match o.part {
        Part::Start => Err(loc.expected("`pages free` or `per-node stats`", line)),
        Part::Pagesets => Ok(()),
        Part::PerNode => {
            let v = single(loc, &mut c, key)?;
            match node_stats.get_mut(key) {
                Some(e) => *e = e.saturating_add(v),
                None => {
                    node_stats.insert(key.to_string(), v);
                }
            }
            Ok(())
        }
        Part::Zone => {
            let slot = match key {
                "min" => &mut o.marks.min,
                "low" => &mut o.marks.low,
                "high" => &mut o.marks.high,
                "promo" => &mut o.marks.promo,
                "boost" => &mut o.marks.boost,
                "spanned" => &mut o.zone.spanned,
                "present" => &mut o.zone.present,
                "managed" => &mut o.zone.managed,
                "scanned" => {
                    // 2.6.16 prints `scanned  N (a: N i: N)`: keep the page count.
                    let v = c.u64(loc, "scanned")?;
                    o.zone.stats.insert(key.to_string(), v);
                    return Ok(());
                }
                _ => {
                    let v = single(loc, &mut c, key)?;
                    if o.zone.stats.contains_key(key) {
                        warnings.push(loc.warning(format!("`{key}` repeated; keeping the first")));
                    } else {
                        o.zone.stats.insert(key.to_string(), v);
                    }
                    return Ok(());
                }
            };
            if slot.is_some() {
                return Err(loc.err(format!(
                    "`{key}` appears twice in node {} zone {}",
                    o.node, o.zone.zone
                )));
            }
            *slot = Some(single(loc, &mut c, key)?);
            Ok(())
        }
    }
}

/// One value and nothing after it.
fn single(loc: &Loc, c: &mut Cursor, what: &str) -> Result<u64, CaptureError> {
    let w = c.word();
    // The message names the item: formatted only when the value is bad.
    let v =
        digits_u64(w).map_err(|why| bad_number(loc, w, &format!("a value for `{what}`"), why))?;
    if !c.at_end() {
        return Err(loc.expected(&format!("one value for `{what}`"), c.rest()));
    }
    Ok(v)
}

/// `(0, 2815, 15868, 15868)`.
fn protection(loc: &Loc, r: &str) -> Result<Vec<u64>, CaptureError> {
    let inner = r
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| loc.expected("`(n, n, …)` after `protection:`", r.trim()))?;
    inner
        .split(',')
        .map(|t| parse_u64(loc, t.trim(), "a protection entry"))
        .collect()
}

/// Finishes a zone block: the watermarks and `pages free` are required.
fn close(file: &str, mut o: Open, zones: &mut Zones) -> Result<(), CaptureError> {
    let loc = Loc::new(file, o.line);
    let name = o.zone.zone;
    let need = |v: Option<u64>, what: &str| {
        v.ok_or_else(|| {
            loc.err(format!(
                "node {} zone {name}: expected a `{what}` line, found none",
                o.node
            ))
        })
    };
    need(o.zone.free_pages, "pages free")?;
    o.zone.watermarks = Some(Watermarks {
        min: need(o.marks.min, "min")?,
        low: need(o.marks.low, "low")?,
        high: need(o.marks.high, "high")?,
        promo: o.marks.promo.unwrap_or(0),
        boost: o.marks.boost.unwrap_or(0),
    });
    *zones.entry(o.node, name) = o.zone;
    Ok(())
}

/// Prints zones in the given layout, covering what a [`ZoneCapture`] holds: pages free,
/// watermarks, spanned, present, managed, protection, the `stats` items (those of
/// [`ZoneinfoLayout::zone_items`] in the kernel's order, any other after them), the pagesets and
/// start_pfn (no per-node stats: the capture keeps those machine-wide). `cma` and `scanned`
/// print in the header where the layout has them and the zone's stats carry them. Values a zone
/// lacks print as 0. A zone with `present` 0 is unpopulated: V3_10 skips it, the later layouts
/// stop after its protection line.
pub fn write(zones: &[ZoneCapture], layout: ZoneinfoLayout) -> String {
    let mut out = String::new();
    for z in zones {
        let populated = z.present != Some(0);
        if layout == ZoneinfoLayout::V3_10 && !populated {
            continue;
        }
        let w = z.watermarks.unwrap_or_default();
        let _ = write!(out, "Node {}, zone {:>8}", z.node, z.zone.name());
        let _ = write!(out, "\n  pages free     {}", z.free_pages.unwrap_or(0));
        if layout == ZoneinfoLayout::V6_18 {
            let _ = write!(out, "\n        boost    {}", w.boost);
        }
        let _ = write!(out, "\n        min      {}", w.min);
        let _ = write!(out, "\n        low      {}", w.low);
        let _ = write!(out, "\n        high     {}", w.high);
        if layout == ZoneinfoLayout::V6_18 {
            let _ = write!(out, "\n        promo    {}", w.promo);
        }
        let header_stat = |name: &str| match layout {
            ZoneinfoLayout::V3_10 => name == "scanned",
            ZoneinfoLayout::V4_19 => false,
            ZoneinfoLayout::V6_18 => name == "cma",
        };
        if let (ZoneinfoLayout::V3_10, Some(v)) = (layout, z.stats.get("scanned")) {
            let _ = write!(out, "\n        scanned  {v}");
        }
        let _ = write!(out, "\n        spanned  {}", z.spanned.unwrap_or(0));
        let _ = write!(out, "\n        present  {}", z.present.unwrap_or(0));
        let _ = write!(out, "\n        managed  {}", z.managed.unwrap_or(0));
        if let (ZoneinfoLayout::V6_18, Some(v)) = (layout, z.stats.get("cma")) {
            let _ = write!(out, "\n        cma      {v}");
        }
        let indent = if layout == ZoneinfoLayout::V3_10 {
            "    "
        } else {
            "      "
        };
        let stats = |out: &mut String| {
            let items = layout.zone_items();
            let known = items.iter().filter_map(|k| z.stats.get_key_value(*k));
            let others = z
                .stats
                .iter()
                .filter(|(k, _)| !header_stat(k) && !items.contains(&k.as_str()));
            for (k, v) in known.chain(others) {
                let _ = write!(out, "\n{indent}{k:<12} {v}");
            }
        };
        let protection = |out: &mut String| {
            let p = z.protection.as_deref().unwrap_or(&[]);
            let list: Vec<String> = p.iter().map(u64::to_string).collect();
            let _ = write!(out, "\n        protection: ({})", list.join(", "));
        };
        let pagesets = |out: &mut String| {
            let Some(sets) = &z.pagesets else { return };
            out.push_str("\n  pagesets");
            for p in sets {
                let _ = write!(out, "\n    cpu: {}", p.cpu);
                if let Some(l) = p.list {
                    let _ = write!(out, " pcp: {l}");
                }
                match p.high_min_max {
                    // 6.13+ (`high_min`/`high_max` added, the values aligned after them).
                    Some((min, max)) => {
                        let _ = write!(
                            out,
                            "\n              count:    {}\n              high:     {}\n              \
                             batch:    {}\n              high_min: {min}\n              high_max: {max}",
                            p.count, p.high, p.batch
                        );
                    }
                    None => {
                        let _ = write!(
                            out,
                            "\n              count: {}\n              high:  {}\n              batch: {}",
                            p.count, p.high, p.batch
                        );
                    }
                }
                if let Some(t) = p.stat_threshold {
                    let _ = write!(out, "\n  vm stats threshold: {t}");
                }
            }
        };
        if layout == ZoneinfoLayout::V3_10 {
            stats(&mut out);
            protection(&mut out);
            pagesets(&mut out);
            let _ = write!(out, "\n  start_pfn:         {}", z.start_pfn.unwrap_or(0));
        } else {
            protection(&mut out);
            if populated {
                stats(&mut out);
                pagesets(&mut out);
                let _ = write!(out, "\n  start_pfn:           {}", z.start_pfn.unwrap_or(0));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmzone_types::ZoneType;

    const V5_14: &str = "Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 15830
      nr_mapped    11146
  pages free     3808
        boost    0
        min      190
        low      237
        high     284
        spanned  4095
        present  3998
        managed  3840
        cma      0
        protection: (0, 756, 756, 756, 756)
      nr_free_pages 3808
  pagesets
    cpu: 0
              count: 0
              high:  237
              batch: 1
  vm stats threshold: 2
  node_unreclaimable:  0
  start_pfn:           1
Node 0, zone   Normal
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
";

    #[test]
    fn reads_new_layout_with_per_node_stats_and_empty_zones() {
        let c = parse("z", V5_14).unwrap();
        assert_eq!(c.zones.len(), 2);
        let dma = &c.zones[0];
        assert_eq!(dma.free_pages, Some(3808));
        assert_eq!(
            dma.watermarks,
            Some(Watermarks {
                min: 190,
                low: 237,
                high: 284,
                promo: 0,
                boost: 0
            })
        );
        assert_eq!(dma.protection, Some(vec![0, 756, 756, 756, 756]));
        assert_eq!(dma.stats["nr_free_pages"], 3808);
        assert_eq!(dma.stats["cma"], 0);
        assert_eq!(dma.start_pfn, Some(1));
        assert_eq!(c.node_stats["nr_mapped"], 11146);
        assert_eq!(c.zones[1].zone, ZoneType::Normal);
        assert_eq!(c.zones[1].present, Some(0));
        assert_eq!(c.zones[1].start_pfn, None);
    }

    #[test]
    fn reads_2_6_16_and_skips_unnamed_stat_lines() {
        let t = "Node 0, zone      DMA
  pages free     5410
        min      181
        low      226
        high     271
        active   367
        scanned  0 (a: 0 i: 0)
        spanned  8192
        present  8192
        protection: (0, 0, 0, 0)
  pagesets
    cpu: 0 pcp: 0
              count: 2
  start_pfn:         196608
";
        let c = parse("z", t).unwrap();
        let z = &c.zones[0];
        assert_eq!(z.managed, None);
        assert_eq!(z.stats["active"], 367);
        assert_eq!(z.stats["scanned"], 0);
        assert_eq!(z.start_pfn, Some(196608));
        let t = "Node 0, zone DMA\n  per-node stats\n      nr_written 3\n                   537792\n  pages free 1\n  min 1\n  low 2\n  high 3\n";
        let c = parse("z", t).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 4);
    }

    #[test]
    fn missing_watermark_and_bad_values_are_errors() {
        let e = parse(
            "z",
            "Node 0, zone DMA\n  pages free 1\n        low 2\n        high 3\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "z:1: node 0 zone DMA: expected a `min` line, found none"
        );
        let e = parse("z", "Node 0, zone DMA\n  pages free x\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "z:2: expected a value for `pages free` (an unsigned integer), found `x`"
        );
        let e = parse(
            "z",
            "Node 0, zone DMA\n  pages free 1\n  protection: (0, 1\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("z:3: expected `(n, n, …)`"),
            "{e}"
        );
        let e = parse("z", "  pages free 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("z:1: expected `Node N, zone NAME`"),
            "{e}"
        );
    }

    #[test]
    fn writes_each_layout_as_the_kernel_does() {
        let mut z = ZoneCapture::new(0, ZoneType::Normal);
        z.free_pages = Some(34500);
        z.watermarks = Some(Watermarks {
            min: 3412,
            low: 4265,
            high: 5118,
            promo: 5971,
            boost: 0,
        });
        z.spanned = Some(196608);
        z.present = Some(196608);
        z.managed = Some(196608);
        z.protection = Some(vec![0, 0, 0, 0]);
        z.start_pfn = Some(1048576);
        z.stats.insert("nr_free_pages".into(), 34500);
        let v3 = write(std::slice::from_ref(&z), ZoneinfoLayout::V3_10);
        assert_eq!(
            v3,
            "Node 0, zone   Normal\n  pages free     34500\n        min      3412\n        low      4265\n        high     5118\n        spanned  196608\n        present  196608\n        managed  196608\n    nr_free_pages 34500\n        protection: (0, 0, 0, 0)\n  start_pfn:         1048576\n"
        );
        let v6 = write(std::slice::from_ref(&z), ZoneinfoLayout::V6_18);
        assert!(
            v6.contains("\n        boost    0\n        min      3412"),
            "{v6}"
        );
        assert!(
            v6.contains("\n        promo    5971\n        spanned"),
            "{v6}"
        );
        assert!(v6.contains("protection: (0, 0, 0, 0)\n      nr_free_pages 34500\n  start_pfn:           1048576\n"), "{v6}");
        assert_eq!(parse("z", &v6).unwrap().zones[0], z);
        // 6.13+ pagesets: high_min and high_max, the values aligned after them.
        z.pagesets = Some(vec![Pageset {
            cpu: 0,
            list: None,
            count: 4337,
            high: 91376,
            batch: 63,
            high_min_max: Some((4338, 104429)),
            stat_threshold: Some(48),
        }]);
        let v6 = write(std::slice::from_ref(&z), ZoneinfoLayout::V6_18);
        assert!(
            v6.contains(
                "\n  pagesets\n    cpu: 0\n              count:    4337\n              high:     91376\n              batch:    63\n              high_min: 4338\n              high_max: 104429\n  vm stats threshold: 48\n"
            ),
            "{v6}"
        );
        assert_eq!(parse("z", &v6).unwrap().zones[0], z);
    }
}
