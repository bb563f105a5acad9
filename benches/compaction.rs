//! Compaction and reclaim cost. A full compaction pass (`compact_memory`, 4.19 rules) over a
//! 16 GiB zone whose every 64th page holds a movable page-cache page, against the cost of
//! reading every page's state once; and kswapd reclaim per page scanned on a 4 GiB zone full of
//! page cache. Prints both compaction figures and their ratio. Run briefly:
//! `cargo bench --bench compaction -- --warm-up-time 1 --measurement-time 3`.

use buddysim::kernel::profile::profile;
use buddysim::mm::compaction::{compact_zone, CompactControl, CompactState, ExtfragThreshold};
use buddysim::mm::mmzone::ZoneType;
use buddysim::mm::mmzone::{FreeArea, MigrateType, Node, OwnerKind, PageState, Zone, ZoneSpec};
use buddysim::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
use buddysim::mm::page_alloc::pcp::PcpConfig;
use buddysim::mm::page_alloc::watermark::setup_per_zone_wmarks;
use buddysim::mm::vmscan::{kswapd_run, wakeup_kswapd, Lru, NodeMm};
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Instant;

const GIB: u64 = 1 << 18;

fn zone(pages: u64) -> Zone {
    let p = profile("4.19").expect("profile");
    let spec = ZoneSpec::from_sizes(ZoneType::Normal, 1 << 20, pages, pages, pages).expect("spec");
    Zone::new(
        0,
        &spec,
        BuddyConfig::from_profile(p, pages),
        PcpConfig::Off,
    )
    .expect("zone")
}

/// A 16 GiB zone with a page-cache page at every 64th PFN, on the LRU.
fn scattered() -> (Zone, Lru) {
    let mut z = zone(16 * GIB);
    let mut lru = Lru::new();
    let mut all = Vec::with_capacity((16 * GIB) as usize);
    while let Ok(p) = z.alloc(
        0,
        MigrateType::Movable,
        AllocOpts::default(),
        OwnerKind::File,
    ) {
        all.push(p);
    }
    for p in all {
        if p % 64 == 0 {
            lru.add(&mut z, p).expect("lru");
        } else {
            z.free(p, 0).expect("free");
        }
    }
    (z, lru)
}

fn read_state(z: &Zone) -> u64 {
    (z.start_pfn..z.end_pfn())
        .filter(|&p| matches!(z.page_state(p), PageState::Allocated { .. }))
        .count() as u64
}

fn compact(z: &mut Zone, lru: &mut Lru) -> u64 {
    let p = profile("4.19").expect("profile");
    let mut st = CompactState::new(z);
    let t = ExtfragThreshold::new(p.extfrag_threshold);
    let cc = CompactControl::compact_memory(p.compaction, &t);
    compact_zone(p, z, lru, &mut st, cc).1.migrated
}

fn bench_compaction(c: &mut Criterion) {
    let (z, lru) = scattered();
    // One timed pass of each, outside criterion, for the ratio.
    let t = Instant::now();
    black_box(read_state(&z));
    let read = t.elapsed();
    let (mut z2, mut lru2) = (z.clone(), lru.clone());
    let t = Instant::now();
    let moved = compact(&mut z2, &mut lru2);
    let pass = t.elapsed();
    println!(
        "16 GiB zone: read per-page state once {:.1} ms; full compaction pass {:.1} ms \
         ({moved} pages migrated, order-10 blocks after: {}); ratio {:.1}",
        read.as_secs_f64() * 1e3,
        pass.as_secs_f64() * 1e3,
        z2.nr_free(10),
        pass.as_secs_f64() / read.as_secs_f64()
    );
    println!(
        "state per page: zone {:.2} bytes + LRU bitmap {:.3} bytes",
        z.state_bytes() as f64 / z.spanned as f64,
        lru.bytes_per_page(&z)
    );
    let mut g = c.benchmark_group("compaction 16GiB");
    g.sample_size(10);
    g.bench_function("read per-page state once", |b| {
        b.iter(|| black_box(read_state(&z)))
    });
    g.bench_function("compact_memory full pass", |b| {
        // By reference: criterion drops the cloned zone after the timing, not inside it.
        b.iter_batched_ref(
            || (z.clone(), lru.clone()),
            |(z, lru)| black_box(compact(z, lru)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A 4 GiB node full of page cache, down to its min watermark.
fn full_of_page_cache() -> (Node, NodeMm) {
    let p = profile("4.19").expect("profile");
    let mut z = zone(4 * GIB);
    z.watermarks = setup_per_zone_wmarks(p, 65536, 10, &[(z.zone_type, z.managed)])[0];
    let mut node = Node {
        id: 0,
        zones: vec![z],
        reclaimed_slab: 0,
    };
    let mut mm = NodeMm::new(p, &node, 0);
    let z = &mut node.zones[0];
    let min = z.watermarks.min;
    while z.free_pages() > min {
        let p = z
            .alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::File,
            )
            .expect("alloc");
        mm.lru[0].add(z, p).expect("lru");
    }
    (node, mm)
}

fn kswapd(node: &mut Node, mm: &mut NodeMm) -> u64 {
    let p = profile("4.19").expect("profile");
    wakeup_kswapd(p, node, mm, 0, 0, true);
    kswapd_run(p, node, mm, &mut [], &mut |k| k / 2)
        .stats
        .scanned
}

fn bench_kswapd(c: &mut Criterion) {
    let (node, mm) = full_of_page_cache();
    let scanned = kswapd(&mut node.clone(), &mut mm.clone());
    println!("kswapd on a 4 GiB zone: {scanned} pages scanned per run");
    let mut g = c.benchmark_group("kswapd 4GiB");
    g.sample_size(10);
    g.throughput(Throughput::Elements(scanned));
    g.bench_function("balance to high, per page scanned", |b| {
        b.iter_batched_ref(
            || (node.clone(), mm.clone()),
            |(n, mm)| black_box(kswapd(n, mm)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_compaction, bench_kswapd
}

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
