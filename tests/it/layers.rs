//! The layers of `src/` point one way: every top-level module imports (`crate::x`) only modules of
//! lower layers, so the import graph has no cycle and no upward arrow. ARCHITECTURE.md draws the
//! same layers; a new module is added to `LAYERS` where it belongs.

use std::collections::BTreeMap;

use crate::support::repo;

/// Bottom to top. A module may import modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["clock", "duration", "paths", "schedule", "term", "types"],
    &["diag", "results", "schemas"],
    &["expr_depth", "fs_atomic", "progress", "spanned"],
    &["config", "fragment", "layout"],
    &["checks"],
    &["suite", "docs", "json_schema"],
    &["engine"],
    &["history"],
    &["alerts", "run", "report"],
    &["promote", "lineage", "suggest"],
    &["outputs"],
    &["audit"],
    &["exit"],
    &["cli"],
    // src/bin: binaries use the library's public items (`lakegate::…`), no `crate::`.
    &["bin"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `crate::x` paths in a file's code (comments and its unit-test module left out).
fn imports(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let mut out = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let name: String = line[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Top-level module → the top-level modules it imports, with a file that does.
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = repo().join("src");
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for e in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !rel.ends_with(".rs") || rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(e.path()).unwrap();
        let entry = g.entry(top.clone()).or_default();
        for m in imports(&text) {
            if m != top {
                entry.entry(m).or_insert_with(|| rel.clone());
            }
        }
    }
    g
}

#[test]
fn modules_import_only_lower_layers() {
    let g = graph();
    let mut problems = Vec::new();
    for (module, deps) in &g {
        let Some(l) = layer_of(module) else {
            problems.push(format!(
                "`{module}` is in no layer: add it to LAYERS in tests/it/layers.rs"
            ));
            continue;
        };
        for (dep, file) in deps {
            match layer_of(dep) {
                Some(d) if d < l => {}
                Some(_) => problems.push(format!(
                    "src/{file}: `{module}` (layer {l}) imports `{dep}`, which is not below it"
                )),
                None => problems.push(format!("`{dep}` (imported by src/{file}) is in no layer")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_layer_test_sees_imports() {
    // The graph is read from the sources: a known import must be found, or the test above proves nothing.
    let g = graph();
    assert!(g["run"].contains_key("engine"), "{g:?}");
    assert!(g["engine"].contains_key("checks"), "{g:?}");
    assert_eq!(imports("use crate::a::b;\n// crate::c\nx(crate::d);"), ["a", "d"]);
}

#[test]
fn the_report_is_rendered_from_results_never_from_data() {
    // The report may read the result model and the history store; it never opens a dataset or
    // runs a query, so it must not reach the engine (nor the run, which does).
    let g = graph();
    let report = &g["report"];
    assert!(
        report.contains_key("results") && report.contains_key("history"),
        "{report:?}"
    );
    for forbidden in ["engine", "run", "promote"] {
        assert!(
            !report.contains_key(forbidden),
            "report imports `{forbidden}`: {report:?}"
        );
    }
}
