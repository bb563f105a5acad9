//! debugfs `extfrag/extfrag_index` and `extfrag/unusable_index`: per-order indices of a zone.
//!
//! `extfrag_show_print()` and `unusable_show_print()` (mm/vmstat.c) print
//! `"Node %d, zone %8s "` and then, per order, the index in thousandths as `"%d.%03d "`
//! (`index / 1000`, `index % 1000`; 6.18 prints extfrag with `"%2d.%03d "`), so −1000 prints as
//! `-1.000` and 934 as `0.934`. The values come from `__fragmentation_index()` (−1000 when a
//! block of the order is free, else 0 … 1000) and `unusable_free_index()` (0 … 1000), see
//! KERNEL_MM.md 3. They are read back into thousandths.

use super::text::{Cursor, Loc, MAX_ORDERS};
use super::{Capture, CaptureError, Format, Zones};

/// Which of the two debugfs files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Extfrag,
    Unusable,
}

/// `-1.000` → −1000, `0.934` → 934.
fn thousandths(loc: &Loc, tok: &str) -> Result<i64, CaptureError> {
    let bad = || {
        loc.expected(
            "an index printed as `%d.%03d` (like `0.934` or `-1.000`)",
            tok,
        )
    };
    let (neg, t) = match tok.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, tok),
    };
    let (int, frac) = t.split_once('.').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || frac.len() != 3 || int.len() > 15 {
        return Err(bad());
    }
    let v =
        int.parse::<i64>().map_err(|_| bad())? * 1000 + frac.parse::<i64>().map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

/// Tells extfrag_index from unusable_index by the first value of each row, which can only be
/// −1.000 or 0.000 for extfrag (−1000 when any block is free, 0 when none is) and 0.000 or
/// 1.000 for unusable (1000 when nothing is free). A row of zeros after order 0 with a non-zero
/// value later is unusable (extfrag is 0 everywhere when nothing is free). `None` when no row
/// decides (every row all zeros: an empty zone in extfrag, or only top-order blocks in
/// unusable); [`super::detect`] then calls it unusable.
pub fn detect(text: &str) -> Option<Format> {
    if !text.contains('.') {
        return None; // no index value anywhere (a buddyinfo)
    }
    let mut any_index = false;
    for line in text.lines() {
        let mut vals = line.split_whitespace().filter(|t| t.contains('.'));
        let Some(first) = vals.next() else { continue };
        any_index = true;
        match first {
            "-1.000" => return Some(Format::ExtfragIndex),
            "1.000" => return Some(Format::UnusableIndex),
            "0.000" if vals.any(|v| v != "0.000") => return Some(Format::UnusableIndex),
            _ => {}
        }
    }
    any_index.then_some(Format::UnusableIndex)
}

/// Parses either file into `extfrag_index` or `unusable_index` of each zone.
pub fn parse(file: &str, text: &str, index: Index) -> Result<Capture, CaptureError> {
    let mut zones = Zones::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let loc = Loc::new(file, i + 1);
        let mut c = Cursor::new(line);
        let (node, zone) = c.node_zone(&loc)?;
        let mut values = Vec::new();
        while !c.at_end() {
            if values.len() == MAX_ORDERS {
                return Err(loc.err(format!("expected at most {MAX_ORDERS} orders, found more")));
            }
            values.push(thousandths(&loc, c.word())?);
        }
        if values.is_empty() {
            return Err(loc.expected(&format!("index values per order after zone {zone}"), ""));
        }
        zones.check_orders(&loc, values.len(), "index")?;
        let z = zones.insert_new(&loc, node, zone)?;
        match index {
            Index::Extfrag => z.extfrag_index = Some(values),
            Index::Unusable => z.unusable_index = Some(values),
        }
    }
    if zones.zones.is_empty() {
        return Err(Loc::new(file, 1).expected("`Node N, zone NAME` lines", ""));
    }
    Ok(Capture {
        zones: zones.into_vec(),
        ..Capture::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_thousandths_and_tells_the_files_apart() {
        let ext = "Node 0, zone   Normal -1.000 -1.000  0.934 0.967\n";
        assert_eq!(detect(ext), Some(Format::ExtfragIndex));
        let c = parse("e", ext, Index::Extfrag).unwrap();
        assert_eq!(c.zones[0].extfrag_index, Some(vec![-1000, -1000, 934, 967]));
        let un = "Node 0, zone   Normal 0.000 0.884 0.987 1.000\n";
        assert_eq!(detect(un), Some(Format::UnusableIndex));
        assert_eq!(
            parse("u", un, Index::Unusable).unwrap().zones[0].unusable_index,
            Some(vec![0, 884, 987, 1000])
        );
        assert_eq!(
            detect("Node 0, zone DMA 1.000 1.000\n"),
            Some(Format::UnusableIndex)
        );
        assert_eq!(detect("Node 0, zone DMA 1 2\n"), None);
    }

    #[test]
    fn malformed_values_are_errors() {
        let e = parse("e", "Node 0, zone DMA 0.93\n", Index::Extfrag).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("e:1: expected an index printed as `%d.%03d`"),
            "{e}"
        );
        assert!(parse("e", "Node 0, zone DMA 1\n", Index::Extfrag).is_err());
        assert!(parse("e", "Node 0, zone DMA --1.000\n", Index::Extfrag).is_err());
        assert!(parse("e", "Node 0, zone DMA\n", Index::Extfrag).is_err());
    }
}
