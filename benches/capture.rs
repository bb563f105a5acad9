//! Parsing speed: a generated 256-node /proc/buddyinfo (768 zones) and the same data as
//! node_exporter metrics.

use buddysim::capture::{self, buddyinfo, ZoneCapture};
use buddysim::mm::mmzone::ZoneType;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use std::hint::black_box;

fn zones() -> Vec<ZoneCapture> {
    let mut out = Vec::new();
    for node in 0..256u32 {
        for (k, zone) in [ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal]
            .into_iter()
            .enumerate()
        {
            let mut z = ZoneCapture::new(node, zone);
            z.free_blocks = Some(
                (0..11u64)
                    .map(|o| ((u64::from(node) * 7919 + k as u64 * 104_729) % 50_000) >> o)
                    .collect(),
            );
            out.push(z);
        }
    }
    out
}

fn node_exporter(zones: &[ZoneCapture]) -> String {
    let mut s = String::from(
        "# HELP node_buddyinfo_blocks Count of free blocks according to size.\n# TYPE node_buddyinfo_blocks gauge\n",
    );
    for z in zones {
        for (o, n) in z.free_blocks.iter().flatten().enumerate() {
            let _ = writeln!(
                s,
                "node_buddyinfo_blocks{{node=\"{}\",size=\"{o}\",zone=\"{}\"}} {n}",
                z.node,
                z.zone.name()
            );
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let zones = zones();
    let buddy = buddyinfo::write(&zones);
    let metrics = node_exporter(&zones);
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Elements(1));
    g.bench_function("buddyinfo_256_nodes", |b| {
        b.iter(|| capture::parse("buddyinfo", black_box(&buddy)).map(|c| c.zones.len()))
    });
    g.bench_function("node_exporter_256_nodes", |b| {
        b.iter(|| capture::parse("metrics", black_box(&metrics)).map(|c| c.zones.len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
