//! The contract between a JIT host's build and its run time.
//!
//! A JIT (ORC's process symbol generator, `dlsym`) finds a C function only when the host
//! binary, or a library the loader maps for it, *exports* it. A build script (the
//! `jit-linkage` crate) links the binary so that it does, and records in it which symbols the
//! JIT code needs and which library is meant to provide each; a checker (`verify-symbols`)
//! reads the final binary back and answers as glibc's loader would. Both sides depend on this
//! crate, and on nothing else than `object`, so that they cannot disagree:
//!
//! - [`note`]: the note as typed values ([`note::Note`], the [`note::Provider`] of each
//!   symbol: an archive, a system `SONAME`, or a copy placed next to the binary with its build
//!   ID), its format version, the writer of its description and the reader, which still reads
//!   the format older binaries carry;
//! - [`elf`]: the one answer to "does this ELF file export this name, and under which version"
//!   ([`elf::Seen::export`]), read the way the loader reads a file (`PT_DYNAMIC`, the hash
//!   table, the version table: object's own [`object::read::elf::GnuHashTable`],
//!   [`object::read::elf::HashTable`] and [`object::read::elf::VersionTable`]), with its
//!   `SONAME` and build ID; [`archive`]: what a static archive defines, for a library linked
//!   whole;
//! - [`target`]: the targets whose link flags are known;
//! - [`advice`] and [`similar`]: what to say when a symbol is missing, leading back to the
//!   manifest ("did you mean ...?").
//!
//! Every error is an [`Error`] with an [`ErrorKind`]; no input makes this crate panic.
//!
//! ```no_run
//! let data = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6")?;
//! let (info, seen) = jit_exports::elf::read(&data[..], &["malloc"], jit_exports::elf::Tables::Dynamic)?;
//! assert_eq!(info.soname, Some("libc.so.6"));
//! assert_eq!(seen[0].export(), jit_exports::elf::Export::Exported);
//! assert_eq!(seen[0].version.as_deref(), Some("GLIBC_2.2.5"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod advice;
pub mod archive;
pub mod elf;
mod error;
pub mod note;
pub mod reader;
pub mod similar;
pub mod target;

pub use error::{Error, ErrorKind, Result};
