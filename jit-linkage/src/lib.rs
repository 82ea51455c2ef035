//! Link a JIT host binary right, from one manifest of C libraries.
//!
//! JIT code finds C functions the way `dlsym` does: in the host process's dynamic symbol table,
//! or in the shared libraries the process has loaded. This crate is called from the *binary's
//! own* `build.rs` (cargo ignores link arguments printed by a dependency's build script): it
//! compiles the manifest's C libraries with the `cc` crate and prints the cargo directives that
//!
//! - **static**: link the archive whole (`+whole-archive`), so members nothing references are
//!   kept, and export exactly the manifest's symbols through a generated `--dynamic-list`, so
//!   rustc's `--gc-sections` keeps them and the JIT can see them (`--export-dynamic` for
//!   everything is an explicit opt-in);
//! - **dynamic**: keep the `.so` in `DT_NEEDED` although rustc passes `--as-needed` and nothing
//!   in the binary calls it, and find it at run time through a `RUNPATH` of
//!   `$ORIGIN:$ORIGIN/../lib` (the build copies the library next to the binary; a shipped
//!   layout has `bin/` and `lib/`), with no `LD_LIBRARY_PATH` and no build path inside;
//! - **both**: link a small object into the binaries carrying an ELF note (see [`read_note`])
//!   that lists each symbol the JIT code needs and the library meant to provide it, so that
//!   verify-symbols can check the binary wherever it is copied.
//!
//! The C compile is the `cc` crate's, with its own handling of `CC`, `CFLAGS`, `TARGET`,
//! `OPT_LEVEL` and the `rerun-if-env-changed` lines; the headers each source includes (from the
//! compiler's `-MMD` output) are inputs of the build, so cargo alone decides what is fresh.
//!
//! ```no_run
//! // In `fn main` of the build.rs of a binary whose JIT code calls the `external` library:
//! jit_linkage::Build::new()
//!     .manifest("../c-libs/libraries.toml")
//!     .link_static("external")
//!     .emit();
//! ```

mod builder;
mod compile;
mod directive;
mod manifest;
mod note;
mod plan;
mod symbols;
mod target;

use std::path::PathBuf;

pub use builder::Build;
pub use manifest::{Library, Manifest, Origin};
pub use note::{NOTE_SECTION, NOTE_TYPE, RequiredSymbol, read_note, read_note_file};
pub use plan::Linkage;

/// Everything that can go wrong between the manifest and the link directives.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest does not parse or breaks a rule; `message` says where and why.
    #[error("manifest {}: {message}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong, with line and column where the TOML parser knows them.
        message: String,
    },
    /// A source file the manifest lists does not exist.
    #[error(
        "manifest {}: library `{library}` lists source {}, which does not exist; fix the path \
         (it is relative to the manifest) or add the file",
        manifest.display(),
        source_path.display()
    )]
    MissingSource {
        /// The manifest file.
        manifest: PathBuf,
        /// The library that lists the source.
        library: String,
        /// The missing file.
        source_path: PathBuf,
    },
    /// A build script asked for a library the manifest does not declare.
    #[error("manifest {} declares no library `{name}` (known: {known})", manifest.display())]
    UnknownLibrary {
        /// The manifest file.
        manifest: PathBuf,
        /// The name asked for.
        name: String,
        /// The names it declares, comma-separated.
        known: String,
    },
    /// The target's link flags are not known; no flags are emitted rather than wrong ones.
    #[error("jit-linkage does not support target {target}: {reason}")]
    UnsupportedTarget {
        /// The target triple.
        target: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The C compiler or archiver failed.
    #[error("compiling C library `{library}` failed: {message}\n{compiler_output}")]
    Compile {
        /// The manifest library.
        library: String,
        /// cc's error.
        message: String,
        /// What the compiler printed.
        compiler_output: String,
    },
    /// Linking the shared library failed.
    #[error("linking the shared library of `{library}` failed: {command}\n{output}")]
    Link {
        /// The manifest library.
        library: String,
        /// The command that was run.
        command: String,
        /// What it printed.
        output: String,
    },
    /// A file could not be read or written.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What we were doing, as a verb phrase.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A library does not define a symbol the manifest lists for it.
    #[error(
        "library `{library}`: {} does not define `{symbol}`, which the manifest lists in its \
         `symbols`{}",
        file.display(),
        if closest.is_empty() {
            "; remove it from `symbols` or add the definition".to_owned()
        } else {
            format!("; did you mean {}?", closest.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or "))
        }
    )]
    SymbolNotDefined {
        /// The manifest library.
        library: String,
        /// The listed symbol.
        symbol: String,
        /// The archive or shared library read.
        file: PathBuf,
        /// The closest names it defines.
        closest: Vec<String>,
    },
    /// A library defines a listed symbol with hidden visibility: it can never be exported.
    #[error(
        "library `{library}`: {} defines `{symbol}` only hidden (hidden visibility, or only a \
         non-default version `{symbol}@VERSION`), so neither dlsym nor JIT code can find it; \
         remove `__attribute__((visibility(\"hidden\")))` or -fvisibility=hidden from its \
         definition, or give it a default version (`@@`)",
        file.display()
    )]
    SymbolHidden {
        /// The manifest library.
        library: String,
        /// The listed symbol.
        symbol: String,
        /// The archive or shared library read.
        file: PathBuf,
    },
    /// Two libraries linked into one binary define the same symbols.
    #[error(
        "libraries `{first}` and `{second}` both define {}; linked into one binary, the link \
         order would silently pick one. Rename one definition, or link only one of them",
        symbols.iter().take(5).map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
    )]
    DuplicateSymbols {
        /// One library.
        first: String,
        /// The other.
        second: String,
        /// The symbols both define.
        symbols: Vec<String>,
    },
    /// A compiled library's artifact has the name of a system or toolchain library.
    #[error(
        "library `{library}`: its artifact {file} has the name of {}, which it would shadow in \
         the link and at run time; set `static_name`/`shared_name` in the manifest to another \
         name",
        system.display()
    )]
    ShadowsSystemLibrary {
        /// The manifest library.
        library: String,
        /// The artifact's file name.
        file: String,
        /// The system library it would shadow.
        system: PathBuf,
    },
    /// A prebuilt shared library's `SONAME` (or, without one, its link name) is the name of a
    /// system or toolchain library: placed next to the binaries, it would replace that library.
    #[error(
        "library `{library}`: the shared library {} is known to the loader as `{soname}` (its \
         SONAME, or its file name when it has none), the name of a system or toolchain library. \
         The build places it next to the binaries under that name, where it would replace the \
         system's {soname} in every process that loads them, and in rustc itself, which cargo \
         runs with the target directory on its library path. Give the library a SONAME of its \
         own (relink it with `-Wl,-soname,lib<NAME>.so`, or `patchelf --set-soname \
         lib<NAME>.so FILE`); to link the system's own library, point `shared_lib` at the \
         system's file or use `pkg_config`",
        file.display()
    )]
    ReservedSoname {
        /// The manifest library.
        library: String,
        /// The prebuilt file, where the manifest says it is.
        file: PathBuf,
        /// The name the loader would know it by.
        soname: String,
    },
    /// A prebuilt shared library's `SONAME` is not a plain file name.
    #[error(
        "library `{library}`: the shared library {} has the SONAME `{soname}`, which is not a \
         plain file name. The build places the library next to the binaries under its SONAME, \
         and the loader takes a name with a `/` in `DT_NEEDED` as a path; relink it with \
         `-Wl,-soname,lib<NAME>.so` (or `patchelf --set-soname lib<NAME>.so FILE`)",
        file.display()
    )]
    SonameNotAFileName {
        /// The manifest library.
        library: String,
        /// The prebuilt file, where the manifest says it is.
        file: PathBuf,
        /// Its `SONAME`.
        soname: String,
    },
    /// A binary's symbol note is malformed.
    #[error("{}: {message}", path.display())]
    Note {
        /// The binary.
        path: PathBuf,
        /// What is wrong with the note.
        message: String,
    },
    /// The builder was used wrongly or outside a build script.
    #[error("{0}")]
    Usage(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
