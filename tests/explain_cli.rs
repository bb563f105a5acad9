//! `buddysim explain` on the seed incident's dmesg report (3.10.0-514, order 6): the numbered
//! steps with the kernel's own numbers.

mod common;

use std::path::Path;
use std::process::Command;

fn explain(args: &[&str]) -> Option<String> {
    let seed =
        common::captures_dir()?.join("B/k8s_centos7_3.10.0-514_order6_nfconntrack_lijiaocn.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .arg("explain")
        .arg(&seed)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn explain_narrates_the_seed_order_6_failure_with_the_kernels_numbers() {
    let Some(out) = explain(&[]) else { return };
    for line in [
        "1. Request: order 6 (64 pages, 256 kB), GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG (mode 0x10c0d0) on kernel 3.10-rhel7.3; costly",
        "2. Zonelist (preferred first): Node 0 Normal → Node 0 DMA32 → Node 0 DMA",
        // RHEL 7's fast path walks fairly first.
        "   (fair zone allocation policy: a first walk passes over zones whose allocation batch",
        // Normal at low: 77796 − 63 = 77733 > 17355; minus the order-0 and order-1 pages:
        // 3319 ≤ 17355 >> 2 = 4338.
        "     low: free 77796 − (2^6 − 1) = 77733 vs low 17355 + lowmem_reserve 0 = 17355: above",
        "       order 1: minus 20118×2 pages → 3319 vs low>>2 = 4338: not above → fails",
        "       order 1: minus 20118×2 pages → 3319 vs min>>2 = 3471: not above → fails",
        // DMA is kept out by lowmem_reserve.
        "     min: free 3977 − (2^6 − 1) = 3914 vs min 16 + lowmem_reserve 15868 = 15884: not above → fails",
        "4. Slow path: wake_all_kswapd()",
        // One scale for the index and the threshold.
        "   Node 0 Normal: fragmentation index 0.978 vs vm.extfrag_threshold 500 (0.500): compaction runs: fragmentation index 0.978 is above vm.extfrag_threshold",
        // DMA's own compaction check passes, unlike the request's above: say why.
        "   Node 0 DMA: fragmentation index -1.000 vs vm.extfrag_threshold 500 (0.500): not needed: compaction_suitable()'s own check of the order's watermark 148 passes (it may count pages a lowmem_reserve keeps from the request)",
        "should_alloc_retry(): no for a costly order without __GFP_REPEAT → sync-light compaction → nopage",
        "8. Outcome: fails: order-6 GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG fails:",
        "       → fails (below watermark: free 3914 <= watermark 20 + lowmem_reserve 15868)",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn explain_with_extfrag_threshold_1000_says_compaction_is_skipped() {
    let Some(out) = explain(&["--extfrag-threshold", "1000"]) else {
        return;
    };
    let normal = out
        .lines()
        .find(|l| l.starts_with("   Node 0 Normal: fragmentation index"))
        .expect("a compaction line for Normal");
    assert!(
        normal.contains(
            "vs vm.extfrag_threshold 1000 (1.000): skipped: fragmentation index 0.978 <= 1.000"
        ),
        "{normal}"
    );
    assert!(!normal.contains("compaction runs"), "{normal}");
}

/// A slabinfo alone (memcgs' memory.kmem.slabinfo, a fixture): the request its memcg copies
/// imply, an empty zonelist said as such, and no outcome.
#[test]
fn explain_without_zones_says_so() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/memcg_kmem_slabinfo_3.10.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .arg("explain")
        .arg(&fixture)
        .output()
        .expect("the binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("1. Request: order 6 (64 pages, 256 kB), GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG (mode 0x10c0d0) on kernel 3.10"), "{out}");
    assert!(
        out.contains("2. Zonelist (preferred first): none (the input has no zone)"),
        "{out}"
    );
    assert!(
        out.contains("Outcome: cannot tell: the input has no zone"),
        "{out}"
    );
    assert!(
        !out.contains("cannot tell: cannot tell"),
        "said twice: {out}"
    );
}
