//! `lakegate init` as a newcomer runs it: in an empty directory, and pointed at a folder of files
//! they already have; then `validate` and `check` on what it wrote.

use std::path::Path;
use std::process::Command;

use crate::support::NOW;

fn lakegate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(args)
        .current_dir(dir)
        .env_remove("LAKEGATE_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn init_on_a_folder_of_files_gives_suites_that_validate_and_pass() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder of data files, no zones: the demo lake's raw zone copied as `data/`.
    crate::fixtures::write_lake(&tmp.path().join("src-lake"));
    std::fs::rename(tmp.path().join("src-lake/raw"), tmp.path().join("data")).unwrap();
    let (code, out, err) = lakegate(tmp.path(), &["init", "--lake", "data"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Found 3 datasets"), "{out}");
    for ds in ["orders", "customers", "events"] {
        assert!(tmp.path().join(format!("checks/{ds}.toml")).is_file(), "{ds}");
        assert!(out.contains(&format!("raw/{ds}")), "{out}");
    }
    let (code, out, err) = lakegate(tmp.path(), &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("valid: 3 suites"), "{out}");
    let (code, out, err) = lakegate(tmp.path(), &["check", "--now", NOW]);
    assert_eq!(code, 0, "{out}{err}");

    // Twice: refused, nothing changed; --force replaces.
    std::fs::write(tmp.path().join("checks/orders.toml"), "# mine\n").unwrap();
    let (code, _, err) = lakegate(tmp.path(), &["init", "--lake", "data"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exist") && err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("checks/orders.toml")).unwrap(),
        "# mine\n"
    );
    let (code, _, err) = lakegate(tmp.path(), &["init", "--lake", "data", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_to_string(tmp.path().join("checks/orders.toml"))
            .unwrap()
            .contains("kind = \"row_count\"")
    );
}

#[test]
fn init_on_a_lake_with_zone_folders_keeps_its_zones() {
    let tmp = tempfile::tempdir().unwrap();
    crate::fixtures::write_lake(&tmp.path().join("lake"));
    let (code, out, err) = lakegate(tmp.path(), &["init", "--lake", "lake"]);
    assert_eq!(code, 0, "{err}");
    let toml = std::fs::read_to_string(tmp.path().join("lakegate.toml")).unwrap();
    assert!(
        toml.contains("root = \"lake\"") && toml.contains("cleaned = \"cleaned\""),
        "{toml}"
    );
    assert!(out.contains("Found 3 datasets"), "{out}");
    let (code, out, err) = lakegate(tmp.path(), &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn init_in_an_empty_directory_scaffolds_a_project_that_says_what_to_do_next() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = lakegate(tmp.path(), &["init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lakegate suggest raw/NAME --write"), "{out}");
    for z in ["raw", "cleaned", "curated", "quarantine"] {
        assert!(tmp.path().join("lake").join(z).is_dir(), "{z}");
    }
    // The project parses; with no suite yet, validate says how to start one.
    let (code, _, err) = lakegate(tmp.path(), &["validate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no suite files match `checks/*.toml` (relative to .)"),
        "{err}"
    );
    assert!(err.contains("lakegate suggest PATH --write"), "{err}");
    // The commented alerts and audit blocks are valid TOML once uncommented.
    let toml = std::fs::read_to_string(tmp.path().join("lakegate.toml")).unwrap();
    let uncommented: String = toml
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with('[')
                    || rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        uncommented.contains("\n[[alerts.email]]\n") && uncommented.contains("\n[audit]"),
        "{uncommented}"
    );
    std::fs::write(tmp.path().join("lakegate.toml"), uncommented).unwrap();
    std::fs::create_dir_all(tmp.path().join("lake/raw/t")).unwrap();
    std::fs::write(tmp.path().join("lake/raw/t/a.csv"), "id\n1\n").unwrap();
    std::fs::write(
        tmp.path().join("checks/t.toml"),
        "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n[[check]]\nkind = \"row_count\"\nmin = 1\n",
    )
    .unwrap();
    let (code, out, err) = lakegate(tmp.path(), &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
}
