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
//!   verify-symbols can check the binary wherever it is copied. A binary whose build links no
//!   library (its C helpers inlined from bitcode, or loaded at run time) carries the note too,
//!   listing no symbol: verify-symbols then checks that it can start and host the JIT.
//!
//! The C compile is the `cc` crate's, with its own handling of `CC`, `CFLAGS`, `TARGET`,
//! `OPT_LEVEL` and the `rerun-if-env-changed` lines; the headers each source includes (from the
//! compiler's `-MMD` output) are inputs of the build, so cargo alone decides what is fresh.
//!
//! The manifest's keys are documented on [`Manifest`].
//!
//! ```no_run
//! // In `fn main` of the build.rs of a binary whose JIT code calls the `external` library:
//! jit_linkage::Build::new()
//!     .manifest("../c-libs/libraries.toml")
//!     .link_static("external")
//!     .emit();
//! ```

mod artifact;
mod builder;
mod compile;
mod debian;
mod directive;
mod manifest;
mod note;
mod plan;
mod prebuilt;
mod runtime_dir;
mod symbols;
mod system_library;

use std::fmt;
use std::path::{Path, PathBuf};

pub use builder::Build;
pub use jit_exports::note::{
    Linkage, NOTE_SECTION, NOTE_TYPE, Note, Provider, RequiredSymbol, read as read_note,
};
pub use manifest::{Library, Manifest, Origin};
pub use note::read_note_file;

/// The proof the build runs on a library before linking it: every one of `symbols` is
/// exported by `file` (a static archive, or a shared library as the loader reads it, by the
/// rule verify-symbols applies to the final binary: [`jit_exports::elf::Seen::export`]). The
/// error names the symbol, the library and the file ([`Error::SymbolNotDefined`] with the
/// close names, [`Error::SymbolHidden`], ...).
pub fn prove(library: &str, symbols: &[String], file: &Path) -> Result<()> {
    symbols::prove(library, symbols, file).map(|_| ())
}

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
    /// pkg-config does not know the package a library names (`pkg_config = "NAME"`).
    #[error(
        "library `{library}`: `pkg_config = \"{package}\"`: pkg-config does not know the package \
         {package}. pkg-config says:\n{}\n{} the development package that provides \
         {package}.pc (on Debian probably {debian_package}; `apt-file search /{package}.pc` \
         names it) or set PKG_CONFIG_PATH to the directory of its .pc file",
        indent(pkg_config_says),
        did_you_mean(close)
    )]
    PkgConfigUnknownPackage {
        /// The manifest library.
        library: String,
        /// The package name it gives.
        package: String,
        /// What pkg-config printed.
        pkg_config_says: String,
        /// Packages pkg-config knows whose names are close, closest first.
        close: Vec<ClosePackage>,
        /// The Debian package that probably provides the package.
        debian_package: String,
    },
    /// pkg-config knows the package, but not packages it requires (`Requires`,
    /// `Requires.private`).
    #[error(
        "library `{library}`: pkg-config knows the package {package}, but not the packages it \
         requires: {}. pkg-config says:\n{}\nInstall them, or set PKG_CONFIG_PATH to the \
         directories of their .pc files",
        system_library::describe_packages(missing),
        indent(pkg_config_says)
    )]
    PkgConfigRequiresMissing {
        /// The manifest library.
        library: String,
        /// The package it gives.
        package: String,
        /// The required packages pkg-config does not know.
        missing: Vec<String>,
        /// What pkg-config printed.
        pkg_config_says: String,
    },
    /// pkg-config could not be run or refused to run.
    #[error("library `{library}`: `pkg_config = \"{package}\"`: {message}")]
    PkgConfig {
        /// The manifest library.
        library: String,
        /// The package name it gives.
        package: String,
        /// What went wrong, in the pkg-config crate's words.
        message: String,
    },
    /// A pkg-config package names no library to link.
    #[error(
        "library `{library}`: pkg-config's package {package} links no library (`pkg-config \
         --libs {package}` names no -l); it cannot provide symbols"
    )]
    PkgConfigNoLibrary {
        /// The manifest library.
        library: String,
        /// The package.
        package: String,
    },
    /// The archive or shared library of a pkg-config package is not where the linker looks.
    #[error(
        "library `{library}`: pkg-config's package {package} has no {} {file} (searched {} \
         and the compiler's library path); {}",
        if *linked_statically { "static archive" } else { "shared library" },
        show_paths(searched),
        if *linked_statically {
            "install the package's static library or link it dynamically"
        } else {
            "install the package's development files"
        }
    )]
    PkgConfigFileMissing {
        /// The manifest library.
        library: String,
        /// The package.
        package: String,
        /// The file looked for, e.g. `libcurl.a`.
        file: String,
        /// pkg-config's `-L` directories.
        searched: Vec<PathBuf>,
        /// Whether the library is linked statically (else dynamically).
        linked_statically: bool,
    },
    /// Libraries that a pkg-config package's link line needs are not installed.
    #[error(
        "library `{library}`: pkg-config's package {package}{} needs {}, which the linker does \
         not find (searched {} and the compiler's library path; `pkg-config{} --libs {package}` \
         names them); install {}{}",
        if *linked_statically { ", linked statically," } else { "" },
        system_library::describe_libraries(missing),
        show_paths(searched),
        if *linked_statically { " --static" } else { "" },
        if missing.len() == 1 { "it" } else { "them" },
        if *linked_statically {
            format!(
                ", or link `{library}` dynamically (`.link_dynamic(\"{library}\")` in build.rs), \
                 which needs only the package's shared library"
            )
        } else {
            String::new()
        }
    )]
    PkgConfigLibrariesMissing {
        /// The manifest library.
        library: String,
        /// The package.
        package: String,
        /// The missing libraries' `-l` names (`nghttp2`).
        missing: Vec<String>,
        /// pkg-config's `-L` directories.
        searched: Vec<PathBuf>,
        /// Whether the library is linked statically (pkg-config's `--static` list).
        linked_statically: bool,
    },
    /// A binary's symbol note cannot be read: the file is not ELF, or the note is malformed
    /// or of a newer format (`source.kind()` says which).
    #[error("{}: {source}", path.display())]
    Note {
        /// The binary.
        path: PathBuf,
        /// What is wrong, and its kind.
        source: jit_exports::Error,
    },
    /// A name the note must record cannot be written in its format (a tab or a line break in
    /// it).
    #[error("{0}")]
    NoteUnencodable(jit_exports::Error),
    /// An object file the build writes (the note object) could not be made.
    #[error("writing {what}: {message}")]
    WriteObject {
        /// What was being written.
        what: &'static str,
        /// object's error.
        message: String,
    },
    /// A library's file is not an archive or ELF file the build can read.
    #[error(
        "{}: not a static archive or shared library that can be read: {source}; check the path \
         in the manifest, or rebuild the library",
        file.display()
    )]
    UnreadableLibrary {
        /// The file.
        file: PathBuf,
        /// What is wrong, and its kind.
        source: jit_exports::Error,
    },
    /// A shared library without a hash table: the loader and `dlsym` find none of its symbols.
    #[error(
        "library `{library}`: {} has no hash table (DT_GNU_HASH or DT_HASH), so the loader and \
         dlsym find none of its symbols; link it again with the system linker, which writes one \
         (and do not strip it with a tool that drops it)",
        file.display()
    )]
    NoHashTable {
        /// The manifest library.
        library: String,
        /// The shared library.
        file: PathBuf,
    },
    /// A listed symbol is an absolute symbol of value 0 (a version's name, say): `dlsym`
    /// returns NULL for it.
    #[error(
        "library `{library}`: {} defines `{symbol}` as an absolute symbol of value 0 (such as a \
         version's name), which dlsym returns as NULL, so JIT code cannot call or read it; \
         remove it from `symbols`",
        file.display()
    )]
    SymbolIsNull {
        /// The manifest library.
        library: String,
        /// The listed symbol.
        symbol: String,
        /// The shared library.
        file: PathBuf,
    },
    /// `.emit()` was called before `.manifest(PATH)`.
    #[error("jit_linkage::Build: call .manifest(PATH) before .emit()")]
    NoManifest,
    /// A variable cargo sets for build scripts is not set: the builder runs outside one.
    #[error(
        "environment variable {variable} is not set: jit_linkage::Build runs inside a build \
         script (build.rs), where cargo sets it"
    )]
    NotInBuildScript {
        /// The variable (`OUT_DIR`, `TARGET`).
        variable: &'static str,
    },
    /// A library is selected with both `.link_static` and `.link_dynamic`.
    #[error(
        "library `{library}` is selected with both .link_static and .link_dynamic; a binary \
         links one copy of it, so pick one"
    )]
    ConflictingLinkage {
        /// The manifest library.
        library: String,
    },
    /// `.bitcode(NAME)` of a library that is not compiled from sources.
    #[error(
        "library `{library}` is not compiled from `sources`, so it has no bitcode; remove \
         .bitcode(\"{library}\")"
    )]
    NoBitcode {
        /// The manifest library.
        library: String,
    },
    /// A prebuilt library is linked in a way the manifest gives it no file for.
    #[error(
        "library `{library}` has no `{key}` in the manifest, so it cannot be linked {}; add \
         `{key} = \"PATH\"` or choose the other linkage",
        match linkage { Linkage::Static => "statically", Linkage::Dynamic => "dynamically" }
    )]
    PrebuiltFileMissing {
        /// The manifest library.
        library: String,
        /// The key it lacks (`static_lib`, `shared_lib`).
        key: &'static str,
        /// How the build script links it.
        linkage: Linkage,
    },
    /// The binaries' directory cannot be found from `OUT_DIR` (not cargo's usual layout).
    #[error(
        "cannot find the binaries' directory from OUT_DIR={}; tell the build where the binaries \
         will be with .runtime_dir(DIR)",
        out_dir.display()
    )]
    BinaryDirUnknown {
        /// The build script's `OUT_DIR`.
        out_dir: PathBuf,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A package pkg-config knows, offered in place of an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosePackage {
    /// Its pkg-config name.
    pub name: String,
    /// Its `.pc` file.
    pub pc_file: Option<PathBuf>,
    /// The Debian package that installed it, as dpkg knows it.
    pub debian_package: Option<String>,
}

impl fmt::Display for ClosePackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.name)?;
        match (&self.pc_file, &self.debian_package) {
            (Some(file), Some(package)) => {
                write!(f, " ({}, from Debian's {package})", file.display())
            }
            (Some(file), None) => write!(f, " ({})", file.display()),
            (None, _) => Ok(()),
        }
    }
}

/// Each line of `text` indented by two spaces.
fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "Did you mean ...?" for close packages, leading to the advice to install one.
fn did_you_mean(close: &[ClosePackage]) -> String {
    match close {
        [] => "Install".to_owned(),
        [one] => format!(
            "Did you mean {one}? Then write `pkg_config = \"{}\"`. Otherwise, install",
            one.name
        ),
        more => format!(
            "Did you mean one of {}? Otherwise, install",
            more.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Directories as a list a user reads.
fn show_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        "no -L directory".into()
    } else {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
