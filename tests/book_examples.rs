//! The book's console examples run: every ```console block in book/src/**/*.md is a list of
//! `$ buddysim ARGS` lines, each followed by the output it is expected to print (or an excerpt).
//!
//! Each command runs against the built binary with the repository root as the working directory.
//! Every non-empty expected line other than `...` must appear, trimmed, inside a line of the
//! actual output (stdout then stderr), in order; lines may be skipped between them, so excerpts
//! need no `...` but may use it for the reader. The command must exit 0 unless the expected
//! output ends with a line `[exit status: N]`. A block that reads `../shared/captures` is skipped
//! when that folder is missing (`common::captures_dir`: fails in CI instead). Console blocks may
//! hold only `buddysim` commands: other shell lines belong in ```text blocks, where nothing runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// One `$ buddysim …` line and the output lines after it.
struct Example {
    file: PathBuf,
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
    exit: i32,
}

/// The markdown files under `dir`, sorted, recursively.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

/// Splits a command line as a POSIX shell would for plain words, '…' and "…" quotes.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let (mut words, mut cur, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some(q) => cur.push(q),
                        None => return Err(format!("unclosed {c} in `{line}`")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '|' | '>' | '<' | ';' | '&' | '$' | '`' => {
                return Err(format!(
                    "shell syntax `{c}` in `{line}`: not run by this test"
                ))
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Whether an example runs a shipped scenario that starts from a capture in ../shared/captures.
fn reads_captures(root: &Path, ex: &Example) -> bool {
    ex.args
        .iter()
        .filter(|a| a.ends_with(".yaml"))
        .any(|a| std::fs::read_to_string(root.join(a)).is_ok_and(|t| t.contains("shared/captures")))
}

/// The console blocks of one file, as examples, or the first malformed line.
fn examples_in(file: &Path, text: &str) -> Result<Vec<(Example, bool)>, String> {
    let mut out = Vec::new();
    let mut block: Option<(bool, Vec<(usize, &str)>)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let fence = line.trim_start().strip_prefix("```");
        match (&mut block, fence) {
            (None, Some(info)) => {
                let lang = info.split([',', ' ']).next().unwrap_or("");
                block = Some((lang == "console", Vec::new()));
            }
            (Some((is_console, lines)), Some(_)) => {
                if *is_console {
                    let uses_captures = lines.iter().any(|(_, l)| l.contains("../shared/captures"));
                    for ex in parse_block(file, lines)? {
                        out.push((ex, uses_captures));
                    }
                }
                block = None;
            }
            (Some((_, lines)), None) => lines.push((n, line)),
            (None, None) => {}
        }
    }
    if block.is_some() {
        return Err(format!("{}: unclosed code block", file.display()));
    }
    Ok(out)
}

fn parse_block(file: &Path, lines: &[(usize, &str)]) -> Result<Vec<Example>, String> {
    let mut out: Vec<Example> = Vec::new();
    for &(n, line) in lines {
        if let Some(cmd) = line.strip_prefix("$ ") {
            let words = split_words(cmd).map_err(|e| format!("{}:{n}: {e}", file.display()))?;
            if words.first().map(String::as_str) != Some("buddysim") {
                return Err(format!(
                    "{}:{n}: a console block runs only `buddysim` commands; put `{cmd}` in a text block",
                    file.display()
                ));
            }
            out.push(Example {
                file: file.to_path_buf(),
                line: n,
                args: words[1..].to_vec(),
                expected: Vec::new(),
                exit: 0,
            });
        } else {
            let Some(ex) = out.last_mut() else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(format!(
                    "{}:{n}: output before the first `$ buddysim` line",
                    file.display()
                ));
            };
            let t = line.trim();
            if let Some(code) = t
                .strip_prefix("[exit status: ")
                .and_then(|r| r.strip_suffix(']'))
            {
                ex.exit = code
                    .parse()
                    .map_err(|_| format!("{}:{n}: bad exit status `{t}`", file.display()))?;
            } else if !t.is_empty() && t != "..." {
                ex.expected.push(t.to_string());
            }
        }
    }
    Ok(out)
}

/// Runs one example; the mismatch, if any.
fn check(root: &Path, ex: &Example) -> Result<(), String> {
    let where_ = format!("{}:{}", ex.file.display(), ex.line);
    let out = Command::new(env!("CARGO_BIN_EXE_buddysim"))
        .args(&ex.args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("{where_}: cannot run buddysim: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    if code != ex.exit {
        return Err(format!(
            "{where_}: `buddysim {}` exited {code}, expected {}:\n{text}",
            ex.args.join(" "),
            ex.exit
        ));
    }
    let mut actual = text.lines();
    for want in &ex.expected {
        if !actual.any(|l| l.contains(want.as_str())) {
            return Err(format!(
                "{where_}: `buddysim {}`: expected line not found (in order): `{want}`\n--- actual output ---\n{text}",
                ex.args.join(" ")
            ));
        }
    }
    Ok(())
}

#[test]
fn split_words_handles_quotes_and_refuses_shell_syntax() {
    assert_eq!(
        split_words(r#"buddysim gfp 'GFP_KERNEL|__GFP_COMP' --kernel "3.10""#).unwrap(),
        [
            "buddysim",
            "gfp",
            "GFP_KERNEL|__GFP_COMP",
            "--kernel",
            "3.10"
        ]
    );
    assert!(split_words("buddysim analyze | head").is_err());
    assert!(split_words("buddysim 'open").is_err());
}

#[test]
fn parse_block_reads_commands_excerpts_and_exit_status() {
    let text = "intro\n```console\n$ buddysim gfp 0xd0 --kernel 3.10\nGFP_KERNEL\n...\n\n$ buddysim validate nope.yaml\nerror\n[exit status: 2]\n```\n```text\n$ cat /proc/buddyinfo\n```\n";
    let ex = examples_in(Path::new("t.md"), text).unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].0.line, 3);
    assert_eq!(ex[0].0.args, ["gfp", "0xd0", "--kernel", "3.10"]);
    assert_eq!(ex[0].0.expected, ["GFP_KERNEL"]);
    assert_eq!((ex[1].0.exit, ex[1].0.expected.len()), (2, 1));
    let bad = "```console\n$ cat /proc/buddyinfo\n```\n";
    assert!(examples_in(Path::new("t.md"), bad).is_err());
}

#[test]
fn every_console_example_in_the_book_prints_what_the_book_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    markdown_files(&root.join("book/src"), &mut files);
    let have_captures = common::captures_dir().is_some();
    let (mut ran, mut skipped, mut failures) = (0, 0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("book chapter");
        let rel = file.strip_prefix(root).unwrap_or(file);
        let examples = examples_in(rel, &text).unwrap_or_else(|e| panic!("{e}"));
        for (ex, uses_captures) in examples {
            if (uses_captures || reads_captures(root, &ex)) && !have_captures {
                println!(
                    "skipped {}:{}: ../shared/captures is missing",
                    rel.display(),
                    ex.line
                );
                skipped += 1;
                continue;
            }
            ran += 1;
            if let Err(e) = check(root, &ex) {
                failures.push(e);
            }
        }
    }
    println!("book examples: {ran} ran, {skipped} skipped");
    assert!(
        ran + skipped >= 20,
        "only {} console examples found in book/src",
        ran + skipped
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
