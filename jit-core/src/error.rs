//! The one error type of jit-core.

use std::path::PathBuf;

use crate::signature::Signature;

/// Everything that can go wrong between IR and a call into JIT code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A module file could not be read.
    #[error("could not read module {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// LLVM could not parse the module. `diagnostic` is LLVM's own, `name:line:col: error: ...`
    /// with the offending line, or `name: error: ...` for bitcode.
    #[error("{diagnostic}")]
    Parse {
        /// The module's name (its path, for files).
        name: String,
        /// LLVM's diagnostic.
        diagnostic: String,
    },
    /// The module parsed but is not valid IR.
    #[error("{name}: error: the module is not valid LLVM IR:\n{diagnostic}")]
    Verify {
        /// The module's name.
        name: String,
        /// What LLVM's verifier said.
        diagnostic: String,
    },
    /// ORC refused the module (for example a symbol it defines is already defined).
    #[error("{name}: error: the JIT did not accept the module: {message}")]
    ModuleRejected {
        /// The module's name.
        name: String,
        /// LLVM's message.
        message: String,
    },
    /// JIT code refers to symbols that no symbol source provides.
    #[error(
        "JIT code needs symbols that no symbol source provides: {}\n{hint}",
        symbols.join(", ")
    )]
    MissingSymbols {
        /// The missing symbols.
        symbols: Vec<String>,
        /// Where they were searched and the likely fix.
        hint: String,
    },
    /// No module added to the JIT defines a function of that name.
    #[error("no module added to the JIT defines a function `{name}`")]
    NoSuchFunction {
        /// The name looked up.
        name: String,
    },
    /// The function exists but with another signature than the Rust type asked for.
    #[error("function `{name}` is defined as `{defined}` but was looked up as `{requested}`")]
    SignatureMismatch {
        /// The function.
        name: String,
        /// Its LLVM signature.
        defined: Box<Signature>,
        /// The signature of the Rust type used in the lookup.
        requested: Box<Signature>,
    },
    /// A shared library or static archive given as a symbol source cannot be used.
    #[error("{}: cannot use as a symbol source: {message}", path.display())]
    Library {
        /// The file.
        path: PathBuf,
        /// What went wrong (LLVM's or the loader's message).
        message: String,
    },
    /// Importing helpers for inlining failed.
    #[error("{name}: error: helper import (IPO) failed: {message}")]
    Ipo {
        /// The module or runtime concerned.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The handle does not belong to this JIT, or its module was already removed.
    #[error("module handle {0} does not belong to this JIT or was already removed")]
    StaleHandle(u64),
    /// A name with an interior NUL byte.
    #[error("`{0}` cannot be a symbol name: it contains a NUL byte")]
    InvalidName(String),
    /// Any other error LLVM reported.
    #[error("LLVM: {0}")]
    Llvm(String),
}

/// `Result` with jit-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
