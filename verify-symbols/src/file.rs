//! A file's bytes, read from it (`pread`) the first time each part is asked for, into memory of
//! verify-symbols' own; never memory-mapped. A mapped file that someone truncates kills the
//! reader with SIGBUS at the next touch of a page past the new end. Read instead, such a part
//! comes back short: the failure is kept, and [`FileBytes::changed`] says what happened, so the
//! verdict becomes an error naming the file (`Error::Changed`) instead of a signal.
//!
//! Parts are read in blocks of 4 KiB, each at most once, at the offset they have in the file, so
//! the parsers (the `object` crate's, through [`ReadRef`]) see one contiguous file: a lookup
//! through a hash table reads the few blocks it touches, as a mapped file faults in the few
//! pages it touches; nothing is read twice, nothing is read that is never asked for. Reading
//! ahead (a mapped file's page fault maps 16 pages) was measured slower: the lookups of a few
//! names touch scattered blocks, and those of many names touch most blocks anyway.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::time::SystemTime;

use std::path::Path;

use object::ReadRef;

use crate::Error;

/// The unit of reading: a block is read whole, once, or not at all.
const BLOCK: u64 = 4096;
/// From this size on, the memory the file is read into is backed by huge pages where the
/// system allows it (transparent huge pages, `madvise`): first touching a 4 KiB page of fresh
/// memory costs more than reading 4 KiB into it, and a large library's symbol tables span
/// thousands of pages (libLLVM's, 6 MB).
const HUGE_PAGES_FROM: u64 = 16 << 20;

/// The bytes of one open file, read on demand (see the module documentation).
#[derive(Debug)]
pub(crate) struct FileBytes {
    file: File,
    len: u64,
    /// Size and modification time when opened, compared by [`FileBytes::changed`].
    opened: (u64, Option<SystemTime>),
    /// Anonymous memory of `len` bytes, where each block is read to at its own offset.
    memory: memmap2::MmapRaw,
    /// One bit per block: read. A block that has been read is never written again.
    read: Box<[Cell<u64>]>,
    /// The first read that failed or came back short.
    failure: RefCell<Option<String>>,
}

impl FileBytes {
    /// Reads `file` (already opened, a regular file) on demand; nothing is read yet.
    pub(crate) fn new(file: File, metadata: &std::fs::Metadata) -> std::io::Result<FileBytes> {
        let len = metadata.len();
        let size = usize::try_from(len).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "larger than this machine's address space",
            )
        })?;
        // MAP_NORESERVE: only the blocks read take memory; a huge file is not refused up front.
        let memory = memmap2::MmapOptions::new()
            .len(size)
            .no_reserve_swap()
            .map_anon()?;
        // Only advice: without transparent huge pages the memory is the same, in small pages.
        // A smaller file is read in a few scattered blocks, each of which would otherwise take
        // a whole huge page (zeroing 2 MiB, half a millisecond) where transparent huge pages
        // are always on, as on Debian's kernels.
        // (A mapping smaller than a huge page never gets one: no advice, no system call.)
        if len >= HUGE_PAGES_FROM {
            let _ = memory.advise(memmap2::Advice::HugePage);
        } else if len >= 2 << 20 {
            let _ = memory.advise(memmap2::Advice::NoHugePage);
        }
        Ok(FileBytes {
            file,
            len,
            opened: (len, metadata.modified().ok()),
            memory: memory.into(),
            read: (0..len.div_ceil(BLOCK).div_ceil(64))
                .map(|_| Cell::new(0))
                .collect(),
            failure: RefCell::new(None),
        })
    }

    /// `None` when every read succeeded and the file still has the size and modification time
    /// it had when opened; else what changed, for a message.
    pub(crate) fn changed(&self) -> Option<String> {
        let now = self.file.metadata();
        let size_now = now.as_ref().map(std::fs::Metadata::len).ok();
        let was = |what: String| match size_now {
            Some(size) if size != self.opened.0 => format!(
                "{what}: it was {} bytes when opened and is {size} bytes now",
                self.opened.0
            ),
            _ => what,
        };
        if let Some(failure) = self.failure.borrow().as_ref() {
            return Some(was(failure.clone()));
        }
        match now {
            Err(e) => Some(format!("it can no longer be examined: {e}")),
            Ok(now) if now.len() != self.opened.0 => Some(was("it shrank or grew".to_owned())),
            Ok(now) if now.modified().ok() != self.opened.1 => {
                Some("it was written to (its modification time changed)".to_owned())
            }
            Ok(_) => None,
        }
    }

    /// Takes `head`, read from offset 0 when the file was opened, as its first block, when it
    /// is that whole block (or the whole of a shorter file).
    fn seed_first_block(&self, head: &[u8]) {
        let block = BLOCK.min(self.len) as usize;
        if head.len() != block || block == 0 {
            return;
        }
        // SAFETY: `memory` is our own anonymous mapping of `len >= block` bytes, alive as long
        // as `self`; block 0 has not been read (this runs once, right after `new`), so nothing
        // refers to these bytes while they are written, and nothing else writes meanwhile
        // (`FileBytes` is not `Sync`).
        let buffer = unsafe { std::slice::from_raw_parts_mut(self.memory.as_mut_ptr(), block) };
        buffer.copy_from_slice(head);
        self.read[0].set(self.read[0].get() | 1);
    }

    fn is_read(&self, block: u64) -> bool {
        self.read[(block / 64) as usize].get() & (1 << (block % 64)) != 0
    }

    /// Reads every block of `first..=last` (blocks of the file) not read yet, each run of them
    /// in one call; `Err` when a read fails or comes back short (the file shrank), which is also
    /// kept for [`FileBytes::changed`].
    fn load(&self, first: u64, last: u64) -> Result<(), ()> {
        let mut block = first;
        while block <= last {
            if self.is_read(block) {
                block += 1;
                continue;
            }
            let mut run_end = block + 1;
            while run_end <= last && !self.is_read(run_end) {
                run_end += 1;
            }
            let from = block * BLOCK;
            let to = (run_end * BLOCK).min(self.len);
            // Both are within the file's length, which fits in usize (checked in `new`).
            let (at, size) = (from as usize, (to - from) as usize);
            // A run of blocks (a symbol or hash table) is given its pages in one call, not one
            // page fault each as `pread` first writes to them; only advice, so a kernel
            // without MADV_POPULATE_WRITE (older than 5.14) faults them in as before.
            if run_end - block > 1 {
                let _ = self
                    .memory
                    .advise_range(memmap2::Advice::PopulateWrite, at, size);
            }
            // SAFETY: `memory` is our own anonymous mapping of `len` bytes, alive as long as
            // `self`, and `at + size <= len`. Its blocks `block..run_end` have not been read, and
            // references are only ever made to blocks that have been read (`bytes`), so nothing
            // refers to these bytes while they are written. Nothing else writes meanwhile:
            // `FileBytes` is not `Sync` (its `Cell`s), and nothing called here can reach it.
            let buffer =
                unsafe { std::slice::from_raw_parts_mut(self.memory.as_mut_ptr().add(at), size) };
            if let Err(e) = self.file.read_exact_at(buffer, from) {
                let mut failure = self.failure.borrow_mut();
                if failure.is_none() {
                    *failure = Some(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        format!("reading {size} bytes at offset {from}, the file ended first")
                    } else {
                        format!("reading {size} bytes at offset {from}: {e}")
                    });
                }
                return Err(());
            }
            for b in block..run_end {
                let word = &self.read[(b / 64) as usize];
                word.set(word.get() | 1 << (b % 64));
            }
            block = run_end;
        }
        Ok(())
    }

    /// The bytes `start..end` (`start < end <= len`), read first if they were not.
    fn bytes(&self, start: u64, end: u64) -> Result<&[u8], ()> {
        let (first, last) = (start / BLOCK, (end - 1) / BLOCK);
        if !(first..=last).all(|block| self.is_read(block)) {
            self.load(first, last)?;
        }
        // SAFETY: every block of `start..end` has been read (by `load`, now or before) and a
        // block that has been read is never written again (`load` skips it), so these bytes
        // stay as they are while the reference lives; they lie within our mapping
        // (`end <= len`), which lives as long as `self`, and the reference borrows `self`.
        Ok(unsafe {
            std::slice::from_raw_parts(
                self.memory.as_ptr().add(start as usize),
                (end - start) as usize,
            )
        })
    }
}

impl<'a> ReadRef<'a> for &'a FileBytes {
    fn len(self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset
            .checked_add(size)
            .filter(|&end| end <= self.len)
            .ok_or(())?;
        self.bytes(offset, end)
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        if range.start > range.end || range.end > self.len {
            return Err(());
        }
        // A block at a time: most strings end in the first.
        let mut at = range.start;
        while at < range.end {
            let chunk_end = ((at / BLOCK + 1) * BLOCK).min(range.end);
            let chunk = self.bytes(at, chunk_end)?;
            if let Some(i) = chunk.iter().position(|b| *b == delimiter) {
                return self.read_bytes_at(range.start, at - range.start + i as u64);
            }
            at = chunk_end;
        }
        Err(())
    }
}

/// A file opened once to be examined as the loader examines a candidate (its ELF identity,
/// from its first block) and, when taken, read on demand from the same descriptor: the
/// candidate is never opened twice, and its identity is the loader's own, `(st_dev, st_ino)`
/// (`_dl_file_id_match_p`), not a path.
#[derive(Debug)]
pub(crate) struct Opened {
    file: File,
    metadata: std::fs::Metadata,
    /// The file's first block (all of a shorter file).
    head: Vec<u8>,
}

/// Why a path is not a file [`Opened`] can read.
#[derive(Debug)]
pub(crate) enum NotOpened {
    /// There is no such file.
    Absent(std::io::Error),
    /// It is a FIFO, a device, a directory...: never opened for reading.
    NotRegular(&'static str),
    /// The system refused to open or read it.
    Io(std::io::Error),
}

impl Opened {
    /// Opens `path`, only if it is a regular file: opening a FIFO would block until someone
    /// writes to it, and a device or a directory is no binary. O_NONBLOCK keeps even a file
    /// swapped for a FIFO after the check from blocking the open; the second check is on what
    /// was opened.
    pub(crate) fn open(path: &Path) -> Result<Opened, NotOpened> {
        let metadata = std::fs::metadata(path).map_err(not_opened)?;
        if !metadata.is_file() {
            return Err(NotOpened::NotRegular(kind(&metadata)));
        }
        Self::open_candidate(path)
    }

    /// [`Opened::open`] of a place the loader would open itself (a library it searches for):
    /// opened without looking first, as the loader opens it (with O_NONBLOCK, which it does not
    /// use: a FIFO there blocks the loader, never this tool), then checked.
    pub(crate) fn open_candidate(path: &Path) -> Result<Opened, NotOpened> {
        let io = not_opened;
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            const O_NONBLOCK: i32 = 0o4000;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(O_NONBLOCK)
                .open(path)
                .map_err(io)?
        };
        let metadata = file.metadata().map_err(NotOpened::Io)?;
        if !metadata.is_file() {
            return Err(NotOpened::NotRegular(kind(&metadata)));
        }
        let mut head = Vec::with_capacity(BLOCK.min(metadata.len()) as usize);
        read_head(&file, &mut head).map_err(NotOpened::Io)?;
        Ok(Opened {
            file,
            metadata,
            head,
        })
    }

    /// The ELF identity of the file: class (`true`: 64-bit), `e_machine`, `e_type`.
    pub(crate) fn identity(&self) -> Result<(bool, u16, u16), String> {
        let header = self
            .head
            .get(..20)
            .ok_or_else(|| "too short for an ELF header".to_owned())?;
        if &header[..4] != b"\x7fELF" {
            return Err("not an ELF file".into());
        }
        let class64 = header[4] == 2;
        let little = header[5] == 1;
        let half = |at: usize| {
            let bytes = [header[at], header[at + 1]];
            if little {
                u16::from_le_bytes(bytes)
            } else {
                u16::from_be_bytes(bytes)
            }
        };
        Ok((class64, half(18), half(16)))
    }

    /// What the loader knows the file by: its device and inode.
    pub(crate) fn id(&self) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        (self.metadata.dev(), self.metadata.ino())
    }

    /// Whether the file has the set-user-ID bit.
    pub(crate) fn set_user_id(&self) -> bool {
        use std::os::unix::fs::PermissionsExt;
        self.metadata.permissions().mode() & 0o4000 != 0
    }

    /// The file, to be read on demand; its first block is read already.
    pub(crate) fn into_bytes(self) -> std::io::Result<FileBytes> {
        let bytes = FileBytes::new(self.file, &self.metadata)?;
        bytes.seed_first_block(&self.head);
        Ok(bytes)
    }
}

fn not_opened(e: std::io::Error) -> NotOpened {
    match e.kind() {
        std::io::ErrorKind::NotFound => NotOpened::Absent(e),
        _ => NotOpened::Io(e),
    }
}

/// Reads into `head` (not zeroed first) as much of its capacity as the file has from offset 0.
fn read_head(file: &File, head: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    let wanted = head.capacity() as u64;
    // `take` and `read_to_end` read at the descriptor's offset, 0 just after opening; the
    // blocks read later are read at their own offsets (`pread`), wherever that is left.
    let mut reader = file.take(wanted);
    reader.read_to_end(head)?;
    Ok(())
}

/// What a path that is not a regular file is.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = metadata.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The binary at `path`, opened to be read on demand (never mapped: see [`FileBytes`]).
pub(crate) fn open(path: &Path) -> Result<FileBytes, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let opened = Opened::open(path).map_err(|why| match why {
        NotOpened::Absent(e) | NotOpened::Io(e) => io(e),
        NotOpened::NotRegular(what) => Error::NotARegularFile {
            path: path.to_path_buf(),
            what: what.to_owned(),
        },
    })?;
    opened.into_bytes().map_err(io)
}

/// `result`, unless the file at `path` changed while it was read: then that is the error, and
/// the (possibly broken) result of reading it does not matter.
pub(crate) fn unless_changed<T>(
    path: &Path,
    bytes: &FileBytes,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match bytes.changed() {
        Some(what) => Err(Error::Changed {
            path: path.to_path_buf(),
            what,
        }),
        None => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> FileBytes {
        let file = File::open(path).unwrap();
        let metadata = file.metadata().unwrap();
        FileBytes::new(file, &metadata).unwrap()
    }

    #[test]
    fn reads_give_the_files_bytes_wherever_they_start_and_end() {
        let dir = std::env::temp_dir().join("verify-symbols-file-bytes");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pattern");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let bytes = open(&path);
        let r = &bytes;
        // Inside a block, across blocks, the last byte, then what was read already.
        for (offset, size) in [
            (10, 20),
            (4090, 20),
            (8000, 70_000),
            (99_999, 1),
            (0, 100_000),
        ] {
            let got = r.read_bytes_at(offset, size).unwrap();
            assert_eq!(got, &data[offset as usize..(offset + size) as usize]);
        }
        assert!(r.read_bytes_at(99_999, 2).is_err());
        assert!(r.read_bytes_at(u64::MAX, 2).is_err());
        assert_eq!(r.read_bytes_at(100_000, 0).unwrap(), b"");
        // Up to a delimiter: byte value 250 comes at i % 251 == 250.
        assert_eq!(
            r.read_bytes_at_until(0..100_000, 250).unwrap(),
            &data[..250]
        );
        let five = 70_000 + data[70_000..].iter().position(|b| *b == 5).unwrap();
        assert_eq!(
            r.read_bytes_at_until(70_000..100_000, 5).unwrap(),
            &data[70_000..five]
        );
        assert!(r.read_bytes_at_until(10..20, 250).is_err());
        assert!(r.read_bytes_at_until(10..100_001, 0).is_err());
        assert_eq!(bytes.changed(), None);
    }

    #[test]
    fn a_file_cut_short_after_it_was_opened_is_a_failed_read_and_said_to_have_changed() {
        let dir = std::env::temp_dir().join("verify-symbols-file-bytes");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shrinks");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let bytes = open(&path);
        let r = &bytes;
        assert_eq!(r.read_bytes_at(0, 16).unwrap(), &[7u8; 16]);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4096)
            .unwrap();
        // The block read before is still there; what lay past the new end is not.
        assert_eq!(r.read_bytes_at(100, 16).unwrap(), &[7u8; 16]);
        assert!(r.read_bytes_at(512 << 10, 16).is_err());
        let changed = bytes.changed().unwrap();
        assert!(changed.contains("the file ended first"), "{changed}");
        assert!(changed.contains("is 4096 bytes now"), "{changed}");
    }
}
