//! A prebuilt library: its files copied in under their link names, so that only this build's
//! directory is searched for them; a shared one placed next to the binaries under its
//! `SONAME`, which must shadow nothing.

use std::path::{Path, PathBuf};

use jit_exports::note::Linkage;

use crate::artifact::{Compiled, Needs, Shared, copy_in, find_library};
use crate::manifest::{Library, is_reserved_soname};
use crate::{Error, Result};

/// A prebuilt library: its files copied in under their link names, so that only this build's
/// directory is searched for them.
pub(crate) fn prebuilt(
    lib: &Library,
    dir: PathBuf,
    needs: Needs,
    static_lib: Option<&Path>,
    shared_lib: Option<&Path>,
) -> Result<Compiled> {
    let missing = |key: &'static str, linkage: Linkage| Error::PrebuiltFileMissing {
        library: lib.name.clone(),
        key,
        linkage,
    };
    let mut compiled = Compiled::default();
    if needs.link_static || needs.archive {
        let from = static_lib.ok_or_else(|| missing("static_lib", Linkage::Static))?;
        compiled.inputs.push(from.to_path_buf());
        compiled.archive = Some(copy_in(from, &dir, &lib.static_file_name())?);
        if needs.link_static {
            compiled.static_link = Some(lib.static_name.clone());
        }
    }
    if needs.shared {
        let from = shared_lib.ok_or_else(|| missing("shared_lib", Linkage::Dynamic))?;
        compiled.inputs.push(from.to_path_buf());
        // Read where the manifest says it is: an error names the user's file.
        let identity = crate::symbols::identity(from)?;
        let file = copy_in(from, &dir, &lib.shared_file_name())?;
        let soname = identity.soname.unwrap_or_else(|| lib.shared_file_name());
        compiled.shared = Some(Shared {
            build_id: identity.build_id,
            file,
            link_name: lib.shared_name.clone(),
            link_dir: Some(dir.clone()),
            soname,
            bundled: true,
        });
    }
    compiled.dir = dir;
    Ok(compiled)
}

/// A prebuilt shared library linked dynamically is placed next to the binaries (and in `deps/`
/// and `examples/`) under `soname`, the name the loader matches, so the name must be a plain
/// file name and must not be a system or toolchain library's: a `libevil.so` with the SONAME
/// `libm.so.6` would be every later process's libm there, rustc's first (cargo runs it with
/// `deps/` on its library path). The system's own file under its own name is allowed: placing
/// it replaces nothing.
pub(crate) fn check_placed_name(lib: &Library, file: &Path, soname: &str) -> Result<()> {
    let plain = !soname.is_empty() && soname != "." && soname != ".." && !soname.contains('/');
    if !plain {
        return Err(Error::SonameNotAFileName {
            library: lib.name.clone(),
            file: file.to_path_buf(),
            soname: soname.to_owned(),
        });
    }
    if is_reserved_soname(soname) && !is_system_copy(file, soname) {
        return Err(Error::ReservedSoname {
            library: lib.name.clone(),
            file: file.to_path_buf(),
            soname: soname.to_owned(),
        });
    }
    Ok(())
}

/// True when `file` is, or holds the same bytes as, the library the system has as `name`.
fn is_system_copy(file: &Path, name: &str) -> bool {
    let Some(system) = find_library(name, &[]) else {
        return false;
    };
    if file.canonicalize().is_ok_and(|f| f == system) {
        return true;
    }
    let same_size = match (std::fs::metadata(file), std::fs::metadata(&system)) {
        (Ok(a), Ok(b)) => a.len() == b.len(),
        _ => false,
    };
    same_size
        && matches!(
            (std::fs::read(file), std::fs::read(&system)),
            (Ok(a), Ok(b)) if a == b
        )
}
