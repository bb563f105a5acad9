//! Kernel logs as they reach users (issue 26 item 11): with Android prefixes, from kernels
//! without CONFIG_NUMA, and cut off part-way. The real report B, rewritten line by line into each
//! form, must parse to the same capture; cut at every line it must give an error naming its line
//! or an honest verdict.

mod common;

use buddysim::analyze::{analyze, Options};
use buddysim::capture::{self, Capture};

const REPORT_B: &str = "B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt";
/// Report B's syslog prefix (its lines carry no host name).
const SYSLOG: &str = "Nov 12 15:15:41 kernel: ";

fn report_b() -> Option<String> {
    let p = common::captures_dir()?.join(REPORT_B);
    Some(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

fn parse(text: &str) -> Capture {
    capture::parse("b", text).unwrap_or_else(|e| panic!("{e}"))
}

/// Report B with each syslog prefix replaced by `f(message)`; the author's wrapped lines
/// (indented, without a prefix) stay as they are.
fn rewrite(text: &str, f: impl Fn(&str) -> String) -> String {
    text.lines()
        .map(|l| match l.strip_prefix(SYSLOG) {
            Some(message) => f(message) + "\n",
            None => format!("{l}\n"),
        })
        .collect()
}

/// What `logcat -v threadtime -b kernel` prints for a kernel message, after logd's
/// `LogKlog::log()` (system/core/logd/LogKlog.cpp): the timestamp gone, one or two words before
/// the first `:` (outside brackets) taken as the tag unless they are `CPU`, `WARNING`, `ERROR`
/// or `INFO`, the spaces after that `:` dropped, and the tag printed as `%-8s: `.
fn logcat(message: &str) -> String {
    let mut depth = 0;
    let colon = message.char_indices().find_map(|(i, c)| {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => return Some(i),
            _ => {}
        }
        None
    });
    let (tag, rest) = match colon {
        Some(i) => {
            let tag = &message[..i];
            let words = tag.split_whitespace().count();
            let listed = ["CPU", "WARNING", "ERROR", "INFO"].contains(&tag);
            if (1..=2).contains(&words) && !tag.starts_with(' ') && tag.len() > 1 && !listed {
                let rest = message[i + 1..].trim_start();
                (tag, if rest.is_empty() { " " } else { rest })
            } else {
                ("", message)
            }
        }
        None => ("", message),
    };
    format!("11-12 15:15:41.523     0     0 W {tag:<8}: {rest}")
}

#[test]
fn android_prefixed_report_b_parses_to_the_same_capture() {
    let Some(text) = report_b() else { return };
    let plain = parse(&text);
    assert!(plain.failure.is_some() && plain.zones.len() == 3);
    let prefixes = [
        // HiSilicon kernels on Huawei phones, as their log collector saves them: the linux-mm
        // report "[Question]page allocation failure: order:2, mode:0x2000d1", 2016-07-19,
        // Message-ID <b3127e70-4fca-9e11-62e5-7a8f3da9d044@huawei.com>.
        "07-13 08:41:51.341 <4>[309805.658142s][pid:18377,cpu1,exe]",
        "<4>[ 1234.567890] [pid:18377,cpu1,exe]",
        "<4>[ 1234.567890][pid:1,cpu0,runc:[1:CHILD]]",
        // logcat -v threadtime when logd keeps the timestamp and finds no tag.
        "12-07 10:15:02.123     0     0 W         : [ 1234.567890] ",
    ];
    for prefix in prefixes {
        let c = parse(&rewrite(&text, |m| format!("{prefix}{m}")));
        assert_eq!(c, plain, "{prefix}");
    }
    assert_eq!(parse(&rewrite(&text, logcat)), plain, "logcat -b kernel");
}

/// `show_node()` (mm/page_alloc.c) prints `Node %d ` only with CONFIG_NUMA.
fn without_node(text: &str) -> String {
    text.lines()
        .map(|l| {
            let is_zone = ["DMA ", "DMA: ", "DMA32", "Normal"]
                .iter()
                .any(|z| l.contains(&format!("Node 0 {z}")));
            if is_zone {
                l.replacen("Node 0 ", "", 1) + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn report_b_without_numa_node_prefixes_parses_to_the_same_capture() {
    let Some(text) = report_b() else { return };
    let plain = parse(&text);
    let non_numa = without_node(&text);
    assert!(!non_numa.contains("Node 0 DMA") && !non_numa.contains("Node 0 Normal"));
    assert!(non_numa.contains("\nNov 12 15:15:41 kernel: Normal: 34178*4kB"));
    assert_eq!(parse(&non_numa), plain);
    // logd takes a zone name before its per-order line's `:` as the tag, and `Normal free`
    // before the zone line's.
    let both = rewrite(&non_numa, logcat);
    assert!(both.contains("W Normal  : 34178*4kB"), "{both}");
    assert!(both.contains("W Normal free: 311184kB"), "{both}");
    assert_eq!(parse(&both), plain);
}

/// Report B cut anywhere (after every character), as it is and as an Android log: each cut
/// either fails with an error naming a line it has, or parses to what it has. A cut before the
/// zone lines leaves no zone and `analyze` says where the report ends; a cut before the last
/// per-order line says which zones lack one and gives "cannot tell" (the zones it has cannot
/// decide), as does a cut inside a zone line's `free:` (its digits are not pages); only the whole of the per-order lines gives the full report's verdict.
#[test]
fn report_b_cut_anywhere_is_an_error_or_an_honest_answer() {
    let Some(text) = report_b() else { return };
    let opts = Options::default();
    for text in [text.clone(), rewrite(&text, logcat)] {
        let whole = parse(&text);
        let full = analyze(&whole, &opts).unwrap();
        assert_eq!(full.verdict.word(), "fails");
        let lines: Vec<&str> = text.lines().collect();
        for end in (1..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let n = text[..end].lines().count();
            let c = match capture::parse("b", &text[..end]) {
                Ok(c) => c,
                Err(e) => {
                    assert!(e.file == "b" && (1..=n).contains(&e.line), "{end}: {e}");
                    continue;
                }
            };
            // A warning names the last logical line: a wrapped line's first physical line, the
            // lines after it up to the cut being its continuations (a partial last line may
            // have lost its prefix).
            let whole_lines = if text[..end].ends_with('\n') {
                n
            } else {
                n - 1
            };
            let cut: Vec<String> = c
                .warnings
                .iter()
                .filter(|w| w.message.starts_with("the report ends here"))
                .inspect(|w| {
                    let after = &lines[w.line.min(whole_lines)..whole_lines];
                    assert!(
                        w.line <= n && after.iter().all(|l| l.starts_with(' ')),
                        "{end}: {w:?}"
                    )
                })
                .map(|w| format!("b:{}: {}", w.line, w.message))
                .collect();
            if c.failure.is_none() {
                // Cut inside the header line: not yet a report, and no zone.
                assert!(c.zones.is_empty() && analyze(&c, &opts).is_err(), "{end}");
                continue;
            }
            match analyze(&c, &opts) {
                Err(e) => {
                    let e = e.to_string();
                    assert_eq!(cut.len(), 1, "{end}: {e}");
                    assert!(e.contains(&cut[0]), "{e}");
                    assert!(e.contains("it gives no zone's free counts"), "{e}");
                }
                Ok(a) if a.verdict.succeeds.is_none() => {
                    assert!(
                        a.verdict.reason.starts_with("cannot tell: ")
                            && (a.verdict.reason.contains("no per-order free lines")
                                || a.verdict.reason.contains("no free counts")),
                        "{end}: {}",
                        a.verdict.reason
                    );
                    assert_eq!(cut.len(), 1, "{end}: {:?}", c.warnings);
                    assert!(cut[0].contains("without the per-order line of"));
                    assert!(a.notes.contains(&cut[0]), "{end}: {:?}", a.notes);
                }
                Ok(a) => {
                    assert_eq!(c.zones, whole.zones, "{end}");
                    assert!(cut.is_empty(), "{end}: {cut:?}");
                    assert_eq!(
                        (a.verdict.word(), &a.verdict.reason),
                        (full.verdict.word(), &full.verdict.reason),
                        "{end}"
                    );
                }
            }
        }
    }
}

/// A HiSilicon (Huawei) Android report from a kernel without CONFIG_NUMA, in the fixture's own
/// numbers (tests/fixtures/README.md gives the real report whose format it follows).
#[test]
fn hisilicon_non_numa_fixture_reads_and_fails_in_dma() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dmesg_hisilicon_4.1_non_numa.txt"
    );
    let c = parse(&std::fs::read_to_string(path).unwrap());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let f = c.failure.as_ref().unwrap();
    assert_eq!(
        (f.comm.as_str(), f.order, f.mode),
        ("sensorservice", 2, 0xd1)
    );
    assert_eq!(c.kernel_release.as_deref(), Some("4.1.18-g1a2b3c4"));
    assert_eq!(c.node_stats["active_file"], 20000);
    assert_eq!(c.node_stats["free"], 101490);
    let zones: Vec<_> = c.zones.iter().map(|z| (z.node, z.zone.name())).collect();
    assert_eq!(zones, [(0, "DMA"), (0, "Normal")]);
    let (dma, normal) = (&c.zones[0], &c.zones[1]);
    assert_eq!(dma.free_pages, Some(402432 / 4));
    assert_eq!(dma.watermarks.unwrap().min, 6800 / 4);
    assert_eq!(dma.protection, Some(vec![0, 415, 415]));
    assert_eq!(
        dma.free_blocks,
        Some(vec![60000, 20300, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(normal.managed, Some(425480 / 4));
    assert_eq!(
        normal.free_blocks.as_ref().unwrap()[..5],
        [300, 150, 30, 10, 5]
    );
    // __GFP_DMA: only DMA serves it, and above order 1 DMA has 5 free pages.
    let a = analyze(&c, &Options::default()).unwrap();
    assert_eq!(a.verdict.word(), "fails");
    assert!(
        a.verdict.reason.contains("DMA is below its min watermark"),
        "{}",
        a.verdict.reason
    );
}
