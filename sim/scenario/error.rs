//! The one error type of the scenario layer, and the conversion of serde-saphyr's errors and of
//! semantic check failures into `FILE:LINE:COL: message`.

use super::tree::{Node, Path, Pos};

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
        let Pos { line, column } = tree.locate(&self.path);
        ScenarioError::At {
            file: file.to_string(),
            line,
            column,
            kind: ErrorKind::Invalid,
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

/// The message of a serde-saphyr error, without its location or source snippet.
pub fn saphyr_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::DefaultMessageFormatter
        .format_message(err.without_snippet())
        .into_owned()
}

/// Words serde's generated messages use, in the words of this file format.
fn reword(message: &str, raw: Option<&str>) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let rest = rest
            .replacen(", expected one of ", "; allowed keys: ", 1)
            .replacen(", expected ", "; allowed key: ", 1)
            .replacen(", there are no fields", "; no keys are allowed here", 1);
        return format!("unknown key {rest}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!(
            "unknown value {}",
            rest.replacen(", expected one of ", "; allowed: ", 1)
        );
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key `{key}`: each key may appear once");
    }
    if message.starts_with("multiple YAML documents detected") {
        return "more than one YAML document: a scenario file holds one".into();
    }
    if message == "expected mapping start" {
        return "expected a mapping of `key: value` entries".into();
    }
    let number = |what: &str| {
        let found = raw.map(|r| format!(", found `{r}`")).unwrap_or_default();
        format!("expected {what}{found}")
    };
    match message {
        "invalid u8" => number("a whole number from 0 to 255"),
        "invalid u32" => number("a whole number from 0 to 4294967295"),
        "invalid u64" => number("a whole number from 0 to 18446744073709551615"),
        "invalid f64" => number("a number"),
        "invalid bool" | "invalid boolean" => number("true or false"),
        _ => message.to_string(),
    }
}

/// A serde-saphyr error at its place in `file`, worded for this format. `tree` (when the text
/// was valid YAML) names the key the error is at.
pub fn from_saphyr(
    file: &str,
    err: &serde_saphyr::Error,
    kind: ErrorKind,
    tree: Option<&Node>,
) -> ScenarioError {
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let at = Pos { line, column };
    let path = tree.and_then(|t| t.path_at(at));
    let raw = match (tree, &path) {
        (Some(t), Some(p)) => t.get(p).and_then(Node::raw),
        _ => None,
    };
    let message = reword(&saphyr_message(err), raw);
    // An unknown or missing key is reported against the mapping it belongs to.
    let path = path.map(|mut p| {
        if message.starts_with("unknown key") || message.starts_with("missing key") {
            p.0.pop();
        }
        p
    });
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
