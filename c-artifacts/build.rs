// Every library of the workspace's manifest as files (`.a`, `.so`, and `.bc` where the manifest
// asks for bitcode), through the same jit-linkage build as the demos' build scripts. Cargo
// decides when they are stale: the manifest, the sources and the headers they include.
fn main() {
    let manifest = "../c-libs/libraries.toml";
    let mut build = jit_linkage::Build::new();
    build.manifest(manifest);
    let libraries = match jit_linkage::Manifest::load(manifest) {
        Ok(m) => m.libraries,
        Err(e) => panic!("\n\njit-linkage: {e}\n\n"),
    };
    for lib in libraries {
        build.artifacts(&lib.name);
        if lib.bitcode {
            build.bitcode(&lib.name);
        }
    }
    build.emit();
}
