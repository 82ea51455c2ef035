//! The real binary, as cargo built it with build.rs's link settings.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

/// What the program prints.
const EXPECTED: &str = "compute() = 42\n";

#[test]
fn prints_the_result() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
}

#[test]
fn exports_every_symbol_the_jit_needs() {
    // The symbols its build recorded inside the binary (jit-linkage's note).
    let report = verify_symbols::verify_recorded(Path::new(BINARY)).unwrap();
    assert!(!report.symbols.is_empty());
    assert!(report.all_found(), "{}", verify_symbols::render_text(
        &verify_symbols::Report { binaries: vec![report.clone()] },
        false,
    ));
}

/// The JIT's switches (`--debugger`, `--perf`, `--jitdump`, `--cache DIR`) change nothing in
/// what the program prints; a second run with `--cache DIR` takes the compiled object from the
/// cache (orc-jit's log says so with ORC_JIT_LOG=cache).
#[test]
fn the_jit_switches_run_the_same_program() {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("object-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let cache = cache.to_str().unwrap();
    let run = |args: &[&str]| {
        let child = Command::new(BINARY)
            .args(args)
            .env("ORC_JIT_LOG", "cache")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        // What --perf and --jitdump leave for perf.
        for file in [
            format!("/tmp/perf-{pid}.map"),
            format!("/tmp/jit-{pid}.dump"),
        ] {
            let _ = std::fs::remove_file(file);
        }
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED, "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    run(&["--debugger", "--perf", "--jitdump"]);
    let first = run(&["--cache", cache]);
    assert!(first.contains("object cache: stored"), "{first}");
    let second = run(&["--cache", cache]);
    assert!(second.contains("object cache: hit"), "{second}");
    let out = Command::new(BINARY).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
