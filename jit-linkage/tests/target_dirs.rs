//! A shared library linked dynamically is copied next to the binaries. A build directory set apart
//! (`CARGO_BUILD_BUILD_DIR`) together with a target directory on cargo's command line
//! (`--target-dir`), which build scripts are not told, put the library in the wrong directory
//! without a word; it is now a warning naming the fix. The same directories given the ways a
//! build script can see (`CARGO_TARGET_DIR`), or `--target-dir` alone, place it right and warn
//! about nothing. Real builds of a package whose build script calls jit-linkage.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const NAME: &str = "target-dirs";
const WARNING: &str = "cargo's command line sets the target directory to";

/// `cargo build ARGS` of `project` with `env` added and the caller's target settings removed.
/// The manifest is touched first, so the build script runs (a change of `--target-dir` alone
/// does not re-run it).
fn build(project: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let manifest = project.join("libraries.toml");
    std::fs::write(&manifest, std::fs::read(&manifest).unwrap()).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline"])
        .args(args)
        .current_dir(project)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_BUILD_DIR");
    for (var, value) in env {
        command.env(var, value);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} {env:?}: {}",
        common::stderr(&out)
    );
    out
}

#[test]
fn a_command_line_target_directory_the_build_script_cannot_see_is_a_warning() {
    let dir = common::scratch("target-dirs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("helpers.c"),
        "int helper_one(void) { return 1; }\n",
    )
    .unwrap();
    let manifest = format!(
        "[[library]]\nname = \"helpers\"\nsources = [\"{}\"]\nsymbols = [\"helper_one\"]\n",
        dir.join("helpers.c").display()
    );
    let project = common::package(&dir, NAME, ".link_dynamic(\"helpers\")", &manifest);
    // The dependencies are built once, in the shared directory, used as the build directory.
    let build_dir = common::target_dir();
    let moved = dir.join("target, moved");
    let _ = std::fs::remove_dir_all(&moved);

    // Both directories in the environment: metadata knows them, the library lands right.
    let out = build(
        &project,
        &[],
        &[
            ("CARGO_BUILD_BUILD_DIR", &build_dir),
            ("CARGO_TARGET_DIR", &moved),
        ],
    );
    let text = common::stderr(&out);
    assert!(!text.contains(WARNING), "{text}");
    assert!(moved.join("debug/libhelpers.so").is_file());
    let ran = Command::new(moved.join("debug").join(NAME))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "ok\n", "{ran:?}");

    // `--target-dir` alone moves the build directory with it: OUT_DIR shows it, no warning.
    let out = build(
        &project,
        &["--target-dir", build_dir.to_str().unwrap()],
        &[],
    );
    let text = common::stderr(&out);
    assert!(!text.contains(WARNING), "{text}");

    // The build directory set apart and `--target-dir` on the command line: the library cannot
    // be put where the binary goes, and the build says so, naming both and the fix.
    let elsewhere = dir.join("target elsewhere");
    let out = build(
        &project,
        &["--target-dir", elsewhere.to_str().unwrap()],
        &[("CARGO_BUILD_BUILD_DIR", &build_dir)],
    );
    let text = common::stderr(&out);
    for expected in [
        WARNING,
        &elsewhere.join("debug").display().to_string(),
        "CARGO_TARGET_DIR",
        ".runtime_dir(DIR)",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!elsewhere.join("debug/libhelpers.so").exists());
}
