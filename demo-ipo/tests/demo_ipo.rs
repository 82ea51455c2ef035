//! demo-ipo, the real binary, with bitcode compiled by its build script (clang-N of the LLVM version
//! under test) from the manifest.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The helpers' bitcode, compiled by this package's build script (jit-linkage, clang-N of the
/// LLVM under test).
fn helper_bitcode() -> PathBuf {
    Path::new(env!("JIT_LINKAGE_BITCODE_WRAPPED")).to_path_buf()
}

#[test]
fn inlines_the_helper_and_counts_one_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo-ipo"))
        .arg(helper_bitcode())
        .arg("--print-ir")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "f_WRAPPED() = 23333 · helper call inlined: yes · CreateWrappedValueFromInt calls: 1\n"
    );
    // The dumped IR: f_WRAPPED no longer calls the helper.
    let ir = String::from_utf8_lossy(&out.stderr);
    assert!(ir.contains("define") && ir.contains("@f_WRAPPED"), "{ir}");
    assert!(
        !ir.contains("call %struct.WrappedValue* @CreateWrappedValueFromInt"),
        "{ir}"
    );
}

#[test]
fn bad_bitcode_exits_1_naming_the_file() {
    let path = std::env::temp_dir().join("demo-ipo-bad.bc");
    std::fs::write(&path, b"BC\xc0\xde garbage").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_demo-ipo"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("demo-ipo-bad.bc") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// `cargo xtask dist` ships demo-ipo alone in bin/: it used to need the bitcode as an argument,
/// and none was shipped. A copy of the binary, alone in a directory, with an empty environment,
/// runs on the helpers it carries.
#[test]
fn a_copy_alone_runs_on_the_helpers_it_carries() {
    let dir = std::env::temp_dir().join("demo-ipo-alone");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let alone = dir.join("demo-ipo");
    std::fs::copy(env!("CARGO_BIN_EXE_demo-ipo"), &alone).unwrap();
    let out = Command::new(&alone)
        .env_clear()
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "f_WRAPPED() = 23333 · helper call inlined: yes · CreateWrappedValueFromInt calls: 1\n"
    );
}
