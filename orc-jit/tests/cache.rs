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

/// The entries are code the program runs and their checksum stops accidents only, so a
/// directory another user may write is not used (review B16): with a warning, the program runs
/// without a cache. An entry file that others may write is not read either.
#[test]
fn a_directory_or_entry_others_can_write_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o1777, 0o775] {
        let dir = scratch(&format!("shared-{mode:o}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let jit = jit(&dir);
        jit.add_module_bytes("m0.ll", module(0).as_bytes()).unwrap();
        assert_eq!(call(&jit, "f0", 3), 3);
        let stats = jit.cache_stats();
        assert!(
            !stats.enabled && stats.compiled == 1,
            "mode {mode:o}: {stats:?}"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "mode {mode:o}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A directory the cache creates is this user's alone, and so are its entries.
    let dir = scratch("private");
    jit(&dir)
        .add_module_bytes("m0.ll", module(0).as_bytes())
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    let jit = jit(&dir);
    jit.add_module_bytes("m0.ll", module(0).as_bytes()).unwrap();
    let stats = jit.cache_stats();
    assert_eq!(
        (stats.hits, stats.rejected, stats.stored),
        (0, 1, 1),
        "{stats:?}"
    );
    // Replaced by a private one, which the next process uses.
    assert_eq!(mode(&entry), 0o600);
    let again = self::jit(&dir);
    again
        .add_module_bytes("m0.ll", module(0).as_bytes())
        .unwrap();
    assert_eq!(again.cache_stats().hits, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The isolation limits bound what comes in through the isolated path, from a worker or from
/// the cache; an in-process module is accepted with a cache exactly as without one (review
/// B16: a cache used to bound in-process modules too).
#[test]
fn the_cache_does_not_change_what_the_jit_accepts() {
    // 64 KiB of non-zero data (zeroes would go to .bss, which the limit counts the same way).
    let ir = format!(
        "@big = global [65536 x i8] [{}]\n\
         define i32 @g(i32 %x) {{\nentry:\n  %v = load i8, i8* getelementptr ([65536 x i8], [65536 x i8]* @big, i64 0, i64 5)\n  \
         %r = zext i8 %v to i32\n  ret i32 %r\n}}\n",
        vec!["i8 7"; 65536].join(", ")
    );
    let limits = orc_jit::IsolationLimits {
        object_bytes: 32 << 10,
        ..Default::default()
    };
    let dir = scratch("limits");
    let build = |cache: bool| {
        let mut builder = Jit::builder();
        builder
            .isolation_limits(limits)
            .compile_worker(WorkerProgram::Path(
                env!("CARGO_BIN_EXE_orc-jit-worker").into(),
            ));
        if cache {
            builder.object_cache(&dir);
        }
        builder.build().unwrap()
    };
    // In-process: accepted without a cache, on a miss (which stores it) and on a hit.
    for cache in [false, true, true] {
        let jit = build(cache);
        let added = jit.add_module_bytes("big.ll", ir.as_bytes());
        assert!(added.is_ok(), "cache {cache}: {:?}", added.map(|_| ()));
        assert_eq!(call(&jit, "g", 0), 7);
    }
    // Isolated: refused without a cache (the worker's reply is over the limit), and on a hit of
    // the entry the in-process add stored (the object is over the limit).
    for cache in [false, true] {
        let jit = build(cache);
        match jit.add_module_isolated("big.ll", ir.as_bytes()) {
            Err(Error::ModuleRejected { message, .. }) => {
                assert!(message.contains("limit"), "cache {cache}: {message}")
            }
            other => panic!(
                "cache {cache}: isolated over the limit: {:?}",
                other.map(|_| ())
            ),
        }
        assert_eq!(jit.cache_stats().hits, u64::from(cache));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_object_that_holds_an_address_is_not_cached() {
    let dir = scratch("address");
    // Read, never called. (`ptrtoint (inttoptr X)` would fold to the plain number X on LLVM 14,
    // which is no address.)
    let holds = "define i32 @peek() {\nentry:\n  %v = load i32, i32* inttoptr (i64 140737488355328 to i32*)\n  ret i32 %v\n}\n";
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
    // The entries are written off this thread: the counters wait for them.
    assert_eq!(jit.cache_stats().stored, 40);
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= 8 << 10, "{total} bytes in the cache");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cache's writes are made off the compiling thread; a program that adds its modules and
/// ends at once still leaves every entry, for the next process to hit: one that calls `exit`
/// with its JIT alive, one whose JIT is leaked when `main` returns, one that drops its JIT.
/// None of them asks for the counters (which wait for the writes too).
#[test]
fn a_process_that_ends_right_after_adding_leaves_a_complete_cache() {
    const MODULES: usize = 30;
    let add_all = |dir: &Path| {
        let jit = jit(dir);
        for i in 0..MODULES {
            jit.add_module_bytes(&format!("m{i}.ll"), module(i).as_bytes())
                .unwrap();
        }
        jit
    };
    if let (Ok(how), Ok(dir)) = (
        std::env::var("ORC_JIT_CACHE_CHILD"),
        std::env::var("ORC_JIT_CACHE_DIR"),
    ) {
        let jit = add_all(Path::new(&dir));
        match how.as_str() {
            "exit" => std::process::exit(0),
            "leak" => std::mem::forget(jit),
            "drop" => drop(jit),
            _ => println!("{}", stats_line(&jit.cache_stats())),
        }
        return;
    }
    let test = "a_process_that_ends_right_after_adding_leaves_a_complete_cache";
    for how in ["exit", "leak", "drop"] {
        let dir = scratch(&format!("ends-{how}"));
        child(test, how, &dir);
        let second = child(test, "count", &dir);
        assert_eq!(
            (counter(&second, "hits"), counter(&second, "compiled")),
            (MODULES as u64, 0),
            "after a first process that ended by {how}:\n{second}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
