//! The object the build links into its binaries to carry the note (its format, the types and
//! the reader are jit-exports', [`jit_exports::note`]): a relocatable ELF object for the
//! target, holding one allocated `SHT_NOTE` section, [`NOTE_SECTION`].

use std::path::Path;

use jit_exports::note::{NOTE_SECTION, Note};
use jit_exports::target::Target;
use object::elf;
use object::write::{Object, StandardSegment};
use object::{BinaryFormat, SectionFlags, SectionKind};

use crate::{Error, Result};

/// A relocatable object for `target` holding `note`, to be linked into the binaries.
pub(crate) fn note_object(target: &Target, note: &Note) -> Result<Vec<u8>> {
    let record = note.record(target.endian).map_err(Error::NoteUnencodable)?;
    let mut obj = Object::new(BinaryFormat::Elf, target.architecture, target.endian);
    let segment = obj.segment_name(StandardSegment::Data).to_vec();
    let section = obj.add_section(segment, NOTE_SECTION.as_bytes().to_vec(), SectionKind::Note);
    obj.section_mut(section).flags = SectionFlags::Elf {
        sh_flags: u64::from(elf::SHF_ALLOC),
    };
    obj.set_section_data(section, record, 4);
    // Without this marker GNU ld warns that the object implies an executable stack.
    obj.add_section(
        Vec::new(),
        b".note.GNU-stack".to_vec(),
        SectionKind::Elf(elf::SHT_PROGBITS),
    );
    obj.write().map_err(|e| Error::WriteObject {
        what: "the symbol note object",
        message: e.to_string(),
    })
}

/// The note recorded in the binary at `path` (see [`jit_exports::note`]), or `Ok(None)` when
/// it carries none: it was not linked by a jit-linkage build script. Only its headers and notes
/// are read.
pub fn read_note_file(path: &Path) -> Result<Option<Note>> {
    jit_exports::note::read_file(path).map_err(|source| Error::Note {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jit_exports::note::{Provider, RequiredSymbol};
    use jit_exports::target::SUPPORTED_TARGETS;
    use object::{Object as _, ObjectSection as _};

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
                    provider: Provider::Placed {
                        soname: "libd.so".into(),
                        build_id: Some("07ae".into()),
                    },
                },
            ],
            ..Note::new()
        }
    }

    /// The object a linker takes: an ELF relocatable file of the target's machine whose
    /// allocated note section reads back as the note written.
    #[test]
    fn the_note_object_is_one_of_the_targets_machine_and_reads_back() {
        for target in SUPPORTED_TARGETS {
            let bytes = note_object(target, &note()).unwrap();
            let file = object::File::parse(&*bytes).unwrap();
            assert_eq!(
                file.architecture(),
                target.architecture,
                "{}",
                target.triple
            );
            assert_eq!(file.kind(), object::ObjectKind::Relocatable);
            let section = file.section_by_name(NOTE_SECTION).unwrap();
            assert_eq!(section.kind(), SectionKind::Note);
            assert!(matches!(
                section.flags(),
                SectionFlags::Elf { sh_flags } if sh_flags & u64::from(elf::SHF_ALLOC) != 0
            ));
            assert_eq!(jit_exports::note::read(&*bytes).unwrap(), Some(note()));
        }
    }

    #[test]
    fn a_name_the_note_cannot_hold_is_an_error_naming_it() {
        let mut bad = note();
        bad.symbols[0].library = "tab\there".into();
        let err = note_object(&SUPPORTED_TARGETS[0], &bad).unwrap_err();
        assert!(matches!(err, Error::NoteUnencodable(_)), "{err:?}");
        assert!(err.to_string().contains("tab\\there"), "{err}");
    }
}
