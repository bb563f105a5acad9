//! The `counts` file the kernel harness records for each run (tests/kernel/results/*/counts):
//! what the real kernel did on every executed trace line, the expected values of a replay.
//!
//! ```text
//! # trace /traces/smoke.trace, managed pages 117101
//! # line op group order requested done first_fail held ms
//! 3 mark 00-boot - - 1 - - -
//! 7 try big 10 4 4 -1 4 21
//! ```
//!
//! Columns are described in tests/kernel/README.md; `-` means "does not apply".

use super::trace::TraceError;

/// A parsed counts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Sum of the zones' `managed` pages when the trace started (the basis of `N%` amounts).
    pub managed_pages: u64,
    pub lines: Vec<CountLine>,
}

/// One executed trace line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountLine {
    /// The trace line (1-based).
    pub line: usize,
    /// The operation keyword (`alloc`, `try`, `mark`, …).
    pub op: String,
    /// Group; for `mark` the output directory, for `sysctl` `vm.NAME=VALUE`.
    pub group: String,
    pub order: Option<u32>,
    /// Resolved count (blocks or pages; entries held before a `free`).
    pub requested: Option<u64>,
    /// Successes (allocations, pages, entries freed; for `mark` 1 if the per-cpu drain ran).
    pub done: Option<u64>,
    /// 0-based index of the first failed attempt, `None` if none failed or it does not apply.
    pub first_fail: Option<u64>,
    /// What the group holds afterwards.
    pub held: Option<u64>,
    /// Guest time the line took, in milliseconds.
    pub ms: Option<u64>,
}

/// Parses a counts file; `file` names it in errors.
pub fn parse_counts(file: &str, text: &str) -> Result<Counts, TraceError> {
    let err = |line: usize, message: String| TraceError {
        file: file.to_string(),
        line,
        message,
    };
    let mut managed_pages = None;
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let at = index + 1;
        if let Some(comment) = raw.strip_prefix('#') {
            if let Some((_, n)) = comment.split_once("managed pages ") {
                let n = n
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| err(at, format!("expected `managed pages N`, found `{raw}`")))?;
                managed_pages = Some(n);
            }
            continue;
        }
        let words: Vec<&str> = raw.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let [line, op, group, order, requested, done, first_fail, held, ms] = words[..] else {
            return Err(err(
                at,
                format!(
                    "expected 9 columns `line op group order requested done first_fail held ms`, found {}",
                    words.len()
                ),
            ));
        };
        let number = |word: &str, what: &str| -> Result<Option<u64>, TraceError> {
            if word == "-" {
                return Ok(None);
            }
            word.parse::<u64>().map(Some).map_err(|_| {
                err(
                    at,
                    format!("expected {what} as a number or `-`, found `{word}`"),
                )
            })
        };
        let first_fail = if first_fail == "-1" {
            None
        } else {
            number(first_fail, "first_fail")?
        };
        let order = match number(order, "order")? {
            Some(o) => Some(
                u32::try_from(o)
                    .map_err(|_| err(at, format!("expected a small order, found `{o}`")))?,
            ),
            None => None,
        };
        lines.push(CountLine {
            line: number(line, "line")?
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| err(at, format!("expected a line number, found `{line}`")))?,
            op: op.to_string(),
            group: group.to_string(),
            order,
            requested: number(requested, "requested")?,
            done: number(done, "done")?,
            first_fail,
            held: number(held, "held")?,
            ms: number(ms, "ms")?,
        });
    }
    let managed_pages = managed_pages.ok_or_else(|| {
        err(
            1,
            "expected a `# trace …, managed pages N` header".to_string(),
        )
    })?;
    Ok(Counts {
        managed_pages,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::trace::{parse, FreeSelection, Op};
    use std::path::Path;

    #[test]
    fn parses_a_counts_file() {
        let text = "# trace /traces/smoke.trace, managed pages 117101\n\
                    # line op group order requested done first_fail held ms\n\
                    3 mark 00-boot - - 1 - - -\n\
                    7 try big 10 4 3 2 3 21\n";
        let counts = parse_counts("counts", text).expect("parses");
        assert_eq!(counts.managed_pages, 117_101);
        assert_eq!(counts.lines[0].done, Some(1));
        assert_eq!(counts.lines[1].order, Some(10));
        assert_eq!(counts.lines[1].first_fail, Some(2));
        assert_eq!(counts.lines[1].ms, Some(21));
        let e = parse_counts("counts", "# managed pages 5\n1 mark x\n").expect_err("short line");
        assert_eq!(e.line, 2);
        assert!(
            e.to_string().starts_with("counts:2: expected 9 columns"),
            "{e}"
        );
        let e = parse_counts("counts", "1 mark x - - 1 - - -\n").expect_err("no header");
        assert!(e.message.contains("managed pages"), "{e}");
        let e = parse_counts("counts", "# managed pages 5\n1 try g x 1 1 -1 1 1\n")
            .expect_err("bad order");
        assert!(e.message.contains("expected order"), "{e}");
    }

    /// Every recorded run agrees with the Rust side of the format: each trace line ran once, in
    /// order; percentages resolve as `Amount::resolve` says; `free` released exactly the entries
    /// `FreeSelection::picks` chooses; every mark has its four snapshot files, drained.
    #[test]
    fn recorded_results_agree_with_the_trace_semantics() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel");
        let Ok(runs) = std::fs::read_dir(root.join("results")) else {
            println!("note: no tests/kernel/results; skipping");
            return;
        };
        let mut checked = 0;
        for run in runs {
            let dir = run.expect("readable results directory").path();
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
            };
            let meta = read("meta");
            let trace_name = meta
                .lines()
                .find_map(|l| l.strip_prefix("trace "))
                .expect("meta names the trace");
            let trace_path = root.join("traces").join(format!("{trace_name}.trace"));
            let trace_text = std::fs::read_to_string(&trace_path).expect("the run's trace exists");
            let trace = parse(trace_name, &trace_text).unwrap_or_else(|e| panic!("{e}"));
            let counts = parse_counts("counts", &read("counts")).unwrap_or_else(|e| panic!("{e}"));
            let run_name = dir.display();
            assert_eq!(counts.lines.len(), trace.ops.len(), "{run_name}");
            let mut marks = trace.mark_dirs().into_iter();
            for (line, got) in trace.ops.iter().zip(&counts.lines) {
                assert_eq!(line.line, got.line, "{run_name}");
                let resolve = |amount: &crate::workload::trace::Amount, order: u32| {
                    Some(amount.resolve(counts.managed_pages, order))
                };
                match &line.op {
                    Op::Mark { .. } => {
                        let mark = marks.next().expect("a directory per mark");
                        assert_eq!(got.group, mark, "{run_name}");
                        assert_eq!(got.done, Some(1), "{run_name}: {mark} not drained");
                        for file in ["buddyinfo", "pagetypeinfo", "zoneinfo", "vmstat"] {
                            assert!(
                                dir.join(&mark).join(file).is_file(),
                                "{run_name}/{mark}/{file}"
                            );
                        }
                    }
                    Op::Alloc { order, count, .. } | Op::Try { order, count, .. } => {
                        assert_eq!(
                            got.requested,
                            resolve(count, *order),
                            "{run_name}:{}",
                            line.line
                        );
                    }
                    Op::Anon { pages, .. } | Op::File { pages, .. } => {
                        assert_eq!(got.requested, resolve(pages, 0), "{run_name}:{}", line.line);
                        assert_eq!(got.done, got.requested, "{run_name}:{}", line.line);
                    }
                    Op::Free { selection, .. } => {
                        let before = got.requested.expect("free records the entries held");
                        let picked = selection
                            .picks()
                            .take(usize::try_from(before).expect("fits"))
                            .filter(|&p| p)
                            .count() as u64;
                        assert_eq!(got.done, Some(picked), "{run_name}:{}", line.line);
                        if matches!(selection, FreeSelection::All) {
                            assert_eq!(got.held, Some(0), "{run_name}:{}", line.line);
                        }
                    }
                    _ => {}
                }
                checked += 1;
            }
        }
        println!("checked {checked} recorded trace lines");
    }
}
