//! What a library file defines, read with `object` before anything is linked: the proof that
//! each symbol the manifest lists is there, the clash of two libraries defining one symbol, and
//! a shared library's `SONAME`.

use std::collections::BTreeSet;
use std::path::Path;

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection, ObjectSymbol, SymbolScope};

use crate::{Error, Result};

/// The global symbols a static archive's members or a shared library's `.dynsym` define.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Defined {
    /// Strong definitions with default or protected visibility.
    pub strong: BTreeSet<String>,
    /// Weak definitions with default or protected visibility.
    pub weak: BTreeSet<String>,
    /// Definitions no one outside can see (hidden visibility).
    pub hidden: BTreeSet<String>,
}

impl Defined {
    fn add(&mut self, file: &object::File<'_>, dynamic: bool) {
        let symbols: Vec<_> = if dynamic {
            file.dynamic_symbols().collect()
        } else {
            file.symbols().collect()
        };
        // `.gnu.version`, one entry per dynamic symbol: the hidden bit marks a non-default
        // version (`foo@V1`), which dlsym and the JIT never return.
        let versions = dynamic
            .then(|| file.section_by_name(".gnu.version"))
            .flatten()
            .and_then(|s| s.data().ok());
        let hidden_version = |index: usize| {
            versions
                .and_then(|v| v.get(index * 2..index * 2 + 2))
                .is_some_and(|b| u16::from_le_bytes([b[0], b[1]]) & 0x8000 != 0)
        };
        for symbol in symbols {
            // A common symbol (`-fcommon` data) is a definition once linked.
            if !(symbol.is_definition() || symbol.is_common()) || symbol.is_local() {
                continue;
            }
            let Ok(name) = symbol.name() else { continue };
            let name = name.to_owned();
            if symbol.scope() != SymbolScope::Dynamic || hidden_version(symbol.index().0) {
                self.hidden.insert(name);
            } else if symbol.is_weak() {
                self.weak.insert(name);
            } else {
                self.strong.insert(name);
            }
        }
    }

    fn exports(&self, name: &str) -> bool {
        self.strong.contains(name) || self.weak.contains(name)
    }
}

/// What the archive or shared library at `path` defines.
pub(crate) fn defined(path: &Path) -> std::result::Result<Defined, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut defined = Defined::default();
    if data.starts_with(b"!<arch>\n") {
        let archive = ArchiveFile::parse(&*data).map_err(|e| format!("not an archive: {e}"))?;
        for member in archive.members() {
            let member = member.map_err(|e| format!("archive member: {e}"))?;
            let bytes = member
                .data(&*data)
                .map_err(|e| format!("archive member: {e}"))?;
            // Archives also hold non-object members (a symbol table, a string table).
            if let Ok(file) = object::File::parse(bytes) {
                defined.add(&file, false);
            }
        }
    } else {
        let file = object::File::parse(&*data).map_err(|e| format!("not an object: {e}"))?;
        defined.add(&file, true);
    }
    Ok(defined)
}

/// The GNU build ID of the file at `path` (hex), if it has one: what tells two builds of a
/// library with the same name apart.
pub(crate) fn build_id(path: &Path) -> Option<String> {
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let id = file.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `SONAME` of the shared library at `path`, if it has one.
pub(crate) fn soname(path: &Path) -> std::result::Result<Option<String>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    match object::FileKind::parse(&*data).map_err(|e| e.to_string())? {
        object::FileKind::Elf32 => {
            soname_of::<object::elf::FileHeader32<object::Endianness>>(&data)
        }
        object::FileKind::Elf64 => {
            soname_of::<object::elf::FileHeader64<object::Endianness>>(&data)
        }
        other => Err(format!("not an ELF shared library ({other:?})")),
    }
}

fn soname_of<Elf: object::read::elf::FileHeader<Endian = object::Endianness>>(
    data: &[u8],
) -> std::result::Result<Option<String>, String> {
    use object::elf;
    use object::read::elf::{Dyn, SectionHeader};
    let header = Elf::parse(data).map_err(|e| format!("not an ELF file: {e}"))?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let sections = header.sections(endian, data).map_err(|e| e.to_string())?;
    for section in sections.iter() {
        let Some((entries, link)) = section.dynamic(endian, data).map_err(|e| e.to_string())?
        else {
            continue;
        };
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| e.to_string())?;
        for entry in entries {
            if entry.tag32(endian) == Some(elf::DT_SONAME) {
                let name = entry.string(endian, strings).map_err(|e| e.to_string())?;
                return Ok(Some(String::from_utf8_lossy(name).into_owned()));
            }
        }
    }
    Ok(None)
}

/// Every symbol of `library`'s `symbols` is defined, visible, in `file`; else the error names
/// the symbol, the library, the file and the closest names it does define.
pub(crate) fn prove(library: &str, symbols: &[String], file: &Path) -> Result<Defined> {
    let defined = defined(file).map_err(|message| Error::Note {
        path: file.to_path_buf(),
        message,
    })?;
    for symbol in symbols {
        if defined.exports(symbol) {
            continue;
        }
        if defined.hidden.contains(symbol) {
            return Err(Error::SymbolHidden {
                library: library.to_owned(),
                symbol: symbol.clone(),
                file: file.to_path_buf(),
            });
        }
        return Err(Error::SymbolNotDefined {
            library: library.to_owned(),
            symbol: symbol.clone(),
            file: file.to_path_buf(),
            closest: closest(symbol, defined.strong.iter().chain(&defined.weak)),
        });
    }
    Ok(defined)
}

/// Up to three defined names close to `wanted`, closest first.
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let limit = (wanted.len() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = names
        .map(|name| (strsim::levenshtein(wanted, name), name))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
}

/// The symbols both `a` and `b` define strongly: the linker would silently pick one.
pub(crate) fn clashes(a: &Defined, b: &Defined) -> Vec<String> {
    a.strong.intersection(&b.strong).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_come_first_and_far_ones_not_at_all() {
        let names: Vec<String> = ["zlibVersion", "zlibCompileFlags", "deflate", "crc32"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("zlibVersio", names.iter()), ["zlibVersion"]);
        assert_eq!(closest("crc33", names.iter()), ["crc32"]);
        assert!(closest("sqlite3_open", names.iter()).is_empty());
    }

    #[test]
    fn the_system_libc_defines_malloc_and_has_a_soname() {
        let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .expect("a glibc system");
        let defined = defined(libc).unwrap();
        assert!(defined.exports("malloc"));
        assert_eq!(soname(libc).unwrap().as_deref(), Some("libc.so.6"));
        let err = prove("c", &["mallok".to_owned()], libc)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `malloc`"), "{err}");
        // A compatibility symbol: only `__ctype32_tolower@GLIBC_2.2.5`, never returned by dlsym.
        let err = prove("c", &["__ctype32_tolower".to_owned()], libc).unwrap_err();
        assert!(matches!(err, Error::SymbolHidden { .. }), "{err}");
    }
}
