//! The toolkit used the way anyone outside this checkout uses it until it is published: as a git
//! dependency. A clone of this checkout's HEAD (the committed files, which is what a git
//! dependency sees) is depended on by `git = "file://..."` from a throwaway project, which cargo
//! builds (its build script links a C helper through jit-linkage, its binary checks itself with
//! verify-symbols), and `cargo install --git` installs verify-symbols from the same clone.
//! Neither may print cargo's `invalid character` error (a template's manifest read as a package
//! named `{{project-name}}`) nor a warning about a profile for a package that is not built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// Scratch space, kept between runs so that the dependencies build once.
fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("git-dependency")
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// cargo, without the target settings of the cargo running this test.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_BUILD_DIR");
    command
}

fn git(args: &[&str], cwd: &Path) -> String {
    let out = run(Command::new("git").args(args).current_dir(cwd));
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A clone of the toolkit's HEAD commit.
fn clone_head() -> PathBuf {
    let toolkit = common::toolkit();
    let head = git(&["rev-parse", "HEAD"], &toolkit);
    let clone = scratch().join("toolkit");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(scratch()).unwrap();
    git(
        &[
            "clone",
            "--quiet",
            "--no-checkout",
            toolkit.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
        &scratch(),
    );
    git(&["checkout", "--quiet", "--detach", &head], &clone);
    clone
}

/// What cargo must never print for a user of the toolkit's repository.
fn assert_quiet(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed:\n{stderr}");
    for unwanted in [
        "invalid character",
        "profile package spec",
        "did not match any packages",
    ] {
        assert!(
            !stderr.contains(unwanted),
            "{what} printed `{unwanted}`:\n{stderr}"
        );
    }
}

#[test]
fn the_toolkit_works_as_a_git_dependency_without_errors_or_warnings() {
    let clone = clone_head();
    let url = format!("file://{}", clone.display());

    let project = scratch().join("uses-the-toolkit");
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::create_dir_all(project.join("c-libs")).unwrap();
    let write = |file: &str, text: String| std::fs::write(project.join(file), text).unwrap();
    write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"uses-the-toolkit\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\nverify-symbols = {{ git = \"{url}\" }}\n\n\
             [build-dependencies]\njit-linkage = {{ git = \"{url}\" }}\n\n[workspace]\n"
        ),
    );
    write(
        "build.rs",
        "fn main() {\n    jit_linkage::Build::new()\n        .manifest(\"c-libs/libraries.toml\")\n        \
         .link_static(\"helper\")\n        .emit();\n}\n"
            .into(),
    );
    write(
        "c-libs/libraries.toml",
        "[[library]]\nname = \"helper\"\nsources = [\"helper.c\"]\nsymbols = [\"helper_twice\"]\n"
            .into(),
    );
    write(
        "c-libs/helper.c",
        "int helper_twice(int x) { return 2 * x; }\n".into(),
    );
    write(
        "src/main.rs",
        "fn main() {\n    let me = std::env::current_exe().unwrap();\n    \
         let report = verify_symbols::verify_recorded(&me).unwrap();\n    \
         println!(\"{}\", if report.all_found() { \"exported\" } else { \"missing\" });\n}\n"
            .into(),
    );
    // The versions the toolkit is tested with: nothing new to download.
    std::fs::copy(
        common::toolkit().join("Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();

    let target = scratch().join("target");
    let built = run(cargo()
        .arg("build")
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target));
    assert_quiet("cargo build of a project with git dependencies", &built);
    let ran = common::run_alone(&target.join("debug/uses-the-toolkit"));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "exported\n",
        "{ran:?}"
    );

    // `cargo install --git`, as a user types it: the repository's own workspace, profiles
    // included, is the root, and the dependencies are resolved afresh (without `--locked`: a
    // profile for a package that only the lock file names, like `xtask`, is then a warning).
    // `--debug` only to build faster; the profile check is the same.
    let root = scratch().join("installed");
    let installed = run(cargo()
        .args(["install", "--debug", "--force"])
        .args(["--git", &url, "verify-symbols", "--root"])
        .arg(&root)
        .arg("--target-dir")
        .arg(&target)
        .current_dir(scratch()));
    assert_quiet("cargo install --git of verify-symbols", &installed);
    let version = run(Command::new(root.join("bin/verify-symbols")).arg("--version"));
    assert!(version.status.success(), "{version:?}");
}
