//! `--cache DIR`, orc-jit's object cache (issue 25, point 5): a second run of the demo
//! compiles nothing, for the bundled module (compiled in-process) and for a module file
//! (compiled by a worker); by default the cache prints nothing; `--cache-stats` prints its
//! counters and `ORC_JIT_LOG=cache` orc-jit's own log lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_demo-static");

fn demo(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("ORC_JIT_LOG")
        .output()
        .expect("demo-static starts")
}

fn fresh(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-static-cache-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The counter `name` of the `cache: ...` line `--cache-stats` printed on stderr.
fn counter(out: &Output, name: &str) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cache: "))
        .unwrap_or_else(|| panic!("no `cache:` line on stderr: {stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == name)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in: {line}"))
}

#[test]
fn the_second_run_compiles_nothing() {
    let dir = fresh("second-run");
    let cache = dir.join("objects");
    let module = dir.join("module.ll");
    std::fs::write(
        &module,
        "declare i32 @external_function(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @external_function(i32 5)\n  ret i32 %r\n}\n",
    )
    .unwrap();
    // The bundled module (in-process), then a module file (a worker compiles it).
    for (what, module, expected) in [
        ("bundled module", None, "f() = 42\n"),
        ("module file", Some(module.as_os_str()), "f() = 10\n"),
    ] {
        let mut args: Vec<&std::ffi::OsStr> = module.into_iter().collect();
        args.extend([
            "--cache".as_ref(),
            cache.as_os_str(),
            "--cache-stats".as_ref(),
        ]);
        let first = demo(&args);
        assert!(first.status.success(), "{what}: {first:?}");
        assert_eq!(String::from_utf8_lossy(&first.stdout), expected, "{what}");
        assert_eq!(
            (counter(&first, "compiled"), counter(&first, "stored")),
            (1, 1),
            "{what}: the first run compiles and stores"
        );
        let second = demo(&args);
        assert!(second.status.success(), "{what}: {second:?}");
        assert_eq!(String::from_utf8_lossy(&second.stdout), expected, "{what}");
        assert_eq!(
            (counter(&second, "compiled"), counter(&second, "hits")),
            (0, 1),
            "{what}: the second run compiles nothing: {}",
            String::from_utf8_lossy(&second.stderr)
        );
    }
}

#[test]
fn the_cache_prints_nothing_by_default_and_logs_with_orc_jit_log() {
    let dir = fresh("quiet");
    for _ in 0..2 {
        let out = demo(&["--cache".as_ref(), dir.as_os_str()]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    let logged = Command::new(BINARY)
        .args(["--cache".as_ref(), dir.as_os_str()])
        .env("ORC_JIT_LOG", "cache")
        .output()
        .unwrap();
    assert!(logged.status.success(), "{logged:?}");
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert!(
        stderr.contains("orc-jit: object cache: hit: module.ll"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&logged.stdout), "f() = 42\n");
}

/// A directory that cannot be used is orc-jit's warning, and the demo runs without a cache.
#[test]
fn an_unusable_cache_directory_still_runs() {
    let dir = fresh("unusable");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = demo(&[
        "--cache".as_ref(),
        file.as_os_str(),
        "--cache-stats".as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("a-file"),
        "{stderr}"
    );
    assert_eq!(counter(&out, "compiled"), 1);
}
