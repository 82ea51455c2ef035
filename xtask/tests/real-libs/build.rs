// Every library of the manifest is linked (and given as files), into every target of the package: the library
// target, the binary, the example, the tests and the bench. REAL_LIBS_LINKAGE picks the
// linkage, REAL_LIBS_MANIFEST another manifest (the test's broken ones).
fn main() {
    println!("cargo:rerun-if-env-changed=REAL_LIBS_LINKAGE");
    println!("cargo:rerun-if-env-changed=REAL_LIBS_MANIFEST");
    let manifest =
        std::env::var("REAL_LIBS_MANIFEST").unwrap_or_else(|_| "c-libs/libraries.toml".into());
    let libraries = match jit_linkage::Manifest::load(&manifest) {
        Ok(manifest) => manifest.libraries,
        Err(e) => panic!("\n\njit-linkage: {e}\n\n"),
    };
    let dynamic = std::env::var("REAL_LIBS_LINKAGE").as_deref() == Ok("dynamic");
    let mut build = jit_linkage::Build::new();
    build.manifest(&manifest);
    for library in libraries {
        // Also as files for loading at run time (JIT_LINKAGE_STATIC_LIB_<NAME>, ..._SHARED_LIB_).
        build.artifacts(&library.name);
        if dynamic {
            build.link_dynamic(library.name);
        } else {
            build.link_static(library.name);
        }
    }
    build.emit();
}
