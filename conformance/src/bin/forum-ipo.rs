//! `forum-ipo HELPERS.bc WRAPPER.ll`: the LLVM forum's case as a host program. The C++ helpers
//! (a global `std::string` and `std::vector`, a call back into this program's `host_observe`)
//! are the JIT's IPO runtime; the wrapper module is added with them imported
//! (`Jit::add_module_with_runtime`). It calls `f_WRAPPED` three times, prints what it got, then
//! drops the JIT (which must run the helpers' destructors) and exits 0.
//!
//! lli cannot run this (the callback is a function of the host program), so it is not a case
//! of the lli comparison: tests/forum_ipo.rs checks its output and exit status instead.
//! Exit status: 0, 1 for a wrong answer, 70 for a orc-jit error, 64 for a usage error.

use std::ffi::{c_int, c_void};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use orc_jit::{Error, Jit};

#[repr(C)]
struct WrappedValue {
    kind: i32,
    as_int: i32,
}

static OBSERVED: AtomicI32 = AtomicI32::new(0);

/// The host function the helpers call back: counts the calls and passes the value on.
extern "C" fn host_observe(value: i32) -> i32 {
    OBSERVED.fetch_add(1, Ordering::Relaxed);
    value
}

unsafe extern "C" {
    fn fflush(stream: *mut c_void) -> c_int;
}

fn main() -> ExitCode {
    orc_jit::serve_if_worker();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [helpers, wrapper] = args.as_slice() else {
        eprintln!("usage: forum-ipo HELPERS.bc WRAPPER.ll");
        return ExitCode::from(64);
    };
    let code = match run(helpers, wrapper) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(err) => {
            eprintln!("forum-ipo: error: {err}");
            70
        }
    };
    // SAFETY: fflush(NULL) flushes every C output stream (the helpers print with printf).
    unsafe { fflush(std::ptr::null_mut()) };
    ExitCode::from(code)
}

/// Whether every answer was right.
fn run(helpers: &str, wrapper: &str) -> Result<bool, Error> {
    let mut builder = Jit::builder();
    builder.host_function("host_observe", host_observe as extern "C" fn(i32) -> i32);
    // SAFETY: the helpers are this test's own C++ (a global object's constructor and
    // destructor); running them is the point of the test.
    unsafe {
        builder.run_constructors(true);
    }
    let jit = builder.build()?;
    let runtime = jit.add_ipo_runtime(helpers)?;
    jit.add_module_with_runtime(jit.load_module(wrapper)?, &runtime)?;
    let wrapped = jit.lookup::<extern "C" fn(i32) -> *mut WrappedValue>("f_WRAPPED")?;
    let free = jit.lookup::<extern "C" fn(*mut WrappedValue)>("WrappedValueFree")?;
    let mut right = true;
    for n in 0..3 {
        // SAFETY: f_WRAPPED returns a new box from the helpers, or null when out of memory.
        let boxed = unsafe { wrapped.call(n) };
        if boxed.is_null() {
            println!("f_WRAPPED({n}) returned NULL");
            right = false;
            continue;
        }
        // SAFETY: a live WrappedValue from CreateWrappedValueFromInt, freed once, here.
        let value = unsafe {
            let value = (*boxed).as_int;
            free.call(boxed);
            value
        };
        println!("f_WRAPPED({n}) = {value}");
        right &= value == 23333 + n;
    }
    let history = jit.lookup::<extern "C" fn() -> i64>("HelperHistorySize")?;
    let name = jit.lookup::<extern "C" fn() -> i64>("HelperNameLength")?;
    // SAFETY: both only read the helpers' globals.
    let (history, name) = unsafe { (history.call(), name.call()) };
    let observed = OBSERVED.load(Ordering::Relaxed);
    println!("host_observe calls: {observed}, helper history: {history}, name length: {name}");
    right &= observed == 3 && history == 3 && name == 62;
    // SAFETY: as in main: what the helpers printed comes before their destructor's line.
    unsafe { fflush(std::ptr::null_mut()) };
    drop(jit);
    // SAFETY: as above: the destructor's line comes before ours.
    unsafe { fflush(std::ptr::null_mut()) };
    println!("JIT dropped");
    Ok(right)
}
