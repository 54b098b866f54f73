//! Generated documentation must match the code.

use crate::support::repo;

#[test]
fn check_kind_pages_are_up_to_date() {
    let bless = std::env::var_os("LAKEGATE_BLESS").is_some();
    for (rel, content) in lakegate::docs::pages() {
        let path = repo().join(&rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk == content, "{rel} is stale; run LAKEGATE_BLESS=1 cargo test");
    }
}
