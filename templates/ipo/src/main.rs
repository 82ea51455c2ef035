//! JIT-compiles module.ll with LLVM's ORC v2, with the C helpers (precompiled to bitcode by
//! build.rs) imported and inlined before the module enters the JIT, and calls `compute()`.

use std::process::ExitCode;

use orc_jit::Jit;

const MODULE: &str = include_str!("../module.ll");
const HELPERS: &[u8] = include_bytes!(env!("JIT_LINKAGE_BITCODE_HELPERS"));

fn run() -> Result<(i32, bool), orc_jit::Error> {
    let jit = Jit::new()?;
    // Once per JIT: the helpers' single definitions (globals included).
    let runtime = jit.add_ipo_runtime_bitcode("helpers.bc", HELPERS)?;
    let module = jit.parse_module("module.ll", MODULE.as_bytes())?;
    let optimized = jit.optimize_with_runtime(module, &runtime)?;
    let inlined = !optimized.calls("compute", "helper_add");
    jit.add_module(optimized)?;
    let compute = jit.lookup::<extern "C" fn() -> i32>("compute")?;
    // SAFETY: compute (module.ll, shipped with this program) only calls the C helpers with
    // plain integers; orc-jit has checked its ABI and that every symbol it needs resolves.
    Ok((unsafe { compute.call() }, inlined))
}

fn main() -> ExitCode {
    match run() {
        Ok((value, inlined)) => {
            let inlined = if inlined { "yes" } else { "no" };
            println!("compute() = {value} (helper_add inlined: {inlined})");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
