//! The command line of demo-static and demo-dynamic: JIT a module and call its `f()`.
//!
//! Both demos are this same program; they differ only in how their build script links the C
//! library, which is the point: the JIT code finds `external_function` either way.

use std::ffi::OsString;
use std::process::ExitCode;

use std::path::Path;

use jit_core::{Error, JitBuilder};

/// The module run when no path is given.
pub const BUNDLED_MODULE: &str = include_str!("../module.ll");

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
    jit_core::serve_if_worker();
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
        "usage: {program} [MODULE]\n\nJIT-compiles MODULE (.ll or .bc; default: the bundled \
         module.ll) and prints the result of its `i32 f()`."
    )
}

/// JITs the module at `path` (or the bundled one) with a JIT configured by `builder`, and calls
/// `i32 f()`. A module file comes from outside: it is compiled by a worker process (this
/// program, which must call `jit_core::serve_if_worker()` first), so whatever LLVM does with it
/// cannot take the demo down; the bundled module is trusted and compiled in-process.
pub fn run(path: Option<&Path>, builder: &JitBuilder) -> Result<i32, Error> {
    let jit = builder.build()?;
    match path {
        Some(path) => jit.load_module_isolated(path)?,
        None => jit.add_module(jit.parse_module("module.ll", BUNDLED_MODULE.as_bytes())?)?,
    };
    let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
    // SAFETY: the demo runs the module its user names, as a program runs a C library it is
    // linked with: jit-core has checked the ABI of `f` and that every symbol it needs resolves;
    // what the code does is the module author's promise (see jit-core's safety model).
    Ok(unsafe { f.call() })
}
