//! A JSON Schema of scenario files for editors (YAML language servers read JSON Schema), derived
//! from the same types the parser fills so the two cannot drift. Units appear as strings with
//! the patterns their parsers accept.

use super::initial::{CaptureInit, CaptureMap};
use super::sweep::Grid;
use super::units::{Duration, Pages, Rate, Size};
use super::Scenario;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;
use std::path::PathBuf;

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
                "items": {"type": ["string", "number", "boolean"]}
            }
        })
    }
}

/// The JSON Schema of scenario files, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&schema).expect("a schema is plain JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

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
