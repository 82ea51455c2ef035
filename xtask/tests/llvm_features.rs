//! jit-core's LLVM version features: none, or two at once (shared or static), is a compile error
//! that says what to do (checked with real cargo builds, in a target directory of their own).

use std::path::Path;
use std::process::{Command, Output};

fn check_jit_core(features: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(&root)
        .args([
            "check",
            "--quiet",
            "--package",
            "jit-core",
            "--no-default-features",
        ])
        .env("CARGO_TARGET_DIR", root.join("target/feature-checks"));
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    command.output().unwrap()
}

/// The LLVM version under test (`cargo xtask test --llvm N` sets it).
fn tested() -> String {
    std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into())
}

/// Another LLVM version than `tested` whose prefix has `file`, if one is installed.
fn another_installed(tested: &str, file: &str) -> Option<&'static str> {
    let other = ["14", "15", "16", "19", "22"]
        .into_iter()
        .find(|v| *v != tested && Path::new(&format!("/usr/lib/llvm-{v}/{file}")).exists());
    if other.is_none() {
        eprintln!("no LLVM but {tested} has {file}: no second version to enable with it");
    }
    other
}

#[test]
fn no_llvm_version_is_a_compile_error_naming_the_features() {
    let out = check_jit_core(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("jit-core needs one LLVM version") && stderr.contains("llvm22"),
        "{stderr}"
    );
}

#[test]
fn two_llvm_versions_are_a_compile_error() {
    // Both llvm-sys build scripts must find their LLVM before jit-core's own check runs: pair
    // the version under test (`cargo xtask test --llvm N`) with another installed one. (With
    // `--llvm all`, LLVM 14 is installed by the time LLVM 22 is tested.)
    let tested = tested();
    let Some(other) = another_installed(&tested, "bin/llvm-config") else {
        return;
    };
    let out = check_jit_core(&[&format!("llvm{tested}"), &format!("llvm{other}")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mutually exclusive"), "{stderr}");
}

#[test]
fn shared_and_static_llvm_of_one_version_are_refused() {
    // llvm<N> asks llvm-sys for `prefer-dynamic`, llvm<N>-static for `force-static`; llvm-sys
    // refuses both at once before jit-core's own check can run, and cargo names it.
    let tested = tested();
    let out = check_jit_core(&[&format!("llvm{tested}"), &format!("llvm{tested}-static")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("llvm-sys") && stderr.contains("Only one of the features"),
        "{stderr}"
    );
}

#[test]
fn two_static_versions_are_a_compile_error() {
    let tested = tested();
    // llvm-sys's static build script needs that version's static libraries (Polly's last).
    let Some(other) = another_installed(&tested, "lib/libPolly.a") else {
        return;
    };
    let out = check_jit_core(&[
        &format!("llvm{tested}-static"),
        &format!("llvm{other}-static"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mutually exclusive"), "{stderr}");
}
