//! Helpers shared by the integration tests: the real captures in `../shared/captures`, and
//! checks on plot files (tests/plots.rs, tests/scenarios.rs): a PNG is drawn (not blank), and a
//! folder of fresh figures matches the committed ones under plots/. Each test crate uses a part.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/captures`, the real captures beside the repository, or `None` with a note when it
/// is missing, so the test that reads them skips. With `BUDDYSIM_REQUIRE_CAPTURES=1` (set by
/// `.ci/run`) a missing folder panics: there, a test that reads a capture fails, never skips.
pub fn captures_dir() -> Option<PathBuf> {
    let require = std::env::var_os("BUDDYSIM_REQUIRE_CAPTURES").is_some_and(|v| v == "1");
    existing(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"),
        require,
    )
}

/// `dir` if it is a folder; else a panic if `require`, or `None` with a note.
pub fn existing(dir: &Path, require: bool) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    assert!(
        !require,
        "{} is missing and BUDDYSIM_REQUIRE_CAPTURES=1",
        dir.display()
    );
    println!("note: {} is missing; test skipped", dir.display());
    None
}

/// Width, height and RGB pixels of a PNG.
pub fn decode(file: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let open = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut reader = png::Decoder::new(open)
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", file.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", file.display());
    let pixels = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

/// Asserts that a PNG figure is drawn: at least 8 colours, and dark (text) pixels in the title
/// band, the top 40 rows. Returns its width and height.
pub fn assert_drawn(png: &Path) -> (u32, u32) {
    let (w, h, pixels) = decode(png);
    let name = png.display();
    assert!(h > 40, "{name}: {w}×{h} pixels");
    let mut colours = pixels.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() >= 8, "{name} has {} colours", colours.len());
    let dark = pixels[..(w * 40) as usize]
        .iter()
        .filter(|p| p.iter().all(|&c| c < 80))
        .count();
    assert!(dark > 200, "{name}: {dark} dark pixels in the title band");
    (w, h)
}

/// The names of the files in `dir` ending in `.{ext}`, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(&format!(".{ext}")))
        .collect();
    names.sort();
    names
}

/// Asserts that the committed figures in `committed` (a folder under plots/) are exactly the
/// PNGs of `fresh`, byte for byte: the same names and the same bytes.
pub fn assert_committed_match(committed: &Path, fresh: &Path) {
    let fix = "run `bash plots/regenerate.sh` and commit plots/";
    let names = files_with_ext(fresh, "png");
    assert_eq!(
        files_with_ext(committed, "png"),
        names,
        "{} does not hold the figures a fresh run draws: {fix}",
        committed.display()
    );
    let stale: Vec<&String> = names
        .iter()
        .filter(|n| {
            std::fs::read(committed.join(n)).unwrap() != std::fs::read(fresh.join(n)).unwrap()
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{}: {stale:?} differ from a fresh regeneration: {fix}",
        committed.display()
    );
}
