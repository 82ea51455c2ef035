//! The real binary: the helper is inlined into JIT code, and the binary can host a JIT.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

#[test]
fn prints_the_result_with_the_helper_inlined() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "compute() = 42 (helper_add inlined: yes)\n"
    );
}

#[test]
fn the_binary_carries_its_note_and_a_dynamic_symbol_table() {
    // The helpers live in the JIT, so the note lists nothing the binary must export for them...
    let recorded = verify_symbols::verify_recorded(Path::new(BINARY)).unwrap();
    assert!(recorded.symbols.is_empty() && recorded.all_found());
    // ...but it must still be dynamically linked for the JIT to resolve libc and friends.
    let report = verify_symbols::verify(Path::new(BINARY), &["malloc"]).unwrap();
    assert!(!report.statically_linked);
    assert!(report.all_found());
}
