//! Shared by orc-jit's integration tests: the workspace's real C libraries, built by the
//! c-artifacts package's build script (jit-linkage, the same path as every binary's build
//! script), and small IR modules.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `external` library's files.
pub struct CLibrary {
    /// `libexternalstatic.a`.
    pub static_lib: PathBuf,
    /// `libexternaldynamic.so`.
    pub shared_lib: PathBuf,
}

/// `libexternalstatic.a` and `libexternaldynamic.so`, built from c-libs/libraries.toml.
pub fn c_library() -> CLibrary {
    CLibrary {
        static_lib: c_artifacts::EXTERNAL.static_lib().to_path_buf(),
        shared_lib: c_artifacts::EXTERNAL.shared_lib().to_path_buf(),
    }
}

/// A module whose `i32 f()` returns `external_function(21)`.
pub const CALLS_EXTERNAL: &str = "declare i32 @external_function(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @external_function(i32 21)\n  ret i32 %r\n}\n";

/// A scratch file for a test.
pub fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("orc-jit-scratch");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The `wrapped` helper library's bitcode (clang-N + llvm-link-N of the LLVM under test).
pub fn helper_bitcode() -> &'static Path {
    assert_eq!(c_artifacts::LLVM_VERSION, orc_jit::LLVM_VERSION);
    c_artifacts::WRAPPED.bitcode()
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
