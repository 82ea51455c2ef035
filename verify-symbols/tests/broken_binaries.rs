//! Binaries linked right and wrong with the real system linker (`cc`), each checked for the
//! status and hint verify-symbols gives.

use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::{BinaryReport, Status, verify};

const LIB_C: &str = r#"
int jit_visible(int x) { return 2 * x; }
__attribute__((visibility("hidden"))) int jit_hidden(int x) { return x + 1; }
"#;
const MAIN_C: &str = "int main(void) { return 0; }\n";

/// A directory with lib.o, libjt.a, libjt.so, main.o and jit.list, built once per test.
struct Fixture {
    dir: PathBuf,
}

fn cc(dir: &Path, args: &[&str]) {
    let out = Command::new("cc")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("verify-symbols-{test}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.c"), LIB_C).unwrap();
        std::fs::write(dir.join("main.c"), MAIN_C).unwrap();
        std::fs::write(dir.join("jit.list"), "{ jit_visible; jit_hidden; };\n").unwrap();
        cc(&dir, &["-fPIC", "-c", "lib.c", "-o", "lib.o"]);
        cc(&dir, &["-c", "main.c", "-o", "main.o"]);
        let ar = Command::new("ar")
            .current_dir(&dir)
            .args(["rcs", "libjt.a", "lib.o"])
            .status();
        assert!(ar.unwrap().success());
        cc(
            &dir,
            &["-shared", "-Wl,-soname,libjt.so", "-o", "libjt.so", "lib.o"],
        );
        Fixture { dir }
    }

    /// Links `main.o` with `args` into `name` and verifies `symbols` in it.
    fn link(&self, name: &str, args: &[&str], symbols: &[&str]) -> BinaryReport {
        let mut all = vec!["main.o", "-o", name];
        all.extend_from_slice(args);
        cc(&self.dir, &all);
        verify(&self.dir.join(name), symbols).unwrap()
    }
}

fn status(report: &BinaryReport, name: &str) -> Status {
    report
        .symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap()
        .status
}

fn hint(report: &BinaryReport, name: &str) -> String {
    let symbol = report.symbols.iter().find(|s| s.name == name).unwrap();
    symbol.hint.clone().unwrap_or_default()
}

#[test]
fn static_archive_without_whole_archive_is_missing() {
    let f = Fixture::new("no-whole-archive");
    let r = f.link(
        "bin",
        &["libjt.a", "-Wl,--dynamic-list=jit.list"],
        &["jit_visible"],
    );
    assert_eq!(status(&r, "jit_visible"), Status::Missing);
    assert!(hint(&r, "jit_visible").contains("whole-archive"));
}

#[test]
fn whole_archive_without_export_is_not_exported() {
    let f = Fixture::new("no-export");
    let r = f.link(
        "bin",
        &["-Wl,--whole-archive", "libjt.a", "-Wl,--no-whole-archive"],
        &["jit_visible"],
    );
    assert_eq!(status(&r, "jit_visible"), Status::NotExported);
    assert!(hint(&r, "jit_visible").contains("--dynamic-list"));
}

#[test]
fn whole_archive_and_dynamic_list_is_exported_but_hidden_stays_hidden() {
    let f = Fixture::new("exported");
    let r = f.link(
        "bin",
        &[
            "-Wl,--whole-archive",
            "libjt.a",
            "-Wl,--no-whole-archive",
            "-Wl,--dynamic-list=jit.list",
        ],
        &["jit_visible", "jit_hidden"],
    );
    assert_eq!(status(&r, "jit_visible"), Status::Exported);
    assert_eq!(status(&r, "jit_hidden"), Status::Hidden);
    assert!(hint(&r, "jit_hidden").contains("visibility"));
    assert!(!r.all_found());
}

#[test]
fn shared_library_dropped_by_as_needed_is_missing() {
    let f = Fixture::new("as-needed");
    let r = f.link(
        "bin",
        &["-Wl,--as-needed", "-L.", "-ljt", "-Wl,-rpath,$ORIGIN"],
        &["jit_visible"],
    );
    assert!(!r.needed.iter().any(|n| n.name == "libjt.so"));
    assert_eq!(status(&r, "jit_visible"), Status::Missing);
    assert!(hint(&r, "jit_visible").contains("--as-needed"));
}

#[test]
fn shared_library_without_runpath_is_not_found() {
    let f = Fixture::new("no-runpath");
    let r = f.link(
        "bin",
        &["-Wl,--no-as-needed", "-L.", "-ljt"],
        &["jit_visible"],
    );
    let needed = r.needed.iter().find(|n| n.name == "libjt.so").unwrap();
    assert_eq!(needed.path, None);
    assert_eq!(status(&r, "jit_visible"), Status::Missing);
    assert!(hint(&r, "jit_visible").contains("Not found by the loader: libjt.so"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("libjt.so is not found"))
    );
}

#[test]
fn shared_library_with_origin_runpath_provides_the_symbol() {
    let f = Fixture::new("origin");
    let r = f.link(
        "bin",
        &[
            "-Wl,--no-as-needed",
            "-L.",
            "-ljt",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN",
        ],
        &["jit_visible", "jit_hidden", "printf"],
    );
    assert_eq!(r.runpath, ["$ORIGIN"]);
    assert_eq!(status(&r, "jit_visible"), Status::ProvidedByDependency);
    let provider = r.symbols[0].provider.as_ref().unwrap();
    assert_eq!(provider.file_name().unwrap(), "libjt.so");
    // Hidden in the .so: never exported, so the JIT cannot find it.
    assert_eq!(status(&r, "jit_hidden"), Status::Missing);
    // From libc, through the system library directories.
    assert_eq!(status(&r, "printf"), Status::ProvidedByDependency);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.pie);
}

#[test]
fn runpath_warnings_absolute_empty_and_world_writable() {
    let f = Fixture::new("runpath-warnings");
    let dir = f.dir.display().to_string();
    let rpath = format!("-Wl,--enable-new-dtags,-rpath,{dir}:/tmp:");
    let r = f.link("bin", &[rpath.as_str()], &["printf"]);
    let all = r.warnings.join("\n");
    assert!(
        all.contains(&format!("entry {dir} is an absolute path")),
        "{all}"
    );
    assert!(
        all.contains("/tmp (/tmp) is writable by other users"),
        "{all}"
    );
    assert!(all.contains("empty entry"), "{all}");
}

#[test]
fn a_statically_linked_binary_is_flagged() {
    let f = Fixture::new("static");
    let r = f.link(
        "bin",
        &[
            "-static",
            "-Wl,--whole-archive",
            "libjt.a",
            "-Wl,--no-whole-archive",
        ],
        &["jit_visible"],
    );
    assert!(r.statically_linked);
    assert!(r.warnings.iter().any(|w| w.contains("statically linked")));
    assert_ne!(status(&r, "jit_visible"), Status::Exported);
}
