//! What a slabinfo tells of the next slab-cache creation: the incident's mechanism read from a
//! capture.
//!
//! Up to 4.6 every network namespace creates a conntrack cache of its own
//! (`nf_conntrack_init_net()`, [`crate::mm::netns`]), and with memcg kmem accounting every root
//! cache creation kzallocs an array with one slot per kmem id ([`crate::mm::memcontrol`]), whose
//! length only grows. So the caches a file lists count the network namespaces that exist (one
//! `nf_conntrack_<struct net address>` cache each, a dying one's until its cleanup), and the
//! per-memcg copies, where listed, give the highest kmem id, hence the least length of that array
//! and the order the next pod's cache creation asks for.
//!
//! What each file can show. /proc/slabinfo lists root caches only on 3.8 – 5.8: `s_show()` (3.10)
//! and `slab_show()` (4.x) skip `!is_root_cache()` caches, and `memcg_accumulate_slabinfo()` adds
//! the copies' counts into their root's line; 5.9+ has no copies at all. A memcg's
//! `memory.kmem.slabinfo` (`mem_cgroup_slabinfo_read()`, later `memcg_slab_show()`) lists that
//! memcg's copies in the same format, named `root(N:cgroup)`. N is the kmem id on 3.8 – 3.18
//! (3.10 `kmem_cache_dup()`, 3.16 `memcg_create_kmem_cache()` print `memcg_cache_id()`), and on
//! RHEL 7, whose memcg code is of that era (unconfirmed: OpenVZ 7's later tree prints
//! `css_id()`); later kernels print the css id or the cgroup inode, which say nothing of kmem
//! ids. Removed memcgs still holding charges (zombies) keep their ids and their copies, but
//! their cgroup directory, with its `memory.kmem.slabinfo`, is gone: only /sys/kernel/slab
//! still names those copies.

use crate::capture::SlabCache;
use crate::kernel::profile::ConntrackCache;
use crate::kernel::Profile;
use crate::mm::memcontrol::{array_size_after, CacheParamsRule, MEMCG_CACHES_MAX_SIZE};
use crate::mm::netns::ParamsAlloc;
use crate::mm::slub::KmallocRoute;
use serde::Serialize;
use std::collections::BTreeSet;

/// What the input's slab caches say. JSON field names are a stable contract.
#[derive(Clone, Debug, Serialize)]
pub struct CacheCreation {
    /// Caches the input lists.
    pub caches: usize,
    /// The input lists root caches but no `kmalloc-<n>` one, which every whole /proc/slabinfo
    /// does: it is an excerpt, and the caches it leaves out are unknown.
    pub excerpt: bool,
    pub conntrack: Conntrack,
    pub memcg_copies: MemcgCopies,
    pub next_creation: NextCreation,
}

/// The conntrack caches listed.
#[derive(Clone, Debug, Serialize)]
pub struct Conntrack {
    /// `nf_conntrack_<hex address>` caches (the `%p` naming of 3.10 – 4.4).
    pub pointer_named: usize,
    /// `nf_conntrack_<decimal>` caches (the `%llu` counter of 4.5/4.6 and RHEL 7.7+, or a
    /// vendor's name).
    pub number_named: usize,
    /// The global `nf_conntrack` cache (4.7+) is listed.
    pub global: bool,
    /// Network namespaces the per-netns caches count; `None` when the input cannot tell.
    pub netns: Option<usize>,
    /// Objects in use and slab pages over the per-netns caches.
    pub objects: u64,
    pub pages: u64,
    pub summary: String,
}

/// The per-memcg copies listed (`root(N:cgroup)`).
#[derive(Clone, Debug, Serialize)]
pub struct MemcgCopies {
    pub copies: usize,
    /// Distinct N among the copies' names: the memcgs they belong to.
    pub memcgs: usize,
    /// The highest kmem id the names give, where N is the kmem id on this kernel.
    pub highest_kmem_id: Option<u32>,
    pub summary: String,
}

/// The memcg-array kzalloc of the next root-cache creation, where the input tells it.
#[derive(Clone, Debug, Serialize)]
pub struct NextCreation {
    /// The array's least length (`memcg_limited_groups_array_size`).
    pub array_entries: Option<u32>,
    /// The kzalloc's bytes, at least.
    pub size: Option<u64>,
    /// The page order it asks for (`kmalloc_large()`); `None` for a `kmalloc-<n>` object or
    /// when the input cannot tell.
    pub order: Option<u32>,
    /// The mask as a failure report of that kernel prints it (`0x10c0d0`).
    pub mode: Option<String>,
    #[serde(skip)]
    mask: Option<u64>,
    pub summary: String,
}

impl NextCreation {
    /// The page allocation the next creation makes: order and mask in the profile's layout.
    pub fn request(&self) -> Option<(u32, u64)> {
        self.order.zip(self.mask)
    }
}

/// What a conntrack cache name says.
#[derive(PartialEq, Eq)]
enum ConntrackName {
    Pointer,
    Number,
    Global,
}

fn conntrack_name(name: &str) -> Option<ConntrackName> {
    if name == "nf_conntrack" {
        return Some(ConntrackName::Global);
    }
    let suffix = name.strip_prefix("nf_conntrack_")?;
    if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
        Some(ConntrackName::Number)
    } else if suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(ConntrackName::Pointer)
    } else {
        None
    }
}

/// `root(N:cgroup)`, the name a per-memcg copy gets: N.
fn copy_number(name: &str) -> Option<u64> {
    let open = name.find('(')?;
    let inner = name[open + 1..].strip_suffix(')')?;
    let (n, _cgroup) = inner.split_once(':')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Whether a copy's `(N:cgroup)` carries the kmem id on `profile`'s kernel: on the 3.x memcg
/// code (3.10's and RHEL 7's array rules), not on 4.x.
fn names_kmem_ids(profile: &Profile) -> bool {
    matches!(
        profile.memcg_params,
        CacheParamsRule::V3_10 | CacheParamsRule::Rhel7
    )
}

/// Why the caches' names imply a kernel of 3.10 – 4.4 when the input names none, if they do.
pub fn kernel_hint(caches: &[SlabCache]) -> Option<&'static str> {
    caches.iter().find_map(|c| {
        if copy_number(&c.name).is_some() {
            Some("its slabinfo lists per-memcg cache copies, which only 3.8 - 5.8 make")
        } else if conntrack_name(&c.name) == Some(ConntrackName::Pointer) {
            Some("its slabinfo lists nf_conntrack_<address> caches, which only 3.10 - 4.4 make")
        } else {
            None
        }
    })
}

/// What `caches` say on `profile`'s kernel; `None` when there are none.
pub fn analyze(caches: &[SlabCache], profile: &Profile) -> Option<CacheCreation> {
    if caches.is_empty() {
        return None;
    }
    let conntrack = conntrack(caches, profile);
    let memcg_copies = memcg_copies(caches, profile);
    let next_creation = next_creation(&conntrack, &memcg_copies, profile);
    let mut roots = caches.iter().filter(|c| copy_number(&c.name).is_none());
    Some(CacheCreation {
        caches: caches.len(),
        excerpt: roots.clone().next().is_some() && !roots.any(|c| c.name.starts_with("kmalloc-")),
        conntrack,
        memcg_copies,
        next_creation,
    })
}

fn conntrack(caches: &[SlabCache], profile: &Profile) -> Conntrack {
    let roots = caches.iter().filter(|c| copy_number(&c.name).is_none());
    let named = |kind: ConntrackName| {
        roots
            .clone()
            .filter(move |c| conntrack_name(&c.name).as_ref() == Some(&kind))
    };
    let pointer_named = named(ConntrackName::Pointer).count();
    let number_named = named(ConntrackName::Number).count();
    let global = named(ConntrackName::Global).next().is_some();
    // The `%llu` names count namespaces only on a kernel that numbers its caches so.
    let numbered_netns = profile.conntrack == ConntrackCache::PerNetnsCounter;
    let per_netns: Vec<&SlabCache> = named(ConntrackName::Pointer)
        .chain(named(ConntrackName::Number).filter(|_| numbered_netns))
        .collect();
    let objects = per_netns.iter().map(|c| c.active_objs).sum();
    let pages = per_netns.iter().map(|c| c.num_slabs * c.pagesperslab).sum();
    let n = per_netns.len();
    let mut parts = Vec::new();
    if n > 0 {
        parts.push(format!(
            "{} (`nf_conntrack_init_net()`): {} (dying ones until their cleanup, \
             `nf_conntrack_cleanup_net_list()`), each made by a kmem_cache_create(); {objects} \
             conntrack entries in {pages} slab pages",
            counted(n, "per-netns conntrack cache", "per-netns conntrack caches"),
            counted(n, "network namespace exists", "network namespaces exist"),
        ));
    }
    if number_named > 0 && !numbered_netns {
        parts.push(format!(
            "{} nf_conntrack_<number>: per-netns caches of a kernel that numbers them (4.5/4.6, \
             RHEL 7.7+) or a vendor's cache; {} does not name its caches so, so they count no \
             namespace",
            counted(number_named, "cache named", "caches named"),
            profile.name
        ));
    }
    if global {
        parts.push(
            "the global nf_conntrack cache (4.7+ `nf_conntrack_init_start()`): network \
             namespaces make no cache of their own, so the file does not count them"
                .to_string(),
        );
    }
    if pointer_named > 0 && profile.conntrack != ConntrackCache::PerNetnsPointer {
        parts.push(format!(
            "nf_conntrack_<address> names are those of 3.10 - 4.4, not of {} (check --kernel)",
            profile.name
        ));
    }
    if parts.is_empty() {
        parts.push(
            "no conntrack cache listed: nf_conntrack is not loaded, or the file leaves it out"
                .to_string(),
        );
    }
    Conntrack {
        pointer_named,
        number_named,
        global,
        netns: (n > 0).then_some(n),
        objects,
        pages,
        summary: parts.join("; "),
    }
}

/// "1 cache", "8 caches".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn memcg_copies(caches: &[SlabCache], profile: &Profile) -> MemcgCopies {
    let numbers: Vec<u64> = caches.iter().filter_map(|c| copy_number(&c.name)).collect();
    let memcgs = numbers.iter().collect::<BTreeSet<_>>().len();
    let copies = numbers.len();
    let highest = numbers.iter().max().copied();
    let (highest_kmem_id, summary) = match highest {
        None => (
            None,
            "kmem ids: cannot tell: the input lists no per-memcg cache copy, and /proc/slabinfo \
             never does (3.8 - 5.8 print root caches only, adding their copies' counts into \
             them; 5.9+ has no copies). Add the memcgs' memory.kmem.slabinfo files, concatenated \
             into one (`find /sys/fs/cgroup/memory -name memory.kmem.slabinfo -exec cat {} +`): \
             on 3.10 they name each copy `cache(kmem id:cgroup)`. Removed memcgs that still hold \
             charges keep their ids, and only /sys/kernel/slab names their copies"
                .to_string(),
        ),
        Some(n) if !names_kmem_ids(profile) => (
            None,
            format!(
                "{}; kmem ids: cannot tell: on {} the N of `cache(N:cgroup)` is the css id or \
                 the cgroup inode, not the kmem id (highest N {n})",
                copies_of(copies, memcgs),
                profile.name
            ),
        ),
        Some(n) if n >= u64::from(MEMCG_CACHES_MAX_SIZE) => (
            None,
            format!(
                "{}; kmem ids: cannot tell: a copy names {n}, above every kmem id (ids are \
                 below {MEMCG_CACHES_MAX_SIZE}): check --kernel",
                copies_of(copies, memcgs)
            ),
        ),
        Some(n) => (
            Some(n as u32),
            format!(
                "{}, named with kmem ids up to {n}: ids 0 to {n} were handed out at some time; \
                 removed memcgs still holding charges, and memcgs whose copies the input lacks, \
                 may hold higher ones",
                copies_of(copies, memcgs)
            ),
        ),
    };
    MemcgCopies {
        copies,
        memcgs,
        highest_kmem_id,
        summary,
    }
}

/// "3 per-memcg copies of 2 memcgs".
fn copies_of(copies: usize, memcgs: usize) -> String {
    format!(
        "{} of {}",
        counted(copies, "per-memcg copy", "per-memcg copies"),
        counted(memcgs, "memcg", "memcgs")
    )
}

fn next_creation(conntrack: &Conntrack, copies: &MemcgCopies, profile: &Profile) -> NextCreation {
    let unknown = |summary: String| NextCreation {
        array_entries: None,
        size: None,
        order: None,
        mode: None,
        mask: None,
        summary,
    };
    if conntrack.global && conntrack.netns.is_none() {
        return unknown(
            "a new pod's network namespace creates no slab cache here (one global nf_conntrack \
             cache), so it makes no memcg-array allocation"
                .into(),
        );
    }
    if profile.conntrack == ConntrackCache::Global && conntrack.netns.is_none() {
        return unknown(format!(
            "on {} a new pod's network namespace creates no slab cache (one global nf_conntrack \
             cache from 4.7), so it makes no memcg-array allocation",
            profile.name
        ));
    }
    let Some(id) = copies.highest_kmem_id else {
        return unknown(
            "cannot tell: the memcg array's length is set by the highest kmem id ever handed \
             out, which the input does not give (see kmem ids)"
                .into(),
        );
    };
    let entries = array_size_after(id);
    let Some(req) = profile.memcg_params.request(entries) else {
        return unknown(format!(
            "{} has no per-cache memcg array (5.9+: objects are charged one by one)",
            profile.name
        ));
    };
    let alloc = ParamsAlloc::new(&req, profile.slab_rules(), &profile.gfp);
    let head = format!(
        "kmem id {id} grew the memcg array to at least {entries} entries \
         (`memcg_caches_array_size()`), so the next root cache creation, your next pod's \
         nf_conntrack cache, kzallocs at least {} bytes",
        alloc.size
    );
    let mode = format!("{:#x}", alloc.gfp_mode);
    match alloc.route {
        KmallocRoute::Large { order } => NextCreation {
            array_entries: Some(entries),
            size: Some(alloc.size),
            order: Some(order),
            summary: format!(
                "{head}: asks for order {order} or more (kmalloc_large(), mode {mode})"
            ),
            mode: Some(mode),
            mask: Some(alloc.gfp_mode),
        },
        KmallocRoute::Cache { object_size } => NextCreation {
            array_entries: Some(entries),
            size: Some(alloc.size),
            order: None,
            summary: format!(
                "{head}: a kmalloc-{object_size} object, no high-order page while no higher id \
                 exists"
            ),
            mode: Some(mode),
            mask: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_the_kernel_prints_them() {
        assert!(conntrack_name("nf_conntrack_ffff8803f0b7ba80") == Some(ConntrackName::Pointer));
        assert!(conntrack_name("nf_conntrack_48971") == Some(ConntrackName::Number));
        assert!(conntrack_name("nf_conntrack") == Some(ConntrackName::Global));
        assert!(conntrack_name("nf_conntrack_expect").is_none());
        assert_eq!(copy_number("dentry(12286:pod-a)"), Some(12286));
        assert_eq!(copy_number("kmalloc-64(3:a:b (c))"), Some(3));
        assert_eq!(copy_number("dentry"), None);
        assert_eq!(copy_number("x(+3:a)"), None);
    }
}
