//! The files perf reads to name JIT code, written by orc-jit itself: the perf map and the
//! jitdump. LLVM writes a jitdump only for a RuntimeDyld layer (`LLVMCreatePerfJITEventListener`);
//! the C API has nothing for JITLink's perf support, so for JITLink (and for the perf map on
//! any layer) orc-jit writes them from the linked objects' functions at their final addresses,
//! as wasmtime does.
//!
//! # The two files
//!
//! - **The perf map**, `/tmp/perf-PID.map` (perf's `jit-interface.txt`): one text line
//!   `START SIZE name` per function, both numbers in hex without `0x`. perf does not read it
//!   while recording: `perf report`, `perf script` (and `perf top`, once) read it when they
//!   resolve a sample that fell in anonymous executable memory of process PID. Nothing else is
//!   needed: `perf record -g PROGRAM && perf report`.
//! - **The jitdump**, `DIR/jit-PID.dump` (`/tmp` unless a directory is given; perf's
//!   `jitdump-specification.txt`): a 40-byte header, then one `JIT_CODE_LOAD` record per
//!   function, with its code bytes and a `CLOCK_MONOTONIC` timestamp, in the machine's byte
//!   order. The file is mapped once `PROT_READ | PROT_EXEC` and stays mapped: `perf record` logs
//!   executable mappings only, and `perf inject --jit` finds the dump by that mapping's name
//!   (`jit-PID.dump`, PID the mapping process). `perf inject` then writes each function as
//!   `DIR/jitted-PID-INDEX.so` and puts an mmap event for it into the profile at the record's
//!   time, so the profile also has the code (`perf annotate`). The recording must use the same
//!   clock: `perf record -k mono -g PROGRAM && perf inject --jit -i perf.data -o perf.jit.data &&
//!   perf report -i perf.jit.data` (without `-k mono`, inject fails with "jitted code must be
//!   sampled with perf record -k 1").
//!
//! # One of each per process
//!
//! perf looks for one file of each kind per process, named by its pid, so there is one
//! [`PerfMap`] and one [`JitDump`] per process, opened by the first JIT that asks and shared by
//! every JIT after it, each behind a lock (several JITs of several threads add to them; a batch
//! of regions is written with one `write_all`, so records of two JITs never interleave).
//! [`JitDump::open`] with another directory than the open dump's is an error. A child created
//! by `fork` has its own pid: its first use opens its own files (the map gets the parent's
//! entries again, since the child has the parent's code; the dump starts empty).
//!
//! The perf map is opened for appending and never truncated, `0600`, not through a symbolic
//! link, as CPython's `-X perf` does: another writer in the process (CPython's trampolines,
//! another JIT) appends to the same file, and its lines are kept. The jitdump is orc-jit's
//! alone: it is created afresh (a dead process with the same pid may have left one), `0600`, not
//! through a symbolic link. Both hold the process's code addresses; perf runs as the same user
//! or as root, and reads them either way.
//!
//! # When a module is removed, and another is loaded at the same addresses
//!
//! JITLink unmaps a removed module's code, and the next module's memory is often mapped at the
//! same address. What perf then shows differs between the two files.
//!
//! **The perf map cannot forget anything.** perf reads the file once, after the run, and
//! resolves a sample by address alone: there is no time in the format, and no way to say that
//! code went away. Deleting a removed module's lines would be wrong: its code ran, and a JIT that
//! drops its modules before the program exits would leave perf nothing. So removed code keeps
//! its lines. Two lines covering the same address are what perf cannot handle: it does not pick
//! the later one (`dso__load_perf_map` puts both in a tree, and the search returns whichever it
//! meets first — with two entries, perf 6.1 shows the *first* written: checked), so the new
//! module's samples would be reported under the removed function's name. Hence
//! [`PerfMap::add`] replaces every line an earlier `add` wrote that overlaps one of its regions
//! (the file is rewritten without them; other writers' lines are kept). Regions of one `add`
//! that overlap each other (aliases) are all kept. What a user sees: **every sample taken in a
//! reused range, those from before the removal too, is reported under the newest function's
//! name**; removed code whose addresses were not reused keeps its name. The map has no
//! `remove`, because there is nothing right to do at removal time. Telling the two apart is
//! impossible with a perf map; the jitdump does it.
//!
//! **The jitdump has time.** `perf inject` turns each `JIT_CODE_LOAD` into an mmap event at its
//! timestamp, and an mmap over addresses another mapping held replaces that mapping from that
//! moment on. What a user sees: **samples from before the removal under the removed function's
//! name, samples after the new load under the new function's name** (checked with perf 6.1, by
//! the tests below). [`JitDump::remove`] therefore writes nothing: the format has no unload
//! record (`JIT_CODE_MOVE` moves code that still exists, under its old `code_index`;
//! `JIT_CODE_CLOSE` ends the whole dump), and none is needed. Every record has a new
//! `code_index`, never reused (perf inject names the function's file after it, so a reused index
//! would overwrite the removed function's file). A record's timestamp is taken when it is
//! written, so [`JitDump::add`] must be called before the code first runs, or perf attributes the
//! first samples to nothing.
//!
//! # Names
//!
//! Names are written as the object has them: C++ and Rust names mangled. perf demangles the
//! names of the jitdump (they end up in an ELF symbol table); perf 6.1 does **not** demangle the
//! perf map's (checked: `_Z3fooi` is shown as is), so `perf report | c++filt` is the way there.
//! A control character (a newline would end the map's line early; a NUL ends a jitdump name) is
//! written as its `\u{..}` escape, in both files. perf skips a map line whose name is shorter
//! than three bytes (`dso__load_perf_map`: `if (len + 2 >= line_len) continue;`), so a shorter
//! name is padded with spaces, which perf shows as the name (`f` appears as `f`). Regions of
//! size 0 are left out of both files: no sample can fall in them.
//!
//! # Errors
//!
//! Every failure is an `Err` naming the file and the cause, never a panic. A write is one
//! `write_all` of whole lines or records; if it fails (a full disk), what it wrote is cut off
//! again, so the file stays readable. If even that fails, the file is marked damaged and every
//! later call says so.

// JitBuilder's profiler switches (issue 24) are what will call this.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One function of JIT code at its final address.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeRegion<'a> {
    pub(crate) name: &'a str,
    pub(crate) address: u64,
    pub(crate) size: u64,
}

impl CodeRegion<'_> {
    /// One past the region's last byte.
    fn end(&self) -> Result<u64, String> {
        self.address.checked_add(self.size).ok_or_else(|| {
            format!(
                "JIT function {} at {:#x} with size {:#x} runs past the end of the address space",
                self.name, self.address, self.size
            )
        })
    }
}

/// The process's perf map and jitdump (see the module docs: one of each per process).
static PERF_MAP: Mutex<Option<MapFile>> = Mutex::new(None);
static JIT_DUMP: Mutex<Option<DumpFile>> = Mutex::new(None);

/// Where both files go unless told otherwise: where perf looks for the map, and the dump's
/// customary place.
const DEFAULT_DIR: &str = "/tmp";

/// Nothing here panics while holding a lock, and every write is whole, undone, or marks its
/// file damaged, so a lock poisoned by a panic elsewhere still guards consistent state.
fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `name` with every control character written as its `\u{..}` escape.
fn printable(name: &str) -> Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return Cow::Borrowed(name);
    }
    let mut escaped = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if c.is_control() {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

fn open_error(what: &str, path: &Path, error: &io::Error) -> String {
    let hint = match error.raw_os_error() {
        Some(libc::ELOOP) => "; it is a symbolic link, which orc-jit does not follow: remove it",
        Some(libc::EACCES) => "; if another user's process left it, remove it",
        _ => "",
    };
    format!("cannot open {what} {}: {error}{hint}", path.display())
}

// ---------------------------------------------------------------------------------------------
// The perf map

/// The process's perf map, `/tmp/perf-PID.map`: a handle; every handle writes to the same file.
#[derive(Debug)]
pub(crate) struct PerfMap {
    _shared: (),
}

impl PerfMap {
    /// Opens the process's perf map, or joins it if a JIT of the process already did.
    pub(crate) fn open() -> Result<PerfMap, String> {
        current_map(&mut lock(&PERF_MAP))?;
        Ok(PerfMap { _shared: () })
    }

    /// Appends a line per region; a region over addresses an earlier call wrote replaces those
    /// lines (see the module docs: what perf shows after a removal).
    pub(crate) fn add(&self, regions: &[CodeRegion<'_>]) -> Result<(), String> {
        current_map(&mut lock(&PERF_MAP))?.add(regions)
    }
}

/// This process's map: opened on first use, and again in a child after `fork`.
fn current_map(slot: &mut Option<MapFile>) -> Result<&mut MapFile, String> {
    let pid = std::process::id();
    let map = match slot.take() {
        Some(map) if map.pid == pid => map,
        parent => {
            let path = Path::new(DEFAULT_DIR).join(format!("perf-{pid}.map"));
            let mut map = MapFile::open(path)?;
            // A forked child runs its parent's code: its own map names it too.
            if let Some(parent) = parent {
                map.inherit(parent.entries)?;
            }
            map
        }
    };
    Ok(slot.insert(map))
}

/// A perf map and the lines this process wrote to it.
struct MapFile {
    path: PathBuf,
    file: File,
    pid: u32,
    /// The lines this process wrote and has not replaced.
    entries: Vec<MapEntry>,
    /// Why the file can no longer be trusted: a failed write that could not be undone.
    damaged: Option<String>,
}

struct MapEntry {
    start: u64,
    end: u64,
    /// The line as written, newline included.
    line: String,
}

impl MapFile {
    fn open(path: PathBuf) -> Result<MapFile, String> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| open_error("the perf map", &path, &e))?;
        Ok(MapFile {
            path,
            file,
            pid: std::process::id(),
            entries: Vec::new(),
            damaged: None,
        })
    }

    fn add(&mut self, regions: &[CodeRegion<'_>]) -> Result<(), String> {
        self.usable()?;
        let mut new = Vec::with_capacity(regions.len());
        for region in regions.iter().filter(|r| r.size > 0) {
            new.push(MapEntry {
                start: region.address,
                end: region.end()?,
                line: map_line(region),
            });
        }
        if new.is_empty() {
            return Ok(());
        }
        // Every entry so far comes from an earlier call: one that overlaps a new region is code
        // that was removed and whose addresses are reused.
        let replaced: Vec<bool> = self
            .entries
            .iter()
            .map(|old| new.iter().any(|n| old.start < n.end && n.start < old.end))
            .collect();
        let text: String = new.iter().map(|entry| entry.line.as_str()).collect();
        if replaced.contains(&true) {
            let lines: Vec<&str> = self
                .entries
                .iter()
                .zip(&replaced)
                .filter(|&(_, &r)| r)
                .map(|(entry, _)| entry.line.as_str())
                .collect();
            let old = self.contents()?;
            let mut content = without(&old, &lines);
            content.extend_from_slice(text.as_bytes());
            self.rewrite(&old, &content)?;
            let mut replaced = replaced.into_iter();
            self.entries
                .retain(|_| !replaced.next().is_some_and(|replaced| replaced));
        } else {
            self.append(text.as_bytes())?;
        }
        self.entries.extend(new);
        Ok(())
    }

    /// A forked child's copy of its parent's entries.
    fn inherit(&mut self, entries: Vec<MapEntry>) -> Result<(), String> {
        let text: String = entries.iter().map(|entry| entry.line.as_str()).collect();
        if !text.is_empty() {
            self.append(text.as_bytes())?;
        }
        self.entries = entries;
        Ok(())
    }

    fn usable(&self) -> Result<(), String> {
        match &self.damaged {
            Some(why) => Err(format!(
                "the perf map {} is damaged since an earlier write failed ({why}); later \
                 functions are not written to it",
                self.path.display()
            )),
            None => Ok(()),
        }
    }

    fn contents(&self) -> Result<Vec<u8>, String> {
        let mut contents = Vec::new();
        (&self.file)
            .seek(SeekFrom::Start(0))
            .and_then(|_| (&self.file).read_to_end(&mut contents))
            .map_err(|e| format!("cannot read the perf map {}: {e}", self.path.display()))?;
        Ok(contents)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), String> {
        let before = self
            .file
            .metadata()
            .map_err(|e| format!("cannot read the perf map {}: {e}", self.path.display()))?
            .len();
        if let Err(error) = self.file.write_all(bytes) {
            if let Err(undo) = self.file.set_len(before) {
                self.damaged = Some(format!("{error}, then {undo} cutting off a partial line"));
            }
            return Err(format!(
                "cannot write to the perf map {}: {error}",
                self.path.display()
            ));
        }
        Ok(())
    }

    /// Replaces the file's contents, `old`, by `content` (written appending: the file is
    /// opened so), or puts `old` back.
    fn rewrite(&mut self, old: &[u8], content: &[u8]) -> Result<(), String> {
        let mut replace = |bytes: &[u8]| {
            self.file
                .set_len(0)
                .and_then(|()| self.file.write_all(bytes))
        };
        if let Err(error) = replace(content) {
            if let Err(undo) = replace(old) {
                self.damaged = Some(format!("{error}, then {undo} restoring its lines"));
            }
            return Err(format!(
                "cannot rewrite the perf map {}: {error}",
                self.path.display()
            ));
        }
        Ok(())
    }
}

/// `contents` without one copy of each of `lines` (so lines other writers of the process
/// appended stay).
fn without(contents: &[u8], lines: &[&str]) -> Vec<u8> {
    let mut dropped: HashMap<&[u8], usize> = HashMap::new();
    for line in lines {
        *dropped.entry(line.as_bytes()).or_default() += 1;
    }
    let mut kept = Vec::with_capacity(contents.len());
    for line in contents.split_inclusive(|&b| b == b'\n') {
        match dropped.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => kept.extend_from_slice(line),
        }
    }
    kept
}

/// `START SIZE name\n`: hex without `0x`; the name printable and at least three bytes long
/// (perf skips shorter ones).
fn map_line(region: &CodeRegion<'_>) -> String {
    let mut name = printable(region.name).into_owned();
    while name.len() < 3 {
        name.push(' ');
    }
    format!("{:x} {:x} {name}\n", region.address, region.size)
}

// ---------------------------------------------------------------------------------------------
// The jitdump

const JITDUMP_MAGIC: u32 = 0x4A69_5444; // "JiTD" read as a number in the machine's order
const JITDUMP_VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
const JIT_CODE_LOAD: u32 = 0;
/// A `JIT_CODE_LOAD` record up to its name: the record header (id, total_size, timestamp), then
/// pid, tid, vma, code_addr, code_size, code_index.
const LOAD_FIXED_SIZE: usize = 16 + 4 + 4 + 8 * 4;
const TIMESTAMP_AT: usize = 8;
const CODE_INDEX_AT: usize = 48;

/// The header's `elf_mach`: the ELF `e_machine` of the code (perf 6.1's inject only prints it,
/// and builds its ELF files for the architecture it runs on).
const ELF_MACHINE: u16 = {
    use object::elf;
    if cfg!(target_arch = "x86_64") {
        elf::EM_X86_64
    } else if cfg!(target_arch = "aarch64") {
        elf::EM_AARCH64
    } else if cfg!(target_arch = "x86") {
        elf::EM_386
    } else if cfg!(target_arch = "arm") {
        elf::EM_ARM
    } else if cfg!(any(target_arch = "riscv64", target_arch = "riscv32")) {
        elf::EM_RISCV
    } else if cfg!(target_arch = "powerpc64") {
        elf::EM_PPC64
    } else if cfg!(target_arch = "powerpc") {
        elf::EM_PPC
    } else if cfg!(target_arch = "s390x") {
        elf::EM_S390
    } else if cfg!(target_arch = "loongarch64") {
        elf::EM_LOONGARCH
    } else {
        elf::EM_NONE
    }
};

/// The process's jitdump, `DIR/jit-PID.dump`: a handle; every handle writes to the same file.
#[derive(Debug)]
pub(crate) struct JitDump {
    _shared: (),
}

impl JitDump {
    /// Creates the process's jitdump in `dir` (`/tmp` if `None`) with its header, and maps it
    /// executable once, the mapping perf looks for; or joins it if a JIT of the process already
    /// did, in the same directory.
    pub(crate) fn open(dir: Option<&Path>) -> Result<JitDump, String> {
        // Absolute, so that `/tmp`, `/tmp/` and a relative path to it are one directory.
        let asked = dir.unwrap_or(Path::new(DEFAULT_DIR));
        let dir = &std::fs::canonicalize(asked).map_err(|e| {
            format!(
                "cannot use {} as the jitdump's directory: {e}",
                asked.display()
            )
        })?;
        let mut slot = lock(&JIT_DUMP);
        match &*slot {
            Some(dump) if dump.pid == std::process::id() => {
                if dump.dir != *dir {
                    return Err(format!(
                        "the process's jitdump is {} already, and orc-jit writes one per \
                         process: a JIT cannot have its own in {}; give every JIT of the \
                         process the same directory",
                        dump.path.display(),
                        dir.display()
                    ));
                }
            }
            _ => *slot = Some(DumpFile::create(dir)?),
        }
        Ok(JitDump { _shared: () })
    }

    /// Writes a `JIT_CODE_LOAD` record per region, with the bytes `code` reads for it (the
    /// caller knows they are mapped: they are the JIT's own code). Call it before the code
    /// first runs: the records' timestamp is now.
    pub(crate) fn add<'c>(
        &self,
        regions: &[CodeRegion<'_>],
        code: impl Fn(&CodeRegion<'_>) -> &'c [u8],
    ) -> Result<(), String> {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        // `code` runs outside the lock, so it may itself use the dump without a deadlock.
        let records = load_records(
            regions,
            code,
            std::process::id(),
            u32::try_from(tid).unwrap_or(0),
        )?;
        if records.starts.is_empty() {
            return Ok(());
        }
        current_dump(&mut lock(&JIT_DUMP))?.write(records)
    }
}

/// This process's dump; after `fork`, a new one for the child, in the same directory.
fn current_dump(slot: &mut Option<DumpFile>) -> Result<&mut DumpFile, String> {
    let pid = std::process::id();
    let dump = match slot.take() {
        Some(dump) if dump.pid == pid => dump,
        Some(parent) => match DumpFile::create(&parent.dir) {
            Ok(dump) => dump,
            Err(error) => {
                *slot = Some(parent);
                return Err(error);
            }
        },
        None => return Err("the jitdump is not open (JitDump::open opens it)".to_owned()),
    };
    Ok(slot.insert(dump))
}

/// A jitdump this process writes.
struct DumpFile {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    pid: u32,
    /// The bytes written and kept: a failed write is cut back to this.
    len: u64,
    next_code_index: u64,
    _marker: Marker,
    damaged: Option<String>,
}

impl DumpFile {
    fn create(dir: &Path) -> Result<DumpFile, String> {
        let pid = std::process::id();
        DumpFile::create_at(dir, dir.join(format!("jit-{pid}.dump")))
    }

    fn create_at(dir: &Path, path: PathBuf) -> Result<DumpFile, String> {
        let pid = std::process::id();
        // Read as well as written: mmap needs a readable file.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| open_error("the jitdump", &path, &e))?;
        let header = file_header(pid, monotonic_ns()?);
        file.write_all(&header)
            .map_err(|e| format!("cannot write the jitdump header to {}: {e}", path.display()))?;
        let marker = Marker::map(&file).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => {
                    "; if its file system is mounted noexec, give the JIT a jitdump directory \
                     on one that is not"
                }
                _ => "",
            };
            format!(
                "cannot map the jitdump {} executable, the mapping perf inject looks for: \
                 {e}{hint}",
                path.display()
            )
        })?;
        Ok(DumpFile {
            dir: dir.to_owned(),
            path,
            file,
            pid,
            len: header.len() as u64,
            next_code_index: 0,
            _marker: marker,
            damaged: None,
        })
    }

    /// Writes `records` with the timestamp now and the next code indexes.
    fn write(&mut self, mut records: LoadRecords) -> Result<(), String> {
        if let Some(why) = &self.damaged {
            return Err(format!(
                "the jitdump {} is damaged since an earlier write failed ({why}); later \
                 functions are not written to it",
                self.path.display()
            ));
        }
        let timestamp = monotonic_ns()?;
        for (index, &start) in (self.next_code_index..).zip(&records.starts) {
            put_at(&mut records.bytes, start + TIMESTAMP_AT, timestamp);
            put_at(&mut records.bytes, start + CODE_INDEX_AT, index);
        }
        if let Err(error) = self.file.write_all(&records.bytes) {
            let len = self.len;
            let undone = self
                .file
                .set_len(len)
                .and_then(|()| self.file.seek(SeekFrom::Start(len)));
            if let Err(undo) = undone {
                self.damaged = Some(format!("{error}, then {undo} cutting off a partial record"));
            }
            return Err(format!(
                "cannot write to the jitdump {}: {error}",
                self.path.display()
            ));
        }
        self.len += records.bytes.len() as u64;
        self.next_code_index += records.starts.len() as u64;
        Ok(())
    }
}

/// `JIT_CODE_LOAD` records, timestamps and code indexes still zero.
struct LoadRecords {
    bytes: Vec<u8>,
    /// Where each record starts.
    starts: Vec<usize>,
}

fn load_records<'c>(
    regions: &[CodeRegion<'_>],
    code: impl Fn(&CodeRegion<'_>) -> &'c [u8],
    pid: u32,
    tid: u32,
) -> Result<LoadRecords, String> {
    let mut records = LoadRecords {
        bytes: Vec::new(),
        starts: Vec::with_capacity(regions.len()),
    };
    for region in regions.iter().filter(|r| r.size > 0) {
        region.end()?;
        let bytes = code(region);
        if bytes.len() as u64 != region.size {
            return Err(format!(
                "JIT function {} is {:#x} bytes, but {:#x} bytes of its code were given for the \
                 jitdump",
                region.name,
                region.size,
                bytes.len()
            ));
        }
        let name = printable(region.name);
        let total = u32::try_from(LOAD_FIXED_SIZE + name.len() + 1 + bytes.len()).map_err(|_| {
            format!(
                "JIT function {} ({:#x} bytes) does not fit in a jitdump record (at most 4 GiB, \
                 name included)",
                region.name, region.size
            )
        })?;
        let out = &mut records.bytes;
        records.starts.push(out.len());
        out.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
        out.extend_from_slice(&total.to_ne_bytes());
        out.extend_from_slice(&0u64.to_ne_bytes()); // timestamp
        out.extend_from_slice(&pid.to_ne_bytes());
        out.extend_from_slice(&tid.to_ne_bytes());
        out.extend_from_slice(&region.address.to_ne_bytes()); // vma
        out.extend_from_slice(&region.address.to_ne_bytes()); // code_addr
        out.extend_from_slice(&region.size.to_ne_bytes());
        out.extend_from_slice(&0u64.to_ne_bytes()); // code_index
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(bytes);
    }
    Ok(records)
}

fn put_at(bytes: &mut [u8], at: usize, value: u64) {
    if let Some(field) = bytes.get_mut(at..at + 8) {
        field.copy_from_slice(&value.to_ne_bytes());
    }
}

fn file_header(pid: u32, timestamp: u64) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_SIZE as usize);
    header.extend_from_slice(&JITDUMP_MAGIC.to_ne_bytes());
    header.extend_from_slice(&JITDUMP_VERSION.to_ne_bytes());
    header.extend_from_slice(&HEADER_SIZE.to_ne_bytes());
    header.extend_from_slice(&u32::from(ELF_MACHINE).to_ne_bytes());
    header.extend_from_slice(&0u32.to_ne_bytes()); // pad1
    header.extend_from_slice(&pid.to_ne_bytes());
    header.extend_from_slice(&timestamp.to_ne_bytes());
    header.extend_from_slice(&0u64.to_ne_bytes()); // flags: no JITDUMP_FLAGS_ARCH_TIMESTAMP
    header
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of `perf record -k mono`.
fn monotonic_ns() -> Result<u64, String> {
    let mut now = std::mem::MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `now` is valid for writing a timespec, which is all clock_gettime does with it.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, now.as_mut_ptr()) } != 0 {
        return Err(format!(
            "cannot read CLOCK_MONOTONIC for the jitdump: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: clock_gettime returned 0, so it wrote the whole timespec.
    let now = unsafe { now.assume_init() };
    Ok((now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64))
}

/// The jitdump mapped `PROT_READ | PROT_EXEC`, kept while the dump is open (a `perf record -p`
/// started later finds it in the process's mappings). Nothing reads it.
struct Marker {
    /// The mapping's address, as a number: nothing dereferences it.
    address: usize,
    len: usize,
}

impl Marker {
    fn map(file: &File) -> io::Result<Marker> {
        // SAFETY: sysconf only reads a system setting.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let len = usize::try_from(page).unwrap_or(4096);
        // SAFETY: a new private mapping at an address the kernel chooses, so it replaces no
        // other mapping; it is only ever unmapped (Drop), never read, written or run.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Marker {
            address: address as usize,
            len,
        })
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        // SAFETY: the mapping is the one Marker::map made, and nothing points into it.
        unsafe { libc::munmap(self.address as *mut libc::c_void, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A fresh directory of this test's own.
    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("orc-jit-profiler-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn region(name: &str, address: u64, size: u64) -> CodeRegion<'_> {
        CodeRegion {
            name,
            address,
            size,
        }
    }

    /// A perf map line as perf's `dso__load_perf_map` reads it, or `None` where perf skips it:
    /// hex digits, one separator, hex digits, one separator, the rest of the line is the name,
    /// which must be three bytes or more.
    fn perf_reads(line: &str) -> Option<(u64, u64, &str)> {
        fn hex(s: &str) -> (u64, &str) {
            let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
            (
                u64::from_str_radix(&s[..digits], 16).unwrap_or(0),
                &s[digits..],
            )
        }
        let (start, rest) = hex(line);
        let (size, rest) = hex(rest.get(1..)?);
        let name = rest.get(1..)?;
        (name.len() > 2).then_some((start, size, name))
    }

    #[test]
    fn map_lines_are_what_perf_reads() {
        let dir = scratch("map-lines");
        let path = dir.join("perf-1.map");
        let mut map = MapFile::open(path.clone()).unwrap();
        map.add(&[
            region("f", 0x7f00_0000_1000, 0x40),
            region("_ZN3foo3barEv", 0x7f00_0000_1040, 0x20),
            region("two\nlines\r\0and\x1b[31m", 0x7f00_0000_1060, 0x10),
            region("empty", 0x7f00_0000_1070, 0),
        ])
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'), "{text:?}");
        let lines: Vec<_> = text.lines().map(|l| perf_reads(l).unwrap()).collect();
        assert_eq!(
            lines,
            [
                (0x7f00_0000_1000, 0x40, "f  "),
                (0x7f00_0000_1040, 0x20, "_ZN3foo3barEv"),
                (
                    0x7f00_0000_1060,
                    0x10,
                    r"two\u{a}lines\u{d}\u{0}and\u{1b}[31m"
                ),
            ],
            "{text:?}"
        );
        assert!(!text.contains("0x"), "{text:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn code_at_reused_addresses_replaces_the_earlier_lines_and_keeps_other_writers_lines() {
        let dir = scratch("map-reuse");
        let path = dir.join("perf-1.map");
        let mut map = MapFile::open(path.clone()).unwrap();
        map.add(&[
            region("first", 0x1000, 0x100),
            region("alias", 0x1000, 0x100),
        ])
        .unwrap();
        map.add(&[region("elsewhere", 0x3000, 0x10)]).unwrap();
        // Another writer of the process (CPython, another JIT) appends to the same file.
        let mut other = OpenOptions::new().append(true).open(&path).unwrap();
        other.write_all(b"9000 10 py::other:x.py\n").unwrap();
        // Both lines of one call stay (aliases); a later call over their addresses replaces
        // them, even where it covers only part of them.
        let read = || std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            read(),
            "1000 100 first\n1000 100 alias\n3000 10 elsewhere\n9000 10 py::other:x.py\n"
        );
        map.add(&[region("second", 0x1080, 0x10)]).unwrap();
        assert_eq!(
            read(),
            "3000 10 elsewhere\n9000 10 py::other:x.py\n1080 10 second\n"
        );
        // Adjacent is not overlapping.
        map.add(&[region("next", 0x1090, 0x10)]).unwrap();
        assert_eq!(
            read(),
            "3000 10 elsewhere\n9000 10 py::other:x.py\n1080 10 second\n1090 10 next\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The dump's header fields and records, parsed as perf's `jit_open` and
    /// `jit_get_next_entry` read them.
    struct Dump {
        header: [u32; 6],
        timestamp: u64,
        flags: u64,
        loads: Vec<Load>,
    }

    #[derive(Debug, PartialEq)]
    struct Load {
        id: u32,
        total_size: u32,
        timestamp: u64,
        pid: u32,
        tid: u32,
        vma: u64,
        code_addr: u64,
        code_size: u64,
        code_index: u64,
        name: String,
        code: Vec<u8>,
    }

    fn parse_dump(bytes: &[u8]) -> Dump {
        let u32_at = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
        let header = [0, 4, 8, 12, 16, 20].map(u32_at);
        let mut at = header[2] as usize;
        let mut loads = Vec::new();
        while at < bytes.len() {
            let total_size = u32_at(at + 4);
            let end = at + total_size as usize;
            let code_size = u64_at(at + 40);
            let name_at = at + LOAD_FIXED_SIZE;
            let code_at = end - code_size as usize;
            let name = &bytes[name_at..code_at];
            assert_eq!(name.last(), Some(&0), "the name ends with its NUL");
            loads.push(Load {
                id: u32_at(at),
                total_size,
                timestamp: u64_at(at + 8),
                pid: u32_at(at + 16),
                tid: u32_at(at + 20),
                vma: u64_at(at + 24),
                code_addr: u64_at(at + 32),
                code_size,
                code_index: u64_at(at + 48),
                name: String::from_utf8(name[..name.len() - 1].to_vec()).unwrap(),
                code: bytes[code_at..end].to_vec(),
            });
            at = end;
        }
        assert_eq!(at, bytes.len(), "the last record ends the file");
        Dump {
            header,
            timestamp: u64_at(24),
            flags: u64_at(32),
            loads,
        }
    }

    #[test]
    fn jitdump_header_and_records_are_what_the_spec_says() {
        let dir = scratch("dump-format");
        let before = monotonic_ns().unwrap();
        let mut dump = DumpFile::create(&dir).unwrap();
        let pid = std::process::id();
        let path = dir.join(format!("jit-{pid}.dump"));
        // The marker: the dump mapped executable (`r-xp`), which is what perf record logs.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let marker = maps
            .lines()
            .find(|l| l.ends_with(path.to_str().unwrap()))
            .unwrap_or_else(|| panic!("{} is not mapped:\n{maps}", path.display()));
        assert!(marker.contains(" r-xp "), "{marker}");

        const FIRST: [u8; 6] = [0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3];
        const SECOND: [u8; 1] = [0xc3];
        let code = |r: &CodeRegion<'_>| -> &'static [u8] {
            match r.name {
                "first" => &FIRST,
                "empty" => &[],
                _ => &SECOND,
            }
        };
        let write = |dump: &mut DumpFile, regions: &[CodeRegion<'_>]| {
            dump.write(load_records(regions, code, pid, 7).unwrap())
                .unwrap()
        };
        write(
            &mut dump,
            &[region("first", 0x1000, 6), region("empty", 0x1006, 0)],
        );
        write(&mut dump, &[region("_Z6secondv\n", 0x2000, 1)]);
        let after = monotonic_ns().unwrap();

        let parsed = parse_dump(&std::fs::read(&path).unwrap());
        let [magic, version, total_size, elf_mach, pad1, header_pid] = parsed.header;
        assert_eq!(magic, 0x4A69_5444);
        assert_eq!(
            &magic.to_ne_bytes(),
            if cfg!(target_endian = "little") {
                b"DTiJ"
            } else {
                b"JiTD"
            }
        );
        assert_eq!((version, total_size, pad1, header_pid), (1, 40, 0, pid));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(elf_mach, 62);
        assert_ne!(elf_mach, 0);
        assert_eq!(
            parsed.flags, 0,
            "timestamps are CLOCK_MONOTONIC, not the arch's"
        );
        assert!((before..=after).contains(&parsed.timestamp));
        let [one, two] = &parsed.loads[..] else {
            panic!("{:?}", parsed.loads)
        };
        assert!(parsed.timestamp <= one.timestamp && one.timestamp <= two.timestamp);
        assert!(two.timestamp <= after);
        let expect = |name: &str, address, code: &[u8], code_index, timestamp| Load {
            id: 0,
            total_size: (56 + name.len() + 1 + code.len()) as u32,
            timestamp,
            pid,
            tid: 7,
            vma: address,
            code_addr: address,
            code_size: code.len() as u64,
            code_index,
            name: name.to_owned(),
            code: code.to_vec(),
        };
        assert_eq!(*one, expect("first", 0x1000, &FIRST, 0, one.timestamp));
        assert_eq!(
            *two,
            expect(r"_Z6secondv\u{a}", 0x2000, &SECOND, 1, two.timestamp)
        );
        drop(dump);
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(!maps.contains(path.to_str().unwrap()), "unmapped on drop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn code_that_is_not_the_regions_size_is_an_error() {
        let err = load_records(&[region("f", 0x1000, 4)], |_| &[0xc3], 1, 1)
            .err()
            .unwrap();
        assert!(
            err.contains("JIT function f is 0x4 bytes, but 0x1 bytes"),
            "{err}"
        );
        let err = load_records(&[region("g", u64::MAX, 2)], |_| &[0, 0], 1, 1)
            .err()
            .unwrap();
        assert!(
            err.contains("runs past the end of the address space"),
            "{err}"
        );
    }

    #[test]
    fn files_that_cannot_be_created_are_errors() {
        // A path under a regular file cannot be created, not even by root.
        let dir = scratch("unwritable");
        let file = dir.join("file");
        std::fs::write(&file, b"").unwrap();
        let err = MapFile::open(file.join("perf-1.map")).err().unwrap();
        assert!(err.starts_with("cannot open the perf map "), "{err}");
        assert!(err.contains("Not a directory"), "{err}");
        let err = DumpFile::create(&file).err().unwrap();
        assert!(err.starts_with("cannot open the jitdump "), "{err}");
        // Nor are symbolic links followed (one could point anywhere).
        std::os::unix::fs::symlink(&file, dir.join("perf-2.map")).unwrap();
        let err = MapFile::open(dir.join("perf-2.map")).err().unwrap();
        assert!(err.contains("symbolic link"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_disk_is_an_error_and_the_writer_says_so_afterwards() {
        // /dev/full fails every write with ENOSPC, and cannot be cut back either.
        let mut map = MapFile::open(PathBuf::from("/dev/full")).unwrap();
        let err = map.add(&[region("f", 0x1000, 0x10)]).unwrap_err();
        assert!(err.contains("No space left on device"), "{err}");
        let err = map.add(&[region("g", 0x2000, 0x10)]).unwrap_err();
        assert!(
            err.contains("is damaged since an earlier write failed"),
            "{err}"
        );

        let err = DumpFile::create_at(Path::new("/dev"), PathBuf::from("/dev/full"))
            .err()
            .unwrap();
        assert!(err.contains("cannot write the jitdump header"), "{err}");
        assert!(err.contains("No space left on device"), "{err}");

        let dir = scratch("full");
        let mut dump = DumpFile::create(&dir).unwrap();
        dump.file = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let records = || load_records(&[region("f", 0x1000, 1)], |_| &[0xc3], 1, 1).unwrap();
        let err = dump.write(records()).unwrap_err();
        assert!(err.contains("No space left on device"), "{err}");
        let err = dump.write(records()).unwrap_err();
        assert!(
            err.contains("is damaged since an earlier write failed"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The variables that make this test binary, started again by a test, do that test's
    /// child's part (`scenario`, in `dir`).
    const CHILD: &str = "ORC_JIT_PROFILER_CHILD";
    const CHILD_DIR: &str = "ORC_JIT_PROFILER_DIR";

    /// This test binary again, running only `test`, as the child `scenario` in `dir`.
    fn child(test: &str, scenario: &str, dir: &Path) -> Command {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, scenario)
            .env(CHILD_DIR, dir);
        command
    }

    /// In a child started by `child`: its part, and then it exits.
    fn if_child() {
        let (Ok(scenario), Some(dir)) = (std::env::var(CHILD), std::env::var_os(CHILD_DIR)) else {
            return;
        };
        let dir = Path::new(&dir);
        match scenario.as_str() {
            "files of at most 200 bytes" => files_of_at_most_200_bytes(dir),
            #[cfg(target_arch = "x86_64")]
            scenario => perf_child(scenario, dir),
            #[cfg(not(target_arch = "x86_64"))]
            scenario => panic!("no child scenario {scenario}"),
        }
        std::process::exit(0)
    }

    #[test]
    fn a_write_the_file_system_cuts_short_is_cut_off_again() {
        if_child();
        let dir = scratch("cut-off");
        let out = child(
            "profiler::tests::a_write_the_file_system_cuts_short_is_cut_off_again",
            "files of at most 200 bytes",
            &dir,
        )
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{:?}: {stdout}", out.status);
        assert!(stdout.contains("child: done"), "{stdout}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The child's part: with files limited to 200 bytes, a write that crosses the limit
    /// writes some bytes and then fails (EFBIG); what it wrote is cut off again.
    fn files_of_at_most_200_bytes(dir: &Path) {
        let limit = libc::rlimit {
            rlim_cur: 200,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: SIGXFSZ ignored makes a write past the limit fail with EFBIG instead of
        // killing the process; setrlimit reads the struct it is given. This is a child process
        // running nothing else.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        let long = "x".repeat(300);
        let path = dir.join("perf-1.map");
        let mut map = MapFile::open(path.clone()).unwrap();
        map.add(&[region("kept", 0x1000, 0x10)]).unwrap();
        let err = map.add(&[region(&long, 0x2000, 0x10)]).unwrap_err();
        assert!(err.contains("File too large"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1000 10 kept\n");
        map.add(&[region("after", 0x3000, 0x10)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "1000 10 kept\n3000 10 after\n"
        );

        let mut dump = DumpFile::create(dir).unwrap();
        let pid = std::process::id();
        let code = |_: &CodeRegion<'_>| -> &'static [u8] { &[0xc3] };
        dump.write(load_records(&[region("kept", 0x1000, 1)], code, pid, 1).unwrap())
            .unwrap();
        let err = dump
            .write(load_records(&[region(&long, 0x2000, 1)], code, pid, 1).unwrap())
            .unwrap_err();
        assert!(err.contains("File too large"), "{err}");
        dump.write(load_records(&[region("after", 0x3000, 1)], code, pid, 1).unwrap())
            .unwrap();
        let parsed = parse_dump(&std::fs::read(dir.join(format!("jit-{pid}.dump"))).unwrap());
        let names: Vec<_> = parsed
            .loads
            .iter()
            .map(|l| (l.name.as_str(), l.code_index))
            .collect();
        assert_eq!(names, [("kept", 0), ("after", 1)]);
        println!("child: done");
    }

    #[test]
    fn the_process_has_one_map_and_one_dump_that_every_jit_shares() {
        let pid = std::process::id();
        let map_path = PathBuf::from(format!("/tmp/perf-{pid}.map"));
        let dump_path = PathBuf::from(format!("/tmp/jit-{pid}.dump"));
        let one = PerfMap::open().unwrap();
        let two = PerfMap::open().unwrap();
        one.add(&[region("from_one", 0x1000, 0x10)]).unwrap();
        two.add(&[region("from_two", 0x2000, 0x10)]).unwrap();
        let text = std::fs::read_to_string(&map_path).unwrap();
        assert!(
            text.ends_with("1000 10 from_one\n2000 10 from_two\n"),
            "{text}"
        );

        let one = JitDump::open(None).unwrap();
        let two = JitDump::open(Some(Path::new("/tmp/./"))).unwrap();
        let code = |_: &CodeRegion<'_>| -> &'static [u8] { &[0xc3] };
        one.add(&[region("from_one", 0x1000, 1)], code).unwrap();
        two.add(&[region("from_two", 0x2000, 1)], code).unwrap();
        // (A module removed here: nothing to write, see the module docs.)
        let err = JitDump::open(Some(Path::new("/var/tmp"))).unwrap_err();
        assert!(err.contains("orc-jit writes one per process"), "{err}");
        let err = JitDump::open(Some(Path::new("/no/such/dir"))).unwrap_err();
        assert!(
            err.starts_with("cannot use /no/such/dir as the jitdump's directory"),
            "{err}"
        );
        let parsed = parse_dump(&std::fs::read(&dump_path).unwrap());
        let names: Vec<_> = parsed
            .loads
            .iter()
            .map(|l| (l.name.as_str(), l.code_index))
            .collect();
        assert_eq!(names, [("from_one", 0), ("from_two", 1)]);
        let _ = std::fs::remove_file(&map_path);
        let _ = std::fs::remove_file(&dump_path);
    }

    // -----------------------------------------------------------------------------------------
    // With the real perf: a child spins in JIT code of its own, perf records it, and perf report
    // must put the samples on the names written.

    /// x86-64 machine code for `extern "C" fn(n: u64)`: `mov rcx, rdi; 1: dec rcx; jnz 1b; ret`.
    #[cfg(target_arch = "x86_64")]
    const SPIN: [u8; 9] = [0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3];

    /// A page of executable memory holding SPIN, made as a JIT makes it: mapped writable,
    /// written, then made read+exec.
    #[cfg(target_arch = "x86_64")]
    struct Spinner {
        page: *mut libc::c_void,
    }

    #[cfg(target_arch = "x86_64")]
    impl Spinner {
        const PAGE: usize = 4096;

        /// At `at` if given (the address of code that was removed).
        fn new(at: Option<usize>) -> Spinner {
            let (hint, fixed) = match at {
                Some(at) => (at as *mut libc::c_void, libc::MAP_FIXED_NOREPLACE),
                None => (std::ptr::null_mut(), 0),
            };
            // SAFETY: a new anonymous mapping; MAP_FIXED_NOREPLACE fails rather than replace one.
            let page = unsafe {
                libc::mmap(
                    hint,
                    Self::PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | fixed,
                    -1,
                    0,
                )
            };
            assert_ne!(page, libc::MAP_FAILED, "{}", io::Error::last_os_error());
            if let Some(at) = at {
                assert_eq!(page as usize, at);
            }
            // SAFETY: the page is ours, writable, and larger than SPIN.
            unsafe { std::ptr::copy_nonoverlapping(SPIN.as_ptr(), page.cast(), SPIN.len()) };
            // SAFETY: the page is the mapping just made.
            let rc = unsafe { libc::mprotect(page, Self::PAGE, libc::PROT_READ | libc::PROT_EXEC) };
            assert_eq!(rc, 0, "{}", io::Error::last_os_error());
            Spinner { page }
        }

        fn region<'a>(&self, name: &'a str) -> CodeRegion<'a> {
            region(name, self.page as u64, SPIN.len() as u64)
        }

        fn code(&self) -> &[u8] {
            // SAFETY: the page is readable and starts with SPIN's bytes.
            unsafe { std::slice::from_raw_parts(self.page.cast(), SPIN.len()) }
        }

        /// Runs the JIT code until this thread has spent `seconds` of CPU time, so that
        /// cpu-clock takes about `seconds` × 999 samples in it whatever else the machine runs.
        fn spin(&self, seconds: f64) {
            // SAFETY: the page holds SPIN, a whole function of this type that only counts rcx
            // down from its argument.
            let spin: extern "C" fn(u64) = unsafe { std::mem::transmute(self.page) };
            let start = thread_cpu_seconds();
            while thread_cpu_seconds() - start < seconds {
                spin(20_000_000);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    impl Drop for Spinner {
        fn drop(&mut self) {
            // SAFETY: the page is the mapping Spinner::new made; no function pointer into it
            // outlives `spin`.
            unsafe { libc::munmap(self.page, Self::PAGE) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn thread_cpu_seconds() -> f64 {
        let mut now = std::mem::MaybeUninit::<libc::timespec>::uninit();
        // SAFETY: `now` is valid for writing a timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, now.as_mut_ptr()) };
        assert_eq!(rc, 0);
        // SAFETY: clock_gettime returned 0, so it wrote the whole timespec.
        let now = unsafe { now.assume_init() };
        now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
    }

    /// The perf children's part: spin in JIT code named in the perf map or the jitdump.
    #[cfg(target_arch = "x86_64")]
    fn perf_child(scenario: &str, dir: &Path) {
        println!("child pid {}", std::process::id());
        match scenario {
            "perf map" => {
                let spinner = Spinner::new(None);
                // A one-letter name, which perf skips unless it is padded.
                PerfMap::open()
                    .unwrap()
                    .add(&[spinner.region("f")])
                    .unwrap();
                spinner.spin(1.0);
            }
            "perf map, reused" => {
                let map = PerfMap::open().unwrap();
                let first = Spinner::new(None);
                map.add(&[first.region("jit_first")]).unwrap();
                first.spin(0.5);
                let at = first.page as usize;
                drop(first);
                let second = Spinner::new(Some(at));
                map.add(&[second.region("jit_second")]).unwrap();
                second.spin(0.5);
            }
            "jitdump, reused" => {
                let dump = JitDump::open(Some(dir)).unwrap();
                let first = Spinner::new(None);
                let regions = [first.region("jit_first")];
                dump.add(&regions, |_| first.code()).unwrap();
                first.spin(0.6);
                // (Removed: nothing to write; the next load takes over.)
                let at = first.page as usize;
                drop(first);
                let second = Spinner::new(Some(at));
                // Mangled, as the object has it: perf demangles jitdump names (not map names).
                dump.add(&[second.region("_Z10jit_secondv")], |_| second.code())
                    .unwrap();
                second.spin(0.6);
            }
            _ => panic!("no child scenario {scenario}"),
        }
    }

    /// `perf ARGS -- child`, which must succeed; its output.
    #[cfg(target_arch = "x86_64")]
    fn perf(args: &[&str], child: Option<Command>) -> std::process::Output {
        let mut perf = Command::new("perf");
        perf.args(args);
        if let Some(child) = child {
            perf.arg("--")
                .arg(child.get_program())
                .args(child.get_args());
            for (key, value) in child.get_envs() {
                if let Some(value) = value {
                    perf.env(key, value);
                }
            }
        }
        let out = perf.output().unwrap_or_else(|e| {
            panic!(
                "cannot run perf ({e}): the perf tests need it; `cargo xtask deps` installs it \
                 (Debian package linux-perf)"
            )
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .unwrap_or_else(|e| format!("unreadable: {e}"));
            panic!(
                "perf {} failed ({}). If perf cannot open events on this machine \
                 (kernel.perf_event_paranoid is {}: at 2 or less a user may profile their own \
                 processes, above it only root; a container's seccomp profile may forbid \
                 perf_event_open to everyone), these tests cannot run here, and they fail \
                 rather than pass without perf. perf said:\n{stderr}",
                args.join(" "),
                out.status,
                paranoid.trim()
            );
        }
        out
    }

    /// Records `scenario` as `test`'s child with `perf record -e cpu-clock -F 999 -g` (and
    /// `extra`) into `dir/perf.data`; the child's pid.
    #[cfg(target_arch = "x86_64")]
    fn record(test: &str, scenario: &str, dir: &Path, extra: &[&str]) -> u32 {
        let data = dir.join("perf.data");
        let mut args = vec!["record", "-e", "cpu-clock", "-F", "999", "-g"];
        args.extend(extra);
        args.extend(["-o", data.to_str().unwrap()]);
        let out = perf(&args, Some(child(test, scenario, dir)));
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            // libtest's `test NAME ... ` may start the line.
            .find_map(|l| l.split_once("child pid ")?.1.trim().parse().ok())
            .unwrap_or_else(|| panic!("the child did not run: {stdout}"))
    }

    /// `perf report --stdio --no-children --sort symbol` of `data`: its text, and the share of
    /// the samples (percent) of each symbol.
    #[cfg(target_arch = "x86_64")]
    fn report(data: &Path) -> (String, Vec<(f64, String)>) {
        let out = perf(
            &[
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "symbol",
                "-g",
                "none",
                "-i",
                data.to_str().unwrap(),
            ],
            None,
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `    98.09%  [.] f                               -      -`
        let rows = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (percent, rest) = l.trim_start().split_once('%')?;
                let symbol = rest.trim_start().get(4..)?;
                let symbol = symbol.split("  ").next()?.trim_end();
                Some((percent.parse().ok()?, symbol.to_owned()))
            })
            .collect();
        (text, rows)
    }

    #[cfg(target_arch = "x86_64")]
    fn share(rows: &[(f64, String)], name: &str) -> f64 {
        rows.iter()
            .filter(|(_, symbol)| symbol == name)
            .fold(0.0, |total, (percent, _)| total + percent)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn perf_report_puts_the_samples_of_jit_code_on_its_perf_map_name() {
        if_child();
        let dir = scratch("perf-map");
        let pid = record(
            "profiler::tests::perf_report_puts_the_samples_of_jit_code_on_its_perf_map_name",
            "perf map",
            &dir,
            &[],
        );
        let (text, rows) = report(&dir.join("perf.data"));
        let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
        let f = share(&rows, "f");
        println!("perf report: {f}% on f");
        assert!(f >= 90.0, "{f}% of the samples on f:\n{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn perf_map_code_at_a_reused_address_is_reported_under_the_newest_name() {
        if_child();
        let dir = scratch("perf-map-reused");
        let pid = record(
            "profiler::tests::perf_map_code_at_a_reused_address_is_reported_under_the_newest_name",
            "perf map, reused",
            &dir,
            &[],
        );
        let (text, rows) = report(&dir.join("perf.data"));
        let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
        // Both ran for the same time; the map cannot tell them apart, and the newest wins.
        let second = share(&rows, "jit_second");
        println!("perf report: {second}% on jit_second");
        assert!(
            second >= 90.0,
            "{second}% of the samples on jit_second:\n{text}"
        );
        assert_eq!(share(&rows, "jit_first"), 0.0, "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn perf_inject_puts_the_samples_of_jit_code_on_its_jitdump_names_before_and_after_reuse() {
        if_child();
        let dir = scratch("jitdump-reused");
        record(
            "profiler::tests::perf_inject_puts_the_samples_of_jit_code_on_its_jitdump_names_before_and_after_reuse",
            "jitdump, reused",
            &dir,
            &["-k", "mono"],
        );
        let data = dir.join("perf.data");
        let injected = dir.join("perf.jit.data");
        perf(
            &[
                "inject",
                "--jit",
                "-i",
                data.to_str().unwrap(),
                "-o",
                injected.to_str().unwrap(),
            ],
            None,
        );
        let (text, rows) = report(&injected);
        // Each ran for the same CPU time, at the same address, one after the other.
        let first = share(&rows, "jit_first");
        // Demangled, as perf shows names: without the parameters.
        let second = share(&rows, "jit_second");
        println!("perf report: {first}% on jit_first, {second}% on jit_second");
        assert!(
            first >= 35.0 && second >= 35.0 && first + second >= 90.0,
            "{first}% on jit_first, {second}% on jit_second:\n{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
