//! JIT-compiles module.ll with LLVM's ORC v2 and calls its `compute()`, which calls the C
//! helper in the shared library build.rs linked (kept in DT_NEEDED, found via $ORIGIN).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use orc_jit::JitBuilder;

const MODULE: &str = include_str!("../module.ll");

const USAGE: &str = "usage: {{project-name}} [MODULE] [--debugger] [--perf] [--jitdump] [--cache DIR]

Runs compute() of MODULE (.ll or .bc; default: the bundled module.ll) and prints its result.
  --debugger   register the JIT's code with gdb: `break -qualified compute` stops in it
  --perf       name the JIT's functions for `perf report` (/tmp/perf-PID.map)
  --jitdump    write /tmp/jit-PID.dump for `perf record -k mono` and `perf inject --jit`
  --cache DIR  keep compiled objects in DIR: a later run compiles nothing it compiled before
               (ORC_JIT_LOG=cache logs each hit and miss)";

/// Runs `compute()` of module.ll, or of the module file given on the command line.
fn run(builder: &JitBuilder, module: Option<&Path>) -> Result<i32, orc_jit::Error> {
    let jit = builder.build()?;
    match module {
        // A module file comes from outside: a worker process (this program) compiles it, so
        // whatever LLVM does with it cannot take this program down.
        Some(path) => jit.load_module_isolated(path)?,
        // With --cache, a module the cache holds is not even parsed.
        None => jit.add_module_bytes("module.ll", MODULE.as_bytes())?,
    };
    let compute = jit.lookup::<extern "C" fn() -> i32>("compute")?;
    // SAFETY: compute (module.ll, shipped with this program, or a module its user vouches for)
    // only calls the C helper with plain integers; orc-jit has checked its ABI and that every
    // symbol it needs resolves.
    Ok(unsafe { compute.call() })
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
    // First: when started as orc-jit's compile worker, this program serves and exits here.
    orc_jit::serve_if_worker();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.len() == 1 && (args[0] == "-h" || args[0] == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (builder, module) = match jit_options(args) {
        Ok((builder, rest)) if rest.len() <= 1 => (builder, rest.into_iter().next()),
        Ok(_) => {
            eprintln!("error: one module only\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Err(problem) => {
            eprintln!("error: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&builder, module.map(PathBuf::from).as_deref()) {
        Ok(value) => {
            println!("compute() = {value}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
