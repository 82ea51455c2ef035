//! The real binary, as cargo built it with build.rs's link settings.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

#[test]
fn prints_the_result() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "compute() = 42\n");
}

#[test]
fn exports_every_symbol_the_jit_needs() {
    // The symbols its build recorded inside the binary (jit-linkage's note).
    let report = verify_symbols::verify_recorded(Path::new(BINARY)).unwrap();
    assert!(!report.symbols.is_empty());
    assert!(report.all_found(), "{}", verify_symbols::render_text(
        &verify_symbols::Report { binaries: vec![report.clone()] },
        false,
    ));
}
