//! A module's identity: a SHA-256 of what it was made from (its bytes, and for an optimised
//! module the runtime it was optimised with). The names orc-jit gives a module's own symbols
//! (its constructors, its `__dso_handle`) derive from it, so they are the same in every process
//! and for every path (in-process, a worker), and a compiled object does not depend on when or
//! where it was compiled.

use sha2::{Digest, Sha256};

/// A module's identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModuleKey(pub(crate) [u8; 32]);

impl ModuleKey {
    /// The key of a module parsed from `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> ModuleKey {
        ModuleKey(Sha256::digest(bytes).into())
    }

    /// The key of this module once `other` (an IPO runtime's bitcode, say) went into it.
    pub(crate) fn with(self, what: &str, other: &[u8]) -> ModuleKey {
        let mut hash = Sha256::new();
        hash.update(self.0);
        hash.update(what.as_bytes());
        hash.update(Sha256::digest(other));
        ModuleKey(hash.finalize().into())
    }

    /// 16 hex digits, for symbol names.
    pub(crate) fn short(&self) -> String {
        self.0[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for ModuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleKey({})", self.short())
    }
}

/// The key of the object file a module compiles to: everything that changes the object. The
/// module's identity (its bytes; an IPO runtime's too), its name (the object's file symbol),
/// the LLVM that compiles it (version, as libLLVM reports it when it can), the target (triple,
/// CPU, CPU features), the code generation settings, the debugger and profiler switches,
/// orc-jit's own version and the cache format.
pub(crate) fn object_key(
    module: &ModuleKey,
    name: &str,
    codegen: &crate::target::Codegen,
    tools: &crate::target::Tools,
) -> [u8; 32] {
    let host = crate::target::Host::get();
    let mut hash = Sha256::new();
    let mut field = |label: &str, value: &[u8]| {
        hash.update((label.len() as u64).to_le_bytes());
        hash.update(label.as_bytes());
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value);
    };
    field("format", &crate::cache::FORMAT_VERSION.to_le_bytes());
    field("orc-jit", env!("CARGO_PKG_VERSION").as_bytes());
    // Its source too: builds of one version that differ (a patched copy) do not share entries.
    field("orc-jit source", env!("ORC_JIT_SOURCE_HASH").as_bytes());
    field("llvm", crate::version::llvm_version().as_bytes());
    field("triple", host.triple.as_bytes());
    field("cpu", host.cpu.as_bytes());
    field("features", host.features.as_bytes());
    field("codegen", format!("{codegen:?}").as_bytes());
    field("tools", format!("{tools:?}").as_bytes());
    field("name", name.as_bytes());
    field("module", &module.0);
    hash.finalize().into()
}
