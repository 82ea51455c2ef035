//! A prebuilt shared library is placed next to the binaries under its SONAME. Real libraries,
//! built by `cc` with chosen SONAMEs, linked dynamically by a real build script (a small package
//! whose build.rs calls jit-linkage) in a real cargo build: a SONAME that is a system library's
//! (`libm.so.6`) or a path fails the build, naming the library, the file and the fix, and nothing
//! is placed; an ordinary SONAME, and the system's own zlib, link and run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Scratch space of this test; the target directory is kept between runs (so jit-linkage and
/// its dependencies build once).
fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("prebuilt-soname")
}

fn target_dir() -> PathBuf {
    scratch().join("target")
}

/// Where a build places shared libraries: next to the binaries, the examples and the tests.
fn placement_dirs() -> [PathBuf; 3] {
    let debug = target_dir().join("debug");
    [debug.join("examples"), debug.join("deps"), debug]
}

/// Removes `file` from every placement directory, before and after the test: a `libm.so.6`
/// left there (by a build that does not refuse it) breaks rustc for every later build in this
/// target directory.
struct Unplaced(&'static str);

impl Unplaced {
    fn new(file: &'static str) -> Unplaced {
        let guard = Unplaced(file);
        guard.remove();
        guard
    }

    fn remove(&self) {
        for dir in placement_dirs() {
            let _ = std::fs::remove_file(dir.join(self.0));
        }
    }

    fn placed(&self) -> Vec<PathBuf> {
        placement_dirs()
            .into_iter()
            .map(|d| d.join(self.0))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect()
    }
}

impl Drop for Unplaced {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `dir/libevil.so`, defining `evil_function`, linked by cc with `-Wl,-soname,SONAME`.
fn evil_library(dir: &Path, soname: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let source = dir.join("evil.c");
    std::fs::write(&source, "int evil_function(int x) { return x + 1; }\n").unwrap();
    let library = dir.join("libevil.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(format!("-Wl,-soname,{soname}"))
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {out:?}");
    library
}

/// A package `name` whose build script links the manifest library `lib`, the prebuilt
/// `shared_lib` exporting `symbol`, dynamically; `cargo build` of it, in the shared target
/// directory.
fn build(name: &str, lib: &str, shared_lib: &Path, symbol: &str) -> Output {
    let toolkit = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let package = scratch().join(name);
    let _ = std::fs::remove_dir_all(&package);
    std::fs::create_dir_all(package.join("src")).unwrap();
    let write = |file: &str, text: String| std::fs::write(package.join(file), text).unwrap();
    write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[build-dependencies]\njit-linkage = {{ path = \"{}\" }}\n\n\
             [workspace]\n",
            toolkit.join("jit-linkage").display()
        ),
    );
    write(
        "build.rs",
        format!(
            "fn main() {{\n    jit_linkage::Build::new()\n        .manifest(\"libraries.toml\")\n        \
             .link_dynamic(\"{lib}\")\n        .emit();\n}}\n"
        ),
    );
    write("src/main.rs", "fn main() { println!(\"ok\"); }\n".into());
    write(
        "libraries.toml",
        format!(
            "[[library]]\nname = \"{lib}\"\nshared_lib = \"{}\"\nsymbols = [\"{symbol}\"]\n",
            shared_lib.display()
        ),
    );
    // The versions the toolkit is tested with, and no registry lookup.
    std::fs::copy(toolkit.join("Cargo.lock"), package.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(["build", "--quiet", "--offline"])
        .current_dir(&package)
        .env_remove("CARGO_BUILD_BUILD_DIR")
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_prebuilt_library_is_placed_only_under_a_soname_of_its_own() {
    let libm = Unplaced::new("libm.so.6");

    // The SONAME of the system's libm: refused before anything is placed (rustc, run with the
    // target directory on its library path, used to die loading it: `undefined symbol: log2`).
    let evil = evil_library(&scratch().join("lib-libm"), "libm.so.6");
    let out = build("soname-libm", "evil", &evil, "evil_function");
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed: {text}");
    for expected in [
        "library `evil`",
        &evil.display().to_string(),
        "`libm.so.6`",
        "-Wl,-soname,lib<NAME>.so",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!text.contains("symbol lookup error"), "{text}");
    assert_eq!(libm.placed(), Vec::<PathBuf>::new());

    // A SONAME that is a path would be placed at that path.
    let escaped = scratch().join("escaped.so");
    let _ = std::fs::remove_file(&escaped);
    let evil = evil_library(&scratch().join("lib-path"), &escaped.display().to_string());
    let out = build("soname-path", "evil", &evil, "evil_function");
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed: {text}");
    for expected in ["library `evil`", "not a plain file name", "-Wl,-soname"] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!escaped.exists(), "written: {}", escaped.display());

    // A SONAME of its own: placed under it, found by the binary's RUNPATH, runs.
    let own = Unplaced::new("libevil.so.1");
    let evil = evil_library(&scratch().join("lib-own"), "libevil.so.1");
    let out = build("soname-own", "evil", &evil, "evil_function");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(own.placed().len(), 3, "{:?}", own.placed());
    let run = Command::new(target_dir().join("debug/soname-own"))
        .env_clear()
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "ok\n", "{run:?}");

    // The system's own zlib under its own SONAME replaces nothing: allowed, as before.
    let libz = Unplaced::new("libz.so.1");
    let system_zlib = Path::new("/usr/lib/x86_64-linux-gnu/libz.so");
    assert!(
        system_zlib.is_file(),
        "{} is missing: run `cargo xtask deps`",
        system_zlib.display()
    );
    let out = build("soname-system-zlib", "zlib", system_zlib, "zlibVersion");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(libz.placed().len(), 3, "{:?}", libz.placed());
}
