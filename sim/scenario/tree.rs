//! The YAML document as a plain tree with source locations: where each key and value was written.
//!
//! The typed scenario is deserialized by serde-saphyr, whose errors already carry line and
//! column. Semantic checks run on the typed values afterwards and report a [`Path`]
//! (`machine.zones[1].managed`); this tree, read from the same text with `serde_saphyr::Spanned`
//! on every node, turns that path back into the line and column of the offending value. It also
//! keeps each scalar's source text, so an override (`--set kernel=3.10`) can be spliced into the
//! document and the result re-read with exactly the typing rules of a file (`3.10` stays the
//! string `3.10`, not the float 3.1).

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Where a value sits in the document, such as `workload.pods.arrivals` or `machine.zones[1]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Seg>);

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        Path(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Path(segs)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A line and column (1-based, in characters), as serde-saphyr reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// A YAML node with where it was written.
#[derive(Clone, Debug)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// `raw` is the scalar as written (quotes included); `string` its value when YAML reads it
    /// as a string.
    Scalar {
        raw: String,
        string: Option<String>,
    },
    Seq(Vec<Node>),
    /// Entries in document order, each with the position of its key.
    Map(Vec<(String, Pos, Node)>),
}

/// The tree as deserialized, before the raw text of scalars is attached.
enum RawKind {
    Scalar(Option<String>),
    Seq(Vec<Spanned<RawKind>>),
    Map(Vec<(Spanned<String>, Spanned<RawKind>)>),
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<RawKind, E> {
                Ok(RawKind::Scalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKind, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawKind::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKind, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(RawKind::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

fn pos(loc: &serde_saphyr::Location) -> Pos {
    Pos {
        line: loc.line(),
        column: loc.column(),
    }
}

fn build(text: &str, raw: Spanned<RawKind>) -> Node {
    let span = raw.referenced.span();
    let kind = match raw.value {
        RawKind::Scalar(string) => {
            let source = match (span.byte_offset(), span.byte_len()) {
                (Some(start), Some(len)) => text
                    .get(start as usize..(start + len) as usize)
                    .unwrap_or(""),
                _ => "",
            };
            Kind::Scalar {
                raw: source.to_string(),
                string,
            }
        }
        RawKind::Seq(items) => Kind::Seq(items.into_iter().map(|i| build(text, i)).collect()),
        RawKind::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.value, pos(&k.referenced), build(text, v)))
                .collect(),
        ),
    };
    Node {
        pos: pos(&raw.referenced),
        kind,
    }
}

/// How scenario YAML is read, as a tree and as a typed scenario: `.nan` and `.inf` where any
/// value may go are read as text, so the type there says what it expected instead of the reader
/// rejecting them without a key path (a number field still gets a non-finite float, which its
/// check rejects).
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { reject_non_finite_typeless_float: false }
}

impl Node {
    /// Reads YAML text into a tree; errors are YAML syntax errors with their location.
    pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
        let raw: Spanned<RawKind> = serde_saphyr::from_str_with_options(text, yaml_options())?;
        Ok(build(text, raw))
    }

    fn child(&self, seg: &Seg) -> Option<&Node> {
        match (&self.kind, seg) {
            (Kind::Map(entries), Seg::Key(key)) => {
                entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v)
            }
            (Kind::Seq(items), Seg::Index(i)) => items.get(*i),
            _ => None,
        }
    }

    /// The node at `path`, if the document wrote it.
    pub fn get(&self, path: &Path) -> Option<&Node> {
        path.0.iter().try_fold(self, |node, seg| node.child(seg))
    }

    /// Where the value at `path` was written; for a value the document left out (a default),
    /// where its nearest written ancestor was.
    pub fn locate(&self, path: &Path) -> Pos {
        let mut node = self;
        for seg in &path.0 {
            match node.child(seg) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.pos
    }

    /// The path of the key or value written at `at`, if any; the deepest one when a collection
    /// starts where its first key or item does.
    pub fn path_at(&self, at: Pos) -> Option<Path> {
        fn walk(node: &Node, at: Pos, path: &Path) -> Option<Path> {
            let inner = match &node.kind {
                Kind::Scalar { .. } => None,
                Kind::Seq(items) => items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| walk(item, at, &path.index(i))),
                Kind::Map(entries) => entries.iter().find_map(|(k, key_pos, v)| {
                    let here = path.key(k);
                    if *key_pos == at {
                        Some(here)
                    } else {
                        walk(v, at, &here)
                    }
                }),
            };
            inner.or_else(|| (node.pos == at).then(|| path.clone()))
        }
        walk(self, at, &Path::root())
    }

    /// The source text of a scalar node.
    pub fn raw(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// Replaces the value at `path` by `value`, creating mappings on the way. Fails with the
    /// path prefix that is not a mapping (or an index past the end of a sequence).
    pub fn set(&mut self, path: &[Seg], value: Node) -> Result<(), String> {
        let Some((first, rest)) = path.split_first() else {
            *self = value;
            return Ok(());
        };
        let pos = self.pos;
        if matches!(self.kind, Kind::Scalar { ref raw, .. } if raw.is_empty() || raw == "null" || raw == "~")
        {
            self.kind = Kind::Map(Vec::new());
        }
        let child = match (&mut self.kind, first) {
            (Kind::Map(entries), Seg::Key(key)) => {
                match entries.iter().position(|(k, _, _)| k == key) {
                    Some(i) => &mut entries[i].2,
                    None => {
                        entries.push((key.clone(), pos, Node::empty(pos)));
                        &mut entries.last_mut().expect("just pushed").2
                    }
                }
            }
            (Kind::Seq(items), Seg::Index(i)) => {
                let len = items.len();
                items.get_mut(*i).ok_or_else(|| {
                    format!("index {i} is past the end (the list has {len} items)")
                })?
            }
            (Kind::Seq(_), Seg::Key(key)) => {
                return Err(format!("`{key}` is a key, but this value is a list"))
            }
            (_, Seg::Index(i)) => {
                return Err(format!("[{i}] is an index, but this value is not a list"))
            }
            (Kind::Scalar { raw, .. }, Seg::Key(key)) => {
                return Err(format!(
                    "`{key}` is a key, but this value is `{raw}`, not a mapping"
                ))
            }
        };
        child.set(rest, value)
    }

    fn empty(pos: Pos) -> Node {
        Node {
            pos,
            kind: Kind::Scalar {
                raw: String::new(),
                string: None,
            },
        }
    }

    /// The tree as one line of flow-style YAML that reads back to the same values.
    pub fn to_flow(&self) -> String {
        let mut out = String::new();
        self.write_flow(&mut out);
        out
    }

    fn write_flow(&self, out: &mut String) {
        match &self.kind {
            Kind::Scalar { raw, string } => {
                let plain_safe = !raw.is_empty()
                    && !raw.starts_with(['"', '\'', '|', '>'])
                    && !raw.contains([',', '[', ']', '{', '}', '#', '\n'])
                    && !raw.contains(": ");
                match string {
                    Some(s) if !plain_safe => out.push_str(&json_quote(s)),
                    _ if raw.is_empty() => out.push_str("null"),
                    _ => out.push_str(raw),
                }
            }
            Kind::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_flow(out);
                }
                out.push(']');
            }
            Kind::Map(entries) => {
                out.push('{');
                for (i, (k, _, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&json_quote(k));
                    out.push_str(": ");
                    v.write_flow(out);
                }
                out.push('}');
            }
        }
    }
}

/// A double-quoted YAML scalar (JSON's escapes are valid YAML escapes).
fn json_quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "kernel: 3.10\nmachine:\n  memory: 16GiB\n  zones:\n    - {zone: DMA, managed: 3977}\n    - zone: DMA32\n      managed: 721118\ntext: 'a, b'\n";

    #[test]
    fn locates_values_and_keys() {
        let tree = Node::parse(DOC).unwrap();
        let zones = Path::root().key("machine").key("zones");
        let managed = zones.index(1).key("managed");
        assert_eq!(
            tree.locate(&managed),
            Pos {
                line: 7,
                column: 16
            }
        );
        assert_eq!(tree.get(&managed).and_then(Node::raw), Some("721118"));
        // A default the document left out points at its nearest written ancestor.
        assert_eq!(
            tree.locate(&zones.index(0).key("present")),
            Pos { line: 5, column: 7 }
        );
        assert_eq!(
            tree.path_at(Pos { line: 7, column: 7 }),
            Some(zones.index(1).key("managed"))
        );
        assert_eq!(managed.to_string(), "machine.zones[1].managed");
    }

    #[test]
    fn flow_output_keeps_scalar_text_and_types() {
        let mut tree = Node::parse(DOC).unwrap();
        let value = Node::parse("5.10").unwrap();
        tree.set(&[Seg::Key("kernel".into())], value).unwrap();
        let flow = tree.to_flow();
        assert!(
            flow.starts_with(r#"{"kernel": 5.10, "machine": {"memory": 16GiB"#),
            "{flow}"
        );
        assert!(flow.ends_with(r#""text": "a, b"}"#), "{flow}");
        let again = Node::parse(&flow).unwrap();
        assert_eq!(again.to_flow(), flow);
    }
}
