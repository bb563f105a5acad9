//! /proc/pagetypeinfo: free blocks per order and migrate type, and pageblocks per type.
//!
//! `pagetypeinfo_show()` (mm/vmstat.c) prints, for each node with memory:
//! * `"Page block order: %d\n"`, `"Pages per block:  %lu\n"` and an empty line;
//! * `pagetypeinfo_showfree()`: the header `"%-43s "` "Free pages count per migrate type at
//!   order" + `"%6d "` per order, then one row per populated zone and migrate type from
//!   `pagetypeinfo_showfree_print()`: `"Node %4d, zone %8s, type %12s "` + `"%6lu "` per order.
//!   The count is the number of entries on `free_area[order].free_list[type]`. 6.18 stops
//!   counting at 100000 and prints `>100000` (read here as the lower bound 100000, with a
//!   warning);
//! * `pagetypeinfo_showblockcount()`: `"\n%-23s"` "Number of blocks type " + `"%12s "` per type,
//!   then `"Node %d, zone %8s "` + `"%12lu "` per type;
//! * with CONFIG_PAGE_OWNER, `pagetypeinfo_showmixedcount()`: the same table titled
//!   "Number of mixed blocks".
//!
//! The migrate types and their order are the kernel's enum (`migratetype_names[]`): 3.10 has
//! Unmovable, Reclaimable, Movable, Reserve; 4.4+ Unmovable, Movable, Reclaimable, HighAtomic;
//! CMA and Isolate appear when configured. A zone's `free_blocks` is the sum over types (the
//! lists hold every free block), marked as summed so a buddyinfo count wins on merge.

use super::text::{parse_migrate_type, parse_u64, Cursor, Loc, MAX_ORDERS};
use super::{Capture, CaptureError, Warning, ZoneCapture, Zones};
use crate::mmzone_types::MigrateType;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The count at which 6.18's `pagetypeinfo_showfree_print()` stops and prints `>100000`.
pub const FREECOUNT_CAP: u64 = 100_000;

const FREE_HEADER: &str = "Free pages count per migrate type at order";
const BLOCKS_HEADER: &str = "Number of blocks type";
const MIXED_HEADER: &str = "Number of mixed blocks";

/// Which table the `Node N, zone Z` rows without `type` belong to.
enum Table {
    None,
    Blocks(Vec<MigrateType>),
    Mixed(Vec<MigrateType>),
}

/// Parses /proc/pagetypeinfo text (any number of nodes, each with its own header).
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut zones = Zones::default();
    let mut warnings: Vec<Warning> = Vec::new();
    let mut pageblock_order: Option<u32> = None;
    let mut orders: Option<usize> = None;
    let mut table = Table::None;
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(r) = line.strip_prefix("Page block order:") {
            let order = parse_u64(&loc, r.trim(), "the pageblock order")?;
            let order = u32::try_from(order)
                .ok()
                .filter(|o| (*o as usize) < MAX_ORDERS)
                .ok_or_else(|| loc.err(format!("pageblock order {order} is too large")))?;
            if pageblock_order.is_some_and(|p| p != order) {
                return Err(loc.err(format!(
                    "page block order {order} differs from the earlier {}",
                    pageblock_order.unwrap_or_default()
                )));
            }
            pageblock_order = Some(order);
        } else if let Some(r) = line.strip_prefix("Pages per block:") {
            let pages = parse_u64(&loc, r.trim(), "the pages per block")?;
            if let Some(o) = pageblock_order {
                if pages != 1u64 << o {
                    return Err(loc.err(format!(
                        "expected {} pages per block (2^{o}), found {pages}",
                        1u64 << o
                    )));
                }
            }
        } else if let Some(r) = line.strip_prefix(FREE_HEADER) {
            let cols = Cursor::new(r).counts(&loc, "order numbers")?;
            if cols.is_empty() || cols.iter().enumerate().any(|(o, c)| *c != o as u64) {
                return Err(loc.expected("the orders 0 1 2 … after the header", r.trim()));
            }
            orders = Some(cols.len());
            table = Table::None;
        } else if let Some(r) = line.strip_prefix(BLOCKS_HEADER) {
            table = Table::Blocks(type_columns(&loc, r)?);
        } else if let Some(r) = line.strip_prefix(MIXED_HEADER) {
            table = Table::Mixed(type_columns(&loc, r)?);
        } else {
            let mut c = Cursor::new(line);
            let (node, zone) = c.node_zone(&loc)?;
            if c.eat(",") {
                c.expect(&loc, "type")?;
                let mt = parse_migrate_type(&loc, c.word())?;
                let n = orders.ok_or_else(|| {
                    loc.err("free counts before the `Free pages count per migrate type` header")
                })?;
                let counts = free_counts(&loc, &mut c, n, &mut warnings)?;
                let z = zones.entry(node, zone);
                let by_type = z.free_by_type.get_or_insert_with(BTreeMap::new);
                if by_type.insert(mt, counts).is_some() {
                    return Err(loc.err(format!(
                        "node {node} zone {zone} type {mt} appears twice (expected each type once)"
                    )));
                }
            } else {
                let (types, mixed) = match &table {
                    Table::Blocks(t) => (t, false),
                    Table::Mixed(t) => (t, true),
                    Table::None => {
                        return Err(loc.expected(
                            "`, type NAME` or a `Number of blocks type` header before this row",
                            c.rest(),
                        ))
                    }
                };
                let counts = c.counts(&loc, "pageblock counts")?;
                if counts.len() != types.len() {
                    return Err(loc.err(format!(
                        "expected {} pageblock counts (one per type column), found {}",
                        types.len(),
                        counts.len()
                    )));
                }
                let map: BTreeMap<MigrateType, u64> = types.iter().copied().zip(counts).collect();
                let z = zones.entry(node, zone);
                let slot = if mixed {
                    &mut z.mixed_pageblocks
                } else {
                    &mut z.pageblocks
                };
                if slot.replace(map).is_some() {
                    return Err(loc.err(format!(
                        "node {node} zone {zone} appears twice in the same table"
                    )));
                }
            }
        }
    }
    if zones.zones.is_empty() {
        return Err(Loc::new(file, 1).expected("pagetypeinfo rows `Node N, zone NAME, …`", ""));
    }
    let mut zones = zones.into_vec();
    for z in &mut zones {
        if let Some(by_type) = &z.free_by_type {
            let n = by_type.values().map(Vec::len).max().unwrap_or(0);
            let sums = (0..n)
                .map(|o| {
                    by_type
                        .values()
                        .map(|v| v.get(o).copied().unwrap_or(0))
                        .fold(0u64, u64::saturating_add)
                })
                .collect();
            z.free_blocks = Some(sums);
            z.free_blocks_summed = true;
        }
    }
    Ok(Capture {
        zones,
        pageblock_order,
        warnings,
        ..Capture::default()
    })
}

/// The migrate type names of a table header.
fn type_columns(loc: &Loc, rest: &str) -> Result<Vec<MigrateType>, CaptureError> {
    let types = rest
        .split_whitespace()
        .map(|t| parse_migrate_type(loc, t))
        .collect::<Result<Vec<_>, _>>()?;
    if types.is_empty() {
        return Err(loc.expected("migrate type names after the table title", ""));
    }
    Ok(types)
}

/// One free row's counts: exactly `n` cells, `>100000` read as 100000 with a warning.
fn free_counts(
    loc: &Loc,
    c: &mut Cursor,
    n: usize,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<u64>, CaptureError> {
    let mut counts = Vec::with_capacity(n);
    loop {
        let w = c.word();
        if w.is_empty() {
            break;
        }
        let v = match w.strip_prefix('>') {
            Some(num) => {
                let v = parse_u64(loc, num, "a free count")?;
                warnings.push(loc.warning(format!(
                    "order {} count printed as `>{v}` (6.18 stops counting there); using {v} as a lower bound",
                    counts.len()
                )));
                v
            }
            None => parse_u64(loc, w, "a free count")?,
        };
        if counts.len() == n {
            return Err(loc.err(format!(
                "expected {n} free counts (one per order), found more"
            )));
        }
        counts.push(v);
    }
    if counts.len() != n {
        return Err(loc.err(format!(
            "expected {n} free counts (one per order), found {}",
            counts.len()
        )));
    }
    Ok(counts)
}

/// Prints zones as `pagetypeinfo_show()` does, node by node: the header, one free row per zone
/// and migrate type of `types` (the kernel's enum order, `Profile::migrate_types`; types a zone
/// lacks print zeros) and the `Number of blocks type` table. Zones without `free_by_type` or
/// `free_blocks` are skipped (unpopulated). Counts are printed exactly, without 6.18's cap.
pub fn write(pageblock_order: u32, types: &[MigrateType], zones: &[ZoneCapture]) -> String {
    let mut out = String::new();
    let mut nodes: Vec<u32> = zones.iter().map(|z| z.node).collect();
    nodes.sort_unstable();
    nodes.dedup();
    for node in nodes {
        let populated: Vec<&ZoneCapture> = zones
            .iter()
            .filter(|z| z.node == node && (z.free_by_type.is_some() || z.free_blocks.is_some()))
            .collect();
        if populated.is_empty() {
            continue;
        }
        let orders = populated
            .iter()
            .map(|z| {
                z.free_blocks.as_ref().map_or_else(
                    || {
                        z.free_by_type
                            .iter()
                            .flat_map(|m| m.values())
                            .map(Vec::len)
                            .max()
                            .unwrap_or(0)
                    },
                    Vec::len,
                )
            })
            .max()
            .unwrap_or(0);
        let _ = writeln!(out, "Page block order: {pageblock_order}");
        let _ = writeln!(out, "Pages per block:  {}", 1u64 << pageblock_order.min(63));
        out.push('\n');
        let _ = write!(out, "{FREE_HEADER:<43} ");
        for o in 0..orders {
            let _ = write!(out, "{o:6} ");
        }
        out.push('\n');
        for z in &populated {
            for mt in types {
                let _ = write!(
                    out,
                    "Node {:4}, zone {:>8}, type {:>12} ",
                    node,
                    z.zone.name(),
                    mt.name()
                );
                let row = z.free_by_type.as_ref().and_then(|m| m.get(mt));
                for o in 0..orders {
                    let n = row.and_then(|r| r.get(o)).copied().unwrap_or(0);
                    let _ = write!(out, "{n:6} ");
                }
                out.push('\n');
            }
        }
        let _ = write!(out, "\n{:<23}", format!("{BLOCKS_HEADER} "));
        for mt in types {
            let _ = write!(out, "{:>12} ", mt.name());
        }
        out.push('\n');
        for z in &populated {
            let _ = write!(out, "Node {}, zone {:>8} ", node, z.zone.name());
            for mt in types {
                let n = z
                    .pageblocks
                    .as_ref()
                    .and_then(|m| m.get(mt))
                    .copied()
                    .unwrap_or(0);
                let _ = write!(out, "{n:12} ");
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmzone_types::ZoneType;

    const TYPES_4_4: [MigrateType; 6] = [
        MigrateType::Unmovable,
        MigrateType::Movable,
        MigrateType::Reclaimable,
        MigrateType::HighAtomic,
        MigrateType::Cma,
        MigrateType::Isolate,
    ];

    const XILINX: &str = "Page block order: 10
Pages per block:  1024

Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 
Node    0, zone   Normal, type    Unmovable      1      2      4      1      1      1      1      0      1      0      0 
Node    0, zone   Normal, type      Movable     55      9      2      3      1      1      0      0      0      0     29 
Node    0, zone   Normal, type  Reclaimable      1      0      0      1      1      0      0      1      1      0      0 
Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 
Node    0, zone   Normal, type          CMA      0      0      1      1      1      1      0      1      1      1      3 
Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 

Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate 
Node 0, zone   Normal            3           55            2            0            4            0 
";

    #[test]
    fn reads_types_blocks_and_sums_and_writes_back_byte_for_byte() {
        let c = parse("p", XILINX).unwrap();
        assert_eq!(c.pageblock_order, Some(10));
        let z = &c.zones[0];
        assert_eq!(z.free_by_type.as_ref().unwrap()[&MigrateType::Cma][10], 3);
        assert_eq!(z.pageblocks.as_ref().unwrap()[&MigrateType::Cma], 4);
        assert_eq!(
            z.free_blocks.as_ref().unwrap(),
            &vec![57, 11, 7, 6, 4, 3, 1, 2, 3, 1, 32]
        );
        assert!(z.free_blocks_summed);
        assert_eq!(write(10, &TYPES_4_4, &c.zones), XILINX);
    }

    #[test]
    fn capped_cells_are_a_lower_bound_with_a_warning() {
        let t = "Page block order: 9\nPages per block:  512\n\n\
Free pages count per migrate type at order       0      1 \n\
Node    0, zone   Normal, type      Movable >100000     12 \n";
        let c = parse("p", t).unwrap();
        assert_eq!(
            c.zones[0].free_by_type.as_ref().unwrap()[&MigrateType::Movable],
            vec![100_000, 12]
        );
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 5);
        assert!(c.warnings[0].message.contains("lower bound"));
    }

    #[test]
    fn mixed_block_table_and_several_nodes() {
        let t = "Page block order: 9\nPages per block:  512\n\n\
Free pages count per migrate type at order       0 \n\
Node    0, zone   Normal, type    Unmovable      5 \n\n\
Number of blocks type     Unmovable \nNode 0, zone   Normal            3 \n\n\
Number of mixed blocks    Unmovable \nNode 0, zone   Normal            1 \n\
Page block order: 9\nPages per block:  512\n\n\
Free pages count per migrate type at order       0 \n\
Node    1, zone   Normal, type    Unmovable      7 \n";
        let c = parse("p", t).unwrap();
        assert_eq!(c.zones.len(), 2);
        assert_eq!(
            c.zones[0].mixed_pageblocks.as_ref().unwrap()[&MigrateType::Unmovable],
            1
        );
        assert_eq!(
            c.zones[0].pageblocks.as_ref().unwrap()[&MigrateType::Unmovable],
            3
        );
        assert_eq!(c.zones[1].zone, ZoneType::Normal);
        assert_eq!(c.zones[1].free_blocks, Some(vec![7]));
    }

    #[test]
    fn rejects_unknown_types_short_rows_and_bad_block_rows() {
        let head = "Page block order: 9\nPages per block:  512\n\nFree pages count per migrate type at order       0      1 \n";
        let e = parse(
            "p",
            &format!("{head}Node 0, zone Normal, type Sticky 1 2\n"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p:5: unknown migrate type `Sticky`"),
            "{e}"
        );
        let e = parse("p", &format!("{head}Node 0, zone Normal, type Movable 1\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p:5: expected 2 free counts (one per order), found 1"
        );
        let e = parse(
            "p",
            &format!("{head}Number of blocks type  Movable Unmovable\nNode 0, zone Normal 1\n"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "p:6: expected 2 pageblock counts (one per type column), found 1"
        );
        let e = parse("p", "Page block order: 9\nPages per block:  500\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p:2: expected 512 pages per block (2^9), found 500"
        );
    }
}
