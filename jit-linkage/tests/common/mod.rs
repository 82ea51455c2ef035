//! Real packages whose build scripts call jit-linkage, built by a real cargo in one shared target
//! directory (jit-linkage and its dependencies build once), and real C libraries made with `cc`
//! and `ar`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Scratch space of one test file.
pub fn scratch(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(test)
}

/// The target directory every package of these tests builds in.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("build-script-packages")
}

/// The toolkit checkout.
pub fn toolkit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh package `name` in `dir`: a binary printing `ok`, whose build.rs runs `build` (the
/// body of `fn main`, on `jit_linkage::Build::new().manifest("libraries.toml")`), with the
/// manifest `libraries`.
pub fn package(dir: &Path, name: &str, build: &str, libraries: &str) -> PathBuf {
    let package = dir.join(name);
    let _ = std::fs::remove_dir_all(&package);
    std::fs::create_dir_all(package.join("src")).unwrap();
    let write = |file: &str, text: String| std::fs::write(package.join(file), text).unwrap();
    write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[build-dependencies]\njit-linkage = {{ path = \"{}\" }}\n\n\
             [workspace]\n",
            toolkit().join("jit-linkage").display()
        ),
    );
    write(
        "build.rs",
        format!(
            "fn main() {{\n    jit_linkage::Build::new()\n        .manifest(\"libraries.toml\")\n        \
             {build}\n        .emit();\n}}\n"
        ),
    );
    write("src/main.rs", "fn main() { println!(\"ok\"); }\n".into());
    write("libraries.toml", libraries.to_owned());
    // The versions the toolkit is tested with, and no registry lookup.
    std::fs::copy(toolkit().join("Cargo.lock"), package.join("Cargo.lock")).unwrap();
    package
}

/// `cargo build ARGS` of `package` in the shared target directory, with `env` added.
pub fn build(package: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline"])
        .args(args)
        .current_dir(package)
        .env_remove("CARGO_BUILD_BUILD_DIR")
        .env_remove("PKG_CONFIG_PATH")
        .env_remove("PKG_CONFIG_LIBDIR")
        .env("CARGO_TARGET_DIR", target_dir());
    for (var, value) in env {
        command.env(var, value);
    }
    command.output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `program` with `args`, which must succeed.
pub fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
}

/// `dir/lib<name>.a` and `dir/lib<name>.so`, compiled by cc from the C `source`.
pub fn c_library(dir: &Path, name: &str, source: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let object = dir.join(format!("{name}.o"));
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    run("cc", &["-c", "-fPIC", &path(&c), "-o", &path(&object)]);
    let archive = dir.join(format!("lib{name}.a"));
    let _ = std::fs::remove_file(&archive);
    run("ar", &["crs", &path(&archive), &path(&object)]);
    let shared = dir.join(format!("lib{name}.so"));
    run("cc", &["-shared", "-o", &path(&shared), &path(&object)]);
}

/// What cargo showed of a failed build script's stdout: the lines between `--- stdout` and
/// `--- stderr` of its report.
pub fn shown_stdout(stderr: &str) -> Vec<String> {
    let Some((_, after)) = stderr.split_once("--- stdout") else {
        return Vec::new();
    };
    let shown = after.split("--- stderr").next().unwrap_or_default();
    shown
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
