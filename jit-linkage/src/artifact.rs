//! What obtaining one library of the manifest produces (compiled from sources, prebuilt, or
//! a system library found by pkg-config), and where the linker finds a file.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// What a build needs of one library.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Needs {
    /// Linked statically into the binaries: cc prints the whole-archive link line.
    pub link_static: bool,
    /// `lib<static_name>.a` as a file (linked statically, or loaded at run time).
    pub archive: bool,
    /// `lib<shared_name>.so` (linked dynamically, or loaded at run time).
    pub shared: bool,
    /// `<name>.bc` for LLVM `N`.
    pub bitcode: Option<u32>,
}

/// What obtaining one library produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {
    /// The library's own directory.
    pub dir: PathBuf,
    /// Every file the result depends on: the sources and the headers the compiler read, the
    /// prebuilt files.
    pub inputs: Vec<PathBuf>,
    /// What the compiler printed (warnings), to pass on.
    pub warnings: Vec<String>,
    /// The archive, when one was asked for.
    pub archive: Option<PathBuf>,
    /// Where the archive was copied from, when it is a copy (a system library's): the file to
    /// name in errors.
    pub archive_source: Option<PathBuf>,
    /// The static link line to print, for a library cc did not compile: its `-l` name.
    pub static_link: Option<String>,
    /// The shared library, when one was asked for.
    pub shared: Option<Shared>,
    /// More directories to search (pkg-config's `-L`).
    pub link_paths: Vec<PathBuf>,
    /// Libraries the library itself needs, linked normally (pkg-config's other `-l`).
    pub dependencies: Vec<String>,
    /// Include directories the library gives to the compiled libraries of the build
    /// (pkg-config's `-I`).
    pub include_paths: Vec<PathBuf>,
    /// Environment variables read to obtain it (pkg-config's), for `rerun-if-env-changed`.
    pub env_vars: Vec<String>,
}

/// A shared library to link and, unless the system provides it, to place next to the binary.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    /// The file the linker uses (and whose symbols are proven).
    pub file: PathBuf,
    /// Its `-l` name.
    pub link_name: String,
    /// The directory to search for it, when the linker does not search it anyway.
    pub link_dir: Option<PathBuf>,
    /// Its `SONAME`: the name in the binary's `DT_NEEDED`.
    pub soname: String,
    /// Whether it must be placed next to the binary (false for a system library).
    pub bundled: bool,
    /// Its GNU build ID, which the note records for a placed library: another build of a
    /// library of the same name (another package's, in the same directory) is not it.
    pub build_id: Option<String>,
}

pub(crate) fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        action,
        source,
    }
}

/// Copies `from` into `dir` as `name`.
pub(crate) fn copy_in(from: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    let to = dir.join(name);
    std::fs::copy(from, &to).map_err(io_error(from, "copy"))?;
    Ok(to)
}

/// Where the linker finds `file`: in `paths`, else on the C compiler's own library path
/// (`cc -print-file-name`, which prints the name alone when it finds nothing).
pub(crate) fn find_library(file: &str, paths: &[PathBuf]) -> Option<PathBuf> {
    if let Some(found) = paths.iter().map(|p| p.join(file)).find(|p| p.is_file()) {
        return Some(found);
    }
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .ok()?;
    let out = compiler
        .to_command()
        .arg(format!("-print-file-name={file}"))
        .output()
        .ok()?;
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let path = PathBuf::from(printed);
    (path.is_absolute() && path.is_file()).then(|| path.canonicalize().unwrap_or(path))
}
