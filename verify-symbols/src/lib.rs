//! Proves that a final ELF binary gives a JIT every symbol it needs — or says why not.
//!
//! A JIT (ORC's process symbol generator, `dlsym(RTLD_DEFAULT, ...)`) finds a symbol when it is
//! *exported*: defined in the dynamic symbol table of the binary or of a library the loader
//! maps for it. [`verify`] reads the binary (memory-mapped, parsed with the `object` crate, one
//! pass over each symbol table) and gives each requested symbol one [`Status`]:
//!
//! | status | meaning | what to do |
//! |---|---|---|
//! | `exported` | defined in `.dynsym`, global/weak, default/protected visibility | nothing |
//! | `provided-by-dependency` | exported by a `DT_NEEDED` library, found as the loader would | nothing |
//! | `not-exported` | in `.symtab` only | export it: `--dynamic-list` or `--export-dynamic` |
//! | `hidden` | hidden/internal visibility or local binding | the C visibility attribute, `-fvisibility`, `static` |
//! | `missing` | nowhere | static: whole-archive; shared: `DT_NEEDED` (`--as-needed`) or RUNPATH |
//!
//! ```no_run
//! let report = verify_symbols::verify("target/debug/demo-static".as_ref(), &["external_function"])?;
//! assert_eq!(report.symbols[0].status, verify_symbols::Status::Exported);
//! # Ok::<(), verify_symbols::Error>(())
//! ```

pub mod dist;
mod elf;
#[allow(dead_code)] // Wired into the loader next.
mod ldcache;
mod loader;
mod render;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::elf::{ElfInfo, ObjectKind, Seen};
pub use crate::render::{render_json, render_text};

/// A file that could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
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
    /// The file is not a readable ELF file.
    #[error("{}: not a readable ELF file: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
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
    /// Defined in `.symtab` but not in `.dynsym`.
    NotExported,
    /// Defined, but hidden/internal or local: it can never be exported.
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
    /// What to do (for the statuses that are not found).
    pub hint: Option<String>,
}

/// A `DT_NEEDED` entry and the file the loader would map for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// The name in `DT_NEEDED`.
    pub name: String,
    /// Where it resolves; `None` when the loader would not find it.
    pub path: Option<PathBuf>,
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

    /// True when the loader finds every `DT_NEEDED` library: the binary can start.
    pub fn starts(&self) -> bool {
        self.needed.iter().all(|n| n.path.is_some())
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

/// The whole file, memory-mapped.
fn map(path: &Path) -> Result<memmap2::Mmap, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    // SAFETY: the map is only read. If another process truncates the file while we read it,
    // accesses past the new end fault (SIGBUS); that is the accepted risk of mapping a file,
    // taken by every tool that maps binaries (object's examples, linkers). Nothing here writes.
    unsafe { memmap2::Mmap::map(&file) }.map_err(io)
}

/// Verifies `symbols` in the binary at `path` (memory-mapped).
pub fn verify(path: &Path, symbols: &[impl AsRef<str>]) -> Result<BinaryReport, Error> {
    verify_data(path, &map(path)?, symbols)
}

/// The symbols the build of the binary at `path` recorded in it (jit-linkage's note).
pub fn recorded_symbols(path: &Path) -> Result<Vec<String>, Error> {
    let data = map(path)?;
    match jit_linkage::read_note(&data) {
        Ok(Some(symbols)) => Ok(symbols.into_iter().map(|s| s.symbol).collect()),
        Ok(None) => Err(Error::NoRecordedSymbols {
            path: path.to_path_buf(),
        }),
        Err(message) => Err(Error::Parse {
            path: path.to_path_buf(),
            message,
        }),
    }
}

/// Verifies the symbols the binary's build recorded in it ([`recorded_symbols`]), each against
/// the library meant to provide it: a symbol found in any other object is
/// [`Status::WrongProvider`].
pub fn verify_recorded(path: &Path) -> Result<BinaryReport, Error> {
    let data = map(path)?;
    let note = match jit_linkage::read_note(&data) {
        Ok(Some(note)) => note,
        Ok(None) => {
            return Err(Error::NoRecordedSymbols {
                path: path.to_path_buf(),
            });
        }
        Err(message) => {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                message,
            });
        }
    };
    let names: Vec<&str> = note.iter().map(|s| s.symbol.as_str()).collect();
    let mut report = verify_data(path, &data, &names)?;
    check_providers(&mut report, &note);
    Ok(report)
}

/// Holds each verdict against the provider the note names, and warns where an exported symbol
/// interposes a same-named definition in one of the binary's dependencies.
fn check_providers(report: &mut BinaryReport, note: &[jit_linkage::RequiredSymbol]) {
    use jit_linkage::Linkage;
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
                if provider_name.as_deref() != Some(wanted.file.as_str()) =>
            {
                Some(format!(
                    "meant to come from {} (library `{}`), but the loader finds {} first, so \
                     the JIT would call that copy: make sure {} is in DT_NEEDED and that no \
                     library loaded before it defines the symbol",
                    wanted.file,
                    wanted.library,
                    provider_name.as_deref().unwrap_or("another library"),
                    wanted.file
                ))
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
    if exported_static.is_empty() {
        return;
    }
    // Another definition of an exported name among the dependencies: every call through the
    // dependency's own PLT now lands in the binary's copy.
    let names: Vec<&str> = exported_static.iter().map(String::as_str).collect();
    let system = loader::system_dirs();
    let shadowed = search_dependencies(&report.needed, &names, &system);
    let mut shadowed: Vec<(&str, PathBuf)> = shadowed.into_iter().collect();
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
    let mut seen: HashMap<&str, Seen> = names.iter().map(|n| (*n, Seen::default())).collect();
    let info = elf::read(data, &mut seen).map_err(|message| Error::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    let origin = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let system = loader::system_dirs();
    let dirs = loader::search_dirs(&info.runpath, &info.rpath, &origin, &system);
    let needed: Vec<Needed> = info
        .needed
        .iter()
        .map(|name| Needed {
            name: (*name).to_owned(),
            path: loader::resolve(name, &dirs),
        })
        .collect();

    let mut verdicts: Vec<SymbolReport> = names
        .iter()
        .map(|name| own_verdict(name, seen[name], &info))
        .collect();
    let unresolved: Vec<&str> = names
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.status == Status::Missing)
        .map(|(n, _)| *n)
        .collect();
    if !unresolved.is_empty() {
        let providers = search_dependencies(&needed, &unresolved, &system);
        for verdict in &mut verdicts {
            if let Some(provider) = providers.get(verdict.name.as_str()) {
                verdict.status = Status::ProvidedByDependency;
                verdict.provider = Some(provider.clone());
                verdict.hint = None;
            } else if verdict.status == Status::Missing {
                verdict.hint = Some(missing_hint(&needed, &info));
            }
        }
    }

    Ok(BinaryReport {
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
        warnings: warnings(&info, &needed, &origin, &system),
        needed,
        runpath: info.runpath.iter().map(|s| (*s).to_owned()).collect(),
        rpath: info.rpath.iter().map(|s| (*s).to_owned()).collect(),
        symbols: verdicts,
    })
}

/// The verdict from the binary's own symbol tables; `Missing` means "look in dependencies".
fn own_verdict(name: &str, seen: Seen, info: &ElfInfo<'_>) -> SymbolReport {
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
        let hint = if info.dynamic {
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
    SymbolReport {
        name: name.to_owned(),
        status,
        provider: None,
        expected: None,
        hint,
    }
}

/// Breadth-first over the needed libraries (and theirs), as the loader maps them; returns
/// the first library exporting each name.
fn search_dependencies<'n>(
    needed: &[Needed],
    names: &[&'n str],
    system: &[PathBuf],
) -> HashMap<&'n str, PathBuf> {
    let mut found = HashMap::new();
    let mut queue: VecDeque<PathBuf> = needed.iter().filter_map(|n| n.path.clone()).collect();
    let mut visited = HashSet::new();
    while let Some(path) = queue.pop_front() {
        if found.len() == names.len() {
            break;
        }
        if !visited.insert(path.clone()) {
            continue;
        }
        let Ok(data) = map(&path) else { continue };
        let mut seen: HashMap<&str, Seen> = names
            .iter()
            .filter(|n| !found.contains_key(*n))
            .map(|n| (*n, Seen::default()))
            .collect();
        // An unreadable dependency provides nothing; the loader would fail on it too.
        let Ok(info) = elf::read(&data, &mut seen) else {
            continue;
        };
        for (name, s) in seen {
            if s.dynsym.is_some_and(|e| e.is_exported()) {
                found.insert(name, path.clone());
            }
        }
        let origin = path.parent().unwrap_or(Path::new("/"));
        let dirs = loader::search_dirs(&info.runpath, &info.rpath, origin, system);
        queue.extend(info.needed.iter().filter_map(|n| loader::resolve(n, &dirs)));
    }
    found
}

fn missing_hint(needed: &[Needed], info: &ElfInfo<'_>) -> String {
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
        let fix = if info.runpath.iter().any(|e| e.contains("ORIGIN")) {
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

fn warnings(
    info: &ElfInfo<'_>,
    needed: &[Needed],
    origin: &Path,
    system: &[PathBuf],
) -> Vec<String> {
    let mut warnings = Vec::new();
    if !info.dynamic {
        warnings.push(
            "statically linked: there is no dynamic symbol table, so a JIT cannot search this \
             binary at all"
                .to_owned(),
        );
    }
    let origin_relative = info
        .runpath
        .iter()
        .chain(&info.rpath)
        .any(|e| e.starts_with("$ORIGIN") || e.starts_with("${ORIGIN}"));
    for n in needed.iter().filter(|n| n.path.is_none()) {
        let fix = if origin_relative {
            format!(
                "; the binary looks for it next to itself or in ../lib (RUNPATH {}): a binary \
                 copied without its libraries cannot start. Ship it with its libraries: \
                 `jit-dist --out DIR BINARY` (`cargo xtask dist` in the toolkit) writes \
                 DIR/bin and DIR/lib",
                info.runpath.join(":")
            )
        } else {
            String::new()
        };
        warnings.push(format!(
            "DT_NEEDED {} is not found on the RUNPATH or in the system's library directories: \
             the binary will not start{fix}",
            n.name
        ));
    }
    if !info.rpath.is_empty() && info.runpath.is_empty() {
        warnings.push(
            "uses DT_RPATH, which overrides LD_LIBRARY_PATH and applies to dependencies too; \
             link with -Wl,--enable-new-dtags for DT_RUNPATH"
                .to_owned(),
        );
    }
    for (tag, entries) in [("RUNPATH", &info.runpath), ("RPATH", &info.rpath)] {
        for entry in entries.iter() {
            if entry.is_empty() {
                warnings.push(format!(
                    "{tag} has an empty entry, which means the current directory: whoever \
                     controls the working directory can inject a library"
                ));
                continue;
            }
            if entry.starts_with('/') && !system.iter().any(|d| d == Path::new(entry)) {
                warnings.push(format!(
                    "{tag} entry {entry} is an absolute path (a build directory?): the binary \
                     only works where it was built; use $ORIGIN"
                ));
            }
            if let Some(dir) = loader::expand(entry, origin) {
                if is_writable_by_others(&dir) {
                    warnings.push(format!(
                        "{tag} entry {entry} ({}) is writable by other users: anyone can plant \
                         a library there",
                        dir.display()
                    ));
                }
            }
        }
    }
    warnings
}

fn is_writable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // World-writable without the sticky bit, like /tmp has, is the dangerous case... and even
    // with it, anyone can create a new file there, which is all an attacker needs.
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0)
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
