//! The LLVM forum's case, which the lli comparison cannot express (the helpers call back into
//! the host program): C++ helpers with a global `std::string` and `std::vector`, compiled by
//! clang++-N to bitcode, as orc-jit's IPO runtime, under `forum-ipo`. It must print the right
//! values, run the helpers' destructor when the JIT is dropped, and exit 0.

#[path = "suite/process.rs"]
mod process;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use process::End;

#[test]
fn cxx_helper_runtime_with_globals_and_a_host_callback() {
    let version = orc_jit::LLVM_VERSION;
    let clangxx = format!("clang++-{version}");
    let sources = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs/forum");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let build = tmp
        .parent()
        .unwrap_or(&tmp)
        .join(format!("conformance/llvm-{version}/forum"));
    std::fs::create_dir_all(&build).expect("create the build directory");
    let bitcode = build.join("helpers.bc");
    let mut compile = Command::new(&clangxx);
    compile
        .args(["-std=c++17", "-O1", "-c", "-emit-llvm", "-o"])
        .arg(&bitcode)
        .arg(sources.join("helpers.cpp"));
    let compiled = process::run(compile, Duration::from_secs(60));
    match &compiled.end {
        End::Exited(0) => {}
        End::NotStarted(why) => panic!(
            "{clangxx} did not start ({why}): `cargo xtask deps --llvm {version}` installs it"
        ),
        end => panic!("{clangxx} failed ({end:?}):\n{}", compiled.stderr_text()),
    }

    let mut forum = Command::new(env!("CARGO_BIN_EXE_forum-ipo"));
    forum.arg(&bitcode).arg(sources.join("wrapped.ll"));
    let run = process::run(forum, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let expected = "f_WRAPPED(0) = 23333\n\
                    f_WRAPPED(1) = 23334\n\
                    f_WRAPPED(2) = 23335\n\
                    host_observe calls: 3, helper history: 3, name length: 62\n\
                    helpers: registry destroyed after 3 values\n\
                    JIT dropped\n";
    let end = match &run.end {
        End::Signaled(signal) => format!("died of {}", process::signal_name(*signal)),
        other => format!("{other:?}"),
    };
    assert!(
        run.end == End::Exited(0) && stdout == expected,
        "forum-ipo: {end} (expected exit 0)\nstdout:\n{stdout}\nexpected:\n{expected}\nstderr:\n{}",
        run.stderr_text()
    );
}
