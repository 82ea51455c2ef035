// The binary's own build script must print the link arguments: cargo ignores link arguments
// printed by a dependency's build script.
fn main() {
    jit_linkage::Build::new()
        .manifest("c-libs/libraries.toml")
        // Whole archive + exactly the manifest's symbols exported through a --dynamic-list.
        .link_static("helpers")
        .emit();
}
