//! Parsing and analysis speed on a large machine: a generated 256-node /proc/buddyinfo (768
//! zones), the same data as node_exporter metrics, and the bar (parse + `analyze` of
//! the buddyinfo, alone and with a matching /proc/zoneinfo so every zone has watermarks and
//! lowmem_reserve). Throughput is in captures per second.

use buddysim::analyze::{analyze, Options};
use buddysim::capture::{self, buddyinfo, zoneinfo, Capture, ZoneCapture, ZoneinfoLayout};
use buddysim::mm::mmzone::{Watermarks, ZoneType};
use criterion::{criterion_group, Criterion, Throughput};
use std::fmt::Write;
use std::hint::black_box;
#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

const ZONES: [ZoneType; 3] = [ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal];

/// Managed pages of DMA, DMA32 and Normal on a 16 GiB node.
const MANAGED: [u64; 3] = [3_977, 745_000, 3_400_000];

fn zones() -> Vec<ZoneCapture> {
    let mut out = Vec::new();
    for node in 0..256u32 {
        for (k, zone) in ZONES.into_iter().enumerate() {
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

/// The zoneinfo side of the same machine: pages free (the sum of the free lists), watermarks
/// and protection of a 16 GiB node per zone, and a few stat items.
fn with_zoneinfo(zones: &[ZoneCapture]) -> Vec<ZoneCapture> {
    zones
        .iter()
        .map(|z| {
            let k = z.zone.index();
            let mut z = z.clone();
            let blocks = z.free_blocks.take().unwrap_or_default();
            z.free_pages = Some(blocks.iter().enumerate().map(|(o, n)| n << o).sum());
            let min = MANAGED[k] / 400;
            z.watermarks = Some(Watermarks {
                min,
                low: min * 5 / 4,
                high: min * 3 / 2,
                promo: 0,
                boost: 0,
            });
            z.spanned = Some(MANAGED[k] + 4096);
            z.present = Some(MANAGED[k] + 1024);
            z.managed = Some(MANAGED[k]);
            z.protection = Some(match k {
                0 => vec![0, 2_900, 16_100, 16_100, 16_100],
                1 => vec![0, 0, 13_200, 13_200, 13_200],
                _ => vec![0; 5],
            });
            z.start_pfn = Some(u64::from(z.node) << 22);
            for (name, v) in [
                ("nr_free_pages", z.free_pages.unwrap_or(0)),
                ("nr_mlock", 0),
            ] {
                z.stats.insert(name.to_string(), v);
            }
            z
        })
        .collect()
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

/// What `buddysim analyze FILE…` does with its inputs: parse each, merge, analyse.
fn parse_and_analyze(files: &[(&str, &str)], opts: &Options) -> usize {
    let mut merged: Option<Capture> = None;
    for (name, text) in files {
        let c = capture::parse(name, text).expect("the generated capture parses");
        match &mut merged {
            Some(m) => m.merge(c).expect("one machine"),
            None => merged = Some(c),
        }
    }
    let capture = merged.expect("at least one file");
    let a = analyze(&capture, opts).expect("the generated capture analyses");
    a.zones.len() + usize::from(a.verdict.succeeds == Some(true))
}

/// The workloads, by name: each returns something derived from its result so nothing is
/// optimised away.
type Case<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);

fn cases<'a>(inputs: &'a Inputs) -> Vec<Case<'a>> {
    let Inputs {
        buddy,
        zoneinfo,
        metrics,
        opts,
    } = inputs;
    let parse = |name: &'static str, text: &'a str| -> Case<'a> {
        (
            name,
            Box::new(move || capture::parse(name, black_box(text)).map_or(0, |c| c.zones.len())),
        )
    };
    vec![
        parse("buddyinfo_256_nodes", buddy),
        parse("node_exporter_256_nodes", metrics),
        parse("zoneinfo_256_nodes", zoneinfo),
        (
            "analyze_buddyinfo_256_nodes",
            Box::new(move || parse_and_analyze(&[("buddyinfo", black_box(buddy))], opts)),
        ),
        (
            "analyze_buddyinfo_zoneinfo_256_nodes",
            Box::new(move || {
                parse_and_analyze(
                    &[("buddyinfo", black_box(buddy)), ("zoneinfo", zoneinfo)],
                    opts,
                )
            }),
        ),
    ]
}

struct Inputs {
    buddy: String,
    zoneinfo: String,
    metrics: String,
    opts: Options,
}

fn inputs() -> Inputs {
    let zones = zones();
    let inputs = Inputs {
        buddy: buddyinfo::write(&zones),
        zoneinfo: zoneinfo::write(&with_zoneinfo(&zones), ZoneinfoLayout::V4_19),
        metrics: node_exporter(&zones),
        opts: Options {
            kernel: buddysim::kernel::profile("4.19").ok(),
            ..Options::default()
        },
    };
    // The pair reads right: every zone is analysed, and the verdict succeeds.
    let pair = [
        ("buddyinfo", inputs.buddy.as_str()),
        ("zoneinfo", inputs.zoneinfo.as_str()),
    ];
    assert_eq!(parse_and_analyze(&pair, &inputs.opts), 768 + 1);
    inputs
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Elements(1));
    for (name, run) in cases(&inputs) {
        g.bench_function(name, |b| b.iter(&run));
    }
    g.finish();
}

/// With `BUDDYSIM_BENCH_RUNS=N`: each workload (only the one named `BUDDYSIM_BENCH_CASE`, if
/// set) runs N times without criterion, and the captures per
/// CPU-second are printed. Under `valgrind --tool=callgrind` the instruction count of N runs
/// minus that of 0 runs is N times the per-capture cost, repeatable on a loaded machine.
fn fixed_runs(runs: u32) {
    let inputs = inputs();
    let filter = std::env::var("BUDDYSIM_BENCH_CASE").unwrap_or_default();
    for (name, run) in cases(&inputs) {
        if !filter.is_empty() && name != filter {
            continue;
        }
        let t0 = cpu_seconds();
        let mut sink = 0;
        for _ in 0..runs {
            sink += run();
        }
        black_box(sink);
        if let (Some(t0), Some(t1)) = (t0, cpu_seconds()) {
            let rate = if t1 > t0 {
                format!("{:.0}", f64::from(runs) / (t1 - t0))
            } else {
                "-".to_string()
            };
            println!(
                "{name}: {runs} runs in {:.2} CPU-s, {rate} captures/CPU-s",
                t1 - t0
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}

fn main() {
    if let Some(runs) = std::env::var("BUDDYSIM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        fixed_runs(runs);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
