//! `--set KEY=VALUE`: change one value of a scenario from the command line.
//!
//! KEY is a dotted path into the scenario (`seed`, `kernel`, `machine.memory`,
//! `workload.pods.arrivals.poisson`, `machine.zones.1.managed` with list indexes as numbers).
//! Sysctl names keep their dot (`vm.extfrag_threshold` is one key), and a bare sysctl name means
//! `tunables.<name>`. VALUE is read as YAML, so `60/h`, `250`, `[256, 256, 32]` and
//! `{poisson: 60/h}` all work. Naming a different variant of a choice (`initial.fill`,
//! `workload.pods.arrivals.daily`, `workload.pods.lifetime.fixed`) replaces the choice.
//!
//! The scenario is written out as YAML, the value spliced into that document, and the result
//! read and validated exactly as a file is: an override accepts what a file accepts, with the
//! same messages.

use super::error::{yaml_message, ScenarioError};
use super::schema::choice_keys;
use super::tree::{Kind, Node, Path, Seg};
use super::Scenario;

/// The path a `--set` key names.
fn key_path(key: &str) -> Result<Vec<Seg>, String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("empty part in the key: write dotted names such as machine.memory".into());
    }
    let mut segs = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let part = parts[i];
        if part == "vm" && i + 1 < parts.len() {
            segs.push(Seg::Key(format!("vm.{}", parts[i + 1])));
            i += 2;
            continue;
        }
        match part.parse::<usize>() {
            Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => segs.push(Seg::Index(n)),
            _ => segs.push(Seg::Key(part.to_string())),
        }
        i += 1;
    }
    if matches!(segs.first(), Some(Seg::Key(k)) if k.starts_with("vm.")) {
        segs.insert(0, Seg::Key("tunables".into()));
    }
    Ok(segs)
}

fn dotted(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Applies `KEY=VALUE` to `scenario`, which stays unchanged on error. The result is validated.
pub fn apply_override(scenario: &mut Scenario, setting: &str) -> Result<(), ScenarioError> {
    let fail = |message: String| ScenarioError::Argument {
        flag: "--set",
        value: setting.to_string(),
        message,
    };
    let (key, value) = setting.split_once('=').ok_or_else(|| {
        fail(
            "expected KEY=VALUE, such as vm.extfrag_threshold=250 or \
              workload.pods.arrivals.poisson=60/h"
                .into(),
        )
    })?;
    if value.trim().is_empty() {
        return Err(fail(
            "no value: write KEY=VALUE (to keep the scenario's or the kernel's default, leave \
             this --set out)"
                .into(),
        ));
    }
    let mut path = key_path(key.trim()).map_err(&fail)?;
    let value_node = Node::parse(value.trim())
        .map_err(|e| fail(format!("the value is not YAML: {}", yaml_message(&e))))?;
    let mut tree = Node::parse(&scenario.to_yaml())
        .map_err(|e| fail(format!("internal: the scenario does not read back: {e}")))?;
    let mut value_node = value_node;
    if let Some((Seg::Key(variant), parent)) = path.split_last() {
        let parent_path = Path(parent.to_vec());
        let replaces_choice = !choice_keys(&parent_path).is_empty()
            && !matches!(&tree.get(&parent_path).map(|n| &n.kind),
                Some(Kind::Map(entries)) if entries.iter().any(|(k, _, _)| k == variant));
        if replaces_choice {
            let pos = value_node.pos;
            value_node = Node {
                pos,
                kind: Kind::Map(vec![(variant.clone(), pos, value_node)]),
            };
            path.pop();
        }
    }
    tree.set(&path, value_node)
        .map_err(|m| fail(format!("{}: {m}", dotted(&path))))?;
    let flow = tree.to_flow();
    let flow_tree = Node::parse(&flow).map_err(|e| {
        fail(format!(
            "internal: the overridden scenario does not read: {}",
            yaml_message(&e)
        ))
    })?;
    let mut updated = Scenario::from_tree(&flow, "--set", &flow_tree).map_err(|e| match e {
        ScenarioError::At { message, .. } => fail(message),
        other => fail(other.to_string()),
    })?;
    updated.source = scenario.source.clone();
    updated
        .validate_paths()
        .map_err(|e| fail(format!("{}: {}", e.path, e.message)))?;
    *scenario = updated;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_sysctl_names_whole() {
        let k = |s: &str| dotted(&key_path(s).unwrap());
        assert_eq!(k("vm.extfrag_threshold"), "tunables.vm.extfrag_threshold");
        assert_eq!(
            k("sweep.grid.vm.min_free_kbytes"),
            "sweep.grid.vm.min_free_kbytes"
        );
        assert_eq!(
            key_path("machine.zones.1.managed").unwrap()[2],
            Seg::Index(1)
        );
        assert!(key_path("machine..memory").is_err());
    }
}
