//! The workspace's real C library, compiled by jit-linkage, checked independently of this
//! project's JIT: LLVM's own `lli-N` (of the LLVM version under test) loads the archive (`--extra-archive`) or the shared
//! library (`--dlopen`) and runs a `main` that returns `external_function(21)`.

use std::path::Path;
use std::process::Command;

use jit_linkage::{CompileOptions, Manifest, compile};

const MAIN: &str = "declare i32 @external_function(i32)\n\ndefine i32 @main() {\nentry:\n  %r = call i32 @external_function(i32 21)\n  ret i32 %r\n}\n";

#[test]
fn lli_finds_external_function_in_both_artifacts() {
    let manifest_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../c-libs/libraries.toml");
    let manifest = Manifest::load(&manifest_path).unwrap();
    let lib = manifest.library("external").unwrap();
    let dir = std::env::temp_dir().join("jit-linkage-lli");
    let compiled = compile(lib, &CompileOptions::host(dir.join("c-libs"))).unwrap();
    let main = dir.join("main.ll");
    std::fs::write(&main, MAIN).unwrap();

    let archive = format!(
        "--extra-archive={}",
        compiled.artifacts.static_lib.display()
    );
    let shared = format!("--dlopen={}", compiled.artifacts.shared_lib.display());
    // `cargo xtask test --llvm N` says which LLVM is under test; the default otherwise.
    let llvm =
        std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| jit_linkage::DEFAULT_LLVM.to_string());
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
