// One binary, two C libraries, two linkages: mathlib linked whole and exported, textlib kept in
// DT_NEEDED and found next to the binary. The binary's own build script must print them: cargo
// ignores link arguments printed by a dependency's build script.
fn main() {
    jit_linkage::Build::new()
        .manifest("c-libs/libraries.toml")
        .link_static("mathlib")
        .link_dynamic("textlib")
        .emit();
}
