//! The simulator held to a real kernel (issue 7): every recorded harness run under
//! tests/kernel/results/ is replayed from its boot snapshot (`buddysim compare` does the same)
//! and compared within tolerances. Where the model is honestly out of tolerance the deviation
//! is listed below with its measured value and reason, and the test checks it is still exactly
//! that: a change that fixes it fails here and asks for the entry to be removed.
//!
//! What is compared, and why:
//! * **Blocks done per `alloc` / `try` line** — the harness's headline numbers: within 10 % of
//!   the real count or 5 blocks, whichever is larger (two boots of the same trace differ by up
//!   to ~20 % where kswapd timing matters, tests/kernel/README.md; 5 blocks absorbs small counts).
//! * **Free pages in blocks of order ≥ k**, k ∈ {0, 3, 6, 9}, per run, mark and zone — the
//!   quantity an order-k request depends on (`__zone_watermark_ok()` looks for any block of
//!   order ≥ k): within 10 % of the real value or one pageblock (512 pages), whichever is larger.
//!   Single orders below k are not compared one by one: which small buddies stay split depends
//!   on the exact placement of used pages inside pageblocks, which a boot snapshot does not
//!   record (the reconstruction chooses it), so they legitimately differ while the sums match.
//! * Pageblocks per migrate type at every mark, within 10 % or 5 pageblocks (the fallback
//!   stealing rules decide these).

use buddysim::report::validate::{compare, load_run, simulate, RunComparison, RunFile};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Why the `frag-*` traces deviate (book/src/validation.md, "Known deviations"): with the
/// ext2 buffer heads and `compaction_capture()` modelled, the marks before the order-9 burst
/// agree (but for the small DMA zone of `frag-minfree-16384-512M`); after it the free pages left by the burst's reclaim and compaction differ (more
/// order ≥ 3 free in some runs, less in others, by up to ~50 %): not explained yet.
const FRAG: &str = "free pages left after the order-9 burst";
/// `frag-minfree-65536` order 6 after the order-9 burst: fewer successes in the model. It was
/// put down to the missing `compaction_capture()`, but modelling capture did not move it (114
/// and 34 before and after), nor did the ext2 buffer heads (115 and 36); not explained yet.
const MINFREE_65536: &str = "order 6 under min_free_kbytes 65536: not capture, not explained";
/// Why reclaim-only high-order requests (extfrag_threshold 1000: compaction never runs)
/// succeed far more in the model: its LRU is one FIFO per type in insertion order, so reclaim
/// frees file pages in the order they were written and they merge into order-6 blocks; the
/// real kernel's active/inactive lists and the per-cpu lists scatter them (6.1 gets exactly
/// 100 in both sizes, the model 181 / 382).
const FIFO_LRU: &str = "reclaim order: the model's LRU is one FIFO per type";
/// Order-6 requests right after an order-9 burst depend on where the boot's few scattered
/// order-6..8 blocks sit; the reconstruction places them (the snapshot does not record where).
const PLACEMENT: &str = "placement of the boot's small free blocks is chosen by the reconstruction";
/// `slab-pagecache`: page cache written over all of memory passes through kswapd and
/// kcompactd in 6.1 (`compact_daemon_wake` 7-11); the model's kswapd runs right after each
/// allocation, so the cache, the 8 % slab survivors and the free blocks after `drop_caches`
/// sit differently, and order ≥ 6 free pages after the order-9 burst are far fewer (the ext2
/// buffer heads, now modelled, did not change that).
const SLAB_PAGECACHE: &str = "kswapd/kcompactd timing during a memory-sized write";

/// Known deviations of `alloc`/`try` lines: (run, trace line, simulated blocks, why).
const COUNT_DEVIATIONS: &[(&str, usize, u64, &str)] = &[
    ("every-other-anon-512M", 12, 29, PLACEMENT),
    ("every-other-unmovable-512M", 11, 28, PLACEMENT),
    ("every-other-unmovable-512M", 18, 28, PLACEMENT),
    ("every-other-movable-1024M", 12, 44, PLACEMENT),
    ("every-other-movable-1024M", 19, 44, PLACEMENT),
    ("every-other-anon-1024M", 12, 46, PLACEMENT),
    ("frag-extfrag-1000-1024M", 18, 167, FIFO_LRU),
    ("frag-extfrag-1000-1024M", 20, 382, FIFO_LRU),
    ("frag-extfrag-1000-512M", 18, 73, FIFO_LRU),
    ("frag-extfrag-1000-512M", 20, 182, FIFO_LRU),
    ("frag-minfree-65536-1024M", 19, 115, MINFREE_65536),
    ("frag-minfree-65536-512M", 19, 36, MINFREE_65536),
];

/// Runs whose free-page sums and pageblock counts are known to be out of tolerance at some
/// marks: (run, free-page sums out, pageblock counts out, why). The test checks the numbers
/// out are exactly these.
const RUN_DEVIATIONS: &[(&str, usize, usize, &str)] = &[
    ("every-other-anon-512M", 1, 0, PLACEMENT),
    ("fresh-order10-512M", 2, 0, PLACEMENT),
    ("frag-extfrag-0-1024M", 1, 0, FRAG),
    ("frag-extfrag-0-512M", 2, 0, FRAG),
    ("frag-extfrag-1000-1024M", 4, 4, FIFO_LRU),
    ("frag-extfrag-1000-512M", 3, 2, FIFO_LRU),
    ("frag-extfrag-500-1024M", 1, 1, FRAG),
    ("frag-extfrag-500-512M", 2, 0, FRAG),
    ("frag-minfree-1024-1024M", 3, 0, FRAG),
    ("frag-minfree-1024-512M", 3, 1, FRAG),
    ("frag-minfree-16384-1024M", 2, 0, FRAG),
    ("frag-minfree-16384-512M", 6, 0, FRAG),
    ("frag-minfree-65536-1024M", 3, 0, FRAG),
    ("frag-minfree-65536-512M", 4, 0, FRAG),
    ("slab-pagecache-1024M", 16, 2, SLAB_PAGECACHE),
    ("slab-pagecache-512M", 15, 0, SLAB_PAGECACHE),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel")
}

fn within(real: u64, sim: u64, slack: u64) -> bool {
    real.abs_diff(sim) as f64 <= (real as f64 * 0.10).max(slack as f64)
}

/// Free pages in blocks of order ≥ k.
fn pages_from(blocks: &[u64], k: u32) -> u64 {
    blocks
        .iter()
        .enumerate()
        .skip(k as usize)
        .map(|(o, n)| n << o)
        .sum()
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

#[test]
fn replays_match_the_real_kernel() {
    let Some(runs) = compare_all() else { return };
    let mut failures = Vec::new();
    let mut tighten = Vec::new();
    let mut checked = (0, 0, 0);
    for r in &runs {
        for c in &r.counts {
            checked.0 += 1;
            let known = COUNT_DEVIATIONS
                .iter()
                .find(|d| d.0 == r.run && d.1 == c.line);
            let ok = within(c.real, c.simulated, 5);
            match known {
                Some(d) if d.2 == c.simulated && !ok => {}
                Some(d) => tighten.push(format!(
                    "{} line {}: simulated {} (recorded deviation {}, real {}): update or remove the entry",
                    r.run, c.line, c.simulated, d.2, c.real
                )),
                None if !ok => failures.push(format!(
                    "{} line {} {} {} order {}: real {} simulated {}",
                    r.run, c.line, c.op, c.group, c.order, c.real, c.simulated
                )),
                None => {}
            }
        }
        let mut out = (Vec::new(), Vec::new());
        for f in &r.free {
            for k in [0u32, 3, 6, 9] {
                checked.1 += 1;
                let (real, sim) = (pages_from(&f.real, k), pages_from(&f.simulated, k));
                if !within(real, sim, 512) {
                    out.0.push(format!(
                        "{} {} {} order ≥ {k}: real {real} simulated {sim} pages",
                        r.run,
                        f.mark,
                        f.zone.name()
                    ));
                }
            }
        }
        for p in &r.pageblocks {
            checked.2 += 1;
            if !within(p.real, p.simulated, 5) {
                out.1.push(format!(
                    "{} {} {} {} pageblocks: real {} simulated {}",
                    r.run,
                    p.mark,
                    p.zone.name(),
                    p.migratetype.name(),
                    p.real,
                    p.simulated
                ));
            }
        }
        match RUN_DEVIATIONS.iter().find(|d| d.0 == r.run) {
            Some(d) if (d.1, d.2) == (out.0.len(), out.1.len()) => {}
            Some(d) => tighten.push(format!(
                "{}: {} free-page sums and {} pageblock counts out of tolerance (recorded {} and {}): update or remove the entry\n{}",
                r.run,
                out.0.len(),
                out.1.len(),
                d.1,
                d.2,
                [out.0, out.1].concat().join("\n")
            )),
            None => failures.extend(out.0.into_iter().chain(out.1)),
        }
    }
    println!(
        "compared {} runs: {} alloc/try lines, {} free-page sums, {} pageblock counts",
        runs.len(),
        checked.0,
        checked.1,
        checked.2
    );
    assert!(
        failures.is_empty() && tighten.is_empty(),
        "out of tolerance (not a known deviation):\n{}\nknown deviations that changed:\n{}",
        failures.join("\n"),
        tighten.join("\n")
    );
}
