//! `lakegate explain` says what `check` will do, and `check` then does exactly that: the same
//! columns scanned, the same checks answered from Parquet statistics, the same number of queries
//! (when nothing fails and needs a sample).

use serde_json::Value;

use crate::support::Project;

fn ids_where(ex: &Value, answer: &str) -> Vec<String> {
    ex["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["answer"] == answer)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn explain_matches_what_check_then_does_on_the_demo_lake() {
    let p = Project::demo();
    let ex = p.run(&["explain", "--format", "json"]);
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    let ex = ex.json();
    let (_, run) = p.check_json(&["--no-history", "--no-alerts"]);
    for ds in run["datasets"].as_array().unwrap() {
        let name = ds["name"].as_str().unwrap();
        let e = ex["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == name)
            .unwrap();
        assert_eq!(e["scanned_columns"], ds["scanned_columns"], "{name}");
        let mut from_stats: Vec<String> = ds["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["from_statistics"] == true)
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        from_stats.sort();
        let mut said = ids_where(e, "statistics");
        said.sort();
        assert_eq!(said, from_stats, "{name}");
        // A run adds one sample query per failed check that has a sample.
        assert!(
            e["queries"].as_u64().unwrap() <= ds["queries"].as_u64().unwrap(),
            "{name}"
        );
    }
    let orders = ex["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "orders")
        .unwrap();
    assert_eq!(orders["format"], "parquet");
    assert!(ids_where(orders, "statistics").contains(&"orders.row_count".to_string()));
    assert!(ids_where(orders, "keyed_query").contains(&"orders.order_id.unique".to_string()));
    assert!(
        orders["scan_bytes"].as_u64().unwrap() < orders["bytes"].as_u64().unwrap(),
        "{orders}"
    );
    let text = p.run(&["explain", "orders"]);
    assert!(
        text.stdout.contains("from statistics: orders.row_count"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("customers"),
        "only the named dataset:\n{}",
        text.stdout
    );
}

#[test]
fn on_a_passing_suite_explain_counts_the_queries_check_runs() {
    let p = Project::new();
    p.file("lake/raw/t/a.csv", "id,v\n1,a\n2,b\n");
    p.suite(
        "t",
        "",
        "[[check]]\nkind = \"not_null\"\ncolumn = \"id\"\n\n[[check]]\nkind = \"unique\"\ncolumns = [\"v\"]\n",
    );
    let ex = p.run(&["explain", "--format", "json"]).json();
    let (code, run) = p.check_json(&["--no-history"]);
    assert_eq!(code, 0);
    let e = &ex["datasets"][0];
    assert_eq!(e["queries"], run["datasets"][0]["queries"], "{e}\n{run}");
    assert_eq!(e["queries"], 2, "one fused scan and one keyed query for a string key");
    assert_eq!(e["scanned_columns"], run["datasets"][0]["scanned_columns"]);
}
