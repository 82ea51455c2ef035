//! The ipo template's README says `cargo verify-symbols --binary target/debug/NAME   # exit 0`,
//! but its binary carried no note ("its build does not use jit-linkage", exit 2), because its
//! build script compiles its C helpers to bitcode and links no library. A real build script
//! that asks only for bitcode (clang-N of the LLVM under test) now gives its
//! binary the note, listing no symbol the process must provide.

mod common;

use common::{build, package, stderr};

#[test]
fn a_binary_whose_build_only_compiles_bitcode_carries_an_empty_note() {
    let dir = common::scratch("ipo-note");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("helpers.c"),
        "int helper_add(int a, int b) { return a + b; }\n",
    )
    .unwrap();
    let manifest = format!(
        "[[library]]\nname = \"helpers\"\nsources = [\"{}\"]\nsymbols = [\"helper_add\"]\n",
        dir.join("helpers.c").display()
    );
    // The LLVM under test (`cargo xtask test --llvm N`): its clang-N is what is installed.
    let llvm = std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into());
    let project = package(
        &dir,
        "bitcode-only",
        &format!(".llvm_version({llvm}).bitcode(\"helpers\")"),
        &manifest,
    );
    let out = build(&project, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let binary = common::target_dir().join("debug/bitcode-only");
    let note = jit_linkage::read_note_file(&binary)
        .unwrap()
        .unwrap_or_else(|| panic!("{} carries no note", binary.display()));
    assert!(note.symbols.is_empty(), "{note:?}");
}
