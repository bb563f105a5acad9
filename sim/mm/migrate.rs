//! Page migration (mm/migrate.c): moving the contents of an allocated page to another page.
//!
//! Compaction and memory hotplug free a physical range by copying its movable pages elsewhere
//! and freeing the originals. `migrate_pages()` takes a list of isolated pages and a function
//! that hands out target pages (`compaction_alloc()` for compaction); for each page
//! `unmap_and_move()` allocates a target, copies the page and its mapping to it
//! (`move_to_new_page()`), puts the new page back on the LRU and frees the old one. Only pages
//! on the LRU or with `__PageMovable` can move; slab pages, page tables, kernel stacks and
//! `kmalloc_large()` blocks are pinned where they are. The model moves the owner and the LRU
//! membership; the source block goes back to the buddy allocator through the zone's free path
//! and merges with its free buddies.

use crate::mm::mmzone::{OwnerKind, PageState, Pfn, Zone};
use crate::mm::page_alloc::buddy::PageError;
use crate::mm::vmscan::Lru;

/// Why a block could not be migrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum MigrateError {
    #[error("PFN {pfn:#x} is not the head of an allocated block")]
    NotAllocated { pfn: Pfn },
    /// The owner cannot move (`!PageLRU && !__PageMovable`): slab, page table, kernel stack, …
    #[error("PFN {pfn:#x} is held by {owner:?}, which cannot be migrated")]
    NotMovable { pfn: Pfn, owner: OwnerKind },
    /// No free target of the block's order (`get_new_page()` returned NULL: -ENOMEM).
    #[error("no free target of order {order} for PFN {pfn:#x}")]
    NoTarget { pfn: Pfn, order: u32 },
    /// The target is not an isolated block of the source's order.
    #[error("target PFN {target:#x} is not an isolated block of order {order}")]
    BadTarget { target: Pfn, order: u32 },
}

/// The owner that marks an isolated free page waiting to become a migration target (the
/// kernel's isolated free pages are simply pages with a reference held by the compactor).
pub const ISOLATED: OwnerKind = OwnerKind::Kernel;

fn movable_head(zone: &Zone, pfn: Pfn) -> Result<(u32, OwnerKind), MigrateError> {
    match zone.page_state(pfn) {
        PageState::Allocated { order, owner, .. } if owner.is_movable() => Ok((order, owner)),
        PageState::Allocated { owner, .. } => Err(MigrateError::NotMovable { pfn, owner }),
        _ => Err(MigrateError::NotAllocated { pfn }),
    }
}

/// Moves the movable block at `src` into the isolated target block `dst` of the same order
/// (see [`isolate_target`]): the target takes the owner and the LRU place (as
/// `putback_lru_page()` puts the new page at the young end), the source leaves the LRU and is
/// freed to the buddy allocator, where it merges. Counts `pgmigrate_success`, or
/// `pgmigrate_fail` when the target is wrong. Models `unmap_and_move()` → `move_to_new_page()`
/// (mm/migrate.c) for one page or compound page.
pub fn migrate_page(
    zone: &mut Zone,
    lru: &mut Lru,
    src: Pfn,
    dst: Pfn,
) -> Result<(), MigrateError> {
    let (order, owner) = movable_head(zone, src)?;
    match zone.page_state(dst) {
        PageState::Allocated {
            order: o,
            owner: ISOLATED,
            ..
        } if o == order => {}
        _ => {
            zone.events.pgmigrate_fail += 1;
            return Err(MigrateError::BadTarget { target: dst, order });
        }
    }
    let was_on_lru = lru.contains(zone, src);
    if was_on_lru {
        // Cannot fail: `src` is an anon/file head on the LRU.
        let _ = lru.del(zone, src);
    }
    // Cannot fail: both heads were checked above.
    let _ = zone.set_owner(dst, owner);
    if was_on_lru {
        let _ = lru.add(zone, dst);
    }
    lru.note_move(owner, src, Some(dst));
    let _ = zone.free(src, order);
    zone.events.pgmigrate_success += 1 << order;
    Ok(())
}

/// A migration target of `order` taken from the zone's free lists: the first free block of the
/// smallest order ≥ `order` outside `[avoid_start, avoid_end)`, isolated
/// (`__isolate_free_page()`, without its watermark test) and cut down to `order` (the pieces not
/// needed are freed again). Models the `alloc_migration_target()` family (mm/migrate.c) for a
/// caller that has no free scanner.
pub fn isolate_target(
    zone: &mut Zone,
    order: u32,
    avoid: std::ops::Range<Pfn>,
) -> Result<Pfn, PageError> {
    let orders = zone.config().orders;
    let types = zone.config().migrate_types;
    let found = (order..orders).find_map(|o| {
        types.iter().find_map(|&mt| {
            zone.free_list(o, mt)
                .find(|&p| p + (1 << o) <= avoid.start || p >= avoid.end)
        })
    });
    let Some(pfn) = found else {
        return Err(PageError::NotFree { pfn: avoid.start });
    };
    let got = zone.isolate_free_page(pfn, ISOLATED)?;
    zone.split_block(pfn, order)?;
    let mut p = pfn + (1 << order);
    while p < pfn + (1 << got) {
        let _ = zone.free(p, order);
        p += 1 << order;
    }
    Ok(pfn)
}

/// Migrates the block at `src` to a free block elsewhere in the zone ([`isolate_target`]).
/// Models `migrate_pages()` for one page with a target allocator.
pub fn migrate_to_free(zone: &mut Zone, lru: &mut Lru, src: Pfn) -> Result<Pfn, MigrateError> {
    let (order, _) = movable_head(zone, src)?;
    let dst = isolate_target(zone, order, src..src + (1 << order)).map_err(|_| {
        zone.events.pgmigrate_fail += 1;
        MigrateError::NoTarget { pfn: src, order }
    })?;
    migrate_page(zone, lru, src, dst)?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profile::profile;
    use crate::mm::check::check_zone;
    use crate::mm::mmzone::{FreeArea, MigrateType, ZoneSpec, ZoneType};
    use crate::mm::page_alloc::buddy::{AllocOpts, BuddyConfig};
    use crate::mm::page_alloc::pcp::PcpConfig;

    fn zone() -> Zone {
        let p = profile("4.19").unwrap();
        let spec = ZoneSpec::from_sizes(ZoneType::Normal, 0, 4096, 4096, 4096).unwrap();
        Zone::new(
            0,
            &spec,
            BuddyConfig::from_profile(p, 1 << 20),
            PcpConfig::Off,
        )
        .unwrap()
    }

    #[test]
    fn migrating_a_page_moves_owner_and_lru_and_frees_the_source() {
        let mut z = zone();
        let mut lru = Lru::new();
        let mv = MigrateType::Movable;
        let a = z
            .alloc(0, mv, AllocOpts::default(), OwnerKind::File)
            .unwrap();
        lru.add(&mut z, a).unwrap();
        let free_before = z.free_pages();
        let dst = migrate_to_free(&mut z, &mut lru, a).unwrap();
        assert_ne!(dst, a);
        assert!(matches!(
            z.page_state(dst),
            PageState::Allocated {
                owner: OwnerKind::File,
                ..
            }
        ));
        assert!(lru.contains(&z, dst) && !lru.contains(&z, a));
        assert_eq!(z.free_pages(), free_before);
        assert_eq!(z.events.pgmigrate_success, 1);
        // The source merged back: the zone is one order-0 allocation away from fully merged.
        check_zone(&z).unwrap();
    }

    #[test]
    fn compound_pages_move_whole_and_unmovable_pages_do_not_move() {
        let mut z = zone();
        let mut lru = Lru::new();
        let a = z
            .alloc(
                4,
                MigrateType::Movable,
                AllocOpts::default(),
                OwnerKind::Anon,
            )
            .unwrap();
        let dst = migrate_to_free(&mut z, &mut lru, a).unwrap();
        assert!(matches!(
            z.page_state(dst),
            PageState::Allocated { order: 4, .. }
        ));
        assert!(matches!(
            z.page_state(a),
            PageState::Free { .. } | PageState::Tail
        ));
        let s = z
            .alloc(
                0,
                MigrateType::Unmovable,
                AllocOpts::default(),
                OwnerKind::Slab,
            )
            .unwrap();
        assert_eq!(
            migrate_to_free(&mut z, &mut lru, s),
            Err(MigrateError::NotMovable {
                pfn: s,
                owner: OwnerKind::Slab
            })
        );
        check_zone(&z).unwrap();
    }

    #[test]
    fn no_target_is_reported() {
        let mut z = zone();
        let mut lru = Lru::new();
        let mut pages = Vec::new();
        while let Ok(p) = z.alloc(
            0,
            MigrateType::Movable,
            AllocOpts::default(),
            OwnerKind::Anon,
        ) {
            pages.push(p);
        }
        assert_eq!(
            migrate_to_free(&mut z, &mut lru, pages[0]),
            Err(MigrateError::NoTarget {
                pfn: pages[0],
                order: 0
            })
        );
        assert_eq!(z.events.pgmigrate_fail, 1);
    }
}
