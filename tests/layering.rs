//! The /proc and dmesg readers (`sim/capture/`) sit below the model: they import only themselves
//! and the shared words of mmzone.h (`sim/mmzone_types.rs`), never `mm/`, `kernel/` or anything
//! above, so the model prints through the readers' record types without an import cycle.

use std::path::Path;

#[test]
fn the_readers_import_nothing_of_the_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/capture");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        files += 1;
        for (i, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let module: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    module == "capture" || module == "mmzone_types",
                    "{}:{}: the readers import `crate::{module}`: {line}",
                    path.display(),
                    i + 1
                );
            }
        }
    }
    assert!(files > 5, "read {files} files of {}", dir.display());
}

#[test]
fn the_shared_words_import_nothing_of_the_crate() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/mmzone_types.rs"))
            .unwrap();
    assert!(
        !text.contains("crate::"),
        "mmzone_types.rs must stay at the bottom"
    );
}
