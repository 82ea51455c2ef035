//! One ELF file, read the way the dynamic loader reads it: the dynamic section from the
//! `PT_DYNAMIC` segment (section headers may be stripped; the loader never reads them), the
//! dynamic symbols through the object's own hash table (`DT_GNU_HASH`, else `DT_HASH`), so the
//! cost grows with the names asked, not with the library, and each symbol's version from
//! `DT_VERSYM` (a hidden, non-default version is not what `dlsym` returns). `.symtab`, when
//! present, is read only for names the dynamic symbols lack, to tell "not exported" from
//! "missing".

use std::collections::HashMap;

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{Endianness, FileKind, ReadRef, StringTable};

/// How a name appears in one symbol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) defined: bool,
    pub(crate) bind: u8,
    pub(crate) visibility: u8,
    /// Only a non-default version (`foo@V1`, the `VERSYM` hidden bit): `dlsym` skips it.
    pub(crate) hidden_version: bool,
    /// Defined, but its address is 0: `dlsym` finds it, stops there, and returns NULL.
    pub(crate) null: Option<NullAddress>,
}

/// Why a definition the loader finds has the address 0 (an absolute symbol of value 0, which
/// glibc's do_lookup_x accepts: only a non-absolute zero is skipped as having no value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NullAddress {
    /// It names a version the object defines (`GLIBC_2.2.5` in libc.so.6): the linker gives
    /// each version definition such a symbol.
    VersionName,
    /// Any other absolute symbol of value 0.
    Absolute,
}

impl Entry {
    /// Defined, global or weak, default or protected: what `dlsym` can return.
    pub(crate) fn is_exported(self) -> bool {
        self.defined
            && !self.hidden_version
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

    /// A better entry for the same name wins: defined over undefined, default version over a
    /// hidden one, global over local.
    fn rank(self) -> u8 {
        u8::from(self.defined) * 4
            + u8::from(!self.hidden_version) * 2
            + u8::from(self.bind != elf::STB_LOCAL)
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

/// Everything verify-symbols needs from one file. Strings borrow the file's bytes.
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
    /// `DT_SONAME`.
    pub(crate) soname: Option<&'data str>,
    /// `PT_INTERP`: the loader that starts the program.
    pub(crate) interp: Option<&'data str>,
    /// `DF_1_NODEFLIB`: the loader skips ld.so.cache and the default directories for this
    /// object's dependencies.
    pub(crate) nodeflib: bool,
    /// Dynamic symbols but neither `DT_GNU_HASH` nor `DT_HASH`: the loader finds nothing in it.
    pub(crate) hashless: bool,
    /// Why the loader, mapping this object, would stop the program (it does not start).
    pub(crate) refused: Option<String>,
    /// `e_machine`.
    pub(crate) machine: u16,
    /// ELFCLASS64.
    pub(crate) class64: bool,
}

/// Which symbol tables [`read`] looks the names up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tables {
    /// The dynamic symbols only, through the hash table: what the loader searches in a
    /// dependency.
    Dynamic,
    /// Also `.symtab` (and a `.dynsym` without a hash table) for a name the dynamic symbols do
    /// not define, to tell "hidden" and "not exported" from "missing" in the binary being
    /// verified. The one pass over each is linear in its size, and is made only when such a
    /// name is asked.
    WithSymtab,
}

/// Reads `data` (a whole file: its bytes, or a [`crate::file::FileBytes`] that reads the parts
/// asked for) and looks each of `names` up in its symbol tables: the result's `Seen` list is
/// parallel to `names`.
pub(crate) fn read<'data, R: ReadRef<'data>>(
    data: R,
    names: &[&str],
    tables: Tables,
) -> Result<(ElfInfo<'data>, Vec<Seen>), String> {
    let mut seen = vec![Seen::default(); names.len()];
    let info = match FileKind::parse(data).map_err(|e| e.to_string())? {
        FileKind::Elf64 => {
            read_as::<elf::FileHeader64<Endianness>, R>(data, names, &mut seen, tables)?
        }
        FileKind::Elf32 => {
            read_as::<elf::FileHeader32<Endianness>, R>(data, names, &mut seen, tables)?
        }
        other => return Err(format!("not an ELF file (looks like {other:?})")),
    };
    Ok((info, seen))
}

/// Reads only what the loader needs of `data`: no names looked up.
pub(crate) fn read_info<'data, R: ReadRef<'data>>(data: R) -> Result<ElfInfo<'data>, String> {
    read(data, &[], Tables::Dynamic).map(|(info, _)| info)
}

/// The file offset of `size` bytes at virtual address `vaddr`, through the `PT_LOAD` segments.
fn offset_of<Elf: FileHeader<Endian = Endianness>>(
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    vaddr: u64,
    size: u64,
) -> Option<usize> {
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
            usize::try_from(offset.checked_add(vaddr - start)?).ok()
        } else {
            None
        }
    })
}

/// The longest hash chain walked for one name: a real table's chains hold a few symbols, a
/// corrupt one (no end mark, a cycle) must not make one lookup walk the whole file.
const MAX_CHAIN: u32 = 1 << 16;

/// The dynamic symbol table as the loader sees it: located through `PT_DYNAMIC`.
struct DynamicSymbols<'data, Elf: FileHeader, R: ReadRef<'data>> {
    data: R,
    endian: Endianness,
    symtab: usize,
    strtab: StringTable<'data, R>,
    versym: Option<usize>,
    /// `DT_VERDEF` and `DT_VERDEFNUM`: the versions the object defines.
    verdef: Option<usize>,
    verdefnum: u32,
    gnu_hash: Option<usize>,
    hash: Option<usize>,
    _elf: std::marker::PhantomData<Elf>,
}

impl<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>> DynamicSymbols<'data, Elf, R> {
    fn symbol(&self, index: u32) -> Option<&'data Elf::Sym> {
        let size = std::mem::size_of::<Elf::Sym>();
        let at = self
            .symtab
            .checked_add(usize::try_from(index).ok()?.checked_mul(size)?)?;
        self.data.read_at::<Elf::Sym>(at as u64).ok()
    }

    fn name(&self, symbol: &Elf::Sym) -> Option<&'data [u8]> {
        self.strtab.get(symbol.st_name(self.endian)).ok()
    }

    fn hidden_version(&self, index: u32) -> bool {
        let Some(versym) = self.versym else {
            return false;
        };
        let at = versym.saturating_add(usize::try_from(index).unwrap_or(usize::MAX) * 2);
        self.data
            .read_at::<object::U16Bytes<Endianness>>(at as u64)
            .is_ok_and(|v| v.get(self.endian) & 0x8000 != 0)
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        self.data
            .read_at::<object::U32Bytes<Endianness>>(at as u64)
            .ok()
            .map(|v| v.get(self.endian))
    }

    /// Whether `name` is the name of a version the object defines (`DT_VERDEF`: a chain of
    /// `DT_VERDEFNUM` definitions, each with its name first among its auxiliary entries).
    /// object reads version definitions only through section headers, which the loader (and
    /// so this reader) does not need; the chain is walked with object's types.
    fn defines_version(&self, name: &[u8]) -> bool {
        let Some(mut at) = self.verdef.map(|v| v as u64) else {
            return false;
        };
        for _ in 0..self.verdefnum.min(MAX_CHAIN) {
            let Ok(definition) = self.data.read_at::<elf::Verdef<Endianness>>(at) else {
                return false;
            };
            let first = at.checked_add(definition.vd_aux.get(self.endian).into());
            if let Some(first) = first
                && let Ok(aux) = self.data.read_at::<elf::Verdaux<Endianness>>(first)
                && self.strtab.get(aux.vda_name.get(self.endian)) == Ok(name)
            {
                return true;
            }
            match definition.vd_next.get(self.endian) {
                0 => return false,
                next => match at.checked_add(next.into()) {
                    Some(next) => at = next,
                    None => return false,
                },
            }
        }
        false
    }

    fn entry(&self, index: u32) -> Option<Entry> {
        let symbol = self.symbol(index)?;
        // What glibc's do_lookup_x accepts: a defined symbol of an allowed type, with a value,
        // or absolute (an absolute zero, like a version's name symbol, is found, and is the
        // address 0: `dlsym` returns NULL without an error).
        let kind = symbol.st_type();
        let allowed = matches!(
            kind,
            elf::STT_NOTYPE
                | elf::STT_OBJECT
                | elf::STT_FUNC
                | elf::STT_COMMON
                | elf::STT_TLS
                | elf::STT_GNU_IFUNC
        );
        let value: u64 = symbol.st_value(self.endian).into();
        let section = symbol.st_shndx(self.endian);
        let absolute = section == elf::SHN_ABS;
        let defined = section != elf::SHN_UNDEF
            && allowed
            && (value != 0 || kind == elf::STT_TLS || absolute);
        let null = (defined && absolute && value == 0 && kind != elf::STT_TLS).then(|| match self
            .name(symbol)
        {
            Some(name) if self.defines_version(name) => NullAddress::VersionName,
            _ => NullAddress::Absolute,
        });
        Some(Entry {
            defined,
            bind: symbol.st_bind(),
            visibility: symbol.st_visibility(),
            hidden_version: self.hidden_version(index),
            null,
        })
    }

    /// The best entry named `name`: through `DT_GNU_HASH`, else `DT_HASH`. `None` when the
    /// object has neither (the loader could not look anything up in it either).
    fn lookup(&self, name: &str) -> Option<Option<Entry>> {
        let mut best: Option<Entry> = None;
        let mut consider = |index: u32| {
            let Some(symbol) = self.symbol(index) else {
                return;
            };
            if self.name(symbol) != Some(name.as_bytes()) {
                return;
            }
            if let Some(entry) = self.entry(index)
                && best.is_none_or(|b| entry.rank() > b.rank())
            {
                best = Some(entry);
            }
        };
        if let Some(table) = self.gnu_hash {
            self.gnu_lookup(table, name, &mut consider)?;
            return Some(best);
        }
        if let Some(table) = self.hash {
            self.sysv_lookup(table, name, &mut consider)?;
            return Some(best);
        }
        None
    }

    /// `DT_GNU_HASH`: bloom filter, bucket, then the chain of equal-bucket hashes.
    fn gnu_lookup(&self, table: usize, name: &str, consider: &mut dyn FnMut(u32)) -> Option<()> {
        let hash = name.bytes().fold(5381u32, |h, b| {
            h.wrapping_mul(33).wrapping_add(u32::from(b))
        });
        let nbuckets = self.u32_at(table)?;
        let symoffset = self.u32_at(table + 4)?;
        let bloom_size = self.u32_at(table + 8)?;
        let bloom_shift = self.u32_at(table + 12)?;
        if nbuckets == 0 || bloom_size == 0 {
            return Some(());
        }
        let word = std::mem::size_of::<Elf::Word>();
        let bits = (word * 8) as u32;
        let bloom = table + 16;
        let slot = usize::try_from((hash / bits) % bloom_size).ok()?;
        let at = bloom.checked_add(slot.checked_mul(word)?)?;
        let value: u64 = if word == 8 {
            self.data
                .read_at::<object::U64Bytes<Endianness>>(at as u64)
                .ok()?
                .get(self.endian)
        } else {
            u64::from(self.u32_at(at)?)
        };
        let mask = (1u64 << (hash % bits)) | (1u64 << ((hash >> (bloom_shift % 32)) % bits));
        if value & mask != mask {
            return Some(());
        }
        let buckets = bloom.checked_add(usize::try_from(bloom_size).ok()?.checked_mul(word)?)?;
        let chains = buckets.checked_add(usize::try_from(nbuckets).ok()?.checked_mul(4)?)?;
        let mut index = self.u32_at(buckets + 4 * usize::try_from(hash % nbuckets).ok()?)?;
        if index < symoffset {
            return Some(());
        }
        // A chain ends at the entry with the low bit set; a corrupt one without that mark is cut
        // off after MAX_CHAIN entries (real chains hold a handful).
        for _ in 0..MAX_CHAIN {
            let link = usize::try_from(index - symoffset).ok()?;
            let chain_hash = self.u32_at(chains.checked_add(link.checked_mul(4)?)?)?;
            if chain_hash | 1 == hash | 1 {
                consider(index);
            }
            if chain_hash & 1 == 1 {
                return Some(());
            }
            index = index.checked_add(1)?;
        }
        Some(())
    }

    /// `DT_HASH`: the System V table, bucket then chain.
    fn sysv_lookup(&self, table: usize, name: &str, consider: &mut dyn FnMut(u32)) -> Option<()> {
        let hash = name.bytes().fold(0u32, |h, b| {
            let h = (h << 4).wrapping_add(u32::from(b));
            let g = h & 0xf000_0000;
            (h ^ (g >> 24)) & !g
        });
        let nbucket = self.u32_at(table)?;
        let nchain = self.u32_at(table + 4)?;
        if nbucket == 0 {
            return Some(());
        }
        let bucket = table + 8;
        let chain = bucket.checked_add(usize::try_from(nbucket).ok()?.checked_mul(4)?)?;
        let mut index = self.u32_at(bucket + 4 * usize::try_from(hash % nbucket).ok()?)?;
        // Each step visits a new index; more steps than entries means a cycle, and a corrupt
        // count is cut off after MAX_CHAIN steps.
        for _ in 0..=nchain.min(MAX_CHAIN) {
            if index == 0 || index >= nchain {
                return Some(());
            }
            consider(index);
            index =
                self.u32_at(chain.checked_add(usize::try_from(index).ok()?.checked_mul(4)?)?)?;
        }
        Some(())
    }
}

fn read_as<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(
    data: R,
    names: &[&str],
    seen: &mut [Seen],
    tables: Tables,
) -> Result<ElfInfo<'data>, String> {
    fn err(what: &'static str) -> impl Fn(object::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    let header = Elf::parse(data).map_err(err("ELF header"))?;
    let endian = header.endian().map_err(err("ELF header"))?;
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
        soname: None,
        interp: None,
        nodeflib: false,
        hashless: false,
        refused: None,
        machine: header.e_machine(endian),
        class64: header.is_class_64(),
    };
    let mut interp = false;
    let mut dynamic_segment = None;
    let file_size = data
        .len()
        .map_err(|()| "cannot read the file's size".to_owned())?;
    for (index, segment) in segments.iter().enumerate() {
        if segment.p_type(endian) == elf::PT_LOAD {
            // The loader maps each PT_LOAD from the file: past the end there is nothing to map
            // and the process faults on first touch. A truncated file cannot run.
            let offset: u64 = segment.p_offset(endian).into();
            let size: u64 = segment.p_filesz(endian).into();
            if offset.checked_add(size).is_none_or(|end| end > file_size) {
                return Err(format!(
                    "truncated or corrupt: PT_LOAD segment {index} ends past the end of the \
                     file ({file_size} bytes), where the loader would map it"
                ));
            }
        }
    }
    for segment in segments {
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
            elf::PT_DYNAMIC => dynamic_segment = Some(segment),
            _ => {}
        }
    }

    let mut flags_1 = 0u64;
    let mut symbols = None;
    if let Some(segment) = dynamic_segment {
        let entries = segment
            .dynamic(endian, data)
            .map_err(err("PT_DYNAMIC"))?
            .unwrap_or(&[]);
        let address = |tag: u32| {
            entries
                .iter()
                .find(|e| e.tag32(endian) == Some(tag))
                .map(|e| e.d_val(endian).into())
        };
        let strtab = address(elf::DT_STRTAB).and_then(|vaddr: u64| {
            let size: u64 = address(elf::DT_STRSZ)?;
            let at = offset_of::<Elf>(segments, endian, vaddr, size)? as u64;
            Some(StringTable::new(data, at, at.checked_add(size)?))
        });
        let Some(strtab) = strtab else {
            return Err("PT_DYNAMIC: no readable string table (DT_STRTAB, DT_STRSZ)".into());
        };
        let located =
            |tag: u32| address(tag).and_then(|vaddr| offset_of::<Elf>(segments, endian, vaddr, 1));
        for entry in entries {
            let Some(tag) = entry.tag32(endian) else {
                continue;
            };
            let text = || -> Result<&'data str, String> {
                let start = u32::try_from(Into::<u64>::into(entry.d_val(endian)))
                    .map_err(|_| "a .dynamic string offset is out of range".to_owned())?;
                let text = strtab.get(start).map_err(|()| {
                    "a .dynamic string is past the string table or not terminated".to_owned()
                })?;
                std::str::from_utf8(text).map_err(|_| ".dynamic string is not UTF-8".to_owned())
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
        // glibc ignores DT_RPATH when DT_RUNPATH is present (get-dynamic-info.h).
        if !info.runpath.is_empty() {
            info.rpath.clear();
        }
        if let Some(symtab) = located(elf::DT_SYMTAB) {
            symbols = Some(DynamicSymbols::<Elf, R> {
                data,
                endian,
                symtab,
                strtab,
                versym: located(elf::DT_VERSYM),
                verdef: located(elf::DT_VERDEF),
                verdefnum: address(elf::DT_VERDEFNUM)
                    .and_then(|n: u64| u32::try_from(n).ok())
                    .unwrap_or(0),
                gnu_hash: located(elf::DT_GNU_HASH),
                hash: located(elf::DT_HASH),
                _elf: std::marker::PhantomData,
            });
        }
    }
    // ld.so sets up each object's hash table as it maps it, asserting that the bloom filter's
    // word count is a power of two (`_dl_setup_hash`; 0 passes): the program stops there.
    if let Some(bloom_words) = symbols
        .as_ref()
        .and_then(|s| s.u32_at(s.gnu_hash?.checked_add(8)?))
        .filter(|words| words & words.wrapping_sub(1) != 0)
    {
        info.refused = Some(format!(
            "its GNU hash table (DT_GNU_HASH) has a bloom filter of {bloom_words} words, not a \
             power of two: ld.so stops on it (an assertion in _dl_setup_hash) as it maps the \
             object. Link it again with the system linker"
        ));
    }
    info.dynamic = symbols.is_some();
    info.nodeflib = flags_1 & u64::from(elf::DF_1_NODEFLIB) != 0;
    info.bind_now |= flags_1 & u64::from(elf::DF_1_NOW) != 0;
    // An executable is PIE when it is ET_DYN and is started by an interpreter (or says so).
    if info.kind == ObjectKind::SharedLibrary && (interp || flags_1 & u64::from(elf::DF_1_PIE) != 0)
    {
        info.kind = ObjectKind::Executable;
        info.pie = true;
    }

    let mut unhashed = false;
    if let Some(symbols) = &symbols {
        for (name, slot) in names.iter().zip(seen.iter_mut()) {
            match symbols.lookup(name) {
                Some(entry) => slot.dynsym = entry,
                None => unhashed = true,
            }
        }
    }
    info.hashless = unhashed;
    // `.dynsym` without a hash table and `.symtab`: one pass each, for the binary being
    // verified only, and only for the names `.dynsym` has no definition of (one it defines,
    // exported or not, is known already). The loader cannot look a name up in an object
    // without a hash table (glibc's do_lookup_x skips it), so what such a `.dynsym` holds is
    // recorded like `.symtab`: present in the file, never found by `dlsym`.
    if tables == Tables::Dynamic {
        return Ok(info);
    }
    let pending: Vec<usize> = (0..names.len())
        .filter(|&i| !seen[i].dynsym.is_some_and(|e| e.defined))
        .collect();
    if pending.is_empty() {
        return Ok(info);
    }
    // Section headers are optional to the loader; a binary without them still runs.
    let Ok(sections) = header.sections(endian, data) else {
        return Ok(info);
    };
    let slots = NameSlots::new(names, &pending);
    for (table_type, wanted) in [(elf::SHT_DYNSYM, unhashed), (elf::SHT_SYMTAB, true)] {
        if !wanted {
            continue;
        }
        let Ok(table) = sections.symbols(endian, data, table_type) else {
            continue;
        };
        let Ok(strtab) = sections
            .section(table.string_section())
            .and_then(|s| s.data(endian, data))
        else {
            continue;
        };
        for symbol in table.iter() {
            let Some(index) = slots.find(strtab, symbol.st_name(endian)) else {
                continue;
            };
            let entry = Entry {
                defined: !symbol.is_undefined(endian),
                bind: symbol.st_bind(),
                visibility: symbol.st_visibility(),
                hidden_version: false,
                null: None,
            };
            for &i in &slots.indices[index] {
                let current = &mut seen[i].symtab;
                if current.is_none_or(|c| entry.rank() > c.rank()) {
                    *current = Some(entry);
                }
            }
        }
    }
    Ok(info)
}

/// The names a linear pass over a symbol table looks for. Most symbols of a large table are
/// none of them, so a symbol is first checked against the first two bytes of the names (one
/// bit of a 64 Ki-bit set, no string scanned), and only then its whole name read and hashed.
struct NameSlots<'n> {
    prefixes: Vec<u64>,
    by_name: HashMap<&'n [u8], usize>,
    /// For each distinct name: the positions in `names` that ask for it.
    indices: Vec<Vec<usize>>,
}

impl<'n> NameSlots<'n> {
    fn new(names: &[&'n str], pending: &[usize]) -> Self {
        let mut slots = NameSlots {
            prefixes: vec![0; 1 << 10],
            by_name: HashMap::with_capacity(pending.len()),
            indices: Vec::new(),
        };
        for &i in pending {
            let name = names[i].as_bytes();
            let prefix = Self::prefix(name);
            slots.prefixes[prefix / 64] |= 1 << (prefix % 64);
            let next = slots.indices.len();
            let slot = *slots.by_name.entry(name).or_insert(next);
            if slot == next {
                slots.indices.push(Vec::new());
            }
            slots.indices[slot].push(i);
        }
        slots
    }

    /// The first two bytes of a name (a NUL for a missing one) as one 16-bit number.
    fn prefix(name: &[u8]) -> usize {
        match name {
            [] | [0, ..] => 0,
            [first] | [first, 0, ..] => usize::from(*first) << 8,
            [first, second, ..] => usize::from(*first) << 8 | usize::from(*second),
        }
    }

    /// The slot of the name at `offset` in `strtab`, if it is one of the names.
    fn find(&self, strtab: &[u8], offset: u32) -> Option<usize> {
        let rest = strtab.get(usize::try_from(offset).ok()?..)?;
        let prefix = Self::prefix(rest);
        if self.prefixes[prefix / 64] & (1 << (prefix % 64)) == 0 {
            return None;
        }
        let end = rest.iter().position(|b| *b == 0)?;
        self.by_name.get(&rest[..end]).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::NameSlots;

    /// Each asked name is found at its offset, whatever its length (one byte, two, more), and
    /// a name that only starts like an asked one, or is a prefix of one, is not.
    #[test]
    fn name_slots_find_exactly_the_asked_names() {
        let strtab = b"\0a\0ab\0abc\0abd\0b\0zz_not_asked\0";
        let names = ["ab", "a", "abc", "b", "ab"];
        let slots = NameSlots::new(&names, &[0, 1, 2, 3, 4]);
        let at = |name: &str| {
            let needle = format!("\0{name}\0");
            let position = strtab
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap();
            u32::try_from(position + 1).unwrap()
        };
        let indices = |name: &str| {
            slots
                .find(strtab, at(name))
                .map(|slot| slots.indices[slot].clone())
        };
        assert_eq!(indices("a"), Some(vec![1]));
        assert_eq!(indices("ab"), Some(vec![0, 4]));
        assert_eq!(indices("abc"), Some(vec![2]));
        assert_eq!(indices("b"), Some(vec![3]));
        assert_eq!(indices("abd"), None);
        assert_eq!(indices("zz_not_asked"), None);
        // The empty name at offset 0, an offset past the table, one inside a name's tail.
        assert_eq!(slots.find(strtab, 0), None);
        assert_eq!(slots.find(strtab, 999), None);
        assert_eq!(slots.find(strtab, at("abc") + 1), None);
    }
}
