//! JIT code reaching the C library without any host linkage: the archive linked into the JIT,
//! the shared library loaded by path, or a Rust function standing in for it. The process's own
//! symbols are switched off, so the result proves the chosen source provided the symbol.

use std::path::PathBuf;
use std::process::ExitCode;

use orc_jit::JitBuilder;

const USAGE: &str = "usage: demo-sources archive LIB.a [MODULE | --bench-calls N]
       demo-sources library LIB.so [MODULE | --bench-calls N]
       demo-sources host-function [MODULE | --bench-calls N]

JIT-compiles MODULE (.ll or .bc; default: the bundled module.ll) and prints its `i32 f()`,
resolving external symbols only from the source named: a static archive linked into the JIT,
a shared library loaded by path, or the Rust host function `external_function`.";

/// The Rust stand-in for the C library's `external_function`.
extern "C" fn external_function(x: i32) -> i32 {
    2 * x
}

fn main() -> ExitCode {
    orc_jit::serve_if_worker();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut builder = JitBuilder::default();
    builder.process_symbols(false);
    let (module, hint) = match args.as_slice() {
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ["archive", path, module @ ..] if module.len() <= 2 => {
            builder.static_archive(path);
            (module, "the archive must define the symbol")
        }
        ["library", path, module @ ..] if module.len() <= 2 => {
            builder.shared_library(path);
            (module, "the library must export the symbol")
        }
        ["host-function", module @ ..] if module.len() <= 2 => {
            builder.host_function(
                "external_function",
                external_function as extern "C" fn(i32) -> i32,
            );
            (module, "only `external_function` is provided by the host")
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let module = match module {
        [] => None,
        ["--bench-calls", n] => return demo_runner::bench_calls(&builder, n),
        [path] if !path.starts_with("--") => Some(PathBuf::from(path)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    demo_runner::report(demo_runner::run(module.as_deref(), &builder), hint)
}
