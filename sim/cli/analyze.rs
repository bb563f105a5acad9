//! `buddysim analyze`: the kernel's verdict on captures.

use super::input::{read_files, read_live_proc, read_sysctl, read_sysctl_list};
use super::Format;
use anyhow::{anyhow, Result};
use buddysim::analyze::{analyze, Analysis, Options};
use buddysim::capture;

#[derive(clap::Args)]
pub struct Args {
    /// Capture files (`-` for standard input) or folders (a run's output folder, a sosreport's
    /// `proc/`: their buddyinfo, pagetypeinfo, zoneinfo, slabinfo, vmstat, meminfo and version).
    /// Several files of one machine combine. With none, this machine's /proc is read.
    files: Vec<String>,
    /// Kernel profile (3.10, 3.10-rhel7, 4.4, 4.9, 4.19, 5.15, 6.1, 6.18); default: the capture's.
    #[arg(long)]
    kernel: Option<String>,
    /// Order of the allocation (default: the dmesg report's, else 6).
    #[arg(long)]
    order: Option<u32>,
    /// GFP flags (`GFP_KERNEL|__GFP_COMP`) or mask (`0x10c0d0`), in the kernel's own bit layout.
    #[arg(long)]
    gfp: Option<String>,
    /// Recompute watermarks and protection from this vm.min_free_kbytes.
    #[arg(long)]
    min_free_kbytes: Option<u64>,
    /// vm.watermark_scale_factor for recomputed watermarks (4.6+).
    #[arg(long)]
    watermark_scale_factor: Option<u32>,
    /// vm.extfrag_threshold (0..1000) for the compaction decision.
    #[arg(long)]
    extfrag_threshold: Option<u32>,
    /// vm.lowmem_reserve_ratio, one ratio per zone ("256 256 32 0 0").
    #[arg(long)]
    lowmem_reserve_ratio: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: Args) -> Result<()> {
    let format = args.format;
    let analysis = load(args)?;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&analysis)?)?,
        Format::Text => {
            let profile = buddysim::kernel::profile(&analysis.kernel).map_err(|e| anyhow!(e))?;
            out!("{}", buddysim::report::analyze::text(&analysis, profile))?;
        }
    }
    Ok(())
}

/// Reads the inputs and settings of `args` and analyses them (shared with `explain`).
pub fn load(args: Args) -> Result<Analysis> {
    let kernel = args
        .kernel
        .as_deref()
        .map(buddysim::kernel::profile)
        .transpose()
        .map_err(|e| anyhow!("--kernel: {e}"))?;
    let live = args.files.is_empty();
    let inputs = if live {
        read_live_proc()?
    } else {
        read_files(&args.files)?
    };
    let mut merged: Option<capture::Capture> = None;
    for input in inputs {
        let c = capture::parse(&input.name, &input.text)?;
        match &mut merged {
            Some(m) => m.merge(c)?,
            None => merged = Some(c),
        }
    }
    let mut cap = merged.ok_or_else(|| anyhow!("no input"))?;

    let mut opts = Options {
        kernel,
        order: args.order,
        gfp: args.gfp,
        min_free_kbytes: args.min_free_kbytes,
        watermark_scale_factor: args.watermark_scale_factor,
        extfrag_threshold: args
            .extfrag_threshold
            .map(|t| {
                if t > 1000 {
                    Err(anyhow!("--extfrag-threshold {t}: expected 0..1000"))
                } else {
                    Ok(t)
                }
            })
            .transpose()?,
        lowmem_reserve_ratio: args
            .lowmem_reserve_ratio
            .map(|s| {
                s.split([' ', ',', '\t'])
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| anyhow!("--lowmem-reserve-ratio {s:?}: expected numbers such as \"256 256 32 0 0\""))
            })
            .transpose()?,
    };
    // Files read from this machine's /proc describe this machine: take its settings too.
    let this_machine = live || args.files.iter().any(|f| f.starts_with("/proc/"));
    if this_machine {
        // This machine's own settings, unless given.
        if cap.kernel_release.is_none() {
            cap.kernel_release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| s.trim().to_string());
        }
        let vm = |name: &str| read_sysctl(&format!("/proc/sys/vm/{name}"));
        opts.extfrag_threshold = opts
            .extfrag_threshold
            .or(vm("extfrag_threshold").map(|v| v as u32));
        // The sysctls watermarks are computed from, for a recomputation asked for; without
        // one the printed watermarks stand.
        let recompute = opts.min_free_kbytes.is_some()
            || opts.watermark_scale_factor.is_some()
            || opts.lowmem_reserve_ratio.is_some();
        if recompute {
            opts.watermark_scale_factor = opts
                .watermark_scale_factor
                .or(vm("watermark_scale_factor").map(|v| v as u32));
            opts.lowmem_reserve_ratio = opts
                .lowmem_reserve_ratio
                .or_else(|| read_sysctl_list("/proc/sys/vm/lowmem_reserve_ratio"));
        }
    }
    Ok(analyze(&cap, &opts)?)
}
