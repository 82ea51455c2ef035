//! The object cache (issue 25): a process that starts again compiles nothing it compiled
//! before, on every path (in-process, isolated, IPO), with every check still holding on a hit;
//! and the cache never makes a program fail.
//!
//! "A later process" is a real one: this test binary started again, with `ORC_JIT_CACHE_CHILD`
//! saying what to do and where the cache is; it prints its cache counters.

use std::path::{Path, PathBuf};
use std::process::Command;

use orc_jit::{CacheStats, Error, Jit, OptLevel, WorkerProgram};

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

fn jit(dir: &Path) -> Jit {
    let mut builder = Jit::builder();
    builder
        .object_cache(dir)
        .host_function("host_add", host_add as extern "C" fn(i32, i32) -> i32)
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ));
    // SAFETY: the modules here have constructors that only store to their own globals.
    unsafe { builder.run_constructors(true) };
    builder.build().unwrap()
}

fn module(i: usize) -> String {
    format!(
        "declare i32 @host_add(i32, i32)\ndefine i32 @f{i}(i32 %x) {{\nentry:\n  %r = call i32 @host_add(i32 %x, i32 {i})\n  ret i32 %r\n}}\n"
    )
}

/// A module with a constructor, to prove constructors still run on a hit.
const WITH_CONSTRUCTOR: &str = "@g = global i32 0\n\
    @llvm.global_ctors = appending global [1 x { i32, void ()*, i8* }] [{ i32, void ()*, i8* } { i32 65535, void ()* @init, i8* null }]\n\
    define internal void @init() {\nentry:\n  store i32 77, i32* @g\n  ret void\n}\n\
    define i32 @read_g() {\nentry:\n  %v = load i32, i32* @g\n  ret i32 %v\n}\n";

/// IPO's helper runtime and a module optimised with it.
const RUNTIME: &str =
    "define i32 @helper(i32 %x) {\nentry:\n  %y = mul i32 %x, 3\n  ret i32 %y\n}\n";
const USES_RUNTIME: &str = "declare i32 @helper(i32)\ndefine i32 @via_helper(i32 %x) {\nentry:\n  %r = call i32 @helper(i32 %x)\n  ret i32 %r\n}\n";

fn call(jit: &Jit, name: &str, x: i32) -> i32 {
    let f = jit.lookup::<extern "C" fn(i32) -> i32>(name).unwrap();
    // SAFETY: every function here adds or multiplies.
    unsafe { f.call(x) }
}

/// Everything a program does, on every path; returns its counters.
fn a_program(dir: &Path) -> CacheStats {
    let jit = jit(dir);
    for i in 0..3 {
        jit.add_module_bytes(&format!("m{i}.ll"), module(i).as_bytes())
            .unwrap();
    }
    let parsed = jit.parse_module("m3.ll", module(3).as_bytes()).unwrap();
    jit.add_module(parsed).unwrap();
    jit.add_module_isolated("m4.ll", module(4).as_bytes())
        .unwrap();
    jit.add_module_bytes("ctor.ll", WITH_CONSTRUCTOR.as_bytes())
        .unwrap();
    let runtime = jit
        .add_ipo_runtime_bitcode("rt.ll", RUNTIME.as_bytes())
        .unwrap();
    let uses = jit
        .parse_module("uses.ll", USES_RUNTIME.as_bytes())
        .unwrap();
    jit.add_module_with_runtime(uses, &runtime).unwrap();
    for i in 0..5 {
        assert_eq!(call(&jit, &format!("f{i}"), 10), 10 + i);
    }
    let read_g = jit.lookup::<extern "C" fn() -> i32>("read_g").unwrap();
    // SAFETY: reads a global its constructor set.
    assert_eq!(unsafe { read_g.call() }, 77, "the constructor ran");
    assert_eq!(call(&jit, "via_helper", 5), 15);
    jit.cache_stats()
}

fn stats_line(stats: &CacheStats) -> String {
    format!(
        "stats hits={} misses={} rejected={} stored={} not_cacheable={} compiled={}",
        stats.hits, stats.misses, stats.rejected, stats.stored, stats.not_cacheable, stats.compiled
    )
}

fn child(test: &str, what: &str, dir: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("ORC_JIT_CACHE_CHILD", what)
        .env("ORC_JIT_CACHE_DIR", dir)
        .env("ORC_JIT_LOG", "cache")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}: {text}");
    text
}

fn counter(text: &str, name: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.contains("stats "))
        .unwrap_or_default();
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orc-jit-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_second_process_compiles_nothing_on_any_path() {
    if let (Ok(_), Ok(dir)) = (
        std::env::var("ORC_JIT_CACHE_CHILD"),
        std::env::var("ORC_JIT_CACHE_DIR"),
    ) {
        println!("{}", stats_line(&a_program(Path::new(&dir))));
        return;
    }
    for (place, dir) in [
        ("a directory on the target's filesystem", scratch("restart")),
        // Another filesystem (a tmpfs): the entries' temporary files are written beside them.
        (
            "a tmpfs",
            PathBuf::from(format!("/dev/shm/orc-jit-cache-{}", std::process::id())),
        ),
    ] {
        if place == "a tmpfs" && !Path::new("/dev/shm").is_dir() {
            panic!("no /dev/shm on this machine: the other-filesystem case cannot run");
        }
        let test = "a_second_process_compiles_nothing_on_any_path";
        let first = child(test, "first", &dir);
        // 7 modules and the IPO runtime: all compiled, all stored.
        assert_eq!(counter(&first, "compiled"), 8, "{place}: {first}");
        assert_eq!(counter(&first, "stored"), 8, "{place}: {first}");
        let second = child(test, "second", &dir);
        assert_eq!(
            counter(&second, "compiled"),
            0,
            "{place}: no code generation:\n{second}"
        );
        assert_eq!(counter(&second, "hits"), 8, "{place}: {second}");
        assert!(
            second.contains("object cache: hit: m0.ll"),
            "the log line:\n{second}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn every_check_holds_on_a_hit() {
    let dir = scratch("checks");
    for round in ["cold", "warm"] {
        let mut jit = jit(&dir);
        let provider = jit
            .add_module_bytes(
                "provider.ll",
                b"define i32 @p(i32 %x) {\nentry:\n  ret i32 %x\n}\n",
            )
            .unwrap();
        jit.add_module_bytes(
            "user.ll",
            b"declare i32 @p(i32)\ndefine i32 @u(i32 %x) {\nentry:\n  %r = call i32 @p(i32 %x)\n  ret i32 %r\n}\n",
        )
        .unwrap();
        // Signatures.
        let err = jit.lookup::<extern "C" fn(i64) -> i64>("u").unwrap_err();
        assert!(
            matches!(err, Error::SignatureMismatch { .. }),
            "{round}: {err:?}"
        );
        // Declarations against a host function.
        let err = jit
            .add_module_bytes(
                "bad.ll",
                b"declare i64 @host_add(i64, i64)\ndefine i64 @b() {\nentry:\n  %r = call i64 @host_add(i64 1, i64 2)\n  ret i64 %r\n}\n",
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::DeclarationMismatch { .. }),
            "{round}: {err:?}"
        );
        // Dependencies.
        let err = jit.remove_module(&provider).unwrap_err();
        assert!(matches!(err, Error::ModuleInUse { .. }), "{round}: {err:?}");
        assert_eq!(call(&jit, "u", 9), 9);
        let stats = jit.cache_stats();
        match round {
            "cold" => assert_eq!(stats.hits, 0, "{stats:?}"),
            // bad.ll compiled, so it is stored: its mismatch is with this JIT, not its object,
            // and it is refused on the hit too.
            _ => assert_eq!((stats.hits, stats.compiled), (3, 0), "{stats:?}"),
        }
    }
    // Constructors are refused on a hit when not allowed, as on a miss.
    let plain = Jit::builder().object_cache(&dir).build().unwrap();
    jit(&dir)
        .add_module_bytes("ctor.ll", WITH_CONSTRUCTOR.as_bytes())
        .unwrap();
    let err = plain
        .add_module_bytes("ctor.ll", WITH_CONSTRUCTOR.as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::Constructors { .. }), "{err:?}");
    assert_eq!(
        plain.cache_stats().hits,
        1,
        "it was a hit, and still refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_entry_is_compiled_again_and_replaced() {
    let dir = scratch("broken");
    jit(&dir)
        .add_module_bytes("m0.ll", module(0).as_bytes())
        .unwrap();
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "entry"))
        .collect();
    assert_eq!(entries.len(), 1);
    for damage in ["truncated", "flipped", "foreign"] {
        let bytes = std::fs::read(&entries[0]).unwrap();
        let broken = match damage {
            "truncated" => bytes[..bytes.len() / 2].to_vec(),
            "flipped" => {
                let mut b = bytes.clone();
                let at = b.len() - 10;
                b[at] ^= 0xff;
                b
            }
            _ => b"\x7fELF not an entry".to_vec(),
        };
        std::fs::write(&entries[0], broken).unwrap();
        let jit = jit(&dir);
        jit.add_module_bytes("m0.ll", module(0).as_bytes()).unwrap();
        assert_eq!(call(&jit, "f0", 1), 1);
        let stats = jit.cache_stats();
        assert_eq!(
            (stats.rejected, stats.compiled, stats.stored),
            (1, 1, 1),
            "{damage}: {stats:?}"
        );
        // Replaced: the next one hits.
        let again = self::jit(&dir);
        again
            .add_module_bytes("m0.ll", module(0).as_bytes())
            .unwrap();
        assert_eq!(again.cache_stats().hits, 1, "{damage}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_that_cannot_be_used_means_no_cache_and_the_program_runs() {
    // A path under a regular file cannot be a directory, even for root.
    let file = scratch("not-a-dir");
    std::fs::write(&file, b"a file").unwrap();
    let jit = jit(&file.join("cache"));
    jit.add_module_bytes("m0.ll", module(0).as_bytes()).unwrap();
    assert_eq!(call(&jit, "f0", 2), 2);
    let stats = jit.cache_stats();
    assert!(!stats.enabled && stats.compiled == 1, "{stats:?}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn an_object_that_holds_an_address_is_not_cached() {
    let dir = scratch("address");
    let holds = "define i64 @addr() {\nentry:\n  ret i64 ptrtoint (i8* inttoptr (i64 140737488355328 to i8*) to i64)\n}\n";
    for _ in 0..2 {
        let jit = jit(&dir);
        jit.add_module_bytes("address.ll", holds.as_bytes())
            .unwrap();
        let stats = jit.cache_stats();
        assert_eq!(
            (stats.compiled, stats.not_cacheable, stats.stored),
            (1, 1, 0),
            "{stats:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_key_covers_the_code_generation_settings() {
    let dir = scratch("settings");
    jit(&dir)
        .add_module_bytes("m0.ll", module(0).as_bytes())
        .unwrap();
    let other = Jit::builder()
        .object_cache(&dir)
        .opt_level(OptLevel::O0)
        .host_function("host_add", host_add as extern "C" fn(i32, i32) -> i32)
        .build()
        .unwrap();
    other
        .add_module_bytes("m0.ll", module(0).as_bytes())
        .unwrap();
    let stats = other.cache_stats();
    assert_eq!(
        (stats.hits, stats.misses),
        (0, 1),
        "another opt level: {stats:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_processes_adding_the_same_modules_at_once_both_succeed() {
    if let (Ok(_), Ok(dir)) = (
        std::env::var("ORC_JIT_CACHE_CHILD"),
        std::env::var("ORC_JIT_CACHE_DIR"),
    ) {
        for _ in 0..5 {
            println!("{}", stats_line(&a_program(Path::new(&dir))));
        }
        return;
    }
    let dir = scratch("race");
    let test = "two_processes_adding_the_same_modules_at_once_both_succeed";
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || child(test, "race", &dir))
        })
        .collect();
    for racer in racers {
        // Each run checked every answer; `child` requires it to exit 0.
        racer.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_size_limit_keeps_the_cache_small() {
    let dir = scratch("limit");
    let mut builder = Jit::builder();
    builder
        .object_cache(&dir)
        .object_cache_size_limit(8 << 10)
        .host_function("host_add", host_add as extern "C" fn(i32, i32) -> i32);
    let jit = builder.build().unwrap();
    for i in 0..40 {
        jit.add_module_bytes(&format!("m{i}.ll"), module(i).as_bytes())
            .unwrap();
    }
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= 8 << 10, "{total} bytes in the cache");
    let _ = std::fs::remove_dir_all(&dir);
}
