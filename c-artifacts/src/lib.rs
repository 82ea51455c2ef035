//! The workspace's C libraries (`c-libs/libraries.toml`) as files, for the tests that load them
//! at run time (orc-jit's `.static_archive()`, `.shared_library()`, IPO bitcode, `lli`) and for
//! `cargo xtask build-libs`. They are built by this package's build script with jit-linkage,
//! exactly as a binary's build script builds them: there is no second compile path.

use std::path::Path;

/// One library's files.
#[derive(Debug, Clone, Copy)]
pub struct Artifacts {
    /// The manifest's name of the library.
    pub name: &'static str,
    /// `lib<static_name>.a`.
    pub static_lib: &'static str,
    /// `lib<shared_name>.so`.
    pub shared_lib: &'static str,
    /// `<name>.bc`, for libraries the manifest compiles to bitcode.
    pub bitcode: Option<&'static str>,
}

impl Artifacts {
    /// The static archive.
    pub fn static_lib(&self) -> &'static Path {
        Path::new(self.static_lib)
    }

    /// The shared library.
    pub fn shared_lib(&self) -> &'static Path {
        Path::new(self.shared_lib)
    }

    /// The bitcode; panics for a library without (a test asking for it is wrong).
    pub fn bitcode(&self) -> &'static Path {
        match self.bitcode {
            Some(path) => Path::new(path),
            None => panic!("library `{}` has no bitcode in the manifest", self.name),
        }
    }
}

/// The `external` library: `external_function` and friends.
pub const EXTERNAL: Artifacts = Artifacts {
    name: "external",
    static_lib: env!("JIT_LINKAGE_STATIC_LIB_EXTERNAL"),
    shared_lib: env!("JIT_LINKAGE_SHARED_LIB_EXTERNAL"),
    bitcode: None,
};

/// The `wrapped` helpers, with bitcode for IPO.
pub const WRAPPED: Artifacts = Artifacts {
    name: "wrapped",
    static_lib: env!("JIT_LINKAGE_STATIC_LIB_WRAPPED"),
    shared_lib: env!("JIT_LINKAGE_SHARED_LIB_WRAPPED"),
    bitcode: Some(env!("JIT_LINKAGE_BITCODE_WRAPPED")),
};

/// The `registry` helpers: C++ with global objects, calling back into the host
/// (`host_observe`), with bitcode for IPO.
pub const REGISTRY: Artifacts = Artifacts {
    name: "registry",
    static_lib: env!("JIT_LINKAGE_STATIC_LIB_REGISTRY"),
    shared_lib: env!("JIT_LINKAGE_SHARED_LIB_REGISTRY"),
    bitcode: Some(env!("JIT_LINKAGE_BITCODE_REGISTRY")),
};

/// Every library of the manifest, in its order.
pub const ALL: [Artifacts; 3] = [EXTERNAL, WRAPPED, REGISTRY];

/// The LLVM version the bitcode is for.
pub const LLVM_VERSION: u32 = orc_jit::LLVM_VERSION;
