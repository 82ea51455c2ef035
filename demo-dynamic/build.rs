// The binary's own build script prints the link directives: cargo ignores link arguments that
// a dependency's build script prints.
fn main() {
    jit_linkage::Build::new()
        .manifest("../c-libs/libraries.toml")
        .link_dynamic("external")
        .emit();
}
