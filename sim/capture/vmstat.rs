//! /proc/vmstat: machine-wide event and state counters.
//!
//! `vmstat_show()` (mm/vmstat.c) prints one `"%s %lu"` line per item of `vmstat_text[]`
//! (`nr_free_pages 12345`, `compact_stall 152`, 3.10's per-zone `pgsteal_kswapd_normal`, 4.19's
//! node-based `pgsteal_kswapd`; KERNEL_MM.md 9.4). Items go into [`Capture::node_stats`] as
//! printed (pages for the `nr_*` state items, events for the rest).

use super::text::{parse_u64, Loc};
use super::{Capture, CaptureError};

fn is_name(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether every non-empty line is `name number` (and there is at least one).
pub fn looks_like(text: &str) -> bool {
    let mut any = false;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut t = l.split_whitespace();
        let (Some(name), Some(v), None) = (t.next(), t.next(), t.next()) else {
            return false;
        };
        if !is_name(name) || !v.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        any = true;
    }
    any
}

/// Parses /proc/vmstat text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut capture = Capture::default();
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let mut t = raw.split_whitespace();
        let Some(name) = t.next() else { continue };
        if !is_name(name) {
            return Err(loc.expected("a counter name", name));
        }
        let v = parse_u64(
            &loc,
            t.next().unwrap_or(""),
            &format!("the value of {name}"),
        )?;
        if let Some(extra) = t.next() {
            return Err(loc.expected("end of line", extra));
        }
        capture.node_stats.insert(name.to_string(), v);
    }
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_strictly() {
        let t = "nr_free_pages 113585\ncompact_stall 152\n";
        assert!(looks_like(t));
        let c = parse("v", t).unwrap();
        assert_eq!(c.node_stats["compact_stall"], 152);
        assert_eq!(
            parse("v", "compact_stall x\n").unwrap_err().to_string(),
            "v:1: expected the value of compact_stall (an unsigned integer), found `x`"
        );
        assert!(parse("v", "compact_stall 1 2\n").is_err());
        assert!(!looks_like("compact stall 1\n"));
    }
}
