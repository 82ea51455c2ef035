//! What a static archive's members define, and would export once linked whole: the build's
//! side of "does this library provide this name" for a library linked statically (the run
//! time then sees the linked binary, read by [`crate::elf`]).

use std::collections::BTreeSet;

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSymbol, SymbolScope};

use crate::{Error, ErrorKind, Result};

/// The global names a library defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definitions {
    /// Strong definitions with default or protected visibility.
    pub strong: BTreeSet<String>,
    /// Weak definitions with default or protected visibility.
    pub weak: BTreeSet<String>,
    /// Definitions no one outside can see: hidden visibility, or (in a shared library) only a
    /// non-default version (`foo@V1`).
    pub hidden: BTreeSet<String>,
}

impl Definitions {
    /// Whether `name` is defined and visible (strong or weak).
    pub fn exports(&self, name: &str) -> bool {
        self.strong.contains(name) || self.weak.contains(name)
    }

    /// Every visible name, strong then weak.
    pub fn exported(&self) -> impl Iterator<Item = &str> {
        self.strong.iter().chain(&self.weak).map(String::as_str)
    }

    /// Records one definition: `visible` (default or protected), `weak`.
    pub(crate) fn add(&mut self, name: String, visible: bool, weak: bool) {
        if !visible {
            self.hidden.insert(name);
        } else if weak {
            self.weak.insert(name);
        } else {
            self.strong.insert(name);
        }
    }
}

/// Whether `data` starts like a static archive (`!<arch>`, or a thin one).
pub fn is_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<arch>\n") || data.starts_with(b"!<thin>\n")
}

/// The global definitions of every object member of the archive `data`. A common symbol
/// (`-fcommon` data) counts: it is a definition once linked. Members that are not objects (a
/// symbol table, a string table) are skipped.
pub fn definitions(data: &[u8]) -> Result<Definitions> {
    let malformed = |e: object::Error| Error::new(ErrorKind::Malformed, format!("archive: {e}"));
    let archive = ArchiveFile::parse(data).map_err(malformed)?;
    let mut defined = Definitions::default();
    for member in archive.members() {
        let member = member.map_err(malformed)?;
        let bytes = member.data(data).map_err(malformed)?;
        let Ok(file) = object::File::parse(bytes) else {
            continue;
        };
        for symbol in file.symbols() {
            if !(symbol.is_definition() || symbol.is_common()) || symbol.is_local() {
                continue;
            }
            let Ok(name) = symbol.name() else { continue };
            defined.add(
                name.to_owned(),
                symbol.scope() == SymbolScope::Dynamic,
                symbol.is_weak(),
            );
        }
    }
    Ok(defined)
}
