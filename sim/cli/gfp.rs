//! `buddysim gfp`: decode a GFP mask or encode flag names, for one kernel or for all of them.

use super::Format;
use anyhow::{anyhow, Result};
use buddysim::kernel::{profile, PROFILES};

#[derive(clap::Args)]
pub struct Args {
    /// A mask (`0x10c0d0`) or flag names joined by `|` (`GFP_KERNEL|__GFP_COMP`).
    flags: String,
    /// Kernel profile whose bit layout to use; with none, every profile is shown.
    #[arg(long)]
    kernel: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(serde::Serialize)]
struct Row {
    kernel: &'static str,
    mode: String,
    flags: String,
}

pub fn run(args: Args) -> Result<()> {
    let profiles: Vec<_> = match &args.kernel {
        Some(name) => vec![profile(name).map_err(|e| anyhow!("--kernel: {e}"))?],
        None => PROFILES.iter().collect(),
    };
    let mut rows = Vec::new();
    let mut last_error = None;
    for p in &profiles {
        match p.gfp.parse(&args.flags) {
            Ok(mask) => rows.push(Row {
                kernel: p.name,
                mode: format!("{mask:#x}"),
                flags: p.gfp.decode(mask),
            }),
            Err(e) if args.kernel.is_some() => {
                return Err(anyhow!("{} on kernel {}: {e}", args.flags, p.name))
            }
            Err(e) => {
                // The parser's message names the unknown token first, in backticks.
                let token = e.split('`').nth(1).unwrap_or(&args.flags).to_string();
                rows.push(Row {
                    kernel: p.name,
                    mode: "-".into(),
                    flags: format!("(not in {}: no flag `{token}`)", p.name),
                });
                last_error = Some(e);
            }
        }
    }
    if rows.iter().all(|r| r.mode == "-") {
        let e = last_error.unwrap_or_default();
        return Err(anyhow!("{}: no kernel profile reads it; {e}", args.flags));
    }
    match args.format {
        Format::Json if args.kernel.is_some() => {
            outln!("{}", serde_json::to_string_pretty(&rows[0])?)?
        }
        Format::Json => outln!("{}", serde_json::to_string_pretty(&rows)?)?,
        Format::Text => {
            for r in &rows {
                outln!("{:<11} {:<10} {}", r.kernel, r.mode, r.flags)?;
            }
        }
    }
    Ok(())
}
