//! The file as the loader maps it: the ELF header, the program headers, the dynamic section
//! from `PT_DYNAMIC`, and what they say (needed libraries, search paths, flags).

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, ReadRef, StringTable};

use super::class::ElfClass;
use super::{ElfInfo, ObjectKind, malformed};
use crate::{Error, ErrorKind, Result};

/// The file offset of `size` bytes at virtual address `vaddr`, through the `PT_LOAD` segments.
pub(super) fn offset_of<Elf: FileHeader<Endian = Endianness>>(
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    vaddr: u64,
    size: u64,
) -> Option<u64> {
    segments.iter().find_map(|s| {
        if s.p_type(endian) != elf::PT_LOAD {
            return None;
        }
        let start: u64 = s.p_vaddr(endian).into();
        let filesz: u64 = s.p_filesz(endian).into();
        let end = start.checked_add(filesz)?;
        let last = vaddr.checked_add(size)?;
        if vaddr >= start && last <= end {
            let offset: u64 = s.p_offset(endian).into();
            offset.checked_add(vaddr - start)
        } else {
            None
        }
    })
}

/// The dynamic section's entries, their strings, and what they say.
pub(super) struct Dynamic<'data, Elf: FileHeader, R: ReadRef<'data>> {
    pub(super) entries: &'data [Elf::Dyn],
    pub(super) strtab: StringTable<'data, R>,
    /// Where the string table is in the file, and its size.
    pub(super) strtab_at: (u64, u64),
}

impl<'data, Elf: ElfClass, R: ReadRef<'data>> Dynamic<'data, Elf, R> {
    pub(super) fn value(&self, endian: Endianness, tag: u32) -> Option<u64> {
        self.entries
            .iter()
            .find(|e| e.tag32(endian) == Some(tag))
            .map(|e| e.d_val(endian).into())
    }
}

/// What `read_as` and `definitions_as` share: the header, the segments, the dynamic section.
pub(super) struct Parsed<'data, Elf: FileHeader, R: ReadRef<'data>> {
    pub(super) header: &'data Elf,
    pub(super) endian: Endianness,
    pub(super) segments: &'data [Elf::ProgramHeader],
    pub(super) dynamic: Option<Dynamic<'data, Elf, R>>,
}

pub(super) fn parse<'data, Elf: ElfClass, R: ReadRef<'data>>(
    data: R,
) -> Result<Parsed<'data, Elf, R>> {
    let header = Elf::parse(data).map_err(malformed("ELF header"))?;
    let endian = header.endian().map_err(malformed("ELF header"))?;
    let segments = header
        .program_headers(endian, data)
        .map_err(malformed("program headers"))?;
    let file_size = data
        .len()
        .map_err(|()| Error::new(ErrorKind::Malformed, "cannot read the file's size"))?;
    for (index, segment) in segments.iter().enumerate() {
        if segment.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        // The loader maps each PT_LOAD from the file: past the end there is nothing to map and
        // the process faults on first touch. A truncated file cannot run.
        let offset: u64 = segment.p_offset(endian).into();
        let size: u64 = segment.p_filesz(endian).into();
        if offset.checked_add(size).is_none_or(|end| end > file_size) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "truncated or corrupt: PT_LOAD segment {index} ends past the end of the file \
                     ({file_size} bytes), where the loader would map it"
                ),
            ));
        }
    }
    let mut dynamic = None;
    if let Some(segment) = segments
        .iter()
        .find(|s| s.p_type(endian) == elf::PT_DYNAMIC)
    {
        let entries = segment
            .dynamic(endian, data)
            .map_err(malformed("PT_DYNAMIC"))?
            .unwrap_or(&[]);
        let value = |tag: u32| {
            entries
                .iter()
                .find(|e| e.tag32(endian) == Some(tag))
                .map(|e| -> u64 { e.d_val(endian).into() })
        };
        let located = value(elf::DT_STRTAB).and_then(|vaddr| {
            let size = value(elf::DT_STRSZ)?;
            let at = offset_of::<Elf>(segments, endian, vaddr, size)?;
            Some((at, size))
        });
        let Some((at, size)) = located else {
            return Err(Error::new(
                ErrorKind::Malformed,
                "PT_DYNAMIC: no readable string table (DT_STRTAB, DT_STRSZ)",
            ));
        };
        let end = at
            .checked_add(size)
            .ok_or_else(|| Error::new(ErrorKind::Malformed, "PT_DYNAMIC: DT_STRSZ overflows"))?;
        dynamic = Some(Dynamic {
            entries,
            strtab: StringTable::new(data, at, end),
            strtab_at: (at, size),
        });
    }
    Ok(Parsed {
        header,
        endian,
        segments,
        dynamic,
    })
}

/// Everything but the symbols: the dynamic section's entries, the program headers' flags.
pub(super) fn loader_info<'data, Elf: ElfClass, R: ReadRef<'data>>(
    parsed: &Parsed<'data, Elf, R>,
    data: R,
) -> Result<ElfInfo<'data>> {
    let endian = parsed.endian;
    let header = parsed.header;
    let mut info = ElfInfo {
        kind: match header.e_type(endian) {
            elf::ET_EXEC => ObjectKind::Executable,
            elf::ET_DYN => ObjectKind::SharedLibrary,
            _ => ObjectKind::Other,
        },
        pie: false,
        bind_now: false,
        relro: false,
        dynamic: false,
        needed: Vec::new(),
        runpath: Vec::new(),
        rpath: Vec::new(),
        soname: None,
        interp: None,
        nodeflib: false,
        hashless: false,
        refused: None,
        machine: header.e_machine(endian),
        class64: header.is_class_64(),
    };
    let mut interp = false;
    for segment in parsed.segments {
        match segment.p_type(endian) {
            elf::PT_INTERP => {
                interp = true;
                info.interp = segment
                    .data(endian, data)
                    .ok()
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .map(|s| s.trim_end_matches('\0'));
            }
            elf::PT_GNU_RELRO => info.relro = true,
            _ => {}
        }
    }
    let mut flags_1 = 0u64;
    if let Some(dynamic) = &parsed.dynamic {
        for entry in dynamic.entries {
            let Some(tag) = entry.tag32(endian) else {
                continue;
            };
            let text = || -> Result<&'data str> {
                let bad = |what: &str| {
                    Error::new(ErrorKind::Malformed, format!("PT_DYNAMIC: a string {what}"))
                };
                let start = u32::try_from(Into::<u64>::into(entry.d_val(endian)))
                    .map_err(|_| bad("offset is out of range"))?;
                let text = dynamic
                    .strtab
                    .get(start)
                    .map_err(|()| bad("is past the string table or not terminated"))?;
                std::str::from_utf8(text).map_err(|_| bad("is not UTF-8"))
            };
            match tag {
                elf::DT_NEEDED => info.needed.push(text()?),
                elf::DT_RUNPATH => info.runpath.extend(text()?.split(':')),
                elf::DT_RPATH => info.rpath.extend(text()?.split(':')),
                elf::DT_SONAME => info.soname = Some(text()?),
                elf::DT_BIND_NOW => info.bind_now = true,
                elf::DT_FLAGS => {
                    let value: u64 = entry.d_val(endian).into();
                    info.bind_now |= value & u64::from(elf::DF_BIND_NOW) != 0;
                }
                elf::DT_FLAGS_1 => flags_1 = entry.d_val(endian).into(),
                _ => {}
            }
        }
    }
    // glibc ignores DT_RPATH when DT_RUNPATH is present (get-dynamic-info.h).
    if !info.runpath.is_empty() {
        info.rpath.clear();
    }
    info.nodeflib = flags_1 & u64::from(elf::DF_1_NODEFLIB) != 0;
    info.bind_now |= flags_1 & u64::from(elf::DF_1_NOW) != 0;
    // An executable is PIE when it is ET_DYN and is started by an interpreter (or says so).
    if info.kind == ObjectKind::SharedLibrary && (interp || flags_1 & u64::from(elf::DF_1_PIE) != 0)
    {
        info.kind = ObjectKind::Executable;
        info.pie = true;
    }
    Ok(info)
}
