//! Marks the build when `TALLY_TEST_CHROMIUM` names a Chromium, so the end-to-end tests compile
//! their browser half (`cfg(tally_test_browser)`) only then, rather than holding a test that
//! would pass without a browser to ask. CI installs Debian's `chromium` and sets it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tally_test_browser)");
    println!("cargo::rerun-if-env-changed=TALLY_TEST_CHROMIUM");
    if std::env::var_os("TALLY_TEST_CHROMIUM").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=tally_test_browser");
    }
}
