//! Per-cpu page lists (`struct per_cpu_pages`, mm/page_alloc.c; KERNEL_MM.md 6.10).
//!
//! Order-0 allocations and frees go through a small per-cpu cache, one list per
//! MIGRATE_PCPTYPES type. An empty list is refilled with `batch` pages from the buddy lists
//! (`rmqueue_bulk()`); a list over `high` pages gives `batch` back (`free_pcppages_bulk()`).
//! Pages on these lists are neither free (NR_FREE_PAGES, buddyinfo and the watermarks do not
//! see them) nor in use. The model keeps the 3.10 shape (order 0 only, hot pages at the head);
//! the caller chooses the configuration, "off" sends every page straight to the buddy lists.

use super::buddy::{AllocFailure, AllocOpts, BuddyConfig};
use crate::mm::mmzone::{Link, ListHead, MigrateType, PageInfo, Zone, NIL};

/// How the per-cpu lists are set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PcpConfig {
    /// No per-cpu lists: every order-0 page goes to and from the buddy lists.
    Off,
    /// `cpus` lists with the kernel's `zone_batchsize()` batch and `high = 6 × batch`
    /// (`setup_pageset()`, 3.10 – 5.x).
    Kernel { cpus: u32 },
    /// `cpus` lists with a chosen batch and high.
    Fixed { cpus: u32, batch: u32, high: u32 },
}

/// Models zone_batchsize() (3.10 – 5.x): `min(managed/1024, 128)` pages (512 KiB) / 4, at
/// least 1, then `rounddown_pow_of_two(b + b/2) − 1`. 31 on any zone above 512 MiB.
pub fn zone_batchsize(managed: u64) -> u32 {
    let b = (managed / 1024).min(128) / 4;
    let b = b.max(1);
    let x = b + b / 2;
    (1u32 << (63 - x.leading_zeros())) - 1
}

/// Whether `mt` has a per-cpu list (types below MIGRATE_PCPTYPES).
pub fn is_pcp_type(mt: MigrateType) -> bool {
    matches!(
        mt,
        MigrateType::Unmovable | MigrateType::Movable | MigrateType::Reclaimable
    )
}

#[derive(Clone, Debug)]
struct CpuLists {
    lists: [ListHead; 3],
    count: u32,
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
                let b = zone_batchsize(managed);
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
        Pcp {
            cpus: vec![
                CpuLists {
                    lists: [ListHead::EMPTY; 3],
                    count: 0
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
        self.cpus.iter().map(|c| u64::from(c.count)).sum()
    }

    fn slot(&self, mt: MigrateType) -> usize {
        self.types.iter().position(|&t| t == mt).unwrap_or(1)
    }

    /// Every list of every cpu (for the invariant checker).
    pub(crate) fn list_heads(&self) -> impl Iterator<Item = ListHead> + '_ {
        self.cpus.iter().flat_map(|c| c.lists)
    }

    pub(crate) fn state_bytes(&self) -> usize {
        self.cpus.len() * std::mem::size_of::<CpuLists>()
    }
}

impl Zone {
    /// The zone's per-cpu lists.
    pub fn pcp(&self) -> &Pcp {
        &self.pcp
    }

    fn cpu_of(&self, cpu: usize) -> usize {
        cpu % self.pcp.cpus.len()
    }

    fn pcp_push(&mut self, cpu: usize, slot: usize, off: u32, tail: bool) {
        let l = self.pcp.cpus[cpu].lists[slot];
        if l.head == NIL {
            self.pages[off as usize].link = Link {
                next: NIL,
                prev: NIL,
            };
            self.pcp.cpus[cpu].lists[slot] = ListHead {
                head: off,
                tail: off,
            };
        } else if tail {
            self.pages[off as usize].link = Link {
                next: NIL,
                prev: l.tail,
            };
            self.pages[l.tail as usize].link.next = off;
            self.pcp.cpus[cpu].lists[slot].tail = off;
        } else {
            self.pages[off as usize].link = Link {
                next: l.head,
                prev: NIL,
            };
            self.pages[l.head as usize].link.prev = off;
            self.pcp.cpus[cpu].lists[slot].head = off;
        }
        self.pcp.cpus[cpu].count += 1;
    }

    fn pcp_pop(&mut self, cpu: usize, slot: usize, tail: bool) -> Option<u32> {
        let l = self.pcp.cpus[cpu].lists[slot];
        let off = if tail { l.tail } else { l.head };
        if off == NIL {
            return None;
        }
        let link = self.pages[off as usize].link;
        let list = &mut self.pcp.cpus[cpu].lists[slot];
        if link.prev == NIL {
            list.head = link.next;
        } else {
            self.pages[link.prev as usize].link.next = link.next;
        }
        if link.next == NIL {
            list.tail = link.prev;
        } else {
            self.pages[link.next as usize].link.prev = link.prev;
        }
        self.pcp.cpus[cpu].count -= 1;
        Some(off)
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
        if self.pcp.cpus[cpu].lists[slot].head == NIL {
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
        if self.pcp.cpus[cpu].count >= self.pcp.high {
            self.free_pcppages_bulk(cpu, self.pcp.batch);
        }
    }

    /// Models free_pcppages_bulk() (3.10): `count` pages from the list tails, round-robin over
    /// the types in enum order starting after the first, taking more from fuller lists
    /// (`batch_free`), each freed with the type it remembered.
    fn free_pcppages_bulk(&mut self, cpu: usize, count: u32) {
        let mut to_free = count.min(self.pcp.cpus[cpu].count);
        let mut slot = 0;
        let mut batch_free = 0;
        while to_free > 0 {
            loop {
                batch_free += 1;
                slot = (slot + 1) % 3;
                if self.pcp.cpus[cpu].lists[slot].head != NIL {
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
                if to_free == 0 || batch_free == 0 || self.pcp.cpus[cpu].lists[slot].head == NIL {
                    break;
                }
            }
        }
    }

    /// Models drain_pages() / drain_all_pages() for this zone: every per-cpu page goes back to
    /// the buddy lists.
    pub fn drain_pcp(&mut self) {
        for cpu in 0..self.pcp.cpus.len() {
            let n = self.pcp.cpus[cpu].count;
            self.free_pcppages_bulk(cpu, n);
        }
    }
}
