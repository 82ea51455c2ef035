//! Turns the chosen LLVM version feature into one `jit_llvm` cfg for the code, and tells the
//! build scripts of dependent crates which version it is (`DEP_JIT_CORE_LLVM_VERSION`), so
//! their bitcode is compiled by the same LLVM.

const VERSIONS: [&str; 5] = ["14", "15", "16", "19", "22"];

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(jit_llvm, values({}))",
        VERSIONS.map(|v| format!("\"{v}\"")).join(", ")
    );
    // With none or several chosen, lib.rs says so with compile_error!; pick the first so that
    // is the only error.
    if let Some(version) = VERSIONS
        .iter()
        .find(|v| std::env::var_os(format!("CARGO_FEATURE_LLVM{v}")).is_some())
    {
        println!("cargo::rustc-cfg=jit_llvm=\"{version}\"");
        println!("cargo::metadata=llvm_version={version}");
    }
}
