//! `verify-symbols`: see [`verify_symbols::cli`].
//!
//! Its own `main`, not Rust's: the command is meant to cost no more than the loader's own
//! `ld.so --list`, and the standard runtime's start-up (reading `/proc/self/maps` for the main
//! thread's stack, an alternate signal stack, a probe of the standard descriptors) is a tenth
//! of a millisecond of that, none of which the command needs. The one thing of it the command
//! relies on is done here: SIGPIPE ignored, so that a reader that leaves early gives a write
//! error (`BrokenPipe`, which the command takes as the end of its output) instead of killing
//! it. `std::env::args_os` works without the runtime's start-up on Linux.

// (Tests of this binary target have the test harness's own `main`.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
unsafe extern "C" {
    fn signal(signum: c_int, handler: usize) -> usize;
}

/// `SIGPIPE` and `SIG_IGN` on Linux.
#[cfg(not(test))]
const SIGPIPE: c_int = 13;
#[cfg(not(test))]
const SIG_IGN: usize = 1;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: `signal` with SIG_IGN installs no handler code; the process has one thread.
    unsafe { signal(SIGPIPE, SIG_IGN) };
    let code = verify_symbols::cli::exit_code(std::env::args_os());
    // Buffered output is flushed by `cli` itself; the process ends here.
    c_int::from(code)
}
