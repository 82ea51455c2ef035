//! The workspace's real C library, as jit-linkage built it, checked independently of this
//! project's JIT: LLVM's own `lli-N` (of the LLVM version the artifacts are for) loads the
//! archive (`--extra-archive`) or the shared library (`--dlopen`) and runs a `main` that returns
//! `external_function(21)`.

use std::process::Command;

use c_artifacts::EXTERNAL;

const MAIN: &str = "declare i32 @external_function(i32)\n\ndefine i32 @main() {\nentry:\n  %r = call i32 @external_function(i32 21)\n  ret i32 %r\n}\n";

#[test]
fn lli_finds_external_function_in_both_artifacts() {
    let dir = std::env::temp_dir().join("jit-linkage-lli");
    std::fs::create_dir_all(&dir).unwrap();
    let main = dir.join("main.ll");
    std::fs::write(&main, MAIN).unwrap();

    let archive = format!("--extra-archive={}", EXTERNAL.static_lib().display());
    let shared = format!("--dlopen={}", EXTERNAL.shared_lib().display());
    // The LLVM the artifacts were built for (orc-jit's, picked by the llvm<N> features).
    let llvm = c_artifacts::LLVM_VERSION;
    let lli = format!("lli-{llvm}");
    for option in [archive, shared] {
        let status = Command::new(&lli)
            .arg(&option)
            .arg(&main)
            .status()
            .unwrap_or_else(|e| panic!("{lli} runs (cargo xtask deps --llvm {llvm}): {e}"));
        assert_eq!(status.code(), Some(42), "{lli} {option}");
    }
}
