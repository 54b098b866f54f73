//! Tidy checks over the source tree: rules of ARCHITECTURE.md that a test keeps, so they hold
//! without anyone remembering them.

use std::path::{Path, PathBuf};

use crate::support::repo;

/// Every `.rs` file under `src/`, as (path relative to the repository, text), sorted.
fn sources() -> Vec<(String, String)> {
    let root = repo();
    let mut files: Vec<(String, String)> = walkdir::WalkDir::new(root.join("src"))
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = relative(&root, e.path());
            (rel, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() > 20, "found only {} source files", files.len());
    files
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map_or_else(|_| PathBuf::from(path), PathBuf::from)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        offenders.is_empty(),
        "these files do not start with a `//!` comment saying why the module exists:\n{}",
        offenders.join("\n")
    );
}

/// What only `src/engine/` may name: a DataFusion session, a data frame, or running a plan.
const ENGINE_ONLY: &[&str] = &[
    "SessionContext",
    "DataFrame",
    "execute_stream",
    "create_physical_plan",
    ".collect().await",
];

/// `path:line: text` for every line of code (comments left out) that names what only the engine may.
fn engine_names_outside_the_engine(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (rel, text) in files {
        if rel.starts_with("src/engine/") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(name) = ENGINE_ONLY.iter().find(|n| code.contains(*n)) {
                found.push(format!("{rel}:{}: `{name}` in `{}`", i + 1, code.trim_end()));
            }
        }
    }
    found
}

#[test]
fn the_engine_rule_sees_what_it_forbids() {
    // The scanner of the next test, over made-up files: a forbidden name in code outside the engine
    // is found, inside the engine or in a comment it is not.
    let files =
        vec![
        ("src/engine/run.rs".to_string(), "let ctx = SessionContext::new();\n".to_string()),
        (
            "src/history/x.rs".to_string(),
            "//! Not a DataFrame.\n// A DataFrame in prose.\nfn f(df: DataFrame) {}\nlet b = df.collect().await?;\n"
                .to_string(),
        ),
    ];
    let found = engine_names_outside_the_engine(&files);
    assert_eq!(
        found,
        [
            "src/history/x.rs:3: `DataFrame` in `fn f(df: DataFrame) {}`",
            "src/history/x.rs:4: `.collect().await` in `let b = df.collect().await?;`",
        ]
    );
}

#[test]
fn only_the_engine_holds_datafusion() {
    let found = engine_names_outside_the_engine(&sources());
    assert!(
        found.is_empty(),
        "only src/engine/ may hold a DataFusion session, a data frame or run a plan ({}); move this code \
         into the engine and call it from there:\n{}",
        ENGINE_ONLY.join(", "),
        found.join("\n")
    );
}

/// The longest a function may be without a reason written above it (`// Long because …`).
const MAX_FN_LINES: usize = 100;

/// A line of code with string and character literals emptied and the trailing comment cut, so
/// that only real braces count.
fn code_only(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == '"' {
                        break;
                    }
                }
                out.push('"');
            }
            // A char literal ('{', '\''), not a lifetime ('a).
            '\'' if chars.clone().nth(1) == Some('\'') || chars.peek() == Some(&'\\') => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == '\'' {
                        break;
                    }
                }
                out.push_str("''");
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

/// `(lines, name, first line)` of every function in a file: from its `fn` line to its closing brace.
fn function_lengths(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<String> = text.lines().map(code_only).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ").filter(|at| {
            let before = line[..*at].trim();
            before.is_empty()
                || before
                    .split_whitespace()
                    .all(|w| ["pub", "pub(crate)", "pub(super)", "async", "const", "unsafe"].contains(&w))
        }) else {
            continue;
        };
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut started) = (0i32, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            if !started && l.contains(';') && !l.contains('{') {
                break;
            }
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if started && depth == 0 {
                out.push((j - i + 1, name.clone(), i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn functions_are_short_or_say_why_not() {
    let mut long = Vec::new();
    for (rel, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (n, name, first) in function_lengths(&text) {
            // The reason goes in the comment lines right above the function (or its attributes).
            let reason = lines[..first - 1]
                .iter()
                .rev()
                .take_while(|l| {
                    let t = l.trim_start();
                    t.starts_with("//") || t.starts_with("#[")
                })
                .any(|l| l.contains("Long because"));
            if n > MAX_FN_LINES && !reason {
                long.push(format!("{rel}:{first}: `{name}` is {n} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines: split them, or write `// Long because …` above one that reads \
         better whole:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_rule_counts_what_it_should() {
    let text = "fn short() {\n    let s = \"}}}\";\n    let c = '{';\n}\n\npub(crate) async fn two<'a>(x: &'a str) {\n    // }\n    if x.is_empty() {\n    }\n}\nfn decl();\n";
    assert_eq!(
        function_lengths(text),
        [(4, "short".to_string(), 1), (5, "two".to_string(), 6)]
    );
}
