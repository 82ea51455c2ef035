//! glibc's `/etc/ld.so.cache`, read the way the dynamic loader reads it.
//!
//! [`LdCache::parse`] reads the bytes of a cache file and [`LdCache::lookup`] answers what
//! glibc 2.36's `ld.so` (the loader of Debian 12 and of this toolkit's reference systems)
//! would take from the cache for a `DT_NEEDED` name. This module only answers the cache step:
//! `LD_LIBRARY_PATH`, `RPATH`/`RUNPATH`, `DF_1_NODEFLIB`, `--inhibit-cache` and the default
//! directories are the caller's business (`_dl_map_object` in `elf/dl-load.c`).
//!
//! # Loader rules mirrored here
//!
//! Every rule names the glibc 2.36 function (or header) it comes from; the sources were read,
//! not copied.
//!
//! **File formats** (`_dl_load_cache_lookup`, `elf/dl-cache.c`; layouts from
//! `sysdeps/generic/dl-cache.h`):
//! - The new format alone is tried first: magic `glibc-ld.so.cache1.1`, the file strictly
//!   larger than the 48-byte `struct cache_file_new`, and `nlibs` 24-byte
//!   `struct file_entry_new` entries fitting after the header.
//! - Otherwise the old `ld.so-1.7.0` format (16-byte header, 12-byte `struct file_entry`),
//!   under the same "strictly larger, entries fit" test. A new-format header may follow its
//!   entries at the next multiple of 8 (`ALIGN_CACHE`, `__alignof__ (struct cache_file_new)`
//!   on 64-bit hosts); when it is there (magic matches, 48 bytes fit) only the new table is
//!   used, otherwise the old one.
//! - New-format string offsets (`key`, `value`) are relative to the new header; old-format
//!   ones to the end of the old entry array.
//! - A new header whose `flags` is neither 0 nor this host's byte order
//!   (`cache_file_new_matches_endian`) makes the whole cache unusable.
//! - The extension directory (`cache_extension_load`, `cache_extension_verify`): its offset is
//!   from the start of the *file*, a multiple of 4, magic `0xeaa42174`; every section must lie
//!   inside the file; tags past `cache_extension_tag_glibc_hwcaps` are skipped; a later
//!   section of a tag replaces an earlier one. The glibc-hwcaps section is an array of `u32`
//!   string indices. The loader resolves them from the start of the *file*
//!   (`glibc_hwcaps_compare`, as `ldconfig -p`'s `print_cache` does), although `ldconfig`'s
//!   `save_cache` writes them relative to the new header; the two bases differ only in the
//!   compat (old + new) format, where glibc therefore never matches a glibc-hwcaps entry.
//!   This module reproduces the loader's reading.
//! - An entry refers to a glibc-hwcaps subdirectory when, ignoring the low 32 bits and the 10
//!   ISA-level bits above them, its `hwcap` is exactly `DL_CACHE_HWCAP_EXTENSION` (bit 62)
//!   (`dl_cache_hwcap_extension`); the low 32 bits index the glibc-hwcaps section.
//!
//! **Which entries belong to the process** (`_dl_cache_check_flags`, `_DL_CACHE_DEFAULT_ID`):
//! x86-64 accepts only flags `0x0303` (`sysdeps/unix/sysv/linux/x86_64/dl-cache.h`), x32 only
//! `0x0803` (`.../x86_64/x32/dl-cache.h`), AArch64 LP64 only `0x0a03`
//! (`.../aarch64/dl-cache.h`); i386 uses the generic rule, flags `1` (`FLAG_ELF`) or `3`
//! (`FLAG_ELF_LIBC6`) (`sysdeps/generic/dl-cache.h`; `ldconfig` gives i386 libraries no
//! `FLAG_REQUIRED_MASK` bits, `sysdeps/unix/sysv/linux/x86/readelflib.c`).
//!
//! **Search** (`search_cache`, `_dl_cache_libcmp`, `elf/dl-cache.c`):
//! - `ldconfig` sorts entries in *descending* `_dl_cache_libcmp` order (digit runs compare as
//!   numbers); the loader binary-searches for the name, backs up to the first equal entry and
//!   scans forward over the equal ones, keeping a best match.
//! - A glibc-hwcaps entry is skipped if its ISA level (bits 32..41) needs more than the CPU has
//!   (`dl_cache_hwcap_isa_level_compatible`, `sysdeps/x86/dl-isa-level.h`; always compatible
//!   elsewhere, `sysdeps/generic/dl-isa-level.h`), or if its subdirectory has priority 0 (not
//!   searched on this CPU). Otherwise it becomes the best match if none was found yet or if its
//!   priority is strictly better (`glibc_hwcaps_priority`); ties keep the earlier entry.
//! - Priorities: the subdirectory list, most preferred first, numbered from 1
//!   (`compute_priorities`, `elf/dl-hwcaps.c`), is sorted by name and merged with the cache's
//!   glibc-hwcaps section, which `ldconfig` keeps sorted (`glibc_hwcaps_priorities_init`).
//! - The first entry that is not a glibc-hwcaps entry ends the scan if a match was already
//!   found: `ldconfig` puts glibc-hwcaps entries first (`compare` in `elf/cache.c`).
//! - Legacy hwcap entries (`hwcap` non-zero, bit 62 pattern absent: `tls`, `x86_64`,
//!   `avx512_1`, `haswell`, `xeon_phi`, `i686`, `atomics` subdirectories) are still honoured by
//!   2.36 (they were dropped from `ldconfig` in 2.37 and from the loader in 2.40): such an entry
//!   is used only if all its bits are in `GLRO(dl_hwcap) & HWCAP_IMPORTANT`, the platform bits
//!   or the TLS bit 63, and any platform bits equal the CPU's platform (`hwcap_exclude` and
//!   `_DL_HWCAP_PLATFORM` in `search_cache`; values from `init_cpu_features` in
//!   `sysdeps/x86/cpu-features.c`, `sysdeps/x86/dl-hwcap.h`, `sysdeps/x86/dl-procinfo.[ch]`,
//!   `sysdeps/unix/sysv/linux/aarch64/dl-procinfo.h`).
//! - A plain entry whose flags equal `_DL_CACHE_DEFAULT_ID` ends the scan; a plain i386
//!   `FLAG_ELF` entry is kept as the best so far and the scan goes on.
//!
//! **Which subdirectories the CPU supports** ([`supported_hwcaps`]):
//! `_dl_hwcaps_subdirs_active` (`sysdeps/x86_64/dl-hwcaps-subdirs.c`) with the levels of
//! `get_isa_level` (`sysdeps/x86/get-isa-level.h`); none elsewhere (`elf/dl-hwcaps-subdirs.c`).
//!
//! # Where this reader is stricter than glibc
//!
//! glibc bounds-checks lazily (a string offset only has to be below the file size, the
//! compat format's embedded `nlibs` is not checked at all) and quietly degrades on a damaged
//! extension (it stops using glibc-hwcaps entries; a glibc-hwcaps string index past the end
//! of the file makes `glibc_hwcaps_priorities_init` spin without advancing). This reader instead rejects, with an
//! [`Err`] naming the problem, any file in which an offset, length, count or index points
//! outside the file or its tables, any string without its terminating NUL, a malformed
//! extension directory or glibc-hwcaps section, and a glibc-hwcaps entry without a
//! subdirectory name. `len_strings` is not checked, as glibc does not read it.

use std::collections::HashSet;
use std::ffi::c_char;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use object::elf::{EM_386, EM_AARCH64, EM_X86_64};

/// Where the loader reads its cache (`LD_SO_CACHE`, `SYSCONFDIR "/ld.so.cache"`).
pub(crate) const LD_SO_CACHE: &str = "/etc/ld.so.cache";

/// Magic at the start of the old format (`CACHEMAGIC`), without its NUL.
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// Size of `struct cache_file`: the 11-byte magic, padding, `nlibs`.
const OLD_HEADER_SIZE: usize = 16;
/// Size of `struct file_entry`: `flags`, `key`, `value`.
const OLD_ENTRY_SIZE: usize = 12;

/// Magic and version at the start of the new format (`CACHEMAGIC_VERSION_NEW`), without NUL.
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// Size of `struct cache_file_new`.
const NEW_HEADER_SIZE: usize = 48;
/// Size of `struct file_entry_new`: `flags`, `key`, `value`, `osversion_unused`, `hwcap`.
const NEW_ENTRY_SIZE: usize = 24;
/// `__alignof__ (struct cache_file_new)` for a 64-bit loader (`ALIGN_CACHE`).
const NEW_HEADER_ALIGN: usize = 8;

/// `cache_file_new_flags_endian_mask`.
const ENDIAN_MASK: u8 = 3;
/// `cache_file_new_flags_endian_current` on this host.
const ENDIAN_CURRENT: u8 = if cfg!(target_endian = "little") { 2 } else { 3 };

/// `cache_extension_magic` (`(uint32_t) -358342284`).
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
/// `cache_extension_tag_generator`: the `ldconfig` version that wrote the file.
const TAG_GENERATOR: u32 = 0;
/// `cache_extension_tag_glibc_hwcaps`: the glibc-hwcaps subdirectory names.
const TAG_GLIBC_HWCAPS: u32 = 1;
/// Size of `struct cache_extension` (magic, count).
const EXTENSION_HEADER_SIZE: usize = 8;
/// Size of `struct cache_extension_section` (tag, flags, offset, size).
const EXTENSION_SECTION_SIZE: usize = 16;

/// `FLAG_ELF` (`sysdeps/generic/ldconfig.h`): an ELF library not known to need libc.so.6
/// (accepted by the i386 loader only).
pub(crate) const FLAG_ELF: i32 = 0x0001;
/// `FLAG_ELF_LIBC6`: an ELF library for glibc.
pub(crate) const FLAG_ELF_LIBC6: i32 = 0x0003;
/// `FLAG_REQUIRED_MASK`: the architecture/ABI bits.
pub(crate) const FLAG_REQUIRED_MASK: i32 = 0xff00;
/// `FLAG_X8664_LIB64`: x86-64, 64-bit.
pub(crate) const FLAG_X8664_LIB64: i32 = 0x0300;
/// `FLAG_X8664_LIBX32`: x86-64, x32 ABI.
pub(crate) const FLAG_X8664_LIBX32: i32 = 0x0800;
/// `FLAG_AARCH64_LIB64`: AArch64, LP64.
pub(crate) const FLAG_AARCH64_LIB64: i32 = 0x0a00;

/// `DL_CACHE_HWCAP_EXTENSION`: the entry's low 32 `hwcap` bits index the glibc-hwcaps section.
pub(crate) const DL_CACHE_HWCAP_EXTENSION: u64 = 1 << 62;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`: the ISA-level bits, above bit 32 of `hwcap`.
const ISA_LEVEL_MASK: u64 = (1 << 10) - 1;
/// `_DL_HWCAP_TLS_MASK`: legacy `tls` subdirectory, accepted on every CPU.
const HWCAP_TLS: u64 = 1 << 63;

/// `HWCAP_X86_SSE2` (`sysdeps/x86/dl-hwcap.h`), legacy `sse2` subdirectory (i386).
const HWCAP_X86_SSE2: u64 = 1 << 0;
/// `HWCAP_X86_64`, legacy `x86_64` subdirectory: set on every x86-64 CPU.
const HWCAP_X86_64: u64 = 1 << 1;
/// `HWCAP_X86_AVX512_1`, legacy `avx512_1` subdirectory.
const HWCAP_X86_AVX512_1: u64 = 1 << 2;
/// `HWCAP_ATOMICS` (`HWCAP_IMPORTANT` on AArch64), legacy `atomics` subdirectory.
const HWCAP_AARCH64_ATOMICS: u64 = 1 << 8;
/// `_DL_FIRST_PLATFORM` (`sysdeps/x86/dl-procinfo.h`): platform bits start here.
const FIRST_PLATFORM: u32 = 48;

/// The architecture an entry is for: the `FLAG_REQUIRED_MASK` bits of its flags.
#[allow(
    dead_code,
    reason = "inspection API for tests and diagnostics; the loader only needs `lookup`"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheArch {
    /// No required bits. On an x86 host, i386 libraries (`ldconfig` gives `EM_386` files plain
    /// `FLAG_ELF_LIBC6` or `FLAG_ELF`); other 32-bit ABIs without a `FLAG_*` value use it too.
    I386,
    /// `FLAG_X8664_LIB64` (`0x0300`): x86-64, 64-bit.
    X86_64,
    /// `FLAG_X8664_LIBX32` (`0x0800`): x86-64, x32 ABI.
    X32,
    /// `FLAG_AARCH64_LIB64` (`0x0a00`): AArch64, LP64.
    Aarch64,
    /// Any other `FLAG_REQUIRED_MASK` value (the masked bits).
    Other(u32),
}

#[allow(
    dead_code,
    reason = "inspection API for tests and diagnostics; the loader only needs `lookup`"
)]
impl CacheArch {
    /// The architecture of an entry with these flags.
    pub(crate) fn from_flags(flags: i32) -> CacheArch {
        match flags & FLAG_REQUIRED_MASK {
            0 => CacheArch::I386,
            FLAG_X8664_LIB64 => CacheArch::X86_64,
            FLAG_X8664_LIBX32 => CacheArch::X32,
            FLAG_AARCH64_LIB64 => CacheArch::Aarch64,
            other => CacheArch::Other(other as u32),
        }
    }

    /// The architecture whose loader would load an ELF file of this `e_machine` and class
    /// (`true`: `ELFCLASS64`), or `None` if this module does not know that loader.
    pub(crate) fn for_machine(machine: u16, class64: bool) -> Option<CacheArch> {
        Abi::for_machine(machine, class64).map(|abi| abi.arch)
    }
}

/// What the loader of one ABI accepts and how it filters legacy hwcaps.
#[derive(Debug, Clone, Copy)]
struct Abi {
    /// The architecture.
    arch: CacheArch,
    /// `_DL_CACHE_DEFAULT_ID`: an entry with exactly these flags ends the scan.
    default_id: i32,
    /// `true` for the generic `_dl_cache_check_flags` (`FLAG_ELF` accepted too).
    generic_flags: bool,
    /// `true` on x86: glibc-hwcaps entries carry an ISA level to check.
    x86: bool,
    /// `_DL_HWCAP_PLATFORM`: the legacy platform bits (0 where there are no platforms).
    platform_mask: u64,
}

impl Abi {
    /// The loader for ELF files of this `e_machine` and class.
    fn for_machine(machine: u16, class64: bool) -> Option<Abi> {
        // `HWCAP_PLATFORMS_COUNT` platforms from `_DL_FIRST_PLATFORM` (`sysdeps/x86/dl-hwcap.h`).
        let x86_platforms = |count: u32| ((1u64 << count) - 1) << FIRST_PLATFORM;
        match (machine, class64) {
            (EM_X86_64, true) => Some(Abi {
                arch: CacheArch::X86_64,
                default_id: FLAG_X8664_LIB64 | FLAG_ELF_LIBC6,
                generic_flags: false,
                x86: true,
                platform_mask: x86_platforms(4),
            }),
            (EM_X86_64, false) => Some(Abi {
                arch: CacheArch::X32,
                default_id: FLAG_X8664_LIBX32 | FLAG_ELF_LIBC6,
                generic_flags: false,
                x86: true,
                platform_mask: x86_platforms(4),
            }),
            (EM_386, false) => Some(Abi {
                arch: CacheArch::I386,
                default_id: FLAG_ELF_LIBC6,
                generic_flags: true,
                x86: true,
                platform_mask: x86_platforms(2),
            }),
            (EM_AARCH64, true) => Some(Abi {
                arch: CacheArch::Aarch64,
                default_id: FLAG_AARCH64_LIB64 | FLAG_ELF_LIBC6,
                generic_flags: false,
                x86: false,
                platform_mask: 0,
            }),
            _ => None,
        }
    }

    /// `_dl_cache_check_flags`: whether this loader considers an entry with these flags.
    fn accepts(&self, flags: i32) -> bool {
        flags == self.default_id || (self.generic_flags && flags == FLAG_ELF)
    }
}

/// The loader's legacy hwcap state: what `search_cache` compares legacy entries with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Legacy {
    /// `GLRO(dl_hwcap) & GET_HWCAP_MASK()` (the mask defaults to `HWCAP_IMPORTANT`).
    hwcap: u64,
    /// `1 << _dl_string_platform (GLRO(dl_platform))`, or all ones when the platform is not
    /// one the loader knows (then every platform-tagged entry is skipped).
    platform: u64,
}

impl Legacy {
    /// The state glibc 2.36 computes on this host for a process of `abi`.
    fn host(abi: &Abi) -> Legacy {
        let cpu = host_cpu();
        let has = |flag: &str| cpu.flags.contains(flag);
        let x86_host = cfg!(any(target_arch = "x86_64", target_arch = "x86"));
        match abi.arch {
            // `init_cpu_features`, `#ifdef __x86_64__` branch.
            CacheArch::X86_64 | CacheArch::X32 => {
                let mut hwcap = HWCAP_X86_64;
                let mut platform = None;
                if x86_host && cpu.intel {
                    if has("avx512cd") {
                        if has("avx512er") {
                            if has("avx512pf") {
                                platform = Some(3); // "xeon_phi"
                            }
                        } else if has("avx512bw") && has("avx512dq") && has("avx512vl") {
                            hwcap |= HWCAP_X86_AVX512_1;
                        }
                    }
                    // LZCNT is `abm` in /proc/cpuinfo.
                    let haswell = ["avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"];
                    if platform.is_none() && haswell.iter().all(|f| has(f)) {
                        platform = Some(2); // "haswell"
                    }
                }
                Legacy {
                    hwcap,
                    platform: platform.map_or(u64::MAX, |i| 1 << (FIRST_PLATFORM + i)),
                }
            }
            // `init_cpu_features`, 32-bit branch: "i686" with CMOV, "i586" with CX8, else the
            // kernel's AT_PLATFORM, which is "i686" for 32-bit processes on x86-64 kernels.
            CacheArch::I386 if x86_host => Legacy {
                hwcap: if has("sse2") { HWCAP_X86_SSE2 } else { 0 },
                platform: if has("cmov") || !has("cx8") {
                    1 << (FIRST_PLATFORM + 1)
                } else {
                    1 << FIRST_PLATFORM
                },
            },
            // AT_HWCAP & HWCAP_IMPORTANT; no platforms.
            CacheArch::Aarch64 if cfg!(target_arch = "aarch64") => Legacy {
                hwcap: if has("atomics") {
                    HWCAP_AARCH64_ATOMICS
                } else {
                    0
                },
                platform: u64::MAX,
            },
            _ => Legacy {
                hwcap: 0,
                platform: u64::MAX,
            },
        }
    }
}

/// One library in the cache, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheEntry {
    /// `flags`: `FLAG_TYPE_MASK` type and `FLAG_REQUIRED_MASK` architecture bits.
    pub(crate) flags: i32,
    /// `key`: the library's SONAME, the name `DT_NEEDED` entries are matched against.
    pub(crate) name: Vec<u8>,
    /// `value`: the file the loader opens.
    pub(crate) path: PathBuf,
    /// `osversion_unused` (always 0 from `ldconfig`, ignored by the loader); 0 in the old format.
    pub(crate) osversion: u32,
    /// `hwcap`: 0, a legacy hwcap/platform mask, or a glibc-hwcaps reference; 0 in the old format.
    pub(crate) hwcap: u64,
    /// For a glibc-hwcaps entry, the subdirectory name (`x86-64-v3`) as the loader reads it.
    pub(crate) hwcaps_subdir: Option<Vec<u8>>,
}

#[allow(
    dead_code,
    reason = "inspection API for tests and diagnostics; the loader only needs `lookup`"
)]
impl CacheEntry {
    /// The architecture from the flags.
    pub(crate) fn arch(&self) -> CacheArch {
        CacheArch::from_flags(self.flags)
    }

    /// Whether `hwcap` refers to a glibc-hwcaps subdirectory (`dl_cache_hwcap_extension`).
    pub(crate) fn is_glibc_hwcaps(&self) -> bool {
        is_hwcap_extension(self.hwcap)
    }

    /// The ISA level a glibc-hwcaps entry needs (`hwcap` bits 32..41: 0 baseline, 1 x86-64-v2,
    /// 2 x86-64-v3, 3 x86-64-v4 on x86).
    pub(crate) fn isa_level(&self) -> u32 {
        ((self.hwcap >> 32) & ISA_LEVEL_MASK) as u32
    }
}

/// `dl_cache_hwcap_extension`: only bit 62 set above bit 31, ignoring the ISA-level bits.
fn is_hwcap_extension(hwcap: u64) -> bool {
    ((hwcap >> 32) & !ISA_LEVEL_MASK) == DL_CACHE_HWCAP_EXTENSION >> 32
}

/// One entry of the table, as places in the file's bytes: nothing is copied until asked for
/// (a lookup reads a few of the hundreds of entries).
#[derive(Debug, Clone, Copy)]
struct Slot {
    flags: i32,
    /// Where the key (the SONAME) starts in the file: a NUL ends it.
    name: usize,
    /// Where the value (the path) starts.
    path: usize,
    osversion: u32,
    hwcap: u64,
    /// The glibc-hwcaps section index of a glibc-hwcaps entry.
    subdir: Option<usize>,
}

/// A parsed `ld.so.cache`: its bytes, and where each entry is in them.
#[derive(Debug, Clone, Default)]
pub(crate) struct LdCache {
    /// The file.
    data: Box<[u8]>,
    /// The entries of the table the loader uses, in file order.
    slots: Vec<Slot>,
    /// `true` if that table is the new format (entries carry `hwcap`).
    new_format: bool,
    /// The glibc-hwcaps section: subdirectory names, as the loader resolves them.
    hwcaps_names: Vec<Vec<u8>>,
    /// The generator extension section (`ldconfig (Debian GLIBC 2.36-9) ...`), if any.
    #[allow(dead_code, reason = "read by `generator`, an inspection method")]
    generator: Option<String>,
}

impl LdCache {
    /// Reads the loader's `/etc/ld.so.cache`. A missing file is an empty cache: the loader
    /// then just skips the cache step.
    pub(crate) fn load() -> Result<LdCache, String> {
        Self::load_from(Path::new(LD_SO_CACHE))
    }

    /// Reads a cache file; a missing file is an empty cache (the loader skips the cache step).
    /// The error says what is wrong, not which file (the caller knows).
    pub(crate) fn load_from(path: &Path) -> Result<LdCache, String> {
        match std::fs::read(path) {
            Ok(data) => Self::parse_owned(data),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LdCache::default()),
            Err(e) => Err(format!("cannot read it: {e}")),
        }
    }

    /// Parses the bytes of a cache file. An empty file is an empty cache (`ldconfig -p`
    /// prints nothing for it; the loader ignores it); anything else that is not a complete,
    /// consistent cache is an error naming what is wrong.
    #[cfg(test)]
    pub(crate) fn parse(data: &[u8]) -> Result<LdCache, String> {
        Self::parse_owned(data.to_vec())
    }

    /// [`LdCache::parse`] of bytes it keeps.
    fn parse_owned(data: Vec<u8>) -> Result<LdCache, String> {
        let (slots, new_format, hwcaps_names, generator) = Self::table(&data)?;
        Ok(LdCache {
            data: data.into_boxed_slice(),
            slots,
            new_format,
            hwcaps_names,
            generator,
        })
    }

    /// The table the loader uses: its entries, whether it is the new format, the glibc-hwcaps
    /// names and the generator.
    fn table(data: &[u8]) -> Result<Table, String> {
        if data.is_empty() {
            return Ok((Vec::new(), false, Vec::new(), None));
        }
        if data.starts_with(NEW_MAGIC) {
            return parse_new(data, 0);
        }
        if data.starts_with(OLD_MAGIC) {
            if data.len() <= OLD_HEADER_SIZE {
                return Err(format!(
                    "truncated: {} bytes, the old-format header needs more than {OLD_HEADER_SIZE}",
                    data.len()
                ));
            }
            let nlibs = read_u32(data, 12, "old-format nlibs")? as usize;
            if (data.len() - OLD_HEADER_SIZE) / OLD_ENTRY_SIZE < nlibs {
                return Err(format!(
                    "truncated: the old-format header announces {nlibs} entries of \
                     {OLD_ENTRY_SIZE} bytes, the file has {} bytes",
                    data.len()
                ));
            }
            let entries_end = OLD_HEADER_SIZE + nlibs * OLD_ENTRY_SIZE;
            let new_at = entries_end.next_multiple_of(NEW_HEADER_ALIGN);
            let embedded = new_at
                .checked_add(NEW_HEADER_SIZE)
                .is_some_and(|end| end <= data.len())
                && data[new_at..].starts_with(NEW_MAGIC);
            if embedded {
                return parse_new(data, new_at);
            }
            return parse_old(data, nlibs, entries_end);
        }
        Err(
            "not an ld.so.cache: neither the \"glibc-ld.so.cache1.1\" nor the \
             \"ld.so-1.7.0\" magic"
                .to_string(),
        )
    }

    /// What the loader takes from the cache for the `DT_NEEDED` `name` of an object with this
    /// `e_machine` and class (`true`: `ELFCLASS64`), or `None` if the cache has nothing usable.
    ///
    /// `hwcaps` are the glibc-hwcaps subdirectories searched, most preferred first (normally
    /// [`supported_hwcaps`] for x86-64, empty elsewhere). On x86 the CPU's ISA level is taken
    /// to be the highest `x86-64-vN` in `hwcaps` (exact for [`supported_hwcaps`]). Legacy
    /// hwcap entries are judged against this host's CPU, as the 2.36 loader running here would.
    /// A name containing `/` is never looked up in the cache (`_dl_map_object`).
    pub(crate) fn lookup(
        &self,
        name: &str,
        machine: u16,
        class64: bool,
        hwcaps: &[&str],
    ) -> Option<PathBuf> {
        let abi = Abi::for_machine(machine, class64)?;
        let legacy = Legacy::host(&abi);
        self.search(name, &abi, hwcaps, &legacy)
            .map(|slot| path_from_bytes(self.bytes(slot.path)))
    }

    /// The NUL-terminated string at `start` (known to have its NUL: see `Strings::at`).
    fn bytes(&self, start: usize) -> &[u8] {
        let tail = &self.data[start..];
        &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())]
    }

    /// `search_cache`: the entry the loader picks.
    fn search(&self, name: &str, abi: &Abi, hwcaps: &[&str], legacy: &Legacy) -> Option<&Slot> {
        if name.contains('/') {
            return None;
        }
        let name = name.as_bytes();
        let libs = &self.slots;
        let priorities = self.hwcaps_priorities(hwcaps);
        let cpu_isa = cpu_isa_1(hwcaps);
        // Legacy bits the loader accepts: its hwcaps, any platform bit (checked after), TLS.
        let hwcap_exclude = !(legacy.hwcap | abi.platform_mask | HWCAP_TLS);

        let mut best: Option<&Slot> = None;
        let mut best_priority = 0u32;
        let (mut left, mut right) = (0i64, libs.len() as i64 - 1);
        while left <= right {
            let mut middle = (left + right) / 2;
            let cmp = dl_cache_libcmp(name, &self.data[libs[middle as usize].name..]);
            if cmp == 0 {
                // Entries up to `left` are known to match; back up to the first match.
                left = middle;
                while middle > 0
                    && dl_cache_libcmp(name, &self.data[libs[middle as usize - 1].name..]) == 0
                {
                    middle -= 1;
                }
                // `do { ... } while (++middle <= right)`: `continue` moves to the next entry.
                while middle <= right {
                    let index = middle;
                    middle += 1;
                    let lib = &libs[index as usize];
                    if index > left && dl_cache_libcmp(name, &self.data[lib.name..]) != 0 {
                        break;
                    }
                    if !abi.accepts(lib.flags) {
                        continue;
                    }
                    let mut named = false;
                    if self.new_format {
                        named = is_hwcap_extension(lib.hwcap);
                        if named && abi.x86 && !isa_level_compatible(lib.hwcap, cpu_isa) {
                            continue;
                        }
                        // glibc-hwcaps entries come first: a plain one after a match ends it.
                        if !named && best.is_some() {
                            break;
                        }
                        if !named && lib.hwcap & hwcap_exclude != 0 {
                            continue;
                        }
                        let platform = lib.hwcap & abi.platform_mask;
                        if platform != 0 && platform != legacy.platform {
                            continue;
                        }
                        if named {
                            // `glibc_hwcaps_priority` takes the index as a `uint32_t`.
                            let index = lib.hwcap as u32 as usize;
                            let priority = priorities.get(index).copied().unwrap_or(0);
                            if priority == 0 || (best.is_some() && priority >= best_priority) {
                                continue;
                            }
                            best_priority = priority;
                        }
                    }
                    best = Some(lib);
                    if !named && lib.flags == abi.default_id {
                        break;
                    }
                }
                break;
            }
            // The table is sorted in descending order.
            if cmp < 0 {
                left = middle + 1;
            } else {
                right = middle - 1;
            }
        }
        best
    }

    /// `glibc_hwcaps_priorities_init`: the priority of each glibc-hwcaps section entry (0: not
    /// searched; lower is preferred), by merging the section (sorted by `ldconfig`) with the
    /// subdirectories sorted by name (a stable sort, as `sort_priorities_by_name`).
    fn hwcaps_priorities(&self, hwcaps: &[&str]) -> Vec<u32> {
        let mut wanted: Vec<(&[u8], u32)> = (1u32..)
            .zip(hwcaps)
            .map(|(priority, name)| (name.as_bytes(), priority))
            .collect();
        wanted.sort_by(|a, b| a.0.cmp(b.0));
        let left = &self.hwcaps_names;
        let mut result = vec![0; left.len()];
        let (mut l, mut r) = (0, 0);
        while l < left.len() && r < wanted.len() {
            match left[l].as_slice().cmp(wanted[r].0) {
                std::cmp::Ordering::Equal => {
                    result[l] = wanted[r].1;
                    l += 1;
                    r += 1;
                }
                std::cmp::Ordering::Less => l += 1,
                std::cmp::Ordering::Greater => r += 1,
            }
        }
        result
    }
}

#[allow(
    dead_code,
    reason = "inspection API for tests and diagnostics; the loader only needs `lookup`"
)]
impl LdCache {
    /// Every entry of the table the loader uses, in file order.
    pub(crate) fn entries(&self) -> Vec<CacheEntry> {
        self.slots
            .iter()
            .map(|slot| CacheEntry {
                flags: slot.flags,
                name: self.bytes(slot.name).to_vec(),
                path: path_from_bytes(self.bytes(slot.path)),
                osversion: slot.osversion,
                hwcap: slot.hwcap,
                hwcaps_subdir: slot.subdir.map(|i| self.hwcaps_names[i].clone()),
            })
            .collect()
    }

    /// The entries the loader for ELF files of this `e_machine` and class considers
    /// (`_dl_cache_check_flags`); none for a machine this module does not know.
    pub(crate) fn entries_for(
        &self,
        machine: u16,
        class64: bool,
    ) -> impl Iterator<Item = CacheEntry> {
        let abi = Abi::for_machine(machine, class64);
        self.entries()
            .into_iter()
            .filter(move |e| abi.is_some_and(|abi| abi.accepts(e.flags)))
    }

    /// The `ldconfig` that wrote the file, from the generator extension section.
    pub(crate) fn generator(&self) -> Option<&str> {
        self.generator.as_deref()
    }
}

/// `cpu_features->isa_1` as implied by the searched subdirectories: baseline always, and every
/// level up to the highest `x86-64-vN` listed (`get_isa_level` sets them cumulatively).
fn cpu_isa_1(hwcaps: &[&str]) -> u32 {
    let level = ["x86-64-v2", "x86-64-v3", "x86-64-v4"]
        .iter()
        .rposition(|v| hwcaps.contains(v))
        .map_or(0, |i| i + 1);
    (2u32 << level) - 1
}

/// `dl_cache_hwcap_isa_level_compatible` (x86): the entry's level bit must be in `isa_1`.
fn isa_level_compatible(hwcap: u64, cpu_isa_1: u32) -> bool {
    let level = (hwcap >> 32) & ISA_LEVEL_MASK;
    // glibc shifts an `unsigned int`; levels past 31 cannot be satisfied.
    level < 32 && (1u32 << level) & cpu_isa_1 == 1u32 << level
}

/// `_dl_cache_libcmp`: compares like `strcmp`, except that runs of digits compare as numbers.
/// Returns the sign of the C function's result (a C `int`, which wraps here as gcc's code does).
fn dl_cache_libcmp(p1: &[u8], p2: &[u8]) -> i32 {
    // Strings end at their end or at a NUL; bytes compare as C `char` (signed on x86).
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let ch = |b: u8| i32::from(b as c_char);
    let (mut i, mut j) = (0, 0);
    while at(p1, i) != 0 {
        let (c1, c2) = (at(p1, i), at(p2, j));
        if c1.is_ascii_digit() {
            if !c2.is_ascii_digit() {
                return 1;
            }
            let number = |s: &[u8], k: &mut usize| {
                let mut value = 0i32;
                while at(s, *k).is_ascii_digit() {
                    value = value
                        .wrapping_mul(10)
                        .wrapping_add(i32::from(at(s, *k) - b'0'));
                    *k += 1;
                }
                value
            };
            let (v1, v2) = (number(p1, &mut i), number(p2, &mut j));
            if v1 != v2 {
                return v1.wrapping_sub(v2);
            }
        } else if c2.is_ascii_digit() {
            return -1;
        } else if c1 != c2 {
            return ch(c1) - ch(c2);
        } else {
            i += 1;
            j += 1;
        }
    }
    ch(at(p1, i)) - ch(at(p2, j))
}

/// Parses the new-format table whose header starts at `base`.
/// What [`LdCache::table`] finds.
type Table = (Vec<Slot>, bool, Vec<Vec<u8>>, Option<String>);

fn parse_new(data: &[u8], base: usize) -> Result<Table, String> {
    let rest = data.len() - base;
    if rest <= NEW_HEADER_SIZE {
        return Err(format!(
            "truncated: the new-format header at offset {base} needs more than \
             {NEW_HEADER_SIZE} bytes, {rest} remain"
        ));
    }
    let nlibs = read_u32(data, base + 20, "nlibs")? as usize;
    if (rest - NEW_HEADER_SIZE) / NEW_ENTRY_SIZE < nlibs {
        return Err(format!(
            "truncated: the header announces {nlibs} entries of {NEW_ENTRY_SIZE} bytes, \
             {} bytes follow it",
            rest - NEW_HEADER_SIZE
        ));
    }
    let flags = data[base + 28];
    if flags != 0 && flags & ENDIAN_MASK != ENDIAN_CURRENT {
        return Err(format!(
            "unusable: header flags {flags:#04x} mark the cache as {} (this host is {})",
            match flags & ENDIAN_MASK {
                1 => "invalid",
                2 => "little-endian",
                _ => "big-endian",
            },
            if ENDIAN_CURRENT == 2 {
                "little-endian"
            } else {
                "big-endian"
            }
        ));
    }
    let extension_offset = read_u32(data, base + 32, "extension_offset")? as usize;
    let (hwcaps_names, generator) = parse_extensions(data, extension_offset)?;
    let strings = Strings::of(data);

    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = base + NEW_HEADER_SIZE + i * NEW_ENTRY_SIZE;
        let flags = read_u32(data, at, "entry flags")? as i32;
        let key = read_u32(data, at + 4, "entry key")?;
        let value = read_u32(data, at + 8, "entry value")?;
        let osversion = read_u32(data, at + 12, "entry osversion")?;
        let hwcap = read_u64(data, at + 16, "entry hwcap")?;
        let subdir = if is_hwcap_extension(hwcap) {
            let index = hwcap as u32 as usize;
            if index >= hwcaps_names.len() {
                return Err(format!(
                    "entry {i}: glibc-hwcaps index {index} is past the {} names of the \
                     glibc-hwcaps section",
                    hwcaps_names.len()
                ));
            }
            Some(index)
        } else {
            None
        };
        entries.push(Slot {
            flags,
            name: strings.at(base, key, || format!("entry {i} key"))?,
            path: strings.at(base, value, || format!("entry {i} value"))?,
            osversion,
            hwcap,
            subdir,
        });
    }
    Ok((entries, true, hwcaps_names, generator))
}

/// Parses an old-format table of `nlibs` entries (already known to fit) whose strings start
/// at `strings`.
fn parse_old(data: &[u8], nlibs: usize, base: usize) -> Result<Table, String> {
    let strings = Strings::of(data);
    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = OLD_HEADER_SIZE + i * OLD_ENTRY_SIZE;
        let flags = read_u32(data, at, "entry flags")? as i32;
        let key = read_u32(data, at + 4, "entry key")?;
        let value = read_u32(data, at + 8, "entry value")?;
        entries.push(Slot {
            flags,
            name: strings.at(base, key, || format!("old entry {i} key"))?,
            path: strings.at(base, value, || format!("old entry {i} value"))?,
            osversion: 0,
            hwcap: 0,
            subdir: None,
        });
    }
    Ok((entries, false, Vec::new(), None))
}

/// The extension directory at file offset `offset` (0: none): the glibc-hwcaps names and the
/// generator string (`cache_extension_load`, `cache_extension_verify`).
fn parse_extensions(data: &[u8], offset: usize) -> Result<(Vec<Vec<u8>>, Option<String>), String> {
    if offset == 0 {
        return Ok((Vec::new(), None));
    }
    if !offset.is_multiple_of(4) {
        return Err(format!(
            "extension directory offset {offset} is not a multiple of 4"
        ));
    }
    if offset.saturating_add(EXTENSION_HEADER_SIZE) > data.len() {
        return Err(format!(
            "truncated: extension directory at offset {offset} is past the end of the file \
             ({} bytes)",
            data.len()
        ));
    }
    let magic = read_u32(data, offset, "extension magic")?;
    if magic != EXTENSION_MAGIC {
        return Err(format!(
            "extension directory at offset {offset} has magic {magic:#010x}, not \
             {EXTENSION_MAGIC:#010x}"
        ));
    }
    let count = read_u32(data, offset + 4, "extension count")? as usize;
    let sections_at = offset + EXTENSION_HEADER_SIZE;
    if count
        .checked_mul(EXTENSION_SECTION_SIZE)
        .and_then(|size| size.checked_add(sections_at))
        .is_none_or(|end| end > data.len())
    {
        return Err(format!(
            "truncated: {count} extension sections at offset {sections_at} do not fit in the \
             file ({} bytes)",
            data.len()
        ));
    }
    // (offset, size) of the last section of each known tag.
    let mut hwcaps = None;
    let mut generator = None;
    for i in 0..count {
        let at = sections_at + i * EXTENSION_SECTION_SIZE;
        let tag = read_u32(data, at, "extension tag")?;
        let start = read_u32(data, at + 8, "extension offset")? as usize;
        let size = read_u32(data, at + 12, "extension size")? as usize;
        if start.saturating_add(size) > data.len() {
            return Err(format!(
                "truncated: extension section {i} (tag {tag}, {size} bytes at offset {start}) \
                 is past the end of the file ({} bytes)",
                data.len()
            ));
        }
        match tag {
            TAG_GENERATOR => generator = Some((start, size)),
            TAG_GLIBC_HWCAPS => hwcaps = Some((start, size)),
            _ => {}
        }
    }
    let generator =
        generator.map(|(start, size)| String::from_utf8_lossy(&data[start..start + size]).into());
    let mut names = Vec::new();
    if let Some((start, size)) = hwcaps {
        if size == 0 || start % 4 != 0 || size % 4 != 0 {
            return Err(format!(
                "glibc-hwcaps section ({size} bytes at offset {start}) is empty, misaligned or \
                 not a whole number of 4-byte indices"
            ));
        }
        for i in 0..size / 4 {
            let index = read_u32(data, start + 4 * i, "glibc-hwcaps index")?;
            let at = Strings::of(data).at(0, index, || format!("glibc-hwcaps name {i}"))?;
            let len = data[at..].iter().position(|&b| b == 0).unwrap_or(0);
            names.push(data[at..at + len].to_vec());
        }
    }
    Ok((names, generator))
}

/// The strings of a cache file, checked without reading each: a string that starts before the
/// file's last NUL ends at a NUL of its own.
struct Strings<'a> {
    data: &'a [u8],
    /// Where the file's last NUL is, if it has one.
    last_nul: Option<usize>,
}

impl<'a> Strings<'a> {
    fn of(data: &'a [u8]) -> Strings<'a> {
        Strings {
            data,
            last_nul: data.iter().rposition(|&b| b == 0),
        }
    }

    /// Where the NUL-terminated string at `base + offset` starts.
    fn at(&self, base: usize, offset: u32, what: impl Fn() -> String) -> Result<usize, String> {
        let start = base.saturating_add(offset as usize);
        if start >= self.data.len() {
            return Err(format!(
                "{}: string offset {offset} (file offset {start}) is past the end of the file \
                 ({} bytes)",
                what(),
                self.data.len()
            ));
        }
        if self.last_nul.is_none_or(|nul| start > nul) {
            return Err(format!(
                "{}: string at file offset {start} has no terminating NUL before the end of the \
                 file",
                what()
            ));
        }
        Ok(start)
    }
}

/// The native-endian `u32` at `at` (the loader reads the mapping in place).
fn read_u32(data: &[u8], at: usize, what: &str) -> Result<u32, String> {
    data.get(at..at.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or_else(|| format!("truncated: {what} at offset {at} is past the end of the file"))
}

/// The native-endian `u64` at `at`.
fn read_u64(data: &[u8], at: usize, what: &str) -> Result<u64, String> {
    data.get(at..at.saturating_add(8))
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
        .ok_or_else(|| format!("truncated: {what} at offset {at} is past the end of the file"))
}

/// A path from the cache's bytes (any bytes on Unix; lossily elsewhere).
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// This host's CPU as `/proc/cpuinfo` describes its first processor.
#[derive(Debug, Default)]
struct HostCpu {
    /// `vendor_id` is `GenuineIntel` (glibc's `arch_kind_intel`).
    intel: bool,
    /// The `flags` (x86) or `Features` (AArch64) words.
    flags: HashSet<String>,
}

/// The host CPU, read once: on x86 the features glibc's loader found usable when it started
/// this process ([`glibc_cpu`]: the very bits it decides the hwcaps levels with, and no CPUID
/// instruction, which a virtual machine makes slow); else, and without that glibc function,
/// `/proc/cpuinfo`.
fn host_cpu() -> &'static HostCpu {
    static HOST: OnceLock<HostCpu> = OnceLock::new();
    HOST.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
        if let Some(cpu) = glibc_cpu() {
            return cpu;
        }
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|text| parse_cpuinfo(&text))
            .unwrap_or_default()
    })
}

/// glibc's `struct cpuid_feature` (`<bits/platform/x86.h>`): one CPUID leaf's registers as
/// the CPU gave them, and the bits of the features glibc found usable.
#[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
#[repr(C)]
struct CpuidFeature {
    cpuid: [u32; 4],
    active: [u32; 4],
}

/// The features glibc's loader found usable (`CPU_FEATURE_ACTIVE`, `__x86_get_cpuid_feature_leaf`
/// of glibc 2.33 and later, looked up with `dlsym`: `None` without it), each under its
/// `/proc/cpuinfo` name; the vendor from CPUID leaf 0, which that table does not hold.
#[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
fn glibc_cpu() -> Option<HostCpu> {
    use std::ffi::{c_char, c_void};
    unsafe extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    // SAFETY: dlsym with RTLD_DEFAULT (the null handle) and a NUL-terminated name only reads
    // the loader's tables.
    let address = unsafe {
        dlsym(
            std::ptr::null_mut(),
            c"__x86_get_cpuid_feature_leaf".as_ptr(),
        )
    };
    if address.is_null() {
        return None;
    }
    // SAFETY: the symbol is glibc's `const struct cpuid_feature *__x86_get_cpuid_feature_leaf
    // (unsigned int)` (<sys/platform/x86.h>), whose type this is.
    let leaf: extern "C" fn(u32) -> *const CpuidFeature = unsafe { std::mem::transmute(address) };
    // (`CPUID_INDEX_*`, register, bit, name)
    const FEATURES: [(u32, usize, u32, &str); 29] = [
        (0, 3, 0, "fpu"),
        (0, 3, 8, "cx8"),
        (0, 3, 15, "cmov"),
        (0, 3, 23, "mmx"),
        (0, 3, 24, "fxsr"),
        (0, 3, 25, "sse"),
        (0, 3, 26, "sse2"),
        (0, 2, 0, "pni"),
        (0, 2, 9, "ssse3"),
        (0, 2, 12, "fma"),
        (0, 2, 13, "cx16"),
        (0, 2, 19, "sse4_1"),
        (0, 2, 20, "sse4_2"),
        (0, 2, 22, "movbe"),
        (0, 2, 23, "popcnt"),
        (0, 2, 28, "avx"),
        (0, 2, 29, "f16c"),
        (1, 1, 3, "bmi1"),
        (1, 1, 5, "avx2"),
        (1, 1, 8, "bmi2"),
        (1, 1, 16, "avx512f"),
        (1, 1, 17, "avx512dq"),
        (1, 1, 26, "avx512pf"),
        (1, 1, 27, "avx512er"),
        (1, 1, 28, "avx512cd"),
        (1, 1, 30, "avx512bw"),
        (1, 1, 31, "avx512vl"),
        (2, 2, 0, "lahf_lm"),
        (2, 2, 5, "abm"),
    ];
    let mut flags = HashSet::new();
    for (index, register, bit, name) in FEATURES {
        // SAFETY: glibc returns a pointer to its own feature table (or, for an index it does
        // not know, to a zeroed static one), valid for the whole process and never written
        // after start-up.
        let feature = unsafe { &*leaf(index) };
        // `get_isa_level` asks for the FPU present (`CPU_FEATURE_CPU_P`), the others usable.
        let bits = if name == "fpu" {
            feature.cpuid
        } else {
            feature.active
        };
        if bits[register] & (1 << bit) != 0 {
            flags.insert(name.to_owned());
        }
    }
    // `__cpuid` is a safe function in newer Rust (1.95 here) and unsafe in the minimum supported
    // one (1.88), where the block is needed.
    #[allow(unused_unsafe)]
    // SAFETY: leaf 0 (the vendor string) exists on every x86-64 processor.
    let vendor = unsafe { std::arch::x86_64::__cpuid(0) };
    Some(HostCpu {
        intel: (vendor.ebx, vendor.edx, vendor.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e),
        flags,
    })
}

/// The first processor's vendor and feature words in a `/proc/cpuinfo` text.
fn parse_cpuinfo(text: &str) -> HostCpu {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim())
        })
    };
    let flags = field("flags").or_else(|| field("Features")).unwrap_or("");
    HostCpu {
        intel: field("vendor_id") == Some("GenuineIntel"),
        flags: flags.split_whitespace().map(str::to_string).collect(),
    }
}

/// The glibc-hwcaps subdirectories this CPU supports, most preferred first, as glibc 2.36
/// decides them for x86-64 processes; empty on other hosts (glibc 2.36 defines none for
/// AArch64). The `glibc.hwcaps` tunables and `--glibc-hwcaps-*` options are not applied.
pub(crate) fn supported_hwcaps() -> Vec<&'static str> {
    if cfg!(target_arch = "x86_64") {
        x86_64_hwcaps(&host_cpu().flags)
    } else {
        Vec::new()
    }
}

/// `_dl_hwcaps_subdirs_active` (`sysdeps/x86_64/dl-hwcaps-subdirs.c`) for a CPU with these
/// `/proc/cpuinfo` flags: `x86-64-v4`, `-v3`, `-v2`, as far as the CPU's ISA level reaches.
///
/// The levels are those of `get_isa_level` (`sysdeps/x86/get-isa-level.h`, glibc 2.36 release
/// branch and Debian 12, which carry the 2.37 fix adding BMI1/BMI2 to v3); each needs the
/// previous one. Feature, `/proc/cpuinfo` name in parentheses where it differs:
/// - baseline: CMOV, CX8, FPU, FXSR, MMX, SSE, SSE2;
/// - x86-64-v2: CMPXCHG16B (`cx16`), LAHF64_SAHF64 (`lahf_lm`), POPCNT, SSE3 (`pni`), SSSE3,
///   SSE4_1, SSE4_2;
/// - x86-64-v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT (`abm`), MOVBE;
/// - x86-64-v4: AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL.
///
/// glibc asks for "usable" features (CPUID plus OS support for the register state); the
/// kernel leaves AVX/AVX-512 out of `/proc/cpuinfo` when it does not enable their state.
fn x86_64_hwcaps(flags: &HashSet<String>) -> Vec<&'static str> {
    const LEVELS: [(&str, &[&str]); 4] = [
        ("", &["cmov", "cx8", "fpu", "fxsr", "mmx", "sse", "sse2"]),
        (
            "x86-64-v2",
            &[
                "cx16", "lahf_lm", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2",
            ],
        ),
        (
            "x86-64-v3",
            &["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"],
        ),
        (
            "x86-64-v4",
            &["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"],
        ),
    ];
    let mut supported = Vec::new();
    for (name, needs) in LEVELS {
        if !needs.iter().all(|f| flags.contains(*f)) {
            break;
        }
        if !name.is_empty() {
            supported.insert(0, name);
        }
    }
    supported
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry for [`build_new`]: flags, name, path, hwcap.
    type Raw<'a> = (i32, &'a str, &'a str, u64);

    const X86_64_LIBC6: i32 = FLAG_X8664_LIB64 | FLAG_ELF_LIBC6;

    /// `FLAG_TYPE_MASK` (`sysdeps/generic/ldconfig.h`): the type bits `ldconfig -p` names.
    /// The loader never masks: it compares whole flags with `_DL_CACHE_DEFAULT_ID`.
    const FLAG_TYPE_MASK: i32 = 0x00ff;

    /// A glibc-hwcaps `hwcap` value: extension bit, ISA level, section index.
    fn named(index: u32, isa_level: u64) -> u64 {
        DL_CACHE_HWCAP_EXTENSION | (isa_level << 32) | u64::from(index)
    }

    /// A new-format cache laid out as `ldconfig`'s `save_cache` lays it out (entries in the
    /// given order; glibc-hwcaps names indexed from the file start, which equals the header).
    fn build_new(entries: &[Raw<'_>], hwcaps: &[&str]) -> Vec<u8> {
        let table = NEW_HEADER_SIZE + entries.len() * NEW_ENTRY_SIZE;
        let mut strings = Vec::new();
        let mut add = |s: &str| {
            let at = (table + strings.len()) as u32;
            strings.extend_from_slice(s.as_bytes());
            strings.push(0);
            at
        };
        let hwcaps_at: Vec<u32> = hwcaps.iter().map(|h| add(h)).collect();
        let mut file = Vec::new();
        file.extend_from_slice(NEW_MAGIC);
        file.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
        let mut body = Vec::new();
        for &(flags, name, path, hwcap) in entries {
            body.extend_from_slice(&flags.to_ne_bytes());
            body.extend_from_slice(&add(name).to_ne_bytes());
            body.extend_from_slice(&add(path).to_ne_bytes());
            body.extend_from_slice(&0u32.to_ne_bytes());
            body.extend_from_slice(&hwcap.to_ne_bytes());
        }
        let extension = (table + strings.len()).next_multiple_of(4);
        file.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
        file.extend_from_slice(&[ENDIAN_CURRENT, 0, 0, 0]);
        file.extend_from_slice(&(extension as u32).to_ne_bytes());
        file.extend_from_slice(&[0; 12]);
        file.extend_from_slice(&body);
        file.extend_from_slice(&strings);
        file.resize(extension, 0);
        let generator = b"test generator";
        let sections = 1 + usize::from(!hwcaps.is_empty());
        let hwcaps_section = extension + 8 + 16 * sections;
        let generator_at = hwcaps_section + 4 * hwcaps.len();
        file.extend_from_slice(&EXTENSION_MAGIC.to_ne_bytes());
        file.extend_from_slice(&(sections as u32).to_ne_bytes());
        for word in [
            TAG_GENERATOR,
            0,
            generator_at as u32,
            generator.len() as u32,
        ] {
            file.extend_from_slice(&word.to_ne_bytes());
        }
        if !hwcaps.is_empty() {
            let size = 4 * hwcaps.len() as u32;
            for word in [TAG_GLIBC_HWCAPS, 0, hwcaps_section as u32, size] {
                file.extend_from_slice(&word.to_ne_bytes());
            }
        }
        for at in hwcaps_at {
            file.extend_from_slice(&at.to_ne_bytes());
        }
        file.extend_from_slice(generator);
        file
    }

    /// An old-format cache.
    fn build_old(entries: &[(i32, &str, &str)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let mut add = |s: &str| {
            let at = strings.len() as u32;
            strings.extend_from_slice(s.as_bytes());
            strings.push(0);
            at
        };
        let mut file = Vec::new();
        file.extend_from_slice(OLD_MAGIC);
        file.push(0);
        file.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
        for &(flags, name, path) in entries {
            file.extend_from_slice(&flags.to_ne_bytes());
            file.extend_from_slice(&add(name).to_ne_bytes());
            file.extend_from_slice(&add(path).to_ne_bytes());
        }
        file.extend_from_slice(&strings);
        file
    }

    /// Finds with an explicit legacy state (no host dependence).
    fn find(cache: &LdCache, name: &str, hwcaps: &[&str], legacy: Legacy) -> Option<String> {
        let abi = Abi::for_machine(EM_X86_64, true).unwrap();
        cache
            .search(name, &abi, hwcaps, &legacy)
            .map(|e| path_from_bytes(cache.bytes(e.path)).display().to_string())
    }

    /// A CPU with no legacy hwcaps beyond the always-present `x86_64` bit.
    const PLAIN: Legacy = Legacy {
        hwcap: HWCAP_X86_64,
        platform: u64::MAX,
    };

    /// `print_entry` in `elf/cache.c`: one `ldconfig -p` line, without the newline.
    fn ldconfig_line(entry: &CacheEntry) -> Vec<u8> {
        let mut line = b"\t".to_vec();
        line.extend_from_slice(&entry.name);
        line.extend_from_slice(b" (");
        let kind = ["libc4", "ELF", "libc5", "libc6"];
        line.extend_from_slice(
            kind.get((entry.flags & FLAG_TYPE_MASK) as usize)
                .unwrap_or(&"unknown")
                .as_bytes(),
        );
        let arch = match (entry.flags & FLAG_REQUIRED_MASK) >> 8 {
            0 => String::new(),
            0x01 | 0x04 | 0x05 | 0x07 => ",64bit".into(),
            0x02 => ",IA-64".into(),
            0x03 => ",x86-64".into(),
            0x06 => ",N32".into(),
            0x08 => ",x32".into(),
            0x09 => ",hard-float".into(),
            0x0a => ",AArch64".into(),
            0x0b | 0x0f => ",soft-float".into(),
            0x0c => ",nan2008".into(),
            0x0d => ",N32,nan2008".into(),
            0x0e => ",64bit,nan2008".into(),
            0x10 => ",double-float".into(),
            _ => format!(",{}", entry.flags & FLAG_REQUIRED_MASK),
        };
        line.extend_from_slice(arch.as_bytes());
        if let Some(subdir) = &entry.hwcaps_subdir {
            line.extend_from_slice(b", hwcap: \"");
            line.extend_from_slice(subdir);
            line.push(b'"');
        } else if entry.hwcap != 0 {
            line.extend_from_slice(format!(", hwcap: {:#018x}", entry.hwcap).as_bytes());
        }
        line.extend_from_slice(b") => ");
        line.extend_from_slice(entry.path.as_os_str().as_encoded_bytes());
        line
    }

    /// Runs `ldconfig -p` on a cache file and checks that it lists exactly our entries, in
    /// order, with the same count and generator. Returns the number of entries; fails when
    /// `ldconfig` cannot be run (Debian's libc-bin, on every Debian system).
    fn cross_check_with_ldconfig(path: &Path, cache: &LdCache) -> usize {
        let out = std::process::Command::new("ldconfig")
            .arg("-p")
            .arg("-C")
            .arg(path)
            .output()
            .or_else(|_| {
                std::process::Command::new("/sbin/ldconfig")
                    .arg("-p")
                    .arg("-C")
                    .arg(path)
                    .output()
            })
            .expect("ldconfig (Debian's libc-bin) runs");
        assert!(
            out.status.success(),
            "ldconfig -p -C {}: {out:?}",
            path.display()
        );
        let mut lines = out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let header =
            String::from_utf8_lossy(lines.next().expect("ldconfig -p header")).into_owned();
        let count: usize = header
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("N libs found");
        let mut listed = Vec::new();
        let mut generator = None;
        for line in lines {
            if line.starts_with(b"\t") {
                listed.push(line.to_vec());
            } else if let Some(g) = line.strip_prefix(b"Cache generated by: ") {
                generator = Some(String::from_utf8_lossy(g).into_owned());
            }
        }
        let ours: Vec<Vec<u8>> = cache.entries().iter().map(ldconfig_line).collect();
        assert_eq!(count, cache.entries().len(), "{header}");
        assert_eq!(listed.len(), cache.entries().len());
        for (i, (theirs, ours)) in listed.iter().zip(&ours).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(theirs),
                String::from_utf8_lossy(ours),
                "entry {i}"
            );
        }
        assert_eq!(generator.as_deref(), cache.generator());
        count
    }

    /// The features glibc found usable are those `/proc/cpuinfo` lists, for every feature the
    /// levels and legacy platforms are decided by.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
    fn glibcs_usable_features_agree_with_proc_cpuinfo() {
        let listed = parse_cpuinfo(&std::fs::read_to_string("/proc/cpuinfo").unwrap());
        let read = glibc_cpu().expect("glibc 2.33 or later (Debian 12 has 2.36)");
        assert_eq!(read.intel, listed.intel);
        for name in [
            "fpu", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "pni", "ssse3", "fma", "cx16",
            "sse4_1", "sse4_2", "movbe", "popcnt", "avx", "f16c", "bmi1", "avx2", "bmi2",
            "avx512f", "avx512dq", "avx512pf", "avx512er", "avx512cd", "avx512bw", "avx512vl",
            "lahf_lm", "abm",
        ] {
            assert_eq!(
                read.flags.contains(name),
                listed.flags.contains(name),
                "{name}"
            );
        }
        assert!(read.flags.contains("sse2"), "x86-64 has SSE2");
    }

    #[test]
    fn libcmp_orders_digit_runs_numerically() {
        assert_eq!(dl_cache_libcmp(b"libc.so.6", b"libc.so.6"), 0);
        assert!(dl_cache_libcmp(b"libfoo.so.10", b"libfoo.so.9") > 0);
        assert!(dl_cache_libcmp(b"libfoo.so.9", b"libfoo.so.10") < 0);
        assert!(dl_cache_libcmp(b"libz3.so", b"libz.so") > 0); // digit beats letter
        assert!(dl_cache_libcmp(b"libz.so", b"libz.so.1") < 0);
        assert!(dl_cache_libcmp(b"libz.so.1", b"libz.so") > 0);
    }

    #[test]
    fn real_cache_matches_ldconfig() {
        let path = Path::new(LD_SO_CACHE);
        let data = std::fs::read(path).unwrap_or_else(|e| {
            panic!("{LD_SO_CACHE}: {e}: the system's cache is what is checked")
        });
        let cache = LdCache::parse(&data).expect("the system cache parses");
        let count = cross_check_with_ldconfig(path, &cache);
        assert!(count > 0, "{LD_SO_CACHE} lists no library");
        eprintln!(
            "{count} entries ({} x86-64, {} glibc-hwcaps, {} legacy hwcap) agree with ldconfig -p",
            cache.entries_for(EM_X86_64, true).count(),
            cache
                .entries()
                .iter()
                .filter(|e| e.is_glibc_hwcaps())
                .count(),
            cache
                .entries()
                .iter()
                .filter(|e| e.hwcap != 0 && !e.is_glibc_hwcaps())
                .count()
        );
        // Every name with a plain x86-64 entry is found by the loader's binary search.
        if cfg!(target_arch = "x86_64") {
            let hwcaps = supported_hwcaps();
            for e in cache.entries_for(EM_X86_64, true).filter(|e| e.hwcap == 0) {
                if let Ok(name) = std::str::from_utf8(&e.name) {
                    assert!(
                        cache.lookup(name, EM_X86_64, true, &hwcaps).is_some(),
                        "{name}"
                    );
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn libc_resolves_to_what_ldconfig_lists() {
        let out = std::process::Command::new("ldconfig")
            .arg("-p")
            .output()
            .expect("ldconfig (Debian's libc-bin) runs");
        let text = String::from_utf8_lossy(&out.stdout);
        // With no glibc-hwcaps libc, the plain x86-64 entry is the loader's choice.
        let listed = text.lines().find_map(|l| {
            l.strip_prefix("\tlibc.so.6 (libc6,x86-64) => ")
                .map(PathBuf::from)
        });
        let cache = LdCache::load().unwrap();
        let found = cache.lookup("libc.so.6", EM_X86_64, true, &supported_hwcaps());
        assert_eq!(found, listed);
        assert!(found.is_some());
    }

    /// Runs the real loader `ld_so --list` with `LD_DEBUG=libs` on up to 30 ELF files of
    /// `dir` with this `e_machine` and class, and checks that every name it took from the cache
    /// (" search cache=" followed by "  trying file=PATH") is what [`LdCache::lookup`] gives.
    /// Returns how many distinct names were compared; fails when the loader or the directory
    /// is not there.
    fn compare_with_loader(
        ld_so: &Path,
        dir: &str,
        machine: u16,
        class64: bool,
        hwcaps: &[&str],
    ) -> usize {
        use std::io::Read;
        assert!(ld_so.exists(), "{} is not there", ld_so.display());
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        let class = if class64 { 2 } else { 1 };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let mut header = [0u8; 20];
                std::fs::File::open(p).is_ok_and(|mut f| f.read_exact(&mut header).is_ok())
                    && header.starts_with(b"\x7fELF")
                    && header[4] == class
                    && u16::from_le_bytes([header[18], header[19]]) == machine
            })
            .collect();
        files.sort();
        files.truncate(30);
        let cache = LdCache::load().unwrap();
        let mut checked = HashSet::new();
        for file in &files {
            let Ok(out) = std::process::Command::new(ld_so)
                .arg("--list")
                .arg(file)
                .env("LD_DEBUG", "libs")
                .env_remove("LD_LIBRARY_PATH")
                .env_remove("GLIBC_TUNABLES")
                .output()
            else {
                continue;
            };
            let text = String::from_utf8_lossy(&out.stderr);
            let mut current: Option<String> = None;
            let mut after_cache = false;
            for line in text.lines() {
                let line = line.split_once(':').map_or(line, |(_, rest)| rest).trim();
                if let Some(rest) = line.strip_prefix("find library=") {
                    current = rest.split(" [").next().map(str::to_string);
                    after_cache = false;
                } else if line.starts_with("search cache=") {
                    after_cache = true;
                } else if let Some(path) = line.strip_prefix("trying file=") {
                    if let (true, Some(name)) = (after_cache, current.take()) {
                        let ours = cache.lookup(&name, machine, class64, hwcaps);
                        assert_eq!(ours, Some(PathBuf::from(path)), "{name} for {file:?}");
                        checked.insert(name);
                    }
                    after_cache = false;
                } else {
                    after_cache = false;
                }
            }
        }
        eprintln!(
            "{}: {} distinct names from {} files agree with the loader",
            ld_so.display(),
            checked.len(),
            files.len()
        );
        checked.len()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn lookup_agrees_with_the_real_loader() {
        let x86_64 = Path::new("/lib64/ld-linux-x86-64.so.2");
        let compared =
            compare_with_loader(x86_64, "/usr/bin", EM_X86_64, true, &supported_hwcaps());
        // 30 programs of /usr/bin need libc and more: a comparison of fewer names compared
        // nothing worth the name (a loader whose debug output changed, say).
        assert!(
            compared >= 5,
            "only {compared} names of /usr/bin's programs compared"
        );
        // The i386 loader has no glibc-hwcaps subdirectories (none defined for i386); Debian's
        // libc6-i386 installs it (cargo xtask deps).
        let compared = compare_with_loader(
            Path::new("/lib32/ld-linux.so.2"),
            "/lib32",
            EM_386,
            false,
            &[],
        );
        assert!(
            compared >= 1,
            "only {compared} names of /lib32's libraries compared"
        );
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn hwcaps_and_legacy_state_agree_with_ld_so_help() {
        let out = std::process::Command::new("/lib64/ld-linux-x86-64.so.2")
            .arg("--help")
            .env_remove("GLIBC_TUNABLES")
            .output()
            .expect("the system's loader runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let section = |title: &str| -> Vec<(String, String)> {
            text.lines()
                .skip_while(|l| !l.starts_with(title))
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| {
                    let (name, notes) = l.trim().split_once(" (")?;
                    Some((name.to_string(), notes.trim_end_matches(')').to_string()))
                })
                .collect()
        };
        let supported: Vec<String> = section("Subdirectories of glibc-hwcaps directories")
            .into_iter()
            .filter(|(_, notes)| notes.split(", ").any(|n| n == "supported"))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(supported, supported_hwcaps());

        let legacy = section("Legacy HWCAP subdirectories");
        let platform = legacy
            .iter()
            .find(|(_, notes)| notes.starts_with("AT_PLATFORM"))
            .map(|(name, _)| name.as_str());
        let platform = match platform {
            Some("haswell") => 1 << (FIRST_PLATFORM + 2),
            Some("xeon_phi") => 1 << (FIRST_PLATFORM + 3),
            _ => u64::MAX,
        };
        let searched = |bit: &str| {
            legacy
                .iter()
                .any(|(name, notes)| name == bit && notes.split(", ").any(|n| n == "searched"))
        };
        let mut hwcap = 0;
        if searched("x86_64") {
            hwcap |= HWCAP_X86_64;
        }
        if searched("avx512_1") {
            hwcap |= HWCAP_X86_AVX512_1;
        }
        let abi = Abi::for_machine(EM_X86_64, true).unwrap();
        assert_eq!(Legacy::host(&abi), Legacy { hwcap, platform });
        eprintln!(
            "ld.so --help agrees: hwcaps {supported:?}, legacy {hwcap:#x}, platform {platform:#x}"
        );
    }

    #[test]
    fn glibc_hwcaps_entry_is_preferred_when_supported() {
        // ldconfig order: glibc-hwcaps entries first, then the plain one.
        let data = build_new(
            &[
                (
                    X86_64_LIBC6,
                    "libfoo.so.1",
                    "/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                    named(0, 2),
                ),
                (X86_64_LIBC6, "libfoo.so.1", "/lib/libfoo.so.1", 0),
            ],
            &["x86-64-v3"],
        );
        let cache = LdCache::parse(&data).unwrap();
        assert_eq!(cache.entries().len(), 2);
        assert_eq!(
            cache.entries()[0].hwcaps_subdir.as_deref(),
            Some(&b"x86-64-v3"[..])
        );
        assert_eq!(cache.entries()[0].isa_level(), 2);
        assert_eq!(cache.generator(), Some("test generator"));
        let v3 = Some(PathBuf::from("/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1"));
        let base = Some(PathBuf::from("/lib/libfoo.so.1"));
        assert_eq!(
            cache.lookup("libfoo.so.1", EM_X86_64, true, &["x86-64-v3", "x86-64-v2"]),
            v3
        );
        assert_eq!(cache.lookup("libfoo.so.1", EM_X86_64, true, &[]), base);
        assert_eq!(
            cache.lookup("libfoo.so.1", EM_X86_64, true, &["x86-64-v2"]),
            base
        );
        // Wrong architecture, unknown name, a path: nothing.
        assert_eq!(cache.lookup("libfoo.so.1", EM_386, false, &[]), None);
        assert_eq!(cache.lookup("libfoo.so.1", EM_AARCH64, true, &[]), None);
        assert_eq!(cache.lookup("libbar.so.1", EM_X86_64, true, &[]), None);
        assert_eq!(cache.lookup("/lib/libfoo.so.1", EM_X86_64, true, &[]), None);
    }

    #[test]
    fn best_priority_wins_and_isa_level_is_checked() {
        let data = build_new(
            &[
                (X86_64_LIBC6, "libm.so.6", "/v2/libm.so.6", named(0, 1)),
                (X86_64_LIBC6, "libm.so.6", "/v3/libm.so.6", named(1, 2)),
                (X86_64_LIBC6, "libm.so.6", "/v4/libm.so.6", named(2, 3)),
                (X86_64_LIBC6, "libm.so.6", "/base/libm.so.6", 0),
                (X86_64_LIBC6, "libisa.so.1", "/v2/libisa.so.1", named(0, 1)),
                // Needs x86-64-v4 although it sits in the x86-64-v3 directory.
                (X86_64_LIBC6, "libisa.so.1", "/v3/libisa.so.1", named(1, 3)),
                (X86_64_LIBC6, "libisa.so.1", "/base/libisa.so.1", 0),
            ],
            &["x86-64-v2", "x86-64-v3", "x86-64-v4"],
        );
        let cache = LdCache::parse(&data).unwrap();
        let all = ["x86-64-v4", "x86-64-v3", "x86-64-v2"];
        assert_eq!(
            find(&cache, "libm.so.6", &all, PLAIN).as_deref(),
            Some("/v4/libm.so.6")
        );
        // The order of `hwcaps`, not the order in the file, decides.
        let v2_first = ["x86-64-v2", "x86-64-v3"];
        assert_eq!(
            find(&cache, "libm.so.6", &v2_first, PLAIN).as_deref(),
            Some("/v2/libm.so.6")
        );
        let v3_cpu = ["x86-64-v3", "x86-64-v2"];
        assert_eq!(
            find(&cache, "libm.so.6", &v3_cpu, PLAIN).as_deref(),
            Some("/v3/libm.so.6")
        );
        // On a v3 CPU an entry whose ISA level is v4 is skipped, whatever its directory.
        assert_eq!(
            find(&cache, "libisa.so.1", &v3_cpu, PLAIN).as_deref(),
            Some("/v2/libisa.so.1")
        );
        let v4_cpu = ["x86-64-v4", "x86-64-v3", "x86-64-v2"];
        assert_eq!(
            find(&cache, "libisa.so.1", &v4_cpu, PLAIN).as_deref(),
            Some("/v3/libisa.so.1")
        );
        assert_eq!(
            find(&cache, "libm.so.6", &["x86-64-v2"], PLAIN).as_deref(),
            Some("/v2/libm.so.6")
        );
        assert_eq!(
            find(&cache, "libm.so.6", &["other"], PLAIN).as_deref(),
            Some("/base/libm.so.6")
        );
    }

    #[test]
    fn legacy_hwcap_entries_follow_glibc_2_36() {
        let haswell = 1 << (FIRST_PLATFORM + 2);
        let data = build_new(
            &[
                (X86_64_LIBC6, "libz.so.1", "/tls/libz.so.1", HWCAP_TLS),
                (X86_64_LIBC6, "libz.so.1", "/haswell/libz.so.1", haswell),
                (
                    X86_64_LIBC6,
                    "libz.so.1",
                    "/avx512_1/libz.so.1",
                    HWCAP_X86_AVX512_1,
                ),
                (X86_64_LIBC6, "libz.so.1", "/lib/libz.so.1", 0),
                (X86_64_LIBC6, "libq.so.1", "/haswell/libq.so.1", haswell),
                (
                    X86_64_LIBC6,
                    "libq.so.1",
                    "/avx512_1/libq.so.1",
                    HWCAP_X86_AVX512_1,
                ),
                (X86_64_LIBC6, "libq.so.1", "/x86_64/libq.so.1", HWCAP_X86_64),
                (X86_64_LIBC6, "libq.so.1", "/lib/libq.so.1", 0),
            ],
            &[],
        );
        let cache = LdCache::parse(&data).unwrap();
        // `tls` is accepted on every CPU, and the first acceptable plain entry wins.
        assert_eq!(
            find(&cache, "libz.so.1", &[], PLAIN).as_deref(),
            Some("/tls/libz.so.1")
        );
        assert_eq!(
            find(&cache, "libq.so.1", &[], PLAIN).as_deref(),
            Some("/x86_64/libq.so.1")
        );
        let intel = Legacy {
            hwcap: HWCAP_X86_64,
            platform: haswell,
        };
        assert_eq!(
            find(&cache, "libq.so.1", &[], intel).as_deref(),
            Some("/haswell/libq.so.1")
        );
        let avx512 = Legacy {
            hwcap: HWCAP_X86_64 | HWCAP_X86_AVX512_1,
            platform: u64::MAX,
        };
        assert_eq!(
            find(&cache, "libq.so.1", &[], avx512).as_deref(),
            Some("/avx512_1/libq.so.1")
        );
    }

    #[test]
    fn binary_search_finds_every_name_in_a_sorted_table() {
        // Descending `_dl_cache_libcmp` order, as ldconfig writes it.
        let names = [
            "libz3.so.4",
            "libz.so.1",
            "libxml2.so.2",
            "libm.so.6",
            "libfoo.so.10",
            "libfoo.so.9",
            "libc.so.6",
            "libbar.so",
            "liba.so.1",
        ];
        let paths: Vec<String> = names.iter().map(|n| format!("/lib/{n}")).collect();
        let raw: Vec<Raw<'_>> = names
            .iter()
            .zip(&paths)
            .map(|(n, p)| (X86_64_LIBC6, *n, p.as_str(), 0))
            .collect();
        for w in names.windows(2) {
            assert!(
                dl_cache_libcmp(w[0].as_bytes(), w[1].as_bytes()) > 0,
                "{w:?}"
            );
        }
        let cache = LdCache::parse(&build_new(&raw, &[])).unwrap();
        for (name, path) in names.iter().zip(&paths) {
            assert_eq!(
                find(&cache, name, &[], PLAIN).as_deref(),
                Some(path.as_str())
            );
        }
        assert_eq!(find(&cache, "libfoo.so.11", &[], PLAIN), None);
        assert_eq!(find(&cache, "libb.so", &[], PLAIN), None);
    }

    #[test]
    fn i386_accepts_plain_elf_entries_and_keeps_looking() {
        let data = build_new(
            &[
                (FLAG_ELF, "libold.so.1", "/elf/libold.so.1", 0),
                (FLAG_ELF_LIBC6, "libold.so.1", "/libc6/libold.so.1", 0),
                (X86_64_LIBC6, "libold.so.1", "/lib64/libold.so.1", 0),
            ],
            &[],
        );
        let cache = LdCache::parse(&data).unwrap();
        let abi = Abi::for_machine(EM_386, false).unwrap();
        let none = Legacy {
            hwcap: 0,
            platform: u64::MAX,
        };
        // The FLAG_ELF entry is the best so far; the next plain entry then ends the scan.
        let found = cache
            .search("libold.so.1", &abi, &[], &none)
            .map(|e| path_from_bytes(cache.bytes(e.path)));
        assert_eq!(found, Some(PathBuf::from("/elf/libold.so.1")));
        assert_eq!(cache.entries_for(EM_386, false).count(), 2);
        assert_eq!(cache.entries()[0].arch(), CacheArch::I386);
        assert_eq!(cache.entries()[2].arch(), CacheArch::X86_64);
        assert_eq!(CacheArch::from_flags(0x0a03), CacheArch::Aarch64);
        assert_eq!(CacheArch::from_flags(0x0803), CacheArch::X32);
        assert_eq!(CacheArch::from_flags(0x0903), CacheArch::Other(0x0900));
        assert_eq!(
            CacheArch::for_machine(EM_AARCH64, true),
            Some(CacheArch::Aarch64)
        );
        assert_eq!(CacheArch::for_machine(EM_386, true), None);
    }

    #[test]
    fn old_and_compat_formats() {
        let old = build_old(&[
            (X86_64_LIBC6, "libz.so.1", "/old/libz.so.1"),
            (FLAG_ELF_LIBC6, "libz.so.1", "/old32/libz.so.1"),
        ]);
        let cache = LdCache::parse(&old).unwrap();
        assert_eq!(cache.entries().len(), 2);
        assert_eq!(
            find(&cache, "libz.so.1", &[], PLAIN).as_deref(),
            Some("/old/libz.so.1")
        );

        // Compat: old table, padding to 8, new table whose strings start at the new header.
        let new = build_new(&[(X86_64_LIBC6, "libz.so.1", "/new/libz.so.1", 0)], &[]);
        let mut compat = build_old(&[(X86_64_LIBC6, "libz.so.1", "/old/libz.so.1")]);
        compat.truncate(OLD_HEADER_SIZE + OLD_ENTRY_SIZE);
        compat.resize((OLD_HEADER_SIZE + OLD_ENTRY_SIZE).next_multiple_of(8), 0);
        let new_at = compat.len();
        compat.extend_from_slice(&new);
        // The old entry's strings point into the new table's string area.
        let key = (NEW_HEADER_SIZE + NEW_ENTRY_SIZE + (new_at - 28)) as u32;
        compat[20..24].copy_from_slice(&key.to_ne_bytes());
        compat[24..28].copy_from_slice(&key.to_ne_bytes());
        // The extension offset counts from the file start.
        let ext = u32::from_ne_bytes(new[32..36].try_into().unwrap()) + new_at as u32;
        compat[new_at + 32..new_at + 36].copy_from_slice(&ext.to_ne_bytes());
        let cache = LdCache::parse(&compat).unwrap();
        assert!(cache.new_format);
        assert_eq!(
            find(&cache, "libz.so.1", &[], PLAIN).as_deref(),
            Some("/new/libz.so.1")
        );
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let good = build_new(
            &[(X86_64_LIBC6, "libfoo.so.1", "/lib/libfoo.so.1", named(0, 0))],
            &["x"],
        );
        assert!(LdCache::parse(&good).is_ok());
        assert!(LdCache::parse(b"").unwrap().entries().is_empty());
        let err = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut d = good.clone();
            f(&mut d);
            LdCache::parse(&d).unwrap_err()
        };
        eprintln!("{}", err(&|d| d[0] = b'x'));
        eprintln!(
            "{}",
            err(&|d| d[20..24].copy_from_slice(&1000u32.to_ne_bytes()))
        );
        eprintln!(
            "{}",
            err(&|d| d[28] = if ENDIAN_CURRENT == 2 { 3 } else { 2 })
        );
        eprintln!(
            "{}",
            err(&|d| d[32..36].copy_from_slice(&2u32.to_ne_bytes()))
        );
        eprintln!(
            "{}",
            err(&|d| d[56..60].copy_from_slice(&u32::MAX.to_ne_bytes()))
        );
        eprintln!(
            "{}",
            err(&|d| d[64..72].copy_from_slice(&named(5, 0).to_ne_bytes()))
        );
        eprintln!(
            "{}",
            err(&|d| {
                let n = d.len();
                d[n - 1] = 0;
                d.truncate(n - 1);
            })
        );
    }

    /// xorshift64*: a deterministic stream for the corruption test.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Every truncation is an error (the extension data ends the file), and corruption never
    /// panics, in parsing or in lookups.
    fn assert_robust(data: &[u8]) {
        let full = LdCache::parse(data).expect("the intact cache parses");
        let ends_with_extension = full.generator().is_some();
        for len in 1..data.len() {
            let result = LdCache::parse(&data[..len]);
            if ends_with_extension {
                assert!(result.is_err(), "truncated to {len} bytes parsed");
            }
        }
        let names: Vec<String> = full
            .entries()
            .iter()
            .take(50)
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut copy = data.to_vec();
        for round in 0..3000 {
            copy.copy_from_slice(data);
            for _ in 0..1 + round % 4 {
                let at = (next(&mut state) % data.len() as u64) as usize;
                // Half of the time hit the header and first entries, where counts live.
                let at = if round % 2 == 0 {
                    at % 160.min(data.len())
                } else {
                    at
                };
                copy[at] = next(&mut state) as u8;
            }
            if let Ok(cache) = LdCache::parse(&copy) {
                for name in &names {
                    let _ = cache.lookup(name, EM_X86_64, true, &["x86-64-v3", "x86-64-v2"]);
                }
            }
        }
    }

    #[test]
    fn truncation_and_corruption_never_panic() {
        let built = build_new(
            &[
                (X86_64_LIBC6, "libfoo.so.1", "/v3/libfoo.so.1", named(0, 2)),
                (X86_64_LIBC6, "libfoo.so.1", "/lib/libfoo.so.1", 0),
                (X86_64_LIBC6, "libbar.so.2", "/lib/libbar.so.2", HWCAP_TLS),
            ],
            &["x86-64-v3"],
        );
        assert_robust(&built);
        if let Ok(real) = std::fs::read(LD_SO_CACHE) {
            assert_robust(&real);
        }
    }

    #[test]
    fn x86_64_levels_follow_get_isa_level() {
        let set = |s: &str| {
            s.split_whitespace()
                .map(str::to_string)
                .collect::<HashSet<_>>()
        };
        let base = "fpu cx8 cmov mmx fxsr sse sse2";
        let v2 = format!("{base} pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm");
        let v3 = format!("{v2} avx avx2 bmi1 bmi2 f16c fma abm movbe");
        let v4 = format!("{v3} avx512f avx512bw avx512cd avx512dq avx512vl");
        assert!(x86_64_hwcaps(&set(base)).is_empty());
        assert_eq!(x86_64_hwcaps(&set(&v2)), ["x86-64-v2"]);
        assert_eq!(x86_64_hwcaps(&set(&v3)), ["x86-64-v3", "x86-64-v2"]);
        assert_eq!(
            x86_64_hwcaps(&set(&v4)),
            ["x86-64-v4", "x86-64-v3", "x86-64-v2"]
        );
        // BMI2 missing (the Haswell-without-BMI case the 2.36 branch fixed): v2 only.
        assert_eq!(x86_64_hwcaps(&set(&v4.replace(" bmi2", ""))), ["x86-64-v2"]);
        // AVX-512 without v2 (impossible, but levels are cumulative): nothing.
        let odd = format!("{base} avx512f avx512bw avx512cd avx512dq avx512vl");
        assert!(x86_64_hwcaps(&set(&odd)).is_empty());
        assert_eq!(cpu_isa_1(&[]), 1);
        assert_eq!(cpu_isa_1(&["x86-64-v3"]), 7);
        assert_eq!(cpu_isa_1(&["x86-64-v4", "x86-64-v3", "x86-64-v2"]), 15);
        let cpu = parse_cpuinfo("vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2\n\nflags : x\n");
        assert!(cpu.intel && cpu.flags.contains("sse2") && !cpu.flags.contains("x"));
    }

    /// Caches written by the real `ldconfig` (new and compat formats) with glibc-hwcaps and
    /// `tls` entries, built in a throw-away root with `ldconfig -r` (needs root: chroot(2)).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn ldconfig_written_hwcaps_caches() {
        let system = LdCache::load().expect("the system's cache parses");
        // A small x86-64 library whose file name is its SONAME.
        let Some((soname, source)) = system
            .entries_for(EM_X86_64, true)
            .filter(|e| {
                e.hwcap == 0
                    && e.path.file_name().map(|f| f.as_encoded_bytes()) == Some(&e.name[..])
            })
            .filter_map(|e| {
                let len = std::fs::metadata(&e.path).ok()?.len();
                Some((e, len))
            })
            .min_by_key(|(_, len)| *len)
            .map(|(e, _)| {
                (
                    String::from_utf8_lossy(&e.name).into_owned(),
                    e.path.clone(),
                )
            })
        else {
            panic!("the system's cache has no x86-64 library named after its SONAME");
        };
        let root = std::env::temp_dir().join(format!("ldcache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dirs = [
            "lib",
            "lib/glibc-hwcaps/x86-64-v3",
            "lib/glibc-hwcaps/x86-64-v2",
            "lib/tls",
        ];
        for dir in dirs {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::copy(&source, root.join(dir).join(&soname)).unwrap();
        }
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/ld.so.conf"), "/lib\n").unwrap();
        let cache_path = root.join("etc/ld.so.cache");
        for format in ["new", "compat"] {
            let built = std::process::Command::new("ldconfig")
                .args(["-X", "-c", format, "-r"])
                .arg(&root)
                .output();
            assert!(
                built.as_ref().is_ok_and(|o| o.status.success()),
                "ldconfig -r needs root (chroot): run the tests as root, as CI does: {built:?}"
            );
            let cache = LdCache::load_from(&cache_path).unwrap();
            let count = cross_check_with_ldconfig(&cache_path, &cache);
            assert_eq!(count, 4, "{format}");
            let at = |dir: &str| Some(PathBuf::from(format!("/{dir}/{soname}")));
            let lookup = |hwcaps: &[&str]| cache.lookup(&soname, EM_X86_64, true, hwcaps);
            if format == "new" {
                assert_eq!(
                    lookup(&["x86-64-v4", "x86-64-v3", "x86-64-v2"]),
                    at("lib/glibc-hwcaps/x86-64-v3")
                );
                assert_eq!(lookup(&["x86-64-v2"]), at("lib/glibc-hwcaps/x86-64-v2"));
            } else {
                // glibc reads compat-format glibc-hwcaps names from the wrong base: unusable.
                assert!(
                    cache
                        .entries()
                        .iter()
                        .all(|e| e.hwcaps_subdir.as_deref() != Some(&b"x86-64-v3"[..]))
                );
                assert_eq!(lookup(&["x86-64-v3", "x86-64-v2"]), at("lib/tls"));
            }
            assert_eq!(lookup(&[]), at("lib/tls"));
            assert_robust(&std::fs::read(&cache_path).unwrap());
            eprintln!("ldconfig -c {format}: {count} entries for {soname} agree");
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
