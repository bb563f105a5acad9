//! What a run records (probes) and writes (outputs).
//!
//! Every conntrack-cache creation (the incident's allocation) is always recorded; `probes.alloc`
//! adds periodic test allocations of a chosen order and GFP mask, answered by the allocator's
//! rules on a copy of the node, so that observing does not change the run.

use super::error::Invalid;
use super::tree::Path;
use super::units::Duration;
use crate::kernel::Profile;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alloc: Vec<AllocProbe>,
}

/// A test allocation every `every`: would an order-`order` request with `gfp` succeed now? It is
/// made on a copy of the node, whose reclaim and compaction are then dropped with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocProbe {
    pub order: u32,
    /// Flag names joined by `|` (`GFP_KERNEL`, `GFP_KERNEL|__GFP_COMP`) or a mask (`0x10c0d0`).
    #[serde(default = "gfp_kernel")]
    #[schemars(regex(
        pattern = r"^\s*(0[xX][0-9a-fA-F]+|_{0,3}GFP_[A-Z0-9_]+)(\s*\|\s*(0[xX][0-9a-fA-F]+|_{0,3}GFP_[A-Z0-9_]+))*\s*$"
    ))]
    pub gfp: String,
    pub every: Duration,
}

fn gfp_kernel() -> String {
    "GFP_KERNEL".to_string()
}

/// A GFP part is a flag name (`GFP_KERNEL`, `__GFP_COMP`) or a hexadecimal mask.
fn gfp_part_ok(part: &str) -> bool {
    let part = part.trim();
    if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let name = part.trim_start_matches('_');
    part.len() - name.len() <= 3
        && name.strip_prefix("GFP_").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// A real allocation an operator action makes (`actions: [{at: …, alloc: {order: 6}}]`): the
/// block is freed at once, but what its slow path did to the node (reclaim, compaction) stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocAction {
    pub order: u32,
    /// As [`AllocProbe::gfp`].
    #[serde(default = "gfp_kernel")]
    pub gfp: String,
}

impl AllocAction {
    pub(crate) fn validate(&self, path: &Path, profile: &Profile) -> Result<(), Invalid> {
        validate_request(path, self.order, &self.gfp, profile)
    }
}

/// An allocation request's order and GFP text, as probes and actions give them.
fn validate_request(path: &Path, order: u32, gfp: &str, profile: &Profile) -> Result<(), Invalid> {
    if order >= profile.orders {
        return Err(Invalid::new(
            &path.key("order"),
            format!(
                "order {order} is above the maximum order {} of kernel {} (orders 0 to {})",
                profile.orders - 1,
                profile.name,
                profile.orders - 1
            ),
        ));
    }
    if !gfp.split('|').all(gfp_part_ok) {
        return Err(Invalid::new(
            &path.key("gfp"),
            format!(
                "`{gfp}` is not a GFP mask: write flag names joined by | (GFP_KERNEL, \
                 GFP_KERNEL|__GFP_COMP) or a hexadecimal mask (0x10c0d0)"
            ),
        ));
    }
    Ok(())
}

impl AllocProbe {
    pub(crate) fn validate(&self, path: &Path, profile: &Profile) -> Result<(), Invalid> {
        validate_request(path, self.order, &self.gfp, profile)?;
        if self.every.0 == 0 {
            return Err(Invalid::new(
                &path.key("every"),
                "a probe every 0s: give a positive interval",
            ));
        }
        Ok(())
    }
}

/// Files a run writes into its output folder.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutputFile {
    /// Time series per zone and order (CSV, kernel counter names).
    Timeseries,
    /// Allocation failures, pod starts, actions (JSON lines).
    Events,
    /// Final /proc/buddyinfo in kernel format.
    Buddyinfo,
    /// Final /proc/pagetypeinfo in kernel format.
    Pagetypeinfo,
    /// Final /proc/zoneinfo in kernel format.
    Zoneinfo,
    /// Final /proc/slabinfo in kernel format.
    Slabinfo,
    /// `summary.json`.
    Summary,
}

impl OutputFile {
    pub const ALL: [OutputFile; 7] = [
        OutputFile::Timeseries,
        OutputFile::Events,
        OutputFile::Buddyinfo,
        OutputFile::Pagetypeinfo,
        OutputFile::Zoneinfo,
        OutputFile::Slabinfo,
        OutputFile::Summary,
    ];
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Outputs {
    /// How often time series are sampled (default 10m).
    pub sample_interval: Duration,
    /// Which files to write (default all).
    pub files: Vec<OutputFile>,
    /// Whether to draw plots (default true).
    pub plots: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            sample_interval: Duration::from_secs(600),
            files: OutputFile::ALL.to_vec(),
            plots: true,
        }
    }
}

impl Outputs {
    pub(crate) fn validate(&self, path: &Path) -> Result<(), Invalid> {
        if self.sample_interval.0 == 0 {
            return Err(Invalid::new(
                &path.key("sample_interval"),
                "sampling every 0s: give a positive interval",
            ));
        }
        Ok(())
    }
}
