//! /proc/buddyinfo: free blocks per order for every populated zone.
//!
//! The kernel prints it in `frag_show_print()` (mm/vmstat.c), walking populated zones of each
//! node: `"Node %d, zone %8s "`, then `"%6lu "` per order (`free_area[order].nr_free`, the
//! number of free blocks of that order, not pages), then a newline. 11 orders on x86-64 up to
//! 6.x (`MAX_ORDER` 11 / `NR_PAGE_ORDERS`); other architectures and configurations print more
//! or fewer. Copies found in the wild lose the trailing space or have their spacing changed
//! (the proc(5) man page), so the parser only relies on the tokens. Every zone must have the
//! same number of orders.

use super::text::{Cursor, Loc};
use super::{Capture, CaptureError, ZoneCapture, Zones};
use std::fmt::Write;

/// Parses /proc/buddyinfo text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut zones = Zones::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let loc = Loc::new(file, i + 1);
        let mut c = Cursor::new(line);
        let (node, zone) = c.node_zone(&loc)?;
        let counts = c.counts(&loc, "free block counts per order")?;
        if counts.is_empty() {
            return Err(loc.expected(
                &format!("free block counts per order after zone {zone}"),
                "",
            ));
        }
        zones.check_orders(&loc, counts.len(), "buddyinfo")?;
        zones.insert_new(&loc, node, zone)?.free_blocks = Some(counts);
    }
    if zones.zones.is_empty() {
        return Err(Loc::new(file, 1).expected("`Node N, zone NAME` lines", ""));
    }
    Ok(Capture {
        zones: zones.into_vec(),
        ..Capture::default()
    })
}

/// Prints zones as `frag_show_print()` does. Zones without `free_blocks` are skipped, as the
/// kernel skips unpopulated zones.
pub fn write(zones: &[ZoneCapture]) -> String {
    let mut out = String::new();
    for z in zones {
        let Some(blocks) = &z.free_blocks else {
            continue;
        };
        let _ = write!(out, "Node {}, zone {:>8} ", z.node, z.zone.name());
        for n in blocks {
            let _ = write!(out, "{n:6} ");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmzone_types::ZoneType;

    const PROCFS: &str = "Node 0, zone      DMA      1      0      1      0      2      1      1      0      1      1      3 \n\
Node 0, zone    DMA32    759    572    791    475    194     45     12      0      0      0      0 \n\
Node 0, zone   Normal   4381   1093    185   1530    567    102      4      0      0      0      0 \n";

    #[test]
    fn reads_the_kernel_layout_and_writes_it_back_byte_for_byte() {
        let c = parse("b", PROCFS).unwrap();
        assert_eq!(c.zones.len(), 3);
        assert_eq!(c.zones[2].zone, ZoneType::Normal);
        assert_eq!(c.zones[2].free_blocks.as_ref().unwrap()[0], 4381);
        assert_eq!(c.zones[1].free_blocks.as_ref().unwrap()[1], 572);
        assert_eq!(write(&c.zones), PROCFS);
    }

    #[test]
    fn detected_from_content_even_with_a_byte_order_mark() {
        let t = format!("\u{feff}{PROCFS}");
        assert_eq!(
            crate::capture::detect(&t),
            Some(crate::capture::Format::BuddyInfo)
        );
        assert_eq!(crate::capture::parse("b", &t).unwrap().zones.len(), 3);
    }

    #[test]
    fn lenient_spacing_any_order_count_and_nodes() {
        let t =
            "Node 0, zone     DMA     1    1\nNode 1,zone HighMem 7 8\n\nNode 3, zone Movable 0 9";
        let c = parse("b", t).unwrap();
        assert_eq!(c.zones.len(), 3);
        assert_eq!(c.zones[1].node, 1);
        assert_eq!(c.zones[1].zone, ZoneType::HighMem);
        assert_eq!(c.zones[2].free_blocks, Some(vec![0, 9]));
    }

    #[test]
    fn rejects_short_lines_mismatches_duplicates_and_bad_numbers() {
        let e = parse("b", "Node 0, zone\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:1: expected a zone name after `zone`, found end of line"
        );
        let e = parse("b", "Node 0, zone DMA\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:1: expected free block counts per order after zone DMA, found end of line"
        );
        let e = parse("b", "Node 0, zone DMA 1 2 3\nNode 0, zone DMA32 1 2 3 4\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:2: mismatch in number of buddyinfo buckets: previous count 3, new count 4"
        );
        let e = parse("b", "Node 0, zone DMA 1 2\nNode 0, zone DMA 1 2\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("b:2: node 0 zone DMA appears twice"),
            "{e}"
        );
        let e = parse("b", "Node 0, zone DMA 1 x2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b:1: expected free block counts per order (an unsigned integer), found `x2`"
        );
        let e = parse("b", "Node 0, zone Foo 1\n").unwrap_err();
        assert!(e.to_string().contains("unknown zone `Foo`"), "{e}");
        let e = parse("b", "Node 0, zone DMA 99999999999999999999\n").unwrap_err();
        assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
    }
}
