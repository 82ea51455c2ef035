//! jit-core's compile worker as a program of its own, for `WorkerProgram::Path` (a host that
//! does not want to run its own executable as the worker).

fn main() {
    jit_core::serve_if_worker();
    eprintln!(
        "jit-core-worker compiles LLVM modules for a jit-core JIT that starts it; it is not \
         meant to be run by hand"
    );
    std::process::exit(2);
}
