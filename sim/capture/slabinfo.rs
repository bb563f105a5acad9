//! /proc/slabinfo (version 2.1): one line per slab cache.
//!
//! `slabinfo_show()` / `cache_show()` (mm/slab_common.c; mm/slub.c supplies the numbers through
//! `get_slabinfo()`) print the header `slabinfo - version: 2.1`, a `# name …` column legend, and
//! per cache `"%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu"`:
//! name, active_objs, num_objs, objsize, objperslab, pagesperslab, the SLAB tunables (0 under
//! SLUB) and active_slabs, num_slabs, sharedavail. Names longer than 17 characters push the
//! columns right (`nf_conntrack_ffff8803f0b7ba80`, the per-netns conntrack caches of 3.10 –
//! 4.4), so the parser anchors on the ` : tunables ` and ` : slabdata ` separators, not on
//! columns. Columns SLAB adds after slabdata with CONFIG_DEBUG_SLAB (`: globalstat …`) are
//! ignored.

use super::text::{parse_u64, Loc};
use super::{Capture, CaptureError, SlabCache};

/// Parses /proc/slabinfo text.
pub fn parse(file: &str, text: &str) -> Result<Capture, CaptureError> {
    let mut caches = Vec::new();
    let mut seen_header = false;
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc::new(file, i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(v) = line.strip_prefix("slabinfo - version:") {
            let v = v.trim();
            if !v.starts_with("2.") {
                return Err(loc.expected("slabinfo version 2.x", v));
            }
            seen_header = true;
            continue;
        }
        if !seen_header {
            return Err(loc.expected("the header `slabinfo - version: 2.1`", line));
        }
        caches.push(cache(&loc, line)?);
    }
    if !seen_header {
        return Err(Loc::new(file, 1).expected("the header `slabinfo - version: 2.1`", ""));
    }
    Ok(Capture {
        slab_caches: caches,
        ..Capture::default()
    })
}

fn cache(loc: &Loc, line: &str) -> Result<SlabCache, CaptureError> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let t = tokens
        .windows(2)
        .position(|w| w == [":", "tunables"])
        .ok_or_else(|| loc.expected("` : tunables ` after the object columns", line))?;
    if t < 6 {
        return Err(loc.expected(
            "a name and 5 numbers (active_objs num_objs objsize objperslab pagesperslab) before ` : tunables`",
            line,
        ));
    }
    let s = t + 5;
    if tokens.get(s..s + 2) != Some(&[":", "slabdata"][..]) {
        return Err(loc.expected(
            "3 tunables then ` : slabdata `",
            &tokens.get(t + 2..).map(|r| r.join(" ")).unwrap_or_default(),
        ));
    }
    let num = |idx: usize, what: &str| -> Result<u64, CaptureError> {
        parse_u64(loc, tokens.get(idx).copied().unwrap_or(""), what)
    };
    for (k, what) in ["limit", "batchcount", "sharedfactor"].iter().enumerate() {
        num(t + 2 + k, what)?;
    }
    num(s + 4, "sharedavail")?;
    Ok(SlabCache {
        name: tokens[..t - 5].join(" "),
        active_objs: num(t - 5, "active_objs")?,
        num_objs: num(t - 4, "num_objs")?,
        objsize: num(t - 3, "objsize")?,
        objperslab: num(t - 2, "objperslab")?,
        pagesperslab: num(t - 1, "pagesperslab")?,
        active_slabs: num(s + 2, "active_slabs")?,
        num_slabs: num(s + 3, "num_slabs")?,
    })
}

/// /proc/slabinfo text for `caches` (SLUB's `slabinfo_show()` with version 2.1: tunables and
/// shared counts are 0 under SLUB).
pub fn write(caches: &[SlabCache]) -> String {
    let mut s = String::from(
        "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> \
         <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : \
         slabdata <active_slabs> <num_slabs> <sharedavail>\n",
    );
    for c in caches {
        s.push_str(&format!(
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4} : tunables {:>4} {:>4} {:>4} : slabdata {:>6} {:>6} {:>6}\n",
            c.name, c.active_objs, c.num_objs, c.objsize, c.objperslab, c.pagesperslab, 0, 0, 0,
            c.active_slabs, c.num_slabs, 0
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

    #[test]
    fn long_names_overflow_the_column() {
        let t = format!(
            "{HEAD}nf_conntrack_ffff8802e47f3a80   1575   1625    320   25    2 : tunables    0    0    0 : slabdata     65     65      0\n\
nf_conntrack_1        16     16    256   16    1 : tunables    0    0    0 : slabdata      1      1      0\n"
        );
        let c = parse("s", &t).unwrap();
        assert_eq!(c.slab_caches.len(), 2);
        let s = &c.slab_caches[0];
        assert_eq!(s.name, "nf_conntrack_ffff8802e47f3a80");
        assert_eq!(
            (
                s.active_objs,
                s.num_objs,
                s.objsize,
                s.objperslab,
                s.pagesperslab
            ),
            (1575, 1625, 320, 25, 2)
        );
        assert_eq!((s.active_slabs, s.num_slabs), (65, 65));
        assert_eq!(c.slab_caches[1].name, "nf_conntrack_1");
    }

    #[test]
    fn truncated_and_bad_lines_are_errors() {
        let e = parse(
            "s",
            &format!("{HEAD}dentry 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1\n"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s:3: expected sharedavail (an unsigned integer), found end of line"
        );
        let e = parse("s", &format!("{HEAD}dentry 1 2 3 4 5\n")).unwrap_err();
        assert!(
            e.to_string().starts_with("s:3: expected ` : tunables `"),
            "{e}"
        );
        let e = parse(
            "s",
            &format!("{HEAD}dentry 1 x 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s:3: expected num_objs (an unsigned integer), found `x`"
        );
        let e = parse("s", "slabinfo - version: 1.1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s:1: expected slabinfo version 2.x, found `1.1`"
        );
    }
}
