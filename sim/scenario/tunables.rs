//! Tunables, keyed by their sysctl names exactly as `sysctl -a` prints them.
//!
//! A tunable left out keeps the kernel profile's default (`Profile::extfrag_threshold`, …) or the
//! value the kernel computes at boot (`vm.min_free_kbytes`). Ranges are the sysctl table's
//! `extra1`/`extra2` bounds (kernel/sysctl.c, mm/*.c). A tunable that the chosen kernel does not
//! have (`vm.watermark_scale_factor` on 3.10) is an error, as writing it there would be.

use super::error::Invalid;
use super::tree::Path;
use crate::kernel::profile::{Profile, WatermarkGaps};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tunables {
    /// `vm.min_free_kbytes`: the min watermark summed over lowmem zones, in KiB.
    #[serde(
        rename = "vm.min_free_kbytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_free_kbytes: Option<u64>,
    /// `vm.extfrag_threshold` (0..1000): compaction is skipped while the fragmentation index is
    /// at or below it.
    #[serde(
        rename = "vm.extfrag_threshold",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extfrag_threshold: Option<u32>,
    /// `vm.watermark_scale_factor` (1..1000), 4.6+.
    #[serde(
        rename = "vm.watermark_scale_factor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub watermark_scale_factor: Option<u32>,
    /// `vm.watermark_boost_factor` (0 or more), 5.0+.
    #[serde(
        rename = "vm.watermark_boost_factor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub watermark_boost_factor: Option<u32>,
    /// `vm.compaction_proactiveness` (0..100), 5.9+.
    #[serde(
        rename = "vm.compaction_proactiveness",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compaction_proactiveness: Option<u32>,
    /// `vm.lowmem_reserve_ratio`: ratios for DMA, DMA32, Normal, HighMem, Movable, Device in
    /// that order (entries left out keep the profile's); a list, or the text the sysctl prints
    /// (`256 256 32`).
    #[serde(
        rename = "vm.lowmem_reserve_ratio",
        default,
        deserialize_with = "ratio_list",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Vec<u32>>")]
    pub lowmem_reserve_ratio: Option<Vec<u32>>,
}

/// Largest sysctl value (`proc_dointvec` on an `int`).
const INT_MAX: u64 = i32::MAX as u64;

fn ratio_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<Vec<u32>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of ratios such as [256, 256, 32], or the text `256 256 32`")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<u32>()? {
                out.push(v);
            }
            Ok(Some(out))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.split([' ', '\t', ','])
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<u32>())
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|_| {
                    E::custom(format!(
                        "`{v}` is not a list of ratios such as `256 256 32`"
                    ))
                })
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            u32::try_from(v)
                .map(|v| Some(vec![v]))
                .map_err(|_| E::custom(format!("ratio {v} is above 4294967295")))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

fn range(
    path: &Path,
    value: u64,
    min: u64,
    max: u64,
    name: &str,
    why: &str,
) -> Result<(), Invalid> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Invalid::new(
            path,
            format!("{name} = {value} is out of range: allowed {min} to {max}{why}"),
        ))
    }
}

impl Tunables {
    /// Checks ranges and that `profile` has each tunable set. `memory_kib` bounds
    /// `vm.min_free_kbytes`.
    pub(crate) fn validate(
        &self,
        path: &Path,
        profile: &Profile,
        memory_kib: u64,
    ) -> Result<(), Invalid> {
        let missing = |key: &str, what: &str| {
            Invalid::new(
                &path.key(key),
                format!("{key} does not exist on kernel {}: {what}", profile.name),
            )
        };
        if let Some(v) = self.min_free_kbytes {
            let max = memory_kib.min(INT_MAX);
            range(
                &path.key("vm.min_free_kbytes"),
                v,
                0,
                max,
                "vm.min_free_kbytes",
                " (at most the machine's memory in KiB)",
            )?;
        }
        if let Some(v) = self.extfrag_threshold {
            range(
                &path.key("vm.extfrag_threshold"),
                v.into(),
                0,
                1000,
                "vm.extfrag_threshold",
                "",
            )?;
        }
        if let Some(v) = self.watermark_scale_factor {
            if profile.watermark_gaps != WatermarkGaps::ScaleFactor {
                return Err(missing(
                    "vm.watermark_scale_factor",
                    "its watermarks are spaced min/4 and min/2 apart",
                ));
            }
            range(
                &path.key("vm.watermark_scale_factor"),
                v.into(),
                1,
                1000,
                "vm.watermark_scale_factor",
                "",
            )?;
        }
        if let Some(v) = self.watermark_boost_factor {
            if profile.watermark_boost_factor == 0 {
                return Err(missing(
                    "vm.watermark_boost_factor",
                    "it has no watermark boosting",
                ));
            }
            range(
                &path.key("vm.watermark_boost_factor"),
                v.into(),
                0,
                INT_MAX,
                "vm.watermark_boost_factor",
                "",
            )?;
        }
        if let Some(v) = self.compaction_proactiveness {
            if profile.proactive.is_none() {
                return Err(missing(
                    "vm.compaction_proactiveness",
                    "it has no proactive compaction",
                ));
            }
            range(
                &path.key("vm.compaction_proactiveness"),
                v.into(),
                0,
                100,
                "vm.compaction_proactiveness",
                "",
            )?;
        }
        if let Some(list) = &self.lowmem_reserve_ratio {
            let at = path.key("vm.lowmem_reserve_ratio");
            if list.is_empty() || list.len() > profile.lowmem_reserve_ratio.len() {
                return Err(Invalid::new(
                    &at,
                    format!(
                        "{} ratios: give 1 to {} (DMA, DMA32, Normal, HighMem, Movable, Device)",
                        list.len(),
                        profile.lowmem_reserve_ratio.len()
                    ),
                ));
            }
            if let Some(&v) = list.iter().find(|&&v| u64::from(v) > INT_MAX) {
                return Err(Invalid::new(&at, format!("ratio {v} is above {INT_MAX}")));
            }
        }
        Ok(())
    }

    /// The tunables set in `other` replace those here.
    pub fn merge(&mut self, other: &Tunables) {
        let Tunables {
            min_free_kbytes,
            extfrag_threshold,
            watermark_scale_factor,
            watermark_boost_factor,
            compaction_proactiveness,
            lowmem_reserve_ratio,
        } = other.clone();
        self.min_free_kbytes = min_free_kbytes.or(self.min_free_kbytes);
        self.extfrag_threshold = extfrag_threshold.or(self.extfrag_threshold);
        self.watermark_scale_factor = watermark_scale_factor.or(self.watermark_scale_factor);
        self.watermark_boost_factor = watermark_boost_factor.or(self.watermark_boost_factor);
        self.compaction_proactiveness = compaction_proactiveness.or(self.compaction_proactiveness);
        self.lowmem_reserve_ratio = lowmem_reserve_ratio.or(self.lowmem_reserve_ratio.take());
    }
}

/// `transparent_hugepage` (/sys/kernel/mm/transparent_hugepage/enabled). With `always` or
/// `madvise`, khugepaged raises `min_free_kbytes` (`set_recommended_min_free_kbytes()`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ThpMode {
    /// The RHEL/CentOS 7 default.
    #[default]
    Always,
    /// Huge pages only where a program asks (`madvise(MADV_HUGEPAGE)`).
    Madvise,
    /// No huge pages.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_takes_the_values_that_are_set() {
        let mut t = Tunables {
            extfrag_threshold: Some(500),
            min_free_kbytes: Some(67584),
            ..Tunables::default()
        };
        t.merge(&Tunables {
            extfrag_threshold: Some(250),
            lowmem_reserve_ratio: Some(vec![256, 256, 32]),
            ..Tunables::default()
        });
        assert_eq!(t.extfrag_threshold, Some(250));
        assert_eq!(t.min_free_kbytes, Some(67584));
        assert_eq!(t.lowmem_reserve_ratio, Some(vec![256, 256, 32]));
    }

    #[test]
    fn lowmem_reserve_ratio_takes_the_sysctl_text() {
        let t: Tunables = serde_saphyr::from_str("vm.lowmem_reserve_ratio: 256 256 32\n").unwrap();
        assert_eq!(t.lowmem_reserve_ratio, Some(vec![256, 256, 32]));
        let err =
            serde_saphyr::from_str::<Tunables>("vm.lowmem_reserve_ratio: 256 x\n").unwrap_err();
        assert!(
            crate::scenario::error::yaml_message(&err).contains("`256 x` is not a list of ratios")
        );
    }
}
