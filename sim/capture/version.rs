//! /proc/version: the kernel's banner, `linux_banner` (init/version.c), printed by
//! `version_proc_show()` (fs/proc/version.c): `Linux version <release> (<user>@<host>)
//! (<compiler>) <#build> <SMP …> <date>`. Read for its release (`uname -r`), which names the
//! kernel profile; a run writes one beside its /proc files, so reading them back gives the
//! profile the run modelled.

use super::text::Loc;
use super::{Capture, CaptureError};

/// What the banner starts with.
pub const PREFIX: &str = "Linux version ";

/// Parses /proc/version text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .unwrap_or((0, ""));
    let loc = Loc::new(file, i + 1);
    let release = line
        .trim()
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| loc.expected("`Linux version <release> …`", line.trim()))?;
    Ok(Capture {
        kernel_release: Some(release.to_string()),
        ..Capture::default()
    })
}

/// The banner a run writes for the release `release` its profile `profile` models, in the
/// kernel's shape (the build fields name the simulation instead of a compiler).
pub fn banner(release: &str, profile: &str) -> String {
    format!("{PREFIX}{release} (buddysim@simulation) (the {profile} profile) #1 SMP\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_is_the_banners_third_word() {
        let centos = "Linux version 3.10.0-514.el7.x86_64 (builder@kbuilder.dev.centos.org) \
                      (gcc version 4.8.5 20150623 (Red Hat 4.8.5-11) (GCC) ) #1 SMP Tue Nov 22 \
                      16:42:41 UTC 2016\n";
        let c = parse("version", centos).unwrap();
        assert_eq!(c.kernel_release.as_deref(), Some("3.10.0-514.el7.x86_64"));
        let ours = parse("version", &banner("6.1.0-13-amd64", "6.1")).unwrap();
        assert_eq!(ours.kernel_release.as_deref(), Some("6.1.0-13-amd64"));
        let e = parse("v", "Linux version\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("v", 1));
    }
}
