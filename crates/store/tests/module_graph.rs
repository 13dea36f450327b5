//! The shape of `src/`: the top-level modules form no cycle. `store.rs` (the `Store` type, its
//! pools and signal) names no area module; each area (`authentications`, `sources_destinations`,
//! `tasks`, `runs`, `workers`, `schedule`) adds its own `impl Store` and names only what is below
//! it; the backends (`sqlite`, `postgres`) build a `Store` and are named by no module but the
//! `testkit`, which opens a store on each.
//!
//! A module names another through `crate::x` in its code, or through a name the crate root
//! re-exports (`crate::StoreError` names `error`). Comment lines are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Every `crate::name` in the code lines of `text` (comment lines skipped), including the names
/// of a `crate::{a, b::c}` group.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                names.insert(leading_ident(item.trim()));
            }
        } else {
            names.insert(leading_ident(rest));
        }
    }
    names.remove("");
    names
}

fn leading_ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// `name → module` for what `lib.rs` re-exports (`pub use error::{StoreError, …}`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for statement in flat.split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = used.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.trim().rsplit("::").next().unwrap_or("").to_owned();
            if !name.is_empty() {
                map.insert(name, module.trim().to_owned());
            }
        }
    }
    map
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let exported = reexports(&lib);
    let mut graph = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if module == "lib" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let names: BTreeSet<String> = crate_paths(&text)
            .into_iter()
            .map(|name| exported.get(&name).cloned().unwrap_or(name))
            .filter(|name| name != module && src.join(format!("{name}.rs")).exists())
            .collect();
        graph.insert(module.to_owned(), names);
    }
    graph
}

/// A cycle through `module`, if there is one (depth-first search).
fn cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    module: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|m| m == module) {
        let mut found = path[at..].to_vec();
        found.push(module.to_owned());
        return Some(found);
    }
    if done.contains(module) {
        return None;
    }
    path.push(module.to_owned());
    for next in graph.get(module).into_iter().flatten() {
        if let Some(found) = cycle(graph, next, path, done) {
            return Some(found);
        }
    }
    path.pop();
    done.insert(module.to_owned());
    None
}

#[test]
fn the_store_modules_form_no_cycle() {
    let graph = graph();
    assert!(graph.len() >= 10, "{graph:?}");
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(found) = cycle(&graph, module, &mut Vec::new(), &mut done) {
            panic!("a cycle among the store's modules: {}", found.join(" → "));
        }
    }
}

#[test]
fn the_store_type_names_no_area_and_no_backend() {
    let graph = graph();
    let store = &graph["store"];
    for area in [
        "authentications",
        "sources_destinations",
        "tasks",
        "runs",
        "workers",
        "schedule",
        "sqlite",
        "postgres",
    ] {
        assert!(!store.contains(area), "store.rs names {area}: {store:?}");
        for (module, names) in &graph {
            if ["sqlite", "postgres"].contains(&area) && module != area && module != "testkit" {
                assert!(!names.contains(area), "{module} names the backend {area}");
            }
        }
    }
}

#[test]
fn the_scanner_sees_paths_groups_and_reexports() {
    let text = "// crate::ignored\nuse crate::db::{Tx, args};\nuse crate::{StoreError, runs::x};\nlet _ = crate::key::f();";
    let names = crate_paths(text);
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["StoreError", "db", "key", "runs"]
    );
    let map = reexports("pub use error::{BoxError, StoreError};\npub use store::Store;");
    assert_eq!(map["StoreError"], "error");
    assert_eq!(map["Store"], "store");
}
