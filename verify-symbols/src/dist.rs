//! Shipping: binaries and the shared libraries they find through `$ORIGIN`, copied into a
//! relocatable layout, then checked where they landed.
//!
//! ```text
//! OUT/bin/<binary>      RUNPATH $ORIGIN:$ORIGIN/../lib (what jit-linkage's link_dynamic sets)
//! OUT/lib/<library>.so  every DT_NEEDED the binary finds through an `$ORIGIN` RUNPATH entry
//! ```
//!
//! Libraries found in the system's directories stay out: they are the target machine's.
//! A binary copied alone, without its libraries, does not start; this layout is the fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jit_exports::elf;

use crate::{Error, file, graph, loader, recorded_symbols, verify};

/// What [`dist`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipped {
    /// The binaries, in `OUT/bin`.
    pub binaries: Vec<PathBuf>,
    /// The libraries, in `OUT/lib`.
    pub libraries: Vec<PathBuf>,
}

/// Why a binary cannot be shipped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// The binary could not be read.
    #[error(transparent)]
    Read(#[from] Error),
    /// A file could not be copied.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The binary finds libraries next to itself but not in `../lib`.
    #[error(
        "{}: RUNPATH is `{runpath}`, which does not hold $ORIGIN/../lib, so the shipped binary \
         would not find {libraries} in lib/; link it with jit-linkage's link_dynamic (RUNPATH \
         $ORIGIN:$ORIGIN/../lib) or add -Wl,-rpath,$ORIGIN/../lib",
        path.display()
    )]
    NoLibRunpath {
        /// The binary.
        path: PathBuf,
        /// Its RUNPATH as written.
        runpath: String,
        /// The libraries it finds through `$ORIGIN`.
        libraries: String,
    },
    /// A library the binary needs through `$ORIGIN` is not there to copy.
    #[error(
        "{}: needs {name}, found through its RUNPATH `{runpath}`, but no such file is next to \
         it; build the binary again (its build script puts the library there)",
        path.display()
    )]
    MissingLibrary {
        /// The binary.
        path: PathBuf,
        /// The `DT_NEEDED` name.
        name: String,
        /// Its RUNPATH as written.
        runpath: String,
    },
    /// Two binaries need different files under one library name.
    #[error(
        "two different files would be lib/{name}: {} and {}; ship the binaries separately",
        first.display(),
        second.display()
    )]
    Conflict {
        /// The library name.
        name: String,
        /// The file already shipped.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// The shipped binary does not start or misses a symbol.
    #[error("{}: shipped, but verify-symbols finds it broken: {problem}", path.display())]
    Broken {
        /// The shipped binary.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> DistError {
    let path = path.to_path_buf();
    move |source| DistError::Io {
        path,
        action,
        source,
    }
}

/// A `DT_NEEDED` name and the file it resolves to.
type Library = (String, PathBuf);

/// The libraries `binary` finds, as the loader would, through a RUNPATH (or RPATH) entry
/// relative to `$ORIGIN` (a copy next to the binary is what it runs with, even when the system
/// has one too), and its RUNPATH as written.
fn bundled(binary: &Path) -> Result<(Vec<Library>, Vec<String>), DistError> {
    let data = file::open(binary)?;
    let info = elf::read_info(&data).map_err(|source| Error::Parse {
        path: binary.to_path_buf(),
        source,
    })?;
    // Without secure mode's rules, even for a set-user-ID binary: what it finds through $ORIGIN
    // is what to ship; the shipped copy's check (`check_shipped`) applies them.
    let config = loader::Config::for_binary(info.machine, info.class64, info.interp)?;
    let graph = graph::build(&config, binary, &info);
    // Nothing more of these files is read below.
    graph.unchanged()?;
    file::unless_changed(binary, &data, Ok(()))?;
    let origin = &graph.nodes[0].searcher.origin;
    let own = if info.runpath.is_empty() {
        &info.rpath
    } else {
        &info.runpath
    };
    let relative: Vec<PathBuf> = own
        .iter()
        .filter(|e| e.starts_with("$ORIGIN") || e.starts_with("${ORIGIN}"))
        .filter_map(|e| config.expand(e, origin))
        .collect();
    let runpath: Vec<String> = own.iter().map(|s| (*s).to_owned()).collect();
    let mut found = Vec::new();
    if relative.is_empty() {
        return Ok((found, runpath));
    }
    // Every object of the load graph (a library's libraries too) that the loader takes from
    // next to the binary or its ../lib ships with it.
    for node in &graph.nodes {
        for need in &node.needs {
            match &need.path {
                Some(path) if relative.iter().any(|dir| path.starts_with(dir)) => {
                    if !found.iter().any(|(n, _): &Library| *n == need.name) {
                        found.push((need.name.clone(), path.clone()));
                    }
                }
                Some(_) => {}
                None => {
                    return Err(DistError::MissingLibrary {
                        path: node.path.clone(),
                        name: need.name.clone(),
                        runpath: runpath.join(":"),
                    });
                }
            }
        }
    }
    Ok((found, runpath))
}

/// Copies each of `binaries` to `out/bin/` and the libraries it finds through `$ORIGIN` to
/// `out/lib/`, then verifies each shipped binary: it must start (every `DT_NEEDED` found from
/// its new place) and find the symbols its build recorded (jit-linkage's note), if it has one.
pub fn dist(binaries: &[PathBuf], out: &Path) -> Result<Shipped, DistError> {
    let bin = out.join("bin");
    let lib = out.join("lib");
    let mut shipped = Shipped::default();
    let mut libraries: HashMap<String, PathBuf> = HashMap::new();
    let mut plan = Vec::new();
    for binary in binaries {
        let (found, runpath) = bundled(binary)?;
        let has_lib = runpath
            .iter()
            .any(|e| matches!(e.as_str(), "$ORIGIN/../lib" | "${ORIGIN}/../lib"));
        if !found.is_empty() && !has_lib {
            return Err(DistError::NoLibRunpath {
                path: binary.clone(),
                runpath: runpath.join(":"),
                libraries: found
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for (name, path) in found {
            match libraries.get(&name) {
                Some(first) if !same_contents(first, &path) => {
                    return Err(DistError::Conflict {
                        name,
                        first: first.clone(),
                        second: path,
                    });
                }
                Some(_) => {}
                None => {
                    libraries.insert(name, path);
                }
            }
        }
        plan.push(binary.clone());
    }
    std::fs::create_dir_all(&bin).map_err(io(&bin, "create"))?;
    let mut names: Vec<(&String, &PathBuf)> = libraries.iter().collect();
    names.sort();
    if !names.is_empty() {
        std::fs::create_dir_all(&lib).map_err(io(&lib, "create"))?;
    }
    for (name, from) in names {
        let to = lib.join(name);
        copy(from, &to)?;
        shipped.libraries.push(to);
    }
    for binary in plan {
        let to = bin.join(binary.file_name().unwrap_or_default());
        copy(&binary, &to)?;
        check_shipped(&to)?;
        shipped.binaries.push(to);
    }
    Ok(shipped)
}

/// The shipped binary starts and finds what its note lists.
fn check_shipped(path: &Path) -> Result<(), DistError> {
    let symbols = match recorded_symbols(path) {
        Ok(symbols) => symbols,
        Err(Error::NoRecordedSymbols { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let report = verify(path, &symbols)?;
    let unresolved: Vec<String> = report
        .needed
        .iter()
        .filter(|n| n.path.is_none())
        .map(|n| n.name.clone())
        .chain(report.unresolved_indirect.iter().map(|i| i.name.clone()))
        .chain(report.refused.iter().map(|r| {
            format!(
                "{} (the loader stops at it: {})",
                r.path.display(),
                r.reason
            )
        }))
        .collect();
    let missing: Vec<&str> = report
        .symbols
        .iter()
        .filter(|s| !s.status.is_found())
        .map(|s| s.name.as_str())
        .collect();
    if report.starts() && unresolved.is_empty() && missing.is_empty() {
        return Ok(());
    }
    Err(DistError::Broken {
        path: path.to_path_buf(),
        problem: format!(
            "libraries not found: [{}]; symbols not found: [{}]",
            unresolved.join(", "),
            missing.join(", ")
        ),
    })
}

fn same_contents(a: &Path, b: &Path) -> bool {
    a == b || matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Copies through a temporary name and a rename: a running copy of the old file keeps its
/// mapping. Permissions come along (`fs::copy` keeps them).
fn copy(from: &Path, to: &Path) -> Result<(), DistError> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::copy(from, &tmp).map_err(io(from, "copy"))?;
    std::fs::rename(&tmp, to).map_err(io(to, "write"))?;
    Ok(())
}
