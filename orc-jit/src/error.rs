//! The one error type of orc-jit.

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
    /// The name is defined, but not as a function whose ABI orc-jit knows.
    #[error("`{name}` is defined by {module} as {what}, not as a function to look up")]
    NotAFunction {
        /// The name looked up.
        name: String,
        /// The module that defines it.
        module: String,
        /// What it is.
        what: &'static str,
    },
    /// The function exists but its ABI is not the one of the Rust type asked for (types,
    /// calling convention, `zeroext`/`signext`, `byval`/`sret`/..., varargs).
    #[error(
        "function `{name}` is defined as `{defined}` but was looked up as `{requested}`: {reason}"
    )]
    SignatureMismatch {
        /// The function.
        name: String,
        /// The signature of the definition ORC calls.
        defined: Box<Signature>,
        /// The signature of the Rust type used in the lookup.
        requested: Box<Signature>,
        /// The first difference that makes the call wrong.
        reason: String,
    },
    /// A module declares a function whose definition (a Rust host function, or another
    /// module's function) has another ABI: calls from JIT code would be wrong.
    #[error(
        "{module}: error: declares `{name}` as `{declared}`, but it is defined as `{defined}`: \
         {reason}; fix the declaration in the IR"
    )]
    DeclarationMismatch {
        /// The module with the declaration.
        module: String,
        /// The function.
        name: String,
        /// The declaration's signature.
        declared: Box<Signature>,
        /// The definition's signature.
        defined: Box<Signature>,
        /// The first difference that makes the call wrong.
        reason: String,
    },
    /// A module failed to compile or link (LLVM's message). ORC keeps its symbols failed:
    /// remove the module (and those that refer to it) and add a corrected one.
    #[error("{module}: error: the module failed to compile: {message}")]
    Compile {
        /// The module's name.
        module: String,
        /// What LLVM said.
        message: String,
    },
    /// The isolated compiler died on this module (an LLVM `abort()`, a crash, the memory or time
    /// limit). Only the worker died; the JIT is unaffected.
    #[error(
        "{module}: error: the isolated compiler died{}: {message}; the JIT is unaffected",
        signal.map(signal_name).unwrap_or_default()
    )]
    CompilerCrashed {
        /// The module's name.
        module: String,
        /// The signal that ended the worker, if one did.
        signal: Option<i32>,
        /// LLVM's last message (`LLVM ERROR: ...`), or what is known.
        message: String,
    },
    /// The module cannot run on this host: CPU features or a CPU it lacks, an intrinsic of
    /// another architecture, an intrinsic LLVM does not know. Found before compiling.
    #[error("{name}: error: {reason}")]
    Unsupported {
        /// The module's name.
        name: String,
        /// What and why.
        reason: String,
    },
    /// The module has global constructors or destructors, JIT code that the JIT would have to
    /// call itself; that is allowed only through the `unsafe` [`crate::JitBuilder::run_constructors`].
    #[error(
        "{name}: error: the module has global constructors or destructors, JIT code the JIT \
         would run itself; allow that with `unsafe {{ builder.run_constructors(true) }}`"
    )]
    Constructors {
        /// The module's name.
        name: String,
    },
    /// A module parsed by another JIT: each module reports to, and is owned by, its own JIT.
    #[error("{name}: the module was parsed by another JIT; parse it with this one")]
    ForeignModule {
        /// The module's name.
        name: String,
    },
    /// A module handle of another JIT.
    #[error("the module handle belongs to another JIT")]
    ForeignHandle,
    /// Other modules in the JIT refer to symbols of the module being removed.
    #[error(
        "{module}: cannot remove the module: {} refer to its symbols and may call into it; \
         remove them first",
        dependents.join(", ")
    )]
    ModuleInUse {
        /// The module being removed.
        module: String,
        /// The modules that refer to it.
        dependents: Vec<String>,
    },
    /// Code registered to run later still needs the module's code: thread-local destructors
    /// of its objects on other threads (C++ `thread_local`), which run when those threads exit,
    /// or exit handlers that other code of the JIT registered and that call into this module.
    /// Removing the module now would leave them calling freed code.
    #[error("{module}: cannot remove the module now: {reason}")]
    ModuleStillNeeded {
        /// The module being removed.
        module: String,
        /// How many threads, and what to do.
        reason: String,
    },
    /// A symbol lookup callback called back into the JIT that is looking up.
    #[error(
        "a symbol lookup callback called back into the JIT that is looking a symbol up, which \
         would deadlock; resolve what the callback needs before building the JIT"
    )]
    Reentrant,
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
    /// The handle's module is no longer in the JIT.
    #[error("module handle {0}: the module was already removed")]
    StaleHandle(u64),
    /// A name the JIT cannot use: an interior NUL byte, a leading `\x01` (LLVM's "do not
    /// mangle" mark, which ORC strips), or empty.
    #[error(
        "`{}` cannot be a symbol name: it is empty, contains a NUL byte or starts with \\x01",
        .0.escape_debug()
    )]
    InvalidName(String),
    /// Any other error LLVM reported.
    #[error("LLVM: {0}")]
    Llvm(String),
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => return format!(" (signal {signal})"),
    };
    format!(" ({name})")
}

/// `Result` with orc-jit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
