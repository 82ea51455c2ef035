//! JIT code reaching the C library without any host linkage: the archive linked into the JIT,
//! the shared library loaded by path, or a Rust function standing in for it. The process's own
//! symbols are switched off, so the result proves the chosen source provided the symbol.

use std::ffi::OsString;
use std::process::ExitCode;

use orc_jit::JitBuilder;

const USAGE: &str = "usage: demo-sources archive LIB.a [MODULE | --bench-calls N] [OPTIONS]
       demo-sources library LIB.so [MODULE | --bench-calls N] [OPTIONS]
       demo-sources host-function [MODULE | --bench-calls N] [OPTIONS]

JIT-compiles MODULE (.ll or .bc; default: the bundled module.ll) and prints its `i32 f()`,
resolving external symbols only from the source named: a static archive linked into the JIT,
a shared library loaded by path, or the Rust host function `external_function`.";

/// The Rust stand-in for the C library's `external_function`.
extern "C" fn external_function(x: i32) -> i32 {
    2 * x
}

fn main() -> ExitCode {
    orc_jit::serve_if_worker();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let usage = format!("{USAGE}\n\n{}", demo_runner::OPTIONS_HELP);
    let mut builder = JitBuilder::default();
    builder.process_symbols(false);
    let source = args.first().map(|a| a.to_string_lossy().into_owned());
    let (rest, hint) = match (source.as_deref(), args.get(1)) {
        (Some("-h" | "--help"), _) if args.len() == 1 => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        (Some("archive"), Some(path)) => {
            builder.static_archive(path);
            (&args[2..], "the archive must define the symbol")
        }
        (Some("library"), Some(path)) => {
            builder.shared_library(path);
            (&args[2..], "the library must export the symbol")
        }
        (Some("host-function"), _) => {
            builder.host_function(
                "external_function",
                external_function as extern "C" fn(i32) -> i32,
            );
            (
                &args[1..],
                "only `external_function` is provided by the host",
            )
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match demo_runner::Options::parse(rest, &mut builder) {
        Ok(options) => demo_runner::execute(&options, &builder, hint),
        Err(problem) => {
            eprintln!("error: {problem}\n\n{usage}");
            ExitCode::from(2)
        }
    }
}
