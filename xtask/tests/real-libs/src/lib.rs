//! JIT code calling real C libraries found in this process: zlib, SQLite and a C++ helper.

use std::ffi::{CStr, c_char};

use orc_jit::Jit;

const MODULE: &str = include_str!("calls.ll");

/// What the JIT code got from each library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    pub zlib_version: String,
    pub crc32_hello: u32,
    pub sqlite_version: i32,
    pub words_three: i32,
    pub words_empty: i32,
}

impl std::fmt::Display for Results {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "zlib {} crc32(hello) {:08x} sqlite {} words {} empty {}",
            self.zlib_version,
            self.crc32_hello,
            self.sqlite_version,
            self.words_three,
            self.words_empty
        )
    }
}

/// JIT-compiles calls.ll and calls each function.
pub fn run() -> Result<Results, orc_jit::Error> {
    let jit = Jit::new()?;
    jit.add_module(jit.parse_module("calls.ll", MODULE.as_bytes())?)?;
    let version = jit.lookup::<extern "C" fn() -> *const c_char>("zlib_version")?;
    let crc = jit.lookup::<extern "C" fn() -> u32>("crc32_hello")?;
    let sqlite = jit.lookup::<extern "C" fn() -> i32>("sqlite_version")?;
    let three = jit.lookup::<extern "C" fn() -> i32>("words_three")?;
    let empty = jit.lookup::<extern "C" fn() -> i32>("words_empty")?;
    // SAFETY: calls.ll's functions take nothing and call the libraries with constant, valid
    // arguments; zlibVersion returns a static NUL-terminated string.
    unsafe {
        Ok(Results {
            zlib_version: CStr::from_ptr(version.call()).to_string_lossy().into_owned(),
            crc32_hello: crc.call(),
            sqlite_version: sqlite.call(),
            words_three: three.call(),
            words_empty: empty.call(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_library_targets_own_tests_reach_the_libraries() {
        let results = super::run().unwrap();
        assert_eq!(results.words_three, 3);
        assert_eq!(results.words_empty, -1);
    }
}
