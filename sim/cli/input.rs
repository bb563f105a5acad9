//! Reading inputs: files, `-` for standard input, or the live /proc of this machine.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// One input text with the name errors should use for it.
pub struct Input {
    pub name: String,
    pub text: String,
}

/// The files of a folder that are read as one capture: the /proc files a run writes (with its
/// `version`) or a sosreport's `proc/` holds, in this order.
pub const FOLDER_FILES: [&str; 7] = [
    "version",
    "buddyinfo",
    "pagetypeinfo",
    "zoneinfo",
    "slabinfo",
    "vmstat",
    "meminfo",
];

/// Each path, with a folder standing for its [`FOLDER_FILES`] that exist.
fn expand(paths: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for path in paths {
        let dir = Path::new(path);
        if path == "-" || !dir.is_dir() {
            out.push(path.clone());
            continue;
        }
        let found: Vec<String> = FOLDER_FILES
            .iter()
            .map(|name| dir.join(name))
            .filter(|p| p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if found.is_empty() {
            bail!(
                "{path}: a folder without any of the files read from one ({})",
                FOLDER_FILES.join(", ")
            );
        }
        out.extend(found);
    }
    Ok(out)
}

/// Reads each path (`-` is standard input, at most once; a folder is its [`FOLDER_FILES`]).
pub fn read_files(paths: &[String]) -> Result<Vec<Input>> {
    let mut stdin_used = false;
    expand(paths)?
        .iter()
        .map(|path| {
            if path == "-" {
                if stdin_used {
                    bail!("`-` (standard input) given more than once");
                }
                stdin_used = true;
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading standard input")?;
                Ok(Input {
                    name: "<stdin>".into(),
                    text,
                })
            } else {
                let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
                Ok(Input {
                    name: path.clone(),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                })
            }
        })
        .collect()
}

/// The allocator's /proc files on this machine that can be read (pagetypeinfo is root-only).
pub fn read_live_proc() -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in ["/proc/buddyinfo", "/proc/zoneinfo", "/proc/pagetypeinfo"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                inputs.push(Input {
                    name: path.into(),
                    text,
                });
            }
        }
    }
    if inputs.is_empty() {
        bail!("no file given and /proc/buddyinfo is not readable here: pass capture files (or - for stdin)");
    }
    Ok(inputs)
}

/// A number from a /proc/sys file of this machine, if readable.
pub fn read_sysctl(path: &str) -> Option<u64> {
    std::fs::read_to_string(Path::new(path))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `/proc/sys/vm/lowmem_reserve_ratio` of this machine, if readable.
pub fn read_sysctl_list(path: &str) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(Path::new(path)).ok()?;
    text.split_whitespace().map(|v| v.parse().ok()).collect()
}
