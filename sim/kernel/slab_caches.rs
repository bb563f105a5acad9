//! The kernel's named slab caches a workload allocates from: each cache's object size as
//! /proc/slabinfo prints it (`s->size`, x86-64) and whether it was created with
//! `SLAB_RECLAIM_ACCOUNT` (its slabs are MIGRATE_RECLAIMABLE and a shrinker frees its objects)
//! or, from 4.5, `SLAB_ACCOUNT` (a kmem-active memcg's objects go to its own copy of the cache
//! up to 5.8: [`crate::mm::memcg_slab`]; the flags as the 4.18 source creates each cache).
//!
//! Sizes are read from real captures, per kernel generation: 3.10 from the seed node's
//! `slabtop` (CentOS 7, 3.10.0-514: size = slab bytes / objects per slab, rounded down to 8),
//! 4.18 from a RHEL 8 sosreport's /proc/slabinfo (../shared/captures/E). A name the kernel
//! generation does not have (`sysfs_dir_cache` became `kernfs_node_cache` in 3.14) is refused.
//! The `kmalloc-<n>` caches are not listed: [`crate::mm::slub::Kmalloc`] serves them.

/// A named cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CacheSpec {
    pub name: &'static str,
    /// `s->size` in bytes.
    pub size: u32,
    /// Created with `SLAB_RECLAIM_ACCOUNT`.
    pub reclaimable: bool,
    /// Created with `SLAB_ACCOUNT` (4.5+).
    pub account: bool,
    /// Created with a constructor, which makes the cache unmergeable (`slab_unmergeable()`).
    pub ctor: bool,
}

/// Which generation's cache table applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlabSizes {
    /// 3.10 (the seed's slabtop; the caches it does not print take the 4.18 size of a cache
    /// that exists on 3.10 too).
    V3_10,
    /// 4.18 (RHEL 8 sosreport), used for 4.4 and later.
    V4_18,
}

const fn c(name: &'static str, size: u32, reclaimable: bool, account: bool) -> CacheSpec {
    CacheSpec {
        name,
        size,
        reclaimable,
        account,
        ctor: false,
    }
}

/// A cache created with a constructor (`kmem_cache_create(…, ctor)`).
const fn ctor(s: CacheSpec) -> CacheSpec {
    CacheSpec { ctor: true, ..s }
}

/// From the seed's `slabtop -s l` (OBJ SIZE × OBJ/SLAB = slab size).
const V3_10: &[CacheSpec] = &[
    c("sysfs_dir_cache", 112, false, false),
    ctor(c("radix_tree_node", 584, true, false)),
    c("dentry", 192, true, true),
    c("xfs_ili", 152, false, false),
    ctor(c("xfs_inode", 1088, true, true)),
    c("blkdev_requests", 384, false, false),
    c("cfq_queue", 232, false, false),
];

/// From the RHEL 8 (4.18) sosreport's /proc/slabinfo.
const V4_18: &[CacheSpec] = &[
    ctor(c("anon_vma", 88, false, true)),
    c("buffer_head", 104, true, false),
    c("cred_jar", 192, false, true),
    c("dentry", 208, true, true),
    ctor(c("ext4_inode_cache", 1168, true, true)),
    c("files_cache", 704, false, true),
    c("filp", 256, false, true),
    ctor(c("inode_cache", 656, true, true)),
    c("kernfs_node_cache", 136, false, false),
    c("mm_struct", 1152, false, true),
    c("mnt_cache", 384, false, true),
    c("net_namespace", 6592, false, false),
    ctor(c("ovl_inode", 736, true, true)),
    c("pid", 64, false, true),
    ctor(c("proc_inode_cache", 728, true, true)),
    ctor(c("radix_tree_node", 592, true, false)),
    ctor(c("shmem_inode_cache", 760, false, true)),
    ctor(c("sighand_cache", 2112, false, true)),
    c("signal_cache", 1088, false, true),
    c("skbuff_head_cache", 256, false, false),
    ctor(c("sock_inode_cache", 704, true, true)),
    c("task_struct", 7808, false, true),
    c("vm_area_struct", 232, false, true),
    ctor(c("xfs_inode", 1024, true, true)),
];

/// Caches of the 4.18 table that do not exist on 3.10.
const NOT_ON_3_10: &[&str] = &["kernfs_node_cache", "ovl_inode"];

impl SlabSizes {
    /// The cache called `name`, if this kernel generation has it.
    pub fn find(self, name: &str) -> Option<CacheSpec> {
        let own = match self {
            SlabSizes::V3_10 => V3_10,
            SlabSizes::V4_18 => V4_18,
        };
        own.iter().find(|s| s.name == name).copied().or_else(|| {
            (self == SlabSizes::V3_10 && !NOT_ON_3_10.contains(&name))
                .then(|| V4_18.iter().find(|s| s.name == name).copied())
                .flatten()
        })
    }

    /// Every cache name this generation knows, sorted (for error messages).
    pub fn names(self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = V3_10
            .iter()
            .chain(V4_18)
            .map(|s| s.name)
            .filter(|n| self.find(n).is_some())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_generation() {
        assert_eq!(SlabSizes::V3_10.find("dentry").unwrap().size, 192);
        assert_eq!(SlabSizes::V4_18.find("dentry").unwrap().size, 208);
        assert_eq!(SlabSizes::V3_10.find("inode_cache").unwrap().size, 656);
        assert!(SlabSizes::V4_18.find("sysfs_dir_cache").is_none());
        assert!(SlabSizes::V3_10.find("kernfs_node_cache").is_none());
        assert!(SlabSizes::V3_10.find("xfs_inode").unwrap().reclaimable);
        assert!(SlabSizes::V3_10.names().contains(&"sysfs_dir_cache"));
    }

    /// Caches with a constructor are unmergeable, so on 3.10 their per-memcg copies get no
    /// alias symlink (32 sysfs entries, not 33).
    #[test]
    fn constructors_follow_the_kernel() {
        let ctor = |name| SlabSizes::V3_10.find(name).unwrap().ctor;
        for name in [
            "inode_cache",
            "xfs_inode",
            "radix_tree_node",
            "anon_vma",
            "sighand_cache",
        ] {
            assert!(ctor(name), "{name}");
        }
        for name in [
            "dentry",
            "filp",
            "task_struct",
            "sysfs_dir_cache",
            "vm_area_struct",
        ] {
            assert!(!ctor(name), "{name}");
        }
    }
}
