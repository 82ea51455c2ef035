//! Shared by jit-core's integration tests: the workspace's real C library, compiled once per
//! test binary with jit-linkage (the `cc` crate), and small IR modules.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jit_linkage::{Artifacts, CompileOptions, Library, Manifest, compile, compile_bitcode};

/// The workspace manifest's library `name`, and an output directory for this test binary.
fn manifest_library(name: &str) -> (Library, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::load(root.join("c-libs/libraries.toml")).unwrap();
    let lib = manifest.library(name).unwrap().clone();
    let exe = std::env::current_exe().unwrap();
    let test = exe.file_stem().unwrap().to_string_lossy();
    (
        lib,
        std::env::temp_dir().join(format!("jit-core-tests-{test}-{name}")),
    )
}

/// `libexternalstatic.a` and `libexternaldynamic.so`, built from c-libs/libraries.toml.
pub fn c_library() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        let (lib, out) = manifest_library("external");
        compile(&lib, &CompileOptions::host(out)).unwrap().artifacts
    })
}

/// A module whose `i32 f()` returns `external_function(21)`.
pub const CALLS_EXTERNAL: &str = "declare i32 @external_function(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @external_function(i32 21)\n  ret i32 %r\n}\n";

/// A scratch file for a test.
pub fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("jit-core-scratch");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The `wrapped` helper library's bitcode (clang-N + llvm-link-N of the LLVM under test).
pub fn helper_bitcode() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let (lib, out) = manifest_library("wrapped");
        compile_bitcode(&lib, &out, jit_core::LLVM_VERSION).unwrap()
    })
}

/// The forum's example: `f_WRAPPED` boxes the result of the user's `f_` with a C helper.
pub const WRAPPED: &str = "%struct.WrappedValue = type { i32, i32 }

declare %struct.WrappedValue* @CreateWrappedValueFromInt(i32)

define i32 @f_() {
entry:
  ret i32 23333
}

define %struct.WrappedValue* @f_WRAPPED(i8* %ctx, i8* %args) {
entry:
  %v = call i32 @f_()
  %w = call %struct.WrappedValue* @CreateWrappedValueFromInt(i32 %v)
  ret %struct.WrappedValue* %w
}
";
