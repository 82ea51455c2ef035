//! demo-ipo, the real binary, with bitcode compiled by its build script (clang-N of the LLVM version
//! under test) from the manifest.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What demo-ipo prints: the forum's f_WRAPPED with the C helper inlined; the C++ helpers'
/// global objects, constructed by the JIT (the name is their std::string's), after JIT code
/// recorded the value through them and they called back into the host; their destructor's line
/// when the JIT is dropped.
const EXPECTED: &str = "f_WRAPPED() = 23333 · helper call inlined: yes · CreateWrappedValueFromInt calls: 1\n\
    C++ helpers: global registry \"the forum's C++ helpers\" constructed · values recorded: 1 · host_observe calls: 1\n\
    registry: destroyed with 1 value\n";

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
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
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
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
}

/// The forum's case (issue 20): C++ helpers with a global std::string and std::vector, calling
/// back into the host, as the JIT's IPO runtime with run_constructors(true). Their destructor
/// runs once, when the JIT is dropped, and the process exits 0 (libc calling it at exit, into
/// freed JIT memory, was a SIGSEGV).
#[test]
fn the_cxx_helpers_global_objects_are_constructed_destroyed_once_and_it_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo-ipo"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("global registry \"the forum's C++ helpers\" constructed"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("registry: destroyed").count(), 1, "{stdout}");
    assert!(
        stdout.ends_with("registry: destroyed with 1 value\n"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");
}
