//! The shape of the crate, checked: the graph of its modules drawn from the
//! `crate::…` paths in `src/` (imports and inline paths; comments and
//! unit-test files are skipped) must keep the layering that ARCHITECTURE.md
//! describes.
//!
//! Print the graph with
//! `cargo test --test api architecture -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A node of the graph: a top-level module, except that `http` is split
/// into its areas (`http::api`, `http::admin`) and the rest (`http`).
fn unit_of(module: &[String]) -> String {
    match module {
        [] => "lib".into(),
        [top, area, ..] if top == "http" && (area == "api" || area == "admin") => {
            format!("http::{area}")
        }
        [top, ..] => top.clone(),
    }
}

/// The module path of a source file: `src/http/api/mod.rs` -> `[http, api]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !is_test_file(&path) {
            out.push(path);
        }
    }
}

/// Unit-test files (`tests.rs`, `tests/…`) may use what they test with: a
/// round trip through the importer tests the exporter. They are not part of
/// the shape of the crate.
fn is_test_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs") || path.iter().any(|p| p == "tests")
}

/// The first segments of every `crate::` path in `code`, with groups
/// (`crate::{a::X, b}`) expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` and identifiers ending in "crate" are not paths of ours.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                found.push(segments(item));
            }
        } else {
            found.push(segments(rest));
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
}

/// `a::b::{c, d}` -> `[a, b]`; stops at the first non-identifier.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.trim().split("::") {
        let ident: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() || ident.chars().next().is_some_and(char::is_uppercase) {
            break;
        }
        let complete = ident.len() == part.trim().len();
        out.push(ident);
        if !complete {
            break;
        }
    }
    out
}

/// Code without comments (line comments and `//!`/`///` docs, whose
/// intra-doc links are not dependencies).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// unit -> units it uses, and per edge one file that shows it.
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let from = unit_of(&module_of(&src, &file));
        let code = without_comments(&std::fs::read_to_string(&file).expect("read file"));
        let node = edges.entry(from.clone()).or_default();
        for path in crate_paths(&code) {
            let to = unit_of(&path);
            if to != from {
                node.entry(to).or_insert_with(|| {
                    file.strip_prefix(&src)
                        .expect("under src")
                        .display()
                        .to_string()
                });
            }
        }
    }
    edges
}

/// Every cycle's nodes (strongly connected components of more than one node).
fn cycles(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    // Kosaraju: simple, and the graph has a few dozen nodes.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(n.to_owned()) {
            return;
        }
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, seen, out);
        }
        out.push(n.to_owned());
    }
    let forward: BTreeMap<String, BTreeSet<String>> = edges
        .iter()
        .map(|(k, v)| (k.clone(), v.keys().cloned().collect()))
        .collect();
    let mut backward: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &forward {
        for to in tos {
            backward.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for n in forward.keys() {
        visit(n, &forward, &mut seen, &mut order);
    }
    let mut assigned = BTreeSet::new();
    let mut components = Vec::new();
    for n in order.iter().rev() {
        let mut component = Vec::new();
        visit(n, &backward, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            components.push(component);
        }
    }
    components
}

fn print(edges: &BTreeMap<String, BTreeMap<String, String>>) {
    println!("module graph (unit -> units it uses):");
    for (from, tos) in edges {
        let list: Vec<&str> = tos.keys().map(String::as_str).collect();
        println!("  {from:<12} -> {}", list.join(", "));
    }
}

#[test]
fn the_module_graph_has_no_cycle() {
    let edges = graph();
    print(&edges);
    let cycles = cycles(&edges);
    assert!(cycles.is_empty(), "modules in a cycle: {cycles:?}");
}

#[test]
fn the_core_knows_no_shell_and_shells_do_not_use_each_other() {
    let edges = graph();
    // The core and the leaves below it: what each may use.
    let allowed: &[(&str, &[&str])] = &[
        ("domain", &[]),
        ("config", &["domain"]),
        ("secrets", &["domain"]),
        ("telemetry", &[]),
        ("memory", &[]),
        ("store", &["domain"]),
        ("backup", &["domain"]),
        ("notify", &["domain", "config"]),
        ("import", &["domain"]),
        // The WXR writer shares the reader's vocabulary of the format.
        ("export", &["domain", "import"]),
        // Moving comments in and out: drives the format readers and
        // writers into the core; the admin routes and the CLI call it.
        ("transfer", &["domain", "import", "export"]),
        ("http", &["domain", "config"]),
        ("http::api", &["domain", "config", "http"]),
        (
            "http::admin",
            &["domain", "config", "http", "import", "transfer"],
        ),
    ];
    let mut wrong = Vec::new();
    for (unit, may_use) in allowed {
        for (to, file) in edges.get(*unit).into_iter().flatten() {
            if !may_use.contains(&to.as_str()) {
                wrong.push(format!("{unit} uses {to} (in {file})"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn nothing_below_startup_uses_startup_or_cli() {
    let edges = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &edges {
        if matches!(from.as_str(), "cli" | "startup" | "lib" | "main") {
            continue;
        }
        for target in ["startup", "cli"] {
            if let Some(file) = tos.get(target) {
                wrong.push(format!("{from} uses {target} (in {file})"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
