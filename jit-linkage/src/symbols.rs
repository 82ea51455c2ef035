//! The build-time proof, before anything is linked: each symbol the manifest lists is exported
//! by its library's file, two linked libraries do not define the same symbol, and what a
//! shared library is known by (`SONAME`, build ID). A shared library is read as the loader
//! reads it, and asked the question verify-symbols asks of the final binary, through the one
//! rule of jit-exports ([`jit_exports::elf::Seen::export`]): the build's proof and the run
//! time's verdict cannot disagree.

use std::path::Path;

use jit_exports::archive::{self, Definitions};
use jit_exports::elf::{self, Export, Tables};
use jit_exports::similar;

use crate::{Error, Result};

/// What a library file provides for the manifest's symbols.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Provided {
    /// Every global name it defines (for the clash of two libraries, and close names).
    pub definitions: Definitions,
}

fn unreadable(file: &Path) -> impl Fn(jit_exports::Error) -> Error {
    let file = file.to_path_buf();
    move |source| Error::UnreadableLibrary {
        file: file.clone(),
        source,
    }
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        action: "read",
        source,
    })
}

/// Every symbol of `library`'s `symbols` is exported by `file` (a static archive, or a shared
/// library as its loader finds it); else the error names the symbol, the library, the file and
/// the closest names it does export.
pub fn prove(library: &str, symbols: &[String], file: &Path) -> Result<Provided> {
    let data = read(file)?;
    if archive::is_archive(&data) {
        let definitions = archive::definitions(&data).map_err(unreadable(file))?;
        for symbol in symbols {
            if definitions.exports(symbol) {
                continue;
            }
            return Err(if definitions.hidden.contains(symbol) {
                hidden(library, symbol, file)
            } else {
                not_defined(library, symbol, file, &definitions)
            });
        }
        return Ok(Provided { definitions });
    }
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let (info, seen) =
        elf::read(&data[..], &names, Tables::WithSymtab).map_err(unreadable(file))?;
    let definitions = elf::definitions(&data[..]).map_err(unreadable(file))?;
    for (symbol, seen) in symbols.iter().zip(&seen) {
        match seen.export() {
            Export::Exported => {}
            Export::Hidden | Export::HiddenVersion => return Err(hidden(library, symbol, file)),
            Export::NotExported if info.hashless => {
                return Err(Error::NoHashTable {
                    library: library.to_owned(),
                    file: file.to_path_buf(),
                });
            }
            Export::Null(_) => {
                return Err(Error::SymbolIsNull {
                    library: library.to_owned(),
                    symbol: symbol.clone(),
                    file: file.to_path_buf(),
                });
            }
            Export::NotExported | Export::Absent => {
                return Err(not_defined(library, symbol, file, &definitions));
            }
        }
    }
    Ok(Provided { definitions })
}

fn hidden(library: &str, symbol: &str, file: &Path) -> Error {
    Error::SymbolHidden {
        library: library.to_owned(),
        symbol: symbol.to_owned(),
        file: file.to_path_buf(),
    }
}

fn not_defined(library: &str, symbol: &str, file: &Path, definitions: &Definitions) -> Error {
    Error::SymbolNotDefined {
        library: library.to_owned(),
        symbol: symbol.to_owned(),
        file: file.to_path_buf(),
        closest: similar::closest(symbol, definitions.exported()),
    }
}

/// What a shared library is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Its `SONAME`, if it has one.
    pub soname: Option<String>,
    /// Its GNU build ID (hex), if it has one.
    pub build_id: Option<String>,
}

/// The `SONAME` and build ID of the shared library at `path`.
pub(crate) fn identity(path: &Path) -> Result<Identity> {
    let data = read(path)?;
    let info = elf::read_info(&data[..]).map_err(unreadable(path))?;
    let build_id = elf::build_id(&data[..]).map_err(unreadable(path))?;
    Ok(Identity {
        soname: info.soname.map(str::to_owned),
        build_id: build_id.map(elf::hex),
    })
}

/// The symbols both `a` and `b` define strongly: the linker would silently pick one.
pub(crate) fn clashes(a: &Provided, b: &Provided) -> Vec<String> {
    a.definitions
        .strong
        .intersection(&b.definitions.strong)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_libc_exports_malloc_and_has_a_soname() {
        let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .expect("a glibc system");
        let provided = prove("c", &["malloc".to_owned()], libc).unwrap();
        assert!(provided.definitions.exports("malloc"));
        assert_eq!(identity(libc).unwrap().soname.as_deref(), Some("libc.so.6"));
        let err = prove("c", &["mallok".to_owned()], libc)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `malloc`"), "{err}");
        // A compatibility symbol: only `__ctype32_tolower@GLIBC_2.2.5`, never returned by dlsym.
        let err = prove("c", &["__ctype32_tolower".to_owned()], libc).unwrap_err();
        assert!(matches!(err, Error::SymbolHidden { .. }), "{err}");
        // A version's name: dlsym finds it and returns NULL.
        let err = prove("c", &["GLIBC_2.2.5".to_owned()], libc).unwrap_err();
        assert!(matches!(err, Error::SymbolIsNull { .. }), "{err}");
    }
}
