//! The one error type of the scenario layer, and the conversion of serde-saphyr's errors and of
//! semantic check failures into `FILE:LINE:COL: message`.
//!
//! Messages speak the file format, not the Rust behind it: the key path, what was found there
//! (`a list`, `` `abc` ``, `no value`) and what is allowed instead, taken from the scenario schema
//! (`expected a whole number from 0 to 255, found a list`). Serde's and the YAML reader's own
//! words (`sequence`, `struct`, `variant`, type names) never reach the user.

use super::schema;
use super::tree::{Kind, Node, Path, Pos, Seg};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::Error as YamlError;

/// What kind of mistake a located error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not YAML (bad indentation, an unclosed bracket, a tab).
    Syntax,
    /// YAML, but not the shape a scenario has: unknown or missing keys, wrong types, malformed
    /// units.
    Type,
    /// Well-formed but impossible: a zone larger than the machine, an order above the maximum.
    Invalid,
}

/// Everything that can be wrong with a scenario, an override or a sweep shard.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    /// A mistake at a place in a file (the scenario, or a replay CSV).
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: u64,
        column: u64,
        kind: ErrorKind,
        message: String,
    },
    /// A semantic check failed on a scenario that did not come from a file.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// A command-line argument is wrong (`--set KEY=VALUE`, `--shard K/N`).
    #[error("{flag} {value}: {message}")]
    Argument {
        flag: &'static str,
        value: String,
        message: String,
    },
}

/// A failed semantic check: where (as a path into the scenario) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub path: Path,
    pub message: String,
}

impl Invalid {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Invalid {
            path: path.clone(),
            message: message.into(),
        }
    }

    /// The failure at its place in the file `tree` was read from.
    pub fn locate(self, file: &str, tree: &Node) -> ScenarioError {
        self.locate_as(ErrorKind::Invalid, file, tree)
    }

    /// [`Invalid::locate`] for a mistake of another kind.
    pub fn locate_as(self, kind: ErrorKind, file: &str, tree: &Node) -> ScenarioError {
        let Pos { line, column } = tree.locate(&self.path);
        ScenarioError::At {
            file: file.to_string(),
            line,
            column,
            kind,
            message: format!("{}: {}", self.path, self.message),
        }
    }
}

impl From<Invalid> for ScenarioError {
    fn from(e: Invalid) -> Self {
        ScenarioError::Invalid {
            path: e.path.to_string(),
            message: e.message,
        }
    }
}

/// Whether a scalar as written is YAML's null.
fn is_null(raw: &str) -> bool {
    matches!(raw, "" | "~" | "null" | "Null" | "NULL")
}

/// What was written where a message points: `a list`, `a mapping`, `no value`, `` `abc` ``.
fn found(node: &Node) -> String {
    match &node.kind {
        Kind::Seq(_) => "a list".into(),
        Kind::Map(_) => "a mapping".into(),
        Kind::Scalar { raw, .. } => match raw.as_str() {
            "" => "no value".into(),
            _ if is_null(raw) => format!("no value (`{raw}`)"),
            _ if raw.chars().count() > 40 || raw.contains('\n') => {
                let start: String = raw.chars().take_while(|&c| c != '\n').take(40).collect();
                format!("`{start}…`")
            }
            _ => format!("`{raw}`"),
        },
    }
}

/// `path` without its last step when that is the key `key` (an error reported at a key that
/// is about the mapping holding it).
fn without_key(path: Option<Path>, key: &str) -> Option<Path> {
    path.map(|mut p| {
        if matches!(p.0.last(), Some(Seg::Key(k)) if k == key) {
            p.0.pop();
        }
        p
    })
}

/// Budget limits of the YAML reader, in words.
fn budget(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { .. } => format!(
            "lists and mappings nest more than {} levels deep",
            serde_saphyr::Budget::default().max_depth
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. }
        | BudgetBreach::MergeKeys { .. } => {
            "too many anchors, aliases or merges (`&name`, `*name`, `<<:`)".into()
        }
        _ => "the file is too large for a scenario".into(),
    }
}

/// A serde-saphyr error in the words of this format, and the path it is about. `path` is the
/// key or value the error points at and `tree` the document, when it was valid YAML.
fn wording(err: &YamlError, path: Option<Path>, tree: Option<&Node>) -> (Option<Path>, String) {
    let node = |p: &Option<Path>| tree.zip(p.as_ref()).and_then(|(t, p)| t.get(p));
    // What the schema allows at `p`.
    let allowed = |p: &Option<Path>, otherwise: &str| {
        p.as_ref()
            .and_then(schema::allowed_at)
            .unwrap_or_else(|| otherwise.to_string())
    };
    // What the value at `p` should have been, and what it was.
    let mismatch = |p: &Option<Path>, otherwise: &str| {
        let allowed = allowed(p, otherwise);
        let Some(n) = node(p) else {
            return format!("expected {allowed}");
        };
        let hint = match (&n.kind, p.as_ref().map(Path::to_string).as_deref()) {
            (Kind::Seq(_), Some("seed")) => {
                "; several seeds are a sweep: `buddysim sweep --seeds N`, or `seeds: N` under \
                 `sweep:`"
            }
            _ => "",
        };
        format!("expected {allowed}, found {}{hint}", found(n))
    };
    let message = match err {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let allowed = match expected.as_slice() {
                [] => "no keys are allowed here".to_string(),
                [one] => format!("allowed key: {one}"),
                all => format!("allowed keys: {}", all.join(", ")),
            };
            return (
                without_key(path, field),
                format!("unknown key `{field}`; {allowed}"),
            );
        }
        YamlError::SerdeMissingField { field, .. } => {
            // Reported at the mapping's first key or at the mapping itself.
            let path = path.map(|mut p| {
                if !schema::requires(&p, field) {
                    p.0.pop();
                }
                p
            });
            return (path, format!("missing key `{field}`"));
        }
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            // Reported at the key of `{variant: …}`, or at the value.
            let path = without_key(path, variant);
            let keys = schema::choice_keys(path.as_ref().unwrap_or(&Path::root()));
            let message = match node(&path) {
                Some(n) if matches!(n.kind, Kind::Seq(_) | Kind::Map(_)) && keys.is_empty() => {
                    mismatch(&path, &expected.join(", "))
                }
                Some(n) if n.raw().is_some_and(is_null) => mismatch(&path, &expected.join(", ")),
                _ => {
                    let forms: Vec<String> = expected
                        .iter()
                        .map(|v| match keys.contains(v) {
                            true => format!("{{{v}: …}}"),
                            false => v.to_string(),
                        })
                        .collect();
                    format!("unknown value `{variant}`; allowed: {}", forms.join(", "))
                }
            };
            return (path, message);
        }
        YamlError::UnexpectedValueForUnitEnumVariant { .. }
        | YamlError::ExpectedMappingEndAfterEnumVariantValue { .. } => {
            // Reported at the value of `{fresh: 1}`, or at the second key of `{a: …, b: …}`.
            let path = path.map(|mut p| {
                p.0.pop();
                p
            });
            let keys: Vec<&str> = match node(&path).map(|n| &n.kind) {
                Some(Kind::Map(entries)) => entries.iter().map(|(k, _, _)| k.as_str()).collect(),
                _ => Vec::new(),
            };
            let message = match (keys.as_slice(), path.as_ref().and_then(|p| p.0.last())) {
                ([variant], Some(Seg::Key(key))) => {
                    format!("`{variant}` takes no value: write `{key}: {variant}`")
                }
                ([variant], _) => format!("`{variant}` takes no value"),
                _ => format!(
                    "expected {}, found a mapping with {} keys (`{}`): give one",
                    allowed(&path, "one key"),
                    keys.len(),
                    keys.join("`, `")
                ),
            };
            return (path, message);
        }
        YamlError::Unexpected { expected, .. } => mismatch(
            &path,
            match *expected {
                "sequence start" => "a list",
                "mapping start" => "a mapping of `key: value` entries",
                _ => "a single value",
            },
        ),
        YamlError::NullIntoString { .. }
        | YamlError::InvalidScalar { .. }
        | YamlError::NonFiniteFloat { .. }
        | YamlError::InvalidBooleanStrict { .. }
        | YamlError::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
        | YamlError::ExpectedStringKeyForExternallyTaggedEnum { .. } => {
            mismatch(&path, "another kind of value")
        }
        YamlError::SerdeInvalidType { expected, .. }
        | YamlError::SerdeInvalidValue { expected, .. } => match node(&path) {
            // `expected` is the words of this crate's own parser for the type there.
            Some(n) => format!("expected {expected}, found {}", found(n)),
            None => format!("expected {expected}"),
        },
        YamlError::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("duplicate key `{k}`: each key may appear once"),
            None => "duplicate key: each key may appear once".into(),
        },
        YamlError::MultipleDocuments { .. } => {
            "more than one YAML document: a scenario file holds one".into()
        }
        YamlError::Budget { breach, .. } => budget(breach),
        YamlError::Eof { .. } => "the file ends in the middle of a value".into(),
        YamlError::UnknownAnchor { .. } => {
            "an alias (`*name`) names no anchor (`&name`) written before it".into()
        }
        YamlError::AliasReplayCounterOverflow { .. }
        | YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. }
        | YamlError::RecursiveReferencesRequireWeakTypes { .. } => {
            "aliases (`*name`) expand to too large a document".into()
        }
        YamlError::MergeValueNotMapOrSeqOfMaps { .. } => {
            "a merge (`<<:`) takes a mapping or a list of mappings".into()
        }
        YamlError::UnsupportedTag { .. }
        | YamlError::TaggedEnumMismatch { .. }
        | YamlError::TaggedScalarCannotDeserializeIntoString { .. }
        | YamlError::InvalidBinaryBase64 { .. }
        | YamlError::BinaryNotUtf8 { .. }
        | YamlError::BytesNotSupportedMissingBinaryTag { .. } => {
            "a YAML tag (`!name`, `!!type`) that scenario files do not use: remove it".into()
        }
        // The reader's syntax errors, and messages this crate's own parsers wrote.
        other => {
            use serde_saphyr::MessageFormatter;
            serde_saphyr::UserMessageFormatter
                .format_message(other)
                .into_owned()
        }
    };
    (path, message)
}

/// The message of a serde-saphyr error, with no location or key path.
pub fn yaml_message(err: &YamlError) -> String {
    wording(err.without_snippet(), None, None).1
}

/// A serde-saphyr error at its place in `file`, worded for this format. `tree` (when the text
/// was valid YAML) names the key the error is at.
pub fn from_saphyr(
    file: &str,
    err: &YamlError,
    kind: ErrorKind,
    tree: Option<&Node>,
) -> ScenarioError {
    let err = err.without_snippet();
    let (mut line, mut column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let mut path = tree.and_then(|t| t.path_at(Pos { line, column }));
    // Serde reports a wrong value inside `{variant: value}` at the variant's key: the value is
    // where it is wrong, unless what serde saw is that mapping.
    if let (
        Some(t),
        YamlError::SerdeInvalidType { unexpected, .. }
        | YamlError::SerdeInvalidValue { unexpected, .. },
    ) = (tree, err)
    {
        while let Some(Kind::Map(entries)) = path.as_ref().and_then(|p| t.get(p)).map(|n| &n.kind) {
            match entries.as_slice() {
                [(key, _, value)] if unexpected != "map" => {
                    path = path.map(|p| p.key(key));
                    (line, column) = (value.pos.line, value.pos.column);
                }
                _ => break,
            }
        }
    }
    let (path, message) = wording(err, path, tree);
    let message = match path {
        Some(p) if !p.0.is_empty() => format!("{p}: {message}"),
        _ => message,
    };
    ScenarioError::At {
        file: file.to_string(),
        line,
        column,
        kind,
        message,
    }
}
