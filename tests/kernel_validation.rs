//! The simulator held to a real kernel (issue 7): every recorded harness run under
//! tests/kernel/results/ is replayed from its boot snapshot (`buddysim compare` does the same)
//! and every comparison of `validate::checks` is held to its tolerance: blocks done per
//! `alloc` / `try` line, free pages in blocks of order ≥ k per mark and zone, pageblocks per
//! migrate type per mark and zone, and the reclaim and compaction counters over the run
//! (tolerances and why: book/src/validation.md, "Tolerances and why").
//!
//! Where the model is honestly out of tolerance the comparison is listed by name in
//! tests/kernel/deviations.tsv with the kernel's value, the model's value as measured and a
//! cause (explained in [`CAUSES`]). The model's value may move from the recorded one by at
//! most the comparison's own tolerance, so a deviation cannot grow silently; a listed deviation
//! now within tolerance fails until it is removed from the list.

use buddysim::report::validate::{checks, compare, load_run, simulate, totals, Check};
use buddysim::report::validate::{RunComparison, RunFile};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why deviations are there, by the key of the `cause` column.
const CAUSES: &[(&str, &str)] = &[
    (
        "placement",
        "Order-6 requests right after an order-9 burst depend on where the boot's few scattered \
         order-6..8 blocks sit; the reconstruction places them (the snapshot does not record where).",
    ),
    (
        "fifo-lru",
        "Reclaim-only high-order requests (extfrag_threshold 1000: compaction never runs) \
         succeed far more in the model: its LRU is one FIFO per type in insertion order, so \
         reclaim frees file pages in the order they were written and they merge into order-6 \
         blocks; 6.1's lists and per-cpu lists scatter them.",
    ),
    (
        "minfree-65536",
        "frag-minfree-65536 order 6 after the order-9 burst: fewer successes in the model; \
         neither compaction_capture() nor the ext2 buffer heads moved it. Not explained.",
    ),
    (
        "frag-burst",
        "Free pages left after the order-9 burst of the frag-* traces (more order >= 3 free in \
         some runs, less in others): 6.1's kswapd runs on its own and frees the buffer-head \
         slab as page cache goes; the model's kswapd runs right after each allocation.",
    ),
    (
        "compaction-scan",
        "The model's compaction scans and migrates more pages than 6.1's (compact_migrate_scanned, \
         compact_free_scanned, pgmigrate_success up to ~50x) while stalls and successes agree: \
         not explained yet. In mixed-steal-512M 6.1's kcompactd ran once and the model's not.",
    ),
    (
        "slab-pagecache",
        "slab-pagecache: page cache written over all of memory passes through kswapd and \
         kcompactd in 6.1; the model's kswapd runs right after each allocation, so cache, slab \
         survivors and free blocks after drop_caches sit differently.",
    ),
];

/// One line of tests/kernel/deviations.tsv.
#[derive(Clone, Debug)]
struct Deviation {
    run: String,
    at: String,
    what: String,
    kernel: u64,
    model: u64,
    cause: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel")
}

/// Reads tests/kernel/deviations.tsv: `run at comparison kernel model cause`, tab-separated,
/// `#` lines are comments.
fn deviations() -> Vec<Deviation> {
    let path = root().join("deviations.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |s: &str| {
                s.parse()
                    .unwrap_or_else(|e| panic!("deviations.tsv:{}: {s:?}: {e}", i + 1))
            };
            assert_eq!(
                f.len(),
                6,
                "deviations.tsv:{}: 6 tab-separated fields",
                i + 1
            );
            Deviation {
                run: f[0].into(),
                at: f[1].into(),
                what: f[2].into(),
                kernel: num(f[3]),
                model: num(f[4]),
                cause: f[5].into(),
            }
        })
        .collect()
}

fn compare_all() -> Option<Vec<RunComparison>> {
    let results = root().join("results");
    let Ok(entries) = std::fs::read_dir(&results) else {
        println!("note: {} is missing; test skipped", results.display());
        return None;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("meta").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no recorded runs in {}",
        results.display()
    );
    let traces = root().join("traces");
    Some(
        dirs.par_iter()
            .map(|dir| {
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                let mut read = |f: &RunFile| {
                    let p = match f {
                        RunFile::Trace { .. } => traces.join(f.path()),
                        _ => dir.join(f.path()),
                    };
                    std::fs::read_to_string(&p)
                        .map(|t| (p.display().to_string(), t))
                        .map_err(|e| e.to_string())
                };
                let run = load_run(&name, &mut read).unwrap_or_else(|e| panic!("{e}"));
                let sim = simulate(&run).unwrap_or_else(|e| panic!("{e}"));
                compare(&run, &sim)
            })
            .collect(),
    )
}

fn tsv(c: &Check) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        c.run, c.at, c.what, c.real, c.simulated
    )
}

/// What is wrong with `checks` against the known `deviations`, one message each.
fn problems(checks: &[Check], deviations: &[Deviation]) -> Vec<String> {
    let mut out = Vec::new();
    for d in deviations {
        let name = format!("{} {} {}", d.run, d.at, d.what);
        if !CAUSES.iter().any(|c| c.0 == d.cause) {
            out.push(format!("{name}: unknown cause {:?}", d.cause));
        }
        let Some(c) = checks
            .iter()
            .find(|c| (&c.run, &c.at, &c.what) == (&d.run, &d.at, &d.what))
        else {
            out.push(format!(
                "{name}: no such comparison: remove it from the list"
            ));
            continue;
        };
        if c.within() {
            out.push(format!(
                "{name}: kernel {} model {}: fixed: remove it from the list",
                c.real, c.simulated
            ));
        } else if c.real != d.kernel {
            out.push(format!(
                "{name}: kernel {}, recorded {}: the results changed, measure the entry again",
                c.real, d.kernel
            ));
        } else if !c.near(d.model, c.simulated) {
            out.push(format!(
                "{name}: model {}, recorded {}: moved beyond its bound",
                c.simulated, d.model
            ));
        }
    }
    for c in checks.iter().filter(|c| !c.within()) {
        let listed = deviations
            .iter()
            .any(|d| (&c.run, &c.at, &c.what) == (&d.run, &d.at, &d.what));
        if !listed {
            out.push(format!(
                "out of tolerance, not a known deviation: {}",
                tsv(c)
            ));
        }
    }
    out
}

#[test]
fn replays_match_the_real_kernel() {
    let Some(runs) = compare_all() else { return };
    let all: Vec<Check> = runs.iter().flat_map(checks).collect();
    let problems = problems(&all, &deviations());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The totals the book and README give.
    let out = all.iter().filter(|c| !c.within()).count();
    let read = |rel: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel));
    let book = read("book/src/validation.md")
        .expect("the book")
        .replace('\n', " ");
    let said = format!(
        "{} comparisons in {} runs, {out} of them out of tolerance",
        all.len(),
        runs.len()
    );
    assert!(totals(&runs).starts_with(&said), "{}", totals(&runs));
    assert!(
        book.contains(&said),
        "book/src/validation.md should say {said:?}"
    );
    let readme = read("README.md").expect("README").replace('\n', " ");
    let said = format!("({out} of {} today)", all.len());
    assert!(readme.contains(&said), "README.md should say {said:?}");
}

#[test]
fn the_deviation_list_fails_when_it_is_wrong() {
    let Some(runs) = compare_all() else { return };
    let all: Vec<Check> = runs.iter().flat_map(checks).collect();
    let list = deviations();
    let d = list.first().expect("a known deviation").clone();
    let without: Vec<Deviation> = list[1..].to_vec();
    assert!(problems(&all, &without)
        .iter()
        .any(|p| p.contains("not a known deviation") && p.contains(&d.run)));
    let mut grown = list.clone();
    grown[0].model = d.model * 4 + 10_000;
    assert!(problems(&all, &grown)
        .iter()
        .any(|p| p.contains("moved beyond its bound")));
    let mut remeasured = list.clone();
    remeasured[0].kernel += 1;
    assert!(problems(&all, &remeasured)
        .iter()
        .any(|p| p.contains("the results changed")));
    let fine = all
        .iter()
        .find(|c| c.within())
        .expect("a comparison within tolerance");
    let mut fixed = list.clone();
    fixed.push(Deviation {
        run: fine.run.clone(),
        at: fine.at.clone(),
        what: fine.what.clone(),
        kernel: fine.real,
        model: fine.simulated,
        cause: "placement".into(),
    });
    assert!(problems(&all, &fixed)
        .iter()
        .any(|p| p.ends_with("fixed: remove it from the list")));
    let causes: Vec<&str> = list.iter().map(|d| d.cause.as_str()).collect();
    for (key, _) in CAUSES {
        assert!(
            causes.contains(key),
            "cause {key} explains no deviation: remove it"
        );
    }
}

/// The book's "Known deviations" table gives every cause of deviations.tsv with its number of
/// entries, and no other.
#[test]
fn the_book_lists_the_deviations_by_cause() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/validation.md");
    let book = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = book
        .split("## Known deviations")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Known deviations section");
    let mut in_book = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = line[2..].split(" |").next().unwrap_or_default();
        let (key, n) = cell
            .trim_start_matches('`')
            .split_once("` (")
            .and_then(|(k, n)| Some((k.to_string(), n.strip_suffix(')')?.parse::<usize>().ok()?)))
            .unwrap_or_else(|| panic!("{}: expected `cause` (entries): {cell}", path.display()));
        in_book.insert(key, n);
    }
    let mut in_list = BTreeMap::new();
    for d in deviations() {
        *in_list.entry(d.cause).or_insert(0) += 1;
    }
    assert_eq!(
        in_book,
        in_list,
        "{}: the causes and entries of the Known deviations table differ from tests/kernel/deviations.tsv",
        path.display()
    );
}
