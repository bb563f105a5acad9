//! The simulated machine: memory size, CPUs, NUMA nodes and, optionally, the exact zones.
//!
//! Without `zones` the engine lays memory out as x86-64 firmware and `free_area_init()` do
//! (DMA below 16 MiB, DMA32 below 4 GiB, Normal above, spread over the nodes). With `zones` the
//! scenario gives each zone's start PFN and its spanned, present and managed pages, as
//! /proc/zoneinfo and the `present:`/`managed:` fields of a failure report print them.

use super::error::Invalid;
use super::tree::Path;
use super::units::{Pages, Size, PAGE_SIZE};
use crate::mm::mmzone::ZoneType;
use serde::{Deserialize, Deserializer, Serialize};

/// The largest memory a scenario may have: 64 TiB, the physical address limit of x86-64 with
/// 4-level page tables (`MAX_PHYSMEM_BITS` = 46), which every kernel profile here runs with.
pub const MAX_MEMORY: u64 = 1 << 46;
/// The smallest: one order-10 block (4 MiB), the largest block the buddy allocator forms.
pub const MIN_MEMORY: u64 = 4 << 20;
/// `CONFIG_NR_CPUS` maximum on x86-64.
pub const MAX_CPUS: u32 = 8192;
/// `1 << CONFIG_NODES_SHIFT` maximum on x86-64.
pub const MAX_NODES: u32 = 1024;
/// First PFN above ZONE_DMA (16 MiB) and above ZONE_DMA32 (4 GiB) on x86-64
/// (`MAX_DMA_PFN`, `MAX_DMA32_PFN`).
pub const MAX_DMA_PFN: u64 = (16 << 20) / PAGE_SIZE;
pub const MAX_DMA32_PFN: u64 = (4 << 30) / PAGE_SIZE;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Installed memory (`16GiB`); with explicit zones, their present pages must fit in it.
    pub memory: Size,
    /// CPUs (`4`): each has its own per-cpu page lists, and pods run on them round-robin;
    /// SLUB's `min_objects` and the vmstat thresholds follow the count too.
    pub cpus: u32,
    /// NUMA nodes (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub numa_nodes: u32,
    /// Explicit zones; when empty, the engine derives the x86-64 layout from `memory`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneSpec>,
    /// Swap space (`16GiB`; default none, as Kubernetes asks): reclaim swaps anon pages out
    /// while it has room, and a pod's swapped pages are released when it exits.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub swap: Size,
}

fn is_zero(s: &Size) -> bool {
    s.0 == 0
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// One zone of one node, with the sizes /proc/zoneinfo prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    #[serde(default)]
    pub node: u32,
    /// `DMA`, `DMA32`, `Normal` or `Movable`.
    #[serde(deserialize_with = "zone_type")]
    #[schemars(schema_with = "zone_schema")]
    pub zone: ZoneType,
    pub start_pfn: u64,
    /// Pages from the first to the last PFN, holes included.
    pub spanned: Pages,
    /// Pages that exist (spanned minus holes).
    pub present: Pages,
    /// Pages the buddy allocator manages (present minus boot-time reservations).
    pub managed: Pages,
}

/// The zone names a scenario accepts (x86-64 has no HighMem; ZONE_DEVICE has no buddy pages).
fn zone_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "enum": ["DMA", "DMA32", "Normal", "Movable"]})
}

const ZONE_TYPES: &str = "DMA, DMA32, Normal or Movable";

fn zone_type<'de, D: Deserializer<'de>>(d: D) -> Result<ZoneType, D::Error> {
    let name = String::deserialize(d)?;
    match name.parse::<ZoneType>() {
        Ok(z @ (ZoneType::Dma | ZoneType::Dma32 | ZoneType::Normal | ZoneType::Movable)) => Ok(z),
        Ok(z) => Err(serde::de::Error::custom(format!(
            "zone `{z}` does not exist on x86-64 with buddy-managed pages (expected {ZONE_TYPES})"
        ))),
        Err(_) => Err(serde::de::Error::custom(format!(
            "unknown zone `{name}` (expected {ZONE_TYPES})"
        ))),
    }
}

impl Machine {
    pub fn memory_pages(&self) -> u64 {
        self.memory.0 / PAGE_SIZE
    }

    pub(crate) fn validate(&self, path: &Path) -> Result<(), Invalid> {
        let memory = self.memory.0;
        let at = path.key("memory");
        if memory > MAX_MEMORY {
            return Err(Invalid::new(
                &at,
                format!(
                    "{} is more than the 64TiB maximum (the x86-64 physical address limit with \
                     4-level page tables, MAX_PHYSMEM_BITS = 46)",
                    self.memory
                ),
            ));
        }
        if memory < MIN_MEMORY {
            return Err(Invalid::new(
                &at,
                format!("{} is less than 4MiB, one order-10 block", self.memory),
            ));
        }
        if !memory.is_multiple_of(PAGE_SIZE) {
            return Err(Invalid::new(
                &at,
                format!("{} is not a whole number of 4KiB pages", self.memory),
            ));
        }
        if !(1..=MAX_CPUS).contains(&self.cpus) {
            return Err(Invalid::new(
                &path.key("cpus"),
                format!(
                    "{} CPUs: allowed 1 to {MAX_CPUS} (CONFIG_NR_CPUS)",
                    self.cpus
                ),
            ));
        }
        if self.swap.0 > MAX_MEMORY || !self.swap.0.is_multiple_of(PAGE_SIZE) {
            return Err(Invalid::new(
                &path.key("swap"),
                format!(
                    "{}: allowed a whole number of 4KiB pages up to 64TiB",
                    self.swap
                ),
            ));
        }
        if !(1..=MAX_NODES).contains(&self.numa_nodes) {
            return Err(Invalid::new(
                &path.key("numa_nodes"),
                format!("{} nodes: allowed 1 to {MAX_NODES}", self.numa_nodes),
            ));
        }
        self.validate_zones(&path.key("zones"))
    }

    fn validate_zones(&self, path: &Path) -> Result<(), Invalid> {
        let memory_pages = self.memory_pages();
        let mut total_present = 0u64;
        for (i, z) in self.zones.iter().enumerate() {
            let at = path.index(i);
            let name = format!("node {} {}", z.node, z.zone);
            if z.node >= self.numa_nodes {
                return Err(Invalid::new(
                    &at.key("node"),
                    format!(
                        "node {} does not exist: the machine has {} NUMA node(s), numbered from 0",
                        z.node, self.numa_nodes
                    ),
                ));
            }
            if let Some(j) = self.zones[..i]
                .iter()
                .position(|o| o.node == z.node && o.zone == z.zone)
            {
                return Err(Invalid::new(
                    &at.key("zone"),
                    format!("{name} is already given as zones[{j}]"),
                ));
            }
            if z.present.0 == 0 {
                return Err(Invalid::new(
                    &at.key("present"),
                    format!("{name} has no present pages: leave an empty zone out"),
                ));
            }
            if z.present > z.spanned {
                return Err(Invalid::new(
                    &at.key("present"),
                    format!(
                        "{name}: present {} pages is more than spanned {} pages",
                        z.present, z.spanned
                    ),
                ));
            }
            if z.managed > z.present {
                return Err(Invalid::new(
                    &at.key("managed"),
                    format!(
                        "{name}: managed {} pages is more than present {} pages",
                        z.managed, z.present
                    ),
                ));
            }
            if z.present.0 > memory_pages {
                return Err(Invalid::new(
                    &at.key("present"),
                    format!(
                        "{name} is larger than the machine: {} present pages ({}) but memory is \
                         {} ({memory_pages} pages)",
                        z.present,
                        Size(z.present.0 * PAGE_SIZE),
                        self.memory
                    ),
                ));
            }
            let end = z.start_pfn.saturating_add(z.spanned.0);
            let limit = match z.zone {
                ZoneType::Dma => Some((MAX_DMA_PFN, "16MiB")),
                ZoneType::Dma32 => Some((MAX_DMA32_PFN, "4GiB")),
                _ => None,
            };
            if let Some((max_pfn, below)) = limit {
                if end > max_pfn {
                    return Err(Invalid::new(
                        &at.key("spanned"),
                        format!(
                            "{name} ends at PFN {end}, but {} lies below {below} (PFN {max_pfn})",
                            z.zone
                        ),
                    ));
                }
            }
            if end > MAX_MEMORY / PAGE_SIZE {
                return Err(Invalid::new(
                    &at.key("spanned"),
                    format!("{name} ends at PFN {end}, above the 64TiB physical address limit"),
                ));
            }
            if let Some((j, o)) = self.zones[..i]
                .iter()
                .enumerate()
                .find(|(_, o)| z.start_pfn < o.start_pfn + o.spanned.0 && o.start_pfn < end)
            {
                return Err(Invalid::new(
                    &at.key("start_pfn"),
                    format!(
                        "{name} (PFN {}..{end}) overlaps zones[{j}], node {} {} (PFN {}..{})",
                        z.start_pfn,
                        o.node,
                        o.zone,
                        o.start_pfn,
                        o.start_pfn + o.spanned.0
                    ),
                ));
            }
            if let Some((j, o)) = self.zones[..i]
                .iter()
                .enumerate()
                .find(|(_, o)| o.node == z.node && (o.zone < z.zone) != (o.start_pfn < z.start_pfn))
            {
                return Err(Invalid::new(
                    &at.key("start_pfn"),
                    format!(
                        "{name} starts at PFN {}, on the wrong side of zones[{j}], {} at PFN {}: \
                         a node's zones go up in address in the order DMA, DMA32, Normal, Movable",
                        z.start_pfn, o.zone, o.start_pfn
                    ),
                ));
            }
            total_present += z.present.0;
        }
        // Holes and firmware take a little of a machine's RAM from its zones, never an eighth:
        // zones that hold less describe another machine, and every check against `memory` (a
        // pod's size, vm.min_free_kbytes) would judge the wrong one.
        if !self.zones.is_empty() && total_present < memory_pages - memory_pages / 8 {
            return Err(Invalid::new(
                path,
                format!(
                    "the zones have {total_present} present pages in all ({}), far less than the \
                     machine's memory {}: give `memory` as the RAM these zones hold",
                    Size(total_present * PAGE_SIZE).approx(),
                    self.memory
                ),
            ));
        }
        if total_present > memory_pages {
            return Err(Invalid::new(
                path,
                format!(
                    "the zones have {total_present} present pages in all, more than the \
                     machine's memory {} ({memory_pages} pages)",
                    self.memory
                ),
            ));
        }
        Ok(())
    }
}
