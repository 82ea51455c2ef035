//! The passes over whole symbol tables, made only for the file being checked and only for the
//! names its dynamic symbols do not define: `.symtab`, and a `.dynsym` the loader cannot search.

use std::collections::HashMap;

use object::ReadRef;
use object::elf;
use object::read::elf::{SectionHeader, Sym};

use super::class::ElfClass;
use super::dynamic::Parsed;
use super::{Entry, Seen};

/// `.dynsym` without a hash table and `.symtab`: one pass each, through the section headers
/// (optional to the loader: a file without them has neither pass), only for the names the
/// dynamic symbols define nothing of. What such a `.dynsym` holds is recorded like `.symtab`:
/// present in the file, never found by `dlsym`.
pub(super) fn linear_pass<'data, Elf: ElfClass, R: ReadRef<'data>>(
    parsed: &Parsed<'data, Elf, R>,
    data: R,
    names: &[&str],
    hashless: bool,
    seen: &mut [Seen],
) {
    let endian = parsed.endian;
    let pending: Vec<usize> = (0..names.len())
        .filter(|&i| !seen[i].dynsym.is_some_and(|e| e.defined))
        .collect();
    if pending.is_empty() {
        return;
    }
    let Ok(sections) = parsed.header.sections(endian, data) else {
        return;
    };
    let slots = NameSlots::new(names, &pending);
    for (table_type, wanted) in [(elf::SHT_DYNSYM, hashless), (elf::SHT_SYMTAB, true)] {
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
