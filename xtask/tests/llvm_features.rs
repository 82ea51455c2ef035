//! orc-jit's LLVM version features: none, or two at once (shared or static), is a compile error
//! that says what to do (checked with real cargo builds, in a target directory of their own).

use std::path::Path;
use std::process::{Command, Output};

fn check_orc_jit(features: &[&str]) -> Output {
    check_orc_jit_with(features, &[], "feature-checks")
}

/// `cargo check -p orc-jit` with `features`, `env` and a target directory of its own.
fn check_orc_jit_with(features: &[&str], env: &[(String, &str)], target: &str) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(&root)
        // --keep-going: cargo stops at the first crate that fails, and which of llvm-sys's
        // compile_error and orc-jit's build script fails first is a race; every error is shown.
        .args([
            "check",
            "--quiet",
            "--keep-going",
            "--package",
            "orc-jit",
            "--no-default-features",
        ])
        .env("CARGO_TARGET_DIR", root.join("target").join(target))
        .envs(env.iter().map(|(k, v)| (k, v)));
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    command.output().unwrap()
}

/// The LLVM version under test (`cargo xtask test --llvm N` sets it).
fn tested() -> String {
    std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into())
}

/// Another LLVM version than `tested`, whose llvm-sys is built with `no-llvm-linking`: it then
/// needs no LLVM installed, and orc-jit's own check is what fails.
fn another(tested: &str) -> (&'static str, String) {
    let other = ["14", "22"]
        .into_iter()
        .find(|v| *v != tested)
        .unwrap_or("14");
    let line = if other == "22" { "221" } else { "140" };
    (other, format!("llvm-sys-{line}/no-llvm-linking"))
}

#[test]
fn no_llvm_version_is_a_compile_error_naming_the_features() {
    let out = check_orc_jit(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("orc-jit needs one LLVM version") && stderr.contains("llvm22"),
        "{stderr}"
    );
}

#[test]
fn two_llvm_versions_are_a_compile_error() {
    let tested = tested();
    let (other, unlinked) = another(&tested);
    let out = check_orc_jit(&[&format!("llvm{tested}"), &format!("llvm{other}"), &unlinked]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mutually exclusive"), "{stderr}");
}

#[test]
fn shared_and_static_llvm_of_one_version_are_refused() {
    // llvm<N> asks llvm-sys for `prefer-dynamic`, llvm<N>-static for `force-static`; llvm-sys
    // refuses both at once before orc-jit's own check can run, and cargo names it.
    let tested = tested();
    let out = check_orc_jit(&[&format!("llvm{tested}"), &format!("llvm{tested}-static")]);
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
    let (other, unlinked) = another(&tested);
    let out = check_orc_jit(&[
        &format!("llvm{tested}-static"),
        &format!("llvm{other}-static"),
        &unlinked,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mutually exclusive"), "{stderr}");
}

/// Issue 23, point 4: a project built for an LLVM that is not installed is told what to
/// install, not only llvm-sys's generic message.
#[test]
fn an_llvm_that_is_not_installed_is_named_with_its_packages() {
    let tested = tested();
    let line = match tested.as_str() {
        "19" => "191".to_owned(),
        "22" => "221".to_owned(),
        other => format!("{other}0"),
    };
    let out = check_orc_jit_with(
        &[&format!("llvm{tested}")],
        &[(format!("LLVM_SYS_{line}_PREFIX"), "/nonexistent/llvm")],
        "feature-checks-no-llvm",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("apt-get install llvm-{tested}-dev"))
            && stderr.contains(&format!("cargo xtask deps --llvm {tested}")),
        "{stderr}"
    );
}
