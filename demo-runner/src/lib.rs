//! The command line of demo-static and demo-dynamic: JIT a module and call its `f()`.
//!
//! Both demos are this same program; they differ only in how their build script links the C
//! library, which is the point: the JIT code finds `external_function` either way.

use std::ffi::OsString;
use std::process::ExitCode;

use std::path::Path;

use orc_jit::{Error, JitBuilder};

/// The module run when no path is given.
pub const BUNDLED_MODULE: &str = include_str!("../module.ll");

/// The calls benchmark's module: `i64 call_loop(i64 n)` sums `external_function(i)`.
pub const CALL_LOOP_MODULE: &str = include_str!("../call_loop.ll");

/// `--bench-calls N`: times N calls of `external_function` from JIT code (one call per loop
/// iteration, never inlined) with a JIT configured by `builder`, and prints
/// `ns-per-call X result R` for `cargo xtask bench calls`.
pub fn bench_calls(builder: &JitBuilder, n: &str) -> ExitCode {
    let Ok(n) = n.parse::<i64>() else {
        eprintln!("error: --bench-calls takes a number of calls, not `{n}`");
        return ExitCode::from(2);
    };
    let timed = || -> Result<(f64, i64), Error> {
        let jit = builder.build()?;
        jit.add_module(jit.parse_module("call_loop.ll", CALL_LOOP_MODULE.as_bytes())?)?;
        let call_loop = jit.lookup::<extern "C" fn(i64) -> i64>("call_loop")?;
        // SAFETY: call_loop (call_loop.ll) only adds up what external_function returns.
        std::hint::black_box(unsafe { call_loop.call(1000) });
        let start = std::time::Instant::now();
        // SAFETY: as above.
        let result = std::hint::black_box(unsafe { call_loop.call(std::hint::black_box(n)) });
        Ok((start.elapsed().as_nanos() as f64 / n.max(1) as f64, result))
    };
    match timed() {
        Ok((ns, result)) => {
            println!("ns-per-call {ns:.4} result {result}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
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

/// Runs demo-static or demo-dynamic with the process's arguments; never panics, exits 1 on any
/// failure.
pub fn main(linkage: Linkage) -> ExitCode {
    // A module file given on the command line is compiled by a worker: this same program.
    orc_jit::serve_if_worker();
    let mut args = std::env::args_os();
    let program = args
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "demo".into());
    let args: Vec<OsString> = args.collect();
    let module = match args.as_slice() {
        [] => None,
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{}", usage(&program));
            return ExitCode::SUCCESS;
        }
        [flag, n] if flag == "--bench-calls" => {
            return bench_calls(&JitBuilder::default(), &n.to_string_lossy());
        }
        [path] => Some(path.clone()),
        _ => {
            eprintln!("{}", usage(&program));
            return ExitCode::from(2);
        }
    };
    let result = run(module.as_deref().map(Path::new), &JitBuilder::default());
    report(result, linkage.hint())
}

/// Prints `f() = N`, or the error (LLVM's diagnostic as it is; a missing symbol with `hint`),
/// and returns the exit code.
pub fn report(result: Result<i32, Error>, hint: &str) -> ExitCode {
    match result {
        Ok(value) => {
            println!("f() = {value}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            match &err {
                // LLVM's diagnostic stands alone: `file:line:col: error: ...`.
                Error::Parse { .. } | Error::Verify { .. } => eprintln!("{err}"),
                Error::MissingSymbols { .. } => eprintln!("error: {err}\nhint: {hint}"),
                _ => eprintln!("error: {err}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn usage(program: &str) -> String {
    format!(
        "usage: {program} [MODULE]\n       {program} --bench-calls N\n\nJIT-compiles MODULE \
         (.ll or .bc; default: the bundled module.ll) and prints the result of its\n`i32 f()`. \
         --bench-calls N times N calls of the C library's external_function from JIT code\nand \
         prints the nanoseconds per call."
    )
}

/// JITs the module at `path` (or the bundled one) with a JIT configured by `builder`, and calls
/// `i32 f()`. A module file comes from outside: it is compiled by a worker process (this
/// program, which must call `orc_jit::serve_if_worker()` first), so whatever LLVM does with it
/// cannot take the demo down; the bundled module is trusted and compiled in-process.
///
/// With `JIT_DEMO_TIMINGS=1` in the environment it also prints, to stderr, when it started
/// (`timing start-unix-ns N`, the wall clock, so that a parent can tell how long the process
/// took to reach it) and how long each step took (`timing jit-ms`, `parse-ms`, `add-ms`,
/// `lookup-ms` (code generation and linking), `call-ms`): `cargo xtask bench startup` reads
/// them.
pub fn run(path: Option<&Path>, builder: &JitBuilder) -> Result<i32, Error> {
    let mut timings = Timings::from_env();
    let jit = builder.build()?;
    timings.lap("jit");
    match path {
        Some(path) => {
            jit.load_module_isolated(path)?;
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
    Ok(value)
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
