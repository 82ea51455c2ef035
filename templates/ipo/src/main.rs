//! JIT-compiles module.ll with LLVM's ORC v2, with the C++ helpers (precompiled to bitcode by
//! build.rs) imported and inlined before the module enters the JIT, and calls `compute()`.
//! The helpers keep global objects (a std::string and a std::vector) and call back into this
//! program (`host_observe`): the JIT constructs the objects when it adds the helpers and
//! destroys them when it is dropped.

use std::ffi::{CStr, OsString, c_char};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use orc_jit::JitBuilder;

const MODULE: &str = include_str!("../module.ll");
const HELPERS: &[u8] = include_bytes!(env!("JIT_LINKAGE_BITCODE_HELPERS"));

const USAGE: &str = "usage: {{project-name}} [--debugger] [--perf] [--jitdump] [--cache DIR]

Runs compute() of the bundled module.ll, with the C++ helpers inlined, and prints its result.
  --debugger   register the JIT's code with gdb: `break -qualified compute` stops in it
  --perf       name the JIT's functions for `perf report` (/tmp/perf-PID.map)
  --jitdump    write /tmp/jit-PID.dump for `perf record -k mono` and `perf inject --jit`
  --cache DIR  keep compiled objects in DIR: a later run compiles nothing it compiled before
               (ORC_JIT_LOG=cache logs each hit and miss)";

/// How often the helpers called back into this program.
static OBSERVED: AtomicI32 = AtomicI32::new(0);

/// `host_observe` (helpers.h): the helpers tell the program each result.
extern "C" fn host_observe(value: i32) -> i32 {
    OBSERVED.fetch_add(1, Ordering::Relaxed);
    value
}

/// Runs compute() and prints its result and what the helpers' global objects hold; then drops
/// the JIT, which runs the helpers' destructors (their line comes last).
fn run(builder: &mut JitBuilder) -> Result<(), orc_jit::Error> {
    builder.host_function("host_observe", host_observe as extern "C" fn(i32) -> i32);
    // SAFETY: the only constructors and destructors are the helpers' own (c-libs/src/
    // helpers.cpp): they build and free a std::string and a std::vector, and print one line.
    unsafe {
        builder.run_constructors(true);
    }
    let jit = builder.build()?;
    // Once per JIT: the helpers' single definitions (globals included), constructed here.
    let runtime = jit.add_ipo_runtime_bitcode("helpers.bc", HELPERS)?;
    let module = jit.parse_module("module.ll", MODULE.as_bytes())?;
    let optimized = jit.optimize_with_runtime(module, &runtime)?;
    let inlined = if optimized.calls("compute", "helper_add") {
        "no"
    } else {
        "yes"
    };
    jit.add_module(optimized)?;
    let compute = jit.lookup::<extern "C" fn() -> i32>("compute")?;
    // SAFETY: compute (module.ll, shipped with this program) only calls the helpers with plain
    // integers; orc-jit has checked its ABI and that every symbol it needs resolves.
    let value = unsafe { compute.call() };
    println!("compute() = {value} (helper_add inlined: {inlined})");
    let name = jit.lookup::<extern "C" fn() -> *const c_char>("helper_history_name")?;
    let size = jit.lookup::<extern "C" fn() -> i64>("helper_history_size")?;
    // SAFETY: both only read the helpers' globals; the name is the std::string's buffer,
    // NUL-terminated, read here while the JIT (and so the string) lives.
    let (name, results) = unsafe { (CStr::from_ptr(name.call()), size.call()) };
    println!(
        "helpers: global history \"{}\" constructed · results: {results} · host_observe calls: {}",
        name.to_string_lossy(),
        OBSERVED.load(Ordering::Relaxed)
    );
    // Runs the helpers' destructors, before the JIT's memory goes.
    drop(jit);
    Ok(())
}

/// The JIT's switches from the command line (`--debugger`, `--perf`, `--jitdump`, `--cache
/// DIR`), set on a builder; the other arguments are returned.
fn jit_options(
    args: impl IntoIterator<Item = OsString>,
) -> Result<(JitBuilder, Vec<OsString>), String> {
    let mut builder = JitBuilder::default();
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--debugger") => {
                builder.debugger(true);
            }
            Some("--perf") => {
                builder.perf_map(true);
            }
            Some("--jitdump") => {
                builder.jitdump(true);
            }
            Some("--cache") => {
                let dir = args.next().ok_or("--cache takes a directory")?;
                builder.object_cache(dir);
            }
            Some(flag) if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            _ => rest.push(arg),
        }
    }
    Ok((builder, rest))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.len() == 1 && (args[0] == "-h" || args[0] == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut builder = match jit_options(args) {
        Ok((builder, rest)) if rest.is_empty() => builder,
        Ok(_) => {
            eprintln!("error: this program takes no module\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Err(problem) => {
            eprintln!("error: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&mut builder) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
