//! Prometheus node_exporter metrics (text exposition format): `node_buddyinfo_blocks`.
//!
//! node_exporter's buddyinfo collector reads /proc/buddyinfo (the kernel's `frag_show_print()`,
//! see [`super::buddyinfo`]) and exports one sample per zone and order:
//! `node_buddyinfo_blocks{node="0",size="3",zone="Normal"} 105`, where `size` is the order and
//! the value is `nr_free`. The exposition format allows labels in any order, `# HELP` / `# TYPE`
//! comments, an optional timestamp after the value and float values (`1.05e+06`). Other metric
//! families are ignored. Every zone must export the same orders, 0 to the highest, with no gap.
//!
//! A time series of one machine ([`series`], [`query_range`]) comes from Prometheus rather than
//! from node_exporter itself (whose `/metrics` has no timestamps): scrapes of `/federate`
//! concatenated (timestamps in milliseconds), `promtool tsdb dump` (the name as a `__name__`
//! label), `promtool tsdb dump-openmetrics` (OpenMetrics, timestamps in seconds, ending with
//! `# EOF`), or the JSON answer of `/api/v1/query_range?query=node_buddyinfo_blocks`. Samples
//! sharing a timestamp form one capture; labels other than `node`, `zone` and `size`
//! (`instance`, `job`) name the machine, and a series holds one machine.

use super::text::{parse_u64, parse_zone, Loc, MAX_ORDERS};
use super::{Capture, CaptureError, Zones};
use crate::mmzone_types::ZoneType;
use std::borrow::Cow;
use std::collections::BTreeMap;

const METRIC: &str = "node_buddyinfo_blocks";

/// Line starts that mark a Prometheus exposition with buddyinfo samples or comments (what
/// [`super::detect`] looks for).
pub const LINE_MARKERS: [&str; 3] = [METRIC, "# HELP ", "# TYPE "];

/// One `node_buddyinfo_blocks` sample with its labels decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSample {
    /// 1-based line of the sample in its file.
    pub line: usize,
    pub node: u32,
    pub zone: ZoneType,
    /// The `size` label: the order.
    pub order: usize,
    pub blocks: u64,
    /// Milliseconds since the Unix epoch, when the sample has a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The other labels (`instance="…",job="…"`, sorted by name): which machine it is from.
    pub source: String,
}

/// A sample line's parts: labels, value and timestamp.
struct Sample<'s> {
    labels: Vec<(&'s str, Cow<'s, str>)>,
    value: &'s str,
    timestamp: Option<&'s str>,
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

/// The `node`, `zone` and `size` (order) labels of one sample, read through `label`.
fn block_labels<'l>(
    loc: &Loc,
    label: impl Fn(&str) -> Result<&'l str, CaptureError>,
) -> Result<(u32, ZoneType, usize), CaptureError> {
    let node = parse_u64(loc, label("node")?, "the node label")?;
    let node = u32::try_from(node).map_err(|_| loc.err(format!("node {node} is too large")))?;
    let zone = parse_zone(loc, label("zone")?)?;
    let order = parse_u64(loc, label("size")?, "the size (order) label")?;
    let order = usize::try_from(order)
        .ok()
        .filter(|o| *o < MAX_ORDERS)
        .ok_or_else(|| loc.err(format!("size {order} is not an order below {MAX_ORDERS}")))?;
    Ok((node, zone, order))
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
    let timestamp = toks.next();
    if let Some(extra) = toks.next() {
        return Err(loc.expected("end of line after the value and timestamp", extra));
    }
    Ok(Sample {
        labels,
        value,
        timestamp,
    })
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

/// Seconds since the epoch (`1700000000`, `1700000000.123`) in whole milliseconds, if finite
/// and within ±292 million years.
pub fn seconds_to_ms(s: f64) -> Option<i64> {
    let ms = (s * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64)
}

/// A timestamp token: milliseconds (Prometheus text), or seconds (OpenMetrics).
fn timestamp(loc: &Loc, tok: &str, openmetrics: bool) -> Result<i64, CaptureError> {
    let ms = if openmetrics {
        tok.parse::<f64>().ok().and_then(seconds_to_ms)
    } else {
        tok.parse::<i64>().ok()
    };
    ms.ok_or_else(|| {
        loc.expected(
            if openmetrics {
                "a timestamp in seconds (OpenMetrics)"
            } else {
                "a timestamp in whole milliseconds"
            },
            tok,
        )
    })
}

/// The `node_buddyinfo_blocks` samples of a text exposition, in file order: Prometheus text
/// (`node_buddyinfo_blocks{…} value [ms]`), the name as a `__name__` label (`promtool tsdb
/// dump`: `{__name__="node_buddyinfo_blocks", …} value ms`), or OpenMetrics (a `# EOF` line;
/// timestamps in seconds).
pub fn samples(file: &str, text: &str) -> Result<Vec<BlockSample>, CaptureError> {
    let openmetrics = text.lines().any(|l| l.trim() == "# EOF");
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (rest, named) = if let Some(rest) = line.strip_prefix(METRIC) {
            if !(rest.starts_with('{') || rest.starts_with(char::is_whitespace)) {
                continue; // another family whose name starts with ours
            }
            (rest, true)
        } else if line.starts_with('{') && line.contains("__name__") {
            (line, false)
        } else {
            continue;
        };
        let s = sample(&loc, rest)?;
        if !named
            && !s
                .labels
                .iter()
                .any(|(k, v)| *k == "__name__" && v.as_ref() == METRIC)
        {
            continue;
        }
        let label = |name: &str| {
            s.labels
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_ref())
                .ok_or_else(|| loc.expected(&format!("a `{name}` label"), rest))
        };
        let (node, zone, order) = block_labels(&loc, label)?;
        let blocks = count(&loc, s.value)?;
        let timestamp_ms = s
            .timestamp
            .map(|t| timestamp(&loc, t, openmetrics))
            .transpose()?;
        let mut others: Vec<(&str, &str)> = s
            .labels
            .iter()
            .filter(|(k, _)| !matches!(*k, "node" | "zone" | "size" | "__name__"))
            .map(|(k, v)| (*k, v.as_ref()))
            .collect();
        others.sort_unstable();
        let source = others
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        out.push(BlockSample {
            line: i + 1,
            node,
            zone,
            order,
            blocks,
            timestamp_ms,
            source,
        });
    }
    Ok(out)
}

/// Samples as one capture: each (node, zone, order) once, every zone with orders 0 to its
/// highest and all zones with as many. An error gives the index of the sample it is about.
pub fn capture_of(samples: &[&BlockSample]) -> Result<Capture, (usize, String)> {
    let mut seen: BTreeMap<(u32, ZoneType), (usize, BTreeMap<usize, u64>)> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        let entry = seen
            .entry((s.node, s.zone))
            .or_insert_with(|| (i, BTreeMap::new()));
        if entry.1.insert(s.order, s.blocks).is_some() {
            return Err((
                i,
                format!(
                    "node {} zone {} size {} appears twice",
                    s.node, s.zone, s.order
                ),
            ));
        }
    }
    let mut zones = Zones::default();
    for ((node, zone), (first, orders)) in seen {
        if let Some((missing, _)) = orders.keys().enumerate().find(|(k, o)| k != *o) {
            return Err((
                first,
                format!("node {node} zone {zone}: no sample for size {missing}"),
            ));
        }
        let blocks: Vec<u64> = orders.values().copied().collect();
        zones
            .check_orders(&Loc::new("", 0), blocks.len(), METRIC)
            .map_err(|e| (first, e.message))?;
        zones.entry(node, zone).free_blocks = Some(blocks);
    }
    Ok(Capture {
        zones: zones.into_vec(),
        ..Capture::default()
    })
}

/// Parses node_exporter text; only `node_buddyinfo_blocks` samples are read, timestamps are
/// ignored.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let all = samples(file, text)?;
    if all.is_empty() {
        return Err(Loc::new(file, 1).expected(&format!("`{METRIC}` samples"), "none"));
    }
    capture_of(&all.iter().collect::<Vec<_>>())
        .map_err(|(i, message)| Loc::new(file, all[i].line).err(message))
}

/// Samples with timestamps grouped into one capture per timestamp, in time order. A sample
/// repeated with the same value (a scrape taken twice) counts once; every sample must have a
/// timestamp and come from one machine.
pub fn group_by_time(
    file: &str,
    samples: &[BlockSample],
) -> Result<Vec<(i64, Capture)>, CaptureError> {
    let at = |s: &BlockSample| Loc::new(file, s.line);
    let first = samples
        .first()
        .ok_or_else(|| Loc::new(file, 1).expected(&format!("`{METRIC}` samples"), "none"))?;
    type Key = (i64, u32, ZoneType, usize);
    let mut by_key: BTreeMap<Key, &BlockSample> = BTreeMap::new();
    for s in samples {
        if s.source != first.source {
            return Err(at(s).err(format!(
                "samples of another machine ({{{}}}, line {} has {{{}}}): a series is one machine, keep one instance's samples",
                s.source, first.line, first.source
            )));
        }
        let ts = s.timestamp_ms.ok_or_else(|| {
            at(s).err(
                "expected a timestamp after the value: a series needs each sample's time (node_exporter's own /metrics prints none; export from Prometheus: /federate, promtool tsdb dump or /api/v1/query_range)",
            )
        })?;
        match by_key.entry((ts, s.node, s.zone, s.order)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(s);
            }
            std::collections::btree_map::Entry::Occupied(o) if o.get().blocks != s.blocks => {
                return Err(at(s).err(format!(
                    "node {} zone {} size {} at {ts} ms is {} here and {} at line {}",
                    s.node,
                    s.zone,
                    s.order,
                    s.blocks,
                    o.get().blocks,
                    o.get().line
                )));
            }
            std::collections::btree_map::Entry::Occupied(_) => {}
        }
    }
    let mut out: Vec<(i64, Capture)> = Vec::new();
    let mut group: Vec<&BlockSample> = Vec::new();
    let mut keys = by_key.into_iter().peekable();
    while let Some(((ts, ..), s)) = keys.next() {
        group.push(s);
        if keys.peek().is_none_or(|((next, ..), _)| *next != ts) {
            let capture = capture_of(&group).map_err(|(i, message)| {
                at(group[i]).err(format!("at timestamp {ts} ms: {message}"))
            })?;
            out.push((ts, capture));
            group.clear();
        }
    }
    Ok(out)
}

/// A text exposition with timestamps as one capture per timestamp ([`samples`],
/// [`group_by_time`]).
pub fn series(file: &str, text: &str) -> Result<Vec<(i64, Capture)>, CaptureError> {
    group_by_time(file, &samples(file, text)?)
}

/// The 1-based line of every `"key":` in `text`, in order (JSON values carry no positions;
/// these name the line of each object holding the key).
fn key_lines(text: &str, key: &str) -> Vec<usize> {
    let quoted = format!("\"{key}\"");
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(&quoted) {
            rest = &rest[at + quoted.len()..];
            if rest.trim_start().starts_with(':') {
                lines.push(i + 1);
            }
        }
    }
    lines
}

/// The JSON answer of Prometheus's `/api/v1/query_range?query=node_buddyinfo_blocks` (a
/// `matrix`; an instant `vector` from `/api/v1/query` is read too) as one capture per
/// timestamp, like [`series`]. Errors name the line of the series' `"metric"` object and its
/// index in `data.result`.
pub fn query_range(file: &str, text: &str) -> Result<Vec<(i64, Capture)>, CaptureError> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Loc::new(file, e.line()).err(format!(
            "expected the JSON of a Prometheus query_range answer: {e}"
        ))
    })?;
    let top = Loc::new(file, 1);
    if let Some(status) = v.get("status").and_then(Value::as_str) {
        if status != "success" {
            let what = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            return Err(top.err(format!(
                "Prometheus answered status `{status}`: {} {}",
                what("errorType"),
                what("error")
            )));
        }
    }
    let result = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            top.expected(
                "`data.result`, a list of series (a Prometheus query_range answer)",
                v.get("data")
                    .map_or("no `data`", |_| "no `data.result` list"),
            )
        })?;
    let lines = key_lines(text, "metric");
    let mut samples = Vec::new();
    for (i, series) in result.iter().enumerate() {
        let loc = Loc::new(file, lines.get(i).copied().unwrap_or(1));
        let at = format!("data.result[{i}]");
        let metric = series
            .get("metric")
            .and_then(Value::as_object)
            .ok_or_else(|| loc.err(format!("{at}: expected a `metric` object of labels")))?;
        let label = |name: &str| {
            metric
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| loc.err(format!("{at}.metric: expected a `{name}` label")))
        };
        if metric
            .get("__name__")
            .and_then(Value::as_str)
            .is_some_and(|n| n != METRIC)
        {
            continue;
        }
        let (node, zone, order) = block_labels(&loc, label)?;
        let mut others: Vec<(&String, &Value)> = metric
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "node" | "zone" | "size" | "__name__"))
            .collect();
        others.sort_by(|a, b| a.0.cmp(b.0));
        let source = others
            .iter()
            .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",");
        let points: Vec<&Value> = match (series.get("values"), series.get("value")) {
            (Some(Value::Array(values)), _) => values.iter().collect(),
            (None, Some(one)) => vec![one],
            _ => {
                return Err(loc.err(format!(
                    "{at}: expected `values`, a list of [time, \"value\"] pairs"
                )))
            }
        };
        for (k, point) in points.into_iter().enumerate() {
            let bad = || {
                loc.err(format!(
                    "{at}.values[{k}]: expected [seconds since the epoch, \"count\"], found {point}"
                ))
            };
            let pair = point.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
            let ms = pair[0].as_f64().and_then(seconds_to_ms).ok_or_else(bad)?;
            let value = pair[1].as_str().ok_or_else(bad)?;
            samples.push(BlockSample {
                line: loc.line,
                node,
                zone,
                order,
                blocks: count(&loc, value)?,
                timestamp_ms: Some(ms),
                source: source.clone(),
            });
        }
    }
    group_by_time(file, &samples)
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
