//! Operator actions at given simulated times, as an operator would type them on the node:
//!
//! ```yaml
//! actions:
//!   - {at: 3d, drop_caches: 3}          # echo 3 > /proc/sys/vm/drop_caches
//!   - {at: 3d, compact_memory: true}    # echo 1 > /proc/sys/vm/compact_memory
//!   - {at: 4d, sysctl: {vm.extfrag_threshold: 250}}
//!   - {at: 4d, alloc: {order: 6, gfp: GFP_KERNEL}}  # a real allocation, freed at once
//!   - {at: 5d, reboot: true}
//! ```

use super::error::Invalid;
use super::outputs::AllocAction;
use super::tree::Path;
use super::tunables::Tunables;
use super::units::Duration;
use serde::{Deserialize, Serialize};

/// One action and when it happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub at: Duration,
    /// `echo N > /proc/sys/vm/drop_caches`: 1 page cache, 2 reclaimable slab, 3 both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_caches: Option<u8>,
    /// `echo 1 > /proc/sys/vm/compact_memory`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub compact_memory: bool,
    /// Tunables written with sysctl at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctl: Option<Tunables>,
    /// A real allocation of this order and GFP mask, freed at once (unlike a probe, what its
    /// reclaim and compaction did stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloc: Option<AllocAction>,
    /// Reboot the node: memory is fresh again, pods restart.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reboot: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an [`Action`] does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionKind<'a> {
    DropCaches(u8),
    CompactMemory,
    Sysctl(&'a Tunables),
    Alloc(&'a AllocAction),
    Reboot,
}

const ACTION_KEYS: &str = "drop_caches, compact_memory, sysctl, alloc or reboot";

impl Action {
    /// What the action does (validation guarantees exactly one).
    pub fn kind(&self) -> ActionKind<'_> {
        match (&self.drop_caches, &self.sysctl, &self.alloc) {
            (Some(n), _, _) => ActionKind::DropCaches(*n),
            (_, Some(t), _) => ActionKind::Sysctl(t),
            (_, _, Some(a)) => ActionKind::Alloc(a),
            _ if self.compact_memory => ActionKind::CompactMemory,
            _ => ActionKind::Reboot,
        }
    }

    pub(crate) fn validate(&self, path: &Path) -> Result<(), Invalid> {
        let given = [
            self.drop_caches.is_some(),
            self.compact_memory,
            self.sysctl.is_some(),
            self.alloc.is_some(),
            self.reboot,
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if given != 1 {
            return Err(Invalid::new(
                path,
                format!("an action does exactly one of {ACTION_KEYS} (this one does {given})"),
            ));
        }
        if let Some(n) = self.drop_caches {
            if !(1..=3).contains(&n) {
                return Err(Invalid::new(
                    &path.key("drop_caches"),
                    format!("drop_caches {n}: allowed 1 (page cache), 2 (slab) or 3 (both)"),
                ));
            }
        }
        Ok(())
    }
}
