//! Turns the chosen LLVM version feature (`llvm<N>` or `llvm<N>-static`) into one `jit_llvm`
//! cfg for the code, and tells the build scripts of dependent crates which version it is
//! (`DEP_JIT_CORE_LLVM_VERSION`), so their bitcode is compiled by the same LLVM.

const VERSIONS: [&str; 5] = ["14", "15", "16", "19", "22"];

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(jit_llvm, values({}))",
        VERSIONS.map(|v| format!("\"{v}\"")).join(", ")
    );
    println!("cargo::rustc-check-cfg=cfg(jit_llvm_choice, values(\"none\", \"several\"))");
    let feature = |name: String| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    // Each version chosen, shared or static: exactly one is allowed (lib.rs says so otherwise).
    let chosen: Vec<(&str, bool)> = VERSIONS
        .iter()
        .flat_map(|v| [(*v, false), (*v, true)])
        .filter(|(v, is_static)| {
            feature(format!(
                "LLVM{v}{}",
                if *is_static { "_STATIC" } else { "" }
            ))
        })
        .collect();
    match chosen.as_slice() {
        [] => println!("cargo::rustc-cfg=jit_llvm_choice=\"none\""),
        [_] => {}
        _ => println!("cargo::rustc-cfg=jit_llvm_choice=\"several\""),
    }
    // With several chosen, pick the first so that the compile_error is the only error.
    if let Some((version, _)) = chosen.first() {
        println!("cargo::rustc-cfg=jit_llvm=\"{version}\"");
        println!("cargo::metadata=llvm_version={version}");
    }
}
