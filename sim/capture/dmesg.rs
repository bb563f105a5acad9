//! Kernel log text with a page allocation failure report (dmesg, syslog, journal, or a document
//! quoting one).
//!
//! When an allocation fails without `__GFP_NOWARN`, `warn_alloc_failed()` (3.10,
//! mm/page_alloc.c) or `warn_alloc()` (4.x+) prints
//! `<comm>: page allocation failure: order:<N>, mode:0x<gfp>` — 4.x+ append `(<flag names>)`
//! (`%pGg`) and `, nodemask=<list>|(null)`, 6.18 also `,cpuset=<cg>,mems_allowed=<nodes>` —
//! then `dump_stack()` (whose `CPU: … Comm: … Not tainted <release> #1` line names the kernel)
//! and `show_mem()` → `show_free_areas()` (mm/page_alloc.c; 6.x mm/show_mem.c):
//! * `Mem-Info:` and node-wide counters in pages, `active_anon:44762 inactive_anon:52333 …`
//!   (one printk with embedded newlines, which syslog escapes as `#012`);
//! * per zone, `Node <n> <Zone> free:<kB>kB min:<kB>kB low:<kB>kB high:<kB>kB … present:<kB>kB
//!   managed:<kB>kB …` (the `Node <n> ` prefix only with CONFIG_NUMA; 6.x adds `boost:`,
//!   `reserved_highatomic:…KB`), followed by `lowmem_reserve[]: 0 2815 15868 15868`;
//! * per zone, `Node <n> <Zone>: <count>*<size>kB (<letters>) … = <total>kB`: `nr_free` per
//!   order, and after each non-zero count the migrate types whose list is non-empty, as letters
//!   in the kernel's enum order (`show_migration_types()`: 3.10 `UEMRCI`, 4.4+ `UMEHCI`).
//!
//! Reading: the report starts at the first `page allocation failure` line. Log prefixes are
//! removed (syslog `Nov 12 15:15:41 host kernel: `, ISO syslog, journal `kernel: `, dmesg
//! `[ 1234.567890] `, `dmesg -T` `[Sun Nov 12 15:15:41 2017] `, `dmesg -x` `kern  :warn  : `,
//! Android `<4>[  123.456789] ` with `[ T123]`/`[  C1]`/`C1` caller fields; HiSilicon (Huawei)
//! kernels' `<4>[309805.658142s][pid:1361,cpu5,comm]`, after a `07-13 08:41:51.341 ` date
//! from their log collector (as in the 4.1.18 report on linux-mm, Message-ID
//! <b3127e70-4fca-9e11-62e5-7a8f3da9d044@huawei.com>); `logcat -v threadtime -b kernel`
//! `12-07 10:15:02.123     0     0 W tag     : `, whose tag logd split off the kernel's text
//! (`strip_logcat`)). Zone lines without `Node <n> ` (no CONFIG_NUMA) are node 0.
//! Lines that start with whitespace and carry no prefix continue the previous line (reports
//! pasted with wrapped lines). When the report's lines carry a prefix, the report ends at the
//! first line that has none (the end of a quoted block); without prefixes it ends at an empty
//! line or a Markdown fence. Lines of other syslog programs are skipped. kB values become 4 KiB
//! pages; a zone-line item the kernel prints in kB that ends the line without its `kB` was cut
//! there (`zone_line`), not a page count. A second report in the same text is ignored with a warning. A report that ends before
//! its zone lines, or before a zone's per-order line, is read as far as it goes, with a warning
//! at its last line naming what is missing (`missing_sections`).

use super::text::{kb_to_pages, parse_kb, parse_u64, Loc};
use super::{Arch, Capture, CaptureError, FailureReport, Warning, ZoneCapture, Zones};
use crate::mmzone_types::{MigrateType, Watermarks, ZoneType};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

const FAILURE: &str = "page allocation failure";

/// A log line with its prefix removed.
struct Stripped<'s> {
    /// Some log prefix (syslog, journal, timestamp) was found.
    prefixed: bool,
    /// The line comes from the kernel (not another syslog program).
    kernel: bool,
    message: Cow<'s, str>,
}

/// The first whitespace-delimited token and the rest after it.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn is_month(t: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.contains(&t)
}

fn is_clock(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 8
        && b[2] == b':'
        && b[5] == b':'
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => true,
            8 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}

/// `2017-11-12T15:15:41…`.
fn is_iso_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
}

/// `Nov 12 15:15:41 [host] tag[pid]: ` → (is the tag `kernel`, rest).
fn strip_syslog(s: &str) -> Option<(bool, &str)> {
    let (t, mut rest) = token(s);
    if is_month(t) {
        let (day, r) = token(rest);
        let (clock, r) = token(r);
        if day.is_empty()
            || day.len() > 2
            || !day.bytes().all(|b| b.is_ascii_digit())
            || !is_clock(clock)
        {
            return None;
        }
        rest = r;
    } else if !is_iso_time(t) {
        return None;
    }
    let (first, r) = token(rest);
    let (tag, r) = if first.ends_with(':') {
        (first, r)
    } else {
        let (tag, r2) = token(r);
        if !tag.ends_with(':') {
            return None;
        }
        (tag, r2)
    };
    let name = tag.trim_end_matches(':').split('[').next().unwrap_or("");
    if name.is_empty() {
        return None;
    }
    Some((name == "kernel", r))
}

/// `[ 1234.567890]` (HiSilicon kernels: `[1234.567890s]`) → rest.
fn strip_timestamp(s: &str) -> Option<&str> {
    let inner_end = s.find(']')?;
    let inner = s.strip_prefix('[')?[..inner_end - 1].trim();
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let seconds = inner
        .split_once('.')
        .is_some_and(|(secs, frac)| digits(secs) && digits(frac.strip_suffix('s').unwrap_or(frac)));
    // `dmesg -T`: `[Sun Nov 12 15:15:41 2017]`.
    let human = || {
        let t: Vec<&str> = inner.split_whitespace().collect();
        t.len() == 5 && is_month(t[1]) && is_clock(t[3]) && digits(t[4])
    };
    (seconds || human()).then(|| &s[inner_end + 1..])
}

/// `dmesg -x`: `kern  :warn  : ` → rest.
fn strip_facility(s: &str) -> Option<&str> {
    let (facility, r) = s.split_once(':')?;
    let (level, r) = r.split_once(':')?;
    let word = |x: &str| {
        let x = x.trim();
        !x.is_empty() && x.bytes().all(|b| b.is_ascii_lowercase())
    };
    (facility.trim() == "kern" && word(level) && level.len() <= 8).then_some(r)
}

/// The caller field of CONFIG_PRINTK_CALLER and vendor kernels: `[ T123]`, `[  C1]`, `C1`, and
/// HiSilicon's `[pid:1361,cpu5,comm]` (whose comm may hold brackets, `runc:[1:CHILD]`).
fn strip_caller(s: &str) -> &str {
    let t = s.trim_start();
    let is_id = |x: &str| {
        let x = x.trim();
        x.len() >= 2
            && (x.starts_with('T') || x.starts_with('C'))
            && x[1..].bytes().all(|b| b.is_ascii_digit())
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if let Some(r) = t.strip_prefix("[pid:") {
        let mut depth = 1;
        let end = r.char_indices().find_map(|(i, c)| {
            depth += match c {
                '[' => 1,
                ']' => -1,
                _ => 0,
            };
            (depth == 0).then_some(i)
        });
        let mut fields = r[..end.unwrap_or(0)].splitn(3, ',');
        let pid = fields.next().is_some_and(digits);
        let cpu = fields
            .next()
            .and_then(|c| c.strip_prefix("cpu"))
            .is_some_and(digits);
        return match end {
            Some(end) if pid && cpu && fields.next().is_some() => &r[end + 1..],
            _ => s,
        };
    }
    if let Some(r) = t.strip_prefix('[') {
        if let Some(end) = r.find(']') {
            if is_id(&r[..end]) {
                return &r[end + 1..];
            }
        }
        return s;
    }
    let (tok, rest) = token(t);
    if is_id(tok) && !rest.trim().is_empty() {
        rest
    } else {
        s
    }
}

/// `07-13 08:41:51.341 ` (the date of Android logcat and of vendor log collectors) → rest.
fn strip_android_date(s: &str) -> Option<&str> {
    let (date, r) = token(s);
    let (clock, r) = token(r);
    let b = date.as_bytes();
    let date_ok = b.len() == 5
        && b[2] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit());
    (date_ok && is_clock(clock)).then_some(r)
}

/// The rest of a `logcat -v threadtime` line after its date: `  PID   TID P TAG     : message`.
/// logd (`LogKlog::log()`, system/core/logd/LogKlog.cpp) stores a kernel message with its
/// `[secs]` timestamp removed and its first one or two words before a `:` split off as the
/// tag (`Normal free:4084kB` → tag `Normal free`, message `4084kB`; `DMA: 1*4kB` → tag `DMA`,
/// message `1*4kB`); it drops the spaces after that `:`. The kernel's text is the tag, `:` and
/// the message again (a zone name's per-order line keeps its space).
fn strip_logcat(s: &str) -> Option<Cow<'_, str>> {
    let (pid, r) = token(s);
    let (tid, r) = token(r);
    let (level, r) = token(r);
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(tid) || level.len() != 1 || !"VDIWEFS".contains(level) {
        return None;
    }
    // The tag holds no `:` outside brackets.
    let mut depth = 0i32;
    let colon = r.char_indices().find_map(|(i, c)| {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth <= 0 => return Some(i),
            _ => {}
        }
        None
    })?;
    let tag = r[..colon].trim();
    let message = r[colon + 1..].strip_prefix(' ').unwrap_or(&r[colon + 1..]);
    Some(if tag.is_empty() {
        Cow::Borrowed(message)
    } else if tag.parse::<ZoneType>().is_ok() {
        Cow::Owned(format!("{tag}: {message}"))
    } else {
        Cow::Owned(format!("{tag}:{message}"))
    })
}

/// Removes every log prefix the line carries.
fn strip(line: &str) -> Stripped<'_> {
    let mut s = line;
    let mut prefixed = false;
    let mut kernel = true;
    if let Some(r) = strip_android_date(s) {
        prefixed = true;
        s = match strip_logcat(r) {
            Some(Cow::Owned(message)) => {
                return Stripped {
                    prefixed,
                    kernel,
                    message: Cow::Owned(message.trim().to_string()),
                }
            }
            Some(Cow::Borrowed(message)) => message,
            None => r,
        };
    }
    if let Some((k, r)) = strip_syslog(s) {
        prefixed = true;
        kernel = k;
        s = r;
    }
    let t = s.trim_start();
    if let Some(r) = t.strip_prefix("kernel:") {
        prefixed = true;
        s = r;
    }
    if let Some(r) = strip_facility(s) {
        prefixed = true;
        s = r;
    }
    let t = s.trim_start();
    if let Some(r) = t.strip_prefix('<') {
        if let Some(end) = r.find('>') {
            if end > 0 && r[..end].bytes().all(|b| b.is_ascii_digit()) {
                prefixed = true;
                s = &r[end + 1..];
            }
        }
    }
    if let Some(r) = strip_timestamp(s.trim_start()) {
        prefixed = true;
        s = strip_caller(r);
    }
    Stripped {
        prefixed,
        kernel,
        message: Cow::Borrowed(s.trim()),
    }
}

fn is_header(message: &str) -> bool {
    message.find(FAILURE).is_some_and(|i| {
        let after = &message[i + FAILURE.len()..];
        (after.starts_with(':') || after.starts_with('.')) && after.contains("order:")
    })
}

/// The 0-based index of the first line with a page allocation failure header.
pub fn find_header(text: &str) -> Option<usize> {
    if !text.contains(FAILURE) {
        return None;
    }
    text.lines()
        .position(|l| l.contains(FAILURE) && is_header(&strip(l).message))
}

/// Whether a continuation line begins a new item rather than continuing the previous one.
fn starts_item(t: &str) -> bool {
    t.starts_with("lowmem_reserve[]") || super::text::starts_with_node(t) || zone_item(t).is_some()
}

/// Joins the report's physical lines into logical lines (1-based line number, text), split at
/// `#012` syslog newlines.
fn report_lines(text: &str, start: usize) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut prefixed_report = false;
    let mut open = false;
    // An unprefixed report quoted as an indented (Markdown) code block: its lines share the
    // header's indentation, and only a deeper one marks a wrapped continuation.
    let mut block_indent = 0;
    let indent = |raw: &str| raw.len() - raw.trim_start().len();
    for (i, raw) in text.lines().enumerate().skip(start) {
        let s = strip(raw);
        if i == start {
            prefixed_report = s.prefixed;
            if !prefixed_report {
                block_indent = indent(raw);
            }
            out.push((i + 1, s.message.to_string()));
            open = true;
            continue;
        }
        let trimmed = raw.trim();
        let continuation = indent(raw) > block_indent && !s.prefixed && !trimmed.is_empty();
        if continuation {
            if open && !starts_item(trimmed) {
                if let Some(last) = out.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(trimmed);
                }
                continue;
            }
            if !prefixed_report {
                out.push((i + 1, trimmed.to_string()));
                open = true;
                continue;
            }
            if open {
                out.push((i + 1, trimmed.to_string()));
            }
            continue;
        }
        if prefixed_report {
            if !s.prefixed {
                break;
            }
            open = s.kernel;
            if s.kernel {
                out.push((i + 1, s.message.to_string()));
            }
        } else {
            if trimmed.is_empty() || trimmed.starts_with("```") {
                break;
            }
            out.push((i + 1, s.message.to_string()));
            open = true;
        }
    }
    out.into_iter()
        .flat_map(|(n, l)| {
            l.replace("#011", " ")
                .split("#012")
                .map(|p| (n, p.trim().to_string()))
                .collect::<Vec<_>>()
        })
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// A zone-related line: (node, zone, rest after the zone token, is it the per-order line).
/// `Node 0 DMA free:…` / `DMA free:…` (zone line) or `Node 0 DMA: 1*4kB …` / `DMA: …`.
fn zone_item(line: &str) -> Option<(Option<&str>, &str, &str, bool)> {
    let (first, rest) = token(line);
    let (node, ztok, rest) = if first == "Node" {
        let (n, r) = token(rest);
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (z, r) = token(r);
        (Some(n), z, r)
    } else {
        (None, first, rest)
    };
    if let Some(name) = ztok.strip_suffix(':') {
        let (next, _) = token(rest);
        let looks_per_order = next.contains('*') || next == "=";
        if node.is_some() || (looks_per_order && name.parse::<ZoneType>().is_ok()) {
            return looks_per_order.then_some((node, name, rest, true));
        }
        return None;
    }
    let (next, _) = token(rest);
    if next.starts_with("free:") && (node.is_some() || ztok.parse::<ZoneType>().is_ok()) {
        return Some((node, ztok, rest, false));
    }
    None
}

/// Parses the first page allocation failure report in the text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let start = find_header(text).ok_or_else(|| {
        Loc::new(file, 1).expected(
            "a `<comm>: page allocation failure: order:N, mode:0x…` line",
            "none",
        )
    })?;
    let mut lines = report_lines(text, start);
    // A `#012`-joined syslog line may carry text before the header.
    let first = lines.iter().position(|(_, l)| is_header(l)).unwrap_or(0);
    lines.drain(..first);
    let mut capture = Capture::default();
    let mut zones = Zones::default();
    let mut warnings: Vec<Warning> = Vec::new();
    let mut mem_info = false;
    let mut saw_mem_info = false;
    let mut last_zone: Option<(u32, ZoneType)> = None;
    let mut arch = None;
    for (k, (n, line)) in lines.iter().enumerate() {
        let loc = Loc::new(file, *n);
        if k == 0 {
            capture.failure = Some(header(&loc, line)?);
            continue;
        }
        if is_header(line) {
            warnings.push(loc.warning(
                "another page allocation failure report starts here; only the first is read",
            ));
            break;
        }
        if capture.kernel_release.is_none() {
            capture.kernel_release = release(line);
            arch = arch.or(capture.kernel_release.as_deref().and_then(release_arch));
        }
        arch = arch.or_else(|| line_arch(line));
        if let Some(r) = line.strip_prefix("Mem-Info:") {
            mem_info = true;
            saw_mem_info = true;
            mem_items(&loc, r, &mut capture.node_stats)?;
            continue;
        }
        if let Some(r) = line.strip_prefix("lowmem_reserve[]:") {
            let (node, zone) = last_zone
                .ok_or_else(|| loc.expected("a zone line before `lowmem_reserve[]:`", line))?;
            let v = super::text::Cursor::new(r).counts(&loc, "lowmem_reserve entries")?;
            zones.entry(node, zone).protection = Some(v);
            continue;
        }
        if let Some((node, zone, rest, per_order)) = zone_item(line) {
            mem_info = false;
            let node = match node {
                Some(n) => u32::try_from(parse_u64(&loc, n, "a node number")?)
                    .map_err(|_| loc.err(format!("node number {n} is too large")))?,
                None => 0,
            };
            let zone = super::text::parse_zone(&loc, zone)?;
            let z = zones.entry(node, zone);
            if per_order {
                if z.free_blocks.is_some() {
                    return Err(loc.err(format!(
                        "a second per-order line for node {node} zone {zone}"
                    )));
                }
                let (blocks, types, w) = free_area_line(&loc, rest)?;
                let orders = blocks.len();
                z.free_blocks = Some(blocks);
                z.types_at_order = types;
                warnings.extend(w);
                zones.check_orders(&loc, orders, "per-order")?;
            } else {
                if z.free_pages.is_some() {
                    return Err(loc.err(format!("a second zone line for node {node} zone {zone}")));
                }
                warnings.extend(zone_line(&loc, rest, z)?);
                last_zone = Some((node, zone));
            }
            continue;
        }
        if mem_info && is_item(token(line).0) {
            mem_items(&loc, line, &mut capture.node_stats)?;
        }
    }
    if let Some(f) = &mut capture.failure {
        f.arch = arch;
    }
    capture.zones = zones.into_vec();
    let last = lines.last().map_or(start + 1, |(n, _)| *n);
    warnings.extend(missing_sections(
        &Loc::new(file, last),
        saw_mem_info,
        &capture.zones,
    ));
    capture.warnings = warnings;
    Ok(capture)
}

/// What a report that stops early lacks, as a warning at its last line: `show_free_areas()`
/// prints `Mem-Info:`, then a zone line for every populated zone, then a per-order line for each
/// of the same zones, so a zone line without its per-order line means the log was cut there.
fn missing_sections(loc: &Loc, saw_mem_info: bool, zones: &[ZoneCapture]) -> Option<Warning> {
    if zones.is_empty() {
        let before = if saw_mem_info {
            "after `Mem-Info:` but before its zone lines"
        } else {
            "before `Mem-Info:` and its zone lines"
        };
        return Some(loc.warning(format!(
            "the report ends here, {before}: it gives no zone's free counts"
        )));
    }
    let cut: Vec<String> = zones
        .iter()
        .filter(|z| z.free_blocks.is_none())
        .map(|z| format!("Node {} {}", z.node, z.zone.name()))
        .collect();
    let names = match cut.as_slice() {
        [] => return None,
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    Some(loc.warning(format!(
        "the report ends here, without the per-order line of {names}"
    )))
}

/// `key:digits`.
fn is_item(tok: &str) -> bool {
    tok.split_once(':').is_some_and(|(k, v)| {
        !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Mem-Info items, `key:pages` each.
fn mem_items(loc: &Loc, rest: &str, stats: &mut BTreeMap<String, u64>) -> Result<(), CaptureError> {
    for tok in rest.split_whitespace() {
        let (k, v) = tok
            .split_once(':')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| loc.expected("Mem-Info items `name:pages`", tok))?;
        stats.insert(
            k.to_string(),
            parse_u64(loc, v, &format!("the page count of `{k}`"))?,
        );
    }
    Ok(())
}

/// `exe: page allocation failure: order:6, mode:0x10c0d0(GFP_…), nodemask=(null)`.
fn header(loc: &Loc, line: &str) -> Result<FailureReport, CaptureError> {
    let i = line
        .find(FAILURE)
        .ok_or_else(|| loc.expected("`<comm>: page allocation failure: …`", line))?;
    let comm = line[..i].trim().trim_end_matches(':').trim();
    if comm.is_empty() {
        return Err(loc.expected("the task name before `: page allocation failure`", line));
    }
    let after = &line[i + FAILURE.len()..];
    let after = after.trim_start_matches([':', '.']).trim_start();
    let r = after
        .strip_prefix("order:")
        .ok_or_else(|| loc.expected("`order:N`", after))?;
    let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
    let order = parse_u64(loc, &r[..end], "the order")?;
    let order = u32::try_from(order)
        .ok()
        .filter(|o| (*o as usize) < super::text::MAX_ORDERS)
        .ok_or_else(|| loc.err(format!("order {order} is too large")))?;
    let r = r[end..].trim_start().trim_start_matches(',').trim_start();
    let r = r
        .strip_prefix("mode:0x")
        .ok_or_else(|| loc.expected("`, mode:0x…` after the order", r))?;
    let end = r.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(r.len());
    let mode = u64::from_str_radix(&r[..end], 16).map_err(|_| {
        loc.expected(
            "the GFP mode in hex (`mode:0x…`, at most 64 bits)",
            &r[..end],
        )
    })?;
    let r = r[end..].trim_start();
    let mode_names = match r.strip_prefix('(') {
        Some(names) => Some(
            names
                .find(')')
                .map(|e| names[..e].to_string())
                .ok_or_else(|| loc.expected("`)` closing the GFP flag names", names))?,
        ),
        None => None,
    };
    Ok(FailureReport {
        comm: comm.to_string(),
        order,
        mode,
        mode_names,
        arch: None,
    })
}

/// The architecture a release names: distribution kernels end in it (`3.10.0-514.el7.x86_64`,
/// `4.19.0-6-amd64`, `4.14.0-115.el7a.aarch64`); Raspberry Pi OS's 32-bit ones in `-v7+`,
/// `-v7l+`, its 64-bit ones in `-v8+`.
fn release_arch(release: &str) -> Option<Arch> {
    let r = release.to_ascii_lowercase();
    if r.ends_with("x86_64") || r.ends_with("amd64") {
        Some(Arch::X86_64)
    } else if r.ends_with("aarch64") || r.ends_with("arm64") || r.ends_with("-v8+") {
        Some(Arch::Arm64)
    } else if r.contains("armv7") || r.ends_with("-v7+") || r.ends_with("-v7l+") {
        Some(Arch::Arm)
    } else {
        None
    }
}

/// The architecture `dump_stack()`'s lines show: arm64 prints `Call trace:` (x86 `Call Trace:`)
/// and a device-tree machine as `Hardware name: <model> (DT)` (arch/arm64/kernel/setup.c); 32-bit
/// ARM's unwinder prints `(unwind_backtrace) from`, or `unwind_backtrace from` (6.x), or
/// `Function entered at [<…>]` (CONFIG_ARM_UNWIND off), and its machine `(Device Tree)`.
fn line_arch(line: &str) -> Option<Arch> {
    if line.starts_with("Call trace:")
        || (line.starts_with("Hardware name:") && line.ends_with("(DT)"))
    {
        Some(Arch::Arm64)
    } else if line.contains("unwind_backtrace) from")
        || line.contains(" unwind_backtrace from ")
        || line.starts_with("unwind_backtrace from ")
        || line.starts_with("Function entered at [<")
        || (line.starts_with("Hardware name:") && line.ends_with("(Device Tree)"))
    {
        Some(Arch::Arm)
    } else {
        None
    }
}

/// The release of a `CPU: 1 PID: 18377 Comm: exe Not tainted 3.10.0-514.el7.x86_64 #1` line.
fn release(line: &str) -> Option<String> {
    if !line.contains("Comm:") {
        return None;
    }
    let i = line
        .find("Not tainted")
        .map(|i| i + "Not tainted".len())
        .or_else(|| line.find("Tainted:").map(|i| i + "Tainted:".len()))?;
    let tokens: Vec<&str> = line[i..].split_whitespace().collect();
    let hash = tokens.iter().position(|t| t.starts_with('#'))?;
    let r = tokens.get(hash.checked_sub(1)?)?;
    r.starts_with(|c: char| c.is_ascii_digit())
        .then(|| r.to_string())
}

/// The items of a zone line after the zone name: `free:15908kB min:64kB … all_unreclaimable? yes`.
/// `show_free_areas()` prints every item in kB (`K()`, "kB"; 6.x `reserved_highatomic:…KB`) but
/// `pages_scanned` (3.10 – 4.7), a page count. An item without its `kB` is an error, unless it
/// ends the line: the line was cut there (syslog's line limit, a paste), and the item and those
/// after it are unknown, with a warning; a cut that takes a watermark leaves the zone's unknown.
fn zone_line(loc: &Loc, rest: &str, z: &mut ZoneCapture) -> Result<Option<Warning>, CaptureError> {
    let mut marks: BTreeMap<&str, u64> = BTreeMap::new();
    let toks: Vec<&str> = rest.split_whitespace().collect();
    let mut cut = None;
    let mut i = 0;
    while let Some(&tok) = toks.get(i) {
        i += 1;
        let last = i == toks.len();
        if let Some(flag) = tok.strip_suffix('?') {
            let v = match toks.get(i).copied() {
                Some("yes") => 1,
                Some("no") => 0,
                None => {
                    cut = Some(tok);
                    break;
                }
                Some(other) => {
                    return Err(loc.expected(&format!("`yes` or `no` after `{tok}`"), other))
                }
            };
            i += 1;
            z.stats.insert(flag.to_string(), v);
            continue;
        }
        let pages = match tok.split_once(':').filter(|(k, _)| !k.is_empty()) {
            Some(("pages_scanned", v)) if !v.is_empty() => parse_u64(loc, v, "pages_scanned")?,
            Some((k, v)) if v.ends_with("kB") || v.ends_with("KB") => {
                kb_to_pages(loc, parse_kb(loc, v, k)?, k)?
            }
            _ if last => {
                cut = Some(tok);
                break;
            }
            Some((k, _)) => return Err(loc.expected(&format!("`{k}:<n>kB`"), tok)),
            None => return Err(loc.expected("zone items `name:NkB`", tok)),
        };
        let (k, _) = tok.split_once(':').unwrap_or_default();
        match k {
            "free" => z.free_pages = Some(pages),
            "min" | "low" | "high" | "boost" | "promo" => {
                marks.insert(k, pages);
            }
            "present" => z.present = Some(pages),
            "managed" => z.managed = Some(pages),
            "spanned" => z.spanned = Some(pages),
            _ => {
                z.stats.insert(k.to_string(), pages);
            }
        }
    }
    let warning = cut.map(|tok| {
        let item = tok.split_once(':').map_or(tok, |(k, _)| k);
        loc.warning(format!(
            "the zone line is cut at `{tok}`, which the kernel ends in kB: `{item}` and the items after it are unknown"
        ))
    });
    if z.free_pages.is_none() && warning.is_none() {
        return Err(loc.expected("`free:NkB` in the zone line", "none"));
    }
    let mark = |k: &str| {
        marks
            .get(k)
            .copied()
            .ok_or_else(|| loc.expected(&format!("`{k}:NkB` in the zone line"), "none"))
    };
    z.watermarks = match (mark("min"), mark("low"), mark("high")) {
        (Ok(min), Ok(low), Ok(high)) => Some(Watermarks {
            min,
            low,
            high,
            promo: marks.get("promo").copied().unwrap_or(0),
            boost: marks.get("boost").copied().unwrap_or(0),
        }),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) if warning.is_none() => return Err(e),
        _ => None,
    };
    Ok(warning)
}

type FreeArea = (Vec<u64>, Option<Vec<Vec<MigrateType>>>, Vec<Warning>);

/// `34178*4kB (UEM) 20118*8kB (UEM) … 0*4096kB = 311640kB`.
fn free_area_line(loc: &Loc, rest: &str) -> Result<FreeArea, CaptureError> {
    let mut blocks = Vec::new();
    let mut types: Vec<Vec<MigrateType>> = Vec::new();
    let mut any_letters = false;
    let mut sum: u128 = 0;
    let mut total: Option<u64> = None;
    let mut toks = rest.split_whitespace().peekable();
    while let Some(tok) = toks.next() {
        if tok == "=" {
            let t = toks.next().unwrap_or("");
            total = Some(parse_kb(loc, t, "the total")?);
            if let Some(extra) = toks.next() {
                return Err(loc.expected("end of line after the total", extra));
            }
            break;
        }
        let order = blocks.len();
        if order == super::text::MAX_ORDERS {
            return Err(loc.err(format!(
                "expected at most {} orders, found more",
                super::text::MAX_ORDERS
            )));
        }
        let (count, size) = tok
            .split_once('*')
            .ok_or_else(|| loc.expected(&format!("`count*sizekB` for order {order}"), tok))?;
        let count = parse_u64(loc, count, &format!("the order-{order} count"))?;
        let size = parse_kb(loc, size, &format!("the order-{order} block size"))?;
        let expected = 4u64 << order;
        if size != expected {
            return Err(loc.err(format!(
                "expected {expected}kB blocks at order {order} (4 kB pages), found {size}kB"
            )));
        }
        sum += u128::from(count) * u128::from(size);
        blocks.push(count);
        let mut letters = Vec::new();
        if let Some(l) = toks.peek().and_then(|t| t.strip_prefix('(')) {
            let l = l
                .strip_suffix(')')
                .ok_or_else(|| loc.expected("migrate type letters `(UEM)`", l))?;
            toks.next();
            any_letters = true;
            for ch in l.chars() {
                letters.push(MigrateType::from_letter(ch).ok_or_else(|| {
                    loc.err(format!(
                        "unknown migrate type letter `{ch}` (expected U, M, E, H, R, C or I)"
                    ))
                })?);
            }
        }
        types.push(letters);
    }
    let total =
        total.ok_or_else(|| loc.expected("`= <total>kB` at the end of the per-order line", ""))?;
    if blocks.is_empty() {
        return Err(loc.expected("`count*sizekB` items", rest));
    }
    let mut warnings = Vec::new();
    if sum != u128::from(total) {
        warnings.push(loc.warning(format!(
            "the per-order counts add up to {sum}kB but the line says = {total}kB"
        )));
    }
    Ok((blocks, any_letters.then_some(types), warnings))
}

/// Prints the per-order lines of `show_free_areas()` for zones with `free_blocks`:
/// `Node 0 Normal: 34178*4kB (UEM) … 0*4096kB = 311640kB`. Letters follow each non-zero count,
/// in the order of `types` (the kernel's enum, `Profile::migrate_types`), from `types_at_order`
/// or else from the non-zero `free_by_type` counts.
pub fn write_free_areas(types: &[MigrateType], zones: &[ZoneCapture]) -> String {
    let mut out = String::new();
    for z in zones {
        let Some(blocks) = &z.free_blocks else {
            continue;
        };
        let _ = write!(out, "Node {} {}: ", z.node, z.zone.name());
        let mut total: u128 = 0;
        for (order, n) in blocks.iter().enumerate() {
            let size = 4u128 << order.min(120);
            total = total.saturating_add(u128::from(*n).saturating_mul(size));
            let _ = write!(out, "{n}*{size}kB ");
            if *n > 0 {
                let present = |mt: &MigrateType| match (&z.types_at_order, &z.free_by_type) {
                    (Some(t), _) => t.get(order).is_some_and(|l| l.contains(mt)),
                    (None, Some(by)) => by
                        .get(mt)
                        .and_then(|v| v.get(order))
                        .is_some_and(|c| *c > 0),
                    (None, None) => false,
                };
                let letters: String = types
                    .iter()
                    .filter(|mt| present(mt))
                    .map(|mt| mt.letter())
                    .collect();
                let _ = write!(out, "({letters}) ");
            }
        }
        let _ = writeln!(out, "= {total}kB");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT_4_19: &str = "\
[ 1234.567890] runc:[1:CHILD]: page allocation failure: order:4, mode:0x6080c0(GFP_KERNEL|__GFP_ZERO), nodemask=(null)
[ 1234.567891] runc:[1:CHILD] cpuset=/ mems_allowed=0
[ 1234.567900] CPU: 3 PID: 42 Comm: runc:[1:CHILD] Tainted: G           OE     4.19.0-6-amd64 #1 Debian 4.19.67-2
[ 1234.567950] Mem-Info:
[ 1234.567951] active_anon:100 inactive_anon:200 isolated_anon:0
                active_file:300 inactive_file:400
[ 1234.567952]  slab_reclaimable:500 slab_unreclaimable:600
[ 1234.567960] Node 0 active_anon:400kB inactive_anon:800kB all_unreclaimable? no
[ 1234.567961] Node 0 DMA32 free:8192kB min:4096kB low:5120kB high:6144kB reserved_highatomic:0KB present:1048576kB managed:1000000kB
[ 1234.567962] lowmem_reserve[]: 0 0 100 100 100
[ 1234.567970] Node 0 DMA32: 2*4kB (UM) 1*8kB (H) 0*16kB = 16kB
[ 1234.567999] next: page allocation failure: order:2, mode:0xcc0(GFP_KERNEL)
";

    #[test]
    fn reads_a_4_19_report_with_timestamps_and_a_second_report() {
        let c = parse("d", REPORT_4_19).unwrap();
        let f = c.failure.unwrap();
        assert_eq!(f.comm, "runc:[1:CHILD]");
        assert_eq!((f.order, f.mode), (4, 0x6080c0));
        assert_eq!(f.mode_names.as_deref(), Some("GFP_KERNEL|__GFP_ZERO"));
        assert_eq!(c.kernel_release.as_deref(), Some("4.19.0-6-amd64"));
        assert_eq!(c.node_stats["inactive_file"], 400);
        assert_eq!(c.node_stats["slab_unreclaimable"], 600);
        let z = &c.zones[0];
        assert_eq!(z.zone, ZoneType::Dma32);
        assert_eq!(z.free_pages, Some(2048));
        assert_eq!(z.watermarks.unwrap().low, 1280);
        assert_eq!(z.managed, Some(250000));
        assert_eq!(z.stats["reserved_highatomic"], 0);
        assert_eq!(z.protection, Some(vec![0, 0, 100, 100, 100]));
        assert_eq!(z.free_blocks, Some(vec![2, 1, 0]));
        let t = z.types_at_order.as_ref().unwrap();
        assert_eq!(t[0], vec![MigrateType::Unmovable, MigrateType::Movable]);
        assert_eq!(t[1], vec![MigrateType::HighAtomic]);
        assert!(t[2].is_empty());
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].message.contains("only the first"),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.warnings[0].line, 12);
    }

    #[test]
    fn syslog_hosts_other_programs_escapes_and_6_18_header() {
        let t = "Nov 12 15:15:41 node-7 dockerd[12]: unrelated\n\
Nov 12 15:15:41 node-7 kernel: exe: page allocation failure: order:6, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO),nodemask=(null),cpuset=/,mems_allowed=0\n\
Nov 12 15:15:41 node-7 dockerd[12]: Normal free:1kB\n\
Nov 12 15:15:41 node-7 kernel: Mem-Info:\n\
Nov 12 15:15:41 node-7 kernel: active_anon:1 inactive_anon:2#012 free:3 free_pcp:4\n\
Nov 12 15:15:41 node-7 kernel: Normal free:400kB boost:0kB min:40kB low:80kB high:120kB\n\
Nov 12 15:15:41 node-7 kernel: Normal: 100*4kB (ME) = 400kB\n\
Some unrelated line after the block\n\
Node 0 Normal: 1*4kB = 4kB\n";
        let c = parse("d", t).unwrap();
        assert_eq!(c.failure.as_ref().unwrap().mode, 0x40dc0);
        assert_eq!(c.node_stats["free"], 3);
        assert_eq!(c.node_stats["free_pcp"], 4);
        assert_eq!(c.zones.len(), 1);
        assert_eq!((c.zones[0].node, c.zones[0].zone), (0, ZoneType::Normal));
        assert_eq!(c.zones[0].free_pages, Some(100));
        assert_eq!(c.zones[0].free_blocks, Some(vec![100]));
        assert_eq!(
            c.zones[0].types_at_order,
            Some(vec![vec![MigrateType::Movable, MigrateType::Reclaimable]])
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn header_after_a_syslog_newline_escape() {
        let c = parse(
            "d",
            "Nov 12 15:15:41 h kernel: x#012exe: page allocation failure: order:2, mode:0xd0\n",
        )
        .unwrap();
        assert_eq!(c.failure.unwrap().order, 2);
    }

    #[test]
    fn android_dmesg_and_syslog_prefixes() {
        for prefix in [
            "<4>[  123.456789] ",
            "<4>[  123.456789] [ T123] ",
            "[  123.456789][  C1] ",
            "<6>[  123.456789] C1 ",
            "kernel: ",
            "[Sun Nov 12 15:15:41 2017] ",
            "kern  :warn  : [  123.456789] ",
            "2017-11-12T15:15:41.523932+08:00 node-7 kernel: ",
            "07-13 08:41:51.341 <4>[309805.658142s][pid:1361,cpu5,kworker/u8:2]",
            "<4>[ 1234.567890] [pid:1,cpu0,runc:[1:CHILD]]",
            "12-07 10:15:02.123     0     0 W         : [ 1234.567890] ",
        ] {
            let t = format!(
                "{prefix}kworker/u8:2: page allocation failure: order:3, mode:0x2080020\n\
{prefix}Normal free:400kB min:40kB low:80kB high:120kB\n\
{prefix}Normal: 0*4kB 1*8kB (U) 0*16kB 1*32kB (R) = 40kB\n"
            );
            let c = parse("d", &t).unwrap_or_else(|e| panic!("{prefix}: {e}"));
            assert_eq!(c.failure.as_ref().unwrap().comm, "kworker/u8:2", "{prefix}");
            assert_eq!(c.zones[0].free_blocks, Some(vec![0, 1, 0, 1]), "{prefix}");
            assert_eq!(
                c.zones[0].types_at_order.as_ref().unwrap()[3],
                vec![MigrateType::Reserve]
            );
        }
    }

    #[test]
    fn a_wrong_total_is_a_warning_and_bad_numbers_are_errors() {
        let head = "exe: page allocation failure: order:6, mode:0x10c0d0\n";
        let c = parse(
            "d",
            &format!("{head}Node 0 DMA: 1*4kB (U) 1*8kB (U) = 16kB\n"),
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 2);
        assert!(
            c.warnings[0].message.contains("add up to 12kB"),
            "{:?}",
            c.warnings
        );
        let e = parse("d", &format!("{head}Node 0 DMA: 1*4kB (U) 1*16kB = 20kB\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d:2: expected 8kB blocks at order 1 (4 kB pages), found 16kB"
        );
        let e = parse("d", &format!("{head}Node 0 DMA: 1*4kB (U) 1*8kB\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d:2: expected `= <total>kB` at the end of the per-order line, found end of line"
        );
        let e = parse("d", &format!("{head}Node 0 DMA: x*4kB = 0kB\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d:2: expected the order-0 count (an unsigned integer), found `x`"
        );
        let e = parse("d", &format!("{head}Node 0 DMA: 1*4kB (Q) = 4kB\n")).unwrap_err();
        assert!(
            e.to_string().contains("unknown migrate type letter `Q`"),
            "{e}"
        );
        let e = parse(
            "d",
            &format!("{head}Node 0 DMA free:1kB min:0kB low:0kB high:0kB\n"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("not a whole number of 4 kB pages"),
            "{e}"
        );
        let e = parse(
            "d",
            &format!("{head}Node 0 DMA free:4kB min:0 low:0kB high:0kB\n"),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "d:2: expected `min:<n>kB`, found `min:0`");
        let e = parse(
            "d",
            &format!("{head}Node 0 DMA free:4kB low:0kB high:0kB\n"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d:2: expected `min:NkB` in the zone line, found `none`"
        );
        let e = parse(
            "d",
            &format!("{head}Node 0 Weird free:4kB min:0kB low:0kB high:0kB\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown zone `Weird`"), "{e}");
        let e = parse("d", "exe: page allocation failure: order:6, mode:0xZZ\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("d:1: expected the GFP mode in hex"),
            "{e}"
        );
        let e = parse("d", "nothing here\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("d:1: expected a `<comm>: page allocation failure"),
            "{e}"
        );
    }

    #[test]
    fn a_report_in_an_indented_code_block_keeps_its_lines() {
        let t = "The node logged this before the pod failed:

    exe: page allocation failure: order:6, mode:0x10c0d0
    CPU: 3 PID: 18377 Comm: exe Not tainted 3.10.0-514.el7.x86_64 #1
    Node 0 Normal free:4000kB min:2000kB low:2500kB high:3000kB
      present:8192kB managed:8000kB
    lowmem_reserve[]: 0 0 0 0
    Node 0 Normal: 1000*4kB (UEM) 0*8kB = 4000kB

What happened next is below.
";
        let c = parse("notes.md", t).unwrap();
        assert_eq!(c.kernel_release.as_deref(), Some("3.10.0-514.el7.x86_64"));
        let f = c.failure.unwrap();
        assert_eq!((f.comm.as_str(), f.order, f.mode), ("exe", 6, 0x10c0d0));
        let z = &c.zones[0];
        assert_eq!((z.free_pages, z.managed), (Some(1000), Some(2000)));
        assert_eq!(z.protection, Some(vec![0, 0, 0, 0]));
        assert_eq!(z.free_blocks, Some(vec![1000, 0]));
    }

    #[test]
    fn writes_free_areas_in_the_kernels_letter_order() {
        let mut z = ZoneCapture::new(0, ZoneType::Normal);
        let mut blocks = vec![0; 11];
        blocks[..4].copy_from_slice(&[34178, 2000, 100, 10]);
        z.free_blocks = Some(blocks);
        let u_e_m = vec![
            MigrateType::Unmovable,
            MigrateType::Reclaimable,
            MigrateType::Movable,
        ];
        let mut t = vec![Vec::new(); 11];
        t[0] = u_e_m.clone();
        t[1] = u_e_m.clone();
        t[2] = vec![MigrateType::Movable, MigrateType::Unmovable];
        t[3] = vec![MigrateType::Movable];
        z.types_at_order = Some(t);
        let types_3_10 = [
            MigrateType::Unmovable,
            MigrateType::Reclaimable,
            MigrateType::Movable,
            MigrateType::Reserve,
        ];
        let line = write_free_areas(&types_3_10, std::slice::from_ref(&z));
        assert_eq!(
            line,
            "Node 0 Normal: 34178*4kB (UEM) 2000*8kB (UEM) 100*16kB (UM) 10*32kB (M) 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 154632kB\n"
        );
        let types_4_4 = [
            MigrateType::Unmovable,
            MigrateType::Movable,
            MigrateType::Reclaimable,
        ];
        assert!(write_free_areas(&types_4_4, &[z]).starts_with("Node 0 Normal: 34178*4kB (UME) "));
    }
}
