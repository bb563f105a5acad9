//! The model of the kernel's memory management, one module per mechanism, named after the kernel
//! file it models (`mm/mmzone.c`, `mm/page_alloc.c`, `mm/vmstat.c`, …).

pub mod check;
pub mod compaction;
pub mod memcg_slab;
pub mod memcontrol;
pub mod migrate;
pub mod mmzone;
pub mod netns;
pub mod page_alloc;
pub mod procfs;
pub mod show_mem;
pub mod slub;
pub mod vm_event;
pub mod vmscan;
pub mod vmstat;
