//! Compiles the `.slint` screens with their bundled translations.

fn main() {
    let mut config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations(concat!(env!("CARGO_MANIFEST_DIR"), "/lang"));
    // Element ids reach the testing backend only with debug info; release builds stay lean.
    if std::env::var("PROFILE").as_deref() == Ok("debug") {
        config = config.with_debug_info(true);
    }
    if let Err(error) = slint_build::compile_with_config("ui/app.slint", config) {
        println!("cargo::error=slint: {error}");
    }
}
