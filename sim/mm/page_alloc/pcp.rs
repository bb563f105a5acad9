//! Per-cpu page lists (`struct per_cpu_pages`, mm/page_alloc.c; KERNEL_MM.md 6.10).
//!
//! Order-0 allocations and frees go through a small per-cpu cache, one list per
//! MIGRATE_PCPTYPES type. An empty list is refilled with `batch` pages from the buddy lists
//! (`rmqueue_bulk()`); a list over `high` pages gives `batch` back (`free_pcppages_bulk()`).
//! Pages on these lists are neither free (NR_FREE_PAGES, buddyinfo and the watermarks do not
//! see them) nor in use. The model keeps the 3.10 shape (order 0 only, hot pages at the head);
//! the caller chooses the configuration, "off" sends every page straight to the buddy lists.

use std::collections::VecDeque;

use super::buddy::{AllocFailure, AllocOpts, BuddyConfig};
use crate::capture::Pageset;
use crate::kernel::profile::{PcpLists, Profile};
use crate::mm::mmzone::{MigrateType, PageInfo, Zone};

/// How the per-cpu lists are set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PcpConfig {
    /// No per-cpu lists: every order-0 page goes to and from the buddy lists.
    Off,
    /// `cpus` lists with the profile's `zone_batchsize()` batch and `high = 6 × batch`
    /// (`setup_pageset()`, 3.10 – 5.12).
    Kernel { cpus: u32 },
    /// `cpus` lists with a chosen batch and high.
    Fixed { cpus: u32, batch: u32, high: u32 },
}

impl PcpConfig {
    /// The lists of a simulated node with `cpus` CPUs: the kernel's sizes where the profile's
    /// lists are the order-0 shape the model has, none otherwise ([`PcpLists::HighOrders`]).
    /// Every allocation and free of a run goes through CPU 0's lists.
    pub fn for_run(profile: &Profile, cpus: u32) -> PcpConfig {
        match profile.pcp {
            PcpLists::OrderZero => PcpConfig::Kernel { cpus },
            PcpLists::HighOrders => PcpConfig::Off,
        }
    }
}

/// Models zone_batchsize() (3.10 – 6.x): `min(managed/1024, max)` pages / 4, at least 1, then
/// `rounddown_pow_of_two(b + b/2) − 1`, where `max` is 512 KiB of pages up to 4.18 (31 on any
/// zone above 512 MiB) and 1 MiB from 4.19 (63 above 1 GiB): `Profile::pcp_batch_max`.
pub fn zone_batchsize(managed: u64, max: u32) -> u32 {
    let b = (managed / 1024).min(u64::from(max)) / 4;
    let b = b.max(1);
    let x = b + b / 2;
    (1u32 << (63 - x.leading_zeros())) - 1
}

/// Models calculate_normal_threshold() (mm/vmstat.c, 3.10 – 6.x): how far a CPU's vmstat
/// counters may drift before they are folded into the zone's,
/// `2 × fls(cpus) × (1 + fls(managed / 128 MiB))`, at most 125.
pub fn stat_threshold(managed: u64, cpus: u32) -> u64 {
    let fls = |x: u64| u64::from(64 - x.leading_zeros());
    (2 * fls(u64::from(cpus)) * (1 + fls(managed >> (27 - 12)))).min(125)
}

/// Whether `mt` has a per-cpu list (types below MIGRATE_PCPTYPES).
pub fn is_pcp_type(mt: MigrateType) -> bool {
    matches!(
        mt,
        MigrateType::Unmovable | MigrateType::Movable | MigrateType::Reclaimable
    )
}

/// One CPU's lists, head first. The kernel links the pages through `page->lru`; a ring of page
/// offsets keeps the same order without touching the pages' list links.
#[derive(Clone, Debug)]
struct CpuLists {
    lists: [VecDeque<u32>; 3],
}

impl CpuLists {
    fn count(&self) -> usize {
        self.lists.iter().map(VecDeque::len).sum()
    }
}

/// The per-cpu lists of one zone.
#[derive(Clone, Debug)]
pub struct Pcp {
    cpus: Vec<CpuLists>,
    batch: u32,
    high: u32,
    /// MIGRATE_PCPTYPES in the kernel's enum order (the round-robin order of the bulk free).
    types: [MigrateType; 3],
}

impl Pcp {
    pub(crate) fn new(cfg: PcpConfig, managed: u64, buddy: &BuddyConfig) -> Pcp {
        let (cpus, batch, high) = match cfg {
            PcpConfig::Off => (0, 0, 0),
            // setup_pageset(): high = 6 × batch, batch at least 1 (DMA: high 0, batch 1).
            PcpConfig::Kernel { cpus } => {
                let b = zone_batchsize(managed, buddy.pcp_batch_max);
                (cpus, b.max(1), 6 * b)
            }
            PcpConfig::Fixed { cpus, batch, high } => (cpus, batch.max(1), high),
        };
        let mut types = [
            MigrateType::Unmovable,
            MigrateType::Movable,
            MigrateType::Reclaimable,
        ];
        let mut it = buddy
            .migrate_types
            .iter()
            .copied()
            .filter(|&t| is_pcp_type(t));
        for t in types.iter_mut() {
            if let Some(k) = it.next() {
                *t = k;
            }
        }
        // A list holds at most high + batch - 1 pages (a refill is only into an empty list).
        let cap = (high + batch) as usize;
        Pcp {
            cpus: vec![
                CpuLists {
                    lists: std::array::from_fn(|_| VecDeque::with_capacity(cap)),
                };
                cpus as usize
            ],
            batch,
            high,
            types,
        }
    }

    pub fn enabled(&self) -> bool {
        !self.cpus.is_empty()
    }

    pub fn batch(&self) -> u32 {
        self.batch
    }

    pub fn high(&self) -> u32 {
        self.high
    }

    /// Pages on all per-cpu lists.
    pub fn count(&self) -> u64 {
        self.cpus.iter().map(|c| c.count() as u64).sum()
    }

    /// The lists as zoneinfo prints them (`zoneinfo_show_print()`): one pageset per CPU with its
    /// count, high and batch, and the CPU's vmstat threshold for a zone of `managed` pages.
    pub fn pagesets(&self, managed: u64) -> Vec<Pageset> {
        let threshold = stat_threshold(managed, self.cpus.len() as u32);
        self.cpus
            .iter()
            .zip(0..)
            .map(|(c, cpu)| Pageset {
                cpu,
                list: None,
                count: c.count() as u64,
                high: u64::from(self.high),
                batch: u64::from(self.batch),
                stat_threshold: Some(threshold),
            })
            .collect()
    }

    fn slot(&self, mt: MigrateType) -> usize {
        self.types.iter().position(|&t| t == mt).unwrap_or(1)
    }

    /// The pages on every list of every cpu (for the invariant checker).
    pub(crate) fn pages(&self) -> impl Iterator<Item = u32> + '_ {
        self.cpus
            .iter()
            .flat_map(|c| c.lists.iter().flat_map(|l| l.iter().copied()))
    }

    pub(crate) fn state_bytes(&self) -> usize {
        self.cpus
            .iter()
            .map(|c| {
                std::mem::size_of::<CpuLists>()
                    + c.lists.iter().map(|l| l.capacity() * 4).sum::<usize>()
            })
            .sum()
    }
}

impl Zone {
    /// The zone's per-cpu lists.
    pub fn pcp(&self) -> &Pcp {
        &self.pcp
    }

    /// The lists `cpu` uses (CPUs beyond the lists' share them); no division for the usual
    /// CPU in range, as every order-0 allocation and free asks.
    fn cpu_of(&self, cpu: usize) -> usize {
        let n = self.pcp.cpus.len();
        if cpu < n {
            cpu
        } else {
            cpu % n
        }
    }

    fn pcp_push(&mut self, cpu: usize, slot: usize, off: u32, tail: bool) {
        let list = &mut self.pcp.cpus[cpu].lists[slot];
        if tail {
            list.push_back(off);
        } else {
            list.push_front(off);
        }
    }

    fn pcp_pop(&mut self, cpu: usize, slot: usize, tail: bool) -> Option<u32> {
        let list = &mut self.pcp.cpus[cpu].lists[slot];
        if tail {
            list.pop_back()
        } else {
            list.pop_front()
        }
    }

    /// Models the order-0 branch of buffered_rmqueue() / rmqueue_pcplist(): take the hot page
    /// at the head of this cpu's list for `mt`, refilling an empty list with `batch` pages
    /// from `__rmqueue()` first (`rmqueue_bulk()`, which keeps them in allocation order).
    pub(crate) fn pcp_alloc(
        &mut self,
        cpu: usize,
        mt: MigrateType,
        opts: AllocOpts,
    ) -> Result<u32, AllocFailure> {
        let cpu = self.cpu_of(cpu);
        let slot = self.pcp.slot(mt);
        if self.pcp.cpus[cpu].lists[slot].is_empty() {
            for _ in 0..self.pcp.batch {
                let Ok(off) = self.rmqueue(0, mt, opts) else {
                    break;
                };
                let keep = if self.pageblock_mt(off) == MigrateType::Cma {
                    MigrateType::Cma
                } else {
                    mt
                };
                self.pages[off as usize].info = PageInfo::pcp(keep);
                self.pcp_push(cpu, slot, off, true);
            }
        }
        self.pcp_pop(cpu, slot, false)
            .ok_or(AllocFailure::NoBlockOfOrder {
                order: 0,
                migratetype: mt,
            })
    }

    /// Models free_hot_cold_page() / free_unref_page() for a hot page: an ISOLATE page goes
    /// straight to the buddy lists; RESERVE, HIGHATOMIC and CMA pages use the MOVABLE list but
    /// remember their own type; a list reaching `high` returns `batch` pages.
    pub(crate) fn pcp_free(&mut self, cpu: usize, off: u32, mt: MigrateType) {
        if mt == MigrateType::Isolate {
            self.free_one_page(off, 0, mt);
            return;
        }
        let cpu = self.cpu_of(cpu);
        let slot = if is_pcp_type(mt) {
            self.pcp.slot(mt)
        } else {
            self.pcp.slot(MigrateType::Movable)
        };
        self.pages[off as usize].info = PageInfo::pcp(mt);
        self.pcp_push(cpu, slot, off, false);
        if self.pcp.cpus[cpu].count() >= self.pcp.high as usize {
            self.free_pcppages_bulk(cpu, self.pcp.batch);
        }
    }

    /// Models free_pcppages_bulk() (3.10): `count` pages from the list tails, round-robin over
    /// the types in enum order starting after the first, taking more from fuller lists
    /// (`batch_free`), each freed with the type it remembered.
    fn free_pcppages_bulk(&mut self, cpu: usize, count: u32) {
        let mut to_free = count.min(self.pcp.cpus[cpu].count() as u32);
        let mut slot = 0;
        let mut batch_free = 0;
        while to_free > 0 {
            loop {
                batch_free += 1;
                slot = (slot + 1) % 3;
                if !self.pcp.cpus[cpu].lists[slot].is_empty() {
                    break;
                }
            }
            if batch_free == 3 {
                batch_free = to_free;
            }
            while let Some(off) = self.pcp_pop(cpu, slot, true) {
                let mt = self.pages[off as usize].info.mt();
                self.free_one_page(off, 0, mt);
                to_free -= 1;
                batch_free -= 1;
                if to_free == 0 || batch_free == 0 || self.pcp.cpus[cpu].lists[slot].is_empty() {
                    break;
                }
            }
        }
    }

    /// Models drain_pages() / drain_all_pages() for this zone: every per-cpu page goes back to
    /// the buddy lists.
    pub fn drain_pcp(&mut self) {
        for cpu in 0..self.pcp.cpus.len() {
            let n = self.pcp.cpus[cpu].count() as u32;
            self.free_pcppages_bulk(cpu, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::PROFILES;

    /// Runs keep the kernel's order-0 lists up to 4.19 and none from 5.15 (high-order lists).
    #[test]
    fn runs_have_per_cpu_lists_where_the_model_has_the_kernels_shape() {
        let with: Vec<&str> = PROFILES
            .iter()
            .filter(|p| PcpConfig::for_run(p, 4) == PcpConfig::Kernel { cpus: 4 })
            .map(|p| p.name)
            .collect();
        assert_eq!(with, ["3.10", "3.10-rhel7", "4.4", "4.9", "4.19"]);
        let without = PROFILES
            .iter()
            .filter(|p| PcpConfig::for_run(p, 4) == PcpConfig::Off)
            .count();
        assert_eq!(without, 3);
    }
}
