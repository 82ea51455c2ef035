//! Shared by the tests that build projects outside the workspace.

#![allow(dead_code)]

pub mod packaged;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The LLVM under test (`cargo xtask test --llvm N` sets it) and its llvm-sys line.
pub fn llvm() -> (String, String) {
    let llvm = std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into());
    let line = match llvm.as_str() {
        "19" => "191".to_owned(),
        "22" => "221".to_owned(),
        other => format!("{other}0"),
    };
    (llvm, line)
}

/// The toolkit checkout.
pub fn toolkit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory where every outside project's dependencies are built once. Its name has a
/// comma, a space and a quote: every path that reaches the linker must survive them.
pub fn shared_build() -> PathBuf {
    toolkit().join("target/generated projects, 'all'")
}

/// `cargo ARGS` in `cwd` with `env` added, its status left to the caller. LLVM's prefix is given
/// explicitly (a project's `.cargo/config.toml` is not read from another directory, and a
/// different value would rebuild llvm-sys), and the caller's target settings are removed.
pub fn cargo(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let (llvm, line) = llvm();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_BUILD_DIR")
        .env(
            format!("LLVM_SYS_{line}_PREFIX"),
            format!("/usr/lib/llvm-{llvm}"),
        );
    for (var, value) in env {
        command.env(var, value);
    }
    command.output().unwrap()
}

/// [`cargo`] in a generated project, against the packaged toolkit ([`packaged`]): the
/// directory it builds in (`CARGO_BUILD_BUILD_DIR`, else `CARGO_TARGET_DIR` in `env`, else the
/// project's `target`) holds no older packaging of the toolkit's crates.
pub fn project_cargo(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let build = |var: &str| {
        env.iter()
            .find(|(v, _)| *v == var)
            .map(|(_, p)| p.to_path_buf())
    };
    let target = build("CARGO_BUILD_BUILD_DIR")
        .or_else(|| build("CARGO_TARGET_DIR"))
        .unwrap_or_else(|| cwd.join("target"));
    let packaged = packaged::env_for(&target);
    let mut all: Vec<(&str, &Path)> = packaged.iter().map(|(v, p)| (*v, p.as_path())).collect();
    all.extend_from_slice(env);
    cargo(cwd, args, &all)
}

/// [`project_cargo`], which must succeed.
pub fn project_cargo_ok(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let out = project_cargo(cwd, args, env);
    assert!(
        out.status.success(),
        "cargo {args:?} {env:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// `cargo xtask ARGS` (the binary under test), against the packaged toolkit: `new` fits the
/// project's lock file to the packaged crates.
pub fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .envs(packaged::env_for(&shared_build()))
        .output()
        .unwrap()
}

/// [`cargo`], which must succeed.
pub fn cargo_ok(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let out = cargo(cwd, args, env);
    assert!(
        out.status.success(),
        "cargo {args:?} {env:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Runs `binary` with an empty environment from an unrelated directory: no `LD_LIBRARY_PATH`,
/// which `cargo run` would add.
pub fn run_alone(binary: &Path) -> Output {
    Command::new(binary)
        .env_clear()
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

/// A fresh scratch directory, outside the workspace (a project inside it would be taken for
/// one of its members), and of this checkout alone: two checkouts testing at once on one
/// machine must not remove each other's projects while cargo builds them.
pub fn fresh_dir(name: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut checkout = std::collections::hash_map::DefaultHasher::new();
    toolkit().hash(&mut checkout);
    let dir = std::env::temp_dir().join(format!("{name}-{:016x}", checkout.finish()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
