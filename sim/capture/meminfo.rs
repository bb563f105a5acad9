//! /proc/meminfo: machine-wide memory counters.
//!
//! `meminfo_proc_show()` (fs/proc/meminfo.c) prints `"%-16s %8lu kB"`-style lines
//! (`show_val_kb()`: `MemTotal:       16384000 kB`) and a few plain counts (`HugePages_Total:`).
//! Each item goes into [`Capture::node_stats`] under its meminfo name. Note: values printed in
//! kB are converted to 4 KiB pages (rounded down: `VmallocTotal` is not a whole number of
//! pages), so every counter in a capture is in pages; plain counts are kept as printed.

use super::text::{parse_u64, Loc};
use super::{Capture, CaptureError};

/// Parses /proc/meminfo text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut capture = Capture::default();
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .filter(|(k, _)| !k.is_empty() && !k.contains(char::is_whitespace))
            .ok_or_else(|| loc.expected("`Name:  value [kB]`", line))?;
        let mut toks = rest.split_whitespace();
        let v = parse_u64(
            &loc,
            toks.next().unwrap_or(""),
            &format!("the value of {key}"),
        )?;
        let v = match toks.next() {
            None => v,
            Some("kB") => v / 4,
            Some(other) => return Err(loc.expected("`kB` or end of line after the value", other)),
        };
        if let Some(extra) = toks.next() {
            return Err(loc.expected("end of line", extra));
        }
        capture.node_stats.insert(key.to_string(), v);
    }
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_become_pages_and_counts_stay() {
        let c = parse(
            "m",
            "MemTotal:       16384000 kB\nSReclaimable:     7740548 kB\nHugePages_Total:       0\n",
        )
        .unwrap();
        assert_eq!(c.node_stats["MemTotal"], 4_096_000);
        assert_eq!(c.node_stats["SReclaimable"], 1_935_137);
        assert_eq!(c.node_stats["HugePages_Total"], 0);
        let e = parse("m", "MemTotal: 12 MB\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m:1: expected `kB` or end of line after the value, found `MB`"
        );
        assert!(parse("m", "MemTotal 12 kB\n").is_err());
        assert!(parse("m", "MemTotal: -1 kB\n").is_err());
    }
}
