//! Running cargo from another directory (`--manifest-path`) used to lose the generated
//! project's `.cargo/config.toml`, where LLVM's prefix was set: llvm-sys, which re-runs when
//! `LLVM_SYS_<N>_PREFIX` changes, was rebuilt at every change of directory (and the prefix was
//! gone). Nothing the build needs is in that file any more: a real `cargo check` in the project,
//! then from elsewhere, in a user's environment (no prefix variable), must leave llvm-sys fresh.
//! The project's tools are installed, not aliased (cargo reads aliases only in the project's
//! directory): `new` says so.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// `cargo check -v ARGS` in `cwd` as a user's shell runs it: no LLVM prefix variable (the
/// toolkit's own `.cargo/config.toml` sets them for this test's process), the project's own
/// target directory kept apart from the shared one.
fn check(cwd: &Path, args: &[&str], target: &Path) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["check", "-v"])
        .args(args)
        .current_dir(cwd)
        .env_remove("CARGO_BUILD_BUILD_DIR")
        .env("CARGO_TARGET_DIR", target)
        .envs(common::packaged::env_for(target));
    for line in ["140", "150", "160", "191", "221"] {
        command.env_remove(format!("LLVM_SYS_{line}_PREFIX"));
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "cargo check {args:?} in {}: {}",
        cwd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_generated_project_builds_the_same_from_any_directory() {
    let root = common::fresh_dir("xtask-working-directory");
    let project = root.join("jit-anywhere");
    let (llvm, _) = common::llvm();
    let out = common::xtask(&[
        "new",
        project.to_str().unwrap(),
        "--linkage",
        "static",
        "--llvm",
        &llvm,
    ]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("builds from any directory") && said.contains("cargo install verify-symbols"),
        "{said}"
    );
    let config = std::fs::read_to_string(project.join(".cargo/config.toml")).unwrap();
    assert!(!config.contains("[env]"), "{config}");

    // Kept between runs: only llvm-sys's freshness is under test, not a cold build.
    let target = common::toolkit().join("target/working-directory");
    check(&project, &[], &target);
    let manifest = project.join("Cargo.toml");
    let elsewhere = check(
        &root,
        &["--manifest-path", manifest.to_str().unwrap()],
        &target,
    );
    let log = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(
        !log.contains("Compiling llvm-sys") && log.contains("Fresh llvm-sys"),
        "checked from another directory, llvm-sys was rebuilt:\n{log}"
    );
}
