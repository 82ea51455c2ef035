//! One ELF file, read the way glibc's dynamic loader reads it, and its answer to "does this file
//! export this name, and under which version".
//!
//! The dynamic section comes from the `PT_DYNAMIC` segment (section headers may be stripped;
//! the loader never reads them). The dynamic symbol table, its strings, its version tables and
//! its hash tables are located through `DT_SYMTAB`, `DT_STRTAB`, `DT_VERSYM`, `DT_VERDEF`,
//! `DT_GNU_HASH` and `DT_HASH`, and then read with object's own readers: they are described to
//! object as the section headers it reads such tables from (see `tables.rs`), so that
//! object's `SymbolTable`, `VersionTable`, `GnuHashTable` and `HashTable` are built once per
//! file and each name is looked up through the hash table (`object::elf::gnu_hash`,
//! `object::elf::hash`), as `dlsym` looks it up: the cost grows with the names asked, not with
//! the library. The only thing read by hand is what the format does not store: how many
//! symbols a GNU hash table covers (the end of its last chain).
//!
//! What `dlsym` returns (glibc 2.36, `elf/dl-lookup.c`, `do_lookup_x` and `check_match`): a
//! defined symbol of an allowed type, global or weak, default or protected, with a value (or
//! absolute: an absolute zero is found and is NULL to `dlsym`), and, when the object has
//! versions, an unversioned symbol or one of a version that is not hidden (`foo@@V2`, not
//! `foo@V1`). `.symtab`, when present, is read only for names the dynamic symbols lack, to
//! tell "not exported" from "missing".

mod class;
mod dynamic;
mod linear;
mod tables;

use object::elf;
use object::read::elf::{ProgramHeader, SectionHeader};
use object::{Endianness, FileKind, ReadRef};

use crate::archive::Definitions;
use crate::{Error, ErrorKind, Result};
use class::ElfClass;
use dynamic::loader_info;
use dynamic::parse;
use linear::linear_pass;
use tables::{definitions_as, each_definition_as, locate_tables, look_up, refusal};

/// How a name appears in one symbol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Defined here (not `SHN_UNDEF`, of a type the loader accepts, with a value or absolute).
    pub defined: bool,
    /// `STB_*`.
    pub bind: u8,
    /// `STV_*`.
    pub visibility: u8,
    /// Only a non-default version (`foo@V1`, the `VERSYM` hidden bit): `dlsym` skips it.
    pub hidden_version: bool,
    /// Defined, but its address is 0: `dlsym` finds it, stops there, and returns NULL.
    pub null: Option<NullAddress>,
}

/// Why a definition the loader finds has the address 0 (an absolute symbol of value 0, which
/// glibc's `do_lookup_x` accepts: only a non-absolute zero is skipped as having no value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullAddress {
    /// It names a version the object defines (`GLIBC_2.2.5` in libc.so.6): the linker gives
    /// each version definition such a symbol.
    VersionName,
    /// Any other absolute symbol of value 0.
    Absolute,
}

impl Entry {
    /// Defined, global or weak, default or protected: what `dlsym` can return.
    pub fn is_exported(self) -> bool {
        self.defined
            && !self.hidden_version
            && matches!(
                self.bind,
                elf::STB_GLOBAL | elf::STB_WEAK | elf::STB_GNU_UNIQUE
            )
            && matches!(self.visibility, elf::STV_DEFAULT | elf::STV_PROTECTED)
    }

    /// Defined but never visible outside its module: hidden/internal, or local binding.
    pub fn is_hidden(self) -> bool {
        self.defined
            && (matches!(self.visibility, elf::STV_HIDDEN | elf::STV_INTERNAL)
                || self.bind == elf::STB_LOCAL)
    }

    /// A better entry for the same name wins: defined over undefined, default version over a
    /// hidden one, global over local.
    fn rank(self) -> u8 {
        u8::from(self.defined) * 4
            + u8::from(!self.hidden_version) * 2
            + u8::from(self.bind != elf::STB_LOCAL)
    }
}

/// Where one requested name was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// In the dynamic symbol table, found through the hash table (a hidden version, too, when
    /// `.symtab` was asked for: [`Tables::WithSymtab`]).
    pub dynsym: Option<Entry>,
    /// In `.symtab`, or in a `.dynsym` the loader cannot search (no hash table).
    pub symtab: Option<Entry>,
    /// The version of the dynamic symbol found (`GLIBC_2.2.5`), when it has one.
    pub version: Option<String>,
}

/// The answer to "does this file export this name": one rule, for the build's proof and the
/// run time's verdict alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// `dlsym` returns it.
    Exported,
    /// `dlsym` finds it, and it is the address 0 (NULL, without an error).
    Null(NullAddress),
    /// Defined only as a non-default version (`foo@V1`): `dlsym` never returns it.
    HiddenVersion,
    /// Defined with hidden or internal visibility, or local binding: never visible.
    Hidden,
    /// Defined, but only where the loader does not look: `.symtab`, or a `.dynsym` without a
    /// hash table.
    NotExported,
    /// Not defined at all.
    Absent,
}

impl Seen {
    /// The one rule both sides apply (see [`Export`]).
    pub fn export(&self) -> Export {
        let dynsym = self.dynsym.filter(|e| e.defined);
        if let Some(entry) = dynsym.filter(|e| e.is_exported()) {
            return entry.null.map_or(Export::Exported, Export::Null);
        }
        if dynsym.is_some_and(|e| e.hidden_version) {
            return Export::HiddenVersion;
        }
        if dynsym.or(self.symtab).is_some_and(|e| e.is_hidden()) {
            return Export::Hidden;
        }
        if self.symtab.is_some_and(|e| e.defined) || dynsym.is_some() {
            return Export::NotExported;
        }
        Export::Absent
    }
}

/// What kind of ELF object this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// An executable, position-independent or not.
    Executable,
    /// A shared library.
    SharedLibrary,
    /// A relocatable object, a core file, ...
    Other,
}

/// What the loader reads of one file. Strings borrow the file's bytes.
#[derive(Debug, Clone)]
pub struct ElfInfo<'data> {
    /// Executable, shared library or other.
    pub kind: ObjectKind,
    /// A position-independent executable.
    pub pie: bool,
    /// All relocations resolved at start-up (`BIND_NOW`).
    pub bind_now: bool,
    /// Has a `PT_GNU_RELRO` segment.
    pub relro: bool,
    /// A `PT_DYNAMIC` segment and a dynamic symbol table: something a dynamic loader and
    /// `dlsym` can use.
    pub dynamic: bool,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<&'data str>,
    /// `DT_RUNPATH` entries as written.
    pub runpath: Vec<&'data str>,
    /// `DT_RPATH` entries as written (none when there is a `DT_RUNPATH`, which glibc then
    /// prefers: `get-dynamic-info.h`).
    pub rpath: Vec<&'data str>,
    /// `DT_SONAME`.
    pub soname: Option<&'data str>,
    /// `PT_INTERP`: the loader that starts the program.
    pub interp: Option<&'data str>,
    /// `DF_1_NODEFLIB`: the loader skips ld.so.cache and the default directories for this
    /// object's dependencies.
    pub nodeflib: bool,
    /// Dynamic symbols but neither `DT_GNU_HASH` nor `DT_HASH` the loader can use: it finds
    /// nothing in it.
    pub hashless: bool,
    /// Why the loader, mapping this object, would stop the program (it does not start).
    pub refused: Option<String>,
    /// `e_machine`.
    pub machine: u16,
    /// ELFCLASS64.
    pub class64: bool,
}

/// Which symbol tables [`read`] looks the names up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    /// The dynamic symbols only, through the hash table: what the loader searches in a
    /// dependency.
    Dynamic,
    /// Also, for a name the dynamic symbols do not export: its non-default versions, `.symtab`
    /// and a `.dynsym` without a hash table, to tell "hidden" and "not exported" from
    /// "missing" in the file being checked. The one pass over each table is linear in its
    /// size, and is made only when such a name is asked.
    WithSymtab,
}

/// Reads `data` (a whole file: its bytes, or a reader of one's own that reads the parts asked
/// for) and looks each of `names` up: the result's [`Seen`] list is parallel to `names`. Any
/// bytes give an answer or an error, never a panic.
pub fn read<'data, T>(
    data: &'data T,
    names: &[&str],
    tables: Tables,
) -> Result<(ElfInfo<'data>, Vec<Seen>)>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    match kind(data)? {
        Class::Elf64 => read_as::<elf::FileHeader64<Endianness>, T>(data, names, tables),
        Class::Elf32 => read_as::<elf::FileHeader32<Endianness>, T>(data, names, tables),
    }
}

/// Reads only what the loader needs of `data`: no names looked up.
pub fn read_info<'data, T>(data: &'data T) -> Result<ElfInfo<'data>>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    read(data, &[], Tables::Dynamic).map(|(info, _)| info)
}

/// Every name the dynamic symbol table defines, as the loader sees it (through `PT_DYNAMIC`,
/// with the count its hash table gives): exported strong, exported weak, and the ones it never
/// returns (hidden, local, only a non-default version). A linear pass over the whole table:
/// for what a lookup cannot answer, such as two libraries defining the same name, or the names
/// close to a misspelt one. An object without a hash table defines nothing the loader finds.
pub fn definitions<T>(data: &T) -> Result<Definitions>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    match kind(data)? {
        Class::Elf64 => definitions_as::<elf::FileHeader64<Endianness>, T>(data),
        Class::Elf32 => definitions_as::<elf::FileHeader32<Endianness>, T>(data),
    }
}

/// Calls `each` with every name [`definitions`] counts as exported (strong or weak, default
/// or protected, under the default version), as bytes, in table order and possibly repeated:
/// a pass over every name (for the names close to a misspelt one) that copies none.
pub fn each_exported_name<T>(data: &T, mut each: impl FnMut(&[u8])) -> Result<()>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    let keep = |name: &[u8], exported, _weak| {
        if exported {
            each(name)
        }
    };
    match kind(data)? {
        Class::Elf64 => each_definition_as::<elf::FileHeader64<Endianness>, T>(data, keep),
        Class::Elf32 => each_definition_as::<elf::FileHeader32<Endianness>, T>(data, keep),
    }
}

/// The GNU build ID of the file (the `NT_GNU_BUILD_ID` note of a `PT_NOTE` segment, else of a
/// `SHT_NOTE` section), if it has one: what tells two builds of a library with one name apart.
pub fn build_id<'data, R: ReadRef<'data>>(data: R) -> Result<Option<&'data [u8]>> {
    match kind(data)? {
        Class::Elf64 => build_id_as::<elf::FileHeader64<Endianness>, R>(data),
        Class::Elf32 => build_id_as::<elf::FileHeader32<Endianness>, R>(data),
    }
}

/// A build ID as the hex text the note records.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

enum Class {
    Elf32,
    Elf64,
}

fn kind<'data, R: ReadRef<'data>>(data: R) -> Result<Class> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => Ok(Class::Elf64),
        Ok(FileKind::Elf32) => Ok(Class::Elf32),
        Ok(other) => Err(Error::new(
            ErrorKind::NotElf,
            format!("not an ELF file (looks like {other:?})"),
        )),
        Err(e) => Err(Error::new(
            ErrorKind::NotElf,
            format!("not an ELF file ({e})"),
        )),
    }
}

pub(crate) fn malformed(what: &'static str) -> impl Fn(object::Error) -> Error {
    move |e| Error::new(ErrorKind::Malformed, format!("{what}: {e}"))
}

fn read_as<'data, Elf: ElfClass, T>(
    data: &'data T,
    names: &[&str],
    tables: Tables,
) -> Result<(ElfInfo<'data>, Vec<Seen>)>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    let parsed = parse::<Elf, &'data T>(data)?;
    let mut info = loader_info(&parsed, data)?;
    let mut seen = vec![Seen::default(); names.len()];
    let located = parsed
        .dynamic
        .as_ref()
        .and_then(|d| locate_tables(&parsed, d, data));
    info.dynamic = located.is_some();
    if let Some(tables) = &located {
        info.hashless = !tables.hashed;
        info.refused = refusal(&parsed, data);
    }
    if let Some(located) = located.as_ref().filter(|t| t.hashed && !names.is_empty()) {
        look_up::<Elf, T>(&parsed, located, data, names, tables, &mut seen);
    }
    if tables == Tables::WithSymtab {
        linear_pass(&parsed, data, names, info.hashless, &mut seen);
    }
    Ok((info, seen))
}

fn build_id_as<'data, Elf: ElfClass, R: ReadRef<'data>>(data: R) -> Result<Option<&'data [u8]>> {
    let header = Elf::parse(data).map_err(malformed("ELF header"))?;
    let endian = header.endian().map_err(malformed("ELF header"))?;
    let is_build_id = |note: &object::read::elf::Note<'data, Elf>| {
        note.name() == elf::ELF_NOTE_GNU && note.n_type(endian) == elf::NT_GNU_BUILD_ID
    };
    let segments = header
        .program_headers(endian, data)
        .map_err(malformed("program headers"))?;
    for segment in segments {
        if let Ok(Some(mut notes)) = segment.notes(endian, data) {
            while let Ok(Some(note)) = notes.next() {
                if is_build_id(&note) {
                    return Ok(Some(note.desc()));
                }
            }
        }
    }
    // An object without segments (a relocatable file) has its notes in sections only.
    if segments.is_empty()
        && let Ok(sections) = header.sections(endian, data)
    {
        for section in sections.iter() {
            if let Ok(Some(mut notes)) = section.notes(endian, data) {
                while let Ok(Some(note)) = notes.next() {
                    if is_build_id(&note) {
                        return Ok(Some(note.desc()));
                    }
                }
            }
        }
    }
    Ok(None)
}
