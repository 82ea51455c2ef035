//! The note a build script links into its binaries: the symbols their JIT code needs and the
//! library meant to provide each, carried inside the binary so that a copy of it anywhere can
//! be checked.
//!
//! It is an ELF note (`SHT_NOTE`, owner `jit-linkage`, type [`NOTE_TYPE`]) in an allocated
//! section, [`NOTE_SECTION`]. GNU ld (bfd), gold and lld keep note sections under
//! `--gc-sections`, `strip` keeps allocated sections, and the loader-visible `PT_NOTE` segment
//! holds it, so it is found even when section headers are stripped. The description is UTF-8
//! text: a first line `jit-linkage-symbols 1`, then one line per symbol,
//! `<symbol>\t<library>\t<static|dynamic>\t<file>`, where `<library>` is the manifest's name and
//! `<file>` the artifact that provides the symbol: the archive linked in (`libexternalstatic.a`),
//! a system library's `SONAME` (`libsqlite3.so.0`), or `$ORIGIN/<SONAME>#<build id>` for a
//! shared library the build places next to the binary (`$ORIGIN/libexternaldynamic.so#07ae…`),
//! which only that copy, of that build, is.

use std::path::Path;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::write::{Object, StandardSegment};
use object::{Architecture, BinaryFormat, Endianness, FileKind, SectionFlags, SectionKind};

use crate::plan::Linkage;
use crate::{Error, Result};

/// The name of the section the note is in.
pub const NOTE_SECTION: &str = ".note.jit-linkage";
/// The note's owner name.
const NOTE_OWNER: &[u8] = b"jit-linkage";
/// The note's type: `JIT` and the format version.
pub const NOTE_TYPE: u32 = 0x4a49_5401;
/// The first line of the description.
const HEADER: &str = "jit-linkage-symbols 1";

/// One symbol a binary's JIT code needs, as its build recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredSymbol {
    /// The symbol's name.
    pub symbol: String,
    /// The manifest library meant to provide it.
    pub library: String,
    /// How that library is linked.
    pub linkage: Linkage,
    /// The artifact that provides it: `lib<static_name>.a` or `lib<shared_name>.so`.
    pub file: String,
}

impl RequiredSymbol {
    /// For a shared library the build placed next to the binary (`file` is
    /// `$ORIGIN/<SONAME>#<build id>`, or `$ORIGIN/<SONAME>` from a build without one): its
    /// `SONAME` and its GNU build ID (hex), if recorded. `None` for any other provider.
    pub fn placed(&self) -> Option<(&str, Option<&str>)> {
        let shipped = self.file.strip_prefix("$ORIGIN/")?;
        Some(match shipped.split_once('#') {
            Some((soname, build)) => (soname, Some(build)),
            None => (shipped, None),
        })
    }
}

/// The note's description text for `symbols`.
fn description(symbols: &[RequiredSymbol]) -> String {
    let mut text = format!("{HEADER}\n");
    for s in symbols {
        let linkage = match s.linkage {
            Linkage::Static => "static",
            Linkage::Dynamic => "dynamic",
        };
        text.push_str(&format!(
            "{}\t{}\t{linkage}\t{}\n",
            s.symbol, s.library, s.file
        ));
    }
    text
}

/// A relocatable object for `target` holding the note, to be linked into the binaries.
pub(crate) fn note_object(target: &str, symbols: &[RequiredSymbol]) -> Result<Vec<u8>> {
    let architecture = match target.split('-').next() {
        Some("x86_64") => Architecture::X86_64,
        Some("aarch64") => Architecture::Aarch64,
        _ => {
            return Err(Error::UnsupportedTarget {
                target: target.to_owned(),
                reason: "the symbol note is written for x86_64 and aarch64 ELF only".into(),
            });
        }
    };
    let mut obj = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
    let desc = description(symbols);
    let mut data = Vec::new();
    let pad4 = |data: &mut Vec<u8>| data.resize(data.len().next_multiple_of(4), 0);
    let name_size = NOTE_OWNER.len() + 1;
    for word in [name_size, desc.len()] {
        let word = u32::try_from(word).map_err(|_| {
            Error::Usage("the symbol note is larger than 4 GiB; list fewer symbols".into())
        })?;
        data.extend_from_slice(&word.to_le_bytes());
    }
    data.extend_from_slice(&NOTE_TYPE.to_le_bytes());
    data.extend_from_slice(NOTE_OWNER);
    data.push(0);
    pad4(&mut data);
    data.extend_from_slice(desc.as_bytes());
    pad4(&mut data);

    let segment = obj.segment_name(StandardSegment::Data).to_vec();
    let note = obj.add_section(segment, NOTE_SECTION.as_bytes().to_vec(), SectionKind::Note);
    obj.section_mut(note).flags = SectionFlags::Elf {
        sh_flags: u64::from(elf::SHF_ALLOC),
    };
    obj.set_section_data(note, data, 4);
    // Without this marker GNU ld warns that the object implies an executable stack.
    obj.add_section(
        Vec::new(),
        b".note.GNU-stack".to_vec(),
        SectionKind::Elf(elf::SHT_PROGBITS),
    );
    obj.write()
        .map_err(|e| Error::Usage(format!("writing the symbol note object: {e}")))
}

/// The symbols recorded in the binary at `path` (see the module docs), or `Ok(None)` when it
/// carries no note: it was not linked by a jit-linkage build script.
pub fn read_note_file(path: &Path) -> Result<Option<Vec<RequiredSymbol>>> {
    let data = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    read_note(&data).map_err(|message| Error::Note {
        path: path.to_path_buf(),
        message,
    })
}

/// The symbols recorded in an ELF file's data, `Ok(None)` when it has no note, `Err` (with the
/// reason) when the file or the note is malformed.
pub fn read_note(data: &[u8]) -> std::result::Result<Option<Vec<RequiredSymbol>>, String> {
    let descriptions = match FileKind::parse(data).map_err(|e| e.to_string())? {
        FileKind::Elf32 => descriptions::<elf::FileHeader32<Endianness>>(data),
        FileKind::Elf64 => descriptions::<elf::FileHeader64<Endianness>>(data),
        other => return Err(format!("not an ELF file ({other:?})")),
    }
    .map_err(|e| e.to_string())?;
    if descriptions.is_empty() {
        return Ok(None);
    }
    let mut symbols = Vec::new();
    for desc in descriptions {
        symbols.extend(parse_description(desc)?);
    }
    Ok(Some(symbols))
}

/// Every jit-linkage note description: from the `PT_NOTE` segments (present when section headers
/// are stripped), else from the `SHT_NOTE` sections (an object file has no segments).
fn descriptions<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
) -> object::read::Result<Vec<&[u8]>> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let mut found = Vec::new();
    for segment in header.program_headers(endian, data)? {
        if let Some(mut notes) = segment.notes(endian, data)? {
            while let Some(note) = notes.next()? {
                if note.name() == NOTE_OWNER && note.n_type(endian) == NOTE_TYPE {
                    found.push(note.desc());
                }
            }
        }
    }
    if found.is_empty() {
        for section in header.sections(endian, data)?.iter() {
            if let Some(mut notes) = section.notes(endian, data)? {
                while let Some(note) = notes.next()? {
                    if note.name() == NOTE_OWNER && note.n_type(endian) == NOTE_TYPE {
                        found.push(note.desc());
                    }
                }
            }
        }
    }
    Ok(found)
}

fn parse_description(desc: &[u8]) -> std::result::Result<Vec<RequiredSymbol>, String> {
    let text = std::str::from_utf8(desc)
        .map_err(|_| "the jit-linkage note is not UTF-8".to_owned())?
        .trim_end_matches('\0');
    let mut lines = text.lines();
    match lines.next() {
        Some(HEADER) => {}
        Some(other) => {
            return Err(format!(
                "the jit-linkage note has format `{}`, this reader knows `{HEADER}`; use a \
                 verify-symbols of the jit-linkage that built the binary",
                other.escape_debug()
            ));
        }
        None => return Err("the jit-linkage note is empty".into()),
    }
    let mut symbols = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let bad = || {
            format!(
                "line {} of the jit-linkage note is malformed: `{}`",
                i + 2,
                line.escape_debug()
            )
        };
        let [symbol, library, linkage, file] = fields[..] else {
            return Err(bad());
        };
        let linkage = match linkage {
            "static" => Linkage::Static,
            "dynamic" => Linkage::Dynamic,
            _ => return Err(bad()),
        };
        if symbol.is_empty() || library.is_empty() || file.is_empty() {
            return Err(bad());
        }
        symbols.push(RequiredSymbol {
            symbol: symbol.to_owned(),
            library: library.to_owned(),
            linkage,
            file: file.to_owned(),
        });
    }
    Ok(symbols)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Vec<RequiredSymbol> {
        vec![
            RequiredSymbol {
                symbol: "s_one".into(),
                library: "s".into(),
                linkage: Linkage::Static,
                file: "libs.a".into(),
            },
            RequiredSymbol {
                symbol: "d_one".into(),
                library: "d".into(),
                linkage: Linkage::Dynamic,
                file: "libd.so".into(),
            },
        ]
    }

    #[test]
    fn the_object_carries_the_note_and_reads_back() {
        for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
            let obj = note_object(target, &symbols()).unwrap();
            assert_eq!(read_note(&obj).unwrap(), Some(symbols()), "{target}");
        }
        let err = note_object("riscv64gc-unknown-linux-gnu", &symbols()).unwrap_err();
        assert!(err.to_string().contains("riscv64gc"), "{err}");
    }

    #[test]
    fn a_file_without_the_note_reads_as_none_and_garbage_as_an_error() {
        let obj = note_object("x86_64-unknown-linux-gnu", &[]).unwrap();
        assert_eq!(read_note(&obj).unwrap(), Some(Vec::new()));
        assert!(read_note(b"not an elf file at all").is_err());
        // Every truncation of a valid object is an error or no note, never a panic.
        for len in 0..obj.len() {
            let _ = read_note(&obj[..len]);
        }
    }

    #[test]
    fn malformed_descriptions_are_errors_naming_the_line() {
        assert!(parse_description(b"jit-linkage-symbols 9\n").is_err());
        let err = parse_description(b"jit-linkage-symbols 1\na\tb\tstatic\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = parse_description(b"jit-linkage-symbols 1\na\tb\tweird\tf\n").unwrap_err();
        assert!(err.contains("weird"), "{err}");
        assert!(parse_description(b"\xff").is_err());
    }
}
