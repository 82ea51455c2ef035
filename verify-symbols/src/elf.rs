//! One ELF file, read once: the requested names in `.dynsym` and `.symtab` (one pass over each),
//! the dynamic section and the program headers.

use std::collections::HashMap;

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, Sym};
use object::{Endianness, FileKind};

/// How a name appears in one symbol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) defined: bool,
    pub(crate) bind: u8,
    pub(crate) visibility: u8,
}

impl Entry {
    /// Defined, global or weak, default or protected: what `dlsym` can return.
    pub(crate) fn is_exported(self) -> bool {
        self.defined
            && matches!(
                self.bind,
                elf::STB_GLOBAL | elf::STB_WEAK | elf::STB_GNU_UNIQUE
            )
            && matches!(self.visibility, elf::STV_DEFAULT | elf::STV_PROTECTED)
    }

    /// Defined but never visible outside its module: hidden/internal, or local binding.
    pub(crate) fn is_hidden(self) -> bool {
        self.defined
            && (matches!(self.visibility, elf::STV_HIDDEN | elf::STV_INTERNAL)
                || self.bind == elf::STB_LOCAL)
    }

    /// A better entry for the same name wins: defined over undefined, global over local.
    fn rank(self) -> u8 {
        u8::from(self.defined) * 2 + u8::from(self.bind != elf::STB_LOCAL)
    }
}

/// Where one requested name was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) dynsym: Option<Entry>,
    pub(crate) symtab: Option<Entry>,
}

/// What kind of ELF object this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    Executable,
    SharedLibrary,
    Other,
}

/// Everything verify-symbols needs from one file. Strings borrow the mapped file.
#[derive(Debug)]
pub(crate) struct ElfInfo<'data> {
    pub(crate) kind: ObjectKind,
    pub(crate) pie: bool,
    pub(crate) bind_now: bool,
    pub(crate) relro: bool,
    /// A PT_DYNAMIC segment and a `.dynsym`: something a dynamic loader and `dlsym` can use.
    pub(crate) dynamic: bool,
    pub(crate) needed: Vec<&'data str>,
    pub(crate) runpath: Vec<&'data str>,
    pub(crate) rpath: Vec<&'data str>,
}

/// Reads `data` (a whole file), looking up `seen`'s keys in its symbol tables.
pub(crate) fn read<'data>(
    data: &'data [u8],
    seen: &mut HashMap<&str, Seen>,
) -> Result<ElfInfo<'data>, String> {
    match FileKind::parse(data).map_err(|e| e.to_string())? {
        FileKind::Elf64 => read_as::<elf::FileHeader64<Endianness>>(data, seen),
        FileKind::Elf32 => read_as::<elf::FileHeader32<Endianness>>(data, seen),
        other => Err(format!("not an ELF file (looks like {other:?})")),
    }
}

fn read_as<'data, Elf: FileHeader<Endian = Endianness>>(
    data: &'data [u8],
    seen: &mut HashMap<&str, Seen>,
) -> Result<ElfInfo<'data>, String> {
    fn err(what: &'static str) -> impl Fn(object::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    let header = Elf::parse(data).map_err(err("ELF header"))?;
    let endian = header.endian().map_err(err("ELF header"))?;
    let sections = header
        .sections(endian, data)
        .map_err(err("section headers"))?;
    let segments = header
        .program_headers(endian, data)
        .map_err(err("program headers"))?;

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
    };
    let mut interp = false;
    let mut pt_dynamic = false;
    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_INTERP => interp = true,
            elf::PT_GNU_RELRO => info.relro = true,
            elf::PT_DYNAMIC => pt_dynamic = true,
            _ => {}
        }
    }

    let mut flags_1 = 0u64;
    if let Some((entries, link)) = sections.dynamic(endian, data).map_err(err(".dynamic"))? {
        let strings = sections
            .strings(endian, data, link)
            .map_err(err(".dynstr"))?;
        for entry in entries {
            let Some(tag) = entry.tag32(endian) else {
                continue;
            };
            let text = || -> Result<&'data str, String> {
                let bytes = entry
                    .string(endian, strings)
                    .map_err(err(".dynamic string"))?;
                std::str::from_utf8(bytes).map_err(|_| ".dynamic string is not UTF-8".to_owned())
            };
            match tag {
                elf::DT_NEEDED => info.needed.push(text()?),
                elf::DT_RUNPATH => info.runpath.extend(text()?.split(':')),
                elf::DT_RPATH => info.rpath.extend(text()?.split(':')),
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
    info.bind_now |= flags_1 & u64::from(elf::DF_1_NOW) != 0;
    // An executable is PIE when it is ET_DYN and is started by an interpreter (or says so).
    if info.kind == ObjectKind::SharedLibrary && (interp || flags_1 & u64::from(elf::DF_1_PIE) != 0)
    {
        info.kind = ObjectKind::Executable;
        info.pie = true;
    }

    for (table_type, is_dynsym) in [(elf::SHT_DYNSYM, true), (elf::SHT_SYMTAB, false)] {
        let table = sections
            .symbols(endian, data, table_type)
            .map_err(err(if is_dynsym { ".dynsym" } else { ".symtab" }))?;
        if is_dynsym {
            info.dynamic = pt_dynamic && !table.is_empty();
        }
        let strings = table.strings();
        for symbol in table.iter() {
            // A name that does not read is skipped: it cannot be one we look for.
            let Ok(name) = symbol.name(endian, strings) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let Some(slot) = seen.get_mut(name) else {
                continue;
            };
            let entry = Entry {
                defined: !symbol.is_undefined(endian),
                bind: symbol.st_bind(),
                visibility: symbol.st_visibility(),
            };
            let current = if is_dynsym {
                &mut slot.dynsym
            } else {
                &mut slot.symtab
            };
            if current.is_none_or(|c| entry.rank() > c.rank()) {
                *current = Some(entry);
            }
        }
    }
    Ok(info)
}
