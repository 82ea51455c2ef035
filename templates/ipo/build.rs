// Compiles the C helpers to LLVM bitcode (clang-N of the LLVM version orc-jit uses) for the JIT to import and inline; the
// path reaches main.rs as JIT_LINKAGE_BITCODE_HELPERS. No host link settings are needed: the
// helpers' one out-of-line copy lives in the JIT, as the IPO runtime. The binary still gets the
// note verify-symbols reads, listing no symbol the process must provide.
fn main() {
    jit_linkage::Build::new()
        .manifest("c-libs/libraries.toml")
        .bitcode("helpers")
        .emit();
}
