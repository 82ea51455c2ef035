//! JIT-compiles module.ll with LLVM's ORC v2 and calls its `compute()`, which calls the C
//! helper linked into this binary by build.rs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use orc_jit::Jit;

const MODULE: &str = include_str!("../module.ll");

/// Runs `compute()` of module.ll, or of the module file given on the command line.
fn run(module: Option<&Path>) -> Result<i32, orc_jit::Error> {
    let jit = Jit::new()?;
    match module {
        // A module file comes from outside: a worker process (this program) compiles it, so
        // whatever LLVM does with it cannot take this program down.
        Some(path) => jit.load_module_isolated(path)?,
        None => jit.add_module(jit.parse_module("module.ll", MODULE.as_bytes())?)?,
    };
    let compute = jit.lookup::<extern "C" fn() -> i32>("compute")?;
    // SAFETY: compute (module.ll, shipped with this program, or a module its user vouches for)
    // only calls the C helper with plain integers; orc-jit has checked its ABI and that every
    // symbol it needs resolves.
    Ok(unsafe { compute.call() })
}

fn main() -> ExitCode {
    // First: when started as orc-jit's compile worker, this program serves and exits here.
    orc_jit::serve_if_worker();
    let module = std::env::args_os().nth(1).map(PathBuf::from);
    match run(module.as_deref()) {
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
