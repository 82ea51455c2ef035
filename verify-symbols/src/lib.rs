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

pub mod cli;
pub mod dist;
mod elf;
mod file;
mod graph;
mod ldcache;
mod loader;

pub use crate::loader::Step;
mod render;
mod warnings;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::elf::{ElfInfo, NullAddress, ObjectKind, Seen};
use crate::file::FileBytes;
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
    #[error("{}: not a readable ELF file: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
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

/// The file, opened to be read on demand (never mapped: see [`file`]).
fn open(path: &Path) -> Result<FileBytes, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // Only a regular file: opening a FIFO would block until someone writes to it, and a
    // device or a directory is no binary. O_NONBLOCK keeps even a file swapped for a FIFO after
    // the check from blocking the open; the second check is on what was opened.
    let not_regular = |what: String| Error::NotARegularFile {
        path: path.to_path_buf(),
        what,
    };
    let kind = |m: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(not_regular(kind(&metadata).to_owned()));
    }
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(path)
            .map_err(io)?
    };
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() {
        return Err(not_regular(kind(&opened).to_owned()));
    }
    FileBytes::new(file, &opened).map_err(io)
}

/// `result`, unless the file at `path` changed while it was read: then that is the error, and
/// the (possibly broken) result of reading it does not matter.
pub(crate) fn unless_changed<T>(
    path: &Path,
    bytes: &FileBytes,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match bytes.changed() {
        Some(what) => Err(Error::Changed {
            path: path.to_path_buf(),
            what,
        }),
        None => result,
    }
}

/// Every library of the load graph read while it was built or searched is still what it was.
pub(crate) fn graph_unchanged(graph: &graph::Graph) -> Result<(), Error> {
    if let Some((path, what)) = &graph.changed {
        return Err(Error::Changed {
            path: path.clone(),
            what: what.clone(),
        });
    }
    for node in &graph.nodes {
        if let Some(bytes) = &node.data {
            unless_changed(&node.path, bytes, Ok(()))?;
        }
    }
    Ok(())
}

/// Verifies `symbols` in the binary at `path` (read on demand, never mapped).
pub fn verify(path: &Path, symbols: &[impl AsRef<str>]) -> Result<BinaryReport, Error> {
    let bytes = open(path)?;
    let names: Vec<&str> = symbols.iter().map(AsRef::as_ref).collect();
    let verified = verify_inner(path, &bytes, &names).and_then(|(report, graph)| {
        graph_unchanged(&graph)?;
        Ok(report)
    });
    unless_changed(path, &bytes, verified)
}

/// What `jit_linkage::read_note` reads of the binary, and only that, in a copy of its bytes
/// (the rest zeros, never touched): the ELF header, the program headers and each `PT_NOTE`
/// segment, the section headers and each `SHT_NOTE` section. The note reader takes a whole
/// file's bytes; reading the whole of a large binary (libLLVM is 150 MB) for its note would
/// cost more than verifying it.
fn note_view(bytes: &FileBytes) -> Result<Vec<u8>, String> {
    use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
    use object::{Endianness, ReadRef};

    fn ranges<Elf: FileHeader<Endian = Endianness>>(
        bytes: &FileBytes,
    ) -> object::read::Result<Vec<(u64, u64)>> {
        let header = Elf::parse(bytes)?;
        let endian = header.endian()?;
        let mut ranges = vec![(0, std::mem::size_of::<Elf>() as u64)];
        let phentsize = u64::from(header.e_phentsize(endian));
        let segments = header.program_headers(endian, bytes)?;
        ranges.push((
            header.e_phoff(endian).into(),
            phentsize * segments.len() as u64,
        ));
        for segment in segments {
            if segment.p_type(endian) == object::elf::PT_NOTE {
                ranges.push((
                    segment.p_offset(endian).into(),
                    segment.p_filesz(endian).into(),
                ));
            }
        }
        let sections = header.section_headers(endian, bytes)?;
        if !sections.is_empty() {
            let shentsize = u64::from(header.e_shentsize(endian));
            // With more than 0xff00 sections, the count is in the first section header.
            ranges.push((header.e_shoff(endian).into(), shentsize));
            ranges.push((
                header.e_shoff(endian).into(),
                shentsize * sections.len() as u64,
            ));
        }
        for section in sections {
            if section.sh_type(endian) == object::elf::SHT_NOTE {
                ranges.push((
                    section.sh_offset(endian).into(),
                    section.sh_size(endian).into(),
                ));
            }
        }
        Ok(ranges)
    }
    let r = bytes;
    let ranges = match object::FileKind::parse(r).map_err(|e| e.to_string())? {
        object::FileKind::Elf32 => ranges::<object::elf::FileHeader32<Endianness>>(r),
        object::FileKind::Elf64 => ranges::<object::elf::FileHeader64<Endianness>>(r),
        other => return Err(format!("not an ELF file ({other:?})")),
    }
    .map_err(|e| e.to_string())?;
    let len = r
        .len()
        .map_err(|()| "cannot read the file's size".to_owned())?;
    let size = usize::try_from(len).map_err(|_| "larger than the address space".to_owned())?;
    // Zeroed memory the size of the file: the system gives it as pages of zeros, only the
    // pages written below take memory.
    let mut view = vec![0u8; size];
    for (offset, size) in ranges {
        // A range past the end of the file is what the note reader finds broken too.
        if let Ok(part) = r.read_bytes_at(offset, size) {
            let at = offset as usize;
            view[at..at + part.len()].copy_from_slice(part);
        }
    }
    Ok(view)
}

/// The jit-linkage note of the binary at `path`, opened as `bytes`.
fn read_note(
    path: &Path,
    bytes: &FileBytes,
) -> Result<Option<Vec<jit_linkage::RequiredSymbol>>, Error> {
    let parse = |message| Error::Parse {
        path: path.to_path_buf(),
        message,
    };
    let note = note_view(bytes)
        .and_then(|view| jit_linkage::read_note(&view))
        .map_err(parse);
    unless_changed(path, bytes, note)
}

/// The symbols the build of the binary at `path` recorded in it (jit-linkage's note).
pub fn recorded_symbols(path: &Path) -> Result<Vec<String>, Error> {
    let bytes = open(path)?;
    match read_note(path, &bytes)? {
        Some(symbols) => Ok(symbols.into_iter().map(|s| s.symbol).collect()),
        None => Err(Error::NoRecordedSymbols {
            path: path.to_path_buf(),
        }),
    }
}

/// Verifies the symbols the binary's build recorded in it ([`recorded_symbols`]), each against
/// the library meant to provide it: a symbol found in any other object is
/// [`Status::WrongProvider`].
pub fn verify_recorded(path: &Path) -> Result<BinaryReport, Error> {
    let bytes = open(path)?;
    let Some(note) = read_note(path, &bytes)? else {
        return Err(Error::NoRecordedSymbols {
            path: path.to_path_buf(),
        });
    };
    let names: Vec<&str> = note.iter().map(|s| s.symbol.as_str()).collect();
    let verified = verify_inner(path, &bytes, &names).and_then(|(mut report, graph)| {
        check_providers(&mut report, &graph, &note);
        graph_unchanged(&graph)?;
        Ok(report)
    });
    unless_changed(path, &bytes, verified)
}

/// Whether `provider` is the library the note names: the same `SONAME` (file name as the
/// loader found it), and for a library placed next to the binary that copy (next to it or in
/// its `../lib`) of that build.
fn is_expected_provider(
    graph: &graph::Graph,
    provider: Option<&Path>,
    wanted: &jit_linkage::RequiredSymbol,
) -> bool {
    let Some(provider) = provider else {
        return false;
    };
    let name = provider
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let Some((soname, build)) = wanted.placed() else {
        return name.as_deref() == Some(wanted.file.as_str());
    };
    let origin = graph.nodes.first().map(|n| n.searcher.origin.as_path());
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let dir = provider.parent().map(real);
    name.as_deref() == Some(soname)
        && origin.is_some_and(|o| {
            dir.as_deref() == Some(real(o).as_path())
                || dir.as_deref() == Some(real(&o.join("../lib")).as_path())
        })
        && build.is_none_or(|build| build_id(graph, provider).as_deref() == Some(build))
}

/// The GNU build ID (hex) of the library at `path`, read from the file the load graph opened.
fn build_id(graph: &graph::Graph, path: &Path) -> Option<String> {
    use object::Object;
    let data = graph.nodes.iter().find(|n| n.path == path)?.data.as_ref()?;
    let file = object::File::parse(data).ok()?;
    let id = file.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// Holds each verdict against the provider the note names, and warns where an exported symbol
/// interposes a same-named definition in one of the binary's dependencies.
fn check_providers(
    report: &mut BinaryReport,
    graph: &graph::Graph,
    note: &[jit_linkage::RequiredSymbol],
) {
    use jit_linkage::Linkage;
    let report_origin = graph.nodes.first().map(|n| n.searcher.origin.clone());
    let mut exported_static = Vec::new();
    for (verdict, wanted) in report.symbols.iter_mut().zip(note) {
        let expected = match wanted.linkage {
            Linkage::Static => format!("{} linked into the binary", wanted.file),
            Linkage::Dynamic => wanted.file.clone(),
        };
        verdict.expected = Some(expected.clone());
        let provider_name = verdict
            .provider
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned());
        let wrong = match (wanted.linkage, verdict.status) {
            (Linkage::Static, Status::Exported) => {
                exported_static.push(verdict.name.clone());
                None
            }
            (Linkage::Static, Status::ProvidedByDependency) => Some(format!(
                "the build links `{}` ({}) whole into the binary to provide it, but the binary \
                 does not export it and the JIT would call the copy in {}: export it (the \
                 manifest's `symbols`, --dynamic-list) and link the archive whole \
                 (+whole-archive)",
                wanted.library,
                wanted.file,
                provider_name.as_deref().unwrap_or("another library")
            )),
            (Linkage::Dynamic, Status::ProvidedByDependency)
                if !is_expected_provider(graph, verdict.provider.as_deref(), wanted) =>
            {
                Some(match wanted.placed() {
                    Some((soname, _)) => {
                        let found = verdict
                            .provider
                            .as_deref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "another library".into());
                        let same_name = verdict
                            .provider
                            .as_deref()
                            .and_then(|p| p.file_name())
                            .is_some_and(|f| f == soname);
                        let next_to = report_origin.as_deref().is_some_and(|o| {
                            o.join(soname).is_file() || o.join("../lib").join(soname).is_file()
                        });
                        if same_name && next_to {
                            format!(
                                "meant to come from the {soname} its build placed next to it \
                                 (library `{}`), but the {found} there is another build of that \
                                 name: another package's library of the same name in the same \
                                 directory, or a stale copy. Give the libraries distinct names \
                                 (`shared_name`), or build and ship the binary with its own",
                                wanted.library
                            )
                        } else if next_to {
                            format!(
                                "meant to come from the {soname} next to the binary (library \
                                 `{}`), but the loader finds {found} first: a library loaded \
                                 before it defines the same name. Rename the symbol in the \
                                 library",
                                wanted.library
                            )
                        } else {
                            format!(
                                "meant to come from the {soname} shipped next to the binary \
                                 (library `{}`), but the loader finds {found} instead, so the \
                                 JIT would call that library's code: put the binary's libraries \
                                 next to it or in ../lib (`jit-dist --out DIR BINARY` ships them)",
                                wanted.library
                            )
                        }
                    }
                    None if graph
                        .preloaded
                        .iter()
                        .any(|p| p.path.is_some() && p.path == verdict.provider) =>
                    {
                        format!(
                            "meant to come from {} (library `{}`), but {} preloads {} into every \
                             program on this machine, ahead of the binary's libraries, so the JIT \
                             would call that copy: remove it from {}, or rename the symbol",
                            wanted.file,
                            wanted.library,
                            loader::PRELOAD_FILE,
                            provider_name.as_deref().unwrap_or("another library"),
                            loader::PRELOAD_FILE
                        )
                    }
                    None => format!(
                        "meant to come from {} (library `{}`), but the loader finds {} first, \
                         so the JIT would call that copy: make sure {} is in DT_NEEDED and that \
                         no library loaded before it defines the symbol",
                        wanted.file,
                        wanted.library,
                        provider_name.as_deref().unwrap_or("another library"),
                        wanted.file
                    ),
                })
            }
            (Linkage::Dynamic, Status::Exported) => Some(format!(
                "meant to come from {} (library `{}`), but the binary itself exports a \
                 definition, which the JIT finds first: remove it from the binary or from the \
                 manifest",
                wanted.file, wanted.library
            )),
            _ => None,
        };
        if let Some(hint) = wrong {
            verdict.status = Status::WrongProvider;
            verdict.hint = Some(hint);
        }
    }
    // A library shipped next to the binary is, for the whole process, the one object of its
    // SONAME: every other library that needs that name gets this copy too.
    let mut warned = Vec::new();
    for wanted in note.iter().filter(|w| w.linkage == Linkage::Dynamic) {
        let Some((soname, _)) = wanted.placed() else {
            continue;
        };
        if warned.contains(&soname) {
            continue;
        }
        for node in graph.nodes.iter().skip(1) {
            if node.needs.iter().any(|n| n.name == soname) {
                warned.push(soname);
                report.warnings.push(format!(
                    "{} also needs {soname}, and gets the copy shipped next to the binary for \
                     library `{}` (the loader maps one {soname} per process), not the system's: \
                     keep the two compatible, or give the shipped library another SONAME",
                    node.path.display(),
                    wanted.library
                ));
                break;
            }
        }
    }
    if exported_static.is_empty() {
        return;
    }
    // Another definition of an exported name among the dependencies: every call through the
    // dependency's own PLT now lands in the binary's copy.
    let names: Vec<&str> = exported_static.iter().map(String::as_str).collect();
    let shadowed = graph::providers(graph, &names);
    let mut shadowed: Vec<(&str, PathBuf)> = shadowed
        .into_iter()
        .filter(|(_, found)| found.null.is_none())
        .map(|(name, found)| (name, found.path))
        .collect();
    shadowed.sort();
    for (name, library) in shadowed {
        report.warnings.push(format!(
            "`{name}`, exported by the binary for its JIT code, is also defined by {}: the \
             binary's copy interposes it, so that library's own calls to `{name}` now run the \
             binary's copy. Keep the two the same version, or link the library dynamically",
            library.display()
        ));
    }
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
    verify_inner(path, data, &names).map(|(report, _)| report)
}

/// [`verify_data`] of any bytes (a slice, or a file read on demand), also returning the load
/// graph.
fn verify_inner<'data, R: object::ReadRef<'data>>(
    path: &Path,
    data: R,
    names: &[&str],
) -> Result<(BinaryReport, graph::Graph), Error> {
    let (info, seen) =
        elf::read(data, names, elf::Tables::WithSymtab).map_err(|message| Error::Parse {
            path: path.to_path_buf(),
            message,
        })?;
    let mut config = loader::Config::for_binary(info.machine, info.class64, info.interp);
    config.secure = loader::secure_mode(path, info.kind == ObjectKind::Executable);
    let graph = graph::build(&config, path, &info);
    let report_need = |need: &graph::Need| Needed {
        name: need.name.clone(),
        path: need.path.clone(),
        trace: need.trace.clone(),
    };
    let needed: Vec<Needed> = graph.nodes[0].needs.iter().map(report_need).collect();
    let preloaded: Vec<Needed> = graph.preloaded.iter().map(report_need).collect();
    let unresolved_indirect: Vec<IndirectNeed> = graph
        .unresolved_indirect()
        .into_iter()
        .map(|(needed_by, name)| IndirectNeed { needed_by, name })
        .collect();

    let mut verdicts: Vec<SymbolReport> = names
        .iter()
        .zip(&seen)
        .map(|(name, seen)| own_verdict(name, *seen, &info))
        .collect();
    // What the binary does not export, dlsym looks for in its libraries: a definition of the
    // binary's own that is hidden, local or not in `.dynsym` does not stop the search
    // (do_lookup_x skips it), so a library that exports the name provides it.
    // What the binary exports stops the search there, even with the address 0.
    let searched = |seen: &Seen| !seen.dynsym.is_some_and(|e| e.is_exported());
    let unresolved: Vec<&str> = names
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| searched(seen))
        .map(|(n, _)| *n)
        .collect();
    if !unresolved.is_empty() {
        let providers = graph::providers(&graph, &unresolved);
        for (verdict, seen) in verdicts.iter_mut().zip(&seen) {
            if !searched(seen) {
                continue;
            }
            let found = providers.get(verdict.name.as_str());
            if let Some(null) = found.and_then(|f| f.null.map(|null| (null, &f.path))) {
                verdict.status = Status::Missing;
                verdict.hint = Some(null_hint(
                    &verdict.name,
                    null.0,
                    &null.1.display().to_string(),
                ));
            } else if let Some(provider) = found.map(|f| &f.path) {
                let own = match verdict.status {
                    Status::Hidden => Some("hidden, internal or local (`static`)"),
                    Status::NotExported => Some("not exported (in `.symtab` only)"),
                    _ => None,
                };
                verdict.hint = own.map(|own| {
                    format!(
                        "the binary's own definition is {own}, so dlsym and the JIT skip it and \
                         call {}'s: if the binary's is the one meant, export it (the manifest's \
                         `symbols`, --dynamic-list)",
                        provider.display()
                    )
                });
                verdict.status = Status::ProvidedByDependency;
                verdict.provider = Some(provider.clone());
            } else if verdict.status == Status::Missing {
                verdict.hint = Some(missing_hint(&needed, &info, *seen, config.secure.is_some()));
            }
        }
    }
    let origin = graph.nodes[0].searcher.origin.clone();
    let mut warnings = warnings::binary(&info, &needed, &origin, &config);
    for indirect in &unresolved_indirect {
        warnings.push(format!(
            "{} needs {}, which the loader would not find (a RUNPATH applies to its own object's \
             direct dependencies only; --explain shows where it looked): the binary will not \
             start",
            indirect.needed_by.display(),
            indirect.name
        ));
    }
    if let Some(foreign) = &graph.foreign {
        warnings.push(foreign.clone());
    }
    warnings.extend(warnings::secure_mode(&config, &graph));
    warnings.extend(warnings::preloads(&preloaded, &verdicts));
    if let Some(warning) = warnings::environment_preload(&config, &graph, names) {
        warnings.push(warning);
    }
    let refused: Vec<Refusal> = graph
        .nodes
        .iter()
        .filter_map(|node| {
            Some(Refusal {
                path: node.path.clone(),
                reason: node.refused.clone()?,
            })
        })
        .collect();
    for refusal in &refused {
        warnings.push(format!(
            "{}: {}: the binary will not start",
            refusal.path.display(),
            refusal.reason
        ));
    }

    let report = BinaryReport {
        path: path.to_path_buf(),
        kind: match info.kind {
            ObjectKind::Executable => "executable",
            ObjectKind::SharedLibrary => "shared-library",
            ObjectKind::Other => "other",
        },
        pie: info.pie,
        bind_now: info.bind_now,
        relro: info.relro,
        statically_linked: !info.dynamic,
        warnings,
        needed,
        preloaded,
        unresolved_indirect,
        refused,
        foreign: graph.foreign.clone(),
        runpath: info.runpath.iter().map(|s| (*s).to_owned()).collect(),
        rpath: info.rpath.iter().map(|s| (*s).to_owned()).collect(),
        symbols: verdicts,
    };
    Ok((report, graph))
}

/// What to say of a name `dlsym` finds in `object` with the address 0.
fn null_hint(name: &str, null: NullAddress, object: &str) -> String {
    match null {
        NullAddress::VersionName => format!(
            "`{name}` is the name of a version {object} defines (the linker gives each version \
             definition an absolute symbol of value 0), not a function or variable: dlsym finds \
             it and returns NULL, without an error, so the JIT cannot use it. Ask for the name of \
             a symbol of that version instead"
        ),
        NullAddress::Absolute => format!(
            "{object} defines `{name}` as an absolute symbol of value 0: dlsym finds it and \
             returns NULL, without an error, so the JIT cannot call or read it"
        ),
    }
}

/// The verdict from the binary's own symbol tables; `Missing` means "look in dependencies"
/// (unless its `.dynsym` has it, with the address 0: then the hint says so).
fn own_verdict(name: &str, seen: Seen, info: &ElfInfo<'_>) -> SymbolReport {
    let report = |status, hint| SymbolReport {
        name: name.to_owned(),
        status,
        provider: None,
        expected: None,
        hint,
    };
    if let Some(null) = seen.dynsym.filter(|e| e.is_exported()).and_then(|e| e.null) {
        return report(Status::Missing, Some(null_hint(name, null, "the binary")));
    }
    let (status, hint) = if seen.dynsym.is_some_and(|e| e.is_exported()) {
        (Status::Exported, None)
    } else if seen.dynsym.or(seen.symtab).is_some_and(|e| e.is_hidden()) {
        (
            Status::Hidden,
            Some(
                "defined with hidden/internal visibility or local binding, so it can never be \
                 exported: remove `__attribute__((visibility(\"hidden\")))` or `static` from its \
                 C definition, or compile it without -fvisibility=hidden"
                    .to_owned(),
            ),
        )
    } else if seen.symtab.is_some_and(|e| e.defined) {
        let hint = if info.hashless {
            "the binary has dynamic symbols but no hash table (DT_GNU_HASH or DT_HASH), so the \
             loader and dlsym cannot look up any of them: link it again with the system linker, \
             which writes one (do not strip it with a tool that drops it)"
        } else if info.dynamic {
            "linked in but not exported to .dynsym: list it in the manifest's `symbols` (the \
             generated --dynamic-list) or link with -Wl,--export-dynamic"
        } else {
            "the binary is statically linked and has no .dynsym: link it dynamically (remove \
             +crt-static / -static)"
        };
        (Status::NotExported, Some(hint.to_owned()))
    } else {
        (Status::Missing, None)
    };
    report(status, hint)
}

/// What to do when a set-user-ID binary's libraries are found through `$ORIGIN` by its owner
/// only.
pub(crate) const SECURE_MODE_FIX: &str = "in secure mode (see the warning) the loader does not take it \
     from the binary's own $ORIGIN: give it an absolute RUNPATH entry, or install the library \
     in a system directory";

fn missing_hint(needed: &[Needed], info: &ElfInfo<'_>, seen: Seen, secure: bool) -> String {
    if seen.dynsym.is_some_and(|e| e.defined && e.hidden_version) {
        return "only a non-default version of it is defined (`name@VERSION`, a hidden \
                version, like glibc's compatibility symbols): dlsym and the JIT never return \
                it. Give it a default version (`name@@VERSION`) or no version"
            .to_owned();
    }
    let mut hint = String::from(
        "not defined in the binary nor exported by any library it needs. If it comes from a \
         static archive: link the archive whole (+whole-archive) and export the symbol. If it \
         comes from a shared library: the library was dropped from DT_NEEDED by --as-needed \
         (use -Wl,--push-state,--no-as-needed,-lNAME,--pop-state) or is not found on the \
         RUNPATH",
    );
    let unresolved: Vec<&str> = needed
        .iter()
        .filter(|n| n.path.is_none())
        .map(|n| n.name.as_str())
        .collect();
    if !unresolved.is_empty() {
        let fix = if secure {
            SECURE_MODE_FIX
        } else if info.runpath.iter().any(|e| e.contains("ORIGIN")) {
            "put the library next to the binary or in ../lib from it: `jit-dist --out DIR \
             BINARY` ships a binary with its libraries"
        } else {
            "add -Wl,-rpath,$ORIGIN and put the library next to the binary"
        };
        hint.push_str(&format!(
            ". Not found by the loader: {} (RUNPATH: {}); {fix}",
            unresolved.join(", "),
            if info.runpath.is_empty() {
                "none".to_owned()
            } else {
                info.runpath.join(":")
            }
        ));
    }
    hint
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
