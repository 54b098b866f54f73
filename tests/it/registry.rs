//! The check registry against the documentation: for every kind, the keys its parser reads are
//! exactly the keys its page lists, and the keys every kind shares are exactly those the index
//! lists. A key read but not documented is a key users cannot discover; a key documented but not
//! read is rejected as unknown the day someone uses it.
//!
//! The keys a parser reads are the ones its [`TableReader`] records as known (the same list the
//! "did you mean" help offers). Parsers read their keys whether or not they are present, so an
//! empty table shows them all; the kind's documented example is read too, in case a key is only
//! asked for once another is set.

use std::collections::BTreeSet;

use lakegate::{Diags, SourceFile};
use lakegate::{KindSpec, REGISTRY, read_common};
use lakegate::{TableReader, parse_document};

use crate::support::repo;

/// The keys `read` asks for on the first `[[check]]` table of `text`.
fn keys_read(text: &str, read: impl Fn(&mut TableReader<'_, '_>)) -> BTreeSet<String> {
    let file = SourceFile::new("t.toml", text);
    let doc = parse_document(&file, text).unwrap_or_else(|d| panic!("{text}: {d:?}"));
    let diags = Diags::default();
    let mut top = TableReader::new(&file, &diags, doc.get_ref(), 0..0, "the suite");
    let mut checks = top.table_array("check");
    let check = checks.first_mut().expect("a [[check]] table");
    read(check);
    check.known().iter().map(ToString::to_string).collect()
}

/// The keys of a kind's parser: over an empty table and over its documented example.
fn kind_keys(spec: &KindSpec) -> BTreeSet<String> {
    let read = |t: &mut TableReader<'_, '_>| {
        (spec.parse)(t);
    };
    let mut keys = keys_read("[[check]]\n", read);
    keys.extend(keys_read(spec.example, read));
    keys
}

/// The keys in the first table under `## heading` of a Markdown page: the first column's
/// backticked names (`` | `min` | … ``).
fn documented_keys(rel: &str, heading: &str) -> BTreeSet<String> {
    let page = std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let section = page
        .split(&format!("## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("{rel} has no `## {heading}`"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(k, _)| k.to_string()))
        .collect()
}

/// `what` reads `read` and documents `documented`; empty when they agree.
fn mismatch(what: &str, read: &BTreeSet<String>, documented: &BTreeSet<String>) -> Option<String> {
    let undocumented: Vec<_> = read.difference(documented).collect();
    let unread: Vec<_> = documented.difference(read).collect();
    (!undocumented.is_empty() || !unread.is_empty())
        .then(|| format!("{what}: read but not documented {undocumented:?}; documented but not read {unread:?}"))
}

#[test]
fn every_kind_reads_exactly_the_keys_its_docs_list() {
    assert!(REGISTRY.len() > 10, "the registry is nearly empty");
    let mut problems = Vec::new();
    for spec in REGISTRY {
        let read = kind_keys(spec);
        assert!(!read.is_empty(), "{}: the parser read no key at all", spec.name);
        let page = format!("docs/checks/{}.md", spec.name);
        problems.extend(mismatch(&page, &read, &documented_keys(&page, "Keys")));
        // The page is generated from the kind's `keys`; compare with the source too, so a stale page
        // and a wrong list are told apart.
        let listed: BTreeSet<String> = spec.keys.iter().map(|k| k.name.to_string()).collect();
        problems.extend(mismatch(&format!("src/checks/{}.rs keys", spec.name), &read, &listed));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_common_keys_are_exactly_those_the_index_lists() {
    let mut read = keys_read("[[check]]\n", |t| {
        read_common(t, toml::Spanned::new(0..0, "not_null".to_string()));
    });
    // `kind` is read before the common keys, to choose the parser.
    read.insert("kind".into());
    let documented = documented_keys("docs/checks/README.md", "Keys every check accepts");
    assert!(documented.contains("where"), "{documented:?}");
    let problems = mismatch("docs/checks/README.md", &read, &documented);
    assert!(problems.is_none(), "{}", problems.unwrap_or_default());
}

#[test]
fn no_kind_key_shadows_a_common_key() {
    // A kind reading `name` or `where` itself would silently change what the common key means.
    let common: BTreeSet<String> = lakegate::COMMON_KEYS.iter().map(|k| k.name.to_string()).collect();
    for spec in REGISTRY {
        let own: BTreeSet<String> = spec.keys.iter().map(|k| k.name.to_string()).collect();
        let shared: Vec<_> = own.intersection(&common).collect();
        assert!(
            shared.is_empty(),
            "{} documents common keys as its own: {shared:?}",
            spec.name
        );
    }
}
