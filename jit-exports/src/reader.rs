//! A file read on demand for the readers of this crate ([`crate::note::read_file`], the advice
//! on a running process): parts are read with `pread` as asked for, never memory-mapped (a file
//! truncated meanwhile is a failed read, not a SIGBUS), and strings, which the symbol readers
//! ask for one by one, come from cached 4 KiB blocks instead of a system call each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use object::ReadRef;

const BLOCK: u64 = 4096;

/// Parts of a file read, by (offset, size) or by block number.
type Parts<K> = RefCell<HashMap<K, Box<[u8]>>>;

/// A file's bytes, read on demand (see the module documentation).
#[derive(Debug)]
pub struct FileReader {
    file: File,
    len: u64,
    /// Every range read by `read_bytes_at`, and every string that crossed a block.
    ranges: Parts<(u64, u64)>,
    /// Whole blocks, for strings.
    blocks: Parts<u64>,
}

impl FileReader {
    /// Reads `file` on demand.
    pub fn new(file: File) -> std::io::Result<FileReader> {
        let len = file.metadata()?.len();
        Ok(FileReader {
            file,
            len,
            ranges: RefCell::default(),
            blocks: RefCell::default(),
        })
    }

    fn read(&self, offset: u64, size: u64) -> Result<Box<[u8]>, ()> {
        let mut buffer = vec![0; usize::try_from(size).map_err(|_| ())?];
        self.file
            .read_exact_at(&mut buffer, offset)
            .map_err(|_| ())?;
        Ok(buffer.into_boxed_slice())
    }

    /// Extends the lifetime of `bytes`, which `self` owns in a map it never removes from,
    /// and whose boxed contents never move, to that of `self`.
    fn keep<'a>(&'a self, bytes: &[u8]) -> &'a [u8] {
        // SAFETY: `bytes` is the contents of a `Box<[u8]>` held in `ranges` or `blocks`,
        // whose entries are never replaced or removed while `self` lives; a box's contents
        // stay where they are when the map grows (only the box pointer moves). So the bytes
        // live as long as `self` and are never written again.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) }
    }
}

impl<'a> ReadRef<'a> for &'a FileReader {
    fn len(self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset
            .checked_add(size)
            .filter(|&e| e <= self.len)
            .ok_or(())?;
        let mut ranges = self.ranges.borrow_mut();
        if let Some(bytes) = ranges.get(&(offset, size)) {
            return Ok(self.keep(bytes));
        }
        let bytes = self.read(offset, end - offset)?;
        let kept = self.keep(&bytes);
        ranges.insert((offset, size), bytes);
        Ok(kept)
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        if range.start >= range.end || range.end > self.len {
            return Err(());
        }
        let block = range.start / BLOCK;
        let start = (range.start - block * BLOCK) as usize;
        let within = {
            let mut blocks = self.blocks.borrow_mut();
            if let std::collections::hash_map::Entry::Vacant(entry) = blocks.entry(block) {
                let at = block * BLOCK;
                entry.insert(self.read(at, BLOCK.min(self.len - at))?);
            }
            let bytes = self.keep(&blocks[&block]);
            let limit = (range.end - block * BLOCK).min(bytes.len() as u64) as usize;
            bytes[start..limit]
                .iter()
                .position(|b| *b == delimiter)
                .map(|i| &bytes[start..start + i])
        };
        if let Some(found) = within {
            return Ok(found);
        }
        // A string across blocks (rare): read up to 4 KiB of it at once.
        let size = (range.end - range.start).min(BLOCK);
        let bytes = self.read_bytes_at(range.start, size)?;
        let end = bytes.iter().position(|b| *b == delimiter).ok_or(())?;
        Ok(&bytes[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_strings_are_the_files_bytes() {
        let dir = std::env::temp_dir().join("jit-exports-reader");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("strings");
        let mut data = Vec::new();
        for i in 0..2000 {
            data.extend_from_slice(format!("name{i}").as_bytes());
            data.push(0);
        }
        std::fs::write(&path, &data).unwrap();
        let reader = FileReader::new(File::open(&path).unwrap()).unwrap();
        let r = &reader;
        assert_eq!(r.read_bytes_at(5, 20).unwrap(), &data[5..25]);
        assert_eq!(r.read_bytes_at(5, 20).unwrap(), &data[5..25]);
        assert!(r.read_bytes_at(data.len() as u64 - 1, 2).is_err());
        // Every string, also those across a block boundary.
        let mut at = 0;
        for i in 0..2000 {
            let name = format!("name{i}");
            let got = r.read_bytes_at_until(at..data.len() as u64, 0).unwrap();
            assert_eq!(got, name.as_bytes(), "at {at}");
            at += name.len() as u64 + 1;
        }
        assert!(
            r.read_bytes_at_until(0..3, 0).is_err(),
            "no NUL within the range"
        );
    }
}
