//! The one error type of the crate: a kind a caller can match, and a message a person reads.

use std::fmt;

/// What went wrong, for a caller to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be opened or read.
    Io,
    /// The bytes are not an ELF file (or not one this crate reads: Mach-O, PE, ...).
    NotElf,
    /// An ELF file whose headers or dynamic tables cannot be read: truncated or corrupt.
    Malformed,
    /// The jit-linkage note is broken: not UTF-8, a malformed line, an unknown record.
    NoteMalformed,
    /// The jit-linkage note is written in a format this reader does not know (a newer one).
    NoteFormat,
    /// A value that the note's format cannot hold (a tab or a line break in a name), or a
    /// note larger than an ELF note can be.
    NoteUnencodable,
    /// A target whose link flags are not known: no flags rather than wrong ones.
    UnsupportedTarget,
}

/// An error of this crate: its [`ErrorKind`] and a message saying what failed, on which input
/// and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// What kind of error it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone (what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
