//! A time series of captures of one machine (`buddysim replay`): where each capture comes from
//! and when it was taken.
//!
//! A series is read from one of:
//! * a **folder** of capture files whose names begin with their time, RFC 3339
//!   (`2026-11-20T10:00:00Z-buddyinfo.txt`) or Unix seconds (`1700000000.buddyinfo`); files
//!   sharing a time (buddyinfo + pagetypeinfo + zoneinfo) form one capture, merged as
//!   `initial: capture` merges them. A `series.txt` in the folder replaces the names' times;
//! * a **list file** (`series.txt` or any name): one capture file a line, `<time> <file>` or a
//!   file whose name begins with its time; `#` starts a comment; paths are relative to the list;
//!   lines in time order, lines sharing a time form one capture;
//! * a **node_exporter export**: Prometheus text with sample timestamps, or the JSON of
//!   `/api/v1/query_range?query=node_buddyinfo_blocks` (see [`super::node_exporter`]).
//!
//! Every capture must give free blocks per order for the same zones with the same number of
//! orders, and a series needs at least two captures (the first is where a replay starts).
//! Errors name the file, the line where there is one, and what was expected.

use super::{node_exporter, parse, Capture, CaptureError, Format, Warning};
use crate::mmzone_types::ZoneType;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The index file a series folder may hold.
pub const INDEX: &str = "series.txt";

/// One capture of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedCapture {
    /// Nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The files it was read from (an export: the export, once per capture).
    pub files: Vec<String>,
    pub capture: Capture,
}

/// Captures of one machine in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The folder, list file or export the series was read from.
    pub source: String,
    pub captures: Vec<TimedCapture>,
}

impl Series {
    /// Problems the captures' parsers and merges noted (conflicting files of one time).
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.captures.iter().flat_map(|c| &c.capture.warnings)
    }
}

/// A series that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

fn file_err(file: impl std::fmt::Display, message: impl Into<String>) -> SeriesError {
    SeriesError::File {
        file: file.to_string(),
        message: message.into(),
    }
}

const NS: i64 = 1_000_000_000;

/// What a time looks like, for errors.
const TIME_FORMS: &str =
    "an RFC 3339 time such as 2026-11-20T10:00:00Z or Unix seconds such as 1700000000";

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `time_ns` as RFC 3339 in UTC: `2026-11-20T10:00:00Z`, with a fraction when there is one.
pub fn format_time(time_ns: i64) -> String {
    let (secs, frac) = (time_ns.div_euclid(NS), time_ns.rem_euclid(NS));
    let (days, s) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    if frac > 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// A run of ASCII digits at the start of `s`: its value and length.
fn digits(s: &str, at_most: usize) -> (i64, usize) {
    let n = s
        .bytes()
        .take(at_most)
        .take_while(u8::is_ascii_digit)
        .count();
    (s[..n].parse().unwrap_or(0), n)
}

/// `.123` after seconds: nanoseconds and the length read (1 to 9 digits after the dot).
fn fraction(s: &str) -> Result<(i64, usize), String> {
    let Some(rest) = s.strip_prefix('.') else {
        return Ok((0, 0));
    };
    let (_, n) = digits(rest, usize::MAX);
    if n == 0 {
        return Ok((0, 0));
    }
    if n > 9 {
        return Err("more than 9 digits after the decimal point (nanoseconds)".into());
    }
    let (v, _) = digits(rest, n);
    Ok((v * 10i64.pow(9 - n as u32), n + 1))
}

/// An RFC 3339 time at the start of `s`: nanoseconds since the epoch and the length read.
fn rfc3339(s: &str) -> Result<(i64, usize), String> {
    let b = s.as_bytes();
    let num = |at: usize, n: usize, what: &str| -> Result<i64, String> {
        match digits(s.get(at..).unwrap_or(""), n) {
            (v, len) if len == n => Ok(v),
            _ => Err(format!(
                "expected {n} digits of the {what} at character {}",
                at + 1
            )),
        }
    };
    let lit = |at: usize, c: &[u8], what: &str| -> Result<(), String> {
        if b.get(at).is_some_and(|x| c.contains(x)) {
            Ok(())
        } else {
            Err(format!("expected {what} at character {}", at + 1))
        }
    };
    let y = num(0, 4, "year")?;
    lit(4, b"-", "`-`")?;
    let mo = num(5, 2, "month")?;
    lit(7, b"-", "`-`")?;
    let d = num(8, 2, "day")?;
    lit(10, b"Tt ", "`T` between date and time")?;
    let h = num(11, 2, "hour")?;
    lit(13, b":", "`:`")?;
    let mi = num(14, 2, "minute")?;
    lit(16, b":", "`:`")?;
    let se = num(17, 2, "second")?;
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        28 + i64::from(leap),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) {
        return Err(format!("month {mo} is not 1 to 12"));
    }
    if !(1..=month_days[(mo - 1) as usize]).contains(&d) {
        return Err(format!("{y:04}-{mo:02} has no day {d}"));
    }
    if h > 23 || mi > 59 || se > 59 {
        return Err(format!("{h:02}:{mi:02}:{se:02} is not a time of day"));
    }
    let (frac, flen) = fraction(&s[19..])?;
    let mut at = 19 + flen;
    let offset = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(at + 1, 2, "offset hours")?;
            lit(at + 3, b":", "`:` in the offset")?;
            let om = num(at + 4, 2, "offset minutes")?;
            at += 6;
            let o = (oh * 60 + om) * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => {
            return Err(format!(
                "expected a time zone (`Z` or `+01:00`) at character {}",
                at + 1
            ))
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    secs.checked_mul(NS)
        .and_then(|n| n.checked_add(frac))
        .map(|n| (n, at))
        .ok_or_else(|| "the time is out of range".to_string())
}

/// Unix seconds at the start of `s` (`1700000000`, `1700000000.5`): nanoseconds and length.
fn unix_seconds(s: &str) -> Result<(i64, usize), String> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let secs: i64 = s[..n]
        .parse()
        .map_err(|_| format!("`{}` is too large for Unix seconds", &s[..n]))?;
    let (frac, flen) = fraction(&s[n..])?;
    secs.checked_mul(NS)
        .and_then(|v| v.checked_add(frac))
        .map(|v| (v, n + flen))
        .ok_or_else(|| format!("`{}` is too large for Unix seconds", &s[..n]))
}

/// The time at the start of `s` and its length: `None` when `s` does not begin with a digit.
fn time_at(s: &str) -> Option<Result<(i64, usize), String>> {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_digit()) {
        return None;
    }
    let date = b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    Some(if date { rfc3339(s) } else { unix_seconds(s) })
}

/// The time a file name begins with: `None` when it begins with neither form, an error when it
/// begins like one but is not a valid time. After the time comes the end of the name or a
/// character other than a letter or digit (`-`, `_`, `.`).
pub fn time_prefix(name: &str) -> Option<Result<i64, String>> {
    Some(
        time_at(name)?.and_then(|(t, len)| match name[len..].chars().next() {
            Some(c) if c.is_ascii_alphanumeric() => Err(format!(
                "`{c}` right after the time: end the time with `-`, `_` or `.`"
            )),
            _ => Ok(t),
        }),
    )
}

/// A whole token as a time, RFC 3339 or Unix seconds.
pub fn parse_time(tok: &str) -> Result<i64, String> {
    match time_at(tok) {
        Some(Err(e)) => Err(format!("`{tok}`: {e}")),
        Some(Ok((t, len))) if len == tok.len() => Ok(t),
        _ => Err(format!("expected {TIME_FORMS}, found `{tok}`")),
    }
}

/// Reads a series from a folder, a list file or a node_exporter export.
pub fn load(path: &Path) -> Result<Series, SeriesError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        let index = path.join(INDEX);
        if index.is_file() {
            return from_list(&index);
        }
        return from_folder(path);
    }
    let bytes = std::fs::read(path).map_err(|e| file_err(&shown, e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let timed = |captures: Vec<(i64, Capture)>| {
        let captures = captures
            .into_iter()
            .map(|(ms, mut capture)| {
                capture.sources = vec![shown.clone()];
                TimedCapture {
                    time_ns: ms.saturating_mul(1_000_000),
                    files: vec![shown.clone()],
                    capture,
                }
            })
            .collect();
        check(Series {
            source: shown.clone(),
            captures,
        })
    };
    let json = trimmed
        .strip_prefix('{')
        .is_some_and(|r| r.trim_start().starts_with(['"', '}']));
    if json {
        return timed(node_exporter::query_range(&shown, &text)?);
    }
    match super::detect(&text) {
        Some(Format::NodeExporter) => timed(node_exporter::series(&shown, &text)?),
        _ if text
            .lines()
            .any(|l| l.trim_start().starts_with("{__name__=")) =>
        {
            timed(node_exporter::series(&shown, &text)?)
        }
        Some(format) => Err(file_err(
            &shown,
            format!(
                "this is one capture ({format}), not a series: give a folder of capture files \
                 whose names begin with their time, a list file of `<time> <file>` lines, or a \
                 node_exporter export with timestamps"
            ),
        )),
        None => from_list(path),
    }
}

/// A folder: its files grouped by the time their names begin with.
fn from_folder(dir: &Path) -> Result<Series, SeriesError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| file_err(&shown, e.to_string()))?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|e| file_err(&shown, e.to_string()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let mut groups: BTreeMap<i64, Vec<PathBuf>> = BTreeMap::new();
    for name in names.into_iter().filter(|n| !n.starts_with('.')) {
        let path = dir.join(&name);
        if path.is_dir() {
            return Err(file_err(
                path.display(),
                "is a folder: a series folder holds capture files only",
            ));
        }
        let time = match time_prefix(&name) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(file_err(path.display(), format!("file name: {e}"))),
            None => {
                return Err(file_err(
                    path.display(),
                    format!(
                        "the file name does not begin with a time: expected {TIME_FORMS} \
                         (`2026-11-20T10:00:00Z-buddyinfo.txt`), or list the files with their \
                         times in {shown}/{INDEX}"
                    ),
                ))
            }
        };
        groups.entry(time).or_default().push(path);
    }
    from_groups(shown, groups)
}

/// A list file: `<time> <file>` or `<file>` lines, in time order.
fn from_list(list: &Path) -> Result<Series, SeriesError> {
    let shown = list.display().to_string();
    let text = std::fs::read_to_string(list).map_err(|e| file_err(&shown, e.to_string()))?;
    let dir = list.parent().unwrap_or(Path::new(""));
    let mut groups: Vec<(i64, Vec<PathBuf>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = |message: String| SeriesError::At {
            file: shown.clone(),
            line: i + 1,
            message,
        };
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (first, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(a, b)| (a, b.trim()));
        let (time, file) = if rest.is_empty() {
            let name = Path::new(first)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match time_prefix(&name) {
                Some(Ok(t)) => (t, first),
                Some(Err(e)) => return Err(at(format!("file name `{name}`: {e}"))),
                None => {
                    return Err(at(format!(
                        "expected `<time> <file>` ({TIME_FORMS}), or a file whose name begins \
                         with its time, found `{line}`"
                    )))
                }
            }
        } else {
            (parse_time(first).map_err(&at)?, rest)
        };
        let path = dir.join(file);
        if !path.is_file() {
            return Err(at(format!(
                "capture file {} does not exist (paths are relative to the list's folder)",
                path.display()
            )));
        }
        match groups.last_mut() {
            Some((t, files)) if *t == time => files.push(path),
            Some((t, _)) if *t > time => {
                return Err(at(format!(
                    "{} is before the previous line's {}: list the captures in time order",
                    format_time(time),
                    format_time(*t)
                )))
            }
            _ => groups.push((time, vec![path])),
        }
    }
    from_groups(shown, groups)
}

/// The files of one time read and merged into one capture; one file of each kind.
/// The series of the files grouped by time (in time order), each group read as one capture.
fn from_groups(
    source: String,
    groups: impl IntoIterator<Item = (i64, Vec<PathBuf>)>,
) -> Result<Series, SeriesError> {
    let captures = groups
        .into_iter()
        .map(|(time, files)| read_group(time, &files))
        .collect::<Result<Vec<_>, _>>()?;
    check(Series { source, captures })
}

fn read_group(time: i64, files: &[PathBuf]) -> Result<TimedCapture, SeriesError> {
    let mut merged: Option<Capture> = None;
    let mut kinds: Vec<(Option<Format>, String)> = Vec::new();
    for path in files {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| file_err(&shown, e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        let kind = super::detect(&text);
        if let Some((_, other)) = kinds.iter().find(|(k, _)| kind.is_some() && *k == kind) {
            return Err(file_err(
                &shown,
                format!(
                    "a second {} at {} (also {other}): files sharing a time form one capture, \
                     one file of each kind",
                    kind.map_or("file", Format::name),
                    format_time(time)
                ),
            ));
        }
        kinds.push((kind, shown.clone()));
        let c = parse(&shown, &text)?;
        match &mut merged {
            Some(m) => m.merge(c)?,
            None => merged = Some(c),
        }
    }
    Ok(TimedCapture {
        time_ns: time,
        files: kinds.into_iter().map(|(_, f)| f).collect(),
        capture: merged.unwrap_or_default(),
    })
}

/// The zones a capture compares: those with free blocks per order, empty zones left out.
pub fn compared_zones(c: &Capture) -> Vec<(u32, ZoneType, usize)> {
    c.zones
        .iter()
        .filter(|z| !(z.present == Some(0) || z.managed == Some(0) || z.spanned == Some(0)))
        .filter_map(|z| z.free_blocks.as_ref().map(|f| (z.node, z.zone, f.len())))
        .collect()
}

fn zone_list(zones: &[(u32, ZoneType, usize)]) -> String {
    zones
        .iter()
        .map(|(n, z, k)| format!("node {n} {z} ({k} orders)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// At least two captures, each giving free blocks per order for the same zones and orders.
fn check(series: Series) -> Result<Series, SeriesError> {
    let Some(first) = series.captures.first() else {
        return Err(file_err(&series.source, "no captures"));
    };
    if series.captures.len() < 2 {
        return Err(file_err(
            &series.source,
            format!(
                "a series needs at least two captures (found one, at {}): the first is where the \
                 replay starts, later ones are compared",
                format_time(first.time_ns)
            ),
        ));
    }
    for c in &series.captures {
        let files = c.files.join(" + ");
        if let Some(z) = c.capture.zones.iter().find(|z| {
            z.free_blocks.is_none()
                && !(z.present == Some(0) || z.managed == Some(0) || z.spanned == Some(0))
        }) {
            return Err(file_err(
                &files,
                format!(
                    "node {} zone {} has no free blocks per order at {} (a capture needs \
                     buddyinfo, pagetypeinfo, a failure report or node_buddyinfo_blocks)",
                    z.node,
                    z.zone,
                    format_time(c.time_ns)
                ),
            ));
        }
    }
    let reference = compared_zones(&first.capture);
    if reference.is_empty() {
        return Err(file_err(
            first.files.join(" + "),
            "no zone with free blocks per order",
        ));
    }
    for c in &series.captures[1..] {
        let zones = compared_zones(&c.capture);
        if zones != reference {
            return Err(file_err(
                c.files.join(" + "),
                format!(
                    "the capture at {} has {}, the first ({}) has {}: every capture must show \
                     the same zones and orders",
                    format_time(c.time_ns),
                    zone_list(&zones),
                    format_time(first.time_ns),
                    zone_list(&reference)
                ),
            ));
        }
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_both_forms() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000 * NS));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000 * NS));
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000 * NS + NS / 2)
        );
        assert_eq!(parse_time("1700000000.25"), Ok(1_700_000_000 * NS + NS / 4));
        assert_eq!(format_time(1_700_000_000 * NS), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(NS / 2 - NS), "1969-12-31T23:59:59.5Z");
        assert_eq!(format_time(951_782_400 * NS), "2000-02-29T00:00:00Z");
        assert_eq!(
            time_prefix("2026-11-20T10:00:00Z-buddyinfo.txt"),
            Some(parse_time("2026-11-20T10:00:00Z"))
        );
        assert_eq!(
            time_prefix("1700000000.buddyinfo"),
            Some(Ok(1_700_000_000 * NS))
        );
        assert_eq!(time_prefix("buddyinfo"), None);
        assert_eq!(
            parse_time("2026-02-30T10:00:00Z").unwrap_err(),
            "`2026-02-30T10:00:00Z`: 2026-02 has no day 30"
        );
        assert!(parse_time("2026-11-20T10:00:00")
            .unwrap_err()
            .contains("expected a time zone"));
        assert!(time_prefix("1700000000buddy").is_some_and(|r| r.is_err()));
    }
}
