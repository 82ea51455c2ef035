// Records the triple this crate is compiled for, so that callers outside a build script
// (`cargo xtask build-libs`) can compile C for the host without asking rustc.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=JIT_LINKAGE_HOST_TARGET={target}");
}
