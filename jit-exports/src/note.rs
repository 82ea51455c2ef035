//! The note a build links into its binaries: the symbols their JIT code needs and the library
//! meant to provide each, carried inside the binary so that a copy of it anywhere can be
//! checked; the manifest it came from, the manifest's libraries the build did not link, and
//! whether the binary asked for a debugger to see its JIT code.
//!
//! It is an ELF note (`SHT_NOTE`, owner [`NOTE_OWNER`], type [`NOTE_TYPE`]) in an allocated
//! section, [`NOTE_SECTION`]. GNU ld (bfd), gold and lld keep note sections under
//! `--gc-sections`, `strip` keeps allocated sections, and the loader-visible `PT_NOTE` segment
//! holds it, so it is found even when section headers are stripped. The description is UTF-8
//! text, one record a line, fields separated by tabs; its first line names the format,
//! `jit-linkage-symbols N`. Format 2, written by [`Note::description`] (tabs shown as `→`):
//!
//! ```text
//! jit-linkage-symbols 2
//! manifest → c-libs/libraries.toml
//! symbol → external_function → external → archive → libexternalstatic.a
//! symbol → sqlite3_libversion → sqlite → system → libsqlite3.so.0
//! symbol → words_count → words → placed → libwords.so → 07ae5c…
//! unlinked → wrapped → CreateWrappedValueFromInt WrappedValueGetInt
//! debugger → static
//! ```
//!
//! `manifest` is the manifest's path as the build script named it; `symbol` gives a symbol,
//! its manifest library and the [`Provider`]; `unlinked` a library of the manifest that the
//! build script does not link, with its `symbols`; `debugger` that the binary asked for a
//! debugger to see its JIT code, and how LLVM is linked into it. Format 1, which binaries built
//! before it carry and [`Note::parse_description`] still reads, has only the symbols:
//! `<symbol>\t<library>\t<static|dynamic>\t<file>`, where `<file>` is the archive, a system
//! library's `SONAME`, or `$ORIGIN/<SONAME>#<build id>` for a copy placed next to the binary.

use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, FileKind, ReadRef};

use crate::{Error, ErrorKind, Result};

/// The name of the section the note is in.
pub const NOTE_SECTION: &str = ".note.jit-linkage";
/// The note's owner name.
pub const NOTE_OWNER: &[u8] = b"jit-linkage";
/// The note's type (`JIT` and 1). The format of its description is on its first line.
pub const NOTE_TYPE: u32 = 0x4a49_5401;
/// The format [`Note::description`] writes.
pub const FORMAT_VERSION: u32 = 2;
/// The formats [`Note::parse_description`] reads.
pub const FORMATS_READ: [u32; 2] = [1, 2];

const HEADER: &str = "jit-linkage-symbols";

/// The symbols a debugger and the GDB JIT interface's registrar need to be found by: gdb looks
/// `__jit_debug_register_code` and `__jit_debug_descriptor` up in the symbol tables of the
/// program and its libraries (`.symtab`, or `.dynsym` once stripped); LLVM's JITLink debug
/// support looks the registrar functions up through the process's dynamic symbols (LLVM 22
/// defines only the allocation action; LLVM 14 to 19 also the wrapper). With LLVM linked
/// statically into the binary, they are exported only when listed; a listed name the binary
/// does not define is not exported (the linkers skip it).
pub const DEBUGGER_SYMBOLS: [&str; 4] = [
    "__jit_debug_register_code",
    "__jit_debug_descriptor",
    "llvm_orc_registerJITLoaderGDBWrapper",
    "llvm_orc_registerJITLoaderGDBAllocAction",
];

/// How a library reaches the final binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linkage {
    /// The archive is linked whole into the binary and its JIT symbols exported.
    Static,
    /// The shared library is kept in `DT_NEEDED` and found through the binary's `RUNPATH` (or
    /// the system's directories).
    Dynamic,
}

/// Which library the build meant to provide a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provider {
    /// A static archive linked whole into the binary: its file name (`libexternalstatic.a`).
    Archive {
        /// The archive's file name.
        file: String,
    },
    /// A shared library of the system (a pkg-config package's), by its `SONAME`: whichever
    /// copy the loader finds is it.
    System {
        /// Its `SONAME` (`libsqlite3.so.0`).
        soname: String,
    },
    /// A shared library the build placed next to the binary: only that copy (next to the
    /// binary or in its `../lib`), of that build, is it.
    Placed {
        /// Its `SONAME`, also its file name there.
        soname: String,
        /// Its GNU build ID (hex), when it has one.
        build_id: Option<String>,
    },
}

impl Provider {
    /// How the provider is linked.
    pub fn linkage(&self) -> Linkage {
        match self {
            Provider::Archive { .. } => Linkage::Static,
            Provider::System { .. } | Provider::Placed { .. } => Linkage::Dynamic,
        }
    }

    /// The archive's file name, or the shared library's `SONAME`.
    pub fn file(&self) -> &str {
        match self {
            Provider::Archive { file } => file,
            Provider::System { soname } | Provider::Placed { soname, .. } => soname,
        }
    }
}

/// One symbol a binary's JIT code needs, as its build recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequiredSymbol {
    /// The symbol's name.
    pub symbol: String,
    /// The manifest library meant to provide it.
    pub library: String,
    /// What provides it.
    pub provider: Provider,
}

/// A library of the manifest that the build script does not link into the binary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnlinkedLibrary {
    /// Its name in the manifest.
    pub library: String,
    /// Its `symbols`.
    pub symbols: Vec<String>,
}

/// How LLVM is linked into a binary, as its build knew it (orc-jit's build script tells
/// dependent build scripts through `DEP_ORC_JIT_LLVM_STATIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LlvmLinkage {
    /// LLVM's static libraries are linked into the binary.
    Static,
    /// The binary loads the shared libLLVM.
    Shared,
    /// The build did not know.
    Unknown,
}

/// The whole note.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Note {
    /// The format it was read in ([`FORMAT_VERSION`] for one made here).
    pub format: u32,
    /// The manifest's path as the build script named it (`c-libs/libraries.toml`).
    pub manifest: Option<String>,
    /// The symbols JIT code needs, each with its provider.
    pub symbols: Vec<RequiredSymbol>,
    /// The manifest's libraries the build script does not link.
    pub unlinked: Vec<UnlinkedLibrary>,
    /// Set when the binary asked for a debugger to see its JIT code: how LLVM is linked.
    pub debugger: Option<LlvmLinkage>,
}

impl Note {
    /// An empty note of the current format.
    pub fn new() -> Note {
        Note {
            format: FORMAT_VERSION,
            ..Note::default()
        }
    }

    /// The description, in format [`FORMAT_VERSION`]. A field that holds a tab or a line
    /// break cannot be written: an error of kind [`ErrorKind::NoteUnencodable`] naming it.
    pub fn description(&self) -> Result<String> {
        let mut text = format!("{HEADER} {FORMAT_VERSION}\n");
        // Every field but an optional last one (a build ID) holds something, and no field a tab
        // or a line break: each would shift or split the record.
        let mut line = |fields: &[&str], last_optional: bool| -> Result<()> {
            for (i, field) in fields.iter().enumerate() {
                let may_be_empty = last_optional && i + 1 == fields.len();
                if field.contains(['\t', '\n', '\r']) || (field.is_empty() && !may_be_empty) {
                    return Err(Error::new(
                        ErrorKind::NoteUnencodable,
                        format!(
                            "the jit-linkage note cannot record `{}` (in its `{}` record): a \
                             name in it may hold no tab or line break, and may not be empty",
                            field.escape_debug(),
                            fields[0]
                        ),
                    ));
                }
            }
            text.push_str(&fields.join("\t"));
            text.push('\n');
            Ok(())
        };
        if let Some(manifest) = &self.manifest {
            line(&["manifest", manifest], false)?;
        }
        for s in &self.symbols {
            match &s.provider {
                Provider::Archive { file } => {
                    line(&["symbol", &s.symbol, &s.library, "archive", file], false)?;
                }
                Provider::System { soname } => {
                    line(&["symbol", &s.symbol, &s.library, "system", soname], false)?;
                }
                Provider::Placed { soname, build_id } => {
                    let id = build_id.as_deref().unwrap_or("");
                    line(
                        &["symbol", &s.symbol, &s.library, "placed", soname, id],
                        true,
                    )?;
                }
            }
        }
        for u in &self.unlinked {
            if let Some(bad) = u
                .symbols
                .iter()
                .find(|s| s.is_empty() || s.contains(char::is_whitespace))
            {
                return Err(Error::new(
                    ErrorKind::NoteUnencodable,
                    format!(
                        "the jit-linkage note cannot record the symbol `{}` of library `{}`: a \
                         symbol name may hold no white space",
                        bad.escape_debug(),
                        u.library
                    ),
                ));
            }
            line(&["unlinked", &u.library, &u.symbols.join(" ")], true)?;
        }
        if let Some(llvm) = self.debugger {
            let llvm = match llvm {
                LlvmLinkage::Static => "static",
                LlvmLinkage::Shared => "shared",
                LlvmLinkage::Unknown => "unknown",
            };
            line(&["debugger", llvm], false)?;
        }
        Ok(text)
    }

    /// The whole ELF note record for a file of byte order `endian`: the name and description
    /// sizes, [`NOTE_TYPE`], [`NOTE_OWNER`] and the description, each padded to 4 bytes.
    pub fn record(&self, endian: Endianness) -> Result<Vec<u8>> {
        use object::Endian;
        let desc = self.description()?;
        let name_size = NOTE_OWNER.len() + 1;
        let mut data = Vec::with_capacity(12 + name_size + desc.len() + 8);
        for word in [name_size, desc.len()] {
            let word = u32::try_from(word).map_err(|_| {
                Error::new(
                    ErrorKind::NoteUnencodable,
                    "the jit-linkage note is larger than 4 GiB; list fewer symbols",
                )
            })?;
            data.extend_from_slice(&endian.write_u32_bytes(word));
        }
        data.extend_from_slice(&endian.write_u32_bytes(NOTE_TYPE));
        data.extend_from_slice(NOTE_OWNER);
        data.push(0);
        data.resize(data.len().next_multiple_of(4), 0);
        data.extend_from_slice(desc.as_bytes());
        data.resize(data.len().next_multiple_of(4), 0);
        Ok(data)
    }

    /// Parses one note description, of any format in [`FORMATS_READ`].
    pub fn parse_description(desc: &[u8]) -> Result<Note> {
        let text = std::str::from_utf8(desc)
            .map_err(|_| malformed("the jit-linkage note is not UTF-8".into()))?
            .trim_end_matches('\0');
        let mut lines = text.lines();
        let first = lines
            .next()
            .ok_or_else(|| malformed("the jit-linkage note is empty".into()))?;
        let format = first
            .strip_prefix(HEADER)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|n| n.parse::<u32>().ok());
        let mut note = Note {
            format: format.unwrap_or(0),
            ..Note::default()
        };
        match format {
            Some(1) => {
                for (i, line) in lines.enumerate() {
                    note.symbols
                        .push(parse_v1(line).ok_or_else(|| bad_line(i + 2, line))?);
                }
            }
            Some(2) => {
                for (i, line) in lines.enumerate() {
                    parse_v2(&mut note, line).ok_or_else(|| bad_line(i + 2, line))?;
                }
            }
            Some(newer) if newer > FORMAT_VERSION => {
                return Err(Error::new(
                    ErrorKind::NoteFormat,
                    format!(
                        "the jit-linkage note is in format {newer}, written by a newer \
                         jit-linkage; this reader knows formats {} and {}: use a verify-symbols \
                         (or jit-exports) as new as the jit-linkage that built the binary",
                        FORMATS_READ[0], FORMATS_READ[1]
                    ),
                ));
            }
            _ => {
                return Err(malformed(format!(
                    "the jit-linkage note starts with `{}`, not `{HEADER} N`",
                    first.escape_debug()
                )));
            }
        }
        Ok(note)
    }

    /// The required symbol called `name`, if the note lists it.
    pub fn symbol(&self, name: &str) -> Option<&RequiredSymbol> {
        self.symbols.iter().find(|s| s.symbol == name)
    }

    /// The unlinked library whose `symbols` hold `name`, if any.
    pub fn unlinked_library_of(&self, name: &str) -> Option<&UnlinkedLibrary> {
        self.unlinked
            .iter()
            .find(|u| u.symbols.iter().any(|s| s == name))
    }

    /// The manifest's libraries that the binary links statically, each once, in order.
    pub fn static_libraries(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for s in self
            .symbols
            .iter()
            .filter(|s| s.provider.linkage() == Linkage::Static)
        {
            if !names.contains(&s.library.as_str()) {
                names.push(&s.library);
            }
        }
        names
    }

    /// The manifest as messages name it.
    pub fn manifest_name(&self) -> &str {
        self.manifest.as_deref().unwrap_or("the manifest")
    }

    /// `other`'s records after this note's (a binary may carry more than one note).
    fn merge(&mut self, other: Note) {
        self.format = self.format.max(other.format);
        if self.manifest.is_none() {
            self.manifest = other.manifest;
        }
        self.symbols.extend(other.symbols);
        self.unlinked.extend(other.unlinked);
        self.debugger = self.debugger.or(other.debugger);
    }
}

fn malformed(message: String) -> Error {
    Error::new(ErrorKind::NoteMalformed, message)
}

fn bad_line(number: usize, line: &str) -> Error {
    malformed(format!(
        "line {number} of the jit-linkage note is malformed: `{}`",
        line.escape_debug()
    ))
}

fn parse_v1(line: &str) -> Option<RequiredSymbol> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [symbol, library, linkage, file] = fields[..] else {
        return None;
    };
    if symbol.is_empty() || library.is_empty() || file.is_empty() {
        return None;
    }
    let provider = match linkage {
        "static" => Provider::Archive { file: file.into() },
        "dynamic" => match file.strip_prefix("$ORIGIN/") {
            Some(placed) => {
                let (soname, build_id) = match placed.split_once('#') {
                    Some((soname, id)) => (soname, Some(id.to_owned())),
                    None => (placed, None),
                };
                if soname.is_empty() {
                    return None;
                }
                Provider::Placed {
                    soname: soname.into(),
                    build_id,
                }
            }
            None => Provider::System {
                soname: file.into(),
            },
        },
        _ => return None,
    };
    Some(RequiredSymbol {
        symbol: symbol.into(),
        library: library.into(),
        provider,
    })
}

fn parse_v2(note: &mut Note, line: &str) -> Option<()> {
    let fields: Vec<&str> = line.split('\t').collect();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    match fields[..] {
        ["manifest", path] => note.manifest = Some(nonempty(path)?),
        ["symbol", symbol, library, kind, ref rest @ ..] => {
            let provider = match (kind, rest) {
                ("archive", [file]) => Provider::Archive {
                    file: nonempty(file)?,
                },
                ("system", [soname]) => Provider::System {
                    soname: nonempty(soname)?,
                },
                ("placed", [soname, id]) => Provider::Placed {
                    soname: nonempty(soname)?,
                    build_id: nonempty(id),
                },
                _ => return None,
            };
            note.symbols.push(RequiredSymbol {
                symbol: nonempty(symbol)?,
                library: nonempty(library)?,
                provider,
            });
        }
        ["unlinked", library, symbols] => note.unlinked.push(UnlinkedLibrary {
            library: nonempty(library)?,
            symbols: symbols
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }),
        ["debugger", llvm] => {
            note.debugger = Some(match llvm {
                "static" => LlvmLinkage::Static,
                "shared" => LlvmLinkage::Shared,
                "unknown" => LlvmLinkage::Unknown,
                _ => return None,
            })
        }
        _ => return None,
    }
    Some(())
}

/// The note of an ELF file (its bytes, or a reader that reads the parts asked for: only the
/// headers and the note segments or sections are read), `Ok(None)` when it carries none (it
/// was not linked by a jit-linkage build script), an error when the file or the note is
/// malformed. Several notes (a binary linked with two note objects) read as one.
pub fn read<'data, R: ReadRef<'data>>(data: R) -> Result<Option<Note>> {
    let descriptions = match FileKind::parse(data) {
        Ok(FileKind::Elf32) => descriptions::<object::elf::FileHeader32<Endianness>, R>(data),
        Ok(FileKind::Elf64) => descriptions::<object::elf::FileHeader64<Endianness>, R>(data),
        Ok(other) => {
            return Err(Error::new(
                ErrorKind::NotElf,
                format!("not an ELF file ({other:?})"),
            ));
        }
        Err(e) => {
            return Err(Error::new(
                ErrorKind::NotElf,
                format!("not an ELF file ({e})"),
            ));
        }
    }
    .map_err(|e| Error::new(ErrorKind::Malformed, e.to_string()))?;
    let mut found: Option<Note> = None;
    for desc in descriptions {
        let note = Note::parse_description(desc)?;
        match &mut found {
            Some(first) => first.merge(note),
            None => found = Some(note),
        }
    }
    Ok(found)
}

/// The note of the file at `path`, reading only its headers and notes.
pub fn read_file(path: &std::path::Path) -> Result<Option<Note>> {
    let file = std::fs::File::open(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("{}: cannot read: {e}", path.display()),
        )
    })?;
    let data = crate::reader::FileReader::new(file).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("{}: cannot read: {e}", path.display()),
        )
    })?;
    read(&data).map_err(|e| Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Every jit-linkage note description: from the `PT_NOTE` segments (present when section headers
/// are stripped), else from the `SHT_NOTE` sections (an object file has no segments).
fn descriptions<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(
    data: R,
) -> object::read::Result<Vec<&'data [u8]>> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let ours = |note: &object::read::elf::Note<'data, Elf>| {
        note.name() == NOTE_OWNER && note.n_type(endian) == NOTE_TYPE
    };
    let mut found = Vec::new();
    for segment in header.program_headers(endian, data)? {
        if let Some(mut notes) = segment.notes(endian, data)? {
            while let Some(note) = notes.next()? {
                if ours(&note) {
                    found.push(note.desc());
                }
            }
        }
    }
    if found.is_empty() {
        for section in header.sections(endian, data)?.iter() {
            if let Some(mut notes) = section.notes(endian, data)? {
                while let Some(note) = notes.next()? {
                    if ours(&note) {
                        found.push(note.desc());
                    }
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Note {
        Note {
            manifest: Some("c-libs/libraries.toml".into()),
            symbols: vec![
                RequiredSymbol {
                    symbol: "s_one".into(),
                    library: "s".into(),
                    provider: Provider::Archive {
                        file: "libs.a".into(),
                    },
                },
                RequiredSymbol {
                    symbol: "d_one".into(),
                    library: "d".into(),
                    provider: Provider::System {
                        soname: "libd.so.1".into(),
                    },
                },
                RequiredSymbol {
                    symbol: "p_one".into(),
                    library: "p".into(),
                    provider: Provider::Placed {
                        soname: "libp.so".into(),
                        build_id: Some("07ae".into()),
                    },
                },
                RequiredSymbol {
                    symbol: "q_one".into(),
                    library: "q".into(),
                    provider: Provider::Placed {
                        soname: "libq.so".into(),
                        build_id: None,
                    },
                },
            ],
            unlinked: vec![UnlinkedLibrary {
                library: "yaml".into(),
                symbols: vec!["yaml_get_version".into(), "yaml_parser_initialize".into()],
            }],
            debugger: Some(LlvmLinkage::Static),
            ..Note::new()
        }
    }

    #[test]
    fn every_record_reads_back_as_written() {
        let written = note();
        let text = written.description().unwrap();
        assert!(text.starts_with("jit-linkage-symbols 2\n"), "{text}");
        assert!(
            text.contains("symbol\tp_one\tp\tplaced\tlibp.so\t07ae\n"),
            "{text}"
        );
        assert!(
            text.contains("symbol\tq_one\tq\tplaced\tlibq.so\t\n"),
            "{text}"
        );
        assert_eq!(Note::parse_description(text.as_bytes()).unwrap(), written);
        // The record a writer in any byte order puts in a file.
        let record = written.record(Endianness::Big).unwrap();
        assert_eq!(record[..4], 12u32.to_be_bytes());
        assert_eq!(record[8..12], NOTE_TYPE.to_be_bytes());
        assert_eq!(&record[12..24], b"jit-linkage\0");
        assert_eq!(record.len() % 4, 0);
    }

    /// Today's binaries carry format 1: the note of demo-static and demo-dynamic as built
    /// before format 2, byte for byte as their build scripts wrote it.
    #[test]
    fn a_note_in_format_1_reads_with_its_providers() {
        let v1 = b"jit-linkage-symbols 1\n\
                   external_function\texternal\tstatic\tlibexternalstatic.a\n\
                   sqlite3_libversion\tsqlite\tdynamic\tlibsqlite3.so.0\n\
                   external_sum\texternal\tdynamic\t$ORIGIN/libexternaldynamic.so#07ae5c11\n\
                   words_count\twords\tdynamic\t$ORIGIN/libwords.so\n\0\0";
        let note = Note::parse_description(v1).unwrap();
        assert_eq!(note.format, 1);
        assert_eq!(note.manifest, None);
        let providers: Vec<&Provider> = note.symbols.iter().map(|s| &s.provider).collect();
        assert_eq!(
            providers,
            [
                &Provider::Archive {
                    file: "libexternalstatic.a".into()
                },
                &Provider::System {
                    soname: "libsqlite3.so.0".into()
                },
                &Provider::Placed {
                    soname: "libexternaldynamic.so".into(),
                    build_id: Some("07ae5c11".into())
                },
                &Provider::Placed {
                    soname: "libwords.so".into(),
                    build_id: None
                },
            ]
        );
        assert_eq!(note.symbols[0].symbol, "external_function");
        assert_eq!(note.symbols[1].library, "sqlite");
    }

    #[test]
    fn malformed_and_newer_notes_are_errors_of_their_kind_naming_the_line() {
        let kind = |text: &[u8]| Note::parse_description(text).unwrap_err().kind();
        assert_eq!(kind(b"jit-linkage-symbols 9\n"), ErrorKind::NoteFormat);
        assert_eq!(kind(b"something else\n"), ErrorKind::NoteMalformed);
        assert_eq!(kind(b""), ErrorKind::NoteMalformed);
        assert_eq!(kind(b"\xff"), ErrorKind::NoteMalformed);
        let err = Note::parse_description(b"jit-linkage-symbols 1\na\tb\tstatic\n").unwrap_err();
        assert!(err.message().contains("line 2"), "{err}");
        let err = Note::parse_description(b"jit-linkage-symbols 1\na\tb\tweird\tf\n").unwrap_err();
        assert!(err.message().contains("weird"), "{err}");
        for bad in [
            "symbol\ta\tb\tarchive",
            "symbol\ta\tb\tplaced\tlibx.so",
            "symbol\t\tb\tsystem\tlibx.so",
            "unknown\trecord",
            "debugger\tsometimes",
            "manifest\t",
        ] {
            let text = format!("jit-linkage-symbols 2\n{bad}\n");
            let err = Note::parse_description(text.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NoteMalformed, "{bad}");
            assert!(err.message().contains("line 2"), "{err}");
        }
    }

    #[test]
    fn names_the_format_cannot_hold_are_refused_when_written() {
        let mut bad = note();
        bad.symbols[1].provider = Provider::System {
            soname: "lib\td.so".into(),
        };
        let err = bad.description().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoteUnencodable);
        assert!(err.message().contains("lib\\td.so"), "{err}");
        let mut bad = note();
        bad.manifest = Some("a\nb".into());
        assert_eq!(
            bad.description().unwrap_err().kind(),
            ErrorKind::NoteUnencodable
        );
        let mut bad = note();
        bad.unlinked[0].symbols.push("two words".into());
        assert_eq!(
            bad.description().unwrap_err().kind(),
            ErrorKind::NoteUnencodable
        );
    }

    #[test]
    fn garbage_and_files_without_the_note() {
        assert_eq!(
            read(&b"not an elf file at all"[..]).unwrap_err().kind(),
            ErrorKind::NotElf
        );
        // This test program: an ELF file that carries no jit-linkage note.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(read(&me[..]).unwrap(), None);
        assert_eq!(read_file(&std::env::current_exe().unwrap()).unwrap(), None);
    }
}
