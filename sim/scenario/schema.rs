//! A JSON Schema of scenario files for editors (YAML language servers read JSON Schema), derived
//! from the same types the parser fills so the two cannot drift. Units appear as strings with
//! the patterns their parsers accept, titled with what they are.
//!
//! Error messages read the same schema: what a key path allows, in words ("a whole number from 0
//! to 255", "always, madvise or never", "fresh, {fill: …} or {capture: …}"), and which keys name
//! the alternatives of a choice that take a value.

use super::error::Invalid;
use super::initial::{CaptureInit, CaptureMap};
use super::sweep::Grid;
use super::tree::{Kind, Node, Path, Seg};
use super::units::{Duration, Pages, Rate, Size, DURATION_NOUN, PAGES_NOUN, RATE_NOUN, SIZE_NOUN};
use super::Scenario;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::OnceLock;

const NUMBER: &str = r"(\d+(\.\d*)?|\.\d+)";
const DURATION_UNIT: &str = "(d|h|m|s|ms|us|ns)";

fn size_pattern() -> String {
    format!(r"^\s*{NUMBER}\s*([KkMmGgTtPpEe]([Ii]?[Bb])?|[Bb])?\s*$")
}

fn duration_pattern() -> String {
    format!(r"^\s*({NUMBER}{DURATION_UNIT})+\s*$")
}

fn rate_pattern() -> String {
    format!(r"^\s*{NUMBER}\s*/\s*({DURATION_UNIT}|({NUMBER}{DURATION_UNIT})+)\s*$")
}

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": SIZE_NOUN,
            "description": "Bytes: a number with a binary unit (16GiB, 512MiB, 4k) or plain bytes",
            "oneOf": [
                {"type": "string", "pattern": size_pattern()},
                {"type": "integer", "minimum": 0}
            ]
        })
    }
}

impl JsonSchema for Pages {
    fn schema_name() -> Cow<'static, str> {
        "Pages".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": PAGES_NOUN,
            "description": "4 KiB pages: a plain number of pages, or a size (15992kB)",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": size_pattern()}
            ]
        })
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": DURATION_NOUN,
            "description": "Simulated time, largest units first: 7d, 90m, 1h30m, 45s, 250ms",
            "type": "string",
            "pattern": duration_pattern()
        })
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": RATE_NOUN,
            "description": "Events per period: 120/h, 2/m, 0.5/s, 3/10m",
            "type": "string",
            "pattern": rate_pattern()
        })
    }
}

impl JsonSchema for CaptureInit {
    fn schema_name() -> Cow<'static, str> {
        "CaptureInit".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Capture files relative to the scenario, or {files, split}",
            "oneOf": [g.subschema_for::<Vec<PathBuf>>(), g.subschema_for::<CaptureMap>()]
        })
    }
}

impl JsonSchema for Grid {
    fn schema_name() -> Cow<'static, str> {
        "Grid".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A setting as --set takes it (vm.extfrag_threshold) → its values",
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "title": "one value such as `250`, `60/h` or `5.15`",
                    "type": ["string", "number", "boolean"]
                }
            }
        })
    }
}

/// The JSON Schema of scenario files, pretty-printed.
pub fn json_schema() -> String {
    serde_json::to_string_pretty(schema()).expect("a schema is plain JSON")
}

/// The schema as JSON, built once.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(Scenario)).expect("a schema is plain JSON")
    })
}

/// `node` with its `$ref` followed, and an optional value (`anyOf: [X, null]`) taken as X.
fn resolve(node: &'static Value) -> &'static Value {
    if let Some(name) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        if let Some(def) = schema()["$defs"].get(name) {
            return resolve(def);
        }
    }
    match alternatives(node).as_slice() {
        [one, null] | [null, one] if null.get("type").and_then(Value::as_str) == Some("null") => {
            resolve(one)
        }
        _ => node,
    }
}

/// The alternatives of a choice (`oneOf` or `anyOf`); empty for any other schema.
fn alternatives(node: &'static Value) -> Vec<&'static Value> {
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| node.get(*k).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// The schema of one step down from `node`: a key's value or a list's item.
fn child(node: &'static Value, seg: &Seg) -> Option<&'static Value> {
    let node = resolve(node);
    let direct = match seg {
        Seg::Key(k) => node
            .get("properties")
            .and_then(|p| p.get(k))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
        Seg::Index(_) => node.get("items"),
    };
    direct.or_else(|| {
        alternatives(node)
            .into_iter()
            .find_map(|alt| child(alt, seg))
    })
}

/// The schema of the value at `path`; `None` for a path scenario files do not have.
fn at(path: &Path) -> Option<&'static Value> {
    path.0
        .iter()
        .try_fold(schema(), |node, seg| child(node, seg))
        .map(resolve)
}

/// The words an alternative of a choice is written as (`always`; a `const` or an `enum`).
fn words(node: &Value) -> Option<Vec<&str>> {
    if let Some(word) = node.get("const").and_then(Value::as_str) {
        return Some(vec![word]);
    }
    node.get("enum")?
        .as_array()?
        .iter()
        .map(Value::as_str)
        .collect()
}

/// The key of an alternative written `{key: value}`: a mapping of exactly that one key.
fn variant_key(node: &Value) -> Option<&str> {
    let properties = node.get("properties")?.as_object()?;
    let (key, _) = properties.iter().next()?;
    let only = properties.len() == 1
        && node.get("additionalProperties") == Some(&Value::Bool(false))
        && node.get("required").and_then(Value::as_array) == Some(&vec![Value::from(key.as_str())]);
    only.then_some(key.as_str())
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A whole number up to the largest value of its JSON Schema `format` (`uint32`).
fn whole_number(format: &str) -> String {
    let max = match format {
        "uint8" => u8::MAX as u64,
        "uint16" => u16::MAX as u64,
        "uint32" => u32::MAX as u64,
        _ => u64::MAX,
    };
    format!("a whole number from 0 to {max}")
}

/// What `node` allows, in words: its title (the root's is the type name, not words), or what
/// its type and alternatives say.
fn describe(node: &'static Value) -> String {
    let node = resolve(node);
    if let Some(title) = node.get("title").and_then(Value::as_str) {
        if !std::ptr::eq(node, schema()) {
            return title.to_string();
        }
    }
    let alts = alternatives(node);
    let forms: Vec<String> = if !alts.is_empty() {
        alts.into_iter()
            .flat_map(|alt| {
                let alt = resolve(alt);
                match (words(alt), variant_key(alt)) {
                    (Some(words), _) => words.into_iter().map(String::from).collect(),
                    (None, Some(key)) => vec![format!("{{{key}: …}}")],
                    (None, None) => vec![describe(alt)],
                }
            })
            .filter(|form| !form.is_empty())
            .collect()
    } else if let Some(words) = words(node) {
        words.into_iter().map(String::from).collect()
    } else {
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(t)) => vec![t],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        types
            .into_iter()
            .filter(|t| *t != "null")
            .map(|t| match t {
                "integer" => whole_number(node.get("format").and_then(Value::as_str).unwrap_or("")),
                "number" => "a number".into(),
                "boolean" => "true or false".into(),
                "array" => "a list".into(),
                "object" => "a mapping of `key: value` entries".into(),
                _ => "text".into(),
            })
            .collect()
    };
    or_list(&forms)
}

/// What scenario files allow at `path`, in words; `None` for a path they do not have.
pub fn allowed_at(path: &Path) -> Option<String> {
    at(path).map(describe)
}

/// The keys of the alternatives written `{key: value}` of the choice at `path` (`fill` and
/// `capture` for `initial`); empty when the value there is not such a choice.
pub fn choice_keys(path: &Path) -> Vec<&'static str> {
    at(path)
        .map(|node| {
            alternatives(node)
                .into_iter()
                .filter_map(|alt| variant_key(resolve(alt)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the mapping at `path` must have `key`.
pub fn requires(path: &Path, key: &str) -> bool {
    at(path)
        .and_then(|node| node.get("required"))
        .and_then(Value::as_array)
        .is_some_and(|required| required.iter().any(|r| r == key))
}

/// Checks that no choice is written as the bare key of an alternative that takes a value
/// (`initial: fill`): the YAML reader would take the next key of the document as its value and
/// report a confusing error further down, or none.
pub fn check_choices(tree: &Node) -> Result<(), Invalid> {
    fn walk(node: &Node, path: &Path) -> Result<(), Invalid> {
        match &node.kind {
            Kind::Scalar {
                string: Some(s), ..
            } if choice_keys(path).contains(&s.as_str()) => Err(Invalid::new(
                path,
                format!(
                    "expected {}, found `{s}` with no value",
                    allowed_at(path).unwrap_or_default()
                ),
            )),
            Kind::Scalar { .. } => Ok(()),
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| walk(item, &path.index(i))),
            Kind::Map(entries) => entries
                .iter()
                .try_for_each(|(k, _, v)| walk(v, &path.key(k))),
        }
    }
    walk(tree, &Path::root())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_say_what_they_allow() {
        let p = |s: &str| s.split('.').fold(Path::root(), |p, k| p.key(k));
        assert_eq!(
            allowed_at(&p("seed")).as_deref(),
            Some("a whole number from 0 to 18446744073709551615")
        );
        assert_eq!(
            allowed_at(&p("actions").index(0).key("drop_caches")).as_deref(),
            Some("a whole number from 0 to 255")
        );
        assert_eq!(
            allowed_at(&p("transparent_hugepage")).as_deref(),
            Some("always, madvise or never")
        );
        assert_eq!(allowed_at(&p("machine.memory")).as_deref(), Some(SIZE_NOUN));
        assert_eq!(allowed_at(&p("machine.colour")), None);
        assert_eq!(choice_keys(&p("initial")), ["fill", "capture"]);
        assert_eq!(
            choice_keys(&p("workload.pods.lifetime")),
            ["exponential", "lognormal", "fixed"]
        );
        assert!(choice_keys(&p("transparent_hugepage")).is_empty());
        assert!(requires(&p("machine"), "cpus"));
        assert!(!requires(&p("machine"), "swap"));
    }

    #[test]
    fn unit_patterns_are_strings_with_patterns() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let defs = &schema["$defs"];
        assert_eq!(defs["Duration"]["type"], "string");
        assert_eq!(defs["Duration"]["pattern"], duration_pattern());
        assert_eq!(defs["Rate"]["pattern"], rate_pattern());
        assert_eq!(defs["Size"]["oneOf"][0]["pattern"], size_pattern());
    }
}
