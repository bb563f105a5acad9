//! The bare engine's order-0 pairs on a 16 GiB node (profile 4.19, the Normal zone): allocate
//! an order-0 MOVABLE page, free a random one of 4096 live pages, through `__rmqueue()` and
//! `__free_one_page()` and nothing else. The floor a simulated day's page operations sit on.

use buddysim::engine::rng::Streams;
use buddysim::kernel::profile::profile;
use buddysim::mm::mmzone::{x86_64_layout, MigrateType, Node, OwnerKind, Pfn, Zone, ZoneType};
use buddysim::mm::page_alloc::buddy::AllocOpts;
use buddysim::mm::page_alloc::pcp::PcpConfig;
use rand::RngExt;

pub fn node_16g(pcp: PcpConfig) -> Node {
    let specs = x86_64_layout(16 << 30, 1).expect("layout");
    Node::build_all(&specs, profile("4.19").expect("profile"), pcp)
        .expect("node")
        .remove(0)
}

pub fn normal(node: &mut Node) -> &mut Zone {
    node.zone_mut(ZoneType::Normal).expect("Normal zone")
}

pub const PAIRS: usize = 1 << 16;
/// Live pages of the cache-hot workload.
pub const RING: usize = 4096;

/// A 16 GiB node with `live` live order-0 pages in its Normal zone, and random ring indices.
pub fn order0_setup(pcp: PcpConfig, live: usize) -> (Node, Vec<Pfn>, Vec<usize>) {
    let mut node = node_16g(pcp);
    let z = normal(&mut node);
    let ring = (0..live)
        .map(|_| {
            z.alloc(
                0,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::Anon,
            )
            .expect("memory")
        })
        .collect();
    let mut rng = Streams::new(1).stream("bench order0");
    let idx = (0..PAIRS).map(|_| rng.random_range(0..live)).collect();
    (node, ring, idx)
}

/// Random order-0 pairs: allocate a page, free a random one of the 4096 live pages.
pub fn order0_run(z: &mut Zone, ring: &mut [Pfn], idx: &[usize]) -> Pfn {
    let opts = AllocOpts::default();
    for &i in idx {
        let p = z
            .alloc(0, MigrateType::Movable, opts, OwnerKind::Anon)
            .expect("memory");
        let old = std::mem::replace(&mut ring[i], p);
        z.free(old, 0).expect("live page");
    }
    ring[0]
}
