//! The real binary: the helper is inlined into JIT code, and the binary can host a JIT.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

/// What the program prints: compute()'s result with the helper inlined; what the C++ helpers'
/// global objects hold (the JIT constructed them: the name is their std::string's); the line
/// their destructor prints when the JIT is dropped. And it exits 0.
const EXPECTED: &str = "compute() = 42 (helper_add inlined: yes)\n\
    helpers: global history \"the C++ helpers' history\" constructed · results: 1 · host_observe calls: 1\n\
    helpers: history destroyed with 1 result\n";

#[test]
fn prints_the_result_with_the_helper_inlined_and_its_global_objects() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
}

#[test]
fn the_binary_carries_its_note_and_a_dynamic_symbol_table() {
    // The helpers live in the JIT, so the note lists nothing the binary must export for them...
    let recorded = verify_symbols::verify_recorded(Path::new(BINARY)).unwrap();
    assert!(recorded.symbols.is_empty() && recorded.all_found());
    // ...but it must still be dynamically linked for the JIT to resolve libc and friends.
    let report = verify_symbols::verify(Path::new(BINARY), &["malloc"]).unwrap();
    assert!(!report.statically_linked);
    assert!(report.all_found());
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
