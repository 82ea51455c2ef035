//! The search for one `DT_NEEDED` name, step by step in the loader's order (glibc 2.36,
//! `_dl_map_object` and `open_path` in `elf/dl-load.c`): a path as it is; else the `DT_RPATH`
//! chain (when the object has no `DT_RUNPATH`), `LD_LIBRARY_PATH` (ignored, and said so), the
//! object's own `DT_RUNPATH`, `/etc/ld.so.cache`, the system search path. Every place tried is
//! a [`Step`] of the trace `--explain` prints.

use std::path::{Path, PathBuf};

use crate::file::{NotOpened, Opened};
use crate::loader::{Config, Searcher, Step, machine_name};

/// What one search is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup {
    /// The class and machine of the executable: a candidate of another is skipped.
    pub class64: bool,
    pub machine: u16,
    /// The binary is for another machine: only its own RPATH/RUNPATH mean anything here.
    pub foreign: bool,
    /// A preload, which the loader searches with `__RTLD_SECURE`: in secure mode it skips
    /// ld.so.cache and takes only a set-user-ID file (`open_path`, `_dl_map_object`).
    pub preload: bool,
}

/// The file the loader takes: where it found it, and the file, opened once.
#[derive(Debug)]
pub(crate) struct Found {
    pub path: PathBuf,
    pub file: Opened,
}

/// Searches `name` for `chain[0]` (the object that needs it; then the object that loaded that
/// one, up to the executable, last), recording each place tried.
pub(crate) fn search(
    config: &Config,
    name: &str,
    chain: &[&Searcher],
    lookup: Lookup,
    trace: &mut Vec<Step>,
) -> Option<Found> {
    let mut search = Search {
        config,
        name,
        lookup,
        secure_preload: lookup.preload && config.secure.is_some(),
        trace,
    };
    if name.contains('/') {
        return search.path(chain.first().copied());
    }
    if chain.is_empty() {
        return None;
    }
    let found = match search.first(
        &[
            Search::rpath_chain,
            Search::ld_library_path,
            Search::runpath,
        ],
        chain,
    ) {
        // A binary for another machine: only its own RPATH/RUNPATH mean anything here.
        Searched::NotHere if lookup.foreign => {
            search.not_searched_foreign();
            return None;
        }
        Searched::NotHere => search.first(&[Search::cache, Search::system_path], chain),
        done => done,
    };
    match found {
        Searched::Found(found) => Some(*found),
        Searched::NotHere | Searched::Stopped => None,
    }
}

/// One step of the search, for the object `chain[0]`.
type StepFn<'a> = fn(&mut Search<'a>, &[&Searcher]) -> Searched;

/// What one step of the search gave.
enum Searched {
    Found(Box<Found>),
    /// Not in this step's places: the next step is tried.
    NotHere,
    /// The loader stops here (a file it cannot load, a rule that ends the search).
    Stopped,
}

/// Why a candidate file is not taken: there is none, skipped (the search goes on), or fatal
/// (the loader stops with an error there, and the program does not start).
enum Reject {
    Absent(String),
    Skip(String),
    Fatal(String),
}

/// One search, as it goes: what is searched for, and the trace.
struct Search<'a> {
    config: &'a Config,
    name: &'a str,
    lookup: Lookup,
    /// A preload in secure mode: no cache, set-user-ID files only.
    secure_preload: bool,
    trace: &'a mut Vec<Step>,
}

impl<'a> Search<'a> {
    /// The first of `steps` that finds the library or stops the loader.
    fn first(&mut self, steps: &[StepFn<'a>], chain: &[&Searcher]) -> Searched {
        for step in steps {
            match step(self, chain) {
                Searched::NotHere => {}
                done => return done,
            }
        }
        Searched::NotHere
    }

    fn step(&mut self, source: &str, place: impl Into<String>, outcome: impl Into<String>) {
        self.trace.push(Step {
            source: source.to_owned(),
            place: place.into(),
            outcome: outcome.into(),
        });
    }

    /// A name with a `/` is a path, opened as it is, its `$ORIGIN` (of the object that needs
    /// it), `$LIB` and `$PLATFORM` expanded.
    fn path(&mut self, loader: Option<&Searcher>) -> Option<Found> {
        let name = self.name;
        let path = match loader {
            Some(loader) if name.contains('$') => match self.config.directory(name, loader) {
                Ok(path) => path,
                Err(why) => {
                    self.step("a path", name, why);
                    return None;
                }
            },
            _ => PathBuf::from(name),
        };
        let outcome = examine(&path, self.lookup.class64, self.lookup.machine);
        let said = match &outcome {
            Ok(_) => "found".to_owned(),
            Err(Reject::Absent(why) | Reject::Skip(why) | Reject::Fatal(why)) => why.clone(),
        };
        self.step("a path", path.display().to_string(), said);
        outcome.ok().map(|file| Found { path, file })
    }

    /// The `DT_RPATH` of the object that needs the library, then of the object that loaded
    /// it, up to the executable's, last and once: only when the object has no `DT_RUNPATH`.
    fn rpath_chain(&mut self, chain: &[&Searcher]) -> Searched {
        if !chain[0].runpath.is_empty() {
            return Searched::NotHere;
        }
        for object in chain.iter().filter(|o| !o.rpath.is_empty()) {
            let source = format!("DT_RPATH of {}", object.path.display());
            let dirs = self.entry_dirs(&source, object, &object.rpath);
            match self.in_dirs(&source, &dirs) {
                Searched::NotHere => {}
                done => return done,
            }
        }
        Searched::NotHere
    }

    /// `LD_LIBRARY_PATH` is deliberately not used: the binary must work without it. When it
    /// is set, the trace says so.
    fn ld_library_path(&mut self, _: &[&Searcher]) -> Searched {
        if let Some(value) = std::env::var_os("LD_LIBRARY_PATH").filter(|v| !v.is_empty()) {
            let why = if self.config.secure.is_some() {
                "ignored: the binary must find its libraries without it (and in secure mode the \
                 loader ignores it too)"
            } else {
                "ignored: the binary must find its libraries without it"
            };
            self.step("LD_LIBRARY_PATH", value.to_string_lossy(), why);
        }
        Searched::NotHere
    }

    /// The `DT_RUNPATH` of the object that needs the library (not of those that loaded it).
    fn runpath(&mut self, chain: &[&Searcher]) -> Searched {
        let loader = chain[0];
        if loader.runpath.is_empty() {
            return Searched::NotHere;
        }
        let source = format!("DT_RUNPATH of {}", loader.path.display());
        let dirs = self.entry_dirs(&source, loader, &loader.runpath);
        self.in_dirs(&source, &dirs)
    }

    fn not_searched_foreign(&mut self) {
        let why = format!(
            "not searched: a {} binary's loader, cache and system directories are those of its \
             own machine, not this one",
            machine_name(self.lookup.machine)
        );
        self.step("ld.so.cache and system search path", "", why);
    }

    /// `/etc/ld.so.cache`: with `DF_1_NODEFLIB` the loader still reads it, but refuses an entry
    /// in a system directory (`_dl_map_object`); a preload in secure mode does not read it.
    fn cache(&mut self, chain: &[&Searcher]) -> Searched {
        let loader = chain[0];
        let name = self.name;
        if self.secure_preload {
            self.step("ld.so.cache", name, "not read for a preload in secure mode");
            return Searched::NotHere;
        }
        let hwcaps: Vec<&str> = self.config.hwcaps.iter().map(String::as_str).collect();
        let Some(path) =
            self.config
                .cache
                .lookup(name, self.lookup.machine, self.lookup.class64, &hwcaps)
        else {
            self.step("ld.so.cache", name, "no entry");
            return Searched::NotHere;
        };
        // The system directories are asked of the loader only when they matter.
        let in_system = || {
            self.config
                .directories()
                .system
                .iter()
                .any(|d| path.starts_with(d))
        };
        if loader.nodeflib && in_system() {
            let why = format!(
                "{}: in a system directory, which {} refuses (-z nodefaultlib, DF_1_NODEFLIB)",
                path.display(),
                loader.path.display()
            );
            self.step("ld.so.cache", name, why);
            return Searched::NotHere;
        }
        match examine(&path, self.lookup.class64, self.lookup.machine) {
            Ok(file) => {
                self.step("ld.so.cache", name, format!("found: {}", path.display()));
                Searched::Found(Box::new(Found { path, file }))
            }
            // A cache entry whose file is gone: the loader goes on to the system search path
            // (`open_verify` fails to open it, `_dl_map_object` tries the default path).
            Err(Reject::Absent(why) | Reject::Skip(why)) => {
                self.step("ld.so.cache", name, format!("{}: {why}", path.display()));
                Searched::NotHere
            }
            Err(Reject::Fatal(why)) => {
                let why = format!("{}: {why}; the loader stops here", path.display());
                self.step("ld.so.cache", name, why);
                Searched::Stopped
            }
        }
    }

    /// The system search path, unless the object is linked with `-z nodefaultlib`.
    fn system_path(&mut self, chain: &[&Searcher]) -> Searched {
        let loader = chain[0];
        if loader.nodeflib {
            let why = format!(
                "not searched: {} is linked with -z nodefaultlib (DF_1_NODEFLIB)",
                loader.path.display()
            );
            self.step("system search path", "", why);
            return Searched::Stopped;
        }
        let system = self.config.directories().system.clone();
        self.in_dirs("system search path", &system)
    }

    /// The directories of an RPATH/RUNPATH's `entries`; an entry the loader drops (secure
    /// mode) is said so in the trace, an empty one (the current directory, not known here) is
    /// left out.
    fn entry_dirs(&mut self, source: &str, object: &Searcher, entries: &[String]) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for entry in entries.iter().filter(|e| !e.is_empty()) {
            match self.config.directory(entry, object) {
                Ok(dir) => dirs.push(dir),
                Err(why) => self.step(source, entry.clone(), why),
            }
        }
        dirs
    }

    /// Each of `dirs` in turn, each with its hwcaps subdirectories first.
    fn in_dirs(&mut self, source: &str, dirs: &[PathBuf]) -> Searched {
        for dir in dirs {
            match self.in_dir(source, dir) {
                Searched::NotHere => {}
                done => return done,
            }
        }
        Searched::NotHere
    }

    /// One directory: the `glibc-hwcaps` and legacy subdirectories the loader tries first (most
    /// directories have none: then the loader's list, which means asking it, cannot matter),
    /// then the directory itself.
    fn in_dir(&mut self, source: &str, dir: &Path) -> Searched {
        let subdirs: &[String] = if has_subdirectories(dir) {
            &self.config.directories().subdirs
        } else {
            &[]
        };
        let mut reasons = Vec::new();
        // A subdirectory whose first component is not there holds nothing: skip it without
        // asking the file system about each of its nested combinations.
        let mut present: Vec<(&str, bool)> = Vec::new();
        for sub in subdirs.iter().map(String::as_str).chain([""]) {
            let first = sub.split('/').next().unwrap_or("");
            if !first.is_empty() {
                let exists = match present.iter().find(|(f, _)| *f == first) {
                    Some((_, exists)) => *exists,
                    None => {
                        let exists = dir.join(first).is_dir();
                        present.push((first, exists));
                        exists
                    }
                };
                if !exists {
                    continue;
                }
            }
            let candidate = if sub.is_empty() {
                dir.join(self.name)
            } else {
                dir.join(sub).join(self.name)
            };
            match self.take(&candidate) {
                Ok(None) => continue,
                Ok(Some(file)) => {
                    let found = format!("found: {}", candidate.display());
                    self.step(source, dir.display().to_string(), found);
                    return Searched::Found(Box::new(Found {
                        path: candidate,
                        file,
                    }));
                }
                Err(Reject::Absent(_)) => continue,
                Err(Reject::Skip(why)) => reasons.push(format!("{}: {why}", candidate.display())),
                Err(Reject::Fatal(why)) => {
                    let why = format!(
                        "{}: {why}; the loader stops with an error here",
                        candidate.display()
                    );
                    self.step(source, dir.display().to_string(), why);
                    return Searched::Stopped;
                }
            }
        }
        let outcome = if reasons.is_empty() {
            format!(
                "no {} (nor in its {} hwcaps subdirectories)",
                self.name,
                subdirs.len()
            )
        } else {
            reasons.join("; ")
        };
        self.step(source, dir.display().to_string(), outcome);
        Searched::NotHere
    }

    /// Whether the loader takes `candidate`, in a directory: `None` when there is no such file.
    fn take(&self, candidate: &Path) -> Result<Option<Opened>, Reject> {
        let file = match examine(candidate, self.lookup.class64, self.lookup.machine) {
            Err(Reject::Absent(_)) => return Ok(None),
            other => other?,
        };
        if self.secure_preload && !file.set_user_id() {
            // The loader closes it and goes on (`open_path`).
            return Err(Reject::Skip(
                "not set-user-ID, which a preload found by name must be in secure mode: skipped"
                    .into(),
            ));
        }
        Ok(Some(file))
    }
}

/// The file at `path`, if it is a library the loader would take for a process of
/// `class64`/`machine` (glibc's `open_verify`: another class or machine is skipped; anything
/// else that is not a loadable ELF shared object is an error that stops the program).
fn examine(path: &Path, class64: bool, machine: u16) -> Result<Opened, Reject> {
    let file = Opened::open_candidate(path).map_err(|why| match why {
        NotOpened::Absent(e) => Reject::Absent(e.to_string()),
        NotOpened::NotRegular(_) => {
            Reject::Fatal("not a regular file (the loader would block or fail on it)".to_owned())
        }
        NotOpened::Io(e) => Reject::Fatal(e.to_string()),
    })?;
    let (c, m, kind) = file.identity().map_err(Reject::Fatal)?;
    if c != class64 || m != machine {
        return Err(Reject::Skip(format!(
            "{}-bit {} file, the binary is {}-bit {}: skipped",
            if c { 64 } else { 32 },
            machine_name(m),
            if class64 { 64 } else { 32 },
            machine_name(machine)
        )));
    }
    if kind != object::elf::ET_DYN {
        return Err(Reject::Fatal(
            "not a shared object (ET_DYN): the loader stops here".into(),
        ));
    }
    Ok(file)
}

/// Every name glibc 2.36 uses for a legacy hwcaps subdirectory on x86 and aarch64 (`tls`, the
/// platforms, the hwcap names): a directory holding none of them (nor `glibc-hwcaps`) is searched
/// for the library itself only, whatever the loader's exact order of subdirectories.
const LEGACY_NAMES: &[&str] = &[
    "tls", "haswell", "xeon_phi", "avx512_1", "x86_64", "i386", "i486", "i586", "i686", "sse2",
    "aarch64", "asimd", "atomics",
];

/// Whether `dir` has a `glibc-hwcaps` or legacy hwcaps subdirectory (remembered per process:
/// each dependency is searched for in the same few directories).
fn has_subdirectories(dir: &Path) -> bool {
    static SEEN: std::sync::Mutex<Vec<(PathBuf, bool)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, has)) = seen.iter().find(|(d, _)| d == dir) {
        return *has;
    }
    let has =
        dir.join("glibc-hwcaps").is_dir() || LEGACY_NAMES.iter().any(|n| dir.join(n).is_dir());
    seen.push((dir.to_path_buf(), has));
    has
}
