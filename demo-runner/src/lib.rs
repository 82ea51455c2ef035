//! The command line of demo-static and demo-dynamic: JIT a module and call its `f()`.
//!
//! Both demos are this same program; they differ only in how their build script links the C
//! library, which is the point: the JIT code finds `external_function` either way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use orc_jit::{CacheStats, Error, JitBuilder};

/// The module run when no path is given.
pub const BUNDLED_MODULE: &str = include_str!("../module.ll");

/// The calls benchmark's module: `i64 call_loop(i64 n)` sums `external_function(i)`.
pub const CALL_LOOP_MODULE: &str = include_str!("../call_loop.ll");

/// `--bench-calls N`: times N calls of `external_function` from JIT code (one call per loop
/// iteration, never inlined) with a JIT configured by `builder`. Returns the nanoseconds per
/// call, the loop's result, and the object cache's counters; [`execute`] prints
/// `ns-per-call X result R` for `cargo xtask bench calls`.
pub fn bench_calls(builder: &JitBuilder, n: i64) -> Result<(f64, i64, CacheStats), Error> {
    let jit = builder.build()?;
    jit.add_module(jit.parse_module("call_loop.ll", CALL_LOOP_MODULE.as_bytes())?)?;
    let call_loop = jit.lookup::<extern "C" fn(i64) -> i64>("call_loop")?;
    // SAFETY: call_loop (call_loop.ll) only adds up what external_function returns.
    std::hint::black_box(unsafe { call_loop.call(1000) });
    let start = std::time::Instant::now();
    // SAFETY: as above.
    let result = std::hint::black_box(unsafe { call_loop.call(std::hint::black_box(n)) });
    let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    Ok((ns, result, jit.cache_stats()))
}

/// How the demo binary links its C library; it decides the hint given for a missing symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// demo-static.
    Static,
    /// demo-dynamic.
    Dynamic,
}

impl Linkage {
    /// The likely link-time cause of a missing symbol.
    pub fn hint(self) -> &'static str {
        match self {
            Linkage::Static => {
                "this binary links its C library statically: the archive must be linked whole \
                 and the symbol exported to .dynsym (is it listed in the manifest's `symbols`?)"
            }
            Linkage::Dynamic => {
                "this binary links its C library dynamically: the .so must be in DT_NEEDED and \
                 next to the binary (RUNPATH $ORIGIN), and must define the symbol"
            }
        }
    }
}

/// What a demo's command line asks for, beyond the JIT switches [`Options::parse`] sets on the
/// builder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    /// The module file to run (default: the bundled module.ll).
    pub module: Option<PathBuf>,
    /// `--bench-calls N`: time N calls instead of running a module.
    pub bench_calls: Option<i64>,
    /// `--cache-stats`: print the object cache's counters (on stderr) when done.
    pub cache_stats: bool,
}

/// The options every demo takes, for its `--help` (lines of at most 100 characters).
pub const OPTIONS_HELP: &str = "\
options:
  --debugger       register the JIT's code with gdb (the GDB JIT interface): `break f` stops in
                   it, `bt` shows the JIT's frame above the host's
  --perf           name the JIT's functions for `perf report` (/tmp/perf-PID.map)
  --jitdump        write /tmp/jit-PID.dump for `perf record -k mono` + `perf inject --jit`, which
                   also lets `perf annotate` show the JIT's code
  --cache DIR      keep compiled objects in DIR: a later run compiles nothing it compiled before
                   (silent; ORC_JIT_LOG=cache logs each hit, miss and store on stderr)
  --cache-stats    with --cache, print the cache's counters on stderr when done: `cache: hits H
                   misses M rejected R stored S not-cacheable U compiled C`";

impl Options {
    /// Parses the arguments after a demo's own (`[MODULE] [--bench-calls N] [--debugger]
    /// [--perf] [--jitdump] [--cache DIR] [--cache-stats]`, in any order) and turns the JIT
    /// switches they name on in `builder`. A usage error is `Err` with what is wrong.
    pub fn parse(args: &[OsString], builder: &mut JitBuilder) -> Result<Options, String> {
        let mut options = Options::default();
        let mut cache = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let text = arg.to_string_lossy();
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| format!("{flag} takes a value"))
                    .cloned()
            };
            match &*text {
                "--debugger" => {
                    builder.debugger(true);
                }
                "--perf" => {
                    builder.perf_map(true);
                }
                "--jitdump" => {
                    builder.jitdump(true);
                }
                "--cache" => {
                    builder.object_cache(value("--cache DIR")?);
                    cache = true;
                }
                "--cache-stats" => options.cache_stats = true,
                "--bench-calls" => {
                    let n = value("--bench-calls N")?;
                    let n = n.to_string_lossy();
                    let calls = n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        format!("--bench-calls takes a number of calls, not `{n}`")
                    })?;
                    options.bench_calls = Some(calls);
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                _ if options.module.is_some() => {
                    return Err(format!("one module only: `{text}` is a second one"));
                }
                _ => options.module = Some(PathBuf::from(arg)),
            }
        }
        if options.bench_calls.is_some() && options.module.is_some() {
            return Err("--bench-calls runs its own module (call_loop.ll): give no MODULE".into());
        }
        if options.cache_stats && !cache {
            return Err("--cache-stats shows the object cache's counters: give --cache DIR".into());
        }
        Ok(options)
    }
}

/// Runs what `options` ask for with a JIT configured by `builder` (the module's `f()`, or the
/// calls benchmark), prints the result, and the cache's counters with `--cache-stats`, and
/// returns the exit code: 0, or 1 on any error (a missing symbol with `hint`).
pub fn execute(options: &Options, builder: &JitBuilder, hint: &str) -> ExitCode {
    let stats = match options.bench_calls {
        Some(n) => bench_calls(builder, n).map(|(ns, result, stats)| {
            println!("ns-per-call {ns:.4} result {result}");
            stats
        }),
        None => run(options.module.as_deref(), builder).map(|(value, stats)| {
            println!("f() = {value}");
            stats
        }),
    };
    match stats {
        Ok(stats) => {
            if options.cache_stats {
                eprintln!("{}", cache_line(&stats));
            }
            ExitCode::SUCCESS
        }
        Err(err) => report_error(&err, hint),
    }
}

/// `cache: hits H misses M rejected R stored S not-cacheable U compiled C` (what
/// `--cache-stats` prints).
pub fn cache_line(stats: &CacheStats) -> String {
    format!(
        "cache: hits {} misses {} rejected {} stored {} not-cacheable {} compiled {}",
        stats.hits, stats.misses, stats.rejected, stats.stored, stats.not_cacheable, stats.compiled
    )
}

/// Runs demo-static or demo-dynamic with the process's arguments; never panics, exits 1 on any
/// failure, 2 on a usage error.
pub fn main(linkage: Linkage) -> ExitCode {
    // A module file given on the command line is compiled by a worker: this same program.
    orc_jit::serve_if_worker();
    let mut args = std::env::args_os();
    let program = args
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "demo".into());
    let args: Vec<OsString> = args.collect();
    if matches!(args.as_slice(), [flag] if flag == "-h" || flag == "--help") {
        println!("{}", usage(&program));
        return ExitCode::SUCCESS;
    }
    let mut builder = JitBuilder::default();
    match Options::parse(&args, &mut builder) {
        Ok(options) => execute(&options, &builder, linkage.hint()),
        Err(problem) => {
            eprintln!("error: {problem}\n\n{}", usage(&program));
            ExitCode::from(2)
        }
    }
}

/// Prints `err` as the demos do and returns exit code 1.
fn report_error(err: &Error, hint: &str) -> ExitCode {
    match err {
        // LLVM's diagnostic stands alone: `file:line:col: error: ...`.
        Error::Parse { .. } | Error::Verify { .. } => eprintln!("{err}"),
        Error::MissingSymbols { .. } => eprintln!("error: {err}\nhint: {hint}"),
        _ => eprintln!("error: {err}"),
    }
    ExitCode::FAILURE
}

fn usage(program: &str) -> String {
    format!(
        "usage: {program} [MODULE] [OPTIONS]\n       {program} --bench-calls N [OPTIONS]\n\n\
         JIT-compiles MODULE (.ll or .bc; default: the bundled module.ll) and prints the result \
         of its\n`i32 f()`. --bench-calls N times N calls of the C library's external_function \
         from JIT code\nand prints the nanoseconds per call.\n\n{OPTIONS_HELP}\n\n\
         debugging and profiling the JIT's code:\n  \
         gdb -batch -ex 'set breakpoint pending on' -ex 'break f' -ex run -ex bt \\\n      \
         --args {program} --debugger\n  \
         perf record -e cpu-clock -F 999 --call-graph dwarf -o perf.data \\\n      \
         {program} --perf --bench-calls 1000000000\n  \
         perf report -i perf.data --children --no-inline --sort symbol    # call_loop: the loop."
    )
}

/// JITs the module at `path` (or the bundled one) with a JIT configured by `builder`, and calls
/// `i32 f()`; returns its value and the object cache's counters. A module file comes from
/// outside: it is compiled by a worker process (this program, which must call
/// `orc_jit::serve_if_worker()` first), so whatever LLVM does with it cannot take the demo
/// down; the bundled module is trusted and compiled in-process (from the object cache, when
/// `builder` has one and it holds the module: then not even parsed).
///
/// With `JIT_DEMO_TIMINGS=1` in the environment it also prints, to stderr, when it started
/// (`timing start-unix-ns N`, the wall clock, so that a parent can tell how long the process
/// took to reach it) and how long each step took (`timing jit-ms`, `parse-ms` (not with a
/// cache), `add-ms`, `lookup-ms` (code generation and linking), `call-ms`): `cargo xtask bench
/// startup` reads them.
pub fn run(path: Option<&Path>, builder: &JitBuilder) -> Result<(i32, CacheStats), Error> {
    let mut timings = Timings::from_env();
    let jit = builder.build()?;
    timings.lap("jit");
    match path {
        Some(path) => {
            jit.load_module_isolated(path)?;
            timings.lap("add");
        }
        None if jit.cache_stats().enabled => {
            jit.add_module_bytes("module.ll", BUNDLED_MODULE.as_bytes())?;
            timings.lap("add");
        }
        None => {
            let module = jit.parse_module("module.ll", BUNDLED_MODULE.as_bytes())?;
            timings.lap("parse");
            jit.add_module(module)?;
            timings.lap("add");
        }
    };
    let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
    timings.lap("lookup");
    // SAFETY: the demo runs the module its user names, as a program runs a C library it is
    // linked with: orc-jit has checked the ABI of `f` and that every symbol it needs resolves;
    // what the code does is the module author's promise (see orc-jit's safety model).
    let value = unsafe { f.call() };
    timings.lap("call");
    Ok((value, jit.cache_stats()))
}

/// The steps of [`run`], timed when `JIT_DEMO_TIMINGS` is set.
struct Timings {
    last: Option<std::time::Instant>,
}

impl Timings {
    fn from_env() -> Timings {
        if std::env::var_os("JIT_DEMO_TIMINGS").is_none() {
            return Timings { last: None };
        }
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        eprintln!("timing start-unix-ns {}", since_epoch.as_nanos());
        Timings {
            last: Some(std::time::Instant::now()),
        }
    }

    fn lap(&mut self, step: &str) {
        if let Some(last) = self.last {
            let now = std::time::Instant::now();
            eprintln!("timing {step}-ms {:.4}", (now - last).as_secs_f64() * 1e3);
            self.last = Some(now);
        }
    }
}
