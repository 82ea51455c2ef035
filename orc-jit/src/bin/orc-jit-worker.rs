//! orc-jit's compile worker as a program of its own, for `WorkerProgram::Path` (a host that
//! does not want to run its own executable as the worker).

fn main() {
    orc_jit::serve_if_worker();
    eprintln!(
        "orc-jit-worker compiles LLVM modules for a orc-jit JIT that starts it; it is not \
         meant to be run by hand"
    );
    std::process::exit(2);
}
