// The helpers are also linked statically, so that the benchmark's "plain call" variant finds
// WrappedScale through this process's symbol table, as a JIT without IPO would.
fn main() {
    jit_linkage::Build::new()
        .manifest("../c-libs/libraries.toml")
        .link_static("wrapped")
        // The bitcode the tests give the binary (`JIT_LINKAGE_BITCODE_WRAPPED`).
        .bitcode("wrapped")
        // The forum's C++ helpers, with global objects: bitcode only, the JIT's second runtime.
        .bitcode("registry")
        .emit();
}
