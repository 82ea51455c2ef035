//! The loader's tables, located through `PT_DYNAMIC` and read with object's readers: the
//! dynamic symbol table, its versions, its hash table. object reads such tables from section
//! headers; a file need not have those, and the loader never reads them, so the tables found
//! through the dynamic section are described to object as section headers of their own.

use object::elf;
use std::cell::OnceCell;

use object::read::elf::{
    FileHeader, GnuHashTable, HashTable, SectionTable, Sym, SymbolTable, VerdefIterator, Version,
    VersionIndex, VersionTable,
};
use object::{Endianness, ReadRef, StringTable, SymbolIndex, U32};

use super::class::{ElfClass, Located};
use super::dynamic::{Dynamic, Parsed, offset_of, parse};
use super::{Entry, NullAddress, Seen, Tables};
use crate::Result;
use crate::archive::Definitions;

/// Where the loader's tables are, as section headers in this order (index 0 is the null
/// section, as in every section table).
const DYNSYM: usize = 1;
const DYNSTR: usize = 2;
const HEADERS: usize = 7;

/// The dynamic symbol table and what belongs to it, located through `PT_DYNAMIC`: the section
/// headers object needs to read them, which a stripped file need not have and the loader
/// never reads.
#[derive(Debug, Clone, Default)]
pub(super) struct LoaderTables {
    /// null, `.dynsym`, `.dynstr`, `.gnu.version`, `.gnu.version_d`, `.gnu.hash`, `.hash`;
    /// a table the object does not have is a null header.
    tables: [Located; HEADERS],
    /// The object has a hash table the loader can use.
    pub(super) hashed: bool,
}

/// The longest hash chain or version chain walked: a real one holds a handful of entries, a
/// corrupt one (no end mark, a cycle) must not make one lookup walk the whole file.
const MAX_CHAIN: u32 = 1 << 16;

/// The loader's tables, located through `PT_DYNAMIC`; `None` without a `DT_SYMTAB` in a
/// loaded segment (nothing a loader could search).
pub(super) fn locate_tables<'data, Elf: ElfClass, R: ReadRef<'data>>(
    parsed: &Parsed<'data, Elf, R>,
    dynamic: &Dynamic<'data, Elf, R>,
    data: R,
) -> Option<LoaderTables> {
    let endian = parsed.endian;
    let at = |tag: u32| {
        let vaddr = dynamic.value(endian, tag)?;
        offset_of::<Elf>(parsed.segments, endian, vaddr, 1)
    };
    let symtab = at(elf::DT_SYMTAB)?;
    let sym_size = std::mem::size_of::<Elf::Sym>() as u64;
    let mut t = LoaderTables::default();
    t.tables[DYNSTR] = Located {
        sh_type: elf::SHT_STRTAB,
        offset: dynamic.strtab_at.0,
        size: dynamic.strtab_at.1,
        ..Located::default()
    };
    // How many symbols: the hash table covers them all (the format stores no count).
    let gnu =
        at(elf::DT_GNU_HASH).and_then(|offset| gnu_hash_extent::<Elf, R>(data, endian, offset));
    let sysv = at(elf::DT_HASH).and_then(|offset| sysv_hash_extent::<R>(data, endian, offset));
    let count = match (&gnu, &sysv) {
        (Some((_, _, count)), _) | (None, Some((_, _, count))) => *count,
        (None, None) => 0,
    };
    t.hashed = gnu.is_some() || sysv.is_some();
    t.tables[DYNSYM] = Located {
        sh_type: elf::SHT_DYNSYM,
        offset: symtab,
        size: u64::from(count) * sym_size,
        link: DYNSTR as u32,
        entsize: sym_size,
    };
    if let Some(versym) = at(elf::DT_VERSYM).filter(|_| count > 0) {
        t.tables[3] = Located {
            sh_type: elf::SHT_GNU_VERSYM,
            offset: versym,
            size: u64::from(count) * 2,
            link: DYNSYM as u32,
            entsize: 2,
        };
    }
    if let Some((offset, size)) =
        at(elf::DT_VERDEF).and_then(|o| verdef_extent::<R>(data, endian, o))
    {
        t.tables[4] = Located {
            sh_type: elf::SHT_GNU_VERDEF,
            offset,
            size,
            link: DYNSTR as u32,
            ..Located::default()
        };
    }
    // The GNU table, when there is one, is the one the loader uses (`_dl_setup_hash`).
    if let Some((offset, size, _)) = gnu {
        t.tables[5] = Located {
            sh_type: elf::SHT_GNU_HASH,
            offset,
            size,
            link: DYNSYM as u32,
            ..Located::default()
        };
    } else if let Some((offset, size, _)) = sysv {
        t.tables[6] = Located {
            sh_type: elf::SHT_HASH,
            offset,
            size,
            link: DYNSYM as u32,
            ..Located::default()
        };
    }
    Some(t)
}

fn u32_at<'data, R: ReadRef<'data>>(data: R, endian: Endianness, at: u64) -> Option<u32> {
    data.read_at::<U32<Endianness>>(at)
        .ok()
        .map(|v| v.get(endian))
}

/// `DT_GNU_HASH` at `offset`: its size in bytes and the number of symbols it covers (where its
/// last chain ends), or `None` when the loader could not search it. Also `None` for what
/// object's reader is not made for, and glibc's is undefined on: no bucket, no bloom word, a
/// bloom shift of 32 or more.
fn gnu_hash_extent<'data, Elf: FileHeader, R: ReadRef<'data>>(
    data: R,
    endian: Endianness,
    offset: u64,
) -> Option<(u64, u64, u32)> {
    let header = data
        .read_at::<elf::GnuHashHeader<Endianness>>(offset)
        .ok()?;
    let buckets_count = header.bucket_count.get(endian);
    let base = header.symbol_base.get(endian);
    let bloom = header.bloom_count.get(endian);
    if buckets_count == 0 || bloom == 0 || header.bloom_shift.get(endian) >= 32 {
        return None;
    }
    let word = std::mem::size_of::<Elf::Word>() as u64;
    let buckets_at = offset
        .checked_add(16)?
        .checked_add(u64::from(bloom) * word)?;
    let buckets: &[U32<Endianness>] = data
        .read_slice_at(buckets_at, usize::try_from(buckets_count).ok()?)
        .ok()?;
    let chains_at = buckets_at.checked_add(u64::from(buckets_count) * 4)?;
    let last = buckets.iter().map(|b| b.get(endian)).max().unwrap_or(0);
    let mut count = base;
    if last >= base {
        // The last chain ends at the first value with its low bit set; one without that mark
        // (corrupt) leaves the table unusable.
        let mut index = last;
        let mut ended = false;
        for _ in 0..MAX_CHAIN {
            let value = u32_at(
                data,
                endian,
                chains_at.checked_add(u64::from(index - base) * 4)?,
            )?;
            if value & 1 == 1 {
                ended = true;
                break;
            }
            index = index.checked_add(1)?;
        }
        if !ended {
            return None;
        }
        count = index.checked_add(1)?;
    }
    let size = chains_at.checked_add(u64::from(count - base) * 4)? - offset;
    Some((offset, size, count))
}

/// `DT_HASH` at `offset`: its size and its symbol count (`nchain`), or `None` when it is
/// unreadable or holds an index past its own table (object's reader, and glibc's, index the
/// chain array with it unchecked).
fn sysv_hash_extent<'data, R: ReadRef<'data>>(
    data: R,
    endian: Endianness,
    offset: u64,
) -> Option<(u64, u64, u32)> {
    let header = data.read_at::<elf::HashHeader<Endianness>>(offset).ok()?;
    let (nbucket, nchain) = (
        header.bucket_count.get(endian),
        header.chain_count.get(endian),
    );
    if nbucket == 0 {
        return None;
    }
    let total = usize::try_from(u64::from(nbucket) + u64::from(nchain)).ok()?;
    let values: &[U32<Endianness>] = data.read_slice_at(offset.checked_add(8)?, total).ok()?;
    if values.iter().any(|v| v.get(endian) >= nchain.max(1)) {
        return None;
    }
    Some((offset, 8 + total as u64 * 4, nchain))
}

/// `DT_VERDEF` at `offset`: where its chain of definitions (and their auxiliary entries) ends,
/// walked as the loader walks it, to the definition whose `vd_next` is 0.
fn verdef_extent<'data, R: ReadRef<'data>>(
    data: R,
    endian: Endianness,
    offset: u64,
) -> Option<(u64, u64)> {
    let mut end = offset;
    let mut at = offset;
    for _ in 0..MAX_CHAIN {
        let def = data.read_at::<elf::Verdef<Endianness>>(at).ok()?;
        end = end.max(at + std::mem::size_of::<elf::Verdef<Endianness>>() as u64);
        let mut aux = at.checked_add(def.vd_aux.get(endian).into())?;
        for _ in 0..def.vd_cnt.get(endian) {
            let entry = data.read_at::<elf::Verdaux<Endianness>>(aux).ok()?;
            end = end.max(aux + std::mem::size_of::<elf::Verdaux<Endianness>>() as u64);
            match entry.vda_next.get(endian) {
                0 => break,
                next => aux = aux.checked_add(next.into())?,
            }
        }
        match def.vd_next.get(endian) {
            0 => return Some((offset, end - offset)),
            next => at = at.checked_add(next.into())?,
        }
    }
    None
}

/// The tables object reads, made from `located`: the symbol table, the versions, the hash
/// table. `sections` holds the headers they are read through.
struct Readers<'s, Elf: FileHeader, R: ReadRef<'s>> {
    symbols: SymbolTable<'s, Elf, R>,
    versions: VersionTable<'s, Elf>,
    /// The version definitions, walked only when a question needs them.
    verdefs: Option<VerdefIterator<'s, Elf>>,
    /// The versions the object defines (not its base), for a name asked that has none of its
    /// own: each is tried, to tell a hidden version from a missing name; and the names of all
    /// (with its base), for an absolute zero.
    defined: OnceCell<(Vec<Version<'s>>, Vec<&'s [u8]>)>,
    gnu: Option<GnuHashTable<'s, Elf>>,
    sysv: Option<HashTable<'s, Elf>>,
}

fn readers<'s, Elf: ElfClass, R: ReadRef<'s>>(
    sections: &SectionTable<'s, Elf, R>,
    endian: Endianness,
    data: R,
) -> Option<Readers<'s, Elf, R>> {
    let symbols = sections.symbols(endian, data, elf::SHT_DYNSYM).ok()?;
    // Broken version tables make every versioned symbol unfindable, as they would leave the
    // loader without its versions: an object with none reads as unversioned.
    let versions = sections
        .versions(endian, data)
        .ok()
        .flatten()
        .unwrap_or_default();
    let verdefs = sections
        .gnu_verdef(endian, data)
        .ok()
        .flatten()
        .map(|(v, _)| v);
    let gnu = sections
        .gnu_hash(endian, data)
        .ok()
        .flatten()
        .map(|(t, _)| t);
    let sysv = sections.hash(endian, data).ok().flatten().map(|(t, _)| t);
    Some(Readers {
        symbols,
        versions,
        verdefs,
        defined: OnceCell::new(),
        gnu,
        sysv,
    })
}

impl<'s, Elf: ElfClass, R: ReadRef<'s>> Readers<'s, Elf, R> {
    /// The versions the object defines (without its base), and the names of all of them.
    fn defined(&self, endian: Endianness) -> &(Vec<Version<'s>>, Vec<&'s [u8]>) {
        self.defined.get_or_init(|| {
            let mut versions = Vec::new();
            let mut names = Vec::new();
            let Some(mut verdefs) = self.verdefs.clone() else {
                return (versions, names);
            };
            while let Ok(Some((verdef, mut aux))) = verdefs.next() {
                let Ok(Some(first)) = aux.next() else {
                    continue;
                };
                let Ok(name) = first.name(endian, self.symbols.strings()) else {
                    continue;
                };
                names.push(name);
                let index = VersionIndex(verdef.vd_ndx.get(endian));
                if verdef.vd_flags.get(endian) & elf::VER_FLG_BASE == 0
                    && let Ok(Some(version)) = self.versions.version(index)
                {
                    versions.push(*version);
                }
            }
            (versions, names)
        })
    }

    /// The symbol `name` of `version` (`None`: what `dlsym` asks for, the default or only
    /// definition), through the hash table.
    fn find(
        &self,
        endian: Endianness,
        name: &str,
        version: Option<&Version<'_>>,
    ) -> Option<(SymbolIndex, &'s Elf::Sym)> {
        let bytes = name.as_bytes();
        if let Some(table) = &self.gnu {
            let hash = elf::gnu_hash(bytes);
            return table.find(endian, bytes, hash, version, &self.symbols, &self.versions);
        }
        let table = self.sysv.as_ref()?;
        table.find(
            endian,
            bytes,
            elf::hash(bytes),
            version,
            &self.symbols,
            &self.versions,
        )
    }

    fn entry(&self, endian: Endianness, index: SymbolIndex, symbol: &Elf::Sym) -> Entry {
        // What glibc's check_match accepts: a defined symbol of an allowed type, with a value,
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
        let value: u64 = symbol.st_value(endian).into();
        let section = symbol.st_shndx(endian);
        let absolute = section == elf::SHN_ABS;
        let defined = section != elf::SHN_UNDEF
            && allowed
            && (value != 0 || kind == elf::STT_TLS || absolute);
        let null = (defined && absolute && value == 0 && kind != elf::STT_TLS).then(|| {
            let name = self.symbols.symbol_name(endian, symbol).ok();
            match name {
                Some(name) if self.defined(endian).1.contains(&name) => NullAddress::VersionName,
                _ => NullAddress::Absolute,
            }
        });
        Entry {
            defined,
            bind: symbol.st_bind(),
            visibility: symbol.st_visibility(),
            hidden_version: self.versions.version_index(endian, index).is_hidden(),
            null,
        }
    }

    fn version_name(&self, endian: Endianness, index: SymbolIndex) -> Option<String> {
        let version = self.versions.version_index(endian, index);
        let version = self.versions.version(version).ok()??;
        Some(String::from_utf8_lossy(version.name()).into_owned())
    }
}

/// Looks each name up through the hash table (and, for a file being checked, each name without
/// a default definition under each version the file defines).
pub(super) fn look_up<'data, Elf: ElfClass, T>(
    parsed: &Parsed<'data, Elf, &'data T>,
    located: &LoaderTables,
    data: &'data T,
    names: &[&str],
    tables: Tables,
    seen: &mut [Seen],
) where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    let endian = parsed.endian;
    let mut headers = Vec::with_capacity(HEADERS);
    for table in &located.tables {
        match Elf::section_header(endian, table) {
            Some(header) => headers.push(header),
            None => return,
        }
    }
    let sections = SectionTable::<Elf, &T>::new(&headers, StringTable::default());
    let Some(readers) = readers(&sections, endian, data) else {
        return;
    };
    for (name, slot) in names.iter().zip(seen.iter_mut()) {
        if let Some((index, symbol)) = readers.find(endian, name, None) {
            slot.dynsym = Some(readers.entry(endian, index, symbol));
            slot.version = readers.version_name(endian, index);
            continue;
        }
        if tables == Tables::Dynamic {
            continue;
        }
        // `foo@V1` alone: not what dlsym returns, but not missing either.
        for version in &readers.defined(endian).0 {
            if let Some((index, symbol)) = readers.find(endian, name, Some(version)) {
                let entry = readers.entry(endian, index, symbol);
                if slot.dynsym.is_none_or(|b| entry.rank() > b.rank()) {
                    slot.dynsym = Some(entry);
                    slot.version = readers.version_name(endian, index);
                }
            }
        }
    }
}

pub(super) fn definitions_as<Elf: ElfClass, T>(data: &T) -> Result<Definitions>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    let mut defined = Definitions::default();
    each_definition_as::<Elf, T>(data, |name, exported, weak| {
        if let Ok(name) = std::str::from_utf8(name) {
            defined.add(name.to_owned(), exported, weak)
        }
    })?;
    // A name defined both as `foo@V1` and `foo@@V2` is exported: not hidden as well.
    let exported: Vec<String> = defined.exported().map(str::to_owned).collect();
    for name in exported {
        defined.hidden.remove(&name);
    }
    Ok(defined)
}

/// Calls `each(name, exported, weak)` for every global definition of the dynamic symbol table
/// the loader would read (none without a hash table), in table order: nothing is allocated
/// per symbol.
pub(super) fn each_definition_as<Elf: ElfClass, T>(
    data: &T,
    mut each: impl FnMut(&[u8], bool, bool),
) -> Result<()>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    let parsed = parse::<Elf, &T>(data)?;
    let Some(dynamic) = &parsed.dynamic else {
        return Ok(());
    };
    let Some(located) = locate_tables(&parsed, dynamic, data).filter(|t| t.hashed) else {
        return Ok(());
    };
    let endian = parsed.endian;
    let mut headers = Vec::with_capacity(HEADERS);
    for table in &located.tables {
        match Elf::section_header(endian, table) {
            Some(header) => headers.push(header),
            None => return Ok(()),
        }
    }
    let sections = SectionTable::<Elf, &T>::new(&headers, StringTable::default());
    let Some(readers) = readers(&sections, endian, data) else {
        return Ok(());
    };
    // The names are read as one block (a pass over all of them would otherwise read each
    // through the file a string at a time), else a name at a time where that read fails.
    let block = sections
        .section(object::SectionIndex(DYNSTR))
        .and_then(|header| object::read::elf::SectionHeader::data(header, endian, data))
        .ok()
        .map(|bytes| StringTable::new(bytes, 0, bytes.len() as u64));
    for (index, symbol) in readers.symbols.enumerate().skip(1) {
        let entry = readers.entry(endian, index, symbol);
        if !entry.defined || entry.bind == elf::STB_LOCAL {
            continue;
        }
        let name = match &block {
            Some(strings) => symbol.name(endian, *strings),
            None => readers.symbols.symbol_name(endian, symbol),
        };
        let Ok(name) = name else {
            continue;
        };
        each(name, entry.is_exported(), entry.bind == elf::STB_WEAK);
    }
    Ok(())
}

/// ld.so sets up each object's hash table as it maps it, asserting that the bloom filter's
/// word count is a power of two (`_dl_setup_hash`): the program stops there.
pub(super) fn refusal<'data, Elf: ElfClass, R: ReadRef<'data>>(
    parsed: &Parsed<'data, Elf, R>,
    data: R,
) -> Option<String> {
    let dynamic = parsed.dynamic.as_ref()?;
    let vaddr = dynamic.value(parsed.endian, elf::DT_GNU_HASH)?;
    let offset = offset_of::<Elf>(parsed.segments, parsed.endian, vaddr, 16)?;
    let words = u32_at(data, parsed.endian, offset.checked_add(8)?)?;
    (words & words.wrapping_sub(1) != 0).then(|| {
        format!(
            "its GNU hash table (DT_GNU_HASH) has a bloom filter of {words} words, not a power of \
             two: ld.so stops on it (an assertion in _dl_setup_hash) as it maps the object. Link \
             it again with the system linker"
        )
    })
}
