//! A module's identity: a SHA-256 of what it was made from (its bytes, and for an optimised
//! module the runtime it was optimised with). The names jit-core gives a module's own symbols
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
