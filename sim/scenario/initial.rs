//! The state the simulation starts from: a fresh boot, a fill recipe, or a captured snapshot.
//!
//! ```yaml
//! initial: fresh
//! initial: {fill: {anon: 2GiB, page_cache: 4GiB, kernel: 200MiB, slab: {dentry: 500000, kmalloc-64: 64MiB}}}
//! initial: {capture: [buddyinfo.txt, slabinfo.txt]}
//! initial: {capture: {files: [failure.txt], split: {slab_reclaimable: 1935137}}}
//! ```
//! Capture paths are relative to the scenario file. Reading them is the capture parsers' job;
//! the scenario checks that they exist when it is loaded from a file.

use super::error::Invalid;
use super::tree::Path;
use super::units::{Pages, Size};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Initial {
    /// Just booted: everything free except the kernel's own reservations.
    #[default]
    Fresh,
    Fill(Fill),
    Capture(CaptureInit),
}

/// Memory in use at the start, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fill {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub anon: Size,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub page_cache: Size,
    /// Unmovable kernel allocations outside slab (page tables, stacks, vmalloc).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kernel: Size,
    /// Slab by cache name (as /proc/slabinfo spells it): an object count or a size.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slab: BTreeMap<String, SlabAmount>,
}

fn is_zero(s: &Size) -> bool {
    s.0 == 0
}

/// How much of one slab cache: a plain number is objects, a size with a unit is memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SlabAmount {
    Objects(u64),
    Memory(Size),
}

impl Serialize for SlabAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SlabAmount::Objects(n) => s.serialize_u64(*n),
            SlabAmount::Memory(size) => size.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SlabAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SlabAmount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object count such as `500000` or a size such as `64MiB`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SlabAmount, E> {
                Ok(SlabAmount::Objects(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SlabAmount, E> {
                Err(E::custom(format!(
                    "`{v}` is negative: give an object count or a size"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SlabAmount, E> {
                if v.trim().bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!(
                        "`{v}` is quoted: write an object count as a plain number, or a size with a unit"
                    )));
                }
                v.parse().map(SlabAmount::Memory).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Start from captured /proc files and dmesg text (buddyinfo, pagetypeinfo, zoneinfo, slabinfo,
/// a failure report). Written as a list of files, or as `{files: […], split: {…}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureMap {
    files: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "MemSplit::is_empty")]
    split: MemSplit,
    /// Memcgs holding kmem ids when the capture was taken (zombies included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kmem_ids: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureInit {
    /// Paths relative to the scenario file.
    pub files: Vec<PathBuf>,
    /// How used pages divide, when the files do not say (a failure report's Mem-Info does).
    pub split: MemSplit,
    /// Memcgs holding kmem ids when the capture was taken, zombies included (no file shows
    /// them: a failure report's order says roughly how many, see the book's memcg chapter).
    pub kmem_ids: Option<u32>,
}

impl Serialize for CaptureInit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.split.is_empty() && self.kmem_ids.is_none() {
            self.files.serialize(s)
        } else {
            CaptureMap {
                files: self.files.clone(),
                split: self.split.clone(),
                kmem_ids: self.kmem_ids,
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for CaptureInit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CaptureInit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of capture files, or {files: [...], split: {...}}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<CaptureInit, A::Error> {
                let files = Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(CaptureInit {
                    files,
                    split: MemSplit::default(),
                    kmem_ids: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CaptureInit, A::Error> {
                let m = CaptureMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(CaptureInit {
                    files: m.files,
                    split: m.split,
                    kmem_ids: m.kmem_ids,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Used pages by kind, with the names of a failure report's `Mem-Info:` line; pages or sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemSplit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_anon: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_anon: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_file: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_file: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unevictable: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shmem: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slab_reclaimable: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slab_unreclaimable: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagetables: Option<Pages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_stack: Option<Pages>,
}

impl MemSplit {
    pub fn is_empty(&self) -> bool {
        *self == MemSplit::default()
    }

    /// The pages given, summed.
    pub fn total(&self) -> u64 {
        [
            self.active_anon,
            self.inactive_anon,
            self.active_file,
            self.inactive_file,
            self.unevictable,
            self.shmem,
            self.slab_reclaimable,
            self.slab_unreclaimable,
            self.pagetables,
            self.kernel_stack,
        ]
        .iter()
        .flatten()
        .map(|p| p.0)
        .sum()
    }
}

/// A slab cache name as /proc/slabinfo prints it: no spaces, not empty.
pub(crate) fn check_cache_name(path: &Path, name: &str) -> Result<(), Invalid> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(
            path,
            format!("`{name}` is not a slab cache name (as /proc/slabinfo prints them: no spaces)"),
        ));
    }
    Ok(())
}

impl Initial {
    pub(crate) fn validate(&self, path: &Path, memory: Size) -> Result<(), Invalid> {
        match self {
            Initial::Fresh => Ok(()),
            Initial::Fill(fill) => {
                let at = path.key("fill");
                let slab_bytes: u128 = fill
                    .slab
                    .values()
                    .map(|a| match a {
                        SlabAmount::Memory(s) => s.0 as u128,
                        SlabAmount::Objects(_) => 0,
                    })
                    .sum();
                for name in fill.slab.keys() {
                    check_cache_name(&at.key("slab").key(name), name)?;
                }
                let total = fill.anon.0 as u128
                    + fill.page_cache.0 as u128
                    + fill.kernel.0 as u128
                    + slab_bytes;
                if total > memory.0 as u128 {
                    return Err(Invalid::new(
                        &at,
                        format!(
                            "the fill uses {}, more than the machine's memory {memory}",
                            Size(u64::try_from(total).unwrap_or(u64::MAX))
                        ),
                    ));
                }
                Ok(())
            }
            Initial::Capture(capture) => {
                let at = path.key("capture");
                if capture.files.is_empty() {
                    return Err(Invalid::new(
                        &at,
                        "no capture files: list buddyinfo, pagetypeinfo, zoneinfo, slabinfo or \
                         dmesg files",
                    ));
                }
                if capture.split.total() > memory.0 / super::units::PAGE_SIZE {
                    return Err(Invalid::new(
                        &at.key("split"),
                        format!(
                            "the split adds up to {} pages, more than the machine's memory {}",
                            capture.split.total(),
                            memory
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}
