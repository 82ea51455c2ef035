//! The ELF classes the reader is instantiated for (32- and 64-bit, either byte order), and the
//! one thing generic code cannot do with object's types: make a section header.

use object::elf;
use object::read::elf::FileHeader;
use object::{Endianness, U32, U64};

/// One table found through the dynamic section, located in the file: what a section header
/// would say of it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Located {
    pub(super) sh_type: u32,
    pub(super) offset: u64,
    pub(super) size: u64,
    pub(super) link: u32,
    pub(super) entsize: u64,
}

/// The ELF classes this reader is instantiated for, and the one thing generic code cannot do
/// with object's types: make a section header.
pub(super) trait ElfClass: FileHeader<Endian = Endianness> {
    fn section_header(endian: Endianness, table: &Located) -> Option<Self::SectionHeader>;
}

impl ElfClass for elf::FileHeader64<Endianness> {
    fn section_header(endian: Endianness, t: &Located) -> Option<elf::SectionHeader64<Endianness>> {
        Some(elf::SectionHeader64 {
            sh_name: U32::new(endian, 0),
            sh_type: U32::new(endian, t.sh_type),
            sh_flags: U64::new(endian, 0),
            sh_addr: U64::new(endian, 0),
            sh_offset: U64::new(endian, t.offset),
            sh_size: U64::new(endian, t.size),
            sh_link: U32::new(endian, t.link),
            sh_info: U32::new(endian, 0),
            sh_addralign: U64::new(endian, 0),
            sh_entsize: U64::new(endian, t.entsize),
        })
    }
}

impl ElfClass for elf::FileHeader32<Endianness> {
    fn section_header(endian: Endianness, t: &Located) -> Option<elf::SectionHeader32<Endianness>> {
        let word = |v: u64| u32::try_from(v).ok().map(|v| U32::new(endian, v));
        Some(elf::SectionHeader32 {
            sh_name: U32::new(endian, 0),
            sh_type: U32::new(endian, t.sh_type),
            sh_flags: U32::new(endian, 0),
            sh_addr: U32::new(endian, 0),
            sh_offset: word(t.offset)?,
            sh_size: word(t.size)?,
            sh_link: U32::new(endian, t.link),
            sh_info: U32::new(endian, 0),
            sh_addralign: U32::new(endian, 0),
            sh_entsize: word(t.entsize)?,
        })
    }
}
