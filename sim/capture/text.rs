//! Small lexing helpers shared by the parsers: a cursor over one line, strict number parsing and
//! the `Node %d, zone %8s` prefix that buddyinfo, pagetypeinfo, zoneinfo and the debugfs index
//! files all print (mm/vmstat.c). Every failure becomes a [`CaptureError`] naming the file, the
//! line and what was expected.

use super::CaptureError;
use crate::mmzone_types::{MigrateType, ZoneType};

/// The most orders a parser accepts in one zone. Real kernels have 11 (x86-64) to ~14 (arm64
/// with 64 KiB pages); the cap keeps `count << order` arithmetic exact in `u128`.
pub const MAX_ORDERS: usize = 32;

/// Where a parser is: the file name and the 1-based line number.
#[derive(Clone, Copy, Debug)]
pub struct Loc<'a> {
    pub file: &'a str,
    pub line: usize,
}

impl<'a> Loc<'a> {
    pub fn new(file: &'a str, line: usize) -> Self {
        Loc { file, line }
    }

    pub fn err(&self, message: impl Into<String>) -> CaptureError {
        CaptureError {
            file: self.file.to_string(),
            line: self.line,
            message: message.into(),
        }
    }

    /// `expected {what}, found {found}`.
    pub fn expected(&self, what: &str, found: &str) -> CaptureError {
        self.err(format!("expected {what}, found {}", shown(found)))
    }

    pub fn warning(&self, message: impl Into<String>) -> super::Warning {
        super::Warning {
            file: self.file.to_string(),
            line: self.line,
            message: message.into(),
        }
    }
}

/// How a token is quoted in messages: `end of line` for nothing, else the token in backticks,
/// shortened so a garbage line does not flood the message, and with control characters (an
/// escape sequence, a bell, binary) written as `\x1b`-style escapes so none reaches the terminal.
pub fn shown(found: &str) -> String {
    if found.is_empty() {
        return "end of line".to_string();
    }
    let mut s = String::new();
    for c in found.chars().take(40) {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    if found.chars().nth(40).is_some() {
        s.push('…');
    }
    format!("`{s}`")
}

/// Why a token is not a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadNumber {
    /// Empty, or a byte other than a decimal digit (a sign, a point, a letter).
    NotDigits,
    /// All digits, but above `u64::MAX`.
    TooLarge,
}

/// Reads an unsigned decimal count from its digits.
pub fn digits_u64(tok: &str) -> Result<u64, BadNumber> {
    if tok.is_empty() {
        return Err(BadNumber::NotDigits);
    }
    let mut n: u64 = 0;
    if tok.len() <= 19 {
        // At most 19 digits: below 10^19 < 2^64, no overflow check needed.
        for b in tok.bytes() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(BadNumber::NotDigits);
            }
            n = n * 10 + u64::from(d);
        }
        return Ok(n);
    }
    let mut too_large = false;
    for b in tok.bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(BadNumber::NotDigits);
        }
        match n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d))) {
            Some(v) => n = v,
            None => too_large = true,
        }
    }
    if too_large {
        return Err(BadNumber::TooLarge);
    }
    Ok(n)
}

/// The error for a token [`digits_u64`] rejected, naming what was expected.
pub fn bad_number(loc: &Loc, tok: &str, what: &str, why: BadNumber) -> CaptureError {
    match why {
        BadNumber::NotDigits => loc.expected(&format!("{what} (an unsigned integer)"), tok),
        BadNumber::TooLarge => loc.err(format!("{what} `{tok}` does not fit in 64 bits")),
    }
}

/// Parses an unsigned decimal count, rejecting signs, fractions and values above `u64::MAX`.
pub fn parse_u64(loc: &Loc, tok: &str, what: &str) -> Result<u64, CaptureError> {
    digits_u64(tok).map_err(|why| bad_number(loc, tok, what, why))
}

/// `char::is_whitespace` for an ASCII byte (space, `\t`, `\n`, vertical tab, form feed, `\r`).
fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

/// `s.trim_start()`, with a byte loop over the ASCII prefix (the common case).
pub fn trim_start(s: &str) -> &str {
    let skip = s.bytes().take_while(|&b| ascii_space(b)).count();
    let r = &s[skip..];
    if r.as_bytes().first().is_some_and(|&b| b >= 0x80) {
        r.trim_start()
    } else {
        r
    }
}

/// `s.trim()`, with byte loops over ASCII whitespace at both ends.
pub fn trim(s: &str) -> &str {
    let s = trim_start(s);
    let keep = s.len() - s.bytes().rev().take_while(|&b| ascii_space(b)).count();
    let r = &s[..keep];
    if r.as_bytes().last().is_some_and(|&b| b >= 0x80) {
        r.trim_end()
    } else {
        r
    }
}

/// The length of the word at the start of `s`: up to whitespace or a comma.
fn word_len(s: &str) -> usize {
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b >= 0x80 {
            // Unicode whitespace is rare: let `char` decide from here on.
            return i + s[i..]
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(s.len() - i);
        }
        if ascii_space(b) || b == b',' {
            return i;
        }
    }
    s.len()
}

/// Parses `1234kB` (or `KB`, which 5.x+ prints for the highatomic items) and returns kB.
pub fn parse_kb(loc: &Loc, tok: &str, what: &str) -> Result<u64, CaptureError> {
    let digits = tok
        .strip_suffix("kB")
        .or_else(|| tok.strip_suffix("KB"))
        .ok_or_else(|| loc.expected(&format!("{what} in kB (`<n>kB`)"), tok))?;
    parse_u64(loc, digits, what)
}

/// Converts kB to 4 KiB pages; a value that is not a multiple of 4 is an error because the
/// kernel's `K()` macro only ever prints whole pages.
pub fn kb_to_pages(loc: &Loc, kb: u64, what: &str) -> Result<u64, CaptureError> {
    if !kb.is_multiple_of(4) {
        return Err(loc.err(format!(
            "{what} {kb}kB is not a whole number of 4 kB pages (expected a multiple of 4)"
        )));
    }
    Ok(kb / 4)
}

pub fn parse_zone(loc: &Loc, tok: &str) -> Result<ZoneType, CaptureError> {
    if tok.is_empty() {
        return Err(loc.expected("a zone name", tok));
    }
    tok.parse::<ZoneType>().map_err(|e| loc.err(e))
}

pub fn parse_migrate_type(loc: &Loc, tok: &str) -> Result<MigrateType, CaptureError> {
    if tok.is_empty() {
        return Err(loc.expected("a migrate type", tok));
    }
    tok.parse::<MigrateType>().map_err(|e| loc.err(e))
}

/// A cursor over one line: whitespace is skipped freely, words and numbers are taken strictly.
pub struct Cursor<'s> {
    rest: &'s str,
}

impl<'s> Cursor<'s> {
    pub fn new(line: &'s str) -> Self {
        Cursor { rest: line }
    }

    pub fn rest(&self) -> &'s str {
        self.rest.trim()
    }

    pub fn at_end(&self) -> bool {
        trim_start(self.rest).is_empty()
    }

    fn skip_ws(&mut self) {
        self.rest = trim_start(self.rest);
    }

    /// The next token without consuming it (up to whitespace or a comma).
    pub fn peek_word(&self) -> &'s str {
        let r = trim_start(self.rest);
        &r[..word_len(r)]
    }

    /// Takes the next word (up to whitespace or a comma).
    pub fn word(&mut self) -> &'s str {
        self.skip_ws();
        let (w, r) = self.rest.split_at(word_len(self.rest));
        self.rest = r;
        w
    }

    /// Consumes `lit` (after optional whitespace) or fails naming it.
    pub fn expect(&mut self, loc: &Loc, lit: &str) -> Result<(), CaptureError> {
        self.skip_ws();
        match self.rest.strip_prefix(lit) {
            Some(r) => {
                self.rest = r;
                Ok(())
            }
            None => Err(loc.expected(&format!("`{lit}`"), self.peek_word_or_char())),
        }
    }

    /// Consumes `lit` if it comes next.
    pub fn eat(&mut self, lit: &str) -> bool {
        let r = trim_start(self.rest);
        match r.strip_prefix(lit) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn peek_word_or_char(&self) -> &'s str {
        let w = self.peek_word();
        if w.is_empty() {
            let r = trim_start(self.rest);
            let end = r.chars().next().map_or(0, char::len_utf8);
            &r[..end]
        } else {
            w
        }
    }

    pub fn u64(&mut self, loc: &Loc, what: &str) -> Result<u64, CaptureError> {
        let w = self.word();
        parse_u64(loc, w, what)
    }

    /// Reads `Node %d, zone %8s` (the prefix of buddyinfo, pagetypeinfo, zoneinfo and the
    /// debugfs index lines).
    pub fn node_zone(&mut self, loc: &Loc) -> Result<(u32, ZoneType), CaptureError> {
        if let Some(nz) = self.plain_node_zone() {
            return Ok(nz);
        }
        self.expect(loc, "Node")?;
        let n = self.word();
        let node = parse_u64(loc, n, "a node number")?;
        let node =
            u32::try_from(node).map_err(|_| loc.err(format!("node number {node} is too large")))?;
        self.expect(loc, ",")?;
        self.expect(loc, "zone")?;
        let z = self.word();
        if z.is_empty() {
            return Err(loc.expected("a zone name after `zone`", self.rest()));
        }
        Ok((node, parse_zone(loc, z)?))
    }

    /// [`Cursor::node_zone`] for the kernel's own spacing (`Node 0, zone   Normal`, the name
    /// spelled as the kernel does and followed by whitespace or the end), read without
    /// searching. `None` (the cursor untouched) for anything else, which the general path then
    /// reads or rejects with its message.
    fn plain_node_zone(&mut self) -> Option<(u32, ZoneType)> {
        let r = self.rest.strip_prefix("Node ")?;
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let node = u32::try_from(digits_u64(&r[..digits]).ok()?).ok()?;
        let r = r[digits..].strip_prefix(", zone ")?;
        let r = &r[r.bytes().take_while(|&b| b == b' ').count()..];
        let len = r.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let zone = ZoneType::ALL.into_iter().find(|z| z.name() == &r[..len])?;
        if r.as_bytes().get(len).is_some_and(|&b| !ascii_space(b)) {
            return None;
        }
        self.rest = &r[len..];
        Some((node, zone))
    }

    /// Reads whitespace-separated unsigned counts to the end of the line.
    pub fn counts(&mut self, loc: &Loc, what: &str) -> Result<Vec<u64>, CaptureError> {
        if let Some(v) = self.plain_counts() {
            return Ok(v);
        }
        let mut v = Vec::new();
        loop {
            let w = self.word();
            if w.is_empty() {
                if !self.at_end() {
                    return Err(loc.expected(what, self.rest.trim()));
                }
                break;
            }
            if v.len() == MAX_ORDERS {
                return Err(loc.err(format!("expected at most {MAX_ORDERS} {what}, found more")));
            }
            v.push(parse_u64(loc, w, what)?);
        }
        Ok(v)
    }

    /// [`Cursor::counts`] for the common line: ASCII spaces and at most [`MAX_ORDERS`] digit
    /// runs that fit in 64 bits, read in one pass over the bytes. `None` (the cursor untouched)
    /// for anything else, which the general path then reads or rejects with its message.
    fn plain_counts(&mut self) -> Option<Vec<u64>> {
        let b = self.rest.as_bytes();
        let mut v = Vec::with_capacity(16);
        let mut i = 0;
        loop {
            // The kernel pads with runs of spaces: skip a run (8 bytes at a time while they are
            // all ' ', then byte by byte for the rest and other whitespace), then read digits.
            while let Some(w) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
                let x = u64::from_le_bytes(w) ^ u64::from_le_bytes([b' '; 8]);
                i += (x.trailing_zeros() / 8) as usize;
                if x != 0 {
                    break;
                }
            }
            while b.get(i).is_some_and(|&c| ascii_space(c)) {
                i += 1;
            }
            if i == b.len() {
                break;
            }
            let (start, mut n) = (i, 0u64);
            while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
                n = n.wrapping_mul(10).wrapping_add(u64::from(d));
                i += 1;
            }
            // No digit (another byte), 20+ digits (may not fit in 64 bits) or too many tokens.
            if i == start || i - start > 19 || v.len() == MAX_ORDERS {
                return None;
            }
            v.push(n);
        }
        self.rest = &self.rest[self.rest.len()..];
        Some(v)
    }
}

/// True if the line starts with `Node <digits>` (the start of every per-zone line).
pub fn starts_with_node(line: &str) -> bool {
    let Some(r) = line.trim_start().strip_prefix("Node") else {
        return false;
    };
    let r = r.trim_start();
    r.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {

    #[test]
    fn shown_escapes_control_characters_and_shortens() {
        assert_eq!(shown("\u{1b}[31mRED\u{7}"), "`\\u{1b}[31mRED\\u{7}`");
        assert_eq!(shown(""), "end of line");
        let long = "x".repeat(41);
        assert_eq!(shown(&long), format!("`{}…`", "x".repeat(40)));
        assert_eq!(shown(&"x".repeat(40)), format!("`{}`", "x".repeat(40)));
    }

    use super::*;

    #[test]
    fn numbers_are_strict() {
        let loc = Loc::new("f", 3);
        assert_eq!(parse_u64(&loc, "42", "n").unwrap(), 42);
        let e = parse_u64(&loc, "-1", "a count").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:3: expected a count (an unsigned integer), found `-1`"
        );
        let e = parse_u64(&loc, "18446744073709551616", "a count").unwrap_err();
        assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
        assert_eq!(parse_kb(&loc, "15908kB", "free").unwrap(), 15908);
        assert_eq!(parse_kb(&loc, "0KB", "free").unwrap(), 0);
        assert!(parse_kb(&loc, "15908", "free").is_err());
        assert_eq!(kb_to_pages(&loc, 15908, "free").unwrap(), 3977);
        assert!(kb_to_pages(&loc, 15907, "free").is_err());
    }

    #[test]
    fn byte_level_trimming_and_words_agree_with_unicode_whitespace() {
        for s in [
            "",
            "  \t a b,c \r\n",
            "\u{a0}\u{2003}x\u{a0}y\u{3000}",
            "\u{b}\u{c}Node\u{85}7 é,",
            "ü  ",
            "  ü",
        ] {
            assert_eq!(trim_start(s), s.trim_start(), "{s:?}");
            assert_eq!(trim(s), s.trim(), "{s:?}");
            let mut c = Cursor::new(s);
            let mut words = Vec::new();
            while !c.at_end() && words.len() < 8 {
                words.push(c.word());
                c.eat(",");
            }
            let expected: Vec<&str> = s
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(words, expected, "{s:?}");
        }
    }

    #[test]
    fn counts_fast_and_general_paths_agree() {
        let loc = Loc::new("f", 2);
        let counts = |s: &str| Cursor::new(s).counts(&loc, "counts");
        assert_eq!(counts(" 1  22\t333 \r"), Ok(vec![1, 22, 333]));
        // Space runs longer than 8 bytes, and other whitespace inside and after them.
        assert_eq!(
            counts("          \t   5            6\t        "),
            Ok(vec![5, 6])
        );
        assert_eq!(counts("           "), Ok(vec![]));
        assert_eq!(counts(""), Ok(vec![]));
        assert_eq!(counts("00000000000000000000007 1"), Ok(vec![7, 1]));
        assert_eq!(counts("1\u{a0}2"), Ok(vec![1, 2]));
        assert_eq!(counts("1\u{b}2"), Ok(vec![1, 2]));
        assert_eq!(
            counts("1 18446744073709551616").unwrap_err().to_string(),
            "f:2: counts `18446744073709551616` does not fit in 64 bits"
        );
        assert_eq!(
            counts("1 2x").unwrap_err().to_string(),
            "f:2: expected counts (an unsigned integer), found `2x`"
        );
        assert_eq!(
            counts("1,2").unwrap_err().to_string(),
            "f:2: expected counts, found `,2`"
        );
        let many = vec!["1"; MAX_ORDERS + 1].join(" ");
        assert!(counts(&many)
            .unwrap_err()
            .to_string()
            .contains("at most 32"));
        assert_eq!(counts(&many[2..]).map(|v| v.len()), Ok(MAX_ORDERS));
    }

    #[test]
    fn node_zone_prefix_is_lenient_about_spacing() {
        let loc = Loc::new("f", 1);
        let mut c = Cursor::new("Node 0,zone     DMA32   1 2");
        assert_eq!(c.node_zone(&loc).unwrap(), (0, ZoneType::Dma32));
        assert_eq!(c.counts(&loc, "counts").unwrap(), vec![1, 2]);
        let mut c = Cursor::new("Node 0, zone");
        let e = c.node_zone(&loc).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:1: expected a zone name after `zone`, found end of line"
        );
        let mut c = Cursor::new("Node 0, zone Weird 1");
        assert!(c
            .node_zone(&loc)
            .unwrap_err()
            .to_string()
            .contains("unknown zone `Weird`"));
    }
}
