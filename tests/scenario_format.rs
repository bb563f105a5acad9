//! The scenario file format: every error path with its exact `FILE:LINE:COL: message`,
//! overrides, sweep expansion and sharding, the JSON Schema, and the shipped scenario files.

mod common;

use buddysim::scenario::{
    apply_override, json_schema, Arrivals, ErrorKind, Grid, Initial, Lifetime, Pages, Rate,
    Scenario, ScenarioError, Shard, Size,
};
use std::path::{Path, PathBuf};

const BASE: &str = "\
name: t
kernel: \"3.10\"
machine:
  memory: 16GiB
  cpus: 4
duration: 1d
";

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The error `text` gives when read as `t.yaml`.
fn error(text: &str) -> String {
    match Scenario::parse(text, "t.yaml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn the_base_scenario_reads_with_defaults() {
    let s = Scenario::parse(BASE, "t.yaml").unwrap();
    assert_eq!(s.machine.memory, Size(16 << 30));
    assert_eq!(s.machine.memory_pages(), 4_194_304);
    assert_eq!(s.duration.as_nanos(), 86_400_000_000_000);
    assert!(s.kmem_accounting);
    assert_eq!(s.initial, Initial::Fresh);
    assert_eq!(s.profile().unwrap().name, "3.10");
}

#[test]
fn yaml_syntax_errors_are_located() {
    assert_eq!(
        error("name: t\n  bad: [\n"),
        "t.yaml:2:6: mapping values are not allowed in this context"
    );
    match Scenario::parse("name: t\n  bad: [\n", "t.yaml") {
        Err(ScenarioError::At { kind, .. }) => assert_eq!(kind, ErrorKind::Syntax),
        other => panic!("{other:?}"),
    }
}

#[test]
fn documents_of_the_wrong_shape_are_located() {
    assert_eq!(
        error(" \n"),
        "t.yaml:1:1: the file is empty: a scenario needs at least name, kernel, machine and duration"
    );
    assert_eq!(
        error("[1, 2]\n"),
        "t.yaml:1:1: expected a mapping of `key: value` entries, found a list"
    );
    assert_eq!(
        error(&with("name: u\n")),
        "t.yaml:7:1: duplicate key `name`: each key may appear once"
    );
    assert_eq!(
        error(&format!("{BASE}---\n{BASE}")),
        "t.yaml:8:1: more than one YAML document: a scenario file holds one"
    );
    assert_eq!(
        error("name: t\n\tkernel: x\n"),
        "t.yaml:1:7: while scanning a plain scalar, found a tab"
    );
    assert_eq!(
        error(&with("initial: {fill: {anon: 20GiB}}\n")),
        "t.yaml:7:17: initial.fill: the fill uses 20GiB, more than the machine's memory 16GiB"
    );
}

#[test]
fn unknown_keys_list_the_allowed_keys() {
    assert_eq!(
        error(&with("colour: blue\n")),
        "t.yaml:7:1: unknown key `colour`; allowed keys: name, description, seed, kernel, \
         machine, tunables, transparent_hugepage, kmem_accounting, initial, workload, actions, \
         probes, duration, outputs, sweep"
    );
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine:\n  memory: 16GiB\n  cpus: 4\n  cores: 2\nduration: 1d\n"),
        "t.yaml:6:3: machine: unknown key `cores`; allowed keys: memory, cpus, numa_nodes, zones, swap"
    );
    assert_eq!(
        error(&with("tunables:\n  vm.swappiness: 10\n")),
        "t.yaml:8:3: tunables: unknown key `vm.swappiness`; allowed keys: vm.min_free_kbytes, \
         vm.extfrag_threshold, vm.watermark_scale_factor, vm.watermark_boost_factor, \
         vm.compaction_proactiveness, vm.lowmem_reserve_ratio"
    );
    assert_eq!(
        error(&with("workload:\n  pods:\n    arrivals: {poisson: 1/h}\n    lifetime: {fixed: 1h}\n    profile: {netns: true, sockets: 3}\n")),
        "t.yaml:11:28: workload.pods.profile: unknown key `sockets`; allowed keys: netns, memcg, containers, \
         threads, page_tables, anon, page_cache, slab, kmalloc"
    );
}

#[test]
fn missing_keys_and_wrong_types_are_located() {
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine:\n  memory: 16GiB\nduration: 1d\n"),
        "t.yaml:4:3: machine: missing key `cpus`"
    );
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine:\n  memory: 16GiB\n  cpus: -1\nduration: 1d\n"),
        "t.yaml:5:9: machine.cpus: expected a whole number from 0 to 4294967295, found `-1`"
    );
    assert_eq!(
        error(&with("kmem_accounting: maybe\n")),
        "t.yaml:7:18: kmem_accounting: expected true or false, found `maybe`"
    );
    assert_eq!(
        error(&with("initial: warm\n")),
        "t.yaml:7:10: initial: unknown value `warm`; allowed: fresh, {fill: …}, {capture: …}"
    );
    assert_eq!(
        error(&with("transparent_hugepage: sometimes\n")),
        "t.yaml:7:23: transparent_hugepage: unknown value `sometimes`; allowed: always, madvise, never"
    );
}

#[test]
fn wrong_values_say_what_was_found_and_what_is_allowed() {
    assert_eq!(
        error(&with("seed: [1, 2]\n")),
        "t.yaml:7:7: seed: expected a whole number from 0 to 18446744073709551615, found a list; \
         several seeds are a sweep: `buddysim sweep --seeds N`, or `seeds: N` under `sweep:`"
    );
    assert_eq!(
        error(&with("description: ~\n")),
        "t.yaml:7:14: description: expected text, found no value (`~`)"
    );
    assert_eq!(
        error(&BASE.replace("name: t", "name:")),
        "t.yaml:1:5: name: expected text, found no value"
    );
    assert_eq!(
        error(&BASE.replace("cpus: 4", "cpus: .inf")),
        "t.yaml:5:9: machine.cpus: expected a whole number from 0 to 4294967295, found `.inf`"
    );
    assert_eq!(
        error(&BASE.replace("cpus: 4", "cpus: [4]")),
        "t.yaml:5:9: machine.cpus: expected a whole number from 0 to 4294967295, found a list"
    );
    assert_eq!(
        error(&with("kmem_accounting: {on: true}\n")),
        "t.yaml:7:18: kmem_accounting: expected true or false, found a mapping"
    );
    assert_eq!(
        error(&BASE.replace("memory: 16GiB", "memory: [16GiB]")),
        "t.yaml:4:3: machine.memory: expected a size such as `16GiB`, `512MiB` or `4k`, or plain \
         bytes such as `4096`, found a list"
    );
    assert_eq!(
        error(&with("transparent_hugepage: {a: 1}\n")),
        "t.yaml:7:24: transparent_hugepage: expected always, madvise or never, found a mapping"
    );
    assert_eq!(
        error(&with("transparent_hugepage: ~\n")),
        "t.yaml:7:23: transparent_hugepage: expected always, madvise or never, found no value (`~`)"
    );
    assert_eq!(
        error(&with("initial: 1.5\n")),
        "t.yaml:7:10: initial: unknown value `1.5`; allowed: fresh, {fill: …}, {capture: …}"
    );
    assert_eq!(
        error(&with("initial: .nan\n")),
        "t.yaml:7:10: initial: unknown value `.nan`; allowed: fresh, {fill: …}, {capture: …}"
    );
    assert_eq!(
        error(&with("initial: [fresh]\n")),
        "t.yaml:7:10: initial: expected fresh, {fill: …} or {capture: …}, found a list"
    );
    assert_eq!(
        error(&with("initial: {fresh: 1}\n")),
        "t.yaml:7:18: initial: `fresh` takes no value: write `initial: fresh`"
    );
    // The value is wrong, not the key that names the choice.
    assert_eq!(
        error(&with("initial: {capture: 3}\n")),
        "t.yaml:7:20: initial.capture: expected a list of capture files, or {files: [...], split: \
         {...}}, found `3`"
    );
    assert_eq!(
        error(&BASE.replace("machine:\n  memory: 16GiB\n  cpus: 4\n", "machine: 3\n")),
        "t.yaml:3:10: machine: expected a mapping of `key: value` entries, found `3`"
    );
    assert_eq!(
        error(&with("actions:\n  - {at: 1h, alloc: {order: [6]}}\n")),
        "t.yaml:8:29: actions[0].alloc.order: expected a whole number from 0 to 4294967295, found \
         a list"
    );
    assert_eq!(
        error(&with("sweep: {grid: {vm.extfrag_threshold: [[0], 250]}, seeds: 2}\n")),
        "t.yaml:7:39: sweep.grid.vm.extfrag_threshold[0]: expected one value such as `250`, `60/h` \
         or `5.15`, found a list"
    );
    // A non-finite number is read where it was written, and its check rejects it there.
    assert_eq!(
        error(&with("workload: {leaks: {zombie_memcg: .nan}}\n")),
        "t.yaml:7:34: workload.leaks.zombie_memcg: .nan is not a share: allowed 0 to 1"
    );
    assert_eq!(
        error(&with(&format!(
            "description: {}{}\n",
            "[".repeat(70),
            "]".repeat(70)
        ))),
        "t.yaml:7:77: lists and mappings nest more than 64 levels deep"
    );
}

#[test]
fn a_choice_needs_exactly_one_alternative_with_its_value() {
    let pods = |arrivals: &str, lifetime: &str| {
        with(&format!(
            "workload:\n  pods:\n    arrivals: {arrivals}\n    lifetime: {lifetime}\n"
        ))
    };
    // Written as a bare word, a choice that takes a value used to take the next key as it.
    assert_eq!(
        error(&pods("poisson", "{fixed: 1h}")),
        "t.yaml:9:15: workload.pods.arrivals: expected {poisson: …}, {daily: …}, {waves: …} or \
         {replay: …}, found `poisson` with no value"
    );
    assert_eq!(
        error(&pods("{poisson: 1/h}", "fixed")),
        "t.yaml:10:15: workload.pods.lifetime: expected {exponential: …}, {lognormal: …} or \
         {fixed: …}, found `fixed` with no value"
    );
    assert_eq!(
        error(&with("initial: fill\n")),
        "t.yaml:7:10: initial: expected fresh, {fill: …} or {capture: …}, found `fill` with no \
         value"
    );
    assert_eq!(
        error(&pods("{poisson: 1/h, daily: [1/h]}", "{fixed: 1h}")),
        "t.yaml:9:30: workload.pods.arrivals: expected {poisson: …}, {daily: …}, {waves: …} or \
         {replay: …}, found a mapping with 2 keys (`poisson`, `daily`): give one"
    );
    assert_eq!(
        error(&pods("~", "{fixed: 1h}")),
        "t.yaml:9:15: workload.pods.arrivals: expected {poisson: …}, {daily: …}, {waves: …} or \
         {replay: …}, found no value (`~`)"
    );
}

/// Words of Rust and serde that no message about a file may use (outside the text it quotes).
const JARGON: [&str; 26] = [
    "Option",
    "String",
    "str",
    "u8",
    "u32",
    "u64",
    "i64",
    "f64",
    "usize",
    "Vec",
    "PathBuf",
    "struct",
    "enum",
    "variant",
    "sequence",
    "seq",
    "map",
    "scalar",
    "serde",
    "deserialize",
    "budget",
    "Depth",
    "tagged",
    "typeless",
    "Some",
    "None",
];

/// The jargon in `message` (`FILE:LINE:COL: [key.path: ]text`), outside its `quoted` text.
fn jargon(message: &str) -> Vec<&'static str> {
    let text = message
        .splitn(4, ':')
        .nth(3)
        .unwrap_or(message)
        .trim_start();
    let text = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest,
        _ => text,
    };
    let unquoted: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let words: Vec<&str> = unquoted
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .collect();
    JARGON
        .iter()
        .filter(|j| words.contains(j))
        .copied()
        .collect()
}

#[test]
fn no_message_speaks_rust_or_serde() {
    let bad = [
        with("seed: [1, 2]\n"),
        with("seed: {a: 1}\n"),
        with("seed: ~\n"),
        with("description: ~\n"),
        with("description: [a]\n"),
        BASE.replace("kernel: \"3.10\"", "kernel: [a]"),
        BASE.replace("kernel: \"3.10\"", "kernel:"),
        BASE.replace("cpus: 4", "cpus: .inf"),
        BASE.replace("cpus: 4", "cpus: {a: 1}"),
        BASE.replace("memory: 16GiB", "memory: ~"),
        BASE.replace("memory: 16GiB", "memory: true"),
        BASE.replace("duration: 1d", "duration: [1d]"),
        BASE.replace("duration: 1d", "duration: .nan"),
        with("initial: .nan\n"),
        with("initial: [fresh]\n"),
        with("initial: {fresh: 1}\n"),
        with("initial: {fresh: 1, fill: {}}\n"),
        with("initial: {1: 2}\n"),
        with("initial: capture\n"),
        with("initial: {capture: 3}\n"),
        with("initial: {capture: {files: 3}}\n"),
        with("initial: {fill: {slab: {dentry: [1]}}}\n"),
        with("initial: {fill: {slab: {dentry: .inf}}}\n"),
        with("transparent_hugepage: {a: 1}\n"),
        with("transparent_hugepage: [always]\n"),
        with("transparent_hugepage: 1\n"),
        with("kmem_accounting: [true]\n"),
        with("tunables: {vm.lowmem_reserve_ratio: {a: 1}}\n"),
        with("tunables: {vm.lowmem_reserve_ratio: [a]}\n"),
        with("tunables: {vm.min_free_kbytes: .nan}\n"),
        with("tunables: 3\n"),
        with("workload: {pods: {arrivals: [poisson], lifetime: {fixed: 1h}}}\n"),
        with("workload: {pods: {arrivals: {poisson: [1/h]}, lifetime: {fixed: 1h}}}\n"),
        with("workload: {pods: {arrivals: {daily: [true]}, lifetime: {fixed: 1h}}}\n"),
        with("workload: {pods: {arrivals: {daily: [{at: 1h}]}, lifetime: {fixed: 1h}}}\n"),
        with("workload: {pods: {arrivals: {poisson: 1/h}, lifetime: exponential}}\n"),
        with("workload: {pods: {arrivals: {poisson: 1/h}, lifetime: {lognormal: {median: 1h, sigma: .nan}}}}\n"),
        with("workload: {leaks: {zombie_memcg: [1]}}\n"),
        with("workload: {leaks: {zombie_memcg: .inf}}\n"),
        with("actions: {at: 1h}\n"),
        with("actions: [{at: 1h, drop_caches: [1]}]\n"),
        with("actions: [{at: 1h, sysctl: 3}]\n"),
        with("outputs: {files: nope}\n"),
        with("outputs: {files: [[a]]}\n"),
        with("probes: {alloc: [{order: 6, gfp: [a], every: 1h}]}\n"),
        with("sweep: 3\n"),
        with("sweep: {grid: 3, seeds: 1}\n"),
        with("sweep: {grid: {vm.extfrag_threshold: 3}, seeds: 1}\n"),
        with("sweep: {grid: {vm.extfrag_threshold: [~]}, seeds: 1}\n"),
        with("sweep: {grid: {vm.extfrag_threshold: [1]}, seeds: 1, target: .nan}\n"),
        with("x: *missing\n"),
        BASE.replace("duration: 1d", "duration: !!binary aGVsbG8="),
        with(&format!("description: {}{}\n", "[".repeat(70), "]".repeat(70))),
        "[1, 2]\n".to_string(),
    ];
    for text in &bad {
        let message = error(text);
        assert!(jargon(&message).is_empty(), "{message}\nfrom:\n{text}");
    }
    let mut s = Scenario::parse(PODS, "t.yaml").unwrap();
    for o in [
        "seed=[1, 2]",
        "initial=fill",
        "initial=[fresh]",
        "transparent_hugepage={a: 1}",
        "description={a: b}",
        "machine.cpus=.inf",
        "workload.pods.arrivals=poisson",
        "seed.x=1",
    ] {
        let message = apply_override(&mut s, o).unwrap_err().to_string();
        let message = message.split_once(": ").map_or(&*message, |(_, m)| m);
        assert!(
            jargon(&format!("a:1:1: {message}")).is_empty(),
            "--set {o}: {message}"
        );
    }
    assert_eq!(
        apply_override(&mut s, "seed=[1, 2]")
            .unwrap_err()
            .to_string(),
        "--set seed=[1, 2]: seed: expected a whole number from 0 to 18446744073709551615, found a \
         list; several seeds are a sweep: `buddysim sweep --seeds N`, or `seeds: N` under `sweep:`"
    );
    assert_eq!(
        apply_override(&mut s, "initial=fill")
            .unwrap_err()
            .to_string(),
        "--set initial=fill: initial: expected fresh, {fill: …} or {capture: …}, found `fill` \
         with no value"
    );
    // The jargon check itself.
    assert_eq!(
        jargon("t.yaml:1:1: seed: invalid type: sequence, expected u64"),
        ["u64", "sequence"]
    );
    assert!(jargon("t.yaml:1:1: unknown value `map`; allowed: a mapping").is_empty());
}

#[test]
fn malformed_units_say_what_is_accepted() {
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine:\n  memory: 16 gigs\n  cpus: 4\nduration: 1d\n"),
        "t.yaml:4:11: machine.memory: `16 gigs` is not a size: write a number with a binary unit \
         such as `16GiB`, `512MiB`, `4k`, `1.5G`, or plain bytes such as `4096` (units B, \
         K/KiB/kB, M/MiB/MB, G/GiB/GB, T/TiB/TB, P/PiB/PB, E/EiB/EB, all powers of 1024)"
    );
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine: {memory: 16GiB, cpus: 4}\nduration: 3600\n"),
        "t.yaml:4:11: duration: `3600` has no unit: write numbers with units from the largest to \
         the smallest, such as `7d`, `90m`, `1h30m`, `45s` or `250ms` (units d, h, m, s, ms, \
         us, ns)"
    );
    assert_eq!(
        error(&with("workload:\n  pods:\n    arrivals: {poisson: 120 per hour}\n    lifetime: {fixed: 1h}\n")),
        "t.yaml:9:25: workload.pods.arrivals.poisson: `120 per hour` is not a rate: write \
         COUNT/PERIOD such as `120/h`, `2/m`, `0.5/s` or `3/10m` (a count per duration)"
    );
    assert_eq!(
        error(&BASE.replace(
            "  cpus: 4\n",
            "  cpus: 4\n  zones:\n    - {zone: DMA, start_pfn: 1, spanned: 4095, present: 15993kB, managed: 1}\n"
        )),
        "t.yaml:7:57: machine.zones[0].present: `15993kB` is not a whole number of 4 KiB pages"
    );
}

#[test]
fn impossible_machines_are_rejected_at_the_value() {
    assert_eq!(
        error("name: t\nkernel: \"3.10\"\nmachine:\n  memory: 1EiB\n  cpus: 4\nduration: 1d\n"),
        "t.yaml:4:11: machine.memory: 1EiB is more than the 64TiB maximum (the x86-64 physical \
         address limit with 4-level page tables, MAX_PHYSMEM_BITS = 46)"
    );
    let zones = |memory: &str, zones: &str| {
        format!("name: t\nkernel: \"3.10\"\nmachine:\n  memory: {memory}\n  cpus: 4\n  zones:\n{zones}duration: 1d\n")
    };
    assert_eq!(
        error(&zones(
            "1GiB",
            "    - {zone: Normal, start_pfn: 1048576, spanned: 3407872, present: 13631488kB, managed: 13367020kB}\n"
        )),
        "t.yaml:7:69: machine.zones[0].present: node 0 Normal is larger than the machine: 3407872 \
         present pages (13GiB) but memory is 1GiB (262144 pages)"
    );
    assert_eq!(
        error(&zones(
            "16GiB",
            "    - {zone: DMA32, start_pfn: 4096, spanned: 1044480, present: 100, managed: 100}\n    - {zone: Normal, start_pfn: 1000000, spanned: 1000, present: 1000, managed: 1000}\n"
        )),
        "t.yaml:8:33: machine.zones[1].start_pfn: node 0 Normal (PFN 1000000..1001000) overlaps \
         zones[0], node 0 DMA32 (PFN 4096..1048576)"
    );
    assert_eq!(
        error(&zones(
            "16GiB",
            "    - {zone: DMA, start_pfn: 1, spanned: 4095, present: 3998, managed: 3999}\n"
        )),
        "t.yaml:7:72: machine.zones[0].managed: node 0 DMA: managed 3999 pages is more than \
         present 3998 pages"
    );
    assert_eq!(
        error(&zones(
            "16GiB",
            "    - {zone: DMA, start_pfn: 1, spanned: 8191, present: 3998, managed: 3977}\n"
        )),
        "t.yaml:7:42: machine.zones[0].spanned: node 0 DMA ends at PFN 8192, but DMA lies below \
         16MiB (PFN 4096)"
    );
    assert_eq!(
        error(&zones(
            "16GiB",
            "    - {zone: Normal, start_pfn: 1048576, spanned: 10, present: 10, managed: 10}\n    - {zone: Movable, start_pfn: 1000000, spanned: 10, present: 10, managed: 10}\n"
        )),
        "t.yaml:8:34: machine.zones[1].start_pfn: node 0 Movable starts at PFN 1000000, on the \
         wrong side of zones[0], Normal at PFN 1048576: a node's zones go up in address in the \
         order DMA, DMA32, Normal, Movable"
    );
    assert_eq!(
        error(&zones(
            "16GiB",
            "    - {zone: HighMem, start_pfn: 1, spanned: 1, present: 1, managed: 1}\n"
        )),
        "t.yaml:7:14: machine.zones[0].zone: zone `HighMem` does not exist on x86-64 with \
         buddy-managed pages (expected DMA, DMA32, Normal or Movable)"
    );
}

#[test]
fn kernel_dependent_checks_name_the_kernel() {
    assert_eq!(
        error("name: t\nkernel: 2.6\nmachine: {memory: 16GiB, cpus: 4}\nduration: 1d\n"),
        "t.yaml:2:9: kernel: unknown kernel `2.6` (known: 3.10, 3.10-rhel7.0, 3.10-rhel7.3, 3.10-rhel7, 4.4, 4.9, 4.19, 5.15, \
         6.1, 6.18)"
    );
    assert_eq!(
        error(&with("probes:\n  alloc:\n    - {order: 11, every: 1h}\n")),
        "t.yaml:9:15: probes.alloc[0].order: order 11 is above the maximum order 10 of kernel \
         3.10 (orders 0 to 10)"
    );
    assert_eq!(
        error(&with("tunables:\n  vm.extfrag_threshold: 2000\n")),
        "t.yaml:8:25: tunables.vm.extfrag_threshold: vm.extfrag_threshold = 2000 is out of \
         range: allowed 0 to 1000"
    );
    assert_eq!(
        error(&with("tunables:\n  vm.watermark_scale_factor: 100\n")),
        "t.yaml:8:30: tunables.vm.watermark_scale_factor: vm.watermark_scale_factor does not \
         exist on kernel 3.10: its watermarks are spaced min/4 and min/2 apart"
    );
    assert_eq!(
        error(
            &with("tunables:\n  vm.compaction_proactiveness: 20\n").replace("\"3.10\"", "\"4.19\"")
        ),
        "t.yaml:8:32: tunables.vm.compaction_proactiveness: vm.compaction_proactiveness does \
         not exist on kernel 4.19: it has no proactive compaction"
    );
    assert_eq!(
        error(
            &with("tunables:\n  vm.compaction_proactiveness: 101\n")
                .replace("\"3.10\"", "\"5.15\"")
        ),
        "t.yaml:8:32: tunables.vm.compaction_proactiveness: vm.compaction_proactiveness = 101 is \
         out of range: allowed 0 to 100"
    );
    assert_eq!(
        error(&with("tunables:\n  vm.min_free_kbytes: 20000000\n")),
        "t.yaml:8:23: tunables.vm.min_free_kbytes: vm.min_free_kbytes = 20000000 is out of \
         range: allowed 0 to 16777216 (at most the machine's memory in KiB)"
    );
}

#[test]
fn workload_and_action_checks_are_located() {
    assert_eq!(
        error(&with(
            "workload:\n  pods:\n    arrivals: {daily: [10/h, 20/h]}\n    lifetime: {fixed: 1h}\n"
        )),
        "t.yaml:9:23: workload.pods.arrivals.daily: 2 hourly rates: give 24, one per hour from \
         midnight"
    );
    assert_eq!(
        error(&with("workload:\n  pods:\n    arrivals: {daily: [{at: 8h, rate: 1/h}, {at: 6h, rate: 2/h}]}\n    lifetime: {fixed: 1h}\n")),
        "t.yaml:9:50: workload.pods.arrivals.daily[1].at: 6h does not come after 8h: points go \
         in time order"
    );
    assert_eq!(
        error(&with("workload:\n  pods:\n    arrivals: {poisson: 1/h}\n    lifetime: {lognormal: {median: 30m, sigma: -1}}\n")),
        "t.yaml:10:48: workload.pods.lifetime.lognormal.sigma: sigma -1: allowed above 0 up to 10"
    );
    assert_eq!(
        error(&with("workload:\n  leaks: {zombie_memcg: 1.5}\n")),
        "t.yaml:8:25: workload.leaks.zombie_memcg: 1.5 is not a share: allowed 0 to 1"
    );
    assert_eq!(
        error(&with(
            "actions:\n  - {at: 2h, drop_caches: 3, reboot: true}\n"
        )),
        "t.yaml:8:5: actions[0]: an action does exactly one of drop_caches, compact_memory, \
         sysctl, alloc or reboot (this one does 2)"
    );
    assert_eq!(
        error(&with("actions:\n  - {at: 2h, drop_caches: 4}\n")),
        "t.yaml:8:27: actions[0].drop_caches: drop_caches 4: allowed 1 (page cache), 2 (slab) \
         or 3 (both)"
    );
    assert_eq!(
        error(&with("actions:\n  - {at: 2d, compact_memory: true}\n")),
        "t.yaml:8:10: actions[0].at: 2d is after the end of the run (1d)"
    );
    assert_eq!(
        error(&with(
            "actions:\n  - {at: 2h, sysctl: {vm.extfrag_threshold: 1001}}\n"
        )),
        "t.yaml:8:45: actions[0].sysctl.vm.extfrag_threshold: vm.extfrag_threshold = 1001 is out \
         of range: allowed 0 to 1000"
    );
    assert_eq!(
        error(&with(
            "probes:\n  alloc: [{order: 6, gfp: GFP_KERNAL|lots, every: 1h}]\n"
        )),
        "t.yaml:8:27: probes.alloc[0].gfp: `GFP_KERNAL|lots` is not a GFP mask: write flag \
         names joined by | (GFP_KERNEL, GFP_KERNEL|__GFP_COMP) or a hexadecimal mask (0x10c0d0)"
    );
}

/// A scenario with pods, for overrides that reach into the workload.
const PODS: &str = "\
name: t
kernel: \"3.10\"
machine: {memory: 16GiB, cpus: 4}
workload:
  pods:
    arrivals: {poisson: 120/h}
    lifetime: {exponential: 2h}
duration: 7d
";

#[test]
fn overrides_change_values_and_revalidate() {
    let mut s = Scenario::parse(PODS, "t.yaml").unwrap();
    apply_override(&mut s, "vm.extfrag_threshold=250").unwrap();
    assert_eq!(s.tunables.extfrag_threshold, Some(250));
    apply_override(&mut s, "tunables.vm.min_free_kbytes=67584").unwrap();
    assert_eq!(s.tunables.min_free_kbytes, Some(67584));
    apply_override(&mut s, "seed=7").unwrap();
    assert_eq!(s.seed, 7);
    apply_override(&mut s, "kernel=5.15").unwrap();
    assert_eq!(s.kernel, "5.15");
    // `3.10` stays the string `3.10`, as in a file.
    apply_override(&mut s, "kernel=3.10").unwrap();
    assert_eq!(s.kernel, "3.10");
    apply_override(&mut s, "workload.pods.arrivals.poisson=60/h").unwrap();
    let pods = s.workload.pods.as_ref().unwrap();
    assert_eq!(
        pods.arrivals,
        Arrivals::Poisson("60/h".parse::<Rate>().unwrap())
    );
    apply_override(&mut s, "workload.pods.lifetime.fixed=1h").unwrap();
    assert_eq!(
        s.workload.pods.as_ref().unwrap().lifetime,
        Lifetime::Fixed("1h".parse().unwrap())
    );
    apply_override(
        &mut s,
        "workload.pods.arrivals.waves=[{at: 1h, count: 50, spread: 10m}]",
    )
    .unwrap();
    assert!(
        matches!(&s.workload.pods.as_ref().unwrap().arrivals, Arrivals::Waves(w) if w[0].count == 50)
    );
    apply_override(&mut s, "vm.lowmem_reserve_ratio=256 256 32").unwrap();
    assert_eq!(s.tunables.lowmem_reserve_ratio, Some(vec![256, 256, 32]));
    apply_override(&mut s, "machine.memory=32GiB").unwrap();
    assert_eq!(s.machine.memory, Size(32 << 30));
    // The value is YAML: text with `: ` in it needs quotes.
    apply_override(&mut s, "description='a node, with commas: and colons'").unwrap();
    assert_eq!(s.description, "a node, with commas: and colons");
    // Everything else is unchanged.
    assert_eq!(s.tunables.extfrag_threshold, Some(250));
    assert_eq!(s.seed, 7);
}

#[test]
fn override_errors_name_the_key_and_what_it_accepts() {
    let mut s = Scenario::parse(PODS, "t.yaml").unwrap();
    let before = s.clone();
    let err = |s: &mut Scenario, o: &str| apply_override(s, o).unwrap_err().to_string();
    assert_eq!(
        err(&mut s, "vm.extfrag_threshold=2000"),
        "--set vm.extfrag_threshold=2000: tunables.vm.extfrag_threshold: vm.extfrag_threshold = \
         2000 is out of range: allowed 0 to 1000"
    );
    assert_eq!(
        err(&mut s, "machine.colour=blue"),
        "--set machine.colour=blue: machine: unknown key `colour`; allowed keys: memory, cpus, \
         numa_nodes, zones, swap"
    );
    assert_eq!(
        err(&mut s, "vm.watermark_scale_factor=20"),
        "--set vm.watermark_scale_factor=20: tunables.vm.watermark_scale_factor: \
         vm.watermark_scale_factor does not exist on kernel 3.10: its watermarks are spaced \
         min/4 and min/2 apart"
    );
    assert_eq!(
        err(&mut s, "kernel=2.6"),
        "--set kernel=2.6: kernel: unknown kernel `2.6` (known: 3.10, 3.10-rhel7.0, 3.10-rhel7.3, 3.10-rhel7, 4.4, 4.9, \
         4.19, 5.15, 6.1, 6.18)"
    );
    assert_eq!(
        err(&mut s, "seed=-3"),
        "--set seed=-3: seed: expected a whole number from 0 to 18446744073709551615, found `-3`"
    );
    assert_eq!(
        err(&mut s, "nonsense"),
        "--set nonsense: expected KEY=VALUE, such as vm.extfrag_threshold=250 or \
         workload.pods.arrivals.poisson=60/h"
    );
    assert_eq!(
        err(&mut s, "workload.pods.arrivals.poisson=lots"),
        "--set workload.pods.arrivals.poisson=lots: workload.pods.arrivals.poisson: `lots` is \
         not a rate: write COUNT/PERIOD such as `120/h`, `2/m`, `0.5/s` or `3/10m` (a count per \
         duration)"
    );
    assert_eq!(
        err(&mut s, "seed.x=1"),
        "--set seed.x=1: seed.x: `x` is a key, but this value is `0`, not a mapping"
    );
    assert_eq!(
        err(&mut s, "description=a: b"),
        "--set description=a: b: description: expected text, found a mapping"
    );
    assert_eq!(s, before, "a failed override leaves the scenario unchanged");
}

#[test]
fn sweep_expands_to_400_runs_in_grid_then_seed_order() {
    let s = Scenario::load(&scenarios_dir().join("sweep-extfrag-minfree.yaml")).unwrap();
    let sweep = s.sweep.as_ref().unwrap();
    assert_eq!(sweep.run_count(), 400);
    let runs = sweep.runs(&s);
    assert_eq!(runs.len(), 400);
    assert!(runs.iter().enumerate().all(|(i, r)| r.index == i));
    assert_eq!(
        runs[0].id,
        "vm.extfrag_threshold=0,vm.min_free_kbytes=16133,seed#0"
    );
    assert_eq!(
        runs[19].id,
        "vm.extfrag_threshold=0,vm.min_free_kbytes=16133,seed#19"
    );
    assert_eq!(
        runs[20].id,
        "vm.extfrag_threshold=0,vm.min_free_kbytes=67584,seed#0"
    );
    assert_eq!(
        runs[80].id,
        "vm.extfrag_threshold=250,vm.min_free_kbytes=16133,seed#0"
    );
    assert_eq!(
        runs[399].id,
        "vm.extfrag_threshold=1000,vm.min_free_kbytes=270336,seed#19"
    );
    // Replicate k has one seed at every grid point; replicates differ.
    assert_eq!(runs[3].seed, runs[23].seed);
    assert_eq!(runs[3].seed, runs[383].seed);
    let mut seeds: Vec<u64> = runs[..20].iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 20);
    // Ids are unique, and expansion is deterministic.
    let mut ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    assert_eq!(sweep.runs(&s), runs);
    // A run's scenario has its settings and seed, and no sweep.
    let run = runs[107].scenario(&s).unwrap();
    assert_eq!(run.tunables.extfrag_threshold, Some(250));
    assert_eq!(run.tunables.min_free_kbytes, Some(67584));
    assert_eq!(run.seed, runs[107].seed);
    assert!(run.sweep.is_none());
}

#[test]
fn shards_partition_the_runs() {
    let s = Scenario::load(&scenarios_dir().join("sweep-extfrag-minfree.yaml")).unwrap();
    let runs = s.sweep.as_ref().unwrap().runs(&s);
    for n in [1, 3, 7, 400, 401] {
        let mut all: Vec<usize> = (1..=n)
            .flat_map(|k| Shard { k, n }.select(&runs))
            .map(|r| r.index)
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..400).collect::<Vec<_>>(), "{n} shards");
    }
    let shard: Shard = "3/7".parse().unwrap();
    assert_eq!(shard, Shard { k: 3, n: 7 });
    assert_eq!(shard.select(&runs)[0].index, 2);
    assert_eq!(shard.select(&runs)[1].index, 9);
    // A family (the five thresholds of one vm.min_free_kbytes and seed, 80 runs apart) stays in
    // one shard, so it is still simulated once: 80 families over 7 shards, 11 or 12 each.
    for k in 1..=7 {
        let mine = Shard { k, n: 7 }.select(&runs);
        assert!(
            mine.len() == 55 || mine.len() == 60,
            "{k}/7: {} runs",
            mine.len()
        );
        for r in &mine {
            let family = runs.iter().filter(|o| o.family() == r.family());
            assert_eq!(family.clone().count(), 5);
            for o in family {
                assert!(
                    mine.iter().any(|m| m.index == o.index),
                    "{} left {k}/7",
                    o.id
                );
            }
        }
    }
    assert_eq!(
        "0/4".parse::<Shard>().unwrap_err().to_string(),
        "--shard 0/4: K is out of range: write K/N with 1 ≤ K ≤ N, e.g. 3/8 for the third of \
         eight slices"
    );
    assert!("4".parse::<Shard>().is_err());
}

#[test]
fn sweep_values_are_checked_where_written() {
    assert_eq!(
        error(&with(
            "sweep:\n  grid:\n    vm.extfrag_threshold: [0, 2000]\n  seeds: 2\n"
        )),
        "t.yaml:9:31: sweep.grid.vm.extfrag_threshold[1]: tunables.vm.extfrag_threshold: \
         vm.extfrag_threshold = 2000 is out of range: allowed 0 to 1000"
    );
    assert_eq!(
        error(&with("sweep:\n  grid: {seed: [1]}\n  seeds: 0\n")),
        "t.yaml:9:10: sweep.seeds: 0 seeds: allowed 1 or more"
    );
    // Any --set key can be an axis: kernels keep their spelling.
    let s = Scenario::parse(
        &with(
            "sweep:\n  grid: {kernel: [3.10, 5.15], kmem_accounting: [true, false]}\n  seeds: 1\n",
        ),
        "t.yaml",
    )
    .unwrap();
    let runs = s.sweep.as_ref().unwrap().runs(&s);
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[1].id, "kernel=3.10,kmem_accounting=false,seed#0");
    assert_eq!(runs[3].scenario(&s).unwrap().kernel, "5.15");
}

#[test]
fn command_line_axes_build_the_same_grid_as_the_file() {
    let file = Scenario::load(&scenarios_dir().join("sweep-extfrag-minfree.yaml")).unwrap();
    let mut grid = Grid::default();
    grid.set_axis("vm.extfrag_threshold=0,250,500,750,1000")
        .unwrap();
    grid.set_axis("vm.min_free_kbytes=1").unwrap();
    grid.set_axis("vm.min_free_kbytes=16133, 67584,135168,270336")
        .unwrap();
    assert_eq!(&grid, &file.sweep.as_ref().unwrap().grid);
    assert_eq!(
        grid.set_axis("vm.extfrag_threshold=0,,5")
            .unwrap_err()
            .to_string(),
        "--set vm.extfrag_threshold=0,,5: expected KEY=V1,V2,… with no empty key or value"
    );
}

#[test]
fn the_json_schema_is_json_and_names_the_top_level_keys() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    let keys: Vec<&str> = props.keys().map(String::as_str).collect();
    for key in [
        "name",
        "description",
        "seed",
        "kernel",
        "machine",
        "tunables",
        "transparent_hugepage",
        "kmem_accounting",
        "initial",
        "workload",
        "actions",
        "probes",
        "duration",
        "outputs",
        "sweep",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(!keys.contains(&"source"));
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["name", "kernel", "machine", "duration"]);
    let defs = &schema["$defs"];
    assert!(defs["Tunables"]["properties"]
        .get("vm.extfrag_threshold")
        .is_some());
    assert_eq!(defs["Tunables"]["additionalProperties"], false);
    assert_eq!(
        defs["ZoneSpec"]["properties"]["zone"]["enum"],
        serde_json::json!(["DMA", "DMA32", "Normal", "Movable"])
    );
    assert!(defs["AllocProbe"]["properties"]["gfp"]["pattern"]
        .as_str()
        .unwrap()
        .contains("GFP_"));
    // Units are strings with patterns.
    assert_eq!(defs["Duration"]["type"], "string");
    assert_eq!(defs["Rate"]["type"], "string");
    assert!(defs["Size"]["oneOf"][0]["pattern"]
        .as_str()
        .unwrap()
        .contains("GgTt"));
}

#[test]
fn shipped_scenarios_load_and_round_trip() {
    let names = [
        "seed-rhel7-node.yaml",
        "seed-failing-node.yaml",
        "seed-nokmem.yaml",
        "kernel-5.15-node.yaml",
        "sweep-extfrag-minfree.yaml",
    ];
    for name in names {
        let path = scenarios_dir().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(&format!("# {name}: ")),
            "{name} has a comment header"
        );
        if name == "seed-failing-node.yaml" && common::captures_dir().is_none() {
            continue;
        }
        let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut back = Scenario::parse(&s.to_yaml(), "round-trip").unwrap();
        back.source = s.source.clone();
        assert_eq!(back, s, "{name} reads back from its own YAML");
    }
}

#[test]
fn seed_node_scenarios_use_the_seed_report_numbers() {
    let s = Scenario::load(&scenarios_dir().join("seed-rhel7-node.yaml")).unwrap();
    let z = &s.machine.zones;
    // present/managed in the report's kB, as pages.
    assert_eq!((z[0].present, z[0].managed), (Pages(3998), Pages(3977)));
    assert_eq!(
        (z[1].present, z[1].managed),
        (Pages(782_303), Pages(721_118))
    );
    assert_eq!(
        (z[2].present, z[2].managed),
        (Pages(3_407_872), Pages(3_341_755))
    );
    // "4194173 pages RAM" in the report.
    assert_eq!(z.iter().map(|z| z.present.0).sum::<u64>(), 4_194_173);
    assert_eq!(s.machine.cpus, 4);
    assert!(s.kmem_accounting);
    assert_eq!(s.kernel, "3.10-rhel7.3");
    let nokmem = Scenario::load(&scenarios_dir().join("seed-nokmem.yaml")).unwrap();
    assert!(!nokmem.kmem_accounting);
    assert_eq!(nokmem.machine, s.machine);
    let modern = Scenario::load(&scenarios_dir().join("kernel-5.15-node.yaml")).unwrap();
    assert_eq!(modern.profile().unwrap().name, "5.15");
}

#[test]
fn the_failing_node_starts_from_the_seed_captures() {
    if common::captures_dir().is_none() {
        return;
    }
    let s = Scenario::load(&scenarios_dir().join("seed-failing-node.yaml")).unwrap();
    let files = s.capture_files();
    assert_eq!(files.len(), 2);
    let report = std::fs::read_to_string(&files[0]).unwrap();
    assert!(report.contains("page allocation failure: order:6, mode:0x10c0d0"));
    let slabinfo = std::fs::read_to_string(&files[1]).unwrap();
    assert_eq!(slabinfo.matches("nf_conntrack_ffff").count(), 8);
    // The seed's remedies, in the order its author tried them.
    let kinds: Vec<String> = s
        .actions
        .iter()
        .map(|a| format!("{:?}", a.kind()))
        .collect();
    assert_eq!(kinds, ["DropCaches(2)", "CompactMemory"]);
}

#[test]
fn missing_files_and_bad_event_logs_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        format!("{BASE}initial:\n  capture: [there.txt, missing.txt]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("there.txt"),
        "Node 0, zone DMA 1 0 0 0 0 0 0 0 0 0 0\n",
    )
    .unwrap();
    let err = Scenario::load(&scenario).unwrap_err().to_string();
    let file = scenario.display().to_string();
    assert_eq!(
        err,
        format!(
            "{file}:8:24: initial.capture[1]: capture file {} does not exist (paths are relative \
             to the scenario file's folder)",
            dir.path().join("missing.txt").display()
        )
    );

    std::fs::write(
        &scenario,
        format!("{BASE}workload:\n  pods:\n    arrivals: {{replay: events.csv}}\n    lifetime: {{fixed: 1h}}\n"),
    )
    .unwrap();
    let csv = dir.path().join("events.csv");
    std::fs::write(&csv, "time,event,pod\n0s,start,a\n1h,stop,b\n").unwrap();
    assert_eq!(
        Scenario::load(&scenario).unwrap_err().to_string(),
        format!("{}:3:9: pod `b` stops but is not running", csv.display())
    );
    std::fs::write(&csv, "time,event,pod\n0s,start,a\n1h,stop,a\n").unwrap();
    let s = Scenario::load(&scenario).unwrap();
    assert_eq!(s.replay_events().unwrap().unwrap().len(), 2);
}

#[test]
fn unreadable_scenarios_name_the_file() {
    let err = Scenario::load(Path::new("/nonexistent/s.yaml")).unwrap_err();
    assert!(matches!(err, ScenarioError::Read { .. }));
    assert!(err
        .to_string()
        .starts_with("/nonexistent/s.yaml: cannot read: "));
}

mod garbage {
    use super::*;
    use crate::jargon;
    use proptest::prelude::*;

    fn seed_node() -> String {
        std::fs::read_to_string(scenarios_dir().join("seed-rhel7-node.yaml")).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Damaged scenario files never panic, and every error is located inside the text.
        #[test]
        fn damaged_files_give_located_errors(at in 0usize..4000, len in 0usize..40, insert in "\\PC{0,12}") {
            let text = seed_node();
            let chars: Vec<char> = text.chars().collect();
            let at = at.min(chars.len());
            let end = (at + len).min(chars.len());
            let damaged: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
            if let Err(e) = Scenario::parse(&damaged, "t.yaml") {
                match e {
                    ScenarioError::At { file, line, column, kind, message } => {
                        prop_assert_eq!(file, "t.yaml");
                        prop_assert!(line >= 1 && line as usize <= damaged.lines().count() + 1);
                        prop_assert!(column >= 1);
                        prop_assert!(!message.is_empty());
                        // YAML syntax errors are the reader's own (`plain scalar`, `flow
                        // mapping`); everything else speaks the file format.
                        if kind != ErrorKind::Syntax {
                            let words = jargon(&format!("t.yaml:{line}:{column}: {message}"));
                            prop_assert!(words.is_empty(), "{} in {}", words.join(", "), message);
                        }
                    }
                    other => prop_assert!(false, "unlocated error {other}"),
                }
            }
        }

        #[test]
        fn random_overrides_never_panic(key in "[a-z_.0-9]{0,30}", value in "\\PC{0,20}") {
            let mut s = Scenario::parse(PODS, "t.yaml").unwrap();
            let before = s.clone();
            if apply_override(&mut s, &format!("{key}={value}")).is_err() {
                prop_assert_eq!(s, before);
            }
        }
    }
}

/// A number that is not finite is quoted as the file writes it (`.nan`, `.inf`), not as Rust
/// prints it (`NaN`, `inf`).
#[test]
fn non_finite_numbers_are_quoted_as_written() {
    for (text, written) in [
        (
            with("workload: {pods: {arrivals: {poisson: 1/h}, lifetime: {lognormal: {median: 1h, sigma: .nan}}}}\n"),
            "sigma .nan: allowed above 0 up to 10",
        ),
        (
            with("workload: {leaks: {zombie_memcg: .inf}}\n"),
            ".inf is not a share: allowed 0 to 1",
        ),
        (
            with("sweep: {grid: {vm.extfrag_threshold: [1]}, seeds: 1, target: -.inf}\n"),
            "target -.inf is not a probability",
        ),
    ] {
        let message = error(&text);
        assert!(message.contains(written), "{message}");
        assert!(!message.contains("NaN") && !message.contains(" inf"), "{message}");
    }
}
