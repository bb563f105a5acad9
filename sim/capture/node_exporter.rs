//! Prometheus node_exporter metrics (text exposition format): `node_buddyinfo_blocks`.
//!
//! node_exporter's buddyinfo collector reads /proc/buddyinfo (the kernel's `frag_show_print()`,
//! see [`super::buddyinfo`]) and exports one sample per zone and order:
//! `node_buddyinfo_blocks{node="0",size="3",zone="Normal"} 105`, where `size` is the order and
//! the value is `nr_free`. The exposition format allows labels in any order, `# HELP` / `# TYPE`
//! comments, an optional timestamp after the value and float values (`1.05e+06`). Other metric
//! families are ignored. Every zone must export the same orders, 0 to the highest, with no gap.

use super::text::{parse_u64, parse_zone, Loc, MAX_ORDERS};
use super::{Capture, CaptureError, Zones};
use crate::mm::mmzone::ZoneType;
use std::borrow::Cow;
use std::collections::BTreeMap;

const METRIC: &str = "node_buddyinfo_blocks";

/// Line starts that mark a Prometheus exposition with buddyinfo samples or comments (what
/// [`super::detect`] looks for).
pub const LINE_MARKERS: [&str; 3] = [METRIC, "# HELP ", "# TYPE "];

/// One sample: labels and the value.
struct Sample<'s> {
    labels: Vec<(&'s str, Cow<'s, str>)>,
    value: &'s str,
}

/// A label value after its opening quote, and the index of the closing quote. Borrowed unless it
/// has escapes (`\\`, `\"`, `\n`).
fn label_value<'s>(loc: &Loc, v: &'s str) -> Result<(Cow<'s, str>, usize), CaptureError> {
    let unclosed = || loc.expected("a closing `\"`", "");
    match v.find(['"', '\\']) {
        Some(i) if v.as_bytes()[i] == b'"' => return Ok((Cow::Borrowed(&v[..i]), i)),
        None => return Err(unclosed()),
        Some(_) => {}
    }
    let mut value = String::new();
    let mut chars = v.char_indices();
    loop {
        match chars.next() {
            Some((i, '"')) => return Ok((Cow::Owned(value), i)),
            Some((_, '\\')) => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, c)) => value.push(c),
                None => return Err(unclosed()),
            },
            Some((_, c)) => value.push(c),
            None => return Err(unclosed()),
        }
    }
}

/// Parses a sample line after the metric name: `{k="v",…} value [timestamp]`.
fn sample<'s>(loc: &Loc, rest: &'s str) -> Result<Sample<'s>, CaptureError> {
    let mut labels = Vec::new();
    let mut r = rest.trim_start();
    if let Some(mut s) = r.strip_prefix('{') {
        loop {
            s = s.trim_start().trim_start_matches(',').trim_start();
            if let Some(after) = s.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = s
                .find('=')
                .ok_or_else(|| loc.expected("`name=\"value\"` labels closed by `}`", s))?;
            let name = s[..eq].trim();
            let v = s[eq + 1..]
                .trim_start()
                .strip_prefix('"')
                .ok_or_else(|| loc.expected("a quoted label value", &s[eq + 1..]))?;
            let (value, end) = label_value(loc, v)?;
            labels.push((name, value));
            s = &v[end + 1..];
        }
    }
    let mut toks = r.split_whitespace();
    let value = toks.next().unwrap_or("");
    if let Some(ts) = toks.next() {
        let ts = ts.strip_prefix('-').unwrap_or(ts);
        parse_u64(loc, ts, "an optional timestamp in milliseconds")?;
    }
    if let Some(extra) = toks.next() {
        return Err(loc.expected("end of line after the value and timestamp", extra));
    }
    Ok(Sample { labels, value })
}

/// A sample value that must be a whole, non-negative count (`105`, `105.0`, `1.05e+06`).
fn count(loc: &Loc, v: &str) -> Result<u64, CaptureError> {
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    let f: f64 = v
        .parse()
        .map_err(|_| loc.expected("a sample value (a number)", v))?;
    // 2^53: above it an f64 no longer holds every integer.
    if !(f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0) {
        return Err(loc.expected("a whole, non-negative block count", v));
    }
    Ok(f as u64)
}

/// Parses node_exporter text; only `node_buddyinfo_blocks` samples are read.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut seen: BTreeMap<(u32, ZoneType), (usize, BTreeMap<usize, u64>)> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(METRIC) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(char::is_whitespace)) {
            continue; // another family whose name starts with ours
        }
        let s = sample(&loc, rest)?;
        let label = |name: &str| {
            s.labels
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_ref())
                .ok_or_else(|| loc.expected(&format!("a `{name}` label"), rest))
        };
        let node = parse_u64(&loc, label("node")?, "the node label")?;
        let node = u32::try_from(node).map_err(|_| loc.err(format!("node {node} is too large")))?;
        let zone = parse_zone(&loc, label("zone")?)?;
        let order = parse_u64(&loc, label("size")?, "the size (order) label")?;
        let order = usize::try_from(order)
            .ok()
            .filter(|o| *o < MAX_ORDERS)
            .ok_or_else(|| loc.err(format!("size {order} is not an order below {MAX_ORDERS}")))?;
        let n = count(&loc, s.value)?;
        let entry = seen
            .entry((node, zone))
            .or_insert_with(|| (i + 1, BTreeMap::new()));
        if entry.1.insert(order, n).is_some() {
            return Err(loc.err(format!(
                "node {node} zone {zone} size {order} appears twice"
            )));
        }
    }
    if seen.is_empty() {
        return Err(Loc::new(file, 1).expected(&format!("`{METRIC}` samples"), "none"));
    }
    let mut zones = Zones::default();
    for ((node, zone), (line, orders)) in seen {
        let loc = Loc::new(file, line);
        let blocks: Vec<u64> = orders.values().copied().collect();
        if let Some((missing, _)) = orders.keys().enumerate().find(|(k, o)| k != *o) {
            return Err(loc.err(format!(
                "node {node} zone {zone}: no sample for size {missing}"
            )));
        }
        zones.check_orders(&loc, blocks.len(), "node_buddyinfo_blocks")?;
        zones.entry(node, zone).free_blocks = Some(blocks);
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
    fn labels_in_any_order_comments_timestamps_and_floats() {
        let t = r#"# HELP node_buddyinfo_blocks Count of free blocks according to size.
# TYPE node_buddyinfo_blocks gauge
node_buddyinfo_blocks{node="0",size="0",zone="DMA"} 1
node_buddyinfo_blocks{zone="DMA",size="1",node="0"} 0 1700000000000
node_buddyinfo_blocks{size="0", zone="Normal", node="0"} 1.05e+06
node_buddyinfo_blocks{node="0",size="1",zone="Normal"} 7.0
node_cpu_seconds_total{cpu="0",mode="idle"} 12345.6
"#;
        let c = parse("n", t).unwrap();
        assert_eq!(c.zones.len(), 2);
        let escaped =
            "node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"Nor\\mal\",x=\"a\\\"b\"} 3\n";
        assert_eq!(parse("n", escaped).unwrap().zones[0].zone, ZoneType::Normal);
        assert_eq!(c.zones[0].free_blocks, Some(vec![1, 0]));
        assert_eq!(c.zones[1].zone, ZoneType::Normal);
        assert_eq!(c.zones[1].free_blocks, Some(vec![1_050_000, 7]));
    }

    #[test]
    fn gaps_duplicates_bad_values_and_missing_labels_are_errors() {
        let e = parse(
            "n",
            "node_buddyinfo_blocks{node=\"0\",size=\"1\",zone=\"DMA\"} 1\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "n:1: node 0 zone DMA: no sample for size 0");
        let e = parse("n", "node_buddyinfo_blocks{node=\"0\",zone=\"DMA\"} 1\n").unwrap_err();
        assert!(
            e.to_string().starts_with("n:1: expected a `size` label"),
            "{e}"
        );
        let e = parse(
            "n",
            "node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA\"} 1.5\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "n:1: expected a whole, non-negative block count, found `1.5`"
        );
        let e = parse(
            "n",
            "node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA\"} NaN\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("whole, non-negative"), "{e}");
        let e = parse(
            "n",
            "node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA} 1\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("closing"), "{e}");
        let e = parse(
            "n",
            "node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA\"} 1\nnode_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA32\"} 1\nnode_buddyinfo_blocks{node=\"0\",size=\"1\",zone=\"DMA32\"} 1\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("mismatch in number"), "{e}");
    }
}
