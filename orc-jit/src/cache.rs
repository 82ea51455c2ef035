//! The object cache's storage (issue 25): one file per entry in a directory of the cache's own,
//! written atomically, checked on every read, and kept under a size limit by evicting the least
//! recently used entries. What the key covers and what a hit or a miss does are the JIT's.
//!
//! # Files in the directory
//!
//! - `<key, 64 hex digits>.entry`: an entry, in the format below.
//! - `tmp-…`: an entry being written (or the probe of [`ObjectCache::open`]), or one a process
//!   left when it died while writing. Never read; removed by the next scan (see *Size limit*) once
//!   its last write is older than [`STALE_TEMPORARY`].
//! - Anything else is not the cache's: it is never read, counted or removed.
//!
//! # Entry format, version 1
//!
//! | offset     | bytes | field                                                          |
//! |-----------:|------:|----------------------------------------------------------------|
//! | 0          | 8     | magic: `JITCACHE`                                              |
//! | 8          | 4     | format version, `u32` little-endian: [`FORMAT_VERSION`]        |
//! | 12         | 32    | the key                                                        |
//! | 44         | 8     | metadata length *m*, `u64` little-endian                       |
//! | 52         | 8     | object length *o*, `u64` little-endian                         |
//! | 60         | 32    | SHA-256 of bytes 0..60, then of the metadata, then the object  |
//! | 92         | *m*   | metadata (the JIT's JSON: the module's symbols)                |
//! | 92 + *m*   | *o*   | the object file                                                |
//!
//! The file is exactly 92 + *m* + *o* bytes. A reader rejects one that is shorter or longer, whose
//! magic or version differ (another program's file, another format), whose key is not the one its
//! name says (a file copied or renamed), that is larger than the size limit (so nothing on disk
//! makes a read allocate more than that), or whose checksum does not match (a change anywhere,
//! header included). A rejected entry is a miss to the JIT, with the reason for its log, and the
//! next [`ObjectCache::put_file`] of the key replaces it.
//!
//! The checksum detects accidents, not attacks: whoever can write the directory can write valid
//! entries (an object, and the signatures the ABI checks compare with), so the directory must be
//! trusted like the program's own files. [`ObjectCache::open`] refuses a directory that another
//! user owns or that its group or every user may write (mode 1777, like `/tmp`), and a read
//! rejects an entry file with the same faults; a directory the cache creates is mode 0700. What
//! the process's own user writes there is trusted. The host's checks on an object (the same as
//! on a worker's) still apply to a hit: they stop objects that would corrupt the host as it
//! links them, not code that does what its author meant.
//!
//! # Writes
//!
//! [`ObjectCache::put_file`] writes a new temporary file in the cache directory itself, so the rename
//! never crosses filesystems, then renames it over the entry's name. A rename is atomic: a reader
//! opens the old file or the new one, each complete, and two processes storing one entry both
//! succeed (the last rename wins; both wrote the same entry, since the key determines it).
//!
//! The JIT makes its puts on a writer thread of its own (cache_writer.rs), so a miss does not
//! wait for the filesystem: the entry is laid out in one buffer on the compiling thread, and
//! the writer completes its header and writes it with one `write`. The guarantees here are the
//! put's, whichever thread calls it.
//!
//! There is no fsync. It would cost a disk flush on every miss and buys durability across a power
//! loss or an OS crash only; after one, an entry whose data did not reach the disk fails its
//! checksum and is compiled again, so a cache that skips fsync loses time, never correctness.
//!
//! # Size limit
//!
//! An entry's use time is its file's mtime: a put writes it, a hit sets it to now. After a put,
//! the cache compares the limit with a running total (what the last scan of the directory found,
//! plus what this process stored since; a process's first put scans). When the total is over,
//! it scans again: stale temporaries are removed, and the least recently used entries too, until
//! the entries take at most 90% of the limit. Evicting below the limit leaves room, so a
//! full cache is not scanned on every put; and a program whose lookups all hit never scans. Other
//! processes' entries are seen at the next scan: while several processes write at once, the
//! directory can exceed the limit by what they stored since their last scan. An entry larger
//! than the limit is not stored.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The entry format this code writes and reads (and which the JIT's keys should cover, so that
/// a new format starts from new keys instead of rejecting old entries).
pub(crate) const FORMAT_VERSION: u32 = 1;

const MAGIC: [u8; 8] = *b"JITCACHE";
const HEADER_LEN: usize = 92;
/// The part of the header the checksum covers: all but the checksum itself.
const CHECKED_HEADER_LEN: usize = 60;
const ENTRY_SUFFIX: &str = ".entry";
const TEMPORARY_PREFIX: &str = "tmp-";

/// How long a temporary file must have gone unwritten before a scan removes it. An entry is
/// written in milliseconds; a writer stalled for longer than this only loses its put.
const STALE_TEMPORARY: Duration = Duration::from_secs(10 * 60);

/// What eviction leaves of `limit`: 90% of it.
fn low_water(limit: u64) -> u64 {
    limit - limit / 10
}

/// Temporary files of this process are numbered, so two puts never share one.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// A directory of compiled objects, shared by every process that opens it.
pub(crate) struct ObjectCache {
    dir: PathBuf,
    size_limit: u64,
    /// The entries' total size as this process knows it: the last scan's, plus what it stored
    /// since. `None` until its first scan.
    known_size: Mutex<Option<u64>>,
    /// This process's id, for the temporaries' names (read once: a put makes no syscall it
    /// does not need).
    pid: u32,
}

/// What the cache stores for a key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) object: Vec<u8>,
    /// The JSON the JIT stores beside the object (its symbols); the cache does not read it.
    pub(crate) metadata: Vec<u8>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Entry {{ object: {} bytes, metadata: {} bytes }}",
            self.object.len(),
            self.metadata.len()
        )
    }
}

/// What [`ObjectCache::get`] found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Entry),
    /// No entry for the key.
    Miss,
    /// A file for the key that is no usable entry: truncated, corrupt, another program's or
    /// format's, another key's, or unreadable. To the JIT a miss (compile, then put, which
    /// replaces the file); the reason, naming the file, is for its log.
    Rejected(String),
}

impl ObjectCache {
    /// Opens the cache in `dir`, creating the directory if it is missing. A directory that cannot
    /// be created or written is `Err(reason)`: the JIT then runs without a cache, with a warning.
    /// A cache holds at most about `size_limit` bytes of entries (see the module docs).
    pub(crate) fn open(dir: &Path, size_limit: u64) -> Result<ObjectCache, String> {
        // Absolute, so a later change of the working directory does not move the cache.
        let dir = std::path::absolute(dir)
            .map_err(|e| format!("cannot use {} as the cache directory: {e}", dir.display()))?;
        // 0700: the entries are code this program will run, so a directory the cache makes
        // is this user's alone.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create the cache directory {}: {e}", dir.display()))?;
        let status = fs::metadata(&dir)
            .map_err(|e| format!("cannot stat the cache directory {}: {e}", dir.display()))?;
        untrusted(&status).map_err(|why| {
            format!(
                "the cache directory {} {why}: whoever can write it decides what code this \
                 program runs (use a directory only this user can write, e.g. under \
                 $XDG_CACHE_HOME, or `chmod go-w` it)",
                dir.display()
            )
        })?;
        let cache = ObjectCache {
            dir,
            size_limit,
            known_size: Mutex::new(None),
            pid: std::process::id(),
        };
        // Permissions do not say whether a write works (root ignores them; a read-only mount or
        // an immutable directory refuses root too): only a write does.
        let (probe, file) = cache
            .create_temporary("probe")
            .map_err(|e| format!("cannot write in the cache directory: {e}"))?;
        drop(file);
        fs::remove_file(&probe).map_err(|e| {
            format!(
                "cannot remove files in the cache directory ({}): {e}",
                probe.display()
            )
        })?;
        Ok(cache)
    }

    /// The cache directory (absolute).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry for `key`. One open, one pass over the file's bytes (the header, then the
    /// metadata and the object, each read into its own buffer once), one checksum; a hit makes
    /// the entry the most recently used.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Lookup {
        let path = self.entry_path(key);
        // O_NONBLOCK: a FIFO under an entry's name must not hang the JIT in open or read.
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return rejected(&path, format!("cannot open it: {e}")),
        };
        match self.read_entry(&mut file, key) {
            Ok(entry) => {
                // Best effort: a failure only makes the entry look older than it is.
                let _ = file.set_modified(SystemTime::now());
                Lookup::Hit(entry)
            }
            Err(reason) => rejected(&path, reason),
        }
    }

    /// [`ObjectCache::put_file`] of `entry`, for the tests (the JIT lays its entries out
    /// itself, on the compiling thread, and its writer thread stores them).
    #[cfg(test)]
    pub(crate) fn put(&self, key: &[u8; 32], entry: &Entry) -> Result<(), String> {
        self.put_file(key, EntryFile::new(&entry.metadata, &entry.object))
    }

    /// Stores an entry already laid out as its file, replacing any file under `key`, then keeps
    /// the cache under its size limit: its header is completed here (key, lengths, checksum),
    /// then the whole file is written with one `write`. Never fails the program: `Err(reason)`
    /// is for the log (the entry may have been stored all the same when the error is about
    /// eviction).
    pub(crate) fn put_file(&self, key: &[u8; 32], mut file: EntryFile) -> Result<(), String> {
        let path = self.entry_path(key);
        let size = file.bytes.len() as u64;
        if size > self.size_limit {
            // A file under this name is a stale entry a smaller limit cannot read any more.
            let _ = fs::remove_file(&path);
            return Err(format!(
                "not stored in the cache: the entry for {} ({} bytes of object, {} of metadata) \
                 is larger than the cache's size limit of {} bytes",
                path.display(),
                file.object_len(),
                file.metadata_len,
                self.size_limit
            ));
        }
        file.complete_header(key);
        // The temporary exists only while it is written (not while the checksum is computed).
        let (temporary, mut out) = self.create_temporary(&hex(&key[..8]))?;
        let written = out.write_all(&file.bytes);
        drop(out);
        if let Err(e) = written {
            let _ = fs::remove_file(&temporary);
            return Err(format!("cannot write {}: {e}", temporary.display()));
        }
        if let Err(e) = fs::rename(&temporary, &path) {
            let _ = fs::remove_file(&temporary);
            return Err(format!(
                "cannot rename {} to {}: {e}",
                temporary.display(),
                path.display()
            ));
        }
        self.keep_under_limit(&path, size)
    }

    /// Counts a stored entry of `size` bytes, and scans (and evicts) when the cache may be over
    /// its limit. `stored` is never evicted.
    fn keep_under_limit(&self, stored: &Path, size: u64) -> Result<(), String> {
        let mut known = self.known_size.lock().unwrap_or_else(|e| e.into_inner());
        match *known {
            Some(total) if total.saturating_add(size) <= self.size_limit => {
                *known = Some(total + size);
                Ok(())
            }
            _ => {
                // Under the lock, so that threads over the limit together scan once.
                let scan = self.scan_and_evict(stored);
                *known = scan.total;
                match scan.problem {
                    None => Ok(()),
                    Some(problem) => Err(format!(
                        "stored {}, but could not keep the cache under its size limit: {problem}",
                        stored.display()
                    )),
                }
            }
        }
    }

    /// Lists the directory: removes stale temporaries, and evicts the least recently used
    /// entries (never `keep`) while the entries take more than the limit, down to the low water.
    fn scan_and_evict(&self, keep: &Path) -> Scan {
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) => {
                return Scan {
                    total: None,
                    problem: Some(format!("cannot list {}: {e}", self.dir.display())),
                };
            }
        };
        let now = SystemTime::now();
        let mut problem = None;
        let mut entries = Vec::new();
        let mut total = 0u64;
        for item in listing {
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    problem.get_or_insert(format!("cannot list {}: {e}", self.dir.display()));
                    continue;
                }
            };
            let name = item.file_name();
            let name = name.to_str().unwrap_or("");
            let is_entry = is_entry_name(name);
            if !is_entry && !name.starts_with(TEMPORARY_PREFIX) {
                continue;
            }
            // Not followed: a symbolic link is no file of the cache's.
            let metadata = match item.metadata() {
                Ok(metadata) if metadata.is_file() => metadata,
                Ok(_) => continue,
                // Removed by another process since the listing.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => {
                    problem.get_or_insert(format!("cannot stat {}: {e}", item.path().display()));
                    continue;
                }
            };
            let used = metadata.modified().unwrap_or(UNIX_EPOCH);
            if is_entry {
                total = total.saturating_add(metadata.len());
                entries.push((used, item.path(), metadata.len()));
            } else if now
                .duration_since(used)
                .is_ok_and(|age| age >= STALE_TEMPORARY)
                && let Err(problem_here) = remove(&item.path())
            {
                problem.get_or_insert(problem_here);
            }
        }
        if total > self.size_limit {
            let low_water = low_water(self.size_limit);
            // The least recently used first; the name breaks ties, so every process agrees.
            entries.sort();
            for (_, path, size) in entries {
                if total <= low_water {
                    break;
                }
                if path == keep {
                    continue;
                }
                match remove(&path) {
                    Ok(()) => total -= size,
                    Err(problem_here) => {
                        problem.get_or_insert(problem_here);
                    }
                }
            }
        }
        Scan {
            total: Some(total),
            problem,
        }
    }

    /// Reads and checks the entry `file` should hold for `key`: the reason if it does not.
    fn read_entry(&self, file: &mut File, key: &[u8; 32]) -> Result<Entry, String> {
        let metadata = file
            .metadata()
            .map_err(|e| format!("cannot stat it: {e}"))?;
        if !metadata.is_file() {
            return Err("not a regular file".to_owned());
        }
        untrusted(&metadata).map_err(|why| format!("the file {why}"))?;
        let len = metadata.len();
        if len > self.size_limit {
            return Err(format!(
                "{len} bytes, more than the cache's size limit of {} bytes",
                self.size_limit
            ));
        }
        if len < HEADER_LEN as u64 {
            return Err(format!(
                "truncated: {len} bytes, shorter than the {HEADER_LEN}-byte header"
            ));
        }
        let mut bytes = [0u8; HEADER_LEN];
        file.read_exact(&mut bytes)
            .map_err(|e| format!("cannot read its header: {e}"))?;
        let header = Header::parse(&bytes)?;
        if &header.key != key {
            return Err(format!(
                "it holds the entry of key {}, not of the key its name says",
                hex(&header.key)
            ));
        }
        let expected = (HEADER_LEN as u64)
            .checked_add(header.metadata_len)
            .and_then(|n| n.checked_add(header.object_len));
        match expected {
            Some(expected) if expected == len => {}
            Some(expected) if expected > len => {
                return Err(format!(
                    "truncated: {len} bytes, where its header says {expected}"
                ));
            }
            Some(expected) => {
                return Err(format!(
                    "{len} bytes, where its header says {expected}: bytes were appended"
                ));
            }
            None => return Err("its header's lengths overflow: not an entry".to_owned()),
        }
        let metadata = read_exactly(file, header.metadata_len)?;
        let object = read_exactly(file, header.object_len)?;
        let checksum: [u8; 32] = Sha256::new()
            .chain_update(&bytes[..CHECKED_HEADER_LEN])
            .chain_update(&metadata)
            .chain_update(&object)
            .finalize()
            .into();
        if checksum != header.checksum {
            return Err("checksum mismatch: the file is corrupt".to_owned());
        }
        Ok(Entry { object, metadata })
    }

    fn entry_path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}{ENTRY_SUFFIX}", hex(key)))
    }

    /// A new file `tmp-<label>-<pid>-<n>-<ns>` in the cache directory. The time makes a clash
    /// between processes of two PID namespaces unlikely; `create_new` makes one harmless.
    fn create_temporary(&self, label: &str) -> Result<(PathBuf, File), String> {
        let mut last_error = None;
        for _ in 0..4 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |t| t.subsec_nanos());
            let path = self.dir.join(format!(
                "{TEMPORARY_PREFIX}{label}-{}-{}-{nanos:08x}",
                self.pid,
                NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
            ));
            // 0600 whatever the umask: a read rejects an entry others could write.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => return Ok((path, file)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last_error = Some((path, e)),
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(match last_error {
            Some((path, e)) => format!("cannot create {}: {e}", path.display()),
            None => format!("cannot create a file in {}", self.dir.display()),
        })
    }
}

/// `Err(why)` when a file or directory is not this user's alone to write: another user owns
/// it, or its group or everyone may write it. The cache's entries are code the program runs,
/// and their checksum stops accidents only (see the module docs), so what is in the directory
/// must come from this user.
fn untrusted(status: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if status.uid() != me {
        return Err(format!(
            "belongs to user {}, not to this process's user {me}",
            status.uid()
        ));
    }
    let mode = status.mode() & 0o7777;
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 {
            "every user"
        } else {
            "its group"
        };
        return Err(format!("can be written by {who} (mode {mode:04o})"));
    }
    Ok(())
}

/// The next `len` bytes of `file`, into a buffer of their size. Read into unused capacity: a
/// zeroed buffer made a 10 MB hit 0.8 ms slower (6.7 ms). `len` was checked against the file's
/// length, which is at most the size limit.
fn read_exactly(file: &mut File, len: u64) -> Result<Vec<u8>, String> {
    let capacity = usize::try_from(len)
        .map_err(|_| format!("{len} bytes do not fit in this process's memory"))?;
    let mut buffer = Vec::with_capacity(capacity);
    file.take(len)
        .read_to_end(&mut buffer)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if buffer.len() != capacity {
        return Err(format!(
            "truncated while read: {} bytes of a part of {len}",
            buffer.len()
        ));
    }
    Ok(buffer)
}

/// What a scan found: the entries' total (`None` if the directory could not be listed), and the
/// first thing that went wrong, for the log.
struct Scan {
    total: Option<u64>,
    problem: Option<String>,
}

/// An entry's header, as read.
struct Header {
    key: [u8; 32],
    metadata_len: u64,
    object_len: u64,
    checksum: [u8; 32],
}

impl Header {
    fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, String> {
        let (magic, rest) = split::<8>(bytes)?;
        if magic != MAGIC {
            return Err(format!(
                "not a orc-jit cache entry (it starts with {:?})",
                String::from_utf8_lossy(&magic)
            ));
        }
        let (version, rest) = split::<4>(rest)?;
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(format!(
                "cache format version {version}; this orc-jit reads version {FORMAT_VERSION}"
            ));
        }
        let (key, rest) = split::<32>(rest)?;
        let (metadata_len, rest) = split::<8>(rest)?;
        let (object_len, rest) = split::<8>(rest)?;
        let (checksum, _) = split::<32>(rest)?;
        Ok(Header {
            key,
            metadata_len: u64::from_le_bytes(metadata_len),
            object_len: u64::from_le_bytes(object_len),
            checksum,
        })
    }
}

/// The first `N` bytes and the rest (the header's fields; it is long enough for all of them).
fn split<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), String> {
    bytes
        .split_first_chunk::<N>()
        .map(|(first, rest)| (*first, rest))
        .ok_or_else(|| "truncated header".to_owned())
}

/// An entry laid out as its file, in one buffer: room for the header, then the metadata, then
/// the object. Made on the compiling thread with one copy of each part; the header (whose
/// checksum covers the rest) is filled in by the put, on whichever thread writes.
pub(crate) struct EntryFile {
    bytes: Vec<u8>,
    metadata_len: usize,
}

impl EntryFile {
    pub(crate) fn new(metadata: &[u8], object: &[u8]) -> EntryFile {
        let mut bytes = Vec::with_capacity(HEADER_LEN + metadata.len() + object.len());
        bytes.extend_from_slice(&[0; HEADER_LEN]);
        bytes.extend_from_slice(metadata);
        bytes.extend_from_slice(object);
        EntryFile {
            bytes,
            metadata_len: metadata.len(),
        }
    }

    /// The file's length.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    fn object_len(&self) -> usize {
        self.bytes.len() - HEADER_LEN - self.metadata_len
    }

    /// Writes the header for `key`: magic, version, key, lengths, then the checksum of all that
    /// and of the metadata and the object.
    fn complete_header(&mut self, key: &[u8; 32]) {
        let fields = [
            &MAGIC[..],
            &FORMAT_VERSION.to_le_bytes(),
            key,
            &(self.metadata_len as u64).to_le_bytes(),
            &(self.object_len() as u64).to_le_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            self.bytes[at..at + field.len()].copy_from_slice(field);
            at += field.len();
        }
        debug_assert_eq!(at, CHECKED_HEADER_LEN);
        // The metadata and the object follow each other: one update covers both.
        let checksum = Sha256::new()
            .chain_update(&self.bytes[..CHECKED_HEADER_LEN])
            .chain_update(&self.bytes[HEADER_LEN..])
            .finalize();
        self.bytes[CHECKED_HEADER_LEN..HEADER_LEN].copy_from_slice(&checksum);
    }
}

fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(ENTRY_SUFFIX).is_some_and(|stem| {
        stem.len() == 64
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Removes a file of the cache's; one another process removed first is no problem.
fn remove(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

fn rejected(path: &Path, reason: String) -> Lookup {
    Lookup::Rejected(format!("cache entry {} ignored: {reason}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::process::{Command, Stdio};
    use std::time::Instant;

    use super::*;

    const LIMIT: u64 = 1 << 30;

    /// A directory for one test, removed when the test ends.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new(name: &str) -> TestDir {
            TestDir::under(&std::env::temp_dir(), name)
        }

        fn under(base: &Path, name: &str) -> TestDir {
            let path = base.join(format!("orc-jit-cache-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TestDir(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn key(n: u8) -> [u8; 32] {
        Sha256::digest([n]).into()
    }

    /// `len` bytes that depend on `seed` (xorshift64*).
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn entry(seed: u64, object_len: usize) -> Entry {
        Entry {
            object: bytes(seed, object_len),
            metadata: format!("{{\"seed\":{seed:>8}}}").into_bytes(),
        }
    }

    /// The size of `entry`'s file.
    fn file_size(entry: &Entry) -> u64 {
        (HEADER_LEN + entry.metadata.len() + entry.object.len()) as u64
    }

    #[track_caller]
    fn expect_hit(lookup: Lookup) -> Entry {
        match lookup {
            Lookup::Hit(entry) => entry,
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    /// The reason of a rejection whose explanation (after the file's name, which could contain
    /// any word) contains `because`.
    #[track_caller]
    fn expect_rejected(lookup: Lookup, because: &str) -> String {
        match lookup {
            Lookup::Rejected(reason)
                if reason
                    .split_once(" ignored: ")
                    .is_some_and(|(_, why)| why.contains(because)) =>
            {
                reason
            }
            other => panic!("expected a rejection for {because:?}, got {other:?}"),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|item| item.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn temporaries(dir: &Path) -> Vec<String> {
        names(dir)
            .into_iter()
            .filter(|name| name.starts_with(TEMPORARY_PREFIX))
            .collect()
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        File::open(path).unwrap().set_modified(time).unwrap();
    }

    fn mtime(path: &Path) -> SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    /// This test binary again, running only `test` (a function of this module), with `env`.
    fn this_test_again(test: &str, env: &[(&str, &str)]) -> Command {
        let module = module_path!().split_once("::").map_or("", |(_, m)| m);
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", &format!("{module}::{test}")])
            .args(["--nocapture", "--test-threads=1"])
            .envs(env.iter().copied());
        command
    }

    #[test]
    fn stores_and_finds_entries() {
        let dir = TestDir::new("roundtrip");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        assert!(matches!(cache.get(&key(1)), Lookup::Miss));
        let entries = [
            entry(1, 1000),
            Entry {
                object: Vec::new(),
                metadata: Vec::new(),
            },
            Entry {
                object: bytes(3, 1),
                metadata: b"{}".to_vec(),
            },
        ];
        for (n, e) in entries.iter().enumerate() {
            cache.put(&key(n as u8), e).unwrap();
        }
        for (n, e) in entries.iter().enumerate() {
            assert_eq!(&expect_hit(cache.get(&key(n as u8))), e);
        }
        assert!(matches!(cache.get(&key(9)), Lookup::Miss));
        // A put replaces what is there.
        cache.put(&key(0), &entry(7, 500)).unwrap();
        assert_eq!(expect_hit(cache.get(&key(0))), entry(7, 500));
        // One file per entry, named by its key; no temporary left.
        let mut expected: Vec<String> = (0..3).map(|n| format!("{}.entry", hex(&key(n)))).collect();
        expected.sort();
        assert_eq!(names(dir.path()), expected);
        assert_eq!(
            fs::metadata(cache.entry_path(&key(0))).unwrap().len(),
            file_size(&entry(7, 500))
        );
    }

    #[test]
    fn the_file_is_the_documented_format() {
        let dir = TestDir::new("format");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        let e = entry(5, 300);
        cache.put(&key(5), &e).unwrap();
        let file = fs::read(cache.entry_path(&key(5))).unwrap();
        assert_eq!(&file[0..8], b"JITCACHE");
        assert_eq!(&file[8..12], &1u32.to_le_bytes());
        assert_eq!(&file[12..44], &key(5));
        assert_eq!(&file[44..52], &(e.metadata.len() as u64).to_le_bytes());
        assert_eq!(&file[52..60], &300u64.to_le_bytes());
        let mut checked = file[..60].to_vec();
        checked.extend_from_slice(&file[92..]);
        assert_eq!(&file[60..92], Sha256::digest(&checked).as_slice());
        assert_eq!(&file[92..92 + e.metadata.len()], e.metadata.as_slice());
        assert_eq!(&file[92 + e.metadata.len()..], e.object.as_slice());
    }

    #[test]
    fn a_missing_directory_is_created() {
        let dir = TestDir::new("missing");
        let nested = dir.path().join("a/b/cache");
        let cache = ObjectCache::open(&nested, LIMIT).unwrap();
        assert!(nested.is_dir());
        assert_eq!(cache.dir(), nested);
        cache.put(&key(1), &entry(1, 10)).unwrap();
        assert_eq!(expect_hit(cache.get(&key(1))), entry(1, 10));
        // The probe left nothing.
        assert_eq!(names(&nested).len(), 1);
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_error() {
        let dir = TestDir::new("uncreatable");
        let file = dir.path().join("a-file");
        fs::write(&file, b"not a directory").unwrap();
        // Under a regular file: ENOTDIR, for root too.
        let under_file = file.join("cache");
        let err = ObjectCache::open(&under_file, LIMIT).err().unwrap();
        assert!(err.contains("cannot create the cache directory"), "{err}");
        assert!(err.contains(&under_file.display().to_string()), "{err}");
        // A regular file where the directory should be.
        let err = ObjectCache::open(&file, LIMIT).err().unwrap();
        assert!(err.contains("cannot create the cache directory"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"not a directory");
    }

    /// A directory made unwritable for the test's user, root included: mode 0555 stops other
    /// users; root ignores modes, but not the immutable attribute (`chattr +i`, which needs
    /// CAP_LINUX_IMMUTABLE and a filesystem that has it: ext4, xfs, btrfs, tmpfs). Undone on drop.
    struct Unwritable {
        dir: PathBuf,
        immutable: bool,
    }

    impl Unwritable {
        fn make(dir: &Path) -> Result<Unwritable, String> {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
            let mut guard = Unwritable {
                dir: dir.to_owned(),
                immutable: false,
            };
            if !writable(dir) {
                return Ok(guard);
            }
            let out = Command::new("chattr").arg("+i").arg(dir).output();
            match out {
                Ok(out) if out.status.success() => guard.immutable = true,
                Ok(out) => return Err(String::from_utf8_lossy(&out.stderr).into_owned()),
                Err(e) => return Err(format!("cannot run chattr: {e}")),
            }
            if writable(dir) {
                return Err("still writable with mode 0555 and chattr +i".to_owned());
            }
            Ok(guard)
        }
    }

    impl Drop for Unwritable {
        fn drop(&mut self) {
            if self.immutable {
                let _ = Command::new("chattr").arg("-i").arg(&self.dir).status();
            }
            let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755));
        }
    }

    fn writable(dir: &Path) -> bool {
        let probe = dir.join("probe");
        let created = File::create(&probe).is_ok();
        let _ = fs::remove_file(&probe);
        created
    }

    #[test]
    fn a_directory_that_cannot_be_written_is_an_error() {
        let dir = TestDir::new("unwritable");
        let _guard = match Unwritable::make(dir.path()) {
            Ok(guard) => guard,
            Err(why) => {
                eprintln!("not tested: cannot make a directory unwritable here: {why}");
                return;
            }
        };
        let err = ObjectCache::open(dir.path(), LIMIT).err().unwrap();
        assert!(err.contains("cannot write in the cache directory"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        // Nor can a cache be created under it.
        let err = ObjectCache::open(&dir.path().join("cache"), LIMIT)
            .err()
            .unwrap();
        assert!(err.contains("cannot create the cache directory"), "{err}");
    }

    #[test]
    fn a_directory_that_turns_read_only_still_gives_hits_and_puts_fail_softly() {
        let dir = TestDir::new("turns-read-only");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        cache.put(&key(1), &entry(1, 100)).unwrap();
        let _guard = match Unwritable::make(dir.path()) {
            Ok(guard) => guard,
            Err(why) => {
                eprintln!("not tested: cannot make a directory unwritable here: {why}");
                return;
            }
        };
        assert_eq!(expect_hit(cache.get(&key(1))), entry(1, 100));
        let err = cache.put(&key(2), &entry(2, 100)).unwrap_err();
        assert!(err.contains("cannot create"), "{err}");
        assert!(matches!(cache.get(&key(2)), Lookup::Miss));
    }

    #[test]
    fn every_truncation_is_rejected_and_the_next_put_replaces_it() {
        let dir = TestDir::new("truncated");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        let e = entry(1, 200);
        cache.put(&key(1), &e).unwrap();
        let path = cache.entry_path(&key(1));
        let whole = fs::read(&path).unwrap();
        for len in 0..whole.len() {
            fs::write(&path, &whole[..len]).unwrap();
            expect_rejected(cache.get(&key(1)), "truncated");
        }
        cache.put(&key(1), &e).unwrap();
        assert_eq!(expect_hit(cache.get(&key(1))), e);
    }

    #[test]
    fn every_changed_byte_is_rejected_and_the_next_put_replaces_it() {
        let dir = TestDir::new("corrupt");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        let e = entry(2, 200);
        cache.put(&key(2), &e).unwrap();
        let path = cache.entry_path(&key(2));
        let whole = fs::read(&path).unwrap();
        for at in 0..whole.len() {
            let mut changed = whole.clone();
            changed[at] ^= 1 << (at % 8);
            fs::write(&path, &changed).unwrap();
            let because = match at {
                0..8 => "not a orc-jit cache entry",
                8..12 => "cache format version",
                12..44 => "not of the key its name says",
                // A changed length: the file no longer has that length (or it overflows).
                44..60 => "header says",
                _ => "checksum mismatch",
            };
            let reason = expect_rejected(cache.get(&key(2)), because);
            assert!(reason.contains(&path.display().to_string()), "{reason}");
        }
        let mut longer = whole.clone();
        longer.push(0);
        fs::write(&path, &longer).unwrap();
        expect_rejected(cache.get(&key(2)), "bytes were appended");
        cache.put(&key(2), &e).unwrap();
        assert_eq!(expect_hit(cache.get(&key(2))), e);
    }

    #[test]
    fn foreign_files_are_rejected() {
        let dir = TestDir::new("foreign");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        let path = cache.entry_path(&key(1));
        let e = entry(1, 100);
        let replaced = |what: &str| {
            cache
                .put(&key(1), &e)
                .unwrap_or_else(|err| panic!("{what}: {err}"));
            assert_eq!(expect_hit(cache.get(&key(1))), e, "{what}");
        };

        // Another program's files.
        fs::write(&path, b"").unwrap();
        expect_rejected(cache.get(&key(1)), "truncated");
        replaced("empty");
        let mut elf = vec![0; 4096];
        let n = File::open(std::env::current_exe().unwrap())
            .unwrap()
            .read(&mut elf)
            .unwrap();
        fs::write(&path, &elf[..n]).unwrap();
        expect_rejected(cache.get(&key(1)), "not a orc-jit cache entry");
        replaced("an ELF file");
        fs::write(&path, "{\"defined\": [], \"referenced\": []}".repeat(4)).unwrap();
        expect_rejected(cache.get(&key(1)), "not a orc-jit cache entry");
        replaced("JSON");

        // Another format version, otherwise valid (its checksum matches).
        let mut file = fs::read(&path).unwrap();
        file[8..12].copy_from_slice(&2u32.to_le_bytes());
        let mut checked = file[..CHECKED_HEADER_LEN].to_vec();
        checked.extend_from_slice(&file[HEADER_LEN..]);
        let checksum = Sha256::digest(&checked);
        file[CHECKED_HEADER_LEN..HEADER_LEN].copy_from_slice(&checksum);
        fs::write(&path, &file).unwrap();
        expect_rejected(cache.get(&key(1)), "cache format version 2");
        replaced("version 2");

        // Another key's entry, under this key's name.
        cache.put(&key(2), &entry(2, 100)).unwrap();
        fs::copy(cache.entry_path(&key(2)), &path).unwrap();
        let reason = expect_rejected(cache.get(&key(1)), "not of the key its name says");
        assert!(reason.contains(&hex(&key(2))), "{reason}");
        replaced("another key's");

        // Not a regular file: a FIFO (which must not block), a device, a directory.
        fs::remove_file(&path).unwrap();
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c_path` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        expect_rejected(cache.get(&key(1)), "not a regular file");
        replaced("a FIFO");
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        expect_rejected(cache.get(&key(1)), "not a regular file");
        replaced("a link to /dev/zero");
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        expect_rejected(cache.get(&key(1)), "not a regular file");
        // A put cannot replace a directory, and says so.
        let err = cache.put(&key(1), &e).unwrap_err();
        assert!(err.contains("cannot rename"), "{err}");
        assert!(temporaries(dir.path()).is_empty());
    }

    #[test]
    fn no_bytes_make_get_panic_or_hit_wrongly() {
        let dir = TestDir::new("fuzz");
        let cache = ObjectCache::open(dir.path(), 1 << 20).unwrap();
        let e = entry(3, 120);
        cache.put(&key(3), &e).unwrap();
        let path = cache.entry_path(&key(3));
        let whole = fs::read(&path).unwrap();
        let mut random = bytes(42, 1 << 16).into_iter().map(usize::from).cycle();
        let mut next = |below: usize| {
            let n = (random.next().unwrap() << 8) | random.next().unwrap();
            n % below.max(1)
        };
        let mut rejected = 0;
        for round in 0..3000 {
            let mut file = whole.clone();
            match round % 4 {
                // Random bytes, some behind a valid magic and version.
                0 => {
                    file = bytes(round as u64, next(300));
                    if next(2) == 0 && file.len() >= 12 {
                        file[..12].copy_from_slice(&whole[..12]);
                    }
                }
                1 => {
                    for _ in 0..=next(4) {
                        let at = next(file.len());
                        file[at] = next(256) as u8;
                    }
                }
                2 => file.truncate(next(file.len())),
                _ => file.extend(bytes(round as u64, 1 + next(40))),
            }
            fs::write(&path, &file).unwrap();
            match cache.get(&key(3)) {
                Lookup::Hit(hit) => {
                    assert_eq!(file, whole, "a changed file was a hit");
                    assert_eq!(hit, e);
                }
                Lookup::Miss => panic!("the file is there"),
                Lookup::Rejected(_) => rejected += 1,
            }
        }
        assert!(rejected > 2900, "{rejected}");
    }

    #[test]
    fn temporaries_are_never_read_and_stale_ones_are_removed() {
        let dir = TestDir::new("temporaries");
        let cache = ObjectCache::open(dir.path(), 4096).unwrap();
        cache.put(&key(1), &entry(1, 100)).unwrap();
        // A complete entry under a temporary's name (a writer killed just before its rename).
        let complete = dir.path().join("tmp-complete-1-2-3");
        fs::rename(cache.entry_path(&key(1)), &complete).unwrap();
        assert!(matches!(cache.get(&key(1)), Lookup::Miss));
        // A stale one (older than STALE_TEMPORARY), a fresh one (a live writer's), larger than
        // the limit, which is not counted; a file that is not the cache's, old and large.
        let stale = dir.path().join("tmp-0123456789abcdef-4-5-6");
        fs::write(&stale, bytes(1, 100)).unwrap();
        let long_ago = SystemTime::now() - STALE_TEMPORARY - Duration::from_secs(1);
        set_mtime(&stale, long_ago);
        set_mtime(&complete, long_ago);
        let fresh = dir.path().join("tmp-fedcba9876543210-7-8-9");
        fs::write(&fresh, bytes(2, 8000)).unwrap();
        let other = dir.path().join("notes.txt");
        fs::write(&other, bytes(3, 8000)).unwrap();
        set_mtime(&other, long_ago);
        // Another process's first put scans.
        let cache = ObjectCache::open(dir.path(), 4096).unwrap();
        cache.put(&key(2), &entry(2, 100)).unwrap();
        let mut expected = vec![
            format!("{}.entry", hex(&key(2))),
            "notes.txt".to_owned(),
            "tmp-fedcba9876543210-7-8-9".to_owned(),
        ];
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }

    const KILLED_DIR: &str = "ORC_JIT_CACHE_TEST_KILLED_DIR";

    #[test]
    fn a_writer_killed_mid_write_leaves_a_temporary_that_is_never_read_then_removed() {
        let big = || entry(9, 16 << 20);
        if let Ok(dir) = std::env::var(KILLED_DIR) {
            // The child: stores one large entry over and over until it is killed (or gives up).
            let cache = ObjectCache::open(Path::new(&dir), LIMIT).unwrap();
            let e = big();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                cache.put(&key(9), &e).unwrap();
            }
            return;
        }
        let dir = TestDir::new("killed");
        let test = "a_writer_killed_mid_write_leaves_a_temporary_that_is_never_read_then_removed";
        let dir_str = dir.path().to_str().unwrap();
        let whole = file_size(&big());
        let size_of = |name: &String| fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
        let partial = |names: &[String]| {
            names
                .iter()
                .any(|name| (1..whole).contains(&size_of(name)) && !name.starts_with("tmp-probe"))
        };
        let mut left = Vec::new();
        for _attempt in 0..20 {
            let mut child = this_test_again(test, &[(KILLED_DIR, dir_str)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let start = Instant::now();
            // Kill it as soon as it has written part of an entry's temporary.
            while start.elapsed() < Duration::from_secs(30) && !partial(&temporaries(dir.path())) {
                std::thread::sleep(Duration::from_micros(200));
            }
            child.kill().unwrap();
            child.wait().unwrap();
            left = temporaries(dir.path());
            if partial(&left) {
                break;
            }
            // Killed between a write and its rename, or before a write: try again.
            for name in &left {
                fs::remove_file(dir.path().join(name)).unwrap();
            }
        }
        assert!(
            partial(&left),
            "never killed the writer mid-write: {left:?}"
        );
        let sizes: Vec<u64> = left.iter().map(size_of).collect();
        eprintln!("left by the killed writer: {left:?}, {sizes:?} of {whole} bytes");
        // Whatever the writer was doing, a reader sees the whole entry or none.
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        match cache.get(&key(9)) {
            Lookup::Hit(e) => assert!(e == big()),
            Lookup::Miss => {}
            Lookup::Rejected(reason) => panic!("{reason}"),
        }
        // Once stale, the next scan (a process's first put) removes them.
        let long_ago = SystemTime::now() - STALE_TEMPORARY - Duration::from_secs(1);
        for name in &left {
            set_mtime(&dir.path().join(name), long_ago);
        }
        cache.put(&key(1), &entry(1, 10)).unwrap();
        assert!(
            temporaries(dir.path()).is_empty(),
            "{:?}",
            names(dir.path())
        );
    }

    const RACE_DIR: &str = "ORC_JIT_CACHE_TEST_RACE_DIR";
    const RACE_WRITER: &str = "ORC_JIT_CACHE_TEST_RACE_WRITER";
    const RACE_KEYS: u64 = 6;
    /// Smaller than the entries' total, so evictions race with the reads and writes too.
    const RACE_LIMIT: u64 = 256 << 10;

    /// What `writer` stores for key `k` in `round`: sizes vary (1 to 97 KiB), so writes overlap.
    fn race_entry(k: u8, writer: u32, round: u32) -> Entry {
        let seed = (u64::from(k) << 40) | (u64::from(writer) << 32) | u64::from(round);
        let len = 1024 + usize::from(bytes(seed, 2)[0]) * 384;
        Entry {
            object: bytes(seed, len),
            metadata: format!("{k} {writer} {round}").into_bytes(),
        }
    }

    /// One racing process: puts and gets of the same few keys as the other; every get must be a
    /// miss or the whole of an entry some writer stored.
    fn race(dir: &Path, writer: u32) {
        let cache = ObjectCache::open(dir, RACE_LIMIT).unwrap();
        let mut random = bytes(u64::from(writer) + 100, 1 << 12).into_iter().cycle();
        let mut next_key = || random.next().unwrap() % RACE_KEYS as u8;
        let (mut hits, mut misses, mut theirs) = (0, 0, 0);
        for round in 0..300 {
            let k = next_key();
            cache
                .put(&key(k), &race_entry(k, writer, round))
                .unwrap_or_else(|e| panic!("writer {writer}: {e}"));
            for _ in 0..3 {
                let k = next_key();
                match cache.get(&key(k)) {
                    Lookup::Hit(hit) => {
                        let said = String::from_utf8(hit.metadata.clone()).unwrap();
                        let fields: Vec<u32> =
                            said.split(' ').map(|f| f.parse().unwrap()).collect();
                        let [stored_k, by, in_round] = fields[..] else {
                            panic!("{said:?}")
                        };
                        assert_eq!(stored_k, u32::from(k));
                        assert!(hit == race_entry(k, by, in_round), "a torn entry: {said}");
                        hits += 1;
                        theirs += u32::from(by != writer);
                    }
                    Lookup::Miss => misses += 1,
                    Lookup::Rejected(reason) => {
                        panic!("writer {writer} read a torn entry: {reason}")
                    }
                }
            }
        }
        println!("race: writer {writer} hits {hits} misses {misses} theirs {theirs}");
    }

    #[test]
    fn two_processes_racing_on_the_same_keys_never_see_a_torn_entry() {
        if let (Ok(dir), Ok(writer)) = (std::env::var(RACE_DIR), std::env::var(RACE_WRITER)) {
            race(Path::new(&dir), writer.parse().unwrap());
            return;
        }
        let dir = TestDir::new("race");
        let test = "two_processes_racing_on_the_same_keys_never_see_a_torn_entry";
        let dir_str = dir.path().to_str().unwrap();
        let children: Vec<_> = ["0", "1"]
            .iter()
            .map(|writer| {
                this_test_again(test, &[(RACE_DIR, dir_str), (RACE_WRITER, writer)])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut total_hits = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stdout}\n{stderr}");
            let line = stdout
                .lines()
                .find_map(|l| l.find("race: ").map(|at| &l[at..]))
                .unwrap_or_else(|| panic!("{stdout}"));
            eprintln!("{line}");
            let numbers: Vec<u32> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
            let [_writer, hits, _misses, theirs] = numbers[..] else {
                panic!("{line}")
            };
            // They did race: each read entries the other wrote.
            assert!(theirs > 0, "{line}");
            total_hits += hits;
        }
        assert!(total_hits > 300, "{total_hits}");
        assert!(temporaries(dir.path()).is_empty());
    }

    #[test]
    fn eviction_removes_the_least_recently_used_entries() {
        let dir = TestDir::new("lru");
        let size = file_size(&entry(0, 1000));
        // Room for 4.5 entries: after eviction, at most 90% of that, so four.
        let cache = ObjectCache::open(dir.path(), size * 9 / 2).unwrap();
        let [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map(key);
        for (n, k) in [a, b, c, d].iter().enumerate() {
            cache.put(k, &entry(n as u64, 1000)).unwrap();
        }
        let now = SystemTime::now();
        for (age, k) in [(400, a), (300, b), (200, c), (100, d)] {
            set_mtime(&cache.entry_path(&k), now - Duration::from_secs(age));
        }
        // A hit makes `a` the most recently used.
        expect_hit(cache.get(&a));
        assert!(mtime(&cache.entry_path(&a)) >= now);
        let present = |k: &[u8; 32]| cache.entry_path(k).exists();
        cache.put(&e, &entry(4, 1000)).unwrap();
        assert!(!present(&b), "b was the least recently used");
        assert!([a, c, d, e].iter().all(present));
        cache.put(&f, &entry(5, 1000)).unwrap();
        assert!(!present(&c), "then c");
        assert!([a, d, e, f].iter().all(present));
        assert_eq!(names(dir.path()).len(), 4);
    }

    #[test]
    fn the_entry_just_stored_is_not_evicted_and_one_over_the_limit_is_not_stored() {
        let dir = TestDir::new("keep");
        let size = file_size(&entry(0, 1000));
        let cache = ObjectCache::open(dir.path(), size * 5 / 2).unwrap();
        cache.put(&key(1), &entry(1, 1000)).unwrap();
        cache.put(&key(2), &entry(2, 1000)).unwrap();
        // Both look used after the entry about to be stored.
        let later = SystemTime::now() + Duration::from_secs(3600);
        set_mtime(&cache.entry_path(&key(1)), later);
        set_mtime(&cache.entry_path(&key(2)), later + Duration::from_secs(1));
        cache.put(&key(3), &entry(3, 1000)).unwrap();
        assert!(cache.entry_path(&key(3)).exists());
        assert!(!cache.entry_path(&key(1)).exists());
        assert!(cache.entry_path(&key(2)).exists());

        let err = cache.put(&key(4), &entry(4, 3 * 1000)).unwrap_err();
        assert!(err.contains("larger than the cache's size limit"), "{err}");
        assert!(matches!(cache.get(&key(4)), Lookup::Miss));
        assert!(temporaries(dir.path()).is_empty());
        // Nor is one read: an entry a cache with a larger limit stored.
        let large = ObjectCache::open(dir.path(), LIMIT).unwrap();
        large.put(&key(4), &entry(4, 3 * 1000)).unwrap();
        expect_rejected(cache.get(&key(4)), "more than the cache's size limit");
        // A put of its key removes it.
        assert!(cache.put(&key(4), &entry(4, 3 * 1000)).is_err());
        assert!(!cache.entry_path(&key(4)).exists());
    }

    #[test]
    fn a_cache_on_another_filesystem_works() {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            eprintln!("not tested: there is no /dev/shm");
            return;
        }
        let dir = TestDir::under(shm, "tmpfs");
        let other = fs::metadata(std::env::temp_dir()).unwrap().dev();
        eprintln!(
            "/dev/shm is {}another filesystem than {}",
            if fs::metadata(shm).unwrap().dev() == other {
                "not "
            } else {
                ""
            },
            std::env::temp_dir().display()
        );
        let size = file_size(&entry(0, 1000));
        let cache = ObjectCache::open(&dir.path().join("cache"), size * 9 / 2).unwrap();
        for n in 0..4 {
            cache.put(&key(n), &entry(n.into(), 1000)).unwrap();
        }
        assert_eq!(expect_hit(cache.get(&key(2))), entry(2, 1000));
        // Corrupt, rejected, replaced.
        let path = cache.entry_path(&key(2));
        let mut file = fs::read(&path).unwrap();
        file[HEADER_LEN + 10] ^= 1;
        fs::write(&path, &file).unwrap();
        expect_rejected(cache.get(&key(2)), "checksum");
        cache.put(&key(2), &entry(2, 1000)).unwrap();
        assert_eq!(expect_hit(cache.get(&key(2))), entry(2, 1000));
        // Eviction by use.
        let now = SystemTime::now();
        for n in 0..4 {
            set_mtime(
                &cache.entry_path(&key(n)),
                now - Duration::from_secs(100 - n as u64),
            );
        }
        cache.put(&key(4), &entry(4, 1000)).unwrap();
        assert!(!cache.entry_path(&key(0)).exists());
        assert!((1..5).all(|n| cache.entry_path(&key(n)).exists()));
        assert!(temporaries(cache.dir()).is_empty());
    }

    /// Prints the time of a put (of a new entry, as after a miss) and of a hit, for a 10 KB (a
    /// small module's object), a 100 KB and a 10 MB entry: the best and the median of a few runs,
    /// beside a bare read and checksum of the same file. Only a release build's numbers mean
    /// anything: unoptimised, the checksum's generic code (instantiated in this crate) is ~30x
    /// slower.
    #[test]
    fn time_of_a_put_and_a_hit() {
        fn best_and_median(mut times: Vec<Duration>) -> String {
            times.sort();
            format!("{:?} / {:?}", times[0], times[times.len() / 2])
        }
        let dir = TestDir::new("speed");
        let cache = ObjectCache::open(dir.path(), LIMIT).unwrap();
        let runs = if cfg!(debug_assertions) { 3 } else { 21 };
        for (what, len) in [
            ("10 KB", 10_000),
            ("100 KB", 100_000),
            ("10 MB", 10_000_000),
        ] {
            let e = Entry {
                object: bytes(1, len),
                metadata: bytes(2, 2000),
            };
            let (mut get, mut read, mut checksum, mut put) = (vec![], vec![], vec![], vec![]);
            for run in 0..runs {
                let key = key(run);
                let start = Instant::now();
                cache.put(&key, &e).unwrap();
                put.push(start.elapsed());
                let start = Instant::now();
                let hit = expect_hit(cache.get(&key));
                get.push(start.elapsed());
                assert!(hit == e);
                drop(hit);
                let start = Instant::now();
                let file = fs::read(cache.entry_path(&key)).unwrap();
                read.push(start.elapsed());
                let start = Instant::now();
                std::hint::black_box(Sha256::digest(&file));
                checksum.push(start.elapsed());
                fs::remove_file(cache.entry_path(&key)).unwrap();
            }
            eprintln!(
                "{what} (best / median of {runs}): put {}; get {} (a bare fs::read {}, its \
                 SHA-256 {})",
                best_and_median(put),
                best_and_median(get),
                best_and_median(read),
                best_and_median(checksum),
            );
        }
    }
}
