//! buddysim: a deterministic simulator of the Linux page allocator.
//!
//! Data flows one way: inputs ([`capture`], scenarios) → state ([`mm`]) → engine → observations →
//! reports. The readers sit below the model: [`capture`] imports only [`mmzone_types`], the words
//! of mmzone.h both share (tests/layering.rs holds it there). Model code never prints, reads files or looks at the wall clock; the binary's `cli`
//! does the I/O.
//!
//! A simulated 16 GiB x86-64 node on the 3.10 profile, an order-6 `GFP_KERNEL` allocation (the
//! nf_conntrack cache's `memcg_cache_params` array) and the node's /proc/buddyinfo:
//!
//! ```
//! use buddysim::kernel::profile;
//! use buddysim::mm::mmzone::{x86_64_layout, Node, OwnerKind};
//! use buddysim::mm::page_alloc::{alloc, pcp::PcpConfig, setup};
//!
//! let kernel = profile("3.10").unwrap();
//! let mut nodes = Node::build_all(&x86_64_layout(16 << 30, 1).unwrap(), kernel, PcpConfig::Off).unwrap();
//! let wm = setup::setup_watermarks(&mut nodes, kernel, &setup::Tunables::defaults(kernel, setup::Thp::Always));
//! assert_eq!(wm.min_free_kbytes, 67584); // THP's recommended value for three zones
//!
//! let gfp = kernel.gfp.parse("GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG").unwrap();
//! let page = alloc::alloc_pages(&mut nodes, kernel, 6, gfp, OwnerKind::KmallocLarge, 0).unwrap();
//! assert_eq!(page.zone.name(), "Normal");
//! buddysim::mm::check::check(&nodes[0]).unwrap(); // every page in exactly one place
//! print!("{}", buddysim::mm::procfs::buddyinfo(&nodes));
//! ```

pub mod analyze;
pub mod cache_creation;
pub mod capture;
pub mod engine;
pub mod kernel;
pub mod mm;
pub mod mmzone_types;
pub mod report;
pub mod scenario;
pub mod workload;
