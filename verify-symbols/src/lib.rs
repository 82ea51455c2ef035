//! Proves that a final ELF binary gives a JIT every symbol it needs — or says why not.
//!
//! A JIT (ORC's process symbol generator, `dlsym(RTLD_DEFAULT, ...)`) finds a symbol when it is
//! *exported*: defined in the dynamic symbol table of the binary or of a library the loader
//! maps for it. [`verify`] reads the binary (the parts it needs, read on demand and never
//! memory-mapped, so a file truncated meanwhile is an error, not a SIGBUS; parsed with the
//! `object` crate, each name looked up through the binary's hash table) and gives each
//! requested symbol one [`Status`]:
//!
//! | status | meaning | what to do |
//! |---|---|---|
//! | `exported` | defined in `.dynsym`, global/weak, default/protected visibility | nothing |
//! | `provided-by-dependency` | exported by a `DT_NEEDED` library, found as the loader would | nothing |
//! | `not-exported` | in `.symtab` only, and no library exports it | export it: `--dynamic-list` or `--export-dynamic` |
//! | `hidden` | hidden/internal visibility or local binding, and no library exports it | the C visibility attribute, `-fvisibility`, `static` |
//! | `missing` | nowhere | static: whole-archive; shared: `DT_NEEDED` (`--as-needed`) or RUNPATH |
//!
//! `wrong-provider` (found, but not in the library the build's note names) is the one more
//! status [`verify_recorded`] gives.
//!
//! ## The loader's rules
//!
//! Libraries are resolved for the whole load graph as glibc 2.36's loader does (`elf/dl-load.c`,
//! `_dl_map_object` and `open_path`), breadth first, in the order `dlsym(RTLD_DEFAULT, ...)`
//! then searches them. Each test fixture of `tests/loader_agreement.rs` is a probe run by the
//! real loader, which verify-symbols must agree with.
//!
//! 1. A name already loaded (an earlier object's `DT_NEEDED` name or `SONAME`) is that object:
//!    no search. A name with a `/` is a path, opened as it is (its `$ORIGIN`, `$LIB` and
//!    `$PLATFORM` expanded).
//! 2. When the object that needs the library (the *loader*) has no `DT_RUNPATH`: the `DT_RPATH`
//!    of the loader, then of the object that loaded it, and so on up to the executable (an
//!    object's `DT_RPATH` is ignored when it also has `DT_RUNPATH`: `get-dynamic-info.h`).
//! 3. `LD_LIBRARY_PATH`: deliberately not used (the binary must work without it); when it is
//!    set, the trace says it was ignored.
//! 4. The loader's own `DT_RUNPATH`: it applies to that object's direct dependencies only, not
//!    to theirs.
//! 5. `/etc/ld.so.cache` (read as the loader reads it, `glibc-ld.so.cache1.1`; no
//!    `ld.so.conf` guessing: a library in a configured directory but not in the cache is not
//!    found), then the system search path. When the loader has `DF_1_NODEFLIB`, a cache entry in
//!    a system directory is refused and the system search path is skipped.
//! 6. In each directory of rules 2, 4 and 5, the `glibc-hwcaps` subdirectories this CPU supports
//!    come first, then the legacy hwcaps subdirectories, then the directory itself, in the order
//!    the loader prints with `ld.so --help` (`_dl_important_hwcaps`).
//! 7. `$ORIGIN` (the directory of the object that has the entry), `$LIB` and `$PLATFORM` are
//!    expanded in RPATH and RUNPATH entries (`_dl_dst_substitute`); any other `$` stays as it
//!    is, as the loader keeps it.
//! 8. A candidate file of another ELF class or machine than the executable is skipped and the
//!    search goes on; any other file the loader cannot load there (not ELF, too short, an
//!    executable, not a regular file) stops it with an error: the program does not start
//!    (`open_verify`).
//! 9. The system's configuration (its search path, hwcaps subdirectories, `$PLATFORM`) is read
//!    from the system's own loader (`ld.so --help`, `ld.so --list-diagnostics`); a binary for
//!    another machine cannot be resolved here, and the report says so. The hwcaps levels for the
//!    cache come from the CPU's features by glibc's definitions (`get-isa-level.h`); the loader
//!    is asked only when a directory has hwcaps subdirectories or a token needs expanding.
//! 10. `/etc/ld.so.preload` applies to every program on the machine: what it lists is mapped
//!     after the executable and before its `DT_NEEDED` libraries, so it comes first in the
//!     search (`dl_main` in `elf/rtld.c`, then `_dl_map_object_deps` with the preloads). Each
//!     name is looked for as the executable's own `DT_NEEDED` would be; one the loader cannot
//!     load is skipped (it prints an error). The file is read as `dl_main` reads it, quirk
//!     included: it blanks a `#` comment only as far as a length it shortens as it goes, so
//!     what follows a later `#` may be read as names. `LD_PRELOAD` applies to programs started
//!     from one environment only: it is not counted, and a warning says what it would change
//!     for a program started from verify-symbols' own.
//! 11. A set-user-ID or set-group-ID executable (not on a `nosuid` file system) runs in secure
//!     mode (AT_SECURE) for every user but its owner, and is resolved by secure mode's rules,
//!     for them (`_dl_dst_substitute`, `is_trusted_path_normalize`, `dso_name_valid_for_suid`,
//!     `open_path` with `__RTLD_SECURE`): an RPATH/RUNPATH entry with `$ORIGIN` anywhere but at
//!     its start is dropped, and so is one of the executable's own whose `$ORIGIN` expands
//!     outside the system directories; a preload named without a `/` is not taken from
//!     ld.so.cache and must be set-user-ID; `LD_PRELOAD` paths are ignored. A warning says so,
//!     and names each entry dropped. (Relative entries are not dropped: the loader takes them
//!     relative to the working directory, in secure mode too.)
//!
//! And for symbols (`elf/dl-lookup.c`, `do_lookup_x`): the dynamic section comes from
//! `PT_DYNAMIC` (section headers may be stripped), each name is looked up through the object's
//! own hash table (`DT_GNU_HASH`, else `DT_HASH`), so the cost grows with the names asked, not
//! with the library; a symbol that exists only as a non-default version (`foo@V1`, the
//! `VERSYM` hidden bit) is not what `dlsym` returns; one whose value is zero is skipped unless
//! it is absolute: an absolute zero (the symbol the linker gives each version definition,
//! `GLIBC_2.2.5`) is found, ends the search, and is NULL to `dlsym`, without an error, so it is
//! `missing` with a hint saying it is a version's name and whose. What the binary does not
//! export (hidden, local, or in `.symtab` only) does not end the search: a library that exports
//! the name provides it. The linear passes: a name the binary's dynamic symbols do not define is
//! looked for in the binary's `.symtab` (when it has one), which tells `hidden` and
//! `not-exported` from `missing`; a dependency is searched through its hash table only. An
//! object without a hash table provides nothing (glibc's `do_lookup_x` skips it): in the
//! binary, its dynamic symbols count as `not-exported`, with a hint saying why.
//!
//! ```no_run
//! let report = verify_symbols::verify("target/debug/demo-static".as_ref(), &["external_function"])?;
//! assert_eq!(report.symbols[0].status, verify_symbols::Status::Exported);
//! # Ok::<(), verify_symbols::Error>(())
//! ```

mod advice;
pub mod cli;
mod debugger;
pub mod dist;
mod file;
mod graph;
mod ldcache;
mod loader;
mod providers;
mod render;
mod search;
mod verdict;
mod warnings;

use std::path::{Path, PathBuf};

use jit_exports::note::Note;
use serde::Serialize;

pub use crate::debugger::DebuggerReport;
pub use crate::loader::Step;
pub use crate::render::{JSON_SCHEMA, render_explain, render_json, render_text, write_json};

/// A file that could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Nothing says which symbols to check: the binary carries no jit-linkage note.
    #[error(
        "{}: carries no jit-linkage note listing the symbols its JIT code needs (its build does \
         not use jit-linkage); name them with --symbol NAME or --symbols-file FILE",
        path.display()
    )]
    NoRecordedSymbols {
        /// The file.
        path: PathBuf,
    },
    /// The path is not a regular file (a FIFO, a device, a directory): never opened for reading.
    #[error("{}: {what}, not a binary: give the path of an ELF executable or shared library", path.display())]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        what: String,
    },
    /// The file is not a readable ELF file.
    #[error("{}: not a readable ELF file: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the reader said, and its kind.
        source: jit_exports::Error,
    },
    /// The binary's jit-linkage note cannot be read: malformed, or of a newer format
    /// (`source.kind()` says which).
    #[error("{}: {source}", path.display())]
    Note {
        /// The file.
        path: PathBuf,
        /// What is wrong with the note, and its kind.
        source: jit_exports::Error,
    },
    /// The loader's cache (`/etc/ld.so.cache`) is there but cannot be read or parsed: which
    /// library the loader would take from it cannot be known.
    #[error(
        "{}: the loader's cache cannot be read: {message}; rebuild it with `ldconfig` (as \
         root), or remove it if it does not belong there",
        path.display()
    )]
    LoaderCache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The file (the binary, or a library of its load graph) changed while it was read:
    /// truncated, grown or written to. What was read belongs to no one version of it.
    #[error(
        "{}: changed while verify-symbols read it ({what}); run verify-symbols again once \
         nothing is writing it",
        path.display()
    )]
    Changed {
        /// The file.
        path: PathBuf,
        /// What changed.
        what: String,
    },
}

/// Whether, and how, a JIT in the binary's process can find a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Defined in the binary's `.dynsym`, global or weak, default or protected visibility.
    Exported,
    /// Exported by a library the binary needs (`DT_NEEDED`, resolved like the loader does).
    ProvidedByDependency,
    /// Defined in `.symtab` but not in `.dynsym`, and no library the binary loads exports it.
    NotExported,
    /// Defined, but hidden/internal or local: it can never be exported; and no library the
    /// binary loads exports it.
    Hidden,
    /// Not defined anywhere the JIT looks.
    Missing,
    /// Found, but in another object than the library the build meant to provide it (its note
    /// says which): the JIT would call someone else's code.
    WrongProvider,
}

impl Status {
    /// True when the JIT will find the symbol.
    pub fn is_found(self) -> bool {
        matches!(self, Status::Exported | Status::ProvidedByDependency)
    }

    /// The name used in the output (`not-exported`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Exported => "exported",
            Status::ProvidedByDependency => "provided-by-dependency",
            Status::NotExported => "not-exported",
            Status::Hidden => "hidden",
            Status::Missing => "missing",
            Status::WrongProvider => "wrong-provider",
        }
    }
}

/// One requested symbol's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolReport {
    /// The symbol.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// The library that provides it (for `provided-by-dependency` and `wrong-provider`).
    pub provider: Option<PathBuf>,
    /// The version of the definition the JIT finds (`GLIBC_2.2.5`), when it has one.
    pub version: Option<String>,
    /// What the build meant to provide it (from the binary's note): `libz.a` linked into the
    /// binary, or a shared library's `SONAME`.
    pub expected: Option<String>,
    /// What to do (for the statuses that are not found), or what to know of a found one (the
    /// binary's own definition is not the one found).
    pub hint: Option<String>,
}

/// A `DT_NEEDED` entry and the file the loader would map for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// The name in `DT_NEEDED`.
    pub name: String,
    /// Where it resolves; `None` when the loader would not find it.
    pub path: Option<PathBuf>,
    /// Each place the loader tries, in order, and why it was or was not taken (`--explain`).
    pub trace: Vec<Step>,
}

/// An object the loader maps and then stops at (the binary itself, or one of its libraries):
/// the program does not start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The file.
    pub path: PathBuf,
    /// Why the loader stops there.
    pub reason: String,
}

/// A library needed by one of the binary's libraries that the loader would not find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndirectNeed {
    /// The library that needs it.
    pub needed_by: PathBuf,
    /// The name in its `DT_NEEDED`.
    pub name: String,
}

/// Everything verify-symbols found out about one binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryReport {
    /// The file.
    pub path: PathBuf,
    /// `executable`, `shared-library` or `other`.
    pub kind: &'static str,
    /// Position-independent executable.
    pub pie: bool,
    /// All relocations resolved at start-up (`BIND_NOW`).
    pub bind_now: bool,
    /// Has a `PT_GNU_RELRO` segment.
    pub relro: bool,
    /// No dynamic symbol table: nothing for a JIT to search.
    pub statically_linked: bool,
    /// `DT_NEEDED`, in order, with where each resolves.
    pub needed: Vec<Needed>,
    /// What `/etc/ld.so.preload` lists (every program on this machine preloads it, after
    /// the binary and before its libraries), with where each resolves (`None`: the loader
    /// cannot load it, says so, and goes on).
    pub preloaded: Vec<Needed>,
    /// Libraries of libraries that the loader would not find: the binary cannot start.
    pub unresolved_indirect: Vec<IndirectNeed>,
    /// Objects of the load graph the loader stops at: the binary cannot start.
    pub refused: Vec<Refusal>,
    /// Set when the binary is for another machine: what cannot be known here.
    pub foreign: Option<String>,
    /// `DT_RUNPATH` entries as written.
    pub runpath: Vec<String>,
    /// `DT_RPATH` entries as written.
    pub rpath: Vec<String>,
    /// Problems with the binary as a whole.
    pub warnings: Vec<String>,
    /// One verdict per requested symbol, in the order requested.
    pub symbols: Vec<SymbolReport>,
    /// Whether a debugger will see the JIT code, and why (not); `None` when nothing says the
    /// binary hosts LLVM's JIT (no libLLVM, no GDB JIT interface, no jit-linkage note).
    pub debugger: Option<DebuggerReport>,
}

impl BinaryReport {
    /// True when the JIT will find every requested symbol.
    pub fn all_found(&self) -> bool {
        self.symbols.iter().all(|s| s.status.is_found())
    }

    /// True when the loader finds every `DT_NEEDED` library, the binary's and its libraries':
    /// the binary can start (on this machine: a foreign binary is never known to).
    pub fn starts(&self) -> bool {
        self.foreign.is_none()
            && self.needed.iter().all(|n| n.path.is_some())
            && self.unresolved_indirect.is_empty()
            && self.refused.is_empty()
    }
}

/// The reports of several binaries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One per binary, in the order given.
    pub binaries: Vec<BinaryReport>,
}

impl Report {
    /// The process exit code for the report: 0 when every binary starts and every symbol is
    /// found, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.binaries.iter().all(|b| b.all_found() && b.starts()) {
            0
        } else {
            1
        }
    }
}

/// Verifies `symbols` in the binary at `path` (read on demand, never mapped).
pub fn verify(path: &Path, symbols: &[impl AsRef<str>]) -> Result<BinaryReport, Error> {
    let names: Vec<&str> = symbols.iter().map(AsRef::as_ref).collect();
    check(path, Some(&names)).map(|checked| checked.report)
}

/// A report, with the files it was answered from (the binary and its load graph), which a
/// caller about to exit need not free ([`cli`]: the kernel frees them at once, faster than one
/// `munmap` per library).
pub(crate) struct Checked {
    pub(crate) report: BinaryReport,
    pub(crate) files: (file::FileBytes, graph::Graph),
}

/// Verifies `names` in the binary at `path`, or (`None`) what its note records, each against
/// the library meant to provide it.
pub(crate) fn check(path: &Path, names: Option<&[&str]>) -> Result<Checked, Error> {
    let bytes = file::open(path)?;
    // Symbols named by the caller are answered whatever the note says; with none named, the
    // note is what is checked, and a broken one is the error.
    let note = match names {
        Some(_) => read_note(path, &bytes).ok().flatten(),
        None => read_note(path, &bytes)?,
    };
    let recorded: Vec<&str>;
    let (names, wanted) = match (names, &note) {
        (Some(names), _) => (names, None),
        (None, Some(note)) => {
            recorded = note.symbols.iter().map(|s| s.symbol.as_str()).collect();
            (recorded.as_slice(), Some(note))
        }
        (None, None) => {
            return Err(Error::NoRecordedSymbols {
                path: path.to_path_buf(),
            });
        }
    };
    let verified = verdict::verify_binary(path, &bytes, names, note.as_ref()).and_then(
        |(mut report, graph)| {
            if let Some(note) = wanted {
                providers::check(&mut report, &graph, note);
            }
            advice::advise(&mut report, &bytes, &graph, note.as_ref());
            graph.unchanged()?;
            Ok((report, graph))
        },
    );
    let (report, graph) = file::unless_changed(path, &bytes, verified)?;
    Ok(Checked {
        report,
        files: (bytes, graph),
    })
}

/// Verifies `symbols` in `data`, the contents of the binary at `path` (used to resolve
/// `$ORIGIN` and to name the file in messages). Any bytes give a report or an error, never a
/// panic.
pub fn verify_data(
    path: &Path,
    data: &[u8],
    symbols: &[impl AsRef<str>],
) -> Result<BinaryReport, Error> {
    let names: Vec<&str> = symbols.iter().map(AsRef::as_ref).collect();
    let note = jit_exports::note::read(data).ok().flatten();
    verdict::verify_binary(path, data, &names, note.as_ref()).map(|(report, _)| report)
}

/// The jit-linkage note of the binary at `path`, opened as `bytes`: only its headers and notes
/// are read (libLLVM is 150 MB).
fn read_note(path: &Path, bytes: &file::FileBytes) -> Result<Option<Note>, Error> {
    let note = jit_exports::note::read(bytes).map_err(|source| Error::Note {
        path: path.to_path_buf(),
        source,
    });
    file::unless_changed(path, bytes, note)
}

/// The symbols the build of the binary at `path` recorded in it (jit-linkage's note).
pub fn recorded_symbols(path: &Path) -> Result<Vec<String>, Error> {
    let bytes = file::open(path)?;
    match read_note(path, &bytes)? {
        Some(note) => Ok(note.symbols.into_iter().map(|s| s.symbol).collect()),
        None => Err(Error::NoRecordedSymbols {
            path: path.to_path_buf(),
        }),
    }
}

/// Verifies the symbols the binary's build recorded in it ([`recorded_symbols`]), each against
/// the library meant to provide it: a symbol found in any other object is
/// [`Status::WrongProvider`].
pub fn verify_recorded(path: &Path) -> Result<BinaryReport, Error> {
    check(path, None).map(|checked| checked.report)
}

/// Verifies several binaries, each against its own symbols, or (`None`) against what its build
/// recorded in it ([`verify_recorded`]); files that cannot be checked come back as errors next to
/// the reports of the others.
pub fn verify_all<S: AsRef<str>>(checks: &[(PathBuf, Option<Vec<S>>)]) -> (Report, Vec<Error>) {
    let mut report = Report::default();
    let mut errors = Vec::new();
    for (path, symbols) in checks {
        let verified = match symbols {
            Some(symbols) => verify(path, symbols),
            None => verify_recorded(path),
        };
        match verified {
            Ok(binary) => report.binaries.push(binary),
            Err(e) => errors.push(e),
        }
    }
    (report, errors)
}
