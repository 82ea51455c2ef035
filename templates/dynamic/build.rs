// The binary's own build script must print the link arguments: cargo ignores link arguments
// printed by a dependency's build script.
fn main() {
    jit_linkage::Build::new()
        .manifest("c-libs/libraries.toml")
        // The .so kept in DT_NEEDED despite --as-needed, found through RUNPATH $ORIGIN (it is
        // copied next to the binary).
        .link_dynamic("helpers")
        .emit();
}
