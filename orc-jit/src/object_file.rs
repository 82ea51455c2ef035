//! What the host checks in a relocatable object before ORC links it.
//!
//! Every module reaches ORC as an ELF relocatable object, compiled in this process or by a
//! worker (isolate.rs), and the JIT linkers trust what they are given: a section that reaches
//! past the end of the file, a relocation outside its section or of a type RuntimeDyld does not
//! know (it calls `report_fatal_error`) crash the host; a 6 GiB `.bss` declared by a 150-byte
//! object is zero-filled; an unwind entry (FDE) covering memory outside the module's code is
//! registered with the process's unwinder, which then misreads the host's own frames (issue 21,
//! points 3, 4 and 6). [`inspect`] reads the object with the `object` crate, refuses with a
//! reason anything the linkers or the unwinder could misread, and says what the object defines
//! and needs. What it accepts is what LLVM's code generator emits for this host; its time and
//! memory are linear in the object's size, whatever the bytes.
//!
//! Scope: this makes a broken or lying compiler an error instead of a crash while linking. It
//! does not make the code inside the object safe to call.

use std::collections::HashMap;

use object::LittleEndian;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, Rela as _, SectionHeader, Sym as _};
use object::read::{SectionIndex, SymbolIndex};

use Handling::{DebugOnly, Linked, Refused};

type Header = elf::FileHeader64<LittleEndian>;
type Symbols<'data> = object::read::elf::SymbolTable<'data, Header, &'data [u8]>;

const ENDIAN: LittleEndian = LittleEndian;

/// What the host may spend on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectLimits {
    /// Memory the host may allocate to hold and link the object
    /// (see [`ObjectInfo::allocated_bytes`]).
    pub(crate) max_bytes: u64,
}

/// What an accepted object defines, needs and holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectInfo {
    /// Global and weak symbols the object defines: in a section, absolute (`SHN_ABS`) or common.
    pub(crate) defined: Vec<DefinedSymbol>,
    /// Global and weak symbols the object uses but does not define, except
    /// `_GLOBAL_OFFSET_TABLE_`, which the JIT linker provides.
    pub(crate) undefined: Vec<UndefinedSymbol>,
    /// The most the host allocates for the object: the file itself, plus each loaded
    /// (`SHF_ALLOC`) section's size and alignment padding (`.bss` included), plus the common
    /// symbols. The file's size also covers the linker's own GOT and stub entries: at most one
    /// of 16 bytes or less per relocation, and every relocation takes 24 bytes of the file.
    pub(crate) allocated_bytes: u64,
    /// Every function symbol with a section, local ones too (for profiler maps).
    pub(crate) code: Vec<CodeSymbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolKind {
    /// `STT_FUNC`, always in an executable section (anything else is refused).
    Function,
    /// `STT_OBJECT` or a common symbol.
    Data,
    /// `STT_NOTYPE` and the like: a label, data or code.
    Other,
}

/// How a defined symbol binds: `STB_GLOBAL`, or `STB_WEAK` (a common symbol counts as weak:
/// the first definition of its name is the one used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    Global,
    Weak,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefinedSymbol {
    pub(crate) name: String,
    pub(crate) kind: SymbolKind,
    /// Strong for `STB_GLOBAL`; weak for `STB_WEAK` and for common symbols, which ORC treats
    /// as weak.
    pub(crate) binding: Binding,
    /// Hidden or internal visibility.
    pub(crate) hidden: bool,
    /// The section index; `None` for absolute and common symbols.
    pub(crate) section: Option<usize>,
    /// Its size (`st_size`).
    pub(crate) size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UndefinedSymbol {
    pub(crate) name: String,
    /// `STB_WEAK`: may stay unresolved (null).
    pub(crate) weak: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeSymbol {
    pub(crate) name: String,
    pub(crate) section: usize,
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// The largest section or common-symbol alignment accepted: 64 KiB, the largest page size of
/// the hosts orc-jit runs on (x86-64: 4 KiB; aarch64: 4, 16 or 64 KiB). Code and data need no
/// more, and the JIT linkers pad to the alignment (RuntimeDyld allocates size + alignment), so
/// a larger one is memory the limit does not see, and near 2^63 address arithmetic that
/// overflows in the linker.
const MAX_ALIGN: u64 = 1 << 16;

/// How many bytes of names may be read per byte of object. LLVM's string tables share
/// suffixes, so names may add up to a little more than their table, never to many times the
/// object; a crafted table whose names all overlap would otherwise cost time and memory
/// quadratic in its size.
const NAME_BYTES_PER_OBJECT_BYTE: u64 = 16;

/// What the JIT linkers do with one relocation type.
#[derive(Clone, Copy)]
enum Handling {
    /// Handled by both RuntimeDyld and JITLink in any section.
    Linked,
    /// Seen only in debug information, which the JIT does not load (RuntimeDyld resolves
    /// them when told to process every section).
    DebugOnly,
    /// Refused, for this reason.
    Refused(&'static str),
}

struct RelocationType {
    code: u32,
    name: &'static str,
    /// Bytes the relocation patches.
    width: u64,
    handling: Handling,
}

/// One entry of a relocation table: the `elf` constant, named by itself.
macro_rules! relocation {
    ($name:ident, $width:expr, $handling:expr) => {
        RelocationType {
            code: elf::$name,
            name: stringify!($name),
            width: $width,
            handling: $handling,
        }
    };
}
/// What a host's objects look like.
struct Machine {
    e_machine: u16,
    name: &'static str,
    /// Relocation types LLVM's code generator (and its assembler, for `module asm`) emits for
    /// this machine; any other type is refused.
    relocations: &'static [RelocationType],
    none: u32,
    /// The types an FDE's `pc_begin` carries for each pointer encoding.
    pc_relative_32: u32,
    pc_relative_64: u32,
    absolute_64: u32,
    /// Relocations the linker may relax by rewriting their instruction, with how many bytes of
    /// it come before the field.
    relaxable: &'static [(u32, u64)],
}

const THREAD_LOCAL: &str = "a thread-local relocation: the JIT compiles thread-locals to \
                            emulated TLS, so the compiler that made this object is broken";
const RTDYLD_ABORTS: &str = "a type RuntimeDyld does not implement (it aborts the process)";
const NOT_LINKED: &str = "a type neither JIT linker implements";

/// x86-64. RuntimeDyld (LLVM 14's default) aborts on a type it does not implement; JITLink
/// (the later default) returns an error. Kept: what LLVM emits for the small, medium and large
/// code models, PIC or not (checked with clang 14 and 22), that RuntimeDyld resolves.
/// `GOTPC32` (LLVM 14, medium PIC) is not in LLVM 14's JITLink, which refuses it cleanly.
const X86_64: Machine = Machine {
    e_machine: elf::EM_X86_64,
    name: "x86-64",
    relocations: &[
        relocation!(R_X86_64_NONE, 0, Linked),
        relocation!(R_X86_64_64, 8, Linked),
        relocation!(R_X86_64_PC32, 4, Linked),
        relocation!(R_X86_64_PLT32, 4, Linked),
        relocation!(R_X86_64_32, 4, Linked),
        relocation!(R_X86_64_32S, 4, Linked),
        relocation!(R_X86_64_PC64, 8, Linked),
        relocation!(R_X86_64_GOTPCREL, 4, Linked),
        relocation!(R_X86_64_GOTPCRELX, 4, Linked),
        relocation!(R_X86_64_REX_GOTPCRELX, 4, Linked),
        relocation!(R_X86_64_GOTPC32, 4, Linked),
        relocation!(R_X86_64_GOTPC64, 8, Linked),
        relocation!(R_X86_64_GOTOFF64, 8, Linked),
        relocation!(R_X86_64_GOT64, 8, Linked),
        relocation!(R_X86_64_DTPOFF32, 4, DebugOnly),
        relocation!(R_X86_64_DTPOFF64, 8, DebugOnly),
        relocation!(R_X86_64_GOTPCREL64, 8, Refused(RTDYLD_ABORTS)),
        relocation!(R_X86_64_PLTOFF64, 8, Refused(RTDYLD_ABORTS)),
        relocation!(R_X86_64_PC16, 2, Refused(RTDYLD_ABORTS)),
        relocation!(R_X86_64_SIZE32, 4, Refused(NOT_LINKED)),
        relocation!(R_X86_64_SIZE64, 8, Refused(NOT_LINKED)),
        relocation!(R_X86_64_16, 2, Refused(NOT_LINKED)),
        relocation!(R_X86_64_8, 1, Refused(NOT_LINKED)),
        relocation!(R_X86_64_PC8, 1, Refused(NOT_LINKED)),
        relocation!(R_X86_64_TPOFF32, 4, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_TPOFF64, 8, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_GOTTPOFF, 4, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_TLSGD, 4, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_TLSLD, 4, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_DTPMOD64, 8, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_GOTPC32_TLSDESC, 4, Refused(THREAD_LOCAL)),
        relocation!(R_X86_64_TLSDESC_CALL, 0, Refused(THREAD_LOCAL)),
    ],
    none: elf::R_X86_64_NONE,
    pc_relative_32: elf::R_X86_64_PC32,
    pc_relative_64: elf::R_X86_64_PC64,
    absolute_64: elf::R_X86_64_64,
    relaxable: &[
        (elf::R_X86_64_GOTPCRELX, 2),
        (elf::R_X86_64_REX_GOTPCRELX, 3),
    ],
};

/// AArch64, the other host orc-jit may run on: the types LLVM emits for code and data
/// (small and large code models, GOT accesses) that both RuntimeDyld and JITLink implement,
/// from their sources. Not exercised on the x86-64 machines this is tested on.
const AARCH64: Machine = Machine {
    e_machine: elf::EM_AARCH64,
    name: "aarch64",
    relocations: &[
        relocation!(R_AARCH64_NONE, 0, Linked),
        relocation!(R_AARCH64_ABS64, 8, Linked),
        relocation!(R_AARCH64_ABS32, 4, Linked),
        relocation!(R_AARCH64_PREL64, 8, Linked),
        relocation!(R_AARCH64_PREL32, 4, Linked),
        relocation!(R_AARCH64_CALL26, 4, Linked),
        relocation!(R_AARCH64_JUMP26, 4, Linked),
        relocation!(R_AARCH64_CONDBR19, 4, Linked),
        relocation!(R_AARCH64_TSTBR14, 4, Linked),
        relocation!(R_AARCH64_LD_PREL_LO19, 4, Linked),
        relocation!(R_AARCH64_ADR_PREL_PG_HI21, 4, Linked),
        relocation!(R_AARCH64_ADD_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_LDST8_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_LDST16_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_LDST32_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_LDST64_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_LDST128_ABS_LO12_NC, 4, Linked),
        relocation!(R_AARCH64_MOVW_UABS_G0_NC, 4, Linked),
        relocation!(R_AARCH64_MOVW_UABS_G1_NC, 4, Linked),
        relocation!(R_AARCH64_MOVW_UABS_G2_NC, 4, Linked),
        relocation!(R_AARCH64_MOVW_UABS_G3, 4, Linked),
        relocation!(R_AARCH64_ADR_GOT_PAGE, 4, Linked),
        relocation!(R_AARCH64_LD64_GOT_LO12_NC, 4, Linked),
    ],
    none: elf::R_AARCH64_NONE,
    pc_relative_32: elf::R_AARCH64_PREL32,
    pc_relative_64: elf::R_AARCH64_PREL64,
    absolute_64: elf::R_AARCH64_ABS64,
    relaxable: &[],
};

/// The objects this host links: its own machine only.
const HOST: Option<Machine> = if cfg!(target_arch = "x86_64") {
    Some(X86_64)
} else if cfg!(target_arch = "aarch64") {
    Some(AARCH64)
} else {
    None
};

/// The symbol the JIT linkers define themselves.
const GOT_SYMBOL: &str = "_GLOBAL_OFFSET_TABLE_";

/// Checks that `object` is an ELF relocatable object for this host that the JIT linkers can
/// link without reading or writing outside it, whose unwind entries cover only its own code,
/// and that needs no more than `limits` allows; then says what it defines and needs.
///
/// Never panics, on any bytes. The error is one sentence naming what is wrong.
pub(crate) fn inspect(object: &[u8], limits: &ObjectLimits) -> Result<ObjectInfo, String> {
    let Some(machine) = &HOST else {
        return Err("the JIT links objects only on x86-64 and aarch64 hosts".into());
    };
    let file_size = object.len() as u64;
    if file_size > limits.max_bytes {
        return Err(format!(
            "the object is {file_size} bytes, over the limit of {} bytes for one module",
            limits.max_bytes
        ));
    }
    let file = open(object, machine)?;
    let mut names = NameBudget::new(file_size);
    let sections = check_sections(&file, object, machine, &mut names)?;
    let allocated_bytes = sections.iter().fold(file_size, |total, s| {
        if s.loaded() {
            total
                .saturating_add(s.size)
                .saturating_add(s.align.saturating_sub(1))
        } else {
            total
        }
    });
    // Before the symbols and relocations are read: a huge `.bss` is refused here, never allocated.
    over_limit(allocated_bytes, limits)?;
    let symbols = file.elf_symbol_table();
    let mut info = check_symbols(symbols, &sections, &mut names)?;
    info.allocated_bytes = allocated_bytes;
    let unwind = check_relocations(&file, object, symbols, &sections, machine)?;
    for (index, section) in sections.iter().enumerate() {
        if section.name == ".eh_frame" {
            let relocations = unwind.get(&index).map_or(&[][..], Vec::as_slice);
            check_eh_frame(object, section, relocations, symbols, &sections, machine)?;
        }
    }
    Ok(info)
}

fn over_limit(allocated: u64, limits: &ObjectLimits) -> Result<(), String> {
    if allocated > limits.max_bytes {
        return Err(format!(
            "linking the object takes {allocated} bytes (the file, its sections with .bss, its \
             common symbols), over the limit of {} bytes for one module",
            limits.max_bytes
        ));
    }
    Ok(())
}

/// The ELF header: a 64-bit little-endian relocatable object for this host's machine.
fn open<'data>(
    object: &'data [u8],
    machine: &Machine,
) -> Result<ElfFile64<'data, LittleEndian>, String> {
    match object::FileKind::parse(object) {
        Ok(object::FileKind::Elf64) => {}
        Ok(kind) => return Err(format!("the object is not a 64-bit ELF file but {kind:?}")),
        Err(_) => return Err("the object is not an ELF file (no ELF header)".into()),
    }
    let header = Header::parse(object)
        .map_err(|e| format!("the object's ELF header cannot be read ({e})"))?;
    if !header.is_little_endian() {
        return Err("the object is big-endian; this host is little-endian".into());
    }
    let e_type = header.e_type(ENDIAN);
    if e_type != elf::ET_REL {
        return Err(format!(
            "the object is not a relocatable object (ELF type {e_type}, not ET_REL)"
        ));
    }
    let e_machine = header.e_machine(ENDIAN);
    if e_machine != machine.e_machine {
        return Err(format!(
            "the object is for ELF machine {e_machine}, not this host's {} ({})",
            machine.name, machine.e_machine
        ));
    }
    ElfFile64::<LittleEndian>::parse(object)
        .map_err(|e| format!("the object's sections or symbols cannot be read ({e})"))
}

/// Bounds the bytes of names read (see [`NAME_BYTES_PER_OBJECT_BYTE`]).
struct NameBudget(u64);

impl NameBudget {
    fn new(file_size: u64) -> NameBudget {
        NameBudget(file_size.saturating_mul(NAME_BYTES_PER_OBJECT_BYTE))
    }

    /// Reads one name: valid UTF-8, within the budget.
    fn read<'data>(
        &mut self,
        name: &'data [u8],
        what: impl Fn() -> String,
    ) -> Result<&'data str, String> {
        // The terminating NUL was scanned too.
        let cost = (name.len() as u64).saturating_add(1);
        if cost > self.0 {
            return Err(format!(
                "the object's names add up to more than {NAME_BYTES_PER_OBJECT_BYTE} times its \
                 size (string table entries that overlap), at {}",
                what()
            ));
        }
        self.0 -= cost;
        std::str::from_utf8(name).map_err(|_| format!("the name of {} is not UTF-8", what()))
    }
}

/// One section header, as checked.
struct SectionInfo<'data> {
    name: &'data str,
    index: usize,
    sh_type: u32,
    flags: u64,
    offset: u64,
    size: u64,
    align: u64,
    info: u32,
}

impl SectionInfo<'_> {
    fn loaded(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }

    fn executable(&self) -> bool {
        self.loaded() && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }

    /// Whether the section has bytes in the file.
    fn has_contents(&self) -> bool {
        self.sh_type != elf::SHT_NOBITS && self.sh_type != elf::SHT_NULL
    }

    fn label(&self) -> String {
        if self.name.is_empty() {
            format!("section {}", self.index)
        } else {
            self.name.to_owned()
        }
    }

    fn contents<'data>(&self, object: &'data [u8]) -> &'data [u8] {
        if !self.has_contents() {
            return &[];
        }
        // The range was checked against the file in check_sections.
        usize::try_from(self.offset)
            .ok()
            .zip(usize::try_from(self.size).ok())
            .and_then(|(start, size)| object.get(start..start.checked_add(size)?))
            .unwrap_or(&[])
    }
}

/// Section headers: ranges inside the file, valid links, sane alignment, names, no TLS.
fn check_sections<'data>(
    file: &ElfFile64<'data, LittleEndian>,
    object: &'data [u8],
    machine: &Machine,
    names: &mut NameBudget,
) -> Result<Vec<SectionInfo<'data>>, String> {
    let table = file.elf_section_table();
    let count = table.len();
    let file_size = object.len() as u64;
    let mut sections = Vec::with_capacity(count);
    let mut symbol_tables = 0;
    for (SectionIndex(index), header) in table.enumerate() {
        let raw_name = table.section_name(ENDIAN, header).map_err(|_| {
            format!("the name of section {index} is outside the section name table")
        })?;
        let name = names.read(raw_name, || format!("section {index}"))?;
        let section = SectionInfo {
            name,
            index,
            sh_type: header.sh_type(ENDIAN),
            flags: header.sh_flags(ENDIAN),
            offset: header.sh_offset(ENDIAN),
            size: header.sh_size(ENDIAN),
            align: header.sh_addralign(ENDIAN),
            info: header.sh_info(ENDIAN),
        };
        let label = section.label();
        // A relocatable object's sections are placed by the linker: an address set here is
        // not the object's to give, and JITLink reads it as one.
        if header.sh_addr(ENDIAN) != 0 {
            return Err(format!(
                "{label} has an address ({:#x}); a relocatable object's sections have none",
                header.sh_addr(ENDIAN)
            ));
        }
        // The JIT linkers register a section by this name with the process's unwinder, loaded
        // or not: only a loaded one is checked (check_eh_frame) and may be there.
        if section.name == ".eh_frame" && !section.loaded() {
            return Err(format!(
                "{label} is not loaded (no SHF_ALLOC), but the JIT linkers would register it \
                 as unwind information"
            ));
        }
        match section.sh_type {
            elf::SHT_REL => {
                return Err(format!(
                    "{label} holds relocations without addends (SHT_REL), which the JIT linkers \
                     do not read on {}",
                    machine.name
                ));
            }
            elf::SHT_CREL
            | elf::SHT_RELR
            | elf::SHT_DYNSYM
            | elf::SHT_DYNAMIC
            | elf::SHT_HASH
            | elf::SHT_GNU_HASH => {
                return Err(format!(
                    "{label} is of type {:#x}, which the JIT linkers do not read in a \
                     relocatable object",
                    section.sh_type
                ));
            }
            _ => {}
        }
        if section.has_contents()
            && section
                .offset
                .checked_add(section.size)
                .is_none_or(|end| end > file_size)
        {
            return Err(format!(
                "{label} (offset {:#x}, {:#x} bytes) reaches past the end of the {file_size}-byte \
                 object",
                section.offset, section.size
            ));
        }
        if section.align != 0 && !section.align.is_power_of_two() || section.align > MAX_ALIGN {
            return Err(format!(
                "{label} asks for an alignment of {:#x}, which is not a power of two of at most \
                 {MAX_ALIGN:#x}",
                section.align
            ));
        }
        let link = header.sh_link(ENDIAN) as usize;
        if link >= count {
            return Err(format!(
                "{label} links to section {link}, but the object has {count} sections"
            ));
        }
        let info_is_section =
            section.sh_type == elf::SHT_RELA || section.flags & u64::from(elf::SHF_INFO_LINK) != 0;
        let info = section.info as usize;
        if info_is_section && info >= count {
            return Err(format!(
                "{label} refers to section {info}, but the object has {count} sections"
            ));
        }
        if section.flags & u64::from(elf::SHF_TLS) != 0 {
            return Err(format!(
                "{label} holds thread-local data (SHF_TLS): the JIT compiles thread-locals to \
                 emulated TLS, so the compiler that made this object is broken"
            ));
        }
        if section.loaded() && section.flags & u64::from(elf::SHF_COMPRESSED) != 0 {
            return Err(format!(
                "{label} is loaded and compressed, which no linker reads"
            ));
        }
        // The linkers read these as arrays of their entry size; a different size or a partial
        // entry would make them see other entries than the ones checked here.
        let entry = match section.sh_type {
            elf::SHT_SYMTAB => {
                symbol_tables += 1;
                Some(size_of::<elf::Sym64<LittleEndian>>())
            }
            elf::SHT_RELA => Some(size_of::<elf::Rela64<LittleEndian>>()),
            elf::SHT_SYMTAB_SHNDX | elf::SHT_GROUP => Some(4),
            _ => None,
        };
        if let Some(entry) = entry.map(|e| e as u64)
            && (header.sh_entsize(ENDIAN) != entry || !section.size.is_multiple_of(entry))
        {
            return Err(format!(
                "{label} has entries of {} bytes and a size of {:#x}; its entries are {entry} \
                 bytes",
                header.sh_entsize(ENDIAN),
                section.size
            ));
        }
        if section.sh_type == elf::SHT_STRTAB && section.size > 0 {
            // ELFFile (the JIT linkers' reader) refuses a string table without a final NUL.
            if section.contents(object).last() != Some(&0) {
                return Err(format!(
                    "{label} is a string table that does not end with a NUL"
                ));
            }
        }
        if section.sh_type == elf::SHT_GROUP
            && let Ok(Some((_, members))) = header.group(ENDIAN, object)
            && let Some(bad) = members
                .iter()
                .map(|m| m.get(ENDIAN) as usize)
                .find(|&m| m == 0 || m >= count)
        {
            return Err(format!(
                "{label} names section {bad} as a member, but the object has {count} sections"
            ));
        }
        sections.push(section);
    }
    if symbol_tables > 1 {
        return Err(format!(
            "the object has {symbol_tables} symbol tables; a relocatable object has one"
        ));
    }
    Ok(sections)
}

/// Where a symbol is.
#[derive(Clone, Copy)]
enum Place {
    Undefined,
    Absolute,
    Section(usize),
}

fn place(
    symbols: &Symbols<'_>,
    index: usize,
    symbol: &elf::Sym64<LittleEndian>,
    sections: &[SectionInfo<'_>],
) -> Result<Place, String> {
    let section = match symbol.st_shndx(ENDIAN) {
        elf::SHN_UNDEF => return Ok(Place::Undefined),
        elf::SHN_ABS => return Ok(Place::Absolute),
        // orc-jit's code generation makes no common symbols (lower.rs makes them weak), and
        // RuntimeDyld's handling of a symbol that claims to be one has crashed on bad input.
        elf::SHN_COMMON => {
            return Err(format!(
                "symbol {index} is a common symbol (SHN_COMMON), which orc-jit's compiler never \
                 makes"
            ));
        }
        elf::SHN_XINDEX => match symbols.shndx(ENDIAN, SymbolIndex(index)) {
            Some(section) if section != 0 => section as usize,
            _ => {
                return Err(format!(
                    "symbol {index} has an extended section index (SHN_XINDEX) but no valid \
                     entry in .symtab_shndx"
                ));
            }
        },
        reserved if reserved >= elf::SHN_LORESERVE => {
            return Err(format!(
                "symbol {index} is in the reserved section index {reserved:#x}, which the JIT \
                 linkers do not know"
            ));
        }
        section => usize::from(section),
    };
    match sections.get(section) {
        Some(s) if s.sh_type != elf::SHT_NULL => Ok(Place::Section(section)),
        _ => Err(format!(
            "symbol {index} is defined in section {section}, which does not exist"
        )),
    }
}

/// Symbols: names, kinds, places and bounds; what the object defines and needs.
fn check_symbols(
    symbols: &Symbols<'_>,
    sections: &[SectionInfo<'_>],
    names: &mut NameBudget,
) -> Result<ObjectInfo, String> {
    let mut info = ObjectInfo {
        defined: Vec::new(),
        undefined: Vec::new(),
        allocated_bytes: 0,
        code: Vec::new(),
    };
    let table = symbols.section().0;
    if table == 0 {
        return Ok(info);
    }
    // The linkers take the symbols before sh_info as local and the rest as global.
    let first_global = sections.get(table).map_or(0, |s| s.info as usize);
    if first_global > symbols.len() {
        return Err(format!(
            "the symbol table says its first global symbol is {first_global}, past its {} symbols",
            symbols.len()
        ));
    }
    if symbols.shndx_section().0 != 0 {
        let entries = sections
            .get(symbols.shndx_section().0)
            .map_or(0, |s| s.size / 4);
        if entries != symbols.len() as u64 {
            return Err(format!(
                ".symtab_shndx has {entries} entries for {} symbols",
                symbols.len()
            ));
        }
    }
    // A group's sh_info names its signature symbol.
    if let Some(group) = sections
        .iter()
        .find(|s| s.sh_type == elf::SHT_GROUP && s.info as usize >= symbols.len())
    {
        return Err(format!(
            "{} is signed by symbol {}, but the symbol table has {}",
            group.label(),
            group.info,
            symbols.len()
        ));
    }
    let mut global_names: Vec<&str> = Vec::new();
    for (SymbolIndex(index), symbol) in symbols.enumerate().skip(1) {
        let raw_name = symbols
            .symbol_name(ENDIAN, symbol)
            .map_err(|_| format!("the name of symbol {index} is outside the string table"))?;
        let name = names.read(raw_name, || format!("symbol {index}"))?;
        let label = || {
            if name.is_empty() {
                format!("symbol {index}")
            } else {
                format!("symbol {index} ({name})")
            }
        };
        let binding = symbol.st_bind();
        let local = binding == elf::STB_LOCAL;
        if local != (index < first_global) {
            return Err(format!(
                "{} is {} but the symbol table puts it among the {} symbols",
                label(),
                if local { "local" } else { "global" },
                if local { "global" } else { "local" }
            ));
        }
        match binding {
            elf::STB_LOCAL | elf::STB_GLOBAL | elf::STB_WEAK => {}
            other => {
                return Err(format!(
                    "{} has binding {other}, which the JIT linkers do not handle (only local, \
                     global and weak)",
                    label()
                ));
            }
        }
        let kind = symbol.st_type();
        match kind {
            elf::STT_TLS => {
                return Err(format!(
                    "{} is thread-local (STT_TLS): the JIT compiles thread-locals to emulated \
                     TLS, so the compiler that made this object is broken",
                    label()
                ));
            }
            elf::STT_GNU_IFUNC => {
                return Err(format!(
                    "{} is an indirect function (STT_GNU_IFUNC), which the JIT linkers do not \
                     resolve",
                    label()
                ));
            }
            elf::STT_NOTYPE
            | elf::STT_OBJECT
            | elf::STT_FUNC
            | elf::STT_SECTION
            | elf::STT_FILE => {}
            elf::STT_COMMON => {
                return Err(format!(
                    "{} is of type STT_COMMON, which orc-jit's compiler never makes",
                    label()
                ));
            }
            other => {
                return Err(format!("{} has the unknown symbol type {other}", label()));
            }
        }
        let value = symbol.st_value(ENDIAN);
        let size = symbol.st_size(ENDIAN);
        let place = place(symbols, index, symbol, sections)?;
        match place {
            Place::Section(section) => {
                let s = &sections[section];
                if value > s.size || value.checked_add(size).is_none_or(|end| end > s.size) {
                    return Err(format!(
                        "{} (offset {value:#x}, {size:#x} bytes) reaches past the end of {} \
                         ({:#x} bytes)",
                        label(),
                        s.label(),
                        s.size
                    ));
                }
                if kind == elf::STT_FUNC && !s.executable() {
                    return Err(format!(
                        "{} is a function in {}, which is not executable code",
                        label(),
                        s.label()
                    ));
                }
            }
            Place::Undefined | Place::Absolute if kind == elf::STT_FUNC => {
                return Err(format!(
                    "{} is a function symbol with no code in this object",
                    label()
                ));
            }
            Place::Undefined if local => {
                return Err(format!("{} is local and undefined", label()));
            }
            _ => {}
        }
        if kind == elf::STT_FUNC
            && let Place::Section(section) = place
        {
            info.code.push(CodeSymbol {
                name: name.to_owned(),
                section,
                offset: value,
                size,
            });
        }
        if local {
            continue;
        }
        if name.is_empty() {
            return Err(format!("global symbol {index} has no name"));
        }
        // The JIT linkers load only SHF_ALLOC sections: a definition elsewhere never exists.
        if let Place::Section(section) = place
            && !sections[section].loaded()
        {
            return Err(format!(
                "{} is defined in {}, which is not loaded",
                label(),
                sections[section].label()
            ));
        }
        global_names.push(name);
        let weak = binding == elf::STB_WEAK;
        let section = match place {
            Place::Undefined => {
                if name != GOT_SYMBOL {
                    info.undefined.push(UndefinedSymbol {
                        name: name.to_owned(),
                        weak,
                    });
                }
                continue;
            }
            Place::Absolute => None,
            Place::Section(section) => Some(section),
        };
        let visibility = symbol.st_visibility();
        info.defined.push(DefinedSymbol {
            name: name.to_owned(),
            kind: match kind {
                elf::STT_FUNC => SymbolKind::Function,
                elf::STT_OBJECT => SymbolKind::Data,
                _ => SymbolKind::Other,
            },
            binding: if weak { Binding::Weak } else { Binding::Global },
            hidden: visibility == elf::STV_HIDDEN || visibility == elf::STV_INTERNAL,
            section,
            size: symbol.st_size(ENDIAN),
        });
    }
    // One name, one symbol: which of two the linker would take is not for the object to decide.
    global_names.sort_unstable();
    if let Some(pair) = global_names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!(
            "the object has two global symbols named {}",
            pair[0]
        ));
    }
    Ok(info)
}

/// A relocation that patches an `.eh_frame` section.
struct UnwindRelocation {
    /// Which relocation, for messages: the relocation section's name and the index in it.
    section: String,
    number: usize,
    offset: u64,
    width: u64,
    r_type: u32,
    symbol: usize,
    addend: i64,
}

impl UnwindRelocation {
    fn label(&self) -> String {
        format!("relocation {} of {}", self.number, self.section)
    }
}

/// Relocation sections: their symbol table and target, and each relocation's type, symbol
/// and place inside its target. Returns the relocations of each `.eh_frame`, by section index.
fn check_relocations(
    file: &ElfFile64<'_, LittleEndian>,
    object: &[u8],
    symbols: &Symbols<'_>,
    sections: &[SectionInfo<'_>],
    machine: &Machine,
) -> Result<HashMap<usize, Vec<UnwindRelocation>>, String> {
    let mut unwind: HashMap<usize, Vec<UnwindRelocation>> = HashMap::new();
    let table = symbols.section();
    for (SectionIndex(index), header) in file.elf_section_table().enumerate() {
        let Some(section) = sections.get(index) else {
            continue;
        };
        let label = section.label();
        let Some((relocations, link)) = header
            .rela(ENDIAN, object)
            .map_err(|e| format!("{label} cannot be read ({e})"))?
        else {
            continue;
        };
        if table.0 == 0 || link != table {
            return Err(format!(
                "{label} does not use the object's symbol table (it links to section {})",
                link.0
            ));
        }
        let target_index = header.sh_info(ENDIAN) as usize;
        let Some(target) = sections.get(target_index).filter(|_| target_index != 0) else {
            return Err(format!("{label} applies to no section"));
        };
        let patchable = target.has_contents()
            && !matches!(
                target.sh_type,
                elf::SHT_SYMTAB
                    | elf::SHT_STRTAB
                    | elf::SHT_RELA
                    | elf::SHT_GROUP
                    | elf::SHT_SYMTAB_SHNDX
            );
        if !patchable {
            return Err(format!(
                "{label} patches {}, which holds no code or data to patch",
                target.label()
            ));
        }
        let loaded = target.loaded();
        let unwind_info = target.name == ".eh_frame";
        for (number, relocation) in relocations.iter().enumerate() {
            let r_type = relocation.r_type(ENDIAN, false);
            let offset = relocation.r_offset(ENDIAN);
            let symbol = relocation.r_sym(ENDIAN, false) as usize;
            let what = || format!("relocation {number} of {label}");
            let Some(kind) = machine.relocations.iter().find(|t| t.code == r_type) else {
                return Err(format!(
                    "{} has type {r_type}, which the JIT linkers do not implement for {}",
                    what(),
                    machine.name
                ));
            };
            match kind.handling {
                Handling::Linked => {}
                Handling::DebugOnly if !loaded => {}
                Handling::DebugOnly => {
                    return Err(format!(
                        "{} is {}, which belongs in debug information, not in {}",
                        what(),
                        kind.name,
                        target.label()
                    ));
                }
                Handling::Refused(why) => {
                    return Err(format!("{} is {}, {why}", what(), kind.name));
                }
            }
            if offset
                .checked_add(kind.width)
                .is_none_or(|end| end > target.size)
            {
                return Err(format!(
                    "{} points past the end of {} (offset {offset:#x}, {} bytes, in {:#x})",
                    what(),
                    target.label(),
                    kind.width,
                    target.size
                ));
            }
            if symbol >= symbols.len() {
                return Err(format!(
                    "{} refers to symbol {symbol}, but the symbol table has {}",
                    what(),
                    symbols.len()
                ));
            }
            if symbol == 0 && loaded && r_type != machine.none {
                return Err(format!("{} refers to no symbol", what()));
            }
            // JITLink may rewrite the instruction a relaxable GOT load is in (reading the bytes
            // before the field): only in code, and with room for the instruction.
            if let Some(before) = machine
                .relaxable
                .iter()
                .find(|(code, _)| *code == r_type)
                .map(|(_, b)| *b)
                && (!target.executable() || offset < before)
            {
                return Err(format!(
                    "{} is {}, a relaxable GOT reference, at offset {offset:#x} of {}: it \
                         must be in code, after its instruction's first {before} bytes",
                    what(),
                    kind.name,
                    target.label()
                ));
            }
            if unwind_info {
                unwind
                    .entry(target_index)
                    .or_default()
                    .push(UnwindRelocation {
                        section: label.clone(),
                        number,
                        offset,
                        width: kind.width,
                        r_type,
                        symbol,
                        addend: relocation.r_addend(ENDIAN),
                    });
            }
        }
    }
    for relocations in unwind.values_mut() {
        relocations.sort_by_key(|r| r.offset);
    }
    Ok(unwind)
}

// DWARF pointer encodings (DW_EH_PE_*), as in `.eh_frame`.
const PE_ABSPTR: u8 = 0x00;
const PE_UDATA4: u8 = 0x03;
const PE_UDATA8: u8 = 0x04;
const PE_SDATA4: u8 = 0x0b;
const PE_SDATA8: u8 = 0x0c;
const PE_PCREL: u8 = 0x10;
const PE_INDIRECT: u8 = 0x80;
const PE_OMIT: u8 = 0xff;

/// How an `.eh_frame` pointer is stored.
#[derive(Clone, Copy)]
struct Encoding {
    width: u64,
    signed: bool,
    pc_relative: bool,
}

/// A pointer encoding the linkers can relocate: 4 or 8 bytes, absolute or relative to the
/// field's own address (and, where `indirect` allows it, the address of the pointer).
fn encoding(byte: u8, indirect: bool) -> Option<Encoding> {
    let direct = if indirect { byte & !PE_INDIRECT } else { byte };
    let pc_relative = match direct & 0x70 {
        0 => false,
        PE_PCREL => true,
        _ => return None,
    };
    let (width, signed) = match direct & 0x0f {
        PE_ABSPTR | PE_UDATA8 => (8, false),
        PE_UDATA4 => (4, false),
        PE_SDATA4 => (4, true),
        PE_SDATA8 => (8, true),
        _ => return None,
    };
    Some(Encoding {
        width,
        signed,
        pc_relative,
    })
}

/// The encodings of an FDE's address range that LLVM emits (`pcrel|sdata4`, `pcrel|sdata8`)
/// and their unsigned and absolute 64-bit relatives.
fn fde_encoding(byte: u8) -> Option<Encoding> {
    const ACCEPTED: [u8; 6] = [
        PE_PCREL | PE_SDATA4,
        PE_PCREL | PE_SDATA8,
        PE_PCREL | PE_UDATA4,
        PE_PCREL | PE_UDATA8,
        PE_ABSPTR,
        PE_UDATA8,
    ];
    ACCEPTED
        .contains(&byte)
        .then(|| encoding(byte, false))
        .flatten()
}

/// Reads one record of `.eh_frame`; `None` when a field runs past the record's end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.end)?;
        let bytes = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn uleb128(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let low = u64::from(byte & 0x7f);
            if shift == 63 && low > 1 {
                return None;
            }
            value |= low << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// Skips a LEB128 number (signed or not), at most 10 bytes.
    fn skip_leb128(&mut self) -> Option<()> {
        for _ in 0..10 {
            if self.u8()? & 0x80 == 0 {
                return Some(());
            }
        }
        None
    }

    fn c_string(&mut self) -> Option<&'a [u8]> {
        let rest = self.data.get(self.pos..self.end)?;
        let length = rest.iter().position(|&b| b == 0)?;
        self.pos += length + 1;
        rest.get(..length)
    }

    /// A reader for the next `length` bytes, which this one skips.
    fn split(&mut self, length: u64) -> Option<Reader<'a>> {
        let start = self.pos;
        self.bytes(usize::try_from(length).ok()?)?;
        Some(Reader {
            data: self.data,
            pos: start,
            end: self.pos,
        })
    }
}

/// A little-endian value of 4 or 8 bytes; `None` for a negative signed one.
fn unsigned(bytes: &[u8], signed: bool) -> Option<u64> {
    let value = match *bytes {
        [a, b, c, d] if signed => i64::from(i32::from_le_bytes([a, b, c, d])),
        [a, b, c, d] => i64::from(u32::from_le_bytes([a, b, c, d])),
        _ if signed => i64::from_le_bytes(bytes.try_into().ok()?),
        _ => return Some(u64::from_le_bytes(bytes.try_into().ok()?)),
    };
    u64::try_from(value).ok()
}

/// What a CIE says about its FDEs.
struct Cie {
    fde_encoding: Encoding,
    lsda_encoding: Option<Encoding>,
    /// 'z': FDEs carry augmentation data, with its length.
    augmented: bool,
}

/// A pointer field of `.eh_frame`: the only places a relocation may patch.
struct Field {
    offset: u64,
    width: u64,
    /// The relocation patching it, by index in the section's relocations.
    relocation: Option<usize>,
}

/// One FDE: the code range it describes.
struct Fde {
    at: usize,
    /// Index of its `pc_begin` in the fields.
    pc_begin: usize,
    encoding: Encoding,
    range: u64,
}

/// Checks one `.eh_frame` section: its records, and that each FDE describes code of this
/// object. The unwinder walks every FDE the linker registers, for every exception in the
/// process, so an FDE whose range covers the host's code (or all memory) breaks the host's own
/// unwinding.
fn check_eh_frame(
    object: &[u8],
    section: &SectionInfo<'_>,
    relocations: &[UnwindRelocation],
    symbols: &Symbols<'_>,
    sections: &[SectionInfo<'_>],
    machine: &Machine,
) -> Result<(), String> {
    let name = section.label();
    if section.sh_type == elf::SHT_NOBITS && section.size != 0 {
        return Err(format!("{name} has no contents in the file (SHT_NOBITS)"));
    }
    let data = section.contents(object);
    let mut fields: Vec<Field> = Vec::new();
    let mut cies: HashMap<usize, Cie> = HashMap::new();
    let mut fdes: Vec<Fde> = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let Some(length) = data.get(at..at + 4) else {
            return Err(format!(
                "{name} ends with {} bytes that are not a whole record",
                data.len() - at
            ));
        };
        let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
        let body = at + 4;
        if length == 0 {
            // A terminator; the unwinder may stop here, but the linkers read on.
            at = body;
            continue;
        }
        if length == u32::MAX {
            return Err(format!(
                "the record at offset {at:#x} of {name} has a 64-bit length, which LLVM does not \
                 emit and the JIT does not read"
            ));
        }
        let end = body
            .checked_add(length as usize)
            .filter(|&end| end <= data.len())
            .ok_or_else(|| {
                format!(
                    "the record at offset {at:#x} of {name} ({length:#x} bytes) reaches past the \
                     end of the section ({:#x} bytes)",
                    data.len()
                )
            })?;
        let mut record = Reader {
            data,
            pos: body,
            end,
        };
        let short = |what: &str| format!("the {what} at offset {at:#x} of {name} is cut short");
        let id = record.u32().ok_or_else(|| short("record"))?;
        if id == 0 {
            let cie = read_cie(&mut record, &mut fields)
                .map_err(|why| format!("the CIE at offset {at:#x} of {name} {why}"))?
                .ok_or_else(|| short("CIE"))?;
            cies.insert(at, cie);
        } else {
            // The CIE pointer counts back from its own field to the CIE.
            let cie = body
                .checked_sub(id as usize)
                .and_then(|cie| cies.get(&cie))
                .ok_or_else(|| {
                    format!(
                        "the FDE at offset {at:#x} of {name} points to no CIE of this section \
                         before it"
                    )
                })?;
            let fde = read_fde(&mut record, at, cie, &mut fields).ok_or_else(|| short("FDE"))?;
            fdes.push(fde);
        }
        at = end;
    }
    // A relocation anywhere else (a length, a CIE pointer, an address range) would change the
    // table after it was checked.
    for (index, relocation) in relocations.iter().enumerate() {
        let field = fields
            .binary_search_by_key(&relocation.offset, |f| f.offset)
            .ok()
            .and_then(|i| fields.get_mut(i))
            .filter(|f| f.width == relocation.width)
            .ok_or_else(|| {
                format!(
                    "{} patches offset {:#x} of {name}, which is not a pointer field of a CIE or \
                     FDE",
                    relocation.label(),
                    relocation.offset
                )
            })?;
        if field.relocation.is_some() {
            return Err(format!(
                "{} patches the pointer at offset {:#x} of {name} a second time",
                relocation.label(),
                relocation.offset
            ));
        }
        // RuntimeDyld adds what the field holds to the relocation's result; LLVM leaves it 0.
        let start = relocation.offset as usize;
        if start
            .checked_add(field.width as usize)
            .and_then(|end| data.get(start..end))
            .is_none_or(|bytes| bytes.iter().any(|&b| b != 0))
        {
            return Err(format!(
                "the pointer at offset {:#x} of {name} holds a value besides its relocation ({})",
                relocation.offset,
                relocation.label()
            ));
        }
        field.relocation = Some(index);
    }
    for fde in &fdes {
        check_fde_range(fde, &fields, relocations, symbols, sections, machine, &name)?;
    }
    Ok(())
}

/// A CIE, after its id: `Err` for what the JIT does not accept, `Ok(None)` when cut short.
fn read_cie(record: &mut Reader<'_>, fields: &mut Vec<Field>) -> Result<Option<Cie>, String> {
    let Some(version) = record.u8() else {
        return Ok(None);
    };
    if version != 1 && version != 3 {
        return Err(format!(
            "has version {version}; .eh_frame CIEs are version 1 or 3"
        ));
    }
    let Some(augmentation) = record.c_string() else {
        return Ok(None);
    };
    // Code and data alignment factors, and the return address register.
    let skipped = record.skip_leb128().and_then(|()| record.skip_leb128());
    let skipped = skipped.and_then(|()| {
        if version == 1 {
            record.u8().map(drop)
        } else {
            record.skip_leb128()
        }
    });
    if skipped.is_none() {
        return Ok(None);
    }
    let mut cie = Cie {
        fde_encoding: Encoding {
            width: 8,
            signed: false,
            pc_relative: false,
        },
        lsda_encoding: None,
        augmented: false,
    };
    let Some((&first, rest)) = augmentation.split_first() else {
        return Ok(Some(cie));
    };
    let shown = String::from_utf8_lossy(augmentation);
    if first != b'z' {
        return Err(format!(
            "has the augmentation \"{shown}\", which does not start with 'z'"
        ));
    }
    cie.augmented = true;
    let Some(mut data) = record.uleb128().and_then(|length| record.split(length)) else {
        return Ok(None);
    };
    for &letter in rest {
        match letter {
            b'R' => {
                let Some(byte) = data.u8() else {
                    return Ok(None);
                };
                cie.fde_encoding = fde_encoding(byte).ok_or_else(|| {
                    format!(
                        "encodes its FDEs' addresses as {byte:#04x}, which the JIT does not read"
                    )
                })?;
            }
            b'P' => {
                let Some(byte) = data.u8() else {
                    return Ok(None);
                };
                let personality = encoding(byte, true).ok_or_else(|| {
                    format!(
                        "encodes its personality routine as {byte:#04x}, which the JIT does not \
                         read"
                    )
                })?;
                fields.push(Field {
                    offset: data.pos as u64,
                    width: personality.width,
                    relocation: None,
                });
                if data.bytes(personality.width as usize).is_none() {
                    return Ok(None);
                }
            }
            b'L' => {
                let Some(byte) = data.u8() else {
                    return Ok(None);
                };
                if byte != PE_OMIT {
                    cie.lsda_encoding = Some(encoding(byte, false).ok_or_else(|| {
                        format!(
                            "encodes its LSDA pointers as {byte:#04x}, which the JIT does not read"
                        )
                    })?);
                }
            }
            b'S' => {}
            other => {
                return Err(format!(
                    "has the augmentation \"{shown}\", whose '{}' the JIT does not read",
                    char::from(other)
                ));
            }
        }
    }
    Ok(Some(cie))
}

/// An FDE, after its CIE pointer; `None` when cut short.
fn read_fde(record: &mut Reader<'_>, at: usize, cie: &Cie, fields: &mut Vec<Field>) -> Option<Fde> {
    let encoding = cie.fde_encoding;
    let pc_begin = fields.len();
    fields.push(Field {
        offset: record.pos as u64,
        width: encoding.width,
        relocation: None,
    });
    record.bytes(encoding.width as usize)?;
    // The range has the address's size but is never relative. The unwinder sign-extends a
    // signed one, so a negative range covers nearly all memory: keep it huge, to be refused.
    let range =
        unsigned(record.bytes(encoding.width as usize)?, encoding.signed).unwrap_or(u64::MAX);
    if cie.augmented {
        let mut data = record.uleb128().and_then(|length| record.split(length))?;
        if let Some(lsda) = cie.lsda_encoding {
            fields.push(Field {
                offset: data.pos as u64,
                width: lsda.width,
                relocation: None,
            });
            data.bytes(lsda.width as usize)?;
        }
    }
    Some(Fde {
        at,
        pc_begin,
        encoding,
        range,
    })
}

/// An FDE's `pc_begin` must be relocated against a local symbol of an executable section of
/// this object, and its range must end inside that section. Local, because a global symbol
/// may be resolved to another module's definition (or to the host's) when this one loses.
fn check_fde_range(
    fde: &Fde,
    fields: &[Field],
    relocations: &[UnwindRelocation],
    symbols: &Symbols<'_>,
    sections: &[SectionInfo<'_>],
    machine: &Machine,
    name: &str,
) -> Result<(), String> {
    let at = fde.at;
    let relocation = fields
        .get(fde.pc_begin)
        .and_then(|f| f.relocation)
        .and_then(|r| relocations.get(r))
        .ok_or_else(|| {
            format!(
                "the FDE at offset {at:#x} of {name} gives an absolute address (its pc_begin has \
                 no relocation), so it may describe memory outside this object's code"
            )
        })?;
    let expected = match (fde.encoding.pc_relative, fde.encoding.width) {
        (true, 4) => machine.pc_relative_32,
        (true, _) => machine.pc_relative_64,
        (false, _) => machine.absolute_64,
    };
    if relocation.r_type != expected {
        return Err(format!(
            "the FDE at offset {at:#x} of {name} has a pc_begin relocation ({}) of type {}, \
             which does not match its encoding",
            relocation.label(),
            relocation.r_type
        ));
    }
    let symbol = symbols
        .symbol(SymbolIndex(relocation.symbol))
        .map_err(|_| {
            format!("the FDE at offset {at:#x} of {name} is relocated against no symbol")
        })?;
    if symbol.st_bind() != elf::STB_LOCAL {
        return Err(format!(
            "the FDE at offset {at:#x} of {name} is relocated against a global symbol, which \
             another definition may replace; LLVM uses the function's section"
        ));
    }
    let section = match place(symbols, relocation.symbol, symbol, sections)? {
        Place::Section(index) => sections.get(index).filter(|s| s.executable()),
        _ => None,
    };
    let Some(section) = section else {
        return Err(format!(
            "the FDE at offset {at:#x} of {name} describes an address outside this object's \
             executable sections"
        ));
    };
    let start = i128::from(symbol.st_value(ENDIAN)) + i128::from(relocation.addend);
    let end = start + i128::from(fde.range);
    if start < 0 || end > i128::from(section.size) {
        return Err(format!(
            "the FDE at offset {at:#x} of {name} covers {start:#x}..{end:#x} of {}, which has \
             {:#x} bytes: an unwind entry may describe only its function's own section",
            section.label(),
            section.size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isolate::compile_here;
    use crate::target::Codegen;
    use crate::target::{CodeModel, OptLevel, RelocModel};

    const LIMITS: ObjectLimits = ObjectLimits { max_bytes: 1 << 30 };

    /// Plain C: internal, weak, hidden and common data, a jump table, floating-point
    /// constants, external and `extern_weak` references. Typed pointers with explicit types
    /// parse on LLVM 14 and, read as `ptr`, on every later version.
    const C_LIKE: &str = r#"
@counter = global i64 0
@table = internal constant [4 x i32] [i32 1, i32 2, i32 3, i32 4]
@weak_data = weak global i32 7
@hidden_data = hidden global i32 3
@common_data = common global i32 0, align 4
@ext_data = external global i32
declare i32 @ext_fn(i32)
declare extern_weak i32 @maybe(i32)

define internal i32 @helper(i32 %x) noinline {
entry:
  %i = sext i32 %x to i64
  %p = getelementptr inbounds [4 x i32], [4 x i32]* @table, i64 0, i64 %i
  %v = load i32, i32* %p
  ret i32 %v
}

define i32 @f(i32 %x) {
entry:
  switch i32 %x, label %other [ i32 0, label %a
                                i32 1, label %b
                                i32 2, label %c
                                i32 3, label %d
                                i32 4, label %e ]
a:
  ret i32 11
b:
  ret i32 13
c:
  ret i32 17
d:
  ret i32 19
e:
  ret i32 23
other:
  %h = call i32 @helper(i32 %x)
  %g = load i32, i32* @ext_data
  %c0 = load i32, i32* @common_data
  %e0 = call i32 @ext_fn(i32 %h)
  %null = icmp eq i32 (i32)* @maybe, null
  %s = add i32 %g, %e0
  %t = add i32 %s, %c0
  %r = select i1 %null, i32 %t, i32 0
  %n = load i64, i64* @counter
  %n1 = add i64 %n, 1
  store i64 %n1, i64* @counter
  ret i32 %r
}

define weak i32 @weak_fn() {
entry:
  %v = load i32, i32* @weak_data
  %w = load i32, i32* @hidden_data
  %s = add i32 %v, %w
  ret i32 %s
}

define double @g(double %d) {
entry:
  %m = fmul double %d, 3.14159
  %a = fadd double %m, 2.71828
  ret double %a
}
"#;

    /// C++ exceptions: a personality, catch clauses with a type, a cleanup that resumes, and
    /// an inline function in a comdat group (LSDA, personality pointers, `.group`).
    const EXCEPTIONS: &str = r#"
@_ZTIi = external constant i8*
$inline_helper = comdat any

declare i32 @__gxx_personality_v0(...)
declare void @may_throw(i32)
declare i8* @__cxa_begin_catch(i8*)
declare void @__cxa_end_catch()
declare i32 @llvm.eh.typeid.for(i8*)

define linkonce_odr i32 @inline_helper(i32 %x) comdat {
entry:
  %r = mul i32 %x, 3
  ret i32 %r
}

define i32 @catches(i32 %x) personality i8* bitcast (i32 (...)* @__gxx_personality_v0 to i8*) {
entry:
  invoke void @may_throw(i32 %x) to label %ok unwind label %lpad
ok:
  %h = call i32 @inline_helper(i32 %x)
  ret i32 %h
lpad:
  %lp = landingpad { i8*, i32 } catch i8* bitcast (i8** @_ZTIi to i8*) catch i8* null
  %exn = extractvalue { i8*, i32 } %lp, 0
  %sel = extractvalue { i8*, i32 } %lp, 1
  %tid = call i32 @llvm.eh.typeid.for(i8* bitcast (i8** @_ZTIi to i8*))
  %isint = icmp eq i32 %sel, %tid
  %c = call i8* @__cxa_begin_catch(i8* %exn)
  call void @__cxa_end_catch()
  %r = select i1 %isint, i32 1, i32 2
  ret i32 %r
}

define void @cleans_up(i32 %x) personality i8* bitcast (i32 (...)* @__gxx_personality_v0 to i8*) {
entry:
  invoke void @may_throw(i32 %x) to label %ok unwind label %lpad
ok:
  ret void
lpad:
  %lp = landingpad { i8*, i32 } cleanup
  call void @may_throw(i32 0)
  resume { i8*, i32 } %lp
}
"#;

    /// Debug information (DWARF 5 on LLVM 22, its relocations in unloaded sections).
    const DEBUG_INFO: &str = r#"
define i32 @add(i32 %a, i32 %b) !dbg !6 {
entry:
  %s = add i32 %a, %b, !dbg !9
  ret i32 %s, !dbg !9
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!3, !4}

!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "objcheck", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "add.c", directory: "/tmp")
!3 = !{i32 7, !"Dwarf Version", i32 5}
!4 = !{i32 2, !"Debug Info Version", i32 3}
!6 = distinct !DISubprogram(name: "add", scope: !1, file: !1, line: 1, type: !7, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!7 = !DISubroutineType(types: !8)
!8 = !{null}
!9 = !DILocation(line: 2, column: 3, scope: !6)
"#;

    /// `module asm` defining data and a function with its own CFI.
    const MODULE_ASM: &str = r#"
module asm ".data"
module asm ".globl asm_data"
module asm ".type asm_data,@object"
module asm ".size asm_data, 8"
module asm "asm_data: .quad 42"
module asm ".text"
module asm ".globl asm_fn"
module asm ".type asm_fn,@function"
module asm "asm_fn:"
module asm ".cfi_startproc"
module asm "movl $7, %eax"
module asm "ret"
module asm ".cfi_endproc"
module asm ".size asm_fn, .-asm_fn"

declare i32 @asm_fn()
define i32 @f() {
entry:
  %r = call i32 @asm_fn()
  ret i32 %r
}
"#;

    fn compile(ir: &str, reloc: RelocModel, code_model: CodeModel, opt: OptLevel) -> Vec<u8> {
        let codegen = Codegen {
            opt,
            reloc,
            code_model,
        };
        compile_here("test.ll", ir.as_bytes(), codegen).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As the JIT compiles by default.
    fn object(ir: &str) -> Vec<u8> {
        compile(ir, RelocModel::Pic, CodeModel::JitDefault, OptLevel::O2)
    }

    fn accepted(object: &[u8]) -> ObjectInfo {
        inspect(object, &LIMITS).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn refused(object: &[u8]) -> String {
        match inspect(object, &LIMITS) {
            Ok(info) => panic!("accepted: {info:?}"),
            Err(reason) => reason,
        }
    }

    fn defined<'a>(info: &'a ObjectInfo, name: &str) -> &'a DefinedSymbol {
        info.defined
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} not among {:?}", info.defined))
    }

    #[test]
    fn c_like_module() {
        let object = object(C_LIKE);
        let info = accepted(&object);
        let f = defined(&info, "f");
        assert_eq!(
            (f.kind, f.binding, f.hidden),
            (SymbolKind::Function, Binding::Global, false)
        );
        assert!(f.section.is_some());
        let weak_fn = defined(&info, "weak_fn");
        assert_eq!(
            (weak_fn.kind, weak_fn.binding),
            (SymbolKind::Function, Binding::Weak)
        );
        assert_eq!(defined(&info, "counter").kind, SymbolKind::Data);
        assert_eq!(defined(&info, "weak_data").binding, Binding::Weak);
        assert!(defined(&info, "hidden_data").hidden);
        // The JIT's own compile makes a common global weak (lower.rs); it is then in .bss.
        let common = defined(&info, "common_data");
        assert_eq!(
            (common.kind, common.binding),
            (SymbolKind::Data, Binding::Weak)
        );
        assert!(common.section.is_some());
        assert!(
            info.defined
                .iter()
                .all(|d| d.name != "helper" && d.name != "table")
        );
        let mut undefined: Vec<(&str, bool)> = info
            .undefined
            .iter()
            .map(|u| (u.name.as_str(), u.weak))
            .collect();
        undefined.sort();
        assert_eq!(
            undefined,
            [("ext_data", false), ("ext_fn", false), ("maybe", true)]
        );
        let code: Vec<&str> = info.code.iter().map(|c| c.name.as_str()).collect();
        for name in ["helper", "f", "weak_fn", "g"] {
            assert!(code.contains(&name), "{name} not among {code:?}");
        }
        assert!(info.code.iter().all(|c| c.size > 0));
        assert!(info.allocated_bytes > object.len() as u64);
    }

    #[test]
    fn exceptions() {
        let info = accepted(&object(EXCEPTIONS));
        assert_eq!(defined(&info, "catches").binding, Binding::Global);
        assert_eq!(defined(&info, "inline_helper").binding, Binding::Weak);
        let names: Vec<&str> = info.undefined.iter().map(|u| u.name.as_str()).collect();
        for name in [
            "may_throw",
            "__gxx_personality_v0",
            "_Unwind_Resume",
            "_ZTIi",
        ] {
            assert!(names.contains(&name), "{name} not among {names:?}");
        }
    }

    #[test]
    fn debug_info() {
        let info = accepted(&object(DEBUG_INFO));
        assert_eq!(defined(&info, "add").kind, SymbolKind::Function);
    }

    #[test]
    fn module_asm() {
        let info = accepted(&object(MODULE_ASM));
        assert_eq!(defined(&info, "asm_data").kind, SymbolKind::Data);
        assert_eq!(defined(&info, "asm_fn").kind, SymbolKind::Function);
        assert!(info.code.iter().any(|c| c.name == "asm_fn" && c.size == 6));
    }

    /// Every code model and relocation model at both ends of optimisation.
    #[test]
    fn every_codegen_setting() {
        let models = [CodeModel::Small, CodeModel::Medium, CodeModel::Large];
        let relocs = [RelocModel::Pic, RelocModel::Static];
        for ir in [C_LIKE, EXCEPTIONS, DEBUG_INFO, MODULE_ASM] {
            for (model, reloc, opt) in models
                .iter()
                .flat_map(|m| relocs.iter().map(move |r| (*m, *r)))
                .flat_map(|(m, r)| [OptLevel::O0, OptLevel::O2].map(|o| (m, r, o)))
            {
                let object = compile(ir, reloc, model, opt);
                if let Err(e) = inspect(&object, &LIMITS) {
                    panic!("{model:?} {reloc:?} {opt:?}: {e}\n{ir}");
                }
            }
        }
    }

    /// A function in its own section with a hand-written CIE and FDE in `.eh_frame`.
    fn hand_written_fde(pc_begin: &str, pc_range: &str, encoding: &str) -> String {
        let lines = [
            ".section .text.handwritten,\"ax\",@progbits",
            ".globl global_label",
            ".Llocal_label:",
            "global_label: ret",
            ".section .eh_frame,\"a\",@unwind",
            ".Lcie: .long .Lcie_end - .Lcie_id",
            ".Lcie_id: .long 0",
            ".byte 1",
            ".asciz \"zR\"",
            ".uleb128 1",
            ".sleb128 -8",
            ".byte 16",
            ".uleb128 1",
            &format!(".byte {encoding}"),
            ".balign 4, 0",
            ".Lcie_end:",
            ".long .Lfde_end - .Lfde_ptr",
            ".Lfde_ptr: .long .Lfde_ptr - .Lcie",
            pc_begin,
            pc_range,
            ".uleb128 0",
            ".balign 4, 0",
            ".Lfde_end:",
        ];
        let asm: String = lines
            .iter()
            .map(|l| format!("module asm \"{}\"\n", l.replace('"', "\\22")))
            .collect();
        asm + "define i32 @f() {\nentry:\n  ret i32 1\n}\n"
    }

    #[test]
    fn hand_written_fde_for_its_own_code() {
        let ir = hand_written_fde(".long .Llocal_label - .", ".long 1", "0x1b");
        accepted(&object(&ir));
    }

    /// Issue 21, point 3: an FDE at absolute 0 covering most of the address space.
    #[test]
    fn absolute_fde_over_all_memory() {
        let ir = hand_written_fde(".quad 0", ".quad 0x7fffffff00000000", "0x04");
        let reason = refused(&object(&ir));
        assert!(reason.contains("absolute address"), "{reason}");
    }

    #[test]
    fn fde_past_its_section() {
        let ir = hand_written_fde(".long .Llocal_label - .", ".long 0x1000", "0x1b");
        let reason = refused(&object(&ir));
        assert!(
            reason.contains("covers 0x0..0x1000 of .text.handwritten, which has 0x1 bytes"),
            "{reason}"
        );
    }

    #[test]
    fn fde_with_negative_range() {
        let ir = hand_written_fde(".long .Llocal_label - .", ".long -1", "0x1b");
        let reason = refused(&object(&ir));
        assert!(reason.contains("covers"), "{reason}");
    }

    /// A global symbol can resolve to another module's definition (or the host's).
    #[test]
    fn fde_on_a_global_symbol() {
        let ir = hand_written_fde(".long global_label - .", ".long 1", "0x1b");
        let reason = refused(&object(&ir));
        assert!(reason.contains("global symbol"), "{reason}");
    }

    #[test]
    fn six_gib_of_zeros() {
        for global in ["global", "common global"] {
            let ir = format!(
                "@big = {global} [6442450944 x i8] zeroinitializer, align 16\n\
                 define i8* @f() {{\nentry:\n  ret i8* getelementptr ([6442450944 x i8], \
                 [6442450944 x i8]* @big, i64 0, i64 0)\n}}\n"
            );
            let object = object(&ir);
            assert!(object.len() < 4096, "{} bytes", object.len());
            let reason = refused(&object);
            assert!(
                reason.contains("over the limit of 1073741824 bytes"),
                "{reason}"
            );
            let unlimited = ObjectLimits {
                max_bytes: u64::MAX,
            };
            let info = inspect(&object, &unlimited).unwrap_or_else(|e| panic!("{e}"));
            assert!(info.allocated_bytes > 6 << 30);
        }
    }

    fn with_asm(lines: &[&str]) -> String {
        let asm: String = lines
            .iter()
            .map(|l| format!("module asm \"{}\"\n", l.replace('"', "\\22")))
            .collect();
        asm + "define i32 @f() {\nentry:\n  ret i32 1\n}\n"
    }

    #[test]
    fn thread_locals() {
        let ir = with_asm(&[
            ".section .tdata,\"awT\",@progbits",
            ".globl tls_value",
            ".type tls_value,@object",
            "tls_value: .long 1",
        ]);
        let reason = refused(&object(&ir));
        assert!(reason.contains("thread-local"), "{reason}");
    }

    #[test]
    fn indirect_functions() {
        let ir = with_asm(&[
            ".text",
            ".globl chooser",
            ".type chooser,@gnu_indirect_function",
            "chooser: ret",
        ]);
        let reason = refused(&object(&ir));
        assert!(reason.contains("STT_GNU_IFUNC"), "{reason}");
    }

    #[test]
    fn a_function_in_data() {
        let ir = with_asm(&[
            ".data",
            ".globl fake",
            ".type fake,@function",
            "fake: .quad 0",
        ]);
        let reason = refused(&object(&ir));
        assert!(reason.contains("not executable"), "{reason}");
    }

    #[test]
    fn relocation_types_no_linker_implements() {
        let ir = with_asm(&[
            ".data",
            ".globl sized",
            "sized: .quad 0",
            ".quad sized@SIZE",
        ]);
        let reason = refused(&object(&ir));
        assert!(reason.contains("R_X86_64_SIZE64"), "{reason}");
    }

    /// Where the fields of a pristine object are, to mutate them.
    struct Layout {
        /// Section header offset, name, data offset, size, type.
        sections: Vec<(usize, String, usize, usize, u32)>,
        /// Entry offsets: symbols, relocations.
        symbols: Vec<usize>,
        relocations: Vec<usize>,
        eh_frame: (usize, usize),
    }

    impl Layout {
        fn of(object: &[u8]) -> Layout {
            let file = ElfFile64::<LittleEndian>::parse(object).expect("a pristine object");
            let header = file.elf_header();
            let shoff = header.e_shoff(ENDIAN) as usize;
            let table = file.elf_section_table();
            let mut layout = Layout {
                sections: Vec::new(),
                symbols: Vec::new(),
                relocations: Vec::new(),
                eh_frame: (0, 0),
            };
            for (SectionIndex(i), s) in table.enumerate() {
                let name = String::from_utf8_lossy(table.section_name(ENDIAN, s).expect("a name"));
                let (offset, size) = (s.sh_offset(ENDIAN) as usize, s.sh_size(ENDIAN) as usize);
                let entries = (offset..offset + size).step_by(24);
                match s.sh_type(ENDIAN) {
                    elf::SHT_SYMTAB => layout.symbols.extend(entries.skip(1)),
                    elf::SHT_RELA => layout.relocations.extend(entries),
                    _ => {}
                }
                if name == ".eh_frame" {
                    layout.eh_frame = (offset, size);
                }
                layout.sections.push((
                    shoff + i * 64,
                    name.into_owned(),
                    offset,
                    size,
                    s.sh_type(ENDIAN),
                ));
            }
            layout
        }

        /// The index of the symbol `name`.
        fn symbol_index(object: &[u8], name: &str) -> usize {
            let file = ElfFile64::<LittleEndian>::parse(object).expect("a pristine object");
            let symbols = file.elf_symbol_table();
            symbols
                .enumerate()
                .find(|(_, s)| symbols.symbol_name(ENDIAN, s) == Ok(name.as_bytes()))
                .map(|(SymbolIndex(i), _)| i)
                .expect(name)
        }

        /// The offset of the symbol table entry of `name`.
        fn symbol(&self, object: &[u8], name: &str) -> usize {
            self.symbols[Layout::symbol_index(object, name) - 1]
        }

        fn section(&self, name: &str) -> (usize, usize, usize) {
            let s = self.sections.iter().find(|s| s.1 == name).expect(name);
            (s.0, s.2, s.3)
        }
    }

    fn put(object: &mut [u8], at: usize, width: usize, value: u64) {
        if let Some(field) = object.get_mut(at..at + width) {
            field.copy_from_slice(&value.to_le_bytes()[..width]);
        }
    }

    fn read(object: &[u8], at: usize, width: usize) -> u64 {
        let mut bytes = [0; 8];
        bytes[..width].copy_from_slice(&object[at..at + width]);
        u64::from_le_bytes(bytes)
    }

    /// `corrupt` makes `pristine` refused, for a reason that says `expected`.
    fn refuses(pristine: &[u8], what: &str, corrupt: impl Fn(&mut Vec<u8>), expected: &str) {
        let mut object = pristine.to_vec();
        corrupt(&mut object);
        let reason = inspect(&object, &LIMITS)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(reason.contains(expected), "{what}: {reason}");
    }

    /// Each check, on one targeted change to a real object.
    #[test]
    fn targeted_corruptions() {
        let pristine = compile(EXCEPTIONS, RelocModel::Pic, CodeModel::Small, OptLevel::O2);
        let layout = Layout::of(&pristine);
        let (text_header, _, text_size) = layout.section(".text");
        let (rela_text, rela_text_data, _) = layout.section(".rela.text");
        let (eh_offset, _) = layout.eh_frame;
        let symbol = layout.symbol(&pristine, "catches");
        refuses(
            &pristine,
            "machine",
            |o| put(o, 18, 2, u64::from(elf::EM_AARCH64)),
            "ELF machine 183",
        );
        refuses(
            &pristine,
            "type",
            |o| put(o, 16, 2, u64::from(elf::ET_EXEC)),
            "not a relocatable",
        );
        refuses(
            &pristine,
            "class",
            |o| o[4] = elf::ELFCLASS32,
            "not a 64-bit ELF",
        );
        refuses(
            &pristine,
            "endian",
            |o| o[5] = elf::ELFDATA2MSB,
            "big-endian",
        );
        refuses(&pristine, "magic", |o| o[0] = 0, "not an ELF file");
        refuses(
            &pristine,
            "truncated",
            |o| o.truncate(o.len() / 2),
            "cannot be read",
        );
        refuses(
            &pristine,
            "text range",
            |o| put(o, text_header + 24, 8, u64::MAX - 4),
            "reaches past the end",
        );
        refuses(
            &pristine,
            "text align",
            |o| put(o, text_header + 48, 8, 3),
            "alignment of 0x3",
        );
        refuses(
            &pristine,
            "text huge align",
            |o| put(o, text_header + 48, 8, 1 << 20),
            "alignment of 0x100000",
        );
        refuses(
            &pristine,
            "text link",
            |o| put(o, text_header + 40, 4, 999),
            "links to section 999",
        );
        refuses(
            &pristine,
            "rel",
            |o| put(o, rela_text + 4, 4, u64::from(elf::SHT_REL)),
            "SHT_REL",
        );
        refuses(
            &pristine,
            "rela entsize",
            |o| put(o, rela_text + 56, 8, 16),
            "entries are 24 bytes",
        );
        refuses(
            &pristine,
            "rela target",
            |o| put(o, rela_text + 44, 4, 0),
            "applies to no section",
        );
        refuses(
            &pristine,
            "relocation offset",
            |o| put(o, rela_text_data, 8, text_size as u64),
            "relocation 0 of .rela.text points past the end of .text",
        );
        refuses(
            &pristine,
            "relocation type",
            |o| put(o, rela_text_data + 8, 4, u64::from(elf::R_X86_64_TPOFF32)),
            "R_X86_64_TPOFF32, a thread-local relocation",
        );
        refuses(
            &pristine,
            "unknown relocation",
            |o| put(o, rela_text_data + 8, 4, 200),
            "has type 200",
        );
        refuses(
            &pristine,
            "relocation symbol",
            |o| put(o, rela_text_data + 12, 4, 9999),
            "refers to symbol 9999",
        );
        refuses(
            &pristine,
            "symbol name",
            |o| put(o, symbol, 4, 1 << 30),
            "outside the string table",
        );
        refuses(
            &pristine,
            "symbol section",
            |o| put(o, symbol + 6, 2, 0xff00),
            "reserved section index",
        );
        refuses(
            &pristine,
            "symbol missing section",
            |o| put(o, symbol + 6, 2, 999),
            "does not exist",
        );
        refuses(
            &pristine,
            "symbol value",
            |o| put(o, symbol + 8, 8, 1 << 40),
            "reaches past the end",
        );
        refuses(
            &pristine,
            "symbol binding",
            |o| o[symbol + 4] = (elf::STB_LOCAL << 4) | elf::STT_FUNC,
            "is local but",
        );
        let data = layout.symbol(&pristine, "DW.ref.__gxx_personality_v0");
        refuses(
            &pristine,
            "symbol not loaded",
            |o| put(o, data + 6, 2, 1),
            "is defined in .strtab, which is not loaded",
        );
        let (group, _, _) = layout.section(".group");
        refuses(
            &pristine,
            "group signature",
            |o| put(o, group + 44, 4, 9999),
            "signed by symbol 9999",
        );
        refuses(
            &pristine,
            "symbol tls",
            |o| o[symbol + 4] = (elf::STB_GLOBAL << 4) | elf::STT_TLS,
            "STT_TLS",
        );
        refuses(
            &pristine,
            "cie version",
            |o| o[eh_offset + 8] = 2,
            "has version 2",
        );
        refuses(
            &pristine,
            "cie augmentation",
            |o| o[eh_offset + 10] = b'X',
            "whose 'X'",
        );
        refuses(
            &pristine,
            "record length",
            |o| put(o, eh_offset, 4, u64::from(u32::MAX)),
            "64-bit length",
        );
        refuses(
            &pristine,
            "record past end",
            |o| put(o, eh_offset, 4, 0x7fff_0000),
            "reaches past the end of the section",
        );
    }

    /// The `.eh_frame` checks, on its real relocations: moved, dropped, or its FDE widened;
    /// with 4-byte (small code model) and 8-byte (large, the JIT's default) pointers.
    #[test]
    fn corrupted_unwind_tables() {
        for model in [CodeModel::Small, CodeModel::Large] {
            let pristine = compile(EXCEPTIONS, RelocModel::Pic, model, OptLevel::O2);
            let layout = Layout::of(&pristine);
            let (eh_offset, _) = layout.eh_frame;
            let (_, rela_eh, rela_eh_size) = layout.section(".rela.eh_frame");
            // The first FDE follows the first CIE; its pc_begin is 8 bytes in.
            let fde = eh_offset + 4 + read(&pristine, eh_offset, 4) as usize;
            let pc_begin = (fde + 8 - eh_offset) as u64;
            let relocation = (rela_eh..rela_eh + rela_eh_size)
                .step_by(24)
                .find(|&r| read(&pristine, r, 8) == pc_begin)
                .expect("the first FDE's relocation");
            let width = match read(&pristine, relocation + 8, 4) as u32 {
                elf::R_X86_64_PC64 => 8,
                _ => 4,
            };
            let cie_pointer = read(&pristine, fde + 4, 4);
            let global = Layout::symbol_index(&pristine, "catches") as u64;
            refuses(
                &pristine,
                "moved",
                |o| put(o, relocation, 8, pc_begin + 1),
                "not a pointer field",
            );
            refuses(
                &pristine,
                "onto a length",
                |o| put(o, relocation, 8, pc_begin - 8),
                "not a pointer field",
            );
            refuses(
                &pristine,
                "dropped",
                |o| put(o, relocation + 8, 4, 0),
                "not a pointer field",
            );
            refuses(
                &pristine,
                "range",
                |o| put(o, fde + 8 + width, width, 0x7fff_ffff),
                "covers",
            );
            refuses(
                &pristine,
                "in place",
                |o| put(o, fde + 8, width, 0x100),
                "holds a value besides",
            );
            refuses(
                &pristine,
                "cie pointer",
                |o| put(o, fde + 4, 4, cie_pointer + 4),
                "points to no CIE",
            );
            refuses(
                &pristine,
                "global",
                |o| put(o, relocation + 12, 4, global),
                "global symbol",
            );
        }
    }

    /// xorshift64*: deterministic, and enough to scatter mutations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    /// Values that sit on the edges of every check.
    fn interesting(rng: &mut Rng, object: &[u8], layout: &Layout) -> u64 {
        let section_size = layout.sections[rng.below(layout.sections.len())].3 as u64;
        let values = [
            0,
            1,
            2,
            3,
            4,
            7,
            8,
            0x10,
            0x7f,
            0x80,
            0xff,
            0x100,
            0xffff,
            0x1_0000,
            0x1_0001,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
            u64::MAX - 1,
            i64::MAX as u64,
            i64::MIN as u64,
            object.len() as u64,
            (object.len() as u64).saturating_sub(1),
            object.len() as u64 + 1,
            section_size,
            section_size.wrapping_sub(1),
            section_size + 1,
            layout.sections.len() as u64,
            layout.symbols.len() as u64 + 1,
            rng.next(),
        ];
        values[rng.below(values.len())]
    }

    fn mutate(rng: &mut Rng, pristine: &[u8], layout: &Layout) -> Vec<u8> {
        let mut object = pristine.to_vec();
        let widths = [1, 2, 4, 8];
        for _ in 0..1 + rng.below(3) {
            let value = interesting(rng, &object, layout);
            let width = widths[rng.below(widths.len())];
            let at = match rng.below(8) {
                // Any byte.
                0 => {
                    let at = rng.below(object.len());
                    object[at] ^= 1 << rng.below(8);
                    continue;
                }
                // The ELF header.
                1 => 16 + rng.below(48),
                // A section header field.
                2 => {
                    let s = &layout.sections[rng.below(layout.sections.len())];
                    let fields = [
                        (0, 4),
                        (4, 4),
                        (8, 8),
                        (24, 8),
                        (32, 8),
                        (40, 4),
                        (44, 4),
                        (48, 8),
                        (56, 8),
                    ];
                    let (offset, width) = fields[rng.below(fields.len())];
                    put(&mut object, s.0 + offset, width, value);
                    continue;
                }
                // A symbol field.
                3 => {
                    let fields = [(0, 4), (4, 1), (5, 1), (6, 2), (8, 8), (16, 8)];
                    let (offset, width) = fields[rng.below(fields.len())];
                    let symbol = layout.symbols[rng.below(layout.symbols.len())];
                    put(&mut object, symbol + offset, width, value);
                    continue;
                }
                // A relocation field: offset, type, symbol, addend.
                4 => {
                    let fields = [(0, 8), (8, 4), (12, 4), (16, 8)];
                    let (offset, width) = fields[rng.below(fields.len())];
                    let relocation = layout.relocations[rng.below(layout.relocations.len())];
                    put(&mut object, relocation + offset, width, value);
                    continue;
                }
                // Anywhere in .eh_frame, often a record's length or pointer.
                5 | 6 => layout.eh_frame.0 + rng.below(layout.eh_frame.1),
                // Cut short.
                _ => {
                    object.truncate(rng.below(object.len()));
                    continue;
                }
            };
            put(&mut object, at, width, value);
        }
        object
    }

    /// Thousands of mutated real objects: `inspect` returns on each, without panicking (a
    /// panic fails the test; it is not caught).
    #[test]
    fn mutants() {
        let bases = [
            ("exceptions", object(EXCEPTIONS), 2500),
            (
                "exceptions, large code model",
                compile(EXCEPTIONS, RelocModel::Pic, CodeModel::Large, OptLevel::O2),
                1000,
            ),
            ("debug info", object(DEBUG_INFO), 1000),
        ];
        let mut rng = Rng(0x6a09_e667_f3bc_c908);
        for (name, pristine, count) in bases {
            let layout = Layout::of(&pristine);
            let (mut accepted, mut refused) = (0, 0);
            let mut reasons = std::collections::BTreeMap::new();
            for _ in 0..count {
                let mutant = mutate(&mut rng, &pristine, &layout);
                match inspect(&mutant, &LIMITS) {
                    Ok(_) => accepted += 1,
                    Err(reason) => {
                        refused += 1;
                        // Told apart by their words, numbers aside.
                        let kind: Vec<&str> = reason
                            .split(' ')
                            .map(|w| {
                                if w.contains(|c: char| c.is_ascii_digit()) {
                                    "#"
                                } else {
                                    w
                                }
                            })
                            .collect();
                        *reasons.entry(kind.join(" ")).or_insert(0) += 1;
                    }
                }
            }
            println!(
                "{name}: {count} mutants, {accepted} accepted, {refused} refused for {} kinds \
                 of reason",
                reasons.len()
            );
            assert!(
                refused > count / 2,
                "{name}: only {refused} of {count} refused"
            );
        }
    }
}
