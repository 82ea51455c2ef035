//! JIT-compiles module.ll with LLVM's ORC v2 and calls its `compute()`, which calls one C
//! library linked statically and one linked dynamically by build.rs.

use std::process::ExitCode;

use jit_core::Jit;

const MODULE: &str = include_str!("../module.ll");

fn run() -> Result<i32, jit_core::Error> {
    let jit = Jit::new()?;
    jit.add_module(jit.parse_module("module.ll", MODULE.as_bytes())?)?;
    let compute = jit.lookup::<extern "C" fn() -> i32>("compute")?;
    // SAFETY: compute (module.ll, shipped with this program) only calls the C helper with
    // plain integers; jit-core has checked its ABI and that every symbol it needs resolves.
    Ok(unsafe { compute.call() })
}

fn main() -> ExitCode {
    match run() {
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
