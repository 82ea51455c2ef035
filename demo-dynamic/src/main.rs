//! JIT code calling `external_function` from a C library linked dynamically into this binary.
//! The link settings are in build.rs; the program is shared with the other demo.

fn main() -> std::process::ExitCode {
    demo_runner::main(demo_runner::Linkage::Dynamic)
}
