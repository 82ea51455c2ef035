//! Real C libraries from Debian's packages (installed by `cargo xtask deps`): zlib as prebuilt
//! files, SQLite through pkg-config, and a C++ helper (std::string, an exception thrown and
//! caught inside), each linked statically and then dynamically into a project whose library,
//! binary, example, integration test and bench all JIT-call them. The results are checked
//! against the libraries' headers and a CRC-32 computed independently (in the project's test),
//! the binaries against the loader (run with an empty environment) and verify-symbols (each
//! symbol from the library meant to provide it). Then the mistakes that used to be silent fail
//! the build, each naming the library, the file and the fix.

mod common;

use std::path::{Path, PathBuf};

use common::{cargo, cargo_ok, fresh_dir, llvm, run_alone, shared_build, toolkit};
use verify_symbols::Status;

/// The fixture copied to `dir` with its placeholders filled.
fn copy_fixture(from: &Path, to: &Path, values: &[(&str, String)]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_fixture(&path, &target, values);
        } else {
            let mut text = std::fs::read_to_string(&path).unwrap();
            for (placeholder, value) in values {
                text = text.replace(placeholder, value);
            }
            std::fs::write(&target, text).unwrap();
        }
    }
}

/// Where the compiler finds `file` (the system's zlib files).
fn system_file(file: &str) -> String {
    let out = std::process::Command::new("cc")
        .arg(format!("-print-file-name={file}"))
        .output()
        .unwrap();
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.is_file(), "{file} not found: run `cargo xtask deps`");
    path.canonicalize().unwrap().display().to_string()
}

/// The fixture in a fresh scratch directory `name`, its placeholders filled.
fn project(name: &str) -> PathBuf {
    let project = fresh_dir(name).join("real-libs");
    let (llvm, _) = llvm();
    copy_fixture(
        &toolkit().join("xtask/tests/real-libs"),
        &project,
        &[
            ("{{toolkit_path}}", toolkit().display().to_string()),
            ("{{llvm_version}}", llvm),
            ("{{libz_a}}", system_file("libz.a")),
            ("{{libz_so}}", system_file("libz.so")),
        ],
    );
    project
}

fn header_define(header: &str, name: &str) -> String {
    let text = std::fs::read_to_string(header).unwrap();
    let prefix = format!("#define {name} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
    line[prefix.len()..].trim().trim_matches('"').to_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One test, run in order: both parts build a package called real-libs into the same target
/// directory, whose binaries and libraries (target/debug/real-libs, libwords.so) they share.
#[test]
fn real_libraries_link_and_mistakes_fail_the_build() {
    zlib_sqlite_and_a_cpp_helper_linked_statically_and_dynamically_from_every_target();
    mistakes_fail_the_build_naming_the_library_the_file_and_the_fix();
}

fn zlib_sqlite_and_a_cpp_helper_linked_statically_and_dynamically_from_every_target() {
    let project = project("xtask-real-libraries");
    let shared = shared_build();
    let binary = shared.join("debug/real-libs");
    let expected = format!(
        "zlib {} crc32(hello) 3610a686 sqlite {} words 3 empty -1",
        header_define("/usr/include/zlib.h", "ZLIB_VERSION"),
        header_define("/usr/include/sqlite3.h", "SQLITE_VERSION_NUMBER"),
    );

    for linkage in ["static", "dynamic"] {
        let env = [
            ("CARGO_TARGET_DIR", shared.as_path()),
            ("REAL_LIBS_LINKAGE", Path::new(linkage)),
        ];
        cargo_ok(&project, &["build", "--quiet", "--all-targets"], &env);
        let out = run_alone(&binary);
        assert!(out.status.success(), "{linkage}: {out:?}");
        assert_eq!(stdout(&out).trim(), expected, "{linkage}");

        // The library's unit test and the integration test (which checks the headers' versions
        // and an independent CRC-32), the example and the bench all link the libraries.
        let tests = cargo_ok(&project, &["test", "--quiet"], &env);
        assert!(
            ["ok. 1 passed", "ok. 2 passed"]
                .iter()
                .all(|r| stdout(&tests).contains(r)),
            "{linkage}"
        );
        let example = cargo_ok(&project, &["run", "--quiet", "--example", "example"], &env);
        assert_eq!(stdout(&example).trim(), format!("example: {expected}"));
        // Run directly too: cargo adds LD_LIBRARY_PATH, the example's own RUNPATH must do.
        let direct = run_alone(&shared.join("debug/examples/example"));
        assert_eq!(
            stdout(&direct).trim(),
            format!("example: {expected}"),
            "{linkage}: {direct:?}"
        );
        let bench = cargo_ok(&project, &["bench", "--quiet", "--bench", "calls"], &env);
        assert!(
            stdout(&bench).contains(&format!("bench: {expected}")),
            "{linkage}"
        );

        // Each symbol from the library meant to provide it.
        let report = verify_symbols::verify_recorded(&binary).unwrap();
        assert!(
            report.all_found() && report.starts(),
            "{linkage}: {report:#?}"
        );
        for symbol in &report.symbols {
            let provider = symbol
                .provider
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|f| f.to_string_lossy().into_owned());
            let expected_provider = match (linkage, symbol.name.as_str()) {
                ("static", _) => None,
                (_, "zlibVersion" | "crc32") => Some("libz.so.1"),
                (_, "sqlite3_libversion_number") => Some("libsqlite3.so.0"),
                _ => Some("libwords.so"),
            };
            assert_eq!(
                provider.as_deref(),
                expected_provider,
                "{linkage}: {symbol:?}"
            );
        }
        if linkage == "static" {
            assert!(report.symbols.iter().all(|s| s.status == Status::Exported));
            // libLLVM needs the system's libz.so.1: the binary's exported crc32 interposes it,
            // and verify-symbols says so.
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| w.contains("`crc32`") && w.contains("libz.so.1")),
                "{:#?}",
                report.warnings
            );
        } else {
            // The zlib shipped next to the binary is also what libLLVM gets for its libz.so.1.
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| w.contains("also needs libz.so.1") && w.contains("`zlib`")),
                "{:#?}",
                report.warnings
            );
            // Copied alone, the binary would get the system's zlib (and no libwords.so): the
            // zlib symbols are from the wrong provider, and the binary cannot start.
            let alone = fresh_dir("xtask-real-libraries-alone").join("real-libs");
            std::fs::copy(&binary, &alone).unwrap();
            let copied = verify_symbols::verify_recorded(&alone).unwrap();
            assert!(!copied.starts(), "{copied:#?}");
            for symbol in copied.symbols.iter().filter(|s| s.name != "words_count") {
                let system = ["zlibVersion", "crc32"].contains(&symbol.name.as_str());
                if system {
                    assert_eq!(symbol.status, Status::WrongProvider, "{symbol:?}");
                }
            }
            // The C++ helper's shared library needs the C++ runtime, and got it from the C++
            // driver.
            let words = shared.join("debug/libwords.so");
            let words = verify_symbols::verify(&words, &["words_count"]).unwrap();
            assert!(
                words.needed.iter().any(|n| n.name == "libstdc++.so.6"),
                "{:#?}",
                words.needed
            );
        }
    }
}

fn mistakes_fail_the_build_naming_the_library_the_file_and_the_fix() {
    let project = project("xtask-real-libraries-mistakes");
    let libz_a = system_file("libz.a");
    let good = std::fs::read_to_string(project.join("c-libs/libraries.toml")).unwrap();
    let clash = "\n[[library]]\nname = \"clash\"\nsources = [\"extra/clash.c\"]\n\
                 symbols = [\"clash_extra\"]\n";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "a misspelled symbol",
            good.replace("\"zlibVersion\"", "\"zlibVersio\""),
            vec![
                "library `zlib`",
                "libz.a",
                "`zlibVersio`",
                "did you mean `zlibVersion`",
            ],
        ),
        (
            "a symbol the library lacks",
            good.replace("\"sqlite3_libversion_number\"", "\"sqlite3_frobnicate\""),
            vec!["library `sqlite`", "libsqlite3.a", "`sqlite3_frobnicate`"],
        ),
        (
            "a prebuilt file that is not there",
            good.replace(&libz_a, "/nonexistent/libz.a"),
            vec![
                "library `zlib`",
                "`static_lib",
                "/nonexistent/libz.a",
                "does not exist",
            ],
        ),
        (
            "an unknown pkg-config package",
            good.replace("\"sqlite3\"", "\"sqlite-nonexistent\""),
            vec![
                "library `sqlite`",
                "pkg-config does not know",
                "PKG_CONFIG_PATH",
            ],
        ),
        (
            "a glob matching nothing",
            good.replace("src/*.cpp", "src/*.cxx"),
            vec!["library `words`", "src/*.cxx", "matches no file"],
        ),
        (
            "an artifact named like a system library",
            good.replace(
                "defines = [\"WORDS_EMPTY=-1\"]",
                "defines = [\"WORDS_EMPTY=-1\"]\nshared_name = \"m\"",
            ),
            vec!["library `words`", "shared_name = \"m\"", "shadow"],
        ),
        (
            "two libraries defining one symbol",
            format!("{good}{clash}"),
            vec![
                "`words`",
                "`clash`",
                "both define `words_count`",
                "silently pick one",
            ],
        ),
        (
            "an artifact that would shadow an installed library",
            good.replace(
                "defines = [\"WORDS_EMPTY=-1\"]",
                "defines = [\"WORDS_EMPTY=-1\"]\nstatic_name = \"sqlite3\"",
            ),
            vec!["library `words`", "libsqlite3.a", "shadow", "static_name"],
        ),
    ];
    let shared = shared_build();
    for (what, manifest, expected) in cases {
        let path = project.join("c-libs/broken.toml");
        std::fs::write(&path, manifest).unwrap();
        let env = [
            ("CARGO_TARGET_DIR", shared.as_path()),
            ("REAL_LIBS_MANIFEST", path.as_path()),
        ];
        let out = cargo(&project, &["build", "--quiet", "--bin", "real-libs"], &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: the build passed");
        for text in expected {
            assert!(stderr.contains(text), "{what}: no `{text}` in:\n{stderr}");
        }
    }
}
