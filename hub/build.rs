//! Marks the build when `TALLY_TEST_PG` names a PostgreSQL server, so the hub's tests compile
//! their PostgreSQL half (`cfg(tally_test_pg)`) only then, rather than holding tests that
//! would pass without asserting anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tally_test_pg)");
    println!("cargo::rerun-if-env-changed=TALLY_TEST_PG");
    if std::env::var_os("TALLY_TEST_PG").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=tally_test_pg");
    }
}
