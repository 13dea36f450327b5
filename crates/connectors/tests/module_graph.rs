//! The shape of `src/`: which top-level module names which.
//!
//! Every top-level module of the crate is a **connector** (one folder per kind of source), a
//! **shared** module (the vocabulary every source speaks, HTTP, JSON text, decoding helpers) or the
//! **registry** (the one place that turns a parsed input into a source). The rule:
//!
//! - only the registry names a connector: a connector names shared modules only (never another
//!   connector, never the registry), and a shared module names no connector and not the registry;
//! - the graph of top-level modules has no cycle.
//!
//! A module names another through a path in its code: `crate::x…`, `super::…` climbing to the
//! crate root, or a name the crate root re-exports (`crate::SourceContext` names `source`).
//! Comments (doc links included), strings and character literals are not code and are skipped.
//! Adding a top-level module means classifying it below.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One folder (or file) per kind of source.
const CONNECTORS: &[&str] = &[
    "bigcommerce",
    "bigquery",
    "commercetools",
    "csv",
    "json",
    "url_source",
];
/// What connectors share; none of them names a connector.
const SHARED: &[&str] = &["arena", "decode", "google", "http", "json_text", "source"];
/// The dispatcher from a parsed input to a connector.
const REGISTRY: &str = "registry";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    /// `::`
    Path,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// The tokens of `text` that matter for paths, each with its line; comments, strings, character
/// literals, lifetimes and numbers are dropped.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips to the end of a (non-raw) string whose opening quote is at `i`.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < chars.len() && chars[i] != '"' {
            if chars[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(i, &mut line);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character: '\n', '\'', '\u{1F600}'.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or a label.
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let raw_prefix = matches!(ident.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '#' | '"'))) {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1;
                loop {
                    if i >= chars.len() {
                        break;
                    }
                    if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            } else if matches!(ident.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_string(i, &mut line);
            } else if ident == "r" && at(i) == '#' {
                // A raw identifier: `r#type`.
                i += 1;
            } else if !(ident == "b" && at(i) == '\'') {
                out.push((Token::Ident(ident), line));
            }
        } else if c.is_ascii_digit() {
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Token::Path, line));
            i += 2;
        } else {
            out.push((
                match c {
                    '{' => Token::Open,
                    '}' => Token::Close,
                    ',' => Token::Comma,
                    ';' => Token::Semi,
                    _ => Token::Other,
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

fn ident(tokens: &[(Token, usize)], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some((Token::Ident(name), _)) => Some(name),
        _ => None,
    }
}

fn is(tokens: &[(Token, usize)], i: usize, token: &Token) -> bool {
    tokens.get(i).is_some_and(|(t, _)| t == token)
}

/// The first names of the use tree (or path) at `i`: `a` for `a::b`, `a` and `b` for
/// `{a::x, b}`.
fn tree_roots(tokens: &[(Token, usize)], i: usize) -> Vec<String> {
    if let Some(name) = ident(tokens, i) {
        return vec![name.to_owned()];
    }
    if !is(tokens, i, &Token::Open) {
        return Vec::new();
    }
    let mut roots = Vec::new();
    let mut depth = 0;
    let mut expect_root = false;
    for (token, _) in tokens.iter().skip(i) {
        match token {
            Token::Open => {
                depth += 1;
                expect_root = depth == 1;
            }
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Comma => expect_root = depth == 1,
            Token::Ident(name) if expect_root => {
                roots.push(name.clone());
                expect_root = false;
            }
            _ => expect_root = false,
        }
    }
    roots
}

/// The crate-root names `text` refers to, each with its line, for a file whose module path
/// (from the crate root) is `module`. Inline modules (`mod tests { … }`) are followed, so that
/// `super` climbs from where it is written.
fn root_references(text: &str, module: &[String]) -> Vec<(String, usize)> {
    let tokens = tokens(text);
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new();
    for i in 0..tokens.len() {
        let (token, line) = &tokens[i];
        match token {
            Token::Open => {
                depth += 1;
                if i >= 2
                    && ident(&tokens, i - 2) == Some("mod")
                    && let Some(name) = ident(&tokens, i - 1)
                {
                    inline.push((name.to_owned(), depth));
                }
            }
            Token::Close => {
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(name) if i == 0 || !is(&tokens, i - 1, &Token::Path) => {
                let after = match name.as_str() {
                    "crate" if is(&tokens, i + 1, &Token::Path) => Some(i + 2),
                    "super" => {
                        let mut climbs = 1;
                        let mut k = i + 1;
                        while is(&tokens, k, &Token::Path) && ident(&tokens, k + 1) == Some("super")
                        {
                            climbs += 1;
                            k += 2;
                        }
                        let here = module.len() + inline.len();
                        assert!(
                            climbs <= here,
                            "`super` climbs above the crate root in {module:?} at line {line}"
                        );
                        (climbs == here && is(&tokens, k, &Token::Path)).then_some(k + 1)
                    }
                    _ => None,
                };
                if let Some(after) = after {
                    for root in tree_roots(&tokens, after) {
                        found.push((root, *line));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The top-level modules that `lib.rs` declares, and the module each root re-export comes from.
fn crate_root(lib: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let tokens = tokens(lib);
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        if ident(&tokens, i) == Some("mod")
            && let Some(name) = ident(&tokens, i + 1)
        {
            modules.insert(name.to_owned());
        }
        if ident(&tokens, i) == Some("use") {
            let from = ident(&tokens, i + 1).map(str::to_owned);
            let mut k = i + 1;
            while k < tokens.len() && !is(&tokens, k, &Token::Semi) {
                let leaf = matches!(
                    tokens.get(k + 1),
                    Some((Token::Comma | Token::Close | Token::Semi, _))
                );
                if let (Some(name), Some(from), true) = (ident(&tokens, k), &from, leaf) {
                    reexports.insert(name.to_owned(), from.clone());
                }
                k += 1;
            }
            i = k;
        }
        i += 1;
    }
    (modules, reexports)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `http/url_policy/tests.rs` is
/// `["http", "url_policy", "tests"]`, `json/mod.rs` is `["json"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut path: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// Where one top-level module names another: `(from, to) → "file:line"` (the first place).
type Edges = BTreeMap<(String, String), String>;

/// Every edge between top-level modules of the crate at `src`, and the modules found on disk.
fn module_graph(src: &Path) -> (BTreeSet<String>, Edges) {
    let lib = fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let (declared, reexports) = crate_root(&lib);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut on_disk = BTreeSet::new();
    let mut edges = Edges::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        if relative == Path::new("lib.rs") {
            continue;
        }
        let module = module_path(relative);
        let from = module[0].clone();
        on_disk.insert(from.clone());
        let text = fs::read_to_string(&file).expect("a source file");
        for (name, line) in root_references(&text, &module) {
            let to = if declared.contains(&name) {
                name
            } else if let Some(module) = reexports.get(&name) {
                module.clone()
            } else {
                panic!(
                    "{}:{line}: `crate::{name}` is neither a module nor a re-export of lib.rs",
                    relative.display()
                );
            };
            if to != from {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| format!("src/{}:{line}", relative.display()));
            }
        }
    }
    assert_eq!(
        on_disk, declared,
        "the top-level modules on disk and those lib.rs declares differ"
    );
    (on_disk, edges)
}

/// The edges that break the rule: only the registry names a connector, and nothing names the
/// registry.
fn violations(edges: &Edges) -> Vec<String> {
    edges
        .iter()
        .filter(|((from, to), _)| {
            to == REGISTRY || (CONNECTORS.contains(&to.as_str()) && from != REGISTRY)
        })
        .map(|((from, to), place)| format!("{from} names {to} ({place})"))
        .collect()
}

/// A cycle of the graph, as the modules along it, if there is one.
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|&on| on == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for &to in next.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(to, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for &node in next.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(node, &next, &mut path, &mut done) {
            return Some(cycle);
        }
    }
    None
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_top_level_module_is_classified() {
    let (modules, _) = module_graph(&src());
    let classified: BTreeSet<String> = CONNECTORS
        .iter()
        .chain(SHARED)
        .chain([REGISTRY].iter())
        .map(|name| name.to_string())
        .collect();
    assert_eq!(
        modules, classified,
        "classify each top-level module as a connector, a shared module or the registry"
    );
}

#[test]
fn only_the_registry_names_a_connector() {
    let (_, edges) = module_graph(&src());
    let broken = violations(&edges);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_module_graph_has_no_cycle() {
    let (_, edges) = module_graph(&src());
    if let Some(cycle) = find_cycle(&edges) {
        let places: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                format!(
                    "{} → {} ({})",
                    pair[0],
                    pair[1],
                    edges[&(pair[0].clone(), pair[1].clone())]
                )
            })
            .collect();
        panic!("a cycle: {}", places.join(", "));
    }
}

// The checks above are only as good as the scanner: these show it on text it must read right.

fn names(text: &str, module: &[&str]) -> Vec<String> {
    let module: Vec<String> = module.iter().map(|part| part.to_string()).collect();
    root_references(text, &module)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn the_scanner_reads_paths_groups_and_super() {
    let text = r##"
        use crate::http::{ChunkStream, display_url};
        use crate::{csv, json::JsonDecoder};
        use super::super::paged::Pages;
        use super::row::Row;
        pub(crate) fn f() -> crate::SourceContext { crate::arena::new(pub(crate)) }
        mod tests {
            use super::*;
            use super::super::super::decode::X;
        }
        let x = ::std::mem::take(y);
    "##;
    assert_eq!(
        names(text, &["bigquery", "pages"]),
        [
            "http",
            "csv",
            "json",
            "paged",
            "SourceContext",
            "arena",
            "decode"
        ]
    );
}

#[test]
fn the_scanner_skips_comments_strings_and_characters() {
    let text = r###"
        // use crate::csv;
        /// [`crate::json`]
        //! crate::bigquery
        /* crate::http /* nested crate::arena */ crate::decode */
        let a = "crate::google \" crate::registry";
        let b = r#"crate::source "quoted" "#;
        let c = br"crate::url_source";
        let d = b'"'; let e = '"'; let f = '\''; let g: &'static str = "";
        let h = crate::commercetools::X;
    "###;
    assert_eq!(names(text, &["csv"]), ["commercetools"]);
}

#[test]
fn the_rule_and_the_cycle_check_catch_a_planted_edge() {
    let edge = |from: &str, to: &str| ((from.to_owned(), to.to_owned()), "here".to_owned());
    let clean: Edges = [
        edge("registry", "csv"),
        edge("registry", "source"),
        edge("csv", "json_text"),
        edge("source", "http"),
    ]
    .into_iter()
    .collect();
    assert!(violations(&clean).is_empty());
    assert_eq!(find_cycle(&clean), None);

    let mut planted = clean.clone();
    planted.extend([
        edge("bigcommerce", "commercetools"),
        edge("source", "registry"),
    ]);
    assert_eq!(
        violations(&planted),
        [
            "bigcommerce names commercetools (here)",
            "source names registry (here)"
        ]
    );
    assert_eq!(
        find_cycle(&planted),
        Some(vec!["registry".into(), "source".into(), "registry".into()])
    );
}
