//! Pod event logs for `arrivals: {replay: events.csv}`: real pod starts and stops in place of
//! random arrivals.
//!
//! ```text
//! time,event,pod
//! 0s,start,coredns-1
//! 90m,start,web-7f9c
//! 2h30m,stop,web-7f9c
//! ```
//! The header is required; blank lines and lines starting with `#` are skipped. `time` is the
//! offset from the start of the run, as a duration (`90m`) or in seconds (`5400`, `12.5`);
//! `event` is `start` or `stop`; `pod` is any name without commas. Fields may be wrapped in
//! double quotes. Times never go backwards, a pod is not started twice while it runs, and only
//! running pods stop: each violation is an error at its file, line and column.

use super::error::{ErrorKind, ScenarioError};
use super::units::Duration;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PodEventKind {
    Start,
    Stop,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PodEvent {
    pub time: Duration,
    pub kind: PodEventKind,
    pub pod: String,
}

const HEADER: [&str; 3] = ["time", "event", "pod"];

/// A time in seconds (`5400`, `12.5`) or a duration (`90m`).
fn parse_time(text: &str) -> Result<Duration, String> {
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return format!("{text}s")
            .parse()
            .map_err(|e: super::units::UnitError| e.0);
    }
    text.parse()
        .map_err(|e: super::units::UnitError| format!("{e}, or seconds such as `5400`"))
}

/// Reads a pod event log; `file` names it in errors.
pub fn parse_events(text: &str, file: &str) -> Result<Vec<PodEvent>, ScenarioError> {
    let err = |line: usize, column: usize, message: String| ScenarioError::At {
        file: file.to_string(),
        line: line as u64,
        column: column as u64,
        kind: ErrorKind::Invalid,
        message,
    };
    let mut events: Vec<PodEvent> = Vec::new();
    let mut running = BTreeSet::new();
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // Fields with their 1-based character columns, quotes removed.
        let mut fields = Vec::new();
        let mut start = 0;
        for part in line.split(',') {
            let lead = part.len() - part.trim_start().len();
            let column = line[..start + lead].chars().count() + 1;
            let mut value = part.trim();
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            fields.push((value, column));
            start += part.len() + 1;
        }
        if fields.len() != 3 {
            return Err(err(
                line_no,
                1,
                format!("{} fields: expected 3 (time,event,pod)", fields.len()),
            ));
        }
        if !header_seen {
            if fields.iter().map(|f| f.0.to_ascii_lowercase()).ne(HEADER) {
                return Err(err(
                    line_no,
                    1,
                    "expected the header `time,event,pod`".into(),
                ));
            }
            header_seen = true;
            continue;
        }
        let [(time, tcol), (event, ecol), (pod, pcol)] = [fields[0], fields[1], fields[2]];
        let time = parse_time(time).map_err(|m| err(line_no, tcol, m))?;
        if let Some(prev) = events.last() {
            if time < prev.time {
                return Err(err(
                    line_no,
                    tcol,
                    format!(
                        "time {time} is before the previous event's {}: events go in time order",
                        prev.time
                    ),
                ));
            }
        }
        let kind = match event {
            "start" => PodEventKind::Start,
            "stop" => PodEventKind::Stop,
            _ => {
                return Err(err(
                    line_no,
                    ecol,
                    format!("unknown event `{event}`: allowed start or stop"),
                ))
            }
        };
        if pod.is_empty() {
            return Err(err(line_no, pcol, "empty pod name".into()));
        }
        match kind {
            PodEventKind::Start if !running.insert(pod.to_string()) => {
                return Err(err(
                    line_no,
                    pcol,
                    format!("pod `{pod}` starts again while running"),
                ));
            }
            PodEventKind::Stop if !running.remove(pod) => {
                return Err(err(
                    line_no,
                    pcol,
                    format!("pod `{pod}` stops but is not running"),
                ));
            }
            _ => {}
        }
        events.push(PodEvent {
            time,
            kind,
            pod: pod.to_string(),
        });
    }
    if !header_seen {
        return Err(err(
            1,
            1,
            "empty event log: expected the header `time,event,pod`".into(),
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> String {
        parse_events(text, "ev.csv").unwrap_err().to_string()
    }

    #[test]
    fn reads_events() {
        let ev = parse_events(
            "time,event,pod\n# boot\n0s,start,a\n5400, start ,\"b\"\n2h30m,stop,b\n",
            "ev.csv",
        )
        .unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[1].time, Duration::from_secs(5400));
        assert_eq!(ev[1].pod, "b");
        assert_eq!(ev[2].kind, PodEventKind::Stop);
        assert_eq!(ev[2].time, Duration::from_secs(9000));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(
            msg("t,e,p\n"),
            "ev.csv:1:1: expected the header `time,event,pod`"
        );
        assert_eq!(
            msg(""),
            "ev.csv:1:1: empty event log: expected the header `time,event,pod`"
        );
        assert_eq!(
            msg("time,event,pod\n1h,start\n"),
            "ev.csv:2:1: 2 fields: expected 3 (time,event,pod)"
        );
        assert_eq!(
            msg("time,event,pod\n1h,begin,a\n"),
            "ev.csv:2:4: unknown event `begin`: allowed start or stop"
        );
        assert_eq!(
            msg("time,event,pod\n2h,start,a\n1h,start,b\n"),
            "ev.csv:3:1: time 1h is before the previous event's 2h: events go in time order"
        );
        assert_eq!(
            msg("time,event,pod\n1h,start,a\n2h, start, a\n"),
            "ev.csv:3:12: pod `a` starts again while running"
        );
        assert_eq!(
            msg("time,event,pod\n1h,stop,zz\n"),
            "ev.csv:2:9: pod `zz` stops but is not running"
        );
        assert!(msg("time,event,pod\nsoon,start,a\n")
            .starts_with("ev.csv:2:1: `soon` is not a duration"));
    }
}
